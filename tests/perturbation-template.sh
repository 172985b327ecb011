#!/bin/sh
# examples/perturbation-template builds against the headers with pkg-config
# (the build tree's twinbrain-uninstalled.pc stands in for an installation),
# is found through TWINBRAIN_PLUGIN_PATH, runs, and puts its events on the
# steps its parameters say; its own error reaches the user with the key's
# position.
. "$TB_SRCDIR/tests/lib.sh"
command -v pkg-config >/dev/null || tb_skip "pkg-config not installed"
cp "$TB_SRCDIR"/examples/perturbation-template/* "$TMP/"
expect 0 "" -- make -C "$TMP" my_perturbation.so
expect 0 "" -- make -C "$TMP" connectome.h5 TWINBRAIN="$TWINBRAIN"
TWINBRAIN_PLUGIN_PATH="$TMP:$TWINBRAIN_PLUGIN_PATH"
export TWINBRAIN_PLUGIN_PATH
expect 0 "needs of a kit: silence units" -- "$TWINBRAIN" plugins my_perturbation
expect 0 "my_perturbation" -- "$TWINBRAIN" plugins
expect 0 "jansen_rit on 68 regions" -- "$TWINBRAIN" run "$TMP/my_perturbation.toml" -o "$TMP/p.h5"
sed 's/off = 20.0/off = 200.0/' "$TMP/my_perturbation.toml" > "$TMP/bad.toml"
line=$(grep -n 'off = 200.0' "$TMP/bad.toml" | cut -d: -f1)
expect 2 "bad.toml:$line:38: perturbation 'my_perturbation_0': off must be shorter than period" -- \
    "$TWINBRAIN" check "$TMP/bad.toml"
expect 2 "perturbation.parameters.period must be > 0" -- \
    "$TWINBRAIN" check "$TMP/my_perturbation.toml" --set 'perturbation=[{plugin = "my_perturbation", targets = [1], parameters = {period = 0.0}}]'
if have_python; then
    check "the template's events fall on their steps" "$TB_PYTHON" - "$TMP/p.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    g = f["perturbations/my_perturbation_0"]
    steps = list(g["event_step"][:])
    ops = [o.decode() if isinstance(o, bytes) else o for o in g["event_operation"][:]]
assert steps == [1000, 1200, 2000, 2200, 3000, 3200, 4000, 4200], steps
assert ops == ["silence units", "undo"] * 4, ops
PY
fi
finish
