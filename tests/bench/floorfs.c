/*
 * floorfs: the FUSE floor for make bench (tests/bench/run).
 *
 *   floorfs [-o entry_timeout=S] SRCDIR MOUNTPOINT
 *
 * Reads the tree under SRCDIR into memory once (names, kinds, modes,
 * sizes, mtimes, link targets, and the contents of regular files up to
 * 64 KiB: larger ones and sparse stand-ins read as zeros), then serves
 * it read-only through the low-level API, making the same choices towards
 * the kernel that archonfs makes: one thread, READDIRPLUS always, no
 * OPENDIR (the kernel caches listings), KEEP_CACHE and no FLUSH on open,
 * the given entry and attribute timeouts, no xattr handlers.  It does
 * nothing else: no backend, no snapshot, no node table, no locks.  What
 * an operation costs through it is what FUSE itself costs on this
 * machine, the floor below which no FUSE filesystem can go.  A fixture of
 * the benchmark, never part of archonfs.
 */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTENT_MAX	65536

struct node {
	struct node	*parent;
	char		*name;
	struct stat	 st;
	char		*data;		/* contents, or a link's target */
	struct node	**kids;		/* sorted by name */
	size_t		 nkids;
};

static struct node **nodes;	/* by inode number - 1 */
static size_t nnodes, cap;
static double timeout = 86400;
static int no_opendir;

static void *
xalloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL) {
		perror("floorfs");
		exit(1);
	}
	return p;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->name,
	    (*(struct node *const *)b)->name);
}

static struct node *
add(struct node *parent, const char *name, const struct stat *st)
{
	struct node *n = xalloc(NULL, sizeof(*n));

	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->name = strdup(name);
	n->st = *st;
	if (nnodes == cap) {
		cap = cap ? cap * 2 : 1024;
		nodes = xalloc(nodes, cap * sizeof(*nodes));
	}
	nodes[nnodes++] = n;
	n->st.st_ino = nnodes;
	return n;
}

static void
load(struct node *dir, int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	struct stat st;
	struct node *n;
	size_t capk = 0;
	ssize_t len;
	int fd;

	if (d == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		n = add(dir, de->d_name, &st);
		if (dir->nkids == capk) {
			capk = capk ? capk * 2 : 8;
			dir->kids = xalloc(dir->kids, capk * sizeof(*dir->kids));
		}
		dir->kids[dir->nkids++] = n;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY);
			if (fd >= 0)
				load(n, fd);
		} else if (S_ISLNK(st.st_mode)) {
			n->data = xalloc(NULL, (size_t)st.st_size + 1);
			len = readlinkat(dfd, de->d_name, n->data,
			    (size_t)st.st_size + 1);
			n->data[len > 0 ? len : 0] = '\0';
		} else if (S_ISREG(st.st_mode) && st.st_size <= CONTENT_MAX &&
		    st.st_blocks > 0 &&
		    (fd = openat(dfd, de->d_name, O_RDONLY)) >= 0) {
			n->data = xalloc(NULL, (size_t)st.st_size);
			len = read(fd, n->data, (size_t)st.st_size);
			if (len < st.st_size)
				memset(n->data + (len > 0 ? len : 0), 0,
				    (size_t)(st.st_size - (len > 0 ? len : 0)));
			close(fd);
		}
	}
	qsort(dir->kids, dir->nkids, sizeof(*dir->kids), by_name);
	closedir(d);
}

static struct node *
node_of(fuse_ino_t ino)
{
	return ino >= 1 && ino <= nnodes ? nodes[ino - 1] : NULL;
}

static struct node *
child(struct node *dir, const char *name)
{
	size_t lo = 0, hi = dir->nkids, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(name, dir->kids[mid]->name)) == 0)
			return dir->kids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
ff_init(void *u, struct fuse_conn_info *conn)
{
	(void)u;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
}

static void
ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *d = node_of(parent), *n;
	struct fuse_entry_param e;

	if (d == NULL || (n = child(d, name)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = n->st.st_ino;
	e.attr = n->st;
	e.attr_timeout = timeout;
	e.entry_timeout = timeout;
	fuse_reply_entry(req, &e);
}

static void
ff_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);	/* nodes live as long as the mount */
}

static void
ff_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	(void)count;
	(void)f;
	fuse_reply_none(req);
}

static void
ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);

	(void)fi;
	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &n->st, timeout);
}

static void
ff_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = node_of(ino);

	if (n == NULL || !S_ISLNK(n->st.st_mode))
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->data);
}

static void
ff_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if (no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	fuse_reply_open(req, fi);
}

static void
readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    int plus)
{
	struct node *d = node_of(ino), *n;
	struct fuse_entry_param e;
	char *out;
	size_t i, pos = 0, need;
	const char *name;

	if (d == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	out = xalloc(NULL, size);
	for (i = (size_t)off; i < d->nkids + 2; i++) {
		n = i == 0 ? d : i == 1 ? (d->parent ? d->parent : d) :
		    d->kids[i - 2];
		name = i == 0 ? "." : i == 1 ? ".." : n->name;
		memset(&e, 0, sizeof(e));
		e.attr = n->st;
		if (i >= 2) {
			e.ino = n->st.st_ino;
			e.attr_timeout = timeout;
			e.entry_timeout = timeout;
		}
		need = plus ?
		    fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0) :
		    fuse_add_direntry(req, NULL, 0, name, NULL, 0);
		if (pos + need > size)
			break;
		if (plus)
			fuse_add_direntry_plus(req, out + pos, size - pos, name,
			    &e, (off_t)(i + 1));
		else
			fuse_add_direntry(req, out + pos, size - pos, name,
			    &e.attr, (off_t)(i + 1));
		pos += need;
	}
	fuse_reply_buf(req, out, pos);
	free(out);
}

static void
ff_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 0);
}

static void
ff_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 1);
}

static void
ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);

	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void
ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);
	static char zeros[1 << 17];
	size_t len;

	(void)fi;
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	len = off >= n->st.st_size ? 0 : (size_t)(n->st.st_size - off);
	if (len > size)
		len = size;
	if (n->data != NULL)
		fuse_reply_buf(req, n->data + off, len);
	else
		fuse_reply_buf(req, zeros, len < sizeof(zeros) ? len :
		    sizeof(zeros));
}

static void
ff_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init		= ff_init,
	.lookup		= ff_lookup,
	.forget		= ff_forget,
	.forget_multi	= ff_forget_multi,
	.getattr	= ff_getattr,
	.readlink	= ff_readlink,
	.opendir	= ff_opendir,
	.readdir	= ff_readdir,
	.readdirplus	= ff_readdirplus,
	.open		= ff_open,
	.read		= ff_read,
	.release	= ff_release,
};

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	struct stat st;
	struct node *root;
	int i = 1, fd, rc;

	if (argc == 5 && strncmp(argv[2], "entry_timeout=", 14) == 0 &&
	    strcmp(argv[1], "-o") == 0) {
		timeout = atof(argv[2] + 14);
		i = 3;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: floorfs [-o entry_timeout=S] SRCDIR "
		    "MOUNTPOINT\n");
		return 2;
	}
	if ((fd = open(argv[i], O_RDONLY | O_DIRECTORY)) < 0 ||
	    fstat(fd, &st) != 0) {
		perror(argv[i]);
		return 1;
	}
	root = add(NULL, "", &st);
	load(root, fd);
	fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, "ro,fsname=floorfs,default_permissions");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (se == NULL || fuse_set_signal_handlers(se) != 0 ||
	    fuse_session_mount(se, argv[i + 1]) != 0) {
		fprintf(stderr, "floorfs: cannot mount %s\n", argv[i + 1]);
		return 1;
	}
	fprintf(stderr, "floorfs: %zu nodes from %s on %s\n", nnodes, argv[i],
	    argv[i + 1]);
	rc = fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc < 0 ? 1 : 0;
}
