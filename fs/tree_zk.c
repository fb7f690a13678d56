/*
 * tree_zk.c: zk/, the ZooKeeper tree, on top of backends/zk.h.
 *
 * Mapping (the man page says the same): a znode with children is a
 * directory; one with data is a file holding exactly its bytes; one with
 * neither is a directory if it was never written (what mkdir makes) and a
 * file if it was (what creat(2) makes: the znode is created with version
 * 1).  A directory znode's own data, when it has any, is the file named by
 * -o zk_datafile (default "_data") inside it.  Ephemeral znodes are shown
 * read-only.
 *
 * Files are documents: written whole, applied at fsync, close or rename
 * over, version-checked.  The version checked is the one this process
 * read: an editor reads the file in one open and saves through another
 * (vim) or renames a temporary file over it (sed -i), so archonfs
 * remembers, per path and process, the version each reader was given.
 * If the znode moved on since, the write fails with EBUSY and the text is
 * kept as NAME.rejected.
 *
 * Watches become invalidations: a change made by anyone is reported by the
 * backend, and the inodes of that path are dropped from the kernel's
 * caches, so the next cat or ls sees it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs.h"
#include "inode.h"
#include "tree.h"
#include "../backends/zk.h"

#define Z	(FS->zk)
#define SEEN_MAX	256	/* versions remembered per (path, process) */

static const char *
datafile(void)
{
	return FS->opt.zk_datafile ? FS->opt.zk_datafile : "_data";
}

/* The znode of a node: "zk/a/b" is "/a/b"; a _data file is its directory. */
static void
znode(const struct nctx *c, char *out, size_t n)
{
	const char *p = c->path;
	char *slash;

	if (strncmp(p, "zk", 2) == 0)
		p += 2;
	snprintf(out, n, "%s", *p ? p : "/");
	if (c->t->id == N_ZDATA && (slash = strrchr(out, '/')) != NULL)
		*(slash == out ? slash + 1 : slash) = '\0';
}

/* The znode of member name of directory c; -ENAMETOOLONG, never cut. */
static int
child_znode(const struct nctx *c, const char *name, char *out, size_t n)
{
	size_t d, k = strlen(name);

	znode(c, out, n);
	if (strcmp(out, "/") == 0)
		out[0] = '\0';
	d = strlen(out);
	if (d + k + 2 > n)
		return -ENAMETOOLONG;
	out[d] = '/';
	memcpy(out + d + 1, name, k + 1);
	return 0;
}

/* ---- versions readers were given -------------------------------------- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char	 path[512];
	pid_t	 pid;
	int32_t	 version;
	int64_t	 at;
} seen[SEEN_MAX];		/* guarded by seen_lock */

static void
seen_set(const char *path, pid_t pid, int32_t version)
{
	int i, slot = 0;

	pthread_mutex_lock(&seen_lock);
	for (i = 0; i < SEEN_MAX; i++) {
		if (seen[i].pid == pid && strcmp(seen[i].path, path) == 0) {
			slot = i;
			break;
		}
		if (seen[i].at < seen[slot].at)
			slot = i;	/* the oldest, to reuse */
	}
	snprintf(seen[slot].path, sizeof(seen[slot].path), "%s", path);
	seen[slot].pid = pid;
	seen[slot].version = version;
	seen[slot].at = now_ms();
	pthread_mutex_unlock(&seen_lock);
}

/* The version this process read (-1: none: then any version goes). */
static int32_t
seen_get(const char *path, pid_t pid)
{
	int32_t v = -1;
	int i;

	pthread_mutex_lock(&seen_lock);
	for (i = 0; i < SEEN_MAX; i++)
		if (seen[i].pid == pid && seen[i].at &&
		    strcmp(seen[i].path, path) == 0)
			v = seen[i].version;
	pthread_mutex_unlock(&seen_lock);
	return v;
}

/* ---- directories -------------------------------------------------------- */

static void
stat_hint(const struct zk_stat *zs, int dir, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = dir ? S_IFDIR | 0755 : S_IFREG |
	    (zs->ephemeral_owner ? 0444 : 0644);
	st->st_nlink = dir ? 2 : 1;
	st->st_size = dir ? 0 : zs->data_len;
	st->st_uid = FS->uid;
	st->st_gid = FS->gid;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim.tv_sec = zs->mtime_ms / 1000;
	st->st_mtim.tv_nsec = (zs->mtime_ms % 1000) * 1000000L;
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = zs->ctime_ms / 1000;
	st->st_ctim.tv_nsec = (zs->ctime_ms % 1000) * 1000000L;
}

static enum node_id
row_of(const struct zk_stat *zs)
{
	if (zk_kind(zs) == ZK_DIR)
		return N_ZDIR;
	return zs->ephemeral_owner ? N_ZEPHEMERAL : N_ZFILE;
}

struct zlist {
	struct dirfill	*f;
	int		 root;
};

static int
each_child(void *arg, const char *name, const struct zk_stat *zs)
{
	struct zlist *l = arg;
	struct stat st;

	/* ZooKeeper's own /zookeeper (quotas, config) at the real root. */
	if (l->root && strcmp(name, "zookeeper") == 0)
		return 0;
	if (strlen(name) > 255 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	stat_hint(zs, zk_kind(zs) == ZK_DIR, &st);
	return dirfill_add_attr(l->f, name, row_of(zs), NULL, &st);
}

static int
at_real_root(const char *path)
{
	/* A chroot in --zk hides the server's root, and /zookeeper with it. */
	return strcmp(path, "/") == 0 && strchr(FS->opt.zk, '/') == NULL;
}

int
zk_dir_list(struct nctx *c, struct dirfill *f)
{
	struct zlist l = { f, 0 };
	struct zk_stat zs;
	struct stat st;
	char path[4096];
	int rc;

	znode(c, path, sizeof(path));
	l.root = at_real_root(path);
	if ((rc = zk_stat(Z, path, c->may_block, c->deadline, &zs, c->msg)) != 0)
		return rc;
	c->mtime_ms = zs.mtime_ms;
	if ((rc = zk_list(Z, path, c->may_block, c->deadline, each_child, &l,
	    c->msg)) != 0)
		return rc;
	if (zs.data_len > 0 && strcmp(path, "/") != 0) {
		stat_hint(&zs, 0, &st);
		return dirfill_add_attr(f, datafile(), N_ZDATA, NULL, &st);
	}
	return 0;
}

int
zk_dir_match(struct nctx *c, const char *name, enum node_id *row, char **arg)
{
	struct zk_stat zs;
	char path[4096];
	int rc;

	(void)arg;
	znode(c, path, sizeof(path));
	if (strcmp(name, datafile()) == 0 && strcmp(path, "/") != 0) {
		if ((rc = child_znode(c, name, path, sizeof(path))) != 0)
			return rc;
		/* A child znode of that name wins; else the directory's data. */
		rc = zk_stat(Z, path, c->may_block, c->deadline, &zs, c->msg);
		if (rc == -ENOENT) {
			*row = N_ZDATA;
			return 0;
		}
	} else {
		if (at_real_root(path) && strcmp(name, "zookeeper") == 0)
			return -ENOENT;
		if ((rc = child_znode(c, name, path, sizeof(path))) != 0)
			return rc;
		rc = zk_stat(Z, path, c->may_block, c->deadline, &zs, c->msg);
	}
	if (rc != 0)
		return rc;
	*row = row_of(&zs);
	return 0;
}

int
zk_dir_mkdir(struct nctx *c, const char *name, enum node_id *row)
{
	char path[4096];
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	if ((rc = child_znode(c, name, path, sizeof(path))) != 0)
		return rc;
	buf_printf(&c->op->audit, "create %s (directory)", path);
	rc = zk_create(Z, path, NULL, 0, 0, c->deadline, c->msg);
	*row = N_ZDIR;
	return rc;
}

int
zk_dir_create(struct nctx *c, const char *name, enum node_id *row)
{
	char path[4096];
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	if (strcmp(name, datafile()) == 0) {
		*row = N_ZDATA;		/* the directory's own data: set, not made */
		return 0;
	}
	if ((rc = child_znode(c, name, path, sizeof(path))) != 0)
		return rc;
	buf_printf(&c->op->audit, "create %s (file)", path);
	rc = zk_create(Z, path, "", 0, 1, c->deadline, c->msg);
	if (rc == 0)
		seen_set(path, c->op->pid, 1);	/* its creator saw version 1 */
	*row = N_ZFILE;
	return rc;
}

int
zk_dir_rmdir(struct nctx *c)
{
	struct zk_stat zs;
	char path[4096];
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	znode(c, path, sizeof(path));
	if ((rc = zk_stat(Z, path, 1, c->deadline, &zs, c->msg)) != 0)
		return rc;
	if (zs.num_children > 0 || zs.data_len > 0) {
		buf_printf(c->msg, "%s is not empty%s", path, zs.data_len > 0 &&
		    zs.num_children == 0 ? " (it holds data: remove its "
		    "data file first)" : "");
		return -ENOTEMPTY;
	}
	buf_printf(&c->op->audit, "delete %s version %d", path, zs.version);
	return zk_delete(Z, path, zs.version, c->deadline, c->msg);
}

/* ---- files -------------------------------------------------------------- */

int
zk_file_read(struct nctx *c, struct buf *out)
{
	struct zk_stat zs;
	char path[4096];
	int rc;

	znode(c, path, sizeof(path));
	if ((rc = zk_data(Z, path, c->may_block, c->deadline, out, &zs,
	    c->msg)) != 0)
		return rc;
	c->mtime_ms = zs.mtime_ms;
	c->version = (int64_t)zs.version + 1;
	return 0;
}

void
zk_file_opened(struct nctx *c)
{
	char path[4096];

	if (c->version <= 0)
		return;
	znode(c, path, sizeof(path));
	seen_set(path, c->op->pid, (int32_t)(c->version - 1));
}

static void
fmt_ms(int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
zk_file_write(struct nctx *c, const char *p, size_t n)
{
	struct zk_stat zs, now;
	char path[4096], when[32];
	int32_t expect;
	int rc;

	if (!c->may_block)
		return -E_WOULDBLOCK;
	znode(c, path, sizeof(path));
	expect = seen_get(path, c->op->pid);
	buf_printf(&c->op->audit, "set %s (%zu bytes) version %d", path, n, expect);
	rc = zk_set(Z, path, p, n, expect, c->deadline, &zs, c->msg);
	if (rc == 0) {
		seen_set(path, c->op->pid, zs.version);
		buf_reset(c->msg);
		buf_printf(c->msg, "set %s: now version %d", path, zs.version);
		return 0;
	}
	if (rc == -EBUSY && zk_stat(Z, path, 1, c->deadline, &now, c->msg) == 0) {
		fmt_ms(now.mtime_ms, when, sizeof(when));
		buf_reset(c->msg);
		buf_printf(c->msg, "%s changed since this process read it "
		    "(version %d): someone else wrote version %d at %s (zxid "
		    "0x%llx), and that stays; nothing was sent over it.  Compare "
		    "with the current text, then write again.", path, expect,
		    now.version, when, (unsigned long long)now.mzxid);
	}
	return rc;
}

int
zk_file_remove(struct nctx *c)
{
	char path[4096];

	if (!c->may_block)
		return -E_WOULDBLOCK;
	znode(c, path, sizeof(path));
	buf_printf(&c->op->audit, "delete %s", path);
	return zk_delete(Z, path, -1, c->deadline, c->msg);
}

/* ---- watches -> kernel invalidation --------------------------------------- */

static void
on_change(void *arg, const char *path, int what)
{
	char fspath[4096];
	struct inode *in;
	int is_dir;

	(void)arg;
	tree_pipeline_zk_changed();	/* configured edges live here */
	if (what & ZK_CH_ALL) {
		inval_under("zk");
		return;
	}
	snprintf(fspath, sizeof(fspath), "zk%s", strcmp(path, "/") == 0 ? "" : path);
	inval_fspath(fspath);
	if ((what & ZK_CH_DATA) && (in = itab_lookup_path(fspath)) != NULL) {
		/* A directory's own data is its data file. */
		is_dir = node_row(in->row)->kind == NK_DIR;
		itab_put(in);
		if (is_dir) {
			snprintf(fspath + strlen(fspath), sizeof(fspath) -
			    strlen(fspath), "/%s", datafile());
			inval_fspath(fspath);
		}
	}
}

/* ---- lifecycle ------------------------------------------------------------- */

int
tree_zk_start(void)
{
	struct zk_opts zo;
	struct buf msg = BUF_INIT(1024);
	int rc;

	if (FS->opt.zk == NULL)
		return 0;
	memset(&zo, 0, sizeof(zo));
	zo.hosts = FS->opt.zk;
	zo.auth = FS->opt.zk_auth;
	zo.timeout_ms = backend_timeout_ms(BK_ZK);
	zo.session_ms = 30000;
	if ((FS->zk = zk_new(&zo, &msg)) == NULL) {
		log_msg("zookeeper: cannot start%s%s", msg.len ? ": " : "",
		    buf_str(&msg));
		buf_free(&msg);
		return -ENOMEM;
	}
	buf_free(&msg);
	if ((rc = zk_start(FS->zk, on_change, NULL)) != 0)
		log_msg("zookeeper: cannot start a client for %s", FS->opt.zk);
	return rc;
}

void
tree_zk_shutdown(void)
{
	zk_shutdown(FS->zk);
}

void
tree_zk_stop(void)
{
	zk_free(FS->zk);
	FS->zk = NULL;
}
