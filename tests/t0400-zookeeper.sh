#!/bin/bash
# t0400: the ZooKeeper fixture: Debian's real ZooKeeper 3.8 server, started
# by tests/cluster (tests/zkserver) on a free loopback port with its data in
# the cluster directory, and the tools tests use against it: tests/zkcli
# (zkCli, quiet, with an exit status), tests/zk_client_check.c (the C
# library archonfs uses: binary data, one session watched live) and
# tests/cluster zk-stop / zk-start / zk-expire.  What it shows: the server
# answers and is alone on its port; create, get, set with a version, delete;
# ephemeral and sequential nodes; a digest ACL refuses an unauthenticated
# client; binary data round-trips; zk-stop makes clients fail and zk-start
# brings back the same data on the same port, and the same session;
# zk-expire expires a session as the C client sees it; stop leaves no JVM.
. "$(dirname "$0")/lib.sh"

start_cluster || { echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }
ZK=$ARCHONFS_ZK
ZKPORT=${ZK##*:}
say "ZooKeeper at $ZK"

zkcli() { "$TESTS/zkcli" "$ZK" "$@"; }
zk4() { "$TESTS/zkserver" 4lw "$CLUSTER_DIR" "$1"; }

# run WANT cmd...: cmd exits WANT; its stdout in $TRASH/out, stderr in
# $TRASH/err.
run() {
	local want=$1 rc=0
	shift
	"$@" >"$TRASH/out" 2>"$TRASH/err" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "$* exited $rc, want $want; stdout:"; cat "$TRASH/out"
		echo "stderr:"; cat "$TRASH/err"
		return 1
	fi
}

# out_is TEXT / err_is TEXT: exactly that (printf %b escapes allowed).
out_is() {
	printf '%b' "$1" | cmp -s - "$TRASH/out" || {
		echo "stdout is not '$1':"; od -c "$TRASH/out" | head -n 20; return 1; }
}
err_is() {
	printf '%b' "$1" | cmp -s - "$TRASH/err" || {
		echo "stderr is not '$1':"; od -c "$TRASH/err" | head -n 20; return 1; }
}

# stat_field NAME: that line of a zkCli stat block in $TRASH/out.
stat_field() { sed -n "s/^$1 = //p" "$TRASH/out"; }

test_expect_success 'the server is up: ruok -> imok, standalone, ARCHONFS_ZK is 127.0.0.1:PORT' '
	case $ZK in 127.0.0.1:[0-9]*) ;; *) echo "bad ARCHONFS_ZK=$ZK"; exit 1;; esac
	grep -qx "ARCHONFS_ZK=$ZK" "$CLUSTER_DIR/env"
	check_eq imok "$(zk4 ruok)" ruok
	zk4 srvr >"$TRASH/srvr"
	check_file_has "$TRASH/srvr" "^Zookeeper version: 3\\.8\\."
	check_file_has "$TRASH/srvr" "^Mode: standalone$"
	zk4 conf >"$TRASH/conf"
	check_file_has "$TRASH/conf" "^clientPort=$ZKPORT$"
	check_file_has "$TRASH/conf" "^dataDir=$CLUSTER_DIR/zk/data/version-2$"
	zk4 mntr | grep -q "^zk_server_state	standalone$"
'

test_expect_success 'the JVM: its own config, 128 MB heap, the client port its only listening socket' '
	pid=$(cat "$CLUSTER_DIR/zk.pid")
	tr "\0" "\n" <"/proc/$pid/cmdline" >"$TRASH/cmdline"
	grep -qx -- -Xmx128m "$TRASH/cmdline"
	grep -qx org.apache.zookeeper.server.ZooKeeperServerMain "$TRASH/cmdline"
	grep -qx "$CLUSTER_DIR/zk/zoo.cfg" "$TRASH/cmdline"
	! grep -q /etc/zookeeper "$TRASH/cmdline"
	check_file_has "$CLUSTER_DIR/zk/zoo.cfg" "^admin.enableServer=false$"
	# listening TCP sockets owned by the pid, from /proc
	ports=$($PY - "$pid" <<-\EOF
		import os, sys
		pid = sys.argv[1]
		inodes = set()
		for fd in os.listdir("/proc/%s/fd" % pid):
		    try:
		        t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
		    except OSError:
		        continue
		    if t.startswith("socket:["):
		        inodes.add(t[8:-1])
		ports = set()
		for f in ("/proc/net/tcp", "/proc/net/tcp6"):
		    for line in open(f).readlines()[1:]:
		        x = line.split()
		        if x[3] == "0A" and x[9] in inodes:
		            ports.add("%s:%d" % (x[1].split(":")[0], int(x[1].split(":")[1], 16)))
		print(" ".join(sorted(ports)))
	EOF
	)
	check_eq "0100007F:$ZKPORT" "$ports" "listening sockets (127.0.0.1:port)"
'

test_expect_success 'zkcli: create, get, set with the right version, stat, delete' '
	run 0 zkcli create /t0400 "hello world"
	err_is "Created /t0400\n"
	run 0 zkcli get /t0400
	out_is "hello world\n"
	run 0 zkcli get -s /t0400
	head -n 1 "$TRASH/out" | grep -qx "hello world"
	check_eq 0 "$(stat_field dataVersion)" dataVersion
	check_eq 11 "$(stat_field dataLength)" dataLength
	check_eq 0x0 "$(stat_field ephemeralOwner)" ephemeralOwner
	stat_field ctime | grep -qE "^[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} [A-Z]+ [0-9]{4}$"
	run 0 zkcli set -v 0 /t0400 second
	out_is ""
	run 1 zkcli set -v 0 /t0400 third
	err_is "version No is not valid : /t0400\n"
	run 0 zkcli stat /t0400
	check_eq 1 "$(stat_field dataVersion)" "dataVersion after one set"
	run 0 zkcli get /t0400
	out_is "second\n"
	run 0 zkcli set -s -v 1 /t0400 "third one"
	check_eq 2 "$(stat_field dataVersion)" "dataVersion (set -s)"
	run 1 zkcli create /t0400 again
	err_is "Node already exists: /t0400\n"
	run 0 zkcli create /t0400/child ""
	run 0 zkcli get /t0400/child
	out_is "\n"
	run 0 zkcli create /t0400/nodata
	run 0 zkcli get /t0400/nodata
	out_is "null\n"
	run 0 zkcli ls /t0400
	out_is "[child, nodata]\n"
	run 1 zkcli delete /t0400
	err_is "Node not empty: /t0400\n"
	run 1 zkcli delete -v 5 /t0400/child
	err_is "version No is not valid : /t0400/child\n"
	run 0 zkcli delete -v 0 /t0400/child
	run 1 zkcli get /t0400/child
	err_is "Node does not exist: /t0400/child\n"
	# a chroot, as archonfs --zk HOST:PORT/chroot
	"$TESTS/zkcli" "$ZK/t0400" create /inside x 2>/dev/null
	run 0 zkcli get /t0400/inside
	out_is "x\n"
	run 0 zkcli deleteall /t0400
	run 1 zkcli stat /t0400
'

test_expect_success 'zkcli: errors zkCli itself exits 0 for are failures too; usage errors' '
	run 0 zkcli create /perm x
	# zkCli says "Unknown perm type" and exits 0, having set an ACL that
	# grants nothing
	run 1 zkcli setAcl /perm world:anyone:zq
	check_file_has "$TRASH/err" "^Unknown perm type: z$"
	run 1 zkcli get /perm
	err_is "Insufficient permission : /perm\n"
	run 1 zkcli nosuchcommand /perm
	check_file_has "$TRASH/err" "^Command not found: "
	run 1 zkcli get
	err_is "get [-s] [-w] path\n"
	run 1 zkcli get relative
	err_is "Path must start with / character\n"
	run 2 zkcli create /q "a \"b\" '"'"'c'"'"'"
	run 2 "$TESTS/zkcli" "$ZK"
'

test_expect_success 'ephemeral nodes live as long as their session; sequential names count up' '
	printf "%s\n" "create -e /eph held" "getEphemerals /" "stat /eph" >"$TRASH/cmds"
	run 0 zkcli - <"$TRASH/cmds"
	grep -qx "\\[/eph\\]" "$TRASH/out"
	owner=$(stat_field ephemeralOwner)
	case $owner in 0x0 | "") echo "ephemeralOwner $owner"; exit 1;; esac
	# zkcli closed its session on exit: the node is gone at once
	run 1 zkcli stat /eph
	err_is "Node does not exist: /eph\n"
	run 0 zkcli create /seq x
	run 0 zkcli create -s /seq/n- a
	err_is "Created /seq/n-0000000000\n"
	run 0 zkcli create -s /seq/n- b
	err_is "Created /seq/n-0000000001\n"
	run 0 zkcli create -s -e /seq/n- c
	err_is "Created /seq/n-0000000002\n"
	run 0 zkcli ls /seq
	out_is "[n-0000000000, n-0000000001]\n"
	run 0 zkcli create -s /seq/n- d
	err_is "Created /seq/n-0000000003\n"
'

test_expect_success 'a digest ACL: the unauthenticated and the wrong password are refused, u:p reads' '
	hash=$($PY -c "import base64, hashlib; print(base64.b64encode(hashlib.sha1(b\"u:p\").digest()).decode())")
	run 0 zkcli create /secret "for u only" "digest:u:$hash:cdrwa"
	run 1 zkcli get /secret
	err_is "Insufficient permission : /secret\n"
	run 1 zkcli set /secret x
	err_is "Insufficient permission : /secret\n"
	printf "%s\n" "addauth digest u:wrong" "get /secret" | run 1 zkcli -
	check_file_has "$TRASH/err" "^Insufficient permission : /secret$"
	printf "%s\n" "addauth digest u:p" "get /secret" "getAcl /secret" | run 0 zkcli -
	out_is "for u only\n'"'"'digest,'"'"'u:$hash\n: cdrwa\n"
	# getAcl needs READ or ADMIN (since 3.4.14/3.5.5); stat needs nothing
	run 1 zkcli getAcl /secret
	err_is "Insufficient permission : /secret\n"
	run 0 zkcli stat /secret
	check_eq 10 "$(stat_field dataLength)" dataLength
'

test_expect_success 'binary data round-trips through the C library; zkcli carries UTF-8 text' '
	cc -std=gnu11 -Wall -Wextra -Werror -DTHREADED -I/usr/include/zookeeper \
		-o "$TRASH/zkc" "$TESTS/zk_client_check.c" -lzookeeper_mt
	$PY -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 40 + b\"\\0\\n\")" >"$TRASH/bin"
	"$TRASH/zkc" "$ZK" put /bin <"$TRASH/bin"
	"$TRASH/zkc" "$ZK" get /bin >"$TRASH/bin.back"
	cmp "$TRASH/bin" "$TRASH/bin.back"
	run 0 zkcli stat /bin
	check_eq 10242 "$(stat_field dataLength)" dataLength
	: >"$TRASH/empty"
	"$TRASH/zkc" "$ZK" put /bin <"$TRASH/empty"
	"$TRASH/zkc" "$ZK" get /bin | cmp - "$TRASH/empty"
	text="héllo wörld ✓ – ünïcode"
	run 0 zkcli create /utf8 "$text"
	"$TRASH/zkc" "$ZK" get /utf8 >"$TRASH/u"
	printf "%s" "$text" | cmp - "$TRASH/u"
	run 0 zkcli get /utf8
	out_is "$text\n"
	run 1 "$TRASH/zkc" "$ZK" get /nope
	err_is "zk_client_check: /nope: no node\n"
'

test_expect_success 'batch mode: one JVM for many commands, stops at the first failure' '
	for i in $(seq 1 20); do echo "create /batch$i v$i"; done >"$TRASH/cmds"
	for i in $(seq 1 20); do echo "get /batch$i"; done >>"$TRASH/cmds"
	t0=$(date +%s%N)
	run 0 zkcli - <"$TRASH/cmds"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "# 40 commands in one zkcli batch: $ms ms"
	check_eq 20 "$(wc -l <"$TRASH/out")" "lines out"
	check_eq v20 "$(tail -n 1 "$TRASH/out")" "last line"
	check_eq 20 "$(grep -c "^Created /batch" "$TRASH/err")" "Created lines"
	printf "%s\n" "get /batch1" "# a comment" "" "get /nope" "get /batch2" | run 1 zkcli -
	out_is "v1\n"
	err_is "Node does not exist: /nope\ntests/zkcli: failed: get /nope\n"
	t0=$(date +%s%N)
	run 0 zkcli get /batch3
	echo "# one zkcli command: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
'

HOLD_PID=
test_expect_success 'zk-stop: clients fail; zk-start: same port, same data, the held session is back' '
	"$TRASH/zkc" "$ZK" hold /held 60 >"$TRASH/hold.out" 2>"$TRASH/hold.err" &
	echo $! >"$TRASH/hold.pid"
	wait_for 10 grep -q "^session 0x" "$TRASH/hold.out"
	sid=$(sed -n "s/^session \\(0x[0-9a-f]*\\) .*/\\1/p" "$TRASH/hold.out")
	echo "$sid" >"$TRASH/sid"
	pid=$(cat "$CLUSTER_DIR/zk.pid")
	"$TESTS/cluster" zk-stop "$CLUSTER_DIR"
	! kill -0 "$pid" 2>/dev/null
	! test -e "$CLUSTER_DIR/zk.pid"
	run 3 zkcli get /batch1
	check_file_has "$TRASH/err" "ConnectionLoss"
	wait_for 10 grep -qx "state CONNECTING" "$TRASH/hold.out"
	t0=$(date +%s%N)
	"$TESTS/cluster" zk-start "$CLUSTER_DIR" >"$TRASH/restart"
	echo "# zk-start: answering after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	grep -qx "ARCHONFS_ZK=$ZK" "$TRASH/restart"
	"$TESTS/cluster" status "$CLUSTER_DIR" | grep -q "^zk: running"
	run 0 zkcli get /batch1
	out_is "v1\n"
	run 0 zkcli get /utf8
	"$TRASH/zkc" "$ZK" get /bin | cmp - "$TRASH/empty"
	wait_for 10 grep -qx "state CONNECTED" "$TRASH/hold.out"
	run 0 zkcli stat /held
	check_eq "$sid" "$(stat_field ephemeralOwner)" "owner of /held after the restart"
'

test_expect_success 'zk-expire: the C client sees its session expire and its ephemeral node is gone' '
	sid=$(cat "$TRASH/sid")
	"$TESTS/cluster" zk-expire "$CLUSTER_DIR" "$sid" >"$TRASH/expire"
	grep -qx "expired session $sid" "$TRASH/expire"
	wait_for 10 grep -qx "state EXPIRED" "$TRASH/hold.out"
	pid=$(cat "$TRASH/hold.pid")
	wait_for 5 test ! -d "/proc/$pid"
	run 1 zkcli stat /held
	err_is "Node does not exist: /held\n"
	# expiring an unknown session is an error, without arguments every one
	run 1 "$TESTS/cluster" zk-expire "$CLUSTER_DIR" 0x123
	out_is "session 0x123: no such session\n"
	run 1 "$TESTS/cluster" zk-expire "$CLUSTER_DIR" "$sid"
	out_is "session $sid: no such session\n"
	"$TRASH/zkc" "$ZK" hold /held2 20 >"$TRASH/hold2.out" 2>/dev/null &
	wait_for 10 grep -q "^session 0x" "$TRASH/hold2.out"
	sid2=$(sed -n "s/^session \\(0x[0-9a-f]*\\) .*/\\1/p" "$TRASH/hold2.out")
	run 0 "$TESTS/cluster" zk-expire "$CLUSTER_DIR"
	grep -qx "expired session $sid2" "$TRASH/out"
	wait_for 10 grep -qx "state EXPIRED" "$TRASH/hold2.out"
	wait
'
kill "$(cat "$TRASH/hold.pid" 2>/dev/null)" 2>/dev/null

test_expect_success 'tests/cluster stop ends the JVM: no java of this cluster is left' '
	pid=$(cat "$CLUSTER_DIR/zk.pid")
	"$TESTS/cluster" stop "$CLUSTER_DIR" >"$TRASH/stop"
	grep -qx "stopped zk (pid $pid)" "$TRASH/stop"
	! kill -0 "$pid" 2>/dev/null
	if pgrep -af -- "$CLUSTER_DIR" >"$TRASH/left"; then
		echo "left running:"; cat "$TRASH/left"; exit 1
	fi
	if pgrep -af -- "ZooKeeperMain -server $ZK" >"$TRASH/left"; then
		echo "zkcli JVMs left:"; cat "$TRASH/left"; exit 1
	fi
	run 3 zkcli get /batch1
'

test_done
