#!/bin/sh
# bench/run.sh [ARGS] - run every benchmark bench/*/run.sh in turn (what
# `make bench` calls after building build/tem). ARGS go to each of them.
# Exit status: 0 when every benchmark ran to the end, 1 otherwise.
cd "$(dirname "$0")/.." || exit 1
status=0
for b in bench/*/run.sh; do
	[ -f "$b" ] || continue
	echo "== $b"
	if ! sh "$b" "$@"; then
		echo "== $b: FAILED" >&2
		status=1
	fi
done
exit $status
