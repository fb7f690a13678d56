/*
 * check.h: the fuzz targets' own assertions.  A failed CHECK prints what
 * was wrong and aborts, which libFuzzer reports as a crash with the input
 * that caused it: a property of the mount's contract was broken, not just
 * memory safety.
 */
#ifndef ARCHONFS_FUZZ_CHECK_H
#define ARCHONFS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/buf.h"

/* libFuzzer's entry points (each target defines the first). */
int	 LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int	 LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: ", __FILE__,	\
		    __LINE__);						\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* A name shown in a directory: what the tree promises of every name that
 * comes from the cluster. */
static inline void
check_name(const char *name, const char *what)
{
	const unsigned char *p;

	CHECK(name != NULL, "%s: NULL name", what);
	CHECK(*name != '\0' && strlen(name) <= 255, "%s: name of %zu bytes",
	    what, strlen(name));
	CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0,
	    "%s: name '%s'", what, name);
	for (p = (const unsigned char *)name; *p; p++)
		CHECK(*p != '/' && *p >= 0x20 && *p != 0x7f,
		    "%s: name with byte 0x%02x: '%s'", what, *p, name);
}

/* A status file: "key: value" lines (DESIGN.md: one per line), so that
 * `grep '^state:'` finds the one true line. */
static inline void
check_status(const struct buf *b, const char *what)
{
	const char *p = buf_str(b), *end = p + b->len, *eol;
	size_t k;

	CHECK(b->len > 0 && p[b->len - 1] == '\n',
	    "%s does not end in a newline", what);
	CHECK(memchr(p, '\0', b->len) == NULL, "%s holds a NUL byte", what);
	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		for (k = 0; p + k < eol && ((p[k] >= 'a' && p[k] <= 'z') ||
		    p[k] == '_'); k++)
			;
		CHECK(k > 0 && p[k] == ':' && (p + k + 1 == eol ||
		    p[k + 1] == ' '), "%s: a line is not \"key: value\": "
		    "'%.*s'", what, (int)(eol - p), p);
	}
}

/* A whole number and a newline. */
static inline void
check_count(const struct buf *b, const char *what)
{
	const char *p = buf_str(b);
	size_t i = 0;

	if (p[i] == '-')
		i++;
	CHECK(b->len > i + 1, "%s: '%s'", what, p);
	for (; i < b->len - 1; i++)
		CHECK(p[i] >= '0' && p[i] <= '9', "%s: '%s'", what, p);
	CHECK(p[b->len - 1] == '\n', "%s: no newline", what);
}

#endif
