"""A sweep of 10,000 instances runs in one device run: every instance has
its values in /sweep, its rows in the monitors, finite, and instance 4321
equals the same scenario run alone with its values (same decomposition)."""
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


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "c.h5")
        subprocess.run([TB, "connectome", "generate", "--regions", "68", "--seed", "5", "-o", con], check=True,
                       capture_output=True)
        sc = os.path.join(tmp, "s.toml")
        with open(sc, "w") as f:
            f.write(f"""
    [simulation]
    duration = 50.0
    dt = 0.5
    [connectome]
    file = "{con}"
    [model]
    plugin = "wong_wang_ei"
    [coupling]
    function = "linear"
    parameters = {{ a = 1.0 }}
    [integrator.noise]
    sigma = {{ S_e = 0.01 }}
    [[monitor]]
    name = "tavg"
    period = 5.0
    variables = ["S_e"]
    [sweep]
    "model.parameters.G" = {{ linspace = [0.0, 0.5, 100] }}
    "simulation.seed" = {{ linspace = [1, 100, 100] }}
    """)
        out = os.path.join(tmp, "big.h5")
        ref.run_twinbrain(sc, out)
        with h5py.File(out) as f:
            d = f["monitors/tavg/data"][:]
            G = f["sweep/model.parameters.G"][:]
            seed = f["sweep/simulation.seed"][:]
            n = int(f.attrs["instances"])
        check("10,000 instances in one run", n == 10000 and d.shape == (10, 10000, 68, 1), f"{n}, {d.shape}")
        check("every value finite", bool(np.isfinite(d).all()))
        check("the sweep's values, row-major over the axes", G[4321] == 0.5 * 43 / 99 and seed[4321] == 22,
              f"G {G[4321]}, seed {seed[4321]}")
        alone = os.path.join(tmp, "alone.h5")
        subprocess.run([TB, "run", sc, "-o", alone, "-q", "--set", "sweep={}", "--set", f"model.parameters.G={G[4321]!r}",
                        "--set", "simulation.seed=22"], check=True, env=dict(os.environ, TWINBRAIN_MASS_LAYOUT="lanes"))
        with h5py.File(alone) as f:
            a = f["monitors/tavg/data"][:, 0]
        diff = np.abs(a - d[:, 4321]).max()
        check("instance 4321 equals its run alone", diff == 0.0, f"max difference {diff:.3g}")


suite.each(body)
suite.finish()
