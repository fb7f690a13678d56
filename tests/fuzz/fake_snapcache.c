/*
 * fake_snapcache.c: the snapcache.h interface without a refresh thread,
 * for the fuzz targets (see fake.h).  A reader that finds no usable
 * snapshot (none yet, or invalidated since) fetches inline, on its own
 * thread; a failed fetch serves the previous snapshot if there is one, as
 * the real cache serves a stale one.  Reference counting, the change
 * report and snapcache_info() behave as in snapcache.c, so a backend's
 * ownership mistakes still show up as leaks or use-after-free.
 *
 * What it does not do: threads, TTLs, backoff, single flight.  Those are
 * tested with the real cache in tests/unit/test_snapcache.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/snapcache.h"

struct snapcache {
	const struct snapcache_ops *ops;
	void		*arg;
	int		 timeout_ms;
	struct snapref	*cur;
	int		 dirty;		/* the next reader fetches */
	int		 stopping;
	int		 last_err;
	char		 last_msg[256];
	uint64_t	 gen, refreshes, failures;
};

static void
drop(struct snapcache *c, struct snapref *r)
{
	if (r && --r->refs == 0) {
		c->ops->free(r->data);
		free(r);
	}
}

struct snapcache *
snapcache_new(const struct snapcache_ops *ops, void *arg, int ttl_ms,
    int timeout_ms)
{
	struct snapcache *c = calloc(1, sizeof(*c));

	(void)ttl_ms;
	if (c == NULL)
		return NULL;
	c->ops = ops;
	c->arg = arg;
	c->timeout_ms = timeout_ms;
	return c;
}

int
snapcache_start(struct snapcache *c)
{
	(void)c;
	return 0;
}

void
snapcache_stop(struct snapcache *c)
{
	if (c)
		c->stopping = 1;
}

void
snapcache_free(struct snapcache *c)
{
	if (c == NULL)
		return;
	drop(c, c->cur);
	free(c);
}

static int
refresh(struct snapcache *c, int64_t deadline, struct buf *msg)
{
	struct buf m = BUF_INIT(4096);
	struct snapref *nr, *old;
	void *data = NULL;
	int rc;

	rc = c->ops->fetch(c->arg, deadline, &data, &m);
	c->dirty = 0;
	if (rc == 0) {
		if ((nr = calloc(1, sizeof(*nr))) == NULL) {
			c->ops->free(data);
			rc = -ENOMEM;
			goto out;
		}
		nr->data = data;
		nr->refs = 2;		/* the cache's, and the change report's */
		nr->gen = ++c->gen;
		nr->fetched_ms = now_ms();
		nr->fetched_wall_ms = wall_ms();
		old = c->cur;
		c->cur = nr;
		c->refreshes++;
		c->last_err = 0;
		if (c->ops->changed)
			c->ops->changed(c->arg, old ? old->data : NULL, nr->data);
		drop(c, old);
		drop(c, nr);
	} else {
		c->failures++;
		c->last_err = rc;
		snprintf(c->last_msg, sizeof(c->last_msg), "%s",
		    m.len ? m.data : strerror(-rc));
		if (msg) {
			buf_reset(msg);
			buf_addstr(msg, c->last_msg);
		}
	}
out:
	buf_free(&m);
	return rc;
}

int
snapcache_get(struct snapcache *c, int may_block, int64_t deadline,
    struct snapref **out, struct buf *msg)
{
	int rc;

	*out = NULL;
	if (c->cur == NULL || c->dirty) {
		if (!may_block)
			return -E_WOULDBLOCK;
		if (c->stopping)
			rc = -EIO;
		else
			rc = refresh(c, deadline, msg);
		if (rc != 0 && c->cur == NULL)
			return rc;
	}
	c->cur->refs++;
	*out = c->cur;
	return 0;
}

void
snapcache_put(struct snapcache *c, struct snapref *r)
{
	if (r)
		drop(c, r);
}

void
snapcache_invalidate(struct snapcache *c, int how)
{
	(void)how;
	c->dirty = 1;
}

void
snapcache_changed(struct snapcache *c)
{
	c->dirty = 1;
}

struct snapref *
snapcache_peek(struct snapcache *c)
{
	if (c->cur)
		c->cur->refs++;
	return c->cur;
}

void
snapcache_info(struct snapcache *c, struct snapcache_info *out)
{
	memset(out, 0, sizeof(*out));
	out->have = c->cur != NULL;
	out->stale = c->last_err != 0;
	out->last_err = c->last_err;
	snprintf(out->last_msg, sizeof(out->last_msg), "%s", c->last_msg);
	out->refreshes = c->refreshes;
	out->failures = c->failures;
	out->gen = c->gen;
}

int
snapcache_down(struct snapcache *c, const char *who, struct buf *msg)
{
	if (c->last_err == 0)
		return 0;
	buf_reset(msg);
	buf_printf(msg, "%s is down (%s): nothing was sent", who, c->last_msg);
	c->dirty = 1;
	return 1;
}
