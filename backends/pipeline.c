/*
 * pipeline.c: the graph of apps and topics (see pipeline.h), and what is
 * derived from it: the edge table, the elementary cycles, reachability,
 * orphan topics, DOT text, and SVG laid out by Graphviz's library.
 *
 * Nodes and edges live in arrays, found by name (nodes) or by (app, topic,
 * kind) (edges) through open-addressing hash tables; each node keeps the
 * ids of the edges leaving and entering it.  Orders by name are computed
 * by each reader (a sort of at most some ten thousand names) instead of
 * being cached, so a built graph is never written again and readers need
 * no lock.  Fetching the evidence, and the files, live elsewhere.
 */
#include <dlfcn.h>
#include <errno.h>
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

#define NONE		UINT32_MAX	/* no node, no edge, empty slot */
#define NEVIDENCE	3		/* declared, configured, observed */
#define EVIDENCE_ALL	(PL_DECLARED | PL_CONFIGURED | PL_OBSERVED)

/*
 * Johnson's algorithm spends O(V + E) between two cycles it finds, so
 * stopping after PL_CYCLES_MAX + 1 cycles already bounds a listing, but
 * by about a thousand passes over the whole graph, and every round costs
 * a pass even when it finds one cycle (a big ring with many short cycles
 * hanging off it does that).  This budget of arcs looked at, about a
 * fifth of a second, caps that too; a listing cut by it ends with the
 * same "more cycles" line as one cut by the count.  Ordinary graphs stay
 * far below it: 10,000 apps with 30,000 random edges take half a million.
 */
#define CYCLE_STEPS	(16u << 20)

static const char *const evidence_name[NEVIDENCE] = {
	"declared", "configured", "observed"
};

struct idlist {
	uint32_t	*v;
	uint32_t	 n;
	uint32_t	 cap;
};

struct pl_node {
	char		*name;
	int		 app;		/* else a topic */
	int		 unhealthy;
	struct idlist	 out;		/* ids of the edges leaving it */
	struct idlist	 in;		/* ids of the edges entering it */
};

struct pl_edge {
	uint32_t	 app;
	uint32_t	 topic;
	enum pl_kind	 kind;
	unsigned	 evidence;
	char		*detail[NEVIDENCE];	/* by evidence bit, or NULL */
	int64_t		 lag;		/* observed consumes only; -1 unknown */
};

struct slot {
	uint64_t	 hash;
	uint32_t	 id;		/* NONE: empty */
};

/* Linear probing, at most half full; cap is 0 or a power of two. */
struct table {
	struct slot	*slots;
	size_t		 cap;
};

struct pipeline {
	struct pl_node	*nodes;
	uint32_t	 nnodes;
	uint32_t	 nodecap;
	struct pl_edge	*edges;
	uint32_t	 nedges;
	uint32_t	 edgecap;
	struct table	 names;		/* node name -> node id */
	struct table	 pairs;		/* (app, topic, kind) -> edge id */
};

/* ---- storage --------------------------------------------------------- */

/* An array of *cap elements with room for element n, or NULL. */
static void *
grow(void *v, uint32_t *cap, uint32_t n, size_t size)
{
	uint32_t ncap;

	if (n < *cap)
		return v;
	if (*cap >= NONE / 2)
		return NULL;
	ncap = *cap ? *cap * 2 : 16;
	if ((v = reallocarray(v, ncap, size)) != NULL)
		*cap = ncap;
	return v;
}

static int
list_reserve(struct idlist *l)
{
	uint32_t *v;

	if ((v = grow(l->v, &l->cap, l->n, sizeof(*l->v))) == NULL)
		return -ENOMEM;
	l->v = v;
	return 0;
}

static int
table_reserve(struct table *t, size_t n)
{
	struct slot *ns;
	size_t cap, i, j;

	if (n <= t->cap / 2)
		return 0;
	for (cap = t->cap ? t->cap * 2 : 64; cap / 2 < n; cap *= 2)
		;
	if ((ns = reallocarray(NULL, cap, sizeof(*ns))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		ns[i].id = NONE;
	for (i = 0; i < t->cap; i++) {
		if (t->slots[i].id == NONE)
			continue;
		for (j = t->slots[i].hash & (cap - 1); ns[j].id != NONE;
		    j = (j + 1) & (cap - 1))
			;
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = cap;
	return 0;
}

/* Only after table_reserve: there is always an empty slot. */
static void
table_put(struct table *t, uint64_t hash, uint32_t id)
{
	size_t j;

	for (j = hash & (t->cap - 1); t->slots[j].id != NONE;
	    j = (j + 1) & (t->cap - 1))
		;
	t->slots[j].hash = hash;
	t->slots[j].id = id;
}

static uint64_t
name_hash(const char *name)
{
	return fnv1a(FNV_INIT, name, strlen(name));
}

static uint64_t
pair_hash(uint32_t app, uint32_t topic, enum pl_kind kind)
{
	uint32_t k[3] = { app, topic, (uint32_t)kind };

	return fnv1a(FNV_INIT, k, sizeof(k));
}

static uint32_t
node_find(const struct pipeline *p, const char *name)
{
	const struct table *t = &p->names;
	uint64_t h;
	size_t j;

	if (t->cap == 0)
		return NONE;
	h = name_hash(name);
	for (j = h & (t->cap - 1); t->slots[j].id != NONE;
	    j = (j + 1) & (t->cap - 1))
		if (t->slots[j].hash == h &&
		    strcmp(p->nodes[t->slots[j].id].name, name) == 0)
			return t->slots[j].id;
	return NONE;
}

static uint32_t
edge_find(const struct pipeline *p, uint32_t app, uint32_t topic,
    enum pl_kind kind)
{
	const struct table *t = &p->pairs;
	const struct pl_edge *e;
	uint64_t h;
	size_t j;

	if (t->cap == 0)
		return NONE;
	h = pair_hash(app, topic, kind);
	for (j = h & (t->cap - 1); t->slots[j].id != NONE;
	    j = (j + 1) & (t->cap - 1)) {
		e = &p->edges[t->slots[j].id];
		if (e->app == app && e->topic == topic && e->kind == kind)
			return t->slots[j].id;
	}
	return NONE;
}

static uint32_t
edge_from(const struct pl_edge *e)
{
	return e->kind == PL_PRODUCES ? e->app : e->topic;
}

static uint32_t
edge_to(const struct pl_edge *e)
{
	return e->kind == PL_PRODUCES ? e->topic : e->app;
}

struct pipeline *
pipeline_new(void)
{
	return calloc(1, sizeof(struct pipeline));
}

void
pipeline_free(struct pipeline *p)
{
	uint32_t i;
	int k;

	if (p == NULL)
		return;
	for (i = 0; i < p->nnodes; i++) {
		free(p->nodes[i].name);
		free(p->nodes[i].out.v);
		free(p->nodes[i].in.v);
	}
	for (i = 0; i < p->nedges; i++)
		for (k = 0; k < NEVIDENCE; k++)
			free(p->edges[i].detail[k]);
	free(p->nodes);
	free(p->edges);
	free(p->names.slots);
	free(p->pairs.slots);
	free(p);
}

/* Apps start with '/', topics never contain one: one namespace serves both. */
static int
node_add(struct pipeline *p, const char *name, int app, uint32_t *id)
{
	struct pl_node *nv, *n;
	char *s;

	if (app ? name[0] != '/' : name[0] == '\0' || strchr(name, '/'))
		return -EINVAL;
	if ((*id = node_find(p, name)) != NONE)
		return 0;
	if ((nv = grow(p->nodes, &p->nodecap, p->nnodes, sizeof(*nv))) == NULL)
		return -ENOMEM;
	p->nodes = nv;
	if (table_reserve(&p->names, (size_t)p->nnodes + 1) != 0 ||
	    (s = strdup(name)) == NULL)
		return -ENOMEM;
	n = &p->nodes[p->nnodes];
	memset(n, 0, sizeof(*n));
	n->name = s;
	n->app = app;
	table_put(&p->names, name_hash(name), p->nnodes);
	*id = p->nnodes++;
	return 0;
}

static int
edge_new(struct pipeline *p, uint32_t app, uint32_t topic, enum pl_kind kind,
    uint32_t *id)
{
	struct pl_edge *ev, *e;
	struct pl_node *from, *to;

	if ((ev = grow(p->edges, &p->edgecap, p->nedges, sizeof(*ev))) == NULL)
		return -ENOMEM;
	p->edges = ev;
	from = &p->nodes[kind == PL_PRODUCES ? app : topic];
	to = &p->nodes[kind == PL_PRODUCES ? topic : app];
	if (table_reserve(&p->pairs, (size_t)p->nedges + 1) != 0 ||
	    list_reserve(&from->out) != 0 || list_reserve(&to->in) != 0)
		return -ENOMEM;
	e = &p->edges[p->nedges];
	memset(e, 0, sizeof(*e));
	e->app = app;
	e->topic = topic;
	e->kind = kind;
	e->lag = -1;
	table_put(&p->pairs, pair_hash(app, topic, kind), p->nedges);
	from->out.v[from->out.n++] = p->nedges;
	to->in.v[to->in.n++] = p->nedges;
	*id = p->nedges++;
	return 0;
}

int
pipeline_add_app(struct pipeline *p, const char *app, int unhealthy)
{
	uint32_t id;
	int rc;

	if ((rc = node_add(p, app, 1, &id)) != 0)
		return rc;
	p->nodes[id].unhealthy |= unhealthy != 0;
	return 0;
}

int
pipeline_add_topic(struct pipeline *p, const char *topic)
{
	uint32_t id;

	return node_add(p, topic, 0, &id);
}

/*
 * A detail, such as a consumer group's name, is anybody's string; it is
 * kept one line and free of tabs so the edges table stays a table.
 */
static char *
detail_dup(const char *detail)
{
	char *s, *c;

	if ((s = strdup(detail)) == NULL)
		return NULL;
	for (c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return s;
}

int
pipeline_add_edge(struct pipeline *p, const char *app, const char *topic,
    enum pl_kind kind, unsigned evidence, const char *detail, int64_t lag)
{
	char *dup[NEVIDENCE] = { NULL };
	struct pl_edge *e;
	uint32_t a, t, id;
	unsigned bit;
	int i, rc = 0;

	if ((kind != PL_PRODUCES && kind != PL_CONSUMES) || evidence == 0 ||
	    (evidence & ~EVIDENCE_ALL))
		return -EINVAL;
	/* Copies first: once the edge exists, nothing can fail. */
	for (i = 0; i < NEVIDENCE && detail; i++) {
		if (!(evidence & 1u << i))
			continue;
		if ((dup[i] = detail_dup(detail)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((rc = node_add(p, app, 1, &a)) != 0 ||
	    (rc = node_add(p, topic, 0, &t)) != 0)
		goto out;
	if ((id = edge_find(p, a, t, kind)) == NONE &&
	    (rc = edge_new(p, a, t, kind, &id)) != 0)
		goto out;
	e = &p->edges[id];
	for (i = 0; i < NEVIDENCE; i++) {
		bit = 1u << i;
		if (!(evidence & bit) || (e->evidence & bit))
			continue;
		e->evidence |= bit;
		e->detail[i] = dup[i];
		dup[i] = NULL;
	}
	if ((evidence & PL_OBSERVED) && kind == PL_CONSUMES && lag > e->lag)
		e->lag = lag;
out:
	for (i = 0; i < NEVIDENCE; i++)
		free(dup[i]);
	return rc;
}

size_t
pipeline_node_count(const struct pipeline *p)
{
	return p->nnodes;
}

int
pipeline_has_app(const struct pipeline *p, const char *app)
{
	uint32_t id = node_find(p, app);

	return id != NONE && p->nodes[id].app;
}

unsigned
pipeline_edge_evidence(const struct pipeline *p, const char *app,
    const char *topic, enum pl_kind kind)
{
	uint32_t a, t, id;

	if ((a = node_find(p, app)) == NONE ||
	    (t = node_find(p, topic)) == NONE ||
	    (id = edge_find(p, a, t, kind)) == NONE)
		return 0;
	return p->edges[id].evidence;
}

/* ---- orders ---------------------------------------------------------- */

static int
cmp_node(const void *a, const void *b, void *arg)
{
	const struct pipeline *p = arg;

	return strcmp(p->nodes[*(const uint32_t *)a].name,
	    p->nodes[*(const uint32_t *)b].name);
}

static void
sort_nodes(const struct pipeline *p, uint32_t *ids, size_t n)
{
	qsort_r(ids, n, sizeof(*ids), cmp_node, (void *)p);
}

/* Edges by (from, to): each ordered pair has one edge at most. */
static int
cmp_edge(const void *a, const void *b, void *arg)
{
	const struct pipeline *p = arg;
	const struct pl_edge *x = &p->edges[*(const uint32_t *)a];
	const struct pl_edge *y = &p->edges[*(const uint32_t *)b];
	int c;

	if ((c = strcmp(p->nodes[edge_from(x)].name,
	    p->nodes[edge_from(y)].name)) != 0)
		return c;
	return strcmp(p->nodes[edge_to(x)].name, p->nodes[edge_to(y)].name);
}

/* Room for n ids, at least one, so that an empty graph is no error. */
static uint32_t *
new_ids(uint32_t n)
{
	return reallocarray(NULL, n ? n : 1, sizeof(uint32_t));
}

static uint32_t *
all_ids(uint32_t n)
{
	uint32_t *ids, i;

	if ((ids = new_ids(n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		ids[i] = i;
	return ids;
}

static uint32_t *
sorted_nodes(const struct pipeline *p)
{
	uint32_t *ids = all_ids(p->nnodes);

	if (ids)
		sort_nodes(p, ids, p->nnodes);
	return ids;
}

static uint32_t *
sorted_edges(const struct pipeline *p)
{
	uint32_t *ids = all_ids(p->nedges);

	if (ids)
		qsort_r(ids, p->nedges, sizeof(*ids), cmp_edge, (void *)p);
	return ids;
}

/* ---- neighbours ------------------------------------------------------ */

static int
cmp_by_app(const void *a, const void *b, void *arg)
{
	const struct pipeline *p = arg;

	return strcmp(p->nodes[p->edges[*(const uint32_t *)a].app].name,
	    p->nodes[p->edges[*(const uint32_t *)b].app].name);
}

static int
cmp_by_topic(const void *a, const void *b, void *arg)
{
	const struct pipeline *p = arg;

	return strcmp(p->nodes[p->edges[*(const uint32_t *)a].topic].name,
	    p->nodes[p->edges[*(const uint32_t *)b].topic].name);
}

/*
 * The edges of l (all of one node and one kind), by the name of their
 * other end, each passed to fn with that name.
 */
static int
visit_edges(const struct pipeline *p, const struct idlist *l, int other_app,
    int (*fn)(void *, const char *, unsigned), void *arg)
{
	const struct pl_edge *e;
	uint32_t *ids, i;
	int rc = 0;

	if ((ids = new_ids(l->n)) == NULL)
		return -ENOMEM;
	if (l->n)
		memcpy(ids, l->v, l->n * sizeof(*ids));
	qsort_r(ids, l->n, sizeof(*ids), other_app ? cmp_by_app : cmp_by_topic,
	    (void *)p);
	for (i = 0; i < l->n && rc == 0; i++) {
		e = &p->edges[ids[i]];
		rc = fn(arg, p->nodes[other_app ? e->app : e->topic].name,
		    e->evidence);
	}
	free(ids);
	return rc;
}

int
pipeline_app_topics(const struct pipeline *p, const char *app,
    enum pl_kind kind, int (*fn)(void *arg, const char *topic,
    unsigned evidence), void *arg)
{
	const struct pl_node *n;
	uint32_t id;

	if ((id = node_find(p, app)) == NONE || !p->nodes[id].app)
		return -ENOENT;
	n = &p->nodes[id];
	/* An app's produces edges leave it; its consumes edges enter it. */
	return visit_edges(p, kind == PL_PRODUCES ? &n->out : &n->in, 0, fn,
	    arg);
}

int
pipeline_topic_apps(const struct pipeline *p, const char *topic,
    enum pl_kind kind, int (*fn)(void *arg, const char *app,
    unsigned evidence), void *arg)
{
	const struct pl_node *n;
	uint32_t id;

	if ((id = node_find(p, topic)) == NONE || p->nodes[id].app)
		return -ENOENT;
	n = &p->nodes[id];
	return visit_edges(p, kind == PL_PRODUCES ? &n->in : &n->out, 1, fn,
	    arg);
}

/* ---- the edges table ------------------------------------------------- */

static void
add_evidence(struct buf *out, const struct pl_edge *e)
{
	const char *d;
	int i, lag, n = 0;

	for (i = 0; i < NEVIDENCE; i++) {
		if (!(e->evidence & 1u << i))
			continue;
		d = e->detail[i] && e->detail[i][0] ? e->detail[i] : NULL;
		lag = (1u << i) == PL_OBSERVED && e->lag >= 0;
		buf_printf(out, "%s%s", n++ ? "; " : "", evidence_name[i]);
		if (d && lag)
			buf_printf(out, " (%s, lag %lld)", d,
			    (long long)e->lag);
		else if (d)
			buf_printf(out, " (%s)", d);
		else if (lag)
			buf_printf(out, " (lag %lld)", (long long)e->lag);
	}
}

int
pipeline_edges(const struct pipeline *p, struct buf *out)
{
	const struct pl_edge *e;
	uint32_t *ids, i;

	if ((ids = sorted_edges(p)) == NULL)
		return -ENOMEM;
	buf_addstr(out, "from\tto\tkind\tevidence\n");
	for (i = 0; i < p->nedges; i++) {
		e = &p->edges[ids[i]];
		buf_printf(out, "%s\t%s\t%s\t", p->nodes[edge_from(e)].name,
		    p->nodes[edge_to(e)].name,
		    e->kind == PL_PRODUCES ? "produces" : "consumes");
		add_evidence(out, e);
		buf_addch(out, '\n');
	}
	free(ids);
	return out->err;
}

/* ---- cycles ---------------------------------------------------------- */

/*
 * The graph renumbered by name (node r has the r-th name): the arcs
 * leaving r are dst[off[r]] .. dst[off[r + 1] - 1], in increasing order,
 * and arc a leaves src[a].
 */
struct rgraph {
	uint32_t	 n;
	uint32_t	*order;		/* rank -> node id */
	uint32_t	*off;		/* n + 1 of them */
	uint32_t	*dst;
	uint32_t	*src;
};

static void
rgraph_free(struct rgraph *g)
{
	free(g->order);
	free(g->off);
	free(g->dst);
	free(g->src);
}

static int
rgraph_build(const struct pipeline *p, struct rgraph *g)
{
	uint32_t n = p->nnodes, m = p->nedges, *rank, *bydst, *fill, i, r, a;
	const struct pl_edge *e;
	int rc = -ENOMEM;

	memset(g, 0, sizeof(*g));
	g->n = n;
	rank = new_ids(n);
	bydst = new_ids(m);
	fill = calloc((size_t)n + 1, sizeof(*fill));
	g->order = sorted_nodes(p);
	g->off = calloc((size_t)n + 1, sizeof(*g->off));
	g->dst = new_ids(m);
	g->src = new_ids(m);
	if (!rank || !bydst || !fill || !g->order || !g->off || !g->dst ||
	    !g->src)
		goto out;
	for (r = 0; r < n; r++)
		rank[g->order[r]] = r;
	/* Counting sort by destination, then a stable one by source: each
	 * node's arcs come out in increasing order of destination. */
	for (i = 0; i < m; i++)
		fill[rank[edge_to(&p->edges[i])] + 1]++;
	for (r = 0; r < n; r++)
		fill[r + 1] += fill[r];
	for (i = 0; i < m; i++)
		bydst[fill[rank[edge_to(&p->edges[i])]]++] = i;
	for (i = 0; i < m; i++)
		g->off[rank[edge_from(&p->edges[i])] + 1]++;
	for (r = 0; r < n; r++)
		g->off[r + 1] += g->off[r];
	memcpy(fill, g->off, ((size_t)n + 1) * sizeof(*fill));
	for (i = 0; i < m; i++) {
		e = &p->edges[bydst[i]];
		r = rank[edge_from(e)];
		a = fill[r]++;
		g->dst[a] = rank[edge_to(e)];
		g->src[a] = r;
	}
	rc = 0;
out:
	free(rank);
	free(bydst);
	free(fill);
	return rc;
}

/* A line of out, without its newline. */
struct span {
	size_t		 at;
	size_t		 len;
};

struct frame {
	uint32_t	 v;
	uint32_t	 arc;		/* the next arc of v to follow */
	int		 found;		/* circuit: a cycle went through v */
};

/*
 * Johnson's algorithm ("Finding all the elementary circuits of a directed
 * graph", SIAM J. Comput. 4(1), 1975), without recursion.  Nodes are
 * taken in rank order; each round finds the strongly connected components
 * of the nodes still alive, and lists the cycles through the smallest
 * alive node s within its component, which are exactly the cycles whose
 * smallest node is s.  Then s dies, and so does every node left alone in
 * its component (it is on no cycle now, nor once more nodes die).
 */
struct johnson {
	const struct pipeline *p;
	const struct rgraph *g;
	uint8_t		*alive;
	uint8_t		*blocked;
	uint8_t		*onstack;	/* on tarjan's stack */
	uint8_t		*inb;		/* by arc v -> w: v is in B(w) */
	uint32_t	*comp;		/* component, by the last tarjan() */
	uint32_t	*index;
	uint32_t	*low;
	uint32_t	*live;		/* the alive nodes, increasing */
	uint32_t	 nlive;
	uint32_t	*stack;		/* tarjan's; unblock's work list */
	uint32_t	*bhead;		/* B(w): arcs into w, linked by bnext */
	uint32_t	*bnext;
	struct frame	*frames;	/* the depth-first path */
	uint32_t	 depth;		/* of frames */
	uint32_t	 sp;		/* of stack, in tarjan() */
	uint32_t	 counter;	/* tarjan's next index */
	uint64_t	 steps;		/* arcs looked at, see CYCLE_STEPS */
	struct buf	*out;		/* the cycles found, a line each */
	struct span	*line;		/* where each is in out */
	unsigned	 ncycles;
	int		 more;		/* stopped before the last cycle */
};

static int
johnson_init(struct johnson *j, const struct pipeline *p,
    const struct rgraph *g)
{
	size_t n = g->n ? g->n : 1, m = p->nedges ? p->nedges : 1, i;

	j->p = p;
	j->g = g;
	j->alive = malloc(n);
	j->blocked = calloc(n, 1);
	j->onstack = calloc(n, 1);
	j->inb = calloc(m, 1);
	j->comp = new_ids(g->n);
	j->index = new_ids(g->n);
	j->low = new_ids(g->n);
	j->live = new_ids(g->n);
	j->stack = new_ids(g->n);
	j->bhead = new_ids(g->n);
	j->bnext = new_ids(p->nedges);
	j->frames = reallocarray(NULL, n, sizeof(*j->frames));
	j->line = reallocarray(NULL, PL_CYCLES_MAX, sizeof(*j->line));
	if (!j->alive || !j->blocked || !j->onstack || !j->inb || !j->comp ||
	    !j->index || !j->low || !j->live || !j->stack || !j->bhead ||
	    !j->bnext || !j->frames || !j->line)
		return -ENOMEM;
	memset(j->alive, 1, n);
	for (i = 0; i < g->n; i++) {
		j->live[i] = (uint32_t)i;
		j->bhead[i] = NONE;
	}
	j->nlive = g->n;
	return 0;
}

static void
johnson_free(struct johnson *j)
{
	free(j->alive);
	free(j->blocked);
	free(j->onstack);
	free(j->inb);
	free(j->comp);
	free(j->index);
	free(j->low);
	free(j->live);
	free(j->stack);
	free(j->bhead);
	free(j->bnext);
	free(j->frames);
	free(j->line);
}

static void
compact_live(struct johnson *j)
{
	uint32_t k, n = 0;

	for (k = 0; k < j->nlive; k++)
		if (j->alive[j->live[k]])
			j->live[n++] = j->live[k];
	j->nlive = n;
}

static void
tarjan_push(struct johnson *j, uint32_t v)
{
	j->index[v] = j->low[v] = j->counter++;
	j->stack[j->sp++] = v;
	j->onstack[v] = 1;
	j->frames[j->depth++] = (struct frame){ v, j->g->off[v], 0 };
}

/* Tarjan's components of the alive nodes; those alone in theirs die. */
static void
tarjan(struct johnson *j)
{
	const struct rgraph *g = j->g;
	uint32_t k, v, w, x, up, size, ncomp = 0;
	struct frame *f;

	for (k = 0; k < j->nlive; k++)
		j->index[j->live[k]] = NONE;
	j->counter = j->sp = j->depth = 0;
	for (k = 0; k < j->nlive; k++) {
		if (j->index[j->live[k]] != NONE)
			continue;
		tarjan_push(j, j->live[k]);
		while (j->depth) {
			f = &j->frames[j->depth - 1];
			v = f->v;
			if (f->arc < g->off[v + 1]) {
				w = g->dst[f->arc++];
				j->steps++;
				if (!j->alive[w])
					continue;
				if (j->index[w] == NONE)
					tarjan_push(j, w);
				else if (j->onstack[w] &&
				    j->index[w] < j->low[v])
					j->low[v] = j->index[w];
				continue;
			}
			if (--j->depth) {
				up = j->frames[j->depth - 1].v;
				if (j->low[v] < j->low[up])
					j->low[up] = j->low[v];
			}
			if (j->low[v] != j->index[v])
				continue;
			size = 0;
			do {
				x = j->stack[--j->sp];
				j->onstack[x] = 0;
				j->comp[x] = ncomp;
				size++;
			} while (x != v);
			/* No self-loops: an app never is a topic. */
			if (size == 1)
				j->alive[v] = 0;
			ncomp++;
		}
	}
	compact_live(j);
}

static void
unblock(struct johnson *j, uint32_t u)
{
	uint32_t n = 0, x, y, a;

	/* Each node enters the work list once, when it stops being blocked. */
	j->blocked[u] = 0;
	j->stack[n++] = u;
	while (n) {
		x = j->stack[--n];
		for (a = j->bhead[x]; a != NONE; a = j->bnext[a]) {
			j->steps++;
			j->inb[a] = 0;
			y = j->g->src[a];
			if (j->blocked[y]) {
				j->blocked[y] = 0;
				j->stack[n++] = y;
			}
		}
		j->bhead[x] = NONE;
	}
}

/* v found no cycle: blocked until a successor in component c unblocks. */
static void
block_later(struct johnson *j, uint32_t v, uint32_t c)
{
	const struct rgraph *g = j->g;
	uint32_t a, w;

	for (a = g->off[v]; a < g->off[v + 1]; a++) {
		w = g->dst[a];
		j->steps++;
		if (j->alive[w] && j->comp[w] == c && !j->inb[a]) {
			j->inb[a] = 1;
			j->bnext[a] = j->bhead[w];
			j->bhead[w] = a;
		}
	}
}

/* The path in frames closed back to its start; 1: stop. */
static int
record(struct johnson *j)
{
	const struct pipeline *p = j->p;
	struct span *l;
	uint32_t k;

	if (j->ncycles == PL_CYCLES_MAX) {
		j->more = 1;
		return 1;
	}
	l = &j->line[j->ncycles++];
	l->at = j->out->len;
	for (k = 0; k < j->depth; k++) {
		buf_addstr(j->out, p->nodes[j->g->order[j->frames[k].v]].name);
		buf_add(j->out, " -> ", 4);
	}
	buf_addstr(j->out, p->nodes[j->g->order[j->frames[0].v]].name);
	l->len = j->out->len - l->at;
	buf_addch(j->out, '\n');
	return j->out->err != 0;
}

static void
circuit_push(struct johnson *j, uint32_t v)
{
	j->blocked[v] = 1;
	j->frames[j->depth++] = (struct frame){ v, j->g->off[v], 0 };
}

/*
 * Johnson's CIRCUIT from s, the smallest alive node of its component,
 * entering only alive nodes of that component; the path is the frame
 * stack.  Arcs are followed in increasing order, so the cycles come out
 * in increasing order of their node sequences: the first PL_CYCLES_MAX
 * found are the first listed.
 */
static void
circuit(struct johnson *j, uint32_t s)
{
	const struct rgraph *g = j->g;
	uint32_t c = j->comp[s], k, v, w, a;
	struct frame *f;
	int found;

	for (k = 0; k < j->nlive; k++) {
		v = j->live[k];
		if (j->comp[v] != c)
			continue;
		j->blocked[v] = 0;
		for (a = j->bhead[v]; a != NONE; a = j->bnext[a])
			j->inb[a] = 0;
		j->bhead[v] = NONE;
	}
	j->depth = 0;
	circuit_push(j, s);
	while (j->depth) {
		if (j->steps > CYCLE_STEPS) {
			j->more = 1;
			return;
		}
		f = &j->frames[j->depth - 1];
		v = f->v;
		if (f->arc < g->off[v + 1]) {
			w = g->dst[f->arc++];
			j->steps++;
			if (!j->alive[w] || j->comp[w] != c)
				continue;
			if (w == s) {
				if (record(j))
					return;
				f->found = 1;
			} else if (!j->blocked[w]) {
				circuit_push(j, w);
			}
			continue;
		}
		found = f->found;
		if (found)
			unblock(j, v);
		else
			block_later(j, v, c);
		if (--j->depth && found)
			j->frames[j->depth - 1].found = 1;
	}
}

/* Bytewise, as strcmp: names hold no NUL. */
static int
cmp_span(const void *a, const void *b, void *arg)
{
	const struct span *x = a, *y = b;
	const char *data = arg;
	int c;

	c = memcmp(data + x->at, data + y->at,
	    x->len < y->len ? x->len : y->len);
	if (c == 0)
		c = x->len < y->len ? -1 : x->len > y->len;
	return c;
}

/*
 * Cycles are found in order of their node sequences, which is the order
 * of their lines, unless a name holds a byte below the separator's ' '
 * (no Marathon id or Kafka name can): then the lines are sorted here.
 */
static int
sort_lines(struct johnson *j, struct buf *out)
{
	struct buf copy = BUF_INIT(out->max);
	size_t start;
	unsigned k;
	int rc;

	for (k = 1; k < j->ncycles; k++)
		if (cmp_span(&j->line[k - 1], &j->line[k], out->data) > 0)
			break;
	if (k >= j->ncycles)
		return 0;
	start = j->line[0].at;
	if ((rc = buf_add(&copy, out->data + start, out->len - start)) != 0)
		return rc;
	for (k = 0; k < j->ncycles; k++)
		j->line[k].at -= start;
	qsort_r(j->line, j->ncycles, sizeof(*j->line), cmp_span, copy.data);
	buf_truncate(out, start);
	for (k = 0; k < j->ncycles; k++) {
		buf_add(out, copy.data + j->line[k].at, j->line[k].len);
		buf_addch(out, '\n');
	}
	buf_free(&copy);
	return out->err;
}

int
pipeline_cycles(const struct pipeline *p, struct buf *out)
{
	struct johnson j;
	struct rgraph g;
	uint32_t s;
	int rc;

	memset(&j, 0, sizeof(j));
	j.out = out;
	if ((rc = rgraph_build(p, &g)) != 0 ||
	    (rc = johnson_init(&j, p, &g)) != 0)
		goto out;
	for (;;) {
		tarjan(&j);
		if (j.nlive == 0)
			break;
		if (j.steps > CYCLE_STEPS) {
			j.more = 1;
			break;
		}
		s = j.live[0];
		circuit(&j, s);
		if (j.more || out->err)
			break;
		j.alive[s] = 0;
		compact_live(&j);
	}
	if ((rc = out->err) != 0 || (rc = sort_lines(&j, out)) != 0)
		goto out;
	if (j.more)
		buf_printf(out, "# more cycles not listed (at most %d are)\n",
		    PL_CYCLES_MAX);
	rc = out->err;
out:
	johnson_free(&j);
	rgraph_free(&g);
	return rc;
}

/* ---- reachability and orphans ---------------------------------------- */

int
pipeline_reach(const struct pipeline *p, const char *app, int downstream,
    struct buf *out)
{
	const struct idlist *l;
	const struct pl_edge *e;
	uint32_t *queue, id, head, level, tail, k, w;
	uint8_t *seen;

	if ((id = node_find(p, app)) == NONE)
		return -ENOENT;
	queue = new_ids(p->nnodes);
	seen = calloc(p->nnodes, 1);
	if (queue == NULL || seen == NULL) {
		free(queue);
		free(seen);
		return -ENOMEM;
	}
	/* Breadth first, a level at a time: expanding queue[head .. level - 1]
	 * appends the next level, queue[level .. tail - 1]. */
	seen[id] = 1;
	queue[0] = id;
	head = 0;
	tail = 1;
	while (head < tail) {
		for (level = tail; head < level; head++) {
			l = downstream ? &p->nodes[queue[head]].out :
			    &p->nodes[queue[head]].in;
			for (k = 0; k < l->n; k++) {
				e = &p->edges[l->v[k]];
				w = downstream ? edge_to(e) : edge_from(e);
				if (!seen[w]) {
					seen[w] = 1;
					queue[tail++] = w;
				}
			}
		}
		sort_nodes(p, queue + level, tail - level);
		for (k = level; k < tail; k++) {
			buf_addstr(out, p->nodes[queue[k]].name);
			buf_addch(out, '\n');
		}
	}
	free(queue);
	free(seen);
	return out->err;
}

int
pipeline_orphans(const struct pipeline *p, struct buf *out)
{
	const struct pl_node *n;
	uint32_t *ids, i;

	if ((ids = sorted_nodes(p)) == NULL)
		return -ENOMEM;
	for (i = 0; i < p->nnodes; i++) {
		n = &p->nodes[ids[i]];
		/* Producers' edges enter a topic, consumers' leave it. */
		if (n->app || (n->in.n && n->out.n))
			continue;
		buf_printf(out, "%s\t%s\n", n->name, n->in.n == 0 ?
		    n->out.n == 0 ? "no producer, no consumer" : "no producer" :
		    "no consumer");
	}
	free(ids);
	return out->err;
}

/* ---- DOT and SVG ----------------------------------------------------- */

/* Inside a DOT quoted string. */
static void
add_escaped(struct buf *out, const char *s)
{
	size_t n;

	while (*s) {
		n = strcspn(s, "\"\\");
		buf_add(out, s, n);
		s += n;
		if (*s) {
			buf_addch(out, '\\');
			buf_addch(out, *s++);
		}
	}
}

static void
add_quoted(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	add_escaped(out, s);
	buf_addch(out, '"');
}

/*
 * The edges that close a cycle, found by a depth-first search from every
 * node in name order (back[e] = 1).  Graphviz 2.43's dot layout leaks a
 * few hundred bytes each time it breaks a cycle itself, so graph.svg is
 * laid out with these edges given reversed and drawn backwards (dir=back):
 * what dot does inside, the same picture, no leak.
 */
static uint8_t *
back_edges(const struct pipeline *p, const uint32_t *order)
{
	uint8_t *back, *color;
	uint32_t *stack, *next, k, v, depth, e, w;

	back = calloc(p->nedges ? p->nedges : 1, 1);
	color = calloc(p->nnodes ? p->nnodes : 1, 1);	/* 0, 1 open, 2 done */
	stack = new_ids(p->nnodes);
	next = calloc(p->nnodes ? p->nnodes : 1, sizeof(*next));
	if (!back || !color || !stack || !next) {
		free(back);
		back = NULL;
		goto out;
	}
	for (k = 0; k < p->nnodes; k++) {
		if (color[order[k]])
			continue;
		depth = 0;
		stack[depth++] = order[k];
		color[order[k]] = 1;
		while (depth) {
			v = stack[depth - 1];
			if (next[v] == p->nodes[v].out.n) {
				color[v] = 2;
				depth--;
				continue;
			}
			e = p->nodes[v].out.v[next[v]++];
			w = edge_to(&p->edges[e]);
			if (color[w] == 1)
				back[e] = 1;
			else if (color[w] == 0) {
				color[w] = 1;
				stack[depth++] = w;
			}
		}
	}
out:
	free(color);
	free(stack);
	free(next);
	return back;
}

static int
dot_write(const struct pipeline *p, struct buf *out, int acyclic);

int
pipeline_dot(const struct pipeline *p, struct buf *out)
{
	return dot_write(p, out, 0);
}

static int
dot_write(const struct pipeline *p, struct buf *out, int acyclic)
{
	const struct pl_node *n;
	const struct pl_edge *e;
	uint32_t *nodes, *edges, i, a, b;
	uint8_t *back = NULL;

	nodes = sorted_nodes(p);
	edges = sorted_edges(p);
	if (nodes && acyclic)
		back = back_edges(p, nodes);
	if (nodes == NULL || edges == NULL || (acyclic && back == NULL)) {
		free(nodes);
		free(edges);
		free(back);
		return -ENOMEM;
	}
	buf_addstr(out, "// draw it: dot -Tsvg graph.dot > pipeline.svg\n"
	    "digraph pipeline {\n\trankdir=LR;\n");
	for (i = 0; i < p->nnodes; i++) {
		n = &p->nodes[nodes[i]];
		buf_addch(out, '\t');
		add_quoted(out, n->name);
		if (!n->app) {
			buf_addstr(out, " [shape=ellipse];\n");
		} else if (!n->unhealthy) {
			buf_addstr(out, " [shape=box];\n");
		} else {
			buf_addstr(out, " [shape=box, style=filled, "
			    "fillcolor=\"#f4cccc\", color=\"#cc0000\", "
			    "label=\"");
			add_escaped(out, n->name);
			buf_addstr(out, "\\nunhealthy\"];\n");
		}
	}
	for (i = 0; i < p->nedges; i++) {
		e = &p->edges[edges[i]];
		a = edge_from(e);
		b = edge_to(e);
		if (back && back[edges[i]]) {
			a = edge_to(e);
			b = edge_from(e);
		}
		buf_addch(out, '\t');
		add_quoted(out, p->nodes[a].name);
		buf_addstr(out, " -> ");
		add_quoted(out, p->nodes[b].name);
		buf_printf(out, " [%sstyle=%s", back && back[edges[i]] ?
		    "dir=back, " : "",
		    e->evidence & PL_DECLARED ? "solid" :
		    e->evidence & PL_CONFIGURED ? "dashed" : "dotted");
		/* Only observed consumes edges have a lag. */
		if (e->lag >= 0) {
			buf_printf(out, ", label=\"lag %lld\"",
			    (long long)e->lag);
			if (e->lag > 0)
				buf_addstr(out, ", color=\"#cc0000\", "
				    "fontcolor=\"#cc0000\", penwidth=2");
		}
		buf_addstr(out, "];\n");
	}
	buf_addstr(out, "}\n");
	free(nodes);
	free(edges);
	free(back);
	return out->err;
}

/*
 * Graphviz keeps global state (the parser, the error writer, caches), so
 * every call into it holds gv_lock.  The context is made once and kept
 * until exit: with its pango plugin, Graphviz 2.43 keeps pointers into a
 * freed context (a font name cache), so one context per call reads freed
 * memory on the second call.
 */
static pthread_mutex_t gv_lock = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *gv_ctx;			/* guarded by gv_lock */
static lt_symlist_t gv_builtins[3];	/* guarded by gv_lock; gv_ctx's */
static struct buf gv_errors = BUF_INIT(4096);	/* guarded by gv_lock */

static int
gv_error(char *text)
{
	buf_addstr(&gv_errors, text);
	return 0;
}

/*
 * The context loads only the dot layout and the core renderers (svg),
 * from <libdir>/graphviz next to libgvc, which is where Graphviz itself
 * looks for them.  gvContext() would load every configured plugin, the
 * pango text layout among them, which measures labels through fontconfig
 * and leaks doing so (LeakSanitizer reports it at exit).  Without a text
 * layout Graphviz sizes labels from its built-in font metrics, which is
 * plenty for names in boxes.  Where the plugins are not found under
 * those names, gvContext() it is.
 */
static GVC_t *
gv_context_locked(void)
{
	static const char *const plugin[2][2] = {
		{ "libgvplugin_dot_layout.so.6",
		    "gvplugin_dot_layout_LTX_library" },
		{ "libgvplugin_core.so.6", "gvplugin_core_LTX_library" },
	};
	char path[4096], *slash;
	Dl_info info;
	void *h;
	int i;

	if (gv_ctx)
		return gv_ctx;
	if (dladdr((void *)gvContext, &info) == 0 || info.dli_fname == NULL ||
	    (slash = strrchr(info.dli_fname, '/')) == NULL)
		return gv_ctx = gvContext();
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%.*s/graphviz/%s",
		    (int)(slash - info.dli_fname), info.dli_fname,
		    plugin[i][0]);
		/* Never closed: the context runs their code until exit. */
		if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
		    (gv_builtins[i].address = dlsym(h, plugin[i][1])) == NULL)
			return gv_ctx = gvContext();
		gv_builtins[i].name = plugin[i][1];
	}
	return gv_ctx = gvContextPlugins(gv_builtins, 0);
}

/* What Graphviz said, on one line, after what failed. */
static void
gv_fail(struct buf *msg, const char *what)
{
	char *c;

	for (c = gv_errors.data; c && *c; c++)
		if (*c == '\n')
			*c = ' ';
	buf_printf(msg, "pipeline: graphviz: %s%s%s", what,
	    gv_errors.len ? ": " : "", buf_str(&gv_errors));
	while (msg->len && msg->data[msg->len - 1] == ' ')
		msg->data[--msg->len] = '\0';
}

int
pipeline_svg(const struct pipeline *p, struct buf *out, struct buf *msg)
{
	struct buf dot = BUF_INIT(0);
	const char *failed = NULL;
	agusererrf olderr;
	Agraph_t *g;
	GVC_t *gvc;
	char *data = NULL;
	unsigned int len = 0;
	int rc;

	if (p->nnodes > PL_SVG_NODES_MAX) {
		buf_printf(msg, "pipeline: graph.svg is drawn for at most %d "
		    "nodes and the graph has %u; draw graph.dot yourself: "
		    "dot -Tsvg graph.dot > pipeline.svg (or sfdp -Tsvg, faster "
		    "on big graphs)", PL_SVG_NODES_MAX, p->nnodes);
		return -EFBIG;
	}
	if ((rc = dot_write(p, &dot, 1)) != 0)
		goto out;
	pthread_mutex_lock(&gv_lock);
	buf_reset(&gv_errors);
	olderr = agseterrf(gv_error);
	if ((gvc = gv_context_locked()) == NULL) {
		failed = "no context";
		goto unlock;
	}
	if ((g = agmemread(dot.data)) == NULL) {
		failed = "graph.dot not read";
		goto unlock;
	}
	if (gvLayout(gvc, g, "dot") != 0) {
		failed = "layout failed";
		goto close;
	}
	if (gvRenderData(gvc, g, "svg", &data, &len) != 0)
		failed = "svg rendering failed";
	else
		rc = buf_add(out, data, len);
	gvFreeRenderData(data);
close:
	/* Also after a failed layout: it frees whatever was laid out. */
	gvFreeLayout(gvc, g);
	agclose(g);
unlock:
	if (failed) {
		gv_fail(msg, failed);
		rc = -EIO;
	}
	agseterrf(olderr);
	pthread_mutex_unlock(&gv_lock);
out:
	buf_free(&dot);
	return rc;
}
