#!/bin/bash
# t0100: the Marathon emulator (tests/marathon_emu.py) answers like Marathon
# 1.10 (shared/reference/API-NOTES.md sections 1 and 4), checked with curl and
# with Debian's python3-marathon client; and its /_emu control API works.
. "$(dirname "$0")/lib.sh"

BENCH=$TESTS/fixtures/marathon/155_1000.json

# req METHOD PATH [BODY]: status code on stdout; headers in $TRASH/hdr, body
# in $TRASH/body.
req() {
	local method=$1 path=$2
	shift 2
	if [ $# -gt 0 ]; then
		curl -sS --max-time 10 -X "$method" -D "$TRASH/hdr" -o "$TRASH/body" -w '%{http_code}' \
			-H 'Content-Type: application/json' --data-binary "$1" "$ARCHONFS_MARATHON$path"
	else
		curl -sS --max-time 10 -X "$method" -D "$TRASH/hdr" -o "$TRASH/body" -w '%{http_code}' \
			"$ARCHONFS_MARATHON$path"
	fi
}

# expect STATUS METHOD PATH [BODY]
expect() {
	local want=$1 got
	shift
	got=$(req "$@")
	if [ "$got" != "$want" ]; then
		echo "$* -> HTTP $got, want $want; body:"
		cat "$TRASH/body"; echo
		return 1
	fi
}

# jqe EXPR: the last body satisfies the jq expression.
jqe() {
	if ! jq -e "$1" "$TRASH/body" >/dev/null; then
		echo "body does not satisfy jq '$1':"
		head -c 2000 "$TRASH/body"; echo
		return 1
	fi
}

# hdr NAME VALUE: the last response had that header with exactly that value.
hdr() {
	local got
	got=$(grep -i "^$1:" "$TRASH/hdr" | head -n 1 | cut -d: -f2- | sed -e 's/^ //' -e 's/\r$//')
	check_eq "$2" "$got" "header $1"
}

nohdr() {
	if grep -qi "^$1:" "$TRASH/hdr"; then
		echo "unexpected header $1:"; cat "$TRASH/hdr"; return 1
	fi
}

knobs() {
	curl -sS --max-time 5 -X POST -d "$1" "$ARCHONFS_MARATHON/_emu/knobs" >/dev/null
}

# wait_idle: until no deployment runs (max 10 s).
wait_idle() {
	local i
	for i in $(seq 1 200); do
		[ "$(emu /v2/deployments)" = "[]" ] && return 0
		sleep 0.05
	done
	echo "deployments still running:"; emu /v2/deployments; echo
	return 1
}

start_cluster --load "$BENCH" --deploy-seconds 0.3 --task-start-seconds 0.1 || {
	echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }
say "emulator at $ARCHONFS_MARATHON"
PORT=${ARCHONFS_MARATHON##*:}

test_expect_success 'env file gives ARCHONFS_MARATHON=http://127.0.0.1:PORT and /ping answers pong' '
	case $ARCHONFS_MARATHON in http://127.0.0.1:[0-9]*) ;; *) echo "bad $ARCHONFS_MARATHON"; exit 1;; esac
	expect 200 GET /ping
	check_eq pong "$(tr -d "\n" <"$TRASH/body")"
	hdr Content-Type text/plain
'

test_expect_success 'every answer carries X-Marathon-Leader and the anti-cache headers' '
	for p in /v2/apps /v2/nope /ping /v2/apps/nope; do
		req GET $p >/dev/null
		hdr X-Marathon-Leader "http://127.0.0.1:$PORT"
		hdr Cache-Control "no-cache, no-store, must-revalidate"
		hdr Pragma no-cache
		hdr Expires 0
		hdr X-Frame-Options DENY
		hdr X-XSS-Protection "1; mode=block"
		grep -qi "^Content-Length:" "$TRASH/hdr"
	done
'

test_expect_success 'loading 155_1000.json gives its 1000 apps, definitions kept, defaults filled' '
	expect 200 GET "/v2/apps/cudcos/*"
	jqe "(.\"*\" | length) == 1000"
	jqe "[.\"*\"[] | select(.maxLaunchDelaySeconds == 3600 and .instances == 0 and .role == \"*\")] | length == 1000"
	want=$(jq -c ".apps[] | select(.id == \"/cudcos/mactest1\") | .versionInfo" "$BENCH")
	jqe ".\"*\"[] | select(.id == \"/cudcos/mactest1\") | .versionInfo == $want and .version == .versionInfo.lastScalingAt"
	expect 200 GET /v2/apps
	jqe "[.apps[] | select(.id | startswith(\"/cudcos/\"))] | length == 1000"
	jqe "[.apps[] | has(\"tasksStaged\") and has(\"tasksRunning\") and has(\"tasksHealthy\") and has(\"tasksUnhealthy\") and has(\"deployments\")] | all"
'

test_expect_success '/v2/info and /v2/leader' '
	expect 200 GET /v2/info
	jqe ".name == \"marathon\" and .version == \"1.10.26\" and .elected == true"
	jqe ".leader == \"127.0.0.1:$PORT\" and (.frameworkId | endswith(\"-0000\"))"
	jqe ".marathon_config.master and .marathon_config.mesos_leader_ui_url and .zookeeper_config.zk_max_versions == 50 and .http_config.http_port == $PORT"
	expect 200 GET /v2/leader
	jqe ". == {\"leader\":\"127.0.0.1:$PORT\"}"
	expect 200 GET /v2/queue
	jqe ". == {\"queue\":[]}"
'

test_expect_success 'POST /v2/apps: 201, Location, Marathon-Deployment-Id, counts zero, deployments[{id}]' '
	knobs "{\"deploy_seconds\":2}"
	expect 201 POST /v2/apps "{\"id\":\"t/web\",\"cmd\":\"sleep 100\",\"instances\":2,\"labels\":{\"tier\":\"web\"},\"healthChecks\":[{\"path\":\"/h\"}]}"
	dep=$(grep -i "^Marathon-Deployment-Id:" "$TRASH/hdr" | cut -d" " -f2 | tr -d "\r")
	hdr Location "http://127.0.0.1:$PORT/t/web"
	jqe ".id == \"/t/web\" and .deployments == [{\"id\":\"$dep\"}]"
	jqe ".tasksStaged == 0 and .tasksRunning == 0 and .tasksHealthy == 0 and .tasksUnhealthy == 0"
	jqe ".cpus == 1 and .mem == 128 and .disk == 0 and .gpus == 0 and .executor == \"\" and .backoffSeconds == 1 and .backoffFactor == 1.15 and .maxLaunchDelaySeconds == 300"
	jqe ".requirePorts == false and .networks == [{\"mode\":\"host\"}] and .killSelection == \"YOUNGEST_FIRST\""
	jqe ".portDefinitions | length == 1 and .[0].name == \"default\" and .[0].protocol == \"tcp\" and .[0].port >= 10000"
	jqe ".upgradeStrategy == {\"maximumOverCapacity\":1,\"minimumHealthCapacity\":1} and .unreachableStrategy == {\"inactiveAfterSeconds\":0,\"expungeAfterSeconds\":0}"
	jqe ".version == .versionInfo.lastConfigChangeAt and .version == .versionInfo.lastScalingAt"
	jqe ".healthChecks[0] | .protocol == \"HTTP\" and .portIndex == 0 and .gracePeriodSeconds == 300"
	echo "$dep" >"$TRASH/dep1"
'

test_expect_success 'the deployment is a bare array entry until done, with 1-based currentStep' '
	expect 200 GET /v2/deployments
	jqe "type == \"array\""
	jqe ".[] | select(.id == \"$(cat "$TRASH/dep1")\") | .affectedApps == [\"/t/web\"] and .totalSteps == 2 and .currentStep >= 1 and (.currentActions[0] | has(\"action\") and has(\"app\") and has(\"readinessCheckResults\")) and .steps[0].actions[0].action == \"StartApplication\" and .steps[1].actions[0].action == \"ScaleApplication\""
	expect 200 GET /v2/apps/t/web
	jqe ".app.deployments == [{\"id\":\"$(cat "$TRASH/dep1")\"}]"
	knobs "{\"deploy_seconds\":0.3}"
	wait_idle
	expect 200 GET /v2/deployments
	jqe ". == []"
'

test_expect_success 'wrappers: {"app"}, {"apps"}, {"*"}, {"tasks"}, {"versions"}; bare version; tasks running and healthy' '
	expect 200 GET /v2/apps/t/web
	jqe ".app.tasksRunning == 2 and .app.tasksHealthy == 2 and (.app.tasks | length) == 2 and .app.deployments == []"
	jqe ".app.tasks[0] | .state == \"TASK_RUNNING\" and .appId == \"/t/web\" and (.id | test(\"^t_web\\\\.instance-[0-9a-f-]{36}\\\\._app\\\\.1$\")) and (.host | endswith(\".emu.local\")) and (.slaveId | test(\"-S[0-9]+$\")) and (.ports | length) == 1 and .ports[0] >= 31000 and has(\"startedAt\") and .healthCheckResults[0].alive == true and .role == \"*\" and .localVolumes == []"
	expect 200 GET "/v2/apps?id=t/web"
	jqe "(.apps | length) == 1 and (.apps[0] | has(\"tasks\") | not)"
	expect 200 GET "/v2/apps/t/*"
	jqe "(.\"*\" | map(.id)) == [\"/t/web\"]"
	expect 200 GET /v2/apps/t/web/tasks
	jqe "(.tasks | length) == 2"
	expect 200 GET /v2/apps/t/web/versions
	jqe "(.versions | length) == 1"
	v=$(jq -r ".versions[0]" "$TRASH/body")
	expect 200 GET "/v2/apps/t/web/versions/$v"
	jqe ".id == \"/t/web\" and .version == \"$v\" and (has(\"tasks\") | not) and (has(\"tasksRunning\") | not)"
	expect 200 GET "/v2/tasks?status=running"
	jqe "[.tasks[] | select(.appId == \"/t/web\")] | length == 2 and all(.servicePorts | length == 1)"
'

test_expect_success 'embed parsing: prefixes stripped, unknown words ignored, tasks implies deployments' '
	for e in "embed=apps.tasks" "embed=app.tasks" "embed=group.apps.tasks" "embed=tasks" "embed=apps.bogus&embed=apps.tasks&embed=nonsense"; do
		expect 200 GET "/v2/apps?id=t/web&$e"
		jqe ".apps[0] | (.tasks | length) == 2 and has(\"deployments\") and has(\"tasksRunning\")"
	done
	expect 200 GET "/v2/apps?id=t/web&embed=apps.count&embed=whatever"
	jqe ".apps[0] | (has(\"tasks\") | not) and has(\"tasksRunning\")"
	expect 200 GET "/v2/apps?id=t/web&embed=apps.readiness&embed=apps.taskStats&embed=apps.lastTaskFailure"
	jqe ".apps[0] | .readinessCheckResults == [] and .tasksStats.totalSummary.stats.counts.running == 2"
'

test_expect_success 'cmd=, id= and label= filters' '
	expect 200 GET "/v2/apps?cmd=SLEEP%20100"
	jqe ".apps | map(.id) == [\"/t/web\"]"
	expect 200 GET "/v2/apps?label=tier==web"
	jqe ".apps | map(.id) == [\"/t/web\"]"
	expect 200 GET "/v2/apps?label=tier%20in%20(db,%20web)"
	jqe ".apps | map(.id) == [\"/t/web\"]"
	expect 200 GET "/v2/apps?label=tier!=web"
	jqe ".apps == []"
'

test_expect_success 'error bodies of the 1.7 table' '
	expect 400 POST /v2/apps "{\"id\": \"x\","
	jqe ".message == \"Invalid JSON\" and (.details | type) == \"string\""
	expect 400 POST /v2/apps ""
	jqe ".message == \"Please specify data in JSON format\" and (.details | type) == \"string\""
	expect 422 POST /v2/apps "{\"id\":123,\"cmd\":\"x\"}"
	jqe ". == {\"message\":\"Invalid JSON\",\"details\":[{\"path\":\"/id\",\"errors\":[\"error.expected.jsstring\"]}]}"
	expect 422 POST /v2/apps "{\"id\":\"/t/nocmd\"}"
	jqe ". == {\"message\":\"Object is not valid\",\"details\":[{\"path\":\"/\",\"errors\":[\"AppDefinition must either contain one of '"'"'cmd'"'"' or '"'"'args'"'"', and/or a '"'"'container'"'"'.\"]}]}"
	expect 422 POST /v2/apps "{\"id\":\"/t/Bad_Name\",\"cmd\":\"x\"}"
	jqe ".message == \"Object is not valid\" and .details[0].path == \"/id\" and (.details[0].errors[0] | startswith(\"must fully match regular expression \"))"
	expect 422 POST /v2/apps "{\"id\":\"/t/tasks\",\"cmd\":\"x\"}"
	jqe ".details[0].errors[0] | startswith(\"must not end with any of the following reserved keywords: restart, tasks, versions\")"
	expect 422 POST /v2/apps "{\"id\":\"/t/neg\",\"cmd\":\"x\",\"instances\":-1,\"cpus\":0,\"env\":{\"A\":1},\"labels\":{\"l\":true}}"
	jqe ".message == \"Invalid JSON\" and ([.details[].path] | sort) == [\"/cpus\",\"/env/A\",\"/instances\",\"/labels/l\"]"
	expect 409 POST /v2/apps "{\"id\":\"/t/web\",\"cmd\":\"x\"}"
	jqe ". == {\"message\":\"An app with id [/t/web] already exists.\"}"
	expect 404 GET /v2/apps/t/nope
	jqe ". == {\"message\":\"App '"'"'/t/nope'"'"' does not exist\"}"
	expect 404 GET "/v2/apps/nogroup/*"
	jqe ". == {\"message\":\"Group '"'"'/nogroup'"'"' does not exist\"}"
	expect 404 GET /v2/groups/nogroup
	jqe ". == {\"message\":\"Group '"'"'/nogroup'"'"' does not exist\"}"
	expect 404 GET /v2/foo
	jqe ". == {\"message\":\"URI not found: /v2/foo\"}"
	expect 404 GET /v2/apps/t/web/versions/2001-01-01T00:00:00.000Z
	jqe ". == {\"message\":\"App '"'"'/t/web'"'"' does not exist in version 2001-01-01T00:00:00.000Z\"}"
	expect 404 DELETE /v2/apps/t/web/tasks/t_web.instance-00000000-0000-0000-0000-000000000000._app.1
	jqe ". == {\"message\":\"Task '"'"'t_web.instance-00000000-0000-0000-0000-000000000000._app.1'"'"' does not exist\"}"
	expect 404 DELETE /v2/deployments/nope
	jqe ". == {\"message\":\"DeploymentPlan nope does not exist\"}"
	expect 400 DELETE "/v2/apps/t/web/tasks?scale=true&wipe=true"
	jqe ". == {\"message\":\"You cannot use scale and wipe at the same time.\"}"
	expect 404 PATCH /v2/apps/t/nope "{\"instances\":1}"
	jqe ". == {\"message\":\"App '"'"'/t/nope'"'"' does not exist\"}"
'

test_expect_success 'lock: 409 with deployments[] unless force=true; DELETE app defaults to force' '
	knobs "{\"deploy_seconds\":3}"
	expect 200 PUT /v2/apps/t/web "{\"instances\":3}"
	dep=$(jq -r .deploymentId "$TRASH/body")
	hdr Marathon-Deployment-Id "$dep"
	jqe "keys == [\"deploymentId\",\"version\"]"
	expect 409 PUT /v2/apps/t/web "{\"instances\":4}"
	jqe ". == {\"message\":\"App is locked by one or more deployments. Override with the option '"'"'?force=true'"'"'. View details at '"'"'/v2/deployments/$dep'"'"'.\",\"deployments\":[{\"id\":\"$dep\"}]}"
	expect 409 POST /v2/apps/t/web/restart
	expect 200 PUT "/v2/apps/t/web?force=true" "{\"instances\":2}"
	dep2=$(jq -r .deploymentId "$TRASH/body")
	expect 200 GET /v2/deployments
	jqe "map(.id) == [\"$dep2\"]"
	expect 201 POST /v2/apps "{\"id\":\"/t/gone\",\"cmd\":\"sleep 1\"}"
	expect 200 DELETE /v2/apps/t/gone
	jqe "has(\"version\") and has(\"deploymentId\")"
	expect 404 GET /v2/apps/t/gone
	knobs "{\"deploy_seconds\":0.3}"
	wait_idle
'

test_expect_success 'DELETE /v2/deployments: rollback gives a new deployment, force=true gives 202 and an empty body' '
	knobs "{\"deploy_seconds\":3}"
	expect 200 PUT /v2/apps/t/web "{\"instances\":5}"
	dep=$(jq -r .deploymentId "$TRASH/body")
	expect 200 DELETE /v2/deployments/$dep
	jqe "keys == [\"deploymentId\",\"version\"] and .deploymentId != \"$dep\""
	expect 200 GET /v2/apps/t/web
	jqe ".app.instances == 2"
	expect 200 PUT "/v2/apps/t/web?force=true" "{\"instances\":3}"
	dep=$(jq -r .deploymentId "$TRASH/body")
	expect 202 DELETE "/v2/deployments/$dep?force=true"
	check_eq 0 "$(wc -c <"$TRASH/body")"
	expect 200 GET /v2/deployments
	jqe ". == []"
	knobs "{\"deploy_seconds\":0.3}"
	expect 200 PUT "/v2/apps/t/web?force=true" "{\"instances\":2}"
	wait_idle
'

test_expect_success 'partialUpdate: merge by default, replace with partialUpdate=false; PUT on an unknown id creates (201)' '
	expect 200 PUT /v2/apps/t/web "{\"mem\":64}"
	wait_idle
	expect 200 GET /v2/apps/t/web
	jqe ".app.mem == 64 and .app.labels == {\"tier\":\"web\"} and .app.instances == 2 and .app.cmd == \"sleep 100\""
	jqe ".app.versionInfo.lastConfigChangeAt == .app.version"
	expect 200 PATCH /v2/apps/t/web "{\"labels\":{\"tier\":\"api\"}}"
	wait_idle
	expect 200 GET /v2/apps/t/web
	jqe ".app.mem == 64 and .app.labels == {\"tier\":\"api\"}"
	expect 200 PUT "/v2/apps/t/web?partialUpdate=false" "{\"cmd\":\"sleep 200\"}"
	wait_idle
	expect 200 GET /v2/apps/t/web
	jqe ".app.mem == 128 and .app.labels == {} and .app.instances == 1 and (.app | has(\"healthChecks\") | not) and .app.tasksRunning == 1"
	expect 201 PUT /v2/apps/t/put-made "{\"cmd\":\"sleep 5\",\"instances\":0}"
	hdr Location "http://127.0.0.1:$PORT/t/put-made"
	jqe "keys == [\"deploymentId\",\"version\"]"
	wait_idle
'

test_expect_success 'versions: one per config change and per scale, bare app per version, at most 50' '
	expect 200 GET /v2/apps/t/web/versions
	n=$(jq ".versions | length" "$TRASH/body")
	[ "$n" -ge 4 ] || { echo "only $n versions"; exit 1; }
	jqe ".versions == (.versions | sort | reverse)"
	for i in $(seq 1 55); do
		req PUT "/v2/apps/t/put-made?force=true" "{\"instances\":$((i % 2))}" >/dev/null
	done
	expect 200 GET /v2/apps/t/put-made/versions
	jqe "(.versions | length) == 50"
	expect 200 GET /v2/apps/t/put-made
	jqe ".app.versionInfo.lastScalingAt == .app.version and .app.versionInfo.lastConfigChangeAt < .app.version"
	wait_idle
'

test_expect_success 'tasks: kill without scale relaunches the same instance (incarnation 2); scale=true lowers instances' '
	expect 200 PUT /v2/apps/t/web "{\"instances\":3}"
	wait_idle
	expect 200 GET /v2/apps/t/web/tasks
	tid=$(jq -r ".tasks[0].id" "$TRASH/body")
	inst=${tid%._app.1}
	expect 200 DELETE "/v2/apps/t/web/tasks/$tid"
	jqe ".task.id == \"$tid\" and .task.state == \"TASK_RUNNING\""
	sleep 0.3
	expect 200 GET /v2/apps/t/web/tasks
	jqe "(.tasks | length) == 3 and ([.tasks[].id] | index(\"$inst._app.2\")) != null and all(.tasks[]; .state == \"TASK_RUNNING\")"
	expect 200 DELETE "/v2/apps/t/web/tasks?host=agent-nowhere.emu.local"
	jqe ". == {\"tasks\":[]}"
	expect 200 POST "/v2/tasks/delete?scale=true" "{\"ids\":[\"$inst._app.2\"]}"
	jqe "keys == [\"deploymentId\",\"version\"]"
	wait_idle
	expect 200 GET /v2/apps/t/web
	jqe ".app.instances == 2 and (.app.tasks | length) == 2"
	expect 200 DELETE "/v2/apps/t/web/tasks?wipe=true"
	jqe "(.tasks | length) == 2"
	sleep 0.3
	expect 200 GET /v2/apps/t/web/tasks
	jqe "(.tasks | length) == 2 and all(.tasks[]; .id | endswith(\"._app.1\"))"
	expect 400 POST /v2/tasks/delete "{\"ids\":[\"garbage\"]}"
	jqe ".message | startswith(\"Invalid task id '"'"'garbage'"'"'.\")"
'

test_expect_success 'hostname constraints place tasks: CLUSTER on that agent only, UNLIKE never on it' '
	expect 201 POST /v2/apps "{\"id\":\"/t/pinned\",\"cmd\":\"sleep 1\",\"instances\":3,\"constraints\":[[\"hostname\",\"CLUSTER\",\"agent-2.emu.local\"]]}"
	expect 201 POST /v2/apps "{\"id\":\"/t/avoid\",\"cmd\":\"sleep 1\",\"instances\":3,\"constraints\":[[\"hostname\",\"UNLIKE\",\"agent-2\\\\..*\"]]}"
	wait_idle
	expect 200 GET /v2/apps/t/pinned/tasks
	jqe "(.tasks | length) == 3 and all(.tasks[]; .host == \"agent-2.emu.local\")"
	expect 200 GET /v2/apps/t/avoid/tasks
	jqe "(.tasks | length) == 3 and all(.tasks[]; .host == \"agent-1.emu.local\")"
	expect 200 DELETE /v2/apps/t/pinned
	expect 200 DELETE /v2/apps/t/avoid
	wait_idle
'

test_expect_success 'a failing health check: tasksUnhealthy, healthCheckResults alive false with lastFailure, health_status_changed_event; healed again' '
	expect 201 POST /v2/apps "{\"id\":\"/t/hc\",\"cmd\":\"sleep 1\",\"instances\":1,\"healthChecks\":[{\"protocol\":\"COMMAND\",\"command\":{\"value\":\"true\"}}]}"
	wait_idle
	expect 200 GET /v2/apps/t/hc
	tid=$(jq -r ".app.tasks[0].id" "$TRASH/body")
	jqe ".app.tasksHealthy == 1 and .app.tasksUnhealthy == 0"
	{ curl -sN --max-time 3 -H "Accept: text/event-stream" "$ARCHONFS_MARATHON/v2/events?event_type=health_status_changed_event" >$TRASH/hc.sse || true; } &
	sleep 0.5
	expect 200 POST /_emu/tasks/health "{\"taskId\":\"$tid\",\"alive\":false}"
	wait
	grep -q "^event: health_status_changed_event" $TRASH/hc.sse
	sed -n "s/^data: //p" $TRASH/hc.sse | tr -d "\r" | jq -e "select(.eventType == \"health_status_changed_event\") | .appId == \"/t/hc\" and .alive == false and (.instanceId | length) > 0 and (.version | length) > 0" >/dev/null
	expect 200 GET /v2/apps/t/hc
	jqe ".app.tasksHealthy == 0 and .app.tasksUnhealthy == 1 and .app.tasksRunning == 1"
	jqe ".app.tasks[0].healthCheckResults[0] | .alive == false and .consecutiveFailures == 1 and has(\"lastFailure\") and has(\"firstSuccess\") and .lastFailureCause != null"
	expect 200 POST /_emu/tasks/health "{\"taskId\":\"$tid\",\"alive\":true}"
	expect 200 GET /v2/apps/t/hc
	jqe ".app.tasksHealthy == 1 and .app.tasksUnhealthy == 0 and .app.tasks[0].healthCheckResults[0].alive == true"
	expect 400 POST /_emu/tasks/health "{\"taskId\":\"$tid\",\"alive\":\"no\"}"
	expect 200 DELETE /v2/apps/t/hc
	wait_idle
'

test_expect_success 'groups: root shape, empty groups stay until DELETE /v2/groups/<id> and are no apps' '
	expect 200 GET /v2/groups
	jqe ".id == \"/\" and has(\"apps\") and has(\"groups\") and .pods == [] and .dependencies == [] and .enforceRole == false and has(\"version\")"
	jqe "[.groups[].id] | index(\"/t\") != null and index(\"/cudcos\") != null"
	expect 201 POST /v2/apps "{\"id\":\"/g1/sub/a\",\"cmd\":\"sleep 1\",\"instances\":0}"
	wait_idle
	expect 200 DELETE /v2/apps/g1/sub/a
	wait_idle
	expect 200 GET /v2/groups/g1
	jqe ".id == \"/g1\" and .apps == [] and .groups[0].id == \"/g1/sub\" and .groups[0].apps == []"
	expect 200 GET "/v2/apps/g1/*"
	jqe ". == {\"*\":[]}"
	expect 200 DELETE /v2/groups/g1
	jqe "keys == [\"deploymentId\",\"version\"]"
	expect 404 GET /v2/groups/g1/sub
'

test_expect_success 'GET /v2/events without Accept: text/event-stream exactly is 405 (HTML)' '
	for a in "" "*/*" "text/event-stream, */*" "application/json"; do
		code=$(curl -sS --max-time 5 -o "$TRASH/body" -D "$TRASH/hdr" -w "%{http_code}" -H "Accept: $a" "$ARCHONFS_MARATHON/v2/events")
		check_eq 405 "$code" "status for Accept: $a"
		grep -q "HTTP ERROR 405" "$TRASH/body"
		grep -qi "^Content-Type: text/html" "$TRASH/hdr"
	done
'

test_expect_success 'SSE: headers, CRLF framing, attached first, heartbeat, event_type filter' '
	knobs "{\"heartbeat_seconds\":0.3}"
	curl -sSN --max-time 2 -H "Accept: text/event-stream" -D "$TRASH/sse.hdr" -o "$TRASH/sse.all" "$ARCHONFS_MARATHON/v2/events" &
	p1=$!
	curl -sSN --max-time 2 -H "Accept: text/event-stream" -o "$TRASH/sse.f" "$ARCHONFS_MARATHON/v2/events?event_type=deployment_success&event_type=event_stream_attached" &
	p2=$!
	sleep 0.5
	expect 201 POST /v2/apps "{\"id\":\"/t/sse\",\"cmd\":\"sleep 1\"}"
	wait $p1 || true
	wait $p2 || true
	grep -q "^HTTP/1.1 200" "$TRASH/sse.hdr"
	cp "$TRASH/sse.hdr" "$TRASH/hdr"
	hdr Content-Type "text/event-stream;charset=utf-8"
	hdr Connection close
	hdr X-Marathon-Leader "http://127.0.0.1:$PORT"
	nohdr Content-Length
	nohdr Transfer-Encoding
	$PY - "$TRASH/sse.all" "$TRASH/sse.f" <<-\EOF
	import json, sys
	raw = open(sys.argv[1], "rb").read()
	assert raw.startswith(b"event: event_stream_attached\r\ndata: {"), raw[:80]
	assert b"\r\n\r\n\r\n" in raw, "no heartbeat seen"
	frames = [f for f in raw.split(b"\r\n\r\n") if f.strip(b"\r\n")]
	types = []
	for f in frames:
	    f = f.lstrip(b"\r\n")
	    lines = f.split(b"\r\n")
	    assert len(lines) == 2 and lines[0].startswith(b"event: ") and lines[1].startswith(b"data: "), f
	    assert b"\n" not in f.replace(b"\r\n", b""), f
	    d = json.loads(lines[1][6:])
	    assert d["eventType"] == lines[0][7:].decode() and "timestamp" in d, d
	    types.append(d["eventType"])
	for t in ("api_post_event", "group_change_success", "deployment_info", "deployment_step_success",
	          "status_update_event", "instance_changed_event", "deployment_success"):
	    assert t in types, (t, types)
	f = [x for x in open(sys.argv[2], "rb").read().split(b"\r\n") if x.startswith(b"event: ")]
	assert f[0] == b"event: event_stream_attached", f
	assert set(f) <= {b"event: event_stream_attached", b"event: deployment_success"}, f
	assert b"event: deployment_success" in f, f
	EOF
	knobs "{\"heartbeat_seconds\":10}"
'

test_expect_success 'SSE: POST /_emu/events/close ends open streams' '
	curl -sSN --max-time 8 -H "Accept: text/event-stream" -o "$TRASH/sse.c" "$ARCHONFS_MARATHON/v2/events" &
	p=$!
	sleep 0.4
	curl -sS -X POST "$ARCHONFS_MARATHON/_emu/events/close" -o "$TRASH/body"
	jqe ".closed >= 1"
	start=$(date +%s)
	wait $p
	[ $(( $(date +%s) - start )) -lt 3 ]
	grep -q "event_stream_attached" "$TRASH/sse.c"
'

test_expect_success 'SSE: a reader that does not read is disconnected once its buffer overflows' '
	knobs "{\"sse_max_outstanding\":50,\"sse_sndbuf\":4096}"
	expect 201 POST /v2/apps "{\"id\":\"/t/burst\",\"cmd\":\"sleep 1\",\"instances\":0}"
	wait_idle
	$PY - "$ARCHONFS_MARATHON" <<-\EOF
	import json, socket, sys, time, urllib.request
	base = sys.argv[1]
	host, port = base.split("//")[1].split(":")
	def state():
	    return json.load(urllib.request.urlopen(base + "/_emu/state"))
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
	s.connect((host, int(port)))
	s.sendall(b"GET /v2/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	deadline = time.time() + 5
	while state()["subscribers"] < 1 and time.time() < deadline:
	    time.sleep(0.05)
	assert state()["subscribers"] == 1
	req = urllib.request.Request(base + "/v2/apps/t/burst?force=true", data=b"{\"instances\":150}", method="PUT")
	urllib.request.urlopen(req).read()
	deadline = time.time() + 8
	while state()["subscribers"] > 0 and time.time() < deadline:
	    time.sleep(0.1)
	assert state()["subscribers"] == 0, "slow reader still attached"
	s.settimeout(5)
	got = 0
	try:
	    while True:
	        b = s.recv(65536)
	        if not b:
	            break
	        got += len(b)
	except ConnectionResetError:
	    pass
	print("slow reader got %d bytes before the close" % got)
	EOF
	knobs "{\"sse_max_outstanding\":1024,\"sse_sndbuf\":null}"
	expect 200 DELETE /v2/apps/t/burst
	wait_idle
'

test_expect_success 'keep-alive: curl reuses one connection for several requests' '
	curl -sv --max-time 5 -o /dev/null -o /dev/null -o /dev/null "$ARCHONFS_MARATHON/v2/apps" "$ARCHONFS_MARATHON/v2/info" "$ARCHONFS_MARATHON/v2/apps/nope" 2>"$TRASH/curl.err"
	check_eq 2 "$(grep -c "Re-using existing connection" "$TRASH/curl.err")"
'

test_expect_success 'python3-marathon (Debian) client drives the emulator: list, create, scale, tasks, kill, versions, 409, delete, info, leader, events' '
	$PY "$TESTS/marathon_client_check.py" "$ARCHONFS_MARATHON"
'

test_expect_success '/_emu/requests and /_emu/stats count exactly the requests made' '
	wait_idle
	curl -sS -X DELETE "$ARCHONFS_MARATHON/_emu/requests" >/dev/null
	emu /v2/apps >/dev/null
	emu "/v2/apps?embed=apps.tasks" >/dev/null
	emu /v2/info >/dev/null
	emu /v2/nope >/dev/null
	emu /v2/apps/t/web -X PUT -d "{\"instances\":2}" >/dev/null
	emu /v2/apps/t/web/tasks >/dev/null
	emu "/v2/apps/t/*" >/dev/null
	curl -sS "$ARCHONFS_MARATHON/_emu/stats" -o "$TRASH/body"
	jqe "del(.by_client) == {\"total\":7,\"by_route\":{\"GET /v2/apps\":2,\"GET /v2/info\":1,\"GET /v2/nope\":1,\"PUT /v2/apps/{id}\":1,\"GET /v2/apps/{id}/tasks\":1,\"GET /v2/apps/{id}/*\":1}}"
	jqe "(.by_client | to_entries) as \$c | (\$c | length) == 1 and (\$c[0].key | startswith(\"curl/\")) and \$c[0].value == 7"
	curl -sS "$ARCHONFS_MARATHON/_emu/requests" -o "$TRASH/body"
	jqe "length == 7 and .[1].path == \"/v2/apps\" and .[1].query == \"embed=apps.tasks\" and .[0].body == null and .[4].method == \"PUT\" and .[4].body == \"{\\\"instances\\\":2}\" and (.[0].time | type) == \"number\" and .[0].time <= .[6].time"
	wait_idle
'

test_expect_success 'knob fail: the next N matching requests answer the status, others unaffected' '
	knobs "{\"fail\":{\"status\":503,\"count\":2,\"path_prefix\":\"/v2/apps\",\"method\":\"GET\"}}"
	expect 200 GET /v2/info
	expect 503 GET /v2/apps
	jqe "has(\"message\")"
	hdr X-Marathon-Leader "http://127.0.0.1:$PORT"
	expect 404 PATCH /v2/apps/t/nope "{\"instances\":1}"
	expect 503 GET /v2/apps/t/web
	expect 200 GET /v2/apps/t/web
	curl -sS "$ARCHONFS_MARATHON/_emu/knobs" -o "$TRASH/body"
	jqe ".fail == null"
'

test_expect_success 'knob hang: matching requests block until hang is false' '
	knobs "{\"hang\":true,\"hang_path_prefix\":\"/v2/info\"}"
	curl -sS --max-time 8 -o "$TRASH/hung" -w "%{http_code}" "$ARCHONFS_MARATHON/v2/info" >"$TRASH/hung.code" &
	p=$!
	expect 200 GET /v2/leader
	sleep 0.6
	kill -0 $p
	knobs "{\"hang\":false,\"hang_path_prefix\":null}"
	wait $p
	check_eq 200 "$(cat "$TRASH/hung.code")"
'

test_expect_success 'knob latency_ms delays answers, not /_emu' '
	knobs "{\"latency_ms\":400}"
	t=$(curl -sS -o /dev/null -w "%{time_total}" "$ARCHONFS_MARATHON/v2/leader")
	t2=$(curl -sS -o /dev/null -w "%{time_total}" "$ARCHONFS_MARATHON/_emu/knobs")
	knobs "{\"latency_ms\":0}"
	$PY -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); assert a >= 0.39 and b < 0.3, (a, b)" "$t" "$t2"
'

test_expect_success 'second cluster: --load of nested groups (relative ids, running tasks) plus N synthetic apps x M tasks' '
	trap "\"$TESTS/cluster\" stop \"$TRASH/syn\" >/dev/null 2>&1" EXIT
	cat >"$TRASH/nested.json" <<-\EOF
	{"id": "/", "apps": [{"id": "top", "cmd": "sleep 1", "instances": 1}],
	 "groups": [{"id": "/n1", "apps": [{"id": "a", "cmd": "sleep 1", "instances": 2}],
	   "groups": [{"id": "n2", "apps": [{"id": "/n1/n2/b", "cmd": "sleep 1", "instances": 0,
	                                      "version": "2019-01-01T00:00:00.000Z"}],
	               "groups": [{"id": "/n1/n2/empty", "apps": [], "groups": []}]}]}]}
	EOF
	"$TESTS/cluster" start "$TRASH/syn" --load "$TRASH/nested.json" --synthetic-apps 250 --synthetic-tasks 4 >/dev/null
	. "$TRASH/syn/env"
	expect 200 GET "/v2/apps?embed=apps.tasks"
	jqe "[.apps[] | select(.id | startswith(\"/synth/\") | not) | [.id, .tasksRunning, (.tasks | length)]] == [[\"/n1/a\",2,2],[\"/n1/n2/b\",0,0],[\"/top\",1,1]]"
	jqe ".apps[] | select(.id == \"/n1/n2/b\") | .version == \"2019-01-01T00:00:00.000Z\""
	expect 200 GET /v2/groups/n1/n2/empty
	jqe ".apps == [] and .groups == []"
	expect 200 GET "/v2/apps/synth/*?embed=apps.tasks"
	jqe "(.\"*\" | length) == 250 and ([.\"*\"[].tasks | length] | add) == 1000"
	jqe "all(.\"*\"[]; .tasksRunning == 4 and (.id | test(\"^/synth/g0[0-2]/app[0-9]{4}$\")))"
	expect 200 GET "/v2/apps?embed=apps.tasks"
	jqe "[.apps[] | select(.healthChecks)] | length > 50 and all(.tasksHealthy == 4)"
	jqe "[.apps[] | select(.container.docker.image)] | length > 50"
	"$TESTS/cluster" status "$TRASH/syn" | grep -q "marathon: running"
	"$TESTS/cluster" stop "$TRASH/syn" | grep -q "stopped marathon"
	"$TESTS/cluster" stop "$TRASH/syn"
	"$TESTS/cluster" status "$TRASH/syn" | grep -q "nothing started"
'

test_done
