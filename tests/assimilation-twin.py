"""Twin experiments on a fitted brain (docs/brain.md, "Twin experiments"):
after an [assimilation] run, the same scenario runs free on the fitted
parameters (model.parameters_from, or `--parameters-from FIT.h5`), with a
perturbation on top.

A short fit (Wong-Wang E-I, 8 regions, 8 members, 3 s) writes fit.h5.
Then, on every device (tests/devices.py):
- `check --print --parameters-from fit.h5` resolves the fitted parameter
  to /assimilation/mean's last row, value for value, and drops
  [assimilation];
- the free run on them is one instance, and equals bit for bit the run
  whose scenario writes that array by hand (and `--parameters-from`
  equals the key, and the resolved scenario read back equals both);
- a lesion (of the most connected region) at 1500 ms on top of the fitted map equals the hand-written
  map with the same lesion, equals the unperturbed twin before 1500 ms,
  and differs from it after;
- the fit names its regions (/assimilation/region_labels: the
  connectome's labels);
- errors: a file that is not a fit's output (status 4), the parameter
  given other values too, without [assimilation] (status 2), a fit run on
  a connectome whose regions are labelled otherwise (status 4, the region
  and both labels; also from `twinbrain check`)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

suite = devices.Tests()
check = suite.check
TB = os.environ["TWINBRAIN"]
R, LOW, HIGH, MEMBERS, PERIOD, DURATION, LESION = 8, 0.0, 0.3, 8, 250.0, 3000.0, 1500.0

BASE = f"""[simulation]
duration = {DURATION}
dt = 0.5
seed = 11

[connectome]
file = "c8.h5"
speed = 3.0

[model]
plugin = "wong_wang_ei"
FROM
[model.parameters]
G = 0.5
IEXT

[coupling]
function = "linear"

[integrator]
method = "heun"
[integrator.noise]
sigma = {{ S_e = 0.01, S_i = 0.01 }}

[[monitor]]
name = "bold"
kind = "bold"
period = {PERIOD}
variables = ["S_e"]

[[monitor]]
name = "tavg"
kind = "temporal_average"
period = 10.0
variables = ["S_e"]
"""

ASSIM = f"""
[assimilation]
data = "subject.h5"
parameter = "I_ext"
members = {MEMBERS}
low = {LOW}
high = {HIGH}
start = 500.0
"""



def lesion_toml(tmp):
    """A lesion of the most connected region (some of the synthetic
    connectome's regions have no edges)."""
    with h5py.File(os.path.join(tmp, "c8.h5"), "r") as f:
        w = np.array(f["weights"])
    hub = int(np.argmax(w.sum(axis=0) + w.sum(axis=1)))
    return f"""
[[perturbation]]
plugin = "lesion"
targets = [{hub}]
at = {LESION}
"""


def scenario(iext="", frm="", extra=""):
    return BASE.replace("FROM", frm).replace("IEXT", iext) + extra


def write(tmp, name, text):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(tmp, name, text=None, args=(), expect=0):
    path = write(tmp, name, text) if text is not None else os.path.join(tmp, "fit.toml")
    out = os.path.join(tmp, name + ".h5")
    done = subprocess.run([TB, "run", path, "-o", out, "--quiet", *args], capture_output=True, text=True)
    if done.returncode != expect:
        raise SystemExit(f"FAIL: twinbrain run {name} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return out if expect == 0 else done.stderr


def monitors(out):
    with h5py.File(out, "r") as f:
        return {k: np.array(f["monitors"][k]["data"]) for k in f["monitors"]}, np.array(f["monitors/tavg/time"])


def fit(tmp):
    """A short fit: the subject's BOLD from a hidden map, then the filter."""
    subprocess.run([TB, "connectome", "generate", "--regions", str(R), "--seed", "5", "-o",
                    os.path.join(tmp, "c8.h5")], check=True, capture_output=True)
    truth = np.random.default_rng(1).uniform(LOW, HIGH, R)
    subject = run(tmp, "subject", scenario("I_ext = [" + ", ".join(f"{x:.17g}" for x in truth) + "]"))
    with h5py.File(subject, "r") as f:
        bold = np.array(f["monitors/bold/data"])[:, 0, :, 0]
    with h5py.File(os.path.join(tmp, "subject.h5"), "w") as f:
        f["bold"] = bold.T
    out = run(tmp, "fit", scenario("I_ext = 0.0", extra=ASSIM))
    with h5py.File(out, "r") as f:
        return np.array(f["assimilation/mean"])[-1], str(f["assimilation"].attrs["parameter"])


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        final, param = fit(tmp)
        check("the fit estimated I_ext, one value per region", param == "I_ext" and final.shape == (R,),
              f"final mean {np.round(final, 3)}")
        done = subprocess.run([TB, "check", os.path.join(tmp, "fit.toml"), "--print", "--parameters-from",
                               os.path.join(tmp, "fit.h5")], capture_output=True, text=True)
        doc = tomllib.loads(done.stdout) if done.returncode == 0 else {}
        got = np.array(doc.get("model", {}).get("parameters", {}).get("I_ext", []), dtype=float)
        check("the resolved scenario holds the fit's final parameters, exactly, and no [assimilation]",
              done.returncode == 0 and np.array_equal(got, final) and "assimilation" not in doc,
              done.stderr.strip()[:300])
        # the free run: --parameters-from on the fit's own scenario, the
        # key in a scenario of its own, and the map written by hand
        cli = run(tmp, "free_cli", args=("--parameters-from", os.path.join(tmp, "fit.h5")))
        key = run(tmp, "free_key", scenario(frm='parameters_from = "fit.h5"'))
        hand_map = "I_ext = [" + ", ".join(repr(float(x)) for x in final) + "]"
        hand = run(tmp, "free_hand", scenario(hand_map))
        (mc, _), (mk, _), (mh, t) = monitors(cli), monitors(key), monitors(hand)
        check("the free run is one instance", mc["bold"].shape == (int(DURATION / PERIOD), 1, R, 1),
              f"bold {mc['bold'].shape}")
        check("free run on the fitted map = the map written by hand, bit for bit (key and option)",
              all(np.array_equal(mc[k], mh[k]) and np.array_equal(mk[k], mh[k]) for k in mh), "")
        with h5py.File(key, "r") as f:
            resolved = tomllib.loads(f.attrs["scenario"])
        check("the output's resolved scenario records the fitted values",
              np.array_equal(np.array(resolved["model"]["parameters"]["I_ext"]), final), "")
        # the resolved scenario read back (check --print, or a resumed run's
        # stored scenario) holds both the key and the values: the same run
        done = subprocess.run([TB, "check", os.path.join(tmp, "free_key.toml"), "--print"], capture_output=True,
                              text=True)
        again = run(tmp, "resolved", done.stdout)
        (ma, _) = monitors(again)
        check("the resolved scenario, read back, runs the same twin",
              done.returncode == 0 and all(np.array_equal(ma[k], mk[k]) for k in mk), done.stderr.strip()[:200])
        # a perturbation on top of the fitted map
        pk = run(tmp, "lesion_key", scenario(frm='parameters_from = "fit.h5"', extra=lesion_toml(tmp)))
        ph = run(tmp, "lesion_hand", scenario(hand_map, extra=lesion_toml(tmp)))
        (lk, _), (lh, _) = monitors(pk), monitors(ph)
        check("lesion on the fitted map = lesion on the map by hand, bit for bit",
              all(np.array_equal(lk[k], lh[k]) for k in lh), "")
        before = t <= LESION
        same = np.array_equal(lk["tavg"][before], mk["tavg"][before])
        diff = np.abs(lk["tavg"][~before] - mk["tavg"][~before]).max()
        check("the lesion changes the twin from 1500 ms on, not before", same and diff > 0,
              f"max |change| after: {diff:.3g}")
        with h5py.File(pk, "r") as f:
            applied = "perturbations" in f and len(f["perturbations"]) == 1
        check("the lesion is recorded in the twin's output", applied, "")
        # errors
        err = run(tmp, "not_fit", scenario(frm=f'parameters_from = "{os.path.join(tmp, "subject.h5")}"'), expect=4)
        check("a file that is not a fit's output: status 4, naming the key",
              "model.parameters_from" in err and "no /assimilation" in err and
              re.search(r"not_fit\.toml:\d+:\d+", err) is not None, err.strip()[:300])
        err = run(tmp, "twice", scenario("I_ext = 0.1", frm='parameters_from = "fit.h5"'), expect=2)
        check("the parameter given twice, without [assimilation]: status 2",
              "model.parameters.I_ext is also set by model.parameters_from" in err, err.strip()[:300])
        # the fit names its regions, and a free run checks them
        with h5py.File(os.path.join(tmp, "c8.h5"), "r") as f:
            labels = [x.decode() if isinstance(x, bytes) else str(x) for x in f["region_labels"]]
        with h5py.File(os.path.join(tmp, "fit.h5"), "r") as f:
            fitted = [x.decode() if isinstance(x, bytes) else str(x) for x in f["assimilation/region_labels"]]
        check("the fit names its regions: the connectome's labels", fitted == labels, f"{fitted}")
        shutil.copy(os.path.join(tmp, "c8.h5"), os.path.join(tmp, "c8_swapped.h5"))
        with h5py.File(os.path.join(tmp, "c8_swapped.h5"), "r+") as f:
            swapped = labels[1:2] + labels[0:1] + labels[2:]
            del f["region_labels"]
            f.create_dataset("region_labels", data=np.array(swapped, dtype=object), dtype=h5py.string_dtype())
        text = scenario(frm='parameters_from = "fit.h5"').replace('"c8.h5"', '"c8_swapped.h5"')
        err = run(tmp, "relabelled", text, expect=4)
        want = f"fit.h5's region 0 is '{labels[0]}', the connectome's is '{labels[1]}'"
        check("a fit of other regions: status 4, the region and both labels, at the key",
              want in err and re.search(r"relabelled\.toml:\d+:\d+: model\.parameters_from", err) is not None,
              err.strip()[:300])
        done = subprocess.run([TB, "check", os.path.join(tmp, "relabelled.toml")], capture_output=True, text=True)
        check("twinbrain check says so too", done.returncode == 4 and want in done.stderr, done.stderr.strip()[:300])
        shutil.rmtree(tmp, ignore_errors=True)


suite.each(body)
suite.finish()
