"""Fit a synthetic subject with [assimilation] (docs/brain.md).

The subject is the Wong-Wang E-I model on the synthetic 246-region
connectome with a hidden external input I_ext per region (uniform in
[0, 0.3] nA); its BOLD is written as [regions, samples] and fitted back
by the ensemble Kalman filter from a uniform prior. Prints the parameter
correlation with the truth and the BOLD correlation with the data.

    python3 examples/brain/fit_synthetic.py --duration 60000 --members 32 [--regions 246] [--keep DIR]

Needs numpy and h5py, and twinbrain on PATH (or $TWINBRAIN). The members
share the subject's noise seed (--other-seed draws theirs from another),
so with the default they differ from it only in the parameter.
"""
import argparse
import os
import subprocess
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = """[simulation]
duration = {duration}
dt = 0.5
seed = {seed}

[connectome]
file = "{connectome}"
speed = 3.0

[model]
plugin = "wong_wang_ei"
[model.parameters]
G = {G}
I_ext = {iext}

[coupling]
function = "linear"

[integrator]
method = "heun"
[integrator.noise]
sigma = {{ S_e = 0.01, S_i = 0.01 }}

[[monitor]]
name = "bold"
kind = "bold"
period = {period}
variables = ["S_e"]
"""


def fit(tb, tmp, regions=246, duration=60000.0, period=720.0, members=32, G=0.05, other_seed=False):
    """The subject's run and the fit in folder tmp; returns the figures."""
    if regions == 246:
        conn = os.path.join(HERE, "..", "data", "synthetic_246.h5")
    else:
        conn = os.path.join(tmp, "connectome.h5")
        subprocess.run([tb, "connectome", "generate", "--regions", str(regions), "--seed", "5", "-o", conn],
                       check=True, capture_output=True)
    truth = np.random.default_rng(1).uniform(0.0, 0.3, regions)
    fmt = dict(duration=duration, connectome=os.path.abspath(conn), G=G, period=period)
    subj = os.path.join(tmp, "subject.toml")
    with open(subj, "w") as f:
        f.write(BASE.format(seed=11, iext="[" + ", ".join(f"{x:.17g}" for x in truth) + "]", **fmt))
    subprocess.run([tb, "run", subj, "-o", os.path.join(tmp, "subject_run.h5"), "-q"], check=True)
    with h5py.File(os.path.join(tmp, "subject_run.h5"), "r") as f:
        bold = np.array(f["monitors/bold/data"])[:, 0, :, 0]
    with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
        f["bold"] = bold.T
    path = os.path.join(tmp, "fit.toml")
    with open(path, "w") as f:
        f.write(BASE.format(seed=12 if other_seed else 11, iext="0.0", **fmt))
        f.write(f'\n[assimilation]\ndata = "subject.h5"\nparameter = "I_ext"\nmembers = {members}\n'
                f'low = 0.0\nhigh = 0.3\nstart = 2000.0\n')
    t0 = time.time()
    subprocess.run([tb, "run", path, "-o", os.path.join(tmp, "fit.h5"), "-q"], check=True)
    wall = time.time() - t0
    with h5py.File(os.path.join(tmp, "fit.h5"), "r") as f:
        g = f["assimilation"]
        mean, spread = np.array(g["mean"]), np.array(g["spread"])
        r_bold = float(g["bold_correlation"][0])
        fc, data, t = np.array(g["forecast"]), np.array(g["data"]), np.array(g["time"])
    half = t > t[-1] / 2
    return {"regions": regions, "members": members, "samples": len(t), "period_ms": period, "duration_ms": duration,
            "fit_seconds": wall, "real_time_factor": wall / (duration * 1e-3),
            "parameter_r": float(np.corrcoef(mean[-1], truth)[0, 1]), "bold_r": r_bold,
            "bold_r_second_half": float(np.corrcoef(fc[half].ravel(), data[half].ravel())[0, 1]),
            "spread_ratio": float(np.median(spread[-1]) / (0.3 / np.sqrt(12)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", type=int, default=246, help="246: the synthetic connectome; else a generated one")
    ap.add_argument("--duration", type=float, default=60000.0, help="ms")
    ap.add_argument("--period", type=float, default=720.0, help="BOLD period, ms")
    ap.add_argument("--members", type=int, default=32)
    ap.add_argument("--G", type=float, default=0.05)
    ap.add_argument("--other-seed", action="store_true", help="members' noise differs from the subject's")
    ap.add_argument("--keep", help="folder for the files (default: a temporary one)")
    a = ap.parse_args()
    tb = os.environ.get("TWINBRAIN", "twinbrain")
    tmp = a.keep or tempfile.mkdtemp()
    os.makedirs(tmp, exist_ok=True)
    r = fit(tb, tmp, a.regions, a.duration, a.period, a.members, a.G, a.other_seed)
    print(f"{r['regions']} regions, {r['members']} members, {r['samples']} BOLD samples of {a.period} ms, "
          f"fit in {r['fit_seconds']:.1f} s")
    print(f"parameter r (ensemble mean vs truth): {r['parameter_r']:.4f}")
    print(f"BOLD r (forecast vs data, after 2 s):  {r['bold_r']:.4f}; second half {r['bold_r_second_half']:.4f}")
    print(f"final spread / prior's: median {r['spread_ratio']:.3f}")
    print(f"files in {tmp}")


if __name__ == "__main__":
    main()
