#!/bin/sh
# An interrupted run keeps what it wrote: Ctrl-C (SIGINT) stops after the
# current chunk with exit 130 and a file whose final attributes say so; a
# killed run (SIGKILL) still leaves a file HDF5 readers open, up to the last
# chunk written.
. "$TB_SRCDIR/tests/lib.sh"
have_python || tb_skip "needs python3 with numpy and h5py to read the files"
S="$TB_SRCDIR/examples/jansen_rit.toml"

wait_rows() { # wait until FILE has some rows (or give up after ~20 s)
    for i in $(seq 1 200); do
        "$TB_PYTHON" - "$1" <<'PY' 2>/dev/null && return 0
import h5py, sys
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    sys.exit(0 if f["monitors/tavg/time"].shape[0] > 0 else 1)
PY
        sleep 0.1
    done
    return 1
}

"$TWINBRAIN" run "$S" --set simulation.duration=200000 -o "$TMP/int.h5" -q &
pid=$!
wait_rows "$TMP/int.h5"
kill -INT $pid
wait $pid
status=$?
check "SIGINT exits 130 (got $status)" test "$status" -eq 130
check "the interrupted file is complete up to where it stopped" "$TB_PYTHON" - "$TMP/int.h5" <<'PY'
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "r") as f:
    t = f["monitors/tavg/time"][:]
    d = f["monitors/tavg/data"][:]
    steps = int(f.attrs["steps"])
    assert f.attrs["status"] == "interrupted", f.attrs["status"]
    assert f.attrs["completed"] == 0
    assert 0 < len(t) == d.shape[0], (len(t), d.shape)
    assert np.allclose(t, np.arange(1, len(t) + 1) * 1.0)
    assert np.all(np.isfinite(d))
    assert steps < 2000000 and len(t) == steps // 10, (steps, len(t))
print("interrupted at", t[-1], "ms with", len(t), "rows")
PY

"$TWINBRAIN" run "$S" --set simulation.duration=200000 -o "$TMP/kill.h5" -q &
pid=$!
wait_rows "$TMP/kill.h5"
sleep 0.5
kill -KILL $pid
wait $pid 2>/dev/null
# HDF5 marks a file open for writing until it is closed; after SIGKILL a
# reader opens it in SWMR mode (or h5clear -s --increment=0 clears the mark).
check "a killed run leaves a readable file with its rows" "$TB_PYTHON" - "$TMP/kill.h5" <<'PY'
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    t = f["monitors/tavg/time"][:]
    d = f["monitors/tavg/data"][: len(t)]
    assert len(t) > 0
    assert np.all(np.isfinite(d))
    assert "scenario" in f.attrs and "device" in f.attrs
print("killed run kept", len(t), "rows")
PY
if command -v h5clear >/dev/null 2>&1; then
    check "h5clear makes the killed file an ordinary file again" h5clear -s --increment=0 "$TMP/kill.h5"
    check "after h5clear a plain reader opens it" "$TB_PYTHON" -c "
import h5py
with h5py.File('$TMP/kill.h5', 'r') as f:
    assert f['monitors/tavg/time'].shape[0] > 0"
fi
finish
