"""Fit a synthetic spiking subject with [assimilation] (docs/brain.md).

The subject is a [brain] of one LIF template E (iaf_psc_exp, Poisson
background, local and connectome E -> E rules) on a synthetic connectome
with a hidden constant current per region (uniform in [0, 300] pA, DC
inputs into each region's E); its BOLD is written as [regions, samples]
and fitted back by the ensemble Kalman filter, which estimates I_e of E
per region with `members` copies of the brain in one network. Prints the
parameter correlation with the truth and the BOLD correlation with the
data (the configuration of tests/brain-assimilation.py by default).

With --twin, a dry experiment on the fitted brain follows (docs/brain.md,
"A fitted spiking brain"): the same brain runs free on the fitted map
(brain.parameters_from = "fit.h5", no [assimilation]), once as it is and
once with the region fitted highest lesioned from the start, and the
mean rate of every region is printed for both.

    python3 examples/brain/fit_spiking.py [--regions 4] [--members 8] [--duration 12000] [--twin] [--keep DIR]

Needs numpy and h5py, and twinbrain on PATH (or $TWINBRAIN). The program
has members x regions populations: its first compile takes minutes.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import h5py
import numpy as np

BASE = """[simulation]
duration = {duration}
dt = 0.5
seed = 7

[brain]
connectome = "{connectome}"
speed = 10.0

[[brain.population]]
name = "E"
model = "iaf_psc_exp"
size = {neurons}
[brain.population.initial]
V_m = {{ dist = "uniform", low = -70.0, high = -55.0 }}

[[brain.projection]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 5
weight = 20.0

[[brain.projection]]
source = "E"
target = "E"
rule = "connectome"
indegree = 10
weight = 20.0

[[brain.monitor]]
kind = "bold"
period = {period}

[[input]]
name = "bg"
kind = "poisson"
rate = 8000.0
weight = 20.0
targets = ["E"]
"""


def fit(tb, tmp, regions=4, members=8, duration=12000.0, period=250.0, start=1000.0, neurons=40):
    """The subject's run and the fit in folder tmp; returns the figures."""
    conn = os.path.join(tmp, "connectome.h5")
    subprocess.run([tb, "connectome", "generate", "--regions", str(regions), "--seed", "5", "-o", conn],
                   check=True, capture_output=True)
    with h5py.File(conn, "r") as f:
        labels = [x.decode() for x in f["region_labels"]]
    low, high = 0.0, 300.0
    truth = np.random.default_rng(1).uniform(low, high, regions)
    base = BASE.format(duration=duration, connectome=conn, period=period, neurons=neurons)
    subj = os.path.join(tmp, "subject.toml")
    with open(subj, "w") as f:
        f.write(base + "".join(f'\n[[input]]\nname = "dc{r}"\nkind = "dc"\namplitude = {truth[r]:.17g}\n'
                               f'targets = ["{labels[r]}_E"]\n' for r in range(regions)))
    subprocess.run([tb, "run", subj, "-o", os.path.join(tmp, "subject_run.h5"), "-q"], check=True)
    with h5py.File(os.path.join(tmp, "subject_run.h5"), "r") as f:
        bold = np.array(f["monitors/bold/data"])[:, 0, :, 0]
    with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
        f["bold"] = bold.T
    path = os.path.join(tmp, "fit.toml")
    with open(path, "w") as f:
        f.write(base + f'\n[assimilation]\ndata = "subject.h5"\nparameter = "I_e"\nmembers = {members}\n'
                f'low = {low}\nhigh = {high}\nstart = {start}\n')
    t0 = time.time()
    subprocess.run([tb, "run", path, "-o", os.path.join(tmp, "fit.h5"), "-q"], check=True)
    wall = time.time() - t0
    with h5py.File(os.path.join(tmp, "fit.h5"), "r") as f:
        g = f["assimilation"]
        mean, spread = np.array(g["mean"]), np.array(g["spread"])
        r_bold = float(g["bold_correlation"][0])
        fc, data, t = np.array(g["forecast"]), np.array(g["data"]), np.array(g["time"])
    half = t > t[-1] / 2
    return {"regions": regions, "members": members, "samples": len(t), "period_ms": period, "duration_ms": duration,
            "fit_seconds": wall, "real_time_factor": wall / (duration * 1e-3),
            "parameter_r": float(np.corrcoef(mean[-1], truth)[0, 1]), "bold_r": r_bold,
            "bold_r_second_half": float(np.corrcoef(fc[half].ravel(), data[half].ravel())[0, 1]),
            "spread_ratio": float(np.median(spread[-1]) / ((high - low) / np.sqrt(12)))}


def twin(tb, tmp, duration, neurons, fitted):
    """The free runs on fit.h5 in tmp: unperturbed, and with the region
    fitted highest lesioned; their mean rates per region, Hz."""
    conn = os.path.join(tmp, "connectome.h5")
    with h5py.File(conn, "r") as f:
        labels = [x.decode() for x in f["region_labels"]]
    top = int(np.argmax(fitted))
    base = BASE.format(duration=duration, connectome=conn, period=250.0, neurons=neurons)
    base = base.replace('speed = 10.0\n', 'speed = 10.0\nparameters_from = "fit.h5"\n', 1)
    base = base.replace('kind = "bold"\nperiod = 250.0', 'kind = "region_rates"\nperiod = 10.0', 1)
    lesion = f'\n[[perturbation]]\nplugin = "lesion"\ntargets = ["{labels[top]}_E"]\nat = 0.0\n'
    rates = {}
    for name, text in (("twin", base), ("twin_lesion", base + lesion)):
        path = os.path.join(tmp, name + ".toml")
        with open(path, "w") as f:
            f.write(text)
        subprocess.run([tb, "run", path, "-o", os.path.join(tmp, name + ".h5"), "-q"], check=True)
        with h5py.File(os.path.join(tmp, name + ".h5"), "r") as f:
            rates[name] = np.array(f["monitors/region_rates/data"])[:, 0, :, 0].mean(axis=0)
    return {"labels": labels, "fitted_I_e": [round(float(x), 2) for x in fitted], "lesioned": labels[top],
            "rates_hz": [round(float(x), 2) for x in rates["twin"]],
            "rates_lesioned_hz": [round(float(x), 2) for x in rates["twin_lesion"]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", type=int, default=4)
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--duration", type=float, default=12000.0, help="ms")
    ap.add_argument("--period", type=float, default=250.0, help="the BOLD period, ms")
    ap.add_argument("--start", type=float, default=1000.0, help="ms before the filter starts")
    ap.add_argument("--neurons", type=int, default=40, help="per region")
    ap.add_argument("--keep", help="keep the files in this folder")
    ap.add_argument("--twin", action="store_true", help="then run the fitted brain free, with and without a lesion")
    a = ap.parse_args()
    tb = os.environ.get("TWINBRAIN", "twinbrain")
    kw = dict(regions=a.regions, members=a.members, duration=a.duration, period=a.period, start=a.start,
              neurons=a.neurons)

    def both(tmp):
        r = fit(tb, tmp, **kw)
        if a.twin:
            with h5py.File(os.path.join(tmp, "fit.h5"), "r") as f:
                fitted = np.array(f["assimilation/mean"])[-1]
            r["twin"] = twin(tb, tmp, min(a.duration, 2000.0), a.neurons, fitted)
        return r

    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        r = both(a.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            r = both(tmp)
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
