/*
 * node.h: the node table (what the tree holds) and the handler context.
 *
 * Every kind of node in the mounted tree is one row of the table in node.c:
 * its name (or, for members generated from backend state, a placeholder
 * such as "<app>"), its parent row, its kind, its mode, the backend that
 * owns it, and its handlers.  The FUSE operations in ops.c know nothing
 * about Marathon or any other system: they find the row of a node and call
 * its handlers.  Adding a file to the tree is adding a row and a handler.
 *
 * Handlers run with a struct nctx that says which node, which path, the
 * captured arguments of generated ancestors (the app id, the task id, ...),
 * whether they may block, their deadline, and where to put words for
 * .error.  They return 0 (or a byte count where stated) or -errno, and
 * -E_WOULDBLOCK when they would need to wait on a backend but may not.
 */
#ifndef ARCHONFS_NODE_H
#define ARCHONFS_NODE_H

#include <stdint.h>
#include <sys/types.h>

#include "../backends/buf.h"
#include "../backends/snapcache.h"	/* E_WOULDBLOCK */

/* Pools: one per backend, and one for the pipeline, which reads them all
 * (so a slow one delays the graph, never the backend's own subtree). */
enum backend_id {
	BK_NONE = 0, BK_MARATHON, BK_MESOS, BK_ZK, BK_KAFKA, BK_PIPELINE, BK_MAX
};

enum node_kind {
	NK_DIR,		/* directory: fixed rows plus generated members */
	NK_FILE,	/* read-only text rendered from backend state */
	NK_VALUE,	/* one short value; each write(2) applies it */
	NK_DOC,		/* document; buffered per open, applied at fsync/close/rename */
	NK_CTL,		/* control file: each write(2) is one command; read shows usage */
	NK_WAIT,	/* read blocks until something happens */
	NK_STREAM,	/* growing file: true size from the backend, read by offset */
	NK_SCRATCH,	/* local in-memory file (editor scratch), never sent anywhere */
	NK_PENDING,	/* local directory made by mkdir, not yet created in the cluster */
	NK_LINK,	/* symbolic link; read renders its target */
};

/* Row ids.  The order is the table's order in node.c. */
enum node_id {
	N_ROOT,
	N_README,
	N_META, N_META_STATUS, N_META_CONFIG, N_META_REFRESH,
	N_APPS, N_GROUP, N_APP,
	N_APP_JSON, N_APP_INSTANCES, N_APP_STATUS, N_APP_CTL,
	N_APP_STDOUT, N_APP_STDERR,
	N_TASKS, N_TASK, N_TASK_STATUS, N_TASK_JSON, N_TASK_STDOUT, N_TASK_STDERR,
	N_TASK_SANDBOX, N_SANDBOX_DIR, N_SANDBOX_FILE,
	N_COMPLETED, N_CTASK, N_CTASK_STATUS, N_CTASK_STDOUT, N_CTASK_STDERR,
	N_CTASK_SANDBOX,
	N_VERSIONS, N_VERSION,
	N_ENV, N_ENV_VAR, N_ENV_SECRET, N_ENV_NEW,
	N_LABELS, N_LABEL, N_LABEL_NEW,
	N_PENDING, N_PENDING_APP_JSON,
	N_DEPLOYMENTS, N_DEPLOYMENT, N_DEP_JSON, N_DEP_STATUS, N_DEP_WAIT,
	N_DEP_CTL,
	N_ZK, N_ZDIR, N_ZFILE, N_ZEPHEMERAL, N_ZDATA,
	N_TOPICS, N_TOPIC, N_TOPIC_JSON, N_TOPIC_PARTS, N_TOPIC_CONFIG,
	N_TCONFIG, N_TCONFIG_RO, N_TOPIC_OFFSETS, N_TOPIC_MESSAGES, N_TOPIC_CTL,
	N_TOPIC_GROUPS, N_TOPIC_GROUP,
	N_TPENDING, N_TPENDING_JSON, N_TPENDING_PARTS,
	N_KGROUPS, N_KGROUP, N_KGROUP_STATE, N_KGROUP_MEMBERS, N_KGROUP_LAG,
	N_KGROUP_OFFSETS,
	N_APP_CONSUMES, N_APP_CONSUMES_LINK, N_APP_PRODUCES, N_APP_PRODUCES_LINK,
	N_TOPIC_CONSUMERS, N_TOPIC_CONSUMER, N_TOPIC_PRODUCERS, N_TOPIC_PRODUCER,
	N_PIPELINE, N_PL_EDGES, N_PL_DOT, N_PL_SVG, N_PL_CYCLES, N_PL_ORPHANS,
	N_PL_UPSTREAM, N_PL_UP_GROUP, N_PL_UP_APP,
	N_PL_DOWNSTREAM, N_PL_DOWN_GROUP, N_PL_DOWN_APP,
	N_ERROR,
	N_SCRATCH,
	N_COUNT
};

/* Row flags. */
#define NF_SCRATCH	0x01	/* editor scratch files may be created here */
#define NF_HIDDEN	0x02	/* not listed (still reachable by name) */
#define NF_LOCAL	0x04	/* lives in the local store, not in a backend */
#define NF_ERRFILE	0x08	/* directory has a .error file (row N_ERROR) */

struct inode;
struct op;
struct nctx;
struct dirfill;

struct node_type {
	enum node_id	 id;
	const char	*name;		/* fixed name, or NULL for generated members */
	const char	*doc_name;	/* how the man page names it: "<app>" */
	enum node_id	 parent;	/* parent row (for generated rows: the usual one) */
	enum node_kind	 kind;
	mode_t		 mode;		/* permission bits; -o ro removes write bits */
	enum backend_id	 backend;	/* whose pool runs its blocking work */
	unsigned	 flags;

	/* Directories: generated members.  list calls dirfill_add for each;
	 * match resolves one name to a row and an argument (malloc'd, or NULL
	 * when the name itself is the argument). */
	int	(*list)(struct nctx *c, struct dirfill *f);
	int	(*match)(struct nctx *c, const char *name, enum node_id *row,
		    char **arg);
	/* Directories: make a member by mkdir(2) / creat(2) (NULL: EPERM).
	 * They say the new member's row; a row with NF_LOCAL is made in the
	 * local store (pending), others were made in the backend already. */
	int	(*mkdir)(struct nctx *c, const char *name, enum node_id *row);
	int	(*create)(struct nctx *c, const char *name, enum node_id *row);
	/* Directories: make a member by symlink(2) pointing at target (NULL:
	 * EPERM); the link exists in the backend when it returns. */
	int	(*symlink)(struct nctx *c, const char *name, const char *target,
		    enum node_id *row);

	/* Files: render the content (also gives st_size and, via c->mtime_ms,
	 * st_mtime); links: render the target. */
	int	(*read)(struct nctx *c, struct buf *out);
	/* Files (optional): st_size (and c->mtime_ms) without rendering the
	 * content, where the backend remembers it.  0: given; 1: not known
	 * that way, read instead; < 0: an error, as read would give. */
	int	(*size)(struct nctx *c, off_t *size);
	/* NK_VALUE, NK_CTL: apply one write(2); NK_DOC: apply the document. */
	int	(*write)(struct nctx *c, const char *p, size_t n);
	/* NK_STREAM: a per-open state (sopen), the current size (ssize; state
	 * is NULL without an open file), a read at an offset returning the
	 * count (sread), and the end of an open (sclose). */
	int	(*sopen)(struct nctx *c, void **state);
	int	(*ssize)(struct nctx *c, void *state, off_t *size);
	ssize_t	(*sread)(struct nctx *c, void *state, char *buf, size_t len,
		    off_t off);
	void	(*sclose)(void *state);

	/* unlink(2) of this node (NULL: EPERM with rm_hint); rmdir(2) of a
	 * directory (NULL: EPERM). */
	int	(*remove)(struct nctx *c);
	int	(*rmdir)(struct nctx *c);
	/* Called when a file was opened, after its content was rendered
	 * (c->version says which version the reader got). */
	void	(*opened)(struct nctx *c);
	const char	*rm_hint;	/* why rm is refused, and what to do instead */

	const char	*doc;		/* what reading and writing it does (man page) */
};

extern const struct node_type node_table[N_COUNT];

static inline const struct node_type *
node_row(enum node_id id)
{
	return &node_table[id];
}

/* The fixed child row of parent called name, or NULL. */
const struct node_type *node_fixed_child(enum node_id parent, const char *name);
/* Print the table as "path<TAB>kind<TAB>mode" lines (for tests and docs). */
void	 node_dump(void);

#define NCTX_ARGS	8
#define NCTX_HOLDS	4

/* The context a handler runs in. */
struct nctx {
	struct op		*op;		/* the FUSE request (who, deadline) */
	const struct node_type	*t;		/* this node's row */
	struct inode		*node;		/* the inode, if it has one yet */
	const char		*name;		/* last path component ("" for root) */
	char			 path[4096];	/* mount-relative: "apps/prod/web/status" */
	struct {
		enum node_id	 row;
		const char	*arg;		/* captured argument, e.g. "/prod/web" */
	}			 args[NCTX_ARGS];
	int			 nargs;
	int			 may_block;
	int64_t			 deadline;
	struct buf		*msg;		/* words for .error */
	int64_t			 mtime_ms;	/* out: set by read handlers that know it */
	int64_t			 version;	/* out: the backend's version of what
						   was read, plus one (0: none) */
	/* Backend state a handler borrowed for this op (snapshots). */
	struct {
		void		*p;
		void		(*put)(void *p);
	}			 hold[NCTX_HOLDS];
};

/* The argument captured by the nearest ancestor (or self) of row r. */
const char *ctx_arg(const struct nctx *c, enum node_id r);
/* Directory of this node, mount-relative (for .error and scratch keys). */
void	 ctx_dir(const struct nctx *c, char *out, size_t outsz);

/* Members emitted by list handlers; with attributes when the listing
 * already has them (saves asking the backend once per member). */
struct stat;
int	 dirfill_add(struct dirfill *f, const char *name, enum node_id row,
	    const char *arg);
int	 dirfill_add_attr(struct dirfill *f, const char *name, enum node_id row,
	    const char *arg, const struct stat *st);

#endif
