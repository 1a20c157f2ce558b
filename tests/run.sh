#!/bin/sh
# run.sh - run every test of tem in strict mode; the last line is
# "N passed, N failed, N skipped" (the CI reads "N passed, N failed").
#
# Called by `make test` once everything is built (build/tem,
# build/asan/tem, the unit test binaries, the fuzzers). Nothing that was
# expected may be silently left out:
#   unit     one binary per src/**/test-*.c, build/asan/tests/DIR/test-NAME
#            (but src/pg/test-pg-*: they need a PostgreSQL, and
#            tests/integration/test_pg_*.py run them with one);
#            each prints a last line "NAME: N passed, N failed". A binary
#            that is missing or older than its source or any test-build
#            object, crashes, exits non-zero (a sanitizer report after
#            test_done) or prints no summary line adds one failure.
#   fuzz     one build/fuzz/fuzz-NAME per fuzz/fuzz-NAME.c (missing or stale:
#            one failure), FUZZ_SECONDS (10) each, with fuzz/<name>.dict and
#            the seeds in fuzz/corpus/<name>/; new inputs go to a temp
#            folder (make fuzz-long keeps them). Exit 0 = one pass.
#            FUZZ_JOBS (2) run at once; reports print in order.
#   pytest   tests/ against TEM_BIN (build/asan/tem), test files spread over
#            PYTEST_JOBS (4) xdist workers (--dist loadfile: a file's tests
#            and module fixtures stay in one worker); pytest-timeout gives
#            every test 300 s (tests/pytest.ini), the whole run has
#            PYTEST_TIMEOUT (1800) s. Strict mode (tests/conftest.py): a
#            skip whose reason is not on tests/skips-allowed.txt is a
#            failure; the allowed ones are listed at the end. No tests
#            collected (pytest exit 5) is a failure.
#   release  the tests marked `release` again, against build/tem.
# PYTEST_PATHS (tests/) narrows the first pytest run, e.g. to one file.
# PGTESTS (set by `make test`: the protocol test files) are run once more
# with TEM_TEST_STORAGE=postgresql (issue 15: the whole protocol suite on
# the PostgreSQL backend) when the first run is the whole of tests/.
# Exit status: 0 when nothing failed, 1 otherwise.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
FUZZ_JOBS=${FUZZ_JOBS:-2}		# fuzzers at once: the cores
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
PYTEST_JOBS=${PYTEST_JOBS:-4}		# 2 cores; the tests mostly wait on I/O
PYTEST_TIMEOUT=${PYTEST_TIMEOUT:-1800}
PYTEST_PATHS=${PYTEST_PATHS:-tests/}	# the asan run; release: all of tests/
PY=/usr/bin/python3
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
SKIP=0
NOTES="$TMP/notes"	# the allowed skips, printed at the end
: >"$NOTES"

add() {	# add PASSED FAILED
	PASS=$((PASS + $1))
	FAIL=$((FAIL + $2))
}

show_tail() {	# show_tail FILE: the end of a failing part's output
	sed -e 's/^/    | /' "$1" | tail -n 40
}

stale() {	# stale BIN SRC OBJDIR [SKIP]: BIN older than SRC or an object
	[ "$2" -nt "$1" ] && return 0	# (but SKIP, a path pattern)
	[ -n "$(find "$3" -name '*.o' ! -path "${4:-/}" -newer "$1" \
	    2>/dev/null | head -n 1)" ]
}

built() {	# built KIND BIN SRC OBJDIR TARGET: false (one failure) if missing/stale
	if [ ! -x "$2" ]; then
		echo "$1 $2: missing (make $5): 1 failed"
		add 0 1
		return 1
	fi
	# the test binaries and fuzzers link every object but main.o
	if stale "$2" "$3" "$4" '*/src/main.o'; then
		echo "$1 $2: older than $3 or $4 (make $5): 1 failed"
		add 0 1
		return 1
	fi
}

# --- unit tests ---------------------------------------------------------
echo "== unit tests"
n=0
for src in $(find src -type f -name 'test-*.c' | sort); do
	n=$((n + 1))
	# needs a live PostgreSQL (TEM_TEST_PG_DSN): run with one by
	# tests/integration/test_pg_backend.py, which checks it is built
	case $src in src/pg/test-pg-*) continue ;; esac
	t=build/asan/tests/${src#src/}
	t=${t%.c}
	built unit "$t" "$src" build/asan/obj unit || continue
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
if [ "$n" -eq 0 ]; then
	echo "unit: no src/**/test-*.c found: 1 failed"
	add 0 1
fi

# --- fuzzers ------------------------------------------------------------
fuzz_one() {	# fuzz_one SRC: build check, run, report (in a subshell)
	src=$1
	name=$(basename "$src" .c)
	f=build/fuzz/$name
	built fuzz "$f" "$src" build/fuzz/obj fuzz || return
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
	for d in "fuzz/corpus/$short" "fuzz/corpus/$name" "fuzz/$name.corpus"; do
		[ -d "$d" ] && seeds="$d" && break
	done
	out="$TMP/fuzz-$name.out"
	# shellcheck disable=SC2086 # $seeds is one path or nothing
	timeout $((FUZZ_SECONDS * 6 + 60)) "$f" -max_total_time="$FUZZ_SECONDS" \
	    -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$TMP/$name-" \
	    "$@" "$corpus" $seeds >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $name: ok, $(grep -oE "Done [0-9]+ runs" "$out" | tail -n 1 | cut -d" " -f2) runs${seeds:+, seeds $seeds}"
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
}

# FUZZ_JOBS (2, the cores) fuzzers run at once, each in a subshell that
# leaves its report in fuzz-N.log and its counts in fuzz-N.res; reports
# are printed in order once the batch is done.
fuzz_collect() {	# fuzz_collect: wait for the batch, report it in order
	wait
	for i in $pending; do
		cat "$TMP/fuzz-$i.log"
		if read -r p f <"$TMP/fuzz-$i.res"; then
			add "$p" "$f"
		else
			echo "fuzz #$i: no result (the subshell died): 1 failed"
			add 0 1
		fi
	done
	pending=""
}

echo "== fuzzers (${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time)"
n=0
pending=""
for src in $(find fuzz -maxdepth 1 -type f -name 'fuzz-*.c' | sort); do
	n=$((n + 1))
	(
		PASS=0
		FAIL=0
		fuzz_one "$src"
		echo "$PASS $FAIL" >"$TMP/fuzz-$n.res"
	) >"$TMP/fuzz-$n.log" 2>&1 &
	pending="$pending $n"
	[ $((n % FUZZ_JOBS)) -eq 0 ] && fuzz_collect
done
fuzz_collect
if [ "$n" -eq 0 ]; then
	echo "fuzz: no fuzz/fuzz-*.c found: 1 failed"
	add 0 1
fi

# --- pytest (integration, interop; then the release smoke subset) --------
run_pytest() {	# run_pytest LABEL TEM_BIN PYTEST-ARGS...
	label=$1
	bin=$2
	shift 2
	echo "== pytest $label (TEM_BIN=$bin)"
	if [ ! -x "$bin" ]; then
		echo "pytest $label: no binary $bin: 1 failed"
		add 0 1
		return
	fi
	case $bin in
	*/build/tem|build/tem) objs=build/obj ;;
	*) objs=build/asan/obj ;;
	esac
	if stale "$bin" "$bin" "$objs"; then
		echo "pytest $label: $bin older than $objs (make): 1 failed"
		add 0 1
		return
	fi
	xml="$TMP/pytest-$label.xml"
	TEM_BIN=$bin timeout -k 30 "$PYTEST_TIMEOUT" $PY -m pytest -q \
	    -p no:cacheprovider --junitxml="$xml" -o junit_family=xunit2 \
	    --continue-on-collection-errors "$@"
	rc=$?
	$PY tests/lib/junitsum.py "$xml" "$label" >"$TMP/sum" 2>&1
	counts=$(head -n 1 "$TMP/sum")
	tail -n +2 "$TMP/sum" | grep -v '^skip ' | sed 's/^/pytest: /'
	tail -n +2 "$TMP/sum" | grep '^skip ' >>"$NOTES"
	case "$rc:$counts" in
	124:*|137:*)
		echo "pytest $label: overall timeout (${PYTEST_TIMEOUT}s): 1 failed"
		add 0 1
		;;
	5:*)
		echo "pytest $label: no tests collected: 1 failed"
		add 0 1
		;;
	*:none|*:)
		echo "pytest $label: exit $rc and no JUnit XML: 1 failed"
		add 0 1
		;;
	*)
		# shellcheck disable=SC2086 # three numbers, split on purpose
		set -- $counts
		echo "pytest $label: $1 passed, $2 failed, $3 skipped (exit $rc)"
		SKIP=$((SKIP + $3))
		if [ "$rc" -ne 0 ] && [ "$2" -eq 0 ]; then
			echo "pytest $label: exit $rc without a failed test: 1 failed"
			add "$1" 1
		elif [ "$1" -eq 0 ]; then
			echo "pytest $label: nothing passed: 1 failed"
			add 0 1
		else
			add "$1" "$2"
		fi
		;;
	esac
}

# The plugins are part of the contract (scripts/deps.sh TEST): without
# them the run would be serial and without per-test timeouts.
if ! $PY -c 'import xdist, pytest_timeout' 2>/dev/null; then
	echo "pytest: python3-pytest-xdist or python3-pytest-timeout missing (make deps-test): 1 failed"
	add 0 1
else
	# shellcheck disable=SC2086 # PYTEST_PATHS: paths split on purpose
	run_pytest asan "${TEM_BIN:-$ROOT/build/asan/tem}" \
	    -n "$PYTEST_JOBS" --dist loadfile $PYTEST_PATHS
	run_pytest release "$ROOT/build/tem" -n 2 --dist load -m release tests/
	if [ -n "${PGTESTS:-}" ] && [ "$PYTEST_PATHS" = tests/ ]; then
		export TEM_TEST_STORAGE=postgresql
		# shellcheck disable=SC2086 # PGTESTS: paths split on purpose
		run_pytest postgresql "${TEM_BIN:-$ROOT/build/asan/tem}" \
		    -n "$PYTEST_JOBS" --dist loadfile $PGTESTS
		unset TEM_TEST_STORAGE
	fi
fi

if [ -s "$NOTES" ]; then
	echo "== allowed skips (tests/skips-allowed.txt)"
	cat "$NOTES"
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
