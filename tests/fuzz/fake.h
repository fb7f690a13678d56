/*
 * fake.h: what the fuzz targets put in place of the network.
 *
 * The targets link the real backends, with two seams replaced:
 *
 *  - http_do() and http_stream() (the only calls that reach a server) are
 *    wrapped at link time (ld --wrap) by fake_http.c, which answers each
 *    request with the next reply of a script cut from the fuzzer's input.
 *    Everything else of http.c (the status table, URL escaping, client
 *    set-up) is the real code.
 *  - snapcache.c (a refresh thread per cache) is replaced by
 *    fake_snapcache.c, which fetches inline, on the caller's thread, when
 *    a reader finds no usable snapshot: one input is one deterministic run.
 *
 * So the parsers run exactly as in the mount, fed with hostile bytes, and
 * no target opens a socket or starts a thread.
 */
#ifndef ARCHONFS_FUZZ_FAKE_H
#define ARCHONFS_FUZZ_FAKE_H

#include <stddef.h>

#include "../../backends/http.h"

/*
 * Script format: the part before the first reply is the target's own
 * (a header line, user bytes), then replies, each
 *
 *	"\n=== STATUS [DEPLOYMENT-ID]\n" BODY
 *
 * STATUS is a number (the HTTP status) or a word: "EIO" and "TIMEOUT" make
 * the request fail as a refused connection or a passed deadline do.
 */
#define FAKE_SEP	"\n=== "
#define FAKE_REPLIES_MAX 64

struct fake_reply {
	long		 status;	/* 0: transport failure, see err */
	int		 err;		/* -EIO, -ETIMEDOUT when status is 0 */
	const char	*body;
	size_t		 len;
	char		 deployment_id[96];
};

/* Cut data into the head (returned, *head_len) and the replies; the
 * replies point into data. */
const char *fake_split(const char *data, size_t size, size_t *head_len);

/* Requests seen since the last fake_split(). */
size_t	 fake_http_calls(void);
/* Called for every request before it is answered (NULL: none). */
extern void (*fake_http_hook)(const struct http_req *rq);

#endif
