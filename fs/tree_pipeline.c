/*
 * tree_pipeline.c: which app reads and writes which topic, as links and as
 * a graph, on top of backends/pipeline.h.
 *
 *   apps/<app>/consumes/<topic>, produces/<topic>    links into topics/
 *   topics/<t>/consumers/<app>, producers/<app>      links into apps/
 *   pipeline/edges, graph.dot, graph.svg, cycles, orphans,
 *   pipeline/upstream/<app>, downstream/<app>
 *
 * Edges come from evidence, and each says which:
 *   declared    the app's labels (-o consumes_label, produces_label):
 *               comma-separated topic names;
 *   configured  ZooKeeper: the znode named by -o zk_consumes / zk_produces
 *               with {app} replaced by the app id (without its leading /):
 *               topic names separated by commas, blanks or newlines;
 *   observed    a Kafka consumer group attributed to an app: its id is the
 *               app's by -o group_app ({app}: the id with / written as .),
 *               or its members' hosts are exactly the hosts of one app's
 *               tasks (and of no other app's).  The group consumes the
 *               topics it is assigned or has committed offsets on.
 *
 * The graph is built from the snapshots the rest of the tree reads (the
 * app tree, Kafka's metadata and group list, ZooKeeper's cache; committed
 * offsets cached per group), never by requests per app to Marathon.  A
 * built graph is kept while none of its sources changed and for at most a
 * second (lag moves).  Only the files that show lag (edges, graph.dot,
 * graph.svg) ask Kafka for watermarks.
 *
 * Declared edges are edited through the links: symlink(2) in consumes/ or
 * produces/ adds the topic to the label, unlink(2) removes it; each is one
 * label write, so one deployment, and its result is the call's result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "tree.h"
#include "../backends/kafka.h"
#include "../backends/marathon.h"
#include "../backends/pipeline.h"
#include "../backends/zk.h"

#define PL_CACHE_MS	1000	/* a built graph is reused this long at most */
#define HOLD_PL		2	/* c->hold slot (0 and 1: apps and deployments) */

const char *
pipeline_opt(const char *name)
{
	const struct options *o = &FS->opt;

	if (strcmp(name, "consumes_label") == 0)
		return o->consumes_label ? o->consumes_label : "archon.consumes";
	if (strcmp(name, "produces_label") == 0)
		return o->produces_label ? o->produces_label : "archon.produces";
	if (strcmp(name, "zk_consumes") == 0)
		return o->zk_consumes ? o->zk_consumes :
		    "/config/{app}/kafka.topics.in";
	if (strcmp(name, "zk_produces") == 0)
		return o->zk_produces ? o->zk_produces :
		    "/config/{app}/kafka.topics.out";
	if (strcmp(name, "group_app") == 0)
		return o->group_app ? o->group_app : "{app}";
	return "";
}

static const char *
label_of(enum pl_kind kind)
{
	return pipeline_opt(kind == PL_CONSUMES ? "consumes_label" :
	    "produces_label");
}

/* A plausible topic name (Kafka's rule); others in labels are ignored. */
static int
topic_name_ok(const char *t)
{
	size_t n = strlen(t), i;

	if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", t[i]))
			return 0;
	return 1;
}

/* Each topic name of a list (commas, blanks, newlines between them). */
static int
list_each(const char *list, int (*fn)(void *, const char *), void *arg)
{
	char name[256];
	size_t n;
	int rc;

	while (list && *list) {
		list += strspn(list, ", \t\r\n");
		n = strcspn(list, ", \t\r\n");
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, list, n);
			name[n] = '\0';
			if (topic_name_ok(name) && (rc = fn(arg, name)) != 0)
				return rc;
		}
		list += n;
	}
	return 0;
}

/* template with {app} replaced by rep; -ENAMETOOLONG, never cut. */
static int
expand(const char *tmpl, const char *rep, char *out, size_t n)
{
	const char *at;
	size_t len = 0, k;

	while ((at = strstr(tmpl, "{app}")) != NULL) {
		k = (size_t)(at - tmpl);
		if (len + k + strlen(rep) + 1 > n)
			return -ENAMETOOLONG;
		memcpy(out + len, tmpl, k);
		memcpy(out + len + k, rep, strlen(rep));
		len += k + strlen(rep);
		tmpl = at + 5;
	}
	if (len + strlen(tmpl) + 1 > n)
		return -ENAMETOOLONG;
	memcpy(out + len, tmpl, strlen(tmpl) + 1);
	return 0;
}

/* ---- building the graph -------------------------------------------------- */

struct build {
	struct nctx		*c;
	struct pipeline		*p;
	const struct mara_snap	*s;
	struct buf		*warn;
	const char		*app;		/* the app being added */
	enum pl_kind		 kind;
	unsigned		 evidence;
	char			 detail[4200];
	int			 rc;
};

static int
add_listed(void *arg, const char *topic)
{
	struct build *b = arg;

	return pipeline_add_edge(b->p, b->app, topic, b->kind, b->evidence,
	    b->detail, -1);
}

/* Declared and configured edges of one app. */
static int
add_app(void *arg, const char *id)
{
	struct build *b = arg;
	struct buf data = BUF_INIT(1 << 20);
	struct zk_stat zs;
	char path[4096];
	const char *v;
	int k, rc;

	b->app = id;
	if ((rc = pipeline_add_app(b->p, id, mara_app_unhealthy(b->s, id))) != 0)
		return rc;
	for (k = PL_PRODUCES; k <= PL_CONSUMES; k++) {
		b->kind = (enum pl_kind)k;
		if ((v = mara_app_label(b->s, id, label_of(b->kind))) != NULL) {
			b->evidence = PL_DECLARED;
			snprintf(b->detail, sizeof(b->detail), "label %s",
			    label_of(b->kind));
			if ((rc = list_each(v, add_listed, b)) != 0)
				goto out;
		}
		if (FS->zk == NULL || *pipeline_opt(k == PL_CONSUMES ?
		    "zk_consumes" : "zk_produces") == '\0')
			continue;
		if (expand(pipeline_opt(k == PL_CONSUMES ? "zk_consumes" :
		    "zk_produces"), id + 1, path, sizeof(path)) != 0)
			continue;
		buf_reset(&data);
		rc = zk_data(FS->zk, path, b->c->may_block, b->c->deadline, &data,
		    &zs, b->c->msg);
		if (rc == -E_WOULDBLOCK)
			goto out;
		if (rc == 0) {
			b->evidence = PL_CONFIGURED;
			snprintf(b->detail, sizeof(b->detail), "zk %s", path);
			if ((rc = list_each(buf_str(&data), add_listed, b)) != 0)
				goto out;
		} else if (rc != -ENOENT && rc != -ENOTDIR) {
			/* Say so rather than leave the edges out silently. */
			buf_printf(b->warn, "configured edges of %s unknown: %s: %s\n",
			    id, path, b->c->msg->len ? buf_str(b->c->msg) :
			    strerror(-rc));
		}
		buf_reset(b->c->msg);
		rc = 0;
	}
out:
	buf_free(&data);
	return rc;
}

/* ---- observed edges ------------------------------------------------------ */

struct keyed {
	char		*key;		/* a group id, or a set of hosts */
	const char	*app;		/* NULL when several apps have the key */
};

static int
keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key,
	    ((const struct keyed *)b)->key);
}

struct keys {
	struct keyed	*k;
	size_t		 n, alloc;
};

static int
keys_add(struct keys *ks, char *key, const char *app)
{
	struct keyed *nk;

	if (ks->n == ks->alloc) {
		ks->alloc = ks->alloc ? 2 * ks->alloc : 64;
		if ((nk = realloc(ks->k, ks->alloc * sizeof(*nk))) == NULL) {
			free(key);
			return -ENOMEM;
		}
		ks->k = nk;
	}
	ks->k[ks->n].key = key;
	ks->k[ks->n].app = app;
	ks->n++;
	return 0;
}

/* Sort; a key two apps share names neither. */
static void
keys_seal(struct keys *ks)
{
	size_t i, j;

	if (ks->n == 0)
		return;
	qsort(ks->k, ks->n, sizeof(*ks->k), keyed_cmp);
	for (i = 0, j = 0; i < ks->n; i++) {
		if (j > 0 && strcmp(ks->k[j - 1].key, ks->k[i].key) == 0) {
			ks->k[j - 1].app = NULL;
			free(ks->k[i].key);
			continue;
		}
		ks->k[j++] = ks->k[i];
	}
	ks->n = j;
}

static const char *
keys_find(const struct keys *ks, const char *key)
{
	struct keyed want = { (char *)key, NULL }, *hit;

	if (ks->n == 0)
		return NULL;
	hit = bsearch(&want, ks->k, ks->n, sizeof(*ks->k), keyed_cmp);
	return hit ? hit->app : NULL;
}

static void
keys_free(struct keys *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		free(ks->k[i].key);
	free(ks->k);
}

/* A set of hosts as one key: sorted, distinct, comma-joined. */
struct hostset {
	char	*h[256];
	size_t	 n;
};

static int
hostset_add(void *arg, const char *host)
{
	struct hostset *hs = arg;
	size_t i;

	if (*host == '/')
		host++;		/* Kafka reports "/10.0.0.1" */
	for (i = 0; i < hs->n; i++)
		if (strcmp(hs->h[i], host) == 0)
			return 0;
	if (hs->n == sizeof(hs->h) / sizeof(hs->h[0]))
		return 0;
	hs->h[hs->n++] = (char *)host;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
hostset_key(struct hostset *hs)
{
	struct buf k = BUF_INIT(1 << 16);
	size_t i;
	char *s;

	if (hs->n == 0)
		return NULL;
	qsort(hs->h, hs->n, sizeof(hs->h[0]), str_cmp);
	for (i = 0; i < hs->n; i++)
		buf_printf(&k, "%s%s", i ? "," : "", hs->h[i]);
	s = k.err ? NULL : strdup(buf_str(&k));
	buf_free(&k);
	return s;
}

struct appkeys {
	const struct mara_snap	*s;
	struct keys		 byname, byhosts;
	int			 rc;
};

static int
app_keys(void *arg, const char *id)
{
	struct appkeys *ak = arg;
	struct hostset hs = { { NULL }, 0 };
	char name[4096], *dots, *p, *hk;
	int rc;

	if ((dots = strdup(id + 1)) == NULL)
		return -ENOMEM;
	for (p = dots; *p; p++)
		if (*p == '/')
			*p = '.';
	rc = expand(pipeline_opt("group_app"), dots, name, sizeof(name));
	free(dots);
	if (rc == 0 && (p = strdup(name)) != NULL &&
	    (rc = keys_add(&ak->byname, p, id)) != 0)
		return rc;
	mara_each_task_host(ak->s, id, hostset_add, &hs);
	if ((hk = hostset_key(&hs)) != NULL)
		return keys_add(&ak->byhosts, hk, id);
	return 0;
}

/* One observed group: its app, topics, and committed offsets. */
struct ogroup {
	const char	*app;
	char		*name;
	struct tpc {
		char	*topic;
		int32_t	 partition;
		int64_t	 committed;	/* -1: assigned, nothing committed */
	}		*tp;
	size_t		 ntp, alloc;
	int		 err;
};

static void
og_add(struct ogroup *g, const char *topic, int32_t partition,
    int64_t committed)
{
	struct tpc *n;
	size_t i;

	for (i = 0; i < g->ntp; i++) {
		if (g->tp[i].partition == partition &&
		    strcmp(g->tp[i].topic, topic) == 0) {
			if (committed >= 0)
				g->tp[i].committed = committed;
			return;
		}
	}
	if (g->ntp == g->alloc) {
		g->alloc = g->alloc ? 2 * g->alloc : 16;
		if ((n = realloc(g->tp, g->alloc * sizeof(*n))) == NULL) {
			g->err = -ENOMEM;
			return;
		}
		g->tp = n;
	}
	if ((g->tp[g->ntp].topic = strdup(topic)) == NULL) {
		g->err = -ENOMEM;
		return;
	}
	g->tp[g->ntp].partition = partition;
	g->tp[g->ntp].committed = committed;
	g->ntp++;
}

static int
og_assigned(void *arg, const struct kafka_member *mb)
{
	size_t i;

	for (i = 0; i < mb->nassigned; i++)
		og_add(arg, mb->topics[i], mb->partitions[i], -1);
	return 0;
}

static int
og_committed(void *arg, const char *topic, int32_t partition, int64_t off)
{
	og_add(arg, topic, partition, off);
	return 0;
}

static int
member_hosts(void *arg, const struct kafka_member *mb)
{
	return hostset_add(arg, mb->host);
}

struct observe {
	struct build		*b;
	const struct kafka_groups *g;
	struct appkeys		*ak;
	struct ogroup		*og;
	size_t			 nog, alloc;
};

static int
observe_group(void *arg, const char *group)
{
	struct observe *ob = arg;
	struct hostset hs = { { NULL }, 0 };
	struct ogroup *g, *n;
	const char *app;
	char *hk;
	int rc;

	if ((app = keys_find(&ob->ak->byname, group)) == NULL) {
		kafka_group_members(ob->g, group, member_hosts, &hs);
		if ((hk = hostset_key(&hs)) != NULL) {
			app = keys_find(&ob->ak->byhosts, hk);
			free(hk);
		}
	}
	if (app == NULL)
		return 0;	/* nobody's group, as far as the rule goes */
	if (ob->nog == ob->alloc) {
		ob->alloc = ob->alloc ? 2 * ob->alloc : 16;
		if ((n = realloc(ob->og, ob->alloc * sizeof(*n))) == NULL)
			return -ENOMEM;
		ob->og = n;
	}
	g = &ob->og[ob->nog++];
	memset(g, 0, sizeof(*g));
	g->app = app;
	if ((g->name = strdup(group)) == NULL)
		return -ENOMEM;
	kafka_group_members(ob->g, group, og_assigned, g);
	rc = kafka_group_offsets(FS->kafka, group, ob->b->c->may_block,
	    ob->b->c->deadline, og_committed, g, ob->b->c->msg);
	if (rc == -E_WOULDBLOCK)
		return rc;
	if (rc != 0 && rc != -ENOENT)
		buf_printf(ob->b->warn, "committed offsets of group %s unknown: %s\n",
		    group, ob->b->c->msg->len ? buf_str(ob->b->c->msg) :
		    strerror(-rc));
	buf_reset(ob->b->c->msg);
	return g->err;
}

/* The lag of every observed group on every topic: one watermark request
 * round for all their partitions. */
static void
observe_lag(struct observe *ob, int64_t **lags)
{
	struct kafka_tp *tp;
	size_t i, j, n = 0, at = 0;
	int rc;

	for (i = 0; i < ob->nog; i++)
		n += ob->og[i].ntp;
	if (n == 0 || kafka_down(FS->kafka) ||
	    (tp = calloc(n, sizeof(*tp))) == NULL)
		return;
	for (i = 0; i < ob->nog; i++) {
		for (j = 0; j < ob->og[i].ntp; j++) {
			tp[at].topic = ob->og[i].tp[j].topic;
			tp[at].partition = ob->og[i].tp[j].partition;
			at++;
		}
	}
	rc = kafka_watermarks(FS->kafka, tp, n, ob->b->c->deadline,
	    ob->b->c->msg);
	if (rc != 0) {
		buf_printf(ob->b->warn, "consumer lag unknown: %s\n",
		    ob->b->c->msg->len ? buf_str(ob->b->c->msg) : strerror(-rc));
		buf_reset(ob->b->c->msg);
		free(tp);
		return;
	}
	at = 0;
	for (i = 0; i < ob->nog; i++) {
		for (j = 0; j < ob->og[i].ntp; j++, at++) {
			int64_t c = ob->og[i].tp[j].committed;

			/* Nothing committed: everything is behind it. */
			lags[i][j] = tp[at].high - (c >= 0 ? c : tp[at].low);
			if (lags[i][j] < 0)
				lags[i][j] = 0;
		}
	}
	free(tp);
}

static int
add_observed(struct build *b, int with_lag)
{
	struct observe ob = { b, NULL, NULL, NULL, 0, 0 };
	struct appkeys ak;
	struct kafka_groups *g = NULL;
	int64_t **lags = NULL, lag;
	size_t i, j, k;
	int rc;

	memset(&ak, 0, sizeof(ak));
	ak.s = b->s;
	if ((rc = kafka_groups(FS->kafka, b->c->may_block, b->c->deadline, &g,
	    b->c->msg)) != 0) {
		if (rc == -E_WOULDBLOCK)
			return rc;
		buf_printf(b->warn, "observed edges unknown: %s\n",
		    b->c->msg->len ? buf_str(b->c->msg) : strerror(-rc));
		buf_reset(b->c->msg);
		return 0;
	}
	ob.g = g;
	ob.ak = &ak;
	if ((rc = mara_each_app(b->s, app_keys, &ak)) != 0)
		goto out;
	keys_seal(&ak.byname);
	keys_seal(&ak.byhosts);
	if ((rc = kafka_list_groups(g, observe_group, &ob)) != 0)
		goto out;
	if ((lags = calloc(ob.nog + 1, sizeof(*lags))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ob.nog; i++) {
		if ((lags[i] = calloc(ob.og[i].ntp + 1, sizeof(**lags))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		for (j = 0; j < ob.og[i].ntp; j++)
			lags[i][j] = -1;
	}
	if (with_lag)
		observe_lag(&ob, lags);
	for (i = 0; i < ob.nog && rc == 0; i++) {
		snprintf(b->detail, sizeof(b->detail), "group %s", ob.og[i].name);
		for (j = 0; j < ob.og[i].ntp && rc == 0; j++) {
			/* Once per topic, with the sum over its partitions. */
			for (k = 0; k < j; k++)
				if (strcmp(ob.og[i].tp[k].topic, ob.og[i].tp[j].topic) == 0)
					break;
			if (k < j)
				continue;
			lag = 0;
			for (k = j; k < ob.og[i].ntp; k++) {
				if (strcmp(ob.og[i].tp[k].topic, ob.og[i].tp[j].topic))
					continue;
				if (lags[i][k] < 0 || lag < 0)
					lag = -1;
				else
					lag += lags[i][k];
			}
			rc = pipeline_add_edge(b->p, ob.og[i].app, ob.og[i].tp[j].topic,
			    PL_CONSUMES, PL_OBSERVED, b->detail, lag);
		}
	}
out:
	for (i = 0; i < ob.nog; i++) {
		for (j = 0; j < ob.og[i].ntp; j++)
			free(ob.og[i].tp[j].topic);
		free(ob.og[i].tp);
		free(ob.og[i].name);
		if (lags)
			free(lags[i]);
	}
	free(lags);
	free(ob.og);
	keys_free(&ak.byname);
	keys_free(&ak.byhosts);
	kafka_groups_put(FS->kafka, g);
	return rc;
}

static int
add_topic(void *arg, const char *topic)
{
	return pipeline_add_topic(arg, topic);
}

/* ---- the built graph, shared ------------------------------------------- */

struct plgraph {
	struct pipeline	*p;
	struct buf	 warn;		/* sources that could not be read */
	int		 refs;		/* guarded by cache_lock */
	int		 with_lag;
	uint64_t	 gen[4];	/* apps, kafka meta, groups, zk */
	int64_t		 at;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct plgraph *cache[2];	/* without, with lag; guarded by cache_lock */
static volatile uint64_t zk_gen = 1;

void
tree_pipeline_zk_changed(void)
{
	__atomic_add_fetch(&zk_gen, 1, __ATOMIC_RELAXED);
}

/* Directories listed from the graph's edges. */
static const enum node_id edge_rows[] = {
	N_TOPIC_CONSUMERS, N_TOPIC_PRODUCERS, N_PIPELINE,
	N_PL_UPSTREAM, N_PL_UP_GROUP, N_PL_UP_APP,
	N_PL_DOWNSTREAM, N_PL_DOWN_GROUP, N_PL_DOWN_APP,
};

void
tree_pipeline_apps_changed(void)
{
	size_t n = sizeof(edge_rows) / sizeof(edge_rows[0]);

	/* The graph itself follows the apps snapshot's generation; the
	 * kernel's kept listings of it are dropped here. */
	inval_dirs_under("topics", edge_rows, n);
	inval_dirs_under("pipeline", edge_rows, n);
}

static void
graph_put(void *p)
{
	struct plgraph *g = p;
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(&cache_lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&cache_lock);
	if (last) {
		pipeline_free(g->p);
		buf_free(&g->warn);
		free(g);
	}
}

/* The generations of the graph's sources now (may need to block). */
static int
sources(struct nctx *c, uint64_t gen[4])
{
	struct mara_snap *s;
	struct kafka_meta *m;
	struct kafka_groups *g;
	int rc;

	memset(gen, 0, 4 * sizeof(gen[0]));
	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	gen[0] = mara_snap_gen(s);
	if (FS->kafka) {
		if (kafka_meta(FS->kafka, c->may_block, c->deadline, &m, c->msg) == 0) {
			gen[1] = kafka_meta_gen(m);
			kafka_meta_put(FS->kafka, m);
		} else if (!c->may_block) {
			return -E_WOULDBLOCK;
		}
		if (kafka_groups(FS->kafka, c->may_block, c->deadline, &g,
		    c->msg) == 0) {
			gen[2] = kafka_groups_gen(g);
			kafka_groups_put(FS->kafka, g);
		} else if (!c->may_block) {
			return -E_WOULDBLOCK;
		}
		buf_reset(c->msg);
	}
	gen[3] = __atomic_load_n(&zk_gen, __ATOMIC_RELAXED);
	return 0;
}

static int
build(struct nctx *c, int with_lag, struct plgraph **out)
{
	struct build b;
	struct kafka_meta *m;
	struct plgraph *g;
	int rc;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -ENOMEM;
	buf_init(&g->warn, 1 << 16);
	g->refs = 1;
	g->with_lag = with_lag;
	memset(&b, 0, sizeof(b));
	b.c = c;
	b.warn = &g->warn;
	if ((g->p = b.p = pipeline_new()) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = sources(c, g->gen)) != 0 ||
	    (rc = apps_snap(c, (struct mara_snap **)&b.s)) != 0)
		goto fail;
	if ((rc = mara_each_app(b.s, add_app, &b)) != 0)
		goto fail;
	if (FS->kafka) {
		if ((rc = kafka_meta(FS->kafka, c->may_block, c->deadline, &m,
		    c->msg)) == 0) {
			rc = kafka_list_topics(m, add_topic, b.p);
			kafka_meta_put(FS->kafka, m);
			if (rc != 0)
				goto fail;
		} else if (rc == -E_WOULDBLOCK) {
			goto fail;
		} else {
			buf_printf(&g->warn, "topics unknown: %s\n", buf_str(c->msg));
			buf_reset(c->msg);
		}
		if ((rc = add_observed(&b, with_lag)) != 0)
			goto fail;
	}
	g->at = now_ms();
	*out = g;
	return 0;
fail:
	graph_put(g);
	return rc;
}

/* The graph for this op, built or reused, held until the op ends. */
static int
graph(struct nctx *c, int with_lag, struct plgraph **out)
{
	struct plgraph *g;
	uint64_t gen[4];
	int rc;

	if (c->hold[HOLD_PL].p) {
		g = c->hold[HOLD_PL].p;
		if (g->with_lag >= with_lag) {
			*out = g;
			return 0;
		}
	}
	if ((rc = sources(c, gen)) != 0)
		return rc;
	pthread_mutex_lock(&cache_lock);
	g = cache[with_lag];
	if (g && (memcmp(g->gen, gen, sizeof(gen)) != 0 ||
	    now_ms() - g->at >= PL_CACHE_MS))
		g = NULL;
	if (g)
		g->refs++;
	pthread_mutex_unlock(&cache_lock);
	if (g == NULL) {
		if (!c->may_block)
			return -E_WOULDBLOCK;	/* building may ask backends */
		if ((rc = build(c, with_lag, &g)) != 0)
			return rc;
		pthread_mutex_lock(&cache_lock);
		if (cache[with_lag] == NULL || cache[with_lag]->at < g->at) {
			struct plgraph *old = cache[with_lag];

			g->refs++;
			cache[with_lag] = g;
			if (old && --old->refs == 0) {
				pipeline_free(old->p);
				buf_free(&old->warn);
				free(old);
			}
		}
		pthread_mutex_unlock(&cache_lock);
	}
	if (c->hold[HOLD_PL].p)
		graph_put(c->hold[HOLD_PL].p);
	c->hold[HOLD_PL].p = g;
	c->hold[HOLD_PL].put = graph_put;
	*out = g;
	return 0;
}

/* ---- links --------------------------------------------------------------- */

static enum pl_kind
link_kind(const struct nctx *c)
{
	switch (c->t->id) {
	case N_APP_CONSUMES:
	case N_APP_CONSUMES_LINK:
	case N_TOPIC_CONSUMERS:
	case N_TOPIC_CONSUMER:
		return PL_CONSUMES;
	default:
		return PL_PRODUCES;
	}
}

/* "../" once per component of the directory c is in (or is). */
static void
to_root(const struct nctx *c, int is_dir, struct buf *out)
{
	const char *p = c->path;
	int n = *p ? 1 : 0;

	for (; *p; p++)
		n += *p == '/';
	if (!is_dir)
		n--;
	while (n-- > 0)
		buf_addstr(out, "../");
}

struct linkfill {
	struct dirfill	*f;
	enum node_id	 row;
	const struct pipeline *p;
	enum pl_kind	 kind;
	const char	*topic;
	const char	*want;		/* match: this name */
	char		*found;		/* match: the app id (malloc'd) */
};

static int
add_app_link(void *arg, const char *topic, unsigned ev)
{
	struct linkfill *lf = arg;

	(void)ev;
	return dirfill_add(lf->f, topic, lf->row, NULL);
}

static const char *
app_of(const struct nctx *c)
{
	return ctx_arg(c, N_APP);
}

int
app_links_list(struct nctx *c, struct dirfill *f)
{
	struct linkfill lf = { f, c->t->id == N_APP_CONSUMES ?
	    N_APP_CONSUMES_LINK : N_APP_PRODUCES_LINK, NULL, 0, NULL, NULL, NULL };
	struct plgraph *g;
	int rc;

	if ((rc = graph(c, 0, &g)) != 0)
		return rc;
	return pipeline_app_topics(g->p, app_of(c), link_kind(c), add_app_link,
	    &lf);
}

int
app_links_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct plgraph *g;
	int rc;

	(void)arg;
	if ((rc = graph(c, 0, &g)) != 0)
		return rc;
	if (pipeline_edge_evidence(g->p, app_of(c), name, link_kind(c)) == 0)
		return -ENOENT;
	*row = c->t->id == N_APP_CONSUMES ? N_APP_CONSUMES_LINK :
	    N_APP_PRODUCES_LINK;
	return 0;
}

int
app_link_read(struct nctx *c, struct buf *out)
{
	to_root(c, 0, out);
	return buf_printf(out, "topics/%s", c->name);
}

/* The label's list with topic added (add) or removed; NULL when empty. */
static char *
edit_list(const char *cur, const char *topic, int add)
{
	struct buf b = BUF_INIT(1 << 16);
	char name[256];
	const char *p = cur;
	size_t n;
	char *s;

	while (p && *p) {
		p += strspn(p, ", \t\r\n");
		n = strcspn(p, ", \t\r\n");
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (strcmp(name, topic) != 0)
				buf_printf(&b, "%s%s", b.len ? "," : "", name);
		}
		p += n;
	}
	if (add)
		buf_printf(&b, "%s%s", b.len ? "," : "", topic);
	s = b.len && !b.err ? strdup(buf_str(&b)) : NULL;
	buf_free(&b);
	return s;
}

/* Normalize target, relative to the link's directory dir (or absolute in
 * the mount), to a mount-relative path. */
static int
resolve_target(const char *dir, const char *target, char *out, size_t n)
{
	char path[8192], *seg, *save = NULL;
	const char *mp = FS->opt.mountpoint;
	size_t len = 0, k;

	if (target[0] == '/') {
		k = mp ? strlen(mp) : 0;
		if (k == 0 || strncmp(target, mp, k) != 0 || target[k] != '/')
			return -EINVAL;
		snprintf(path, sizeof(path), "%s", target + k + 1);
	} else {
		snprintf(path, sizeof(path), "%s/%s", dir, target);
	}
	out[0] = '\0';
	for (seg = strtok_r(path, "/", &save); seg; seg = strtok_r(NULL, "/",
	    &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (len == 0)
				return -EINVAL;		/* above the mount */
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
			continue;
		}
		k = strlen(seg);
		if (len + k + 2 > n)
			return -ENAMETOOLONG;
		if (len)
			out[len++] = '/';
		memcpy(out + len, seg, k + 1);
		len += k;
	}
	return 0;
}

int
app_links_symlink(struct nctx *c, const char *name, const char *target,
    enum node_id *row)
{
	enum pl_kind kind = link_kind(c);
	const char *app = app_of(c), *key = label_of(kind), *cur;
	struct mara_snap *s;
	struct kafka_meta *m;
	char want[512], got[4096], *next;
	int rc;

	snprintf(want, sizeof(want), "topics/%s", name);
	if (resolve_target(c->path, target, got, sizeof(got)) != 0 ||
	    strcmp(got, want) != 0) {
		buf_printf(c->msg, "a link here must point at the topic of its "
		    "name: ln -s ");
		to_root(c, 1, c->msg);
		buf_printf(c->msg, "topics/%s %s/%s; nothing was sent", name,
		    c->path, name);
		return -EINVAL;
	}
	if (!topic_name_ok(name)) {
		buf_printf(c->msg, "'%.60s' is not a Kafka topic name; nothing was "
		    "sent", name);
		return -EINVAL;
	}
	if (!c->may_block)
		return -E_WOULDBLOCK;
	if (FS->kafka) {
		if ((rc = kafka_meta(FS->kafka, 1, c->deadline, &m, c->msg)) != 0)
			return rc;
		rc = kafka_topic_shape(m, name, NULL, NULL);
		kafka_meta_put(FS->kafka, m);
		if (rc != 0) {
			buf_printf(c->msg, "there is no topic %s (create it first: "
			    "mkdir topics/%s); nothing was sent", name, name);
			return -ENOENT;
		}
	}
	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	cur = mara_app_label(s, app, key);
	if ((next = edit_list(cur, name, 1)) == NULL)
		return -ENOMEM;
	buf_printf(&c->op->audit, "label %s of %s: %s", key, app, next);
	rc = app_label_write(c, app, key, next);
	free(next);
	*row = kind == PL_CONSUMES ? N_APP_CONSUMES_LINK : N_APP_PRODUCES_LINK;
	return rc;
}

int
app_link_remove(struct nctx *c)
{
	enum pl_kind kind = link_kind(c);
	const char *app = app_of(c), *key = label_of(kind), *cur;
	struct plgraph *g;
	struct mara_snap *s;
	unsigned ev;
	char *next;
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((rc = graph(c, 0, &g)) != 0)
		return rc;
	ev = pipeline_edge_evidence(g->p, app, c->name, kind);
	if (!(ev & PL_DECLARED)) {
		buf_printf(c->msg, "%s %s %s is %s, not declared in the label %s: "
		    "only declared edges are removed here%s", app,
		    kind == PL_CONSUMES ? "consuming" : "producing", c->name,
		    ev & PL_CONFIGURED ? "configured in ZooKeeper" :
		    "observed from a consumer group", key, ev & PL_CONFIGURED ?
		    " (edit the znode under zk/)" : "");
		return -EPERM;
	}
	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	cur = mara_app_label(s, app, key);
	next = edit_list(cur, c->name, 0);
	buf_printf(&c->op->audit, "label %s of %s: %s", key, app, next ? next :
	    "(removed)");
	rc = app_label_write(c, app, key, next);
	free(next);
	return rc;
}

/* topics/<t>/consumers/<app>: named by the app's last segment, or, when
 * two of them share it, by the whole id with / written as _ (which no
 * Marathon id contains). */
struct namecount {
	const char	*last;
	int		 count;
};

static int
count_last(void *arg, const char *app, unsigned ev)
{
	struct namecount *nc = arg;

	(void)ev;
	if (strcmp(strrchr(app, '/') + 1, nc->last) == 0)
		nc->count++;
	return 0;
}

static void
link_name(const struct pipeline *p, const char *topic, enum pl_kind kind,
    const char *app, char *out, size_t n)
{
	struct namecount nc = { strrchr(app, '/') + 1, 0 };
	char *q;

	pipeline_topic_apps(p, topic, kind, count_last, &nc);
	if (nc.count <= 1) {
		snprintf(out, n, "%s", nc.last);
		return;
	}
	snprintf(out, n, "%s", app + 1);
	for (q = out; *q; q++)
		if (*q == '/')
			*q = '_';
}

static int
add_topic_link(void *arg, const char *app, unsigned ev)
{
	struct linkfill *lf = arg;
	char name[1024];

	(void)ev;
	link_name(lf->p, lf->topic, lf->kind, app, name, sizeof(name));
	if (lf->want) {
		if (strcmp(name, lf->want) != 0)
			return 0;
		lf->found = strdup(app);
		return 1;
	}
	return dirfill_add(lf->f, name, lf->row, app);
}

static const char *
topic_of(const struct nctx *c)
{
	return ctx_arg(c, N_TOPIC);
}

int
topic_links_list(struct nctx *c, struct dirfill *f)
{
	struct linkfill lf = { f, c->t->id == N_TOPIC_CONSUMERS ?
	    N_TOPIC_CONSUMER : N_TOPIC_PRODUCER, NULL, link_kind(c), topic_of(c),
	    NULL, NULL };
	struct plgraph *g;
	int rc;

	if ((rc = graph(c, 0, &g)) != 0)
		return rc;
	lf.p = g->p;
	return pipeline_topic_apps(g->p, lf.topic, lf.kind, add_topic_link, &lf);
}

int
topic_links_match(struct nctx *c, const char *name, enum node_id *row,
    char **arg)
{
	struct linkfill lf = { NULL, 0, NULL, link_kind(c), topic_of(c), name,
	    NULL };
	struct plgraph *g;
	int rc;

	if ((rc = graph(c, 0, &g)) != 0)
		return rc;
	lf.p = g->p;
	pipeline_topic_apps(g->p, lf.topic, lf.kind, add_topic_link, &lf);
	if (lf.found == NULL)
		return -ENOENT;
	*row = c->t->id == N_TOPIC_CONSUMERS ? N_TOPIC_CONSUMER : N_TOPIC_PRODUCER;
	*arg = lf.found;
	return 0;
}

int
topic_link_read(struct nctx *c, struct buf *out)
{
	const char *app = ctx_arg(c, c->t->id);

	to_root(c, 0, out);
	return buf_printf(out, "apps%s", app ? app : "/");
}

/* ---- pipeline/ ---------------------------------------------------------- */

/* A file of the graph, with what could not be read said at its end. */
static int
render_to(struct nctx *c, int with_lag, struct buf *out,
    int (*fn)(const struct pipeline *, struct buf *), const char *comment)
{
	struct plgraph *g;
	const char *p, *nl;
	int rc;

	if ((rc = graph(c, with_lag, &g)) != 0)
		return rc;
	if ((rc = fn(g->p, out)) != 0)
		return rc;
	/* Honest about gaps: each unread source as a comment line. */
	for (p = buf_str(&g->warn); comment && *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		buf_printf(out, "%s %.*s\n", comment, (int)(nl - p), p);
	}
	return out->err;
}

int
pl_edges_read(struct nctx *c, struct buf *out)
{
	return render_to(c, 1, out, pipeline_edges, "#");
}

int
pl_dot_read(struct nctx *c, struct buf *out)
{
	return render_to(c, 1, out, pipeline_dot, "//");
}

int
pl_cycles_read(struct nctx *c, struct buf *out)
{
	return render_to(c, 0, out, pipeline_cycles, NULL);
}

int
pl_orphans_read(struct nctx *c, struct buf *out)
{
	return render_to(c, 0, out, pipeline_orphans, NULL);
}

int
pl_svg_read(struct nctx *c, struct buf *out)
{
	struct plgraph *g;
	int rc;

	if ((rc = graph(c, 1, &g)) != 0)
		return rc;
	return pipeline_svg(g->p, out, c->msg);
}

static int
is_up(const struct nctx *c)
{
	return c->t->id == N_PL_UPSTREAM || c->t->id == N_PL_UP_GROUP ||
	    c->t->id == N_PL_UP_APP;
}

static const char *
pl_group(const struct nctx *c)
{
	const char *g = ctx_arg(c, is_up(c) ? N_PL_UP_GROUP : N_PL_DOWN_GROUP);

	return g ? g : "/";
}

struct plfill {
	struct dirfill	*f;
	const char	*gid;
	int		 up;
};

static int
pl_member(void *arg, const char *name, int member)
{
	struct plfill *pf = arg;
	char id[4096];

	snprintf(id, sizeof(id), "%s/%s", strcmp(pf->gid, "/") ? pf->gid : "",
	    name);
	if (member == MARA_M_GROUP)
		return dirfill_add(pf->f, name, pf->up ? N_PL_UP_GROUP :
		    N_PL_DOWN_GROUP, id);
	return dirfill_add(pf->f, name, pf->up ? N_PL_UP_APP : N_PL_DOWN_APP, id);
}

int
pl_tree_list(struct nctx *c, struct dirfill *f)
{
	struct plfill pf = { f, pl_group(c), is_up(c) };
	struct mara_snap *s;
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	return mara_list_group(s, pf.gid, pl_member, &pf);
}

int
pl_tree_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	const char *gid = pl_group(c);
	struct mara_snap *s;
	char id[4096];
	int rc;

	if ((rc = apps_snap(c, &s)) != 0)
		return rc;
	snprintf(id, sizeof(id), "%s/%s", strcmp(gid, "/") ? gid : "", name);
	switch (mara_kind(s, id)) {
	case MARA_GROUP:
		*row = is_up(c) ? N_PL_UP_GROUP : N_PL_DOWN_GROUP;
		break;
	case MARA_APP:
		*row = is_up(c) ? N_PL_UP_APP : N_PL_DOWN_APP;
		break;
	default:
		return -ENOENT;
	}
	return (*arg = strdup(id)) ? 0 : -ENOMEM;
}

int
pl_reach_read(struct nctx *c, struct buf *out)
{
	const char *app = ctx_arg(c, c->t->id);
	struct plgraph *g;
	int rc;

	if ((rc = graph(c, 0, &g)) != 0)
		return rc;
	return pipeline_reach(g->p, app, !is_up(c), out);
}
