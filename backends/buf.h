/*
 * buf.h: growable byte buffers with a hard size cap, and small helpers
 * (monotonic clock, hashing) shared by fs/ and backends/.
 *
 * Every byte archonfs takes from a backend or from a writer goes through a
 * struct buf, so every buffer has a cap (like curl's dynbuf "toobig"): going
 * past it makes the buffer fail with -EFBIG and stay failed, instead of
 * growing without bound on a hostile reply or a runaway writer.
 *
 * This header includes nothing from FUSE, curl or jansson.
 */
#ifndef ARCHONFS_BUF_H
#define ARCHONFS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define BUF_MAX_DEFAULT	(64u << 20)	/* 64 MiB unless the owner says */

struct buf {
	char	*data;		/* always NUL-terminated when len > 0 */
	size_t	 len;
	size_t	 alloc;
	size_t	 max;		/* hard cap on len */
	int	 err;		/* sticky: 0, -ENOMEM or -EFBIG */
};

#define BUF_INIT(cap)	{ NULL, 0, 0, (cap), 0 }

void	 buf_init(struct buf *b, size_t max);
void	 buf_free(struct buf *b);
void	 buf_reset(struct buf *b);	/* len = 0, err = 0, keeps memory */
int	 buf_add(struct buf *b, const void *p, size_t n);
int	 buf_addstr(struct buf *b, const char *s);
int	 buf_addch(struct buf *b, char c);
int	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* Write n bytes at offset off, zero-filling a gap; the cap applies. */
int	 buf_pwrite(struct buf *b, const void *p, size_t n, size_t off);
int	 buf_truncate(struct buf *b, size_t len);
int	 buf_set(struct buf *b, const void *p, size_t n);
/* The contents as a C string ("" when empty); never NULL. */
const char *buf_str(const struct buf *b);

/* Milliseconds on the monotonic clock, and on the wall clock. */
int64_t	 now_ms(void);
int64_t	 wall_ms(void);

/* 64-bit FNV-1a, incremental: start with FNV_INIT. */
#define FNV_INIT	0xcbf29ce484222325ULL
uint64_t fnv1a(uint64_t h, const void *p, size_t n);
/* A faster 64-bit hash of a whole buffer (not incremental). */
uint64_t hash64(const void *p, size_t n);
/* Length of the valid UTF-8 sequence of 2 to 4 bytes at p (n bytes there),
 * or 0 when p does not start one (an ASCII byte included). */
size_t	 utf8_seq(const unsigned char *p, size_t n);

/* Strip one trailing "\n" (or "\r\n") and surrounding blanks in place. */
size_t	 trim_value(const char *p, size_t n, const char **start);
/* User input quoted for a message: 'printable', at most 60 bytes. */
void	 buf_quote(struct buf *out, const char *p, size_t n);
/* A whole number 0..2^31-1 from a value write; -EINVAL and words in msg
 * ("WHAT: '...' is not a whole number, nothing was sent") otherwise. */
/* A name from the cluster is usable as a file name when it is a plain
 * name: not empty, not . or .., no '/' or control byte, at most 255. */
int	 name_usable(const char *n);
int	 value_count(const char *text, size_t len, const char *what, long *out,
	    struct buf *msg);

#endif
