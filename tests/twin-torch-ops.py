"""The second op set as PyTorch exports it (torch.onnx.export, opset 17):
a small model using nn.LayerNorm, nn.InstanceNorm2d, F.pad (reflect and
replicate), nn.Conv3d, nn.ConvTranspose2d, torch.split (Split),
torch.einsum, nn.GRU and nn.LSTM with their states as inputs, F.gelu (exported as Div, Erf, Add, Mul,
Mul: the executor runs it as one pass, or inside the Conv before it where
only the GELU reads the Conv, or as exported where another node reads its
input); imported, evaluated by `twin eval` for 3
instances and compared with PyTorch, single (<= 1e-5) and double
(<= 1e-12: ONNX keeps the normalisations' epsilon as a float32, about
2.5e-13 from PyTorch's 1e-5, which moves the outputs by about 1e-13),
on every device."""
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

suite = devices.Tests()
check = suite.check
B = 3


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm([6, 10])
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.c3 = nn.Conv3d(4, 6, (2, 3, 3), padding=(0, 1, 1), groups=2)
        self.ct = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.gru = nn.GRU(5, 7)
        self.lstm = nn.LSTM(7, 3)
        self.feat = nn.Parameter(torch.randn(5, 4))
        self.c2 = nn.Conv2d(6, 6, 3, padding=1)
        self.c2b = nn.Conv2d(6, 6, 3, padding=1)

    def forward(self, x, seq, h, hl, cl):
        y = self.inorm(F.pad(x, (1, 2, 2, 1), mode="reflect"))          # [1, 4, 9, 13]
        y = self.ln(F.pad(y, (0, -3, 0, -3), mode="replicate"))[:, :, :, :].reshape(1, 4, 6, 10)
        v = torch.stack([y, torch.tanh(y)], 2)                            # [1, 4, 2, 6, 10]
        z = F.gelu(self.c3(v)[:, :, 0])                                   # [1, 6, 6, 10]; GELU in one pass
        w = self.c2(z)
        z = F.gelu(self.c2b(z)) + F.gelu(w) + w  # GELU inside c2b; w has a third reader: GELU as exported
        a, b = torch.split(self.ct(z), [1, 3], dim=1)                     # [1, 1, 12, 20], [1, 3, 12, 20]
        r = torch.einsum("bchw,uc->bu", torch.cat([a, b * b], 1), self.feat)
        g, h = self.gru(seq, h)
        o, (hl, cl) = self.lstm(g, (hl, cl))
        return r, o, h, hl, cl


torch.manual_seed(3)
model = Mixed().eval()
with torch.no_grad():
    model.inorm.weight.uniform_(0.5, 1.5)
    model.ln.weight.uniform_(0.5, 1.5)
rng = np.random.default_rng(2)
shapes = {"x": (1, 4, 6, 10), "seq": (4, 1, 5), "h": (1, 1, 7), "hl": (1, 1, 3), "cl": (1, 1, 3)}
outs = ["r", "o", "h_next", "hl_next", "cl_next"]
tmp = tempfile.mkdtemp(prefix="twin-torch-ops-")
cases = {}
for prec, dtype, npt, tol in (("single", torch.float32, np.float32, 1e-5), ("double", torch.float64, np.float64, 1e-12)):
    m = model.to(dtype)
    path = os.path.join(tmp, f"mixed_{prec}.onnx")
    torch.onnx.export(m, tuple(torch.zeros(*s, dtype=dtype) for s in shapes.values()), path,
                      input_names=list(shapes), output_names=outs, opset_version=17)
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    net = os.path.join(tmp, f"mixed_{prec}.h5")
    ref.run("twin", "import", path, "-o", net)
    feeds = {k: rng.normal(size=(B,) + s).astype(npt) for k, s in shapes.items()}
    with h5py.File(os.path.join(tmp, f"feeds_{prec}.h5"), "w") as f:
        for k, v in feeds.items():
            f[k] = v
    with torch.no_grad():
        res = [m(*[torch.from_numpy(feeds[k][b]) for k in shapes]) for b in range(B)]
    want = {k: np.stack([r[j].double().numpy() for r in res]) for j, k in enumerate(outs)}
    cases[prec] = (net, want, tol)
    if prec == "single":
        need = {"LayerNormalization", "InstanceNormalization", "Pad", "Conv", "ConvTranspose", "Split", "Einsum", "GRU",
                "LSTM", "Erf"}
        check("PyTorch exported the ops under test", need <= set(ops), f"ops: {', '.join(ops)}")


def body(dev):
    for prec, (net, want, tol) in cases.items():
        if prec == "double" and not suite.needs_fp64("the double-precision cases"):
            continue
        out = os.path.join(tmp, f"out_{prec}_{dev.index}.h5")
        ref.run("twin", "eval", net, os.path.join(tmp, f"feeds_{prec}.h5"), "-o", out, "--precision", prec)
        with h5py.File(out) as f:
            for k, v in want.items():
                got = f[k][()]
                e = ref.rel_err(got, v) if got.shape == v.shape else float("inf")
                check(f"{prec} {k} {list(v.shape[1:])}", e <= tol, f"shape {got.shape}, error {e:.2e} (<= {tol:g})")


suite.each(body, fp64=False)
suite.finish()
