/*
 * marathon_versions.c: an app's earlier definitions, fetched on demand.
 *
 * Marathon has no bulk call for versions: GET /v2/apps/{id}/versions lists
 * the timestamps and GET /v2/apps/{id}/versions/{ts} returns one bare App
 * (API-NOTES 1.3).  So the version list of an app is fetched when its
 * versions/ directory is read, cached for the TTL and dropped when the app
 * changes or on .archonfs/refresh (in an LRU of 4 MiB: 10,000 apps listed
 * do not stay forever); each version document is immutable and kept in a
 * 16 MiB LRU.
 * Documents are rendered like app.json (runtime fields removed) so that
 * `diff versions/X.json app.json` shows only real differences and `cp`
 * onto app.json re-applies that definition.
 *
 * The version an app is at needs no request: /v2/apps lists each app as
 * its latest version's definition, the one GET .../versions/{ts} returns
 * for that ts (both are the stored AppDefinition; the listing adds only
 * runtime fields, which are removed either way).  So a document whose ts
 * is the snapshot's "version" of the app is rendered from the snapshot, as
 * app.json is, and only earlier versions are fetched.  A walk through
 * versions/ of apps that were never changed (one version each) then costs
 * one request per app, the list, instead of two.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahead.h"
#include "lru.h"
#include "marathon_int.h"

#define VDOC_BYTES_MAX	(16u << 20)
#define VLIST_BYTES_MAX	(4u << 20)
#define AHEAD_QUEUE	384	/* apps whose versions wait to be read ahead:
				 * 1.5 times a walk's largest window */
#define AHEAD_VERSIONS	64	/* documents read ahead per app */
#define FLIGHT_SLICE_MS	100	/* a waiter looks at m->stopping this often */

struct vlist {
	char		**ts;
	size_t		 n;
	int64_t		 fetched_ms;
};

/* A list ("<id>") or document ("<id>@<ts>") being fetched. */
struct flight {
	struct flight	*next;
	char		 key[];
};

/* All guarded by m->lock; keyed by app id and by "<id>@<ts>". */
struct vcache {
	struct lru	*lists;		/* struct vlist * */
	struct lru	*docs;		/* struct buf *, rendered like app.json */
	/* Single flight: a reader that needs what another fetches waits
	 * for that fetch instead of sending its own (a walk and the
	 * read-ahead ask for the same versions). */
	struct flight	*flights;
	pthread_cond_t	 landed;
};

static void
vlist_free(void *p)
{
	struct vlist *l = p;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->ts[i]);
	free(l->ts);
	free(l);
}

static void
vdoc_free(void *p)
{
	buf_free(p);
	free(p);
}

void
marathon_versions_free(struct marathon *m)
{
	if (m->versions == NULL)
		return;
	lru_free(m->versions->lists);
	lru_free(m->versions->docs);
	pthread_cond_destroy(&m->versions->landed);
	free(m->versions);
	m->versions = NULL;
}

/* Forget the list of an app that changed, or every list (id NULL: a
 * refresh); documents are immutable and stay (called with no lock held). */
void
marathon_versions_forget(struct marathon *m, const char *id)
{
	struct lru *fresh;

	pthread_mutex_lock(&m->lock);
	if (m->versions && id)
		lru_del(m->versions->lists, id);
	else if (m->versions &&
	    (fresh = lru_new(VLIST_BYTES_MAX, 0, vlist_free)) != NULL) {
		lru_free(m->versions->lists);
		m->versions->lists = fresh;
	}
	pthread_mutex_unlock(&m->lock);
}

static struct vcache *
vc(struct marathon *m)
{
	pthread_condattr_t ca;
	struct vcache *c;

	if (m->versions)
		return m->versions;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->landed, &ca);
	pthread_condattr_destroy(&ca);
	c->lists = lru_new(VLIST_BYTES_MAX, 0, vlist_free);
	c->docs = lru_new(VDOC_BYTES_MAX, 0, vdoc_free);
	if (c->lists == NULL || c->docs == NULL) {
		lru_free(c->lists);
		lru_free(c->docs);
		pthread_cond_destroy(&c->landed);
		free(c);
		return NULL;
	}
	return m->versions = c;
}

/* Emit the cached list; returns 1 if there was a fresh one. */
static int
emit_cached(struct marathon *m, const char *id, mara_list_fn fn, void *arg,
    int *rc)
{
	struct vlist *l;
	struct vcache *c;
	char name[300];
	size_t i;
	int found = 0;

	pthread_mutex_lock(&m->lock);
	if ((c = vc(m)) != NULL && (l = lru_get(c->lists, id)) != NULL &&
	    now_ms() - l->fetched_ms < m->opts.ttl_ms) {
		found = 1;
		*rc = 0;
		for (i = 0; i < l->n && *rc == 0; i++) {
			snprintf(name, sizeof(name), "%s.json", l->ts[i]);
			*rc = fn(arg, name, MARA_M_VERSION);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

/*
 * Begin fetching key: 1 when the caller is to fetch it (and then calls
 * flight_end), 0 when a fetch of it by another caller ended meanwhile (look
 * in the cache again), or -ETIMEDOUT / -EIO (unmounting).
 */
static int
flight_begin(struct marathon *m, const char *key, int64_t deadline,
    struct buf *msg)
{
	struct flight *f;
	struct vcache *c;
	struct timespec ts;
	size_t len = strlen(key);
	int64_t until;
	int waited = 0;

	pthread_mutex_lock(&m->lock);
	if ((c = vc(m)) == NULL) {
		pthread_mutex_unlock(&m->lock);
		return 1;		/* no cache: no sharing either */
	}
	for (;;) {
		for (f = c->flights; f && strcmp(f->key, key) != 0; f = f->next)
			;
		if (f == NULL)
			break;
		if (m->stopping || now_ms() >= deadline) {
			pthread_mutex_unlock(&m->lock);
			buf_printf(msg, "marathon: %s: %s", key, m->stopping ?
			    "unmounting" : "no answer within the deadline");
			return m->stopping ? -EIO : -ETIMEDOUT;
		}
		until = now_ms() + FLIGHT_SLICE_MS;
		if (until > deadline)
			until = deadline;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000L;
		pthread_cond_timedwait(&c->landed, &m->lock, &ts);
		waited = 1;
	}
	if (waited) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if ((f = malloc(sizeof(*f) + len + 1)) != NULL) {
		memcpy(f->key, key, len + 1);
		f->next = c->flights;
		c->flights = f;
	}
	pthread_mutex_unlock(&m->lock);
	return 1;
}

static void
flight_end(struct marathon *m, const char *key)
{
	struct flight **pp, *f;

	pthread_mutex_lock(&m->lock);
	if (m->versions) {
		for (pp = &m->versions->flights; (f = *pp) != NULL; pp = &f->next)
			if (strcmp(f->key, key) == 0) {
				*pp = f->next;
				free(f);
				break;
			}
		pthread_cond_broadcast(&m->versions->landed);
	}
	pthread_mutex_unlock(&m->lock);
}

static int
ts_usable(const char *ts)
{
	const char *p;

	if (ts == NULL || *ts == '\0' || strlen(ts) > 64)
		return 0;
	for (p = ts; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == ':' ||
		    *p == 'T' || *p == 'Z' || *p == '.' || *p == '+'))
			return 0;
	return 1;
}

static int
get_json(struct marathon *m, const char *path, int64_t deadline, json_t **out,
    struct buf *msg)
{
	struct http_resp rs;
	json_error_t jerr;
	int rc;

	http_resp_init(&rs);
	if ((rc = mara_get(m, path, deadline, &rs, msg)) == 0) {
		*out = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len,
		    0, &jerr);
		if (*out == NULL) {
			buf_printf(msg, "marathon: GET %s: unreadable reply: %s",
			    path, jerr.text);
			rc = -EIO;
		}
	}
	http_resp_free(&rs);
	return rc;
}

static int fetch_list(struct marathon *m, const char *id, int64_t deadline,
    struct buf *msg);

int
marathon_list_versions(struct marathon *m, const char *id, int may_block,
    int64_t deadline, mara_list_fn fn, void *arg, struct buf *msg)
{
	int rc;

	for (;;) {
		if (emit_cached(m, id, fn, arg, &rc))
			return rc;
		if (!may_block)
			return -E_WOULDBLOCK;
		if ((rc = flight_begin(m, id, deadline, msg)) < 0)
			return rc;
		if (rc == 1)
			break;
	}
	rc = fetch_list(m, id, deadline, msg);
	flight_end(m, id);
	if (rc == 0 && !emit_cached(m, id, fn, arg, &rc))
		rc = -EIO;
	return rc;
}

/* GET the version list of app id into the cache. */
static int
fetch_list(struct marathon *m, const char *id, int64_t deadline,
    struct buf *msg)
{
	struct buf path = BUF_INIT(8192);
	struct vlist *l = NULL;
	json_t *root = NULL, *arr, *v;
	size_t i, bytes;
	int rc;

	if ((rc = mara_path(&path, "/v2/apps", id, "/versions")) != 0)
		goto out;
	if ((rc = get_json(m, path.data, deadline, &root, msg)) != 0)
		goto out;
	arr = json_object_get(root, "versions");
	if (!json_is_array(arr)) {
		buf_printf(msg, "marathon: GET %s: no \"versions\" array", path.data);
		rc = -EIO;
		goto out;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ts = calloc(json_array_size(arr) + 1, sizeof(char *))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	bytes = sizeof(*l) + strlen(id);
	json_array_foreach(arr, i, v) {
		if (json_is_string(v) && ts_usable(json_string_value(v)) &&
		    (l->ts[l->n] = strdup(json_string_value(v))) != NULL)
			bytes += strlen(l->ts[l->n++]) + sizeof(char *);
	}
	l->fetched_ms = now_ms();
	pthread_mutex_lock(&m->lock);
	if (vc(m)) {
		rc = lru_put(m->versions->lists, id, l, bytes);
		l = NULL;	/* the cache's, or freed by it */
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&m->lock);
out:
	if (l)
		vlist_free(l);
	json_decref(root);
	buf_free(&path);
	return rc;
}

static int
doc_cached(struct marathon *m, const char *key, struct buf *out)
{
	struct buf *d;
	int found = 0;

	pthread_mutex_lock(&m->lock);
	if (vc(m) && (d = lru_get(m->versions->docs, key)) != NULL) {
		buf_add(out, d->data, d->len);
		found = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

static void
doc_store(struct marathon *m, const char *key, const struct buf *text)
{
	struct buf *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return;
	buf_init(d, VDOC_BYTES_MAX);
	if (buf_add(d, text->data, text->len) != 0) {
		vdoc_free(d);
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (vc(m))
		lru_put(m->versions->docs, key, d, text->len);
	else
		vdoc_free(d);
	pthread_mutex_unlock(&m->lock);
}

static int fetch_doc(struct marathon *m, const char *id, const char *ts,
    const char *key, int64_t deadline, struct buf *out, struct buf *msg);

/*
 * Version ts of app id when it is the one the snapshot holds: rendered
 * from it into out (if out), or its length into size (if size), and 1.
 * 0 when it is not (or no snapshot is at hand without waiting): fetch it.
 */
static int
from_snapshot(struct marathon *m, const char *id, const char *ts,
    struct buf *out, off_t *size)
{
	struct buf msg = BUF_INIT(256);
	struct mara_snap *s;
	struct mara_app *a;
	const char *v;
	size_t n;
	int done = 0;

	if (marathon_apps(m, 0, 0, &s, &msg) != 0) {
		buf_free(&msg);
		return 0;
	}
	if ((a = mara_find(s, id)) != NULL &&
	    (v = jp_str(jp_get(jpack_root(a->pk), "version"), &n)) != NULL &&
	    n == strlen(ts) && memcmp(v, ts, n) == 0)
		done = out ? mara_app_render_json(a, out) == 0 :
		    size ? mara_app_json_len(a, size) == 0 : 1;
	marathon_apps_put(m, s);
	buf_free(&msg);
	return done;
}

/* An earlier version's document: from the cache, or fetched (once for
 * all who ask at the same time). */
static int
cached_or_fetched(struct marathon *m, const char *id, const char *ts,
    int may_block, int64_t deadline, struct buf *out, struct buf *msg)
{
	struct buf key = BUF_INIT(8192);
	int rc;

	buf_printf(&key, "%s@%s", id, ts);
	if (key.err) {
		rc = key.err;
		goto out;
	}
	for (;;) {
		if (doc_cached(m, key.data, out)) {
			rc = out->err;
			goto out;
		}
		if (!may_block) {
			rc = -E_WOULDBLOCK;
			goto out;
		}
		if ((rc = flight_begin(m, key.data, deadline, msg)) < 0)
			goto out;
		if (rc == 1)
			break;
	}
	rc = fetch_doc(m, id, ts, key.data, deadline, out, msg);
	flight_end(m, key.data);
out:
	buf_free(&key);
	return rc;
}

int
marathon_version_json(struct marathon *m, const char *id, const char *ts,
    int may_block, int64_t deadline, struct buf *out, struct buf *msg)
{
	if (!ts_usable(ts))
		return -ENOENT;
	if (from_snapshot(m, id, ts, out, NULL))
		return out->err;
	return cached_or_fetched(m, id, ts, may_block, deadline, out, msg);
}

int
marathon_version_size(struct marathon *m, const char *id, const char *ts,
    off_t *size)
{
	return ts_usable(ts) && from_snapshot(m, id, ts, NULL, size) ? 0 : 1;
}

/* GET one version document into the cache, and out. */
static int
fetch_doc(struct marathon *m, const char *id, const char *ts, const char *key,
    int64_t deadline, struct buf *out, struct buf *msg)
{
	struct buf path = BUF_INIT(8192);
	struct buf text = BUF_INIT(VDOC_BYTES_MAX);
	json_t *root = NULL, *def = NULL;
	int rc;

	mara_path(&path, "/v2/apps", id, "/versions/");
	buf_addstr(&path, ts);
	if (path.err) {
		rc = path.err;
		goto out;
	}
	if ((rc = get_json(m, path.data, deadline, &root, msg)) != 0)
		goto out;
	if (!json_is_object(root) || (def = mara_definition(root)) == NULL) {
		buf_printf(msg, "marathon: GET %s: not an app definition", path.data);
		rc = -EIO;
		goto out;
	}
	if ((rc = json_to_buf(def, &text, JSON_INDENT(2))) == 0 &&
	    (rc = buf_addch(&text, '\n')) == 0) {
		doc_store(m, key, &text);
		rc = buf_add(out, text.data, text.len);
	}
out:
	json_decref(def);
	json_decref(root);
	buf_free(&path);
	buf_free(&text);
	return rc;
}

/* ---- read-ahead ------------------------------------------------------------
 *
 * A walk through apps/ reaches an app's versions/ after its tasks/: the
 * FUSE layer names the app when the walk enters it (or, for a walk
 * through versions/ alone, the apps after it), and -o readahead threads
 * read its version list and documents meanwhile, through the cache and
 * the single flight above (each is fetched once either way).
 */

struct app_ahead {
	struct ahead_item it;
	char		 id[];
};

struct names {
	char		*v[AHEAD_VERSIONS];
	size_t		 n;
};

static int
add_ts(void *arg, const char *name, int member)
{
	struct names *ns = arg;
	size_t len = strlen(name);

	(void)member;
	if (ns->n == AHEAD_VERSIONS)
		return 1;		/* enough */
	if (len > 5 && strcmp(name + len - 5, ".json") == 0 &&
	    (ns->v[ns->n] = strndup(name, len - 5)) != NULL)
		ns->n++;
	return 0;
}

static void
ahead_run(void *ctx, struct ahead_item *it)
{
	struct marathon *m = ctx;
	struct app_ahead *a = (struct app_ahead *)it;
	struct buf msg = BUF_INIT(256), doc = BUF_INIT(VDOC_BYTES_MAX);
	struct names ns = { .n = 0 };
	int64_t deadline = now_ms() + m->opts.timeout_ms;
	size_t i;

	if (!m->stopping && marathon_list_versions(m, a->id, 1, deadline,
	    add_ts, &ns, &msg) >= 0)
		for (i = 0; i < ns.n && !m->stopping; i++) {
			if (from_snapshot(m, a->id, ns.v[i], NULL, NULL))
				continue;	/* no request to make */
			buf_reset(&doc);
			buf_reset(&msg);
			cached_or_fetched(m, a->id, ns.v[i], 1, deadline, &doc,
			    &msg);
		}
	for (i = 0; i < ns.n; i++)
		free(ns.v[i]);
	buf_free(&doc);
	buf_free(&msg);
	free(a);
}

struct ahead *
mara_versions_ahead_new(struct marathon *m)
{
	return ahead_new(m->opts.readahead, AHEAD_QUEUE, ahead_run,
	    NULL, m);
}

void
marathon_readahead_versions(struct marathon *m, const char *id)
{
	size_t len = strlen(id);
	struct app_ahead *a;

	if (m->opts.readahead <= 0 || m->stopping ||
	    (a = malloc(sizeof(*a) + len + 1)) == NULL)
		return;
	memcpy(a->id, id, len + 1);
	if (ahead_push(m->ahead, &a->it, 0) != 0)
		free(a);
}
