# tem - build, run and test. See README.md.
#
#   make          build build/tem and its manual pages (no installs)
#   make man      build/man/tem.8 and tem.conf.5, printed by `tem man`
#   make run      install what is missing, build, start a development server
#   make test     install what is missing, build (ASan+UBSan), run every test
#   make fuzz     build the libFuzzer targets under build/fuzz/
#   make fuzz-long  run each 10 minutes, growing fuzz/corpus/ (nightly)
#   make bench    run the benchmarks in bench/ (installs Postfix/Dovecot peers)
#   make install  PREFIX=/usr/local DESTDIR= : binary, unit, config, user
#   make uninstall  what install put, never the config or data_dir
#   make deb      build/tem_VERSION_ARCH.deb (scripts/mkdeb.sh)

CC      ?= cc
PKGS    := libevent libevent_openssl libevent_pthreads openssl sqlite3 libunbound libcrypt zlib libsystemd libcurl jansson libpq
WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wformat=2 \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-qual \
           -Wnull-dereference -Wimplicit-fallthrough
BASEFLAGS := -std=c17 -D_GNU_SOURCE -Isrc $(WARN) -pthread
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS  = $(PKG_LIBS) -lpthread

SRCS     := $(shell find src -name '*.c' ! -name 'test-*.c' | sort)
LIBSRCS  := $(filter-out src/main.c,$(SRCS))
TESTSRCS := $(shell find src -name 'test-*.c' | sort)
FUZZSRCS := $(wildcard fuzz/fuzz-*.c)

# Release build.
OBJDIR   := build/obj
OBJS     := $(LIBSRCS:%.c=$(OBJDIR)/%.o)
CFLAGS   ?= -O2 -g
# Test build: AddressSanitizer + UndefinedBehaviorSanitizer.
ASANDIR  := build/asan
ASANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
ASANOBJS := $(LIBSRCS:%.c=$(ASANDIR)/obj/%.o)
TESTBINS := $(TESTSRCS:src/%.c=$(ASANDIR)/tests/%)
# Fuzz build: clang + libFuzzer + ASan.
FUZZDIR  := build/fuzz
FUZZCC   := clang
# TEM_FUZZING: failed logins delay their reply by ms, not seconds (authfail.h)
# Undefined behaviour stops a fuzzer as it stops a test binary.
FUZZFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=undefined -DTEM_FUZZING
FUZZOBJS := $(LIBSRCS:%.c=$(FUZZDIR)/obj/%.o)
FUZZBINS := $(FUZZSRCS:fuzz/%.c=$(FUZZDIR)/%)

.PHONY: all man run test test-pg fuzz fuzz-long bench deps deps-test clean unit install uninstall deb
# Objects made through pattern chains are kept, not deleted as intermediates.
.SECONDARY:
all: build/tem man

# The manual pages come from the tables the program runs on (the command
# table and the settings table), so they are made by the program itself.
MANPAGES := build/man/tem.8 build/man/tem.conf.5
man: $(MANPAGES)

build/man/tem.8: build/tem
	@mkdir -p $(dir $@)
	@echo "  MAN     $@"
	$(Q)build/tem man 8 > $@.tmp && mv $@.tmp $@

build/man/tem.conf.5: build/tem
	@mkdir -p $(dir $@)
	@echo "  MAN     $@"
	$(Q)build/tem man 5 > $@.tmp && mv $@.tmp $@

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

build/tem: $(OBJDIR)/src/main.o $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -pthread -o $@ $^ $(LDLIBS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(ASANDIR)/tem: $(ASANDIR)/obj/src/main.o $(ASANOBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ASANFLAGS) -pthread -o $@ $^ $(LDLIBS)

$(ASANDIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC/ASAN $<"
	$(Q)$(CC) $(BASEFLAGS) $(ASANFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# -MF: a test's own headers (test-pg.h, ...) rebuild it when they change
$(ASANDIR)/tests/%: src/%.c $(ASANOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(BASEFLAGS) $(ASANFLAGS) $(PKG_CFLAGS) -MMD -MP -MF $@.d -MT $@ -o $@ $< $(ASANOBJS) $(LDLIBS)

$(FUZZDIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC/FUZZ $<"
	$(Q)$(FUZZCC) $(BASEFLAGS) -Wno-unused-command-line-argument $(FUZZFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZDIR)/%: fuzz/%.c $(FUZZOBJS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZCC) $(BASEFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(PKG_CFLAGS) -o $@ $< $(FUZZOBJS) $(LDLIBS)

deps:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

run: deps
	@$(MAKE) --no-print-directory build/tem
	@sh scripts/run-dev.sh

fuzz: $(FUZZBINS)

# FUZZ_LONG_SECONDS per target (default 600); new coverage is merged into
# fuzz/corpus/<name>/ to be reviewed and committed. Not part of `make test`.
fuzz-long: $(FUZZBINS)
	@sh fuzz/long.sh

unit: $(TESTBINS) $(ASANDIR)/tests/eio-shim.so

# An LD_PRELOAD library that injects EIO (tests/shim/eio_shim.c).
$(ASANDIR)/tests/eio-shim.so: tests/shim/eio_shim.c
	@mkdir -p $(dir $@)
	@echo "  SHIM    $@"
	$(Q)$(CC) -std=c17 -O1 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

test: deps-test
	@$(MAKE) --no-print-directory build/tem $(MANPAGES) $(ASANDIR)/tem $(TESTBINS) $(FUZZBINS) $(ASANDIR)/tests/eio-shim.so
	@PGTESTS="$(PGTESTS)" sh tests/run.sh

# The protocol tests once more with storage = postgresql: each server on
# a fresh database of one PostgreSQL per pytest worker; the tests marked
# embedded_only (they read the embedded store's files) are deselected.
PGTESTS ?= $(sort $(wildcard tests/integration/test_smtp_*.py \
	tests/integration/test_imap_*.py)) tests/integration/test_submission.py \
	tests/integration/test_pop3.py tests/integration/test_sieve_deliver.py \
	tests/integration/test_sieve_local.py tests/integration/test_sieve_vacation.py \
	tests/integration/test_delivery.py tests/integration/test_delay_dsn.py \
	tests/integration/test_stream_append.py tests/integration/test_stream_out.py \
	tests/integration/test_spool.py tests/integration/test_cli_queue.py
test-pg: deps-test
	@$(MAKE) --no-print-directory $(ASANDIR)/tem
	TEM_TEST_STORAGE=postgresql TEM_BIN=$(CURDIR)/$(ASANDIR)/tem \
	    timeout -k 30 1800 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    -n $${PYTEST_JOBS:-4} --dist loadfile $(PGTESTS)

bench: deps-test
	@$(MAKE) --no-print-directory build/tem
	@sh bench/run.sh

# Install. The binary goes to sbin (Debian policy: daemons and programs
# for the administrator; every tem command but `sieve test` needs root).
# The config is always /etc/tem (tem's built-in default path); the unit
# goes where systemd looks for PREFIX (/lib for /usr, as Debian packages).
PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR := $(PREFIX)/sbin
MANDIR  := $(PREFIX)/share/man
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
CONFDIR := /etc/tem
DATADIR := /var/lib/tem
# The man pages, if made: a target that makes them may be named here.
MANPAGES ?= $(wildcard build/man/tem.8 build/man/tem.conf.5)
INSTALL ?= install

install: build/tem $(MANPAGES)
	$(INSTALL) -d -m 755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	$(INSTALL) -m 755 build/tem $(DESTDIR)$(SBINDIR)/tem
	@# the unit names the binary where this PREFIX put it
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/tem.service.in >$(DESTDIR)$(UNITDIR)/tem.service
	chmod 644 $(DESTDIR)$(UNITDIR)/tem.service
	@# the config only if absent: it is the administrator's from then on
	[ -e $(DESTDIR)$(CONFDIR)/tem.conf ] || \
		$(INSTALL) -m 640 dist/tem.conf $(DESTDIR)$(CONFDIR)/tem.conf
	@for m in $(MANPAGES); do s=$${m##*.}; \
		echo "$(INSTALL) -D -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}"; \
		$(INSTALL) -D -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	$(INSTALL) -d -m 750 $(DESTDIR)$(DATADIR)
	@# the user only on this machine, not into a staging tree (the
	@# package's postinst makes it there)
	@if [ -z "$(DESTDIR)" ]; then sh dist/deb/mkuser.sh $(CONFDIR) $(DATADIR); fi
	@# a running systemd learns of the new unit (enabling is the admin's)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tem $(DESTDIR)$(UNITDIR)/tem.service \
		$(DESTDIR)$(MANDIR)/man8/tem.8 $(DESTDIR)$(MANDIR)/man5/tem.conf.5
	@echo "kept $(DESTDIR)$(CONFDIR) and $(DESTDIR)$(DATADIR) (config and mail)"

deb: build/tem $(MANPAGES)
	@sh scripts/mkdeb.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
