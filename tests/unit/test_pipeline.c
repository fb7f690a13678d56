/*
 * test_pipeline.c: the app/topic graph: the edges table with its
 * evidence, elementary cycles (checked against a brute-force search on
 * small graphs, and capped on a big one), reachability, orphans, the DOT
 * text (read back by Graphviz's own parser) and the SVG, and timings at
 * ten thousand apps.
 */
#include <errno.h>
#include <graphviz/cgraph.h>
#include <pthread.h>
#include <stdlib.h>

#include "../../backends/pipeline.h"
#include "unit.h"

static struct buf out = BUF_INIT(0);
static const char last[] = "# more cycles not listed (at most 1000 are)\n";

/* The text a reader produced, or its error as "error N". */
static const char *
text(int (*fn)(const struct pipeline *, struct buf *), const struct pipeline *p)
{
	static char err[32];
	int rc;

	buf_reset(&out);
	if ((rc = fn(p, &out)) != 0) {
		snprintf(err, sizeof(err), "error %d", rc);
		return err;
	}
	return buf_str(&out);
}

static const char *
reach(const struct pipeline *p, const char *node, int downstream)
{
	static char err[32];
	int rc;

	buf_reset(&out);
	if ((rc = pipeline_reach(p, node, downstream, &out)) != 0) {
		snprintf(err, sizeof(err), "error %d", rc);
		return err;
	}
	return buf_str(&out);
}

/* Occurrences of needle; not strstr, which AddressSanitizer makes
 * quadratic (its interceptor measures the whole haystack every call). */
static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0, k = strlen(needle);

	for (; *hay; hay++)
		if (*hay == *needle && strncmp(hay, needle, k) == 0)
			n++;
	return n;
}

static int
collect(void *arg, const char *name, unsigned evidence)
{
	buf_printf(arg, "%s:%u ", name, evidence);
	return 0;
}

static int
stop_at_first(void *arg, const char *name, unsigned evidence)
{
	(void)evidence;
	buf_addstr(arg, name);
	return 42;
}

static void
add(struct pipeline *p, const char *app, const char *topic, enum pl_kind kind)
{
	pipeline_add_edge(p, app, topic, kind, PL_DECLARED, "label", -1);
}

/* ---- a small world ---------------------------------------------------- */

static struct pipeline *
small_world(void)
{
	struct pipeline *p = pipeline_new();

	pipeline_add_app(p, "/web", 0);
	pipeline_add_app(p, "/billing", 1);
	pipeline_add_topic(p, "dead");
	/* Added observed first: the table still says declared first. */
	pipeline_add_edge(p, "/billing", "orders", PL_CONSUMES, PL_OBSERVED,
	    "group billing", 3);
	pipeline_add_edge(p, "/billing", "orders", PL_CONSUMES, PL_CONFIGURED,
	    "zk /config/prod/billing/kafka.topics.in", -1);
	pipeline_add_edge(p, "/billing", "orders", PL_CONSUMES, PL_DECLARED,
	    "label archon.consumes", -1);
	pipeline_add_edge(p, "/billing", "orders", PL_CONSUMES, PL_OBSERVED,
	    "group other", 1);
	pipeline_add_edge(p, "/web", "orders", PL_PRODUCES, PL_DECLARED,
	    "label archon.produces", -1);
	pipeline_add_edge(p, "/billing", "invoices", PL_PRODUCES, PL_CONFIGURED,
	    "zk /config/prod/billing/kafka.topics.out", -1);
	pipeline_add_edge(p, "/audit", "orders", PL_CONSUMES, PL_OBSERVED,
	    "group audit", -1);
	pipeline_add_edge(p, "/audit", "invoices", PL_CONSUMES, PL_OBSERVED,
	    "group audit", 0);
	return p;
}

static void
basics(void)
{
	struct pipeline *p = small_world();
	struct buf b = BUF_INIT(0);

	CHECK(pipeline_node_count(p) == 6, "three apps, three topics");
	CHECK(pipeline_add_app(p, "/web", 0) == 0 &&
	    pipeline_add_topic(p, "orders") == 0 && pipeline_node_count(p) == 6,
	    "adding a node again adds nothing");
	CHECK(pipeline_has_app(p, "/web") && pipeline_has_app(p, "/audit") &&
	    !pipeline_has_app(p, "orders") && !pipeline_has_app(p, "/nope"),
	    "has_app: apps only, and only known ones");
	CHECK(pipeline_add_app(p, "web", 0) == -EINVAL &&
	    pipeline_add_app(p, "orders", 1) == -EINVAL,
	    "an app id starts with /");
	CHECK(pipeline_add_topic(p, "a/b") == -EINVAL &&
	    pipeline_add_topic(p, "/web") == -EINVAL &&
	    pipeline_add_topic(p, "") == -EINVAL,
	    "a topic has no / and a name");
	CHECK(pipeline_add_edge(p, "orders", "dead", PL_PRODUCES, PL_DECLARED,
	    "d", -1) == -EINVAL && pipeline_add_edge(p, "/web", "/billing",
	    PL_PRODUCES, PL_DECLARED, "d", -1) == -EINVAL,
	    "an edge's ends are an app and a topic, even when both exist");
	CHECK(pipeline_add_edge(p, "/web", "x", PL_PRODUCES, 0, "d",
	    -1) == -EINVAL && pipeline_add_edge(p, "/web", "x", PL_PRODUCES,
	    0x8, "d", -1) == -EINVAL && pipeline_add_edge(p, "/web", "x",
	    (enum pl_kind)7, PL_DECLARED, "d", -1) == -EINVAL &&
	    pipeline_add_edge(p, "web", "x", PL_PRODUCES, PL_DECLARED, "d",
	    -1) == -EINVAL, "bad evidence, kind or app");
	CHECK(pipeline_node_count(p) == 6 && !pipeline_has_app(p, "x") &&
	    pipeline_edge_evidence(p, "/web", "x", PL_PRODUCES) == 0,
	    "a refused edge adds no node");
	CHECK(pipeline_edge_evidence(p, "/billing", "orders", PL_CONSUMES) ==
	    (PL_DECLARED | PL_CONFIGURED | PL_OBSERVED), "evidence bits or'ed");
	CHECK(!pipeline_edge_evidence(p, "/billing", "orders", PL_PRODUCES) &&
	    pipeline_edge_evidence(p, "/web", "dead", PL_PRODUCES) == 0 &&
	    pipeline_edge_evidence(p, "/nope", "orders", PL_CONSUMES) == 0,
	    "no such edge: 0");

	CHECK_STR(text(pipeline_edges, p),
	    "from\tto\tkind\tevidence\n"
	    "/billing\tinvoices\tproduces\t"
	    "configured (zk /config/prod/billing/kafka.topics.out)\n"
	    "/web\torders\tproduces\tdeclared (label archon.produces)\n"
	    "invoices\t/audit\tconsumes\tobserved (group audit, lag 0)\n"
	    "orders\t/audit\tconsumes\tobserved (group audit)\n"
	    "orders\t/billing\tconsumes\tdeclared (label archon.consumes); "
	    "configured (zk /config/prod/billing/kafka.topics.in); "
	    "observed (group billing, lag 3)\n",
	    "edges: sorted by from, to; evidence in order, first detail, "
	    "largest lag");

	pipeline_app_topics(p, "/billing", PL_CONSUMES, collect, &b);
	CHECK_STR(buf_str(&b), "orders:7 ", "an app's consumed topics");
	buf_reset(&b);
	pipeline_app_topics(p, "/audit", PL_CONSUMES, collect, &b);
	CHECK_STR(buf_str(&b), "invoices:4 orders:4 ", "in name order");
	buf_reset(&b);
	pipeline_topic_apps(p, "orders", PL_CONSUMES, collect, &b);
	CHECK_STR(buf_str(&b), "/audit:4 /billing:7 ", "a topic's consumers");
	buf_reset(&b);
	pipeline_topic_apps(p, "orders", PL_PRODUCES, collect, &b);
	CHECK_STR(buf_str(&b), "/web:1 ", "a topic's producers");
	buf_reset(&b);
	CHECK(pipeline_topic_apps(p, "orders", PL_CONSUMES, stop_at_first,
	    &b) == 42 && strcmp(buf_str(&b), "/audit") == 0,
	    "the callback's non-zero stops and is returned");
	CHECK(pipeline_app_topics(p, "/nope", PL_PRODUCES, collect,
	    &b) == -ENOENT && pipeline_topic_apps(p, "nope", PL_PRODUCES,
	    collect, &b) == -ENOENT,
	    "unknown app or topic: ENOENT");
	buf_free(&b);
	pipeline_free(p);

	p = pipeline_new();
	pipeline_add_edge(p, "/a", "t", PL_CONSUMES, PL_OBSERVED | PL_DECLARED,
	    "g\tx\ny", 5);
	pipeline_add_edge(p, "/a", "t", PL_CONSUMES, PL_OBSERVED, "later", 8);
	pipeline_add_edge(p, "/a", "t", PL_CONSUMES, PL_OBSERVED, "later", -1);
	pipeline_add_edge(p, "/a", "u", PL_PRODUCES, PL_OBSERVED, NULL, 9);
	pipeline_add_edge(p, "/a", "v", PL_CONSUMES, PL_OBSERVED, NULL, 2);
	CHECK_STR(text(pipeline_edges, p),
	    "from\tto\tkind\tevidence\n"
	    "/a\tu\tproduces\tobserved\n"
	    "t\t/a\tconsumes\tdeclared (g?x?y); observed (g?x?y, lag 8)\n"
	    "v\t/a\tconsumes\tobserved (lag 2)\n",
	    "several bits at once; control bytes in a detail; a larger lag "
	    "wins; no detail; no lag on produces");
	pipeline_free(p);
	pipeline_free(NULL);
}

/* ---- cycles ----------------------------------------------------------- */

/*
 * A brute-force reference: every simple path from s through nodes larger
 * than s that closes back to s, on an adjacency matrix of nodes named in
 * increasing order.
 */
#define BF_MAX	16

struct bf {
	int		 n;
	const char	*name[BF_MAX];
	int		 adj[BF_MAX][BF_MAX];
	int		 path[BF_MAX];
	int		 on[BF_MAX];
	char		**lines;
	size_t		 nlines;
	size_t		 cap;
};

static void
bf_walk(struct bf *bf, int depth)
{
	int v = bf->path[depth - 1], w, k;
	struct buf b = BUF_INIT(0);

	for (w = bf->path[0]; w < bf->n; w++) {
		if (!bf->adj[v][w])
			continue;
		if (w == bf->path[0]) {
			for (k = 0; k < depth; k++)
				buf_printf(&b, "%s -> ", bf->name[bf->path[k]]);
			buf_printf(&b, "%s", bf->name[w]);
			if (bf->nlines == bf->cap) {
				bf->cap = bf->cap ? bf->cap * 2 : 64;
				bf->lines = realloc(bf->lines,
				    bf->cap * sizeof(char *));
			}
			bf->lines[bf->nlines++] = strdup(buf_str(&b));
			buf_reset(&b);
		} else if (!bf->on[w]) {
			bf->on[w] = 1;
			bf->path[depth] = w;
			bf_walk(bf, depth + 1);
			bf->on[w] = 0;
		}
	}
	buf_free(&b);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The expected pipeline/cycles text for bf's graph. */
static void
bf_cycles(struct bf *bf, struct buf *want)
{
	size_t k;
	int s;

	for (s = 0; s < bf->n; s++) {
		bf->path[0] = s;
		bf->on[s] = 1;
		bf_walk(bf, 1);
		bf->on[s] = 0;
	}
	if (bf->nlines)
		qsort(bf->lines, bf->nlines, sizeof(char *), cmp_str);
	for (k = 0; k < bf->nlines; k++) {
		if (k < PL_CYCLES_MAX)
			buf_printf(want, "%s\n", bf->lines[k]);
		free(bf->lines[k]);
	}
	if (bf->nlines > PL_CYCLES_MAX)
		buf_printf(want, "# more cycles not listed (at most %d are)\n",
		    PL_CYCLES_MAX);
	free(bf->lines);
	bf->lines = NULL;
	bf->nlines = bf->cap = 0;
}

static const char *const bf_apps[] = {
	"/a0", "/a1", "/a2", "/a3", "/a4", "/a5", "/a6", "/a7",
};
static const char *const bf_topics[] = {
	"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
};

/* napps apps and ntopics topics, apps first: their names sort first. */
static void
bf_names(struct bf *bf, int napps, int ntopics)
{
	int i;

	memset(bf, 0, sizeof(*bf));
	bf->n = napps + ntopics;
	for (i = 0; i < napps; i++)
		bf->name[i] = bf_apps[i];
	for (i = 0; i < ntopics; i++)
		bf->name[napps + i] = bf_topics[i];
}

static unsigned long rng = 12345;

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng >> 33) % n);
}

static void
cycles(void)
{
	struct buf want = BUF_INIT(0);
	struct pipeline *p;
	struct bf bf;
	int i, k, round, bad;

	p = pipeline_new();
	add(p, "/a", "t1", PL_PRODUCES);
	add(p, "/b", "t1", PL_CONSUMES);
	add(p, "/b", "t2", PL_PRODUCES);
	CHECK_STR(text(pipeline_cycles, p), "", "a DAG has no cycles");
	add(p, "/a", "t2", PL_CONSUMES);
	CHECK_STR(text(pipeline_cycles, p), "/a -> t1 -> /b -> t2 -> /a\n",
	    "A -> t1 -> B -> t2 -> A once, from its smallest node");
	add(p, "/c", "t1", PL_CONSUMES);
	add(p, "/c", "t2", PL_PRODUCES);
	add(p, "/b", "t3", PL_PRODUCES);
	add(p, "/0d", "t3", PL_CONSUMES);
	add(p, "/0d", "t4", PL_PRODUCES);
	add(p, "/b", "t4", PL_CONSUMES);
	add(p, "/e", "self", PL_PRODUCES);
	add(p, "/e", "self", PL_CONSUMES);
	CHECK_STR(text(pipeline_cycles, p),
	    "/0d -> t4 -> /b -> t3 -> /0d\n"
	    "/a -> t1 -> /b -> t2 -> /a\n"
	    "/a -> t1 -> /c -> t2 -> /a\n"
	    "/e -> self -> /e\n",
	    "overlapping cycles, each once, sorted; an app both producing and "
	    "consuming a topic");
	pipeline_free(p);

	/* Complete bipartite, both ways: 424 cycles at 4 x 4 (the sum over k
	 * of C(4,k)^2 k! (k-1)!), 7905 at 5 x 5. */
	for (k = 4; k <= 5; k++) {
		p = pipeline_new();
		bf_names(&bf, k, k);
		for (i = 0; i < k * k; i++) {
			add(p, bf_apps[i / k], bf_topics[i % k], PL_PRODUCES);
			add(p, bf_apps[i / k], bf_topics[i % k], PL_CONSUMES);
			bf.adj[i / k][k + i % k] = bf.adj[k + i % k][i / k] = 1;
		}
		buf_reset(&want);
		bf_cycles(&bf, &want);
		text(pipeline_cycles, p);
		if (k == 4) {
			CHECK(count(buf_str(&out), "\n") == 424 &&
			    strcmp(buf_str(&out), buf_str(&want)) == 0,
			    "K(4,4) both ways: all 424 cycles, as brute force "
			    "finds");
		} else {
			CHECK(count(buf_str(&out), "\n") == PL_CYCLES_MAX + 1 &&
			    strcmp(buf_str(&out), buf_str(&want)) == 0,
			    "K(5,5): the first 1000 of 7905 cycles, then the "
			    "cap line");
			CHECK(out.len > strlen(last) &&
			    strcmp(buf_str(&out) + out.len - strlen(last),
			    last) == 0,
			    "the last line says the list is cut");
		}
		pipeline_free(p);
	}

	/* Random small graphs against the brute force. */
	bad = 0;
	for (round = 0; round < 300; round++) {
		int na = 2 + (int)rnd(5), nt = 2 + (int)rnd(5);
		int ne = (int)rnd(30);

		p = pipeline_new();
		bf_names(&bf, na, nt);
		for (i = 0; i < na; i++)
			pipeline_add_app(p, bf_apps[i], 0);
		for (i = 0; i < ne; i++) {
			int a = (int)rnd((unsigned)na);
			int t = (int)rnd((unsigned)nt);

			if (rnd(2)) {
				add(p, bf_apps[a], bf_topics[t], PL_PRODUCES);
				bf.adj[a][na + t] = 1;
			} else {
				add(p, bf_apps[a], bf_topics[t], PL_CONSUMES);
				bf.adj[na + t][a] = 1;
			}
		}
		buf_reset(&want);
		bf_cycles(&bf, &want);
		if (strcmp(text(pipeline_cycles, p), buf_str(&want)) != 0 &&
		    bad++ == 0)
			printf("# round %d: want\n%s# got\n%s", round,
			    buf_str(&want), buf_str(&out));
		pipeline_free(p);
	}
	CHECK(bad == 0, "300 random graphs: the same cycles as brute force");
	buf_free(&want);
}

/* ---- reachability and orphans ------------------------------------------ */

static void
reachability(void)
{
	struct pipeline *p = pipeline_new();

	add(p, "/src", "a", PL_PRODUCES);
	add(p, "/w", "a", PL_PRODUCES);
	add(p, "/y", "a", PL_CONSUMES);
	add(p, "/x", "a", PL_CONSUMES);
	add(p, "/y", "c", PL_PRODUCES);
	add(p, "/x", "b", PL_PRODUCES);
	add(p, "/z", "c", PL_CONSUMES);
	add(p, "/z", "b", PL_CONSUMES);
	add(p, "/z", "zz", PL_PRODUCES);
	add(p, "/x", "zz", PL_CONSUMES);	/* a cycle back to /x */
	CHECK_STR(reach(p, "/src", 1), "a\n/x\n/y\nb\nc\n/z\nzz\n",
	    "downstream: by distance, then name; a node once, at its nearest");
	CHECK_STR(reach(p, "/z", 0), "b\nc\n/x\n/y\na\nzz\n/src\n/w\n",
	    "upstream: against the edges");
	CHECK_STR(reach(p, "/src", 0), "", "nothing upstream of a source");
	CHECK_STR(reach(p, "/x", 1), "b\n/z\nzz\n",
	    "the start itself is not listed, even on a cycle");
	CHECK_STR(reach(p, "b", 1), "/z\nzz\n/x\n", "from a topic too");
	CHECK_STR(reach(p, "/nope", 1), "error -2", "an unknown app: ENOENT");
	pipeline_free(p);
}

static void
orphans(void)
{
	struct pipeline *p = pipeline_new();

	add(p, "/a", "both", PL_PRODUCES);
	add(p, "/b", "both", PL_CONSUMES);
	add(p, "/a", "nocons", PL_PRODUCES);
	add(p, "/b", "noprod", PL_CONSUMES);
	pipeline_add_topic(p, "lonely");
	pipeline_add_app(p, "/idle", 0);
	CHECK_STR(text(pipeline_orphans, p),
	    "lonely\tno producer, no consumer\n"
	    "nocons\tno consumer\n"
	    "noprod\tno producer\n",
	    "orphans: all three cases, sorted; apps never");
	pipeline_free(p);
	p = pipeline_new();
	CHECK_STR(text(pipeline_orphans, p), "", "an empty graph: none");
	CHECK_STR(text(pipeline_edges, p), "from\tto\tkind\tevidence\n",
	    "an empty graph: the edges header only");
	CHECK_STR(text(pipeline_cycles, p), "", "an empty graph: no cycles");
	pipeline_free(p);
}

/* ---- DOT and SVG ------------------------------------------------------ */

static void
dot(void)
{
	struct pipeline *p = small_world();
	struct buf msg = BUF_INIT(0);
	const char *d;
	Agraph_t *g;
	int i;

	d = text(pipeline_dot, p);
	CHECK(strncmp(d, "// ", 3) == 0 && strstr(d, "dot -Tsvg graph.dot") &&
	    strstr(d, "digraph pipeline {\n\trankdir=LR;\n"),
	    "a comment saying how to draw it, a digraph left to right");
	CHECK(count(d, "\t\"/web\" [shape=box];\n") == 1 &&
	    count(d, "\t\"/audit\" [shape=box];\n") == 1 &&
	    count(d, "\t\"orders\" [shape=ellipse];\n") == 1 &&
	    count(d, "\t\"dead\" [shape=ellipse];\n") == 1,
	    "each node once: apps boxes, topics ellipses");
	CHECK(count(d, "\t\"/billing\" [shape=box, style=filled, "
	    "fillcolor=\"#f4cccc\", color=\"#cc0000\", "
	    "label=\"/billing\\nunhealthy\"];\n") == 1, "an unhealthy app");
	CHECK(count(d, "\t\"/web\" -> \"orders\" [style=solid];\n") == 1,
	    "declared: solid");
	CHECK(count(d, "\t\"/billing\" -> \"invoices\" [style=dashed];\n") == 1,
	    "configured only: dashed");
	CHECK(count(d, "\t\"orders\" -> \"/audit\" [style=dotted];\n") == 1,
	    "observed only, lag unknown: dotted, no label");
	CHECK(count(d, "\t\"invoices\" -> \"/audit\" [style=dotted, "
	    "label=\"lag 0\"];\n") == 1, "lag 0: labelled, not red");
	CHECK(count(d, "\t\"orders\" -> \"/billing\" [style=solid, "
	    "label=\"lag 3\", color=\"#cc0000\", fontcolor=\"#cc0000\", "
	    "penwidth=2];\n") == 1, "lag 3: labelled and red; declared wins");
	g = agmemread(d);
	CHECK(g && agnnodes(g) == 6 && agnedges(g) == 5,
	    "Graphviz reads it: 6 nodes, 5 edges");
	if (g)
		agclose(g);

	buf_reset(&out);
	CHECK(pipeline_svg(p, &out, &msg) == 0 &&
	    (strncmp(buf_str(&out), "<?xml", 5) == 0 ||
	    strstr(buf_str(&out), "<svg")) && strstr(buf_str(&out), "</svg>"),
	    "svg: laid out in process");
	CHECK(count(buf_str(&out), "class=\"node\"") == 6 &&
	    count(buf_str(&out), "class=\"edge\"") == 5,
	    "svg: a node group per node, an edge group per edge");
	CHECK(strstr(buf_str(&out), ">unhealthy</text>") != NULL,
	    "svg: the unhealthy label");
	buf_reset(&out);
	CHECK(pipeline_svg(p, &out, &msg) == 0 &&
	    count(buf_str(&out), "class=\"node\"") == 6, "svg: again");
	pipeline_free(p);

	/* A cycle: laid out with its closing edge reversed and drawn back
	 * (Graphviz leaks when it breaks cycles itself; LeakSanitizer checks
	 * this under make check SANITIZE=1); graph.dot keeps it as it is. */
	p = pipeline_new();
	pipeline_add_edge(p, "/a", "t1", PL_PRODUCES, PL_DECLARED, "d", -1);
	pipeline_add_edge(p, "/b", "t1", PL_CONSUMES, PL_DECLARED, "d", -1);
	pipeline_add_edge(p, "/b", "t2", PL_PRODUCES, PL_DECLARED, "d", -1);
	pipeline_add_edge(p, "/a", "t2", PL_CONSUMES, PL_DECLARED, "d", -1);
	buf_reset(&out);
	CHECK(pipeline_dot(p, &out) == 0 &&
	    count(buf_str(&out), "\t\"t2\" -> \"/a\" [style=solid];\n") == 1 &&
	    count(buf_str(&out), "dir=back") == 0,
	    "a cycle in graph.dot: every edge as it is");
	buf_reset(&out);
	CHECK(pipeline_svg(p, &out, &msg) == 0 &&
	    count(buf_str(&out), "class=\"node\"") == 4 &&
	    count(buf_str(&out), "class=\"edge\"") == 4 &&
	    count(buf_str(&out), "<title>/a&#45;&gt;t2</title>") == 1,
	    "a cycle in graph.svg: 4 nodes, 4 edges, t2 -> /a laid out reversed");
	buf_reset(&out);
	CHECK(pipeline_svg(p, &out, &msg) == 0 &&
	    count(buf_str(&out), "class=\"edge\"") == 4, "a cycle in graph.svg again");
	pipeline_free(p);

	/* Names the DOT grammar cares about. */
	p = pipeline_new();
	pipeline_add_edge(p, "/q\"uote", "back\\slash\\", PL_PRODUCES,
	    PL_DECLARED, "d", -1);
	pipeline_add_app(p, "/\\N", 1);
	d = text(pipeline_dot, p);
	CHECK(strstr(d, "\t\"/q\\\"uote\" -> \"back\\\\slash\\\\\" "
	    "[style=solid];\n") && strstr(d, "label=\"/\\\\N\\nunhealthy\""),
	    "quotes and backslashes escaped");
	g = agmemread(d);
	CHECK(g && agnnodes(g) == 3 && agnedges(g) == 1,
	    "Graphviz reads escaped names as 3 nodes and an edge");
	if (g)
		agclose(g);
	buf_reset(&out);
	CHECK(pipeline_svg(p, &out, &msg) == 0 &&
	    count(buf_str(&out), "class=\"node\"") == 3,
	    "svg of escaped names");
	pipeline_free(p);

	p = pipeline_new();
	for (i = 0; i <= PL_SVG_NODES_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "t%04d", i);
		pipeline_add_topic(p, name);
	}
	buf_reset(&out);
	buf_reset(&msg);
	CHECK(pipeline_svg(p, &out, &msg) == -EFBIG && out.len == 0 &&
	    strstr(buf_str(&msg), "dot -Tsvg graph.dot") &&
	    strstr(buf_str(&msg), "sfdp"),
	    "svg above PL_SVG_NODES_MAX: EFBIG, and how to draw it instead");
	pipeline_free(p);
	buf_free(&msg);
}

/* Readers share a built graph without a lock; SVG takes Graphviz's. */
static void *
reader(void *arg)
{
	const struct pipeline *p = arg;
	struct buf b = BUF_INIT(0), msg = BUF_INIT(0);
	intptr_t bad = 0;
	int i;

	for (i = 0; i < 3; i++) {
		buf_reset(&b);
		bad += pipeline_svg(p, &b, &msg) != 0 ||
		    count(buf_str(&b), "class=\"node\"") != 6;
		buf_reset(&b);
		bad += pipeline_cycles(p, &b) != 0 ||
		    pipeline_edges(p, &b) != 0 ||
		    pipeline_reach(p, "/web", 1, &b) != 0;
	}
	buf_free(&b);
	buf_free(&msg);
	return (void *)bad;
}

static void
threads(void)
{
	struct pipeline *p = small_world();
	pthread_t t[4];
	void *bad;
	int i, n, fails = 0;

	for (n = 0; n < 4; n++)
		if (pthread_create(&t[n], NULL, reader, p) != 0)
			break;
	for (i = 0; i < n; i++) {
		pthread_join(t[i], &bad);
		fails += bad != NULL;
	}
	fails += n < 4;
	CHECK(fails == 0, "four threads reading and drawing one graph at once");
	pipeline_free(p);
}

/* ---- ten thousand apps ------------------------------------------------ */

/* Milliseconds fn takes on p; *res: what it wrote, or "error N". */
static long long
timed(int (*fn)(const struct pipeline *, struct buf *),
    const struct pipeline *p, const char **res)
{
	int64_t t0 = now_ms();

	*res = text(fn, p);
	return (long long)(now_ms() - t0);
}

static void
scale(void)
{
	long long build, down, up, cyc, edges, dotms, orph;
	struct pipeline *p;
	char app[32], topic[32];
	const char *r;
	size_t cycbytes;
	int64_t t0;
	int i, k;

	/* A ring: app i produces topic i, which app i + 1 consumes. */
	t0 = now_ms();
	p = pipeline_new();
	for (i = 0; i < 10000; i++) {
		snprintf(app, sizeof(app), "/app%05d", i);
		snprintf(topic, sizeof(topic), "t%05d", i);
		add(p, app, topic, PL_PRODUCES);
		snprintf(app, sizeof(app), "/app%05d", (i + 1) % 10000);
		pipeline_add_edge(p, app, topic, PL_CONSUMES, PL_OBSERVED, "g",
		    i);
	}
	build = (long long)(now_ms() - t0);
	t0 = now_ms();
	r = reach(p, "/app00000", 1);
	down = (long long)(now_ms() - t0);
	CHECK(count(r, "\n") == 19999 &&
	    strncmp(r, "t00000\n/app00001\nt00001\n", 24) == 0,
	    "a ring of 10,000 apps: downstream reaches all 19,999 others");
	cyc = timed(pipeline_cycles, p, &r);
	CHECK(count(r, "\n") == 1 && count(r, " -> ") == 20000 &&
	    strncmp(r, "/app00000 -> t00000 -> /app00001", 32) == 0,
	    "the ring is one cycle of 20,000 nodes (no recursion)");
	edges = timed(pipeline_edges, p, &r);
	CHECK(count(r, "\n") == 20001, "its edges");
	dotms = timed(pipeline_dot, p, &r);
	CHECK(count(r, "\n") == 20000 + 20000 + 4, "its dot");
	printf("# ring of 10,000 apps: build %lld ms, downstream %lld ms, "
	    "cycles %lld ms, edges %lld ms, dot %lld ms\n", build, down, cyc,
	    edges, dotms);

	/* The same ring with 900 short cycles hanging off it: each round of
	 * Johnson's algorithm finds one and walks the whole ring, until the
	 * step budget stops it. */
	for (i = 0; i < 900; i++) {
		snprintf(app, sizeof(app), "/a%03d", i);
		snprintf(topic, sizeof(topic), "x%03d", i);
		add(p, app, topic, PL_PRODUCES);
		snprintf(topic, sizeof(topic), "y%03d", i);
		add(p, app, topic, PL_CONSUMES);
		snprintf(app, sizeof(app), "/app%05d", 10 * i);
		add(p, app, topic, PL_PRODUCES);
		snprintf(topic, sizeof(topic), "x%03d", i);
		add(p, app, topic, PL_CONSUMES);
	}
	cyc = timed(pipeline_cycles, p, &r);
	CHECK(strncmp(r, "/a000 -> x000 -> /app00000 -> y000 -> /a000\n"
	    "/a001 -> x001 -> /app00010 -> y001 -> /a001\n", 88) == 0 &&
	    count(r, "\n") < 901 && out.len > strlen(last) &&
	    strcmp(r + out.len - strlen(last), last) == 0,
	    "901 cycles, too costly to find: the first ones, then the cap "
	    "line");
	printf("# ring with 900 spurs: cycles %lld ms for %zu listed\n", cyc,
	    count(r, "\n") - 1);
	pipeline_free(p);

	/* 10,000 apps, 2,000 topics, 30,000 random edges: cycles everywhere. */
	t0 = now_ms();
	p = pipeline_new();
	for (i = 0; i < 10000; i++) {
		snprintf(app, sizeof(app), "/svc/app%05d", i);
		pipeline_add_app(p, app, i % 97 == 0);
		for (k = 0; k < 3; k++) {
			snprintf(topic, sizeof(topic), "topic%04u", rnd(2000));
			pipeline_add_edge(p, app, topic,
			    k ? PL_CONSUMES : PL_PRODUCES, PL_CONFIGURED, "zk",
			    -1);
		}
	}
	build = (long long)(now_ms() - t0);
	CHECK(pipeline_node_count(p) > 11900,
	    "random: 10,000 apps, ~2,000 topics");
	t0 = now_ms();
	r = reach(p, "/svc/app00000", 1);
	down = (long long)(now_ms() - t0);
	CHECK(count(r, "\n") > 11000, "random: downstream reaches most");
	t0 = now_ms();
	r = reach(p, "/svc/app00000", 0);
	up = (long long)(now_ms() - t0);
	CHECK(count(r, "\n") > 11000, "random: upstream too");
	cyc = timed(pipeline_cycles, p, &r);
	cycbytes = out.len;
	CHECK(count(r, "\n") == PL_CYCLES_MAX + 1 &&
	    strcmp(r + out.len - strlen(last), last) == 0,
	    "random: cycles capped");
	edges = timed(pipeline_edges, p, &r);
	CHECK(count(r, "\n") > 29000 && count(r, "\n") <= 30001,
	    "random: edges (a few drawn twice)");
	dotms = timed(pipeline_dot, p, &r);
	CHECK(strncmp(r, "error", 5) != 0, "random: dot");
	orph = timed(pipeline_orphans, p, &r);
	CHECK(strncmp(r, "error", 5) != 0, "random: orphans");
	printf("# random, 10,000 apps, 30,000 edges: build %lld ms, downstream "
	    "%lld ms, upstream %lld ms, cycles (%zu bytes) %lld ms, edges %lld "
	    "ms, dot %lld ms, orphans %lld ms\n", build, down, up, cycbytes,
	    cyc, edges, dotms, orph);
	pipeline_free(p);
}

int
main(void)
{
	basics();
	cycles();
	reachability();
	orphans();
	dot();
	threads();
	scale();
	buf_free(&out);
	return done();
}
