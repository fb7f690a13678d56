#!/bin/bash
# t2100: instance logs at size and under faults: a 200 MB log streams in
# constant memory with exactly the agent's bytes; an agent that refuses
# connections or hangs fails only its own files, within the deadline, while
# the rest of the mount keeps answering.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 2 --synthetic-tasks 2 --mesos-agents 2
emu_knobs '{"log_lines_per_second": 0}'
# Under AddressSanitizer freed buffers wait in a quarantine (256 MB by
# default) before the allocator reuses them: that is the sanitizer's
# memory, not archonfs's.  A small quarantine keeps the RSS figure honest;
# without ASan the option is ignored.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
mount_archonfs --marathon "$ARCHONFS_MARATHON" -o timeout=2

APP=/synth/g00/app0000
A=$MNT/apps$APP
emu "/v2/apps$APP" | jq -r '.app.tasks[] | "\(.id) \(.slaveId)"' >$TRASH/tasks
T=$(head -n 1 $TRASH/tasks | cut -d" " -f1)

rss() { awk '/^VmRSS/ {print $2}' /proc/"$(archonfs_pid)"/status; }

test_expect_success 'a 200 MB log: cat gives exactly the agent'"'"'s bytes in constant memory' '
	emu /_emu/tasks/log -X POST -H "Content-Type: application/json" \
		-d "{\"taskId\":\"$T\",\"stream\":\"stdout\",\"fill_bytes\":200000000}" >/dev/null &&
	D=$(sandbox_dir $T) &&
	size=$(stat -c %s "$D/stdout") && test $size -ge 200000000 &&
	check_eq $size "$(stat -c %s $A/tasks/$T/stdout)" "size through the mount" &&
	cat $A/tasks/$T/stdout >/dev/null &&
	before=$(rss) && peak=$before &&
	{ sha256sum <$A/tasks/$T/stdout >$TRASH/got & } &&
	pid=$! &&
	while kill -0 $pid 2>/dev/null; do
		r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05
	done &&
	wait $pid &&
	sha256sum <"$D/stdout" >$TRASH/want &&
	cmp $TRASH/want $TRASH/got &&
	echo "# RSS $before kB before, $peak kB at the peak: +$((peak - before)) kB" &&
	test $((peak - before)) -lt 20480
'

# A task on each agent.
A0=$(awk "NR == 1 {print \$2}" $TRASH/tasks)
T1=$(awk -v a="$A0" '$2 != a {print $1; exit}' $TRASH/tasks)
A1=$(awk -v a="$A0" '$2 != a {print $2; exit}' $TRASH/tasks)
if [ -z "$T1" ]; then
	# Both on one agent: use another app's task for the second agent.
	emu /v2/apps | jq -r '.apps[].tasks[]? | "\(.appId) \(.id) \(.slaveId)"' >$TRASH/all
	line=$(awk -v a="$A0" '$3 != a {print; exit}' $TRASH/all)
	B=$MNT/apps$(echo "$line" | cut -d" " -f1)
	T1=$(echo "$line" | cut -d" " -f2)
	A1=$(echo "$line" | cut -d" " -f3)
else
	B=$A
fi

test_expect_success 'an agent that refuses connections: its logs EIO at once, the other agent'"'"'s still read' '
	test -n "$T1" && test "$A0" != "$A1" &&
	emu_knobs "{\"agents\": {\"$A0\": {\"down\": true}}}" &&
	t0=$(date +%s%N) &&
	expect_errno EIO cat $A/tasks/$T/stderr &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "# EIO after $ms ms" &&
	test $ms -lt 3000 &&
	cat $B/tasks/$T1/stdout >/dev/null &&
	ls $MNT/apps/synth >/dev/null &&
	grep -q "^agent $A0:.*failed" $MNT/.archonfs/status ||
	grep -q "agent $A0: .*[1-9][0-9]* failed" $MNT/.archonfs/status
'

test_expect_success 'the agent back: its logs read again' '
	emu_knobs "{\"agents\": {\"$A0\": {\"down\": false}}}" &&
	wait_for 5 cat $A/tasks/$T/stderr
'

test_expect_success 'a hung agent: ETIMEDOUT within the deadline (2 s) plus 1 s; the rest answers at once' '
	emu_knobs "{\"agents\": {\"$A0\": {\"hang\": true}}}" &&
	t0=$(date +%s%N) &&
	expect_errno ETIMEDOUT cat $A/tasks/$T/stderr &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "# ETIMEDOUT after $ms ms" &&
	test $ms -lt 3000 &&
	t0=$(date +%s%N) &&
	cat $B/tasks/$T1/stdout >/dev/null && cat $A/status >/dev/null &&
	ls $MNT/apps/synth >/dev/null &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "# the rest answered in $ms ms" &&
	test $ms -lt 1000
'

test_expect_success 'the merged log of an app keeps the reachable instances while one agent hangs' '
	{ timeout 10 tail -n 0 -f $B/stdout >$TRASH/merged 2>$TRASH/merged.err &
	  echo $! >$TRASH/tail.pid; } &&
	sleep 1 &&
	emu /_emu/tasks/log -X POST -H "Content-Type: application/json" \
		-d "{\"taskId\":\"$T1\",\"stream\":\"stdout\",\"append\":\"still-here\\n\"}" >/dev/null &&
	{ wait_for 8 grep -q "^$T1: still-here$" $TRASH/merged; rc=$?; } &&
	# end tail and wait for it, so the unmount finds no file open
	{ kill $(cat $TRASH/tail.pid) 2>/dev/null; wait; test $rc = 0; }
'

emu_knobs "{\"agents\": {\"$A0\": {\"hang\": false}}}"

test_done
