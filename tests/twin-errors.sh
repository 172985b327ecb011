#!/bin/sh
# Broken twin scenarios, networks and inputs: each gets its own message
# naming the file (and line, column and key for scenario errors) and the
# documented exit status (2 scenario, 4 input file). Needs python3-onnx to
# build the small network it runs (skipped visibly without it).
. "$TB_SRCDIR/tests/lib.sh"
have_python && "$TB_PYTHON" -c 'import onnx' 2>/dev/null || tb_skip "python3 with onnx (python3-onnx) is missing"
"$TB_PYTHON" - "$TMP" <<'PY'
import sys, numpy as np, h5py, onnx
from onnx import TensorProto, helper
tmp = sys.argv[1]
g = helper.make_graph([helper.make_node("Relu", ["img"], ["r"])], "g",
                      [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 1, 6, 8])],
                      [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)]), f"{tmp}/relu.onnx")
g = helper.make_graph([helper.make_node("Log", ["img"], ["r"])], "g",
                      [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 1, 6, 8])],
                      [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)]), f"{tmp}/log.onnx")
with h5py.File(f"{tmp}/short.h5", "w") as f:
    f["frames"] = np.zeros((3, 6, 8), np.uint8)
with h5py.File(f"{tmp}/wrong.h5", "w") as f:
    f["frames"] = np.zeros((10, 5, 8), np.float32)
with h5py.File(f"{tmp}/stim.h5", "w") as f:
    f["stimuli"] = np.zeros((3, 4, 6, 8), np.uint8)
    f["small"] = np.zeros((3, 4, 5, 8), np.float32)
    f["flat"] = np.zeros((4, 6, 8), np.float32)
    nan = np.zeros((3, 4, 6, 8))
    nan[2, 1, 3, 3] = np.nan
    f["nan"] = nan
with open(f"{tmp}/model.onnx.txt", "w") as f:
    f.write("not a model")
PY
expect 0 "twin.h5: 1 nodes" -- "$TWINBRAIN" twin import "$TMP/relu.onnx" -o "$TMP/twin.h5"
expect 4 "not an ONNX model" -- "$TWINBRAIN" twin import "$TMP/model.onnx.txt" -o "$TMP/x.h5"
expect 4 "relu.onnx: not an HDF5 file (a twin network is made by" -- "$TWINBRAIN" twin eval "$TMP/relu.onnx" "$TMP/short.h5" -o "$TMP/x.h5"
expect 2 "needs MODEL.onnx and -o NET.h5" -- "$TWINBRAIN" twin import "$TMP/relu.onnx"

B="$TMP/base.toml"
cat > "$B" <<'TOML'
[simulation]
duration = 5
dt = 1

[twin]
network = "twin.h5"
batch = 2

[twin.input]
kind = "blank"
mean = 0.5
TOML
expect 0 "twin network" -- "$TWINBRAIN" check "$B"
expect 0 "" -- "$TWINBRAIN" run "$B" -o "$TMP/ok.h5" --quiet
check "a blank screen gives relu(0.5) everywhere" "$TB_PYTHON" -c "
import h5py, numpy as np, sys
r = h5py.File('$TMP/ok.h5')['twin/responses'][()]
sys.exit(0 if r.shape == (5, 2, 48) and np.all(r == 0.5) else 1)"

# a network file whose shapes were edited is refused before anything runs
cp "$TMP/twin.h5" "$TMP/edited.h5"
"$TB_PYTHON" -c "
import h5py
with h5py.File('$TMP/edited.h5', 'r+') as f:
    names = [n.decode() if isinstance(n, bytes) else n for n in f['tensors/name'][()]]
    f['tensors/shape'][names.index('r'), 3] = 80
"
sed 's/network = "twin.h5"/network = "edited.h5"/' "$B" > "$TMP/edited.toml"
expect 4 "edited.h5: node 0 ('', Relu) is not what 'twinbrain twin import' writes" -- "$TWINBRAIN" check "$TMP/edited.toml"

sed 's/network = "twin.h5"/network = "none.h5"/' "$B" > "$TMP/missing.toml"
expect 4 "missing.toml:6:11: twin.network: no such file 'none.h5'" -- "$TWINBRAIN" check "$TMP/missing.toml"
sed 's/batch = 2/batch = 0/' "$B" > "$TMP/batch.toml"
expect 2 "batch.toml:7:9: twin.batch" -- "$TWINBRAIN" check "$TMP/batch.toml"
sed 's/kind = "blank"/kind = "movie"/' "$B" > "$TMP/kind.toml"
expect 2 "kind.toml:10:8: twin.input.kind" -- "$TWINBRAIN" check "$TMP/kind.toml"
sed 's/mean = 0.5/mean = 0.5\nperiode = 3/' "$B" > "$TMP/key.toml"
expect 2 "unknown key 'periode' in [twin.input]" -- "$TWINBRAIN" check "$TMP/key.toml"
sed 's/kind = "blank"/kind = "gratings"\ndirections = [0, 90, 180]/' "$B" > "$TMP/dirs.toml"
expect 2 "twin.input.directions has 3 entries; twin.batch is 2" -- "$TWINBRAIN" check "$TMP/dirs.toml"
sed 's/kind = "blank"/kind = "file"/' "$B" > "$TMP/nofile.toml"
expect 2 "kind \"file\" needs file" -- "$TWINBRAIN" check "$TMP/nofile.toml"
sed 's/kind = "blank"/kind = "file"\nfile = "short.h5"/' "$B" > "$TMP/short.toml"
expect 4 "short.h5: frames has 3 frames; the run needs 5" -- "$TWINBRAIN" check "$TMP/short.toml"
sed 's/kind = "blank"/kind = "file"\nfile = "wrong.h5"/' "$B" > "$TMP/wrong.toml"
expect 4 "has frames of 5x8 pixels; the network takes 6x8" -- "$TWINBRAIN" run "$TMP/wrong.toml" -o "$TMP/w.h5"
check "nothing is written for a refused input" test ! -e "$TMP/w.h5"
sed 's/batch = 2/batch = 2\noutput = "nope"/' "$B" > "$TMP/out.toml"
expect 4 "the network has no output named 'nope' (twin.output)" -- "$TWINBRAIN" check "$TMP/out.toml"
# [[experiment]] tables: kinds, keys of the other kind, names, sizes
X="$TMP/exp.toml"
exp_case() { # STATUS MESSAGE TOML-LINES...
    st=$1 msg=$2
    shift 2
    { cat "$B"; printf '\n[[experiment]]\n'; printf '%s\n' "$@"; } > "$X"
    expect "$st" "$msg" -- "$TWINBRAIN" check "$X"
}
exp_case 0 "1 experiment" 'name = "ori"' 'kind = "orientation_tuning"' 'directions = 4'
exp_case 2 "exp.toml:15:8: experiment[0].kind must be one of orientation_tuning, receptive_field, size_tuning, response_to (got \"orientation\")" \
    'name = "s"' 'kind = "orientation"'
exp_case 2 "exp.toml:16:1: experiment[0].square is not read by kind \"orientation_tuning\"" \
    'name = "o"' 'kind = "orientation_tuning"' 'square = 2'
exp_case 2 "exp.toml:14:8: experiment[0].name \"a/b\" must be letters, digits" 'name = "a/b"' 'kind = "receptive_field"'
exp_case 2 "exp.toml:16:8: experiment[0].mean must be a number, not nan" 'name = "n"' 'kind = "receptive_field"' 'mean = nan'
exp_case 2 "exp.toml:16:14: experiment[0].directions must be >= 3" 'name = "d"' 'kind = "orientation_tuning"' 'directions = 2'
exp_case 2 "experiment[0].spatial_frequencies" 'name = "f"' 'kind = "orientation_tuning"' \
    'spatial_frequencies = [0.1, 0.7]'
exp_case 4 "exp.toml:16:10: experiment[0].square is 7 pixels; the network's frames are 6x8" \
    'name = "big"' 'kind = "receptive_field"' 'square = 7'
cp "$X" "$TMP/big.toml"
exp_case 2 "experiment[0].rf: no receptive_field experiment named \"rf\" before this one" \
    'name = "s"' 'kind = "size_tuning"' 'rf = "rf"'
exp_case 2 "experiment[1].tuning: no orientation_tuning experiment named \"rf\" before this one" \
    'name = "rf"' 'kind = "receptive_field"' '[[experiment]]' 'name = "s"' 'kind = "size_tuning"' 'tuning = "rf"'
exp_case 2 "experiment[0].centre must be [x, y]" 'name = "s"' 'kind = "size_tuning"' 'centre = [1, 2, 3]'
exp_case 2 "experiment[0].spatial_frequencies: size_tuning takes one value" 'name = "s"' 'kind = "size_tuning"' \
    'spatial_frequencies = [0.1, 0.2]'
exp_case 2 "experiment[0].density is not read by kind \"size_tuning\"" 'name = "s"' 'kind = "size_tuning"' \
    'density = 0.2'
exp_case 0 "1 experiment" 'name = "w"' 'kind = "receptive_field"' 'noise = "white"' 'contrast = 0.5'
exp_case 2 "exp.toml:17:11: experiment[0].density is for sparse noise" 'name = "w"' 'kind = "receptive_field"' \
    'noise = "white"' 'density = 0.2'
exp_case 2 "experiment[0].noise must be one of sparse, white" 'name = "w"' 'kind = "receptive_field"' \
    'noise = "pink"'
exp_case 0 "1 experiment" 'name = "s"' 'kind = "size_tuning"' 'radii = [1, 2]' 'centre = [3, 2]' 'contrast = 0.5'
exp_case 0 "1 experiment" 'name = "r"' 'kind = "response_to"' 'file = "stim.h5"'
exp_case 2 "experiment[0]: kind \"response_to\" needs file" 'name = "r"' 'kind = "response_to"'
exp_case 4 "exp.toml:16:8: experiment[0].file: no such file 'none.h5'" 'name = "r"' 'kind = "response_to"' \
    'file = "none.h5"'
exp_case 4 "exp.toml:16:8: experiment[0].file: $TMP/stim.h5: small has frames of 5x8 pixels; the network takes 6x8" \
    'name = "r"' 'kind = "response_to"' 'file = "stim.h5"' 'dataset = "small"'
exp_case 4 "flat must be numbers [stimuli, frames, height, width]" \
    'name = "r"' 'kind = "response_to"' 'file = "stim.h5"' 'dataset = "flat"'
exp_case 4 "has no dataset 'nope'" 'name = "r"' 'kind = "response_to"' 'file = "stim.h5"' 'dataset = "nope"'
exp_case 0 "1 experiment" 'name = "r"' 'kind = "response_to"' 'file = "stim.h5"' 'dataset = "nan"'
cp "$X" "$TMP/nanstim.toml"
expect 4 "stim.h5: nan holds nan at stimulus 2, frame 1" -- "$TWINBRAIN" run "$TMP/nanstim.toml" -o "$TMP/nanstim.h5"
check "nothing is written for stimuli holding NaN" test ! -e "$TMP/nanstim.h5"
expect 4 "experiment[0].square is 7 pixels" -- "$TWINBRAIN" run "$TMP/big.toml" -o "$TMP/big.h5"
check "nothing is written for an experiment that does not fit" test ! -e "$TMP/big.h5"
# a response that is not finite (log of a grating's negative half) stops the run: status 5, no file
expect 0 "log.h5: 1 nodes" -- "$TWINBRAIN" twin import "$TMP/log.onnx" -o "$TMP/log.h5"
exp_case 0 "1 experiment" 'name = "ori"' 'kind = "orientation_tuning"' 'directions = 4'
sed 's/network = "twin.h5"/network = "log.h5"/' "$X" > "$TMP/nan.toml"
expect 5 "experiment 'ori': the twin's response is" -- "$TWINBRAIN" run "$TMP/nan.toml" -o "$TMP/nan.h5"
check "nothing is written for an experiment whose responses are not finite" test ! -e "$TMP/nan.h5"
exp_case 2 "experiment[1].name \"r\" is also experiment[0]'s" 'name = "r"' 'kind = "receptive_field"' \
    '[[experiment]]' 'name = "r"' 'kind = "receptive_field"'
finish
