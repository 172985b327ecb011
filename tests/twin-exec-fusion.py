"""The executor's run-time rewrites (docs/twin.md, "What runs") on the
fnn-style feed-forward core (tests/twin_fnn.py's Feedforward, small and
with odd widths): copies by row chunks (the dense concatenations, the
causal convolutions' frame windows, their state's Slice; rows of 2 x 190,
190, 2 x 47, ... elements: chunk tails), the GELU of each causal Conv
applied as it writes through the `[:, :, 0]` Gather (which then shares
its input's buffer), GELUs inside the stem and 1x1 Convs, the zero Pads
before the average pools sharing their input. Every output (the core's
map and the six state windows), for 3 instances with a random state,
matches PyTorch (1e-5 single, 1e-12 double, relative to the largest
value) and equals, bit for bit, the same network run with every rewrite
off (TWINBRAIN_TWIN_FUSE=0), in both precisions, on every device; and
`twinbrain run --profile` shows the rewrites happened (fewer launches, no
Gather or GELU Mul launch left for the causal Convs). Skips (77) without
torch, onnx or h5py."""
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

torch, onnx, h5py = ref.need("torch", "onnx", "h5py")
from torch import nn  # noqa: E402

import twin_fnn  # noqa: E402

suite = devices.Tests()
check = suite.check
torch.set_num_threads(1)
tmp = tempfile.mkdtemp(prefix="twin-exec-fusion-")
B, H, W = 3, 20, 76  # the core runs at 10 x 38, 5 x 19, 2 x 9
TOL = {"single": 1e-5, "double": 1e-12}


class Core(nn.Module):
    def __init__(self):
        super().__init__()
        self.ff = twin_fnn.Feedforward(4, ((5, 1), (6, 2), (8, 2)), 7)
        c, self.shapes = 4, []
        for b, (growth, _) in enumerate(((5, 1), (6, 2), (8, 2))):
            for _ in range(2):
                self.shapes.append((1, c, 2, (H // 2) >> b, (W // 2) >> b))
                c += growth

    def forward(self, frames, *bufs):
        y, new = self.ff(frames, list(bufs))
        return (y, *new)


torch.manual_seed(5)
model = Core().eval()
names = [f"buf{k}" for k in range(len(model.shapes))]
outs = ["core"] + [n + "_next" for n in names]
rng = np.random.default_rng(11)
feeds = {"frames": rng.uniform(0, 1, (B, 1, 1, H, W))}
for n, s in zip(names, model.shapes):
    feeds[n] = rng.normal(0, 0.5, (B,) + s)
with h5py.File(os.path.join(tmp, "video.h5"), "w") as f:
    f["frames"] = rng.uniform(0, 1, (4, H, W)).astype(np.float32)

cases = {}
for prec, dtype, npt in (("single", torch.float32, np.float32), ("double", torch.float64, np.float64)):
    m = model.to(dtype)
    path = os.path.join(tmp, f"core_{prec}.onnx")
    torch.onnx.export(m, (torch.zeros(1, 1, H, W, dtype=dtype),) + tuple(torch.zeros(*s, dtype=dtype)
                                                                          for s in model.shapes),
                      path, input_names=["frames"] + names, output_names=outs, opset_version=16)
    net = os.path.join(tmp, f"core_{prec}.h5")
    ref.run("twin", "import", path, "-o", net)
    with h5py.File(os.path.join(tmp, f"feeds_{prec}.h5"), "w") as f:
        for k, v in feeds.items():
            f[k] = v.astype(npt)
    with torch.no_grad():
        res = [m(*[torch.from_numpy(feeds[k][b].astype(npt)) for k in ["frames"] + names]) for b in range(B)]
    cases[prec] = (net, {k: np.stack([r[j].double().numpy() for r in res]) for j, k in enumerate(outs)})
    with open(os.path.join(tmp, f"core_{prec}.toml"), "w") as f:
        f.write(f'[simulation]\nduration = 4\ndt = 1\nprecision = "{prec}"\n\n[twin]\nnetwork = "{net}"\n'
                f'batch = 1\n\n[twin.input]\nkind = "file"\nfile = "{tmp}/video.h5"\n')


def evaluate(net, prec, dev, tag, fuse):
    out = os.path.join(tmp, f"out_{prec}_{tag}_{dev.index}.h5")
    env = dict(os.environ)
    for k in ("TWINBRAIN_TWIN_FUSE", "TWINBRAIN_TWIN_SPLIT"):
        if fuse:
            os.environ.pop(k, None)
        else:
            os.environ[k] = "0"
    try:
        ref.run("twin", "eval", net, os.path.join(tmp, f"feeds_{prec}.h5"), "-o", out, "--precision", prec)
    finally:
        os.environ.clear()
        os.environ.update(env)
    with h5py.File(out) as f:
        return {k: f[k][()] for k in outs}


def launches(prec, dev, fuse):
    """(launches a frame, {op: launches}) of `twinbrain run --profile` on 4 frames."""
    env = dict(os.environ)
    if not fuse:
        os.environ["TWINBRAIN_TWIN_FUSE"] = "0"
    try:
        r = ref.run("run", os.path.join(tmp, f"core_{prec}.toml"), "-o",
                    os.path.join(tmp, f"run_{prec}_{fuse}_{dev.index}.h5"), "--profile")
    finally:
        os.environ.clear()
        os.environ.update(env)
    total = re.search(r"nodes in (\d+) launches", r.stdout)
    per_op = {m.group(1): int(m.group(2)) // 4 for m in re.finditer(r"^\s*kernel\s+(\S+)\s+(\d+)", r.stdout, re.M)}
    return (int(total.group(1)) if total else -1), per_op


def body(dev):
    for prec, (net, want) in cases.items():
        if prec == "double" and not suite.needs_fp64("the double-precision cases"):
            continue
        fused, plain = evaluate(net, prec, dev, "fused", True), evaluate(net, prec, dev, "plain", False)
        for k, v in want.items():
            got = fused[k]
            e = ref.rel_err(got, v) if got.shape == v.shape else float("inf")
            same = got.shape == plain[k].shape and np.array_equal(got, plain[k])
            diff = ref.rel_err(got, plain[k]) if got.shape == plain[k].shape else float("inf")
            check(f"{prec} {k} {list(v.shape[1:])}: vs PyTorch, and bit for bit vs TWINBRAIN_TWIN_FUSE=0",
                  e <= TOL[prec] and same and float(np.std(v)) > 1e-3,
                  f"vs PyTorch {e:.2e} (<= {TOL[prec]:g}), vs unfused {diff:.2e} (must be 0)")
        if prec == "single":
            (n_f, ops_f), (n_p, ops_p) = launches(prec, dev, True), launches(prec, dev, False)
            # (batch 1) 6 causal Convs: each loses its Gather and GELU (Div, Erf, Add, Mul, Mul)
            # launches; the stem and 1x1 Convs their GELUs; the 2 zero Pads their copies (the
            # stem's replicate Pad stays)
            check("the rewrites happened: fewer launches, no Gather or Erf left, the 2 zero Pads shared",
                  0 < n_f < n_p and ops_f.get("Gather", 0) == 0 and ops_p.get("Gather", 0) == 6 and
                  ops_f.get("Erf", 0) == 0 and ops_p.get("Erf", 0) == 8 and ops_f.get("Pad", 0) == 1 and
                  ops_p.get("Pad", 0) == 3,
                  f"{n_f} launches a frame fused, {n_p} with TWINBRAIN_TWIN_FUSE=0; fused {ops_f}, unfused {ops_p}")


suite.each(body, fp64=False)
suite.finish()
