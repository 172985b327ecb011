"""The examples do what examples/README.md and their comments say, on
shortened runs: every example validates; Kuramoto synchronises at strong
coupling and not at zero coupling; the Epileptor's epileptogenic zone
seizes first and recruits the propagation zone while healthy regions stay
quiet; the resting state's BOLD and FC are finite and its FC is not
saturated."""
import glob
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
EX = os.path.join(os.environ["TB_SRCDIR"], "examples")
suite = devices.Tests()
failures = suite.failures
check = suite.check

# validation needs no device: once
for f in sorted(glob.glob(os.path.join(EX, "*.toml"))):
    done = subprocess.run([TB, "check", f], capture_output=True, text=True)
    check(f"{os.path.basename(f)} validates", done.returncode == 0, done.stderr.strip())
suite.host()


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "k.h5")
        ref.run_twinbrain(os.path.join(EX, "kuramoto_sweep.toml"), out, "--set", "simulation.duration=600",
                          "--set", 'sweep={"coupling.parameters.a" = [0.0, 600.0]}')
        with h5py.File(out) as f:
            th = f["monitors/theta/data"][:, :, :, 0]
        R = np.abs(np.exp(1j * th).mean(axis=2))[-200:].mean(axis=0)
        check("Kuramoto: incoherent without coupling, synchronised at a = 600", R[0] < 0.2 and R[1] > 0.9,
              f"R = {R[0]:.3f}, {R[1]:.3f}")

        # The propagation zone (142, 186) is just below the threshold: recruited
        # by the zone's seizure, it must not seize on its own (the same
        # scenario with the zone healthy), or "recruited" would mean nothing.
        zones, pz_regions = (10, 11), (142, 186)
        onsets = {}
        for case, extra in (("zone", []), ("alone", ["--set", "model.parameters.x0=[" + ", ".join(
                "-2.045" if r in pz_regions else "-2.2" for r in range(246)) + "]"])):
            out = os.path.join(tmp, f"e-{case}.h5")
            ref.run_twinbrain(os.path.join(EX, "epileptor_seizure.toml"), out, "--set", "simulation.duration=2200",
                              *extra)
            with h5py.File(out) as f:
                x1 = f["monitors/tavg/data"][:, 0, :, 0]
                t = f["monitors/tavg/time"][:]
            onsets[case] = [t[np.argmax(x1[:, r] > 0)] if (x1[:, r] > 0).any() else None for r in range(x1.shape[1])]
        onset = onsets["zone"]
        ez = [onset[r] for r in zones]
        pz = [onset[r] for r in pz_regions]
        healthy = [r for r in range(len(onset)) if r not in zones + pz_regions and onset[r] is not None]
        check("Epileptor: the epileptogenic zone seizes first", all(o is not None and o < 800 for o in ez), str(ez))
        check("Epileptor: the propagation zone is recruited after it",
              all(o is not None and o > max(ez) for o in pz), str(pz))
        check("Epileptor: healthy regions stay out of seizure", not healthy, f"seizing: {healthy[:10]}")
        alone = [r for r, o in enumerate(onsets["alone"]) if o is not None]
        check("Epileptor: without the zone's seizure the propagation zone does not seize", not alone,
              f"seizing: {alone[:10]}")

        out = os.path.join(tmp, "r.h5")
        ref.run_twinbrain(os.path.join(EX, "resting_state.toml"), out, "--set", "simulation.duration=20000")
        with h5py.File(out) as f:
            bold = f["monitors/bold/data"][:]
            fc = f["monitors/fc/data"][0, 0]
        iu = np.triu_indices(fc.shape[0], 1)
        check("resting state: BOLD finite, FC finite", np.isfinite(bold).all() and np.isfinite(fc).all())
        check("resting state: FC not saturated", 0.0 < fc[iu].mean() < 0.5, f"mean FC {fc[iu].mean():.3f}")


suite.each(body)
suite.finish()
