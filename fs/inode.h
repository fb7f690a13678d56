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
 * Memory: after `ls -lR` of a large cluster the kernel holds an inode for
 * every node (1.2 million at 10,000 apps x 10 tasks), so each costs only
 * what it needs: a 64-byte header, then what its kind uses (docs/
 * architecture.md, "The inode table"): directories their children and
 * argument, files the page cache coherence fields, generated members their
 * argument and name.  A fixed-name row (app.json, tasks, status...) stores
 * no name: it is the row's.  Use inode_name() and inode_arg().
 *
 * Locking: one mutex (itab_lock, inside inode.c) guards the table, every
 * inode's links and counters, and the coherence fields.
 */
#ifndef ARCHONFS_INODE_H
#define ARCHONFS_INODE_H

#include <stdint.h>
#include <sys/types.h>

#include "node.h"

/* Header flags (guarded by itab_lock; the layout ones never change). */
#define IN_HASHED	0x01	/* reachable by (parent, name) */
#define IN_PAGE_VALID	0x02	/* the page cache may hold page_hash's content */
#define IN_DIR		0x04	/* layout: a struct idir follows */
#define IN_FILE		0x08	/* layout: a struct ifile follows */
#define IN_ARG		0x10	/* layout: an argument pointer follows */
#define IN_NAME		0x20	/* layout: the name's bytes come last */

struct inode {
	uint64_t	 ino;
	struct inode	*parent;	/* holds a reference; NULL for the root */
	struct inode	*next_name;	/* hash chains */
	struct inode	*next_ino;
	struct inode	*sib_next;	/* the parent's children */
	struct inode	**sib_pprev;
	uint32_t	 nlookup;	/* kernel references (saturates) */
	uint32_t	 refs;		/* archonfs references */
	uint32_t	 nstream;	/* open stream handles (NK_STREAM rows) */
	uint8_t		 row;		/* enum node_id */
	uint8_t		 flags;		/* IN_* */
	uint16_t	 listed;	/* a pulled listing: listing_stamp() when
					   the kernel last read it (atomic) */
};

/* What a directory holds after the header. */
struct idir {
	struct inode	*kids;		/* its children, hashed or not */
	char		*arg;		/* captured argument or NULL */
};

/* What a file the kernel may page-cache (NK_FILE, NK_VALUE, NK_DOC,
 * NK_CTL) holds after the header: coherence with the kernel's caches. */
struct ifile {
	int64_t		 attr_size;	/* st_size last reported; -1: none */
	uint64_t	 page_hash;	/* content the page cache may hold */
};

/* Its name in its parent ("" for the root) and its captured argument. */
const char *inode_name(const struct inode *in);
const char *inode_arg(const struct inode *in);
/* The coherence fields, or NULL when the row has none. */
struct ifile *inode_file(struct inode *in);
static inline int
inode_hashed(const struct inode *in)
{
	return (in->flags & IN_HASHED) != 0;
}

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

/* Call fn for top and every hashed inode below it, parents before their
 * children, without looking at the rest of the table (under the lock: fn
 * must not call back).  top is referenced by the caller. */
void	 itab_walk_under(struct inode *top,
	    void (*fn)(struct inode *in, void *arg), void *arg);

/* The children of inode number ino that have a number, hashed or not, as
 * a malloc'd array (*out; free each name, then the array): none when ino
 * is unknown or not a directory, or memory ran out. */
struct itab_kid {
	uint64_t	 ino;
	char		*name;		/* NULL: not reachable by name */
	int		 dir;
};
size_t	 itab_kids(uint64_t ino, struct itab_kid **out);
/* An open of a stream begins (returns how many were open before) or ends. */
uint32_t itab_stream_open(struct inode *in);
void	 itab_stream_close(struct inode *in);
/* How many inodes the table holds and the bytes they take (for status). */
void	 itab_stats(size_t *count, size_t *bytes);

void	 itab_lock(void);
void	 itab_unlock(void);

#endif
