/*
 * pipeline.h: the graph of apps and topics, and everything derived from it.
 *
 * Nodes are apps (Marathon ids, which always start with '/') and topics
 * (Kafka names, which never contain '/').  Edges are directed: an app that
 * produces a topic is app -> topic; an app that consumes one is topic ->
 * app.  Each edge carries the evidence it was found by (declared in app
 * labels, configured in ZooKeeper, observed from a consumer group), where
 * (a short detail per kind), and for observed edges the group's lag.
 *
 * Pure: no I/O, no locking of its own (a built graph is read-only, so any
 * number of threads may read it), except pipeline_svg, which serializes
 * the calls into Graphviz (not thread-safe) on a lock of its own.
 */
#ifndef ARCHONFS_PIPELINE_H
#define ARCHONFS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum pl_kind { PL_PRODUCES = 0, PL_CONSUMES = 1 };

/* Evidence kinds, as bits (an edge may have several). */
#define PL_DECLARED	0x1	/* app labels (archon.consumes, archon.produces) */
#define PL_CONFIGURED	0x2	/* ZooKeeper, under the app's path template */
#define PL_OBSERVED	0x4	/* a Kafka consumer group attributed to the app */

#define PL_CYCLES_MAX	1000	/* cycles listed at most */
#define PL_SVG_NODES_MAX 1000	/* graph.svg is laid out up to this many nodes */

struct pipeline;

struct pipeline *pipeline_new(void);
void	 pipeline_free(struct pipeline *p);

/* Add a node (again is fine: an app's unhealthy flag is or'ed). */
int	 pipeline_add_app(struct pipeline *p, const char *app, int unhealthy);
int	 pipeline_add_topic(struct pipeline *p, const char *topic);
/* Add one piece of evidence for the edge between app and topic (nodes are
 * added when missing).  detail: where, e.g. "label archon.consumes",
 * "zk /config/prod/web/kafka.topics.in", "group billing"; lag: for
 * PL_OBSERVED consumes edges, the group's total lag on the topic, -1 when
 * unknown (ignored otherwise).  The same evidence kind added twice keeps
 * the first detail; an observed edge keeps the largest lag. */
int	 pipeline_add_edge(struct pipeline *p, const char *app, const char *topic,
	    enum pl_kind kind, unsigned evidence, const char *detail, int64_t lag);

size_t	 pipeline_node_count(const struct pipeline *p);
int	 pipeline_has_app(const struct pipeline *p, const char *app);

/* The evidence bits of one edge (0: no such edge). */
unsigned pipeline_edge_evidence(const struct pipeline *p, const char *app,
	    const char *topic, enum pl_kind kind);
/* The topics an app produces (PL_PRODUCES) or consumes (PL_CONSUMES), and
 * the apps that produce or consume a topic, in name order, with each
 * edge's evidence bits; fn returning non-zero stops (that value is
 * returned). */
int	 pipeline_app_topics(const struct pipeline *p, const char *app,
	    enum pl_kind kind, int (*fn)(void *arg, const char *topic,
	    unsigned evidence), void *arg);
int	 pipeline_topic_apps(const struct pipeline *p, const char *topic,
	    enum pl_kind kind, int (*fn)(void *arg, const char *app,
	    unsigned evidence), void *arg);

/* pipeline/edges: a header line "from\tto\tkind\tevidence", then one line
 * per edge, sorted by (from, to) bytewise: "FROM\tTO\tKIND\tEVIDENCE",
 * KIND "produces" or "consumes", EVIDENCE the kinds found joined by "; "
 * in the order declared, configured, observed, each with its detail:
 * "declared (label archon.consumes); observed (group billing, lag 3)". */
int	 pipeline_edges(const struct pipeline *p, struct buf *out);

/* pipeline/cycles: every elementary cycle, one per line, as
 * "A -> t1 -> B -> t2 -> A", starting at its smallest node (bytewise),
 * lines sorted; at most PL_CYCLES_MAX, then a line "# more cycles not
 * listed (at most 1000 are)".  Empty when the graph is a DAG. */
int	 pipeline_cycles(const struct pipeline *p, struct buf *out);

/* pipeline/downstream/<app> (downstream != 0: following the edges) and
 * upstream/<app> (against them): every node reachable from app, apps and
 * topics, not app itself, one per line, ordered by distance, then name.
 * -ENOENT when app is not a node. */
int	 pipeline_reach(const struct pipeline *p, const char *app, int downstream,
	    struct buf *out);

/* pipeline/orphans: each topic nobody produces or nobody consumes, sorted:
 * "TOPIC\tno producer", "TOPIC\tno consumer" or "TOPIC\tno producer, no
 * consumer". */
int	 pipeline_orphans(const struct pipeline *p, struct buf *out);

/* pipeline/graph.dot: a digraph "pipeline", left to right; apps are boxes,
 * topics ellipses; unhealthy apps filled red and labelled "unhealthy";
 * edges drawn solid when declared, dashed when only configured, dotted
 * when only observed; an observed consumes edge with lag > 0 is red and
 * labelled "lag N" (lag 0: labelled "lag 0"). */
int	 pipeline_dot(const struct pipeline *p, struct buf *out);

/* pipeline/graph.svg: the dot graph laid out by Graphviz's library (dot
 * layout) in this process; an edge closing a cycle is given to it reversed
 * and drawn backwards (dir=back), the same picture.  -EFBIG with words in msg above
 * PL_SVG_NODES_MAX nodes; -EIO with words if Graphviz fails. */
int	 pipeline_svg(const struct pipeline *p, struct buf *out, struct buf *msg);

#endif
