"""`twinbrain bench twin --model fnn --quick`: the fnn-style twin's
benchmark (docs/performance.md, "Visual-cortex twins") at the reduced
sizes of tests/twin_fnn.py, on every device. Checks what the command
reports, not how fast anything is: one row per engine and batch with a
positive rate (ONNX Runtime where it is installed), twinbrain's setup
reported apart, and the GFLOP a frame against the convolutions and
matrix products of the PyTorch model counted here from its modules. Bad
options are usage errors (exit 2)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

torch, onnx = ref.need("torch", "onnx")
import twin_fnn  # noqa: E402

suite = devices.Tests()
check = suite.check
try:
    import onnxruntime  # noqa: F401
    has_ort = True
except ImportError:
    has_ort = False
    print("note: onnxruntime is not installed (scripts/install-deps --bench): its rows are not expected")


def macs(model):
    """Multiply-adds of one frame at batch 1: every Conv and Linear (hooks on a real forward), plus the
    matrix products written with @ (perspective rays and rotations, attention)."""
    total = [0.0]

    def hook(mod, inp, out):
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Conv3d)):
            total[0] += out.numel() * mod.weight[0].numel()
        elif isinstance(mod, torch.nn.Linear):
            total[0] += out.numel() * mod.in_features

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    fh, fw = model.sizes["frame"]
    with torch.no_grad():
        model(torch.zeros(1, 1, fh, fw), torch.zeros(1, 2), torch.zeros(1, 2),
              *[torch.zeros(*s) for _, s in model.state_shapes(1)])
    for h in hooks:
        h.remove()
    s = model.sizes
    rays = s["retina"][0] * s["retina"][1]
    P = (s["retina"][0] // 8) * (s["retina"][1] // 8)  # the recurrent core's positions
    attention = P * P * s["key"] + s["hidden"] * P * P
    return total[0] + rays * 9 + 2 * 27 + s["streams"] * attention


want_gflop = 2 * macs(twin_fnn.fnn_model(twin_fnn.REDUCED)) * 1e-9
env = dict(os.environ, TB_PYTHON=sys.executable)


def bench(*args):
    return subprocess.run([ref.TWINBRAIN, "bench", "twin", *args], capture_output=True, text=True, env=env)


def body(dev):
    r = bench("--model", "fnn", "--quick", "--frames", "1", "--batches", "1,2", "--json", "--device", str(dev.index))
    if r.returncode != 0:
        check("bench twin --model fnn --quick runs", False, f"exit {r.returncode}:\n{r.stdout}{r.stderr}")
        return
    out = json.loads(r.stdout)
    rows = {(f["engine"], f["batch"]): f for f in out["figures"]}
    engines = ["twinbrain", "pytorch"] + (["onnxruntime"] if has_ort else [])
    want = {(e, b) for e in engines for b in (1, 2)}
    check("one row per engine and batch", set(rows) == want, f"rows {sorted(rows)}")
    check("every rate is positive", all(f["frames_per_second"] > 0 for f in out["figures"]), "")
    check("twinbrain's setup is reported apart",
          all(rows[("twinbrain", b)].get("setup_seconds", -1) > 0 for b in (1, 2) if ("twinbrain", b) in rows), "")
    check("model fnn at --quick sizes", out["model"] == "fnn" and out["quick"] is True, f"{out['model']}")
    got = out["gflop_per_frame"]
    check("GFLOP a frame: the PyTorch model's convolutions and matrix products", abs(got - want_gflop) <= 1e-3 * want_gflop,
          f"{got:.6g} against {want_gflop:.6g}")


suite.each(body, fp64=False)
for args, what in ((["--model", "resnet"], "an unknown model"), (["--batches", "1,0"], "a batch of 0"),
                   (["--batches", "1,2,3,4,5"], "five batch sizes")):
    r = bench(*args)
    check(f"{what} is a usage error (exit 2)", r.returncode == 2 and "bench twin" in r.stderr,
          f"exit {r.returncode}: {r.stderr.strip()}")
suite.finish()
