#!/bin/bash
# t9100: `make demo`, as a newcomer runs it, headless.  It starts make demo
# in the background in its own process group (as a terminal's foreground job
# is), with the mount point and state directory under $TRASH and a timeout;
# waits for the mount and the printed tour; runs the tour's commands as
# printed, from inside the mount, and checks each result against the cluster
# itself (the emulator's API, ZooKeeper, kcat); sends SIGINT to the group,
# as Ctrl-C does; and checks that every process the demo started is gone and
# nothing is mounted.  A second demo, started over the leftovers of a killed
# one (stale mount, state directory with dead pids), must come up too.
. "$(dirname "$0")/lib.sh"

STATE=$TRASH/demo
CLUSTER_DIR=$STATE/cluster	# lib.sh's cleanup stops it if the demo did not
SAN=
[ -e "$SRCDIR/.build-san" ] && SAN=SANITIZE=1

# start_demo: make demo in the background, its own process group (set -m),
# SIGINT'd by timeout after 100 s whatever happens.
start_demo() {
	set -m
	DEMO_MNT=$MNT DEMO_STATE=$STATE timeout -s INT 100 \
		make -C "$SRCDIR" --no-print-directory demo $SAN >"$TRASH/demo.log" 2>&1 &
	echo $! >"$TRASH/demo.pid"
	set +m
}

# alive PID: it runs (a zombie, dead but not yet reaped by its parent, does not).
alive() {
	kill -0 "$1" 2>/dev/null && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

demo_alive() { alive "$(cat "$TRASH/demo.pid" 2>/dev/null)"; }

# wait_demo: until the tour is printed and the mount answers (60 s).
wait_demo() {
	local i
	for i in $(seq 1 600); do
		grep -q "Ctrl-C here unmounts" "$TRASH/demo.log" &&
			grep -qs " $MNT fuse" /proc/mounts && [ -e "$MNT/README" ] && return 0
		demo_alive || break
		sleep 0.1
	done
	echo "the demo did not come up; its output:"; cat "$TRASH/demo.log"
	return 1
}

# interrupt: Ctrl-C to the demo's process group; wait (30 s) for it to end.
interrupt() {
	local pid i
	pid=$(cat "$TRASH/demo.pid" 2>/dev/null) || return 0
	kill -INT -- "-$pid" 2>/dev/null
	for i in $(seq 1 300); do
		alive "$pid" || return 0
		sleep 0.1
	done
	echo "the demo (pid $pid) is still running 30 s after SIGINT; its output:"
	cat "$TRASH/demo.log"
	return 1
}

# record_pids: every process the demo runs, before it is stopped: the
# fixtures and archonfs by their pid files, plus the process group.
record_pids() {
	cat "$STATE"/cluster/*.pid "$STATE/archonfs.pid" >"$TRASH/pids" &&
	pgrep -g "$(cat "$TRASH/demo.pid")" >>"$TRASH/pids" || true
}

# nothing_left: no recorded pid alive, no process naming $TRASH or working
# in it (the apps' real processes run in their sandboxes), no mount.  It is
# retried for 3 s: an app's sh goes with the emulator at once, but a
# `sleep 2` it had started may end up to 2 s later.
nothing_left() {
	local p bad=0
	for p in $(cat "$TRASH/pids"); do
		if alive "$p"; then
			echo "still running: $p $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)"
			bad=1
		fi
	done
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		if { grep -qaF "$TRASH/" "$p/cmdline" 2>/dev/null ||
		     case $(readlink "$p/cwd" 2>/dev/null) in "$TRASH"/*) true ;; *) false ;; esac; } &&
		   alive "${p#/proc/}"; then
			echo "still running: ${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"
			bad=1
		fi
	done
	if grep -s "$TRASH" /proc/mounts; then bad=1; fi
	return $bad
}

# The demo keeps the daemon's log in its state directory, not where lib.sh looks.
no_sanitizer_report() {
	! grep -E -A 30 "(Address|UndefinedBehavior|Leak)Sanitizer|runtime error:" "$STATE/archonfs.log"
}

demo_cleanup() {
	demo_alive 2>/dev/null && interrupt
	cleanup
}
trap demo_cleanup EXIT

# tour CMD: CMD is a line of the printed tour ("  $ CMD"), and is run in the mount.
tour() {
	grep -qxF "  \$ $1" "$TRASH/demo.log" || { echo "the tour does not print: $1"; return 1; }
	(cd "$MNT" && eval "$1")
}

T0=$(date +%s)
start_demo
wait_demo >"$TRASH/wait.log" 2>&1 || {
	echo "not ok 1 - make demo mounts and prints the tour"; sed 's/^/#   /' "$TRASH/wait.log"
	test_count=1; test_failed=1; test_done; }
. "$STATE/cluster/env"
say "make demo came up in $(($(date +%s) - T0)) s"

test_expect_success 'make demo prints the tour, with cd into the mount first' '
	grep -qxF "  \$ cd $MNT" $TRASH/demo.log &&
	check_eq 15 "$(grep -c "^  \\$ " $TRASH/demo.log)" "tour commands"
'

test_expect_success 'ls: the seeded groups, apps, topics and consumer group' '
	tour "ls apps apps/shop topics groups" >$TRASH/ls &&
	check_eq "analytics shop" "$(ls $MNT/apps | paste -sd" " -)" "ls apps" &&
	check_eq "billing ingest web" "$(ls $MNT/apps/shop | paste -sd" " -)" "ls apps/shop" &&
	check_eq "orders payments reports" "$(ls $MNT/topics | paste -sd" " -)" "ls topics" &&
	grep -qx shop.billing $TRASH/ls
'

test_expect_success 'cat status: web runs 2 healthy instances' '
	tour "cat apps/shop/web/status" >$TRASH/status &&
	check_file_has $TRASH/status "^running: 2$" &&
	check_file_has $TRASH/status "^healthy: 2$"
'

test_expect_success 'echo 3 > instances scales web in Marathon; the deployment shows in deployments/' '
	tour "echo 3 > apps/shop/web/instances" &&
	check_eq 3 "$(emu_app /shop/web | jq .instances)" "instances in Marathon" &&
	tour "cat deployments/*/status" >$TRASH/dep &&
	test -s $TRASH/dep && cat $TRASH/dep &&
	wait_for 15 check_file_has $MNT/apps/shop/web/status "^running: 3$"
'

test_expect_success 'zk/: read the seeded config; echo 40 > pool_size sets the znode' '
	check_eq "postgres://db.shop.local:5432/shop" "$(tour "cat zk/config/shop/web/db_url")" "db_url" &&
	tour "echo 40 > zk/config/shop/web/pool_size" &&
	"$TESTS/zkcli" "$ARCHONFS_ZK" get /config/shop/web/pool_size >$TRASH/zk &&
	check_eq 40 "$(cat $TRASH/zk)" "pool_size in ZooKeeper"
'

test_expect_success 'echo debug > env/LOG_LEVEL redeploys web with it' '
	wait_for 15 no_deployments &&
	tour "echo debug > apps/shop/web/env/LOG_LEVEL" &&
	check_eq debug "$(emu_app /shop/web | jq -r .env.LOG_LEVEL)" "LOG_LEVEL in Marathon"
'

test_expect_success 'consumes/ and consumers/ are links between apps and topics' '
	tour "ls -l apps/shop/web/consumes/ topics/payments/consumers/" >$TRASH/links &&
	grep -q "orders -> ../../../../topics/orders$" $TRASH/links &&
	grep -q "billing -> ../../../apps/shop/billing$" $TRASH/links &&
	grep -q "report -> ../../../apps/analytics/report$" $TRASH/links
'

test_expect_success 'pipeline/edges: the seeded pipeline, declared, configured and observed' '
	tour "cat pipeline/edges" >$TRASH/edges &&
	printf "%b" "from\tto\tkind\tevidence
/analytics/report\treports\tproduces\tdeclared (label archon.produces)
/shop/ingest\torders\tproduces\tdeclared (label archon.produces)
/shop/web\tpayments\tproduces\tdeclared (label archon.produces)
orders\t/shop/web\tconsumes\tdeclared (label archon.consumes)
payments\t/analytics/report\tconsumes\tdeclared (label archon.consumes)
payments\t/shop/billing\tconsumes\tconfigured (zk /config/shop/billing/kafka.topics.in); observed (group shop.billing, lag 2)
" >$TRASH/want && diff $TRASH/want $TRASH/edges
'

test_expect_success 'groups/shop.billing/lag: billing is 2 behind' '
	tour "cat groups/shop.billing/lag" >$TRASH/lag &&
	check_file_has $TRASH/lag "total.*2"
'

test_expect_success 'tail -f an app'"'"'s stdout: what its real processes print, from both instances' '
	grep -qxF "  \$ tail -f apps/shop/ingest/stdout" $TRASH/demo.log &&
	(cd $MNT && timeout 4 tail -n 0 -f apps/shop/ingest/stdout >$TRASH/tail; true) &&
	head -n 3 $TRASH/tail &&
	echo "# $(wc -l <$TRASH/tail) lines in 4 s" &&
	grep -E "^[^ ]+: [0-9:]{8} ingest: order [0-9]+ accepted\$" $TRASH/tail | cut -d: -f1 | sort -u >$TRASH/writers &&
	check_eq 2 "$(wc -l <$TRASH/writers)" "instances whose lines arrived"
'

test_expect_success 'tail -f topics/orders/messages shows a message sent with the printed kcat line' '
	grep -qxF "  \$ tail -f topics/orders/messages" $TRASH/demo.log &&
	send=$(grep -o "echo .order-9.*" $TRASH/demo.log | sed "s/)\\.\$//") &&
	{ (cd $MNT && exec timeout 15 tail -f topics/orders/messages >$TRASH/msgs) & } &&
	sleep 1 && echo "$send" && eval "$send" &&
	wait_for 10 grep -q "order-9" $TRASH/msgs; rc=$?; kill %1 2>/dev/null; wait; test $rc = 0
'

test_expect_success 'mkdir topics/refunds && echo 2 > partitions creates the topic in Kafka' '
	tour "mkdir topics/refunds && echo 2 > topics/refunds/partitions" &&
	kcat -b "$ARCHONFS_KAFKA" -L -t refunds >$TRASH/meta &&
	check_file_has $TRASH/meta "topic \"refunds\" with 2 partitions"
'

test_expect_success '.archonfs/status: marathon, zookeeper and kafka up' '
	tour "cat .archonfs/status" >$TRASH/st && cat $TRASH/st &&
	for b in marathon zookeeper kafka; do grep -iq "$b.*up" $TRASH/st || { echo "$b not up"; exit 1; }; done
'

test_expect_success 'Ctrl-C (SIGINT to the group): the demo unmounts, stops the cluster and archonfs, leaves nothing' '
	record_pids &&
	echo "processes: $(paste -sd" " $TRASH/pids)" &&
	test $(wc -l <$TRASH/pids) -ge 5 &&
	echo interrupting &&
	interrupt && echo checking && wait_for 3 nothing_left && no_sanitizer_report &&
	check_file_has $TRASH/demo.log "stopped; nothing left running"
'

test_expect_success 'after a crash (kill -9: stale mount, dead pids), make demo starts again and cleans up' '
	start_demo && wait_demo && record_pids &&
	kill -KILL $(cat $TRASH/pids) 2>/dev/null; sleep 0.5 &&
	grep -qs " $MNT fuse" /proc/mounts &&
	start_demo && wait_demo && grep -q "unmounting what is mounted" $TRASH/demo.log &&
	check_eq "analytics shop" "$(ls $MNT/apps | paste -sd" " -)" "ls apps" &&
	cat $TRASH/pids >$TRASH/pids.old && record_pids && cat $TRASH/pids.old >>$TRASH/pids &&
	interrupt && wait_for 3 nothing_left
'
say "t9100 took $(($(date +%s) - T0)) s"

test_done
