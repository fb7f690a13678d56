/*
 * mesos.c: the Mesos master and agents: where each task's sandbox is, and
 * which tasks ended.  The files in sandboxes are mesos_files.c's.
 *
 * What is kept, and for how long:
 *  - the master's agent list (/master/slaves) and its task list for one
 *    framework (/master/tasks, for finished tasks): snapcaches refreshed
 *    after the TTL.  The agent list is one request; the task list one per
 *    10,000 tasks (the master cannot list only finished ones), kept as a
 *    sorted index of the finished tasks, not as JSON.
 *  - each agent's sandboxes: one /slave(1)/state read into an index of
 *    task and executor ids to directories (struct sbindex), then freed.
 *    At 25,000 executors an agent's state is some 40 MB of JSON that
 *    jansson turns into several times that; the index is the ids and the
 *    directories.  A task's directory never changes, so the index is read
 *    again only when a task is not in it (a task newer than the index),
 *    at most once per AGENT_MISS_MS, and never on a timer.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mesos_int.h"

#define AGENT_MISS_MS	1000	/* a task not in an agent's index: read again
				   if the index is at least this old */

/* ---- an agent's sandboxes: task or executor id -> directory ----------- */

struct sbslot {
	uint32_t	 id;		/* offsets into strs; 0: the slot is free */
	uint32_t	 fw;
	uint32_t	 dir;
};

struct sbindex {
	struct sbslot	*slots;
	size_t		 nslots;	/* a power of two, at least twice n */
	size_t		 n;
	char		*strs;		/* NUL-terminated strings; strs[0] = "" */
	size_t		 len, cap;
};

struct agent {
	char		 id[128];
	char		 url[256];
	struct http_client *http;
	struct snapcache *state;	/* struct sbindex *: its sandboxes */
	struct mesos	*m;
	struct agent	*next;
	volatile int	 no_virtual;	/* its virtual paths failed once */
};

/* Finished tasks of one framework, sorted by id; strings are offsets
 * into strs, which grows while the pages of the master's list come. */
struct ftask {
	size_t		 id, agent_id, state;
	int64_t		 time_ms;
	size_t		 order;		/* in the master's reply: newest first */
};

struct finished {
	char		*fw;
	struct ftask	*t;
	size_t		 n, cap;
	struct buf	 strs;
};

static void
json_free(void *p)
{
	json_decref(p);
}

/* GET url+path from client c into rs; an HTTP error status becomes
 * -errno with words in msg. */
static int
get_body(struct http_client *c, const char *path, int64_t deadline,
    const volatile int *cancel, struct http_resp *rs, struct buf *msg)
{
	struct http_req rq = { 0 };
	int rc;

	rq.method = "GET";
	rq.path = path;
	rq.deadline = deadline;
	rq.cancel = cancel;
	rq.idempotent = 1;
	rc = http_do(c, &rq, rs, msg);
	if (rc == 0 && rs->status != 200) {
		rc = -http_status_errno(rs->status);
		buf_reset(msg);
		buf_printf(msg, "mesos: GET %s: HTTP %ld", path, rs->status);
		if (rc == 0)
			rc = -EIO;
	}
	return rc;
}

static int
parse_json(const struct http_resp *rs, const char *path, json_t **out,
    struct buf *msg)
{
	json_error_t jerr;

	*out = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0,
	    &jerr);
	if (*out == NULL) {
		buf_reset(msg);
		buf_printf(msg, "mesos: GET %s: unreadable reply: %s", path,
		    jerr.text);
		return -EIO;
	}
	return 0;
}

/* GET url+path from client c, parse JSON. */
int
mesos_get_json(struct http_client *c, const char *path, int64_t deadline,
    const volatile int *cancel, json_t **out, struct buf *msg)
{
	struct http_resp rs;
	int rc;

	http_resp_init(&rs);
	rc = get_body(c, path, deadline, cancel, &rs, msg);
	if (rc == 0)
		rc = parse_json(&rs, path, out, msg);
	http_resp_free(&rs);
	return rc;
}

/* The master's client, held by the caller until done (retired clients are
 * kept until shutdown, so a fetch never uses a freed one). */
static struct http_client *
master_client(struct mesos *m)
{
	struct http_client *c;

	pthread_mutex_lock(&m->lock);
	c = m->master_http;
	pthread_mutex_unlock(&m->lock);
	return c;
}

static int
fetch_slaves(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct mesos *m = arg;
	struct http_client *c = master_client(m);
	json_t *root;
	int rc;

	if (c == NULL) {
		buf_addstr(msg, "mesos: no master known (give --mesos URL, or "
		    "Marathon has not reported one yet)");
		return -EIO;
	}
	rc = mesos_get_json(c, "/master/slaves", deadline, &m->stopping, &root, msg);
	if (rc == 0 && !json_is_array(json_object_get(root, "slaves"))) {
		json_decref(root);
		buf_addstr(msg, "mesos: /master/slaves: no \"slaves\" array");
		rc = -EIO;
	}
	if (rc == 0)
		*out = root;
	return rc;
}

static const struct snapcache_ops slaves_ops = {
	.name = "mesos agents", .fetch = fetch_slaves, .free = json_free,
};

/* A JSON number (times scale) as an int64; 0 when it is none or does
 * not fit (1e300 from a broken agent: converting it is undefined). */
int64_t
mesos_json_int64(json_t *v, double scale)
{
	double d;

	if (json_is_integer(v) && scale == 1)
		return (int64_t)json_integer_value(v);
	if (!json_is_number(v))
		return 0;
	d = json_number_value(v) * scale;
	return d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
}

/* ---- finished tasks ------------------------------------------------------ */

/* A finished task's id becomes a name in completed/ (name_usable(), as
 * Marathon's task ids do), or the kernel refuses the listing. */

static int
terminal(const char *state)
{
	static const char *const live[] = {
		"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING",
	};
	size_t i;

	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strcmp(state, live[i]) == 0)
			return 0;
	return 1;
}

static void
finished_free(void *p)
{
	struct finished *f = p;

	if (f == NULL)
		return;
	free(f->fw);
	free(f->t);
	buf_free(&f->strs);
	free(f);
}

static int
ftask_cmp(const void *a, const void *b, void *arg)
{
	const struct ftask *x = a, *y = b;
	const char *strs = arg;
	int c = strcmp(strs + x->id, strs + y->id);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static size_t
finished_str(struct finished *f, const char *s)
{
	size_t off = f->strs.len;

	buf_add(&f->strs, s, strlen(s) + 1);
	return off;
}

/* The finished tasks of framework fw in one page of /master/tasks, their
 * strings copied out so the JSON can go. */
static int
finished_add(struct finished *f, json_t *tasks, const char *fw)
{
	struct ftask *t;
	json_t *v, *st;
	size_t i;

	json_array_foreach(tasks, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *state = json_string_value(json_object_get(v, "state"));
		const char *tfw = json_string_value(json_object_get(v,
		    "framework_id"));
		const char *agent = json_string_value(json_object_get(v,
		    "slave_id"));

		if (!name_usable(id) || state == NULL || !terminal(state) ||
		    (tfw && strcmp(tfw, fw) != 0))
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 256;
			if ((t = realloc(f->t, f->cap * sizeof(*t))) == NULL)
				return -ENOMEM;
			f->t = t;
		}
		t = &f->t[f->n];
		t->id = finished_str(f, id);
		t->agent_id = finished_str(f, agent ? agent : "");
		t->state = finished_str(f, state);
		st = json_array_get(json_object_get(v, "statuses"),
		    json_array_size(json_object_get(v, "statuses")) - 1);
		t->time_ms = mesos_json_int64(json_object_get(st, "timestamp"),
		    1000);
		t->order = f->n;
		f->n++;
	}
	return f->strs.err;
}

/*
 * The master lists running and finished tasks together, ordered by when
 * each started, with no filter by state: at 100,000 tasks a task killed
 * long after it started is not among the newest 10,000.  So the whole
 * list is read, TASK_PAGE tasks a request (some 9 MB), each page reduced
 * to its finished tasks before the next is asked.
 */
#define TASK_PAGE	10000
#define TASK_PAGES_MAX	100

static int
fetch_tasks(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct mesos *m = arg;
	struct http_client *c = master_client(m);
	struct buf path = BUF_INIT(1024);
	char fw[sizeof(m->tasks_fw)];
	struct finished *f = NULL;
	json_t *root = NULL, *tasks;
	size_t offset = 0, got;
	int rc = 0, page;

	if (c == NULL) {
		buf_addstr(msg, "mesos: no master known");
		return -EIO;
	}
	pthread_mutex_lock(&m->lock);
	snprintf(fw, sizeof(fw), "%s", m->tasks_fw);
	pthread_mutex_unlock(&m->lock);
	if ((f = calloc(1, sizeof(*f))) == NULL || (f->fw = strdup(fw)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	buf_init(&f->strs, 256u << 20);
	for (page = 0; page < TASK_PAGES_MAX; page++) {
		buf_reset(&path);
		buf_printf(&path, "/master/tasks?limit=%d&offset=%zu&order=desc"
		    "&framework_id=", TASK_PAGE, offset);
		http_escape(&path, fw);
		rc = mesos_get_json(c, path.data, deadline, &m->stopping, &root,
		    msg);
		if (rc != 0)
			break;
		if (!json_is_array(tasks = json_object_get(root, "tasks"))) {
			buf_addstr(msg, "mesos: /master/tasks: no \"tasks\" array");
			rc = -EIO;
			break;
		}
		got = json_array_size(tasks);
		if ((rc = finished_add(f, tasks, fw)) != 0) {
			buf_addstr(msg, "mesos: /master/tasks: out of memory");
			break;
		}
		json_decref(root);
		root = NULL;
		if (got < TASK_PAGE)
			break;
		offset += got;
	}
	if (rc == 0) {
		if (f->n)	/* qsort's base may not be NULL, even for none */
			qsort_r(f->t, f->n, sizeof(*f->t), ftask_cmp,
			    f->strs.data);
		*out = f;
		f = NULL;
	}
out:
	json_decref(root);
	finished_free(f);
	buf_free(&path);
	return rc;
}

static const struct snapcache_ops tasks_ops = {
	.name = "mesos tasks", .fetch = fetch_tasks, .free = finished_free,
};

int
mesos_finished(struct mesos *m, const char *framework_id, const char *prefix,
    int may_block, int64_t deadline,
    int (*fn)(void *arg, const struct mesos_task *t), void *arg,
    struct buf *msg)
{
	const struct finished *f;
	struct snapref *r;
	size_t lo, hi, mid, n = strlen(prefix);
	int rc, changed;

	pthread_mutex_lock(&m->lock);
	changed = strcmp(m->tasks_fw, framework_id) != 0;
	if (changed)
		snprintf(m->tasks_fw, sizeof(m->tasks_fw), "%s", framework_id);
	pthread_mutex_unlock(&m->lock);
	if (changed)
		snapcache_invalidate(m->tasks, SC_HARD);
	if ((rc = snapcache_get(m->tasks, may_block, deadline, &r, msg)) != 0)
		return rc;
	f = r->data;
	/* Another framework's list (being replaced): nothing of this one. */
	if (strcmp(f->fw, framework_id) != 0)
		goto out;
	/* The first id at or after prefix: a binary search. */
	for (lo = 0, hi = f->n; lo < hi;) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(f->strs.data + f->t[mid].id, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < f->n; lo++) {
		const char *id = f->strs.data + f->t[lo].id;
		struct mesos_task mt;

		if (strncmp(id, prefix, n) != 0)
			break;
		/* One id twice (the master's pages overlap): the newest. */
		if (lo > 0 && strcmp(f->strs.data + f->t[lo - 1].id, id) == 0)
			continue;
		memset(&mt, 0, sizeof(mt));
		mt.id = id;
		mt.agent_id = f->strs.data[f->t[lo].agent_id] ?
		    f->strs.data + f->t[lo].agent_id : NULL;
		mt.state = f->strs.data + f->t[lo].state;
		mt.time_ms = f->t[lo].time_ms;
		if ((rc = fn(arg, &mt)) != 0)
			break;
	}
out:
	snapcache_put(m->tasks, r);
	return rc;
}

/* ---- agent states, indexed ---------------------------------------------- */

static void
sbindex_free(void *p)
{
	struct sbindex *x = p;

	if (x == NULL)
		return;
	free(x->slots);
	free(x->strs);
	free(x);
}

/* Copy s into the string area; its offset, or 0 when out of memory. */
static uint32_t
sbindex_str(struct sbindex *x, const char *s)
{
	size_t l = strlen(s) + 1, cap;
	char *p;
	uint32_t off;

	if (x->len + l > x->cap) {
		cap = x->cap ? x->cap : 4096;
		while (cap < x->len + l)
			cap *= 2;
		if (cap > UINT32_MAX || (p = realloc(x->strs, cap)) == NULL)
			return 0;
		x->strs = p;
		x->cap = cap;
	}
	off = (uint32_t)x->len;
	memcpy(x->strs + x->len, s, l);
	x->len += l;
	return off;
}

static size_t
sbindex_home(const struct sbindex *x, const char *id)
{
	return (size_t)fnv1a(FNV_INIT, id, strlen(id)) & (x->nslots - 1);
}

static int
sbindex_grow(struct sbindex *x)
{
	struct sbslot *old = x->slots, *s;
	size_t oldn = x->nslots, i, h;

	x->nslots = oldn ? oldn * 2 : 1024;
	if ((x->slots = calloc(x->nslots, sizeof(*x->slots))) == NULL) {
		x->slots = old;
		x->nslots = oldn;
		return -ENOMEM;
	}
	for (i = 0; i < oldn; i++) {
		if (old[i].id == 0)
			continue;
		h = sbindex_home(x, x->strs + old[i].id);
		for (s = &x->slots[h]; s->id; s = &x->slots[h])
			h = (h + 1) & (x->nslots - 1);
		*s = old[i];
	}
	free(old);
	return 0;
}

/* id -> dir for framework fw (offsets); the first one of (id, fw) wins,
 * as the search order of API-NOTES 2.3 does. */
static int
sbindex_add(struct sbindex *x, const char *id, uint32_t fw, uint32_t dir)
{
	struct sbslot *s;
	size_t h;

	if ((x->n + 1) * 2 > x->nslots && sbindex_grow(x) != 0)
		return -ENOMEM;
	h = sbindex_home(x, id);
	for (s = &x->slots[h]; s->id; s = &x->slots[h]) {
		if (s->fw == fw && strcmp(x->strs + s->id, id) == 0)
			return 0;
		h = (h + 1) & (x->nslots - 1);
	}
	if ((s->id = sbindex_str(x, id)) == 0)
		return -ENOMEM;
	s->fw = fw;
	s->dir = dir;
	x->n++;
	return 0;
}

/* The directory of task for framework fw ("" or NULL: any). */
static const char *
sbindex_find(const struct sbindex *x, const char *fw, const char *task)
{
	const struct sbslot *s;
	size_t h;

	if (x->n == 0)
		return NULL;
	h = sbindex_home(x, task);
	for (s = &x->slots[h]; s->id; s = &x->slots[h]) {
		if (strcmp(x->strs + s->id, task) == 0 &&
		    (fw == NULL || *fw == '\0' || strcmp(x->strs + s->fw, fw) == 0))
			return x->strs + s->dir;
		h = (h + 1) & (x->nslots - 1);
	}
	return NULL;
}

static int
index_tasks(struct sbindex *x, json_t *list, uint32_t fw, uint32_t dir)
{
	json_t *t;
	size_t i;
	int rc;

	json_array_foreach(list, i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));

		if (id && *id && (rc = sbindex_add(x, id, fw, dir)) != 0)
			return rc;
	}
	return 0;
}

/* Every executor of an agent's state: its id and the ids of its tasks
 * (running, completed, queued) to its directory, frameworks before
 * completed frameworks, executors before completed executors. */
static int
index_state(struct sbindex *x, json_t *state)
{
	static const char *const fwlists[] = { "frameworks", "completed_frameworks" };
	static const char *const exlists[] = { "executors", "completed_executors" };
	json_t *f, *e;
	size_t i, j, k, l;
	uint32_t fw, dir;
	int rc;

	if (sbindex_str(x, "") != 0 || sbindex_grow(x) != 0)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		json_array_foreach(json_object_get(state, fwlists[i]), j, f) {
			const char *fid = json_string_value(json_object_get(f, "id"));

			if (fid == NULL || (fw = sbindex_str(x, fid)) == 0)
				continue;
			for (k = 0; k < 2; k++) {
				json_array_foreach(json_object_get(f, exlists[k]), l, e) {
					const char *eid = json_string_value(
					    json_object_get(e, "id"));
					const char *d = json_string_value(
					    json_object_get(e, "directory"));

					if (d == NULL || *d != '/' ||
					    (dir = sbindex_str(x, d)) == 0)
						continue;
					if ((eid && *eid &&
					    (rc = sbindex_add(x, eid, fw, dir)) != 0) ||
					    (rc = index_tasks(x, json_object_get(e,
					    "tasks"), fw, dir)) != 0 ||
					    (rc = index_tasks(x, json_object_get(e,
					    "completed_tasks"), fw, dir)) != 0 ||
					    (rc = index_tasks(x, json_object_get(e,
					    "queued_tasks"), fw, dir)) != 0)
						return rc;
				}
			}
		}
	}
	return 0;
}

static int
fetch_agent(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct agent *a = arg;
	struct mesos *m = a->m;
	struct sbindex *x = NULL;
	struct http_resp rs;
	json_t *root = NULL;
	int rc;

	http_resp_init(&rs);
	if ((rc = get_body(a->http, "/slave(1)/state", deadline, &m->stopping,
	    &rs, msg)) != 0)
		goto out;
	pthread_mutex_lock(&m->parse_lock);
	rc = parse_json(&rs, "/slave(1)/state", &root, msg);
	http_resp_free(&rs);
	if (rc == 0 && !json_is_array(json_object_get(root, "frameworks"))) {
		buf_printf(msg, "mesos: agent %s: state has no frameworks", a->id);
		rc = -EIO;
	}
	if (rc == 0 && ((x = calloc(1, sizeof(*x))) == NULL ||
	    index_state(x, root) != 0)) {
		buf_printf(msg, "mesos: agent %s: out of memory", a->id);
		rc = -ENOMEM;
	}
	json_decref(root);
	/* What jansson took for a big state sits free in this thread's
	 * arena; give it back (malloc_trim(3) returns free pages of every
	 * arena, not only the top of the heap). */
	malloc_trim(0);
	pthread_mutex_unlock(&m->parse_lock);
	if (rc == 0) {
		*out = x;
		x = NULL;
	}
out:
	sbindex_free(x);
	http_resp_free(&rs);
	return rc;
}

static const struct snapcache_ops agent_ops = {
	.name = "mesos agent", .fetch = fetch_agent, .free = sbindex_free,
};

/* ---- lifecycle ------------------------------------------------------------ */

struct mesos *
mesos_new(const struct mesos_opts *o, struct buf *msg)
{
	struct mesos *m;

	(void)msg;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->opts = *o;
	m->opts.master = NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->parse_lock, NULL);
	mesos_lcache_init(&m->lc);
	m->ahead = mesos_ahead_new(m);
	m->slaves = snapcache_new(&slaves_ops, m, o->ttl_ms, o->timeout_ms);
	m->tasks = snapcache_new(&tasks_ops, m, o->ttl_ms, o->timeout_ms);
	if (m->slaves == NULL || m->tasks == NULL || m->ahead == NULL) {
		mesos_free(m);
		return NULL;
	}
	if (o->master)
		mesos_set_master(m, o->master);
	return m;
}

int
mesos_start(struct mesos *m)
{
	int rc;

	if ((rc = snapcache_start(m->slaves)) != 0 ||
	    (rc = snapcache_start(m->tasks)) != 0)
		return rc;
	m->started = 1;
	return 0;
}

void
mesos_shutdown(struct mesos *m)
{
	struct agent *a;

	if (m == NULL)
		return;
	m->stopping = 1;
	ahead_stop(m->ahead);
	snapcache_stop(m->slaves);
	snapcache_stop(m->tasks);
	pthread_mutex_lock(&m->lock);
	for (a = m->agents; a; a = a->next)
		snapcache_stop(a->state);
	pthread_mutex_unlock(&m->lock);
	/* Wake browse waiters: they see m->stopping. */
	pthread_mutex_lock(&m->lc.lock);
	pthread_cond_broadcast(&m->lc.done);
	pthread_mutex_unlock(&m->lc.lock);
}

void
mesos_free(struct mesos *m)
{
	struct agent *a, *an;
	int i;

	if (m == NULL)
		return;
	mesos_shutdown(m);
	ahead_free(m->ahead);
	snapcache_free(m->slaves);
	snapcache_free(m->tasks);
	for (a = m->agents; a; a = an) {
		an = a->next;
		snapcache_free(a->state);
		http_client_free(a->http);
		free(a);
	}
	mesos_lcache_fini(&m->lc);
	http_client_free(m->master_http);
	for (i = 0; i < m->nretired; i++)
		http_client_free(m->retired[i]);
	pthread_mutex_destroy(&m->parse_lock);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
mesos_set_master(struct mesos *m, const char *url)
{
	struct http_client_opts ho = { 0 };
	struct http_client *c;
	char u[512];
	size_t n;

	snprintf(u, sizeof(u), "%s", url);
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	pthread_mutex_lock(&m->lock);
	if (strcmp(m->master, u) == 0 || n == 0 || m->nretired == RETIRED_MAX) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	pthread_mutex_unlock(&m->lock);
	ho.name = "mesos";
	ho.urls = u;
	ho.userpwd = m->opts.userpwd;
	ho.insecure = m->opts.insecure;
	ho.max_body = 256u << 20;
	if ((c = http_client_new(&ho)) == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->master_http)
		m->retired[m->nretired++] = m->master_http;
	m->master_http = c;
	snprintf(m->master, sizeof(m->master), "%s", u);
	pthread_mutex_unlock(&m->lock);
	snapcache_invalidate(m->slaves, SC_HARD);
	snapcache_invalidate(m->tasks, SC_HARD);
}

int
mesos_has_master(struct mesos *m)
{
	int has;

	pthread_mutex_lock(&m->lock);
	has = m->master_http != NULL;
	pthread_mutex_unlock(&m->lock);
	return has;
}

/* ---- sandbox resolution ------------------------------------------------ */

/* "slave(1)@10.0.0.1:5051" -> "http://10.0.0.1:5051" (the master's scheme). */
static int
agent_url(struct mesos *m, json_t *slave, char *out, size_t n)
{
	const char *pid = json_string_value(json_object_get(slave, "pid"));
	const char *at = pid ? strrchr(pid, '@') : NULL;
	const char *host = json_string_value(json_object_get(slave, "hostname"));
	json_t *port = json_object_get(slave, "port");
	int https;

	pthread_mutex_lock(&m->lock);
	https = strncmp(m->master, "https:", 6) == 0;
	pthread_mutex_unlock(&m->lock);
	if (at && at[1] && strchr(at + 1, ':'))
		snprintf(out, n, "%s://%s", https ? "https" : "http", at + 1);
	else if (host && json_is_integer(port))
		snprintf(out, n, "%s://%s:%lld", https ? "https" : "http", host,
		    (long long)json_integer_value(port));
	else
		return -ENOENT;
	return 0;
}

static struct agent *
agent_get(struct mesos *m, const char *id, const char *url)
{
	struct http_client_opts ho = { 0 };
	struct agent *a, *b;

	pthread_mutex_lock(&m->lock);
	for (a = m->agents; a; a = a->next)
		if (strcmp(a->id, id) == 0 && strcmp(a->url, url) == 0)
			break;
	pthread_mutex_unlock(&m->lock);
	if (a)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->url, sizeof(a->url), "%s", url);
	a->m = m;
	ho.name = "mesos agent";
	ho.urls = url;
	ho.userpwd = m->opts.userpwd;
	ho.insecure = m->opts.insecure;
	ho.max_body = 256u << 20;
	a->http = http_client_new(&ho);
	/* No TTL: a task's directory never changes; a task not in the
	 * index makes mesos_sandbox() read the state again. */
	a->state = snapcache_new(&agent_ops, a, INT_MAX, m->opts.timeout_ms);
	if (a->http == NULL || a->state == NULL || snapcache_start(a->state) != 0) {
		snapcache_free(a->state);
		http_client_free(a->http);
		free(a);
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	/* Two threads may have made one: keep the first. */
	for (b = m->agents; b; b = b->next)
		if (strcmp(b->id, id) == 0 && strcmp(b->url, url) == 0)
			break;
	if (b == NULL) {
		a->next = m->agents;
		m->agents = a;
	}
	pthread_mutex_unlock(&m->lock);
	if (b) {
		snapcache_free(a->state);
		http_client_free(a->http);
		free(a);
		a = b;
	}
	return a;
}

struct http_client *
mesos_agent_http(struct mesos *m, const struct mesos_sandbox *sb)
{
	struct agent *a = agent_get(m, sb->agent_id, sb->agent_url);

	return a ? a->http : NULL;
}

static json_t *
find_slave(json_t *slaves, const char *id)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(slaves, "slaves"), i, s) {
		const char *sid = json_string_value(json_object_get(s, "id"));

		if (sid && strcmp(sid, id) == 0)
			return s;
	}
	return NULL;
}

/*
 * Read an agent's state again for a task its index lacks, and wait for
 * that index; *r (held) is replaced by it.  The refresh is soft: other
 * callers keep resolving their tasks from the index they have while the
 * agent answers (40 MB at 25,000 executors take seconds), and only this
 * one waits, looking for the new index every REREAD_POLL_MS.
 */
#define REREAD_POLL_MS	20

static int
agent_reread(struct agent *a, struct snapref **r, int64_t deadline,
    struct buf *msg)
{
	struct snapcache_info si;
	struct timespec ts = { 0, REREAD_POLL_MS * 1000000L };
	uint64_t gen = (*r)->gen, failures;
	int rc;

	snapcache_info(a->state, &si);
	failures = si.failures;
	snapcache_put(a->state, *r);
	*r = NULL;
	snapcache_invalidate(a->state, SC_EAGER);
	for (;;) {
		if (now_ms() >= deadline) {
			buf_printf(msg, "mesos: agent %s: no state within the "
			    "deadline", a->id);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
		if ((rc = snapcache_get(a->state, 1, deadline, r, msg)) != 0)
			return rc;
		if ((*r)->gen != gen)
			return 0;
		snapcache_put(a->state, *r);
		*r = NULL;
		snapcache_info(a->state, &si);
		if (si.failures != failures) {
			buf_printf(msg, "mesos: agent %s: %s", a->id, si.last_msg);
			return si.last_err ? si.last_err : -EIO;
		}
	}
}

/* Mesos 1.5 or later: "1.5.0", "1.11.0-rc1". */
static int
has_virtual_paths(json_t *slave)
{
	const char *v = json_string_value(json_object_get(slave, "version"));
	int major = 0, minor = 0;

	if (v == NULL || sscanf(v, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 1 || (major == 1 && minor >= 5);
}

/* The sandbox of task on agent a from a's index (its real directory). */
static int
from_index(struct agent *a, const char *framework_id, const char *task_id,
    int may_block, int64_t deadline, int64_t miss_ms,
    struct mesos_sandbox *out, struct buf *msg)
{
	struct snapref *r = NULL;
	const char *dir;
	int rc;

	/* A task newer than the index needs a re-read. */
	if ((rc = snapcache_get(a->state, may_block, deadline, &r, msg)) != 0)
		return rc;
	dir = sbindex_find(r->data, framework_id, task_id);
	if (dir == NULL && now_ms() - r->fetched_ms >= miss_ms) {
		if (!may_block) {
			snapcache_put(a->state, r);
			return -E_WOULDBLOCK;
		}
		rc = agent_reread(a, &r, deadline, msg);
		if (rc != 0)
			return rc;
		dir = sbindex_find(r->data, framework_id, task_id);
	}
	if (dir == NULL) {
		snapcache_put(a->state, r);
		buf_reset(msg);
		buf_printf(msg, "mesos: agent %s has no sandbox for task %s",
		    a->id, task_id);
		return -ENOENT;
	}
	snprintf(out->dir, sizeof(out->dir), "%s", dir);
	out->virt = 0;
	snapcache_put(a->state, r);
	return 0;
}

int
mesos_sandbox(struct mesos *m, const char *framework_id, const char *agent_id,
    const char *task_id, int may_block, int64_t deadline,
    struct mesos_sandbox *out, struct buf *msg)
{
	struct snapref *r = NULL;
	struct agent *a;
	char url[256];
	int rc, attempt, virt = 0;

	if (!mesos_has_master(m)) {
		buf_addstr(msg, "mesos: no master known: give --mesos URL (Marathon "
		    "has not reported its Mesos leader)");
		return -EIO;
	}
	if (agent_id == NULL || *agent_id == '\0') {
		buf_printf(msg, "mesos: task %s has no agent yet", task_id);
		return -ENOENT;
	}
	/* The agent's address; a new agent may be unknown to a cached list. */
	for (attempt = 0;; attempt++) {
		if ((rc = snapcache_get(m->slaves, may_block, deadline, &r, msg)) != 0)
			return rc;
		json_t *s = find_slave(r->data, agent_id);

		rc = s ? agent_url(m, s, url, sizeof(url)) : -ENOENT;
		virt = s && has_virtual_paths(s);
		snapcache_put(m->slaves, r);
		if (rc == 0)
			break;
		if (attempt == 1 || !may_block) {
			buf_printf(msg, "mesos: the master does not know agent %s",
			    agent_id);
			return -ENOENT;
		}
		snapcache_invalidate(m->slaves, SC_HARD | SC_EAGER);
	}
	if ((a = agent_get(m, agent_id, url)) == NULL)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	snprintf(out->agent_id, sizeof(out->agent_id), "%s", agent_id);
	snprintf(out->agent_url, sizeof(out->agent_url), "%s", url);
	snprintf(out->framework_id, sizeof(out->framework_id), "%s",
	    framework_id ? framework_id : "");
	snprintf(out->task_id, sizeof(out->task_id), "%s", task_id);
	/* A Marathon app task is its own executor: its virtual path needs no
	 * state (40 MB at 25,000 executors) read at all. */
	if (virt && !a->no_virtual && out->framework_id[0] &&
	    strlen(task_id) < sizeof(out->task_id) && strchr(task_id, '/') == NULL) {
		snprintf(out->dir, sizeof(out->dir),
		    "/frameworks/%s/executors/%s/runs/latest", framework_id, task_id);
		out->virt = 1;
		return 0;
	}
	return from_index(a, framework_id, task_id, may_block, deadline,
	    AGENT_MISS_MS, out, msg);
}

int
mesos_real_sandbox(struct mesos *m, const struct mesos_sandbox *sb,
    int64_t deadline, struct mesos_sandbox *real, struct buf *msg)
{
	struct agent *a = agent_get(m, sb->agent_id, sb->agent_url);

	if (a == NULL)
		return -ENOMEM;
	*real = *sb;
	/* Mostly a sandbox Mesos removed, which no re-read finds: the state
	 * is read again for it at most once per TTL. */
	return from_index(a, sb->framework_id, sb->task_id, 1, deadline,
	    m->opts.ttl_ms > AGENT_MISS_MS ? m->opts.ttl_ms : AGENT_MISS_MS,
	    real, msg);
}

int
mesos_virtual_ok(struct mesos *m, const struct mesos_sandbox *sb)
{
	struct agent *a = agent_get(m, sb->agent_id, sb->agent_url);

	return a && !a->no_virtual;
}

void
mesos_no_virtual(struct mesos *m, const struct mesos_sandbox *sb)
{
	struct agent *a = agent_get(m, sb->agent_id, sb->agent_url);

	/* .archonfs/status says so. */
	if (a)
		a->no_virtual = 1;
}

void
mesos_status(struct mesos *m, struct buf *out)
{
	struct snapcache_info si;
	struct http_stats hs;
	struct snapref *r;
	struct agent *a;
	size_t indexed = 0;

	if (!mesos_has_master(m)) {
		buf_addstr(out, "mesos: no master known (give --mesos URL)\n");
		return;
	}
	snapcache_info(m->slaves, &si);
	http_stats_get(master_client(m), &hs);
	buf_printf(out, "mesos: %s\n", si.stale ? "down" : si.have ? "up" :
	    "not asked yet");
	buf_printf(out, "  master: %s\n", hs.url);
	buf_printf(out, "  requests: %llu (%llu failed)\n",
	    (unsigned long long)hs.requests, (unsigned long long)hs.failures);
	if (si.stale)
		buf_printf(out, "  last_error: %s\n", si.last_msg);
	pthread_mutex_lock(&m->lock);
	for (a = m->agents; a; a = a->next) {
		http_stats_get(a->http, &hs);
		snapcache_info(a->state, &si);
		if ((r = snapcache_peek(a->state)) != NULL) {
			indexed += ((struct sbindex *)r->data)->n;
			snapcache_put(a->state, r);
		}
		buf_printf(out, "  agent %s: %s, %llu requests, %llu failed, state "
		    "read %llu times%s%s%s\n", a->id, hs.url,
		    (unsigned long long)hs.requests,
		    (unsigned long long)hs.failures,
		    (unsigned long long)si.refreshes,
		    a->no_virtual ? ", no virtual paths" : "",
		    hs.failures ? ", last: " : "", hs.failures ? hs.last_error : "");
	}
	buf_printf(out, "  sandboxes: %zu ids indexed; file requests %llu (%llu "
	    "failed)\n", indexed, (unsigned long long)m->file_reads,
	    (unsigned long long)m->file_errors);
	if (m->file_errors)
		buf_printf(out, "  last_file_error: %s\n", m->file_error);
	pthread_mutex_unlock(&m->lock);
	mesos_lcache_status(m, out);
}
