/*
 * mesos_files.c: the files of task sandboxes, through an agent's /files
 * endpoints: reads by offset, size probes, and the browse cache.
 *
 * Facts from API-NOTES 2.4: /files/read with offset -1 (or none) answers
 * {"data":"","offset":SIZE}; every read is capped at 64 KiB whatever the
 * length asked; the reply echoes the requested offset; at or past the end
 * the data is empty.  The data string holds the file's bytes as they are,
 * so a log with invalid UTF-8 makes JSON no strict parser accepts:
 * mesos_parse_read() is a lenient decoder for exactly that reply.
 * /files/browse gives each entry's size and mtime (whole seconds), from
 * one stat() on the agent.
 *
 * What it does not do: find sandboxes (mesos.c).  File contents and sizes
 * are never kept: they grow.  Listings are kept for the TTL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mesos_int.h"

#define READ_CAP	65536	/* what an agent returns at most per read */
#define WAIT_SLICE_MS	100	/* a waiter looks at its cancel flag this often */

/* ---- reads and size probes ---------------------------------------------- */

static int
file_path(struct buf *q, const char *what, const struct mesos_sandbox *sb,
    const char *rel)
{
	struct buf p = BUF_INIT(8192);
	int rc;

	buf_addstr(&p, sb->dir);
	if (rel && *rel) {
		buf_addch(&p, '/');
		buf_addstr(&p, rel);
	}
	buf_printf(q, "/files/%s?path=", what);
	http_escape(q, buf_str(&p));
	rc = p.err ? p.err : q->err;
	buf_free(&p);
	return rc;
}

/* Count a sandbox file request; a failure's words are kept for
 * .archonfs/status, since a failed read has no .error of its own. */
static void
count(struct mesos *m, int failed, const struct buf *msg)
{
	pthread_mutex_lock(&m->lock);
	m->file_reads++;
	if (failed) {
		m->file_errors++;
		snprintf(m->file_error, sizeof(m->file_error), "%s",
		    msg && msg->len ? msg->data : "unknown error");
	}
	pthread_mutex_unlock(&m->lock);
}

/* One /files/read; *n bytes into out. */
static int
read_at(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t off, size_t len, char *out, size_t *n, int64_t *roff,
    int64_t deadline, const volatile int *cancel, struct buf *msg)
{
	struct http_client *c = mesos_agent_http(m, sb);
	struct http_req rq = { 0 };
	struct buf q = BUF_INIT(16384);
	struct http_resp rs;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	http_resp_init(&rs);
	if ((rc = file_path(&q, "read", sb, rel)) != 0)
		goto out;
	if (off < 0)
		buf_addstr(&q, "&offset=-1");
	else
		buf_printf(&q, "&offset=%lld&length=%zu", (long long)off, len);
	rq.method = "GET";
	rq.path = q.data;
	rq.deadline = deadline;
	rq.cancel = cancel;
	rq.idempotent = 1;
	/* 64 KiB of data, JSON-escaped, is at most 6 times that. */
	rq.max_body = 6 * READ_CAP + 4096;
	if ((rc = http_do(c, &rq, &rs, msg)) != 0)
		goto out;
	if (rs.status != 200) {
		if (rs.status == 400 && strstr(buf_str(&rs.body), "directory"))
			rc = -EISDIR;
		else if (rs.status == 404)
			rc = -ENOENT;
		else if ((rc = -http_status_errno(rs.status)) == 0)
			rc = -EIO;
		buf_reset(msg);
		buf_printf(msg, "mesos agent %s: /files/read %s%s%s: HTTP %ld%s",
		    sb->agent_id, sb->dir, rel && *rel ? "/" : "", rel ? rel : "",
		    rs.status, rs.status == 404 ? " (the sandbox is gone)" : "");
		goto out;
	}
	rc = mesos_parse_read(buf_str(&rs.body), rs.body.len, out, len, n, roff);
	if (rc != 0) {
		buf_reset(msg);
		buf_printf(msg, "mesos agent %s: /files/read %s%s%s: unreadable "
		    "reply (not {\"data\": string, \"offset\": number}, or more "
		    "data than asked)", sb->agent_id, sb->dir, rel && *rel ? "/" : "",
		    rel ? rel : "");
	}
out:
	count(m, rc != 0, msg);
	http_resp_free(&rs);
	buf_free(&q);
	return rc;
}

/*
 * A virtual sandbox (mesos.h) the agent is known not to serve: its real
 * directory, from the agent's index, in *real.  Returns sb, real, or NULL
 * with *rc set.
 */
static const struct mesos_sandbox *
usable(struct mesos *m, const struct mesos_sandbox *sb, int64_t deadline,
    struct mesos_sandbox *real, int *rc, struct buf *msg)
{
	*rc = 0;
	if (!sb->virt || mesos_virtual_ok(m, sb))
		return sb;
	if ((*rc = mesos_real_sandbox(m, sb, deadline, real, msg)) != 0)
		return NULL;
	return real;
}

/* A 404 for a virtual path: the real directory, if the index has one. */
static int
fallback(struct mesos *m, const struct mesos_sandbox *sb, int rc,
    int64_t deadline, struct mesos_sandbox *real)
{
	struct buf scratch = BUF_INIT(1024);
	int found;

	if (rc != -ENOENT || !sb->virt)
		return 0;
	found = mesos_real_sandbox(m, sb, deadline, real, &scratch) == 0;
	buf_free(&scratch);
	return found;
}

static int
read_once(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t off, size_t len, char *out, size_t *n, int64_t *roff,
    int64_t deadline, const volatile int *cancel, struct buf *msg)
{
	struct mesos_sandbox real;
	const struct mesos_sandbox *use;
	int rc;

	if ((use = usable(m, sb, deadline, &real, &rc, msg)) == NULL)
		return rc;
	rc = read_at(m, use, rel, off, len, out, n, roff, deadline, cancel, msg);
	if (use == sb && fallback(m, sb, rc, deadline, &real)) {
		rc = read_at(m, &real, rel, off, len, out, n, roff, deadline,
		    cancel, msg);
		if (rc == 0)
			mesos_no_virtual(m, sb);
	}
	return rc;
}

static void probe_seen(struct mesos *m, const struct mesos_sandbox *sb,
    const char *rel, off_t size, int64_t *mtime_ms);

int
mesos_probe(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel, off_t *size,
    int64_t *mtime_ms, struct buf *msg)
{
	int64_t roff = 0;
	size_t n = 0;
	char none[1];
	int rc;

	rc = read_once(m, sb, rel, -1, 0, none, &n, &roff, deadline, cancel, msg);
	if (rc == 0) {
		if (roff < 0) {
			buf_addstr(msg, "mesos: negative size in a size probe");
			return -EIO;
		}
		*size = (off_t)roff;
		probe_seen(m, sb, rel, *size, mtime_ms);
	}
	return rc;
}

int
mesos_size(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel, off_t *size, struct buf *msg)
{
	int64_t mtime;

	return mesos_probe(m, sb, rel, deadline, cancel, size, &mtime, msg);
}

ssize_t
mesos_read(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    char *buf, size_t len, off_t off, int64_t deadline,
    const volatile int *cancel, struct buf *msg)
{
	size_t got = 0, n, want;
	int64_t roff;
	int rc;

	/* The agent returns at most 64 KiB a call: loop until len or EOF. */
	while (got < len) {
		want = len - got > READ_CAP ? READ_CAP : len - got;
		n = 0;
		rc = read_once(m, sb, rel, (int64_t)off + (int64_t)got, want,
		    buf + got, &n, &roff, deadline, cancel, msg);
		if (rc != 0)
			return got ? (ssize_t)got : rc;
		if (n == 0)
			break;
		got += n;
	}
	return (ssize_t)got;
}

/* "drwxr-xr-x" -> 0755 */
static mode_t
mode_bits(const char *s)
{
	static const mode_t bits[9] = { 0400, 0200, 0100, 040, 020, 010, 04, 02, 01 };
	mode_t m = 0;
	int i;

	if (s == NULL || strlen(s) < 10)
		return 0444;
	for (i = 0; i < 9; i++)
		if (s[i + 1] != '-')
			m |= bits[i];
	return m;
}

/* ---- the browse cache ----------------------------------------------------
 *
 * One /files/browse answers a whole `ls -l` of a sandbox directory: its
 * listing, the lookup of each name, each file's size and mtime, and, for
 * the sandbox itself, the task directory's stdout and stderr.  Listings
 * are kept per (agent, path) in a hash table for the TTL, with an LRU
 * bounded at LIST_BYTES_MAX.  Single flight: the first caller to need a
 * listing browses (on its own worker, with its own deadline); callers
 * that need it meanwhile wait for that browse instead of sending theirs.
 * A listing is never changed once made (callers hold it without the
 * lock); a probe that finds a size the listing does not show replaces
 * the listing by a corrected copy.
 */

void
mesos_lcache_init(struct lcache *lc)
{
	pthread_condattr_t ca;

	memset(lc, 0, sizeof(*lc));
	pthread_mutex_init(&lc->lock, NULL);
	pthread_mutex_init(&lc->pfx_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lc->done, &ca);
	pthread_condattr_destroy(&ca);
}

static void
dir_drop_locked(struct dirdata *d)
{
	if (d && --d->refs == 0)
		free(d);
}

static size_t
slot_cost(const struct lslot *s)
{
	return sizeof(*s) + strlen(s->key) + 1 + (s->d ? s->d->bytes : 0);
}

static void
lru_unlink_locked(struct lcache *lc, struct lslot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		lc->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		lc->tail = s->prev;
	s->prev = s->next = NULL;
}

/* Put an unlinked slot first (most recently used). */
static void
lru_push_locked(struct lcache *lc, struct lslot *s)
{
	s->next = lc->head;
	if (lc->head)
		lc->head->prev = s;
	lc->head = s;
	if (lc->tail == NULL)
		lc->tail = s;
}

static void
lru_front_locked(struct lcache *lc, struct lslot *s)
{
	if (lc->head == s)
		return;
	lru_unlink_locked(lc, s);
	lru_push_locked(lc, s);
}

static void
slot_free(struct lslot *s)
{
	dir_drop_locked(s->d);
	free(s->errmsg);
	free(s);
}

/* Take s out of the table; it is freed now, or by its last holder. */
static void
slot_unlink_locked(struct lcache *lc, struct lslot *s)
{
	struct lslot **sp;

	if (!s->linked)
		return;
	for (sp = &lc->buckets[s->hash & (LIST_BUCKETS - 1)]; *sp; sp = &(*sp)->hnext) {
		if (*sp == s) {
			*sp = s->hnext;
			break;
		}
	}
	lru_unlink_locked(lc, s);
	lc->bytes -= slot_cost(s);
	lc->nslots--;
	s->linked = 0;
	if (s->refs == 0)
		slot_free(s);
}

static void
slot_release_locked(struct lcache *lc, struct lslot *s)
{
	(void)lc;
	if (--s->refs == 0 && !s->linked)
		slot_free(s);
}

/* Replace the listing a linked slot keeps, keeping the byte count. */
static void
slot_set_locked(struct lcache *lc, struct lslot *s, struct dirdata *d)
{
	lc->bytes -= slot_cost(s);
	dir_drop_locked(s->d);
	s->d = d;
	if (d)
		d->refs++;
	lc->bytes += slot_cost(s);
}

/* Over the bound: drop the least recently used listings not in use. */
static void
evict_locked(struct lcache *lc)
{
	struct lslot *s, *prev;

	for (s = lc->tail; s && lc->bytes > LIST_BYTES_MAX; s = prev) {
		prev = s->prev;
		if (s->busy || s->refs)
			continue;
		slot_unlink_locked(lc, s);
		lc->evictions++;
	}
}

void
mesos_lcache_fini(struct lcache *lc)
{
	size_t i;

	pthread_mutex_lock(&lc->lock);
	for (i = 0; i < LIST_BUCKETS; i++)
		while (lc->buckets[i])
			slot_unlink_locked(lc, lc->buckets[i]);
	pthread_mutex_unlock(&lc->lock);
	for (i = 0; i < lc->npfx; i++)
		free(lc->pfx[i].s);
	pthread_cond_destroy(&lc->done);
	pthread_mutex_destroy(&lc->lock);
	pthread_mutex_destroy(&lc->pfx_lock);
}

static struct lslot *
slot_find_locked(struct lcache *lc, const char *key, uint64_t h)
{
	struct lslot *s;

	for (s = lc->buckets[h & (LIST_BUCKETS - 1)]; s; s = s->hnext)
		if (s->hash == h && strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static struct lslot *
slot_new_locked(struct lcache *lc, const char *key, uint64_t h)
{
	size_t kl = strlen(key) + 1;
	struct lslot *s;

	if ((s = calloc(1, sizeof(*s) + kl)) == NULL)
		return NULL;
	memcpy(s->key, key, kl);
	s->hash = h;
	s->linked = 1;
	s->hnext = lc->buckets[h & (LIST_BUCKETS - 1)];
	lc->buckets[h & (LIST_BUCKETS - 1)] = s;
	lru_push_locked(lc, s);
	lc->nslots++;
	lc->bytes += slot_cost(s);
	return s;
}

/*
 * The number of prefix "AGENT-ID\nP" in the table, added if new; -1 when
 * the table is full or out of memory.
 */
static long
key_prefix(struct lcache *lc, const char *agent, const char *p, size_t plen)
{
	size_t alen = strlen(agent), i;
	uint64_t h = fnv1a(fnv1a(fnv1a(FNV_INIT, agent, alen), "\n", 1), p, plen);
	struct kprefix *x;
	long n = -1;

	pthread_mutex_lock(&lc->pfx_lock);
	/* Open addressing: never more than half full, so a probe ends. */
	for (i = h & (KEY_PREFIX_SLOTS - 1); lc->pfx_slot[i] != 0;
	    i = (i + 1) & (KEY_PREFIX_SLOTS - 1)) {
		x = &lc->pfx[lc->pfx_slot[i] - 1];
		if (x->hash == h && x->len == alen + 1 + plen &&
		    memcmp(x->s, agent, alen) == 0 && x->s[alen] == '\n' &&
		    memcmp(x->s + alen + 1, p, plen) == 0) {
			n = lc->pfx_slot[i] - 1;
			goto out;
		}
	}
	if (lc->npfx < KEY_PREFIXES &&
	    (lc->pfx[lc->npfx].s = malloc(alen + 1 + plen + 1)) != NULL) {
		x = &lc->pfx[lc->npfx];
		memcpy(x->s, agent, alen);
		x->s[alen] = '\n';
		memcpy(x->s + alen + 1, p, plen);
		x->s[alen + 1 + plen] = '\0';
		x->len = alen + 1 + plen;
		x->hash = h;
		n = (long)lc->npfx++;
		lc->pfx_slot[i] = (uint16_t)lc->npfx;
	}
out:
	pthread_mutex_unlock(&lc->pfx_lock);
	return n;
}

/*
 * One key per directory of an agent: "AGENT-ID\nDIR[/REL]".  A sandbox's
 * DIR is the agent's work directory, slave and framework up to
 * "/executors/", then the executor and run; that first part is the same
 * for every task of a framework on an agent, so it is kept once in a
 * table and the key names it by number ("\001N\n" and the rest): keys
 * take about 100 bytes, not 280.  A DIR without "/executors/" (or once
 * the table is full) is kept whole.
 */
static int
list_key(struct lcache *lc, struct buf *k, const struct mesos_sandbox *sb,
    const char *rel)
{
	const char *cut = NULL, *p;
	long n = -1;

	for (p = sb->dir; (p = strstr(p, "/executors/")) != NULL; p++)
		cut = p + strlen("/executors/");
	if (cut)
		n = key_prefix(lc, sb->agent_id, sb->dir, (size_t)(cut - sb->dir));
	if (n >= 0) {
		buf_printf(k, "\001%ld\n", n);
		buf_addstr(k, cut);
	} else {
		buf_addstr(k, sb->agent_id);
		buf_addch(k, '\n');
		buf_addstr(k, sb->dir);
	}
	if (rel && *rel) {
		buf_addch(k, '/');
		buf_addstr(k, rel);
	}
	return k->err;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct mesos_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* The listing of a /files/browse reply: entries sorted by name, names
 * in the same allocation. */
static int
dir_make(json_t *root, struct dirdata **out, struct buf *msg)
{
	struct mesos_entry *e;
	struct dirdata *d;
	size_t i, n = 0, names = 0, k, j;
	json_t *v;
	char *p;

	if (!json_is_array(root)) {
		buf_addstr(msg, "mesos: /files/browse: not an array");
		return -EIO;
	}
	/* Two passes: what it needs, then the entries. */
	d = NULL;
	e = NULL;
	p = NULL;
	for (k = 0; k < 2; k++) {
		json_array_foreach(root, i, v) {
			const char *path = json_string_value(json_object_get(v, "path"));
			const char *mode = json_string_value(json_object_get(v, "mode"));
			const char *slash, *name;
			size_t l;

			if (path == NULL || mode == NULL)
				continue;
			slash = strrchr(path, '/');
			name = slash ? slash + 1 : path;
			l = strlen(name);
			if (l == 0 || l > 255 || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0)
				continue;
			if (k == 0) {
				n++;
				names += l + 1;
				continue;
			}
			memcpy(p, name, l + 1);
			e->name = p;
			p += l + 1;
			e->is_dir = mode[0] == 'd';
			e->mode = mode_bits(mode);
			e->size = (off_t)mesos_json_int64(json_object_get(v, "size"), 1);
			if (e->size < 0)
				e->size = 0;
			e->mtime_ms = mesos_json_int64(json_object_get(v, "mtime"), 1000);
			e++;
		}
		if (k == 0) {
			size_t bytes = sizeof(*d) + n * sizeof(*e) + names;

			if ((d = calloc(1, bytes)) == NULL)
				return -ENOMEM;
			d->bytes = bytes;
			e = (struct mesos_entry *)(d + 1);
			p = (char *)(e + n);
			d->pub.e = e;
		}
	}
	e = (struct mesos_entry *)d->pub.e;
	qsort(e, n, sizeof(*e), entry_cmp);
	/* A name twice (a broken agent): the first. */
	for (i = j = 0; i < n; i++)
		if (j == 0 || strcmp(e[j - 1].name, e[i].name) != 0)
			e[j++] = e[i];
	d->pub.n = j;
	*out = d;
	return 0;
}

/* One /files/browse, sent. */
static int
browse_at(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel, struct dirdata **out,
    struct buf *msg)
{
	struct http_client *c = mesos_agent_http(m, sb);
	struct buf q = BUF_INIT(16384);
	json_t *root = NULL;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	if ((rc = file_path(&q, "browse", sb, rel)) != 0)
		goto out;
	rc = mesos_get_json(c, q.data, deadline, cancel, &root, msg);
	if (rc == 0)
		rc = dir_make(root, out, msg);
	if (rc == 0)
		(*out)->fetched_ms = now_ms();
	count(m, rc != 0, msg);
out:
	json_decref(root);
	buf_free(&q);
	return rc;
}

/* A browse, at the real directory of a virtual sandbox if need be. */
static int
browse_fetch(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel, struct dirdata **out,
    struct buf *msg)
{
	struct mesos_sandbox real;
	const struct mesos_sandbox *use;
	int rc;

	if ((use = usable(m, sb, deadline, &real, &rc, msg)) == NULL)
		return rc;
	rc = browse_at(m, use, rel, deadline, cancel, out, msg);
	if (use == sb && fallback(m, sb, rc, deadline, &real)) {
		rc = browse_at(m, &real, rel, deadline, cancel, out, msg);
		if (rc == 0)
			mesos_no_virtual(m, sb);
	}
	return rc;
}

static int
fresh(const struct mesos *m, const struct dirdata *d)
{
	return d && now_ms() - d->fetched_ms < m->opts.ttl_ms;
}

/* mesos_list(); ahead: for read-ahead, which is not counted as a use. */
static int
list_get(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int may_block, int64_t deadline, const volatile int *cancel,
    const struct mesos_dir **out, struct buf *msg, int ahead)
{
	struct lcache *lc = &m->lc;
	struct buf key = BUF_INIT(8192);
	struct dirdata *d = NULL;
	struct lslot *s;
	struct timespec ts;
	uint64_t h, seq, gen;
	int64_t until;
	int rc = 0;

	*out = NULL;
	if ((rc = list_key(lc, &key, sb, rel)) != 0)
		goto done;
	h = fnv1a(FNV_INIT, key.data, key.len);
	pthread_mutex_lock(&lc->lock);
	for (;;) {
		s = slot_find_locked(lc, key.data, h);
		if (s && fresh(m, s->d)) {
			lc->hits += !ahead;
			lru_front_locked(lc, s);
			d = s->d;
			d->refs++;
			goto unlock;
		}
		if (!may_block) {
			rc = -E_WOULDBLOCK;
			goto unlock;
		}
		if (m->stopping) {
			buf_addstr(msg, "mesos: unmounting");
			rc = -EIO;
			goto unlock;
		}
		if (s == NULL && (s = slot_new_locked(lc, key.data, h)) == NULL) {
			rc = -ENOMEM;
			goto unlock;
		}
		if (!s->busy)
			break;
		/* Someone browses it now: that answer is ours too. */
		lc->waits++;
		seq = s->seq;
		s->refs++;
		while (s->seq == seq && !m->stopping) {
			if (cancel && *cancel) {
				rc = -EINTR;
				break;
			}
			until = now_ms() + WAIT_SLICE_MS;
			if (until >= deadline) {
				if (now_ms() >= deadline) {
					rc = -ETIMEDOUT;
					break;
				}
				until = deadline;
			}
			ts.tv_sec = until / 1000;
			ts.tv_nsec = (until % 1000) * 1000000L;
			pthread_cond_timedwait(&lc->done, &lc->lock, &ts);
		}
		if (rc == 0 && s->seq != seq && s->err == 0 && s->d) {
			/* Fetched after we asked: fresh enough, whatever the TTL. */
			d = s->d;
			d->refs++;
		} else if (rc == 0 && s->seq != seq && s->err != -EINTR &&
		    s->err != 0) {
			rc = s->err;
			buf_reset(msg);
			buf_addstr(msg, s->errmsg ? s->errmsg : "no listing");
		} else if (rc == -ETIMEDOUT) {
			buf_reset(msg);
			buf_printf(msg, "mesos agent %s: no listing of %s%s%s within "
			    "the deadline", sb->agent_id, sb->dir,
			    rel && *rel ? "/" : "", rel ? rel : "");
		}
		slot_release_locked(lc, s);
		if (rc != 0 || d)
			goto unlock;
		/* The browse we waited for was cancelled: try again. */
	}
	s->busy = 1;
	s->refs++;
	gen = lc->gen;
	lc->browses++;
	lc->ahead += ahead != 0;
	pthread_mutex_unlock(&lc->lock);

	rc = browse_fetch(m, sb, rel, deadline, cancel, &d, msg);

	pthread_mutex_lock(&lc->lock);
	s->busy = 0;
	s->seq++;
	s->err = rc;
	free(s->errmsg);
	s->errmsg = rc ? strdup(buf_str(msg)) : NULL;
	if (rc == 0) {
		d->refs = 1;		/* the caller's */
		/* Asked before a refresh dropped every listing: not kept. */
		if (s->linked && gen == lc->gen)
			slot_set_locked(lc, s, d);
	} else if (s->linked) {
		slot_unlink_locked(lc, s);	/* failures are not kept */
	}
	slot_release_locked(lc, s);
	pthread_cond_broadcast(&lc->done);
	evict_locked(lc);
unlock:
	pthread_mutex_unlock(&lc->lock);
done:
	buf_free(&key);
	if (rc == 0)
		*out = &d->pub;
	return rc;
}

int
mesos_list(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int may_block, int64_t deadline, const volatile int *cancel,
    const struct mesos_dir **out, struct buf *msg)
{
	return list_get(m, sb, rel, may_block, deadline, cancel, out, msg, 0);
}

void
mesos_dir_put(struct mesos *m, const struct mesos_dir *pub)
{
	if (pub == NULL)
		return;
	pthread_mutex_lock(&m->lc.lock);
	dir_drop_locked((struct dirdata *)(void *)pub);
	pthread_mutex_unlock(&m->lc.lock);
}

const struct mesos_entry *
mesos_dir_find(const struct mesos_dir *d, const char *name)
{
	size_t lo = 0, hi = d->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(d->e[mid].name, name)) == 0)
			return &d->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* rel = "a/b/c" -> parent "a/b", base "c"; rel = "c" -> "", "c". */
static const char *
split_rel(const char *rel, char *parent, size_t n)
{
	const char *slash = strrchr(rel, '/');

	if (slash == NULL) {
		parent[0] = '\0';
		return rel;
	}
	snprintf(parent, n, "%.*s", (int)(slash - rel), rel);
	return slash + 1;
}

int
mesos_stat(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int may_block, int64_t deadline, const volatile int *cancel,
    struct mesos_entry *out, struct buf *msg)
{
	const struct mesos_entry *e;
	const struct mesos_dir *d;
	char parent[2048];
	const char *base;
	int rc;

	if (rel == NULL || *rel == '\0')
		return -EINVAL;
	base = split_rel(rel, parent, sizeof(parent));
	if ((rc = mesos_list(m, sb, parent, may_block, deadline, cancel, &d,
	    msg)) != 0)
		return rc;
	if ((e = mesos_dir_find(d, base)) != NULL) {
		*out = *e;
		out->name = NULL;
	} else {
		buf_printf(msg, "mesos agent %s: no %s in %s%s%s", sb->agent_id,
		    base, sb->dir, *parent ? "/" : "", parent);
		rc = -ENOENT;
	}
	mesos_dir_put(m, d);
	return rc;
}

int
mesos_browse(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int64_t deadline, const volatile int *cancel,
    int (*fn)(void *arg, const struct mesos_entry *e), void *arg,
    struct buf *msg)
{
	const struct mesos_dir *d;
	size_t i;
	int rc;

	if ((rc = mesos_list(m, sb, rel, 1, deadline, cancel, &d, msg)) != 0)
		return rc;
	for (i = 0; i < d->n && rc == 0; i++)
		rc = fn(arg, &d->e[i]);
	mesos_dir_put(m, d);
	return rc;
}

/* A probe saw a file's size: a kept listing of its directory that shows
 * another is corrected (a copy), with the probe's time as the mtime, the
 * file having changed since the listing (the agent gives whole seconds). */
static void
probe_seen(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    off_t size, int64_t *mtime_ms)
{
	struct lcache *lc = &m->lc;
	struct buf key = BUF_INIT(8192);
	struct mesos_entry *ne;
	const struct mesos_entry *e;
	struct dirdata *nd;
	struct lslot *s;
	char parent[2048];
	const char *base;
	size_t i;
	ptrdiff_t shift;

	*mtime_ms = 0;
	base = split_rel(rel ? rel : "", parent, sizeof(parent));
	if (list_key(lc, &key, sb, parent) != 0)
		goto out;
	pthread_mutex_lock(&lc->lock);
	s = slot_find_locked(lc, key.data, fnv1a(FNV_INIT, key.data, key.len));
	if (s == NULL || s->d == NULL ||
	    (e = mesos_dir_find(&s->d->pub, base)) == NULL || e->is_dir) {
		pthread_mutex_unlock(&lc->lock);
		goto out;
	}
	if (e->size == size) {
		*mtime_ms = e->mtime_ms;
		pthread_mutex_unlock(&lc->lock);
		goto out;
	}
	*mtime_ms = wall_ms() / 1000 * 1000;
	if ((nd = malloc(s->d->bytes)) != NULL) {
		memcpy(nd, s->d, s->d->bytes);
		ne = (struct mesos_entry *)(nd + 1);
		shift = (char *)nd - (char *)s->d;
		nd->pub.e = ne;
		for (i = 0; i < nd->pub.n; i++)
			ne[i].name += shift;
		ne[e - s->d->pub.e].size = size;
		ne[e - s->d->pub.e].mtime_ms = *mtime_ms;
		nd->refs = 0;
		slot_set_locked(lc, s, nd);
	}
	pthread_mutex_unlock(&lc->lock);
out:
	buf_free(&key);
}

void
mesos_forget(struct mesos *m, const struct mesos_sandbox *sb)
{
	struct lcache *lc = &m->lc;
	struct buf pre = BUF_INIT(8192);
	struct lslot *s, *next;
	size_t i;

	if (list_key(lc, &pre, sb, "") != 0)
		goto out;
	pthread_mutex_lock(&lc->lock);
	for (i = 0; i < LIST_BUCKETS; i++) {
		for (s = lc->buckets[i]; s; s = next) {
			next = s->hnext;
			if (strncmp(s->key, pre.data, pre.len) == 0 &&
			    (s->key[pre.len] == '\0' || s->key[pre.len] == '/') &&
			    !s->busy)
				slot_unlink_locked(lc, s);
		}
	}
	pthread_mutex_unlock(&lc->lock);
out:
	buf_free(&pre);
}

void
mesos_invalidate(struct mesos *m)
{
	struct lcache *lc = &m->lc;
	struct lslot *s, *next;
	size_t i;

	pthread_mutex_lock(&lc->lock);
	lc->gen++;
	for (i = 0; i < LIST_BUCKETS; i++) {
		for (s = lc->buckets[i]; s; s = next) {
			next = s->hnext;
			if (s->busy)
				slot_set_locked(lc, s, NULL);
			else
				slot_unlink_locked(lc, s);
		}
	}
	pthread_mutex_unlock(&lc->lock);
	snapcache_invalidate(m->slaves, SC_HARD);
	snapcache_invalidate(m->tasks, SC_HARD);
}

void
mesos_lcache_status(struct mesos *m, struct buf *out)
{
	struct ahead_stats as;

	pthread_mutex_lock(&m->lc.lock);
	buf_printf(out, "  listings: %zu kept, %zu of %u KiB; %llu answered "
	    "from them, %llu browses (%llu read ahead), %llu shared, %llu "
	    "evicted\n", m->lc.nslots, m->lc.bytes >> 10, LIST_BYTES_MAX >> 10,
	    (unsigned long long)m->lc.hits, (unsigned long long)m->lc.browses,
	    (unsigned long long)m->lc.ahead, (unsigned long long)m->lc.waits,
	    (unsigned long long)m->lc.evictions);
	pthread_mutex_unlock(&m->lc.lock);
	ahead_stats(m->ahead, &as);
	buf_printf(out, "  read-ahead: %d of %d threads started, %zu "
	    "directories waiting, %llu queued, %llu dropped (queue full)\n",
	    as.threads, as.nthreads, as.waiting, (unsigned long long)as.queued,
	    (unsigned long long)as.dropped);
}

/* ---- read-ahead ----------------------------------------------------------
 *
 * A recursive walk (ls -lR, find, grep -r) reads one sandbox directory at
 * a time and waits for each browse in turn.  When the FUSE layer sees a
 * walk, it names the directories the walk will reach next; a few threads
 * browse them meanwhile, through the same cache and single flight, so the
 * walk finds them kept (or joins the browse in flight) and the agents'
 * round trips overlap.  A directory is browsed once either way.
 */

struct dir_ahead {
	struct ahead_item it;
	struct mesos_sandbox sb;
	int		 depth;		/* levels below rel to read ahead too */
	char		 rel[];
};

/* Queue one directory; one the queue refuses (full: counted there; no
 * thread; stopping) is let go: read-ahead is only ever a head start. */
static void
dir_push(struct mesos *m, const struct mesos_sandbox *sb, const char *rel,
    int depth, int front)
{
	size_t len = strlen(rel);
	struct dir_ahead *a;

	if ((a = malloc(sizeof(*a) + len + 1)) == NULL)
		return;
	a->sb = *sb;
	a->depth = depth;
	memcpy(a->rel, rel, len + 1);
	if (ahead_push(m->ahead, &a->it, front) != 0)
		free(a);
}

/* One queued directory: browsed (or found kept), then its subdirectories
 * queued in front, last first, so that they come out in name order. */
static void
ahead_run(void *ctx, struct ahead_item *it)
{
	struct mesos *m = ctx;
	struct dir_ahead *a = (struct dir_ahead *)it;
	struct buf msg = BUF_INIT(256);
	const struct mesos_dir *d;
	char rel[2048];
	size_t i, nd = 0, dirs[AHEAD_SUBDIRS];

	if (m->stopping || list_get(m, &a->sb, a->rel, 1,
	    now_ms() + m->opts.timeout_ms, &m->stopping, &d, &msg, 1) != 0)
		goto out;
	for (i = 0; a->depth > 0 && i < d->n && nd < AHEAD_SUBDIRS; i++)
		if (d->e[i].is_dir)
			dirs[nd++] = i;
	while (nd-- > 0 && !m->stopping)
		if (snprintf(rel, sizeof(rel), "%s%s%s", a->rel, *a->rel ? "/" : "",
		    d->e[dirs[nd]].name) < (int)sizeof(rel))
			dir_push(m, &a->sb, rel, a->depth - 1, 1);
	mesos_dir_put(m, d);
out:
	buf_free(&msg);
	free(a);
}

struct ahead *
mesos_ahead_new(struct mesos *m)
{
	return ahead_new(m->opts.readahead, AHEAD_QUEUE_MAX, ahead_run,
	    NULL, m);
}

void
mesos_readahead(struct mesos *m, const struct mesos_sandbox *sb,
    const char *rel, int depth)
{
	if (m->opts.readahead > 0 && !m->stopping)
		dir_push(m, sb, rel ? rel : "", depth, 0);
}

/* ---- the lenient /files/read decoder ---------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex4(const char *p, const char *end, unsigned *v)
{
	int i, h;

	if (end - p < 4)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)p[i])) < 0)
			return -1;
		*v = *v << 4 | (unsigned)h;
	}
	return 0;
}

/* Append code point cp as UTF-8; -1 if out of room. */
static int
put_utf8(unsigned cp, char *out, size_t cap, size_t *n)
{
	char t[4];
	size_t k;

	if (cp < 0x80) {
		t[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | cp >> 12);
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		t[0] = (char)(0xf0 | cp >> 18);
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k > cap)
		return -1;
	memcpy(out + *n, t, k);
	*n += k;
	return 0;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * Decode a string starting after its opening quote; out may be NULL.  Raw
 * bytes go through a run at a time, up to the next quote or backslash
 * (found with memchr, each position kept until the decoding passes it, so
 * the string is scanned once): a log's 64 KiB piece is mostly runs of a
 * line's length between \n escapes.
 */
static const char *
decode_string(const char *p, const char *end, char *out, size_t cap, size_t *n)
{
	const char *quote = NULL, *bslash = NULL, *stop;
	unsigned cp, lo;
	size_t k;

	*n = 0;
	while (p < end && *p != '"') {
		if (*p != '\\') {
			/* Raw bytes pass through: Mesos does not re-encode. */
			if ((quote == NULL || quote < p) &&
			    (quote = memchr(p, '"', (size_t)(end - p))) == NULL)
				quote = end;
			if ((bslash == NULL || bslash < p) &&
			    (bslash = memchr(p, '\\', (size_t)(end - p))) == NULL)
				bslash = end;
			stop = quote < bslash ? quote : bslash;
			k = (size_t)(stop - p);
			if (out) {
				if (k > cap - *n)
					return NULL;
				memcpy(out + *n, p, k);
			}
			*n += k;
			p = stop;
			continue;
		}
		if (++p == end)
			return NULL;
		switch (*p) {
		case '"': case '\\': case '/':
			cp = (unsigned char)*p;
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (hex4(p + 1, end, &cp) != 0)
				return NULL;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && end - p > 6 &&
			    p[1] == '\\' && p[2] == 'u' && hex4(p + 3, end, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			break;
		default:
			return NULL;
		}
		p++;
		if (out) {
			if (put_utf8(cp, out, cap, n) != 0)
				return NULL;
		} else {
			*n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		}
	}
	return p < end ? p + 1 : NULL;
}

int
mesos_parse_read(const char *body, size_t len, char *out, size_t cap,
    size_t *n, int64_t *offset)
{
	const char *p = body, *end = body + len, *key;
	size_t klen, dn;
	int have_data = 0, have_off = 0;
	uint64_t u, d, lim;
	int neg;

	*n = 0;
	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return -EIO;
	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p == end || *p++ != '"')
			return -EIO;
		key = p;
		if ((p = decode_string(p, end, NULL, 0, &klen)) == NULL)
			return -EIO;
		klen = (size_t)(p - 1 - key);
		p = skip_ws(p, end);
		if (p == end || *p++ != ':')
			return -EIO;
		p = skip_ws(p, end);
		if (klen == 4 && memcmp(key, "data", 4) == 0) {
			if (p == end || *p++ != '"')
				return -EIO;
			if ((p = decode_string(p, end, out, cap, &dn)) == NULL)
				return -EIO;
			*n = dn;
			have_data = 1;
		} else if (klen == 6 && memcmp(key, "offset", 6) == 0) {
			neg = p < end && *p == '-';
			if (neg)
				p++;
			if (p == end || *p < '0' || *p > '9')
				return -EIO;
			/* Exactly int64's range: -2^63 .. 2^63-1. */
			lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
			for (u = 0; p < end && *p >= '0' && *p <= '9'; p++) {
				d = (uint64_t)(*p - '0');
				if (u > (lim - d) / 10)
					return -EIO;
				u = u * 10 + d;
			}
			*offset = !neg ? (int64_t)u : u ? -(int64_t)(u - 1) - 1 : 0;
			have_off = 1;
		} else {
			/* Skip any other value: a string, a number, a literal. */
			if (p < end && *p == '"') {
				if ((p = decode_string(p + 1, end, NULL, 0, &dn)) == NULL)
					return -EIO;
			} else {
				while (p < end && *p != ',' && *p != '}')
					p++;
			}
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return -EIO;
	}
	return have_data && have_off ? 0 : -EIO;
}
