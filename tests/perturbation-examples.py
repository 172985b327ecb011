"""The perturbation examples do what their comments say, on shortened runs
(on the first device): they validate; the Epileptor's seizures end after
the resection; the lesion atlas has one instance per region and compare
ranks them; DBS raises the stimulated neurons' rate most; the drug's
dose-response is monotone; the neurodegeneration course has its four
windows."""
import glob
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import reference as ref  # noqa: E402

TB = os.environ["TWINBRAIN"]
EX = os.path.join(os.environ["TB_SRCDIR"], "examples", "perturbations")
suite = devices.Tests()
failures = suite.failures
check = suite.check

for f in sorted(glob.glob(os.path.join(EX, "*.toml"))):
    done = subprocess.run([TB, "check", f], capture_output=True, text=True)
    check(f"{os.path.basename(f)} validates", done.returncode == 0, done.stderr.strip())
suite.host()


def resection(tmp):
    out = os.path.join(tmp, "res.h5")
    ref.run_twinbrain(os.path.join(EX, "epileptor_resection.toml"), out, "--set", "simulation.duration=3500")
    with h5py.File(out) as f:
        x = f["monitors/tavg/data"][:, 0, :, 0]
        t = f["monitors/tavg/time"][:]
    before, after = (t > 1000) & (t < 2500), t > 3200
    zones = [10, 11, 142, 186]
    check("the zone and the propagation zone seize before the resection",
          (x[before][:, 10:12] > 0).any() and (x[before][:, [142, 186]] > 0).any())
    check("no seizure anywhere from 0.7 s after the resection", not (x[after] > 0).any())
    check("healthy regions never seize", not (np.delete(x, zones, axis=1) > 0).any())


def atlas(tmp):
    out, base = os.path.join(tmp, "atlas.h5"), os.path.join(tmp, "intact.h5")
    toml = os.path.join(EX, "lesion_atlas.toml")
    ref.run_twinbrain(toml, out, "--set", "simulation.duration=60")
    ref.run_twinbrain(toml, base, "--set", "simulation.duration=60", "--set", "perturbation=[]")
    with h5py.File(out) as f:
        shape = f["monitors/tavg/data"].shape
    check("the lesion atlas runs 246 instances in one run", shape[1] == 246, f"{shape}")
    done = subprocess.run([TB, "compare", base, out, "--json"], capture_output=True, text=True)
    m = json.loads(done.stdout)["monitors"][0] if done.returncode == 0 else {}
    check("compare ranks the atlas's 246 instances by FC change",
          len(m.get("fc_rms_change", [])) == 246 and max(m["fc_rms_change"]) > 0, done.stderr)


def dbs(tmp):
    out = os.path.join(tmp, "dbs.h5")
    ref.run_twinbrain(os.path.join(EX, "dbs_spiking.toml"), out, "--set", "simulation.duration=800")
    with h5py.File(out) as f:
        t, i = f["spikes/E/timestamps"][:], f["spikes/E/node_ids"][:]
    w = (t >= 300) & (t < 700)
    stim, rest = (w & (i < 400)).sum() / 160, (w & (i >= 400)).sum() / 160
    check("DBS drives the stimulated half of E well above the rest", stim > 2 * rest > 0, f"{stim} {rest} Hz")


def drug():
    done = subprocess.run([sys.executable, os.path.join(EX, "drug_dose_response.py"), TB, "--short"],
                          capture_output=True, text=True)
    rows = [ln.split() for ln in done.stdout.splitlines()[1:]]
    rows = [r for r in rows if len(r) == 3]
    s = [float(r[2]) for r in rows]
    f = [float(r[1]) for r in rows]
    check("the drug's dose-response is monotone (factor and S_e fall with the dose)",
          done.returncode == 0 and len(s) == 5 and np.all(np.diff(s) < 0) and np.all(np.diff(f) < 0) and f[0] == 1,
          done.stdout + done.stderr)


def course(tmp):
    out = os.path.join(tmp, "course.h5")
    ref.run_twinbrain(os.path.join(EX, "neurodegeneration.toml"), out, "--set", "simulation.duration=400")
    with h5py.File(out) as f:
        steps = list(f["perturbations/pathology/event_step"][:])
        x = f["monitors/tavg/data"][:]
    check("the neurodegeneration course has four windows", steps == [0, 0, 1000, 1000, 2000, 2000, 3000, 3000]
          and np.isfinite(x).all(), f"{steps}")


def body(dev):
    if not dev.first:
        return
    with tempfile.TemporaryDirectory() as tmp:
        resection(tmp)
        atlas(tmp)
        dbs(tmp)
        drug()
        course(tmp)


suite.each(body)
suite.finish()
