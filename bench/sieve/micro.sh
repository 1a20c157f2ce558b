#!/bin/sh
# bench/sieve/micro.sh [SCRIPT [RUNS]] - builds bench/sieve/micro.c
# against the release objects (make build/tem first) and runs it.
set -e
cd "$(dirname "$0")/../.."
make -s -j2 build/tem
cc -O2 -g -std=gnu17 -Isrc -o build/sieve-micro bench/sieve/micro.c \
    $(find src -name "*.c" ! -name "test-*" ! -name "fuzz-*" ! -name main.c | sed "s,^,build/obj/,;s,\.c$,.o,") \
    $(make -s --no-print-directory --eval 'print-ldlibs: ; @echo $(LDLIBS)' print-ldlibs)
exec build/sieve-micro "$@"
