# The shim, its reference manager shimctl, and their tests.
#   make          build shim and shimctl
#   make demo     run a container through the shim, narrating each step
#   make check    unit tests, then integration tests with real runc, also
#                 under AddressSanitizer and UndefinedBehaviorSanitizer
#   make fuzz     build the libFuzzer targets (clang) and run each for
#                 FUZZ_SECONDS (default 20); make check runs it too
#   make docs     regenerate the pictures and transcripts in docs/ from real
#                 runs; make check fails when a committed one is stale
#   make bench    compare with conmon; writes docs/performance.md
#   make fresh-root  the two commands in a fresh minimal Debian root (slow)

CC ?= cc
CFLAGS ?= -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wformat=2
PREFIX ?= /usr/local
DESTDIR ?=
MANDIR ?= $(PREFIX)/share/man
VERSION := 0.1.0

# Debian packages: what the shim, shimctl and the demo need, and what the
# tests need on top (Check, clang's libFuzzer, valgrind, graphviz, strace,
# mandoc; podman, and Debian's conmon to hold our shim-conmon against;
# protobuf-c for containerd's ttrpc, issue 11, in progress).
RUN_DEPS := runc busybox-static libsodium-dev pkg-config procps
TEST_DEPS := check clang libclang-rt-14-dev valgrind graphviz strace mandoc podman conmon \
	libprotobuf-c-dev protobuf-c-compiler containerd

PKG_CFLAGS = $(shell pkg-config --cflags libsodium 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs libsodium 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
PROTOBUF_C_LIBS = $(shell pkg-config --libs libprotobuf-c 2>/dev/null)

ALL_CFLAGS = $(CFLAGS) -DSHIM_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -Ibuild/proto
# -static-libubsan: with gcc's shared libubsan, UBSan reports go to stderr
# whatever UBSAN_OPTIONS=log_path says, and the daemon's stderr is
# /dev/null; linked statically, log_path works and the tests see them.
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANITIZE_LINK = $(SANITIZE) -static-libubsan

SHIM_OBJS = main.o shim.o args.o runtime.o io.o ctl.o log.o oom.o util.o
# podman's shim: the same core, started by conmon's flags (docs/podman.md).
CONMON_OBJS = conmon-main.o conmon.o $(filter-out main.o args.o,$(SHIM_OBJS))
# containerd's shim (issue 11): the same core, with the task service over
# ttrpc; protoc-c makes containerd's messages at build time (below).
CONTAINERD_SHIM = containerd-shim-cshim-v2
PROTO_C = build/proto/ttrpc.pb-c.c build/proto/task.pb-c.c build/proto/events.pb-c.c
CONTAINERD_OBJS = containerd-main.o task.o events.o rootfs.o ttrpc.o jsonread.o \
	build/proto/ttrpc.pb-c.o build/proto/task.pb-c.o build/proto/events.pb-c.o \
	$(filter-out main.o args.o,$(SHIM_OBJS))
SHIMCTL_OBJS = shimctl.o shimctl-create.o shimctl-attach.o shimctl-exec.o jsonread.o util.o
HEADERS = $(wildcard *.h)

.PHONY: all deps run-deps check unit fuzz integration docs docs-check demo bench fresh-root install clean

all: shim shim-conmon shimctl

# The shim is linked statically. A container's shim lives as long as the
# container, one per container: what each costs is the memory only it
# holds. Dynamically linked, glibc's and ld.so's relocated data alone are
# about 72 kB a process; statically, the code is shared by every shim on
# the machine and each holds only its own data (docs/performance.md).
shim: $(SHIM_OBJS)
	$(CC) $(ALL_CFLAGS) -static -o $@ $^ $(LDFLAGS)

# The same, linked dynamically, for valgrind: it can check the heap only
# where it can replace malloc, in a shared libc.
build/dynamic/shim: $(SHIM_OBJS)
	@mkdir -p build/dynamic
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

shim-conmon: $(CONMON_OBJS)
	$(CC) $(ALL_CFLAGS) -static -o $@ $^ $(LDFLAGS)

$(CONTAINERD_SHIM): $(CONTAINERD_OBJS)
	$(CC) $(ALL_CFLAGS) -static -o $@ $^ $(LDFLAGS) $(PROTOBUF_C_LIBS) $(PKG_LIBS)

containerd-main.o task.o events.o rootfs.o ttrpc.o: $(PROTO_C:.c=.h)

build/proto/%.pb-c.o: build/proto/%.pb-c.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

shimctl: $(SHIMCTL_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

%.o: %.c $(HEADERS)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The same programs built with ASan and UBSan, for the integration tests.
build/asan/%.o: %.c $(HEADERS) $(PROTO_C:.c=.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) -c -o $@ $<

build/asan/shim: $(addprefix build/asan/,$(SHIM_OBJS))
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) -o $@ $^ $(LDFLAGS)

build/asan/shim-conmon: $(addprefix build/asan/,$(CONMON_OBJS))
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) -o $@ $^ $(LDFLAGS)

build/asan/$(CONTAINERD_SHIM): $(addprefix build/asan/,$(CONTAINERD_OBJS))
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) -o $@ $^ $(LDFLAGS) $(PROTOBUF_C_LIBS) $(PKG_LIBS)

build/asan/shimctl: $(addprefix build/asan/,$(SHIMCTL_OBJS))
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

# A small attach client for the tests: the raw protocol, over both socket types.
tests/attach-probe: tests/attach-probe.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

# Runs a command on a real pty and talks to it, for the terminal tests.
tests/pty-driver: tests/pty-driver.c
	$(CC) $(ALL_CFLAGS) -o $@ $< -lutil

# Sends broken ttrpc to a shim's socket, for the containerd tests.
tests/ttrpc-poke: tests/ttrpc-poke.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

# Swaps a file for a symlink the moment it appears, for the trust tests.
tests/path-racer: tests/path-racer.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

# containerd's messages (proto/), compiled by protoc-c at build time
# (PROTO_C is set above, before the rules that need its headers).
build/proto/%.pb-c.c build/proto/%.pb-c.h: proto/%.proto
	@mkdir -p build/proto
	protoc-c --proto_path=proto --c_out=build/proto $<

UNIT_SOURCES = args.c conmon.c runtime.c io.c ctl.c log.c util.c ttrpc.c rootfs.c $(PROTO_C)
UNIT_TESTS = tests/unit.c tests/unit-conmon.c tests/unit-ttrpc.c
tests/unit: $(UNIT_TESTS) $(UNIT_SOURCES) $(HEADERS) $(PROTO_C:.c=.h)
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) $(CHECK_CFLAGS) -I. -Ibuild/proto -o $@ $(UNIT_TESTS) \
		$(UNIT_SOURCES) $(LDFLAGS) $(CHECK_LIBS) $(PROTOBUF_C_LIBS)

# libFuzzer targets for the parsers and framers, one file each in
# tests/fuzz/ (what each checks is at its top), built with clang into
# build/fuzz/. tests/fuzz/run.sh runs each for FUZZ_SECONDS against its
# seeds in tests/fuzz/corpus/NAME/; what the fuzzer finds beyond them is
# kept in build/fuzz/corpus/NAME/, never in the repository.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_TARGETS = args_parse conmon_args ttrpc_frames log_frame json_escape config_terminal ctl_line flat_json attach_frames
FUZZ_SANITIZE = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The core files the targets call, compiled once into an archive, so each
# target links only the files it needs.
FUZZ_CORE = args.c conmon.c runtime.c io.c ctl.c log.c util.c jsonread.c ttrpc.c $(PROTO_C)

build/fuzz/core/%.o: %.c $(HEADERS) $(PROTO_C:.c=.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_SANITIZE) -Ibuild/proto -c -o $@ $<

build/fuzz/core.a: $(patsubst %.c,build/fuzz/core/%.o,$(FUZZ_CORE))
	rm -f $@
	$(AR) rcs $@ $^

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.c tests/fuzz/fuzz.h build/fuzz/core.a $(HEADERS)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_SANITIZE) -I. -Ibuild/proto -o $@ $< tests/fuzz/fuzz.c build/fuzz/core.a \
		$(LDFLAGS) $(PROTOBUF_C_LIBS)

# Install whatever is missing, with one apt-get update first. (Asking dpkg
# about the package, not looking for a file: /bin/busybox may come from the
# dynamically linked busybox package, which cannot run inside the rootfs.)
# `make deps` installs everything; the demo needs only RUN_DEPS.
deps: DEPS = $(RUN_DEPS) $(TEST_DEPS)
run-deps: DEPS = $(RUN_DEPS)
deps run-deps:
	@missing=""; for package in $(DEPS); do \
		dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q 'ok installed' || \
			missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		{ [ -n "$${APT_UPDATED:-}" ] || apt-get update -qq; } && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

unit: deps
	$(MAKE) tests/unit
	tests/unit

fuzz: deps
	$(MAKE) $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

integration: deps
	$(MAKE) all build/asan/shim build/asan/shim-conmon build/asan/shimctl build/dynamic/shim \
		tests/attach-probe tests/pty-driver tests/path-racer
	bundle-example/prepare.sh
	tests/integration.sh
	tests/podman.sh
	tests/podman.sh --conmon /usr/bin/conmon
	$(MAKE) $(CONTAINERD_SHIM) build/asan/$(CONTAINERD_SHIM) tests/ttrpc-poke
	tests/containerd.sh
	tests/containerd.sh --shim /usr/bin/containerd-shim-runc-v2

check: deps
	$(MAKE) unit
	$(MAKE) fuzz
	$(MAKE) integration
	$(MAKE) docs-check
	$(MAKE) man-check

# Every picture and transcript in docs/ comes from a real run (docs/gen/):
# make docs writes them, make check fails when one is stale.
DOCS_PREREQS = all $(CONTAINERD_SHIM) build/asan/shim build/asan/shimctl tests/attach-probe tests/pty-driver

docs: deps
	$(MAKE) $(DOCS_PREREQS)
	bundle-example/prepare.sh
	docs/gen/run.sh write

docs-check: deps
	$(MAKE) $(DOCS_PREREQS)
	bundle-example/prepare.sh
	docs/gen/run.sh check

# The man pages (docs/man/) lint clean, render, and list every flag and
# command that shim --help and shimctl help list (tests/man.sh).
.PHONY: man-check
man-check: deps
	$(MAKE) all
	tests/man.sh

demo: run-deps
	$(MAKE) all
	bundle-example/prepare.sh
	./demo.sh

# The README's two commands on a fresh, minimal Debian 12 root, without
# make or a compiler (debootstrap; downloads, takes minutes): optional.
fresh-root:
	tests/fresh-root.sh

bench: deps
	$(MAKE) all $(CONTAINERD_SHIM)
	bundle-example/prepare.sh
	bench/run.sh

install: all $(CONTAINERD_SHIM)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	install -m 0755 shim shim-conmon shimctl $(CONTAINERD_SHIM) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/shim.1 docs/man/shimctl.1 $(DESTDIR)$(MANDIR)/man1/

clean:
	rm -rf *.o shim shim-conmon shimctl $(CONTAINERD_SHIM) tests/unit tests/ttrpc-poke tests/attach-probe tests/pty-driver tests/path-racer build
