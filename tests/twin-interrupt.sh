#!/bin/sh
# Ctrl-C during an in-silico experiment (which runs before the run's first
# frame, while the output is declared) stops it at the next frame with
# exit 130, and what was written so far (the experiments finished before)
# is kept under the partial name the message gives; the output path itself
# gets no file, since the run never started.
. "$TB_SRCDIR/tests/lib.sh"
have_python || tb_skip "needs python3 with numpy and h5py to read the files"
S="$TMP/long.toml"
cat > "$S" <<EOF2
[simulation]
duration = 1
dt = 1
precision = "single"

[twin]
network = "$TB_SRCDIR/examples/twin/gabor_twin.h5"
batch = 4

[[experiment]]
name = "ori"
kind = "orientation_tuning"
directions = 4
burn_in = 0
window = 1

[[experiment]]
name = "rf"
kind = "receptive_field"
noise = "white"
frames = 1000000000
EOF2
OUT="$TMP/long.h5"
"$TWINBRAIN" run "$S" -o "$OUT" -q 2> "$TMP/err" &
pid=$!
for i in $(seq 1 300); do # until the partial file exists (or give up after ~30 s)
    ls "$OUT".partial-* >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 1
kill -INT $pid
wait $pid
status=$?
msg=$(cat "$TMP/err")
check "SIGINT during an experiment exits 130 (got $status: $msg)" test "$status" -eq 130
check "the message says which experiment it stopped ($msg)" expr "$msg" : ".*interrupted during experiment '[a-z]*'"
check "no file takes the output name" test ! -e "$OUT"
partial=$(ls "$OUT".partial-* 2>/dev/null)
check "the message names the partial file kept ($partial)" expr "$msg" : ".*what it wrote is kept in $partial"
check "the partial file is readable, with the experiments finished before the stop" "$TB_PYTHON" - "$partial" "$msg" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    assert "scenario" in f.attrs
    done = list(f["twin/experiments"]) if "twin/experiments" in f else []
    assert "rf" not in done, done
    if "experiment 'rf'" in sys.argv[2]:
        assert done == ["ori"], done
        assert f["twin/experiments/ori/osi"].shape == (12,)
print("kept:", done)
PY
finish
