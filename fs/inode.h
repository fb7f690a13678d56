/*
 * inode.h: the inode table: FUSE inode numbers for the nodes the kernel
 * knows about.
 *
 * The tree is generated, so an inode is only a name in a parent plus the
 * row of the node table it is an instance of (and, for generated members,
 * the argument captured for it, such as an app id).  Inodes exist while the
 * kernel holds lookups on them (nlookup) or archonfs holds references (an
 * open file, a child, an op in flight); numbers are never reused.
 *
 * Locking: one mutex (itab_lock, inside inode.c) guards the table, every
 * inode's links and counters, and the coherence fields marked below.
 */
#ifndef ARCHONFS_INODE_H
#define ARCHONFS_INODE_H

#include <stdint.h>
#include <sys/types.h>

#include "node.h"

struct inode {
	uint64_t	 ino;
	struct inode	*parent;	/* holds a reference; NULL for the root */
	enum node_id	 row;
	char		*arg;		/* captured argument or NULL; immutable */
	uint64_t	 nlookup;	/* kernel references */
	unsigned	 refs;		/* archonfs references */
	int		 hashed;	/* reachable by (parent, name) */
	/* Coherence with the kernel's caches (guarded by itab_lock): */
	off_t		 attr_size;	/* st_size last reported */
	uint64_t	 page_hash;	/* content the page cache may hold */
	int		 page_valid;
	struct inode	*next_name;	/* hash chains */
	struct inode	*next_ino;
	char		 name[];	/* immutable */
};

void	 itab_init(void);
struct inode *itab_root(void);

/* Find or make the inode (parent, name) of row; takes one kernel lookup
 * (lookup != 0) and one reference for the caller.  An existing inode of a
 * different row is unhashed and replaced, so the kernel sees a new number. */
struct inode *itab_get(struct inode *parent, const char *name, enum node_id row,
	    const char *arg, int lookup);
/* Reference by number (the kernel's); NULL if unknown. */
struct inode *itab_ref(uint64_t ino);
void	 itab_hold(struct inode *in);
void	 itab_put(struct inode *in);
void	 itab_forget(uint64_t ino, uint64_t n);
/* Existing inode (parent, name), referenced, or NULL. */
struct inode *itab_find(struct inode *parent, const char *name);
/* Take an inode out of the name hash (removed or renamed away). */
void	 itab_unhash(struct inode *in);
/* A pending node became real: same inode, new row (and argument, if it
 * had none). */
void	 itab_retype(struct inode *in, enum node_id row, const char *arg);
/* Give an inode a new name and row (rename). */
struct inode *itab_rename(struct inode *in, struct inode *newparent,
	    const char *newname, enum node_id row);

/* The inode at a mount-relative path, referenced, if the kernel knows it. */
struct inode *itab_lookup_path(const char *path);
/* Mount-relative path of an inode ("" for the root). */
int	 itab_path(struct inode *in, char *out, size_t outsz);
/* Fill a handler context's path and arguments from an inode. */
void	 itab_ctx(struct inode *in, struct nctx *c);

/* Call fn for every hashed inode (under the lock: fn must not call back). */
void	 itab_walk(void (*fn)(struct inode *in, void *arg), void *arg);

void	 itab_lock(void);
void	 itab_unlock(void);

#endif
