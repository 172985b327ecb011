"""Checkpoint and resume (docs/formats.md, "Checkpoints").

A run with --checkpoint-every is killed with SIGKILL at random moments
(seeded), `twinbrain resume` is run after each kill (and may itself be
killed), and the finished file must hold exactly the datasets of the run
that was never interrupted (numpy.array_equal, every dataset but the
checkpoint slots), for:
  - a mass sweep with coloured (OU) noise and temporal-average, BOLD and FC
    monitors, on one device and split over two devices (--device all);
  - the COBA spiking network (examples/spiking/coba.toml, shortened);
  - a spiking [brain] with region_rates, bold and edge_spikes monitors,
    whose open bins and balloons a checkpoint must carry;
  - a mass sweep with perturbations that start and end during the run (a
    lesion, edge scaling by a ramped drug-like parameter change, a DBS
    input): a resumed run replays the actions before its checkpoint.
After every kill the output file (when there is one) opens in HDF5 as a
SWMR reader. Also: Ctrl-C then resume; a torn newest slot falls back to
the older one; resume of a complete file says so (exit 0); of a file
without checkpoints, with both slots torn, or on another number of
devices: exit 6; checkpointing does not change the results.

TB_CKPT_KILLS (default 3) kills per case, TB_CKPT_SEED (default 1) the
seed of the kill times: `TB_CKPT_KILLS=20 make check
TESTS=tests/checkpoint-resume.py` is the long version (docs/testing.md)."""
import glob
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

TB = os.environ["TWINBRAIN"]
SRC = os.environ["TB_SRCDIR"]
KILLS = int(os.environ.get("TB_CKPT_KILLS", "3"))
SEED = int(os.environ.get("TB_CKPT_SEED", "1"))
suite = devices.Tests()
check = suite.check

MASS = """
[simulation]
duration = {duration}
dt = 0.1
[connectome]
file = "c12.h5"
[model]
plugin = "jansen_rit"
[integrator.noise]
kind = "ou"
tau = 5.0
sigma = {{ y4 = 1.0 }}
[[monitor]]
name = "tavg"
kind = "temporal_average"
period = 2.0
variables = ["y0", "y1"]
[[monitor]]
name = "bold"
kind = "bold"
period = 500.0
variables = ["y1"]
[[monitor]]
name = "fc"
kind = "fc"
source = "tavg"
variable = "y1"
start = 1000.0
end = {duration}
[sweep]
"simulation.seed" = [1, 2, 3, 4]
"""


def datasets(path):
    out = {}
    with h5py.File(path, "r", swmr=True) as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.startswith("checkpoint/"):
                out[name] = obj[()]
        f.visititems(visit)
        attrs = {k: f.attrs.get(k) for k in ("steps", "completed", "status")}
    return out, attrs


def same(a, b):
    """Empty when the two files hold the same datasets bit for bit."""
    (da, aa), (db, ab) = datasets(a), datasets(b)
    if sorted(da) != sorted(db):
        return f"datasets differ: {sorted(set(da) ^ set(db))}"
    bad = [k for k in da if da[k].shape != db[k].shape or not np.array_equal(da[k], db[k])]
    if bad:
        return "differ: " + ", ".join(f"{k} {da[k].shape} vs {db[k].shape}" for k in bad)
    if aa != ab:
        return f"final attributes differ: {aa} vs {ab}"
    return ""


def readable(path):
    try:
        with h5py.File(path, "r", swmr=True) as f:
            return "scenario" in f.attrs
    except OSError:
        return False


def tb(*args, env=None):
    return subprocess.run([TB, *args], capture_output=True, text=True, env=env)


def rows(out, ds):
    """Rows of dataset `ds` in the output or its newest-growing partial
    file: how far the command writing them got."""
    best = 0
    for f in [out] + glob.glob(out + ".partial-*"):
        try:
            with h5py.File(f, "r", swmr=True) as h:
                best = max(best, h[ds].shape[0])
        except (OSError, KeyError):
            pass
    return best


def wait_to_kill(p, out, ds, total, rng):
    """Wait for a random moment of the command's life, then SIGKILL it;
    False when it ended first. A quarter of the moments fall in the first
    0.6 s (start-up: loading, building, creating the file, copying rows);
    the others once a random share of what is left of the run is written,
    plus up to 50 ms (inside a chunk, or a checkpoint being written)."""
    if rng.random() < 0.25:
        try:
            p.wait(timeout=rng.uniform(0.0, 0.6))
            return False
        except subprocess.TimeoutExpired:
            pass
    else:
        done = rows(out, ds)
        target = done + rng.uniform(0.05, 0.8) * (total - done)
        while p.poll() is None and rows(out, ds) < target:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.05))
    if p.poll() is not None:
        return False
    p.kill()
    p.wait()
    return True


def kill_loop(run_args, out, ds, total, ref, rng, env):
    """Run, kill at random moments, resume after each kill (or run again
    when resume finds nothing to resume yet), until KILLS kills were made
    and the last command finished. A command that ends before its kill
    finished the run: its file is compared too, and the next attempt
    starts from scratch. Returns (commands, problems, last command)."""
    run = [TB, "run", *run_args, "-o", out, "-q"]
    cmd, kills, commands, problems = run, 0, 0, []
    while commands < 10 * KILLS + 10:
        commands += 1
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        if kills < KILLS and wait_to_kill(p, out, ds, total, rng):
            kills += 1
            if os.path.exists(out) and not readable(out):
                problems.append(f"after kill {kills} {out} does not open as a SWMR reader")
            cmd = [TB, "resume", out, "-q"]
            continue
        err = p.communicate()[1]
        if cmd[1] == "resume" and (p.returncode == 6 or (p.returncode == 4 and "no such file" in err)):
            cmd = run  # killed before its first checkpoint, or before it made its file
            continue
        if p.returncode != 0:
            problems.append(f"{' '.join(cmd[1:3])} exited {p.returncode}: {err.strip()}")
            return commands, problems, cmd[1]
        if kills == KILLS:
            return commands, problems, cmd[1]
        diff = same(ref, out)  # ended before its kill: a result all the same
        if diff:
            problems.append(f"{cmd[1]} that ended before its kill: {diff}")
        for f in [out] + glob.glob(out + ".partial-*"):
            os.unlink(f)
        cmd = run
    problems.append(f"no end after {commands} commands")
    return commands, problems, cmd[1]


def killed_and_resumed(name, run_args, ref, ds, tmp, rng, env=None, existing=None):
    """The kill loop; with `existing`, a complete file of another run is at
    the output path first (the run then writes a partial file beside it)."""
    out = os.path.join(tmp, name.replace(" ", "_") + ".h5")
    if existing:
        subprocess.run(["cp", existing, out], check=True)
    with h5py.File(ref, "r") as f:
        total = f[ds].shape[0]
    commands, problems, last = kill_loop(run_args, out, ds, total, ref, rng, env)
    for p in problems:
        check(f"{name}: {p}", False)
    check(f"{name}: {KILLS} SIGKILLs at random moments, {commands} commands", not problems)
    diff = same(ref, out) if os.path.exists(out) else "no output"
    check(f"{name}: resumed file is bit-identical to the uninterrupted run", not diff, diff)
    left = glob.glob(out + ".partial-*")
    if last == "resume":  # a run started again after a kill before its first checkpoint leaves that attempt's
        check(f"{name}: no partial file is left", not left, str(left))


def tear(path, slot):
    """Flip a byte in the middle of a slot (a checkpoint torn by a crash)."""
    with h5py.File(path, "r+") as f:
        d = f[f"checkpoint/slot{slot}"]
        i = d.shape[0] // 2
        d[i] = d[i] ^ 0xFF


def slot_steps(path):
    with h5py.File(path, "r", swmr=True) as f:
        return [int(np.frombuffer(f[f"checkpoint/slot{k}"][8:16].tobytes(), "<u8")[0])
                if f[f"checkpoint/slot{k}"].shape[0] >= 16 else -1 for k in (0, 1)]


def wait_for_checkpoints(path, proc, n=2, timeout=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and proc.poll() is None:
        try:
            if min(slot_steps(path)) > 0:
                return True
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    return False


def mass_cases(dev, tmp, rng):
    env = dev.env()
    sc = os.path.join(tmp, "m.toml")
    with open(sc, "w") as f:
        f.write(MASS.format(duration=6000.0))
    subprocess.run([TB, "connectome", "generate", "--regions", "12", "--seed", "4", "-o",
                    os.path.join(tmp, "c12.h5")], check=True, capture_output=True)
    ref = os.path.join(tmp, "mref.h5")
    args = [sc, "--checkpoint-every", "100"]
    r = tb("run", *args, "-o", ref, "-q", env=env)
    check("mass: uninterrupted run with checkpoints", r.returncode == 0, r.stderr)
    r = tb("run", sc, "-o", os.path.join(tmp, "mplain.h5"), "-q", env=env)
    diff = same(ref, os.path.join(tmp, "mplain.h5"))
    check("mass: checkpoints change no result", r.returncode == 0 and not diff, diff or r.stderr)
    with h5py.File(ref, "r") as f:
        ok = f["checkpoint/slot0"].dtype == np.uint8 and f.attrs["checkpoint_every_ms"] == 100.0
        ok = ok and bytes(f["checkpoint/slot1"][:7]) == b"TBCKPT1"
    check("mass: /checkpoint slots and attributes as documented", ok)
    r = tb("resume", ref, env=env)
    check("resume of a complete file says so, exit 0", r.returncode == 0 and "complete" in r.stdout,
          r.stdout + r.stderr)

    other = os.path.join(tmp, "mother.h5")
    with open(os.path.join(tmp, "mo.toml"), "w") as f:
        f.write(MASS.format(duration=2000.0))
    r = tb("run", os.path.join(tmp, "mo.toml"), "-o", other, "-q", env=env)
    check("mass: a short complete run to be replaced", r.returncode == 0, r.stderr)
    killed_and_resumed("mass", args, ref, "monitors/tavg/time", tmp, rng, env, existing=other)

    # Ctrl-C: exit 130, a closed file; resume finishes it
    out = os.path.join(tmp, "mint.h5")
    p = subprocess.Popen([TB, "run", *args, "-o", out, "-q"], env=env, stderr=subprocess.PIPE, text=True)
    started = wait_for_checkpoints(out, p)
    p.send_signal(2)
    _, err = p.communicate()
    check("mass: Ctrl-C exits 130", started and p.returncode == 130, err)
    steps = slot_steps(out)
    with h5py.File(out, "r") as f:
        stopped = int(f.attrs["steps"])
    check("mass: a stopped run's newest checkpoint is where it stopped", max(steps) == stopped,
          f"slots {steps}, stopped at {stopped}")
    torn = os.path.join(tmp, "mtorn.h5")
    subprocess.run(["cp", out, torn], check=True)
    r = tb("resume", out, env=env)
    diff = same(ref, out)
    check("mass: resume after Ctrl-C is bit-identical", r.returncode == 0 and not diff, diff or r.stderr)

    # a torn newest slot: the older one is used, and the result is the same
    newest = int(np.argmax(slot_steps(torn)))
    older = slot_steps(torn)[1 - newest]
    tear(torn, newest)
    r = tb("resume", torn, env=env)
    diff = same(ref, torn)
    check("mass: a torn slot falls back to the other one", r.returncode == 0 and f"step {older} " in r.stderr
          and not diff, diff or r.stderr)
    both = os.path.join(tmp, "mboth.h5")
    p = subprocess.Popen([TB, "run", *args, "-o", both, "-q"], env=env, stderr=subprocess.PIPE)
    wait_for_checkpoints(both, p)
    p.send_signal(2)
    p.communicate()
    tear(both, 0)
    tear(both, 1)
    r = tb("resume", both, env=env)
    check("mass: both slots torn: exit 6, saying so", r.returncode == 6 and "no whole checkpoint" in r.stderr,
          r.stderr)

    # no checkpoints at all
    out = os.path.join(tmp, "mnone.h5")
    # long enough that Ctrl-C always lands before the end (a fast device
    # finished the 6 s run first, and a complete file has nothing to resume)
    p = subprocess.Popen([TB, "run", sc, "-o", out, "-q", "--set", "simulation.duration=600000"], env=env,
                         stderr=subprocess.PIPE)
    time.sleep(0.5)
    while p.poll() is None and not (os.path.exists(out) and readable(out)):
        time.sleep(0.05)
    p.send_signal(2)
    p.communicate()
    r = tb("resume", out, env=env)
    check("resume of a file without checkpoints: exit 6 naming --checkpoint-every",
          r.returncode == 6 and "--checkpoint-every" in r.stderr, r.stderr)
    r = tb("resume", os.path.join(tmp, "nothing.h5"), env=env)
    check("resume of no file: exit 4", r.returncode == 4, r.stderr)
    r = tb("run", sc, "--checkpoint-every", "0", "-o", os.path.join(tmp, "x.h5"), env=env)
    check("--checkpoint-every 0 is a usage error", r.returncode == 2 and "--checkpoint-every" in r.stderr, r.stderr)
    return sc


def two_devices(tmp, sc, rng):
    """The sweep split over two devices, killed and resumed."""
    env = dict(os.environ)
    env.pop("TWINBRAIN_DEVICE", None)
    ref = os.path.join(tmp, "m2ref.h5")
    args = [sc, "--checkpoint-every", "100", "--device", "all"]
    r = tb("run", *args, "-o", ref, "-q", env=env)
    with h5py.File(ref, "r") as f:
        n = len(f["devices"]) if "devices" in f else 1
    check("two devices: uninterrupted run", r.returncode == 0 and n == 2, r.stderr)
    killed_and_resumed("mass on two devices", args, ref, "monitors/tavg/time", tmp, rng, env)
    out = os.path.join(tmp, "m2one.h5")
    p = subprocess.Popen([TB, "run", *args, "-o", out, "-q"], env=env, stderr=subprocess.PIPE)
    wait_for_checkpoints(out, p)
    p.send_signal(2)
    p.communicate()
    r = tb("resume", out, "--device", "0", env=env)
    check("resume of a two-device run on one device: exit 6, saying why", r.returncode == 6 and "devices" in r.stderr,
          r.stderr)


def coba(dev, tmp, rng):
    env = dev.env()
    sc = os.path.join(SRC, "examples/spiking/coba.toml")
    ref = os.path.join(tmp, "cref.h5")
    args = [sc, "--set", "simulation.duration=1500", "--checkpoint-every", "50"]
    r = tb("run", *args, "-o", ref, "-q", env=env)
    check("coba: uninterrupted run with checkpoints", r.returncode == 0, r.stderr)
    killed_and_resumed("coba", args, ref, "monitors/rates/time", tmp, rng, env)


BRAIN = """
[simulation]
duration = 600.0
dt = 0.1
seed = 5
[brain]
connectome = "c8.h5"
speed = 3.0
[[brain.population]]
name = "E"
model = "iaf_psc_exp"
size = 80
[[brain.population]]
name = "I"
model = "iaf_psc_exp"
size = 20
[[brain.projection]]
source = "E"
target = "I"
rule = "fixed_indegree"
indegree = 10
weight = 50.0
[[brain.projection]]
source = "I"
target = "E"
rule = "fixed_indegree"
indegree = 5
weight = -100.0
[[brain.projection]]
source = "E"
target = "E"
rule = "connectome"
indegree = 20
weight = 40.0
[[input]]
name = "bg"
kind = "poisson"
rate = 4000.0
weight = 50.0
targets = ["E", "I"]
[[brain.monitor]]
kind = "region_rates"
period = 10.0
[[brain.monitor]]
kind = "bold"
period = 50.0
[[brain.monitor]]
kind = "edge_spikes"
period = 10.0
"""


def brain(dev, tmp, rng):
    """A [brain]'s monitors carry open bins and the balloons across
    chunks: checkpoints every 55 ms fall inside their 10 ms bins."""
    env = dev.env()
    subprocess.run([TB, "connectome", "generate", "--regions", "8", "--seed", "3", "-o",
                    os.path.join(tmp, "c8.h5")], check=True, capture_output=True)
    sc = os.path.join(tmp, "brain.toml")
    with open(sc, "w") as f:
        f.write(BRAIN)
    ref = os.path.join(tmp, "bref.h5")
    args = [sc, "--checkpoint-every", "55"]
    r = tb("run", *args, "-o", ref, "-q", env=env)
    check("brain: uninterrupted run with checkpoints", r.returncode == 0, r.stderr)
    killed_and_resumed("brain", args, ref, "monitors/region_rates/time", tmp, rng, env)


PERTURBED = """
[[perturbation]]
plugin = "lesion"
targets = [2, 5]
from = 1200.0
until = 3300.0

[[perturbation]]
plugin = "stimulation"
targets = [0]
from = 700.0
until = 4100.0
parameters = { waveform = "tacs", frequency = 10.0, amplitude = 20.0, variable = "y1" }
"""


def perturbed(dev, tmp, rng):
    """Actions before and after the checkpoints a kill falls between: a
    resumed run must replay those before its checkpoint (parameters and
    weights are not in a checkpoint)."""
    env = dev.env()
    sc = os.path.join(tmp, "p.toml")
    with open(sc, "w") as f:
        f.write(MASS.format(duration=5000.0) + PERTURBED)
    ref = os.path.join(tmp, "pref.h5")
    args = [sc, "--checkpoint-every", "100"]
    r = tb("run", *args, "-o", ref, "-q", env=env)
    check("perturbed: uninterrupted run with checkpoints", r.returncode == 0, r.stderr)
    plain = os.path.join(tmp, "pplain.h5")
    r = tb("run", sc, "-o", plain, "-q", env=env)
    diff = same(ref, plain)
    check("perturbed: checkpoints change no result", r.returncode == 0 and not diff, diff or r.stderr)
    killed_and_resumed("perturbed", args, ref, "monitors/tavg/time", tmp, rng, env)
    # a stop inside the lesion, then resume: the lesion must still be there
    out = os.path.join(tmp, "pstop.h5")
    p = subprocess.Popen([TB, "run", *args, "-o", out, "-q"], env=env, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < 60:
        try:
            if rows(out, "monitors/tavg/time") * 2.0 > 1500.0:
                break
        except (OSError, KeyError):
            pass
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    p.communicate()
    r = tb("resume", out, env=env)
    diff = same(ref, out) if r.returncode == 0 else r.stderr
    check("perturbed: Ctrl-C during a lesion, then resume: bit-identical", p.returncode in (0, 130) and not diff,
          diff)


def body(dev):
    rng = random.Random(SEED * 1000 + dev.index)
    with tempfile.TemporaryDirectory() as tmp:
        sc = mass_cases(dev, tmp, rng)
        coba(dev, tmp, rng)
        brain(dev, tmp, rng)
        perturbed(dev, tmp, rng)
        usable = [d for d in devices.listing() if d.get("score", 1) > 0]
        if dev.first and len(usable) >= 2:
            two_devices(tmp, sc, rng)
        elif dev.first:
            print("(two devices: not run, the machine shows one device; PoCL shows two with "
                  "POCL_DEVICES=\"pthread basic\")")


suite.each(body)
suite.finish()
