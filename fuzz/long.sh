#!/bin/sh
# fuzz/long.sh - the nightly fuzz run behind `make fuzz-long`: every
# build/fuzz/fuzz-* target for FUZZ_LONG_SECONDS (600) starting from its
# in-tree seeds fuzz/corpus/<name>/, then the inputs that reach new
# coverage merged back into fuzz/corpus/<name>/ (libFuzzer -merge=1 keeps
# the corpus minimal: an input is added only for coverage the corpus lacks).
# Review and commit the grown corpus. Not part of `make test` (tests/run.sh
# runs each target 10 s from the same seeds).
#
#   FUZZ_LONG_SECONDS=600  time per target
#   FUZZ_TARGETS="fuzz-conf fuzz-sasl"  only these (default: all built)
# Exit status: 1 when a target crashed (its input is kept under
# build/fuzz/crashes/), else 0.
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${FUZZ_LONG_SECONDS:-600}
work=$(mktemp -d /tmp/tem-fuzz-long.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p build/fuzz/crashes
failed=0
targets=${FUZZ_TARGETS:-$(find build/fuzz -maxdepth 1 -type f -name 'fuzz-*' \
    -perm -u+x 2>/dev/null | sort | xargs -n1 basename)}
[ -n "$targets" ] || { echo "fuzz-long: no targets in build/fuzz (make fuzz)"; exit 1; }
for name in $targets; do
	bin=build/fuzz/$name
	short=${name#fuzz-}
	family=${short%%-*}
	seeds=fuzz/corpus/$short
	new=$work/$short
	mkdir -p "$seeds" "$new"
	set --
	for d in "fuzz/$name.dict" "fuzz/$short.dict" "fuzz/$family.dict"; do
		[ -f "$d" ] && { set -- "-dict=$d"; break; }
	done
	before=$(find "$seeds" -type f | wc -l)
	# new inputs go to $new; the seeds dir is read, not written
	timeout $((secs * 2 + 120)) "$bin" -max_total_time="$secs" \
	    -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix="build/fuzz/crashes/$name-" "$@" \
	    "$new" "$seeds" >"$work/$name.log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "fuzz-long $name: FAILED, exit $rc (log tail below)"
		tail -n 30 "$work/$name.log"
		failed=1
	fi
	# keep only what adds coverage to the in-tree corpus
	"$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 "$seeds" "$new" \
	    >"$work/$name.merge" 2>&1 ||
	    echo "fuzz-long $name: merge failed: $(tail -n 1 "$work/$name.merge")"
	after=$(find "$seeds" -type f | wc -l)
	echo "fuzz-long $name: exit $rc, corpus $before -> $after files," \
	    "$(grep -oE "Done [0-9]+ runs" "$work/$name.log" | tail -n 1 | cut -d' ' -f2) runs"
done
exit "$failed"
