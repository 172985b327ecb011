"""The twin kit's op library against numpy (tests/twin_reference.py), on
odd shapes, in single and double precision, on every device: one ONNX
graph built with onnx.helper holds one small case per op (its own input,
its own output); it is imported, evaluated for 3 batch instances with
`twinbrain twin eval`, and each output is compared with numpy's value.
Also: shape arithmetic folded at import (Shape -> Gather -> Unsqueeze ->
Concat -> Reshape), BatchNormalization folded into a Conv, and the errors
for an unsupported op and a dynamic input size."""
import os
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
rng = np.random.default_rng(7)
B = 3  # batch instances


def f32(x):
    """An ONNX float attribute's value (attributes are float32)."""
    return float(np.float32(x))


class Graph:
    def __init__(self, dtype):
        self.dtype = dtype
        self.np = np.float32 if dtype == TensorProto.FLOAT else np.float64
        self.nodes, self.inputs, self.outputs, self.inits = [], [], [], []
        self.feeds, self.cases = {}, []

    def inp(self, name, shape, lo=-1.0, hi=1.0):
        v = rng.uniform(lo, hi, size=(B,) + tuple(shape)).astype(self.np)
        self.inputs.append(helper.make_tensor_value_info(name, self.dtype, list(shape)))
        self.feeds[name] = v
        return name

    def const(self, name, value, dtype=None):
        value = np.asarray(value)
        if dtype is None:
            value = value.astype(self.np)
        else:
            value = value.astype(dtype)
        self.inits.append(numpy_helper.from_array(value, name))
        return value

    def node(self, op, ins, out, **attrs):
        self.nodes.append(helper.make_node(op, ins, [out], name=f"n_{out}", **attrs))
        return out

    def case(self, out, fn):
        """fn(feeds of one instance) -> numpy value of output `out`."""
        self.outputs.append(helper.make_tensor_value_info(out, self.dtype, None))
        self.cases.append((out, fn))

    def model(self):
        g = helper.make_graph(self.nodes, "ops", self.inputs, self.outputs, self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)], producer_name="twin-ops test")


def build(dtype):
    g = Graph(dtype)
    # ---- Conv: groups, strides, dilations, asymmetric pads; depthwise; 1x1; BN folded into a conv
    x = g.inp("cx", (2, 4, 9, 11))
    w1 = g.const("w1", rng.normal(size=(6, 2, 3, 2)) * 0.4)
    b1 = g.const("b1", rng.normal(size=6))
    g.node("Conv", ["cx", "w1", "b1"], "conv_g", group=2, strides=[2, 1], dilations=[1, 2], pads=[1, 0, 2, 1])
    g.case("conv_g", lambda f: ref.conv2d(f["cx"], w1, b1, (2, 1), (1, 0, 2, 1), (1, 2), 2))
    w2 = g.const("w2", rng.normal(size=(4, 1, 5, 5)) * 0.3)
    g.node("Conv", ["cx", "w2"], "conv_dw", group=4, pads=[2, 2, 2, 2])
    g.case("conv_dw", lambda f: ref.conv2d(f["cx"], w2, None, (1, 1), (2, 2, 2, 2), (1, 1), 4))
    w3 = g.const("w3", rng.normal(size=(5, 4, 1, 1)))
    g.node("Conv", ["cx", "w3"], "c1x1", pads=[0, 0, 0, 0])
    gam, bet = g.const("gam", rng.uniform(0.5, 2, 5)), g.const("bet", rng.normal(size=5))
    mu, var = g.const("mu", rng.normal(size=5)), g.const("var", rng.uniform(0.5, 2, 5))
    g.node("BatchNormalization", ["c1x1", "gam", "bet", "mu", "var"], "conv_bn", epsilon=1e-3)
    eps = float(np.float32(1e-3))  # ONNX float attributes are float32
    g.case("conv_bn", lambda f: (ref.conv2d(f["cx"], w3) - mu[None, :, None, None]) /
           np.sqrt(var[None, :, None, None] + eps) * gam[None, :, None, None] + bet[None, :, None, None])
    # ---- the register-tiled kernels: 8-channel tiles with a channel and a column tail, stride 2 across
    # columns, padding on both sides; grouped 4-channel tiles; a dilation whose tile would read more
    # input columns than a tile holds (the direct kernel)
    g.inp("cx2", (2, 3, 7, 70))
    w4 = g.const("w4", rng.normal(size=(10, 3, 3, 3)) * 0.3)
    b4 = g.const("b4", rng.normal(size=10))
    g.node("Conv", ["cx2", "w4", "b4"], "conv_t8", strides=[1, 2], pads=[1, 1, 1, 2])
    g.case("conv_t8", lambda f: ref.conv2d(f["cx2"], w4, b4, (1, 2), (1, 1, 1, 2)))
    w5 = g.const("w5", rng.normal(size=(15, 1, 2, 5)) * 0.3)
    g.node("Conv", ["cx2", "w5"], "conv_t4", group=3, pads=[0, 3, 1, 2])
    g.case("conv_t4", lambda f: ref.conv2d(f["cx2"], w5, None, (1, 1), (0, 3, 1, 2), (1, 1), 3))
    w6 = g.const("w6", rng.normal(size=(9, 3, 1, 7)) * 0.3)
    g.node("Conv", ["cx2", "w6"], "conv_dil", dilations=[1, 10], pads=[0, 30, 0, 30])
    g.case("conv_dil", lambda f: ref.conv2d(f["cx2"], w6, None, (1, 1), (0, 30, 0, 30), (1, 10)))
    # ---- 16-column tiles (single precision on devices preferring 16-float vectors, else 8): 45 output
    # columns (two whole tiles and a tail of 13), padding on both sides, a channel tail, ELU applied
    g.inp("cx3", (2, 3, 5, 45))
    w7 = g.const("w7", rng.normal(size=(11, 3, 3, 3)) * 0.3)
    b7 = g.const("b7", rng.normal(size=11))
    g.node("Conv", ["cx3", "w7", "b7"], "conv_wide_pre", pads=[1, 1, 1, 1])
    g.node("Elu", ["conv_wide_pre"], "conv_wide", alpha=0.9)
    g.case("conv_wide", lambda f: ref.elu(ref.conv2d(f["cx3"], w7, b7, (1, 1), (1, 1, 1, 1)), f32(0.9)))
    # ---- edge tiles of a 3x3 convolution padded by one column that load the row's first or last
    # tile-width columns, shifted by one: 32 columns (16-column tiles: the first shifted right, the
    # second left; a channel tail), 24 (8-column tiles), 16 (one 16-column tile shifted both ways)
    for k, (cin, wd, m) in enumerate(((5, 32, 11), (4, 24, 9), (3, 16, 8))):
        g.inp(f"ce{k}", (2, cin, 6, wd))
        we = g.const(f"we{k}", rng.normal(size=(m, cin, 3, 3)) * 0.3)
        be = g.const(f"be{k}", rng.normal(size=m))
        g.node("Conv", [f"ce{k}", f"we{k}", f"be{k}"], f"conv_edge{k}", pads=[1, 1, 1, 1])
        g.case(f"conv_edge{k}", lambda f, k=k, we=we, be=be: ref.conv2d(f[f"ce{k}"], we, be, (1, 1), (1, 1, 1, 1)))
    # ---- an activation after a conv that nothing else reads is applied by the conv as it writes;
    # a conv whose output is also read elsewhere (here: a graph output) keeps its own launch
    g.node("Conv", ["cx2", "w4", "b4"], "conv_pre_elu", pads=[1, 1, 1, 1])
    g.node("Elu", ["conv_pre_elu"], "conv_elu", alpha=0.7)
    g.case("conv_elu", lambda f: ref.elu(ref.conv2d(f["cx2"], w4, b4, (1, 1), (1, 1, 1, 1)), f32(0.7)))
    g.node("Conv", ["cx2", "w6"], "conv_kept", pads=[0, 3, 0, 3])
    g.node("Relu", ["conv_kept"], "conv_relu")
    g.case("conv_kept", lambda f: ref.conv2d(f["cx2"], w6, None, (1, 1), (0, 3, 0, 3)))
    g.case("conv_relu", lambda f: np.maximum(ref.conv2d(f["cx2"], w6, None, (1, 1), (0, 3, 0, 3)), 0))
    # ---- BatchNormalization on its own (not after a conv): runs as a per-channel affine
    g.node("BatchNormalization", ["cx", "gam4", "bet4", "mu4", "var4"], "bn")
    gm4, bt4 = g.const("gam4", rng.uniform(0.5, 2, 4)), g.const("bet4", rng.normal(size=4))
    mu4, vr4 = g.const("mu4", rng.normal(size=4)), g.const("var4", rng.uniform(0.5, 2, 4))
    g.case("bn", lambda f: (f["cx"] - mu4[None, :, None, None]) / np.sqrt(vr4[None, :, None, None] + 1e-5) *
           gm4[None, :, None, None] + bt4[None, :, None, None])
    # ---- Gemm (transB, C broadcast over rows), MatMul batched with broadcasting
    g.inp("ga", (3, 5))
    gw = g.const("gw", rng.normal(size=(7, 5)))
    gc = g.const("gc", rng.normal(size=7))
    g.node("Gemm", ["ga", "gw", "gc"], "gemm", transB=1, alpha=0.7, beta=1.3)
    g.case("gemm", lambda f: f32(0.7) * f["ga"] @ gw.T + f32(1.3) * gc)
    g.inp("ma", (2, 3, 4, 5))
    mb = g.const("mb", rng.normal(size=(3, 5, 6)))
    g.node("MatMul", ["ma", "mb"], "matmul")
    g.case("matmul", lambda f: f["ma"] @ mb)
    # register tiles: whole 8-column tiles read as vectors and a column tail, a row tail, two run-time
    # operands; Gemm with transB (columns not contiguous) and transA
    g.inp("mc", (5, 9))
    g.inp("md", (9, 19))
    g.node("MatMul", ["mc", "md"], "matmul_t")
    g.case("matmul_t", lambda f: f["mc"] @ f["md"])
    gw2 = g.const("gw2", rng.normal(size=(21, 9)))
    g.node("Gemm", ["mc", "gw2"], "gemm_tb", transB=1)
    g.case("gemm_tb", lambda f: f["mc"] @ gw2.T)
    g.node("Gemm", ["md", "gw2"], "gemm_ta", transA=1, transB=1, alpha=0.5)
    g.case("gemm_ta", lambda f: f32(0.5) * f["md"].T @ gw2.T)
    # ---- elementwise binary with broadcasting
    g.inp("ea", (2, 3, 5), 0.5, 2.0)
    eb = g.const("eb", rng.uniform(0.5, 2.0, size=(3, 1)))
    for op, fn in (("Add", np.add), ("Sub", np.subtract), ("Mul", np.multiply), ("Div", np.divide),
                   ("Pow", np.power)):
        out = g.node(op, ["ea", "eb"], op.lower())
        g.case(out, lambda f, fn=fn: fn(f["ea"], eb))
    # two run-time operands
    g.node("Mul", ["ea", "ea"], "square")
    g.case("square", lambda f: f["ea"] * f["ea"])
    # ---- unary
    g.inp("u", (4, 7), -3.0, 3.0)
    g.inp("up", (4, 7), 0.1, 3.0)
    unary = (("Relu", "u", {}, lambda v: np.maximum(v, 0)), ("Elu", "u", {"alpha": 0.7}, lambda v: ref.elu(v, f32(0.7))),
             ("Sigmoid", "u", {}, lambda v: 1 / (1 + np.exp(-v))), ("Tanh", "u", {}, np.tanh),
             ("Softplus", "u", {}, lambda v: np.log1p(np.exp(v))), ("Exp", "u", {}, np.exp),
             ("Log", "up", {}, np.log), ("Abs", "u", {}, np.abs), ("Neg", "u", {}, np.negative),
             ("Sqrt", "up", {}, np.sqrt), ("LeakyRelu", "u", {"alpha": 0.1}, lambda v: np.where(v >= 0, v, f32(0.1) * v)))
    for op, src, attrs, fn in unary:
        out = g.node(op, [src], "u_" + op.lower(), **attrs)
        g.case(out, lambda f, fn=fn, src=src: fn(f[src]))
    g.const("lo", -0.5), g.const("hi", 1.25)
    g.node("Clip", ["u", "lo", "hi"], "clip")
    g.case("clip", lambda f: np.clip(f["u"], -0.5, 1.25))
    # ---- pools
    g.inp("px", (2, 3, 8, 11))
    g.node("AveragePool", ["px"], "avgpool", kernel_shape=[3, 2], strides=[2, 3], pads=[1, 0, 1, 1])
    g.case("avgpool", lambda f: ref.pool2d(f["px"], (3, 2), (2, 3), (1, 0, 1, 1), "avg"))
    g.node("AveragePool", ["px"], "avgpool_inc", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
           count_include_pad=1)
    g.case("avgpool_inc", lambda f: ref.pool2d(f["px"], (3, 3), (2, 2), (1, 1, 1, 1), "avg", 1))
    g.node("MaxPool", ["px"], "maxpool", kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 0, 1])
    g.case("maxpool", lambda f: ref.pool2d(f["px"], (2, 3), (2, 2), (0, 1, 0, 1), "max"))
    g.node("GlobalAveragePool", ["px"], "gap")
    g.case("gap", lambda f: f["px"].mean(axis=(2, 3), keepdims=True))
    # ---- data movement
    g.inp("t", (2, 3, 4, 5))
    g.node("Transpose", ["t"], "transpose", perm=[2, 0, 3, 1])
    g.case("transpose", lambda f: f["t"].transpose(2, 0, 3, 1))
    g.const("sl_s", [1, -1], np.int64), g.const("sl_e", [4, -6], np.int64)
    g.const("sl_a", [2, 3], np.int64), g.const("sl_p", [2, -2], np.int64)
    g.node("Slice", ["t", "sl_s", "sl_e", "sl_a", "sl_p"], "slice")
    g.case("slice", lambda f: f["t"][:, :, 1:4:2, ::-2])
    g.node("Concat", ["t", "t_sq"], "concat", axis=1)
    g.node("Mul", ["t", "t"], "t_sq")
    g.nodes.insert(len(g.nodes) - 2, g.nodes.pop())  # t_sq before the Concat that reads it
    g.case("concat", lambda f: np.concatenate([f["t"], f["t"] ** 2], axis=1))
    g.const("rs", [0, -1, 10], np.int64)
    g.node("Reshape", ["t", "rs"], "reshape_raw")
    g.node("Relu", ["reshape_raw"], "reshape")
    g.case("reshape", lambda f: np.maximum(f["t"].reshape(2, -1, 10), 0))
    g.node("Flatten", ["t"], "flat_raw", axis=2)
    g.node("Neg", ["flat_raw"], "flatten")
    g.case("flatten", lambda f: -f["t"].reshape(6, 20))
    g.const("ax1", [1, 4], np.int64)
    g.node("Unsqueeze", ["t", "ax1"], "unsq_raw")
    g.node("Abs", ["unsq_raw"], "unsqueeze")
    g.case("unsqueeze", lambda f: np.abs(f["t"][:, None, :, :, None]))
    g.const("ax23", [2, 3], np.int64)
    g.node("Squeeze", ["gap", "ax23"], "squeeze_raw")
    g.node("Exp", ["squeeze_raw"], "squeeze")
    g.case("squeeze", lambda f: np.exp(f["px"].mean(axis=(2, 3))))
    g.const("gi", [[3, 0], [1, 1]], np.int64)
    g.node("Gather", ["t", "gi"], "gather", axis=2)
    g.case("gather", lambda f: np.take(f["t"], [[3, 0], [1, 1]], axis=2))
    g.const("ex_shape", [3, 2, 3, 1, 5], np.int64)
    g.inp("ex", (3, 1, 5))
    g.node("Expand", ["ex", "ex_shape"], "expand")
    g.case("expand", lambda f: np.broadcast_to(f["ex"], (3, 2, 3, 1, 5)))
    # ---- reductions, softmax
    g.const("rax", [1, 3], np.int64)
    g.node("ReduceSum", ["t", "rax"], "reducesum", keepdims=0)
    g.case("reducesum", lambda f: f["t"].sum(axis=(1, 3)))
    g.node("ReduceMean", ["t"], "reducemean", axes=[-1], keepdims=1)
    g.case("reducemean", lambda f: f["t"].mean(axis=-1, keepdims=True))
    g.node("Softmax", ["t"], "softmax", axis=1)
    g.case("softmax", lambda f: ref.softmax(f["t"], 1))
    # ---- GridSample: zeros and border padding, align_corners both ways (grid partly outside)
    g.inp("gx", (2, 3, 7, 9))
    g.inp("grid", (2, 4, 5, 2), -1.3, 1.3)
    for pad in ("zeros", "border"):
        for ac in (0, 1):
            out = g.node("GridSample", ["gx", "grid"], f"grid_{pad}_{ac}", mode="bilinear", padding_mode=pad,
                         align_corners=ac)
            g.case(out, lambda f, pad=pad, ac=ac: ref.grid_sample(f["gx"], f["grid"], ac, pad))
    # ---- shape arithmetic folded at import: x.view(x.size(0), -1) the way exporters write it
    g.node("Shape", ["t"], "shp")
    g.const("zero", 0, np.int64)
    g.node("Gather", ["shp", "zero"], "n0", axis=0)
    g.const("ax0", [0], np.int64)
    g.node("Unsqueeze", ["n0", "ax0"], "n0u")
    g.const("minus1", [-1], np.int64)
    g.node("Concat", ["n0u", "minus1"], "newshape", axis=0)
    g.node("Reshape", ["t", "newshape"], "view_raw")
    g.node("Sigmoid", ["view_raw"], "view")
    g.case("view", lambda f: 1 / (1 + np.exp(-f["t"].reshape(2, -1))))
    return g


def check_folding(net):
    with h5py.File(net) as f:
        ops = [f["nodes"][k].attrs["op"] for k in sorted(f["nodes"])]
        fmt = f.attrs["format"]
    check("network file says its format", fmt == "twinbrain-network", str(fmt))
    for op in ("Shape", "Constant", "BatchNormalization"):
        n = ops.count(op)
        want = 1 if op == "BatchNormalization" else 0  # the BN after a Conv folds; the other stays
        check(f"{op} nodes left after folding", n == want, f"{n} (expected {want})")


def compare(g, out_path, tol, label):
    with h5py.File(out_path) as f:
        for name, fn in g.cases:
            got = f[name][()]
            want = np.stack([fn({k: v[b].astype(np.float64) for k, v in g.feeds.items()}) for b in range(B)])
            if got.shape != want.shape:
                check(f"{label} {name}", False, f"shape {got.shape}, numpy {want.shape}")
                continue
            e = ref.rel_err(got, want)
            check(f"{label} {name} {list(want.shape[1:])}", e <= tol, f"max error / max |value| = {e:.2e} (<= {tol:g})")


tmp = tempfile.mkdtemp(prefix="twin-ops-")
models = {}
for prec, dtype, tol in (("single", TensorProto.FLOAT, 2e-5), ("double", TensorProto.DOUBLE, 1e-12)):
    g = build(dtype)
    path = os.path.join(tmp, f"ops_{prec}.onnx")
    onnx.save(g.model(), path)
    net = os.path.join(tmp, f"ops_{prec}.h5")
    ref.run("twin", "import", path, "-o", net)
    feeds = os.path.join(tmp, f"feeds_{prec}.h5")
    with h5py.File(feeds, "w") as f:
        for k, v in g.feeds.items():
            f[k] = v
    models[prec] = (g, net, feeds, tol)
check_folding(models["double"][1])


def body(dev):
    for prec, (g, net, feeds, tol) in models.items():
        if prec == "double" and not suite.needs_fp64("the double-precision op cases"):
            continue
        out = os.path.join(tmp, f"out_{prec}_{dev.index}.h5")
        ref.run("twin", "eval", net, feeds, "-o", out, "--precision", prec)
        compare(g, out, tol, prec)


suite.each(body, fp64=False)

# ---- errors: an unsupported op names op, node and opset (exit 4); a dynamic size names the input
bad = helper.make_graph([helper.make_node("Hardmax", ["a"], ["b"], name="the_hardmax")], "bad",
                        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])],
                        [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)])
onnx.save(helper.make_model(bad, opset_imports=[helper.make_opsetid("", 16)]), os.path.join(tmp, "bad.onnx"))
r = ref.run("twin", "import", os.path.join(tmp, "bad.onnx"), "-o", os.path.join(tmp, "bad.h5"), expect=4)
check("unsupported op: exit 4 naming op, node and opset",
      all(s in r.stderr for s in ("Hardmax", "the_hardmax", "opset 16")), r.stderr.strip())
dyn = helper.make_graph([helper.make_node("Relu", ["img"], ["y"])], "dyn",
                        [helper.make_tensor_value_info("img", TensorProto.FLOAT, ["batch", 1, 4, 4])],
                        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
onnx.save(helper.make_model(dyn, opset_imports=[helper.make_opsetid("", 16)]), os.path.join(tmp, "dyn.onnx"))
r = ref.run("twin", "import", os.path.join(tmp, "dyn.onnx"), "-o", os.path.join(tmp, "dyn.h5"), expect=4)
check("dynamic size: exit 4 naming the input and the dimension", "'img'" in r.stderr and "batch" in r.stderr and
      "--size img=" in r.stderr, r.stderr.strip())
r = ref.run("twin", "import", os.path.join(tmp, "dyn.onnx"), "-o", os.path.join(tmp, "dyn.h5"), "--size",
            "img=2x1x4x4")
with h5py.File(os.path.join(tmp, "dyn.h5")) as f:
    names = [s.decode() if isinstance(s, bytes) else s for s in f["tensors/name"][()]]
    shape = f["tensors/shape"][names.index("img")][:4]
check("--size fixes a dynamic input", list(shape) == [2, 1, 4, 4], str(shape))
r = ref.run("twin", "import", os.path.join(tmp, "dyn.onnx"), "-o", os.path.join(tmp, "dyn.h5"), "--size",
            "img=2x1x4x4", "--size", "nope=1x2", expect=4)
check("--size of an unknown input is refused", "no input named 'nope'" in r.stderr, r.stderr.strip())
suite.finish()
