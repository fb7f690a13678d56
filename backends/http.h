/*
 * http.h: the HTTP client every HTTP backend (Marathon, Mesos) uses.
 *
 * One struct http_client per backend holds its base URLs (several for
 * failover), a pool of libcurl easy handles (so connections are reused
 * across requests and threads), its TLS and auth settings, and counters for
 * .archonfs/status.  Every request carries an absolute deadline and an
 * optional cancel flag; every reply body goes into a capped struct buf.
 *
 * What it does not do: parse JSON, or know what any path means.  The
 * translation of an HTTP status into an errno lives here, in one table
 * (http_status_errno), for every HTTP backend.
 *
 * Threads: all functions are safe to call from any thread once
 * http_global_init() has run (before any thread starts).
 */
#ifndef ARCHONFS_HTTP_H
#define ARCHONFS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct http_client;

struct http_client_opts {
	const char	*name;		/* backend name for messages: "marathon" */
	const char	*urls;		/* "http://a:8080,http://b:8080" */
	const char	*userpwd;	/* "user:password" for basic auth, or NULL */
	int		 insecure;	/* 1: do not verify TLS peers */
	size_t		 max_body;	/* default reply cap */
};

struct http_req {
	const char	*method;	/* "GET", "PUT", "POST", "PATCH", "DELETE" */
	const char	*path;		/* "/v2/apps?embed=apps.tasks", appended to the base URL */
	const char	*body;		/* request body or NULL */
	size_t		 body_len;
	const char	*accept;	/* NULL: "application/json" */
	int64_t		 deadline;	/* now_ms() clock; 0: no overall limit (streams) */
	const volatile int *cancel;	/* if non-NULL and it becomes non-zero: -EINTR */
	size_t		 max_body;	/* 0: the client's default */
	int		 idempotent;	/* 1: may be retried on another URL after any transport failure */
};

struct http_resp {
	long		 status;	/* 0 until a reply arrived */
	struct buf	 body;
	char		 deployment_id[96];	/* Marathon-Deployment-Id header */
	char		 leader[256];		/* X-Marathon-Leader header */
	int64_t		 elapsed_ms;
};

struct http_stats {
	uint64_t	 requests;
	uint64_t	 failures;	/* transport failures and 5xx */
	int64_t		 last_latency_ms;
	int64_t		 last_ok_wall_ms;	/* wall clock of the last 2xx-4xx reply */
	int64_t		 last_fail_wall_ms;
	char		 last_error[256];
	char		 url[256];	/* the base URL in use */
};

int	 http_global_init(void);
struct http_client *http_client_new(const struct http_client_opts *o);
void	 http_client_free(struct http_client *c);

void	 http_resp_init(struct http_resp *r);
void	 http_resp_free(struct http_resp *r);

/*
 * Perform one request.  Returns 0 when an HTTP reply arrived, whatever its
 * status (read resp->status), or -errno when none did: -ETIMEDOUT (deadline),
 * -EINTR (cancelled), -EIO (refused, reset, reply over the cap, TLS failure).
 * On failure msg (if non-NULL) receives the reason in words.
 */
int	 http_do(struct http_client *c, const struct http_req *rq,
	    struct http_resp *resp, struct buf *msg);

/*
 * Perform a streaming GET: on_data is called with each piece of the body as
 * it arrives (return 0 to go on, non-zero to stop).  Returns like http_do
 * when the stream ends.  idle_sec: give up when nothing arrived that long.
 */
int	 http_stream(struct http_client *c, const struct http_req *rq,
	    int (*on_data)(const char *p, size_t n, void *arg), void *arg,
	    int idle_sec, long *status, struct buf *msg);

/* The one table from HTTP status to errno (0 for 2xx). */
int	 http_status_errno(long status);

void	 http_stats_get(struct http_client *c, struct http_stats *out);
/* Escape one path segment for a URL (RFC 3986 unreserved kept). */
int	 http_escape(struct buf *out, const char *s);

#endif
