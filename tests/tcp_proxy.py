#!/usr/bin/python3
"""tests/tcp_proxy.py: a TCP forwarder for tests (never part of archonfs).

  tcp_proxy.py --port-file FILE --to HOST:PORT [--port N]

Listens on 127.0.0.1 on port N (default: a free one; written to FILE once
listening) and
copies bytes both ways between each client and HOST:PORT.  Killing it is a
server that dies: connections drop and new ones are refused.  t8400 puts it
in front of the Marathon emulator as the first of two --marathon URLs.
"""
import argparse
import os
import socket
import threading


def pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, to):
    try:
        upstream = socket.create_connection(to)
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--port", type=int, default=0)
    o = ap.parse_args()
    host, port = o.to.rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", o.port))
    ls.listen(64)
    tmp = o.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, o.port_file)
    while True:
        c, _ = ls.accept()
        serve(c, (host, int(port)))


if __name__ == "__main__":
    main()
