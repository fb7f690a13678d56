/*
 * kafka.h: Kafka through librdkafka, as the FUSE layer sees it.
 *
 * Cluster metadata (topics, partitions, leaders, replicas, ISRs) and the
 * consumer groups come from snapshots, one batched request each per
 * refresh; topic configs are described on demand and cached per topic;
 * watermarks and committed offsets are asked when a file showing them is
 * opened.  Writes go through the Admin API (CreateTopics, CreatePartitions,
 * AlterConfigs, DeleteTopics) and check their input before anything is
 * sent.  Every call has a deadline.
 *
 * What it does not do: know files.  Names are topic and group names.
 */
#ifndef ARCHONFS_KAFKA_H
#define ARCHONFS_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct kafka;
struct kafka_meta;	/* cluster metadata snapshot */
struct kafka_groups;	/* consumer groups snapshot */

struct kafka_opts {
	const char	*brokers;	/* --kafka HOST:PORT[,...] */
	const char *const *props;	/* "name=value" librdkafka properties */
	size_t		 nprops;
	int		 timeout_ms;
	int		 ttl_ms;
};

typedef void (*kafka_change_fn)(void *arg, const char *topic);

struct kafka *kafka_new(const struct kafka_opts *o, struct buf *msg);
int	 kafka_start(struct kafka *k, kafka_change_fn fn, void *arg);
void	 kafka_shutdown(struct kafka *k);
void	 kafka_free(struct kafka *k);

/* The one table from librdkafka error codes to errno. */
int	 kafka_errno(int rd_kafka_resp_err);
/* Kafka's topic name rule: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
int	 kafka_check_topic(const char *name, struct buf *msg);
/* Is a librdkafka property secret (never shown)? */
int	 kafka_secret_property(const char *name);

/* ---- metadata ------------------------------------------------------------ */

int	 kafka_meta(struct kafka *k, int may_block, int64_t deadline,
	    struct kafka_meta **out, struct buf *msg);
void	 kafka_meta_put(struct kafka *k, struct kafka_meta *m);
/* Increase with every new snapshot (for caches built from one). */
uint64_t kafka_meta_gen(const struct kafka_meta *m);
uint64_t kafka_groups_gen(const struct kafka_groups *g);
void	 kafka_invalidate(struct kafka *k);
/* Did the last metadata refresh fail?  (Starts one when it is due.) */
int	 kafka_down(struct kafka *k);
/* 1 (words in msg) while the brokers are down: writes are refused. */
int	 kafka_write_refused(struct kafka *k, struct buf *msg);
int	 kafka_list_topics(const struct kafka_meta *m,
	    int (*fn)(void *arg, const char *topic), void *arg);
/* Partitions of topic (or -ENOENT), and its replication factor. */
int	 kafka_topic_shape(const struct kafka_meta *m, const char *topic,
	    int *partitions, int *replication_factor);
struct kafka_partition {
	int32_t		 id;
	int32_t		 leader;
	const int32_t	*replicas;
	int		 nreplicas;
	const int32_t	*isrs;
	int		 nisrs;
	int		 err;	/* the partition's error code, 0 if none */
};
int	 kafka_list_partitions(const struct kafka_meta *m, const char *topic,
	    int (*fn)(void *arg, const struct kafka_partition *p), void *arg);
int	 kafka_broker_count(const struct kafka_meta *m);

/* ---- configs ------------------------------------------------------------ */

struct kafka_config {
	const char	*name;
	const char	*value;		/* NULL for a sensitive one */
	int		 read_only;
	int		 is_default;
	int		 sensitive;
	int		 override;	/* set on this topic (what topic.json shows) */
};
int	 kafka_configs(struct kafka *k, const char *topic, int may_block,
	    int64_t deadline, int (*fn)(void *arg, const struct kafka_config *c),
	    void *arg, struct buf *msg);

/* ---- offsets -------------------------------------------------------------- */

struct kafka_tp {
	const char	*topic;
	int32_t		 partition;
	int64_t		 low, high;	/* out: the watermarks */
};
/* Low and high watermarks of n partitions: two ListOffsets rounds
 * (earliest, latest), each one request per leader, within the deadline. */
int	 kafka_watermarks(struct kafka *k, struct kafka_tp *tp, size_t n,
	    int64_t deadline, struct buf *msg);

/* ---- groups --------------------------------------------------------------- */

struct kafka_member {
	const char	*client_id;
	const char	*host;
	const char	*member_id;
	/* assigned partitions: topic[i], partition[i] */
	size_t		 nassigned;
	const char *const *topics;
	const int32_t	*partitions;
};
int	 kafka_groups(struct kafka *k, int may_block, int64_t deadline,
	    struct kafka_groups **out, struct buf *msg);
void	 kafka_groups_put(struct kafka *k, struct kafka_groups *g);
int	 kafka_list_groups(const struct kafka_groups *g,
	    int (*fn)(void *arg, const char *group), void *arg);
/* The group's state ("Stable", "Empty", ...) or NULL if unknown. */
const char *kafka_group_state(const struct kafka_groups *g, const char *group);
int	 kafka_group_members(const struct kafka_groups *g, const char *group,
	    int (*fn)(void *arg, const struct kafka_member *mb), void *arg);
/* Committed offsets of a group (fetched on demand, cached for the TTL). */
int	 kafka_group_offsets(struct kafka *k, const char *group, int may_block,
	    int64_t deadline, int (*fn)(void *arg, const char *topic,
	    int32_t partition, int64_t offset), void *arg, struct buf *msg);

/* ---- writes ----------------------------------------------------------------- */

/* Create a topic; rf <= 0: the cluster's default.replication.factor (or
 * the number of brokers, at most 3). configs: name, value pairs. */
int	 kafka_create_topic(struct kafka *k, const char *topic, int partitions,
	    int rf, const char *const *configs, size_t nconfigs, int64_t deadline,
	    struct buf *msg);
/* validate_only: the broker checks the request and changes nothing. */
int	 kafka_grow_partitions(struct kafka *k, const char *topic, int total,
	    int validate_only, int64_t deadline, struct buf *msg);
/* Replace the topic's config overrides with exactly these (AlterConfigs
 * is not incremental: a key left out goes back to its default). */
int	 kafka_set_configs(struct kafka *k, const char *topic,
	    const char *const *configs, size_t nconfigs, int validate_only,
	    int64_t deadline, struct buf *msg);
/* Set one config (value NULL: back to its default), keeping every other
 * override as it is; "unchanged" sends nothing. */
int	 kafka_set_config(struct kafka *k, const char *topic, const char *key,
	    const char *value, int64_t deadline, struct buf *msg);
/* CreateTopics, with what was sent described in audit. */
int	 kafka_create_audited(struct kafka *k, const char *topic, long partitions,
	    long rf, const char *const *cfg, size_t ncfg, int64_t deadline,
	    struct buf *audit, struct buf *msg);
int	 kafka_delete_topic(struct kafka *k, const char *topic, int64_t deadline,
	    struct buf *msg);

/* ---- topic.json (kafka_doc.c) ----------------------------------------- */

/* The document of a topic (its overrides only in "config"). */
int	 kafka_topic_json(struct kafka *k, const struct kafka_meta *m,
	    const char *topic, int may_block, int64_t deadline, struct buf *out,
	    struct buf *msg);
/* Apply a written topic.json: create the topic (create), or change what
 * changed: more partitions, the overrides as written.  Checked before
 * anything is sent; what was sent is described in audit. */
int	 kafka_apply_topic_json(struct kafka *k, const char *topic,
	    const char *text, size_t len, int create, int64_t deadline,
	    struct buf *audit, struct buf *msg);

/* ---- following a topic ------------------------------------------------- */

struct kafka_follow;
/* A consumer without a group, at every partition's high watermark now. */
int	 kafka_follow_new(struct kafka *k, const char *topic, int64_t deadline,
	    struct kafka_follow **out, struct buf *msg);
/* Deliver what has arrived (waiting at most wait_ms for the first). */
int	 kafka_follow_poll(struct kafka_follow *f, int wait_ms,
	    int (*fn)(void *arg, int32_t partition, int64_t offset,
	    const void *key, size_t klen, const void *value, size_t vlen),
	    void *arg);
void	 kafka_follow_free(struct kafka_follow *f);
/* One message as a line: "PARTITION/OFFSET KEY VALUE\n", key and value
 * with backslash escapes for what is not printable ("-" for no key). */
int	 kafka_format_message(struct buf *out, int32_t partition, int64_t offset,
	    const void *key, size_t klen, const void *value, size_t vlen);

void	 kafka_status(struct kafka *k, struct buf *out);

#endif
