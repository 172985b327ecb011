"""Populations that share their generated code (classes,
core/spiking/spiking_gen.c):

- the program does not grow with the number of populations: 4 and 40
  populations of the same structure give the very same source (so the
  same cached binary), with one class; a lesion on one population gives
  it a class of its own (two in all);
- 40 populations of one model, each with its own parameters and its own
  DC drive (a few through a noise input of zero spread, a class of its
  own), one of them silenced at 30 ms: every population's spike times
  are those of the closed-form membrane solution for its own parameters
  and current (tests/spiking_reference.py), so each population reads its
  own values through the shared code;
- the same network declared in reverse order and run in 3 partitions
  gives every population the same spikes, bit for bit.
On every device (tests/devices.py)."""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import spiking_reference as ref  # noqa: E402

suite = devices.Tests()
check = suite.check

DT, STEPS, NPOP, LESIONED, SILENCE_MS = 0.1, 1000, 40, 7, 30.0


def params(k):
    """Population k's parameters, all different, none borderline."""
    return dict(ref.IAF, tau_m=8.0 + 0.35 * k, V_th=-55.0 + 0.25 * (k % 7), t_ref=1.0 + 0.5 * (k % 4),
                C_m=200.0 + 5.0 * k)


def amplitude(k):
    return 420.0 + 13.0 * k


def noisy(k):
    return k % 10 == 3


def pop_text(k):
    p = params(k)
    return (f'[[population]]\nname = "P{k:02d}"\nmodel = "iaf_psc_exp"\nsize = 2\n'
            f'parameters = {{ tau_m = {p["tau_m"]!r}, V_th = {p["V_th"]!r}, t_ref = {p["t_ref"]!r}, '
            f'C_m = {p["C_m"]!r} }}\n')


def input_text(k):
    if noisy(k):  # std 0: the same current through another kind of input, another class
        return (f'[[input]]\nname = "in{k:02d}"\nkind = "noise"\nmean = {amplitude(k)!r}\nstd = 0.0\n'
                f'targets = ["P{k:02d}"]\n')
    return f'[[input]]\nname = "in{k:02d}"\nkind = "dc"\namplitude = {amplitude(k)!r}\ntargets = ["P{k:02d}"]\n'


def network(order):
    order = list(order)
    text = f"[simulation]\nduration = {STEPS * DT}\ndt = {DT}\nseed = 3\n"
    text += "".join(pop_text(k) for k in order) + "".join(input_text(k) for k in order)
    text += "[[record]]\nkind = \"spikes\"\n"
    text += f'[[perturbation]]\nplugin = "lesion"\ntargets = ["P{LESIONED:02d}"]\nat = {SILENCE_MS}\n'
    return text


def same_structure(n, lesion=False):
    """n populations alike: one Poisson input into all, one DC input each."""
    names = [f"Q{k:02d}" for k in range(n)]
    text = "[simulation]\nduration = 1.0\ndt = 0.1\n"
    text += "".join(f'[[population]]\nname = "{q}"\nmodel = "iaf_psc_exp"\nsize = 3\n' for q in names)
    text += f'[[input]]\nname = "bg"\nkind = "poisson"\nrate = 1000.0\nweight = 10.0\ntargets = {names}\n'
    text += "".join(f'[[input]]\nname = "dc{q}"\nkind = "dc"\namplitude = 100.0\ntargets = ["{q}"]\n'
                    for q in names)
    if lesion:
        text += f'[[perturbation]]\nplugin = "lesion"\ntargets = ["{names[1]}"]\nat = 0.5\n'
    return text.replace("'", '"')  # the list of names in TOML's quotes


def program_source(tmp, name, text):
    """The spiking program's source, as `twinbrain kernels build` writes it."""
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    out = os.path.join(tmp, name)
    done = subprocess.run([os.environ["TWINBRAIN"], "kernels", "build", path, "--device",
                           os.environ["TWINBRAIN_DEVICE"], "-o", out], capture_output=True, text=True)
    files = glob.glob(os.path.join(out, "spiking_network-*.cl"))
    if done.returncode != 0 or len(files) != 1:
        raise SystemExit(f"FAIL: kernels build of {name} exited {done.returncode}: {done.stderr}")
    with open(files[0]) as f:
        return os.path.basename(files[0]), f.read()


def structure(tmp):
    name4, src4 = program_source(tmp, "four", same_structure(4))
    name40, src40 = program_source(tmp, "forty", same_structure(40))
    check("4 and 40 populations of one structure: the same program source (and binary)",
          src4 == src40 and name4 == name40, f"{len(src4)} vs {len(src40)} bytes")
    check("... with one class", src40.count("__kernel void tb_init_") == 1 and "tb_update_0(" in src40,
          f"{src40.count('__kernel void tb_init_')} init kernels")
    _, lesioned = program_source(tmp, "lesioned", same_structure(40, lesion=True))
    check("a lesioned population gets a class of its own (two in all)",
          lesioned.count("__kernel void tb_init_") == 2 and "tb_update_1(" in lesioned,
          f"{lesioned.count('__kernel void tb_init_')} init kernels, {len(lesioned)} bytes")


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        if dev.first:
            structure(tmp)
        forward = ref.run(network(range(NPOP)), tmp, "forward")
        t = DT * np.arange(1, STEPS + 1)
        trains, bad = set(), []
        for k in range(NPOP):
            ts, ids = ref.spikes(forward, f"P{k:02d}")
            _, want = ref.iaf_psc_exp_closed_form(t, lambda s, a=amplitude(k): a, [], params(k))
            if k == LESIONED:
                want = want[want < SILENCE_MS + 1e-9]
            for n in (0, 1):
                got = np.sort(ts[ids == n])
                if len(got) != len(want) or not np.allclose(got, want, rtol=0, atol=1e-9):
                    bad.append(f"P{k:02d}[{n}]: {got[:4]} vs {want[:4]} ({len(got)} vs {len(want)} spikes)")
            trains.add(tuple(want))  # so that each population's own values matter
        check("40 populations in 3 classes: each spikes as the closed form for its own parameters and current",
              not bad and len(trains) >= 30, "; ".join(bad[:3]) or f"{len(trains)} different spike trains")
        backward = ref.run(network(reversed(range(NPOP))), tmp, "backward",
                           env={"TWINBRAIN_SPIKING_PARTITIONS": "3"})
        differ = []
        for k in range(NPOP):
            a, b = ref.spikes(forward, f"P{k:02d}"), ref.spikes(backward, f"P{k:02d}")
            if not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])):
                differ.append(f"P{k:02d}")
        check("declared in reverse order and run in 3 partitions: the same spikes, bit for bit", not differ,
              ", ".join(differ[:5]))


suite.each(body)
suite.finish()
