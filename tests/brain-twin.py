"""A twin experiment on a fitted spiking brain (docs/brain.md):
brain.parameters_from runs a brain free on the parameter map a spiking
[assimilation] fitted, with perturbations on top.

A short fit (4 regions, one LIF template E of 20 neurons, 4 members,
I_e estimated per region from synthetic BOLD, 2 s) writes fit.h5. Then:
- quiet twin: the same brain with no input and V_m starting at E_L, on
  the fit's map. Every neuron's V_m (a state record) follows the exact
  propagator V <- E_L + P22 (V - E_L) + P20 I_e (numpy) with I_e its
  region's final ensemble mean, /assimilation/mean's last row, to 1e-9;
  so every neuron got its region's value. With a `drug` scaling I_e of
  the region fitted highest (factors from its /perturbations record) and
  a DBS train into the next, both regions follow numpy with the fitted value first and the
  perturbation on top (I_e's default is 0: a perturbation of the template's
  value would leave V_m at E_L); the other regions are unchanged;
- the run on the fitted map equals bit for bit the run with the map
  written by hand as the per-region array parameters.I_e = [...] and the
  run with `--parameters-from fit.h5` instead of the key, and the
  resolved scenario (`check --print`) is accepted back;
- lesion twin: the brain with its background input on the fit's map and
  region 0's E lesioned from the start: every out-edge of region 0 carries
  exactly 0 spikes (edge_spikes monitor), the others carry spikes;
- a scenario with both [assimilation] and brain.parameters_from runs
  free (no /assimilation, no member copies);
- [[perturbation]] in the fit itself: a drug scaling I_e of every
  member's copy of one region and a lesion of another template; every
  fitted neuron's V_m (no input, no synapses) follows numpy with I_e = the
  filter's estimate in force (/assimilation/parameter) x the drug's factor;
- errors: a missing file, a file that is not a fit, a fit of 4 regions on
  a 5-region connectome, a fit whose region labels differ, a fitted
  template [brain] has not, a parameter the template's model has not
  (status 4, naming FILE:LINE:COL and the key);
  the parameter also given in the template (status 2); a per-region array
  of the wrong length (status 2).
On every device (tests/devices.py)."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
from brain_scenario import BACKGROUND, small_brain  # noqa: E402

suite = devices.Tests()
check = suite.check
TB = os.environ["TWINBRAIN"]
R, M, NE = 4, 4, 20
DT, PERIOD, FIT_MS, START = 0.5, 250.0, 2000.0, 500.0
E_L, C_M, TAU_M = -70.0, 250.0, 10.0  # iaf_psc_exp's defaults
QUIET_MS = 40.0
def brain(duration, **kw):
    return small_brain(duration, NE, dt=DT, **kw)


ASSIM = f"""
[assimilation]
data = "subject.h5"
parameter = "I_e"
members = {M}
low = 0.0
high = 300.0
start = {START}
"""
FITTED = 'parameters_from = "fit.h5"\n'
VREC = f"""
[[record]]
kind = "state"
name = "v"
population = "{{pop}}"
neurons = {NE}
variables = ["V_m"]
period = 1.0
"""


def quiet(labels, extra="", top=FITTED, params=""):
    text = brain(QUIET_MS, initial=str(E_L), top=top, params=params,
                 monitor='kind = "region_rates"\nperiod = 1.0') + extra
    return text + "".join(VREC.replace("{pop}", f"{lab}_E").replace('"v"', f'"v{r}"')
                          for r, lab in enumerate(labels))


def write(tmp, name, text):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(tmp, name, text, args=()):
    path = write(tmp, name, text)
    out = os.path.join(tmp, name + ".h5")
    done = subprocess.run([TB, "run", path, "-o", out, "--quiet", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"FAIL: twinbrain run {name} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return out


def refused(tmp, name, text, status, words):
    """`twinbrain check` refuses the scenario with `status`, naming FILE:LINE:COL and `words`."""
    path = write(tmp, name, text)
    done = subprocess.run([TB, "check", path], capture_output=True, text=True)
    err = done.stderr.strip()
    check(f"{name}: refused with status {status}", done.returncode == status and f"{name}.toml:" in err and
          all(w in err for w in words), f"exit {done.returncode}: {err[:300]}")


def v_records(path):
    with h5py.File(path, "r") as f:
        t = np.array(f["monitors/v0/time"])
        return t, [np.array(f[f"monitors/v{r}/data"])[:, 0, :, 0] for r in range(R)]


def reference(i_e, steps, factor=None, i_ext=None):
    """V_m after each step from E_L, NEST's exact propagator, I_e x factor[n] + i_ext[n] in step n."""
    p22 = np.exp(-DT / TAU_M)
    p20 = TAU_M / C_M * (1.0 - p22)
    v = np.empty(steps + 1)
    v[0] = E_L
    for n in range(steps):
        cur = i_e * (factor[n] if factor is not None else 1.0) + (i_ext[n] if i_ext is not None else 0.0)
        v[n + 1] = E_L + (p22 * (v[n] - E_L) + p20 * cur)
    return v


def held(f, group, steps):
    """Per step, the drug's factor in force (the last event at or before the step; 1 before any)."""
    g = f["perturbations"][group]
    ev_step, ev_val = np.array(g["event_step"]), np.array(g["event_value"])
    fac = np.ones(steps)
    for s, x in sorted(zip(ev_step, ev_val)):
        fac[int(s):] = x
    return fac


def perturbed_fit(tmp, labels, steps_of):
    """[[perturbation]] beside a spiking [assimilation]: the filter's value
    is the base the perturbation acts on. E (fitted I_e, no input, no
    synapses) never spikes, so its V_m is numpy's with I_e = the filter's
    estimate in force x the drug's factor; D (Poisson input, pooled by the
    bold monitor) makes the members' BOLD differ, so the filter moves."""
    ne = 4
    text = f"""[simulation]
duration = {FIT_MS}
dt = {DT}
seed = 7

[brain]
connectome = "c4.h5"
speed = 10.0

[[brain.population]]
name = "E"
model = "iaf_psc_exp"
size = {ne}
[brain.population.initial]
V_m = {E_L}

[[brain.population]]
name = "D"
model = "iaf_psc_exp"
size = 20

[[brain.monitor]]
kind = "bold"
period = {PERIOD}
populations = ["D"]

[[input]]
name = "bg"
kind = "poisson"
rate = 8000.0
weight = 20.0
targets = ["D"]

[assimilation]
data = "subject.h5"
parameter = "I_e"
populations = ["E"]
members = {M}
low = 0.0
high = 300.0
start = {PERIOD}

[[perturbation]]
name = "drug"
plugin = "drug"
targets = [{", ".join(f'"m{b}_{labels[0]}_E"' for b in range(M))}]
from = 0.0
parameters = {{ dose = 50.0, ka = 20.0, ke = 1.0, emax = -0.5, interval = 20.0, scales = ["I_e"] }}

[[perturbation]]
name = "lesion"
plugin = "lesion"
targets = [{", ".join(f'"m{b}_{labels[1]}_D"' for b in range(M))}]
at = 600.0
"""
    for b in range(M):
        for n in range(R):
            text += (f'\n[[record]]\nkind = "state"\nname = "v{b}_{n}"\npopulation = "m{b}_{labels[n]}_E"\n'
                     f'neurons = {ne}\nvariables = ["V_m"]\nperiod = 1.0\n')
    out = run(tmp, "perturbed_fit", text)
    with h5py.File(out, "r") as f:
        par = np.array(f["assimilation/parameter"])  # [S, M, R]
        fac = held(f, "drug", steps_of)
        t = np.array(f["monitors/v0_0/time"])
        v = {(b, n): np.array(f[f"monitors/v{b}_{n}/data"])[:, 0, :, 0] for b in range(M) for n in range(R)}
    at = np.rint(t / DT).astype(int)
    per = int(round(PERIOD / DT))
    done = np.arange(steps_of) // per  # samples completed before each step
    worst = 0.0
    for b in range(M):
        for n in range(R):
            i_e = par[np.maximum(done - 1, 0), b, n]  # sample 0 (at start) is not assimilated: the prior
            ref = reference(1.0, steps_of, factor=i_e * (fac if n == 0 else 1.0))
            worst = max(worst, np.max(np.abs(v[(b, n)] - ref[at][:, None])))
    moved = np.max(np.abs(par[-1] - par[0]))
    check("[[perturbation]] with a spiking [assimilation]: I_e = the filter's estimate x the drug's factor",
          worst < 1e-9 and moved > 1.0 and fac.min() < 0.8,
          f"max |V - numpy| = {worst:.2e} mV; estimates moved up to {moved:.1f} pA, factors down to "
          f"{fac.min():.3f}")


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        for n in (4, 5):
            subprocess.run([TB, "connectome", "generate", "--regions", str(n), "--seed", "5", "-o",
                            os.path.join(tmp, f"c{n}.h5")], check=True, capture_output=True)
        with h5py.File(os.path.join(tmp, "c4.h5"), "r") as f:
            labels = [x.decode() for x in f["region_labels"]]
        S = int(FIT_MS / PERIOD)
        with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:  # any BOLD: only the fit's output matters
            f["bold"] = 0.01 * np.random.default_rng(3).standard_normal((R, S))
        fit = run(tmp, "fit", brain(FIT_MS) + BACKGROUND + ASSIM)
        with h5py.File(fit, "r") as f:
            a = f["assimilation"]
            final = np.array(a["mean"])[-1]
            placed = (a.attrs.get("populations"), [x.decode() for x in a["region_labels"]])
        check("the fit records its templates and regions", placed == ("E", labels), f"{placed}")
        steps = int(round(QUIET_MS / DT))

        # every neuron of region r has the fitted I_e of r
        t, v = v_records(run(tmp, "quiet", quiet(labels)))
        at = np.rint(t / DT).astype(int)
        worst = max(np.max(np.abs(v[r] - reference(final[r], steps)[at][:, None])) for r in range(R))
        check("every neuron's V_m follows its region's fitted I_e (the final ensemble mean)",
              worst < 1e-9 and len(t) == QUIET_MS and len(set(np.round(final, 6))) >= 3,
              f"max |V - numpy| = {worst:.2e} mV; fitted I_e {np.round(final, 2)} pA")

        # the same map by hand: the same run, bit for bit
        arr = "[" + ", ".join(repr(float(x)) for x in final) + "]"
        _, vh = v_records(run(tmp, "byhand", quiet(labels, top="", params=f"parameters.I_e = {arr}")))
        check("the fitted map equals the per-region array written by hand, bit for bit",
              all(np.array_equal(v[r], vh[r]) for r in range(R)), "")

        # --parameters-from sets brain.parameters_from in a scenario with [brain]
        _, vc = v_records(run(tmp, "cli", quiet(labels, top=""), args=("--parameters-from", fit)))
        check("--parameters-from FIT.h5: the same twin as the key", all(np.array_equal(v[r], vc[r]) for r in range(R)),
              "")

        # perturbations on top of the fitted value: a drug in the region
        # fitted highest (d), DBS in the next (b)
        d, b = (int(x) for x in np.argsort(final)[::-1][:2])
        pert = f"""
[[perturbation]]
name = "drug"
plugin = "drug"
targets = ["{labels[d]}_E"]
from = 0.0
parameters = {{ dose = 50.0, ka = 200.0, ke = 10.0, emax = -0.5, interval = 2.0, scales = ["I_e"] }}

[[perturbation]]
name = "dbs"
plugin = "stimulation"
targets = ["{labels[b]}_E"]
from = 10.0
parameters = {{ waveform = "dbs", frequency = 100.0, pulse_width = 1.0, amplitude = 200.0 }}
"""
        out = run(tmp, "perturbed", quiet(labels, pert))
        tp, vp = v_records(out)
        with h5py.File(out, "r") as f:
            fac = held(f, "drug", steps)
        dbs = np.array([200.0 if n * DT >= 10.0 and ((n * DT - 10.0) % 10.0) < 1.0 else 0.0 for n in range(steps)])
        e0 = np.max(np.abs(vp[d] - reference(final[d], steps, factor=fac)[at][:, None]))
        e1 = np.max(np.abs(vp[b] - reference(final[b], steps, i_ext=dbs)[at][:, None]))
        check(f"drug on region {d}: I_e = fitted x the drug's factor (numpy)",
              e0 < 1e-9 and fac.min() < 0.8 and final[d] > 10.0,
              f"max |V - numpy| = {e0:.2e} mV; fitted {final[d]:.2f} pA, factors down to {fac.min():.3f}")
        check(f"DBS into region {b}: fitted I_e plus the pulses (numpy)",
              e1 < 1e-9 and not np.array_equal(vp[b], v[b]), f"max |V - numpy| = {e1:.2e} mV")
        check("the other regions are unchanged",
              all(np.array_equal(vp[r], v[r]) for r in range(R) if r not in (d, b)), "")

        # the resolved scenario read back is accepted (the array is the fitted map)
        done = subprocess.run([TB, "check", os.path.join(tmp, "quiet.toml"), "--print"], capture_output=True,
                              text=True)
        back = write(tmp, "back", done.stdout)
        again = subprocess.run([TB, "check", back], capture_output=True, text=True)
        check("the resolved scenario shows the fitted array and is accepted back",
              done.returncode == 0 and again.returncode == 0 and "I_e = [" in done.stdout,
              f"exit {done.returncode}, {again.returncode}: {again.stderr.strip()[:200]}")

        # a lesion of region 0 on the fitted brain silences its out-edges
        lesion = f'\n[[perturbation]]\nplugin = "lesion"\ntargets = ["{labels[0]}_E"]\nat = 0.0\n'
        text = brain(200.0, top=FITTED, monitor='kind = "edge_spikes"\nperiod = 10.0') + BACKGROUND + lesion
        with h5py.File(run(tmp, "lesion", text), "r") as f:
            ev = np.array(f["monitors/edge_spikes/data"])[:, 0, :, :].sum(axis=0)
            edges = np.array(f["monitors/edge_spikes/edges"])
        src = edges[:, 0]
        check("lesioned region 0: its out-edges carry exactly 0, the others carry spikes",
              (src == 0).any() and (src != 0).any() and np.all(ev[src == 0] == 0) and np.all(ev[src != 0] > 0),
              f"{int((src == 0).sum())} out-edges of region 0: {ev[src == 0, 0].tolist()}; others: "
              f"min {ev[src != 0, 0].min() if (src != 0).any() else '-'} events")

        perturbed_fit(tmp, labels, steps_of=int(round(FIT_MS / DT)))

        if dev.first:
            free = run(tmp, "free", brain(50.0, top=FITTED) + BACKGROUND + ASSIM)
            with h5py.File(free, "r") as f:
                lab = [x.decode() for x in f["brain/region_labels"]]
                check("[assimilation] beside brain.parameters_from is not run: one brain, no members",
                      "assimilation" not in f and lab == labels, ", ".join(lab))
            refused(tmp, "missing", quiet(labels, top='parameters_from = "nothere.h5"\n'), 4,
                    ["brain.parameters_from", "nothere.h5"])
            refused(tmp, "notfit", quiet(labels, top='parameters_from = "c4.h5"\n'), 4,
                    ["brain.parameters_from", "/assimilation"])
            refused(tmp, "count", quiet(labels, top=FITTED).replace('"c4.h5"', '"c5.h5"'), 4,
                    ["brain.parameters_from", "4 regions", "has 5"])
            shutil.copy(os.path.join(tmp, "c4.h5"), os.path.join(tmp, "c4x.h5"))
            with h5py.File(os.path.join(tmp, "c4x.h5"), "r+") as f:
                del f["region_labels"]
                f["region_labels"] = np.array([b"X%d" % r for r in range(R)])
            refused(tmp, "labels", quiet(labels, top=FITTED).replace('"c4.h5"', '"c4x.h5"'), 4,
                    ["brain.parameters_from", "region 0", "X0"])
            shutil.copy(fit, os.path.join(tmp, "fit_gL.h5"))
            with h5py.File(os.path.join(tmp, "fit_gL.h5"), "r+") as f:
                f["assimilation"].attrs["parameter"] = "g_L"
            refused(tmp, "lacks", quiet(labels, top='parameters_from = "fit_gL.h5"\n'), 4,
                    ["brain.parameters_from", "g_L", "iaf_psc_exp"])
            refused(tmp, "template", quiet(labels).replace('name = "E"', 'name = "X"').replace('_E"', '_X"'), 4,
                    ["brain.parameters_from", "template 'E'", "its templates: X"])
            refused(tmp, "both", quiet(labels, params="parameters.I_e = 100.0"), 2,
                    ["brain.population[0].parameters.I_e", "brain.parameters_from"])
            refused(tmp, "arraylen", quiet(labels, top="", params="parameters.I_e = [1.0, 2.0]"), 2,
                    ["brain.population[0].parameters.I_e", "(4)", "not 2"])
        shutil.rmtree(tmp, ignore_errors=True)


suite.each(body)
suite.finish()
