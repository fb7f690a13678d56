#!/bin/bash
# t1300: bad input for every writable file.  Each row of the table below
# writes one bad input with a tool that reports the error and checks: the
# errno (and at which call: write(2) for values, close(2) for documents), that
# the emulator received no write and the app is unchanged (its own API), and
# that the directory's .error names the file and the errno.  Then the same
# writes on a read-only mount: EROFS, nothing sent.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 10 --synthetic-tasks 1 || {
	echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }

ID=/synth/g00/app0001		# the app every row writes to
A=$MNT/apps$ID
PEND=$MNT/apps/synth/newapp	# a pending app (mkdir, no app.json yet)
IN=$TRASH/in			# one file per bad input
mkdir -p "$IN"

# tw.py FILE DATA [trunc|notrunc|creat]: open (O_WRONLY, O_TRUNC unless
# notrunc, O_CREAT with creat), write DATA in a loop as cp(1) does, close.
# Prints "ok" or the calls that failed with their errno names, such as
# "write EINVAL" or "write EFBIG close EFBIG".
cat >$TRASH/tw.py <<'EOF'
import errno, os, sys
path, data = sys.argv[1], open(sys.argv[2], 'rb').read()
mode = sys.argv[3] if len(sys.argv) > 3 else 'trunc'
flags = os.O_WRONLY
if mode != 'notrunc':
    flags |= os.O_TRUNC
if mode == 'creat':
    flags |= os.O_CREAT
res = []
try:
    fd = os.open(path, flags, 0o644)
except OSError as e:
    print('open', errno.errorcode[e.errno])
    sys.exit(0)
try:
    if not data:
        os.write(fd, b'')
    off = 0
    while off < len(data):
        off += os.write(fd, data[off:off + (1 << 20)])
except OSError as e:
    res.append('write ' + errno.errorcode[e.errno])
try:
    os.close(fd)
except OSError as e:
    res.append('close ' + errno.errorcode[e.errno])
print(' '.join(res) or 'ok')
EOF

# --- the bad inputs ----------------------------------------------------------
printf 'abc' >$IN/abc
printf -- '-1' >$IN/minus1
printf '\n' >$IN/empty-line
printf '   \n' >$IN/blanks
printf '1.5' >$IN/decimal
printf '99999999999' >$IN/huge
printf '3 4' >$IN/two
printf '3\0' >$IN/nul
printf 'a\0b' >$IN/nul-mid
printf '\xff\xfe\n' >$IN/non-utf8
printf 'bogus' >$IN/bogus
printf 'kill\n' >$IN/kill
printf '3\n' >$IN/three
printf 'rollback\n' >$IN/rollback
printf '[]' >$IN/array
printf '{"id": "/synth/g00/app0001", "cmd": ' >$IN/invalid-json
printf '{"id": "/synth/other", "cmd": "sleep 100"}' >$IN/pend-other-id
printf '{"cmd": ' >$IN/pend-invalid-json
: >$IN/empty
head -c 10M /dev/zero | tr '\0' 1 >$IN/10M

# Documents that differ from a valid definition (this very app, as Marathon
# has it, without the run-time fields) in exactly one fault.
emu_app $ID | jq "del(.tasks, .tasksStaged, .tasksRunning, .tasksHealthy, .tasksUnhealthy,
	.deployments, .lastTaskFailure, .version, .versionInfo)" >$IN/good
$PY - "$IN" <<'EOF'
import json, sys
d = sys.argv[1]
good = json.load(open(d + '/good'))
def put(name, text):
    open(d + '/' + name, 'w').write(text)
put('id-other', json.dumps(dict(good, id='/other/app'), indent=2) + '\n')
put('id-number', json.dumps(dict(good, id=123), indent=2) + '\n')
put('dup-keys', '{"cpus": 0.5, ' + json.dumps(good)[1:] + '\n')
put('deep', json.dumps(good)[:-1] + ', "x": ' + '[' * 10000 + ']' * 10000 + '}\n')
EOF

test_expect_success 'mount and make a pending app; the bad documents are what they claim' '
	mount_archonfs --marathon "$ARCHONFS_MARATHON"
	emu_app $ID | jq -e ".instances == 1 and .env.TIER == \"api\""
	jq -e ".id == \"/synth/g00/app0001\" and .cmd" $IN/good >/dev/null
	jq -e ".id == \"/other/app\"" $IN/id-other >/dev/null
	jq -e ".id == 123" $IN/id-number >/dev/null
	test "$(grep -o "\"cpus\"" $IN/dup-keys | wc -l)" = 2
	test "$(tr -cd "[" <$IN/deep | wc -c)" -ge 10000
	mkdir $PEND
	test -d $PEND && jq -e ".id == \"/synth/newapp\"" $PEND/app.json
'

# state ID: what must not change: the app as Marathon has it (or null) and
# the ids of the running deployments.
state() {
	emu_app "$1" | jq -S .
	emu /v2/deployments | jq -c "map(.id)"
}

# bad KIND FILE INPUT WANT ERRDIR [MODE] [APP]
#   KIND   value (fails in write(2); also checked with cat >FILE) or doc
#   WANT   what tw.py prints: "write EINVAL", "close EINVAL", "open EINVAL"...
#   ERRDIR the directory whose .error must name it ("" for none)
bad() {
	local kind=$1 file=$2 input=$3 want=$4 errdir=$5 mode=${6:-trunc} app=${7:-$ID}
	local errno=${want##* } rel=${file#$MNT/} got
	[ -z "$errdir" ] || cat $errdir/.error >$TRASH/error-before
	state $app >$TRASH/before
	emu_reset
	got=$($PY $TRASH/tw.py "$file" "$IN/$input" "$mode")
	check_eq "$want" "$got" "$rel <- $input"
	if [ "$kind" = value ]; then
		expect_errno $errno sh -c "cat \"\$1\" >\"\$2\"" sh "$IN/$input" "$file"
	fi
	check_eq 0 "$(emu_writes)" "requests other than GET the emulator received"
	state $app >$TRASH/after
	diff -u $TRASH/before $TRASH/after || { echo "the cluster changed"; return 1; }
	if [ -n "$errdir" ]; then
		head -n 1 $errdir/.error | grep -qF " $rel: " &&
		head -n 1 $errdir/.error | grep -qF "($errno)" || {
			echo "$errdir/.error does not name $rel and $errno:"; cat $errdir/.error; return 1; }
		! cmp -s $TRASH/error-before $errdir/.error ||
			{ echo ".error did not change: still"; cat $errdir/.error; return 1; }
	fi
}

# row DESCRIPTION ARGS-OF-bad...
row() {
	local desc=$1 q="" a
	shift
	for a in "$@"; do q="$q '$a'"; done
	test_expect_success "$desc" "bad$q"
}

# --- instances ---------------------------------------------------------------
row 'instances <- "abc": EINVAL in write, nothing sent'         value $A/instances abc "write EINVAL" $A
row 'instances <- "-1": EINVAL'                                  value $A/instances minus1 "write EINVAL" $A
row 'instances <- "\n" (an empty value): EINVAL'                 value $A/instances empty-line "write EINVAL" $A
row 'instances <- "1.5": EINVAL'                                 value $A/instances decimal "write EINVAL" $A
row 'instances <- "   \n": EINVAL'                               value $A/instances blanks "write EINVAL" $A
row 'instances <- "99999999999": EINVAL'                         value $A/instances huge "write EINVAL" $A
row 'instances <- "3 4": EINVAL'                                 value $A/instances two "write EINVAL" $A
row 'instances <- 10 MB: EFBIG'                                  value $A/instances 10M "write EFBIG" $A
row 'instances <- "3\0" (a NUL byte): EINVAL'                    value $A/instances nul "write EINVAL" $A
row 'instances <- "\xff\xfe\n" (not UTF-8): EINVAL'              value $A/instances non-utf8 "write EINVAL" $A

test_expect_success '.error has its true size right after a refusal ([ -s .error ] sees it)' '
	B=$MNT/apps/synth/g00/app0002
	check_eq 0 "$(stat -c %s $B/.error)" "size of an empty .error"
	emu_reset
	expect_errno EINVAL bash -c "printf abc >$B/instances"
	# what a script does: [ -s .error ] && cat .error (stat before any read)
	stat -c %s $B/.error >$TRASH/size
	check_eq 0 "$(emu_writes)"
	grep -q "(EINVAL)" $B/.error
	check_eq "$(wc -c <$B/.error)" "$(cat $TRASH/size)" "stat size of .error right after the refusal"
	test -s $B/.error
'

test_expect_success 'instances: O_TRUNC alone (: > instances) and a zero-byte write succeed and send nothing' '
	state $ID >$TRASH/before
	emu_reset
	: >$A/instances
	check_eq ok "$($PY $TRASH/tw.py $A/instances $IN/empty)" "open O_TRUNC, write of 0 bytes, close"
	check_eq 0 "$(emu_writes)"
	state $ID >$TRASH/after
	diff -u $TRASH/before $TRASH/after
	check_eq 1 "$(cat $A/instances)"
'

# --- app.json of an existing app ------------------------------------------------
# Documents are applied at close(2), so that is where they fail.
row 'app.json <- "abc": EINVAL at close, nothing sent'           doc $A/app.json abc "close EINVAL" $A
row 'app.json <- "-1" (JSON, not an object): EINVAL'             doc $A/app.json minus1 "close EINVAL" $A
row 'app.json <- "\n" (emptied: O_TRUNC + "\n"): EINVAL'         doc $A/app.json empty-line "close EINVAL" $A
row 'app.json <- "[]": EINVAL'                                   doc $A/app.json array "close EINVAL" $A
row 'app.json <- 10 MB: EFBIG in write and at close, nothing applied' doc $A/app.json 10M "write EFBIG close EFBIG" $A
row 'app.json <- invalid JSON: EINVAL'                           doc $A/app.json invalid-json "close EINVAL" $A
row 'app.json <- "id": "/other/app": EINVAL'                     doc $A/app.json id-other "close EINVAL" $A
row 'app.json <- "id": 123: EINVAL'                              doc $A/app.json id-number "close EINVAL" $A
row 'app.json <- 10000 nested arrays: EINVAL'                    doc $A/app.json deep "close EINVAL" $A
row 'app.json <- duplicate keys: EINVAL'                         doc $A/app.json dup-keys "close EINVAL" $A

test_expect_success 'app.json: cp reports the refusal too, and the refused text is kept as app.json.rejected' '
	emu_reset
	expect_errno EINVAL cp $IN/id-other $A/app.json
	cmp $IN/id-other $A/app.json.rejected
	grep -q "The refused text is kept in app.json.rejected" $A/.error
	expect_errno EINVAL cp $IN/invalid-json $A/app.json
	cmp $IN/invalid-json $A/app.json.rejected
	check_eq 0 "$(emu_writes)"
	# app.json itself still shows the definition Marathon has
	emu_app $ID | jq -S "del(.tasks, .tasksStaged, .tasksRunning, .tasksHealthy,
		.tasksUnhealthy, .deployments, .lastTaskFailure, .version, .versionInfo)" >$TRASH/want
	jq -S . $A/app.json | diff -u $TRASH/want -
'

# --- app.json of a pending app (mkdir, not created yet) ---------------------------
row 'pending app.json <- id "/synth/other": EINVAL, nothing sent' doc $PEND/app.json pend-other-id "close EINVAL" $PEND trunc /synth/newapp
row 'pending app.json <- invalid JSON: EINVAL'                    doc $PEND/app.json pend-invalid-json "close EINVAL" $PEND trunc /synth/newapp

test_expect_success 'the pending app is still there, still pending, and Marathon has no such app' '
	test -d $PEND
	jq -e ".id == \"/synth/newapp\"" $PEND/app.json
	cmp $IN/pend-invalid-json $PEND/app.json.rejected
	check_eq 404 "$(emu /v2/apps/synth/newapp -o /dev/null -w "%{http_code}")"
'

# --- env/ and labels/ ------------------------------------------------------------
row 'env/TIER <- "a\0b" (a NUL byte): EINVAL'                    value $A/env/TIER nul-mid "write EINVAL" $A/env
row 'env/TIER <- "\xff\xfe\n" (not UTF-8): EINVAL'               value $A/env/TIER non-utf8 "write EINVAL" $A/env
row 'env/TIER <- 10 MB: EFBIG'                                   value $A/env/TIER 10M "write EFBIG" $A/env
row 'env/A=B (a name with "="): creat fails with EINVAL'         doc $A/env/A=B abc "open EINVAL" $A/env creat
row 'labels/tier <- "a\0b" (a NUL byte): EINVAL'                 value $A/labels/tier nul-mid "write EINVAL" $A/labels

test_expect_success 'env/ holds no A=B afterwards; touch env/A=B says EINVAL too' '
	expect_errno EINVAL touch $A/env/A=B
	! ls $A/env | grep -q =
	check_eq "api" "$(cat $A/env/TIER)"
'

# --- ctl ---------------------------------------------------------------------------
row 'ctl <- "bogus": EINVAL'                                     value $A/ctl bogus "write EINVAL" $A
row 'ctl <- "\n" (an empty command): EINVAL'                     value $A/ctl empty-line "write EINVAL" $A
row 'ctl <- "kill" without a task: EINVAL'                       value $A/ctl kill "write EINVAL" $A
row 'ctl <- 10 MB: EFBIG'                                        value $A/ctl 10M "write EFBIG" $A

# --- deployments/<id>/ctl (needs a running deployment) --------------------------------
test_expect_success 'a deployment runs (another app scaled through the API, 60 s)' '
	emu_knobs "{\"deploy_seconds\": 60}"
	emu /v2/apps/synth/g00/app0005 -X PUT -H "Content-Type: application/json" -d "{\"instances\":2}" |
		jq -r .deploymentId >$TRASH/dep
	wait_for 5 test -d $MNT/deployments/$(cat $TRASH/dep)
'
DEP=$MNT/deployments/$(cat $TRASH/dep 2>/dev/null)
row 'deployments/<id>/ctl <- "bogus": EINVAL'                    value $DEP/ctl bogus "write EINVAL" $DEP
test_expect_success 'the deployment still runs (nothing sent), then is stopped through the API' '
	emu /v2/deployments | jq -e --arg d "$(cat $TRASH/dep)" "map(.id) | index(\$d) != null"
	emu "/v2/deployments/$(cat $TRASH/dep)?force=true" -X DELETE >/dev/null
	emu_knobs "{\"deploy_seconds\": 0.5}"
	wait_for 10 no_deployments
'

# --- names, read-only files, removing, creating -----------------------------------------
# op ERRNO ERRDIR DESC cmd...: a refused operation on names.
op() {
	local errno=$1 errdir=$2
	shift 2
	[ -z "$errdir" ] || cat $errdir/.error >$TRASH/error-before
	state $ID >$TRASH/before
	emu_reset
	expect_errno $errno "$@"
	check_eq 0 "$(emu_writes)" "requests other than GET the emulator received"
	state $ID >$TRASH/after
	diff -u $TRASH/before $TRASH/after || { echo "the cluster changed"; return 1; }
	if [ -n "$errdir" ]; then
		head -n 1 $errdir/.error | grep -qF "($errno)" ||
			{ echo "$errdir/.error does not name $errno:"; cat $errdir/.error; return 1; }
		! cmp -s $TRASH/error-before $errdir/.error ||
			{ echo ".error did not change: still"; cat $errdir/.error; return 1; }
	fi
}

test_expect_success 'mkdir apps/Bad_Name: EINVAL, nothing sent'   "op EINVAL $MNT/apps mkdir $MNT/apps/Bad_Name"
test_expect_success 'mkdir apps/synth/tasks (reserved): EINVAL'    "op EINVAL $MNT/apps/synth mkdir $MNT/apps/synth/tasks"
test_expect_success 'rm app.json: EPERM'                           "op EPERM $A rm $A/app.json"
test_expect_success 'rmdir of an app: EPERM'                       "op EPERM $MNT/apps/synth/g00 rmdir $A"
test_expect_success 'touch an unknown file (notes): EPERM'         "op EPERM $A touch $A/notes"
# A write to a mode-0444 file is refused by its mode.  For any user but root
# the kernel refuses it (default_permissions) before archonfs sees the
# open, so no .error is required for these rows.
TASK=$(ls $A/tasks 2>/dev/null | head -n 1)
VER=$(ls $A/versions 2>/dev/null | head -n 1)
row 'status (read-only): EACCES at open, nothing sent'           doc $A/status abc "open EACCES" ""
row 'tasks/<id>/task.json (read-only): EACCES'                   doc $A/tasks/$TASK/task.json abc "open EACCES" ""
row 'versions/<ts>.json (read-only): EACCES'                     doc $A/versions/$VER abc "open EACCES" ""
test_expect_success 'the shell says Permission denied for echo > status' "op EACCES '' sh -c 'echo 3 >$A/status'"

test_expect_success 'nothing of the above reached Marathon: the app is as it started' '
	emu_app $ID | jq -e ".instances == 1 and .env.TIER == \"api\" and .labels.tier == \"api\" and (.env | has(\"A=B\") | not)"
	emu /v2/apps | jq -e "[.apps[].id] | length == 10"
'

# --- the same on a read-only mount -----------------------------------------------------
test_expect_success 'remount with -o ro' '
	umount_archonfs
	mount_archonfs --marathon "$ARCHONFS_MARATHON" -o ro
	grep " $MNT fuse" /proc/mounts | grep -q " ro,"
	test -d $A
'
row 'ro: instances <- "3": EROFS, nothing sent'                  doc $A/instances three "open EROFS" ""
row 'ro: instances <- "abc": EROFS'                              value $A/instances abc "open EROFS" ""
row 'ro: app.json <- a valid definition: EROFS'                  doc $A/app.json good "open EROFS" ""
row 'ro: app.json <- invalid JSON: EROFS'                        doc $A/app.json invalid-json "open EROFS" ""
row 'ro: env/TIER <- "x": EROFS'                                 doc $A/env/TIER abc "open EROFS" ""
row 'ro: env/NEW (creat): EROFS'                                 doc $A/env/NEW abc "open EROFS" "" creat
row 'ro: labels/tier <- "x": EROFS'                              doc $A/labels/tier abc "open EROFS" ""
row 'ro: ctl <- "bogus": EROFS'                                  doc $A/ctl bogus "open EROFS" ""
row 'ro: status: EROFS'                                          doc $A/status abc "open EROFS" ""
row 'ro: .archonfs/refresh: EROFS'                               doc $MNT/.archonfs/refresh abc "open EROFS" ""
test_expect_success 'ro: : > instances: EROFS'                  "op EROFS '' sh -c ': >$A/instances'"
test_expect_success 'ro: printf 3 > instances: EROFS'           "op EROFS '' sh -c 'printf 3 >$A/instances'"
test_expect_success 'ro: mkdir apps/synth/newapp: EROFS'         "op EROFS '' mkdir $MNT/apps/synth/newapp2"
test_expect_success 'ro: mkdir apps/Bad_Name: EROFS'             "op EROFS '' mkdir $MNT/apps/Bad_Name"
test_expect_success 'ro: rm app.json: EROFS'                     "op EROFS '' rm $A/app.json"
test_expect_success 'ro: rm env/TIER: EROFS'                     "op EROFS '' rm $A/env/TIER"
test_expect_success 'ro: rmdir of an app: EROFS'                 "op EROFS '' rmdir $A"
test_expect_success 'ro: touch notes: EROFS'                     "op EROFS '' touch $A/notes"
test_expect_success 'ro: cp onto app.json: EROFS'                "op EROFS '' cp $IN/good $A/app.json"
test_expect_success 'ro: a deployment runs (through the API)' '
	emu_knobs "{\"deploy_seconds\": 60}"
	emu /v2/apps/synth/g00/app0006 -X PUT -H "Content-Type: application/json" -d "{\"instances\":2}" |
		jq -r .deploymentId >$TRASH/dep2
	wait_for 5 test -d $MNT/deployments/$(cat $TRASH/dep2)
'
DEP2=$MNT/deployments/$(cat $TRASH/dep2 2>/dev/null)
row 'ro: deployments/<id>/ctl <- "rollback": EROFS'              doc $DEP2/ctl rollback "open EROFS" ""
test_expect_success 'ro: the deployment still runs, then is stopped through the API' '
	emu /v2/deployments | jq -e --arg d "$(cat $TRASH/dep2)" "map(.id) | index(\$d) != null"
	emu "/v2/deployments/$(cat $TRASH/dep2)?force=true" -X DELETE >/dev/null
	emu_knobs "{\"deploy_seconds\": 0.5}"
	wait_for 10 no_deployments
'

test_done
