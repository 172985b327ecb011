"""iaf_psc_exp against NEST itself (the peer, not a reimplementation):
a single neuron under DC pulses (NEST's dc_generator convention through
input.delay), spike trains and refractoriness, to 4e-13 mV over its whole
membrane trace; and the CUBA network of examples/spiking/cuba.toml
exported (the `connections` record: every synapse with its weight and
delay) and rebuilt in NEST with the same start state: every spike the
same; with TB_NEST_MICROCIRCUIT_SCALE, the DC-driven microcircuit too (a
one-off: docs/validation.md). Skips (77) when NEST's Python module is missing
(scripts/install-deps installs it from PyPI).

TB_NEST_CUBA_MS sets the simulated CUBA time (default 10 s: about 10 s of
CPU for both simulators together)."""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

try:
    import nest
except ImportError as e:
    print(f"SKIP: NEST is not installed ({e}); pip install nest-simulator (scripts/install-deps does)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import spiking_reference as ref  # noqa: E402

suite = devices.Tests()
check = suite.check
DT = 0.1
VTOL = 4e-13  # mV
CUBA_MS = float(os.environ.get("TB_NEST_CUBA_MS", "10000"))

try:
    nest.verbosity = nest.VerbosityLevel.ERROR
except AttributeError:  # older NEST 3
    nest.set_verbosity("M_ERROR")


def reset_nest():
    nest.ResetKernel()
    nest.resolution = DT
    nest.local_num_threads = 1


# ------------------------------------------------------------ one neuron
PARAMS = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0, "E_L": -65.0,
          "V_th": -50.0, "V_reset": -70.0, "I_e": 30.0}
EX = [5.0, 7.3, 20.0, 20.0, 33.3, 150.0, 151.0]
INH = [10.0, 60.0, 61.0, 205.0]
# (amplitude, start, stop, delay): NEST's dc_generator connected with `delay`
DC = [(420.0, 30.0, 120.0, 0.1), (800.0, 200.0, 250.0, 1.0), (-150.0, 160.0, 170.0, 0.5)]
SINGLE_MS = 300.0


def single_scenario(tmp):
    ex, inh = os.path.join(tmp, "ex.h5"), os.path.join(tmp, "in.h5")
    ref.write_spike_file(ex, "ex", EX, [0] * len(EX))
    ref.write_spike_file(inh, "inh", INH, [0] * len(INH))
    ps = ", ".join(f"{k} = {v}" for k, v in PARAMS.items())
    text = f"""
[simulation]
duration = {SINGLE_MS}
dt = {DT}
precision = "double"
[[population]]
name = "n"
model = "iaf_psc_exp"
size = 1
parameters = {{ {ps} }}
initial = {{ V_m = -62.0 }}
[[input]]
name = "ex"
kind = "spike_file"
file = "{ex}"
[[input]]
name = "inh"
kind = "spike_file"
file = "{inh}"
[[projection]]
source = "ex"
target = "n"
rule = "all_to_all"
weight = 900.0
delay = 1.0
[[projection]]
source = "inh"
target = "n"
rule = "all_to_all"
weight = -400.0
delay = 0.5
[[record]]
kind = "spikes"
[[record]]
name = "v"
kind = "state"
population = "n"
"""
    for i, (amp, start, stop, delay) in enumerate(DC):
        text += (f'[[input]]\nname = "dc{i}"\nkind = "dc"\namplitude = {amp}\nstart = {start}\nstop = {stop}\n'
                 f'delay = {delay}\n')
    return text


def single_nest():
    reset_nest()
    n = nest.Create("iaf_psc_exp", params=PARAMS)
    n.V_m = -62.0
    for amp, start, stop, delay in DC:
        g = nest.Create("dc_generator", params={"amplitude": amp, "start": start, "stop": stop})
        nest.Connect(g, n, syn_spec={"delay": delay})
    for times, w, d in ((EX, 900.0, 1.0), (INH, -400.0, 0.5)):
        # a spike_generator's spike at T arrives T + d, as a file's spike
        g = nest.Create("spike_generator", params={"spike_times": sorted(times)})
        nest.Connect(g, n, syn_spec={"weight": w, "delay": d})
    m = nest.Create("multimeter", params={"record_from": ["V_m", "I_syn_ex", "I_syn_in"], "interval": DT})
    sr = nest.Create("spike_recorder")
    nest.Connect(m, n)
    nest.Connect(n, sr)
    nest.Simulate(SINGLE_MS)
    ev = m.events
    return ev["times"], np.stack([ev["V_m"], ev["I_syn_ex"], ev["I_syn_in"]], axis=1), sr.events["times"]


def single(tmp, want):
    out = ref.run(single_scenario(tmp), tmp, "single")
    got, times = ref.state(out, "v")
    sp, _ = ref.spikes(out, "n")
    t_n, x_n, sp_n = want
    k = len(t_n)  # NEST's multimeter has no sample at the end of the last step
    check("single neuron: sample times", np.allclose(times[:k], t_n, rtol=0, atol=1e-9) and k >= len(times) - 1,
          f"{len(times)} samples, NEST {k}")
    dv = float(np.max(np.abs(got[:k, 0, 0] - x_n[:, 0])))
    di = float(np.max(np.abs(got[:k, 0, 1:] - x_n[:, 1:])))
    check("single neuron: V_m as NEST's", dv <= VTOL, f"max |dV| = {dv:.3g} mV over {k} steps (tolerance {VTOL:g})")
    check("single neuron: synaptic currents as NEST's", di <= 1e-12, f"max |dI| = {di:.3g} pA")
    same = len(sp) == len(sp_n) and np.allclose(sp, sp_n, rtol=0, atol=1e-9)
    # the trace must exercise every part: spikes in both strong pulses
    both = np.any((sp > 30) & (sp < 125)) and np.any((sp > 200) & (sp < 255))
    check("single neuron: spikes as NEST's", same and both, f"{len(sp)} spikes {sp[:5]}..., NEST {len(sp_n)}")


# ------------------------------------------------------------ CUBA
def cuba_scenario():
    """examples/spiking/cuba.toml with a start state both simulators can
    build exactly (an expression of the neuron index, not a random draw)
    and the network recorded."""
    with open(os.path.join(os.environ["TB_SRCDIR"], "examples", "spiking", "cuba.toml")) as f:
        text = f.read()
    init = 'V_m = { dist = "uniform", low = -60.0, high = -50.0 }'
    assert text.count(init) == 2 and "duration = 1000.0" in text
    text = text.replace(init, f'V_m = {{ expr = "{CUBA_INIT}" }}')
    text = text.replace("duration = 1000.0", f"duration = {CUBA_MS}")
    return text + '\n[[record]]\nname = "net"\nkind = "connections"\n'


CUBA_INIT = "-60.0 + 10.0 * fmod((real)i * 0.7548776662466927, 1.0)"
MICRO_INIT = "-65.0 + 15.0 * fmod((real)i * 0.7548776662466927, 1.0)"


def start_state(expr, n):
    """The numpy twin of the scenario's start expressions of i."""
    want = {CUBA_INIT: lambda i: -60.0 + 10.0 * np.fmod(i * 0.7548776662466927, 1.0),
            MICRO_INIT: lambda i: -65.0 + 15.0 * np.fmod(i * 0.7548776662466927, 1.0)}
    return want[expr](np.arange(n, dtype=np.float64))


def network_nest(text, out, ms):
    """The scenario's populations (iaf_psc_exp, numbers as parameters, a
    start expression) with the exported network, built in NEST synapse by
    synapse; NEST's spikes as (times, neuron index over all populations)."""
    import tomllib

    import h5py
    doc = tomllib.loads(text)
    with h5py.File(out, "r") as f:
        g = f["connections/net"]
        e = {k: np.array(g[k]) for k in ("source_group", "source", "target_group", "target", "weight", "delay")}
    reset_nest()
    ids, first = [], [0]
    for p in doc["population"]:
        assert p["model"] == "iaf_psc_exp"
        pop = nest.Create("iaf_psc_exp", p["size"], params=p.get("parameters", {}))
        pop.V_m = start_state(p["initial"]["V_m"]["expr"], p["size"])
        ids.append(np.array(pop.tolist()))
        first.append(first[-1] + p["size"])
    ids, first = np.concatenate(ids), np.array(first[:-1])
    src = ids[first[e["source_group"]] + e["source"].astype(np.int64)]
    tgt = ids[first[e["target_group"]] + e["target"].astype(np.int64)]
    n_syn = len(src)
    weight, delay = e["weight"].astype(np.float64), e["delay"]
    del e
    nest.Connect(src, tgt, "one_to_one", {"synapse_model": "static_synapse", "weight": weight, "delay": delay})
    del src, tgt, weight, delay
    sr = nest.Create("spike_recorder")
    nest.Connect(nest.NodeCollection(ids.tolist()), sr)
    nest.Simulate(ms)
    ev = sr.events
    return [p["name"] for p in doc["population"]], first, n_syn, ev["times"], ev["senders"] - ids[0]


def same_spikes(name, out, ms, want):
    names, first, n_syn, t_n, g_n = want
    t_tb, g_tb = [], []
    for pop, lo in zip(names, first):
        t, i = ref.spikes(out, pop)
        t_tb.append(t)
        g_tb.append(lo + i.astype(np.int64))
    t_tb, g_tb = np.concatenate(t_tb), np.concatenate(g_tb)
    a = sorted(zip(np.round(t_tb / DT).astype(np.int64).tolist(), g_tb.tolist()))
    b = sorted(zip(np.round(t_n / DT).astype(np.int64).tolist(), g_n.astype(np.int64).tolist()))
    first_diff = next((x for x, y in zip(a, b) if x != y), None)
    check(f"{name} over {ms:g} ms: every spike as NEST's", a == b and len(a) > 1000,
          f"{len(a)} spikes (NEST {len(b)}) of {len(names)} populations, {n_syn} synapses; "
          f"first difference (step, neuron): {first_diff}")


def cuba(tmp, cache):
    text = cuba_scenario()
    out = ref.run(text, tmp, "cuba")
    if "cuba" not in cache:
        cache["cuba"] = network_nest(text, out, CUBA_MS)
    same_spikes("CUBA", out, CUBA_MS, cache["cuba"])


def microcircuit(tmp, cache):
    """The DC-driven microcircuit (potjans_diesmann.py --dc) at
    TB_NEST_MICROCIRCUIT_SCALE over TB_NEST_MICROCIRCUIT_MS (1500): a
    one-off (the quarter scale has 75 million synapses), not in make check."""
    scale = os.environ.get("TB_NEST_MICROCIRCUIT_SCALE")
    if not scale:
        print("(the microcircuit against NEST runs with TB_NEST_MICROCIRCUIT_SCALE set; docs/validation.md)")
        return
    ms = float(os.environ.get("TB_NEST_MICROCIRCUIT_MS", "1500"))
    path = os.path.join(tmp, "micro.toml")
    gen = os.path.join(os.environ["TB_SRCDIR"], "examples", "spiking", "potjans_diesmann.py")
    subprocess.run([sys.executable, gen, "--scale", scale, "--dc", path], check=True)
    with open(path) as f:
        text = f.read()
    init = 'initial = { V_m = { dist = "normal", mean = -58.0, std = 10.0 } }'
    assert init in text
    text = text.replace(init, f'initial = {{ V_m = {{ expr = "{MICRO_INIT}" }} }}')
    text = re.sub(r"duration = [0-9.]+", f"duration = {ms}", text, count=1)
    text += '\n[[record]]\nname = "net"\nkind = "connections"\n'
    out = ref.run(text, tmp, "micro")
    if "micro" not in cache:
        cache["micro"] = network_nest(text, out, ms)
    same_spikes(f"microcircuit at scale {scale}", out, ms, cache["micro"])


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        if "single" not in cache:
            cache["single"] = single_nest()
        single(tmp, cache["single"])
        cuba(tmp, cache)
        microcircuit(tmp, cache)


cache = {}
suite.each(body)
suite.finish()
