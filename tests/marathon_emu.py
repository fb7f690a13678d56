#!/usr/bin/python3
"""marathon_emu.py: a stateful Marathon 1.10.26 (REST v2) emulator for archonfs tests.

Python 3 standard library only.  It answers like real Marathon 1.10 as written
down in shared/reference/API-NOTES.md (section 1 and the fidelity checklist in
section 4): same paths, wrappers, status codes, error bodies, headers and SSE
framing.  State lives in memory: apps in a tree of groups, tasks on a few fake
agents, versions, deployments that take --deploy-seconds, and the event stream.

Usage:
  marathon_emu.py --port 0 --port-file FILE [--host 127.0.0.1]
                  [--load GROUP_JSON]... [--synthetic-apps N] [--synthetic-tasks M]
                  [--deploy-seconds S] [--task-start-seconds S]
                  [--heartbeat-seconds S] [--legacy-task-ids]
                  [--mesos-master URL] [--mesos-leader-ui-url URL]
                  [--mesos-agents N] [--agent-hostnames H1,H2,...] [--sandbox-root DIR]
                  [--run-commands] [--log-lines-per-second R]
                  [--tls-cert PEM --tls-key PEM --tls-port-file FILE]
                  [--basic-auth USER:PASSWORD]

--tls-cert/--tls-key/--tls-port-file also serve the same emulator over HTTPS
on a second free port (written to FILE); the plain port keeps answering, so
tests reach /_emu/ as before.  --basic-auth makes every Marathon route except
/ping answer 401 {"message":"Invalid username or password."} (as a DC/OS or
auth-plugin Marathon does, API-NOTES 1.1) unless the request carries those
credentials; /_emu/ stays open and refused requests are not logged.

The same process runs the Mesos master and --mesos-agents agents (default 2)
of the cluster, each on its own loopback port (tests/mesos_emu.py): the
tasks' slaveId/host are those agents (hostnames agent-N.emu.local, or those
--agent-hostnames gives; tasks go round robin to the agents an app's hostname
constraints accept), frameworkId is the Marathon framework
in that master, and /v2/info's mesos_leader_ui_url is http://127.0.0.1:MASTERPORT/.
Sandboxes go to --sandbox-root (default: a temporary directory removed at exit).

Test-only control API (real Marathon has none of it; archonfs never calls it):
  GET    /_emu/requests      every non-/_emu request: [{"method","path","query","body","time"}]
  DELETE /_emu/requests      clear that log and the counters
  GET    /_emu/stats         {"total":N,"by_route":{"GET /v2/apps":n,...},
                             "by_client":{"<User-Agent or ->":n,...}}
  GET    /_emu/knobs         current knobs
  POST   /_emu/knobs         merge a JSON object of knobs (see KNOB_DEFAULTS)
  POST   /_emu/events/close  close every open /v2/events stream
  POST   /_emu/tasks/fail    {"taskId":ID[,"message":M]}: the task fails (TASK_FAILED,
                             lastTaskFailure recorded, replacement launched)
  POST   /_emu/tasks/health  {"taskId":ID,"alive":BOOL}: the task's health checks fail (or pass
                             again): tasksUnhealthy, healthCheckResults, health_status_changed_event
  GET    /_emu/state         small summary {"apps":N,"tasks":N,"deployments":N,"subscribers":N}
  GET    /_emu/mesos         {"master":URL,"agents":[{"id","url","hostname",...}],"framework_id","sandbox_root"}
  GET    /_emu/mesos/requests  every request the master and agents received (DELETE clears;
                             DELETE /_emu/requests clears it too)
  GET    /_emu/mesos/stats   {"total":N,"by_route":{"agent GET /files/read":n,...},"by_client":{...}}
  POST   /_emu/tasks/log     {"taskId","stream":"stdout"|"stderr","append":TEXT}: append exact text,
                             UTF-8 (a lone surrogate \\udc80-\\udcff stands for the raw byte 0x80-0xff;
                             or {"append_base64":B64} for arbitrary bytes); or {"taskId","stream",
                             "fill_bytes":N}: append N bytes of lines "fill <k>\\n" (k counts on per
                             task and stream; the last line is space-padded to stay whole).
                             Works on completed tasks too, until their sandbox is gc'd.
                             -> {"taskId","stream","written","size","path"}
  POST   /_emu/sandbox/gc    {"taskId"}: delete that task's sandbox (it stays in Mesos' lists)
Knobs for the Mesos part: log_lines_per_second (default 5; 0 stops log growth),
agents {"<agentId>": {"down":bool,"hang":bool}}, mesos_master {"down":bool,"hang":bool}.
Knobs for hostile replies (tests/hostile_replies.py lists the kinds): hostile
{"kind","path_prefix","method","count",...} breaks Marathon's replies (on
/v2/events too), files_hostile {"kind","count",...} every agent's /files/read.
"""

import argparse
import base64
import collections
import copy
import heapq
import itertools
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import hostile_replies
import mesos_emu

MARATHON_VERSION = "1.10.26"
BUILDREF = "0513cddcac83bd4082d48098d489e69686695998"

SEGMENT_PATTERN = (r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
                   r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$")
SEGMENT_RE = re.compile(SEGMENT_PATTERN)
RESERVED_SEGMENTS = ("restart", "tasks", "versions")
MSG_REGEX = "must fully match regular expression '%s'" % SEGMENT_PATTERN
MSG_RESERVED = ("must not end with any of the following reserved keywords: "
                "restart, tasks, versions, ., ..")
MSG_CMD = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
MSG_SAME_ID = "Groups and Applications may not have the same identifier."
MSG_LOCKED = ("App is locked by one or more deployments. Override with the option "
              "'?force=true'. View details at '/v2/deployments/%s'.")
EMPTY_BODY_DETAILS = ("No content to map due to end-of-input\n at [Source: "
                      "(org.eclipse.jetty.server.HttpInputOverHTTP); line: 1, column: 0]")
JETTY = "Jetty(9.4.31.v20200723)"

MAX_VERSIONS = 50

KNOB_DEFAULTS = {
    "latency_ms": 0,            # added before every non-/_emu answer
    "fail": None,               # {"status":503,"count":N,"path_prefix":"/v2/apps","method":"GET","message":"..."}
    "hang": False,              # matching non-/_emu requests block while true
    "hang_path_prefix": None,   # restricts "hang" to paths with this prefix
    "deploy_seconds": 0.5,      # duration of a deployment (new deployments)
    "task_start_seconds": 0.2,  # TASK_STAGING -> TASK_RUNNING (new tasks)
    "heartbeat_seconds": 10.0,  # SSE heartbeat period
    "sse_max_outstanding": 1024,  # events buffered per SSE client before it is closed
    "sse_sndbuf": None,         # SO_SNDBUF for new SSE sockets (to test slow consumers)
    # Mesos (tests/mesos_emu.py)
    "log_lines_per_second": 5,  # lines appended to each running task's stdout and stderr
    "agents": {},               # {"<agentId>": {"down": bool, "hang": bool}}
    "mesos_master": {"down": False, "hang": False},
    # Hostile replies (tests/hostile_replies.py has the kinds; t8300):
    "hostile": None,            # Marathon: {"kind":K,"path_prefix":P,"method":M,"count":N,...}
    "files_hostile": None,      # every agent's /files/read: {"kind":K,"count":N,...}
}

AGENT_ID_PREFIX = "b4a5b1c2-7d3e-4f60-9a1b-2c3d4e5f6a7b"
AGENTS = [{"host": "agent-%d.emu.local" % i,
           "id": "%s-S%d" % (AGENT_ID_PREFIX, i - 1),
           "ip": "10.0.0.%d" % (10 + i)} for i in range(1, 6)]

UUID_RX = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
TASK_ID_RES = [
    # 1.8+ app task: <safe>.instance-<uuid>._app.<incarnation>
    re.compile(r"^(?P<safe>.+)\.instance-(?P<uuid>" + UUID_RX + r")\._app\.(?P<inc>\d+)$"),
    # pod task: <safe>.instance-<uuid>.<container>[.<incarnation>]
    re.compile(r"^(?P<safe>.+)\.instance-(?P<uuid>" + UUID_RX + r")\.[^.]+(?:\.\d+)?$"),
    # legacy (<= 1.7): <safe>.<uuid>[.<attempt>]
    re.compile(r"^(?P<safe>.+)\.(?P<uuid>" + UUID_RX + r")(?:\.\d+)?$"),
]


def parse_task_id(tid):
    for rx in TASK_ID_RES:
        m = rx.match(tid)
        if m:
            return m
    return None


def warn(msg):
    sys.stderr.write("marathon_emu: warning: %s\n" % msg)
    sys.stderr.flush()


# --- small helpers ------------------------------------------------------------

def iso_ms(ms):
    s, r = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % r


def now_ms():
    return int(time.time() * 1000)


def parse_ts(text):
    """ISO-8601 UTC timestamp -> epoch ms, or None."""
    if not isinstance(text, str):
        return None
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)$", text)
    if not m:
        return None
    import calendar
    try:
        secs = calendar.timegm((int(m.group(1)), int(m.group(2)), int(m.group(3)),
                                int(m.group(4)), int(m.group(5)), int(m.group(6)), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    return secs * 1000 + int(frac)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def intify(v):
    """Marathon (play-json) prints doubles without trailing zeros: 1.0 -> 1."""
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        if v == v and v not in (float("inf"), float("-inf")) and v.is_integer() and abs(v) < 2 ** 53:
            return int(v)
        return v
    if isinstance(v, dict):
        return {k: intify(x) for k, x in v.items()}
    if isinstance(v, list):
        return [intify(x) for x in v]
    return v


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def canonical_path(raw, base="/"):
    if raw.startswith("/"):
        parts = raw.split("/")
    else:
        parts = base.split("/") + raw.split("/")
    out = []
    for p in parts:
        if p in ("", "."):
            continue
        if p == "..":
            if out:
                out.pop()
            continue
        out.append(p)
    return "/" + "/".join(out)


def parent_of(path):
    if path == "/" or "/" not in path.strip("/"):
        return "/"
    return path.rsplit("/", 1)[0]


def ancestors(path):
    """Proper ancestors of path, root first ("/" included)."""
    out = ["/"]
    parts = path.strip("/").split("/")
    for i in range(1, len(parts)):
        out.append("/" + "/".join(parts[:i]))
    return out


def safe_id(app_id):
    return app_id.lstrip("/").replace("/", "_")


def qbool(q, name, default):
    v = q.get(name)
    if not v:
        return default
    return v[0].strip().lower() == "true"


class ApiError(Exception):
    def __init__(self, status, body, headers=None):
        Exception.__init__(self, "%s %r" % (status, body))
        self.status = status
        self.body = body
        self.headers = headers or []


def err(status, message, **extra):
    body = {"message": message}
    body.update(extra)
    return ApiError(status, body)


def invalid_json(details):
    return ApiError(422, {"message": "Invalid JSON", "details": details})


def not_valid(details):
    return ApiError(422, {"message": "Object is not valid", "details": details})


def details_of(pairs):
    """[(path, error)...] -> Marathon details array, grouped by path in order."""
    grouped = collections.OrderedDict()
    for path, e in pairs:
        grouped.setdefault(path, []).append(e)
    return [{"path": p, "errors": es} for p, es in grouped.items()]


def parse_json_body(raw):
    if raw is None or not raw.strip():
        raise ApiError(400, {"message": "Please specify data in JSON format",
                             "details": EMPTY_BODY_DETAILS})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, {"message": "Invalid JSON",
                             "details": "Invalid UTF-8 middle byte at position %d" % e.start})

    def bad_constant(name):
        raise ValueError("Non-standard token '%s'" % name)
    try:
        return json.loads(text, parse_constant=bad_constant)
    except json.JSONDecodeError as e:
        raise ApiError(400, {"message": "Invalid JSON",
                             "details": "Unexpected character (%s)\n at [Source: "
                                        "(org.eclipse.jetty.server.HttpInputOverHTTP); "
                                        "line: %d, column: %d]" % (e.msg, e.lineno, e.colno)})
    except (ValueError, RecursionError) as e:
        raise ApiError(400, {"message": "Invalid JSON",
                             "details": "%s\n at [Source: (org.eclipse.jetty.server."
                                        "HttpInputOverHTTP); line: 1, column: 1]" % e})


# --- app definition: type checks, validation, canonical form ----------------

APP_FIELD_KINDS = {
    "id": "str", "cmd": "str", "user": "str", "executor": "str", "killSelection": "str",
    "role": "str", "version": "str",
    "args": "strlist", "acceptedResourceRoles": "strlist", "dependencies": "strlist",
    "uris": "strlist", "storeUrls": "strlist",
    "cpus": "num", "mem": "num", "disk": "num", "backoffFactor": "num",
    "instances": "int", "gpus": "int", "backoffSeconds": "int",
    "maxLaunchDelaySeconds": "int", "taskKillGracePeriodSeconds": "int",
    "requirePorts": "bool", "tty": "bool",
    "env": "env", "labels": "labels",
    "container": "obj", "upgradeStrategy": "obj", "secrets": "obj", "residency": "obj",
    "versionInfo": "obj", "ipAddress": "obj", "resourceLimits": "obj",
    "executorResources": "obj", "check": "obj",
    "unreachableStrategy": "unreach",
    "constraints": "constraints", "fetch": "objlist", "healthChecks": "objlist",
    "readinessChecks": "objlist", "portDefinitions": "objlist", "networks": "objlist",
    "ports": "intlist",
}

MIN_RULES = {"instances": 0, "cpus": 0.001, "mem": 0, "disk": 0, "gpus": 0,
             "backoffSeconds": 0, "backoffFactor": 1.0, "maxLaunchDelaySeconds": 0,
             "taskKillGracePeriodSeconds": 0}

TYPE_ERR = {"str": "error.expected.jsstring", "num": "error.expected.jsnumber",
            "int": "error.expected.jsnumber", "bool": "error.expected.jsboolean",
            "obj": "error.expected.jsobject", "arr": "error.expected.jsarray"}


def type_check_app(body, require_id, base=""):
    """Play-json style read errors as [(path, error)]."""
    errs = []
    if not isinstance(body, dict):
        return [(base or "/", TYPE_ERR["obj"])]
    if require_id and body.get("id") is None:
        errs.append((base + "/id", "error.path.missing"))
    for k, v in body.items():
        kind = APP_FIELD_KINDS.get(k)
        if kind is None or v is None:
            continue
        p = base + "/" + k
        if kind == "str":
            if not isinstance(v, str):
                errs.append((p, TYPE_ERR["str"]))
        elif kind == "num":
            if not is_num(v):
                errs.append((p, TYPE_ERR["num"]))
        elif kind == "int":
            if not is_num(v):
                errs.append((p, TYPE_ERR["num"]))
            elif isinstance(v, float) and not v.is_integer():
                errs.append((p, "error.expected.int"))
        elif kind == "bool":
            if not isinstance(v, bool):
                errs.append((p, TYPE_ERR["bool"]))
        elif kind == "obj":
            if not isinstance(v, dict):
                errs.append((p, TYPE_ERR["obj"]))
        elif kind in ("strlist", "objlist", "intlist", "constraints"):
            if not isinstance(v, list):
                errs.append((p, TYPE_ERR["arr"]))
                continue
            for i, x in enumerate(v):
                ep = "%s(%d)" % (p, i)
                if kind == "strlist" and not isinstance(x, str):
                    errs.append((ep, TYPE_ERR["str"]))
                elif kind == "objlist" and not isinstance(x, dict):
                    errs.append((ep, TYPE_ERR["obj"]))
                elif kind == "intlist" and not is_num(x):
                    errs.append((ep, TYPE_ERR["num"]))
                elif kind == "constraints":
                    if not isinstance(x, list):
                        errs.append((ep, TYPE_ERR["arr"]))
                    else:
                        for j, y in enumerate(x):
                            if not isinstance(y, str):
                                errs.append(("%s(%d)" % (ep, j), TYPE_ERR["str"]))
        elif kind == "env":
            if not isinstance(v, dict):
                errs.append((p, TYPE_ERR["obj"]))
                continue
            for ek, ev in v.items():
                if isinstance(ev, str):
                    continue
                if isinstance(ev, dict) and isinstance(ev.get("secret"), str):
                    continue
                errs.append((p + "/" + ek, TYPE_ERR["str"]))
        elif kind == "labels":
            if not isinstance(v, dict):
                errs.append((p, TYPE_ERR["obj"]))
                continue
            for lk, lv in v.items():
                if not isinstance(lv, str):
                    errs.append((p + "/" + lk, TYPE_ERR["str"]))
        elif kind == "unreach":
            if not (v == "disabled" or isinstance(v, dict)):
                errs.append((p, TYPE_ERR["obj"]))
    for k, lo in MIN_RULES.items():
        v = body.get(k)
        if is_num(v) and v < lo and (base + "/" + k) not in [e[0] for e in errs]:
            errs.append((base + "/" + k, "error.min"))
    return errs


def id_errors(app_id, path="/id"):
    errs = []
    segs = [s for s in app_id.strip("/").split("/") if s != ""]
    if not segs:
        errs.append((path, "Path must contain at least one path element"))
        return errs
    if not all(SEGMENT_RE.fullmatch(s) for s in segs):
        errs.append((path, MSG_REGEX))
    if segs[-1] in RESERVED_SEGMENTS + (".", ".."):
        errs.append((path, MSG_RESERVED))
    return errs


def semantic_errors(raw):
    """Accord-style validation of a (merged) raw app -> [(path, error)]."""
    errs = []
    has_cmd = bool(raw.get("cmd"))
    has_args = bool(raw.get("args"))
    has_container = isinstance(raw.get("container"), dict)
    if (has_cmd and has_args) or not (has_cmd or has_args or has_container):
        errs.append(("/", MSG_CMD))
    us = raw.get("upgradeStrategy")
    if isinstance(us, dict):
        for k in ("minimumHealthCapacity", "maximumOverCapacity"):
            v = us.get(k)
            if v is None:
                continue
            if not is_num(v):
                errs.append(("/upgradeStrategy/" + k, "error.expected.jsnumber"))
            elif v > 1:
                errs.append(("/upgradeStrategy/" + k, "is greater than 1"))
            elif v < 0:
                errs.append(("/upgradeStrategy/" + k, "is less than 0"))
    ks = raw.get("killSelection")
    if isinstance(ks, str) and ks not in ("YOUNGEST_FIRST", "OLDEST_FIRST"):
        errs.append(("/killSelection", "error.unknown.enum.literal"))
    for i, c in enumerate(raw.get("constraints") or []):
        if isinstance(c, list) and (len(c) < 2 or len(c) > 3):
            errs.append(("/constraints(%d)" % i, "Each constraint must have either 2 or 3 fields"))
        elif isinstance(c, list) and c[1] not in ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE",
                                                  "UNLIKE", "MAX_PER", "IS"):
            errs.append(("/constraints(%d)" % i, "Constraint operator must be one of the "
                         "following: [UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS]"))
    for i, hc in enumerate(raw.get("healthChecks") or []):
        proto = hc.get("protocol", "HTTP")
        if proto not in ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"):
            errs.append(("/healthChecks(%d)/protocol" % i, "error.unknown.enum.literal"))
        if proto == "COMMAND" and not hc.get("command"):
            errs.append(("/healthChecks(%d)" % i, "command must not be empty"))
    return errs


ARCHIVE_EXT = (".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip")


class PortAllocator:
    """Service ports (10000+) and host ports per agent (31000+)."""

    def __init__(self):
        self.used = set()
        self.next = 10000
        self.host_next = collections.defaultdict(lambda: 31000)

    def service(self):
        while self.next in self.used:
            self.next += 1
        p = self.next
        self.used.add(p)
        self.next += 1
        return p

    def host(self, agent_host, n):
        out = []
        for _ in range(n):
            p = self.host_next[agent_host]
            out.append(p)
            p += 1
            if p > 32000:
                p = 31000
            self.host_next[agent_host] = p
        return out


def spec_service_ports(spec):
    out = [pd.get("port") for pd in spec.get("portDefinitions") or [] if is_num(pd.get("port"))]
    c = spec.get("container") or {}
    out += [pm.get("servicePort") for pm in c.get("portMappings") or [] if is_num(pm.get("servicePort"))]
    return [p for p in out if p]


def host_port_count(spec):
    nets = spec.get("networks") or [{"mode": "host"}]
    if nets and nets[0].get("mode") == "host":
        return len(spec.get("portDefinitions") or [])
    c = spec.get("container") or {}
    return len([pm for pm in c.get("portMappings") or [] if "hostPort" in pm])


def normalize_app(raw, app_id, ports):
    """Raw (already type-checked) app -> 1.10 canonical definition (no version fields).

    Empty collections with (pragma.omitEmpty) in the 1.10 RAML (args, constraints,
    dependencies, env, fetch, healthChecks, readinessChecks, secrets) are omitted,
    as Marathon 1.10 does."""
    r = {k: v for k, v in raw.items() if v is not None}
    a = collections.OrderedDict()
    a["id"] = app_id
    if r.get("acceptedResourceRoles"):
        a["acceptedResourceRoles"] = list(r["acceptedResourceRoles"])
    if r.get("args"):
        a["args"] = list(r["args"])
    a["backoffFactor"] = intify(r.get("backoffFactor", 1.15))
    a["backoffSeconds"] = intify(r.get("backoffSeconds", 1))
    if r.get("cmd"):
        a["cmd"] = r["cmd"]
    if r.get("constraints"):
        a["constraints"] = [list(c) for c in r["constraints"]]

    # networks
    container = r.get("container")
    docker = (container or {}).get("docker") if isinstance(container, dict) else None
    if r.get("networks"):
        nets = []
        for n in r["networks"]:
            n2 = collections.OrderedDict()
            mode = n.get("mode") or ("container" if n.get("name") else "container")
            if mode == "host" or mode == "container/bridge":
                n2["mode"] = mode
            else:
                n2["mode"] = "container"
                if n.get("name"):
                    n2["name"] = n["name"]
            if n.get("labels"):
                n2["labels"] = dict(n["labels"])
            nets.append(n2)
    elif isinstance(docker, dict) and docker.get("network") in ("BRIDGE", "USER"):
        if docker["network"] == "BRIDGE":
            nets = [{"mode": "container/bridge"}]
        else:
            n2 = {"mode": "container"}
            ip = r.get("ipAddress") or {}
            if ip.get("networkName"):
                n2["name"] = ip["networkName"]
            nets = [n2]
    elif isinstance(r.get("ipAddress"), dict):
        n2 = {"mode": "container"}
        if r["ipAddress"].get("networkName"):
            n2["name"] = r["ipAddress"]["networkName"]
        nets = [n2]
    else:
        nets = [{"mode": "host"}]
    host_net = nets[0]["mode"] == "host"

    if isinstance(container, dict):
        c = collections.OrderedDict()
        ctype = container.get("type") or ("DOCKER" if docker else "MESOS")
        c["type"] = ctype
        if isinstance(docker, dict):
            d = collections.OrderedDict()
            if ctype == "DOCKER":
                d["forcePullImage"] = bool(docker.get("forcePullImage", False))
                d["image"] = docker.get("image", "")
                d["parameters"] = list(docker.get("parameters") or [])
                d["privileged"] = bool(docker.get("privileged", False))
            else:
                d["forcePullImage"] = bool(docker.get("forcePullImage", False))
                d["image"] = docker.get("image", "")
            for k in ("pullConfig", "credential"):
                if docker.get(k) is not None:
                    d[k] = docker[k]
            c["docker"] = d
        c["volumes"] = list(container.get("volumes") or [])
        pms = container.get("portMappings")
        if pms is None and isinstance(docker, dict):
            pms = docker.get("portMappings")
        if not host_net:
            out = []
            for pm in pms or []:
                m = collections.OrderedDict()
                m["containerPort"] = intify(pm.get("containerPort", 0))
                if "hostPort" in pm or nets[0]["mode"] == "container/bridge":
                    m["hostPort"] = intify(pm.get("hostPort", 0))
                if pm.get("labels"):
                    m["labels"] = dict(pm["labels"])
                if pm.get("name"):
                    m["name"] = pm["name"]
                m["protocol"] = pm.get("protocol", "tcp")
                sp = pm.get("servicePort") or 0
                m["servicePort"] = sp if sp else ports.service()
                ports.used.add(m["servicePort"])
                out.append(m)
            c["portMappings"] = out
        a["container"] = c

    a["cpus"] = intify(r.get("cpus", 1))
    if r.get("dependencies"):
        base = parent_of(app_id)
        a["dependencies"] = [canonical_path(d, base) for d in r["dependencies"]]
    a["disk"] = intify(r.get("disk", 0))
    if r.get("env"):
        a["env"] = dict(r["env"])
    a["executor"] = r.get("executor", "")
    fetch = r.get("fetch")
    if not fetch and r.get("uris"):
        fetch = [{"uri": u, "extract": u.endswith(ARCHIVE_EXT)} for u in r["uris"]]
    if fetch:
        out = []
        for f in fetch:
            u = f.get("uri", "")
            ff = collections.OrderedDict()
            ff["uri"] = u
            ff["extract"] = bool(f.get("extract", True))
            ff["executable"] = bool(f.get("executable", False))
            ff["cache"] = bool(f.get("cache", False))
            if f.get("destPath"):
                ff["destPath"] = f["destPath"]
            out.append(ff)
        a["fetch"] = out
    if r.get("healthChecks"):
        a["healthChecks"] = [normalize_health_check(h) for h in r["healthChecks"]]
    a["instances"] = intify(r.get("instances", 1))
    a["labels"] = dict(r.get("labels") or {})
    a["maxLaunchDelaySeconds"] = intify(r.get("maxLaunchDelaySeconds", 300))
    a["mem"] = intify(r.get("mem", 128))
    a["gpus"] = intify(r.get("gpus", 0))
    a["networks"] = nets
    if host_net:
        if "portDefinitions" in r:
            pds = r["portDefinitions"]
        elif "ports" in r:
            pds = [{"port": p} for p in r["ports"]]
        else:
            pds = [{"port": 0, "name": "default", "protocol": "tcp"}]
        out = []
        for pd in pds:
            d = collections.OrderedDict()
            p = intify(pd.get("port", 0)) or 0
            if not p:
                p = ports.service()
            ports.used.add(p)
            d["port"] = p
            if pd.get("name"):
                d["name"] = pd["name"]
            d["protocol"] = pd.get("protocol", "tcp")
            if pd.get("labels"):
                d["labels"] = dict(pd["labels"])
            out.append(d)
        a["portDefinitions"] = out
    else:
        a["portDefinitions"] = []
    if r.get("readinessChecks"):
        a["readinessChecks"] = [dict(x) for x in r["readinessChecks"]]
    a["requirePorts"] = bool(r.get("requirePorts", False))
    if r.get("residency"):
        a["residency"] = r["residency"]
    if r.get("resourceLimits"):
        a["resourceLimits"] = r["resourceLimits"]
    if r.get("executorResources"):
        a["executorResources"] = r["executorResources"]
    if r.get("check"):
        a["check"] = r["check"]
    if r.get("secrets"):
        a["secrets"] = dict(r["secrets"])
    if "taskKillGracePeriodSeconds" in r:
        a["taskKillGracePeriodSeconds"] = intify(r["taskKillGracePeriodSeconds"])
    us = collections.OrderedDict([("maximumOverCapacity", 1), ("minimumHealthCapacity", 1)])
    if isinstance(r.get("upgradeStrategy"), dict):
        for k in us:
            if is_num(r["upgradeStrategy"].get(k)):
                us[k] = intify(r["upgradeStrategy"][k])
    a["upgradeStrategy"] = us
    if r.get("user"):
        a["user"] = r["user"]
    a["killSelection"] = r.get("killSelection", "YOUNGEST_FIRST")
    ur = r.get("unreachableStrategy")
    if ur == "disabled":
        a["unreachableStrategy"] = "disabled"
    else:
        u = collections.OrderedDict([("inactiveAfterSeconds", 0), ("expungeAfterSeconds", 0)])
        if isinstance(ur, dict):
            for k in u:
                if is_num(ur.get(k)):
                    u[k] = intify(ur[k])
        a["unreachableStrategy"] = u
    if "tty" in r:
        a["tty"] = bool(r["tty"])
    a["role"] = r.get("role", "*")
    return a


def normalize_health_check(hc):
    proto = hc.get("protocol", "HTTP")
    h = collections.OrderedDict()
    if proto == "COMMAND":
        cmd = hc.get("command")
        h["command"] = {"value": cmd if isinstance(cmd, str) else (cmd or {}).get("value", "")}
    h["gracePeriodSeconds"] = intify(hc.get("gracePeriodSeconds", 300))
    h["intervalSeconds"] = intify(hc.get("intervalSeconds", 60))
    h["maxConsecutiveFailures"] = intify(hc.get("maxConsecutiveFailures", 3))
    if proto in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
        h["path"] = hc.get("path", "/")
    if proto != "COMMAND":
        if "port" in hc and hc["port"] is not None:
            h["port"] = intify(hc["port"])
        else:
            h["portIndex"] = intify(hc.get("portIndex", 0))
    h["protocol"] = proto
    if proto in ("HTTP", "HTTPS", "TCP"):
        h["ipProtocol"] = hc.get("ipProtocol", "IPv4")
    h["timeoutSeconds"] = intify(hc.get("timeoutSeconds", 20))
    h["delaySeconds"] = intify(hc.get("delaySeconds", 15))
    if proto in ("HTTP", "HTTPS"):
        h["ignoreHttp1xx"] = bool(hc.get("ignoreHttp1xx", False))
    return h


VERSION_KEYS = ("version", "versionInfo")


def with_version(spec, version, scaling_at, config_at):
    """Insert version/versionInfo before killSelection (1.10 field order)."""
    out = collections.OrderedDict()
    for k, v in spec.items():
        if k in VERSION_KEYS:
            continue
        if k == "killSelection":
            out["version"] = version
            out["versionInfo"] = collections.OrderedDict(
                [("lastScalingAt", scaling_at), ("lastConfigChangeAt", config_at)])
        out[k] = v
    if "version" not in out:
        out["version"] = version
        out["versionInfo"] = collections.OrderedDict(
            [("lastScalingAt", scaling_at), ("lastConfigChangeAt", config_at)])
    return out


def config_of(spec):
    return {k: v for k, v in spec.items() if k not in ("version", "versionInfo", "instances")}


def raw_from_spec(spec):
    """Canonical spec -> raw form usable as a base for a partial update."""
    return {k: copy.deepcopy(v) for k, v in spec.items() if k not in VERSION_KEYS}


def merge_update(base, body):
    """partialUpdate=true: top-level merge of body into the stored definition."""
    merged = dict(base)
    upd = {k: v for k, v in body.items() if v is not None}
    if "cmd" in upd and "args" not in upd:
        merged.pop("args", None)
    if "args" in upd and "cmd" not in upd:
        merged.pop("cmd", None)
    if "ports" in upd and "portDefinitions" not in upd:
        merged.pop("portDefinitions", None)
    if "uris" in upd and "fetch" not in upd:
        merged.pop("fetch", None)
    c = upd.get("container")
    if isinstance(c, dict) and isinstance(c.get("docker"), dict) and c["docker"].get("network") \
            and "networks" not in upd:
        merged.pop("networks", None)
    if "networks" in upd and isinstance(merged.get("container"), dict) and "container" not in upd:
        merged["container"] = dict(merged["container"])
        merged["container"].pop("portMappings", None)
    merged.update(upd)
    return merged


# --- label selectors (Marathon LabelSelectorParsers) ---------------------------

class SelectorError(Exception):
    pass


def parse_label_selectors(text):
    pos = [0]
    n = len(text)

    def ws():
        while pos[0] < n and text[pos[0]].isspace():
            pos[0] += 1

    def term():
        ws()
        buf = []
        while pos[0] < n:
            c = text[pos[0]]
            if c == "\\" and pos[0] + 1 < n:
                buf.append(text[pos[0] + 1])
                pos[0] += 2
                continue
            if c.isalnum() or c in "-_.":
                buf.append(c)
                pos[0] += 1
                continue
            break
        if not buf:
            raise SelectorError("expected a label term at position %d" % pos[0])
        return "".join(buf)

    def peek(s):
        ws()
        return text.startswith(s, pos[0])

    sels = []
    while True:
        key = term()
        if peek("=="):
            pos[0] += 2
            val = term()
            sels.append(lambda L, k=key, v=val: k in L and L[k] == v)
        elif peek("!="):
            pos[0] += 2
            val = term()
            sels.append(lambda L, k=key, v=val: k in L and L[k] != v)
        elif peek("notin") or peek("in"):
            neg = peek("notin")
            pos[0] += 5 if neg else 2
            ws()
            if not peek("("):
                raise SelectorError("expected '('")
            pos[0] += 1
            vals = set()
            if not peek(")"):
                while True:
                    vals.add(term())
                    if peek(","):
                        pos[0] += 1
                        continue
                    break
            if not peek(")"):
                raise SelectorError("expected ')'")
            pos[0] += 1
            if neg:
                sels.append(lambda L, k=key, vs=vals: k in L and L[k] not in vs)
            else:
                sels.append(lambda L, k=key, vs=vals: k in L and L[k] in vs)
        else:
            sels.append(lambda L, k=key: k in L)
        if peek(","):
            pos[0] += 1
            continue
        ws()
        if pos[0] != n:
            raise SelectorError("unexpected '%s' at position %d" % (text[pos[0]], pos[0]))
        return sels


APP_EMBEDS = ("tasks", "counts", "deployments", "readiness", "lastTaskFailure", "taskStats")


def parse_embeds(values, prefixes):
    out = set()
    for v in values:
        for p in prefixes:
            if v.startswith(p):
                v = v[len(p):]
                break
        if v == "tasks":
            out |= {"tasks", "deployments"}
        elif v == "failures":
            out |= {"tasks", "lastTaskFailure", "deployments"}
        elif v in APP_EMBEDS:
            out.add(v)
    return out


# --- model ---------------------------------------------------------------------

class Task(object):
    __slots__ = ("uuid", "inc", "app_id", "agent", "state", "staged", "started", "version",
                 "ports", "legacy", "healthy_at", "seq", "sick_at")
    _seq = itertools.count()

    def __init__(self, app_id, agent, version, ports, inst_uuid=None, inc=1, legacy=False):
        self.uuid = inst_uuid or str(uuid.uuid4())
        self.inc = inc
        self.app_id = app_id
        self.agent = agent
        self.state = "TASK_STAGING"
        self.staged = now_ms()
        self.started = None
        self.version = version
        self.ports = ports
        self.legacy = legacy
        self.healthy_at = None
        self.sick_at = None         # its health checks fail since (/_emu/tasks/health)
        self.seq = next(Task._seq)

    @property
    def id(self):
        if self.legacy:
            return "%s.%s" % (safe_id(self.app_id), self.uuid)
        return "%s.instance-%s._app.%d" % (safe_id(self.app_id), self.uuid, self.inc)

    @property
    def instance_id(self):
        if self.legacy:
            return "%s.marathon-%s" % (safe_id(self.app_id), self.uuid)
        return "%s.instance-%s" % (safe_id(self.app_id), self.uuid)


class App(object):
    def __init__(self, spec):
        self.id = spec["id"]
        self.spec = spec
        self.versions = collections.OrderedDict()
        self.versions[spec["version"]] = spec
        self.tasks = collections.OrderedDict()   # instance uuid -> Task (oldest first)
        self.last_failure = None
        self.frag = {}

    def set_spec(self, spec):
        self.spec = spec
        self.versions.pop(spec["version"], None)
        self.versions[spec["version"]] = spec
        while len(self.versions) > MAX_VERSIONS:
            self.versions.popitem(last=False)
        self.frag.clear()


class Deployment(object):
    def __init__(self, dep_id, version, steps, original):
        self.id = dep_id
        self.version = version
        self.steps = steps            # [[action dict]]
        self.original = original      # app id -> spec or None
        self.affected = set()
        for st in steps:
            for a in st:
                self.affected.add(a["app"])
        self.affected |= set(original)
        self.current = 0
        self.cancelled = False
        self.deadline = 0.0
        self.step_seconds = 0.0

    def plan_json(self):
        return collections.OrderedDict([
            ("id", self.id),
            ("steps", [{"actions": [{"action": a["action"], "app": a["app"]} for a in st]}
                       for st in self.steps]),
            ("version", self.version)])

    def current_actions(self, readiness=True):
        if self.current < 1 or self.current > len(self.steps):
            return []
        out = []
        for a in self.steps[self.current - 1]:
            d = collections.OrderedDict([("action", a["action"]), ("app", a["app"])])
            if readiness:
                d["readinessCheckResults"] = []
            out.append(d)
        return out

    def to_json(self):
        return collections.OrderedDict([
            ("id", self.id),
            ("version", self.version),
            ("affectedApps", sorted(self.affected)),
            ("affectedPods", []),
            ("steps", self.plan_json()["steps"]),
            ("currentActions", self.current_actions()),
            ("currentStep", self.current),
            ("totalSteps", len(self.steps))])


class Scheduler(threading.Thread):
    """Runs callbacks later, each under the state lock."""

    def __init__(self, state_lock):
        threading.Thread.__init__(self, name="emu-scheduler", daemon=True)
        self.state_lock = state_lock
        self.cond = threading.Condition()
        self.heap = []
        self.seq = itertools.count()

    def call_later(self, delay, fn, *args):
        with self.cond:
            heapq.heappush(self.heap, (time.monotonic() + max(0.0, delay), next(self.seq), fn, args))
            self.cond.notify()

    def run(self):
        while True:
            with self.cond:
                while True:
                    if self.heap:
                        wait = self.heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self.cond.wait(wait)
                    else:
                        self.cond.wait()
                _, _, fn, args = heapq.heappop(self.heap)
            with self.state_lock:
                try:
                    fn(*args)
                except Exception:
                    warn("scheduled callback failed:\n" + traceback.format_exc())


class Subscriber(object):
    def __init__(self, sock, types, remote):
        self.sock = sock
        self.types = set(types)
        self.remote = remote
        self.cond = threading.Condition()
        self.q = collections.deque()
        self.inflight = 0
        self.stalled = False
        self.closed = False
        self.overflowed = False

    def offer(self, etype, frame, limit):
        if self.types and etype not in self.types:
            return
        with self.cond:
            if self.closed:
                return
            self.q.append(frame)
            if self.stalled and len(self.q) + self.inflight > limit:
                self._close_locked(overflow=True)
            self.cond.notify()

    def _close_locked(self, overflow=False):
        self.closed = True
        self.overflowed = self.overflowed or overflow
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.cond.notify_all()

    def close(self):
        with self.cond:
            self._close_locked()


class Response(object):
    def __init__(self, status, body=b"", ctype="application/json", headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers or []


def json_response(status, obj, headers=None):
    return Response(status, dumps(obj), headers=headers)


# --- the emulator -----------------------------------------------------------------

def hostname_ok(spec, hostname):
    """Whether an app's hostname constraints accept an agent: CLUSTER is
    equality, LIKE and UNLIKE a regex that must (not) match the whole name;
    other operators (UNIQUE, GROUP_BY, MAX_PER) and other fields do not
    choose agents here."""
    for c in (spec or {}).get("constraints") or []:
        if len(c) < 3 or c[0] != "hostname":
            continue
        op, value = c[1], c[2]
        try:
            if op == "CLUSTER" and hostname != value:
                return False
            if op == "LIKE" and not re.fullmatch(value, hostname):
                return False
            if op == "UNLIKE" and re.fullmatch(value, hostname):
                return False
        except re.error:
            return False
    return True


class Marathon(object):
    def __init__(self, opts, mesos=None, lock=None, knobs=None, knob_cond=None):
        self.opts = opts
        self.mesos = mesos
        self.lock = lock or threading.RLock()
        self.apps = {}
        self.sorted_ids = None
        self.groups = {"/": None}
        self.deployments = collections.OrderedDict()
        self.subscribers = set()
        self.ports = PortAllocator()
        self.body_cache = {}
        self.last_ms = 0
        self.agents = mesos.marathon_agents() if mesos is not None else AGENTS
        self.agent_rr = itertools.cycle(range(len(self.agents)))
        self.framework_id = mesos.framework_id if mesos is not None else "%s-0000" % uuid.uuid4()
        self.sched = Scheduler(self.lock)
        self.knobs = knobs if knobs is not None else dict(KNOB_DEFAULTS)
        self.knobs["agents"] = {}
        self.knobs["mesos_master"] = {"down": False, "hang": False}
        self.knobs["deploy_seconds"] = opts.deploy_seconds
        self.knobs["task_start_seconds"] = opts.task_start_seconds
        self.knobs["heartbeat_seconds"] = opts.heartbeat_seconds
        self.knob_cond = knob_cond or threading.Condition()
        self.log_lock = threading.Lock()
        self.req_log = []
        self.stats = collections.Counter()
        self.by_client = collections.Counter()   # User-Agent (make bench tells curl from archonfs)
        self.total = 0
        self.port = 0
        self.host = opts.host
        self.groups["/"] = self.new_version()

    # -- infrastructure --

    def new_version(self):
        ms = now_ms()
        if ms <= self.last_ms:
            ms = self.last_ms + 1
        self.last_ms = ms
        return iso_ms(ms)

    def leader(self):
        return "%s:%d" % (self.host, self.port)

    def touch(self, *apps):
        for a in apps:
            if a is not None:
                a.frag.clear()
        self.body_cache.clear()

    def touch_ids(self, ids):
        for i in ids:
            a = self.apps.get(i)
            if a is not None:
                a.frag.clear()
        self.body_cache.clear()

    def publish(self, etype, payload):
        if not self.subscribers:
            return
        d = collections.OrderedDict(payload)
        d["eventType"] = etype
        d["timestamp"] = iso_ms(now_ms())
        frame = b"event: " + etype.encode() + b"\r\ndata: " + dumps(d) + b"\r\n\r\n"
        limit = int(self.knobs.get("sse_max_outstanding") or 1024)
        for s in list(self.subscribers):
            s.offer(etype, frame, limit)

    def bump_groups(self, app_ids, version):
        for aid in app_ids:
            for g in ancestors(aid):
                self.groups[g] = version

    # -- tasks --

    def pick_agent(self, spec=None):
        """The next agent, round robin, among those the app's hostname
        constraints (CLUSTER, LIKE, UNLIKE) accept, as Marathon's offer
        matching would.  Unlike Marathon, which keeps an instance waiting
        while no offer matches, the emulator then places it anyway, on the
        next agent: no test relies on unsatisfiable constraints."""
        n = len(self.agents)
        for _ in range(n):
            a = self.agents[next(self.agent_rr)]
            if hostname_ok(spec, a["host"]):
                return a
        return self.agents[next(self.agent_rr)]

    def new_task(self, app, version, inst_uuid=None, inc=1, legacy=False, running=False):
        agent = self.pick_agent(app.spec)
        t = Task(app.id, agent, version, self.ports.host(agent["host"], host_port_count(app.spec)),
                 inst_uuid, inc, legacy)
        if running:
            t.state = "TASK_RUNNING"
            t.started = t.staged
            if app.spec.get("healthChecks"):
                t.healthy_at = t.started
        app.tasks[t.uuid] = t
        if self.mesos is not None:
            self.mesos.launch(t.id, app.id, app.spec, t.ports, agent["id"])
            if running:
                self.mesos.running(t.id)
        return t

    def status_event(self, t, state, message=""):
        self.publish("status_update_event", collections.OrderedDict([
            ("slaveId", t.agent["id"]), ("taskId", t.id), ("taskStatus", state),
            ("message", message), ("appId", t.app_id), ("host", t.agent["host"]),
            ("ipAddresses", [{"ipAddress": t.agent["ip"], "protocol": "IPv4"}]),
            ("ports", t.ports), ("version", t.version)]))
        cond = {"TASK_STAGING": "Staging", "TASK_RUNNING": "Running", "TASK_KILLED": "Killed",
                "TASK_FAILED": "Failed", "TASK_KILLING": "Killing"}.get(state, "Unknown")
        self.publish("instance_changed_event", collections.OrderedDict([
            ("instanceId", t.instance_id), ("condition", cond), ("runSpecId", t.app_id),
            ("agentId", t.agent["id"]), ("host", t.agent["host"]),
            ("runSpecVersion", t.version)]))

    def launch(self, app, n, inst_uuid=None, inc=1):
        """Launch n new tasks (TASK_STAGING), running after task_start_seconds."""
        launched = []
        for _ in range(n):
            t = self.new_task(app, app.spec["version"], inst_uuid, inc)
            launched.append(t)
            self.status_event(t, "TASK_STAGING")
        if launched:
            self.touch(app)
            self.sched.call_later(float(self.knobs["task_start_seconds"]),
                                  self._tasks_running, app, [(t.uuid, t.seq) for t in launched])
        return launched

    def _tasks_running(self, app, keys):
        if self.apps.get(app.id) is not app:
            return
        changed = False
        for key, seq in keys:
            t = app.tasks.get(key)
            if t is None or t.seq != seq or t.state != "TASK_STAGING":
                continue
            t.state = "TASK_RUNNING"
            t.started = now_ms()
            changed = True
            if self.mesos is not None:
                self.mesos.running(t.id)
            self.status_event(t, "TASK_RUNNING")
            if app.spec.get("healthChecks"):
                t.healthy_at = t.started
                self.publish("health_status_changed_event", collections.OrderedDict([
                    ("appId", app.id), ("instanceId", t.instance_id),
                    ("version", t.version), ("alive", True)]))
                self.publish("instance_health_changed_event", collections.OrderedDict([
                    ("instanceId", t.instance_id), ("runSpecId", app.id),
                    ("healthy", True), ("runSpecVersion", t.version)]))
        if changed:
            self.touch(app)

    def kill(self, app, t, state="TASK_KILLED", message=""):
        if app.tasks.get(t.uuid) is t:
            del app.tasks[t.uuid]
        if self.mesos is not None:
            self.mesos.terminal(t.id, state)
        self.status_event(t, state, message)
        self.touch(app)

    def task_exited(self, task_id, status):
        """A task's real process ended by itself (--run-commands): the
        executor reports TASK_FINISHED or TASK_FAILED and Marathon launches
        the instance again."""
        with self.lock:
            for app in self.apps.values():
                for t in list(app.tasks.values()):
                    if t.id != task_id:
                        continue
                    state = "TASK_FINISHED" if status == 0 else "TASK_FAILED"
                    msg = "Command exited with status %d" % (status if status >= 0 else 128 - status)
                    if status != 0:
                        app.last_failure = collections.OrderedDict([
                            ("appId", app.id), ("host", t.agent["host"]), ("message", msg),
                            ("state", state), ("taskId", t.id),
                            ("timestamp", iso_ms(now_ms())), ("version", t.version),
                            ("slaveId", t.agent["id"])])
                    self.kill(app, t, state, msg)
                    self.launch(app, 1, inst_uuid=t.uuid, inc=t.inc + 1)
                    return

    def kill_and_replace(self, app, t, wipe=False):
        self.kill(app, t)
        if wipe:
            if len(app.tasks) < app.spec["instances"]:
                self.launch(app, 1)
        else:
            self.launch(app, 1, inst_uuid=t.uuid, inc=t.inc + 1)

    # -- serialisation --

    def task_json(self, app, t, service_ports=False):
        d = collections.OrderedDict()
        d["id"] = t.id
        d["appId"] = t.app_id
        d["host"] = t.agent["host"]
        d["slaveId"] = t.agent["id"]
        d["state"] = t.state
        d["stagedAt"] = iso_ms(t.staged)
        if t.started is not None:
            d["startedAt"] = iso_ms(t.started)
        d["version"] = t.version
        d["ports"] = list(t.ports)
        if service_ports:
            d["servicePorts"] = spec_service_ports(app.spec) if app is not None else []
        d["ipAddresses"] = [{"ipAddress": t.agent["ip"], "protocol": "IPv4"}]
        hcs = (app.spec.get("healthChecks") or []) if app is not None else []
        if hcs and t.sick_at is not None:
            ts = iso_ms(t.sick_at)
            r = [("alive", False), ("consecutiveFailures", 1)]
            if t.healthy_at is not None:
                ok = iso_ms(t.healthy_at)
                r += [("firstSuccess", ok), ("lastSuccess", ok)]
            r += [("lastFailure", ts), ("lastFailureCause", "health check failed"),
                  ("instanceId", t.instance_id)]
            d["healthCheckResults"] = [collections.OrderedDict(r) for _ in hcs]
        elif hcs and t.healthy_at is not None:
            ts = iso_ms(t.healthy_at)
            d["healthCheckResults"] = [collections.OrderedDict([
                ("alive", True), ("consecutiveFailures", 0), ("firstSuccess", ts),
                ("lastSuccess", ts), ("instanceId", t.instance_id)]) for _ in hcs]
        else:
            d["healthCheckResults"] = []
        d["localVolumes"] = []
        d["role"] = (app.spec.get("role") if app is not None else None) or "*"
        return d

    def counts(self, app):
        staged = running = healthy = unhealthy = 0
        has_hc = bool(app.spec.get("healthChecks"))
        for t in app.tasks.values():
            if t.state == "TASK_RUNNING":
                running += 1
                if has_hc and t.sick_at is not None:
                    unhealthy += 1
                elif has_hc and t.healthy_at is not None:
                    healthy += 1
            elif t.state in ("TASK_STAGING", "TASK_STARTING"):
                staged += 1
        return staged, running, healthy, unhealthy

    def app_deployments(self, app_id):
        return [{"id": d.id} for d in self.deployments.values() if app_id in d.affected]

    def task_stats(self, app):
        tasks = list(app.tasks.values())
        if not tasks:
            return {}
        vi = app.spec.get("versionInfo") or {}
        scal = parse_ts(vi.get("lastScalingAt")) or 0
        conf = parse_ts(vi.get("lastConfigChangeAt")) or 0
        now = now_ms()

        def stats(ts):
            c = collections.OrderedDict([("staged", 0), ("running", 0), ("healthy", 0), ("unhealthy", 0)])
            lives = []
            for t in ts:
                if t.state == "TASK_RUNNING":
                    c["running"] += 1
                    if t.sick_at is not None:
                        c["unhealthy"] += 1
                    elif t.healthy_at is not None:
                        c["healthy"] += 1
                    lives.append((now - t.started) / 1000.0)
                else:
                    c["staged"] += 1
            s = collections.OrderedDict([("counts", c)])
            if lives:
                lives.sort()
                s["lifeTime"] = collections.OrderedDict([
                    ("averageSeconds", sum(lives) / len(lives)),
                    ("medianSeconds", lives[len(lives) // 2])])
            return {"stats": s}
        out = collections.OrderedDict()
        after = [t for t in tasks if t.staged >= scal]
        latest = [t for t in tasks if (parse_ts(t.version) or 0) >= conf]
        outdated = [t for t in tasks if (parse_ts(t.version) or 0) < conf]
        if after:
            out["startedAfterLastScaling"] = stats(after)
        if latest:
            out["withLatestConfig"] = stats(latest)
        if outdated:
            out["withOutdatedConfig"] = stats(outdated)
        out["totalSummary"] = stats(tasks)
        return out

    def app_info(self, app, embeds, counts=True, deployments=True):
        d = collections.OrderedDict(app.spec)
        if counts or "counts" in embeds:
            s, r, h, u = self.counts(app)
            d["tasksStaged"] = s
            d["tasksRunning"] = r
            d["tasksHealthy"] = h
            d["tasksUnhealthy"] = u
        if deployments or "deployments" in embeds:
            d["deployments"] = self.app_deployments(app.id)
        if "readiness" in embeds:
            d["readinessCheckResults"] = []
        if "tasks" in embeds:
            d["tasks"] = [self.task_json(app, t) for t in app.tasks.values()]
        if "lastTaskFailure" in embeds and app.last_failure is not None:
            d["lastTaskFailure"] = app.last_failure
        if "taskStats" in embeds:
            d["tasksStats"] = self.task_stats(app)
        return d

    def app_fragment(self, app, embeds, counts=True, deployments=True):
        key = (tuple(sorted(embeds)), counts, deployments)
        b = app.frag.get(key)
        if b is None:
            b = dumps(self.app_info(app, embeds, counts, deployments))
            app.frag[key] = b
        return b

    def sorted_apps(self):
        if self.sorted_ids is None:
            self.sorted_ids = sorted(self.apps)
        return [self.apps[i] for i in self.sorted_ids]

    def list_apps_body(self, q):
        key = ("apps", tuple(q.get("cmd", [])[:1]), tuple(q.get("id", [])[:1]),
               tuple(q.get("label", [])[:1]), tuple(sorted(set(q.get("embed", [])))))
        b = self.body_cache.get(key)
        if b is not None:
            return b
        embeds = parse_embeds(q.get("embed", []), ("group.apps.", "apps.", "app."))
        cmd = q.get("cmd", [None])[0]
        idf = q.get("id", [None])[0]
        label = q.get("label", [None])[0]
        sels = None
        if label:
            try:
                sels = parse_label_selectors(label)
            except SelectorError as e:
                raise err(422, "Can not parse label selector %s. Reason: %s" % (label, e))
        parts = []
        for app in self.sorted_apps():
            if cmd and cmd.lower() not in (app.spec.get("cmd") or "").lower():
                continue
            if idf and idf.lower() not in app.id.lower():
                continue
            if sels is not None:
                labels = app.spec.get("labels") or {}
                if not all(s(labels) for s in sels):
                    continue
            parts.append(self.app_fragment(app, embeds))
        b = b'{"apps":[' + b",".join(parts) + b"]}"
        self.body_cache[key] = b
        return b

    def group_json_bytes(self, gid, gembeds, app_embeds):
        """Serialize group gid (must exist) with nested groups."""
        child_groups = collections.defaultdict(list)
        for g in self.groups:
            if g != "/":
                child_groups[parent_of(g)].append(g)
        child_apps = collections.defaultdict(list)
        for app in self.sorted_apps():
            child_apps[parent_of(app.id)].append(app)
        counts = "counts" in app_embeds
        deps = "deployments" in app_embeds

        def render(g):
            out = [b'{"id":' + dumps(g)]
            if "apps" in gembeds:
                out.append(b',"apps":[' + b",".join(
                    self.app_fragment(a, app_embeds, counts, deps) for a in child_apps[g]) + b"]")
            if "groups" in gembeds:
                out.append(b',"groups":[' + b",".join(render(c) for c in sorted(child_groups[g])) + b"]")
            if "pods" in gembeds:
                out.append(b',"pods":[]')
            out.append(b',"dependencies":[],"version":' + dumps(self.groups.get(g) or self.groups["/"]))
            out.append(b',"enforceRole":false}')
            return b"".join(out)
        return render(gid)

    # -- loading --

    def install_app(self, raw, running=True, legacy=False):
        """Put an app into the state directly (startup), tasks already running."""
        aid = raw["id"]
        spec = normalize_app(raw, aid, self.ports)
        vi = raw.get("versionInfo") if isinstance(raw.get("versionInfo"), dict) else {}
        version = raw.get("version")
        if not isinstance(version, str) or parse_ts(version) is None:
            cands = [x for x in (vi.get("lastScalingAt"), vi.get("lastConfigChangeAt"))
                     if isinstance(x, str) and parse_ts(x) is not None]
            version = max(cands, key=parse_ts) if cands else self.new_version()
        spec = with_version(spec, version, vi.get("lastScalingAt") or version,
                            vi.get("lastConfigChangeAt") or version)
        app = App(spec)
        self.apps[aid] = app
        self.sorted_ids = None
        for g in ancestors(aid):
            if self.groups.get(g) is None or g == "/":
                self.groups[g] = self.groups.get(g) or version
        if running:
            for _ in range(spec["instances"]):
                self.new_task(app, version, legacy=legacy, running=True)
        return app

    def load_group_file(self, path, legacy=False):
        with open(path) as f:
            data = json.load(f)
        n = 0

        def walk(g, base):
            nonlocal n
            gid = canonical_path(g.get("id") or base, base) if isinstance(g, dict) else base
            if gid not in self.groups:
                self.groups[gid] = None
            for g2 in ancestors(gid):
                self.groups.setdefault(g2, None)
            for a in g.get("apps") or []:
                if not isinstance(a, dict) or not isinstance(a.get("id"), str):
                    warn("%s: skipping an app without id" % path)
                    continue
                a = dict(a)
                a["id"] = canonical_path(a["id"], gid)
                errs = type_check_app(a, True) + id_errors(a["id"])
                if errs:
                    warn("%s: skipping %s: %s" % (path, a["id"], errs))
                    continue
                if a["id"] in self.apps:
                    warn("%s: duplicate app %s" % (path, a["id"]))
                    continue
                self.install_app(a, legacy=legacy)
                n += 1
            for sub in g.get("groups") or []:
                if isinstance(sub, dict):
                    walk(sub, gid)
        if isinstance(data, dict) and "apps" not in data and "groups" not in data and "id" in data:
            data = {"id": "/", "apps": [data]}
        elif isinstance(data, list):
            data = {"id": "/", "apps": data}
        walk(data, "/")
        v = self.new_version()
        for g in list(self.groups):
            if self.groups[g] is None:
                self.groups[g] = v
        return n

    def synthesize(self, n, m, legacy=False):
        tiers = ("web", "api", "db", "cache", "batch")
        for i in range(n):
            tier = tiers[i % len(tiers)]
            raw = {
                "id": "/synth/g%02d/app%04d" % (i // 100, i),
                "cmd": "./bin/serve --port $PORT0 --name app%04d" % i,
                "cpus": [0.1, 0.25, 0.5, 1][i % 4],
                "mem": [64, 128, 256, 512][i % 4],
                "disk": 0,
                "instances": m,
                "env": {"APP_INDEX": str(i), "TIER": tier, "JAVA_OPTS": "-Xmx%dm" % (48 + 16 * (i % 4))},
                "labels": {"tier": tier, "team": "team-%d" % (i % 7), "synthetic": "true"},
                "portDefinitions": [{"port": 0, "name": "http", "protocol": "tcp"}],
            }
            if i % 5 == 0:
                raw["portDefinitions"].append({"port": 0, "name": "metrics", "protocol": "tcp"})
            if i % 3 == 0:
                raw["healthChecks"] = [{"protocol": "HTTP", "path": "/health", "portIndex": 0,
                                        "gracePeriodSeconds": 60, "intervalSeconds": 30}]
            if i % 4 == 1:
                raw["container"] = {"type": "DOCKER", "docker": {"image": "registry.emu.local/%s:1.%d" % (tier, i % 10)}}
            if i % 6 == 2:
                raw["constraints"] = [["hostname", "UNIQUE"]]
            if i % 8 == 3:
                raw["fetch"] = [{"uri": "https://artifacts.emu.local/app%04d.tgz" % i}]
            self.install_app(raw, legacy=legacy)
        v = self.new_version()
        for g in list(self.groups):
            if self.groups[g] is None:
                self.groups[g] = v

    # -- deployments --

    def locked_error(self, conflicts):
        ids = [d.id for d in conflicts]
        return ApiError(409, collections.OrderedDict([
            ("message", MSG_LOCKED % ", ".join(ids)),
            ("deployments", [{"id": i} for i in ids])]))

    def check_locks(self, ids, force):
        conflicts = [d for d in self.deployments.values() if d.affected & set(ids)]
        if conflicts and not force:
            raise self.locked_error(conflicts)
        return conflicts

    def deploy(self, changes, version, force, restart=(), kill=None, group_id=None):
        """changes: OrderedDict app id -> new canonical spec (stamped) or None (delete)."""
        kill = kill or {}
        conflicts = self.check_locks(changes.keys(), force)
        for d in conflicts:
            self.cancel(d, "Deployment was cancelled by a forced deployment")
        stop, start, main, original = [], [], [], collections.OrderedDict()
        touched_groups = set()
        for aid, spec in changes.items():
            old = self.apps.get(aid)
            original[aid] = old.spec if old is not None else None
            touched_groups.add(parent_of(aid))
            if spec is None:
                if old is None:
                    continue
                del self.apps[aid]
                self.sorted_ids = None
                self.ports.used.difference_update(spec_service_ports(old.spec))
                stop.append({"action": "StopApplication", "app": aid, "obj": old})
                continue
            for g in ancestors(aid):
                self.groups[g] = version
            if old is None:
                app = App(spec)
                self.apps[aid] = app
                self.sorted_ids = None
                start.append({"action": "StartApplication", "app": aid})
                main.append({"action": "ScaleApplication", "app": aid, "scaleTo": spec["instances"]})
            else:
                freed = set(spec_service_ports(old.spec)) - set(spec_service_ports(spec))
                self.ports.used.difference_update(freed)
                if aid in restart or config_of(old.spec) != config_of(spec):
                    main.append({"action": "RestartApplication", "app": aid})
                else:
                    main.append({"action": "ScaleApplication", "app": aid,
                                 "scaleTo": spec["instances"], "kill": kill.get(aid, [])})
                old.set_spec(spec)
        for aid, spec in changes.items():
            if spec is None:
                for g in ancestors(aid):
                    if g in self.groups:
                        self.groups[g] = version
        if group_id is not None:
            touched_groups.add(group_id)
        self.groups["/"] = version
        steps = [s for s in (stop, start, main) if s]
        dep = Deployment(str(uuid.uuid4()), version, steps, original)
        self.deployments[dep.id] = dep
        self.touch_ids(dep.affected)
        for g in sorted(touched_groups):
            self.publish("group_change_success", collections.OrderedDict([
                ("groupId", g), ("version", version)]))
        total = float(self.knobs["deploy_seconds"])
        dep.step_seconds = total / len(steps) if steps else total
        if steps:
            self._start_step(dep)
        else:
            self.sched.call_later(total, self._finish, dep)
        return dep

    def _start_step(self, dep):
        dep.current += 1
        step = dep.steps[dep.current - 1]
        self.publish("deployment_info", collections.OrderedDict([
            ("plan", dep.plan_json()),
            ("currentStep", {"actions": dep.current_actions(readiness=False)})]))
        for act in step:
            self._exec_action(dep, act)
        dep.deadline = time.monotonic() + dep.step_seconds
        self.touch_ids(dep.affected)
        self.sched.call_later(dep.step_seconds, self._check_step, dep)

    def _exec_action(self, dep, act):
        kind = act["action"]
        act["launched"] = []
        if kind == "StopApplication":
            app = act["obj"]
            for t in list(app.tasks.values()):
                self.kill(app, t)
            return
        app = self.apps.get(act["app"])
        if app is None or kind == "StartApplication":
            return
        act["obj"] = app
        if kind == "ScaleApplication":
            for tid in act.get("kill") or []:
                for t in list(app.tasks.values()):
                    if t.id == tid:
                        self.kill(app, t)
            live = list(app.tasks.values())
            target = act["scaleTo"]
            if len(live) < target:
                act["launched"] = [(t.uuid, t.seq) for t in self.launch(app, target - len(live))]
            elif len(live) > target:
                oldest_first = app.spec.get("killSelection") == "OLDEST_FIRST"
                live.sort(key=lambda t: (t.staged, t.seq), reverse=not oldest_first)
                for t in live[:len(live) - target]:
                    self.kill(app, t)
        elif kind == "RestartApplication":
            act["old"] = [(t.uuid, t.seq) for t in app.tasks.values()]
            n = app.spec["instances"]
            act["launched"] = [(t.uuid, t.seq) for t in self.launch(app, n)]
            if n == 0:
                self._kill_old(app, act)

    def _kill_old(self, app, act):
        for key, seq in act.get("old") or []:
            t = app.tasks.get(key)
            if t is not None and t.seq == seq:
                self.kill(app, t)
        act["old"] = []

    def _check_step(self, dep):
        if dep.cancelled or self.deployments.get(dep.id) is not dep:
            return
        remaining = dep.deadline - time.monotonic()
        pending = False
        for act in dep.steps[dep.current - 1]:
            app = act.get("obj")
            if app is None or act["action"] == "StopApplication" or self.apps.get(act["app"]) is not app:
                continue
            waiting = False
            for key, seq in act.get("launched") or []:
                t = app.tasks.get(key)
                if t is not None and t.state == "TASK_STAGING":
                    waiting = True
            if not waiting and act.get("old"):
                self._kill_old(app, act)
            pending = pending or waiting
        if pending:
            self.sched.call_later(0.02, self._check_step, dep)
            return
        if remaining > 0.001:
            self.sched.call_later(remaining, self._check_step, dep)
            return
        self.publish("deployment_step_success", collections.OrderedDict([
            ("plan", dep.plan_json()),
            ("currentStep", {"actions": dep.current_actions(readiness=False)})]))
        if dep.current < len(dep.steps):
            self._start_step(dep)
        else:
            self._finish(dep)

    def _finish(self, dep):
        if dep.cancelled or self.deployments.get(dep.id) is not dep:
            return
        del self.deployments[dep.id]
        self.touch_ids(dep.affected)
        for st in dep.steps:
            for act in st:
                if act["action"] == "StopApplication":
                    self.publish("app_terminated_event", {"appId": act["app"]})
        self.publish("deployment_success", collections.OrderedDict([
            ("id", dep.id), ("plan", dep.plan_json())]))

    def cancel(self, dep, reason):
        if self.deployments.get(dep.id) is not dep:
            return
        dep.cancelled = True
        del self.deployments[dep.id]
        self.touch_ids(dep.affected)
        self.publish("deployment_failed", collections.OrderedDict([
            ("id", dep.id), ("plan", dep.plan_json()), ("reason", reason)]))

    # -- building new specs --

    @staticmethod
    def validate(raw, aid):
        sem = id_errors(aid) + semantic_errors(raw)
        if sem:
            raise not_valid(details_of(sem))

    def build_spec(self, raw, aid, version, old=None, restart=False):
        """Validate + normalize raw; return stamped spec."""
        self.validate(raw, aid)
        spec = normalize_app(raw, aid, self.ports)
        if old is None:
            return with_version(spec, version, version, version)
        vi = old.get("versionInfo") or {}
        if restart or config_of(spec) != config_of(old):
            return with_version(spec, version, version, version)
        return with_version(spec, version, version, vi.get("lastConfigChangeAt") or version)

    def check_tree_conflict(self, aid):
        if aid in self.groups:
            raise not_valid([{"path": "/", "errors": [MSG_SAME_ID]}])
        for g in ancestors(aid)[1:]:
            if g in self.apps:
                raise not_valid([{"path": "/", "errors": [MSG_SAME_ID]}])


# --- HTTP layer ---------------------------------------------------------------------

JETTY_405 = ("<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
             "<title>Error 405 HTTP method GET is not supported by this URL</title>\n</head>\n"
             "<body><h2>HTTP ERROR 405</h2>\n<p>Problem accessing /v2/events. Reason:\n"
             "<pre>    HTTP method GET is not supported by this URL</pre></p>"
             "<hr><a href=\"http://eclipse.org/jetty\">Powered by Jetty:// 9.4.31.v20200723</a><hr/>\n"
             "\n</body>\n</html>\n")


class Routes(object):
    """Route table: (methods, regex, template, handler name)."""

    def __init__(self):
        A = r"(?P<id>.+?)"
        table = [
            ("GET POST PUT PATCH", r"^/v2/apps/?$", "/v2/apps", "apps"),
            ("DELETE", r"^/v2/apps/" + A + r"/tasks/(?P<task>[^/]+)$", "/v2/apps/{id}/tasks/{taskId}", "app_task"),
            ("GET DELETE", r"^/v2/apps/" + A + r"/tasks$", "/v2/apps/{id}/tasks", "app_tasks"),
            ("GET", r"^/v2/apps/" + A + r"/versions/(?P<ts>[^/]+)$", "/v2/apps/{id}/versions/{ts}", "app_version"),
            ("GET", r"^/v2/apps/" + A + r"/versions$", "/v2/apps/{id}/versions", "app_versions"),
            ("POST", r"^/v2/apps/" + A + r"/restart$", "/v2/apps/{id}/restart", "app_restart"),
            ("GET", r"^/v2/apps/(?P<id>(?:.*/)?)\*$", "/v2/apps/{id}/*", "app_star"),
            ("GET PUT PATCH DELETE", r"^/v2/apps/" + A + r"/?$", "/v2/apps/{id}", "app"),
            ("GET", r"^/v2/tasks/?$", "/v2/tasks", "tasks"),
            ("POST", r"^/v2/tasks/delete/?$", "/v2/tasks/delete", "tasks_delete"),
            ("GET", r"^/v2/deployments/?$", "/v2/deployments", "deployments"),
            ("DELETE", r"^/v2/deployments/(?P<dep>[^/]+)$", "/v2/deployments/{deploymentId}", "deployment"),
            ("GET DELETE", r"^/v2/groups/?$", "/v2/groups", "group_root"),
            ("GET", r"^/v2/groups/" + A + r"/apps$", "/v2/groups/{id}/apps", "group_apps"),
            ("GET", r"^/v2/groups/" + A + r"/versions$", "/v2/groups/{id}/versions", "group_versions"),
            ("GET DELETE", r"^/v2/groups/" + A + r"/?$", "/v2/groups/{id}", "group"),
            ("GET", r"^/v2/queue/?$", "/v2/queue", "queue"),
            ("DELETE", r"^/v2/queue/" + A + r"/delay$", "/v2/queue/{id}/delay", "queue_delay"),
            ("GET", r"^/v2/info/?$", "/v2/info", "info"),
            ("GET DELETE", r"^/v2/leader/?$", "/v2/leader", "leader"),
            ("GET", r"^/v2/events/?$", "/v2/events", "events"),
            ("GET", r"^/v2/pods/?$", "/v2/pods", "pods"),
            ("GET", r"^/ping$", "/ping", "ping"),
            ("GET", r"^/metrics$", "/metrics", "metrics"),
            ("GET", r"^/$", "/", "root"),
        ]
        self.table = [(set(m.split()), re.compile(rx), tpl, h) for m, rx, tpl, h in table]

    def match(self, method, path):
        """-> (template, handler, params) ; handler None for 404, '405' for method mismatch."""
        m_eff = "GET" if method == "HEAD" else method
        seen = None
        for methods, rx, tpl, h in self.table:
            mm = rx.match(path)
            if not mm:
                continue
            if m_eff in methods:
                return tpl, h, mm.groupdict()
            if seen is None:
                seen = tpl
        if seen is not None:
            return seen, "405", {}
        return path, None, {}


ROUTES = Routes()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = JETTY
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 600

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return JETTY

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    # -- plumbing --

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return None
        n = int(cl)
        if n < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(n) if n else b""

    def common_headers(self):
        emu = self.server.emu
        self.send_header("X-Marathon-Leader", "http://%s" % emu.leader())
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("X-XSS-Protection", "1; mode=block")
        self.send_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", "0")

    def send(self, resp, head=False):
        self.send_response(resp.status)
        self.common_headers()
        for k, v in resp.headers:
            self.send_header(k, v)
        body = resp.body or b""
        if body and resp.ctype:
            self.send_header("Content-Type", resp.ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def dispatch(self, method):
        emu = self.server.emu
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            try:
                self.send(json_response(400, {"message": "Bad request body"}))
            except OSError:
                pass
            return
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        query = split.query
        if path == "/_emu" or path.startswith("/_emu/"):
            try:
                resp = self.control(method, path, body)
            except ApiError as e:
                resp = json_response(e.status, e.body, e.headers)
            except Exception:
                warn("control request failed:\n" + traceback.format_exc())
                resp = json_response(500, {"message": "internal emulator error"})
            self.send(resp, head=(method == "HEAD"))
            return

        if self.auth_refused(path, method):
            return
        template, handler, params = ROUTES.match(method, path)
        route_key = "%s %s" % (method, template)
        with emu.log_lock:
            emu.total += 1
            emu.stats[route_key] += 1
            emu.by_client[self.headers.get("User-Agent") or "-"] += 1
            emu.req_log.append(collections.OrderedDict([
                ("method", method), ("path", path), ("query", query),
                ("body", body.decode("utf-8", "replace") if body else None),
                ("time", time.time())]))

        # knobs: hang, latency, fail
        with emu.knob_cond:
            while emu.knobs.get("hang") and path.startswith(emu.knobs.get("hang_path_prefix") or ""):
                emu.knob_cond.wait(0.5)
            latency = float(emu.knobs.get("latency_ms") or 0)
            fail = emu.knobs.get("fail")
            injected = None
            if fail and path.startswith(fail.get("path_prefix") or "") and \
                    (not fail.get("method") or fail["method"].upper() == method):
                injected = fail
                fail["count"] = int(fail.get("count", 1)) - 1
                if fail["count"] <= 0:
                    emu.knobs["fail"] = None
        with emu.knob_cond:
            hostile = hostile_replies.take(emu.knobs, "hostile", method, path)
        if latency > 0:
            time.sleep(latency / 1000.0)
        if injected is not None:
            status = int(injected.get("status", 503))
            msg = injected.get("message")
            if msg is None:
                try:
                    from http import HTTPStatus
                    msg = HTTPStatus(status).phrase
                except ValueError:
                    msg = "Error %d" % status
            self.send(json_response(status, {"message": msg}), head=(method == "HEAD"))
            return

        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        if handler == "events":
            if hostile is not None:
                self.send_hostile(hostile, 200, "text/event-stream", b"", sse=True)
                return
            self.serve_events(q)
            return
        try:
            if handler is None:
                raise err(404, "URI not found: %s" % path)
            if handler == "405":
                raise err(405, "HTTP 405 Method Not Allowed")
            fn = getattr(self, "h_" + handler)
            with emu.lock:
                resp = fn(method, params, q, body)
        except ApiError as e:
            resp = json_response(e.status, e.body, e.headers)
        except Exception:
            warn("request %s %s failed:\n%s" % (method, self.path, traceback.format_exc()))
            resp = json_response(500, {"message": "An unexpected server error occurred."})
        if hostile is not None:
            self.send_hostile(hostile, resp.status, resp.ctype, resp.body)
            return
        self.send(resp, head=(method == "HEAD"))

    # -- --basic-auth: 401 without the right credentials --

    def auth_refused(self, path, method):
        want = getattr(self.server, "basic_auth", None)
        if not want or path == "/ping":
            return False
        got = self.headers.get("Authorization") or ""
        if got.startswith("Basic "):
            try:
                if base64.b64decode(got[6:].strip()).decode("utf-8") == want:
                    return False
            except ValueError:
                pass
        self.send(json_response(401, {"message": "Invalid username or password."},
                                [("WWW-Authenticate", 'Basic realm="Marathon"')]),
                  head=(method == "HEAD"))
        return True

    def send_hostile(self, spec, status, ctype, body, sse=False):
        """The "hostile" knob: spec's broken reply instead of this one."""
        def head(st, headers):
            self.send_response(st)
            self.common_headers()
            for k, v in headers:
                self.send_header(k, v)
        hostile_replies.send(self, spec, head, status, ctype, body, sse=sse)

    # -- /_emu control API --

    def control(self, method, path, body):
        emu = self.server.emu
        if path == "/_emu/requests":
            with emu.log_lock:
                if method == "GET":
                    return Response(200, dumps(list(emu.req_log)))
                if method == "DELETE":
                    n = len(emu.req_log)
                    emu.req_log = []
                    emu.stats = collections.Counter()
                    emu.by_client = collections.Counter()
                    emu.total = 0
                    if emu.mesos is not None:
                        with emu.mesos.log_lock:
                            emu.mesos.clear_log()
                    return json_response(200, {"cleared": n})
        elif path == "/_emu/stats" and method == "GET":
            with emu.log_lock:
                return json_response(200, {"total": emu.total, "by_route": dict(emu.stats),
                                           "by_client": dict(emu.by_client)})
        elif path == "/_emu/knobs":
            if method == "GET":
                with emu.knob_cond:
                    return json_response(200, emu.knobs)
            if method == "POST":
                upd = parse_json_body(body)
                if not isinstance(upd, dict):
                    raise err(400, "knobs must be a JSON object")
                downs = []
                with emu.knob_cond:
                    for k, v in upd.items():
                        if k not in KNOB_DEFAULTS:
                            raise err(400, "unknown knob '%s'" % k)
                        if k in ("agents", "mesos_master"):
                            downs += self.mesos_node_knob(k, v)
                            continue
                        if k == "fail":
                            if v is not None and not (isinstance(v, dict) and is_num(v.get("status", 503))):
                                raise err(400, "fail must be null or {\"status\":N,\"count\":N,...}")
                            if v is not None:
                                v = dict(v)
                                v.setdefault("status", 503)
                                v.setdefault("count", 1)
                                if int(v["count"]) <= 0:
                                    v = None
                        elif k in ("hostile", "files_hostile"):
                            try:
                                v = hostile_replies.check(v)
                            except ValueError as e:
                                raise err(400, "%s: %s" % (k, e))
                        elif k in ("hang",):
                            v = bool(v)
                        elif k == "hang_path_prefix":
                            if v is not None and not isinstance(v, str):
                                raise err(400, "hang_path_prefix must be a string or null")
                        elif k == "sse_sndbuf":
                            if v is not None and not is_num(v):
                                raise err(400, "sse_sndbuf must be a number or null")
                        else:
                            if not is_num(v) or v < 0:
                                raise err(400, "%s must be a non-negative number" % k)
                        emu.knobs[k] = v
                    emu.knob_cond.notify_all()
                    if not downs:
                        return json_response(200, emu.knobs)
                # open or close listening sockets outside the knob lock
                for node, down in downs:
                    try:
                        node.set_down(down)
                    except mesos_emu.CtlError as e:
                        raise err(e.status, e.message)
                with emu.knob_cond:
                    self.refresh_mesos_knobs()
                    emu.knob_cond.notify_all()
                    return json_response(200, emu.knobs)
        elif path == "/_emu/events/close" and method == "POST":
            with emu.lock:
                subs = list(emu.subscribers)
            for s in subs:
                s.close()
            return json_response(200, {"closed": len(subs)})
        elif path == "/_emu/tasks/fail" and method == "POST":
            req = parse_json_body(body)
            tid = req.get("taskId") if isinstance(req, dict) else None
            with emu.lock:
                for app in emu.apps.values():
                    for t in list(app.tasks.values()):
                        if t.id == tid:
                            msg = req.get("message") or "Command exited with status 1"
                            app.last_failure = collections.OrderedDict([
                                ("appId", app.id), ("host", t.agent["host"]), ("message", msg),
                                ("state", "TASK_FAILED"), ("taskId", t.id),
                                ("timestamp", iso_ms(now_ms())), ("version", t.version),
                                ("slaveId", t.agent["id"])])
                            emu.kill(app, t, "TASK_FAILED", msg)
                            emu.launch(app, 1, inst_uuid=t.uuid, inc=t.inc + 1)
                            return json_response(200, {"failed": tid})
            raise err(404, "Task '%s' does not exist" % tid)
        elif path == "/_emu/tasks/health" and method == "POST":
            req = parse_json_body(body)
            tid = req.get("taskId") if isinstance(req, dict) else None
            alive = req.get("alive") if isinstance(req, dict) else None
            if not isinstance(alive, bool):
                raise err(400, "alive must be true or false")
            with emu.lock:
                for app in emu.apps.values():
                    for t in list(app.tasks.values()):
                        if t.id == tid:
                            if not app.spec.get("healthChecks"):
                                raise err(400, "app %s has no health checks" % app.id)
                            if alive == (t.sick_at is None):
                                return json_response(200, {"taskId": tid, "alive": alive})
                            t.sick_at = None if alive else now_ms()
                            if alive and t.healthy_at is None:
                                t.healthy_at = now_ms()
                            emu.touch(app)
                            emu.publish("health_status_changed_event", collections.OrderedDict([
                                ("appId", app.id), ("instanceId", t.instance_id),
                                ("version", t.version), ("alive", alive)]))
                            return json_response(200, {"taskId": tid, "alive": alive})
            raise err(404, "Task '%s' does not exist" % tid)
        elif emu.mesos is not None and (path == "/_emu/mesos" or path.startswith("/_emu/mesos/") or
                                        path in ("/_emu/tasks/log", "/_emu/sandbox/gc")):
            req = parse_json_body(body) if method == "POST" else None
            try:
                out = emu.mesos.control(method, path, req)
            except mesos_emu.CtlError as e:
                raise err(e.status, e.message)
            if out is not None:
                return json_response(200, out)
        elif path == "/_emu/state" and method == "GET":
            with emu.lock:
                return json_response(200, {
                    "apps": len(emu.apps), "groups": len(emu.groups),
                    "tasks": sum(len(a.tasks) for a in emu.apps.values()),
                    "deployments": len(emu.deployments), "subscribers": len(emu.subscribers)})
        raise err(404, "no such control route: %s %s" % (method, path))

    def mesos_node_knob(self, k, v):
        """Knobs agents / mesos_master (knob lock held): hang applies at once,
        down/up is returned as [(node, down)] to do after the lock is released."""
        emu = self.server.emu
        if emu.mesos is None:
            raise err(400, "no Mesos part in this emulator")
        if k == "mesos_master":
            targets = {"master": v}
        else:
            if not isinstance(v, dict):
                raise err(400, "agents must be {\"<agentId>\": {\"down\": bool, \"hang\": bool}}")
            targets = v
        todo = []
        for name, setting in targets.items():
            node = emu.mesos.master if k == "mesos_master" else emu.mesos.node_for_agent(name)
            if node is None:
                raise err(400, "unknown agent '%s'" % name)
            if not isinstance(setting, dict) or any(x not in ("down", "hang") for x in setting) or \
                    any(not isinstance(x, bool) for x in setting.values()):
                raise err(400, "%s must be {\"down\": bool, \"hang\": bool}" % k)
            if "hang" in setting:
                node.hang = setting["hang"]
            if "down" in setting:
                todo.append((node, setting["down"]))
        self.refresh_mesos_knobs()
        return todo

    def refresh_mesos_knobs(self):
        emu = self.server.emu
        emu.knobs["agents"] = emu.mesos.knob_view()
        m = emu.mesos.master
        emu.knobs["mesos_master"] = {"down": m.down, "hang": m.hang}

    # -- SSE --

    def serve_events(self, q):
        emu = self.server.emu
        accepts = self.headers.get_all("Accept") or []
        if "text/event-stream" not in accepts:
            self.send(Response(405, JETTY_405.encode("utf-8"), ctype="text/html;charset=utf-8"),
                      head=(self.command == "HEAD"))
            return
        types = q.get("event_type", [])
        self.close_connection = True
        sock = self.connection
        sndbuf = emu.knobs.get("sse_sndbuf")
        if sndbuf:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(sndbuf))
            except OSError:
                pass
        self.send_response(200)
        self.common_headers()
        self.send_header("Content-Type", "text/event-stream;charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        sub = Subscriber(sock, types, self.client_address[0])
        with emu.lock:
            emu.subscribers.add(sub)
            emu.publish("event_stream_attached", {"remoteAddress": sub.remote})
        try:
            self._pump(sub)
        finally:
            with emu.lock:
                emu.subscribers.discard(sub)
                emu.publish("event_stream_detached", {"remoteAddress": sub.remote})

    def _pump(self, sub):
        emu = self.server.emu
        sock = sub.sock
        sock.settimeout(0.25)
        next_hb = time.monotonic() + float(emu.knobs["heartbeat_seconds"])
        while True:
            frames = None
            with sub.cond:
                while not sub.q and not sub.closed:
                    now = time.monotonic()
                    next_hb = min(next_hb, now + float(emu.knobs["heartbeat_seconds"]))
                    if now >= next_hb:
                        break
                    sub.cond.wait(min(0.5, next_hb - now))
                if sub.closed:
                    return
                if sub.q:
                    frames = list(sub.q)
                    sub.q.clear()
                    sub.inflight = len(frames)
            if frames:
                data = b"".join(frames)
            else:
                data = b"\r\n"
                next_hb = time.monotonic() + float(emu.knobs["heartbeat_seconds"])
            view = memoryview(data)
            while view:
                try:
                    n = sock.send(view[:65536])
                except socket.timeout:
                    with sub.cond:
                        sub.stalled = True
                        limit = int(emu.knobs.get("sse_max_outstanding") or 1024)
                        if len(sub.q) + sub.inflight > limit:
                            sub._close_locked(overflow=True)
                        if sub.closed:
                            return
                    continue
                except OSError:
                    with sub.cond:
                        sub.closed = True
                    return
                if n <= 0:
                    return
                view = view[n:]
                with sub.cond:
                    sub.stalled = False
            with sub.cond:
                sub.inflight = 0

    # -- Marathon handlers (called with emu.lock held) --

    @property
    def emu(self):
        return self.server.emu

    def base_url(self):
        return "http://%s" % self.emu.leader()

    def app_or_404(self, aid):
        app = self.emu.apps.get(aid)
        if app is None:
            raise err(404, "App '%s' does not exist" % aid)
        return app

    def api_post_event(self, spec, uri):
        self.emu.publish("api_post_event", collections.OrderedDict([
            ("clientIp", self.client_address[0]), ("uri", uri), ("appDefinition", spec)]))

    def h_apps(self, method, p, q, body):
        emu = self.emu
        if method in ("GET", "HEAD"):
            return Response(200, emu.list_apps_body(q))
        if method == "POST":
            raw = parse_json_body(body)
            errs = type_check_app(raw, True)
            if errs:
                raise invalid_json(details_of(errs))
            aid = canonical_path(raw["id"], "/")
            raw = dict(raw)
            emu.validate(raw, aid)
            if aid in emu.apps:
                raise err(409, "An app with id [%s] already exists." % aid)
            emu.check_tree_conflict(aid)
            emu.check_locks([aid], qbool(q, "force", False))
            version = emu.new_version()
            spec = emu.build_spec(raw, aid, version)
            self.api_post_event(spec, "/v2/apps")
            dep = emu.deploy(collections.OrderedDict([(aid, spec)]), version, qbool(q, "force", False))
            info = collections.OrderedDict(spec)
            info["tasksStaged"] = 0
            info["tasksRunning"] = 0
            info["tasksHealthy"] = 0
            info["tasksUnhealthy"] = 0
            info["deployments"] = [{"id": dep.id}]
            return json_response(201, info, [("Location", self.base_url() + aid),
                                             ("Marathon-Deployment-Id", dep.id)])
        # bulk PUT / PATCH
        raw = parse_json_body(body)
        if not isinstance(raw, list):
            raise invalid_json([{"path": "/", "errors": ["error.expected.jsarray"]}])
        errs = []
        for i, a in enumerate(raw):
            errs += type_check_app(a, True, "(%d)" % i)
        if errs:
            raise invalid_json(details_of(errs))
        partial = qbool(q, "partialUpdate", True)
        force = qbool(q, "force", False)
        version = emu.new_version()
        changes = collections.OrderedDict()
        for a in raw:
            aid = canonical_path(a["id"], "/")
            old = emu.apps.get(aid)
            if old is None and method == "PATCH":
                raise err(404, "App '%s' does not exist" % aid)
            if old is None:
                emu.check_tree_conflict(aid)
                r = dict(a)
            elif partial or method == "PATCH":
                r = merge_update(raw_from_spec(old.spec), a)
            else:
                r = dict(a)
            r["id"] = aid
            emu.validate(r, aid)
            changes[aid] = (r, old)
        emu.check_locks(changes.keys(), force)
        specs = collections.OrderedDict()
        for aid, (r, old) in changes.items():
            specs[aid] = emu.build_spec(r, aid, version, old.spec if old else None)
        for aid, spec in specs.items():
            self.api_post_event(spec, "/v2/apps")
        dep = emu.deploy(specs, version, force)
        return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", dep.id)]),
                             [("Marathon-Deployment-Id", dep.id)])

    def h_app(self, method, p, q, body):
        emu = self.emu
        aid = canonical_path(p["id"], "/")
        if method in ("GET", "HEAD"):
            app = self.app_or_404(aid)
            embeds = parse_embeds(q.get("embed", []), ("group.apps.", "apps.", "app."))
            embeds |= {"tasks", "lastTaskFailure", "counts", "deployments"}
            return Response(200, b'{"app":' + emu.app_fragment(app, embeds) + b"}")
        if method == "DELETE":
            self.app_or_404(aid)
            force = qbool(q, "force", True)
            version = emu.new_version()
            dep = emu.deploy(collections.OrderedDict([(aid, None)]), version, force)
            return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", dep.id)]),
                                 [("Marathon-Deployment-Id", dep.id)])
        # PUT / PATCH
        raw = parse_json_body(body)
        errs = type_check_app(raw, False)
        if errs:
            raise invalid_json(details_of(errs))
        force = qbool(q, "force", False)
        partial = qbool(q, "partialUpdate", True) or method == "PATCH"
        old = emu.apps.get(aid)
        if old is None and method == "PATCH":
            raise err(404, "App '%s' does not exist" % aid)
        version = emu.new_version()
        uri = "/v2/apps" + aid
        if old is not None and raw.get("version") is not None and \
                not any(k not in ("id", "version") for k in raw if raw[k] is not None):
            # rollback to an older version
            want = parse_ts(raw["version"])
            target = None
            for v, s in old.versions.items():
                if parse_ts(v) == want:
                    target = s
            if target is None:
                raise err(404, "App '%s' does not exist in version %s" % (aid, raw["version"]))
            emu.check_locks([aid], force)
            spec = with_version(raw_from_spec(target), version, version, version)
        else:
            if old is None:
                r = dict(raw)
                emu.check_tree_conflict(aid)
            elif partial:
                r = merge_update(raw_from_spec(old.spec), raw)
            else:
                r = dict(raw)
            r["id"] = aid
            r.pop("version", None)
            emu.validate(r, aid)
            emu.check_locks([aid], force)
            spec = emu.build_spec(r, aid, version, old.spec if old else None)
        self.api_post_event(spec, uri)
        dep = emu.deploy(collections.OrderedDict([(aid, spec)]), version, force)
        res = collections.OrderedDict([("version", version), ("deploymentId", dep.id)])
        hdrs = [("Marathon-Deployment-Id", dep.id)]
        if old is None:
            return json_response(201, res, [("Location", self.base_url() + aid)] + hdrs)
        return json_response(200, res, hdrs)

    def h_app_star(self, method, p, q, body):
        emu = self.emu
        gid = canonical_path(p["id"] or "/", "/")
        if gid not in emu.groups:
            raise err(404, "Group '%s' does not exist" % gid)
        embeds = parse_embeds(q.get("embed", []), ("group.apps.", "apps.", "app."))
        prefix = "/" if gid == "/" else gid + "/"
        parts = [emu.app_fragment(a, embeds) for a in emu.sorted_apps() if a.id.startswith(prefix)]
        return Response(200, b'{"*":[' + b",".join(parts) + b"]}")

    def h_app_restart(self, method, p, q, body):
        emu = self.emu
        aid = canonical_path(p["id"], "/")
        app = self.app_or_404(aid)
        force = qbool(q, "force", False)
        emu.check_locks([aid], force)
        version = emu.new_version()
        spec = with_version(raw_from_spec(app.spec), version, version, version)
        dep = emu.deploy(collections.OrderedDict([(aid, spec)]), version, force, restart={aid})
        return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", dep.id)]),
                             [("Marathon-Deployment-Id", dep.id)])

    def h_app_tasks(self, method, p, q, body):
        emu = self.emu
        raw_id = p["id"]
        if method in ("GET", "HEAD"):
            accept = self.headers.get("Accept") or ""
            if "text/plain" in accept and "json" not in accept and "*/*" not in accept:
                raise err(406, "The text/plain output is deprecated and will be removed in a "
                               "future version. Use --deprecated_features=text_plain_tasks to enable it.")
            if raw_id == "*" or raw_id.endswith("/*"):
                gid = canonical_path(raw_id[:-1] or "/", "/")
                if gid not in emu.groups:
                    raise err(404, "Group '%s' does not exist" % gid)
                prefix = "/" if gid == "/" else gid + "/"
                apps = [a for a in emu.sorted_apps() if a.id.startswith(prefix)]
            else:
                apps = [self.app_or_404(canonical_path(raw_id, "/"))]
            tasks = [emu.task_json(a, t) for a in apps for t in a.tasks.values()]
            return json_response(200, {"tasks": tasks})
        aid = canonical_path(raw_id, "/")
        scale = qbool(q, "scale", False)
        wipe = qbool(q, "wipe", False)
        force = qbool(q, "force", False)
        if scale and wipe:
            raise err(400, "You cannot use scale and wipe at the same time.")
        app = emu.apps.get(aid)
        if app is None:
            raise err(404, ("Path '%s' does not exist" if scale else "App '%s' does not exist") % aid)
        host = q.get("host", [None])[0]
        victims = [t for t in app.tasks.values() if host in (None, "*") or t.agent["host"] == host]
        return self._kill_tasks({aid: victims}, scale, wipe, force, single=False)

    def h_app_task(self, method, p, q, body):
        emu = self.emu
        aid = canonical_path(p["id"], "/")
        scale = qbool(q, "scale", False)
        wipe = qbool(q, "wipe", False)
        force = qbool(q, "force", False)
        if scale and wipe:
            raise err(400, "You cannot use scale and wipe at the same time.")
        app = emu.apps.get(aid)
        if app is None:
            raise err(404, ("Path '%s' does not exist" if scale else "App '%s' does not exist") % aid)
        tid = p["task"]
        victims = [t for t in app.tasks.values() if t.id == tid or t.instance_id == tid]
        if not victims:
            raise err(404, "Task '%s' does not exist" % tid)
        return self._kill_tasks({aid: victims[:1]}, scale, wipe, force, single=True)

    def _kill_tasks(self, by_app, scale, wipe, force, single):
        emu = self.emu
        if scale:
            version = emu.new_version()
            changes = collections.OrderedDict()
            kill = {}
            for aid, victims in by_app.items():
                app = emu.apps[aid]
                new = dict(raw_from_spec(app.spec))
                new["instances"] = max(0, app.spec["instances"] - len(victims))
                vi = app.spec.get("versionInfo") or {}
                spec = with_version(normalize_app(new, aid, emu.ports), version, version,
                                    vi.get("lastConfigChangeAt") or version)
                changes[aid] = spec
                kill[aid] = [t.id for t in victims]
            dep = emu.deploy(changes, version, force, kill=kill)
            return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", dep.id)]),
                                 [("Marathon-Deployment-Id", dep.id)])
        out = []
        for aid, victims in by_app.items():
            app = emu.apps[aid]
            for t in victims:
                out.append(emu.task_json(app, t))
                emu.kill_and_replace(app, t, wipe=wipe)
        if single:
            return json_response(200, {"task": out[0]})
        return json_response(200, {"tasks": out})

    def h_app_versions(self, method, p, q, body):
        app = self.app_or_404(canonical_path(p["id"], "/"))
        vs = sorted(app.versions.keys(), key=lambda v: parse_ts(v) or 0, reverse=True)
        return json_response(200, {"versions": vs})

    def h_app_version(self, method, p, q, body):
        aid = canonical_path(p["id"], "/")
        app = self.app_or_404(aid)
        want = parse_ts(p["ts"])
        for v, s in app.versions.items():
            if want is not None and parse_ts(v) == want:
                return json_response(200, s)
        raise err(404, "App '%s' does not exist in version %s" % (aid, p["ts"]))

    def h_tasks(self, method, p, q, body):
        emu = self.emu
        accept = self.headers.get("Accept") or ""
        if "text/plain" in accept and "json" not in accept and "*/*" not in accept:
            raise err(406, "The text/plain output is deprecated and will be removed in a "
                           "future version. Use --deprecated_features=text_plain_tasks to enable it.")
        wanted = set()
        for v in q.get("status", []) + q.get("status[]", []):
            v = v.strip().lower()
            if v == "running":
                wanted.add("TASK_RUNNING")
            elif v == "staging":
                wanted |= {"TASK_STAGING", "TASK_STARTING"}
        key = ("tasks", tuple(sorted(wanted)))
        b = emu.body_cache.get(key)
        if b is None:
            tasks = [emu.task_json(a, t, service_ports=True) for a in emu.sorted_apps()
                     for t in a.tasks.values() if not wanted or t.state in wanted]
            b = emu.body_cache[key] = dumps({"tasks": tasks})
        return Response(200, b)

    def h_tasks_delete(self, method, p, q, body):
        emu = self.emu
        raw = parse_json_body(body)
        if not isinstance(raw, dict):
            raise invalid_json([{"path": "/", "errors": ["error.expected.jsobject"]}])
        ids = raw.get("ids")
        if ids is None:
            raise invalid_json([{"path": "/ids", "errors": ["error.path.missing"]}])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid_json([{"path": "/ids", "errors": ["error.expected.jsarray"]}])
        scale = qbool(q, "scale", False)
        wipe = qbool(q, "wipe", False)
        force = qbool(q, "force", False)
        if scale and wipe:
            raise err(400, "You cannot use scale and wipe at the same time.")
        by_app = collections.OrderedDict()
        for tid in ids:
            m = parse_task_id(tid)
            if not m:
                raise err(400, "Invalid task id '%s'. [%s (of class java.lang.String)]" % (tid, tid))
            aid = "/" + m.group("safe").replace("_", "/")
            app = emu.apps.get(aid)
            if app is None:
                continue
            for t in app.tasks.values():
                if t.id == tid:
                    by_app.setdefault(aid, []).append(t)
        if scale and not by_app:
            version = emu.new_version()
            dep = emu.deploy(collections.OrderedDict(), version, force)
            return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", dep.id)]),
                                 [("Marathon-Deployment-Id", dep.id)])
        return self._kill_tasks(by_app, scale, wipe, force, single=False)

    def h_deployments(self, method, p, q, body):
        return json_response(200, [d.to_json() for d in self.emu.deployments.values()])

    def h_deployment(self, method, p, q, body):
        emu = self.emu
        dep = emu.deployments.get(p["dep"])
        if dep is None:
            raise err(404, "DeploymentPlan %s does not exist" % p["dep"])
        if qbool(q, "force", False):
            emu.cancel(dep, "Deployment was cancelled (force)")
            return Response(202, b"")
        emu.cancel(dep, "Deployment was cancelled and rolled back")
        version = emu.new_version()
        changes = collections.OrderedDict()
        for aid, orig in dep.original.items():
            cur = emu.apps.get(aid)
            if orig is None:
                if cur is not None:
                    changes[aid] = None
            else:
                # the original definition comes back as a new version
                if cur is not None and config_of(cur.spec) == config_of(orig):
                    vi = cur.spec.get("versionInfo") or {}
                    changes[aid] = with_version(raw_from_spec(orig), version, version,
                                                vi.get("lastConfigChangeAt") or version)
                else:
                    changes[aid] = with_version(raw_from_spec(orig), version, version, version)
        new = emu.deploy(changes, version, True)
        return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", new.id)]),
                             [("Marathon-Deployment-Id", new.id)])

    def _group_embeds(self, q):
        vals = q.get("embed", [])
        if not vals:
            return {"groups", "apps", "pods"}, set()
        gembeds, aembeds = set(), set()
        for v in vals:
            if v == "group.groups":
                gembeds.add("groups")
            elif v == "group.apps":
                gembeds.add("apps")
            elif v == "group.pods":
                gembeds.add("pods")
            elif v.startswith("group.apps."):
                gembeds.add("apps")
                aembeds |= parse_embeds([v], ("group.apps.",))
        return gembeds, aembeds

    def h_group_root(self, method, p, q, body):
        return self._group("/", method, q)

    def h_group(self, method, p, q, body):
        return self._group(canonical_path(p["id"], "/"), method, q)

    def _group(self, gid, method, q):
        emu = self.emu
        if gid not in emu.groups:
            raise err(404, "Group '%s' does not exist" % gid)
        if method in ("GET", "HEAD"):
            g, a = self._group_embeds(q)
            return Response(200, emu.group_json_bytes(gid, g, a))
        force = qbool(q, "force", False)
        prefix = "/" if gid == "/" else gid + "/"
        victims = [aid for aid in sorted(emu.apps) if aid.startswith(prefix)]
        emu.check_locks(victims, force)
        version = emu.new_version()
        for g in list(emu.groups):
            if g != "/" and (g == gid or g.startswith(prefix)):
                del emu.groups[g]
        dep = emu.deploy(collections.OrderedDict((aid, None) for aid in victims), version, force,
                         group_id=gid)
        return json_response(200, collections.OrderedDict([("version", version), ("deploymentId", dep.id)]),
                             [("Marathon-Deployment-Id", dep.id)])

    def h_group_apps(self, method, p, q, body):
        emu = self.emu
        gid = canonical_path(p["id"], "/")
        if gid not in emu.groups:
            raise err(404, "Group '%s' does not exist" % gid)
        parts = [emu.app_fragment(a, set(), False, False) for a in emu.sorted_apps() if parent_of(a.id) == gid]
        return Response(200, b"[" + b",".join(parts) + b"]")

    def h_group_versions(self, method, p, q, body):
        emu = self.emu
        gid = canonical_path(p["id"], "/")
        if gid not in emu.groups:
            raise err(404, "Group '%s' does not exist" % gid)
        return json_response(200, [emu.groups[gid]])

    def h_queue(self, method, p, q, body):
        return json_response(200, {"queue": []})

    def h_queue_delay(self, method, p, q, body):
        aid = canonical_path(p["id"], "/")
        raise err(404, "Application %s not found in tasks queue." % aid)

    def h_info(self, method, p, q, body):
        emu = self.emu
        o = emu.opts
        info = collections.OrderedDict([
            ("name", "marathon"), ("version", MARATHON_VERSION), ("buildref", BUILDREF),
            ("elected", True), ("leader", emu.leader()), ("frameworkId", emu.framework_id),
            ("marathon_config", collections.OrderedDict([
                ("access_control_allow_origin", None), ("checkpoint", True),
                ("decline_offer_duration", 120000), ("default_network_name", None),
                ("env_vars_prefix", None), ("executor", "//cmd"), ("failover_timeout", 604800),
                ("features", []), ("framework_name", "marathon"), ("ha", True),
                ("hostname", emu.host), ("launch_token", 100),
                ("launch_token_refresh_interval", 30000),
                ("leader_proxy_connection_timeout_ms", 5000),
                ("leader_proxy_read_timeout_ms", 10000),
                ("local_port_max", 20000), ("local_port_min", 10000),
                ("master", o.mesos_master), ("max_instances_per_offer", 5),
                ("mesos_bridge_name", "mesos-bridge"),
                ("mesos_heartbeat_failure_threshold", 5), ("mesos_heartbeat_interval", 15000),
                ("mesos_leader_ui_url", o.mesos_leader_ui_url or
                 (emu.mesos.master_url + "/" if emu.mesos is not None else "http://127.0.0.1:5050/")),
                ("mesos_role", None),
                ("mesos_user", "root"), ("min_revive_offers_interval", 5000),
                ("offer_matching_timeout", 3000), ("on_elected_prepare_timeout", 180000),
                ("reconciliation_initial_delay", 15000), ("reconciliation_interval", 600000),
                ("scale_apps_initial_delay", 15000), ("scale_apps_interval", 300000),
                ("store_cache", True), ("task_launch_confirm_timeout", 300000),
                ("task_launch_timeout", 300000), ("task_lost_expunge_initial_delay", 300000),
                ("task_lost_expunge_interval", 30000), ("task_reservation_timeout", 20000),
                ("webui_url", None)])),
            ("zookeeper_config", collections.OrderedDict([
                ("zk", o.zk), ("zk_compression", True), ("zk_compression_threshold", 65536),
                ("zk_connection_timeout", 10000), ("zk_max_node_size", 1024000),
                ("zk_max_versions", MAX_VERSIONS), ("zk_session_timeout", 10000),
                ("zk_timeout", 10000)])),
            ("http_config", collections.OrderedDict([
                ("http_port", emu.port), ("https_port", 8443)]))])
        return json_response(200, info)

    def h_leader(self, method, p, q, body):
        if method == "DELETE":
            return json_response(200, {"message": "Leadership abdicated"})
        return json_response(200, {"leader": self.emu.leader()})

    def h_pods(self, method, p, q, body):
        return json_response(200, [])

    def h_ping(self, method, p, q, body):
        accept = self.headers.get("Accept") or "*/*"
        if "application/json" in accept and "text/plain" not in accept and "*/*" not in accept:
            return Response(200, b'"pong"', ctype="application/json")
        if "text/html" in accept and "text/plain" not in accept and "*/*" not in accept:
            return Response(200, b"pong", ctype="text/html")
        return Response(200, b"pong\n", ctype="text/plain")

    def h_metrics(self, method, p, q, body):
        emu = self.emu
        tasks = sum(len(a.tasks) for a in emu.apps.values())
        gauges = collections.OrderedDict([
            ("marathon.apps.active.gauge", {"value": len(emu.apps)}),
            ("marathon.instances.running.gauge", {"value": tasks}),
            ("marathon.deployments.active.gauge", {"value": len(emu.deployments)}),
            ("marathon.http.event-streams.active.gauge", {"value": len(emu.subscribers)})])
        return json_response(200, collections.OrderedDict([
            ("version", "4.0.0"), ("counters", {}), ("gauges", gauges), ("histograms", {}),
            ("meters", {}), ("timers", {})]))

    def h_root(self, method, p, q, body):
        return Response(302, b"", headers=[("Location", self.base_url() + "/ui/")])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, BrokenPipeError)):
            return
        warn("connection from %s failed:\n%s" % (client_address, traceback.format_exc()))


def add_security_args(ap):
    """--tls-* and --basic-auth (see the head of this file)."""
    ap.add_argument("--tls-cert", metavar="PEM", help="certificate for the HTTPS port")
    ap.add_argument("--tls-key", metavar="PEM", help="its private key")
    ap.add_argument("--tls-port-file", metavar="FILE",
                    help="also serve HTTPS on a free port, written to FILE")
    ap.add_argument("--basic-auth", metavar="USER:PASSWORD",
                    help="answer 401 to Marathon routes without these credentials")


def start_security(opts, server, emu):
    """Apply --basic-auth to server and start the HTTPS twin, if asked.
    Returns the HTTPS server or None."""
    server.basic_auth = opts.basic_auth
    if not opts.tls_port_file:
        return None
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
    tls = Server((opts.host, 0), Handler, bind_and_activate=False)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    tls.server_bind()
    tls.server_activate()
    tls.emu = emu
    tls.basic_auth = opts.basic_auth
    tmp = "%s.tmp.%d" % (opts.tls_port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % tls.server_address[1])
    os.rename(tmp, opts.tls_port_file)
    threading.Thread(target=tls.serve_forever, kwargs={"poll_interval": 0.2},
                     daemon=True).start()
    return tls


def main(argv=None):
    ap = argparse.ArgumentParser(description="Marathon 1.10.26 emulator for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--load", action="append", default=[], metavar="GROUP_JSON")
    ap.add_argument("--synthetic-apps", type=int, default=0, metavar="N")
    ap.add_argument("--synthetic-tasks", type=int, default=1, metavar="M")
    ap.add_argument("--deploy-seconds", type=float, default=0.5)
    ap.add_argument("--task-start-seconds", type=float, default=0.2)
    ap.add_argument("--heartbeat-seconds", type=float, default=10.0)
    ap.add_argument("--legacy-task-ids", action="store_true",
                    help="tasks created at startup use the pre-1.8 id form <app>.<uuid>")
    ap.add_argument("--mesos-master", default="zk://127.0.0.1:2181/mesos")
    ap.add_argument("--mesos-leader-ui-url", default=None,
                    help="default: http://127.0.0.1:MASTERPORT/ of the emulated master")
    ap.add_argument("--mesos-agents", type=int, default=2, metavar="N",
                    help="number of emulated Mesos agents (default 2, at least 1)")
    ap.add_argument("--run-commands", action="store_true",
                    help="run each task's cmd as a real local process in its sandbox "
                         "(make demo); one that ends is relaunched, as Marathon does")
    ap.add_argument("--log-lines-per-second", type=float, default=None, metavar="R",
                    help="the knob log_lines_per_second from the start (default 5); "
                         "0 for a large cluster whose logs should not grow")
    ap.add_argument("--agent-hostnames", default=None, metavar="H1,H2,...",
                    help="the agents' hostnames, in order (default agent-N.emu.local); "
                         "tasks report them as their host")
    ap.add_argument("--sandbox-root", default=None, metavar="DIR",
                    help="Mesos work_dir of the agents (default: a temporary directory)")
    ap.add_argument("--zk", default="zk://127.0.0.1:2181/marathon")
    ap.add_argument("--seed", type=int, default=None)
    add_security_args(ap)
    opts = ap.parse_args(argv)
    if opts.tls_port_file and not (opts.tls_cert and opts.tls_key):
        sys.stderr.write("marathon_emu: --tls-port-file needs --tls-cert and --tls-key\n")
        return 2
    if opts.seed is not None:
        random.seed(opts.seed)

    if opts.mesos_agents < 1:
        sys.stderr.write("marathon_emu: --mesos-agents must be at least 1\n")
        return 2
    if opts.agent_hostnames and len(opts.agent_hostnames.split(",")) != opts.mesos_agents:
        sys.stderr.write("marathon_emu: --agent-hostnames needs one name per agent (%d)\n"
                         % opts.mesos_agents)
        return 2
    lock = threading.RLock()
    knobs = dict(KNOB_DEFAULTS)
    if opts.log_lines_per_second is not None:
        knobs["log_lines_per_second"] = opts.log_lines_per_second
    knob_cond = threading.Condition()
    try:
        mesos = mesos_emu.Mesos(opts.mesos_agents, opts.sandbox_root, host=opts.host,
                                state_lock=lock, knobs=knobs, knob_cond=knob_cond,
                                hostnames=(opts.agent_hostnames or "").split(",")
                                if opts.agent_hostnames else None,
                                run_commands=opts.run_commands)
    except OSError as e:
        sys.stderr.write("marathon_emu: cannot start the Mesos part: %s\n" % e)
        return 2
    emu = Marathon(opts, mesos, lock=lock, knobs=knobs, knob_cond=knob_cond)
    mesos.on_exit = emu.task_exited
    emu.knobs["agents"] = mesos.knob_view()
    mesos.begin_bulk()
    with emu.lock:
        for f in opts.load:
            try:
                n = emu.load_group_file(f, legacy=opts.legacy_task_ids)
            except (OSError, ValueError) as e:
                sys.stderr.write("marathon_emu: cannot load %s: %s\n" % (f, e))
                mesos.stop()
                return 2
            if n == 0:
                warn("%s: no apps loaded" % f)
        if opts.synthetic_apps > 0:
            emu.synthesize(opts.synthetic_apps, max(0, opts.synthetic_tasks), legacy=opts.legacy_task_ids)
        mesos.end_bulk()
    emu.sched.start()

    server = Server((opts.host, opts.port), Handler)
    server.emu = emu
    emu.port = server.server_address[1]
    mesos.marathon_port = emu.port
    mesos.marathon_host = opts.host
    mesos.start()
    start_security(opts, server, emu)
    if opts.port_file:
        tmp = "%s.tmp.%d" % (opts.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % emu.port)
        os.rename(tmp, opts.port_file)

    def on_term(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        with emu.lock:
            subs = list(emu.subscribers)
        for s in subs:
            s.close()
        server.server_close()
        mesos.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
