/*
 * fuzz_marathon_apps: a GET /v2/apps?embed=... reply (the whole app tree
 * with tasks, counts, deployments and last failures) through
 * marathon_parse_apps(), then every query the tree makes on a snapshot:
 * group listings from the root down, app.json, status, instances, tasks
 * (status, task.json), env and labels.
 *
 * Besides crashes it checks what a user of the mount relies on:
 *  - every name listed is a usable file name (no "/", ".", "..", control
 *    bytes, at most 255 bytes), and looking it up finds what was listed;
 *  - app.json and task.json are JSON objects; app.json has no runtime field.
 *
 * Seeds: tests/fuzz/seeds (apps from ../shared/reference: benchmark-real
 * dumps cut to a few apps, the API examples) and tests/fuzz/corpus/.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/marathon.h"
#include "common.h"

#define INPUT_MAX	(256u << 10)
#define DEPTH_MAX	8

struct walk {
	const struct mara_snap	*s;
	const char		*parent;
	int			 depth;
	int			 napps;
};

static void walk_group(const struct mara_snap *s, const char *gid, int depth,
	    int *napps);

struct app_ctx {
	const struct mara_snap	*s;
	const char		*id;
	const char		*field;
};

static int
on_task2(void *arg, const char *name, int member)
{
	struct app_ctx *a = arg;
	struct buf out = BUF_INIT(1 << 20);

	check_name(name, "task");
	CHECK(member == MARA_M_TASK, "task %s listed as %d", name, member);
	CHECK(mara_task_kind(a->s, a->id, name) == MARA_M_TASK,
	    "task %s of %s listed but not found", name, a->id);
	CHECK(mara_task_status(a->s, a->id, name, &out) == 0,
	    "status of task %s fails", name);
	check_status(&out, "task status");
	buf_reset(&out);
	CHECK(mara_task_json(a->s, a->id, name, &out) == 0,
	    "task.json of %s fails", name);
	check_json_object(&out, "task.json", 0);
	(void)mara_task_mtime(a->s, a->id, name);
	(void)mara_task_agent(a->s, a->id, name);
	buf_free(&out);
	return 0;
}

static int
on_key(void *arg, const char *name, int member)
{
	struct app_ctx *a = arg;
	struct buf out = BUF_INIT(1 << 20);
	int kind;

	check_name(name, a->field);
	kind = mara_map_value(a->s, a->id, a->field, name, &out);
	CHECK(kind == member, "%s/%s listed as %d, looked up as %d", a->field,
	    name, member, kind);
	CHECK(out.len > 0 && out.data[out.len - 1] == '\n',
	    "%s/%s does not end in a newline", a->field, name);
	buf_free(&out);
	return 0;
}

static void
visit_app(const struct mara_snap *s, const char *id)
{
	struct app_ctx a = { s, id, NULL };
	struct buf out = BUF_INIT(4u << 20);
	int rc;

	CHECK(mara_app_json(s, id, &out) == 0, "app.json of %s fails", id);
	check_json_object(&out, "app.json", 1);
	/* A field of the wrong type makes these EIO (rather than a made-up
	 * value); otherwise they render. */
	buf_reset(&out);
	rc = mara_app_status(s, id, &out);
	CHECK(rc == 0 || rc == -EIO, "status of %s: %d", id, rc);
	if (rc == 0)
		check_status(&out, "app status");
	buf_reset(&out);
	rc = mara_app_instances(s, id, &out);
	CHECK(rc == 0 || rc == -EIO, "instances of %s: %d", id, rc);
	if (rc == 0)
		check_count(&out, "instances");
	(void)mara_app_mtime(s, id);
	mara_list_tasks(s, id, on_task2, &a);
	a.field = "env";
	mara_list_map(s, id, "env", on_key, &a);
	a.field = "labels";
	mara_list_map(s, id, "labels", on_key, &a);
	buf_free(&out);
}

static int
on_member(void *arg, const char *name, int member)
{
	struct walk *w = arg;
	struct buf id = BUF_INIT(1 << 16);
	int kind;

	check_name(name, "group member");
	buf_printf(&id, "%s%s%s", w->parent, strcmp(w->parent, "/") ? "/" : "",
	    name);
	kind = mara_kind(w->s, buf_str(&id));
	if (member == MARA_M_APP) {
		CHECK(kind == MARA_APP, "%s listed as an app, looked up as %d",
		    buf_str(&id), kind);
		if (w->napps++ < 64)
			visit_app(w->s, buf_str(&id));
	} else {
		CHECK(member == MARA_M_GROUP && kind == MARA_GROUP,
		    "%s listed as %d, looked up as %d", buf_str(&id), member, kind);
		if (w->depth < DEPTH_MAX)
			walk_group(w->s, buf_str(&id), w->depth + 1, &w->napps);
	}
	buf_free(&id);
	return 0;
}

static void
walk_group(const struct mara_snap *s, const char *gid, int depth, int *napps)
{
	struct walk w = { s, gid, depth, *napps };

	mara_list_group(s, gid, on_member, &w);
	*napps = w.napps;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf msg = BUF_INIT(4096);
	struct mara_snap *s = NULL;
	int napps = 0;

	if (size > INPUT_MAX)
		return 0;
	if (marathon_parse_apps((const char *)data, size, &s, &msg) == 0) {
		walk_group(s, "/", 0, &napps);
		/* Lookups of what is not there. */
		(void)mara_kind(s, "/nope");
		(void)mara_kind(s, "");
		(void)mara_app_count(s);
		(void)mara_task_count(s);
		marathon_snap_free(s);
	} else {
		CHECK(msg.len > 0, "a refused reply has no words");
	}
	buf_free(&msg);
	return 0;
}
