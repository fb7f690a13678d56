# tests/lib.sh: the shell test library every tests/tNNNN-*.sh sources.
#
# It gives a test script git-style assertions and the fixtures it needs:
# a private scratch directory, the local cluster (tests/cluster) and an
# archonfs mount.  Every fixture a script starts is stopped by the EXIT trap,
# so a failing or interrupted test leaves no process or mount behind.
#
# What it does not do: skip.  A test that needs a server starts it; a missing
# tool is a failure, reported as such.
#
# Output is TAP-like, one line per assertion ("ok N - what" / "not ok N -
# what"); tests/run counts those lines.

set -u

TEST_NAME=$(basename "$0" .sh)
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
TESTS=$SRCDIR/tests
ARCHONFS=${ARCHONFS:-$SRCDIR/archonfs}
PY=/usr/bin/python3		# Debian's interpreter: sees python3-* packages
export PYTHONDONTWRITEBYTECODE=1

test_count=0
test_failed=0
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/archonfs-$TEST_NAME.XXXXXX")
CLUSTER_DIR=
# The mount point and the daemon's pid live in files, so a mount made
# inside a test body (a subshell) is still unmounted by the EXIT trap.
MNT=$TRASH/mnt
PIDFILE=$TRASH/.archonfs.pid

say() { printf '# %s\n' "$*"; }

# test_expect_success 'what it shows' 'shell commands'
# Lines the body prints starting with "# " are kept in the log even when
# it passes (figures a test measured).
# Runs the commands in a subshell with set -e: any failing command fails the
# assertion, and nothing it sets leaks into the next one (use files in
# $TRASH to pass results on).
test_expect_success() {
	test_count=$((test_count + 1))
	local desc=$1 body=$2 out rc
	out=$TRASH/.out.$test_count
	( set -e; eval "$body" ) >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $test_count - $desc"
		# A body's "# ..." lines are notes (measurements): keep them.
		grep '^# ' "$out"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $desc"
		sed -e 's/^/#   /' "$out" | tail -n 40
	fi
	return 0
}

# test_expect_failure is deliberately absent: a known bug is either fixed or
# reported as failing, never silently accepted.

test_done() {
	echo "1..$test_count"
	if [ "$test_failed" -ne 0 ]; then
		say "failed $test_failed of $test_count in $TEST_NAME"
		exit 1
	fi
	exit 0
}

# --- assertion helpers (each prints why it failed) -------------------------

# expect_errno ERRNO-NAME cmd...: run cmd, require failure whose stderr
# contains the strerror text of that errno.
expect_errno() {
	local name=$1; shift
	local text
	text=$($PY -c "import errno,os,sys; print(os.strerror(errno.$name))")
	if "$@" 2>"$TRASH/.errno" >/dev/null; then
		echo "expected $name from: $*, but it succeeded"
		return 1
	fi
	if ! grep -qF "$text" "$TRASH/.errno"; then
		echo "expected '$text' from: $*; got:"
		cat "$TRASH/.errno"
		return 1
	fi
}

# check_eq WANT GOT [what]
check_eq() {
	if [ "$1" != "$2" ]; then
		echo "${3:-value}: want '$1', got '$2'"
		return 1
	fi
}

# check_file_has FILE REGEX
check_file_has() {
	if ! grep -qE "$2" "$1"; then
		echo "$1 does not match /$2/; it holds:"
		head -n 40 "$1"
		return 1
	fi
}

# --- fixtures ---------------------------------------------------------------

# start_cluster [cluster options...]: tests/cluster start into $TRASH/cluster
# and source its env file (ARCHONFS_MARATHON, ...).
start_cluster() {
	CLUSTER_DIR=$TRASH/cluster
	"$TESTS/cluster" start "$CLUSTER_DIR" "$@" >"$TRASH/cluster.log" 2>&1 || {
		echo "tests/cluster start failed:"; cat "$TRASH/cluster.log"; return 1; }
	. "$CLUSTER_DIR/env"
}

stop_cluster() {
	[ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ] &&
		"$TESTS/cluster" stop "$CLUSTER_DIR" >>"$TRASH/cluster.log" 2>&1
	CLUSTER_DIR=
}

# emu PATH [curl args...]: talk to the Marathon emulator directly (the
# cluster's own API, never through the mount).
emu() {
	local path=$1; shift
	curl -sS --max-time 10 "$@" "$ARCHONFS_MARATHON$path"
}

# mount_archonfs [archonfs options...]: mount at $MNT in the foreground
# (backgrounded here) and wait until the root answers.
mount_archonfs() {
	local i pid
	mkdir -p "$MNT"
	"$ARCHONFS" -f "$@" "$MNT" >>"$TRASH/archonfs.log" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDFILE"
	for i in $(seq 1 100); do
		if grep -qs " $MNT fuse" /proc/mounts && [ -e "$MNT/README" ]; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "archonfs exited during mount:"; cat "$TRASH/archonfs.log"
			rm -f "$PIDFILE"
			return 1
		fi
		sleep 0.05
	done
	echo "archonfs did not mount within 5 s:"; cat "$TRASH/archonfs.log"
	return 1
}

archonfs_pid() { cat "$PIDFILE" 2>/dev/null; }

umount_archonfs() {
	local i pid
	pid=$(archonfs_pid)
	if grep -qs " $MNT fuse" /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ -n "$pid" ]; then
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null
			sleep 0.2
		fi
	fi
	rm -f "$PIDFILE"
}

# A sanitizer report from the daemon is a failure of the test that ran it.
check_daemon_log() {
	if grep -qsE "(Address|UndefinedBehavior|Leak)Sanitizer|runtime error:" \
	    "$TRASH/archonfs.log"; then
		echo "not ok - $TEST_NAME: sanitizer report from archonfs"
		grep -E -A 30 "Sanitizer|runtime error:" "$TRASH/archonfs.log" |
			head -n 60 | sed "s/^/#   /"
	fi
}

cleanup() {
	umount_archonfs
	check_daemon_log
	stop_cluster
	if grep -qs " $TRASH/" /proc/mounts; then
		# Never let rm walk into a live mount: it would change the cluster.
		say "a mount is still present under $TRASH; not removing it"
	elif [ "${KEEP_TRASH:-}" = "" ]; then
		rm -rf --one-file-system "$TRASH"
	else
		say "kept $TRASH"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the Marathon emulator's test-only control API (never used by archonfs) --

emu_reset() { emu /_emu/requests -X DELETE >/dev/null; }

# emu_writes: how many requests other than GET the emulator received since
# the last emu_reset (what archonfs sent to change the cluster).
emu_writes() {
	emu /_emu/requests | jq '[.[] | select(.method != "GET")] | length'
}

# emu_count 'GET /v2/apps': requests of that route since the last reset.
emu_count() {
	emu /_emu/stats | jq --arg r "$1" '.by_route[$r] // 0'
}

emu_knobs() { emu /_emu/knobs -X POST -H 'Content-Type: application/json' -d "$1" >/dev/null; }

# emu_app ID: the app as Marathon stores it (GET /v2/apps/ID -> .app).
emu_app() { emu "/v2/apps${1}" | jq '.app'; }

# wait_for SECONDS cmd...: retry cmd every 0.1 s until it succeeds.
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

# no_deployments: true when Marathon runs no deployment.
no_deployments() { [ "$(emu /v2/deployments | jq length)" = 0 ]; }

# sandbox_dir TASK: the task's sandbox on the agent's disk (the emulator's
# agents keep real sandboxes under the cluster directory): what it serves.
sandbox_dir() {
	local url
	for url in $(emu /_emu/mesos | jq -r '.agents[].url'); do
		curl -s "$url/slave(1)/state" | jq -r --arg t "$1" \
			'[.frameworks[], .completed_frameworks[]?] | .[] |
			 (.executors + .completed_executors)[] | select(.id == $t) | .directory'
	done | head -n 1
}

# append TASK STREAM TEXT: exact bytes into the task's log, as the task.
append() {
	emu /_emu/tasks/log -X POST -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg t "$1" --arg s "$2" --arg x "$3" '{taskId: $t, stream: $s, append: $x}')" >/dev/null
}
