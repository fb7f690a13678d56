#!/bin/bash
# t4000: Kafka topics and consumer groups as files, against the broker
# fixture (tests/kafka_broker.py, three brokers).  It proves: topics/ lists
# what the brokers have; topic.json, partitions, config/<key>, offsets,
# messages, ctl and groups/ read as the cluster is; echo N > partitions and
# topic.json saved by a program (applied at fsync or close, not at write),
# cp, sed -i or vim grow a topic and set its config overrides (only what
# changed is sent, unchanged text sends nothing), and every bad write (fewer
# partitions, another replication factor, unknown field or config, garbage,
# a value the broker refuses) is EINVAL with words in .error, nothing
# changed; mkdir + partitions or topic.json creates a topic (and nothing
# before that); ctl deletes a topic or resets a config, rm and rmdir never
# delete; messages follows the topic from the open with every byte escaped;
# groups/ shows state, members, committed offsets and lag, linked from each
# topic; librdkafka properties reach the client and secret ones are never
# shown; a bad one stops the mount; with every broker down (in a mount that
# had read the cluster, and in one made while they are down) Kafka files
# answer from what was read at once, or fail within the deadline (ETIMEDOUT,
# or EIO for connections refused) while apps/ answers at once, and all
# comes back when the brokers do.
#
# Not covered: read-only topic configs (mode 0444, refused in topic.json):
# the fixture reports none.
#
# Every change is confirmed with kcat (metadata) or librdkafka's admin API
# (tests/kafka_admin_check.c: configs, group offsets, watermarks) and the
# fixture's request counts, never through the mount alone.
. "$(dirname "$0")/lib.sh"

ADMIN=$TRASH/kafka_admin_check
T=$MNT/topics

kc() { kcat -b "$ARCHONFS_KAFKA" "$@"; }
adm() { "$ADMIN" -t 8000 "$ARCHONFS_KAFKA" "$@"; }
knobs() {
	curl -sSf --max-time 10 -X POST -H 'Content-Type: application/json' \
		-d "$1" "$ARCHONFS_KAFKA_CONTROL/_broker/knobs" >/dev/null
}

# bstats_reset / bwrites: the admin requests that change the cluster
# (CreateTopics, CreatePartitions, AlterConfigs, DeleteTopics, validate-only
# ones included) the brokers received since the reset.
bstats_reset() { curl -sSf --max-time 10 -X DELETE "$ARCHONFS_KAFKA_CONTROL/_broker/stats" >/dev/null; }
bwrites() {
	curl -sSf --max-time 10 "$ARCHONFS_KAFKA_CONTROL/_broker/stats" | jq '[.requests |
		to_entries[] | select(.key | test("/(CreateTopics|CreatePartitions|AlterConfigs|DeleteTopics)$")) |
		.value] | add // 0'
}
no_bwrites() {
	local n
	n=$(bwrites) || return 1
	[ "$n" = 0 ] || {
		echo "the brokers received $n admin writes:"
		curl -sS "$ARCHONFS_KAFKA_CONTROL/_broker/stats"; echo; return 1; }
}

# kafka_topics: the topics kcat -L lists (all topics: never -t NAME, which
# would auto-create NAME), sorted, one a line.
kafka_topics() { kc -L -J | jq -r '.topics[].topic' | sort; }

# nparts TOPIC: its partition count per kcat -L ("absent" if none).
nparts() {
	kc -L -J | jq -r --arg t "$1" \
		'[.topics[] | select(.topic == $t) | .partitions | length] | .[0] // "absent"'
}

# overrides TOPIC: "name=value ..." of its DYNAMIC_TOPIC_CONFIG entries per
# DescribeConfigs (librdkafka's admin API), sorted.
overrides() {
	adm describe-configs topic "$1" >"$TRASH/dc" || { cat "$TRASH/dc"; return 1; }
	grep -qx "resource TOPIC $1 NO_ERROR" "$TRASH/dc" || { cat "$TRASH/dc"; return 1; }
	sed -n 's/^config \([^ ]*\) source=DYNAMIC_TOPIC_CONFIG .*/\1/p' "$TRASH/dc" |
		sort | paste -sd' ' -
}

# config_of TOPIC KEY: "VALUE SOURCE" of one config per DescribeConfigs.
config_of() {
	adm describe-configs topic "$1" |
		sed -n "s/^config $2=\\([^ ]*\\) source=\\([A-Z_]*\\) .*/\\1 \\2/p"
}

# put FILE TEXT: write TEXT to FILE (created or truncated) and close it, as
# an editor saves; says which call failed ("close: Invalid argument").
put() {
	$PY - "$1" "$2" <<-'EOF'
	import os, sys
	path, text = sys.argv[1], sys.argv[2]
	for step in ("open", "write", "close"):
	    try:
	        if step == "open":
	            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	        elif step == "write":
	            os.write(fd, text.encode())
	        else:
	            os.close(fd)
	    except OSError as e:
	        sys.exit("%s: %s" % (step, os.strerror(e.errno)))
	EOF
}

# A writer that stops between its calls: it writes TEXT to FILE, creates
# DIR/written and waits for DIR/go1; fsyncs, creates DIR/synced and waits for
# DIR/go2; closes.  It never forks (a child's exec would close, i.e. flush,
# its descriptor too).
cat >"$TRASH/stepwise.py" <<'EOF'
import os, sys, time
path, text, d = sys.argv[1:4]
def mark(name):
    open(os.path.join(d, name), "w").close()
def wait(name):
    for _ in range(400):
        if os.path.exists(os.path.join(d, name)):
            return
        time.sleep(0.05)
    sys.exit("no %s after 20 s" % name)
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, text.encode())
mark("written"); wait("go1")
try:
    os.fsync(fd)
except OSError as e:
    sys.exit("fsync: " + os.strerror(e.errno))
mark("synced"); wait("go2")
try:
    os.close(fd)
except OSError as e:
    sys.exit("close: " + os.strerror(e.errno))
EOF

# rejected_at_close FILE TEXT: writing TEXT to FILE is EINVAL at close.
rejected_at_close() {
	expect_errno EINVAL put "$1" "$2" || return 1
	grep -q "^close: " "$TRASH/.errno" || {
		echo "EINVAL came before close:"; cat "$TRASH/.errno"; return 1; }
}

# same FILE TEXT: FILE holds exactly TEXT (printf %b).
same() {
	printf '%b' "$2" | cmp -s - "$1" || {
		echo "$1 is not:"; printf '%b' "$2"; echo "it is:"; cat "$1"; return 1; }
}

# timed TAG LIMIT_MS cmd...: run cmd (stdout TAG.out, stderr TAG.err,
# status TAG.rc in $TRASH); fails if it took LIMIT_MS or more.
timed() {
	local tag=$1 limit=$2 t0 ms rc=0
	shift 2
	t0=$(date +%s%N)
	"$@" >"$TRASH/$tag.out" 2>"$TRASH/$tag.err" || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "$rc" >"$TRASH/$tag.rc"
	echo "# $*: status $rc after $ms ms"
	if [ "$ms" -ge "$limit" ]; then
		echo "$* took $ms ms, limit $limit; stderr:"; cat "$TRASH/$tag.err"
		return 1
	fi
}

test_expect_success 'the librdkafka admin checker builds' '
	cc -Wall -Wextra -Werror -O1 -o "$ADMIN" "$TESTS/kafka_admin_check.c" \
		$(pkg-config --cflags --libs rdkafka)
'

# orders first: its partitions p are led by broker p, one replica each.
start_cluster --kafka-brokers 3 --kafka-arg --topics=orders:3,grow:2,conf:1,doomed:1 \
	--kafka-arg --group-min-session-timeout-ms=1000 || {
	echo "not ok 2 - cluster starts"; test_count=2; test_failed=1; test_done; }
emu /v2/apps -X POST -H 'Content-Type: application/json' \
	-d '{"id":"/shop/web","cmd":"sleep 1000","instances":2,"cpus":0.1,"mem":64}' >/dev/null
say "Kafka at $ARCHONFS_KAFKA, control $ARCHONFS_KAFKA_CONTROL"
mount_archonfs --kafka "$ARCHONFS_KAFKA" --marathon "$ARCHONFS_MARATHON" -o timeout=3,ttl=1 || {
	echo "not ok 2 - archonfs mounts"; test_count=2; test_failed=1; test_done; }

# What messages must show (written before any test runs: literal bytes).
cat >"$TRASH/messages.want" <<'EOF'
0/3 my\x20key a b\tc\\d\x01\xffé€\nline2
0/4 k\x01é x
1/3 k1 hello world
2/1 - no key here
EOF

# --- reading ------------------------------------------------------------------

test_expect_success 'topics/ lists the topics kcat -L lists; a topic holds its files' '
	kafka_topics >$TRASH/want && ls $T >$TRASH/got &&
	check_eq "conf doomed grow orders" "$(paste -sd" " $TRASH/want)" "kcat topics" &&
	cmp $TRASH/want $TRASH/got &&
	check_eq ".error config consumers ctl groups messages offsets partitions producers topic.json" \
		"$(ls -A $T/orders | sort | paste -sd" " -)" "files of orders" &&
	test -d $T/orders/config && test -d $T/orders/groups
'

test_expect_success 'topic.json: name, partitions, replication_factor, config {} (no overrides), partition_info' '
	same $T/orders/topic.json "{\n  \"name\": \"orders\",\n  \"partitions\": 3,\n  \"replication_factor\": 1,\n  \"config\": {},\n  \"partition_info\": [\n    {\"partition\": 0, \"leader\": 0, \"replicas\": [0], \"isr\": [0]},\n    {\"partition\": 1, \"leader\": 1, \"replicas\": [1], \"isr\": [1]},\n    {\"partition\": 2, \"leader\": 2, \"replicas\": [2], \"isr\": [2]}\n  ]\n}\n" &&
	kc -L -J | jq -c "[.topics[] | select(.topic == \"orders\") | .partitions[] |
		{partition: .partition, leader: .leader, replicas: [.replicas[].id], isr: [.isrs[].id]}]" >$TRASH/want &&
	jq -c .partition_info $T/orders/topic.json >$TRASH/got && cmp $TRASH/want $TRASH/got
'

test_expect_success 'partitions reads the count and a newline; config/<key> the value and a newline, mode 0644' '
	same $T/orders/partitions "3\n" && same $T/grow/partitions "2\n" &&
	v=$(config_of conf retention.ms) && check_eq "604800000 DEFAULT_CONFIG" "$v" "admin: retention.ms" &&
	same $T/conf/config/retention.ms "604800000\n" &&
	same $T/conf/config/cleanup.policy "delete\n" &&
	check_eq 644 "$(stat -c %a $T/conf/config/retention.ms)" "mode of a writable config" &&
	adm describe-configs topic conf | sed -n "s/^config \([^=]*\)=.*/\1/p" | sort >$TRASH/want &&
	ls $T/conf/config | sort >$TRASH/got && cmp $TRASH/want $TRASH/got
'

test_expect_success 'offsets: low, high and messages per partition, then the total (delete-records moves low)' '
	for p in 0 1 2; do
		for i in $(seq 1 $((p == 0 ? 2 : p == 1 ? 3 : 1))); do echo "m$p-$i"; done |
			kc -P -t orders -p $p || exit 1
	done &&
	curl -sSf -X POST -d "{\"topic\":\"orders\",\"partition\":0,\"offset\":1}" \
		"$ARCHONFS_KAFKA_CONTROL/_broker/delete-records" >/dev/null &&
	check_eq "low 1 high 2" "$(adm watermarks orders 0)" "admin: orders/0" &&
	same $T/orders/offsets "partition\tlow\thigh\tmessages\n0\t1\t2\t1\n1\t0\t3\t3\n2\t0\t1\t1\ntotal\t\t\t5\n"
'

test_expect_success 'messages: empty at open; tail -f shows what is produced after, one escaped line each' '
	printf "before\n" | kc -P -t orders -p 0 &&
	check_eq 0 "$(stat -c %s $T/orders/messages)" "size while nobody reads" &&
	cat $T/orders/messages >$TRASH/m0 && test ! -s $TRASH/m0 &&
	{ tail -n +1 -s 0.2 -f $T/orders/messages >$TRASH/tail.out 2>$TRASH/tail.err &
	  echo $! >$TRASH/tail.pid; } &&
	ok=0 && {
		wait_for 10 sh -c "ls -l /proc/$(cat $TRASH/tail.pid)/fd | grep -q orders/messages" &&
		printf "k1:hello world\n" | kc -P -t orders -p 1 -K: &&
		printf "no key here\n" | kc -P -t orders -p 2 &&
		printf "a b\tc\\\\d\\001\\377é€\nline2" >$TRASH/v1 &&
		kc -P -t orders -p 0 -k "my key" $TRASH/v1 &&
		printf x >$TRASH/v2 && kc -P -t orders -p 0 -k "$(printf "k\\001é")" $TRASH/v2 &&
		wait_for 10 sh -c "test \$(wc -l <$TRASH/tail.out) -ge 4" && sleep 0.5 &&
		LC_ALL=C sort $TRASH/tail.out >$TRASH/got &&
		{ cmp $TRASH/messages.want $TRASH/got || {
			echo "want:"; cat -A $TRASH/messages.want; echo "got:"; cat -A $TRASH/tail.out; false; }; }
	} || ok=1
	kill $(cat $TRASH/tail.pid) 2>/dev/null; wait $(cat $TRASH/tail.pid) 2>/dev/null || true
	cat $TRASH/tail.err
	test $ok = 0
'

# --- partitions, topic.json ---------------------------------------------------------

test_expect_success 'echo 5 > partitions grows the topic (kcat -L); the same number sends nothing' '
	bash -c "echo 5 >$T/grow/partitions" &&
	check_eq 5 "$(nparts grow)" "kcat: partitions of grow" &&
	same $T/grow/partitions "5\n" &&
	bstats_reset && bash -c "echo 5 >$T/grow/partitions" && no_bwrites &&
	check_eq 5 "$(nparts grow)" "kcat: partitions of grow"
'

test_expect_success 'partitions: fewer is EINVAL (Kafka cannot remove partitions); 0, -3, abc are EINVAL; nothing sent' '
	bstats_reset &&
	expect_errno EINVAL bash -c "echo 3 >$T/grow/partitions" &&
	check_file_has $T/grow/.error "Kafka cannot remove partitions" &&
	expect_errno EINVAL bash -c "echo 0 >$T/grow/partitions" &&
	expect_errno EINVAL bash -c "echo -3 >$T/grow/partitions" &&
	expect_errno EINVAL bash -c "echo abc >$T/grow/partitions" &&
	no_bwrites && check_eq 5 "$(nparts grow)" "kcat: partitions of grow" &&
	same $T/grow/partitions "5\n"
'

test_expect_success 'topic.json saved: more partitions and config overrides applied at close (kcat, DescribeConfigs), read back' '
	put $T/grow/topic.json "{\"partitions\": 6, \"config\": {\"retention.ms\": \"3600000\", \"cleanup.policy\": \"compact\"}}" &&
	check_eq 6 "$(nparts grow)" "kcat: partitions of grow" &&
	check_eq "cleanup.policy=compact retention.ms=3600000" "$(overrides grow)" "admin: overrides" &&
	jq -e ".partitions == 6 and .replication_factor == 1 and (.partition_info | length) == 6 and
		.config == {\"cleanup.policy\": \"compact\", \"retention.ms\": \"3600000\"}" $T/grow/topic.json &&
	check_file_has $T/grow/topic.json "^    \"retention.ms\": \"3600000\",?\$"
'

test_expect_success 'topic.json without "config" leaves the configs; with it, a key left out goes back to its default' '
	put $T/grow/topic.json "{\"partitions\": 7}" &&
	check_eq 7 "$(nparts grow)" "kcat: partitions of grow" &&
	check_eq "cleanup.policy=compact retention.ms=3600000" "$(overrides grow)" "admin: overrides untouched" &&
	put $T/grow/topic.json "{\"config\": {\"retention.ms\": \"7200000\"}}" &&
	check_eq "retention.ms=7200000" "$(overrides grow)" "admin: overrides exactly as written" &&
	check_eq "delete DEFAULT_CONFIG" "$(config_of grow cleanup.policy)" "admin: cleanup.policy" &&
	check_eq 7 "$(nparts grow)" "kcat: partitions of grow"
'

test_expect_success 'topic.json written back unchanged (cp) sends nothing' '
	cat $T/grow/topic.json >$TRASH/tj && jq -e .config $TRASH/tj >/dev/null &&
	bstats_reset && cp $TRASH/tj $T/grow/topic.json && no_bwrites &&
	check_eq 7 "$(nparts grow)" "kcat: partitions of grow" &&
	check_eq "retention.ms=7200000" "$(overrides grow)" "admin: overrides"
'

test_expect_success 'sed -i on topic.json (temp file renamed over it) applies the edit; no temp file left' '
	sed -i "s/\"7200000\"/\"1800000\"/; s/\"partitions\": 7,/\"partitions\": 8,/" $T/grow/topic.json &&
	check_eq 8 "$(nparts grow)" "kcat: partitions of grow" &&
	check_eq "retention.ms=1800000" "$(overrides grow)" "admin: overrides" &&
	! ls -A $T/grow | grep -q "^sed"
'

test_expect_success 'topic.json is applied at fsync, not at write(); the close after it sends nothing more' '
	bstats_reset && rm -f $TRASH/written $TRASH/synced $TRASH/go1 $TRASH/go2 &&
	{ $PY $TRASH/stepwise.py $T/grow/topic.json "{\"partitions\": 9}" $TRASH >$TRASH/sw.out 2>&1 &
	  echo $! >$TRASH/sw.pid; } &&
	ok=0 && {
		wait_for 10 test -e $TRASH/written &&
		check_eq 8 "$(nparts grow)" "kcat: partitions after write(), before fsync" &&
		touch $TRASH/go1 && wait_for 10 test -e $TRASH/synced &&
		check_eq 9 "$(nparts grow)" "kcat: partitions after fsync, before close" &&
		check_eq 1 "$(bwrites)" "admin writes after fsync"
	} || ok=1
	touch $TRASH/go1 $TRASH/go2
	wait $(cat $TRASH/sw.pid) || ok=1
	cat $TRASH/sw.out
	test $ok = 0 && check_eq 1 "$(bwrites)" "admin writes after close" &&
	check_eq 9 "$(nparts grow)" "kcat: partitions after close"
'

test_expect_success 'vim on topic.json saves the edit once; no backup or swap file left' '
	bstats_reset &&
	vim -es -u NONE -N -c "set backupskip=" -c "%s/\"1800000\"/\"900000\"/" -c wq $T/grow/topic.json &&
	check_eq "retention.ms=900000" "$(overrides grow)" "admin: overrides" &&
	check_eq 1 "$(bwrites)" "admin writes" && check_eq 9 "$(nparts grow)" "kcat: partitions of grow" &&
	! ls -A $T/grow | grep -qE "~\$|\.sw.\$|^4913\$"
'

test_expect_success 'topic.json refused at close (EINVAL), nothing sent, words in .error, text in topic.json.rejected' '
	bstats_reset &&
	rejected_at_close $T/grow/topic.json "{\"partitions\": 2}" &&
	check_file_has $T/grow/.error "Kafka cannot remove partitions" &&
	same $T/grow/topic.json.rejected "{\"partitions\": 2}" &&
	rejected_at_close $T/grow/topic.json "{\"partitions\": 9, \"replication_factor\": 2}" &&
	check_file_has $T/grow/.error "replication factor" &&
	same $T/grow/topic.json.rejected "{\"partitions\": 9, \"replication_factor\": 2}" &&
	rejected_at_close $T/grow/topic.json "{\"partitions\": 9, \"colour\": \"red\"}" &&
	check_file_has $T/grow/.error "colour" &&
	rejected_at_close $T/grow/topic.json "{\"config\": {\"retention.ms\": \"900000\", \"no.such\": \"1\"}}" &&
	check_file_has $T/grow/.error "no\.such" &&
	rejected_at_close $T/grow/topic.json "{\"partitions\": 10, " &&
	check_file_has $T/grow/.error "JSON" &&
	same $T/grow/topic.json.rejected "{\"partitions\": 10, " &&
	no_bwrites &&
	check_eq 9 "$(nparts grow)" "kcat: partitions of grow" &&
	check_eq "retention.ms=900000" "$(overrides grow)" "admin: overrides" &&
	jq -e ".partitions == 9" $T/grow/topic.json >/dev/null
'

# --- config/ and ctl ------------------------------------------------------------------

test_expect_success 'echo VALUE > config/retention.ms sets it (DescribeConfigs), read back in the file and topic.json' '
	bash -c "echo 3600000 >$T/conf/config/retention.ms" &&
	check_eq "3600000 DYNAMIC_TOPIC_CONFIG" "$(config_of conf retention.ms)" "admin: retention.ms" &&
	same $T/conf/config/retention.ms "3600000\n" &&
	jq -e ".config == {\"retention.ms\": \"3600000\"}" $T/conf/topic.json
'

test_expect_success 'a value the broker refuses fails the write (EINVAL), its words in config/.error, value kept' '
	expect_errno EINVAL bash -c "echo abc >$T/conf/config/retention.ms" &&
	grep -q "write error" $TRASH/.errno &&
	check_file_has $T/conf/config/.error "Invalid value abc for configuration retention.ms" &&
	check_eq "3600000 DYNAMIC_TOPIC_CONFIG" "$(config_of conf retention.ms)" "admin: retention.ms" &&
	same $T/conf/config/retention.ms "3600000\n"
'

test_expect_success 'a new name in config/ is EINVAL and creates nothing' '
	bstats_reset &&
	expect_errno EINVAL bash -c "echo 1 >$T/conf/config/no.such" &&
	test ! -e $T/conf/config/no.such && ! ls $T/conf/config | grep -qx no.such &&
	no_bwrites && check_eq "retention.ms=3600000" "$(overrides conf)" "admin: overrides"
'

test_expect_success 'ctl lists its commands; "unset config KEY" puts it back to the default; an unknown command is EINVAL' '
	check_file_has $T/conf/ctl "^delete" && check_file_has $T/conf/ctl "^unset config" &&
	bash -c "echo unset config retention.ms >$T/conf/ctl" &&
	check_eq "604800000 DEFAULT_CONFIG" "$(config_of conf retention.ms)" "admin: retention.ms" &&
	check_eq "" "$(overrides conf)" "admin: overrides" &&
	same $T/conf/config/retention.ms "604800000\n" &&
	bstats_reset && expect_errno EINVAL bash -c "echo frobnicate >$T/conf/ctl" &&
	check_file_has $T/conf/.error "frobnicate" && no_bwrites
'

test_expect_success 'rm, rm -r, rm -rf and rmdir of a topic or its files: EPERM, the topic stays (kcat -L)' '
	bstats_reset &&
	expect_errno EPERM rmdir $T/doomed &&
	expect_errno EPERM rm -r $T/doomed &&
	expect_errno EPERM rm -rf $T/doomed &&
	expect_errno EPERM rm $T/doomed/topic.json &&
	expect_errno EPERM rm $T/doomed/partitions &&
	expect_errno EPERM rm $T/doomed/config/retention.ms &&
	no_bwrites && kafka_topics | grep -qx doomed &&
	test -f $T/doomed/topic.json && test -f $T/doomed/config/retention.ms &&
	check_eq 1 "$(nparts doomed)" "kcat: partitions of doomed"
'

test_expect_success 'echo delete > ctl deletes the topic (DeleteTopics): kcat -L and topics/ no longer list it' '
	bash -c "echo delete >$T/doomed/ctl" &&
	! kafka_topics | grep -qx doomed &&
	wait_for 3 sh -c "! ls $T | grep -qx doomed" &&
	test ! -e $T/doomed
'

# --- creating topics ----------------------------------------------------------------

test_expect_success 'mkdir makes a pending topic Kafka does not have; echo 6 > partitions creates it (replication factor 3)' '
	mkdir $T/payments && test -d $T/payments && ls $T | grep -qx payments &&
	! kafka_topics | grep -qx payments &&
	bash -c "echo 6 >$T/payments/partitions" &&
	kc -L -J | jq -c "[.topics[] | select(.topic == \"payments\") | .partitions[] | .replicas | length]" >$TRASH/rf &&
	check_eq "[3,3,3,3,3,3]" "$(cat $TRASH/rf)" "kcat: replicas per partition of payments" &&
	same $T/payments/partitions "6\n" &&
	jq -e ".replication_factor == 3 and (.partition_info | length) == 6" $T/payments/topic.json
'

test_expect_success 'mkdir + topic.json creates the topic with its config; cat in the same shell shows the real topic' '
	mkdir $T/audit && ! kafka_topics | grep -qx audit &&
	put $T/audit/topic.json "{\"partitions\":3,\"replication_factor\":1,\"config\":{\"retention.ms\":\"86400000\"}}" &&
	kc -L -J | jq -c "[.topics[] | select(.topic == \"audit\") | .partitions[] | .replicas | length]" >$TRASH/rf &&
	check_eq "[1,1,1]" "$(cat $TRASH/rf)" "kcat: replicas per partition of audit" &&
	check_eq "retention.ms=86400000" "$(overrides audit)" "admin: overrides of audit" &&
	cat $T/audit/topic.json >$TRASH/audit.json &&
	jq -e ".name == \"audit\" and .partitions == 3 and .replication_factor == 1 and
		.config == {\"retention.ms\": \"86400000\"} and (.partition_info | length) == 3 and
		(.partition_info[0] | has(\"leader\") and has(\"isr\"))" $TRASH/audit.json
'

test_expect_success 'rmdir of a pending directory never written removes it; Kafka never heard of it' '
	bstats_reset && mkdir $T/scratchy && test -d $T/scratchy &&
	rmdir $T/scratchy && test ! -e $T/scratchy && ! ls $T | grep -qx scratchy &&
	no_bwrites && ! kafka_topics | grep -qx scratchy
'

test_expect_success 'bad topic names are EINVAL, an existing topic EEXIST; nothing created' '
	bstats_reset &&
	expect_errno EINVAL mkdir "$T/bad name" && test ! -e "$T/bad name" &&
	expect_errno EINVAL mkdir "$T/x@y" && test ! -e "$T/x@y" &&
	long=$(printf "a%.0s" $(seq 250)) &&
	expect_errno EINVAL mkdir "$T/$long" &&
	expect_errno EEXIST mkdir $T/orders &&
	no_bwrites && check_eq "audit conf grow orders payments" "$(kafka_topics | paste -sd" " -)" "kcat topics"
'

test_expect_success 'pending topic.json without "partitions", or with an unknown config: EINVAL, broker words in .error, nothing created' '
	mkdir $T/nopart && bstats_reset &&
	rejected_at_close $T/nopart/topic.json "{\"config\": {}}" &&
	check_file_has $T/nopart/.error "partitions" && no_bwrites &&
	mkdir $T/unk &&
	rejected_at_close $T/unk/topic.json "{\"partitions\": 1, \"config\": {\"foo.bar\": \"1\"}}" &&
	check_file_has $T/unk/.error "Unknown topic config name: foo.bar" &&
	check_eq "audit conf grow orders payments" "$(kafka_topics | paste -sd" " -)" "kcat topics"
'

# --- consumer groups ------------------------------------------------------------------

test_expect_success 'groups/: a group that consumed everything and committed; then 3 more messages: lag total 3' '
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G billing -X auto.offset.reset=earliest orders -e -q >$TRASH/consumed &&
	adm group-offsets billing orders:0 orders:1 orders:2 >$TRASH/go &&
	for p in 0 1 2; do
		hi=$(adm watermarks orders $p | sed "s/.* high //") &&
		grep -qx "offset orders $p $hi NO_ERROR" $TRASH/go ||
			{ echo "billing did not commit the end of orders/$p ($hi):"; cat $TRASH/go; exit 1; }
	done &&
	printf "late0\n" | kc -P -t orders -p 0 && printf "late2a\nlate2b\n" | kc -P -t orders -p 2 &&
	wait_for 10 test -d $MNT/groups/billing &&
	adm list-groups | sed -n "s/^group \([^ ]*\) .*/\1/p" | sort >$TRASH/want &&
	ls $MNT/groups >$TRASH/got && cmp $TRASH/want $TRASH/got &&
	same $MNT/groups/billing/state "Empty\n" &&
	same $MNT/groups/billing/members "client_id\thost\tassigned\tmember_id\n" &&
	{ printf "topic\tpartition\toffset\n"
	  sed -n "s/^offset \([^ ]*\) \([0-9]*\) \([0-9]*\) NO_ERROR\$/\1\t\2\t\3/p" $TRASH/go; } >$TRASH/want &&
	cmp $TRASH/want $MNT/groups/billing/offsets &&
	{ printf "topic\tpartition\tcommitted\thigh\tlag\n"
	  for p in 0 1 2; do
		c=$(sed -n "s/^offset orders $p \([0-9]*\) NO_ERROR\$/\1/p" $TRASH/go)
		h=$(adm watermarks orders $p | sed "s/.* high //")
		printf "orders\t%s\t%s\t%s\t%s\n" $p $c $h $((h - c))
	  done
	  printf "total\t\t\t\t3\n"; } >$TRASH/want &&
	wait_for 5 cmp -s $TRASH/want $MNT/groups/billing/lag &&
	{ cmp $TRASH/want $MNT/groups/billing/lag || { cat $MNT/groups/billing/lag; false; }; }
'

test_expect_success 'topics/orders/groups/billing links to ../../../groups/billing; a topic the group never read has no link' '
	ls $T/orders/groups | grep -qx billing && test -L $T/orders/groups/billing &&
	check_eq ../../../groups/billing "$(readlink $T/orders/groups/billing)" "readlink" &&
	same $T/orders/groups/billing/state "Empty\n" &&
	ls $T/grow/groups >$TRASH/gg && ! grep -qx billing $TRASH/gg && test ! -e $T/grow/groups/billing
'

test_expect_success 'a live member: state Stable, members shows client id, host, assigned partitions; the topic links the group' '
	{ kcat -b "$ARCHONFS_KAFKA" -G live -X client.id=reader1 -X session.timeout.ms=2000 \
		-X heartbeat.interval.ms=250 -X auto.offset.reset=latest orders -q \
		>/dev/null 2>$TRASH/live.err &
	  echo $! >$TRASH/live.pid; } &&
	ok=0 && {
		wait_for 15 grep -qx Stable $MNT/groups/live/state &&
		adm describe-groups live >$TRASH/dg && grep -q "state=Stable .* members=1" $TRASH/dg &&
		check_eq "client_id	host	assigned	member_id" "$(sed -n 1p $MNT/groups/live/members)" "header" &&
		check_eq 2 "$(wc -l <$MNT/groups/live/members)" "lines of members" &&
		sed -n 2p $MNT/groups/live/members >$TRASH/member &&
		check_file_has $TRASH/member "^reader1	/127\.0\.0\.1	orders/0,orders/1,orders/2	reader1-[-0-9a-f]+\$" &&
		grep -q "^member $(cut -f4 $TRASH/member) client_id=reader1 " $TRASH/dg &&
		check_eq ../../../groups/live "$(readlink $T/orders/groups/live)" "readlink"
	} || ok=1
	kill $(cat $TRASH/live.pid) 2>/dev/null; wait $(cat $TRASH/live.pid) 2>/dev/null || true
	test $ok = 0
'

# --- options --------------------------------------------------------------------

test_expect_success '-o kafka.NAME=VALUE: .archonfs/config shows it, a secret one as ***; no file of the mount holds the secret' '
	umount_archonfs &&
	mount_archonfs --kafka "$ARCHONFS_KAFKA" --marathon "$ARCHONFS_MARATHON" \
		-o timeout=3,ttl=1,kafka.sasl.password=hunter2,kafka.client.rack=r1,kafka.ssl.key.pem=hunter2 &&
	check_file_has $MNT/.archonfs/config "^kafka: $ARCHONFS_KAFKA\$" &&
	check_file_has $MNT/.archonfs/config "^kafka\.client\.rack: r1\$" &&
	check_file_has $MNT/.archonfs/config "^kafka\.sasl\.password: \*\*\*\$" &&
	check_file_has $MNT/.archonfs/config "^kafka\.ssl\.key\.pem: \*\*\*\$" &&
	ls $T | grep -qx orders && no_deployments || exit 1
	rc=0
	timeout 30 grep -r hunter2 $MNT >$TRASH/grep.out 2>$TRASH/grep.err || rc=$?
	cat $TRASH/grep.out $TRASH/grep.err
	check_eq 1 "$rc" "grep -r hunter2 status (1: read everything, found nothing)" &&
	grep -rlx "kafka.client.rack: r1" $MNT | grep -qx "$MNT/.archonfs/config"
'

test_expect_success 'an invalid librdkafka property: archonfs exits non-zero saying which, nothing mounted' '
	mkdir -p $TRASH/mnt-bad || exit 1
	rc=0
	timeout -k 2 15 "$ARCHONFS" -f --kafka "$ARCHONFS_KAFKA" -o kafka.no.such.prop=1 \
		$TRASH/mnt-bad >$TRASH/bad.log 2>&1 || rc=$?
	bad=0; grep -qs " $TRASH/mnt-bad fuse" /proc/mounts && bad=1
	[ $bad = 1 ] && fusermount3 -uz $TRASH/mnt-bad
	cat $TRASH/bad.log
	[ $bad = 0 ] && [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ] &&
	grep -q "no\.such\.prop" $TRASH/bad.log
'

# --- brokers down ------------------------------------------------------------------

kafka_says() { ls $T >/dev/null 2>&1; grep -q "^kafka: $1\$" $MNT/.archonfs/status; }

test_expect_success 'every broker down: Kafka files answer stale or fail ETIMEDOUT within the deadline; apps/ answers at once' '
	umount_archonfs &&
	mount_archonfs --kafka "$ARCHONFS_KAFKA" --marathon "$ARCHONFS_MARATHON" -o timeout=3 &&
	ls $T >/dev/null && ls $MNT/groups >/dev/null && cat $T/orders/offsets >/dev/null &&
	cat $T/orders/topic.json >/dev/null && cat $T/orders/config/retention.ms >/dev/null &&
	check_eq 2 "$(cat $MNT/apps/shop/web/instances)" "instances" &&
	knobs "{\"down\": [0, 1, 2]}" && echo $(date +%s%N) >$TRASH/down.t0 &&
	! kcat -b "$ARCHONFS_KAFKA" -L -m 1 >/dev/null 2>&1 &&
	sleep 2 &&
	timed ls 4500 ls $T &&
	{ { [ "$(cat $TRASH/ls.rc)" = 0 ] && grep -qx orders $TRASH/ls.out; } ||
	  grep -q "Connection timed out" $TRASH/ls.err || { echo "ls topics:"; cat $TRASH/ls.err; false; }; } &&
	timed lsg 4500 ls $MNT/groups &&
	{ { [ "$(cat $TRASH/lsg.rc)" = 0 ] && grep -qx billing $TRASH/lsg.out; } ||
	  grep -q "Connection timed out" $TRASH/lsg.err || { echo "ls groups:"; cat $TRASH/lsg.err; false; }; } &&
	{ timed off 4500 cat $T/orders/offsets >$TRASH/off.note 2>&1 & echo $! >$TRASH/off.pid; } &&
	sleep 0.3 &&
	timed apps 1000 ls $MNT/apps && grep -qx shop $TRASH/apps.out &&
	timed inst 1000 cat $MNT/apps/shop/web/instances && check_eq 2 "$(cat $TRASH/inst.out)" "instances" &&
	{ wait $(cat $TRASH/off.pid) || { cat $TRASH/off.note; false; }; } && cat $TRASH/off.note &&
	check_eq 1 "$(cat $TRASH/off.rc)" "status of cat offsets" &&
	grep -q "Connection timed out" $TRASH/off.err &&
	wait_for 10 kafka_says down &&
	echo "# status said kafka: down $(( ($(date +%s%N) - $(cat $TRASH/down.t0)) / 1000000 )) ms after the brokers went down"
'

test_expect_success 'every broker down: topic.json and config/<key> answer from what was read or fail ETIMEDOUT, each cat within the deadline' '
	ok=0
	for f in topic.json config/retention.ms; do
		timed doc 4500 cat $T/orders/$f || ok=1
		if [ "$(cat $TRASH/doc.rc)" = 0 ]; then
			case $f in
			topic.json) jq -e ".name == \"orders\" and .partitions == 3" $TRASH/doc.out >/dev/null ;;
			*) same $TRASH/doc.out "604800000\n" ;;
			esac || { echo "cat $f served:"; cat $TRASH/doc.out; ok=1; }
		elif ! grep -q "Connection timed out" $TRASH/doc.err; then
			echo "cat $f: status $(cat $TRASH/doc.rc), want ETIMEDOUT:"; cat $TRASH/doc.err; ok=1
		fi
	done
	test $ok = 0
'

test_expect_success 'brokers back: topics/, groups/, offsets and writes work again without a remount' '
	knobs "{\"down\": []}" &&
	wait_for 15 kafka_says up &&
	wait_for 10 cat $T/orders/offsets >/dev/null &&
	hi=0 && for p in 0 1 2; do
		hi=$((hi + $(adm watermarks orders $p | sed "s/^low \([0-9]*\) high \([0-9]*\)\$/\2 - \1/"))) || exit 1
	done &&
	check_eq "total			$hi" "$(tail -n 1 $T/orders/offsets)" "offsets total" &&
	ls $MNT/groups | grep -qx billing &&
	mkdir $T/after && bash -c "echo 2 >$T/after/partitions" &&
	check_eq 2 "$(nparts after)" "kcat: partitions of after"
'

# Brokers that refuse connections are EIO (as a Marathon or agent that
# refuses is); brokers that do not answer in time are ETIMEDOUT.
refused_or_timeout() { grep -qE "Connection timed out|Input/output error" "$1"; }

test_expect_success 'a mount made while every broker is down: topics/, groups/, offsets fail within the deadline (EIO: connections refused, or ETIMEDOUT), apps/ answers; then it recovers' '
	knobs "{\"down\": [0, 1, 2]}" && umount_archonfs &&
	mount_archonfs --kafka "$ARCHONFS_KAFKA" --marathon "$ARCHONFS_MARATHON" -o timeout=3 || exit 1
	ok=0
	{
		timed cls 4500 ls $T &&
		{ refused_or_timeout $TRASH/cls.err ||
		  { echo "ls topics: status $(cat $TRASH/cls.rc), want EIO or ETIMEDOUT:"; cat $TRASH/cls.out $TRASH/cls.err; false; }; }
	} || ok=1
	{
		timed clsg 4500 ls $MNT/groups &&
		{ refused_or_timeout $TRASH/clsg.err ||
		  { echo "ls groups: status $(cat $TRASH/clsg.rc), want EIO or ETIMEDOUT:"; cat $TRASH/clsg.out $TRASH/clsg.err; false; }; }
	} || ok=1
	{
		timed coff 4500 cat $T/orders/offsets &&
		{ refused_or_timeout $TRASH/coff.err ||
		  { echo "cat offsets: status $(cat $TRASH/coff.rc), want EIO or ETIMEDOUT:"; cat $TRASH/coff.out $TRASH/coff.err; false; }; }
	} || ok=1
	{
		timed capps 1000 ls $MNT/apps && grep -qx shop $TRASH/capps.out &&
		wait_for 10 kafka_says down
	} || ok=1
	knobs "{\"down\": []}" || ok=1
	{
		wait_for 15 sh -c "ls $T | grep -qx orders" &&
		wait_for 10 cat $T/orders/offsets >/dev/null &&
		wait_for 10 kafka_says up
	} || ok=1
	test $ok = 0
'

test_done
