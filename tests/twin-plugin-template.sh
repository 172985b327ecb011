#!/bin/sh
# examples/twin-plugin-template builds against the headers with pkg-config
# (the build tree's twinbrain-uninstalled.pc stands in for an installation),
# is listed through TWINBRAIN_PLUGIN_PATH, and its op, imported from an
# ONNX model, computes what numpy does.
. "$TB_SRCDIR/tests/lib.sh"
command -v pkg-config >/dev/null || tb_skip "pkg-config not installed"
[ "$TB_PYTHON" != none ] && "$TB_PYTHON" -c 'import onnx, h5py' 2>/dev/null ||
    tb_skip "python modules onnx and h5py are missing (scripts/install-deps installs python3-onnx)"
cp "$TB_SRCDIR"/examples/twin-plugin-template/* "$TMP/"
expect 0 "" -- make -C "$TMP" my_op.so
TWINBRAIN_PLUGIN_PATH="$TMP:$TWINBRAIN_PLUGIN_PATH"
export TWINBRAIN_PLUGIN_PATH
expect 0 "op: MyScale (domain org.example)" -- "$TWINBRAIN" plugins my_op
expect 0 "max |twinbrain - numpy|" -- make -C "$TMP" run TWINBRAIN="$TWINBRAIN" PYTHON="$TB_PYTHON"
finish
