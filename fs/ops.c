/*
 * ops.c: the FUSE low-level operations, driven by the node table.
 *
 * Nothing here knows a backend.  Each operation finds the node's row
 * (node.c) and calls its handlers.  How each kind of node behaves:
 *
 *   NK_FILE   rendered at open into a per-open buffer; reads are slices of
 *             it, so a reader sees one consistent version.  KEEP_CACHE when
 *             the content is what the page cache already holds; direct I/O
 *             for that open when the size changed since the kernel last
 *             asked, so a stale i_size never truncates a read.
 *   NK_VALUE, NK_CTL
 *             each write(2) is one value or command, applied inside the
 *             write; its result is the write's result.  An O_TRUNC open
 *             alone writes nothing (bash opens with O_TRUNC and flushes
 *             before it writes).
 *   NK_DOC    written into a per-open buffer (capped at DOC_MAX) and
 *             applied once when the writer is done: at fsync, at close
 *             (FLUSH) or when a scratch file is renamed over it.  A refusal
 *             is kept in words in the directory's .error, the text beside
 *             the document as NAME.rejected.
 *   NK_WAIT   a read that blocks (on the wait pool) until the handler
 *             says the awaited event happened; interruptible.
 *   NK_STREAM a growing file (a log): while it is open its size is
 *             asked of the backend every time (attribute timeout 0, so
 *             tail -f's fstat polls see growth); closed, it is cached
 *             like any file's, and dropped by the next open.  Reads go
 *             to the backend by offset (direct I/O), and nothing is ever
 *             loaded whole.
 *   NK_DIR    listed by the kernel's own opens (no OPENDIR), the listing
 *             kept in the kernel until a change drops it (struct
 *             listing, below).
 *   NK_LINK   a symbolic link whose target the read handler renders
 *             (readlink); the kernel follows it, so it is never opened.
 *   NK_SCRATCH, NK_PENDING, NF_LOCAL rows
 *             live in the local store (local.c) only.
 *
 * Editors: vim renames app.json to app.json~ before writing a new app.json
 * (backupcopy=no) and probes with a file named 4913; sed -i writes sedXXXXXX
 * and renames it over the file.  rename() therefore copies a table file to
 * a scratch name (the node stays), and applies a scratch file renamed over
 * a value or document.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs.h"
#include "inode.h"
#include "local.h"
#include "names.h"

enum htype { H_GEN, H_VALUE, H_DOC, H_LOCAL, H_WAIT, H_STREAM };

struct handle {
	enum htype	 type;
	struct inode	*node;		/* referenced */
	int		 flags;		/* open flags */
	pthread_mutex_t	 lock;		/* guards everything below */
	struct buf	 content;	/* rendered content (H_GEN, H_VALUE, H_WAIT) */
	struct buf	 wbuf;		/* H_DOC: the text being written */
	int		 dirty;		/* H_DOC: written since the last apply */
	int		 failed;	/* H_DOC: a write failed (errno): never apply */
	int		 wait_done;
	struct lentry	*le;		/* H_LOCAL */
	void		*sstate;	/* H_STREAM: the row's per-open state */
	int		 streaming;	/* H_STREAM: counted in node->nstream */
	struct handle	*hprev, *hnext;	/* every open handle; guarded by hlock */
};

/* Every open handle, so that the ones the kernel never released (a mount
 * aborted under a blocked reader) are freed when the session ends. */
static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *handles;		/* guarded by hlock */

static void
handle_link(struct handle *h)
{
	pthread_mutex_lock(&hlock);
	h->hnext = handles;
	if (handles)
		handles->hprev = h;
	handles = h;
	pthread_mutex_unlock(&hlock);
}

/*
 * Directory listings.  There are no directory handles: the kernel opens
 * directories without asking (FUSE_CAP_NO_OPENDIR_SUPPORT) and keeps what
 * READDIR returned in its cache (FOPEN_CACHE_DIR), so a warm ls or find
 * sends nothing at all; a change drops that cache (inval_inode on the
 * directory, see "Freshness" in docs/architecture.md).  A listing is made
 * when the kernel reads from offset 0 and kept here, keyed by directory,
 * for the READDIRs that continue it; it goes when the kernel read it to
 * the end, or after LISTING_KEEP_MS.  It holds the snapshots it was made
 * from, so every entry's attributes come from the same state.
 */
struct dent {
	uint32_t	 name;		/* offsets into the listing's names */
	uint32_t	 arg;		/* NO_ARG: none */
	uint8_t		 row;
	uint8_t		 state;		/* D_* */
	struct stat	 st;		/* when D_ATTR */
};

#define NO_ARG		UINT32_MAX
#define D_ATTR		1	/* st is set */
#define D_GONE		2	/* vanished between listing and attributes */
#define D_NOATTR	3	/* attributes would cost a backend request */

struct listing {
	pthread_mutex_t	 lock;		/* guards ents' states and ctx */
	uint64_t	 ino;
	struct inode	*dir;		/* referenced */
	struct nctx	*ctx;		/* holds the listing's snapshots */
	struct dent	*ents;
	size_t		 nents, alloc;
	struct buf	 names;		/* NUL-terminated names and arguments */
	uint32_t	*set;		/* open addressing: entry index + 1 */
	size_t		 setcap;
	int64_t		 made_ms;
	int		 refs;		/* guarded by lcache_lock */
};

struct dirfill {
	struct listing	*l;
};

#define LCACHE_SLOTS	64
#define LISTING_KEEP_MS	10000

static pthread_mutex_t lcache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listing *lcache[LCACHE_SLOTS];	/* guarded by lcache_lock */

/* Requests by kind, for .archonfs/status: what the kernel still asks. */
enum opcount {
	C_LOOKUP, C_GETATTR, C_SETATTR, C_READLINK, C_OPENDIR, C_READDIR,
	C_READDIRPLUS, C_RELEASEDIR, C_OPEN, C_READ, C_WRITE, C_FLUSH,
	C_FSYNC, C_RELEASE, C_CREATE, C_MKDIR, C_SYMLINK, C_UNLINK, C_RMDIR,
	C_RENAME, C_STATFS, C_FORGET, C_POOLED, C_NOATTR, C_MAX
};
static const char *const opcount_name[C_MAX] = {
	"lookup", "getattr", "setattr", "readlink", "opendir", "readdir",
	"readdirplus", "releasedir", "open", "read", "write", "flush", "fsync",
	"release", "create", "mkdir", "symlink", "unlink", "rmdir", "rename",
	"statfs", "forget",
	/* ops that went to a backend's pool; readdirplus entries sent
	 * without attributes (a backend would have been asked) */
	"to a pool", "entries without attributes",
};
static uint64_t opcounts[C_MAX];	/* atomic */

static void
count(enum opcount c)
{
	__atomic_add_fetch(&opcounts[c], 1, __ATOMIC_RELAXED);
}

static int is_dir(const struct node_type *t);
static void set_times(struct stat *st, int64_t ms);
static int64_t dir_mtime_ms(const struct node_type *t);

/* ---- context ---------------------------------------------------------- */

/* dir + "/" + name into out; -ENAMETOOLONG rather than a truncated path. */
static int
path_join(char *out, size_t n, const char *dir, const char *name)
{
	size_t d = strlen(dir), k = strlen(name);

	if (d + k + 2 > n)
		return -ENAMETOOLONG;
	memcpy(out, dir, d);
	if (d)
		out[d++] = '/';
	memcpy(out + d, name, k + 1);
	return 0;
}

int
backend_enabled(enum backend_id b)
{
	switch (b) {
	case BK_NONE:
		return 1;
	case BK_MARATHON:
		return FS->marathon != NULL;
	case BK_MESOS:
		return FS->mesos != NULL;
	case BK_ZK:
		return FS->zk != NULL;
	case BK_KAFKA:
		return FS->kafka != NULL;
	case BK_PIPELINE:
		return FS->marathon != NULL;	/* apps are its nodes */
	default:
		return 0;
	}
}

static void
ctx_init(struct nctx *c, struct op *op, struct inode *in)
{
	int i;

	/* Not a memset of the whole context: path is 4 KiB, and itab_ctx
	 * writes it (and name, node, t, args) anyway. */
	itab_ctx(in, c);
	c->op = op;
	c->may_block = op->may_block;
	c->deadline = op->deadline ? op->deadline : now_ms() + 5000;
	c->msg = &op->msg;
	c->mtime_ms = 0;
	c->version = 0;
	for (i = 0; i < NCTX_HOLDS; i++) {
		c->hold[i].p = NULL;
		c->hold[i].put = NULL;
	}
	if (c->t->backend != BK_NONE)
		op->backend = c->t->backend;
}

/* A context for a member of directory pc that has no inode (yet). */
static void
ctx_child(struct nctx *c, const struct nctx *pc, const char *name,
    enum node_id row, const char *arg)
{
	const struct node_type *t = node_row(row);
	int i;

	c->op = pc->op;
	c->nargs = pc->nargs;
	memcpy(c->args, pc->args, sizeof(c->args[0]) * (size_t)pc->nargs);
	c->may_block = pc->may_block;
	c->deadline = pc->deadline;
	c->msg = pc->msg;
	c->version = 0;
	/* The parent's holds are borrowed: only the parent puts them. */
	for (i = 0; i < NCTX_HOLDS; i++) {
		c->hold[i].p = pc->hold[i].p;
		c->hold[i].put = NULL;
	}
	/* Names were checked by resolve(); an over-long path stays empty
	 * and matches nothing. */
	if (path_join(c->path, sizeof(c->path), pc->path, name) != 0)
		c->path[0] = '\0';
	if ((t->name == NULL || arg) && c->nargs < NCTX_ARGS) {
		c->args[c->nargs].row = row;
		c->args[c->nargs].arg = arg ? arg : name;
		c->nargs++;
	}
	c->name = name;
	c->t = t;
	c->node = NULL;
	c->mtime_ms = 0;
	if (t->backend != BK_NONE && c->op)
		c->op->backend = t->backend;
}

static void
ctx_done(struct nctx *c)
{
	int i;

	for (i = 0; i < NCTX_HOLDS; i++) {
		if (c->hold[i].p && c->hold[i].put)
			c->hold[i].put(c->hold[i].p);
		c->hold[i].p = NULL;
		c->hold[i].put = NULL;
	}
}

/* A context that holds nothing yet, for ctx_done on every path. */
static void
ctx_none(struct nctx *c)
{
	int i;

	for (i = 0; i < NCTX_HOLDS; i++) {
		c->hold[i].p = NULL;
		c->hold[i].put = NULL;
	}
}

static const char *
dent_name(const struct listing *l, const struct dent *d)
{
	return l->names.data + d->name;
}

static const char *
dent_arg(const struct listing *l, const struct dent *d)
{
	return d->arg == NO_ARG ? NULL : l->names.data + d->arg;
}

/* The entry called name, or -1; with a slot for it in *slot. */
static long
listing_find(const struct listing *l, const char *name, size_t *slot)
{
	size_t i = (size_t)fnv1a(FNV_INIT, name, strlen(name)) & (l->setcap - 1);
	uint32_t e;

	while ((e = l->set[i]) != 0) {
		if (strcmp(dent_name(l, &l->ents[e - 1]), name) == 0)
			return (long)e - 1;
		i = (i + 1) & (l->setcap - 1);
	}
	*slot = i;
	return -1;
}

static int
listing_grow_set(struct listing *l)
{
	uint32_t *old = l->set, *ns;
	size_t oldcap = l->setcap, cap = oldcap ? oldcap * 2 : 64, i, slot;

	if ((ns = calloc(cap, sizeof(*ns))) == NULL)
		return -ENOMEM;
	l->set = ns;
	l->setcap = cap;
	for (i = 0; i < oldcap; i++)
		if (old[i] && listing_find(l, dent_name(l, &l->ents[old[i] - 1]),
		    &slot) < 0)
			ns[slot] = old[i];
	free(old);
	return 0;
}

int
dirfill_add_attr(struct dirfill *f, const char *name, enum node_id row,
    const char *arg, const struct stat *st)
{
	struct listing *l = f->l;
	int rc = dirfill_add(f, name, row, arg);
	struct dent *d;

	if (rc != 0 || l->nents == 0)
		return rc;	/* or the name was left out */
	d = &l->ents[l->nents - 1];
	if (st && strcmp(dent_name(l, d), name) == 0 && d->state == 0) {
		d->st = *st;
		if (FS->opt.ro)
			d->st.st_mode &= ~(mode_t)0222;
		/* A directory's mtime says when its listing moved on, the
		 * same here as in GETATTR (dir_mtime_ms): the kernel drops a
		 * cached listing when it sees the mtime change. */
		if (is_dir(node_row(row)))
			set_times(&d->st, dir_mtime_ms(node_row(row)));
		d->state = D_ATTR;
	}
	return rc;
}

int
dirfill_add(struct dirfill *f, const char *name, enum node_id row,
    const char *arg)
{
	struct listing *l = f->l;
	struct dent *ne, *d;
	size_t slot, off;
	int rc;

	/* A cluster name that cannot be a file name ("..", "a/b", longer
	 * than 255 bytes) is left out, here for every listing (names.h);
	 * lookups refuse the same names in valid_name(). */
	if (!name_plain(name))
		return 0;
	/* Names are unique in a directory: the first one wins. */
	if ((l->nents + 1) * 2 > l->setcap && (rc = listing_grow_set(l)) != 0)
		return rc;
	if (listing_find(l, name, &slot) >= 0)
		return 0;
	if (l->nents == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 32;
		if ((ne = realloc(l->ents, l->alloc * sizeof(*ne))) == NULL)
			return -ENOMEM;
		l->ents = ne;
	}
	d = &l->ents[l->nents];
	memset(d, 0, sizeof(*d));
	d->row = (uint8_t)row;
	off = l->names.len;
	if (off >= NO_ARG - 512 || (rc = buf_add(&l->names, name,
	    strlen(name) + 1)) != 0)
		return rc ? rc : -EFBIG;
	d->name = (uint32_t)off;
	d->arg = NO_ARG;
	if (arg) {
		off = l->names.len;
		if ((rc = buf_add(&l->names, arg, strlen(arg) + 1)) != 0)
			return rc;
		d->arg = (uint32_t)off;
	}
	l->set[slot] = (uint32_t)(l->nents + 1);
	l->nents++;
	return 0;
}

static int
is_dir(const struct node_type *t)
{
	return t->kind == NK_DIR || t->kind == NK_PENDING;
}

static int
valid_name(const char *name)
{
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	if (strchr(name, '/') || name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

/* Resolve name in directory pc: its row, and the argument it captures. */
static int
resolve(struct nctx *pc, const char *name, enum node_id *row, char **arg)
{
	const struct node_type *fixed;
	enum node_id pending;
	struct lentry *le;
	char path[4096];
	int rc;

	*arg = NULL;
	if ((rc = valid_name(name)) != 0)
		return rc;
	if (!is_dir(pc->t))
		return -ENOTDIR;
	if ((rc = path_join(path, sizeof(path), pc->path, name)) != 0)
		return rc;
	if ((le = local_get(path)) != NULL) {
		*row = le->row;
		local_put(le);
		if (node_row(*row)->kind != NK_PENDING || pc->t->match == NULL)
			return 0;
		/* A pending directory yields once the cluster has the real
		 * thing (created through this mount or by anyone else). */
		pending = *row;
		rc = pc->t->match(pc, name, row, arg);
		if (rc == 0) {
			local_remove_one(path);
			return 0;
		}
		*row = pending;
		return rc == -ENOENT ? 0 : rc;
	}
	fixed = node_fixed_child(pc->t->id, name);
	if (fixed && backend_enabled(fixed->backend)) {
		*row = fixed->id;
		return 0;
	}
	if (pc->t->match && backend_enabled(pc->t->backend))
		return pc->t->match(pc, name, row, arg);
	return -ENOENT;
}

/* ---- attributes -------------------------------------------------------- */

static void
set_times(struct stat *st, int64_t ms)
{
	st->st_mtim.tv_sec = ms / 1000;
	st->st_mtim.tv_nsec = (ms % 1000) * 1000000L;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

/*
 * Whether every change of a listing of this row reaches the kernel as an
 * invalidation, so the kernel may keep the listing until told: Marathon's
 * event stream (tree_marathon.c sweeps the inodes of what changed),
 * ZooKeeper's watches, and what only changes through this mount.  Other
 * listings (Mesos sandboxes, completed/, Kafka, the pipeline) are pulled:
 * the kernel keeps them like the names no event reports, for about
 * entry_timeout (dir_mtime_ms).
 */
static int
listing_pushed(const struct node_type *t)
{
	switch (t->backend) {
	case BK_NONE:
	case BK_ZK:
		return 1;
	case BK_MARATHON:
		return !FS->opt.no_events;
	default:
		return 0;
	}
}

/*
 * A directory's mtime.  The kernel drops its cached listing when it sees
 * the mtime change (fuse_readdir_cached with auto_inval_data), so a pulled
 * listing's mtime moves on once per entry_timeout window; a pushed one
 * never moves.
 */
static int64_t
dir_mtime_ms(const struct node_type *t)
{
	int64_t w = (int64_t)(FS->opt.entry_timeout * 1000), now;

	if (listing_pushed(t))
		return FS->start_wall_ms;
	now = wall_ms();
	if (w <= 0)
		return now;
	return FS->start_wall_ms + (now - FS->start_wall_ms) / w * w;
}

/*
 * Which window the kernel's copy of a pulled listing belongs to: it keeps
 * the copy until the directory's mtime moves on (dir_mtime_ms) or a
 * refresh drops it.  Stamped on the inode at READDIR; 0 means none.
 */
static uint16_t
listing_stamp(void)
{
	int64_t w = (int64_t)(FS->opt.entry_timeout * 1000);
	uint16_t v;

	if (w <= 0)
		return 0;
	v = (uint16_t)((wall_ms() - FS->start_wall_ms) / w +
	    __atomic_load_n(&FS->refreshes, __ATOMIC_RELAXED));
	return v ? v : 1;
}

int
kernel_has_listing(const char *path)
{
	struct inode *in;
	uint16_t now = listing_stamp();
	int has;

	if (now == 0 || (in = itab_lookup_path(path)) == NULL)
		return 0;
	has = __atomic_load_n(&in->listed, __ATOMIC_RELAXED) == now &&
	    __atomic_load_n(&in->nlookup, __ATOMIC_RELAXED) > 0;
	itab_put(in);
	return has;
}

/*
 * How long the kernel may keep an inode's attributes.  A growing file
 * that someone has open must be asked every time (tail -f polls fstat);
 * closed, it is cached like any file (its open makes the kernel drop
 * them first, see open_node).  A pulled listing's directory is revalidated
 * at least every entry_timeout, so its mtime can say the listing moved on.
 */
static double
attr_timeout_of(const struct node_type *t, const struct inode *in)
{
	double a = FS->opt.attr_timeout;

	if (t->kind == NK_STREAM && in &&
	    __atomic_load_n(&in->nstream, __ATOMIC_RELAXED))
		return 0;
	if (is_dir(t) && !listing_pushed(t) && FS->opt.entry_timeout < a)
		return FS->opt.entry_timeout;
	return a;
}

/*
 * Whether someone has the growing file dir/name open.  Its size is then
 * never asked on the FUSE thread: a row's size handler may wait for a
 * lock the open file's reader holds across a backend call (the merged
 * app log does), and the FUSE thread waits on nothing.
 */
static int
stream_opened(struct inode *dir, const char *name)
{
	struct inode *in = itab_find(dir, name);
	int n = in && __atomic_load_n(&in->nstream, __ATOMIC_RELAXED);

	itab_put(in);
	return n;
}

static int
node_attr(struct nctx *c, struct stat *st, uint64_t ino)
{
	const struct node_type *t = c->t;
	struct buf b = BUF_INIT(0);
	struct lentry *le;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->st_uid = FS->uid;
	st->st_gid = FS->gid;
	st->st_blksize = 4096;
	set_times(st, FS->start_wall_ms);
	if ((t->flags & NF_LOCAL) || t->kind == NK_SCRATCH ||
	    t->kind == NK_PENDING) {
		if ((le = local_get(c->path)) == NULL)
			return -ENOENT;
		local_stat(le, st);
		local_put(le);
		goto out;
	}
	switch (t->kind) {
	case NK_DIR:
		st->st_mode = S_IFDIR | t->mode;
		st->st_nlink = 2;
		st->st_size = 0;
		set_times(st, dir_mtime_ms(t));
		break;
	case NK_WAIT:
		st->st_mode = S_IFREG | t->mode;
		st->st_nlink = 1;
		break;
	case NK_LINK:
		if ((rc = t->read(c, &b)) < 0)
			goto done;
		rc = 0;
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)b.len;
		st->st_ino = ino;
		goto done;	/* a link's mode is not a permission: ro keeps it */
	case NK_STREAM:
		c->mtime_ms = 0;
		if ((rc = t->ssize(c, NULL, &st->st_size)) < 0)
			goto done;
		rc = 0;
		st->st_mode = S_IFREG | t->mode;
		st->st_nlink = 1;
		/* It grows: "modified" is now, unless the backend knows. */
		set_times(st, c->mtime_ms > 0 ? c->mtime_ms : wall_ms());
		break;
	default:
		c->mtime_ms = 0;
		if (t->size == NULL || (rc = t->size(c, &st->st_size)) > 0) {
			if ((rc = t->read(c, &b)) < 0)
				goto done;
			st->st_size = (off_t)b.len;
		}
		if (rc < 0)
			goto done;
		rc = 0;
		st->st_mode = S_IFREG | t->mode;
		st->st_nlink = 1;
		if (c->mtime_ms > 0)
			set_times(st, c->mtime_ms);
		break;
	}
out:
	st->st_blocks = (st->st_size + 511) / 512;
	if (FS->opt.ro)
		st->st_mode &= ~(mode_t)0222;
	st->st_ino = ino;
done:
	buf_free(&b);
	return rc;
}

/* What the kernel was last told of a file's size (open_node compares). */
static void
note_size(struct inode *in, off_t size)
{
	struct ifile *f;

	itab_lock();
	if ((f = inode_file(in)) != NULL)
		f->attr_size = size;
	itab_unlock();
}

/* A generated directory exists while its parent still generates it. */
static int
check_exists(struct op *op, struct inode *in, const struct nctx *c)
{
	struct nctx pc;
	enum node_id row;
	char *arg = NULL;
	int rc;

	if (c->t->name != NULL || (c->t->flags & NF_LOCAL) || in->parent == NULL ||
	    c->t->kind == NK_PENDING)
		return 0;
	ctx_init(&pc, op, in->parent);
	rc = resolve(&pc, inode_name(in), &row, &arg);
	if (rc == 0 && row != in->row)
		rc = -ENOENT;
	free(arg);
	ctx_done(&pc);
	return rc;
}

/* ---- replies ----------------------------------------------------------- */

static struct op *
op_new(fuse_req_t req, int (*fn)(struct op *), const char *what)
{
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	struct op *op;

	if ((op = calloc(1, sizeof(*op))) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	op->req = req;
	op->fn = fn;
	op->what = what;
	op->uid = fc->uid;
	op->gid = fc->gid;
	op->pid = fc->pid;
	op->rkind = R_ERR;
	op->attr_timeout = FS->opt.attr_timeout;
	pthread_mutex_init(&op->rlock, NULL);
	buf_init(&op->msg, 1u << 20);
	buf_init(&op->audit, 1u << 20);
	return op;
}

static void handle_free(struct handle *h);
static void op_finish(struct op *op, int rc);

/* An op on an inode, with the open file's info when there is one. */
static struct op *
op_ino(fuse_req_t req, int (*fn)(struct op *), const char *what,
    fuse_ino_t ino, const struct fuse_file_info *fi)
{
	struct op *op = op_new(req, fn, what);

	if (op == NULL)
		return NULL;
	op->ino = ino;
	if (fi) {
		op->fi = *fi;
		op->has_fi = 1;
		op->flags = fi->flags;
	}
	return op;
}

/* An op on a name in a directory. */
static struct op *
op_name(fuse_req_t req, int (*fn)(struct op *), const char *what,
    fuse_ino_t parent, const char *name)
{
	struct op *op = op_new(req, fn, what);

	if (op == NULL)
		return NULL;
	op->ino = parent;
	if ((op->name = strdup(name)) == NULL) {
		op_finish(op, -ENOMEM);
		return NULL;
	}
	return op;
}

static void
op_free(struct op *op)
{
	free(op->name);
	free(op->name2);
	free(op->data);
	free(op->rbuf);
	buf_free(&op->msg);
	buf_free(&op->audit);
	pthread_mutex_destroy(&op->rlock);
	free(op);
}

/*
 * The watcher answered the caller already (the op overran its deadline):
 * undo what the reply would have handed to the kernel, and say how the op
 * ended, since a change may have been applied after all.
 */
static void
op_unanswered(struct op *op, int rc)
{
	char path[4096] = "?";
	struct inode *in;

	if ((in = itab_ref(op->ino)) != NULL) {
		itab_path(in, path, sizeof(path));
		itab_put(in);
	}
	if (rc >= 0 && (op->rkind == R_ENTRY || op->rkind == R_CREATE) &&
	    op->entry.ino)
		itab_forget(op->entry.ino, 1);
	if (rc >= 0 && (op->rkind == R_OPEN || op->rkind == R_CREATE))
		handle_free((struct handle *)(uintptr_t)op->rfi.fh);
	log_msg("%s %s%s%s: ended (%s) after its caller was answered%s%s",
	    op->what, path, op->name ? "/" : "", op->name ? op->name : "",
	    rc < 0 ? strerror(-rc) : "done", op->audit.len ? "; sent: " : "",
	    buf_str(&op->audit));
}

/* Reply, unless the watcher did (then op_unanswered); never frees op. */
static void
op_reply(struct op *op, int rc)
{
	pthread_mutex_lock(&op->rlock);
	if (op->answered) {
		pthread_mutex_unlock(&op->rlock);
		op_unanswered(op, rc);
		return;
	}
	op->answered = 1;
	pthread_mutex_unlock(&op->rlock);
	/* After this no interrupt callback runs for this op (libfuse takes
	 * the request's lock both here and around the callback).  Only ops
	 * that went to a pool registered one. */
	if (op->may_block)
		fuse_req_interrupt_func(op->req, NULL, NULL);
	if (rc < 0) {
		fuse_reply_err(op->req, -rc);
		goto out;
	}
	switch (op->rkind) {
	case R_ERR:
		fuse_reply_err(op->req, op->err);
		break;
	case R_NONE:
		fuse_reply_none(op->req);
		break;
	case R_ENTRY:
		if (fuse_reply_entry(op->req, &op->entry) != 0 && op->entry.ino)
			itab_forget(op->entry.ino, 1);
		break;
	case R_ATTR:
		fuse_reply_attr(op->req, &op->st, op->attr_timeout);
		break;
	case R_OPEN:
		if (fuse_reply_open(op->req, &op->rfi) != 0)
			handle_free((struct handle *)(uintptr_t)op->rfi.fh);
		break;
	case R_CREATE:
		if (fuse_reply_create(op->req, &op->entry, &op->rfi) != 0) {
			handle_free((struct handle *)(uintptr_t)op->rfi.fh);
			itab_forget(op->entry.ino, 1);
		}
		break;
	case R_BUF:
		fuse_reply_buf(op->req, op->rbuf, op->rlen);
		break;
	case R_LINK:
		fuse_reply_readlink(op->req, op->rbuf);
		break;
	case R_WRITE:
		fuse_reply_write(op->req, op->wcount);
		break;
	case R_STATFS:
		break;
	}
out:
	return;
}

static void
op_finish(struct op *op, int rc)
{
	op_reply(op, rc);
	op_free(op);
}

/*
 * The op runs past its deadline (or its caller gave up): answer err now,
 * if nothing did yet.  The op stays its worker's, who frees it.  1: this
 * call answered.
 */
int
op_abandon(struct op *op, int err)
{
	pthread_mutex_lock(&op->rlock);
	if (op->answered) {
		pthread_mutex_unlock(&op->rlock);
		return 0;
	}
	op->answered = 1;
	fuse_req_interrupt_func(op->req, NULL, NULL);
	fuse_reply_err(op->req, err);
	pthread_mutex_unlock(&op->rlock);
	return 1;
}

static void
op_interrupt(fuse_req_t req, void *data)
{
	struct op *op = data;

	(void)req;
	op->interrupted_at = now_ms();
	op->interrupted = 1;
}

int
backend_timeout_ms(enum backend_id b)
{
	const struct options *o = &FS->opt;
	double s = 0;

	switch (b) {
	case BK_MARATHON:
		s = o->marathon_timeout;
		break;
	case BK_MESOS:
		s = o->mesos_timeout;
		break;
	case BK_ZK:
		s = o->zk_timeout;
		break;
	case BK_KAFKA:
		s = o->kafka_timeout;
		break;
	default:
		break;
	}
	return (int)((s > 0 ? s : o->timeout) * 1000);
}

static void
op_start(struct op *op)
{
	int rc;

	if (op == NULL)
		return;
	op->may_block = 0;
	rc = op->fn(op);
	if (rc == -E_WOULDBLOCK) {
		count(C_POOLED);
		op->may_block = 1;
		buf_reset(&op->msg);
		buf_reset(&op->audit);
		if (op->backend == POOL_WAIT)
			op->deadline = 0;	/* waits as long as it takes */
		else
			op->deadline = now_ms() + backend_timeout_ms(op->backend);
		fuse_req_interrupt_func(op->req, op_interrupt, op);
		pool_submit(FS->pool[op->backend], op);
		return;
	}
	op_finish(op, rc);
}

void
op_run_blocking(struct op *op)
{
	int rc;

	if (op->interrupted)
		rc = -EINTR;
	else if (op->deadline && now_ms() >= op->deadline)
		rc = -ETIMEDOUT;
	else if ((rc = op->fn(op)) == -E_WOULDBLOCK)
		rc = -EIO;
	op_reply(op, rc);
}

void
op_release(struct op *op)
{
	op_free(op);
}

void
op_fail(struct op *op, int err)
{
	op_finish(op, -err);
}

/* ---- refusals and the change log --------------------------------------- */

static const char *
errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EIO: return "EIO";
	case EFBIG: return "EFBIG";
	case EINTR: return "EINTR";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EISDIR: return "EISDIR";
	case ENOTDIR: return "ENOTDIR";
	default: return "error";
	}
}

/* The directory whose .error records a refusal at (or under) path. */
static void
error_dir(struct inode *dir, char *out, size_t n)
{
	struct inode *p;

	itab_lock();
	for (p = dir; p && p->parent; p = p->parent)
		if (node_row(p->row)->flags & NF_ERRFILE)
			break;
	itab_unlock();
	if (p == NULL || p->parent == NULL)
		p = dir;
	itab_path(p, out, n);
}

/* archonfs changed a local file behind the kernel's back: drop its
 * cached attributes and pages. */
static void
inval_path(const char *dir, const char *name)
{
	char path[4096];
	struct inode *in;

	if (path_join(path, sizeof(path), dir, name) != 0)
		return;
	if ((in = itab_lookup_path(path)) != NULL) {
		inval_inode(in->ino);
		itab_put(in);
	}
}

/*
 * Record a refusal: .error of the nearest directory that has one, and for
 * documents the refused text beside the document.
 */
static void
refuse(struct op *op, struct inode *dir, const char *name, int err,
    const char *text, size_t len)
{
	char edir[4096], dpath[4096], rpath[4096], when[32], rej[300];
	struct buf b = BUF_INIT(1u << 20);
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	error_dir(dir, edir, sizeof(edir));
	itab_path(dir, dpath, sizeof(dpath));
	buf_printf(&b, "%s %s %s%s%s: %s (%s)\n", when, op->what, dpath,
	    dpath[0] ? "/" : "", name, strerror(err), errno_name(err));
	if (op->msg.len)
		buf_printf(&b, "%s\n", buf_str(&op->msg));
	if (text && strlen(name) + 10 < sizeof(rej)) {
		snprintf(rej, sizeof(rej), "%s.rejected", name);
		if (path_join(rpath, sizeof(rpath), dpath, rej) == 0 &&
		    local_put_file(rpath, text, len, op->uid, op->gid) == 0) {
			buf_printf(&b, "The refused text is kept in %s.rejected.\n",
			    name);
			inval_path(dpath, rej);
			/* The kernel may hold the listing without it. */
			inval_inode(dir->ino);
		}
	}
	local_set_error(edir, buf_str(&b));
	inval_path(edir, ".error");
	buf_free(&b);
}

/* A plain refusal with a fixed message (no backend involved). */
static int refuse_msg(struct op *op, struct inode *dir, const char *name,
    int err, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
refuse_msg(struct op *op, struct inode *dir, const char *name, int err,
    const char *fmt, ...)
{
	va_list ap;

	buf_reset(&op->msg);
	va_start(ap, fmt);
	buf_vprintf(&op->msg, fmt, ap);
	va_end(ap);
	refuse(op, dir, name, err, NULL, 0);
	return -err;
}

/*
 * Apply a write through a node's write handler, with the change log,
 * .error, and kernel invalidation around it.
 */
static int
apply(struct op *op, struct nctx *c, struct inode *dir, const char *p,
    size_t n, int is_doc)
{
	int rc;

	if (FS->opt.ro)
		return -EROFS;
	buf_reset(&op->msg);
	buf_reset(&op->audit);
	if (backend_write_refused(c->t->backend, &op->msg))
		rc = -EIO;
	else
		rc = c->t->write(c, p, n);
	if (rc == -E_WOULDBLOCK)
		return rc;
	if (rc > 0)
		rc = 0;
	log_change(op, c->path, buf_str(&op->audit), -rc, buf_str(&op->msg));
	if (rc < 0)
		refuse(op, dir, c->name, -rc, is_doc ? p : NULL, n);
	else if (c->node)
		inval_inode(c->node->ino);
	return rc;
}

/* ---- lookup, getattr, forget ------------------------------------------- */

static void
fill_entry(struct fuse_entry_param *e, struct inode *in, const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->ino = in->ino;
	e->attr = *st;
	e->attr.st_ino = in->ino;
	e->attr_timeout = attr_timeout_of(node_row(in->row), in);
	e->entry_timeout = FS->opt.entry_timeout;
}

/*
 * Lookups that ran out of time, remembered for a moment.  When the kernel
 * revalidates a cached name and the LOOKUP fails, it drops the name and
 * looks it up again at once: without this, a backend that is down would
 * cost every cat two deadlines instead of one.
 */
#define LFAIL_SLOTS	64
#define LFAIL_MS	1000

static pthread_mutex_t lfail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t	 parent;
	char		 name[64];
	int		 err;
	int64_t		 at;
} lfail[LFAIL_SLOTS];		/* guarded by lfail_lock */

static int
lookup_failed(uint64_t parent, const char *name)
{
	int i, rc = 0;

	pthread_mutex_lock(&lfail_lock);
	for (i = 0; i < LFAIL_SLOTS; i++)
		if (lfail[i].at && lfail[i].parent == parent &&
		    now_ms() - lfail[i].at < LFAIL_MS &&
		    strcmp(lfail[i].name, name) == 0)
			rc = lfail[i].err;
	pthread_mutex_unlock(&lfail_lock);
	return rc;
}

static void
lookup_failed_set(uint64_t parent, const char *name, int err)
{
	int i, slot = 0;

	if (strlen(name) >= sizeof(lfail[0].name))
		return;
	pthread_mutex_lock(&lfail_lock);
	for (i = 0; i < LFAIL_SLOTS; i++)
		if (lfail[i].at < lfail[slot].at)
			slot = i;	/* the oldest */
	lfail[slot].parent = parent;
	snprintf(lfail[slot].name, sizeof(lfail[slot].name), "%s", name);
	lfail[slot].err = err;
	lfail[slot].at = now_ms();
	pthread_mutex_unlock(&lfail_lock);
}

static int
do_lookup(struct op *op)
{
	struct inode *parent, *in;
	struct nctx pc, cc;
	enum node_id row;
	struct stat st;
	char *arg = NULL;
	int rc;

	if ((rc = lookup_failed(op->ino, op->name)) != 0)
		return rc;
	if ((parent = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&pc, op, parent);
	ctx_none(&cc);
	if ((rc = resolve(&pc, op->name, &row, &arg)) != 0)
		goto out;
	if (node_row(row)->kind == NK_STREAM && !op->may_block &&
	    stream_opened(parent, op->name)) {
		rc = -E_WOULDBLOCK;
		goto out;
	}
	ctx_child(&cc, &pc, op->name, row, arg);
	if ((rc = node_attr(&cc, &st, 0)) != 0)
		goto out;
	if ((in = itab_get(parent, op->name, row, arg, 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	note_size(in, st.st_size);
	fill_entry(&op->entry, in, &st);
	op->rkind = R_ENTRY;
	itab_put(in);
out:
	if (rc == -ETIMEDOUT)
		lookup_failed_set(op->ino, op->name, rc);
	ctx_done(&cc);
	ctx_done(&pc);
	free(arg);
	itab_put(parent);
	return rc;
}

static void
ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	count(C_LOOKUP);
	op_start(op_name(req, do_lookup, "lookup", parent, name));
}

static void
ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	count(C_FORGET);
	itab_forget(ino, n);
	fuse_reply_none(req);
}

static void
ll_forget_multi(fuse_req_t req, size_t n, struct fuse_forget_data *f)
{
	size_t i;

	count(C_FORGET);
	for (i = 0; i < n; i++)
		itab_forget(f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static struct handle *
fh(const struct op *op)
{
	return op->has_fi ? (struct handle *)(uintptr_t)op->fi.fh : NULL;
}

static int
do_getattr(struct op *op)
{
	struct handle *h = fh(op);
	struct inode *in;
	struct nctx c;
	int rc;

	if ((in = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&c, op, in);
	if (h && h->type == H_DOC) {
		/* fstat on a document being written: its size so far. */
		memset(&op->st, 0, sizeof(op->st));
		op->st.st_mode = S_IFREG | c.t->mode;
		op->st.st_nlink = 1;
		op->st.st_uid = FS->uid;
		op->st.st_gid = FS->gid;
		op->st.st_ino = in->ino;
		pthread_mutex_lock(&h->lock);
		op->st.st_size = (off_t)h->wbuf.len;
		pthread_mutex_unlock(&h->lock);
		op->attr_timeout = FS->opt.attr_timeout;
		op->rkind = R_ATTR;
		rc = 0;
		goto out;
	}
	if (c.t->kind == NK_STREAM && !op->may_block &&
	    (h || __atomic_load_n(&in->nstream, __ATOMIC_RELAXED))) {
		rc = -E_WOULDBLOCK;	/* see stream_opened() */
		goto out;
	}
	if (h && h->type == H_STREAM) {
		/* fstat on an open log (tail -f polls this): its state knows
		 * where the file is. */
		memset(&op->st, 0, sizeof(op->st));
		if ((rc = c.t->ssize(&c, h->sstate, &op->st.st_size)) < 0)
			goto out;
		rc = 0;
		op->st.st_mode = S_IFREG | (c.t->mode & ~(mode_t)0222);
		op->st.st_nlink = 1;
		op->st.st_uid = FS->uid;
		op->st.st_gid = FS->gid;
		op->st.st_ino = in->ino;
		op->st.st_blksize = 4096;
		op->st.st_blocks = (op->st.st_size + 511) / 512;
		set_times(&op->st, c.mtime_ms > 0 ? c.mtime_ms : wall_ms());
		op->attr_timeout = 0;
		op->rkind = R_ATTR;
		goto out;
	}
	/* A directory nothing pushes is not looked for in its parent: that
	 * would ask an agent (a sandbox's conf/) for every stat, and the
	 * kernel calls GETATTR on each directory read once before (an
	 * uncached READDIR marks its atime stale); its name expires with
	 * entry_timeout instead, and READDIR still checks. */
	if ((!is_dir(c.t) || listing_pushed(c.t)) &&
	    (rc = check_exists(op, in, &c)) != 0)
		goto out;
	if ((rc = node_attr(&c, &op->st, in->ino)) != 0)
		goto out;
	note_size(in, op->st.st_size);
	/* After node_attr: a stream opened meanwhile is not cached. */
	op->attr_timeout = attr_timeout_of(c.t, in);
	op->rkind = R_ATTR;
out:
	ctx_done(&c);
	itab_put(in);
	return rc;
}

static void
ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count(C_GETATTR);
	op_start(op_ino(req, do_getattr, "getattr", ino, fi));
}

/* ---- setattr ------------------------------------------------------------ */

static int
do_setattr(struct op *op)
{
	struct handle *h = fh(op);
	struct inode *in;
	struct lentry *le = NULL;
	struct nctx c;
	int rc = 0, set = op->to_set;

	if ((in = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&c, op, in);
	if ((c.t->flags & NF_LOCAL) || c.t->kind == NK_SCRATCH ||
	    c.t->kind == NK_PENDING) {
		if ((le = local_get(c.path)) == NULL) {
			rc = -ENOENT;
			goto out;
		}
		if (set & FUSE_SET_ATTR_SIZE) {
			if (c.t->kind != NK_SCRATCH && op->attr.st_size != 0) {
				rc = -EINVAL;
				goto out;
			}
			if (c.t->kind == NK_SCRATCH &&
			    (rc = local_truncate(le, op->attr.st_size)) != 0)
				goto out;
		}
		pthread_mutex_lock(&le->lock);
		if (set & FUSE_SET_ATTR_MODE)
			le->mode = op->attr.st_mode & 07777;
		if (set & FUSE_SET_ATTR_UID)
			le->uid = op->attr.st_uid;
		if (set & FUSE_SET_ATTR_GID)
			le->gid = op->attr.st_gid;
		if (set & FUSE_SET_ATTR_MTIME)
			le->mtime = op->attr.st_mtim;
		if (set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &le->mtime);
		pthread_mutex_unlock(&le->lock);
		goto attrs;
	}
	if (set & FUSE_SET_ATTR_SIZE) {
		if (FS->opt.ro) {
			rc = -EROFS;
			goto out;
		}
		if (h && h->type == H_DOC) {
			pthread_mutex_lock(&h->lock);
			if ((size_t)op->attr.st_size > DOC_MAX)
				rc = -EFBIG;
			else if ((rc = buf_truncate(&h->wbuf,
			    (size_t)op->attr.st_size)) == 0)
				h->dirty = 1;
			pthread_mutex_unlock(&h->lock);
			if (rc)
				goto out;
		} else if (c.t->kind == NK_VALUE || c.t->kind == NK_CTL ||
		    c.t->kind == NK_DOC) {
			/* Truncation alone writes nothing: the value or
			 * document is applied by the write that follows. */
			if (op->attr.st_size != 0) {
				rc = -EINVAL;
				goto out;
			}
		} else {
			rc = -EPERM;
			goto out;
		}
	}
	if (set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		/* Accept what changes nothing (cp -p, editors restoring modes). */
		struct stat cur;

		if ((rc = node_attr(&c, &cur, in->ino)) != 0)
			goto out;
		if (((set & FUSE_SET_ATTR_MODE) &&
		    (op->attr.st_mode & 07777) != (cur.st_mode & 07777)) ||
		    ((set & FUSE_SET_ATTR_UID) && op->attr.st_uid != cur.st_uid) ||
		    ((set & FUSE_SET_ATTR_GID) && op->attr.st_gid != cur.st_gid)) {
			rc = -EPERM;
			goto out;
		}
	}
attrs:
	/* Times on cluster files are accepted and ignored (touch works). */
	if (h && h->type == H_DOC) {
		rc = node_attr(&c, &op->st, in->ino);
		if (rc == 0) {
			pthread_mutex_lock(&h->lock);
			op->st.st_size = (off_t)h->wbuf.len;
			pthread_mutex_unlock(&h->lock);
		}
	} else {
		rc = node_attr(&c, &op->st, in->ino);
	}
	if (rc == 0)
		op->rkind = R_ATTR;
out:
	local_put(le);
	ctx_done(&c);
	itab_put(in);
	return rc;
}

static void
ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct op *op = op_ino(req, do_setattr, "setattr", ino, fi);

	count(C_SETATTR);
	if (op == NULL)
		return;
	op->attr = *attr;
	op->to_set = to_set;
	op_start(op);
}

/* ---- directories --------------------------------------------------------- */

static int
add_local(void *arg, const char *name, enum node_id row)
{
	return dirfill_add(arg, name, row, NULL);
}

static void
listing_free(struct listing *l)
{
	if (l == NULL)
		return;
	if (l->ctx) {
		ctx_done(l->ctx);
		free(l->ctx);
	}
	free(l->ents);
	free(l->set);
	buf_free(&l->names);
	pthread_mutex_destroy(&l->lock);
	itab_put(l->dir);
	free(l);
}

static void
listing_put(struct listing *l)
{
	int last;

	if (l == NULL)
		return;
	pthread_mutex_lock(&lcache_lock);
	last = --l->refs == 0;
	pthread_mutex_unlock(&lcache_lock);
	if (last)
		listing_free(l);
}

/* The listing of ino that a READDIR at a later offset continues, or NULL;
 * listings kept too long are dropped on the way (they hold snapshots). */
static struct listing *
lcache_get(uint64_t ino)
{
	struct listing *l, *old[LCACHE_SLOTS];
	int64_t now = now_ms();
	size_t i, n = 0;

	pthread_mutex_lock(&lcache_lock);
	for (i = 0; i < LCACHE_SLOTS; i++) {
		if ((l = lcache[i]) != NULL && now - l->made_ms > LISTING_KEEP_MS) {
			lcache[i] = NULL;
			old[n++] = l;
		}
	}
	if ((l = lcache[ino % LCACHE_SLOTS]) != NULL && l->ino == ino)
		l->refs++;
	else
		l = NULL;
	pthread_mutex_unlock(&lcache_lock);
	for (i = 0; i < n; i++)
		listing_put(old[i]);
	return l;
}

/* Keep l for the READDIRs that continue it (it replaces what was there). */
static void
lcache_set(struct listing *l)
{
	struct listing *old;

	pthread_mutex_lock(&lcache_lock);
	old = lcache[l->ino % LCACHE_SLOTS];
	lcache[l->ino % LCACHE_SLOTS] = l;
	l->refs++;
	pthread_mutex_unlock(&lcache_lock);
	listing_put(old);
}

/* The kernel read l to its end: it has what it needs. */
static void
lcache_drop(struct listing *l)
{
	int mine = 0;

	pthread_mutex_lock(&lcache_lock);
	if (lcache[l->ino % LCACHE_SLOTS] == l) {
		lcache[l->ino % LCACHE_SLOTS] = NULL;
		mine = 1;
	}
	pthread_mutex_unlock(&lcache_lock);
	if (mine)
		listing_put(l);
}

/* Make the listing of directory in: fixed rows, .error, the row's list
 * handler, the local store.  -E_WOULDBLOCK when the handler needs the
 * network (nothing is kept then). */
static int
listing_make(struct op *op, struct inode *in, struct listing **out)
{
	struct dirfill fill;
	struct listing *l;
	struct nctx *c;
	int i, rc;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	if ((c = malloc(sizeof(*c))) == NULL) {
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	buf_init(&l->names, 0);
	l->refs = 1;
	l->ino = in->ino;
	itab_hold(in);
	l->dir = in;
	ctx_init(c, op, in);
	l->ctx = c;
	l->made_ms = now_ms();
	fill.l = l;
	if (!is_dir(c->t)) {
		rc = -ENOTDIR;
		goto fail;
	}
	if ((rc = check_exists(op, in, c)) != 0)
		goto fail;
	for (i = 1; i < N_COUNT; i++) {
		const struct node_type *t = node_row((enum node_id)i);

		if (t->parent != c->t->id || t->name == NULL || i == N_ERROR ||
		    (t->flags & NF_HIDDEN) || !backend_enabled(t->backend))
			continue;
		if ((rc = dirfill_add(&fill, t->name, t->id, NULL)) != 0)
			goto fail;
	}
	if (c->t->flags & NF_ERRFILE)
		dirfill_add(&fill, ".error", N_ERROR, NULL);
	if (c->t->list && backend_enabled(c->t->backend) &&
	    (rc = c->t->list(c, &fill)) != 0)
		goto fail;
	if ((rc = local_list(c->path, add_local, &fill)) != 0)
		goto fail;
	*out = l;
	return 0;
fail:
	listing_free(l);
	return rc;
}

/*
 * An entry's attributes for READDIRPLUS, from the listing's snapshots.
 * Never a backend request just to list: when the attribute would need one
 * (a log's size is the agent's), the entry goes without attributes and
 * the kernel asks LOOKUP for it if someone stats it.
 */
static void
dent_attr(struct listing *l, struct dent *d)
{
	struct nctx cc;
	int rc, mb = l->ctx->may_block;

	l->ctx->may_block = 0;
	ctx_child(&cc, l->ctx, dent_name(l, d), (enum node_id)d->row,
	    dent_arg(l, d));
	if (cc.t->kind == NK_STREAM && stream_opened(l->dir, dent_name(l, d)))
		rc = -E_WOULDBLOCK;
	else
		rc = node_attr(&cc, &d->st, 0);
	ctx_done(&cc);
	l->ctx->may_block = mb;
	if (rc == -E_WOULDBLOCK) {
		d->state = D_NOATTR;
		count(C_NOATTR);
	} else if (rc < 0) {
		d->state = D_GONE;
	} else {
		d->state = D_ATTR;
	}
}

/* An inode number for an entry sent without attributes: the existing
 * inode's, or a stable made-up one (never 0: some readers skip those). */
static uint64_t
dent_ino(struct inode *dir, const char *name)
{
	struct inode *in = itab_find(dir, name);
	uint64_t ino;

	if (in == NULL)
		return fnv1a(FNV_INIT, name, strlen(name)) | 1;
	ino = in->ino;
	itab_put(in);
	return ino;
}

static int
do_readdir(struct op *op, int plus)
{
	struct fuse_entry_param e;
	struct listing *l = NULL;
	struct inode *in;
	size_t i, pos = 0, need;
	char *out = NULL;
	int rc = 0, locked = 0;

	if ((in = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	/* From offset 0 the kernel has no listing cached: make one.  Later
	 * offsets continue the listing kept, or one made now if it went. */
	if (op->off > 0)
		l = lcache_get(op->ino);
	if (l == NULL) {
		if ((rc = listing_make(op, in, &l)) != 0)
			goto out;
		lcache_set(l);
	}
	pthread_mutex_lock(&l->lock);
	locked = 1;
	l->ctx->op = op;
	l->ctx->may_block = op->may_block;
	l->ctx->deadline = op->deadline ? op->deadline : now_ms() + 5000;
	l->ctx->msg = &op->msg;
	if ((out = malloc(op->size ? op->size : 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = (size_t)op->off; i < l->nents + 2; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." :
		    dent_name(l, &l->ents[i - 2]);
		struct dent *d = i >= 2 ? &l->ents[i - 2] : NULL;
		struct inode *ein;

		if (plus)
			need = fuse_add_direntry_plus(op->req, NULL, 0, name, NULL, 0);
		else
			need = fuse_add_direntry(op->req, NULL, 0, name, NULL, 0);
		if (pos + need > op->size)
			break;
		memset(&e, 0, sizeof(e));
		if (d == NULL) {
			e.attr.st_mode = S_IFDIR;
			e.attr.st_ino = i == 0 || in->parent == NULL ?
			    in->ino : in->parent->ino;
		} else {
			if (plus && d->state == 0)
				dent_attr(l, d);
			if (d->state == D_GONE)
				continue;
			if (plus && d->state == D_ATTR) {
				ein = itab_get(in, name, (enum node_id)d->row,
				    dent_arg(l, d), 1);
				if (ein == NULL)
					break;
				note_size(ein, d->st.st_size);
				fill_entry(&e, ein, &d->st);
				itab_put(ein);
			} else {
				/* No attributes: the kernel links nothing and
				 * LOOKUPs the name when it is used. */
				e.attr.st_mode = is_dir(node_row(d->row)) ?
				    S_IFDIR : node_row(d->row)->kind == NK_LINK ?
				    S_IFLNK : S_IFREG;
				e.attr.st_ino = dent_ino(in, name);
			}
		}
		if (plus)
			fuse_add_direntry_plus(op->req, out + pos, op->size - pos,
			    name, &e, (off_t)(i + 1));
		else
			fuse_add_direntry(op->req, out + pos, op->size - pos, name,
			    &e.attr, (off_t)(i + 1));
		pos += need;
	}
	/* A pulled listing read from the start: the kernel keeps it for
	 * this window (kernel_has_listing). */
	if (rc == 0 && op->off == 0 && !listing_pushed(node_row(in->row)))
		__atomic_store_n(&in->listed, listing_stamp(), __ATOMIC_RELAXED);
	/* An empty reply is the end: the kernel marks its cache complete. */
	if (pos == 0)
		lcache_drop(l);
	op->rbuf = out;
	out = NULL;
	op->rlen = pos;
	op->rkind = R_BUF;
out:
	if (locked)
		pthread_mutex_unlock(&l->lock);
	free(out);
	listing_put(l);
	itab_put(in);
	return rc;
}

static int
do_readdirplus(struct op *op)
{
	return do_readdir(op, 1);
}

static int
do_readdir_plain(struct op *op)
{
	return do_readdir(op, 0);
}

static void
ll_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, int plus)
{
	struct op *op = op_ino(req, plus ? do_readdirplus : do_readdir_plain,
	    "readdir", ino, fi);

	count(plus ? C_READDIRPLUS : C_READDIR);
	if (op == NULL)
		return;
	op->size = size;
	op->off = off;
	op_start(op);
}

static void
ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ll_readdir_common(req, ino, size, off, fi, 0);
}

static void
ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ll_readdir_common(req, ino, size, off, fi, 1);
}

/*
 * Directories are opened by the kernel alone (see struct listing): the
 * first OPENDIR is answered ENOSYS, which FUSE_CAP_NO_OPENDIR_SUPPORT
 * turns into "no OPENDIR or RELEASEDIR ever again; cache listings and keep
 * them".  A kernel without that capability gets the same from a reply.
 */
static int no_opendir;		/* set once in ll_init */

static void
ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	count(C_OPENDIR);
	if (no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	fuse_reply_open(req, fi);
}

static void
ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	count(C_RELEASEDIR);
	fuse_reply_err(req, 0);
}

static void
handle_free(struct handle *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&hlock);
	if (h->hprev)
		h->hprev->hnext = h->hnext;
	else
		handles = h->hnext;
	if (h->hnext)
		h->hnext->hprev = h->hprev;
	pthread_mutex_unlock(&hlock);
	local_put(h->le);
	if (h->sstate && h->node)
		node_row(h->node->row)->sclose(h->sstate);
	if (h->streaming && h->node)
		itab_stream_close(h->node);
	buf_free(&h->content);
	buf_free(&h->wbuf);
	pthread_mutex_destroy(&h->lock);
	itab_put(h->node);
	free(h);
}

/* The session ended: free the handles the kernel will never release, and
 * the listings it will not read further. */
void
ops_free_handles(void)
{
	struct handle *h;
	struct listing *l;
	int n = 0;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&hlock);
		h = handles;
		pthread_mutex_unlock(&hlock);
		if (h == NULL)
			break;
		handle_free(h);
		n++;
	}
	if (n)
		log_msg("%d open file%s never released by the kernel, freed", n,
		    n == 1 ? "" : "s");
	for (i = 0; i < LCACHE_SLOTS; i++) {
		pthread_mutex_lock(&lcache_lock);
		l = lcache[i];
		lcache[i] = NULL;
		pthread_mutex_unlock(&lcache_lock);
		listing_put(l);
	}
}

/* What the kernel asked, for .archonfs/status. */
void
ops_status(struct buf *out)
{
	size_t n, b, i;

	itab_stats(&n, &b);
	buf_printf(out, "fuse: %d thread%s, directories opened by the kernel: "
	    "%s\n", FS->opt.fuse_threads, FS->opt.fuse_threads == 1 ? "" : "s",
	    no_opendir ? "yes" : "no");
	buf_printf(out, "  inodes: %zu (%zu kB)\n", n, (b + 1023) / 1024);
	buf_addstr(out, "  requests:");
	for (i = 0; i < C_MAX; i++)
		buf_printf(out, "%s %s %llu", i ? "," : "", opcount_name[i],
		    (unsigned long long)__atomic_load_n(&opcounts[i],
		    __ATOMIC_RELAXED));
	buf_addch(out, '\n');
}

/* ---- open, read, write -------------------------------------------------- */

/* Make a handle for node in (referenced by the caller, who keeps it). */
static int
open_node(struct op *op, struct inode *in, int flags, struct handle **out)
{
	struct handle *h;
	struct nctx c;
	int acc = flags & O_ACCMODE, wr = acc != O_RDONLY, rc = 0;
	struct ifile *f;
	uint64_t hash;

	ctx_init(&c, op, in);
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		ctx_done(&c);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	handle_link(h);
	buf_init(&h->content, 0);
	buf_init(&h->wbuf, DOC_MAX);
	h->flags = flags;
	h->node = in;
	memset(&op->rfi, 0, sizeof(op->rfi));
	if (wr && FS->opt.ro) {
		rc = -EROFS;
		goto fail;
	}
	switch (c.t->kind) {
	case NK_DIR:
	case NK_PENDING:
		rc = -EISDIR;
		goto fail;
	case NK_LINK:
		rc = -ELOOP;	/* only O_NOFOLLOW opens reach a link */
		goto fail;
	case NK_SCRATCH:
		if ((h->le = local_get(c.path)) == NULL) {
			rc = -ENOENT;
			goto fail;
		}
		if ((flags & O_TRUNC) && wr && (rc = local_truncate(h->le, 0)) != 0)
			goto fail;
		h->type = H_LOCAL;
		op->rfi.direct_io = 1;
		break;
	case NK_STREAM:
		if (wr) {
			rc = -EACCES;
			goto fail;
		}
		h->type = H_STREAM;
		op->rfi.direct_io = 1;	/* never the page cache: it grows */
		if (c.t->sopen && (rc = c.t->sopen(&c, &h->sstate)) < 0)
			goto fail;
		rc = 0;
		/* While it is open every stat asks (attr_timeout_of); the
		 * size the kernel cached before is dropped now, before the
		 * open returns, so the opener's first fstat (wc -c, tail -f)
		 * asks too.  Attributes only (offset -1): no page or inode
		 * lock is taken, and OPEN is not among the operations that
		 * notification may not run from (fuse_lowlevel.h). */
		h->streaming = 1;
		if (itab_stream_open(in) == 0)
			inval_attr_now(in->ino);
		break;
	case NK_FILE:
	case NK_WAIT:
		if (wr) {
			rc = -EACCES;
			goto fail;
		}
		if (c.t->kind == NK_WAIT) {
			h->type = H_WAIT;
			op->rfi.direct_io = 1;
			op->rfi.nonseekable = 1;
			break;
		}
		/* fall through */
	default:
		if (wr && c.t->kind == NK_DOC) {
			h->type = H_DOC;
			op->rfi.direct_io = 1;
			if (!(flags & O_TRUNC) && (rc = c.t->read(&c, &h->wbuf)) < 0)
				goto fail;
			rc = 0;
			break;
		}
		if (wr) {
			if (c.t->write == NULL) {
				rc = -EACCES;
				goto fail;
			}
			h->type = H_VALUE;
			op->rfi.direct_io = 1;
			/* An O_WRONLY open needs nothing from the backend. */
			if (acc == O_RDWR && (rc = c.t->read(&c, &h->content)) < 0)
				goto fail;
			rc = 0;
			break;
		}
		h->type = H_GEN;
		if ((rc = c.t->read(&c, &h->content)) < 0)
			goto fail;
		rc = 0;
		/* Page cache coherence: keep it when the content is unchanged,
		 * bypass it when the kernel's idea of the size is stale. */
		hash = fnv1a(FNV_INIT, h->content.data ? h->content.data : "",
		    h->content.len);
		itab_lock();
		if ((f = inode_file(in)) == NULL ||
		    f->attr_size != (off_t)h->content.len) {
			op->rfi.direct_io = 1;
			in->flags &= ~IN_PAGE_VALID;
		} else {
			op->rfi.keep_cache = (in->flags & IN_PAGE_VALID) &&
			    f->page_hash == hash;
			f->page_hash = hash;
			in->flags |= IN_PAGE_VALID;
		}
		itab_unlock();
		break;
	}
	if (acc == O_RDONLY)
		op->rfi.noflush = 1;	/* no FLUSH round trip on close */
	if (c.t->opened)
		c.t->opened(&c);
	ctx_done(&c);
	itab_hold(in);
	*out = h;
	return 0;
fail:
	ctx_done(&c);
	h->node = NULL;
	handle_free(h);
	return rc;
}

static int
do_open(struct op *op)
{
	struct handle *h;
	struct inode *in;
	int rc;

	if ((in = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	rc = open_node(op, in, op->flags, &h);
	itab_put(in);
	if (rc != 0)
		return rc;
	op->rfi.fh = (uintptr_t)h;
	op->rkind = R_OPEN;
	return 0;
}

static void
ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count(C_OPEN);
	op_start(op_ino(req, do_open, "open", ino, fi));
}

static int
slice(struct op *op, const struct buf *b)
{
	size_t n = 0;

	if ((size_t)op->off < b->len) {
		n = b->len - (size_t)op->off;
		if (n > op->size)
			n = op->size;
	}
	op->rlen = n;
	op->rkind = R_BUF;
	if (n == 0)
		return 0;
	if ((op->rbuf = malloc(n)) == NULL)
		return -ENOMEM;
	memcpy(op->rbuf, b->data + op->off, n);
	return 0;
}

static int
do_read(struct op *op)
{
	struct handle *h = fh(op);
	struct nctx c;
	int rc = 0;

	if (h == NULL)
		return -EBADF;
	switch (h->type) {
	case H_GEN:
		/* The reply owns a copy: the kernel may finish this request
		 * and send RELEASE (freeing the handle) while the reply's
		 * writev is still returning. */
		return slice(op, &h->content);
	case H_VALUE:
		pthread_mutex_lock(&h->lock);
		rc = slice(op, &h->content);
		pthread_mutex_unlock(&h->lock);
		return rc;
	case H_DOC:
		pthread_mutex_lock(&h->lock);
		rc = slice(op, &h->wbuf);
		pthread_mutex_unlock(&h->lock);
		return rc;
	case H_LOCAL:
		pthread_mutex_lock(&h->le->lock);
		rc = slice(op, &h->le->data);
		pthread_mutex_unlock(&h->le->lock);
		return rc;
	case H_STREAM: {
		ssize_t n;

		if (!op->may_block)
			return -E_WOULDBLOCK;	/* always the network */
		if ((op->rbuf = malloc(op->size ? op->size : 1)) == NULL)
			return -ENOMEM;
		ctx_init(&c, op, h->node);
		n = c.t->sread(&c, h->sstate, op->rbuf, op->size, op->off);
		ctx_done(&c);
		if (n < 0)
			return (int)n;
		op->rlen = (size_t)n;
		op->rkind = R_BUF;
		return 0;
	}
	case H_WAIT:
		/* A worker holds the lock while it waits (as long as the
		 * deployment takes): a FUSE thread never waits for it. */
		if (!op->may_block) {
			if (pthread_mutex_trylock(&h->lock) != 0) {
				op->backend = POOL_WAIT;
				return -E_WOULDBLOCK;
			}
		} else {
			pthread_mutex_lock(&h->lock);
		}
		if (!h->wait_done) {
			if (!op->may_block) {
				pthread_mutex_unlock(&h->lock);
				op->backend = POOL_WAIT;
				return -E_WOULDBLOCK;
			}
			ctx_init(&c, op, h->node);
			op->backend = POOL_WAIT;
			buf_reset(&h->content);
			rc = c.t->read(&c, &h->content);
			ctx_done(&c);
			if (rc >= 0) {
				h->wait_done = 1;
				rc = 0;
			}
		}
		if (rc == 0)
			rc = slice(op, &h->content);
		pthread_mutex_unlock(&h->lock);
		return rc;
	default:
		return -EISDIR;
	}
}

static void
ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct op *op = op_ino(req, do_read, "read", ino, fi);

	count(C_READ);
	if (op == NULL)
		return;
	op->size = size;
	op->off = off;
	op_start(op);
}

static int
do_write(struct op *op)
{
	struct handle *h = fh(op);
	struct nctx c;
	int rc;

	if (h == NULL)
		return -EBADF;
	switch (h->type) {
	case H_LOCAL:
		if ((rc = local_pwrite(h->le, op->data, op->len, op->off)) != 0)
			return rc;
		op->wcount = op->len;
		op->rkind = R_WRITE;
		return 0;
	case H_DOC:
		pthread_mutex_lock(&h->lock);
		if (h->failed) {
			rc = -h->failed;
		} else if ((size_t)op->off + op->len > DOC_MAX) {
			/* Part of the text is lost: this open may never apply. */
			h->failed = EFBIG;
			h->dirty = 0;
			pthread_mutex_unlock(&h->lock);
			refuse_msg(op, h->node->parent, inode_name(h->node), EFBIG,
			    "%s: a document may not be larger than 1 MiB; nothing "
			    "was sent", inode_name(h->node));
			return -EFBIG;
		} else if ((rc = buf_pwrite(&h->wbuf, op->data, op->len,
		    (size_t)op->off)) == 0) {
			h->dirty = 1;
		} else {
			h->failed = -rc;
			h->dirty = 0;
		}
		pthread_mutex_unlock(&h->lock);
		if (rc != 0)
			return rc;
		op->wcount = op->len;
		op->rkind = R_WRITE;
		return 0;
	case H_VALUE:
		if (op->len > VALUE_MAX) {
			return refuse_msg(op, h->node->parent, inode_name(h->node),
			    EFBIG, "%s: a value may not be larger than 64 KiB; "
			    "nothing was sent", inode_name(h->node));
		}
		ctx_init(&c, op, h->node);
		rc = apply(op, &c, h->node->parent, op->data, op->len, 0);
		ctx_done(&c);
		if (rc != 0)
			return rc;
		op->wcount = op->len;
		op->rkind = R_WRITE;
		return 0;
	default:
		return -EBADF;
	}
}

static void
ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct op *op = op_ino(req, do_write, "write", ino, fi);

	count(C_WRITE);
	if (op == NULL)
		return;
	op->off = off;
	op->len = size;
	if ((op->data = malloc(size ? size : 1)) == NULL) {
		op_finish(op, -ENOMEM);
		return;
	}
	memcpy(op->data, buf, size);
	op_start(op);
}

/* Apply a dirty document: at flush, fsync, or release. */
static int
doc_apply(struct op *op, struct handle *h)
{
	struct nctx c;
	struct buf text = BUF_INIT(DOC_MAX + 1);
	int rc;

	pthread_mutex_lock(&h->lock);
	if (h->type == H_DOC && h->failed) {
		/* A write of this open failed: the text is incomplete. */
		rc = -h->failed;
		pthread_mutex_unlock(&h->lock);
		return rc;
	}
	if (h->type != H_DOC || !h->dirty) {
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	if (!op->may_block) {
		pthread_mutex_unlock(&h->lock);
		ctx_init(&c, op, h->node);	/* sets op->backend */
		ctx_done(&c);
		return -E_WOULDBLOCK;
	}
	rc = buf_add(&text, h->wbuf.data ? h->wbuf.data : "", h->wbuf.len);
	/* Whatever the outcome, this text has been dealt with. */
	h->dirty = 0;
	pthread_mutex_unlock(&h->lock);
	if (rc == 0) {
		ctx_init(&c, op, h->node);
		rc = apply(op, &c, h->node->parent, buf_str(&text), text.len, 1);
		ctx_done(&c);
		if (rc == -E_WOULDBLOCK) {
			pthread_mutex_lock(&h->lock);
			h->dirty = 1;
			pthread_mutex_unlock(&h->lock);
		}
	}
	buf_free(&text);
	return rc;
}

static int
do_flush(struct op *op)
{
	struct handle *h = fh(op);

	if (h == NULL)
		return 0;
	return doc_apply(op, h);
}

static void
ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count(C_FLUSH);
	op_start(op_ino(req, do_flush, "close", ino, fi));
}

static void
ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	count(C_FSYNC);
	(void)datasync;
	op_start(op_ino(req, do_flush, "fsync", ino, fi));
}

static int
do_release(struct op *op)
{
	struct handle *h = fh(op);
	int rc;

	if (h == NULL)
		return 0;
	/* A document written without any flush (rare: the kernel flushes on
	 * every close) is still applied; the result goes to .error only. */
	rc = doc_apply(op, h);
	if (rc == -E_WOULDBLOCK)
		return rc;
	handle_free(h);
	return 0;
}

static void
ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count(C_RELEASE);
	op_start(op_ino(req, do_release, "close", ino, fi));
}

/* ---- create, mkdir, unlink, rmdir ---------------------------------------- */

static int
child_path(const struct nctx *pc, const char *name, char *out, size_t n)
{
	return path_join(out, n, pc->path, name);
}

#define SCRATCH_HINT \
	"cannot create '%s' here: this directory holds only the files " \
	"archonfs defines; editor scratch files (.x.swp, x~, 4913, " \
	"sedXXXXXX, *.tmp, *.bak) are kept in memory"

static int
do_create(struct op *op)
{
	struct inode *parent, *in = NULL;
	struct nctx pc;
	struct handle *h;
	struct stat st;
	enum node_id row;
	char path[4096], *arg = NULL;
	int rc, created = 0;

	if ((parent = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&pc, op, parent);
	if (FS->opt.ro) {
		rc = -EROFS;
		goto out;
	}
	rc = resolve(&pc, op->name, &row, &arg);
	if (rc == 0 && (op->flags & O_EXCL)) {
		rc = -EEXIST;
		goto out;
	}
	if (rc == -ENOENT) {
		child_path(&pc, op->name, path, sizeof(path));
		if ((pc.t->flags & NF_SCRATCH) && local_scratch_name(op->name)) {
			row = N_SCRATCH;
		} else if (pc.t->create) {
			buf_reset(&op->audit);
			rc = pc.t->create(&pc, op->name, &row);
			if (rc == -E_WOULDBLOCK)
				goto out;
			if (rc != 0 || op->audit.len)
				log_change(op, path, buf_str(&op->audit), -rc,
				    buf_str(&op->msg));
			if (rc != 0) {
				refuse(op, parent, op->name, -rc, NULL, 0);
				goto out;
			}
		} else {
			rc = refuse_msg(op, parent, op->name, EPERM, SCRATCH_HINT,
			    op->name);
			goto out;
		}
		if (node_row(row)->flags & NF_LOCAL || row == N_SCRATCH) {
			rc = local_create(path, row, 0, op->mode & 07777, op->uid,
			    op->gid, NULL);
			if (rc != 0)
				goto out;
			created = 1;
		}
	} else if (rc != 0) {
		goto out;
	}
	if ((in = itab_get(parent, op->name, row, arg, 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = open_node(op, in, op->flags, &h)) != 0)
		goto out;
	{
		struct nctx cc;

		ctx_init(&cc, op, in);
		rc = node_attr(&cc, &st, in->ino);
		ctx_done(&cc);
	}
	if (rc != 0) {
		handle_free(h);
		goto out;
	}
	note_size(in, st.st_size);
	fill_entry(&op->entry, in, &st);
	op->rfi.fh = (uintptr_t)h;
	op->rkind = R_CREATE;
out:
	if (rc != 0 && in) {
		itab_forget(in->ino, 1);
		if (created) {
			local_remove(path);
			itab_unhash(in);
		}
	}
	itab_put(in);
	ctx_done(&pc);
	free(arg);
	itab_put(parent);
	return rc;
}

static void
ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct op *op = op_name(req, do_create, "create", parent, name);

	count(C_CREATE);
	if (op == NULL)
		return;
	op->mode = mode;
	op->flags = fi->flags;
	op->fi = *fi;
	op->has_fi = 1;
	op_start(op);
}

/*
 * mkdir and symlink make a name in a directory: the name must be new
 * (0, or -EEXIST and the like); then the name made is replied as an entry.
 */
static int
make_begin(struct op *op, struct inode *parent, struct nctx *pc,
    struct nctx *cc, enum node_id *row, char **arg)
{
	int rc;

	ctx_init(pc, op, parent);
	ctx_none(cc);
	if (FS->opt.ro)
		return -EROFS;
	if ((rc = resolve(pc, op->name, row, arg)) == 0)
		return -EEXIST;
	return rc == -ENOENT ? 0 : rc;
}

static int
make_reply(struct op *op, struct inode *parent, struct nctx *pc,
    struct nctx *cc, enum node_id row)
{
	struct inode *in;
	struct stat st;
	int rc;

	ctx_child(cc, pc, op->name, row, NULL);
	if ((rc = node_attr(cc, &st, 0)) != 0)
		return rc;
	if ((in = itab_get(parent, op->name, row, NULL, 1)) == NULL)
		return -ENOMEM;
	fill_entry(&op->entry, in, &st);
	op->rkind = R_ENTRY;
	itab_put(in);
	return 0;
}

static int
do_mkdir(struct op *op)
{
	struct inode *parent;
	struct nctx pc, cc;
	enum node_id row;
	char path[4096], *arg = NULL;
	int rc;

	if ((parent = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	if ((rc = make_begin(op, parent, &pc, &cc, &row, &arg)) != 0)
		goto out;
	if (pc.t->mkdir == NULL || !backend_enabled(pc.t->backend)) {
		rc = refuse_msg(op, parent, op->name, EPERM, "cannot make "
		    "directory '%s' here", op->name);
		goto out;
	}
	buf_reset(&op->audit);
	if ((rc = pc.t->mkdir(&pc, op->name, &row)) != 0) {
		if (rc != -E_WOULDBLOCK) {
			log_change(op, pc.path, buf_str(&op->audit), -rc,
			    buf_str(&op->msg));
			refuse(op, parent, op->name, -rc, NULL, 0);
		}
		goto out;
	}
	child_path(&pc, op->name, path, sizeof(path));
	if (node_row(row)->flags & NF_LOCAL) {
		rc = local_create(path, row, 1, op->mode & 07777, op->uid,
		    op->gid, NULL);
		if (rc != 0)
			goto out;
		log_change(op, path, "nothing (pending until its definition is "
		    "written)", 0, NULL);
	} else {
		log_change(op, path, buf_str(&op->audit), 0, NULL);
	}
	if ((rc = make_reply(op, parent, &pc, &cc, row)) != 0 &&
	    (node_row(row)->flags & NF_LOCAL))
		local_remove(path);
out:
	ctx_done(&cc);
	ctx_done(&pc);
	free(arg);
	itab_put(parent);
	return rc;
}

static int
do_symlink(struct op *op)
{
	struct inode *parent;
	struct nctx pc, cc;
	enum node_id row;
	char path[4096], *arg = NULL;
	int rc;

	if ((parent = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	if ((rc = make_begin(op, parent, &pc, &cc, &row, &arg)) != 0)
		goto out;
	if (pc.t->symlink == NULL || !backend_enabled(pc.t->backend)) {
		rc = refuse_msg(op, parent, op->name, EPERM, "cannot make a "
		    "symbolic link '%s' here", op->name);
		goto out;
	}
	buf_reset(&op->audit);
	child_path(&pc, op->name, path, sizeof(path));
	if ((rc = pc.t->symlink(&pc, op->name, op->name2, &row)) != 0) {
		if (rc != -E_WOULDBLOCK) {
			log_change(op, path, buf_str(&op->audit), -rc,
			    buf_str(&op->msg));
			refuse(op, parent, op->name, -rc, NULL, 0);
		}
		goto out;
	}
	log_change(op, path, buf_str(&op->audit), 0, NULL);
	rc = make_reply(op, parent, &pc, &cc, row);
out:
	ctx_done(&cc);
	ctx_done(&pc);
	free(arg);
	itab_put(parent);
	return rc;
}

static void
ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	struct op *op = op_name(req, do_symlink, "symlink", parent, name);

	count(C_SYMLINK);
	if (op == NULL)
		return;
	if ((op->name2 = strdup(link)) == NULL) {
		op_finish(op, -ENOMEM);
		return;
	}
	op_start(op);
}

static void
ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct op *op = op_name(req, do_mkdir, "mkdir", parent, name);

	count(C_MKDIR);
	if (op == NULL)
		return;
	op->mode = mode;
	op_start(op);
}

static void
drop_name(struct inode *parent, const char *name)
{
	struct inode *in = itab_find(parent, name);

	if (in) {
		itab_unhash(in);
		itab_put(in);
	}
}

#define RM_HINT \
	"deleting an app or a topic is a deliberate act; use `echo delete > " \
	"ctl` in its directory"

static int
do_unlink(struct op *op)
{
	struct inode *parent;
	struct nctx pc, cc;
	enum node_id row;
	char path[4096], *arg = NULL;
	const struct node_type *t;
	int rc;

	if ((parent = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&pc, op, parent);
	ctx_none(&cc);
	if ((rc = resolve(&pc, op->name, &row, &arg)) != 0)
		goto out;
	t = node_row(row);
	child_path(&pc, op->name, path, sizeof(path));
	if (is_dir(t)) {
		rc = -EISDIR;
	} else if (t->flags & NF_LOCAL || t->kind == NK_SCRATCH) {
		rc = local_remove(path);
		if (rc == 0)
			drop_name(parent, op->name);
	} else if (FS->opt.ro) {
		rc = -EROFS;
	} else if (t->remove) {
		ctx_child(&cc, &pc, op->name, row, arg);
		buf_reset(&op->msg);
		buf_reset(&op->audit);
		rc = t->remove(&cc);
		if (rc == -E_WOULDBLOCK)
			goto out;
		log_change(op, path, buf_str(&op->audit), -rc, buf_str(&op->msg));
		if (rc < 0)
			refuse(op, parent, op->name, -rc, NULL, 0);
		else
			drop_name(parent, op->name);
	} else {
		rc = refuse_msg(op, parent, op->name, EPERM, "'%s' cannot be "
		    "removed: %s", op->name, t->rm_hint ? t->rm_hint : RM_HINT);
	}
out:
	ctx_done(&cc);
	ctx_done(&pc);
	free(arg);
	itab_put(parent);
	return rc;
}

static void
ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	count(C_UNLINK);
	op_start(op_name(req, do_unlink, "unlink", parent, name));
}

static int
do_rmdir(struct op *op)
{
	struct inode *parent;
	struct nctx pc;
	enum node_id row;
	char path[4096], *arg = NULL;
	const struct node_type *t;
	int rc;

	if ((parent = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&pc, op, parent);
	if ((rc = resolve(&pc, op->name, &row, &arg)) != 0)
		goto out;
	t = node_row(row);
	child_path(&pc, op->name, path, sizeof(path));
	if (!is_dir(t)) {
		rc = -ENOTDIR;
	} else if (t->kind == NK_PENDING) {
		if (local_has_children(path)) {
			rc = -ENOTEMPTY;
		} else {
			rc = local_remove(path);
			if (rc == 0)
				drop_name(parent, op->name);
		}
	} else if (row == N_GROUP) {
		/* Groups exist exactly while they hold apps. */
		rc = -ENOTEMPTY;
	} else if (t->rmdir && FS->opt.ro) {
		rc = -EROFS;
	} else if (t->rmdir) {
		struct nctx cc;

		ctx_child(&cc, &pc, op->name, row, arg);
		buf_reset(&op->msg);
		buf_reset(&op->audit);
		rc = t->rmdir(&cc);
		ctx_done(&cc);
		if (rc == -E_WOULDBLOCK)
			goto out;
		log_change(op, path, buf_str(&op->audit), -rc, buf_str(&op->msg));
		if (rc < 0)
			refuse(op, parent, op->name, -rc, NULL, 0);
		else
			drop_name(parent, op->name);
	} else {
		rc = refuse_msg(op, parent, op->name, EPERM, "'%s' cannot be "
		    "removed: %s", op->name, RM_HINT);
	}
out:
	ctx_done(&pc);
	free(arg);
	itab_put(parent);
	return rc;
}

static void
ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	count(C_RMDIR);
	op_start(op_name(req, do_rmdir, "rmdir", parent, name));
}

/* ---- rename --------------------------------------------------------------- */

static int
rename_inode(struct inode *sp, const char *sname, struct inode *dp,
    const char *dname, enum node_id row)
{
	struct inode *in = itab_find(sp, sname), *ni;

	if (in == NULL) {
		drop_name(dp, dname);
		return 0;
	}
	ni = itab_rename(in, dp, dname, row);
	itab_put(in);
	itab_put(ni);
	return 0;
}

static int
do_rename(struct op *op)
{
	struct inode *sp = NULL, *dp = NULL;
	struct nctx spc, dpc, cc;
	enum node_id srow, drow;
	char spath[4096], dpath[4096], *sarg = NULL, *darg = NULL;
	const struct node_type *st, *dt = NULL;
	struct buf text = BUF_INIT(DOC_MAX + 1);
	struct lentry *le = NULL;
	int rc, drc;

	ctx_none(&spc);
	ctx_none(&dpc);
	ctx_none(&cc);
	if (op->flags) {
		rc = -EINVAL;	/* RENAME_EXCHANGE, RENAME_NOREPLACE... */
		goto out;
	}
	if ((sp = itab_ref(op->ino)) == NULL || (dp = itab_ref(op->ino2)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	ctx_init(&spc, op, sp);
	ctx_init(&dpc, op, dp);
	if ((rc = resolve(&spc, op->name, &srow, &sarg)) != 0)
		goto out;
	drc = resolve(&dpc, op->name2, &drow, &darg);
	if (drc != 0 && drc != -ENOENT) {
		rc = drc;
		goto out;
	}
	st = node_row(srow);
	if (drc == 0)
		dt = node_row(drow);
	child_path(&spc, op->name, spath, sizeof(spath));
	child_path(&dpc, op->name2, dpath, sizeof(dpath));
	if (strcmp(spath, dpath) == 0) {
		rc = 0;
		goto out;
	}
	if (FS->opt.ro) {
		rc = -EROFS;
		goto out;
	}

	/* A scratch file renamed onto a scratch name: a local move. */
	if (st->kind == NK_SCRATCH && ((dt && dt->kind == NK_SCRATCH) ||
	    (dt == NULL && (dpc.t->flags & NF_SCRATCH) &&
	    local_scratch_name(op->name2)))) {
		if ((rc = local_rename(spath, dpath)) == 0)
			rename_inode(sp, op->name, dp, op->name2, N_SCRATCH);
		goto out;
	}

	/* A scratch file renamed over a value or document: write it. */
	if (st->kind == NK_SCRATCH) {
		if (dt == NULL && dpc.t->create) {
			rc = dpc.t->create(&dpc, op->name2, &drow);
			if (rc != 0) {
				if (rc != -E_WOULDBLOCK)
					refuse(op, dp, op->name2, -rc, NULL, 0);
				goto out;
			}
			dt = node_row(drow);
		}
		if (dt == NULL || (dt->kind != NK_DOC && dt->kind != NK_VALUE) ||
		    dt->write == NULL) {
			rc = refuse_msg(op, dp, op->name2, EPERM, "cannot rename a "
			    "file onto '%s'", op->name2);
			goto out;
		}
		if ((le = local_get(spath)) == NULL) {
			rc = -ENOENT;
			goto out;
		}
		pthread_mutex_lock(&le->lock);
		rc = buf_add(&text, le->data.data ? le->data.data : "", le->data.len);
		pthread_mutex_unlock(&le->lock);
		if (rc != 0 || text.len > (dt->kind == NK_DOC ? DOC_MAX : VALUE_MAX)) {
			rc = refuse_msg(op, dp, op->name2, EFBIG, "%s: too large; "
			    "nothing was sent", op->name2);
			goto out;
		}
		ctx_child(&cc, &dpc, op->name2, drow, darg);
		rc = apply(op, &cc, dp, buf_str(&text), text.len,
		    dt->kind == NK_DOC);
		if (rc != 0)
			goto out;
		local_remove(spath);
		/* The kernel now calls the scratch file's inode by the
		 * destination name: make that number the destination node. */
		rename_inode(sp, op->name, dp, op->name2,
		    drow == N_ENV_NEW ? N_ENV_VAR : drow == N_LABEL_NEW ?
		    N_LABEL : drow);
		inval_entry(dp->ino, op->name2);
		goto out;
	}

	/* A cluster file renamed to a scratch name (vim's app.json~): copy
	 * it; the cluster file stays where it is. */
	if ((st->kind == NK_DOC || st->kind == NK_VALUE || st->kind == NK_FILE ||
	    st->kind == NK_CTL) && (dt == NULL || dt->kind == NK_SCRATCH) &&
	    (dpc.t->flags & NF_SCRATCH) && local_scratch_name(op->name2)) {
		ctx_child(&cc, &spc, op->name, srow, sarg);
		rc = st->read(&cc, &text);
		if (rc < 0)
			goto out;
		rc = local_put_file(dpath, buf_str(&text), text.len, op->uid, op->gid);
		if (rc == 0) {
			rename_inode(sp, op->name, dp, op->name2, N_SCRATCH);
			inval_entry(sp->ino, op->name);
		}
		goto out;
	}

	/* A pending directory may be renamed before it is created. */
	if (st->kind == NK_PENDING && dt == NULL && dpc.t->mkdir) {
		/* Only where a mkdir would make the same kind of thing. */
		if (dpc.t->mkdir != spc.t->mkdir) {
			rc = refuse_msg(op, dp, op->name2, EPERM, "cannot move "
			    "'%s' here", op->name2);
			goto out;
		}
		if ((rc = dpc.t->mkdir(&dpc, op->name2, &drow)) != 0) {
			if (rc != -E_WOULDBLOCK)
				refuse(op, dp, op->name2, -rc, NULL, 0);
			goto out;
		}
		if ((rc = local_rename(spath, dpath)) == 0)
			rename_inode(sp, op->name, dp, op->name2, srow);
		goto out;
	}
	rc = refuse_msg(op, sp, op->name, EPERM, "cannot rename '%s': cluster "
	    "objects are not moved by rename", op->name);
out:
	local_put(le);
	buf_free(&text);
	ctx_done(&cc);
	ctx_done(&spc);
	ctx_done(&dpc);
	free(sarg);
	free(darg);
	itab_put(sp);
	itab_put(dp);
	return rc;
}

static void
ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct op *op = op_name(req, do_rename, "rename", parent, name);

	count(C_RENAME);
	if (op == NULL)
		return;
	op->ino2 = newparent;
	if ((op->name2 = strdup(newname)) == NULL) {
		op_finish(op, -ENOMEM);
		return;
	}
	op->flags = (int)flags;
	op_start(op);
}

/* ---- pending directories ------------------------------------------------- */

void
pending_resolved(struct inode *d, enum node_id row, const char *arg)
{
	enum node_id old = d->row;
	const struct node_type *t, *real;
	char dir[4096], path[4096];
	struct inode *ch;
	int i;

	if (itab_path(d, dir, sizeof(dir)) != 0)
		return;
	local_remove_one(dir);
	itab_retype(d, row, arg);
	inval_inode(d->ino);
	/* Its files (app.json, partitions...) are the real ones now too: an
	 * open one keeps working, and the next lookup finds the real row. */
	for (i = 1; i < N_COUNT; i++) {
		t = node_row((enum node_id)i);
		if (t->parent != old || t->name == NULL)
			continue;
		if (path_join(path, sizeof(path), dir, t->name) == 0 &&
		    (ch = itab_lookup_path(path)) != NULL) {
			if ((real = node_fixed_child(row, t->name)) != NULL)
				itab_retype(ch, real->id, NULL);
			inval_inode(ch->ino);
			itab_put(ch);
		}
		inval_entry(d->ino, t->name);
	}
}

/* ---- links ---------------------------------------------------------------- */

static int
do_readlink(struct op *op)
{
	struct buf b = BUF_INIT(4096);
	struct inode *in;
	struct nctx c;
	int rc;

	if ((in = itab_ref(op->ino)) == NULL)
		return -ENOENT;
	ctx_init(&c, op, in);
	if (c.t->kind != NK_LINK)
		rc = -EINVAL;
	else if ((rc = c.t->read(&c, &b)) >= 0 && (rc = b.err) == 0 &&
	    (op->rbuf = strdup(buf_str(&b))) != NULL)
		op->rkind = R_LINK;
	else if (rc == 0)
		rc = -ENOMEM;
	ctx_done(&c);
	buf_free(&b);
	itab_put(in);
	return rc < 0 ? rc : 0;
}

static void
ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	count(C_READLINK);
	op_start(op_ino(req, do_readlink, "readlink", ino, NULL));
}

/* ---- the rest -------------------------------------------------------------- */

static void
ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	count(C_STATFS);
	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void
ll_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* readdirplus always: ls -l then needs no LOOKUP per entry. */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* O_TRUNC arrives with the open, not as a separate SETATTR. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Page cache is dropped when we say so (inval) or the size/mtime
	 * changes; we never want writeback caching of cluster writes. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* The kernel compares a directory's mtime before it serves a cached
	 * listing (fuse_readdir_cached): how pulled listings expire. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* Zero-message opendir: see ll_opendir. */
	no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	/* A link's target follows from its name (consumes/T is always
	 * ../../../../topics/T), so the kernel may keep what readlink said
	 * until the inode is invalidated. */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

const struct fuse_lowlevel_ops archonfs_ops = {
	.init		= ll_init,
	.lookup		= ll_lookup,
	.forget		= ll_forget,
	.forget_multi	= ll_forget_multi,
	.getattr	= ll_getattr,
	.readlink	= ll_readlink,
	.setattr	= ll_setattr,
	.opendir	= ll_opendir,
	.readdir	= ll_readdir,
	.readdirplus	= ll_readdirplus,
	.releasedir	= ll_releasedir,
	.open		= ll_open,
	.read		= ll_read,
	.write		= ll_write,
	.flush		= ll_flush,
	.fsync		= ll_fsync,
	.release	= ll_release,
	.create		= ll_create,
	.mkdir		= ll_mkdir,
	.symlink	= ll_symlink,
	.unlink		= ll_unlink,
	.rmdir		= ll_rmdir,
	.rename		= ll_rename,
	.statfs		= ll_statfs,
};
