"""mesos_emu.py: the Mesos master and agents of the archonfs test cluster.

Imported by marathon_emu.py and run in the same process: the Marathon
emulator's tasks are the Mesos tasks, its agents are these agents and its
frameworkId is the Marathon framework registered here.  Python 3 standard
library only.  It answers like Mesos 1.11 as shared/reference/API-NOTES.md
section 2 describes it (and as the DataDog master/agent fixtures show it):

  master (own loopback port):
    /master/state  /state           /master/slaves   /slaves
    /master/tasks  /tasks           /master/frameworks /frameworks
    /master/state-summary           /master/redirect /redirect (307)
    /master/flags  /version  /health  /files/* (nothing attached)
  each agent (own loopback port, process id slave(1)):
    /slave(1)/state  /state  /slave(1)/flags  /flags  /version  /health
    /files/read  /files/browse  /files/download  /files/debug

JSON is written the way Mesos' stout writer does it: '/' escaped as '\\/',
control characters and DEL as \\u00XX, bytes >= 0x80 passed through as they
are (so a /files/read of non-UTF-8 content is not valid UTF-8 JSON), doubles
printed with 15 significant digits and a mandatory decimal point (128.0).

Sandboxes are real directories under --sandbox-root laid out as Mesos does:
<root>/slaves/<agent>/frameworks/<fw>/executors/<task>/runs/<container>/
with stdout, stderr, conf/app.properties and a runs/latest symlink.  A
writer thread appends "<taskId> stdout <N>\\n" / "<taskId> stderr <N>\\n" to
every running task's files at the knob log_lines_per_second (one write()
per line).

The emulator's control API for this part lives in marathon_emu.py's /_emu
(see Mesos.control below): POST /_emu/tasks/log, POST /_emu/sandbox/gc,
GET /_emu/mesos, GET/DELETE /_emu/mesos/requests, GET /_emu/mesos/stats, and the knobs
log_lines_per_second, agents {"<id>": {"down","hang"}},
mesos_master {"down","hang"} and files_hostile (tests/hostile_replies.py:
every agent's /files/read answers a broken reply).
"""

import collections
import ctypes
import errno
import grp
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import stat
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import hostile_replies

MESOS_VERSION = "1.11.0"
MESOS_GIT_SHA = "3b3a1e8e0ba8ee8e2a9d7a0b4c8d7e1f5b2c6a90"   # a fixture value
MESOS_BUILD_DATE = "2020-11-19 10:23:42"
MESOS_BUILD_TIME = 1605781422.0
MESOS_BUILD_USER = "emu"
CLUSTER = "archonfs-emu"                      # the --cluster flag of master and agents

MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000      # master flag default
MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK = 150   # agent constant
TASKS_LIMIT = 100                             # /master/tasks default limit
READ_CAP = 16 * 4096                          # 16 pages: /files/read cap
EXECUTOR_CPUS = 0.1                           # command executor overhead
EXECUTOR_MEM = 32.0
FILL_CHUNK_LINES = 400000

TASK_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING",
               "TASK_FINISHED", "TASK_KILLED", "TASK_FAILED", "TASK_LOST",
               "TASK_ERROR", "TASK_UNREACHABLE")
TERMINAL = ("TASK_FINISHED", "TASK_KILLED", "TASK_FAILED", "TASK_LOST", "TASK_ERROR",
            "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR")

MIME = {".txt": "text/plain", ".json": "application/json", ".html": "text/html",
        ".htm": "text/html", ".js": "application/javascript", ".css": "text/css",
        ".xml": "application/xml", ".gz": "application/x-gzip",
        ".tar": "application/x-tar", ".png": "image/png", ".jpg": "image/jpeg",
        ".gif": "image/gif", ".zip": "application/zip", ".pdf": "application/pdf"}


class CtlError(Exception):
    """An /_emu control request failed: marathon_emu answers it as {"message":...}."""

    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


def warn(msg):
    sys.stderr.write("mesos_emu: warning: %s\n" % msg)
    sys.stderr.flush()


# --- JSON as stout writes it -----------------------------------------------------

_ESC_SIMPLE = ((b"\\", b"\\\\"), (b'"', b'\\"'), (b"/", b"\\/"), (b"\b", b"\\b"),
               (b"\f", b"\\f"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t"))
_ESC_OTHER = re.compile(rb"[\x00-\x1f\x7f]")


def escape_bytes(b):
    """Bytes -> the inside of a stout JSON string (bytes >= 0x80 left raw)."""
    for raw, esc in _ESC_SIMPLE:
        if raw in b:
            b = b.replace(raw, esc)
    if _ESC_OTHER.search(b):
        b = _ESC_OTHER.sub(lambda m: b"\\u%04x" % m.group()[0], b)
    return b


def fmt_double(v):
    """stout NumberWriter for doubles: %#.15g, trailing zeros trimmed, '.0' kept."""
    s = "%#.*g" % (15, v)
    s = s.rstrip("0")
    if s.endswith("."):
        s += "0"
    return s


class Raw(bytes):
    """Already encoded JSON, put into the output as it is."""


def mjson(obj):
    out = []
    _mjson(obj, out)
    return b"".join(out)


def _mjson(o, out):
    if isinstance(o, Raw):
        out.append(o)
    elif o is None:
        out.append(b"null")
    elif o is True:
        out.append(b"true")
    elif o is False:
        out.append(b"false")
    elif isinstance(o, int):
        out.append(str(o).encode())
    elif isinstance(o, float):
        out.append(fmt_double(o).encode())
    elif isinstance(o, str):
        out.append(b'"' + escape_bytes(o.encode("utf-8", "surrogateescape")) + b'"')
    elif isinstance(o, (bytes, bytearray)):
        out.append(b'"' + escape_bytes(bytes(o)) + b'"')
    elif isinstance(o, dict):
        out.append(b"{")
        first = True
        for k, v in o.items():
            if not first:
                out.append(b",")
            first = False
            _mjson(k, out)
            out.append(b":")
            _mjson(v, out)
        out.append(b"}")
    elif isinstance(o, (list, tuple, collections.deque)):
        out.append(b"[")
        first = True
        for v in o:
            if not first:
                out.append(b",")
            first = False
            _mjson(v, out)
        out.append(b"]")
    else:
        raise TypeError("cannot encode %r" % (o,))


def sorted_obj(d):
    """A JSON::Object (std::map): keys in byte order."""
    return collections.OrderedDict(sorted(d.items(), key=lambda kv: kv[0].encode()))


# --- small helpers ---------------------------------------------------------------

def numify(s):
    """stout numify<int64>: decimal with optional sign, or (-)0x hex; None if not."""
    if s is None:
        return None
    if re.fullmatch(r"[+-]?[0-9]+", s):
        v = int(s, 10)
    elif re.fullmatch(r"-?0[xX][0-9a-fA-F]+", s):
        v = int(s, 16)
    else:
        return None
    if not -(1 << 63) <= v < (1 << 63):
        return None
    return v


def ranges_str(ports):
    """[31000, 31001, 31005] -> "[31000-31001, 31005-31005]" (Mesos Value::Ranges)."""
    ps = sorted(set(int(p) for p in ports))
    out = []
    for p in ps:
        if out and out[-1][1] + 1 == p:
            out[-1][1] = p
        else:
            out.append([p, p])
    return "[" + ", ".join("%d-%d" % (a, b) for a, b in out) + "]"


def resources(cpus, mem, disk, gpus=0.0, ports=None):
    d = {"cpus": float(cpus), "disk": float(disk), "gpus": float(gpus), "mem": float(mem)}
    if ports:
        d["ports"] = ranges_str(ports)
    return sorted_obj(d)


def sum_resources(tasks):
    """The summed resources of tasks (MTask), ports merged."""
    c = m = d = g = 0.0
    ports = []
    for t in tasks:
        r = t.resources
        c += r["cpus"]
        m += r["mem"]
        d += r["disk"]
        g += r["gpus"]
        ports += t.ports
    return resources(c, m, d, g, ports)


def add_resources(a, b):
    d = {k: a.get(k, 0.0) + b.get(k, 0.0) for k in ("cpus", "disk", "gpus", "mem")}
    ports = []
    for r in (a, b):
        for rng in re.findall(r"(\d+)-(\d+)", r.get("ports", "")):
            ports += list(range(int(rng[0]), int(rng[1]) + 1))
    return resources(d["cpus"], d["mem"], d["disk"], d["gpus"], ports)


def stout_join(a, b):
    """stout path::join(a, b): one trailing '/' of a and one leading '/' of b dropped."""
    if a.endswith("/"):
        a = a[:-1]
    if b.startswith("/"):
        b = b[1:]
    return a + "/" + b


def stout_join_all(parts):
    if not parts:
        return ""
    r = parts[0]
    for p in parts[1:]:
        r = stout_join(r, p)
    return r


def from_uri(p):
    return p[len("file://"):] if p.startswith("file://") else p


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.realpath.restype = ctypes.c_void_p
    _libc.realpath.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    _libc.free.argtypes = [ctypes.c_void_p]
except (OSError, AttributeError):
    _libc = None


def c_realpath(path):
    """realpath(3) exactly as stout's os::realpath: None for ENOENT/ENOTDIR,
    OSError for other failures."""
    if _libc is not None:
        p = _libc.realpath(os.fsencode(path), None)
        if not p:
            e = ctypes.get_errno()
            if e in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise OSError(e, os.strerror(e))
        try:
            return os.fsdecode(ctypes.string_at(p))
        finally:
            _libc.free(p)
    try:
        os.stat(path)
        return os.path.realpath(path, strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return None


def mode_string(m):
    if stat.S_ISREG(m):
        t = "-"
    elif stat.S_ISDIR(m):
        t = "d"
    elif stat.S_ISCHR(m):
        t = "c"
    elif stat.S_ISBLK(m):
        t = "b"
    elif stat.S_ISFIFO(m):
        t = "p"
    elif stat.S_ISLNK(m):
        t = "l"
    elif stat.S_ISSOCK(m):
        t = "s"
    else:
        t = "-"
    bits = ""
    for r, w, x in ((stat.S_IRUSR, stat.S_IWUSR, stat.S_IXUSR),
                    (stat.S_IRGRP, stat.S_IWGRP, stat.S_IXGRP),
                    (stat.S_IROTH, stat.S_IWOTH, stat.S_IXOTH)):
        bits += ("r" if m & r else "-") + ("w" if m & w else "-") + ("x" if m & x else "-")
    return t + bits


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def app_hostname(app_id):
    """Marathon's TaskInfo name: PathId.toHostname (/prod/web -> web.prod)."""
    return ".".join(reversed([s for s in app_id.split("/") if s]))


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


_HUNDRED = "".join("fill @%02d\n" % i for i in range(100)).encode()


def fill_chunks(k, n):
    """Yield (bytes, next_k): exactly n bytes of lines 'fill <k>\\n', k increasing;
    the last line is padded with spaces so that every line stays whole."""
    remaining = n
    while remaining >= 64:
        d = len(str(k))
        width = 6 + d
        if k >= 100 and k % 100 == 0:
            # whole hundreds at once: one bytes.replace per 100 lines
            nb = min((10 ** d - k) // 100, (remaining - 40) // (100 * width),
                     FILL_CHUNK_LINES // 100)
            if nb > 0:
                p0 = k // 100
                chunk = b"".join([_HUNDRED.replace(b"@", b"%d" % p) for p in range(p0, p0 + nb)])
                k += 100 * nb
                remaining -= len(chunk)
                yield chunk, k
                continue
        count = min(10 ** d - k, (remaining - 40) // width, 100 - k % 100)
        if count <= 0:
            break
        chunk = ("fill " + "\nfill ".join(map(str, range(k, k + count))) + "\n").encode()
        k += count
        remaining -= len(chunk)
        yield chunk, k
    tail = []
    while remaining > 0:
        line = "fill %d" % k
        if remaining < len(line) + 1:
            tail.append(line[:remaining - 1] + "\n" if remaining > 1 else "\n")
            remaining = 0
        elif remaining - (len(line) + 1) < len("fill %d\n" % (k + 1)):
            tail.append(line + " " * (remaining - len(line) - 1) + "\n")
            remaining = 0
        else:
            tail.append(line + "\n")
            remaining -= len(line) + 1
        k += 1
    if tail:
        yield "".join(tail).encode(), k


# --- model -----------------------------------------------------------------------------

class MTask(object):
    """One Marathon task as Mesos sees it: task + its command executor + sandbox."""

    def __init__(self, mesos, agent, task_id, app_id, spec, ports, ip):
        self.mesos = mesos
        self.agent = agent
        self.id = task_id
        self.app_id = app_id
        self.name = app_hostname(app_id)
        self.state = "TASK_STAGING"
        self.statuses = []
        self.container = str(uuid.uuid4())
        self.executor_pid = next(mesos.pid_seq)
        self.ip = ip
        self.ports = [int(p) for p in ports]
        self._raw = {}
        self.resources = resources(spec.get("cpus", 1), spec.get("mem", 128),
                                   spec.get("disk", 0), spec.get("gpus", 0), ports)
        self.executor_resources = add_resources(
            self.resources, resources(EXECUTOR_CPUS, EXECUTOR_MEM, 0))
        self.labels = [collections.OrderedDict([("key", k), ("value", v)])
                       for k, v in sorted((spec.get("labels") or {}).items())]
        names = [pd.get("name") for pd in spec.get("portDefinitions") or []]
        dports = []
        for i, p in enumerate(ports):
            e = {"number": p, "protocol": "tcp"}
            if i < len(names) and names[i]:
                e["name"] = names[i]
            dports.append(sorted_obj(e))
        self.discovery = sorted_obj({"name": self.name, "ports": {"ports": dports},
                                     "visibility": "FRAMEWORK"})
        cmd = spec.get("cmd")
        if cmd is None and spec.get("args"):
            cmd = " ".join(spec["args"])
        cmd = cmd or ""
        self.cmd = cmd
        self.proc = None            # the real process (--run-commands)
        shown = cmd[:12] + "..." if len(cmd) > 15 else cmd
        self.executor_name = "Command Executor (Task: %s) (Command: sh -c '%s')" % (task_id, shown)
        fw = mesos.framework_id
        self.executor_path = os.path.join(mesos.sandbox_root, "slaves", agent.id, "frameworks",
                                          fw, "executors", task_id)
        self.directory = os.path.join(self.executor_path, "runs", self.container)
        self.latest = os.path.join(self.executor_path, "runs", "latest")
        self.virtual = "/frameworks/%s/executors/%s/runs/latest" % (fw, task_id)
        self.counts = {"stdout": 0, "stderr": 0}
        self.fill_k = {"stdout": 1, "stderr": 1}
        self.fds = {}
        self.gone = False

    @property
    def running(self):
        return self.state == "TASK_RUNNING" and not self.gone

    def add_status(self, state):
        self._raw = {}
        self.state = state
        st = collections.OrderedDict()
        st["state"] = state
        st["timestamp"] = self.mesos.timestamp()
        st["container_status"] = collections.OrderedDict([
            ("container_id", {"value": self.container}),
            ("executor_pid", self.executor_pid),
            ("network_infos", [{"ip_addresses": [collections.OrderedDict([
                ("ip_address", self.ip), ("protocol", "IPv4")])]}])])
        self.statuses.append(st)

    def first_ts(self):
        return self.statuses[0]["timestamp"] if self.statuses else None

    def to_json(self):
        d = collections.OrderedDict()
        d["id"] = self.id
        d["name"] = self.name
        d["framework_id"] = self.mesos.framework_id
        d["executor_id"] = ""
        d["slave_id"] = self.agent.id
        d["state"] = self.state
        d["resources"] = self.resources
        d["role"] = "*"
        d["statuses"] = self.statuses
        d["labels"] = self.labels
        d["discovery"] = self.discovery
        return d

    def task_raw(self):
        b = self._raw.get("task")
        if b is None:
            b = self._raw["task"] = Raw(mjson(self.to_json()))
        return b

    def executor_raw(self, completed):
        key = "completed" if completed else "executor"
        b = self._raw.get(key)
        if b is None:
            b = self._raw[key] = Raw(mjson(self.executor_json(completed)))
        return b

    def executor_json(self, completed):
        d = collections.OrderedDict()
        d["id"] = self.id
        d["name"] = self.executor_name
        d["source"] = self.id
        d["container"] = self.container
        d["directory"] = self.directory
        d["resources"] = self.executor_resources
        d["role"] = "*"
        d["type"] = "COMMAND"
        task = self.task_raw()
        d["tasks"] = [] if completed else [task]
        d["queued_tasks"] = []
        d["completed_tasks"] = [task] if completed else []
        return d

    # -- sandbox on disk --

    def create_sandbox(self):
        os.makedirs(os.path.join(self.directory, "conf"), exist_ok=True)
        for name in ("stdout", "stderr"):
            open(os.path.join(self.directory, name), "ab").close()
        with open(os.path.join(self.directory, "conf", "app.properties"), "w") as f:
            f.write("# written by the Mesos fetcher (emulated)\n"
                    "app.id=%s\ntask.id=%s\nagent.id=%s\nagent.hostname=%s\n"
                    "framework.id=%s\n" % (self.app_id, self.id, self.agent.id,
                                           self.agent.hostname, self.mesos.framework_id))
        try:
            os.symlink(self.directory, self.latest)
        except FileExistsError:
            pass

    def close_fds(self):
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = {}


class Node(object):
    """One HTTP server of the Mesos part (the master or an agent)."""

    def __init__(self, mesos, kind, host):
        self.mesos = mesos
        self.kind = kind
        self.host = host
        self.port = 0
        self.server = None
        self.thread = None
        self.down = False
        self.hang = False
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.roots = {}       # /files virtual path -> real path
        self.bind()

    def bind(self):
        srv = MesosServer((self.host, self.port), MesosHandler)
        srv.node = self
        self.server = srv
        self.port = srv.server_address[1]

    def serve(self):
        srv = self.server
        self.thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="mesos-%s-%d" % (self.kind, self.port), daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def set_down(self, down):
        """down: close the listening socket (connections are refused) and drop
        open connections; up: listen again on the same port."""
        if down == self.down:
            return
        if down:
            self.down = True
            srv, self.server = self.server, None
            if srv is not None:
                if self.thread is not None:
                    srv.shutdown()
                srv.server_close()
            with self.conns_lock:
                conns = list(self.conns)
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        else:
            last = None
            for _ in range(50):
                try:
                    self.bind()
                    break
                except OSError as e:
                    last = e
                    time.sleep(0.1)
            else:
                raise CtlError(500, "cannot listen on %s:%d again: %s" % (self.host, self.port, last))
            self.down = False
            self.serve()

    def stop(self):
        srv, self.server = self.server, None
        if srv is not None:
            if self.thread is not None:       # shutdown() waits for serve_forever
                srv.shutdown()
            srv.server_close()


class Agent(Node):
    def __init__(self, mesos, index, host, hostname=None):
        Node.__init__(self, mesos, "agent", host)
        self.index = index
        self.id = "%s-S%d" % (mesos.master_id, index)
        self.hostname = hostname or "agent-%d.emu.local" % (index + 1)
        self.ip = "10.0.0.%d" % (11 + index)      # the tasks' address (Marathon ipAddresses)
        self.registered_time = mesos.timestamp()
        self.executors = collections.OrderedDict()      # task id -> MTask
        self.completed_executors = collections.deque(maxlen=MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK)
        self.resources = resources(8, 15360, 102400, 0, range(31000, 32001))

    @property
    def pid(self):
        return "slave(1)@%s:%d" % (self.host, self.port)

    def used_resources(self):
        return sum_resources(self.executors.values())


class Master(Node):
    def __init__(self, mesos, host):
        Node.__init__(self, mesos, "master", host)


# --- the cluster ---------------------------------------------------------------------------

class Mesos(object):
    def __init__(self, n_agents, sandbox_root, host="127.0.0.1", state_lock=None, knobs=None,
                 knob_cond=None, hostnames=None, run_commands=False):
        if n_agents < 1:
            raise ValueError("--mesos-agents must be at least 1")
        self.lock = state_lock or threading.RLock()
        self.knobs = knobs if knobs is not None else {"log_lines_per_second": 5}
        self.knob_cond = knob_cond or threading.Condition()
        self.host = host
        self.own_root = None
        if sandbox_root is None:
            import tempfile
            sandbox_root = self.own_root = tempfile.mkdtemp(prefix="mesos-emu-sandboxes.")
        os.makedirs(sandbox_root, exist_ok=True)
        self.sandbox_root = os.path.realpath(sandbox_root)
        self.last_ts = 0.0
        self.start_time = self.timestamp()
        self.pid_seq = itertools.count(20000)
        self.master = Master(self, host)
        ip_int = struct.unpack("<I", socket.inet_aton(host))[0]
        self.master_id = "%s-%d-%d-%d" % (time.strftime("%Y%m%d-%H%M%S", time.gmtime()),
                                          ip_int, self.master.port, os.getpid())
        self.framework_id = "%s-0000" % self.master_id
        # run_commands: each task's cmd runs as a real local process (sh -c,
        # in its sandbox, stdout and stderr into the sandbox's files), as
        # the command executor does; on_exit(task_id, status) is called when
        # one ends by itself (Marathon's part: record it, relaunch).
        self.run_commands = run_commands
        self.on_exit = None
        self.spawn_q = None
        # hostnames: what each agent calls itself (default agent-N.emu.local)
        hostnames = list(hostnames or [])
        self.agents = [Agent(self, i, host, hostnames[i] if i < len(hostnames) else None)
                       for i in range(n_agents)]
        self.by_agent_id = {a.id: a for a in self.agents}
        self.tasks = collections.OrderedDict()          # active: task id -> MTask
        self.completed = collections.deque(maxlen=MAX_COMPLETED_TASKS_PER_FRAMEWORK)
        self.all_tasks = {}                             # every task still on some agent
        self.marathon_port = 0
        self.scheduler_uuid = str(uuid.uuid4())
        self.marathon_host = host
        self.fw_registered = self.timestamp()
        self.io_lock = threading.Lock()
        self.bulk = None
        self.stop_event = threading.Event()
        self.writer = threading.Thread(target=self._writer, name="mesos-log-writer", daemon=True)
        self.log_lock = threading.Lock()
        self.req_log = []
        self.stats = collections.Counter()
        self.by_client = collections.Counter()   # User-Agent, as in marathon_emu.py
        self.total = 0

    # -- lifecycle --

    def start(self):
        self.master.serve()
        for a in self.agents:
            a.serve()
        self.writer.start()
        if self.run_commands:
            threading.Thread(target=self._reaper, name="reaper", daemon=True).start()

    def stop(self):
        self.stop_event.set()
        for t in list(self.tasks.values()):
            self._end(t)
        for n in [self.master] + self.agents:
            try:
                n.stop()
            except Exception:
                pass
        with self.io_lock:
            for t in self.all_tasks.values():
                t.close_fds()
        if self.own_root:
            shutil.rmtree(self.own_root, ignore_errors=True)

    def timestamp(self):
        """Float epoch seconds, strictly increasing (and distinct in 15 digits)."""
        ts = time.time()
        if ts <= self.last_ts + 0.00002:
            ts = self.last_ts + 0.00002
        self.last_ts = ts
        return ts

    @property
    def master_url(self):
        return self.master.url

    def marathon_agents(self):
        """The agents as marathon_emu's Task.agent dicts."""
        return [{"host": a.hostname, "id": a.id, "ip": a.ip} for a in self.agents]

    # -- hooks called by marathon_emu (state lock held) --

    def launch(self, task_id, app_id, spec, ports, agent_id):
        agent = self.by_agent_id.get(agent_id)
        if agent is None:
            return None
        t = MTask(self, agent, task_id, app_id, spec, ports, agent.ip)
        if self.bulk is not None:
            self.bulk.append(t)
        else:
            self._create_sandbox(t)
        for v in (t.directory, t.latest, t.virtual):
            agent.roots[v] = t.directory
        self.tasks[task_id] = t
        self.all_tasks[task_id] = t
        agent.executors[task_id] = t
        return t

    def _create_sandbox(self, t):
        try:
            t.create_sandbox()
        except OSError as e:
            warn("cannot create the sandbox of %s: %s" % (t.id, e))

    def begin_bulk(self):
        """Tasks launched from now on get their sandboxes at end_bulk (startup)."""
        self.bulk = []

    def end_bulk(self):
        """Create the deferred sandboxes, several at a time (file system latency)."""
        todo, self.bulk = self.bulk or [], None
        if len(todo) < 16:
            for t in todo:
                self._create_sandbox(t)
        else:
            import concurrent.futures
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                list(ex.map(self._create_sandbox, todo))
        for t in todo:
            if t.state == "TASK_RUNNING":
                self._spawn(t)

    def running(self, task_id):
        t = self.tasks.get(task_id)
        if t is not None and t.state != "TASK_RUNNING":
            t.add_status("TASK_RUNNING")
            if self.bulk is None:
                self._spawn(t)

    # -- real processes (--run-commands) --

    def _spawner(self):
        """Starts every task process, from this one long-lived thread: each
        child asks for SIGKILL when its parent goes (PR_SET_PDEATHSIG), and
        Linux means the parent *thread*, so a request thread that ends must
        not be it.  An emulator killed with SIGKILL leaves no task behind."""
        libc = ctypes.CDLL(None, use_errno=True)

        def pdeathsig():
            libc.prctl(1, signal.SIGKILL)       # PR_SET_PDEATHSIG

        while True:
            job = self.spawn_q.get()
            if job is None:
                return
            args, kw, done, ev = job
            try:
                done.append(subprocess.Popen(args, preexec_fn=pdeathsig, **kw))
            except OSError as e:
                done.append(e)
            ev.set()

    def _popen(self, args, **kw):
        if self.spawn_q is None:
            import queue
            self.spawn_q = queue.Queue()
            threading.Thread(target=self._spawner, name="spawner", daemon=True).start()
        done, ev = [], threading.Event()
        self.spawn_q.put((args, kw, done, ev))
        ev.wait()
        if isinstance(done[0], OSError):
            raise done[0]
        return done[0]

    def _spawn(self, t):
        if not self.run_commands or not t.cmd or t.proc is not None:
            return
        env = dict(os.environ)
        env.update({"MESOS_SANDBOX": t.directory, "MESOS_TASK_ID": t.id,
                    "MARATHON_APP_ID": t.app_id, "HOST": t.agent.hostname})
        for i, p in enumerate(t.ports):
            env["PORT%d" % i] = str(p)
        if t.ports:
            env["PORT"] = str(t.ports[0])
        try:
            with open(os.path.join(t.directory, "stdout"), "ab") as out, \
                    open(os.path.join(t.directory, "stderr"), "ab") as err:
                t.proc = self._popen(["sh", "-c", t.cmd], cwd=t.directory, env=env,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=True)
        except OSError as e:
            warn("cannot run the command of %s: %s" % (t.id, e))

    @staticmethod
    def _end(t):
        """TERM the task's process group, KILL it if it lingers."""
        p, t.proc = t.proc, None
        if p is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
            try:
                p.wait(timeout=1)
                return
            except subprocess.TimeoutExpired:
                pass

    def _reaper(self):
        while not self.stop_event.wait(0.2):
            ended = []
            with self.lock:
                for t in list(self.tasks.values()):
                    if t.proc is not None and t.proc.poll() is not None:
                        ended.append((t.id, t.proc.returncode))
                        t.proc = None
            for tid, rc in ended:
                if self.on_exit is not None:
                    try:
                        self.on_exit(tid, rc)
                    except Exception:
                        traceback.print_exc()

    def terminal(self, task_id, state):
        t = self.tasks.pop(task_id, None)
        if t is None:
            return
        self._end(t)
        with self.io_lock:
            t.add_status(state)
            t.close_fds()
        if len(self.completed) == self.completed.maxlen:
            self._maybe_forget(self.completed.popleft())
        self.completed.append(t)
        agent = t.agent
        agent.executors.pop(task_id, None)
        if len(agent.completed_executors) == agent.completed_executors.maxlen:
            old = agent.completed_executors.popleft()
            # the agent's gc: the executor leaves the agent's state and /files
            # (its directory stays on disk until the emulator exits)
            for v in (old.directory, old.latest, old.virtual):
                agent.roots.pop(v, None)
            old.evicted = True
            self._maybe_forget(old)
        agent.completed_executors.append(t)

    def _maybe_forget(self, t):
        """Drop t from the /_emu lookup table once neither the master nor its
        agent lists it any more."""
        if getattr(t, "evicted", False) and t not in self.completed:
            self.all_tasks.pop(t.id, None)

    # -- log growth --

    def _writer(self):
        next_t = None
        last_rate = None
        while not self.stop_event.is_set():
            try:
                rate = float(self.knobs.get("log_lines_per_second") or 0)
            except (TypeError, ValueError):
                rate = 0.0
            if rate <= 0:
                next_t = None
                last_rate = rate
                self.stop_event.wait(0.1)
                continue
            interval = 1.0 / rate
            now = time.monotonic()
            if next_t is None or rate != last_rate:
                next_t = now + interval
                last_rate = rate
            if now < next_t:
                self.stop_event.wait(min(next_t - now, 0.1))
                continue
            next_t += interval
            if now - next_t > 1.0:
                next_t = now + interval
            with self.lock:
                # a real process writes its own output
                running = [t for t in self.tasks.values() if t.running and t.proc is None]
            with self.io_lock:
                for t in running:
                    if not t.running:
                        continue
                    for stream in ("stdout", "stderr"):
                        try:
                            fd = t.fds.get(stream)
                            if fd is None:
                                fd = os.open(os.path.join(t.directory, stream),
                                             os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
                                t.fds[stream] = fd
                            n = t.counts[stream] + 1
                            os.write(fd, ("%s %s %d\n" % (t.id, stream, n)).encode())
                            t.counts[stream] = n
                        except OSError as e:
                            warn("log line for %s %s: %s" % (t.id, stream, e))
                            t.close_fds()

    # -- JSON models --

    def framework_json_master(self):
        d = collections.OrderedDict()
        d["id"] = self.framework_id
        d["name"] = "marathon"
        d["pid"] = "scheduler-%s@%s:%d" % (self.scheduler_uuid, self.marathon_host,
                                           self.marathon_port)
        used = sum_resources(self.tasks.values())
        d["used_resources"] = used
        d["offered_resources"] = resources(0, 0, 0)
        d["capabilities"] = ["PARTITION_AWARE", "GPU_RESOURCES", "TASK_KILLING_STATE",
                             "REGION_AWARE", "MULTI_ROLE"]
        d["hostname"] = self.marathon_host
        d["webui_url"] = "http://%s:%d" % (self.marathon_host, self.marathon_port)
        d["active"] = True
        d["connected"] = True
        d["recovered"] = False
        d["user"] = "root"
        d["failover_timeout"] = 604800.0
        d["checkpoint"] = True
        d["registered_time"] = self.fw_registered
        d["unregistered_time"] = 0.0
        d["resources"] = used
        d["tasks"] = [t.task_raw() for t in self.tasks.values()]
        d["unreachable_tasks"] = []
        d["completed_tasks"] = [t.task_raw() for t in self.completed]
        d["offers"] = []
        d["executors"] = []
        d["roles"] = ["*"]
        return d

    def slave_json(self, a, summary=False):
        d = collections.OrderedDict()
        d["id"] = a.id
        d["hostname"] = a.hostname
        d["port"] = a.port
        d["attributes"] = {}
        d["pid"] = a.pid
        d["registered_time"] = a.registered_time
        d["resources"] = a.resources
        d["used_resources"] = a.used_resources()
        d["offered_resources"] = resources(0, 0, 0)
        d["reserved_resources"] = {}
        d["unreserved_resources"] = a.resources
        d["active"] = not a.down
        d["version"] = MESOS_VERSION
        d["capabilities"] = ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT",
                             "RESOURCE_PROVIDER", "RESIZE_VOLUME", "AGENT_OPERATION_FEEDBACK",
                             "AGENT_DRAINING", "TASK_RESOURCE_LIMITS"]
        if summary:
            counts = collections.Counter(t.state for t in a.executors.values())
            counts.update(t.state for t in a.completed_executors)
            for s in TASK_STATES:
                d[s] = counts.get(s, 0)
            d["framework_ids"] = [self.framework_id] if (a.executors or a.completed_executors) else []
        return d

    def master_flags(self):
        return sorted_obj({
            "agent_ping_timeout": "15secs", "agent_reregister_timeout": "10mins",
            "allocation_interval": "1secs", "authenticate_agents": "false",
            "authenticate_frameworks": "false", "authenticate_http_frameworks": "false",
            "authenticate_http_readonly": "false", "authenticate_http_readwrite": "false",
            "cluster": CLUSTER, "framework_sorter": "drf", "help": "false", "hostname": self.host,
            "hostname_lookup": "false", "initialize_driver_logging": "true",
            "log_auto_initialize": "true", "logbufsecs": "0", "logging_level": "INFO",
            "max_agent_ping_timeouts": "5", "max_completed_frameworks": "50",
            "max_completed_tasks_per_framework": str(MAX_COMPLETED_TASKS_PER_FRAMEWORK),
            "max_unreachable_tasks_per_framework": "1000", "port": str(self.master.port),
            "quiet": "false", "quorum": "1", "registry": "in_memory",
            "registry_fetch_timeout": "1mins", "registry_store_timeout": "20secs",
            "root_submissions": "true", "user_sorter": "drf", "version": "false",
            "webui_dir": "/usr/share/mesos/webui", "work_dir": "/var/lib/mesos/master",
            "zk_session_timeout": "10secs"})

    def master_state(self):
        m = self.master
        d = collections.OrderedDict()
        d["version"] = MESOS_VERSION
        d["git_sha"] = MESOS_GIT_SHA
        d["git_tag"] = MESOS_VERSION
        d["build_date"] = MESOS_BUILD_DATE
        d["build_time"] = MESOS_BUILD_TIME
        d["build_user"] = MESOS_BUILD_USER
        d["start_time"] = self.start_time
        d["elected_time"] = self.start_time + 0.01
        d["id"] = self.master_id
        d["pid"] = "master@%s:%d" % (self.host, m.port)
        d["hostname"] = self.host
        d["cluster"] = CLUSTER
        d["capabilities"] = ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"]
        active = sum(1 for a in self.agents if not a.down)
        d["activated_slaves"] = active
        d["deactivated_slaves"] = len(self.agents) - active
        d["unreachable_slaves"] = 0
        d["leader"] = d["pid"]
        d["leader_info"] = collections.OrderedDict([
            ("id", self.master_id), ("pid", d["pid"]), ("port", m.port),
            ("hostname", self.host),
            ("address", collections.OrderedDict([("hostname", self.host), ("ip", self.host),
                                                 ("port", m.port)])),
            ("version", MESOS_VERSION)])
        d["log_dir"] = "/var/log/mesos"
        d["flags"] = self.master_flags()
        counts = collections.Counter(t.state for t in self.tasks.values())
        counts.update(t.state for t in self.completed)
        d["staged_tasks"] = len(self.tasks) + len(self.completed)
        d["started_tasks"] = sum(1 for t in list(self.tasks.values()) + list(self.completed)
                                 if any(s["state"] == "TASK_RUNNING" for s in t.statuses))
        d["finished_tasks"] = counts.get("TASK_FINISHED", 0)
        d["killed_tasks"] = counts.get("TASK_KILLED", 0)
        d["failed_tasks"] = counts.get("TASK_FAILED", 0)
        d["lost_tasks"] = counts.get("TASK_LOST", 0)
        d["slaves"] = [self.slave_json(a) for a in self.agents]
        d["recovered_slaves"] = []
        d["frameworks"] = [self.framework_json_master()]
        d["completed_frameworks"] = []
        d["orphan_tasks"] = []
        d["unregistered_frameworks"] = []
        return d

    def state_summary(self):
        d = collections.OrderedDict()
        d["hostname"] = self.host
        d["slaves"] = [self.slave_json(a, summary=True) for a in self.agents]
        fw = collections.OrderedDict()
        fw["id"] = self.framework_id
        fw["name"] = "marathon"
        full = self.framework_json_master()
        for k in ("pid", "used_resources", "offered_resources", "capabilities", "hostname",
                  "webui_url", "active", "connected", "recovered"):
            fw[k] = full[k]
        counts = collections.Counter(t.state for t in self.tasks.values())
        counts.update(t.state for t in self.completed)
        for s in TASK_STATES:
            fw[s] = counts.get(s, 0)
        fw["slave_ids"] = sorted({t.agent.id for t in self.tasks.values()})
        d["frameworks"] = [fw]
        d["completed_frameworks"] = []
        return d

    def master_tasks(self, q):
        limit = numify(q.get("limit"))
        limit = TASKS_LIMIT if limit is None else (limit if limit >= 0 else limit + (1 << 64))
        offset = numify(q.get("offset"))
        offset = 0 if offset is None else (offset if offset >= 0 else offset + (1 << 64))
        asc = q.get("order") == "asc"
        fw = q.get("framework_id")
        tid = q.get("task_id")
        tasks = []
        if fw is None or fw == self.framework_id:
            for t in list(self.tasks.values()) + list(self.completed):
                if tid is not None and t.id != tid:
                    continue
                tasks.append(t)
        if asc:
            tasks.sort(key=lambda t: (t.statuses != [], t.first_ts() or 0.0))
        else:
            tasks.sort(key=lambda t: (t.statuses == [], -(t.first_ts() or 0.0)))
        return {"tasks": [t.task_raw() for t in tasks[offset:offset + limit]]}

    def agent_flags(self, a):
        return sorted_obj({
            "appc_store_dir": "/tmp/mesos/store/appc", "authenticatee": "crammd5",
            "cgroups_hierarchy": "/sys/fs/cgroup", "cgroups_root": "mesos", "cluster": CLUSTER,
            "container_disk_watch_interval": "15secs", "containerizers": "mesos",
            "default_role": "*", "disk_watch_interval": "1mins",
            "docker_sandbox_directory": "/mnt/mesos/sandbox",
            "executor_registration_timeout": "1mins",
            "executor_shutdown_grace_period": "5secs", "fetcher_cache_dir": "/tmp/mesos/fetch",
            "gc_delay": "1weeks", "gc_disk_headroom": "0.1", "help": "false",
            "hostname": a.hostname, "hostname_lookup": "true",
            "isolation": "posix/cpu,posix/mem", "launcher": "posix",
            "launcher_dir": "/usr/libexec/mesos", "logbufsecs": "0", "logging_level": "INFO",
            "master": "%s:%d" % (self.host, self.master.port), "port": str(a.port),
            "quiet": "false", "recover": "reconnect", "recovery_timeout": "15mins",
            "registration_backoff_factor": "1secs", "resources": "cpus:8;mem:15360;disk:102400;ports:[31000-32000]",
            "revocable_cpu_low_priority": "true", "strict": "true", "switch_user": "true",
            "version": "false", "work_dir": self.sandbox_root})

    def agent_state(self, a):
        d = collections.OrderedDict()
        d["version"] = MESOS_VERSION
        d["git_sha"] = MESOS_GIT_SHA
        d["git_tag"] = MESOS_VERSION
        d["build_date"] = MESOS_BUILD_DATE
        d["build_time"] = MESOS_BUILD_TIME
        d["build_user"] = MESOS_BUILD_USER
        d["start_time"] = self.start_time
        d["id"] = a.id
        d["pid"] = a.pid
        d["hostname"] = a.hostname
        d["cluster"] = CLUSTER
        d["capabilities"] = ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"]
        d["resources"] = a.resources
        d["reserved_resources"] = {}
        d["unreserved_resources"] = a.resources
        d["attributes"] = {}
        d["master_hostname"] = self.host
        d["log_dir"] = "/var/log/mesos"
        d["flags"] = self.agent_flags(a)
        mine = list(a.executors.values()) + list(a.completed_executors)
        states = collections.Counter(t.state for t in mine)
        d["staged_tasks"] = len(mine)
        d["started_tasks"] = sum(1 for t in mine
                                 if any(s["state"] == "TASK_RUNNING" for s in t.statuses))
        d["finished_tasks"] = states.get("TASK_FINISHED", 0)
        d["killed_tasks"] = states.get("TASK_KILLED", 0)
        d["failed_tasks"] = states.get("TASK_FAILED", 0)
        d["lost_tasks"] = states.get("TASK_LOST", 0)
        fws, done = [], []
        if a.executors or a.completed_executors:
            fw = collections.OrderedDict()
            fw["id"] = self.framework_id
            fw["name"] = "marathon"
            fw["user"] = "root"
            fw["failover_timeout"] = 604800.0
            fw["checkpoint"] = True
            fw["hostname"] = self.marathon_host
            fw["roles"] = ["*"]
            fw["capabilities"] = ["PARTITION_AWARE", "GPU_RESOURCES", "TASK_KILLING_STATE",
                                  "REGION_AWARE", "MULTI_ROLE"]
            fw["executors"] = [t.executor_raw(False) for t in a.executors.values()]
            fw["completed_executors"] = [t.executor_raw(True) for t in a.completed_executors]
            # The agent moves a framework without executors to its completed
            # frameworks (and back, with those completed executors, when a new
            # task of it arrives).
            (fws if a.executors else done).append(fw)
        d["frameworks"] = fws
        d["completed_frameworks"] = done
        return d

    # -- /files --

    def resolve(self, node, path):
        """FilesProcess::resolve -> ("ok", real) | ("none", None) | ("error", message)."""
        p = path[:-1] if path.endswith("/") else path
        tokens = p.split("/")
        suffix = ""
        while tokens:
            prefix = stout_join_all(tokens)
            real = node.roots.get(prefix)
            if real is None:
                suffix = tokens[-1] if suffix == "" else stout_join(tokens[-1], suffix)
                tokens.pop()
                continue
            if os.path.isdir(real):
                joined = stout_join(real, suffix)
                try:
                    rp = c_realpath(joined)
                except OSError as e:
                    return "error", "Failed to determine canonical path of '%s': %s" % (
                        joined, os.strerror(e.errno) if e.errno else e)
                if rp is None:
                    return "none", None
                if not rp.startswith(real):
                    return "error", "'%s' is inaccessible" % joined
                return "ok", rp
            if suffix != "":
                return "none", None
            return "ok", real
        return "none", None

    def files(self, node, op, q, head=False):
        """-> (status, body, ctype, headers) or ("stream", real, size, headers)."""
        jsonp = q.get("jsonp")
        if op == "debug":
            with self.lock:
                roots = dict(node.roots)
            return json_ok(sorted_obj(roots), jsonp)
        path = q.get("path")
        if not path:
            return text(400, "Expecting 'path=value' in query.\n")
        if op == "read":
            offset = -1
            if "offset" in q:
                v = numify(q["offset"])
                if v is None:
                    return text(400, "Failed to parse offset: Failed to convert '%s' to number.\n"
                                % q["offset"])
                if v < -1:
                    return text(400, "Negative offset provided: %d.\n" % v)
                offset = v
            length = None
            if "length" in q:
                v = numify(q["length"])
                if v is None:
                    return text(400, "Failed to parse length: Failed to convert '%s' to number.\n"
                                % q["length"])
                if v < -1:
                    return text(400, "Negative length provided: %d.\n" % v)
                if v > -1:
                    length = v
            off_ = offset
            if offset == -1:
                off_, length = 0, 0
        path = from_uri(path)
        with self.lock:
            kind, res = self.resolve(node, path)
        if kind == "error":
            return text(400, res + ".\n")
        if kind == "none":
            return (404, b"", None, [])
        real = res
        if op == "browse":
            entries = []
            try:
                names = os.listdir(real)
            except OSError:
                names = []
            for name in sorted(names, key=os.fsencode):
                full = os.path.join(real, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                entries.append(sorted_obj({
                    "gid": group_name(st.st_gid), "mode": mode_string(st.st_mode),
                    "mtime": float(int(st.st_mtime)), "nlink": st.st_nlink,
                    "path": stout_join(path, name), "size": st.st_size,
                    "uid": user_name(st.st_uid)}))
            return json_ok(entries, jsonp)
        if os.path.isdir(real):
            if op == "download":
                return text(400, "Cannot download a directory.\n")
            return text(400, "Cannot read a directory.\n")
        if op == "download":
            try:
                size = os.stat(real).st_size
            except OSError as e:
                return text(500, "Failed to open file at '%s': %s.\n" % (real, e.strerror))
            base = os.path.basename(real)
            ctype = MIME.get(os.path.splitext(base)[1], "application/octet-stream")
            return ("stream", real, size, [("Content-Type", ctype),
                                           ("Content-Disposition", "attachment; filename=%s" % base)])
        # read
        try:
            fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            return text(500, "Failed to open file at '%s': %s.\n" % (real, e.strerror))
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            if off_ >= size:
                got_size, data = size, b""
            else:
                n = size - off_ if length is None else length
                if n == 0:
                    got_size, data = size, b""
                else:
                    n = min(n, READ_CAP)
                    os.lseek(fd, off_, os.SEEK_SET)
                    data = os.read(fd, n)
                    got_size = size
        finally:
            os.close(fd)
        out = collections.OrderedDict([("data", data),
                                       ("offset", got_size if offset == -1 else offset)])
        return json_ok(out, jsonp)

    # -- the /_emu control part (called by marathon_emu) --

    def find_task(self, tid):
        return self.all_tasks.get(tid) if isinstance(tid, str) else None

    def control(self, method, path, req):
        """-> JSON-able reply, or None when the route is not ours."""
        if path == "/_emu/mesos" and method == "GET":
            with self.lock:
                return collections.OrderedDict([
                    ("master", self.master_url),
                    ("agents", [collections.OrderedDict([
                        ("id", a.id), ("url", a.url), ("hostname", a.hostname), ("pid", a.pid),
                        ("down", a.down), ("hang", a.hang)]) for a in self.agents]),
                    ("framework_id", self.framework_id),
                    ("sandbox_root", self.sandbox_root)])
        if path == "/_emu/mesos/requests":
            with self.log_lock:
                if method == "GET":
                    return list(self.req_log)
                if method == "DELETE":
                    n = len(self.req_log)
                    self.clear_log()
                    return {"cleared": n}
            return None
        if path == "/_emu/mesos/stats" and method == "GET":
            with self.log_lock:
                return {"total": self.total, "by_route": dict(self.stats),
                        "by_client": dict(self.by_client)}
        if path == "/_emu/tasks/log" and method == "POST":
            if not isinstance(req, dict):
                raise CtlError(400, "expected {\"taskId\",\"stream\",\"append\"|\"fill_bytes\"}")
            stream = req.get("stream", "stdout")
            if stream not in ("stdout", "stderr"):
                raise CtlError(400, "stream must be \"stdout\" or \"stderr\"")
            with self.lock:
                t = self.find_task(req.get("taskId"))
                if t is None:
                    raise CtlError(404, "Task '%s' does not exist" % req.get("taskId"))
                if t.gone:
                    raise CtlError(409, "the sandbox of '%s' was garbage collected" % t.id)
                fname = os.path.join(t.directory, stream)
            if "append" in req:
                text_ = req["append"]
                if not isinstance(text_, str):
                    raise CtlError(400, "append must be a string")
                data = text_.encode("utf-8", "surrogateescape")
                if req.get("append_base64"):
                    raise CtlError(400, "append and append_base64 are exclusive")
            elif "append_base64" in req:
                import base64
                try:
                    data = base64.b64decode(req["append_base64"], validate=True)
                except (ValueError, TypeError):
                    raise CtlError(400, "append_base64 is not base64")
            elif "fill_bytes" in req:
                n = req["fill_bytes"]
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    raise CtlError(400, "fill_bytes must be a non-negative integer")
                data = None
            else:
                raise CtlError(400, "expected \"append\", \"append_base64\" or \"fill_bytes\"")
            fd = os.open(fname, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            try:
                if data is not None:
                    write_all(fd, data)
                    written = len(data)
                else:
                    k = t.fill_k[stream]
                    written = 0
                    for chunk, k in fill_chunks(k, n):
                        write_all(fd, chunk)
                        written += len(chunk)
                    t.fill_k[stream] = k
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            return collections.OrderedDict([("taskId", t.id), ("stream", stream),
                                            ("written", written), ("size", size),
                                            ("path", fname)])
        if path == "/_emu/sandbox/gc" and method == "POST":
            tid = req.get("taskId") if isinstance(req, dict) else None
            with self.lock:
                t = self.find_task(tid)
                if t is None:
                    raise CtlError(404, "Task '%s' does not exist" % tid)
                with self.io_lock:
                    t.gone = True
                    t.close_fds()
                for v in (t.directory, t.latest, t.virtual):
                    t.agent.roots.pop(v, None)
                shutil.rmtree(t.executor_path, ignore_errors=True)
            return {"removed": t.executor_path, "taskId": t.id}
        return None

    def clear_log(self):
        self.req_log = []
        self.stats = collections.Counter()
        self.by_client = collections.Counter()   # User-Agent, as in marathon_emu.py
        self.total = 0

    def knob_view(self):
        return {a.id: {"down": a.down, "hang": a.hang} for a in self.agents}

    def node_for_agent(self, aid):
        return self.by_agent_id.get(aid)


def text(status, body):
    return (status, body.encode("utf-8"), "text/plain; charset=utf-8", [])


def json_ok(obj, jsonp=None):
    body = mjson(obj)
    if jsonp is not None:
        return (200, jsonp.encode("utf-8") + b"(" + body + b");", "text/javascript", [])
    return (200, body, "application/json", [])


# --- HTTP ---------------------------------------------------------------------------------

class MesosServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, BrokenPipeError, OSError)):
            return
        warn("connection from %s failed:\n%s" % (client_address, traceback.format_exc()))


MASTER_ROUTES = {
    "/master/state": "state", "/state": "state",
    "/master/slaves": "slaves", "/slaves": "slaves",
    "/master/tasks": "tasks", "/tasks": "tasks",
    "/master/frameworks": "frameworks", "/frameworks": "frameworks",
    "/master/state-summary": "summary", "/state-summary": "summary",
    "/master/redirect": "redirect", "/redirect": "redirect",
    "/master/flags": "flags", "/flags": "flags",
    "/master/health": "health", "/health": "health",
    "/version": "version",
    "/files/read": "files", "/files/browse": "files", "/files/download": "files",
    "/files/debug": "files",
}
AGENT_ROUTES = {
    "/slave(1)/state": "state", "/state": "state",
    "/slave(1)/flags": "flags", "/flags": "flags",
    "/slave(1)/health": "health", "/health": "health",
    "/version": "version",
    "/files/read": "files", "/files/browse": "files", "/files/download": "files",
    "/files/debug": "files",
}


class MesosHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 600

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        node = self.server.node
        with node.conns_lock:
            node.conns.add(self.connection)

    def finish(self):
        node = self.server.node
        with node.conns_lock:
            node.conns.discard(self.connection)
        try:
            BaseHTTPRequestHandler.finish(self)
        except OSError:
            pass

    def send_response(self, code, message=None):
        # libprocess sends no Server header
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_HEAD(self):
        self.dispatch(head=True)

    def reply(self, status, body=b"", ctype=None, headers=(), head=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if ctype and not any(k.lower() == "content-type" for k, _ in headers):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def dispatch(self, head=False):
        node = self.server.node
        mesos = node.mesos
        cl = self.headers.get("Content-Length")
        if cl:
            try:
                self.rfile.read(int(cl))
            except (ValueError, OSError):
                self.close_connection = True
                return
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        q = {}
        for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True):
            q[k] = v
        routes = MASTER_ROUTES if node.kind == "master" else AGENT_ROUTES
        handler = routes.get(path)
        if path.startswith("/files/"):
            tpl = path
        else:
            tpl = path if handler else "(unknown)"
        with mesos.log_lock:
            mesos.total += 1
            mesos.stats["%s %s %s" % (node.kind, self.command, tpl)] += 1
            mesos.by_client[self.headers.get("User-Agent") or "-"] += 1
            mesos.req_log.append(collections.OrderedDict([
                ("server", "master" if node.kind == "master" else node.id),
                ("method", self.command), ("path", path), ("query", split.query),
                ("time", time.time())]))
        with mesos.knob_cond:
            while node.hang and not node.down:
                mesos.knob_cond.wait(0.5)
        try:
            res = self.route(node, handler, path, q, head)
        except Exception:
            warn("request %s %s failed:\n%s" % (self.command, self.path, traceback.format_exc()))
            res = (500, b"", None, [])
        if res is None:
            return
        if res[0] == "stream":
            self.stream_file(res[1], res[2], res[3], head)
            return
        status, body, ctype, headers = res
        if node.kind != "master" and path == "/files/read":
            with mesos.knob_cond:
                spec = hostile_replies.take(mesos.knobs, "files_hostile", "GET", path)
            if spec is not None:
                self.send_hostile(spec, status, ctype, body)
                return
        self.reply(status, body, ctype, headers, head)

    def send_hostile(self, spec, status, ctype, body):
        """The "files_hostile" knob: spec's broken reply instead of this one."""
        def head(st, headers):
            self.send_response(st)
            for k, v in headers:
                self.send_header(k, v)
        hostile_replies.send(self, spec, head, status, ctype, body)

    def stream_file(self, real, size, headers, head):
        try:
            f = open(real, "rb")
        except OSError as e:
            self.reply(500, ("Failed to open file at '%s': %s.\n" % (real, e.strerror)).encode(),
                       "text/plain; charset=utf-8", [], head)
            return
        with f:
            self.send_response(200)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if head:
                return
            left = size
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    # the file shrank: keep the promised length
                    chunk = b"\0" * min(left, 1 << 20)
                self.wfile.write(chunk)
                left -= len(chunk)

    def route(self, node, handler, path, q, head):
        mesos = node.mesos
        jsonp = q.get("jsonp")
        if handler is None:
            return (404, b"", None, [])
        if handler == "files":
            return mesos.files(node, path[len("/files/"):], q, head)
        if handler == "version":
            return json_ok(collections.OrderedDict([
                ("build_date", MESOS_BUILD_DATE), ("build_time", MESOS_BUILD_TIME),
                ("build_user", MESOS_BUILD_USER), ("git_sha", MESOS_GIT_SHA),
                ("git_tag", MESOS_VERSION), ("version", MESOS_VERSION)]), jsonp)
        if handler == "health":
            return (200, b"", None, [])
        with mesos.lock:
            if node.kind == "master":
                if handler == "state":
                    return json_ok(mesos.master_state(), jsonp)
                if handler == "slaves":
                    return json_ok(collections.OrderedDict([
                        ("slaves", [mesos.slave_json(a) for a in mesos.agents]),
                        ("recovered_slaves", [])]), jsonp)
                if handler == "tasks":
                    return json_ok(mesos.master_tasks(q), jsonp)
                if handler == "frameworks":
                    fw = q.get("framework_id")
                    fws = [mesos.framework_json_master()] if fw in (None, mesos.framework_id) else []
                    return json_ok(collections.OrderedDict([
                        ("frameworks", fws), ("completed_frameworks", []),
                        ("unregistered_frameworks", [])]), jsonp)
                if handler == "summary":
                    return json_ok(mesos.state_summary(), jsonp)
                if handler == "flags":
                    return json_ok({"flags": mesos.master_flags()}, jsonp)
                if handler == "redirect":
                    # The leader's base URL, protocol-relative (Master::Http::redirect).
                    return (307, b"", None, [("Location", "//%s:%d" % (mesos.host, node.port))])
            else:
                if handler == "state":
                    return json_ok(mesos.agent_state(node), jsonp)
                if handler == "flags":
                    return json_ok({"flags": mesos.agent_flags(node)}, jsonp)
        return (404, b"", None, [])
