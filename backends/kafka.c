/*
 * kafka.c: Kafka through librdkafka (see kafka.h).
 *
 * One producer-type handle serves metadata, watermarks and the Admin API
 * (librdkafka handles are thread-safe); each admin call waits on a queue
 * of its own with the caller's deadline as both the request and the
 * operation timeout.  Following a topic uses a consumer handle of its own,
 * without a group, assigned at each partition's high watermark as read
 * when the follow starts, so nothing produced after that is missed.
 *
 * librdkafka 2.0.2 (Debian 12) has no IncrementalAlterConfigs: AlterConfigs
 * replaces a topic's whole set of overrides, so changing one config sends
 * every other override along with it (kafka_set_config).
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "snapcache.h"

#define MAX_PARTITIONS	100000
#define FOLLOW_BATCH	10000	/* messages delivered per poll at most */

struct kafka_meta {
	const struct rd_kafka_metadata *md;
	struct snapref	*ref;
};

struct kgroup {
	char		*name;
	char		*state;
	struct kmember	*members;
	size_t		 nmembers;
};

struct kmember {
	char		*client_id;
	char		*host;
	char		*member_id;
	char		**topics;
	int32_t		*partitions;
	size_t		 nassigned;
};

struct kafka_groups {
	struct kgroup	*g;
	size_t		 n;
	struct snapref	*ref;
};

struct cfgent {
	char		*name;
	char		*value;
	int		 read_only, is_default, sensitive, override;
};

struct cfgset {			/* a topic's configs */
	struct cfgent	*e;
	size_t		 n;
};

struct offent {
	char		*topic;
	int32_t		 partition;
	int64_t		 offset;
};

struct offset_list {		/* a group's committed offsets */
	struct offent	*e;
	size_t		 n;
};

/* Answers asked per key (a topic's configs, a group's offsets): fresh for
 * the TTL, and served at any age while the cluster is down. */
struct kentry {
	char		*key;
	void		*data;
	int64_t		 at;		/* when fetched; 1: expired */
	struct kentry	*next;
};

struct kafka;
struct kcache {
	struct kentry	*head;		/* guarded by the kafka's lock */
	void		(*free)(void *data);
	int		(*fetch)(struct kafka *k, const char *key,
			    int64_t deadline, void **out, struct buf *msg);
};

struct kafka {
	struct kafka_opts opts;
	char		*brokers;
	char		**props;
	rd_kafka_t	*rk;
	struct snapcache *meta;
	struct snapcache *groups;
	kafka_change_fn	 fn;
	void		*arg;
	volatile int	 stopping;

	pthread_mutex_t	 lock;
	struct kcache	 cfgs;		/* per topic */
	struct kcache	 offs;		/* per group */
	uint64_t	 requests;	/* guarded by lock */
	uint64_t	 failures;	/* guarded by lock */
	char		 last_error[256];	/* guarded by lock */
};

/* ---- errors ------------------------------------------------------------ */

int
kafka_errno(int err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return 0;
	case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
		return EEXIST;
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
	case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
	case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
	case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return EINVAL;
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
		return ENOENT;
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
	case RD_KAFKA_RESP_ERR__AUTHENTICATION:
		return EACCES;
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
		return ETIMEDOUT;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		return EFBIG;
	default:
		return EIO;
	}
}

static void
note(struct kafka *k, int err, const char *what, const char *detail)
{
	pthread_mutex_lock(&k->lock);
	k->requests++;
	if (err) {
		k->failures++;
		snprintf(k->last_error, sizeof(k->last_error), "%s: %s", what,
		    detail ? detail : rd_kafka_err2str(err));
	}
	pthread_mutex_unlock(&k->lock);
}

static int
remaining(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 1 ? 1 : left > 3600000 ? 3600000 : (int)left;
}

int
kafka_check_topic(const char *name, struct buf *msg)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		buf_printf(msg, "'%.60s' is not a Kafka topic name: 1 to 249 "
		    "characters, not . or ..", name);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
			buf_printf(msg, "'%.60s' is not a Kafka topic name: use letters, "
			    "digits, '.', '_' and '-'", name);
			return -EINVAL;
		}
	}
	return 0;
}

int
kafka_secret_property(const char *name)
{
	return strstr(name, "password") || strstr(name, "secret") ||
	    strstr(name, "sasl.jaas") || strstr(name, ".key") ||
	    strstr(name, "token");
}

/* ---- handles ----------------------------------------------------------- */

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct kafka *k = rd_kafka_opaque(rk);

	(void)fac;
	/* librdkafka reports broker trouble here, often: keep the last. */
	if (k && level <= 4) {
		pthread_mutex_lock(&k->lock);
		snprintf(k->last_error, sizeof(k->last_error), "%s", buf);
		pthread_mutex_unlock(&k->lock);
	}
}

static rd_kafka_conf_t *
base_conf(struct kafka *k, struct buf *msg)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	size_t i;

	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", k->brokers, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "archonfs", errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK)
		goto bad;
	for (i = 0; i < k->opts.nprops; i++) {
		char *eq = strchr(k->props[i], '=');

		if (eq == NULL) {
			snprintf(errstr, sizeof(errstr), "'%s' is not name=value",
			    k->props[i]);
			goto bad;
		}
		*eq = '\0';
		if (rd_kafka_conf_set(conf, k->props[i], eq + 1, errstr,
		    sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			*eq = '=';
			goto bad;
		}
		*eq = '=';
	}
	return conf;
bad:
	buf_printf(msg, "kafka: %s", errstr);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* ---- metadata snapshot ----------------------------------------------- */

static void
meta_free(void *p)
{
	struct kafka_meta *m = p;

	if (m) {
		rd_kafka_metadata_destroy(m->md);
		free(m);
	}
}

static int
fetch_meta(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct kafka *k = arg;
	const struct rd_kafka_metadata *md = NULL;
	struct kafka_meta *m;
	rd_kafka_resp_err_t err;

	err = rd_kafka_metadata(k->rk, 1, NULL, &md, remaining(deadline));
	note(k, err, "metadata", NULL);
	if (err) {
		buf_printf(msg, "kafka: metadata: %s", rd_kafka_err2str(err));
		return -kafka_errno(err);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		rd_kafka_metadata_destroy(md);
		return -ENOMEM;
	}
	m->md = md;
	*out = m;
	return 0;
}

static uint64_t
topic_hash(const rd_kafka_metadata_topic_t *t)
{
	uint64_t h = fnv1a(FNV_INIT, t->topic, strlen(t->topic));
	int i;

	h = fnv1a(h, &t->partition_cnt, sizeof(t->partition_cnt));
	for (i = 0; i < t->partition_cnt; i++) {
		h = fnv1a(h, &t->partitions[i].leader, sizeof(t->partitions[i].leader));
		h = fnv1a(h, &t->partitions[i].isr_cnt, sizeof(t->partitions[i].isr_cnt));
	}
	return h;
}

static const rd_kafka_metadata_topic_t *
find_topic(const struct rd_kafka_metadata *md, const char *name)
{
	int i;

	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0)
			return &md->topics[i];
	return NULL;
}

/* Report topics that appeared, vanished or changed shape. */
static void
meta_changed(void *arg, void *old_, void *new_)
{
	struct kafka *k = arg;
	struct kafka_meta *o = old_, *n = new_;
	const rd_kafka_metadata_topic_t *t;
	int i, listing = 0;

	if (k->fn == NULL || o == NULL)
		return;
	for (i = 0; i < n->md->topic_cnt; i++) {
		t = find_topic(o->md, n->md->topics[i].topic);
		if (t == NULL)
			listing = 1;
		else if (topic_hash(t) != topic_hash(&n->md->topics[i]))
			k->fn(k->arg, n->md->topics[i].topic);
	}
	for (i = 0; i < o->md->topic_cnt; i++)
		if (find_topic(n->md, o->md->topics[i].topic) == NULL) {
			listing = 1;
			k->fn(k->arg, o->md->topics[i].topic);
		}
	if (listing)
		k->fn(k->arg, NULL);
}

static const struct snapcache_ops meta_ops = {
	.name = "kafka metadata", .fetch = fetch_meta, .free = meta_free,
	.changed = meta_changed,
};

int
kafka_meta(struct kafka *k, int may_block, int64_t deadline,
    struct kafka_meta **out, struct buf *msg)
{
	struct snapref *r;
	int rc;

	if ((rc = snapcache_get(k->meta, may_block, deadline, &r, msg)) != 0)
		return rc;
	*out = r->data;
	(*out)->ref = r;
	return 0;
}

uint64_t
kafka_meta_gen(const struct kafka_meta *m)
{
	return m->ref ? m->ref->gen : 0;
}

uint64_t
kafka_groups_gen(const struct kafka_groups *g)
{
	return g->ref ? g->ref->gen : 0;
}

void
kafka_meta_put(struct kafka *k, struct kafka_meta *m)
{
	if (m)
		snapcache_put(k->meta, m->ref);
}

static void kc_expire(struct kafka *k, struct kcache *kc);

void
kafka_invalidate(struct kafka *k)
{
	snapcache_invalidate(k->meta, SC_HARD);
	snapcache_invalidate(k->groups, SC_HARD);
	kc_expire(k, &k->cfgs);
	kc_expire(k, &k->offs);
}

static int
usable_name(const char *s)
{
	return s && *s && strlen(s) <= 249 && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int
kafka_list_topics(const struct kafka_meta *m, int (*fn)(void *, const char *),
    void *arg)
{
	int i, rc;

	for (i = 0; i < m->md->topic_cnt; i++) {
		if (!usable_name(m->md->topics[i].topic) || m->md->topics[i].err ==
		    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			continue;
		if ((rc = fn(arg, m->md->topics[i].topic)) != 0)
			return rc;
	}
	return 0;
}

int
kafka_topic_shape(const struct kafka_meta *m, const char *topic, int *parts,
    int *rf)
{
	const rd_kafka_metadata_topic_t *t = find_topic(m->md, topic);

	if (t == NULL || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
		return -ENOENT;
	if (parts)
		*parts = t->partition_cnt;
	if (rf)
		*rf = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
	return 0;
}

int
kafka_list_partitions(const struct kafka_meta *m, const char *topic,
    int (*fn)(void *, const struct kafka_partition *), void *arg)
{
	const rd_kafka_metadata_topic_t *t = find_topic(m->md, topic);
	struct kafka_partition p;
	int i, rc;

	if (t == NULL)
		return -ENOENT;
	for (i = 0; i < t->partition_cnt; i++) {
		p.id = t->partitions[i].id;
		p.leader = t->partitions[i].leader;
		p.replicas = t->partitions[i].replicas;
		p.nreplicas = t->partitions[i].replica_cnt;
		p.isrs = t->partitions[i].isrs;
		p.nisrs = t->partitions[i].isr_cnt;
		p.err = t->partitions[i].err;
		if ((rc = fn(arg, &p)) != 0)
			return rc;
	}
	return 0;
}

int
kafka_broker_count(const struct kafka_meta *m)
{
	return m->md->broker_cnt;
}

/* ---- admin calls ---------------------------------------------------------- */

static rd_kafka_AdminOptions_t *
admin_options_v(struct kafka *k, rd_kafka_admin_op_t op, int validate_only,
    int64_t deadline)
{
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(k->rk, op);
	char errstr[256];

	if (validate_only)
		rd_kafka_AdminOptions_set_validate_only(ao, 1, errstr,
		    sizeof(errstr));
	rd_kafka_AdminOptions_set_request_timeout(ao, remaining(deadline), errstr,
	    sizeof(errstr));
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS ||
	    op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
	    op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
		rd_kafka_AdminOptions_set_operation_timeout(ao, remaining(deadline),
		    errstr, sizeof(errstr));
	return ao;
}

static rd_kafka_AdminOptions_t *
admin_options(struct kafka *k, rd_kafka_admin_op_t op, int64_t deadline)
{
	return admin_options_v(k, op, 0, deadline);
}

/* Wait for an admin result on q; NULL with *rc and words on failure. */
static rd_kafka_event_t *
admin_wait(struct kafka *k, rd_kafka_queue_t *q, int64_t deadline,
    const char *what, int *rc, struct buf *msg)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, remaining(deadline));
	rd_kafka_resp_err_t err;

	if (ev == NULL) {
		note(k, RD_KAFKA_RESP_ERR__TIMED_OUT, what, "no answer within the "
		    "deadline");
		buf_printf(msg, "kafka: %s: no answer within the deadline", what);
		*rc = -ETIMEDOUT;
		return NULL;
	}
	if ((err = rd_kafka_event_error(ev)) != 0) {
		note(k, err, what, rd_kafka_event_error_string(ev));
		buf_printf(msg, "kafka: %s: %s", what, rd_kafka_event_error_string(ev));
		*rc = -kafka_errno(err);
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	note(k, 0, what, NULL);
	*rc = 0;
	return ev;
}

/* The per-topic result of a topic admin call. */
static int
topic_result(const rd_kafka_topic_result_t **res, size_t n, const char *what,
    struct buf *msg)
{
	int err;

	if (n < 1)
		return -EIO;
	err = rd_kafka_topic_result_error(res[0]);
	if (err == 0)
		return 0;
	buf_printf(msg, "kafka: %s %s: %s", what, rd_kafka_topic_result_name(res[0]),
	    rd_kafka_topic_result_error_string(res[0]) ?
	    rd_kafka_topic_result_error_string(res[0]) : rd_kafka_err2str(err));
	return -kafka_errno(err);
}

/* ---- configs --------------------------------------------------------------- */

static void
cfg_free(void *p)
{
	struct cfgset *c = p;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->e[i].name);
		free(c->e[i].value);
	}
	free(c->e);
	free(c);
}

static int
describe(struct kafka *k, const char *topic, int64_t deadline,
    struct cfgset **out, struct buf *msg)
{
	rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(
	    RD_KAFKA_RESOURCE_TOPIC, topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	rd_kafka_AdminOptions_t *ao = admin_options(k,
	    RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, deadline);
	const rd_kafka_ConfigResource_t **rr;
	const rd_kafka_ConfigEntry_t **ce;
	struct cfgset *c = NULL;
	rd_kafka_event_t *ev;
	size_t nr, nc, i;
	int rc, err;

	rd_kafka_DescribeConfigs(k->rk, &res, 1, ao, q);
	if ((ev = admin_wait(k, q, deadline, "describe configs", &rc, msg)) == NULL)
		goto out;
	rr = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(ev), &nr);
	if (nr < 1) {
		rc = -EIO;
		goto done;
	}
	if ((err = rd_kafka_ConfigResource_error(rr[0])) != 0) {
		buf_printf(msg, "kafka: describe configs of %s: %s", topic,
		    rd_kafka_ConfigResource_error_string(rr[0]));
		rc = -kafka_errno(err);
		goto done;
	}
	ce = rd_kafka_ConfigResource_configs(rr[0], &nc);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->e = calloc(nc + 1, sizeof(*c->e))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (i = 0; i < nc; i++) {
		const char *name = rd_kafka_ConfigEntry_name(ce[i]);
		const char *value = rd_kafka_ConfigEntry_value(ce[i]);
		int src = rd_kafka_ConfigEntry_source(ce[i]);
		struct cfgent *e;

		if (name == NULL || !usable_name(name))
			continue;
		e = &c->e[c->n++];
		e->name = strdup(name);
		e->sensitive = rd_kafka_ConfigEntry_is_sensitive(ce[i]);
		e->value = value && !e->sensitive ? strdup(value) : NULL;
		e->read_only = rd_kafka_ConfigEntry_is_read_only(ce[i]);
		e->is_default = rd_kafka_ConfigEntry_is_default(ce[i]);
		/* An override is what AlterConfigs set on this topic. */
		e->override = !e->is_default &&
		    (src == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG ||
		    src == RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG);
	}
	*out = c;
	c = NULL;
	rc = 0;
done:
	rd_kafka_event_destroy(ev);
out:
	cfg_free(c);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy(res);
	return rc;
}

/*
 * Is the cluster down?  The metadata snapshot's last refresh failed.  Asking
 * for the snapshot without waiting starts a refresh in the background when
 * it is due, so a cluster that came back is noticed even if only configs
 * are being read.
 */
int
kafka_down(struct kafka *k)
{
	struct snapcache_info mi;
	struct kafka_meta *m = NULL;
	struct buf msg = BUF_INIT(256);

	if (kafka_meta(k, 0, now_ms(), &m, &msg) == 0)
		kafka_meta_put(k, m);
	buf_free(&msg);
	snapcache_info(k->meta, &mi);
	return mi.stale;
}

/* Writes are refused while the brokers are down, never queued. */
static int
refused_down(struct kafka *k, struct buf *msg)
{
	return snapcache_down(k->meta, "kafka", msg);
}

int
kafka_write_refused(struct kafka *k, struct buf *msg)
{
	return refused_down(k, msg);
}

/* ---- the keyed cache ----------------------------------------------------- */

static void
kc_expire(struct kafka *k, struct kcache *kc)
{
	struct kentry *e;

	pthread_mutex_lock(&k->lock);
	for (e = kc->head; e; e = e->next)
		e->at = 1;	/* expired, still servable while down */
	pthread_mutex_unlock(&k->lock);
}

static void
kc_unlink_locked(struct kcache *kc, const char *key)
{
	struct kentry **ep, *e;

	for (ep = &kc->head; (e = *ep) != NULL; ep = &e->next) {
		if (strcmp(e->key, key) == 0) {
			*ep = e->next;
			kc->free(e->data);
			free(e->key);
			free(e);
			return;
		}
	}
}

static void
kc_drop(struct kafka *k, struct kcache *kc, const char *key)
{
	pthread_mutex_lock(&k->lock);
	kc_unlink_locked(kc, key);
	pthread_mutex_unlock(&k->lock);
}

static void
kc_clear(struct kcache *kc)
{
	while (kc->head)
		kc_unlink_locked(kc, kc->head->key);
}

/* serve(data, ctx) for key's entry no older than max_age_ms (-1: any
 * age), under the lock; *found says whether there was one. */
static int
kc_serve(struct kafka *k, struct kcache *kc, const char *key,
    int64_t max_age_ms, int (*serve)(const void *, void *), void *ctx,
    int *found)
{
	struct kentry *e;
	int rc = 0;

	pthread_mutex_lock(&k->lock);
	for (e = kc->head; e; e = e->next)
		if (strcmp(e->key, key) == 0 &&
		    (max_age_ms < 0 || now_ms() - e->at < max_age_ms))
			break;
	if (e)
		rc = serve(e->data, ctx);
	*found = e != NULL;
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static int
kc_get(struct kafka *k, struct kcache *kc, const char *key, int may_block,
    int64_t deadline, int (*serve)(const void *, void *), void *ctx,
    struct buf *msg)
{
	struct kentry *e;
	void *data = NULL;
	int rc, stale_rc, found;

	rc = kc_serve(k, kc, key, k->opts.ttl_ms, serve, ctx, &found);
	if (found)
		return rc;
	if (kafka_down(k)) {
		/* What was known is served at once, not after a deadline. */
		rc = kc_serve(k, kc, key, -1, serve, ctx, &found);
		if (found)
			return rc;
	}
	if (!may_block)
		return -E_WOULDBLOCK;
	if ((rc = kc->fetch(k, key, deadline, &data, msg)) != 0) {
		/* Unreachable: what was known is served, as snapshots are
		 * (.archonfs/status says the backend is down). */
		if (rc == -ETIMEDOUT || rc == -EIO) {
			stale_rc = kc_serve(k, kc, key, -1, serve, ctx, &found);
			if (found)
				return stale_rc;
		}
		return rc;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		kc->free(data);
		return -ENOMEM;
	}
	e->data = data;
	e->at = now_ms();
	pthread_mutex_lock(&k->lock);
	kc_unlink_locked(kc, key);
	e->next = kc->head;
	kc->head = e;
	pthread_mutex_unlock(&k->lock);
	return kc_serve(k, kc, key, -1, serve, ctx, &found);
}

/* ---- configs, served ---------------------------------------------------- */

static int
fetch_configs(struct kafka *k, const char *topic, int64_t deadline,
    void **out, struct buf *msg)
{
	struct cfgset *c = NULL;
	int rc = describe(k, topic, deadline, &c, msg);

	*out = c;
	return rc;
}

struct cfgserve {
	int	(*fn)(void *, const struct kafka_config *);
	void	*arg;
};

static int
serve_configs(const void *data, void *ctx)
{
	const struct cfgset *c = data;
	struct cfgserve *cs = ctx;
	struct kafka_config kc;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->n && rc == 0; i++) {
		kc.name = c->e[i].name;
		kc.value = c->e[i].value;
		kc.read_only = c->e[i].read_only;
		kc.is_default = c->e[i].is_default;
		kc.sensitive = c->e[i].sensitive;
		kc.override = c->e[i].override;
		rc = cs->fn(cs->arg, &kc);
	}
	return rc;
}

int
kafka_configs(struct kafka *k, const char *topic, int may_block,
    int64_t deadline, int (*fn)(void *, const struct kafka_config *), void *arg,
    struct buf *msg)
{
	struct cfgserve cs = { fn, arg };

	return kc_get(k, &k->cfgs, topic, may_block, deadline, serve_configs, &cs,
	    msg);
}

/* ---- offsets ------------------------------------------------------------ */

/* One ListOffsets round: what = RD_KAFKA_OFFSET_BEGINNING (-2) or
 * RD_KAFKA_OFFSET_END (-1), which ListOffsets takes as timestamps.
 * rd_kafka_offsets_for_times, not rd_kafka_query_watermark_offsets: the
 * latter ignores its timeout while a leader is down (librdkafka #2588,
 * fixed only in 2.3.0), and asks one partition at a time. */
static int
list_offsets(struct kafka *k, struct kafka_tp *tp, size_t n, int64_t what,
    int64_t deadline, struct buf *msg)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_topic_partition_t *e;
	rd_kafka_resp_err_t err;
	size_t i;
	int rc = 0;

	if ((l = rd_kafka_topic_partition_list_new((int)n)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, tp[i].topic,
		    tp[i].partition)->offset = what;
	err = rd_kafka_offsets_for_times(k->rk, l, remaining(deadline));
	note(k, err, "watermarks", NULL);
	if (err) {
		buf_printf(msg, "kafka: watermarks: %s", rd_kafka_err2str(err));
		rc = -kafka_errno(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		e = rd_kafka_topic_partition_list_find(l, tp[i].topic,
		    tp[i].partition);
		if (e == NULL || e->err) {
			buf_printf(msg, "kafka: watermarks of %s/%d: %s", tp[i].topic,
			    (int)tp[i].partition, e ? rd_kafka_err2str(e->err) :
			    "no answer");
			rc = e ? -kafka_errno(e->err) : -EIO;
			goto out;
		}
		if (what == RD_KAFKA_OFFSET_BEGINNING)
			tp[i].low = e->offset;
		else
			tp[i].high = e->offset;
	}
out:
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

int
kafka_watermarks(struct kafka *k, struct kafka_tp *tp, size_t n,
    int64_t deadline, struct buf *msg)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = list_offsets(k, tp, n, RD_KAFKA_OFFSET_BEGINNING, deadline,
	    msg)) != 0)
		return rc;
	return list_offsets(k, tp, n, RD_KAFKA_OFFSET_END, deadline, msg);
}

/* ---- groups snapshot ----------------------------------------------------- */

static void
groups_free(void *p)
{
	struct kafka_groups *g = p;
	size_t i, j, a;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		for (j = 0; j < g->g[i].nmembers; j++) {
			struct kmember *m = &g->g[i].members[j];

			for (a = 0; a < m->nassigned; a++)
				free(m->topics[a]);
			free(m->topics);
			free(m->partitions);
			free(m->client_id);
			free(m->host);
			free(m->member_id);
		}
		free(g->g[i].members);
		free(g->g[i].name);
		free(g->g[i].state);
	}
	free(g->g);
	free(g);
}

static char *
dupz(const char *s)
{
	return strdup(s ? s : "");
}

static int
fetch_groups(void *arg, int64_t deadline, void **out, struct buf *msg)
{
	struct kafka *k = arg;
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	rd_kafka_AdminOptions_t *ao;
	const rd_kafka_ConsumerGroupListing_t **ls;
	const rd_kafka_ConsumerGroupDescription_t **ds;
	struct kafka_groups *g = NULL;
	rd_kafka_event_t *ev = NULL, *ev2 = NULL;
	const char **names = NULL;
	size_t nl, nd, i, j, a;
	int rc;

	ao = admin_options(k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, deadline);
	rd_kafka_ListConsumerGroups(k->rk, ao, q);
	rd_kafka_AdminOptions_destroy(ao);
	if ((ev = admin_wait(k, q, deadline, "list groups", &rc, msg)) == NULL)
		goto out;
	ls = rd_kafka_ListConsumerGroups_result_valid(
	    rd_kafka_event_ListConsumerGroups_result(ev), &nl);
	{
		/* Brokers that could not be asked are errors beside the
		 * (then empty) list: no answer at all is a failure, not "no
		 * groups". */
		const rd_kafka_error_t **errs;
		size_t ne;

		errs = rd_kafka_ListConsumerGroups_result_errors(
		    rd_kafka_event_ListConsumerGroups_result(ev), &ne);
		if (nl == 0 && ne > 0) {
			rc = -kafka_errno(rd_kafka_error_code(errs[0]));
			buf_reset(msg);
			buf_printf(msg, "kafka: list groups: %s",
			    rd_kafka_error_string(errs[0]));
			goto out;
		}
	}
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->g = calloc(nl + 1, sizeof(*g->g))) == NULL ||
	    (names = calloc(nl + 1, sizeof(*names))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nl; i++) {
		const char *name = rd_kafka_ConsumerGroupListing_group_id(ls[i]);

		/* Any group id but "" is kept: fs/ escapes the ones that are
		 * not file names ("a/b", "..").  Topic names are checked by
		 * usable_name(), which Kafka's own rule makes a no-op. */
		if (name == NULL || *name == '\0')
			continue;
		names[g->n] = name;
		g->g[g->n].name = strdup(name);
		g->g[g->n].state = strdup(rd_kafka_consumer_group_state_name(
		    rd_kafka_ConsumerGroupListing_state(ls[i])));
		g->n++;
	}
	if (g->n) {
		/* All groups described in one batched request. */
		ao = admin_options(k, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, deadline);
		rd_kafka_DescribeConsumerGroups(k->rk, names, g->n, ao, q);
		rd_kafka_AdminOptions_destroy(ao);
		if ((ev2 = admin_wait(k, q, deadline, "describe groups", &rc, msg)) == NULL)
			goto out;
		ds = rd_kafka_DescribeConsumerGroups_result_groups(
		    rd_kafka_event_DescribeConsumerGroups_result(ev2), &nd);
		for (i = 0; i < nd; i++) {
			const char *name = rd_kafka_ConsumerGroupDescription_group_id(ds[i]);
			struct kgroup *kg = NULL;
			size_t nm;

			for (j = 0; j < g->n; j++)
				if (name && strcmp(g->g[j].name, name) == 0)
					kg = &g->g[j];
			if (kg == NULL || rd_kafka_ConsumerGroupDescription_error(ds[i]))
				continue;
			free(kg->state);
			kg->state = strdup(rd_kafka_consumer_group_state_name(
			    rd_kafka_ConsumerGroupDescription_state(ds[i])));
			nm = rd_kafka_ConsumerGroupDescription_member_count(ds[i]);
			kg->members = calloc(nm + 1, sizeof(*kg->members));
			for (j = 0; kg->members && j < nm; j++) {
				const rd_kafka_MemberDescription_t *md =
				    rd_kafka_ConsumerGroupDescription_member(ds[i], j);
				const rd_kafka_topic_partition_list_t *tp =
				    rd_kafka_MemberAssignment_partitions(
				    rd_kafka_MemberDescription_assignment(md));
				struct kmember *m = &kg->members[kg->nmembers++];

				m->client_id = dupz(rd_kafka_MemberDescription_client_id(md));
				m->host = dupz(rd_kafka_MemberDescription_host(md));
				m->member_id = dupz(rd_kafka_MemberDescription_consumer_id(md));
				if (tp && tp->cnt > 0) {
					m->topics = calloc((size_t)tp->cnt, sizeof(char *));
					m->partitions = calloc((size_t)tp->cnt, sizeof(int32_t));
					for (a = 0; m->topics && m->partitions &&
					    a < (size_t)tp->cnt; a++) {
						m->topics[a] = dupz(tp->elems[a].topic);
						m->partitions[a] = tp->elems[a].partition;
						m->nassigned++;
					}
				}
			}
		}
	}
	*out = g;
	g = NULL;
	rc = 0;
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (ev2)
		rd_kafka_event_destroy(ev2);
	groups_free(g);
	free(names);
	rd_kafka_queue_destroy(q);
	return rc;
}

static const struct snapcache_ops groups_ops = {
	.name = "kafka groups", .fetch = fetch_groups, .free = groups_free,
};

int
kafka_groups(struct kafka *k, int may_block, int64_t deadline,
    struct kafka_groups **out, struct buf *msg)
{
	struct snapref *r;
	int rc;

	if ((rc = snapcache_get(k->groups, may_block, deadline, &r, msg)) != 0)
		return rc;
	*out = r->data;
	(*out)->ref = r;
	return 0;
}

void
kafka_groups_put(struct kafka *k, struct kafka_groups *g)
{
	if (g)
		snapcache_put(k->groups, g->ref);
}

int
kafka_list_groups(const struct kafka_groups *g, int (*fn)(void *, const char *),
    void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < g->n; i++)
		if ((rc = fn(arg, g->g[i].name)) != 0)
			return rc;
	return 0;
}

static const struct kgroup *
find_group(const struct kafka_groups *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (strcmp(g->g[i].name, name) == 0)
			return &g->g[i];
	return NULL;
}

const char *
kafka_group_state(const struct kafka_groups *g, const char *group)
{
	const struct kgroup *kg = find_group(g, group);

	return kg ? kg->state : NULL;
}

int
kafka_group_members(const struct kafka_groups *g, const char *group,
    int (*fn)(void *, const struct kafka_member *), void *arg)
{
	const struct kgroup *kg = find_group(g, group);
	struct kafka_member mb;
	size_t i;
	int rc;

	if (kg == NULL)
		return -ENOENT;
	for (i = 0; i < kg->nmembers; i++) {
		mb.client_id = kg->members[i].client_id;
		mb.host = kg->members[i].host;
		mb.member_id = kg->members[i].member_id;
		mb.nassigned = kg->members[i].nassigned;
		mb.topics = (const char *const *)kg->members[i].topics;
		mb.partitions = kg->members[i].partitions;
		if ((rc = fn(arg, &mb)) != 0)
			return rc;
	}
	return 0;
}

static void
off_free(void *p)
{
	struct offset_list *o = p;
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++)
		free(o->e[i].topic);
	free(o->e);
	free(o);
}

static int
fetch_offsets(struct kafka *k, const char *group, int64_t deadline,
    void **out, struct buf *msg)
{
	rd_kafka_ListConsumerGroupOffsets_t *req =
	    rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	rd_kafka_AdminOptions_t *ao = admin_options(k,
	    RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, deadline);
	const rd_kafka_group_result_t **gr;
	const rd_kafka_topic_partition_list_t *tp;
	struct offset_list *o = NULL;
	rd_kafka_event_t *ev;
	size_t n;
	int rc, i;

	rd_kafka_ListConsumerGroupOffsets(k->rk, &req, 1, ao, q);
	if ((ev = admin_wait(k, q, deadline, "group offsets", &rc, msg)) == NULL)
		goto out;
	gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
	    rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	if (n < 1 || rd_kafka_group_result_error(gr[0])) {
		buf_printf(msg, "kafka: offsets of group %s: %s", group, n < 1 ?
		    "no result" : rd_kafka_error_string(rd_kafka_group_result_error(gr[0])));
		rc = n < 1 ? -EIO :
		    -kafka_errno(rd_kafka_error_code(rd_kafka_group_result_error(gr[0])));
		goto done;
	}
	tp = rd_kafka_group_result_partitions(gr[0]);
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->e = calloc(tp ? (size_t)tp->cnt + 1 : 1, sizeof(*o->e))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (i = 0; tp && i < tp->cnt; i++) {
		if (tp->elems[i].offset < 0 || tp->elems[i].err)
			continue;	/* nothing committed there */
		o->e[o->n].topic = dupz(tp->elems[i].topic);
		o->e[o->n].partition = tp->elems[i].partition;
		o->e[o->n].offset = tp->elems[i].offset;
		o->n++;
	}
	*out = o;
	o = NULL;
	rc = 0;
done:
	rd_kafka_event_destroy(ev);
out:
	off_free(o);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_ListConsumerGroupOffsets_destroy(req);
	return rc;
}

struct offserve {
	int	(*fn)(void *, const char *, int32_t, int64_t);
	void	*arg;
};

static int
serve_offsets(const void *data, void *ctx)
{
	const struct offset_list *o = data;
	struct offserve *os = ctx;
	size_t i;
	int rc = 0;

	for (i = 0; i < o->n && rc == 0; i++)
		rc = os->fn(os->arg, o->e[i].topic, o->e[i].partition, o->e[i].offset);
	return rc;
}

int
kafka_group_offsets(struct kafka *k, const char *group, int may_block,
    int64_t deadline, int (*fn)(void *, const char *, int32_t, int64_t),
    void *arg, struct buf *msg)
{
	struct offserve os = { fn, arg };

	return kc_get(k, &k->offs, group, may_block, deadline, serve_offsets, &os,
	    msg);
}

/* ---- writes ---------------------------------------------------------------- */

static int
default_rf(struct kafka *k, int64_t deadline, struct buf *msg)
{
	struct kafka_meta *m = NULL;
	int brokers, rc;

	/* The cluster's own default when it can be read... */
	if ((rc = kafka_meta(k, 1, deadline, &m, msg)) != 0)
		return rc;
	brokers = kafka_broker_count(m);
	kafka_meta_put(k, m);
	/* ... is not reachable through a topic: as Kafka's tools do, take
	 * the brokers there are, at most three. */
	return brokers < 1 ? 1 : brokers > 3 ? 3 : brokers;
}

static int
kafka_create_topic_now(struct kafka *k, const char *topic, int partitions, int rf,
    const char *const *cfg, size_t ncfg, int64_t deadline, struct buf *msg)
{
	rd_kafka_queue_t *q;
	rd_kafka_AdminOptions_t *ao;
	rd_kafka_NewTopic_t *nt;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	char errstr[512];
	size_t i, n;
	int rc;

	if ((rc = kafka_check_topic(topic, msg)) != 0)
		return rc;
	if (partitions < 1 || partitions > MAX_PARTITIONS) {
		buf_printf(msg, "a topic needs 1 to %d partitions", MAX_PARTITIONS);
		return -EINVAL;
	}
	if (rf <= 0 && (rf = default_rf(k, deadline, msg)) < 0)
		return rf;
	if ((nt = rd_kafka_NewTopic_new(topic, partitions, rf, errstr,
	    sizeof(errstr))) == NULL) {
		buf_printf(msg, "kafka: %s", errstr);
		return -EINVAL;
	}
	for (i = 0; i < ncfg; i++)
		if (rd_kafka_NewTopic_set_config(nt, cfg[2 * i], cfg[2 * i + 1])) {
			buf_printf(msg, "kafka: config %s: not accepted", cfg[2 * i]);
			rd_kafka_NewTopic_destroy(nt);
			return -EINVAL;
		}
	q = rd_kafka_queue_new(k->rk);
	ao = admin_options(k, RD_KAFKA_ADMIN_OP_CREATETOPICS, deadline);
	rd_kafka_CreateTopics(k->rk, &nt, 1, ao, q);
	if ((ev = admin_wait(k, q, deadline, "create topic", &rc, msg)) != NULL) {
		res = rd_kafka_CreateTopics_result_topics(
		    rd_kafka_event_CreateTopics_result(ev), &n);
		rc = topic_result(res, n, "create topic", msg);
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	snapcache_invalidate(k->meta, SC_HARD | SC_EAGER);
	return rc;
}

static int
kafka_grow_partitions_now(struct kafka *k, const char *topic, int total,
    int validate_only, int64_t deadline, struct buf *msg)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	rd_kafka_AdminOptions_t *ao = admin_options_v(k,
	    RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, validate_only, deadline);
	rd_kafka_NewPartitions_t *np;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	char errstr[512];
	size_t n;
	int rc = -EINVAL;

	if ((np = rd_kafka_NewPartitions_new(topic, (size_t)total, errstr,
	    sizeof(errstr))) == NULL) {
		buf_printf(msg, "kafka: %s", errstr);
		goto out;
	}
	rd_kafka_CreatePartitions(k->rk, &np, 1, ao, q);
	if ((ev = admin_wait(k, q, deadline, "create partitions", &rc, msg)) != NULL) {
		res = rd_kafka_CreatePartitions_result_topics(
		    rd_kafka_event_CreatePartitions_result(ev), &n);
		rc = topic_result(res, n, "create partitions", msg);
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_NewPartitions_destroy(np);
out:
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	if (!validate_only)
		snapcache_invalidate(k->meta, SC_HARD | SC_EAGER);
	return rc;
}

static int
kafka_set_configs_now(struct kafka *k, const char *topic, const char *const *cfg,
    size_t ncfg, int validate_only, int64_t deadline, struct buf *msg)
{
	rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(
	    RD_KAFKA_RESOURCE_TOPIC, topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	rd_kafka_AdminOptions_t *ao = admin_options_v(k,
	    RD_KAFKA_ADMIN_OP_ALTERCONFIGS, validate_only, deadline);
	const rd_kafka_ConfigResource_t **rr;
	rd_kafka_event_t *ev;
	size_t i, n;
	int rc, err;

	for (i = 0; i < ncfg; i++)
		rd_kafka_ConfigResource_set_config(res, cfg[2 * i], cfg[2 * i + 1]);
	rd_kafka_AlterConfigs(k->rk, &res, 1, ao, q);
	if ((ev = admin_wait(k, q, deadline, "alter configs", &rc, msg)) != NULL) {
		rr = rd_kafka_AlterConfigs_result_resources(
		    rd_kafka_event_AlterConfigs_result(ev), &n);
		if (n >= 1 && (err = rd_kafka_ConfigResource_error(rr[0])) != 0) {
			buf_printf(msg, "kafka: alter configs of %s: %s", topic,
			    rd_kafka_ConfigResource_error_string(rr[0]));
			rc = -kafka_errno(err);
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy(res);
	if (!validate_only)
		kc_drop(k, &k->cfgs, topic);
	return rc;
}

int
kafka_set_config(struct kafka *k, const char *topic, const char *key,
    const char *value, int64_t deadline, struct buf *msg)
{
	struct cfgset *c = NULL;
	const char **cfg = NULL;
	size_t i, n = 0;
	int rc, known = 0, same = 0;

	/* Fresh: the overrides to keep must be the current ones. */
	if ((rc = describe(k, topic, deadline, &c, msg)) != 0)
		return rc;
	if ((cfg = calloc(2 * (c->n + 1), sizeof(*cfg))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].name, key) == 0) {
			known = 1;
			if (c->e[i].read_only) {
				buf_printf(msg, "%s is read-only", key);
				rc = -EINVAL;
				goto out;
			}
			same = value ? c->e[i].override && c->e[i].value &&
			    strcmp(c->e[i].value, value) == 0 : !c->e[i].override;
			continue;
		}
		if (!c->e[i].override)
			continue;
		if (c->e[i].sensitive || c->e[i].value == NULL) {
			/* Its value cannot be read back, so it cannot be kept. */
			buf_printf(msg, "%s has a secret override (%s) that AlterConfigs "
			    "would erase; change it with Kafka's own tools", topic,
			    c->e[i].name);
			rc = -EPERM;
			goto out;
		}
		cfg[2 * n] = c->e[i].name;
		cfg[2 * n + 1] = c->e[i].value;
		n++;
	}
	if (!known) {
		buf_printf(msg, "%s is not a config of topic %s (ls config/ lists "
		    "them)", key, topic);
		rc = -EINVAL;
		goto out;
	}
	if (same) {
		rc = 0;		/* already so: nothing to send */
		goto out;
	}
	if (value) {
		cfg[2 * n] = key;
		cfg[2 * n + 1] = value;
		n++;
	}
	rc = kafka_set_configs(k, topic, cfg, n, 0, deadline, msg);
out:
	free(cfg);
	cfg_free(c);
	return rc;
}

static int
kafka_delete_topic_now(struct kafka *k, const char *topic, int64_t deadline,
    struct buf *msg)
{
	rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
	rd_kafka_AdminOptions_t *ao = admin_options(k,
	    RD_KAFKA_ADMIN_OP_DELETETOPICS, deadline);
	const rd_kafka_topic_result_t **res;
	rd_kafka_event_t *ev;
	size_t n;
	int rc;

	rd_kafka_DeleteTopics(k->rk, &dt, 1, ao, q);
	if ((ev = admin_wait(k, q, deadline, "delete topic", &rc, msg)) != NULL) {
		res = rd_kafka_DeleteTopics_result_topics(
		    rd_kafka_event_DeleteTopics_result(ev), &n);
		rc = topic_result(res, n, "delete topic", msg);
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_DeleteTopic_destroy(dt);
	kc_drop(k, &k->cfgs, topic);
	snapcache_invalidate(k->meta, SC_HARD | SC_EAGER);
	return rc;
}

/* ---- following ---------------------------------------------------------------- */

struct kafka_follow {
	rd_kafka_t	*rk;
	rd_kafka_topic_t *rkt;
	rd_kafka_queue_t *q;
	int32_t		 started;	/* partitions 0..started-1 are consumed */
};

/* The simple (legacy) consumer: no group.id, so nothing is joined or
 * committed and no group shows up in anyone's groups/; every partition
 * fetches into one queue. */
int
kafka_follow_new(struct kafka *k, const char *topic, int64_t deadline,
    struct kafka_follow **out, struct buf *msg)
{
	struct kafka_follow *f = NULL;
	struct kafka_meta *m = NULL;
	struct kafka_tp *tp = NULL;
	rd_kafka_conf_t *conf;
	char errstr[512];
	int parts, i, rc;

	*out = NULL;
	if ((rc = kafka_meta(k, 1, deadline, &m, msg)) != 0)
		return rc;
	if ((rc = kafka_topic_shape(m, topic, &parts, NULL)) != 0) {
		buf_printf(msg, "kafka: no topic %s", topic);
		goto fail;
	}
	rc = -EIO;
	if ((conf = base_conf(k, msg)) == NULL)
		goto fail;
	rd_kafka_conf_set(conf, "enable.partition.eof", "false", NULL, 0);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		rd_kafka_conf_destroy(conf);
		rc = -ENOMEM;
		goto fail;
	}
	if ((f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
	    sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		buf_printf(msg, "kafka: %s", errstr);
		goto fail;
	}
	if ((f->rkt = rd_kafka_topic_new(f->rk, topic, NULL)) == NULL ||
	    (f->q = rd_kafka_queue_new(f->rk)) == NULL) {
		buf_printf(msg, "kafka: cannot follow %s: %s", topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	/* Exactly where every partition ends now: nothing produced after
	 * this is missed, nothing before it shown. */
	if ((tp = calloc((size_t)parts, sizeof(*tp))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < parts; i++) {
		tp[i].topic = topic;
		tp[i].partition = i;
	}
	if ((rc = list_offsets(k, tp, (size_t)parts, RD_KAFKA_OFFSET_END,
	    deadline, msg)) != 0)
		goto fail;
	for (i = 0; i < parts; i++) {
		if (rd_kafka_consume_start_queue(f->rkt, i, tp[i].high, f->q) != 0) {
			buf_printf(msg, "kafka: cannot follow %s/%d: %s", topic, i,
			    rd_kafka_err2str(rd_kafka_last_error()));
			rc = -EIO;
			goto fail;
		}
		f->started = i + 1;
	}
	free(tp);
	kafka_meta_put(k, m);
	*out = f;
	return 0;
fail:
	free(tp);
	kafka_meta_put(k, m);
	kafka_follow_free(f);
	return rc;
}

int
kafka_follow_poll(struct kafka_follow *f, int wait_ms,
    int (*fn)(void *, int32_t, int64_t, const void *, size_t, const void *,
    size_t), void *arg)
{
	rd_kafka_message_t *rm;
	int n, rc = 0;

	for (n = 0; n < FOLLOW_BATCH && rc == 0; n++) {
		if ((rm = rd_kafka_consume_queue(f->q, n == 0 ? wait_ms : 0)) == NULL)
			break;
		if (rm->err == 0)
			rc = fn(arg, rm->partition, rm->offset, rm->key, rm->key_len,
			    rm->payload, rm->len);
		rd_kafka_message_destroy(rm);
	}
	return rc;
}

void
kafka_follow_free(struct kafka_follow *f)
{
	int32_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->started; i++)
		rd_kafka_consume_stop(f->rkt, i);
	if (f->q)
		rd_kafka_queue_destroy(f->q);
	if (f->rkt)
		rd_kafka_topic_destroy(f->rkt);
	if (f->rk)
		rd_kafka_destroy(f->rk);
	free(f);
}

static void
escape(struct buf *out, const unsigned char *p, size_t n, int is_key)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '\\')
			buf_addstr(out, "\\\\");
		else if (c == '\n')
			buf_addstr(out, "\\n");
		else if (c == '\t')
			buf_addstr(out, "\\t");
		else if (c == '\r')
			buf_addstr(out, "\\r");
		else if (c == ' ' && is_key)
			buf_addstr(out, "\\x20");	/* a key is one field */
		else if (c >= 0x20 && c < 0x7f)
			buf_addch(out, (char)c);
		else if (c >= 0x80 && (k = utf8_seq(p + i, n - i)) > 0) {
			buf_add(out, p + i, k);		/* printable text stays */
			i += k - 1;
		} else
			buf_printf(out, "\\x%02x", c);
	}
}

int
kafka_format_message(struct buf *out, int32_t partition, int64_t offset,
    const void *key, size_t klen, const void *value, size_t vlen)
{
	buf_printf(out, "%d/%lld ", (int)partition, (long long)offset);
	if (key == NULL)
		buf_addch(out, '-');
	else if (klen == 1 && *(const char *)key == '-')
		buf_addstr(out, "\\x2d");
	else if (klen == 2 && memcmp(key, "\"\"", 2) == 0)
		buf_addstr(out, "\\x22\\x22");	/* not the empty key's "" */
	else if (klen == 0)
		buf_addstr(out, "\"\"");
	else
		escape(out, key, klen, 1);
	buf_addch(out, ' ');
	if (value)
		escape(out, value, vlen, 0);
	buf_addch(out, '\n');
	return out->err;
}

/* ---- lifecycle ---------------------------------------------------------------- */

struct kafka *
kafka_new(const struct kafka_opts *o, struct buf *msg)
{
	rd_kafka_conf_t *conf;
	struct kafka *k;
	char errstr[512];
	size_t i;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->opts = *o;
	pthread_mutex_init(&k->lock, NULL);
	k->cfgs.free = cfg_free;
	k->cfgs.fetch = fetch_configs;
	k->offs.free = off_free;
	k->offs.fetch = fetch_offsets;
	k->brokers = strdup(o->brokers);
	k->props = calloc(o->nprops + 1, sizeof(char *));
	for (i = 0; k->props && i < o->nprops; i++)
		k->props[i] = strdup(o->props[i]);
	k->opts.props = NULL;
	if ((conf = base_conf(k, msg)) == NULL)
		goto fail;
	if ((k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);	/* still ours when it failed */
		buf_printf(msg, "kafka: %s", errstr);
		goto fail;
	}
	k->meta = snapcache_new(&meta_ops, k, o->ttl_ms, o->timeout_ms);
	k->groups = snapcache_new(&groups_ops, k, o->ttl_ms, o->timeout_ms);
	if (k->meta == NULL || k->groups == NULL)
		goto fail;
	return k;
fail:
	kafka_free(k);
	return NULL;
}

int
kafka_start(struct kafka *k, kafka_change_fn fn, void *arg)
{
	int rc;

	k->fn = fn;
	k->arg = arg;
	if ((rc = snapcache_start(k->meta)) != 0 ||
	    (rc = snapcache_start(k->groups)) != 0)
		return rc;
	snapcache_invalidate(k->meta, SC_EAGER);
	return 0;
}

void
kafka_shutdown(struct kafka *k)
{
	if (k == NULL)
		return;
	k->stopping = 1;
	snapcache_stop(k->meta);
	snapcache_stop(k->groups);
}

void
kafka_free(struct kafka *k)
{
	size_t i;

	if (k == NULL)
		return;
	kafka_shutdown(k);
	snapcache_free(k->meta);
	snapcache_free(k->groups);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	kc_clear(&k->cfgs);
	kc_clear(&k->offs);
	for (i = 0; k->props && i < k->opts.nprops; i++) {
		explicit_bzero(k->props[i], strlen(k->props[i]));
		free(k->props[i]);
	}
	free(k->props);
	free(k->brokers);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

void
kafka_status(struct kafka *k, struct buf *out)
{
	struct snapcache_info mi;
	struct snapref *r;

	/* Nothing pushes Kafka's state: reading the status is a reason to
	 * look again (in the background) when the snapshot is due. */
	kafka_down(k);
	snapcache_info(k->meta, &mi);
	r = snapcache_peek(k->meta);
	buf_printf(out, "kafka: %s\n", mi.stale ? "down" : mi.have ? "up" :
	    "connecting");
	buf_printf(out, "  brokers: %s\n", k->brokers);
	if (r) {
		struct kafka_meta *m = r->data;

		buf_printf(out, "  metadata: %d brokers, %d topics, age %lld ms%s\n",
		    m->md->broker_cnt, m->md->topic_cnt, (long long)mi.age_ms,
		    mi.stale ? ", stale" : "");
		snapcache_put(k->meta, r);
	}
	pthread_mutex_lock(&k->lock);
	buf_printf(out, "  requests: %llu (%llu failed)\n",
	    (unsigned long long)k->requests, (unsigned long long)k->failures);
	buf_printf(out, "  last_error: %s\n", k->last_error[0] ? k->last_error :
	    "none");
	pthread_mutex_unlock(&k->lock);
}

int
kafka_create_topic(struct kafka *k, const char *topic, int partitions, int rf,
    const char *const *cfg, size_t ncfg, int64_t deadline, struct buf *msg)
{
	if (refused_down(k, msg))
		return -EIO;
	return kafka_create_topic_now(k, topic, partitions, rf, cfg, ncfg,
	    deadline, msg);
}

int
kafka_grow_partitions(struct kafka *k, const char *topic, int total,
    int validate_only, int64_t deadline, struct buf *msg)
{
	if (refused_down(k, msg))
		return -EIO;
	return kafka_grow_partitions_now(k, topic, total, validate_only,
	    deadline, msg);
}

int
kafka_set_configs(struct kafka *k, const char *topic, const char *const *cfg,
    size_t ncfg, int validate_only, int64_t deadline, struct buf *msg)
{
	if (refused_down(k, msg))
		return -EIO;
	return kafka_set_configs_now(k, topic, cfg, ncfg,
	    validate_only, deadline, msg);
}

int
kafka_delete_topic(struct kafka *k, const char *topic, int64_t deadline,
    struct buf *msg)
{
	if (refused_down(k, msg))
		return -EIO;
	return kafka_delete_topic_now(k, topic, deadline, msg);
}
