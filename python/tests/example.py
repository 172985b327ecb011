"""examples/python/resting_sweep.py runs (shortened): it fits G to a subject
made at G = 0.2, prints the fit of every value and the best one, and writes
the sweep's file and its plot."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

twinbrain = pyenv.setup(need_matplotlib=True)
import numpy as np  # noqa: E402

SCRIPT = os.path.join(pyenv.SRCDIR, "examples", "python", "resting_sweep.py")
c = pyenv.Checks()
check = c.check

with tempfile.TemporaryDirectory() as tmp:
    done = subprocess.run([sys.executable, SCRIPT, "--duration", "12000", "--values", "5", "--out", tmp],
                          capture_output=True, text=True)
    print(done.stdout)
    check("the example exits 0", done.returncode == 0, done.stderr[-2000:])
    fits = [(float(g), float(r)) for g, r in re.findall(r"G = ([0-9.]+)\s+r = (-?[0-9.]+)", done.stdout)]
    check("it prints the fit of each of the 5 values of G", len(fits) == 5, str(fits))
    best = re.search(r"best fit: instance (\d+), G = ([0-9.]+), r = (-?[0-9.]+)", done.stdout)
    check("it prints the best fit", best is not None)
    if best and len(fits) == 5:
        check("the best is the largest fit", float(best[3]) == max(r for _, r in fits), str(fits))
    r = twinbrain.open(os.path.join(tmp, "sweep.h5"))
    check("sweep.h5: 5 instances of G and their scores", np.allclose(r.sweep["model.parameters.G"],
                                                                  np.linspace(0.05, 0.45, 5))
          and r.scores() is not None and np.isfinite(r.scores()).all())
    png = os.path.join(tmp, "resting_sweep.png")
    check("it writes its plot", os.path.exists(png) and os.path.getsize(png) > 10000)

c.finish()
