/*
 * test_buf.c: capped buffers, value trimming, and the HTTP status table.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../backends/buf.h"
#include "../../backends/http.h"
#include "unit.h"

int
main(void)
{
	struct buf b = BUF_INIT(16);
	const char *p;
	size_t n;

	CHECK(buf_addstr(&b, "0123456789") == 0 && b.len == 10, "add under the cap");
	CHECK(buf_addstr(&b, "0123456") == -EFBIG, "add past the cap is EFBIG");
	CHECK(buf_addstr(&b, "x") == -EFBIG, "a failed buffer stays failed");
	buf_reset(&b);
	CHECK(b.err == 0 && b.len == 0 && buf_str(&b)[0] == '\0', "reset clears");
	CHECK(buf_pwrite(&b, "ab", 2, 4) == 0 && b.len == 6 &&
	    memcmp(b.data, "\0\0\0\0ab", 6) == 0, "pwrite past the end zero-fills");
	CHECK(buf_pwrite(&b, "XY", 2, 1) == 0 && memcmp(b.data, "\0XY\0ab", 6) == 0,
	    "pwrite inside overwrites");
	CHECK(buf_pwrite(&b, "z", 1, 16) == -EFBIG, "pwrite past the cap is EFBIG");
	buf_reset(&b);
	CHECK(buf_truncate(&b, 3) == 0 && b.len == 3 && b.data[2] == '\0',
	    "truncate grows with zeros");
	CHECK(buf_printf(&b, "%d", 42) == 0 && b.len == 5, "printf appends");
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0, "free releases");

	n = trim_value("  5\n", 4, &p);
	CHECK(n == 1 && p[0] == '5', "trim drops blanks and one newline");
	n = trim_value("5\r\n", 3, &p);
	CHECK(n == 1 && p[0] == '5', "trim drops CRLF");
	n = trim_value("\n", 1, &p);
	CHECK(n == 0, "a lone newline is empty");
	n = trim_value("a b\n\n", 5, &p);
	CHECK(n == 4, "only one trailing newline is dropped");

	CHECK(http_status_errno(200) == 0 && http_status_errno(201) == 0,
	    "2xx is success");
	CHECK(http_status_errno(400) == EINVAL && http_status_errno(422) == EINVAL,
	    "400 and 422 are EINVAL");
	CHECK(http_status_errno(401) == EACCES && http_status_errno(403) == EACCES,
	    "401 and 403 are EACCES");
	CHECK(http_status_errno(404) == ENOENT, "404 is ENOENT");
	CHECK(http_status_errno(409) == EBUSY, "409 is EBUSY");
	CHECK(http_status_errno(413) == EFBIG, "413 is EFBIG");
	CHECK(http_status_errno(500) == EIO && http_status_errno(503) == EIO,
	    "5xx is EIO");
	CHECK(http_status_errno(418) == EIO, "anything else is EIO");
	CHECK(fnv1a(FNV_INIT, "a", 1) != fnv1a(FNV_INIT, "b", 1), "hash differs");
	/* Whole numbers from value writes (instances, partitions). */
	{
		struct buf m = BUF_INIT(0);
		long v = -1;

		CHECK(value_count("12\n", 3, "partitions", &v, &m) == 0 && v == 12,
		    "a count with its newline");
		CHECK(value_count(" 0 ", 3, "partitions", &v, &m) == 0 && v == 0,
		    "zero is a count (the caller decides if it is allowed)");
		CHECK(value_count("-3\n", 3, "partitions", &v, &m) == -EINVAL &&
		    strstr(buf_str(&m), "negative") != NULL, "negative, in words");
		CHECK(value_count("1e3", 3, "partitions", &v, &m) == -EINVAL &&
		    strstr(buf_str(&m), "'1e3' is not a whole number") != NULL,
		    "not a whole number, quoted");
		CHECK(value_count("\n", 1, "partitions", &v, &m) == -EINVAL,
		    "empty");
		CHECK(value_count("2147483648", 10, "partitions", &v, &m) == -EINVAL,
		    "too large");
		CHECK(value_count("9\x01", 2, "partitions", &v, &m) == -EINVAL &&
		    strstr(buf_str(&m), "\\x01") != NULL,
		    "control bytes are quoted as \\xHH");
		buf_free(&m);
	}
	return done();
}
