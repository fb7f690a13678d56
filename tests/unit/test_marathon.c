/*
 * test_marathon.c: parsing a GET /v2/apps reply into a snapshot, and the
 * queries and renderings on it; Marathon's id rules; scratch names.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../backends/marathon.h"
#include "../../fs/local.h"
#include "unit.h"

static const char reply[] =
	"{\"apps\":["
	"{\"id\":\"/prod/web\",\"cmd\":\"run\",\"instances\":3,\"cpus\":0.1,"
	" \"mem\":128,\"backoffFactor\":1.15,"
	" \"env\":{\"LOG\":\"info\",\"DB\":{\"secret\":\"db\"}},"
	" \"labels\":{\"team\":\"core\"},"
	" \"healthChecks\":[{\"protocol\":\"HTTP\"}],"
	" \"version\":\"2015-09-25T15:13:48.343Z\","
	" \"versionInfo\":{\"lastConfigChangeAt\":\"2015-09-25T15:13:48.343Z\","
	"  \"lastScalingAt\":\"2015-09-25T15:13:48.343Z\"},"
	" \"tasksStaged\":0,\"tasksRunning\":2,\"tasksHealthy\":1,\"tasksUnhealthy\":1,"
	" \"deployments\":[{\"id\":\"d1\"}],"
	" \"tasks\":[{\"id\":\"prod_web.instance-1._app.1\",\"state\":\"TASK_RUNNING\","
	"  \"host\":\"agent-1\",\"ports\":[31000],\"startedAt\":\"2015-09-25T15:13:50.000Z\","
	"  \"healthCheckResults\":[{\"alive\":true}]},"
	"  {\"id\":\"prod_web.instance-2._app.1\",\"state\":\"TASK_RUNNING\","
	"  \"host\":\"agent-2\",\"ports\":[31001],"
	"  \"healthCheckResults\":[{\"alive\":false}]},"
	"  {\"id\":\"../escape\",\"state\":\"TASK_RUNNING\"}]},"
	"{\"id\":\"/prod/db/mysql\",\"cmd\":\"db\",\"instances\":0},"
	"{\"id\":\"/prod-a\",\"cmd\":\"x\",\"instances\":1},"
	"{\"id\":\"/top\",\"cmd\":\"x\",\"instances\":1},"
	"{\"id\":\"/prod/web\",\"cmd\":\"duplicate\"},"
	"{\"id\":\"/bad/../up\",\"cmd\":\"x\"},"
	"{\"id\":\"/bad//empty\",\"cmd\":\"x\"},"
	"{\"id\":\"relative\",\"cmd\":\"x\"},"
	"{\"id\":42},"
	"\"not an object\""
	"]}";

struct names {
	char	 text[1024];
	int	 n;
};

static int
collect(void *arg, const char *name, int member)
{
	struct names *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s:%d", s->n ? " " : "",
	    name, member);
	s->n++;
	return 0;
}

static void
hostile(void)
{
	static const char *const bad[] = {
		"", "{", "[]", "{\"apps\":{}}", "{\"apps\":[1,2,3]}", "null",
		"{\"apps\":[{\"id\":\"/a\",\"tasks\":{\"x\":1}}]}",
		"{\"apps\":[{\"id\":\"/a\",\"env\":[1]}]}",
		"{\"apps\":[{\"id\":\"/a\\u0000b\"}]}",
	};
	struct mara_snap *s;
	struct buf msg = BUF_INIT(4096), out = BUF_INIT(0);
	struct names nm;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&msg);
		s = NULL;
		rc = marathon_parse_apps(bad[i], strlen(bad[i]), &s, &msg);
		if (rc == 0) {
			memset(&nm, 0, sizeof(nm));
			mara_list_group(s, "/", collect, &nm);
			buf_reset(&out);
			mara_app_status(s, "/a", &out);
			mara_list_map(s, "/a", "env", collect, &nm);
			mara_list_tasks(s, "/a", collect, &nm);
			marathon_snap_free(s);
		}
	}
	CHECK(1, "hostile replies parse or fail without crashing");
	rc = marathon_parse_apps("{", 1, &s, &msg);
	CHECK(rc == -EIO && msg.len > 0, "unreadable reply is EIO with words");
	buf_free(&msg);
	buf_free(&out);
}

int
main(void)
{
	struct mara_snap *s = NULL;
	struct buf out = BUF_INIT(0), msg = BUF_INIT(4096);
	struct names nm;
	int rc;

	rc = marathon_parse_apps(reply, strlen(reply), &s, &msg);
	CHECK(rc == 0 && s != NULL, "a reply parses");
	if (s == NULL)
		return done();
	CHECK(mara_app_count(s) == 4, "unusable, duplicate and non-object entries are skipped");
	CHECK(mara_task_count(s) == 3, "tasks are counted");

	CHECK(mara_kind(s, "/") == MARA_GROUP, "root is a group");
	CHECK(mara_kind(s, "/prod") == MARA_GROUP, "a prefix is a group");
	CHECK(mara_kind(s, "/prod/db") == MARA_GROUP, "nested group");
	CHECK(mara_kind(s, "/prod/web") == MARA_APP, "an app");
	CHECK(mara_kind(s, "/prod-a") == MARA_APP, "sibling with a dash is an app");
	CHECK(mara_kind(s, "/pro") == MARA_NONE, "a partial name is nothing");
	CHECK(mara_kind(s, "/prod/web/x") == MARA_NONE, "below an app is nothing");

	memset(&nm, 0, sizeof(nm));
	mara_list_group(s, "/", collect, &nm);
	CHECK_STR(nm.text, "prod-a:2 prod:1 top:2", "root lists groups and apps once each, in id order");
	memset(&nm, 0, sizeof(nm));
	mara_list_group(s, "/prod", collect, &nm);
	CHECK_STR(nm.text, "db:1 web:2", "group lists its members");

	buf_reset(&out);
	CHECK(mara_app_json(s, "/prod/web", &out) == 0, "app.json renders");
	CHECK(strstr(out.data, "\"tasks\"") == NULL &&
	    strstr(out.data, "\"tasksRunning\"") == NULL &&
	    strstr(out.data, "\"deployments\"") == NULL &&
	    strstr(out.data, "\"version\"") == NULL &&
	    strstr(out.data, "\"versionInfo\"") == NULL,
	    "app.json has no runtime fields");
	CHECK(strstr(out.data, "\"cmd\": \"run\"") != NULL &&
	    out.data[out.len - 1] == '\n', "app.json is pretty and ends in a newline");
	CHECK(strstr(out.data, "1.15,") != NULL, "reals print as written (1.15)");

	buf_reset(&out);
	CHECK(mara_app_status(s, "/prod/web", &out) == 0, "status renders");
	CHECK(strstr(out.data, "state: deploying\n") && strstr(out.data, "running: 2\n") &&
	    strstr(out.data, "healthy: 1\n") && strstr(out.data, "unhealthy: 1\n") &&
	    strstr(out.data, "deployment: d1\n") &&
	    strstr(out.data, "version: 2015-09-25T15:13:48.343Z\n"),
	    "status has the key: value lines");
	buf_reset(&out);
	mara_app_status(s, "/prod/db/mysql", &out);
	CHECK(strstr(out.data, "state: suspended\n") != NULL, "0 instances is suspended");
	buf_reset(&out);
	CHECK(mara_app_instances(s, "/prod/web", &out) == 0 &&
	    strcmp(out.data, "3\n") == 0, "instances renders the target count");
	CHECK(mara_app_mtime(s, "/prod/web") == 1443194028343LL, "mtime is the version time");
	CHECK(mara_app_json(s, "/nope", &out) == -ENOENT, "unknown app is ENOENT");

	memset(&nm, 0, sizeof(nm));
	mara_list_tasks(s, "/prod/web", collect, &nm);
	CHECK(nm.n == 2, "a task id that is not a file name is not listed");
	buf_reset(&out);
	CHECK(mara_task_status(s, "/prod/web", "prod_web.instance-1._app.1", &out) == 0 &&
	    strstr(out.data, "health: healthy\n") && strstr(out.data, "ports: 31000\n"),
	    "task status renders health and ports");
	buf_reset(&out);
	mara_task_status(s, "/prod/web", "prod_web.instance-2._app.1", &out);
	CHECK(strstr(out.data, "health: unhealthy\n") != NULL, "failing check is unhealthy");
	CHECK(mara_task_status(s, "/prod/web", "../escape", &out) == -ENOENT,
	    "an unusable task id cannot be looked up");

	memset(&nm, 0, sizeof(nm));
	mara_list_map(s, "/prod/web", "env", collect, &nm);
	CHECK(nm.n == 2 && strstr(nm.text, "LOG:4") && strstr(nm.text, "DB:5"),
	    "env lists plain and secret variables");
	buf_reset(&out);
	CHECK(mara_map_value(s, "/prod/web", "env", "LOG", &out) == MARA_M_VAR &&
	    strcmp(out.data, "info\n") == 0, "an env value renders with a newline");
	buf_reset(&out);
	CHECK(mara_map_value(s, "/prod/web", "env", "DB", &out) == MARA_M_SECRET_VAR &&
	    strstr(out.data, "\"secret\"") != NULL, "a secret shows only its reference");
	CHECK(mara_map_value(s, "/prod/web", "labels", "team", NULL) == MARA_M_LABEL,
	    "labels resolve");
	marathon_snap_free(s);

	CHECK(marathon_check_segment("web", &msg) == 0, "lowercase id is fine");
	CHECK(marathon_check_segment("a.b-c", &msg) == 0, "dotted labels with dashes");
	CHECK(marathon_check_segment("Web", &msg) == -EINVAL, "uppercase is refused");
	CHECK(marathon_check_segment("a_b", &msg) == -EINVAL, "underscore is refused");
	CHECK(marathon_check_segment("-a", &msg) == -EINVAL, "leading dash is refused");
	CHECK(marathon_check_segment("a-", &msg) == -EINVAL, "trailing dash is refused");
	CHECK(marathon_check_segment("a..b", &msg) == -EINVAL, "empty label is refused");
	CHECK(marathon_check_segment("tasks", &msg) == -EINVAL, "reserved name is refused");
	CHECK(msg.len > 0, "a refusal has words");
	CHECK(marathon_check_key("env", "A=B", &msg) == -EINVAL, "env name with = is refused");
	CHECK(marathon_check_key("env", "PATH", &msg) == 0, "env name is fine");

	CHECK(local_scratch_name(".app.json.swp"), "vim swap is scratch");
	CHECK(local_scratch_name("4913"), "vim probe is scratch");
	CHECK(local_scratch_name("app.json~"), "backup is scratch");
	CHECK(local_scratch_name("sedAb12Cd"), "sed -i temp is scratch");
	CHECK(local_scratch_name("#app.json#"), "emacs autosave is scratch");
	CHECK(local_scratch_name("app.json.rejected"), "rejected copy is scratch");
	CHECK(!local_scratch_name("app.json"), "app.json is not scratch");
	CHECK(!local_scratch_name("instance"), "a typo is not scratch");
	CHECK(!local_scratch_name(".error"), ".error is not scratch");

	hostile();
	buf_free(&out);
	buf_free(&msg);
	return done();
}
