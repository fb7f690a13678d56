#!/bin/bash
# t1400: creating apps (mkdir + app.json, mkdir -p, vim on the template),
# pending directories (rmdir, EEXIST, an app made elsewhere wins), env/ and
# labels/ files, the app's ctl (restart, kill, kill scale, delete), a
# deployment's ctl (rollback, stop), and scratch files next to app.json.
#
# Every assertion checks the cluster through the emulator's own API and its
# request log, never through the mount alone.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 6 --synthetic-tasks 2
# a /prod group to create apps in, made by someone else
emu /v2/apps -X POST -H 'Content-Type: application/json' \
	-d '{"id":"/prod/web","cmd":"sleep 1000","instances":1,"cpus":0.1,"mem":64}' >/dev/null
mount_archonfs --marathon "$ARCHONFS_MARATHON" || exit 1

ENV=/synth/g00/app0000
LABELS=/synth/g00/app0001
CTL=/synth/g00/app0002
DEPLOY=/synth/g00/app0003
SCRATCH=/synth/g00/app0004
DELETE=/synth/g00/app0005

RUNTIME='del(.tasks, .tasksStaged, .tasksRunning, .tasksHealthy,
	.tasksUnhealthy, .deployments, .version, .versionInfo, .lastTaskFailure,
	.readinessCheckResults, .tasksStats)'
def() { emu_app "$1" | jq -S "$RUNTIME"; }

# only_write: the one non-GET request since emu_reset; fails (saying what
# was sent) unless there was exactly one.
only_write() {
	emu /_emu/requests | jq -e '[.[] | select(.method != "GET")] |
		if length == 1 then .[0]
		else error("want exactly one write, got \(length): " +
			(map(.method + " " + .path + "?" + .query) | join(", ")))
		end'
}

# exists_in_marathon ID / absent_in_marathon ID: GET /v2/apps/ID is 200 / 404
http_code() { emu "/v2/apps$1" -o /dev/null -w '%{http_code}'; }
exists_in_marathon() { test "$(http_code "$1")" = 200; }
absent_in_marathon() { test "$(http_code "$1")" = 404; }

# task_ids ID: the app's task ids in Marathon, sorted
task_ids() { emu_app "$1" | jq -r '.tasks[].id' | sort; }

cat >$TRASH/api.json <<'EOF'
{
  "id": "/prod/api",
  "cmd": "./api --port $PORT0",
  "instances": 2,
  "cpus": 0.25,
  "mem": 96,
  "env": {"MODE": "prod", "GREETING": "hello world"},
  "labels": {"team": "core"}
}
EOF
FIELDS='{id, cmd, instances, cpus, mem, env, labels}'

# --- 1. creating: mkdir + app.json ---------------------------------------------

test_expect_success 'mkdir apps/prod/api makes a pending app with a template; nothing is sent' '
	emu_reset &&
	mkdir $MNT/apps/prod/api &&
	ls -a $MNT/apps/prod/api >$TRASH/ls &&
	grep -qx app.json $TRASH/ls &&
	check_eq /prod/api "$(jq -r .id $MNT/apps/prod/api/app.json)" "template id" &&
	check_eq 0 "$(emu_writes)" "writes" &&
	absent_in_marathon /prod/api
'

test_expect_success 'cp api.json apps/prod/api/app.json creates the app: one POST /v2/apps with that text' '
	emu_reset &&
	cp $TRASH/api.json $MNT/apps/prod/api/app.json &&
	only_write >$TRASH/w &&
	jq -e ".method == \"POST\" and .path == \"/v2/apps\"" $TRASH/w &&
	jq -S ".body | fromjson" $TRASH/w | diff <(jq -S . $TRASH/api.json) - &&
	emu_app /prod/api | jq -S "$FIELDS" | diff <(jq -S "$FIELDS" $TRASH/api.json) -
'

test_expect_success 'the new directory is the app: app.json, status, instances, tasks/, env/ ...' '
	wait_for 10 no_deployments &&
	for f in app.json status instances ctl tasks env labels versions; do
		test -e $MNT/apps/prod/api/$f || { echo "no $f"; exit 1; }
	done &&
	check_eq 2 "$(cat $MNT/apps/prod/api/instances)" &&
	task_ids /prod/api >$TRASH/want &&
	check_eq 2 "$(wc -l <$TRASH/want)" "tasks in Marathon" &&
	wait_for 3 sh -c "ls $MNT/apps/prod/api/tasks | cmp -s - $TRASH/want" &&
	def /prod/api | diff - <(jq -S . $MNT/apps/prod/api/app.json)
'

test_expect_success 'mkdir -p apps/newgrp/sub/web + app.json creates /newgrp/sub/web; ls apps/newgrp shows sub' '
	mkdir -p $MNT/apps/newgrp/sub/web &&
	jq ".id = \"/newgrp/sub/web\"" $TRASH/api.json >$TRASH/web.json &&
	emu_reset &&
	cp $TRASH/web.json $MNT/apps/newgrp/sub/web/app.json &&
	only_write | jq -e ".method == \"POST\" and (.body | fromjson | .id) == \"/newgrp/sub/web\"" &&
	exists_in_marathon /newgrp/sub/web &&
	emu /v2/groups/newgrp | jq -e "[.groups[].id] == [\"/newgrp/sub\"]" &&
	check_eq sub "$(ls $MNT/apps/newgrp)" "ls apps/newgrp" &&
	check_eq web "$(ls $MNT/apps/newgrp/sub)" "ls apps/newgrp/sub" &&
	test -e $MNT/apps/newgrp/sub/web/status
'

test_expect_success 'an "id" that disagrees with the path is EINVAL and nothing is sent' '
	mkdir $MNT/apps/prod/other &&
	emu_reset &&
	expect_errno EINVAL cp $TRASH/api.json $MNT/apps/prod/other/app.json &&
	check_eq 0 "$(emu_writes)" "writes" &&
	absent_in_marathon /prod/other &&
	grep -q EINVAL $MNT/apps/prod/other/.error &&
	cmp $TRASH/api.json $MNT/apps/prod/other/app.json.rejected &&
	rm $MNT/apps/prod/other/app.json.rejected &&
	rmdir $MNT/apps/prod/other &&
	check_eq 0 "$(emu_writes)" "writes after rmdir"
'

# --- 2. vim on a pending app's template -----------------------------------------

test_expect_success 'vim on a pending app.json (the template) creates the app exactly once' '
	mkdir $MNT/apps/prod/worker &&
	jq -e ".id == \"/prod/worker\" and .cmd == \"\"" $MNT/apps/prod/worker/app.json &&
	emu_reset &&
	vim -es -u NONE -N -c "set backupskip=" -c "%s/\"cmd\": \"\"/\"cmd\": \"sleep 1000\"/" \
		-c wq $MNT/apps/prod/worker/app.json &&
	only_write >$TRASH/w &&
	jq -e ".method == \"POST\" and .path == \"/v2/apps\" and
		(.body | fromjson | .id == \"/prod/worker\" and .cmd == \"sleep 1000\")" $TRASH/w &&
	emu_app /prod/worker | jq -e ".cmd == \"sleep 1000\"" &&
	wait_for 10 no_deployments &&
	check_eq 1 "$(emu_writes)" "writes after the deployment" &&
	ls -a $MNT/apps/prod/worker >$TRASH/ls &&
	! grep -E "^(\.app\.json\.sw.|app\.json~|4913)$" $TRASH/ls
'

# Editing from inside the new directory, as "mkdir api; cd api; vim app.json"
# does.  The app is created, but the directory the shell and vim stand in
# must stay that app's directory.
test_expect_success 'vim run inside a pending directory creates the app once, exits 0, leaves no app.json~' '
	mkdir $MNT/apps/prod/cron &&
	emu_reset &&
	rc=0 &&
	( cd $MNT/apps/prod/cron &&
	  vim -es -u NONE -N -c "set backupskip=" -c "redir! > $TRASH/vim-msgs" \
		-c "%s/\"cmd\": \"\"/\"cmd\": \"sleep 1000\"/" -c w -c "redir END" -c q app.json ) || rc=$? &&
	only_write | jq -e ".method == \"POST\" and (.body | fromjson | .id) == \"/prod/cron\"" &&
	exists_in_marathon /prod/cron &&
	{ check_eq 0 $rc "vim exit status" || { cat $TRASH/vim-msgs; echo; false; }; } &&
	! ls -a $MNT/apps/prod/cron | grep -x "app.json~"
'

test_expect_success 'a shell standing in a pending directory still has a working directory after the app is created' '
	mkdir $MNT/apps/prod/batch &&
	cd $MNT/apps/prod/batch &&
	sed "s/\"cmd\": \"\"/\"cmd\": \"sleep 1000\"/" app.json >$TRASH/batch.json &&
	cp $TRASH/batch.json app.json &&
	wait_for 5 exists_in_marathon /prod/batch &&
	ls $MNT/apps/prod >/dev/null &&
	wait_for 3 test -e $MNT/apps/prod/batch/status &&
	wait_for 3 sh -c "ls . | grep -qx status" &&
	check_eq /prod/batch "$(jq -r .id ./app.json)"
'

# --- 3. pending directories: rmdir, EEXIST ---------------------------------------

test_expect_success 'rmdir of a pending directory drops it; nothing is sent' '
	mkdir $MNT/apps/prod/scratchy &&
	emu_reset &&
	rmdir $MNT/apps/prod/scratchy &&
	test ! -e $MNT/apps/prod/scratchy &&
	! ls $MNT/apps/prod | grep -qx scratchy &&
	check_eq 0 "$(emu_writes)" "writes" &&
	absent_in_marathon /prod/scratchy
'

test_expect_success 'mkdir of an existing app or group is EEXIST; a bad name is EINVAL; nothing is sent' '
	emu_reset &&
	expect_errno EEXIST mkdir $MNT/apps/prod/web &&
	expect_errno EEXIST mkdir $MNT/apps/prod &&
	expect_errno EINVAL mkdir $MNT/apps/prod/Bad_Name &&
	check_eq 0 "$(emu_writes)" "writes"
'

test_expect_success 'rmdir and rm -r of a real app are EPERM and delete nothing' '
	emu_reset &&
	expect_errno EPERM rmdir $MNT/apps/prod/web &&
	expect_errno EPERM rm -r $MNT/apps/prod/web &&
	check_eq 0 "$(emu_writes)" "writes" &&
	exists_in_marathon /prod/web
'

# --- 4. an app made elsewhere wins over a pending directory -------------------------

test_expect_success 'an app created through the API while a pending dir of that name exists: the real app wins' '
	mkdir $MNT/apps/prod/clash &&
	jq -e ".cmd == \"\"" $MNT/apps/prod/clash/app.json &&
	emu /v2/apps -X POST -H "Content-Type: application/json" \
		-d "{\"id\":\"/prod/clash\",\"cmd\":\"sleep 77\",\"instances\":1,\"mem\":32,\"cpus\":0.1}" >/dev/null &&
	emu_reset &&
	wait_for 3 test -e $MNT/apps/prod/clash/status &&
	ls $MNT/apps/prod/clash >$TRASH/ls &&
	for f in status tasks instances ctl; do grep -qx $f $TRASH/ls; done &&
	wait_for 3 sh -c "jq -e \".cmd == \\\"sleep 77\\\"\" $MNT/apps/prod/clash/app.json" &&
	check_eq 0 "$(emu_writes)" "writes" &&
	emu_app /prod/clash | jq -e ".cmd == \"sleep 77\" and .mem == 32"
'

# --- 5. env and labels -------------------------------------------------------------

# kv_sent_map KIND ID: require that the one write since emu_reset was a
# PUT /v2/apps/ID with body {KIND: {...}} (the whole map, nothing else);
# print that map, keys sorted.
kv_sent_map() {
	only_write >$TRASH/w || return 1
	jq -e --arg p "/v2/apps$2" '.method == "PUT" and .path == $p' $TRASH/w >/dev/null || return 1
	jq -e --arg k "$1" '.body | fromjson | keys == [$k]' $TRASH/w >/dev/null ||
		{ echo "body is not just {$1: ...}:"; jq .body $TRASH/w; return 1; }
	jq -S --arg k "$1" '.body | fromjson | .[$k]' $TRASH/w
}

A_ENV=$MNT/apps$ENV

test_expect_success 'echo v > env/NAME sets it: one PUT carrying the whole env map' '
	wait_for 10 no_deployments &&
	emu_app $ENV | jq -S ".env" >$TRASH/env0 &&
	jq -e ".TIER == \"web\"" $TRASH/env0 &&
	check_eq web "$(cat $A_ENV/env/TIER)" &&
	emu_reset &&
	echo edge >$A_ENV/env/TIER &&
	jq -S ".TIER = \"edge\"" $TRASH/env0 >$TRASH/env1 &&
	kv_sent_map env $ENV | diff $TRASH/env1 - &&
	emu_app $ENV | jq -S .env | diff $TRASH/env1 - &&
	check_eq edge "$(cat $A_ENV/env/TIER)"
'

test_expect_success 'a new name adds it' '
	wait_for 10 no_deployments &&
	emu_app $ENV | jq -S ".env" >$TRASH/env0 &&
	jq -e "has(\"NEW_VAR\") | not" $TRASH/env0 &&
	emu_reset &&
	echo fresh >$A_ENV/env/NEW_VAR &&
	jq -S ".NEW_VAR = \"fresh\"" $TRASH/env0 >$TRASH/env1 &&
	kv_sent_map env $ENV | diff $TRASH/env1 - &&
	emu_app $ENV | jq -S .env | diff $TRASH/env1 - &&
	ls $MNT/apps$ENV/env | grep -qx NEW_VAR
'

test_expect_success 'rm env/NAME is EPERM and sends nothing; echo unset env NAME > ctl removes it' '
	wait_for 10 no_deployments &&
	emu_app $ENV | jq -S ".env" >$TRASH/env0 &&
	jq -e "has(\"APP_INDEX\")" $TRASH/env0 &&
	emu_reset &&
	expect_errno EPERM rm $A_ENV/env/APP_INDEX &&
	check_eq 0 "$(emu_writes)" "writes after rm" &&
	grep -q "unset env" $A_ENV/env/.error &&
	echo "unset env APP_INDEX" >$A_ENV/ctl &&
	jq -S "del(.APP_INDEX)" $TRASH/env0 >$TRASH/env1 &&
	kv_sent_map env $ENV | diff $TRASH/env1 - &&
	emu_app $ENV | jq -S .env | diff $TRASH/env1 - &&
	test ! -e $A_ENV/env/APP_INDEX
'

# A value with leading, inner and trailing blanks, a tab, quotes, a dollar
# sign and non-ASCII text; the file holds it plus the newline echo adds.
printf '%s\n' '  héllo   wörld ✓ 日本語 "q" $HOME	tab ' >$TRASH/value

test_expect_success 'values with spaces and unicode round-trip exactly (Marathon holds them byte for byte)' '
	wait_for 10 no_deployments &&
	v=$(cat $TRASH/value) &&
	emu_reset &&
	echo "$v" >$A_ENV/env/GREETING &&
	kv_sent_map env $ENV | jq -j .GREETING >$TRASH/sent &&
	printf "%s" "$v" | cmp - $TRASH/sent &&
	emu_app $ENV | jq -r .env.GREETING | cmp - $TRASH/value &&
	cmp $TRASH/value $A_ENV/env/GREETING
'

# bash's builtin printf writes "a\n\n" as two write(2) calls ("a\n", "\n"),
# i.e. two values; coreutils printf writes it in one, which is what this
# is about.
test_expect_success 'one trailing newline is dropped: printf "a\n\n" keeps one, printf "b" none' '
	wait_for 10 no_deployments &&
	/usr/bin/printf "a\n\n" >$A_ENV/env/TWO_NL &&
	emu_app $ENV | jq -e ".env.TWO_NL == \"a\n\"" &&
	wait_for 10 no_deployments &&
	/usr/bin/printf "b" >$A_ENV/env/NO_NL &&
	emu_app $ENV | jq -e ".env.NO_NL == \"b\"" &&
	wait_for 10 no_deployments &&
	echo c >$A_ENV/env/ONE_NL &&
	emu_app $ENV | jq -e ".env.ONE_NL == \"c\""
'

A_LAB=$MNT/apps$LABELS

test_expect_success 'rm -r of an app with env and labels changes nothing in Marathon' '
	wait_for 10 no_deployments &&
	emu_app $ENV >$TRASH/before &&
	jq -e ".env | length > 0" $TRASH/before &&
	emu_reset &&
	! rm -rf $A_ENV 2>/dev/null &&
	check_eq 0 "$(emu_writes)" "writes" &&
	emu_app $ENV | jq -S "del(.version, .versionInfo, .tasks, .tasksStaged, .tasksRunning, .tasksHealthy, .tasksUnhealthy, .deployments, .lastTaskFailure)" >$TRASH/after &&
	jq -S "del(.version, .versionInfo, .tasks, .tasksStaged, .tasksRunning, .tasksHealthy, .tasksUnhealthy, .deployments, .lastTaskFailure)" $TRASH/before | diff - $TRASH/after
'

test_expect_success 'labels: echo v > labels/KEY sets it, with one PUT carrying the whole labels map' '
	wait_for 10 no_deployments &&
	emu_app $LABELS | jq -S .labels >$TRASH/lab0 &&
	jq -e ".team == \"team-1\"" $TRASH/lab0 &&
	emu_reset &&
	echo platform >$A_LAB/labels/team &&
	jq -S ".team = \"platform\"" $TRASH/lab0 >$TRASH/lab1 &&
	kv_sent_map labels $LABELS | diff $TRASH/lab1 - &&
	emu_app $LABELS | jq -S .labels | diff $TRASH/lab1 - &&
	check_eq platform "$(cat $A_LAB/labels/team)"
'

test_expect_success 'labels: a new key adds it, unset label KEY > ctl removes one' '
	wait_for 10 no_deployments &&
	emu_app $LABELS | jq -S .labels >$TRASH/lab0 &&
	emu_reset &&
	echo blue >$A_LAB/labels/color &&
	jq -S ".color = \"blue\"" $TRASH/lab0 >$TRASH/lab1 &&
	kv_sent_map labels $LABELS | diff $TRASH/lab1 - &&
	emu_app $LABELS | jq -S .labels | diff $TRASH/lab1 - &&
	wait_for 10 no_deployments &&
	emu_reset &&
	expect_errno EPERM rm $A_LAB/labels/synthetic &&
	check_eq 0 "$(emu_writes)" "writes after rm" &&
	echo "unset label synthetic" >$A_LAB/ctl &&
	jq -S "del(.synthetic)" $TRASH/lab1 >$TRASH/lab2 &&
	kv_sent_map labels $LABELS | diff $TRASH/lab2 - &&
	emu_app $LABELS | jq -S .labels | diff $TRASH/lab2 - &&
	test ! -e $A_LAB/labels/synthetic
'

test_expect_success 'labels: unicode and blanks round-trip exactly' '
	wait_for 10 no_deployments &&
	echo "$(cat $TRASH/value)" >$A_LAB/labels/note &&
	emu_app $LABELS | jq -r .labels.note | cmp - $TRASH/value &&
	cmp $TRASH/value $A_LAB/labels/note
'

# --- 6. the app's ctl --------------------------------------------------------------

A_CTL=$MNT/apps$CTL

test_expect_success 'reading ctl lists the verbs' '
	for v in restart kill scale wipe delete force; do
		grep -qw $v $A_CTL/ctl || { echo "ctl does not mention $v"; exit 1; }
	done
'

test_expect_success 'unknown or malformed commands are EINVAL and nothing is sent' '
	emu_reset &&
	expect_errno EINVAL bash -c "echo reboot >$A_CTL/ctl" &&
	expect_errno EINVAL bash -c "echo kill >$A_CTL/ctl" &&
	expect_errno EINVAL bash -c "echo \"kill x y z\" >$A_CTL/ctl" &&
	check_eq 0 "$(emu_writes)" "writes"
'

test_expect_success 'kill of a task Marathon does not know is ENOENT' '
	expect_errno ENOENT bash -c "echo \"kill synth_g00_app0002.instance-00000000-0000-0000-0000-000000000000._app.1\" >$A_CTL/ctl"
'

test_expect_success 'echo restart > ctl: one POST .../restart, a new version, every task replaced' '
	wait_for 10 no_deployments &&
	v0=$(emu_app $CTL | jq -r .version) &&
	task_ids $CTL >$TRASH/t0 &&
	check_eq 2 "$(wc -l <$TRASH/t0)" "tasks before" &&
	emu_reset &&
	echo restart >$A_CTL/ctl &&
	only_write | jq -e --arg p "/v2/apps$CTL/restart" ".method == \"POST\" and .path == \$p" &&
	v1=$(emu_app $CTL | jq -r .version) &&
	test "$v1" != "$v0" &&
	wait_for 10 no_deployments &&
	task_ids $CTL >$TRASH/t1 &&
	check_eq 2 "$(wc -l <$TRASH/t1)" "tasks after" &&
	check_eq "" "$(comm -12 $TRASH/t0 $TRASH/t1)" "tasks that survived the restart" &&
	check_eq "$v1" "$(emu_app $CTL | jq -r "[.tasks[].version] | unique | .[]")" "task versions" &&
	wait_for 3 sh -c "ls $A_CTL/tasks | cmp -s - $TRASH/t1"
'

test_expect_success 'echo "kill TASK" > ctl: that task is killed and replaced' '
	wait_for 10 no_deployments &&
	task_ids $CTL >$TRASH/t0 &&
	victim=$(head -n 1 $TRASH/t0) &&
	ls $A_CTL/tasks | grep -qxF "$victim" &&
	emu_reset &&
	echo "kill $victim" >$A_CTL/ctl &&
	only_write | jq -e --arg p "/v2/apps$CTL/tasks/$victim" \
		".method == \"DELETE\" and .path == \$p and .query == \"\"" &&
	task_ids $CTL >$TRASH/t1 &&
	! grep -qxF "$victim" $TRASH/t1 &&
	check_eq 2 "$(wc -l <$TRASH/t1)" "tasks after" &&
	check_eq 2 "$(emu_app $CTL | jq .instances)" "instances" &&
	wait_for 3 sh -c "ls $A_CTL/tasks | cmp -s - $TRASH/t1"
'

test_expect_success 'echo "kill TASK scale" > ctl: the task is killed and instances lowered' '
	wait_for 10 no_deployments &&
	task_ids $CTL >$TRASH/t0 &&
	victim=$(tail -n 1 $TRASH/t0) &&
	emu_reset &&
	echo "kill $victim scale" >$A_CTL/ctl &&
	only_write | jq -e --arg p "/v2/apps$CTL/tasks/$victim" \
		".method == \"DELETE\" and .path == \$p and .query == \"scale=true\"" &&
	check_eq 1 "$(emu_app $CTL | jq .instances)" "instances in Marathon" &&
	check_eq 1 "$(cat $A_CTL/instances)" "instances read back" &&
	wait_for 10 no_deployments &&
	task_ids $CTL >$TRASH/t1 &&
	check_eq 1 "$(wc -l <$TRASH/t1)" "tasks after" &&
	! grep -qxF "$victim" $TRASH/t1 &&
	wait_for 3 sh -c "ls $A_CTL/tasks | cmp -s - $TRASH/t1"
'

test_expect_success 'echo delete > ctl: one DELETE, the app is gone from Marathon, then from the mount' '
	wait_for 10 no_deployments &&
	exists_in_marathon $DELETE &&
	emu_reset &&
	echo delete >$MNT/apps$DELETE/ctl &&
	only_write | jq -e --arg p "/v2/apps$DELETE" ".method == \"DELETE\" and .path == \$p" &&
	absent_in_marathon $DELETE &&
	wait_for 3 test ! -e $MNT/apps$DELETE &&
	! ls $MNT/apps/synth/g00 | grep -qx app0005 &&
	wait_for 10 no_deployments &&
	absent_in_marathon $DELETE
'

# --- 7. a deployment's ctl ---------------------------------------------------------

A_DEP=$MNT/apps$DEPLOY

# dep_of ID: the id of the deployment Marathon runs for app ID
dep_of() { emu /v2/deployments | jq -er --arg a "$1" '[.[] | select(.affectedApps | index($a))] | .[0].id'; }

test_expect_success 'deployments/<id>/ctl rollback during a long deployment: Marathon is back to the original definition' '
	wait_for 10 no_deployments &&
	def $DEPLOY >$TRASH/orig.json &&
	emu_knobs "{\"deploy_seconds\": 10}" &&
	sed -i "s/\"mem\": [0-9]*/\"mem\": 700/" $A_DEP/app.json &&
	check_eq 700 "$(emu_app $DEPLOY | jq .mem)" "mem during the deployment" &&
	d=$(dep_of $DEPLOY) &&
	wait_for 3 test -d $MNT/deployments/$d &&
	grep -q "$DEPLOY" $MNT/deployments/$d/status &&
	grep -qw rollback $MNT/deployments/$d/ctl &&
	emu_reset &&
	echo rollback >$MNT/deployments/$d/ctl &&
	only_write | jq -e --arg p "/v2/deployments/$d" ".method == \"DELETE\" and .path == \$p and .query == \"\"" &&
	def $DEPLOY | diff $TRASH/orig.json - &&
	emu /v2/deployments | jq -e --arg d "$d" "map(.id) | index(\$d) == null" &&
	dep_of $DEPLOY >$TRASH/rollback-id
'

test_expect_success 'deployments/<id>/ctl stop: the deployment ends where it is (DELETE ?force=true), gone from Marathon and the mount' '
	d=$(cat $TRASH/rollback-id) &&
	wait_for 3 test -d $MNT/deployments/$d &&
	def $DEPLOY >$TRASH/before-stop.json &&
	emu_reset &&
	echo stop >$MNT/deployments/$d/ctl &&
	only_write | jq -e --arg p "/v2/deployments/$d" ".method == \"DELETE\" and .path == \$p and .query == \"force=true\"" &&
	no_deployments &&
	def $DEPLOY | diff $TRASH/before-stop.json - &&
	wait_for 3 test ! -e $MNT/deployments/$d
'
emu_knobs '{"deploy_seconds": 0.5}'

# --- 8. scratch files -----------------------------------------------------------------

A_SCR=$MNT/apps$SCRATCH

test_expect_success 'scratch names (vim, sed, emacs, backups) can be made in an app dir, show in ls, are never sent' '
	wait_for 10 no_deployments &&
	v=$(emu_app $SCRATCH | jq -r .version) &&
	emu_reset &&
	touch $A_SCR/.app.json.swp $A_SCR/4913 $A_SCR/app.json~ $A_SCR/sedAb12Cd "$A_SCR/#app.json#" $A_SCR/app.json.bak &&
	echo "{\"id\":\"/elsewhere\",\"cmd\":\"x\"}" >$A_SCR/.app.json.swp &&
	echo junk >$A_SCR/4913 &&
	ls -a $A_SCR >$TRASH/ls &&
	for f in .app.json.swp 4913 app.json~ sedAb12Cd "#app.json#" app.json.bak; do grep -qxF "$f" $TRASH/ls; done &&
	check_eq junk "$(cat $A_SCR/4913)" &&
	rm $A_SCR/.app.json.swp $A_SCR/4913 $A_SCR/app.json~ $A_SCR/sedAb12Cd "$A_SCR/#app.json#" $A_SCR/app.json.bak &&
	check_eq 0 "$(emu_writes)" "writes" &&
	check_eq "$v" "$(emu_app $SCRATCH | jq -r .version)" "version" &&
	absent_in_marathon /elsewhere
'

test_expect_success 'unknown names in an app dir are EPERM; rm of app.json is EPERM; nothing is sent' '
	emu_reset &&
	expect_errno EPERM touch $A_SCR/notes.txt &&
	expect_errno EPERM mkdir $A_SCR/subdir &&
	expect_errno EPERM rm $A_SCR/app.json &&
	test -e $A_SCR/app.json &&
	check_eq 0 "$(emu_writes)" "writes"
'

test_expect_success 'mv app.json app.json~ copies: app.json stays, app.json~ has its text, nothing is sent' '
	emu_reset &&
	cat $A_SCR/app.json >$TRASH/before.txt &&
	mv $A_SCR/app.json $A_SCR/app.json~ &&
	test -e $A_SCR/app.json &&
	cmp $TRASH/before.txt $A_SCR/app.json~ &&
	cmp $TRASH/before.txt $A_SCR/app.json &&
	check_eq 0 "$(emu_writes)" "writes" &&
	exists_in_marathon $SCRATCH &&
	rm $A_SCR/app.json~
'

test_expect_success 'mv scratchfile app.json deploys that text, once' '
	wait_for 10 no_deployments &&
	def $SCRATCH >$TRASH/before.json &&
	sed "s/\"mem\": [0-9]*/\"mem\": 333/" $A_SCR/app.json >$A_SCR/.app.json.tmp &&
	cp $A_SCR/.app.json.tmp $TRASH/moved.json &&
	emu_reset &&
	check_eq 0 "$(emu_writes)" "writes before mv" &&
	mv $A_SCR/.app.json.tmp $A_SCR/app.json &&
	only_write >$TRASH/w &&
	jq -e --arg p "/v2/apps$SCRATCH" ".method == \"PUT\" and .path == \$p and .query == \"partialUpdate=false\"" $TRASH/w &&
	jq -S ".body | fromjson" $TRASH/w | diff <(jq -S . $TRASH/moved.json) - &&
	def $SCRATCH >$TRASH/after.json &&
	check_eq 333 "$(jq .mem $TRASH/after.json)" &&
	diff <(jq "del(.mem)" $TRASH/before.json) <(jq "del(.mem)" $TRASH/after.json) &&
	test ! -e $A_SCR/.app.json.tmp &&
	wait_for 10 no_deployments &&
	only_write >/dev/null
'

test_done
