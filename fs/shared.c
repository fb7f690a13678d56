/*
 * shared.c: state shared by every open of one node, found by key.
 *
 * A growing file that archonfs assembles itself (an app's merged log, a
 * topic's messages) is one object for all its readers, and it must be
 * findable from the node alone: fstat reaches FUSE without a file handle,
 * yet has to report the size readers see.  Objects are refcounted; the
 * last put ends one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct shared *
shared_get(struct registry *r, const char *key, int create)
{
	struct shared *s;

	pthread_mutex_lock(&r->lock);
	for (s = r->head; s; s = s->next)
		if (strcmp(s->key, key) == 0)
			break;
	if (s == NULL && create && (s = calloc(1, r->size)) != NULL) {
		if ((s->key = strdup(key)) == NULL || r->init(s) != 0) {
			free(s->key);
			free(s);
			s = NULL;
		} else {
			s->next = r->head;
			r->head = s;
		}
	}
	if (s)
		s->refs++;
	pthread_mutex_unlock(&r->lock);
	return s;
}

void
shared_put(struct registry *r, struct shared *s)
{
	struct shared **sp;

	pthread_mutex_lock(&r->lock);
	if (--s->refs > 0) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	for (sp = &r->head; *sp; sp = &(*sp)->next) {
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	r->fini(s);
	free(s->key);
	free(s);
}
