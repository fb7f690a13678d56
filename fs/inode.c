/*
 * inode.c: the inode table (see inode.h).
 *
 * Two hash tables: by number, and by (parent number, name); and every
 * inode is on its parent's list of children, so a subtree can be visited
 * without walking the table (itab_walk_under).  An inode is freed when
 * neither the kernel (nlookup) nor archonfs (refs) holds it; a child holds
 * a reference on its parent, so a path can always be computed for any live
 * inode.
 *
 * An inode is one allocation: the header, then what its row needs (see
 * inode.h), then its name unless the row fixes it.  The hash tables grow
 * when they hold two inodes per bucket: chains of two cost less than the
 * 16 bytes per inode a bucket each would.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"

#define ROOT_INO	1	/* FUSE_ROOT_ID */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct inode **by_ino;		/* guarded by lock */
static struct inode **by_name;		/* guarded by lock */
static size_t nbuckets;			/* guarded by lock */
static size_t count;			/* guarded by lock */
static size_t bytes;			/* guarded by lock: sum of inode sizes */
static uint64_t next_ino = ROOT_INO + 1;	/* guarded by lock */
static struct inode *root;

void
itab_lock(void)
{
	pthread_mutex_lock(&lock);
}

void
itab_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

/* ---- layout --------------------------------------------------------------- */

static int
row_is_dir(enum node_id row)
{
	enum node_kind k = node_row(row)->kind;

	return k == NK_DIR || k == NK_PENDING;
}

/* Rows whose content the kernel may keep in its page cache: their opens
 * decide KEEP_CACHE and direct I/O from what the kernel was told. */
static int
row_is_cached_file(enum node_id row)
{
	enum node_kind k = node_row(row)->kind;

	return k == NK_FILE || k == NK_VALUE || k == NK_DOC || k == NK_CTL;
}

static unsigned
layout(enum node_id row, const char *name)
{
	const struct node_type *t = node_row(row);
	unsigned f = 0;

	if (row_is_dir(row))
		f |= IN_DIR;
	else if (row_is_cached_file(row))
		f |= IN_FILE;
	/* Directories keep their argument in struct idir; other members
	 * generated from backend state may capture one too. */
	if (!(f & IN_DIR) && t->name == NULL)
		f |= IN_ARG;
	if (t->name == NULL || strcmp(t->name, name) != 0)
		f |= IN_NAME;
	return f;
}

static size_t
tail_size(unsigned f)
{
	return ((f & IN_DIR) ? sizeof(struct idir) : 0) +
	    ((f & IN_FILE) ? sizeof(struct ifile) : 0) +
	    ((f & IN_ARG) ? sizeof(char *) : 0);
}

static char *
tail(const struct inode *in)
{
	return (char *)(uintptr_t)(in + 1);
}

static struct idir *
inode_dir(const struct inode *in)
{
	return (in->flags & IN_DIR) ? (struct idir *)(void *)tail(in) : NULL;
}

struct ifile *
inode_file(struct inode *in)
{
	return (in->flags & IN_FILE) ? (struct ifile *)(void *)tail(in) : NULL;
}

static char **
arg_slot(const struct inode *in)
{
	if (in->flags & IN_DIR)
		return &((struct idir *)(void *)tail(in))->arg;
	if (in->flags & IN_ARG)
		return (char **)(void *)(tail(in) +
		    ((in->flags & IN_FILE) ? sizeof(struct ifile) : 0));
	return NULL;
}

const char *
inode_name(const struct inode *in)
{
	if (in->flags & IN_NAME)
		return tail(in) + tail_size(in->flags);
	return node_row((enum node_id)in->row)->name;
}

const char *
inode_arg(const struct inode *in)
{
	char **a = arg_slot(in);

	return a ? *a : NULL;
}

/* A new inode (not yet in any table); arg is copied if the row keeps one. */
static struct inode *
inode_new(enum node_id row, const char *name, const char *arg)
{
	unsigned f = layout(row, name);
	size_t len = (f & IN_NAME) ? strlen(name) + 1 : 0;
	size_t sz = sizeof(struct inode) + tail_size(f) + len;
	struct inode *in;
	char **a;

	if ((in = calloc(1, sz)) == NULL)
		return NULL;
	in->row = (uint8_t)row;
	in->flags = (uint8_t)f;
	if (len)
		memcpy(tail(in) + tail_size(f), name, len);
	if (f & IN_FILE)
		inode_file(in)->attr_size = -1;
	if (arg && (a = arg_slot(in)) != NULL && (*a = strdup(arg)) == NULL) {
		free(in);
		return NULL;
	}
	bytes += sz;
	return in;
}

static void
inode_free(struct inode *in)
{
	char **a = arg_slot(in);

	bytes -= sizeof(struct inode) + tail_size(in->flags) +
	    ((in->flags & IN_NAME) ? strlen(inode_name(in)) + 1 : 0);
	if (a)
		free(*a);
	free(in);
}

/* ---- hashing ---------------------------------------------------------------- */

static size_t
h_ino(uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 17) % nbuckets;
}

static size_t
h_name(uint64_t parent, const char *name)
{
	uint64_t h = fnv1a(FNV_INIT, &parent, sizeof(parent));

	return (size_t)(fnv1a(h, name, strlen(name)) % nbuckets);
}

static void
grow_locked(void)
{
	struct inode **ni, **nn, *in, *next;
	size_t old = nbuckets, i, nb = nbuckets * 2;

	ni = calloc(nb, sizeof(*ni));
	nn = calloc(nb, sizeof(*nn));
	if (ni == NULL || nn == NULL) {
		free(ni);
		free(nn);
		return;
	}
	nbuckets = nb;
	for (i = 0; i < old; i++) {
		for (in = by_ino[i]; in; in = next) {
			next = in->next_ino;
			in->next_ino = ni[h_ino(in->ino)];
			ni[h_ino(in->ino)] = in;
		}
		for (in = by_name[i]; in; in = next) {
			next = in->next_name;
			in->next_name = nn[h_name(in->parent->ino,
			    inode_name(in))];
			nn[h_name(in->parent->ino, inode_name(in))] = in;
		}
	}
	free(by_ino);
	free(by_name);
	by_ino = ni;
	by_name = nn;
}

void
itab_init(void)
{
	nbuckets = 4096;
	by_ino = calloc(nbuckets, sizeof(*by_ino));
	by_name = calloc(nbuckets, sizeof(*by_name));
	root = inode_new(N_ROOT, "", NULL);
	root->ino = ROOT_INO;
	root->refs = 1;		/* never freed */
	root->nlookup = 1;
	by_ino[h_ino(ROOT_INO)] = root;
	count = 1;
}

struct inode *
itab_root(void)
{
	return root;
}

static struct inode *
find_ino_locked(uint64_t ino)
{
	struct inode *in;

	for (in = by_ino[h_ino(ino)]; in; in = in->next_ino)
		if (in->ino == ino)
			return in;
	return NULL;
}

static struct inode *
find_name_locked(struct inode *parent, const char *name)
{
	struct inode *in;

	for (in = by_name[h_name(parent->ino, name)]; in; in = in->next_name)
		if (in->parent == parent && strcmp(inode_name(in), name) == 0)
			return in;
	return NULL;
}

static void
hash_name_locked(struct inode *in)
{
	size_t h = h_name(in->parent->ino, inode_name(in));

	in->next_name = by_name[h];
	by_name[h] = in;
	in->flags |= IN_HASHED;
}

static void
unhash_name_locked(struct inode *in)
{
	struct inode **pp;

	if (!(in->flags & IN_HASHED))
		return;
	for (pp = &by_name[h_name(in->parent->ino, inode_name(in))]; *pp;
	    pp = &(*pp)->next_name) {
		if (*pp == in) {
			*pp = in->next_name;
			break;
		}
	}
	in->flags &= ~IN_HASHED;
	in->next_name = NULL;
}

static void
unhash_ino_locked(struct inode *in)
{
	struct inode **pp;

	for (pp = &by_ino[h_ino(in->ino)]; *pp; pp = &(*pp)->next_ino) {
		if (*pp == in) {
			*pp = in->next_ino;
			break;
		}
	}
	in->next_ino = NULL;
}

/* Put in on parent's list of children; it takes a reference on parent. */
static void
link_kid_locked(struct inode *in, struct inode *parent)
{
	struct idir *d = inode_dir(parent);

	in->parent = parent;
	parent->refs++;
	if (d == NULL)
		return;		/* not a directory: nothing to walk under it */
	in->sib_next = d->kids;
	if (d->kids)
		d->kids->sib_pprev = &in->sib_next;
	d->kids = in;
	in->sib_pprev = &d->kids;
}

static void
unlink_kid_locked(struct inode *in)
{
	if (in->sib_pprev) {
		*in->sib_pprev = in->sib_next;
		if (in->sib_next)
			in->sib_next->sib_pprev = in->sib_pprev;
	}
	in->sib_next = NULL;
	in->sib_pprev = NULL;
}

static void
release_locked(struct inode *in)
{
	struct inode *parent;

	while (in && in != root && in->refs == 0 && in->nlookup == 0) {
		unhash_name_locked(in);
		if (in->ino)
			unhash_ino_locked(in);
		unlink_kid_locked(in);
		parent = in->parent;
		inode_free(in);
		count--;
		in = parent;
		if (in)
			in->refs--;
	}
}

struct inode *
itab_get(struct inode *parent, const char *name, enum node_id row,
    const char *arg, int lookup)
{
	struct inode *in;
	const char *a;
	char **slot;

	pthread_mutex_lock(&lock);
	in = find_name_locked(parent, name);
	if (in && in->row != row && node_row(in->row)->kind == NK_PENDING &&
	    node_row(row)->kind == NK_DIR && inode_arg(in) == NULL) {
		/* A pending directory became the real thing (the app it stood
		 * for was created): the same inode, so a shell or editor whose
		 * working directory it is keeps working.  Setting arg from
		 * NULL frees nothing a context may still point at; both rows
		 * are directories, so the layout is the same. */
		in->row = (uint8_t)row;
		if (arg && (slot = arg_slot(in)) != NULL)
			*slot = strdup(arg);
	} else if (in && node_row(in->row)->flags & NF_LOCAL &&
	    node_row(in->row)->kind == NK_VALUE && node_row(row)->kind ==
	    NK_VALUE && inode_arg(in) == NULL && arg == NULL &&
	    layout(row, name) == (in->flags & ~(IN_HASHED | IN_PAGE_VALID))) {
		/* Likewise a pending variable that was written. */
		in->row = (uint8_t)row;
	}
	if (in && (in->row != row ||
	    (arg && ((a = inode_arg(in)) == NULL || strcmp(arg, a) != 0)))) {
		/* The name now denotes another kind of node. */
		unhash_name_locked(in);
		in = NULL;
	}
	if (in == NULL) {
		if (count >= 2 * nbuckets)
			grow_locked();
		if ((in = inode_new(row, name, arg)) == NULL) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		in->ino = next_ino++;
		link_kid_locked(in, parent);
		in->next_ino = by_ino[h_ino(in->ino)];
		by_ino[h_ino(in->ino)] = in;
		hash_name_locked(in);
		count++;
	}
	in->refs++;
	if (lookup && in->nlookup != UINT32_MAX)
		in->nlookup++;
	pthread_mutex_unlock(&lock);
	return in;
}

struct inode *
itab_ref(uint64_t ino)
{
	struct inode *in;

	pthread_mutex_lock(&lock);
	in = find_ino_locked(ino);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&lock);
	return in;
}

struct inode *
itab_find(struct inode *parent, const char *name)
{
	struct inode *in;

	pthread_mutex_lock(&lock);
	in = find_name_locked(parent, name);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&lock);
	return in;
}

void
itab_hold(struct inode *in)
{
	pthread_mutex_lock(&lock);
	in->refs++;
	pthread_mutex_unlock(&lock);
}

void
itab_put(struct inode *in)
{
	if (in == NULL)
		return;
	pthread_mutex_lock(&lock);
	in->refs--;
	release_locked(in);
	pthread_mutex_unlock(&lock);
}

void
itab_forget(uint64_t ino, uint64_t n)
{
	struct inode *in;

	pthread_mutex_lock(&lock);
	in = find_ino_locked(ino);
	if (in && in != root) {
		/* A saturated count forgets all at once, as the kernel does
		 * when it evicts the inode. */
		in->nlookup = n >= in->nlookup ? 0 : in->nlookup - (uint32_t)n;
		release_locked(in);
	}
	pthread_mutex_unlock(&lock);
}

void
itab_unhash(struct inode *in)
{
	pthread_mutex_lock(&lock);
	unhash_name_locked(in);
	pthread_mutex_unlock(&lock);
}

void
itab_retype(struct inode *in, enum node_id row, const char *arg)
{
	unsigned need;
	char **slot;

	pthread_mutex_lock(&lock);
	/* Only between rows of the same layout (pending to real: both
	 * directories, or both files), keeping the name. */
	need = layout(row, inode_name(in));
	if ((need & (IN_DIR | IN_FILE | IN_ARG)) ==
	    (in->flags & (IN_DIR | IN_FILE | IN_ARG)) &&
	    (!(need & IN_NAME) || (in->flags & IN_NAME))) {
		in->row = (uint8_t)row;
		/* Only from NULL: a context may point at the old argument. */
		if (arg && (slot = arg_slot(in)) != NULL && *slot == NULL)
			*slot = strdup(arg);
	}
	pthread_mutex_unlock(&lock);
}

struct inode *
itab_rename(struct inode *in, struct inode *newparent, const char *newname,
    enum node_id row)
{
	struct inode *ni, *victim, *k, *next;
	struct idir *od, *nd;

	/* Names are immutable, so the renamed node is a new struct that takes
	 * over the number: the kernel keeps using the inode it had. */
	pthread_mutex_lock(&lock);
	victim = find_name_locked(newparent, newname);
	if (victim && victim != in)
		unhash_name_locked(victim);
	if ((ni = inode_new(row, newname, NULL)) == NULL) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	ni->ino = in->ino;
	link_kid_locked(ni, newparent);
	ni->nlookup = in->nlookup;
	ni->refs = 1;	/* the caller's */
	in->nlookup = 0;
	/* Swap the number over. */
	unhash_ino_locked(in);
	ni->next_ino = by_ino[h_ino(ni->ino)];
	by_ino[h_ino(ni->ino)] = ni;
	unhash_name_locked(in);
	in->ino = 0;	/* no longer reachable by number */
	hash_name_locked(ni);
	count++;
	/* A renamed (pending) directory keeps its children: they hash by
	 * the parent's number, which did not change. */
	od = inode_dir(in);
	nd = inode_dir(ni);
	if (od && nd) {
		for (k = od->kids; k; k = next) {
			next = k->sib_next;
			unlink_kid_locked(k);
			in->refs--;
			link_kid_locked(k, ni);
		}
	}
	/* The old struct stays while referenced (by the caller at least);
	 * release_locked finds nothing to unhash by number. */
	release_locked(in);
	pthread_mutex_unlock(&lock);
	return ni;
}

struct inode *
itab_lookup_path(const char *path)
{
	struct inode *in;
	const char *p = path, *slash;
	char name[256];
	size_t n;

	pthread_mutex_lock(&lock);
	in = root;
	while (in && *p) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(name)) {
			in = NULL;
			break;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		in = find_name_locked(in, name);
		p += n;
		if (*p == '/')
			p++;
	}
	if (in)
		in->refs++;
	pthread_mutex_unlock(&lock);
	return in;
}

static int
path_locked(struct inode *in, char *out, size_t outsz)
{
	const struct inode *chain[256];
	size_t n = 0, len = 0, k;
	const char *name;
	int i;

	for (; in && in != root && n < 256; in = in->parent)
		chain[n++] = in;
	if (n == 256)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (i = (int)n - 1; i >= 0; i--) {
		name = inode_name(chain[i]);
		k = strlen(name);
		if (len + k + 2 > outsz)
			return -ENAMETOOLONG;
		if (len)
			out[len++] = '/';
		memcpy(out + len, name, k);
		len += k;
		out[len] = '\0';
	}
	return 0;
}

int
itab_path(struct inode *in, char *out, size_t outsz)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = path_locked(in, out, outsz);
	pthread_mutex_unlock(&lock);
	return rc;
}

void
itab_ctx(struct inode *in, struct nctx *c)
{
	const struct inode *chain[256];
	struct inode *p;
	const char *a;
	size_t n = 0;
	int i;

	pthread_mutex_lock(&lock);
	path_locked(in, c->path, sizeof(c->path));
	for (p = in; p && p != root && n < 256; p = p->parent)
		chain[n++] = p;
	c->nargs = 0;
	for (i = (int)n - 1; i >= 0; i--) {
		const struct node_type *t = node_row(chain[i]->row);

		a = inode_arg(chain[i]);
		if (t->name != NULL && a == NULL)
			continue;	/* fixed names capture nothing */
		if (c->nargs == NCTX_ARGS)
			break;
		c->args[c->nargs].row = chain[i]->row;
		c->args[c->nargs].arg = a ? a : inode_name(chain[i]);
		c->nargs++;
	}
	c->name = inode_name(in);
	c->node = in;
	c->t = node_row(in->row);
	pthread_mutex_unlock(&lock);
}

/* The next hashed inode of a depth-first walk of top's subtree, or NULL. */
static struct inode *
walk_next(struct inode *in, struct inode *top)
{
	struct idir *d;
	struct inode *k;

	/* Down first: the first hashed child. */
	if ((d = inode_dir(in)) != NULL)
		for (k = d->kids; k; k = k->sib_next)
			if (k->flags & IN_HASHED)
				return k;
	/* Then the next hashed sibling, here or further up. */
	while (in != top) {
		for (k = in->sib_next; k; k = k->sib_next)
			if (k->flags & IN_HASHED)
				return k;
		in = in->parent;
	}
	return NULL;
}

void
itab_walk_under(struct inode *top, void (*fn)(struct inode *in, void *arg),
    void *arg)
{
	struct inode *in;

	pthread_mutex_lock(&lock);
	for (in = top; in; in = walk_next(in, top))
		fn(in, arg);
	pthread_mutex_unlock(&lock);
}

size_t
itab_kids(uint64_t ino, struct itab_kid **out)
{
	struct itab_kid *v = NULL, *nv;
	struct inode *in, *k;
	struct idir *d;
	size_t n = 0, alloc = 0;

	pthread_mutex_lock(&lock);
	if ((in = find_ino_locked(ino)) != NULL && (d = inode_dir(in)) != NULL)
		for (k = d->kids; k; k = k->sib_next) {
			if (k->ino == 0)
				continue;
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				if ((nv = realloc(v, alloc * sizeof(*v))) == NULL)
					break;
				v = nv;
			}
			v[n].ino = k->ino;
			v[n].dir = (k->flags & IN_DIR) != 0;
			v[n].name = (k->flags & IN_HASHED) ?
			    strdup(inode_name(k)) : NULL;
			n++;
		}
	pthread_mutex_unlock(&lock);
	*out = v;
	return n;
}

uint32_t
itab_stream_open(struct inode *in)
{
	uint32_t n;

	pthread_mutex_lock(&lock);
	n = in->nstream++;
	pthread_mutex_unlock(&lock);
	return n;
}

void
itab_stream_close(struct inode *in)
{
	pthread_mutex_lock(&lock);
	if (in->nstream)
		in->nstream--;
	pthread_mutex_unlock(&lock);
}

void
itab_stats(size_t *n, size_t *b)
{
	pthread_mutex_lock(&lock);
	*n = count;
	*b = bytes + 2 * nbuckets * sizeof(struct inode *);
	pthread_mutex_unlock(&lock);
}
