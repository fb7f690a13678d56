/*
 * marathon_versions.c: an app's earlier definitions, fetched on demand.
 *
 * Marathon has no bulk call for versions: GET /v2/apps/{id}/versions lists
 * the timestamps and GET /v2/apps/{id}/versions/{ts} returns one bare App
 * (API-NOTES 1.3).  So the version list of an app is fetched when its
 * versions/ directory is read, cached for the TTL and dropped when the app
 * changes or on .archonfs/refresh (in an LRU of 4 MiB: 10,000 apps listed do not stay forever);
 * each version document is immutable and kept in a 16 MiB LRU.
 * Documents are rendered like app.json (runtime fields removed) so that
 * `diff versions/X.json app.json` shows only real differences and `cp`
 * onto app.json re-applies that definition.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "marathon_int.h"

#define VDOC_BYTES_MAX	(16u << 20)
#define VLIST_BYTES_MAX	(4u << 20)

struct vlist {
	char		**ts;
	size_t		 n;
	int64_t		 fetched_ms;
};

/* Both guarded by m->lock; keyed by app id and by "<id>@<ts>". */
struct vcache {
	struct lru	*lists;		/* struct vlist * */
	struct lru	*docs;		/* struct buf *, rendered like app.json */
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
	struct vcache *c;

	if (m->versions)
		return m->versions;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->lists = lru_new(VLIST_BYTES_MAX, 0, vlist_free);
	c->docs = lru_new(VDOC_BYTES_MAX, 0, vdoc_free);
	if (c->lists == NULL || c->docs == NULL) {
		lru_free(c->lists);
		lru_free(c->docs);
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

int
marathon_list_versions(struct marathon *m, const char *id, int may_block,
    int64_t deadline, mara_list_fn fn, void *arg, struct buf *msg)
{
	struct buf path = BUF_INIT(8192);
	struct vlist *l = NULL;
	json_t *root = NULL, *arr, *v;
	size_t i, bytes;
	int rc;

	if (emit_cached(m, id, fn, arg, &rc))
		return rc;
	if (!may_block)
		return -E_WOULDBLOCK;
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
	if (rc == 0 && !emit_cached(m, id, fn, arg, &rc))
		rc = -EIO;
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

int
marathon_version_json(struct marathon *m, const char *id, const char *ts,
    int may_block, int64_t deadline, struct buf *out, struct buf *msg)
{
	struct buf path = BUF_INIT(8192), key = BUF_INIT(8192);
	struct buf text = BUF_INIT(VDOC_BYTES_MAX);
	json_t *root = NULL, *def = NULL;
	int rc;

	if (!ts_usable(ts))
		return -ENOENT;
	buf_printf(&key, "%s@%s", id, ts);
	if (key.err) {
		rc = key.err;
		goto out;
	}
	if (doc_cached(m, key.data, out)) {
		rc = out->err;
		goto out;
	}
	if (!may_block) {
		rc = -E_WOULDBLOCK;
		goto out;
	}
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
		doc_store(m, key.data, &text);
		rc = buf_add(out, text.data, text.len);
	}
out:
	json_decref(def);
	json_decref(root);
	buf_free(&path);
	buf_free(&key);
	buf_free(&text);
	return rc;
}
