#!/bin/sh
# examples/plugin-template builds against the headers with pkg-config (the
# build tree's twinbrain-uninstalled.pc stands in for an installation), is
# found through TWINBRAIN_PLUGIN_PATH, and runs.
. "$TB_SRCDIR/tests/lib.sh"
command -v pkg-config >/dev/null || tb_skip "pkg-config not installed"
cp "$TB_SRCDIR"/examples/plugin-template/* "$TMP/"
expect 0 "" -- make -C "$TMP" my_model.so
expect 0 "" -- make -C "$TMP" connectome.h5 TWINBRAIN="$TWINBRAIN"
TWINBRAIN_PLUGIN_PATH="$TMP:$TWINBRAIN_PLUGIN_PATH"
export TWINBRAIN_PLUGIN_PATH
expect 0 "FitzHugh-Nagumo" -- "$TWINBRAIN" plugins my_model
expect 0 "my_model" -- "$TWINBRAIN" plugins
expect 0 "twinbrain: my_model on 68 regions" -- "$TWINBRAIN" run "$TMP/my_model.toml" -o "$TMP/my_model.h5"
# Divisors are > 0, so a scenario cannot set them to zero.
expect 2 "model.parameters.tau must be > 0 (got 0)" -- "$TWINBRAIN" check "$TMP/my_model.toml" --set model.parameters.tau=0
expect 2 "model.parameters.eps must be > 0 (got 0)" -- "$TWINBRAIN" check "$TMP/my_model.toml" --set model.parameters.eps=0

# The renames README.md lists are all there is to it: done as it says,
# nothing is called my_model any more and the copy builds, loads and runs.
mkdir "$TMP/leaky"
cp "$TB_SRCDIR"/examples/plugin-template/* "$TMP/leaky/"
(
    cd "$TMP/leaky" || exit 1
    mv my_model.c leaky.c && mv my_model.toml leaky.toml &&
        sed -i 's/^#define MODULE my_model$/#define MODULE leaky/' leaky.c &&
        sed -i 's/^MODULE = my_model$/MODULE = leaky/' Makefile &&
        sed -i 's/^plugin = "my_model"$/plugin = "leaky"/' leaky.toml
) || tb_fail "the renames README.md lists do not apply"
check "after the README's renames no my_model is left" sh -c "! grep -rn my_model '$TMP/leaky' --exclude=README.md"
ln -s "$TMP/connectome.h5" "$TMP/leaky/connectome.h5"
expect 0 "" -- make -C "$TMP/leaky" leaky.so
expect 0 "leaky on 68 regions" -- env TWINBRAIN_PLUGIN_PATH="$TMP/leaky" "$TWINBRAIN" run "$TMP/leaky/leaky.toml" \
    --set simulation.duration=10 -o "$TMP/leaky/leaky.h5"

if have_python; then
    check "the template's run oscillates" "$TB_PYTHON" - "$TMP/my_model.h5" <<'PY'
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "r") as f:
    v = f["monitors/v/data"][:, 0, :, 0]
assert v.shape == (1000, 68), v.shape
assert np.all(np.isfinite(v))
# FitzHugh-Nagumo with I = 0.5 is on its limit cycle: v swings by about 4
swing = v[500:].max(axis=0) - v[500:].min(axis=0)
assert swing.min() > 2.0, swing.min()
PY
fi
finish
