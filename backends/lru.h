/*
 * lru.h: a string-keyed cache with least-recently-used eviction, bounded
 * by bytes and by entries; every operation is O(1) on average (a hash
 * table and a recency list).
 *
 * What it does not do: lock (its owner does, and says with which lock),
 * expire by time (values carry their own time if they need one), or copy
 * values: it owns the value it was given and frees it with free_fn when
 * the entry is replaced, deleted or evicted.
 */
#ifndef ARCHONFS_LRU_H
#define ARCHONFS_LRU_H

#include <stddef.h>

struct lru;

/* max_bytes and max_entries: 0 means no bound of that kind. */
struct lru *lru_new(size_t max_bytes, size_t max_entries,
	    void (*free_fn)(void *val));
void	 lru_free(struct lru *c);
/* The value under key, now the most recently used; NULL if absent. */
void	*lru_get(struct lru *c, const char *key);
/* Keep val (size bytes) under key, replacing what was there, evicting the
 * least recently used entries to stay in bounds (never the new one).
 * 0, or -ENOMEM with val freed. */
int	 lru_put(struct lru *c, const char *key, void *val, size_t size);
void	 lru_del(struct lru *c, const char *key);
size_t	 lru_bytes(const struct lru *c);
size_t	 lru_count(const struct lru *c);

#endif
