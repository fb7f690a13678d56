/*
 * local.h: the mount's own in-memory state, which no backend ever sees.
 *
 *  - scratch files: what editors and tools create next to what they edit
 *    (vim's .app.json.swp and 4913, sed -i's sedXXXXXX, app.json~), and the
 *    app.json.rejected copies archonfs keeps of refused documents;
 *  - pending objects: a directory made by mkdir (an app not created yet), a
 *    variable made by creat(2) in env/ before its value is written;
 *  - the last refusal of each directory, shown as its .error file.
 *
 * Everything is keyed by mount-relative path and vanishes at unmount.  A
 * total byte cap keeps runaway scratch writers from eating memory (ENOSPC).
 * Locking: one mutex inside local.c; entries are refcounted so an open file
 * survives an unlink, as on any filesystem.
 */
#ifndef ARCHONFS_LOCAL_H
#define ARCHONFS_LOCAL_H

#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "../backends/buf.h"
#include "node.h"

#define LOCAL_BYTES_MAX	(256u << 20)

struct lentry {
	char		*path;		/* guarded by the store's lock (rename) */
	enum node_id	 row;		/* N_SCRATCH, N_PENDING, N_ENV_NEW, ... */
	int		 is_dir;
	pthread_mutex_t	 lock;		/* guards data, mode, uid, gid, times */
	struct buf	 data;
	mode_t		 mode;		/* permission bits */
	uid_t		 uid;
	gid_t		 gid;
	struct timespec	 mtime, ctime;
	int		 refs;		/* guarded by the store's lock */
	int		 linked;	/* guarded by the store's lock */
	struct lentry	*next;		/* guarded by the store's lock */
};

void	 local_init(void);
void	 local_fini(void);

/* New entry at path; -EEXIST if one is there. *out is referenced. */
int	 local_create(const char *path, enum node_id row, int is_dir,
	    mode_t mode, uid_t uid, gid_t gid, struct lentry **out);
/* Referenced entry at path, or NULL. */
struct lentry *local_get(const char *path);
void	 local_put(struct lentry *e);
/* Unlink the entry at path (and, for directories, what is below it). */
int	 local_remove(const char *path);
/* Unlink only the entry at path (what is below a directory stays). */
int	 local_remove_one(const char *path);
/* Move an entry (and what is below a directory) to a new path,
 * replacing a file there. */
int	 local_rename(const char *from, const char *to);
/* Is anything stored below dirpath? */
int	 local_has_children(const char *dirpath);
/* Call fn for each direct child of dirpath (name is the last component). */
int	 local_list(const char *dirpath,
	    int (*fn)(void *arg, const char *name, enum node_id row), void *arg);
/* Write and read a file entry's bytes; the store's byte cap applies. */
int	 local_pwrite(struct lentry *e, const char *p, size_t n, off_t off);
int	 local_truncate(struct lentry *e, off_t size);
/* Replace (or create) a scratch file's whole content. */
int	 local_put_file(const char *path, const char *p, size_t n, uid_t uid,
	    gid_t gid);
void	 local_stat(struct lentry *e, struct stat *st);

/* Is name an editor scratch name (".x.swp", "4913", "x~", "sedAbc123", ...)? */
int	 local_scratch_name(const char *name);

/* The last refusal in a directory, in words (the .error file). */
void	 local_set_error(const char *dirpath, const char *text);
/* Appends the text; *when_ms gets the time it was set (0 if none). */
int	 local_get_error(const char *dirpath, struct buf *out, int64_t *when_ms);

#endif
