/*
 * http.c: libcurl glue with deadlines, capped replies, failover and cancel.
 *
 * Connection reuse: libcurl keeps a connection cache per easy handle, so the
 * client keeps a pool of easy handles and hands one to each request; a
 * handle returned to the pool keeps its live connection for the next caller.
 * (curl docs, "libcurl-tutorial: Persistence Is The Way to Happiness".)
 *
 * Failover: the client remembers which base URL last answered and starts
 * there.  A request moves on to the next URL when it could not connect at
 * all (nothing was sent, so even a write is safe to retry), and, for
 * idempotent requests, after any other transport failure or a 502/503 from
 * a standby that cannot reach the leader, while the deadline allows.
 */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define MAX_URLS	8
#define POOL_MAX	16

struct http_client {
	char		 name[32];
	char		*urls[MAX_URLS];
	char		*shown[MAX_URLS];	/* for messages: user:password@ masked */
	int		 nurls;
	char		*userpwd;
	int		 insecure;
	size_t		 max_body;

	pthread_mutex_t	 lock;
	int		 cur;			/* guarded by lock: preferred URL index */
	CURL		*pool[POOL_MAX];	/* guarded by lock: idle easy handles */
	int		 npool;			/* guarded by lock */
	struct http_stats stats;		/* guarded by lock */
};

struct xfer {
	struct http_resp	*resp;
	size_t			 cap;
	int			 overflow;
	const volatile int	*cancel;
	int (*on_data)(const char *, size_t, void *);
	void			*arg;
	int			 stopped;
	int			 idle_ms;	/* streams: end after this long without a byte */
	int64_t			 last_byte_ms;
	curl_off_t		 last_dn;
	int			 idled;		/* ended by idle_ms */
};

/*
 * Also fixes glibc's mmap threshold: left dynamic, it rises to the size of
 * the largest buffer freed (up to 32 MiB), after which reply bodies and
 * event lines of that size live in the threads' arenas and stay resident
 * once freed (a thread arena's top is trimmed only past a threshold that
 * grew too).  Fixed at 1 MiB, every big buffer is its own mapping, and
 * what a huge or hostile reply took goes back when it is freed
 * (mallopt(3), "M_MMAP_THRESHOLD"; t8300 measures it).  The trim
 * threshold goes with it, to 1 MiB from 128 KiB: a 64 KiB log piece's
 * reply body (some 72 KiB) freed at the top of a worker's arena gave the
 * pages back each time (madvise), and the next reply faulted them in
 * again; a 200 MB cat through the mount spent a quarter of archonfs's
 * CPU less without it.  At most 1 MiB of free memory is kept per arena.
 */
int
http_global_init(void)
{
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 20);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

static char *
xstrndup_trim(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '/' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

/* The URL with any "user:password@" replaced by "***@".  The user info
 * ends at the last "@" of the authority: a password with an "@" in it
 * (unescaped, a common slip) must not show its tail. */
static char *
mask_url(const char *url)
{
	const char *scheme = strstr(url, "://"), *host, *end, *at = NULL, *p;
	char *out;

	if (scheme == NULL)
		return strdup(url);
	host = scheme + 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return strdup(url);
	if ((out = malloc(strlen(url) + 4)) == NULL)
		return NULL;
	memcpy(out, url, (size_t)(host - url));
	strcpy(out + (host - url), "***");
	strcat(out, at);
	return out;
}

struct http_client *
http_client_new(const struct http_client_opts *o)
{
	struct http_client *c;
	const char *p, *comma;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", o->name ? o->name : "http");
	for (p = o->urls; p && *p && c->nurls < MAX_URLS; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		if (comma > p) {
			c->urls[c->nurls] = xstrndup_trim(p, (size_t)(comma - p));
			c->shown[c->nurls] = mask_url(c->urls[c->nurls]);
			c->nurls++;
		}
		if (*comma == '\0')
			break;
	}
	if (c->nurls == 0) {
		free(c);
		return NULL;
	}
	c->userpwd = o->userpwd ? strdup(o->userpwd) : NULL;
	c->insecure = o->insecure;
	c->max_body = o->max_body ? o->max_body : BUF_MAX_DEFAULT;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->stats.url, sizeof(c->stats.url), "%s", c->shown[0]);
	return c;
}

void
http_client_free(struct http_client *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	for (i = 0; i < c->nurls; i++) {
		explicit_bzero(c->urls[i], strlen(c->urls[i]));
		free(c->urls[i]);
		free(c->shown[i]);
	}
	if (c->userpwd) {
		explicit_bzero(c->userpwd, strlen(c->userpwd));
		free(c->userpwd);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void
http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
}

int
http_status_errno(long status)
{
	static const struct {
		long	lo, hi;
		int	err;
	} table[] = {
		{ 200, 299, 0 },
		{ 400, 400, EINVAL },	/* malformed request body */
		{ 401, 401, EACCES },
		{ 403, 403, EACCES },
		{ 404, 404, ENOENT },
		{ 409, 409, EBUSY },	/* Marathon deployment lock, duplicate */
		{ 412, 412, EBUSY },
		{ 413, 413, EFBIG },
		{ 422, 422, EINVAL },	/* validation */
		{ 500, 599, EIO },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (status >= table[i].lo && status <= table[i].hi)
			return table[i].err;
	return EIO;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;

	if (x->on_data) {
		if (x->on_data(p, len, x->arg) != 0) {
			x->stopped = 1;
			return 0;
		}
		return len;
	}
	if (x->resp->body.len + len > x->cap) {
		x->overflow = 1;
		return 0;	/* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (buf_add(&x->resp->body, p, len) != 0) {
		x->overflow = 1;
		return 0;
	}
	return len;
}

/* A header's value, one line: it goes into messages and the change log,
 * so it ends at the first CR or LF even if a server sent a bare one. */
static void
copy_header(char *dst, size_t dstsz, const char *v, size_t n)
{
	const char *end;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	for (end = v; end < v + n && *end != '\r' && *end != '\n'; end++)
		;
	n = (size_t)(end - v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;
	static const char dep[] = "Marathon-Deployment-Id:";
	static const char lead[] = "X-Marathon-Leader:";

	if (x->resp == NULL)
		return len;
	/* A new status line starts a new header block (redirects, 100). */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->resp->deployment_id[0] = '\0';
		x->resp->leader[0] = '\0';
	} else if (len > sizeof(dep) - 1 &&
	    strncasecmp(p, dep, sizeof(dep) - 1) == 0) {
		copy_header(x->resp->deployment_id, sizeof(x->resp->deployment_id),
		    p + sizeof(dep) - 1, len - (sizeof(dep) - 1));
	} else if (len > sizeof(lead) - 1 &&
	    strncasecmp(p, lead, sizeof(lead) - 1) == 0) {
		copy_header(x->resp->leader, sizeof(x->resp->leader),
		    p + sizeof(lead) - 1, len - (sizeof(lead) - 1));
	}
	return len;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;
	int64_t now;

	(void)dt; (void)ut; (void)un;
	if (x->cancel && *x->cancel)
		return 1;
	/* A stream is dead when no byte at all came for idle_ms; curl's own
	 * low-speed limit averages, and heartbeats of 2 bytes every 10 s are
	 * below any average worth setting. */
	if (x->idle_ms > 0) {
		now = now_ms();
		if (dn != x->last_dn || x->last_byte_ms == 0) {
			x->last_dn = dn;
			x->last_byte_ms = now;
		} else if (now - x->last_byte_ms >= x->idle_ms) {
			x->idled = 1;
			return 1;
		}
	}
	return 0;
}

static CURL *
handle_take(struct http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->npool > 0)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->lock);
	if (h == NULL)
		h = curl_easy_init();
	else
		curl_easy_reset(h);	/* keeps live connections and caches */
	return h;
}

static void
handle_give(struct http_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->npool < POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

static int
curl_errno(CURLcode cc, const struct xfer *x)
{
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return x->idled ? -ETIMEDOUT : -EINTR;
	case CURLE_WRITE_ERROR:
		return x->stopped ? 0 : -EIO;
	default:
		return -EIO;
	}
}

static int
connect_failed(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY;
}

static void
note_result(struct http_client *c, int idx, int rc, long status,
    int64_t latency, const char *what)
{
	pthread_mutex_lock(&c->lock);
	c->stats.requests++;
	c->stats.last_latency_ms = latency;
	/* A refusal of our credentials (401, 403) is a failure worth
	 * showing in .archonfs/status, though the server answered. */
	if (rc == 0 && status < 500 && status != 401 && status != 403) {
		c->stats.last_ok_wall_ms = wall_ms();
		c->cur = idx;
		snprintf(c->stats.url, sizeof(c->stats.url), "%s", c->shown[idx]);
	} else {
		c->stats.failures++;
		c->stats.last_fail_wall_ms = wall_ms();
		snprintf(c->stats.last_error, sizeof(c->stats.last_error), "%s", what);
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * One attempt against one base URL.  *cc_out receives the curl code so the
 * caller can decide whether to fail over.
 */
static int
attempt(struct http_client *c, int idx, const struct http_req *rq,
    struct xfer *x, int stream_idle, CURLcode *cc_out, long *status,
    char *errbuf)
{
	struct curl_slist *hdrs = NULL;
	struct buf url = BUF_INIT(8192);
	struct buf accept = BUF_INIT(256);
	int64_t left = 0;
	CURLcode cc;
	CURL *h;
	int rc;

	if (rq->deadline) {
		left = rq->deadline - now_ms();
		if (left <= 0) {
			*cc_out = CURLE_OPERATION_TIMEDOUT;
			strcpy(errbuf, "deadline passed before the request was sent");
			return -ETIMEDOUT;
		}
	}
	if ((h = handle_take(c)) == NULL)
		return -ENOMEM;
	buf_addstr(&url, c->urls[idx]);
	buf_addstr(&url, rq->path);
	buf_printf(&accept, "Accept: %s", rq->accept ? rq->accept : "application/json");
	if (url.err || accept.err) {
		rc = -ENOMEM;
		goto out;
	}
	hdrs = curl_slist_append(hdrs, accept.data);
	if (rq->body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		/* No "Expect: 100-continue" round trip for large bodies. */
		hdrs = curl_slist_append(hdrs, "Expect:");
	}
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	if (strcmp(rq->method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (left > 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
	} else {
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	}
	if (stream_idle > 0) {
		/* A live SSE stream sends at least a heartbeat every 10 s:
		 * on_progress ends one silent for stream_idle seconds. */
		x->idle_ms = stream_idle * 1000;
		x->last_byte_ms = 0;
		x->idled = 0;
		/* Standbys answer /v2/events with 302 to the leader (1.7+). */
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	}
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->userpwd) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, c->userpwd);
	}
	errbuf[0] = '\0';
	cc = curl_easy_perform(h);
	*cc_out = cc;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	rc = curl_errno(cc, x);
	if (rc == 0 && *status == 0)
		rc = -EIO;
	if (cc == CURLE_WRITE_ERROR && x->overflow)
		snprintf(errbuf, CURL_ERROR_SIZE, "reply larger than %zu bytes", x->cap);
	else if (cc == CURLE_ABORTED_BY_CALLBACK && x->idled)
		snprintf(errbuf, CURL_ERROR_SIZE, "no byte for %d s (not even a "
		    "heartbeat)", stream_idle);
	else if (errbuf[0] == '\0' && cc != CURLE_OK)
		snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
out:
	curl_slist_free_all(hdrs);
	buf_free(&url);
	buf_free(&accept);
	/* A handle that failed mid-transfer may hold a broken connection;
	 * curl closes those itself, so the handle is safe to reuse. */
	handle_give(c, h);
	return rc;
}

static int
run(struct http_client *c, const struct http_req *rq, struct xfer *x,
    int stream_idle, long *status, struct buf *msg)
{
	char errbuf[CURL_ERROR_SIZE];
	int i, start, idx, rc = -EIO;
	CURLcode cc = CURLE_OK;
	int64_t t0;

	pthread_mutex_lock(&c->lock);
	start = c->cur;
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < c->nurls; i++) {
		idx = (start + i) % c->nurls;
		if (x->resp) {
			buf_reset(&x->resp->body);
			x->resp->deployment_id[0] = '\0';
		}
		x->overflow = 0;
		*status = 0;
		t0 = now_ms();
		rc = attempt(c, idx, rq, x, stream_idle, &cc, status, errbuf);
		if (x->resp)
			x->resp->elapsed_ms = now_ms() - t0;
		if (rc == 0) {
			char what[64];

			snprintf(what, sizeof(what), "HTTP %ld from %s %s", *status,
			    rq->method, c->shown[idx]);
			note_result(c, idx, 0, *status, now_ms() - t0, what);
			/* A standby without a leader answers 502/503. */
			if ((*status == 502 || *status == 503) && rq->idempotent &&
			    i + 1 < c->nurls)
				continue;
			return 0;
		}
		{
			char what[sizeof(errbuf) + 300];

			snprintf(what, sizeof(what), "%s %s%s: %s", rq->method,
			    c->shown[idx], rq->path, errbuf);
			note_result(c, idx, rc, 0, now_ms() - t0, what);
			if (msg) {
				buf_reset(msg);
				buf_printf(msg, "%s: %s", c->name, what);
			}
		}
		if (rc == -EINTR || rc == -ETIMEDOUT)
			break;
		if (!connect_failed(cc) && !rq->idempotent)
			break;
	}
	return rc;
}

int
http_do(struct http_client *c, const struct http_req *rq,
    struct http_resp *resp, struct buf *msg)
{
	struct xfer x;

	memset(&x, 0, sizeof(x));
	x.resp = resp;
	x.cap = rq->max_body ? rq->max_body : c->max_body;
	x.cancel = rq->cancel;
	resp->body.max = x.cap + 1;
	return run(c, rq, &x, 0, &resp->status, msg);
}

int
http_stream(struct http_client *c, const struct http_req *rq,
    int (*on_data)(const char *, size_t, void *), void *arg, int idle_sec,
    long *status, struct buf *msg)
{
	struct http_resp hdrs;
	struct xfer x;
	int rc;

	http_resp_init(&hdrs);
	memset(&x, 0, sizeof(x));
	x.resp = &hdrs;
	x.cancel = rq->cancel;
	x.on_data = on_data;
	x.arg = arg;
	rc = run(c, rq, &x, idle_sec, status, msg);
	http_resp_free(&hdrs);
	return rc;
}

void
http_stats_get(struct http_client *c, struct http_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}

int
http_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			buf_addch(out, (char)*p);
		else {
			buf_addch(out, '%');
			buf_addch(out, hex[*p >> 4]);
			buf_addch(out, hex[*p & 15]);
		}
	}
	return out->err;
}
