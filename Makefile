# patchgate build.  `make` builds build/patchgate-hook and build/patchgate;
# `make check` runs every test; `make check SANITIZE=1` does so with ASan+UBSan.

PREFIX ?= /usr/local
# What `patchgate --version` prints.
VERSION = 0.1.0
DESTDIR ?=
SANITIZE ?=

# Every Debian package the project needs, to build, test, demo and fuzz.
# `make deps` installs the missing ones; nothing else is installed anywhere.
DEPS = build-essential pkg-config clang clang-format \
       libjansson-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev \
       libseccomp-dev libcap-dev libcmocka-dev libcdb-dev libzstd-dev \
       bats runc crun umoci busybox-static rsyslog util-linux procps \
       jq sqlite3 openssl dpkg rpm python3 python3-rpm python3-yaml python3-prometheus-client man-db groff-base \
       podman skopeo docker.io containerd nginx \
       strace valgrind linux-perf libclang-rt-14-dev graphviz zstd

CC ?= gcc
PKGS = jansson sqlite3 libcurl libcrypto libseccomp libcap libcdb libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT = -O1
else
BUILD ?= build
SAN_FLAGS =
OPT = -O2
endif

CFLAGS ?= $(OPT) -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
          -fstack-protector-strong -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE -Ipolicy \
          $(PKG_CFLAGS) $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS) -Wl,-z,relro,-z,now
LIBS = $(PKG_LIBS) -lm

# The library, libpatchgate.a: every source under policy/, one folder per
# step of a decision (README, "Architecture").  The programs sit on top:
# hook/ (patchgate-hook, patchgate-runtime and the pieces only they run:
# sandbox, deadline, log sink, the runtime wrapper) and cli/ (patchgate).
LIB_SRCS = $(sort $(wildcard policy/*/*.c))
HOOK_MAIN = hook/main.c
WRAPPER_MAIN = hook/runtime_main.c
SECCOMP_GEN_MAIN = hook/seccomp_gen.c
HOOK_SUPPORT_SRCS = $(filter-out $(HOOK_MAIN) $(WRAPPER_MAIN) $(SECCOMP_GEN_MAIN),$(wildcard hook/*.c))
CLI_SRCS = $(wildcard cli/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
HOOK_SUPPORT_OBJS = $(HOOK_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS = $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
HOOK_OBJS = $(HOOK_MAIN:%.c=$(BUILD)/obj/%.o)
WRAPPER_OBJS = $(WRAPPER_MAIN:%.c=$(BUILD)/obj/%.o)
WRAPPER = $(BUILD)/patchgate-runtime
LIB = $(BUILD)/libpatchgate.a
HOOK_LIB = $(BUILD)/libpatchgate-hook.a

# Man pages (roff), installed under $(PREFIX)/share/man/man<section>.
MAN_PAGES = docs/man/patchgate.8 docs/man/patchgate-hook.8 docs/man/patchgate-policy.5

UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

# Header dependencies come from the compiler (-MMD -MP): each object is
# rebuilt when a header it really includes changes, and no other.
DEPFLAGS = -MMD -MP
-include $(shell find $(BUILD) build/fuzz -name '*.d' 2>/dev/null)

.PHONY: all deps check unit integration demo install clean bench fuzz fuzz-build format format-check

all: $(BUILD)/patchgate-hook $(BUILD)/patchgate $(WRAPPER)

$(BUILD)/obj/hook/%.o: private CFLAGS += -Ihook

# The hook's seccomp allowlist (hook/seccomp_rules.c) is compiled into a BPF
# program at build time by seccomp_gen, which the hook loads as it is, with
# its own pid filled in: building it with libseccomp at every container
# start was a third of the hook's time (BENCHMARKS.md).
SECCOMP_GEN = $(BUILD)/seccomp_gen
SECCOMP_BPF = $(BUILD)/gen/seccomp_bpf.h
$(SECCOMP_GEN): $(SECCOMP_GEN_MAIN) $(BUILD)/obj/hook/seccomp_rules.o $(LIB)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Ihook $(LDFLAGS) -o $@ $^ $(LIBS)
$(SECCOMP_BPF): $(SECCOMP_GEN)
	@mkdir -p $(dir $@)
	$(SECCOMP_GEN) >$@.tmp && mv $@.tmp $@
$(BUILD)/obj/hook/sandbox.o: $(SECCOMP_BPF)
$(BUILD)/obj/hook/sandbox.o: private CFLAGS += -I$(BUILD)/gen
# Where `make install` puts the hook, for the wrapper's default entry.
$(BUILD)/obj/hook/runtime_wrap.o: CFLAGS += -DPG_DEFAULT_HOOK_PATH='"$(PREFIX)/libexec/oci/hooks.d/patchgate-hook"'
# Where `make install` puts what `patchgate doctor` checks by default.
$(BUILD)/obj/policy/doctor/doctor.o: CFLAGS += -DPG_DEFAULT_HOOK_PATH='"$(PREFIX)/libexec/oci/hooks.d/patchgate-hook"' \
	-DPG_DEFAULT_RUNC_SNIPPET='"$(PREFIX)/share/patchgate/runc-hook-snippet.json"'
$(BUILD)/obj/cli/%.o: CFLAGS += -Icli
$(BUILD)/obj/cli/patchgate.o: CFLAGS += -DPG_VERSION='"$(VERSION)"'
$(BUILD)/obj/cli/patchgate.o: Makefile

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(HOOK_LIB): $(HOOK_SUPPORT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The parsed-policy cache (rules/policy_cache.h) trusts a record only from a
# build of the same policy sources: their hash is part of its fingerprint.
# Only the sources that define the policy's format and its record count.
POLICY_FORMAT_SRCS = policy/rules/policy.c policy/rules/policy.h policy/rules/policy_record.c \
                     policy/rules/policy_cache.h policy/store/store.h
POLICY_PARSER_ID := $(shell cat $(POLICY_FORMAT_SRCS) | sha256sum | cut -c1-32)
$(BUILD)/obj/policy/rules/policy_record.o: $(POLICY_FORMAT_SRCS)
$(BUILD)/obj/policy/rules/policy_record.o: CFLAGS += -DPG_POLICY_PARSER_ID='"$(POLICY_PARSER_ID)"'

# An index is read only by a build of the same sources that decide what a
# record holds and how it is read (index/format.h): their hash is part of
# the fingerprint in its trailer.
INDEX_BUILD_SRCS = $(sort $(wildcard policy/index/*.[ch] policy/rules/*.[ch] policy/store/*.[ch]))
INDEX_BUILD_ID := $(shell cat $(INDEX_BUILD_SRCS) | sha256sum | cut -c1-32)
$(BUILD)/obj/policy/index/lookup.o: $(INDEX_BUILD_SRCS)
$(BUILD)/obj/policy/index/lookup.o: CFLAGS += -DPG_INDEX_BUILD_ID='"$(INDEX_BUILD_ID)"'

# The hook links only the libraries it calls (not SQLite, libcurl,
# libcrypto, ...), and statically (static-pie): each shared library mapped
# and relocated at exec cost it time on every container start (BENCHMARKS.md).
# The price: a security update of jansson, libcap, tinycdb or glibc reaches
# the hook when it is rebuilt.  HOOK_STATIC=0 links it dynamically; sanitizer
# builds always do.
HOOK_STATIC ?= $(if $(filter 1,$(SANITIZE)),0,1)
ifeq ($(HOOK_STATIC),1)
HOOK_LDFLAGS = -static-pie
HOOK_LIBS = -ljansson -lcap -l:libcdb_pic.a
else
HOOK_LDFLAGS = -Wl,--as-needed
HOOK_LIBS = $(LIBS)
endif
$(BUILD)/patchgate-hook: $(HOOK_OBJS) $(HOOK_LIB) $(LIB)
	$(CC) $(LDFLAGS) $(HOOK_LDFLAGS) -o $@ $^ $(HOOK_LIBS)

$(BUILD)/patchgate: $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/patchgate-runtime: $(WRAPPER_OBJS) $(HOOK_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(HOOK_LIB) $(LIB) $(SECCOMP_BPF)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Ihook -I$(BUILD)/gen -Itests/unit $(LDFLAGS) -o $@ $< $(HOOK_LIB) $(LIB) $(LIBS) -lcmocka

$(BUILD)/bench/%: tests/bench/%.c $(HOOK_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Ihook $(LDFLAGS) -Wl,--as-needed -o $@ $< $(HOOK_LIB) $(LIB) $(LIBS)

# The floor linked as the hook is.
$(BUILD)/bench/floor_static: tests/bench/floor_static.c tests/bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $(HOOK_LDFLAGS) -o $@ $<

# The least an index-backed hook can do, linked as the hook is.
$(BUILD)/bench/cdb_floor: tests/bench/cdb_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $(HOOK_LDFLAGS) -o $@ $< $(if $(filter 1,$(HOOK_STATIC)),-l:libcdb_pic.a,-lcdb)

# The hook without its sandbox, linked as the hook is.
$(BUILD)/bench/hook_nosandbox: tests/bench/hook_nosandbox.c $(HOOK_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Ihook $(LDFLAGS) $(HOOK_LDFLAGS) -o $@ $< $(HOOK_LIB) $(LIB) $(HOOK_LIBS)

# The hook for tests/integration/valgrind.bats: hook/main.c built with
# PG_HOOK_NO_SECCOMP, since valgrind cannot emulate seccomp(2) and the real
# hook refuses to decide without it.  A test binary: never installed.
VALGRIND_HOOK = $(BUILD)/tests/patchgate-hook-valgrind
$(VALGRIND_HOOK): hook/main.c $(HOOK_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Ihook -DPG_HOOK_NO_SECCOMP $(LDFLAGS) -o $@ $< $(HOOK_LIB) $(LIB) $(LIBS)

# The hook linked dynamically, for tests/integration/valgrind.bats: memcheck
# cannot follow a static glibc (its start-up reads look uninitialised to
# it), so the same objects as patchgate-hook are checked linked the usual
# way.  A test binary: never installed.
DYNAMIC_HOOK = $(BUILD)/tests/patchgate-hook-dynamic
$(DYNAMIC_HOOK): $(HOOK_OBJS) $(HOOK_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LIBS)

# libFuzzer harnesses (tests/fuzz/fuzz_*.c), built with clang into
# build/fuzz/ whatever BUILD is, against the library sources compiled again
# by clang with -fsanitize=fuzzer-no-link,address,undefined.  `make fuzz
# FUZZ_TIME=60` runs each for FUZZ_TIME seconds, FUZZ_JOBS at a time, from
# tests/fuzz/corpus/NAME (new inputs land in build/fuzz/corpus/NAME); a
# crash fails it and leaves the input in build/fuzz/artifacts/.
FUZZ_CC = clang
FUZZ_BUILD = build/fuzz
FUZZ_TIME ?= 60
FUZZ_JOBS ?= 2
FUZZ_CFLAGS = -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -Ipolicy \
              -Itests/fuzz $(PKG_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB = $(FUZZ_BUILD)/libpatchgate-fuzz.a

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj/policy/rules/policy_record.o: $(POLICY_FORMAT_SRCS)
$(FUZZ_BUILD)/obj/policy/rules/policy_record.o: FUZZ_CFLAGS += -DPG_POLICY_PARSER_ID='"$(POLICY_PARSER_ID)"'

$(FUZZ_LIB): $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	$(MAKE) fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz/run.sh $(FUZZ_BINS)

# Installs what is missing, and only then touches the package lists.
deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: missing packages ($$missing); run as root" >&2; exit 1; fi; \
	  echo "make deps: installing $$(echo $$missing | tr '\n' ' ')"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

unit: $(UNIT_BINS)

# check, bench and fuzz install nothing: `make deps` (and .ci/run, and demo)
# do, so a missing package fails the build instead of changing the machine.
check:
	$(MAKE) all unit $(BENCH_BINS) $(VALGRIND_HOOK) $(DYNAMIC_HOOK) fuzz-build
	BUILD=$(BUILD) tests/run-all.sh

demo: deps
	$(MAKE) all
	BUILD=$(BUILD) tests/demo.sh

bench:
	$(MAKE) all $(BENCH_BINS)
	BUILD=$(BUILD) tests/bench/run.sh

install: all
	install -D -m 0755 $(BUILD)/patchgate-hook $(DESTDIR)$(PREFIX)/libexec/oci/hooks.d/patchgate-hook
	install -D -m 0755 $(BUILD)/patchgate $(DESTDIR)$(PREFIX)/bin/patchgate
	install -D -m 0644 runtime-config/hook.json.example $(DESTDIR)$(PREFIX)/share/patchgate/hook.json.example
	install -D -m 0644 runtime-config/policy.example.json $(DESTDIR)$(PREFIX)/share/patchgate/policy.example.json
	install -D -m 0644 runtime-config/rsyslog-patchgate.conf $(DESTDIR)$(PREFIX)/share/patchgate/rsyslog-patchgate.conf
	install -D -m 0644 runtime-config/patchgate-sync.service $(DESTDIR)$(PREFIX)/share/patchgate/systemd/patchgate-sync.service
	install -D -m 0644 runtime-config/patchgate-sync.timer $(DESTDIR)$(PREFIX)/share/patchgate/systemd/patchgate-sync.timer
	install -D -m 0644 runtime-config/patchgate-metrics.service $(DESTDIR)$(PREFIX)/share/patchgate/systemd/patchgate-metrics.service
	install -D -m 0644 runtime-config/patchgate-metrics.timer $(DESTDIR)$(PREFIX)/share/patchgate/systemd/patchgate-metrics.timer
	install -D -m 0644 runtime-config/nginx-patchgate-bundles.conf $(DESTDIR)$(PREFIX)/share/patchgate/nginx-patchgate-bundles.conf
	install -D -m 0644 docs/bundles.md $(DESTDIR)$(PREFIX)/share/doc/patchgate/bundles.md
	install -D -m 0644 docs/security.md $(DESTDIR)$(PREFIX)/share/doc/patchgate/security.md
	# Engine wiring (README, "Wiring it into every engine"); paths inside follow PREFIX.
	install -D -m 0755 $(BUILD)/patchgate-runtime $(DESTDIR)$(PREFIX)/bin/patchgate-runtime
	install -d $(DESTDIR)$(PREFIX)/share/containers/oci/hooks.d $(DESTDIR)$(PREFIX)/share/patchgate
	sed 's|/usr/local/|$(PREFIX)/|g' runtime-config/hooks.d/patchgate.json >$(DESTDIR)$(PREFIX)/share/containers/oci/hooks.d/patchgate.json
	sed 's|/usr/local/|$(PREFIX)/|g' runtime-config/hooks.d/patchgate-prestart.json.example >$(DESTDIR)$(PREFIX)/share/patchgate/patchgate-prestart.json.example
	sed 's|/usr/local/|$(PREFIX)/|g' runtime-config/docker-daemon.json >$(DESTDIR)$(PREFIX)/share/patchgate/docker-daemon.json
	sed 's|/usr/local/|$(PREFIX)/|g' runtime-config/containerd-base-spec.json >$(DESTDIR)$(PREFIX)/share/patchgate/containerd-base-spec.json
	sed 's|/usr/local/|$(PREFIX)/|g' runtime-config/containerd-config.toml >$(DESTDIR)$(PREFIX)/share/patchgate/containerd-config.toml
	sed 's|/usr/local/|$(PREFIX)/|g' runtime-config/runc-hook-snippet.json >$(DESTDIR)$(PREFIX)/share/patchgate/runc-hook-snippet.json
	chmod 0644 $(DESTDIR)$(PREFIX)/share/containers/oci/hooks.d/patchgate.json $(DESTDIR)$(PREFIX)/share/patchgate/*.json*
	# Kubernetes manifests (README, "Kubernetes") and the man pages, paths following PREFIX.
	install -d $(DESTDIR)$(PREFIX)/share/patchgate/kubernetes $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 runtime-config/kubernetes/*.yaml $(DESTDIR)$(PREFIX)/share/patchgate/kubernetes/
	for m in $(MAN_PAGES); do \
	  sed 's|/usr/local/|$(PREFIX)/|g' $$m >$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$$(basename $$m) && \
	  chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$$(basename $$m) || exit 1; \
	done

format:
	clang-format -i policy/*/*.[ch] hook/*.[ch] cli/*.[ch] tests/unit/*.[ch] $(wildcard tests/bench/*.c tests/fuzz/*.c)

format-check:
	clang-format --dry-run -Werror policy/*/*.[ch] hook/*.[ch] cli/*.[ch] tests/unit/*.[ch] $(wildcard tests/bench/*.c tests/fuzz/*.c)

clean:
	rm -rf build
