/*
 * mesos_int.h: what mesos.c (master, agents, sandbox resolution) and
 * mesos_files.c (sandbox files: reads, probes, the browse cache) share.
 * Not for the FUSE layer (it includes jansson).
 */
#ifndef ARCHONFS_MESOS_INT_H
#define ARCHONFS_MESOS_INT_H

#include <jansson.h>
#include <pthread.h>

#include "ahead.h"
#include "http.h"
#include "mesos.h"
#include "snapcache.h"

#define RETIRED_MAX	16
/*
 * The browse cache's bound.  A whole-tree `ls -lR` at 100,000 tasks lists
 * 200,000 sandbox directories.  A walk uses a listing within milliseconds
 * of its fetch, but the kernel does not keep its copy for as long as it
 * may: its cached listings are page cache, which it drops under memory
 * pressure (and which DAMON pageout drops on the bench machine, see
 * docs/performance.md), and each one it dropped is asked again at the
 * next walk.  A sandbox root of 3 entries with its key costs some 350
 * bytes (a subdirectory of one entry less), so 64 MiB holds the 200,000
 * listings of that walk for the TTL: the listings the kernel dropped cost
 * no browse.  A bigger walk streams through the cache, least recently
 * used first out.
 */
#define LIST_BYTES_MAX	(64u << 20)
#define LIST_BUCKETS	65536	/* hash chains, a power of two: some 3 listings
				 * each when a walk's 200,000 are kept */

/* One dir listing, read-only once made, refcounted. */
struct dirdata {
	struct mesos_dir pub;		/* first: the caller's view */
	int		 refs;		/* guarded by the browse cache's lock */
	size_t		 bytes;		/* what it costs, for the bound */
	int64_t		 fetched_ms;	/* now_ms() when the agent answered */
	/* entries, then their names, follow in the same allocation */
};

/* A place in the browse cache for one (agent, path). */
struct lslot {
	struct lslot	*hnext;		/* hash chain */
	struct lslot	*prev, *next;	/* LRU list, most recent first */
	uint64_t	 hash;
	struct dirdata	*d;		/* the listing, or NULL */
	int		 busy;		/* a browse of it is running */
	int		 linked;	/* in the table (else only held) */
	int		 refs;		/* callers holding the slot */
	uint64_t	 seq;		/* browses completed */
	int		 err;		/* of the last one: 0 or -errno */
	char		*errmsg;	/* its words, when it failed */
	char		 key[];		/* "AGENT-ID\nPATH" */
};

/* The agent and directory above a task's sandbox, shared by every key
 * of a framework's tasks on that agent (list_key). */
#define KEY_PREFIXES	4096
#define KEY_PREFIX_SLOTS 8192	/* their hash index; a power of two, twice that */
struct kprefix {
	uint64_t	 hash;
	size_t		 len;
	char		*s;		/* "AGENT-ID\n.../executors/" */
};

/* All fields guarded by lock, but the prefixes (by pfx_lock). */
struct lcache {
	pthread_mutex_t	 lock;
	pthread_mutex_t	 pfx_lock;
	struct kprefix	 pfx[KEY_PREFIXES];	/* never removed */
	size_t		 npfx;
	uint16_t	 pfx_slot[KEY_PREFIX_SLOTS];	/* 1 + index in pfx, or 0 */
	pthread_cond_t	 done;		/* a browse completed */
	struct lslot	*buckets[LIST_BUCKETS];
	struct lslot	*head, *tail;	/* LRU */
	size_t		 nslots;
	size_t		 bytes;		/* slots and the listings they keep */
	uint64_t	 gen;		/* bumped by mesos_invalidate() */
	uint64_t	 hits, browses, waits, evictions;
	uint64_t	 ahead;		/* of the browses, made by read-ahead */
};

/* Read-ahead (mesos_readahead): a bounded queue, subdirectories of a
 * listing read ahead go to its front, up to AHEAD_SUBDIRS of each. */
#define AHEAD_QUEUE_MAX	1024
#define AHEAD_SUBDIRS	16

struct mesos {
	struct mesos_opts opts;
	volatile int	 stopping;
	pthread_mutex_t	 lock;
	char		 master[512];		/* guarded by lock */
	struct http_client *master_http;	/* guarded by lock */
	struct http_client *retired[RETIRED_MAX];	/* guarded by lock */
	int		 nretired;		/* guarded by lock */
	char		 tasks_fw[128];		/* guarded by lock */
	struct snapcache *slaves;		/* json_t *: /master/slaves */
	struct snapcache *tasks;		/* struct finished *: /master/tasks */
	struct agent	*agents;		/* guarded by lock */
	uint64_t	 file_reads;		/* guarded by lock */
	uint64_t	 file_errors;		/* guarded by lock */
	char		 file_error[1024];	/* guarded by lock: the last, in words */
	int		 started;
	/* One agent state parsed at a time: jansson holds several times
	 * the 40 MB of a big agent's state while it is parsed. */
	pthread_mutex_t	 parse_lock;
	struct lcache	 lc;
	struct ahead	*ahead;			/* set once, at mesos_new() */
};

/* mesos.c */
int	 mesos_get_json(struct http_client *c, const char *path,
	    int64_t deadline, const volatile int *cancel, json_t **out,
	    struct buf *msg);
int64_t	 mesos_json_int64(json_t *v, double scale);
/* The client of a sandbox's agent (NULL: out of memory). */
struct http_client *mesos_agent_http(struct mesos *m,
	    const struct mesos_sandbox *sb);
/* A virtual sandbox the agent answered 404 for: its real directory from
 * the agent's index (blocking), in *real.  -ENOENT when not there. */
int	 mesos_real_sandbox(struct mesos *m, const struct mesos_sandbox *sb,
	    int64_t deadline, struct mesos_sandbox *real, struct buf *msg);
/* The real directory worked where the virtual path did not: resolve this
 * agent's sandboxes by its index from now on. */
void	 mesos_no_virtual(struct mesos *m, const struct mesos_sandbox *sb);
int	 mesos_virtual_ok(struct mesos *m, const struct mesos_sandbox *sb);

/* mesos_files.c */
void	 mesos_lcache_init(struct lcache *lc);
void	 mesos_lcache_fini(struct lcache *lc);
void	 mesos_lcache_status(struct mesos *m, struct buf *out);
struct ahead *mesos_ahead_new(struct mesos *m);

#endif
