/*
 * mesos.c: Mesos master and agents: sandbox resolution and sandbox files.
 *
 * State is cached like Marathon's, in snapcaches: the master's agent list
 * (/master/slaves), the master's task list for one framework (for finished
 * tasks), and one agent state per agent (/slave(1)/state), created when a
 * task on that agent is first looked at.  Resolved sandboxes are cached
 * per task id.  File sizes and contents are never cached: they grow.
 *
 * Facts from API-NOTES 2.4: /files/read with offset -1 (or none) answers
 * {"data":"","offset":SIZE}; every read is capped at 64 KiB whatever the
 * length asked; the reply echoes the requested offset; at or past the end
 * the data is empty.  The data string holds the file's bytes as they are,
 * so a log with invalid UTF-8 makes JSON no strict parser accepts:
 * mesos_parse_read() is a lenient decoder for exactly that reply.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mesos.h"
#include "snapcache.h"

#define READ_CAP	65536	/* what an agent returns at most per read */
#define SB_CACHE_MAX	4096	/* resolved sandboxes kept */
#define RETIRED_MAX	16

struct agent {
	char		 id[128];
	char		 url[256];
	struct http_client *http;
	struct snapcache *state;	/* json_t *: the agent's /state */
	struct mesos	*m;
	struct agent	*next;
};

struct sbentry {
	char		 task[256];
	struct mesos_sandbox sb;
	struct sbentry	*next;
};

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
	struct snapcache *tasks;		/* json_t *: /master/tasks */
	struct agent	*agents;		/* guarded by lock */
	struct sbentry	*sbs;			/* guarded by lock: MRU first */
	size_t		 nsbs;			/* guarded by lock */
	uint64_t	 file_reads;		/* guarded by lock */
	uint64_t	 file_errors;		/* guarded by lock */
	char		 file_error[1024];	/* guarded by lock: the last, in words */
	int		 started;
};

static void
json_free(void *p)
{
	json_decref(p);
}

/* GET url+path from client c, parse JSON of the expected type. */
static int
get_json(struct mesos *m, struct http_client *c, const char *path,
    int64_t deadline, const volatile int *cancel, json_t **out,
    struct buf *msg)
{
	struct http_req rq = { 0 };
	struct http_resp rs;
	json_error_t jerr;
	int rc;

	(void)m;
	http_resp_init(&rs);
	rq.method = "GET";
	rq.path = path;
	rq.deadline = deadline;
	rq.cancel = cancel;
	rq.idempotent = 1;
	rc = http_do(c, &rq, &rs, msg);
	if (rc == 0 && rs.status != 200) {
		rc = -http_status_errno(rs.status);
		buf_reset(msg);
		buf_printf(msg, "mesos: GET %s: HTTP %ld", path, rs.status);
		if (rc == 0)
			rc = -EIO;
	}
	if (rc == 0) {
		*out = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len,
		    0, &jerr);
		if (*out == NULL) {
			buf_reset(msg);
			buf_printf(msg, "mesos: GET %s: unreadable reply: %s", path,
			    jerr.text);
			rc = -EIO;
		}
	}
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
	rc = get_json(m, c, "/master/slaves", deadline, &m->stopping, &root, msg);
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

static int
fetch_tasks(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct mesos *m = arg;
	struct http_client *c = master_client(m);
	struct buf path = BUF_INIT(1024);
	json_t *root = NULL;
	int rc;

	if (c == NULL) {
		buf_addstr(msg, "mesos: no master known");
		return -EIO;
	}
	pthread_mutex_lock(&m->lock);
	buf_addstr(&path, "/master/tasks?limit=10000&order=desc&framework_id=");
	http_escape(&path, m->tasks_fw);
	pthread_mutex_unlock(&m->lock);
	rc = get_json(m, c, path.data, deadline, &m->stopping, &root, msg);
	if (rc == 0 && !json_is_array(json_object_get(root, "tasks"))) {
		json_decref(root);
		buf_addstr(msg, "mesos: /master/tasks: no \"tasks\" array");
		rc = -EIO;
	}
	if (rc == 0)
		*out = root;
	buf_free(&path);
	return rc;
}

static const struct snapcache_ops tasks_ops = {
	.name = "mesos tasks", .fetch = fetch_tasks, .free = json_free,
};

static int
fetch_agent(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct agent *a = arg;
	json_t *root;
	int rc;

	rc = get_json(a->m, a->http, "/slave(1)/state", deadline, &a->m->stopping,
	    &root, msg);
	if (rc == 0 && !json_is_array(json_object_get(root, "frameworks"))) {
		json_decref(root);
		buf_printf(msg, "mesos: agent %s: state has no frameworks", a->id);
		rc = -EIO;
	}
	if (rc == 0)
		*out = root;
	return rc;
}

static const struct snapcache_ops agent_ops = {
	.name = "mesos agent", .fetch = fetch_agent, .free = json_free,
};

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
	m->slaves = snapcache_new(&slaves_ops, m, o->ttl_ms, o->timeout_ms);
	m->tasks = snapcache_new(&tasks_ops, m, o->ttl_ms, o->timeout_ms);
	if (m->slaves == NULL || m->tasks == NULL) {
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
	snapcache_stop(m->slaves);
	snapcache_stop(m->tasks);
	pthread_mutex_lock(&m->lock);
	for (a = m->agents; a; a = a->next)
		snapcache_stop(a->state);
	pthread_mutex_unlock(&m->lock);
}

void
mesos_free(struct mesos *m)
{
	struct agent *a, *an;
	struct sbentry *e, *en;
	int i;

	if (m == NULL)
		return;
	mesos_shutdown(m);
	snapcache_free(m->slaves);
	snapcache_free(m->tasks);
	for (a = m->agents; a; a = an) {
		an = a->next;
		snapcache_free(a->state);
		http_client_free(a->http);
		free(a);
	}
	for (e = m->sbs; e; e = en) {
		en = e->next;
		free(e);
	}
	http_client_free(m->master_http);
	for (i = 0; i < m->nretired; i++)
		http_client_free(m->retired[i]);
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

static int
cache_get(struct mesos *m, const char *task, const char *agent_id,
    struct mesos_sandbox *out)
{
	struct sbentry **ep, *e;
	int found = 0;

	pthread_mutex_lock(&m->lock);
	for (ep = &m->sbs; (e = *ep) != NULL; ep = &e->next) {
		if (strcmp(e->task, task) != 0)
			continue;
		if (agent_id && strcmp(e->sb.agent_id, agent_id) != 0) {
			/* The task moved: forget the old place. */
			*ep = e->next;
			free(e);
			m->nsbs--;
			break;
		}
		*out = e->sb;
		*ep = e->next;		/* most recently used first */
		e->next = m->sbs;
		m->sbs = e;
		found = 1;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

static void
cache_put(struct mesos *m, const char *task, const struct mesos_sandbox *sb)
{
	struct sbentry *e, **ep;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	snprintf(e->task, sizeof(e->task), "%s", task);
	e->sb = *sb;
	pthread_mutex_lock(&m->lock);
	e->next = m->sbs;
	m->sbs = e;
	if (++m->nsbs > SB_CACHE_MAX) {
		for (ep = &m->sbs; (*ep)->next; ep = &(*ep)->next)
			;
		free(*ep);
		*ep = NULL;
		m->nsbs--;
	}
	pthread_mutex_unlock(&m->lock);
}

void
mesos_forget(struct mesos *m, const char *task_id)
{
	struct sbentry **ep, *e;

	pthread_mutex_lock(&m->lock);
	for (ep = &m->sbs; (e = *ep) != NULL; ep = &e->next) {
		if (strcmp(e->task, task_id) == 0) {
			*ep = e->next;
			free(e);
			m->nsbs--;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

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
	struct agent *a;

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
	a->state = snapcache_new(&agent_ops, a, m->opts.ttl_ms, m->opts.timeout_ms);
	if (a->http == NULL || a->state == NULL || snapcache_start(a->state) != 0) {
		snapcache_free(a->state);
		http_client_free(a->http);
		free(a);
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	a->next = m->agents;
	m->agents = a;
	pthread_mutex_unlock(&m->lock);
	return a;
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

static int
has_task(json_t *list, const char *task)
{
	json_t *t;
	size_t i;

	json_array_foreach(list, i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));

		if (id && strcmp(id, task) == 0)
			return 1;
	}
	return 0;
}

/* The directory of task in an agent's state, for framework fw. */
static const char *
find_directory(json_t *state, const char *fw, const char *task)
{
	static const char *const fwlists[] = { "frameworks", "completed_frameworks" };
	static const char *const exlists[] = { "executors", "completed_executors" };
	json_t *f, *e;
	size_t i, j, k, l;

	for (i = 0; i < 2; i++) {
		json_array_foreach(json_object_get(state, fwlists[i]), j, f) {
			const char *fid = json_string_value(json_object_get(f, "id"));

			if (fid == NULL || (fw && *fw && strcmp(fid, fw) != 0))
				continue;
			for (k = 0; k < 2; k++) {
				json_array_foreach(json_object_get(f, exlists[k]), l, e) {
					const char *eid = json_string_value(
					    json_object_get(e, "id"));
					const char *dir = json_string_value(
					    json_object_get(e, "directory"));

					if (dir == NULL || *dir != '/')
						continue;
					if ((eid && strcmp(eid, task) == 0) ||
					    has_task(json_object_get(e, "tasks"), task) ||
					    has_task(json_object_get(e, "completed_tasks"), task) ||
					    has_task(json_object_get(e, "queued_tasks"), task))
						return dir;
				}
			}
		}
	}
	return NULL;
}

int
mesos_sandbox(struct mesos *m, const char *framework_id, const char *agent_id,
    const char *task_id, int may_block, int64_t deadline,
    struct mesos_sandbox *out, struct buf *msg)
{
	struct snapref *r = NULL;
	struct agent *a;
	char url[256];
	const char *dir;
	int rc, attempt;

	if (cache_get(m, task_id, agent_id, out))
		return 0;
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
	/* The directory; a task newer than the cached state needs a re-read. */
	for (attempt = 0;; attempt++) {
		if ((rc = snapcache_get(a->state, may_block, deadline, &r, msg)) != 0)
			return rc;
		dir = find_directory(r->data, framework_id, task_id);
		if (dir) {
			memset(out, 0, sizeof(*out));
			snprintf(out->agent_id, sizeof(out->agent_id), "%s", agent_id);
			snprintf(out->agent_url, sizeof(out->agent_url), "%s", url);
			snprintf(out->dir, sizeof(out->dir), "%s", dir);
			snapcache_put(a->state, r);
			cache_put(m, task_id, out);
			return 0;
		}
		snapcache_put(a->state, r);
		if (attempt == 1 || !may_block) {
			buf_printf(msg, "mesos: agent %s has no sandbox for task %s",
			    agent_id, task_id);
			return may_block ? -ENOENT : -E_WOULDBLOCK;
		}
		snapcache_invalidate(a->state, SC_HARD | SC_EAGER);
	}
}

/* ---- files ------------------------------------------------------------ */

static struct http_client *
agent_client(struct mesos *m, const struct mesos_sandbox *sb)
{
	struct agent *a = agent_get(m, sb->agent_id, sb->agent_url);

	return a ? a->http : NULL;
}

static int
file_path(struct buf *q, const char *what, const struct mesos_sandbox *sb,
    const char *rel)
{
	struct buf p = BUF_INIT(8192);
	int rc;

	buf_addstr(&p, sb->dir);
	if (rel && *rel) {
		buf_addch(&p, '/');
		buf_addstr(&p, rel);
	}
	buf_printf(q, "/files/%s?path=", what);
	http_escape(q, buf_str(&p));
	rc = p.err ? p.err : q->err;
	buf_free(&p);
	return rc;
}

/* Count a sandbox file request; a failure's words are kept for
 * .archonfs/status, since a failed read has no .error of its own. */
static void
count(struct mesos *m, int failed, const struct buf *msg)
{
	pthread_mutex_lock(&m->lock);
	m->file_reads++;
	if (failed) {
		m->file_errors++;
		snprintf(m->file_error, sizeof(m->file_error), "%s",
		    msg && msg->len ? msg->data : "unknown error");
	}
	pthread_mutex_unlock(&m->lock);
}

/* One /files/read; *n bytes into out. */
static int
read_once(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t off, size_t len, char *out, size_t *n, int64_t *roff,
    int64_t deadline, const volatile int *cancel, struct buf *msg)
{
	struct http_client *c = agent_client(m, sb);
	struct http_req rq = { 0 };
	struct buf q = BUF_INIT(16384);
	struct http_resp rs;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	http_resp_init(&rs);
	if ((rc = file_path(&q, "read", sb, rel)) != 0)
		goto out;
	if (off < 0)
		buf_addstr(&q, "&offset=-1");
	else
		buf_printf(&q, "&offset=%lld&length=%zu", (long long)off, len);
	rq.method = "GET";
	rq.path = q.data;
	rq.deadline = deadline;
	rq.cancel = cancel;
	rq.idempotent = 1;
	/* 64 KiB of data, JSON-escaped, is at most 6 times that. */
	rq.max_body = 6 * READ_CAP + 4096;
	if ((rc = http_do(c, &rq, &rs, msg)) != 0)
		goto out;
	if (rs.status != 200) {
		if (rs.status == 400 && strstr(buf_str(&rs.body), "directory"))
			rc = -EISDIR;
		else if (rs.status == 404)
			rc = -ENOENT;
		else if ((rc = -http_status_errno(rs.status)) == 0)
			rc = -EIO;
		buf_reset(msg);
		buf_printf(msg, "mesos agent %s: /files/read %s%s%s: HTTP %ld%s",
		    sb->agent_id, sb->dir, rel && *rel ? "/" : "", rel ? rel : "",
		    rs.status, rs.status == 404 ? " (the sandbox is gone)" : "");
		goto out;
	}
	rc = mesos_parse_read(buf_str(&rs.body), rs.body.len, out, len, n, roff);
	if (rc != 0) {
		buf_reset(msg);
		buf_printf(msg, "mesos agent %s: /files/read %s%s%s: unreadable "
		    "reply (not {\"data\": string, \"offset\": number}, or more "
		    "data than asked)", sb->agent_id, sb->dir, rel && *rel ? "/" : "",
		    rel ? rel : "");
	}
out:
	count(m, rc != 0, msg);
	http_resp_free(&rs);
	buf_free(&q);
	return rc;
}

int
mesos_size(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel, off_t *size, struct buf *msg)
{
	int64_t roff = 0;
	size_t n = 0;
	char none[1];
	int rc;

	rc = read_once(m, sb, rel, -1, 0, none, &n, &roff, deadline, cancel, msg);
	if (rc == 0) {
		if (roff < 0) {
			buf_addstr(msg, "mesos: negative size in a size probe");
			return -EIO;
		}
		*size = (off_t)roff;
	}
	return rc;
}

ssize_t
mesos_read(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    char *buf, size_t len, off_t off, int64_t deadline,
    const volatile int *cancel, struct buf *msg)
{
	size_t got = 0, n, want;
	int64_t roff;
	int rc;

	/* The agent returns at most 64 KiB a call: loop until len or EOF. */
	while (got < len) {
		want = len - got > READ_CAP ? READ_CAP : len - got;
		n = 0;
		rc = read_once(m, sb, rel, (int64_t)off + (int64_t)got, want,
		    buf + got, &n, &roff, deadline, cancel, msg);
		if (rc != 0)
			return got ? (ssize_t)got : rc;
		if (n == 0)
			break;
		got += n;
	}
	return (ssize_t)got;
}

/* A JSON number (times scale) as an int64; 0 when it is none or does
 * not fit (1e300 from a broken agent: converting it is undefined). */
static int64_t
json_int64(json_t *v, double scale)
{
	double d;

	if (json_is_integer(v) && scale == 1)
		return (int64_t)json_integer_value(v);
	if (!json_is_number(v))
		return 0;
	d = json_number_value(v) * scale;
	return d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
}

/* "drwxr-xr-x" -> 0755 */
static mode_t
mode_bits(const char *s)
{
	static const mode_t bits[9] = { 0400, 0200, 0100, 040, 020, 010, 04, 02, 01 };
	mode_t m = 0;
	int i;

	if (s == NULL || strlen(s) < 10)
		return 0444;
	for (i = 0; i < 9; i++)
		if (s[i + 1] != '-')
			m |= bits[i];
	return m;
}

int
mesos_browse(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel,
    int (*fn)(void *arg, const struct mesos_entry *e), void *arg,
    struct buf *msg)
{
	struct http_client *c = agent_client(m, sb);
	struct buf q = BUF_INIT(16384);
	json_t *root = NULL, *e;
	size_t i;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	if ((rc = file_path(&q, "browse", sb, rel)) != 0)
		goto out;
	rc = get_json(m, c, q.data, deadline, cancel, &root, msg);
	count(m, rc != 0, msg);
	if (rc != 0)
		goto out;
	if (!json_is_array(root)) {
		buf_addstr(msg, "mesos: /files/browse: not an array");
		rc = -EIO;
		goto out;
	}
	json_array_foreach(root, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *mode = json_string_value(json_object_get(e, "mode"));
		const char *slash, *name;
		struct mesos_entry me;

		if (path == NULL || mode == NULL)
			continue;
		slash = strrchr(path, '/');
		name = slash ? slash + 1 : path;
		if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strlen(name) > 255)
			continue;
		memset(&me, 0, sizeof(me));
		me.name = name;
		me.is_dir = mode[0] == 'd';
		me.mode = mode_bits(mode);
		me.size = (off_t)json_int64(json_object_get(e, "size"), 1);
		if (me.size < 0)
			me.size = 0;
		me.mtime_ms = json_int64(json_object_get(e, "mtime"), 1000);
		if ((rc = fn(arg, &me)) != 0)
			goto out;
	}
out:
	json_decref(root);
	buf_free(&q);
	return rc;
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

int
mesos_finished(struct mesos *m, const char *framework_id, const char *prefix,
    int may_block, int64_t deadline,
    int (*fn)(void *arg, const struct mesos_task *t), void *arg,
    struct buf *msg)
{
	struct snapref *r;
	json_t *t, *st;
	size_t i, n = strlen(prefix);
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
	json_array_foreach(json_object_get(r->data, "tasks"), i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *state = json_string_value(json_object_get(t, "state"));
		const char *fw = json_string_value(json_object_get(t, "framework_id"));
		struct mesos_task mt;

		if (!name_usable(id) || state == NULL || !terminal(state) ||
		    strncmp(id, prefix, n) != 0 || (fw && strcmp(fw, framework_id)))
			continue;
		memset(&mt, 0, sizeof(mt));
		mt.id = id;
		mt.state = state;
		mt.agent_id = json_string_value(json_object_get(t, "slave_id"));
		st = json_array_get(json_object_get(t, "statuses"),
		    json_array_size(json_object_get(t, "statuses")) - 1);
		mt.time_ms = json_int64(json_object_get(st, "timestamp"), 1000);
		if ((rc = fn(arg, &mt)) != 0)
			break;
	}
	snapcache_put(m->tasks, r);
	return rc;
}

void
mesos_status(struct mesos *m, struct buf *out)
{
	struct snapcache_info si;
	struct http_stats hs;
	struct agent *a;

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
		buf_printf(out, "  agent %s: %s, %llu requests, %llu failed%s%s\n",
		    a->id, hs.url, (unsigned long long)hs.requests,
		    (unsigned long long)hs.failures, hs.failures ? ", last: " : "",
		    hs.failures ? hs.last_error : "");
	}
	buf_printf(out, "  sandboxes: %zu resolved; file requests %llu (%llu "
	    "failed)\n", m->nsbs, (unsigned long long)m->file_reads,
	    (unsigned long long)m->file_errors);
	if (m->file_errors)
		buf_printf(out, "  last_file_error: %s\n", m->file_error);
	pthread_mutex_unlock(&m->lock);
}

/* ---- the lenient /files/read decoder ---------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex4(const char *p, const char *end, unsigned *v)
{
	int i, h;

	if (end - p < 4)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)p[i])) < 0)
			return -1;
		*v = *v << 4 | (unsigned)h;
	}
	return 0;
}

/* Append code point cp as UTF-8; -1 if out of room. */
static int
put_utf8(unsigned cp, char *out, size_t cap, size_t *n)
{
	char t[4];
	size_t k;

	if (cp < 0x80) {
		t[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | cp >> 12);
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		t[0] = (char)(0xf0 | cp >> 18);
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k > cap)
		return -1;
	memcpy(out + *n, t, k);
	*n += k;
	return 0;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Decode a string starting after its opening quote; out may be NULL. */
static const char *
decode_string(const char *p, const char *end, char *out, size_t cap, size_t *n)
{
	unsigned cp, lo;

	*n = 0;
	while (p < end && *p != '"') {
		if (*p != '\\') {
			/* Raw bytes pass through: Mesos does not re-encode. */
			if (out) {
				if (*n == cap)
					return NULL;
				out[*n] = *p;
			}
			(*n)++;
			p++;
			continue;
		}
		if (++p == end)
			return NULL;
		switch (*p) {
		case '"': case '\\': case '/':
			cp = (unsigned char)*p;
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (hex4(p + 1, end, &cp) != 0)
				return NULL;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && end - p > 6 &&
			    p[1] == '\\' && p[2] == 'u' && hex4(p + 3, end, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			break;
		default:
			return NULL;
		}
		p++;
		if (out) {
			if (put_utf8(cp, out, cap, n) != 0)
				return NULL;
		} else {
			*n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		}
	}
	return p < end ? p + 1 : NULL;
}

int
mesos_parse_read(const char *body, size_t len, char *out, size_t cap,
    size_t *n, int64_t *offset)
{
	const char *p = body, *end = body + len, *key;
	size_t klen, dn;
	int have_data = 0, have_off = 0;
	uint64_t u, d, lim;
	int neg;

	*n = 0;
	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return -EIO;
	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p == end || *p++ != '"')
			return -EIO;
		key = p;
		if ((p = decode_string(p, end, NULL, 0, &klen)) == NULL)
			return -EIO;
		klen = (size_t)(p - 1 - key);
		p = skip_ws(p, end);
		if (p == end || *p++ != ':')
			return -EIO;
		p = skip_ws(p, end);
		if (klen == 4 && memcmp(key, "data", 4) == 0) {
			if (p == end || *p++ != '"')
				return -EIO;
			if ((p = decode_string(p, end, out, cap, &dn)) == NULL)
				return -EIO;
			*n = dn;
			have_data = 1;
		} else if (klen == 6 && memcmp(key, "offset", 6) == 0) {
			neg = p < end && *p == '-';
			if (neg)
				p++;
			if (p == end || *p < '0' || *p > '9')
				return -EIO;
			/* Exactly int64's range: -2^63 .. 2^63-1. */
			lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
			for (u = 0; p < end && *p >= '0' && *p <= '9'; p++) {
				d = (uint64_t)(*p - '0');
				if (u > (lim - d) / 10)
					return -EIO;
				u = u * 10 + d;
			}
			*offset = !neg ? (int64_t)u : u ? -(int64_t)(u - 1) - 1 : 0;
			have_off = 1;
		} else {
			/* Skip any other value: a string, a number, a literal. */
			if (p < end && *p == '"') {
				if ((p = decode_string(p + 1, end, NULL, 0, &dn)) == NULL)
					return -EIO;
			} else {
				while (p < end && *p != ',' && *p != '}')
					p++;
			}
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return -EIO;
	}
	return have_data && have_off ? 0 : -EIO;
}
