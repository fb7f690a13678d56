#!/bin/bash
# t8200: security, through the mount (DESIGN.md section 6, issue 8).
# It proves: without -o allow_other a second local user (nobody, by
# setpriv) is refused with EACCES while root reads; with it nobody reads
# but the permission bits still keep it from writing, and nothing is sent;
# -o ro makes every kind of write EROFS with nothing sent to Marathon,
# ZooKeeper or Kafka; a credentials file that is not the user's own mode
# 0600 file is refused; Marathon basic auth works from the file and from
# ARCHONFS_MARATHON_USER/PASSWORD, a wrong password is EACCES, and the
# password is in no file of the tree, .archonfs/config or the log; over
# HTTPS a self-signed certificate is refused (EIO, status says why, the
# server answers nothing) unless -o insecure; every change is one log line
# with uid, pid, command name, path, what was sent and the result; cluster
# names that are not file names are escaped (Kafka groups: %2E%2E, a%2Fb,
# %25) or left out (a znode name longer than 255 bytes, label keys with a
# slash) alike in every listing, and find does not loop or escape.
#
# The HTTPS + basic-auth Marathon is a second tests/marathon_emu.py
# (--tls-cert, --basic-auth); its plain port takes /_emu/ requests.
. "$(dirname "$0")/lib.sh"

start_cluster --synthetic-apps 3 --synthetic-tasks 1 \
	--kafka-arg --topics=orders:2 || {
	echo "not ok 1 - cluster starts"; test_count=1; test_failed=1; test_done; }

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
PW=s3cret-Pw.8200
ID=/synth/g00/app0001
A=$MNT/apps$ID
zkcli() { "$TESTS/zkcli" "$ARCHONFS_ZK" "$@"; }
kc() { kcat -b "$ARCHONFS_KAFKA" "$@"; }
nparts() { kc -L -t "$1" -m 5 | grep -c "partition [0-9]*, leader"; }
# The scratch directory is 0700 (mktemp): let nobody reach the mount point,
# so that a refusal can only come from the mount itself.
chmod 711 "$TRASH"

# --- the second Marathon: HTTPS with a self-signed certificate, basic auth --
S=$TRASH/sec
mkdir -p "$S"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$S/key.pem" \
	-out "$S/cert.pem" >"$S/openssl.log" 2>&1 || { cat "$S/openssl.log"; exit 1; }
"$PY" "$TESTS/marathon_emu.py" --port 0 --port-file "$S/port" \
	--tls-cert "$S/cert.pem" --tls-key "$S/key.pem" --tls-port-file "$S/tls-port" \
	--basic-auth "alice:$PW" --synthetic-apps 2 --synthetic-tasks 1 \
	--mesos-agents 1 --sandbox-root "$S/sandboxes" </dev/null >"$S/emu.log" 2>&1 &
SEC_PID=$!
trap 'kill $SEC_PID 2>/dev/null; cleanup' EXIT
for i in $(seq 100); do [ -s "$S/tls-port" ] && break; sleep 0.1; done
HTTPS=https://127.0.0.1:$(cat "$S/tls-port")
SEC_EMU=http://127.0.0.1:$(cat "$S/port")
sec_gets() {	# GET /v2/apps requests the second Marathon answered
	curl -sS --max-time 5 "$SEC_EMU/_emu/stats" | jq '.by_route["GET /v2/apps"] // 0'
}

# --- hostile names, made with each system's own tools -------------------------
LONG=$(printf 'g%.0s' $(seq 300))
echo hello | kc -P -t orders -p 0
for g in .. . a/b 'x%y' "$LONG" billing; do
	timeout 10 kcat -b "$ARCHONFS_KAFKA" -G "$g" -o beginning -e orders \
		>/dev/null 2>&1 || true
done
zkcli - >/dev/null 2>$TRASH/zkcli.err <<EOF || { cat $TRASH/zkcli.err; exit 1; }
create /sec
create /sec/web
create /sec/web/db_url postgres://db/web
create /sec/odd
create /sec/odd/$LONG x
create /sec/odd/we%2Fird x
EOF
emu /v2/apps -X POST -H 'Content-Type: application/json' -d '{"id": "/sec/labelled",
	"cmd": "sleep 1000", "instances": 0, "env": {"OK_VAR": "1", "a/b": "2"},
	"labels": {"ok": "1", "a/b": "2", "..": "3", "%2E%2E": "4"}}' >$TRASH/create.json
wait_for 10 no_deployments

MOUNT_ALL="--marathon $ARCHONFS_MARATHON --zk $ARCHONFS_ZK/sec --kafka $ARCHONFS_KAFKA"

test_expect_success 'without allow_other: nobody gets EACCES, root reads' '
	mkdir -p $TRASH/open && chmod 755 $TRASH/open &&
	$NOBODY ls $TRASH/open &&
	mount_archonfs $MOUNT_ALL &&
	cat $A/instances >/dev/null &&
	! grep " $MNT " /proc/mounts | grep -q allow_other &&
	expect_errno EACCES $NOBODY ls $MNT &&
	expect_errno EACCES $NOBODY cat $MNT/README &&
	expect_errno EACCES $NOBODY stat $A/instances &&
	expect_errno EACCES $NOBODY sh -c "echo 5 > $A/instances" &&
	grep -q "^allow_other: no" $MNT/.archonfs/config
'

test_expect_success 'with allow_other: nobody reads, but cannot write (0644, root); nothing sent' '
	umount_archonfs &&
	mount_archonfs $MOUNT_ALL -o allow_other &&
	grep " $MNT " /proc/mounts | grep -q allow_other &&
	$NOBODY cat $MNT/README >/dev/null &&
	$NOBODY ls $MNT/apps/synth/g00 >$TRASH/ls.nobody &&
	grep -qx app0001 $TRASH/ls.nobody &&
	$NOBODY cat $A/instances >$TRASH/inst && test -s $TRASH/inst &&
	stat -c "%a %U" $A/instances >$TRASH/mode &&
	check_eq "644 root" "$(cat $TRASH/mode)" "mode of instances" &&
	find $MNT/apps/synth/g00 $MNT/zk $MNT/topics/orders $MNT/.archonfs \
		! -type l -perm /022 >$TRASH/gw &&
	{ test ! -s $TRASH/gw || { echo "writable by others:"; cat $TRASH/gw; exit 1; }; } &&
	emu_reset &&
	expect_errno EACCES $NOBODY sh -c "echo 5 > $A/instances" &&
	expect_errno EACCES $NOBODY sh -c "echo x > $MNT/zk/web/db_url" &&
	expect_errno EACCES $NOBODY mkdir $MNT/topics/nobodys &&
	expect_errno EACCES $NOBODY sh -c "echo restart > $A/ctl" &&
	check_eq 0 "$(emu_writes)" "writes Marathon received" &&
	check_eq postgres://db/web "$(zkcli get /sec/web/db_url)" "db_url"
'

test_expect_success '-o ro: every kind of write is EROFS and nothing is sent' '
	umount_archonfs &&
	mount_archonfs $MOUNT_ALL -o ro &&
	ls $A $MNT/zk/web $MNT/topics/orders >/dev/null &&
	emu_reset &&
	curl -sS -X DELETE "$ARCHONFS_KAFKA_CONTROL/_broker/stats" >/dev/null &&
	expect_errno EROFS sh -c "echo 3 > $A/instances" &&
	expect_errno EROFS sh -c "cat $A/app.json > $A/app.json" &&
	expect_errno EROFS truncate -s 0 $A/app.json &&
	expect_errno EROFS sh -c "echo v > $A/env/NEW_VAR" &&
	expect_errno EROFS sh -c "echo v > $A/labels/newlabel" &&
	expect_errno EROFS sh -c "echo restart > $A/ctl" &&
	expect_errno EROFS mkdir $MNT/apps/synth/newapp &&
	expect_errno EROFS rm -f $A/app.json &&
	expect_errno EROFS ln -s ../../../../../topics/orders $A/produces/orders &&
	expect_errno EROFS sh -c "echo x > $MNT/zk/web/db_url" &&
	expect_errno EROFS sh -c "echo x > $MNT/zk/web/new_key" &&
	expect_errno EROFS mkdir $MNT/zk/web/sub &&
	expect_errno EROFS rm $MNT/zk/web/db_url &&
	expect_errno EROFS sh -c "echo 4 > $MNT/topics/orders/partitions" &&
	expect_errno EROFS sh -c "echo 1000 > $MNT/topics/orders/config/retention.ms" &&
	expect_errno EROFS mkdir $MNT/topics/newtopic &&
	expect_errno EROFS sh -c "echo delete > $MNT/topics/orders/ctl" &&
	expect_errno EROFS mv $MNT/zk/web/db_url $MNT/zk/web/db_url2 &&
	expect_errno EROFS touch $MNT/.archonfs/refresh &&
	check_eq 0 "$(emu_writes)" "writes Marathon received" &&
	check_eq postgres://db/web "$(zkcli get /sec/web/db_url)" "db_url" &&
	! zkcli stat /sec/web/new_key >/dev/null 2>&1 &&
	check_eq 2 "$(nparts orders)" "partitions of orders" &&
	curl -sS "$ARCHONFS_KAFKA_CONTROL/_broker/stats" >$TRASH/bstats &&
	! grep -qE "CreateTopics|CreatePartitions|AlterConfigs|IncrementalAlterConfigs|DeleteTopics" $TRASH/bstats &&
	stat -c %a $A/instances | grep -qx 444
'

test_expect_success 'a credentials file that is not your own 0600 file is refused' '
	umount_archonfs && mkdir -p $TRASH/m2 &&
	printf "marathon.user = alice\nmarathon.password = $PW\n" >$S/cred &&
	for m in 640 604 660 644; do
		chmod $m $S/cred &&
		! "$ARCHONFS" -o credentials=$S/cred --marathon "$HTTPS" $TRASH/m2 2>$TRASH/err &&
		grep -q "mode 0600" $TRASH/err || { echo "mode $m accepted"; exit 1; }
	done &&
	chmod 600 $S/cred && ln -sf $S/cred $S/cred.link &&
	! "$ARCHONFS" -o credentials=$S/cred.link --marathon "$HTTPS" $TRASH/m2 2>$TRASH/err &&
	cat $TRASH/err && grep -q "cred.link" $TRASH/err &&
	cp $S/cred $S/cred.nobody && chown 65534 $S/cred.nobody && chmod 600 $S/cred.nobody &&
	! "$ARCHONFS" -o credentials=$S/cred.nobody --marathon "$HTTPS" $TRASH/m2 2>$TRASH/err &&
	grep -q "must belong to you" $TRASH/err &&
	! grep -qs "$PW" $TRASH/err && ! grep -q " $TRASH/m2 " /proc/mounts
'

test_expect_success 'TLS: a self-signed certificate is refused without -o insecure' '
	before=$(sec_gets) &&
	ARCHONFS_MARATHON_USER=alice ARCHONFS_MARATHON_PASSWORD=$PW \
		mount_archonfs --marathon "$HTTPS" &&
	expect_errno EIO ls $MNT/apps &&
	grep -q "^marathon: down" $MNT/.archonfs/status &&
	grep -E "last_error|refresh_error" $MNT/.archonfs/status | grep -q "SSL certificate problem" &&
	grep -q "^insecure: no" $MNT/.archonfs/config &&
	check_eq "$before" "$(sec_gets)" "GET /v2/apps the HTTPS server answered" &&
	grep "last_error" $MNT/.archonfs/status | sed "s/^ */# /"
'

test_expect_success '-o insecure + credentials file: apps read; the password is nowhere' '
	umount_archonfs &&
	before=$(sec_gets) &&
	mount_archonfs --marathon "$HTTPS" -o insecure,credentials=$S/cred &&
	ls $MNT/apps/synth/g00 | grep -qx app0000 &&
	test "$(sec_gets)" -gt "$before" &&
	grep -q "^marathon: up" $MNT/.archonfs/status &&
	grep -q "^marathon_auth: \*\*\*" $MNT/.archonfs/config &&
	grep -q "^insecure: yes" $MNT/.archonfs/config &&
	cat $MNT/apps/synth/g00/app0000/status >/dev/null &&
	rc=0 && timeout 60 grep -r -I -l -F -e "$PW" -e "alice:" $MNT >$TRASH/hits 2>$TRASH/grep.err ||
		rc=$? &&
	{ test $rc -eq 1 || { echo "grep -r: $rc"; cat $TRASH/hits $TRASH/grep.err; exit 1; }; } &&
	n=$(find $MNT -type f | wc -l) && echo "# grep -r: $n files, no password" &&
	! grep -q -F "$PW" $TRASH/archonfs.log
'

test_expect_success 'credentials from the environment; a wrong password is EACCES' '
	umount_archonfs &&
	ARCHONFS_MARATHON_USER=alice ARCHONFS_MARATHON_PASSWORD=$PW \
		mount_archonfs --marathon "$HTTPS" -o insecure &&
	ls $MNT/apps/synth/g00 | grep -qx app0000 &&
	grep -q "^marathon_auth: \*\*\*" $MNT/.archonfs/config &&
	! grep -r -q -F -e "$PW" $MNT/.archonfs $MNT/README $MNT/apps/synth/g00/app0000 &&
	umount_archonfs &&
	ARCHONFS_MARATHON_USER=alice ARCHONFS_MARATHON_PASSWORD=wrong-$PW \
		mount_archonfs --marathon "$HTTPS" -o insecure &&
	expect_errno EACCES ls $MNT/apps &&
	grep "last_error" $MNT/.archonfs/status | grep -q "HTTP 401 from GET" &&
	! grep -r -q -F -e "$PW" $MNT/.archonfs &&
	! grep -q -F "$PW" $TRASH/archonfs.log &&
	umount_archonfs &&
	! grep -q -F "$PW" $TRASH/archonfs.log
'

test_expect_success 'every change is logged: uid, pid, comm, path, sent, result' '
	mount_archonfs $MOUNT_ALL &&
	: >$TRASH/archonfs.log &&
	sh -c "echo \$\$ >$TRASH/sh.pid; exec sh -c \"echo 3 > $A/instances\"" &&
	pid=$(cat $TRASH/sh.pid) &&
	grep "change " $TRASH/archonfs.log >$TRASH/changes &&
	check_file_has $TRASH/changes "change uid=0 pid=$pid comm=sh path=/apps$ID/instances sent=\[PUT /v2/apps$ID.*\"instances\": ?3.*\] result=ok" &&
	sed -n "1s/^/# /p" $TRASH/changes &&
	wait_for 10 no_deployments &&
	! sh -c "echo -1 > $A/instances" 2>/dev/null &&
	echo x2 > $MNT/zk/web/db_url &&
	echo 3 > $MNT/topics/orders/partitions &&
	grep "change " $TRASH/archonfs.log >$TRASH/changes &&
	check_file_has $TRASH/changes "path=/apps$ID/instances .*result=Invalid argument" &&
	check_file_has $TRASH/changes "comm=[^ ]+ path=/zk/web/db_url sent=\[set /web/db_url \(3 bytes\) version -?[0-9]+\] result=ok" &&
	check_file_has $TRASH/changes "path=/topics/orders/partitions sent=\[CreatePartitions orders to 3\] result=ok" &&
	check_eq 3 "$(nparts orders)" "partitions of orders" &&
	sed -n "2,\$s/^/# /p" $TRASH/changes
'

test_expect_success 'Kafka groups named .., ., a/b, x%y are escaped alike in groups/ and topics/*/groups/' '
	ls -a $MNT/groups >$TRASH/g &&
	for n in %2E%2E %2E a%2Fb x%25y billing; do grep -qxF "$n" $TRASH/g || { echo "no $n"; cat $TRASH/g; exit 1; }; done &&
	check_eq 1 "$(grep -cx "\.\." $TRASH/g)" "entries named .." &&
	check_eq 1 "$(grep -cx "\." $TRASH/g)" "entries named ." &&
	! grep -q "^g\{100\}" $TRASH/g &&
	ls -a $MNT/topics/orders/groups >$TRASH/tg &&
	for n in %2E%2E %2E a%2Fb x%25y billing; do grep -qxF "$n" $TRASH/tg || { echo "no $n"; exit 1; }; done &&
	! grep -q "^g\{100\}" $TRASH/tg &&
	check_eq Empty "$(cat $MNT/groups/%2E%2E/state)" "state of group .." &&
	grep -qE "^orders\s+0\s+1\b" $MNT/groups/a%2Fb/offsets &&
	check_eq "$MNT/groups/a%2Fb" "$(readlink -f $MNT/topics/orders/groups/a%2Fb)" "link" &&
	cat $MNT/topics/orders/groups/%2E%2E/lag >/dev/null &&
	expect_errno ENOENT ls $MNT/groups/a%2fb &&
	expect_errno ENOENT ls $MNT/groups/x%y &&
	timeout 20 find $MNT/groups $MNT/topics >$TRASH/find &&
	! grep -v "^$MNT/" $TRASH/find && ! grep -q "/\.\./" $TRASH/find &&
	echo "# find groups/ topics/: $(wc -l <$TRASH/find) paths, all under the mount"
'

test_expect_success 'a 300-byte znode and label keys ../a/b are left out; listings still work' '
	zkcli ls /sec/odd | grep -q "$LONG" &&
	ls $MNT/zk/odd >$TRASH/z && check_eq "we%2Fird" "$(cat $TRASH/z)" "zk/odd" &&
	ls $MNT/zk/odd >$TRASH/z2 && check_eq "we%2Fird" "$(cat $TRASH/z2)" "zk/odd again" &&
	timeout 20 find $MNT/zk >$TRASH/zfind &&
	L=$MNT/apps/sec/labelled &&
	ls $L/labels >$TRASH/lab && check_eq "%2E%2E ok" "$(paste -sd" " $TRASH/lab)" "labels/" &&
	ls $L/labels >$TRASH/lab && check_eq "%2E%2E ok" "$(paste -sd" " $TRASH/lab)" "labels/ again" &&
	check_eq 4 "$(cat $L/labels/%2E%2E)" "label %2E%2E (a key of its own)" &&
	ls $L/env >$TRASH/env && check_eq OK_VAR "$(paste -sd" " $TRASH/env)" "env/" &&
	jq -e ".labels[\"a/b\"] == \"2\" and .labels[\"..\"] == \"3\"" $L/app.json >/dev/null
'

test_done
