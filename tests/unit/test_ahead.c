/*
 * test_ahead.c: the read-ahead queue (backends/ahead.c): no thread before
 * the first push, items run in order (back of the queue, or front), the
 * bound refuses and counts, nothing starts with 0 threads, and freeing a
 * queue with items waiting drops each once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../backends/ahead.h"
#include "unit.h"

struct item {
	struct ahead_item it;
	int		 n;
};

/* What ran, in order; the first item blocks until released. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ran[64], nran, hold = 1, dropped;

static void
run(void *ctx, struct ahead_item *it)
{
	struct item *x = (struct item *)it;

	(void)ctx;
	pthread_mutex_lock(&lock);
	while (x->n == 0 && hold)
		pthread_cond_wait(&cond, &lock);
	ran[nran++] = x->n;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	free(x);
}

static void
drop(struct ahead_item *it)
{
	dropped++;
	free(it);
}

static struct ahead_item *
item(int n)
{
	struct item *x = calloc(1, sizeof(*x));

	x->n = n;
	return &x->it;
}

static int
wait_ran(int n)
{
	struct timespec ts;
	int ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&lock);
	while (nran < n && pthread_cond_timedwait(&cond, &lock, &ts) == 0)
		;
	ok = nran >= n;
	pthread_mutex_unlock(&lock);
	return ok;
}

int
main(void)
{
	struct ahead_stats st;
	struct ahead_item *x;
	struct ahead *q;
	int rc;

	q = ahead_new(1, 3, run, drop, NULL);
	ahead_stats(q, &st);
	CHECK(st.threads == 0 && st.nthreads == 1, "no thread before the first push");

	/* Item 0 runs and holds the thread; 1 and 2 wait; 3 goes in front. */
	CHECK(ahead_push(q, item(0), 0) == 0, "push 0");
	ahead_stats(q, &st);
	CHECK(st.threads == 1, "the first push started the thread");
	pthread_mutex_lock(&lock);
	while (nran == 0 && st.waiting != 0) {
		pthread_mutex_unlock(&lock);
		usleep(1000);
		ahead_stats(q, &st);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	CHECK(ahead_push(q, item(1), 0) == 0 && ahead_push(q, item(2), 0) == 0 &&
	    ahead_push(q, item(3), 1) == 0, "push 1, 2 to the back, 3 to the front");
	x = item(4);
	rc = ahead_push(q, x, 0);
	CHECK(rc == -ENOSPC, "a push past the bound is refused");
	free(x);
	ahead_stats(q, &st);
	CHECK(st.waiting == 3 && st.queued == 4 && st.dropped == 1,
	    "three wait, four were queued, one dropped");

	pthread_mutex_lock(&lock);
	hold = 0;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	CHECK(wait_ran(4), "all four ran");
	CHECK(ran[0] == 0 && ran[1] == 3 && ran[2] == 1 && ran[3] == 2,
	    "in order: the running one, the front one, then the back ones");
	ahead_free(q);

	/* Waiting items are dropped once at free; no thread: nothing runs. */
	nran = 0;
	hold = 1;
	q = ahead_new(1, 10, run, drop, NULL);
	ahead_push(q, item(0), 0);
	ahead_push(q, item(5), 0);
	ahead_push(q, item(6), 0);
	pthread_mutex_lock(&lock);
	hold = 0;
	pthread_mutex_unlock(&lock);
	ahead_stop(q);
	pthread_mutex_lock(&lock);
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	ahead_free(q);
	CHECK(nran + dropped == 3, "after stop and free: each item ran or was dropped, once");
	CHECK(ahead_push(NULL, NULL, 0) == -ESHUTDOWN, "no queue: refused");

	q = ahead_new(0, 10, run, drop, NULL);
	x = item(7);
	CHECK(ahead_push(q, x, 0) == -EAGAIN, "0 threads: refused, the item the caller's");
	free(x);
	ahead_free(q);
	return done();
}
