/*
 * fuzz_marathon_events: the /v2/events Server-Sent Events parser
 * (backends/marathon_events.c, included here to reach its static
 * on_data()), fed the way curl feeds it: the stream in pieces.
 *
 * Input: byte 0 picks the piece size (1 to 255, 0: all at once), the rest
 * is the stream.  After it, the deployment outcomes the stream reported
 * are read back as deployments/<id>/wait would.
 *
 * Checks besides memory safety: an event is counted only at a blank line
 * (never more events than line ends), and an outcome is "success\n",
 * "failed...\n" or "finished\n".
 *
 * Seeds: the events.txt examples of ../shared/reference (CRLF-framed, as
 * Marathon sends them), deployment events, and tests/fuzz/corpus.
 */
#include "../../backends/marathon_events.c"

#include "common.h"

#define INPUT_MAX	(1u << 20)

static void
check_outcome(struct marathon *m, const char *id)
{
	struct buf out = BUF_INIT(4096);
	const char *t;

	marathon_dep_outcome(m, id, &out);
	t = buf_str(&out);
	CHECK(strcmp(t, "success\n") == 0 || strcmp(t, "finished\n") == 0 ||
	    (strncmp(t, "failed", 6) == 0 && t[out.len - 1] == '\n'),
	    "outcome of %s: '%s'", id, t);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct marathon *m;
	struct sse s;
	const char *p;
	size_t n, k, piece, lines = 0, i;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	piece = data[0] ? data[0] : size;
	p = (const char *)data + 1;
	n = size - 1;
	for (i = 0; i < n; i++)
		lines += p[i] == '\n';

	m = fuzz_marathon();
	memset(&s, 0, sizeof(s));
	s.m = m;
	buf_init(&s.line, EV_LINE_MAX);
	buf_init(&s.data, EV_LINE_MAX);
	for (; n; p += k, n -= k) {
		k = n < piece ? n : piece;
		if (on_data(p, k, &s) != 0)
			break;
	}
	CHECK(m->ev_count <= lines, "%llu events from %zu lines",
	    (unsigned long long)m->ev_count, lines);
	for (i = 0; i < OUTCOMES; i++)
		if (m->outcomes[i].id[0])
			check_outcome(m, m->outcomes[i].id);
	check_outcome(m, "no-such-deployment");
	buf_free(&s.line);
	buf_free(&s.data);
	marathon_free(m);
	return 0;
}
