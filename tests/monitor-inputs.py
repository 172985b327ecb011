"""The monitors' input files are checked when read, by `run` and by
`check`, with exit status 4 and a message naming the file, the dataset and
what is wrong: an eeg gain matrix without sensors; sensor labels that are
not one per sensor, or not strings (they used to be dropped silently); an
empirical FC that is constant above the diagonal, against which the
Pearson r of every instance is undefined (the run used to print an empty
list of best instances)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TB = os.environ["TWINBRAIN"]
failures = []


def check(name, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


def h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
    return os.path.basename(path)


def expect(name, scenario, status, *texts):
    for cmd in ("check", "run"):
        args = [TB, cmd, scenario] + (["-q", "-o", scenario + ".h5"] if cmd == "run" else [])
        r = subprocess.run(args, capture_output=True, text=True)
        out = r.stdout + r.stderr
        missing = [t for t in texts if t not in out]
        ok = r.returncode == status and not missing
        check(f"{name} ({cmd}): exit {status}", ok, "" if ok else f"exit {r.returncode}, lacks {missing}: {out[:400]}")


with tempfile.TemporaryDirectory() as tmp:
    con = os.path.join(tmp, "c.h5")
    subprocess.run([TB, "connectome", "generate", "--regions", "12", "--seed", "4", "-o", con], check=True,
                   capture_output=True)
    base = f"""
[simulation]
duration = 40.0
dt = 0.1
[connectome]
file = "{con}"
[model]
plugin = "jansen_rit"
[[monitor]]
name = "tavg"
kind = "temporal_average"
period = 2.0
"""

    def scenario(name, monitor):
        path = os.path.join(tmp, name + ".toml")
        with open(path, "w") as f:
            f.write(base + monitor)
        return path

    def eeg(name, gain_file):
        return scenario(name, f'[[monitor]]\nname = "eeg"\nkind = "eeg"\nperiod = 2.0\nvariables = ["y1"]\n'
                              f'gain = "{gain_file}"\n')

    def fc(name, emp_file):
        return scenario(name, f'[[monitor]]\nname = "fc"\nkind = "fc"\nsource = "tavg"\nvariable = "y1"\n'
                              f'start = 10.0\nend = 40.0\nempirical = "{emp_file}"\n')

    gain = np.random.default_rng(1).normal(size=(5, 12))
    g = os.path.join(tmp, "g")
    expect("a gain matrix without sensors", eeg("g0", h5(g + "0.h5", gain=np.zeros((0, 12)))), 4,
           "g0.h5: /gain has 0 sensors")
    expect("4 labels for 5 sensors", eeg("g4", h5(g + "4.h5", gain=gain, labels=[b"a", b"b", b"c", b"d"])), 4,
           "g4.h5: /labels holds 4 labels, but /gain has 5 sensors")
    expect("labels that are numbers", eeg("gn", h5(g + "n.h5", gain=gain, labels=np.arange(5.0))), 4,
           "gn.h5: /labels must hold strings")
    expect("labels as a table", eeg("g2", h5(g + "2.h5", gain=gain, labels=np.array([[b"a"] * 5] * 2))), 4,
           "g2.h5: /labels must be a list of labels, not an array of rank 2 (/gain has 5 sensors")
    expect("labels one per sensor", eeg("g5", h5(g + "5.h5", gain=gain, labels=[f"E{i}".encode() for i in range(5)])),
           0)
    with h5py.File(os.path.join(tmp, "g5.toml.h5")) as f:
        labels = [s.decode() if isinstance(s, bytes) else s for s in f["monitors/eeg/sensor_labels"][:]]
        check("the labels reach the output", labels == [f"E{i}" for i in range(5)], str(labels))

    e = os.path.join(tmp, "e")
    flat = np.full((12, 12), 0.3)
    np.fill_diagonal(flat, 1.0)
    expect("a constant empirical FC", fc("e0", h5(e + "0.h5", fc=flat)), 4,
           "e0.h5: /fc is constant above the diagonal (every pair 0.3)", "Pearson r", "undefined")
    emp = np.corrcoef(np.random.default_rng(2).normal(size=(12, 40)))
    expect("a measured empirical FC", fc("e1", h5(e + "1.h5", fc=emp)), 0)

if failures:
    print("FAIL: " + ", ".join(failures))
    sys.exit(1)
print("PASS")
