#!/bin/sh
# make fuzz-coverage: which lines of the input readers the fuzz corpora
# reach. Runs each coverage-instrumented replay program (tests/fuzz/coverage)
# over the harness's seeds, its regressions and what make fuzz has learnt
# (tests/fuzz/build/corpus), and prints llvm-cov's report for the files the
# harnesses aim at. tests/env.sh must have been sourced.
# usage: coverage.sh CLANG NAME...
set -u
cc=$1
shift
out=tests/fuzz/coverage
src=$TB_SRCDIR/tests/fuzz
profdata=$("$cc" -print-prog-name=llvm-profdata)
cov=$("$cc" -print-prog-name=llvm-cov)
rm -f "$out"/*.profraw
objects=""
for h in "$@"; do
    set -- "$src/corpus/$h" "$src/regressions/$h"
    [ -d "tests/fuzz/build/corpus/$h" ] && set -- "$@" "tests/fuzz/build/corpus/$h"
    [ "$h" = toml ] && [ -d "$TB_SHARED/toml-test" ] && set -- "$@" "$TB_SHARED/toml-test/valid" "$TB_SHARED/toml-test/invalid"
    LLVM_PROFILE_FILE="$out/$h.profraw" "$out/replay_$h" "$@" > /dev/null 2>&1 || echo "replay_$h failed"
    objects="${objects:+$objects -object }$out/replay_$h"
done
"$profdata" merge -sparse "$out"/*.profraw -o "$out/all.profdata" || exit 1
# shellcheck disable=SC2086 # objects: the first program, then -object PROGRAM for each other
"$cov" report -instr-profile="$out/all.profdata" $objects \
    "$TB_SRCDIR/core/toml.c" "$TB_SRCDIR/core/scenario.c" "$TB_SRCDIR/core/schema.c" \
    "$TB_SRCDIR/core/mass/mass_scenario.c" "$TB_SRCDIR/core/mass/declared_model.c" \
    "$TB_SRCDIR/core/mass/scenario_monitor.c" "$TB_SRCDIR/core/mass/stimulus.c" "$TB_SRCDIR/core/mass/sweep.c" \
    "$TB_SRCDIR/core/spiking/spiking_scenario.c" "$TB_SRCDIR/core/spiking/spiking_declared.c" \
    "$TB_SRCDIR/core/connectome.c" "$TB_SRCDIR/core/h5read.c" "$TB_SRCDIR/core/plugin.c" \
    "$TB_SRCDIR/core/mass/mass_plugin.c" "$TB_SRCDIR/core/spiking/spiking_text.c"
