#!/bin/bash
# t1200: writing apps.  "echo N > instances" returns once Marathon accepted
# it; every editor (vim with each backupcopy setting and with swap files,
# sed -i, cp, tee, cat >, truncate-then-write, dd conv=notrunc) produces
# exactly one deployment carrying exactly the saved text; unchanged saves
# send nothing; a removed field is removed; versions/<ts>.json rolls back;
# a deployment lock is EBUSY with words, a .rejected copy and "force"; two
# concurrent writers never mix their texts.
#
# Every assertion checks the cluster through the emulator's own API and its
# request log, never through the mount alone.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 12 --synthetic-tasks 1
mount_archonfs --marathon "$ARCHONFS_MARATHON" || exit 1

# The synthetic apps used here (tests/marathon_emu.py synthesize()): each
# section has its own app so that one failing section does not cascade.
SCALE=/synth/g00/app0001		# 1 instance
EDIT=/synth/g00/app0002			# mem 256, no health checks
SAME=/synth/g00/app0003			# unchanged saves
REMOVE=/synth/g00/app0000		# has healthChecks and labels
ROLL=/synth/g00/app0004			# rollback
LOCK=/synth/g00/app0005			# deployment lock
RACE=/synth/g00/app0006			# concurrent writers

# Fields Marathon adds at run time; what is left is the definition.
RUNTIME='del(.tasks, .tasksStaged, .tasksRunning, .tasksHealthy,
	.tasksUnhealthy, .deployments, .version, .versionInfo, .lastTaskFailure,
	.readinessCheckResults, .tasksStats)'

# def ID: the app's definition as the emulator stores it, keys sorted.
def() { emu_app "$1" | jq -S "$RUNTIME"; }

# writes: every non-GET request since emu_reset, one JSON object per line.
writes() { emu /_emu/requests | jq -c '.[] | select(.method != "GET")'; }

# only_write: the one non-GET request since emu_reset; fails (saying what
# was sent) unless there was exactly one.
only_write() {
	emu /_emu/requests | jq -e '[.[] | select(.method != "GET")] |
		if length == 1 then .[0]
		else error("want exactly one write, got \(length): " +
			(map(.method + " " + .path + "?" + .query) | join(", ")))
		end'
}

# no_scratch DIR: no editor or tool scratch file is left in DIR.
no_scratch() {
	ls -a "$1" >$TRASH/ls-scratch
	if grep -E '^(\..*\.sw[a-z]|.*~|4913|sed.*|.*\.tmp|.*\.rejected)$' $TRASH/ls-scratch; then
		echo "scratch files left in $1"
		return 1
	fi
}

# --- editors: ED FILE MEM sets "mem" to MEM in FILE the way that tool does ----

SUB() { echo "%s/\"mem\": [0-9]*/\"mem\": $1/"; }
# vim's backupskip default matches /tmp/*, where this mount lives; a real
# mount (/mnt/c) is not in it, so backups are made there: clear it.
ed_vim_auto() { vim -es -u NONE -N -c 'set backupskip=' -c "$(SUB $2)" -c wq "$1"; }
ed_vim_yes() { vim -es -u NONE -N -c 'set backupskip=' -c 'set backupcopy=yes' -c "$(SUB $2)" -c wq "$1"; }
ed_vim_no() { vim -es -u NONE -N -c 'set backupskip=' -c 'set backupcopy=no' -c "$(SUB $2)" -c wq "$1"; }
# plain vim, swap file on: records the directory as vim sees it mid-edit
ed_vim_swap() {
	vim -es -u NONE -N \
		-c "call writefile(readdir(expand('%:p:h')), '$TRASH/vim-during')" \
		-c "$(SUB $2)" -c wq "$1"
}
# vim -u NONE alone: Vi-compatible defaults
ed_vim_compat() { vim -es -u NONE -c 'set backupskip=' -c "$(SUB $2)" -c wq "$1"; }
ed_sed() { sed -i "s/\"mem\": [0-9]*/\"mem\": $2/" "$1"; }
mk_src() { sed "s/\"mem\": [0-9]*/\"mem\": $2/" "$1" >$TRASH/src.json; }
ed_cp() { mk_src "$@" && cp $TRASH/src.json "$1"; }
ed_tee() { mk_src "$@" && tee "$1" <$TRASH/src.json >/dev/null; }
ed_cat() { mk_src "$@" && cat $TRASH/src.json >"$1"; }
# like nano: open read-write, read, ftruncate to 0, write everything, close
ed_trunc() {
	$PY - "$1" "$2" <<-'EOF'
	import os, re, sys
	path, mem = sys.argv[1], sys.argv[2]
	with open(path, "r+") as f:
	    text = f.read()
	    new = re.sub(r'"mem": [0-9]+', '"mem": ' + mem, text)
	    os.ftruncate(f.fileno(), 0)
	    f.seek(0)
	    f.write(new)
	EOF
}
# dd conv=notrunc: overwrite the digits in place, one byte per write(2)
ed_dd() {
	local at digits
	at=$(grep -bo '"mem": [0-9]*' "$1" | head -n 1)
	digits=${at#*: }
	test ${#digits} -eq ${#2} || { echo "dd needs a same-length value"; return 1; }
	printf %s "$2" | dd of="$1" bs=1 seek=$((${at%%:*} + 7)) conv=notrunc status=none
}

# editor_deploys_once ED MEM: ED sets mem to MEM in $EDIT's app.json; that
# must send exactly one PUT ?partialUpdate=false whose body is the saved text
# (the same edit made on a copy on a local disk), and Marathon's definition
# afterwards is the old one with only mem changed.
editor_deploys_once() {
	local ed=$1 mem=$2 app=$MNT/apps$EDIT nversions
	wait_for 10 no_deployments
	nversions=$(emu "/v2/apps$EDIT/versions" | jq '.versions | length')
	def $EDIT >$TRASH/before.json
	test "$(jq .mem $TRASH/before.json)" != "$mem" || { echo "mem is already $mem"; return 1; }
	cat $app/app.json >$TRASH/expect.json
	jq -S . $TRASH/expect.json >$TRASH/expect.before
	diff $TRASH/before.json $TRASH/expect.before	# app.json is the definition
	$ed $TRASH/expect.json $mem			# the saved text, on a local disk
	emu_reset
	$ed $app/app.json $mem
	only_write >$TRASH/w
	jq -e --arg p "/v2/apps$EDIT" \
		'.method == "PUT" and .path == $p and .query == "partialUpdate=false"' $TRASH/w
	jq -S '.body | fromjson' $TRASH/w >$TRASH/sent.json
	jq -S . $TRASH/expect.json >$TRASH/expect.sorted
	diff $TRASH/expect.sorted $TRASH/sent.json
	def $EDIT >$TRASH/after.json
	check_eq "$mem" "$(jq .mem $TRASH/after.json)" "mem in Marathon"
	diff <(jq 'del(.mem)' $TRASH/before.json) <(jq 'del(.mem)' $TRASH/after.json)
	diff $TRASH/expect.sorted $TRASH/after.json
	no_scratch $app
	# nothing else arrived later (a second flush, a scratch file)
	wait_for 10 no_deployments
	only_write >/dev/null
	check_eq $((nversions + 1)) "$(emu "/v2/apps$EDIT/versions" | jq '.versions | length')" "versions in Marathon"
}

# --- 1. instances -------------------------------------------------------------

test_expect_success 'echo 5 > instances returns after Marathon accepted it; one PUT {"instances":5}; read back at once' '
	wait_for 10 no_deployments &&
	check_eq 1 "$(emu_app $SCALE | jq .instances)" "instances before" &&
	emu_reset &&
	echo 5 >$MNT/apps$SCALE/instances &&
	check_eq 5 "$(cat $MNT/apps$SCALE/instances)" "instances read back" &&
	check_eq 5 "$(emu_app $SCALE | jq .instances)" "instances in Marathon" &&
	only_write >$TRASH/w &&
	jq -e --arg p "/v2/apps$SCALE" \
		".method == \"PUT\" and .path == \$p and .query == \"\" and (.body | fromjson) == {instances: 5}" $TRASH/w
'

test_expect_success 'after the deployment Marathon runs 5 tasks and tasks/ lists exactly them' '
	wait_for 15 no_deployments &&
	emu_app $SCALE >$TRASH/app &&
	check_eq 5 "$(jq "[.tasks[] | select(.state == \"TASK_RUNNING\")] | length" $TRASH/app)" "running tasks" &&
	jq -r ".tasks[].id" $TRASH/app | sort >$TRASH/want &&
	wait_for 3 sh -c "ls $MNT/apps$SCALE/tasks | sort | cmp -s - $TRASH/want" &&
	check_eq 5 "$(ls $MNT/apps$SCALE/tasks | wc -l)" "task directories"
'

test_expect_success 'instances: garbage is EINVAL and nothing is sent' '
	emu_reset &&
	expect_errno EINVAL bash -c "echo five >$MNT/apps$SCALE/instances" &&
	expect_errno EINVAL bash -c "echo -1 >$MNT/apps$SCALE/instances" &&
	check_eq 0 "$(emu_writes)" "writes" &&
	check_eq 5 "$(emu_app $SCALE | jq .instances)"
'

# --- 2. editors: each save is exactly one deployment of exactly that text ---------

test_expect_success 'vim (Vim defaults: backupcopy=auto, 4913 probe, rename) deploys once' '
	editor_deploys_once ed_vim_auto 301
'
test_expect_success 'vim -c "set backupcopy=yes" deploys once' '
	editor_deploys_once ed_vim_yes 302
'
test_expect_success 'vim -c "set backupcopy=no" deploys once' '
	editor_deploys_once ed_vim_no 303
'
test_expect_success 'plain vim -es -u NONE -N: its .app.json.swp lives in the directory, is never sent, is gone after' '
	rm -f $TRASH/vim-during
	editor_deploys_once ed_vim_swap 304
	grep -qx .app.json.swp $TRASH/vim-during
'
test_expect_success 'vim -es -u NONE (Vi-compatible defaults) deploys once' '
	editor_deploys_once ed_vim_compat 305
'
test_expect_success 'sed -i deploys once' '
	editor_deploys_once ed_sed 306
'
test_expect_success 'cp over app.json deploys once' '
	editor_deploys_once ed_cp 307
'
test_expect_success 'tee app.json deploys once' '
	editor_deploys_once ed_tee 308
'
test_expect_success 'cat > app.json deploys once' '
	editor_deploys_once ed_cat 309
'
test_expect_success 'a truncate-then-write editor (open r+, ftruncate 0, write) deploys once' '
	editor_deploys_once ed_trunc 310
'
test_expect_success 'dd conv=notrunc writing a same-length change in place deploys once' '
	editor_deploys_once ed_dd 311
'

# --- 3. unchanged saves send nothing -------------------------------------------

test_expect_success 'vim :wq without a change sends nothing (backupcopy=auto and =no)' '
	wait_for 10 no_deployments &&
	v=$(emu_app $SAME | jq -r .version) &&
	def $SAME >$TRASH/before.json &&
	emu_reset &&
	vim -es -u NONE -N -c "set backupskip=" -c wq $MNT/apps$SAME/app.json &&
	vim -es -u NONE -N -c "set backupskip=" -c "set backupcopy=no" -c wq $MNT/apps$SAME/app.json &&
	check_eq 0 "$(emu_writes)" "writes" &&
	check_eq "$v" "$(emu_app $SAME | jq -r .version)" "version" &&
	def $SAME | diff $TRASH/before.json - &&
	no_scratch $MNT/apps$SAME
'

test_expect_success 'cp app.json elsewhere and back sends nothing' '
	v=$(emu_app $SAME | jq -r .version) &&
	emu_reset &&
	cp $MNT/apps$SAME/app.json $TRASH/x &&
	cp $TRASH/x $MNT/apps$SAME/app.json &&
	check_eq 0 "$(emu_writes)" "writes" &&
	check_eq "$v" "$(emu_app $SAME | jq -r .version)" "version"
'

# --- 4. a field removed is removed (partialUpdate=false) ---------------------------

test_expect_success 'deleting "healthChecks" from app.json removes the checks in Marathon' '
	wait_for 10 no_deployments &&
	def $REMOVE >$TRASH/before.json &&
	jq -e ".healthChecks | length > 0" $TRASH/before.json &&
	jq "del(.healthChecks)" $MNT/apps$REMOVE/app.json >$TRASH/nohc.json &&
	emu_reset &&
	cp $TRASH/nohc.json $MNT/apps$REMOVE/app.json &&
	check_eq 1 "$(emu_writes)" "writes" &&
	def $REMOVE >$TRASH/after.json &&
	jq -e "has(\"healthChecks\") | not" $TRASH/after.json &&
	diff <(jq "del(.healthChecks)" $TRASH/before.json) $TRASH/after.json
'

test_expect_success 'deleting "labels" from app.json leaves Marathon with no labels' '
	wait_for 10 no_deployments &&
	def $REMOVE >$TRASH/before.json &&
	jq -e ".labels | length > 0" $TRASH/before.json &&
	jq "del(.labels)" $MNT/apps$REMOVE/app.json >$TRASH/nolabels.json &&
	emu_reset &&
	cp $TRASH/nolabels.json $MNT/apps$REMOVE/app.json &&
	check_eq 1 "$(emu_writes)" "writes" &&
	def $REMOVE >$TRASH/after.json &&
	check_eq "{}" "$(jq -c ".labels // {}" $TRASH/after.json)" "labels" &&
	diff <(jq "del(.labels)" $TRASH/before.json) <(jq "del(.labels)" $TRASH/after.json)
'

# --- 5. rollback -----------------------------------------------------------------

test_expect_success 'cp versions/<ts>.json app.json rolls back to that version' '
	wait_for 10 no_deployments &&
	first=$(emu "/v2/apps$ROLL/versions" | jq -r ".versions | sort | .[0]") &&
	sed -i "s/\"mem\": [0-9]*/\"mem\": 999/; s/\"cpus\": [0-9.]*/\"cpus\": 0.75/" $MNT/apps$ROLL/app.json &&
	wait_for 10 no_deployments &&
	check_eq 999 "$(emu_app $ROLL | jq .mem)" "mem after the edit" &&
	emu "/v2/apps$ROLL/versions/$first" | jq -S "$RUNTIME" >$TRASH/old.json &&
	! def $ROLL | cmp -s - $TRASH/old.json &&
	ls $MNT/apps$ROLL/versions | grep -qx "$first.json" &&
	emu_reset &&
	cp $MNT/apps$ROLL/versions/$first.json $MNT/apps$ROLL/app.json &&
	check_eq 1 "$(emu_writes)" "writes" &&
	def $ROLL | diff $TRASH/old.json -
'

# --- 6. deployment lock: EBUSY, words, .rejected, force ----------------------------

A_LOCK=$MNT/apps$LOCK

test_expect_success 'while a deployment runs, echo N > instances is EBUSY, .error names 409 and force, nothing changes' '
	wait_for 10 no_deployments &&
	emu_knobs "{\"deploy_seconds\": 5}" &&
	echo 2 >$A_LOCK/instances &&
	! no_deployments &&
	def $LOCK >$TRASH/lock-before.json &&
	emu_reset &&
	expect_errno EBUSY bash -c "echo 3 >$A_LOCK/instances" &&
	grep -q 409 $A_LOCK/.error && grep -q force $A_LOCK/.error &&
	grep -q EBUSY $A_LOCK/.error &&
	def $LOCK | diff $TRASH/lock-before.json - &&
	check_eq 2 "$(emu_app $LOCK | jq .instances)"
'

test_expect_success 'echo force > ctl sends that change again with force=true and it is applied' '
	emu_reset &&
	echo force >$A_LOCK/ctl &&
	only_write >$TRASH/w &&
	jq -e --arg p "/v2/apps$LOCK" ".method == \"PUT\" and .path == \$p and
		(.query | split(\"&\") | index(\"force=true\")) != null and
		(.body | fromjson) == {instances: 3}" $TRASH/w &&
	check_eq 3 "$(emu_app $LOCK | jq .instances)"
'

test_expect_success 'while a deployment runs, saving app.json is EBUSY; the text is kept in app.json.rejected; nothing changes' '
	! no_deployments &&
	sed "s/\"mem\": [0-9]*/\"mem\": 640/" $A_LOCK/app.json >$TRASH/locked.json &&
	def $LOCK >$TRASH/lock-before.json &&
	emu_reset &&
	expect_errno EBUSY cp $TRASH/locked.json $A_LOCK/app.json &&
	grep -q 409 $A_LOCK/.error && grep -q force $A_LOCK/.error &&
	cmp $TRASH/locked.json $A_LOCK/app.json.rejected &&
	def $LOCK | diff $TRASH/lock-before.json - &&
	only_write | jq -e ".query == \"partialUpdate=false\""
'

test_expect_success 'echo force > ctl re-sends the refused document with force=true and it is applied' '
	emu_reset &&
	echo force >$A_LOCK/ctl &&
	only_write >$TRASH/w &&
	jq -e --arg p "/v2/apps$LOCK" ".method == \"PUT\" and .path == \$p and
		(.query | split(\"&\") | (index(\"force=true\") != null and index(\"partialUpdate=false\") != null))" $TRASH/w &&
	jq -S ".body | fromjson" $TRASH/w | diff <(jq -S . $TRASH/locked.json) - &&
	def $LOCK | diff <(jq -S . $TRASH/locked.json) -
'
emu_knobs '{"deploy_seconds": 0.5}'

# --- 7. concurrent writers ----------------------------------------------------------

# Two processes write two different texts to the same app.json at once.  What
# happens (documented by these assertions): each open file has its own
# buffer, so the first close deploys its text whole, and the second is
# refused with EBUSY by the first one's deployment lock (or, were it to come
# after that deployment, applied whole).  Never a mix of the two texts.
#
# race_check A B RC_A RC_B ERR_A ERR_B: the outcome is one of those.
race_check() {
	local a=$1 b=$2 ra=$3 rb=$4
	def $RACE >$TRASH/final.json
	jq -S . $a >$TRASH/a.sorted
	jq -S . $b >$TRASH/b.sorted
	if cmp -s $TRASH/a.sorted $TRASH/b.sorted; then echo "A and B are the same text"; return 1; fi
	# every request sent carried one of the two texts, whole
	writes >$TRASH/race-writes
	test "$(wc -l <$TRASH/race-writes)" -ge 1
	test "$(wc -l <$TRASH/race-writes)" -le 2
	while read -r w; do
		echo "$w" | jq -S '.body | fromjson' >$TRASH/body.json
		cmp -s $TRASH/body.json $TRASH/a.sorted || cmp -s $TRASH/body.json $TRASH/b.sorted ||
			{ echo "a request carried neither text:"; cat $TRASH/body.json; return 1; }
	done <$TRASH/race-writes
	# Marathon holds one of them, exactly
	if cmp -s $TRASH/final.json $TRASH/a.sorted; then won=A
	elif cmp -s $TRASH/final.json $TRASH/b.sorted; then won=B
	else echo "Marathon holds neither text:"; diff $TRASH/a.sorted $TRASH/final.json; return 1
	fi
	# a writer that failed was told why, and its text is not what won
	test "$ra" -eq 0 || test "$rb" -eq 0 || { echo "both writers failed"; return 1; }
	if [ "$ra" -ne 0 ]; then grep -q "Device or resource busy" $5; test $won = B; fi
	if [ "$rb" -ne 0 ]; then grep -q "Device or resource busy" $6; test $won = A; fi
	echo "A rc=$ra B rc=$rb, Marathon holds $won" >>$TRASH/race-outcomes
}

race_texts() {	# make A (mem, cpus changed) and B (mem, disk changed)
	sed "s/\"mem\": [0-9]*/\"mem\": 4$1/; s/\"cpus\": [0-9.]*/\"cpus\": 0.4$1/" \
		$MNT/apps$RACE/app.json >$TRASH/A.json
	sed "s/\"mem\": [0-9]*/\"mem\": 5$1/; s/\"disk\": [0-9.]*/\"disk\": 5$1/" \
		$MNT/apps$RACE/app.json >$TRASH/B.json
}

test_expect_success 'two cp at once onto one app.json: one text wins whole, the other is EBUSY or applied whole (5 rounds)' '
	for i in 11 12 13 14 15; do
		wait_for 10 no_deployments
		race_texts $i
		emu_reset
		cp $TRASH/A.json $MNT/apps$RACE/app.json 2>$TRASH/errA & pa=$!
		cp $TRASH/B.json $MNT/apps$RACE/app.json 2>$TRASH/errB & pb=$!
		ra=0; wait $pa || ra=$?
		rb=0; wait $pb || rb=$?
		race_check $TRASH/A.json $TRASH/B.json $ra $rb $TRASH/errA $TRASH/errB
	done
'

# Interleaved: A opens and writes half, B opens (O_TRUNC) and writes half, A
# writes the rest and closes, B writes the rest and closes.  One shared
# buffer (or page cache merge) would mix them; per-open buffers cannot.
cat >$TRASH/interleave.py <<'EOF'
import os, sys
path, a, b = sys.argv[1], open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
go_b, go_a, done_b = os.pipe(), os.pipe(), os.pipe()
pid = os.fork()
if pid == 0:                       # writer B
    os.read(go_b[0], 1)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b[:len(b) // 2])
    os.write(go_a[1], b"x")        # A: write your second half and close
    os.read(go_b[0], 1)
    os.write(fd, b[len(b) // 2:])
    try:
        os.close(fd)
        rc = 0
    except OSError as e:
        sys.stderr.write("B: close: %s\n" % e.strerror)
        rc = 1
    os._exit(rc)
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)   # writer A
os.write(fd, a[:len(a) // 2])
os.write(go_b[1], b"x")
os.read(go_a[0], 1)
os.write(fd, a[len(a) // 2:])
rc_a = 0
try:
    os.close(fd)
except OSError as e:
    sys.stderr.write("A: close: %s\n" % e.strerror)
    rc_a = 1
os.write(go_b[1], b"x")
_, st = os.waitpid(pid, 0)
print(rc_a, os.waitstatus_to_exitcode(st))
EOF

test_expect_success 'two interleaved writers (write half, other writes half, ...): never a mix in Marathon (3 rounds)' '
	for i in 21 22 23; do
		wait_for 10 no_deployments
		race_texts $i
		emu_reset
		$PY $TRASH/interleave.py $MNT/apps$RACE/app.json $TRASH/A.json $TRASH/B.json \
			>$TRASH/rcs 2>$TRASH/err
		read ra rb <$TRASH/rcs
		grep "^A" $TRASH/err >$TRASH/errA || :
		grep "^B" $TRASH/err >$TRASH/errB || :
		race_check $TRASH/A.json $TRASH/B.json $ra $rb $TRASH/errA $TRASH/errB
	done
'
[ -s $TRASH/race-outcomes ] && say "concurrent writers: $(sort $TRASH/race-outcomes | uniq -c | tr -s ' \n' ' ')"

test_expect_success 'no scratch file and no .rejected left in the edited apps' '
	for a in $EDIT $SAME $REMOVE $ROLL; do no_scratch $MNT/apps$a; done
'

test_done
