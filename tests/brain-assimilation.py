"""[assimilation] of a spiking brain (docs/brain.md): the ensemble Kalman
filter recovers a hidden per-region parameter map from BOLD the spiking
model itself produced.

The synthetic subject: a [brain] of one LIF template E (40 neurons per
region, Poisson background, local and connectome E -> E rules) on a
4-region synthetic connectome, with a hidden constant current per region
(uniform in [0, 300] pA, given as a DC input into each region's E
population); its bold monitor (250 ms period, 12 s) is the data,
[regions, samples]. The fit: the same brain with I_e of E estimated per
region by 8 members, which are 8 disjoint copies of the brain in one
network (32 populations), from the uniform prior on the same range. The
members differ from the subject also in their network and input draws.

Done when the final ensemble mean correlates with the truth at >= 0.9
and the forecast BOLD with the data at >= 0.9, both after 1 s (the
file's own figure, checked against numpy) and over the second half (no
haemodynamic transient). Also checked: the layout (as the mass kit's,
with member b's region n at the bold monitor's region b R + n), the
forecast being the members' mean of that monitor, the members' labels and
that no connectome edge joins two members, the spread shrinking, the
values within the prior's range, the same fit for another chunk length;
and errors: members < 2, a parameter the
template's model lacks, a template that is not one, no [brain], no bold
monitor, more populations than a run holds (status 2), a data file of the wrong shape (status 4). On every
device (tests/devices.py)."""
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
R, M, NE, LOW, HIGH = 4, 8, 40, 0.0, 300.0
DT, PERIOD, DURATION, START = 0.5, 250.0, 12000.0, 1000.0


def base(extra=""):
    return small_brain(DURATION, NE, dt=DT, monitor=f'kind = "bold"\nperiod = {PERIOD}') + BACKGROUND + extra


def assim(**over):
    keys = dict(data='"subject.h5"', parameter='"I_e"', members=M, low=LOW, high=HIGH, start=START)
    keys.update(over)
    return "\n[assimilation]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items() if v is not None)


def write(tmp, name, text):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(tmp, name, text, expect=0, env=None):
    path = write(tmp, name, text)
    out = os.path.join(tmp, name + ".h5")
    done = subprocess.run([TB, "run", path, "-o", out, "--quiet"], capture_output=True, text=True, env=env)
    if done.returncode != expect:
        raise SystemExit(f"FAIL: twinbrain run {name} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return out if expect == 0 else done.stderr


def refused(tmp, name, text, status, words):
    """`twinbrain check` refuses the scenario with `status`, naming FILE:LINE:COL and `words`."""
    path = write(tmp, name, text)
    done = subprocess.run([TB, "check", path], capture_output=True, text=True)
    err = done.stderr.strip()
    check(f"{name}: refused with status {status}", done.returncode == status and f"{name}.toml:" in err and
          all(w in err for w in words), f"exit {done.returncode}: {err[:240]}")


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([TB, "connectome", "generate", "--regions", str(R), "--seed", "5", "-o",
                        os.path.join(tmp, "c4.h5")], check=True, capture_output=True)
        with h5py.File(os.path.join(tmp, "c4.h5"), "r") as f:
            labels = [x.decode() for x in f["region_labels"]]
        truth = np.random.default_rng(1).uniform(LOW, HIGH, R)
        dc = "".join(f'\n[[input]]\nname = "dc{r}"\nkind = "dc"\namplitude = {truth[r]:.17g}\n'
                     f'targets = ["{labels[r]}_E"]\n' for r in range(R))
        subject = run(tmp, "subject", base(dc))
        with h5py.File(subject, "r") as f:
            bold = np.array(f["monitors/bold/data"])[:, 0, :, 0]
        with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
            f["bold"] = bold.T  # [regions, samples]
        out = run(tmp, "fit", base() + assim())
        with h5py.File(out, "r") as f:
            a = f["assimilation"]
            par, mean, spread = np.array(a["parameter"]), np.array(a["mean"]), np.array(a["spread"])
            fc, data, t = np.array(a["forecast"]), np.array(a["data"]), np.array(a["time"])
            r_file = float(a["bold_correlation"][0])
            attrs = dict(a.attrs)
            sim = np.array(f["monitors/bold/data"])[:, 0, :, 0]
            brain_labels = [x.decode() for x in f["brain/region_labels"]]
            e = f["brain/connectome_edges/0"]
            src, tgt = np.array(e["source_region"]), np.array(e["target_region"])
            cnt = np.array(e["synapses_per_neuron"])
        S = int(DURATION / PERIOD)
        check("layout", par.shape == (S, M, R) and mean.shape == (S, R) and fc.shape == (S, R) and
              sim.shape == (S, M * R) and np.allclose(t, PERIOD * np.arange(1, S + 1)) and
              attrs.get("parameter") == "I_e" and attrs.get("monitor") == "bold",
              f"{S} samples x {M} members x {R} regions; the bold monitor has {M} x {R} regions")
        check("the members are copies of the brain, labelled m<b>_",
              brain_labels == [f"m{b}_{lab}" for b in range(M) for lab in labels], ", ".join(brain_labels[:R + 1]))
        e0 = src < R
        same = all(np.array_equal(np.stack([src[src // R == b] - b * R, tgt[src // R == b] - b * R,
                                            cnt[src // R == b]]), np.stack([src[e0], tgt[e0], cnt[e0]]))
                   for b in range(M))
        check("no connectome edge between members; each member wired as the first",
              len(src) > 0 and np.array_equal(src // R, tgt // R) and same, f"{len(src)} edges")
        check("the data are the subject's BOLD", np.array_equal(data, bold), "")
        check("forecast = the members' mean BOLD (member b's region n at b R + n)",
              np.allclose(fc, sim.reshape(S, M, R).mean(axis=1), rtol=1e-12, atol=0), "")
        check("parameters within the prior's range", par.min() >= LOW and par.max() <= HIGH,
              f"{par.min():.3g} .. {par.max():.3g}")
        prior_sd = (HIGH - LOW) / np.sqrt(12)
        check("the spread shrinks to under half the prior's", np.median(spread[-1]) < 0.5 * prior_sd,
              f"final spread: median {np.median(spread[-1]):.3g}, max {spread[-1].max():.3g} (prior {prior_sd:.3g})")
        rp = np.corrcoef(mean[-1], truth)[0, 1]
        check("parameter correlation with the truth >= 0.9", rp >= 0.9,
              f"r = {rp:.4f}; final mean {np.round(mean[-1], 1)}, truth {np.round(truth, 1)}")
        use = t > START
        rb = np.corrcoef(fc[use].ravel(), data[use].ravel())[0, 1]
        check("BOLD correlation with the data after 1 s >= 0.9", rb >= 0.9 and abs(rb - r_file) < 1e-9,
              f"r = {rb:.4f} (the file says {r_file:.4f})")
        h = S // 2
        rh = np.corrcoef(fc[h:].ravel(), data[h:].ravel())[0, 1]
        check("BOLD correlation with the data over the second half >= 0.9", rh >= 0.9, f"r = {rh:.4f}")
        if dev.first:  # chunks end at every sample, whatever the chunk length
            other = run(tmp, "chunks", base() + assim(), env=dict(os.environ, TWINBRAIN_CHUNK_STEPS="137"))
            with h5py.File(other, "r") as f:
                same = np.array_equal(np.array(f["assimilation/parameter"]), par)
            check("the fit does not depend on the chunk length (137 steps)", same, "")
        with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
            f["bold"] = bold  # [samples, regions]: transposed
        err = run(tmp, "shape", base() + assim(), expect=4)
        check("a data file of the wrong shape is refused (status 4)", "[regions, samples]" in err, err.strip()[:200])
        if dev.first:
            refused(tmp, "members", base() + assim(members=1), 2, ["assimilation.members"])
            refused(tmp, "param", base() + assim(parameter='"g_L"'), 2,
                    ["assimilation.parameter", "iaf_psc_exp", "'E'", "g_L"])
            refused(tmp, "tmpl", base() + assim(populations='["I"]'), 2, ["assimilation.populations", "'I'"])
            refused(tmp, "nobold", base().replace('kind = "bold"', 'kind = "region_rates"') + assim(), 2,
                    ["bold monitor"])
            nobrain = ('[simulation]\nduration = 100.0\ndt = 0.5\n\n[[population]]\nname = "E"\n'
                       'model = "iaf_psc_exp"\nsize = 4\n' + assim())
            refused(tmp, "nobrain", nobrain, 2, ["[brain]"])
            refused(tmp, "toomany", base() + assim(members=16384), 2, ["65536 populations", "at most 65535"])
        shutil.rmtree(tmp, ignore_errors=True)


suite.each(body)
suite.finish()
