#!/bin/sh
# `run -o` never destroys a file: an output that is one of the run's inputs
# is refused before anything is written (exit 4), whatever name reaches it;
# an existing output is replaced only when the new file is complete, so a
# failed run or a reader holding the old file loses nothing; a write the
# file system refuses (here the file size limit, the same failure as a
# full disk: tests/output-full-disk.sh) ends with exit 4 and a file readable
# up to the last complete chunk.
. "$TB_SRCDIR/tests/lib.sh"
cp "$TB_SRCDIR/examples/data/synthetic_246.h5" "$TMP/net.h5"
cat >"$TMP/run.toml" <<'EOF'
[simulation]
duration = 20.0
dt = 0.1
[connectome]
file = "net.h5"
[model]
plugin = "jansen_rit"
[[monitor]]
name = "tavg"
kind = "temporal_average"
period = 1.0
EOF
cp "$TMP/net.h5" "$TMP/net.orig"
cp "$TMP/run.toml" "$TMP/run.orig"
S="$TMP/run.toml"

same() { cmp -s "$1" "$2"; }

# ---- inputs are never outputs, by any name
expect 4 "the output file is the scenario's connectome.file" -- "$TWINBRAIN" run "$S" -q -o "$TMP/net.h5"
check "the connectome is untouched" same "$TMP/net.h5" "$TMP/net.orig"
expect 4 "the output file is the scenario file itself" -- "$TWINBRAIN" run "$S" -q -o "$TMP/run.toml"
check "the scenario is untouched" same "$TMP/run.toml" "$TMP/run.orig"
ln "$TMP/net.h5" "$TMP/hardlink.h5"
expect 4 "connectome.file" -- "$TWINBRAIN" run "$S" -q -o "$TMP/hardlink.h5"
ln -s net.h5 "$TMP/symlink.h5"
expect 4 "connectome.file" -- "$TWINBRAIN" run "$S" -q -o "$TMP/symlink.h5"
expect 4 "connectome.file" -- "$TWINBRAIN" run "$S" -q -o "$TMP/./net.h5"
check "the connectome is still untouched" same "$TMP/net.h5" "$TMP/net.orig"
printf '[output]\nfile = "net.h5"\n' >>"$TMP/run.toml"
expect 4 "connectome.file" -- "$TWINBRAIN" run "$S" -q
cp "$TMP/run.orig" "$TMP/run.toml"

# ---- what is not a regular file is not replaced
mkfifo "$TMP/fifo.h5"
expect 1 "not a regular file" -- "$TWINBRAIN" run "$S" -q -o "$TMP/fifo.h5"
check "the pipe is still a pipe" test -p "$TMP/fifo.h5"

# ---- an existing output is replaced whole, at the end
expect 0 "" -- "$TWINBRAIN" run "$S" -q -o "$TMP/out.h5"
cp "$TMP/out.h5" "$TMP/out.first"
expect 0 "" -- "$TWINBRAIN" run "$S" -q -o "$TMP/out.h5" --set simulation.seed=7
check "the second run replaced the file" sh -c "! cmp -s '$TMP/out.h5' '$TMP/out.first'"
check "no temporary file is left" sh -c "! ls '$TMP'/out.h5.partial-* 2>/dev/null"

# ---- a refused write: exit 4 with the reason, no crash, the rows kept
limited() { # run under a file size limit of $1 blocks (of 512 or 1024 bytes, as the shell counts);
    # SIGXFSZ ignored, so the write fails with EFBIG as it would with ENOSPC on a full disk
    blocks=$1
    shift
    sh -c 'trap "" XFSZ; ulimit -f "$0"; exec "$@"' "$blocks" "$@"
}
cp "$TMP/out.h5" "$TMP/out.before"
# The same run once without the limit first, storing its program in
# twinbrain's cache (on PoCL it stores nothing by default): PoCL writes
# files into its own cache as it builds even when it finds the program
# there, and LLVM aborts on a write the limit refuses, before twinbrain
# writes anything; loaded from twinbrain's cache, nothing is compiled.
expect 0 "" -- env TWINBRAIN_CACHE_STORE=1 "$TWINBRAIN" run "$S" -q -o "$TMP/warm.h5" --set simulation.duration=400
rm -f "$TMP/warm.h5"
expect 4 "File too large" -- limited 800 "$TWINBRAIN" run "$S" -q -o "$TMP/out.h5" --set simulation.duration=400
check "the existing output is left as it was" same "$TMP/out.h5" "$TMP/out.before"
printf '%s' "$LAST_OUTPUT" | grep -q "was left as it was; the rows written before the error are in $TMP/out.h5.partial-" &&
    check "the message says where the rows are" true || check "the message says where the rows are" false
expect 4 "keeps the rows written before the error" -- limited 800 "$TWINBRAIN" run "$S" -q -o "$TMP/new.h5" --set simulation.duration=400
if have_python; then
    for f in "$TMP/new.h5" "$TMP"/out.h5.partial-*; do
        check "$(basename "$f") is readable up to the last complete chunk" "$TB_PYTHON" - "$f" <<'PY'
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    t = f["monitors/tavg/time"][:]
    d = f["monitors/tavg/data"][:]
    assert 0 < d.shape[0] <= len(t), (d.shape, len(t))
    assert np.allclose(t[: d.shape[0]], np.arange(1, d.shape[0] + 1) * 1.0)
    assert np.all(np.isfinite(d))
    assert "scenario" in f.attrs and "status" not in f.attrs
print("kept", d.shape[0], "rows")
PY
    done

    # ---- a reader holding the old file keeps reading it while it is replaced
    check "a reader's open file survives its replacement" "$TB_PYTHON" - "$TMP/out.h5" "$TWINBRAIN" "$S" <<'PY'
import h5py, subprocess, sys
path, tb, sc = sys.argv[1:4]
with h5py.File(path, "r") as held:
    before = held["monitors/tavg/data"][:]
    r = subprocess.run([tb, "run", sc, "-q", "-o", path, "--set", "simulation.seed=9"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (held["monitors/tavg/data"][:] == before).all()
with h5py.File(path, "r") as f:
    assert f.attrs["status"] == "completed" and f.attrs["seed"] == 9
PY
fi
finish
