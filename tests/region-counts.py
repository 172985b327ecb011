"""Region counts that are not multiples of the vector width, in every layout.

Region lanes pad the regions to a multiple of 8 on the device; nothing the
user sees may depend on that padding. Every model plugin (with its default
coupling function, plus generic_2d_oscillator with `scaling` and
`sigmoidal`, so that every coupling function runs) and a model declared in
the scenario whose derivative reads `n_regions` and `convert_real(region)`
(an int vector over region lanes) run at 1, 7, 9
and 76 regions in each decomposition (TWINBRAIN_MASS_LAYOUT = regions,
rlanes, lanes, instances; split and rsplit for the models that read the
region count: kuramoto's 1/N and the declared model), with a constant
stimulus into the last region, a raw and a temporal-average monitor. Every
step must agree with the numpy reference of tests/reference.py to 1e-9 of
each variable's range. Then 8-instance sweeps of the two count-reading
models: each instance must agree with the reference, equal its run alone
in the same layout bit for bit, and its run alone in the default layout to
rounding (docs/scenario.md's promise).

TB_CASES="name ..." and TB_LAYOUTS="layout ..." narrow the run (debugging).
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import reference as ref  # noqa: E402

TB = os.environ["TWINBRAIN"]
COUNTS = [1, 7, 9, 76]
LAYOUTS = ["regions", "rlanes", "lanes", "instances"]
SPLIT_LAYOUTS = ["split", "rsplit"]
STEPS, AVG, TOL, STIM = 60, 4, 1e-9, 0.02
ERRORS = []  # every comparison's relative error


def spread(n):
    r = np.arange(n)
    return r, (r % 5) / 4.0


def lin(a, b):
    return lambda n: np.linspace(a, b, n)


# name: model (plugin, or "declared"), coupling function (None: the
# model's default), dt, method, x0(n) -> [V, N], params, coupling params
# (values: numbers, or functions of n giving one per region).
CASES = {
    "jansen_rit": dict(dt=0.1, method="heun", params=dict(mu=lin(0.15, 0.3)), cparams=dict(a=1.0),
                       x0=lambda r, f: [0 * f, 1.0 + f, 0 * f, 0.01 * (r % 7), 0 * f, 0 * f]),
    "wilson_cowan": dict(dt=0.1, method="heun", cparams=dict(a=0.5),
                         params=dict(P=lin(0.5, 2.0), shift_sigmoid=lambda n: (np.arange(n) % 3 != 0) * 1.0),
                         x0=lambda r, f: [0.1 + 0.3 * f, 0.05 + 0.1 * f]),
    "reduced_wong_wang": dict(dt=0.1, method="euler", params=dict(I_o=lin(0.25, 0.4)), cparams=dict(a=0.5),
                              x0=lambda r, f: [0.1 + 0.8 * f]),
    "wong_wang_ei": dict(dt=0.1, method="heun", cparams=dict(a=1.0),
                         params=dict(J_i=lin(0.8, 1.5), I_o=lin(0.3, 2.5), lamda=0.5),
                         x0=lambda r, f: [0.1 + 0.8 * f, 0.1 + 0.5 * f]),
    "hopf": dict(dt=0.05, method="rk4", params=dict(a=lin(-0.2, 0.5)), cparams=dict(a=0.2),
                 x0=lambda r, f: [0.5 * np.cos(r), 0.5 * np.sin(r)]),
    "kuramoto": dict(dt=0.05, method="euler", params=dict(omega=lin(0.5, 1.5)), cparams=dict(a=5.0),
                     x0=lambda r, f: [0.4 * r], split=True),
    "epileptor": dict(dt=0.05, method="rk4", cparams=dict(a=1.0),
                      params=dict(Kvf=0.5, Kf=0.5, Ks=-0.5, modification=lambda n: np.arange(n) % 2 * 1.0,
                                  x0=lin(-2.2, -1.4)),
                      x0=lambda r, f: [-0.5 + 0 * f, -9.0 + 0 * f, 2.0 + f, -1.0 + 0 * f, 1.0 + 0 * f, 0 * f]),
    "generic_2d_oscillator": dict(dt=0.1, method="heun", params=dict(a=lin(-2.0, 2.0)), cparams=dict(a=0.1),
                                  x0=lambda r, f: [1.0 + 0.5 * f, -0.5 * f]),
    "g2d_scaling": dict(model="generic_2d_oscillator", coupling="scaling", dt=0.1, method="heun",
                        params=dict(a=lin(-2.0, 2.0)), cparams=dict(a=0.1),
                        x0=lambda r, f: [1.0 + 0.5 * f, -0.5 * f]),
    "g2d_sigmoidal": dict(model="generic_2d_oscillator", coupling="sigmoidal", dt=0.1, method="heun",
                          params=dict(a=lin(-2.0, 2.0)), cparams=dict(a=2.0, sigma=1.0, midpoint=0.5),
                          x0=lambda r, f: [1.0 + 0.5 * f, -0.5 * f]),
    "larter_breakspear": dict(dt=0.1, method="heun", params=dict(Iext=lin(0.25, 0.35)),
                              cparams=dict(a=0.5, sigma=0.65), x0=lambda r, f: [0.2 * f - 0.1, 0.2 * f, 0.1 * f]),
    "montbrio_pazo_roxin": dict(dt=0.01, method="heun", params=dict(eta=lin(-5.0, -3.5), cv=0.2),
                                cparams=dict(a=1.0), x0=lambda r, f: [0.1 + 1.5 * f, -2.0 + 2.0 * f]),
    # reads the region count; kuramoto coupling, which divides by it too
    "declared": dict(model="declared", coupling="kuramoto", dt=0.05, method="heun",
                     params=dict(omega=lin(0.5, 1.5), k=2.0), cparams=dict(a=3.0), x0=lambda r, f: [0.4 * r],
                     split=True),
}
DECLARED = dict(name="counts", variables=["theta"], coupled=["theta"],
                derivatives=dict(theta="omega + coupling[0] - k * sin(theta) / n_regions"
                                 " + 0.001 * convert_real(region)"))


def declared_dfun(x, c, p):
    n = x.shape[1]
    return np.array([p["omega"] + c[0] - p["k"] * np.sin(x[0]) / n + 0.001 * np.arange(n)])


def model_of(case):
    return case.get("model", case["name"])


def values(d, n):
    return {k: (v(n) if callable(v) else v) for k, v in d.items()}


def connectome(path, n, seed):
    """Weights on about 40% of the pairs (a self-loop for a single region),
    in-strengths about 3 at most; tract lengths giving delays of a few steps."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.4)
    if n > 1:
        np.fill_diagonal(w, 0.0)
    else:
        w[0, 0] = 0.8
    w *= 3.0 / max(w.sum(axis=1).mean(), 3.0)  # in-strengths as for 16 regions
    tl = rng.uniform(0.5, 3.0, (n, n))
    tl = (tl + tl.T) / 2
    with h5py.File(path, "w") as f:
        f["weights"], f["tract_lengths"] = w, tl
    return w, tl


def speed(case):
    return 0.3 / case["dt"]  # delays of 2 to 10 steps whatever dt


def scenario(tmp, case, n, con, tag):
    model = dict(DECLARED) if model_of(case) == "declared" else dict(plugin=model_of(case))
    model["parameters"] = values(case["params"], n)
    variables = DECLARED["variables"] if model_of(case) == "declared" else ref.MODELS[model_of(case)]["variables"]
    coupling = dict(parameters=values(case["cparams"], n))
    if case.get("coupling"):
        coupling["function"] = case["coupling"]
    r, f = spread(n)
    doc = {
        "simulation": dict(duration=STEPS * case["dt"], dt=case["dt"], precision="double"),
        # sparse at every count (a single region's one edge would be dense):
        # one kernel build per case and layout serves all four counts
        "connectome": dict(file=con, speed=speed(case), storage="sparse"),
        "model": model,
        "coupling": coupling,
        "initial": {v: np.asarray(x, dtype=float) for v, x in zip(variables, case["x0"](r, f))},
        "integrator": dict(method=case["method"]),
        # sin(0 t + pi / 2) = 1: a constant input into the last region only
        "stimulus": [dict(variable=variables[0], kind="sinusoid", frequency=0.0, phase=np.pi / 2,
                          amplitude=STIM, regions=[float(n - 1)])],
        "monitor": [dict(name="raw", kind="raw", period=case["dt"]),
                    dict(name="tavg", kind="temporal_average", period=AVG * case["dt"])],
    }
    text = ref.write_scenario(os.path.join(tmp, f"{case['name']}_{n}_{tag}.toml"), doc)
    with open(text) as fh:  # a region index is an integer
        body = fh.read().replace(f"regions = [{float(n - 1)!r}]", f"regions = [{n - 1}]")
    with open(text, "w") as fh:
        fh.write(body)
    return text


def reference(case, n, w, tl, params=None, cparams=None):
    """[T, N, V] states and the temporal average, with the stimulus folded
    into the derivative (constant, so held over each step trivially)."""
    r, f = spread(n)
    p = values(params or case["params"], n)
    cp = values(cparams or case["cparams"], n)
    if model_of(case) == "declared":
        dfun, coupled, bounds, defaults = declared_dfun, [0], None, {}
        coupling = case["coupling"]
    else:
        m = ref.MODELS[model_of(case)]
        dfun, coupled, bounds, defaults = m["dfun"], m["coupled"], m["bounds"], m["defaults"]
        coupling = case.get("coupling") or m["coupling"]
    x0 = np.array(case["x0"](r, f), dtype=float)
    stim = np.zeros_like(x0)
    stim[0, n - 1] = STIM
    states = [x.copy() for x in ref.simulate(
        lambda x, c, pp: dfun(x, c, pp) + stim, x0, w, tl, speed(case), case["dt"], STEPS, coupled,
        params=dict(defaults, **p), coupling=coupling, cparams=cp, method=case["method"], bounds=bounds)]
    _, avg = ref.record(states, AVG)
    return np.array([x.T for x in states]), avg


def load(path):
    with h5py.File(path, "r") as f:
        return np.array(f["monitors/raw/data"]), np.array(f["monitors/tavg/data"])


def run(scen, out, layout=None, extra=()):
    env = dict(os.environ)
    env.pop("TWINBRAIN_MASS_LAYOUT", None)
    if layout:
        env["TWINBRAIN_MASS_LAYOUT"] = layout
    env["TWINBRAIN_DEBUG_LANES"] = "1"  # says so when a model falls back from vector lanes
    cmd = [TB, "run", scen, "-o", out, "--quiet", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return f"{' '.join(cmd)} (layout {layout}) exited {done.returncode}: {done.stderr.strip()}"
    if "no vector lanes" in done.stderr:
        return f"{scen} did not run in layout {layout}: {done.stderr.strip()}"
    return None


def compare(what, got, want):
    """A failure message, or None: every step and the average within TOL."""
    (raw, avg), (wraw, wavg) = got, want
    if raw.shape != wraw.shape or avg.shape != wavg.shape:
        return f"{what}: shapes {raw.shape}, {avg.shape} != {wraw.shape}, {wavg.shape}"
    err = max(ref.max_rel_err(raw, wraw, axis=-1), ref.max_rel_err(avg, wavg, axis=-1))
    ERRORS.append(err)
    return None if err <= TOL else f"{what}: relative error {err:.3g} > {TOL}"


def check_layout(tmp, case, layout, data):
    """One (case, layout): every region count against the reference."""
    fails = []
    for n in COUNTS:
        scen, (w, tl), want = data[n]
        out = os.path.join(tmp, f"{case['name']}_{n}_{layout}.h5")
        msg = run(scen, out, layout)
        if not msg:
            raw, avg = load(out)
            msg = compare(f"{case['name']}, {n} regions, layout {layout}", (raw[:, 0], avg[:, 0]), want)
        fails += [msg] if msg else []
    return fails


SWEPT = {"kuramoto": ("coupling.parameters.a", "cparams", "a"),
         "declared": ("model.parameters.k", "params", "k")}


def check_alone(scen, alone, key, value, got, layout, what):
    """Instance `got` [T, N, V] of a sweep against its run alone: exactly in
    the sweep's layout (a sweep's default on CPUs is instance lanes), to
    rounding in the default layout of a single run."""
    fails = []
    for alone_layout, tol in ((layout or "lanes", 0.0), (None, 1e-12)):
        msg = run(scen, alone, alone_layout, ["--set", f"{key}={value!r}"])
        if not msg:
            a = load(alone)[0][:, 0]
            diff = float(np.max(np.abs(a - got)) / max(np.max(np.abs(a)), 1e-300))
            where = f"layout {alone_layout}" if alone_layout else "the default layout"
            msg = None if diff <= tol else f"{what} != its run alone in {where}: {diff:.3g} > {tol}"
        fails += [msg] if msg else []
    return fails


def check_sweep(tmp, case, layout, data):
    """An 8-instance sweep: instances against the reference and their runs alone."""
    key, group, name = SWEPT[case["name"]]
    vals = [0.5 + 0.75 * i for i in range(8)]
    fails = []
    for n in COUNTS:
        scen, (w, tl), _ = data[n]
        out = os.path.join(tmp, f"{case['name']}_{n}_{layout}_sweep.h5")
        sweep = "sweep={\"%s\" = [%s]}" % (key, ", ".join(repr(v) for v in vals))
        msg = run(scen, out, layout, ["--set", sweep])
        if msg:
            fails.append(msg)
            continue
        raw, avg = load(out)
        for b in (0, 5):
            what = f"{case['name']}, {n} regions, sweep in layout {layout or 'default'}, instance {b}"
            groups = dict(params=case["params"], cparams=case["cparams"])
            groups[group] = dict(groups[group], **{name: vals[b]})
            msg = compare(what, (raw[:, b], avg[:, b]), reference(case, n, w, tl, **groups))
            fails += [msg] if msg else []
        alone = os.path.join(tmp, f"{case['name']}_{n}_{layout}_alone.h5")
        fails += check_alone(scen, alone, key, vals[5], raw[:, 5], layout, what)
    return fails


def main():
    only = os.environ.get("TB_CASES", "").split()
    layouts = os.environ.get("TB_LAYOUTS", "").split()
    cases = [dict(c, name=k) for k, c in CASES.items() if not only or k in only]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        cons = {n: os.path.join(tmp, f"c{n}.h5") for n in COUNTS}
        mats = {n: connectome(cons[n], n, seed=n) for n in COUNTS}
        data = {c["name"]: {n: (scenario(tmp, c, n, cons[n], "s"), mats[n], reference(c, n, *mats[n]))
                            for n in COUNTS} for c in cases}
        jobs = [(check_layout, c, layout) for c in cases
                for layout in LAYOUTS + (SPLIT_LAYOUTS if c.get("split") else [])
                if not layouts or layout in layouts]
        # a sweep's run alone reuses the kernels the first phase built
        sweeps = [(check_sweep, c, layout) for c in cases if c["name"] in SWEPT for layout in (None, "rlanes")
                  if not layouts or (layout or "lanes") in layouts]
        workers = min(2, os.cpu_count() or 1)
        for phase in (jobs, sweeps):
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                for fails in pool.map(lambda j: j[0](tmp, j[1], j[2], data[j[1]["name"]]), phase):
                    failures += fails
        print(f"{len(jobs)} case-layout pairs x {len(COUNTS)} region counts {COUNTS}, "
              f"{len(sweeps)} sweeps x {len(COUNTS)}: largest relative error {max(ERRORS, default=0):.3g}")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("PASS")


main()
