#!/bin/bash
# t1100: reading apps/ over the 1000-app cluster dump plus synthetic apps
# with running tasks: what a listing costs (one GET /v2/apps, counted by the
# emulator), every app's files, app.json / status / instances / tasks / env /
# labels / versions / deployments against the cluster's own API, true sizes
# and times, and ENOENT for what does not exist.
. "$(dirname "$0")/lib.sh"

DUMP=$TESTS/fixtures/marathon/155_1000.json
SYN=/synth/g00/app0001		# env, labels, a docker container, 3 tasks
SYN_HC=/synth/g00/app0000	# health checks, two ports, 3 tasks
# What Marathon adds to an app at run time; app.json holds none of it.
RUNTIME='del(.tasks, .tasksStaged, .tasksRunning, .tasksHealthy, .tasksUnhealthy,
	.deployments, .lastTaskFailure, .readinessCheckResults, .tasksStats,
	.version, .versionInfo)'

start_cluster --load "$DUMP" --synthetic-apps 20 --synthetic-tasks 3 || {
	echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }

# put JSON ID BODY: change an app through Marathon's API (not the mount);
# prints the reply.
put_app() {
	emu "/v2/apps$1" -X PUT -H 'Content-Type: application/json' --data-binary "$2"
}

# status_of FILE KEY: the value of "KEY: value" in a status file.
status_of() { sed -n "s/^$2: //p" "$1"; }

# ms_of ISO-TIME: milliseconds since the epoch.
ms_of() { date -u -d "$1" +%s%3N; }

test_expect_success 'mount with ttl=60 and take the first snapshot' '
	mount_archonfs --marathon "$ARCHONFS_MARATHON" -o ttl=60
	ls $MNT/apps >$TRASH/top
	grep -qx cudcos $TRASH/top
	grep -qx synth $TRASH/top
'

test_expect_success 'ls -l apps/ and apps/cudcos/ (1000 apps) after a refresh cost exactly one GET /v2/apps and no per-app request' '
	emu_reset
	echo x >$MNT/.archonfs/refresh
	ls -l $MNT/apps/ >$TRASH/ls-apps
	ls -l $MNT/apps/cudcos/ >$TRASH/ls-cudcos
	check_eq 1000 "$(grep -c "^d" $TRASH/ls-cudcos)" "app directories in ls -l apps/cudcos"
	check_eq 2 "$(grep -c "^d" $TRASH/ls-apps)" "groups in ls -l apps"
	check_eq 1 "$(emu_count "GET /v2/apps")" "GET /v2/apps"
	emu /_emu/requests | jq -r ".[] | \"\(.method) \(.path)\"" >$TRASH/reqs
	cat $TRASH/reqs
	! grep -q "^GET /v2/apps/" $TRASH/reqs
	! grep -q "^GET /v2/groups" $TRASH/reqs
	check_eq 0 "$(emu_writes)" "writes"
'

test_expect_success 'refresh + ls -l apps/ + ls -l apps/cudcos/: no GET besides the one /v2/apps and /v2/events (request log)' '
	emu_reset
	echo x >$MNT/.archonfs/refresh
	ls -l $MNT/apps/ >/dev/null
	ls -l $MNT/apps/cudcos/ >/dev/null
	# The assertion is about absence: let a stray request arrive first.
	sleep 0.5
	emu /_emu/requests | jq -r ".[] | select(.path != \"/v2/events\") | \"\(.method) \(.path)\"" >$TRASH/reqs
	cat $TRASH/reqs
	check_eq "GET /v2/apps" "$(cat $TRASH/reqs)" "every request but /v2/events"
'

test_expect_success 'ls -lR apps/ and find apps/ (versions/ left out) list every app with all its files, for one GET /v2/apps' '
	emu /v2/apps | jq -r ".apps[].id" | sort >$TRASH/emu-ids
	check_eq 1020 "$(wc -l <$TRASH/emu-ids)" "apps in the emulator"
	emu_reset
	echo x >$MNT/.archonfs/refresh
	ls -lR --ignore=versions $MNT/apps >$TRASH/lslR
	find $MNT/apps -name versions -type d -prune -printf "%y %p\n" -o -printf "%y %p\n" >$TRASH/find
	check_eq 1 "$(emu_count "GET /v2/apps")" "GET /v2/apps"
	emu /_emu/requests | jq -r ".[] | \"\(.method) \(.path)\"" >$TRASH/reqs
	! grep -q "^GET /v2/apps/" $TRASH/reqs
	# ls -lR: one "DIR:" block per app directory holding app.json
	grep -c "^$MNT/apps/cudcos/[^/]*:$" $TRASH/lslR >$TRASH/n
	check_eq 1000 "$(cat $TRASH/n)" "app blocks under cudcos in ls -lR"
	grep -cE "^-.* app\.json$" $TRASH/lslR >$TRASH/n
	check_eq 1020 "$(cat $TRASH/n)" "app.json lines in ls -lR"
	# find: the directories holding app.json are exactly the emulator app ids
	sed -n "s|^f $MNT/apps\(.*\)/app\.json$|\1|p" $TRASH/find | sort >$TRASH/mnt-ids
	diff $TRASH/emu-ids $TRASH/mnt-ids
	# every app has all eight entries, of the right type
	for e in "f app.json" "f instances" "f status" "f ctl" "d tasks" "d versions" "d env" "d labels"; do
		set -- $e
		sed -n "s|^$1 $MNT/apps\(.*\)/$2$|\1|p" $TRASH/find | sort >$TRASH/has
		comm -23 $TRASH/emu-ids $TRASH/has >$TRASH/missing
		test ! -s $TRASH/missing || { echo "apps without $2 ($1):"; head $TRASH/missing; exit 1; }
	done
'

test_expect_success 'app.json of 5 apps parses, has no runtime fields and equals the emulator definition without them' '
	for id in /cudcos/mactest1 /cudcos/mactest500 /cudcos/mactest1000 $SYN $SYN_HC; do
		f=$MNT/apps$id/app.json
		jq -e . $f >/dev/null
		jq -e "[has(\"tasks\"), has(\"tasksRunning\"), has(\"tasksStaged\"), has(\"tasksHealthy\"),
			has(\"tasksUnhealthy\"), has(\"deployments\"), has(\"version\"), has(\"versionInfo\"),
			has(\"lastTaskFailure\"), has(\"readinessCheckResults\")] | any | not" $f >/dev/null ||
			{ echo "$f has runtime fields"; exit 1; }
		emu_app $id | jq -S "$RUNTIME" >$TRASH/want
		jq -e ".id == \"$id\"" $TRASH/want >/dev/null
		jq -S . $f >$TRASH/got
		diff -u $TRASH/want $TRASH/got || { echo "app.json of $id differs"; exit 1; }
	done
	jq -e ".env.TIER == \"api\" and .container.type == \"DOCKER\"" $MNT/apps$SYN/app.json >/dev/null
'

test_expect_success 'instances and status of synthetic apps with running tasks agree with the emulator' '
	for id in $SYN $SYN_HC /synth/g00/app0005 /cudcos/mactest1; do
		d=$MNT/apps$id
		emu_app $id >$TRASH/app
		check_eq "$(jq .instances $TRASH/app)" "$(cat $d/instances)" "$id instances"
		check_eq "state instances running healthy unhealthy staged version config_changed scaled deployment" \
			"$(sed -n "s/^\([a-z_]*\): .*/\1/p" $d/status | grep -v last_failure | tr "\n" " " | sed "s/ $//")" "$id status keys"
		want_state=running
		[ "$(jq .instances $TRASH/app)" != 0 ] || want_state=suspended
		check_eq $want_state "$(status_of $d/status state)" "$id state"
		check_eq "$(jq .instances $TRASH/app)" "$(status_of $d/status instances)" "$id instances"
		check_eq "$(jq .tasksRunning $TRASH/app)" "$(status_of $d/status running)" "$id running"
		check_eq "$(jq .tasksHealthy $TRASH/app)" "$(status_of $d/status healthy)" "$id healthy"
		check_eq "$(jq .tasksUnhealthy $TRASH/app)" "$(status_of $d/status unhealthy)" "$id unhealthy"
		check_eq "$(jq .tasksStaged $TRASH/app)" "$(status_of $d/status staged)" "$id staged"
		check_eq "$(jq -r .version $TRASH/app)" "$(status_of $d/status version)" "$id version"
		check_eq "$(jq -r .versionInfo.lastConfigChangeAt $TRASH/app)" "$(status_of $d/status config_changed)" "$id config_changed"
		check_eq "$(jq -r .versionInfo.lastScalingAt $TRASH/app)" "$(status_of $d/status scaled)" "$id scaled"
		check_eq "[]" "$(jq -c .deployments $TRASH/app)" "$id deployments in the emulator"
		check_eq none "$(status_of $d/status deployment)" "$id deployment"
	done
	# the synthetic ones really run tasks, and the health-checked one is healthy
	check_eq 3 "$(status_of $MNT/apps$SYN/status running)"
	check_eq 3 "$(status_of $MNT/apps$SYN_HC/status healthy)"
	check_eq 0 "$(status_of $MNT/apps/cudcos/mactest1/status running)"
'

test_expect_success 'tasks/ holds one directory per emulator task; task.json equals it; status says state, host and ports' '
	for id in $SYN $SYN_HC; do
		emu "/v2/apps$id/tasks" >$TRASH/tasks
		jq -r ".tasks[].id" $TRASH/tasks | sort >$TRASH/want
		check_eq 3 "$(wc -l <$TRASH/want)" "$id tasks in the emulator"
		ls $MNT/apps$id/tasks | sort >$TRASH/got
		diff $TRASH/want $TRASH/got
		for t in $(cat $TRASH/want); do
			td=$MNT/apps$id/tasks/$t
			jq -S --arg t "$t" ".tasks[] | select(.id == \$t)" $TRASH/tasks >$TRASH/want-task
			jq -S . $td/task.json >$TRASH/got-task
			diff -u $TRASH/want-task $TRASH/got-task
			check_eq TASK_RUNNING "$(status_of $td/status state)" "$t state"
			check_eq "$(jq -r .host $TRASH/want-task)" "$(status_of $td/status host)" "$t host"
			check_eq "$(jq -r ".ports | map(tostring) | join(\" \")" $TRASH/want-task)" \
				"$(status_of $td/status ports)" "$t ports"
		done
	done
	# two port definitions: two ports on each task
	t=$(ls $MNT/apps$SYN_HC/tasks | head -n 1)
	status_of $MNT/apps$SYN_HC/tasks/$t/status ports | grep -qE "^[0-9]+ [0-9]+$"
	check_eq healthy "$(status_of $MNT/apps$SYN_HC/tasks/$t/status health)"
'

test_expect_success 'sizes are true (stat %s = wc -c) and app.json mtime is the app version' '
	for id in /cudcos/mactest1 /cudcos/mactest999 $SYN $SYN_HC; do
		d=$MNT/apps$id
		for f in status app.json instances ctl env/TIER labels/tier; do
			[ -e $d/$f ] || continue
			check_eq "$(cat $d/$f | wc -c)" "$(stat -c %s $d/$f)" "size of $id/$f"
		done
		v=$(emu_app $id | jq -r .version)
		check_eq "$(ms_of $v)" "$(stat -c %.3Y $d/app.json | tr -d .)" "mtime of $id/app.json (version $v)"
	done
	# the dump keeps its 2017 versions: the time is the app version, not "now"
	check_eq "$(ms_of 2017-12-04T03:57:49.198Z)" "$(stat -c %.3Y $MNT/apps/cudcos/mactest1/app.json | tr -d .)"
'

test_expect_success 'env/ and labels/: one file per key, value plus newline' '
	emu_app $SYN >$TRASH/app
	for kind in env labels; do
		jq -r ".$kind | keys[]" $TRASH/app | sort >$TRASH/want
		check_eq 3 "$(wc -l <$TRASH/want)" "$kind keys"
		ls $MNT/apps$SYN/$kind | sort >$TRASH/got
		diff $TRASH/want $TRASH/got
		for k in $(cat $TRASH/want); do
			jq -j --arg k "$k" ".$kind[\$k]" $TRASH/app >$TRASH/v
			echo >>$TRASH/v
			cmp $TRASH/v $MNT/apps$SYN/$kind/$k
			check_eq 644 "$(stat -c %a $MNT/apps$SYN/$kind/$k)" "mode of $kind/$k"
		done
	done
'

test_expect_success 'a secret env var is mode 0444 and shows only its reference' '
	emu /v2/apps -X POST -H "Content-Type: application/json" --data-binary \
		"{\"id\":\"/sec/db\",\"cmd\":\"sleep 1000\",\"instances\":1,
		  \"env\":{\"PLAIN\":\"v1\",\"DB_PASS\":{\"secret\":\"pw\"}},
		  \"secrets\":{\"pw\":{\"source\":\"/vault/db/password\"}}}" >$TRASH/reply
	jq -e ".id == \"/sec/db\"" $TRASH/reply
	emu_app /sec/db | jq -e ".env.DB_PASS == {\"secret\":\"pw\"}"
	wait_for 5 test -e $MNT/apps/sec/db/env/DB_PASS
	check_eq 444 "$(stat -c %a $MNT/apps/sec/db/env/DB_PASS)" "mode of the secret"
	check_eq 644 "$(stat -c %a $MNT/apps/sec/db/env/PLAIN)" "mode of a plain var"
	printf "{\"secret\":\"pw\"}\n" >$TRASH/want
	cmp $TRASH/want $MNT/apps/sec/db/env/DB_PASS
	printf "v1\n" | cmp - $MNT/apps/sec/db/env/PLAIN
	! grep -rq vault $MNT/apps/sec/db/env
'

test_expect_success 'versions/ lists the emulator versions after two changes; each file is that version without runtime fields' '
	id=/synth/g00/app0010
	wait_for 10 no_deployments
	put_app $id "{\"mem\":200}" | jq -e .deploymentId
	wait_for 10 no_deployments
	put_app $id "{\"cpus\":0.75}" | jq -e .deploymentId
	wait_for 10 no_deployments
	emu "/v2/apps$id/versions" | jq -r ".versions[]" | sort >$TRASH/want
	check_eq 3 "$(wc -l <$TRASH/want)" "emulator versions"
	sed "s/$/.json/" $TRASH/want >$TRASH/want-names
	ls $MNT/apps$id/versions | sort >$TRASH/got
	diff $TRASH/want-names $TRASH/got
	for ts in $(cat $TRASH/want); do
		emu "/v2/apps$id/versions/$ts" | jq -S "$RUNTIME" >$TRASH/want-v
		jq -S . "$MNT/apps$id/versions/$ts.json" >$TRASH/got-v
		diff -u $TRASH/want-v $TRASH/got-v
	done
	# and they are the three definitions: 256 MiB and 0.5 cpus, then 200 MiB, then 0.75 cpus
	jq -s -c "map([.mem, .cpus])" $(sed "s|^|$MNT/apps$id/versions/|; s/$/.json/" $TRASH/want) >$TRASH/mc
	check_eq "[[256,0.5],[200,0.5],[200,0.75]]" "$(cat $TRASH/mc)" "mem and cpus by version"
'

test_expect_success 'deployments/: status and deployment.json match GET /v2/deployments; wait says success when it ends; the directory goes' '
	id=/synth/g00/app0012
	wait_for 10 no_deployments
	emu_knobs "{\"deploy_seconds\": 5}"
	t0=$(date +%s%3N)
	put_app $id "{\"instances\":4}" >$TRASH/reply
	dep=$(jq -r .deploymentId $TRASH/reply)
	test -n "$dep" && test "$dep" != null
	echo "$dep" >$TRASH/dep
	d=$MNT/deployments/$dep
	wait_for 3 test -e $d/status
	emu /v2/deployments | jq -S --arg d "$dep" ".[] | select(.id == \$d)" >$TRASH/want
	jq -e ".affectedApps == [\"$id\"]" $TRASH/want
	jq -S . $d/deployment.json >$TRASH/got
	diff -u $TRASH/want $TRASH/got
	check_eq "$dep" "$(status_of $d/status id)" "status id"
	check_eq "$(jq -r .version $TRASH/want)" "$(status_of $d/status version)" "status version"
	check_eq "$id" "$(status_of $d/status apps)" "status apps"
	check_eq "$(jq -r "\"\(.currentStep)/\(.totalSteps)\"" $TRASH/want)" "$(status_of $d/status step)" "status step"
	check_eq "$(jq -r ".currentActions | map(\"\(.action) \(.app)\") | join(\", \")" $TRASH/want)" \
		"$(status_of $d/status actions)" "status actions"
	# the app says so too
	check_eq deploying "$(status_of $MNT/apps$id/status state)" "app state"
	check_eq "$dep" "$(status_of $MNT/apps$id/status deployment)" "app deployment"
	check_eq 4 "$(cat $MNT/apps$id/instances)"
	# wait blocks until the deployment is over, and no longer than 2 s after
	check_eq success "$(cat $d/wait)" "wait"
	t1=$(date +%s%3N)
	no_deployments || { echo "wait returned while the deployment still runs"; emu /v2/deployments; exit 1; }
	echo "wait returned $((t1 - t0)) ms after the PUT"
	test $((t1 - t0)) -ge 4500
	test $((t1 - t0)) -le 7000
	wait_for 3 test ! -e $d
	! ls $MNT/deployments | grep -qx "$dep"
	emu_knobs "{\"deploy_seconds\": 0.5}"
'

test_expect_success 'find -maxdepth 3, grep -l over every synthetic status and stat work' '
	find $MNT -maxdepth 3 >$TRASH/find3
	for p in README apps deployments .archonfs .archonfs/status apps/cudcos apps/synth \
	    apps/cudcos/mactest1 apps/cudcos/mactest1000 apps/synth/g00 apps/sec/db; do
		grep -qx "$MNT/$p" $TRASH/find3 || { echo "find -maxdepth 3 misses $p"; exit 1; }
	done
	check_eq 1000 "$(grep -c "^$MNT/apps/cudcos/mactest[0-9]*$" $TRASH/find3)" "depth-3 app entries under cudcos"
	check_eq "$MNT/apps/cudcos/.error" "$(grep "^$MNT/apps/cudcos/[^m]" $TRASH/find3)" "other depth-3 entries under cudcos"
	! grep -q "^$MNT/apps/cudcos/[^/]*/" $TRASH/find3
	! grep -q "^$MNT/apps/synth/g00/" $TRASH/find3
	# the apps that run exactly 3 tasks, by the emulator and by grep -l
	wait_for 10 no_deployments
	emu /v2/apps | jq -r ".apps[] | select(.id | startswith(\"/synth/\")) | select(.tasksRunning == 3) | .id" |
		sort >$TRASH/want
	check_eq 19 "$(wc -l <$TRASH/want)" "synthetic apps running 3 tasks"
	grep -l "^running: 3$" $MNT/apps/synth/*/*/status | sed "s|^$MNT/apps||; s|/status$||" | sort >$TRASH/got
	diff $TRASH/want $TRASH/got
	grep -l "^running: 4$" $MNT/apps/synth/*/*/status >$TRASH/got4
	check_eq "$MNT/apps/synth/g00/app0012/status" "$(cat $TRASH/got4)"
	stat $MNT/apps/synth/g00/app0001 $MNT/apps/synth/g00/app0001/status $MNT/apps/synth/g00/app0001/tasks >/dev/null
	check_eq directory "$(stat -c %F $MNT/apps/synth/g00/app0001)"
	check_eq "regular file" "$(stat -c %F $MNT/apps/synth/g00/app0001/status)"
'

test_expect_success 'ENOENT for an app, a task and a version that do not exist' '
	a=$MNT/apps/synth/g00/app0001
	expect_errno ENOENT ls $MNT/apps/cudcos/nosuchapp
	expect_errno ENOENT cat $MNT/apps/cudcos/nosuchapp/status
	expect_errno ENOENT stat $MNT/apps/nosuchgroup/app
	expect_errno ENOENT cat $a/tasks/synth_g00_app0001.instance-00000000-0000-0000-0000-000000000000._app.1/status
	expect_errno ENOENT ls $a/tasks/nosuchtask
	expect_errno ENOENT cat $a/versions/2001-01-01T00:00:00.000Z.json
	expect_errno ENOENT stat $a/versions/nonsense
	expect_errno ENOENT cat $MNT/deployments/00000000-0000-0000-0000-000000000000/status
	expect_errno ENOENT cat $a/env/NOSUCHVAR
	expect_errno ENOENT cat $a/labels/nosuchlabel
'

test_done
