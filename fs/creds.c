/*
 * creds.c: parse the credentials file (see creds.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

/* s without leading and trailing blanks (in place). */
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

int
creds_parse(FILE *f, struct creds *out)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} keys[] = {
		{ "marathon.user", offsetof(struct creds, marathon_user) },
		{ "marathon.password", offsetof(struct creds, marathon_password) },
		{ "zk.user", offsetof(struct creds, zk_user) },
		{ "zk.password", offsetof(struct creds, zk_password) },
	};
	size_t i, cap = 4096;
	char *line = malloc(cap), *k, *v, *eq;

	memset(out, 0, sizeof(*out));
	/* Whole lines, however long: with a fixed buffer, the rest of a long
	 * line (a comment, an inline certificate) was read as a line of its
	 * own, and could set a key.  The buffer starts large so that it is
	 * rarely moved (a moved one leaves secrets behind, unwiped). */
	while (line && getline(&line, &cap, f) >= 0) {
		k = trim(line);
		if (*k == '#' || (eq = strchr(k, '=')) == NULL)
			continue;
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (strncmp(k, "kafka.", 6) == 0 && k[6] &&
		    out->nkafka < CREDS_KAFKA_MAX)
			snprintf(out->kafka[out->nkafka++], sizeof(out->kafka[0]),
			    "%s=%s", k + 6, v);
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i].key) == 0)
				snprintf((char *)out + keys[i].off, 256, "%s", v);
	}
	if (line) {
		explicit_bzero(line, cap);
		free(line);
	}
	return 0;
}

char *
creds_join(const char *user, const char *password)
{
	size_t n = strlen(user) + strlen(password) + 2;
	char *s;

	if (*user == '\0' || (s = malloc(n)) == NULL)
		return NULL;
	snprintf(s, n, "%s:%s", user, password);
	return s;
}

void
creds_wipe(struct creds *c)
{
	explicit_bzero(c, sizeof(*c));
}
