"""The main example (examples/jansen_rit.toml) end to end: its output file
has the documented layout (docs/formats.md), finite values, provenance that
says what produced it, and agrees with the independent numpy reference of
tests/reference.py to 1e-8 relative over the whole run. On every device
(tests/devices.py)."""
import os
import sys
import tempfile
import tomllib

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import reference as ref  # noqa: E402

SRC = os.environ["TB_SRCDIR"]
EXAMPLE = os.path.join(SRC, "examples", "jansen_rit.toml")
ROOT_ATTRS = ["twinbrain_version", "scenario", "platform", "device", "driver_version", "precision", "seed",
              "created_utc", "wall_seconds", "steps"]

REFERENCE = []  # the numpy run, computed once: the same for every device


def reference():
    if not REFERENCE:
        w, tl = ref.read_connectome(os.path.join(SRC, "examples", "data", "synthetic_246.h5"))
        n = w.shape[0]
        x0 = np.zeros((6, n))
        x0[1] = 1.0
        acc = np.zeros((6, n))
        want = []
        for t, x in enumerate(ref.jansen_rit(w, tl, 3.0, 0.1, 20000, x0, params={"mu": 0.22}), start=1):
            acc += x
            if t % 10 == 0:
                want.append((acc[:3] / 10).T.copy())
                acc[:] = 0
        REFERENCE.append(np.array(want))
    return REFERENCE[0]


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "main.h5")
        ref.run_twinbrain(EXAMPLE, out)
        with h5py.File(out, "r") as f:
            missing = [a for a in ROOT_ATTRS if a not in f.attrs]
            assert not missing, f"root attributes missing: {missing}"
            assert f.attrs["precision"] == "double"
            assert dev.name in str(f.attrs["device"]), f"ran on {f.attrs['device']}, not on {dev.label}"
            assert f.attrs["steps"] == 20000 and f.attrs["status"] == "completed"
            assert f.attrs["wall_seconds"] > 0
            resolved = tomllib.loads(f.attrs["scenario"])
            assert resolved["simulation"]["duration"] == 2000.0
            assert resolved["model"]["parameters"]["nu_max"] == 0.0025, "defaults are part of the resolved scenario"
            assert resolved["integrator"]["method"] == "heun"
            assert f.attrs["seed"] == resolved["simulation"]["seed"] == 42
            data, time = f["monitors/tavg/data"], f["monitors/tavg/time"]
            assert data.shape == (2000, 1, 246, 3), data.shape
            assert data.dtype == np.float64 and time.dtype == np.float64
            assert data.chunks is not None and data.compression == "gzip", (data.chunks, data.compression)
            assert data.maxshape[0] is None, "monitor datasets grow along time"
            assert data.attrs["kind"] == "temporal_average"
            assert data.attrs["period_ms"] == 1.0
            assert list(data.attrs["variables"]) == ["y0", "y1", "y2"]
            assert list(data.attrs["units"]) == ["mV", "mV", "mV"]
            assert time.attrs["units"] == "ms"
            assert np.allclose(time[:], np.arange(1, 2001) * 1.0)
            labels = [s.decode() if isinstance(s, bytes) else s for s in f["connectome/region_labels"][:]]
            assert len(labels) == 246 and labels[0] == "L_001"
            got = data[:, 0]  # [T, N, V]
        assert np.all(np.isfinite(got)), "non-finite values in the main example"
        # The same run in numpy: Heun, dt 0.1, sigmoidal_jansen_rit, delays.
        want = reference()
        err = ref.max_rel_err(got, want, axis=-1)
        swing = float(np.ptp(want[1000:, :, 0], axis=0).mean())
        print(f"main example vs numpy reference: max relative error {err:.3g}; mean y0 swing {swing:.3g} mV")
        assert swing > 1e-3, "the example's dynamics are flat"
        assert err <= 1e-8, f"relative error {err} > 1e-8"


suite = devices.Tests()
suite.each(body)
suite.finish()
