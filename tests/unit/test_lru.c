/*
 * test_lru.c: the string-keyed LRU cache (backends/lru.c): what is kept,
 * what is evicted first, bounds by bytes and by entries, replacement and
 * deletion free the value once, and 100,000 entries stay O(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../backends/buf.h"
#include "../../backends/lru.h"
#include "unit.h"

static int freed;

static void
count_free(void *p)
{
	freed++;
	free(p);
}

static char *
val(const char *s)
{
	char *v = malloc(strlen(s) + 1);

	strcpy(v, s);
	return v;
}

int
main(void)
{
	struct lru *c = lru_new(10, 0, count_free);
	char key[32];
	int i, ok;
	int64_t t0;

	lru_put(c, "a", val("A"), 4);
	lru_put(c, "b", val("B"), 4);
	CHECK_STR(lru_get(c, "a"), "A", "a value put is found");
	CHECK(lru_get(c, "z") == NULL, "an absent key is NULL");
	lru_put(c, "c", val("C"), 4);	/* 12 bytes: b, the least recent, goes */
	CHECK(lru_get(c, "b") == NULL && lru_get(c, "a") && lru_get(c, "c"),
	    "over the byte bound the least recently used goes, not one just read");
	CHECK(freed == 1 && lru_bytes(c) == 8 && lru_count(c) == 2,
	    "... and is freed, its bytes uncounted");
	lru_put(c, "a", val("A2"), 2);
	CHECK_STR(lru_get(c, "a"), "A2", "putting a key again replaces its value");
	CHECK(freed == 2 && lru_bytes(c) == 6, "... freeing the old one");
	lru_del(c, "a");
	CHECK(lru_get(c, "a") == NULL && freed == 3 && lru_count(c) == 1,
	    "a deleted key is gone and its value freed");
	lru_put(c, "huge", val("H"), 100);
	CHECK_STR(lru_get(c, "huge"), "H",
	    "an entry over the bound by itself is kept (the others go)");
	CHECK(lru_count(c) == 1, "... alone");
	lru_free(c);
	CHECK(freed == 5, "lru_free frees every value");

	freed = 0;
	c = lru_new(0, 3, count_free);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		lru_put(c, key, val(key), 1);
	}
	CHECK(lru_count(c) == 3 && lru_get(c, "k0") == NULL &&
	    lru_get(c, "k1") == NULL && lru_get(c, "k4") != NULL,
	    "an entry bound keeps the most recent");
	lru_free(c);

	freed = 0;
	c = lru_new(0, 0, count_free);
	t0 = now_ms();
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "/synth/g%02d/app%05d", i % 100, i);
		lru_put(c, key, val(key), 1);
	}
	for (ok = 1, i = 0; i < 100000; i += 7) {
		snprintf(key, sizeof(key), "/synth/g%02d/app%05d", i % 100, i);
		ok &= lru_get(c, key) != NULL && strcmp(lru_get(c, key), key) == 0;
	}
	printf("# 100,000 puts and 28,572 gets: %lld ms\n",
	    (long long)(now_ms() - t0));
	CHECK(ok && lru_count(c) == 100000, "100,000 keys are all found again");
	lru_free(c);
	CHECK(freed == 100000, "... and all freed");
	return done();
}
