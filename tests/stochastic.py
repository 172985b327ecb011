"""Noise: the statistics of each kind, and reproducibility.

- Additive white noise on a drift-free variable: increments have mean 0 and
  variance sigma^2 dt; with TVB's nsig, variance 2 nsig dt.
- Multiplicative noise (Euler-Maruyama): relative increments have mean 0
  and variance sigma^2 dt.
- Ornstein-Uhlenbeck noise driving x' = eta: eta = dx/dt has variance
  sigma^2 / (2 tau) and lag-1 correlation exp(-dt / tau).
- A stochastic sweep gives, for each instance, exactly what that instance
  gives run alone, whatever the chunking, and on the other devices.
Every check on every device (tests/devices.py); the comparison across
devices once, from the first device's part.
Bounds are 6 standard errors, so a correct engine fails about once in 10^8."""
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
DT = 0.1
suite = devices.Tests()
failures = suite.failures
check = suite.check


def scenario(tmp, name, con, derivatives, noise, steps=2000, monitor="raw", extra=""):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(f"""
[simulation]
duration = {steps * DT}
dt = {DT}
seed = 11
[connectome]
file = "{con}"
[model]
name = "{name}"
variables = ["x"]
derivatives = {{ x = "{derivatives}" }}
[coupling]
function = "linear"
parameters = {{ a = 0.0 }}
[initial]
x = 1.0
[integrator]
method = "euler"
[integrator.noise]
{noise}
[[monitor]]
name = "m"
kind = "{monitor}"
{extra}
""")
    return path


def load(path, name="m"):
    with h5py.File(path, "r") as f:
        return np.array(f[f"monitors/{name}/data"])


def within(x, want, se, k=6.0):
    return abs(x - want) <= k * se


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "c.h5")
        subprocess.run([TB, "connectome", "generate", "--regions", "64", "--seed", "5", "-o", con], check=True,
                       capture_output=True)

        # additive, sigma and nsig
        for key, amp, var in (("sigma", 0.3, 0.09), ("nsig", 0.02, 0.04)):
            out = os.path.join(tmp, f"add_{key}.h5")
            ref.run_twinbrain(scenario(tmp, f"add_{key}", con, "0.0", f"{key} = {{ x = {amp} }}"), out)
            d = np.diff(load(out)[:, 0, :, 0], axis=0).ravel()
            n, v = d.size, var * DT
            check(f"additive ({key}) increment mean", within(d.mean(), 0.0, math.sqrt(v / n)), f"{d.mean():.3g}")
            check(f"additive ({key}) increment variance", within(d.var(), v, v * math.sqrt(2.0 / n)),
                  f"{d.var():.5g}, expected {v:.5g}")
            z = (d - d.mean()) / d.std()
            check(f"additive ({key}) increments are uncorrelated", abs(np.mean(z[1:] * z[:-1])) < 6 / math.sqrt(n),
                  f"lag-1 correlation {np.mean(z[1:] * z[:-1]):.3g}")

        # multiplicative
        out = os.path.join(tmp, "mult.h5")
        ref.run_twinbrain(scenario(tmp, "mult", con, "0.0", 'kind = "multiplicative"\nsigma = { x = 0.2 }', steps=500),
                          out)
        x = load(out)[:, 0, :, 0]
        rel = (np.diff(x, axis=0) / x[:-1]).ravel()
        v = 0.04 * DT
        check("multiplicative relative increment mean", within(rel.mean(), 0.0, math.sqrt(v / rel.size)),
              f"{rel.mean():.3g}")
        check("multiplicative relative increment variance", within(rel.var(), v, v * math.sqrt(2.0 / rel.size)),
              f"{rel.var():.5g}, expected {v:.5g}")

        # Ornstein-Uhlenbeck: eta = dx/dt
        tau, sig = 2.0, 0.5
        out = os.path.join(tmp, "ou.h5")
        ref.run_twinbrain(scenario(tmp, "ou", con, "0.0", f'kind = "ou"\ntau = {tau}\nsigma = {{ x = {sig} }}',
                                   steps=4000), out)
        eta = np.diff(load(out)[:, 0, :, 0], axis=0) / DT
        var = sig * sig / (2 * tau)
        rho = math.exp(-DT / tau)
        # samples are correlated: the effective count is n (1 - rho) / (1 + rho)
        n_eff = eta.size * (1 - rho) / (1 + rho)
        check("OU stationary variance", within(eta.var(), var, var * math.sqrt(2.0 / n_eff)),
              f"{eta.var():.5g}, expected {var:.5g}")
        r1 = np.mean((eta[1:] * eta[:-1])) / np.mean(eta * eta)
        check("OU lag-1 correlation", abs(r1 - rho) < 6 * math.sqrt((1 - rho * rho) / n_eff) + 1e-3,
              f"{r1:.5f}, expected {rho:.5f}")
        check("OU starts stationary", within(eta[0].var(), var, var * math.sqrt(2.0 / eta.shape[1]), k=8),
              f"variance of the first sample over regions {eta[0].var():.4g}")

        # Reproducibility of a stochastic sweep (Jansen-Rit, noise on y4). On a
        # CPU, six instances run one per work-group with 8 regions per
        # work-item as vector lanes; eight or more run 8 instances per
        # work-item (docs/scenario.md): each decomposition is exact against
        # itself, and decompositions agree to rounding.
        base = os.path.join(os.environ["TB_SRCDIR"], "examples", "jansen_rit.toml")
        common = ["--set", "simulation.duration=100", "--set", "integrator.noise.sigma={y4 = 0.5}",
                  "--set", "monitor=[{name = \"m\", kind = \"subsample\", period = 0.5, variables = [\"y0\", \"y4\"]}]"]
        lanes = dict(os.environ, TWINBRAIN_MASS_LAYOUT="lanes")
        for seeds, mode in (("[3, 4, 5]", "region lanes"), ("[3, 4, 5, 6]", "lanes")):
            sweep = ["--set", f'sweep={{"coupling.parameters.a" = [0.5, 1.5], "simulation.seed" = {seeds}}}']
            batched = os.path.join(tmp, f"batched_{mode}.h5")
            ref.run_twinbrain(base, batched, *common, *sweep)
            with h5py.File(batched, "r") as f:
                all_b = np.array(f["monitors/m/data"])
                a = f["sweep/coupling.parameters.a"][:]
                seeds_b = f["sweep/simulation.seed"][:]
            nb = all_b.shape[1]
            check(f"{mode}: sweep instance count", nb == (6 if mode == "region lanes" else 8), str(all_b.shape))
            check(f"{mode}: instances differ (independent seeds)", np.abs(all_b[:, 0] - all_b[:, 1]).max() > 1e-3)
            k = 4
            alone = ["--set", "sweep={}", "--set", f"coupling.parameters.a={a[k]}", "--set",
                     f"simulation.seed={int(seeds_b[k])}"]
            out = os.path.join(tmp, f"alone_{mode}.h5")
            subprocess.run([TB, "run", base, "-o", out, "-q", *common, *alone], check=True,
                           env=lanes if mode == "lanes" else os.environ)
            d = np.abs(load(out)[:, 0] - all_b[:, k]).max()
            check(f"{mode}: an instance of the sweep equals the same run alone (same decomposition)", d == 0.0,
                  f"max difference {d:.3g}")
            if mode == "region lanes":
                scalar = os.path.join(tmp, "alone_scalar.h5")
                subprocess.run([TB, "run", base, "-o", scalar, "-q", *common, *alone], check=True,
                               env=dict(os.environ, TWINBRAIN_MASS_LAYOUT="regions"))
                split = os.path.join(tmp, "alone_split.h5")
                subprocess.run([TB, "run", base, "-o", split, "-q", *common, *alone], check=True,
                               env=dict(os.environ, TWINBRAIN_MASS_LAYOUT="split"))
                d = np.abs(load(split)[:, 0] - load(scalar)[:, 0]).max()
                check("an instance split over two work-groups (a launch per step) gives the same run", d == 0.0,
                      f"max difference {d:.3g}")
                d = np.abs(load(scalar)[:, 0] - all_b[:, k]).max()
                scale = np.abs(all_b[:, k]).max()
                check("region lanes against one region per work-item: rounding only", d <= 1e-9 * scale,
                      f"max difference {d:.3g} (relative {d / scale:.3g})")
            if mode == "lanes":
                out = os.path.join(tmp, "alone_default.h5")
                ref.run_twinbrain(base, out, *common, *alone)
                d = np.abs(load(out)[:, 0] - all_b[:, k]).max()
                scale = np.abs(all_b[:, k]).max()
                check("lanes against one work-group per instance: rounding only", d <= 1e-9 * scale,
                      f"max difference {d:.3g} (relative {d / scale:.3g})")
            env = dict(os.environ, TWINBRAIN_CHUNK_STEPS="7")
            chunked = os.path.join(tmp, f"chunked_{mode}.h5")
            subprocess.run([TB, "run", base, "-o", chunked, "-q", *common, *sweep], env=env, check=True)
            d = np.abs(load(chunked) - all_b).max()
            check(f"{mode}: chunks of 7 steps give the same run", d == 0.0, f"max difference {d:.3g}")
            # every device draws the same numbers (compared once, from the
            # first device's part: a comparison across devices)
            others = [d for d in suite.devices if d.index != dev.index]
            if dev.first and others:
                for other in others:
                    out = os.path.join(tmp, f"dev{other.index}_{mode}.h5")
                    subprocess.run([TB, "run", base, "-o", out, "-q", *common, *sweep], env=other.env(), check=True)
                    d = np.abs(load(out) - all_b).max()
                    scale = np.abs(all_b).max()
                    check(f"{mode}: {other.label} gives the same draws (rounding only)", d <= 1e-12 * scale,
                          f"max difference {d:.3g} (relative {d / scale:.3g})")

        # Sparse and dense storage of the weights give the same run, bit for
        # bit, in every decomposition (a zero weight adds an exact zero).
        for layout in ("regions", "rlanes", "lanes"):
            env = dict(os.environ, TWINBRAIN_MASS_LAYOUT=layout)
            runs = []
            for storage in ("sparse", "dense"):
                out = os.path.join(tmp, f"storage_{storage}_{layout}.h5")
                subprocess.run([TB, "run", base, "-o", out, "-q", *common, "--set", f"connectome.storage={storage}"],
                               env=env, check=True)
                runs.append(load(out))
            d = np.abs(runs[0] - runs[1]).max()
            check(f"sparse and dense weights give the same run ({layout})", d == 0.0, f"max difference {d:.3g}")


suite.each(body)
suite.finish()
