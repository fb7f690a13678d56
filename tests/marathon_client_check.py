#!/usr/bin/python3
"""marathon_client_check.py URL: drive the Marathon emulator with Debian's
python3-marathon client (a client nobody here wrote) and check that every call
it makes succeeds and parses.

Prints one line per check ("ok - what" / "FAIL - what: why") and exits 0 only
if every check passed.  Use a fresh emulator (or at least no app under
/fidelity) started with short deployments (--deploy-seconds <= 1).

Known incompatibilities of python3-marathon 0.13 with *real* Marathon 1.9+,
which the emulator reproduces faithfully and this check therefore avoids:
  * MarathonGroup has no `enforceRole` argument, so get_group()/list_groups()
    raise TypeError on any 1.9+ group body;
  * light deployment plans (1.8+) make MarathonDeploymentPlan fail, so
    deployment_info / deployment_step_* events cannot be decoded into objects:
    the event stream is read with event_types limited to types whose payload
    the client can decode (the server-side event_type filter is exercised by
    that, too).
"""

import logging
import re
import sys
import threading
import time

from marathon import MarathonClient
from marathon.exceptions import ConflictError, MarathonHttpError, NotFoundError
from marathon.models import MarathonApp, MarathonDeployment, MarathonTask

APP = "/fidelity/sleeper"
NEW_TASK_ID = re.compile(r"^fidelity_sleeper\.instance-[0-9a-f-]{36}\._app\.(\d+)$")

failures = []
passed = [0]


def check(what, cond, why=""):
    if cond:
        passed[0] += 1
        print("ok - %s" % what)
    else:
        failures.append(what)
        print("FAIL - %s%s" % (what, (": " + why) if why else ""))
    sys.stdout.flush()
    return cond


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def main():
    if len(sys.argv) != 2:
        print("usage: marathon_client_check.py URL", file=sys.stderr)
        return 2
    logging.getLogger("marathon").setLevel(logging.CRITICAL)  # expected 404/409 are not errors here
    url = sys.argv[1].rstrip("/")
    port = int(url.rsplit(":", 1)[1])
    c = MarathonClient(url, timeout=10)

    # -- event stream, in the background for the whole run
    events = []
    ev_lock = threading.Lock()
    ev_error = []

    def consume():
        try:
            for ev in c.event_stream(event_types=["event_stream_attached", "deployment_success",
                                                  "status_update_event", "api_post_event",
                                                  "app_terminated_event"]):
                with ev_lock:
                    events.append(ev)
        except Exception as e:  # the stream is endless; any exit is an error
            ev_error.append(repr(e))
    threading.Thread(target=consume, daemon=True).start()

    def seen(pred):
        with ev_lock:
            return [e for e in events if pred(e)]

    # requests' iter_lines() reads in 512-byte chunks: an event is only handed
    # to us once more bytes follow it.  pump() makes such bytes (an
    # api_post_event of ~1 KB from a throw-away app with 0 instances).
    pumps = [0]

    def pump():
        pumps[0] += 1
        c.create_app("/fidelity-pump/p%d" % pumps[0], MarathonApp(cmd="true", instances=0))

    def seen_pumped(pred, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if seen(pred):
                return True
            pump()
            time.sleep(0.2)
        return bool(seen(pred))

    # wait until the stream is attached server-side before changing anything
    wait_for(lambda: b'"subscribers":1' in c.session.get(url + "/_emu/state").content, 5)

    # -- info / leader / ping
    info = c.get_info()
    check("get_info: name marathon, version 1.10.26", info.name == "marathon" and info.version == "1.10.26",
          "%s %s" % (info.name, info.version))
    check("get_info: elected, leader 127.0.0.1:PORT",
          info.elected is True and info.leader == "127.0.0.1:%d" % port, repr(info.leader))
    check("get_info: marathon_config.master and mesos_leader_ui_url present",
          bool(info.marathon_config.master) and bool(info.marathon_config.mesos_leader_ui_url))
    check("get_info: zookeeper_config.zk_max_versions is 50",
          info.zookeeper_config.zk_max_versions == 50)
    leader = c.get_leader()
    check("get_leader: {'leader': '127.0.0.1:PORT'}", leader == {"leader": "127.0.0.1:%d" % port}, repr(leader))
    check("ping answers pong (JSON \"pong\" since the client sends Accept: application/json)",
          c.ping().strip() == b'"pong"', repr(c.ping()))

    # -- list / create / get
    before = c.list_apps()
    check("list_apps parses into MarathonApp objects",
          isinstance(before, list) and all(isinstance(a, MarathonApp) for a in before))
    check("no app %s yet" % APP, APP not in [a.id for a in before])

    created = c.create_app(APP, MarathonApp(cmd="sleep 1000", cpus=0.1, mem=32, instances=1,
                                            labels={"owner": "fidelity"}))
    check("create_app returns the created MarathonApp", isinstance(created, MarathonApp) and created.id == APP,
          repr(created))
    check("create_app: defaults filled (disk 0, backoffFactor 1.15, maxLaunchDelaySeconds 300)",
          created.disk == 0 and created.backoff_factor == 1.15 and created.max_launch_delay_seconds == 300)
    check("create_app: counts zero and one deployment",
          created.tasks_running == 0 and created.tasks_staged == 0 and len(created.deployments) == 1)
    dep_id = created.deployments[0].id if created.deployments else None

    deps = c.list_deployments()
    check("list_deployments while the create runs shows it",
          any(isinstance(d, MarathonDeployment) and d.id == dep_id for d in deps),
          repr([d.id for d in deps]))
    mine = [d for d in deps if d.id == dep_id]
    if mine:
        d = mine[0]
        check("deployment shape: affected_apps, 1-based current_step, total_steps 2",
              d.affected_apps == [APP] and d.current_step >= 1 and d.total_steps == 2,
              "%r %r %r" % (d.affected_apps, d.current_step, d.total_steps))
        check("deployment steps are StartApplication then ScaleApplication",
              [s.actions[0].action for s in d.steps] == ["StartApplication", "ScaleApplication"])

    check("deployment disappears when done", wait_for(lambda: not c.list_deployments(), 10))
    app = c.get_app(APP)
    check("get_app: one running task after the deployment",
          app.tasks_running == 1 and len(app.tasks) == 1 and app.tasks[0].state == "TASK_RUNNING",
          "running=%r tasks=%r" % (app.tasks_running, [t.state for t in app.tasks]))
    check("get_app: labels kept", app.labels == {"owner": "fidelity"})

    # -- scale
    res = c.scale_app(APP, instances=3)
    check("scale_app returns version and deploymentId",
          isinstance(res, dict) and set(res) == {"version", "deploymentId"}, repr(res))
    check("scale deployment listed", any(d.id == res.get("deploymentId") for d in c.list_deployments()))
    check("scale deployment finishes", wait_for(lambda: not c.list_deployments(), 10))
    tasks = c.list_tasks(APP)
    check("list_tasks(app): 3 tasks, all TASK_RUNNING",
          len(tasks) == 3 and all(isinstance(t, MarathonTask) and t.state == "TASK_RUNNING" for t in tasks),
          repr([(t.id, t.state) for t in tasks]))
    check("task ids have the 1.8+ instance/incarnation form",
          all(NEW_TASK_ID.match(t.id) for t in tasks), repr([t.id for t in tasks]))
    check("tasks carry host, slave_id, ports, started_at",
          all(t.host and t.slave_id and len(t.ports) == 1 and t.started_at is not None for t in tasks))
    all_tasks = c.list_tasks()
    check("list_tasks(): the app's tasks with service_ports",
          len([t for t in all_tasks if t.app_id == APP]) == 3 and
          all(t.service_ports for t in all_tasks if t.app_id == APP))

    # -- kill one task (no scale): replacement has the same instance, incarnation + 1
    victim = tasks[0]
    killed = c.kill_task(APP, victim.id)
    check("kill_task returns the killed MarathonTask", isinstance(killed, MarathonTask) and killed.id == victim.id,
          repr(killed))
    inst = victim.id.rsplit("._app.", 1)[0]

    def replaced():
        ts = c.list_tasks(APP)
        return [t for t in ts if t.id.startswith(inst + "._app.") and t.id != victim.id
                and t.state == "TASK_RUNNING"] and len(ts) == 3
    check("killed task replaced in place (same instance, incarnation 2, running)",
          wait_for(replaced, 5) and any(t.id == inst + "._app.2" for t in c.list_tasks(APP)),
          repr([t.id for t in c.list_tasks(APP)]))

    # -- versions
    versions = c.list_versions(APP)
    check("list_versions: two versions (create, scale), newest first",
          len(versions) == 2 and versions[0] > versions[1], repr(versions))
    if len(versions) == 2:
        first = c.get_version(APP, versions[-1])
        latest = c.get_version(APP, versions[0])
        check("get_version: the first version has 1 instance, the newest 3",
              isinstance(first, MarathonApp) and first.instances == 1 and latest.instances == 3)
        check("versionInfo: scale changed lastScalingAt only",
              latest.version_info.last_config_change_at == first.version_info.last_config_change_at and
              latest.version_info.last_scaling_at > first.version_info.last_scaling_at)

    # -- conflicting update -> 409
    upd = c.update_app(APP, MarathonApp(cmd="sleep 2000"))
    check("update_app returns a deployment", "deploymentId" in upd, repr(upd))
    try:
        c.update_app(APP, MarathonApp(cmd="sleep 3000"))
        check("second update during the deployment is refused with 409", False, "no error raised")
    except MarathonHttpError as e:
        check("second update during the deployment: MarathonHttpError with status 409",
              e.status_code == 409 and isinstance(e, ConflictError), repr(e))
        check("409 message names the locking deployment",
              e.error_message.startswith("App is locked by one or more deployments.") and
              upd.get("deploymentId", "?") in e.error_message, e.error_message)
    forced = c.update_app(APP, MarathonApp(cmd="sleep 3000"), force=True)
    check("the same update with force=True is accepted", "deploymentId" in forced, repr(forced))
    check("forced deployment finishes", wait_for(lambda: not c.list_deployments(), 10))
    app = c.get_app(APP)
    check("after the restart all 3 tasks run the new version",
          app.cmd == "sleep 3000" and len(app.tasks) == 3 and
          all(t.version == app.version and t.state == "TASK_RUNNING" for t in app.tasks),
          repr([(t.version, t.state) for t in app.tasks]) + " app " + repr(app.version))

    # -- kill with scale
    victim = app.tasks[0].id
    check("kill_given_tasks(scale=True) accepted", c.kill_given_tasks([victim], scale=True))
    check("scale-down deployment finishes", wait_for(lambda: not c.list_deployments(), 10))
    app = c.get_app(APP)
    check("kill with scale: 2 instances left, the victim gone",
          app.instances == 2 and len(app.tasks) == 2 and victim not in [t.id for t in app.tasks])

    # -- queue
    check("list_queue is empty", c.list_queue() == [])

    # -- delete
    res = c.delete_app(APP)
    check("delete_app returns version and deploymentId", set(res) == {"version", "deploymentId"}, repr(res))
    check("delete deployment finishes", wait_for(lambda: not c.list_deployments(), 10))
    try:
        c.get_app(APP)
        check("get_app after delete raises NotFoundError", False, "no error")
    except NotFoundError as e:
        check("get_app after delete: NotFoundError 404 'App '/fidelity/sleeper' does not exist'",
              e.status_code == 404 and e.error_message == "App '%s' does not exist" % APP, repr(e))
    check("list_apps no longer has the app", APP not in [a.id for a in c.list_apps()])

    # -- events seen meanwhile
    ok = seen_pumped(lambda e: e.event_type == "deployment_success" and e.id == res["deploymentId"])
    check("event stream delivered deployment_success for the delete", ok)
    with ev_lock:
        first = events[0].event_type if events else None
    check("event stream: first event is event_stream_attached", first == "event_stream_attached",
          "events: %r, errors: %r" % ([e.event_type for e in events[:5]], ev_error))
    check("event stream delivered deployment_success for the create",
          seen(lambda e: e.event_type == "deployment_success" and e.id == dep_id))
    check("event stream delivered TASK_RUNNING status updates for the app",
          seen(lambda e: e.event_type == "status_update_event" and e.app_id == APP and e.task_status == "TASK_RUNNING"))
    check("event stream delivered TASK_KILLED status updates",
          seen(lambda e: e.event_type == "status_update_event" and e.task_status == "TASK_KILLED"))
    check("event stream delivered api_post_event with the app definition",
          seen(lambda e: e.event_type == "api_post_event" and e.app_definition.get("id") == APP))
    check("event stream delivered app_terminated_event",
          seen_pumped(lambda e: e.event_type == "app_terminated_event" and e.app_id == APP))
    check("event_type filter: no unrequested types arrived",
          not seen(lambda e: e.event_type not in ("event_stream_attached", "deployment_success",
                                                  "status_update_event", "api_post_event",
                                                  "app_terminated_event")))
    check("event stream still open, no decode error", not ev_error, repr(ev_error))
    for i in range(1, pumps[0] + 1):
        c.delete_app("/fidelity-pump/p%d" % i, force=True)

    print("# client check: %d passed, %d failed" % (passed[0], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:
        import traceback
        traceback.print_exc()
        print("FAIL - client check crashed: %r" % e)
        sys.exit(1)
