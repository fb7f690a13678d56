/*
 * mesos.h: the Mesos master and agents, for task sandboxes and their files.
 *
 * A task's sandbox is found as API-NOTES 2.3 describes: the agent id from
 * Marathon's task, the agent's address from the master (/master/slaves),
 * the executor directory from the agent's state (/slave(1)/state: the
 * executor whose id is the task id, or whose tasks include it, in
 * executors or completed_executors).  Each agent's state is read into an
 * index of its sandboxes (task id -> directory), read again only when a
 * task is not in it.  Files are read through the agent's /files/read by
 * offset and length, never whole, looping over its 64 KiB cap.
 *
 * An agent of Mesos 1.5 or later (its version in the master's agent list)
 * also serves each executor's sandbox under a virtual path,
 * /frameworks/FW/executors/EXECUTOR/runs/latest, and a Marathon app task
 * is its own executor: such a task's sandbox is that path, found without
 * reading the agent's state at all.  If the agent answers 404 there (a
 * custom executor names its executor otherwise) the state's index gives
 * the real directory; when that works where the virtual path did not, the
 * agent is asked by its index from then on.
 *
 * Directories are listed through /files/browse, and each listing is kept
 * for the TTL (mesos_list): one listing of a sandbox answers its listing,
 * the lookup of each name in it and each file's size and mtime
 * (mesos_stat).  A size probe (mesos_probe) always asks the agent, and
 * what it learns corrects the kept listing.
 *
 * What it does not do: know Marathon.  The caller passes the framework id
 * and the agent id of each task; mesos_set_master() is how the caller tells
 * it where the master is when --mesos was not given.
 */
#ifndef ARCHONFS_MESOS_H
#define ARCHONFS_MESOS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct mesos;

struct mesos_opts {
	const char	*master;	/* --mesos URL, or NULL until set */
	const char	*userpwd;	/* basic auth, or NULL */
	int		 insecure;
	int		 timeout_ms;
	int		 ttl_ms;
	int		 readahead;	/* read-ahead threads; 0: none */
};

/* Where a task's files live. */
struct mesos_sandbox {
	char		 agent_id[128];
	char		 agent_url[256];	/* http://IP:PORT */
	char		 dir[2048];		/* the executor directory, absolute */
	/* dir is the agent's virtual path of the executor whose id is the
	 * task id; when the agent does not know it, the files calls find the
	 * real directory from these and go on with it. */
	int		 virt;
	char		 framework_id[128];
	char		 task_id[256];
};

struct mesos_entry {		/* 32 bytes: the browse cache keeps many */
	const char	*name;
	off_t		 size;
	int64_t		 mtime_ms;	/* wall clock; the agent gives seconds */
	mode_t		 mode;		/* permission bits from the ls -l string */
	int		 is_dir;
};

/* A directory as one /files/browse showed it: shared, read-only, held
 * until mesos_dir_put(). */
struct mesos_dir {
	size_t		 n;
	const struct mesos_entry *e;	/* sorted by name (strcmp) */
};

/* A task Mesos remembers as finished. */
struct mesos_task {
	const char	*id;
	const char	*agent_id;
	const char	*state;		/* TASK_KILLED, TASK_FAILED, ... */
	int64_t		 time_ms;	/* of its last status */
};

struct mesos *mesos_new(const struct mesos_opts *o, struct buf *msg);
int	 mesos_start(struct mesos *m);
void	 mesos_shutdown(struct mesos *m);
void	 mesos_free(struct mesos *m);
/* Set the master URL ("http://host:5050/" as Marathon reports it is fine);
 * a change drops what was learnt from the old one. */
void	 mesos_set_master(struct mesos *m, const char *url);
int	 mesos_has_master(struct mesos *m);

/* Resolve a task's sandbox, from what is kept.  -E_WOULDBLOCK when
 * !may_block and a request is needed; -ENOENT when no agent knows the
 * task. */
int	 mesos_sandbox(struct mesos *m, const char *framework_id,
	    const char *agent_id, const char *task_id, int may_block,
	    int64_t deadline, struct mesos_sandbox *out, struct buf *msg);
/* The sandbox went away (a file of it was not found): drop every
 * listing kept of it. */
void	 mesos_forget(struct mesos *m, const struct mesos_sandbox *sb);
/* Drop every listing kept (.archonfs/refresh). */
void	 mesos_invalidate(struct mesos *m);

/* The current size of a file in a sandbox (rel: "stdout", "conf/x"),
 * asked of the agent: a size probe. */
int	 mesos_size(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, int64_t deadline, const volatile int *cancel,
	    off_t *size, struct buf *msg);
/* The same probe, which also corrects the kept listing of the file's
 * directory; *mtime_ms is the listing's mtime while the size is what the
 * listing said, the time of the probe once it changed, and 0 when no
 * listing is kept. */
int	 mesos_probe(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, int64_t deadline, const volatile int *cancel,
	    off_t *size, int64_t *mtime_ms, struct buf *msg);
/* Read up to len bytes at off; returns the count (0 at the end) or -errno. */
ssize_t	 mesos_read(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, char *buf, size_t len, off_t off, int64_t deadline,
	    const volatile int *cancel, struct buf *msg);
/*
 * A directory of a sandbox (rel "" is the sandbox itself), from the kept
 * listing while it is younger than the TTL, else from one /files/browse
 * that concurrent callers share.  -E_WOULDBLOCK when !may_block and a
 * request is needed.  The listing is the caller's until mesos_dir_put().
 */
int	 mesos_list(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, int may_block, int64_t deadline,
	    const volatile int *cancel, const struct mesos_dir **out,
	    struct buf *msg);
void	 mesos_dir_put(struct mesos *m, const struct mesos_dir *d);
/*
 * Read ahead: browse this directory of a sandbox (rel "" is the sandbox)
 * in the background, and its subdirectories down to depth levels, so
 * that the listings are kept when a walk reaches them.  Never blocks.
 * Nothing is queued without read-ahead threads or when AHEAD_QUEUE_MAX
 * directories wait already; a directory whose listing is kept costs no
 * request (its subdirectories are still looked at).
 */
void	 mesos_readahead(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, int depth);
/* The entry named name, or NULL. */
const struct mesos_entry *mesos_dir_find(const struct mesos_dir *d,
	    const char *name);
/* One file or directory of a sandbox (rel not ""), as the listing of its
 * directory shows it; out->name is NULL.  -ENOENT when it is not there. */
int	 mesos_stat(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, int may_block, int64_t deadline,
	    const volatile int *cancel, struct mesos_entry *out,
	    struct buf *msg);
/* mesos_list, blocking, calling fn for each entry in name order. */
int	 mesos_browse(struct mesos *m, const struct mesos_sandbox *sb,
	    const char *rel, int64_t deadline, const volatile int *cancel,
	    int (*fn)(void *arg, const struct mesos_entry *e), void *arg,
	    struct buf *msg);

/* Finished tasks of a framework whose id starts with prefix (as the
 * master remembers them), in id order, from a cached /master/tasks
 * listing (one request per TTL). */
int	 mesos_finished(struct mesos *m, const char *framework_id,
	    const char *prefix, int may_block, int64_t deadline,
	    int (*fn)(void *arg, const struct mesos_task *t), void *arg,
	    struct buf *msg);

void	 mesos_status(struct mesos *m, struct buf *out);

/* Decode a /files/read reply, {"data":"...","offset":N}, into out.  The
 * data string holds the file's bytes as they are: not necessarily valid
 * UTF-8.  Returns 0 with *n bytes and *offset, or -EIO.  (Untrusted bytes:
 * exposed for tests and fuzzers.) */
int	 mesos_parse_read(const char *body, size_t len, char *out, size_t cap,
	    size_t *n, int64_t *offset);

#endif
