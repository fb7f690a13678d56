/*
 * tree_mesos.c: instance logs and sandboxes, the handlers of the Mesos rows
 * of the node table, on top of backends/mesos.h and backends/marathon.h.
 *
 *   apps/<app>/tasks/<task>/stdout, stderr    one task's log (a stream)
 *   apps/<app>/tasks/<task>/sandbox/...       the task's sandbox, browsable
 *   apps/<app>/completed/<task>/...           tasks Mesos remembers as ended
 *   apps/<app>/stdout, stderr                 every instance merged
 *
 * The Marathon task gives the agent id; Marathon's /v2/info gives the Mesos
 * framework id and, without --mesos, the Mesos leader.  The backend keeps
 * each agent's sandboxes and each directory's listing (for the TTL): a
 * stat of a log nobody has open, a lookup and a listing are answered from
 * that.  A log some process has open has its size asked of the agent at
 * every stat (tail -f), and contents are always read from the agent.
 *
 * The merged log of an app exists while some process has it open, shared
 * by every open of it (fstat reaches FUSE without a file handle, so the
 * size must be findable from the node alone).  It is pulled, not pushed:
 * each stat or read at the end catches up from every current instance (at
 * most every MERGE_EVERY_MS), so nothing polls unless someone reads.  An
 * instance that appears during a follow is read from its start; one that
 * disappears is drained to its end, then dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "tree.h"
#include "../backends/logmerge.h"
#include "../backends/marathon.h"
#include "../backends/mesos.h"

#define MERGE_KEEP		(16u << 20)	/* merged bytes kept per open */
#define MERGE_EVERY_MS		250
#define MERGE_TAIL		8192		/* history shown at open, per task */
#define MERGE_CHUNK		(256u << 10)	/* per task per catch-up */
#define MERGE_AGENT_MS		1000		/* one slow agent delays no more */

/* ---- whose files ------------------------------------------------------- */

static const char *
task_of(const struct nctx *c)
{
	const char *t = ctx_arg(c, N_TASK);

	return t ? t : ctx_arg(c, N_CTASK);
}

/* The file within the sandbox: "stdout", "stderr" or a browsed path. */
static void
rel_of(const struct nctx *c, char *out, size_t n)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	switch (c->t->id) {
	case N_TASK_STDOUT:
	case N_CTASK_STDOUT:
		snprintf(out, n, "stdout");
		return;
	case N_TASK_STDERR:
	case N_CTASK_STDERR:
		snprintf(out, n, "stderr");
		return;
	default:
		break;
	}
	for (i = 0; i < c->nargs; i++) {
		if (c->args[i].row != N_SANDBOX_DIR && c->args[i].row != N_SANDBOX_FILE)
			continue;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s",
		    len ? "/" : "", c->args[i].arg);
	}
	if (len >= n)
		out[n - 1] = '\0';
}

/* Marathon's framework id; sets the Mesos master if --mesos was not given. */
static int
framework(struct nctx *c, char *fw, size_t n)
{
	char url[512];
	int rc;

	rc = marathon_framework(FS->marathon, c->may_block, c->deadline, fw, n,
	    url, sizeof(url), c->msg);
	if (rc != 0)
		return rc;
	if (!mesos_has_master(FS->mesos) && url[0])
		mesos_set_master(FS->mesos, url);
	return 0;
}

struct find {
	const char	*id;
	char		 agent[128];
	char		 state[32];
	int64_t		 time_ms;
	int		 found;
};

static int
find_finished(void *arg, const struct mesos_task *t)
{
	struct find *f = arg;

	if (strcmp(t->id, f->id) != 0)
		return 0;
	snprintf(f->agent, sizeof(f->agent), "%s", t->agent_id ? t->agent_id : "");
	snprintf(f->state, sizeof(f->state), "%s", t->state);
	f->time_ms = t->time_ms;
	f->found = 1;
	return 1;
}

/* Marathon's task ids for app /a/b start "a_b." and continue with
 * "instance-", a UUID (legacy), or digits (pre-0.8); anything else after
 * the prefix belongs to another app such as /a/b.c. */
static int
task_of_app(const char *task, const char *safe)
{
	size_t n = strlen(safe);
	const char *rest;

	if (strncmp(task, safe, n) != 0 || task[n] != '.')
		return 0;
	rest = task + n + 1;
	if (strncmp(rest, "instance-", 9) == 0 || strncmp(rest, "marathon-", 9) == 0)
		return 1;
	/* A UUID: 8-4-4-4-12 hex digits. */
	return strlen(rest) >= 36 && rest[8] == '-' && rest[13] == '-' &&
	    rest[18] == '-' && rest[23] == '-' && strspn(rest, "0123456789abcdef-") >= 36;
}

/* "/prod/web" -> "prod_web", as Marathon names its tasks. */
static void
safe_id(const char *id, char *out, size_t n)
{
	size_t i;

	snprintf(out, n, "%s", id[0] == '/' ? id + 1 : id);
	for (i = 0; out[i]; i++)
		if (out[i] == '/')
			out[i] = '_';
}

struct finished_ctx {
	struct find	*find;
	const char	*safe;
	struct dirfill	*fill;
};

static int
each_finished(void *arg, const struct mesos_task *t)
{
	struct finished_ctx *f = arg;

	if (!task_of_app(t->id, f->safe))
		return 0;
	if (f->find)
		return find_finished(f->find, t);
	return dirfill_add(f->fill, t->id, N_CTASK, NULL);
}

static int
finished(struct nctx *c, struct find *find, struct dirfill *fill)
{
	struct finished_ctx f = { find, NULL, fill };
	char fw[128], safe[1024];
	int rc;

	if ((rc = framework(c, fw, sizeof(fw))) != 0)
		return rc;
	safe_id(ctx_arg(c, N_APP), safe, sizeof(safe));
	f.safe = safe;
	return mesos_finished(FS->mesos, fw, safe, c->may_block, c->deadline,
	    each_finished, &f, c->msg);
}

/* Where the task's files live. */
static int
sandbox(struct nctx *c, const char *task, const char *agent,
    struct mesos_sandbox *sb)
{
	char fw[128];
	int rc;

	if ((rc = framework(c, fw, sizeof(fw))) != 0)
		return rc;
	return mesos_sandbox(FS->mesos, fw, agent, task, c->may_block, c->deadline,
	    sb, c->msg);
}

/* Where this node's task's files live: a current task (agent from
 * Marathon) or a finished one (agent from the Mesos master). */
static int
task_sandbox(struct nctx *c, struct mesos_sandbox *sb)
{
	const char *task = task_of(c), *agent;
	struct find f = { 0 };
	struct mara_snap *s;
	int rc;

	if (task == NULL)
		return -ENOENT;
	if (ctx_arg(c, N_TASK)) {
		if ((rc = apps_snap(c, &s)) != 0)
			return rc;
		agent = mara_task_agent(s, ctx_arg(c, N_APP), task);
	} else {
		f.id = task;
		if ((rc = finished(c, &f, NULL)) < 0)
			return rc;
		if (!f.found)
			return -ENOENT;
		agent = f.agent;
	}
	return sandbox(c, task, agent, sb);
}

/* ---- read-ahead of a walk ------------------------------------------------
 *
 * A walk through apps/ (ls -lR, find, grep -r, du) reads the tasks of an
 * app one after the other, and each needs a browse or two of its sandbox
 * that it waits for.  Two tasks of one app read within WALK_MS make a
 * walk: the app's tasks from that one on, in name order (the walk's), up
 * to AHEAD_TASKS, go to the Mesos read-ahead with their subdirectories to
 * AHEAD_DEPTH, so their browses overlap the walk.  While the walk goes on,
 * the first task it reads in another app starts that app's read-ahead at
 * once, and reaching the last task read ahead starts the next ones.  The
 * next app in id order (the order a walk takes) is read ahead with the
 * current one once the walk went from one app to another, so that it
 * finds the next app's first task kept too.  An app's
 * versions/, which a walk reaches after tasks/, are read ahead by the
 * Marathon backend with its tasks.  A single look at one task, or at one
 * file again and again, starts nothing.
 */
#define WALK_MS		1000
#define AHEAD_TASKS	64
#define AHEAD_DEPTH	2
#define AHEAD_END	"\377"		/* after every task name */

static struct {
	pthread_mutex_t	 lock;
	char		 app[512], task[256];	/* the last task read */
	int64_t		 at_ms;
	char		 app_ahead[512];	/* the app read ahead in, */
	char		 upto[256];		/* up to this task */
	char		 next[512];		/* the next app, read ahead too, */
	char		 next_upto[256];	/* up to this task */
	int64_t		 until_ms;		/* the walk is on until then */
} walk = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct names {
	const char	**v;
	size_t		 n, cap;
};

static int
add_name(void *arg, const char *name, int member)
{
	struct names *ns = arg;
	const char **v;

	(void)member;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 64;
		if ((v = realloc(ns->v, ns->cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		ns->v = v;
	}
	ns->v[ns->n++] = name;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Read ahead the app's tasks from task on; *upto gets the last one, or
 * AHEAD_END when that was the app's last. */
static void
ahead_tasks(struct nctx *c, const char *app, const char *task, char *upto,
    size_t n)
{
	struct buf msg = BUF_INIT(256);
	struct names ns = { 0 };
	struct mesos_sandbox sb;
	struct mara_snap *s;
	const char *agent;
	char fw[128], path[1024];
	size_t i, from, k;

	snprintf(upto, n, "%s", AHEAD_END);
	if (apps_snap(c, &s) != 0 ||
	    marathon_framework(FS->marathon, 0, c->deadline, fw, sizeof(fw),
	    NULL, 0, &msg) != 0 ||
	    mara_list_tasks(s, app, add_name, &ns) != 0)
		goto out;
	qsort(ns.v, ns.n, sizeof(*ns.v), name_cmp);
	for (from = 0; from < ns.n && strcmp(ns.v[from], task) < 0; from++)
		;
	/* The whole app when it is small: the walk may sort otherwise. */
	if (ns.n <= AHEAD_TASKS)
		from = 0;
	for (k = 0, i = from; k < AHEAD_TASKS && i < ns.n; k++, i++) {
		/* A listing the kernel keeps, the walk will not ask for. */
		if (snprintf(path, sizeof(path), "apps%s/tasks/%s/sandbox", app,
		    ns.v[i]) >= (int)sizeof(path) || kernel_has_listing(path))
			continue;
		agent = mara_task_agent(s, app, ns.v[i]);
		buf_reset(&msg);
		if (agent && mesos_sandbox(FS->mesos, fw, agent, ns.v[i], 0,
		    c->deadline, &sb, &msg) == 0)
			mesos_readahead(FS->mesos, &sb, "", AHEAD_DEPTH);
	}
	if (i < ns.n)
		snprintf(upto, n, "%s", ns.v[i - 1]);
out:
	free(ns.v);
	buf_free(&msg);
}

/* A current task's sandbox is being read: is it a walk's? */
static void
walk_note(struct nctx *c)
{
	const char *app = ctx_arg(c, N_APP), *task = ctx_arg(c, N_TASK), *nx;
	int64_t now = now_ms();
	char upto[256], next[512];
	struct mara_snap *s;
	int start = 0, on_next = 0, versions = 0;

	if (app == NULL || task == NULL || FS->opt.readahead <= 0)
		return;
	pthread_mutex_lock(&walk.lock);
	if (now < walk.until_ms && strcmp(app, walk.app_ahead) == 0) {
		start = strcmp(task, walk.upto) >= 0;	/* past the window */
	} else if (now < walk.until_ms && strcmp(app, walk.next) == 0) {
		/* The app read ahead as the next: the one after it is next. */
		snprintf(walk.app_ahead, sizeof(walk.app_ahead), "%s", app);
		snprintf(walk.upto, sizeof(walk.upto), "%s", walk.next_upto);
		on_next = 1;
	} else if (now < walk.until_ms) {
		start = on_next = 1;	/* the walk went on to another app */
	} else if (strcmp(app, walk.app) == 0 && strcmp(task, walk.task) != 0 &&
	    now - walk.at_ms < WALK_MS) {
		start = 1;		/* two tasks of one app */
	}
	if (start && strcmp(app, walk.app_ahead) != 0) {
		snprintf(walk.app_ahead, sizeof(walk.app_ahead), "%s", app);
		snprintf(walk.upto, sizeof(walk.upto), "%s", AHEAD_END);
		versions = 1;
	}
	if (start || on_next || now < walk.until_ms)
		walk.until_ms = now + WALK_MS;
	if (on_next)
		walk.next[0] = '\0';
	snprintf(walk.app, sizeof(walk.app), "%s", app);
	snprintf(walk.task, sizeof(walk.task), "%s", task);
	walk.at_ms = now;
	pthread_mutex_unlock(&walk.lock);
	if (versions)
		marathon_readahead_versions(FS->marathon, app);
	if (start) {
		ahead_tasks(c, app, task, upto, sizeof(upto));
		pthread_mutex_lock(&walk.lock);
		if (strcmp(app, walk.app_ahead) == 0)
			snprintf(walk.upto, sizeof(walk.upto), "%s", upto);
		pthread_mutex_unlock(&walk.lock);
	}
	/* A walk that went from one app to another reaches the next app by
	 * id next: read it ahead now, so that its first task does not wait
	 * either.  (A walk of one app never reads the next.) */
	if (!on_next || apps_snap(c, &s) != 0 ||
	    (nx = mara_next_app(s, app)) == NULL ||
	    snprintf(next, sizeof(next), "%s", nx) >= (int)sizeof(next))
		return;
	marathon_readahead_versions(FS->marathon, next);
	ahead_tasks(c, next, "", upto, sizeof(upto));
	pthread_mutex_lock(&walk.lock);
	snprintf(walk.next, sizeof(walk.next), "%s", next);
	snprintf(walk.next_upto, sizeof(walk.next_upto), "%s", upto);
	pthread_mutex_unlock(&walk.lock);
}

/*
 * A file request failed: a vanished sandbox drops what was kept of it,
 * here and in the kernel, which keeps every listing it read until told
 * (the task directory's and every sandbox directory's under it).
 */
static int
file_error(struct nctx *c, const struct mesos_sandbox *sb, int rc)
{
	const char *task = task_of(c), *p;
	char dir[sizeof(c->path)];
	size_t tl;

	if (rc != -ENOENT)
		return rc;
	mesos_forget(FS->mesos, sb);
	if (task == NULL)
		return rc;
	/* The task directory: the path up to the component named task. */
	tl = strlen(task);
	for (p = c->path; (p = strstr(p, task)) != NULL; p += tl)
		if ((p == c->path || p[-1] == '/') && (p[tl] == '/' || p[tl] == '\0'))
			break;
	if (p == NULL)
		return rc;
	snprintf(dir, sizeof(dir), "%.*s", (int)(p - c->path + tl), c->path);
	inval_dirs_under(dir, NULL, 0);
	return rc;
}

/* ---- one file of a sandbox (stdout, stderr, anything browsed) ----------- */

/*
 * A file open by someone, shared by every open of it and found by key
 * ("TASK\nREL"): fstat reaches FUSE without a file handle (tail -f polls
 * it each second), so a stat by path must tell an open file, whose size
 * is asked of the agent every time, from one nobody reads, whose size may
 * come from the kept listing of its directory.
 */
struct openlog {
	struct shared	 sh;
	pthread_mutex_t	 lock;		/* guards everything below */
	struct mesos_sandbox sb;
	int		 resolved;	/* sb is set */
	off_t		 size;		/* what the last probe saw */
	int64_t		 mtime_ms;	/* when it changed, as far as known */
};

static int
openlog_init(struct shared *s)
{
	struct openlog *ol = (struct openlog *)s;

	pthread_mutex_init(&ol->lock, NULL);
	ol->size = -1;
	return 0;
}

static void
openlog_fini(struct shared *s)
{
	pthread_mutex_destroy(&((struct openlog *)s)->lock);
}

static struct registry openlogs = REGISTRY_INIT(struct openlog, openlog_init,
    openlog_fini);

static struct openlog *
openlog_get(const struct nctx *c, const char *rel, int create)
{
	char key[1400];
	const char *task = task_of(c);

	if (task == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s\n%s", task, rel);
	return (struct openlog *)shared_get(&openlogs, key, create);
}

struct logfile {
	struct mesos_sandbox sb;
	char		 rel[1024];
	struct openlog	*ol;
};

int
log_open(struct nctx *c, void **state)
{
	struct logfile *lf;
	int rc;

	if ((lf = calloc(1, sizeof(*lf))) == NULL)
		return -ENOMEM;
	if ((rc = task_sandbox(c, &lf->sb)) != 0) {
		free(lf);
		return rc;
	}
	rel_of(c, lf->rel, sizeof(lf->rel));
	if ((lf->ol = openlog_get(c, lf->rel, 1)) == NULL) {
		free(lf);
		return -ENOMEM;
	}
	pthread_mutex_lock(&lf->ol->lock);
	lf->ol->sb = lf->sb;
	lf->ol->resolved = 1;
	pthread_mutex_unlock(&lf->ol->lock);
	*state = lf;
	return 0;
}

/* The size of an open file: a probe every time.  The mtime stays what it
 * was while the size does. */
static int
open_size(struct nctx *c, struct openlog *ol, const char *rel, off_t *size)
{
	struct mesos_sandbox sb;
	int64_t mtime = 0;
	int rc, resolved;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	pthread_mutex_lock(&ol->lock);
	sb = ol->sb;
	resolved = ol->resolved;
	pthread_mutex_unlock(&ol->lock);
	if (!resolved && (rc = task_sandbox(c, &sb)) != 0)
		return rc;
	rc = mesos_probe(FS->mesos, &sb, rel, c->deadline, &c->op->interrupted,
	    size, &mtime, c->msg);
	if (rc != 0)
		return file_error(c, &sb, rc);
	pthread_mutex_lock(&ol->lock);
	if (mtime == 0)
		mtime = ol->size == *size && ol->mtime_ms ? ol->mtime_ms :
		    wall_ms() / 1000 * 1000;
	ol->size = *size;
	ol->mtime_ms = mtime;
	pthread_mutex_unlock(&ol->lock);
	c->mtime_ms = mtime;
	return 0;
}

int
log_size(struct nctx *c, void *state, off_t *size)
{
	struct logfile *lf = state;
	struct mesos_sandbox sb;
	struct mesos_entry e;
	struct openlog *ol;
	char rel[1024];
	int rc;

	if (lf)
		return open_size(c, lf->ol, lf->rel, size);
	rel_of(c, rel, sizeof(rel));
	if ((ol = openlog_get(c, rel, 0)) != NULL) {
		rc = open_size(c, ol, rel, size);
		shared_put(&openlogs, &ol->sh);
		return rc;
	}
	/* Nobody has it open: the listing of its directory, kept for the
	 * TTL, has its size and mtime (one browse for every file of it). */
	if ((rc = task_sandbox(c, &sb)) != 0)
		return rc;
	walk_note(c);
	rc = mesos_stat(FS->mesos, &sb, rel, c->may_block, c->deadline,
	    &c->op->interrupted, &e, c->msg);
	if (rc != 0)
		return rc;
	*size = e.size;
	c->mtime_ms = e.mtime_ms;
	return 0;
}

ssize_t
log_read(struct nctx *c, void *state, char *buf, size_t len, off_t off)
{
	struct logfile *lf = state;
	ssize_t n;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	n = mesos_read(FS->mesos, &lf->sb, lf->rel, buf, len, off, c->deadline,
	    &c->op->interrupted, c->msg);
	return n < 0 ? file_error(c, &lf->sb, (int)n) : n;
}

void
log_close(void *state)
{
	struct logfile *lf = state;

	if (lf == NULL)
		return;
	shared_put(&openlogs, &lf->ol->sh);
	free(lf);
}

/* ---- sandbox directories ------------------------------------------------ */

/* The listing of this sandbox directory (the caller puts it). */
static int
listing(struct nctx *c, const struct mesos_dir **d)
{
	struct mesos_sandbox sb;
	char rel[1024];
	int rc;

	if ((rc = task_sandbox(c, &sb)) != 0)
		return rc;
	walk_note(c);
	rel_of(c, rel, sizeof(rel));
	return mesos_list(FS->mesos, &sb, rel, c->may_block, c->deadline,
	    &c->op->interrupted, d, c->msg);
}

int
sandbox_list(struct nctx *c, struct dirfill *f)
{
	const struct mesos_dir *d;
	const struct mesos_entry *e;
	struct stat st;
	size_t i;
	int rc;

	if ((rc = listing(c, &d)) != 0)
		return rc;
	for (i = 0; i < d->n && rc == 0; i++) {
		e = &d->e[i];
		/* The listing has the attributes: no size probe per file. */
		memset(&st, 0, sizeof(st));
		st.st_mode = (e->is_dir ? S_IFDIR : S_IFREG) | (e->mode & 0555);
		st.st_nlink = e->is_dir ? 2 : 1;
		st.st_size = e->size;
		st.st_uid = FS->uid;
		st.st_gid = FS->gid;
		st.st_blksize = 4096;
		st.st_blocks = (st.st_size + 511) / 512;
		st.st_mtim.tv_sec = e->mtime_ms / 1000;
		st.st_mtim.tv_nsec = (e->mtime_ms % 1000) * 1000000L;
		st.st_ctim = st.st_atim = st.st_mtim;
		rc = dirfill_add_attr(f, e->name, e->is_dir ? N_SANDBOX_DIR :
		    N_SANDBOX_FILE, NULL, &st);
	}
	mesos_dir_put(FS->mesos, d);
	return rc < 0 ? rc : 0;
}

int
sandbox_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	const struct mesos_dir *d;
	const struct mesos_entry *e;
	int rc;

	(void)arg;
	if ((rc = listing(c, &d)) != 0)
		return rc;
	if ((e = mesos_dir_find(d, name)) != NULL)
		*row = e->is_dir ? N_SANDBOX_DIR : N_SANDBOX_FILE;
	else
		rc = -ENOENT;
	mesos_dir_put(FS->mesos, d);
	return rc;
}

/* ---- finished tasks ------------------------------------------------------ */

int
completed_list(struct nctx *c, struct dirfill *f)
{
	int rc = finished(c, NULL, f);

	return rc < 0 ? rc : 0;
}

int
completed_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct find f = { 0 };
	int rc;

	(void)arg;
	f.id = name;
	if ((rc = finished(c, &f, NULL)) < 0)
		return rc;
	if (!f.found)
		return -ENOENT;
	*row = N_CTASK;
	return 0;
}

int
ctask_status_read(struct nctx *c, struct buf *out)
{
	struct find f = { 0 };
	char when[32];
	time_t t;
	struct tm tm;
	int rc;

	f.id = task_of(c);
	if ((rc = finished(c, &f, NULL)) < 0)
		return rc;
	if (!f.found)
		return -ENOENT;
	t = (time_t)(f.time_ms / 1000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	c->mtime_ms = f.time_ms;
	return buf_printf(out, "state: %s\nagent: %s\nended: %s\n", f.state,
	    f.agent, when);
}

/* ---- the merged log of an app ------------------------------------------- */

struct cursor {
	char		 task[256];
	char		 agent[128];
	struct mesos_sandbox sb;
	int		 resolved;
	off_t		 off;		/* -1: not started */
	int		 live;		/* still one of the app's tasks */
};

struct follow {
	struct shared	 sh;		/* key: "stream app" */
	pthread_mutex_t	 lock;		/* guards everything below */
	char		 app[1024];
	char		 stream[8];
	struct logmerge	*lm;
	struct cursor	*cur;
	size_t		 n, alloc;
	int		 started;
	int64_t		 last_ms;
	uint64_t	 size;		/* merged so far, at the last stat */
	int64_t		 grew_wall_ms;	/* when that changed: its mtime */
};

struct tasklist {
	struct follow	*f;
	const struct mara_snap *s;
};

static int
mark_task(void *arg, const char *task, int member)
{
	struct tasklist *tl = arg;
	struct follow *f = tl->f;
	const char *agent = mara_task_agent(tl->s, f->app, task);
	struct cursor *c;
	size_t i;

	(void)member;
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->cur[i].task, task) == 0) {
			f->cur[i].live = 1;
			return 0;
		}
	}
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 8;
		if ((c = realloc(f->cur, f->alloc * sizeof(*c))) == NULL)
			return -ENOMEM;
		f->cur = c;
	}
	c = &f->cur[f->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->task, sizeof(c->task), "%s", task);
	snprintf(c->agent, sizeof(c->agent), "%s", agent ? agent : "");
	/* At open: recent history of each instance.  Later: all of it. */
	c->off = f->started ? 0 : -1;
	c->live = 1;
	return 0;
}

/* Catch up from one instance; returns 0, or -errno if it could not. */
static int
catch_up(struct nctx *c, struct follow *f, struct cursor *cu, char *chunk)
{
	int64_t deadline = now_ms() + MERGE_AGENT_MS;
	off_t size;
	ssize_t n;
	int rc, skip = 0;

	if (deadline > c->deadline)
		deadline = c->deadline;
	if (!cu->resolved) {
		if ((rc = sandbox(c, cu->task, cu->agent, &cu->sb)) != 0)
			return rc;
		cu->resolved = 1;
	}
	rc = mesos_size(FS->mesos, &cu->sb, f->stream, deadline,
	    &c->op->interrupted, &size, c->msg);
	if (rc != 0)
		return rc;
	if (cu->off < 0) {
		cu->off = size > MERGE_TAIL ? size - MERGE_TAIL : 0;
		skip = cu->off > 0;
	}
	if (size < cu->off)
		cu->off = 0;		/* the log was truncated or replaced */
	while (cu->off < size) {
		n = mesos_read(FS->mesos, &cu->sb, f->stream, chunk,
		    (size_t)(size - cu->off) < MERGE_CHUNK ?
		    (size_t)(size - cu->off) : MERGE_CHUNK, cu->off, deadline,
		    &c->op->interrupted, c->msg);
		if (n <= 0)
			return (int)n;
		logmerge_feed(f->lm, cu->task, chunk, (size_t)n, skip);
		skip = 0;
		cu->off += n;
		if ((size_t)n == MERGE_CHUNK)
			break;		/* the rest at the next catch-up */
	}
	return 0;
}

/* Bring the merged log up to date (the caller holds f->lock). */
static int
update(struct nctx *c, struct follow *f)
{
	struct tasklist tl = { f, NULL };
	struct mara_snap *s;
	char *chunk;
	size_t i, ok = 0;
	int rc, last = 0;

	if (f->started && now_ms() - f->last_ms < MERGE_EVERY_MS)
		return 0;
	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	tl.s = s;
	for (i = 0; i < f->n; i++)
		f->cur[i].live = 0;
	if ((rc = mara_list_tasks(s, f->app, mark_task, &tl)) != 0)
		return rc;
	if ((chunk = malloc(MERGE_CHUNK)) == NULL)
		return -ENOMEM;
	for (i = 0; i < f->n; i++) {
		rc = catch_up(c, f, &f->cur[i], chunk);
		if (rc == 0)
			ok++;
		else
			last = rc;
		/* An instance gone from Marathon is dropped once drained (or
		 * once its sandbox is gone). */
		if (!f->cur[i].live && (rc == 0 || rc == -ENOENT)) {
			logmerge_end(f->lm, f->cur[i].task);
			f->cur[i] = f->cur[--f->n];
			i--;
		}
	}
	free(chunk);
	f->started = 1;
	f->last_ms = now_ms();
	/* One unreachable agent does not stop the others' lines; only when
	 * none could be read is it the file's error. */
	return ok == 0 && last ? last : 0;
}

static const char *
stream_of(const struct nctx *c)
{
	return c->t->id == N_APP_STDERR ? "stderr" : "stdout";
}

static int
follow_init(struct shared *s)
{
	struct follow *f = (struct follow *)s;
	const char *sp = strchr(s->key, ' ');

	if (sp == NULL || (f->lm = logmerge_new(MERGE_KEEP)) == NULL)
		return -ENOMEM;
	snprintf(f->stream, sizeof(f->stream), "%.*s", (int)(sp - s->key), s->key);
	snprintf(f->app, sizeof(f->app), "%s", sp + 1);
	pthread_mutex_init(&f->lock, NULL);
	return 0;
}

static void
follow_fini(struct shared *s)
{
	struct follow *f = (struct follow *)s;

	logmerge_free(f->lm);
	free(f->cur);
	pthread_mutex_destroy(&f->lock);
}

static struct registry follows = REGISTRY_INIT(struct follow, follow_init,
    follow_fini);

/* The merged log of this node, referenced; made if create. */
static struct follow *
follow_get(struct nctx *c, int create)
{
	char key[1100];

	snprintf(key, sizeof(key), "%s %s", stream_of(c), ctx_arg(c, N_APP));
	return (struct follow *)shared_get(&follows, key, create);
}

static void
follow_put(struct follow *f)
{
	shared_put(&follows, &f->sh);
}

int
merged_open(struct nctx *c, void **state)
{
	struct follow *f;
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((f = follow_get(c, 1)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	rc = update(c, f);
	pthread_mutex_unlock(&f->lock);
	if (rc != 0) {
		follow_put(f);
		return rc;
	}
	*state = f;
	return 0;
}

int
merged_size(struct nctx *c, void *state, off_t *size)
{
	struct follow *f = state;
	int rc;

	/* fstat comes without a file handle: find the open one, if any.
	 * When nothing has it open, nothing is merged: size 0, unchanged
	 * since the mount (a stat that said "now" would never be cached). */
	if (f == NULL && (f = follow_get(c, 0)) == NULL) {
		*size = 0;
		c->mtime_ms = FS->start_wall_ms;
		return 0;
	}
	pthread_mutex_lock(&f->lock);
	rc = update(c, f);
	*size = (off_t)logmerge_size(f->lm);
	if (f->grew_wall_ms == 0 || f->size != (uint64_t)*size) {
		f->size = (uint64_t)*size;
		f->grew_wall_ms = wall_ms();
	}
	c->mtime_ms = f->grew_wall_ms;
	pthread_mutex_unlock(&f->lock);
	if (f != state)
		follow_put(f);
	return rc;
}

ssize_t
merged_read(struct nctx *c, void *state, char *buf, size_t len, off_t off)
{
	struct follow *f = state;
	ssize_t n;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if ((uint64_t)off >= logmerge_size(f->lm))
		rc = update(c, f);
	n = rc ? rc : logmerge_read(f->lm, buf, len, (uint64_t)off);
	pthread_mutex_unlock(&f->lock);
	if (n == -ENODATA) {
		buf_printf(c->msg, "the merged log keeps the last %u MiB; this "
		    "reader fell behind", MERGE_KEEP >> 20);
		n = -EIO;
	}
	return n;
}

void
merged_close(void *state)
{
	if (state)
		follow_put(state);
}

/* ---- lifecycle ------------------------------------------------------------ */

int
tree_mesos_start(void)
{
	struct mesos_opts mo;
	struct buf msg = BUF_INIT(1024);
	int rc;

	if (FS->opt.marathon == NULL)
		return 0;	/* the framework id comes from Marathon */
	memset(&mo, 0, sizeof(mo));
	mo.master = FS->opt.mesos;
	mo.insecure = FS->opt.insecure;
	mo.timeout_ms = backend_timeout_ms(BK_MESOS);
	mo.ttl_ms = (int)(FS->opt.ttl * 1000);
	mo.readahead = FS->opt.readahead;
	if ((FS->mesos = mesos_new(&mo, &msg)) == NULL) {
		log_msg("mesos: cannot start%s%s", msg.len ? ": " : "", buf_str(&msg));
		buf_free(&msg);
		return -ENOMEM;
	}
	buf_free(&msg);
	rc = mesos_start(FS->mesos);
	return rc;
}

void
tree_mesos_shutdown(void)
{
	mesos_shutdown(FS->mesos);
}

void
tree_mesos_stop(void)
{
	mesos_free(FS->mesos);
	FS->mesos = NULL;
}
