/*
 * snapcache.c: single-flight, stale-while-revalidate snapshot cache.
 *
 * Sequence numbers make "fresh enough" exact: every request for a refresh
 * takes a number (req_seq); the refresh thread records the highest number it
 * had seen when it started (start_seq) and publishes it when it finishes
 * (done_seq).  A reader that asked with number n is satisfied once
 * done_seq >= n, whether that refresh succeeded or failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapcache.h"

#define RETRY_BACKOFF_MS	1000	/* between failed refreshes */
#define COALESCE_MS		10	/* let a burst of events settle */

struct snapcache {
	const struct snapcache_ops *ops;
	void		*arg;
	int		 ttl_ms;
	int		 timeout_ms;

	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;		/* refresh thread waits here */
	pthread_cond_t	 done;		/* readers wait here */
	pthread_t	 thread;
	int		 started;
	int		 stopping;	/* guarded by lock */

	/* All guarded by lock. */
	struct snapref	*cur;
	uint64_t	 req_seq;
	uint64_t	 start_seq;
	uint64_t	 done_seq;
	uint64_t	 hard_seq;	/* cur unusable until done_seq >= hard_seq */
	int		 refreshing;
	int64_t		 last_access_ms;
	int		 last_err;
	char		 last_msg[256];
	int64_t		 last_fail_ms;
	int64_t		 stale_since_wall_ms;
	uint64_t	 refreshes;
	uint64_t	 failures;
	uint64_t	 gen;
	int64_t		 last_fetch_ms;
};

static void
ref_drop_locked(struct snapcache *c, struct snapref *r)
{
	if (r && --r->refs == 0) {
		c->ops->free(r->data);
		free(r);
	}
}

/*
 * Ask for a refresh numbered at least need; returns the number to wait for:
 * the earliest one that will do.  A refresh already running does for any
 * reader it is numbered high enough for (one that must see a write made
 * after it started is not); otherwise a request that has not started yet
 * serves any number of readers.  (A reader of an empty cache must not wait
 * for a refresh queued behind the running one: at 10,000 apps each takes
 * seconds.)
 */
static uint64_t
request_locked(struct snapcache *c, uint64_t need)
{
	uint64_t want;

	if (c->refreshing && c->start_seq >= need && c->start_seq > c->done_seq)
		want = c->start_seq;		/* the running one */
	else if (c->req_seq > c->start_seq)
		want = c->req_seq;		/* pending, not started */
	else if (c->refreshing)
		want = c->start_seq;		/* the running one */
	else
		want = ++c->req_seq;
	if (want < need) {
		want = need;
		if (c->req_seq < need)
			c->req_seq = need;
	}
	pthread_cond_signal(&c->wake);
	return want;
}

static void *
refresher(void *arg)
{
	struct snapcache *c = arg;
	struct buf msg = BUF_INIT(4096);
	struct snapref *old, *nr;
	void *data;
	int64_t t0;
	uint64_t seq;
	int rc;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stopping && c->req_seq <= c->start_seq)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stopping)
			break;
		/* Back off after a failure, unless stopping. */
		if (c->last_fail_ms && now_ms() - c->last_fail_ms < RETRY_BACKOFF_MS) {
			struct timespec ts;
			int64_t until = c->last_fail_ms + RETRY_BACKOFF_MS;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (until - now_ms()) / 1000;
			ts.tv_nsec += ((until - now_ms()) % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->wake, &c->lock, &ts);
			continue;
		}
		/* Let a burst of events settle into one refresh. */
		pthread_mutex_unlock(&c->lock);
		{
			struct timespec d = { 0, COALESCE_MS * 1000000L };

			nanosleep(&d, NULL);
		}
		pthread_mutex_lock(&c->lock);
		seq = c->start_seq = c->req_seq;
		c->refreshing = 1;
		pthread_mutex_unlock(&c->lock);

		buf_reset(&msg);
		data = NULL;
		t0 = now_ms();
		rc = c->ops->fetch(c->arg, now_ms() + c->timeout_ms, &data, &msg);

		pthread_mutex_lock(&c->lock);
		c->last_fetch_ms = now_ms() - t0;
		c->refreshing = 0;
		if (rc == 0) {
			nr = calloc(1, sizeof(*nr));
			if (nr == NULL) {
				c->ops->free(data);
				rc = -ENOMEM;
			} else {
				nr->data = data;
				nr->refs = 1;
				nr->gen = ++c->gen;
				nr->fetched_ms = now_ms();
				nr->fetched_wall_ms = wall_ms();
				old = c->cur;
				c->cur = nr;
				c->refreshes++;
				c->last_err = 0;
				c->last_fail_ms = 0;
				c->stale_since_wall_ms = 0;
				/* The cache's reference to old passes to the change
				 * report; nr gets one more for it. */
				nr->refs++;
				pthread_mutex_unlock(&c->lock);
				if (c->ops->changed)
					c->ops->changed(c->arg, old ? old->data : NULL, nr->data);
				pthread_mutex_lock(&c->lock);
				ref_drop_locked(c, old);
				ref_drop_locked(c, nr);
			}
		}
		if (rc != 0) {
			c->failures++;
			c->last_err = rc;
			c->last_fail_ms = now_ms();
			if (c->stale_since_wall_ms == 0)
				c->stale_since_wall_ms = wall_ms();
			snprintf(c->last_msg, sizeof(c->last_msg), "%s",
			    msg.len ? msg.data : strerror(-rc));
		}
		c->done_seq = seq;
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->lock);
	buf_free(&msg);
	return NULL;
}

struct snapcache *
snapcache_new(const struct snapcache_ops *ops, void *arg, int ttl_ms,
    int timeout_ms)
{
	struct snapcache *c;
	pthread_condattr_t ca;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = ops;
	c->arg = arg;
	c->ttl_ms = ttl_ms;
	c->timeout_ms = timeout_ms;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	/* Readers wait with absolute monotonic deadlines. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &ca);
	pthread_condattr_destroy(&ca);
	return c;
}

int
snapcache_start(struct snapcache *c)
{
	if (pthread_create(&c->thread, NULL, refresher, c) != 0)
		return -errno;
	c->started = 1;
	return 0;
}

void
snapcache_stop(struct snapcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->wake);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	c->started = 0;
}

void
snapcache_free(struct snapcache *c)
{
	if (c == NULL)
		return;
	snapcache_stop(c);
	pthread_mutex_lock(&c->lock);
	ref_drop_locked(c, c->cur);
	c->cur = NULL;
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int
usable_locked(struct snapcache *c)
{
	return c->cur && c->done_seq >= c->hard_seq;
}

static int
fail_locked(struct snapcache *c, struct buf *msg)
{
	if (msg) {
		buf_reset(msg);
		buf_addstr(msg, c->last_msg);
	}
	return c->last_err ? c->last_err : -EIO;
}

int
snapcache_get(struct snapcache *c, int may_block, int64_t deadline,
    struct snapref **out, struct buf *msg)
{
	struct timespec ts;
	uint64_t want;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	c->last_access_ms = now_ms();
	if (usable_locked(c)) {
		if (now_ms() - c->cur->fetched_ms >= c->ttl_ms)
			request_locked(c, 0);	/* serve this one meanwhile */
		goto serve;
	}
	/* A hard request whose refresh failed: serve the stale snapshot. */
	if (c->cur && c->done_seq >= c->hard_seq)
		goto serve;
	if (c->cur == NULL && c->last_err && !c->refreshing &&
	    now_ms() - c->last_fail_ms < RETRY_BACKOFF_MS &&
	    c->done_seq >= c->req_seq) {
		rc = fail_locked(c, msg);
		goto out;
	}
	if (c->stopping) {
		if (c->cur)
			goto serve;
		rc = -EIO;
		goto out;
	}
	if (!may_block) {
		/* Start the fetch now; the caller retries on a worker. */
		request_locked(c, c->hard_seq);
		rc = -E_WOULDBLOCK;
		goto out;
	}
	want = request_locked(c, c->hard_seq);
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000L;
	while (c->done_seq < want && !c->stopping) {
		if (pthread_cond_timedwait(&c->done, &c->lock, &ts) == ETIMEDOUT &&
		    c->done_seq < want) {
			if (c->cur) {
				/* Serve stale rather than nothing; status says so. */
				goto serve;
			}
			if (msg) {
				buf_reset(msg);
				buf_printf(msg, "%s: no answer within the deadline",
				    c->ops->name);
			}
			rc = -ETIMEDOUT;
			goto out;
		}
	}
	if (c->cur == NULL) {
		rc = fail_locked(c, msg);
		goto out;
	}
serve:
	c->cur->refs++;
	*out = c->cur;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void
snapcache_put(struct snapcache *c, struct snapref *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	ref_drop_locked(c, r);
	pthread_mutex_unlock(&c->lock);
}

void
snapcache_invalidate(struct snapcache *c, int how)
{
	uint64_t seq;

	pthread_mutex_lock(&c->lock);
	/* A refresh already under way may have read the old state: the one
	 * that counts is numbered after everything so far. */
	seq = (c->req_seq > c->start_seq ? c->req_seq : c->start_seq) + 1;
	if (how & SC_HARD)
		c->hard_seq = seq;
	if (how & SC_EAGER) {
		c->req_seq = seq;
		pthread_cond_signal(&c->wake);
	}
	/* An explicit invalidation retries at once, even after a failure. */
	c->last_fail_ms = 0;
	pthread_mutex_unlock(&c->lock);
}

void
snapcache_changed(struct snapcache *c)
{
	int in_use;

	pthread_mutex_lock(&c->lock);
	in_use = c->last_access_ms && now_ms() - c->last_access_ms <
	    SNAPCACHE_IN_USE_MS;
	pthread_mutex_unlock(&c->lock);
	snapcache_invalidate(c, in_use ? SC_EAGER : SC_HARD);
}

struct snapref *
snapcache_peek(struct snapcache *c)
{
	struct snapref *r;

	pthread_mutex_lock(&c->lock);
	r = c->cur;
	if (r)
		r->refs++;
	pthread_mutex_unlock(&c->lock);
	return r;
}

int
snapcache_down(struct snapcache *c, const char *who, struct buf *msg)
{
	struct snapcache_info i;
	char when[32] = "";
	struct tm tm;
	time_t t;

	snapcache_info(c, &i);
	if (!i.stale)
		return 0;
	if (i.stale_since_wall_ms) {
		t = (time_t)(i.stale_since_wall_ms / 1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), " since %Y-%m-%dT%H:%M:%SZ", &tm);
	}
	buf_reset(msg);
	buf_printf(msg, "%s is down%s (%s): nothing was sent; writes are "
	    "refused while it is down, never queued: try again when "
	    ".archonfs/status says it is up", who, when, i.last_msg[0] ?
	    i.last_msg : strerror(-i.last_err));
	snapcache_invalidate(c, SC_EAGER);
	return 1;
}

void
snapcache_info(struct snapcache *c, struct snapcache_info *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->lock);
	out->have = c->cur != NULL;
	out->age_ms = c->cur ? now_ms() - c->cur->fetched_ms : 0;
	out->stale = c->last_err != 0;
	out->stale_since_wall_ms = c->stale_since_wall_ms;
	out->last_err = c->last_err;
	snprintf(out->last_msg, sizeof(out->last_msg), "%s", c->last_msg);
	out->refreshes = c->refreshes;
	out->failures = c->failures;
	out->gen = c->gen;
	out->last_fetch_ms = c->last_fetch_ms;
	pthread_mutex_unlock(&c->lock);
}
