"""Shared helpers of the twin kit's tests: the optional packages (skipped
visibly when absent), running `twinbrain twin import` and `twin eval`,
and numpy references of the ops written from the ONNX operator
specification (https://onnx.ai/onnx/operators/), independent of the
kernels."""
import os
import subprocess
import sys

import numpy as np

TWINBRAIN = os.environ["TWINBRAIN"]


def need(*modules):
    """Import the modules or skip the test (exit 77) saying which is missing."""
    got = []
    for m in modules:
        try:
            got.append(__import__(m))
        except ImportError:
            print(f"SKIP: python module '{m}' is missing (scripts/install-deps installs python3-{m})")
            sys.exit(77)
    return got


def run(*args, expect=0):
    r = subprocess.run([TWINBRAIN, *args], capture_output=True, text=True)
    if r.returncode != expect:
        raise SystemExit(f"FAIL: twinbrain {' '.join(args)}: exit {r.returncode} (expected {expect}):\n"
                         f"{r.stdout}{r.stderr}")
    return r


def rel_err(got, want):
    scale = max(float(np.max(np.abs(want))), 1e-30)
    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - want))) / scale


# ------------------------------------------------------------ op references

def conv2d(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), groups=1):
    N, C, H, W = x.shape
    M, Cg, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    OH = (H + pads[0] + pads[2] - dil[0] * (KH - 1) - 1) // strides[0] + 1
    OW = (W + pads[1] + pads[3] - dil[1] * (KW - 1) - 1) // strides[1] + 1
    out = np.zeros((N, M, OH, OW))
    Mg = M // groups
    for g in range(groups):
        for kh in range(KH):
            for kw in range(KW):
                h0, w0 = kh * dil[0], kw * dil[1]
                patch = xp[:, g * Cg:(g + 1) * Cg, h0:h0 + strides[0] * (OH - 1) + 1:strides[0],
                           w0:w0 + strides[1] * (OW - 1) + 1:strides[1]]
                out[:, g * Mg:(g + 1) * Mg] += np.einsum("ncij,mc->nmij", patch, w[g * Mg:(g + 1) * Mg, :, kh, kw])
    if b is not None:
        out += b[None, :, None, None]
    return out


def pool2d(x, k, strides, pads, kind, count_include_pad=0):
    N, C, H, W = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    inside = np.pad(np.ones((H, W)), ((pads[0], pads[2]), (pads[1], pads[3])))
    OH = (H + pads[0] + pads[2] - k[0]) // strides[0] + 1
    OW = (W + pads[1] + pads[3] - k[1]) // strides[1] + 1
    out = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            win = xp[:, :, i * strides[0]:i * strides[0] + k[0], j * strides[1]:j * strides[1] + k[1]]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                cnt = k[0] * k[1] if count_include_pad else inside[i * strides[0]:i * strides[0] + k[0],
                                                                     j * strides[1]:j * strides[1] + k[1]].sum()
                out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return out


def grid_sample(x, grid, align_corners, padding):
    """Bilinear sampling: grid (x, y) in [-1, 1] mapped to pixel
    coordinates (corner pixel centres at +-1 when align_corners, the
    image edges otherwise); out-of-image taps read 0 (zeros) or the
    coordinates are clamped into the image (border)."""
    N, C, H, W = x.shape
    _, OH, OW, _ = grid.shape
    out = np.zeros((N, C, OH, OW))

    def pix(g, size):
        return (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2

    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                px, py = pix(grid[n, i, j, 0], W), pix(grid[n, i, j, 1], H)
                if padding == "border":
                    px, py = min(max(px, 0), W - 1), min(max(py, 0), H - 1)
                x0, y0 = int(np.floor(px)), int(np.floor(py))
                tx, ty = px - x0, py - y0
                for dy, wy in ((0, 1 - ty), (1, ty)):
                    for dx, wx in ((0, 1 - tx), (1, tx)):
                        yy, xx = y0 + dy, x0 + dx
                        if 0 <= yy < H and 0 <= xx < W:
                            out[n, :, i, j] += wx * wy * x[n, :, yy, xx]
    return out


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
