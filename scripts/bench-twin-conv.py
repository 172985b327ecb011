#!/usr/bin/env python3
"""Time the twin kit's Conv kernels on the fnn-style twin's 3x3 layers:
the six causal 3x3x3 convolutions of one stream at the published sizes
(tests/twin_fnn.py FULL), written as the 2-D convolutions over channels
x 3 frames that the executor runs them as (96 -> 32 and 192 -> 32 at
64x96; 288 -> 64 and 480 -> 64 in 2 groups at 32x48; 672 -> 128 and
1056 -> 128 in 4 groups at 16x24), each fed by a cheap 1x1 Conv of the
frame and read by a ReduceMean. Builds the ONNX model, imports it, and
runs `twinbrain run --profile` on N frames once per kernels folder given
(alternating, --rounds times: the machine may be shared), printing the
Conv device time and GFLOP/s of each run.

    . tests/env.sh            # from a build tree
    scripts/bench-twin-conv.py [--frames 10] [--rounds 2] [KERNELS_DIR...]

With no folder, $TWINBRAIN_KERNEL_PATH's kernels. To compare with
another commit's kernels: `mkdir old; git show REV:kernels/twin.cl >
old/twin.cl` (and the other .cl files), then pass `old kernels`."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (input channels, output channels, groups, input stride of the 1x1 feed: 1 at 64x96)
LAYERS = ((96, 32, 1, 1), (192, 32, 1, 1), (288, 64, 2, 2), (480, 64, 2, 2), (672, 128, 4, 4), (1056, 128, 4, 4))
H, W = 64, 96

ap = argparse.ArgumentParser()
ap.add_argument("--frames", type=int, default=10)
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("kernels", nargs="*")
opt = ap.parse_args()
SRC = os.environ.get("TB_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
tb = os.environ.get("TWINBRAIN", os.path.join(SRC, "twinbrain"))
rng = np.random.default_rng(1)
nodes, inits, outs = [], [], []


def conv(x, cin, cout, k, out, groups=1, stride=1, pad=0):
    w = (rng.standard_normal((cout, cin // groups, k, k)) * (cin // groups * k * k) ** -0.5).astype(np.float32)
    inits.append(numpy_helper.from_array(w, out + "_w"))
    inits.append(numpy_helper.from_array((rng.standard_normal(cout) * 0.1).astype(np.float32), out + "_b"))
    nodes.append(helper.make_node("Conv", [x, out + "_w", out + "_b"], [out], group=groups, strides=[stride] * 2,
                                  pads=[pad] * 4))


flop = 0
for cin, cout, g, s in LAYERS:
    conv("frame", 1, cin, 1, f"in{cin}", stride=s)
    conv(f"in{cin}", cin, cout, 3, f"c{cin}", groups=g, pad=1)
    nodes.append(helper.make_node("ReduceMean", [f"c{cin}"], [f"r{cin}"], axes=[2, 3], keepdims=0))
    outs.append(f"r{cin}")
    flop += 2 * (H // s) * (W // s) * cout * (cin // g) * 9
nodes.append(helper.make_node("Concat", outs, ["y"], axis=1))
graph = helper.make_graph(nodes, "convbench", [helper.make_tensor_value_info("frame", TensorProto.FLOAT, [1, 1, H, W])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, sum(l[1] for l in LAYERS)])],
                          inits)
tmp = tempfile.mkdtemp(prefix="bench-twin-conv-")
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(tmp, "net.onnx"))
subprocess.run([tb, "twin", "import", os.path.join(tmp, "net.onnx"), "-o", os.path.join(tmp, "net.h5")], check=True,
               stdout=subprocess.DEVNULL)
with open(os.path.join(tmp, "run.toml"), "w") as f:
    f.write(f"""[simulation]
duration = {opt.frames}
dt = 1
precision = "single"
[twin]
network = "{tmp}/net.h5"
batch = 1
[twin.input]
kind = "gratings"
mean = 0.0
amplitude = 1.0
period = 16.0
cycles_per_frame = 0.1
""")
print(f"{flop / 1e9:.3f} GFLOP of 3x3 convolutions a frame, {opt.frames} frames a run")
dirs = opt.kernels or [os.environ.get("TWINBRAIN_KERNEL_PATH", "")]
for r in range(opt.rounds):
    for d in dirs:
        env = dict(os.environ)
        if d:
            env["TWINBRAIN_KERNEL_PATH"] = os.path.abspath(d)
        p = subprocess.run([tb, "run", os.path.join(tmp, "run.toml"), "-o", os.path.join(tmp, "out.h5"), "--profile"],
                           env=env, capture_output=True, text=True)
        m = re.search(r"^\s*kernel\s+Conv\s+\d+\s+([0-9.]+)", p.stdout, re.M)
        if p.returncode or not m:
            sys.exit(f"twinbrain run failed ({d}):\n{p.stdout}{p.stderr}")
        t = float(m.group(1))
        print(f"round {r + 1} {d or 'default'}: Conv {t:.4f} s device time, {flop * opt.frames / t / 1e9:.1f} GFLOP/s")
