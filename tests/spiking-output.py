"""The spiking output file: spikes in the SONATA layout, population rates
that agree with the spikes, sampled state in the monitors' shape, the
populations table; and runs that are bitwise the same for any number of
partitions, any chunking and every device; on a CPU, one partition for a
network too small to pay for a launch every shortest delay, one per
compute unit otherwise. On every device (tests/devices.py); the
comparison across devices once."""
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import spiking_reference as ref  # noqa: E402

suite = devices.Tests()
failures = suite.failures
check = suite.check


SCENARIO = """
[simulation]
duration = 200.0
dt = 0.1
seed = 3

[[population]]
name = "E"
model = "iaf_psc_exp"
size = 400
[population.initial]
V_m = { dist = "uniform", low = -70.0, high = -55.0 }

[[population]]
name = "I"
model = "iaf_cond_exp"
size = 100
[population.parameters]
V_th = { dist = "normal", mean = -55.0, std = 1.0, min = -58.0, max = -52.0 }

[[projection]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 40
weight = { dist = "normal", mean = 25.0, std = 5.0 }
delay = { dist = "uniform", low = 0.5, high = 3.0 }

[[projection]]
source = "E"
target = "I"
rule = "pairwise_bernoulli"
p = 0.1
weight = 4.0
delay = 1.0

[[projection]]
source = "I"
target = "E"
rule = "fixed_total_number"
n = 4000
synapse = "in"
weight = -60.0
delay = 0.8

[[input]]
name = "bg"
kind = "poisson"
targets = ["E"]
rate = 10.0
indegree = 300
weight = 60.0
synapse = "ex"

[[input]]
name = "bg_i"
kind = "poisson"
targets = ["I"]
rate = 10.0
indegree = 300
weight = 4.0

[[input]]
name = "bias"
kind = "dc"
targets = ["I"]
amplitude = 100.0
start = 50.0
stop = 150.0

[[record]]
kind = "spikes"

[[record]]
name = "rates"
kind = "rates"
bin = 2.0

[[record]]
name = "v"
kind = "state"
population = "I"
neurons = [3, 0, 99]
variables = ["g_ex", "V_m"]
period = 0.5
"""


def spikes_all(path):
    with h5py.File(path, "r") as f:
        return {p: (np.array(f["spikes"][p]["timestamps"]), np.array(f["spikes"][p]["node_ids"])) for p in f["spikes"]}


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        out = ref.run(SCENARIO, tmp, "net")
        with h5py.File(out, "r") as f:
            s = f["spikes"]
            ok = True
            for p, n in (("E", 400), ("I", 100)):
                g = s[p]
                t, i = g["timestamps"], g["node_ids"]
                ok &= t.dtype == np.float64 and i.dtype == np.uint64 and g.attrs["sorting"] == "by_time"
                ok &= t.attrs["units"] == "ms"
                tv, iv = np.array(t), np.array(i)
                ok &= bool(np.all(np.diff(tv) >= 0)) and bool(np.all(iv < n))
                same = np.diff(tv) == 0
                ok &= bool(np.all(np.diff(iv.astype(np.int64))[same] > 0))
                ok &= len(tv) > 0 and np.allclose(tv / 0.1, np.round(tv / 0.1))
            check("SONATA spikes", ok, "float64 ms timestamps, uint64 node ids, sorted by time (then id), on the grid")
            names = [x.decode() if isinstance(x, bytes) else x for x in f["populations/names"]]
            check("populations table", names == ["E", "I"] and list(f["populations/sizes"]) == [400, 100]
                  and [x.decode() if isinstance(x, bytes) else x for x in f["populations/models"]]
                  == ["iaf_psc_exp", "iaf_cond_exp"], f"{names}")
            check("provenance", f.attrs["neurons"] == 500 and f.attrs["synapses"] > 0 and f.attrs["seed"] == 3
                  and "[[population]]" in f.attrs["scenario"], f"{f.attrs['neurons']} neurons, {f.attrs['synapses']} synapses")
            r = f["monitors/rates/data"]
            rt = np.array(f["monitors/rates/time"])
            check("rates shape", r.shape == (100, 1, 2, 1) and list(r.attrs["variables"]) == ["rate"]
                  and list(r.attrs["populations"]) == ["E", "I"] and np.allclose(rt, 2.0 * np.arange(1, 101)),
                  f"{r.shape}")
            want = []
            for p, n in (("E", 400), ("I", 100)):
                t = np.array(s[p]["timestamps"])
                # a spike stamped at the end of step k belongs to the bin that step is in
                step = np.round(t / 0.1).astype(int) - 1
                want.append(np.bincount(step // 20, minlength=100)[:100] / (n * 2e-3))
            check("rates agree with the spikes", np.allclose(np.array(r)[:, 0, :, 0], np.array(want).T, rtol=1e-12),
                  "spikes per bin / (neurons x bin)")
            v = f["monitors/v/data"]
            check("state record", v.shape == (400, 1, 3, 2) and list(v.attrs["variables"]) == ["g_ex", "V_m"]
                  and list(v.attrs["units"]) == ["nS", "mV"] and list(f["monitors/v/node_ids"]) == [3, 0, 99]
                  and np.allclose(f["monitors/v/time"], 0.5 * np.arange(1, 401)), f"{v.shape}")
            vm = np.array(v)[:, 0, :, 1]
            check("state is alive", vm.std() > 0.5 and np.all(np.isfinite(vm)), f"V_m spread {vm.std():.2f} mV")
            n_e = len(s["E"]["timestamps"])
            check("the network is active", 10 < n_e / 400 / 0.2 < 200, f"E at {n_e / 400 / 0.2:.1f} Hz")

        ref_spikes = spikes_all(out)

        def same_as_ref(name, **kw):
            o = ref.run(SCENARIO, tmp, name, *kw.get("args", ()), env=kw.get("env"))
            got = spikes_all(o)
            same = all(np.array_equal(got[p][0], ref_spikes[p][0]) and np.array_equal(got[p][1], ref_spikes[p][1])
                       for p in ref_spikes)
            return same

        check("2 partitions = default (one)", same_as_ref("p2", env={"TWINBRAIN_SPIKING_PARTITIONS": "2"}), "bitwise")
        check("5 partitions = default", same_as_ref("p5", env={"TWINBRAIN_SPIKING_PARTITIONS": "5"}), "bitwise")
        check("chunks of 7 steps = default", same_as_ref("c7", env={"TWINBRAIN_CHUNK_STEPS": "7"}), "bitwise")
        check("64 work-items a partition (the GPU code path) = default",
              same_as_ref("wg64", env={"TWINBRAIN_SPIKING_WORKGROUP": "64"}), "bitwise")
        # every other device gives the same spikes (compared once, from the
        # first device's part: a comparison across devices)
        for other in (d for d in suite.devices if d.index != dev.index and dev.first):
            check(f"{other.label} = {dev.label}", same_as_ref(f"d{other.index}", args=("--device", str(other.index))),
                  "bitwise")
        o = ref.run(SCENARIO, tmp, "single", "--precision", "single")
        with h5py.File(o, "r") as f:
            ok = f["monitors/v/data"].dtype == np.float32 and f.attrs["precision"] == "single"
            rate = len(f["spikes/E/timestamps"]) / len(ref_spikes["E"][0])
        check("single precision", ok and 0.8 < rate < 1.25, f"float32 state, E spike count ratio {rate:.3f}")


# 1,000 neurons, 10 synapses each: (1,000 + 10 events a step) x the
# shortest delay in steps x (1 - 1/P) against 12,000 (docs/spiking.md):
# one partition at 0.2 ms, one per compute unit at 3 ms.
RULE = """
[simulation]
duration = 5.0
dt = 0.1
seed = 5
precision = "single"

[[population]]
name = "E"
model = "iaf_psc_exp"
size = 1000

[[projection]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 10
weight = 10.0
delay = DELAY
"""


def partitions_used(dev, tmp, delay, env=None):
    path = os.path.join(tmp, f"rule_{delay}.toml")
    with open(path, "w") as f:
        f.write(RULE.replace("DELAY", delay))
    done = subprocess.run([os.environ["TWINBRAIN"], "run", path, "-o", os.path.join(tmp, "rule.h5")],
                          capture_output=True, text=True, env=dev.env(**(env or {})))
    m = re.search(r", (\d+) partitions?,", done.stdout + done.stderr)
    return int(m.group(1)) if done.returncode == 0 and m else None


def rule(dev):
    listing = json.loads(subprocess.run([os.environ["TWINBRAIN"], "devices", "--json"], capture_output=True,
                                        text=True).stdout)
    d = next(x for x in listing if int(x["index"]) == dev.index)
    if d["type"] != "CPU":
        suite.skip("the one-partition rule", "it applies to CPU devices")
        return
    cu = int(d["compute_units"])
    if cu < 2:  # one partition whatever the rule: nothing it could get wrong
        suite.skip("the one-partition rule", "one compute unit")
        return
    with tempfile.TemporaryDirectory() as tmp:
        small, wide = partitions_used(dev, tmp, "0.2"), partitions_used(dev, tmp, "3.0")
        check("a small network with 0.2 ms delays runs as one partition", small == 1, f"{small} partitions")
        check(f"with 3 ms delays, one partition per compute unit ({cu})", wide == cu, f"{wide} partitions")
        forced = partitions_used(dev, tmp, "0.2", env={"TWINBRAIN_SPIKING_PARTITIONS": "3"})
        check("TWINBRAIN_SPIKING_PARTITIONS=3 overrides the rule", forced == 3, f"{forced} partitions")


suite.each(body)
suite.each(rule, fp64=False)
suite.finish()
