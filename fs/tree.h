/*
 * tree.h: the handlers the node table (node.c) points at.
 *
 * tree_meta.c: the backend-independent nodes (README, .archonfs/, .error);
 * tree_marathon.c: apps/ and deployments/, on top of backends/marathon.h;
 * tree_mesos.c: logs and sandboxes; tree_zk.c: zk/; tree_kafka.c: topics/
 * and groups/.
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
struct mara_snap;
/* Borrow the app tree for this op (kept in c->hold until the op ends). */
int	apps_snap(struct nctx *c, struct mara_snap **out);
int	app_label_write(struct nctx *c, const char *id, const char *key,
	    const char *value);
int	apps_list(struct nctx *c, struct dirfill *f);
int	apps_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	apps_mkdir(struct nctx *c, const char *name, enum node_id *row);
int	app_json_read(struct nctx *c, struct buf *out);
int	app_json_size(struct nctx *c, off_t *size);
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
int	version_size(struct nctx *c, off_t *size);
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

/* tree_zk.c */
int	zk_dir_list(struct nctx *c, struct dirfill *f);
int	zk_dir_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	zk_dir_mkdir(struct nctx *c, const char *name, enum node_id *row);
int	zk_dir_create(struct nctx *c, const char *name, enum node_id *row);
int	zk_dir_rmdir(struct nctx *c);
int	zk_file_read(struct nctx *c, struct buf *out);
int	zk_file_write(struct nctx *c, const char *p, size_t n);
int	zk_file_remove(struct nctx *c);
void	zk_file_opened(struct nctx *c);

/* tree_kafka.c */
int	topics_list(struct nctx *c, struct dirfill *f);
int	topics_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	topics_mkdir(struct nctx *c, const char *name, enum node_id *row);
int	topic_json_read(struct nctx *c, struct buf *out);
int	topic_json_write(struct nctx *c, const char *p, size_t n);
int	topic_parts_read(struct nctx *c, struct buf *out);
int	topic_parts_write(struct nctx *c, const char *p, size_t n);
int	tpending_parts_write(struct nctx *c, const char *p, size_t n);
int	tpending_json_read(struct nctx *c, struct buf *out);
int	tpending_json_write(struct nctx *c, const char *p, size_t n);
int	tconfig_list(struct nctx *c, struct dirfill *f);
int	tconfig_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	tconfig_create(struct nctx *c, const char *name, enum node_id *row);
int	tconfig_read(struct nctx *c, struct buf *out);
int	tconfig_write(struct nctx *c, const char *p, size_t n);
int	topic_offsets_read(struct nctx *c, struct buf *out);
int	messages_open(struct nctx *c, void **state);
int	messages_size(struct nctx *c, void *state, off_t *size);
ssize_t	messages_read(struct nctx *c, void *state, char *buf, size_t len, off_t off);
void	messages_close(void *state);
int	topic_ctl_read(struct nctx *c, struct buf *out);
int	topic_ctl_write(struct nctx *c, const char *p, size_t n);
int	tgroups_list(struct nctx *c, struct dirfill *f);
int	tgroups_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	tgroup_link_read(struct nctx *c, struct buf *out);
int	kgroups_list(struct nctx *c, struct dirfill *f);
int	kgroups_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	kgroup_state_read(struct nctx *c, struct buf *out);
int	kgroup_members_read(struct nctx *c, struct buf *out);
int	kgroup_lag_read(struct nctx *c, struct buf *out);
int	kgroup_offsets_read(struct nctx *c, struct buf *out);

/* tree_pipeline.c */
int	app_links_list(struct nctx *c, struct dirfill *f);
int	app_links_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	app_links_symlink(struct nctx *c, const char *name, const char *target,
	    enum node_id *row);
int	app_link_read(struct nctx *c, struct buf *out);
int	app_link_remove(struct nctx *c);
int	topic_links_list(struct nctx *c, struct dirfill *f);
int	topic_links_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	topic_link_read(struct nctx *c, struct buf *out);
int	pl_edges_read(struct nctx *c, struct buf *out);
int	pl_dot_read(struct nctx *c, struct buf *out);
int	pl_svg_read(struct nctx *c, struct buf *out);
int	pl_cycles_read(struct nctx *c, struct buf *out);
int	pl_orphans_read(struct nctx *c, struct buf *out);
int	pl_tree_list(struct nctx *c, struct dirfill *f);
int	pl_tree_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	pl_reach_read(struct nctx *c, struct buf *out);

/* tree_mesos.c */
int	log_open(struct nctx *c, void **state);
int	log_size(struct nctx *c, void *state, off_t *size);
ssize_t	log_read(struct nctx *c, void *state, char *buf, size_t len, off_t off);
void	log_close(void *state);
int	merged_open(struct nctx *c, void **state);
int	merged_size(struct nctx *c, void *state, off_t *size);
ssize_t	merged_read(struct nctx *c, void *state, char *buf, size_t len, off_t off);
void	merged_close(void *state);
int	sandbox_list(struct nctx *c, struct dirfill *f);
int	sandbox_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	completed_list(struct nctx *c, struct dirfill *f);
int	completed_match(struct nctx *c, const char *name, enum node_id *row, char **arg);
int	ctask_status_read(struct nctx *c, struct buf *out);

#endif
