/*
 * marathon_write.c: every change archonfs makes to Marathon.
 *
 * Each write checks its input completely before anything is sent ("garbage
 * is EINVAL and nothing is sent"), sends one request, and translates the
 * answer: the errno comes from http_status_errno(), the words for .error
 * from Marathon's own error body ({"message", "details"}, API-NOTES 1.7).
 * A successful write hard-invalidates the snapshots so the writer reads back
 * what it wrote.
 *
 * Requests refused with 409 (an app locked by a running deployment) are
 * remembered per app, so "echo force > ctl" can send the same request again
 * with ?force=true.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "marathon_int.h"

#define AUDIT_BODY_MAX	512

void
mara_refused_clear(struct marathon *m)
{
	unsigned i;

	for (i = 0; i < FORCE_SLOTS; i++) {
		free(m->refused[i].id);
		free(m->refused[i].method);
		free(m->refused[i].path);
		free(m->refused[i].body);
		memset(&m->refused[i], 0, sizeof(m->refused[i]));
	}
}

static struct mara_refused *
refused_find_locked(struct marathon *m, const char *id)
{
	unsigned i;

	for (i = 0; i < FORCE_SLOTS; i++)
		if (m->refused[i].id && strcmp(m->refused[i].id, id) == 0)
			return &m->refused[i];
	return NULL;
}

static void
refused_set(struct marathon *m, const char *id, const char *method,
    const char *path, const char *body)
{
	struct mara_refused *r;

	pthread_mutex_lock(&m->lock);
	if ((r = refused_find_locked(m, id)) == NULL)
		r = &m->refused[m->nrefused++ % FORCE_SLOTS];
	free(r->id);
	free(r->method);
	free(r->path);
	free(r->body);
	r->id = strdup(id);
	r->method = strdup(method);
	r->path = strdup(path);
	r->body = body ? strdup(body) : NULL;
	pthread_mutex_unlock(&m->lock);
}

static void
refused_drop(struct marathon *m, const char *id)
{
	struct mara_refused *r;

	pthread_mutex_lock(&m->lock);
	if ((r = refused_find_locked(m, id)) != NULL) {
		free(r->id);
		free(r->method);
		free(r->path);
		free(r->body);
		memset(r, 0, sizeof(*r));
	}
	pthread_mutex_unlock(&m->lock);
}

/* Marathon's error body in words: message, then details. */
static void
format_error(struct buf *msg, const struct http_resp *rs)
{
	json_t *root, *details, *d, *errs, *e;
	const char *message;
	size_t i, j;

	root = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, NULL);
	message = json_string_value(json_object_get(root, "message"));
	if (message == NULL) {
		buf_printf(msg, "HTTP %ld", rs->status);
		if (rs->body.len) {
			buf_addstr(msg, ": ");
			buf_quote(msg, rs->body.data, rs->body.len);
		}
		json_decref(root);
		return;
	}
	buf_printf(msg, "%s", message);
	details = json_object_get(root, "details");
	if (json_is_string(details)) {
		buf_printf(msg, ": %s", json_string_value(details));
	} else if (json_is_array(details)) {
		json_array_foreach(details, i, d) {
			const char *path = json_string_value(json_object_get(d, "path"));

			buf_printf(msg, "%s %s:", i ? ";" : ":", path ? path : "/");
			errs = json_object_get(d, "errors");
			json_array_foreach(errs, j, e)
				if (json_is_string(e))
					buf_printf(msg, "%s %s", j ? "," : "",
					    json_string_value(e));
		}
	}
	json_decref(root);
}

static void
audit_body(struct buf *audit, const char *body)
{
	size_t n;

	if (audit == NULL || body == NULL)
		return;
	n = strlen(body);
	buf_addch(audit, ' ');
	buf_add(audit, body, n > AUDIT_BODY_MAX ? AUDIT_BODY_MAX : n);
	if (n > AUDIT_BODY_MAX)
		buf_printf(audit, "...(%zu bytes)", n);
}

/*
 * Send one change.  path may carry a query; force appends force=true.
 * app_id (or NULL) names the app for the 409 memory.
 */
int
marathon_write_refused(struct marathon *m, struct buf *msg)
{
	return snapcache_down(m->apps, "marathon", msg);
}

static int
send_change(struct marathon *m, const char *method, const char *path,
    const char *body, const char *app_id, int create, struct mara_write *w)
{
	struct buf full = BUF_INIT(16384);
	struct http_req rq = { 0 };
	struct http_resp rs;
	int rc;

	http_resp_init(&rs);
	if (snapcache_down(m->apps, "marathon", w->msg)) {
		if (w->audit)
			buf_printf(w->audit, "%s %s -> not sent: marathon down",
			    method, path);
		rc = -EIO;
		goto out;
	}
	buf_addstr(&full, path);
	if (w->force)
		buf_addstr(&full, strchr(path, '?') ? "&force=true" : "?force=true");
	if (full.err) {
		rc = full.err;
		goto out;
	}
	if (w->audit) {
		buf_printf(w->audit, "%s %s", method, full.data);
		audit_body(w->audit, body);
	}
	rq.method = method;
	rq.path = full.data;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.deadline = w->deadline;
	rq.cancel = w->cancel;
	rq.max_body = 1u << 20;
	rc = http_do(m->http, &rq, &rs, w->msg);
	if (rc != 0) {
		if (w->audit)
			buf_printf(w->audit, " -> %s", strerror(-rc));
		buf_reset(w->msg);
		if (rc == -ETIMEDOUT || rc == -EINTR)
			buf_printf(w->msg, "%s %s: %s; the change may or may not have "
			    "been applied: look at deployments/ and this app's "
			    "status before trying again", method, full.data,
			    rc == -ETIMEDOUT ? "no answer from Marathon within the "
			    "deadline" : "interrupted");
		else
			buf_printf(w->msg, "%s %s: Marathon unreachable, nothing "
			    "was applied", method, full.data);
		/* Whatever happened, the next read must ask again. */
		marathon_wrote(m, app_id);
		goto out;
	}
	if (w->audit)
		buf_printf(w->audit, " -> HTTP %ld%s%s", rs.status,
		    rs.deployment_id[0] ? " deployment " : "", rs.deployment_id);
	buf_reset(w->msg);
	if (rs.status >= 200 && rs.status < 300) {
		buf_printf(w->msg, "%s %s: accepted (HTTP %ld)%s%s", method,
		    full.data, rs.status, rs.deployment_id[0] ?
		    ", deployment " : "", rs.deployment_id);
		if (app_id)
			refused_drop(m, app_id);
		marathon_wrote(m, app_id);
		rc = 0;
		goto out;
	}
	rc = -http_status_errno(rs.status);
	if (rc == 0)
		rc = -EIO;
	buf_printf(w->msg, "%s %s: refused (HTTP %ld): ", method, full.data,
	    rs.status);
	format_error(w->msg, &rs);
	if (rs.status == 409 && create && strstr(rs.body.data ? rs.body.data : "",
	    "already exists")) {
		rc = -EEXIST;
	} else if (rs.status == 409 && app_id) {
		refused_set(m, app_id, method, path, body);
		buf_addstr(w->msg, "\nA deployment is running for this app: wait for "
		    "it (cat deployments/<id>/wait), or override it with "
		    "`echo force > ctl` in the app's directory, which sends "
		    "this change again with ?force=true.");
	}
out:
	http_resp_free(&rs);
	buf_free(&full);
	return rc;
}

static int
send_json(struct marathon *m, const char *method, const char *path,
    json_t *body, const char *app_id, int create, struct mara_write *w)
{
	char *text = NULL;
	int rc;

	if (body && (text = json_dumps(body, JSON_COMPACT | JSON_OUT_REALS)) == NULL)
		return -ENOMEM;
	rc = send_change(m, method, path, text, app_id, create, w);
	free(text);
	return rc;
}

int
marathon_scale(struct marathon *m, const char *id, const char *text,
    size_t len, struct mara_write *w)
{
	struct buf path = BUF_INIT(8192);
	json_t *body;
	long n;
	int rc;

	if ((rc = value_count(text, len, "instances", &n, w->msg)) != 0)
		return rc;
	if ((rc = mara_path(&path, "/v2/apps", id, NULL)) != 0)
		goto out;
	body = json_pack("{s:I}", "instances", (json_int_t)n);
	rc = send_json(m, "PUT", path.data, body, id, 0, w);
	json_decref(body);
out:
	buf_free(&path);
	return rc;
}

/* The current definition of app id (a new reference, without runtime
 * fields). */
static int
current_app(struct marathon *m, const char *id, struct mara_write *w,
    json_t **app)
{
	struct mara_snap *snap;
	struct mara_app *a;
	int rc;

	*app = NULL;
	rc = marathon_apps(m, 1, w->deadline, &snap, w->msg);
	if (rc != 0)
		return rc;
	if ((a = mara_find(snap, id)) == NULL) {
		buf_reset(w->msg);
		buf_printf(w->msg, "app %s does not exist (any more)", id);
		rc = -ENOENT;
	} else if ((*app = mara_app_definition(a)) == NULL) {
		rc = -ENOMEM;
	}
	marathon_apps_put(m, snap);
	return rc;
}

int
marathon_check_key(const char *field, const char *key, struct buf *msg)
{
	const char *p;
	json_t *j;

	buf_reset(msg);
	if (*key == '\0' || strlen(key) > 255) {
		buf_printf(msg, "%s: a name must have 1 to 255 characters", field);
		return -EINVAL;
	}
	for (p = key; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f ||
		    (strcmp(field, "env") == 0 && *p == '=')) {
			buf_printf(msg, "%s: ", field);
			buf_quote(msg, key, strlen(key));
			buf_addstr(msg, " is not a usable name");
			return -EINVAL;
		}
	}
	/* A JSON object's key is UTF-8: jansson refuses any other, and the
	 * change would go out without it. */
	if ((j = json_string(key)) == NULL) {
		buf_printf(msg, "%s: ", field);
		buf_quote(msg, key, strlen(key));
		buf_addstr(msg, " is not valid UTF-8, nothing was sent");
		return -EINVAL;
	}
	json_decref(j);
	return 0;
}

/* The text of a value write as a JSON string: one trailing newline off. */
static json_t *
value_string(const char *text, size_t len, const char *field,
    const char *key, struct buf *msg)
{
	json_t *v;

	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	buf_reset(msg);
	if (memchr(text, '\0', len)) {
		buf_printf(msg, "%s/%s: the value contains a NUL byte, nothing "
		    "was sent", field, key);
		return NULL;
	}
	if ((v = json_stringn(text, len)) == NULL)
		buf_printf(msg, "%s/%s: the value is not valid UTF-8, nothing was "
		    "sent", field, key);
	return v;
}

static int
put_map(struct marathon *m, const char *id, const char *field, json_t *map,
    struct mara_write *w)
{
	struct buf path = BUF_INIT(8192);
	json_t *body;
	int rc;

	if ((rc = mara_path(&path, "/v2/apps", id, NULL)) != 0)
		goto out;
	/* A partial update replaces the whole field (API-NOTES 1.3 PUT). */
	body = json_object();
	json_object_set(body, field, map);
	rc = send_json(m, "PUT", path.data, body, id, 0, w);
	json_decref(body);
out:
	buf_free(&path);
	return rc;
}

int
marathon_set_map(struct marathon *m, const char *id, const char *field,
    const char *key, const char *text, size_t len, struct mara_write *w)
{
	json_t *val, *app = NULL, *map = NULL, *old;
	int rc;

	if ((rc = marathon_check_key(field, key, w->msg)) != 0)
		return rc;
	if ((val = value_string(text, len, field, key, w->msg)) == NULL)
		return -EINVAL;
	if ((rc = current_app(m, id, w, &app)) != 0)
		goto out;
	old = json_object_get(json_object_get(app, field), key);
	if (old && !json_is_string(old)) {
		buf_reset(w->msg);
		buf_printf(w->msg, "%s/%s refers to a secret; change it in "
		    "app.json", field, key);
		rc = -EACCES;
		goto out;
	}
	if (old && json_equal(old, val)) {
		buf_reset(w->msg);
		buf_printf(w->msg, "%s/%s: unchanged, nothing was sent", field, key);
		rc = 0;
		goto out;
	}
	old = json_object_get(app, field);
	map = json_is_object(old) ? json_copy(old) : json_object();
	json_object_set(map, key, val);
	rc = put_map(m, id, field, map, w);
out:
	json_decref(map);
	json_decref(val);
	json_decref(app);
	return rc;
}

int
marathon_unset_map(struct marathon *m, const char *id, const char *field,
    const char *key, struct mara_write *w)
{
	json_t *app = NULL, *map = NULL, *old;
	int rc;

	if ((rc = current_app(m, id, w, &app)) != 0)
		goto out;
	old = json_object_get(app, field);
	if (json_object_get(old, key) == NULL) {
		buf_reset(w->msg);
		buf_printf(w->msg, "%s/%s does not exist", field, key);
		rc = -ENOENT;
		goto out;
	}
	map = json_copy(old);
	json_object_del(map, key);
	rc = put_map(m, id, field, map, w);
out:
	json_decref(map);
	json_decref(app);
	return rc;
}

/* Absolute form of a user-given id: relative ids are under the root. */
static void
absolute_id(const char *in, struct buf *out)
{
	size_t n = strlen(in);

	if (in[0] != '/')
		buf_addch(out, '/');
	while (n > 1 && in[n - 1] == '/')
		n--;
	buf_add(out, in, n);
}

int
marathon_apply_app(struct marathon *m, const char *id, const char *text,
    size_t len, int create, struct mara_write *w)
{
	struct buf given = BUF_INIT(8192), path = BUF_INIT(8192);
	json_t *doc = NULL, *cur = NULL, *v, *def;
	json_error_t jerr;
	const char *p;
	int rc;

	buf_reset(w->msg);
	for (p = text; p < text + len && isspace((unsigned char)*p); p++)
		;
	if (p == text + len) {
		buf_addstr(w->msg, "app.json is empty, nothing was sent; write a "
		    "whole app definition (a JSON object)");
		rc = -EINVAL;
		goto out;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		buf_printf(w->msg, "app.json is not valid JSON, nothing was sent: "
		    "%s at line %d, column %d", jerr.text, jerr.line, jerr.column);
		rc = -EINVAL;
		goto out;
	}
	if (!json_is_object(doc)) {
		buf_addstr(w->msg, "app.json must hold one JSON object ({...}), "
		    "nothing was sent");
		rc = -EINVAL;
		goto out;
	}
	if ((v = json_object_get(doc, "id")) != NULL) {
		if (!json_is_string(v)) {
			buf_addstr(w->msg, "app.json: \"id\" must be a string, "
			    "nothing was sent");
			rc = -EINVAL;
			goto out;
		}
		absolute_id(json_string_value(v), &given);
		if (strcmp(buf_str(&given), id) != 0) {
			buf_printf(w->msg, "app.json: the id \"%s\" disagrees with "
			    "the path of this file (%s), nothing was sent; remove "
			    "\"id\" or make it match", json_string_value(v), id);
			rc = -EINVAL;
			goto out;
		}
	}
	/* Output-only fields (e.g. from a copy of a GET reply) are dropped:
	 * "version" with other fields would mean a rollback to Marathon. */
	if ((def = mara_definition(doc)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	json_decref(doc);
	doc = def;
	json_object_set_new(doc, "id", json_string(id));

	if (create) {
		rc = send_json(m, "POST", "/v2/apps", doc, id, 1, w);
		goto out;
	}
	if ((rc = current_app(m, id, w, &cur)) != 0)
		goto out;
	if (json_equal(cur, doc)) {
		buf_reset(w->msg);
		buf_addstr(w->msg, "app.json: unchanged, nothing was sent");
		if (w->audit)
			buf_printf(w->audit, "nothing sent for %s: unchanged", id);
		rc = 0;
		goto out;
	}
	/* Send what the user wrote: a field removed is a field removed. */
	if ((rc = mara_path(&path, "/v2/apps", id, "?partialUpdate=false")) != 0)
		goto out;
	rc = send_json(m, "PUT", path.data, doc, id, 0, w);
out:
	json_decref(cur);
	json_decref(doc);
	buf_free(&given);
	buf_free(&path);
	return rc;
}

/* Split a ctl command into at most max words. */
static int
words(const char *text, size_t len, char *store, size_t storesz,
    char **argv, int max)
{
	const char *p;
	size_t n, i, o = 0;
	int argc = 0, inword = 0;

	n = trim_value(text, len, &p);
	if (n >= storesz)
		return -EFBIG;
	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t') {
			if (inword) {
				store[o++] = '\0';
				inword = 0;
			}
			continue;
		}
		if (p[i] == '\0' || p[i] == '\n')
			return -EINVAL;
		if (!inword) {
			if (argc == max)
				return -E2BIG;
			argv[argc++] = store + o;
			inword = 1;
		}
		store[o++] = p[i];
	}
	store[o] = '\0';
	return argc;
}

static const char app_ctl_usage[] =
	"verbs: restart | kill TASK [scale|wipe] | delete | unset env NAME | "
	"unset label KEY | force";

int
marathon_app_ctl(struct marathon *m, const char *id, const char *text,
    size_t len, struct mara_write *w)
{
	struct buf path = BUF_INIT(8192);
	char store[1024], *argv[4];
	int argc, rc;

	buf_reset(w->msg);
	argc = words(text, len, store, sizeof(store), argv, 4);
	len = trim_value(text, len, &text);
	if (argc <= 0) {
		buf_addstr(w->msg, "ctl: ");
		buf_quote(w->msg, text, len);
		buf_printf(w->msg, " is not a command, nothing was sent; %s",
		    app_ctl_usage);
		return -EINVAL;
	}
	if (strcmp(argv[0], "restart") == 0 && argc == 1) {
		mara_path(&path, "/v2/apps", id, "/restart");
		rc = path.err ? path.err : send_change(m, "POST", path.data, NULL,
		    id, 0, w);
	} else if (strcmp(argv[0], "delete") == 0 && argc == 1) {
		mara_path(&path, "/v2/apps", id, NULL);
		rc = path.err ? path.err : send_change(m, "DELETE", path.data,
		    NULL, id, 0, w);
	} else if (strcmp(argv[0], "kill") == 0 && (argc == 2 || (argc == 3 &&
	    (strcmp(argv[2], "scale") == 0 || strcmp(argv[2], "wipe") == 0)))) {
		mara_path(&path, "/v2/apps", id, "/tasks/");
		http_escape(&path, argv[1]);
		if (argc == 3)
			buf_printf(&path, "?%s=true", argv[2]);
		rc = path.err ? path.err : send_change(m, "DELETE", path.data,
		    NULL, id, 0, w);
	} else if (strcmp(argv[0], "unset") == 0 && argc == 3 &&
	    (strcmp(argv[1], "env") == 0 || strcmp(argv[1], "label") == 0 ||
	    strcmp(argv[1], "labels") == 0)) {
		rc = marathon_unset_map(m, id, strcmp(argv[1], "env") == 0 ?
		    "env" : "labels", argv[2], w);
	} else if (strcmp(argv[0], "force") == 0 && argc == 1) {
		struct mara_refused *r;
		char *method = NULL, *rpath = NULL, *body = NULL;
		int save = w->force;

		pthread_mutex_lock(&m->lock);
		if ((r = refused_find_locked(m, id)) != NULL) {
			method = strdup(r->method);
			rpath = strdup(r->path);
			body = r->body ? strdup(r->body) : NULL;
		}
		pthread_mutex_unlock(&m->lock);
		if (method == NULL || rpath == NULL) {
			buf_addstr(w->msg, "ctl: nothing to force: no change to this "
			    "app was refused for a running deployment");
			rc = -EINVAL;
		} else {
			w->force = 1;
			rc = send_change(m, method, rpath, body, id, 0, w);
			w->force = save;
		}
		free(method);
		free(rpath);
		free(body);
	} else {
		buf_addstr(w->msg, "ctl: ");
		buf_quote(w->msg, text, len);
		buf_printf(w->msg, " is not a command, nothing was sent; %s",
		    app_ctl_usage);
		rc = -EINVAL;
	}
	buf_free(&path);
	return rc;
}

int
marathon_dep_ctl(struct marathon *m, const char *id, const char *text,
    size_t len, struct mara_write *w)
{
	struct buf path = BUF_INIT(8192);
	char store[256], *argv[2];
	int argc, rc;

	buf_reset(w->msg);
	argc = words(text, len, store, sizeof(store), argv, 2);
	len = trim_value(text, len, &text);
	buf_addstr(&path, "/v2/deployments/");
	http_escape(&path, id);
	if (argc == 1 && (strcmp(argv[0], "rollback") == 0 ||
	    strcmp(argv[0], "cancel") == 0)) {
		/* Without force Marathon starts a rollback deployment. */
		rc = send_change(m, "DELETE", path.data, NULL, NULL, 0, w);
	} else if (argc == 1 && strcmp(argv[0], "stop") == 0) {
		int save = w->force;

		w->force = 1;	/* stop where it is: 202, no rollback */
		rc = send_change(m, "DELETE", path.data, NULL, NULL, 0, w);
		w->force = save;
	} else {
		buf_addstr(w->msg, "ctl: ");
		buf_quote(w->msg, text, len);
		buf_addstr(w->msg, " is not a command, nothing was sent; verbs: "
		    "rollback (or cancel) | stop");
		rc = -EINVAL;
	}
	buf_free(&path);
	return rc;
}

/*
 * Marathon 1.10's segment rule (API-NOTES 1.2): dot-separated labels of
 * lowercase letters and digits with inner dashes; and since 1.8 an app may
 * not be called restart, tasks or versions.
 */
int
marathon_check_segment(const char *seg, struct buf *msg)
{
	static const char *const reserved[] = { "restart", "tasks", "versions" };
	const char *p, *label = seg;
	size_t i;

	buf_reset(msg);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strcmp(seg, reserved[i]) == 0) {
			buf_printf(msg, "'%s' is reserved by Marathon (restart, tasks "
			    "and versions cannot name an app)", seg);
			return -EINVAL;
		}
	}
	for (p = seg;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);

			if (n == 0 || label[0] == '-' || label[n - 1] == '-')
				goto bad;
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-'))
			goto bad;
	}
	return 0;
bad:
	buf_addstr(msg, "");
	buf_quote(msg, seg, strlen(seg));
	buf_addstr(msg, " is not a Marathon id: use lowercase letters, digits "
	    "and inner dashes, in labels separated by dots");
	return -EINVAL;
}
