#!/bin/bash
# t2200: what logs and sandboxes cost the agents.  A cold `ls -lR` of an
# app costs one /files/browse per sandbox directory, no size probe and no
# agent state (the sandboxes are the agents' virtual paths); the
# same listing within the TTL costs no request at all and shows the same
# file sizes and mtimes (the agent's, not "now"); concurrent lookups in one
# sandbox share one browse; an open file still sees every byte with a
# TTL of a minute; a sandbox that vanished is not shown from the cache; a
# walk (two tasks of an app in a row) reads the app's other sandboxes
# ahead, each directory once, and one task looked at reads nothing ahead.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 2 --synthetic-tasks 6 --mesos-agents 2
emu_knobs '{"log_lines_per_second": 0}'
mount_archonfs --marathon "$ARCHONFS_MARATHON" -o ttl=60

APP=/synth/g00/app0000
A=$MNT/apps$APP
emu "/v2/apps$APP" | jq -r '.app.tasks[].id' | sort >$TRASH/tasks
T=$(head -n 1 $TRASH/tasks)

# What the master and agents were asked, by route ("/files/browse"), and
# how many browses asked for a path containing $1 (task ids are kept as
# they are in the query: Marathon's are unreserved characters).
mesos_reset() { emu /_emu/mesos/requests -X DELETE >/dev/null; }
mesos_count() {
	emu /_emu/mesos/stats | jq --arg r "$1" \
		'[.by_route | to_entries[] | select(.key | endswith(" " + $r)) | .value] | add // 0'
}
mesos_total() { emu /_emu/mesos/stats | jq .total; }
browses_of() {
	emu /_emu/mesos/requests | jq --arg t "$1" \
		'[.[] | select(.path == "/files/browse" and (.query | contains($t)))] | length'
}
refresh() { echo >$MNT/.archonfs/refresh; }

test_expect_success 'a cold ls -lR of an app: one browse per sandbox directory, no probe' '
	want=0 &&
	for t in $(cat $TRASH/tasks); do
		D=$(sandbox_dir $t) && test -d "$D" &&
		want=$((want + 1 + $(find "$D" -mindepth 1 -type d | wc -l)))
	done &&
	mesos_reset &&
	ls -lR --time-style=full-iso $A >$TRASH/ls1 &&
	echo "# $(wc -l <$TRASH/tasks) tasks: $(mesos_count /files/browse) browses (want $want), $(mesos_count /files/read) reads, $(mesos_count "/slave(1)/state") agent states, $(mesos_total) requests" &&
	check_eq $want "$(mesos_count /files/browse)" "browses" &&
	check_eq 0 "$(mesos_count /files/read)" "size probes" &&
	check_eq 0 "$(mesos_count "/slave(1)/state")" "agent states (Mesos 1.11 agents: virtual paths)" &&
	test "$(mesos_count /master/tasks)" -le 1 &&
	grep -q "stdout" $TRASH/ls1
'

# A pulled directory's mtime moves on once per entry_timeout, which is how
# the kernel is told to read its listing again (docs/architecture.md): a
# directory's time is not compared, every file's size and time is.
dir_times_out() {
	sed -E '/^d/s/ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ [+-][0-9]{4} / (time) /'
}

test_expect_success 'the same ls -lR within the TTL: no request, the same sizes and times' '
	mesos_reset && sleep 1.1 &&
	ls -lR --time-style=full-iso $A >$TRASH/ls2 &&
	check_eq 0 "$(mesos_total)" "Mesos requests" &&
	dir_times_out <$TRASH/ls1 >$TRASH/ls1.f && dir_times_out <$TRASH/ls2 >$TRASH/ls2.f &&
	diff $TRASH/ls1.f $TRASH/ls2.f
'

test_expect_success 'a log'"'"'s mtime is the agent'"'"'s, the same at every stat' '
	D=$(sandbox_dir $T) &&
	refresh && m1=$(stat -c %Y $A/tasks/$T/stdout) &&
	sleep 1.1 &&
	refresh && m2=$(stat -c %Y $A/tasks/$T/stdout) &&
	m3=$(stat -c %Y $A/tasks/$T/sandbox/stdout) &&
	check_eq "$(stat -c %Y "$D/stdout")" "$m1" "mtime" &&
	check_eq "$m1" "$m2" "mtime again" &&
	check_eq "$m1" "$m3" "mtime in sandbox/"
'

test_expect_success 'concurrent lookups in one cold sandbox share one browse' '
	refresh && mesos_reset &&
	for f in stdout stderr sandbox/stdout sandbox/stderr sandbox/conf; do
		stat -c %s $A/tasks/$T/$f >$TRASH/st.$(echo $f | tr / _) &
	done &&
	ls -l $A/tasks/$T/sandbox >/dev/null &&
	wait &&
	check_eq 1 "$(mesos_count /files/browse)" "browses" &&
	check_eq 0 "$(mesos_count /files/read)" "size probes"
'

test_expect_success 'an open file sees growth at once; then so does a stat by path' '
	D=$(sandbox_dir $T) &&
	ls -l $A/tasks/$T >/dev/null &&
	append $T stdout "grown-$$" &&
	check_eq "$(stat -c %s "$D/stdout")" "$(stat -c %s - <$A/tasks/$T/stdout)" "fstat of an open file" &&
	check_eq "$(stat -c %s "$D/stdout")" "$(wc -c <$A/tasks/$T/stdout)" "wc -c" &&
	check_eq "$(stat -c %s "$D/stdout")" "$(stat -c %s $A/tasks/$T/stdout)" "stat by path after the open" &&
	tail -n 1 $A/tasks/$T/stdout | grep -qx "grown-$$"
'

test_expect_success 'tail -f sees a new line within 2 s with -o ttl=60' '
	ls -l $A/tasks/$T/sandbox >/dev/null &&
	{ timeout 10 tail -n 0 -f $A/tasks/$T/sandbox/stdout >$TRASH/marker &
	  echo $! >$TRASH/tail.pid; } &&
	sleep 1.5 &&
	append $T stdout "marker-$$" && t0=$(date +%s%N) &&
	{ wait_for 3 grep -q "marker-$$" $TRASH/marker; rc=$?; } && t1=$(date +%s%N) &&
	kill $(cat $TRASH/tail.pid) 2>/dev/null; wait &&
	test $rc = 0 &&
	ms=$(( (t1 - t0) / 1000000 )) && echo "# appeared after $ms ms" &&
	test $ms -lt 2000
'

test_expect_success 'completed/: one task list per TTL, one browse per sandbox directory' '
	K=$(sed -n 2p $TRASH/tasks) &&
	echo "kill $K" >$A/ctl &&
	wait_for 10 sh -c "emu /v2/apps$APP | jq -e \"[.app.tasks[].id] | index(\\\"$K\\\") | not\" >/dev/null" &&
	refresh && mesos_reset &&
	ls -lR $A/completed >$TRASH/ls-c &&
	grep -q "^$A/completed/$K/sandbox:" $TRASH/ls-c &&
	D=$(sandbox_dir $K) &&
	want=$((1 + $(find "$D" -mindepth 1 -type d | wc -l))) &&
	echo "# $(mesos_count /master/tasks) task lists, $(browses_of "$K") browses of its sandbox (want $want)" &&
	check_eq 1 "$(mesos_count /master/tasks)" "task lists" &&
	check_eq $want "$(browses_of "$K")" "browses" &&
	mesos_reset && ls -lR $A/completed >/dev/null &&
	check_eq 0 "$(mesos_total)" "requests within the TTL"
'

# The kernel keeps listings until told; telling it is asynchronous (from a
# thread that serves no request), so the listing goes within moments.  The
# READDIR then answers ENOENT, which glibc's readdir takes for the end of
# the directory: ls shows it empty.
test_expect_success 'a sandbox Mesos removed is not shown from the cache (nor kept by the kernel)' '
	K=$(sed -n 2p $TRASH/tasks) &&
	ls $A/completed/$K/sandbox | grep -qx stdout &&
	emu /_emu/sandbox/gc -X POST -H "Content-Type: application/json" -d "{\"taskId\":\"$K\"}" >/dev/null &&
	expect_errno ENOENT cat $A/completed/$K/stdout &&
	wait_for 2 sh -c "test -z \"\$(ls -A $A/completed/$K/sandbox 2>/dev/null)\""
'

test_expect_success '.archonfs/status counts the listings kept' '
	grep -q "^  listings: [0-9]* kept" $MNT/.archonfs/status
'

# Read-ahead, on the other app (the tests above killed and removed tasks
# of the first): a walk is two tasks of one app read in a row; then every
# directory of the app's other sandboxes is browsed before anyone asks,
# each once.
APP2=/synth/g00/app0001
A2=$MNT/apps$APP2
emu "/v2/apps$APP2" | jq -r '.app.tasks[].id' | sort >$TRASH/tasks2
NT2=$(wc -l <$TRASH/tasks2)
NV2=$(emu "/v2/apps$APP2/versions" | jq ".versions | length")
T1=$(sed -n 1p $TRASH/tasks2)
T2=$(sed -n 2p $TRASH/tasks2)
tasks_browsed() {
	local t n=0
	for t in $(cat $TRASH/tasks2); do
		[ "$(browses_of "$t")" -gt 0 ] && n=$((n + 1))
	done
	echo $n
}
dirs_of_app2() {
	local t D want=0
	for t in $(cat $TRASH/tasks2); do
		D=$(sandbox_dir $t) && test -d "$D" &&
		want=$((want + 1 + $(find "$D" -mindepth 1 -type d | wc -l))) || return 1
	done
	echo $want
}

test_expect_success 'one task looked at, again and again: nothing is read ahead' '
	refresh && mesos_reset &&
	ls -l $A2/tasks/$T1 $A2/tasks/$T1/sandbox >/dev/null &&
	stat $A2/tasks/$T1/stdout $A2/tasks/$T1/stderr >/dev/null &&
	sleep 1 &&
	check_eq 1 "$(tasks_browsed)" "tasks whose sandbox was browsed"
'

test_expect_success 'two tasks of an app in a row: the rest is read ahead, each directory once' '
	want=$(dirs_of_app2) &&
	refresh && mesos_reset && emu /_emu/requests -X DELETE >/dev/null &&
	ls -l $A2/tasks/$T1 >/dev/null && ls -l $A2/tasks/$T2 >/dev/null &&
	for i in $(seq 50); do
		test "$(mesos_count /files/browse)" -ge $want && break
		sleep 0.1
	done &&
	echo "# $NT2 tasks, $want sandbox directories: $(tasks_browsed) tasks and $(mesos_count /files/browse) directories browsed after ls -l of two" &&
	check_eq $NT2 "$(tasks_browsed)" "tasks whose sandbox was browsed" &&
	check_eq $want "$(mesos_count /files/browse)" "browses before the walk" &&
	ls -lR $A2/tasks >/dev/null &&
	check_eq $want "$(mesos_count /files/browse)" "browses after ls -lR" &&
	grep "^  listings:" $MNT/.archonfs/status | grep -Eq "\([1-9][0-9]* read ahead\)"
'

# Marathon's log of what it was asked since the test above: GETs of this
# app's version list and documents.  Of its NV2 versions (counted before),
# the one it is at is rendered from the listing: NV2 - 1 documents.
version_gets() {
	emu /_emu/requests | jq --arg p "/v2/apps$APP2/versions" \
		'[.[] | select(.method == "GET" and (.path | startswith($p)))] | length'
}

test_expect_success 'the walk read the app'"'"'s versions ahead too, each once' '
	for i in $(seq 50); do
		test "$(version_gets)" -ge $NV2 && break
		sleep 0.1
	done &&
	echo "# $NV2 version(s): $(version_gets) GETs before anyone listed versions/" &&
	check_eq $NV2 "$(version_gets)" "GETs of the list and the earlier documents, read ahead" &&
	ls -l $A2/versions >/dev/null && cat $A2/versions/* >/dev/null &&
	check_eq $NV2 "$(version_gets)" "GETs after ls -l and cat of versions/"
'

test_expect_success '-o readahead=0: two tasks in a row browse those two only' '
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" -o ttl=60,readahead=0 &&
	grep -qx "readahead: 0" $MNT/.archonfs/config &&
	mesos_reset &&
	ls -l $A2/tasks/$T1 >/dev/null && ls -l $A2/tasks/$T2 >/dev/null &&
	sleep 1 &&
	check_eq 2 "$(tasks_browsed)" "tasks whose sandbox was browsed" &&
	grep -q "^  read-ahead: 0 of 0 threads started" $MNT/.archonfs/status
'

test_done
