/*
 * jpack.h: packed JSON, a compact read-only form of one parsed document.
 *
 * A snapshot of a large cluster is mostly the same few hundred keys and
 * values repeated (every task has "appId", "slaveId", "state":
 * "TASK_RUNNING", ...).  jansson keeps each as an allocated object of its
 * own, so 62 MB of /v2/apps reply became ~900 MB of json_t.  A jpack is one
 * allocation: the values in a byte code, and every distinct string once,
 * with the words Marathon always uses in a built-in dictionary that costs
 * nothing per document.  Reading one is a walk over bytes: containers carry
 * their byte size, so a member lookup skips whole subtrees.
 *
 * Strings inside a jpack are NUL-terminated (and carry their length, for
 * strings with a NUL inside), so a pointer into it can be handed out for as
 * long as the jpack lives.
 *
 * What it does not do: parse text (jansson does, and checks it), or
 * change after it is built.
 */
#ifndef ARCHONFS_JPACK_H
#define ARCHONFS_JPACK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct jpack;

/* A position in a jpack: one value.  pk == NULL is "no value". */
struct jp {
	const struct jpack	*pk;
	uint32_t		 off;
};

enum jp_type {
	JP_NONE = 0, JP_NULL, JP_FALSE, JP_TRUE, JP_INT, JP_REAL, JP_STR,
	JP_ARR, JP_OBJ
};

/* Pack a value (any JSON type); NULL when out of memory or over 4 GiB. */
struct jpack *jpack_new(json_t *v);
void	 jpack_free(struct jpack *p);
/* Bytes it occupies (its one allocation). */
size_t	 jpack_size(const struct jpack *p);
struct jp jpack_root(const struct jpack *p);

enum jp_type jp_type(struct jp v);
/* Member of an object by key (JP_NONE if absent or not an object). */
struct jp jp_get(struct jp obj, const char *key);
/* The string (NUL-terminated, len may be NULL), or NULL if not a string. */
const char *jp_str(struct jp v, size_t *len);
/* A number as long long (reals truncated, in range; 0 otherwise). */
long long jp_int(struct jp v);
double	 jp_real(struct jp v);
/* Members of an object or elements of an array; 0 for anything else. */
size_t	 jp_count(struct jp v);

/* Walking a container: jp_iter() then jp_next() until it returns 0. */
struct jp_iter {
	struct jp	 cur;		/* the next member's key ref or element */
	uint32_t	 end;		/* offset past the container */
	int		 obj;
};
void	 jp_iter(struct jp container, struct jp_iter *it);
/* Next element (key NULL) or member (key and keylen set); 0 at the end. */
int	 jp_next(struct jp_iter *it, struct jp *val, const char **key,
	    size_t *keylen);

/*
 * Parse one JSON value from text (as strictly as jansson with
 * JSON_REJECT_DUPLICATES, see jpack.c): 0 with *out a new jpack and *used
 * the bytes it took (leading whitespace included, trailing not); else
 * -EINVAL (or -ENOMEM) with what and where in err.
 */
int	 jpack_parse(const char *text, size_t len, struct jpack **out,
	    size_t *used, char *err, size_t errsz);

/*
 * Visit the members of the object (obj 1) or the elements of the array
 * (obj 0) that text holds, whole (nothing but whitespace after it): fn
 * gets each key (NULL for elements) and the value's text, only delimited,
 * not parsed: parse what you keep with jpack_parse.  fn returning non-zero
 * stops the walk with that value.  -EINVAL with words in err when the text
 * is not such a container.
 */
int	 jpack_each(const char *text, size_t len, int obj,
	    int (*fn)(void *arg, const char *key, const char *v, size_t vlen),
	    void *arg, char *err, size_t errsz);

/*
 * The value as a new jansson value (a new reference; NULL when out of
 * memory).  skip_keys, if not NULL, names top-level members of an object to
 * leave out (a NULL-terminated list), so a caller can decode an app
 * without its tasks.
 */
json_t	*jp_decode(struct jp v, const char *const *skip_keys);

#endif
