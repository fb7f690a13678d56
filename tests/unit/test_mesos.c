/*
 * test_mesos.c: what backends/mesos.c keeps, against a fake master and
 * agent served from this process on loopback: each agent's sandbox index
 * (one /slave(1)/state for every task, read again only for a task it
 * lacks, at most once a second), the browse cache (one /files/browse per
 * directory per TTL, shared by concurrent callers, bounded, corrected by
 * size probes, dropped by forget and invalidate), and the finished-task
 * index behind completed/.
 *
 * The fake answers every route on one port (master and agent alike) and
 * counts what it was asked; the tests check those counts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../backends/http.h"
#include "../../backends/mesos_int.h"
#include "../../backends/snapcache.h"
#include "unit.h"

#define FW	"fw-0000"
#define MTIME	1600000000	/* what the fake's listings say, seconds */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static int port;
static int n_state, n_browse, n_read, n_tasks;	/* guarded by fake_lock */
static int browse_delay_ms;			/* guarded by fake_lock */
static long stdout_size = 100;			/* guarded by fake_lock */
static int with_new_task;			/* guarded by fake_lock */

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
counted(int *n)
{
	int v;

	pthread_mutex_lock(&fake_lock);
	v = *n;
	pthread_mutex_unlock(&fake_lock);
	return v;
}

/* The value of query parameter name, decoded, into out. */
static void
query(const char *target, const char *name, char *out, size_t n)
{
	const char *p = strchr(target, '?');
	size_t l = strlen(name), k = 0;

	out[0] = '\0';
	while (p && *p) {
		p++;
		if (strncmp(p, name, l) == 0 && p[l] == '=') {
			for (p += l + 1; *p && *p != '&' && k + 1 < n; p++) {
				if (*p == '%' && p[1] && p[2]) {
					char hex[3] = { p[1], p[2], 0 };

					out[k++] = (char)strtol(hex, NULL, 16);
					p += 2;
				} else {
					out[k++] = *p;
				}
			}
			out[k] = '\0';
			return;
		}
		p = strchr(p, '&');
	}
}

/* The reply to target into b; its HTTP status. */
static int
answer(struct buf *b, const char *target)
{
	char path[4096], big[16];
	const char *base;
	int i, delay;

	if (strncmp(target, "/master/slaves", 14) == 0) {
		/* S0 is older than Mesos 1.5 (no version): no virtual paths. */
		buf_printf(b, "{\"slaves\":[{\"id\":\"S0\",\"pid\":"
		    "\"slave(1)@127.0.0.1:%d\",\"hostname\":\"127.0.0.1\","
		    "\"port\":%d},{\"id\":\"S1\",\"version\":\"1.11.0\","
		    "\"pid\":\"slave(1)@127.0.0.1:%d\"}],\"recovered_slaves\":[]}",
		    port, port, port);
	} else if (strncmp(target, "/slave(1)/state", 15) == 0) {
		pthread_mutex_lock(&fake_lock);
		n_state++;
		i = with_new_task;
		pthread_mutex_unlock(&fake_lock);
		buf_printf(b, "{\"id\":\"S0\",\"frameworks\":[{\"id\":\"" FW "\","
		    "\"executors\":["
		    "{\"id\":\"app.t1\",\"directory\":\"/w/t1\",\"tasks\":[{\"id\":\"app.t1\"}]},"
		    "{\"id\":\"pod-ex\",\"directory\":\"/w/pod\",\"tasks\":[{\"id\":\"pod.p2\"}]},"
		    "{\"id\":\"x.r1\",\"directory\":\"/x/executors/x/runs/1\",\"tasks\":[]},"
		    "{\"id\":\"x.r10\",\"directory\":\"/x/executors/x/runs/10\",\"tasks\":[]},"
		    "{\"id\":\"marathon-custom.x\",\"directory\":\"/w/custom\","
		    "\"tasks\":[{\"id\":\"custom.x\"}]}%s],"
		    "\"completed_executors\":[{\"id\":\"app.c3\",\"directory\":"
		    "\"/w/c3\",\"completed_tasks\":[{\"id\":\"app.c3\"}]}]},"
		    "{\"id\":\"other-fw\",\"executors\":[{\"id\":\"app.o4\","
		    "\"directory\":\"/w/o4\"}]}],\"completed_frameworks\":[]}",
		    i ? ",{\"id\":\"app.new\",\"directory\":\"/w/new\"}" : "");
	} else if (strncmp(target, "/files/browse", 13) == 0) {
		pthread_mutex_lock(&fake_lock);
		n_browse++;
		delay = browse_delay_ms;
		pthread_mutex_unlock(&fake_lock);
		if (delay)
			sleep_ms(delay);
		query(target, "path", path, sizeof(path));
		/* No executor has these ids: their virtual paths are unknown. */
		if (strstr(path, "/executors/custom.") ||
		    strstr(path, "/executors/gone."))
			return 404;
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		buf_addch(b, '[');
		if (sscanf(base, "big%15s", big) == 1) {
			/* 1000 entries with 100-byte names: some 133 KB kept. */
			for (i = 0; i < 1000; i++)
				buf_printf(b, "%s{\"mode\":\"-rw-r--r--\",\"mtime\":%d.0,"
				    "\"path\":\"%s/%0100d\",\"size\":%d}", i ? "," : "",
				    MTIME, path, i, i);
		} else {
			/* Out of order, as a broken agent might send them. */
			buf_printf(b, "{\"mode\":\"-rw-r--r--\",\"mtime\":%d.0,"
			    "\"path\":\"%s/stdout\",\"size\":%ld},", MTIME, path,
			    stdout_size);
			buf_printf(b, "{\"mode\":\"drwxr-xr-x\",\"mtime\":%d.0,"
			    "\"path\":\"%s/conf\",\"size\":4096},", MTIME, path);
			buf_printf(b, "{\"mode\":\"-rw-r--r--\",\"mtime\":%d.0,"
			    "\"path\":\"%s/stderr\",\"size\":7}", MTIME + 1, path);
		}
		buf_addch(b, ']');
	} else if (strncmp(target, "/files/read", 11) == 0) {
		pthread_mutex_lock(&fake_lock);
		n_read++;
		buf_printf(b, "{\"data\":\"\",\"offset\":%ld}", stdout_size);
		pthread_mutex_unlock(&fake_lock);
	} else if (strncmp(target, "/master/tasks", 13) == 0) {
		pthread_mutex_lock(&fake_lock);
		n_tasks++;
		pthread_mutex_unlock(&fake_lock);
		query(target, "offset", path, sizeof(path));
		if (atoi(path) == 10000) {
			/* The second page: the oldest, one of them ended. */
			buf_addstr(b, "{\"tasks\":[{\"id\":\"a_b.old\",\"state\":"
			    "\"TASK_KILLED\",\"framework_id\":\"" FW "\","
			    "\"slave_id\":\"S0\",\"statuses\":[]}]}");
			return 200;
		}
		/* Newest first, as order=desc gives them: a full first page. */
		buf_addstr(b, "{\"tasks\":[");
		for (i = 0; i < 10000 - 7; i++)
			buf_printf(b, "{\"id\":\"r.%d\",\"state\":\"TASK_RUNNING\","
			    "\"framework_id\":\"" FW "\"},", i);
		buf_addstr(b, ""
		    "{\"id\":\"a_b.y\",\"state\":\"TASK_FAILED\",\"framework_id\":\"" FW "\",\"slave_id\":\"S0\",\"statuses\":[{\"timestamp\":1700000002.5}]},"
		    "{\"id\":\"a_b.x\",\"state\":\"TASK_KILLED\",\"framework_id\":\"" FW "\",\"slave_id\":\"S0\",\"statuses\":[{\"timestamp\":1700000001.0}]},"
		    "{\"id\":\"a_b.z\",\"state\":\"TASK_RUNNING\",\"framework_id\":\"" FW "\",\"slave_id\":\"S0\",\"statuses\":[]},"
		    "{\"id\":\"a_bc.q\",\"state\":\"TASK_FINISHED\",\"framework_id\":\"" FW "\",\"slave_id\":\"S0\",\"statuses\":[]},"
		    "{\"id\":\"a_b.w\",\"state\":\"TASK_KILLED\",\"framework_id\":\"other-fw\",\"slave_id\":\"S0\",\"statuses\":[]},"
		    "{\"id\":\"a_b.x\",\"state\":\"TASK_LOST\",\"framework_id\":\"" FW "\",\"slave_id\":\"S0\",\"statuses\":[{\"timestamp\":1600000000.0}]},"
		    "{\"id\":\"a_b\",\"state\":\"TASK_KILLED\",\"framework_id\":\"" FW "\",\"slave_id\":\"S0\",\"statuses\":[]}"
		    "]}");
	} else {
		return 404;
	}
	return 200;
}

/* One connection: HTTP/1.1 GETs, kept alive. */
static void *
serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[16384], head[256], target[8192];
	size_t have = 0;
	ssize_t n;
	char *end;
	int status;

	for (;;) {
		struct buf body = BUF_INIT(64u << 20);

		while ((end = memmem(req, have, "\r\n\r\n", 4)) == NULL) {
			if (have == sizeof(req) ||
			    (n = read(fd, req + have, sizeof(req) - have)) <= 0) {
				buf_free(&body);
				close(fd);
				return NULL;
			}
			have += (size_t)n;
		}
		*end = '\0';
		if (sscanf(req, "GET %8191s", target) != 1)
			target[0] = '\0';
		status = answer(&body, target);
		if (status != 200)
			buf_reset(&body);
		snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\n\r\n",
		    status == 200 ? "200 OK" : "404 Not Found", body.len);
		if (write(fd, head, strlen(head)) < 0 ||
		    (body.len && write(fd, body.data, body.len) < 0)) {
			buf_free(&body);
			close(fd);
			return NULL;
		}
		buf_free(&body);
		have -= (size_t)(end + 4 - req);
		memmove(req, end + 4, have);
	}
}

static void *
acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_t t;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return NULL;
}

static void
fake_start(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	pthread_t t;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("fake agent");
		exit(1);
	}
	port = ntohs(sa.sin_port);
	pthread_create(&t, NULL, acceptor, (void *)(intptr_t)fd);
	pthread_detach(t);
}

static struct mesos *
new_mesos(int ttl_ms)
{
	struct mesos_opts o = { 0 };
	struct buf msg = BUF_INIT(4096);
	char url[64];
	struct mesos *m;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	o.master = url;
	o.timeout_ms = 5000;
	o.ttl_ms = ttl_ms;
	if ((m = mesos_new(&o, &msg)) == NULL || mesos_start(m) != 0) {
		printf("Bail out! mesos_new: %s\n", buf_str(&msg));
		exit(1);
	}
	buf_free(&msg);
	return m;
}

static int
resolve_on(struct mesos *m, const char *agent, const char *fw,
    const char *task, int may_block, struct mesos_sandbox *sb)
{
	struct buf msg = BUF_INIT(4096);
	int rc;

	rc = mesos_sandbox(m, fw, agent, task, may_block, now_ms() + 5000, sb,
	    &msg);
	buf_free(&msg);
	return rc;
}

static int
resolve(struct mesos *m, const char *fw, const char *task, int may_block,
    struct mesos_sandbox *sb)
{
	return resolve_on(m, "S0", fw, task, may_block, sb);
}

static void
index_tests(void)
{
	struct mesos *m = new_mesos(60000);
	struct mesos_sandbox sb;
	int s0, rc;

	rc = resolve(m, FW, "app.t1", 0, &sb);
	CHECK(rc == -E_WOULDBLOCK, "a first resolution may not run on a FUSE thread");
	CHECK(resolve(m, FW, "app.t1", 1, &sb) == 0 &&
	    strcmp(sb.dir, "/w/t1") == 0, "a task found by its executor id");
	s0 = counted(&n_state);
	CHECK(resolve(m, FW, "pod.p2", 0, &sb) == 0 &&
	    strcmp(sb.dir, "/w/pod") == 0,
	    "a task in an executor's tasks, from the index, without blocking");
	CHECK(resolve(m, FW, "app.c3", 0, &sb) == 0 &&
	    strcmp(sb.dir, "/w/c3") == 0, "a completed executor's task");
	CHECK(strcmp(sb.agent_url, "http://127.0.0.1:") > 0 &&
	    strncmp(sb.agent_url, "http://127.0.0.1:", 17) == 0,
	    "the agent's address from the master's pid");
	CHECK(resolve(m, FW, "app.o4", 1, &sb) == -ENOENT,
	    "another framework's executor is not this framework's");
	CHECK(resolve(m, "", "app.o4", 1, &sb) == 0 &&
	    strcmp(sb.dir, "/w/o4") == 0, "without a framework id, any");
	CHECK(counted(&n_state) == s0, "one agent state answers every task");

	pthread_mutex_lock(&fake_lock);
	with_new_task = 1;
	pthread_mutex_unlock(&fake_lock);
	CHECK(resolve(m, FW, "app.new", 1, &sb) == -ENOENT &&
	    counted(&n_state) == s0,
	    "a task missing from an index younger than a second: ENOENT, no request");
	sleep_ms(1100);
	CHECK(resolve(m, FW, "app.new", 0, &sb) == -E_WOULDBLOCK,
	    "missing from an older index: the re-read blocks");
	CHECK(resolve(m, FW, "app.new", 1, &sb) == 0 &&
	    strcmp(sb.dir, "/w/new") == 0 && counted(&n_state) == s0 + 1,
	    "and finds it with one more state request");
	CHECK(resolve(m, FW, "app.gone", 1, &sb) == -ENOENT &&
	    counted(&n_state) == s0 + 1,
	    "another miss right after: no request");
	mesos_free(m);
}

struct lister {
	struct mesos	*m;
	struct mesos_sandbox *sb;
	int		 rc;
	size_t		 n;
};

static void *
list_thread(void *arg)
{
	struct lister *l = arg;
	const struct mesos_dir *d;
	struct buf msg = BUF_INIT(4096);

	l->rc = mesos_list(l->m, l->sb, "", 1, now_ms() + 5000, NULL, &d, &msg);
	if (l->rc == 0) {
		l->n = d->n;
		mesos_dir_put(l->m, d);
	}
	buf_free(&msg);
	return NULL;
}

/* The "listings:" line of the status: kept, KiB, evicted. */
static void
listings(struct mesos *m, size_t *kept, size_t *kib, size_t *evicted)
{
	struct buf out = BUF_INIT(1 << 20);
	const char *p;
	unsigned long long h, b, s, e = 0;
	size_t k = 0, kb = 0, max;

	mesos_status(m, &out);
	if ((p = strstr(buf_str(&out), "listings: ")) != NULL)
		sscanf(p, "listings: %zu kept, %zu of %zu KiB; %llu answered from "
		    "them, %llu browses (%*u read ahead), %llu shared, %llu "
		    "evicted", &k, &kb, &max, &h, &b, &s, &e);
	*kept = k;
	*kib = kb;
	*evicted = (size_t)e;
	buf_free(&out);
}

static void
browse_tests(void)
{
	struct mesos *m = new_mesos(400);
	struct buf msg = BUF_INIT(4096);
	struct mesos_sandbox sb, sb1, sb10, big;
	const struct mesos_dir *d;
	const struct mesos_entry *e;
	struct mesos_entry st;
	struct lister l[8];
	pthread_t th[8];
	int b0, i, ok, rc;
	size_t kept, kib, evicted;
	off_t size;
	int64_t mtime, t0;
	char name[64];

	resolve(m, FW, "app.t1", 1, &sb);
	b0 = counted(&n_browse);
	rc = mesos_list(m, &sb, "", 0, now_ms() + 5000, NULL, &d, &msg);
	CHECK(rc == -E_WOULDBLOCK && counted(&n_browse) == b0,
	    "a listing not kept: a FUSE thread is told to block, nothing is sent");
	rc = mesos_list(m, &sb, "", 1, now_ms() + 5000, NULL, &d, &msg);
	CHECK(rc == 0 && d->n == 3 && counted(&n_browse) == b0 + 1,
	    "one browse lists the sandbox");
	CHECK(rc == 0 && strcmp(d->e[0].name, "conf") == 0 && d->e[0].is_dir &&
	    strcmp(d->e[2].name, "stdout") == 0 && d->e[2].size == 100 &&
	    d->e[1].mtime_ms == (int64_t)(MTIME + 1) * 1000,
	    "entries sorted by name, with the agent's sizes and mtimes");
	e = rc == 0 ? mesos_dir_find(d, "stderr") : NULL;
	CHECK(e && e->size == 7 && mesos_dir_find(d, "nope") == NULL,
	    "a name is found in the listing, or not");
	if (rc == 0)
		mesos_dir_put(m, d);
	rc = mesos_stat(m, &sb, "stdout", 0, now_ms() + 5000, NULL, &st, &msg);
	CHECK(rc == 0 && st.size == 100 && st.mtime_ms == (int64_t)MTIME * 1000 &&
	    counted(&n_browse) == b0 + 1,
	    "a file's stat comes from the kept listing, on a FUSE thread");
	CHECK(mesos_stat(m, &sb, "nope", 0, 0, NULL, &st, &msg) == -ENOENT,
	    "a name not in the listing is ENOENT");
	rc = mesos_stat(m, &sb, "conf/stdout", 1, now_ms() + 5000, NULL, &st, &msg);
	CHECK(rc == 0 && counted(&n_browse) == b0 + 2,
	    "a subdirectory is one more browse");
	sleep_ms(450);
	rc = mesos_stat(m, &sb, "stdout", 0, now_ms() + 5000, NULL, &st, &msg);
	CHECK(rc == -E_WOULDBLOCK, "after the TTL the listing is not used");

	/* Single flight. */
	pthread_mutex_lock(&fake_lock);
	browse_delay_ms = 300;
	pthread_mutex_unlock(&fake_lock);
	b0 = counted(&n_browse);
	for (i = 0; i < 8; i++) {
		l[i].m = m;
		l[i].sb = &sb;
		pthread_create(&th[i], NULL, list_thread, &l[i]);
	}
	for (ok = 1, i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok &= l[i].rc == 0 && l[i].n == 3;
	}
	CHECK(ok, "eight concurrent callers all get the listing");
	CHECK(counted(&n_browse) == b0 + 1, "from one browse");
	pthread_mutex_lock(&fake_lock);
	browse_delay_ms = 0;
	pthread_mutex_unlock(&fake_lock);

	/* Probes correct the kept listing. */
	b0 = counted(&n_browse);
	rc = mesos_probe(m, &sb, "stdout", now_ms() + 5000, NULL, &size, &mtime,
	    &msg);
	CHECK(rc == 0 && size == 100 && mtime == (int64_t)MTIME * 1000,
	    "a probe that finds the listed size keeps the listed mtime");
	pthread_mutex_lock(&fake_lock);
	stdout_size = 150;
	pthread_mutex_unlock(&fake_lock);
	t0 = wall_ms();
	rc = mesos_probe(m, &sb, "stdout", now_ms() + 5000, NULL, &size, &mtime,
	    &msg);
	CHECK(rc == 0 && size == 150 && mtime >= t0 - 1000 &&
	    mtime <= wall_ms(), "a grown file: the probe's size, now as its mtime");
	rc = mesos_stat(m, &sb, "stdout", 0, 0, NULL, &st, &msg);
	CHECK(rc == 0 && st.size == 150 && st.mtime_ms == mtime &&
	    counted(&n_browse) == b0,
	    "and a stat by path sees the corrected listing without a browse");
	rc = mesos_stat(m, &sb, "stderr", 0, 0, NULL, &st, &msg);
	CHECK(rc == 0 && st.size == 7, "the other entries are kept as they were");
	pthread_mutex_lock(&fake_lock);
	stdout_size = 100;
	pthread_mutex_unlock(&fake_lock);

	/* Forget drops one sandbox, not one whose path extends it (both
	 * under one "/executors/": their keys share a kept prefix). */
	resolve(m, FW, "x.r1", 1, &sb1);
	resolve(m, FW, "x.r10", 1, &sb10);
	mesos_stat(m, &sb1, "stdout", 1, now_ms() + 5000, NULL, &st, &msg);
	mesos_stat(m, &sb1, "conf/x", 1, now_ms() + 5000, NULL, &st, &msg);
	mesos_stat(m, &sb10, "stdout", 1, now_ms() + 5000, NULL, &st, &msg);
	mesos_forget(m, &sb1);
	CHECK(mesos_stat(m, &sb1, "stdout", 0, 0, NULL, &st, &msg) ==
	    -E_WOULDBLOCK && mesos_list(m, &sb1, "conf", 0, 0, NULL, &d, &msg) ==
	    -E_WOULDBLOCK, "a forgotten sandbox's listings are gone");
	CHECK(mesos_stat(m, &sb10, "stdout", 0, 0, NULL, &st, &msg) == 0,
	    "another sandbox's are kept");
	mesos_invalidate(m);
	CHECK(mesos_stat(m, &sb10, "stdout", 0, 0, NULL, &st, &msg) ==
	    -E_WOULDBLOCK, "a refresh drops every listing");
	mesos_free(m);

	/* The bound: 520 listings of some 133 KB each are more than it. */
	m = new_mesos(60000);
	resolve(m, FW, "app.t1", 1, &sb);
	big = sb;
	for (ok = 1, i = 0; i < 520; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		rc = mesos_list(m, &big, name, 1, now_ms() + 5000, NULL, &d, &msg);
		ok &= rc == 0 && d->n == 1000;
		if (rc == 0)
			mesos_dir_put(m, d);
	}
	CHECK(ok, "520 big listings");
	listings(m, &kept, &kib, &evicted);
	printf("# %zu listings kept, %zu KiB, %zu evicted\n", kept, kib, evicted);
	CHECK(kib <= 65536 && evicted > 0 && kept + evicted == 520,
	    "what is kept stays under 64 MiB: the least recently used go");
	b0 = counted(&n_browse);
	CHECK(mesos_list(m, &big, "big519", 0, 0, NULL, &d, &msg) == 0,
	    "the newest listing is kept");
	mesos_dir_put(m, d);
	CHECK(mesos_list(m, &big, "big0", 0, 0, NULL, &d, &msg) == -E_WOULDBLOCK,
	    "the oldest is not");
	mesos_free(m);
	buf_free(&msg);
}

static void
virtual_tests(void)
{
	struct mesos *m = new_mesos(60000);
	struct buf msg = BUF_INIT(4096);
	struct mesos_sandbox sb, sb2;
	const struct mesos_dir *d;
	int s0, b0, rc;

	s0 = counted(&n_state);
	rc = resolve_on(m, "S1", FW, "app.t1", 1, &sb);
	CHECK(rc == 0 && sb.virt && strcmp(sb.dir,
	    "/frameworks/" FW "/executors/app.t1/runs/latest") == 0,
	    "on a Mesos 1.5+ agent a task's sandbox is its virtual path");
	CHECK(resolve_on(m, "S1", FW, "app.t2", 0, &sb2) == 0 && sb2.virt,
	    "known from the master's agent list alone, on a FUSE thread");
	b0 = counted(&n_browse);
	rc = mesos_list(m, &sb, "", 1, now_ms() + 5000, NULL, &d, &msg);
	CHECK(rc == 0 && d->n == 3 && counted(&n_browse) == b0 + 1 &&
	    counted(&n_state) == s0,
	    "and is listed with one browse, its agent's state never read");
	if (rc == 0)
		mesos_dir_put(m, d);

	rc = resolve_on(m, "S1", FW, "gone.y", 1, &sb2);
	CHECK(rc == 0 && sb2.virt, "a task the agent lost resolves all the same");
	rc = mesos_list(m, &sb2, "", 1, now_ms() + 5000, NULL, &d, &msg);
	CHECK(rc == -ENOENT && counted(&n_state) == s0 + 1,
	    "its 404 asks the agent's state once, which has no sandbox: ENOENT");
	CHECK(mesos_virtual_ok(m, &sb2), "and the agent's virtual paths still count");

	rc = resolve_on(m, "S1", FW, "custom.x", 1, &sb2);
	rc = rc ? rc : mesos_list(m, &sb2, "", 1, now_ms() + 5000, NULL, &d, &msg);
	CHECK(rc == 0 && d->n == 3,
	    "a task whose executor is named otherwise: listed at its real directory");
	if (rc == 0)
		mesos_dir_put(m, d);
	CHECK(!mesos_virtual_ok(m, &sb2), "which turns the agent's virtual paths off");
	rc = resolve_on(m, "S1", FW, "app.t1", 0, &sb);
	CHECK(rc == 0 && !sb.virt && strcmp(sb.dir, "/w/t1") == 0,
	    "its tasks now resolve from its index");
	mesos_free(m);
	buf_free(&msg);
}

struct seen {
	char	 ids[8][32];
	char	 states[8][32];
	int64_t	 times[8];
	int	 n;
};

static int
on_task(void *arg, const struct mesos_task *t)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", t->id);
		snprintf(s->states[s->n], sizeof(s->states[0]), "%s", t->state);
		s->times[s->n] = t->time_ms;
	}
	s->n++;
	return 0;
}

static void
finished_tests(void)
{
	struct mesos *m = new_mesos(60000);
	struct buf msg = BUF_INIT(4096);
	struct seen s = { 0 };
	int t0, rc;

	t0 = counted(&n_tasks);
	rc = mesos_finished(m, FW, "a_b.", 1, now_ms() + 5000, on_task, &s, &msg);
	CHECK(rc == 0 && s.n == 3, "an app's finished tasks: three");
	CHECK(counted(&n_tasks) == t0 + 2,
	    "from the master's whole list: a full page, then the rest");
	CHECK_STR(s.ids[0], "a_b.old", "in id order, the oldest page's too");
	CHECK_STR(s.ids[1], "a_b.x", "then the next");
	CHECK_STR(s.states[1], "TASK_KILLED", "an id listed twice: its newest");
	CHECK(s.times[1] == 1700000001000LL, "with its last status's time");
	CHECK_STR(s.ids[2], "a_b.y", "then the last");
	t0 = counted(&n_tasks);
	memset(&s, 0, sizeof(s));
	rc = mesos_finished(m, FW, "a_b.y", 0, 0, on_task, &s, &msg);
	CHECK(rc == 0 && s.n == 1 && counted(&n_tasks) == t0,
	    "a lookup is answered from the kept list on a FUSE thread");
	memset(&s, 0, sizeof(s));
	rc = mesos_finished(m, FW, "zzz", 0, 0, on_task, &s, &msg);
	CHECK(rc == 0 && s.n == 0, "a prefix past every id: none");
	mesos_free(m);
	buf_free(&msg);
}

int
main(void)
{
	http_global_init();
	fake_start();
	index_tests();
	virtual_tests();
	browse_tests();
	finished_tests();
	return done();
}
