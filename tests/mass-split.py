"""A single run's regions shared by several work-groups with several steps
per launch, and the region-lanes gather (kernels/mass.cl, docs/architecture.md).

On a CPU with fewer instances than compute units, a run of 64 regions or
more whose every delay is at least one step splits its regions over the
compute units by default, a launch running up to the shortest delay + 1
steps (at most 64) without barriers between work-groups. That must be the
same run, bit for bit, as one work-group (TWINBRAIN_MASS_LAYOUT=rlanes):
with chunks that are not a multiple of the steps per launch (7), with a
shortest delay of 0 (a launch per step), 2 (3 steps a launch) and 70
steps (the cap); the scalar decomposition split (`split`) equals its
unsplit run (`regions`) too; and region lanes (edges summed 8 at a time,
sorted by delay, the noise drawn as vectors) differ from one region per
work-item by rounding only. Wong-Wang E-I with Euler-Maruyama noise, on
70-region connectomes whose rows are not multiples of 8 long; double
precision, then single for the default against rlanes."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

TB = os.environ["TWINBRAIN"]
N = 70
DT = 0.1
SPEED = 2.0


def write_connectome(path, shortest):
    """Random sparse rows of 3 to 40 edges; delays `shortest` to shortest + 40
    steps (a self-edge of length 0 when shortest is 0)."""
    rng = np.random.default_rng(7)
    w = np.zeros((N, N))
    lengths = np.zeros((N, N))
    for i in range(N):
        src = rng.choice([j for j in range(N) if j != i], size=rng.integers(3, 41), replace=False)
        w[i, src] = rng.uniform(0.1, 1.0, size=len(src))
        lengths[i, src] = (shortest + rng.integers(0, 41, size=len(src))) * SPEED * DT
        lengths[i, src[0]] = shortest * SPEED * DT
    if shortest == 0:
        w[5, 5] = 0.5
    with h5py.File(path, "w") as f:
        f["weights"] = w
        f["tract_lengths"] = lengths
        f["region_labels"] = np.array([f"r{i}".encode() for i in range(N)])
        f["centres"] = rng.uniform(-50, 50, size=(N, 3))


def write_scenario(path, con, precision):
    with open(path, "w") as f:
        f.write(f"""[simulation]
duration = 30.0
dt = {DT}
seed = 5
precision = "{precision}"
[connectome]
file = "{con}"
speed = {SPEED}
[model]
plugin = "wong_wang_ei"
[model.parameters]
G = 1.0
[integrator]
method = "euler"
[integrator.noise]
kind = "additive"
sigma = {{ S_e = 0.01, S_i = 0.01 }}
[[monitor]]
name = "raw"
kind = "raw"
variables = ["S_e", "S_i"]
""")


def run(scenario, out, layout=None, chunk=None):
    env = dict(os.environ)
    env.pop("TWINBRAIN_MASS_LAYOUT", None)
    env.pop("TWINBRAIN_CHUNK_STEPS", None)
    if layout:
        env["TWINBRAIN_MASS_LAYOUT"] = layout
    if chunk:
        env["TWINBRAIN_CHUNK_STEPS"] = str(chunk)
    subprocess.run([TB, "run", scenario, "-o", out, "-q"], check=True, env=env)
    with h5py.File(out, "r") as f:
        return np.array(f["monitors/raw/data"])


suite = devices.Tests()
check = suite.check


def body(dev):
    cpu = "cpu" in dev.type.lower()
    with tempfile.TemporaryDirectory(prefix="tb-split-") as tmp:
        for shortest in (0, 2, 70):
            con = os.path.join(tmp, f"c{shortest}.h5")
            write_connectome(con, shortest)
            sc = os.path.join(tmp, f"s{shortest}.toml")
            write_scenario(sc, con, "double")
            out = lambda name: os.path.join(tmp, f"{name}_{shortest}.h5")  # noqa: E731
            one = run(sc, out("rlanes"), "rlanes")
            check(f"shortest delay {shortest}: the run moves", np.ptp(one[:, 0, :, 0]) > 1e-3)
            for layout, chunk in ((None, None), (None, 7), ("rsplit", 7), ("rsplit", None)):
                got = run(sc, out(f"{layout}{chunk}"), layout, chunk)
                what = f"{layout or 'the default layout'}{f', chunks of {chunk} steps' if chunk else ''}"
                d = np.abs(got - one).max()
                check(f"shortest delay {shortest}: {what} equals one work-group (rlanes) bit for bit", d == 0.0,
                      f"max difference {d:.3g}")
            regions = run(sc, out("regions"), "regions")
            d = np.abs(run(sc, out("split"), "split", 7) - regions).max()
            check(f"shortest delay {shortest}: split (one region per work-item) equals regions bit for bit",
                  d == 0.0, f"max difference {d:.3g}")
            scale = np.ptp(regions, axis=(0, 1, 2))
            rel = (np.abs(one - regions).max(axis=(0, 1, 2)) / scale).max()
            check(f"shortest delay {shortest}: region lanes against one region per work-item: rounding only",
                  rel <= 1e-9, f"max difference {rel:.3g} of the range")
        if cpu:
            sc = os.path.join(tmp, "single.toml")
            write_scenario(sc, os.path.join(tmp, "c2.h5"), "single")
            d = np.abs(run(sc, os.path.join(tmp, "sd.h5"), None, 7) - run(sc, os.path.join(tmp, "sr.h5"),
                                                                             "rlanes")).max()
            check("single precision: the default layout equals rlanes bit for bit", d == 0.0,
                  f"max difference {d:.3g}")


suite.each(body)
suite.finish()
