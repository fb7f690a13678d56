/*
 * test_inode.c: the inode table (fs/inode.c) on its own: what an inode of
 * each kind of row costs, names and arguments, paths, forgetting, renaming
 * a pending directory with its children, and itab_walk_under visiting a
 * subtree (and only it) without the rest of the table.
 *
 * inode.c is included, with a node table of the few rows it needs: the
 * real one (fs/node.c) points at every handler of the tree.
 */
#include <stdlib.h>

#include "../../fs/inode.c"
#include "unit.h"

const struct node_type node_table[N_COUNT] = {
	[N_ROOT] = { .id = N_ROOT, .name = "", .kind = NK_DIR },
	[N_APPS] = { .id = N_APPS, .name = "apps", .parent = N_ROOT,
	    .kind = NK_DIR },
	[N_GROUP] = { .id = N_GROUP, .parent = N_APPS, .kind = NK_DIR },
	[N_APP] = { .id = N_APP, .parent = N_GROUP, .kind = NK_DIR },
	[N_APP_JSON] = { .id = N_APP_JSON, .name = "app.json",
	    .parent = N_APP, .kind = NK_DOC },
	[N_APP_INSTANCES] = { .id = N_APP_INSTANCES, .name = "instances",
	    .parent = N_APP, .kind = NK_VALUE },
	[N_TASKS] = { .id = N_TASKS, .name = "tasks", .parent = N_APP,
	    .kind = NK_DIR },
	[N_TASK] = { .id = N_TASK, .parent = N_TASKS, .kind = NK_DIR },
	[N_TASK_STDOUT] = { .id = N_TASK_STDOUT, .name = "stdout",
	    .parent = N_TASK, .kind = NK_STREAM },
	[N_PENDING] = { .id = N_PENDING, .parent = N_GROUP,
	    .kind = NK_PENDING, .flags = NF_LOCAL },
	[N_PENDING_APP_JSON] = { .id = N_PENDING_APP_JSON, .name = "app.json",
	    .parent = N_PENDING, .kind = NK_DOC },
	[N_SCRATCH] = { .id = N_SCRATCH, .parent = N_APP, .kind = NK_SCRATCH,
	    .flags = NF_LOCAL },
};

static size_t
table_bytes(void)
{
	size_t n, b;

	itab_stats(&n, &b);
	return b - 2 * nbuckets * sizeof(struct inode *);
}

struct seen {
	char	 names[64][64];
	int	 n;
};

static void
see(struct inode *in, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s",
		    inode_name(in));
}

static int
seen_has(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return i + 1;
	return 0;
}

int
main(void)
{
	struct inode *apps, *grp, *app, *json, *inst, *tasks, *task, *out,
	    *other, *pend, *pjson, *renamed, *scratch;
	struct seen s;
	char path[4096];
	size_t before, n, b;
	uint64_t ino;

	itab_init();
	CHECK(sizeof(struct inode) == 64, "the header is 64 bytes");
	CHECK(itab_root()->ino == 1 && strcmp(inode_name(itab_root()), "") == 0,
	    "the root is inode 1, named \"\"");

	before = table_bytes();
	apps = itab_get(itab_root(), "apps", N_APPS, NULL, 1);
	CHECK(table_bytes() - before == sizeof(struct inode) + sizeof(struct idir),
	    "a fixed-name directory stores no name: header and children only");
	CHECK_STR(inode_name(apps), "apps", "its name is its row's");
	grp = itab_get(apps, "prod", N_GROUP, "/prod", 1);
	before = table_bytes();
	app = itab_get(grp, "web", N_APP, "/prod/web", 1);
	CHECK(table_bytes() - before == sizeof(struct inode) + sizeof(struct idir) +
	    sizeof("web"), "a generated directory: its name after the header");
	CHECK_STR(inode_arg(app), "/prod/web", "a directory keeps its argument");
	CHECK_STR(inode_name(app), "web", "and its name");
	before = table_bytes();
	json = itab_get(app, "app.json", N_APP_JSON, NULL, 1);
	CHECK(table_bytes() - before == sizeof(struct inode) + sizeof(struct ifile),
	    "a fixed-name document: header and page cache coherence only");
	CHECK(inode_file(json) && inode_file(json)->attr_size == -1,
	    "no size told to the kernel yet");
	inst = itab_get(app, "instances", N_APP_INSTANCES, NULL, 1);
	tasks = itab_get(app, "tasks", N_TASKS, NULL, 1);
	task = itab_get(tasks, "web.1", N_TASK, NULL, 1);
	before = table_bytes();
	out = itab_get(task, "stdout", N_TASK_STDOUT, NULL, 1);
	CHECK(table_bytes() - before == sizeof(struct inode),
	    "a fixed-name stream: the header alone");
	CHECK(inode_file(out) == NULL && inode_arg(out) == NULL,
	    "a stream keeps no page cache fields and no argument");
	other = itab_get(grp, "db", N_APP, "/prod/db", 1);

	CHECK(itab_get(app, "app.json", N_APP_JSON, NULL, 1) == json,
	    "the same (parent, name, row) is the same inode");
	itab_put(json);
	itab_forget(json->ino, 1);
	CHECK(itab_find(app, "app.json") == json, "found by name");
	itab_put(json);
	CHECK(itab_ref(task->ino) == task, "found by number");
	itab_put(task);

	CHECK(itab_path(out, path, sizeof(path)) == 0 &&
	    strcmp(path, "apps/prod/web/tasks/web.1/stdout") == 0,
	    "the path goes through stored and fixed names");
	CHECK(itab_lookup_path("apps/prod/web/tasks/web.1/stdout") == out,
	    "and leads back to the inode");
	itab_put(out);

	memset(&s, 0, sizeof(s));
	itab_walk_under(app, see, &s);
	CHECK(s.n == 6 && seen_has(&s, "web") && seen_has(&s, "app.json") &&
	    seen_has(&s, "instances") && seen_has(&s, "tasks") &&
	    seen_has(&s, "web.1") && seen_has(&s, "stdout"),
	    "walk_under visits the app and everything below it");
	CHECK(!seen_has(&s, "db") && !seen_has(&s, "prod") && !seen_has(&s, "apps"),
	    "and nothing beside or above it");
	CHECK(seen_has(&s, "web") == 1 && seen_has(&s, "tasks") < seen_has(&s,
	    "web.1") && seen_has(&s, "web.1") < seen_has(&s, "stdout"),
	    "parents before their children");

	itab_unhash(inst);
	memset(&s, 0, sizeof(s));
	itab_walk_under(app, see, &s);
	CHECK(s.n == 5 && !seen_has(&s, "instances"),
	    "an unhashed inode is not visited");
	itab_put(inst);		/* the caller's reference */
	itab_forget(inst->ino, 1);

	itab_stats(&n, &b);
	ino = out->ino;
	itab_put(out);
	itab_forget(ino, 1);
	CHECK(itab_ref(ino) == NULL, "forgotten by the kernel: gone");
	itab_stats(&before, &b);
	CHECK(before == n - 1, "and counted out");
	memset(&s, 0, sizeof(s));
	itab_walk_under(task, see, &s);
	CHECK(s.n == 1, "and off its parent's children");

	/* A pending directory renamed before it was created keeps its
	 * children, and their paths follow the new name. */
	pend = itab_get(grp, "api", N_PENDING, NULL, 1);
	pjson = itab_get(pend, "app.json", N_PENDING_APP_JSON, NULL, 1);
	ino = pend->ino;
	renamed = itab_rename(pend, grp, "api2", N_PENDING);
	itab_put(pend);
	CHECK(renamed && renamed->ino == ino && itab_ref(ino) == renamed,
	    "a renamed inode keeps its number");
	itab_put(renamed);
	CHECK(itab_path(pjson, path, sizeof(path)) == 0 &&
	    strcmp(path, "apps/prod/api2/app.json") == 0,
	    "a renamed directory's child has the new path");
	CHECK(itab_find(renamed, "app.json") == pjson, "and is found under it");
	itab_put(pjson);
	itab_retype(renamed, N_APP, "/prod/api2");
	CHECK(renamed->row == N_APP && strcmp(inode_arg(renamed), "/prod/api2") == 0,
	    "a pending directory becomes the app, with its argument");
	itab_retype(pjson, N_APP_JSON, NULL);
	CHECK(pjson->row == N_APP_JSON, "and its document the app's");
	itab_retype(pjson, N_TASKS, NULL);
	CHECK(pjson->row == N_APP_JSON, "a retype to another layout is refused");

	scratch = itab_get(app, ".app.json.swp", N_SCRATCH, NULL, 1);
	CHECK_STR(inode_name(scratch), ".app.json.swp", "a scratch file's name");
	CHECK(inode_arg(scratch) == NULL, "and no argument");
	ino = scratch->ino;
	renamed = itab_rename(scratch, app, "app.json~", N_SCRATCH);
	itab_put(scratch);
	CHECK(itab_find(app, ".app.json.swp") == NULL, "the old name is gone");
	CHECK(itab_find(app, "app.json~") == renamed, "the new name found");
	itab_put(renamed);
	itab_put(renamed);

	CHECK(itab_stream_open(out = itab_get(task, "stdout", N_TASK_STDOUT,
	    NULL, 1)) == 0 && itab_stream_open(out) == 1,
	    "opens of a stream are counted");
	itab_stream_close(out);
	itab_stream_close(out);
	CHECK(out->nstream == 0, "and their ends");
	itab_put(out);

	itab_put(apps);
	itab_put(grp);
	itab_put(app);
	itab_put(json);
	itab_put(tasks);
	itab_put(task);
	itab_put(other);
	return done();
}
