/*
 * lru.c: the string-keyed LRU cache of lru.h.
 *
 * Entries sit in a chained hash table (grown at one entry a bucket on
 * average) and in a doubly linked list, most recently used first; eviction
 * takes from the tail.  The key is stored inside the entry.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lru.h"

struct entry {
	void		*val;
	size_t		 size;
	uint64_t	 hash;
	struct entry	*hnext;		/* hash chain */
	struct entry	*prev, *next;	/* recency: prev is more recent */
	char		 key[];
};

struct lru {
	struct entry	**buckets;
	size_t		 nbuckets;	/* a power of two */
	struct entry	*head, *tail;
	size_t		 count, bytes;
	size_t		 max_bytes, max_entries;
	void		(*free_fn)(void *);
};

struct lru *
lru_new(size_t max_bytes, size_t max_entries, void (*free_fn)(void *))
{
	struct lru *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->nbuckets = 64;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	c->max_bytes = max_bytes;
	c->max_entries = max_entries;
	c->free_fn = free_fn;
	return c;
}

static void
unlink_recency(struct lru *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
push_front(struct lru *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static struct entry **
slot(struct lru *c, const char *key, uint64_t hash)
{
	struct entry **ep;

	for (ep = &c->buckets[hash & (c->nbuckets - 1)]; *ep; ep = &(*ep)->hnext)
		if ((*ep)->hash == hash && strcmp((*ep)->key, key) == 0)
			break;
	return ep;
}

static void
drop(struct lru *c, struct entry **ep)
{
	struct entry *e = *ep;

	*ep = e->hnext;
	unlink_recency(c, e);
	c->count--;
	c->bytes -= e->size;
	if (c->free_fn)
		c->free_fn(e->val);
	free(e);
}

void
lru_free(struct lru *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		while (c->buckets[i])
			drop(c, &c->buckets[i]);
	free(c->buckets);
	free(c);
}

void *
lru_get(struct lru *c, const char *key)
{
	struct entry *e = *slot(c, key, hash64(key, strlen(key)));

	if (e == NULL)
		return NULL;
	unlink_recency(c, e);
	push_front(c, e);
	return e->val;
}

static void
grow(struct lru *c)
{
	size_t n = c->nbuckets * 2, i;
	struct entry **nb, *e, *next;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

int
lru_put(struct lru *c, const char *key, void *val, size_t size)
{
	size_t klen = strlen(key);
	uint64_t hash = hash64(key, klen);
	struct entry **ep, *e;

	if ((e = malloc(sizeof(*e) + klen + 1)) == NULL) {
		if (c->free_fn)
			c->free_fn(val);
		return -ENOMEM;
	}
	memcpy(e->key, key, klen + 1);
	e->val = val;
	e->size = size;
	e->hash = hash;
	if (*(ep = slot(c, key, hash)) != NULL)
		drop(c, ep);
	if (c->count + 1 > c->nbuckets)
		grow(c);
	ep = &c->buckets[hash & (c->nbuckets - 1)];
	e->hnext = *ep;
	*ep = e;
	push_front(c, e);
	c->count++;
	c->bytes += size;
	while (c->tail != e &&
	    ((c->max_bytes && c->bytes > c->max_bytes) ||
	    (c->max_entries && c->count > c->max_entries)))
		drop(c, slot(c, c->tail->key, c->tail->hash));
	return 0;
}

void
lru_del(struct lru *c, const char *key)
{
	struct entry **ep = slot(c, key, hash64(key, strlen(key)));

	if (*ep)
		drop(c, ep);
}

size_t
lru_bytes(const struct lru *c)
{
	return c->bytes;
}

size_t
lru_count(const struct lru *c)
{
	return c->count;
}
