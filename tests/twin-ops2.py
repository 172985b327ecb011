"""The twin kit's second op set against numpy, on odd shapes, in single
and double precision, on every device (as tests/twin-ops.py): 3-D Conv
(groups, strides, dilations, pads), Pad (constant, edge, reflect, crop),
LayerNormalization, InstanceNormalization, LSTM (several steps, initial
states, peepholes; forward, reverse, bidirectional), GRU (linear_before_reset
0 and 1; forward and bidirectional), Sin, Cos, Split, Einsum,
ConvTranspose (2-D and 1-D), and If on shapes folded at import. The numpy
references follow the ONNX operator specification
(https://onnx.ai/onnx/operators/). Also: unsupported attribute
combinations are refused at import naming op, node and opset."""
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
rng = np.random.default_rng(11)
B = 3  # batch instances
OPSET = 17  # the first with LayerNormalization


# ------------------------------------------------------------ numpy references

def conv3d(x, w, b, strides, pads, dil, groups):
    N, C, D, H, W = x.shape
    M, Cg, KD, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[3]), (pads[1], pads[4]), (pads[2], pads[5])))
    O = [(s + pads[k] + pads[k + 3] - dil[k] * (kk - 1) - 1) // strides[k] + 1
         for k, (s, kk) in enumerate(((D, KD), (H, KH), (W, KW)))]
    out = np.zeros((N, M) + tuple(O))
    Mg = M // groups
    for g in range(groups):
        for kd in range(KD):
            for kh in range(KH):
                for kw in range(KW):
                    d0, h0, w0 = kd * dil[0], kh * dil[1], kw * dil[2]
                    patch = xp[:, g * Cg:(g + 1) * Cg, d0:d0 + strides[0] * (O[0] - 1) + 1:strides[0],
                               h0:h0 + strides[1] * (O[1] - 1) + 1:strides[1],
                               w0:w0 + strides[2] * (O[2] - 1) + 1:strides[2]]
                    out[:, g * Mg:(g + 1) * Mg] += np.einsum("ncdij,mc->nmdij", patch,
                                                             w[g * Mg:(g + 1) * Mg, :, kd, kh, kw])
    if b is not None:
        out += b[None, :, None, None, None]
    return out


def conv_transpose(x, w, b, strides, pads, dil, groups, opad):
    """Scatter form (the definition): input (ih, iw) adds w taps at ih s + kh d - pad."""
    N, C, H, W = x.shape
    _, Mg, KH, KW = w.shape
    M, Cg = Mg * groups, C // groups
    full = [s * (n - 1) + o + (k - 1) * d + 1 for s, n, o, k, d in
            zip(strides, (H, W), opad, (KH, KW), dil)]
    out = np.zeros((N, M, full[0], full[1]))
    for g in range(groups):
        for ih in range(H):
            for iw in range(W):
                for kh in range(KH):
                    for kw in range(KW):
                        oh, ow = ih * strides[0] + kh * dil[0], iw * strides[1] + kw * dil[1]
                        out[:, g * Mg:(g + 1) * Mg, oh, ow] += x[:, g * Cg:(g + 1) * Cg, ih, iw] @ w[g * Cg:(g + 1) * Cg,
                                                                                                    :, kh, kw]
    out = out[:, :, pads[0]:full[0] - pads[2], pads[1]:full[1] - pads[3]]
    if b is not None:
        out += b[None, :, None, None]
    return out


def sig(v):
    return 1 / (1 + np.exp(-v))


def lstm(x, W, R, Bi, h0, c0, P):
    """ONNX LSTM, forward, gates i, o, f, c: Y [T, 1, rows, H], Y_h, Y_c."""
    H = R.shape[-1]
    W, R = W[0], R[0]
    wb, rb = (Bi[0, :4 * H], Bi[0, 4 * H:]) if Bi is not None else (0, 0)
    pi, po, pf = (P[0, :H], P[0, H:2 * H], P[0, 2 * H:]) if P is not None else (0, 0, 0)
    h = h0[0] if h0 is not None else np.zeros((x.shape[1], H))
    c = c0[0] if c0 is not None else np.zeros((x.shape[1], H))
    ys = []
    for t in range(x.shape[0]):
        a = x[t] @ W.T + h @ R.T + wb + rb
        i, o, f, cc = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        i, f = sig(i + pi * c), sig(f + pf * c)
        c = f * c + i * np.tanh(cc)
        h = sig(o + po * c) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None], h[None], c[None]


def gru(x, W, R, Bi, h0, lbr):
    """ONNX GRU, forward, gates z, r, h."""
    H = R.shape[-1]
    W, R = W[0], R[0]
    wb, rb = (Bi[0, :3 * H], Bi[0, 3 * H:]) if Bi is not None else (np.zeros(3 * H), np.zeros(3 * H))
    h = h0[0] if h0 is not None else np.zeros((x.shape[1], H))
    ys = []
    for t in range(x.shape[0]):
        wx = x[t] @ W.T + wb
        z = sig(wx[:, :H] + h @ R[:H].T + rb[:H])
        r = sig(wx[:, H:2 * H] + h @ R[H:2 * H].T + rb[H:2 * H])
        if lbr:
            ht = np.tanh(wx[:, 2 * H:] + r * (h @ R[2 * H:].T + rb[2 * H:]))
        else:
            ht = np.tanh(wx[:, 2 * H:] + (r * h) @ R[2 * H:].T + rb[2 * H:])
        h = (1 - z) * ht + z * h
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


def both_ways(cell, x, W, R, Bi, states, direction, n_out):
    """ONNX's directions from a forward cell: reverse runs it on the time-reversed input (Y reversed back);
    bidirectional stacks forward and reverse on axis 1 of Y and axis 0 of the final states."""
    D = W.shape[0]
    res = []
    for d in range(D):
        back = direction == "reverse" or d == 1
        sl = lambda a: None if a is None else a[d:d + 1]  # noqa: E731
        r = cell(x[::-1] if back else x, sl(W), sl(R), sl(Bi), *[sl(v) for v in states])
        res.append([r[0][::-1] if back else r[0]] + list(r[1:n_out]))
    return [np.concatenate([r[k] for r in res], axis=1 if k == 0 else 0) for k in range(n_out)]


def norm(x, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


# ------------------------------------------------------------ the graph

class Graph:
    def __init__(self, dtype):
        self.dtype = dtype
        self.np = np.float32 if dtype == TensorProto.FLOAT else np.float64
        self.nodes, self.inputs, self.outputs, self.inits = [], [], [], []
        self.feeds, self.cases = {}, []

    def inp(self, name, shape, lo=-1.0, hi=1.0):
        self.inputs.append(helper.make_tensor_value_info(name, self.dtype, list(shape)))
        self.feeds[name] = rng.uniform(lo, hi, size=(B,) + tuple(shape)).astype(self.np)
        return name

    def const(self, name, value, dtype=None):
        value = np.asarray(value).astype(self.np if dtype is None else dtype)
        self.inits.append(numpy_helper.from_array(value, name))
        return value.astype(np.float64) if dtype is None else value

    def node(self, op, ins, outs, **attrs):
        outs = [outs] if isinstance(outs, str) else outs
        self.nodes.append(helper.make_node(op, ins, outs, name=f"n_{outs[0] or outs[-1]}", **attrs))

    def case(self, out, fn):
        self.outputs.append(helper.make_tensor_value_info(out, self.dtype, None))
        self.cases.append((out, fn))

    def model(self):
        g = helper.make_graph(self.nodes, "ops2", self.inputs, self.outputs, self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="twin-ops2 test")


def build(dtype):
    g = Graph(dtype)
    # ---- Conv 3-D: groups, strides, dilations, asymmetric pads; a causal temporal 3x3x3 conv
    g.inp("vx", (2, 4, 5, 7, 6))
    w1 = g.const("w31", rng.normal(size=(6, 2, 2, 3, 2)) * 0.3)
    b1 = g.const("b31", rng.normal(size=6))
    g.node("Conv", ["vx", "w31", "b31"], "conv3d_g", group=2, strides=[1, 2, 1], dilations=[2, 1, 2],
           pads=[1, 0, 2, 0, 1, 1])
    g.case("conv3d_g", lambda f: conv3d(f["vx"], w1, b1, (1, 2, 1), (1, 0, 2, 0, 1, 1), (2, 1, 2), 2))
    w2 = g.const("w32", rng.normal(size=(3, 4, 3, 3, 3)) * 0.2)
    g.node("Conv", ["vx", "w32"], "conv3d_causal", pads=[0, 1, 1, 0, 1, 1])
    g.case("conv3d_causal", lambda f: conv3d(f["vx"], w2, None, (1, 1, 1), (0, 1, 1, 0, 1, 1), (1, 1, 1), 1))
    # ---- Conv 3-D over the input's whole depth (one output frame, the fnn core's causal convolutions): the
    # executor runs it as a 2-D Conv over channels x frames, with a following activation fused; and an
    # activation after a 3-D Conv that stays on the direct kernel
    g.inp("fx", (2, 6, 3, 9, 21))
    w3 = g.const("w33", rng.normal(size=(8, 3, 3, 3, 3)) * 0.2)
    b3 = g.const("b33", rng.normal(size=8))
    g.node("Conv", ["fx", "w33", "b33"], "c33", group=2, pads=[0, 1, 1, 0, 1, 1])
    g.node("Relu", ["c33"], "conv3d_frames_relu")
    g.case("conv3d_frames_relu",
           lambda f: np.maximum(conv3d(f["fx"], w3, b3, (1, 1, 1), (0, 1, 1, 0, 1, 1), (1, 1, 1), 2), 0))
    w4 = g.const("w34", rng.normal(size=(3, 6, 3, 2, 3)) * 0.2)
    g.node("Conv", ["fx", "w34"], "conv3d_frames_s", strides=[1, 2, 2], dilations=[1, 2, 1],
           pads=[0, 0, 2, 0, 1, 0])
    g.case("conv3d_frames_s", lambda f: conv3d(f["fx"], w4, None, (1, 2, 2), (0, 0, 2, 0, 1, 0), (1, 2, 1), 1))
    g.node("Conv", ["vx", "w32"], "c32r", pads=[0, 1, 1, 0, 1, 1])
    g.node("Tanh", ["c32r"], "conv3d_causal_tanh")
    g.case("conv3d_causal_tanh",
           lambda f: np.tanh(conv3d(f["vx"], w2, None, (1, 1, 1), (0, 1, 1, 0, 1, 1), (1, 1, 1), 1)))
    # ---- Pad: constant (with a value), edge (replicate), reflect, negative pads (crop), axes
    g.inp("px", (2, 3, 5, 4))
    g.const("pads_c", [0, 1, 2, 0, 1, 0, 1, 3], np.int64)
    g.const("pad_v", 0.75)
    g.node("Pad", ["px", "pads_c", "pad_v"], "pad_const", mode="constant")
    g.case("pad_const", lambda f: np.pad(f["px"], ((0, 1), (1, 0), (2, 1), (0, 3)), constant_values=0.75))
    g.const("pads_e", [0, 0, 3, 1, 0, 0, 2, 2], np.int64)
    g.node("Pad", ["px", "pads_e"], "pad_edge", mode="edge")
    g.case("pad_edge", lambda f: np.pad(f["px"], ((0, 0), (0, 0), (3, 2), (1, 2)), mode="edge"))
    # a Pad of zeros (torch.onnx writes one before each average pooling) shares its input's buffer; the
    # AveragePool after it reads the input itself
    g.const("pads_0", [0] * 8, np.int64)
    g.node("Pad", ["px", "pads_0"], "px0", mode="constant")
    g.node("AveragePool", ["px0"], "pad_zero_pool", kernel_shape=[2, 2], strides=[2, 2])
    g.case("pad_zero_pool", lambda f: f["px"][:, :, :4, :4].reshape(2, 3, 2, 2, 2, 2).mean(axis=(3, 5)))
    g.const("pads_r", [0, 2, 4, 1, 0, 1, 2, 3], np.int64)
    g.node("Pad", ["px", "pads_r"], "pad_reflect", mode="reflect")
    g.case("pad_reflect", lambda f: np.pad(f["px"], ((0, 0), (2, 1), (4, 2), (1, 3)), mode="reflect"))
    g.const("pads_n", [-1, 2, 1, -2], np.int64)
    g.const("pad_ax", [2, 3], np.int64)
    g.node("Pad", ["px", "pads_n", "", "pad_ax"], "pad_crop", mode="edge")
    g.case("pad_crop", lambda f: np.pad(f["px"][:, :, 1:, :-2], ((0, 0), (0, 0), (0, 1), (2, 0)), mode="edge"))
    # ---- LayerNormalization over the last two axes and over one; InstanceNormalization
    g.inp("nx", (2, 3, 5, 7), -2.0, 3.0)
    s2, b2 = g.const("ln_s", rng.uniform(0.5, 1.5, (5, 7))), g.const("ln_b", rng.normal(size=(5, 7)))
    g.node("LayerNormalization", ["nx", "ln_s", "ln_b"], "layernorm2", axis=-2, epsilon=1e-3)
    eps3 = float(np.float32(1e-3))
    g.case("layernorm2", lambda f: norm(f["nx"], (2, 3), eps3) * s2 + b2)
    s1 = g.const("ln_s1", rng.uniform(0.5, 1.5, 7))
    g.node("LayerNormalization", ["nx", "ln_s1"], "layernorm1")
    g.case("layernorm1", lambda f: norm(f["nx"], (3,), 1e-5) * s1)  # the default epsilon
    si, bi = g.const("in_s", rng.uniform(0.5, 1.5, 3)), g.const("in_b", rng.normal(size=3))
    g.node("InstanceNormalization", ["nx", "in_s", "in_b"], "instnorm", epsilon=1e-4)
    g.case("instnorm", lambda f: norm(f["nx"], (2, 3), float(np.float32(1e-4))) * si[:, None, None] +
           bi[:, None, None])
    # ---- LSTM: 4 steps, 2 rows, input 5, hidden 6, initial states, peepholes; and a bare one
    T, R, I, H = 4, 2, 5, 6
    g.inp("sx", (T, R, I))
    g.inp("h0", (1, R, H))
    g.inp("c0", (1, R, H))
    Wl = g.const("lw", rng.normal(size=(1, 4 * H, I)) * 0.5)
    Rl = g.const("lr", rng.normal(size=(1, 4 * H, H)) * 0.5)
    Bl = g.const("lb", rng.normal(size=(1, 8 * H)) * 0.5)
    Pl = g.const("lp", rng.normal(size=(1, 3 * H)) * 0.5)
    g.node("LSTM", ["sx", "lw", "lr", "lb", "", "h0", "c0", "lp"], ["lstm_y", "lstm_h", "lstm_c"], hidden_size=H)
    for k, o in enumerate(("lstm_y", "lstm_h", "lstm_c")):
        g.case(o, lambda f, k=k: lstm(f["sx"], Wl, Rl, Bl, f["h0"], f["c0"], Pl)[k])
    g.node("LSTM", ["sx", "lw", "lr"], ["", "lstm_h_bare"], hidden_size=H)
    g.case("lstm_h_bare", lambda f: lstm(f["sx"], Wl, Rl, None, None, None, None)[1])
    # ---- GRU: linear_before_reset 1 (PyTorch's) and 0, with and without an initial state
    Wg = g.const("gw", rng.normal(size=(1, 3 * H, I)) * 0.5)
    Rg = g.const("gr", rng.normal(size=(1, 3 * H, H)) * 0.5)
    Bg = g.const("gb", rng.normal(size=(1, 6 * H)) * 0.5)
    for lbr in (0, 1):
        g.node("GRU", ["sx", "gw", "gr", "gb", "", "h0"], [f"gru{lbr}_y", f"gru{lbr}_h"], hidden_size=H,
               linear_before_reset=lbr)
        for k, o in enumerate((f"gru{lbr}_y", f"gru{lbr}_h")):
            g.case(o, lambda f, k=k, lbr=lbr: gru(f["sx"], Wg, Rg, Bg, f["h0"], lbr)[k])
    # ---- directions: reverse LSTM, bidirectional LSTM (initial states, peepholes) and GRU
    g.node("LSTM", ["sx", "lw", "lr", "lb", "", "h0", "c0", "lp"], ["lstm_rev_y", "lstm_rev_h", "lstm_rev_c"],
           hidden_size=H, direction="reverse")
    for k, o in enumerate(("lstm_rev_y", "lstm_rev_h", "lstm_rev_c")):
        g.case(o, lambda f, k=k: both_ways(lambda x, W, R, Bi, P, h0, c0: lstm(x, W, R, Bi, h0, c0, P), f["sx"],
                                           Wl, Rl, Bl, (Pl, f["h0"], f["c0"]), "reverse", 3)[k])
    Wl2 = g.const("lw2", rng.normal(size=(2, 4 * H, I)) * 0.5)
    Rl2 = g.const("lr2", rng.normal(size=(2, 4 * H, H)) * 0.5)
    Bl2 = g.const("lb2", rng.normal(size=(2, 8 * H)) * 0.5)
    Pl2 = g.const("lp2", rng.normal(size=(2, 3 * H)) * 0.5)
    g.inp("h02", (2, R, H))
    g.inp("c02", (2, R, H))
    g.node("LSTM", ["sx", "lw2", "lr2", "lb2", "", "h02", "c02", "lp2"], ["lstm_bi_y", "lstm_bi_h", "lstm_bi_c"],
           hidden_size=H, direction="bidirectional")
    for k, o in enumerate(("lstm_bi_y", "lstm_bi_h", "lstm_bi_c")):
        g.case(o, lambda f, k=k: both_ways(lambda x, W, R, Bi, P, h0, c0: lstm(x, W, R, Bi, h0, c0, P), f["sx"],
                                           Wl2, Rl2, Bl2, (Pl2, f["h02"], f["c02"]), "bidirectional", 3)[k])
    Wg2 = g.const("gw2", rng.normal(size=(2, 3 * H, I)) * 0.5)
    Rg2 = g.const("gr2", rng.normal(size=(2, 3 * H, H)) * 0.5)
    Bg2 = g.const("gb2", rng.normal(size=(2, 6 * H)) * 0.5)
    for lbr in (0, 1):
        g.node("GRU", ["sx", "gw2", "gr2", "gb2", "", "h02"], [f"gru_bi{lbr}_y", f"gru_bi{lbr}_h"], hidden_size=H,
               direction="bidirectional", linear_before_reset=lbr)
        for k, o in enumerate((f"gru_bi{lbr}_y", f"gru_bi{lbr}_h")):
            g.case(o, lambda f, k=k, lbr=lbr: both_ways(lambda x, W, R, Bi, h0: gru(x, W, R, Bi, h0, lbr), f["sx"],
                                                        Wg2, Rg2, Bg2, (f["h02"],), "bidirectional", 2)[k])
    g.node("GRU", ["sx", "gw", "gr"], ["", "gru_h_bare"], hidden_size=H)
    g.case("gru_h_bare", lambda f: gru(f["sx"], Wg, Rg, None, None, 0)[1])
    # ---- Sin, Cos (the perspective module's rotations)
    g.inp("tx", (3, 5), -4.0, 4.0)
    for op, fn in (("Sin", np.sin), ("Cos", np.cos)):
        g.node(op, ["tx"], op.lower())
        g.case(op.lower(), lambda f, fn=fn: fn(f["tx"]))
    # ---- Split: sizes from the input, equal parts
    g.inp("spx", (2, 7, 3))
    g.const("sp_sizes", [2, 4, 1], np.int64)
    g.node("Split", ["spx", "sp_sizes"], ["split_a", "split_b", "split_c"], axis=1)
    for k, (lo, hi) in enumerate(((0, 2), (2, 6), (6, 7))):
        g.case(f"split_{'abc'[k]}", lambda f, lo=lo, hi=hi: f["spx"][:, lo:hi])
    g.node("Split", ["spx"], ["split_e0", "split_e1", "split_e2"], axis=-1)
    for k in range(3):
        g.case(f"split_e{k}", lambda f, k=k: f["spx"][:, :, k:k + 1])
    # ---- Einsum: readout contractions, a batched product with an ellipsis, implicit output, 1 and 3 operands
    g.inp("ex4", (2, 5, 3, 4))
    feat = g.const("e_feat", rng.normal(size=(7, 5)))
    g.node("Einsum", ["ex4", "e_feat"], "einsum_readout", equation="bchw,uc->buhw")
    g.case("einsum_readout", lambda f: np.einsum("bchw,uc->buhw", f["ex4"], feat))
    g.inp("ex3", (2, 5, 7))
    fu = g.const("e_fu", rng.normal(size=(5, 7)))
    g.node("Einsum", ["ex3", "e_fu"], "einsum_units", equation="ncu, cu -> nu")
    g.case("einsum_units", lambda f: np.einsum("ncu,cu->nu", f["ex3"], fu))
    eb = g.const("e_b", rng.normal(size=(4, 6)))
    g.node("Einsum", ["ex4", "e_b"], "einsum_batched", equation="...ij,jk->...ik")
    g.case("einsum_batched", lambda f: np.einsum("...ij,jk->...ik", f["ex4"], eb))
    g.node("Einsum", ["ex4", "e_b"], "einsum_implicit", equation="abcd,dE")
    g.case("einsum_implicit", lambda f: np.einsum("abcd,dE", f["ex4"], eb))
    g.node("Einsum", ["ex4"], "einsum_one", equation="bchw->wb")
    g.case("einsum_one", lambda f: np.einsum("bchw->wb", f["ex4"]))
    e3 = g.const("e_3", rng.normal(size=(6, 2)))
    g.node("Einsum", ["ex4", "e_b", "e_3"], "einsum_three", equation="bchw,wk,kz->bzc")
    g.case("einsum_three", lambda f: np.einsum("bchw,wk,kz->bzc", f["ex4"], eb, e3))
    # ---- ConvTranspose 2-D: groups, strides, dilations, asymmetric pads, output_padding; 1-D
    g.inp("tcx", (2, 4, 5, 6))
    wt = g.const("wt", rng.normal(size=(4, 3, 3, 2)) * 0.4)
    bt = g.const("bt", rng.normal(size=6))
    g.node("ConvTranspose", ["tcx", "wt", "bt"], "convt_g", group=2, strides=[2, 3], dilations=[1, 2],
           pads=[1, 0, 0, 2], output_padding=[1, 0])
    g.case("convt_g", lambda f: conv_transpose(f["tcx"], wt, bt, (2, 3), (1, 0, 0, 2), (1, 2), 2, (1, 0)))
    g.inp("tc1", (2, 3, 7))
    w1t = g.const("w1t", rng.normal(size=(3, 2, 4)) * 0.4)
    g.node("ConvTranspose", ["tc1", "w1t"], "convt_1d", strides=[2], pads=[1, 2])
    g.case("convt_1d", lambda f: conv_transpose(f["tc1"][:, :, None], w1t[:, :, None], None, (1, 2), (0, 1, 0, 2),
                                                (1, 1), 1, (0, 0))[:, :, 0])
    # ---- If on shapes, folded at import: the branch for x.size(0) == 2 (the other is invalid for these sizes),
    # a nested If reading an outer tensor and a branch initializer, an If whose outputs are constants (a shape)
    g.inp("ifx", (2, 3, 5))
    g.const("if_zero", 0, np.int64)
    g.const("if_two", 2, np.int64)
    g.node("Shape", ["ifx"], "if_shape")
    g.node("Gather", ["if_shape", "if_zero"], "if_n0", axis=0)
    g.node("Equal", ["if_n0", "if_two"], "if_cond")
    T = helper.make_tensor_value_info
    inner_then = helper.make_graph([helper.make_node("Mul", ["ifx", "k_then"], ["i_out"])], "inner_then", [],
                                   [T("i_out", g.dtype, None)], [numpy_helper.from_array(np.asarray(1.5, g.np), "k_then")])
    inner_else = helper.make_graph([helper.make_node("Neg", ["ifx"], ["i_out"])], "inner_else", [],
                                   [T("i_out", g.dtype, None)])
    then_b = helper.make_graph([helper.make_node("Relu", ["ifx"], ["t_relu"]),
                                helper.make_node("If", ["if_cond"], ["t_inner"], then_branch=inner_then,
                                                 else_branch=inner_else),
                                helper.make_node("Add", ["t_relu", "t_inner"], ["t_out"])], "then", [],
                               [T("t_out", g.dtype, None)])
    g.const("if_bad_shape", [7, -1], np.int64)
    else_b = helper.make_graph([helper.make_node("Reshape", ["ifx", "if_bad_shape"], ["e_out"])], "else", [],
                               [T("e_out", g.dtype, None)])
    g.node("If", ["if_cond"], "if_out", then_branch=then_b, else_branch=else_b)
    g.case("if_out", lambda f: np.maximum(f["ifx"], 0) + 1.5 * f["ifx"])
    c_then = helper.make_graph([helper.make_node("Constant", [], ["c_shape"], value=numpy_helper.from_array(
        np.array([-1, 5], np.int64)))], "ct", [], [T("c_shape", TensorProto.INT64, None)])
    c_else = helper.make_graph([helper.make_node("Constant", [], ["c_shape"], value=numpy_helper.from_array(
        np.array([-1], np.int64)))], "ce", [], [T("c_shape", TensorProto.INT64, None)])
    g.node("If", ["if_cond"], "if_shape_out", then_branch=c_then, else_branch=c_else)
    g.node("Reshape", ["ifx", "if_shape_out"], "if_reshaped")
    g.node("Sigmoid", ["if_reshaped"], "if_view")
    g.case("if_view", lambda f: 1 / (1 + np.exp(-f["ifx"].reshape(-1, 5))))
    return g


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


tmp = tempfile.mkdtemp(prefix="twin-ops2-")
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


def body(dev):
    for prec, (g, net, feeds, tol) in models.items():
        if prec == "double" and not suite.needs_fp64("the double-precision op cases"):
            continue
        out = os.path.join(tmp, f"out_{prec}_{dev.index}.h5")
        ref.run("twin", "eval", net, feeds, "-o", out, "--precision", prec)
        compare(g, out, tol, prec)


suite.each(body, fp64=False)


# ---- unsupported attribute combinations: exit 4 naming op, node and opset
def refused(label, op, ins, shapes, want, **attrs):
    inits = [numpy_helper.from_array(np.asarray(v, dtype=np.int64 if isinstance(v, list) else np.float32), k)
             for k, v in shapes.items() if k != ins[0]]
    node = helper.make_node(op, ins, ["y"], name="the_node", **attrs)
    gr = helper.make_graph([node], "bad", [helper.make_tensor_value_info(ins[0], TensorProto.FLOAT, shapes[ins[0]])],
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = os.path.join(tmp, f"bad_{label}.onnx")
    onnx.save(helper.make_model(gr, opset_imports=[helper.make_opsetid("", OPSET)]), path)
    r = ref.run("twin", "import", path, "-o", os.path.join(tmp, "bad.h5"), expect=4)
    check(f"refused: {label}", all(s in r.stderr for s in (op, "the_node", f"opset {OPSET}", want)), r.stderr.strip())


zw = np.zeros((1, 8, 3), np.float32)
zr = np.zeros((1, 8, 2), np.float32)
refused("LSTM input_forget", "LSTM", ["x", "w", "r"], {"x": [1, 1, 3], "w": zw, "r": zr}, "input_forget",
        hidden_size=2, input_forget=1)
refused("LSTM bidirectional weights", "LSTM", ["x", "w", "r"], {"x": [1, 1, 3], "w": zw, "r": zr}, "W must be [2",
        hidden_size=2, direction="bidirectional")
refused("LSTM clip", "LSTM", ["x", "w", "r"], {"x": [1, 1, 3], "w": zw, "r": zr}, "clip", hidden_size=2, clip=3.0)
refused("LSTM layout 1", "LSTM", ["x", "w", "r"], {"x": [1, 1, 3], "w": zw, "r": zr}, "layout", hidden_size=2,
        layout=1)
refused("GRU activations", "GRU", ["x", "w", "r"], {"x": [1, 1, 3], "w": zw[:, :6], "r": zr[:, :6]},
        "activations", hidden_size=2, activations=["Relu", "Tanh"])
refused("Pad wrap", "Pad", ["x", "p"], {"x": [2, 3], "p": [0, 1, 0, 1]}, "mode 'wrap'", mode="wrap")
refused("Pad reflect too wide", "Pad", ["x", "p"], {"x": [2, 3], "p": [0, 3, 0, 0]}, "reflect pads", mode="reflect")
refused("Conv3D auto_pad", "Conv", ["x", "w"], {"x": [1, 1, 3, 3, 3], "w": np.zeros((1, 1, 2, 2, 2), np.float32)},
        "auto_pad", auto_pad="SAME_UPPER")

refused("ConvTranspose output_shape", "ConvTranspose", ["x", "w"], {"x": [1, 1, 3, 3], "w": np.zeros((1, 1, 2, 2),
        np.float32)}, "output_shape", output_shape=[6, 6], strides=[2, 2])
# If on a value known only at run time
rt = helper.make_graph([helper.make_node("Neg", ["x"], ["o"])], "b", [], [helper.make_tensor_value_info(
    "o", TensorProto.FLOAT, None)])
gr = helper.make_graph([helper.make_node("If", ["c"], ["y"], name="the_if", then_branch=rt, else_branch=rt)], "bad",
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                        helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
onnx.save(helper.make_model(gr, opset_imports=[helper.make_opsetid("", OPSET)]), os.path.join(tmp, "bad_if.onnx"))
r = ref.run("twin", "import", os.path.join(tmp, "bad_if.onnx"), "-o", os.path.join(tmp, "bad.h5"), expect=4)
check("refused: If on a run-time value", all(w in r.stderr for w in ("the_if", "If", "opset 17", "import only")),
      r.stderr.strip())
refused("Einsum trace", "Einsum", ["x"], {"x": [3, 3]}, "repeats within operand", equation="ii->")
suite.finish()
