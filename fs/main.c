/*
 * main.c: command line, credentials, mount, and the order things start and
 * stop in.
 *
 * Start: parse options; check the mount point (missing, not a directory,
 * stale from a killed archonfs, not empty) and say what to do; mount;
 * daemonize unless -f (before any thread exists: fork keeps only the
 * caller); then start the invalidation thread, the worker pools and the
 * backends.  Backends connect in the background: one that is unreachable
 * at mount time shows as down in .archonfs/status and comes up later.
 *
 * Stop (SIGINT, SIGTERM, SIGHUP, or fusermount3 -u): the session loop ends;
 * backends are told to abort what is in flight, pools are joined, the
 * mount is removed, and everything is freed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "fs.h"
#include "inode.h"
#include "local.h"
#include "../backends/http.h"
#include "../backends/marathon.h"

struct fs *FS;

enum {
	KEY_HELP, KEY_VERSION, KEY_RO, KEY_ALLOW_OTHER, KEY_LIST_NODES,
};

#define OPT(t, f, v) { t, offsetof(struct options, f), v }

static const struct fuse_opt spec[] = {
	OPT("--marathon=%s", marathon, 0),
	OPT("--marathon %s", marathon, 0),
	OPT("--mesos=%s", mesos, 0),
	OPT("--mesos %s", mesos, 0),
	OPT("--zk=%s", zk, 0),
	OPT("--zk %s", zk, 0),
	OPT("--kafka=%s", kafka, 0),
	OPT("--kafka %s", kafka, 0),
	OPT("credentials=%s", credentials, 0),
	OPT("force", force, 1),
	OPT("insecure", insecure, 1),
	OPT("noevents", no_events, 1),
	OPT("ttl=%lf", ttl, 0),
	OPT("timeout=%lf", timeout, 0),
	OPT("marathon_timeout=%lf", marathon_timeout, 0),
	OPT("mesos_timeout=%lf", mesos_timeout, 0),
	OPT("zk_timeout=%lf", zk_timeout, 0),
	OPT("kafka_timeout=%lf", kafka_timeout, 0),
	OPT("entry_timeout=%lf", entry_timeout, 0),
	OPT("attr_timeout=%lf", attr_timeout, 0),
	OPT("workers=%d", workers, 0),
	OPT("fuse_threads=%d", fuse_threads, 0),
	OPT("readahead=%d", readahead, 0),
	OPT("zk_datafile=%s", zk_datafile, 0),
	OPT("consumes_label=%s", consumes_label, 0),
	OPT("produces_label=%s", produces_label, 0),
	OPT("zk_consumes=%s", zk_consumes, 0),
	OPT("zk_produces=%s", zk_produces, 0),
	OPT("group_app=%s", group_app, 0),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("--list-nodes", KEY_LIST_NODES),
	FUSE_OPT_END
};

static int want_help, want_version, want_nodes;
static char *mountpoint_arg;	/* the first non-option argument */

/* A librdkafka property for every Kafka handle ("name=value"). */
static int
add_kafka_prop(struct options *o, const char *prop)
{
	char **np;

	if (strchr(prop, '=') == NULL || prop[0] == '=') {
		fprintf(stderr, "archonfs: kafka.%s: give a librdkafka property as "
		    "kafka.NAME=VALUE\n", prop);
		return -1;
	}
	if ((np = realloc(o->kafka_props, (o->nkafka_props + 1) *
	    sizeof(*np))) == NULL)
		return -1;
	o->kafka_props = np;
	if ((np[o->nkafka_props] = strdup(prop)) == NULL)
		return -1;
	o->nkafka_props++;
	return 0;
}

static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;

	(void)arg;
	(void)outargs;
	switch (key) {
	case KEY_HELP:
		want_help = 1;
		return 0;
	case KEY_VERSION:
		want_version = 1;
		return 0;
	case KEY_LIST_NODES:
		want_nodes = 1;
		return 0;
	case KEY_RO:
		o->ro = 1;
		return 1;	/* libfuse mounts read-only too */
	case KEY_ALLOW_OTHER:
		o->allow_other = 1;
		return 1;
	case FUSE_OPT_KEY_OPT:
		if (strncmp(arg, "kafka.", 6) == 0)
			return add_kafka_prop(o, arg + 6) == 0 ? 0 : -1;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		/* Checked by us before libfuse's realpath() can fail on it
		 * with less helpful words. */
		if (mountpoint_arg == NULL)
			mountpoint_arg = strdup(arg);
		return 1;
	default:
		return 1;
	}
}

static void
usage(const char *prog)
{
	/* One screen (24 lines) naming every option; archonfs(8) has the rest. */
	const char *base = strrchr(prog, '/');

	/* The name alone: a long path would break the 80 columns. */
	prog = base ? base + 1 : prog;
	printf(
"usage: %s [options] MOUNTPOINT        unmount: fusermount3 -u MOUNTPOINT\n"
"Mounts a cluster as files: apps/ deployments/ zk/ topics/ groups/ pipeline/.\n"
"  --marathon URL[,URL...]   Marathon; several URLs fail over in order\n"
"  --mesos URL               Mesos master (default: from Marathon's /v2/info)\n"
"  --zk HOST:PORT[,..][/ROOT]  ZooKeeper; ROOT becomes zk/\n"
"  --kafka HOST:PORT[,...]   Kafka bootstrap brokers\n"
"  -f, -d, -h, -V           foreground (-d: log every request); help; version\n"
"options, as -o a,b,c:\n"
"  -o ro                     refuse every write (EROFS)\n"
"  -o allow_other            let other users in (needs user_allow_other)\n"
"  -o credentials=FILE       mode 0600 file: marathon.user=, marathon.password=,\n"
"                            zk.user=, zk.password=, kafka.NAME= secrets\n"
"  -o kafka.NAME=VALUE       any librdkafka property (SASL, TLS); secrets masked\n"
"  -o timeout=S, -o ttl=S    backend call deadline; re-read interval (default 5)\n"
"  -o marathon_timeout=S, -o mesos_timeout=S, -o zk_timeout=S, -o kafka_timeout=S\n"
"  -o entry_timeout=S, -o attr_timeout=S   kernel cache times (default 1)\n"
"  -o workers=N, -o fuse_threads=N   threads per backend (8); kernel readers (1)\n"
"  -o readahead=N            reads ahead of a walk at once (2; 0: none)\n"
"  -o force, -o noevents, -o insecure   override deployment locks; ignore\n"
"                            Marathon's /v2/events; do not verify TLS\n"
"  -o zk_datafile=NAME       a directory znode's own data (default _data)\n"
"  -o consumes_label=K, -o produces_label=K   pipeline labels (archon.*)\n"
"  -o zk_consumes=T, -o zk_produces=T   /config/{app}/kafka.topics.in, .out\n"
"  -o group_app=T            an app's consumer group ({app}); see archonfs(8)\n", prog);
}

/* Credentials: a mode-0600 file of the mounting user, or the environment. */
static int
load_credentials(struct options *o)
{
	struct creds cr;
	struct stat st;
	FILE *f;
	int fd, i;

	if (o->credentials == NULL) {
		const char *u = getenv("ARCHONFS_MARATHON_USER");
		const char *p = getenv("ARCHONFS_MARATHON_PASSWORD");

		if (u && p)
			o->marathon_userpwd = creds_join(u, p);
		return 0;
	}
	if ((fd = open(o->credentials, O_RDONLY | O_NOFOLLOW)) < 0) {
		fprintf(stderr, "archonfs: credentials file %s: %s\n", o->credentials,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0 ||
	    st.st_uid != getuid()) {
		fprintf(stderr, "archonfs: credentials file %s must belong to you and "
		    "have mode 0600 (chmod 600 %s)\n", o->credentials, o->credentials);
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	creds_parse(f, &cr);
	fclose(f);
	for (i = 0; i < cr.nkafka; i++)
		if (add_kafka_prop(o, cr.kafka[i]) != 0) {
			creds_wipe(&cr);
			return -1;
		}
	o->marathon_userpwd = creds_join(cr.marathon_user, cr.marathon_password);
	o->zk_auth = creds_join(cr.zk_user, cr.zk_password);
	creds_wipe(&cr);
	return 0;
}

static void
say_stale(const char *mp)
{
	fprintf(stderr, "archonfs: %s is a stale mount (a previous archonfs "
	    "ended without unmounting); run:\n  fusermount3 -u %s\nthen mount "
	    "again\n", mp, mp);
}

static int
check_mountpoint(const char *mp)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	/* A dead mount may still stat (the kernel answers for its root);
	 * reading it fails ENOTCONN either way. */
	if (stat(mp, &st) != 0) {
		if (errno == ENOTCONN)
			say_stale(mp);
		else if (errno == ENOENT)
			fprintf(stderr, "archonfs: mount point %s does not exist; "
			    "create it with: mkdir -p %s\n", mp, mp);
		else
			fprintf(stderr, "archonfs: mount point %s: %s\n", mp,
			    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "archonfs: mount point %s is not a directory\n", mp);
		return -1;
	}
	if ((d = opendir(mp)) == NULL) {
		if (errno == ENOTCONN)
			say_stale(mp);
		else
			fprintf(stderr, "archonfs: mount point %s: %s\n", mp,
			    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			fprintf(stderr, "archonfs: mount point %s is not empty; its "
			    "files would be hidden: use an empty directory\n", mp);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co;
	struct fuse_loop_config *cfg = NULL;
	struct fs fs;
	int rc = 1, i, mounted = 0;

	memset(&fs, 0, sizeof(fs));
	memset(&co, 0, sizeof(co));
	FS = &fs;
	fs.opt.ttl = 5;
	fs.opt.timeout = 5;
	fs.opt.entry_timeout = 1;
	fs.opt.attr_timeout = 1;
	fs.opt.workers = 8;
	fs.opt.fuse_threads = 1;
	fs.opt.readahead = 2;
	if (fuse_opt_parse(&args, &fs.opt, spec, opt_proc) != 0)
		goto out;
	if (want_help || want_version || want_nodes) {
		if (want_help)
			usage(argv[0]);
		else if (want_version)
			printf("archonfs %s (libfuse %s)\n", ARCHONFS_VERSION,
			    fuse_pkgversion());
		else
			node_dump();
		rc = 0;
		goto out;
	}
	if (mountpoint_arg && check_mountpoint(mountpoint_arg) != 0)
		goto out;
	if (fuse_parse_cmdline(&args, &co) != 0)
		goto out;
	if (co.show_help || co.show_version) {
		usage(argv[0]);
		rc = 0;
		goto out;
	}
	if (co.mountpoint == NULL) {
		fprintf(stderr, "archonfs: no mount point given\n"
		    "usage: archonfs [options] MOUNTPOINT (archonfs --help)\n");
		goto out;
	}
	if (fs.opt.marathon == NULL && fs.opt.zk == NULL && fs.opt.kafka == NULL)
		fprintf(stderr, "archonfs: no backend given (--marathon URL, --zk "
		    "HOSTS, --kafka BROKERS): the tree will only hold README and "
		    ".archonfs/\n");
	if (fs.opt.zk_datafile && (strchr(fs.opt.zk_datafile, '/') ||
	    !fs.opt.zk_datafile[0] || local_scratch_name(fs.opt.zk_datafile))) {
		fprintf(stderr, "archonfs: zk_datafile must be a plain name that is "
		    "not an editor scratch name (not .x, x~, digits...)\n");
		goto out;
	}
	if (fs.opt.timeout <= 0 || fs.opt.marathon_timeout < 0 ||
	    fs.opt.mesos_timeout < 0 || fs.opt.zk_timeout < 0 ||
	    fs.opt.kafka_timeout < 0 || fs.opt.ttl < 0 || fs.opt.workers < 1 ||
	    fs.opt.workers > 256 || fs.opt.fuse_threads < 1 ||
	    fs.opt.fuse_threads > 256 || fs.opt.readahead < 0 ||
	    fs.opt.readahead > 16) {
		fprintf(stderr, "archonfs: timeout must be > 0, ttl >= 0, workers "
		    "and fuse_threads between 1 and 256, readahead between 0 and "
		    "16\n");
		goto out;
	}
	fs.opt.mountpoint = co.mountpoint;
	fs.opt.foreground = co.foreground;
	if (co.singlethread)
		fs.opt.fuse_threads = 1;	/* -s: libfuse's own switch */
	fs.opt.debug = co.debug;
	if (load_credentials(&fs.opt) != 0)
		goto out;
	/* The kernel checks permissions for everyone but root. */
	fuse_opt_add_arg(&args, "-odefault_permissions");
	fuse_opt_add_arg(&args, "-ofsname=archonfs");
	fuse_opt_add_arg(&args, "-osubtype=archonfs");
	fs.uid = getuid();
	fs.gid = getgid();
	fs.start_wall_ms = wall_ms();
	itab_init();
	local_init();
	if (http_global_init() != 0) {
		fprintf(stderr, "archonfs: cannot initialise libcurl\n");
		goto out;
	}
	fs.se = fuse_session_new(&args, &archonfs_ops, sizeof(archonfs_ops), NULL);
	if (fs.se == NULL)
		goto out;
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto out;
	if (fuse_session_mount(fs.se, co.mountpoint) != 0)
		goto out;
	mounted = 1;
	fuse_daemonize(co.foreground);
	log_init(co.foreground);
	/* Threads only after daemonizing. */
	if (inval_start(fs.se) != 0)
		goto out;
	for (i = 0; i < BK_MAX; i++)
		fs.pool[i] = pool_new(i == BK_MARATHON ? "marathon" :
		    i == BK_MESOS ? "mesos" : i == BK_ZK ? "zookeeper" :
		    i == BK_KAFKA ? "kafka" : i == BK_PIPELINE ? "pipeline" :
		    "local",
		    i == BK_NONE ? 2 : fs.opt.workers);
	fs.pool[POOL_WAIT] = pool_new("wait", 16);
	if (tree_marathon_start() != 0) {
		log_msg("cannot start the Marathon backend");
		goto out;
	}
	if (tree_mesos_start() != 0) {
		log_msg("cannot start the Mesos backend");
		goto out;
	}
	if (tree_zk_start() != 0) {
		log_msg("cannot start the ZooKeeper backend");
		goto out;
	}
	if (tree_kafka_start() != 0) {
		log_msg("cannot start the Kafka backend");
		goto out;
	}
	/* Backends come up on their own: .archonfs/status says how they are. */
	log_msg("mounted on %s%s%s%s%s; state in .archonfs/status",
	    co.mountpoint, fs.opt.marathon ? ", marathon" : "",
	    fs.zk ? ", zookeeper" : "", fs.kafka ? ", kafka" : "",
	    fs.mesos ? ", mesos" : "");
	/* One FUSE thread unless asked otherwise: no handler waits on a
	 * backend (blocking work goes to the pools), and one thread serves a
	 * request with about half the context switches of a pool of them
	 * (the kernel wakes the longest-idle reader, so every request lands
	 * on a cold thread).  docs/architecture.md, "Threads". */
	if (fs.opt.fuse_threads <= 1) {
		rc = fuse_session_loop(fs.se);
	} else {
		cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_max_threads(cfg, (unsigned)fs.opt.fuse_threads);
		fuse_loop_cfg_set_clone_fd(cfg, co.clone_fd);
		rc = fuse_session_loop_mt(fs.se, cfg);
	}
	rc = rc < 0 ? 1 : 0;
out:
	fs.stopping = 1;
	if (fs.marathon)
		marathon_shutdown(fs.marathon);
	if (fs.mesos)
		tree_mesos_shutdown();
	if (fs.zk)
		tree_zk_shutdown();
	if (fs.kafka)
		tree_kafka_shutdown();
	for (i = 0; i <= BK_MAX; i++) {
		pool_free(fs.pool[i]);
		fs.pool[i] = NULL;
	}
	ops_free_handles();
	inval_stop();
	tree_kafka_stop();
	tree_zk_stop();
	tree_mesos_stop();
	tree_marathon_stop();
	if (fs.se) {
		if (mounted)
			fuse_session_unmount(fs.se);
		fuse_remove_signal_handlers(fs.se);
		fuse_session_destroy(fs.se);
	}
	if (cfg)
		fuse_loop_cfg_destroy(cfg);
	local_fini();
	if (fs.opt.zk_auth) {
		explicit_bzero(fs.opt.zk_auth, strlen(fs.opt.zk_auth));
		free(fs.opt.zk_auth);
	}
	free(fs.opt.zk_datafile);
	free(fs.opt.consumes_label);
	free(fs.opt.produces_label);
	free(fs.opt.zk_consumes);
	free(fs.opt.zk_produces);
	free(fs.opt.group_app);
	if (fs.opt.marathon_userpwd) {
		explicit_bzero(fs.opt.marathon_userpwd, strlen(fs.opt.marathon_userpwd));
		free(fs.opt.marathon_userpwd);
	}
	free(fs.opt.marathon);
	free(fs.opt.mesos);
	free(fs.opt.zk);
	free(fs.opt.kafka);
	for (i = 0; i < (int)fs.opt.nkafka_props; i++) {
		explicit_bzero(fs.opt.kafka_props[i], strlen(fs.opt.kafka_props[i]));
		free(fs.opt.kafka_props[i]);
	}
	free(fs.opt.kafka_props);
	free(fs.opt.credentials);
	free(co.mountpoint);
	free(mountpoint_arg);
	fuse_opt_free_args(&args);
	return rc;
}
