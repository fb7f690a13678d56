/*
 * ahead.h: a read-ahead queue: work a walk will need soon, done by a few
 * background threads before anyone asks.
 *
 * The threads start with the first item pushed (most mounts never walk),
 * the queue is bounded (an item past the bound is refused, not waited
 * for), and an item goes to the back, or to the front when it continues
 * the one just done (a subdirectory: the order a recursive walk takes).
 *
 * What it does not do: know what an item means, or avoid doing one twice
 * (the owner's cache and single flight do), or wait for anything.
 */
#ifndef ARCHONFS_AHEAD_H
#define ARCHONFS_AHEAD_H

#include <stddef.h>
#include <stdint.h>

/* The first member of every item. */
struct ahead_item {
	struct ahead_item *next;
};

/* run does one item and frees it; drop frees one never run (NULL: the
 * item is one allocation, given to free()). */
typedef void (*ahead_run_fn)(void *ctx, struct ahead_item *it);
typedef void (*ahead_drop_fn)(struct ahead_item *it);

struct ahead;

struct ahead *ahead_new(int nthreads, size_t max_queued, ahead_run_fn run,
	    ahead_drop_fn drop, void *ctx);
/* 0, or -ENOSPC (queue full) / -ESHUTDOWN / -EAGAIN (no thread could
 * start): then the item is the caller's still. */
int	 ahead_push(struct ahead *q, struct ahead_item *it, int front);
/* Wake the threads to stop (an item running finishes first); no join. */
void	 ahead_stop(struct ahead *q);
/* Stop, join, drop what waits, free. */
void	 ahead_free(struct ahead *q);

struct ahead_stats {
	int		 threads, nthreads;	/* started, allowed */
	size_t		 waiting;
	uint64_t	 queued, dropped;
};
void	 ahead_stats(struct ahead *q, struct ahead_stats *out);

#endif
