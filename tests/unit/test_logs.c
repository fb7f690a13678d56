/*
 * test_logs.c: the line merger of app-level logs, and the lenient decoder
 * of Mesos /files/read replies.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../backends/logmerge.h"
#include "../../backends/mesos.h"
#include "unit.h"

static char out[1 << 16];

static const char *
all(struct logmerge *lm)
{
	ssize_t n = logmerge_read(lm, out, sizeof(out) - 1, 0);

	out[n < 0 ? 0 : n] = '\0';
	return out;
}

static void
merge(void)
{
	struct logmerge *lm = logmerge_new(1 << 16), *small;
	ssize_t n;

	logmerge_feed(lm, "a", "one\ntw", 6, 0);
	CHECK_STR(all(lm), "a: one\n", "complete lines come out prefixed; a partial waits");
	logmerge_feed(lm, "b", "x\n", 2, 0);
	logmerge_feed(lm, "a", "o\nthree\n", 8, 0);
	CHECK_STR(all(lm), "a: one\nb: x\na: two\na: three\n",
	    "a held line completes whole, never mixed with another source");
	logmerge_feed(lm, "c", "ail of old\nnew\n", 15, 1);
	CHECK_STR(all(lm) + strlen("a: one\nb: x\na: two\na: three\n"), "c: new\n",
	    "a source that starts mid-line skips to the first newline");
	logmerge_feed(lm, "b", "last words", 10, 0);
	CHECK(logmerge_end(lm, "b") == 0, "ending a source");
	CHECK(strstr(all(lm), "b: last words\n") != NULL,
	    "an ended source's partial line is emitted with a newline");
	CHECK(logmerge_size(lm) == strlen(all(lm)), "size is the bytes emitted");
	n = logmerge_read(lm, out, 4, 3);
	CHECK(n == 4 && memcmp(out, "one\n", 4) == 0, "reads at an offset");
	CHECK(logmerge_read(lm, out, 10, logmerge_size(lm)) == 0, "a read at the end is 0");
	logmerge_free(lm);

	small = logmerge_new(32);
	logmerge_feed(small, "t", "0123456789\nabcdefghij\nklmnopqrst\n", 33, 0);
	CHECK(logmerge_size(small) == 42, "the size counts everything emitted");
	CHECK(logmerge_read(small, out, 5, 0) == -ENODATA,
	    "below the kept window is ENODATA");
	n = logmerge_read(small, out, 32, 10);
	CHECK(n == 32 && memcmp(out + 29, "st\n", 3) == 0, "the window holds the last bytes");
	logmerge_free(small);

	small = logmerge_new(8);
	logmerge_append(small, "0/1 k v\n", 8);
	logmerge_append(small, "0/2 k w\n", 8);
	CHECK(logmerge_size(small) == 16, "appended lines count in the size");
	n = logmerge_read(small, out, 8, 8);
	CHECK(n == 8 && memcmp(out, "0/2 k w\n", 8) == 0,
	    "appended lines are read back as given, no prefix");
	CHECK(logmerge_read(small, out, 8, 0) == -ENODATA,
	    "and fall out of the window like merged ones");
	logmerge_free(small);

	lm = logmerge_new(1 << 20);
	{
		char *big = malloc(LOGMERGE_LINE_MAX + 10);

		memset(big, 'x', LOGMERGE_LINE_MAX + 10);
		logmerge_feed(lm, "t", big, LOGMERGE_LINE_MAX + 10, 0);
		free(big);
	}
	CHECK(logmerge_size(lm) == 3 + LOGMERGE_LINE_MAX + 1,
	    "a line without a newline is cut at LOGMERGE_LINE_MAX");
	logmerge_free(lm);
}

static void
parse(void)
{
	char buf[64];
	size_t n;
	int64_t off;
	int rc;

#define P(s) mesos_parse_read(s, sizeof(s) - 1, buf, sizeof(buf), &n, &off)
	rc = P("{\"data\":\"\",\"offset\":1234}");
	CHECK(rc == 0 && n == 0 && off == 1234, "a size probe");
	rc = P("{\"data\":\"a\\nb\\t\\\"q\\\" \\\\ \\/\",\"offset\":7}");
	CHECK(rc == 0 && n == 11 && memcmp(buf, "a\nb\t\"q\" \\ /", 11) == 0 && off == 7,
	    "JSON escapes decode");
	rc = P("{\"data\":\"\\u00e9\\u65e5\\ud83d\\ude00\",\"offset\":0}");
	CHECK(rc == 0 && n == 9 && memcmp(buf, "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 9) == 0,
	    "\\u escapes and surrogate pairs become UTF-8");
	rc = P("{\"data\":\"\xff\xfe raw\x80\",\"offset\":0}");
	CHECK(rc == 0 && n == 7 && memcmp(buf, "\xff\xfe raw\x80", 7) == 0,
	    "raw bytes that are not UTF-8 pass through");
	rc = P(" { \"offset\" : 3 , \"data\" : \"xy\" } ");
	CHECK(rc == 0 && n == 2 && off == 3, "keys in either order, blanks anywhere");
	rc = P("{\"data\":\"x\",\"offset\":1,\"extra\":\"s\",\"n\":null}");
	CHECK(rc == 0 && n == 1, "unknown keys are skipped");
	CHECK(P("{\"data\":\"x\"}") == -EIO, "no offset is EIO");
	CHECK(P("{\"offset\":1}") == -EIO, "no data is EIO");
	CHECK(P("{\"data\":\"unterminated,\"offset\":1") == -EIO, "truncated is EIO");
	CHECK(P("{\"data\":\"\\q\",\"offset\":1}") == -EIO, "a bad escape is EIO");
	CHECK(P("{\"data\":\"\\u12\",\"offset\":1}") == -EIO, "a short \\u is EIO");
	CHECK(P("{\"data\":\"x\",\"offset\":99999999999999999999999}") == -EIO,
	    "an offset that overflows is EIO");
	CHECK(P("[1,2]") == -EIO, "not an object is EIO");
	CHECK(P("") == -EIO, "empty is EIO");
	rc = mesos_parse_read("{\"data\":\"0123456789\",\"offset\":0}", 32, buf, 4, &n, &off);
	CHECK(rc == -EIO, "more data than the caller asked for is EIO");
#undef P
}

int
main(void)
{
	merge();
	parse();
	return done();
}
