#!/bin/sh
# A disk that fills up during a run: exit 4 with the reason, no crash, and
# a file readable up to the last complete chunk; an existing file being
# replaced is left as it was. The disk is a 1 MiB tmpfs, mounted in a
# private mount namespace when unshare(1) can make one (so it vanishes
# with the test); without the right to mount, the test is skipped (the
# same failure is injected with a file size limit in tests/output-safety.sh
# and tests/unit/test_output.c).
if [ -z "$TB_FULL_DISK_NS" ] && command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
    TB_FULL_DISK_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$TB_SRCDIR/tests/lib.sh"
DISK="$TMP/disk"
mkdir "$DISK"
mount -t tmpfs -o size=1m tmpfs "$DISK" 2>/dev/null || tb_skip "cannot mount a tmpfs here (needs root)"
trap 'umount "$DISK" 2>/dev/null; rm -rf "$TMP"' EXIT
# the run's uncompressed estimate exceeds this disk, which twinbrain would
# refuse up front (tests/scenario-errors.sh): here the disk must fill mid-run
export TWINBRAIN_NO_SPACE_CHECK=1
S="$TB_SRCDIR/tests/scenarios/small.toml"
run() { "$TWINBRAIN" run "$S" -q --set simulation.duration=2000 "$@"; }

expect 4 "No space left on device" -- run -o "$DISK/out.h5"
check "the message says what the file keeps" sh -c "printf '%s' \"\$0\" | grep -q 'keeps the rows written before the error'" "$LAST_OUTPUT"
if have_python; then
    check "the file is readable up to the last complete chunk" "$TB_PYTHON" - "$DISK/out.h5" <<'PY'
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    t = f["monitors/tavg/time"][:]
    d = f["monitors/tavg/data"][:]
    assert 0 < d.shape[0] <= len(t), (d.shape, len(t))
    assert np.allclose(t[: d.shape[0]], np.arange(1, d.shape[0] + 1) * 1.0)
    assert np.all(np.isfinite(d))
print("kept", d.shape[0], "rows of", 2000)
PY
fi

# Replacing that file on the same full disk: nothing to lose.
cp "$DISK/out.h5" "$TMP/out.before"
expect 4 "No space left on device" -- run -o "$DISK/out.h5"
check "the existing file is left as it was" cmp -s "$DISK/out.h5" "$TMP/out.before"

# A connectome written onto the full disk: the same driver, the same exit.
expect 4 "No space left on device" -- "$TWINBRAIN" connectome generate --regions 246 --seed 1 -o "$DISK/net.h5"
check "no connectome and no partial file are left" sh -c "! ls '$DISK'/net.h5* 2>/dev/null"
finish
