#!/bin/bash
# t8000: never hang, never queue a write.  It proves: a backend call that
# hangs past every timeout of its own (tests/hang_shim.c blocks connect and
# recv to Marathon in the daemon) still gets its caller ETIMEDOUT within
# the deadline plus 1 s, while the rest of the mount answers; Ctrl-C (a
# SIGINT, so FUSE INTERRUPT) ends a blocked deployments/<id>/wait and a
# read blocked on a hung agent promptly; 100 readers stuck on a hung agent leave
# ls apps/ and a cached file answering within 100 ms while they are all
# stuck, and each of them ends within the deadline plus 1 s; a paused Kafka broker (SIGSTOP) makes only
# Kafka's files time out; while Marathon, ZooKeeper or Kafka is down,
# writes to it are refused at once with EIO and the reason in .error, and
# nothing reaches it; each works again when it is back, without a remount.
. "$(dirname "$0")/lib.sh"

SHIM=$TRASH/hang_shim.so
FLAG=$TRASH/hang
APP=/f/web

kc() { kcat -b "$ARCHONFS_KAFKA" "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# timed TAG LIMIT_MS cmd...: run cmd (TAG.out, TAG.err, TAG.rc in $TRASH);
# fails if it took LIMIT_MS or more; prints the time as a note.
timed() {
	local tag=$1 limit=$2 t0 ms rc=0
	shift 2
	t0=$(date +%s%N)
	"$@" >"$TRASH/$tag.out" 2>"$TRASH/$tag.err" || rc=$?
	ms=$(ms_since "$t0")
	echo "$rc" >"$TRASH/$tag.rc"
	echo "# $*: status $rc after $ms ms"
	if [ "$ms" -ge "$limit" ]; then
		echo "$* took $ms ms, limit $limit; stderr:"; cat "$TRASH/$tag.err"
		return 1
	fi
}

# interruptible OUT CMD...: run CMD in the background, output to OUT, with
# SIGINT at its default (a non-interactive shell starts background jobs
# ignoring it); prints the pid.
interruptible() {
	local out=$1
	shift
	$PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$out" 2>&1 &
	echo $!
}

# write_close FILE TEXT: write TEXT and close, failing if close(2) does (a
# document is applied at close, and the shell ignores a failed close).
write_close() {
	$PY -c 'import sys
f = open(sys.argv[1], "w")
f.write(sys.argv[2])
f.close()' "$1" "$2"
}

# readers_blocked N FILE: N cat processes of FILE exist and at least one
# of their requests is in archonfs's Mesos pool (the kernel sends one
# LOOKUP of a name at a time; the others wait for it in the kernel).
readers_blocked() {
	[ "$(pgrep -c -f "^cat $2\$")" = "$1" ] &&
	awk '/^mesos/ { m = 1 } m && /pool:/ { gsub(",", ""); print $4 + $6; exit }' \
		"$MNT/.archonfs/status" | grep -qv "^0\$"
}

# ended_within PID LIMIT_MS: the process exits within LIMIT_MS.
ended_within() {
	local i
	for i in $(seq 1 $(($2 / 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.02
	done
	echo "process $1 still runs after $2 ms"
	return 1
}

test_expect_success 'the hang shim builds' '
	cc -Wall -Wextra -Werror -shared -fPIC -o "$SHIM" "$TESTS/hang_shim.c" -ldl
'

start_cluster --mesos-agents 2 --kafka-arg --topics=orders:1 || {
	echo "not ok 2 - cluster starts"; test_count=2; test_failed=1; test_done; }
emu_knobs '{"log_lines_per_second": 0}'
emu /v2/apps -X POST -H 'Content-Type: application/json' \
	-d "{\"id\": \"$APP\", \"cmd\": \"sleep 1000\", \"instances\": 2, \"cpus\": 0.1, \"mem\": 32}" >/dev/null
printf '%s\n' 'create /cfg ""' 'create /cfg/a "1"' | "$TESTS/zkcli" "$ARCHONFS_ZK" - >/dev/null 2>&1
wait_for 10 no_deployments
PORT=${ARCHONFS_MARATHON##*:}
# The sanitizer runtime must come first in the library list; the shim
# only wraps libc functions, so the order check is switched off.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
HANG_SHIM_PORT=$PORT HANG_SHIM_FLAG=$FLAG LD_PRELOAD=$SHIM \
	mount_archonfs --marathon "$ARCHONFS_MARATHON" --zk "$ARCHONFS_ZK" --kafka "$ARCHONFS_KAFKA" \
	-o timeout=2 || { echo "not ok 2 - archonfs mounts"; test_count=2; test_failed=1; test_done; }
A=$MNT/apps$APP

# --- a call that ignores its deadline -----------------------------------------

test_expect_success 'a Marathon call hung past its own timeouts: the write gets ETIMEDOUT within 2 s + 1 s; the rest answers' '
	check_eq 2 "$(cat $A/instances)" "instances" && ls $MNT/zk/cfg >/dev/null &&
	touch $FLAG &&
	timed w 3000 bash -c "echo 3 > $A/instances" &&
	grep -q "Connection timed out" $TRASH/w.err &&
	timed ls 1000 ls $MNT/apps/f && grep -qx web $TRASH/ls.out &&
	timed zk 1000 cat $MNT/zk/cfg/a && check_eq 1 "$(cat $TRASH/zk.out)" "zk/cfg/a" &&
	grep -q "answered while running" $MNT/.archonfs/status &&
	awk "/^marathon:/,/pool:/" $MNT/.archonfs/status | grep "pool:" >$TRASH/pool &&
	check_file_has $TRASH/pool ", [1-9][0-9]* answered while running"
'

test_expect_success '... the hung call, released, is logged as ended after its caller was answered (the write may apply: said)' '
	rm -f $FLAG &&
	wait_for 10 grep -q "write .*instances: ended .* after its caller was answered; sent: PUT /v2/apps/f/web" $TRASH/archonfs.log &&
	grep "after its caller was answered" $TRASH/archonfs.log | sed "s/^/# /" &&
	wait_for 10 no_deployments
'

# --- interrupts -----------------------------------------------------------------

test_expect_success 'Ctrl-C on a blocked deployments/<id>/wait: cat ends within 1 s' '
	emu_knobs "{\"deploy_seconds\": 30}" &&
	emu /v2/apps$APP -X PUT -H "Content-Type: application/json" -d "{\"instances\": 1}" >$TRASH/put &&
	dep=$(jq -r .deploymentId $TRASH/put) && test -n "$dep" &&
	wait_for 5 test -e $MNT/deployments/$dep/wait &&
	interruptible $TRASH/wait.out cat $MNT/deployments/$dep/wait >$TRASH/wait.pid &&
	sleep 0.5 && kill -0 $(cat $TRASH/wait.pid) &&
	t0=$(date +%s%N) && kill -INT $(cat $TRASH/wait.pid) &&
	ended_within $(cat $TRASH/wait.pid) 1000 && echo "# wait ended $(ms_since $t0) ms after SIGINT" &&
	emu_knobs "{\"deploy_seconds\": 0.5}" &&
	emu /v2/deployments/$dep -X DELETE -G -d force=true >/dev/null &&
	wait_for 10 no_deployments
'

test_expect_success 'Ctrl-C on a read blocked by a hung agent: cat ends within 1 s, long before the deadline' '
	emu "/v2/apps$APP" | jq -r ".app.tasks[0] | \"\(.id) \(.slaveId)\"" >$TRASH/t0 &&
	T=$(cut -d" " -f1 $TRASH/t0) && AG=$(cut -d" " -f2 $TRASH/t0) &&
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" --zk "$ARCHONFS_ZK" --kafka "$ARCHONFS_KAFKA" -o timeout=10 &&
	cat $A/status >/dev/null &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": true}}}" &&
	interruptible $TRASH/log.out cat $A/tasks/$T/stdout >$TRASH/log.pid &&
	sleep 1 && kill -0 $(cat $TRASH/log.pid) &&
	t0=$(date +%s%N) && kill -INT $(cat $TRASH/log.pid) &&
	ended_within $(cat $TRASH/log.pid) 1000 && echo "# cat stdout ended $(ms_since $t0) ms after SIGINT (deadline 10 s)" &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": false}}}" &&
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" --zk "$ARCHONFS_ZK" --kafka "$ARCHONFS_KAFKA" -o timeout=2,mesos_timeout=5
'

# --- isolation ------------------------------------------------------------------

# Starting 100 readers takes a while on a loaded machine (two seconds under
# the sanitizers), so this mount gives Mesos 5 s: the probes must run while
# every reader is still stuck, not while their deadlines fire together.
# Readers take their times from $EPOCHREALTIME: a date(1) per reader would
# queue 100 processes on the CPU just as the deadlines end them all.
test_expect_success '100 readers stuck on a hung agent: ls apps/ and a cached file answer within 100 ms; each reader ends within 5 s + 1 s' '
	emu "/v2/apps$APP" | jq -r ".app.tasks[0] | \"\(.id) \(.slaveId)\"" >$TRASH/t &&
	T=$(cut -d" " -f1 $TRASH/t) && AG=$(cut -d" " -f2 $TRASH/t) &&
	cat $A/status >/dev/null && ls $MNT/apps >/dev/null &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": true}}}" &&
	t0=$(date +%s%N) &&
	for i in $(seq 1 100); do
		{ s=${EPOCHREALTIME/./}; cat $A/tasks/$T/stdout >/dev/null 2>$TRASH/r$i.err; rc=$?; e=${EPOCHREALTIME/./}; echo "$rc $(((e - s) / 1000)) $(((e - t0 / 1000) / 1000))" >$TRASH/r$i.res; } &
	done &&
	wait_for 20 readers_blocked 100 $A/tasks/$T/stdout &&
	echo "# all 100 readers blocked $(ms_since $t0) ms after they started" &&
	for probe in 1 2 3; do
		timed pls 100 ls $MNT/apps && grep -qx f $TRASH/pls.out &&
		timed pcat 100 cat $A/status && grep -q "^instances: " $TRASH/pcat.out || exit 1
	done &&
	wait &&
	echo "# 100 readers done $(ms_since $t0) ms after they started" &&
	cat $TRASH/r*.res | sort -k2 -n | tail -n 1 | sed "s/^/# slowest reader (status, ms, ms since the first started): /" &&
	cat $TRASH/r*.res | sort -k3 -n | awk "{ print \$2, \$3 }" | tr "\n" " " | sed "s/^/# each reader (ms, ms since the first started): /;s/\$/\n/" &&
	bad=$(cat $TRASH/r*.res | awk "\$1 == 0 || \$2 >= 6000" | wc -l) &&
	check_eq 0 "$bad" "readers that did not fail within 6000 ms" &&
	check_eq 100 "$(grep -l "Connection timed out" $TRASH/r*.err | wc -l)" "readers with ETIMEDOUT" &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": false}}}"
'

test_expect_success 'a paused broker (SIGSTOP: connected, never answers): offsets ETIMEDOUT within 2 s + 1 s while apps/ answers; SIGCONT: back' '
	cat $MNT/topics/orders/offsets >/dev/null &&
	kpid=$(cat "$CLUSTER_DIR/kafka.pid") && kill -STOP $kpid && ok=0 &&
	{ timed koff 3000 cat $MNT/topics/orders/offsets || ok=1; } &&
	{ grep -q "Connection timed out" $TRASH/koff.err || { echo "cat offsets:"; cat $TRASH/koff.out $TRASH/koff.err; ok=1; }; } &&
	{ timed kapps 1000 ls $MNT/apps || ok=1; } &&
	kill -CONT $kpid && test $ok = 0 &&
	wait_for 15 cat $MNT/topics/orders/offsets
'

# --- writes refused while down ----------------------------------------------------

test_expect_success 'Marathon down: status says since when; a write is EIO at once, .error says why, nothing reaches Marathon' '
	emu_knobs "{\"fail\": {\"status\": 503, \"count\": 100000}}" &&
	{ echo x >$MNT/.archonfs/refresh || true; } &&
	wait_for 10 sh -c "cat $A/instances >/dev/null 2>&1; grep -q \"^marathon: down since \" $MNT/.archonfs/status" &&
	emu_knobs "{\"fail\": {\"status\": 503, \"count\": 100000}}" && emu_reset &&
	timed down 500 bash -c "echo 3 > $A/instances" &&
	grep -q "Input/output error" $TRASH/down.err &&
	check_file_has $A/.error "marathon is down since .*nothing was sent; writes are refused while it is down, never queued" &&
	check_eq 0 "$(emu_writes)" "writes that reached Marathon" &&
	check_eq 1 "$(cat $A/instances)" "instances (served stale)"
'

test_expect_success 'Marathon back: the next write goes through, without a remount' '
	emu_knobs "{\"fail\": null}" &&
	wait_for 10 bash -c "echo 2 > $A/instances" &&
	check_eq 2 "$(emu_app $APP | jq .instances)" "instances in Marathon" &&
	wait_for 10 no_deployments
'

test_expect_success 'ZooKeeper down: a write is EIO at once with the reason; back up, it goes through' '
	check_eq 1 "$(cat $MNT/zk/cfg/a)" "zk/cfg/a" &&
	"$TESTS/cluster" zk-stop "$CLUSTER_DIR" &&
	wait_for 10 grep -q "^zookeeper: down" $MNT/.archonfs/status &&
	timed zdown 500 write_close $MNT/zk/cfg/a 2 &&
	grep -q "Input/output error" $TRASH/zdown.err &&
	check_eq 2 "$(cat $MNT/zk/cfg/a.rejected)" "the refused text, kept" &&
	check_file_has $MNT/zk/cfg/.error "not connected to any server since .*nothing was sent; writes are refused while it is down" &&
	"$TESTS/cluster" zk-start "$CLUSTER_DIR" &&
	wait_for 20 grep -q "^zookeeper: up" $MNT/.archonfs/status &&
	wait_for 10 write_close $MNT/zk/cfg/a 2 &&
	check_eq 2 "$("$TESTS/zkcli" "$ARCHONFS_ZK" get /cfg/a)" "/cfg/a in ZooKeeper"
'

test_expect_success 'Kafka down: a write is EIO at once with the reason; back up, it goes through' '
	cat $MNT/topics/orders/partitions >/dev/null &&
	curl -sSf --max-time 10 -X POST -H "Content-Type: application/json" -d "{\"down\": [0]}" \
		"$ARCHONFS_KAFKA_CONTROL/_broker/knobs" >/dev/null &&
	wait_for 15 sh -c "ls $MNT/topics >/dev/null 2>&1; grep -q \"^kafka: down\" $MNT/.archonfs/status" &&
	timed kdown 500 bash -c "echo 2 > $MNT/topics/orders/partitions" &&
	grep -q "Input/output error" $TRASH/kdown.err &&
	check_file_has $MNT/topics/orders/.error "kafka is down since .*nothing was sent" &&
	curl -sSf --max-time 10 -X POST -H "Content-Type: application/json" -d "{\"down\": []}" \
		"$ARCHONFS_KAFKA_CONTROL/_broker/knobs" >/dev/null &&
	wait_for 20 bash -c "echo 2 > $MNT/topics/orders/partitions" &&
	check_eq 2 "$(kc -L -J | jq "[.topics[] | select(.topic == \"orders\") | .partitions | length] | .[0]")" "partitions per kcat"
'

test_expect_success '-o mesos_timeout=1 with timeout=4: a hung agent times out in 1 s, Marathon keeps 4 s' '
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" -o timeout=4,mesos_timeout=1 &&
	check_file_has $MNT/.archonfs/config "^mesos_timeout: 1\$" &&
	check_file_has $MNT/.archonfs/config "^marathon_timeout: 4\$" &&
	emu "/v2/apps$APP" | jq -r ".app.tasks[0] | \"\(.id) \(.slaveId)\"" >$TRASH/t1 &&
	T=$(cut -d" " -f1 $TRASH/t1) && AG=$(cut -d" " -f2 $TRASH/t1) &&
	cat $A/status >/dev/null &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": true}}}" && ok=0 &&
	{ timed m1 2000 cat $A/tasks/$T/stdout || ok=1; } &&
	{ grep -q "Connection timed out" $TRASH/m1.err || { cat $TRASH/m1.err; ok=1; }; } &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": false}}}" && test $ok = 0
'

test_done
