"""A drug's dose-response curve: an NMDA antagonist (emax < 0) scaling the
NMDA coupling J_N of the Wong-Wang E-I model (Deco et al. 2014) on the
synthetic 246-region connectome, one run per dose; the mean excitatory
gating S_e over the last second against the dose. The drug is taken at
0.5 s; absorption and elimination are fast here (ka = 20/s, ke = 0.5/s) so
that the effect settles within the run.

    python3 examples/perturbations/drug_dose_response.py [TWINBRAIN] [--short]

Prints dose, the peak concentration, the J_N factor at the end and the
mean S_e; --short runs 1.5 s instead of 3 s (the test does)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TB = next((a for a in sys.argv[1:] if not a.startswith("--")), "twinbrain")
SHORT = "--short" in sys.argv
DURATION = 1500.0 if SHORT else 3000.0

SCENARIO = """
[simulation]
duration = {duration}
dt = 0.1

[connectome]
file = "{connectome}"

[model]
plugin = "wong_wang_ei"

[integrator]
method = "heun"

[[monitor]]
name = "tavg"
kind = "temporal_average"
period = 10.0
variables = ["S_e"]

[[perturbation]]
name = "drug"
plugin = "drug"
targets = "all"
at = 500.0
parameters = {{ dose = {dose}, volume = 1.0, ka = 20.0, ke = 0.5, ec50 = 1.0, hill = 1.5, emax = -0.8, interval = 10.0, scales = ["J_N"] }}
"""


def run(dose, tmp):
    path = os.path.join(tmp, f"dose{dose}.toml")
    with open(path, "w") as f:
        f.write(SCENARIO.format(duration=DURATION, dose=dose,
                                connectome=os.path.join(HERE, "..", "data", "synthetic_246.h5")))
    out = os.path.join(tmp, f"dose{dose}.h5")
    subprocess.run([TB, "run", path, "-o", out, "--quiet"], check=True)
    with h5py.File(out) as f:
        s = f["monitors/tavg/data"][:, 0, :, 0]
        t = f["monitors/tavg/time"][:]
        factor = f["perturbations/drug/event_value"][-1]
    return s[t > DURATION - 1000.0].mean(), factor


def main():
    doses = [0.0, 0.3, 1.0, 3.0, 10.0]
    print("dose (mg)  J_N factor  mean S_e")
    with tempfile.TemporaryDirectory() as tmp:
        for d in doses:
            s, f = run(d, tmp)
            print(f"{d:9.2f}  {f:10.4f}  {s:8.5f}")


if __name__ == "__main__":
    main()
