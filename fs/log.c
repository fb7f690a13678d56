/*
 * log.c: diagnostics and the change log.
 *
 * In the foreground (-f) lines go to stderr; daemonized, to syslog
 * (facility daemon).  Every change the mount makes to the cluster is one
 * "change" line: who (uid, pid, command name), the path, what was sent and
 * the result (DESIGN.md section 6).  Nothing here ever prints credentials:
 * callers pass request lines and bodies, never headers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "fs.h"

static int to_stderr = 1;

void
log_init(int foreground)
{
	to_stderr = foreground;
	if (!foreground)
		openlog("archonfs", LOG_PID, LOG_DAEMON);
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char line[8192];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (to_stderr) {
		char when[32];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "archonfs %s %s\n", when, line);
	} else {
		syslog(prio, "%s", line);
	}
}

void
log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

static void
comm_of(pid_t pid, char *out, size_t n)
{
	char path[64];
	FILE *f;

	snprintf(out, n, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static void
emit(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
log_change(const struct op *op, const char *path, const char *sent,
    int result, const char *words)
{
	char comm[64];

	comm_of(op->pid, comm, sizeof(comm));
	emit(result ? LOG_WARNING : LOG_NOTICE,
	    "change uid=%u pid=%d comm=%s path=/%s sent=[%s] result=%s%s%s",
	    (unsigned)op->uid, (int)op->pid, comm, path,
	    sent && *sent ? sent : "nothing", result ? strerror(result) : "ok",
	    words && *words ? ": " : "", words ? words : "");
}
