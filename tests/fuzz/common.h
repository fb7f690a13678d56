/*
 * common.h: small helpers the Marathon and Mesos targets share: a backend
 * set up against a URL nobody answers (the fake HTTP layer answers), and
 * the first line of a script's head.
 */
#ifndef ARCHONFS_FUZZ_COMMON_H
#define ARCHONFS_FUZZ_COMMON_H

#include <jansson.h>
#include <string.h>

#include "../../backends/marathon.h"
#include "check.h"
#include "fake.h"

#define FUZZ_URL	"http://fuzz.invalid:8080"
#define FUZZ_DEADLINE	(now_ms() + 5000)

static inline struct marathon *
fuzz_marathon(void)
{
	struct marathon_opts o = { 0 };
	struct buf msg = BUF_INIT(4096);
	struct marathon *m;

	o.urls = FUZZ_URL;
	o.timeout_ms = 5000;
	o.ttl_ms = 60000;
	o.max_body = 4u << 20;
	m = marathon_new(&o, &msg);
	CHECK(m != NULL, "marathon_new: %s", buf_str(&msg));
	buf_free(&msg);
	return m;
}

/*
 * Word i (0-based) of the first line of head, into out; def when the line
 * has fewer words.  Words are split on blanks.
 */
static inline void
head_word(const char *head, size_t n, int i, char *out, size_t outsz,
    const char *def)
{
	const char *p = head, *end, *w;
	size_t k;

	end = memchr(head, '\n', n);
	if (end == NULL)
		end = head + n;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (w == p)
			break;
		if (i-- == 0) {
			k = (size_t)(p - w);
			if (k >= outsz)
				k = outsz - 1;
			memcpy(out, w, k);
			out[k] = '\0';
			/* A C string: the backends take ids as strings. */
			out[strnlen(out, k)] = '\0';
			if (*out)
				return;
			break;
		}
	}
	snprintf(out, outsz, "%s", def);
}

/* The rest of head after its first line (user bytes), or "". */
static inline const char *
head_rest(const char *head, size_t n, size_t *len)
{
	const char *nl = memchr(head, '\n', n);

	if (nl == NULL) {
		*len = 0;
		return head + n;
	}
	*len = n - (size_t)(nl + 1 - head);
	return nl + 1;
}

/* A rendered document is one JSON object; runtime: also without
 * Marathon's runtime fields (app.json, versions/<ts>.json). */
static inline void
check_json_object(const struct buf *b, const char *what, int runtime)
{
	static const char *const fields[] = { "tasks", "tasksRunning",
		"tasksStaged", "tasksHealthy", "tasksUnhealthy", "deployments",
		"version", "versionInfo", "lastTaskFailure" };
	json_t *j;
	size_t i;

	j = json_loadb(buf_str(b), b->len, 0, NULL);
	CHECK(json_is_object(j), "%s is not a JSON object: %.200s", what,
	    buf_str(b));
	for (i = 0; runtime && i < sizeof(fields) / sizeof(fields[0]); i++)
		CHECK(json_object_get(j, fields[i]) == NULL,
		    "%s has the runtime field %s", what, fields[i]);
	json_decref(j);
}

#endif
