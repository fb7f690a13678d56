#!/usr/bin/python3
"""tests/stress/client.py: one client of make stress (tests/stress/run).

Runs for --seconds against a mounted archonfs, picking at random:
  read    cat an app's status, instances or app.json (any app)
  list    ls apps/stress/, an app directory, its tasks/
  follow  tail -f for about 1.5 s: open a task's stdout, read to the end,
          then fstat and read what grew, three times, 0.5 s apart
  write   write a new instances value (0..3) into its own app's instances,
          as `echo N > instances` does: open(O_TRUNC), one write(2), close;
          what write(2) returned is recorded, with the time

Every system call is timed; the longest per kind is reported (a hang
shows there).  After a write that failed with ETIMEDOUT the client waits
--settle seconds before its next write: the request may still reach
Marathon late (the emulator's injected latency), and the wait keeps it from
landing after a later write, so the final state is decidable (see
tests/stress/check.py).

Output: one JSON document (--out) with ops and errors per kind, the longest
call per kind, and the writes in order.  Standard library only.
"""

import argparse
import errno
import json
import os
import random
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnt", required=True)
    ap.add_argument("--app", required=True, help="this client's app id, /stress/c00")
    ap.add_argument("--apps", required=True, help="every app id, comma separated")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--settle", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    o = ap.parse_args()

    rnd = random.Random(o.seed)
    apps = o.apps.split(",")
    adir = lambda a: o.mnt + "/apps" + a
    ops, errs, longest = {}, {}, {}
    writes = []
    not_before = 0.0

    def timed(kind, fn, *args):
        t0 = time.monotonic()
        try:
            return fn(*args)
        finally:
            dt = time.monotonic() - t0
            if dt > longest.get(kind, 0.0):
                longest[kind] = dt

    def count(kind, e=None):
        ops[kind] = ops.get(kind, 0) + 1
        if e is not None:
            key = "%s %s" % (kind, errno.errorcode.get(e.errno, str(e.errno)))
            errs[key] = errs.get(key, 0) + 1

    def cat(path):
        with open(path, "rb") as f:
            return f.read()

    def do_read():
        a = rnd.choice(apps)
        timed("read", cat, adir(a) + "/" + rnd.choice(("status", "instances", "app.json")))

    def do_list():
        a = rnd.choice(apps)
        path = rnd.choice((o.mnt + "/apps/stress", adir(a), adir(a) + "/tasks"))
        timed("list", os.listdir, path)

    def do_follow():
        tasks = timed("follow", os.listdir, adir(o.app) + "/tasks")
        if not tasks:
            return
        path = adir(o.app) + "/tasks/" + rnd.choice(tasks) + "/stdout"
        fd = timed("follow", os.open, path, os.O_RDONLY)
        try:
            while timed("follow", os.read, fd, 65536):
                pass
            for _ in range(3):
                time.sleep(0.5)
                timed("follow", os.fstat, fd)
                while timed("follow", os.read, fd, 65536):
                    pass
        finally:
            os.close(fd)

    def do_write():
        nonlocal not_before
        v = rnd.randint(0, 3)
        t0 = time.time()
        res = "ok"
        fd = timed("write", os.open, adir(o.app) + "/instances", os.O_WRONLY | os.O_TRUNC)
        try:
            timed("write", os.write, fd, b"%d\n" % v)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
            if e.errno in (errno.ETIMEDOUT, errno.EINTR):
                not_before = time.monotonic() + o.settle
            raise
        finally:
            try:
                os.close(fd)
            except OSError:
                pass
            writes.append({"t0": t0, "t1": time.time(), "value": v, "result": res})

    kinds = (("read", do_read, 40), ("list", do_list, 25), ("follow", do_follow, 8),
             ("write", do_write, 27))
    table = [(k, fn) for k, fn, w in kinds for _ in range(w)]
    end = time.monotonic() + o.seconds
    while time.monotonic() < end:
        kind, fn = rnd.choice(table)
        if kind == "write" and time.monotonic() < not_before:
            kind, fn = "read", do_read     # settling after a timed-out write
        try:
            fn()
            count(kind)
        except OSError as e:
            count(kind, e)
        time.sleep(rnd.uniform(0, 0.05))

    with open(o.out, "w") as f:
        json.dump({"app": o.app, "ops": ops, "errors": errs,
                   "longest": {k: round(v, 3) for k, v in longest.items()},
                   "writes": writes}, f, indent=1)


if __name__ == "__main__":
    main()
