#!/bin/bash
# t1500: freshness.  Changes made in Marathon by someone else (through its
# API, not the mount) are seen through the mount within about 2 s because
# archonfs follows Marathon's event stream; the mount uses -o ttl=60 so the
# TTL cannot explain it, and the -o noevents control at the end shows that
# without events the same change is not seen until the TTL or a refresh.
# The kernel's page cache never serves the old content.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 8 --synthetic-tasks 1
mount_archonfs --marathon "$ARCHONFS_MARATHON" -o ttl=60 || exit 1

G=$MNT/apps/synth/g00
SCALE=/synth/g00/app0000
PAGE=/synth/g00/app0001
TASKS=/synth/g00/app0002
RECON=/synth/g00/app0003
GONE=/synth/g00/app0004
NOEV=/synth/g00/app0005

# api_scale ID N: scale through Marathon's API, as another client would
api_scale() {
	emu "/v2/apps$1" -X PUT -H 'Content-Type: application/json' \
		-d "{\"instances\":$2}" | jq -e .deploymentId >/dev/null
}
# reads FILE VALUE: FILE's content is VALUE (one line)
reads() { test "$(cat "$1")" = "$2"; }
# stays_for SECONDS cmd...: cmd holds every 0.1 s for that long (the
# negative of wait_for: something that must NOT happen in that time)
stays_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" || { echo "changed after $i tenths of a second: $*"; return 1; }
		sleep 0.1
	done
}
# subscribers: how many event streams the emulator is serving
subscribers() { emu /_emu/state | jq .subscribers; }
subscribers_are() { test "$(subscribers)" = "$1"; }

test_expect_success 'the mount runs with ttl 60 and follows the event stream (one subscriber in Marathon)' '
	grep -qx "ttl: 60" $MNT/.archonfs/config &&
	ls $MNT/apps >/dev/null &&
	wait_for 3 grep -q "events: connected" $MNT/.archonfs/status &&
	check_eq 1 "$(subscribers)" "event streams"
'

# --- 1. a scale made elsewhere ----------------------------------------------------

test_expect_success 'a scale through the API shows in instances and status within 2 s, though both were just read' '
	wait_for 10 no_deployments &&
	reads $G/app0000/instances 1 &&
	grep -qx "instances: 1" $G/app0000/status &&
	reads $G/app0000/instances 1 &&
	api_scale $SCALE 3 &&
	check_eq 3 "$(emu_app $SCALE | jq .instances)" "instances in Marathon" &&
	wait_for 2 reads $G/app0000/instances 3 &&
	wait_for 2 grep -qx "instances: 3" $G/app0000/status
'

test_expect_success 'the new tasks of that scale show in tasks/ within 2 s of the deployment ending' '
	wait_for 10 no_deployments &&
	emu_app $SCALE | jq -r ".tasks[].id" | sort >$TRASH/want &&
	check_eq 3 "$(wc -l <$TRASH/want)" "tasks in Marathon" &&
	wait_for 2 sh -c "ls $G/app0000/tasks | cmp -s - $TRASH/want" &&
	wait_for 2 grep -qx "running: 3" $G/app0000/status
'

# --- 2. apps created and deleted elsewhere ------------------------------------------

test_expect_success 'an app created through the API appears in ls within 2 s' '
	ls $G >$TRASH/ls && ! grep -qx fresh $TRASH/ls &&
	emu /v2/apps -X POST -H "Content-Type: application/json" \
		-d "{\"id\":\"/synth/g00/fresh\",\"cmd\":\"sleep 9\",\"instances\":1,\"mem\":32,\"cpus\":0.1}" |
		jq -e ".id == \"/synth/g00/fresh\"" &&
	wait_for 2 sh -c "ls $G | grep -qx fresh" &&
	wait_for 2 reads $G/fresh/instances 1
'

test_expect_success 'an app in a new group created through the API: the group appears in ls apps within 2 s' '
	ls $MNT/apps >$TRASH/ls && ! grep -qx newgroup $TRASH/ls &&
	emu /v2/apps -X POST -H "Content-Type: application/json" \
		-d "{\"id\":\"/newgroup/svc\",\"cmd\":\"sleep 9\",\"instances\":1,\"mem\":32,\"cpus\":0.1}" |
		jq -e ".id == \"/newgroup/svc\"" &&
	wait_for 2 sh -c "ls $MNT/apps | grep -qx newgroup" &&
	wait_for 2 test -e $MNT/apps/newgroup/svc/status
'

test_expect_success 'an app deleted through the API leaves ls and its files give ENOENT within 2 s' '
	reads $G/app0004/instances 1 &&
	ls $G | grep -qx app0004 &&
	emu "/v2/apps$GONE" -X DELETE | jq -e .deploymentId &&
	test "$(emu "/v2/apps$GONE" -o /dev/null -w "%{http_code}")" = 404 &&
	wait_for 2 sh -c "! ls $G | grep -qx app0004" &&
	wait_for 2 test ! -e $G/app0004/instances &&
	expect_errno ENOENT cat $G/app0004/instances &&
	expect_errno ENOENT cat $G/app0004/status &&
	expect_errno ENOENT ls $G/app0004
'

# --- 3. a task killed elsewhere -------------------------------------------------------

test_expect_success 'a task killed through the API leaves tasks/ and its replacement appears within 2 s' '
	wait_for 10 no_deployments &&
	emu_app $TASKS | jq -r ".tasks[].id" >$TRASH/t0 &&
	victim=$(head -n 1 $TRASH/t0) &&
	test -n "$victim" &&
	ls $G/app0002/tasks | grep -qxF "$victim" &&
	test -e "$G/app0002/tasks/$victim/status" &&
	emu "/v2/apps$TASKS/tasks/$victim" -X DELETE | jq -e --arg v "$victim" ".task.id == \$v" &&
	emu_app $TASKS | jq -r ".tasks[].id" | sort >$TRASH/t1 &&
	! grep -qxF "$victim" $TRASH/t1 &&
	check_eq 1 "$(wc -l <$TRASH/t1)" "tasks in Marathon" &&
	wait_for 2 test ! -e "$G/app0002/tasks/$victim" &&
	wait_for 2 sh -c "ls $G/app0002/tasks | cmp -s - $TRASH/t1"
'

# --- 4. the kernel's page cache ---------------------------------------------------------

# instances was read twice (so the kernel holds its page); after the change
# another file of the app (status, never read) shows archonfs has seen it;
# the next read of instances must then show it at once.
test_expect_success 'the page cache does not serve stale content: 1, 1, change, then 2 (same size)' '
	wait_for 10 no_deployments &&
	reads $G/app0001/instances 1 &&
	reads $G/app0001/instances 1 &&
	api_scale $PAGE 2 &&
	wait_for 2 grep -qx "instances: 2" $G/app0001/status &&
	check_eq 2 "$(cat $G/app0001/instances)" "third read"
'

test_expect_success 'the page cache does not serve stale content: 2, 2, change, then 10 (longer)' '
	wait_for 10 no_deployments &&
	reads $G/app0001/instances 2 &&
	reads $G/app0001/instances 2 &&
	api_scale $PAGE 10 &&
	wait_for 2 grep -qx "instances: 10" $G/app0001/status &&
	check_eq 10 "$(cat $G/app0001/instances)" "third read"
'

test_expect_success 'the page cache does not serve stale content in app.json (a change of the same length)' '
	wait_for 10 no_deployments &&
	jq -e ".cmd | test(\"app0001\")" $G/app0001/app.json &&
	cat $G/app0001/app.json >/dev/null &&
	emu "/v2/apps$PAGE" -X PUT -H "Content-Type: application/json" \
		-d "{\"cmd\":\"./bin/serve --port \$PORT0 --name app9991\"}" | jq -e .deploymentId &&
	wait_for 2 grep -q "^version: $(emu_app $PAGE | jq -r .version)" $G/app0001/status &&
	jq -e ".cmd | test(\"app9991\")" $G/app0001/app.json
'

# --- 5. the event stream drops ---------------------------------------------------------

test_expect_success 'after the event stream is dropped, a change made at once is still seen within 3 s' '
	wait_for 10 no_deployments &&
	reads $G/app0003/instances 1 &&
	emu /_emu/events/close -X POST | jq -e ".closed >= 1" &&
	api_scale $RECON 2 &&
	wait_for 3 reads $G/app0003/instances 2
'

test_expect_success 'archonfs reconnected: status says connected with reconnects >= 1; Marathon serves one stream' '
	wait_for 3 grep -qE "events: connected.* [1-9][0-9]* reconnects" $MNT/.archonfs/status &&
	wait_for 3 subscribers_are 1
'

test_expect_success 'after the reconnect, a change through the API is seen within 3 s' '
	wait_for 10 no_deployments &&
	reads $G/app0003/instances 2 &&
	api_scale $RECON 4 &&
	wait_for 3 reads $G/app0003/instances 4
'

# --- 6. without events: the TTL alone ------------------------------------------------------

# A heartbeat every 0.2 s lets the emulator notice a closed stream at once,
# so its subscriber count says whether this mount follows events.
emu_knobs '{"heartbeat_seconds": 0.2}'

test_expect_success '-o noevents,ttl=1: no event stream in Marathon; a change is seen within ~2 s by the TTL' '
	umount_archonfs &&
	wait_for 3 subscribers_are 0 &&
	emu_reset &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" -o noevents,ttl=1 &&
	grep -q "events: off" $MNT/.archonfs/status &&
	wait_for 10 no_deployments &&
	reads $G/app0005/instances 1 &&
	api_scale $NOEV 2 &&
	wait_for 3 reads $G/app0005/instances 2 &&
	check_eq 0 "$(subscribers)" "event streams" &&
	check_eq 0 "$(emu_count "GET /v2/events")" "event stream requests"
'

test_expect_success '-o noevents,ttl=60: a change is NOT seen for 2 s (events were the mechanism above)' '
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" -o noevents,ttl=60 &&
	wait_for 10 no_deployments &&
	n=$(emu_app $NOEV | jq .instances) &&
	reads $G/app0005/instances $n &&
	emu_reset &&
	api_scale $NOEV $((n + 1)) &&
	echo $((n + 1)) >$TRASH/want &&
	check_eq $((n + 1)) "$(emu_app $NOEV | jq .instances)" "instances in Marathon" &&
	stays_for 2 reads $G/app0005/instances $n &&
	check_eq 0 "$(subscribers)" "event streams" &&
	check_eq 0 "$(emu_count "GET /v2/events")" "event stream requests"
'

test_expect_success '... but it is seen right after echo x > .archonfs/refresh' '
	echo x >$MNT/.archonfs/refresh &&
	check_eq "$(cat $TRASH/want)" "$(cat $G/app0005/instances)" "instances after refresh" &&
	grep -qx "instances: $(cat $TRASH/want)" $G/app0005/status
'

# The refresh drops what the kernel holds top down, skipping a directory
# it no longer has; what is in use stays cached and must be dropped too:
# here the working directory of a shell and a file it holds open, on a
# mount whose kernel caches last 60 s.  stat comes first: opening the file
# would mend its size on its own.
test_expect_success '... and so is a change under a working directory and an open file, read in place' '
	umount_archonfs &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" \
		-o noevents,ttl=60,entry_timeout=60,attr_timeout=60 &&
	wait_for 10 no_deployments &&
	(
		cd $G/app0005 && exec 3<instances &&
		n=$(cat instances) && m=$((n + 10)) &&
		check_eq $((${#n} + 1)) "$(stat -c %s instances)" "size before" &&
		api_scale $NOEV $m &&
		stays_for 1 test "$(stat -c %s instances)" = $((${#n} + 1)) &&
		echo x >$MNT/.archonfs/refresh &&
		wait_for 2 test "$(stat -c %s instances)" = $((${#m} + 1)) &&
		check_eq $m "$(cat instances)" "instances in the working directory" &&
		check_eq $m "$(cat <&3)" "instances through the descriptor held open" &&
		grep -qx "instances: $m" status
	)
'

test_done
