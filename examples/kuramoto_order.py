"""Order parameter R of examples/kuramoto_sweep.toml's output, per coupling.

    python3 examples/kuramoto_order.py kuramoto.h5
"""
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    theta = f["monitors/theta/data"][:, :, :, 0]   # [T, B, N]
    a = f["sweep/coupling.parameters.a"][:]
R = np.abs(np.exp(1j * theta).mean(axis=2))         # [T, B]
last = R[-300:].mean(axis=0)                        # the last 300 ms
print("coupling a    R (mean of the last 300 ms)")
for ai, r in zip(a, last):
    print(f"{ai:10.1f}    {r:.3f}  " + "#" * int(round(40 * r)))
