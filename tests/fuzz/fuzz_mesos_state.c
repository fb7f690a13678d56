/*
 * fuzz_mesos_state: the Mesos master's and agents' replies, through the
 * backend's public calls with the fake HTTP layer answering (fake.h):
 *
 *	head: "FRAMEWORK-ID AGENT-ID TASK-ID"
 *	replies, in request order:
 *	  GET /master/slaves		(again if the agent is not in it)
 *	  GET /slave(1)/state		(only for an agent older than 1.5,
 *					 or after a 404 at the virtual path)
 *	  GET /files/browse		the sandbox listing
 *	  GET /files/read		a size probe of stdout
 *	  GET /files/read ...		reads of stdout until EOF (64 KiB each)
 *	  GET /master/tasks		finished tasks of the framework
 *
 * Checks besides memory safety: a resolved sandbox is an absolute
 * directory on an http(s) agent; sandbox entries and finished task ids
 * (names in completed/) are usable file names;
 * a size is not negative and a read returns at most what was asked;
 * finished tasks have the asked id prefix and a terminal state.
 *
 * Seeds: the agent and master state of ../shared/reference/mesos (the
 * DataDog fixtures, mesos-dns), browse and read replies as API-NOTES 2.4
 * shows them (tests/fuzz/seeds), tests/fuzz/corpus/mesos_state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/mesos.h"
#include "../../backends/snapcache.h"
#include "common.h"

#define INPUT_MAX	(512u << 10)
#define READ_LEN	100000

static int
on_entry(void *arg, const struct mesos_entry *e)
{
	(void)arg;
	/* A real file's name: any byte but "/" and NUL is possible. */
	CHECK(e->name[0] && strlen(e->name) <= 255 && !strchr(e->name, '/') &&
	    strcmp(e->name, ".") && strcmp(e->name, ".."),
	    "sandbox entry '%s'", e->name);
	CHECK(e->size >= 0, "entry %s of size %lld", e->name, (long long)e->size);
	CHECK((e->mode & ~0777u) == 0, "entry %s has mode %o", e->name,
	    (unsigned)e->mode);
	return 0;
}

struct fin {
	const char	*prefix;
	int		 n;
};

static int
on_finished(void *arg, const struct mesos_task *t)
{
	struct fin *f = arg;

	/* Its id becomes a name in completed/, like Marathon's task ids. */
	check_name(t->id, "finished task");
	CHECK(strncmp(t->id, f->prefix, strlen(f->prefix)) == 0,
	    "finished task %s without the prefix %s", t->id, f->prefix);
	CHECK(strcmp(t->state, "TASK_RUNNING") != 0 &&
	    strcmp(t->state, "TASK_STAGING") != 0,
	    "task %s in state %s is not finished", t->id, t->state);
	f->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct mesos_opts o = { 0 };
	struct buf msg = BUF_INIT(4096), out = BUF_INIT(1 << 16);
	struct mesos_sandbox sb;
	struct fin f;
	struct mesos *m;
	char fw[128], agent[128], task[256], *rbuf;
	off_t fsize = 0;
	ssize_t got;
	size_t hlen;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	fake_split((const char *)data, size, &hlen);
	head_word((const char *)data, hlen, 0, fw, sizeof(fw),
	    "20150403-140128-251789322-5050-6047-0000");
	head_word((const char *)data, hlen, 1, agent, sizeof(agent),
	    "20150410-134224-16777343-5050-1778-S0");
	head_word((const char *)data, hlen, 2, task, sizeof(task),
	    "hello.dc130e23-df88-11e4-b9ec-080027fc1312");
	o.master = "http://master.invalid:5050/";
	o.timeout_ms = 5000;
	o.ttl_ms = 60000;
	m = mesos_new(&o, &msg);
	CHECK(m != NULL, "mesos_new: %s", buf_str(&msg));
	if ((rbuf = malloc(READ_LEN)) == NULL)
		goto out;

	rc = mesos_sandbox(m, fw, agent, task, 1, FUZZ_DEADLINE, &sb, &msg);
	if (rc == 0) {
		CHECK(sb.dir[0] == '/', "sandbox directory '%s'", sb.dir);
		CHECK(strncmp(sb.agent_url, "http://", 7) == 0 ||
		    strncmp(sb.agent_url, "https://", 8) == 0,
		    "agent URL '%s'", sb.agent_url);
		/* The second time it is cached: no request. */
		CHECK(mesos_sandbox(m, fw, agent, task, 0, 0, &sb, &msg) == 0,
		    "the sandbox was not cached");
		buf_reset(&msg);
		mesos_browse(m, &sb, "", FUZZ_DEADLINE, NULL, on_entry, NULL, &msg);
		if (mesos_size(m, &sb, "stdout", FUZZ_DEADLINE, NULL, &fsize,
		    &msg) == 0)
			CHECK(fsize >= 0, "size %lld", (long long)fsize);
		got = mesos_read(m, &sb, "stdout", rbuf, READ_LEN, 0,
		    FUZZ_DEADLINE, NULL, &msg);
		CHECK(got <= READ_LEN, "read %zd of %d", got, READ_LEN);
		mesos_forget(m, &sb);
	} else {
		CHECK(rc < 0 && rc != -E_WOULDBLOCK, "mesos_sandbox: %d", rc);
		CHECK(msg.len > 0, "a failed resolution has no words");
	}
	/* As tree_mesos.c asks: the app's id, a task id's first part. */
	task[strcspn(task, ".")] = '\0';
	f.prefix = task;
	f.n = 0;
	mesos_finished(m, fw, f.prefix, 1, FUZZ_DEADLINE, on_finished, &f, &msg);
	mesos_status(m, &out);
out:
	free(rbuf);
	mesos_free(m);
	buf_free(&msg);
	buf_free(&out);
	return 0;
}
