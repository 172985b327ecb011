"""Feedback inhibition control of wong_wang_ei (fic = 1): a noiseless run
settles with every excitatory population at fic_rate, for one G and for a
sweep of G (each instance its own J_i), in every decomposition; and fic
refuses a coupling it cannot account for."""
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
CON = os.path.join(os.environ["TB_SRCDIR"], "examples", "data", "synthetic_246.h5")
GAMMA_E, TAU_E = 0.641 / 1000, 100.0
suite = devices.Tests()
failures = suite.failures
check = suite.check


def excitatory_rate(se):
    # at a fixed point dS_e = 0: H_e = S_e / (gamma_e tau_e (1 - S_e))
    return se / (GAMMA_E * TAU_E * (1 - se))


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        sc = os.path.join(tmp, "fic.toml")
        with open(sc, "w") as f:
            f.write(f"""
    [simulation]
    duration = 20000.0
    dt = 0.5
    [connectome]
    file = "{CON}"
    [model]
    plugin = "wong_wang_ei"
    [model.parameters]
    G = 0.1
    fic = 1.0
    fic_rate = 3.0
    [coupling]
    function = "linear"
    parameters = {{ a = 1.0 }}
    [initial]
    S_e = 0.2
    S_i = 0.05
    [integrator]
    method = "heun"
    [[monitor]]
    name = "s"
    kind = "subsample"
    period = 500.0
    """)
        for layout in ("", "regions"):
            out = os.path.join(tmp, f"one{layout}.h5")
            env = dict(os.environ, TWINBRAIN_MASS_LAYOUT=layout) if layout else os.environ
            subprocess.run([TB, "run", sc, "-o", out, "-q"], check=True, env=env)
            with h5py.File(out) as f:
                d = f["monitors/s/data"][:, 0]
            rate = excitatory_rate(d[-1, :, 0])
            settled = np.abs(d[-1] - d[-5]).max()
            check(f"one G{' (' + layout + ')' if layout else ''}: every region at 3 Hz",
                  np.abs(rate - 3.0).max() < 1e-6 and settled < 1e-9,
                  f"rates {rate.min():.9f}..{rate.max():.9f} Hz, last change {settled:.2g}")
        sweep = os.path.join(tmp, "sweep.h5")
        ref.run_twinbrain(sc, sweep, "--set", 'sweep={"model.parameters.G" = { linspace = [0.02, 0.2, 8] }}',
                          "--set", "simulation.duration=30000")
        with h5py.File(sweep) as f:
            d = f["monitors/s/data"][:]
        rate = excitatory_rate(d[-1, :, :, 0])
        # one J_i for all G could not hold every instance at 3 Hz: each has its own
        check("a sweep of 8 G values: every instance and region at 3 Hz", np.abs(rate - 3.0).max() < 1e-6,
              f"rates {rate.min():.9f}..{rate.max():.9f} Hz")
        bad = subprocess.run([TB, "run", sc, "-o", os.path.join(tmp, "bad.h5"), "--set", "coupling.function=sigmoidal"],
                             capture_output=True, text=True)
        check("fic refuses a non-linear coupling", bad.returncode == 2 and "needs linear coupling" in bad.stderr,
              bad.stderr.strip())
        noflag = os.path.join(tmp, "nofic.h5")
        ref.run_twinbrain(sc, noflag, "--set", "model.parameters.fic=0")
        with h5py.File(noflag) as f:
            rate = excitatory_rate(f["monitors/s/data"][-1, 0, :, 0])
        check("without fic the rates are not held at 3 Hz", np.abs(rate - 3.0).max() > 0.1,
              f"rates {rate.min():.3f}..{rate.max():.3f} Hz")


suite.each(body)
suite.finish()
