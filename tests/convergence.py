"""Convergence order of the integrators on a problem with a known solution.

A harmonic oscillator declared in the scenario (x' = y, y' = -w^2 x, no
coupling) has x(t) = cos(w t), y(t) = -w sin(w t). Halving dt must divide
the error at t = T by 2 (Euler), 4 (Heun) and 16 (RK4). On every device
(tests/devices.py)."""
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import reference as ref  # noqa: E402

T, W = 10.0, 1.0
EXPECTED = {"euler": 1, "heun": 2, "rk4": 4}


def run(tmp, connectome, method, dt):
    path = os.path.join(tmp, f"osc_{method}_{dt}.toml")
    with open(path, "w") as f:
        f.write(f"""
[simulation]
duration = {T}
dt = {dt}
[connectome]
file = "{connectome}"
[model]
name = "oscillator"
variables = ["x", "y"]
derivatives = {{ x = "y", y = "-w * w * x" }}
[model.parameters]
w = {W}
[coupling]
function = "linear"
parameters = {{ a = 0.0 }}
[initial]
x = 1.0
y = 0.0
[integrator]
method = "{method}"
[[monitor]]
name = "end"
kind = "subsample"
period = {T}
""")
    out = os.path.join(tmp, f"osc_{method}_{dt}.h5")
    ref.run_twinbrain(path, out)
    with h5py.File(out, "r") as f:
        x, y = f["monitors/end/data"][-1, 0, 0]
    return math.hypot(x - math.cos(W * T), y + W * math.sin(W * T))


suite = devices.Tests()
failures = suite.failures
with tempfile.TemporaryDirectory() as tmp:
    con = os.path.join(tmp, "c.h5")
    subprocess.run([os.environ["TWINBRAIN"], "connectome", "generate", "--regions", "2", "--seed", "1", "-o", con],
                   check=True, capture_output=True)

    def body(dev):
        for method, order in EXPECTED.items():
            dts = {"euler": [0.01, 0.005, 0.0025], "heun": [0.1, 0.05, 0.025], "rk4": [0.4, 0.2, 0.1]}[method]
            errs = [run(tmp, con, method, dt) for dt in dts]
            slopes = [math.log2(errs[i] / errs[i + 1]) for i in range(len(errs) - 1)]
            print(f"{method}: errors {['%.3g' % e for e in errs]}, observed orders {['%.2f' % s for s in slopes]}")
            if not all(abs(s - order) < 0.15 for s in slopes):
                failures.append(f"{method}: observed orders {slopes}, expected {order}")

    suite.each(body)
suite.finish()
