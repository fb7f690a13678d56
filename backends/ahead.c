/*
 * ahead.c: the read-ahead queue (ahead.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "ahead.h"

#define AHEAD_THREADS_MAX	16

struct ahead {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct ahead_item *head, *tail;		/* guarded by lock */
	size_t		 n, max;		/* guarded by lock */
	int		 nthreads, started;	/* guarded by lock */
	int		 stop;			/* guarded by lock */
	uint64_t	 queued, dropped;	/* guarded by lock */
	pthread_t	 threads[AHEAD_THREADS_MAX];
	ahead_run_fn	 run;
	ahead_drop_fn	 drop;
	void		*ctx;
};

struct ahead *
ahead_new(int nthreads, size_t max_queued, ahead_run_fn run,
    ahead_drop_fn drop, void *ctx)
{
	struct ahead *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->nthreads = nthreads < 0 ? 0 : nthreads > AHEAD_THREADS_MAX ?
	    AHEAD_THREADS_MAX : nthreads;
	q->max = max_queued;
	q->run = run;
	q->drop = drop;
	q->ctx = ctx;
	return q;
}

static void *
worker(void *arg)
{
	struct ahead *q = arg;
	struct ahead_item *it;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stop)
			break;
		it = q->head;
		if ((q->head = it->next) == NULL)
			q->tail = NULL;
		q->n--;
		pthread_mutex_unlock(&q->lock);
		q->run(q->ctx, it);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int
ahead_push(struct ahead *q, struct ahead_item *it, int front)
{
	int rc = 0;

	if (q == NULL)
		return -ESHUTDOWN;
	pthread_mutex_lock(&q->lock);
	while (!q->stop && q->started < q->nthreads &&
	    pthread_create(&q->threads[q->started], NULL, worker, q) == 0)
		q->started++;
	if (q->stop)
		rc = -ESHUTDOWN;
	else if (q->started == 0)
		rc = -EAGAIN;
	else if (q->n >= q->max)
		rc = -ENOSPC;
	if (rc != 0) {
		q->dropped += rc == -ENOSPC;
		pthread_mutex_unlock(&q->lock);
		return rc;
	}
	if (front) {
		it->next = q->head;
		q->head = it;
		if (q->tail == NULL)
			q->tail = it;
	} else {
		it->next = NULL;
		if (q->tail)
			q->tail->next = it;
		else
			q->head = it;
		q->tail = it;
	}
	q->n++;
	q->queued++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void
ahead_stop(struct ahead *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void
ahead_free(struct ahead *q)
{
	struct ahead_item *it;
	int i;

	if (q == NULL)
		return;
	ahead_stop(q);
	for (i = 0; i < q->started; i++)
		pthread_join(q->threads[i], NULL);
	while ((it = q->head) != NULL) {
		q->head = it->next;
		if (q->drop)
			q->drop(it);
		else
			free(it);
	}
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void
ahead_stats(struct ahead *q, struct ahead_stats *out)
{
	pthread_mutex_lock(&q->lock);
	out->threads = q->started;
	out->nthreads = q->nthreads;
	out->waiting = q->n;
	out->queued = q->queued;
	out->dropped = q->dropped;
	pthread_mutex_unlock(&q->lock);
}
