/*
 * inval.c: telling the kernel to forget cached names, attributes and pages.
 *
 * Backends report changes on their own threads; this module queues the
 * resulting invalidations and sends them from one thread of its own,
 * because a notification sent from a thread serving a FUSE request can
 * deadlock against the kernel's inode locks (libfuse
 * example/notify_inval_inode.c does the same).  -ENOENT from the kernel
 * means it had nothing cached for that inode, and is not an error; during
 * unmount every notification may fail, which is fine too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "inode.h"

struct inval {
	uint64_t	 ino;		/* inval_inode, or parent for an entry */
	char		*name;		/* NULL for an inode */
	int		 tree;		/* and everything under it (tree_run) */
	struct inval	*next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct inval *head, *tail;	/* guarded by lock */
static int stopping;			/* guarded by lock */
static int started;
static pthread_t thread;
static struct fuse_session *session;

static int
is_stopping(void)
{
	int st;

	pthread_mutex_lock(&lock);
	st = stopping;
	pthread_mutex_unlock(&lock);
	return st;
}

/*
 * Everything the kernel caches at and under directory top: depth first,
 * each directory's inode (its attributes and listing), then its
 * children's names and inodes.  Dropping a name drops the kernel's
 * unused entries under it, and the inodes go with them; a directory whose
 * inode the kernel then no longer has (-ENOENT) has nothing cached under
 * it either, since every cached entry holds its parent, so its subtree is
 * skipped.  A walked mount (20,000 entries at 1,000 apps) is dropped with
 * a few dozen notifications instead of two per inode, most of which
 * would find nothing.  What is in use (an open file, a working
 * directory) stays cached and is visited.
 */
static void
tree_run(uint64_t top)
{
	struct itab_kid *kids;
	uint64_t *stack, *ns;
	size_t n = 0, alloc = 64, nk, i;

	if ((stack = malloc(alloc * sizeof(*stack))) == NULL)
		return;
	stack[n++] = top;
	while (n > 0 && !is_stopping()) {
		uint64_t dir = stack[--n];

		if (fuse_lowlevel_notify_inval_inode(session, dir, 0, 0) == -ENOENT)
			continue;
		nk = itab_kids(dir, &kids);
		for (i = 0; i < nk; i++) {
			if (kids[i].name)
				fuse_lowlevel_notify_inval_entry(session, dir,
				    kids[i].name, strlen(kids[i].name));
			if (!kids[i].dir) {
				fuse_lowlevel_notify_inval_inode(session,
				    kids[i].ino, 0, 0);
			} else {
				if (n == alloc && (ns = realloc(stack,
				    2 * alloc * sizeof(*stack))) != NULL) {
					stack = ns;
					alloc *= 2;
				}
				if (n < alloc)
					stack[n++] = kids[i].ino;
			}
			free(kids[i].name);
		}
		free(kids);
	}
	free(stack);
}

static void *
inval_main(void *arg)
{
	struct inval *iv;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!stopping && head == NULL)
			pthread_cond_wait(&cond, &lock);
		if (stopping)
			break;
		iv = head;
		head = iv->next;
		if (head == NULL)
			tail = NULL;
		pthread_mutex_unlock(&lock);
		if (iv->tree)
			tree_run(iv->ino);
		else if (iv->name)
			fuse_lowlevel_notify_inval_entry(session, iv->ino, iv->name,
			    strlen(iv->name));
		else
			fuse_lowlevel_notify_inval_inode(session, iv->ino, 0, 0);
		free(iv->name);
		free(iv);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
inval_start(struct fuse_session *se)
{
	session = se;
	if (pthread_create(&thread, NULL, inval_main, NULL) != 0)
		return -errno;
	started = 1;
	return 0;
}

void
inval_stop(void)
{
	struct inval *iv, *n;

	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	if (started)
		pthread_join(thread, NULL);
	started = 0;
	for (iv = head; iv; iv = n) {
		n = iv->next;
		free(iv->name);
		free(iv);
	}
	head = tail = NULL;
}

static void
push(uint64_t ino, const char *name, int tree)
{
	struct inval *iv;

	if (ino == 0 || (iv = calloc(1, sizeof(*iv))) == NULL)
		return;
	iv->ino = ino;
	iv->tree = tree;
	if (name && (iv->name = strdup(name)) == NULL) {
		free(iv);
		return;
	}
	pthread_mutex_lock(&lock);
	if (!started || stopping) {
		pthread_mutex_unlock(&lock);
		free(iv->name);
		free(iv);
		return;
	}
	if (tail)
		tail->next = iv;
	else
		head = iv;
	tail = iv;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

void
inval_inode(uint64_t ino)
{
	push(ino, NULL, 0);
}

void
inval_attr_now(uint64_t ino)
{
	/* Offset -1: attributes only, no page is touched
	 * (fuse_reverse_inval_inode), so this never waits on the kernel.
	 * ENOENT: the kernel had nothing cached. */
	if (session && started && ino)
		fuse_lowlevel_notify_inval_inode(session, ino, -1, 0);
}

void
inval_entry(uint64_t parent, const char *name)
{
	push(parent, name, 0);
}

/* A node's name in its parent, by mount-relative path, and the parent's
 * listing (the name may now be another kind of node, or none). */
static void
inval_name(const char *fspath)
{
	char parent[4096], *slash;
	struct inode *pin;

	snprintf(parent, sizeof(parent), "%s", fspath);
	if ((slash = strrchr(parent, '/')) == NULL)
		return;
	*slash = '\0';
	if ((pin = itab_lookup_path(parent)) != NULL) {
		if (node_row(pin->row)->kind == NK_DIR) {
			inval_entry(pin->ino, slash + 1);
			inval_inode(pin->ino);
		}
		itab_put(pin);
	}
}

/* A node by mount-relative path: its inode, and its name in its parent. */
void
inval_fspath(const char *fspath)
{
	struct inode *in;

	if ((in = itab_lookup_path(fspath)) != NULL) {
		inval_inode(in->ino);
		itab_put(in);
	}
	inval_name(fspath);
}

void
inval_under(const char *fspath)
{
	struct inode *in;

	/* Its own name first: that drops most of what is under it; the walk
	 * (tree_run) then starts with its inode. */
	inval_name(fspath);
	if ((in = itab_lookup_path(fspath)) != NULL) {
		push(in->ino, NULL, 1);
		itab_put(in);
	}
}

struct dirlist {
	const enum node_id *rows;	/* only these (NULL: every directory) */
	size_t		 nrows;
	uint64_t	*ino;
	size_t		 n, alloc;
};

/* Under the inode table lock: note a directory, call nothing back. */
static void
note_dir(struct inode *in, void *arg)
{
	struct dirlist *d = arg;
	uint64_t *ni;
	size_t i;

	if (!(in->flags & IN_DIR))
		return;
	for (i = 0; i < d->nrows && d->rows[i] != in->row; i++)
		;
	if (d->rows && i == d->nrows)
		return;
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 16;
		if ((ni = realloc(d->ino, d->alloc * sizeof(*ni))) == NULL)
			return;
		d->ino = ni;
	}
	d->ino[d->n++] = in->ino;
}

void
inval_dirs_under(const char *fspath, const enum node_id *rows, size_t nrows)
{
	struct dirlist d = { 0 };
	struct inode *top;
	size_t i;

	if ((top = itab_lookup_path(fspath)) == NULL)
		return;
	d.rows = rows;
	d.nrows = nrows;
	itab_walk_under(top, note_dir, &d);
	itab_put(top);
	for (i = 0; i < d.n; i++)
		inval_inode(d.ino[i]);
	free(d.ino);
}
