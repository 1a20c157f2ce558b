# tem - build, run and test. See README.md.
#
#   make          build build/tem (no installs)
#   make run      install what is missing, build, start a development server
#   make test     install what is missing, build (ASan+UBSan), run every test
#   make fuzz     build the libFuzzer targets under build/fuzz/
#   make fuzz-long  run each 10 minutes, growing fuzz/corpus/ (nightly)
#   make bench    run the benchmarks in bench/ (installs Postfix/Dovecot peers)

CC      ?= cc
PKGS    := libevent libevent_openssl libevent_pthreads openssl sqlite3 libunbound libcrypt zlib libcurl jansson
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

.PHONY: all run test fuzz fuzz-long bench deps deps-test clean unit
# Objects made through pattern chains are kept, not deleted as intermediates.
.SECONDARY:
all: build/tem

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

$(ASANDIR)/tests/%: src/%.c $(ASANOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(BASEFLAGS) $(ASANFLAGS) $(PKG_CFLAGS) -o $@ $< $(ASANOBJS) $(LDLIBS)

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
	@$(MAKE) --no-print-directory build/tem $(ASANDIR)/tem $(TESTBINS) $(FUZZBINS) $(ASANDIR)/tests/eio-shim.so
	@sh tests/run.sh

bench: deps-test
	@$(MAKE) --no-print-directory build/tem
	@sh bench/run.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
