/*
 * local.c: the in-memory store of scratch files, pending objects and
 * .error texts (see local.h).
 *
 * A linked list is enough: these entries are few (a handful of editor
 * files at a time), and listing a directory scans them once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "local.h"

struct errtext {
	char		*dir;
	char		*text;
	int64_t		 when_ms;
	struct errtext	*next;
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lentry *entries;		/* guarded by store_lock */
static struct errtext *errors;		/* guarded by store_lock */
static size_t total_bytes;		/* guarded by store_lock */

void
local_init(void)
{
}

static void
entry_free(struct lentry *e)
{
	buf_free(&e->data);
	pthread_mutex_destroy(&e->lock);
	free(e->path);
	free(e);
}

void
local_fini(void)
{
	struct lentry *e, *n;
	struct errtext *t, *tn;

	pthread_mutex_lock(&store_lock);
	for (e = entries; e; e = n) {
		n = e->next;
		e->linked = 0;
		if (e->refs == 0)
			entry_free(e);
	}
	entries = NULL;
	for (t = errors; t; t = tn) {
		tn = t->next;
		free(t->dir);
		free(t->text);
		free(t);
	}
	errors = NULL;
	pthread_mutex_unlock(&store_lock);
}

static struct lentry *
find_locked(const char *path)
{
	struct lentry *e;

	for (e = entries; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void
unlink_locked(struct lentry *e)
{
	struct lentry **pp;

	for (pp = &entries; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->linked = 0;
	e->next = NULL;
	if (e->refs == 0) {
		total_bytes -= e->data.len;
		entry_free(e);
	}
}

int
local_create(const char *path, enum node_id row, int is_dir, mode_t mode,
    uid_t uid, gid_t gid, struct lentry **out)
{
	struct lentry *e;

	pthread_mutex_lock(&store_lock);
	if (find_locked(path)) {
		pthread_mutex_unlock(&store_lock);
		return -EEXIST;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->path = strdup(path)) == NULL) {
		free(e);
		pthread_mutex_unlock(&store_lock);
		return -ENOMEM;
	}
	pthread_mutex_init(&e->lock, NULL);
	buf_init(&e->data, LOCAL_BYTES_MAX);
	e->row = row;
	e->is_dir = is_dir;
	e->mode = mode & 07777;
	e->uid = uid;
	e->gid = gid;
	clock_gettime(CLOCK_REALTIME, &e->mtime);
	e->ctime = e->mtime;
	e->linked = 1;
	e->refs = out ? 1 : 0;
	e->next = entries;
	entries = e;
	pthread_mutex_unlock(&store_lock);
	if (out)
		*out = e;
	return 0;
}

struct lentry *
local_get(const char *path)
{
	struct lentry *e;

	pthread_mutex_lock(&store_lock);
	if ((e = find_locked(path)) != NULL)
		e->refs++;
	pthread_mutex_unlock(&store_lock);
	return e;
}

void
local_put(struct lentry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&store_lock);
	if (--e->refs == 0 && !e->linked) {
		total_bytes -= e->data.len;
		entry_free(e);
	}
	pthread_mutex_unlock(&store_lock);
}

/* Is p below dir ("dir/...")? */
static int
below(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return p[0] != '\0';
	return strncmp(p, dir, n) == 0 && p[n] == '/';
}

int
local_remove(const char *path)
{
	struct lentry *e, *n;
	int found = 0;

	pthread_mutex_lock(&store_lock);
	for (e = entries; e; e = n) {
		n = e->next;
		if (strcmp(e->path, path) == 0 || below(e->path, path)) {
			found = 1;
			unlink_locked(e);
		}
	}
	pthread_mutex_unlock(&store_lock);
	return found ? 0 : -ENOENT;
}

int
local_remove_one(const char *path)
{
	struct lentry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&store_lock);
	if ((e = find_locked(path)) != NULL) {
		unlink_locked(e);
		rc = 0;
	}
	pthread_mutex_unlock(&store_lock);
	return rc;
}

int
local_rename(const char *from, const char *to)
{
	struct lentry *e, *n, *victim;
	size_t flen = strlen(from);
	char *np;
	int found = 0;

	pthread_mutex_lock(&store_lock);
	if ((victim = find_locked(to)) != NULL) {
		if (victim->is_dir) {
			pthread_mutex_unlock(&store_lock);
			return -EISDIR;
		}
		unlink_locked(victim);
	}
	for (e = entries; e; e = n) {
		n = e->next;
		if (strcmp(e->path, from) != 0 && !below(e->path, from))
			continue;
		np = malloc(strlen(to) + strlen(e->path) - flen + 1);
		if (np == NULL)
			continue;
		strcpy(np, to);
		strcat(np, e->path + flen);
		free(e->path);
		e->path = np;
		found = 1;
	}
	pthread_mutex_unlock(&store_lock);
	return found ? 0 : -ENOENT;
}

int
local_has_children(const char *dirpath)
{
	struct lentry *e;
	int found = 0;

	pthread_mutex_lock(&store_lock);
	for (e = entries; e && !found; e = e->next)
		if (below(e->path, dirpath))
			found = 1;
	pthread_mutex_unlock(&store_lock);
	return found;
}

int
local_list(const char *dirpath,
    int (*fn)(void *arg, const char *name, enum node_id row), void *arg)
{
	struct lentry *e;
	size_t n = strlen(dirpath);
	const char *rest;
	char **names = NULL;
	enum node_id *rows = NULL;
	size_t k = 0, cap = 0, i;
	int rc = 0;

	/* Copy out under the lock, call back without it. */
	pthread_mutex_lock(&store_lock);
	for (e = entries; e; e = e->next) {
		if (!below(e->path, dirpath))
			continue;
		rest = e->path + (n ? n + 1 : 0);
		if (strchr(rest, '/'))
			continue;	/* not a direct child */
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			rows = realloc(rows, cap * sizeof(*rows));
			if (names == NULL || rows == NULL) {
				rc = -ENOMEM;
				break;
			}
		}
		names[k] = strdup(rest);
		rows[k++] = e->row;
	}
	pthread_mutex_unlock(&store_lock);
	for (i = 0; i < k; i++) {
		if (rc == 0 && names[i])
			rc = fn(arg, names[i], rows[i]);
		free(names[i]);
	}
	free(names);
	free(rows);
	return rc;
}

int
local_pwrite(struct lentry *e, const char *p, size_t n, off_t off)
{
	size_t before;
	int rc;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&store_lock);
	if ((size_t)off + n > e->data.len &&
	    total_bytes + ((size_t)off + n - e->data.len) > LOCAL_BYTES_MAX) {
		pthread_mutex_unlock(&store_lock);
		return -ENOSPC;
	}
	pthread_mutex_lock(&e->lock);
	before = e->data.len;
	rc = buf_pwrite(&e->data, p, n, (size_t)off);
	total_bytes += e->data.len - before;
	clock_gettime(CLOCK_REALTIME, &e->mtime);
	e->ctime = e->mtime;
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_unlock(&store_lock);
	if (rc == 0)
		return 0;
	/* A failed buffer stays failed: start it over empty. */
	return rc == -EFBIG ? -ENOSPC : rc;
}

int
local_truncate(struct lentry *e, off_t size)
{
	size_t before;
	int rc;

	if (size < 0)
		return -EINVAL;
	pthread_mutex_lock(&store_lock);
	if ((size_t)size > e->data.len &&
	    total_bytes + ((size_t)size - e->data.len) > LOCAL_BYTES_MAX) {
		pthread_mutex_unlock(&store_lock);
		return -ENOSPC;
	}
	pthread_mutex_lock(&e->lock);
	before = e->data.len;
	rc = buf_truncate(&e->data, (size_t)size);
	total_bytes = total_bytes - before + e->data.len;
	clock_gettime(CLOCK_REALTIME, &e->mtime);
	e->ctime = e->mtime;
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_unlock(&store_lock);
	return rc;
}

int
local_put_file(const char *path, const char *p, size_t n, uid_t uid, gid_t gid)
{
	struct lentry *e;
	int rc;

	if ((e = local_get(path)) == NULL) {
		rc = local_create(path, N_SCRATCH, 0, 0644, uid, gid, &e);
		if (rc != 0)
			return rc;
	}
	rc = local_truncate(e, 0);
	if (rc == 0)
		rc = local_pwrite(e, p, n, 0);
	local_put(e);
	return rc;
}

void
local_stat(struct lentry *e, struct stat *st)
{
	pthread_mutex_lock(&e->lock);
	st->st_mode = (e->is_dir ? S_IFDIR : S_IFREG) | e->mode;
	st->st_nlink = 1;
	st->st_size = e->is_dir ? 0 : (off_t)e->data.len;
	st->st_uid = e->uid;
	st->st_gid = e->gid;
	st->st_mtim = e->mtime;
	st->st_ctim = e->ctime;
	st->st_atim = e->mtime;
	st->st_blocks = (st->st_size + 511) / 512;
	pthread_mutex_unlock(&e->lock);
}

/*
 * Editor and tool scratch names (see the N_SCRATCH row): vim's swap files
 * and 4913 probe, backup files, emacs' #x# and .#x, sed -i's sedXXXXXX,
 * rsync's .x.XXXXXX, and our own x.rejected.
 */
static int
suffix(const char *name, const char *suf)
{
	size_t n = strlen(name), k = strlen(suf);

	return n > k && strcmp(name + n - k, suf) == 0;
}

int
local_scratch_name(const char *name)
{
	static const char *const suffixes[] = {
		"~", ".swp", ".swo", ".swx", ".tmp", ".bak", ".orig",
		".rejected", ".save", ".new",
	};
	size_t i, n = strlen(name);

	if (n == 0 || strcmp(name, ".error") == 0)
		return 0;
	if (name[0] == '.')			/* .app.json.swp, .#x, rsync */
		return 1;
	if (name[0] == '#' && name[n - 1] == '#' && n > 1)	/* emacs */
		return 1;
	if (strspn(name, "0123456789") == n)	/* vim's 4913 probe */
		return 1;
	if (n == 9 && strncmp(name, "sed", 3) == 0)	/* sed -i: sedXXXXXX */
		return 1;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (suffix(name, suffixes[i]))
			return 1;
	return 0;
}

void
local_set_error(const char *dirpath, const char *text)
{
	struct errtext *t;

	pthread_mutex_lock(&store_lock);
	for (t = errors; t; t = t->next)
		if (strcmp(t->dir, dirpath) == 0)
			break;
	if (t == NULL && (t = calloc(1, sizeof(*t))) != NULL) {
		t->dir = strdup(dirpath);
		t->next = errors;
		errors = t;
	}
	if (t) {
		free(t->text);
		t->text = strdup(text);
		t->when_ms = wall_ms();
	}
	pthread_mutex_unlock(&store_lock);
}

int
local_get_error(const char *dirpath, struct buf *out, int64_t *when_ms)
{
	struct errtext *t;
	int rc = 0;

	*when_ms = 0;
	pthread_mutex_lock(&store_lock);
	for (t = errors; t; t = t->next) {
		if (strcmp(t->dir, dirpath) == 0 && t->text) {
			rc = buf_addstr(out, t->text);
			*when_ms = t->when_ms;
		}
	}
	pthread_mutex_unlock(&store_lock);
	return rc;
}
