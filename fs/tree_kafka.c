/*
 * tree_kafka.c: topics/ and groups/, the Kafka rows of the node table, on
 * top of backends/kafka.h.
 *
 *   topics/<t>/topic.json, partitions, config/<key>, offsets, messages,
 *              ctl, groups/<g> (symlinks to groups/<g>)
 *   topics/<new>/           pending until partitions or topic.json is written
 *   groups/<g>/state, members, lag, offsets
 *
 * A consumer group id is any string ("..", "a/b"), so <g> is its escaped
 * name (names.h: %2F, %2E%2E, %25), and the group itself is the captured
 * argument every handler below reads (group_of, ctx_arg); topic names are
 * safe as they are (kafka_check_topic's rule).
 *
 * Listings and shapes come from the metadata and groups snapshots (one
 * request each per refresh); configs, watermarks and committed offsets are
 * asked when a file showing them is read.  Kafka pushes nothing, so
 * freshness is the TTL; when a refresh finds a topic appeared, vanished or
 * changed shape, the kernel's cached names and attributes of it are
 * dropped (on_change).
 *
 * messages is a stream shared by every open of a topic's file, like an
 * app's merged log (tree_mesos.c): the first open starts a consumer with
 * no group at every partition's end, and each stat or read at the end
 * takes what has arrived.  It ends with the last close.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "inode.h"
#include "local.h"
#include "names.h"
#include "tree.h"
#include "../backends/kafka.h"
#include "../backends/logmerge.h"

#define K		(FS->kafka)
#define HOLD_META	0
#define HOLD_GROUPS	1
#define MSG_KEEP	(16u << 20)	/* bytes of messages kept per topic */
#define MAX_PARTITIONS	100000

/* ---- snapshots --------------------------------------------------------- */

static void
put_meta(void *p)
{
	kafka_meta_put(K, p);
}

static void
put_groups(void *p)
{
	kafka_groups_put(K, p);
}

static int
meta_snap(struct nctx *c, struct kafka_meta **out)
{
	int rc;

	if (c->hold[HOLD_META].p) {
		*out = c->hold[HOLD_META].p;
		return 0;
	}
	if ((rc = kafka_meta(K, c->may_block, c->deadline, out, c->msg)) != 0)
		return rc;
	c->hold[HOLD_META].p = *out;
	c->hold[HOLD_META].put = put_meta;
	return 0;
}

static int
groups_snap(struct nctx *c, struct kafka_groups **out)
{
	int rc;

	if (c->hold[HOLD_GROUPS].p) {
		*out = c->hold[HOLD_GROUPS].p;
		return 0;
	}
	if ((rc = kafka_groups(K, c->may_block, c->deadline, out, c->msg)) != 0)
		return rc;
	c->hold[HOLD_GROUPS].p = *out;
	c->hold[HOLD_GROUPS].put = put_groups;
	return 0;
}

static const char *
topic_of(const struct nctx *c)
{
	const char *t = ctx_arg(c, N_TOPIC);

	return t ? t : ctx_arg(c, N_TPENDING);
}

/* ---- topics/ -------------------------------------------------------------- */

static int
add_topic(void *arg, const char *topic)
{
	return dirfill_add(arg, topic, N_TOPIC, NULL);
}

int
topics_list(struct nctx *c, struct dirfill *f)
{
	struct kafka_meta *m;
	int rc;

	if ((rc = meta_snap(c, &m)) != 0)
		return rc;
	return kafka_list_topics(m, add_topic, f);
}

int
topics_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct kafka_meta *m;
	int rc;

	(void)arg;
	if ((rc = meta_snap(c, &m)) != 0)
		return rc;
	if ((rc = kafka_topic_shape(m, name, NULL, NULL)) != 0)
		return rc;
	*row = N_TOPIC;
	return 0;
}

int
topics_mkdir(struct nctx *c, const char *name, enum node_id *row)
{
	*row = N_TPENDING;	/* created when partitions or topic.json is written */
	return kafka_check_topic(name, c->msg);
}

/* ---- topic.json ------------------------------------------------------------ */

int
topic_json_read(struct nctx *c, struct buf *out)
{
	struct kafka_meta *m;
	int rc;

	if ((rc = meta_snap(c, &m)) != 0)
		return rc;
	return kafka_topic_json(K, m, topic_of(c), c->may_block, c->deadline, out,
	    c->msg);
}

int
topic_json_write(struct nctx *c, const char *p, size_t n)
{
	if (!c->may_block)
		return -E_WOULDBLOCK;
	return kafka_apply_topic_json(K, topic_of(c), p, n, 0, c->deadline,
	    &c->op->audit, c->msg);
}

/* ---- partitions ---------------------------------------------------------- */

int
topic_parts_read(struct nctx *c, struct buf *out)
{
	struct kafka_meta *m;
	int rc, parts;

	if ((rc = meta_snap(c, &m)) != 0 ||
	    (rc = kafka_topic_shape(m, topic_of(c), &parts, NULL)) != 0)
		return rc;
	return buf_printf(out, "%d\n", parts);
}

static int
parse_partitions(struct nctx *c, const char *p, size_t n, long *out)
{
	int rc;

	if ((rc = value_count(p, n, "partitions", out, c->msg)) != 0)
		return rc;
	if (*out < 1 || *out > MAX_PARTITIONS) {
		buf_printf(c->msg, "partitions: %ld; a topic has 1 to %d partitions, "
		    "nothing was sent", *out, MAX_PARTITIONS);
		return -EINVAL;
	}
	return 0;
}

int
topic_parts_write(struct nctx *c, const char *p, size_t n)
{
	const char *topic = topic_of(c);
	struct kafka_meta *m;
	long want;
	int rc, parts;

	if ((rc = parse_partitions(c, p, n, &want)) != 0)
		return rc;
	if (!c->may_block)
		return -E_WOULDBLOCK;
	kafka_invalidate(K);
	if ((rc = meta_snap(c, &m)) != 0 ||
	    (rc = kafka_topic_shape(m, topic, &parts, NULL)) != 0)
		return rc;
	if (want < parts) {
		buf_printf(c->msg, "partitions: %s has %d; Kafka cannot remove "
		    "partitions (asked for %ld), nothing was sent", topic, parts,
		    want);
		return -EINVAL;
	}
	if (want == parts) {
		buf_printf(c->msg, "%s already has %d partitions; nothing was sent",
		    topic, parts);
		return 0;
	}
	buf_printf(&c->op->audit, "CreatePartitions %s to %ld", topic, want);
	return kafka_grow_partitions(K, topic, (int)want, 0, c->deadline, c->msg);
}

/* ---- creating a topic -------------------------------------------------- */

/* The pending directory is the real topic now: same inode, real row. */
static void
pending_done(struct nctx *c)
{
	struct inode *d = c->node ? c->node->parent : NULL;

	if (d != NULL && d->row == N_TPENDING)
		pending_resolved(d, N_TOPIC, NULL);
}

static int
create(struct nctx *c, long partitions)
{
	int rc;

	rc = kafka_create_audited(K, topic_of(c), partitions, -1, NULL, 0,
	    c->deadline, &c->op->audit, c->msg);
	if (rc == 0)
		pending_done(c);
	return rc;
}

int
tpending_parts_write(struct nctx *c, const char *p, size_t n)
{
	long want;
	int rc;

	if ((rc = parse_partitions(c, p, n, &want)) != 0)
		return rc;
	if ((rc = kafka_check_topic(topic_of(c), c->msg)) != 0)
		return rc;
	if (!c->may_block)
		return -E_WOULDBLOCK;
	return create(c, want);
}

int
tpending_json_read(struct nctx *c, struct buf *out)
{
	/* The name passed kafka_check_topic at mkdir: nothing to escape. */
	return buf_printf(out, "{\n  \"name\": \"%s\",\n  \"partitions\": 1,\n"
	    "  \"config\": {}\n}\n", topic_of(c));
}

int
tpending_json_write(struct nctx *c, const char *p, size_t n)
{
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	rc = kafka_apply_topic_json(K, topic_of(c), p, n, 1, c->deadline,
	    &c->op->audit, c->msg);
	if (rc == 0)
		pending_done(c);
	return rc;
}

/* ---- config/ --------------------------------------------------------------- */

static enum node_id
config_row(const struct kafka_config *kc)
{
	return kc->read_only || kc->sensitive ? N_TCONFIG_RO : N_TCONFIG;
}

static int
add_config(void *arg, const struct kafka_config *kc)
{
	return dirfill_add(arg, kc->name, config_row(kc), NULL);
}

int
tconfig_list(struct nctx *c, struct dirfill *f)
{
	return kafka_configs(K, topic_of(c), c->may_block, c->deadline,
	    add_config, f, c->msg);
}

struct cfgfind {
	const char	*name;
	enum node_id	 row;
	struct buf	*out;
	int		 found;
};

static int
find_config(void *arg, const struct kafka_config *kc)
{
	struct cfgfind *ff = arg;

	if (strcmp(kc->name, ff->name) != 0)
		return 0;
	ff->found = 1;
	ff->row = config_row(kc);
	if (ff->out && kc->value && !kc->sensitive)
		buf_printf(ff->out, "%s\n", kc->value);
	return 1;
}

int
tconfig_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct cfgfind ff = { name, N_TCONFIG, NULL, 0 };
	int rc;

	(void)arg;
	rc = kafka_configs(K, topic_of(c), c->may_block, c->deadline,
	    find_config, &ff, c->msg);
	if (rc < 0)
		return rc;
	if (!ff.found)
		return -ENOENT;
	*row = ff.row;
	return 0;
}

int
tconfig_create(struct nctx *c, const char *name, enum node_id *row)
{
	(void)row;
	buf_printf(c->msg, "'%.100s' is not a config of topic %s: Kafka has a "
	    "fixed set of topic configs (ls config/ lists them); nothing was sent",
	    name, topic_of(c));
	return -EINVAL;
}

int
tconfig_read(struct nctx *c, struct buf *out)
{
	struct cfgfind ff = { c->name, N_TCONFIG, out, 0 };
	int rc;

	rc = kafka_configs(K, topic_of(c), c->may_block, c->deadline,
	    find_config, &ff, c->msg);
	if (rc < 0)
		return rc;
	return ff.found ? out->err : -ENOENT;
}

/* A value write's text: one trailing newline off; no NUL. */
static int
value_text(struct nctx *c, const char *p, size_t n, char **out)
{
	const char *s;

	n = trim_value(p, n, &s);
	if (memchr(s, '\0', n)) {
		buf_printf(c->msg, "%s: the value contains a NUL byte, nothing was "
		    "sent", c->name);
		return -EINVAL;
	}
	if (n == 0) {
		buf_printf(c->msg, "%s: empty value, nothing was sent (to go back "
		    "to the default: echo unset config %s > ctl)", c->name, c->name);
		return -EINVAL;
	}
	if ((*out = strndup(s, n)) == NULL)
		return -ENOMEM;
	return 0;
}

int
tconfig_write(struct nctx *c, const char *p, size_t n)
{
	char *value = NULL;
	int rc;

	if ((rc = value_text(c, p, n, &value)) != 0)
		return rc;
	if (!c->may_block) {
		free(value);
		return -E_WOULDBLOCK;
	}
	buf_printf(&c->op->audit, "AlterConfigs %s: %s=%s", topic_of(c), c->name,
	    value);
	rc = kafka_set_config(K, topic_of(c), c->name, value, c->deadline, c->msg);
	free(value);
	return rc;
}

/* ---- offsets --------------------------------------------------------------- */

struct tplist {
	struct kafka_tp	*tp;
	size_t		 n;
};

static int
add_tp(void *arg, const struct kafka_partition *p)
{
	struct tplist *l = arg;

	l->tp[l->n].partition = p->id;
	l->n++;
	return 0;
}

int
topic_offsets_read(struct nctx *c, struct buf *out)
{
	const char *topic = topic_of(c);
	struct tplist l = { NULL, 0 };
	struct kafka_meta *m;
	long long total = 0;
	size_t i;
	int rc, parts;

	if ((rc = meta_snap(c, &m)) != 0)
		return rc;
	if ((rc = kafka_topic_shape(m, topic, &parts, NULL)) != 0)
		return rc;
	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((l.tp = calloc((size_t)parts + 1, sizeof(*l.tp))) == NULL)
		return -ENOMEM;
	kafka_list_partitions(m, topic, add_tp, &l);
	for (i = 0; i < l.n; i++)
		l.tp[i].topic = topic;
	if ((rc = kafka_watermarks(K, l.tp, l.n, c->deadline, c->msg)) != 0)
		goto out;
	buf_addstr(out, "partition\tlow\thigh\tmessages\n");
	for (i = 0; i < l.n; i++) {
		buf_printf(out, "%d\t%lld\t%lld\t%lld\n", (int)l.tp[i].partition,
		    (long long)l.tp[i].low, (long long)l.tp[i].high,
		    (long long)(l.tp[i].high - l.tp[i].low));
		total += l.tp[i].high - l.tp[i].low;
	}
	buf_printf(out, "total\t\t\t%lld\n", total);
	rc = out->err;
out:
	free(l.tp);
	return rc;
}

/* ---- messages --------------------------------------------------------------- */

struct mfollow {
	struct shared	 sh;		/* key: the topic */
	pthread_mutex_t	 lock;		/* guards everything below */
	struct kafka_follow *kf;	/* NULL until the first open made it */
	struct logmerge	*lm;
	struct buf	 line;
};

static int
mf_init(struct shared *s)
{
	struct mfollow *f = (struct mfollow *)s;

	if ((f->lm = logmerge_new(MSG_KEEP)) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	buf_init(&f->line, 0);
	return 0;
}

static void
mf_fini(struct shared *s)
{
	struct mfollow *f = (struct mfollow *)s;

	kafka_follow_free(f->kf);
	logmerge_free(f->lm);
	buf_free(&f->line);
	pthread_mutex_destroy(&f->lock);
}

static struct registry mfollows = REGISTRY_INIT(struct mfollow, mf_init,
    mf_fini);

static struct mfollow *
mf_get(const char *topic, int create)
{
	return (struct mfollow *)shared_get(&mfollows, topic, create);
}

static void
mf_put(struct mfollow *f)
{
	shared_put(&mfollows, &f->sh);
}

static int
on_message(void *arg, int32_t partition, int64_t offset, const void *key,
    size_t klen, const void *value, size_t vlen)
{
	struct mfollow *f = arg;

	buf_reset(&f->line);
	kafka_format_message(&f->line, partition, offset, key, klen, value, vlen);
	if (f->line.err == 0)
		logmerge_append(f->lm, f->line.data, f->line.len);
	return 0;
}

/* Take what has arrived (never waits; the caller holds f->lock). */
static void
mf_pull(struct mfollow *f)
{
	if (f->kf)
		kafka_follow_poll(f->kf, 0, on_message, f);
}

int
messages_open(struct nctx *c, void **state)
{
	struct mfollow *f;
	int rc = 0;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((f = mf_get(topic_of(c), 1)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	if (f->kf == NULL)
		rc = kafka_follow_new(K, f->sh.key, c->deadline, &f->kf, c->msg);
	pthread_mutex_unlock(&f->lock);
	if (rc != 0) {
		mf_put(f);
		return rc;
	}
	*state = f;
	return 0;
}

int
messages_size(struct nctx *c, void *state, off_t *size)
{
	struct mfollow *f = state;

	/* fstat comes without a file handle: find the open one, if any.
	 * When nothing has it open, nothing is followed: size 0. */
	if (f == NULL && (f = mf_get(topic_of(c), 0)) == NULL) {
		*size = 0;
		return 0;
	}
	pthread_mutex_lock(&f->lock);
	mf_pull(f);
	*size = (off_t)logmerge_size(f->lm);
	pthread_mutex_unlock(&f->lock);
	if (f != state)
		mf_put(f);
	return 0;
}

ssize_t
messages_read(struct nctx *c, void *state, char *buf, size_t len, off_t off)
{
	struct mfollow *f = state;
	ssize_t n;

	pthread_mutex_lock(&f->lock);
	if ((uint64_t)off >= logmerge_size(f->lm))
		mf_pull(f);
	n = logmerge_read(f->lm, buf, len, (uint64_t)off);
	pthread_mutex_unlock(&f->lock);
	if (n == -ENODATA) {
		buf_printf(c->msg, "messages keeps the last %u MiB; this reader fell "
		    "behind", MSG_KEEP >> 20);
		n = -EIO;
	}
	return n;
}

void
messages_close(void *state)
{
	if (state)
		mf_put(state);
}

/* ---- ctl ---------------------------------------------------------------------- */

int
topic_ctl_read(struct nctx *c, struct buf *out)
{
	(void)c;
	return buf_addstr(out,
	    "delete               delete the topic and its messages (DeleteTopics)\n"
	    "unset config KEY     put a config back to its default\n");
}

int
topic_ctl_write(struct nctx *c, const char *p, size_t n)
{
	const char *topic = topic_of(c), *s;
	char cmd[512], path[4096];
	int rc;

	n = trim_value(p, n, &s);
	if (n == 0 || n >= sizeof(cmd) || memchr(s, '\0', n)) {
		buf_addstr(c->msg, "ctl: write one command: delete, or unset config "
		    "KEY (cat ctl lists them); nothing was sent");
		return -EINVAL;
	}
	memcpy(cmd, s, n);
	cmd[n] = '\0';
	if (strcmp(cmd, "delete") == 0) {
		if (!c->may_block)
			return -E_WOULDBLOCK;
		buf_printf(&c->op->audit, "DeleteTopics %s", topic);
		if ((rc = kafka_delete_topic(K, topic, c->deadline, c->msg)) != 0)
			return rc;
		snprintf(path, sizeof(path), "topics/%s", topic);
		inval_fspath(path);
		return 0;
	}
	if (strncmp(cmd, "unset config ", 13) == 0 && cmd[13] &&
	    strchr(cmd + 13, ' ') == NULL) {
		if (!c->may_block)
			return -E_WOULDBLOCK;
		buf_printf(&c->op->audit, "AlterConfigs %s: %s back to its default",
		    topic, cmd + 13);
		return kafka_set_config(K, topic, cmd + 13, NULL, c->deadline, c->msg);
	}
	buf_addstr(c->msg, "ctl: unknown command ");
	buf_quote(c->msg, cmd, n);
	buf_addstr(c->msg, "; the commands are delete and unset config KEY; "
	    "nothing was sent");
	return -EINVAL;
}

/* ---- a topic's groups ----------------------------------------------------------- */

struct tg {
	struct nctx	*c;
	const char	*topic;
	const char	*group;		/* the group being checked */
	const char	*only;		/* match: just this group */
	struct dirfill	*f;
	int		 hit;
	int		 rc;
};

static int
member_hit(void *arg, const struct kafka_member *mb)
{
	struct tg *t = arg;
	size_t i;

	for (i = 0; i < mb->nassigned; i++)
		if (strcmp(mb->topics[i], t->topic) == 0)
			t->hit = 1;
	return t->hit;
}

static int
offset_hit(void *arg, const char *topic, int32_t partition, int64_t offset)
{
	struct tg *t = arg;

	(void)partition;
	(void)offset;
	if (strcmp(topic, t->topic) == 0)
		t->hit = 1;
	return t->hit;
}

/* A group's entry: its escaped name, the group as the argument; a group
 * with no file name (empty, too long) is left out. */
static int
add_escaped(struct dirfill *f, const char *group, enum node_id row)
{
	char *name = name_escape(group);
	int rc;

	if (name == NULL)
		return 0;
	rc = dirfill_add(f, name, row, group);
	free(name);
	return rc;
}

static int
each_group(void *arg, const char *group)
{
	struct tg *t = arg;
	struct kafka_groups *g = t->c->hold[HOLD_GROUPS].p;
	int rc;

	if (t->only && strcmp(t->only, group) != 0)
		return 0;
	t->hit = 0;
	kafka_group_members(g, group, member_hit, t);
	if (!t->hit) {
		rc = kafka_group_offsets(K, group, t->c->may_block, t->c->deadline,
		    offset_hit, t, t->c->msg);
		if (rc < 0 && rc != -ENOENT) {
			t->rc = rc;
			return 1;
		}
	}
	if (t->hit && t->f)
		return add_escaped(t->f, group, N_TOPIC_GROUP);
	return t->hit && t->only ? 1 : 0;
}

static int
topic_groups(struct nctx *c, struct dirfill *f, const char *only, int *hit)
{
	struct tg t = { c, topic_of(c), NULL, only, f, 0, 0 };
	struct kafka_groups *g;
	int rc;

	if ((rc = groups_snap(c, &g)) != 0)
		return rc;
	rc = kafka_list_groups(g, each_group, &t);
	if (t.rc)
		return t.rc;
	if (rc < 0)
		return rc;
	*hit = t.hit;
	return 0;
}

int
tgroups_list(struct nctx *c, struct dirfill *f)
{
	int hit;

	return topic_groups(c, f, NULL, &hit);
}

int
tgroups_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	char *group;
	int rc, hit = 0;

	if ((group = name_unescape(name)) == NULL)
		return -ENOENT;
	if ((rc = topic_groups(c, NULL, group, &hit)) == 0 && !hit)
		rc = -ENOENT;
	if (rc == 0) {
		*row = N_TOPIC_GROUP;
		*arg = group;
	} else {
		free(group);
	}
	return rc;
}

int
tgroup_link_read(struct nctx *c, struct buf *out)
{
	return buf_printf(out, "../../../groups/%s", c->name);	/* escaped */
}

/* ---- groups/ ---------------------------------------------------------------- */

static const char *
group_of(const struct nctx *c)
{
	return ctx_arg(c, N_KGROUP);
}

static int
add_group(void *arg, const char *group)
{
	return add_escaped(arg, group, N_KGROUP);
}

int
kgroups_list(struct nctx *c, struct dirfill *f)
{
	struct kafka_groups *g;
	int rc;

	if ((rc = groups_snap(c, &g)) != 0)
		return rc;
	return kafka_list_groups(g, add_group, f);
}

int
kgroups_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct kafka_groups *g;
	char *group;
	int rc;

	if ((group = name_unescape(name)) == NULL)
		return -ENOENT;
	if ((rc = groups_snap(c, &g)) == 0 && kafka_group_state(g, group) == NULL)
		rc = -ENOENT;
	if (rc == 0) {
		*row = N_KGROUP;
		*arg = group;
	} else {
		free(group);
	}
	return rc;
}

int
kgroup_state_read(struct nctx *c, struct buf *out)
{
	struct kafka_groups *g;
	const char *state;
	int rc;

	if ((rc = groups_snap(c, &g)) != 0)
		return rc;
	if ((state = kafka_group_state(g, group_of(c))) == NULL)
		return -ENOENT;
	return buf_printf(out, "%s\n", state);
}

static int
render_member(void *arg, const struct kafka_member *mb)
{
	struct buf *out = arg;
	size_t i;

	buf_printf(out, "%s\t%s\t", mb->client_id, mb->host);
	for (i = 0; i < mb->nassigned; i++)
		buf_printf(out, "%s%s/%d", i ? "," : "", mb->topics[i],
		    (int)mb->partitions[i]);
	if (mb->nassigned == 0)
		buf_addch(out, '-');
	buf_printf(out, "\t%s\n", mb->member_id);
	return 0;
}

int
kgroup_members_read(struct nctx *c, struct buf *out)
{
	struct kafka_groups *g;
	int rc;

	if ((rc = groups_snap(c, &g)) != 0)
		return rc;
	buf_addstr(out, "client_id\thost\tassigned\tmember_id\n");
	if ((rc = kafka_group_members(g, group_of(c), render_member, out)) != 0)
		return rc;
	return out->err;
}

static int
render_offset(void *arg, const char *topic, int32_t partition, int64_t offset)
{
	return buf_printf(arg, "%s\t%d\t%lld\n", topic, (int)partition,
	    (long long)offset) < 0;
}

int
kgroup_offsets_read(struct nctx *c, struct buf *out)
{
	int rc;

	buf_addstr(out, "topic\tpartition\toffset\n");
	if ((rc = kafka_group_offsets(K, group_of(c), c->may_block, c->deadline,
	    render_offset, out, c->msg)) != 0)
		return rc;
	return out->err;
}

/* Lag: per committed (topic, partition), and per assigned one that has
 * nothing committed yet (its lag unknown, so not in the total). */
struct lagrow {
	char		*topic;
	int32_t		 partition;
	int64_t		 committed;	/* -1: nothing committed */
};

struct lag {
	struct lagrow	*r;
	size_t		 n, alloc;
	int		 err;
};

static void
lag_add(struct lag *l, const char *topic, int32_t partition, int64_t committed)
{
	struct lagrow *nr;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->r[i].partition == partition && strcmp(l->r[i].topic, topic) == 0)
			return;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		if ((nr = realloc(l->r, l->alloc * sizeof(*nr))) == NULL) {
			l->err = -ENOMEM;
			return;
		}
		l->r = nr;
	}
	if ((l->r[l->n].topic = strdup(topic)) == NULL) {
		l->err = -ENOMEM;
		return;
	}
	l->r[l->n].partition = partition;
	l->r[l->n].committed = committed;
	l->n++;
}

static int
lag_committed(void *arg, const char *topic, int32_t partition, int64_t offset)
{
	lag_add(arg, topic, partition, offset);
	return 0;
}

static int
lag_assigned(void *arg, const struct kafka_member *mb)
{
	size_t i;

	for (i = 0; i < mb->nassigned; i++)
		lag_add(arg, mb->topics[i], mb->partitions[i], -1);
	return 0;
}

static int
lag_cmp(const void *a, const void *b)
{
	const struct lagrow *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int
kgroup_lag_read(struct nctx *c, struct buf *out)
{
	struct kafka_groups *g;
	struct lag l = { NULL, 0, 0, 0 };
	struct kafka_tp *tp = NULL;
	long long total = 0;
	int64_t hi;
	size_t i;
	int rc;

	if ((rc = groups_snap(c, &g)) != 0)
		return rc;
	if (kafka_group_state(g, group_of(c)) == NULL)
		return -ENOENT;
	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((rc = kafka_group_offsets(K, group_of(c), 1, c->deadline,
	    lag_committed, &l, c->msg)) != 0 && rc != -ENOENT)
		goto out;
	kafka_group_members(g, group_of(c), lag_assigned, &l);
	if ((rc = l.err) != 0)
		goto out;
	if (l.n > 0)
		qsort(l.r, l.n, sizeof(*l.r), lag_cmp);
	if ((tp = calloc(l.n + 1, sizeof(*tp))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		tp[i].topic = l.r[i].topic;
		tp[i].partition = l.r[i].partition;
	}
	if ((rc = kafka_watermarks(K, tp, l.n, c->deadline, c->msg)) != 0)
		goto out;
	buf_addstr(out, "topic\tpartition\tcommitted\thigh\tlag\n");
	for (i = 0; i < l.n; i++) {
		hi = tp[i].high;
		if (l.r[i].committed < 0) {
			buf_printf(out, "%s\t%d\t-\t%lld\t-\n", l.r[i].topic,
			    (int)l.r[i].partition, (long long)hi);
			continue;
		}
		/* A committed offset past the end (a truncated log) is no lag. */
		buf_printf(out, "%s\t%d\t%lld\t%lld\t%lld\n", l.r[i].topic,
		    (int)l.r[i].partition, (long long)l.r[i].committed,
		    (long long)hi, (long long)(hi > l.r[i].committed ?
		    hi - l.r[i].committed : 0));
		total += hi > l.r[i].committed ? hi - l.r[i].committed : 0;
	}
	buf_printf(out, "total\t\t\t\t%lld\n", total);
	rc = out->err;
out:
	free(tp);
	for (i = 0; i < l.n; i++)
		free(l.r[i].topic);
	free(l.r);
	return rc;
}

/* ---- changes found by a refresh -> kernel invalidation ---------------------- */

static void
on_change(void *arg, const char *topic)
{
	static const char *const files[] = {
		"", "/topic.json", "/partitions", "/offsets",
	};
	char path[4096];
	size_t i;

	(void)arg;
	if (topic == NULL) {
		inval_fspath("topics");
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "topics/%s%s", topic, files[i]);
		inval_fspath(path);
	}
}

/* ---- lifecycle ---------------------------------------------------------------- */

int
tree_kafka_start(void)
{
	struct kafka_opts ko;
	struct buf msg = BUF_INIT(1024);
	int rc;

	if (FS->opt.kafka == NULL)
		return 0;
	memset(&ko, 0, sizeof(ko));
	ko.brokers = FS->opt.kafka;
	ko.props = (const char *const *)FS->opt.kafka_props;
	ko.nprops = FS->opt.nkafka_props;
	ko.timeout_ms = backend_timeout_ms(BK_KAFKA);
	ko.ttl_ms = (int)(FS->opt.ttl * 1000);
	if ((FS->kafka = kafka_new(&ko, &msg)) == NULL) {
		log_msg("kafka: cannot start%s%s", msg.len ? ": " : "",
		    buf_str(&msg));
		buf_free(&msg);
		return -EINVAL;
	}
	buf_free(&msg);
	if ((rc = kafka_start(FS->kafka, on_change, NULL)) != 0)
		log_msg("kafka: cannot start a client for %s", FS->opt.kafka);
	return rc;
}

void
tree_kafka_shutdown(void)
{
	kafka_shutdown(FS->kafka);
}

void
tree_kafka_stop(void)
{
	kafka_free(FS->kafka);
	FS->kafka = NULL;
}
