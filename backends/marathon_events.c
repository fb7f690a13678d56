/*
 * marathon_events.c: follow Marathon's /v2/events and turn events into
 * snapshot invalidations.
 *
 * Protocol facts (API-NOTES 1.3 "GET /v2/events"): the Accept header must
 * be exactly "text/event-stream" (anything else is a 405); frames are
 * "event: <type>\r\ndata: <one-line JSON>\r\n\r\n"; a bare "\r\n" heartbeat
 * comes every 10 s; there is no Last-Event-ID, so after every (re)connect
 * the whole state is re-read; slow readers are disconnected (1.8+), and
 * event order is not guaranteed.  So events are used only as "this changed"
 * signals, never as data: an event that names its app (a task's status, an
 * app posted, a deployment's actions) makes the next refresh re-read just
 * those apps (GET /v2/apps/ID each), and any other event the whole
 * listing; the refresh then reports exactly which apps changed.  Events
 * that change nothing shown (the stream's own, framework messages) are
 * only counted.
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
record_outcome(struct marathon *m, const char *type, json_t *root)
{
	const char *id = json_string_value(json_object_get(root, "id"));
	const char *reason = json_string_value(json_object_get(root, "reason"));
	unsigned slot;

	if (id == NULL)
		return;
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

/* What an event may have changed (API-NOTES 1.3, "Payloads"). */
enum ev_scope { EV_NOTHING, EV_DEPS, EV_APPS, EV_ALL };

static int
in_list(const char *t, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(t, *list) == 0)
			return 1;
	return 0;
}

struct ev_ids {
	const char	*v[MARA_DIRTY_MAX];
	size_t		 n;
	int		 all;		/* more than fit, or one unusable */
	char		 group[1100];	/* a group as "GID/" */
};

static void
ev_add(struct ev_ids *ids, json_t *v)
{
	const char *id = json_string_value(v);
	size_t i;

	if (id == NULL || id[0] != '/' || strlen(id) > 1024) {
		ids->all = 1;
		return;
	}
	for (i = 0; i < ids->n; i++)
		if (strcmp(ids->v[i], id) == 0)
			return;
	if (ids->n == MARA_DIRTY_MAX)
		ids->all = 1;
	else
		ids->v[ids->n++] = id;
}

/*
 * A group changed (every change to an app changes its group too, and a
 * group update may add or remove apps that no other event names): all
 * apps under it are re-read, in one request, unless events in the same
 * batch named the apps (fetch_apps).  The root group is "/": everything.
 */
static void
ev_group(struct ev_ids *ids, json_t *v)
{
	const char *gid = json_string_value(v);
	size_t n;

	if (gid == NULL || gid[0] != '/' ||
	    (n = strlen(gid)) + 2 > sizeof(ids->group)) {
		ids->all = 1;
		return;
	}
	snprintf(ids->group, sizeof(ids->group), "%s%s", gid,
	    gid[n - 1] == '/' ? "" : "/");
	if (ids->n == MARA_DIRTY_MAX)
		ids->all = 1;
	else
		ids->v[ids->n++] = ids->group;
}

/* Every "app" of the actions of a deployment plan's steps and current step. */
static void
ev_plan_apps(struct ev_ids *ids, json_t *root)
{
	json_t *steps = json_object_get(json_object_get(root, "plan"), "steps");
	json_t *step, *act;
	size_t i, j;

	json_array_foreach(steps, i, step)
		json_array_foreach(json_object_get(step, "actions"), j, act)
			if (json_object_get(act, "app"))
				ev_add(ids, json_object_get(act, "app"));
	json_array_foreach(json_object_get(json_object_get(root, "currentStep"),
	    "actions"), j, act)
		if (json_object_get(act, "app"))
			ev_add(ids, json_object_get(act, "app"));
}

static enum ev_scope
ev_scope(const char *t, json_t *root, struct ev_ids *ids)
{
	static const char *const by_app_id[] = {
		"status_update_event", "health_status_changed_event",
		"failed_health_check_event", "unhealthy_instance_kill_event",
		"unhealthy_task_kill_event", "add_health_check_event",
		"remove_health_check_event", "app_terminated_event", NULL
	};
	static const char *const by_run_spec[] = {
		"instance_changed_event", "instance_health_changed_event",
		"unknown_instance_terminated_event", NULL
	};
	static const char *const deployment[] = {
		"deployment_info", "deployment_step_success",
		"deployment_step_failure", "deployment_success",
		"deployment_failed", NULL
	};
	static const char *const nothing[] = {
		"event_stream_attached", "event_stream_detached",
		"framework_message_event", NULL
	};
	static const char *const pods[] = {
		"pod_created_event", "pod_updated_event", "pod_deleted_event", NULL
	};

	if (in_list(t, nothing))
		return EV_NOTHING;
	if (in_list(t, pods))
		return EV_DEPS;
	if (!json_is_object(root))
		return EV_ALL;
	if (in_list(t, by_app_id))
		ev_add(ids, json_object_get(root, "appId"));
	else if (in_list(t, by_run_spec))
		ev_add(ids, json_object_get(root, "runSpecId"));
	else if (strcmp(t, "api_post_event") == 0)
		ev_add(ids, json_object_get(json_object_get(root,
		    "appDefinition"), "id"));
	else if (in_list(t, deployment))
		ev_plan_apps(ids, root);
	else if (strcmp(t, "group_change_success") == 0 ||
	    strcmp(t, "group_change_failed") == 0)
		ev_group(ids, json_object_get(root, "groupId"));
	else
		return EV_ALL;	/* a new leader, the unknown */
	if (ids->all || ids->n == 0)
		return EV_ALL;
	return EV_APPS;
}

static void
dispatch(struct sse *s)
{
	struct marathon *m = s->m;
	const char *t = s->type;
	struct ev_ids ids;
	json_t *root;

	pthread_mutex_lock(&m->ev_lock);
	m->ev_count++;
	pthread_mutex_unlock(&m->ev_lock);
	memset(&ids, 0, sizeof(ids));
	root = json_loadb(buf_str(&s->data), s->data.len, 0, NULL);
	if (strcmp(t, "deployment_success") == 0 ||
	    strcmp(t, "deployment_failed") == 0)
		record_outcome(m, t, root);
	/* Ordering is not guaranteed and payloads vary by version: an event
	 * says what to re-read, the refresh what is true. */
	switch (ev_scope(t, root, &ids)) {
	case EV_NOTHING:
		break;
	case EV_DEPS:
		marathon_deps_changed(m);
		break;
	case EV_APPS:
		marathon_changed(m, ids.v, ids.n);
		break;
	case EV_ALL:
		marathon_changed(m, NULL, 0);
		break;
	}
	json_decref(root);
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
		marathon_resync(s->m);
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
