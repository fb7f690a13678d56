#!/bin/bash
# t0200: the Mesos master and agents of the emulator (tests/mesos_emu.py, run
# inside tests/marathon_emu.py) answer like Mesos as
# shared/reference/API-NOTES.md section 2 (and checklist items 9-10) and the
# DataDog master/agent fixtures describe it, checked with curl and jq: the
# 2.3 chain from a Marathon task to its sandbox, /files/read|browse|download|
# debug to the byte, log growth, task ends, sandbox gc, an agent that is down
# or hangs, /master/tasks paging, /master/redirect; and the /_emu controls
# that drive all that.
. "$(dirname "$0")/lib.sh"

REF=$SRCDIR/../shared/reference
[ -d "$REF" ] || REF=/work/shared/reference
DD_MASTER=$REF/mesos/datadog-master-fixture/state.json
DD_AGENT=$REF/mesos/datadog-agent-fixture/state.json

# get URL [curl args...]: HTTP status on stdout; headers in $TRASH/hdr, body
# in $TRASH/body.  -g: no globbing of the brackets and braces of a query.
get() {
	local url=$1
	shift
	curl -gsS --max-time 10 -D "$TRASH/hdr" -o "$TRASH/body" -w '%{http_code}' "$@" "$url"
}

# expect STATUS URL [curl args...]
expect() {
	local want=$1 got
	shift
	got=$(get "$@")
	if [ "$got" != "$want" ]; then
		echo "$1 -> HTTP $got, want $want; body:"
		head -c 2000 "$TRASH/body"; echo
		return 1
	fi
}

# jqe EXPR [jq args...]: the last body satisfies the jq expression.
jqe() {
	local e=$1
	shift
	if ! jq -e "$@" "$e" "$TRASH/body" >/dev/null; then
		echo "body does not satisfy jq '$e':"
		head -c 3000 "$TRASH/body"; echo
		return 1
	fi
}

# body_is TEXT: the last body is exactly TEXT (printf %b escapes allowed).
body_is() {
	if ! printf '%b' "$1" | cmp -s - "$TRASH/body"; then
		echo "body is not '$1'; it is:"
		od -c "$TRASH/body" | head -n 20
		return 1
	fi
}

hdr() {
	local got
	got=$(grep -i "^$1:" "$TRASH/hdr" | head -n 1 | cut -d: -f2- | sed -e 's/^ //' -e 's/\r$//')
	check_eq "$2" "$got" "header $1"
}

knobs() {
	local out
	out=$(curl -sS --max-time 10 -X POST -d "$1" "$ARCHONFS_MARATHON/_emu/knobs") || return 1
	printf '%s' "$out" | jq -e .latency_ms >/dev/null || { echo "knobs $1 -> $out"; return 1; }
}

ctl() {
	curl -sS --max-time 60 -X POST -H 'Content-Type: application/json' -d "$2" "$ARCHONFS_MARATHON$1"
}

# the stdout/stderr of a task on disk, from /_emu (a zero-byte append)
disk_file() {
	ctl /_emu/tasks/log "{\"taskId\":\"$1\",\"stream\":\"$2\",\"append\":\"\"}" | jq -er .path
}

# read_all AGENT_URL PATH OUT: the whole file through /files/read, 64 KiB
# at a time, as a client must (next offset = offset + length of data).
read_all() {
	local url=$1 path=$2 out=$3 off=0 n
	: >"$out"
	while :; do
		curl -gsS --max-time 10 -o "$TRASH/chunk.json" "$url/files/read?path=$path&offset=$off" || return 1
		jq -j .data "$TRASH/chunk.json" >"$TRASH/chunk"
		n=$(stat -c %s "$TRASH/chunk")
		[ "$n" -eq 0 ] && return 0
		cat "$TRASH/chunk" >>"$out"
		off=$((off + n))
	done
}

start_cluster --synthetic-apps 20 --synthetic-tasks 6 --deploy-seconds 0.2 \
	--task-start-seconds 0.1 --mesos-agents 2 || {
	echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }
MASTER=$ARCHONFS_MESOS
MPORT=${MASTER##*:}
emu /_emu/mesos >"$TRASH/mesos.json"
FW=$(jq -r .framework_id "$TRASH/mesos.json")
ROOT=$(jq -r .sandbox_root "$TRASH/mesos.json")
say "master $MASTER, framework $FW, sandboxes in $ROOT"

# One Marathon task followed through the whole chain by the tests below.
emu /v2/apps/synth/g00/app0003/tasks >"$TRASH/t.json"
TASK=$(jq -r '.tasks[0].id' "$TRASH/t.json")
SLAVE=$(jq -r '.tasks[0].slaveId' "$TRASH/t.json")
AGENT=$(jq -r --arg s "$SLAVE" '.agents[] | select(.id == $s) | .url' "$TRASH/mesos.json")
OTHER_AGENT=$(jq -r --arg s "$SLAVE" '[.agents[] | select(.id != $s)][0].id' "$TRASH/mesos.json")
DIR=$(curl -gsS "$AGENT/slave(1)/state" |
	jq -r --arg t "$TASK" '.frameworks[].executors[] | select(.id == $t) | .directory')
VIRT=/frameworks/$FW/executors/$TASK/runs/latest
say "task $TASK on $SLAVE ($AGENT), sandbox $DIR"

test_expect_success 'env: ARCHONFS_MESOS is the master; /v2/info points at it and shares the framework id' '
	case $MASTER in http://127.0.0.1:[0-9]*) ;; *) echo "bad $MASTER"; exit 1;; esac
	grep -qx "ARCHONFS_MESOS=$MASTER" "$CLUSTER_DIR/env"
	expect 200 "$ARCHONFS_MARATHON/v2/info"
	jqe ".marathon_config.mesos_leader_ui_url == \"$MASTER/\""
	jqe ".frameworkId == \"$FW\" and (.marathon_config.master | length > 0)"
	check_eq "$CLUSTER_DIR/sandboxes" "$ROOT" "sandbox root"
	expect 200 "$MASTER/master/frameworks"
	jqe ".frameworks | length == 1 and .[0].id == \"$FW\" and .[0].name == \"marathon\" and .[0].webui_url == \"$ARCHONFS_MARATHON\""
'

test_expect_success 'master /master/state: shape of API-NOTES 2.1, every key of the DataDog master fixture' '
	expect 200 "$MASTER/master/state"
	hdr Content-Type application/json
	jqe ".pid == \"master@127.0.0.1:$MPORT\" and .leader == .pid and .leader_info.port == $MPORT and .flags.port == \"$MPORT\""
	jqe ".version and .git_sha and (.start_time | type == \"number\") and (.elected_time | type == \"number\") and (.id | test(\"^[0-9]{8}-[0-9]{6}-[0-9]+-$MPORT-[0-9]+$\"))"
	jqe "(.slaves | length) == 2 and .activated_slaves == 2 and .deactivated_slaves == 0 and .completed_frameworks == [] and .recovered_slaves == []"
	jqe "[.slaves[] | (.pid == \"slave(1)@127.0.0.1:\" + (.port | tostring)) and (.id | startswith(\"\(\$m)-S\")) and .active and (.resources | has(\"cpus\") and has(\"mem\") and has(\"disk\") and (.ports | test(\"^\\\\[[0-9]+-[0-9]+\\\\]$\")))] | all" --arg m "$(jq -r .id "$TRASH/body")"
	jqe "(.frameworks[0].tasks | length) == 120 and ([.frameworks[0].tasks[] | .state == \"TASK_RUNNING\" and .executor_id == \"\" and .framework_id == \"$FW\" and (.statuses[0].timestamp | type == \"number\") and .statuses[0].container_status.container_id.value and (.resources.ports | test(\"^\\\\[\"))] | all)"
	# every key the real payload has (reregistered_time: only after an
	# agent or framework re-registers; role: Marathon 1.10 is MULTI_ROLE,
	# so Mesos writes roles)
	jq -r "[paths | map(if type == \"number\" then 0 else . end) | join(\".\")] | unique[]" "$DD_MASTER" |
		grep -v -e "reregistered_time" -e "^frameworks\\.0\\.role$" -e "^flags\\." >"$TRASH/want"
	jq -r "[paths | map(if type == \"number\" then 0 else . end) | join(\".\")] | unique[]" "$TRASH/body" >"$TRASH/have"
	missing=$(comm -23 "$TRASH/want" "$TRASH/have")
	[ -z "$missing" ] || { echo "keys of the DataDog fixture missing: $missing"; exit 1; }
	expect 200 "$MASTER/state"
	jqe ".pid == \"master@127.0.0.1:$MPORT\" and (.frameworks[0].tasks | length) == 120"
'

test_expect_success 'stout JSON: slashes escaped as \/, doubles with a decimal point; jsonp wraps' '
	expect 200 "$MASTER/master/state"
	grep -qF "\"log_dir\":\"\\/var\\/log\\/mesos\"" "$TRASH/body"
	grep -qE "\"cpus\":[0-9]+\\.[0-9]+" "$TRASH/body"
	expect 200 "$MASTER/master/slaves?jsonp=cb"
	hdr Content-Type text/javascript
	head -c 3 "$TRASH/body" | grep -qx "cb("
	tail -c 2 "$TRASH/body" | grep -qx ");"
'

test_expect_success 'mesos-go (Debian golang-github-mesos-mesos-go-dev) finds the leader via /state and parses the pids' '
	command -v go >/dev/null && test -d /usr/share/gocode/src/github.com/mesos/mesos-go/api/v0/detector || {
		echo "needs the Debian packages golang-go and golang-github-mesos-mesos-go-dev"; exit 1; }
	[ -n "${HOME:-}" ] || export GOCACHE=$TRASH/gocache
	GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$TRASH/mesos_client_check" \
		"$TESTS/mesos_client_check.go"
	"$TRASH/mesos_client_check" "$MASTER" | tee "$TRASH/client.out"
	check_eq 3 "$(grep -c "^ok - " "$TRASH/client.out")" "client checks"
'

test_expect_success 'master /master/slaves and /master/state-summary' '
	expect 200 "$MASTER/master/slaves"
	jqe "keys == [\"recovered_slaves\",\"slaves\"] and .recovered_slaves == [] and (.slaves | length) == 2"
	jqe "[.slaves[] | has(\"id\") and has(\"hostname\") and has(\"port\") and has(\"pid\") and has(\"active\") and has(\"resources\") and has(\"used_resources\") and has(\"attributes\") and has(\"registered_time\")] | all"
	jqe "[.slaves[].hostname] == [\"agent-1.emu.local\",\"agent-2.emu.local\"]"
	expect 200 "$MASTER/master/state-summary"
	jqe "(.slaves | length) == 2 and .frameworks[0].id == \"$FW\" and .frameworks[0].TASK_RUNNING == 120 and ([.slaves[].TASK_RUNNING] | add) == 120 and (.slaves[0].framework_ids == [\"$FW\"])"
'

test_expect_success 'Marathon tasks run on these agents: slaveId and host are theirs, both agents used' '
	emu /v2/tasks >"$TRASH/body"
	curl -gsS "$MASTER/master/slaves" >"$TRASH/slaves.json"
	jq -e --slurpfile s "$TRASH/slaves.json" "[.tasks[] | . as \$t | [\$s[0].slaves[] | select(.id == \$t.slaveId and .hostname == \$t.host)] | length == 1] | all" "$TRASH/body" >/dev/null
	check_eq 2 "$(jq "[.tasks[].slaveId] | unique | length" "$TRASH/body")" "agents used"
'

test_expect_success 'the API-NOTES 2.3 chain: Marathon task -> master slaves -> agent pid -> agent state -> sandbox' '
	emu /v2/tasks >"$TRASH/tasks.json"
	slave=$(jq -r --arg t "$TASK" ".tasks[] | select(.id == \$t) | .slaveId" "$TRASH/tasks.json")
	host=$(jq -r --arg t "$TASK" ".tasks[] | select(.id == \$t) | .host" "$TRASH/tasks.json")
	fw=$(emu /v2/info | jq -r .frameworkId)
	expect 200 "$MASTER/master/slaves"
	pid=$(jq -r --arg s "$slave" ".slaves[] | select(.id == \$s) | .pid" "$TRASH/body")
	check_eq "$host" "$(jq -r --arg s "$slave" ".slaves[] | select(.id == \$s) | .hostname" "$TRASH/body")" hostname
	addr=${pid#*@}
	expect 200 "http://$addr/slave(1)/state"
	jqe ".id == \"$slave\" and .hostname == \"$host\" and .pid == \"$pid\" and .flags.work_dir == \"$ROOT\""
	dir=$(jq -r --arg fw "$fw" --arg t "$TASK" ".frameworks[] | select(.id == \$fw) | .executors[] | select(.id == \$t and (.tasks[0].id == \$t)) | .directory" "$TRASH/body")
	check_eq "$DIR" "$dir" directory
	case $dir in "$ROOT/slaves/$slave/frameworks/$fw/executors/$TASK/runs/"*) ;; *) echo "bad layout $dir"; exit 1;; esac
	cid=$(jq -r --arg t "$TASK" ".frameworks[].executors[] | select(.id == \$t) | .container" "$TRASH/body")
	check_eq "$ROOT/slaves/$slave/frameworks/$fw/executors/$TASK/runs/$cid" "$dir" "directory is runs/<container>"
	test -f "$dir/stdout" && test -f "$dir/stderr" && test -f "$dir/conf/app.properties"
	check_eq "$dir" "$(readlink "$ROOT/slaves/$slave/frameworks/$fw/executors/$TASK/runs/latest")" "runs/latest"
	expect 200 "$MASTER/master/tasks?task_id=$TASK&framework_id=$fw"
	jqe ".tasks | length == 1 and .[0].slave_id == \"$slave\" and .[0].executor_id == \"\" and .[0].framework_id == \"$fw\" and .[0].state == \"TASK_RUNNING\" and .[0].name == \"app0003.g00.synth\""
'

test_expect_success 'agent /slave(1)/state: every key of the DataDog agent fixture; /state is the same' '
	expect 200 "$AGENT/slave(1)/state"
	jq -r "[paths | map(if type == \"number\" then 0 else . end) | join(\".\")] | unique[]" "$DD_AGENT" |
		grep -v -e "^frameworks\\.0\\.role$" -e "^flags\\." -e "\\.labels\\.0" >"$TRASH/want"
	jq -r "[paths | map(if type == \"number\" then 0 else . end) | join(\".\")] | unique[]" "$TRASH/body" >"$TRASH/have"
	missing=$(comm -23 "$TRASH/want" "$TRASH/have")
	[ -z "$missing" ] || { echo "keys of the DataDog fixture missing: $missing"; exit 1; }
	jqe "[.frameworks[0].executors[] | (.id == .source) and (.id == .tasks[0].id) and (. as \$e | .name | startswith(\"Command Executor (Task: \" + \$e.id + \") (Command: sh -c \")) and .queued_tasks == [] and .completed_tasks == [] and (.resources.cpus > .tasks[0].resources.cpus) and (.directory | startswith(\"/\"))] | all"
	expect 200 "$AGENT/state"
	jqe ".id == \"$SLAVE\""
	expect 404 "$AGENT/slave(1)/state.json"
	expect 404 "$MASTER/master/state.json"
'

knobs '{"log_lines_per_second":0}'
sleep 0.3

test_expect_success '/files/read size probe: offset absent or -1 -> {"data":"","offset":SIZE}, keys sorted' '
	size=$(stat -c %s "$DIR/stdout")
	[ "$size" -gt 0 ]
	expect 200 "$AGENT/files/read?path=$DIR/stdout"
	hdr Content-Type application/json
	body_is "{\"data\":\"\",\"offset\":$size}"
	expect 200 "$AGENT/files/read?path=$DIR/stdout&offset=-1"
	body_is "{\"data\":\"\",\"offset\":$size}"
	expect 200 "$AGENT/files/read?path=$DIR/stdout&offset=-1&length=100"
	body_is "{\"data\":\"\",\"offset\":$size}"
	expect 200 "$AGENT/files/read?path=$VIRT/stdout&offset=-1"
	body_is "{\"data\":\"\",\"offset\":$size}"
'

test_expect_success '/files/read: 64 KiB cap whatever the length, offset echoed, EOF forms' '
	ctl /_emu/tasks/log "{\"taskId\":\"$TASK\",\"stream\":\"stderr\",\"fill_bytes\":300000}" >/dev/null
	f=$DIR/stderr
	size=$(stat -c %s "$f")
	[ "$size" -ge 300000 ]
	expect 200 "$AGENT/files/read?path=$f&offset=0"
	check_eq 65536 "$(jq -j .data "$TRASH/body" | wc -c)" "bytes without length"
	jqe ".offset == 0"
	expect 200 "$AGENT/files/read?path=$f&offset=0&length=200000"
	check_eq 65536 "$(jq -j .data "$TRASH/body" | wc -c)" "bytes with length 200000"
	expect 200 "$AGENT/files/read?path=$f&offset=0&length=-1"
	check_eq 65536 "$(jq -j .data "$TRASH/body" | wc -c)" "bytes with length -1"
	expect 200 "$AGENT/files/read?path=$f&offset=1000&length=50"
	jqe ".offset == 1000"
	jq -j .data "$TRASH/body" >"$TRASH/got"
	dd if="$f" bs=1 skip=1000 count=50 status=none | cmp - "$TRASH/got"
	expect 200 "$AGENT/files/read?path=$f&offset=0x10&length=4"
	jqe ".offset == 16"
	expect 200 "$AGENT/files/read?path=$f&offset=$((size - 5))"
	jqe ".offset == $((size - 5)) and (.data | length) == 5"
	expect 200 "$AGENT/files/read?path=$f&offset=$size"
	body_is "{\"data\":\"\",\"offset\":$size}"
	expect 200 "$AGENT/files/read?path=$f&offset=$((size + 1000))&length=10"
	body_is "{\"data\":\"\",\"offset\":$((size + 1000))}"
	expect 200 "$AGENT/files/read?path=$f&offset=10&length=0"
	body_is "{\"data\":\"\",\"offset\":10}"
	read_all "$AGENT" "$f" "$TRASH/whole"
	cmp "$f" "$TRASH/whole"
'

test_expect_success '/files/read, /files/browse, /files/download: the 400 texts' '
	for ep in read browse download; do
		expect 400 "$AGENT/files/$ep"
		body_is "Expecting '"'"'path=value'"'"' in query.\\n"
		hdr Content-Type "text/plain; charset=utf-8"
		expect 400 "$AGENT/files/$ep?path="
		body_is "Expecting '"'"'path=value'"'"' in query.\\n"
	done
	expect 400 "$AGENT/files/read?path=$DIR/stdout&offset=-2"
	body_is "Negative offset provided: -2.\\n"
	expect 400 "$AGENT/files/read?path=$DIR/stdout&offset=abc"
	body_is "Failed to parse offset: Failed to convert '"'"'abc'"'"' to number.\\n"
	expect 400 "$AGENT/files/read?path=$DIR/stdout&offset=1.5"
	body_is "Failed to parse offset: Failed to convert '"'"'1.5'"'"' to number.\\n"
	expect 400 "$AGENT/files/read?path=$DIR/stdout&offset=0&length=-5"
	body_is "Negative length provided: -5.\\n"
	expect 400 "$AGENT/files/read?path=$DIR/stdout&length=x"
	body_is "Failed to parse length: Failed to convert '"'"'x'"'"' to number.\\n"
	expect 400 "$AGENT/files/read?path=$DIR"
	body_is "Cannot read a directory.\\n"
	expect 400 "$AGENT/files/read?path=$VIRT/conf&offset=0"
	body_is "Cannot read a directory.\\n"
	expect 400 "$AGENT/files/download?path=$DIR/conf"
	body_is "Cannot download a directory.\\n"
'

test_expect_success 'escapes: .. and symlinks out of a sandbox are 400 inaccessible; unknown paths 404' '
	expect 400 "$AGENT/files/read?path=$DIR/..&offset=0"
	body_is "'"'"'$DIR/..'"'"' is inaccessible.\\n"
	expect 400 "$AGENT/files/browse?path=$VIRT/../../.."
	body_is "'"'"'$DIR/../../..'"'"' is inaccessible.\\n"
	ln -s /etc "$DIR/etc-link"
	expect 400 "$AGENT/files/read?path=$DIR/etc-link/passwd&offset=0"
	body_is "'"'"'$DIR/etc-link/passwd'"'"' is inaccessible.\\n"
	rm "$DIR/etc-link"
	expect 404 "$AGENT/files/read?path=$DIR/../nonexistent&offset=0"
	expect 404 "$AGENT/files/read?path=$DIR/nope&offset=0"
	check_eq 0 "$(stat -c %s "$TRASH/body")" "404 body length"
	expect 404 "$AGENT/files/read?path=/etc/passwd&offset=0"
	expect 404 "$AGENT/files/browse?path=/"
	expect 404 "$AGENT/files/download?path=$DIR/nope"
	expect 404 "$AGENT/files/read?path=$DIR/stdout/x&offset=0"
	expect 404 "$MASTER/files/read?path=$DIR/stdout"
'

test_expect_success '/files/browse: entries sorted by name, ls -l modes, requested path kept (virtual too); a file gives []' '
	expect 200 "$AGENT/files/browse?path=$DIR"
	jqe "[.[].path] == [\"$DIR/conf\",\"$DIR/stderr\",\"$DIR/stdout\"]"
	jqe "[.[] | keys == [\"gid\",\"mode\",\"mtime\",\"nlink\",\"path\",\"size\",\"uid\"]] | all"
	jqe ".[0].mode | test(\"^d[r-][w-][x-][r-][w-][x-][r-][w-][x-]$\")"
	jqe ".[2].mode | test(\"^-[r-][w-][x-][r-][w-][x-][r-][w-][x-]$\")"
	jqe "(.[2].size | type) == \"number\" and (.[2].mtime | type) == \"number\" and (.[2].nlink | type) == \"number\" and (.[2].uid | type) == \"string\""
	check_eq "$(stat -c %s "$DIR/stdout")" "$(jq ".[2].size" "$TRASH/body")" "stdout size"
	check_eq "$(stat -c %Y "$DIR/stdout")" "$(jq ".[2].mtime" "$TRASH/body")" "stdout mtime"
	check_eq "$(stat -c %U "$DIR/stdout")" "$(jq -r ".[2].uid" "$TRASH/body")" "stdout uid"
	grep -qE "\"mtime\":[0-9]+\\.0," "$TRASH/body"
	expect 200 "$AGENT/files/browse?path=$VIRT/"
	jqe "[.[].path] == [\"$VIRT/conf\",\"$VIRT/stderr\",\"$VIRT/stdout\"]"
	expect 200 "$AGENT/files/browse?path=$VIRT/conf"
	jqe "[.[].path] == [\"$VIRT/conf/app.properties\"]"
	expect 200 "$AGENT/files/browse?path=$DIR/stdout"
	body_is "[]"
'

test_expect_success '/files/download: the bytes of the file, attachment; /files/debug lists the roots' '
	expect 200 "$AGENT/files/download?path=$DIR/stdout"
	cmp "$DIR/stdout" "$TRASH/body"
	hdr Content-Disposition "attachment; filename=stdout"
	hdr Content-Type application/octet-stream
	expect 200 "$AGENT/files/download?path=$VIRT/conf/app.properties"
	cmp "$DIR/conf/app.properties" "$TRASH/body"
	grep -qx "task.id=$TASK" "$TRASH/body"
	expect 200 "$AGENT/files/debug"
	jqe ".[\"$DIR\"] == \"$DIR\" and .[\"$VIRT\"] == \"$DIR\""
	jqe "keys == (keys | sort) and ([.[]] | all(startswith(\"$ROOT/slaves/$SLAVE/\")))"
	expect 200 "$MASTER/files/debug"
	body_is "{}"
'

test_expect_success 'non-UTF-8 bytes go into the JSON string raw; control characters escaped as stout does' '
	f=$DIR/stdout
	off=$(stat -c %s "$f")
	ctl /_emu/tasks/log "{\"taskId\":\"$TASK\",\"stream\":\"stdout\",\"append\":\"caf\\udce9 \\udcff\\n\"}" >/dev/null
	expect 200 "$AGENT/files/read?path=$f&offset=$off"
	od -An -tx1 "$TRASH/body" | tr -s " \n" " " >"$TRASH/hex"
	grep -q " 63 61 66 e9 20 ff 5c 6e " "$TRASH/hex" || { cat "$TRASH/hex"; exit 1; }
	if iconv -f UTF-8 -t UTF-8 "$TRASH/body" >/dev/null 2>&1; then
		echo "the body is valid UTF-8"; exit 1
	fi
	off=$(stat -c %s "$f")
	b64=$(printf "a\\tb\\001c\\042d\\134e/f\\177\\r\\n" | base64 -w0)
	ctl /_emu/tasks/log "{\"taskId\":\"$TASK\",\"stream\":\"stdout\",\"append_base64\":\"$b64\"}" >/dev/null
	expect 200 "$AGENT/files/read?path=$f&offset=$off"
	body_is "{\"data\":\"a\\\\tb\\\\u0001c\\\\\"d\\\\\\\\e\\\\/f\\\\u007f\\\\r\\\\n\",\"offset\":$off}"
'

test_expect_success 'log growth: whole lines "<task> stdout <N>" in order at log_lines_per_second' '
	knobs "{\"log_lines_per_second\":10}"
	n0=$(grep -ac "^$TASK stdout " "$DIR/stdout")
	sleep 2
	# stdout holds the raw bytes of the test above: download it whole
	curl -gsS -o "$TRASH/out" "$AGENT/files/download?path=$DIR/stdout"
	read_all "$AGENT" "$DIR/stderr" "$TRASH/err"
	n1=$(grep -ac "^$TASK stdout " "$TRASH/out")
	grown=$((n1 - n0))
	[ "$grown" -ge 12 ] && [ "$grown" -le 30 ] || { echo "grew by $grown lines in 2 s at 10/s"; exit 1; }
	grep -a "^$TASK stdout " "$TRASH/out" | awk -v t="$TASK" "{ if (\$1 != t || \$2 != \"stdout\" || \$3 != NR) { print \"line \" NR \": \" \$0; bad = 1 } } END { exit bad }"
	grep -a "^$TASK stderr " "$TRASH/err" | awk "{ if (\$3 != NR) { print \"line \" NR \": \" \$0; bad = 1 } } END { exit bad }"
	check_eq "" "$(tail -c 1 "$TRASH/out" | tr -d "\n")" "ends with a newline"
	other=$(emu /v2/tasks | jq -r "[.tasks[] | select(.slaveId == \"$OTHER_AGENT\")][0].id")
	f2=$(disk_file "$other" stderr)
	grep -q "^$other stderr 1\$" "$f2"
	knobs "{\"log_lines_per_second\":0}"
	sleep 0.3
	s1=$(stat -c %s "$DIR/stdout"); sleep 0.6; s2=$(stat -c %s "$DIR/stdout")
	check_eq "$s1" "$s2" "size with log_lines_per_second 0"
'

test_expect_success 'fill_bytes: 200 MB of "fill <k>" lines in seconds, readable at any offset' '
	t0=$(date +%s%N)
	ctl /_emu/tasks/log "{\"taskId\":\"$TASK\",\"stream\":\"stdout\",\"fill_bytes\":200000000}" >"$TRASH/fill.json"
	ms=$((($(date +%s%N) - t0) / 1000000))
	say "200 MB fill took $ms ms"
	[ "$ms" -lt 10000 ]
	jq -e ".written == 200000000" "$TRASH/fill.json" >/dev/null
	f=$DIR/stdout
	size=$(stat -c %s "$f")
	expect 200 "$AGENT/files/read?path=$f"
	body_is "{\"data\":\"\",\"offset\":$size}"
	expect 200 "$AGENT/files/read?path=$f&offset=123456789"
	jqe ".offset == 123456789 and (.data | length) == 65536"
	jq -j .data "$TRASH/body" >"$TRASH/got"
	dd if="$f" bs=1M iflag=skip_bytes,count_bytes skip=123456789 count=65536 status=none | cmp - "$TRASH/got"
	start=$(grep -an -m1 "^fill 1\$" "$f" | cut -d: -f1)
	tail -n +"$start" "$f" | awk "{ if (\$1 != \"fill\" || \$2 != NR) { print \"line \" NR \": \" \$0; bad = 1; exit } } END { exit bad }"
'

test_expect_success 'a killed task: TASK_KILLED in Mesos, in completed_tasks and completed_executors, sandbox readable, no more growth' '
	knobs "{\"log_lines_per_second\":20}"
	expect 200 "$ARCHONFS_MARATHON/v2/apps/synth/g00/app0003/tasks/$TASK" -X DELETE
	expect 200 "$MASTER/master/tasks?task_id=$TASK"
	jqe ".tasks | length == 1 and .[0].state == \"TASK_KILLED\" and ([.[0].statuses[].state] == [\"TASK_RUNNING\",\"TASK_KILLED\"])"
	expect 200 "$MASTER/master/state"
	jqe "[.frameworks[0].completed_tasks[] | select(.id == \"$TASK\")] | length == 1"
	jqe "[.frameworks[0].tasks[] | select(.id == \"$TASK\")] | length == 0"
	expect 200 "$AGENT/slave(1)/state"
	jqe "[.frameworks[0].completed_executors[] | select(.id == \"$TASK\") | .directory == \"$DIR\" and .tasks == [] and .completed_tasks[0].state == \"TASK_KILLED\"] == [true]"
	jqe "[.frameworks[0].executors[] | select(.id == \"$TASK\")] == []"
	s1=$(stat -c %s "$DIR/stderr"); sleep 0.5
	expect 200 "$AGENT/files/read?path=$DIR/stderr"
	body_is "{\"data\":\"\",\"offset\":$s1}"
	expect 200 "$AGENT/files/read?path=$VIRT/stderr&offset=7&length=9"
	jq -j .data "$TRASH/body" >"$TRASH/got"
	dd if="$DIR/stderr" bs=1 skip=7 count=9 status=none | cmp - "$TRASH/got"
	knobs "{\"log_lines_per_second\":0}"
'

test_expect_success 'scale down, restart, app delete and /_emu/tasks/fail end Mesos tasks (KILLED, FAILED)' '
	emu /v2/apps/synth/g00/app0004/tasks | jq -r ".tasks[].id" >"$TRASH/a4"
	emu /v2/apps/synth/g00/app0005/tasks | jq -r ".tasks[].id" >"$TRASH/a5"
	emu /v2/apps/synth/g00/app0006/tasks | jq -r ".tasks[].id" >"$TRASH/a6"
	victim=$(emu /v2/apps/synth/g00/app0007/tasks | jq -r ".tasks[0].id")
	expect 200 "$ARCHONFS_MARATHON/v2/apps/synth/g00/app0004" -X PUT -H "Content-Type: application/json" -d "{\"instances\":2}"
	expect 200 "$ARCHONFS_MARATHON/v2/apps/synth/g00/app0005/restart" -X POST
	expect 200 "$ARCHONFS_MARATHON/v2/apps/synth/g00/app0006" -X DELETE
	ctl /_emu/tasks/fail "{\"taskId\":\"$victim\"}" >/dev/null
	wait_for 10 no_deployments
	sleep 0.5
	expect 200 "$MASTER/master/tasks?limit=1000"
	check_eq 4 "$(jq --rawfile ids "$TRASH/a4" "[.tasks[] | select(.id as \$i | \$ids | split(\"\n\") | index(\$i)) | select(.state == \"TASK_KILLED\")] | length" "$TRASH/body")" "app0004 killed"
	check_eq 6 "$(jq --rawfile ids "$TRASH/a5" "[.tasks[] | select(.id as \$i | \$ids | split(\"\n\") | index(\$i)) | select(.state == \"TASK_KILLED\")] | length" "$TRASH/body")" "app0005 killed"
	check_eq 6 "$(jq --rawfile ids "$TRASH/a6" "[.tasks[] | select(.id as \$i | \$ids | split(\"\n\") | index(\$i)) | select(.state == \"TASK_KILLED\")] | length" "$TRASH/body")" "app0006 killed"
	jqe "[.tasks[] | select(.id == \"$victim\") | .state] == [\"TASK_FAILED\"]"
	running=$(emu /v2/tasks | jq "[.tasks[] | select(.state == \"TASK_RUNNING\")] | length")
	expect 200 "$MASTER/master/state"
	jqe "[.frameworks[0].tasks[] | select(.state == \"TASK_RUNNING\")] | length == $running"
'

test_expect_success 'sandbox gc: the task stays listed, its files are 404' '
	expect 200 "$ARCHONFS_MARATHON/_emu/sandbox/gc" -X POST -d "{\"taskId\":\"$TASK\"}"
	test ! -e "$DIR"
	expect 404 "$AGENT/files/read?path=$DIR/stdout&offset=0"
	expect 404 "$AGENT/files/read?path=$VIRT/stdout"
	expect 404 "$AGENT/files/browse?path=$DIR"
	expect 200 "$AGENT/files/debug"
	jqe "has(\"$DIR\") | not"
	expect 200 "$MASTER/master/tasks?task_id=$TASK"
	jqe ".tasks[0].state == \"TASK_KILLED\""
	expect 200 "$AGENT/slave(1)/state"
	jqe "[.frameworks[0].completed_executors[] | select(.id == \"$TASK\")] | length == 1"
	expect 404 "$ARCHONFS_MARATHON/_emu/sandbox/gc" -X POST -d "{\"taskId\":\"nope\"}"
'

test_expect_success 'agent down: connections refused, master shows it inactive; back up on the same port' '
	knobs "{\"agents\":{\"$SLAVE\":{\"down\":true}}}"
	rc=0; curl -gsS --max-time 3 -o /dev/null "$AGENT/slave(1)/state" 2>"$TRASH/err" || rc=$?
	check_eq 7 "$rc" "curl exit status (connection refused)"
	expect 200 "$MASTER/master/slaves"
	jqe "[.slaves[] | select(.id == \"$SLAVE\") | .active] == [false]"
	emu /_emu/knobs | jq -e ".agents[\"$SLAVE\"].down == true" >/dev/null
	knobs "{\"agents\":{\"$SLAVE\":{\"down\":false}}}"
	expect 200 "$AGENT/slave(1)/state"
	jqe ".id == \"$SLAVE\""
	expect 200 "$MASTER/master/state"
	jqe ".activated_slaves == 2 and ([.slaves[].active] | all)"
	expect 400 "$ARCHONFS_MARATHON/_emu/knobs" -X POST -d "{\"agents\":{\"no-such-agent\":{\"down\":true}}}"
'

test_expect_success 'agent hang: its requests block until the knob is cleared, other agents answer' '
	knobs "{\"agents\":{\"$SLAVE\":{\"hang\":true}}}"
	rc=0; curl -gsS --max-time 1 -o /dev/null "$AGENT/state" 2>/dev/null || rc=$?
	check_eq 28 "$rc" "curl exit status (timeout)"
	other=$(jq -r --arg s "$OTHER_AGENT" ".agents[] | select(.id == \$s) | .url" "$TRASH/mesos.json")
	expect 200 "$other/state"
	( curl -gsS --max-time 10 -o "$TRASH/late" -w "%{http_code}" "$AGENT/state" >"$TRASH/late.code" ) &
	bg=$!
	sleep 0.7
	kill -0 $bg
	knobs "{\"agents\":{\"$SLAVE\":{\"hang\":false}}}"
	wait $bg
	check_eq 200 "$(cat "$TRASH/late.code")" "released request"
	jq -e ".id == \"$SLAVE\"" "$TRASH/late" >/dev/null
'

test_expect_success '/master/tasks: default limit 100, offset, order by first status timestamp, filters' '
	expect 200 "$MASTER/master/tasks"
	jqe ".tasks | length == 100"
	jqe "[.tasks[].statuses[0].timestamp] as \$t | \$t == (\$t | sort | reverse)"
	expect 200 "$MASTER/master/tasks?limit=abc&offset=xyz"
	jqe ".tasks | length == 100"
	expect 200 "$MASTER/master/tasks?order=asc&limit=10"
	jqe "[.tasks[].statuses[0].timestamp] as \$t | (\$t | length) == 10 and \$t == (\$t | sort)"
	jq -c "[.tasks[5:][].id]" "$TRASH/body" >"$TRASH/asc5"
	expect 200 "$MASTER/master/tasks?order=asc&limit=5&offset=5"
	check_eq "$(cat "$TRASH/asc5")" "$(jq -c "[.tasks[].id]" "$TRASH/body")" "offset 5"
	total=$(curl -gsS "$MASTER/master/tasks?limit=100000" | jq ".tasks | length")
	check_eq "$total" "$(curl -gsS "$MASTER/master/state" | jq ".frameworks[0] | (.tasks | length) + (.completed_tasks | length)")" "running + completed"
	[ "$total" -gt 120 ]
	expect 200 "$MASTER/master/tasks?offset=$((total - 3))"
	jqe ".tasks | length == 3"
	expect 200 "$MASTER/master/tasks?framework_id=nope"
	body_is "{\"tasks\":[]}"
	expect 200 "$MASTER/master/tasks?framework_id=$FW&limit=2&order=desc"
	jqe ".tasks | length == 2 and .[0].statuses[0].timestamp >= .[1].statuses[0].timestamp"
'

test_expect_success '/master/redirect: 307 to the leader base URL, protocol-relative (as Mesos 1.x code)' '
	expect 307 "$MASTER/master/redirect"
	hdr Location "//127.0.0.1:$MPORT"
	expect 307 "$MASTER/redirect"
	hdr Location "//127.0.0.1:$MPORT"
	expect 404 "$MASTER/master/redirect/x"
'

test_expect_success 'an agent without running tasks lists the framework in completed_frameworks with its completed executors' '
	expect 200 "$ARCHONFS_MARATHON/v2/groups/synth" -X DELETE
	wait_for 15 no_deployments
	for a in $(jq -r ".agents[].url" "$TRASH/mesos.json"); do
		expect 200 "$a/slave(1)/state"
		jqe ".frameworks == [] and (.completed_frameworks | length) == 1 and .completed_frameworks[0].id == \"$FW\" and (.completed_frameworks[0].completed_executors | length) > 0 and .completed_frameworks[0].executors == []"
	done
	expect 200 "$MASTER/master/state"
	jqe ".frameworks[0].tasks == [] and (.frameworks[0].completed_tasks | length) > 100"
	expect 201 "$ARCHONFS_MARATHON/v2/apps" -X POST -H "Content-Type: application/json" -d "{\"id\":\"/again\",\"cmd\":\"sleep 1000\",\"instances\":1}"
	wait_for 10 no_deployments
	t=$(emu /v2/apps/again/tasks | jq -r ".tasks[0].id")
	s=$(emu /v2/apps/again/tasks | jq -r ".tasks[0].slaveId")
	a=$(jq -r --arg s "$s" ".agents[] | select(.id == \$s) | .url" "$TRASH/mesos.json")
	expect 200 "$a/slave(1)/state"
	jqe ".completed_frameworks == [] and .frameworks[0].executors[0].id == \"$t\" and (.frameworks[0].completed_executors | length) > 0"
'

test_expect_success '/_emu/mesos/requests and /_emu/mesos/stats record what the master and agents received' '
	emu /_emu/mesos/requests -X DELETE >/dev/null
	curl -gsS -o /dev/null "$MASTER/master/slaves"
	curl -gsS -o /dev/null "$AGENT/files/debug"
	emu /_emu/mesos/requests >"$TRASH/body"
	jqe "[.[] | [.server, .method, .path]] == [[\"master\",\"GET\",\"/master/slaves\"],[\"$SLAVE\",\"GET\",\"/files/debug\"]]"
	emu /_emu/mesos/stats >"$TRASH/body"
	jqe ".total == 2 and .by_route[\"master GET /master/slaves\"] == 1 and .by_route[\"agent GET /files/debug\"] == 1 and ([.by_client[]] | add) == 2"
'

test_done
