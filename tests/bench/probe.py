#!/usr/bin/python3
"""probe.py: the timed system-call loops of make bench (tests/bench/run).

What a shell cannot time without a fork per sample: a stat loop, one
write(2) of a value file, and how long after a change made through
Marathon's API a file of the mount shows it.  Every command prints its
figures on stdout, one per line, in seconds; it never decides whether a
figure is good (tests/bench/report.py puts it next to its reference).

  probe.py statloop PATH N
      N stat(2) calls of PATH; prints the total seconds.
  probe.py write PATH VALUE
      open(O_WRONLY|O_TRUNC), write VALUE + "\\n", close, as echo VALUE >
      PATH does in a shell; prints the seconds from open to close returning.
  probe.py visible MARATHON APP-ID PATH VALUE TIMEOUT
      PUT {"instances": VALUE} to MARATHON/v2/apps/APP-ID, then read PATH
      (open, read, close: what cat does) every 5 ms until it holds VALUE;
      prints the seconds from sending the PUT to the first read that shows
      it, or "timeout" after TIMEOUT seconds.
  probe.py api-visible MARATHON APP-ID VALUE TIMEOUT
      the same change, seen through the API instead: GET
      MARATHON/v2/apps/APP-ID on one kept-alive connection until its
      instances is VALUE (what a script polling with curl sees at best).

Standard library only.
"""

import http.client
import json
import os
import sys
import time
import urllib.parse

# The emulator counts requests per User-Agent: tests/bench/run tells the
# bench's own changes from the mount's requests by it.
UA = "archonfs-bench-probe"


def statloop(path, n):
    st = os.stat
    t0 = time.perf_counter()
    for _ in range(n):
        st(path)
    print("%.9f" % (time.perf_counter() - t0))


def write(path, value):
    data = (value + "\n").encode()
    t0 = time.perf_counter()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as e:
        sys.stderr.write("probe.py: write %s: %s\n" % (path, e.strerror))
        sys.exit(1)
    print("%.9f" % (time.perf_counter() - t0))


def read_value(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip()
    except OSError as e:
        return "error: %s" % e.strerror


def connect(base):
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def put_instances(conn, app, value):
    body = json.dumps({"instances": int(value)})
    conn.request("PUT", "/v2/apps" + app, body=body,
                 headers={"Content-Type": "application/json", "User-Agent": UA})
    r = conn.getresponse()
    text = r.read()
    if r.status // 100 != 2:
        sys.stderr.write("probe.py: PUT /v2/apps%s: HTTP %d: %s\n"
                         % (app, r.status, text[:200].decode("utf-8", "replace")))
        sys.exit(1)


def poll(done, t0, timeout):
    """Print seconds from t0 until done() is true, or "timeout"."""
    while True:
        if done():
            print("%.9f" % (time.perf_counter() - t0))
            return
        if time.perf_counter() - t0 > timeout:
            print("timeout")
            return
        time.sleep(0.005)


def visible(base, app, path, value, timeout):
    conn = connect(base)
    t0 = time.perf_counter()
    put_instances(conn, app, value)
    poll(lambda: read_value(path) == value, t0, timeout)


def api_visible(base, app, value, timeout):
    conn = connect(base)
    t0 = time.perf_counter()
    put_instances(conn, app, value)

    def seen():
        conn.request("GET", "/v2/apps" + app, headers={"User-Agent": UA})
        doc = json.loads(conn.getresponse().read())
        return str(doc.get("app", {}).get("instances")) == value
    poll(seen, t0, timeout)


def main(argv):
    if len(argv) == 3 and argv[0] == "statloop":
        statloop(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "write":
        write(argv[1], argv[2])
    elif len(argv) == 6 and argv[0] == "visible":
        visible(argv[1], argv[2], argv[3], argv[4], float(argv[5]))
    elif len(argv) == 5 and argv[0] == "api-visible":
        api_visible(argv[1], argv[2], argv[3], float(argv[4]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
