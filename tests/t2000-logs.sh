#!/bin/bash
# t2000: instance logs through the mount: tasks/<id>/stdout and stderr are
# the sandbox files, read by offset; tail -f and tail -F see every line
# exactly once, in order, within 2 s; the app-level log merges every
# instance while one is killed and replaced; sandbox/ browses the sandbox;
# ended instances keep their logs in completed/ until the sandbox goes.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 2 --synthetic-tasks 3 --mesos-agents 2
mount_archonfs --marathon "$ARCHONFS_MARATHON"

APP=/synth/g00/app0000
A=$MNT/apps$APP
emu "/v2/apps$APP" | jq -r '.app.tasks[].id' | sort >$TRASH/tasks
T=$(head -n 1 $TRASH/tasks)

# check_sequence FILE TASK STREAM: every "TASK STREAM N" line of FILE has
# N one more than the line before it (no loss, no repeat, in order), and
# there are at least MIN of them.
check_sequence() {
	awk -v t="$2" -v s="$3" -v min="${4:-5}" '
		$1 == t && $2 == s {
			if (n && $3 != last + 1) { print "after", last, "came", $3; bad = 1 }
			last = $3; n++
		}
		END { if (n < min) { print "only", n, "lines"; bad = 1 } exit bad }' "$1"
}

test_expect_success 'each task directory has stdout, stderr and sandbox' '
	for t in $(cat $TRASH/tasks); do
		ls $A/tasks/$t >$TRASH/ls &&
		grep -qx stdout $TRASH/ls && grep -qx stderr $TRASH/ls &&
		grep -qx sandbox $TRASH/ls || exit 1
	done
'

test_expect_success 'cat stdout gives the bytes of the sandbox file; stat gives its true size' '
	emu_knobs "{\"log_lines_per_second\": 0}" &&
	sleep 0.3 &&
	D=$(sandbox_dir $T) && test -f "$D/stdout" &&
	cmp "$D/stdout" $A/tasks/$T/stdout &&
	cmp "$D/stderr" $A/tasks/$T/stderr &&
	check_eq "$(stat -c %s "$D/stdout")" "$(stat -c %s $A/tasks/$T/stdout)" "size" &&
	check_eq "$(wc -c <"$D/stdout")" "$(wc -c <$A/tasks/$T/stdout)" "wc -c"
'

test_expect_success 'dd skip= and tail -n read from the middle and the end' '
	D=$(sandbox_dir $T) &&
	dd if="$D/stdout" bs=1 skip=100 count=50 2>/dev/null >$TRASH/want &&
	dd if=$A/tasks/$T/stdout bs=1 skip=100 count=50 2>/dev/null >$TRASH/got &&
	cmp $TRASH/want $TRASH/got &&
	tail -n 3 "$D/stderr" >$TRASH/want && tail -n 3 $A/tasks/$T/stderr >$TRASH/got &&
	cmp $TRASH/want $TRASH/got
'

test_expect_success 'grep over every instance'"'"'s stderr' '
	grep -c "stderr 1$" $A/tasks/*/stderr >$TRASH/grep &&
	check_eq 3 "$(grep -c ":1$" $TRASH/grep)" "instances with a first stderr line"
'

test_expect_success 'a read past the end returns nothing' '
	size=$(stat -c %s $A/tasks/$T/stdout) &&
	test -z "$(dd if=$A/tasks/$T/stdout bs=1 skip=$((size + 10)) count=5 2>/dev/null)"
'

test_expect_success 'bytes that are not UTF-8 come through exactly' '
	emu /_emu/tasks/log -X POST -H "Content-Type: application/json" \
		-d "{\"taskId\":\"$T\",\"stream\":\"stderr\",\"append_base64\":\"$(printf "\\377\\376 raw \\200\\n" | base64)\"}" >/dev/null &&
	tail -c 9 $A/tasks/$T/stderr | od -An -tx1 | tr -d " \n" >$TRASH/got &&
	check_eq fffe2072617720800a "$(cat $TRASH/got)" "bytes"
'

# follow MODE FILE SECONDS OUT: GNU tail in the background for SECONDS.
follow() {
	timeout "$3" tail "$1" -n 0 "$2" >"$4" 2>"$4.err" &
}

test_expect_success 'tail -f sees every new line exactly once, in order' '
	emu_knobs "{\"log_lines_per_second\": 20}" &&
	follow -f $A/tasks/$T/stdout 6 $TRASH/tail-f && sleep 6.5 &&
	check_sequence $TRASH/tail-f $T stdout 60
'

test_expect_success 'tail -F likewise' '
	follow -F $A/tasks/$T/stderr 6 $TRASH/tail-F && sleep 6.5 &&
	check_sequence $TRASH/tail-F $T stderr 60
'

test_expect_success 'a line written to the log appears in tail -f within 2 s' '
	emu_knobs "{\"log_lines_per_second\": 0}" &&
	timeout 10 tail -n 0 -f $A/tasks/$T/stdout >$TRASH/marker &
	sleep 1.5 &&
	append $T stdout "marker-$$" && t0=$(date +%s%N) &&
	wait_for 3 grep -q "marker-$$" $TRASH/marker && t1=$(date +%s%N) &&
	ms=$(( (t1 - t0) / 1000000 )) && echo "# appeared after $ms ms" &&
	test $ms -lt 2000
'

test_expect_success 'the app-level stdout merges all 3 instances, whole prefixed lines' '
	emu_knobs "{\"log_lines_per_second\": 20}" &&
	follow -f $A/stdout 5 $TRASH/merged && sleep 5.5 &&
	for t in $(cat $TRASH/tasks); do
		grep "^$t: " $TRASH/merged | sed "s/^[^ ]* //" >$TRASH/one &&
		check_sequence $TRASH/one $t stdout 40 || exit 1
	done &&
	! grep -v "^[^ ]*: [^ ]* stdout [0-9]*$" $TRASH/merged
'

test_expect_success 'the merged log follows a kill and replacement: old stopped, new from line 1' '
	timeout 12 tail -n 0 -f $A/stdout >$TRASH/merged2 &
	sleep 2 &&
	K=$(sed -n 2p $TRASH/tasks) &&
	echo "kill $K" >$A/ctl &&
	wait_for 10 sh -c "emu /v2/apps$APP | jq -e \"[.app.tasks[] | select(.state == \\\"TASK_RUNNING\\\")] | length == 3 and (map(.id) | index(\\\"$K\\\") | not)\"" &&
	N=$(emu "/v2/apps$APP" | jq -r --arg k "$K" ".app.tasks[].id" | sort | comm -13 $TRASH/tasks -) &&
	test -n "$N" && echo "# replacement $N" &&
	wait_for 8 grep -q "^$N: $N stdout 3$" $TRASH/merged2 &&
	grep "^$N: " $TRASH/merged2 | sed "s/^[^ ]* //" >$TRASH/new &&
	check_eq "$N stdout 1" "$(head -n 1 $TRASH/new)" "first line of the replacement" &&
	check_sequence $TRASH/new $N stdout 3 &&
	grep "^$K: " $TRASH/merged2 | sed "s/^[^ ]* //" >$TRASH/old &&
	check_sequence $TRASH/old $K stdout 5 &&
	last=$(tail -n 1 $TRASH/old | cut -d" " -f3) &&
	D=$(sandbox_dir $K) &&
	check_eq "$(tail -n 1 "$D/stdout" | cut -d" " -f3)" "$last" "the killed instance was drained to its end"
'

test_expect_success 'sandbox/ mirrors the sandbox: listing, sizes, a nested file' '
	emu_knobs "{\"log_lines_per_second\": 0}" && sleep 0.3 &&
	D=$(sandbox_dir $T) &&
	(cd "$D" && ls -A | sort) >$TRASH/want && ls -A $A/tasks/$T/sandbox | sort >$TRASH/got &&
	diff $TRASH/want $TRASH/got &&
	f=$(cd "$D" && find . -mindepth 2 -type f | head -n 1) && test -n "$f" &&
	cmp "$D/$f" "$A/tasks/$T/sandbox/$f" &&
	check_eq "$(stat -c %s "$D/stdout")" "$(stat -c %s $A/tasks/$T/sandbox/stdout)" "size in sandbox/"
'

test_expect_success 'sandbox/ is read-only' '
	expect_errno EACCES sh -c "echo x >> $A/tasks/$T/sandbox/stdout" &&
	! touch $A/tasks/$T/sandbox/new 2>/dev/null
'

test_expect_success 'a killed instance shows in completed/ with its logs' '
	K=$(sed -n 2p $TRASH/tasks) &&
	ls $A/completed | grep -qx "$K" &&
	grep -q "^state: TASK_KILLED$" $A/completed/$K/status &&
	cmp "$(sandbox_dir $K)/stdout" $A/completed/$K/stdout &&
	ls $A/completed/$K/sandbox | grep -qx stderr
'

test_expect_success 'once Mesos removes the sandbox its logs are ENOENT' '
	K=$(sed -n 2p $TRASH/tasks) &&
	emu /_emu/sandbox/gc -X POST -H "Content-Type: application/json" -d "{\"taskId\":\"$K\"}" >/dev/null &&
	expect_errno ENOENT cat $A/completed/$K/stdout
'

test_expect_success '.archonfs/status shows the Mesos master and agents' '
	grep -q "^mesos: up" $MNT/.archonfs/status &&
	grep -q "agent .*requests" $MNT/.archonfs/status
'

test_done
