#!/usr/bin/python3
"""report.py: the tables of make bench, from what tests/bench/run measured.

Reads the results file tests/bench/run wrote (one JSON object a line:
{"scale", "key", "value"}) and prints docs/performance.md on stdout: per
scale one table of the eight operations of issue 7, each through the mount,
on the tmpfs copy and with curl + jq, their ratios and the backend requests
each caused; rows 1 to 5 through the FUSE floor (floorfs); the listing
cost; memory; the issue's targets with "met" or "not met", each beside the
floor's own figure; and every check and failure the run noticed.  It computes
medians, percentiles and ratios; it measures nothing and never fails on a
figure.

  report.py --results FILE --machine TEXT --date DATE --command TEXT
            --mount-options OPTS [--warm-mount-options OPTS] --runs N --trials N --op-timeout S [--note TEXT]
            [--reclaim TEXT] [--build TEXT]

Standard library only.
"""

import argparse
import collections
import json
import math
import sys

SCALE_NAMES = {
    "1k": "1,000 apps (the real dump 155_1000.json)",
    "10k": "10,000 apps x 10 tasks (synthetic)",
}


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def pct(xs, p):
    """Nearest-rank percentile; None stands for a trial that timed out (it
    sorts above every figure)."""
    if not xs:
        return None
    xs = sorted(xs, key=lambda x: math.inf if x is None else x)
    k = max(1, math.ceil(p / 100.0 * len(xs)))
    return xs[k - 1]


def fmt_t(s):
    if s is None:
        return "n/a"
    if s < 1e-3:
        return "%.1f µs" % (s * 1e6)
    if s < 1:
        return "%.1f ms" % (s * 1e3)
    return "%.2f s" % s


def fmt_r(r):
    if r is None:
        return "n/a"
    if r >= 1000:
        return "{:,.0f}".format(r)
    if r >= 100:
        return "%.0f" % r
    if r >= 10:
        return "%.1f" % r
    return "%.2f" % r


def fmt_n(n):
    return "{:,}".format(n)


def fmt_mb(kb):
    b = kb * 1024
    return "%.1f MB" % (b / 1e6) if b >= 1e6 else "%.0f kB" % (b / 1e3)


class Fig:
    """One side of one operation: a time (median of runs, or None), whether
    it is only a lower bound (timed out), and its requests."""

    def __init__(self, t=None, lower=False, req=None, note=None):
        self.t = t
        self.lower = lower
        self.req = req or []
        self.note = note

    def text(self, per=None):
        if self.t is None:
            return "n/a"
        return ("> " if self.lower else "") + fmt_t(self.t)


def op_fig(v, per=1):
    if v is None:
        return Fig()
    times = v.get("times") or []
    if not times:
        return Fig()
    if v.get("timed_out"):
        return Fig(max(times) / per, True, v.get("req"))
    return Fig(median(times) / per, False, v.get("req"))


def ratio(a, b):
    """a / b, and whether it is a lower bound (a timed out), an upper
    bound (b timed out) or unknown."""
    if a.t is None or b.t is None or b.t == 0:
        return None, "n/a"
    r = a.t / b.t
    if a.lower and b.lower:
        return None, "n/a"
    if a.lower:
        return r, "> " + fmt_r(r)
    if b.lower:
        return r, "< " + fmt_r(r)
    return r, fmt_r(r)


def req_text(reqs):
    """Requests per run: Marathon + Mesos, a range when runs differ."""
    if not reqs:
        return ""
    ms = [q.get("marathon", 0) for q in reqs]
    ss = [q.get("mesos", 0) for q in reqs]

    def span(xs):
        lo, hi = min(xs), max(xs)
        return fmt_n(lo) if lo == hi else "%s–%s" % (fmt_n(lo), fmt_n(hi))
    return "%s + %s" % (span(ms), span(ss))


def routes_text(q):
    r = q.get("routes") or {}
    if not r:
        return "none"
    return ", ".join("%s %s" % (k, fmt_n(n)) for k, n in sorted(r.items(), key=lambda kv: -kv[1]))


def trials_fig(v):
    """p50 and p95 of the trials (timeouts sort last), the count of
    failures, the requests of a trial."""
    if v is None:
        return None
    tr = v.get("trials") or []
    nums = [x for x in tr if isinstance(x, (int, float))]
    touts = [x for x in tr if x == "timeout"]
    errors = [x for x in tr if isinstance(x, str) and x != "timeout"]
    xs = nums + [None] * len(touts)
    return {"n": len(tr), "p50": pct(xs, 50), "p95": pct(xs, 95), "timeouts": len(touts),
            "errors": len(errors), "req": v.get("req") or []}


def trials_text(f, cap):
    if f is None or f["n"] == 0:
        return "n/a"
    def one(x):
        return "> %s" % fmt_t(cap) if x is None else fmt_t(x)
    s = "%s / %s" % (one(f["p50"]), one(f["p95"]))
    if f["errors"]:
        s += " (%d of %d failed)" % (f["errors"], f["n"])
    return s


def main(argv):
    ap = argparse.ArgumentParser()
    for a in ("--results", "--machine", "--date", "--command", "--mount-options"):
        ap.add_argument(a, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--op-timeout", type=float, required=True)
    ap.add_argument("--warm-mount-options", default="")
    ap.add_argument("--note", default="")
    ap.add_argument("--reclaim", default="")
    ap.add_argument("--build", default="")
    o = ap.parse_args(argv)

    scales = collections.OrderedDict()
    with open(o.results) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            S = scales.setdefault(r["scale"], {})
            v, old = r["value"], S.get(r["key"])
            # An operation recorded again (the cold listings, one per
            # mount): its runs join the ones before.
            if r["key"].startswith("op.") and isinstance(old, dict) and "times" in old \
                    and isinstance(v, dict) and "times" in v:
                for k in ("times", "req", "rc"):
                    old[k] = (old.get(k) or []) + (v.get(k) or [])
                old["timed_out"] = old.get("timed_out") or v.get("timed_out")
                old["error_lines"] = (old.get("error_lines") or 0) + (v.get("error_lines") or 0)
            else:
                S[r["key"]] = v

    out = []
    p = out.append
    p("# archonfs performance")
    p("")
    p("Written by `make bench` (tests/bench/run); do not edit by hand.  Every")
    p("operation runs three ways in the same run, one after the other: through")
    p("the mount, on a copy of the same tree in tmpfs (`/dev/shm`, the floor),")
    p("and as `curl` + `jq` doing the same job against the same emulated")
    p("cluster (what a user without archonfs runs).  Rows 1 to 5 run a fourth")
    p("way too, through the FUSE floor (below).  The ratios are what to")
    p("compare across machines; the times move with whatever else the machine")
    p("runs meanwhile.")
    p("")
    p("* Machine: %s; date: %s." % (o.machine, o.date))
    if o.build:
        p("* Build: %s." % o.build)
    if o.note:
        p("* Note: %s" % o.note)
    if o.reclaim:
        p("* Page cache: this machine runs %s, without memory pressure.  The" % o.reclaim)
        p("  kernel's cached listings and pages of a FUSE filesystem (the mount's and")
        p("  the floor's) are page cache: those idle that long are dropped and asked")
        p("  again at the next walk; tmpfs's are not (shared memory, no swap).")
    p("* Command: `%s`." % o.command)
    opts = set(o.mount_options.split(","))
    if {"ttl=60", "entry_timeout=60", "attr_timeout=60"} <= opts:
        p("* Mount: `archonfs --marathon URL -o %s`: every TTL is 60 s, so only" % o.mount_options)
        p("  Marathon's pushed `/v2/events` can make a change visible sooner.")
    else:
        p("* Mount: `archonfs --marathon URL -o %s`." % o.mount_options)
    if o.warm_mount_options and o.warm_mount_options != o.mount_options:
        p("  That is the mount of rows 6 to 8 and of steady RSS (1).  Rows 1 to 5 run")
        p("  on one with `-o %s`: caches that outlive a pass" % o.warm_mount_options)
        p("  over the whole tree, so that warm is warm (with 60 s, a pass over")
        p("  100,000 sandboxes outlasts what it cached and fetches it all again).")
    p("* Times: median of %d run(s); rows 2, 3 and 5 run in rounds (each round runs "
      "every side once, in turn), the warm walks of rows 1 and 4 back to back on each "
      "side; cold listings: the median of their runs, each on a new mount, "
      "alternating with curl + jq (see the row);" % o.runs)
    p("  rows 7 and 8 are p50 / p95 of %d trials.  Whole-tree operations are" % o.trials)
    p("  capped at %g s: \"> T\" means the cap ended it." % o.op_timeout)
    p("* Requests: what each side caused per run, counted by the emulator,")
    p("  as Marathon + Mesos (master and agents).")
    p("")

    for name, S in scales.items():
        if name == "-":
            continue
        scale_report(p, name, S, o)

    p("## How each figure is made")
    p("")
    p(METHOD.strip())
    p("")
    sys.stdout.write("\n".join(out))
    return 0


METHOD = """
* **Cold** (row 1, first line): a new mount, so the kernel has cached
  nothing under it but `apps/` (listed to wait for the first snapshot);
  then a write to `.archonfs/refresh` drops every cache of archonfs and
  invalidates what the kernel holds.  The request counts
  show it was cold: a new `GET /v2/apps` and every agent directory.  The
  curl + jq side is always cold: it keeps nothing between runs.  Below
  10,000 tasks the pair runs 5 times (`--cold-runs`), each listing on a
  new mount and followed by its curl + jq run, and the medians are
  compared; above, once (a run takes minutes).
* **Warm**: the same operation again on the same mount right after.
* **tmpfs**: `cp -a` of the whole mount to `/dev/shm` after the cold
  listing; `find` must list the same paths on both (the checks below say
  whether it did).  If the copy hit the cap, only the `instances` and
  `status` files are copied, for rows 2 and 3.  With 10,000 tasks or more
  `cp -a` would read every log of every sandbox, so `apps/` is made again
  from an `ls -lR` of the mount instead (tests/bench/replica.py: the same
  names, kinds, modes, sizes, mtimes and link targets; files sparse, as
  rows 1 and 4 read metadata only), the rest of the mount copied, and the
  `instances` and `status` files copied over their stand-ins.
* **curl + jq for rows 1 and 4** (tests/bench/curl_tree): one `GET
  /v2/apps?embed=...`, `GET /v2/apps/ID/versions` and every version
  document for the versions' sizes, the Mesos master's `/master/slaves` and
  every page of `/master/tasks` (10,000 tasks a request, as archonfs reads
  it: the master answers 100 unless asked), each agent's
  `/slave(1)/state`, then a `/files/browse` of every task's sandbox and of
  every directory in it; batches of URLs go through one `curl -K` each,
  over kept-alive connections, one request at a time, and jq prints one
  `path size` line per entry.  (archonfs reads the sandboxes and versions
  of a walk ahead, two browses at a time: `-o readahead`.)  The names of tasks, versions and sandbox
  entries it finds are checked against the mount's.
* **Row 2**: `cat` of every app's `instances` (one `xargs cat`); curl + jq:
  one `GET /v2/apps`, `jq '.apps[].instances'`.  The sums must agree.
* **Row 3**: `grep -l -x 'healthy: 0'` over every app's `status` (which apps
  have no healthy instance); curl + jq: one `GET /v2/apps` and `jq` selecting
  `tasksHealthy == 0`.  The lists must agree.
* **Row 5**: 10,000 `stat(2)` calls of one app's `status` in one process
  (tests/bench/probe.py); curl + jq: 1,000 `GET /v2/apps/ID` over one
  connection, jq extracting `.app.version`; per call.
* **Row 6**: `cat` of one instance's stdout of the given size; curl: every
  64 KiB piece of the agent's `/files/read` (its cap) from one `curl -K` over
  one connection; tmpfs: the file copied there through the mount.
* **Row 7**: `open`, `write`, `close` of `instances` (what `echo N >`
  does), until it returns, i.e. Marathon accepted the change; curl: one
  `curl -X PUT` of `{"instances": N}`, starting curl included, as a user
  runs it.  Each trial waits (untimed) for the deployment before to end.
* **Row 8**: from sending a `PUT` of the app's instances to Marathon's API
  until a read (open, read, close, every 5 ms) of the mount's `instances`
  shows it; a trial gives up after 10 s.  curl: until a `GET` shows it.
* **Steady RSS**: (1) the first mount, after it loaded the snapshot,
  listed `apps/` and idled 2 s; (2) the second mount, after the cold and
  warm listings, the copy, rows 2 to 5 and 2 s idle.  Peak: VmHWM of the
  second mount after rows 1 to 5 (row 6 reports its own).
"""


def scale_report(p, name, S, o):
    c = S.get("cluster") or {}
    title = SCALE_NAMES.get(name) or "%s apps x tasks (synthetic)" % name
    p("## %s" % title)
    p("")
    if c:
        p("%s apps, %s tasks, %s group directories; the `GET /v2/apps?embed=apps.tasks&"
          "embed=apps.counts&embed=apps.deployments&embed=apps.lastTaskFailure` body is "
          "%s bytes (without embed: %s).  The changes of rows 6 to 8 go to `%s`."
          % (fmt_n(c["apps"]), fmt_n(c["tasks"]), fmt_n(c["groups"]), fmt_n(c["embed_bytes"]),
             fmt_n(c["plain_bytes"]), c["bench_app"]))
    cp = S.get("copy") or {}
    if cp.get("method") == "replica":
        if cp.get("same_paths"):
            p("The tree: `apps/` made again in tmpfs from an `ls -lR` of the mount (%s paths, "
              "%s), the rest copied." % (fmt_n(cp["mount_paths"]), fmt_t(cp["seconds"])))
        else:
            p("`apps/` made again in tmpfs from an `ls -lR` of the mount: exit %d, %s paths "
              "for %s listed: rows 1 and 4 have no tmpfs figure." % (
                  cp["rc"], fmt_n(cp["copy_paths"]), fmt_n(cp["mount_paths"])))
    elif cp.get("same_paths"):
        p("The tree: %s paths (`find`); `cp -a` of it to tmpfs took %s." % (
            fmt_n(cp["mount_paths"]), fmt_t(cp["seconds"])))
    elif cp and cp["rc"] in (124, 137):
        p("`cp -a` of the mount to tmpfs hit the %g s cap with %s paths copied: rows 1 "
          "and 4 have no tmpfs figure; rows 2 and 3 use copies of the `instances` and "
          "`status` files alone." % (o.op_timeout, fmt_n(cp["copy_paths"])))
    elif cp:
        p("`cp -a` of the mount to tmpfs exited %d after %s, and `find` lists %s paths on "
          "the mount but %s in the copy: rows 1 and 4 have no tmpfs figure." % (
              cp["rc"], fmt_t(cp["seconds"]), fmt_n(cp["mount_paths"]),
              fmt_n(cp["copy_paths"])))
    if "start_seconds" in S:
        p("Fixtures up in %s; this scale took %s." % (
            fmt_t(S["start_seconds"]), fmt_t(S.get("scale_seconds"))
            if "scale_seconds" in S else "(did not finish)"))
    p("")

    cap = o.op_timeout
    tree = op_fig(S.get("op.tree.curl"))
    calls = S.get("stat_calls") or {}
    rows = []
    targets = []

    def row(num, label, m, t, u, note_m="", note_u=""):
        rt, rtt = ratio(m, t)
        ru, rut = ratio(m, u)
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            num, label, m.text(), t.text(), u.text(), rtt, rut,
            req_text(m.req) + note_m, req_text(u.req) + note_u))
        return rt, ru, rtt, rut

    lc = op_fig(S.get("op.ls_cold.mount"))
    lwt = op_fig(S.get("op.ls_warm.tmpfs"))
    lw = op_fig(S.get("op.ls_warm.mount"))
    ncold = len((S.get("op.ls_cold.mount") or {}).get("times") or [])
    cold_label = "`ls -lR apps/` cold (%d run%s)" % (ncold, "" if ncold == 1 else "s")
    _, ru_cold, _, rut_cold = row(1, cold_label, lc, lwt, tree)
    rt_warm, _, rtt_warm, _ = row(1, "`ls -lR apps/` warm", lw, lwt, tree, note_u=" ¹")
    ci = [op_fig(S.get("op.cat_instances." + s)) for s in ("mount", "tmpfs", "curl")]
    rt_cat, _, rtt_cat, _ = row(2, "`cat` every `instances`", *ci)
    gs = [op_fig(S.get("op.grep_status." + s)) for s in ("mount", "tmpfs", "curl")]
    row(3, "`grep -l` every app's `status`", *gs)
    fm = op_fig(S.get("op.find.mount"))
    ft = op_fig(S.get("op.find.tmpfs"))
    rt_find, _, rtt_find, _ = row(4, "`find` the whole mount", fm, ft, tree, note_u=" ¹")
    st = [op_fig(S.get("op.stat." + s), calls.get(s, 1)) for s in ("mount", "tmpfs", "curl")]
    row(5, "`stat` one file, per call", *st)
    lg = [op_fig(S.get("op.log." + s)) for s in ("mount", "tmpfs", "curl")]
    log = S.get("log") or {}
    mb = log.get("bytes", 0) / 1e6
    row(6, "read a %.0f MB log" % mb if mb else "read an instance log", *lg)

    em = trials_fig(S.get("op.echo.mount"))
    et = trials_fig(S.get("op.echo.tmpfs"))
    eu = trials_fig(S.get("op.echo.curl"))

    def trow(num, label, m, t, u):
        def rr(a, b):
            if not a or not b or a["p50"] is None or b["p50"] is None or not b["p50"]:
                return "n/a"
            return fmt_r(a["p50"] / b["p50"])
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            num, label, trials_text(m, 10), trials_text(t, 10) if t else "—",
            trials_text(u, 10), rr(m, t) if t else "—", rr(m, u),
            (req_text(m["req"]) + " per trial") if m and m["req"] else "",
            (req_text(u["req"]) + " per trial") if u and u["req"] else ""))
    trow(7, "`echo N > instances` returns (p50 / p95)", em, et, eu)
    vm = trials_fig(S.get("op.visible.mount"))
    vu = trials_fig(S.get("op.visible.curl"))
    trow(8, "a change through the API visible (p50 / p95)", vm, None, vu)

    p("| # | operation | mount | tmpfs | curl + jq | mount / tmpfs | mount / curl "
      "| requests: mount | requests: curl |")
    p("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p(r)
    p("")
    p("¹ the curl + jq side of rows 1 and 4 is the same job as the cold listing:")
    p("curl + jq keeps nothing between runs.  Ratios of rows 7 and 8 are of the p50s.")

    # The FUSE floor: the same rows through floorfs.
    lcf = op_fig(S.get("op.ls_cold.floor"))
    lcb = op_fig(S.get("op.ls_cold.floor_fetch"))
    lwf = op_fig(S.get("op.ls_warm.floor"))
    cif = op_fig(S.get("op.cat_instances.floor"))
    gsf = op_fig(S.get("op.grep_status.floor"))
    fmf = op_fig(S.get("op.find.floor"))
    stf = op_fig(S.get("op.stat.floor"), calls.get("floor", 1))
    floor = {}
    if lcf.t is not None or lwf.t is not None:
        p("")
        p("### The FUSE floor")
        p("")
        p("Rows 1 to 5 through floorfs (`tests/bench/floorfs.c`): a FUSE filesystem that "
          "serves the tmpfs copy from memory, making archonfs's choices towards the kernel "
          "(one thread, READDIRPLUS, no OPENDIR, `KEEP_CACHE` and no FLUSH on open, the warm "
          "mount's timeouts) and nothing else.  What it costs is what FUSE costs on this "
          "machine: no FUSE filesystem does these operations faster here.  Its cold row is "
          "the first `ls -lR` of each new floorfs mount, as many as the mount's.  A cold "
          "listing also fetches what it shows, on the same two CPUs as the walk and against "
          "the same emulator: the row \"with the fetching beside it\" is floorfs's first "
          "`ls -lR` of a new mount after the same `GET /v2/apps`, while two curl processes "
          "(as archonfs's two read-ahead threads) make the other requests of the curl + jq "
          "reference that archonfs makes too: all but the document of the version each app "
          "is at, which archonfs renders from the listing (`tests/bench/fetch_beside`); "
          "these runs alternate with the walks alone.")
        p("")
        p("| # | operation | mount | FUSE floor | tmpfs | floor / tmpfs | floor / curl "
          "| mount / floor |")
        p("|---|---|---|---|---|---|---|---|")

        def frow(num, label, m, f, t, u):
            # f against tmpfs (t) or against curl + jq (u): a row has one.
            rt = ratio(f, t) if t is not None else (None, "—")
            ru = ratio(f, u) if u is not None else (None, "—")
            p("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                num, label, m.text(), f.text(), t.text() if t is not None else "—",
                rt[1], ru[1], ratio(m, f)[1]))
            return rt if t is not None else ru
        floor["cold"] = frow(1, cold_label, lc, lcf, None, tree)
        if lcb.t is not None:
            floor["cold_fetch"] = frow(1, "`ls -lR apps/` cold, with the fetching beside it",
                                       lc, lcb, None, tree)
        floor["warm"] = frow(1, "`ls -lR apps/` warm", lw, lwf, lwt, None)
        floor["cat"] = frow(2, "`cat` every `instances`", ci[0], cif, ci[1], None)
        frow(3, "`grep -l` every app's `status`", gs[0], gsf, gs[1], None)
        floor["find"] = frow(4, "`find` the whole mount", fm, fmf, ft, None)
        frow(5, "`stat` one file, per call", st[0], stf, st[1], None)
    if log:
        p("")
        p("Row 6: %s of RSS before streaming the log through the mount, %s at the "
          "peak while streaming it (the copy to tmpfs)." % (
              fmt_mb(log["rss_before_kb"]), fmt_mb(log["rss_peak_kb"])))
    p("")

    # The listing cost.
    ls = S.get("listing")
    p("### Listing cost")
    p("")
    if ls:
        q = ls["req"]
        tot = q.get("marathon", 0) + q.get("mesos", 0)
        p("After `echo > .archonfs/refresh`, `ls -l` of every directory of apps/ that a "
          "listing is made from (%s groups, %s apps and their %s `tasks/`) caused %d "
          "backend request(s): %s.%s" % (
              fmt_n(ls["groups"]), fmt_n(ls["apps"]), fmt_n(ls["apps"]), tot, routes_text(q),
              "" if not ls.get("error_lines") else " (%d lines of errors)" % ls["error_lines"]))
        targets.append(("every listing: at most one backend request per refresh",
                        "%d (%s)" % (tot, routes_text(q)), tot <= 1))
    else:
        p("Not measured.")
    p("")

    # Memory.
    s1 = S.get("rss.steady1")
    s2 = S.get("rss.steady2")
    pk = S.get("rss.peak")
    fm_ = S.get("rss.first_mount")
    body = c.get("embed_bytes")
    p("### Memory")
    p("")
    if body:
        p("* The raw `/v2/apps?embed=...` body: %s." % fmt_mb(body / 1024))
    if s1:
        p("* Steady RSS (1), after loading the snapshot and listing `apps/`, idle: %s."
          % fmt_mb(s1["rss_kb"]))
    if fm_:
        p("* That first mount's peak (VmHWM) after the listing-cost check: %s."
          % fmt_mb(fm_["hwm_kb"]))
    if s2:
        p("* Steady RSS (2), second mount, after the whole-tree operations, idle: %s."
          % fmt_mb(s2["rss_kb"]))
    if pk:
        p("* Peak RSS (VmHWM) of the second mount, after rows 1 to 5: %s." % fmt_mb(pk["hwm_kb"]))
    for label, v in (("(1)", s1), ("(2)", s2)):
        if v and body:
            targets.append(("steady RSS %s no larger than the raw body (%s)" % (label, fmt_mb(body / 1024)),
                            fmt_mb(v["rss_kb"]), v["rss_kb"] * 1024 <= body))
    p("")

    # Targets.
    def tgt(label, r, txt, limit):
        # "> r": the mount hit the cap, r is a lower bound; "< r": the
        # reference did, r is an upper bound.  Either decides only one way.
        if r is None:
            ok = None
        elif txt.startswith("> "):
            ok = False if r > limit else None
        elif txt.startswith("< "):
            ok = True if r <= limit else None
        else:
            ok = r <= limit
        targets.append((label, txt if r is not None else "n/a", ok))
    floor_of = {}

    def ftgt(label, r, txt, limit, key):
        tgt(label, r, txt, limit)
        fr, ftxt = floor.get(key, (None, "n/a"))
        if fr is not None:
            floor_of[label] = "%s (%s)" % (ftxt, "met" if fr <= limit else "not met")
        br, btxt = floor.get(key + "_fetch", (None, "n/a"))
        if fr is not None and br is not None:
            floor_of[label] += "; with the fetching beside it %s (%s)" % (
                btxt, "met" if br <= limit else "not met")
    ftgt("warm `ls -lR apps/` within 1.5x of tmpfs", rt_warm, rtt_warm, 1.5, "warm")
    ftgt("`cat` of every `instances` within 1.5x of tmpfs", rt_cat, rtt_cat, 1.5, "cat")
    ftgt("`find` within 1.5x of tmpfs", rt_find, rtt_find, 1.5, "find")
    ftgt("cold full listing within 1.2x of curl + jq", ru_cold, rut_cold, 1.2, "cold")
    if vm and vm["n"]:
        p95 = vm["p95"]
        ok = p95 is not None and p95 < 1.0 and not vm["errors"]
        targets.append(("change visible, p95 under 1 s (TTLs 60 s)",
                        "> 10 s" if p95 is None else fmt_t(p95), ok))
    p("### Targets of issue 7 (set for 10,000 apps; shown at every scale)")
    p("")
    p("| target | figure | | the FUSE floor's figure |")
    p("|---|---|---|---|")
    for label, fig, ok in targets:
        p("| %s | %s | %s | %s |" % (label, fig, "n/a" if ok is None else ("met" if ok else "not met"),
                                     floor_of.get(label, "—")))
    p("")
    if floor_of:
        p("The floor's figure is the same ratio with floorfs in the mount's place: where "
          "it is not met, no FUSE filesystem meets the target on this machine.  For the "
          "cold listing it is given twice: the walk alone, and with the fetching beside it, "
          "where it is not met, no FUSE filesystem that fetches what the listing shows "
          "meets the target here while the emulator shares its CPUs.")
        p("")

    # Checks and failures.
    notes = []
    if cp.get("same_paths") and cp.get("method") != "replica":
        notes.append("tmpfs copy: `cp -a` exited %d; `find` lists the same %s paths on the "
                     "mount and in the copy." % (cp["rc"], fmt_n(cp["mount_paths"])))
    if cp.get("error_lines"):
        notes.append("`cp -a` printed %d error line(s), the first: `%s`." % (
            cp["error_lines"], cp.get("first_error", "").replace("`", "'")))
    v = S.get("op.ls_cold.mount")
    if v and v.get("req"):
        r = v["req"][0].get("routes") or {}
        agent = sum(n for k, n in r.items() if k.startswith("agent "))
        n = r.get("GET /v2/apps", 0)
        notes.append("the cold listing %s: it fetched `/v2/apps` %d time(s) and made %s agent "
                     "requests for %s tasks." % (
                         "was cold" if n else "was NOT cold", n, fmt_n(agent),
                         fmt_n(c.get("tasks", 0))))
    cn = S.get("curl_names")
    if cn:
        notes.append("curl + jq found the same names of tasks, versions and sandbox entries "
                     "as the mount: %s (%s on the mount, %s by curl)." % (
                         "yes" if cn["same"] else "no", fmt_n(cn["mount"]), fmt_n(cn["curl"])))
    a = S.get("answers.cat_instances")
    if a:
        same = a["mount"] == a["tmpfs"] == a["curl"]
        notes.append("row 2 answers agree (count and sum of instances): %s (mount %d/%d, "
                     "tmpfs %d/%d, curl %d/%d)." % (
                         "yes" if same else "no", a["mount"]["lines"], a["mount"]["sum"],
                         a["tmpfs"]["lines"], a["tmpfs"]["sum"], a["curl"]["lines"],
                         a["curl"]["sum"]))
    if a and a.get("floor"):
        notes.append("the FUSE floor's row 2 answers are the tmpfs copy's: %s (%d/%d)." % (
            "yes" if a["floor"] == a["tmpfs"] else "no", a["floor"]["lines"], a["floor"]["sum"]))
    a = S.get("answers.grep_status")
    if a:
        notes.append("row 3 answers agree (apps with no healthy instance): %s (%d on the "
                     "mount, %d by jq)." % ("yes" if a["same"] else "no", a["mount"], a["curl"]))
    if a and a.get("floor_same") is not None:
        notes.append("the FUSE floor's row 3 answers are the tmpfs copy's: %s." % (
            "yes" if a["floor_same"] else "no"))
    for k in sorted(S):
        v = S[k]
        if not k.startswith("op.") or not isinstance(v, dict):
            continue
        if v.get("timed_out"):
            notes.append("%s: hit the %g s cap after %s." % (k[3:], cap, fmt_t(max(v["times"]))))
        if v.get("error_lines"):
            notes.append("%s: %d lines on stderr (exit %s)." % (
                k[3:], v["error_lines"], ",".join(str(x) for x in v.get("rc", []))))
        elif any(x not in (0, 124, 137) for x in v.get("rc", [])):
            notes.append("%s: exit status %s." % (k[3:], ",".join(str(x) for x in v["rc"])))
    for k, f in (("echo.mount", em), ("echo.curl", eu), ("visible.mount", vm), ("visible.curl", vu)):
        if f and (f["errors"] or f["timeouts"]):
            notes.append("%s: %d of %d trials failed, %d timed out." % (
                k, f["errors"], f["n"], f["timeouts"]))
    p("### Checks")
    p("")
    for n in notes:
        p("* " + n)
    if not notes:
        p("None recorded.")
    p("")

    # Requests by route, first run of each.
    p("### Requests by route (first run or trial of each)")
    p("")
    p("Every client's requests in that run: a curl row of rows 7 and 8 also shows")
    p("what the mount fetched meanwhile (the table counts each side's own, told")
    p("apart by User-Agent).")
    p("")
    if S.get("listing"):
        p("* listing cost: %s." % routes_text(S["listing"]["req"]))
    for k in sorted(S):
        v = S[k]
        if not k.startswith("op.") or not isinstance(v, dict) or not v.get("req"):
            continue
        q = v["req"][0]
        p("* %s: %s." % (k[3:], routes_text(q)))
    p("")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
