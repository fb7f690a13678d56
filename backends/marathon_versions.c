/*
 * marathon_versions.c: an app's earlier definitions, fetched on demand.
 *
 * Marathon has no bulk call for versions: GET /v2/apps/{id}/versions lists
 * the timestamps and GET /v2/apps/{id}/versions/{ts} returns one bare App
 * (API-NOTES 1.3).  So the version list of an app is fetched when its
 * versions/ directory is read, cached for the TTL and dropped when the app
 * changes; each version document is immutable and kept in a byte-capped LRU.
 * Documents are rendered like app.json (runtime fields removed) so that
 * `diff versions/X.json app.json` shows only real differences and `cp`
 * onto app.json re-applies that definition.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "marathon_int.h"

#define VDOC_BYTES_MAX	(16u << 20)

struct vlist {
	char		*id;
	char		**ts;
	size_t		 n;
	int64_t		 fetched_ms;
	struct vlist	*next;
};

struct vdoc {
	char		*key;		/* "<id>@<ts>" */
	struct buf	 text;
	struct vdoc	*next;		/* most recently used first */
};

struct vcache {
	struct vlist	*lists;
	struct vdoc	*docs;
	size_t		 doc_bytes;
};

static void
vlist_free(struct vlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->ts[i]);
	free(l->ts);
	free(l->id);
	free(l);
}

void
marathon_versions_free(struct marathon *m)
{
	struct vlist *l, *ln;
	struct vdoc *d, *dn;

	if (m->versions == NULL)
		return;
	for (l = m->versions->lists; l; l = ln) {
		ln = l->next;
		vlist_free(l);
	}
	for (d = m->versions->docs; d; d = dn) {
		dn = d->next;
		buf_free(&d->text);
		free(d->key);
		free(d);
	}
	free(m->versions);
	m->versions = NULL;
}

/* Forget the list of an app that changed (called with no lock held). */
void
marathon_versions_forget(struct marathon *m, const char *id)
{
	struct vlist **lp, *l;

	pthread_mutex_lock(&m->lock);
	if (m->versions) {
		for (lp = &m->versions->lists; (l = *lp) != NULL; lp = &l->next) {
			if (strcmp(l->id, id) == 0) {
				*lp = l->next;
				vlist_free(l);
				break;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static struct vcache *
vc(struct marathon *m)
{
	if (m->versions == NULL)
		m->versions = calloc(1, sizeof(*m->versions));
	return m->versions;
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
	if ((c = vc(m)) != NULL) {
		for (l = c->lists; l; l = l->next) {
			if (strcmp(l->id, id) != 0)
				continue;
			if (now_ms() - l->fetched_ms >= m->opts.ttl_ms)
				break;
			found = 1;
			*rc = 0;
			for (i = 0; i < l->n && *rc == 0; i++) {
				snprintf(name, sizeof(name), "%s.json", l->ts[i]);
				*rc = fn(arg, name, MARA_M_VERSION);
			}
			break;
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
	size_t i;
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
	    (l->ts = calloc(json_array_size(arr) + 1, sizeof(char *))) == NULL ||
	    (l->id = strdup(id)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && ts_usable(json_string_value(v)))
			l->ts[l->n++] = strdup(json_string_value(v));
	l->fetched_ms = now_ms();
	marathon_versions_forget(m, id);
	pthread_mutex_lock(&m->lock);
	if (vc(m)) {
		l->next = m->versions->lists;
		m->versions->lists = l;
		l = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	if (!emit_cached(m, id, fn, arg, &rc))
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
	struct vdoc **dp, *d;
	int found = 0;

	pthread_mutex_lock(&m->lock);
	if (vc(m)) {
		for (dp = &m->versions->docs; (d = *dp) != NULL; dp = &d->next) {
			if (strcmp(d->key, key) == 0) {
				/* Move to the front: most recently used. */
				*dp = d->next;
				d->next = m->versions->docs;
				m->versions->docs = d;
				buf_add(out, d->text.data, d->text.len);
				found = 1;
				break;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

static void
doc_store(struct marathon *m, const char *key, const struct buf *text)
{
	struct vdoc *d, **dp;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return;
	d->key = strdup(key);
	buf_init(&d->text, VDOC_BYTES_MAX);
	buf_add(&d->text, text->data, text->len);
	pthread_mutex_lock(&m->lock);
	if (vc(m) == NULL || d->key == NULL) {
		pthread_mutex_unlock(&m->lock);
		buf_free(&d->text);
		free(d->key);
		free(d);
		return;
	}
	d->next = m->versions->docs;
	m->versions->docs = d;
	m->versions->doc_bytes += text->len;
	/* Evict from the tail until under the cap (keep the newest). */
	while (m->versions->doc_bytes > VDOC_BYTES_MAX && m->versions->docs->next) {
		for (dp = &m->versions->docs; (*dp)->next; dp = &(*dp)->next)
			;
		m->versions->doc_bytes -= (*dp)->text.len;
		buf_free(&(*dp)->text);
		free((*dp)->key);
		free(*dp);
		*dp = NULL;
	}
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
