/*
 * fuzz_kafka_message: kafka_format_message(), which turns a message any
 * producer sent (key and value: arbitrary bytes) into one line of
 * topics/<t>/messages: "PARTITION/OFFSET KEY VALUE\n".
 *
 * Input: byte 0: bit 0 no key, bit 1 no value; byte 1: the key's length;
 * then the key, and the value is the rest.
 *
 * Checks: the line is one line (its only newline is the last byte), has
 * no control byte, is valid UTF-8 and has no space inside the key; and
 * it can be read back: unescaping the key and the value gives the exact
 * bytes of the message, and an absent key differs from every key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/kafka.h"
#include "check.h"

#define INPUT_MAX	(64u << 10)

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if none. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t k, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

static int
hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Undo the escapes of one field into out; returns its length. */
static size_t
unescape(const char *p, size_t n, unsigned char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '\\') {
			out[o++] = (unsigned char)p[i];
			continue;
		}
		CHECK(i + 1 < n, "a lone backslash ends a field");
		switch (p[++i]) {
		case '\\': out[o++] = '\\'; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'x':
			CHECK(i + 2 < n && hex(p[i + 1]) >= 0 && hex(p[i + 2]) >= 0,
			    "a bad \\x escape");
			out[o++] = (unsigned char)(hex(p[i + 1]) << 4 | hex(p[i + 2]));
			i += 2;
			break;
		default:
			CHECK(0, "unknown escape \\%c", p[i]);
		}
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf out = BUF_INIT(0);
	const unsigned char *key = NULL, *val = NULL;
	unsigned char *back;
	const char *line, *sp1, *sp2, *nl;
	size_t klen = 0, vlen, i, k, n;

	if (size < 2 || size > INPUT_MAX)
		return 0;
	klen = data[1] < size - 2 ? data[1] : size - 2;
	if (!(data[0] & 1))
		key = data + 2;
	if (!(data[0] & 2))
		val = data + 2 + klen;
	vlen = val ? size - 2 - klen : 0;
	if (key == NULL)
		klen = 0;

	CHECK(kafka_format_message(&out, 7, 123456789012LL, key, klen, val,
	    vlen) == 0, "kafka_format_message failed");
	line = buf_str(&out);
	n = out.len;
	nl = memchr(line, '\n', n);
	CHECK(nl == line + n - 1, "the message is not one line: '%s'", line);
	for (i = 0; i < n - 1; i += k) {
		unsigned char c = (unsigned char)line[i];

		CHECK(c >= 0x20 && c != 0x7f, "control byte 0x%02x in '%s'", c, line);
		k = utf8_len((const unsigned char *)line + i, n - 1 - i);
		CHECK(k > 0, "invalid UTF-8 at byte %zu of '%s'", i, line);
	}
	CHECK(strncmp(line, "7/123456789012 ", 15) == 0, "prefix of '%s'", line);
	sp1 = line + 14;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1));
	CHECK(sp2 != NULL, "no space after the key in '%s'", line);

	back = malloc(n + 1);
	CHECK(back != NULL, "malloc");
	if (sp2 - sp1 - 1 == 1 && sp1[1] == '-') {
		CHECK(key == NULL, "a key shown as -, the mark of no key");
	} else if (sp2 - sp1 - 1 == 2 && memcmp(sp1 + 1, "\"\"", 2) == 0) {
		CHECK(key != NULL && klen == 0,
		    "a key of %zu bytes shown as \"\", the mark of an empty key",
		    klen);
	} else {
		CHECK(key != NULL, "no key shown as '%.*s'", (int)(sp2 - sp1 - 1),
		    sp1 + 1);
		k = unescape(sp1 + 1, (size_t)(sp2 - sp1 - 1), back);
		CHECK(k == klen && memcmp(back, key, k) == 0,
		    "the key does not read back");
	}
	k = unescape(sp2 + 1, (size_t)(nl - sp2 - 1), back);
	CHECK(k == vlen && (vlen == 0 || memcmp(back, val, k) == 0),
	    "the value does not read back");
	free(back);
	buf_free(&out);
	return 0;
}
