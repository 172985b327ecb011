"""The twin examples (examples/twin/) do what their README says, shortened:
the shipped twin, trained on Gabor simple cells with planted places and
orientations (examples/twin/train_gabor_twin.py), shows those
orientations in the orientation-tuning scenario and those places in the
receptive-field scenario (white noise, fewer frames here), and `twin
similarity` finds like-to-like: units of the same orientation correlate
over the gratings far more than orthogonal ones."""
import math
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

(h5py,) = ref.need("h5py")
EX = os.path.join(os.environ["TB_SRCDIR"], "examples", "twin")
NET = os.path.join(EX, "gabor_twin.h5")
# what train_gabor_twin.py planted: unit 4 p + o at PLACES[p] with ORIENTATIONS[o]
PLACES = [(7.0, 8.0), (16.0, 8.0), (11.5, 16.0)]
ORIENTATIONS = [0.0, 45.0, 90.0, 135.0]
U = len(PLACES) * len(ORIENTATIONS)
suite = devices.Tests()
check = suite.check
tmp = tempfile.mkdtemp(prefix="twin-examples-")

with open(os.path.join(EX, "train_gabor_twin.py")) as f:
    src = f.read()
check("the test plants what the training script planted",
      f"PLACES = {PLACES}" in src and f"ORIENTATIONS = {ORIENTATIONS}" in src)


def shortened(name, **changes):
    """The example with its network path made absolute and some keys of its experiment changed."""
    with open(os.path.join(EX, name)) as f:
        text = f.read().replace('network = "gabor_twin.h5"', f'network = "{NET}"')
    for k, v in changes.items():
        text, n = re.subn(rf"(?m)^{k} = .*$", f"{k} = {v}", text)
        assert n == 1, k
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


for name in ("orientation_tuning.toml", "receptive_field.toml"):
    r = ref.run("check", os.path.join(EX, name))
    check(f"{name} validates", True)
suite.host()


def angle_diff(a, b, period):
    return np.abs((np.asarray(a) - b + period / 2) % period - period / 2)


def body(dev):
    ori = os.path.join(tmp, f"ori_{dev.index}.h5")
    ref.run("run", os.path.join(EX, "orientation_tuning.toml"), "-o", ori, "--quiet")
    with h5py.File(ori) as f:
        g = f["twin/experiments/ori"]
        po, dsi, osi = g["preferred_orientation"][()], g["dsi"][()], g["osi"][()]
    want = np.array([ORIENTATIONS[u % 4] for u in range(U)])
    err = angle_diff(po, want, 180)
    check("every unit prefers the orientation planted in it (within 15 degrees)", np.all(err < 15),
          f"errors {np.round(err, 1)}")
    check("simple cells: orientation but not direction selective", np.all(osi > 0.05) and np.all(dsi < 0.05),
          f"OSI {np.round(osi, 2)}, DSI {np.round(dsi, 2)}")
    rf = os.path.join(tmp, f"rf_{dev.index}.h5")
    ref.run("run", shortened("receptive_field.toml", frames=150), "-o", rf, "--quiet")
    with h5py.File(rf) as f:
        g = f["twin/experiments/rf"]
        centre, sigma = g["centre"][()], g["sigma"][()]
    place = np.array([PLACES[u // 4] for u in range(U)])
    d = np.hypot(*(centre - place).T)
    check("every unit's RF is centred where it was planted (within 0.5 pixel)", np.all(d < 0.5),
          f"distances {np.round(d, 2)}")
    # an even Gabor's main lobe is narrow across its stripes: along x at 0 degrees, along y at 90
    sx, sy = np.abs(sigma[:, 0]), np.abs(sigma[:, 1])
    check("the fitted lobes are narrow across the planted stripes",
          np.all(sx[0::4] < sy[0::4]) and np.all(sy[2::4] < sx[2::4]), f"{np.round(sigma, 2)}")
    if dev.first:
        sim = os.path.join(tmp, "sim.h5")
        ref.run("twin", "similarity", ori, "-o", sim, "--network", NET, "--features", "features")
        with h5py.File(sim) as f:
            s = f["twin/similarity"]
            a, b, sc = s["unit_a"][()], s["unit_b"][()], s["signal_correlation"][()]
            fs = s["feature_similarity"][()]
        same, orth = (a % 4) == (b % 4), (a - b) % 4 == 2
        check("like-to-like: same-orientation units correlate over the gratings, orthogonal ones much less",
              sc[same].mean() > 0.8 and sc[orth].mean() < sc[same].mean() - 0.3,
              f"same {sc[same].mean():.3f}, orthogonal {sc[orth].mean():.3f}")
        check("and their readout features are more alike", fs[same].mean() > fs[orth].mean() + 0.1,
              f"same {fs[same].mean():.3f}, orthogonal {fs[orth].mean():.3f}")


suite.each(body, fp64=False)
suite.finish()
