"""(b) The fnn-style video twin (tests/twin_fnn.py: perspective MLP and
grid sampling, modulation LSTM, causal 3-D convolution core, recurrent
convolutional core with attention, Gaussian readout over streams, exp
output) written in PyTorch, exported to ONNX, imported, and run by
`twinbrain run` over a video with its 20 recurrent state tensors carried
on the device, B stimuli at once: the responses match PyTorch's to
<= 1e-4 relative (single) and <= 1e-10 (double) on every frame, on every
device. One `twin eval` frame with eye position, behaviour and a random
state checks the paths a scenario feeds with 0 and every state output.

Sizes: REDUCED in make check (36x64 frames, 2 streams, 60 units, 16
frames: about a minute per device); TB_TWIN_FNN_FRAMES sets the frame
count (60 for the issue's figure) and TB_TWIN_FNN_FULL=1 runs the
published sizes (144x256 frames, 4 streams, 8000 units; slow; 60 frames
unless TB_TWIN_FNN_FRAMES says otherwise)."""
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

torch, onnx, h5py = ref.need("torch", "onnx", "h5py")
import twin_fnn  # noqa: E402

suite = devices.Tests()
check = suite.check
full = os.environ.get("TB_TWIN_FNN_FULL") == "1"
sizes = twin_fnn.FULL if full else twin_fnn.REDUCED
T = int(os.environ.get("TB_TWIN_FNN_FRAMES", "60" if full else "16"))
B = 1 if full else 2
tmp = tempfile.mkdtemp(prefix="twin-fnn-")
rng = np.random.default_rng(5)
fh, fw = sizes["frame"]
video = rng.uniform(0, 1, size=(T, B, fh, fw))
with h5py.File(os.path.join(tmp, "video.h5"), "w") as f:
    f["frames"] = video
torch.set_num_threads(2)


def reference(model, dtype):
    """PyTorch's responses [T, B, units] with eye and behaviour 0 and the state carried."""
    state = [torch.zeros(*s, dtype=dtype) for _, s in model.state_shapes(B)]
    zeros = torch.zeros(B, 2, dtype=dtype)
    out = []
    with torch.no_grad():
        for t in range(T):
            r, *state = model(torch.from_numpy(video[t][:, None]).to(dtype), zeros, zeros, *state)
            out.append(r.double().numpy())
    return np.stack(out)


cases = {}
for prec, dtype, tol in (("single", torch.float32, 1e-4), ("double", torch.float64, 1e-10)):
    model = twin_fnn.fnn_model(sizes)
    path = os.path.join(tmp, f"fnn_{prec}.onnx")
    twin_fnn.export(model, path, dtype)
    net = os.path.join(tmp, f"fnn_{prec}.h5")
    r = ref.run("twin", "import", path, "-o", net)
    n_state = len(model.state_shapes())
    if prec == "single":
        check(f"the importer pairs the {n_state} state tensors", f"{n_state} state pairs" in r.stdout, r.stdout.strip())
    t0 = time.time()
    want = reference(model, dtype)
    cases[prec] = (model, dtype, net, tol, want, time.time() - t0)
    with open(os.path.join(tmp, f"fnn_{prec}.toml"), "w") as f:
        f.write(f'[simulation]\nduration = {T}\ndt = 1\nprecision = "{prec}"\n\n[twin]\nnetwork = "{net}"\n'
                f'batch = {B}\n\n[twin.input]\nkind = "file"\nfile = "{tmp}/video.h5"\n')
    # one frame with eye, behaviour and a random state, through `twin eval` (every output compared)
    shapes = model.state_shapes(1)
    feeds = {"frames": rng.uniform(0, 1, (B, 1, 1, fh, fw)), "eye": rng.normal(0, 1, (B, 1, 2)),
             "behaviour": rng.normal(0, 1, (B, 1, 2))}
    for name, s in shapes:
        feeds[name] = rng.normal(0, 0.5, (B,) + s)
    with h5py.File(os.path.join(tmp, f"feeds_{prec}.h5"), "w") as f:
        for k, v in feeds.items():
            f[k] = v.astype(np.float32 if prec == "single" else np.float64)
    with torch.no_grad():
        outs = [model(*[torch.from_numpy(feeds[k][b].astype(np.float32 if prec == "single" else np.float64))
                        for k in ["frames", "eye", "behaviour"] + [n for n, _ in shapes]]) for b in range(B)]
    cases[prec] += ({k: np.stack([o[j].double().numpy() for o in outs])
                     for j, k in enumerate(["responses"] + [n + "_next" for n, _ in shapes])},)


def body(dev):
    for prec, (model, dtype, net, tol, want, t_torch, eval_want) in cases.items():
        if prec == "double" and not suite.needs_fp64("the double-precision fnn-style model"):
            continue
        out = os.path.join(tmp, f"out_{prec}_{dev.index}.h5")
        t0 = time.time()
        ref.run("run", os.path.join(tmp, f"fnn_{prec}.toml"), "-o", out, "--quiet")
        wall = time.time() - t0
        with h5py.File(out) as f:
            got = f["twin/responses"][()]
        if got.shape != want.shape:
            check(f"{prec}: responses [frames, batch, units]", False, f"shape {got.shape}, PyTorch {want.shape}")
            continue
        per_frame = [ref.rel_err(got[t], want[t]) for t in range(T)]
        worst = int(np.argmax(per_frame))
        check(f"{prec}: {T} frames x {B} stimuli x {want.shape[2]} units match PyTorch",
              max(per_frame) <= tol, f"worst frame {worst}: max error / max |response| = {per_frame[worst]:.2e} "
              f"(<= {tol:g}); run {wall:.1f} s (with start-up), PyTorch {t_torch:.1f} s")
        # the recurrent state matters: frame T-1 differs from the same frame seen from a zero state
        if prec == "double":
            check("the state changes the responses (the test can fail)", ref.rel_err(want[-1], want[0]) > 1e-3, "")
        ev = os.path.join(tmp, f"eval_{prec}_{dev.index}.h5")
        ref.run("twin", "eval", net, os.path.join(tmp, f"feeds_{prec}.h5"), "-o", ev, "--precision", prec)
        with h5py.File(ev) as f:
            errs = {k: ref.rel_err(f[k][()][:, 0] if f[k].shape[1:2] == (1,) and f[k].ndim == v.ndim + 1 else f[k][()],
                                   v) for k, v in eval_want.items()}
        k = max(errs, key=errs.get)
        check(f"{prec}: one frame with eye, behaviour and a random state: every output", errs[k] <= tol,
              f"worst {k}: {errs[k]:.2e}")


suite.each(body, fp64=False)
suite.finish()
