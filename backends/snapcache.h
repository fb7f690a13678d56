/*
 * snapcache.h: one cached, refcounted snapshot of a backend resource (the
 * Marathon app listing, the deployment list, ...) with single-flight
 * refresh on a background thread.
 *
 * The rules every backend gets from here:
 *  - Readers never fetch themselves.  A refresh runs on the cache's own
 *    thread; concurrent readers of an expired snapshot share it.
 *  - An expired snapshot (older than the TTL) is still served while a
 *    refresh runs in the background (stale-while-revalidate).
 *  - snapcache_invalidate(c, SC_HARD) makes the next reader wait for a
 *    snapshot fetched after that call (after a write through the mount, a
 *    user reads back what they wrote); SC_EAGER starts the fetch at once
 *    rather than at the next read.
 *  - snapcache_changed(c) is for pushed events: it refreshes at once while
 *    the snapshot is in use (read in the last SNAPCACHE_IN_USE_MS), and
 *    otherwise only makes the next reader wait for fresh state, so an idle
 *    mount does not fetch on every event.
 *  - A reader that may not block (a FUSE thread) gets -E_WOULDBLOCK instead
 *    of waiting; the caller then re-runs it on a backend worker.
 *  - When the backend is down, the last snapshot is served, marked stale;
 *    without any snapshot, readers fail at once with the last error until
 *    the retry backoff has passed, instead of each waiting a full deadline.
 *
 * What it does not do: know what a snapshot holds.
 */
#ifndef ARCHONFS_SNAPCACHE_H
#define ARCHONFS_SNAPCACHE_H

#include <stdint.h>

#include "buf.h"

/* "Needs to block": returned (negated) by non-blocking readers. */
#define E_WOULDBLOCK	10000

struct snapcache;

struct snapref {
	void		*data;		/* the backend's snapshot object */
	uint64_t	 gen;		/* increases with every successful refresh */
	int64_t		 fetched_ms;	/* now_ms() when fetched */
	int64_t		 fetched_wall_ms;
	int		 refs;		/* guarded by the cache's lock */
};

struct snapcache_ops {
	const char	*name;		/* "marathon apps" for messages */
	/* Fetch a new snapshot (blocking, on the refresh thread).  Returns 0
	 * with *out set, or -errno with words in msg. */
	int	(*fetch)(void *arg, int64_t deadline, void **out, struct buf *msg);
	void	(*free)(void *data);
	/* After a successful swap, on the refresh thread; old may be NULL. */
	void	(*changed)(void *arg, void *old, void *new_);
};

struct snapcache_info {
	int		 have;		/* a snapshot exists */
	int64_t		 age_ms;
	int		 stale;		/* the last refresh failed */
	int64_t		 stale_since_wall_ms;
	int		 last_err;	/* -errno of the last failed refresh */
	char		 last_msg[256];
	uint64_t	 refreshes;
	uint64_t	 failures;
	uint64_t	 gen;
	int64_t		 last_fetch_ms;	/* how long the last fetch took */
};

struct snapcache *snapcache_new(const struct snapcache_ops *ops, void *arg,
	    int ttl_ms, int timeout_ms);
int	 snapcache_start(struct snapcache *c);
/* Stop the refresh thread and wake every waiting reader (they then get
 * the current snapshot or an error); the cache stays readable. */
void	 snapcache_stop(struct snapcache *c);
void	 snapcache_free(struct snapcache *c);	/* stops, then frees */

/* Get a reference to the current snapshot (see the rules above). */
int	 snapcache_get(struct snapcache *c, int may_block, int64_t deadline,
	    struct snapref **out, struct buf *msg);
void	 snapcache_put(struct snapcache *c, struct snapref *r);
#define SC_HARD		1	/* readers wait for a snapshot fetched after this */
#define SC_EAGER	2	/* start that fetch now */
#define SNAPCACHE_IN_USE_MS	60000

void	 snapcache_invalidate(struct snapcache *c, int how);
void	 snapcache_changed(struct snapcache *c);
/* Returns a reference to the current snapshot without any refresh, or NULL. */
struct snapref *snapcache_peek(struct snapcache *c);
void	 snapcache_info(struct snapcache *c, struct snapcache_info *out);

/*
 * Before a write: is the backend down (its last refresh failed)?  Then 1,
 * with words in msg naming who ("marathon"), since when and why, and a
 * refresh is started at once so that a backend that came back is seen by
 * the next try.  Writes are refused while down, never queued.
 */
int	 snapcache_down(struct snapcache *c, const char *who, struct buf *msg);

#endif
