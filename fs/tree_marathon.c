/*
 * tree_marathon.c: apps/ and deployments/, the handlers of the Marathon
 * rows of the node table, on top of backends/marathon.h.
 *
 * Handlers borrow a snapshot for the whole op (c->hold), so every file of
 * one listing or one open is rendered from the same state.  Pure reads
 * never block unless no snapshot exists yet; writes always run on the
 * Marathon pool (they return -E_WOULDBLOCK when called with may_block 0).
 *
 * Change reports from the backend (on its refresh thread) become kernel
 * invalidations of exactly the inodes at or under the apps and groups that
 * changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "inode.h"
#include "local.h"
#include "tree.h"
#include "../backends/marathon.h"

#define HOLD_APPS	0
#define HOLD_DEPS	1

#define M	(FS->marathon)

static void
put_apps(void *p)
{
	marathon_apps_put(M, p);
}

static void
put_deps(void *p)
{
	marathon_deps_put(M, p);
}

int
apps_snap(struct nctx *c, struct mara_snap **out)
{
	int rc;

	if (c->hold[HOLD_APPS].p) {
		*out = c->hold[HOLD_APPS].p;
		return 0;
	}
	if ((rc = marathon_apps(M, c->may_block, c->deadline, out, c->msg)) != 0)
		return rc;
	c->hold[HOLD_APPS].p = *out;
	c->hold[HOLD_APPS].put = put_apps;
	return 0;
}

static int
deps_snap(struct nctx *c, struct mara_deps **out)
{
	int rc;

	if (c->hold[HOLD_DEPS].p) {
		*out = c->hold[HOLD_DEPS].p;
		return 0;
	}
	if ((rc = marathon_deps(M, c->may_block, c->deadline, out, c->msg)) != 0)
		return rc;
	c->hold[HOLD_DEPS].p = *out;
	c->hold[HOLD_DEPS].put = put_deps;
	return 0;
}

static void
wr_init(struct nctx *c, struct mara_write *w)
{
	memset(w, 0, sizeof(*w));
	w->deadline = c->deadline;
	w->force = FS->opt.force;
	w->cancel = &c->op->interrupted;
	w->msg = c->msg;
	w->audit = &c->op->audit;
}

/* The Marathon id of the group a directory lists ("/" for apps/). */
static const char *
group_id(struct nctx *c)
{
	const char *g;

	if (c->t->id == N_APPS)
		return "/";
	g = ctx_arg(c, N_GROUP);
	return g ? g : "/";
}

static void
join_id(char *out, size_t n, const char *gid, const char *name)
{
	snprintf(out, n, "%s/%s", strcmp(gid, "/") == 0 ? "" : gid, name);
}

/*
 * The id a pending directory stands for: the nearest real group's id, then
 * every pending directory below it ("mkdir -p apps/new/web").
 */
static void
pending_id(const struct nctx *c, char *out, size_t n)
{
	size_t len;
	int i;

	out[0] = '\0';
	for (i = 0; i < c->nargs; i++) {
		if (c->args[i].row == N_GROUP) {
			snprintf(out, n, "%s", c->args[i].arg);
		} else if (c->args[i].row == N_PENDING) {
			len = strlen(out);
			if (len == 1 && out[0] == '/')
				len = 0;
			snprintf(out + len, n - len, "/%s", c->args[i].arg);
		}
	}
	if (out[0] == '\0')
		snprintf(out, n, "/");
}

/* ---- apps/ and groups --------------------------------------------------- */

struct glist {
	struct dirfill	*f;
	const char	*gid;
};

static int
group_member(void *arg, const char *name, int member)
{
	struct glist *g = arg;
	char id[4096];

	join_id(id, sizeof(id), g->gid, name);
	return dirfill_add(g->f, name, member == MARA_M_GROUP ? N_GROUP : N_APP, id);
}

int
apps_list(struct nctx *c, struct dirfill *f)
{
	struct mara_snap *s;
	struct glist g = { f, group_id(c) };
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	return mara_list_group(s, g.gid, group_member, &g);
}

int
apps_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct mara_snap *s;
	char id[4096];
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	join_id(id, sizeof(id), group_id(c), name);
	switch (mara_kind(s, id)) {
	case MARA_GROUP:
		*row = N_GROUP;
		break;
	case MARA_APP:
		*row = N_APP;
		break;
	default:
		return -ENOENT;
	}
	*arg = strdup(id);
	return *arg ? 0 : -ENOMEM;
}

int
apps_mkdir(struct nctx *c, const char *name, enum node_id *row)
{
	*row = N_PENDING;	/* created when its app.json is written */
	return marathon_check_segment(name, c->msg);
}

/* ---- an app ------------------------------------------------------------- */

static const char *
app_id(struct nctx *c)
{
	const char *id = ctx_arg(c, N_APP);

	return id ? id : "/";
}

/* The snapshot for a file of an app; the file's mtime is the app's
 * version. */
static int
app_snap(struct nctx *c, struct mara_snap **s)
{
	int rc;

	if ((rc = apps_snap(c, s)) != 0)
		return rc;
	c->mtime_ms = mara_app_mtime(*s, app_id(c));
	return 0;
}

/* A file of an app rendered from the snapshot. */
static int
app_render(struct nctx *c, struct buf *out,
    int (*render)(const struct mara_snap *, const char *, struct buf *))
{
	struct mara_snap *s;
	int rc;

	if ((rc = app_snap(c, &s)) != 0)
		return rc;
	return render(s, app_id(c), out);
}

/* A value or command written to id (an app or a deployment): always on
 * the Marathon pool, since it talks to Marathon. */
static int
send_value(struct nctx *c, const char *id, const char *p, size_t n,
    int (*send)(struct marathon *, const char *, const char *, size_t,
    struct mara_write *))
{
	struct mara_write w;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	wr_init(c, &w);
	return send(M, id, p, n, &w);
}

int
app_json_read(struct nctx *c, struct buf *out)
{
	return app_render(c, out, mara_app_json);
}

int
app_json_size(struct nctx *c, off_t *size)
{
	struct mara_snap *s;
	int rc;

	if ((rc = app_snap(c, &s)) != 0)
		return rc;
	return mara_app_json_size(s, app_id(c), size);
}

static int
apply_existing(struct marathon *m, const char *id, const char *p, size_t n,
    struct mara_write *w)
{
	return marathon_apply_app(m, id, p, n, 0, w);
}

int
app_json_write(struct nctx *c, const char *p, size_t n)
{
	return send_value(c, app_id(c), p, n, apply_existing);
}

int
app_instances_read(struct nctx *c, struct buf *out)
{
	return app_render(c, out, mara_app_instances);
}

int
app_instances_write(struct nctx *c, const char *p, size_t n)
{
	return send_value(c, app_id(c), p, n, marathon_scale);
}

int
app_status_read(struct nctx *c, struct buf *out)
{
	return app_render(c, out, mara_app_status);
}

int
app_ctl_read(struct nctx *c, struct buf *out)
{
	(void)c;
	return buf_addstr(out,
	    "restart              rolling restart (POST .../restart)\n"
	    "kill TASK            kill one instance; Marathon replaces it\n"
	    "kill TASK scale      kill it and lower instances by one\n"
	    "kill TASK wipe       kill it and forget its reservation\n"
	    "delete               delete the app (DELETE /v2/apps/ID)\n"
	    "unset env NAME       remove an environment variable\n"
	    "unset label KEY      remove a label\n"
	    "force                send again, with ?force=true, the last change\n"
	    "                     refused because a deployment held the app\n");
}

int
app_ctl_write(struct nctx *c, const char *p, size_t n)
{
	return send_value(c, app_id(c), p, n, marathon_app_ctl);
}

/* ---- tasks ---------------------------------------------------------------- */

static int
add_task(void *arg, const char *name, int member)
{
	(void)member;
	return dirfill_add(arg, name, N_TASK, NULL);
}

int
tasks_list(struct nctx *c, struct dirfill *f)
{
	struct mara_snap *s;
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	return mara_list_tasks(s, app_id(c), add_task, f);
}

int
tasks_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct mara_snap *s;
	int rc;

	(void)arg;
	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	if ((rc = mara_task_kind(s, app_id(c), name)) < 0)
		return rc;
	*row = N_TASK;
	return 0;
}

/* A file of a task; mtime is when the task started. */
static int
task_render(struct nctx *c, struct buf *out, int (*render)(const struct
    mara_snap *, const char *, const char *, struct buf *))
{
	const char *task = ctx_arg(c, N_TASK);
	struct mara_snap *s;
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	c->mtime_ms = mara_task_mtime(s, app_id(c), task);
	return render(s, app_id(c), task, out);
}

int
task_status_read(struct nctx *c, struct buf *out)
{
	return task_render(c, out, mara_task_status);
}

int
task_json_read(struct nctx *c, struct buf *out)
{
	return task_render(c, out, mara_task_json);
}

/* ---- versions -------------------------------------------------------------- */

static int
add_version(void *arg, const char *name, int member)
{
	(void)member;
	return dirfill_add(arg, name, N_VERSION, NULL);
}

/*
 * A walk through apps/ lists one app's versions/ after the other, each a
 * list and a document per version that it waits for.  Two apps' versions/
 * listed within VWALK_MS make a walk: the next VAHEAD_MIN apps in id
 * order (the walk's) are named to the Marathon read-ahead, and when the
 * walk is halfway through them, twice as many from the last one named, up
 * to VAHEAD_MAX, as the kernel grows a file's read-ahead: the fetching
 * gets ahead of a long walk early, while the walk waits for nothing, and
 * a short one (two apps looked at in a row) costs a few apps' fetches.  A
 * walk that goes back to an earlier app is a new one and starts over.  (A
 * walk that also reads sandboxes names its apps from tree_mesos.c.)
 */
#define VWALK_MS	1000
#define VAHEAD_MIN	8
#define VAHEAD_MAX	256	/* the read-ahead queue holds 1.5 times it */

static struct {
	pthread_mutex_t	 lock;
	char		 last[512];	/* the app whose versions/ was listed last */
	int64_t		 at_ms;
	char		 refill[512];	/* reaching it names the next ones, */
	char		 upto[512];	/* from after this one */
	int64_t		 until_ms;	/* the walk is on until then */
	int		 window;	/* apps named at the last refill */
} vwalk = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
versions_walk_note(struct nctx *c, const char *app)
{
	int64_t now = now_ms();
	char from[512], refill[512] = "\377", upto[512] = "\377";
	const char *id;
	struct mara_snap *s;
	int start = 0, k, n;

	pthread_mutex_lock(&vwalk.lock);
	if (now < vwalk.until_ms && strcmp(app, vwalk.last) < 0) {
		/* Back to an earlier app: another walk began (a second ls -lR
		 * right after the first), which is read ahead from here. */
		vwalk.until_ms = now + VWALK_MS;
		vwalk.upto[0] = '\0';
		vwalk.window = VAHEAD_MIN;
		start = 1;
	} else if (now < vwalk.until_ms) {
		vwalk.until_ms = now + VWALK_MS;
		if ((start = strcmp(app, vwalk.refill) >= 0) &&
		    (vwalk.window *= 2) > VAHEAD_MAX)
			vwalk.window = VAHEAD_MAX;
	} else if (vwalk.last[0] && strcmp(app, vwalk.last) != 0 &&
	    now - vwalk.at_ms < VWALK_MS) {
		vwalk.until_ms = now + VWALK_MS;
		vwalk.upto[0] = '\0';
		vwalk.window = VAHEAD_MIN;
		start = 1;
	}
	n = vwalk.window;
	/* From after what was named already, if the walk is not past it. */
	snprintf(from, sizeof(from), "%s", start && strcmp(vwalk.upto, app) > 0 ?
	    vwalk.upto : app);
	if (start)
		snprintf(vwalk.refill, sizeof(vwalk.refill), "\377");
	snprintf(vwalk.last, sizeof(vwalk.last), "%s", app);
	vwalk.at_ms = now;
	pthread_mutex_unlock(&vwalk.lock);
	if (!start || apps_snap(c, &s) != 0)
		return;
	for (id = from, k = 1; k <= n &&
	    (id = mara_next_app(s, id)) != NULL; k++) {
		marathon_readahead_versions(M, id);
		if (k == n / 2)
			snprintf(refill, sizeof(refill), "%s", id);
		snprintf(upto, sizeof(upto), "%s", id);
	}
	pthread_mutex_lock(&vwalk.lock);
	snprintf(vwalk.refill, sizeof(vwalk.refill), "%s", refill);
	snprintf(vwalk.upto, sizeof(vwalk.upto), "%s", upto);
	pthread_mutex_unlock(&vwalk.lock);
}

int
versions_list(struct nctx *c, struct dirfill *f)
{
	if (FS->opt.readahead > 0)
		versions_walk_note(c, app_id(c));
	return marathon_list_versions(M, app_id(c), c->may_block, c->deadline,
	    add_version, f, c->msg);
}

struct vfind {
	const char	*name;
	int		 found;
};

static int
find_version(void *arg, const char *name, int member)
{
	struct vfind *v = arg;

	(void)member;
	if (strcmp(name, v->name) == 0)
		v->found = 1;
	return 0;
}

int
versions_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct vfind v = { name, 0 };
	int rc;

	(void)arg;
	rc = marathon_list_versions(M, app_id(c), c->may_block, c->deadline,
	    find_version, &v, c->msg);
	if (rc != 0)
		return rc;
	if (!v.found)
		return -ENOENT;
	*row = N_VERSION;
	return 0;
}

/* A version file's timestamp, from its name "<ts>.json": 0, or -ENOENT. */
static int
version_ts(struct nctx *c, char *ts, size_t tssz)
{
	size_t n = strlen(c->name);

	if (n < 6 || n - 5 >= tssz || strcmp(c->name + n - 5, ".json") != 0)
		return -ENOENT;
	memcpy(ts, c->name, n - 5);
	ts[n - 5] = '\0';
	c->mtime_ms = marathon_time_ms(ts);
	return 0;
}

int
version_read(struct nctx *c, struct buf *out)
{
	char ts[128];
	int rc;

	if ((rc = version_ts(c, ts, sizeof(ts))) != 0)
		return rc;
	return marathon_version_json(M, app_id(c), ts, c->may_block, c->deadline,
	    out, c->msg);
}

/* The version the app is at has app.json's length, kept once rendered. */
int
version_size(struct nctx *c, off_t *size)
{
	char ts[128];
	int rc;

	if ((rc = version_ts(c, ts, sizeof(ts))) != 0)
		return rc;
	return marathon_version_size(M, app_id(c), ts, size);
}

/* ---- env/ and labels/ --------------------------------------------------- */

static const char *
map_field(const struct nctx *c)
{
	switch (c->t->id) {
	case N_ENV:
	case N_ENV_VAR:
	case N_ENV_SECRET:
	case N_ENV_NEW:
		return "env";
	default:
		return "labels";
	}
}

static int
add_map_member(void *arg, const char *name, int member)
{
	enum node_id row = member == MARA_M_VAR ? N_ENV_VAR :
	    member == MARA_M_SECRET_VAR ? N_ENV_SECRET : N_LABEL;

	return dirfill_add(arg, name, row, NULL);
}

int
map_list(struct nctx *c, struct dirfill *f)
{
	struct mara_snap *s;
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	return mara_list_map(s, app_id(c), map_field(c), add_map_member, f);
}

int
map_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct mara_snap *s;
	int rc;

	(void)arg;
	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	rc = mara_map_value(s, app_id(c), map_field(c), name, NULL);
	if (rc < 0)
		return rc;
	*row = rc == MARA_M_VAR ? N_ENV_VAR : rc == MARA_M_SECRET_VAR ?
	    N_ENV_SECRET : N_LABEL;
	return 0;
}

int
map_create(struct nctx *c, const char *name, enum node_id *row)
{
	int rc;

	if ((rc = marathon_check_key(map_field(c), name, c->msg)) != 0)
		return rc;
	*row = c->t->id == N_ENV ? N_ENV_NEW : N_LABEL_NEW;
	return 0;
}

int
map_read(struct nctx *c, struct buf *out)
{
	struct mara_snap *s;
	int rc;

	if ((rc = app_snap(c, &s)) != 0)
		return rc;
	rc = mara_map_value(s, app_id(c), map_field(c), c->name, out);
	return rc < 0 ? rc : 0;
}

int
map_write(struct nctx *c, const char *p, size_t n)
{
	struct mara_write w;
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	wr_init(c, &w);
	rc = marathon_set_map(M, app_id(c), map_field(c), c->name, p, n, &w);
	if (rc == 0 && (c->t->flags & NF_LOCAL)) {
		/* The new variable exists in Marathon now: forget the pending
		 * one, and make the kernel look the name up again. */
		local_remove(c->path);
		if (c->node && c->node->parent)
			inval_entry(c->node->parent->ino, c->name);
	}
	return rc;
}

/* A label of app id set to value (NULL: removed), as a write to labels/KEY
 * would: one PUT, one deployment. */
int
app_label_write(struct nctx *c, const char *id, const char *key,
    const char *value)
{
	struct mara_write w;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	wr_init(c, &w);
	if (value == NULL)
		return marathon_unset_map(M, id, "labels", key, &w);
	return marathon_set_map(M, id, "labels", key, value, strlen(value), &w);
}

/* ---- pending apps ------------------------------------------------------- */

int
pending_app_json_read(struct nctx *c, struct buf *out)
{
	char id[4096];

	pending_id(c, id, sizeof(id));
	return buf_printf(out, "{\n  \"id\": \"%s\",\n  \"cmd\": \"\",\n"
	    "  \"instances\": 1,\n  \"cpus\": 0.1,\n  \"mem\": 128\n}\n", id);
}

int
pending_app_json_write(struct nctx *c, const char *p, size_t n)
{
	struct mara_write w;
	char id[4096];
	struct inode *d;
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	pending_id(c, id, sizeof(id));
	wr_init(c, &w);
	rc = marathon_apply_app(M, id, p, n, 1, &w);
	if (rc != 0)
		return rc;
	/* The app exists now, and so do the groups above it: each pending
	 * directory on the way up yields to the real one (scratch files in
	 * them, such as vim's swap file, stay).  The next lookup gives the
	 * same inode the real row (itab_get), so a shell inside it keeps
	 * its working directory; the kernel only needs fresh attributes. */
	for (d = c->node ? c->node->parent : NULL; d && d->parent &&
	    d->row == N_PENDING; d = d->parent) {
		pending_resolved(d, d == c->node->parent ? N_APP : N_GROUP, id);
		/* The parent's id: strip the last segment. */
		if (strrchr(id, '/') != id)
			*strrchr(id, '/') = '\0';
	}
	return 0;
}

/* ---- deployments ---------------------------------------------------------- */

static int
add_dep(void *arg, const char *name, int member)
{
	(void)member;
	return dirfill_add(arg, name, N_DEPLOYMENT, NULL);
}

int
deps_list(struct nctx *c, struct dirfill *f)
{
	struct mara_deps *d;
	int rc;

	if ((rc = deps_snap(c, &d)) != 0)
		return rc;
	return mara_list_deps(d, add_dep, f);
}

int
deps_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct mara_deps *d;
	int rc;

	(void)arg;
	if ((rc = deps_snap(c, &d)) != 0)
		return rc;
	if (!mara_dep_exists(d, name))
		return -ENOENT;
	*row = N_DEPLOYMENT;
	return 0;
}

static int
dep_render(struct nctx *c, struct buf *out,
    int (*render)(const struct mara_deps *, const char *, struct buf *))
{
	struct mara_deps *d;
	int rc;

	if ((rc = deps_snap(c, &d)) != 0)
		return rc;
	return render(d, ctx_arg(c, N_DEPLOYMENT), out);
}

int
dep_json_read(struct nctx *c, struct buf *out)
{
	return dep_render(c, out, mara_dep_json);
}

int
dep_status_read(struct nctx *c, struct buf *out)
{
	return dep_render(c, out, mara_dep_status);
}

/*
 * Block until the deployment is gone.  Runs on the wait pool; polls the
 * deployment list, which the event stream refreshes at once on
 * deployment_success/failed, and which is also re-read every second here
 * in case events are off or lost.
 */
int
dep_wait_read(struct nctx *c, struct buf *out)
{
	const char *id = ctx_arg(c, N_DEPLOYMENT);
	struct timespec d = { 0, 100 * 1000000L };
	struct mara_deps *deps;
	int64_t next_poll = 0;
	int rc, exists;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	for (;;) {
		if (c->op->interrupted || FS->stopping)
			return -EINTR;
		rc = marathon_deps(M, 1, now_ms() + backend_timeout_ms(BK_MARATHON),
		    &deps, c->msg);
		if (rc != 0)
			return rc;
		exists = mara_dep_exists(deps, id);
		marathon_deps_put(M, deps);
		if (!exists) {
			marathon_dep_outcome(M, id, out);
			return out->err;
		}
		if (now_ms() >= next_poll) {
			marathon_poll_deps(M);
			next_poll = now_ms() + 1000;
		}
		nanosleep(&d, NULL);
	}
}

int
dep_ctl_read(struct nctx *c, struct buf *out)
{
	(void)c;
	return buf_addstr(out,
	    "rollback             revert the change (a new deployment)\n"
	    "cancel               the same as rollback\n"
	    "stop                 stop where it is, without reverting\n");
}

int
dep_ctl_write(struct nctx *c, const char *p, size_t n)
{
	return send_value(c, ctx_arg(c, N_DEPLOYMENT), p, n, marathon_dep_ctl);
}

/* ---- change reports → kernel invalidations ------------------------------ */

struct victim {
	uint64_t	 ino;
	uint64_t	 parent;
	char		*name;
};

struct sweep {
	const struct inode *top;	/* the subtree being swept */
	int		 whole;		/* take all of it */
	struct victim	*v;
	size_t		 n, alloc;
};

static void
collect(struct sweep *s, struct inode *in)
{
	struct victim *nv;

	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 64;
		if ((nv = realloc(s->v, s->alloc * sizeof(*nv))) == NULL)
			return;
		s->v = nv;
	}
	s->v[s->n].ino = in->ino;
	s->v[s->n].parent = in->parent && inode_hashed(in) ? in->parent->ino : 0;
	s->v[s->n].name = in->parent && inode_hashed(in) ? strdup(inode_name(in)) : NULL;
	s->n++;
}

/*
 * Called under the inode table lock for top's subtree: look, do not call
 * back into it.  A changed app or group owns what lies under it up to the
 * next app or group, which answers for itself.
 */
static void
sweep_one(struct inode *in, void *arg)
{
	struct sweep *s = arg;
	const struct inode *p;

	if (in->ino == 0 || in->parent == NULL)
		return;
	if (node_row(in->row)->backend != BK_MARATHON &&
	    node_row(in->row)->kind != NK_SCRATCH && in->row != N_ERROR)
		return;
	if (s->whole) {
		collect(s, in);
		return;
	}
	for (p = in; p && p != s->top; p = p->parent)
		if (p->row == N_APP || p->row == N_GROUP)
			return;
	collect(s, in);
}

/* Sweep the subtree at path (mount-relative), if the kernel knows it. */
static void
sweep_path(struct sweep *s, const char *path, int whole)
{
	struct inode *top;

	if ((top = itab_lookup_path(path)) == NULL)
		return;
	s->top = top;
	s->whole = whole;
	itab_walk_under(top, sweep_one, s);
	itab_put(top);
}

/*
 * Marathon reported what changed: drop exactly those names, listings and
 * pages from the kernel.  Only the subtrees of the changed ids are looked
 * at, so a change costs what the kernel holds of those apps, not of the
 * whole mount (a million inodes after ls -lR at 10,000 apps).
 */
static void
on_change(void *arg, const struct mara_change *ch)
{
	struct sweep s;
	char path[1024];
	size_t i;

	(void)arg;
	memset(&s, 0, sizeof(s));
	if (ch->all || ch->deployments)
		sweep_path(&s, "deployments", 1);
	if (ch->all)
		sweep_path(&s, "apps", 1);
	else
		for (i = 0; i < ch->nids; i++) {
			if (strcmp(ch->ids[i], "/") == 0)
				sweep_path(&s, "apps", 0);
			else if (ch->ids[i][0] == '/' &&
			    (size_t)snprintf(path, sizeof(path), "apps%s",
			    ch->ids[i]) < sizeof(path))
				sweep_path(&s, path, 0);
		}
	for (i = 0; i < s.n; i++) {
		inval_inode(s.v[i].ino);
		if (s.v[i].name)
			inval_entry(s.v[i].parent, s.v[i].name);
		free(s.v[i].name);
	}
	free(s.v);
	/* The pipeline's listings are made from apps' labels. */
	if (ch->all || ch->nids)
		tree_pipeline_apps_changed();
}

int
tree_marathon_start(void)
{
	struct marathon_opts mo;
	struct buf msg = BUF_INIT(4096);
	int rc;

	if (FS->opt.marathon == NULL)
		return 0;
	memset(&mo, 0, sizeof(mo));
	mo.urls = FS->opt.marathon;
	mo.userpwd = FS->opt.marathon_userpwd;
	mo.insecure = FS->opt.insecure;
	mo.timeout_ms = backend_timeout_ms(BK_MARATHON);
	mo.ttl_ms = (int)(FS->opt.ttl * 1000);
	mo.readahead = FS->opt.readahead;
	mo.events = !FS->opt.no_events;
	/* A /v2/apps reply over this is refused (EIO, "reply larger than"),
	 * never read whole.  10000 apps with 10 tasks each are about 62 MB
	 * (the emulator's synthetic apps; 1000 real apps without tasks are
	 * 1 MB), so 128 MiB keeps twice that; a huge or hostile reply costs
	 * at most this much, given back when it is refused (t8300). */
	mo.max_body = 128u << 20;
	FS->marathon = marathon_new(&mo, &msg);
	if (FS->marathon == NULL) {
		log_msg("%s", msg.len ? msg.data : "marathon: cannot start");
		buf_free(&msg);
		return -EINVAL;
	}
	buf_free(&msg);
	rc = marathon_start(FS->marathon, on_change, NULL);
	return rc;
}

void
tree_marathon_stop(void)
{
	marathon_free(FS->marathon);
	FS->marathon = NULL;
}
