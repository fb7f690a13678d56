#!/bin/bash
# t1600: the kernel's caches, used and kept true.  With entry and attribute
# timeouts of 60 s, what was listed once is listed again without a request
# (counted in .archonfs/status: no READDIR, LOOKUP or OPENDIR), while every
# change still shows at once: an app created or deleted through Marathon's
# API, new tasks after a scale, a refused document's .rejected file.
# Listings that nothing pushes (a task's sandbox) are re-read like names
# no event reports, within the entry timeout plus the TTL.  Growing files
# keep their true size: the size cached while closed is dropped when one is opened, wc -c and tail -f see growth, and a stat
# by path while it is open asks every time.  Listing a task directory never
# waits on its agent (its logs' sizes are the agent's).
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 6 --synthetic-tasks 2 --mesos-agents 1
emu_knobs '{"log_lines_per_second": 0}'
mount_archonfs --marathon "$ARCHONFS_MARATHON" \
	-o entry_timeout=60,attr_timeout=60,ttl=60 || exit 1

G=$MNT/apps/synth/g00
S=$MNT/.archonfs/status

# req KIND: how many requests of that kind the mount received so far
req() {
	grep "^  requests: lookup" "$S" | tr ',' '\n' |
		sed -n "s/^ *\(requests: \)\{0,1\}$1 \([0-9]*\)\$/\2/p"
}
# reqs: the directory-related request counts, one line (fails without them)
reqs() {
	local r
	r="$(req lookup) $(req opendir) $(req readdir) $(req readdirplus)"
	echo "$r"
	echo "$r" | grep -qE "^[0-9]+ [0-9]+ [0-9]+ [0-9]+\$"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

test_expect_success 'status shows the loop (one thread), kernel-opened directories and request counts' '
	grep -q "^fuse: 1 thread, directories opened by the kernel: yes" $S &&
	grep -q "^  inodes: [0-9]* ([0-9]* kB)" $S &&
	test -n "$(req readdirplus)" &&
	grep -qx "fuse_threads: 1" $MNT/.archonfs/config
'

# --- listings are kept -------------------------------------------------------

test_expect_success 'a second ls -l of a group sends no READDIR, LOOKUP or OPENDIR' '
	ls -l $G >$TRASH/ls1 && grep -q app0000 $TRASH/ls1 &&
	ls -la $G/app0000 >/dev/null && ls -l $G/app0000/tasks >/dev/null &&
	before=$(reqs) &&
	ls -l $G >$TRASH/ls2 && ls $G >/dev/null && ls -la $G/app0000 >/dev/null &&
	ls -l $G/app0000/tasks >/dev/null &&
	after=$(reqs) &&
	echo "# lookup opendir readdir readdirplus: $before, then $after" &&
	check_eq "$before" "$after" "requests across a second ls" &&
	cmp $TRASH/ls1 $TRASH/ls2
'

test_expect_success 'a second find over an app sends nothing either' '
	find $G/app0001 >$TRASH/f1 && before=$(reqs) &&
	find $G/app0001 >$TRASH/f2 && after=$(reqs) &&
	check_eq "$before" "$after" "requests across a second find" &&
	cmp $TRASH/f1 $TRASH/f2 && test $(wc -l <$TRASH/f1) -gt 20
'

# --- and changes still show ----------------------------------------------------

test_expect_success 'an app created through the API appears in a kept listing within 1 s' '
	ls $G >$TRASH/ls && ! grep -qx fresh $TRASH/ls &&
	emu /v2/apps -X POST -H "Content-Type: application/json" \
		-d "{\"id\":\"/synth/g00/fresh\",\"cmd\":\"sleep 9\",\"instances\":1,\"mem\":32,\"cpus\":0.1}" |
		jq -e ".id == \"/synth/g00/fresh\"" && t0=$(date +%s%N) &&
	wait_for 1 sh -c "ls $G | grep -qx fresh" &&
	echo "# in ls after $(ms_since $t0) ms" &&
	wait_for 2 test -e $G/fresh/instances
'

test_expect_success 'an app deleted through the API leaves the kept listing within 1 s; its files are ENOENT' '
	cat $G/app0005/instances >/dev/null && ls $G | grep -qx app0005 &&
	emu /v2/apps/synth/g00/app0005 -X DELETE | jq -e .deploymentId && t0=$(date +%s%N) &&
	wait_for 1 sh -c "! ls $G | grep -qx app0005" &&
	echo "# gone from ls after $(ms_since $t0) ms" &&
	expect_errno ENOENT cat $G/app0005/instances
'

test_expect_success 'a scale through the API: tasks/ shows the new tasks within 2 s of the deployment' '
	wait_for 10 no_deployments &&
	ls $G/app0002/tasks >$TRASH/t0 && check_eq 2 "$(wc -l <$TRASH/t0)" "tasks" &&
	emu /v2/apps/synth/g00/app0002 -X PUT -H "Content-Type: application/json" \
		-d "{\"instances\":3}" | jq -e .deploymentId &&
	wait_for 10 no_deployments &&
	emu_app /synth/g00/app0002 | jq -r ".tasks[].id" | sort >$TRASH/want &&
	wait_for 2 sh -c "ls $G/app0002/tasks | cmp -s - $TRASH/want"
'

test_expect_success 'a refused app.json: app.json.rejected shows in the kept listing at once' '
	ls $G/app0003 >$TRASH/ls && ! grep -q rejected $TRASH/ls &&
	{ echo not-json >$G/app0003/app.json; } 2>/dev/null;
	grep -q "not valid JSON" $G/app0003/.error &&
	wait_for 1 sh -c "ls $G/app0003 | grep -qx app.json.rejected"
'

test_expect_success '-o entry_timeout=2,ttl=2: a pulled listing (sandbox/) is read again within 2 s + 2 s: a new file shows' '
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" \
		-o entry_timeout=2,attr_timeout=60,ttl=2 &&
	T=$(ls $G/app0004/tasks | head -n 1) && test -n "$T" &&
	ls $G/app0004/tasks/$T/sandbox >$TRASH/sb && ! grep -qx new-file $TRASH/sb &&
	D=$(sandbox_dir $T) && test -d "$D" && echo hi >"$D/new-file" &&
	t0=$(date +%s%N) &&
	wait_for 6 sh -c "ls $G/app0004/tasks/$T/sandbox | grep -qx new-file" &&
	echo "# new sandbox file listed after $(ms_since $t0) ms"
'

# --- growing files ------------------------------------------------------------------

A=$G/app0001
T=$(emu_app /synth/g00/app0001 | jq -r '.tasks[0].id')

test_expect_success 'a log closed keeps its size cached; opened, the true size (wc -c right after an append)' '
	append $T stdout "one
" && n=$(wc -c <$A/tasks/$T/stdout) && test "$n" -gt 0 &&
	s1=$(stat -c %s $A/tasks/$T/stdout) && check_eq "$n" "$s1" "size after open" &&
	before=$(req getattr) && stat -c %s $A/tasks/$T/stdout >/dev/null &&
	stat -c %s $A/tasks/$T/stdout >/dev/null && after=$(req getattr) &&
	echo "# getattr requests for 2 stats of a closed log: $((after - before))" &&
	append $T stdout "two
" && check_eq $((n + 4)) "$(wc -c <$A/tasks/$T/stdout)" "wc -c after an append"
'

test_expect_success 'tail -f sees each line within 2 s; a stat by path while it is open asks every time' '
	timeout 8 tail -n 0 -f $A/tasks/$T/stdout >$TRASH/tail &
	sleep 1.5 &&
	s0=$(stat -c %s $A/tasks/$T/stdout) &&
	append $T stdout "marker-$$
" && t0=$(date +%s%N) &&
	wait_for 3 grep -q "marker-$$" $TRASH/tail && ms=$(ms_since $t0) &&
	echo "# tail -f saw it after $ms ms" && test $ms -lt 2000 &&
	check_eq $((s0 + ${#$} + 8)) "$(stat -c %s $A/tasks/$T/stdout)" "stat while open"
'

test_expect_success 'tail -F follows too' '
	timeout 6 tail -n 0 -F $A/tasks/$T/stderr >$TRASH/tailF 2>/dev/null &
	sleep 1.5 && append $T stderr "F-$$
" && wait_for 3 grep -q "F-$$" $TRASH/tailF
'

# --- listing never waits on an agent ---------------------------------------------------

test_expect_success 'a hung agent: ls of a task directory answers at once (logs listed without attributes)' '
	T2=$(emu_app /synth/g00/app0000 | jq -r ".tasks[1].id") && AG=$(emu_app /synth/g00/app0000 | jq -r ".tasks[1].slaveId") &&
	cat $G/app0000/tasks/$T2/status >/dev/null &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": true}}}" &&
	t0=$(date +%s%N) && ls $G/app0000/tasks/$T2 >$TRASH/ls && ms=$(ms_since $t0) &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": false}}}" &&
	echo "# ls of the task directory took $ms ms" &&
	grep -qx stdout $TRASH/ls && grep -qx status $TRASH/ls && test $ms -lt 1000
'

# The kernel asks GETATTR of a directory after its first (uncached) READDIR;
# a sandbox directory is not looked for on its agent then.
test_expect_success 'a hung agent: stat of a sandbox directory listed before answers at once' '
	T2=$(emu_app /synth/g00/app0000 | jq -r ".tasks[1].id") && AG=$(emu_app /synth/g00/app0000 | jq -r ".tasks[1].slaveId") &&
	ls $G/app0000/tasks/$T2/sandbox/conf >/dev/null &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": true}}}" &&
	before=$(req getattr) &&
	t0=$(date +%s%N) && stat -c "%F %X" $G/app0000/tasks/$T2/sandbox/conf >$TRASH/st && ms=$(ms_since $t0) &&
	emu_knobs "{\"agents\": {\"$AG\": {\"hang\": false}}}" &&
	echo "# stat took $ms ms, $(( $(req getattr) - before )) getattr" &&
	check_eq directory "$(cut -d" " -f1 $TRASH/st)" "type" && test $ms -lt 1000
'

test_done
