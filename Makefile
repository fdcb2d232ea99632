# The shim, its reference manager shimctl, and their tests.
#   make          build shim and shimctl
#   make demo     run a container through the shim, narrating each step
#   make check    unit tests, then integration tests with real runc, also
#                 under AddressSanitizer and UndefinedBehaviorSanitizer
#   make bench    compare with conmon; writes docs/performance.md

CC ?= cc
CFLAGS ?= -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wformat=2
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

# Debian packages the build, tests and demo need.
DEPS := runc busybox-static libsodium-dev check pkg-config

PKG_CFLAGS = $(shell pkg-config --cflags libsodium 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs libsodium 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

ALL_CFLAGS = $(CFLAGS) -DSHIM_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
# -static-libubsan: with gcc's shared libubsan, UBSan reports go to stderr
# whatever UBSAN_OPTIONS=log_path says, and the daemon's stderr is
# /dev/null; linked statically, log_path works and the tests see them.
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANITIZE_LINK = $(SANITIZE) -static-libubsan

SHIM_OBJS = shim.o args.o runtime.o io.o log.o util.o
SHIMCTL_OBJS = shimctl.o util.o
HEADERS = $(wildcard *.h)

.PHONY: all deps check unit integration demo bench install clean

all: shim shimctl

shim: $(SHIM_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

shimctl: $(SHIMCTL_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

%.o: %.c $(HEADERS)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The same programs built with ASan and UBSan, for the integration tests.
build/asan/%.o: %.c $(HEADERS)
	@mkdir -p build/asan
	$(CC) $(ALL_CFLAGS) $(SANITIZE) -c -o $@ $<

build/asan/shim: $(addprefix build/asan/,$(SHIM_OBJS))
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) -o $@ $^ $(LDFLAGS)

build/asan/shimctl: $(addprefix build/asan/,$(SHIMCTL_OBJS))
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

# A small attach client for the tests: the raw protocol, over both socket types.
tests/attach-probe: tests/attach-probe.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

# Runs a command on a real pty and talks to it, for the terminal tests.
tests/pty-driver: tests/pty-driver.c
	$(CC) $(ALL_CFLAGS) -o $@ $< -lutil

UNIT_SOURCES = args.c runtime.c io.c log.c util.c
tests/unit: tests/unit.c $(UNIT_SOURCES) $(HEADERS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE_LINK) $(CHECK_CFLAGS) -I. -o $@ tests/unit.c $(UNIT_SOURCES) $(LDFLAGS) $(CHECK_LIBS)

# Install whatever is missing, with one apt-get update first. (Asking dpkg
# about the package, not looking for a file: /bin/busybox may come from the
# dynamically linked busybox package, which cannot run inside the rootfs.)
deps:
	@missing=""; for package in $(DEPS); do \
		dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q 'ok installed' || \
			missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

unit: deps
	$(MAKE) tests/unit
	tests/unit

integration: deps
	$(MAKE) all build/asan/shim build/asan/shimctl tests/attach-probe tests/pty-driver
	bundle-example/prepare.sh
	tests/integration.sh

check: deps
	$(MAKE) unit
	$(MAKE) integration

demo: deps
	$(MAKE) all
	bundle-example/prepare.sh
	./demo.sh

bench: deps
	@dpkg-query -W -f='$${Status}' conmon 2>/dev/null | grep -q 'ok installed' || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq conmon; }
	$(MAKE) all
	bundle-example/prepare.sh
	bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 shim shimctl $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf *.o shim shimctl tests/unit tests/attach-probe tests/pty-driver build
