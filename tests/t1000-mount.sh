#!/bin/bash
# t1000: mounting and unmounting; the command line; startup errors that say
# what to do; README and .archonfs/ of a mount.
. "$(dirname "$0")/lib.sh"

start_cluster --load "$TESTS/fixtures/marathon/155_100.json"

test_expect_success '--help fits one screen (24 lines of 80 columns) and names every option' '
	"$ARCHONFS" --help >$TRASH/help &&
	check_eq 0 "$(awk "length > 80" $TRASH/help | wc -l)" "lines over 80 columns" &&
	test $(wc -l <$TRASH/help) -le 24 &&
	for o in --marathon --mesos --zk --kafka "-o ro" allow_other credentials \
	    timeout ttl force noevents insecure workers fuse_threads readahead entry_timeout attr_timeout \
	    zk_datafile kafka. consumes_label produces_label zk_consumes zk_produces \
	    group_app; do
		grep -q -- "$o" $TRASH/help || { echo "missing $o"; exit 1; }
	done
'

test_expect_success '--version prints the version' '
	"$ARCHONFS" --version | grep -E "^archonfs [0-9]+\.[0-9]+\.[0-9]+"
'

test_expect_success 'a missing mount point is refused with the mkdir to run' '
	! "$ARCHONFS" --marathon "$ARCHONFS_MARATHON" $TRASH/nope 2>$TRASH/err &&
	grep -q "does not exist" $TRASH/err && grep -q "mkdir -p" $TRASH/err
'

test_expect_success 'a non-empty mount point is refused' '
	mkdir -p $TRASH/full && touch $TRASH/full/x &&
	! "$ARCHONFS" --marathon "$ARCHONFS_MARATHON" $TRASH/full 2>$TRASH/err &&
	grep -q "not empty" $TRASH/err
'

test_expect_success 'a credentials file readable by others is refused' '
	mkdir -p $TRASH/m2 && printf "marathon.user=u\nmarathon.password=p\n" >$TRASH/cred &&
	chmod 644 $TRASH/cred &&
	! "$ARCHONFS" -o credentials=$TRASH/cred --marathon "$ARCHONFS_MARATHON" $TRASH/m2 2>$TRASH/err &&
	grep -q "mode 0600" $TRASH/err
'

test_expect_success 'mount: the root holds README, apps, deployments and .archonfs' '
	mount_archonfs --marathon "$ARCHONFS_MARATHON" &&
	ls -a $MNT >$TRASH/ls &&
	for n in README apps deployments .archonfs; do grep -qx "$n" $TRASH/ls; done &&
	grep -q "fuse.archonfs" /proc/mounts
'

test_expect_success 'README explains the tree' '
	grep -q "apps/" $MNT/README && grep -q "instances" $MNT/README &&
	grep -q "deployments/" $MNT/README
'

test_expect_success '.archonfs/status says marathon is up, with counts' '
	ls $MNT/apps >/dev/null &&
	grep -q "^marathon: up" $MNT/.archonfs/status &&
	grep -q "snapshot: 100 apps" $MNT/.archonfs/status &&
	grep -q "events: connected" $MNT/.archonfs/status
'

test_expect_success '.archonfs/config shows the options and masks secrets' '
	grep -q "^marathon: $ARCHONFS_MARATHON" $MNT/.archonfs/config &&
	grep -q "^timeout: 5" $MNT/.archonfs/config
'

test_expect_success 'credentials from a 0600 file are used and never shown' '
	umount_archonfs &&
	printf "marathon.user=alice\nmarathon.password=s3cret-pw\n" >$TRASH/cred &&
	chmod 600 $TRASH/cred &&
	url=$(echo "$ARCHONFS_MARATHON" | sed "s|http://|http://bob:url-pw@|") &&
	mount_archonfs -o credentials=$TRASH/cred --marathon "$url" &&
	ls $MNT/apps >/dev/null &&
	grep -q "marathon_auth: \*\*\*" $MNT/.archonfs/config &&
	grep -q "http://\*\*\*@127.0.0.1" $MNT/.archonfs/config &&
	! grep -rqs -e s3cret-pw -e url-pw $MNT/.archonfs $MNT/README &&
	! grep -qs -e s3cret-pw $TRASH/archonfs.log
'

test_expect_success 'the mount answers ENOENT for what does not exist' '
	expect_errno ENOENT cat $MNT/nothing &&
	expect_errno ENOENT ls $MNT/apps/cudcos/nothing
'

test_expect_success 'fusermount3 -u unmounts and the daemon exits' '
	pid=$(archonfs_pid) &&
	fusermount3 -u $MNT &&
	for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done &&
	! kill -0 $pid 2>/dev/null &&
	! grep -q " $MNT fuse" /proc/mounts
'

test_expect_success 'SIGTERM unmounts cleanly' '
	mount_archonfs --marathon "$ARCHONFS_MARATHON" &&
	pid=$(archonfs_pid) && kill -TERM $pid &&
	for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done &&
	! kill -0 $pid 2>/dev/null && ! grep -q " $MNT fuse" /proc/mounts
'

test_expect_success 'a mount without backends holds only README and .archonfs' '
	mount_archonfs &&
	test "$(ls $MNT | tr "\n" " ")" = "README " &&
	test ! -e $MNT/apps
'

test_done
