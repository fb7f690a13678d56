/*
 * tree_meta.c: the nodes that belong to the mount rather than a backend:
 * README, .archonfs/{status,config,refresh} and every directory's .error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"
#include "inode.h"
#include "local.h"
#include "tree.h"
#include "../backends/kafka.h"
#include "../backends/marathon.h"
#include "../backends/mesos.h"
#include "../backends/zk.h"

/* Writes to a backend that is down are refused at once (EIO, why in msg),
 * never queued; the pipeline writes Marathon's labels. */
int
backend_write_refused(int backend, struct buf *msg)
{
	switch (backend) {
	case BK_MARATHON:
	case BK_PIPELINE:
		return FS->marathon && marathon_write_refused(FS->marathon, msg);
	case BK_ZK:
		return FS->zk && zk_write_refused(FS->zk, msg);
	case BK_KAFKA:
		return FS->kafka && kafka_write_refused(FS->kafka, msg);
	default:
		return 0;
	}
}

int
readme_read(struct nctx *c, struct buf *out)
{
	(void)c;
	buf_addstr(out,
	    "archonfs: this directory is a cluster.  Reading a file shows state;\n"
	    "writing a number or a JSON document changes the cluster.\n\n");
	if (FS->marathon) {
		buf_addstr(out,
		    "apps/GROUP/.../APP/   one directory per Marathon app; groups nest\n"
		    "  app.json            the definition; edit and save it to deploy\n"
		    "  instances           echo 5 > instances scales\n"
		    "  status              state, running, healthy, version, deployment\n"
		    "  tasks/ID/           status and task.json of each instance\n"
		    "  versions/TS.json    earlier definitions; cp one onto app.json\n"
		    "  env/NAME labels/KEY one file per variable or label\n"
		    "  ctl                 restart | kill TASK | unset env NAME | delete\n"
		    "  .error              the last refusal here, in words\n"
		    "mkdir apps/G/NEW, then write apps/G/NEW/app.json: creates an app\n"
		    "deployments/ID/       running deployments: status, wait, ctl\n");
	}
	if (FS->zk)
		buf_addstr(out,
		    "zk/                   ZooKeeper: a znode with children is a\n"
		    "                      directory, one with data a file; edit, mkdir,\n"
		    "                      rm as anywhere (writes check the version)\n");
	if (FS->kafka)
		buf_addstr(out,
		    "topics/TOPIC/         Kafka: topic.json, partitions (echo 12 > grows),\n"
		    "                      config/KEY, offsets, messages (tail -f),\n"
		    "                      groups/ (who consumes it), ctl (delete)\n"
		    "mkdir topics/NEW, then echo 6 > topics/NEW/partitions: creates a topic\n"
		    "groups/GROUP/         consumer groups: state, members, lag, offsets\n");
	if (!FS->marathon && !FS->zk && !FS->kafka)
		buf_addstr(out, "(no backend configured: see archonfs --help)\n");
	buf_addstr(out,
	    ".archonfs/status      backends up or down, latency, cache state\n"
	    ".archonfs/config      the options in effect\n"
	    ".archonfs/refresh     write anything to drop every cache\n\n"
	    "Errors: EINVAL bad input (nothing sent), EBUSY a deployment holds\n"
	    "the app, EACCES refused, ETIMEDOUT no answer in time, EIO backend\n"
	    "failure.  man archonfs has the whole tree.\n");
	return out->err;
}

int
meta_status_read(struct nctx *c, struct buf *out)
{
	(void)c;
	buf_printf(out, "archonfs %s, mounted on %s\n", ARCHONFS_VERSION,
	    FS->opt.mountpoint ? FS->opt.mountpoint : "?");
	if (FS->marathon) {
		marathon_status(FS->marathon, out);
		pool_status(FS->pool[BK_MARATHON], out);
	}
	if (FS->mesos) {
		mesos_status(FS->mesos, out);
		pool_status(FS->pool[BK_MESOS], out);
	}
	if (FS->zk) {
		zk_status(FS->zk, out);
		pool_status(FS->pool[BK_ZK], out);
	}
	if (FS->kafka) {
		kafka_status(FS->kafka, out);
		pool_status(FS->pool[BK_KAFKA], out);
	}
	buf_addstr(out, "waits:\n");
	pool_status(FS->pool[POOL_WAIT], out);
	ops_status(out);
	return out->err;
}

/* A URL with any user:password@ masked. */
static void
masked_url(struct buf *out, const char *url)
{
	const char *at, *scheme;

	if (url == NULL) {
		buf_addstr(out, "none");
		return;
	}
	scheme = strstr(url, "://");
	at = strchr(url, '@');
	if (scheme && at && at > scheme) {
		buf_add(out, url, (size_t)(scheme + 3 - url));
		buf_addstr(out, "***@");
		buf_addstr(out, at + 1);
	} else {
		buf_addstr(out, url);
	}
}

int
meta_config_read(struct nctx *c, struct buf *out)
{
	const struct options *o = &FS->opt;
	size_t i;

	(void)c;
	buf_addstr(out, "marathon: ");
	masked_url(out, o->marathon);
	buf_addstr(out, "\nmesos: ");
	masked_url(out, o->mesos);
	buf_printf(out, "\nzk: %s\n", o->zk ? o->zk : "none");
	buf_printf(out, "zk_auth: %s\n", o->zk_auth ? "***" : "none");
	buf_printf(out, "zk_datafile: %s\n", o->zk_datafile ? o->zk_datafile :
	    "_data");
	buf_printf(out, "consumes_label: %s\n", pipeline_opt("consumes_label"));
	buf_printf(out, "produces_label: %s\n", pipeline_opt("produces_label"));
	buf_printf(out, "zk_consumes: %s\n", pipeline_opt("zk_consumes"));
	buf_printf(out, "zk_produces: %s\n", pipeline_opt("zk_produces"));
	buf_printf(out, "group_app: %s\n", pipeline_opt("group_app"));
	buf_printf(out, "kafka: %s\n", o->kafka ? o->kafka : "none");
	for (i = 0; i < o->nkafka_props; i++) {
		const char *eq = strchr(o->kafka_props[i], '=');
		char name[256];

		/* Whether it is secret goes by the name, never the value. */
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq -
		    o->kafka_props[i]) : 0, o->kafka_props[i]);
		buf_printf(out, "kafka.%s: %s\n", name, kafka_secret_property(name) ||
		    eq == NULL ? "***" : eq + 1);
	}
	buf_printf(out, "credentials: %s\n", o->credentials ? o->credentials : "none");
	buf_printf(out, "marathon_auth: %s\n", o->marathon_userpwd ? "***" : "none");
	buf_printf(out, "ro: %s\n", o->ro ? "yes" : "no");
	buf_printf(out, "force: %s\n", o->force ? "yes" : "no");
	buf_printf(out, "insecure: %s\n", o->insecure ? "yes" : "no");
	buf_printf(out, "events: %s\n", o->no_events ? "no" : "yes");
	buf_printf(out, "ttl: %g\n", o->ttl);
	buf_printf(out, "timeout: %g\n", o->timeout);
	buf_printf(out, "marathon_timeout: %g\nmesos_timeout: %g\nzk_timeout: %g\n"
	    "kafka_timeout: %g\n", backend_timeout_ms(BK_MARATHON) / 1000.0,
	    backend_timeout_ms(BK_MESOS) / 1000.0, backend_timeout_ms(BK_ZK) / 1000.0,
	    backend_timeout_ms(BK_KAFKA) / 1000.0);
	buf_printf(out, "entry_timeout: %g\n", o->entry_timeout);
	buf_printf(out, "attr_timeout: %g\n", o->attr_timeout);
	buf_printf(out, "workers: %d\n", o->workers);
	buf_printf(out, "fuse_threads: %d\n", o->fuse_threads);
	buf_printf(out, "readahead: %d\n", o->readahead);
	buf_printf(out, "allow_other: %s\n", o->allow_other ? "yes" : "no");
	buf_printf(out, "mountpoint: %s\n", o->mountpoint ? o->mountpoint : "?");
	return out->err;
}

int
meta_refresh_read(struct nctx *c, struct buf *out)
{
	(void)c;
	return buf_addstr(out, "write anything here to drop every cache\n");
}

int
meta_refresh_write(struct nctx *c, const char *p, size_t n)
{
	(void)p;
	(void)n;
	if (FS->marathon)
		marathon_invalidate(FS->marathon);
	if (FS->kafka)
		kafka_invalidate(FS->kafka);
	if (FS->mesos)
		mesos_invalidate(FS->mesos);
	__atomic_add_fetch(&FS->refreshes, 1, __ATOMIC_RELAXED);
	inval_under("");
	buf_addstr(&c->op->audit, "refresh: every cache dropped");
	return 0;
}

int
error_read(struct nctx *c, struct buf *out)
{
	char dir[4096];
	int64_t when;
	int rc;

	ctx_dir(c, dir, sizeof(dir));
	rc = local_get_error(dir, out, &when);
	if (when)
		c->mtime_ms = when;
	return rc;
}

int
empty_read(struct nctx *c, struct buf *out)
{
	(void)c;
	(void)out;
	return 0;
}
