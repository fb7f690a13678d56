#!/bin/bash
# t9000: the documentation stays true: every node of the table is in the
# man page, the page is lint-clean and renders, and every option of
# --help is documented in the man page and the README.
. "$(dirname "$0")/lib.sh"

page=$SRCDIR/archonfs.8

test_expect_success 'mandoc -Tlint reports nothing at warning level' '
	mandoc -Tlint -W warning $page >$TRASH/lint 2>&1; rc=$?
	cat $TRASH/lint; test $rc -eq 0 && test ! -s $TRASH/lint
'

test_expect_success 'man ./archonfs.8 renders' '
	MANWIDTH=200 man -l $page 2>/dev/null | col -b >$TRASH/page &&
	grep -q "^NAME" $TRASH/page && grep -q "THE TREE" $TRASH/page
'

test_expect_success 'every node in the node table is documented in archonfs.8' '
	MANWIDTH=400 mandoc -Tascii $page 2>/dev/null | col -b >$TRASH/page &&
	"$ARCHONFS" --list-nodes | cut -f1 | sort -u >$TRASH/nodes &&
	test $(wc -l <$TRASH/nodes) -gt 20 &&
	missing=0 &&
	while read -r p; do
		grep -qF -- "$p" $TRASH/page || { echo "undocumented: $p"; missing=1; }
	done <$TRASH/nodes &&
	test $missing = 0
'

test_expect_success 'every option in --help is in the man page and the README' '
	MANWIDTH=400 mandoc -Tascii $page 2>/dev/null | col -b >$TRASH/page &&
	"$ARCHONFS" --help | grep -oE -- "(--[a-z]+|-o [a-z_]+)" | sort -u >$TRASH/opts &&
	test $(wc -l <$TRASH/opts) -ge 10 &&
	bad=0 &&
	while read -r o; do
		word=${o#-o }
		grep -qF -- "$word" $TRASH/page || { echo "not in archonfs.8: $o"; bad=1; }
		grep -qF -- "$word" $SRCDIR/README.md || { echo "not in README.md: $o"; bad=1; }
	done <$TRASH/opts &&
	test $bad = 0
'

test_expect_success 'the README names the two commands and the docs it links exist' '
	grep -q "make deps" $SRCDIR/README.md && grep -q "make check" $SRCDIR/README.md &&
	for f in $(grep -oE "docs/[a-z-]+\.md" $SRCDIR/README.md | sort -u); do
		test -f $SRCDIR/$f || { echo "missing $f"; exit 1; }
	done
'

test_expect_success 'make install puts the binary and the page in place' '
	make -s -C $SRCDIR install DESTDIR=$TRASH/root PREFIX=/usr >/dev/null &&
	test -x $TRASH/root/usr/bin/archonfs &&
	test -f $TRASH/root/usr/share/man/man8/archonfs.8
'

test_done
