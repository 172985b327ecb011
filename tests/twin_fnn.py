"""(b) An fnn-style video twin in PyTorch (the foundation model of Wang
et al., Nature 2025, released as cajal/fnn; reference sheet "Foundation
model"), written for the twin kit's tests with random weights: per frame,

- perspective: an MLP 2-16-16-16-3 (GELU) maps the eye position to three
  rotation angles; the rays of a pinhole retina, rotated, are projected
  on the monitor plane and the frame is resampled there (grid_sample,
  bilinear, zero padding, align_corners false), with pixel intensity
  transforms before and after;
- per stream: modulation (behaviour -> Linear 2-16 + GELU -> an LSTM of
  16 units, broadcast as a 1x1 map into the core); a feed-forward core (a
  6x6 stride-2 convolution with replicate padding, three densely
  connected blocks of two causal 3x3x3 spatio-temporal convolutions with
  groups 1/2/4, each keeping its last two inputs as recurrent state,
  2x2 average pooling after the first two blocks, a 1x1 convolution,
  GELU scaled by 1.7015); a recurrent core (a convolutional LSTM whose
  gates also see a full spatial self-attention over the hidden state with
  L2-normalised queries and keys); a Gaussian readout (a tanh-bounded
  position per unit sampled bilinearly with border padding, a feature
  vector, a bias);
- the streams averaged, exp output.

The recurrent state is explicit: every state tensor NAME is an input and
NAME_next an output, the twin kit's pairing. Sizes are parameters: the
published ones (FULL) and reduced ones for `make check` (REDUCED)."""
import torch
import torch.nn.functional as F
from torch import nn

FULL = dict(frame=(144, 256), retina=(128, 192), stem=32, blocks=((32, 1), (64, 2), (128, 4)), core=128,
            hidden=256, groups=8, key=32, modulation=16, units=8000, streams=4)
REDUCED = dict(frame=(36, 64), retina=(32, 48), stem=8, blocks=((8, 1), (16, 2), (32, 4)), core=16,
               hidden=16, groups=4, key=8, modulation=16, units=60, streams=2)


class Perspective(nn.Module):
    def __init__(self, retina, fov=0.8):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2, 16), nn.GELU(), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 16),
                                 nn.GELU(), nn.Linear(16, 3))
        oh, ow = retina
        ys = torch.linspace(-1, 1, oh) * fov * oh / ow
        xs = torch.linspace(-1, 1, ow) * fov
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.register_buffer("rays", torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(-1, 3))
        self.retina = retina
        self.scale = nn.Parameter(torch.tensor([1.1 / fov, 1.1 * ow / (fov * oh)]))
        self.pix = nn.Parameter(torch.tensor([1.0 / 0.25, -0.5, 0.8, 0.1]))  # in: (x - m) * s; out: x a + b

    @staticmethod
    def rotation(a):
        """[N, 3] angles -> [N, 3, 3] = Rz Ry Rx."""
        c, s = torch.cos(a), torch.sin(a)
        one, zero = torch.ones_like(c[:, 0]), torch.zeros_like(c[:, 0])
        cx, cy, cz, sx, sy, sz = c[:, 0], c[:, 1], c[:, 2], s[:, 0], s[:, 1], s[:, 2]
        rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(-1, 3, 3)
        ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
        rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
        return rz @ ry @ rx

    def forward(self, frame, eye):
        r = self.rays @ self.rotation(0.2 * torch.tanh(self.mlp(eye))).transpose(1, 2)  # [N, P, 3]
        grid = (r[:, :, :2] / r[:, :, 2:]) * self.scale
        grid = grid.reshape(-1, self.retina[0], self.retina[1], 2)
        x = (frame + self.pix[1]) * self.pix[0]
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False) * self.pix[2] + \
            self.pix[3]


class Modulation(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.lin = nn.Linear(2, features)
        self.lstm = nn.LSTM(features, features)

    def forward(self, behaviour, h, c):
        y, (h, c) = self.lstm(F.gelu(self.lin(behaviour))[None], (h, c))
        return y[0], h, c


class CausalConv(nn.Module):
    """A 3x3 spatial x 3 frame convolution over the last two inputs (state) and this one."""

    def __init__(self, cin, cout, groups):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, (3, 3, 3), padding=(0, 1, 1), groups=groups)

    def forward(self, x, buf):
        seq = torch.cat([buf, x[:, :, None]], 2)
        return F.gelu(self.conv(seq)[:, :, 0]), seq[:, :, 1:]


class Feedforward(nn.Module):
    def __init__(self, stem, blocks, core):
        super().__init__()
        self.stem = nn.Conv2d(1, stem, 6, stride=2, padding=2, padding_mode="replicate")
        self.layers, self.widths = nn.ModuleList(), []
        c = stem
        for growth, groups in blocks:
            for _ in range(2):
                self.layers.append(CausalConv(c, growth, groups))
                self.widths.append(c)
                c += growth
        self.out = nn.Conv2d(c, core, 1)

    def forward(self, x, bufs):
        x = F.gelu(self.stem(x))
        new, k = [], 0
        for b in range(3):
            feats = [x]
            for _ in range(2):
                y, nb = self.layers[k](torch.cat(feats, 1), bufs[k])
                feats.append(y)
                new.append(nb)
                k += 1
            x = torch.cat(feats, 1)
            if b < 2:
                x = F.avg_pool2d(x, 2)
        return 1.7015 * F.gelu(self.out(x)), new


class Recurrent(nn.Module):
    def __init__(self, cin, hidden, groups, key, core):
        super().__init__()
        self.q, self.k = nn.Conv2d(hidden, key, 1), nn.Conv2d(hidden, key, 1)
        self.v = nn.Conv2d(hidden, hidden, 1)
        self.gates = nn.Conv2d(cin + 2 * hidden, 4 * hidden, 3, padding=1, groups=groups)
        self.out = nn.Conv2d(hidden, core, 1)
        self.hidden = hidden

    def attention(self, h):
        n, c, hh, ww = h.shape
        q = F.normalize(self.q(h).flatten(2), dim=1)  # [N, key, P]
        k = F.normalize(self.k(h).flatten(2), dim=1)
        v = self.v(h).flatten(2)
        a = torch.softmax(q.transpose(1, 2) @ k * 4.0, dim=-1)  # [N, P, P]
        return (v @ a.transpose(1, 2)).reshape(n, c, hh, ww)

    def forward(self, x, h, c):
        z = self.gates(torch.cat([x, h, self.attention(h)], 1))
        H = self.hidden
        i, f, g, o = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return self.out(h), h, c


class Readout(nn.Module):
    def __init__(self, channels, units):
        super().__init__()
        self.mu = nn.Parameter(torch.randn(units, 2))
        self.features = nn.Parameter(torch.randn(channels, units) / channels ** 0.5)
        self.bias = nn.Parameter(torch.randn(units) * 0.1)

    def forward(self, x):
        grid = torch.tanh(self.mu)[None, :, None, :].expand(x.shape[0], -1, -1, -1)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)[..., 0]
        return (y * self.features).sum(1) + self.bias


class Stream(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.modulation = Modulation(s["modulation"])
        self.feedforward = Feedforward(s["stem"], s["blocks"], s["core"])
        self.recurrent = Recurrent(s["core"] + s["modulation"], s["hidden"], s["groups"], s["key"], s["core"])
        self.readout = Readout(s["core"], s["units"])

    def forward(self, x, behaviour, state):
        m, mh, mc = self.modulation(behaviour, state[0], state[1])
        f, bufs = self.feedforward(x, state[4:])
        mm = m[:, :, None, None].expand(-1, -1, f.shape[2], f.shape[3])
        r, h, c = self.recurrent(torch.cat([f, mm], 1), state[2], state[3])
        return self.readout(r), [mh, mc, h, c] + bufs


class FnnModel(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.sizes = sizes
        self.perspective = Perspective(sizes["retina"])
        self.streams = nn.ModuleList(Stream(sizes) for _ in range(sizes["streams"]))

    def state_shapes(self, n=1):
        """Name and shape of every state tensor, in forward's order."""
        s = self.sizes
        h, w = s["retina"][0] // 2, s["retina"][1] // 2
        out = []
        for k in range(s["streams"]):
            out += [(f"s{k}_mod_h", (1, n, s["modulation"])), (f"s{k}_mod_c", (1, n, s["modulation"]))]
            rh, rw = h // 4, w // 4
            out += [(f"s{k}_rec_h", (n, s["hidden"], rh, rw)), (f"s{k}_rec_c", (n, s["hidden"], rh, rw))]
            c, j = s["stem"], 0
            for b, (growth, _) in enumerate(s["blocks"]):
                for _ in range(2):
                    out.append((f"s{k}_buf{j}", (n, c, 2, h >> b, w >> b)))
                    c += growth
                    j += 1
        return out

    def forward(self, frame, eye, behaviour, *state):
        x = self.perspective(frame, eye)
        per = len(state) // len(self.streams)
        outs, new = [], []
        for k, s in enumerate(self.streams):
            y, ns = s(x, behaviour, state[k * per:(k + 1) * per])
            outs.append(y)
            new += ns
        return (torch.exp(torch.stack(outs).mean(0)), *new)


def fnn_model(sizes, seed=0):
    torch.manual_seed(seed)
    m = FnnModel(sizes)
    with torch.no_grad():
        for st in m.streams:  # responses of moderate size: exp of values of order 1
            st.readout.features.mul_(0.5)
    return m.eval()


def batch_axes(model):
    """Each input's and output's batch axis, for an export with a dynamic batch (ONNX Runtime)."""
    axes = {"frames": {0: "b"}, "eye": {0: "b"}, "behaviour": {0: "b"}, "responses": {0: "b"}}
    for (name, one), (_, two) in zip(model.state_shapes(1), model.state_shapes(2)):
        axis = next(k for k in range(len(one)) if one[k] != two[k])
        axes[name] = axes[name + "_next"] = {axis: "b"}
    return axes


def export(model, path, dtype, opset=16, dynamic_axes=None):
    model = model.to(dtype)
    fh, fw = model.sizes["frame"]
    names = [n for n, _ in model.state_shapes()]
    args = (torch.zeros(1, 1, fh, fw, dtype=dtype), torch.zeros(1, 2, dtype=dtype), torch.zeros(1, 2, dtype=dtype)) + \
        tuple(torch.zeros(*s, dtype=dtype) for _, s in model.state_shapes())
    torch.onnx.export(model, args, path, input_names=["frames", "eye", "behaviour"] + names,
                      output_names=["responses"] + [n + "_next" for n in names], opset_version=opset,
                      dynamic_axes=dynamic_axes)
    return model
