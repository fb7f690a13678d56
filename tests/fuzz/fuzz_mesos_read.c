/*
 * fuzz_mesos_read: mesos_parse_read(), the lenient decoder of an agent's
 * /files/read reply, {"data":"<the file's bytes>","offset":N}.  Agents put
 * the bytes into the string as they are, so the reply is often JSON no
 * strict parser takes; this decoder is hand-written, hence fuzzed hard.
 *
 * Checks besides memory safety:
 *  - differential: when jansson reads the reply as an object whose
 *    members are "data" (a string), "offset" (an integer) and other
 *    scalars, with keys as Mesos writes them (no escapes), the decoder
 *    must agree on the bytes and the offset;
 *  - the caller's capacity holds: with a small buffer it either fails
 *    (EIO) or returns exactly what the large one returned, and on the
 *    replies above it fails only when the data does not fit.
 *
 * Seeds: replies shaped as API-NOTES 2.4 shows them (tests/fuzz/seeds),
 * tests/fuzz/corpus/mesos_read.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/mesos.h"
#include "check.h"

#define INPUT_MAX	(512u << 10)
#define CAP		(64u << 10)
#define SMALL		16

static char big[CAP], small[SMALL];

/* Are the keys of this object (which jansson read) written without
 * escapes, as Mesos writes them?  Walks the top level only: values other
 * than strings are scalars here (comparable() made sure). */
static int
keys_plain(const char *p, size_t len)
{
	const char *end = p + len;
	int key = 1;

	while (p < end && *p != '{')
		p++;
	for (p++; p < end; p++) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\') {
					if (key)
						return 0;
					p++;
				}
			}
			key = 0;
		} else if (*p == ',') {
			key = 1;
		}
	}
	return 1;
}

/* Is this a reply the differential check applies to (see above)? */
static int
comparable(json_t *root, const char *text, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root) || !json_is_string(json_object_get(root, "data")) ||
	    !json_is_integer(json_object_get(root, "offset")))
		return 0;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "data") && strcmp(key, "offset") &&
		    (json_is_object(v) || json_is_array(v)))
			return 0;
	}
	/* A raw NUL is not JSON, but jansson takes it for the end of a
	 * buffer it reads: not a reply to compare on. */
	if (memchr(text, '\0', len))
		return 0;
	return keys_plain(text, len);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *text = (const char *)data;
	size_t n = 0, ns = 0;
	int64_t off = -7, offs = -7;
	json_t *root;
	int rc, rcs;

	if (size > INPUT_MAX)
		return 0;
	rc = mesos_parse_read(text, size, big, sizeof(big), &n, &off);
	CHECK(rc == 0 || rc == -EIO, "mesos_parse_read returned %d", rc);
	if (rc == 0)
		CHECK(n <= sizeof(big), "%zu bytes into %zu", n, sizeof(big));

	rcs = mesos_parse_read(text, size, small, sizeof(small), &ns, &offs);
	if (rcs == 0) {
		CHECK(rc == 0 && ns == n && offs == off &&
		    memcmp(small, big, ns) == 0,
		    "a small buffer gave another answer than a large one");
	} else {
		CHECK(rcs == -EIO, "mesos_parse_read returned %d", rcs);
	}

	root = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    NULL);
	if (root && comparable(root, text, size)) {
		json_t *d = json_object_get(root, "data");
		size_t dl = json_string_length(d);

		if (dl <= sizeof(big)) {
			CHECK(rc == 0, "jansson reads this reply, the decoder "
			    "does not");
			CHECK(n == dl && memcmp(big, json_string_value(d), n) == 0,
			    "the decoder's data (%zu bytes) differs from "
			    "jansson's (%zu bytes)", n, dl);
			CHECK(off == json_integer_value(json_object_get(root,
			    "offset")), "offset %lld, jansson says %lld",
			    (long long)off, (long long)json_integer_value(
			    json_object_get(root, "offset")));
			CHECK(rcs == 0 || dl > sizeof(small),
			    "a small buffer failed though %zu bytes fit", dl);
		}
	}
	json_decref(root);
	return 0;
}
