/*
 * marathon_events.c: follow Marathon's /v2/events and turn events into
 * snapshot invalidations.
 *
 * Protocol facts (API-NOTES 1.3 "GET /v2/events"): the Accept header must
 * be exactly "text/event-stream" (anything else is a 405); frames are
 * "event: <type>\r\ndata: <one-line JSON>\r\n\r\n"; a bare "\r\n" heartbeat
 * comes every 10 s; there is no Last-Event-ID, so after every (re)connect
 * the whole state is re-read; slow readers are disconnected (1.8+), and
 * event order is not guaranteed.  So events are used only as "something
 * changed" signals: each one soft-invalidates the snapshots, and the refresh
 * that follows reports exactly which apps changed.
 *
 * Hostile streams: a line longer than EV_LINE_MAX drops the connection
 * instead of growing a buffer without bound, and the reconnect backs off as
 * after a failure (a server that sends only endless lines is not re-read
 * ten times a second); the line buffers are freed between streams, so the
 * memory an endless line took is given back.  A stream silent for
 * EV_IDLE_SEC (three missed heartbeats) is dropped too.  Dropping an event
 * loses nothing: every (re)connect re-reads the whole state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marathon_int.h"

/* 1.4 "heavy" plans (deployment_info with whole groups) can be MBs; one
 * over the cap costs a reconnect and a full re-read, never an event. */
#define EV_LINE_MAX	(8u << 20)
#define EV_IDLE_SEC	35
#define EV_BACKOFF_MAX	5000

struct sse {
	struct marathon	*m;
	struct buf	 line;
	char		 type[128];
	struct buf	 data;
	int		 got_any;
	int		 overflow;	/* a line or event went over EV_LINE_MAX */
};

static void
record_outcome(struct marathon *m, const char *type, const char *data, size_t len)
{
	json_t *root = json_loadb(data, len, 0, NULL);
	const char *id = json_string_value(json_object_get(root, "id"));
	const char *reason = json_string_value(json_object_get(root, "reason"));
	unsigned slot;

	if (id == NULL) {
		json_decref(root);
		return;
	}
	pthread_mutex_lock(&m->ev_lock);
	slot = m->noutcomes++ % OUTCOMES;
	snprintf(m->outcomes[slot].id, sizeof(m->outcomes[slot].id), "%s", id);
	if (strcmp(type, "deployment_success") == 0)
		snprintf(m->outcomes[slot].text, sizeof(m->outcomes[slot].text),
		    "success\n");
	else
		snprintf(m->outcomes[slot].text, sizeof(m->outcomes[slot].text),
		    "failed%s%s\n", reason ? ": " : "", reason ? reason : "");
	pthread_mutex_unlock(&m->ev_lock);
	json_decref(root);
}

void
marathon_dep_outcome(struct marathon *m, const char *id, struct buf *out)
{
	unsigned i;

	pthread_mutex_lock(&m->ev_lock);
	for (i = 0; i < OUTCOMES; i++) {
		if (strcmp(m->outcomes[i].id, id) == 0) {
			buf_addstr(out, m->outcomes[i].text);
			pthread_mutex_unlock(&m->ev_lock);
			return;
		}
	}
	pthread_mutex_unlock(&m->ev_lock);
	buf_addstr(out, "finished\n");
}

static void
dispatch(struct sse *s)
{
	struct marathon *m = s->m;
	const char *t = s->type;

	pthread_mutex_lock(&m->ev_lock);
	m->ev_count++;
	pthread_mutex_unlock(&m->ev_lock);
	if (strcmp(t, "event_stream_attached") == 0 ||
	    strcmp(t, "event_stream_detached") == 0)
		return;
	if (strcmp(t, "deployment_success") == 0 ||
	    strcmp(t, "deployment_failed") == 0)
		record_outcome(m, t, buf_str(&s->data), s->data.len);
	/* Ordering is not guaranteed and payloads vary by version: any other
	 * event may have changed apps, tasks or deployments. */
	marathon_changed(m);
}

static int
on_line(struct sse *s, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (n == 0) {
		if (s->type[0] || s->data.len)
			dispatch(s);
		s->type[0] = '\0';
		buf_reset(&s->data);
		return 0;
	}
	if (n >= 6 && strncmp(p, "event:", 6) == 0) {
		p += 6;
		n -= 6;
		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n >= sizeof(s->type))
			n = sizeof(s->type) - 1;
		memcpy(s->type, p, n);
		s->type[n] = '\0';
	} else if (n >= 5 && strncmp(p, "data:", 5) == 0) {
		p += 5;
		n -= 5;
		if (n && *p == ' ') {
			p++;
			n--;
		}
		if (s->data.len)
			buf_addch(&s->data, '\n');
		if (buf_add(&s->data, p, n) != 0) {
			s->overflow = 1;
			return -1;
		}
	}
	return 0;
}

static int
on_data(const char *p, size_t n, void *arg)
{
	struct sse *s = arg;
	const char *nl;
	size_t k;

	if (s->m->stopping)
		return 1;
	if (!s->got_any) {
		s->got_any = 1;
		pthread_mutex_lock(&s->m->ev_lock);
		s->m->ev_connected = 1;
		s->m->ev_since_wall_ms = wall_ms();
		s->m->ev_error[0] = '\0';
		pthread_mutex_unlock(&s->m->ev_lock);
		/* No replay: what happened while disconnected is unknown, the
		 * leader may have changed too. */
		marathon_changed(s->m);
		snapcache_invalidate(s->m->info, SC_HARD);
	}
	while (n) {
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) : n;
		if (buf_add(&s->line, p, k) != 0) {
			s->overflow = 1;
			return 1;	/* over EV_LINE_MAX: drop the stream */
		}
		if (nl == NULL)
			break;
		if (on_line(s, s->line.data ? s->line.data : "", s->line.len) != 0)
			return 1;
		buf_reset(&s->line);
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

static void
sleep_ms(struct marathon *m, int ms)
{
	struct timespec d = { 0, 50 * 1000000L };
	int waited;

	for (waited = 0; waited < ms && !m->stopping; waited += 50)
		nanosleep(&d, NULL);
}

static void *
events_main(void *arg)
{
	struct marathon *m = arg;
	struct http_req rq = { 0 };
	struct buf msg = BUF_INIT(4096);
	struct sse s;
	int backoff = 100, rc;
	long status;

	memset(&s, 0, sizeof(s));
	s.m = m;
	buf_init(&s.line, EV_LINE_MAX);
	buf_init(&s.data, EV_LINE_MAX);
	rq.method = "GET";
	rq.path = "/v2/events";
	rq.accept = "text/event-stream";	/* exactly: Jetty compares it whole */
	rq.cancel = &m->stopping;
	rq.idempotent = 1;
	while (!m->stopping) {
		/* Freed, not reset: an endless line's memory goes back now. */
		buf_free(&s.line);
		buf_free(&s.data);
		s.type[0] = '\0';
		s.got_any = 0;
		s.overflow = 0;
		buf_reset(&msg);
		status = 0;
		rc = http_stream(m->http, &rq, on_data, &s, EV_IDLE_SEC, &status, &msg);
		pthread_mutex_lock(&m->ev_lock);
		if (m->ev_connected)
			m->ev_reconnects++;
		m->ev_connected = 0;
		if (s.overflow)
			snprintf(m->ev_error, sizeof(m->ev_error), "GET /v2/events: "
			    "a line longer than %u MiB: stream dropped, reconnecting",
			    EV_LINE_MAX >> 20);
		else if (rc != 0)
			snprintf(m->ev_error, sizeof(m->ev_error), "%s", buf_str(&msg));
		else if (status != 200)
			snprintf(m->ev_error, sizeof(m->ev_error),
			    "GET /v2/events: HTTP %ld", status);
		else
			snprintf(m->ev_error, sizeof(m->ev_error), "stream closed");
		if (m->ev_error[0])
			snprintf(m->ev_last_drop, sizeof(m->ev_last_drop), "%s",
			    m->ev_error);
		pthread_mutex_unlock(&m->ev_lock);
		if (m->stopping)
			break;
		if (s.got_any && !s.overflow)
			backoff = 100;
		if (s.overflow) {
			/* Give the memory back before the backoff, not after. */
			buf_free(&s.line);
			buf_free(&s.data);
		}
		sleep_ms(m, backoff);
		backoff = backoff * 2 > EV_BACKOFF_MAX ? EV_BACKOFF_MAX : backoff * 2;
	}
	buf_free(&s.line);
	buf_free(&s.data);
	buf_free(&msg);
	return NULL;
}

int
mara_events_start(struct marathon *m)
{
	if (pthread_create(&m->ev_thread, NULL, events_main, m) != 0)
		return -errno;
	m->ev_started = 1;
	return 0;
}

void
mara_events_stop(struct marathon *m)
{
	m->stopping = 1;
	if (m->ev_started) {
		pthread_join(m->ev_thread, NULL);
		m->ev_started = 0;
	}
}
