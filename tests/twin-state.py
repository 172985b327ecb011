"""Recurrent state in a twin network: an input NAME and an output
NAME_next of the same shape are paired at import (/state in the network
file), start at 0 and carry from frame to frame on the device, per
instance. A small recurrent network, h_t = tanh(W x_t + U h_{t-1} + b),
y_t = relu(h_t), built with onnx.helper, runs 6 frames of a video (a
different one per instance) and matches the numpy recurrence in double
precision on every device."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

onnx, h5py = ref.need("onnx", "h5py")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

suite = devices.Tests()
check = suite.check
rng = np.random.default_rng(11)
H, W, S, T, B = 4, 5, 3, 6, 2
Wx, U, b = rng.normal(size=(H * W, S)) * 0.5, rng.normal(size=(S, S)), rng.normal(size=S) * 0.1
nodes = [helper.make_node("Flatten", ["x"], ["xf"], axis=1),
         helper.make_node("Gemm", ["xf", "Wx", "b"], ["a"]),
         helper.make_node("MatMul", ["h", "U"], ["hu"]),
         helper.make_node("Add", ["a", "hu"], ["pre"]),
         helper.make_node("Tanh", ["pre"], ["h_next"]),
         helper.make_node("Relu", ["h_next"], ["y"])]
inits = [numpy_helper.from_array(v, n) for n, v in (("Wx", Wx), ("U", U), ("b", b))]
g = helper.make_graph(nodes, "rnn", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, H, W]),
                                     helper.make_tensor_value_info("h", TensorProto.DOUBLE, [1, S])],
                      [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, S]),
                       helper.make_tensor_value_info("h_next", TensorProto.DOUBLE, [1, S])], inits)
tmp = tempfile.mkdtemp(prefix="twin-state-")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)]), os.path.join(tmp, "rnn.onnx"))
r = ref.run("twin", "import", os.path.join(tmp, "rnn.onnx"), "-o", os.path.join(tmp, "rnn.h5"))
check("the importer pairs h with h_next", "1 state pairs" in r.stdout, r.stdout.strip())
with h5py.File(os.path.join(tmp, "rnn.h5")) as f:
    pair = [f["state/inputs"][0], f["state/outputs"][0]]
pair = [p.decode() if isinstance(p, bytes) else p for p in pair]
check("/state names the pair", pair == ["h", "h_next"], str(pair))

video = rng.normal(size=(T, B, H, W))
with h5py.File(os.path.join(tmp, "video.h5"), "w") as f:
    f["frames"] = video
with open(os.path.join(tmp, "rnn.toml"), "w") as f:
    f.write(f'[simulation]\nduration = {T}\ndt = 1\nprecision = "double"\n\n[twin]\nnetwork = "rnn.h5"\n'
            f'batch = {B}\noutput = "y"\n\n[twin.input]\nkind = "file"\nfile = "video.h5"\n')
want = np.zeros((T, B, S))
h = np.zeros((B, S))
for t in range(T):
    h = np.tanh(video[t].reshape(B, -1) @ Wx + b + h @ U)
    want[t] = np.maximum(h, 0)


def body(dev):
    out = os.path.join(tmp, f"out_{dev.index}.h5")
    ref.run("run", os.path.join(tmp, "rnn.toml"), "-o", out, "--quiet")
    with h5py.File(out) as f:
        got = f["twin/responses"][()]
    e = ref.rel_err(got, want) if got.shape == want.shape else float("inf")
    check(f"state carried over {T} frames, {B} instances", e <= 1e-12, f"shape {got.shape}, error {e:.2e}")
    # without the carry the answer differs: the test can fail
    stateless = np.maximum(np.tanh(video.reshape(T, B, -1) @ Wx + b), 0)
    check("the recurrence matters here", ref.rel_err(stateless, want) > 1e-3, "")


suite.each(body, fp64=True)
suite.finish()
