"""Jansen-Rit on the synthetic 246-region connectome, with delays: the
engine against the numpy reference in tests/reference.py (same method, same
dt), for Heun, Euler and RK4, in double precision. Also checks that single
precision stays close, and that the temporal average is the mean of the
subsampled states it covers. On every device (tests/devices.py); a device
without fp64 runs the single-precision case only, saying so."""
import os
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import reference as ref  # noqa: E402

SRC = os.environ["TB_SRCDIR"]
CONNECTOME = os.path.join(SRC, "examples", "data", "synthetic_246.h5")
STEPS = 2000  # 200 ms at dt = 0.1: longer than the largest delay
DT = 0.1


def scenario(tmp, method, precision="double"):
    path = os.path.join(tmp, f"jr_{method}_{precision}.toml")
    with open(path, "w") as f:
        f.write(f"""
[simulation]
duration = {STEPS * DT}
dt = {DT}
precision = "{precision}"
[connectome]
file = "{CONNECTOME}"
speed = 3.0
[model]
plugin = "jansen_rit"
[model.parameters]
mu = 0.22
[coupling]
function = "sigmoidal_jansen_rit"
[initial]
y1 = 1.0
y3 = [{", ".join(str(0.01 * (i % 7)) for i in range(246))}]
[integrator]
method = "{method}"
[[monitor]]
name = "sub"
kind = "subsample"
period = 1.0
[[monitor]]
name = "tavg"
kind = "temporal_average"
period = 1.0
""")
    return path


REFERENCE = {}  # method: the numpy run, the same for every device


def reference(method):
    if method not in REFERENCE:
        REFERENCE[method] = _reference(method)
    return REFERENCE[method]


def _reference(method):
    w, tl = ref.read_connectome(CONNECTOME)
    n = w.shape[0]
    x0 = np.zeros((6, n))
    x0[1] = 1.0
    x0[3] = 0.01 * (np.arange(n) % 7)
    every = int(round(1.0 / DT))
    sub, avg, acc = [], [], np.zeros((6, n))
    for t, x in enumerate(ref.jansen_rit(w, tl, 3.0, DT, STEPS, x0, method=method), start=1):
        acc += x
        if t % every == 0:
            sub.append(x.T.copy())
            avg.append((acc / every).T.copy())
            acc[:] = 0
    return np.array(sub), np.array(avg)  # [T, N, V]


def load(path, name):
    with h5py.File(path, "r") as f:
        d = f[f"monitors/{name}/data"]
        return np.array(d)[:, 0], np.array(f[f"monitors/{name}/time"])


suite = devices.Tests()
failures = suite.failures


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        if suite.needs_fp64("Heun, Euler and RK4 in double precision"):
            for method in ("heun", "euler", "rk4"):
                out = os.path.join(tmp, f"{method}.h5")
                ref.run_twinbrain(scenario(tmp, method), out)
                want_sub, want_avg = reference(method)
                got_sub, time = load(out, "sub")
                got_avg, _ = load(out, "tavg")
                assert got_sub.shape == want_sub.shape, (got_sub.shape, want_sub.shape)
                assert np.allclose(time, DT * 10 * np.arange(1, len(time) + 1), rtol=0, atol=1e-9), time[:5]
                e_sub = ref.max_rel_err(got_sub, want_sub, axis=-1)
                e_avg = ref.max_rel_err(got_avg, want_avg, axis=-1)
                spread = float(np.max(np.ptp(want_sub[:, :, 0], axis=0)))
                print(f"{method}: max relative error {e_sub:.3g} (subsample), {e_avg:.3g} (temporal average); "
                      f"y0 swings over {spread:.3g} mV")
                if not (e_sub <= 1e-8 and e_avg <= 1e-8):
                    failures.append(f"{method}: relative error {max(e_sub, e_avg):.3g} > 1e-8")
                if spread < 1e-3:
                    failures.append(f"{method}: the dynamics are flat (y0 moves {spread}); the test would prove nothing")
        out = os.path.join(tmp, "single.h5")
        ref.run_twinbrain(scenario(tmp, "heun", "single"), out)
        got, _ = load(out, "sub")
        with h5py.File(out, "r") as f:
            assert f["monitors/sub/data"].dtype == np.float32
            assert f.attrs["precision"] == "single"
        e = ref.max_rel_err(got.astype(np.float64), reference("heun")[0], axis=-1)
        print(f"single precision: max relative error {e:.3g}")
        if not e <= 1e-3:
            failures.append(f"single precision drifts by {e:.3g} (> 1e-3)")


# single precision runs on a device without fp64 as well
suite.each(body, fp64=False)
suite.finish()
