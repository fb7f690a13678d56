/*
 * kafka_doc.c: topic.json, the one Kafka document: rendering it from the
 * metadata snapshot and the topic's configs, and applying a written one
 * (create a topic, or change what changed in an existing one).
 *
 * topic.json shows the topic's config overrides only; writing it makes the
 * overrides exactly those given (AlterConfigs replaces the set).  Every
 * check that can be made here is made before anything is sent.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"

#define MAX_PARTITIONS	100000

static void
add_jstr(struct buf *out, const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	buf_addstr(out, t ? t : "\"\"");
	free(t);
	json_decref(j);
}

static void
add_ids(struct buf *out, const int32_t *ids, int n)
{
	int i;

	buf_addch(out, '[');
	for (i = 0; i < n; i++)
		buf_printf(out, "%s%d", i ? ", " : "", (int)ids[i]);
	buf_addch(out, ']');
}

static int
utf8_ok(const char *s)
{
	json_t *j = json_string(s);	/* NULL unless valid UTF-8 */

	json_decref(j);
	return j != NULL;
}

struct jrender {
	struct buf	*out;
	int		 n;
};

static int
render_override(void *arg, const struct kafka_config *kc)
{
	struct jrender *r = arg;

	if (!kc->override)
		return 0;
	buf_addstr(r->out, r->n++ ? ",\n    " : "\n    ");
	add_jstr(r->out, kc->name);
	buf_addstr(r->out, ": ");
	/* null: sensitive, never shown; or not UTF-8, which a JSON string
	 * cannot hold: shown as anything else, saving the document back
	 * unchanged would alter it. */
	if (kc->value && utf8_ok(kc->value))
		add_jstr(r->out, kc->value);
	else
		buf_addstr(r->out, "null");
	return 0;
}

static int
render_partition(void *arg, const struct kafka_partition *p)
{
	struct jrender *r = arg;

	buf_addstr(r->out, r->n++ ? ",\n    " : "\n    ");
	buf_printf(r->out, "{\"partition\": %d, \"leader\": %d, \"replicas\": ",
	    (int)p->id, (int)p->leader);
	add_ids(r->out, p->replicas, p->nreplicas);
	buf_addstr(r->out, ", \"isr\": ");
	add_ids(r->out, p->isrs, p->nisrs);
	buf_addch(r->out, '}');
	return 0;
}

int
kafka_topic_json(struct kafka *k, const struct kafka_meta *m, const char *topic,
    int may_block, int64_t deadline, struct buf *out, struct buf *msg)
{
	struct jrender r = { out, 0 };
	int rc, parts, rf;

	if ((rc = kafka_topic_shape(m, topic, &parts, &rf)) != 0)
		return rc;
	buf_addstr(out, "{\n  \"name\": ");
	add_jstr(out, topic);
	buf_printf(out, ",\n  \"partitions\": %d,\n  \"replication_factor\": %d,\n"
	    "  \"config\": {", parts, rf);
	if ((rc = kafka_configs(k, topic, may_block, deadline, render_override,
	    &r, msg)) != 0)
		return rc;
	buf_addstr(out, r.n ? "\n  },\n" : "},\n");
	buf_addstr(out, "  \"partition_info\": [");
	r.n = 0;
	if ((rc = kafka_list_partitions(m, topic, render_partition, &r)) != 0)
		return rc;
	buf_addstr(out, r.n ? "\n  ]\n}\n" : "]\n}\n");
	return out->err;
}

/* What a topic.json asks for, checked. */
struct tdoc {
	long		 partitions;		/* -1: not given */
	long		 rf;			/* -1: not given */
	int		 has_config;
	const char	**cfg;			/* name, value pairs */
	size_t		 ncfg;
	char		**owned;		/* strings made from numbers */
	size_t		 nowned;
	json_t		*root;
};

static void
tdoc_free(struct tdoc *d)
{
	size_t i;

	for (i = 0; i < d->nowned; i++)
		free(d->owned[i]);
	free(d->owned);
	free(d->cfg);
	json_decref(d->root);
}

static int
doc_int(json_t *v, const char *what, long lo, long hi, long *out,
    struct buf *msg)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		buf_printf(msg, "topic.json: \"%s\" must be a whole number, nothing "
		    "was sent", what);
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < lo || n > hi) {
		buf_printf(msg, "topic.json: \"%s\" is %lld; it must be %ld to %ld, "
		    "nothing was sent", what, (long long)n, lo, hi);
		return -EINVAL;
	}
	*out = (long)n;
	return 0;
}

/* A config value as Kafka takes it: a string; numbers and booleans are
 * accepted and written as text. */
static int
doc_value(struct tdoc *d, const char *key, json_t *v, const char **out,
    struct buf *msg)
{
	char tmp[64], *s;

	if (json_is_string(v)) {
		*out = json_string_value(v);
		if (strlen(*out) != json_string_length(v)) {
			buf_printf(msg, "topic.json: config %s contains a NUL byte, "
			    "nothing was sent", key);
			return -EINVAL;
		}
		return 0;
	}
	if (json_is_integer(v))
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(tmp, sizeof(tmp), "%s", json_is_true(v) ? "true" : "false");
	else {
		buf_printf(msg, "topic.json: config %s must be a string, number or "
		    "boolean, nothing was sent", key);
		return -EINVAL;
	}
	if ((s = strdup(tmp)) == NULL)
		return -ENOMEM;
	d->owned[d->nowned++] = s;
	*out = s;
	return 0;
}

static int
tdoc_parse(struct tdoc *d, const char *topic, const char *p, size_t n,
    struct buf *msg)
{
	json_error_t jerr;
	json_t *v, *cfg;
	const char *key;
	size_t ncfg;
	int rc;

	memset(d, 0, sizeof(*d));
	d->partitions = d->rf = -1;
	buf_reset(msg);
	if ((d->root = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		buf_printf(msg, "topic.json is not valid JSON, nothing was sent: %s "
		    "(line %d, column %d)", jerr.text, jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(d->root)) {
		buf_addstr(msg, "topic.json must hold one JSON object ({...}), "
		    "nothing was sent");
		return -EINVAL;
	}
	json_object_foreach(d->root, key, v) {
		if (strcmp(key, "name") && strcmp(key, "partitions") &&
		    strcmp(key, "replication_factor") && strcmp(key, "config") &&
		    strcmp(key, "partition_info")) {
			buf_printf(msg, "topic.json: unknown field \"%.60s\" (it has name, "
			    "partitions, replication_factor, config, partition_info), "
			    "nothing was sent", key);
			return -EINVAL;
		}
	}
	if ((v = json_object_get(d->root, "name")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), topic) != 0)) {
		buf_printf(msg, "topic.json: \"name\" must be \"%s\", the directory's "
		    "name (topics are not renamed), nothing was sent", topic);
		return -EINVAL;
	}
	if ((v = json_object_get(d->root, "partitions")) != NULL &&
	    (rc = doc_int(v, "partitions", 1, MAX_PARTITIONS, &d->partitions,
	    msg)) != 0)
		return rc;
	if ((v = json_object_get(d->root, "replication_factor")) != NULL &&
	    (rc = doc_int(v, "replication_factor", 1, 32767, &d->rf, msg)) != 0)
		return rc;
	if ((cfg = json_object_get(d->root, "config")) == NULL)
		return 0;
	if (!json_is_object(cfg)) {
		buf_addstr(msg, "topic.json: \"config\" must be an object of "
		    "\"key\": \"value\", nothing was sent");
		return -EINVAL;
	}
	d->has_config = 1;
	ncfg = json_object_size(cfg);
	if ((d->cfg = calloc(2 * ncfg + 1, sizeof(*d->cfg))) == NULL ||
	    (d->owned = calloc(ncfg + 1, sizeof(*d->owned))) == NULL)
		return -ENOMEM;
	json_object_foreach(cfg, key, v) {
		if (*key == '\0' || strlen(key) > 249) {
			buf_addstr(msg, "topic.json: a config name must be 1 to 249 "
			    "characters, nothing was sent");
			return -EINVAL;
		}
		d->cfg[2 * d->ncfg] = key;
		if (json_is_null(v))
			d->cfg[2 * d->ncfg + 1] = NULL;	/* a secret kept as it is */
		else if ((rc = doc_value(d, key, v, &d->cfg[2 * d->ncfg + 1],
		    msg)) != 0)
			return rc;
		d->ncfg++;
	}
	return 0;
}

/* The overrides a write of an existing topic asks for, checked against
 * what DescribeConfigs says the topic has. */
struct cfgcheck {
	struct tdoc	*d;
	const char	*topic;
	struct buf	*msg;
	int		 rc;
	int		 changed;
	unsigned char	*seen;		/* per key of d: the topic has it */
	const char	**cur;		/* current overrides: name, value pairs */
	size_t		 ncur;
};

static int
check_config(void *arg, const struct kafka_config *kc)
{
	struct cfgcheck *ck = arg;
	const char *want = NULL;
	int asked = 0;
	size_t i;

	for (i = 0; i < ck->d->ncfg; i++) {
		if (strcmp(ck->d->cfg[2 * i], kc->name) == 0) {
			asked = 1;
			want = ck->d->cfg[2 * i + 1];
			ck->seen[i] = 1;
		}
	}
	if (asked && kc->read_only && !(kc->override && want && kc->value &&
	    strcmp(want, kc->value) == 0)) {
		buf_printf(ck->msg, "topic.json: config %s is read-only, nothing was "
		    "sent", kc->name);
		ck->rc = -EINVAL;
		return 1;
	}
	if (kc->override && (kc->sensitive || kc->value == NULL)) {
		/* AlterConfigs would erase what cannot be read back. */
		buf_printf(ck->msg, "%s has a secret override (%s) that AlterConfigs "
		    "would erase; change it with Kafka's own tools", ck->topic,
		    kc->name);
		ck->rc = -EPERM;
		return 1;
	}
	if (asked && want == NULL) {
		buf_printf(ck->msg, "topic.json: config %s is null; give its value "
		    "as a string, nothing was sent", kc->name);
		ck->rc = -EINVAL;
		return 1;
	}
	if (kc->override) {
		ck->cur[2 * ck->ncur] = kc->name;
		ck->cur[2 * ck->ncur + 1] = kc->value;
		ck->ncur++;
		if (!asked || strcmp(want, kc->value) != 0)
			ck->changed = 1;
	} else if (asked) {
		ck->changed = 1;
	}
	return 0;
}

static int
count_configs(void *arg, const struct kafka_config *kc)
{
	(void)kc;
	(*(size_t *)arg)++;
	return 0;
}

static void
audit_configs(struct buf *a, const char *const *cfg, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(a, "%s%s=%s", i ? ", " : "", cfg[2 * i], cfg[2 * i + 1]);
	if (n == 0)
		buf_addstr(a, "(no overrides)");
}

/* An existing topic: apply what changed. */
static int
apply_existing(struct kafka *k, const char *topic, struct tdoc *dp,
    int64_t deadline, struct buf *audit, struct buf *msg)
{
	struct tdoc d = *dp;
	struct kafka_meta *m = NULL;
	struct cfgcheck ck;
	size_t total = 0, i;
	int rc, parts, rf, grow;

	memset(&ck, 0, sizeof(ck));
	/* Fresh state: what to change is judged against the broker's. */
	kafka_invalidate(k);
	if ((rc = kafka_meta(k, 1, deadline, &m, msg)) != 0)
		return rc;
	rc = kafka_topic_shape(m, topic, &parts, &rf);
	kafka_meta_put(k, m);
	if (rc != 0)
		goto out;
	if (d.rf > 0 && d.rf != rf) {
		buf_printf(msg, "topic.json: the replication factor of %s is %d; "
		    "changing it needs a partition reassignment, which archonfs "
		    "does not do; nothing was sent", topic, rf);
		rc = -EINVAL;
		goto out;
	}
	if (d.partitions > 0 && d.partitions < parts) {
		buf_printf(msg, "topic.json: %s has %d partitions; Kafka cannot "
		    "remove partitions (asked for %ld), nothing was sent", topic,
		    parts, d.partitions);
		rc = -EINVAL;
		goto out;
	}
	grow = d.partitions > parts;
	if (d.has_config) {
		if ((rc = kafka_configs(k, topic, 1, deadline, count_configs,
		    &total, msg)) != 0)
			goto out;
		ck.d = &d;
		ck.topic = topic;
		ck.msg = msg;
		if ((ck.cur = calloc(2 * total + 1, sizeof(*ck.cur))) == NULL ||
		    (ck.seen = calloc(d.ncfg + 1, 1)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		rc = kafka_configs(k, topic, 1, deadline, check_config, &ck,
		    msg);
		if (ck.rc != 0)
			rc = ck.rc;
		if (rc < 0)
			goto out;
		rc = 0;
		for (i = 0; i < d.ncfg; i++) {
			if (!ck.seen[i]) {
				buf_reset(msg);
				buf_printf(msg, "topic.json: '%.100s' is not a config "
				    "of topic %s: Kafka has a fixed set of topic configs "
				    "(ls config/ lists them); nothing was sent",
				    d.cfg[2 * i], topic);
				rc = -EINVAL;
				goto out;
			}
		}
		/* Overrides dropped from the document go back to the default. */
		if (!ck.changed && ck.ncur != d.ncfg)
			ck.changed = 1;
	}
	if (!grow && !ck.changed) {
		buf_printf(msg, "topic.json of %s unchanged; nothing was sent",
		    topic);
		rc = 0;
		goto out;
	}
	/* Both changes are checked by the broker before either is made. */
	if (grow && ck.changed &&
	    ((rc = kafka_set_configs(k, topic, d.cfg, d.ncfg, 1, deadline,
	    msg)) != 0 ||
	    (rc = kafka_grow_partitions(k, topic, (int)d.partitions, 1,
	    deadline, msg)) != 0))
		goto out;
	if (ck.changed) {
		buf_printf(audit, "AlterConfigs %s: ", topic);
		audit_configs(audit, d.cfg, d.ncfg);
		if ((rc = kafka_set_configs(k, topic, d.cfg, d.ncfg, 0, deadline,
		    msg)) != 0)
			goto out;
	}
	if (grow) {
		buf_printf(audit, "%sCreatePartitions %s to %ld",
		    ck.changed ? "; " : "", topic, d.partitions);
		rc = kafka_grow_partitions(k, topic, (int)d.partitions, 0,
		    deadline, msg);
		if (rc != 0 && ck.changed) {
			buf_printf(msg, " (the config change before it was "
			    "applied)");
		}
	}
out:
	free(ck.cur);
	free(ck.seen);
	return rc;
}

/* A pending topic: create it as the document says. */
static int
apply_create(struct kafka *k, const char *topic, struct tdoc *d,
    int64_t deadline, struct buf *audit, struct buf *msg)
{
	size_t i;

	if (d->partitions < 0) {
		buf_addstr(msg, "topic.json: \"partitions\" is required to create "
		    "a topic, nothing was sent");
		return -EINVAL;
	}
	for (i = 0; i < d->ncfg; i++) {
		if (d->cfg[2 * i + 1] == NULL) {
			buf_printf(msg, "topic.json: config %s is null; give its value "
			    "as a string, nothing was sent", d->cfg[2 * i]);
			return -EINVAL;
		}
	}
	return kafka_create_audited(k, topic, d->partitions, d->rf, d->cfg,
	    d->ncfg, deadline, audit, msg);
}

int
kafka_create_audited(struct kafka *k, const char *topic, long partitions,
    long rf, const char *const *cfg, size_t ncfg, int64_t deadline,
    struct buf *audit, struct buf *msg)
{
	buf_printf(audit, "CreateTopics %s partitions=%ld replication_factor=",
	    topic, partitions);
	if (rf > 0)
		buf_printf(audit, "%ld", rf);
	else
		buf_addstr(audit, "default");
	if (ncfg) {
		buf_addstr(audit, " config ");
		audit_configs(audit, cfg, ncfg);
	}
	return kafka_create_topic(k, topic, (int)partitions, (int)rf, cfg, ncfg,
	    deadline, msg);
}

int
kafka_apply_topic_json(struct kafka *k, const char *topic, const char *text,
    size_t len, int create, int64_t deadline, struct buf *audit,
    struct buf *msg)
{
	struct tdoc d;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = kafka_check_topic(topic, msg)) == 0 &&
	    (rc = tdoc_parse(&d, topic, text, len, msg)) == 0)
		rc = create ? apply_create(k, topic, &d, deadline, audit, msg) :
		    apply_existing(k, topic, &d, deadline, audit, msg);
	tdoc_free(&d);
	return rc;
}
