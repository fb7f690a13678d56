/*
 * buf.c: capped growable buffers and the small shared helpers of buf.h.
 * No I/O here; nothing in this file blocks.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max ? max : BUF_MAX_DEFAULT;
	b->err = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->err = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for len + n bytes plus the terminating NUL. */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t need, nalloc;
	char *p;

	if (b->err)
		return b->err;
	if (b->max == 0)
		b->max = BUF_MAX_DEFAULT;
	if (n > b->max || b->len > b->max - n) {
		b->err = -EFBIG;
		return b->err;
	}
	need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	nalloc = b->alloc ? b->alloc : 64;
	while (nalloc < need)
		nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
	p = realloc(b->data, nalloc);
	if (p == NULL) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->data = p;
	b->alloc = nalloc;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	int rc;

	if ((rc = buf_grow(b, n)) != 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	if ((rc = buf_grow(b, (size_t)n)) != 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int
buf_pwrite(struct buf *b, const void *p, size_t n, size_t off)
{
	size_t end;
	int rc;

	if (b->err)
		return b->err;
	if (off > b->max || n > b->max - off) {
		b->err = -EFBIG;
		return b->err;
	}
	end = off + n;
	if (end > b->len) {
		size_t oldlen = b->len;

		if ((rc = buf_grow(b, end - b->len)) != 0)
			return rc;
		if (off > oldlen)
			memset(b->data + oldlen, 0, off - oldlen);
		b->len = end;
		b->data[b->len] = '\0';
	}
	if (n)
		memcpy(b->data + off, p, n);
	return 0;
}

int
buf_truncate(struct buf *b, size_t len)
{
	int rc;

	if (len <= b->len) {
		b->len = len;
		if (b->data)
			b->data[len] = '\0';
		return 0;
	}
	if ((rc = buf_grow(b, len - b->len)) != 0)
		return rc;
	memset(b->data + b->len, 0, len - b->len);
	b->len = len;
	b->data[len] = '\0';
	return 0;
}

int
buf_set(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	return buf_add(b, p, n);
}

const char *
buf_str(const struct buf *b)
{
	return b->data && b->len ? b->data : "";
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Eight bytes at a time: for telling whether megabytes of reply changed,
 * FNV's byte at a time was a sixth of a refresh.  Each word is mixed in
 * with a multiply and a shift (the finaliser of MurmurHash3's 64-bit
 * variant, applied per word); the length is mixed in last.
 */
uint64_t
hash64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;
	size_t len = n;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h ^= w;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	w = 0;
	if (n)
		memcpy(&w, s, n);
	h ^= w ^ (uint64_t)len << 56;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* No overlong form, no surrogate, nothing past U+10FFFF. */
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t
trim_value(const char *p, size_t n, const char **start)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n && p[n - 1] == '\n')
		n--;
	if (n && p[n - 1] == '\r')
		n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*start = p;
	return n;
}

/* Quote user input for a message: printable, short. */
void
buf_quote(struct buf *out, const char *p, size_t n)
{
	size_t i;

	buf_addch(out, '\'');
	for (i = 0; i < n && i < 60; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n')
			buf_addstr(out, "\\n");
		else if (c < 0x20 || c == 0x7f || c >= 0x80)
			buf_printf(out, "\\x%02x", c);
		else
			buf_addch(out, (char)c);
	}
	if (n > 60)
		buf_addstr(out, "...");
	buf_addch(out, '\'');
}

/* A whole number from a value write. */
int
value_count(const char *text, size_t len, const char *what, long *out,
    struct buf *msg)
{
	const char *p;
	size_t n, i;
	long v = 0;

	n = trim_value(text, len, &p);
	buf_reset(msg);
	if (n == 0) {
		buf_printf(msg, "%s: empty value, nothing was sent; write a whole "
		    "number, e.g. `echo 3 > %s`", what, what);
		return -EINVAL;
	}
	if (p[0] == '-') {
		buf_printf(msg, "%s: ", what);
		buf_quote(msg, p, n);
		buf_addstr(msg, " is negative, nothing was sent");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i])) {
			buf_printf(msg, "%s: ", what);
			buf_quote(msg, p, n);
			buf_addstr(msg, " is not a whole number, nothing was sent");
			return -EINVAL;
		}
		v = v * 10 + (p[i] - '0');
		if (v > 2147483647L) {
			buf_printf(msg, "%s: ", what);
			buf_quote(msg, p, n);
			buf_addstr(msg, " is too large, nothing was sent");
			return -EINVAL;
		}
	}
	*out = v;
	return 0;
}

int
name_usable(const char *n)
{
	const char *p;

	if (n == NULL || n[0] == '\0' || strlen(n) > 255 ||
	    strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return 0;
	for (p = n; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}
