"""Independent references for the spiking tests: closed forms and numpy
integrations written from the equations in the plugins' documentation
(twinbrain plugins NAME) and ../shared/reference/spiking.md, sharing no
code with the engine."""
import math
import os
import subprocess

import h5py
import numpy as np


def run(scenario_text, tmp, name, *extra, env=None, expect=0):
    """Write the scenario, run it, return the output path (or the
    completed process when a failure is expected)."""
    path = os.path.join(tmp, name + ".toml")
    out = os.path.join(tmp, name + ".h5")
    with open(path, "w") as f:
        f.write(scenario_text)
    cmd = [os.environ["TWINBRAIN"], "run", path, "-o", out, "--quiet", *extra]
    e = dict(os.environ, **(env or {}))
    done = subprocess.run(cmd, capture_output=True, text=True, env=e)
    if done.returncode != expect:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return out if expect == 0 else done


def spikes(path, pop):
    with h5py.File(path, "r") as f:
        g = f["spikes"][pop]
        return np.array(g["timestamps"]), np.array(g["node_ids"])


def state(path, name):
    """[T, neurons, variables] and the times."""
    with h5py.File(path, "r") as f:
        return np.array(f["monitors"][name]["data"])[:, 0], np.array(f["monitors"][name]["time"])


def write_spike_file(path, group, times, ids):
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/" + group)
        g.create_dataset("timestamps", data=np.asarray(times, dtype=np.float64))
        g.create_dataset("node_ids", data=np.asarray(ids, dtype=np.uint64))


# ---------------------------------------------------------------- iaf_psc_exp, closed form

IAF = dict(E_L=-70.0, C_m=250.0, tau_m=10.0, t_ref=2.0, V_th=-55.0, V_reset=-70.0, tau_syn_ex=2.0,
           tau_syn_in=2.0, I_e=0.0)


def iaf_psc_exp_closed_form(t_grid, current, jumps, p=IAF):
    """V_m at the step ends t_grid (ms), by the closed-form solution of
        C dV/dt = -(C/tau_m)(V - E_L) + I(t),
    piecewise: `current(t)` is constant on each step (DC input), `jumps` a
    list of (time, weight, tau_syn) synaptic current jumps. Threshold at
    step ends, reset, refractory clamp, as documented. Returns V and the
    spike times. Each step's V is computed from the segment start by the
    exact formula (not by iterating a propagator)."""
    tm, C = p["tau_m"], p["C_m"]
    h = t_grid[1] - t_grid[0]
    ref_steps = int(math.floor(p["t_ref"] / h + 0.5))
    V = np.empty(len(t_grid))
    out_spikes = []
    seg_t, seg_v = 0.0, p["E_L"]  # the membrane's last known (time, value)
    refractory = 0
    for k, t in enumerate(t_grid):
        if refractory > 0:
            refractory -= 1
            V[k] = p["V_reset"]
            seg_t, seg_v = t, p["V_reset"]
            continue
        # from seg_t to t: the DC current of the step (constant over it) and
        # every synaptic current active since seg_t
        dt_ = t - seg_t
        I0 = current(t - h) + p["I_e"]
        v = p["E_L"] + (seg_v - p["E_L"]) * math.exp(-dt_ / tm) + I0 * tm / C * (1.0 - math.exp(-dt_ / tm))
        for (ta, w, ts) in jumps:
            if ta <= seg_t + 1e-9:
                I_at = w * math.exp(-(seg_t - ta) / ts)  # current at the segment start
            else:
                continue
            a = 1.0 / tm - 1.0 / ts
            f = dt_ if a == 0 else math.expm1(dt_ * a) / a
            v += I_at * math.exp(-dt_ / tm) * f / C
        V[k] = v
        seg_t, seg_v = t, v
        if v >= p["V_th"]:
            out_spikes.append(t)
            V[k] = p["V_reset"]
            seg_v = p["V_reset"]
            refractory = ref_steps
    return V, np.array(out_spikes)


# ---------------------------------------------------------------- numpy integrators, same methods

def izhikevich(I_of_step, steps, dt, a=0.02, b=0.2, c=-65.0, d=8.0, v0=-65.0, u0=-13.0, V_peak=30.0):
    v, u = v0, u0
    vs, us, sp = [], [], []
    for k in range(steps):
        I = I_of_step(k)
        v += 0.5 * dt * (0.04 * v * v + 5 * v + 140 - u + I)
        v += 0.5 * dt * (0.04 * v * v + 5 * v + 140 - u + I)
        u += dt * a * (b * v - u)
        if v >= V_peak:
            sp.append((k + 1) * dt)
            v = c
            u += d
        vs.append(v)
        us.append(u)
    return np.array(vs), np.array(us), np.array(sp)


AEIF = dict(C_m=281.0, g_L=30.0, E_L=-70.6, V_th=-50.4, Delta_T=2.0, tau_w=144.0, a=4.0, b=80.5, V_peak=0.0,
            V_reset=-60.0, t_ref=0.0, E_ex=0.0, E_in=-85.0, tau_syn_ex=0.2, tau_syn_in=2.0, I_e=0.0, h_max=0.01)


def aeif_cond_exp(I_of_step, steps, dt, p, V0, w0=0.0, g_jumps=None):
    """RK4 on ceil(dt/h_max) substeps with exact conductances, V capped at
    V_peak in the right-hand side, substeps stop at V_peak; the step's
    conductance input (g_jumps[k] = (dg_ex, dg_in)) added after it."""
    n_sub = max(1, math.ceil(dt / p["h_max"] - 1e-9))
    h = dt / n_sub
    ref_steps = int(math.floor(p["t_ref"] / dt + 0.5))
    V, w, ge, gi = V0, w0, 0.0, 0.0
    r = 0
    Vs, ws, sp = [], [], []

    def rhs(V, w, ge, gi, I, ref):
        v = p["V_reset"] if ref else min(V, p["V_peak"])
        spike = p["g_L"] * p["Delta_T"] * math.exp((v - p["V_th"]) / p["Delta_T"]) if p["Delta_T"] > 0 else 0.0
        dV = 0.0 if ref else (-p["g_L"] * (v - p["E_L"]) + spike - ge * (v - p["E_ex"]) - gi * (v - p["E_in"]) - w + I) / p["C_m"]
        return dV, (p["a"] * (v - p["E_L"]) - w) / p["tau_w"]

    for k in range(steps):
        I = p["I_e"] + I_of_step(k)
        ref = r > 0
        g1, g2 = ge, gi
        for _ in range(n_sub):
            gm1, gm2 = g1 * math.exp(-0.5 * h / p["tau_syn_ex"]), g2 * math.exp(-0.5 * h / p["tau_syn_in"])
            ge1, ge2 = g1 * math.exp(-h / p["tau_syn_ex"]), g2 * math.exp(-h / p["tau_syn_in"])
            k1 = rhs(V, w, g1, g2, I, ref)
            k2 = rhs(V + 0.5 * h * k1[0], w + 0.5 * h * k1[1], gm1, gm2, I, ref)
            k3 = rhs(V + 0.5 * h * k2[0], w + 0.5 * h * k2[1], gm1, gm2, I, ref)
            k4 = rhs(V + h * k3[0], w + h * k3[1], ge1, ge2, I, ref)
            V += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            w += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            g1, g2 = ge1, ge2
            if V >= p["V_peak"]:
                break
        if ref:
            V = p["V_reset"]
        dg = g_jumps(k) if g_jumps else (0.0, 0.0)
        ge = math.exp(-dt / p["tau_syn_ex"]) * ge + dg[0]
        gi = math.exp(-dt / p["tau_syn_in"]) * gi + dg[1]
        if r > 0:
            r -= 1
        if not ref and V >= p["V_peak"]:
            sp.append((k + 1) * dt)
            V = p["V_reset"]
            w += p["b"]
            r = ref_steps
        Vs.append(V)
        ws.append(w)
    return np.array(Vs), np.array(ws), np.array(sp)


COND = dict(V_th=-55.0, V_reset=-60.0, t_ref=2.0, g_L=16.6667, C_m=250.0, E_ex=0.0, E_in=-85.0, E_L=-70.0,
            tau_syn_ex=0.2, tau_syn_in=2.0, I_e=0.0)


def iaf_cond_exp(I_of_step, steps, dt, p, V0, g_jumps=None):
    """Exponential Euler with step-averaged conductances, as documented."""
    Pex, Pin = math.exp(-dt / p["tau_syn_ex"]), math.exp(-dt / p["tau_syn_in"])
    Fex = -p["tau_syn_ex"] / dt * math.expm1(-dt / p["tau_syn_ex"])
    Fin = -p["tau_syn_in"] / dt * math.expm1(-dt / p["tau_syn_in"])
    ref_steps = int(math.floor(p["t_ref"] / dt + 0.5))
    V, ge, gi, r = V0, 0.0, 0.0, 0
    Vs, sp = [], []
    for k in range(steps):
        ref = r > 0
        if not ref:
            a, b_ = ge * Fex, gi * Fin
            gt = p["g_L"] + a + b_
            Vinf = (p["g_L"] * p["E_L"] + a * p["E_ex"] + b_ * p["E_in"] + p["I_e"] + I_of_step(k)) / gt
            V = Vinf + (V - Vinf) * math.exp(-dt * gt / p["C_m"])
        dg = g_jumps(k) if g_jumps else (0.0, 0.0)
        ge = Pex * ge + dg[0]
        gi = Pin * gi + dg[1]
        if r > 0:
            r -= 1
        if not ref and V >= p["V_th"]:
            sp.append((k + 1) * dt)
            V = p["V_reset"]
            r = ref_steps
        Vs.append(V)
    return np.array(Vs), np.array(sp)


# ---------------------------------------------------------------- statistics without scipy

def normal_cdf(x, mean=0.0, std=1.0):
    return 0.5 * (1.0 + np.vectorize(math.erf)((np.asarray(x) - mean) / (std * math.sqrt(2.0))))


def ks_statistic(samples, cdf):
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(x)
    F = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(0, n) / n)))


def ks_critical(n, alpha=1e-3):
    """Asymptotic Kolmogorov critical value: sqrt(-ln(alpha/2)/2) / sqrt(n)."""
    return math.sqrt(-0.5 * math.log(alpha / 2.0)) / math.sqrt(n)


def chi2_upper(dof, alpha=1e-3):
    """Upper alpha quantile of chi-square (Wilson-Hilferty)."""
    z = {1e-3: 3.0902, 1e-4: 3.7190, 1e-6: 4.7534}[alpha]
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3
