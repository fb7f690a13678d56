/*
 * fake_http.c: http_do() and http_stream() answered from a script (see
 * fake.h), linked with -Wl,--wrap=http_do,--wrap=http_stream.  A reply
 * larger than the request's cap fails as the real client fails it; when
 * the script has no reply left, the request fails as a refused connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

int	 __wrap_http_do(struct http_client *c, const struct http_req *rq,
	    struct http_resp *resp, struct buf *msg);
int	 __wrap_http_stream(struct http_client *c, const struct http_req *rq,
	    int (*on_data)(const char *p, size_t n, void *arg), void *arg,
	    int idle_sec, long *status, struct buf *msg);

void (*fake_http_hook)(const struct http_req *rq);

static struct fake_reply replies[FAKE_REPLIES_MAX];
static size_t nreplies, next, calls;

static const char *
find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	for (; (size_t)(end - p) >= n; p++)
		if (memcmp(p, s, n) == 0)
			return p;
	return NULL;
}

const char *
fake_split(const char *data, size_t size, size_t *head_len)
{
	const char *end = data + size, *p, *sep, *eol, *word;
	struct fake_reply *r;
	size_t n;

	nreplies = next = calls = 0;
	sep = find(data, end, FAKE_SEP);
	*head_len = sep ? (size_t)(sep - data) : size;
	while (sep && nreplies < FAKE_REPLIES_MAX) {
		r = &replies[nreplies++];
		memset(r, 0, sizeof(*r));
		p = sep + strlen(FAKE_SEP);
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (p < eol && *p >= '0' && *p <= '9') {
			for (; p < eol && *p >= '0' && *p <= '9'; p++)
				if (r->status < 1000)
					r->status = r->status * 10 + (*p - '0');
		} else {
			r->err = (size_t)(eol - p) >= 7 &&
			    memcmp(p, "TIMEOUT", 7) == 0 ? -ETIMEDOUT : -EIO;
		}
		while (p < eol && *p != ' ')
			p++;
		while (p < eol && *p == ' ')
			p++;
		word = p;
		n = (size_t)(eol - word);
		if (n >= sizeof(r->deployment_id))
			n = sizeof(r->deployment_id) - 1;
		memcpy(r->deployment_id, word, n);
		r->deployment_id[n] = '\0';
		r->body = eol < end ? eol + 1 : end;
		sep = find(r->body, end, FAKE_SEP);
		r->len = (size_t)((sep ? sep : end) - r->body);
	}
	return data;
}

size_t
fake_http_calls(void)
{
	return calls;
}

static const struct fake_reply *
take(const struct http_req *rq, struct buf *msg)
{
	calls++;
	if (fake_http_hook)
		fake_http_hook(rq);
	if (next == nreplies) {
		if (msg) {
			buf_reset(msg);
			buf_printf(msg, "fake: %s %s: connection refused",
			    rq->method, rq->path);
		}
		return NULL;
	}
	return &replies[next++];
}

int
__wrap_http_do(struct http_client *c, const struct http_req *rq,
    struct http_resp *resp, struct buf *msg)
{
	const struct fake_reply *r;
	size_t cap = rq->max_body ? rq->max_body : BUF_MAX_DEFAULT;

	(void)c;
	buf_reset(&resp->body);
	resp->body.max = cap + 1;
	resp->status = 0;
	resp->deployment_id[0] = '\0';
	resp->leader[0] = '\0';
	if ((r = take(rq, msg)) == NULL)
		return -EIO;
	if (r->status == 0) {
		if (msg) {
			buf_reset(msg);
			buf_printf(msg, "fake: %s %s: %s", rq->method, rq->path,
			    r->err == -ETIMEDOUT ? "timed out" : "reset");
		}
		return r->err;
	}
	if (r->len > cap || buf_add(&resp->body, r->body, r->len) != 0) {
		if (msg) {
			buf_reset(msg);
			buf_printf(msg, "fake: reply larger than %zu bytes", cap);
		}
		return -EIO;
	}
	resp->status = r->status;
	memcpy(resp->deployment_id, r->deployment_id, sizeof(r->deployment_id));
	return 0;
}

int
__wrap_http_stream(struct http_client *c, const struct http_req *rq,
    int (*on_data)(const char *p, size_t n, void *arg), void *arg,
    int idle_sec, long *status, struct buf *msg)
{
	const struct fake_reply *r;
	size_t off, k;

	(void)c;
	(void)idle_sec;
	*status = 0;
	if ((r = take(rq, msg)) == NULL)
		return -EIO;
	if (r->status == 0)
		return r->err;
	*status = r->status;
	/* Pieces of odd sizes, as a network delivers them. */
	for (off = 0; off < r->len; off += k) {
		k = r->len - off < 61 ? r->len - off : 61;
		if (on_data(r->body + off, k, arg) != 0)
			break;
	}
	return 0;
}
