"""Independent reference implementations for the accuracy tests.

Written from the equations in docs/ and ../shared/reference/neural-mass.md,
in plain numpy, sharing no code with the engine: the point is that two
implementations of the same documented method agree.

The pieces:
  simulate()   a small generic network engine: any dfun(x, c, p) -> dx, the
               coupling functions of the scenario reference with per-edge
               delays, Euler/Heun/RK4, state bounds;
  record()     subsample and temporal-average monitors over its output;
  MODELS       every model plugin's equations and TVB defaults;
  jansen_rit(), read_connectome(), run_twinbrain(), max_rel_err(),
  write_scenario()   helpers the accuracy tests share.
"""
import json
import os
import subprocess

import h5py
import numpy as np


def read_connectome(path):
    with h5py.File(path, "r") as f:
        return np.array(f["weights"]), np.array(f["tract_lengths"])


def delay_steps(tract_lengths, speed, dt):
    # documented convention (TVB's): round(length / speed / dt), ties to even
    return np.rint(tract_lengths / speed / dt).astype(np.int64)


# ------------------------------------------------------------------ coupling
# c_i = post( sum_j w_ij pre(h_j(t - d_ij), x_i(t)) ), where h is what a
# source transmits (its coupled variables, or `hist` of them). `channels`:
# None means one channel per coupled variable.

def _sigmoid_jr(cv, p):
    return p["cmin"] + (p["cmax"] - p["cmin"]) / (1.0 + np.exp(p["r"] * (p["midpoint"] - (cv[0] - cv[1]))))


COUPLINGS = {
    "linear": dict(defaults=dict(a=0.00390625, b=0.0),
                   pre=lambda h, xi, p: h,
                   post=lambda s, p, n: p["a"] * s + p["b"]),
    "scaling": dict(defaults=dict(a=0.00390625),
                    pre=lambda h, xi, p: h,
                    post=lambda s, p, n: p["a"] * s),
    "sigmoidal": dict(defaults=dict(cmin=-1.0, cmax=1.0, midpoint=0.0, a=1.0, sigma=230.0),
                      pre=lambda h, xi, p: h,
                      post=lambda s, p, n: p["cmin"] + (p["cmax"] - p["cmin"])
                      / (1.0 + np.exp(-p["a"] * ((s - p["midpoint"]) / p["sigma"])))),
    "sigmoidal_jansen_rit": dict(defaults=dict(cmin=0.0, cmax=0.005, midpoint=6.0, r=0.56, a=1.0),
                                 channels=1,
                                 hist=lambda cv, p: _sigmoid_jr(cv, p)[np.newaxis],
                                 pre=lambda h, xi, p: h,
                                 post=lambda s, p, n: p["a"] * s),
    "difference": dict(defaults=dict(a=0.1),
                       pre=lambda h, xi, p: h - xi,
                       post=lambda s, p, n: p["a"] * s),
    "kuramoto": dict(defaults=dict(a=1.0),
                     pre=lambda h, xi, p: np.sin(h - xi),
                     post=lambda s, p, n: p["a"] / n * s),
    "hyperbolic_tangent": dict(defaults=dict(a=1.0, b=1.0, midpoint=0.0, sigma=1.0),
                               pre=lambda h, xi, p: p["a"] * (1.0 + np.tanh((p["b"] * h - p["midpoint"])
                                                                            / p["sigma"])),
                               post=lambda s, p, n: s),
}


def _values(d):
    """Parameters as floats or float arrays (per region)."""
    return {k: np.asarray(v, dtype=float) for k, v in d.items()}


def simulate(dfun, x0, weights, tract_lengths, speed, dt, steps, coupled, params=None,
             coupling="linear", cparams=None, method="heun", bounds=None, stats=None):
    """Yields the state after every step, shape [V, N].

    dfun(x, c, p) -> dx: x [V, N], c [channels, N], p the parameters (floats
    or per-region arrays). `coupled` lists the indices of the coupled
    variables. The coupling is computed once per step from the delayed
    history and held fixed within the step (TVB's convention); the past
    before t = 0 equals the initial state. `bounds` is a list of (lo, hi)
    per variable (None: free); the state is clamped after every stage, as
    the engine documents. `stats`, a dict, receives the number of clamped
    values under "clamped".
    """
    x = np.array(x0, dtype=float)
    nv, n = x.shape
    cdef = COUPLINGS[coupling]
    p = _values(params or {})
    cp = _values(dict(cdef["defaults"], **(cparams or {})))
    rows, cols = np.nonzero(weights)
    w = weights[rows, cols]
    d = delay_steps(tract_lengths[rows, cols], speed, dt)
    # pre() runs per edge with the target's parameters, hist() per source
    cp_edge = {k: (v[rows] if v.ndim else v) for k, v in cp.items()}
    coupled = list(coupled)
    nc = cdef.get("channels") or len(coupled)

    def transmit(x):
        cv = x[coupled]
        return cdef["hist"](cv, cp) if "hist" in cdef else cv

    def own(x):  # the target's own value per channel (xi of the documented pre)
        xi = np.zeros((nc, n))
        k = min(nc, len(coupled))
        xi[:k] = x[coupled[:k]]
        return xi

    if bounds is not None:
        lo = np.array([[-np.inf if b is None or b[0] is None else b[0]] for b in bounds])
        hi = np.array([[np.inf if b is None or b[1] is None else b[1]] for b in bounds])

    def clamp(x):
        if bounds is None:
            return x
        y = np.minimum(np.maximum(x, lo), hi)
        if stats is not None:
            stats["clamped"] = stats.get("clamped", 0) + int(np.count_nonzero(y != x))
        return y

    hist = np.empty((steps + 1, nc, n))  # hist[t] = what the sources transmit at time t
    hist[0] = transmit(x)
    for t in range(steps):
        past = np.maximum(t - d, 0)
        delayed = hist[past, :, cols].T  # [channels, edges]
        pre = cdef["pre"](delayed, own(x)[:, rows], cp_edge)
        s = np.array([np.bincount(rows, weights=w * pre[k], minlength=n) for k in range(nc)])
        c = cdef["post"](s, cp, n)
        k1 = dfun(x, c, p)
        if method == "euler":
            x = x + dt * k1
        elif method == "heun":
            k2 = dfun(clamp(x + dt * k1), c, p)
            x = x + 0.5 * dt * (k1 + k2)
        elif method == "rk4":
            k2 = dfun(clamp(x + 0.5 * dt * k1), c, p)
            k3 = dfun(clamp(x + 0.5 * dt * k2), c, p)
            k4 = dfun(clamp(x + dt * k3), c, p)
            x = x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        else:
            raise ValueError(f"unknown method {method}")
        x = clamp(x)
        hist[t + 1] = transmit(x)
        yield x


def record(states, every, variables=None):
    """Subsample and temporal-average monitors with a period of `every`
    steps over the states simulate() yields: two arrays [T, N, V]. The
    average covers the `every` states that end at the sample's step."""
    sub, avg, acc = [], [], None
    for t, x in enumerate(states, start=1):
        if variables is not None:
            x = x[variables]
        acc = x.copy() if acc is None else acc + x
        if t % every == 0:
            sub.append(x.T.copy())
            avg.append((acc / every).T.copy())
            acc = None
    return np.array(sub), np.array(avg)


# ------------------------------------------------------------------ models
# Each: variables, coupled (indices), bounds (per variable, or None),
# defaults (TVB's), dfun(x, c, p). Equations as in docs/models.md.

def _jansen_rit(x, c, p):
    y0, y1, y2, y3, y4, y5 = x

    def S(v):
        return 2.0 * p["nu_max"] / (1.0 + np.exp(p["r"] * (p["v0"] - v)))

    A, B, a, b, J = p["A"], p["B"], p["a"], p["b"], p["J"]
    return np.array([
        y3, y4, y5,
        A * a * S(y1 - y2) - 2 * a * y3 - a * a * y0,
        A * a * (p["mu"] + p["a_2"] * J * S(p["a_1"] * J * y0) + c[0]) - 2 * a * y4 - a * a * y1,
        B * b * (p["a_4"] * J * S(p["a_3"] * J * y0)) - 2 * b * y5 - b * b * y2,
    ])


def _wilson_cowan(x, c, p):
    E, I = x

    def S(u, a, b, amp):
        full = amp / (1.0 + np.exp(-a * (u - b)))
        # shifted so that S(0) = 0 (TVB's shift_sigmoid, on by default)
        return np.where(p["shift_sigmoid"] != 0, full - amp / (1.0 + np.exp(a * b)), full)

    ue = p["alpha_e"] * (p["c_ee"] * E - p["c_ei"] * I + p["P"] - p["theta_e"] + c[0])
    ui = p["alpha_i"] * (p["c_ie"] * E - p["c_ii"] * I + p["Q"] - p["theta_i"])
    return np.array([
        (-E + (p["k_e"] - p["r_e"] * E) * S(ue, p["a_e"], p["b_e"], p["c_e"])) / p["tau_e"],
        (-I + (p["k_i"] - p["r_i"] * I) * S(ui, p["a_i"], p["b_i"], p["c_i"])) / p["tau_i"],
    ])


def _ww_rate(u, d):
    """u / (1 - exp(-d u)), the Abbott-Chance transfer function."""
    return u / (1.0 - np.exp(-d * u))


def _reduced_wong_wang(x, c, p):
    S, = x
    u = p["w"] * p["J_N"] * S + p["I_o"] + p["J_N"] * c[0]
    H = _ww_rate(p["a"] * u - p["b"], p["d"])
    return np.array([-S / p["tau_s"] + (1.0 - S) * H * p["gamma"]])


def _wong_wang_ei(x, c, p):
    Se, Si = x
    lr = p["G"] * p["J_N"] * c[0]
    ue = p["w_p"] * p["J_N"] * Se - p["J_i"] * Si + p["W_e"] * p["I_o"] + lr + p["I_ext"]
    ui = p["J_N"] * Se - Si + p["W_i"] * p["I_o"] + p["lamda"] * lr
    He = _ww_rate(p["a_e"] * ue - p["b_e"], p["d_e"])
    Hi = _ww_rate(p["a_i"] * ui - p["b_i"], p["d_i"])
    return np.array([
        -Se / p["tau_e"] + (1.0 - Se) * He * p["gamma_e"],
        -Si / p["tau_i"] + Hi * p["gamma_i"],
    ])


def _hopf(x, c, p):
    X, Y = x
    r2 = X * X + Y * Y
    return np.array([
        (p["a"] - r2) * X - p["omega"] * Y + c[0],
        (p["a"] - r2) * Y + p["omega"] * X + c[1],
    ])


def _kuramoto(x, c, p):
    return np.array([p["omega"] + c[0] + 0.0 * x[0]])


def _epileptor(x, c, p):
    x1, y1, z, x2, y2, g = x
    tt = p["tt"]
    # population 1: x1' = y1 - f1 - z + Iext, written with f1's two branches
    f1 = np.where(x1 < 0.0,
                  p["a"] * x1 ** 3 - p["b"] * x1 ** 2,
                  -(p["slope"] - x2 + 0.6 * (z - 4.0) ** 2) * x1)
    dx1 = tt * (y1 - z + p["Iext"] + p["Kvf"] * c[0] - f1)
    dy1 = tt * (p["c"] - p["d"] * x1 ** 2 - y1)
    # slow permittivity variable: linear (Jirsa 2014) or sigmoidal (Proix 2014) drive
    linear = p["s"] * (x1 - p["x0"]) - np.where(z < 0.0, 0.1 * z ** 7, 0.0)
    sigmoidal = p["x0"] + 3.0 / (1.0 + np.exp(-(x1 + 0.5) / 0.1))
    h = np.where(p["modification"] != 0, sigmoidal, linear)
    dz = tt * p["r"] * (h - z + p["Ks"] * c[0])
    # population 2
    dx2 = tt * (-y2 + x2 - x2 ** 3 + p["Iext2"] + p["bb"] * g - 0.3 * (z - 3.5) + p["Kf"] * c[1])
    f2 = np.where(x2 < -0.25, 0.0, p["aa"] * (x2 + 0.25))
    dy2 = tt * (-y2 + f2) / p["tau"]
    dg = -0.01 * tt * (g - 0.1 * x1)
    return np.array([dx1, dy1, dz, dx2, dy2, dg])


def _generic_2d_oscillator(x, c, p):
    V, W = x
    dV = p["d"] * p["tau"] * (p["alpha"] * W - p["f"] * V ** 3 + p["e"] * V ** 2 + p["g"] * V
                              + p["gamma"] * p["I"] + p["gamma"] * c[0])
    dW = p["d"] * (p["a"] + p["b"] * V + p["c"] * V ** 2 - p["beta"] * W) / p["tau"]
    return np.array([dV, dW])


def _larter_breakspear(x, c, p):
    V, W, Z = x

    def act(u, thr, width):
        return 0.5 * (1.0 + np.tanh((u - thr) / width))

    mCa = act(V, p["TCa"], p["d_Ca"])
    mNa = act(V, p["TNa"], p["d_Na"])
    mK = act(V, p["TK"], p["d_K"])
    QV = p["QV_max"] * act(V, p["VT"], p["d_V"])
    QZ = p["QZ_max"] * act(Z, p["ZT"], p["d_Z"])
    C, aee = p["C"], p["aee"]
    exc = (1.0 - C) * QV + C * c[0]  # own rate and the rate arriving from other regions
    dV = (-(p["gCa"] + p["rNMDA"] * aee * exc) * mCa * (V - p["VCa"])
          - p["gK"] * W * (V - p["VK"])
          - p["gL"] * (V - p["VL"])
          - (p["gNa"] * mNa + aee * exc) * (V - p["VNa"])
          - p["aie"] * Z * QZ
          + p["ane"] * p["Iext"])
    dW = p["phi"] * (mK - W) / p["tau_K"]
    dZ = p["b"] * (p["ani"] * p["Iext"] + p["aei"] * V * QV)
    return p["t_scale"] * np.array([dV, dW, dZ])


def _montbrio_pazo_roxin(x, c, p):
    r, V = x
    tau = p["tau"]
    dr = (p["Delta"] / (np.pi * tau) + 2.0 * V * r) / tau
    dV = (V * V - (np.pi * tau * r) ** 2 + p["eta"] + p["J"] * tau * r + p["I"]
          + p["cr"] * c[0] + p["cv"] * c[1]) / tau
    return np.array([dr, dV])


MODELS = {
    "jansen_rit": dict(
        variables=["y0", "y1", "y2", "y3", "y4", "y5"], coupled=[1, 2], bounds=None, dfun=_jansen_rit,
        coupling="sigmoidal_jansen_rit",
        defaults=dict(A=3.25, B=22.0, a=0.1, b=0.05, v0=5.52, nu_max=0.0025, r=0.56, J=135.0,
                      a_1=1.0, a_2=0.8, a_3=0.25, a_4=0.25, mu=0.22)),
    "wilson_cowan": dict(
        variables=["E", "I"], coupled=[0], bounds=None, dfun=_wilson_cowan, coupling="linear",
        defaults=dict(c_ee=12.0, c_ei=4.0, c_ie=13.0, c_ii=11.0, tau_e=10.0, tau_i=10.0,
                      a_e=1.2, b_e=2.8, c_e=1.0, theta_e=0.0, a_i=1.0, b_i=4.0, theta_i=0.0, c_i=1.0,
                      r_e=1.0, r_i=1.0, k_e=1.0, k_i=1.0, P=0.0, Q=0.0, alpha_e=1.0, alpha_i=1.0,
                      shift_sigmoid=1.0)),
    "reduced_wong_wang": dict(
        variables=["S"], coupled=[0], bounds=[(0.0, 1.0)], dfun=_reduced_wong_wang, coupling="linear",
        defaults=dict(a=0.270, b=0.108, d=154.0, gamma=0.641, tau_s=100.0, w=0.6, J_N=0.2609, I_o=0.33)),
    "wong_wang_ei": dict(
        variables=["S_e", "S_i"], coupled=[0], bounds=[(0.0, 1.0), (0.0, 1.0)], dfun=_wong_wang_ei,
        coupling="linear",
        defaults=dict(a_e=310.0, b_e=125.0, d_e=0.160, gamma_e=0.641 / 1000, tau_e=100.0, w_p=1.4,
                      J_N=0.15, W_e=1.0, a_i=615.0, b_i=177.0, d_i=0.087, gamma_i=1.0 / 1000,
                      tau_i=10.0, J_i=1.0, W_i=0.7, I_o=0.382, I_ext=0.0, G=2.0, lamda=0.0, fic=0.0,
                      fic_rate=3.0)),
    "hopf": dict(
        variables=["x", "y"], coupled=[0, 1], bounds=None, dfun=_hopf, coupling="difference",
        defaults=dict(a=-0.5, omega=1.0)),
    "kuramoto": dict(
        variables=["theta"], coupled=[0], bounds=None, dfun=_kuramoto, coupling="kuramoto",
        defaults=dict(omega=1.0)),
    "epileptor": dict(
        variables=["x1", "y1", "z", "x2", "y2", "g"], coupled=[0, 3], bounds=None, dfun=_epileptor,
        coupling="difference",
        defaults=dict(a=1.0, b=3.0, c=1.0, d=5.0, r=0.00035, s=4.0, x0=-1.6, Iext=3.1, slope=0.0,
                      Iext2=0.45, tau=10.0, aa=6.0, bb=2.0, Kvf=0.0, Kf=0.0, Ks=0.0, tt=1.0,
                      modification=0.0)),
    "generic_2d_oscillator": dict(
        variables=["V", "W"], coupled=[0], bounds=None, dfun=_generic_2d_oscillator, coupling="linear",
        defaults=dict(tau=1.0, I=0.0, a=-2.0, b=-10.0, c=0.0, d=0.02, e=3.0, f=1.0, g=0.0,
                      alpha=1.0, beta=1.0, gamma=1.0)),
    "larter_breakspear": dict(
        variables=["V", "W", "Z"], coupled=[0], bounds=None, dfun=_larter_breakspear,
        coupling="hyperbolic_tangent",
        defaults=dict(gCa=1.1, gK=2.0, gL=0.5, phi=0.7, gNa=6.7, TK=0.0, TCa=-0.01, TNa=0.3,
                      VCa=1.0, VK=-0.7, VL=-0.5, VNa=0.53, d_K=0.3, tau_K=1.0, d_Na=0.15, d_Ca=0.15,
                      aei=2.0, aie=2.0, b=0.1, C=0.1, ane=1.0, ani=0.4, aee=0.4, Iext=0.3,
                      rNMDA=0.25, VT=0.0, d_V=0.65, ZT=0.0, d_Z=0.7, QV_max=1.0, QZ_max=1.0,
                      t_scale=1.0)),
    "montbrio_pazo_roxin": dict(
        variables=["r", "V"], coupled=[0, 1], bounds=[(0.0, None), None], dfun=_montbrio_pazo_roxin,
        coupling="linear",
        defaults=dict(tau=1.0, I=0.0, Delta=1.0, J=15.0, eta=-5.0, cr=1.0, cv=0.0)),
}


def run_model(name, weights, tract_lengths, speed, dt, steps, x0, params=None, coupling=None,
              cparams=None, method="heun", stats=None):
    """simulate() with a model of MODELS and its defaults."""
    m = MODELS[name]
    p = dict(m["defaults"], **(params or {}))
    return simulate(m["dfun"], x0, weights, tract_lengths, speed, dt, steps, m["coupled"], params=p,
                    coupling=coupling or m["coupling"], cparams=cparams, method=method,
                    bounds=m["bounds"], stats=stats)


# ------------------------------------------------------------------ Jansen-Rit (kept for older tests)
JR_DEFAULTS = MODELS["jansen_rit"]["defaults"]
SJR_DEFAULTS = COUPLINGS["sigmoidal_jansen_rit"]["defaults"]


def jr_dfun(x, c, p):
    return _jansen_rit(x, np.reshape(c, (1, -1)), p)


def sjr_source(x, cp):
    """What a source transmits: its sigmoid of y1 - y2."""
    return _sigmoid_jr(x[[1, 2]], dict(SJR_DEFAULTS, **cp))


def jansen_rit(weights, tract_lengths, speed, dt, steps, x0, params=None, cparams=None, method="heun"):
    """Yields the state after every step (shape [6, N]).

    Coupling c_i(t) = a * sum_j w_ij h_j(t - d_ij), h = sjr_source(x), held
    fixed within the step; the past before t = 0 equals the initial state.
    """
    return run_model("jansen_rit", weights, tract_lengths, speed, dt, steps, x0, params=params,
                     cparams=cparams, method=method)


# ------------------------------------------------------------------ running the engine
def run_twinbrain(scenario, output, *extra):
    exe = os.environ["TWINBRAIN"]
    cmd = [exe, "run", scenario, "-o", output, "--quiet", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return done


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(e) for e in v) + "]"
    return repr(float(v))  # shortest text that reads back as the same double


def write_scenario(path, doc):
    """Writes a scenario from nested dicts: a dict is a table, a list of
    dicts an array of tables ([[monitor]])."""
    lines = []

    def table(prefix, t):
        plain = {k: v for k, v in t.items() if not isinstance(v, dict) and not _is_tables(v)}
        if plain or not prefix:
            if prefix:
                lines.append(f"[{prefix}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in plain.items())
        for k, v in t.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)
            elif _is_tables(v):
                for item in v:
                    lines.append(f"[[{prefix + '.' if prefix else ''}{k}]]")
                    lines.extend(f"{ik} = {_toml_value(iv)}" for ik, iv in item.items())

    table("", doc)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _is_tables(v):
    return isinstance(v, list) and v and all(isinstance(e, dict) for e in v)


def max_rel_err(got, want, axis):
    """Largest |got - want| relative to the largest |want| of the same
    variable (`axis` indexes variables): values of an oscillation cross
    zero, where a pointwise relative error means nothing."""
    other = tuple(i for i in range(want.ndim) if i != axis % want.ndim)
    scale = np.max(np.abs(want), axis=other, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    return float(np.max(np.abs(got - want) / scale))
