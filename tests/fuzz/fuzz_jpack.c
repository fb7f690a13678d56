/*
 * fuzz_jpack: any bytes through jpack_parse(), the parser every Marathon
 * reply goes through, checked against jansson (JSON_REJECT_DUPLICATES |
 * JSON_DECODE_ANY) as the reference:
 *  - both accept or both refuse the text (jpack's own rule that a string
 *    may not hold \u0000 is jansson's too, without JSON_ALLOW_NUL), but
 *    for text with a NUL byte: jansson 2.14 skips those (its stream
 *    buffer takes NUL for "empty"), jpack refuses them, as RFC 8259 does;
 *  - what both accept decodes back to a value jansson finds equal, and
 *    packs the same from jansson's value (jpack_new);
 *  - the readers (jp_get of every member, jp_count, jp_str, jp_int)
 *    agree with the decoded value;
 *  - jpack_each over the text, as an object and as an array, never
 *    crashes, and the pieces it hands out parse whole.
 *
 * Seeds: tests/fuzz/seeds (the Marathon replies of ../shared/reference).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/jpack.h"
#include "check.h"

#define INPUT_MAX	(64u << 10)

/* The readers agree with the decoded value, one level down. */
static void
check_readers(struct jp v, json_t *j)
{
	struct jp_iter it;
	struct jp m;
	const char *key, *s;
	size_t keylen, n = 0, len;

	switch (jp_type(v)) {
	case JP_OBJ:
		CHECK(json_is_object(j), "object read as another type");
		jp_iter(v, &it);
		while (jp_next(&it, &m, &key, &keylen)) {
			json_t *jm = json_object_getn(j, key, keylen);

			CHECK(jm != NULL, "member %s not in the decoded object", key);
			CHECK(strlen(key) == keylen, "key with a NUL inside");
			/* jp_get finds the first member of that name. */
			CHECK(jp_get(v, key).off == m.off, "jp_get(%s) misses", key);
			n++;
		}
		CHECK(n == json_object_size(j), "%zu members read, %zu decoded",
		    n, json_object_size(j));
		CHECK(jp_count(v) == n, "jp_count of an object");
		break;
	case JP_ARR:
		CHECK(json_is_array(j), "array read as another type");
		CHECK(jp_count(v) == json_array_size(j), "jp_count of an array");
		break;
	case JP_STR:
		s = jp_str(v, &len);
		CHECK(json_is_string(j) && len == json_string_length(j) &&
		    memcmp(s, json_string_value(j), len) == 0 && s[len] == '\0',
		    "string read differs");
		break;
	case JP_INT:
		CHECK(json_is_integer(j) && jp_int(v) == json_integer_value(j),
		    "integer read differs");
		break;
	case JP_REAL:
		CHECK(json_is_real(j) && jp_real(v) == json_real_value(j),
		    "real read differs");
		break;
	default:
		break;
	}
}

static int
piece(void *arg, const char *key, const char *v, size_t n)
{
	struct jpack *p = NULL;
	size_t used = 0;
	char err[256];

	(void)arg;
	(void)key;
	/* A delimited piece either parses whole or is refused. */
	if (jpack_parse(v, n, &p, &used, err, sizeof(err)) == 0)
		jpack_free(p);
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *text = (const char *)data;
	struct jpack *p = NULL, *q;
	json_error_t jerr;
	json_t *ref, *dec;
	char err[256];
	size_t used = 0, end;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	ref = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &jerr);
	rc = jpack_parse(text, size, &p, &used, err, sizeof(err));
	if (rc == 0) {
		/* jpack stops after one value; jansson wants only blanks after. */
		for (end = used; end < size && strchr(" \t\r\n", text[end]) &&
		    text[end]; end++)
			;
		if (end != size) {
			jpack_free(p);
			p = NULL;
			rc = -1;
		}
	}
	if (memchr(text, '\0', size) != NULL) {
		CHECK(rc != 0, "jpack accepts a NUL byte");
		json_decref(ref);
		ref = NULL;
	}
	CHECK((ref != NULL) == (rc == 0), "jansson %s (%s), jpack %s (%s)",
	    ref ? "accepts" : "refuses", ref ? "" : jerr.text,
	    rc == 0 ? "accepts" : "refuses", rc == 0 ? "" : err);
	if (ref != NULL) {
		dec = jp_decode(jpack_root(p), NULL);
		CHECK(dec != NULL && json_equal(dec, ref),
		    "decoded value differs from jansson's");
		check_readers(jpack_root(p), dec);
		q = jpack_new(ref);
		CHECK(q != NULL && jpack_size(q) == jpack_size(p),
		    "packing jansson's value gives %zu bytes, parsing %zu",
		    jpack_size(q), jpack_size(p));
		jpack_free(q);
		json_decref(dec);
	}
	jpack_free(p);
	json_decref(ref);
	(void)jpack_each(text, size, 1, piece, NULL, err, sizeof(err));
	(void)jpack_each(text, size, 0, piece, NULL, err, sizeof(err));
	return 0;
}
