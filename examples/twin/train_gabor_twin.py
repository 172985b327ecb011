#!/usr/bin/env python3
"""Trains the example twin (examples/twin/README.md) on synthetic data and
writes gabor_twin.onnx; `twinbrain twin import` turns it into the shipped
gabor_twin.h5.

The synthetic "animal" has 12 neurons: Gabor simple cells (sigma 2 pixels,
1/8 cycles per pixel) at 3 places with 4 orientations each (0, 45, 90, 135
degrees: the direction of the carrier's wave vector, which is the drift
direction of the grating it likes best, modulo 180), firing at
2 softplus(2 g.x - 1) spikes per frame to 24x24 white-noise frames (Poisson
counts). The twin is a small Sensorium-style network trained with the
Poisson loss: a 9x9 convolutional core of 4 channels with ELU, a factorised
readout (a non-negative spatial mask per unit, a feature vector over the 4
channels, a bias) and ELU + 1. Needs PyTorch (Debian: python3-torch) and onnx.

    python3 train_gabor_twin.py            # writes gabor_twin.onnx (about a minute on 2 cores)
    twinbrain twin import gabor_twin.onnx -o gabor_twin.h5
"""
import argparse
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

H = W = 24
SIGMA, SF = 2.0, 1 / 8
PLACES = [(7.0, 8.0), (16.0, 8.0), (11.5, 16.0)]
ORIENTATIONS = [0.0, 45.0, 90.0, 135.0]
UNITS = [(cx, cy, th) for (cx, cy) in PLACES for th in ORIENTATIONS]  # unit 4 p + o


def gabors():
    """The neurons' filters [U, H * W], unit norm."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    out = []
    for cx, cy, th in UNITS:
        t = math.radians(th)
        env = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * SIGMA ** 2))
        g = env * np.cos(2 * np.pi * SF * ((xx - cx) * math.cos(t) + (yy - cy) * math.sin(t)))
        out.append((g / np.linalg.norm(g)).ravel())
    return np.array(out)


def synthetic(n, rng):
    x = rng.normal(size=(n, 1, H, W))
    rate = 2 * np.logaddexp(0, 2 * x.reshape(n, -1) @ gabors().T - 1)
    return x.astype(np.float32), rng.poisson(rate).astype(np.float32), rate


class Twin(nn.Module):
    def __init__(self, channels=4, units=len(UNITS)):
        super().__init__()
        self.core = nn.Conv2d(1, channels, 9, padding=4)
        self.mask = nn.Parameter(torch.full((units, H * W), 1.0 / (H * W)))
        self.features = nn.Parameter(torch.randn(channels, units) * 0.1)
        self.bias = nn.Parameter(torch.zeros(units))

    def forward(self, x):
        z = F.elu(self.core(x)).flatten(2)            # [N, C, H W]
        y = torch.matmul(z, self.mask.t())              # [N, C, U]: each unit's place, per channel
        y = (y * self.features).sum(1) + self.bias      # [N, U]
        return F.elu(y) + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", default="gabor_twin.onnx")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(a.seed)
    x, y, _ = synthetic(8000, rng)
    xt, _, rate_t = synthetic(500, rng)
    model = Twin()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    for epoch in range(a.epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 200):
            idx = perm[i:i + 200]
            p = model(X[idx])
            loss = (p - Y[idx] * torch.log(p + 1e-8)).mean() + 3e-4 * model.mask.abs().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():  # a non-negative mask: no (-mask, -features) twin of each unit
                model.mask.clamp_(min=0)
        if epoch % 10 == 9 or epoch == a.epochs - 1:
            with torch.no_grad():
                pt = model(torch.from_numpy(xt)).numpy()
            cc = [np.corrcoef(pt[:, u], rate_t[:, u])[0, 1] for u in range(len(UNITS))]
            print(f"epoch {epoch + 1}: loss {loss.item():.4f}, correlation with the true rates "
                  f"{np.mean(cc):.3f} (min {np.min(cc):.3f})")
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, H, W), a.o, input_names=["images"], output_names=["responses"],
                      opset_version=16)
    print(f"wrote {a.o}")


if __name__ == "__main__":
    main()
