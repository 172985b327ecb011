# Shared by the shell tests: environment, a scratch folder, assertions on a
# command's exit status and messages, and the loop over devices.
. tests/env.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/twinbrain-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILED=0
CHECKS=0
FAILED_ON=""       # the devices failures happened on (for_each_device)
TB_DEVICE=""       # the device a for_each_device body runs on: index,
TB_DEVICE_LABEL="" # and "device INDEX (NAME)"

failed() { # records a failure, with the device it happened on
    FAILED=$((FAILED + 1))
    if [ -n "$TB_DEVICE_LABEL" ]; then
        case "$FAILED_ON" in
            *"[$TB_DEVICE_LABEL]"*) ;;
            *) FAILED_ON="$FAILED_ON [$TB_DEVICE_LABEL]" ;;
        esac
    fi
}

# expect STATUS TEXT -- COMMAND...: the command exits with STATUS and its
# stdout+stderr contain TEXT (a fixed string; "" for any).
expect() {
    want=$1 text=$2
    shift 3
    CHECKS=$((CHECKS + 1))
    out=$("$@" 2>&1)
    got=$?
    # LeakSanitizer's own failure to stop the process's threads (a PoCL
    # thread in the middle of exiting) is the sanitizer's, not the
    # command's: run it once more. A leak it finds is another message.
    case "$out" in
        *"LeakSanitizer has encountered a fatal error"*)
            echo "note: LeakSanitizer failed to run (not a leak); running again: [$*]"
            out=$("$@" 2>&1)
            got=$?
            ;;
    esac
    if [ "$got" != "$want" ]; then
        echo "FAIL${TB_DEVICE_LABEL:+ [$TB_DEVICE_LABEL]}: [$*] exited $got, expected $want"
        printf '%s\n' "$out" | sed 's/^/    | /' | head -n 30
        failed
        return 1
    fi
    if [ -n "$text" ] && ! printf '%s' "$out" | grep -qF -- "$text"; then
        echo "FAIL${TB_DEVICE_LABEL:+ [$TB_DEVICE_LABEL]}: [$*] output lacks: $text"
        printf '%s\n' "$out" | sed 's/^/    | /' | head -n 30
        failed
        return 1
    fi
    echo "ok${TB_DEVICE:+ [device $TB_DEVICE]}: [$*] -> $got${text:+ \"$text\"}"
    LAST_OUTPUT=$out
    return 0
}

# check DESCRIPTION COMMAND...: the command succeeds (exit 0).
check() {
    desc=$1
    shift
    CHECKS=$((CHECKS + 1))
    if "$@"; then
        echo "ok${TB_DEVICE:+ [device $TB_DEVICE]}: $desc"
    else
        echo "FAIL${TB_DEVICE_LABEL:+ [$TB_DEVICE_LABEL]}: $desc"
        failed
    fi
}

finish() {
    [ -z "$FAILED_ON" ] || echo "FAIL on:$FAILED_ON"
    echo "$((CHECKS - FAILED)) of $CHECKS checks passed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

have_python() {
    [ "$TB_PYTHON" != none ]
}

# A copy of the examples' data next to scenarios written in $TMP.
ln -s "$TB_SRCDIR/examples/data" "$TMP/data"

# The devices the device-facing tests run on (tests/devices.py,
# docs/testing.md), one per line: INDEX, FP64 (yes/no), NAME, tab-separated;
# the device `auto` picks first. Without Python: the default
# device only, as "auto".
tb_devices() {
    if have_python; then
        "$TB_PYTHON" "$TB_SRCDIR/tests/devices.py"
    else
        printf 'auto\tyes\tthe default device (no Python to list the devices)\n'
    fi
}

# for_each_device FUNCTION [ARGS...]: runs FUNCTION once per device, in this
# shell, after a line naming the device, with TWINBRAIN_DEVICE set to it (so
# every `twinbrain run` inside runs there) and TB_DEVICE (index),
# TB_DEVICE_NAME and TB_DEVICE_FP64 (yes/no) describing it.
# Failures of expect and check inside name the device. FUNCTION asks
# needs_fp64 before its double-precision cases.
for_each_device() {
    tb_devices > "$TMP/devices.list" || tb_fail "cannot list the OpenCL devices"
    [ -s "$TMP/devices.list" ] || tb_skip "no usable OpenCL device"
    tab=$(printf '\t')
    saved_device=${TWINBRAIN_DEVICE-}
    while IFS=$tab read -r TB_DEVICE TB_DEVICE_FP64 TB_DEVICE_NAME <&3; do
        TB_DEVICE_LABEL="device $TB_DEVICE ($TB_DEVICE_NAME)"
        echo "=== device $TB_DEVICE: $TB_DEVICE_NAME (fp64: $TB_DEVICE_FP64) ==="
        TWINBRAIN_DEVICE=$TB_DEVICE
        export TWINBRAIN_DEVICE
        "$@" 3<&-
    done 3< "$TMP/devices.list"
    if [ -n "$saved_device" ]; then TWINBRAIN_DEVICE=$saved_device; else unset TWINBRAIN_DEVICE; fi
    TB_DEVICE="" TB_DEVICE_LABEL=""
}

# needs_fp64 WHAT: true on a device with fp64; else prints a line saying
# that WHAT is skipped on this device, and why, and returns 1.
needs_fp64() {
    [ "$TB_DEVICE_FP64" != no ] && return 0
    echo "SKIP on $TB_DEVICE_LABEL: $1: no fp64"
    return 1
}
