#!/bin/sh
# run.sh - run every test of tem; the last line is "N passed, N failed".
#
# Called by `make test` once everything is built (build/asan/tem, the unit
# test binaries, the fuzzers). Parts:
#   unit     build/asan/tests/**/test-*: each prints a last line
#            "NAME: N passed, N failed"; a binary that crashes or exits
#            non-zero adds one failure (a sanitizer report after test_done,
#            for instance); a missing summary line counts as one failure.
#   fuzz     build/fuzz/fuzz-* for FUZZ_SECONDS (10) each, with
#            fuzz/<name>.dict and the seeds in fuzz/corpus/<name>/ when they
#            exist; new inputs go to a temp folder. Exit 0 = one pass.
#   pytest   /usr/bin/python3 -m pytest -q tests/ against TEM_BIN
#            (build/asan/tem); counts come from its JUnit XML.
# Exit status: 0 when nothing failed, 1 otherwise.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tem-run.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# Leak checks on, keep going after a report so every test is counted;
# UBSan stops at the first finding (it is built with -fno-sanitize-recover).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

PASS=0
FAIL=0

add() {	# add PASSED FAILED
	PASS=$((PASS + $1))
	FAIL=$((FAIL + $2))
}

show_tail() {	# show_tail FILE: the end of a failing part's output
	sed -e 's/^/    | /' "$1" | tail -n 40
}

# --- unit tests ---------------------------------------------------------
echo "== unit tests"
for t in $(find build/asan/tests -type f -name 'test-*' 2>/dev/null | sort); do
	[ -x "$t" ] || continue
	out="$TMP/unit.out"
	timeout "$UNIT_TIMEOUT" "$t" >"$out" 2>&1
	rc=$?
	line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "unit $t: no summary line, exit $rc: 1 failed"
		show_tail "$out"
		add 0 1
		continue
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# clean summary, then a crash or a sanitizer report
		line="$line, then exit $rc"
	fi
	echo "unit $line"
	[ "$f" -ne 0 ] && show_tail "$out"
	add "$p" "$f"
done

# --- fuzzers ------------------------------------------------------------
echo "== fuzzers (${FUZZ_SECONDS}s each)"
for f in $(find build/fuzz -maxdepth 1 -type f -name 'fuzz-*' 2>/dev/null | sort); do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	short=${name#fuzz-}
	family=${short%%-*}	# fuzz-smtp-cmd -> smtp.dict
	corpus="$TMP/corpus-$name"
	mkdir -p "$corpus"
	set --
	for d in "fuzz/$name.dict" "fuzz/$short.dict" "fuzz/$family.dict"; do
		if [ -f "$d" ]; then
			set -- "-dict=$d"
			break
		fi
	done
	seeds=""
	for d in "fuzz/corpus/$name" "fuzz/corpus/$short" "fuzz/$name.corpus"; do
		[ -d "$d" ] && seeds="$d" && break
	done
	out="$TMP/fuzz.out"
	# shellcheck disable=SC2086 # $seeds is one path or nothing
	timeout $((FUZZ_SECONDS * 6 + 60)) "$f" -max_total_time="$FUZZ_SECONDS" \
	    -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$TMP/$name-" \
	    "$@" "$corpus" $seeds >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $name: ok, $(grep -oE "Done [0-9]+ runs" "$out" | tail -n 1 | cut -d" " -f2) runs"
		add 1 0
	else
		echo "fuzz $name: FAILED, exit $rc"
		show_tail "$out"
		for a in "$TMP/$name-"*; do
			[ -f "$a" ] && mkdir -p build/fuzz/crashes &&
			    cp "$a" build/fuzz/crashes/ &&
			    echo "    crash input kept: build/fuzz/crashes/$(basename "$a")"
		done
		add 0 1
	fi
done

# --- pytest (integration, interop) --------------------------------------
echo "== pytest"
xml="$TMP/pytest.xml"
TEM_BIN=${TEM_BIN:-$ROOT/build/asan/tem}
export TEM_BIN
/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$xml" \
    -o junit_family=xunit2 tests/
rc=$?
counts=$(/usr/bin/python3 - "$xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("none")
    sys.exit(0)
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0))
    f += int(su.get("failures", 0))
    e += int(su.get("errors", 0))
    s += int(su.get("skipped", 0))
print(t - f - e - s, f + e, s)
EOF
)
case "$rc:$counts" in
5:*)
	echo "pytest: no tests collected"
	;;
*:none)
	echo "pytest: exit $rc and no JUnit XML: 1 failed"
	add 0 1
	;;
*)
	# shellcheck disable=SC2086 # three numbers, split on purpose
	set -- $counts
	echo "pytest: $1 passed, $2 failed, $3 skipped (exit $rc)"
	if [ "$rc" -ne 0 ] && [ "$2" -eq 0 ]; then
		echo "pytest: exit $rc without a failed test: 1 failed"
		add "$1" 1
	else
		add "$1" "$2"
	fi
	;;
esac

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
