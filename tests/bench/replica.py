#!/usr/bin/env python3
"""replica.py LISTING ROOT DEST: the tree an `ls -lR --time-style=full-iso ROOT`
printed (LISTING), made again under DEST with the same names, kinds, modes,
sizes, mtimes and link targets; files are sparse (no content).

The bench's floor for the whole-tree rows (ls -lR, find), which read
metadata only, when `cp -a` of the mount would read every log of every
sandbox.  Prints the number of paths made, DEST itself included.
"""
import os
import sys

BITS = [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 0o4, 0o2, 0o1]


def mode_of(perm):
    m = 0
    for i, ch in enumerate(perm[1:10]):
        if ch not in "-":
            m |= BITS[i]
    return m


def mtime_ns(date, clock):
    # "2026-12-06" "10:00:00.123456789" (+0000: the bench runs in UTC)
    import calendar
    import time
    sec, _, frac = clock.partition(".")
    t = calendar.timegm(time.strptime(date + " " + sec, "%Y-%m-%d %H:%M:%S"))
    return t * 10**9 + int((frac + "000000000")[:9])


def main(listing, root, dest):
    root = root.rstrip("/")
    here = None
    dirs = []          # (path, mode, mtime) set last, children first
    made = 1
    os.makedirs(dest, exist_ok=True)
    with open(listing, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("total "):
                continue
            if line.endswith(":") and (line[:-1] == root or line.startswith(root + "/")):
                here = os.path.join(dest, line[len(root) + 1:-1])
                continue
            parts = line.split(None, 8)
            if here is None or len(parts) < 9:
                continue
            perm, size, name = parts[0], parts[4], parts[8]
            ns = mtime_ns(parts[5], parts[6])
            kind = perm[0]
            if kind == "l":
                name, _, target = name.partition(" -> ")
                os.symlink(target, os.path.join(here, name))
            elif kind == "d":
                path = os.path.join(here, name)
                os.mkdir(path)
                dirs.append((path, mode_of(perm), ns))
            else:
                path = os.path.join(here, name)
                with open(path, "wb") as out:
                    out.truncate(int(size))
                os.chmod(path, mode_of(perm))
                os.utime(path, ns=(ns, ns))
            made += 1
    for path, mode, ns in reversed(dirs):
        os.chmod(path, mode | 0o200)     # the bench copies files in later
        os.utime(path, ns=(ns, ns))
    print(made)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: replica.py LISTING ROOT DEST")
    main(sys.argv[1], sys.argv[2], sys.argv[3])
