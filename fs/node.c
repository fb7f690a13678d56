/*
 * node.c: THE node table: every kind of node in the mounted tree.
 *
 * Columns (see struct node_type in node.h):
 *   id        row id (enum node_id); rows are listed in that order
 *   name      fixed file name, or NULL for members generated from backend
 *             state (then doc_name is the placeholder the man page uses)
 *   parent    the directory row it appears in (for generated rows, the
 *             usual one: groups nest, so an app may sit in apps/ directly)
 *   kind      NK_DIR, NK_FILE (read-only), NK_VALUE (applied in write(2)),
 *             NK_DOC (applied at fsync/close/rename), NK_CTL (one command
 *             per write), NK_WAIT (read blocks), NK_STREAM (a growing
 *             file read by offset), NK_SCRATCH, NK_PENDING
 *   mode      permission bits (-o ro removes the write bits)
 *   backend   whose worker pool runs its blocking work; rows of a backend
 *             that is not configured are absent from the tree
 *   flags     NF_SCRATCH (editor scratch files may be created here),
 *             NF_ERRFILE (has a .error), NF_LOCAL (lives in the local store),
 *             NF_HIDDEN (reachable, not listed)
 *   handlers  list/match (generated members), mkdir/create (new members),
 *             read (content, size, mtime), write (apply), remove (unlink),
 *             sopen/ssize/sread/sclose (streams)
 *   doc       what reading and writing it does; the man page lists every
 *             row and a test checks it does
 *
 * Adding a file to the tree is adding a row here and a handler in tree_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "tree.h"

#define DIR_RW	0755
#define DIR_RO	0555
#define F_RO	0444
#define F_RW	0644

const struct node_type node_table[N_COUNT] = {
	[N_ROOT] = { .id = N_ROOT, .name = "", .doc_name = "", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RO,
	    .doc = "The mount point: one directory per configured backend." },
	[N_README] = { .id = N_README, .name = "README", .parent = N_ROOT,
	    .kind = NK_FILE, .mode = F_RO, .read = readme_read,
	    .doc = "What this tree is and what each directory holds; one screen." },

	[N_META] = { .id = N_META, .name = ".archonfs", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RO,
	    .doc = "The mount itself." },
	[N_META_STATUS] = { .id = N_META_STATUS, .name = "status",
	    .parent = N_META, .kind = NK_FILE, .mode = F_RO,
	    .read = meta_status_read,
	    .doc = "Per backend: up, down or connecting, since when, URL, "
		"request and failure counts, last latency and error, snapshot "
		"size and age, event stream state." },
	[N_META_CONFIG] = { .id = N_META_CONFIG, .name = "config",
	    .parent = N_META, .kind = NK_FILE, .mode = F_RO,
	    .read = meta_config_read,
	    .doc = "The effective options, one per line; secrets are masked." },
	[N_META_REFRESH] = { .id = N_META_REFRESH, .name = "refresh",
	    .parent = N_META, .kind = NK_CTL, .mode = F_RW,
	    .read = meta_refresh_read, .write = meta_refresh_write,
	    .doc = "Writing anything drops every cache: the next read of any "
		"file fetches fresh state." },

	[N_APPS] = { .id = N_APPS, .name = "apps", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_MARATHON,
	    .flags = NF_ERRFILE, .list = apps_list, .match = apps_match,
	    .mkdir = apps_mkdir,
	    .doc = "Marathon's apps; groups are directories.  mkdir makes a "
		"pending app (see app.json)." },
	[N_GROUP] = { .id = N_GROUP, .doc_name = "<group>", .parent = N_APPS,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_MARATHON,
	    .flags = NF_ERRFILE, .list = apps_list, .match = apps_match,
	    .mkdir = apps_mkdir,
	    .doc = "A Marathon group: its apps and groups.  Groups nest." },
	[N_APP] = { .id = N_APP, .doc_name = "<app>", .parent = N_GROUP,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_MARATHON,
	    .flags = NF_SCRATCH | NF_ERRFILE,
	    .doc = "One app.  rm and rmdir are refused (EPERM): delete with "
		"`echo delete > ctl`." },
	[N_APP_JSON] = { .id = N_APP_JSON, .name = "app.json", .parent = N_APP,
	    .kind = NK_DOC, .mode = F_RW, .backend = BK_MARATHON,
	    .read = app_json_read, .size = app_json_size,
	    .write = app_json_write,
	    .doc = "The app's definition, pretty-printed, without runtime "
		"fields.  Writing a whole definition deploys it (PUT "
		"partialUpdate=false) when the writer closes, fsyncs or "
		"renames a file over it; unchanged text sends nothing." },
	[N_APP_INSTANCES] = { .id = N_APP_INSTANCES, .name = "instances",
	    .parent = N_APP, .kind = NK_VALUE, .mode = F_RW,
	    .backend = BK_MARATHON,
	    .read = app_instances_read, .write = app_instances_write,
	    .doc = "The target instance count.  Writing a whole number scales "
		"the app; write(2) returns once Marathon accepted it." },
	[N_APP_STATUS] = { .id = N_APP_STATUS, .name = "status",
	    .parent = N_APP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = app_status_read,
	    .doc = "key: value lines: state (running, deploying, waiting, "
		"suspended), instances, running, healthy, unhealthy, staged, "
		"version, config_changed, scaled, deployment, last_failure." },
	[N_APP_CTL] = { .id = N_APP_CTL, .name = "ctl", .parent = N_APP,
	    .kind = NK_CTL, .mode = F_RW, .backend = BK_MARATHON,
	    .read = app_ctl_read, .write = app_ctl_write,
	    .doc = "Commands, one per write: restart; kill TASK [scale|wipe]; "
		"delete; unset env NAME; unset label KEY; force (send again, "
		"with force, the last change refused because a deployment held "
		"the app).  Reading lists them." },
	[N_APP_STDOUT] = { .id = N_APP_STDOUT, .name = "stdout", .parent = N_APP,
	    .kind = NK_STREAM, .mode = F_RO, .backend = BK_MESOS,
	    .sopen = merged_open, .ssize = merged_size, .sread = merged_read,
	    .sclose = merged_close,
	    .doc = "Every instance's stdout merged line by line, each line "
		"prefixed with its task id (\"TASK: line\").  Each open starts "
		"with recent lines of every instance and grows as they write, so "
		"tail -f follows the app; instances that start are read from "
		"their start, instances that end are drained, then dropped.  "
		"Its size is what was merged so far (0 while nobody has it "
		"open)." },
	[N_APP_STDERR] = { .id = N_APP_STDERR, .name = "stderr", .parent = N_APP,
	    .kind = NK_STREAM, .mode = F_RO, .backend = BK_MESOS,
	    .sopen = merged_open, .ssize = merged_size, .sread = merged_read,
	    .sclose = merged_close,
	    .doc = "Every instance's stderr merged, as stdout." },
	[N_TASKS] = { .id = N_TASKS, .name = "tasks", .parent = N_APP,
	    .kind = NK_DIR, .mode = DIR_RO, .backend = BK_MARATHON,
	    .list = tasks_list, .match = tasks_match,
	    .doc = "One directory per instance (task) Marathon tracks." },
	[N_TASK] = { .id = N_TASK, .doc_name = "<task-id>", .parent = N_TASKS,
	    .kind = NK_DIR, .mode = DIR_RO, .backend = BK_MARATHON,
	    .doc = "One instance." },
	[N_TASK_STATUS] = { .id = N_TASK_STATUS, .name = "status",
	    .parent = N_TASK, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = task_status_read,
	    .doc = "key: value lines: state, host, ports, ip, health (healthy, "
		"unhealthy, unknown, none), staged, started, version, agent." },
	[N_TASK_JSON] = { .id = N_TASK_JSON, .name = "task.json",
	    .parent = N_TASK, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = task_json_read,
	    .doc = "The task as Marathon reports it." },
	[N_TASK_STDOUT] = { .id = N_TASK_STDOUT, .name = "stdout",
	    .parent = N_TASK, .kind = NK_STREAM, .mode = F_RO,
	    .backend = BK_MESOS, .sopen = log_open, .ssize = log_size,
	    .sread = log_read, .sclose = log_close,
	    .doc = "The instance's stdout, read from its Mesos sandbox by offset, "
		"never whole.  Its size is the file's true current size, so "
		"tail -f, tail -F, less +F, wc -c and dd skip= work." },
	[N_TASK_STDERR] = { .id = N_TASK_STDERR, .name = "stderr",
	    .parent = N_TASK, .kind = NK_STREAM, .mode = F_RO,
	    .backend = BK_MESOS, .sopen = log_open, .ssize = log_size,
	    .sread = log_read, .sclose = log_close,
	    .doc = "The instance's stderr, as stdout." },
	[N_TASK_SANDBOX] = { .id = N_TASK_SANDBOX, .name = "sandbox",
	    .parent = N_TASK, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_MESOS, .list = sandbox_list, .match = sandbox_match,
	    .doc = "The instance's whole Mesos sandbox, read-only." },
	[N_SANDBOX_DIR] = { .id = N_SANDBOX_DIR, .doc_name = "<dir>",
	    .parent = N_TASK_SANDBOX, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_MESOS, .list = sandbox_list, .match = sandbox_match,
	    .doc = "A directory of the sandbox." },
	[N_SANDBOX_FILE] = { .id = N_SANDBOX_FILE, .doc_name = "<file>",
	    .parent = N_TASK_SANDBOX, .kind = NK_STREAM, .mode = F_RO,
	    .backend = BK_MESOS, .sopen = log_open, .ssize = log_size,
	    .sread = log_read, .sclose = log_close,
	    .doc = "A file of the sandbox, read by offset like stdout." },
	[N_COMPLETED] = { .id = N_COMPLETED, .name = "completed",
	    .parent = N_APP, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_MESOS, .list = completed_list, .match = completed_match,
	    .doc = "Instances that ended (killed, failed, finished), as the "
		"Mesos master remembers them; their logs stay readable while "
		"Mesos keeps the sandbox." },
	[N_CTASK] = { .id = N_CTASK, .doc_name = "<task-id>",
	    .parent = N_COMPLETED, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_MESOS,
	    .doc = "One ended instance." },
	[N_CTASK_STATUS] = { .id = N_CTASK_STATUS, .name = "status",
	    .parent = N_CTASK, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MESOS, .read = ctask_status_read,
	    .doc = "key: value lines: state (TASK_KILLED, TASK_FAILED, "
		"TASK_FINISHED, ...), agent, ended." },
	[N_CTASK_STDOUT] = { .id = N_CTASK_STDOUT, .name = "stdout",
	    .parent = N_CTASK, .kind = NK_STREAM, .mode = F_RO,
	    .backend = BK_MESOS, .sopen = log_open, .ssize = log_size,
	    .sread = log_read, .sclose = log_close,
	    .doc = "Its stdout, while the sandbox exists (ENOENT after)." },
	[N_CTASK_STDERR] = { .id = N_CTASK_STDERR, .name = "stderr",
	    .parent = N_CTASK, .kind = NK_STREAM, .mode = F_RO,
	    .backend = BK_MESOS, .sopen = log_open, .ssize = log_size,
	    .sread = log_read, .sclose = log_close,
	    .doc = "Its stderr, likewise." },
	[N_CTASK_SANDBOX] = { .id = N_CTASK_SANDBOX, .name = "sandbox",
	    .parent = N_CTASK, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_MESOS, .list = sandbox_list, .match = sandbox_match,
	    .doc = "Its sandbox, read-only." },
	[N_VERSIONS] = { .id = N_VERSIONS, .name = "versions", .parent = N_APP,
	    .kind = NK_DIR, .mode = DIR_RO, .backend = BK_MARATHON,
	    .list = versions_list, .match = versions_match,
	    .doc = "Earlier definitions, fetched when listed." },
	[N_VERSION] = { .id = N_VERSION, .doc_name = "<timestamp>.json",
	    .parent = N_VERSIONS, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = version_read, .size = version_size,
	    .doc = "One earlier definition, shaped like app.json: cp it onto "
		"app.json to roll back to it." },
	[N_ENV] = { .id = N_ENV, .name = "env", .parent = N_APP,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_MARATHON,
	    .flags = NF_SCRATCH | NF_ERRFILE, .list = map_list,
	    .match = map_match, .create = map_create,
	    .doc = "The app's environment, one file per variable." },
	[N_ENV_VAR] = { .id = N_ENV_VAR, .doc_name = "<NAME>", .parent = N_ENV,
	    .kind = NK_VALUE, .mode = F_RW, .backend = BK_MARATHON,
	    .read = map_read, .write = map_write,
	    .rm_hint = "rm never changes an app, so that rm -r of its "
		"directory is harmless: remove a variable with `echo unset "
		"env NAME > ctl` in the app's directory, or edit app.json",
	    .doc = "A variable's value.  Writing sets it and deploys (one "
		"trailing newline is dropped); writing a new name adds it.  "
		"rm is refused (EPERM): remove it with `echo unset env NAME > "
		"ctl`." },
	[N_ENV_SECRET] = { .id = N_ENV_SECRET, .doc_name = "<NAME>",
	    .parent = N_ENV, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = map_read,
	    .doc = "A variable that refers to a Marathon secret: shows the "
		"reference ({\"secret\":...}), never a value; edit app.json "
		"to change it." },
	[N_ENV_NEW] = { .id = N_ENV_NEW, .doc_name = "<NEW>", .parent = N_ENV,
	    .kind = NK_VALUE, .mode = F_RW, .backend = BK_MARATHON,
	    .flags = NF_LOCAL, .read = empty_read, .write = map_write,
	    .doc = "A variable made by creat(2) and not written yet: it exists "
		"only in this mount until a value is written." },
	[N_LABELS] = { .id = N_LABELS, .name = "labels", .parent = N_APP,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_MARATHON,
	    .flags = NF_SCRATCH | NF_ERRFILE, .list = map_list,
	    .match = map_match, .create = map_create,
	    .doc = "The app's labels, one file per key." },
	[N_LABEL] = { .id = N_LABEL, .doc_name = "<KEY>", .parent = N_LABELS,
	    .kind = NK_VALUE, .mode = F_RW, .backend = BK_MARATHON,
	    .read = map_read, .write = map_write,
	    .rm_hint = "rm never changes an app, so that rm -r of its "
		"directory is harmless: remove a label with `echo unset "
		"label KEY > ctl` in the app's directory, or edit app.json",
	    .doc = "A label's value; writing and new names work as in env/; "
		"remove one with `echo unset label KEY > ctl`." },
	[N_LABEL_NEW] = { .id = N_LABEL_NEW, .doc_name = "<NEW>",
	    .parent = N_LABELS, .kind = NK_VALUE, .mode = F_RW,
	    .backend = BK_MARATHON, .flags = NF_LOCAL, .read = empty_read,
	    .write = map_write,
	    .doc = "A label made by creat(2) and not written yet." },
	[N_PENDING] = { .id = N_PENDING, .doc_name = "<new-app>",
	    .parent = N_GROUP, .kind = NK_PENDING, .mode = DIR_RW,
	    .backend = BK_MARATHON, .flags = NF_LOCAL | NF_SCRATCH | NF_ERRFILE,
	    .mkdir = apps_mkdir,
	    .doc = "A directory made by mkdir under apps/: exists only in this "
		"mount until its app.json is written, which creates the app "
		"(POST /v2/apps, the id taken from the path); rmdir drops it." },
	[N_PENDING_APP_JSON] = { .id = N_PENDING_APP_JSON, .name = "app.json",
	    .parent = N_PENDING, .kind = NK_DOC, .mode = F_RW,
	    .backend = BK_MARATHON, .read = pending_app_json_read,
	    .write = pending_app_json_write,
	    .doc = "A template for the new app; writing a definition creates "
		"the app.  An \"id\" in it must match the path." },

	[N_DEPLOYMENTS] = { .id = N_DEPLOYMENTS, .name = "deployments",
	    .parent = N_ROOT, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_MARATHON, .list = deps_list, .match = deps_match,
	    .doc = "Marathon deployments in progress; one directory each, gone "
		"when the deployment is." },
	[N_DEPLOYMENT] = { .id = N_DEPLOYMENT, .doc_name = "<deployment-id>",
	    .parent = N_DEPLOYMENTS, .kind = NK_DIR, .mode = DIR_RW,
	    .backend = BK_MARATHON, .flags = NF_SCRATCH | NF_ERRFILE,
	    .doc = "One running deployment." },
	[N_DEP_JSON] = { .id = N_DEP_JSON, .name = "deployment.json",
	    .parent = N_DEPLOYMENT, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = dep_json_read,
	    .doc = "The deployment as Marathon reports it." },
	[N_DEP_STATUS] = { .id = N_DEP_STATUS, .name = "status",
	    .parent = N_DEPLOYMENT, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_MARATHON, .read = dep_status_read,
	    .doc = "key: value lines: id, version, apps, step (current/total), "
		"actions." },
	[N_DEP_WAIT] = { .id = N_DEP_WAIT, .name = "wait",
	    .parent = N_DEPLOYMENT, .kind = NK_WAIT, .mode = F_RO,
	    .backend = BK_MARATHON, .read = dep_wait_read,
	    .doc = "Reading blocks until the deployment is over, then returns "
		"success, failed: REASON, or finished (outcome not seen). "
		"Interruptible (EINTR)." },
	[N_DEP_CTL] = { .id = N_DEP_CTL, .name = "ctl",
	    .parent = N_DEPLOYMENT, .kind = NK_CTL, .mode = F_RW,
	    .backend = BK_MARATHON, .read = dep_ctl_read, .write = dep_ctl_write,
	    .doc = "Commands: rollback (or cancel): Marathon reverts the change "
		"in a new deployment; stop: end it where it is." },

	[N_ZK] = { .id = N_ZK, .name = "zk", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_ZK,
	    .flags = NF_SCRATCH | NF_ERRFILE, .list = zk_dir_list,
	    .match = zk_dir_match, .mkdir = zk_dir_mkdir,
	    .create = zk_dir_create,
	    .doc = "The ZooKeeper tree under the root given in --zk.  A znode "
		"with children is a directory; one with data is a file; one with "
		"neither is a directory if it was never written (mkdir) and a "
		"file if it was (creat).  mkdir, creat, rm and rmdir make and "
		"delete znodes at once." },
	[N_ZDIR] = { .id = N_ZDIR, .doc_name = "<znode>", .parent = N_ZK,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_ZK,
	    .flags = NF_SCRATCH | NF_ERRFILE, .list = zk_dir_list,
	    .match = zk_dir_match, .mkdir = zk_dir_mkdir,
	    .create = zk_dir_create, .rmdir = zk_dir_rmdir,
	    .doc = "A znode shown as a directory.  rmdir deletes it when it has "
		"no children and no data (ENOTEMPTY otherwise)." },
	[N_ZFILE] = { .id = N_ZFILE, .doc_name = "<znode>", .parent = N_ZDIR,
	    .kind = NK_DOC, .mode = F_RW, .backend = BK_ZK,
	    .read = zk_file_read, .write = zk_file_write,
	    .remove = zk_file_remove, .opened = zk_file_opened,
	    .doc = "A znode shown as a file: exactly its data bytes; size is the "
		"data length, mtime the znode's.  Writing replaces the data when "
		"the writer closes, fsyncs or renames over it, only if the znode "
		"is still the version this process read (EBUSY otherwise, the "
		"text kept in NAME.rejected).  rm deletes it." },
	[N_ZEPHEMERAL] = { .id = N_ZEPHEMERAL, .doc_name = "<ephemeral>",
	    .parent = N_ZDIR, .kind = NK_FILE, .mode = F_RO, .backend = BK_ZK,
	    .read = zk_file_read,
	    .doc = "An ephemeral znode (a session's): shown read-only." },
	[N_ZDATA] = { .id = N_ZDATA, .doc_name = "_data", .parent = N_ZDIR,
	    .kind = NK_DOC, .mode = F_RW, .backend = BK_ZK,
	    .read = zk_file_read, .write = zk_file_write,
	    .opened = zk_file_opened,
	    .doc = "A directory znode's own data, listed when it has any (the "
		"name is -o zk_datafile, default _data); read and written like a "
		"file znode." },
	[N_TOPICS] = { .id = N_TOPICS, .name = "topics", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_KAFKA,
	    .flags = NF_ERRFILE, .list = topics_list, .match = topics_match,
	    .mkdir = topics_mkdir,
	    .doc = "Kafka's topics, one directory each.  mkdir makes a pending "
		"topic (created when its partitions or topic.json is written); "
		"the name must follow Kafka's rule (letters, digits, '.', '_', "
		"'-'; at most 249)." },
	[N_TOPIC] = { .id = N_TOPIC, .doc_name = "<topic>", .parent = N_TOPICS,
	    .kind = NK_DIR, .mode = DIR_RW, .backend = BK_KAFKA,
	    .flags = NF_SCRATCH | NF_ERRFILE,
	    .doc = "One topic.  rm and rmdir are refused (EPERM): delete it with "
		"`echo delete > ctl`." },
	[N_TOPIC_JSON] = { .id = N_TOPIC_JSON, .name = "topic.json",
	    .parent = N_TOPIC, .kind = NK_DOC, .mode = F_RW, .backend = BK_KAFKA,
	    .read = topic_json_read, .write = topic_json_write,
	    .doc = "name, partitions, replication_factor, config (the topic's "
		"overrides; the defaults are in config/) and partition_info "
		"(per partition: leader, replicas, isr).  Writing it applies "
		"what changed when the writer is done: more partitions "
		"(CreatePartitions), the config overrides as written (a key "
		"left out goes back to its default).  Both are checked by the "
		"broker (validate-only) before either is applied.  Fewer "
		"partitions, another replication factor or an unknown or "
		"read-only config is EINVAL; unchanged text sends nothing." },
	[N_TOPIC_PARTS] = { .id = N_TOPIC_PARTS, .name = "partitions",
	    .parent = N_TOPIC, .kind = NK_VALUE, .mode = F_RW, .backend = BK_KAFKA,
	    .read = topic_parts_read, .write = topic_parts_write,
	    .doc = "The partition count.  Writing a larger number adds "
		"partitions; a smaller one is EINVAL (Kafka cannot remove "
		"partitions); the same number sends nothing." },
	[N_TOPIC_CONFIG] = { .id = N_TOPIC_CONFIG, .name = "config",
	    .parent = N_TOPIC, .kind = NK_DIR, .mode = DIR_RW,
	    .backend = BK_KAFKA, .flags = NF_SCRATCH | NF_ERRFILE,
	    .list = tconfig_list, .match = tconfig_match,
	    .create = tconfig_create,
	    .doc = "Every config DescribeConfigs returns for the topic, one file "
		"each.  A new name is EINVAL: Kafka has a fixed set of topic "
		"configs." },
	[N_TCONFIG] = { .id = N_TCONFIG, .doc_name = "<key>",
	    .parent = N_TOPIC_CONFIG, .kind = NK_VALUE, .mode = F_RW,
	    .backend = BK_KAFKA, .read = tconfig_read, .write = tconfig_write,
	    .rm_hint = "a config is not removed: `echo unset config KEY > ctl` "
		"in the topic's directory puts it back to its default",
	    .doc = "The config's value; mtime is not tracked.  Writing sets it "
		"on the topic (AlterConfigs, sending the other overrides "
		"along, as that call replaces them all); a value the broker "
		"refuses is EINVAL with its words in .error.  Reset it with "
		"`echo unset config KEY > ctl`." },
	[N_TCONFIG_RO] = { .id = N_TCONFIG_RO, .doc_name = "<key>",
	    .parent = N_TOPIC_CONFIG, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_KAFKA, .read = tconfig_read,
	    .doc = "A config the broker reports read-only (mode 0444), or a "
		"sensitive one, whose value is never shown (empty)." },
	[N_TOPIC_OFFSETS] = { .id = N_TOPIC_OFFSETS, .name = "offsets",
	    .parent = N_TOPIC, .kind = NK_FILE, .mode = F_RO, .backend = BK_KAFKA,
	    .read = topic_offsets_read,
	    .doc = "Per partition, tab-separated under a header: partition, low "
		"and high watermark, messages (high - low); then the total.  "
		"Asked of the partition leaders at each open." },
	[N_TOPIC_MESSAGES] = { .id = N_TOPIC_MESSAGES, .name = "messages",
	    .parent = N_TOPIC, .kind = NK_STREAM, .mode = F_RO,
	    .backend = BK_KAFKA, .sopen = messages_open, .ssize = messages_size,
	    .sread = messages_read, .sclose = messages_close,
	    .doc = "New messages as they arrive, one line each: "
		"\"PARTITION/OFFSET KEY VALUE\", where a missing key is \"-\" and "
		"bytes that are not printable UTF-8 (and newlines, tabs, "
		"backslashes, spaces in a key) are written as \\xHH, \\n, \\t, "
		"\\\\.  It starts empty at the first open (no group, nothing "
		"committed) and grows while someone has it open, so tail -f "
		"follows the topic; opens at the same time share it.  The last "
		"16 MiB are kept." },
	[N_TOPIC_CTL] = { .id = N_TOPIC_CTL, .name = "ctl", .parent = N_TOPIC,
	    .kind = NK_CTL, .mode = F_RW, .backend = BK_KAFKA,
	    .read = topic_ctl_read, .write = topic_ctl_write,
	    .doc = "Commands, one per write: delete (DeleteTopics: the topic "
		"and its messages are gone); unset config KEY (back to the "
		"default).  Reading lists them." },
	[N_TOPIC_GROUPS] = { .id = N_TOPIC_GROUPS, .name = "groups",
	    .parent = N_TOPIC, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_KAFKA, .list = tgroups_list, .match = tgroups_match,
	    .doc = "The consumer groups of this topic: those with a member "
		"assigned one of its partitions or an offset committed on it." },
	[N_TOPIC_GROUP] = { .id = N_TOPIC_GROUP, .doc_name = "<group>",
	    .parent = N_TOPIC_GROUPS, .kind = NK_LINK, .mode = 0777,
	    .backend = BK_KAFKA, .read = tgroup_link_read,
	    .doc = "A symbolic link to ../../../groups/<group>." },
	[N_TPENDING] = { .id = N_TPENDING, .doc_name = "<new-topic>",
	    .parent = N_TOPICS, .kind = NK_PENDING, .mode = DIR_RW,
	    .backend = BK_KAFKA, .flags = NF_LOCAL | NF_SCRATCH | NF_ERRFILE,
	    .doc = "A directory made by mkdir under topics/: exists only in this "
		"mount until partitions or topic.json is written, which creates "
		"the topic (CreateTopics); rmdir drops it." },
	[N_TPENDING_JSON] = { .id = N_TPENDING_JSON, .name = "topic.json",
	    .parent = N_TPENDING, .kind = NK_DOC, .mode = F_RW,
	    .backend = BK_KAFKA, .read = tpending_json_read,
	    .write = tpending_json_write,
	    .doc = "A template; writing {\"partitions\":N, "
		"\"replication_factor\":R, \"config\":{...}} creates the topic "
		"(partitions is required; without replication_factor: the "
		"number of brokers, at most 3).  A \"name\" must match the "
		"directory." },
	[N_TPENDING_PARTS] = { .id = N_TPENDING_PARTS, .name = "partitions",
	    .parent = N_TPENDING, .kind = NK_VALUE, .mode = F_RW,
	    .backend = BK_KAFKA, .read = empty_read, .write = tpending_parts_write,
	    .doc = "Writing a count creates the topic with that many partitions "
		"and the default replication factor." },

	[N_KGROUPS] = { .id = N_KGROUPS, .name = "groups", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RO, .backend = BK_KAFKA,
	    .list = kgroups_list, .match = kgroups_match,
	    .doc = "Kafka's consumer groups (ListConsumerGroups), one directory "
		"each." },
	[N_KGROUP] = { .id = N_KGROUP, .doc_name = "<group>",
	    .parent = N_KGROUPS, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_KAFKA,
	    .doc = "One consumer group." },
	[N_KGROUP_STATE] = { .id = N_KGROUP_STATE, .name = "state",
	    .parent = N_KGROUP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_KAFKA, .read = kgroup_state_read,
	    .doc = "The group's state as the coordinator reports it: Stable, "
		"PreparingRebalance, CompletingRebalance, Empty or Dead." },
	[N_KGROUP_MEMBERS] = { .id = N_KGROUP_MEMBERS, .name = "members",
	    .parent = N_KGROUP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_KAFKA, .read = kgroup_members_read,
	    .doc = "One member per line, tab-separated under a header: client "
		"id, host, assigned partitions (TOPIC/PARTITION, comma-"
		"separated), member id." },
	[N_KGROUP_LAG] = { .id = N_KGROUP_LAG, .name = "lag",
	    .parent = N_KGROUP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_KAFKA, .read = kgroup_lag_read,
	    .doc = "Per topic and partition the group committed on, "
		"tab-separated under a header: committed offset, high "
		"watermark, lag (high - committed); then the total lag.  "
		"Offsets and watermarks are asked at each open." },
	[N_KGROUP_OFFSETS] = { .id = N_KGROUP_OFFSETS, .name = "offsets",
	    .parent = N_KGROUP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_KAFKA, .read = kgroup_offsets_read,
	    .doc = "The committed offsets (OffsetFetch): topic, partition, "
		"offset, one per line under a header." },
	[N_APP_CONSUMES] = { .id = N_APP_CONSUMES, .name = "consumes",
	    .parent = N_APP, .kind = NK_DIR, .mode = DIR_RW,
	    .backend = BK_PIPELINE, .flags = NF_ERRFILE,
	    .list = app_links_list, .match = app_links_match,
	    .symlink = app_links_symlink,
	    .doc = "The topics the app consumes, one symbolic link each, from "
		"every evidence (see pipeline/edges).  ln -s "
		"../../../../topics/T consumes/T adds T to the app's consumes "
		"label and deploys (one label write)." },
	[N_APP_CONSUMES_LINK] = { .id = N_APP_CONSUMES_LINK,
	    .doc_name = "<topic>", .parent = N_APP_CONSUMES, .kind = NK_LINK,
	    .mode = 0777, .backend = BK_PIPELINE, .read = app_link_read,
	    .remove = app_link_remove,
	    .doc = "A link to topics/<topic>.  rm removes the topic from the "
		"label and deploys; an edge that is only configured or "
		"observed is not removed here (EPERM)." },
	[N_APP_PRODUCES] = { .id = N_APP_PRODUCES, .name = "produces",
	    .parent = N_APP, .kind = NK_DIR, .mode = DIR_RW,
	    .backend = BK_PIPELINE, .flags = NF_ERRFILE,
	    .list = app_links_list, .match = app_links_match,
	    .symlink = app_links_symlink,
	    .doc = "The topics the app produces, as consumes/ (the produces "
		"label)." },
	[N_APP_PRODUCES_LINK] = { .id = N_APP_PRODUCES_LINK,
	    .doc_name = "<topic>", .parent = N_APP_PRODUCES, .kind = NK_LINK,
	    .mode = 0777, .backend = BK_PIPELINE, .read = app_link_read,
	    .remove = app_link_remove,
	    .doc = "A link to topics/<topic>; rm as in consumes/." },
	[N_TOPIC_CONSUMERS] = { .id = N_TOPIC_CONSUMERS, .name = "consumers",
	    .parent = N_TOPIC, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_PIPELINE, .list = topic_links_list,
	    .match = topic_links_match,
	    .doc = "The apps that consume the topic, one link each, named by "
		"the app's last segment (its whole id with / written as _ when "
		"two share it)." },
	[N_TOPIC_CONSUMER] = { .id = N_TOPIC_CONSUMER, .doc_name = "<app>",
	    .parent = N_TOPIC_CONSUMERS, .kind = NK_LINK, .mode = 0777,
	    .backend = BK_PIPELINE, .read = topic_link_read,
	    .doc = "A link to ../../../apps/<app>." },
	[N_TOPIC_PRODUCERS] = { .id = N_TOPIC_PRODUCERS, .name = "producers",
	    .parent = N_TOPIC, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_PIPELINE, .list = topic_links_list,
	    .match = topic_links_match,
	    .doc = "The apps that produce the topic, as consumers/." },
	[N_TOPIC_PRODUCER] = { .id = N_TOPIC_PRODUCER, .doc_name = "<app>",
	    .parent = N_TOPIC_PRODUCERS, .kind = NK_LINK, .mode = 0777,
	    .backend = BK_PIPELINE, .read = topic_link_read,
	    .doc = "A link to ../../../apps/<app>." },
	[N_PIPELINE] = { .id = N_PIPELINE, .name = "pipeline", .parent = N_ROOT,
	    .kind = NK_DIR, .mode = DIR_RO, .backend = BK_PIPELINE,
	    .doc = "The graph of apps and topics: an app that produces a topic "
		"is an edge app -> topic, one that consumes it topic -> app." },
	[N_PL_EDGES] = { .id = N_PL_EDGES, .name = "edges", .parent = N_PIPELINE,
	    .kind = NK_FILE, .mode = F_RO, .backend = BK_PIPELINE,
	    .read = pl_edges_read,
	    .doc = "One edge per line, tab-separated under a header: from, to, "
		"kind (produces, consumes), evidence (declared (label KEY), "
		"configured (zk PATH), observed (group G, lag N)); sorted.  A "
		"source that could not be read is said in # lines at the end." },
	[N_PL_DOT] = { .id = N_PL_DOT, .name = "graph.dot", .parent = N_PIPELINE,
	    .kind = NK_FILE, .mode = F_RO, .backend = BK_PIPELINE,
	    .read = pl_dot_read,
	    .doc = "The graph for Graphviz: apps are boxes (unhealthy ones "
		"red), topics ellipses; declared edges solid, configured "
		"dashed, observed dotted; observed edges labelled with their "
		"lag, red when behind.  dot -Tsvg graph.dot > p.svg draws it." },
	[N_PL_SVG] = { .id = N_PL_SVG, .name = "graph.svg", .parent = N_PIPELINE,
	    .kind = NK_FILE, .mode = F_RO, .backend = BK_PIPELINE,
	    .read = pl_svg_read,
	    .doc = "graph.dot laid out by Graphviz's library in archonfs, as "
		"SVG: open it in a browser.  Up to 1000 nodes (EFBIG above: "
		"run dot or sfdp on graph.dot)." },
	[N_PL_CYCLES] = { .id = N_PL_CYCLES, .name = "cycles",
	    .parent = N_PIPELINE, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_PIPELINE, .read = pl_cycles_read,
	    .doc = "Every dependency cycle, one per line (\"/a -> t1 -> /b -> "
		"t2 -> /a\", from its smallest node); empty when the graph is "
		"a DAG; at most 1000 listed." },
	[N_PL_ORPHANS] = { .id = N_PL_ORPHANS, .name = "orphans",
	    .parent = N_PIPELINE, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_PIPELINE, .read = pl_orphans_read,
	    .doc = "Topics nobody produces or nobody consumes: \"TOPIC<TAB>no "
		"producer\", \"no consumer\" or both." },
	[N_PL_UPSTREAM] = { .id = N_PL_UPSTREAM, .name = "upstream",
	    .parent = N_PIPELINE, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_PIPELINE, .list = pl_tree_list, .match = pl_tree_match,
	    .doc = "One file per app, in its groups as under apps/." },
	[N_PL_UP_GROUP] = { .id = N_PL_UP_GROUP, .doc_name = "<group>",
	    .parent = N_PL_UPSTREAM, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_PIPELINE, .list = pl_tree_list, .match = pl_tree_match,
	    .doc = "A group of apps." },
	[N_PL_UP_APP] = { .id = N_PL_UP_APP, .doc_name = "<app>",
	    .parent = N_PL_UP_GROUP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_PIPELINE, .read = pl_reach_read,
	    .doc = "Everything the app transitively depends on: the topics and "
		"apps upstream of it, one per line, nearest first." },
	[N_PL_DOWNSTREAM] = { .id = N_PL_DOWNSTREAM, .name = "downstream",
	    .parent = N_PIPELINE, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_PIPELINE, .list = pl_tree_list, .match = pl_tree_match,
	    .doc = "One file per app, as upstream/." },
	[N_PL_DOWN_GROUP] = { .id = N_PL_DOWN_GROUP, .doc_name = "<group>",
	    .parent = N_PL_DOWNSTREAM, .kind = NK_DIR, .mode = DIR_RO,
	    .backend = BK_PIPELINE, .list = pl_tree_list, .match = pl_tree_match,
	    .doc = "A group of apps." },
	[N_PL_DOWN_APP] = { .id = N_PL_DOWN_APP, .doc_name = "<app>",
	    .parent = N_PL_DOWN_GROUP, .kind = NK_FILE, .mode = F_RO,
	    .backend = BK_PIPELINE, .read = pl_reach_read,
	    .doc = "Everything that transitively depends on the app's output: "
		"the topics and apps downstream of it, nearest first." },
	[N_ERROR] = { .id = N_ERROR, .name = ".error", .parent = N_APP,
	    .kind = NK_FILE, .mode = F_RO, .read = error_read,
	    .doc = "In every directory that takes writes: the last refusal in "
		"this directory, in words (when, what, errno, the backend's "
		"message); empty when there was none." },
	[N_SCRATCH] = { .id = N_SCRATCH, .doc_name = "<scratch>",
	    .parent = N_APP, .kind = NK_SCRATCH, .mode = F_RW,
	    .flags = NF_LOCAL,
	    .doc = "Editor and tool scratch files (.x.swp, 4913, x~, sedXXXXXX, "
		"#x#, *.tmp, *.bak, *.rejected) in app, env, labels, deployment, "
		"zk, topic and topic config directories: kept in memory, never sent; renaming one "
		"over a file writes that file.  FILE.rejected holds the text of "
		"a refused document." },
};

const struct node_type *
node_fixed_child(enum node_id parent, const char *name)
{
	int i;

	if (strcmp(name, ".error") == 0)
		return (node_table[parent].flags & NF_ERRFILE) ?
		    &node_table[N_ERROR] : NULL;
	for (i = 1; i < N_COUNT; i++)
		if (node_table[i].parent == parent && node_table[i].name &&
		    i != N_ERROR && strcmp(node_table[i].name, name) == 0)
			return &node_table[i];
	return NULL;
}

static const char *
kind_name(enum node_kind k)
{
	static const char *const names[] = {
		[NK_DIR] = "dir", [NK_FILE] = "file", [NK_VALUE] = "value",
		[NK_DOC] = "document", [NK_CTL] = "ctl", [NK_WAIT] = "wait",
		[NK_STREAM] = "stream",
		[NK_SCRATCH] = "scratch", [NK_PENDING] = "pending",
		[NK_LINK] = "link",
	};

	return names[k];
}

static void
doc_path(enum node_id id, struct buf *out)
{
	const struct node_type *t = &node_table[id];

	if (id == N_ROOT)
		return;
	doc_path(t->parent, out);
	if (out->len)
		buf_addch(out, '/');
	buf_addstr(out, t->name ? t->name : t->doc_name);
}

void
node_dump(void)
{
	struct buf path = BUF_INIT(4096);
	int i;

	for (i = 1; i < N_COUNT; i++) {
		buf_reset(&path);
		doc_path((enum node_id)i, &path);
		printf("%s\t%s\t%04o\t%s\n", buf_str(&path),
		    kind_name(node_table[i].kind), (unsigned)node_table[i].mode,
		    node_table[i].doc);
	}
	buf_free(&path);
}

const char *
ctx_arg(const struct nctx *c, enum node_id r)
{
	int i;

	for (i = c->nargs - 1; i >= 0; i--)
		if (c->args[i].row == r)
			return c->args[i].arg;
	return NULL;
}

void
ctx_dir(const struct nctx *c, char *out, size_t outsz)
{
	const char *slash = strrchr(c->path, '/');
	size_t n = slash ? (size_t)(slash - c->path) : 0;

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, c->path, n);
	out[n] = '\0';
}
