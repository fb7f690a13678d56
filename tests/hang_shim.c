/*
 * hang_shim.c: an LD_PRELOAD fault injector for tests (never part of
 * archonfs).  It makes connect(2) to one loopback port block, ignoring
 * every timeout its caller set, while a flag file exists: a library call
 * that hangs, which no deadline inside archonfs can end.  t8000 uses it to
 * show that the pool watcher still answers the caller within the deadline
 * plus the grace.
 *
 *   HANG_SHIM_PORT=8080 HANG_SHIM_FLAG=/tmp/x/hang LD_PRELOAD=./hang_shim.so prog
 *
 * While the flag file exists, connect() to PORT sleeps (in 50 ms
 * steps, so removing the flag releases it), then proceeds.  Non-blocking
 * sockets too: that is the point (curl's connect timeout never fires).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);

int	connect(int fd, const struct sockaddr *sa, socklen_t len);
ssize_t	recv(int fd, void *buf, size_t n, int flags);

static int
is_target(const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	const char *port = getenv("HANG_SHIM_PORT");

	return port && sa && sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(*in) &&
	    ntohs(in->sin_port) == (unsigned short)atoi(port);
}

/* Sleep while the flag file exists. */
static void
hang(void)
{
	const char *flag = getenv("HANG_SHIM_FLAG");
	struct timespec step = { 0, 50 * 1000 * 1000 };

	while (flag && access(flag, F_OK) == 0)
		nanosleep(&step, NULL);
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static connect_fn real;

	if (real == NULL)
		real = (connect_fn)dlsym(RTLD_NEXT, "connect");
	if (is_target(sa, len))
		hang();
	return real(fd, sa, len);
}

ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	static recv_fn real;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (real == NULL)
		real = (recv_fn)dlsym(RTLD_NEXT, "recv");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    is_target((struct sockaddr *)&ss, len))
		hang();
	return real(fd, buf, n, flags);
}
