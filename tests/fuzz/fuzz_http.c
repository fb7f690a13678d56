/*
 * fuzz_http: the bytes backends/http.c takes from outside that are not a
 * body's JSON (included here to reach its static callbacks):
 *
 *  - the reply's header lines, as curl hands them to on_header() (one
 *    line each, CRLF included): Marathon-Deployment-Id, X-Marathon-Leader;
 *  - a reply body through on_body() against a small cap;
 *  - the --marathon/--mesos URL list through http_client_new() (user
 *    input, shown in .archonfs/status with credentials masked);
 *  - a path segment through http_escape().
 *
 * Input: the first line is the URL list, the rest are header lines.
 *
 * Checks: header values have no CR, LF or leading blank and fit; the body
 * never passes its cap; a shown URL never shows what precedes the "@" of
 * its authority (user:password); an escaped segment has only unreserved
 * bytes and %XX, and unescapes to the input.
 */
#include "../../backends/http.c"

#include "check.h"

#define INPUT_MAX	(64u << 10)
#define BODY_CAP	100

static void
check_header(const char *v, size_t sz, const char *what)
{
	size_t n = strnlen(v, sz);

	CHECK(n < sz, "%s not terminated", what);
	CHECK(strpbrk(v, "\r\n") == NULL, "%s holds a line end: '%s'", what, v);
	CHECK(n == 0 || (v[0] != ' ' && v[0] != '\t'), "%s starts blank: '%s'",
	    what, v);
}

/* A URL is shown with its user info (all before the last "@" of the
 * authority: "user:password") replaced by "***", and otherwise as given. */
static void
check_masked(const char *url, const char *shown)
{
	const char *host = strstr(url, "://"), *auth_end, *at = NULL, *p;
	struct buf want = BUF_INIT(0);

	if (host == NULL)
		return;
	host += 3;
	auth_end = host + strcspn(host, "/?#");
	for (p = host; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		CHECK(strcmp(url, shown) == 0, "URL %s shown as %s", url, shown);
		return;
	}
	buf_add(&want, url, (size_t)(host - url));
	buf_addstr(&want, "***");
	buf_addstr(&want, at);
	CHECK(strcmp(buf_str(&want), shown) == 0, "URL %s shown as %s, not as %s",
	    url, shown, buf_str(&want));
	buf_free(&want);
}

static int
unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : -1;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct http_client_opts o = { 0 };
	struct http_client *c;
	struct http_resp resp;
	struct buf esc = BUF_INIT(0);
	struct xfer x;
	char *line;
	size_t n, i, k;
	int j;

	if (size > INPUT_MAX)
		return 0;
	nl = memchr(p, '\n', size);
	n = nl ? (size_t)(nl - p) : size;
	line = strndup(p, n);
	CHECK(line != NULL, "strndup");

	/* The URL list. */
	o.name = "fuzz";
	o.urls = line;
	if ((c = http_client_new(&o)) != NULL) {
		for (j = 0; j < c->nurls; j++) {
			CHECK(c->shown[j] != NULL, "no shown URL");
			check_masked(c->urls[j], c->shown[j]);
		}
		http_client_free(c);
	}

	/* One path segment. */
	http_escape(&esc, line);
	for (i = 0, k = 0; i < esc.len; i++, k++) {
		unsigned char ch = (unsigned char)esc.data[i];

		if (ch == '%') {
			CHECK(i + 2 < esc.len, "a cut %%XX");
			CHECK(unhex(esc.data[i + 1]) >= 0 && unhex(esc.data[i + 2]) >= 0,
			    "a bad %%XX in %s", esc.data);
			CHECK((unsigned char)line[k] == (unhex(esc.data[i + 1]) << 4 |
			    unhex(esc.data[i + 2])), "escape does not read back");
			i += 2;
			continue;
		}
		CHECK((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch),
		    "byte 0x%02x left unescaped", ch);
		CHECK(line[k] == (char)ch, "escape does not read back");
	}
	CHECK(k == strlen(line), "escape does not read back whole");
	buf_free(&esc);

	/* Header lines, then the same bytes as a body. */
	http_resp_init(&resp);
	memset(&x, 0, sizeof(x));
	x.resp = &resp;
	x.cap = BODY_CAP;
	resp.body.max = BODY_CAP + 1;
	for (p = nl ? nl + 1 : end; p < end; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		CHECK(on_header((char *)p, 1, n, &x) == n, "on_header refused");
		check_header(resp.deployment_id, sizeof(resp.deployment_id),
		    "Marathon-Deployment-Id");
		check_header(resp.leader, sizeof(resp.leader), "X-Marathon-Leader");
		if (on_body((char *)p, 1, n, &x) != n)
			CHECK(x.overflow, "on_body refused without overflowing");
		CHECK(resp.body.len <= BODY_CAP, "body of %zu bytes past a cap of %d",
		    resp.body.len, BODY_CAP);
	}
	http_resp_free(&resp);
	free(line);
	return 0;
}
