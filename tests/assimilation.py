"""[assimilation] (docs/brain.md): the ensemble Kalman filter recovers a
hidden per-region parameter map from BOLD the model itself produced.

The synthetic subject: the Wong-Wang E-I model on a 12-region synthetic
connectome with a hidden external input I_ext per region (uniform in
[0, 0.3] nA), its BOLD (period 500 ms) written as [regions, samples].
The filter starts from a uniform prior over the same range (24 members,
the run's instances) with the subject's seed, so members differ from
the subject only in the parameter. Done when the final ensemble mean
correlates with the truth at >= 0.9 and the forecast BOLD with the data
at >= 0.9 (the filter's own figure, checked here against numpy from the
datasets it writes). Also checked: the layout, the spread shrinking from
the prior's, the values within the prior's range, the same fit for another chunk length, and errors for a data
file of the wrong shape and for [assimilation] with [sweep]. On every
device (tests/devices.py)."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

suite = devices.Tests()
check = suite.check
TB = os.environ["TWINBRAIN"]
R, LOW, HIGH, MEMBERS, PERIOD, DURATION = 12, 0.0, 0.3, 24, 500.0, 20000.0

BASE = f"""[simulation]
duration = {DURATION}
dt = 0.5
seed = 11

[connectome]
file = "c12.h5"
speed = 3.0

[model]
plugin = "wong_wang_ei"
[model.parameters]
G = 0.25
I_ext = IEXT

[coupling]
function = "linear"

[integrator]
method = "heun"
[integrator.noise]
sigma = {{ S_e = 0.01, S_i = 0.01 }}

[[monitor]]
name = "bold"
kind = "bold"
period = {PERIOD}
variables = ["S_e"]
"""

ASSIM = f"""
[assimilation]
data = "subject.h5"
parameter = "I_ext"
members = {MEMBERS}
low = {LOW}
high = {HIGH}
start = 2000.0
"""


def run(tmp, name, text, expect=0, env=None):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    out = os.path.join(tmp, name + ".h5")
    done = subprocess.run([TB, "run", path, "-o", out, "--quiet"], capture_output=True, text=True, env=env)
    if done.returncode != expect:
        raise SystemExit(f"FAIL: twinbrain run {name} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return out if expect == 0 else done.stderr


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([TB, "connectome", "generate", "--regions", str(R), "--seed", "5", "-o",
                        os.path.join(tmp, "c12.h5")], check=True, capture_output=True)
        truth = np.random.default_rng(1).uniform(LOW, HIGH, R)
        subject = run(tmp, "subject", BASE.replace("IEXT", "[" + ", ".join(f"{x:.17g}" for x in truth) + "]"))
        with h5py.File(subject, "r") as f:
            bold = np.array(f["monitors/bold/data"])[:, 0, :, 0]
        with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
            f["bold"] = bold.T  # [regions, samples]
        out = run(tmp, "fit", BASE.replace("IEXT", "0.0") + ASSIM)
        with h5py.File(out, "r") as f:
            a = f["assimilation"]
            par, mean, spread = np.array(a["parameter"]), np.array(a["mean"]), np.array(a["spread"])
            fc, data, t = np.array(a["forecast"]), np.array(a["data"]), np.array(a["time"])
            r_file = float(a["bold_correlation"][0])
            sim = np.array(f["monitors/bold/data"])[:, :, :, 0]
        S = int(DURATION / PERIOD)
        check("layout", par.shape == (S, MEMBERS, R) and mean.shape == (S, R) and fc.shape == (S, R) and
              sim.shape == (S, MEMBERS, R) and np.allclose(t, PERIOD * np.arange(1, S + 1)),
              f"{S} samples x {MEMBERS} members x {R} regions")
        check("the data are the subject's BOLD", np.array_equal(data, bold), "")
        check("forecast = the members' mean BOLD", np.allclose(fc, sim.mean(axis=1), rtol=1e-12, atol=0), "")
        check("parameters within the prior's range", par.min() >= LOW and par.max() <= HIGH,
              f"{par.min():.3g} .. {par.max():.3g}")
        prior_sd = (HIGH - LOW) / np.sqrt(12)
        check("the spread shrinks to under half the prior's", np.median(spread[-1]) < 0.5 * prior_sd,
              f"final spread: median {np.median(spread[-1]):.3g}, max {spread[-1].max():.3g} (prior {prior_sd:.3g})")
        rp = np.corrcoef(mean[-1], truth)[0, 1]
        check("parameter correlation with the truth >= 0.9", rp >= 0.9, f"r = {rp:.4f}")
        use = t > 2000.0
        rb = np.corrcoef(fc[use].ravel(), data[use].ravel())[0, 1]
        check("BOLD correlation with the data >= 0.9", rb >= 0.9 and abs(rb - r_file) < 1e-9,
              f"r = {rb:.4f} (the file says {r_file:.4f})")
        if dev.first:  # the update lands on the step after its sample, whatever the chunks
            other = run(tmp, "chunks", BASE.replace("IEXT", "0.0") + ASSIM,
                        env=dict(os.environ, TWINBRAIN_CHUNK_STEPS="137"))
            with h5py.File(other, "r") as f:
                same = np.array_equal(np.array(f["assimilation/parameter"]), par)
            check("the fit does not depend on the chunk length (137 steps)", same, "")
        # errors
        done = subprocess.run([TB, "run", os.path.join(tmp, "fit.toml"), "-o", os.path.join(tmp, "ck.h5"), "--quiet",
                               "--checkpoint-every", "100"], capture_output=True, text=True)
        check("--checkpoint-every refuses [assimilation] (status 2), naming it",
              done.returncode == 2 and "[assimilation]" in done.stderr and not os.path.exists(
                  os.path.join(tmp, "ck.h5")), f"exit {done.returncode}: {done.stderr.strip()[:200]}")
        with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
            f["bold"] = bold  # [samples, regions]: transposed
        err = run(tmp, "bad", BASE.replace("IEXT", "0.0") + ASSIM, expect=4)
        check("a data file of the wrong shape is refused (status 4)", "[regions, samples]" in err, err.strip()[:200])
        err = run(tmp, "sweep", BASE.replace("IEXT", "0.0") + ASSIM +
                  '[sweep]\n"model.parameters.G" = [0.1, 0.2]\n', expect=2)
        check("[assimilation] with [sweep] is refused (status 2)", "cannot be combined with [sweep]" in err,
              err.strip()[:200])
        shutil.rmtree(tmp, ignore_errors=True)


suite.each(body)
suite.finish()
