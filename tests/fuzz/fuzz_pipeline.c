/*
 * fuzz_pipeline: the pipeline graph (backends/pipeline.c) built from
 * names the cluster chooses, then every file rendered from it: edges,
 * cycles, upstream/downstream, orphans, graph.dot.
 *
 * Input: lines, as fs/tree_pipeline.c would feed the graph
 *
 *	A APP-ID [u]		an app (u: unhealthy)
 *	T TOPIC			a topic
 *	E APP TOPIC K V LAG DETAIL
 *				evidence for an edge: K p(roduces) or c(onsumes),
 *				V d(eclared), z (configured), o(bserved); DETAIL
 *				is the rest of the line ("group NAME", ...), with
 *				\n and \t standing for a newline and a tab
 *
 * Names are those the mount can pass: app ids as Marathon's (absolute,
 * no control byte), topics by Kafka's rule (tree_pipeline.c checks
 * labels and ZooKeeper lists so); a consumer group's name, in DETAIL, is
 * whatever Kafka was given.
 *
 * Checks besides memory safety: pipeline/edges is one header and one
 * line of four tab-separated fields per edge; each cycle line starts and
 * ends at the same node and the list is bounded; reach lists each node
 * once and never the app itself; graph.dot is read back by Graphviz's
 * own parser (libcgraph) with as many nodes as the graph has.
 */
#include <graphviz/cgraph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/pipeline.h"
#include "check.h"

#define INPUT_MAX	8192
#define LINES_MAX	200

static int
app_ok(const char *s)
{
	const unsigned char *p;

	if (s[0] != '/' || s[1] == '\0')
		return 0;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int
topic_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 249 && strcmp(s, ".") && strcmp(s, "..") &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

/* Split off the next blank-separated word of *p (modifies the line). */
static char *
word(char **p)
{
	char *w;

	*p += strspn(*p, " ");
	if (**p == '\0')
		return NULL;
	w = *p;
	*p += strcspn(*p, " ");
	if (**p)
		*(*p)++ = '\0';
	return w;
}

static void
unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't')) {
			*o++ = s[1] == 'n' ? '\n' : '\t';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static size_t
count_lines(const struct buf *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static void
check_edges(const struct buf *b, size_t nedges)
{
	const char *p = buf_str(b), *end = p + b->len, *eol;
	size_t tabs, lines = 0;

	CHECK(b->len == 0 || p[b->len - 1] == '\n', "edges: no final newline");
	for (; p < end; p = eol + 1, lines++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		for (tabs = 0; p < eol; p++)
			tabs += *p == '\t';
		CHECK(tabs == 3, "edges: line %zu has %zu tabs", lines + 1, tabs);
	}
	CHECK(lines == nedges + 1, "edges: %zu lines for %zu edges", lines,
	    nedges);
}

static void
check_cycles(const struct buf *b)
{
	const char *p = buf_str(b), *end = p + b->len, *eol, *last;
	size_t lines = 0, first;

	for (; p < end; p = eol + 1, lines++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		CHECK(eol != NULL, "cycles: no final newline");
		if (*p == '#')
			continue;
		first = strcspn(p, " ");
		last = eol;
		while (last > p && last[-1] != ' ')
			last--;
		CHECK(first == (size_t)(eol - last) && memcmp(p, last, first) == 0,
		    "cycles: '%.*s' does not end where it starts", (int)(eol - p), p);
	}
	CHECK(lines <= PL_CYCLES_MAX + 1, "cycles: %zu lines", lines);
}

/* Each node once, never the app itself. */
static void
check_reach(const struct buf *b, const char *app)
{
	const char *p = buf_str(b), *end = p + b->len, *eol, *q, *qe;

	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		CHECK(eol != NULL, "reach: no final newline");
		CHECK((size_t)(eol - p) != strlen(app) ||
		    memcmp(p, app, (size_t)(eol - p)) != 0,
		    "reach of %s lists itself", app);
		for (q = eol + 1; q < end; q = qe + 1) {
			qe = memchr(q, '\n', (size_t)(end - q));
			CHECK(qe - q != eol - p || memcmp(p, q, (size_t)(eol - p)),
			    "reach of %s lists '%.*s' twice", app, (int)(eol - p), p);
		}
	}
}

static void
check_dot(const struct buf *b, size_t nodes)
{
	Agraph_t *g = agmemread(buf_str(b));

	CHECK(g != NULL, "graph.dot does not parse: %.300s", buf_str(b));
	CHECK((size_t)agnnodes(g) == nodes, "graph.dot has %d nodes, the graph "
	    "%zu", agnnodes(g), nodes);
	agclose(g);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf out = BUF_INIT(16u << 20), text = BUF_INIT(INPUT_MAX + 1);
	char *line, *next, *kind, *name, *app, *topic, *k, *v, *lag;
	char apps[LINES_MAX][256];
	struct pipeline *p;
	size_t napps = 0, nedges = 0, i;
	int lines = 0, had;

	if (size > INPUT_MAX)
		return 0;
	buf_add(&text, data, size);
	p = pipeline_new();
	CHECK(p != NULL, "pipeline_new");
	for (line = text.data; line && lines < LINES_MAX; line = next, lines++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strlen(line) != strcspn(line, "\r"))
			continue;
		kind = word(&line);
		if (kind == NULL)
			continue;
		if (strcmp(kind, "A") == 0 && (name = word(&line)) && app_ok(name) &&
		    strlen(name) < 256) {
			pipeline_add_app(p, name, word(&line) != NULL);
			snprintf(apps[napps++], sizeof(apps[0]), "%s", name);
		} else if (strcmp(kind, "T") == 0 && (name = word(&line)) &&
		    topic_ok(name)) {
			pipeline_add_topic(p, name);
		} else if (strcmp(kind, "E") == 0 && (app = word(&line)) &&
		    (topic = word(&line)) && (k = word(&line)) &&
		    (v = word(&line)) && (lag = word(&line)) && app_ok(app) &&
		    topic_ok(topic) && strlen(app) < 256) {
			unsigned ev = *v == 'z' ? PL_CONFIGURED : *v == 'o' ?
			    PL_OBSERVED : PL_DECLARED;
			enum pl_kind pk = *k == 'p' ? PL_PRODUCES : PL_CONSUMES;

			line += strspn(line, " ");
			unescape(line);
			had = pipeline_edge_evidence(p, app, topic, pk) != 0;
			if (pipeline_add_edge(p, app, topic, pk, ev, line,
			    strtoll(lag, NULL, 10)) == 0 && !had)
				nedges++;
			snprintf(apps[napps++], sizeof(apps[0]), "%s", app);
		}
	}

	CHECK(pipeline_edges(p, &out) == 0, "pipeline_edges failed");
	check_edges(&out, nedges);
	buf_reset(&out);
	CHECK(pipeline_cycles(p, &out) == 0, "pipeline_cycles failed");
	check_cycles(&out);
	for (i = 0; i < napps && i < 8; i++) {
		buf_reset(&out);
		CHECK(pipeline_reach(p, apps[i], (int)(i & 1), &out) == 0,
		    "reach of %s", apps[i]);
		CHECK(count_lines(&out) < pipeline_node_count(p),
		    "reach of %s lists %zu of %zu nodes", apps[i],
		    count_lines(&out), pipeline_node_count(p));
		check_reach(&out, apps[i]);
	}
	buf_reset(&out);
	CHECK(pipeline_orphans(p, &out) == 0, "pipeline_orphans failed");
	buf_reset(&out);
	CHECK(pipeline_dot(p, &out) == 0, "pipeline_dot failed");
	check_dot(&out, pipeline_node_count(p));
	pipeline_free(p);
	buf_free(&out);
	buf_free(&text);
	return 0;
}
