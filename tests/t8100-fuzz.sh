#!/bin/bash
# t8100: the libFuzzer targets of tests/fuzz/ (one per parser of bytes
# from outside: Marathon, Mesos and Kafka replies, what users write, the
# credentials file) build with clang, every regression input of a fixed
# bug passes, and a short run of each target, from the seeds of
# ../shared/reference, finds no crash, leak, sanitizer report or broken
# check.  `make fuzz` is the long run; docs/testing.md says how to read
# and reproduce a failure.
#
# FUZZ_CI_SECONDS (default 7) is the time of each target's run; the
# targets run one after the other, never in parallel.
. "$(dirname "$0")/lib.sh"

: "${FUZZ_CI_SECONDS:=7}"
ARTIFACTS=$SRCDIR/tests/out/fuzz

test_expect_success 'the fuzz targets build with clang and libFuzzer' '
	make -s -j2 -C "$SRCDIR" fuzz-build >$TRASH/build.log 2>&1 || {
		tail -n 40 $TRASH/build.log; exit 1; }
	n=$(ls "$SRCDIR"/tests/fuzz/build/fuzz_* | wc -l) &&
	test "$n" -ge 11
'

for src in "$SRCDIR"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	test_expect_success "fuzz_$t: regression inputs pass, ${FUZZ_CI_SECONDS} s of fuzzing find nothing" "
		\"$SRCDIR/tests/fuzz/run\" -t $FUZZ_CI_SECONDS -a \"$ARTIFACTS\" $t
	"
done

test_done
