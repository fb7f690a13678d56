/*
 * names.h: which names from the cluster can be path components, and the
 * reversible escape for those that cannot as they are.
 *
 * A directory entry must not be empty, "." or "..", hold '/' (the kernel
 * fails a whole FUSE listing that does) or be longer than NAME_MAX (255)
 * bytes: tools that copy it to a local disk fail.  Marathon app ids, ZooKeeper
 * znodes and Kafka topic names cannot be "." or ".." or hold '/' (their own
 * rules), but a Kafka consumer group id, a label key or an env name is any
 * string.  Kafka consumer groups are escaped (name_escape); every other
 * name that is not a plain component is left out of its listing
 * (name_plain, applied to every listing in dirfill_add).
 *
 * The escape (archonfs(8), NAMES): '%' is "%25", '/' is "%2F"; a whole name
 * "." is "%2E", ".." is "%2E%2E".  Nothing else changes, so every ordinary
 * name is itself.  An empty name or one longer than 255 bytes once escaped
 * has no file name.  Pure string code, so it is unit-tested.
 */
#ifndef ARCHONFS_NAMES_H
#define ARCHONFS_NAMES_H

#include <stddef.h>

#define NAME_MAX_BYTES	255

/* 1 when name can be a directory entry as it is, 0 otherwise. */
int	name_plain(const char *name);
/* The file name of a cluster name (malloc'd), or NULL when it has none. */
char	*name_escape(const char *raw);
/* The cluster name a file name stands for (malloc'd), or NULL when the file
 * name is not what name_escape makes of any name (so each name has exactly
 * one file name: "%2f", "%41" or a bare "%" stand for nothing). */
char	*name_unescape(const char *name);

#endif
