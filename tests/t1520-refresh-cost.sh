#!/bin/bash
# t1520: what freshness costs Marathon.  A listing of any size costs one
# GET /v2/apps per refresh, never one request per app or group; reading
# every file of the tree costs nothing more; a change pushed by the event
# stream, or made through the mount, re-reads only the app it names
# (GET /v2/apps/ID), never the whole listing; a refresh reads an app's
# version list again but keeps its version documents (they never change);
# the version an app is at costs no request at all (it is the app as
# listed); a walk through versions/ reads the next apps' ahead, each once, further
# ahead the longer it goes on, and so does a second walk begun right
# after it;
# and the snapshot is kept packed, smaller than the JSON it came from.  The mount runs with
# every TTL at 60 s, so only the events can explain what is seen.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 250 --synthetic-tasks 2
mount_archonfs --marathon "$ARCHONFS_MARATHON" \
	-o ttl=60,entry_timeout=60,attr_timeout=60 || exit 1

A=$MNT/apps/synth

# gets: the GETs of Marathon's apps since emu_reset, one per line
gets() {
	emu /_emu/requests | jq -r '.[] | select(.method == "GET" and
	    (.path | startswith("/v2/apps"))) | .path'
}
# api_scale ID N: scale through Marathon's API, as another client would
api_scale() {
	emu "/v2/apps$1" -X PUT -H 'Content-Type: application/json' \
		-d "{\"instances\":$2}" | jq -e .deploymentId >/dev/null
}
reads() { test "$(cat "$1")" = "$2"; }

test_expect_success 'after a refresh, ls of every group and app costs one GET /v2/apps' '
	ls $A >/dev/null &&
	wait_for 10 no_deployments && sleep 0.5 &&
	emu_reset &&
	echo x >$MNT/.archonfs/refresh &&
	ls $A $A/g00 $A/g01 $A/g02 >/dev/null &&
	ls $A/g01/app0100 $A/g02/app0249/tasks >/dev/null &&
	gets >$TRASH/gets &&
	echo "# $(wc -l <$TRASH/gets) GETs: $(paste -sd, $TRASH/gets)" &&
	test "$(wc -l <$TRASH/gets)" = 1 &&
	grep -qx "/v2/apps" $TRASH/gets
'

test_expect_success 'reading every status, instances and app.json of 250 apps and their tasks costs no request' '
	emu_reset &&
	cat $A/*/*/status $A/*/*/instances $A/*/*/app.json >/dev/null &&
	cat $A/g00/*/tasks/*/status $A/g00/*/tasks/*/task.json >/dev/null &&
	ls -l $A/g01/*/env $A/g01/*/labels >/dev/null &&
	test "$(gets | wc -l)" = 0
'

test_expect_success 'a scale through the API re-reads that app alone, and shows within 5 s' '
	emu_reset &&
	api_scale /synth/g01/app0123 4 &&
	wait_for 5 reads $A/g01/app0123/instances 4 &&
	wait_for 10 no_deployments && sleep 0.5 &&
	gets >$TRASH/gets &&
	echo "# $(paste -sd, $TRASH/gets)" &&
	grep -qx "/v2/apps/synth/g01/app0123" $TRASH/gets &&
	! grep -v -e "^/v2/apps/synth/g01/app0123\$" -e "^/v2/apps/synth/g01/\*\$" $TRASH/gets
'

test_expect_success 'echo N > instances reads back that app alone, not the listing' '
	emu_reset &&
	echo 3 >$A/g02/app0200/instances &&
	reads $A/g02/app0200/instances 3 &&
	test "$(emu_app /synth/g02/app0200 | jq .instances)" = 3 &&
	wait_for 10 no_deployments && sleep 0.5 &&
	gets >$TRASH/gets &&
	echo "# $(paste -sd, $TRASH/gets)" &&
	grep -qx "/v2/apps/synth/g02/app0200" $TRASH/gets &&
	! grep -qx "/v2/apps" $TRASH/gets
'

test_expect_success 'an app created through the API shows in its group, an app deleted leaves it, neither re-reads the listing' '
	emu_reset &&
	emu /v2/apps -X POST -H "Content-Type: application/json" \
		-d "{\"id\": \"/synth/g00/new\", \"cmd\": \"sleep 1000\", \"instances\": 1}" |
		jq -e .id >/dev/null &&
	wait_for 5 test -d $A/g00/new &&
	emu /v2/apps/synth/g00/app0007 -X DELETE | jq -e .deploymentId >/dev/null &&
	wait_for 5 test ! -e $A/g00/app0007 &&
	! ls $A/g00 | grep -qx app0007 &&
	ls $A/g00 | grep -qx new &&
	wait_for 10 no_deployments && sleep 0.5 &&
	gets >$TRASH/gets &&
	echo "# $(paste -sd, $TRASH/gets)" &&
	! grep -qx "/v2/apps" $TRASH/gets
'

# app0123 has two versions since its scale above: the one it is at, and
# the one it was created with.
test_expect_success 'the version an app is at costs no request; an earlier one costs one GET, once' '
	echo >$MNT/.archonfs/refresh && emu_reset &&
	CUR=$(emu_app /synth/g01/app0123 | jq -r .version) &&
	emu /v2/apps/synth/g01/app0123/versions | jq -r ".versions[]" >$TRASH/vers &&
	check_eq 2 "$(wc -l <$TRASH/vers)" "versions of app0123" &&
	OLD=$(grep -vx "$CUR" $TRASH/vers) && test -n "$OLD" &&
	ls $A/g01/app0123/versions | sort >$TRASH/got &&
	sed "s/$/.json/" $TRASH/vers | sort | cmp - $TRASH/got &&
	cmp $A/g01/app0123/versions/$CUR.json $A/g01/app0123/app.json &&
	cat $A/g01/app0123/versions/$OLD.json $A/g01/app0123/versions/$OLD.json >/dev/null &&
	jq -e ".instances != 4" $A/g01/app0123/versions/$OLD.json >/dev/null &&
	jq -e ".instances == 4" $A/g01/app0123/versions/$CUR.json >/dev/null &&
	ls -l $A/g02/app0201/versions >/dev/null && cat $A/g02/app0201/versions/* >/dev/null &&
	gets >$TRASH/gets &&
	echo "# $(paste -sd, $TRASH/gets)" &&
	check_eq 0 "$(grep -c "/versions/$CUR\$" $TRASH/gets)" "GETs of the current version of app0123" &&
	check_eq 1 "$(grep -cx "/v2/apps/synth/g01/app0123/versions/$OLD" $TRASH/gets)" "GETs of its earlier version" &&
	check_eq 0 "$(grep -c "^/v2/apps/synth/g02/app0201/versions/" $TRASH/gets)" "GETs of app0201 version documents (it has one version)"
'

size_is_content() { test "$(stat -c %s "$1")" = "$(wc -c <"$1")"; }
test_expect_success 'app.json and the current version: the size stat gives is the content'"'"'s, also after a change of length' '
	D=$A/g02/app0202 &&
	size_is_content $D/app.json &&
	CUR=$(emu_app /synth/g02/app0202 | jq -r .version) &&
	size_is_content $D/versions/$CUR.json &&
	n0=$(stat -c %s $D/app.json) &&
	api_scale /synth/g02/app0202 12 &&
	wait_for 5 reads $D/instances 12 &&
	wait_for 10 no_deployments && sleep 0.5 &&
	CUR=$(emu_app /synth/g02/app0202 | jq -r .version) &&
	wait_for 5 test -e $D/versions/$CUR.json &&
	size_is_content $D/app.json && size_is_content $D/versions/$CUR.json &&
	check_eq $((n0 + 1)) "$(stat -c %s $D/app.json)" "app.json size after 1 -> 12 instances" &&
	cmp $D/versions/$CUR.json $D/app.json
'

test_expect_success 'a refresh drops the version lists too: versions/ asks again, a version document kept' '
	V=$(emu /v2/apps/synth/g01/app0123/versions | jq -r ".versions[]" |
		grep -vx "$(emu_app /synth/g01/app0123 | jq -r .version)").json &&
	cat $A/g01/app0123/versions/$V >/dev/null &&
	emu_reset && ls $A/g01/app0123/versions >/dev/null &&
	check_eq 0 "$(gets | grep -c "^/v2/apps/synth/g01/app0123/versions")" "version requests before the refresh" &&
	echo >$MNT/.archonfs/refresh && emu_reset &&
	ls $A/g01/app0123/versions >/dev/null && cat $A/g01/app0123/versions/$V >/dev/null &&
	check_eq 1 "$(gets | grep -cx "/v2/apps/synth/g01/app0123/versions")" "version lists after the refresh" &&
	check_eq 0 "$(gets | grep -c "^/v2/apps/synth/g01/app0123/versions/")" "version documents after the refresh"
'

test_expect_success 'a walk through versions/ reads the next apps'"'"' versions ahead, each once' '
	echo >$MNT/.archonfs/refresh && emu_reset &&
	ls -l $A/g01/app0100/versions $A/g01/app0101/versions >/dev/null &&
	for i in $(seq 50); do
		gets | grep -qx "/v2/apps/synth/g01/app0105/versions" && break
		sleep 0.1
	done &&
	echo "# read ahead before anyone asked: $(gets | grep -c "^/v2/apps/synth/g01/app01\(0[2-9]\|1\)") GETs of app0102 and on" &&
	check_eq 1 "$(gets | grep -cx "/v2/apps/synth/g01/app0105/versions")" "app0105 list, read ahead" &&
	ls -l $A/g01/app0102/versions $A/g01/app0103/versions $A/g01/app0104/versions \
		$A/g01/app0105/versions >/dev/null &&
	gets | sort | uniq -d >$TRASH/twice &&
	check_eq 0 "$(wc -l <$TRASH/twice)" "requests made twice"
'

# The first walk leaves its state behind for a second: a walk that starts
# over from an earlier app within that second is a new one, read ahead too.
test_expect_success 'a second walk from an earlier app, right after the first, reads ahead too' '
	echo >$MNT/.archonfs/refresh && emu_reset &&
	ls -l $A/g01/app0120/versions $A/g01/app0121/versions >/dev/null &&
	ls -l $A/g00/app0000/versions $A/g00/app0001/versions >/dev/null &&
	for i in $(seq 50); do
		gets | grep -qx "/v2/apps/synth/g00/app0005/versions" && break
		sleep 0.1
	done &&
	check_eq 1 "$(gets | grep -cx "/v2/apps/synth/g00/app0005/versions")" "app0005 list, read ahead by the second walk" &&
	gets | sort | uniq -d >$TRASH/twice &&
	check_eq 0 "$(wc -l <$TRASH/twice)" "requests made twice"
'

# A walk that goes on is read further ahead: halfway through the first 8
# apps named (app0102 to app0109), the next 16 are named, not 8, so
# app0125 is fetched before the walk is near it, and nothing past it is.
# (It waits out the last test's walk first: a walk that jumps ahead within
# a second goes on, with the window it had.)
test_expect_success 'a walk that goes on is read further ahead, and no further than it grew' '
	sleep 1.2 && echo >$MNT/.archonfs/refresh && emu_reset &&
	ls -l $A/g01/app0100/versions $A/g01/app0101/versions $A/g01/app0102/versions \
		$A/g01/app0103/versions $A/g01/app0104/versions $A/g01/app0105/versions >/dev/null &&
	for i in $(seq 50); do
		gets | grep -qx "/v2/apps/synth/g01/app0125/versions" && break
		sleep 0.1
	done &&
	check_eq 1 "$(gets | grep -cx "/v2/apps/synth/g01/app0125/versions")" "app0125 list, read ahead" &&
	sleep 0.5 &&
	check_eq 0 "$(gets | grep -c "^/v2/apps/synth/g01/app01\(2[6-9]\|[3-9]\)")" "GETs past app0125"
'

test_expect_success 'the snapshot is kept packed: smaller than the JSON Marathon sent' '
	line=$(grep "^  memory:" $MNT/.archonfs/status) &&
	echo "#$line" &&
	packed=$(echo "$line" | sed "s/.*memory: \([0-9]*\) bytes packed for \([0-9]*\).*/\1/") &&
	json=$(echo "$line" | sed "s/.*memory: \([0-9]*\) bytes packed for \([0-9]*\).*/\2/") &&
	test "$json" -gt 100000 && test "$packed" -lt "$json"
'

test_done
