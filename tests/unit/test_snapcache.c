/*
 * test_snapcache.c: single flight, stale-while-revalidate, hard
 * invalidation, non-blocking readers and fail-fast, with a fake fetcher.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../backends/snapcache.h"
#include "unit.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int fetches;		/* guarded by lock */
static int fail;		/* guarded by lock: next fetches fail */
static int delay_ms = 100;
static int changes;

static int
fetch(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct timespec d = { 0, delay_ms * 1000000L };
	int *v, n, f;

	(void)arg;
	(void)deadline;
	nanosleep(&d, NULL);
	pthread_mutex_lock(&lock);
	n = ++fetches;
	f = fail;
	pthread_mutex_unlock(&lock);
	if (f) {
		buf_printf(msg, "fake: down");
		return -EIO;
	}
	v = malloc(sizeof(*v));
	*v = n;
	*out = v;
	return 0;
}

static void
changed(void *arg, void *old, void *new_)
{
	(void)arg;
	(void)old;
	(void)new_;
	__atomic_add_fetch(&changes, 1, __ATOMIC_SEQ_CST);
}

static const struct snapcache_ops ops = {
	.name = "fake", .fetch = fetch, .free = free, .changed = changed,
};

static struct snapcache *cache;

static void *
reader(void *arg)
{
	struct snapref *r = NULL;
	int *rc = arg;

	*rc = snapcache_get(cache, 1, now_ms() + 5000, &r, NULL);
	snapcache_put(cache, r);
	return NULL;
}

static int
nfetches(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = fetches;
	pthread_mutex_unlock(&lock);
	return n;
}

int
main(void)
{
	struct buf msg = BUF_INIT(1024);
	struct snapref *r = NULL, *r2 = NULL;
	pthread_t th[8];
	int rcs[8], i, ok, n, rc;
	int64_t t0;

	cache = snapcache_new(&ops, NULL, 60000, 2000);
	snapcache_start(cache);

	rc = snapcache_get(cache, 0, now_ms() + 1000, &r, &msg);
	CHECK(rc == -E_WOULDBLOCK && r == NULL, "a non-blocking reader without a snapshot is told to block");

	for (i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, reader, &rcs[i]);
	for (ok = 1, i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok &= rcs[i] == 0;
	}
	CHECK(ok, "eight concurrent readers all get a snapshot");
	CHECK(nfetches() == 1, "... from a single fetch");

	rc = snapcache_get(cache, 0, now_ms() + 1000, &r, &msg);
	CHECK(rc == 0 && r && *(int *)r->data == 1, "a fresh snapshot is served without blocking");
	snapcache_put(cache, r);

	snapcache_invalidate(cache, SC_EAGER);
	rc = snapcache_get(cache, 0, now_ms() + 1000, &r, &msg);
	CHECK(rc == 0 && *(int *)r->data == 1, "during an eager refresh the old snapshot still serves");
	snapcache_put(cache, r);
	usleep(300000);
	rc = snapcache_get(cache, 0, now_ms() + 1000, &r, &msg);
	CHECK(rc == 0 && *(int *)r->data == 2, "... and the background refresh replaced it");
	snapcache_put(cache, r);

	n = nfetches();
	snapcache_invalidate(cache, SC_HARD);
	usleep(200000);
	CHECK(nfetches() == n, "a hard invalidation alone fetches nothing");
	rc = snapcache_get(cache, 0, now_ms() + 1000, &r, &msg);
	CHECK(rc == -E_WOULDBLOCK, "after a hard invalidation a non-blocking reader must block");
	rc = snapcache_get(cache, 1, now_ms() + 2000, &r, &msg);
	CHECK(rc == 0 && *(int *)r->data == 3, "... and a blocking reader gets a snapshot fetched after it");
	r2 = snapcache_peek(cache);
	CHECK(r2 == r, "peek returns the current snapshot");
	snapcache_put(cache, r2);

	snapcache_changed(cache);
	usleep(300000);
	CHECK(nfetches() == n + 2, "an event on a snapshot in use refreshes it at once");
	CHECK(*(int *)r->data == 3, "a held snapshot stays valid after it was replaced");
	snapcache_put(cache, r);

	pthread_mutex_lock(&lock);
	fail = 1;
	pthread_mutex_unlock(&lock);
	snapcache_invalidate(cache, SC_HARD | SC_EAGER);
	t0 = now_ms();
	rc = snapcache_get(cache, 1, now_ms() + 2000, &r, &msg);
	CHECK(rc == 0 && r != NULL, "when a refresh fails the stale snapshot is served");
	CHECK(now_ms() - t0 < 1500, "... without waiting for the deadline");
	snapcache_put(cache, r);
	{
		struct snapcache_info info;

		snapcache_info(cache, &info);
		CHECK(info.stale && info.last_err == -EIO, "info says stale, with the error");
	}
	CHECK(changes >= 3, "every successful refresh was reported");
	snapcache_free(cache);

	/* A cache that never had a snapshot fails fast once it has failed. */
	fail = 1;
	cache = snapcache_new(&ops, NULL, 60000, 2000);
	snapcache_start(cache);
	rc = snapcache_get(cache, 1, now_ms() + 2000, &r, &msg);
	CHECK(rc == -EIO && strstr(buf_str(&msg), "down"), "first failure returns the backend's error");
	n = nfetches();
	t0 = now_ms();
	rc = snapcache_get(cache, 1, now_ms() + 2000, &r, &msg);
	CHECK(rc == -EIO && now_ms() - t0 < 50 && nfetches() == n,
	    "within the backoff the next reader fails at once, without a fetch");
	snapcache_free(cache);

	/* The first reader of an empty cache takes the refresh under way,
	 * not one queued behind it (at 10,000 apps each takes seconds). */
	fail = 0;
	cache = snapcache_new(&ops, NULL, 60000, 2000);
	snapcache_start(cache);
	n = nfetches();
	snapcache_invalidate(cache, SC_EAGER);
	usleep(50000);			/* the fetch is running (100 ms) */
	snapcache_invalidate(cache, SC_EAGER);	/* and another is queued */
	rc = snapcache_get(cache, 1, now_ms() + 2000, &r, &msg);
	CHECK(rc == 0 && r && *(int *)r->data == n + 1,
	    "a reader of an empty cache gets the refresh under way, not the next");
	snapcache_put(cache, r);
	snapcache_free(cache);
	buf_free(&msg);
	return done();
}
