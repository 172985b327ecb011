"""Independent reference implementations for the accuracy tests.

Written from the equations in docs/ and ../shared/reference/neural-mass.md,
in plain numpy, sharing no code with the engine: the point is that two
implementations of the same documented method agree.
"""
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


JR_DEFAULTS = dict(A=3.25, B=22.0, a=0.1, b=0.05, v0=5.52, nu_max=0.0025, r=0.56, J=135.0,
                   a_1=1.0, a_2=0.8, a_3=0.25, a_4=0.25, mu=0.22)
SJR_DEFAULTS = dict(cmin=0.0, cmax=0.005, midpoint=6.0, r=0.56, a=1.0)


def jr_dfun(x, c, p):
    y0, y1, y2, y3, y4, y5 = x

    def S(v):
        return 2.0 * p["nu_max"] / (1.0 + np.exp(p["r"] * (p["v0"] - v)))

    A, B, a, b, J = p["A"], p["B"], p["a"], p["b"], p["J"]
    return np.array([
        y3, y4, y5,
        A * a * S(y1 - y2) - 2 * a * y3 - a * a * y0,
        A * a * (p["mu"] + p["a_2"] * J * S(p["a_1"] * J * y0) + c) - 2 * a * y4 - a * a * y1,
        B * b * (p["a_4"] * J * S(p["a_3"] * J * y0)) - 2 * b * y5 - b * b * y2,
    ])


def sjr_source(x, cp):
    """What a source transmits: its sigmoid of y1 - y2."""
    return cp["cmin"] + (cp["cmax"] - cp["cmin"]) / (1.0 + np.exp(cp["r"] * (cp["midpoint"] - (x[1] - x[2]))))


def jansen_rit(weights, tract_lengths, speed, dt, steps, x0, params=None, cparams=None, method="heun"):
    """Yields the state after every step (shape [6, N]).

    Coupling c_i(t) = a * sum_j w_ij h_j(t - d_ij), h = sjr_source(x), held
    fixed within the step; the past before t = 0 equals the initial state.
    """
    p = dict(JR_DEFAULTS, **(params or {}))
    cp = dict(SJR_DEFAULTS, **(cparams or {}))
    n = weights.shape[0]
    d = delay_steps(tract_lengths, speed, dt)
    rows, cols = np.nonzero(weights)
    w = weights[rows, cols]
    dd = d[rows, cols]
    hist = np.empty((steps + 1, n))  # hist[t] = h(x(t))
    hist[0] = sjr_source(x0, cp)
    x = x0.copy()
    for t in range(steps):
        past = np.maximum(t - dd, 0)
        c = cp["a"] * np.bincount(rows, weights=w * hist[past, cols], minlength=n)
        k1 = jr_dfun(x, c, p)
        if method == "euler":
            x = x + dt * k1
        elif method == "heun":
            k2 = jr_dfun(x + dt * k1, c, p)
            x = x + 0.5 * dt * (k1 + k2)
        elif method == "rk4":
            k2 = jr_dfun(x + 0.5 * dt * k1, c, p)
            k3 = jr_dfun(x + 0.5 * dt * k2, c, p)
            k4 = jr_dfun(x + dt * k3, c, p)
            x = x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        hist[t + 1] = sjr_source(x, cp)
        yield x


def run_twinbrain(scenario, output, *extra):
    exe = os.environ["TWINBRAIN"]
    cmd = [exe, "run", scenario, "-o", output, "--quiet", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return done


def max_rel_err(got, want, axis):
    """Largest |got - want| relative to the largest |want| of the same
    variable (`axis` indexes variables): values of an oscillation cross
    zero, where a pointwise relative error means nothing."""
    other = tuple(i for i in range(want.ndim) if i != axis % want.ndim)
    scale = np.max(np.abs(want), axis=other, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    return float(np.max(np.abs(got - want) / scale))
