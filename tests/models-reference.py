"""Every mass-model plugin against the numpy reference of tests/reference.py.

For each model: the plugin declares what the reference expects (parameter
names and TVB defaults, state variables, coupled variables, default
coupling) and docs/models.md documents every parameter with its default; then the engine runs a 16-region synthetic connectome with
delays in double precision, with per-region parameters and initial values
chosen so that the dynamics move (and, for wong_wang_ei, so that the state
bounds are hit), and every step of every variable must agree with the
reference to 1e-8 relative (to the variable's largest magnitude), as must
a temporal average. The trajectory must actually move, so a flat line
cannot pass.

TB_MODELS="name name ..." limits the run to some models (for debugging).
The declarations and docs are checked once; the runs on every device
(tests/devices.py), a device without fp64 skipping them, saying so.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import reference as ref  # noqa: E402

N = 16
TOL = 1e-8
AVG = 10  # steps per temporal-average sample

r = np.arange(N)
f = (r % 5) / 4.0  # a per-region spread in [0, 1]
z0 = 2.0 + 1.0 * f

# name: dt (ms), steps, method (and `also` these), speed (mm/ms), initial
# state [V, N], model parameters, coupling parameters (of the model's default
# coupling function).
CASES = {
    "jansen_rit": dict(
        dt=0.1, steps=2000, method="heun", x0=[0 * f, 1.0 + f, 0 * f, 0.01 * (r % 7), 0 * f, 0 * f],
        params=dict(mu=np.linspace(0.15, 0.3, N)), cparams=dict(a=1.0)),
    "wilson_cowan": dict(
        dt=0.1, steps=2000, method="heun", x0=[0.1 + 0.3 * f, 0.05 + 0.1 * f],
        params=dict(P=np.linspace(0.5, 2.0, N), shift_sigmoid=(r % 3 != 0).astype(float)), cparams=dict(a=0.5)),
    "reduced_wong_wang": dict(
        dt=0.1, steps=2000, method="euler", x0=[0.1 + 0.8 * f],
        params=dict(I_o=np.linspace(0.25, 0.4, N)), cparams=dict(a=0.5)),
    # high I_o drives S_i against its upper bound in some regions: the clamp is
    # exercised, after every stage of every method
    "wong_wang_ei": dict(
        dt=0.1, steps=2000, method="heun", also=["euler", "rk4"], x0=[0.1 + 0.8 * f, 0.1 + 0.5 * f],
        params=dict(J_i=np.linspace(0.8, 1.5, N), I_o=np.linspace(0.3, 2.5, N), lamda=0.5),
        cparams=dict(a=1.0), clamps=True),
    "hopf": dict(
        dt=0.05, steps=2000, method="rk4", x0=[0.5 * np.cos(r), 0.5 * np.sin(r)],
        params=dict(a=np.linspace(-0.2, 0.5, N)), cparams=dict(a=0.2)),
    "kuramoto": dict(
        dt=0.05, steps=2000, method="euler", x0=[0.4 * r],
        params=dict(omega=np.linspace(0.5, 1.5, N)), cparams=dict(a=5.0)),
    "epileptor": dict(
        dt=0.05, steps=2000, method="rk4", x0=[-0.5 + 0 * f, -9.0 + 0 * f, z0, -1.0 + 0 * f, 1.0 + 0 * f, 0 * f],
        params=dict(Kvf=0.5, Kf=0.5, Ks=-0.5, modification=(r % 2).astype(float), x0=np.linspace(-2.2, -1.4, N)),
        cparams=dict(a=1.0)),
    "generic_2d_oscillator": dict(
        dt=0.1, steps=2000, method="heun", x0=[1.0 + 0.5 * f, -0.5 * f],
        params=dict(a=np.linspace(-2.0, 2.0, N)), cparams=dict(a=0.1)),
    # a = QV_max / 2, sigma = d_V: the coupling carries each source's firing rate Q_V
    "larter_breakspear": dict(
        dt=0.1, steps=2000, method="heun", x0=[0.2 * f - 0.1, 0.2 * f, 0.1 * f],
        params=dict(Iext=np.linspace(0.25, 0.35, N)), cparams=dict(a=0.5, sigma=0.65)),
    "montbrio_pazo_roxin": dict(
        dt=0.01, steps=3000, method="heun", speed=10.0, x0=[0.1 + 1.5 * f, -2.0 + 2.0 * f],
        params=dict(eta=np.linspace(-5.0, -3.5, N), cv=0.2), cparams=dict(a=1.0)),
}


def plugin_listing():
    out = subprocess.run([os.environ["TWINBRAIN"], "plugins", "--json"], capture_output=True, text=True, check=True)
    return {p["name"]: p for p in json.loads(out.stdout)["plugins"]}


def check_declaration(name, listed, failures):
    """The plugin declares what the reference was written from."""
    m = ref.MODELS[name]
    got = {p["name"]: p["default"] for p in listed["parameters"]}
    if set(got) != set(m["defaults"]):
        failures.append(f"{name}: parameters {sorted(got)} != reference {sorted(m['defaults'])}")
    for k, v in m["defaults"].items():
        if k in got and got[k] != v:
            failures.append(f"{name}: default {k} = {got[k]}, reference (TVB) {v}")
    names = [v["name"] for v in listed["state_variables"]]
    if names != m["variables"]:
        failures.append(f"{name}: state variables {names} != {m['variables']}")
    # bounds as listed (JSON null for an open end) against the reference's clamps
    want_bounds = [b if b is not None else (None, None)
                   for b in (m["bounds"] or [None] * len(names))]
    got_bounds = [tuple(v["bounds"]) for v in listed["state_variables"]]
    if [tuple(None if x is None or not np.isfinite(x) else x for x in b) for b in want_bounds] != got_bounds:
        failures.append(f"{name}: bounds {got_bounds} != reference {want_bounds}")
    want_cv = [m["variables"][i] for i in m["coupled"]]
    if listed["coupled"] != want_cv:
        failures.append(f"{name}: coupled {listed['coupled']} != {want_cv}")


def check_docs(name, listed, failures):
    """docs/models.md has the model's section, with every parameter's row and default."""
    with open(os.path.join(os.environ["TB_SRCDIR"], "docs", "models.md")) as f:
        text = f.read()
    start = text.find(f"\n## {name} (")
    if start < 0:
        failures.append(f"docs/models.md has no section '## {name} (...)'")
        return
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)]
    for p in listed["parameters"]:
        if f"| `{p['name']}` | {p['default']:g} |" not in section:
            failures.append(f"docs/models.md, {name}: no table row for parameter {p['name']} = {p['default']:g}")
    for v in (x["name"] for x in listed["state_variables"]):
        if f"| `{v}` |" not in section:
            failures.append(f"docs/models.md, {name}: no table row for state variable {v}")


def scenario(tmp, name, case, connectome):
    m = ref.MODELS[name]
    dt, steps = case["dt"], case["steps"]
    doc = {
        "simulation": dict(duration=steps * dt, dt=dt, precision="double"),
        "connectome": dict(file=connectome, speed=case.get("speed", 3.0)),
        # the coupling function is left to the plugin's default: that is checked too
        "model": dict(plugin=name, parameters=case["params"]),
        "coupling": dict(parameters=case["cparams"]),
        "initial": {v: case["x0"][i] for i, v in enumerate(m["variables"])},
        "integrator": dict(method=case["method"]),
        "monitor": [dict(name="raw", kind="raw", period=dt),
                    dict(name="tavg", kind="temporal_average", period=AVG * dt)],
    }
    return ref.write_scenario(os.path.join(tmp, f"{name}_{case['method']}.toml"), doc)


def load(path, name):
    with h5py.File(path, "r") as f:
        return np.array(f[f"monitors/{name}/data"])[:, 0], np.array(f[f"monitors/{name}/time"])


REFERENCE = {}  # (model, method): the reference's states and stats


def check_model(tmp, name, case, connectome, w, tl, failures):
    longest = ref.delay_steps(tl[w != 0], case.get("speed", 3.0), case["dt"]).max()
    if case["steps"] < 2 * longest:
        failures.append(f"{name}: {case['steps']} steps barely outlast the longest delay ({longest} steps)")
    t0 = time.time()
    out = os.path.join(tmp, f"{name}_{case['method']}.h5")
    ref.run_twinbrain(scenario(tmp, name, case, connectome), out)
    t_engine = time.time() - t0
    got_raw, time_raw = load(out, "raw")
    got_avg, _ = load(out, "tavg")
    t0 = time.time()
    key = (name, case["method"])
    if key not in REFERENCE:  # the same numpy run serves every device
        stats = {}
        states = [x.copy() for x in ref.run_model(
            name, w, tl, case.get("speed", 3.0), case["dt"], case["steps"], np.array(case["x0"], dtype=float),
            params=case["params"], cparams=case["cparams"], method=case["method"], stats=stats)]
        REFERENCE[key] = states, stats
    states, stats = REFERENCE[key]
    t_ref = time.time() - t0
    want_raw = np.array([x.T for x in states])  # [T, N, V]
    _, want_avg = ref.record(states, AVG)
    if got_raw.shape != want_raw.shape or got_avg.shape != want_avg.shape:
        failures.append(f"{name}: shapes {got_raw.shape}, {got_avg.shape} != {want_raw.shape}, {want_avg.shape}")
        return
    if not np.allclose(time_raw, case["dt"] * np.arange(1, case["steps"] + 1), rtol=0, atol=1e-9):
        failures.append(f"{name}: raw monitor times are off: {time_raw[:3]}")
    if not np.all(np.isfinite(want_raw)):
        failures.append(f"{name}: the reference itself diverges; pick other test parameters")
        return
    e_raw = ref.max_rel_err(got_raw, want_raw, axis=-1)
    e_avg = ref.max_rel_err(got_avg, want_avg, axis=-1)
    # how far each variable travels, relative to its largest magnitude: a flat line fails
    scale = np.maximum(np.max(np.abs(want_raw), axis=(0, 1)), 1e-300)
    moves = np.max(np.ptp(want_raw, axis=0), axis=0) / scale  # per variable
    print(f"{name:22s} {case['method']:5s} dt {case['dt']:<5g} {case['steps']} steps: max relative error "
          f"{e_raw:.3g} (every step), {e_avg:.3g} (temporal average); least-moving variable travels "
          f"{moves.min():.3g} of its range; clamped {stats.get('clamped', 0)}; "
          f"engine {t_engine:.1f} s, reference {t_ref:.1f} s")
    if not (e_raw <= TOL and e_avg <= TOL):
        worst = np.unravel_index(np.argmax(np.abs(got_raw - want_raw) / scale), got_raw.shape)
        failures.append(f"{name} ({case['method']}): relative error {max(e_raw, e_avg):.3g} > {TOL} (worst at step {worst[0] + 1}, "
                        f"region {worst[1]}, variable {ref.MODELS[name]['variables'][worst[2]]})")
    if moves.min() < 1e-3:
        failures.append(f"{name}: variable {ref.MODELS[name]['variables'][int(np.argmin(moves))]} is flat "
                        f"(moves {moves.min():.3g} of its range); the test would prove little")
    if case.get("clamps") and not stats.get("clamped"):
        failures.append(f"{name}: the state bounds were never hit; the clamp is not exercised")


def check_rate_singularity(tmp, connectome, failures):
    """The Wong-Wang rate u / (1 - exp(-d u)) at u = 0 exactly is its limit 1/d,
    not 0/0: with w = J_N = 0 and a I_o = b, S' = -S / tau_s + (1 - S) gamma / d."""
    p = dict(w=0.0, J_N=0.0, a=1.0, b=0.5, I_o=0.5)
    dt, steps = 0.1, 100
    doc = {
        "simulation": dict(duration=steps * dt, dt=dt, precision="double"),
        "connectome": dict(file=connectome),
        "model": dict(plugin="reduced_wong_wang", parameters=p),
        "initial": dict(S=0.2),
        "integrator": dict(method="euler"),
        "monitor": [dict(name="raw", kind="raw", period=dt)],
    }
    out = os.path.join(tmp, "rww_singular.h5")
    ref.run_twinbrain(ref.write_scenario(os.path.join(tmp, "rww_singular.toml"), doc), out)
    got = load(out, "raw")[0][:, :, 0]
    d = ref.MODELS["reduced_wong_wang"]["defaults"]
    S, want = 0.2, []
    for _ in range(steps):
        S = S + dt * (-S / d["tau_s"] + (1.0 - S) * d["gamma"] / d["d"])
        want.append(S)
    err = float(np.max(np.abs(got - np.array(want)[:, None])))
    print(f"reduced_wong_wang at the rate's removable singularity: max error {err:.3g}")
    if not err <= 1e-12:
        failures.append(f"reduced_wong_wang at u = 0: error {err:.3g} (the rate should be 1/d there)")


def main():
    only = os.environ.get("TB_MODELS", "").split()
    suite = devices.Tests()
    failures = suite.failures
    listing = plugin_listing()
    missing = sorted(set(ref.MODELS) - set(listing))
    if missing:
        failures.append(f"plugins not found: {missing}")
    # what the plugins declare and the docs say: no device involved
    for name in CASES:
        if (not only or name in only) and name in listing:
            check_declaration(name, listing[name], failures)
            check_docs(name, listing[name], failures)
    suite.host()
    untested = sorted(set(ref.MODELS) - set(CASES))
    if untested:
        failures.append(f"models without a case here: {untested}")
    with tempfile.TemporaryDirectory() as tmp:
        connectome = os.path.join(tmp, "c16.h5")
        subprocess.run([os.environ["TWINBRAIN"], "connectome", "generate", "--regions", str(N), "--seed", "3",
                        "-o", connectome], check=True, capture_output=True)
        w, tl = ref.read_connectome(connectome)
        d = ref.delay_steps(tl[w != 0], 3.0, 0.1)
        assert d.min() > 0 and d.max() > 3 * d.min(), "the test connectome should have a spread of delays"

        # every model and method on every device: the per-device cost is
        # mostly building 12 programs (docs/testing.md)
        def body(dev):
            for name, case in CASES.items():
                if only and name not in only:
                    continue
                if name in listing:
                    for method in [case["method"]] + case.get("also", []):
                        check_model(tmp, name, dict(case, method=method), connectome, w, tl, failures)
            if not only or "reduced_wong_wang" in only:
                check_rate_singularity(tmp, connectome, failures)

        suite.each(body)
    suite.finish()


main()
