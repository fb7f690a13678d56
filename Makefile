# archonfs: a FUSE filesystem that mounts a microservice cluster.
#
#   make            build ./archonfs
#   make deps       install every Debian package building, testing and the
#                   demo need (safe to re-run; needs root or sudo)
#   make check      build and run every test (tests/run); SANITIZE=1 builds
#                   with AddressSanitizer and UndefinedBehaviorSanitizer
#   make install    install the binary and archonfs.8 under $(PREFIX)
#   make bench      side-by-side benchmarks; writes docs/performance.md
#                   (BENCH_ARGS="--scale 1k" and so on: tests/bench/run -h)
#   make stress     16 clients for STRESS_SECONDS (60) under injected latency
#                   and 5xx: no hang, no crash, writes match, RSS flat
#   make valgrind   a short scenario with archonfs under valgrind
#                   --leak-check=full (a build without SANITIZE); must be clean
#   make demo       a local demo cluster mounted at ./mnt (or $DEMO_MNT) with a
#                   tour to try; Ctrl-C unmounts and stops it (tests/demo)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each (clang),
#                   growing a corpus in tests/fuzz/build/corpus

PREFIX	?= /usr/local
MANDIR	?= $(PREFIX)/share/man
CC	?= cc
CFLAGS	?= -O2 -g
PKGS	 = fuse3 libcurl jansson rdkafka libgvc libcgraph
ZK_CFLAGS ?= -I/usr/include/zookeeper
ZK_LIBS	?= -lzookeeper_mt

WARN	 = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-missing-field-initializers
ifeq ($(SANITIZE),1)
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
endif
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(SAN) \
	   $(shell pkg-config --cflags $(PKGS)) $(ZK_CFLAGS) -pthread
LIBS	 = $(shell pkg-config --libs $(PKGS)) $(ZK_LIBS) -pthread

BACKEND_SRC = $(wildcard backends/*.c)
FS_SRC	 = $(wildcard fs/*.c)
BACKEND_OBJ = $(BACKEND_SRC:.c=.o)
FS_OBJ	 = $(FS_SRC:.c=.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:.c=)

DEB_PACKAGES = build-essential pkg-config libfuse3-dev fuse3 \
	libcurl4-openssl-dev libjansson-dev librdkafka-dev libzookeeper-mt-dev \
	python3 python3-marathon mandoc man-db bsdextrautils vim jq curl procps \
	psmisc coreutils sed bc golang-go golang-github-mesos-mesos-go-dev \
	zookeeper kcat python3-kafka libgraphviz-dev graphviz openssl valgrind \
	clang libclang-rt-14-dev

all: archonfs

archonfs: $(FS_OBJ) $(BACKEND_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

%.o: %.c $(wildcard fs/*.h backends/*.h)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Unit tests link the backends (pure logic) and the pure parts of fs/.
tests/unit/test_%: tests/unit/test_%.c tests/unit/unit.h $(BACKEND_OBJ) fs/local.o fs/creds.o fs/names.o
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BACKEND_OBJ) fs/local.o fs/creds.o fs/names.o $(LIBS)

unit: $(UNIT_BIN)

# The sanitizer build must not reuse objects built without it: switching
# makes a new stamp, newer than every object, so all of them rebuild.
BUILD_STAMP = .build-$(if $(SAN),san,plain)
$(BUILD_STAMP):
	rm -f .build-*
	touch $@
$(FS_OBJ) $(BACKEND_OBJ): $(BUILD_STAMP)

check: archonfs unit
	tests/run

# The FUSE floor the benchmark measures beside archonfs: a minimal
# read-only FUSE filesystem (no sanitizers: it is a reference, not ours
# under test).
tests/bench/floorfs: tests/bench/floorfs.c
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) \
	    $(shell pkg-config --cflags fuse3) -o $@ $< $(shell pkg-config --libs fuse3)

bench: archonfs tests/bench/floorfs
	tests/bench/run $(BENCH_ARGS)

stress: archonfs
	tests/stress/run

# valgrind and AddressSanitizer cannot share a process.
valgrind: archonfs
	$(if $(SAN),$(error make valgrind needs a build without SANITIZE=1))
	tests/stress/valgrind

# The script checks the dependencies before building, so a missing one is
# named (with the apt-get command) rather than failing the compile.
demo:
	@MAKE="$(MAKE)" DEB_PACKAGES="$(DEB_PACKAGES)" PKGS="$(PKGS)" tests/demo

# ---- fuzzing (docs/testing.md, "Fuzzing") ---------------------------------
# libFuzzer targets, tests/fuzz/fuzz_*.c, each linking the real backends
# built again with clang and the fuzzer's instrumentation into FUZZ_OUT
# (never mixed with the objects above).  http_do/http_stream are wrapped
# by a scripted fake and snapcache.c is replaced by an inline one, so no
# target opens a socket or starts a thread (tests/fuzz/fake.h).
FUZZ_CC	 ?= clang
FUZZ_SECONDS ?= 300
FUZZ_DIR = tests/fuzz
FUZZ_OUT = $(FUZZ_DIR)/build
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) \
	   -fsanitize=address,undefined,fuzzer-no-link \
	   -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	   $(shell pkg-config --cflags $(PKGS)) $(ZK_CFLAGS) -pthread
FUZZ_TARGETS = $(patsubst $(FUZZ_DIR)/fuzz_%.c,%,$(wildcard $(FUZZ_DIR)/fuzz_*.c))
FUZZ_BIN = $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)
FUZZ_OBJ = $(patsubst %.c,$(FUZZ_OUT)/%.o,$(filter-out backends/snapcache.c,\
	   $(BACKEND_SRC)) fs/creds.c fs/local.c \
	   $(FUZZ_DIR)/fake_http.c $(FUZZ_DIR)/fake_snapcache.c)
FUZZ_WRAP = -Wl,--wrap=http_do -Wl,--wrap=http_stream
# Targets that #include a backend's .c (to reach its static parser) do
# not link its object.
FUZZ_SKIP_marathon_events = $(FUZZ_OUT)/backends/marathon_events.o
FUZZ_SKIP_http = $(FUZZ_OUT)/backends/http.o
# kafka_doc.c's calls into kafka.c are answered by the target itself.
FUZZ_LDFLAGS_kafka_doc = $(patsubst %,-Wl$(comma)--wrap=kafka_%,meta meta_put \
	   invalidate topic_shape list_partitions configs create_topic \
	   grow_partitions set_configs)
comma	 = ,

$(FUZZ_OUT)/%.o: %.c $(wildcard fs/*.h backends/*.h $(FUZZ_DIR)/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_OUT)/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_OBJ) $(wildcard $(FUZZ_DIR)/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(filter-out $(FUZZ_SKIP_$*),$(FUZZ_OBJ)) $(FUZZ_WRAP) \
	    $(FUZZ_LDFLAGS_$*) $(LIBS)

fuzz-build: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ)

# The long run: every target in turn (one process at a time), each
# FUZZ_SECONDS, keeping what it learns in $(FUZZ_OUT)/corpus/<target>.
fuzz: fuzz-build
	$(FUZZ_DIR)/run -t $(FUZZ_SECONDS) -c $(FUZZ_OUT)/corpus $(FUZZ_TARGETS)

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "make deps needs root; run as root:"; \
	  echo "  apt-get install -y $(DEB_PACKAGES)"; exit 1; fi; \
	$$SUDO apt-get update -q && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
	  --no-install-recommends $(DEB_PACKAGES)

install: archonfs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man8
	install -m 755 archonfs $(DESTDIR)$(PREFIX)/bin/archonfs
	install -m 644 archonfs.8 $(DESTDIR)$(MANDIR)/man8/archonfs.8

clean:
	rm -f archonfs $(FS_OBJ) $(BACKEND_OBJ) $(UNIT_BIN) tests/bench/floorfs .build-*
	rm -rf tests/out .demo $(FUZZ_OUT)

.PHONY: all check unit deps install clean bench demo stress valgrind fuzz fuzz-build
