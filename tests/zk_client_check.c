/*
 * tests/zk_client_check.c: a tiny client of the test ZooKeeper server built
 * on the C library archonfs uses (Debian's libzookeeper-mt-dev), for what
 * zkCli cannot do: binary data, and watching one session live.
 *
 *   cc -DTHREADED -I/usr/include/zookeeper -o zk_client_check \
 *      tests/zk_client_check.c -lzookeeper_mt
 *
 *   zk_client_check HOST:PORT put PATH         create PATH (or set it, if it
 *                                              exists) to the bytes of stdin
 *   zk_client_check HOST:PORT get PATH         write PATH's bytes to stdout
 *   zk_client_check HOST:PORT hold PATH SECS   create the ephemeral PATH,
 *       print "session 0x<id> timeout <ms>" once connected, then one line
 *       "state CONNECTING|CONNECTED|EXPIRED|..." per session event; exit 0
 *       when the session expires, 1 after SECS without expiry.
 *
 * Exit status 1 and "zk_client_check: <what>: <zerror>" on stderr on any
 * error; 3 when no connection is made within 10 s.  The sync API needs
 * THREADED defined.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper.h>

#define MAX_DATA (1024 * 1024)

static volatile int last_state;
static volatile int expired;
static int holding;

static const char *state_name(int s)
{
	if (s == ZOO_CONNECTED_STATE)
		return "CONNECTED";
	if (s == ZOO_CONNECTING_STATE)
		return "CONNECTING";
	if (s == ZOO_EXPIRED_SESSION_STATE)
		return "EXPIRED";
	if (s == ZOO_AUTH_FAILED_STATE)
		return "AUTH_FAILED";
	if (s == ZOO_ASSOCIATING_STATE)
		return "ASSOCIATING";
	return "OTHER";
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)zh;
	(void)path;
	(void)ctx;
	if (type != ZOO_SESSION_EVENT)
		return;
	last_state = state;
	if (state == ZOO_EXPIRED_SESSION_STATE)
		expired = 1;
	if (holding) {
		printf("state %s\n", state_name(state));
		fflush(stdout);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static zhandle_t *connect_zk(const char *hosts, int timeout_ms)
{
	zhandle_t *zh = zookeeper_init(hosts, watcher, timeout_ms, NULL, NULL, 0);
	int i;

	if (!zh) {
		fprintf(stderr, "zk_client_check: zookeeper_init: %s\n", strerror(errno));
		exit(1);
	}
	for (i = 0; i < 200 && last_state != ZOO_CONNECTED_STATE; i++)
		sleep_ms(50);
	if (last_state != ZOO_CONNECTED_STATE) {
		fprintf(stderr, "zk_client_check: no connection to %s within 10 s\n", hosts);
		zookeeper_close(zh);
		exit(3);
	}
	return zh;
}

static void fail(zhandle_t *zh, const char *what, int rc)
{
	fprintf(stderr, "zk_client_check: %s: %s\n", what, zerror(rc));
	zookeeper_close(zh);
	exit(1);
}

int main(int argc, char **argv)
{
	zhandle_t *zh;
	static char buf[MAX_DATA + 1];
	int rc, len;

	if (argc < 4) {
		fprintf(stderr, "usage: zk_client_check HOST:PORT put|get|hold PATH [SECS]\n");
		return 2;
	}
	zoo_set_debug_level(getenv("ZK_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : ZOO_LOG_LEVEL_ERROR);

	if (strcmp(argv[2], "put") == 0) {
		size_t n = fread(buf, 1, sizeof(buf), stdin);
		if (n > MAX_DATA) {
			fprintf(stderr, "zk_client_check: more than %d bytes on stdin\n", MAX_DATA);
			return 1;
		}
		zh = connect_zk(argv[1], 10000);
		rc = zoo_create(zh, argv[3], buf, (int)n, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
		if (rc == ZNODEEXISTS)
			rc = zoo_set(zh, argv[3], buf, (int)n, -1);
		if (rc != ZOK)
			fail(zh, argv[3], rc);
	} else if (strcmp(argv[2], "get") == 0) {
		zh = connect_zk(argv[1], 10000);
		len = (int)sizeof(buf);
		rc = zoo_get(zh, argv[3], 0, buf, &len, NULL);
		if (rc != ZOK)
			fail(zh, argv[3], rc);
		if (len > 0 && fwrite(buf, 1, (size_t)len, stdout) != (size_t)len) {
			fprintf(stderr, "zk_client_check: write: %s\n", strerror(errno));
			return 1;
		}
	} else if (strcmp(argv[2], "hold") == 0 && argc == 5) {
		const clientid_t *id;
		long deadline_ms = atol(argv[4]) * 1000L, waited = 0;

		zh = connect_zk(argv[1], 4000);
		rc = zoo_create(zh, argv[3], "held", 4, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
				NULL, 0);
		if (rc != ZOK)
			fail(zh, argv[3], rc);
		id = zoo_client_id(zh);
		printf("session 0x%llx timeout %d\n", (unsigned long long)id->client_id,
		       zoo_recv_timeout(zh));
		fflush(stdout);
		holding = 1;
		while (!expired && waited < deadline_ms) {
			sleep_ms(50);
			waited += 50;
		}
		zookeeper_close(zh);
		return expired ? 0 : 1;
	} else {
		fprintf(stderr, "zk_client_check: unknown command %s\n", argv[2]);
		return 2;
	}
	zookeeper_close(zh);
	return 0;
}
