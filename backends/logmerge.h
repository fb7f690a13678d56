/*
 * logmerge.h: merge several line streams into one, line by line.
 *
 * Bytes fed from a source (a task's log) become output only as complete
 * lines, each prefixed with "SOURCE: ", so lines of different sources never
 * interleave mid-line.  A partial line waits for its newline (up to
 * LOGMERGE_LINE_MAX bytes, then it is cut).  The output is addressed by
 * logical offset, like a file that only grows; the last `keep` bytes are
 * kept, and a read below that window fails with -ENODATA.
 *
 * Pure: no I/O, no locking (the caller holds a lock).
 */
#ifndef ARCHONFS_LOGMERGE_H
#define ARCHONFS_LOGMERGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOGMERGE_LINE_MAX	(64u << 10)

struct logmerge;

struct logmerge *logmerge_new(size_t keep);
void	 logmerge_free(struct logmerge *lm);
/* Feed bytes of a source; the first feed of a source may start mid-line
 * (skip_partial: drop everything up to the first newline). */
int	 logmerge_feed(struct logmerge *lm, const char *source, const char *p,
	    size_t n, int skip_partial);
/* A source ended: its held partial line is emitted with a newline. */
int	 logmerge_end(struct logmerge *lm, const char *source);
/* Append whole lines the caller made (no source, no prefix). */
int	 logmerge_append(struct logmerge *lm, const char *p, size_t n);
uint64_t logmerge_size(const struct logmerge *lm);
/* Copy output bytes at off; returns the count (0 at the end), or
 * -ENODATA when off is below the kept window. */
ssize_t	 logmerge_read(const struct logmerge *lm, char *out, size_t len,
	    uint64_t off);

#endif
