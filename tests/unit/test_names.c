/*
 * test_names.c: cluster names as path components (fs/names.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../../fs/names.h"
#include "unit.h"

static void
both(const char *raw, const char *file, const char *what)
{
	char *e = name_escape(raw), *u = name_unescape(file);

	CHECK_STR(e ? e : "(none)", file, what);
	CHECK_STR(u ? u : "(none)", raw, what);
	free(e);
	free(u);
}

static void
none_for(const char *file, const char *what)
{
	char *u = name_unescape(file);

	CHECK(u == NULL, what);
	free(u);
}

int
main(void)
{
	char long_raw[300], *e;

	both("billing", "billing", "an ordinary name is itself");
	both("prod.billing", "prod.billing", "dots inside a name stay");
	both("a/b", "a%2Fb", "a slash is %2F");
	both("..", "%2E%2E", "a whole .. is %2E%2E");
	both(".", "%2E", "a whole . is %2E");
	both("...", "...", "three dots are a plain name");
	both("x%2Fy", "x%252Fy", "a percent sign is %25, so the escape reverses");
	both("/..", "%2F..", "only a whole . or .. is escaped as dots");
	CHECK(name_escape("") == NULL, "an empty name has no file name");
	memset(long_raw, 'g', 255);
	long_raw[255] = '\0';
	e = name_escape(long_raw);
	CHECK(e && strlen(e) == 255, "255 bytes is a file name");
	free(e);
	long_raw[253] = '/';
	CHECK(name_escape(long_raw) == NULL, "longer than 255 once escaped: none");
	none_for("a%2fb", "lower-case escapes stand for nothing");
	none_for("%41", "only %25 and %2F are escapes");
	none_for("50%", "a bare percent sign stands for nothing");
	none_for("%2E%2E%2E", "only a whole . or .. is escaped");
	CHECK(name_plain("billing") && !name_plain("..") && !name_plain(".") &&
	    !name_plain("a/b") && !name_plain("") && name_plain("a%2Fb"),
	    "plain names: not empty, . or .., no slash");
	long_raw[253] = 'g';
	long_raw[255] = 'g';
	long_raw[256] = '\0';
	CHECK(!name_plain(long_raw), "plain names: at most 255 bytes");
	return done();
}
