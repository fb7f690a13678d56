/*
 * fuzz_kafka_doc: topic.json as users write it, through
 * kafka_apply_topic_json() (backends/kafka_doc.c), with the Kafka calls it
 * makes answered from the input (ld --wrap of kafka.c's metadata, config
 * and admin calls; nothing reaches a broker):
 *
 *	head line 1:	"TOPIC MODE PARTITIONS RF"  MODE: create or update
 *	head lines:	"c FLAGS NAME=VALUE"  a config of the topic; FLAGS
 *			letters: o override, r read-only, d default,
 *			s sensitive, n no value (as for a secret)
 *	reply 1 body:	the topic.json written (after "\n=== 0\n")
 *
 * Checks besides memory safety:
 *  - nothing is sent unless the text is one JSON object (jansson, no
 *    duplicate keys) and the changes it asks for are possible: a topic is
 *    created with 1 to 100000 partitions and no null config value;
 *    partitions only grow; configs sent are configs the topic has, with
 *    a value, and read-only ones only unchanged;
 *  - a topic with a secret override is never altered (AlterConfigs would
 *    erase the secret);
 *  - a change is validated (validate_only) before it is made when both
 *    partitions and configs change;
 *  - what archonfs renders as topic.json, written back unchanged, sends
 *    nothing (it may be refused, for names JSON cannot show).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/kafka.h"
#include "check.h"
#include "fake.h"

#define INPUT_MAX	(128u << 10)
#define CFG_MAX		64

/* The topic as the fake cluster has it. */
static struct {
	char		 topic[256];
	int		 create;
	int		 parts, rf;
	struct kafka_config cfg[CFG_MAX];
	char		 names[CFG_MAX][256];
	char		 values[CFG_MAX][256];
	int		 ncfg;
	int		 secret_override;
	/* What was sent. */
	int		 sent, validated, created, grown, altered;
	const char	*doc;
	size_t		 doclen;
} st;

/* Opaque to kafka_doc.c: any non-NULL pointer will do. */
static int meta_token;

int	 __wrap_kafka_meta(struct kafka *k, int may_block, int64_t deadline,
	    struct kafka_meta **out, struct buf *msg);
void	 __wrap_kafka_meta_put(struct kafka *k, struct kafka_meta *m);
void	 __wrap_kafka_invalidate(struct kafka *k);
int	 __wrap_kafka_topic_shape(const struct kafka_meta *m, const char *topic,
	    int *partitions, int *replication_factor);
int	 __wrap_kafka_list_partitions(const struct kafka_meta *m,
	    const char *topic, int (*fn)(void *arg,
	    const struct kafka_partition *p), void *arg);
int	 __wrap_kafka_configs(struct kafka *k, const char *topic, int may_block,
	    int64_t deadline, int (*fn)(void *arg, const struct kafka_config *c),
	    void *arg, struct buf *msg);
int	 __wrap_kafka_create_topic(struct kafka *k, const char *topic,
	    int partitions, int rf, const char *const *configs, size_t nconfigs,
	    int64_t deadline, struct buf *msg);
int	 __wrap_kafka_grow_partitions(struct kafka *k, const char *topic,
	    int total, int validate_only, int64_t deadline, struct buf *msg);
int	 __wrap_kafka_set_configs(struct kafka *k, const char *topic,
	    const char *const *configs, size_t nconfigs, int validate_only,
	    int64_t deadline, struct buf *msg);

int
__wrap_kafka_meta(struct kafka *k, int may_block, int64_t deadline,
    struct kafka_meta **out, struct buf *msg)
{
	(void)k; (void)may_block; (void)deadline; (void)msg;
	*out = (struct kafka_meta *)&meta_token;
	return 0;
}

void
__wrap_kafka_meta_put(struct kafka *k, struct kafka_meta *m)
{
	(void)k;
	CHECK(m == (struct kafka_meta *)&meta_token, "put of a foreign snapshot");
}

void
__wrap_kafka_invalidate(struct kafka *k)
{
	(void)k;
}

int
__wrap_kafka_topic_shape(const struct kafka_meta *m, const char *topic,
    int *partitions, int *replication_factor)
{
	(void)m;
	if (st.create || strcmp(topic, st.topic) != 0)
		return -ENOENT;
	*partitions = st.parts;
	*replication_factor = st.rf;
	return 0;
}

int
__wrap_kafka_list_partitions(const struct kafka_meta *m, const char *topic,
    int (*fn)(void *arg, const struct kafka_partition *p), void *arg)
{
	static const int32_t replicas[3] = { 1, 2, 3 };
	struct kafka_partition p = { 0 };
	int i, rc;

	(void)m;
	if (strcmp(topic, st.topic) != 0)
		return -ENOENT;
	for (i = 0; i < st.parts && i < 64; i++) {
		p.id = i;
		p.leader = 1 + i % 3;
		p.replicas = replicas;
		p.nreplicas = st.rf < 3 ? st.rf : 3;
		p.isrs = replicas;
		p.nisrs = p.nreplicas;
		if ((rc = fn(arg, &p)) != 0)
			return rc;
	}
	return 0;
}

int
__wrap_kafka_configs(struct kafka *k, const char *topic, int may_block,
    int64_t deadline, int (*fn)(void *arg, const struct kafka_config *c),
    void *arg, struct buf *msg)
{
	int i, rc = 0;

	(void)k; (void)may_block; (void)deadline;
	if (strcmp(topic, st.topic) != 0) {
		buf_printf(msg, "no topic %s", topic);
		return -ENOENT;
	}
	for (i = 0; i < st.ncfg && rc == 0; i++)
		rc = fn(arg, &st.cfg[i]);
	return rc;
}

static const struct kafka_config *
config(const char *name)
{
	int i;

	for (i = 0; i < st.ncfg; i++)
		if (strcmp(st.cfg[i].name, name) == 0)
			return &st.cfg[i];
	return NULL;
}

/* What any change sent must satisfy. */
static void
check_sent(const char *what)
{
	json_t *doc = json_loadb(st.doc, st.doclen, JSON_REJECT_DUPLICATES, NULL);

	CHECK(json_is_object(doc), "%s sent for a document that is not one "
	    "JSON object", what);
	json_decref(doc);
}

static void
check_configs(const char *const *cfg, size_t n, int create)
{
	const struct kafka_config *kc;
	size_t i;

	for (i = 0; i < n; i++) {
		CHECK(cfg[2 * i] && *cfg[2 * i], "a config without a name");
		CHECK(cfg[2 * i + 1] != NULL, "config %s sent without a value",
		    cfg[2 * i]);
		if (create)
			continue;
		kc = config(cfg[2 * i]);
		CHECK(kc != NULL, "config %s is not a config of the topic",
		    cfg[2 * i]);
		CHECK(!kc->read_only || (kc->value && strcmp(kc->value,
		    cfg[2 * i + 1]) == 0), "read-only config %s changed",
		    cfg[2 * i]);
	}
}

int
__wrap_kafka_create_topic(struct kafka *k, const char *topic, int partitions,
    int rf, const char *const *configs, size_t nconfigs, int64_t deadline,
    struct buf *msg)
{
	(void)k; (void)rf; (void)deadline; (void)msg;
	check_sent("CreateTopics");
	CHECK(st.create, "CreateTopics for an existing topic");
	CHECK(strcmp(topic, st.topic) == 0, "CreateTopics %s", topic);
	CHECK(partitions >= 1 && partitions <= 100000, "%d partitions",
	    partitions);
	check_configs(configs, nconfigs, 1);
	st.sent++;
	st.created++;
	return 0;
}

int
__wrap_kafka_grow_partitions(struct kafka *k, const char *topic, int total,
    int validate_only, int64_t deadline, struct buf *msg)
{
	(void)k; (void)deadline; (void)msg;
	check_sent("CreatePartitions");
	CHECK(!st.create && strcmp(topic, st.topic) == 0, "CreatePartitions %s",
	    topic);
	CHECK(total > st.parts && total <= 100000,
	    "CreatePartitions from %d to %d", st.parts, total);
	if (validate_only) {
		st.validated++;
	} else {
		st.sent++;
		st.grown++;
	}
	return 0;
}

int
__wrap_kafka_set_configs(struct kafka *k, const char *topic,
    const char *const *configs, size_t nconfigs, int validate_only,
    int64_t deadline, struct buf *msg)
{
	(void)k; (void)deadline; (void)msg;
	check_sent("AlterConfigs");
	CHECK(!st.create && strcmp(topic, st.topic) == 0, "AlterConfigs %s",
	    topic);
	CHECK(!st.secret_override, "AlterConfigs on a topic with a secret "
	    "override: it would be erased");
	check_configs(configs, nconfigs, 0);
	if (validate_only) {
		st.validated++;
	} else {
		st.sent++;
		st.altered++;
	}
	return 0;
}

/* Read the head: the topic and its configs. */
static void
setup(const char *p, size_t n)
{
	const char *end = p + n, *nl, *eq, *sp;
	char mode[16] = "";
	char line[600];
	size_t k;
	int i;

	memset(&st, 0, sizeof(st));
	snprintf(st.topic, sizeof(st.topic), "orders");
	st.parts = 3;
	st.rf = 1;
	for (i = 0; p < end; p = nl + 1, i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		k = (size_t)(nl - p) < sizeof(line) - 1 ? (size_t)(nl - p) :
		    sizeof(line) - 1;
		memcpy(line, p, k);
		line[k] = '\0';
		if (i == 0) {
			char topic[256];

			if (sscanf(line, "%255s %15s %d %d", topic, mode, &st.parts,
			    &st.rf) >= 1)
				snprintf(st.topic, sizeof(st.topic), "%s", topic);
			st.create = strcmp(mode, "create") == 0;
		} else if (line[0] == 'c' && line[1] == ' ' && st.ncfg < CFG_MAX &&
		    (sp = strchr(line + 2, ' ')) != NULL &&
		    (eq = strchr(sp + 1, '=')) != NULL) {
			struct kafka_config *kc = &st.cfg[st.ncfg];
			const char *f = line + 2;

			snprintf(st.names[st.ncfg], 256, "%.*s",
			    (int)(eq - sp - 1), sp + 1);
			snprintf(st.values[st.ncfg], 256, "%s", eq + 1);
			if (config(st.names[st.ncfg]) || !st.names[st.ncfg][0])
				continue;	/* DescribeConfigs names each once */
			kc->name = st.names[st.ncfg];
			kc->value = memchr(f, 'n', (size_t)(sp - f)) ? NULL :
			    st.values[st.ncfg];
			kc->override = memchr(f, 'o', (size_t)(sp - f)) != NULL;
			kc->read_only = memchr(f, 'r', (size_t)(sp - f)) != NULL;
			kc->is_default = memchr(f, 'd', (size_t)(sp - f)) != NULL;
			kc->sensitive = memchr(f, 's', (size_t)(sp - f)) != NULL;
			if (kc->sensitive)
				kc->value = NULL;	/* never readable */
			if (kc->override && kc->value == NULL)
				st.secret_override = 1;
			st.ncfg++;
		}
		if (nl == end)
			break;
	}
	if (st.parts < 1 || st.parts > 100000)
		st.parts = 3;
	if (st.rf < 1 || st.rf > 32767)
		st.rf = 1;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf msg = BUF_INIT(1 << 16), audit = BUF_INIT(1 << 16);
	struct buf doc = BUF_INIT(1 << 20);
	struct kafka_meta *m = NULL;
	const char *body;
	size_t hlen, blen;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	fake_split((const char *)data, size, &hlen);
	setup((const char *)data, hlen);
	/* The document: the first reply's body (or nothing). */
	body = memmem(data, size, FAKE_SEP, strlen(FAKE_SEP));
	if (body) {
		body = memchr(body + 1, '\n', size - (size_t)(body + 1 -
		    (const char *)data));
		body = body ? body + 1 : (const char *)data + size;
	} else {
		body = (const char *)data + size;
	}
	blen = size - (size_t)(body - (const char *)data);
	if (memmem(body, blen, FAKE_SEP, strlen(FAKE_SEP)))
		blen = (size_t)((const char *)memmem(body, blen, FAKE_SEP,
		    strlen(FAKE_SEP)) - body);
	st.doc = body;
	st.doclen = blen;

	rc = kafka_apply_topic_json(NULL, st.topic, body, blen, st.create,
	    now_ms() + 5000, &audit, &msg);
	CHECK(rc <= 0, "apply returned %d", rc);
	if (rc < 0)
		CHECK(msg.len > 0, "a refusal (%s) has no words", strerror(-rc));
	if (st.grown && st.altered)
		CHECK(st.validated == 2, "partitions and configs changed without "
		    "validating both first");
	if (st.sent)
		CHECK(audit.len > 0, "a change was sent without an audit line");

	/* What archonfs shows, written back unchanged, sends nothing. */
	if (!st.create && !st.secret_override && __wrap_kafka_meta(NULL, 1, 0,
	    &m, &msg) == 0 && kafka_topic_json(NULL, m, st.topic, 1, 0, &doc,
	    &msg) == 0) {
		st.sent = 0;
		st.doc = doc.data;
		st.doclen = doc.len;
		buf_reset(&msg);
		rc = kafka_apply_topic_json(NULL, st.topic, doc.data, doc.len, 0,
		    now_ms() + 5000, &audit, &msg);
		/* Refused is acceptable for what JSON cannot show (names
		 * that are not UTF-8 from a hostile broker); changed is not. */
		CHECK(rc == 0 || rc == -EINVAL,
		    "topic.json as shown, written back: %s (%s)", strerror(-rc),
		    buf_str(&msg));
		CHECK(st.sent == 0, "topic.json as shown, written back, sent a "
		    "change: %s", buf_str(&audit));
	}
	buf_free(&doc);
	buf_free(&msg);
	buf_free(&audit);
	return 0;
}
