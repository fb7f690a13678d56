/*
 * logmerge.c: line-by-line merge of several streams (see logmerge.h).
 * The output is a ring buffer addressed by a logical offset that only
 * grows: byte x lives at ring[x % cap] while total - x <= cap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "logmerge.h"

struct source {
	char		*name;
	struct buf	 partial;	/* bytes after the last newline */
	int		 skipping;	/* dropping up to the first newline */
	struct source	*next;
};

struct logmerge {
	char		*ring;
	size_t		 cap;
	uint64_t	 total;		/* bytes ever emitted */
	struct source	*sources;
};

struct logmerge *
logmerge_new(size_t keep)
{
	struct logmerge *lm;

	if (keep == 0 || (lm = calloc(1, sizeof(*lm))) == NULL)
		return NULL;
	if ((lm->ring = malloc(keep)) == NULL) {
		free(lm);
		return NULL;
	}
	lm->cap = keep;
	return lm;
}

void
logmerge_free(struct logmerge *lm)
{
	struct source *s, *n;

	if (lm == NULL)
		return;
	for (s = lm->sources; s; s = n) {
		n = s->next;
		buf_free(&s->partial);
		free(s->name);
		free(s);
	}
	free(lm->ring);
	free(lm);
}

static void
emit(struct logmerge *lm, const char *p, size_t n)
{
	size_t at, k;

	/* Only the last cap bytes can be kept anyway. */
	if (n > lm->cap) {
		lm->total += n - lm->cap;
		p += n - lm->cap;
		n = lm->cap;
	}
	while (n) {
		at = (size_t)(lm->total % lm->cap);
		k = lm->cap - at < n ? lm->cap - at : n;
		memcpy(lm->ring + at, p, k);
		lm->total += k;
		p += k;
		n -= k;
	}
}

static void
emit_line(struct logmerge *lm, const struct source *s, const char *p, size_t n)
{
	emit(lm, s->name, strlen(s->name));
	emit(lm, ": ", 2);
	emit(lm, p, n);
	emit(lm, "\n", 1);
}

static struct source *
source(struct logmerge *lm, const char *name, int skip_partial)
{
	struct source *s;

	for (s = lm->sources; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	buf_init(&s->partial, LOGMERGE_LINE_MAX);
	s->skipping = skip_partial;
	s->next = lm->sources;
	lm->sources = s;
	return s;
}

int
logmerge_feed(struct logmerge *lm, const char *name, const char *p, size_t n,
    int skip_partial)
{
	struct source *s = source(lm, name, skip_partial);
	const char *nl;
	size_t k;

	if (s == NULL)
		return -ENOMEM;
	while (n) {
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) : n;
		if (s->skipping) {
			if (nl)
				s->skipping = 0;
		} else if (nl == NULL) {
			/* Hold the partial line; cut it when it grows too long. */
			while (k) {
				size_t room = LOGMERGE_LINE_MAX - s->partial.len;
				size_t take = k < room ? k : room;

				buf_add(&s->partial, p, take);
				p += take;
				n -= take;
				k -= take;
				if (s->partial.len == LOGMERGE_LINE_MAX) {
					emit_line(lm, s, s->partial.data, s->partial.len);
					buf_reset(&s->partial);
				}
			}
			break;
		} else if (s->partial.len) {
			/* Complete the held line without copying it twice. */
			emit(lm, s->name, strlen(s->name));
			emit(lm, ": ", 2);
			emit(lm, s->partial.data, s->partial.len);
			emit(lm, p, k);
			emit(lm, "\n", 1);
			buf_reset(&s->partial);
		} else {
			emit_line(lm, s, p, k);
		}
		if (nl == NULL)
			break;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

int
logmerge_end(struct logmerge *lm, const char *name)
{
	struct source **sp, *s;

	for (sp = &lm->sources; (s = *sp) != NULL; sp = &s->next) {
		if (strcmp(s->name, name) != 0)
			continue;
		if (s->partial.len)
			emit_line(lm, s, s->partial.data, s->partial.len);
		*sp = s->next;
		buf_free(&s->partial);
		free(s->name);
		free(s);
		return 0;
	}
	return -ENOENT;
}

int
logmerge_append(struct logmerge *lm, const char *p, size_t n)
{
	emit(lm, p, n);
	return 0;
}

uint64_t
logmerge_size(const struct logmerge *lm)
{
	return lm->total;
}

ssize_t
logmerge_read(const struct logmerge *lm, char *out, size_t len, uint64_t off)
{
	uint64_t start = lm->total > lm->cap ? lm->total - lm->cap : 0;
	size_t got = 0, at, k;

	if (off < start)
		return -ENODATA;
	if (off >= lm->total)
		return 0;
	if (len > lm->total - off)
		len = (size_t)(lm->total - off);
	while (got < len) {
		at = (size_t)((off + got) % lm->cap);
		k = lm->cap - at < len - got ? lm->cap - at : len - got;
		memcpy(out + got, lm->ring + at, k);
		got += k;
	}
	return (ssize_t)got;
}
