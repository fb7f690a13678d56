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

#include "ahead.h"
#include "marathon_int.h"

#define APPS_PATH "/v2/apps?embed=apps.tasks&embed=apps.counts" \
	"&embed=apps.deployments&embed=apps.lastTaskFailure"

/* Fields Marathon adds to an app that are not part of its definition. */
static const char *const runtime_fields[] = {
	"tasks", "tasksStaged", "tasksRunning", "tasksHealthy",
	"tasksUnhealthy", "deployments", "lastTaskFailure",
	"readinessCheckResults", "tasksStats", "version", "versionInfo",
	NULL
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
	for (i = 0; runtime_fields[i]; i++)
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
	enum jp_type	 type;		/* JP_INT: any number */
} typed_fields[] = {
	{ "instances", JP_INT },
	{ "tasksRunning", JP_INT },
	{ "tasksHealthy", JP_INT },
	{ "tasksUnhealthy", JP_INT },
	{ "tasksStaged", JP_INT },
	{ "tasks", JP_ARR },
	{ "deployments", JP_ARR },
	{ "env", JP_OBJ },
	{ "labels", JP_OBJ },
	{ "version", JP_STR },
};

/* A string member, or NULL. */
static const char *
pstr(struct jp o, const char *key)
{
	return jp_str(jp_get(o, key), NULL);
}

static long long
pint(struct jp o, const char *key)
{
	return jp_int(jp_get(o, key));
}

static const char *
bad_field(struct jp app)
{
	enum jp_type t;
	size_t i;

	for (i = 0; i < sizeof(typed_fields) / sizeof(typed_fields[0]); i++) {
		t = jp_type(jp_get(app, typed_fields[i].name));
		if (t == JP_NONE || t == JP_NULL)
			continue;
		if (typed_fields[i].type == JP_INT ? t != JP_INT && t != JP_REAL :
		    t != typed_fields[i].type)
			return typed_fields[i].name;
	}
	return NULL;
}

static void
app_put(struct mara_app *a)
{
	if (a && __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		jpack_free(a->pk);
		free(a);
	}
}

static struct mara_app *
app_hold(struct mara_app *a)
{
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
	return a;
}

/*
 * An app from its reply text (one element of "apps", or the "app" of a
 * single-app reply): 0 with *out, 1 when it is not an app with a usable id
 * (skipped), -errno with words in err when the text is not JSON.
 */
static int
app_build(const char *text, size_t len, uint64_t hash, struct mara_app **out,
    char *err, size_t errsz)
{
	struct mara_app *a;
	struct jpack *pk;
	struct jp r, deps, vi;
	size_t used;
	int rc;

	*out = NULL;
	if ((rc = jpack_parse(text, len, &pk, &used, err, errsz)) != 0)
		return rc;
	if (used != len) {
		jpack_free(pk);
		snprintf(err, errsz, "text after a value at byte %zu", used);
		return -EINVAL;
	}
	r = jpack_root(pk);
	if (jp_type(r) != JP_OBJ || !id_usable(pstr(r, "id"))) {
		jpack_free(pk);
		return 1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		jpack_free(pk);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	a->pk = pk;
	a->refs = 1;
	a->id = pstr(r, "id");
	a->hash = hash;
	a->len = len;
	a->bad = bad_field(r);
	a->instances = pint(r, "instances");
	a->running = pint(r, "tasksRunning");
	a->healthy = pint(r, "tasksHealthy");
	a->unhealthy = pint(r, "tasksUnhealthy");
	a->staged = pint(r, "tasksStaged");
	a->ntasks = jp_count(jp_get(r, "tasks"));
	deps = jp_get(r, "deployments");
	a->deploying = jp_type(deps) == JP_ARR && jp_count(deps) > 0;
	a->mtime_ms = iso8601_ms(pstr(r, "version"));
	vi = jp_get(r, "versionInfo");
	if (a->mtime_ms == 0)
		a->mtime_ms = iso8601_ms(pstr(vi, "lastConfigChangeAt"));
	*out = a;
	return 0;
}

static int
app_cmp(const void *a, const void *b)
{
	return strcmp((*(struct mara_app *const *)a)->id,
	    (*(struct mara_app *const *)b)->id);
}

static void
snap_free(void *data)
{
	struct mara_snap *s = data;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->napps; i++)
		app_put(s->apps[i]);
	free(s->apps);
	free(s);
}

static int
snap_add(struct mara_snap *s, size_t *alloc, struct mara_app *a)
{
	struct mara_app **na;

	if (s->napps == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 64;
		if ((na = realloc(s->apps, *alloc * sizeof(*na))) == NULL)
			return -ENOMEM;
		s->apps = na;
	}
	s->apps[s->napps++] = a;
	return 0;
}

/* Sort by id, drop duplicate ids (a hostile or broken reply: keep the
 * first), and count what status shows. */
static void
snap_finish(struct mara_snap *s)
{
	size_t i, n;

	if (s->napps > 1)
		qsort(s->apps, s->napps, sizeof(*s->apps), app_cmp);
	for (i = 1, n = s->napps ? 1 : 0; i < s->napps; i++) {
		if (strcmp(s->apps[i]->id, s->apps[n - 1]->id) == 0) {
			app_put(s->apps[i]);
			s->skipped++;
			continue;
		}
		s->apps[n++] = s->apps[i];
	}
	s->napps = n;
	s->ntasks = s->packed_bytes = s->malformed = 0;
	s->malformed_id = s->malformed_field = NULL;
	for (i = 0; i < s->napps; i++) {
		s->ntasks += s->apps[i]->ntasks;
		s->packed_bytes += jpack_size(s->apps[i]->pk) + sizeof(**s->apps);
		if (s->apps[i]->bad && s->malformed++ == 0) {
			s->malformed_id = s->apps[i]->id;
			s->malformed_field = s->apps[i]->bad;
		}
	}
}

/*
 * Building a snapshot from a whole /v2/apps reply.  Each element of "apps"
 * is delimited and hashed first; an element whose bytes are those of an
 * app of the previous snapshot is that app (shared, not parsed again), so
 * a refresh costs parsing only what changed.
 */
struct build {
	struct mara_snap	*s;
	size_t			 alloc;
	struct mara_app		**old;		/* reuse table by hash, or NULL */
	size_t			 nold;		/* its size: a power of two */
	int			 seen_apps;
	char			 err[256];
};

static struct mara_app *
reuse_find(struct build *b, uint64_t hash, size_t len)
{
	size_t h;

	if (b->old == NULL)
		return NULL;
	for (h = (size_t)hash & (b->nold - 1); b->old[h];
	    h = (h + 1) & (b->nold - 1))
		if (b->old[h]->hash == hash && b->old[h]->len == len)
			return b->old[h];
	return NULL;
}

static void
reuse_index(struct build *b, const struct mara_snap *old)
{
	size_t i, h, n = 16;

	if (old == NULL || old->napps == 0)
		return;
	while (n < old->napps * 2)
		n *= 2;
	if ((b->old = calloc(n, sizeof(*b->old))) == NULL)
		return;		/* no reuse: everything is parsed */
	b->nold = n;
	for (i = 0; i < old->napps; i++) {
		for (h = (size_t)old->apps[i]->hash & (n - 1); b->old[h];
		    h = (h + 1) & (n - 1))
			;
		b->old[h] = old->apps[i];
	}
}

static int
build_app(void *arg, const char *key, const char *text, size_t len)
{
	struct build *b = arg;
	uint64_t hash = hash64(text, len);
	struct mara_app *a;
	int rc;

	(void)key;
	if ((a = reuse_find(b, hash, len)) != NULL)
		a = app_hold(a);
	else if ((rc = app_build(text, len, hash, &a, b->err,
	    sizeof(b->err))) != 0) {
		if (rc < 0)
			return rc;
		b->s->skipped++;
		return 0;
	}
	if (snap_add(b->s, &b->alloc, a) != 0) {
		app_put(a);
		snprintf(b->err, sizeof(b->err), "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int
build_member(void *arg, const char *key, const char *text, size_t len)
{
	struct build *b = arg;
	struct jpack *pk;
	int rc;

	if (strcmp(key, "apps") == 0) {
		if (b->seen_apps++) {
			snprintf(b->err, sizeof(b->err), "\"apps\" twice");
			return -EINVAL;
		}
		if (len == 0 || text[0] != '[') {
			snprintf(b->err, sizeof(b->err), "reply has no \"apps\" array");
			return -EINVAL;
		}
		return jpack_each(text, len, 0, build_app, b, b->err,
		    sizeof(b->err));
	}
	/* Anything else is not used, but must be JSON too. */
	if ((rc = jpack_parse(text, len, &pk, NULL, b->err,
	    sizeof(b->err))) != 0)
		return rc;
	jpack_free(pk);
	return 0;
}

static int
snap_build(const char *text, size_t len, const struct mara_snap *old,
    struct mara_snap **out, struct buf *msg)
{
	struct build b;
	int rc;

	memset(&b, 0, sizeof(b));
	*out = NULL;
	if ((b.s = calloc(1, sizeof(*b.s))) == NULL)
		return -ENOMEM;
	b.s->body_bytes = len;
	reuse_index(&b, old);
	rc = jpack_each(text, len, 1, build_member, &b, b.err, sizeof(b.err));
	if (rc == 0 && !b.seen_apps) {
		snprintf(b.err, sizeof(b.err), "reply has no \"apps\" array");
		rc = -EIO;
	}
	free(b.old);
	if (rc != 0) {
		buf_printf(msg, "marathon: GET /v2/apps: unreadable reply: %s",
		    b.err);
		snap_free(b.s);
		return rc == -ENOMEM ? rc : -EIO;
	}
	snap_finish(b.s);
	*out = b.s;
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
	return snap_build(text, len, NULL, out, msg);
}

void
marathon_snap_free(struct mara_snap *s)
{
	snap_free(s);
}

/* ---- refreshing one app ---------------------------------------------------- */

/* What a single app's view always embeds anyway (API-NOTES 1.3). */
#define APP_EMBED	"embed=app.tasks&embed=app.counts" \
	"&embed=app.deployments&embed=app.lastTaskFailure"

/*
 * GET /v2/apps/ID followed by what: 0 with the reply in rs (path says
 * what was asked), 1 when Marathon says it does not exist (404), -errno
 * otherwise.
 */
static int
get_under(struct marathon *m, const char *id, const char *what,
    int64_t deadline, struct buf *path, struct http_resp *rs, struct buf *msg)
{
	int rc;

	if ((rc = mara_path(path, "/v2/apps", id, what)) != 0)
		return rc;
	rc = mara_get(m, path->data, deadline, rs, msg);
	return rc == -ENOENT && rs->status == 404 ? 1 : rc;
}

struct one {
	struct mara_app	*a;
	int		 seen;
	int		 skipped;
	char		 err[256];
};

static int
one_member(void *arg, const char *key, const char *text, size_t len)
{
	struct one *o = arg;
	int rc;

	if (strcmp(key, "app") != 0 || o->seen++)
		return 0;
	rc = app_build(text, len, hash64(text, len), &o->a, o->err,
	    sizeof(o->err));
	if (rc == 1)
		o->skipped = 1;
	return rc < 0 ? rc : 0;
}

/*
 * GET /v2/apps/ID (which always embeds tasks, counts, deployments and the
 * last task failure: API-NOTES 1.3): 0 with *out the app, or NULL when
 * Marathon says it does not exist (any more); -errno otherwise.
 */
static int
fetch_one(struct marathon *m, const char *id, int64_t deadline,
    struct mara_app **out, struct buf *msg)
{
	struct buf path = BUF_INIT(8192);
	struct http_resp rs;
	struct one o;
	int rc;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	http_resp_init(&rs);
	if ((rc = get_under(m, id, "?" APP_EMBED, deadline, &path, &rs,
	    msg)) != 0) {
		if (rc == 1)
			rc = 0;		/* gone */
		goto out;
	}
	rc = jpack_each(buf_str(&rs.body), rs.body.len, 1, one_member, &o,
	    o.err, sizeof(o.err));
	if (rc == 0 && (o.a == NULL || strcmp(o.a->id, id) != 0) &&
	    !o.skipped) {
		snprintf(o.err, sizeof(o.err), "no app %s in the reply", id);
		rc = -EIO;
	}
	if (rc != 0) {
		buf_reset(msg);
		buf_printf(msg, "marathon: GET %s: unreadable reply: %s",
		    path.data, o.err);
		app_put(o.a);
		rc = rc == -ENOMEM ? rc : -EIO;
		goto out;
	}
	*out = o.a;
out:
	http_resp_free(&rs);
	buf_free(&path);
	return rc;
}

struct many {
	struct mara_snap	*s;
	size_t			*alloc;
	int			 seen;
	char			 err[256];
};

static int
many_app(void *arg, const char *key, const char *text, size_t len)
{
	struct many *g = arg;
	struct mara_app *a;
	int rc;

	(void)key;
	rc = app_build(text, len, hash64(text, len), &a, g->err,
	    sizeof(g->err));
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (snap_add(g->s, g->alloc, a) != 0) {
		app_put(a);
		return -ENOMEM;
	}
	return 0;
}

static int
many_member(void *arg, const char *key, const char *text, size_t len)
{
	struct many *g = arg;

	if (strcmp(key, "*") != 0 || g->seen++)
		return 0;
	return jpack_each(text, len, 0, many_app, g, g->err, sizeof(g->err));
}

/*
 * Every app under group gid (GET /v2/apps/GID/ followed by "*", API-NOTES
 * 1.3), added to s; none when the group is gone (404).
 */
static int
fetch_group(struct marathon *m, const char *gid, int64_t deadline,
    struct mara_snap *s, size_t *alloc, struct buf *msg)
{
	struct buf path = BUF_INIT(8192);
	struct http_resp rs;
	struct many g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.s = s;
	g.alloc = alloc;
	http_resp_init(&rs);
	if ((rc = get_under(m, gid, "/*?" APP_EMBED, deadline, &path, &rs,
	    msg)) != 0) {
		if (rc == 1)
			rc = 0;		/* gone, with everything in it */
		goto out;
	}
	rc = jpack_each(buf_str(&rs.body), rs.body.len, 1, many_member, &g,
	    g.err, sizeof(g.err));
	if (rc == 0 && !g.seen) {
		snprintf(g.err, sizeof(g.err), "no \"*\" array");
		rc = -EIO;
	}
	if (rc != 0) {
		buf_reset(msg);
		buf_printf(msg, "marathon: GET %s: unreadable reply: %s",
		    path.data, g.err);
		rc = rc == -ENOMEM ? rc : -EIO;
	}
out:
	http_resp_free(&rs);
	buf_free(&path);
	return rc;
}

/* A dirty entry for a whole group: "GID/" (and "/" for the root). */
static int
is_group_entry(const char *entry)
{
	return entry[strlen(entry) - 1] == '/';
}

/* Is app id one that entry (an app id, or a group as "GID/") names? */
static int
names(const char *entry, const char *id)
{
	size_t n = strlen(entry);

	if (n > 1 && entry[n - 1] == '/')
		return strncmp(id, entry, n) == 0;
	return strcmp(id, entry) == 0;
}

/*
 * A copy of snapshot cur with what ids[] names as Marathon has it now: an
 * app id costs one GET /v2/apps/ID, a group ("GID/") one GET of all its
 * apps; everything else is shared.  What is gone is dropped.
 */
static int
snap_patch(struct marathon *m, const struct mara_snap *cur, char **ids,
    size_t nids, int64_t deadline, struct mara_snap **out, struct buf *msg)
{
	struct mara_snap *s;
	struct mara_app *a;
	size_t i, j, alloc = 0, n;
	char gid[1100];
	int rc = 0;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->body_bytes = cur->body_bytes;
	s->skipped = cur->skipped;
	for (i = 0; i < cur->napps; i++) {
		for (j = 0; j < nids; j++)
			if (names(ids[j], cur->apps[i]->id))
				break;
		if (j < nids)
			continue;
		if ((rc = snap_add(s, &alloc, app_hold(cur->apps[i]))) != 0) {
			app_put(cur->apps[i]);
			goto fail;
		}
	}
	for (j = 0; j < nids; j++) {
		n = strlen(ids[j]);
		if (n > 1 && ids[j][n - 1] == '/') {
			snprintf(gid, sizeof(gid), "%.*s", (int)(n - 1), ids[j]);
			rc = fetch_group(m, gid, deadline, s, &alloc, msg);
		} else if ((rc = fetch_one(m, ids[j], deadline, &a, msg)) == 0 &&
		    a && (rc = snap_add(s, &alloc, a)) != 0) {
			app_put(a);
		}
		if (rc != 0)
			goto fail;
	}
	snap_finish(s);
	*out = s;
	return 0;
fail:
	snap_free(s);
	return rc;
}

static int
fetch_apps(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct marathon *m = arg;
	char *ids[MARA_DIRTY_MAX];
	struct snapref *cur;
	struct http_resp rs;
	struct mara_snap *s = NULL;
	size_t nids, i, n, napps;
	int64_t t0;
	int rc, all;

	pthread_mutex_lock(&m->dirty_lock);
	nids = m->ndirty;
	memcpy(ids, m->dirty, nids * sizeof(*ids));
	m->ndirty = 0;
	all = m->dirty_all;
	m->dirty_all = 0;
	pthread_mutex_unlock(&m->dirty_lock);

	/*
	 * Every change to an app comes with an event naming it and with
	 * group_change_success for its group, the root group for an app at
	 * the top.  Re-reading a group is only needed when nothing named the
	 * apps that changed in it (a group update that touched none): when a
	 * batch names apps, its groups are dropped, or a change to one app at
	 * the top would cost the whole listing.
	 */
	for (i = 0, napps = 0; i < nids; i++)
		if (!is_group_entry(ids[i]))
			napps++;
	for (i = 0, n = 0; i < nids; i++) {
		if (napps > 0 && is_group_entry(ids[i])) {
			free(ids[i]);
			continue;
		}
		if (strcmp(ids[i], "/") == 0)
			all = 1;
		ids[n++] = ids[i];
	}
	nids = n;

	/* The whole listing at least once a TTL, whatever the events said. */
	cur = snapcache_peek(m->apps);
	pthread_mutex_lock(&m->dirty_lock);
	if (cur == NULL || now_ms() - m->last_full_ms >= m->opts.ttl_ms)
		all = 1;
	pthread_mutex_unlock(&m->dirty_lock);
	if (!all) {
		/* With no ids (another refresh took them already), nothing is
		 * asked: the copy shares every app. */
		rc = snap_patch(m, cur->data, ids, nids, deadline, &s, msg);
		if (rc == 0) {
			pthread_mutex_lock(&m->dirty_lock);
			m->app_refreshes += nids;
			pthread_mutex_unlock(&m->dirty_lock);
			goto done;
		}
		if (rc == -ETIMEDOUT || rc == -EINTR)
			goto failed;
		/* Any other failure: the whole listing says what is true. */
		buf_reset(msg);
	}
	t0 = now_ms();
	http_resp_init(&rs);
	rc = mara_get(m, APPS_PATH, deadline, &rs, msg);
	if (rc == 0)
		rc = snap_build(rs.body.data ? rs.body.data : "", rs.body.len,
		    cur ? cur->data : NULL, &s, msg);
	http_resp_free(&rs);
	if (rc != 0)
		goto failed;
	pthread_mutex_lock(&m->dirty_lock);
	m->last_full_ms = t0;
	pthread_mutex_unlock(&m->dirty_lock);
done:
	*out = s;
	goto out;
failed:
	/* Nothing is lost: the next refresh re-reads everything. */
	pthread_mutex_lock(&m->dirty_lock);
	m->dirty_all = 1;
	pthread_mutex_unlock(&m->dirty_lock);
out:
	snapcache_put(m->apps, cur);
	for (i = 0; i < nids; i++)
		free(ids[i]);
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
			c = strcmp(o->apps[i]->id, n->apps[j]->id);
		if (c < 0) {
			idset_add_with_groups(&set, o->apps[i++]->id);
		} else if (c > 0) {
			idset_add_with_groups(&set, n->apps[j++]->id);
		} else {
			if (o->apps[i] != n->apps[j] &&
			    (o->apps[i]->hash != n->apps[j]->hash ||
			    o->apps[i]->len != n->apps[j]->len)) {
				idset_add(&set, n->apps[j]->id,
				    strlen(n->apps[j]->id));
				/* A change is a new version. */
				marathon_versions_forget(m, n->apps[j]->id);
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

static void mark_dirty(struct marathon *m, const char *const *ids, size_t n);

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
	pthread_mutex_init(&m->dirty_lock, NULL);
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
	m->ahead = mara_versions_ahead_new(m);
	if (m->apps == NULL || m->deps == NULL || m->info == NULL ||
	    m->ahead == NULL)
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
	ahead_stop(m->ahead);
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
	ahead_free(m->ahead);
	snapcache_free(m->apps);
	snapcache_free(m->deps);
	snapcache_free(m->info);
	http_client_free(m->http);
	marathon_versions_free(m);
	mara_refused_clear(m);
	mark_dirty(m, NULL, 0);		/* frees the ids */
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->ev_lock);
	pthread_mutex_destroy(&m->dirty_lock);
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

/* Note what the next refresh must re-read: apps ids, or everything (ids
 * NULL, or more than one refresh fetches one by one). */
static void
mark_dirty(struct marathon *m, const char *const *ids, size_t n)
{
	size_t i, j;

	pthread_mutex_lock(&m->dirty_lock);
	if (ids == NULL || m->ndirty + n > MARA_DIRTY_MAX)
		m->dirty_all = 1;
	for (i = 0; !m->dirty_all && i < n; i++) {
		for (j = 0; j < m->ndirty; j++)
			if (strcmp(m->dirty[j], ids[i]) == 0)
				break;
		if (j < m->ndirty)
			continue;
		if ((m->dirty[m->ndirty] = strdup(ids[i])) == NULL)
			m->dirty_all = 1;
		else
			m->ndirty++;
	}
	if (m->dirty_all) {
		for (j = 0; j < m->ndirty; j++)
			free(m->dirty[j]);
		m->ndirty = 0;
	}
	pthread_mutex_unlock(&m->dirty_lock);
}

void
marathon_invalidate(struct marathon *m)
{
	marathon_versions_forget(m, NULL);
	mark_dirty(m, NULL, 0);
	snapcache_invalidate(m->apps, SC_HARD);
	snapcache_invalidate(m->deps, SC_HARD);
}

void
marathon_wrote(struct marathon *m, const char *id)
{
	/* The writer will read its app back; a deployment list is only
	 * fetched when someone looks. */
	mark_dirty(m, id ? &id : NULL, id ? 1 : 0);
	snapcache_invalidate(m->apps, SC_HARD | SC_EAGER);
	snapcache_invalidate(m->deps, SC_HARD);
}

void
marathon_changed(struct marathon *m, const char *const *ids, size_t n)
{
	mark_dirty(m, ids, n);
	snapcache_changed(m->apps);
	snapcache_changed(m->deps);
}

void
marathon_deps_changed(struct marathon *m)
{
	snapcache_changed(m->deps);
}

void
marathon_resync(struct marathon *m)
{
	/* Re-read everything, in the background: a reader waiting for the
	 * first snapshot gets it without waiting for this one too. */
	mark_dirty(m, NULL, 0);
	snapcache_invalidate(m->apps, SC_EAGER);
	snapcache_invalidate(m->deps, SC_EAGER);
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
		if (strcmp(s->apps[mid]->id, key) < 0)
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

	if (i < s->napps && strcmp(s->apps[i]->id, id) == 0)
		return s->apps[i];
	return NULL;
}

const char *
mara_next_app(const struct mara_snap *s, const char *id)
{
	size_t i = lower_bound(s, id);

	if (i < s->napps && strcmp(s->apps[i]->id, id) == 0)
		i++;
	return i < s->napps ? s->apps[i]->id : NULL;
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
	if (i < s->napps && strncmp(s->apps[i]->id, prefix, strlen(prefix)) == 0)
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
		if (strncmp(s->apps[i]->id, prefix, plen) != 0)
			break;
		rest = s->apps[i]->id + plen;
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

json_t *
mara_app_definition(const struct mara_app *a)
{
	return jp_decode(jpack_root(a->pk), runtime_fields);
}

/* An app's app.json, and its length kept in the app (mara_app_json_len). */
int
mara_app_render_json(struct mara_app *a, struct buf *out)
{
	json_t *def;
	size_t start;
	int rc;

	if ((def = mara_app_definition(a)) == NULL)
		return -ENOMEM;
	start = out->len;
	rc = json_to_buf(def, out, JSON_INDENT(2));
	json_decref(def);
	if (rc == 0)
		rc = buf_addch(out, '\n');
	if (rc == 0 && out->err == 0)
		__atomic_store_n(&a->json_len, (int64_t)(out->len - start),
		    __ATOMIC_RELAXED);
	return rc;
}

/*
 * The length of an app's app.json.  An app object never changes (a
 * refresh that finds the same bytes keeps it, a change makes a new one),
 * so its rendering's length is kept in it after the first: a listing's
 * sizes, and the stat of the version an app is at, render nothing.
 */
int
mara_app_json_len(struct mara_app *a, off_t *size)
{
	struct buf b = BUF_INIT(0);
	int64_t n;
	int rc;

	if ((n = __atomic_load_n(&a->json_len, __ATOMIC_RELAXED)) > 0) {
		*size = (off_t)n;
		return 0;
	}
	if ((rc = mara_app_render_json(a, &b)) == 0 && (rc = b.err) == 0)
		*size = (off_t)b.len;
	buf_free(&b);
	return rc;
}

int
mara_app_json(const struct mara_snap *s, const char *id, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);

	return a ? mara_app_render_json(a, out) : -ENOENT;
}

int
mara_app_json_size(const struct mara_snap *s, const char *id, off_t *size)
{
	struct mara_app *a = mara_find(s, id);

	return a ? mara_app_json_len(a, size) : -ENOENT;
}

int
mara_app_instances(const struct mara_snap *s, const char *id, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);

	if (a == NULL)
		return -ENOENT;
	if (a->bad)
		return -EIO;	/* .archonfs/status names the field */
	return buf_printf(out, "%lld\n", a->instances);
}

int64_t
mara_app_mtime(const struct mara_snap *s, const char *id)
{
	struct mara_app *a = mara_find(s, id);

	return a ? a->mtime_ms : 0;
}

/* The state an operator asks about first, derived as Marathon's UI does. */
static const char *
app_state(const struct mara_app *a)
{
	if (a->deploying)
		return "deploying";
	if (a->instances == 0 && a->running == 0)
		return "suspended";
	if (a->running < a->instances)
		return "waiting";
	return "running";
}

int
mara_app_status(const struct mara_snap *s, const char *id, struct buf *out)
{
	struct mara_app *a = mara_find(s, id);
	struct jp r, vi, d, ltf;
	struct jp_iter it;
	const char *v;

	if (a == NULL)
		return -ENOENT;
	if (a->bad)
		return -EIO;	/* .archonfs/status names the field */
	r = jpack_root(a->pk);
	buf_printf(out, "state: %s\n", app_state(a));
	buf_printf(out, "instances: %lld\n", a->instances);
	buf_printf(out, "running: %lld\n", a->running);
	buf_printf(out, "healthy: %lld\n", a->healthy);
	buf_printf(out, "unhealthy: %lld\n", a->unhealthy);
	buf_printf(out, "staged: %lld\n", a->staged);
	add_kv(out, "version", (v = pstr(r, "version")) ? v : "unknown");
	vi = jp_get(r, "versionInfo");
	if ((v = pstr(vi, "lastConfigChangeAt")) != NULL)
		add_kv(out, "config_changed", v);
	if ((v = pstr(vi, "lastScalingAt")) != NULL)
		add_kv(out, "scaled", v);
	buf_addstr(out, "deployment:");
	if (!a->deploying)
		buf_addstr(out, " none");
	jp_iter(jp_get(r, "deployments"), &it);
	while (jp_next(&it, &d, NULL, NULL)) {
		if ((v = pstr(d, "id")) != NULL) {
			buf_addch(out, ' ');
			add_value(out, v);
		}
	}
	buf_addch(out, '\n');
	ltf = jp_get(r, "lastTaskFailure");
	if (jp_type(ltf) == JP_OBJ) {
		const char *msg = pstr(ltf, "message");

		buf_addstr(out, "last_failure: ");
		add_value(out, (v = pstr(ltf, "state")) ? v : "?");
		buf_addch(out, ' ');
		add_value(out, (v = pstr(ltf, "taskId")) ? v : "?");
		buf_addstr(out, " on ");
		add_value(out, (v = pstr(ltf, "host")) ? v : "?");
		buf_addstr(out, " at ");
		add_value(out, (v = pstr(ltf, "timestamp")) ? v : "?");
		if (msg && *msg) {
			buf_addstr(out, ": ");
			add_value(out, msg);
		}
		buf_addch(out, '\n');
	}
	return out->err;
}

/* The task called task of app id, or a value of type JP_NONE. */
static struct jp
find_task(const struct mara_snap *s, const char *id, const char *task)
{
	struct mara_app *a = mara_find(s, id);
	struct jp_iter it;
	struct jp t, none = { NULL, 0 };
	const char *tid;

	if (a == NULL)
		return none;
	jp_iter(jp_get(jpack_root(a->pk), "tasks"), &it);
	while (jp_next(&it, &t, NULL, NULL)) {
		tid = pstr(t, "id");
		if (tid && strcmp(tid, task) == 0 && name_usable(tid))
			return t;
	}
	return none;
}

int
mara_list_tasks(const struct mara_snap *s, const char *id, mara_list_fn fn,
    void *arg)
{
	struct mara_app *a = mara_find(s, id);
	struct jp_iter it;
	struct jp t;
	const char *tid;
	int rc;

	if (a == NULL)
		return -ENOENT;
	jp_iter(jp_get(jpack_root(a->pk), "tasks"), &it);
	while (jp_next(&it, &t, NULL, NULL)) {
		tid = pstr(t, "id");
		if (name_usable(tid) && (rc = fn(arg, tid, MARA_M_TASK)) != 0)
			return rc;
	}
	return 0;
}

int
mara_task_kind(const struct mara_snap *s, const char *id, const char *task)
{
	return jp_type(find_task(s, id, task)) != JP_NONE ? MARA_M_TASK : -ENOENT;
}

int
mara_task_json(const struct mara_snap *s, const char *id, const char *task,
    struct buf *out)
{
	struct jp t = find_task(s, id, task);
	json_t *j;
	int rc;

	if (jp_type(t) == JP_NONE)
		return -ENOENT;
	if ((j = jp_decode(t, NULL)) == NULL)
		return -ENOMEM;
	rc = json_to_buf(j, out, JSON_INDENT(2));
	json_decref(j);
	return rc ? rc : buf_addch(out, '\n');
}

static const char *
task_health(const struct mara_snap *s, const char *id, struct jp t)
{
	struct jp hcr = jp_get(t, "healthCheckResults"), h;
	struct mara_app *a = mara_find(s, id);
	struct jp_iter it;
	int alive = 1;

	if (jp_count(hcr) > 0 && jp_type(hcr) == JP_ARR) {
		jp_iter(hcr, &it);
		while (jp_next(&it, &h, NULL, NULL))
			if (jp_type(jp_get(h, "alive")) != JP_TRUE)
				alive = 0;
		return alive ? "healthy" : "unhealthy";
	}
	if (a && jp_type(jp_get(jpack_root(a->pk), "healthChecks")) == JP_ARR &&
	    jp_count(jp_get(jpack_root(a->pk), "healthChecks")) > 0)
		return "unknown";
	return "none";
}

int
mara_task_status(const struct mara_snap *s, const char *id, const char *task,
    struct buf *out)
{
	struct jp t = find_task(s, id, task), p, ip;
	struct jp_iter it;
	const char *v;

	if (jp_type(t) == JP_NONE)
		return -ENOENT;
	add_kv(out, "state", (v = pstr(t, "state")) ? v : "unknown");
	add_kv(out, "host", (v = pstr(t, "host")) ? v : "");
	buf_addstr(out, "ports:");
	jp_iter(jp_get(t, "ports"), &it);
	while (jp_next(&it, &p, NULL, NULL))
		if (jp_type(p) == JP_INT)
			buf_printf(out, " %lld", jp_int(p));
	buf_addch(out, '\n');
	if (jp_type(jp_get(t, "ipAddresses")) == JP_ARR &&
	    jp_count(jp_get(t, "ipAddresses")) > 0) {
		buf_addstr(out, "ip:");
		jp_iter(jp_get(t, "ipAddresses"), &it);
		while (jp_next(&it, &ip, NULL, NULL)) {
			if ((v = pstr(ip, "ipAddress")) != NULL) {
				buf_addch(out, ' ');
				add_value(out, v);
			}
		}
		buf_addch(out, '\n');
	}
	buf_printf(out, "health: %s\n", task_health(s, id, t));
	if ((v = pstr(t, "stagedAt")) != NULL)
		add_kv(out, "staged", v);
	if ((v = pstr(t, "startedAt")) != NULL)
		add_kv(out, "started", v);
	if ((v = pstr(t, "version")) != NULL)
		add_kv(out, "version", v);
	if ((v = pstr(t, "slaveId")) != NULL)
		add_kv(out, "agent", v);
	return out->err;
}

const char *
mara_task_agent(const struct mara_snap *s, const char *id, const char *task)
{
	return pstr(find_task(s, id, task), "slaveId");
}

int64_t
mara_task_mtime(const struct mara_snap *s, const char *id, const char *task)
{
	struct jp t = find_task(s, id, task);
	int64_t ms;

	if (jp_type(t) == JP_NONE)
		return 0;
	ms = iso8601_ms(pstr(t, "startedAt"));
	return ms ? ms : iso8601_ms(pstr(t, "stagedAt"));
}

static int
map_member(const char *field, struct jp v)
{
	if (strcmp(field, "labels") == 0)
		return jp_type(v) == JP_STR ? MARA_M_LABEL : -ENOENT;
	if (jp_type(v) == JP_STR)
		return MARA_M_VAR;
	return MARA_M_SECRET_VAR;	/* {"secret": "name"}: a reference */
}

int
mara_list_map(const struct mara_snap *s, const char *id, const char *field,
    mara_list_fn fn, void *arg)
{
	struct mara_app *a = mara_find(s, id);
	struct jp_iter it;
	struct jp v;
	const char *key;
	size_t keylen;
	int rc, kind;

	if (a == NULL)
		return -ENOENT;
	jp_iter(jp_get(jpack_root(a->pk), field), &it);
	while (jp_next(&it, &v, &key, &keylen)) {
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
	struct jp v;
	const char *str;
	size_t n;
	json_t *j;
	int kind, rc;

	if (a == NULL || !name_usable(key))
		return -ENOENT;
	v = jp_get(jp_get(jpack_root(a->pk), field), key);
	if (jp_type(v) == JP_NONE || (kind = map_member(field, v)) < 0)
		return -ENOENT;
	if (out == NULL)
		return kind;
	if ((str = jp_str(v, &n)) != NULL) {
		rc = buf_add(out, str, n);
	} else {
		/* Any JSON value: a map member may be a number or a boolean. */
		if ((j = jp_decode(v, NULL)) == NULL)
			return -ENOMEM;
		rc = json_to_buf(j, out, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(j);
	}
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
		if ((rc = fn(arg, s->apps[i]->id)) != 0)
			return rc;
	return 0;
}

const char *
mara_app_label(const struct mara_snap *s, const char *id, const char *key)
{
	struct mara_app *a = mara_find(s, id);

	return a ? pstr(jp_get(jpack_root(a->pk), "labels"), key) : NULL;
}

int
mara_app_unhealthy(const struct mara_snap *s, const char *id)
{
	struct mara_app *a = mara_find(s, id);

	return a && (a->unhealthy > 0 || strcmp(app_state(a), "waiting") == 0);
}

int
mara_each_task_host(const struct mara_snap *s, const char *id,
    int (*fn)(void *, const char *), void *arg)
{
	struct mara_app *a = mara_find(s, id);
	struct jp_iter it, it2;
	struct jp tasks, t, u;
	const char *host, *h2;
	int rc, seen;

	if (a == NULL)
		return -ENOENT;
	tasks = jp_get(jpack_root(a->pk), "tasks");
	jp_iter(tasks, &it);
	while (jp_next(&it, &t, NULL, NULL)) {
		if ((host = pstr(t, "host")) == NULL || *host == '\0')
			continue;
		/* Said before, by an earlier task? */
		seen = 0;
		jp_iter(tasks, &it2);
		while (!seen && jp_next(&it2, &u, NULL, NULL) && u.off != t.off)
			seen = (h2 = pstr(u, "host")) != NULL &&
			    strcmp(h2, host) == 0;
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
	uint64_t n;
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
		pthread_mutex_lock(&m->dirty_lock);
		n = m->app_refreshes;
		pthread_mutex_unlock(&m->dirty_lock);
		buf_printf(out, "  memory: %zu bytes packed for %zu bytes of "
		    "JSON; %llu apps re-read one by one after events\n",
		    s->packed_bytes, s->body_bytes, (unsigned long long)n);
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

