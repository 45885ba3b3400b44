# sesame: a session-giving TLS reverse proxy.  `make help` lists the targets.
#
# Overrides (make VAR=value):
#   PREFIX=/usr/local  DESTDIR=       install locations
#   CXX=g++                           compiler (fuzzers always use clang++)
#   SANITIZE=address,undefined        build with sanitizers (into build-asan/)
#   FUZZ_SECONDS=60                   per-target fuzzing time for `make fuzz`
#   V=1                               show full commands
#   JOBS=N                            parallel compiles and fuzzers (default: CPUs)
PREFIX ?= /usr/local
DESTDIR ?=
CXX ?= g++
SANITIZE ?=
FUZZ_SECONDS ?= 60
V ?= 0
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build-asan
endif

Q := $(if $(filter 1,$(V)),,@)
PKGS := libevent_core libevent_openssl libevent_pthreads openssl hiredis tomlplusplus jansson
CXXFLAGS_BASE := -std=c++20 -O2 -g -Wall -Wextra -Werror -Iinclude -MMD -MP -pthread
# GCC's -Wmaybe-uninitialized gives false positives under sanitizers (in
# libstdc++'s <regex>, which Catch2 includes): off in sanitized builds only.
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
  -fno-sanitize-recover=all -Wno-maybe-uninitialized)
ALL_CXXFLAGS = $(CXXFLAGS_BASE) $(SAN_FLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CXXFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) -pthread $(LDFLAGS)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt

# Sources, one list per module (dependencies point down this list).
BASE_SRCS := $(wildcard src/base/*.cc)
NET_SRCS := $(wildcard src/net/*.cc)
TLS_SRCS := $(wildcard src/tls/*.cc)
HTTP_SRCS := $(wildcard src/http/*.cc)
JOSE_SRCS := $(wildcard src/jose/*.cc)
CONFIG_SRCS := $(wildcard src/config/*.cc)
SESSION_SRCS := $(wildcard src/session/*.cc)
AUTH_SRCS := $(wildcard src/auth/*.cc)
OUTBOUND_SRCS := $(wildcard src/outbound/*.cc)
OIDC_SRCS := $(wildcard src/oidc/*.cc)
IDENTITY_SRCS := $(wildcard src/identity/*.cc)
PROXY_SRCS := $(wildcard src/proxy/*.cc)
ADMIN_SRCS := $(wildcard src/admin/*.cc)
SERVER_SRCS := $(filter-out src/server/main.cc,$(wildcard src/server/*.cc))
LIB_SRCS := $(BASE_SRCS) $(NET_SRCS) $(TLS_SRCS) $(HTTP_SRCS) $(JOSE_SRCS) $(CONFIG_SRCS) \
  $(SESSION_SRCS) $(AUTH_SRCS) $(OUTBOUND_SRCS) $(OIDC_SRCS) $(IDENTITY_SRCS) $(PROXY_SRCS) \
  $(ADMIN_SRCS) $(SERVER_SRCS)
UNIT_SRCS := $(wildcard tests/unit/*.cc tests/unit/*/*.cc)
FUZZ_SRCS := $(wildcard tests/fuzz/*.cc)

LIB_OBJS := $(LIB_SRCS:%.cc=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/server/main.o
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/obj/%.o)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.cc=build-fuzz/%)

.PHONY: all deps test test-bins unit e2e asan asan-bins fuzz fuzz-bins bench demo format lint man-lint install clean help
all: $(BUILD)/sesame

help:
	@echo "make            build $(BUILD)/sesame"
	@echo "make test       install deps, build, run unit and end-to-end tests"
	@echo "make asan       the same suite built with ASan+UBSan (build-asan/)"
	@echo "make fuzz       build libFuzzer targets (clang) and run each FUZZ_SECONDS, JOBS at once"
	@echo "make test-bins, asan-bins, fuzz-bins   only build what test, asan, fuzz run"
	@echo "make bench      wrk: sesame vs nginx and haproxy, plain and TLS (scripts/bench.sh)"
	@echo "make demo       sesame on https://127.0.0.1:8443 in front of a demo app"
	@echo "make install    binary, man pages, example config, systemd unit, logrotate entry"
	@echo "make format     clang-format every C++ file; make lint checks it"
	@echo "make man-lint   mandoc -Tlint on man/"

deps:
	$(Q)bash scripts/deps.sh

# Rebuild everything when the flags change.
FLAGS_STAMP := $(BUILD)/.flags-$(shell echo '$(ALL_CXXFLAGS) $(ALL_LDFLAGS) $(LIBS)' | md5sum | cut -c1-12)
$(FLAGS_STAMP):
	$(Q)mkdir -p $(BUILD) && rm -f $(BUILD)/.flags-* && touch $@

$(BUILD)/obj/%.o: %.cc $(FLAGS_STAMP)
	$(Q)mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

# Test code is compiled without optimisation (the code under test keeps -O2):
# Catch2's expansions made the test files most of the build, 25 s of CPU for
# one file at -O2 under ASan against 8 s at -O0.
$(BUILD)/obj/tests/%.o: ALL_CXXFLAGS += -O0

$(BUILD)/libsesame.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/sesame: $(MAIN_OBJ) $(BUILD)/libsesame.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/unit_tests: $(UNIT_OBJS) $(BUILD)/libsesame.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

test: test-bins
	$(Q)bash scripts/run-tests.sh $(BUILD)

test-bins: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/sesame $(BUILD)/unit_tests

unit: $(BUILD)/unit_tests
	$(Q)$(BUILD)/unit_tests

e2e: $(BUILD)/sesame
	$(Q)python3 tests/e2e/run.py --binary $(BUILD)/sesame

asan: asan-bins
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  bash scripts/run-tests.sh build-asan

asan-bins: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) SANITIZE=address,undefined build-asan/sesame build-asan/unit_tests

# Fuzzers: the library sources are compiled once per flag set into an
# archive, and each target links only the members it uses. Compiling every
# source into every target took 1.25 CPU-minutes per target, one file at a
# time; the archive and six links take 2.3 for all six.
FUZZ_LIB_SRCS := $(BASE_SRCS) $(NET_SRCS) $(TLS_SRCS) $(HTTP_SRCS) $(JOSE_SRCS) $(CONFIG_SRCS) \
  $(SESSION_SRCS) $(AUTH_SRCS) $(OUTBOUND_SRCS) $(OIDC_SRCS) $(IDENTITY_SRCS)
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined
FUZZ_FLAGS := -std=c++20 -O1 -g -Iinclude -MMD -MP $(FUZZ_SAN) \
  $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# toml++ is compiled into the config fuzzer so its parser is instrumented
# too: the config sources (the only ones including it) are compiled a second
# time, header-only. NDEBUG and no "unreachable" check: toml++ 3.3 has a debug
# assertion and a TOML_UNREACHABLE that fuzzing reaches inside the library
# itself (marzer/tomlplusplus#190, fixed upstream after 3.3).
FUZZ_TOML_FLAGS := -std=c++20 -O1 -g -Iinclude -MMD -MP $(FUZZ_SAN) -fno-sanitize=unreachable \
  -DNDEBUG -DTOML_HEADER_ONLY=1 $(shell pkg-config --cflags libevent_core openssl hiredis 2>/dev/null)
FUZZ_OBJS := $(FUZZ_LIB_SRCS:%.cc=build-fuzz/obj/%.o)
FUZZ_TOML_OBJS := $(CONFIG_SRCS:%.cc=build-fuzz/toml/%.o) build-fuzz/toml/tests/fuzz/config_parser.o
FUZZ_STAMP := build-fuzz/.flags-$(shell echo '$(FUZZ_FLAGS) $(FUZZ_TOML_FLAGS) $(LIBS)' | md5sum | cut -c1-12)
$(FUZZ_STAMP):
	$(Q)mkdir -p build-fuzz && rm -f build-fuzz/.flags-* && touch $@

build-fuzz/obj/%.o: %.cc $(FUZZ_STAMP)
	$(Q)mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCXX $<")
	$(Q)clang++ $(FUZZ_FLAGS) -c $< -o $@

build-fuzz/toml/%.o: %.cc $(FUZZ_STAMP)
	$(Q)mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCXX $< (toml++ inside)")
	$(Q)clang++ $(FUZZ_TOML_FLAGS) -c $< -o $@

# Kept between runs, so a second `make fuzz` relinks nothing.
.SECONDARY: $(FUZZ_SRCS:tests/fuzz/%.cc=build-fuzz/obj/tests/fuzz/%.o)

build-fuzz/libsesame.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

build-fuzz/%: build-fuzz/obj/tests/fuzz/%.o build-fuzz/libsesame.a
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang++ -fsanitize=fuzzer,address,undefined $^ $(LIBS) -o $@

# The archive's config members are never pulled in: these objects define
# every symbol they would.
build-fuzz/config_parser: $(FUZZ_TOML_OBJS) build-fuzz/libsesame.a
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang++ -fsanitize=fuzzer,address,undefined $^ \
	  $(shell pkg-config --libs libevent_core openssl hiredis 2>/dev/null) -lcrypt -o $@

fuzz: fuzz-bins
	$(Q)FUZZ_JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-bins: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_BINS)

bench: deps $(BUILD)/sesame
	$(Q)bash scripts/bench.sh $(BUILD)/sesame

# make demo OIDC=1: also sign-in with a local OpenID provider (demo.sh --oidc).
demo: deps $(BUILD)/sesame
	$(Q)bash scripts/demo.sh $(BUILD)/sesame$(if $(filter-out 0,$(OIDC)), --oidc)

CXX_FILES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(CXX_FILES)

lint:
	$(Q)clang-format --dry-run -Werror $(CXX_FILES)

man-lint:
	$(Q)for m in man/*.[0-9]; do mandoc -Tlint -W warning $$m || exit 1; done

install: $(BUILD)/sesame
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)/etc/sesame $(DESTDIR)/lib/systemd/system \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d $(DESTDIR)/etc/logrotate.d
	install -m 755 $(BUILD)/sesame $(DESTDIR)$(PREFIX)/sbin/sesame
	install -m 644 man/sesame.8 $(DESTDIR)$(PREFIX)/share/man/man8/sesame.8
	install -m 644 man/sesame.toml.5 $(DESTDIR)$(PREFIX)/share/man/man5/sesame.toml.5
	install -m 644 conf/sesame.toml $(DESTDIR)/etc/sesame/sesame.toml.example
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|g' conf/sesame.service > $(BUILD)/sesame.service
	install -m 644 $(BUILD)/sesame.service $(DESTDIR)/lib/systemd/system/sesame.service
	install -m 644 conf/logrotate.d/sesame $(DESTDIR)/etc/logrotate.d/sesame
	install -m 644 conf/sysusers.d/sesame.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/sesame.conf
	install -m 644 conf/tmpfiles.d/sesame.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/sesame.conf

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d)
-include $(FUZZ_OBJS:.o=.d) $(FUZZ_TOML_OBJS:.o=.d) $(FUZZ_SRCS:tests/fuzz/%.cc=build-fuzz/obj/tests/fuzz/%.d)
