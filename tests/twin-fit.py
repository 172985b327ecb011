"""twinbrain twin fit: a twin for a new animal from a frozen core.

A Sensorium-style network written in PyTorch (a 9x9 convolutional core of
8 channels with batch norm and ELU, whose channels are far from collinear
so that the weights are identifiable; the Gaussian readout with a shifter
of tests/twin_models.py; ELU + 1) is exported and imported. A "new animal" is a
known Gaussian readout on the same core (positions, channel weights and
biases drawn here), its rates computed by PyTorch (core, then grid_sample
with border padding, align_corners False, then ELU + 1) and its responses
Poisson-drawn from them. `twin fit` keeps the core and fits the readout;
on every device, in single and double precision:
  - the fitted positions are within a quarter of a map pixel of the true
    ones, the channel weights correlate with the true ones (> 0.95);
  - the fitted network (`twin eval`, on new test images) predicts the
    noiseless rates with correlation > 0.95 per unit, and the noisy test
    responses about as well as the true readout does;
  - it matches the fitted parameters run through PyTorch (1e-9 double,
    1e-4 single relative), and a [twin] scenario runs it;
  - the fit stopped early on the held-out frames (/fit records it);
  - with a core that carries recurrent state (run over the frames in
    order), the positions are found as well and a [twin] run of the
    fitted network over a movie is the fitted readout on that core;
  - with an exp output (--nonlinearity exp) likewise, and the written
    network ends in Exp.
Bad inputs (stimuli of another size or holding Inf, responses with
other frames or holding NaN, unit ids of another count, too few frames
for the split, an unknown core tensor, output or input) get status 4
naming the file and dataset, and leave nothing."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

torch, onnx, h5py = ref.need("torch", "onnx", "h5py")
import torch.nn.functional as F  # noqa: E402

import twin_models  # noqa: E402
from torch import nn  # noqa: E402

suite = devices.Tests()
check = suite.check
torch.set_num_threads(1)

H, W = 16, 20                 # frames
T, T_TEST, N = 1500, 200, 10  # recorded frames, test frames, units of the new animal
tmp = tempfile.mkdtemp(prefix="twin-fit-")
rng = np.random.default_rng(7)



class Net(nn.Module):
    """A one-layer core (9x9 conv, batch norm, ELU) and the readout of tests/twin_models.py."""

    def __init__(self, channels=8, units=5):
        super().__init__()
        self.core = nn.Sequential(nn.Conv2d(1, channels, 9, padding=4), nn.BatchNorm2d(channels), nn.ELU())
        self.shifter = twin_models.Shifter()
        self.readout = twin_models.GaussianReadout(channels, units)

    def forward(self, images, pupil):
        return F.elu(self.readout(self.core(images), self.shifter(pupil))) + 1


def make_net():
    torch.manual_seed(0)
    m = Net()
    with torch.no_grad():
        bn = m.core[1]
        bn.running_mean.normal_(0, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
    return m.eval()


nets = {}
for prec, dtype in (("single", torch.float32), ("double", torch.float64)):
    onnx_path = os.path.join(tmp, f"net_{prec}.onnx")
    model = twin_models.export(make_net(), onnx_path, (H, W), dtype)
    net = os.path.join(tmp, f"net_{prec}.h5")
    ref.run("twin", "import", onnx_path, "-o", net)
    nets[prec] = net
model = model.double()


def core_maps(images):
    with torch.no_grad():
        return model.core(torch.from_numpy(images[:, None]).double())  # [T, C, h, w]


def readout(maps, mu, w, b, expo=False):
    """PyTorch's Gaussian readout: mu [N, 2], w [N, C], b [N] -> rates [T, N] (ELU + 1, or exp)."""
    mu, w, b = (np.asarray(v, np.float64) for v in (mu, w, b))
    grid = torch.from_numpy(mu[None, None]).expand(maps.shape[0], 1, N, 2)
    with torch.no_grad():
        s = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)[:, :, 0]
        z = torch.einsum("tcn,nc->tn", s, torch.from_numpy(w)) + torch.from_numpy(b)
        return (torch.exp(z) if expo else F.elu(z) + 1).numpy()


stim = rng.normal(size=(T, H, W))
test = rng.normal(size=(T_TEST, H, W))
maps, maps_test = core_maps(stim), core_maps(test)
C, h, w_ = maps.shape[1:]
mu_true = rng.uniform(-0.7, 0.7, size=(N, 2))
w_true = rng.normal(size=(N, C))
z0 = readout(maps, mu_true, w_true, np.zeros(N))  # ELU + 1 of the linear part: rescale for var 1
lin = np.where(z0 > 1, z0 - 1, np.log(np.maximum(z0, 1e-300)))
w_true /= lin.std(0)[:, None]
b_true = rng.uniform(0.5, 1.5, size=N) - (lin / lin.std(0)).mean(0)
rates, rates_test = readout(maps, mu_true, w_true, b_true), readout(maps_test, mu_true, w_true, b_true)
resp, resp_test = rng.poisson(rates).astype(np.float64), rng.poisson(rates_test).astype(np.float64)
data = os.path.join(tmp, "data.h5")
with h5py.File(data, "w") as f:
    f["stimuli"] = stim.astype(np.float32)
    f["responses"] = resp
    f["behaviour"] = np.zeros((T, 2))
    f["unit_ids"] = np.arange(N) + 1000
print(f"core map [{C}, {h}, {w_}]; mean rate {rates.mean():.2f}")


def to_pixels(mu):
    return np.stack([((mu[:, 0] + 1) * w_ - 1) / 2, ((mu[:, 1] + 1) * h - 1) / 2], 1)


def tensor(path, name):
    with h5py.File(path) as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["tensors/name"][()]]
        return f[f"tensors/data/{names.index(name)}"][()]


def corr(a, b):
    a, b = a - a.mean(0), b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def fit_case(dev, prec):
    out = os.path.join(tmp, f"fit_{dev.index}_{prec}.h5")
    r = ref.run("twin", "fit", nets[prec], data, "-o", out, "--precision", prec, "--seed", "3", "--quiet")
    print(r.stdout.strip())
    tag = f"{prec}"
    mu = tensor(out, "twin_fit/grid").reshape(N, 2)
    w = tensor(out, "twin_fit/features").reshape(C, N).T
    b = tensor(out, "twin_fit/bias").reshape(N)
    err_px = np.abs(to_pixels(mu) - to_pixels(mu_true)).max()
    check(f"{tag}: positions within 0.25 map pixel", err_px < 0.25, f"largest error {err_px:.3f} px")
    wc = corr(w.T, w_true.T)
    check(f"{tag}: channel weights correlate with the true ones", wc.min() > 0.95, f"lowest {wc.min():.4f}")
    with h5py.File(out) as f:
        g = f["fit"]
        stopped = int(g.attrs["epochs"]) < 2000 and int(g.attrs["best_epoch"]) < int(g.attrs["epochs"])
        curve = g["validation_loss"][()]
        check(f"{tag}: early stopping on the held-out frames", stopped and len(curve) == int(g.attrs["epochs"]) and
              int(g.attrs["validation_frames"]) == 300 and abs(curve.min() - g.attrs["validation_loss"]) < 1e-12,
              f"{g.attrs['epochs']} epochs, best {g.attrs['best_epoch']}")
        check(f"{tag}: the unit ids are kept", np.array_equal(g["unit_ids"][()], np.arange(N) + 1000))
        check(f"{tag}: ELU + 1 found at the network's output", g.attrs["nonlinearity"] == "elu" and
              g.attrs["core"] == "/core/core.2/Elu_output_0", f"{g.attrs['nonlinearity']}, core {g.attrs['core']}")
    # the fitted network on new images
    feeds = os.path.join(tmp, f"feeds_{prec}.h5")
    with h5py.File(feeds, "w") as f:
        f["images"] = test[:, None, None].astype(np.float32 if prec == "single" else np.float64)
        f["pupil"] = np.zeros((T_TEST, 1, 2))
    pred_path = os.path.join(tmp, f"pred_{dev.index}_{prec}.h5")
    ref.run("twin", "eval", out, feeds, "-o", pred_path, "--precision", prec)
    with h5py.File(pred_path) as f:
        pred = f["responses"][()][:, 0]
    want = readout(maps_test if prec == "double" else core_maps(test.astype(np.float32).astype(np.float64)), mu, w, b)
    e = ref.rel_err(pred, want)
    check(f"{tag}: the written network is the fitted readout on the core", e < (1e-9 if prec == "double" else 1e-4),
          f"relative error {e:.2e}")
    c_clean = corr(pred, rates_test)
    check(f"{tag}: predictions correlate with the noiseless rates", c_clean.min() > 0.95, f"lowest {c_clean.min():.4f}")
    c_fit, c_true = corr(pred, resp_test).mean(), corr(rates_test, resp_test).mean()
    check(f"{tag}: held-out score close to the true readout's", c_fit > c_true - 0.02,
          f"correlation to the noisy responses {c_fit:.4f}, true readout {c_true:.4f}")
    return out


def scenario_runs(out, prec):
    movie = os.path.join(tmp, "movie.h5")
    with h5py.File(movie, "w") as f:
        f["frames"] = test[:3].astype(np.float32)
    toml = os.path.join(tmp, f"run_{prec}.toml")
    with open(toml, "w") as f:
        f.write(f'[simulation]\nduration = 3\ndt = 1\nprecision = "{prec}"\n\n[twin]\nnetwork = "{out}"\n'
                f'batch = 1\n\n[twin.input]\nkind = "file"\nfile = "{movie}"\n')
    res = os.path.join(tmp, f"run_{prec}.h5")
    ref.run("run", toml, "-o", res, "--quiet")
    with h5py.File(res) as f:
        got = f["twin/responses"][()][:, 0]
    with h5py.File(os.path.join(tmp, f"pred_{suite.current.index}_{prec}.h5")) as f:
        want = f["responses"][()][:3, 0]
    check(f"{prec}: a [twin] scenario runs the fitted network", got.shape == (3, N) and ref.rel_err(got, want) < 1e-5,
          f"shape {got.shape}")


def body(dev):
    for prec in ("double", "single"):
        if prec == "double" and not suite.needs_fp64("the double-precision fit"):
            continue
        out = fit_case(dev, prec)
        scenario_runs(out, prec)




# ------------------------------------------------------------ a recurrent core
class RecNet(nn.Module):
    """A core with recurrent state: m_t = ELU(conv(x_t) + 0.6 m_{t-1}), carried as state/state_next."""

    def __init__(self, channels=8, units=5):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 9, padding=4)
        self.readout = twin_models.GaussianReadout(channels, units)

    def forward(self, images, state):
        m = F.elu(self.conv(images) + 0.6 * state)
        return F.elu(self.readout(m, torch.zeros(1, 2, dtype=m.dtype))) + 1, m


T_REC = 1000
torch.manual_seed(1)
rec_model = RecNet().eval()
rec_onnx, rec_net = os.path.join(tmp, "rec.onnx"), os.path.join(tmp, "rec.h5")
torch.onnx.export(rec_model, (torch.zeros(1, 1, H, W), torch.zeros(1, 8, H, W)), rec_onnx,
                  input_names=["images", "state"], output_names=["responses", "state_next"], opset_version=16)
ref.run("twin", "import", rec_onnx, "-o", rec_net)
rec_model = rec_model.double()


def rec_maps(images):
    with torch.no_grad():
        drive = rec_model.conv(torch.from_numpy(images[:, None]).double())
        out, m = [], torch.zeros_like(drive[:1])
        for t in range(drive.shape[0]):
            m = F.elu(drive[t:t + 1] + 0.6 * m)
            out.append(m)
        return torch.cat(out)


rec_stim = stim[:T_REC].astype(np.float32).astype(np.float64)
rec_test = test.astype(np.float32).astype(np.float64)
rec_rates = readout(rec_maps(rec_stim), mu_true, w_true, b_true)
rec_data = os.path.join(tmp, "rec_data.h5")
with h5py.File(rec_data, "w") as f:
    f["stimuli"] = rec_stim.astype(np.float32)
    f["responses"] = rng.poisson(rec_rates).astype(np.float64)


def recurrent(dev):
    out = os.path.join(tmp, f"rec_fit_{dev.index}.h5")
    ref.run("twin", "fit", rec_net, rec_data, "-o", out, "--precision", "single", "--quiet")
    mu = tensor(out, "twin_fit/grid").reshape(N, 2)
    err_px = np.abs(to_pixels(mu) - to_pixels(mu_true)).max()
    check("recurrent core (frames in order): positions within 0.25 map pixel", err_px < 0.25,
          f"largest error {err_px:.3f} px")
    wc = corr(tensor(out, "twin_fit/features").reshape(C, N), w_true.T)
    check("recurrent core: channel weights correlate with the true ones", wc.min() > 0.95, f"lowest {wc.min():.4f}")
    movie = os.path.join(tmp, "rec_movie.h5")
    with h5py.File(movie, "w") as f:
        f["frames"] = rec_test.astype(np.float32)
    toml = os.path.join(tmp, "rec_run.toml")
    with open(toml, "w") as f:
        f.write(f'[simulation]\nduration = {T_TEST}\ndt = 1\nprecision = "single"\n\n[twin]\nnetwork = "{out}"\n'
                f'batch = 1\n\n[twin.input]\nkind = "file"\nfile = "{movie}"\n')
    res = os.path.join(tmp, "rec_run.h5")
    ref.run("run", toml, "-o", res, "--quiet")
    with h5py.File(res) as f:
        got = f["twin/responses"][()][:, 0]
    want = readout(rec_maps(rec_test), mu, tensor(out, "twin_fit/features").reshape(C, N).T,
                   tensor(out, "twin_fit/bias").reshape(N))
    e = ref.rel_err(got, want)
    check("recurrent core: a [twin] run of the fitted network is the fitted readout on the state-carrying core",
          e < 1e-4, f"relative error {e:.2e}")


# ------------------------------------------------------------ exp output (--nonlinearity exp)
exp_rates = readout(maps, mu_true, w_true, np.log(b_true), expo=True)
exp_data = os.path.join(tmp, "exp_data.h5")
with h5py.File(exp_data, "w") as f:
    f["stimuli"] = stim.astype(np.float32)
    f["responses"] = rng.poisson(exp_rates).astype(np.float64)


def exponential(dev):
    out = os.path.join(tmp, f"exp_fit_{dev.index}.h5")
    ref.run("twin", "fit", nets["single"], exp_data, "-o", out, "--precision", "single", "--nonlinearity", "exp",
            "--quiet")
    mu = tensor(out, "twin_fit/grid").reshape(N, 2)
    w = tensor(out, "twin_fit/features").reshape(C, N).T
    b = tensor(out, "twin_fit/bias").reshape(N)
    err_px = np.abs(to_pixels(mu) - to_pixels(mu_true)).max()
    wc = corr(w.T, w_true.T)
    check("exp output: positions within 0.25 map pixel, weights correlated", err_px < 0.25 and wc.min() > 0.95,
          f"largest error {err_px:.3f} px, lowest weight correlation {wc.min():.4f}")
    feeds = os.path.join(tmp, "feeds_single.h5")
    pred_path = os.path.join(tmp, f"exp_pred_{dev.index}.h5")
    ref.run("twin", "eval", out, feeds, "-o", pred_path, "--precision", "single")
    with h5py.File(pred_path) as f:
        pred = f["responses"][()][:, 0]
    want = readout(core_maps(test.astype(np.float32).astype(np.float64)), mu, w, b, expo=True)
    e = ref.rel_err(pred, want)
    with h5py.File(out) as f:
        nonlin = f["fit"].attrs["nonlinearity"]
    check("exp output: the written network ends in exp", e < 1e-4 and nonlin == "exp",
          f"relative error {e:.2e}, /fit nonlinearity {nonlin}")


def body_all(dev):
    body(dev)
    recurrent(dev)
    exponential(dev)


suite.each(body_all, fp64=False)


# ------------------------------------------------------------ bad input (the first device)
def bad(name, stimuli, responses, want, *extra, ids=None):
    path = os.path.join(tmp, f"bad_{name}.h5")
    with h5py.File(path, "w") as f:
        f["stimuli"] = stimuli
        f["responses"] = responses
        if ids is not None:
            f["unit_ids"] = ids
    out = os.path.join(tmp, f"bad_{name}_out.h5")
    r = subprocess.run([ref.TWINBRAIN, "twin", "fit", nets["single"], path, "-o", out, "--precision", "single",
                        "--quiet", *extra], capture_output=True, text=True)
    msg = r.stderr.strip()
    ok = r.returncode == 4 and all(wnt in msg for wnt in want) and not os.path.exists(out) and \
        not os.path.exists(out + ".partial")
    check(f"bad input: {name} -> status 4 naming it", ok, f"exit {r.returncode}: {msg}")


if suite.devices:
    os.environ["TWINBRAIN_DEVICE"] = str(suite.devices[0].index)
    small = stim[:100].astype(np.float32)
    bad("stimulus size", np.zeros((100, H, W + 1), np.float32), resp[:100], [f"bad_stimulus size.h5", "/stimuli",
                                                                               "16x21", "images"])
    bad("frames", small, resp[:99], ["bad_frames.h5", "/responses", "100 frames"])
    bad("unit count", small, resp[:100], ["bad_unit count.h5", "/unit_ids names 11 units", "/responses has 10"],
        ids=np.arange(N + 1))
    nan = resp[:100].copy()
    nan[17, 3] = np.nan
    bad("NaN", small, nan, ["bad_NaN.h5", "/responses", "NaN at frame 17, column 3"])
    bad("too few frames", small[:10], resp[:10], ["bad_too few frames.h5", "/responses", "10 frames",
                                                   "held-out"])
    bad("unknown core", small, resp[:100], ["net_single.h5", "no tensor 'nope'"], "--core", "nope")
    bad("unknown output", small, resp[:100], ["net_single.h5", "no output 'nope'"], "--output", "nope")
    bad("unknown input", small, resp[:100], ["net_single.h5", "no input 'nope'"], "--input", "nope")
    inf = small.copy()
    inf[5, 2, 3] = np.inf
    bad("Inf stimulus", inf, resp[:100], ["bad_Inf stimulus.h5", "/stimuli holds Inf at frame 5, row 2, column 3"])
    r = subprocess.run([ref.TWINBRAIN, "twin", "fit", nets["single"], data, "-o", "x.h5", "--validation", "1.5"],
                       capture_output=True, text=True)
    check("a validation fraction outside (0, 1) is a usage error (2)", r.returncode == 2, r.stderr.strip())

suite.finish()
