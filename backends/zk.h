/*
 * zk.h: ZooKeeper, as the FUSE layer sees it.
 *
 * A cache of znodes (stat, data, children), each entry filled on demand
 * with a watch set, and dropped when that watch fires: a change made by
 * anyone is reported (zk_change_fn) and seen on the next read, not after a
 * TTL.  Calls are asynchronous underneath (the multi-threaded C client) and
 * synchronous here, each with a deadline; a connection loss is retried
 * until the deadline (then -ETIMEDOUT).  An expired session is replaced by
 * a new one, the whole cache dropped.
 *
 * Paths are absolute within the chroot given in the hosts string
 * ("h1:2181,h2:2181/config"): "/" is the chroot itself.
 *
 * What it does not do: know files.  zk_kind() is the one rule for whether a
 * znode is shown as a directory or a file.
 */
#ifndef ARCHONFS_ZK_H
#define ARCHONFS_ZK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct zk;

struct zk_opts {
	const char	*hosts;		/* --zk HOST:PORT[,...][/chroot] */
	const char	*auth;		/* digest "user:password", or NULL */
	int		 timeout_ms;	/* deadline of every call */
	int		 session_ms;	/* session timeout asked of the server */
};

/* The stat of a znode (ZooKeeper's struct Stat, the parts that matter). */
struct zk_stat {
	int64_t		 ctime_ms;
	int64_t		 mtime_ms;
	int64_t		 mzxid;
	int32_t		 version;
	int32_t		 cversion;
	int64_t		 ephemeral_owner;
	int32_t		 data_len;
	int32_t		 num_children;
};

/* The largest data the server takes by default (jute.maxbuffer is 1 MiB
 * for the whole request, path and header included). */
#define ZK_DATA_MAX	(1048576 - 4096)

/* What changed (reported from the client's event thread). */
#define ZK_CH_DATA	1	/* data or stat of path */
#define ZK_CH_CHILDREN	2	/* the children of path */
#define ZK_CH_GONE	4	/* path was deleted */
#define ZK_CH_ALL	8	/* everything may have changed (new session) */
typedef void (*zk_change_fn)(void *arg, const char *path, int what);

struct zk *zk_new(const struct zk_opts *o, struct buf *msg);
int	 zk_start(struct zk *z, zk_change_fn fn, void *arg);
void	 zk_shutdown(struct zk *z);
/* 1 (words in msg) while disconnected after a session was up: writes are
 * refused, not queued. */
int	 zk_write_refused(struct zk *z, struct buf *msg);
void	 zk_free(struct zk *z);

/* Directory or file: children, or data, or (neither) the version: a znode
 * never written (version 0) is a directory, one written empty is a file. */
#define ZK_DIR		1
#define ZK_FILE		2
int	 zk_kind(const struct zk_stat *st);

/* Reads.  -E_WOULDBLOCK when !may_block and the cache cannot answer. */
int	 zk_stat(struct zk *z, const char *path, int may_block, int64_t deadline,
	    struct zk_stat *out, struct buf *msg);
/* Stat many children of dir at once (pipelined); fn gets each that exists. */
int	 zk_list(struct zk *z, const char *dir, int may_block, int64_t deadline,
	    int (*fn)(void *arg, const char *name, const struct zk_stat *st),
	    void *arg, struct buf *msg);
int	 zk_data(struct zk *z, const char *path, int may_block, int64_t deadline,
	    struct buf *out, struct zk_stat *st, struct buf *msg);

/* Writes (blocking).  version -1: whatever the current one is. */
int	 zk_set(struct zk *z, const char *path, const char *data, size_t len,
	    int32_t version, int64_t deadline, struct zk_stat *st, struct buf *msg);
/* Create a znode: a directory (version 0) or a file (version bumped, so
 * that it stays a file while empty). */
int	 zk_create(struct zk *z, const char *path, const char *data, size_t len,
	    int as_file, int64_t deadline, struct buf *msg);
int	 zk_delete(struct zk *z, const char *path, int32_t version,
	    int64_t deadline, struct buf *msg);

void	 zk_status(struct zk *z, struct buf *out);

/* The one table from ZooKeeper error codes (ZNONODE, ...) to errno. */
int	 zk_errno(int zrc);

#endif
