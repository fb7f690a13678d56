/*
 * pool.c: per-backend worker pools.
 *
 * Each backend has its own pool of threads for the blocking part of FUSE
 * requests (see fs.h), so a backend that hangs ties up only its own
 * workers: the FUSE threads and the other backends' pools keep answering.
 * Every queued op carries a deadline; a watcher thread fails ops that wait
 * in the queue past it (ETIMEDOUT) or that the caller interrupted (EINTR),
 * so an op never waits longer than its deadline even when every worker is
 * stuck on the hung backend.  The workers themselves are bounded by the
 * same deadline, which every backend call honours; should one not (a
 * library call that hangs), the watcher answers the caller of a running
 * op POOL_GRACE_MS after its deadline, or after it was interrupted, and
 * the worker, when it returns, only cleans up (op_abandon, op_reply).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

#define WATCH_MS	100
#define STOP_WAIT_S	3	/* at exit, for workers to return */

struct pool {
	char		 name[32];
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct op	*head, *tail;	/* guarded by lock */
	size_t		 queued;	/* guarded by lock */
	size_t		 busy;		/* guarded by lock */
	uint64_t	 done;		/* guarded by lock */
	uint64_t	 expired;	/* guarded by lock */
	uint64_t	 abandoned;	/* guarded by lock: answered while running */
	struct op	**running;	/* by worker; guarded by lock */
	int		 stopping;	/* guarded by lock */
	int		 nthreads;
	pthread_t	*threads;
	pthread_t	 watcher;
};

struct wslot {
	struct pool	*p;
	int		 i;
};

static void *
worker(void *arg)
{
	struct wslot *w = arg;
	struct pool *p = w->p;
	int self = w->i;
	struct op *op;

	free(w);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && p->head == NULL)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->head == NULL)
			break;
		op = p->head;
		p->head = op->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		p->busy++;
		p->running[self] = op;
		pthread_mutex_unlock(&p->lock);
		op->next = NULL;
		op_run_blocking(op);
		pthread_mutex_lock(&p->lock);
		/* The watcher looks at running[] under lock: free after. */
		p->running[self] = NULL;
		p->busy--;
		p->done++;
		pthread_mutex_unlock(&p->lock);
		op_release(op);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *
watcher(void *arg)
{
	struct pool *p = arg;
	struct op **pp, *op, *failed, *next;
	int i;
	struct timespec d = { 0, WATCH_MS * 1000000L };
	int64_t now;

	for (;;) {
		nanosleep(&d, NULL);
		failed = NULL;
		pthread_mutex_lock(&p->lock);
		if (p->stopping && p->head == NULL) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		now = now_ms();
		for (pp = &p->head; (op = *pp) != NULL;) {
			if (op->interrupted || (op->deadline && now >= op->deadline)) {
				*pp = op->next;
				p->queued--;
				p->expired++;
				op->next = failed;
				failed = op;
				continue;
			}
			pp = &op->next;
		}
		/* Repair the tail after removals. */
		p->tail = NULL;
		for (op = p->head; op; op = op->next)
			p->tail = op;
		/* Running ops that overran: their callers are answered now;
		 * the worker frees each op when its call returns. */
		for (i = 0; i < p->nthreads; i++) {
			if ((op = p->running[i]) == NULL)
				continue;
			if (op->interrupted ? now >= op->interrupted_at +
			    POOL_GRACE_MS : op->deadline && now >= op->deadline +
			    POOL_GRACE_MS) {
				if (op_abandon(op, op->interrupted ? EINTR :
				    ETIMEDOUT))
					p->abandoned++;
			}
		}
		pthread_mutex_unlock(&p->lock);
		for (op = failed; op; op = next) {
			next = op->next;
			op->next = NULL;
			op_fail(op, op->interrupted ? EINTR : ETIMEDOUT);
		}
	}
	return NULL;
}

struct pool *
pool_new(const char *name, int threads)
{
	struct pool *p;
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	snprintf(p->name, sizeof(p->name), "%s", name);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->threads = calloc((size_t)threads, sizeof(*p->threads));
	p->running = calloc((size_t)threads, sizeof(*p->running));
	if (p->threads == NULL || p->running == NULL) {
		free(p->threads);
		free(p->running);
		free(p);
		return NULL;
	}
	for (i = 0; i < threads; i++) {
		struct wslot *w = malloc(sizeof(*w));

		if (w == NULL)
			break;
		w->p = p;
		w->i = p->nthreads;
		if (pthread_create(&p->threads[p->nthreads], NULL, worker, w) != 0) {
			free(w);
			break;
		}
		p->nthreads++;
	}
	pthread_create(&p->watcher, NULL, watcher, p);
	return p;
}

void
pool_submit(struct pool *p, struct op *op)
{
	op->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = op;
	else
		p->head = op;
	p->tail = op;
	p->queued++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void
pool_free(struct pool *p)
{
	struct timespec until;
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	/* The backends were shut down, which ends their calls; a worker
	 * still stuck in one a few seconds later (a library call that
	 * ignores every deadline) is left behind, with its pool: the
	 * process is exiting, and exiting beats hanging. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_S;
	for (i = 0; i < p->nthreads; i++) {
		if (pthread_timedjoin_np(p->threads[i], NULL, &until) != 0) {
			log_msg("pool %s: a worker is still stuck in a backend "
			    "call; exiting without it", p->name);
			return;
		}
	}
	pthread_join(p->watcher, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p->running);
	free(p);
}

void
pool_status(struct pool *p, struct buf *out)
{
	pthread_mutex_lock(&p->lock);
	buf_printf(out, "  pool: %d workers, %zu busy, %zu queued, %llu done, "
	    "%llu expired in queue, %llu answered while running\n",
	    p->nthreads, p->busy, p->queued, (unsigned long long)p->done,
	    (unsigned long long)p->expired, (unsigned long long)p->abandoned);
	pthread_mutex_unlock(&p->lock);
}
