"""Ctrl-C in Python: SIGINT to a child python running a long run stops it
after a chunk; the child gets twinbrain.Interrupted (status 130, naming the
output, a KeyboardInterrupt) and the file keeps what was written, with
status "interrupted", as `twinbrain run` leaves it (docs/formats.md)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

twinbrain = pyenv.setup()
import h5py  # noqa: E402
import numpy as np  # noqa: E402

S = os.path.join(pyenv.SRCDIR, "examples", "jansen_rit.toml")
c = pyenv.Checks()
check = c.check

CHILD = r"""
import sys, twinbrain
try:
    twinbrain.run(twinbrain.Scenario.load(sys.argv[1]).set("simulation.duration", 200000.0),
                  output=sys.argv[2], progress=False)
except twinbrain.Interrupted as e:
    print("interrupted", e.status, e.output, isinstance(e, KeyboardInterrupt),
          isinstance(e.__cause__, KeyboardInterrupt), e.result.status, flush=True)
    sys.exit(e.status)
print("completed", flush=True)
"""


def rows(path):
    try:
        with h5py.File(path, "r", swmr=True) as f:
            return f["monitors/tavg/time"].shape[0]
    except (OSError, KeyError):
        return 0


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "int.h5")
    child = subprocess.Popen([sys.executable, "-c", CHILD, S, out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    for _ in range(600):  # until the run has written rows (or about a minute)
        if rows(out) > 0 or child.poll() is not None:
            break
        time.sleep(0.1)
    check("the child's run writes rows", rows(out) > 0)
    child.send_signal(signal.SIGINT)
    try:
        stdout, stderr = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        stdout, stderr = child.communicate()
    check("SIGINT: the child exits 130", child.returncode == 130, f"exit {child.returncode}: {stdout} {stderr}")
    words = stdout.split()
    check("SIGINT: twinbrain.Interrupted, status 130, naming the output, a KeyboardInterrupt caused by Ctrl-C",
          words[:6] == ["interrupted", "130", out, "True", "True", "interrupted"], stdout + stderr)
    with h5py.File(out, "r") as f:
        t = f["monitors/tavg/time"][()]
        d = f["monitors/tavg/data"][()]
        a = dict(f.attrs)
    check("the partial file opens as an ordinary HDF5 file, status interrupted",
          a.get("status") == "interrupted" and a.get("completed") == 0, str(a.get("status")))
    check("the partial file holds the rows up to where it stopped",
          0 < len(t) == d.shape[0] and np.all(np.isfinite(d)) and int(a["steps"]) < 2000000, f"{len(t)} rows")
    r = twinbrain.open(out)
    check("twinbrain.open() reads it", r.status == "interrupted" and r.monitors["tavg"].data.shape[0] == len(t))
    print(f"interrupted at {t[-1]:g} ms with {len(t)} rows")

c.finish()
