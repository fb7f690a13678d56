#!/bin/bash
# t5000: the pipeline as files, over a fixture world of Marathon apps (the
# emulator, two agents: 127.0.0.1 and agent-2.emu.local), Kafka topics and
# consumer groups (tests/kafka_broker.py, read and written with kcat) and
# per-app config in a real ZooKeeper.  It proves: edges of all three kinds
# (declared in labels, configured in ZooKeeper, observed from consumer
# groups attributed by group name or by the exact set of member hosts) are
# in pipeline/edges, with lag; the constructed cycle /loop/a -> t1 -> /loop/b
# -> t2 -> /loop/a is in pipeline/cycles, and leaves it when its ZooKeeper
# edge is removed; upstream/ and downstream/ and orphans are right;
# graph.dot draws with dot(1) to one node per app and topic, unhealthy apps
# and lagging edges marked; graph.svg is valid SVG drawn in process; every
# link's readlink -f is the right existing directory; ln -s and rm under
# produces/ edit the app's label with one deployment each (and only
# declared edges can be removed, only links to existing topics made, with
# words in .error and nothing sent); the graph costs no request of its own;
# the label keys, ZooKeeper templates and group rule are options.
. "$(dirname "$0")/lib.sh"

A=$MNT/apps
P=$MNT/pipeline
NOT_HERE='"constraints": [["hostname", "UNLIKE", "127\\.0\\.0\\.1"]]'

kc() { kcat -b "$ARCHONFS_KAFKA" "$@"; }
zk() { "$TESTS/zkcli" "$ARCHONFS_ZK" "$@" >/dev/null 2>"$TRASH/zk.err" || {
	cat "$TRASH/zk.err"; return 1; }; }

same() {
	printf '%b' "$2" | cmp -s - "$1" || {
		echo "$1 is not:"; printf '%b' "$2"; echo "it is:"; cat "$1"; return 1; }
}

# app ID JSON-FIELDS: create an app through the emulator's API.
app() {
	emu /v2/apps -X POST -H 'Content-Type: application/json' \
		-d "{\"id\": \"$1\", \"cmd\": \"sleep 1000\", \"instances\": 1, \"cpus\": 0.1, \"mem\": 32, $2}" \
		>"$TRASH/post.out" && jq -e .id "$TRASH/post.out" >/dev/null || {
		echo "cannot create $1:"; cat "$TRASH/post.out"; return 1; }
}

# label ID KEY: the app's label as Marathon has it ("absent" if none).
label() { emu_app "$1" | jq -r --arg k "$2" '.labels[$k] // "absent"'; }

# app_puts ID: the PUTs of that app the emulator received since emu_reset.
app_puts() {
	emu /_emu/requests | jq --arg p "/v2/apps$1" '[.[] | select(.method == "PUT" and .path == $p)] | length'
}

# app_named NAME: the app id a link in topics/ named NAME stands for.
app_named() {
	case $1 in
	ingest | web | billing) echo "/shop/$1" ;;
	counter) echo /stream/counter ;;
	a | b) echo "/loop/$1" ;;
	*) echo "/unknown/$1" ;;
	esac
}

world() {
	app /shop/ingest "$NOT_HERE, \"labels\": {\"archon.produces\": \"orders\"}" &&
	app /shop/web "$NOT_HERE, \"labels\": {\"archon.consumes\": \"orders\", \"archon.produces\": \"payments\"},
		\"healthChecks\": [{\"protocol\": \"COMMAND\", \"command\": {\"value\": \"true\"}}]" &&
	app /shop/billing "$NOT_HERE" &&
	app /stream/counter '"constraints": [["hostname", "CLUSTER", "127.0.0.1"]]' &&
	app /loop/a "$NOT_HERE, \"labels\": {\"archon.consumes\": \"t2\", \"archon.produces\": \"t1\"}" &&
	app /loop/b "$NOT_HERE, \"labels\": {\"archon.produces\": \"t2\"}" &&
	printf '%s\n' 'create /config ""' 'create /config/shop ""' 'create /config/shop/billing ""' \
		'create /config/shop/billing/kafka.topics.in "payments"' \
		'create /config/loop ""' 'create /config/loop/b ""' \
		'create /config/loop/b/kafka.topics.in "t1"' | zk - &&
	# shop.billing: named like /shop/billing, read all of payments, then 2 more.
	printf 'p1\np2\np3\n' | kc -P -t payments &&
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G shop.billing -X auto.offset.reset=earliest payments -e -q >/dev/null &&
	printf 'p4\np5\n' | kc -P -t payments &&
	# strangers: nobody's name, no members (hosts unknown): no edge.
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G strangers -X auto.offset.reset=earliest orders -e -q >/dev/null &&
	wait_for 10 no_deployments
}

# A live member on 127.0.0.1, whose only app is /stream/counter.
start_counter() {
	kc -G anon-counter -X session.timeout.ms=2000 -X heartbeat.interval.ms=250 \
		-X auto.offset.reset=latest audit -q >/dev/null 2>"$TRASH/counter.err" &
	echo $! >"$TRASH/counter.pid"
}
stop_counter() {
	[ -s "$TRASH/counter.pid" ] && kill "$(cat "$TRASH/counter.pid")" 2>/dev/null
	rm -f "$TRASH/counter.pid"
}
trap 'stop_counter; cleanup' EXIT

start_cluster --mesos-agents 2 --marathon-arg --agent-hostnames=127.0.0.1,agent-2.emu.local \
	--kafka-arg --topics=orders:3,payments:1,audit:1,t1:1,t2:1,unused:1 \
	--kafka-arg --group-min-session-timeout-ms=1000 || {
	echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }
world >"$TRASH/world.log" 2>&1 || {
	echo "not ok 1 - the fixture world"; sed 's/^/#   /' "$TRASH/world.log"
	test_count=1; test_failed=1; test_done; }
start_counter
mount_archonfs --marathon "$ARCHONFS_MARATHON" --zk "$ARCHONFS_ZK" --kafka "$ARCHONFS_KAFKA" \
	-o timeout=5 || { echo "not ok 1 - archonfs mounts"; test_count=1; test_failed=1; test_done; }

EDGES='from\tto\tkind\tevidence
/loop/a\tt1\tproduces\tdeclared (label archon.produces)
/loop/b\tt2\tproduces\tdeclared (label archon.produces)
/shop/ingest\torders\tproduces\tdeclared (label archon.produces)
/shop/web\tpayments\tproduces\tdeclared (label archon.produces)
audit\t/stream/counter\tconsumes\tobserved (group anon-counter, lag 0)
orders\t/shop/web\tconsumes\tdeclared (label archon.consumes)
payments\t/shop/billing\tconsumes\tconfigured (zk /config/shop/billing/kafka.topics.in); observed (group shop.billing, lag 2)
t1\t/loop/b\tconsumes\tconfigured (zk /config/loop/b/kafka.topics.in)
t2\t/loop/a\tconsumes\tdeclared (label archon.consumes)
'

test_expect_success 'the fixture: counter alone on 127.0.0.1, the others on agent-2; anon-counter has a member from 127.0.0.1' '
	emu /v2/apps?embed=apps.tasks | jq -r ".apps[] | .id as \$i | .tasks[] | \"\(\$i) \(.host)\"" |
		sort >$TRASH/hosts &&
	check_eq "/loop/a agent-2.emu.local
/loop/b agent-2.emu.local
/shop/billing agent-2.emu.local
/shop/ingest agent-2.emu.local
/shop/web agent-2.emu.local
/stream/counter 127.0.0.1" "$(cat $TRASH/hosts)" "task hosts" &&
	wait_for 15 grep -qx Stable $MNT/groups/anon-counter/state &&
	check_file_has $MNT/groups/anon-counter/members "	/127\.0\.0\.1	audit/0	"
'

test_expect_success 'pipeline/edges: declared, configured and observed edges (by group name and by hosts), with lag, in order' '
	wait_for 10 same $P/edges "$EDGES" && same $P/edges "$EDGES"
'

test_expect_success 'a group that is nobody'"'"'s (strangers: no such app, no members) makes no edge' '
	test -d $MNT/groups/strangers && ! grep -q strangers $P/edges
'

test_expect_success 'pipeline/cycles names the cycle /loop/a -> t1 -> /loop/b -> t2 -> /loop/a, and only it' '
	same $P/cycles "/loop/a -> t1 -> /loop/b -> t2 -> /loop/a\n"
'

test_expect_success 'downstream/ and upstream/: everything reachable, nearest first; groups are directories' '
	same $P/downstream/shop/ingest "orders\n/shop/web\npayments\n/shop/billing\n" &&
	same $P/upstream/shop/billing "payments\n/shop/web\norders\n/shop/ingest\n" &&
	same $P/upstream/shop/ingest "" && same $P/downstream/shop/billing "" &&
	same $P/downstream/loop/a "t1\n/loop/b\nt2\n" &&
	same $P/upstream/loop/a "t2\n/loop/b\nt1\n" &&
	same $P/upstream/stream/counter "audit\n" &&
	check_eq "loop shop stream" "$(ls $P/downstream | paste -sd" " -)" "ls downstream" &&
	check_eq "billing ingest web" "$(ls $P/upstream/shop | paste -sd" " -)" "ls upstream/shop" &&
	test -d $P/downstream/shop && test -f $P/downstream/shop/web &&
	expect_errno ENOENT cat $P/downstream/shop/nope
'

test_expect_success 'pipeline/orphans: topics nobody produces or nobody consumes' '
	same $P/orphans "audit\tno producer\nunused\tno producer, no consumer\n"
'

test_expect_success 'dot -Tsvg graph.dot: one node per app and topic, apps boxes, topics ellipses; the lagging edge red with its lag' '
	dot -Tsvg $P/graph.dot >$TRASH/p.svg &&
	sed -n "s/^<title>\(.*\)<\/title>\$/\1/p" $TRASH/p.svg | grep -v -- "&#45;&gt;" | grep -vx pipeline |
		sort >$TRASH/nodes &&
	check_eq "/loop/a /loop/b /shop/billing /shop/ingest /shop/web /stream/counter audit orders payments t1 t2 unused" \
		"$(paste -sd" " $TRASH/nodes)" "nodes drawn" &&
	check_eq 9 "$(grep -c "<g id=\"edge" $TRASH/p.svg)" "edges drawn" &&
	check_file_has $P/graph.dot "^	\"/shop/web\" \[shape=box\];\$" &&
	check_file_has $P/graph.dot "^	\"payments\" \[shape=ellipse\];\$" &&
	check_file_has $P/graph.dot "^	\"payments\" -> \"/shop/billing\" \[style=dashed, label=\"lag 2\", color=\"#cc0000\"" &&
	check_file_has $P/graph.dot "^	\"audit\" -> \"/stream/counter\" \[style=dotted, label=\"lag 0\"\];\$" &&
	check_file_has $P/graph.dot "^	\"t1\" -> \"/loop/b\" \[style=dashed\];\$"
'

test_expect_success 'graph.svg: valid SVG laid out in process, a node per app and topic, an edge per edge' '
	cp $P/graph.svg $TRASH/g.svg &&
	$PY - $TRASH/g.svg >$TRASH/svg.out <<-EOF &&
	import sys, xml.etree.ElementTree as ET
	ns = "{http://www.w3.org/2000/svg}"
	root = ET.parse(sys.argv[1]).getroot()
	assert root.tag == ns + "svg", root.tag
	nodes = sorted(g.find(ns + "title").text for g in root.iter(ns + "g") if g.get("class") == "node")
	edges = [g for g in root.iter(ns + "g") if g.get("class") == "edge"]
	print(" ".join(nodes)); print(len(edges))
	EOF
	check_eq "/loop/a /loop/b /shop/billing /shop/ingest /shop/web /stream/counter audit orders payments t1 t2 unused
9" "$(cat $TRASH/svg.out)" "svg nodes and edges"
'

test_expect_success 'an unhealthy app is filled red and labelled unhealthy in graph.dot and graph.svg' '
	task=$(emu_app /shop/web | jq -r ".tasks[0].id") &&
	emu /_emu/tasks/health -X POST -d "{\"taskId\": \"$task\", \"alive\": false}" >/dev/null &&
	wait_for 10 grep -q "/shop/web\\\\nunhealthy" $P/graph.dot &&
	check_file_has $P/graph.dot "^	\"/shop/web\" \[shape=box, style=filled, fillcolor=\"#f4cccc\", color=\"#cc0000\", label=\"/shop/web\\\\nunhealthy\"\];\$" &&
	grep -q ">unhealthy</text>" $P/graph.svg &&
	emu /_emu/tasks/health -X POST -d "{\"taskId\": \"$task\", \"alive\": true}" >/dev/null &&
	wait_for 10 check_file_has $P/graph.dot "^	\"/shop/web\" \[shape=box\];\$"
'

test_expect_success 'links: relative targets; readlink -f of every one is the existing directory it names' '
	check_eq ../../../../topics/orders "$(readlink $A/shop/web/consumes/orders)" "readlink consumes" &&
	check_eq ../../../../topics/payments "$(readlink $A/shop/web/produces/payments)" "readlink produces" &&
	check_eq ../../../apps/shop/web "$(readlink $MNT/topics/orders/consumers/web)" "readlink consumers" &&
	check_eq ../../../apps/shop/ingest "$(readlink $MNT/topics/orders/producers/ingest)" "readlink producers" &&
	check_eq counter "$(ls $MNT/topics/audit/consumers)" "ls consumers of audit (observed)" &&
	n=0 &&
	for l in $A/*/*/consumes/* $A/*/*/produces/* $MNT/topics/*/consumers/* $MNT/topics/*/producers/*; do
		test -L "$l" || { echo "$l is not a link"; exit 1; }
		t=$(readlink -f "$l") && test -d "$t" || { echo "$l -> $t: no directory"; exit 1; }
		case $l in
		*/consumes/* | */produces/*) want=$MNT/topics/${l##*/} ;;
		*) want=$MNT/apps$(app_named "${l##*/}") ;;
		esac
		check_eq "$want" "$t" "readlink -f $l"
		n=$((n + 1))
	done &&
	echo "# $n links resolved" && check_eq 18 "$n" "links (9 edges, each from both ends)"
'

test_expect_success 'ln -s under produces/: the label gains the topic, one PUT, one deployment; the link and edge appear' '
	emu_reset &&
	ln -s ../../../../topics/audit $A/shop/web/produces/audit &&
	check_eq "payments,audit" "$(label /shop/web archon.produces)" "label archon.produces" &&
	check_eq 1 "$(app_puts /shop/web)" "PUTs of /shop/web" && check_eq 1 "$(emu_writes)" "writes" &&
	check_eq ../../../../topics/audit "$(readlink $A/shop/web/produces/audit)" "readlink" &&
	grep -qx "/shop/web	audit	produces	declared (label archon.produces)" $P/edges &&
	check_eq web "$(ls $MNT/topics/audit/producers)" "producers of audit" &&
	wait_for 10 no_deployments
'

test_expect_success 'rm under produces/: the label loses the topic, one PUT; rm of the last one removes the label' '
	emu_reset &&
	rm $A/shop/web/produces/audit &&
	check_eq payments "$(label /shop/web archon.produces)" "label archon.produces" &&
	check_eq 1 "$(app_puts /shop/web)" "PUTs" && test ! -e $A/shop/web/produces/audit &&
	! grep -q "^/shop/web	audit	" $P/edges && wait_for 10 no_deployments &&
	emu_reset && rm $A/shop/ingest/produces/orders &&
	check_eq absent "$(label /shop/ingest archon.produces)" "label archon.produces of ingest" &&
	check_eq 1 "$(app_puts /shop/ingest)" "PUTs" && wait_for 10 no_deployments &&
	ln -s ../../../../topics/orders $A/shop/ingest/produces/orders &&
	check_eq orders "$(label /shop/ingest archon.produces)" "label restored" &&
	wait_for 10 no_deployments
'

test_expect_success 'refused, nothing sent, words in .error: a target that is not the topic, no such topic, a configured or observed edge, a link in topics/' '
	emu_reset &&
	expect_errno EINVAL ln -s ../../../../topics/orders $A/shop/web/produces/audit &&
	check_file_has $A/shop/web/produces/.error "must point at the topic of its name: ln -s ../../../../topics/audit" &&
	expect_errno EINVAL ln -s /etc $A/shop/web/produces/audit &&
	expect_errno ENOENT ln -s ../../../../topics/nope $A/shop/web/produces/nope &&
	check_file_has $A/shop/web/produces/.error "there is no topic nope" &&
	expect_errno EPERM rm $A/shop/billing/consumes/payments &&
	check_file_has $A/shop/billing/consumes/.error "configured in ZooKeeper, not declared in the label archon.consumes" &&
	expect_errno EPERM rm $A/stream/counter/consumes/audit &&
	check_file_has $A/stream/counter/consumes/.error "observed from a consumer group" &&
	! ln -s ../../../apps/shop/web $MNT/topics/audit/consumers/web 2>/dev/null &&
	! rm $MNT/topics/orders/consumers/web 2>/dev/null &&
	check_eq 0 "$(emu_writes)" "writes to Marathon"
'

test_expect_success 'the configured edge follows ZooKeeper: emptied, the cycle is gone; restored, it is back' '
	zk set /config/loop/b/kafka.topics.in "" &&
	wait_for 10 same $P/cycles "" && ! grep -q "^t1	/loop/b	" $P/edges &&
	same $P/downstream/loop/a "t1\n" &&
	zk set /config/loop/b/kafka.topics.in "t1" &&
	wait_for 10 same $P/cycles "/loop/a -> t1 -> /loop/b -> t2 -> /loop/a\n" &&
	same $P/cycles "/loop/a -> t1 -> /loop/b -> t2 -> /loop/a\n"
'

test_expect_success 'the graph costs no request of its own: a change re-reads only the app it names, and every pipeline file and link is read from the snapshots' '
	emu_reset &&
	emu /v2/apps/stream/counter -X PUT -H "Content-Type: application/json" \
		-d "{\"labels\": {\"team\": \"stream\"}}" >/dev/null &&
	wait_for 10 no_deployments && sleep 1.1 &&
	emu /_emu/requests | jq -r ".[] | \"\(.method) \(.path)\"" >$TRASH/reqs &&
	echo "# the change: $(paste -sd, $TRASH/reqs)" &&
	! grep "^GET /v2/apps/" $TRASH/reqs |
		grep -v -e "^GET /v2/apps/stream/counter\$" -e "^GET /v2/apps/stream/\*\$" &&
	grep -q "^GET /v2/apps/stream/counter\$" $TRASH/reqs &&
	emu_reset &&
	cat $P/edges $P/cycles $P/orphans $P/graph.dot $P/downstream/shop/web $P/upstream/loop/b >/dev/null &&
	ls -l $A/*/*/consumes $A/*/*/produces $MNT/topics/*/consumers >/dev/null &&
	grep -q "team.*stream" $A/stream/counter/app.json &&
	emu /_emu/requests | jq -r ".[] | \"\(.method) \(.path)\"" >$TRASH/reqs &&
	echo "# reading: $(paste -sd, $TRASH/reqs)" &&
	! grep -q "^GET /v2/apps/" $TRASH/reqs &&
	test "$(grep -c "^GET /v2/apps\$" $TRASH/reqs)" -le 1
'

test_expect_success 'options: label keys, ZooKeeper templates and the group rule' '
	stop_counter && umount_archonfs &&
	app /opt/svc "$NOT_HERE, \"labels\": {\"io.in\": \"orders\"}" &&
	zk create /svc "" && zk create /svc/opt "" && zk create /svc/opt/svc "" &&
	zk create /svc/opt/svc/out "audit" &&
	printf "m1\n" | kc -P -t t1 &&
	timeout 30 kcat -b "$ARCHONFS_KAFKA" -G grp-opt.svc -X auto.offset.reset=earliest t1 -e -q >/dev/null &&
	wait_for 10 no_deployments &&
	mount_archonfs --marathon "$ARCHONFS_MARATHON" --zk "$ARCHONFS_ZK" --kafka "$ARCHONFS_KAFKA" \
		-o timeout=5,consumes_label=io.in,produces_label=io.out,zk_produces=/svc/{app}/out,group_app=grp-{app} &&
	grep -v "^from" $P/edges | grep "/opt/svc" >$TRASH/opt &&
	same $TRASH/opt "/opt/svc\taudit\tproduces\tconfigured (zk /svc/opt/svc/out)\norders\t/opt/svc\tconsumes\tdeclared (label io.in)\nt1\t/opt/svc\tconsumes\tobserved (group grp-opt.svc, lag 0)\n" &&
	! grep -q "label archon" $P/edges &&
	check_file_has $MNT/.archonfs/config "^consumes_label: io\.in\$" &&
	check_file_has $MNT/.archonfs/config "^group_app: grp-\{app\}\$"
'

test_done
