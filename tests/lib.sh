# Shared by the shell tests: environment, a scratch folder, and assertions
# on a command's exit status and messages.
. tests/env.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/twinbrain-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILED=0
CHECKS=0

# expect STATUS TEXT -- COMMAND...: the command exits with STATUS and its
# stdout+stderr contain TEXT (a fixed string; "" for any).
expect() {
    want=$1 text=$2
    shift 3
    CHECKS=$((CHECKS + 1))
    out=$("$@" 2>&1)
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: [$*] exited $got, expected $want"
        printf '%s\n' "$out" | sed 's/^/    | /' | head -n 30
        FAILED=$((FAILED + 1))
        return 1
    fi
    if [ -n "$text" ] && ! printf '%s' "$out" | grep -qF -- "$text"; then
        echo "FAIL: [$*] output lacks: $text"
        printf '%s\n' "$out" | sed 's/^/    | /' | head -n 30
        FAILED=$((FAILED + 1))
        return 1
    fi
    echo "ok: [$*] -> $got${text:+ \"$text\"}"
    LAST_OUTPUT=$out
    return 0
}

# check DESCRIPTION COMMAND...: the command succeeds (exit 0).
check() {
    desc=$1
    shift
    CHECKS=$((CHECKS + 1))
    if "$@"; then
        echo "ok: $desc"
    else
        echo "FAIL: $desc"
        FAILED=$((FAILED + 1))
    fi
}

finish() {
    echo "$((CHECKS - FAILED)) of $CHECKS checks passed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

have_python() {
    [ "$TB_PYTHON" != none ]
}

# A copy of the examples' data next to scenarios written in $TMP.
ln -s "$TB_SRCDIR/examples/data" "$TMP/data"
