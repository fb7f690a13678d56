/*
 * tree.h: the handlers the node table (node.c) points at.
 *
 * tree_meta.c: the backend-independent nodes (README, .archonfs/, .error);
 * tree_marathon.c: apps/ and deployments/, on top of backends/marathon.h.
 * Each handler has the signature of its column in struct node_type.
 */
#ifndef ARCHONFS_TREE_H
#define ARCHONFS_TREE_H

#include "node.h"

/* tree_meta.c */
int	readme_read(struct nctx *c, struct buf *out);
int	meta_status_read(struct nctx *c, struct buf *out);
int	meta_config_read(struct nctx *c, struct buf *out);
int	meta_refresh_read(struct nctx *c, struct buf *out);
int	meta_refresh_write(struct nctx *c, const char *p, size_t n);
int	error_read(struct nctx *c, struct buf *out);
int	empty_read(struct nctx *c, struct buf *out);

/* tree_marathon.c */
int	apps_list(struct nctx *c, struct dirfill *f);
int	apps_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	apps_mkdir(struct nctx *c, const char *name);
int	app_json_read(struct nctx *c, struct buf *out);
int	app_json_write(struct nctx *c, const char *p, size_t n);
int	app_instances_read(struct nctx *c, struct buf *out);
int	app_instances_write(struct nctx *c, const char *p, size_t n);
int	app_status_read(struct nctx *c, struct buf *out);
int	app_ctl_read(struct nctx *c, struct buf *out);
int	app_ctl_write(struct nctx *c, const char *p, size_t n);
int	tasks_list(struct nctx *c, struct dirfill *f);
int	tasks_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	task_status_read(struct nctx *c, struct buf *out);
int	task_json_read(struct nctx *c, struct buf *out);
int	versions_list(struct nctx *c, struct dirfill *f);
int	versions_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	version_read(struct nctx *c, struct buf *out);
int	map_list(struct nctx *c, struct dirfill *f);
int	map_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	map_create(struct nctx *c, const char *name, enum node_id *row);
int	map_read(struct nctx *c, struct buf *out);
int	map_write(struct nctx *c, const char *p, size_t n);
int	pending_app_json_read(struct nctx *c, struct buf *out);
int	pending_app_json_write(struct nctx *c, const char *p, size_t n);
int	deps_list(struct nctx *c, struct dirfill *f);
int	deps_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	dep_json_read(struct nctx *c, struct buf *out);
int	dep_status_read(struct nctx *c, struct buf *out);
int	dep_wait_read(struct nctx *c, struct buf *out);
int	dep_ctl_read(struct nctx *c, struct buf *out);
int	dep_ctl_write(struct nctx *c, const char *p, size_t n);

#endif
