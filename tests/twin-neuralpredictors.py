"""A twin written by someone else: a Sensorium-style model built from
neuralpredictors' own layers (Stacked2dCore, FullGaussian2d; sinzlab,
PyPI), exported with torch.onnx.export as its users do, imported and run
by `twinbrain run` with no project-specific step; its responses match
PyTorch's to <= 1e-4 (single) and <= 1e-10 (double) relative to the
largest response, on every device.

neuralpredictors 0.3.0 (the newest on PyPI) imports `Iterable` from
`collections`, which Python 3.10 removed: the test aliases the
collections.abc names before importing it, as its users on a current
Python must. Skips (77) without torch, torchvision, onnx or
neuralpredictors (scripts/install-deps installs them)."""
import collections
import collections.abc
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

torch, onnx, h5py, _ = ref.need("torch", "onnx", "h5py", "torchvision")
for _name in ("Iterable", "Mapping", "Sequence"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
try:
    from neuralpredictors.layers.cores import Stacked2dCore
    from neuralpredictors.layers.readouts import FullGaussian2d
except ImportError as e:
    print(f"SKIP: neuralpredictors is missing or does not import ({e}); scripts/install-deps installs it")
    sys.exit(77)
import torch.nn.functional as F  # noqa: E402

suite = devices.Tests()
check = suite.check
torch.set_num_threads(1)
H, W, FRAMES, B, UNITS = 36, 64, 4, 3, 50


class Twin(torch.nn.Module):
    """The Sensorium 2022 baseline's shape: a stacked 2-D conv core with batch
    norm and ELU, a full Gaussian readout, ELU + 1 (Willeke et al. 2022)."""

    def __init__(self):
        super().__init__()
        self.core = Stacked2dCore(input_channels=1, hidden_channels=16, input_kern=9, hidden_kern=7, layers=3,
                                  gamma_input=6.3, skip=0, final_nonlinearity=True, pad_input=False,
                                  depth_separable=True)
        c, h, w = self.core(torch.zeros(1, 1, H, W)).shape[1:]
        self.readout = FullGaussian2d(in_shape=(c, h, w), outdims=UNITS, bias=True, init_mu_range=0.8,
                                      init_sigma=0.4, gauss_type="full")

    def forward(self, images):
        return F.elu(self.readout(self.core(images))) + 1


def trained_like(m):
    """Weights of a trained network's scales: batch-norm statistics, spread
    readout positions and features (their initial values are zeros/ones)."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                if mod.weight is not None:
                    mod.weight.uniform_(0.5, 1.5)
                if mod.bias is not None:
                    mod.bias.normal_(0, 0.1)
        m.readout.features.normal_(0, 0.3)
        m.readout.bias.normal_(0, 0.1)
    return m.eval()


tmp = tempfile.mkdtemp(prefix="twin-np-")
rng = np.random.default_rng(11)
video = rng.normal(size=(FRAMES, B, H, W)).astype(np.float32)
with h5py.File(os.path.join(tmp, "video.h5"), "w") as f:
    f["frames"] = video

torch.manual_seed(5)
base = trained_like(Twin())
models = {}
for prec, dtype, tol in (("single", torch.float32, 1e-4), ("double", torch.float64, 1e-10)):
    m = Twin().to(dtype)
    m.load_state_dict(base.state_dict())
    m = m.to(dtype).eval()
    path = os.path.join(tmp, f"np_{prec}.onnx")
    torch.onnx.export(m, (torch.zeros(1, 1, H, W, dtype=dtype),), path, input_names=["images"],
                      output_names=["responses"], opset_version=16)
    net = os.path.join(tmp, f"np_{prec}.h5")
    r = ref.run("twin", "import", path, "-o", net)
    print(r.stdout.strip())
    with torch.no_grad():
        x = torch.from_numpy(video.reshape(-1, 1, H, W)).to(dtype)
        want = m(x).numpy().astype(np.float64).reshape(FRAMES, B, UNITS)
    toml = os.path.join(tmp, f"{prec}.toml")
    with open(toml, "w") as f:
        f.write(f'[simulation]\nduration = {FRAMES}\ndt = 1\nprecision = "{prec}"\n\n'
                f'[twin]\nnetwork = "np_{prec}.h5"\nbatch = {B}\n\n[twin.input]\nkind = "file"\nfile = "video.h5"\n')
    models[prec] = (toml, want, tol)


def body(dev):
    for prec, (toml, want, tol) in models.items():
        if prec == "double" and not suite.needs_fp64("the double-precision model"):
            continue
        out = os.path.join(tmp, f"out_{prec}_{dev.index}.h5")
        ref.run("run", toml, "-o", out, "--quiet")
        with h5py.File(out) as f:
            got = f["twin/responses"][()]
        ok = got.shape == want.shape
        e = ref.rel_err(got, want) if ok else float("inf")
        check(f"{prec}: neuralpredictors' Stacked2dCore + FullGaussian2d, /twin/responses {list(got.shape)} "
              "vs PyTorch", ok and e <= tol and float(np.std(want)) > 1e-3,
              f"max |difference| / max |response| = {e:.2e} (<= {tol:g}); spread {float(np.std(want)):.3f}")


suite.each(body, fp64=False)
suite.finish()
