"""Stimuli: a pure integrator x' = input shows each waveform exactly.

With the input held over a step (evaluated at its start, as documented),
x after step k is dt * sum of amplitude * weight * waveform(t_j), j < k, for
any method. Checked for pulse trains (with a count), sinusoids, Gaussian
pulses and series from HDF5 ([T] for every listed region and [T, regions]),
regions by label and by index, weights, onset and stop; and the errors for
an unknown region label."""
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

TB = os.environ["TWINBRAIN"]
DT, STEPS, N = 0.1, 3000, 6
suite = devices.Tests()
failures = suite.failures
check = suite.check


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "c.h5")
        subprocess.run([TB, "connectome", "generate", "--regions", str(N), "--seed", "9", "-o", con], check=True,
                       capture_output=True)
        with h5py.File(con) as f:
            labels = [s.decode() if isinstance(s, bytes) else s for s in f["region_labels"][:]]
        series1 = np.sin(np.arange(40) * 0.3)
        series2 = np.random.default_rng(3).normal(size=(50, 2))
        with h5py.File(os.path.join(tmp, "s.h5"), "w") as f:
            f["one"] = series1
            f["two"] = series2
        scenario = os.path.join(tmp, "stim.toml")
        with open(scenario, "w") as f:
            f.write(f"""
    [simulation]
    duration = {STEPS * DT}
    dt = {DT}
    [connectome]
    file = "{con}"
    [model]
    name = "integrator"
    variables = ["a", "b", "c", "d"]
    derivatives = {{ a = "0.0", b = "0.0", c = "0.0", d = "0.0" }}
    [coupling]
    function = "linear"
    parameters = {{ a = 0.0 }}
    [integrator]
    method = "rk4"
    [[monitor]]
    name = "x"
    kind = "raw"

    [[stimulus]]
    variable = "a"
    kind = "pulse_train"
    regions = ["{labels[1]}", 4]
    weights = [1.0, -0.5]
    onset = 20.0
    period = 25.0
    width = 5.0
    count = 4
    amplitude = 2.0

    [[stimulus]]
    variable = "b"
    kind = "sinusoid"
    frequency = 40.0
    phase = 0.5
    onset = 10.0
    stop = 200.0
    amplitude = 0.3

    [[stimulus]]
    variable = "c"
    kind = "gaussian"
    regions = [0]
    center = 150.0
    sigma = 12.0

    [[stimulus]]
    variable = "d"
    kind = "series"
    regions = [2, 3]
    file = "s.h5"
    dataset = "/two"
    period = 4.0
    onset = 30.0

    [[stimulus]]
    variable = "d"
    kind = "series"
    regions = [5]
    file = "s.h5"
    dataset = "/one"
    period = 2.5
    amplitude = 0.5
    """)
        out = os.path.join(tmp, "stim.h5")
        ref.run_twinbrain(scenario, out)
        with h5py.File(out) as f:
            x = f["monitors/x/data"][:, 0]  # [T, N, 4]
        t = np.arange(STEPS) * DT            # start of each step
        inp = np.zeros((STEPS, N, 4))
        tt = t - 20.0
        pulse = ((tt >= 0) & (tt < 100.0) & (np.fmod(np.maximum(tt, 0), 25.0) < 5.0)) * 2.0
        inp[:, 1, 0] += pulse
        inp[:, 4, 0] += -0.5 * pulse
        on = (t >= 10.0) & (t < 200.0)
        inp[:, :, 1] += (on * 0.3 * np.sin(2 * math.pi * 40.0 / 1000.0 * (t - 10.0) + 0.5))[:, None]
        inp[:, 0, 2] += np.exp(-0.5 * ((t - 150.0) / 12.0) ** 2)
        i2 = np.floor((t - 30.0) / 4.0 + 1e-6).astype(int)
        ok2 = (t >= 30.0) & (i2 < 50)
        for j, n in enumerate((2, 3)):
            inp[ok2, n, 3] += series2[i2[ok2], j]
        i1 = np.floor(t / 2.5 + 1e-6).astype(int)
        ok1 = i1 < 40
        inp[ok1, 5, 3] += 0.5 * series1[i1[ok1]]
        want = DT * np.cumsum(inp, axis=0)
        for k, name in enumerate(("pulse_train", "sinusoid", "gaussian", "series")):
            err = np.abs(x[:, :, k] - want[:, :, k]).max()
            scale = np.abs(want[:, :, k]).max()
            check(f"{name} input", err <= 1e-10 * scale and scale > 0, f"max difference {err:.3g} of {scale:.3g}")
        check("regions not listed get nothing", np.all(x[:, [0, 2, 3, 5], 0] == 0) and np.all(x[:, 1:, 2] == 0))

        bad = subprocess.run([TB, "run", scenario, "-o", os.path.join(tmp, "bad.h5"), "--set",
                              f'stimulus=[{{variable = "a", kind = "gaussian", center = 1.0, sigma = 1.0, '
                              f'regions = ["{labels[2]}x"]}}]'], capture_output=True, text=True)
        check("an unknown region label is refused with a suggestion",
              bad.returncode == 2 and f"no region '{labels[2]}x'; did you mean '{labels[2]}'?" in bad.stderr, bad.stderr)
        bad = subprocess.run([TB, "check", scenario, "--set",
                              'stimulus=[{variable = "a", kind = "sinusoid", center = 1.0}]'], capture_output=True,
                             text=True)
        check("keys of another kind are refused",
              bad.returncode == 2 and "needs frequency" in bad.stderr and "center does not apply" in bad.stderr,
              bad.stderr)


suite.each(body)
suite.finish()
