"""hostile_replies.py: broken and hostile HTTP replies for the emulators.

Used by marathon_emu.py (knob "hostile": Marathon's routes, /v2/events
included) and mesos_emu.py (knob "files_hostile": every agent's
/files/read).  A knob is null (answer normally) or

  {"kind": K, "path_prefix": "/v2/apps", "method": "GET", "count": N,
   "bytes": N, "interval_ms": N}

path_prefix and method restrict it (Marathon only; absent: every route and
method); count ends it after N replies (absent: until the knob is set to
null).  The request itself is served first, so a write is applied and only
its reply is broken, as when a proxy or a dying leader mangles it.  Kinds:

  truncated      Content-Length of the real body, half of it sent, then close
  huge           200 {"apps":[...]}: `bytes` (default 200 MB) of valid-looking
                 app objects, with that Content-Length, streamed in 1 MB writes
  wrong_types    the real body with each top-level member's type changed:
                 array -> {}, object -> [], string -> {}, number -> "five"
                 (so {"apps": {}}); a top-level array becomes {}
  wrong_field_types  the real body with every integer, at any depth, the
                 string "five" ("instances": "five"); the shape is intact
  bad_utf8       the real body with the raw bytes 0xff 0xfe (never valid
                 UTF-8) appended to every string value
  drip           the real body, with its Content-Length, one byte every
                 `interval_ms` (default 100)
  endless_line   200, no Content-Length, then "data: " and `bytes` (default
                 4 GB, in effect endless) of "x" with no newline, until the
                 client hangs up; on /v2/events it is an SSE stream
                 (text/event-stream) whose one line never ends

Standard library only; nothing here knows Marathon's or Mesos' state.
"""

import json
import socket
import time

KINDS = ("truncated", "huge", "wrong_types", "wrong_field_types", "bad_utf8",
         "drip", "endless_line")
HUGE_DEFAULT = 200 * 1000 * 1000
ENDLESS_DEFAULT = 4 * 1000 * 1000 * 1000
BLOCK = 1 << 20


def check(v):
    """Validate a knob value; -> the value to store.  ValueError says why."""
    if v is None:
        return None
    if not isinstance(v, dict) or v.get("kind") not in KINDS:
        raise ValueError("hostile knobs must be null or {\"kind\": one of %s, ...}"
                         % ", ".join(KINDS))
    v = dict(v)
    for k in ("count", "bytes", "interval_ms"):
        if k in v and v[k] is not None and (not isinstance(v[k], (int, float))
                                            or isinstance(v[k], bool) or v[k] < 0):
            raise ValueError("%s must be a non-negative number" % k)
    if v.get("count") is not None and int(v["count"]) <= 0:
        return None
    return v


def take(knobs, key, method, path):
    """With the knob lock held: the spec that applies to this request (its
    count used up), or None."""
    spec = knobs.get(key)
    if not spec:
        return None
    if not path.startswith(spec.get("path_prefix") or ""):
        return None
    if spec.get("method") and spec["method"].upper() != method:
        return None
    if spec.get("count") is not None:
        spec["count"] = int(spec["count"]) - 1
        if spec["count"] <= 0:
            knobs[key] = None
    return dict(spec)


def _retype_top(v):
    if isinstance(v, list):
        return {}
    if isinstance(v, dict):
        return []
    if isinstance(v, str):
        return {}
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return "five"
    return v


def _ints_to_words(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return "five"
    if isinstance(v, list):
        return [_ints_to_words(x) for x in v]
    if isinstance(v, dict):
        return {k: _ints_to_words(x) for k, x in v.items()}
    return v


def _bad_utf8(v):
    if isinstance(v, str):
        return v + "\udcff\udcfe"        # surrogateescape: raw 0xff 0xfe
    if isinstance(v, list):
        return [_bad_utf8(x) for x in v]
    if isinstance(v, dict):
        return {k: _bad_utf8(x) for k, x in v.items()}
    return v


def transform(kind, body):
    """The body a kind sends in place of the real one (JSON kinds)."""
    try:
        obj = json.loads(body.decode("utf-8", "surrogateescape"))
    except ValueError:
        obj = {"message": body.decode("utf-8", "surrogateescape")}
    if kind == "wrong_types":
        if isinstance(obj, dict):
            obj = {k: _retype_top(v) for k, v in obj.items()}
        else:
            obj = {}
    elif kind == "wrong_field_types":
        obj = _ints_to_words(obj)
    elif kind == "bad_utf8":
        obj = _bad_utf8(obj)
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogateescape")


def _huge_block():
    """About 1 MB of whole app objects, each followed by a comma."""
    app = ('{"id":"/huge/app%06d","cmd":"sleep 1000","instances":1,"cpus":0.1,'
           '"mem":128.0,"disk":0.0,"labels":{"pad":"' + "p" * 800 + '"},'
           '"tasks":[],"tasksRunning":0,"deployments":[]},')
    out, size, i = [], 0, 0
    while size + len(app % i) <= BLOCK:
        out.append(app % i)
        size += len(out[-1])
        i += 1
    return "".join(out).encode()


def _kill(h):
    h.close_connection = True
    try:
        h.wfile.flush()
    except OSError:
        pass
    try:
        h.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def send(h, spec, head, status, ctype, body, sse=False):
    """Answer request handler h with spec's hostile reply.  head(status,
    headers) sends the status line and headers (not Content-Length, not the
    blank line); status, ctype and body are what the route would have sent."""
    kind = spec["kind"]
    body = body or b""
    try:
        if kind in ("wrong_types", "wrong_field_types", "bad_utf8"):
            body = transform(kind, body)
            head(status, [("Content-Type", ctype or "application/json")])
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        if kind == "truncated":
            if len(body) < 2:
                body = b'{"message":"a reply cut in half"}'
            head(status, [("Content-Type", ctype or "application/json")])
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[:len(body) // 2])
            _kill(h)
            return
        if kind == "drip":
            head(status, [("Content-Type", ctype or "application/json")])
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.flush()
            pause = float(spec.get("interval_ms", 100)) / 1000.0
            for i in range(len(body)):
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
                time.sleep(pause)
            return
        if kind == "huge":
            total = int(spec.get("bytes") or HUGE_DEFAULT)
            block = _huge_block()
            head(200, [("Content-Type", "application/json")])
            h.send_header("Content-Length", str(total))
            h.end_headers()
            # Valid JSON of exactly `total` bytes: whole apps, then blanks.
            h.wfile.write(b'{"apps":[')
            left = total - len(b'{"apps":[') - len(b'{}]}')
            while left >= len(block):
                h.wfile.write(block)
                left -= len(block)
            while left > 0:
                n = min(left, BLOCK)
                h.wfile.write(b" " * n)
                left -= n
            h.wfile.write(b'{}]}')
            _kill(h)
            return
        if kind == "endless_line":
            total = int(spec.get("bytes") or ENDLESS_DEFAULT)
            ct = "text/event-stream;charset=utf-8" if sse else (ctype or "application/json")
            head(200, [("Content-Type", ct), ("Connection", "close")])
            h.end_headers()
            h.wfile.write(b"data: ")
            block = b"x" * BLOCK
            while total > 0:
                n = min(total, len(block))
                h.wfile.write(block[:n])
                total -= n
            _kill(h)
            return
    except OSError:
        h.close_connection = True   # the client hung up: what it should do
