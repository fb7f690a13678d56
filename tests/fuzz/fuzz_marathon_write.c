/*
 * fuzz_marathon_write: what users write into the Marathon tree, through
 * the backend's write calls, with Marathon's replies from the script
 * (fake.h):
 *
 *	head line 1: "OP APP-ID [KEY]"
 *	head rest:   the bytes the user wrote
 *	replies:     in the order requests are made; apply, env, label and
 *		     unset first read the app tree (GET /v2/apps?embed=...)
 *
 * OP is one of: create (app.json of a pending app), apply (app.json of an
 * existing app), scale (instances), env, label (env/KEY, labels/KEY),
 * ctl (the app's ctl), depctl (a deployment's ctl), check (mkdir and
 * creat name checks).  APP-ID is one the mount could pass: from
 * Marathon (UTF-8), or for create a path of names mkdir accepted.
 * After an app ctl, "force" is written to ctl too,
 * which resends a request Marathon refused with 409.
 *
 * Checks besides memory safety (DESIGN.md 2: "garbage is EINVAL and
 * nothing is sent"):
 *  - every request has an escaped path under /v2/ and, if it has a body,
 *    a JSON object as body;
 *  - app.json is sent only when the text is one JSON object, with the id
 *    of its path and without "version" (which would mean a rollback);
 *  - instances is sent only for a whole number, as that number;
 *  - env and label values are sent only as the text written, less one
 *    trailing newline, and never when they hold a NUL byte;
 *  - a failed write has words for .error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define INPUT_MAX	(256u << 10)

static struct {
	char		 op[16];
	char		 id[512];
	char		 key[300];
	const char	*text;
	size_t		 len;
	int		 writes;	/* requests other than GET */
	int		 forced;	/* with force=true */
} cur;

/* The text as a whole number the way a person reads one: blanks around,
 * one trailing newline.  -1 if it is not one. */
static long
whole_number(const char *p, size_t n)
{
	long v = 0;
	size_t i = 0, end = n;

	if (end && p[end - 1] == '\n')
		end--;
	if (end && p[end - 1] == '\r')
		end--;
	while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
		end--;
	while (i < end && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == end)
		return -1;
	for (; i < end; i++) {
		if (p[i] < '0' || p[i] > '9' || v > 214748364L)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v > 2147483647L ? -1 : v;
}

static void
check_app_body(json_t *body)
{
	json_t *doc = json_loadb(cur.text, cur.len, JSON_REJECT_DUPLICATES, NULL);
	const char *id = json_string_value(json_object_get(body, "id"));

	CHECK(json_is_object(doc), "app.json sent for text that is not one "
	    "JSON object: '%.*s'", (int)(cur.len > 200 ? 200 : cur.len),
	    cur.text);
	CHECK(id && strcmp(id, cur.id) == 0, "app.json sent with id %s for %s",
	    id ? id : "(none)", cur.id);
	CHECK(json_object_get(body, "version") == NULL,
	    "app.json sent with \"version\": a rollback");
	json_decref(doc);
}

static void
check_map_body(json_t *body, const char *field)
{
	json_t *v = json_object_get(json_object_get(body, field), cur.key);
	size_t n = cur.len;

	if (n && cur.text[n - 1] == '\n')
		n--;
	if (n && cur.text[n - 1] == '\r')
		n--;
	CHECK(memchr(cur.text, '\0', n) == NULL, "%s/%s sent with a NUL byte",
	    field, cur.key);
	CHECK(json_is_string(v) && json_string_length(v) == n &&
	    memcmp(json_string_value(v), cur.text, n) == 0,
	    "%s/%s sent as something else than what was written", field,
	    cur.key);
}

static void
on_request(const struct http_req *rq)
{
	const unsigned char *p;
	json_t *body = NULL;

	CHECK(strncmp(rq->path, "/v2/", 4) == 0, "request path %s", rq->path);
	for (p = (const unsigned char *)rq->path; *p; p++)
		CHECK(*p > 0x20 && *p < 0x7f, "unescaped byte 0x%02x in %s", *p,
		    rq->path);
	if (rq->body) {
		body = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES,
		    NULL);
		CHECK(json_is_object(body), "%s %s with a body that is not a "
		    "JSON object", rq->method, rq->path);
	}
	if (strcmp(rq->method, "GET") == 0)
		goto out;
	cur.writes++;
	if (strstr(rq->path, "force=true")) {
		cur.forced++;
		goto out;
	}
	if (strcmp(cur.op, "create") == 0 || strcmp(cur.op, "apply") == 0) {
		CHECK(body != NULL, "app.json sent without a body");
		check_app_body(body);
	} else if (strcmp(cur.op, "scale") == 0) {
		long want = whole_number(cur.text, cur.len);

		CHECK(want >= 0, "instances sent for '%.*s'", (int)cur.len,
		    cur.text);
		CHECK(json_integer_value(json_object_get(body, "instances")) == want,
		    "instances sent as another number than %ld", want);
	} else if (strcmp(cur.op, "env") == 0) {
		check_map_body(body, "env");
	} else if (strcmp(cur.op, "label") == 0) {
		check_map_body(body, "labels");
	} else if (strcmp(cur.op, "check") == 0) {
		CHECK(0, "a name check sent %s %s", rq->method, rq->path);
	}
out:
	json_decref(body);
}

/*
 * Could the mount hand this id to the backend?  Ids of existing apps come
 * from Marathon's JSON (UTF-8); a pending app's segments passed
 * marathon_check_segment() at mkdir (tree_marathon.c).
 */
static int
id_possible(const char *id, int pending)
{
	struct buf msg = BUF_INIT(4096);
	char seg[512];
	const char *p, *slash;
	json_t *j;
	int ok = 1;

	if ((j = json_string(id)) == NULL)
		return 0;
	json_decref(j);
	for (p = id; pending && ok && *p; p = slash ? slash + 1 : p + strlen(p)) {
		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		snprintf(seg, sizeof(seg), "%.*s", slash ? (int)(slash - p) :
		    (int)strlen(p), p);
		if (*seg)
			ok = marathon_check_segment(seg, &msg) == 0;
	}
	buf_free(&msg);
	return ok;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf msg = BUF_INIT(1 << 16), audit = BUF_INIT(1 << 16);
	struct mara_write w = { 0 };
	struct marathon *m;
	char *text = NULL;
	size_t hlen;
	int rc = 0;

	if (size > INPUT_MAX)
		return 0;
	fake_split((const char *)data, size, &hlen);
	memset(&cur, 0, sizeof(cur));
	head_word((const char *)data, hlen, 0, cur.op, sizeof(cur.op), "apply");
	head_word((const char *)data, hlen, 1, cur.id, sizeof(cur.id),
	    "/prod/web");
	head_word((const char *)data, hlen, 2, cur.key, sizeof(cur.key), "LOG");
	cur.text = head_rest((const char *)data, hlen, &cur.len);
	if (!id_possible(cur.id, strcmp(cur.op, "create") == 0))
		return 0;
	/* As the FUSE layer hands it over: a buffer of len bytes. */
	if ((text = malloc(cur.len + 1)) == NULL)
		return 0;
	memcpy(text, cur.text, cur.len);
	text[cur.len] = '\0';
	cur.text = text;
	fake_http_hook = on_request;

	m = fuzz_marathon();
	w.deadline = FUZZ_DEADLINE;
	w.msg = &msg;
	w.audit = &audit;
	if (strcmp(cur.op, "create") == 0)
		rc = marathon_apply_app(m, cur.id, text, cur.len, 1, &w);
	else if (strcmp(cur.op, "apply") == 0)
		rc = marathon_apply_app(m, cur.id, text, cur.len, 0, &w);
	else if (strcmp(cur.op, "scale") == 0)
		rc = marathon_scale(m, cur.id, text, cur.len, &w);
	else if (strcmp(cur.op, "env") == 0)
		rc = marathon_set_map(m, cur.id, "env", cur.key, text, cur.len, &w);
	else if (strcmp(cur.op, "label") == 0)
		rc = marathon_set_map(m, cur.id, "labels", cur.key, text, cur.len,
		    &w);
	else if (strcmp(cur.op, "ctl") == 0)
		rc = marathon_app_ctl(m, cur.id, text, cur.len, &w);
	else if (strcmp(cur.op, "depctl") == 0)
		rc = marathon_dep_ctl(m, cur.id, text, cur.len, &w);
	else {
		strcpy(cur.op, "check");
		(void)marathon_check_segment(text, &msg);
		(void)marathon_check_key("env", text, &msg);
		(void)marathon_check_key("labels", text, &msg);
	}
	CHECK(rc <= 0, "a write returned %d", rc);
	if (rc < 0)
		CHECK(msg.len > 0, "a refused write (%s) has no words for .error",
		    strerror(-rc));
	if (strcmp(cur.op, "ctl") == 0) {
		int writes = cur.writes;

		buf_reset(&msg);
		rc = marathon_app_ctl(m, cur.id, "force\n", 6, &w);
		CHECK(rc != 0 || cur.writes == writes + 1,
		    "force succeeded without sending");
	}
	marathon_free(m);
	fake_http_hook = NULL;
	free(text);
	buf_free(&msg);
	buf_free(&audit);
	return 0;
}
