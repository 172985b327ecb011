#!/usr/bin/env bash
# Runs the TOML 1.0.0 conformance corpus (../shared/toml-test) through
# tests/toml-decode. A user's clone has no ../shared: then the test skips.
# automake runs tests from the top build directory, where env.sh is.
. tests/env.sh
tool="$TB_SHARED/tools/toml-conformance"
[ -f "$tool" ] || tb_skip "TOML conformance corpus absent ($tool not found)"
decoder="$TB_BUILDDIR/tests/toml-decode"
[ -x "$decoder" ] || tb_fail "$decoder not built"
out=$("$tool" "$decoder" --verbose)
status=$?
# On failure show which cases failed; the last line is the summary either way.
[ $status -eq 0 ] || printf '%s\n' "$out" | head -n 40
printf '%s\n' "$out" | tail -n 1
exit $status
