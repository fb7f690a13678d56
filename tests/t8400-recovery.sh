#!/bin/bash
# t8400: recovery without a remount, and clean endings.  It proves: with
# --marathon DEAD,LIVE the mount works through the live one; a Marathon
# unreachable at mount time does not stop the mount, and is used once it
# answers; when the
# Marathon archonfs uses dies (a proxy in front of the emulator, killed),
# reads and writes carry on through the next URL; a write that gets no
# answer is ETIMEDOUT and .error says to look at deployments/; SIGINT and
# SIGTERM unmount and end the daemon; a daemon killed with SIGKILL leaves a
# stale mount point, and starting archonfs on it says so and how to fix it.
. "$(dirname "$0")/lib.sh"

APP=/r/web
A=$MNT/apps$APP

# a free loopback port nobody listens on
dead_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_proxy [PORT]
start_proxy() {
	rm -f $TRASH/proxy.port
	$PY "$TESTS/tcp_proxy.py" --port-file $TRASH/proxy.port --to "${ARCHONFS_MARATHON#http://}" \
		--port "${1:-0}" >$TRASH/proxy.log 2>&1 &
	echo $! >$TRASH/proxy.pid
	wait_for 5 test -s $TRASH/proxy.port
}
stop_proxy() {
	[ -s $TRASH/proxy.pid ] && kill "$(cat $TRASH/proxy.pid)" 2>/dev/null
	rm -f $TRASH/proxy.pid
}
trap 'stop_proxy; cleanup' EXIT

start_cluster || { echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }
emu /v2/apps -X POST -H 'Content-Type: application/json' \
	-d "{\"id\": \"$APP\", \"cmd\": \"sleep 1000\", \"instances\": 1, \"cpus\": 0.1, \"mem\": 32}" >/dev/null
wait_for 10 no_deployments

test_expect_success '--marathon DEAD,LIVE: the mount reads and writes through the live URL' '
	mount_archonfs --marathon "http://127.0.0.1:$(dead_port),$ARCHONFS_MARATHON" -o timeout=3 &&
	check_eq 1 "$(cat $A/instances)" "instances" &&
	echo 2 >$A/instances && check_eq 2 "$(emu_app $APP | jq .instances)" "instances in Marathon" &&
	check_file_has $MNT/.archonfs/status "^  url: $ARCHONFS_MARATHON\$" &&
	wait_for 10 no_deployments && umount_archonfs
'

test_expect_success 'a Marathon unreachable at mount time: the mount is made, status says down, apps/ is EIO; it comes up when Marathon does' '
	port=$(dead_port) &&
	mount_archonfs --marathon "http://127.0.0.1:$port" -o timeout=3 &&
	expect_errno EIO ls $MNT/apps &&
	check_file_has $MNT/.archonfs/status "^marathon: down" &&
	start_proxy $port &&
	wait_for 15 sh -c "ls $MNT/apps | grep -qx r" &&
	check_eq 2 "$(cat $A/instances)" "instances" &&
	check_file_has $MNT/.archonfs/status "^marathon: up" &&
	stop_proxy && umount_archonfs
'

test_expect_success 'the Marathon in use dies: reads and writes go on through the next URL, no remount' '
	start_proxy &&
	mount_archonfs --marathon "http://127.0.0.1:$(cat $TRASH/proxy.port),$ARCHONFS_MARATHON" -o timeout=3 &&
	check_eq 2 "$(cat $A/instances)" "instances" &&
	check_file_has $MNT/.archonfs/status "^  url: http://127.0.0.1:$(cat $TRASH/proxy.port)\$" &&
	stop_proxy &&
	emu /v2/apps$APP -X PUT -H "Content-Type: application/json" -d "{\"instances\": 3}" >/dev/null &&
	wait_for 10 no_deployments &&
	wait_for 10 test "$(cat $A/instances 2>/dev/null)" = 3 &&
	echo 1 >$A/instances && check_eq 1 "$(emu_app $APP | jq .instances)" "instances in Marathon" &&
	check_file_has $MNT/.archonfs/status "^  url: $ARCHONFS_MARATHON\$" &&
	wait_for 10 no_deployments
'

test_expect_success 'a write Marathon never answers: ETIMEDOUT, and .error says to look at deployments/' '
	emu_knobs "{\"hang\": true, \"hang_path_prefix\": \"/v2/apps$APP\"}" &&
	t0=$(date +%s%N) &&
	expect_errno ETIMEDOUT bash -c "echo 2 >$A/instances" &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "# ETIMEDOUT after $ms ms (timeout 3 s)" &&
	test $ms -lt 4000 &&
	check_file_has $MNT/apps/r/web/.error "may or may not have been applied: look at deployments/" &&
	emu_knobs "{\"hang\": false, \"hang_path_prefix\": null}" &&
	wait_for 10 no_deployments
'

# A shell starts background jobs with SIGINT ignored, and libfuse keeps an
# ignored signal ignored: the daemon is started with SIGINT at its default,
# as a terminal would.
cat >$TRASH/sigint-default <<EOF
#!/usr/bin/python3
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv("$ARCHONFS", ["$ARCHONFS"] + sys.argv[1:])
EOF
chmod +x $TRASH/sigint-default

test_expect_success 'SIGINT (Ctrl-C) unmounts and ends the daemon' '
	umount_archonfs &&
	ARCHONFS=$TRASH/sigint-default mount_archonfs --marathon "$ARCHONFS_MARATHON" &&
	pid=$(archonfs_pid) && kill -INT $pid &&
	wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" &&
	! grep -qs " $MNT fuse" /proc/mounts && rm -f $PIDFILE
'

test_expect_success 'SIGTERM unmounts and ends the daemon' '
	mount_archonfs --marathon "$ARCHONFS_MARATHON" &&
	pid=$(archonfs_pid) && kill -TERM $pid &&
	wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" &&
	! grep -qs " $MNT fuse" /proc/mounts && rm -f $PIDFILE
'

test_expect_success 'after SIGKILL the mount point is stale: archonfs says so and how to fix it; after fusermount3 -u it mounts' '
	mount_archonfs --marathon "$ARCHONFS_MARATHON" &&
	pid=$(archonfs_pid) && kill -KILL $pid && rm -f $PIDFILE &&
	wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" &&
	! ls $MNT 2>$TRASH/ls.err && grep -q "Transport endpoint is not connected" $TRASH/ls.err &&
	! "$ARCHONFS" --marathon "$ARCHONFS_MARATHON" $MNT 2>$TRASH/stale.err &&
	check_file_has $TRASH/stale.err "is a stale mount" &&
	check_file_has $TRASH/stale.err "fusermount3 -u $MNT" &&
	fusermount3 -u $MNT &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" &&
	check_eq "$(emu_app $APP | jq .instances)" "$(cat $A/instances)" "instances, as Marathon has them"
'

test_done
