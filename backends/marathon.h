/*
 * marathon.h: the Marathon v2 backend, as the FUSE layer sees it.
 *
 * State comes from snapshots (see snapcache.h): the whole app tree, with
 * tasks, counts, deployments and last failures, from ONE request
 * (GET /v2/apps?embed=...), and the deployment list from GET
 * /v2/deployments.  Queries on a snapshot are pure and never block; they
 * render text (status files, pretty JSON) into a struct buf.  Writes block,
 * take a deadline, and return 0 or -errno with the reason in words.
 *
 * Freshness: a thread follows /v2/events (Server-Sent Events) and marks the
 * snapshots dirty on every cluster event; after each refresh the backend
 * reports which app and group ids changed (struct mara_change) so the FUSE
 * layer can invalidate exactly those paths.
 *
 * What it does not do: know about inodes, FUSE or file names other than
 * Marathon ids.  Ids passed in are absolute Marathon ids ("/prod/web").
 */
#ifndef ARCHONFS_MARATHON_H
#define ARCHONFS_MARATHON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct marathon;
struct mara_snap;	/* the app tree; obtained with marathon_apps() */
struct mara_deps;	/* the deployment list */

struct marathon_opts {
	const char	*urls;		/* --marathon URL[,URL...] */
	const char	*userpwd;	/* basic auth "user:password", or NULL */
	int		 insecure;	/* do not verify TLS */
	int		 timeout_ms;	/* deadline of every call */
	int		 ttl_ms;	/* fallback freshness of snapshots */
	int		 events;	/* follow /v2/events */
	size_t		 max_body;	/* cap on any reply */
	int		 readahead;	/* read versions ahead of a walk */
};

/* Which ids changed in a refresh (called on the refresh thread). */
struct mara_change {
	const char *const *ids;	/* apps added/removed/changed, and every group
				   whose member list changed */
	size_t		 nids;
	int		 all;		/* first snapshot: everything is new */
	int		 deployments;	/* the deployment list changed */
};
typedef void (*mara_change_fn)(void *arg, const struct mara_change *ch);

struct marathon *marathon_new(const struct marathon_opts *o, struct buf *msg);
int	 marathon_start(struct marathon *m, mara_change_fn fn, void *arg);
/* Stop threads and abort requests in flight; queries still work. */
void	 marathon_shutdown(struct marathon *m);
/* 1 (words in msg) while Marathon is down: writes are refused, not queued. */
int	 marathon_write_refused(struct marathon *m, struct buf *msg);
void	 marathon_free(struct marathon *m);

/* ---- snapshots -------------------------------------------------------- */

/* 0 with *out referenced; -E_WOULDBLOCK when !may_block and a fetch is
 * needed; else -errno with words in msg. */
int	 marathon_apps(struct marathon *m, int may_block, int64_t deadline,
	    struct mara_snap **out, struct buf *msg);
void	 marathon_apps_put(struct marathon *m, struct mara_snap *s);
int	 marathon_deps(struct marathon *m, int may_block, int64_t deadline,
	    struct mara_deps **out, struct buf *msg);
void	 marathon_deps_put(struct marathon *m, struct mara_deps *d);
/* Drop cached state: the next reader of anything waits for fresh state
 * (nothing is fetched until then). */
void	 marathon_invalidate(struct marathon *m);
/* Ask for a fresh deployment list soon (soft). */
void	 marathon_poll_deps(struct marathon *m);
/* Milliseconds since the epoch of a Marathon timestamp, 0 if unreadable. */
int64_t	 marathon_time_ms(const char *iso8601);

/* Parse a GET /v2/apps reply into a snapshot (for tests and fuzzers; the
 * backend does this on every refresh).  Untrusted bytes: never crashes. */
int	 marathon_parse_apps(const char *text, size_t len, struct mara_snap **out,
	    struct buf *msg);
void	 marathon_snap_free(struct mara_snap *s);

/*
 * Marathon's own facts (GET /v2/info, cached; re-read after the event
 * stream reconnects): the Mesos framework id of its tasks, and the Mesos
 * leader it reports (marathon_config.mesos_leader_ui_url).  Either output
 * may be NULL; an unknown one is "".
 */
int	 marathon_framework(struct marathon *m, int may_block, int64_t deadline,
	    char *framework_id, size_t fwsz, char *mesos_url, size_t urlsz,
	    struct buf *msg);

/* ---- queries on the app tree (pure; ids absolute) --------------------- */

enum mara_kind { MARA_NONE = 0, MARA_GROUP, MARA_APP };

/* Member kinds of listings. */
enum mara_member {
	MARA_M_GROUP = 1, MARA_M_APP,		/* group members */
	MARA_M_TASK,				/* tasks of an app */
	MARA_M_VAR, MARA_M_SECRET_VAR,		/* env: plain value, secret ref */
	MARA_M_LABEL,
	MARA_M_DEPLOYMENT,
	MARA_M_VERSION,
};
typedef int (*mara_list_fn)(void *arg, const char *name, int member);

int	 mara_kind(const struct mara_snap *s, const char *id);
int	 mara_list_group(const struct mara_snap *s, const char *gid,
	    mara_list_fn fn, void *arg);
/* Render the editable definition: pretty JSON without runtime fields. */
int	 mara_app_json(const struct mara_snap *s, const char *id, struct buf *out);
int	 mara_app_json_size(const struct mara_snap *s, const char *id,
	    off_t *size);		/* kept after the first rendering */
int	 mara_app_status(const struct mara_snap *s, const char *id, struct buf *out);
int	 mara_app_instances(const struct mara_snap *s, const char *id, struct buf *out);
int64_t	 mara_app_mtime(const struct mara_snap *s, const char *id);	/* ms */
/* The app after id in id order, which is the order a recursive walk of
 * apps/ reaches apps in (a group's apps and subgroups by name, depth
 * first); NULL after the last. */
const char *mara_next_app(const struct mara_snap *s, const char *id);
int	 mara_list_tasks(const struct mara_snap *s, const char *id,
	    mara_list_fn fn, void *arg);
int	 mara_task_kind(const struct mara_snap *s, const char *id, const char *task);
int	 mara_task_json(const struct mara_snap *s, const char *id,
	    const char *task, struct buf *out);
int	 mara_task_status(const struct mara_snap *s, const char *id,
	    const char *task, struct buf *out);
int64_t	 mara_task_mtime(const struct mara_snap *s, const char *id, const char *task);
/* The agent (Mesos slaveId) a task runs on, or NULL. */
const char *mara_task_agent(const struct mara_snap *s, const char *id,
	    const char *task);
/* env and labels: field is "env" or "labels". */
int	 mara_list_map(const struct mara_snap *s, const char *id,
	    const char *field, mara_list_fn fn, void *arg);
/* Returns the member kind (MARA_M_VAR, MARA_M_SECRET_VAR, MARA_M_LABEL) or -ENOENT. */
int	 mara_map_value(const struct mara_snap *s, const char *id,
	    const char *field, const char *key, struct buf *out);
size_t	 mara_app_count(const struct mara_snap *s);
size_t	 mara_task_count(const struct mara_snap *s);

/* For the pipeline: every app id in order; a label's string value (NULL
 * when absent); whether an app is unhealthy (unhealthy instances, or
 * fewer running than wanted with no deployment under way); each distinct
 * host of its tasks. */
/* Increases with every new snapshot (for caches built from one). */
uint64_t mara_snap_gen(const struct mara_snap *s);
int	 mara_each_app(const struct mara_snap *s,
	    int (*fn)(void *arg, const char *id), void *arg);
const char *mara_app_label(const struct mara_snap *s, const char *id,
	    const char *key);
int	 mara_app_unhealthy(const struct mara_snap *s, const char *id);
int	 mara_each_task_host(const struct mara_snap *s, const char *id,
	    int (*fn)(void *arg, const char *host), void *arg);

/* ---- deployments ------------------------------------------------------ */

int	 mara_list_deps(const struct mara_deps *d, mara_list_fn fn, void *arg);
int	 mara_dep_exists(const struct mara_deps *d, const char *id);
int	 mara_dep_json(const struct mara_deps *d, const char *id, struct buf *out);
int	 mara_dep_status(const struct mara_deps *d, const char *id, struct buf *out);
/* How a finished deployment ended, as learnt from the event stream:
 * "success\n", "failed: reason\n", or "finished\n" when unknown. */
void	 marathon_dep_outcome(struct marathon *m, const char *id, struct buf *out);

/* ---- versions (fetched on demand, cached) ----------------------------- */

/* A walk entered app id: read its version list and documents ahead, in
 * the background (nothing when -o readahead=0 or many apps wait). */
void	 marathon_readahead_versions(struct marathon *m, const char *id);
int	 marathon_list_versions(struct marathon *m, const char *id, int may_block,
	    int64_t deadline, mara_list_fn fn, void *arg, struct buf *msg);
int	 marathon_version_json(struct marathon *m, const char *id, const char *ts,
	    int may_block, int64_t deadline, struct buf *out, struct buf *msg);
/* The size of the version id is at, from the snapshot: 0; 1 for any
 * other version (read it). */
int	 marathon_version_size(struct marathon *m, const char *id, const char *ts,
	    off_t *size);

/* ---- writes (blocking) ------------------------------------------------ */

struct mara_write {
	int64_t		 deadline;
	int		 force;		/* ?force=true: override a deployment lock */
	const volatile int *cancel;
	struct buf	*msg;		/* words for .error (refusals, and what happened) */
	struct buf	*audit;		/* what was sent, for the change log */
};

/* Value writes; text is the written bytes as they came. */
int	 marathon_scale(struct marathon *m, const char *id, const char *text,
	    size_t len, struct mara_write *w);
int	 marathon_set_map(struct marathon *m, const char *id, const char *field,
	    const char *key, const char *text, size_t len, struct mara_write *w);
int	 marathon_unset_map(struct marathon *m, const char *id, const char *field,
	    const char *key, struct mara_write *w);
/* Document write: create (POST) or replace (PUT partialUpdate=false). */
int	 marathon_apply_app(struct marathon *m, const char *id, const char *text,
	    size_t len, int create, struct mara_write *w);
/* ctl verbs for an app: "restart", "kill TASK [scale|wipe]", "delete". */
int	 marathon_app_ctl(struct marathon *m, const char *id, const char *text,
	    size_t len, struct mara_write *w);
/* ctl verbs for a deployment: "rollback" (or "cancel"), "stop". */
int	 marathon_dep_ctl(struct marathon *m, const char *id, const char *text,
	    size_t len, struct mara_write *w);

/* Check one new path segment against Marathon's id rules (for mkdir). */
int	 marathon_check_segment(const char *seg, struct buf *msg);
/* Check an env variable or label name for creation. */
int	 marathon_check_key(const char *field, const char *key, struct buf *msg);

/* Multi-line report for .archonfs/status. */
void	 marathon_status(struct marathon *m, struct buf *out);

#endif
