#!/usr/bin/env python3
"""Time an orientation-tuning experiment ([[experiment]] kind =
"orientation_tuning") on the Sensorium-style reference twin
(tests/twin_models.py), or with --model fnn on the fnn-style video twin
at its published sizes (tests/twin_fnn.py: 144x256 frames, 8,000 units,
the recurrent state reset for each stimulus and carried over its
frames), against the same experiment written in PyTorch (numpy gratings,
the model in batches, the vector-sum OSI), in the same invocation and
with the same thread count, and check that both give the same tuning
curves and OSI.

    . tests/env.sh            # from a build tree
    scripts/bench-twin-tuning.py [--model sensorium|fnn] [--units 1000] [--directions 16] [--sfs 3]
                                 [--frames 8] [--batch 16]

(--units is the Sensorium model's; the fnn model has its published 8,000.)

Prints one line per implementation (seconds, frames per second) and the
largest differences of the responses and OSI."""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SRC = os.environ.get("TB_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
import h5py  # noqa: E402
import torch  # noqa: E402

import twin_fnn  # noqa: E402
import twin_models  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", choices=("sensorium", "fnn"), default="sensorium")
ap.add_argument("--units", type=int, default=1000)
ap.add_argument("--directions", type=int, default=16)
ap.add_argument("--sfs", type=int, default=3)
ap.add_argument("--frames", type=int, default=8)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
SF = [0.02 * 2 ** k for k in range(a.sfs)]
TF = 0.125
tb = os.environ.get("TWINBRAIN", os.path.join(SRC, "twinbrain"))
tmp = tempfile.mkdtemp(prefix="bench-twin-tuning-")
torch.set_num_threads(a.threads)
if a.model == "fnn":
    H, W = twin_fnn.FULL["frame"]
    a.units = twin_fnn.FULL["units"]
    model = twin_fnn.export(twin_fnn.fnn_model(twin_fnn.FULL), os.path.join(tmp, "m.onnx"), torch.float32)
else:
    H, W = 36, 64
    model = twin_models.export(twin_models.sensorium_model(units=a.units), os.path.join(tmp, "m.onnx"), (H, W),
                               torch.float32)


def respond(frames):
    """The model's responses [n, units] to each stimulus's frames [T, n, H, W] (fnn: from a zero state,
    carried over the frames; eye position and behaviour 0); summed over the frames."""
    n = frames.shape[1]
    acc = np.zeros((n, a.units))
    state = [torch.zeros(*s) for _, s in model.state_shapes(n)] if a.model == "fnn" else None
    for img in frames:
        x = torch.from_numpy(img[:, None].astype(np.float32))
        if a.model == "fnn":
            out, *state = model(x, torch.zeros(n, 2), torch.zeros(n, 2), *state)
        else:
            out = model(x, torch.zeros(n, 2))
        acc += out.numpy()
    return acc


subprocess.run([tb, "twin", "import", os.path.join(tmp, "m.onnx"), "-o", os.path.join(tmp, "m.h5")], check=True,
               capture_output=True)
with open(os.path.join(tmp, "t.toml"), "w") as f:
    f.write(f'[simulation]\nduration = 1\ndt = 1\nprecision = "single"\n\n[twin]\nnetwork = "m.h5"\n'
            f'batch = {a.batch}\n\n[[experiment]]\nname = "ori"\nkind = "orientation_tuning"\n'
            f'directions = {a.directions}\nspatial_frequencies = {SF}\ntemporal_frequencies = {TF}\n'
            f'burn_in = 0\nwindow = {a.frames}\n')
frames_total = a.directions * len(SF) * a.frames
t0 = time.perf_counter()
run = subprocess.run([tb, "run", os.path.join(tmp, "t.toml"), "-o", os.path.join(tmp, "out.h5")],
                     env=dict(os.environ, POCL_MAX_PTHREAD_COUNT=str(a.threads)), capture_output=True, text=True)
t_tb = time.perf_counter() - t0
if run.returncode != 0:
    sys.exit(f"twinbrain run failed (exit {run.returncode}):\n{run.stdout}{run.stderr}")
summary = [line.strip() for line in run.stdout.splitlines() if line.strip().startswith(("kernels", "experiments"))]
with h5py.File(os.path.join(tmp, "out.h5")) as f:
    resp_tb = f["twin/experiments/ori/responses"][()][:, :, 0, 0]  # [U, S, D]
    osi_tb = f["twin/experiments/ori/osi"][()]

theta = 360.0 * np.arange(a.directions) / a.directions
y, x = np.mgrid[0:H, 0:W].astype(np.float64)
t0 = time.perf_counter()
conds = [(s, d) for s in range(len(SF)) for d in range(a.directions)]
resp_pt = np.zeros((a.units, len(SF), a.directions))
with torch.no_grad():
    for k0 in range(0, len(conds), a.batch):
        chunk = conds[k0:k0 + a.batch]
        acc = respond(np.stack([np.stack([np.sin(2 * np.pi * (SF[s] * (x * math.cos(math.radians(theta[d])) +
                                                                       y * math.sin(math.radians(theta[d]))) - TF * t))
                                          for s, d in chunk]) for t in range(a.frames)]))
        for j, (s, d) in enumerate(chunk):
            resp_pt[:, s, d] = acc[j] / a.frames
best = resp_pt.sum(2).argmax(1)
curve = resp_pt[np.arange(a.units), best]
z = (curve * np.exp(2j * np.radians(theta))).sum(1)
osi_pt = np.abs(z) / curve.sum(1)
t_pt = time.perf_counter() - t0
print(f"experiment: {a.model} model, {H}x{W} frames, {a.units} units, {a.directions} directions x {len(SF)} spatial frequencies x {a.frames} frames "
      f"= {frames_total} frames, batch {a.batch}, {a.threads} threads")
print(f"twinbrain run (whole command, single): {t_tb:7.2f} s  {frames_total / t_tb:8.1f} frames/s")
print(f"  twinbrain's summary: {'; '.join(summary)}")
print(f"PyTorch {torch.__version__} (float32):       {t_pt:7.2f} s  {frames_total / t_pt:8.1f} frames/s")
print(f"max |response difference| / max response: {np.abs(resp_tb - resp_pt).max() / np.abs(resp_pt).max():.2e}; "
      f"max |OSI difference|: {np.abs(osi_tb - osi_pt).max():.2e}")
