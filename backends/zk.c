/*
 * zk.c: ZooKeeper through the multi-threaded C client (see zk.h).
 *
 * Threads: the client runs its own I/O and completion threads; completions
 * and watches arrive on the completion thread.  Every call here issues an
 * asynchronous request and waits for its completion on a condition
 * variable with a deadline; the request's state is refcounted so a
 * completion that arrives after the caller gave up frees it.  A separate
 * maintenance thread replaces the handle when the session expires (the
 * client forbids closing a handle from its own callbacks).
 *
 * Watches (ZooKeeper docs, "ZooKeeper Watches"): one-time triggers; the
 * client re-registers them after a reconnect within the same session and
 * the server delivers what was missed; an expired session loses them all.
 * So a cache entry part (stat, data, children) is kept exactly while its
 * watch is armed, and dropped when it fires.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper.h>

#include "snapcache.h"		/* E_WOULDBLOCK */
#include "zk.h"

#define RETRY_MS	100	/* between attempts while disconnected */

/*
 * A cached znode.  A data watch (from exists or get) guards existence, the
 * data and the data half of the stat; a child watch (from getChildren)
 * guards the children and numChildren.  So the stat is whole only while
 * both are armed: a data watch alone does not fire when a child is added,
 * which would leave a file that became a directory looking like a file.
 * Results are stored by the completions, on the client's completion
 * thread, which also delivers watch events: a result can never overwrite
 * the event that followed it.
 */
struct zent {
	char		*path;
	int		 dw;		/* data watch armed: exists, st's data half */
	int		 exists;	/* with dw */
	int		 cw;		/* child watch armed: kids, numChildren */
	struct zk_stat	 st;		/* the latest stat either call returned */
	int		 have_data;	/* with dw */
	struct buf	 data;
	char		**kids;		/* with cw */
	size_t		 nkids;
	int		 kids_denied;	/* with cw: no READ permission */
	struct zent	*next;
};

struct zk {
	struct zk_opts	 opts;
	char		*hosts;
	char		*auth;
	zk_change_fn	 fn;
	void		*arg;
	FILE		*devnull;

	pthread_mutex_t	 lock;
	zhandle_t	*zh;		/* guarded by lock; NULL while replaced */
	int		 connected;	/* guarded by lock */
	int64_t		 since_wall_ms;	/* guarded by lock: of the last state change */
	uint64_t	 sessions;	/* guarded by lock */
	uint64_t	 requests;	/* guarded by lock */
	uint64_t	 failures;	/* guarded by lock */
	uint64_t	 events;	/* guarded by lock */
	char		 last_error[256];	/* guarded by lock */
	struct zent	**tab;		/* guarded by lock: the cache */
	size_t		 nbuckets;
	size_t		 count;

	pthread_t	 maint;
	pthread_cond_t	 mcond;
	int		 need_new;	/* guarded by lock */
	int		 stopping;	/* guarded by lock */
	int		 started;
};

int
zk_errno(int zrc)
{
	static const struct {
		int	zrc;
		int	err;
	} table[] = {
		{ ZOK, 0 },
		{ ZNONODE, ENOENT },
		{ ZNOAUTH, EACCES },
		{ ZBADVERSION, EBUSY },		/* someone else changed it */
		{ ZNODEEXISTS, EEXIST },
		{ ZNOTEMPTY, ENOTEMPTY },
		{ ZNOCHILDRENFOREPHEMERALS, EPERM },
		{ ZBADARGUMENTS, EINVAL },
		{ ZINVALIDACL, EINVAL },
		{ ZCONNECTIONLOSS, ETIMEDOUT },	/* past the deadline */
		{ ZOPERATIONTIMEOUT, ETIMEDOUT },
		{ ZSESSIONEXPIRED, EIO },
		{ ZINVALIDSTATE, EIO },
		{ ZMARSHALLINGERROR, EFBIG },
		{ ZAUTHFAILED, EACCES },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].zrc == zrc)
			return table[i].err;
	return EIO;
}

static void
conv_stat(const struct Stat *s, struct zk_stat *out)
{
	out->ctime_ms = s->ctime;
	out->mtime_ms = s->mtime;
	out->mzxid = s->mzxid;
	out->version = s->version;
	out->cversion = s->cversion;
	out->ephemeral_owner = s->ephemeralOwner;
	out->data_len = s->dataLength;
	out->num_children = s->numChildren;
}

int
zk_kind(const struct zk_stat *st)
{
	if (st->num_children > 0)
		return ZK_DIR;
	if (st->data_len > 0 || st->version > 0 || st->ephemeral_owner)
		return ZK_FILE;
	return ZK_DIR;
}

/* ---- the cache (lock held) ----------------------------------------------- */

static size_t
bucket(const struct zk *z, const char *path)
{
	return (size_t)(fnv1a(FNV_INIT, path, strlen(path)) % z->nbuckets);
}

static void
kids_free(struct zent *e)
{
	size_t i;

	for (i = 0; i < e->nkids; i++)
		free(e->kids[i]);
	free(e->kids);
	e->kids = NULL;
	e->nkids = 0;
	e->cw = 0;
	e->kids_denied = 0;
}

/* Is the whole stat of e known (or e known absent)? */
static int
stat_known(const struct zent *e)
{
	return e->dw && (!e->exists || e->cw);
}

static void
ent_free(struct zent *e)
{
	kids_free(e);
	buf_free(&e->data);
	free(e->path);
	free(e);
}

static struct zent *
ent_find(struct zk *z, const char *path, int create)
{
	struct zent *e;
	size_t b = bucket(z, path);

	for (e = z->tab[b]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->path = strdup(path)) == NULL) {
		free(e);
		return NULL;
	}
	buf_init(&e->data, ZK_DATA_MAX + 1);
	e->next = z->tab[b];
	z->tab[b] = e;
	z->count++;
	return e;
}

static void
ent_drop(struct zk *z, const char *path)
{
	struct zent **ep, *e;

	for (ep = &z->tab[bucket(z, path)]; (e = *ep) != NULL; ep = &e->next) {
		if (strcmp(e->path, path) == 0) {
			*ep = e->next;
			ent_free(e);
			z->count--;
			return;
		}
	}
}

static void
cache_clear(struct zk *z)
{
	struct zent *e, *n;
	size_t i;

	for (i = 0; i < z->nbuckets; i++) {
		for (e = z->tab[i]; e; e = n) {
			n = e->next;
			ent_free(e);
		}
		z->tab[i] = NULL;
	}
	z->count = 0;
}

/* ---- watches and session events ------------------------------------------ */

static void
report(struct zk *z, const char *path, int what)
{
	if (z->fn)
		z->fn(z->arg, path, what);
}

/* A node watch fired: drop what it guarded, then say so. */
static void
node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk *z = ctx;
	struct zent *e;
	int what = 0;

	(void)zh;
	(void)state;
	if (type == ZOO_SESSION_EVENT || path == NULL || *path == '\0')
		return;
	pthread_mutex_lock(&z->lock);
	z->events++;
	e = ent_find(z, path, 0);
	if (type == ZOO_DELETED_EVENT) {
		ent_drop(z, path);
		what = ZK_CH_GONE;
	} else if (type == ZOO_CHILD_EVENT) {
		if (e)
			kids_free(e);		/* and numChildren with them */
		what = ZK_CH_CHILDREN;
	} else if (type == ZOO_CHANGED_EVENT || type == ZOO_CREATED_EVENT) {
		if (e) {
			e->dw = 0;
			e->have_data = 0;
		}
		what = ZK_CH_DATA;
	} else {
		/* NOTWATCHING: the watch is gone; so is what it guarded. */
		ent_drop(z, path);
		what = ZK_CH_DATA | ZK_CH_CHILDREN;
	}
	pthread_mutex_unlock(&z->lock);
	report(z, path, what);
}

static void
session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk *z = ctx;

	(void)zh;
	(void)path;
	if (type != ZOO_SESSION_EVENT)
		return;
	pthread_mutex_lock(&z->lock);
	if (state == ZOO_CONNECTED_STATE) {
		z->connected = 1;
	} else if (state == ZOO_EXPIRED_SESSION_STATE ||
	    state == ZOO_AUTH_FAILED_STATE) {
		z->connected = 0;
		snprintf(z->last_error, sizeof(z->last_error), "%s",
		    state == ZOO_AUTH_FAILED_STATE ? "authentication failed" :
		    "session expired");
		z->need_new = 1;
		pthread_cond_signal(&z->mcond);
	} else {
		z->connected = 0;
	}
	z->since_wall_ms = wall_ms();
	pthread_mutex_unlock(&z->lock);
}

static zhandle_t *
new_handle(struct zk *z)
{
	zhandle_t *zh;

	zh = zookeeper_init(z->hosts, session_watcher, z->opts.session_ms, NULL,
	    z, 0);
	if (zh && z->auth)
		zoo_add_auth(zh, "digest", z->auth, (int)strlen(z->auth), NULL, NULL);
	return zh;
}

/* Replaces an expired session's handle; the client may not be closed from
 * its own callbacks, so this thread does it. */
static void *
maintainer(void *arg)
{
	struct zk *z = arg;
	zhandle_t *old, *zh;

	pthread_mutex_lock(&z->lock);
	for (;;) {
		while (!z->stopping && !z->need_new)
			pthread_cond_wait(&z->mcond, &z->lock);
		if (z->stopping)
			break;
		z->need_new = 0;
		old = z->zh;
		z->zh = NULL;
		cache_clear(z);
		pthread_mutex_unlock(&z->lock);
		if (old)
			zookeeper_close(old);
		zh = new_handle(z);
		pthread_mutex_lock(&z->lock);
		z->zh = zh;
		z->sessions++;
		pthread_mutex_unlock(&z->lock);
		report(z, "/", ZK_CH_ALL);
		pthread_mutex_lock(&z->lock);
		if (zh == NULL) {
			struct timespec d = { 1, 0 };

			pthread_mutex_unlock(&z->lock);
			nanosleep(&d, NULL);
			pthread_mutex_lock(&z->lock);
			z->need_new = 1;
		}
	}
	pthread_mutex_unlock(&z->lock);
	return NULL;
}

/* ---- calls ------------------------------------------------------------- */

enum call_kind { C_STAT, C_DATA, C_KIDS, C_VOID, C_STRING };

struct call {
	struct zk	*z;		/* reads: store what comes back ... */
	char		*path;		/* ... for this znode */
	pthread_mutex_t	 m;
	pthread_cond_t	 c;
	int		 refs;		/* guarded by m */
	int		 done;		/* guarded by m */
	int		 rc;
	struct Stat	 stat;
	struct buf	 data;
	char		**kids;
	size_t		 nkids;
	/* A multi writes its results here when it completes, which may be
	 * after the caller gave up: they live as long as the call. */
	zoo_op_t	 ops[2];
	zoo_op_result_t	 res[2];
	struct Stat	 setstat;
};

static struct call *
call_new(void)
{
	struct call *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->c, &ca);
	pthread_condattr_destroy(&ca);
	buf_init(&c->data, ZK_DATA_MAX + 1);
	c->refs = 2;		/* the caller and the completion */
	return c;
}

static void
call_put(struct call *c)
{
	size_t i;
	int last;

	pthread_mutex_lock(&c->m);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->m);
	if (!last)
		return;
	for (i = 0; i < c->nkids; i++)
		free(c->kids[i]);
	free(c->kids);
	free(c->path);
	buf_free(&c->data);
	pthread_cond_destroy(&c->c);
	pthread_mutex_destroy(&c->m);
	free(c);
}

static void
call_done(struct call *c, int rc)
{
	pthread_mutex_lock(&c->m);
	c->rc = rc;
	c->done = 1;
	pthread_cond_signal(&c->c);
	pthread_mutex_unlock(&c->m);
	call_put(c);
}

/* The cache entry a read completion stores into (z->lock held). */
static struct zent *
result_ent(struct call *c)
{
	return c->z && c->path ? ent_find(c->z, c->path, 1) : NULL;
}

/* exists: arms the data watch, also on a znode that does not exist. */
static void
on_stat(int rc, const struct Stat *st, const void *data)
{
	struct call *c = (struct call *)data;
	struct zent *e;

	if (rc == ZOK && st)
		c->stat = *st;
	if (c->z && (rc == ZOK || rc == ZNONODE)) {
		pthread_mutex_lock(&c->z->lock);
		if ((e = result_ent(c)) != NULL) {
			e->dw = 1;
			e->exists = rc == ZOK;
			if (rc == ZOK)
				conv_stat(st, &e->st);
			else
				kids_free(e);
		}
		pthread_mutex_unlock(&c->z->lock);
	}
	call_done(c, rc);
}

static void
on_data(int rc, const char *value, int len, const struct Stat *st,
    const void *data)
{
	struct call *c = (struct call *)data;
	struct zent *e;

	if (rc == ZOK) {
		if (st)
			c->stat = *st;
		if (value && len > 0 && buf_add(&c->data, value, (size_t)len) != 0)
			rc = ZMARSHALLINGERROR;
	}
	if (rc == ZOK && c->z) {
		pthread_mutex_lock(&c->z->lock);
		if ((e = result_ent(c)) != NULL) {
			buf_set(&e->data, c->data.data ? c->data.data : "", c->data.len);
			e->have_data = e->data.err == 0;
			e->dw = 1;
			e->exists = 1;
			conv_stat(&c->stat, &e->st);
		}
		pthread_mutex_unlock(&c->z->lock);
	}
	call_done(c, rc);
}

static void
on_kids(int rc, const struct String_vector *sv, const struct Stat *st,
    const void *data)
{
	struct call *c = (struct call *)data;
	struct zent *e;
	int32_t i;
	size_t k;

	if (rc == ZOK) {
		if (st)
			c->stat = *st;
		if (sv && sv->count > 0 &&
		    (c->kids = calloc((size_t)sv->count, sizeof(char *))) != NULL) {
			for (i = 0; i < sv->count; i++)
				if (sv->data[i] && (c->kids[c->nkids] =
				    strdup(sv->data[i])) != NULL)
					c->nkids++;
		}
	}
	if (rc == ZNOAUTH && c->z) {
		/* No watch can be set without READ: the stat from exists
		 * stands, and listing the children is refused. */
		pthread_mutex_lock(&c->z->lock);
		if ((e = result_ent(c)) != NULL) {
			kids_free(e);
			e->cw = 1;
			e->kids_denied = 1;
		}
		pthread_mutex_unlock(&c->z->lock);
	}
	if (rc == ZOK && c->z) {
		pthread_mutex_lock(&c->z->lock);
		if ((e = result_ent(c)) != NULL) {
			kids_free(e);
			e->kids = calloc(c->nkids + 1, sizeof(char *));
			for (k = 0; e->kids && k < c->nkids; k++)
				e->kids[e->nkids++] = strdup(c->kids[k]);
			e->cw = e->kids != NULL;
			conv_stat(&c->stat, &e->st);
		}
		pthread_mutex_unlock(&c->z->lock);
	}
	call_done(c, rc);
}

static void
on_void(int rc, const void *data)
{
	call_done((struct call *)data, rc);
}

static void
on_string(int rc, const char *value, const void *data)
{
	(void)value;
	call_done((struct call *)data, rc);
}

/* Wait for a call until the deadline; 0 if it completed. */
static int
call_wait(struct call *c, int64_t deadline)
{
	struct timespec ts;
	int done;

	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000L;
	pthread_mutex_lock(&c->m);
	while (!c->done)
		if (pthread_cond_timedwait(&c->c, &c->m, &ts) == ETIMEDOUT)
			break;
	done = c->done;
	pthread_mutex_unlock(&c->m);
	return done ? 0 : -ETIMEDOUT;
}

static void
count(struct zk *z, int failed, const char *what, const char *path, int zrc)
{
	pthread_mutex_lock(&z->lock);
	z->requests++;
	if (failed) {
		z->failures++;
		snprintf(z->last_error, sizeof(z->last_error), "%s %s: %s", what,
		    path, zerror(zrc));
	}
	pthread_mutex_unlock(&z->lock);
}

/* A handle to send on; NULL while a new session is being made. */
static zhandle_t *
handle(struct zk *z)
{
	zhandle_t *zh;

	pthread_mutex_lock(&z->lock);
	zh = z->zh;
	pthread_mutex_unlock(&z->lock);
	return zh;
}

static void
sleep_ms(int ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&d, NULL);
}

/*
 * Issue one request and wait.  A request that could not be sent, or a
 * read that lost its connection, is tried again until the deadline; a
 * write whose connection was lost after sending is not (it may have been
 * applied) and reports ETIMEDOUT.
 */
/*
 * Writes are refused while the session is disconnected, never queued for
 * when it reconnects (the client would otherwise hold them until the
 * deadline).  Before the first connection they wait as reads do.
 */
static int
refused_down(struct zk *z, const char *what, const char *path,
    struct buf *msg)
{
	char when[32] = "";
	struct tm tm;
	time_t t;
	int down;

	pthread_mutex_lock(&z->lock);
	down = !z->connected && z->since_wall_ms != 0;
	if (down) {
		t = (time_t)(z->since_wall_ms / 1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_reset(msg);
		buf_printf(msg, "zookeeper: %s%s%s: not connected to any server "
		    "since %s%s%s: nothing was sent; writes are refused while it "
		    "is down, never queued: try again when .archonfs/status "
		    "says it is up", what, *path ? " " : "", path, when,
		    z->last_error[0] ?
		    ", " : "", z->last_error);
	}
	pthread_mutex_unlock(&z->lock);
	return down;
}

int
zk_write_refused(struct zk *z, struct buf *msg)
{
	return refused_down(z, "write", "", msg);
}

static int
run(struct zk *z, enum call_kind kind, int is_write, const char *what,
    const char *path, int64_t deadline, struct buf *msg,
    int (*issue)(zhandle_t *zh, struct call *c, void *arg), void *arg,
    struct call **out)
{
	struct call *c;
	zhandle_t *zh;
	int zrc, rc;

	(void)kind;
	if (is_write && refused_down(z, what, path, msg))
		return -EIO;
	for (;;) {
		if (now_ms() >= deadline) {
			buf_reset(msg);
			buf_printf(msg, "zookeeper: %s %s: no answer within the "
			    "deadline (%s)", what, path, z->connected ?
			    "connected" : "not connected to any server");
			count(z, 1, what, path, ZOPERATIONTIMEOUT);
			return -ETIMEDOUT;
		}
		if ((zh = handle(z)) == NULL) {
			sleep_ms(RETRY_MS);
			continue;
		}
		if ((c = call_new()) == NULL)
			return -ENOMEM;
		zrc = issue(zh, c, arg);
		if (zrc != ZOK) {
			/* Not sent: the completion will never run. */
			call_put(c);
			call_put(c);
			if (zrc == ZINVALIDSTATE || zrc == ZCONNECTIONLOSS) {
				sleep_ms(RETRY_MS);
				continue;
			}
			count(z, 1, what, path, zrc);
			buf_reset(msg);
			buf_printf(msg, "zookeeper: %s %s: %s", what, path, zerror(zrc));
			return -zk_errno(zrc);
		}
		if (call_wait(c, deadline) != 0) {
			call_put(c);
			continue;	/* reports the deadline above */
		}
		zrc = c->rc;
		if ((zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT ||
		    zrc == ZSESSIONEXPIRED || zrc == ZINVALIDSTATE) && !is_write) {
			call_put(c);
			sleep_ms(RETRY_MS);
			continue;
		}
		rc = -zk_errno(zrc);
		count(z, rc != 0 && zrc != ZNONODE, what, path, zrc);
		if (rc != 0) {
			buf_reset(msg);
			if (is_write && (zrc == ZCONNECTIONLOSS || zrc == ZSESSIONEXPIRED))
				buf_printf(msg, "zookeeper: %s %s: the connection was "
				    "lost after sending; the change may or may not "
				    "have been applied: read the znode before trying "
				    "again", what, path);
			else
				buf_printf(msg, "zookeeper: %s %s: %s", what, path,
				    zerror(zrc));
		}
		if (rc == 0 && out) {
			*out = c;
			return 0;
		}
		call_put(c);
		return rc;
	}
}

/* A read of path: its completion stores the result in the cache. */
static int
tag(struct call *c, struct zk *z, const char *path)
{
	c->z = z;
	return (c->path = strdup(path)) != NULL ? ZOK : ZSYSTEMERROR;
}

static int
send_exists(zhandle_t *zh, struct call *c, struct zk *z, const char *path)
{
	if (tag(c, z, path) != ZOK)
		return ZSYSTEMERROR;
	return zoo_awexists(zh, path, node_watcher, z, on_stat, c);
}

static int
send_kids(zhandle_t *zh, struct call *c, struct zk *z, const char *path)
{
	if (tag(c, z, path) != ZOK)
		return ZSYSTEMERROR;
	return zoo_awget_children2(zh, path, node_watcher, z, on_kids, c);
}

static int
issue_get(zhandle_t *zh, struct call *c, void *arg)
{
	struct zk *z = ((void **)arg)[0];
	const char *path = ((void **)arg)[1];

	if (tag(c, z, path) != ZOK)
		return ZSYSTEMERROR;
	return zoo_awget(zh, path, node_watcher, z, on_data, c);
}

static int
issue_kids(zhandle_t *zh, struct call *c, void *arg)
{
	return send_kids(zh, c, ((void **)arg)[0], ((void **)arg)[1]);
}

/* ---- reads ---------------------------------------------------------------- */

/* The cached stat of path: 1 with *out (or -ENOENT in *rc) if known. */
static int
cached_stat(struct zk *z, const char *path, struct zk_stat *out, int *rc)
{
	struct zent *e;
	int known;

	pthread_mutex_lock(&z->lock);
	e = ent_find(z, path, 0);
	known = e && stat_known(e);
	if (known) {
		*rc = e->exists ? 0 : -ENOENT;
		if (e->exists)
			*out = e->st;
	}
	pthread_mutex_unlock(&z->lock);
	return known;
}

/* Which watches path still needs: 1 data, 2 child. */
static int
missing(struct zk *z, const char *path)
{
	struct zent *e;
	int m;

	pthread_mutex_lock(&z->lock);
	e = ent_find(z, path, 0);
	m = (e && e->dw ? 0 : 1) | (e && e->cw ? 0 : 2);
	pthread_mutex_unlock(&z->lock);
	return m;
}

/*
 * Arm the missing watches of every path at once (pipelined), and wait.
 * A failure to send is left for the caller's loop to retry.
 */
static void
arm(struct zk *z, char **paths, size_t n, int64_t deadline)
{
	struct call **calls;
	zhandle_t *zh = handle(z);
	size_t i, k = 0;
	int m;

	if (zh == NULL || (calls = calloc(2 * n + 1, sizeof(*calls))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		m = missing(z, paths[i]);
		if ((m & 1) && (calls[k] = call_new()) != NULL) {
			if (send_exists(zh, calls[k], z, paths[i]) == ZOK)
				k++;
			else
				call_put(calls[k]), call_put(calls[k]);
		}
		if ((m & 2) && (calls[k] = call_new()) != NULL) {
			if (send_kids(zh, calls[k], z, paths[i]) == ZOK)
				k++;
			else
				call_put(calls[k]), call_put(calls[k]);
		}
	}
	for (i = 0; i < k; i++) {
		call_wait(calls[i], deadline);
		pthread_mutex_lock(&z->lock);
		z->requests++;
		pthread_mutex_unlock(&z->lock);
		call_put(calls[i]);
	}
	free(calls);
}

/* The stats of several children of one directory; state[i]: 1 known,
 * -1 absent, 0 not known by the deadline. */
static int
stats(struct zk *z, char **paths, size_t n, int may_block, int64_t deadline,
    struct zk_stat *sts, int *state, struct buf *msg)
{
	size_t i, unknown;
	int rc;

	for (;;) {
		unknown = 0;
		for (i = 0; i < n; i++) {
			if (state[i])
				continue;
			if (cached_stat(z, paths[i], &sts[i], &rc))
				state[i] = rc == 0 ? 1 : -1;
			else
				unknown++;
		}
		if (unknown == 0)
			return 0;
		if (!may_block)
			return -E_WOULDBLOCK;
		if (now_ms() >= deadline) {
			buf_reset(msg);
			buf_printf(msg, "zookeeper: stat of %zu znodes: no answer within "
			    "the deadline (%s)", unknown, z->connected ? "connected" :
			    "not connected to any server");
			pthread_mutex_lock(&z->lock);
			z->failures++;
			pthread_mutex_unlock(&z->lock);
			return -ETIMEDOUT;
		}
		if (handle(z) == NULL || !z->connected) {
			sleep_ms(RETRY_MS);
			continue;
		}
		arm(z, paths, n, deadline);
	}
}

int
zk_stat(struct zk *z, const char *path, int may_block, int64_t deadline,
    struct zk_stat *out, struct buf *msg)
{
	char *paths[1] = { (char *)path };
	int state = 0, rc;

	if ((rc = stats(z, paths, 1, may_block, deadline, out, &state, msg)) != 0)
		return rc;
	return state == 1 ? 0 : -ENOENT;
}

int
zk_data(struct zk *z, const char *path, int may_block, int64_t deadline,
    struct buf *out, struct zk_stat *st, struct buf *msg)
{
	void *args[2] = { z, (void *)path };
	struct call *c = NULL;
	struct zent *e;
	int rc;

	pthread_mutex_lock(&z->lock);
	e = ent_find(z, path, 0);
	if (e && e->have_data && e->dw && e->exists) {
		rc = buf_add(out, e->data.data ? e->data.data : "", e->data.len);
		if (st)
			*st = e->st;
		pthread_mutex_unlock(&z->lock);
		return rc;
	}
	pthread_mutex_unlock(&z->lock);
	if (!may_block)
		return -E_WOULDBLOCK;
	rc = run(z, C_DATA, 0, "get", path, deadline, msg, issue_get, args, &c);
	if (rc != 0)
		return rc;
	rc = buf_add(out, c->data.data ? c->data.data : "", c->data.len);
	if (st)
		conv_stat(&c->stat, st);
	call_put(c);
	return rc;
}

/* The children of dir, copied out (cached or fetched). */
static int
children(struct zk *z, const char *dir, int may_block, int64_t deadline,
    char ***kids, size_t *nkids, struct buf *msg)
{
	void *args[2] = { z, (void *)dir };
	struct call *c = NULL;
	struct zent *e;
	size_t i;
	int rc;

	pthread_mutex_lock(&z->lock);
	e = ent_find(z, dir, 0);
	if (e && e->cw && e->kids_denied) {
		pthread_mutex_unlock(&z->lock);
		buf_printf(msg, "zookeeper: ls %s: not authorised", dir);
		return -EACCES;
	}
	if (e && e->cw) {
		*nkids = 0;
		*kids = calloc(e->nkids + 1, sizeof(char *));
		for (i = 0; *kids && i < e->nkids; i++)
			(*kids)[(*nkids)++] = strdup(e->kids[i]);
		pthread_mutex_unlock(&z->lock);
		return *kids ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&z->lock);
	if (!may_block)
		return -E_WOULDBLOCK;
	rc = run(z, C_KIDS, 0, "ls", dir, deadline, msg, issue_kids, args, &c);
	if (rc != 0)
		return rc;
	*kids = c->kids;
	*nkids = c->nkids;
	c->kids = NULL;
	c->nkids = 0;
	call_put(c);
	return 0;
}

static void
join(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
}

int
zk_list(struct zk *z, const char *dir, int may_block, int64_t deadline,
    int (*fn)(void *arg, const char *name, const struct zk_stat *st),
    void *arg, struct buf *msg)
{
	struct zk_stat *sts = NULL;
	char **kids = NULL, **paths = NULL;
	size_t nkids = 0, i;
	int *state = NULL, rc;

	if ((rc = children(z, dir, may_block, deadline, &kids, &nkids, msg)) != 0)
		return rc;
	sts = calloc(nkids + 1, sizeof(*sts));
	state = calloc(nkids + 1, sizeof(*state));
	paths = calloc(nkids + 1, sizeof(*paths));
	if (sts == NULL || state == NULL || paths == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nkids; i++) {
		if ((paths[i] = malloc(strlen(dir) + strlen(kids[i]) + 2)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		join(paths[i], strlen(dir) + strlen(kids[i]) + 2, dir, kids[i]);
	}
	if ((rc = stats(z, paths, nkids, may_block, deadline, sts, state, msg)) != 0)
		goto out;
	for (i = 0; i < nkids && rc == 0; i++)
		if (state[i] == 1)
			rc = fn(arg, kids[i], &sts[i]);
out:
	for (i = 0; i < nkids; i++) {
		free(kids[i]);
		if (paths)
			free(paths[i]);
	}
	free(kids);
	free(paths);
	free(sts);
	free(state);
	return rc;
}

/* ---- writes ---------------------------------------------------------------- */

struct wargs {
	const char	*path;
	const char	*data;
	int		 len;
	int32_t		 version;
	int		 as_file;
};

static int
issue_set(zhandle_t *zh, struct call *c, void *arg)
{
	struct wargs *w = arg;

	return zoo_aset(zh, w->path, w->data, w->len, w->version, on_stat, c);
}

static int
issue_create(zhandle_t *zh, struct call *c, void *arg)
{
	struct wargs *w = arg;

	if (!w->as_file)
		return zoo_acreate(zh, w->path, w->data, w->len,
		    &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, on_string, c);
	/* A file: create and set in one transaction, so its version is 1
	 * and it stays a file while empty (zk_kind). */
	zoo_create_op_init(&c->ops[0], w->path, w->data, w->len,
	    &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
	zoo_set_op_init(&c->ops[1], w->path, w->data, w->len, -1, &c->setstat);
	return zoo_amulti(zh, 2, c->ops, c->res, on_void, c);
}

static int
issue_delete(zhandle_t *zh, struct call *c, void *arg)
{
	struct wargs *w = arg;

	return zoo_adelete(zh, w->path, w->version, on_void, c);
}

static void
forget(struct zk *z, const char *path)
{
	pthread_mutex_lock(&z->lock);
	ent_drop(z, path);
	pthread_mutex_unlock(&z->lock);
}

int
zk_set(struct zk *z, const char *path, const char *data, size_t len,
    int32_t version, int64_t deadline, struct zk_stat *st, struct buf *msg)
{
	struct wargs w = { 0 };
	struct call *c = NULL;
	int rc;

	if (len > ZK_DATA_MAX) {
		buf_printf(msg, "zookeeper: %s: %zu bytes is more than the server "
		    "takes (%d); nothing was sent", path, len, ZK_DATA_MAX);
		return -EFBIG;
	}
	w.path = path;
	w.data = data;
	w.len = (int)len;
	w.version = version;
	rc = run(z, C_STAT, 1, "set", path, deadline, msg, issue_set, &w, &c);
	forget(z, path);	/* the watch will say so too; read it fresh */
	if (rc != 0)
		return rc;
	if (st)
		conv_stat(&c->stat, st);
	call_put(c);
	return 0;
}

int
zk_create(struct zk *z, const char *path, const char *data, size_t len,
    int as_file, int64_t deadline, struct buf *msg)
{
	struct wargs w = { 0 };
	char parent[4096], *slash;
	int rc;

	if (len > ZK_DATA_MAX) {
		buf_printf(msg, "zookeeper: %s: %zu bytes is more than the server "
		    "takes; nothing was sent", path, len);
		return -EFBIG;
	}
	w.path = path;
	w.data = data;
	w.len = data ? (int)len : -1;
	w.as_file = as_file;
	rc = run(z, C_VOID, 1, "create", path, deadline, msg, issue_create, &w, NULL);
	forget(z, path);
	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) != NULL) {
		*(slash == parent ? slash + 1 : slash) = '\0';
		pthread_mutex_lock(&z->lock);
		if (ent_find(z, parent, 0))
			kids_free(ent_find(z, parent, 0));
		pthread_mutex_unlock(&z->lock);
	}
	return rc;
}

int
zk_delete(struct zk *z, const char *path, int32_t version, int64_t deadline,
    struct buf *msg)
{
	struct wargs w = { 0 };
	int rc;

	w.path = path;
	w.version = version;
	rc = run(z, C_VOID, 1, "delete", path, deadline, msg, issue_delete, &w, NULL);
	forget(z, path);
	return rc;
}

/* ---- lifecycle and status -------------------------------------------------- */

struct zk *
zk_new(const struct zk_opts *o, struct buf *msg)
{
	struct zk *z;
	pthread_condattr_t ca;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->opts = *o;
	if ((z->hosts = strdup(o->hosts)) == NULL) {
		free(z);
		return NULL;
	}
	z->opts.hosts = z->hosts;
	if (o->auth) {
		z->auth = strdup(o->auth);
		z->opts.auth = NULL;
	}
	if (z->opts.session_ms <= 0)
		z->opts.session_ms = 30000;
	z->nbuckets = 1024;
	z->tab = calloc(z->nbuckets, sizeof(*z->tab));
	pthread_mutex_init(&z->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_cond_init(&z->mcond, &ca);
	pthread_condattr_destroy(&ca);
	if (z->tab == NULL) {
		zk_free(z);
		return NULL;
	}
	/* The client logs every failed connection attempt, every second
	 * while a server is down; .archonfs/status says what matters. */
	z->devnull = fopen("/dev/null", "w");
	if (z->devnull)
		zoo_set_log_stream(z->devnull);
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	(void)msg;
	return z;
}

int
zk_start(struct zk *z, zk_change_fn fn, void *arg)
{
	zhandle_t *zh;

	z->fn = fn;
	z->arg = arg;
	if ((zh = new_handle(z)) == NULL)
		return -errno ? -errno : -EIO;
	pthread_mutex_lock(&z->lock);
	z->zh = zh;
	z->sessions = 1;
	z->since_wall_ms = wall_ms();
	pthread_mutex_unlock(&z->lock);
	if (pthread_create(&z->maint, NULL, maintainer, z) != 0)
		return -errno;
	z->started = 1;
	return 0;
}

void
zk_shutdown(struct zk *z)
{
	zhandle_t *zh;

	if (z == NULL)
		return;
	pthread_mutex_lock(&z->lock);
	z->stopping = 1;
	pthread_cond_signal(&z->mcond);
	zh = z->zh;
	z->zh = NULL;
	pthread_mutex_unlock(&z->lock);
	if (z->started) {
		pthread_join(z->maint, NULL);
		z->started = 0;
	}
	if (zh)
		zookeeper_close(zh);
}

void
zk_free(struct zk *z)
{
	if (z == NULL)
		return;
	zk_shutdown(z);
	pthread_mutex_lock(&z->lock);
	if (z->tab)
		cache_clear(z);
	pthread_mutex_unlock(&z->lock);
	free(z->tab);
	pthread_cond_destroy(&z->mcond);
	pthread_mutex_destroy(&z->lock);
	if (z->auth) {
		explicit_bzero(z->auth, strlen(z->auth));
		free(z->auth);
	}
	if (z->devnull)
		fclose(z->devnull);
	free(z->hosts);
	free(z);
}

void
zk_status(struct zk *z, struct buf *out)
{
	char when[32];
	time_t t;
	struct tm tm;

	pthread_mutex_lock(&z->lock);
	t = (time_t)(z->since_wall_ms / 1000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(out, "zookeeper: %s since %s%s\n", z->connected ? "up" : "down",
	    when, z->connected ? "" : " (serving what is cached)");
	buf_printf(out, "  servers: %s\n", z->hosts);
	buf_printf(out, "  session: %llu%s\n", (unsigned long long)z->sessions,
	    z->zh ? "" : " (being replaced)");
	buf_printf(out, "  requests: %llu (%llu failed), %llu watch events\n",
	    (unsigned long long)z->requests, (unsigned long long)z->failures,
	    (unsigned long long)z->events);
	buf_printf(out, "  cached znodes: %zu\n", z->count);
	buf_printf(out, "  last_error: %s\n", z->last_error[0] ? z->last_error :
	    "none");
	pthread_mutex_unlock(&z->lock);
}
