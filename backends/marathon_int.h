/*
 * marathon_int.h: what marathon.c, marathon_write.c and marathon_events.c
 * share.  Not for the FUSE layer (it includes jansson).
 */
#ifndef ARCHONFS_MARATHON_INT_H
#define ARCHONFS_MARATHON_INT_H

#include <jansson.h>
#include <pthread.h>

#include "http.h"
#include "jpack.h"
#include "marathon.h"
#include "snapcache.h"

/*
 * Reals are printed with 15 significant digits: every decimal a person
 * wrote with up to 15 digits (cpus 0.1, backoffFactor 1.15) prints back the
 * same, instead of jansson's default 17 digits (1.1499999999999999).
 */
#define JSON_OUT_REALS	JSON_REAL_PRECISION(15)

/*
 * One app as Marathon last reported it: immutable once built, and shared
 * by every snapshot that holds it (refs), so a refresh that finds an app
 * unchanged (the same reply bytes) keeps the same object, and a refresh of
 * one app copies only the array of pointers.  The facts every listing and
 * status file needs are read out once, when it is built.
 */
struct mara_app {
	const char	*id;		/* in pk */
	struct jpack	*pk;		/* owned: the app object, packed */
	uint64_t	 hash;		/* of its reply bytes: change detection */
	size_t		 len;		/* how many bytes those were */
	const char	*bad;		/* a field of the wrong type ("instances"), or NULL */
	long long	 instances, running, healthy, unhealthy, staged;
	size_t		 ntasks;
	int		 deploying;	/* it has deployments under way */
	int64_t		 mtime_ms;	/* its version, as a time */
	int64_t		 json_len;	/* atomic: app.json's length once
					 * rendered, 0 before */
	int		 refs;		/* atomic */
};

struct mara_snap {
	struct mara_app	**apps;		/* sorted by id; each holds a reference */
	size_t		 napps;
	size_t		 ntasks;
	size_t		 body_bytes;	/* of the last whole /v2/apps reply */
	size_t		 packed_bytes;	/* what its apps take here */
	size_t		 skipped;	/* entries with unusable ids */
	size_t		 malformed;	/* apps with a field of the wrong type */
	const char	*malformed_id;	/* the first of them, and its field */
	const char	*malformed_field;
	struct snapref	*ref;		/* back pointer for marathon_apps_put */
};

struct mara_deps {
	json_t		*root;		/* owned: the /v2/deployments array */
	uint64_t	 hash;
	struct snapref	*ref;
};

#define MARA_DIRTY_MAX	64	/* apps re-read one by one, at most */
#define OUTCOMES	64	/* finished deployments remembered */
#define FORCE_SLOTS	32	/* requests refused with 409, for "force" */

struct mara_refused {
	char		*id;		/* app id */
	char		*method;
	char		*path;
	char		*body;
};

struct marathon {
	struct marathon_opts opts;
	char		*urls;
	struct http_client *http;
	struct snapcache *apps;
	struct snapcache *deps;
	struct snapcache *info;		/* json_t *: GET /v2/info */
	mara_change_fn	 change_fn;
	void		*change_arg;

	/* Apps the cluster or a write changed since the last refresh: the
	 * next refresh asks for just these (GET /v2/apps/ID) when there are
	 * at most MARA_DIRTY_MAX, the whole listing otherwise. */
	pthread_mutex_t	 dirty_lock;
	char		*dirty[MARA_DIRTY_MAX];		/* guarded by dirty_lock */
	size_t		 ndirty;		/* guarded by dirty_lock */
	int		 dirty_all;		/* guarded by dirty_lock */
	uint64_t	 app_refreshes;		/* guarded by dirty_lock */
	int64_t		 last_full_ms;		/* guarded by dirty_lock: when
						   the last whole listing began */

	/* Event stream (marathon_events.c). */
	pthread_t	 ev_thread;
	int		 ev_started;
	volatile int	 stopping;
	pthread_mutex_t	 ev_lock;
	int		 ev_connected;		/* guarded by ev_lock */
	int64_t		 ev_since_wall_ms;	/* guarded by ev_lock */
	uint64_t	 ev_count;		/* guarded by ev_lock */
	uint64_t	 ev_reconnects;		/* guarded by ev_lock */
	char		 ev_error[256];		/* guarded by ev_lock */
	char		 ev_last_drop[256];	/* guarded by ev_lock: why the last stream ended */
	struct {
		char	 id[96];
		char	 text[256];
	}		 outcomes[OUTCOMES];	/* guarded by ev_lock: ring */
	unsigned	 noutcomes;		/* guarded by ev_lock */

	/* Versions cache and refused requests (marathon_write.c, marathon.c). */
	pthread_mutex_t	 lock;
	struct vcache	*versions;		/* guarded by lock */
	struct ahead	*ahead;			/* versions read ahead */
	struct mara_refused refused[FORCE_SLOTS];	/* guarded by lock */
	unsigned	 nrefused;		/* guarded by lock */
};

/* marathon_versions.c */
struct ahead *mara_versions_ahead_new(struct marathon *m);

/* marathon.c */
/* After a change was sent to app id (NULL: to something else): that app
 * is re-read now, and readers wait for it; the deployment list when next
 * read. */
void	 marathon_wrote(struct marathon *m, const char *id);
/* The cluster reported a change (an event) to the apps ids (n of them),
 * or to anything (ids NULL): a refresh soon, of just those apps when it
 * can. */
void	 marathon_changed(struct marathon *m, const char *const *ids, size_t n);
/* Only the deployment list may have changed. */
void	 marathon_deps_changed(struct marathon *m);
/* The event stream (re)connected: events may have been missed. */
void	 marathon_resync(struct marathon *m);
/* GET path; 0 only for a 200, else -errno with words in msg. */
int	 mara_get(struct marathon *m, const char *path, int64_t deadline,
	    struct http_resp *rs, struct buf *msg);
struct mara_app *mara_find(const struct mara_snap *s, const char *id);
json_t	*mara_definition(json_t *app);	/* new ref: app without runtime fields */
/* The app's definition (without runtime fields) as a new jansson value. */
json_t	*mara_app_definition(const struct mara_app *a);
/* Its app.json (mara_app_json), and that file's length, kept in the app
 * once rendered. */
int	 mara_app_render_json(struct mara_app *a, struct buf *out);
int	 mara_app_json_len(struct mara_app *a, off_t *size);
int	 json_to_buf(json_t *j, struct buf *out, size_t flags);
int	 mara_path(struct buf *out, const char *prefix, const char *id,
	    const char *suffix);
int64_t	 iso8601_ms(const char *s);

/* marathon_events.c */
int	 mara_events_start(struct marathon *m);
void	 mara_events_stop(struct marathon *m);

/* marathon_versions.c */
void	 marathon_versions_free(struct marathon *m);
void	 marathon_versions_forget(struct marathon *m, const char *id);

/* marathon_write.c */
void	 mara_refused_clear(struct marathon *m);

#endif
