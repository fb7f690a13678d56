/*
 * fuzz_logmerge: the line merger behind an app's stdout/stderr
 * (backends/logmerge.c), driven by a program of operations and compared,
 * byte for byte, with a model written from logmerge.h's description.
 *
 * Input: byte 0 sets the kept window (16 bytes to 4 KiB, so the ring
 * wraps often); then operations, each an opcode byte and its operands:
 *
 *	f S L F <L bytes>	feed L bytes to source S; F: skip a partial start
 *	e S			end source S
 *	a L <L bytes>		append caller-made lines
 *	g S N C			feed N*256 copies of byte C (long lines: the
 *				64 KiB cut of a held line)
 *	r O L			read L*16 bytes at offset O*16 (from the start
 *				of the window when O is 255)
 *
 * The model keeps every byte ever emitted; logmerge keeps the last
 * window.  Checks: the sizes agree, and every read returns the model's
 * bytes, or ENODATA exactly when below the window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/logmerge.h"
#include "check.h"

#define INPUT_MAX	8192
#define SOURCES		4
#define MODEL_MAX	(8u << 20)

struct msrc {
	int		 live;
	int		 skipping;
	struct buf	 partial;
};

static struct buf model;
static struct msrc src[SOURCES];
static const char *const names[SOURCES] = { "a", "task-1", "prod_web.x", "" };

static void
model_line(int i, const char *p, size_t n)
{
	buf_addstr(&model, names[i]);
	buf_addstr(&model, ": ");
	buf_add(&model, p, n);
	buf_addch(&model, '\n');
}

/* logmerge.h: complete lines come out prefixed; a partial line waits for
 * its newline, and is cut when it has grown to LOGMERGE_LINE_MAX. */
static void
model_feed(int i, const char *p, size_t n, int skip)
{
	struct msrc *s = &src[i];
	const char *nl;
	size_t k, take;

	if (!s->live) {
		s->live = 1;
		s->skipping = skip;
		buf_init(&s->partial, 0);
	}
	while (n) {
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) : n;
		if (s->skipping) {
			if (nl)
				s->skipping = 0;
		} else if (nl) {
			buf_add(&s->partial, p, k);
			model_line(i, buf_str(&s->partial), s->partial.len);
			buf_reset(&s->partial);
		} else {
			while (k) {
				take = LOGMERGE_LINE_MAX - s->partial.len;
				take = take < k ? take : k;
				buf_add(&s->partial, p, take);
				p += take;
				n -= take;
				k -= take;
				if (s->partial.len == LOGMERGE_LINE_MAX) {
					model_line(i, s->partial.data, s->partial.len);
					buf_reset(&s->partial);
				}
			}
			break;
		}
		if (nl == NULL)
			break;
		p += k + 1;
		n -= k + 1;
	}
}

static void
model_end(int i)
{
	struct msrc *s = &src[i];

	if (!s->live)
		return;
	if (s->partial.len)
		model_line(i, s->partial.data, s->partial.len);
	buf_free(&s->partial);
	s->live = 0;
}

static void
check_read(struct logmerge *lm, uint64_t off, size_t len, size_t keep)
{
	static char out[4096 + 16];
	uint64_t start = model.len > keep ? model.len - keep : 0;
	size_t want;
	ssize_t n;

	n = logmerge_read(lm, out, len, off);
	if (off < start) {
		CHECK(n == -ENODATA, "read at %llu below the window at %llu: %zd",
		    (unsigned long long)off, (unsigned long long)start, n);
		return;
	}
	want = off >= model.len ? 0 : model.len - off < len ?
	    (size_t)(model.len - off) : len;
	CHECK(n >= 0 && (size_t)n == want, "read %zu at %llu: %zd, want %zu",
	    len, (unsigned long long)off, n, want);
	CHECK(want == 0 || memcmp(out, model.data + off, want) == 0,
	    "read %zu at %llu: other bytes than emitted", len,
	    (unsigned long long)off);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;
	struct logmerge *lm;
	size_t keep, n, i;
	char *big;
	int s, bigs = 0;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	keep = 16 + (size_t)*p++ * 16;
	lm = logmerge_new(keep);
	CHECK(lm != NULL, "logmerge_new(%zu)", keep);
	buf_init(&model, MODEL_MAX);
	memset(src, 0, sizeof(src));
	while (p < end && model.err == 0) {
		switch (*p++ % 5) {
		case 0:		/* feed */
			if (end - p < 3)
				goto done;
			s = p[0] % SOURCES;
			n = p[1];
			i = p[2] & 1;
			p += 3;
			n = n < (size_t)(end - p) ? n : (size_t)(end - p);
			logmerge_feed(lm, names[s], (const char *)p, n, (int)i);
			model_feed(s, (const char *)p, n, (int)i);
			p += n;
			break;
		case 1:		/* end */
			if (p == end)
				goto done;
			s = *p++ % SOURCES;
			CHECK(logmerge_end(lm, names[s]) == (src[s].live ? 0 :
			    -ENOENT), "end of %s", names[s]);
			model_end(s);
			break;
		case 2:		/* append */
			if (p == end)
				goto done;
			n = *p++;
			n = n < (size_t)(end - p) ? n : (size_t)(end - p);
			logmerge_append(lm, (const char *)p, n);
			buf_add(&model, p, n);
			p += n;
			break;
		case 3:		/* a long run of one byte */
			if (end - p < 3 || bigs++ == 4)
				goto done;
			s = p[0] % SOURCES;
			n = (size_t)(p[1] % 128 + 1) * 256;
			if ((big = malloc(n)) == NULL)
				goto done;
			memset(big, p[2], n);
			p += 3;
			logmerge_feed(lm, names[s], big, n, 0);
			model_feed(s, big, n, 0);
			free(big);
			break;
		default:	/* read */
			if (end - p < 2)
				goto done;
			{
				uint64_t start = model.len > keep ?
				    model.len - keep : 0;
				uint64_t off = p[0] == 255 ? start :
				    (uint64_t)p[0] * 16;

				check_read(lm, off, (size_t)p[1] * 16, keep);
			}
			p += 2;
			break;
		}
		CHECK(logmerge_size(lm) == model.len, "size %llu, model %zu",
		    (unsigned long long)logmerge_size(lm), model.len);
	}
done:
	if (model.err == 0) {
		CHECK(logmerge_size(lm) == model.len, "size %llu, model %zu",
		    (unsigned long long)logmerge_size(lm), model.len);
		check_read(lm, model.len > keep ? model.len - keep : 0, keep, keep);
	}
	for (s = 0; s < SOURCES; s++)
		if (src[s].live)
			buf_free(&src[s].partial);
	buf_free(&model);
	logmerge_free(lm);
	return 0;
}
