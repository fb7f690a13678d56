/*
 * names.c: path components from cluster names (see names.h).
 */
#include <stdlib.h>
#include <string.h>

#include "names.h"

int
name_plain(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NAME_MAX_BYTES && strcmp(name, ".") != 0 &&
	    strcmp(name, "..") != 0 && strchr(name, '/') == NULL;
}

char *
name_escape(const char *raw)
{
	size_t n = 0;
	const char *p;
	char *out, *o;

	if (*raw == '\0')
		return NULL;
	if (strcmp(raw, ".") == 0)
		return strdup("%2E");
	if (strcmp(raw, "..") == 0)
		return strdup("%2E%2E");
	for (p = raw; *p; p++)
		n += *p == '%' || *p == '/' ? 3 : 1;
	if (n > NAME_MAX_BYTES || (out = malloc(n + 1)) == NULL)
		return NULL;
	for (p = raw, o = out; *p; p++) {
		if (*p == '%' || *p == '/') {
			*o++ = '%';
			*o++ = '2';
			*o++ = *p == '%' ? '5' : 'F';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

char *
name_unescape(const char *name)
{
	char *raw, *back, *o;
	const char *p;

	if (strcmp(name, "%2E") == 0)
		return strdup(".");
	if (strcmp(name, "%2E%2E") == 0)
		return strdup("..");
	if ((raw = malloc(strlen(name) + 1)) == NULL)
		return NULL;
	for (p = name, o = raw; *p; p++) {
		if (*p == '%' && strncmp(p, "%25", 3) == 0) {
			*o++ = '%';
			p += 2;
		} else if (*p == '%' && strncmp(p, "%2F", 3) == 0) {
			*o++ = '/';
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	/* Only the one file name name_escape gives stands for a name. */
	back = name_escape(raw);
	if (back == NULL || strcmp(back, name) != 0) {
		free(raw);
		raw = NULL;
	}
	free(back);
	return raw;
}
