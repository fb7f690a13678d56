#!/usr/bin/python3
"""tests/stress/check.py: the verdict of make stress on the clients' records.

  check.py MARATHON_URL INITIAL CLIENT.json...

Every write's outcome must match the emulator's final state.  For each
app (one per client, written only by that client) the writes are replayed
in order over the set of values the app may hold, starting from INITIAL:

  write(2) succeeded          -> {value}: Marathon took it (a 200 with a
                                 deployment), whatever came before
  ETIMEDOUT or EINTR          -> set + {value}: the deadline passed or the
                                 call was interrupted with the request
                                 possibly sent, so it may or may not have
                                 been applied; both are right (DESIGN.md 5:
                                 .error says to check).  The client waits
                                 longer than any injected latency before
                                 its next write, so a late one cannot land
                                 after a later write
  any other error (EBUSY: a   -> set unchanged: archonfs or Marathon refused
  deployment lock; EIO: a 5xx    it before applying (the emulator injects
  or Marathon down, refused      5xx before it handles a request; a write
  at once; EINVAL)               while Marathon is down is never sent)

The app's instances in the emulator (GET /v2/apps/ID) must be in the final
set.  Prints one line per app and the totals; exits 1 on any mismatch.
"""

import json
import sys
import urllib.request

AMBIGUOUS = ("ETIMEDOUT", "EINTR")


def main():
    url, initial = sys.argv[1], int(sys.argv[2])
    bad = 0
    ops, errs = {}, {}
    wtotal = {}
    for path in sys.argv[3:]:
        with open(path) as f:
            c = json.load(f)
        for k, v in c["ops"].items():
            ops[k] = ops.get(k, 0) + v
        for k, v in c["errors"].items():
            errs[k] = errs.get(k, 0) + v
        cand = {initial}
        for w in c["writes"]:
            r = w["result"]
            wtotal[r] = wtotal.get(r, 0) + 1
            if r == "ok":
                cand = {w["value"]}
            elif r in AMBIGUOUS:
                cand = cand | {w["value"]}
        with urllib.request.urlopen(url + "/v2/apps" + c["app"], timeout=10) as resp:
            final = json.load(resp)["app"]["instances"]
        ok = final in cand
        bad += not ok
        print("%s %s: %d writes, final instances %d, acceptable %s" % (
            "ok  " if ok else "BAD ", c["app"], len(c["writes"]), final, sorted(cand)))
    print("writes by result: %s" % json.dumps(wtotal, sort_keys=True))
    print("ops: %s" % json.dumps(ops, sort_keys=True))
    print("errors by op and errno: %s" % json.dumps(errs, sort_keys=True))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
