#!/bin/bash
# t3000: ZooKeeper config as files, against a real ZooKeeper server:
# reading, creating, editing with vim and sed -i (version-checked: a
# change made with zkCli between read and save is EBUSY and loses
# nothing), mkdir/rmdir/rm, binary data, _data of directory znodes, empty
# directories and files staying what they were made as, watches (a change
# made elsewhere is seen on the very next read), ACLs (EACCES), ephemeral
# znodes read-only, and a server that stops, restarts, or expires the
# session.
. "$(dirname "$0")/lib.sh"

start_cluster
zkcli() { "$TESTS/zkcli" "$ARCHONFS_ZK" "$@"; }
zkget() { zkcli get "$1"; }

zkcli - <<'EOF' >/dev/null
create /app
create /app/config
create /app/config/prod
create /app/config/prod/web
create /app/config/prod/web/db_url postgres://db:5432/web
create /app/config/prod/web/pool_size 20
create /app/config/prod/web/kafka.brokers kafka-1:9092
create /app/config/prod/old_flag on
create /app/config/prod/unused
EOF
zkcli set /app/config/prod prod-level >/dev/null

mount_archonfs --zk "$ARCHONFS_ZK/app" --marathon "$ARCHONFS_MARATHON" -o timeout=3
Z=$MNT/zk/config/prod

test_expect_success 'zk/ mirrors the tree: directories, files, sizes are data lengths' '
	ls $MNT/zk | grep -qx config &&
	ls $Z >$TRASH/ls && grep -qx web $TRASH/ls && grep -qx old_flag $TRASH/ls &&
	test -d $Z/web && test -f $Z/web/db_url && test -d $Z/unused &&
	check_eq 22 "$(stat -c %s $Z/web/db_url)" "size of db_url" &&
	check_eq "postgres://db:5432/web" "$(cat $Z/web/db_url)" "db_url"
'

test_expect_success 'mtime and ctime are the znode'"'"'s' '
	zkcli stat /app/config/prod/web/db_url >$TRASH/stat &&
	mtime=$(sed -n "s/^mtime = //p" $TRASH/stat) &&
	check_eq "$(date -d "$mtime" +%s)" "$(stat -c %Y $Z/web/db_url)" "mtime"
'

test_expect_success 'a directory znode'"'"'s own data is its _data file' '
	check_eq prod-level "$(cat $Z/_data)" "_data" &&
	! ls $Z/web | grep -qx _data
'

test_expect_success 'grep -r searches the whole tree' '
	grep -rl kafka $MNT/zk/config >$TRASH/grep &&
	grep -q "web/kafka.brokers$" $TRASH/grep
'

test_expect_success 'echo > a new name creates the znode, exactly that data' '
	echo 200 >$Z/web/max_conn &&
	check_eq 200 "$(zkget /app/config/prod/web/max_conn)" "znode data" &&
	test -f $Z/web/max_conn
'

test_expect_success 'touch makes an empty file, mkdir an empty directory, and they stay so' '
	touch $Z/web/empty_file && mkdir $Z/web/empty_dir &&
	test -f $Z/web/empty_file && test -d $Z/web/empty_dir &&
	umount_archonfs &&
	mount_archonfs --zk "$ARCHONFS_ZK/app" --marathon "$ARCHONFS_MARATHON" -o timeout=3 &&
	test -f $Z/web/empty_file && test -d $Z/web/empty_dir &&
	check_eq 0 "$(stat -c %s $Z/web/empty_file)" "size"
'

test_expect_success 'sed -i edits exactly once, version-checked' '
	v0=$(zkcli stat /app/config/prod/web/db_url | sed -n "s/^dataVersion = //p") &&
	sed -i s/5432/6432/ $Z/web/db_url &&
	check_eq "postgres://db:6432/web" "$(zkget /app/config/prod/web/db_url)" "after sed" &&
	v1=$(zkcli stat /app/config/prod/web/db_url | sed -n "s/^dataVersion = //p") &&
	check_eq $((v0 + 1)) "$v1" "one set" &&
	! ls -a $Z/web | grep -q "^sed"
'

test_expect_success 'vim -es edits exactly once; no swap or backup becomes a znode' '
	v0=$(zkcli stat /app/config/prod/web/pool_size | sed -n "s/^dataVersion = //p") &&
	vim -es -u NONE -N -c "set backupskip=" -c "%s/20/25/" -c wq $Z/web/pool_size &&
	check_eq 25 "$(zkget /app/config/prod/web/pool_size)" "after vim" &&
	v1=$(zkcli stat /app/config/prod/web/pool_size | sed -n "s/^dataVersion = //p") &&
	check_eq $((v0 + 1)) "$v1" "one set" &&
	zkcli ls /app/config/prod/web >$TRASH/kids &&
	! grep -qE "swp|4913|~" $TRASH/kids
'

test_expect_success 'a change from zkCli between read and save: EBUSY, theirs stays, ours kept in .rejected' '
	$PY - "$Z/web/db_url" "$TESTS/zkcli" "$ARCHONFS_ZK" <<-'\''EOF'\''
	import errno, os, subprocess, sys
	path, zkcli, zk = sys.argv[1:4]
	mine = open(path).read().replace("db:", "mine:")
	subprocess.run([zkcli, zk, "set", "/app/config/prod/web/db_url", "theirs"], check=True,
	               stdout=subprocess.DEVNULL)
	try:
	    f = open(path, "w"); f.write(mine); f.close()
	except OSError as e:
	    if e.errno != errno.EBUSY:
	        sys.exit("expected EBUSY, got %s" % errno.errorcode[e.errno])
	else:
	    sys.exit("the save succeeded over a concurrent change")
	EOF
	check_eq theirs "$(zkget /app/config/prod/web/db_url)" "ZooKeeper keeps their text" &&
	grep -q "mine:" $Z/web/db_url.rejected &&
	grep -q "EBUSY" $Z/web/.error && grep -q "someone else wrote version" $Z/web/.error
'

test_expect_success 'vim sees a change made meanwhile (the znode'"'"'s mtime) and, told no, writes nothing' '
	zkcli set /app/config/prod/web/pool_size 30 >/dev/null &&
	cat >$TRASH/vimrace <<-EOF &&
	redir! > $TRASH/vim.msgs
	%s/30/31/
	call system("$TESTS/zkcli $ARCHONFS_ZK set /app/config/prod/web/pool_size 99")
	w
	redir END
	EOF
	echo n | vim -es -u NONE -N -c "set backupskip=" -S $TRASH/vimrace -c "qa!" $Z/web/pool_size;
	grep -q "changed since reading" $TRASH/vim.msgs &&
	check_eq 99 "$(zkget /app/config/prod/web/pool_size)" "theirs stays"
'

test_expect_success 'sed -i'"'"'s pattern (read, write a temp file, rename over) loses to a change made meanwhile: EBUSY' '
	$PY - "$Z/web" "$TESTS/zkcli" "$ARCHONFS_ZK" <<-'\''EOF'\''
	import errno, os, subprocess, sys
	d, zkcli, zk = sys.argv[1:4]
	text = open(d + "/pool_size").read()
	with open(d + "/sedAb12Cd", "w") as f:
	    f.write(text.replace("99", "100"))
	subprocess.run([zkcli, zk, "set", "/app/config/prod/web/pool_size", "42"], check=True,
	               stdout=subprocess.DEVNULL)
	try:
	    os.rename(d + "/sedAb12Cd", d + "/pool_size")
	except OSError as e:
	    if e.errno != errno.EBUSY:
	        sys.exit("expected EBUSY, got %s" % errno.errorcode[e.errno])
	else:
	    sys.exit("the rename succeeded over a concurrent change")
	EOF
	check_eq 42 "$(zkget /app/config/prod/web/pool_size)" "theirs stays" &&
	check_eq 100 "$(cat $Z/web/pool_size.rejected)" "ours kept" &&
	rm $Z/web/sedAb12Cd
'

test_expect_success 'a change made with zkCli is seen on the very next read (watch, no TTL)' '
	cat $Z/web/kafka.brokers >/dev/null && ls $Z/web >/dev/null &&
	zkcli set /app/config/prod/web/kafka.brokers kafka-9:9092 >/dev/null &&
	check_eq kafka-9:9092 "$(cat $Z/web/kafka.brokers)" "next read" &&
	zkcli create /app/config/prod/web/added x >/dev/null &&
	ls $Z/web | grep -qx added &&
	zkcli delete /app/config/prod/web/added >/dev/null &&
	! ls $Z/web | grep -qx added && expect_errno ENOENT cat $Z/web/added
'

test_expect_success 'a file znode that gets a child becomes a directory, its data in _data' '
	cat $Z/web/max_conn >/dev/null &&
	zkcli create /app/config/prod/web/max_conn/child c >/dev/null &&
	test -d $Z/web/max_conn && check_eq 200 "$(cat $Z/web/max_conn/_data)" "_data"
'

test_expect_success 'binary data round-trips byte for byte, both ways' '
	head -c 3000 /dev/urandom >$TRASH/bin &&
	cp $TRASH/bin $Z/web/blob && cmp $TRASH/bin $Z/web/blob &&
	cc -I/usr/include/zookeeper -DTHREADED -o $TRASH/zkc $TESTS/zk_client_check.c -lzookeeper_mt &&
	$TRASH/zkc "$ARCHONFS_ZK" get /app/config/prod/web/blob >$TRASH/back &&
	cmp $TRASH/bin $TRASH/back &&
	printf "\\000\\377\\001zero" | $TRASH/zkc "$ARCHONFS_ZK" put /app/config/prod/web/blob2 &&
	printf "\\000\\377\\001zero" | cmp - $Z/web/blob2
'

test_expect_success 'rm deletes a znode; rmdir an empty one; a non-empty one is ENOTEMPTY' '
	rm $Z/old_flag && ! zkcli stat /app/config/prod/old_flag >/dev/null 2>&1 &&
	rmdir $Z/unused && ! zkcli stat /app/config/prod/unused >/dev/null 2>&1 &&
	expect_errno ENOTEMPTY rmdir $Z/web
'

test_expect_success 'data over the server'"'"'s limit is EFBIG and nothing is sent' '
	head -c 1100000 /dev/zero | tr "\\0" x >$TRASH/big &&
	expect_errno EFBIG cp $TRASH/big $Z/web/pool_size &&
	check_eq 42 "$(zkget /app/config/prod/web/pool_size)" "unchanged"
'

test_expect_success 'an ACL-protected znode is EACCES' '
	printf "addauth digest ops:pw1\ncreate /app/config/secret s3 auth:ops:pw1:cdrwa\n" | zkcli - >/dev/null &&
	expect_errno EACCES cat $MNT/zk/config/secret
'

test_expect_success 'with digest credentials from a 0600 file it is readable' '
	umount_archonfs &&
	printf "zk.user = ops\nzk.password = pw1\n" >$TRASH/cred && chmod 600 $TRASH/cred &&
	mount_archonfs --zk "$ARCHONFS_ZK/app" --marathon "$ARCHONFS_MARATHON" \
		-o timeout=3,credentials=$TRASH/cred &&
	check_eq s3 "$(cat $MNT/zk/config/secret)" "secret" &&
	! grep -rqs pw1 $MNT/.archonfs $TRASH/archonfs.log
'

test_expect_success 'an ephemeral znode is shown read-only' '
	cc -I/usr/include/zookeeper -DTHREADED -o $TRASH/zkc $TESTS/zk_client_check.c -lzookeeper_mt &&
	{ $TRASH/zkc "$ARCHONFS_ZK" hold /app/config/prod/web/leader 20 >$TRASH/hold 2>&1 & } &&
	wait_for 10 test -e $Z/web/leader &&
	check_eq 444 "$(stat -c %a $Z/web/leader)" "mode" &&
	expect_errno EACCES sh -c "echo x > $Z/web/leader"
'

test_expect_success 'ZooKeeper stopped: zk/ fails within the deadline, apps/ and the rest answer' '
	ls $Z/web >/dev/null && cat $Z/web/pool_size >/dev/null && ls $MNT/apps >/dev/null &&
	"$TESTS/cluster" zk-stop "$CLUSTER_DIR" &&
	t0=$(date +%s%N) &&
	! cat $Z/web/never_read 2>$TRASH/err &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "# failed after $ms ms" &&
	grep -qE "timed out|No such file" $TRASH/err && test $ms -lt 4000 &&
	t0=$(date +%s%N) && cat $MNT/README >/dev/null && cat $MNT/.archonfs/status >/dev/null &&
	ls -l $MNT/apps/ >/dev/null && echo x >$MNT/.archonfs/refresh && ls -l $MNT/apps/ >/dev/null &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "# apps/ and the rest answered in $ms ms" &&
	test $ms -lt 1000 &&
	grep -q "^zookeeper: down" $MNT/.archonfs/status &&
	cat $Z/web/pool_size >/dev/null
'

test_expect_success 'ZooKeeper restarted: zk/ recovers without a remount, changes seen' '
	"$TESTS/cluster" zk-start "$CLUSTER_DIR" &&
	wait_for 15 grep -q "^zookeeper: up" $MNT/.archonfs/status &&
	zkcli set /app/config/prod/web/pool_size 77 >/dev/null &&
	wait_for 5 sh -c "test \"\$(cat $Z/web/pool_size)\" = 77"
'

test_expect_success 'an expired session is replaced; zk/ keeps working' '
	"$TESTS/cluster" zk-expire "$CLUSTER_DIR" &&
	wait_for 15 grep -q "session: [2-9]" $MNT/.archonfs/status &&
	zkcli set /app/config/prod/web/pool_size 78 >/dev/null &&
	wait_for 5 sh -c "test \"\$(cat $Z/web/pool_size)\" = 78" &&
	echo 79 >$Z/web/pool_size && check_eq 79 "$(zkget /app/config/prod/web/pool_size)" "write"
'

test_expect_success 'every change was logged with who did it' '
	grep -q "change .*comm=sed path=/zk/config/prod/web/db_url" $TRASH/archonfs.log ||
	grep -q "comm=sed" $TRASH/archonfs.log
'

test_done
