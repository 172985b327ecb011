"""Every mass-model plugin against The Virtual Brain itself (tvb-library,
not a reimplementation), on 76 regions with delays, in every layout.

TVB runs each model with its own classes (model, coupling, deterministic
integrator, Raw monitor) from the same constant history twinbrain starts
from, with its delay history switched to float64 (stock TVB keeps it in
float32, which alone differs by ~1e-5 of a range; docs/scenario.md).
twinbrain runs the same scenario in double precision in each layout
(TWINBRAIN_MASS_LAYOUT = regions, rlanes, lanes, instances; split and
rsplit too for kuramoto, whose coupling divides by the region count).
Every sample of every variable must agree with TVB to 1e-12 of the
variable's range over the run, and the trajectories must move.

The connectome: TVB's connectivity_76 when the tvb-data package is
installed (GPL: read at test time from the installed package, never
copied here), otherwise a synthetic 76-region connectome
(`twinbrain connectome generate`). Skips (77) without tvb-library
(scripts/install-deps installs it from PyPI).

TB_MODELS="name ..." and TB_LAYOUTS="layout ..." narrow the run."""
import os
import subprocess
import sys
import tempfile
import warnings

import h5py
import numpy as np

warnings.filterwarnings("ignore")
try:
    from tvb.datatypes import connectivity as tvb_connectivity
    from tvb.simulator import coupling as tvb_coupling
    from tvb.simulator import history as tvb_history
    from tvb.simulator import integrators as tvb_integrators
    from tvb.simulator import models as tvb_models
    from tvb.simulator import monitors as tvb_monitors
    from tvb.simulator import simulator as tvb_simulator
except ImportError as e:
    print(f"SKIP: TVB is not installed ({e}); pip install tvb-library (scripts/install-deps does)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import reference as ref  # noqa: E402

TB = os.environ["TWINBRAIN"]
TOL = 1e-12
LAYOUTS = os.environ.get("TB_LAYOUTS", "regions rlanes lanes instances").split()
SPLIT_LAYOUTS = ["split", "rsplit"]


def lin(a, b):
    return lambda n: np.linspace(a, b, n)


# twinbrain plugin: TVB model class, TVB coupling class, dt, steps, method,
# model parameters and coupling parameters (numbers or functions of the
# region count), x0(r, f) -> [V, N]; the cases of tests/region-counts.py.
CASES = {
    "jansen_rit": dict(tvb="JansenRit", cfun="SigmoidalJansenRit", dt=0.1, steps=1200, method="heun",
                       params=dict(mu=lin(0.15, 0.3)), cparams=dict(a=1.0),
                       x0=lambda r, f: [0 * f, 1.0 + f, 0 * f, 0.01 * (r % 7), 0 * f, 0 * f]),
    "wilson_cowan": dict(tvb="WilsonCowan", cfun="Linear", dt=0.1, steps=1200, method="heun",
                         params=dict(P=lin(0.5, 2.0), shift_sigmoid=lambda n: (np.arange(n) % 3 != 0) * 1.0),
                         cparams=dict(a=0.5), x0=lambda r, f: [0.1 + 0.3 * f, 0.05 + 0.1 * f]),
    "reduced_wong_wang": dict(tvb="ReducedWongWang", cfun="Linear", dt=0.1, steps=1200, method="euler",
                              params=dict(I_o=lin(0.25, 0.4)), cparams=dict(a=0.5),
                              x0=lambda r, f: [0.1 + 0.8 * f]),
    "wong_wang_ei": dict(tvb="ReducedWongWangExcInh", cfun="Linear", dt=0.1, steps=1200, method="heun",
                         params=dict(J_i=lin(0.8, 1.5), I_o=lin(0.3, 2.5), lamda=0.5), cparams=dict(a=1.0),
                         x0=lambda r, f: [0.1 + 0.8 * f, 0.1 + 0.5 * f]),
    "hopf": dict(tvb="SupHopf", cfun="Difference", dt=0.05, steps=2000, method="rk4",
                 params=dict(a=lin(-0.2, 0.5)), cparams=dict(a=0.2),
                 x0=lambda r, f: [0.5 * np.cos(r), 0.5 * np.sin(r)]),
    "kuramoto": dict(tvb="Kuramoto", cfun="Kuramoto", dt=0.05, steps=2000, method="euler",
                     params=dict(omega=lin(0.5, 1.5)), cparams=dict(a=5.0), x0=lambda r, f: [0.4 * r],
                     split=True),
    "epileptor": dict(tvb="Epileptor", cfun="Difference", dt=0.05, steps=2000, method="rk4",
                      params=dict(Kvf=0.5, Kf=0.5, Ks=-0.5, modification=lambda n: np.arange(n) % 2 * 1.0,
                                  x0=lin(-2.2, -1.4)), cparams=dict(a=1.0),
                      x0=lambda r, f: [-0.5 + 0 * f, -9.0 + 0 * f, 2.0 + f, -1.0 + 0 * f, 1.0 + 0 * f, 0 * f]),
    "generic_2d_oscillator": dict(tvb="Generic2dOscillator", cfun="Linear", dt=0.1, steps=1200, method="heun",
                                  params=dict(a=lin(-2.0, 2.0)), cparams=dict(a=0.1),
                                  x0=lambda r, f: [1.0 + 0.5 * f, -0.5 * f]),
    # chaotic here: a last-bit difference of tanh or exp (numpy's and the
    # device's) grows to 1e-12 of the range by step ~500 and 2e-11 by step
    # 800, so 300 steps, with delays of up to 111 steps
    "larter_breakspear": dict(tvb="LarterBreakspear", cfun="HyperbolicTangent", dt=0.1, steps=300, speed=12.0,
                              method="heun", params=dict(Iext=lin(0.25, 0.35)), cparams=dict(a=0.5, sigma=0.65),
                              x0=lambda r, f: [0.2 * f - 0.1, 0.2 * f, 0.1 * f]),
    "montbrio_pazo_roxin": dict(tvb="MontbrioPazoRoxin", cfun="Linear", dt=0.01, steps=3000, method="heun",
                                speed=10.0, params=dict(eta=lin(-5.0, -3.5), cv=0.2), cparams=dict(a=1.0),
                                x0=lambda r, f: [0.1 + 1.5 * f, -2.0 + 2.0 * f]),
}
INTEGRATORS = {"euler": "EulerDeterministic", "heun": "HeunDeterministic",
               "rk4": "RungeKutta4thOrderDeterministic"}
# twinbrain parameters that TVB's class lacks, at values that make them inert
ONLY_HERE = {"wong_wang_ei": {"fic": 0.0, "fic_rate": None}}


def values(d, n):
    return {k: (v(n) if callable(v) else v) for k, v in d.items()}


def float64_history():
    """TVB declares its history buffers, and the weights its dense
    couplings multiply them by, float32 ('f'); make them float64."""
    for cls in (tvb_history.BaseHistory, tvb_history.DenseHistory, tvb_history.SparseHistory):
        for desc in vars(cls).values():
            if getattr(desc, "dtype", None) == "f":
                desc.dtype = "d"


def connectome(tmp):
    """(path for twinbrain, weights, tract lengths, what it is)."""
    path = os.path.join(tmp, "c76.h5")
    try:
        import tvb_data  # noqa: F401  (GPL data: used here, never copied into the repository)
        zips = [os.path.join(d, "connectivity", "connectivity_76.zip") for d in tvb_data.__path__]
        zips = [z for z in zips if os.path.exists(z)]
    except ImportError:
        zips = []
    if zips:
        subprocess.run([TB, "connectome", "import", zips[0], "-o", path], check=True, capture_output=True)
        what = f"TVB's connectivity_76 ({zips[0]})"
    else:
        subprocess.run([TB, "connectome", "generate", "--regions", "76", "--seed", "3", "-o", path], check=True,
                       capture_output=True)
        what = "a synthetic 76-region connectome (tvb-data is not installed, so not TVB's connectivity_76)"
    w, tl = ref.read_connectome(path)
    return path, w, tl, what


def tvb_run(name, case, w, tl):
    """TVB's raw samples [T, N, V], from a constant history of x0."""
    n = w.shape[0]
    r, f = np.arange(n), (np.arange(n) % 5) / 4.0
    x0 = np.array(case["x0"](r, f), dtype=float)
    speed = case.get("speed", 3.0)
    conn = tvb_connectivity.Connectivity(weights=w, tract_lengths=tl, speed=np.array([speed]),
                                         centres=np.zeros((n, 3)), region_labels=np.array([f"r{i}" for i in r]))
    conn.configure()
    params = values(case["params"], n)
    for k, v in ONLY_HERE.get(name, {}).items():
        params.pop(k, None)
    cls = getattr(tvb_models, case["tvb"])
    kw = {}
    for k, v in params.items():
        v = np.atleast_1d(np.asarray(v, dtype=float))
        v = v.astype(getattr(cls, k).dtype)  # TVB's flags (modification, shift_sigmoid) are bool
        kw[k] = v
    model = cls(**kw)
    model.variables_of_interest = tuple(model.state_variables)
    cparams = dict(case["cparams"])
    if case["cfun"] == "Kuramoto":
        # TVB 2.10's Kuramoto coupling divides by gx.shape[0], which with its
        # sparse coupling is the number of coupled variables (1), not the
        # number of regions: its a is twinbrain's a / N (docs/scenario.md)
        cparams["a"] = cparams["a"] / n
    cfun = getattr(tvb_coupling, case["cfun"])(**{k: np.array([float(v)]) for k, v in cparams.items()})
    integ = getattr(tvb_integrators, INTEGRATORS[case["method"]])(dt=case["dt"])
    horizon = int(ref.delay_steps(tl[w != 0], speed, case["dt"]).max()) + 1
    ic = np.repeat(x0[np.newaxis, :, :, np.newaxis], horizon, axis=0)
    sim = tvb_simulator.Simulator(model=model, connectivity=conn, coupling=cfun, integrator=integ,
                                  monitors=(tvb_monitors.Raw(),), initial_conditions=ic,
                                  simulation_length=case["steps"] * case["dt"])
    sim.configure()
    data = [d for ((_, d),) in sim()]
    return np.array(data)[:, :, :, 0].transpose(0, 2, 1), x0


def scenario(tmp, name, case, path, x0):
    n = x0.shape[1]
    variables = ref.MODELS[name]["variables"]
    doc = {
        "simulation": dict(duration=case["steps"] * case["dt"], dt=case["dt"], precision="double"),
        "connectome": dict(file=path, speed=case.get("speed", 3.0)),
        "model": dict(plugin=name, parameters=values(case["params"], n)),
        "coupling": dict(parameters=values(case["cparams"], n)),
        "initial": {v: x0[i] for i, v in enumerate(variables)},
        "integrator": dict(method=case["method"]),
        "monitor": [dict(name="raw", kind="raw", period=case["dt"])],
    }
    return ref.write_scenario(os.path.join(tmp, f"{name}.toml"), doc)


def main():
    only = os.environ.get("TB_MODELS", "").split()
    suite = devices.Tests()
    check = suite.check
    float64_history()
    with tempfile.TemporaryDirectory() as tmp:
        path, w, tl, what = connectome(tmp)
        print(f"connectome: {what}")
        want = {}
        for name, case in CASES.items():
            if not only or name in only:
                want[name] = tvb_run(name, case, w, tl)

        def body(dev):
            for name, case in CASES.items():
                if only and name not in only:
                    continue
                tvb_raw, x0 = want[name]
                scale = np.maximum(np.ptp(tvb_raw, axis=(0, 1)), 1e-300)  # per variable
                moves = np.ptp(tvb_raw, axis=0).max(axis=0) / np.maximum(np.abs(tvb_raw).max(axis=(0, 1)), 1e-300)
                check(f"{name}: TVB's trajectory moves", moves.min() > 1e-3, f"least-moving variable: {moves.min():.3g}")
                sc = scenario(tmp, name, case, path, x0)
                for layout in LAYOUTS + (SPLIT_LAYOUTS if case.get("split") else []):
                    out = os.path.join(tmp, f"{name}_{layout}.h5")
                    env = dict(os.environ, TWINBRAIN_MASS_LAYOUT=layout)
                    done = subprocess.run([TB, "run", sc, "-o", out, "--quiet"], capture_output=True, text=True,
                                          env=env)
                    if done.returncode != 0:
                        check(f"{name} [{layout}] runs", False, done.stderr.strip()[:300])
                        continue
                    with h5py.File(out, "r") as f:
                        got = np.array(f["monitors/raw/data"])[:, 0]
                    if got.shape != tvb_raw.shape:
                        check(f"{name} [{layout}] shape", False, f"{got.shape} != TVB {tvb_raw.shape}")
                        continue
                    err = float(np.max(np.abs(got - tvb_raw) / scale))
                    check(f"{name} [{layout}] as TVB", err <= TOL,
                          f"max error {err:.3g} of the range over {case['steps']} steps x 76 regions")

        suite.each(body)
    suite.finish()


main()
