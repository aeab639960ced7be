# hookstream — hand-written Makefile (pkg-config for every dependency).
#
#   make            build build/hookstream
#   make run        install missing Debian packages, build, serve on SQLite
#   make test       install what tests need, run unit + integration tests
#   make asan       the same suite on an AddressSanitizer + UBSan build
#   make lint       banned functions, formatting
#   make bench      benchmarks (bench/), see docs/performance.md
#   make fuzz       libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS each
#   make fuzz-smoke the same for 10 s each (part of make test)
#   make check      build and run the unit tests only: no package install,
#                   no network, no root (needs the build deps and libcmocka-dev)
#   make install    $(DESTDIR)$(BINDIR)/hookstream and the systemd unit
#                   (PREFIX, default /usr/local; docs/operations.md)
#   make uninstall  removes what make install installed
#
# Warnings are errors (-Werror) in a git checkout, which is development and
# CI; a tree without .git (a release tarball, a package build) warns only.
# WERROR=1 or WERROR=0 overrides either way. CFLAGS, CPPFLAGS and LDFLAGS
# from the command line or the environment are added to the project's own.

CC      ?= cc
BUILD   ?= build
PKGS    := libuv libcurl jansson sqlite3 libpq libcrypto
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WERROR  ?= $(if $(wildcard .git),1,0)
HS_WERROR := $(if $(filter 1,$(WERROR)),-Werror)
# the project's flags (HS_CFLAGS) come first, so a packager's CFLAGS can
# override -O and friends but not drop -std=c11 or the dependency files
HS_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(HS_WERROR) -Wshadow \
           -Wstrict-prototypes -Wno-missing-field-initializers -fno-strict-aliasing -pthread -MMD -MP
LDLIBS  := -lhttp_parser -lwslay -pthread -lm

ifeq ($(SANITIZE),1)
# gcc 12 reports a false "null format string" under UBSan's instrumentation
HS_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
           -Wno-format-truncation
HS_LDFLAGS += -fsanitize=address,undefined
endif

# The server links jemalloc: every delivery and ingest allocates and frees
# on two threads (loop and writer, and libcurl inside the loop), where
# glibc's malloc measured 10-20% slower end to end (docs/performance.md).
# Sanitizer builds keep their own allocator; MALLOC=libc builds without it
# (for valgrind, whose leak checker follows glibc's malloc).
MALLOC ?= jemalloc
ifeq ($(SANITIZE),1)
MALLOC := libc
endif
# FUZZ=1: the library for libFuzzer harnesses (make fuzz sets it, with clang
# and BUILD=build/fuzz). clang warns about the schema's concatenated string
# literals where gcc does not; that warning is off for this build only.
ifeq ($(FUZZ),1)
HS_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer -Wno-string-concatenation
MALLOC := libc
endif
ifeq ($(MALLOC),jemalloc)
SERVER_LIBS = $(shell pkg-config --libs jemalloc 2>/dev/null)
endif

# pkg-config is asked lazily so that `make deps` works before the -dev
# packages exist.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# src/<subsystem>/ and lib/<library>/ (docs/architecture.md has the layers)
SRCS      := $(sort $(shell find src lib -name '*.c' -not -path 'lib/*/tests/*'))
LIB_SRCS  := $(filter-out src/app/main.c,$(SRCS))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# unit tests, the store conformance suite and each library's own tests:
# every test_<name>.c is one program, build/tests/test_<name>
UNIT_SRCS := $(wildcard tests/unit/test_*.c tests/store/test_*.c lib/*/tests/test_*.c)
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(UNIT_SRCS))))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
# The dashboard (web/*) is compiled in: tools/embed.c turns it into a C source
WEB_FILES := $(sort $(wildcard web/*))
LIB_OBJS  += $(BUILD)/gen/web_assets.o
# and so is the OpenAPI document (src/api/openapi.c serves it)
LIB_OBJS  += $(BUILD)/gen/openapi_doc.o

.PHONY: all deps test-deps run test unit check check-cmocka integration asan lint format bench bench-bins \
        clean fuzz fuzz-smoke fuzz-bins install uninstall
all: $(BUILD)/hookstream

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HS_CFLAGS) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -Isrc -Ilib -c $< -o $@

# web/ itself is a prerequisite so that adding or removing a file regenerates
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 -Wall -Wextra $(HS_WERROR) -o $@ $<

$(BUILD)/gen/web_assets.c: $(BUILD)/tools/embed $(WEB_FILES) web
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $(WEB_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c src/observe/static.h
	$(CC) $(HS_CFLAGS) $(CFLAGS) $(CPPFLAGS) -Isrc -c $< -o $@

# The same tool embeds src/api/openapi.json, its table renamed so that the
# document is not one of the dashboard's files (src/api/openapi.c)
$(BUILD)/gen/openapi_doc.c: $(BUILD)/tools/embed src/api/openapi.json
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed src/api/openapi.json > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/openapi_doc.o: $(BUILD)/gen/openapi_doc.c src/observe/static.h
	$(CC) $(HS_CFLAGS) $(CFLAGS) $(CPPFLAGS) -Dhs_static_files=hs_openapi_files -Dhs_static_nfiles=hs_openapi_nfiles \
	    -Isrc -c $< -o $@

$(BUILD)/libhookstream.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hookstream: $(BUILD)/src/app/main.o $(BUILD)/libhookstream.a
	$(CC) $(HS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(PKG_LIBS) $(LDLIBS)

# One rule per test program, naming its object: an object reached only
# through a chain of pattern rules is intermediate, and make deleted it
# after each link and so recompiled every test on every run.
define unit_prog
$(BUILD)/tests/$(basename $(notdir $(1))): $(BUILD)/$(1:.c=.o) $(BUILD)/libhookstream.a
	$$(CC) $$(HS_LDFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(CMOCKA_LIBS) $$(LDLIBS)
endef
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_prog,$(t))))

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libhookstream.a
	@mkdir -p $(dir $@)
	$(CC) $(HS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

bench-bins: $(BENCH_BINS)

# make install (docs/operations.md): the binary, and the systemd unit with
# the binary's path written into its ExecStart. The unit goes under
# PREFIX/lib/systemd/system: /usr/lib/... and /usr/local/lib/... are both
# on systemd's search path; SYSTEMDUNITDIR moves it (e.g. to what
# `pkg-config --variable=systemdsystemunitdir systemd` says).
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

install: $(BUILD)/hookstream dist/hookstream.service.in
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 $(BUILD)/hookstream $(DESTDIR)$(BINDIR)/hookstream
	sed 's|@BINDIR@|$(BINDIR)|g' dist/hookstream.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/hookstream.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/hookstream.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hookstream $(DESTDIR)$(SYSTEMDUNITDIR)/hookstream.service

deps:
	@scripts/install-deps.sh build

# Debian packages for tests, then the npm peers in tests/peers (npm ci when
# node_modules is missing or older than tests/peers/package-lock.json)
test-deps:
	@scripts/install-deps.sh test

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/hookstream serve $(ARGS)

unit: $(UNIT_BINS)

# The unit tests alone, as tests/run.sh runs them in make test, with what
# the build needs and cmocka; nothing is installed, nothing downloaded.
check: check-cmocka
	@$(MAKE) --no-print-directory unit
	@BUILD=$(BUILD) tests/run.sh --unit-only

check-cmocka:
	@pkg-config --exists cmocka || { echo "make check: cmocka is missing (make deps installs libcmocka-dev)" >&2; exit 1; }

test: test-deps
	@$(MAKE) --no-print-directory all unit fuzz-bins
	@BUILD=$(BUILD) FUZZ_SMOKE=1 tests/run.sh

asan: test-deps
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 OPT=-O1 all unit
	@BUILD=build/asan HOOKSTREAM_ASAN=1 tests/run.sh

lint:
	@scripts/lint.sh

format:
	clang-format -i $$(find src lib tests/unit tests/store tests/fuzz bench -name '*.[ch]')

bench: deps
	@$(MAKE) --no-print-directory all bench-bins
	@bench/ingest
	@bench/deliver
	@bench/backlog
	@$(BUILD)/bench/routing_cost

# Fuzzing (docs/testing.md "Fuzzing"): every tests/fuzz/fuzz_<name>.c is
# one harness, linked against a clang build of the library in build/fuzz.
FUZZ_CC      ?= clang-14
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

ifeq ($(FUZZ),1)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(BUILD)/libhookstream.a
	$(CC) $(HS_CFLAGS) $(CFLAGS) $(CPPFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -Isrc -Ilib -o $@ $< $(BUILD)/libhookstream.a $(PKG_LIBS) $(LDLIBS)

fuzz-bins-here: $(FUZZ_BINS)
endif

fuzz-bins:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) FUZZ=1 CC=$(FUZZ_CC) OPT=-O1 fuzz-bins-here

fuzz: fuzz-bins
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

fuzz-smoke: fuzz-bins
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=10 tests/fuzz/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
