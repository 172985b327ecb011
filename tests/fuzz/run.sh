#!/bin/sh
# make fuzz: runs each libFuzzer harness for $FUZZ_SECONDS (default 60) on
# its seeds (tests/fuzz/corpus/NAME), every crash found so far
# (tests/fuzz/regressions/NAME) and, for TOML, the shared conformance
# corpus when ../shared has it. What the fuzzer learns stays in
# BUILD/corpus/NAME for the next run; a crash goes to BUILD/crashes/NAME
# and makes this script fail. FUZZ_FLAGS adds libFuzzer options (e.g.
# -fork=1 -ignore_crashes=1 to go on past known crashes). tests/env.sh
# must have been sourced.
# usage: run.sh BUILD NAME...
set -u
build=$1
shift
secs=${FUZZ_SECONDS:-60}
# The harnesses write a file per input: in memory when the system has a
# tmpfs for it.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export TMPDIR=/dev/shm
fi
src=$TB_SRCDIR/tests/fuzz
# libhdf5 leaks when it fails to open a corrupt file (lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/lsan.supp:print_suppressions=0}"
status=0

# Words that scenarios are made of: every key the schema knows (from
# `twinbrain check --keys`) and every plugin of the build.
scenario_dict() {
    {
        "$TWINBRAIN" check --keys | cut -f1 | tr '.' '\n'
        for p in "$TB_BUILDDIR"/plugins/*.la; do basename "$p" .la; done
    } | sort -u | sed 's/.*/"&"/'
    cat "$src/toml.dict"
}

for h in "$@"; do
    work=$build/corpus/$h
    crashes=$build/crashes/$h
    mkdir -p "$work" "$crashes"
    # shellcheck disable=SC2086 # FUZZ_FLAGS: more libFuzzer options, e.g. -fork=1 -ignore_crashes=1
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" ${FUZZ_FLAGS:-}
    case $h in
    toml) set -- "$@" -dict="$src/toml.dict" ;;
    scenario) scenario_dict > "$build/scenario.dict" && set -- "$@" -dict="$build/scenario.dict" ;;
    esac
    set -- "$@" "$work" "$src/corpus/$h" "$src/regressions/$h"
    if [ "$h" = toml ] && [ -d "$TB_SHARED/toml-test" ]; then
        set -- "$@" "$TB_SHARED/toml-test/valid" "$TB_SHARED/toml-test/invalid"
    fi
    log=$build/fuzz_$h.log
    echo "fuzz_$h: fuzzing for $secs s (log: $log)"
    "$build/fuzz_$h" "$@" > "$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log"
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz_$h: FAILED (exit $rc); reproducers in $crashes:"
        ls "$crashes"
        grep -E 'ERROR|SUMMARY|fuzz property' "$log" | head -n 5
    fi
done
exit $status
