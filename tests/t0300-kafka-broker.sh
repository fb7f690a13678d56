#!/bin/bash
# t0300: the Kafka fixture (tests/kafka_broker.py, started by tests/cluster)
# answers as Kafka does, checked with clients nobody here wrote: kcat
# (metadata, produce, consume, a balanced consumer group that commits) and
# librdkafka's admin API (tests/kafka_admin_check.c: CreateTopics with every
# error, CreatePartitions, DescribeConfigs, AlterConfigs, DeleteTopics,
# ListConsumerGroups, DescribeConsumerGroups, ListConsumerGroupOffsets,
# DeleteGroups, metadata, watermarks), plus raw requests for what those
# clients never send (tests/kafka_wire_check.py: every ApiVersions version
# and one too new, split and pipelined requests, acks=0, CreateTopics with
# 0 partitions, requests to a broker that is not the leader or controller).
# One broker first, then three: leaders spread, a paused broker makes
# clients time out, a downed one refuses connections and its partitions move,
# and both recover.
. "$(dirname "$0")/lib.sh"

ADMIN=$TRASH/kafka_admin_check
WIRE="$PY $TESTS/kafka_wire_check.py"

# run WANT cmd...: cmd exits WANT; stdout in $TRASH/out, stderr in $TRASH/err.
run() {
	local want=$1 rc=0
	shift
	"$@" >"$TRASH/out" 2>"$TRASH/err" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "$* exited $rc, want $want; stdout:"; cat "$TRASH/out"
		echo "stderr:"; tail -n 20 "$TRASH/err"
		return 1
	fi
}

# out_is TEXT: stdout of the last run is exactly TEXT (printf %b escapes).
out_is() {
	printf '%b' "$1" | cmp -s - "$TRASH/out" || {
		echo "stdout is not:"; printf '%b' "$1"; echo "it is:"; cat "$TRASH/out"; return 1; }
}

# out_has REGEX...: every REGEX matches a line of the last stdout.
out_has() {
	local re
	for re in "$@"; do
		grep -qE -- "$re" "$TRASH/out" || {
			echo "no line matches /$re/ in:"; cat "$TRASH/out"; return 1; }
	done
}

adm() { "$ADMIN" -t 8000 "$ARCHONFS_KAFKA" "$@"; }
kc() { kcat -b "$ARCHONFS_KAFKA" "$@"; }
knobs() {
	curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
		-d "$1" "$ARCHONFS_KAFKA_CONTROL/_broker/knobs"
}
port_of() { sed -n "$(($1 + 1))p" "$CLUSTER_DIR/kafka.ports"; }

# wait_group GROUP REGEX: DescribeConsumerGroups shows REGEX (max 20 s).
wait_group() {
	local i
	for i in $(seq 1 80); do
		adm describe-groups "$1" >"$TRASH/out" 2>"$TRASH/err" &&
			grep -qE -- "$2" "$TRASH/out" && return 0
		sleep 0.25
	done
	echo "group $1 never showed /$2/; last:"; cat "$TRASH/out"
	return 1
}

test_expect_success 'the librdkafka admin checker builds' '
	cc -Wall -Wextra -Werror -O1 -o "$ADMIN" "$TESTS/kafka_admin_check.c" \
		$(pkg-config --cflags --libs rdkafka)
'

start_cluster --kafka-arg --topics=orders:3,payments:1 \
	--kafka-arg --group-min-session-timeout-ms=1000 ||
	{ echo "not ok 2 - cluster starts"; test_count=2; test_failed=1; test_done; }
P0=$(port_of 0)
say "Kafka at $ARCHONFS_KAFKA, control $ARCHONFS_KAFKA_CONTROL"

# --- one broker ---------------------------------------------------------------

test_expect_success 'kcat -L: one broker, the controller, topics, partitions, leader, replicas, isr' '
	run 0 kc -L -J &&
	jq -e --arg b "127.0.0.1:$P0" "
		.controllerid == 0 and .brokers == [{id: 0, name: \$b}] and
		([.topics[] | {(.topic): [.partitions[] |
			[.partition, .leader, [.replicas[].id], [.isrs[].id]]]}] | add) ==
		{orders: [[0,0,[0],[0]], [1,0,[0],[0]], [2,0,[0],[0]]], payments: [[0,0,[0],[0]]]}
	" "$TRASH/out"
'

APIS=0:3-7,1:4-11,2:0-3,3:0-5,8:0-3,9:0-7,10:0-1,11:0-2,12:0-1,13:0-1,14:0-1,15:0-3,16:0-4,18:0-3,19:0-3,20:0-3,32:0-2,33:0-1,37:0-1,42:0-1
test_expect_success 'ApiVersions v0-v3 (v3 flexible) advertise the same APIs; v9 gets UNSUPPORTED_VERSION in v0 form' '
	run 0 $WIRE "$P0" apiversions &&
	out_is "v0 error=0 apis=$APIS\nv1 error=0 apis=$APIS\nv2 error=0 apis=$APIS\nv3 error=0 apis=$APIS\nv9 error=35 apis=18:0-3\n"
'

test_expect_success 'framing: a request sent a byte at a time, five in one write answered in order, acks=0 unanswered' '
	run 0 $WIRE "$P0" framing payments 0 &&
	out_is "split corr=7 brokers=1\npipelined corrs=20,21,22,23,24\nacks0 corrs=2\n" &&
	run 0 $WIRE "$P0" badversion && out_is "closed\n"
'

test_expect_success 'kcat -P then -C: keyed messages per partition, exact offsets, keys, values' '
	for p in 0 1 2; do
		printf "k$p-a:v$p-a\nk$p-b:v$p-b\nk$p-c:value with spaces $p\n" |
			kc -P -t orders -p $p -K: || return 1
	done &&
	printf "z:gz-1\nz:gz-2\n" | kc -P -t orders -p 1 -K: -z gzip &&
	for p in 0 1 2; do
		kc -C -t orders -p $p -o beginning -e -q -f "%p %o %k %s\n" || return 1
	done >"$TRASH/out" &&
	out_is "0 0 k0-a v0-a\n0 1 k0-b v0-b\n0 2 k0-c value with spaces 0\n1 0 k1-a v1-a\n1 1 k1-b v1-b\n1 2 k1-c value with spaces 1\n1 3 z gz-1\n1 4 z gz-2\n2 0 k2-a v2-a\n2 1 k2-b v2-b\n2 2 k2-c value with spaces 2\n"
'

test_expect_success 'binary values (NUL, newlines, every byte) come back byte for byte, also gzip-compressed' '
	$PY -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 8 + b\"\\n\\0end\")" >"$TRASH/bin1" &&
	head -c 5000 /dev/urandom >"$TRASH/bin2" &&
	kc -P -t payments -p 0 -k binkey "$TRASH/bin1" &&
	kc -P -t payments -p 0 -z gzip "$TRASH/bin2" &&
	run 0 adm watermarks payments 0 && out_is "low 0 high 3\n" &&
	kc -C -t payments -p 0 -o 1 -c 1 -q -f "%s" >"$TRASH/got1" &&
	kc -C -t payments -p 0 -o 2 -c 1 -q -f "%s" >"$TRASH/got2" &&
	cmp "$TRASH/bin1" "$TRASH/got1" && cmp "$TRASH/bin2" "$TRASH/got2" &&
	kc -C -t payments -p 0 -o 1 -c 1 -q -f "%k %o %S\n" >"$TRASH/out" &&
	out_is "binkey 1 2053\n"
'

test_expect_success 'watermarks move with produce (librdkafka query and ListOffsets)' '
	run 0 adm watermarks orders 1 && out_is "low 0 high 5\n" &&
	printf "m1\nm2\n" | kc -P -t orders -p 1 &&
	run 0 adm watermarks orders 1 && out_is "low 0 high 7\n" &&
	run 0 $WIRE "$P0" offsets orders 1 && out_is "earliest=0 latest=7\n"
'

test_expect_success 'Fetch waits MaxWait for data, returns early when data arrives, OFFSET_OUT_OF_RANGE past the end' '
	run 0 $WIRE "$P0" fetch orders 2 3 800 &&
	out_has "^error=0 hwm=3 records=0 elapsed_ms=(7[5-9][0-9]|[89][0-9][0-9]|1[0-9]{3})$" &&
	run 0 $WIRE "$P0" fetch orders 2 3 5000 300 &&
	out_has "^error=0 hwm=4 records=1 elapsed_ms=([2-9][0-9][0-9]|1[0-4][0-9]{2})$" &&
	run 0 $WIRE "$P0" fetch orders 2 9 100 && out_has "^error=1 hwm=4 records=0"
'

test_expect_success 'the log start moves (control delete-records): earlier offsets are OFFSET_OUT_OF_RANGE, kcat starts there' '
	curl -sSf -X POST -d "{\"topic\":\"orders\",\"partition\":0,\"offset\":1}" \
		"$ARCHONFS_KAFKA_CONTROL/_broker/delete-records" >"$TRASH/out" &&
	out_is "{\"log_start_offset\": 1}\n" &&
	run 0 $WIRE "$P0" fetch orders 0 0 100 && out_has "^error=1 hwm=3 " &&
	run 0 adm watermarks orders 0 && out_is "low 1 high 3\n" &&
	kc -C -t orders -p 0 -o beginning -e -q -f "%o %s\n" >"$TRASH/out" &&
	out_is "1 v0-b\n2 value with spaces 0\n"
'

test_expect_success 'kcat -G consumes every partition and commits; ListConsumerGroupOffsets reports the commits; a rerun resumes' '
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G grp1 -X auto.offset.reset=earliest \
		-X client.id=reader1 orders -e -q -f "%p %o\n" >"$TRASH/consumed" &&
	sort "$TRASH/consumed" | tr "\n" " " >"$TRASH/out" &&
	out_is "0 1 0 2 1 0 1 1 1 2 1 3 1 4 1 5 1 6 2 0 2 1 2 2 2 3 " &&
	run 0 adm group-offsets grp1 orders:0 orders:1 orders:2 &&
	out_is "group grp1 NO_ERROR\noffset orders 0 3 NO_ERROR\noffset orders 1 7 NO_ERROR\noffset orders 2 4 NO_ERROR\n" &&
	run 0 adm group-offsets grp1 &&
	out_has "^offset orders 0 3 NO_ERROR$" "^offset orders 1 7 NO_ERROR$" "^offset orders 2 4 NO_ERROR$" &&
	printf "late\n" | kc -P -t orders -p 2 &&
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G grp1 -X auto.offset.reset=earliest \
		orders -e -q -f "%p %o %s\n" >"$TRASH/out" &&
	out_is "2 4 late\n" &&
	run 0 adm list-groups && out_is "group grp1 state=Empty simple=0\n" &&
	run 0 adm describe-groups grp1 &&
	out_is "group grp1 NO_ERROR state=Empty assignor=- coordinator=0 simple=0 members=0\n"
'

test_expect_success 'a live group: two members split the partitions (DescribeConsumerGroups: client id, host, assignment)' '
	for c in c1 c2; do
		kcat -b "$ARCHONFS_KAFKA" -G grp2 -X client.id=$c -X session.timeout.ms=2000 \
			-X heartbeat.interval.ms=250 -X auto.offset.reset=earliest orders -q \
			>"$TRASH/$c.out" 2>"$TRASH/$c.err" &
		echo $! >"$TRASH/$c.pid"
		sleep 0.5
	done &&
	wait_group grp2 "state=Stable assignor=range .* members=2" &&
	out_has "^member c1-[-0-9a-f]+ client_id=c1 host=/127\.0\.0\.1 assignment=orders\[[0-2]\]" \
		"^member c2-[-0-9a-f]+ client_id=c2 host=/127\.0\.0\.1 assignment=orders\[[0-2]\]" &&
	sed -n "s/.*assignment=//p" "$TRASH/out" | tr "," "\n" | sort | tr "\n" " " >"$TRASH/parts" &&
	check_eq "orders[0] orders[1] orders[2] " "$(cat "$TRASH/parts")" "assigned partitions" &&
	run 0 adm delete-groups grp2 && out_is "group grp2 NON_EMPTY_GROUP\n"
'

test_expect_success 'a member killed without leaving is dropped after its session timeout; the other gets everything' '
	kill -KILL "$(cat "$TRASH/c1.pid")" &&
	wait_group grp2 "state=Stable .* members=1" &&
	out_has "^member c2-.* assignment=orders\[0\],orders\[1\],orders\[2\]$" &&
	kill -TERM "$(cat "$TRASH/c2.pid")" &&
	wait_group grp2 "state=Empty .* members=0" &&
	run 0 adm group-offsets grp2 orders:0 orders:1 orders:2 &&
	out_is "group grp2 NO_ERROR\noffset orders 0 3 NO_ERROR\noffset orders 1 7 NO_ERROR\noffset orders 2 5 NO_ERROR\n" &&
	run 0 adm delete-groups grp2 grp2-never && out_is "group grp2 NO_ERROR\ngroup grp2-never GROUP_ID_NOT_FOUND\n"
'

test_expect_success 'CreateTopics: created, and TOPIC_ALREADY_EXISTS, TOPIC_EXCEPTION, INVALID_REPLICATION_FACTOR, INVALID_CONFIG' '
	run 0 adm create new1:2:1 cfgd:1:1:retention.ms=3600000,cleanup.policy=compact \
		orders:1:1 "bad/name:1:1" big:1:2 unknowncfg:1:1:foo.bar=1 badval:1:1:retention.ms=abc &&
	out_is "topic new1 NO_ERROR\ntopic cfgd NO_ERROR\ntopic orders TOPIC_ALREADY_EXISTS Topic '"'"'orders'"'"' already exists.\ntopic bad/name TOPIC_EXCEPTION Topic name \"bad/name\" is illegal, it contains a character other than ASCII alphanumerics, '"'"'.'"'"', '"'"'_'"'"' and '"'"'-'"'"'\ntopic big INVALID_REPLICATION_FACTOR Replication factor: 2 larger than available brokers: 1.\ntopic unknowncfg INVALID_CONFIG Unknown topic config name: foo.bar\ntopic badval INVALID_CONFIG Invalid value abc for configuration retention.ms: Not a number of type LONG\n" &&
	run 0 adm create -n vonly:3:1 && out_is "topic vonly NO_ERROR\n" &&
	run 0 adm create-assign asg 0/0 && out_is "topic asg NO_ERROR\n" &&
	run 0 adm create-assign asg2 0,0 && out_has "^topic asg2 INVALID_REPLICA_ASSIGNMENT " &&
	run 0 kc -L -J &&
	jq -e "[.topics[].topic] | sort == [\"asg\", \"cfgd\", \"new1\", \"orders\", \"payments\"]" "$TRASH/out" &&
	jq -e "[.topics[] | select(.topic == \"new1\") | .partitions[].partition] == [0, 1]" "$TRASH/out"
'

test_expect_success 'CreateTopics (raw): INVALID_PARTITIONS for 0 and -3, INVALID_TOPIC_EXCEPTION for ".", ".." and 250 characters' '
	run 0 $WIRE "$P0" create zero 0 1 &&
	out_is "error=37 message=Number of partitions must be larger than 0.\n" &&
	run 0 $WIRE "$P0" create neg -3 1 && out_has "^error=37 " &&
	run 0 $WIRE "$P0" create . 1 1 && out_is "error=17 message=Topic name cannot be \".\" or \"..\"\n" &&
	run 0 $WIRE "$P0" create .. 1 1 && out_has "^error=17 " &&
	run 0 $WIRE "$P0" create "$(printf "a%.0s" $(seq 250))" 1 1 &&
	out_has "^error=17 message=Topic name is illegal, it can.t be longer than 249 characters" &&
	run 0 $WIRE "$P0" create "$(printf "a%.0s" $(seq 249))" 1 1 && out_is "error=0 message=None\n" &&
	run 0 $WIRE "$P0" create rf0 1 0 && out_has "^error=38 "
'

test_expect_success 'CreatePartitions: grows a topic; INVALID_PARTITIONS when not larger; UNKNOWN_TOPIC_OR_PART' '
	run 0 adm partitions new1:4 orders:2 payments:1 nope:3 &&
	out_is "topic new1 NO_ERROR\ntopic orders INVALID_PARTITIONS Topic currently has 3 partitions, which is higher than the requested 2.\ntopic payments INVALID_PARTITIONS Topic already has 1 partitions.\ntopic nope UNKNOWN_TOPIC_OR_PART The topic '"'"'nope'"'"' does not exist.\n" &&
	run 0 adm partitions -n new1:6 && out_is "topic new1 NO_ERROR\n" &&
	run 0 adm metadata new1 &&
	out_has "^topic new1 partitions=4 NO_ERROR$" "^partition new1 3 leader=0 replicas=0 isr=0 NO_ERROR$" &&
	printf "p3\n" | kc -P -t new1 -p 3 &&
	kc -C -t new1 -p 3 -o beginning -e -q -f "%o %s\n" >"$TRASH/out" && out_is "0 p3\n"
'

test_expect_success 'DescribeConfigs: topic defaults and overrides (source, default), broker configs (read-only, sensitive)' '
	run 0 adm describe-configs topic cfgd &&
	out_has "^resource TOPIC cfgd NO_ERROR$" \
		"^config retention.ms=3600000 source=DYNAMIC_TOPIC_CONFIG default=0 read_only=0 sensitive=0 synonyms=retention.ms=3600000\(DYNAMIC_TOPIC_CONFIG\);log.retention.hours=168\(DEFAULT_CONFIG\)$" \
		"^config cleanup.policy=compact source=DYNAMIC_TOPIC_CONFIG default=0 " \
		"^config retention.bytes=-1 source=DEFAULT_CONFIG default=1 read_only=0 " \
		"^config segment.bytes=1073741824 source=DEFAULT_CONFIG default=1 " \
		"^config min.insync.replicas=1 source=DEFAULT_CONFIG default=1 " \
		"^config max.message.bytes=1048588 source=DEFAULT_CONFIG default=1 " \
		"^config compression.type=producer source=DEFAULT_CONFIG default=1 " &&
	check_eq 26 "$(grep -c "^config " "$TRASH/out")" "topic config count" &&
	run 0 adm describe-configs broker 0 &&
	out_has "^config broker.id=0 source=STATIC_BROKER_CONFIG default=0 read_only=1 " \
		"^config log.dirs=.* read_only=1 " \
		"^config log.retention.ms=\(null\) source=DEFAULT_CONFIG default=1 read_only=0 " \
		"^config ssl.keystore.password=\(null\) .* sensitive=1 " \
		"^config group.min.session.timeout.ms=1000 source=STATIC_BROKER_CONFIG " &&
	run 0 adm describe-configs topic nope &&
	out_is "resource TOPIC nope UNKNOWN_TOPIC_OR_PART Topic nope does not exist\n"
'

test_expect_success 'AlterConfigs replaces a topic'"'"'s overrides; describe shows it; INVALID_CONFIG, INVALID_REQUEST, validate-only' '
	run 0 adm alter-configs topic cfgd retention.ms=60000 max.message.bytes=200 &&
	out_is "resource TOPIC cfgd NO_ERROR\n" &&
	run 0 adm describe-configs topic cfgd &&
	out_has "^config retention.ms=60000 source=DYNAMIC_TOPIC_CONFIG default=0 " \
		"^config max.message.bytes=200 source=DYNAMIC_TOPIC_CONFIG " \
		"^config cleanup.policy=delete source=DEFAULT_CONFIG default=1 " &&
	run 0 adm alter-configs topic cfgd foo=1 &&
	out_is "resource TOPIC cfgd INVALID_CONFIG Unknown topic config name: foo\n" &&
	run 0 adm alter-configs topic cfgd retention.ms=soon &&
	out_has "^resource TOPIC cfgd INVALID_REQUEST Invalid config value for resource .*retention.ms: Not a number of type LONG$" &&
	run 0 adm alter-configs -n topic cfgd retention.ms=1 && out_is "resource TOPIC cfgd NO_ERROR\n" &&
	run 0 adm describe-configs topic cfgd && out_has "^config retention.ms=60000 " &&
	head -c 500 /dev/zero | tr "\\0" x >"$TRASH/big" &&
	run 1 kc -P -t cfgd -p 0 -X message.timeout.ms=3000 "$TRASH/big" &&
	grep -q "Message size too large" "$TRASH/err" &&
	run 0 adm alter-configs broker 0 log.retention.ms=1000 && out_is "resource BROKER 0 NO_ERROR\n" &&
	run 0 adm describe-configs broker 0 &&
	out_has "^config log.retention.ms=1000 source=DYNAMIC_BROKER_CONFIG default=0 read_only=0 " &&
	run 0 adm alter-configs broker 0 log.dirs=/elsewhere &&
	out_has "^resource BROKER 0 INVALID_REQUEST .*Cannot update these configs dynamically: Set\(log.dirs\)$"
'

test_expect_success 'message.timestamp.type=LogAppendTime: the broker stamps the records' '
	run 0 adm create lat:1:1:message.timestamp.type=LogAppendTime && out_is "topic lat NO_ERROR\n" &&
	printf "stamped\n" | kc -P -t lat -p 0 &&
	curl -sSf "$ARCHONFS_KAFKA_CONTROL/_broker/records?topic=lat&partition=0" >"$TRASH/out" &&
	jq -e "length == 1 and .[0].timestamp_type == 1 and .[0].value == \"c3RhbXBlZA==\"" "$TRASH/out"
'

test_expect_success 'DeleteTopics: gone from metadata and its committed offsets; deleting again is UNKNOWN_TOPIC_OR_PART' '
	run 0 adm delete orders new1 && out_is "topic orders NO_ERROR\ntopic new1 NO_ERROR\n" &&
	run 0 adm delete orders && out_is "topic orders UNKNOWN_TOPIC_OR_PART Broker: Unknown topic or partition\n" &&
	run 0 kc -L -J && jq -e "[.topics[].topic] | index(\"orders\") == null" "$TRASH/out" &&
	curl -sSf "$ARCHONFS_KAFKA_CONTROL/_broker/state" >"$TRASH/out" &&
	jq -e ".groups.grp1.offsets == {} and (.topics | has(\"orders\") | not)" "$TRASH/out"
'

# --- three brokers ------------------------------------------------------------

stop_cluster
start_cluster --kafka-brokers 3 --kafka-arg --topics=orders:3,payments:1:3,logs:4:2 ||
	{ echo "not ok $((test_count + 1)) - 3-broker cluster starts"; test_count=$((test_count + 1)); test_failed=$((test_failed + 1)); test_done; }
P0=$(port_of 0) P1=$(port_of 1) P2=$(port_of 2)
say "3 brokers at $ARCHONFS_KAFKA"

test_expect_success '3 brokers: kcat -L lists all three, leaders spread round robin, replicas = RF brokers, isr = replicas' '
	run 0 kc -L -J &&
	jq -e --arg b0 "127.0.0.1:$P0" --arg b1 "127.0.0.1:$P1" --arg b2 "127.0.0.1:$P2" "
		.controllerid == 0 and
		.brokers == [{id: 0, name: \$b0}, {id: 1, name: \$b1}, {id: 2, name: \$b2}] and
		([.topics[] | {(.topic): [.partitions[] |
			[.partition, .leader, [.replicas[].id], [.isrs[].id]]]}] | add) ==
		{orders: [[0,0,[0],[0]], [1,1,[1],[1]], [2,2,[2],[2]]],
		 payments: [[0,1,[1,2,0],[1,2,0]]],
		 logs: [[0,2,[2,0],[2,0]], [1,0,[0,1],[0,1]], [2,1,[1,2],[1,2]], [3,2,[2,0],[2,0]]]}
	" "$TRASH/out" &&
	run 0 adm create spread:6:3 && run 0 adm metadata spread &&
	check_eq "0 0 1 1 2 2" "$(sed -n "s/^partition spread [0-9] leader=\([0-9]\) replicas=[0-9],[0-9],[0-9] isr=.*/\1/p" "$TRASH/out" | sort | tr "\n" " " | sed "s/ $//")" "leaders of spread"
'

test_expect_success '3 brokers: NOT_LEADER_FOR_PARTITION from a non-leader, NOT_CONTROLLER for CreateTopics off the controller' '
	run 0 $WIRE "$P0" produce orders 1 x && out_is "error=6 offset=-1\n" &&
	run 0 $WIRE "$P1" produce orders 1 x && out_is "error=0 offset=0\n" &&
	run 0 $WIRE "$P2" fetch orders 1 0 100 && out_has "^error=6 " &&
	run 0 $WIRE "$P1" create off-controller 1 1 && out_has "^error=41 " &&
	run 0 $WIRE "$P0" create on-controller 1 1 && out_is "error=0 message=None\n"
'

test_expect_success '3 brokers: kcat round trip over every leader, and a group with its coordinator' '
	for p in 0 1 2; do printf "m$p\n" | kc -P -t orders -p $p || return 1; done &&
	for p in 0 1 2; do kc -C -t orders -p $p -o beginning -e -q -f "%p %o %s\n" || return 1; done >"$TRASH/out" &&
	out_is "0 0 m0\n1 0 x\n1 1 m1\n2 0 m2\n" &&
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G g3 -X auto.offset.reset=earliest orders -e -q \
		-f "%p %o\n" >/dev/null &&
	run 0 adm group-offsets g3 orders:0 orders:1 orders:2 &&
	out_is "group g3 NO_ERROR\noffset orders 0 1 NO_ERROR\noffset orders 1 2 NO_ERROR\noffset orders 2 1 NO_ERROR\n" &&
	curl -sSf "$ARCHONFS_KAFKA_CONTROL/_broker/state" | jq -r ".groups.g3.coordinator" >"$TRASH/coord" &&
	run 0 adm describe-groups g3 && out_has "^group g3 NO_ERROR state=Empty .* coordinator=$(cat "$TRASH/coord") "
'

test_expect_success 'a paused broker: clients time out on it, the others still serve; unpaused, it answers again' '
	knobs "{\"pause\": [1]}" >"$TRASH/out" && out_is "{\"pause\": [1], \"down\": []}\n" &&
	start=$(date +%s) &&
	run 1 kcat -b "127.0.0.1:$P1" -L -m 2 &&
	[ $(($(date +%s) - start)) -ge 1 ] &&
	printf "while-paused-0\n" | kc -P -t orders -p 0 -X message.timeout.ms=2500 &&
	printf "lost\n" >"$TRASH/lost" &&
	run 1 kc -P -t orders -p 1 -X message.timeout.ms=2000 "$TRASH/lost" &&
	grep -q "Message timed out" "$TRASH/err" &&
	knobs "{\"pause\": []}" >/dev/null &&
	run 0 kcat -b "127.0.0.1:$P1" -L -m 5 && out_has "^ 3 brokers:" &&
	printf "after-pause\n" | kc -P -t orders -p 1 &&
	kc -C -t orders -p 1 -o -1 -c 1 -q -f "%s\n" >"$TRASH/out" && out_is "after-pause\n"
'

test_expect_success 'a downed broker refuses connections, leaves the metadata, its partitions move; back up, all returns' '
	knobs "{\"pause\": [], \"down\": [1]}" >"$TRASH/out" &&
	out_is "{\"pause\": [], \"down\": [1]}\n" &&
	! (exec 3<>"/dev/tcp/127.0.0.1/$P1") 2>/dev/null &&
	run 1 kcat -b "127.0.0.1:$P1" -L -m 2 &&
	run 0 adm metadata &&
	out_has "^broker 0 " "^broker 2 " \
		"^partition orders 1 leader=-1 replicas=1 isr= LEADER_NOT_AVAILABLE$" \
		"^partition payments 0 leader=2 replicas=1,2,0 isr=2,0 NO_ERROR$" &&
	! grep -q "^broker 1 " "$TRASH/out" &&
	printf "while-down\n" | kc -P -t payments -p 0 &&
	knobs "{\"down\": []}" >/dev/null &&
	run 0 kcat -b "127.0.0.1:$P1" -L -m 5 && out_has "^ 3 brokers:" &&
	run 0 adm metadata payments &&
	out_has "^partition payments 0 leader=1 replicas=1,2,0 isr=1,2,0 NO_ERROR$" &&
	kc -C -t payments -p 0 -o beginning -e -q -f "%o %s\n" >"$TRASH/out" && out_is "0 while-down\n"
'

test_done
