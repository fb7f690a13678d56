/*
 * fs.h: the FUSE layer's shared state and its internal interfaces.
 *
 * Request flow (docs/architecture.md draws it): libfuse calls an op in
 * ops.c on one of its threads; the op copies its arguments into a struct op
 * and runs with may_block = 0.  If a handler needs the network it returns
 * -E_WOULDBLOCK before changing anything, and the op is handed to the
 * worker pool of the backend that owns the node, which runs it again with
 * may_block = 1 and a deadline.  So FUSE threads never wait on a backend,
 * and a hung backend only occupies its own pool.  Every reply goes through
 * op_finish(), which also unregisters the interrupt callback first.
 *
 * This header is the only place besides main.c that includes libfuse.
 */
#ifndef ARCHONFS_FS_H
#define ARCHONFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "../backends/buf.h"
#include "node.h"

#define ARCHONFS_VERSION	"0.1.0"

/* Caps on what a writer may hand us. */
#define VALUE_MAX	(64u << 10)	/* one value or ctl command */
#define DOC_MAX		(1u << 20)	/* one document (app.json) */

struct options {
	char	*marathon;	/* --marathon URL[,URL...] */
	char	*mesos;		/* --mesos URL (used by the logs tree) */
	char	*zk;		/* --zk HOST:PORT[,...][/chroot] */
	char	*kafka;		/* --kafka HOST:PORT[,...] */
	char	*credentials;	/* -o credentials=FILE */
	int	 ro;		/* -o ro */
	int	 force;		/* -o force: override deployment locks */
	int	 insecure;	/* -o insecure: do not verify TLS */
	int	 no_events;	/* -o noevents: do not follow /v2/events */
	double	 ttl;		/* -o ttl=SECONDS: snapshot freshness fallback */
	double	 timeout;	/* -o timeout=SECONDS: every backend call */
	double	 marathon_timeout, mesos_timeout, zk_timeout, kafka_timeout;
			/* one backend's deadline; 0: timeout */
	double	 entry_timeout;	/* kernel dentry cache */
	double	 attr_timeout;	/* kernel attribute cache */
	int	 workers;	/* -o workers=N: per-backend pool threads */
	int	 fuse_threads;	/* -o fuse_threads=N: FUSE loop threads (1) */
	int	 readahead;	/* -o readahead=N: read-ahead threads per backend (2) */
	int	 foreground;
	int	 debug;
	int	 allow_other;
	char	*mountpoint;
	char	*marathon_userpwd;	/* from the credentials; never shown */
	char	*zk_auth;	/* digest user:password; never shown */
	char	*zk_datafile;	/* -o zk_datafile=NAME: a directory znode's data */
	char	*consumes_label;	/* -o consumes_label=KEY (archon.consumes) */
	char	*produces_label;	/* -o produces_label=KEY (archon.produces) */
	char	*zk_consumes;	/* -o zk_consumes=TEMPLATE, {app} the app id */
	char	*zk_produces;	/* -o zk_produces=TEMPLATE */
	char	*group_app;	/* -o group_app=TEMPLATE: group id of an app */
	char	**kafka_props;	/* "name=value": -o kafka.NAME=VALUE and the
				   credentials file's kafka.NAME lines */
	size_t	 nkafka_props;
};

struct marathon;
struct mesos;
struct zk;
struct kafka;
struct pool;

struct fs {
	struct fuse_session	*se;
	struct options		 opt;
	struct marathon		*marathon;
	struct mesos		*mesos;
	struct zk		*zk;
	struct kafka		*kafka;
	struct pool		*pool[BK_MAX + 1];	/* + the wait pool */
	uid_t			 uid;
	gid_t			 gid;
	int64_t			 start_wall_ms;
	unsigned		 refreshes;	/* .archonfs/refresh writes (atomic) */
	volatile int		 stopping;	/* set once, at shutdown */
};

#define POOL_WAIT	BK_MAX

extern struct fs *FS;

int	 backend_enabled(enum backend_id b);
int	 backend_timeout_ms(enum backend_id b);

/* ---- ops.c -------------------------------------------------------------- */

enum reply_kind {
	R_ERR, R_NONE, R_ENTRY, R_ATTR, R_OPEN, R_CREATE, R_BUF, R_LINK,
	R_WRITE, R_STATFS,
};

struct op {
	fuse_req_t		 req;
	int			(*fn)(struct op *op);
	const char		*what;		/* "write", "rename", ... for logs */
	int			 backend;	/* pool index for the blocking run */
	int			 may_block;
	int64_t			 deadline;
	volatile int		 interrupted;
	volatile int64_t	 interrupted_at;	/* ms, when interrupted */
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;

	/* Arguments, copied: FUSE's buffers do not outlive the callback. */
	fuse_ino_t		 ino, ino2;
	char			*name, *name2;
	struct fuse_file_info	 fi;
	int			 has_fi;
	size_t			 size;
	off_t			 off;
	char			*data;
	size_t			 len;
	mode_t			 mode;
	int			 flags;
	struct stat		 attr;
	int			 to_set;

	/* Reply. */
	enum reply_kind		 rkind;
	int			 err;
	struct fuse_entry_param	 entry;
	struct stat		 st;
	double			 attr_timeout;	/* for R_ATTR */
	struct fuse_file_info	 rfi;
	char			*rbuf;
	size_t			 rlen;
	size_t			 wcount;

	struct buf		 msg;		/* words for .error */
	struct buf		 audit;		/* what was sent, for the change log */
	struct op		*next;		/* pool queue */

	/* The reply is sent once: by the op's thread, or by its pool's
	 * watcher when the op overran its deadline (or was interrupted) and
	 * still runs.  rlock guards answered, and every use of req once the
	 * op may be running in a pool. */
	pthread_mutex_t		 rlock;
	int			 answered;	/* guarded by rlock */
};

/* A pending directory (NK_PENDING) was created in the cluster: the same
 * inode becomes row (a shell inside it keeps its working directory), its
 * local entry goes, and the kernel forgets its files' old rows. */
struct inode;
void	 pending_resolved(struct inode *dir, enum node_id row, const char *arg);

/* Run by pools: the blocking run (replies, unless the watcher did), then
 * op_free; failing an op that never ran (replies and frees); answering
 * an op that still runs (it stays the worker's to free). */
void	 op_run_blocking(struct op *op);
void	 op_release(struct op *op);
void	 op_fail(struct op *op, int err);
void	 ops_free_handles(void);	/* after the session loop ended */
/* Requests by kind, the loop and the inode table (.archonfs/status). */
void	 ops_status(struct buf *out);
/* tree_meta.c: 1 with words in msg while that backend refuses writes. */
int	 backend_write_refused(int backend, struct buf *msg);
int	 op_abandon(struct op *op, int err);
extern const struct fuse_lowlevel_ops archonfs_ops;

/* ---- pool.c ------------------------------------------------------------- */

struct pool *pool_new(const char *name, int threads);
void	 pool_submit(struct pool *p, struct op *op);
void	 pool_free(struct pool *p);
void	 pool_status(struct pool *p, struct buf *out);
/* How long past its deadline a running op is answered for it (ms). */
#define POOL_GRACE_MS	500

/* ---- inval.c ------------------------------------------------------------ */

int	 inval_start(struct fuse_session *se);
void	 inval_stop(void);
void	 inval_inode(uint64_t ino);
/* Drop the kernel's cached attributes of ino now, from the calling thread
 * (not queued): only from an operation the kernel does not hold that
 * inode's locks for (open does not). */
void	 inval_attr_now(uint64_t ino);
void	 inval_entry(uint64_t parent, const char *name);
/* The node at a mount-relative path, and its name in its parent. */
void	 inval_fspath(const char *fspath);
/* Everything the kernel caches at and under a mount-relative path ("" for
 * the whole mount), skipping what it no longer holds. */
void	 inval_under(const char *fspath);
/* 1 when the kernel read the pulled listing of the directory at path
 * (mount-relative) within the current entry_timeout window, and no
 * refresh came since: it keeps that listing and will not ask for it. */
int	 kernel_has_listing(const char *path);
/* Drop the listings the kernel keeps at and under fspath: of the given
 * rows, or every one (rows NULL: a vanished sandbox, which nothing else
 * reports). */
void	 inval_dirs_under(const char *fspath, const enum node_id *rows,
	    size_t nrows);

/* ---- log.c -------------------------------------------------------------- */

void	 log_init(int foreground);
void	 log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line per change the mount makes (DESIGN 6): who, what, result. */
void	 log_change(const struct op *op, const char *path, const char *sent,
	    int result, const char *words);

/* ---- shared.c ------------------------------------------------------------ */

/* State shared by every open of one node (an app's merged log, a topic's
 * messages), found by key, since fstat comes without a file handle.  An
 * object starts with struct shared; init runs under the registry's lock
 * for a new one, fini when the last reference is put. */
struct shared {
	struct shared	*next;		/* guarded by the registry's lock */
	int		 refs;		/* guarded by the registry's lock */
	char		*key;
};

struct registry {
	pthread_mutex_t	 lock;
	struct shared	*head;		/* guarded by lock */
	size_t		 size;		/* of the whole object */
	int		(*init)(struct shared *s);
	void		(*fini)(struct shared *s);
};

#define REGISTRY_INIT(type, init, fini) \
	{ PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(type), (init), (fini) }

/* The object of key, referenced (made if create), or NULL. */
struct shared *shared_get(struct registry *r, const char *key, int create);
void	 shared_put(struct registry *r, struct shared *s);

/* ---- tree_marathon.c ---------------------------------------------------- */

int	 tree_marathon_start(void);
void	 tree_marathon_stop(void);

/* ---- tree_zk.c -------------------------------------------------------------- */

int	 tree_zk_start(void);
void	 tree_zk_shutdown(void);
void	 tree_zk_stop(void);

/* ---- tree_kafka.c ------------------------------------------------------- */

int	 tree_kafka_start(void);
void	 tree_kafka_shutdown(void);
void	 tree_kafka_stop(void);

/* ---- tree_pipeline.c ---------------------------------------------------- */

/* The effective pipeline options (defaults filled in). */
const char *pipeline_opt(const char *name);
/* ZooKeeper reported a change: configured edges may have changed. */
void	 tree_pipeline_zk_changed(void);
/* Apps changed: drop the kernel's listings made from the graph's edges. */
void	 tree_pipeline_apps_changed(void);

/* ---- tree_mesos.c --------------------------------------------------------- */

int	 tree_mesos_start(void);
void	 tree_mesos_shutdown(void);
void	 tree_mesos_stop(void);

#endif
