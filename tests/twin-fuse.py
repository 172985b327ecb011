"""The importer's readout fusion (docs/twin.md, "The readout, fused"):
Gaussian readouts exported by torch.onnx.export (the Sensorium-style
reference model of tests/twin_models.py, the fnn-style readout of
tests/twin_fnn.py with border padding and `[..., 0]`, neuralpredictors'
FullGaussian2d when it is installed) import as one GridSampleReadout node
(the network file's node list says so) and match PyTorch at the kit's
tolerances (1e-4 single, 1e-10 double, relative to the largest response)
and the unfused import (`--no-fuse`) to 1e-6 / 1e-13, on every device.
Near misses stay unfused and still match: features shaped [C, 1] (the
Mul broadcasts over the units), and a sampled map that another op reads
too. Skips (77) without torch, onnx or h5py."""
import collections
import collections.abc
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

torch, onnx, h5py = ref.need("torch", "onnx", "h5py")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import twin_fnn  # noqa: E402
import twin_models  # noqa: E402

suite = devices.Tests()
check = suite.check
torch.set_num_threads(1)
tmp = tempfile.mkdtemp(prefix="twin-fuse-")
B, H, W = 3, 18, 32
TOL = {"single": (1e-4, 1e-6), "double": (1e-10, 1e-13)}


class FnnReadout(nn.Module):
    """A conv map read by the fnn-style readout (border, align_corners false)."""

    def __init__(self, c=6, units=23):
        super().__init__()
        self.conv = nn.Conv2d(1, c, 3, padding=1)
        self.readout = twin_fnn.Readout(c, units)

    def forward(self, images):
        return self.readout(self.conv(images))


class NearMiss(nn.Module):
    """The Sensorium readout with one departure from the pattern."""

    def __init__(self, kind, c=5, units=17):
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv2d(1, c, 3, padding=1)
        self.mu = nn.Parameter(torch.rand(1, units, 1, 2) * 1.6 - 0.8)
        shape = (1, c, 1) if kind == "features [C, 1]" else (1, c, units)
        self.features = nn.Parameter(torch.randn(*shape) / c ** 0.5)
        self.bias = nn.Parameter(torch.randn(units) * 0.1)

    def forward(self, images):
        y = F.grid_sample(self.conv(images), self.mu, align_corners=True).squeeze(-1)
        r = (y * self.features).sum(1) + self.bias
        return r + y.mean(1) if self.kind == "sampled map read twice" else r


def neuralpredictors_readout():
    for name in ("Iterable", "Mapping", "Sequence"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    try:
        from neuralpredictors.layers.readouts import FullGaussian2d
    except ImportError as e:
        print(f"SKIP (this case only): neuralpredictors is missing or does not import ({e})")
        return None

    class Np(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 7, 5, padding=2)
            self.readout = FullGaussian2d(in_shape=(7, H, W), outdims=19, bias=True, init_mu_range=0.8,
                                          init_sigma=0.4, gauss_type="full")

        def forward(self, images):
            return self.readout(self.conv(images))

    torch.manual_seed(3)
    m = Np()
    with torch.no_grad():
        m.readout.features.normal_(0, 0.3)
        m.readout.bias.normal_(0, 0.1)
    return m


def ops_of(net):
    with h5py.File(net) as f:
        return [f["nodes"][k].attrs["op"] for k in sorted(f["nodes"])]


def inputs_of(model):
    rng = np.random.default_rng(7)
    feeds = {"images": rng.normal(size=(B, 1, 1, H, W))}
    if isinstance(model, twin_models.SensoriumModel):
        feeds["pupil"] = rng.normal(size=(B, 1, 2)) * 0.5
    return feeds


torch.manual_seed(1)
models = {"Sensorium-style (tests/twin_models.py)": (twin_models.sensorium_model(channels=6, layers=2, units=31), True),
          "fnn-style readout (tests/twin_fnn.py)": (FnnReadout(), True)}
npr = neuralpredictors_readout()
if npr is not None:
    models["neuralpredictors FullGaussian2d"] = (npr, True)
for kind in ("features [C, 1]", "sampled map read twice"):
    models[f"near miss: {kind}"] = (NearMiss(kind), False)

cases = []
for i, (label, (model, fusable)) in enumerate(models.items()):
    model = model.eval()
    feeds = inputs_of(model)
    with h5py.File(os.path.join(tmp, f"in{i}.h5"), "w") as f:
        for k, v in feeds.items():
            f[k] = v
    for prec, dtype in (("single", torch.float32), ("double", torch.float64)):
        m = model.to(dtype)
        onnx_path = os.path.join(tmp, f"m{i}_{prec}.onnx")
        names = list(feeds)
        torch.onnx.export(m, tuple(torch.zeros(v.shape[1:], dtype=dtype) for v in feeds.values()), onnx_path,
                          input_names=names, output_names=["responses"], opset_version=16)
        fused, plain = os.path.join(tmp, f"m{i}_{prec}.h5"), os.path.join(tmp, f"m{i}_{prec}_nf.h5")
        r = ref.run("twin", "import", onnx_path, "-o", fused)
        ref.run("twin", "import", onnx_path, "-o", plain, "--no-fuse")
        ops, plain_ops = ops_of(fused), ops_of(plain)
        if fusable:
            check(f"{label}, {prec}: the import fuses the readout into one GridSampleReadout node",
                  ops.count("GridSampleReadout") == 1 and "GridSample" not in ops and "ReduceSum" not in ops
                  and "readouts fused" in r.stdout and len(plain_ops) > len(ops),
                  f"nodes {ops} (--no-fuse: {len(plain_ops)} nodes)")
        else:
            check(f"{label}, {prec}: the readout stays unfused", "GridSampleReadout" not in ops and
                  "GridSample" in ops and ops == plain_ops, f"nodes {ops}")
        check(f"{label}, {prec}: --no-fuse keeps the exported ops", "GridSampleReadout" not in plain_ops and
              "GridSample" in plain_ops and "ReduceSum" in plain_ops, f"nodes {plain_ops}")
        with torch.no_grad():
            want = np.stack([m(*(torch.from_numpy(v[b]).to(dtype) for v in feeds.values())).numpy()
                             for b in range(B)]).astype(np.float64)
        cases.append((label, prec, i, fused, plain, want))


def body(dev):
    for label, prec, i, fused, plain, want in cases:
        if prec == "double" and not suite.needs_fp64(f"{label}, double"):
            continue
        got = {}
        for which, net in (("fused", fused), ("plain", plain)):
            out = os.path.join(tmp, f"out{i}_{prec}_{which}_{dev.index}.h5")
            ref.run("twin", "eval", net, os.path.join(tmp, f"in{i}.h5"), "-o", out, "--precision", prec)
            with h5py.File(out) as f:
                got[which] = f["responses"][()]
        tol, tol_plain = TOL[prec]
        ok = got["fused"].shape == want.shape
        e = ref.rel_err(got["fused"], want) if ok else float("inf")
        d = ref.rel_err(got["fused"], got["plain"]) if ok else float("inf")
        check(f"{label}, {prec}: responses {list(want.shape)} vs PyTorch and vs --no-fuse",
              ok and e <= tol and d <= tol_plain and float(np.std(want)) > 1e-3,
              f"vs PyTorch {e:.2e} (<= {tol:g}), vs unfused {d:.2e} (<= {tol_plain:g})")


suite.each(body, fp64=False)
suite.finish()
