/*
 * fuzz_creds: the credentials file parser, creds_parse() (fs/creds.c),
 * compared with a model written from creds.h: "key = value" lines, #
 * comments, blanks around keys and values not part of them, unknown keys
 * ignored, "kafka.NAME" lines kept as "NAME=VALUE", the last of a key
 * wins, values cut to their fields (255 bytes, 1023 for kafka lines).
 * A line is a line however long it is: no part of a comment or of a
 * long value may ever be read as a key of its own.
 *
 * Seeds: the file of tests/unit/test_creds.c and a few variants
 * (tests/fuzz/seeds), tests/fuzz/corpus/creds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/creds.h"
#include "check.h"

#define INPUT_MAX	(64u << 10)

static char *
trim(char *s)
{
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void
model(const char *data, size_t size, struct creds *c)
{
	const char *p = data, *end = data + size, *nl;
	char *line, *k, *v, *eq;
	size_t n;

	memset(c, 0, sizeof(*c));
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		n = (size_t)(nl - p);
		line = malloc(n + 1);
		CHECK(line != NULL, "malloc");
		memcpy(line, p, n);
		line[n] = '\0';		/* and a NUL inside ends it early */
		k = trim(line);
		if (*k != '#' && (eq = strchr(k, '=')) != NULL) {
			*eq = '\0';
			k = trim(k);
			v = trim(eq + 1);
			if (strncmp(k, "kafka.", 6) == 0 && k[6] &&
			    c->nkafka < CREDS_KAFKA_MAX)
				snprintf(c->kafka[c->nkafka++], sizeof(c->kafka[0]),
				    "%s=%s", k + 6, v);
			if (strcmp(k, "marathon.user") == 0)
				snprintf(c->marathon_user, 256, "%s", v);
			if (strcmp(k, "marathon.password") == 0)
				snprintf(c->marathon_password, 256, "%s", v);
			if (strcmp(k, "zk.user") == 0)
				snprintf(c->zk_user, 256, "%s", v);
			if (strcmp(k, "zk.password") == 0)
				snprintf(c->zk_password, 256, "%s", v);
		}
		free(line);
		if (nl == end)
			break;
	}
}

#define SAME(f) CHECK(strcmp(got.f, want.f) == 0, #f ": '%s', the file " \
	"says '%s'", got.f, want.f)

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct creds got, want;
	FILE *f;
	int i;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	f = fmemopen((void *)data, size, "r");
	CHECK(f != NULL, "fmemopen");
	CHECK(creds_parse(f, &got) == 0, "creds_parse failed");
	fclose(f);
	model((const char *)data, size, &want);
	SAME(marathon_user);
	SAME(marathon_password);
	SAME(zk_user);
	SAME(zk_password);
	CHECK(got.nkafka == want.nkafka, "%d kafka lines, the file has %d",
	    got.nkafka, want.nkafka);
	for (i = 0; i < got.nkafka; i++)
		SAME(kafka[i]);
	creds_wipe(&got);
	return 0;
}
