/*
 * fuzz_marathon_replies: Marathon's other replies, through the backend's
 * public calls with the fake HTTP layer answering (fake.h):
 *
 *	head: "APP-ID" (the app whose versions are read; default /prod/web)
 *	reply 1: GET /v2/deployments	-> marathon_deps(), and per deployment
 *					   deployments/<id>/{deployment.json,status}
 *	reply 2: GET /v2/info		-> marathon_framework()
 *	reply 3: GET .../versions	-> marathon_list_versions()
 *	reply 4...: GET .../versions/<ts> for the first versions listed
 *					-> marathon_version_json()
 *
 * Checks besides memory safety: listed names are usable file names and
 * found again; deployment.json and versions/<ts>.json are JSON objects
 * (the latter without runtime fields); status files are "key: value"
 * lines; a second listing of versions is served from the cache, alike.
 *
 * Seeds: ../shared/reference's deployments.json, info.json, app.json
 * examples (tests/fuzz/seeds) and tests/fuzz/corpus/marathon_replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define INPUT_MAX	(256u << 10)
#define VERSIONS_READ	3

struct dep_ctx {
	const struct mara_deps	*d;
	int			 n;
};

static int
on_dep(void *arg, const char *name, int member)
{
	struct dep_ctx *c = arg;
	struct buf out = BUF_INIT(4u << 20);

	check_name(name, "deployment");
	CHECK(member == MARA_M_DEPLOYMENT, "deployment %s listed as %d", name,
	    member);
	CHECK(mara_dep_exists(c->d, name), "deployment %s listed, not found",
	    name);
	CHECK(mara_dep_json(c->d, name, &out) == 0, "deployment.json of %s",
	    name);
	check_json_object(&out, "deployment.json", 0);
	buf_reset(&out);
	CHECK(mara_dep_status(c->d, name, &out) == 0, "status of %s", name);
	check_status(&out, "deployment status");
	buf_free(&out);
	c->n++;
	return 0;
}

struct ver_ctx {
	struct buf	 names;		/* "a.json\nb.json\n" */
	int		 n;
};

static int
on_version(void *arg, const char *name, int member)
{
	struct ver_ctx *c = arg;
	size_t n = strlen(name);

	check_name(name, "version");
	CHECK(member == MARA_M_VERSION, "version %s listed as %d", name, member);
	CHECK(n > 5 && strcmp(name + n - 5, ".json") == 0,
	    "version %s does not end in .json", name);
	buf_printf(&c->names, "%s\n", name);
	c->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf msg = BUF_INIT(4096), out = BUF_INIT(16u << 20);
	struct ver_ctx v1 = { BUF_INIT(1 << 20), 0 }, v2 = { BUF_INIT(1 << 20), 0 };
	struct mara_deps *d = NULL;
	struct marathon *m;
	char id[1024], fw[256], url[256], ts[300];
	const char *p, *nl;
	size_t hlen;
	int i, rc;

	if (size > INPUT_MAX)
		return 0;
	fake_split((const char *)data, size, &hlen);
	head_word((const char *)data, hlen, 0, id, sizeof(id), "/prod/web");
	m = fuzz_marathon();

	if (marathon_deps(m, 1, FUZZ_DEADLINE, &d, &msg) == 0) {
		struct dep_ctx c = { d, 0 };

		mara_list_deps(d, on_dep, &c);
		CHECK(!mara_dep_exists(d, "") && !mara_dep_exists(d, ".."),
		    "an unusable deployment id is found");
		marathon_deps_put(m, d);
	} else {
		CHECK(msg.len > 0, "a failed deployment list has no words");
	}
	buf_reset(&msg);
	if (marathon_framework(m, 1, FUZZ_DEADLINE, fw, sizeof(fw), url,
	    sizeof(url), &msg) != 0)
		CHECK(msg.len > 0, "a failed /v2/info has no words");

	rc = marathon_list_versions(m, id, 1, FUZZ_DEADLINE, on_version, &v1,
	    &msg);
	if (rc == 0) {
		/* Read back the first few, twice (the second from the cache). */
		for (i = 0, p = buf_str(&v1.names); i < VERSIONS_READ && *p;
		    i++, p = nl + 1) {
			nl = strchr(p, '\n');
			snprintf(ts, sizeof(ts), "%.*s", (int)(nl - p - 5), p);
			buf_reset(&out);
			if (marathon_version_json(m, id, ts, 1, FUZZ_DEADLINE, &out,
			    &msg) == 0) {
				check_json_object(&out, "versions/<ts>.json", 1);
				buf_reset(&out);
				CHECK(marathon_version_json(m, id, ts, 0, 0, &out,
				    &msg) == 0, "version %s not cached", ts);
			}
		}
		CHECK(marathon_list_versions(m, id, 0, 0, on_version, &v2,
		    &msg) == 0, "the version list was not cached");
		CHECK(v1.n == v2.n && strcmp(buf_str(&v1.names),
		    buf_str(&v2.names)) == 0, "the cached list differs");
	}
	buf_reset(&out);
	marathon_dep_outcome(m, "none", &out);
	buf_reset(&out);
	marathon_status(m, &out);
	marathon_free(m);
	buf_free(&v1.names);
	buf_free(&v2.names);
	buf_free(&out);
	buf_free(&msg);
	return 0;
}
