"""Twin plugins (docs/plugins.md, "Twin plugins"): the gaussian_readout
plugin's op against numpy on odd shapes, in single and double precision,
on every device (graphs built with onnx.helper, both align_corners, taps
outside the map); a network with the op exported from PyTorch (a symbolic
autograd Function, the way torch.onnx exports a custom op) imports and
matches PyTorch's own computation of it (GridSample, sum, ELU + 1); and
the refusals: an op of a domain no plugin provides (op, node, domain), a
weight computed at run time, a network file whose plugin is not loaded,
and a plugin with a bad table (refused at load, as the other kinds)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

onnx, h5py = ref.need("onnx", "h5py")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

suite = devices.Tests()
check = suite.check
rng = np.random.default_rng(11)
B = 3
DOMAIN = "org.twinbrain"
tmp = tempfile.mkdtemp(prefix="twin-plugin-")


def readout_ref(x, grid, feat, bias, align, alpha=1.0, offset=1.0):
    """One instance: x [N, C, H, W], grid [N, U, 1, 2] -> [N, U]."""
    s = ref.grid_sample(x, grid, align, "zeros")[:, :, :, 0]  # [N, C, U]
    C, U = s.shape[1], s.shape[2]
    y = np.einsum("ncu,cu->nu", s, feat.reshape(C, U)) + bias
    return ref.elu(y, alpha) + offset


def save(graph, name, opsets):
    path = os.path.join(tmp, name)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets]), path)
    return path


# ---- the op against numpy: N 2, C 5, 7 x 9 map, 13 units; positions beyond +-1 read zeros
def op_graph(dtype, npt):
    N, C, H, W, U = 2, 5, 7, 9, 13
    feeds = {"x": rng.normal(size=(B, N, C, H, W)).astype(npt),
             "grid": rng.uniform(-1.15, 1.15, size=(B, N, U, 1, 2)).astype(npt)}
    feat = rng.normal(size=(1, C, 1, U)) * 0.5
    bias = rng.normal(size=U) * 0.2
    inits = [numpy_helper.from_array(feat.astype(npt), "feat"), numpy_helper.from_array(bias.astype(npt), "bias")]
    nodes = [helper.make_node("GaussianReadout", ["x", "grid", "feat", "bias"], ["y_align"], name="ro_align",
                              domain=DOMAIN, align_corners=1),
             helper.make_node("GaussianReadout", ["x", "grid", "feat", "bias"], ["y_edges"], name="ro_edges",
                              domain=DOMAIN, alpha=0.5, offset=2.0)]
    g = helper.make_graph(nodes, "readout",
                          [helper.make_tensor_value_info("x", dtype, [N, C, H, W]),
                           helper.make_tensor_value_info("grid", dtype, [N, U, 1, 2])],
                          [helper.make_tensor_value_info("y_align", dtype, None),
                           helper.make_tensor_value_info("y_edges", dtype, None)], inits)
    want = {"y_align": lambda f: readout_ref(f["x"], f["grid"], feat, bias, True),
            "y_edges": lambda f: readout_ref(f["x"], f["grid"], feat, bias, False, 0.5, 2.0)}
    return g, feeds, want


# ---- a network exported from PyTorch: conv core, shifter from pupil position, the readout as a custom op
def torch_models():
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("note: python module 'torch' is missing (scripts/install-deps installs python3-torch): "
              "the PyTorch export case is skipped")
        return {}
    torch.manual_seed(3)
    C, U, H, W = 6, 17, 15, 21

    class Readout(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, grid, feat, bias):
            s = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)[..., 0]
            return F.elu((s * feat.reshape(1, C, U)).sum(1) + bias) + 1

        @staticmethod
        def symbolic(g, x, grid, feat, bias):
            return g.op(DOMAIN + "::GaussianReadout", x, grid, feat, bias, align_corners_i=1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, C, 5, padding=2)
            self.shifter = torch.nn.Linear(2, 2)
            self.mu = torch.nn.Parameter(torch.rand(1, U, 1, 2) * 1.6 - 0.8)
            self.feat = torch.nn.Parameter(torch.randn(1, C, 1, U) * 0.3)
            self.bias = torch.nn.Parameter(torch.randn(U) * 0.1)

        def forward(self, img, pupil):
            h = F.elu(self.conv(img))
            shift = torch.tanh(self.shifter(pupil)).reshape(1, 1, 1, 2) * 0.2
            return Readout.apply(h, torch.clamp(self.mu + shift, -1, 1), self.feat, self.bias)

    out = {}
    for prec, tdt in (("single", torch.float32), ("double", torch.float64)):
        net = Net().to(tdt).eval()
        img = torch.rand(B, 1, 1, H, W, dtype=tdt)
        pupil = torch.randn(B, 1, 2, dtype=tdt)
        path = os.path.join(tmp, f"torch_{prec}.onnx")
        torch.onnx.export(net, (img[0], pupil[0]), path, input_names=["img", "pupil"], output_names=["resp"],
                          opset_version=16, custom_opsets={DOMAIN: 1})
        with torch.no_grad():
            want = np.stack([net(img[b], pupil[b]).double().numpy() for b in range(B)])
        out[prec] = (path, {"img": img.numpy(), "pupil": pupil.numpy()}, want)
    return out


def import_net(path, name):
    net = os.path.join(tmp, name)
    ref.run("twin", "import", path, "-o", net)
    return net


def write_feeds(name, feeds):
    path = os.path.join(tmp, name)
    with h5py.File(path, "w") as f:
        for k, v in feeds.items():
            f[k] = v
    return path


cases = {}
for prec, dtype, npt, tol in (("single", TensorProto.FLOAT, np.float32, 2e-5),
                              ("double", TensorProto.DOUBLE, np.float64, 1e-12)):
    g, feeds, want = op_graph(dtype, npt)
    net = import_net(save(g, f"op_{prec}.onnx", [("", 16), (DOMAIN, 1)]), f"op_{prec}.h5")
    cases[prec] = [("op", net, write_feeds(f"op_feeds_{prec}.h5", feeds), feeds, want, tol)]
with h5py.File(cases["double"][0][1]) as f:
    node = f["nodes"]["000000"].attrs
    check("the network file records the custom op's domain",
          node["op"] == "GaussianReadout" and node["domain"] == DOMAIN, f"{node['op']} {node['domain']}")
for prec, (path, feeds, want) in torch_models().items():
    net = import_net(path, f"torch_{prec}.h5")
    with h5py.File(net) as f:
        ops = [f["nodes"][k].attrs["op"] for k in sorted(f["nodes"])]
    check(f"{prec}: torch.onnx wrote the readout as the custom op", "GaussianReadout" in ops, str(ops))
    tol = 1e-4 if prec == "single" else 1e-10
    cases[prec].append(("torch", net, write_feeds(f"torch_feeds_{prec}.h5", feeds), feeds,
                        {"resp": lambda f, w=want: w}, tol))


def body(dev):
    for prec, runs in cases.items():
        if prec == "double" and not suite.needs_fp64("the double-precision cases"):
            continue
        for label, net, feeds_path, feeds, want, tol in runs:
            out = os.path.join(tmp, f"out_{label}_{prec}_{dev.index}.h5")
            ref.run("twin", "eval", net, feeds_path, "-o", out, "--precision", prec)
            with h5py.File(out) as f:
                for name, fn in want.items():
                    got = f[name][()]
                    if label == "torch":
                        w = fn(None)
                    else:
                        w = np.stack([fn({k: v[b].astype(np.float64) for k, v in feeds.items()}) for b in range(B)])
                    ok = got.shape == w.shape
                    e = ref.rel_err(got, w) if ok else float("inf")
                    check(f"{prec} {label} {name} {list(w.shape[1:])}", ok and e <= tol,
                          f"max error / max |value| = {e:.2e} (<= {tol:g}); shape {got.shape}")


suite.each(body, fp64=False)

# ---- listing
r = ref.run("plugins")
check("'plugins' lists the twin plugin and the built-in op set",
      "gaussian_readout" in r.stdout and "built in: ONNX ops" in r.stdout and "GridSample" in r.stdout, r.stdout)
r = ref.run("plugins", "gaussian_readout")
check("'plugins NAME' describes the op, its inputs and weights",
      "op: GaussianReadout (domain org.twinbrain)" in r.stdout and "features (weight)" in r.stdout, r.stdout)

# ---- refusals
unknown = helper.make_graph([helper.make_node("Frobnicate", ["a"], ["b"], name="the_frob", domain="org.example")],
                            "bad", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])],
                            [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)])
r = ref.run("twin", "import", save(unknown, "unknown.onnx", [("", 16), ("org.example", 1)]), "-o",
            os.path.join(tmp, "unknown.h5"), expect=4)
check("unknown custom op: exit 4 naming op, node and domain",
      all(s in r.stderr for s in ("Frobnicate", "the_frob", "org.example", "no twin plugin")), r.stderr.strip())

g, _, _ = op_graph(TensorProto.FLOAT, np.float32)
g.input.append(helper.make_tensor_value_info("feat_in", TensorProto.FLOAT, [1, 5, 1, 13]))
g.node[0].input[2] = "feat_in"
r = ref.run("twin", "import", save(g, "weight.onnx", [("", 16), (DOMAIN, 1)]), "-o", os.path.join(tmp, "w.h5"),
            expect=4)
check("a weight computed at run time is refused naming the input",
      "ro_align" in r.stderr and "features ('feat_in') is a weight" in r.stderr, r.stderr.strip())

empty = os.path.join(tmp, "no-plugins")
os.mkdir(empty)
env = dict(os.environ, TWINBRAIN_PLUGIN_PATH=empty)
r = subprocess.run([ref.TWINBRAIN, "twin", "eval", cases["single"][0][1], cases["single"][0][2], "-o",
                    os.path.join(tmp, "x.h5")], capture_output=True, text=True, env=env)
check("a network whose plugin is not loaded: exit 4 naming op and domain",
      r.returncode == 4 and "GaussianReadout" in r.stderr and DOMAIN in r.stderr, f"exit {r.returncode}: {r.stderr}")

env = dict(os.environ, TWINBRAIN_PLUGIN_PATH=os.path.join(os.environ["TB_BUILDDIR"], "tests", "plugins"))
r = subprocess.run([ref.TWINBRAIN, "plugins"], capture_output=True, text=True, env=env)
check("a twin plugin with a bad table is refused at load, naming file and reason",
      "bad_twin" in r.stdout and "`weights` marks input 3, but the op has 1 inputs" in r.stdout, r.stdout)
suite.finish()
