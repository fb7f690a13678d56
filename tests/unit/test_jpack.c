/*
 * test_jpack.c: packed JSON (backends/jpack.c): every JSON file of
 * ../shared/reference and tests/fixtures parses, and decodes back to what
 * jansson reads; the parser refuses exactly what jansson (with
 * JSON_REJECT_DUPLICATES) refuses, case by case; the readers; jpack_each;
 * and that the packed form of real apps is smaller than their text.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../backends/jpack.h"
#include "unit.h"

/* ../shared/reference beside the checkout, or where the workplace keeps it. */
static const char *
ref_dir(void)
{
	struct stat st;

	if (stat("../../../shared/reference/marathon", &st) == 0)
		return "../../../shared/reference";
	return "/work/shared/reference";
}

/* jansson's verdict and jpack's on one text agree; 1 when accepted. */
static int
agree(const char *text, size_t len, int *same)
{
	struct jpack *p = NULL;
	json_t *j, *d;
	size_t used = 0;
	char err[256];
	int rc;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    NULL);
	rc = jpack_parse(text, len, &p, &used, err, sizeof(err));
	while (rc == 0 && used < len && strchr(" \t\r\n", text[used]))
		used++;
	if (rc == 0 && used != len)
		rc = -EINVAL;		/* jansson wants nothing after */
	*same = (j != NULL) == (rc == 0);
	if (j && rc == 0) {
		d = jp_decode(jpack_root(p), NULL);
		*same = d && json_equal(d, j);
		json_decref(d);
	}
	json_decref(j);
	jpack_free(p);
	return rc == 0;
}

static const struct {
	const char	*text;
	int		 ok;
	const char	*what;
} cases[] = {
	{ "{}", 1, "an empty object" },
	{ " [ 1 , 2 ] ", 1, "blanks around" },
	{ "\"\\u00e9\\ud83d\\ude00\"", 1, "escapes and a surrogate pair" },
	{ "\"h\xc3\xa9\"", 1, "UTF-8 in a string" },
	{ "[-0, 0.5, 1e3, -1E-2, 9223372036854775807]", 1, "numbers" },
	{ "[1.7976931348623157e308, 4.9e-324, 1e-400]", 1, "extreme reals" },
	{ "[true,false,null]", 1, "literals" },
	{ "{\"a\":1,\"b\":{\"a\":2}}", 1, "the same key in two objects" },
	{ "", 0, "nothing" },
	{ "[1,]", 0, "a trailing comma" },
	{ "[01]", 0, "a leading zero" },
	{ "[1.]", 0, "a dot without digits" },
	{ "[.5]", 0, "no integer part" },
	{ "[1e]", 0, "an empty exponent" },
	{ "[-]", 0, "a bare minus" },
	{ "[9223372036854775808]", 0, "an integer out of range" },
	{ "[1e400]", 0, "a real out of range" },
	{ "[tru]", 0, "a cut literal" },
	{ "[\"a\x01\"]", 0, "a control character in a string" },
	{ "[\"\\u0000\"]", 0, "\\u0000" },
	{ "[\"\\udc00\"]", 0, "a lone low surrogate" },
	{ "[\"\\ud800x\"]", 0, "a high surrogate alone" },
	{ "[\"\\ud800\\u0041\"]", 0, "a high surrogate with no low one" },
	{ "[\"\\x\"]", 0, "an unknown escape" },
	{ "[\"\xc0\xaf\"]", 0, "an overlong UTF-8 form" },
	{ "[\"\xed\xa0\x80\"]", 0, "a surrogate in UTF-8" },
	{ "[\"\xf4\x90\x80\x80\"]", 0, "past U+10FFFF" },
	{ "[\"\xff\"]", 0, "byte 0xff" },
	{ "[\"abc", 0, "an unterminated string" },
	{ "{\"a\":1,\"a\":2}", 0, "a key twice" },
	{ "{\"id\":1,\"x\":2,\"id\":3}", 0, "a dictionary key twice" },
	{ "{1:2}", 0, "a number as a key" },
	{ "{\"a\" 1}", 0, "no colon" },
	{ "[1 2]", 0, "no comma" },
	{ "[1]]", 0, "text after the value" },
};

static void
test_cases(void)
{
	char what[128];
	size_t i;
	int same, ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok = agree(cases[i].text, strlen(cases[i].text), &same);
		snprintf(what, sizeof(what), "%s: %s, as jansson", cases[i].what,
		    cases[i].ok ? "accepted" : "refused");
		CHECK(ok == cases[i].ok && same, what);
	}
}

static void
test_depth(void)
{
	char text[2 * 2100 + 1];
	int same;

	memset(text, '[', 2048);
	memset(text + 2048, ']', 2048);
	text[4096] = '\0';
	CHECK(agree(text, 4096, &same) && same, "2048 levels deep are accepted");
	memset(text, '[', 2049);
	memset(text + 2049, ']', 2049);
	CHECK(!agree(text, 4098, &same) && same, "2049 levels deep are refused, "
	    "as jansson refuses them (no stack overflow)");
}

/* Every *.json file under dir: parsed both ways, compared. */
static void
walk(const char *dir, int *files, int *agreed, int *accepted)
{
	struct dirent *de;
	char path[4096];
	struct stat st;
	DIR *d;
	FILE *f;
	char *text;
	int same;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(path, files, agreed, accepted);
			continue;
		}
		if (strlen(de->d_name) < 5 ||
		    strcmp(de->d_name + strlen(de->d_name) - 5, ".json") != 0 ||
		    (f = fopen(path, "rb")) == NULL)
			continue;
		text = malloc((size_t)st.st_size + 1);
		if (text && fread(text, 1, (size_t)st.st_size, f) ==
		    (size_t)st.st_size) {
			(*files)++;
			*accepted += agree(text, (size_t)st.st_size, &same);
			if (same)
				(*agreed)++;
			else
				printf("# differs: %s\n", path);
		}
		free(text);
		fclose(f);
	}
	closedir(d);
}

static void
test_reference(void)
{
	int files = 0, agreed = 0, accepted = 0;
	char what[160];

	walk(ref_dir(), &files, &agreed, &accepted);
	walk("../fixtures", &files, &agreed, &accepted);
	printf("# %d JSON files, %d parsed\n", files, accepted);
	snprintf(what, sizeof(what), "every JSON file of shared/reference and "
	    "tests/fixtures (%d) decodes to what jansson reads", files);
	CHECK(files >= 30 && agreed == files && accepted > 0, what);
}

static const char *const app = "{\"id\":\"/prod/web\",\"instances\":3,"
	"\"cpus\":0.25,\"big\":1e300,\"labels\":{\"team\":\"core\",\"x\":\"\"},"
	"\"tasks\":[{\"id\":\"t1\",\"state\":\"TASK_RUNNING\"},"
	"{\"id\":\"t2\",\"state\":\"TASK_RUNNING\"}],\"note\":\"caf\\u00e9\"}";

static void
test_readers(void)
{
	static const char *const skip[] = { "tasks", "big", NULL };
	struct jpack *p;
	struct jp r, t;
	struct jp_iter it;
	const char *key;
	size_t keylen, n;
	char keys[128] = "";
	json_t *d;
	char *s;
	char err[128];

	CHECK(jpack_parse(app, strlen(app), &p, NULL, err, sizeof(err)) == 0,
	    "an app parses");
	r = jpack_root(p);
	CHECK(jp_type(r) == JP_OBJ, "its root is an object");
	CHECK_STR(jp_str(jp_get(r, "id"), NULL), "/prod/web",
	    "jp_get of a dictionary key, jp_str of a local string");
	CHECK(jp_int(jp_get(r, "instances")) == 3, "jp_int of an integer");
	CHECK(jp_int(jp_get(r, "cpus")) == 0 && jp_real(jp_get(r, "cpus")) == 0.25,
	    "jp_int of a real truncates; jp_real reads it");
	CHECK(jp_int(jp_get(r, "big")) == 0, "jp_int of 1e300 is 0, not undefined");
	CHECK(jp_type(jp_get(r, "absent")) == JP_NONE, "an absent key is JP_NONE");
	CHECK(jp_type(jp_get(jp_get(r, "instances"), "x")) == JP_NONE,
	    "jp_get on a number is JP_NONE");
	CHECK_STR(jp_str(jp_get(jp_get(r, "labels"), "x"), &n), "",
	    "the empty string");
	CHECK(n == 0, "... of length 0");
	CHECK_STR(jp_str(jp_get(r, "note"), NULL), "caf\xc3\xa9",
	    "an escaped string is stored unescaped");
	CHECK(jp_count(jp_get(r, "tasks")) == 2 && jp_count(r) == 7,
	    "jp_count of an array and an object");
	jp_iter(jp_get(r, "tasks"), &it);
	n = 0;
	while (jp_next(&it, &t, &key, NULL))
		n += key == NULL && jp_type(jp_get(t, "state")) == JP_STR;
	CHECK(n == 2, "iterating an array: elements, no keys");
	jp_iter(r, &it);
	while (jp_next(&it, &t, &key, &keylen) && strlen(keys) < 100) {
		strcat(keys, key);
		strcat(keys, ",");
	}
	CHECK_STR(keys, "id,instances,cpus,big,labels,tasks,note,",
	    "iterating an object: every key, in order");
	d = jp_decode(r, skip);
	s = d ? json_dumps(d, JSON_COMPACT) : NULL;
	CHECK_STR(s, "{\"id\":\"/prod/web\",\"instances\":3,\"cpus\":0.25,"
	    "\"labels\":{\"team\":\"core\",\"x\":\"\"},\"note\":\"caf\xc3\xa9\"}",
	    "jp_decode leaves out the keys asked, keeps the order");
	free(s);
	json_decref(d);
	jpack_free(p);
}

struct seen {
	char	 text[256];
	int	 n;
};

static int
each(void *arg, const char *key, const char *v, size_t n)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%.*s",
	    s->n++ ? " " : "", key ? key : "", (int)n, v);
	return 0;
}

static void
test_each(void)
{
	const char *obj = " {\"a\" : [1, \"]\\\"\", {\"b\": \"}\"}] , "
	    "\"k\\u00e9\":-1.5e3 ,\"n\":null} ";
	struct seen s = { "", 0 };
	char err[128];

	CHECK(jpack_each(obj, strlen(obj), 1, each, &s, err, sizeof(err)) == 0,
	    "jpack_each walks an object");
	CHECK_STR(s.text, "a=[1, \"]\\\"\", {\"b\": \"}\"}] k\xc3\xa9=-1.5e3 n=null",
	    "... delimiting values with brackets and quotes inside strings, "
	    "keys unescaped");
	memset(&s, 0, sizeof(s));
	CHECK(jpack_each("[\"a\\\\\", \"\\\\\\\"]\"]", 16, 0, each, &s, err,
	    sizeof(err)) == 0, "jpack_each walks an array");
	CHECK_STR(s.text, "=\"a\\\\\" =\"\\\\\\\"]\"",
	    "... a string ending in an escaped backslash ends at its quote");
	memset(&s, 0, sizeof(s));
	CHECK(jpack_each("[]", 2, 0, each, &s, err, sizeof(err)) == 0 && s.n == 0,
	    "an empty array has no elements");
	CHECK(jpack_each("[1] x", 5, 0, each, &s, err, sizeof(err)) == -EINVAL,
	    "text after the array is refused");
	CHECK(jpack_each("[1, {]", 6, 0, each, &s, err, sizeof(err)) == -EINVAL,
	    "an unbalanced element is refused");
	CHECK(jpack_each("{\"a\" 1}", 7, 1, each, &s, err, sizeof(err)) == -EINVAL,
	    "a member without a colon is refused");
	CHECK(jpack_each("[1]", 3, 1, each, &s, err, sizeof(err)) == -EINVAL &&
	    strstr(err, "expected an object") != NULL,
	    "an array where an object is wanted is refused, in words");
}

/* Real apps pack into less than their compact text (the point of it all). */
static void
test_size(void)
{
	json_t *root, *apps, *a;
	struct jpack *p;
	size_t i, text = 0, packed = 0;
	char what[160], path[512], *s;

	snprintf(path, sizeof(path), "%s/marathon/benchmark-real/155_1000.json",
	    ref_dir());
	root = json_load_file(path, 0, NULL);
	apps = json_object_get(root, "apps");
	json_array_foreach(apps, i, a) {
		s = json_dumps(a, JSON_COMPACT);
		text += s ? strlen(s) : 0;
		free(s);
		p = jpack_new(a);
		packed += jpack_size(p);
		jpack_free(p);
	}
	printf("# 1000 real apps: %zu bytes of compact JSON, %zu packed\n",
	    text, packed);
	snprintf(what, sizeof(what), "1000 real apps pack into under half their "
	    "compact JSON (%zu of %zu bytes)", packed, text);
	CHECK(json_array_size(apps) == 1000 && packed * 2 < text, what);
	json_decref(root);
}

static void
test_dictionary(void)
{
	/* A key in the dictionary costs no string storage: two documents
	 * differing only in a dictionary word have the same size. */
	struct jpack *a, *b;
	char err[64];

	jpack_parse("{\"instances\":1}", 15, &a, NULL, err, sizeof(err));
	jpack_parse("{\"healthChecks\":1}", 18, &b, NULL, err, sizeof(err));
	CHECK(a && b && jpack_size(a) == jpack_size(b),
	    "dictionary words take no space of their own");
	jpack_free(a);
	jpack_free(b);
	jpack_parse("[\"zzq-unknown\",\"zzq-unknown\"]", 29, &a, NULL, err,
	    sizeof(err));
	jpack_parse("[\"zzq-unknown\"]", 15, &b, NULL, err, sizeof(err));
	CHECK(a && b && jpack_size(a) - jpack_size(b) <= 2,
	    "a string used twice is stored once");
	jpack_free(a);
	jpack_free(b);
}

int
main(void)
{
	test_cases();
	test_depth();
	test_reference();
	test_readers();
	test_each();
	test_size();
	test_dictionary();
	return done();
}
