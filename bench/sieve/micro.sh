#!/bin/sh
# bench/sieve/micro.sh [SCRIPT [RUNS]] - builds bench/sieve/micro.c
# against the release objects (make build/tem first) and runs it.
set -e
cd "$(dirname "$0")/../.."
make -s -j2 build/tem
cc -O2 -g -std=gnu17 -Isrc -o build/sieve-micro bench/sieve/micro.c \
    $(find src -name "*.c" ! -name "test-*" ! -name "fuzz-*" ! -name main.c | sed "s,^,build/obj/,;s,\.c$,.o,") \
    $(pkg-config --libs libevent libevent_openssl libevent_pthreads openssl sqlite3 libunbound libcrypt zlib) -lpthread
exec build/sieve-micro "$@"
