/*
 * marathon.c: Marathon snapshots and the pure queries on them.
 *
 * The app tree comes from one request,
 *   GET /v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments
 *        &embed=apps.lastTaskFailure
 * (API-NOTES 1.3: the listing always includes counts and deployment ids;
 * "tasks" also turns deployments on; unknown embed words are ignored), and
 * is indexed by id so a group listing or an app lookup is a binary search.
 * Groups are not fetched: a group is every id prefix of an app id, which is
 * also how the apps listing presents them (empty groups are not shown).
 *
 * After each refresh the old and new snapshots are compared app by app (a
 * hash of each app object, tasks included) and the ids that changed, plus
 * the groups whose member lists changed, are reported to the FUSE layer.
 *
 * Writes live in marathon_write.c, the event stream in marathon_events.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marathon_int.h"

#define APPS_PATH "/v2/apps?embed=apps.tasks&embed=apps.counts" \
	"&embed=apps.deployments&embed=apps.lastTaskFailure"

/* Fields Marathon adds to an app that are not part of its definition. */
static const char *const runtime_fields[] = {
	"tasks", "tasksStaged", "tasksRunning", "tasksHealthy",
	"tasksUnhealthy", "deployments", "lastTaskFailure",
	"readinessCheckResults", "tasksStats", "version", "versionInfo",
};

/* ---- small JSON helpers ---------------------------------------------- */

static int
dump_cb(const char *p, size_t n, void *arg)
{
	return buf_add(arg, p, n) == 0 ? 0 : -1;
}

int
json_to_buf(json_t *j, struct buf *out, size_t flags)
{
	if (json_dump_callback(j, dump_cb, out, flags | JSON_OUT_REALS) != 0)
		return out->err ? out->err : -EIO;
	return out->err;
}

static int
hash_cb(const char *p, size_t n, void *arg)
{
	uint64_t *h = arg;

	*h = fnv1a(*h, p, n);
	return 0;
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	double d;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v)) {
		/* Converting a real outside long long (1e300) is undefined;
		 * it is no count either: 0, as for any unreadable value. */
		d = json_real_value(v);
		return d > -9.2e18 && d < 9.2e18 ? (long long)d : 0;
	}
	return 0;
}

/*
 * Status files are "key: value" lines (DESIGN.md 1), so a value from the
 * cluster goes in with its line breaks escaped (\n, \r): a failure
 * message with a newline must not start a line of its own, which
 * `grep '^state:'` could take for the real one.
 */
static void
add_value(struct buf *out, const char *s)
{
	size_t n;

	while (*s) {
		n = strcspn(s, "\r\n");
		buf_add(out, s, n);
		s += n;
		if (*s)
			buf_addstr(out, *s++ == '\n' ? "\\n" : "\\r");
	}
}

static void
add_kv(struct buf *out, const char *key, const char *value)
{
	buf_printf(out, "%s: ", key);
	add_value(out, value);
	buf_addch(out, '\n');
}

json_t *
mara_definition(json_t *app)
{
	json_t *d = json_copy(app);	/* shallow: children are shared */
	size_t i;

	if (d == NULL)
		return NULL;
	for (i = 0; i < sizeof(runtime_fields) / sizeof(runtime_fields[0]); i++)
		json_object_del(d, runtime_fields[i]);
	return d;
}

int64_t
iso8601_ms(const char *s)
{
	struct tm tm;
	int ms = 0, n = 0;
	char frac[8];

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return 0;
	if (s[n] == '.' && sscanf(s + n + 1, "%3[0-9]", frac) == 1) {
		ms = atoi(frac);
		if (strlen(frac) == 1)
			ms *= 100;
		else if (strlen(frac) == 2)
			ms *= 10;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

int
mara_path(struct buf *out, const char *prefix, const char *id,
    const char *suffix)
{
	const char *p, *slash;
	char seg[1024];
	size_t n;

	buf_addstr(out, prefix);
	for (p = id; *p == '/'; p++)
		;
	while (*p) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(seg))
			return -ENAMETOOLONG;
		memcpy(seg, p, n);
		seg[n] = '\0';
		buf_addch(out, '/');
		http_escape(out, seg);
		p += n;
		while (*p == '/')
			p++;
	}
	if (suffix)
		buf_addstr(out, suffix);
	return out->err;
}

/* ---- snapshot building ----------------------------------------------- */

/* An id is usable as a path when every segment is a plain file name. */
static int
id_usable(const char *id)
{
	const char *p = id, *slash;
	size_t n;

	if (id == NULL || id[0] != '/' || id[1] == '\0')
		return 0;
	for (p = id + 1; *p; p = slash + 1) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > 255 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (slash == NULL)
			break;
	}
	for (p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/*
 * The fields the status files are rendered from, with the type Marathon
 * gives them.  An app where one has another type ("instances": "five") is
 * kept (listed, app.json shows it as sent), but its instances and status
 * files fail with EIO rather than show a made-up 0.
 */
static const struct {
	const char	*name;
	int		 type;		/* JSON_INTEGER: any number */
} typed_fields[] = {
	{ "instances", JSON_INTEGER },
	{ "tasksRunning", JSON_INTEGER },
	{ "tasksHealthy", JSON_INTEGER },
	{ "tasksUnhealthy", JSON_INTEGER },
	{ "tasksStaged", JSON_INTEGER },
	{ "tasks", JSON_ARRAY },
	{ "deployments", JSON_ARRAY },
	{ "env", JSON_OBJECT },
	{ "labels", JSON_OBJECT },
	{ "version", JSON_STRING },
};

static const char *
bad_field(json_t *app)
{
	json_t *v;
	size_t i;

	for (i = 0; i < sizeof(typed_fields) / sizeof(typed_fields[0]); i++) {
		v = json_object_get(app, typed_fields[i].name);
		if (v == NULL || json_is_null(v))
			continue;
		if (typed_fields[i].type == JSON_INTEGER ? !json_is_number(v) :
		    json_typeof(v) != (json_type)typed_fields[i].type)
			return typed_fields[i].name;
	}
	return NULL;
}

static int
app_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mara_app *)a)->id,
	    ((const struct mara_app *)b)->id);
}

static void
snap_free(void *data)
{
	struct mara_snap *s = data;

	if (s == NULL)
		return;
	json_decref(s->root);
	free(s->apps);
	free(s);
}

static int
snap_build(json_t *root, size_t body_bytes, struct mara_snap **out,
    struct buf *msg)
{
	struct mara_snap *s;
	json_t *apps, *app, *tasks;
	size_t i, n;

	apps = json_object_get(root, "apps");
	if (!json_is_array(apps)) {
		buf_printf(msg, "marathon: GET /v2/apps: reply has no \"apps\" array");
		return -EIO;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->root = root;
	s->body_bytes = body_bytes;
	n = json_array_size(apps);
	s->apps = calloc(n ? n : 1, sizeof(*s->apps));
	if (s->apps == NULL) {
		free(s);
		return -ENOMEM;
	}
	json_array_foreach(apps, i, app) {
		const char *id = jstr(app, "id");
		uint64_t h = FNV_INIT;

		if (!json_is_object(app) || !id_usable(id)) {
			s->skipped++;
			continue;
		}
		json_dump_callback(app, hash_cb, &h, JSON_COMPACT);
		s->apps[s->napps].id = id;
		s->apps[s->napps].obj = app;
		s->apps[s->napps].hash = h;
		if ((s->apps[s->napps].bad = bad_field(app)) != NULL &&
		    s->malformed++ == 0) {
			s->malformed_id = id;
			s->malformed_field = s->apps[s->napps].bad;
		}
		s->napps++;
		tasks = json_object_get(app, "tasks");
		if (json_is_array(tasks))
			s->ntasks += json_array_size(tasks);
	}
	qsort(s->apps, s->napps, sizeof(*s->apps), app_cmp);
	/* Drop duplicate ids (a hostile or broken reply): keep the first. */
	for (i = 1, n = s->napps ? 1 : 0; i < s->napps; i++) {
		if (strcmp(s->apps[i].id, s->apps[n - 1].id) == 0) {
			s->skipped++;
			continue;
		}
		s->apps[n++] = s->apps[i];
	}
	s->napps = n;
	*out = s;
	return 0;
}

int
mara_get(struct marathon *m, const char *path, int64_t deadline,
    struct http_resp *rs, struct buf *msg)
{
	struct http_req rq = { 0 };
	int rc;

	rq.method = "GET";
	rq.path = path;
	rq.deadline = deadline;
	rq.cancel = &m->stopping;
	rq.idempotent = 1;
	if ((rc = http_do(m->http, &rq, rs, msg)) != 0)
		return rc;
	if (rs->status == 200)
		return 0;
	rc = -http_status_errno(rs->status);
	buf_reset(msg);
	buf_printf(msg, "marathon: GET %s: HTTP %ld", path, rs->status);
	return rc ? rc : -EIO;
}

int
marathon_parse_apps(const char *text, size_t len, struct mara_snap **out,
    struct buf *msg)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		buf_printf(msg, "marathon: GET /v2/apps: unreadable reply: %s "
		    "(line %d)", jerr.text, jerr.line);
		return -EIO;
	}
	if ((rc = snap_build(root, len, out, msg)) != 0)
		json_decref(root);
	return rc;
}

void
marathon_snap_free(struct mara_snap *s)
{
	snap_free(s);
}

static int
fetch_apps(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct marathon *m = arg;
	struct http_resp rs;
	struct mara_snap *s = NULL;
	int rc;

	http_resp_init(&rs);
	if ((rc = mara_get(m, APPS_PATH, deadline, &rs, msg)) != 0)
		goto out;
	rc = marathon_parse_apps(rs.body.data ? rs.body.data : "", rs.body.len,
	    &s, msg);
	if (rc != 0)
		goto out;
	*out = s;
out:
	http_resp_free(&rs);
	return rc;
}

/* ---- change reports ---------------------------------------------------- */

struct idset {
	char	**v;
	size_t	 n, alloc;
};

static void
idset_add(struct idset *set, const char *id, size_t len)
{
	char **nv;
	size_t i;

	/* Small sets: ancestors repeat, so check the most recent entries. */
	for (i = set->n; i > 0 && i + 16 > set->n; i--)
		if (strlen(set->v[i - 1]) == len &&
		    strncmp(set->v[i - 1], id, len) == 0)
			return;
	if (set->n == set->alloc) {
		set->alloc = set->alloc ? set->alloc * 2 : 64;
		nv = realloc(set->v, set->alloc * sizeof(*nv));
		if (nv == NULL)
			return;
		set->v = nv;
	}
	if ((set->v[set->n] = strndup(id, len)) != NULL)
		set->n++;
}

/* An app appeared or vanished: its own id and every ancestor group. */
static void
idset_add_with_groups(struct idset *set, const char *id)
{
	const char *p;

	idset_add(set, id, strlen(id));
	for (p = id + strlen(id); p > id; p--)
		if (*p == '/')
			idset_add(set, id, (size_t)(p - id));
	idset_add(set, "/", 1);
}

static void
apps_changed(void *arg, void *old_, void *new_)
{
	struct marathon *m = arg;
	struct mara_snap *o = old_, *n = new_;
	struct mara_change ch = { 0 };
	struct idset set = { 0 };
	size_t i = 0, j = 0;
	int c;

	if (m->change_fn == NULL)
		return;
	if (o == NULL) {
		ch.all = 1;
		m->change_fn(m->change_arg, &ch);
		return;
	}
	while (i < o->napps || j < n->napps) {
		if (i == o->napps)
			c = 1;
		else if (j == n->napps)
			c = -1;
		else
			c = strcmp(o->apps[i].id, n->apps[j].id);
		if (c < 0) {
			idset_add_with_groups(&set, o->apps[i++].id);
		} else if (c > 0) {
			idset_add_with_groups(&set, n->apps[j++].id);
		} else {
			if (o->apps[i].hash != n->apps[j].hash) {
				idset_add(&set, n->apps[j].id, strlen(n->apps[j].id));
				/* A change is a new version. */
				marathon_versions_forget(m, n->apps[j].id);
			}
			i++;
			j++;
		}
	}
	if (set.n) {
		ch.ids = (const char *const *)set.v;
		ch.nids = set.n;
		m->change_fn(m->change_arg, &ch);
	}
	for (i = 0; i < set.n; i++)
		free(set.v[i]);
	free(set.v);
}

static const struct snapcache_ops apps_ops = {
	.name = "marathon apps",
	.fetch = fetch_apps,
	.free = snap_free,
	.changed = apps_changed,
};

/* ---- deployments ------------------------------------------------------- */

static void
deps_free(void *data)
{
	struct mara_deps *d = data;

	if (d) {
		json_decref(d->root);
		free(d);
	}
}

static int
fetch_deps(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct marathon *m = arg;
	struct http_resp rs;
	struct mara_deps *d;
	json_error_t jerr;
	json_t *root;
	int rc;

	http_resp_init(&rs);
	if ((rc = mara_get(m, "/v2/deployments", deadline, &rs, msg)) != 0)
		goto out;
	root = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, 0, &jerr);
	if (!json_is_array(root)) {
		buf_printf(msg, "marathon: GET /v2/deployments: unreadable reply%s%s",
		    root ? "" : ": ", root ? "" : jerr.text);
		json_decref(root);
		rc = -EIO;
		goto out;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		json_decref(root);
		rc = -ENOMEM;
		goto out;
	}
	d->root = root;
	d->hash = FNV_INIT;
	json_dump_callback(root, hash_cb, &d->hash, JSON_COMPACT);
	*out = d;
out:
	http_resp_free(&rs);
	return rc;
}

static void
deps_changed(void *arg, void *old_, void *new_)
{
	struct marathon *m = arg;
	struct mara_deps *o = old_, *n = new_;
	struct mara_change ch = { 0 };

	if (m->change_fn == NULL || (o && o->hash == n->hash))
		return;
	ch.deployments = 1;
	m->change_fn(m->change_arg, &ch);
}

static int
fetch_info(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct marathon *m = arg;
	struct http_resp rs;
	json_t *root;
	int rc;

	http_resp_init(&rs);
	if ((rc = mara_get(m, "/v2/info", deadline, &rs, msg)) == 0) {
		root = json_loadb(buf_str(&rs.body), rs.body.len, 0, NULL);
		if (!json_is_object(root)) {
			json_decref(root);
			buf_addstr(msg, "marathon: GET /v2/info: unreadable reply");
			rc = -EIO;
		} else {
			*out = root;
		}
	}
	http_resp_free(&rs);
	return rc;
}

static void
info_free(void *p)
{
	json_decref(p);
}

static const struct snapcache_ops info_ops = {
	.name = "marathon info",
	.fetch = fetch_info,
	.free = info_free,
};

int
marathon_framework(struct marathon *m, int may_block, int64_t deadline,
    char *fw, size_t fwsz, char *url, size_t urlsz, struct buf *msg)
{
	struct snapref *r;
	const char *v;
	int rc;

	if ((rc = snapcache_get(m->info, may_block, deadline, &r, msg)) != 0)
		return rc;
	if (fw) {
		v = jstr(r->data, "frameworkId");
		snprintf(fw, fwsz, "%s", v ? v : "");
	}
	if (url) {
		v = jstr(json_object_get(r->data, "marathon_config"),
		    "mesos_leader_ui_url");
		snprintf(url, urlsz, "%s", v ? v : "");
	}
	snapcache_put(m->info, r);
	return 0;
}

static const struct snapcache_ops deps_ops = {
	.name = "marathon deployments",
	.fetch = fetch_deps,
	.free = deps_free,
	.changed = deps_changed,
};

/* ---- lifecycle ---------------------------------------------------------- */

struct marathon *
marathon_new(const struct marathon_opts *o, struct buf *msg)
{
	struct http_client_opts ho = { 0 };
	struct marathon *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->opts = *o;
	m->urls = strdup(o->urls);
	m->opts.urls = m->urls;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->ev_lock, NULL);
	ho.name = "marathon";
	ho.urls = o->urls;
	ho.userpwd = o->userpwd;
	ho.insecure = o->insecure;
	ho.max_body = o->max_body;
	m->http = http_client_new(&ho);
	if (m->http == NULL) {
		buf_addstr(msg, "marathon: no usable URL in --marathon");
		goto fail;
	}
	m->apps = snapcache_new(&apps_ops, m, o->ttl_ms, o->timeout_ms);
	m->deps = snapcache_new(&deps_ops, m, o->ttl_ms, o->timeout_ms);
	/* The framework id and the Mesos leader rarely change: an hour, and
	 * again after every event-stream reconnect. */
	m->info = snapcache_new(&info_ops, m, 3600 * 1000, o->timeout_ms);
	if (m->apps == NULL || m->deps == NULL || m->info == NULL)
		goto fail;
	return m;
fail:
	marathon_free(m);
	return NULL;
}

int
marathon_start(struct marathon *m, mara_change_fn fn, void *arg)
{
	int rc;

	m->change_fn = fn;
	m->change_arg = arg;
	if ((rc = snapcache_start(m->apps)) != 0 ||
	    (rc = snapcache_start(m->deps)) != 0 ||
	    (rc = snapcache_start(m->info)) != 0)
		return rc;
	/* Start fetching now so the first ls finds a snapshot. */
	snapcache_invalidate(m->apps, SC_EAGER);
	if (m->opts.events)
		return mara_events_start(m);
	return 0;
}

void
marathon_shutdown(struct marathon *m)
{
	if (m == NULL)
		return;
	m->stopping = 1;
	mara_events_stop(m);
	snapcache_stop(m->apps);
	snapcache_stop(m->deps);
	snapcache_stop(m->info);
}

void
marathon_free(struct marathon *m)
{
	if (m == NULL)
		return;
	marathon_shutdown(m);
	snapcache_free(m->apps);
	snapcache_free(m->deps);
	snapcache_free(m->info);
	http_client_free(m->http);
	marathon_versions_free(m);
	mara_refused_clear(m);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->ev_lock);
	free(m->urls);
	free(m);
}

int
marathon_apps(struct marathon *m, int may_block, int64_t deadline,
    struct mara_snap **out, struct buf *msg)
{
	struct snapref *r;
	int rc;

	rc = snapcache_get(m->apps, may_block, deadline, &r, msg);
	if (rc != 0)
		return rc;
	*out = r->data;
	(*out)->ref = r;
	return 0;
}

void
marathon_apps_put(struct marathon *m, struct mara_snap *s)
{
	if (s)
		snapcache_put(m->apps, s->ref);
}

int
marathon_deps(struct marathon *m, int may_block, int64_t deadline,
    struct mara_deps **out, struct buf *msg)
{
	struct snapref *r;
	int rc;

	rc = snapcache_get(m->deps, may_block, deadline, &r, msg);
	if (rc != 0)
		return rc;
	*out = r->data;
	(*out)->ref = r;
	return 0;
}

void
marathon_deps_put(struct marathon *m, struct mara_deps *d)
{
	if (d)
		snapcache_put(m->deps, d->ref);
}

void
marathon_invalidate(struct marathon *m)
{
	snapcache_invalidate(m->apps, SC_HARD);
	snapcache_invalidate(m->deps, SC_HARD);
}

void
marathon_wrote(struct marathon *m)
{
	/* The writer will read its app back; a deployment list is only
	 * fetched when someone looks. */
	snapcache_invalidate(m->apps, SC_HARD | SC_EAGER);
	snapcache_invalidate(m->deps, SC_HARD);
}

void
marathon_changed(struct marathon *m)
{
	snapcache_changed(m->apps);
	snapcache_changed(m->deps);
}

void
marathon_poll_deps(struct marathon *m)
{
	snapcache_invalidate(m->deps, SC_EAGER);
}

int64_t
marathon_time_ms(const char *s)
{
	return iso8601_ms(s);
}

/* ---- queries ----------------------------------------------------------- */

/* First index whose id is >= key. */
static size_t
lower_bound(const struct mara_snap *s, const char *key)
{
	size_t lo = 0, hi = s->napps, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(s->apps[mid].id, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mara_app *
mara_find(const struct mara_snap *s, const char *id)
{
	size_t i = lower_bound(s, id);

	if (i < s->napps && strcmp(s->apps[i].id, id) == 0)
		return &s->apps[i];
	return NULL;
}

/* Group prefix "/prod/" for "/prod", "/" for the root. */
static void
group_prefix(const char *gid, char *out, size_t outsz)
{
	if (strcmp(gid, "/") == 0 || gid[0] == '\0')
		snprintf(out, outsz, "/");
	else
		snprintf(out, outsz, "%s/", gid);
}

int
mara_kind(const struct mara_snap *s, const char *id)
{
	char prefix[4096];
	size_t i;

	if (strcmp(id, "/") == 0)
		return MARA_GROUP;
	if (mara_find(s, id))
		return MARA_APP;
	group_prefix(id, prefix, sizeof(prefix));
	i = lower_bound(s, prefix);
	if (i < s->napps && strncmp(s->apps[i].id, prefix, strlen(prefix)) == 0)
		return MARA_GROUP;
	return MARA_NONE;
}

int
mara_list_group(const struct mara_snap *s, const char *gid, mara_list_fn fn,
    void *arg)
{
	char prefix[4096], name[256], last[256] = "";
	const char *rest, *slash;
	size_t i, plen, n;
	int rc;

	group_prefix(gid, prefix, sizeof(prefix));
	plen = strlen(prefix);
	/* Ids sharing a prefix are contiguous in sorted order. */
	for (i = lower_bound(s, prefix); i < s->napps; i++) {
		if (strncmp(s->apps[i].id, prefix, plen) != 0)
			break;
		rest = s->apps[i].id + plen;
		slash = strchr(rest, '/');
		n = slash ? (size_t)(slash - rest) : strlen(rest);
		if (n == 0 || n >= sizeof(name))
			continue;
		memcpy(name, rest, n);
		name[n] = '\0';
		if (strcmp(name, last) == 0)
			continue;
		memcpy(last, name, n + 1);
		if ((rc = fn(arg, name, slash ? MARA_M_GROUP : MARA_M_APP)) != 0)
			return rc;
	}
	return 0;
}

int
mara_app_json(const struct mara_snap *s, const char *id, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);
	json_t *def;
	int rc;

	if (a == NULL)
		return -ENOENT;
	if ((def = mara_definition(a->obj)) == NULL)
		return -ENOMEM;
	rc = json_to_buf(def, out, JSON_INDENT(2));
	json_decref(def);
	if (rc == 0)
		rc = buf_addch(out, '\n');
	return rc;
}

int
mara_app_instances(const struct mara_snap *s, const char *id, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);

	if (a == NULL)
		return -ENOENT;
	if (a->bad)
		return -EIO;	/* .archonfs/status names the field */
	return buf_printf(out, "%lld\n", jint(a->obj, "instances"));
}

int64_t
mara_app_mtime(const struct mara_snap *s, const char *id)
{
	struct mara_app *a = mara_find(s, id);
	json_t *vi;
	int64_t t;

	if (a == NULL)
		return 0;
	t = iso8601_ms(jstr(a->obj, "version"));
	if (t == 0 && (vi = json_object_get(a->obj, "versionInfo")) != NULL)
		t = iso8601_ms(jstr(vi, "lastConfigChangeAt"));
	return t;
}

/* The state an operator asks about first, derived as Marathon's UI does. */
static const char *
app_state(json_t *app)
{
	json_t *deps = json_object_get(app, "deployments");
	long long want = jint(app, "instances"), run = jint(app, "tasksRunning");

	if (json_is_array(deps) && json_array_size(deps) > 0)
		return "deploying";
	if (want == 0 && run == 0)
		return "suspended";
	if (run < want)
		return "waiting";
	return "running";
}

int
mara_app_status(const struct mara_snap *s, const char *id, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);
	json_t *deps, *d, *vi, *ltf;
	size_t i;

	if (a == NULL)
		return -ENOENT;
	if (a->bad)
		return -EIO;	/* .archonfs/status names the field */
	buf_printf(out, "state: %s\n", app_state(a->obj));
	buf_printf(out, "instances: %lld\n", jint(a->obj, "instances"));
	buf_printf(out, "running: %lld\n", jint(a->obj, "tasksRunning"));
	buf_printf(out, "healthy: %lld\n", jint(a->obj, "tasksHealthy"));
	buf_printf(out, "unhealthy: %lld\n", jint(a->obj, "tasksUnhealthy"));
	buf_printf(out, "staged: %lld\n", jint(a->obj, "tasksStaged"));
	add_kv(out, "version", jstr(a->obj, "version") ?
	    jstr(a->obj, "version") : "unknown");
	vi = json_object_get(a->obj, "versionInfo");
	if (jstr(vi, "lastConfigChangeAt"))
		add_kv(out, "config_changed", jstr(vi, "lastConfigChangeAt"));
	if (jstr(vi, "lastScalingAt"))
		add_kv(out, "scaled", jstr(vi, "lastScalingAt"));
	buf_addstr(out, "deployment:");
	deps = json_object_get(a->obj, "deployments");
	if (!json_is_array(deps) || json_array_size(deps) == 0)
		buf_addstr(out, " none");
	json_array_foreach(deps, i, d) {
		if (jstr(d, "id")) {
			buf_addch(out, ' ');
			add_value(out, jstr(d, "id"));
		}
	}
	buf_addch(out, '\n');
	ltf = json_object_get(a->obj, "lastTaskFailure");
	if (json_is_object(ltf)) {
		const char *msg = jstr(ltf, "message");

		buf_addstr(out, "last_failure: ");
		add_value(out, jstr(ltf, "state") ? jstr(ltf, "state") : "?");
		buf_addch(out, ' ');
		add_value(out, jstr(ltf, "taskId") ? jstr(ltf, "taskId") : "?");
		buf_addstr(out, " on ");
		add_value(out, jstr(ltf, "host") ? jstr(ltf, "host") : "?");
		buf_addstr(out, " at ");
		add_value(out, jstr(ltf, "timestamp") ? jstr(ltf, "timestamp") : "?");
		if (msg && *msg) {
			buf_addstr(out, ": ");
			add_value(out, msg);
		}
		buf_addch(out, '\n');
	}
	return out->err;
}


static json_t *
find_task(const struct mara_snap *s, const char *id, const char *task)
{
	struct mara_app *a = mara_find(s, id);
	json_t *tasks, *t;
	size_t i;

	if (a == NULL)
		return NULL;
	tasks = json_object_get(a->obj, "tasks");
	json_array_foreach(tasks, i, t) {
		const char *tid = jstr(t, "id");

		if (tid && strcmp(tid, task) == 0 && name_usable(tid))
			return t;
	}
	return NULL;
}

int
mara_list_tasks(const struct mara_snap *s, const char *id, mara_list_fn fn,
    void *arg)
{
	struct mara_app *a = mara_find(s, id);
	json_t *tasks, *t;
	size_t i;
	int rc;

	if (a == NULL)
		return -ENOENT;
	tasks = json_object_get(a->obj, "tasks");
	json_array_foreach(tasks, i, t) {
		const char *tid = jstr(t, "id");

		if (name_usable(tid) && (rc = fn(arg, tid, MARA_M_TASK)) != 0)
			return rc;
	}
	return 0;
}

int
mara_task_kind(const struct mara_snap *s, const char *id, const char *task)
{
	return find_task(s, id, task) ? MARA_M_TASK : -ENOENT;
}

int
mara_task_json(const struct mara_snap *s, const char *id, const char *task,
    struct buf *out)
{
	json_t *t = find_task(s, id, task);
	int rc;

	if (t == NULL)
		return -ENOENT;
	rc = json_to_buf(t, out, JSON_INDENT(2));
	return rc ? rc : buf_addch(out, '\n');
}

static const char *
task_health(const struct mara_snap *s, const char *id, json_t *t)
{
	json_t *hcr = json_object_get(t, "healthCheckResults"), *h, *checks;
	struct mara_app *a = mara_find(s, id);
	size_t i;
	int alive = 1;

	if (json_is_array(hcr) && json_array_size(hcr) > 0) {
		json_array_foreach(hcr, i, h)
			if (!json_is_true(json_object_get(h, "alive")))
				alive = 0;
		return alive ? "healthy" : "unhealthy";
	}
	checks = a ? json_object_get(a->obj, "healthChecks") : NULL;
	if (json_is_array(checks) && json_array_size(checks) > 0)
		return "unknown";
	return "none";
}

int
mara_task_status(const struct mara_snap *s, const char *id, const char *task,
    struct buf *out)
{
	json_t *t = find_task(s, id, task), *ports, *p, *ips, *ip;
	size_t i;

	if (t == NULL)
		return -ENOENT;
	add_kv(out, "state", jstr(t, "state") ? jstr(t, "state") : "unknown");
	add_kv(out, "host", jstr(t, "host") ? jstr(t, "host") : "");
	buf_addstr(out, "ports:");
	ports = json_object_get(t, "ports");
	json_array_foreach(ports, i, p)
		if (json_is_integer(p))
			buf_printf(out, " %lld", (long long)json_integer_value(p));
	buf_addch(out, '\n');
	ips = json_object_get(t, "ipAddresses");
	if (json_is_array(ips) && json_array_size(ips) > 0) {
		buf_addstr(out, "ip:");
		json_array_foreach(ips, i, ip) {
			if (jstr(ip, "ipAddress")) {
				buf_addch(out, ' ');
				add_value(out, jstr(ip, "ipAddress"));
			}
		}
		buf_addch(out, '\n');
	}
	buf_printf(out, "health: %s\n", task_health(s, id, t));
	if (jstr(t, "stagedAt"))
		add_kv(out, "staged", jstr(t, "stagedAt"));
	if (jstr(t, "startedAt"))
		add_kv(out, "started", jstr(t, "startedAt"));
	if (jstr(t, "version"))
		add_kv(out, "version", jstr(t, "version"));
	if (jstr(t, "slaveId"))
		add_kv(out, "agent", jstr(t, "slaveId"));
	return out->err;
}

const char *
mara_task_agent(const struct mara_snap *s, const char *id, const char *task)
{
	json_t *t = find_task(s, id, task);

	return t ? jstr(t, "slaveId") : NULL;
}

int64_t
mara_task_mtime(const struct mara_snap *s, const char *id, const char *task)
{
	json_t *t = find_task(s, id, task);
	int64_t ms;

	if (t == NULL)
		return 0;
	ms = iso8601_ms(jstr(t, "startedAt"));
	return ms ? ms : iso8601_ms(jstr(t, "stagedAt"));
}

static int
map_member(const char *field, json_t *v)
{
	if (strcmp(field, "labels") == 0)
		return json_is_string(v) ? MARA_M_LABEL : -ENOENT;
	if (json_is_string(v))
		return MARA_M_VAR;
	return MARA_M_SECRET_VAR;	/* {"secret": "name"}: a reference */
}

int
mara_list_map(const struct mara_snap *s, const char *id, const char *field,
    mara_list_fn fn, void *arg)
{
	struct mara_app *a = mara_find(s, id);
	const char *key;
	json_t *map, *v;
	int rc, kind;

	if (a == NULL)
		return -ENOENT;
	map = json_object_get(a->obj, field);
	json_object_foreach(map, key, v) {
		kind = map_member(field, v);
		if (kind < 0 || !name_usable(key))
			continue;
		if ((rc = fn(arg, key, kind)) != 0)
			return rc;
	}
	return 0;
}

int
mara_map_value(const struct mara_snap *s, const char *id, const char *field,
    const char *key, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);
	json_t *v;
	int kind, rc;

	if (a == NULL || !name_usable(key))
		return -ENOENT;
	v = json_object_get(json_object_get(a->obj, field), key);
	if (v == NULL || (kind = map_member(field, v)) < 0)
		return -ENOENT;
	if (out == NULL)
		return kind;
	if (json_is_string(v))
		rc = buf_add(out, json_string_value(v), json_string_length(v));
	else
		rc = json_to_buf(v, out, JSON_COMPACT);
	if (rc == 0)
		rc = buf_addch(out, '\n');
	return rc ? rc : kind;
}

size_t
mara_app_count(const struct mara_snap *s)
{
	return s->napps;
}

size_t
mara_task_count(const struct mara_snap *s)
{
	return s->ntasks;
}

uint64_t
mara_snap_gen(const struct mara_snap *s)
{
	return s->ref ? s->ref->gen : 0;
}

int
mara_each_app(const struct mara_snap *s, int (*fn)(void *, const char *),
    void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < s->napps; i++)
		if ((rc = fn(arg, s->apps[i].id)) != 0)
			return rc;
	return 0;
}

const char *
mara_app_label(const struct mara_snap *s, const char *id, const char *key)
{
	struct mara_app *a = mara_find(s, id);

	return a ? jstr(json_object_get(a->obj, "labels"), key) : NULL;
}

int
mara_app_unhealthy(const struct mara_snap *s, const char *id)
{
	struct mara_app *a = mara_find(s, id);

	return a && (jint(a->obj, "tasksUnhealthy") > 0 ||
	    strcmp(app_state(a->obj), "waiting") == 0);
}

int
mara_each_task_host(const struct mara_snap *s, const char *id,
    int (*fn)(void *, const char *), void *arg)
{
	struct mara_app *a = mara_find(s, id);
	json_t *tasks, *t, *u;
	const char *host;
	size_t i, j;
	int rc, seen;

	if (a == NULL)
		return -ENOENT;
	tasks = json_object_get(a->obj, "tasks");
	json_array_foreach(tasks, i, t) {
		if ((host = jstr(t, "host")) == NULL || *host == '\0')
			continue;
		seen = 0;
		for (j = 0; j < i && !seen; j++) {
			u = json_array_get(tasks, j);
			seen = jstr(u, "host") && strcmp(jstr(u, "host"), host) == 0;
		}
		if (!seen && (rc = fn(arg, host)) != 0)
			return rc;
	}
	return 0;
}

/* ---- deployment queries ------------------------------------------------ */

static json_t *
find_dep(const struct mara_deps *d, const char *id)
{
	json_t *e;
	size_t i;

	json_array_foreach(d->root, i, e) {
		const char *did = jstr(e, "id");

		if (did && strcmp(did, id) == 0 && name_usable(did))
			return e;
	}
	return NULL;
}

int
mara_list_deps(const struct mara_deps *d, mara_list_fn fn, void *arg)
{
	json_t *e;
	size_t i;
	int rc;

	json_array_foreach(d->root, i, e) {
		const char *did = jstr(e, "id");

		if (name_usable(did) && (rc = fn(arg, did, MARA_M_DEPLOYMENT)) != 0)
			return rc;
	}
	return 0;
}

int
mara_dep_exists(const struct mara_deps *d, const char *id)
{
	return find_dep(d, id) != NULL;
}

int
mara_dep_json(const struct mara_deps *d, const char *id, struct buf *out)
{
	json_t *e = find_dep(d, id);
	int rc;

	if (e == NULL)
		return -ENOENT;
	rc = json_to_buf(e, out, JSON_INDENT(2));
	return rc ? rc : buf_addch(out, '\n');
}

int
mara_dep_status(const struct mara_deps *d, const char *id, struct buf *out)
{
	json_t *e = find_dep(d, id), *apps, *a, *acts, *act;
	size_t i;

	if (e == NULL)
		return -ENOENT;
	buf_printf(out, "id: %s\n", id);
	add_kv(out, "version", jstr(e, "version") ? jstr(e, "version") : "");
	buf_addstr(out, "apps:");
	apps = json_object_get(e, "affectedApps");
	json_array_foreach(apps, i, a) {
		if (json_is_string(a)) {
			buf_addch(out, ' ');
			add_value(out, json_string_value(a));
		}
	}
	buf_addch(out, '\n');
	buf_printf(out, "step: %lld/%lld\n", jint(e, "currentStep"),
	    jint(e, "totalSteps"));
	buf_addstr(out, "actions:");
	acts = json_object_get(e, "currentActions");
	if (!json_is_array(acts) || json_array_size(acts) == 0)
		buf_addstr(out, " none");
	json_array_foreach(acts, i, act) {
		const char *what = jstr(act, "action");
		const char *on = jstr(act, "app") ? jstr(act, "app") : jstr(act, "pod");

		buf_addstr(out, i ? ", " : " ");
		add_value(out, what ? what : "?");
		buf_addch(out, ' ');
		add_value(out, on ? on : "?");
	}
	buf_addch(out, '\n');
	return out->err;
}

/* ---- status ------------------------------------------------------------ */

static void
fmt_wall(char *out, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
marathon_status(struct marathon *m, struct buf *out)
{
	struct snapcache_info ai, di;
	struct http_stats hs;
	struct snapref *r;
	char when[32];

	http_stats_get(m->http, &hs);
	snapcache_info(m->apps, &ai);
	snapcache_info(m->deps, &di);
	r = snapcache_peek(m->apps);

	if (ai.stale || (!ai.have && hs.failures)) {
		buf_addstr(out, "marathon: down");
		if (ai.stale_since_wall_ms) {
			fmt_wall(when, sizeof(when), ai.stale_since_wall_ms);
			buf_printf(out, " since %s", when);
		}
		buf_printf(out, "%s\n", ai.have ? " (serving a stale snapshot)" : "");
	} else if (ai.have) {
		buf_addstr(out, "marathon: up\n");
	} else {
		buf_addstr(out, "marathon: connecting\n");
	}
	buf_printf(out, "  url: %s\n", hs.url);
	buf_printf(out, "  requests: %llu\n", (unsigned long long)hs.requests);
	buf_printf(out, "  failures: %llu\n", (unsigned long long)hs.failures);
	buf_printf(out, "  latency_ms: %lld\n", (long long)hs.last_latency_ms);
	buf_printf(out, "  last_error: %s\n", hs.last_error[0] ? hs.last_error : "none");
	if (ai.stale)
		buf_printf(out, "  refresh_error: %s\n", ai.last_msg);
	if (r) {
		struct mara_snap *s = r->data;

		buf_printf(out, "  snapshot: %zu apps, %zu tasks, %zu bytes, "
		    "age %lld ms, fetch %lld ms, generation %llu%s\n", s->napps,
		    s->ntasks, s->body_bytes, (long long)ai.age_ms,
		    (long long)ai.last_fetch_ms, (unsigned long long)ai.gen,
		    ai.stale ? ", stale" : "");
		if (s->skipped)
			buf_printf(out, "  skipped: %zu apps with unusable ids\n",
			    s->skipped);
		if (s->malformed)
			buf_printf(out, "  malformed: %zu apps with a field of the "
			    "wrong type, their instances and status fail with EIO "
			    "(first: %s: \"%s\")\n", s->malformed, s->malformed_id,
			    s->malformed_field);
		snapcache_put(m->apps, r);
	} else {
		buf_addstr(out, "  snapshot: none\n");
	}
	buf_printf(out, "  refreshes: %llu (%llu failed)\n",
	    (unsigned long long)(ai.refreshes + di.refreshes),
	    (unsigned long long)(ai.failures + di.failures));
	pthread_mutex_lock(&m->ev_lock);
	if (!m->opts.events) {
		buf_addstr(out, "  events: off\n");
	} else if (m->ev_connected) {
		fmt_wall(when, sizeof(when), m->ev_since_wall_ms);
		buf_printf(out, "  events: connected since %s, %llu received, "
		    "%llu reconnects%s%s\n", when, (unsigned long long)m->ev_count,
		    (unsigned long long)m->ev_reconnects,
		    m->ev_reconnects && m->ev_last_drop[0] ? "; last drop: " : "",
		    m->ev_reconnects ? m->ev_last_drop : "");
	} else {
		buf_printf(out, "  events: disconnected%s%s\n",
		    m->ev_error[0] ? ": " : "", m->ev_error);
	}
	pthread_mutex_unlock(&m->ev_lock);
}
