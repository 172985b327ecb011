"""The bold, eeg and fc monitors against independent numpy computations.

- bold: the Balloon-Windkessel ODE (Euler at dt, as documented) driven by
  the same input the engine saw matches to 1e-9; the response to a brief
  impulse peaks at 3.1 s, crosses zero at 7.2 s and undershoots at 9.1 s
  with the default constants (docs/scenario.md).
- eeg: gain x the temporal average of the variable, per sample.
- fc: numpy's corrcoef of the source's samples in the window, and the score
  (Pearson r of upper triangles) against an empirical FC, per instance."""
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
suite = devices.Tests()
failures = suite.failures
check = suite.check


def balloon(z, dt_ms, kappa=0.65, gamma=0.41, tau=0.98, alpha=0.32, E0=0.34, V0=0.02):
    """BOLD after every step for inputs z[t] (the state after step t)."""
    k1, k2, k3 = 7 * E0, 2.0, 2 * E0 - 0.2
    h = dt_ms * 1e-3
    s = np.zeros(z.shape[1:])
    f, v, q = np.ones_like(s), np.ones_like(s), np.ones_like(s)
    out = np.empty(z.shape)
    for t in range(z.shape[0]):
        iv = v ** (1 / alpha)
        dq = (f * (1 - (1 - E0) ** (1 / f)) / E0 - iv * q / v) / tau
        s, f, v, q = s + h * (z[t] - kappa * s - gamma * (f - 1)), f + h * s, v + h * (f - iv) / tau, q + h * dq
        out[t] = V0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v))
    return out


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "c.h5")
        subprocess.run([TB, "connectome", "generate", "--regions", "12", "--seed", "4", "-o", con], check=True,
                       capture_output=True)

        # --- bold: a brief impulse in x (x(0) = 1, tau = 1 ms: an area of 1 ms)
        sc = write(os.path.join(tmp, "bold.toml"), f"""
    [simulation]
    duration = 15000.0
    dt = 0.5
    [connectome]
    file = "{con}"
    [model]
    name = "impulse"
    variables = ["x"]
    derivatives = {{ x = "-x / tau * (1.0 + 0.1 * region)" }}
    [model.parameters]
    tau = 1.0
    [coupling]
    function = "linear"
    parameters = {{ a = 0.0 }}
    [initial]
    x = 1.0
    [integrator]
    method = "rk4"
    [[monitor]]
    name = "bold"
    kind = "bold"
    period = 100.0
    [[monitor]]
    name = "x"
    kind = "raw"
    """)
        out = os.path.join(tmp, "bold.h5")
        ref.run_twinbrain(sc, out)
        with h5py.File(out) as f:
            bold, bt = f["monitors/bold/data"][:, 0, :, 0], f["monitors/bold/time"][:]
            x = f["monitors/x/data"][:, 0, :, 0]
            check("bold dataset layout", f["monitors/bold/data"].attrs["kind"] == "bold" and bold.shape == (150, 12))
        want = balloon(x, 0.5)[199::200]
        err = ref.max_rel_err(bold, want, axis=-1)
        check("bold matches the Balloon-Windkessel reference", err <= 1e-9, f"max relative error {err:.3g}")
        b0 = bold[:, 0]
        peak = bt[b0.argmax()]
        after = b0[b0.argmax():]
        cross = bt[b0.argmax() + np.argmax(after < 0)]
        trough = bt[b0.argmax() + after.argmin()]
        check("bold impulse response peaks at 3.1 s", abs(peak - 3100) <= 100, f"peak at {peak:.0f} ms")
        check("bold returns through zero at 7.2 s", abs(cross - 7200) <= 100, f"zero crossing at {cross:.0f} ms")
        check("bold undershoots, deepest at 9.1 s", abs(trough - 9100) <= 100 and after.min() < -0.1 * b0.max(),
              f"trough at {trough:.0f} ms, depth {after.min() / b0.max():.2f} of the peak")

        # --- eeg and fc on Jansen-Rit with noise, a 2-instance sweep
        gain = np.random.default_rng(1).normal(size=(5, 12))
        emp = np.corrcoef(np.random.default_rng(2).normal(size=(12, 40)))
        with h5py.File(os.path.join(tmp, "gain.h5"), "w") as f:
            f["gain"] = gain
            f["labels"] = [f"E{i}".encode() for i in range(5)]
        with h5py.File(os.path.join(tmp, "emp.h5"), "w") as f:
            f["fc"] = emp
        sc = write(os.path.join(tmp, "jr.toml"), f"""
    [simulation]
    duration = 400.0
    dt = 0.1
    [connectome]
    file = "{con}"
    [model]
    plugin = "jansen_rit"
    [integrator.noise]
    sigma = {{ y4 = 1.0 }}
    [[monitor]]
    name = "tavg"
    kind = "temporal_average"
    period = 2.0
    variables = ["y0", "y1"]
    [[monitor]]
    name = "eeg"
    kind = "eeg"
    period = 2.0
    variables = ["y1"]
    gain = "gain.h5"
    dataset = "/gain"
    [[monitor]]
    name = "fc"
    kind = "fc"
    source = "tavg"
    variable = "y1"
    start = 100.0
    end = 400.0
    empirical = "emp.h5"
    [sweep]
    "simulation.seed" = [1, 2]
    """)
        out = os.path.join(tmp, "jr.h5")
        run = subprocess.run([TB, "run", sc, "-o", out], capture_output=True, text=True)
        check("the eeg/fc run succeeds", run.returncode == 0, run.stderr)
        with h5py.File(out) as f:
            tavg = f["monitors/tavg/data"][:]          # [T, B, N, 2]
            eeg = f["monitors/eeg/data"][:]            # [T, B, E, 1]
            labels = [s.decode() if isinstance(s, bytes) else s for s in f["monitors/eeg/sensor_labels"][:]]
            fc = f["monitors/fc/data"][:]              # [1, B, N, N]
            t = f["monitors/tavg/time"][:]
            score = f["monitors/fc/score"][0]
            check("fc layout", fc.shape == (1, 2, 12, 12) and f["monitors/fc/time"][0] == 400.0, str(fc.shape))
        want = np.einsum("en,tbn->tbe", gain, tavg[:, :, :, 1])
        err = ref.max_rel_err(eeg[:, :, :, 0], want, axis=-1)
        check("eeg = gain x temporal average", err <= 1e-12 and eeg.shape == (200, 2, 5, 1), f"max relative error {err:.3g}")
        check("eeg sensor labels", labels == [f"E{i}" for i in range(5)])
        win = (t > 100.0) & (t <= 400.0)
        for b in range(2):
            c = np.corrcoef(tavg[win, b, :, 1].T)
            e = np.abs(fc[0, b] - c).max()
            check(f"fc of instance {b} = corrcoef over the window", e <= 1e-9, f"max difference {e:.3g}")
            iu = np.triu_indices(12, 1)
            r = np.corrcoef(c[iu], emp[iu])[0, 1]
            check(f"fc score of instance {b}", abs(score[b] - r) <= 1e-9, f"{score[b]:.6f} vs {r:.6f}")
        check("instances have their own FC", np.abs(fc[0, 0] - fc[0, 1]).max() > 1e-3)
        best = int(np.argmax(score))
        check("run prints the best fit first", f"instance {best}: simulation.seed={best + 1}" in
              run.stdout.split("best instances:")[-1].splitlines()[1], run.stdout)


suite.each(body)
suite.finish()
