/*
 * inode.c: the inode table (see inode.h).
 *
 * Two hash tables: by number, and by (parent number, name).  An inode is
 * freed when neither the kernel (nlookup) nor archonfs (refs) holds it; a
 * child holds a reference on its parent, so a path can always be computed
 * for any live inode.
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
			in->next_name = nn[h_name(in->parent->ino, in->name)];
			nn[h_name(in->parent->ino, in->name)] = in;
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
	root = calloc(1, sizeof(*root) + 1);
	root->ino = ROOT_INO;
	root->row = N_ROOT;
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
		if (in->parent == parent && strcmp(in->name, name) == 0)
			return in;
	return NULL;
}

static void
unhash_name_locked(struct inode *in)
{
	struct inode **pp;

	if (!in->hashed)
		return;
	for (pp = &by_name[h_name(in->parent->ino, in->name)]; *pp;
	    pp = &(*pp)->next_name) {
		if (*pp == in) {
			*pp = in->next_name;
			break;
		}
	}
	in->hashed = 0;
	in->next_name = NULL;
}

static void
release_locked(struct inode *in)
{
	struct inode **pp, *parent;

	while (in && in != root && in->refs == 0 && in->nlookup == 0) {
		unhash_name_locked(in);
		for (pp = &by_ino[h_ino(in->ino)]; *pp; pp = &(*pp)->next_ino) {
			if (*pp == in) {
				*pp = in->next_ino;
				break;
			}
		}
		parent = in->parent;
		free(in->arg);
		free(in);
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
	size_t len = strlen(name);

	pthread_mutex_lock(&lock);
	in = find_name_locked(parent, name);
	if (in && in->row != row && node_row(in->row)->kind == NK_PENDING &&
	    node_row(row)->kind == NK_DIR && in->arg == NULL) {
		/* A pending directory became the real thing (the app it stood
		 * for was created): the same inode, so a shell or editor whose
		 * working directory it is keeps working.  Setting arg from
		 * NULL frees nothing a context may still point at. */
		in->row = row;
		in->arg = arg ? strdup(arg) : NULL;
	} else if (in && node_row(in->row)->flags & NF_LOCAL &&
	    node_row(in->row)->kind == NK_VALUE && node_row(row)->kind ==
	    NK_VALUE && in->arg == NULL && arg == NULL) {
		/* Likewise a pending variable that was written. */
		in->row = row;
	}
	if (in && (in->row != row ||
	    (arg && (in->arg == NULL || strcmp(arg, in->arg) != 0)))) {
		/* The name now denotes another kind of node. */
		unhash_name_locked(in);
		in = NULL;
	}
	if (in == NULL) {
		if (count >= nbuckets)
			grow_locked();
		in = calloc(1, sizeof(*in) + len + 1);
		if (in == NULL) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		memcpy(in->name, name, len + 1);
		in->arg = arg ? strdup(arg) : NULL;
		in->row = row;
		in->ino = next_ino++;
		in->parent = parent;
		in->attr_size = -1;
		parent->refs++;
		in->next_ino = by_ino[h_ino(in->ino)];
		by_ino[h_ino(in->ino)] = in;
		in->next_name = by_name[h_name(parent->ino, name)];
		by_name[h_name(parent->ino, name)] = in;
		in->hashed = 1;
		count++;
	}
	in->refs++;
	if (lookup)
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
		in->nlookup = n > in->nlookup ? 0 : in->nlookup - n;
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
	pthread_mutex_lock(&lock);
	in->row = row;
	/* Only from NULL: a context may point at the old argument. */
	if (in->arg == NULL && arg)
		in->arg = strdup(arg);
	pthread_mutex_unlock(&lock);
}

struct inode *
itab_rename(struct inode *in, struct inode *newparent, const char *newname,
    enum node_id row)
{
	struct inode *ni, *victim;
	size_t len = strlen(newname);

	/* Names are immutable, so the renamed node is a new struct that takes
	 * over the number: the kernel keeps using the inode it had. */
	pthread_mutex_lock(&lock);
	victim = find_name_locked(newparent, newname);
	if (victim && victim != in)
		unhash_name_locked(victim);
	ni = calloc(1, sizeof(*ni) + len + 1);
	if (ni == NULL) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	memcpy(ni->name, newname, len + 1);
	ni->arg = NULL;
	ni->row = row;
	ni->ino = in->ino;
	ni->parent = newparent;
	newparent->refs++;
	ni->nlookup = in->nlookup;
	ni->refs = 1;	/* the caller's */
	ni->attr_size = -1;
	in->nlookup = 0;
	/* Swap the number over. */
	{
		struct inode **pp;

		for (pp = &by_ino[h_ino(in->ino)]; *pp; pp = &(*pp)->next_ino) {
			if (*pp == in) {
				*pp = ni;
				ni->next_ino = in->next_ino;
				break;
			}
		}
	}
	unhash_name_locked(in);
	in->ino = 0;	/* no longer reachable by number */
	ni->next_name = by_name[h_name(newparent->ino, newname)];
	by_name[h_name(newparent->ino, newname)] = ni;
	ni->hashed = 1;
	count++;
	/* The old struct stays while referenced (by the caller at least). */
	{
		struct inode *p = in;

		/* release_locked looks it up by number: it is no longer there,
		 * so take it out by hand when unreferenced. */
		if (p->refs == 0) {
			struct inode *parent = p->parent;

			free(p->arg);
			free(p);
			count--;
			parent->refs--;
			release_locked(parent);
		}
	}
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
	int i;

	for (; in && in != root && n < 256; in = in->parent)
		chain[n++] = in;
	if (n == 256)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (i = (int)n - 1; i >= 0; i--) {
		k = strlen(chain[i]->name);
		if (len + k + 2 > outsz)
			return -ENAMETOOLONG;
		if (len)
			out[len++] = '/';
		memcpy(out + len, chain[i]->name, k);
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
	size_t n = 0;
	int i;

	pthread_mutex_lock(&lock);
	path_locked(in, c->path, sizeof(c->path));
	for (p = in; p && p != root && n < 256; p = p->parent)
		chain[n++] = p;
	c->nargs = 0;
	for (i = (int)n - 1; i >= 0; i--) {
		const struct node_type *t = node_row(chain[i]->row);

		if (t->name != NULL && chain[i]->arg == NULL)
			continue;	/* fixed names capture nothing */
		if (c->nargs == NCTX_ARGS)
			break;
		c->args[c->nargs].row = chain[i]->row;
		c->args[c->nargs].arg = chain[i]->arg ? chain[i]->arg : chain[i]->name;
		c->nargs++;
	}
	c->name = in->name;
	c->node = in;
	c->t = node_row(in->row);
	pthread_mutex_unlock(&lock);
}

void
itab_walk(void (*fn)(struct inode *in, void *arg), void *arg)
{
	struct inode *in;
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nbuckets; i++)
		for (in = by_ino[i]; in; in = in->next_ino)
			fn(in, arg);
	pthread_mutex_unlock(&lock);
}
