"""A whole-brain spiking network ([brain], docs/brain.md) against its
definitions, computed here from the connectome file with numpy:

- every neuron of target region j receives exactly round(K w_ji / W)
  synapses from region i's excitatory neurons (W the largest total input
  weight of a region), and none across a lesioned (zero-weight) edge;
- every inter-region synapse has the delay rint(length_ji / speed / dt)
  steps (at least one); /brain/connectome_edges lists the same edges,
  counts and delays;
- spikes carried per connectome edge (the source spikes times the
  edge's synapses from that source) are none across the lesioned edge;
- the edge_spikes monitor equals, bin by bin and edge by edge, those
  synaptic events and the source spikes (spikes of source neurons with a
  synapse on the edge), counted here from the spike trains and the
  recorded network, over chunks that cut its bins; its edges are the
  wired ones (the connectome rule's, in /brain/connectome_edges' order,
  and a [[projection]] written between two regions);
- a region lesioned by the perturbation kit (its source population
  silenced) fires no spikes, so none of its edges carries any (the
  edge_spikes monitor: exactly 0 on every out-edge of it);
- region_rates equal the spike trains' counts per bin and region;
- lfp equals the sum of |I_syn_ex| + |I_syn_in| over each region's E
  neurons, sampled by ordinary state records;
- bold equals a numpy Euler integration of the Balloon-Windkessel model
  driven by the region's rate per step (as the neural-mass kit's);
- the network is the same for 1 and 3 partitions.
On every device (tests/devices.py); once, without a device: the example
checks, and mistakes in [brain] are errors naming FILE:LINE:COL and the
key, with their exit statuses."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import spiking_reference as ref  # noqa: E402

suite = devices.Tests()
check = suite.check

DT, K, SPEED, NE, NI, T = 0.1, 20, 3.0, 80, 20, 400.0
BIN, PERIOD, LFP = 10.0, 50.0, 5.0
FIRST = []  # (device label, network) of the first device that ran


def connectome(tmp):
    """An 8-region synthetic connectome with its strongest edge lesioned."""
    path = os.path.join(tmp, "c8.h5")
    subprocess.run([os.environ["TWINBRAIN"], "connectome", "generate", "--regions", "8", "--seed", "3", "-o", path],
                   check=True, capture_output=True)
    with h5py.File(path, "r+") as f:
        w = np.array(f["weights"])
        np.fill_diagonal(w, 0)
        j, i = np.unravel_index(np.argmax(w), w.shape)
        w2 = np.array(f["weights"])
        w2[j, i] = 0.0
        f["weights"][...] = w2
    return path, (int(i), int(j))


def scenario(conn):
    return f"""[simulation]
duration = {T}
dt = {DT}
seed = 5

[brain]
connectome = "{conn}"
speed = {SPEED}

[[brain.population]]
name = "E"
model = "iaf_psc_exp"
size = {NE}
[brain.population.initial]
V_m = {{ dist = "uniform", low = -70.0, high = -55.0 }}

[[brain.population]]
name = "I"
model = "iaf_psc_exp"
size = {NI}

[[brain.projection]]
source = "E"
target = "I"
rule = "fixed_indegree"
indegree = 10
weight = 50.0
delay = 1.5

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
indegree = {K}
weight = 40.0

[[input]]
name = "bg"
kind = "poisson"
rate = 4000.0
weight = 50.0
targets = ["E", "I"]

[[record]]
kind = "spikes"

[[record]]
kind = "connections"
populations = ["E"]

[[brain.monitor]]
kind = "region_rates"
populations = ["E"]
period = {BIN}

[[brain.monitor]]
kind = "bold"
populations = ["E"]
period = {PERIOD}

[[brain.monitor]]
kind = "edge_spikes"
period = {BIN}
"""


def lfp_toml(labels):
    """An lfp monitor of the E populations, and their currents sampled by
    ordinary state records (one per region) to check it against."""
    text = f"""
[[brain.monitor]]
kind = "lfp"
populations = ["E"]
period = {LFP}
"""
    for r, lab in enumerate(labels):
        text += f"""
[[record]]
kind = "state"
name = "st_{r}"
population = "{lab}_E"
neurons = {NE}
variables = ["I_syn_ex", "I_syn_in"]
period = {LFP}
"""
    return text


def expected(conn):
    with h5py.File(conn, "r") as f:
        w, length = np.array(f["weights"]), np.array(f["tract_lengths"])
    R = w.shape[0]
    off = w * (1 - np.eye(R))
    W = off.sum(axis=1).max()
    n = np.floor(K * off / W + 0.5).astype(np.int64)  # [target, source]
    d = np.maximum(1, np.floor(length / SPEED / DT + 0.5)).astype(np.int64)
    return n, d, R


def bold_reference(counts, neurons, period_steps):
    """counts [steps, R]: the mass kit's Euler scheme, core/bold.c's defaults
    with scale 0.01."""
    kappa, gamma, tau, alpha, E0, V0 = 0.65, 0.41, 0.98, 0.32, 0.34, 0.02
    k1, k2, k3, scale = 7 * E0, 2.0, 2 * E0 - 0.2, 0.01
    h = DT * 1e-3
    R = counts.shape[1]
    s, f, v, q = np.zeros(R), np.ones(R), np.ones(R), np.ones(R)
    out = []
    for k in range(counts.shape[0]):
        z = counts[k] / (neurons * h)
        iv = np.exp(np.log(v) / alpha)
        dq = (f * (1 - np.exp(np.log(1 - E0) / f)) / E0 - iv * q / v) / tau
        s, f, v, q = (s + h * (scale * z - kappa * s - gamma * (f - 1)), f + h * s, v + h * (f - iv) / tau,
                      q + h * dq)
        if (k + 1) % period_steps == 0:
            out.append(V0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v)))
    return np.array(out)


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        conn, (li, lj) = connectome(tmp)
        n, d, R = expected(conn)
        with h5py.File(conn, "r") as f:
            plain = [x.decode() if isinstance(x, bytes) else x for x in f["region_labels"][:]]
        # a projection written between two regions (I of x onto E of y, an
        # unwired pair): edge_spikes counts its synapses too
        x_, y_ = next((a, b) for b in range(R) for a in range(R) if a != b and n[b, a] == 0 and (a, b) != (li, lj))
        across = (f'[[projection]]\nsource = "{plain[x_]}_I"\ntarget = "{plain[y_]}_E"\nrule = "fixed_indegree"\n'
                  f'indegree = 3\nweight = -20.0\n')
        # chunks of 370 steps cut the 100-step bins of the rates and edges
        out = ref.run(scenario(conn) + lfp_toml(plain) + across, tmp, "brain", env={"TWINBRAIN_CHUNK_STEPS": "370"})
        with h5py.File(out, "r") as f:
            labels = [x.decode() if isinstance(x, bytes) else x for x in f["brain/region_labels"][:]]
            region_of = np.array(f["brain/population_region"])
            names = [x.decode() if isinstance(x, bytes) else x for x in f["populations/names"][:]]
            g = f["connections/connections"]
            groups = [x.decode() if isinstance(x, bytes) else x for x in g.attrs["groups"]]
            e = {k: np.array(g[k]) for k in g}
            spikes = {p: (np.array(f["spikes"][p]["timestamps"]), np.array(f["spikes"][p]["node_ids"]))
                      for p in f["spikes"]}
            rr = np.array(f["monitors/region_rates/data"])[:, 0, :, 0]
            lfp, lfp_t = np.array(f["monitors/lfp/data"])[:, 0, :, 0], np.array(f["monitors/lfp/time"])
            lfp_unit = f["monitors/lfp/data"].attrs["units"][0]
            cur = [np.array(f[f"monitors/st_{r}/data"])[:, 0, :, :] for r in range(len(labels))]
            eg = f["brain/connectome_edges/0"]
            edges = {k_: np.array(eg[k_]) for k_ in eg}
            edge_tpl = (eg.attrs["source_template"], eg.attrs["target_template"])
            bold = np.array(f["monitors/bold/data"])[:, 0, :, 0]
            g_es = f["monitors/edge_spikes"]
            es_data, es_t, es_pairs = np.array(g_es["data"])[:, 0], np.array(g_es["time"]), np.array(g_es["edges"])
            es_labels = [[x.decode() if isinstance(x, bytes) else x for x in g_es[c][:]]
                         for c in ("source_labels", "target_labels")]
            es_vars = [x.decode() if isinstance(x, bytes) else x for x in g_es["data"].attrs["variables"]]
        epop = [names.index(f"{lab}_E") for lab in labels]
        check("population -> region map", all(region_of[p] == r for r, p in enumerate(epop)) and
              len(region_of) == 2 * R, f"{len(region_of)} populations over {R} regions")
        # inter-region synapses: E of one region onto E of another
        sreg = np.array([region_of[names.index(groups[x])] if groups[x] in names else -1 for x in e["source_group"]])
        treg = np.array([region_of[names.index(groups[x])] for x in e["target_group"]])
        stpl = np.array([groups[x].endswith("_E") for x in e["source_group"]])
        inter = (sreg != treg) & stpl
        per = np.zeros((R, NE, R), dtype=np.int64)  # [target region, target neuron, source region]
        np.add.at(per, (treg[inter], e["target"][inter].astype(np.int64), sreg[inter]), 1)
        want = np.broadcast_to(n[:, None, :], per.shape)
        check("synapses per neuron and connectome edge = round(K w / W)", np.array_equal(per, want),
              f"{int(inter.sum())} inter-region synapses, {int((n > 0).sum())} edges")
        check("the lesioned edge has no synapses", per[lj, :, li].sum() == 0 and n[lj, li] == 0,
              f"{labels[li]} -> {labels[lj]}")
        steps = np.rint(e["delay"][inter] / DT).astype(np.int64)
        es, et = edges["source_region"], edges["target_region"]
        table = np.zeros((R, R), dtype=np.int64)
        table[et, es] = edges["synapses_per_neuron"]
        check("/brain/connectome_edges: every wired edge, its synapses per neuron and delay",
              np.array_equal(table, n) and np.all(edges["synapses_per_neuron"] > 0) and
              np.array_equal(edges["delay_steps"], d[et, es]) and
              np.allclose(edges["delay_ms"], d[et, es] * DT, rtol=1e-12) and edge_tpl == ("E", "E"),
              f"{len(es)} edges")
        check("delays = tract length / speed, to the step", np.array_equal(steps, d[treg[inter], sreg[inter]]),
              f"{len(np.unique(steps))} distinct delays, {steps.min()}..{steps.max()} steps")
        # spikes carried per edge: each synapse carries its source's spikes
        nspk = {r: np.bincount(spikes[f"{labels[r]}_E"][1].astype(np.int64), minlength=NE) for r in range(R)}
        carried = np.zeros((R, R), dtype=np.int64)
        for a, b_, s in zip(sreg[inter], treg[inter], e["source"][inter].astype(np.int64)):
            carried[b_, a] += nspk[a][s]
        check("spikes carried per edge: none across the lesioned edge, some across the others",
              carried[lj, li] == 0 and nspk[li].sum() > 0 and np.all(carried[n > 0] > 0),
              f"{labels[li]} fired {nspk[li].sum()} spikes; edges carried {carried[n > 0].min()}.."
              f"{carried.max()}")
        # the edge_spikes monitor: per bin, every synapse from region a to
        # region b (b != a) carries its source's spikes (synaptic events),
        # and each spike of a source with such a synapse is one source spike
        nb_ = int(round(T / BIN))
        cross = (sreg >= 0) & (sreg != treg)
        sname = np.array([groups[x] for x in e["source_group"]])
        want_ev, want_sp = np.zeros((nb_, R, R)), np.zeros((nb_, R, R))
        for a in range(R):
            for tpl, size in (("E", NE), ("I", NI)):
                t_, ids = spikes[f"{labels[a]}_{tpl}"]
                per_bin = np.zeros((nb_, size))
                np.add.at(per_bin, ((np.rint(t_ / DT).astype(np.int64) - 1) // int(round(BIN / DT)),
                                    ids.astype(np.int64)), 1)
                syn = np.zeros((size, R))  # [source neuron, target region]
                sel = cross & (sname == f"{labels[a]}_{tpl}")
                np.add.at(syn, (e["source"][sel].astype(np.int64), treg[sel]), 1)
                want_ev[:, :, a] += per_bin @ syn
                want_sp[:, :, a] += per_bin @ (syn > 0)
        pairs = n > 0
        pairs[y_, x_] = True
        wired = np.argwhere(pairs)  # (target, source), in that order
        rule = ~((wired[:, 0] == y_) & (wired[:, 1] == x_))  # the connectome rule's edges
        got = (es_data.shape == (nb_, len(wired), 2) and np.array_equal(es_pairs[:, 1], wired[:, 0]) and
               np.array_equal(es_pairs[:, 0], wired[:, 1]))
        check("edge_spikes: the wired edges (connectome rule and a projection across), ordered as "
              "/brain/connectome_edges, with their labels",
              got and np.array_equal(es_pairs[rule, 0], es) and np.array_equal(es_pairs[rule, 1], et) and
              es_labels == [[labels[i] for i in es_pairs[:, 0]], [labels[j] for j in es_pairs[:, 1]]] and
              es_vars == ["synaptic_events", "source_spikes"] and (li, lj) not in map(tuple, es_pairs.tolist()),
              f"{len(wired)} edges, {labels[x_]} -> {labels[y_]} the projection's; the lesioned "
              f"{labels[li]} -> {labels[lj]} not among them")
        if got:
            ev, sp = es_data[:, :, 0], es_data[:, :, 1]
            check("edge_spikes = synaptic events and source spikes per bin and edge (numpy, spikes x network)",
                  np.array_equal(ev, want_ev[:, wired[:, 0], wired[:, 1]]) and
                  np.array_equal(sp, want_sp[:, wired[:, 0], wired[:, 1]]) and
                  np.allclose(es_t, BIN * np.arange(1, nb_ + 1), rtol=1e-12) and
                  np.array_equal(ev[:, rule].sum(axis=0), carried[wired[rule, 0], wired[rule, 1]]) and
                  want_ev[:, lj, li].sum() == 0 and np.all(ev >= sp) and sp[:, ~rule].sum() > 0,
                  f"{int(ev.sum())} events, {int(sp.sum())} source spikes over {nb_} bins; "
                  f"{int(ev[:, ~rule].sum())} events across the projection")
        # region rates and BOLD from the spike trains
        nsteps = int(round(T / DT))
        counts = np.zeros((nsteps, R))
        for r in range(R):
            t = spikes[f"{labels[r]}_E"][0]
            np.add.at(counts[:, r], np.rint(t / DT).astype(np.int64) - 1, 1)
        b = int(round(BIN / DT))
        want_rr = counts.reshape(-1, b, R).sum(axis=1) / (NE * BIN * 1e-3)
        check("region_rates = spikes per bin / (neurons x bin)", np.allclose(rr, want_rr, rtol=1e-12, atol=0),
              f"{rr.shape[0]} bins, mean {rr.mean():.1f} Hz")
        want_b = bold_reference(counts, NE, int(round(PERIOD / DT)))
        err = np.abs(bold - want_b).max()
        check("bold = Balloon-Windkessel (numpy) of the region's rate", bold.shape == want_b.shape and
              err <= 1e-9 * np.abs(want_b).max(), f"max |diff| {err:.2e}")
        # the LFP proxy: the sum of |I_syn_ex| + |I_syn_in| over the region's
        # E neurons, against the same currents sampled by state records
        want_lfp = np.stack([np.abs(c).sum(axis=(1, 2)) for c in cur], axis=1)
        err = np.abs(lfp - want_lfp).max()
        check("lfp = sum over the region's E neurons of |I_syn_ex| + |I_syn_in| (state records)",
              lfp.shape == want_lfp.shape and err <= 1e-12 * np.abs(want_lfp).max() and want_lfp.min() > 0 and
              np.allclose(lfp_t, LFP * np.arange(1, lfp.shape[0] + 1)) and lfp_unit in ("pA", b"pA"),
              f"{lfp.shape[0]} samples, mean {lfp.mean():.3g} pA, max |diff| {err:.2e}")
        # the perturbation kit's lesion on a brain: a region's source
        # population silenced from the start sends no spikes down any of
        # its connectome edges, over the same network
        src = max((r for r in range(R) if r != li), key=lambda r: int((n[:, r] > 0).sum()))
        les = ref.run(scenario(conn).replace(f"duration = {T}", "duration = 100.0") +
                      f'[[perturbation]]\nplugin = "lesion"\ntargets = ["{labels[src]}_E"]\nat = 0.0\n' + across, tmp,
                      "lesion")
        with h5py.File(les, "r") as f:
            g = f["connections/connections"]
            same_net = all(np.array_equal(np.array(g[k]), e[k]) for k in e)
            lspk = {p: len(f["spikes"][p]["node_ids"]) for p in f["spikes"]}
            les_es = np.array(f["monitors/edge_spikes/data"])[:, 0]
            les_pairs = np.array(f["monitors/edge_spikes/edges"])
        silent = lspk.get(f"{labels[src]}_E", 0) == 0
        others = sum(v for p_, v in lspk.items() if p_ != f"{labels[src]}_E")
        out_e = les_pairs[:, 0] == src
        check("a lesioned region (perturbation kit) carries no spikes on its edges",
              same_net and silent and others > 0 and np.all(carried[n[:, src] > 0, src] > 0) and
              out_e.sum() == pairs[:, src].sum() and np.all(les_es[:, out_e] == 0) and
              les_es[:, ~out_e].sum() > 0,
              f"{labels[src]}_E: {int((n[:, src] > 0).sum())} out-edges, silent, edge_spikes 0 on them "
              f"({int(les_es[:, ~out_e, 0].sum())} events on the others); the unlesioned run carried "
              f"{carried[:, src].sum()} spikes on them; other populations fired {others}")
        # the same network for any partitioning
        nets = []
        for p in ("1", "3"):
            o = ref.run(scenario(conn).replace(f"duration = {T}", f"duration = {DT}") + across, tmp, "p" + p,
                        env={"TWINBRAIN_SPIKING_PARTITIONS": p})
            with h5py.File(o, "r") as f:
                g = f["connections/connections"]
                nets.append({k: np.array(g[k]) for k in g})
        check("the same network for 1 and 3 partitions",
              all(np.array_equal(nets[0][k], nets[1][k]) for k in nets[0]) and
              all(np.array_equal(nets[0][k], e[k]) for k in e), f"{len(e['source'])} synapses")
        # and on every device: the first device's network is the reference
        if FIRST:
            check("the same network as on " + FIRST[0], all(np.array_equal(FIRST[1][k], e[k]) for k in e),
                  f"{len(e['source'])} synapses")
        else:
            FIRST.extend([dev.label, e])
        shutil.rmtree(tmp, ignore_errors=True)


def errors():
    suite.host()
    ex = os.path.join(os.environ["TB_SRCDIR"], "examples", "brain", "brain_246.toml")
    done = subprocess.run([os.environ["TWINBRAIN"], "check", ex], capture_output=True, text=True)
    check("examples/brain/brain_246.toml checks", done.returncode == 0 and
          "492 populations, 246000 neurons" in done.stdout, done.stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        conn, _ = connectome(tmp)
        base = scenario(conn)
        cases = [
            ("a connectome rule with a delay", base.replace('indegree = {K}\nweight = 40.0'.format(K=K),
                                                            f'indegree = {K}\nweight = 40.0\ndelay = 2.0'),
             2, "brain.projection[2].delay does not apply to rule connectome"),
            ("an unknown template", base.replace('source = "I"', 'source = "Inh"'), 2,
             "brain.projection[1].source: no template population named 'Inh'; did you mean 'I'?"),
            ("a missing connectome", base.replace(conn, os.path.join(tmp, "none.h5")), 4,
             "brain.connectome: no such file"),
            ("two monitors of one name", base.replace('kind = "bold"', 'kind = "bold"\nname = "region_rates"'), 2,
             "brain.monitor[1].name 'region_rates' is already used by brain.monitor[0]"),
            ("a population named as a brain's", base + '[[population]]\nname = "R_002_E"\nmodel = "iaf_psc_exp"\n'
             'size = 3\n', 2, "population[0].name 'R_002_E' is already the name of a [brain] population"),
            ("a template without a size", base.replace(f"size = {NI}\n", ""), 2,
             "brain.population[1] needs one of 'size' and 'fraction'"),
            ("an lfp variable the model lacks", base + '[[brain.monitor]]\nkind = "lfp"\nvariables = ["g_ex"]\n', 2,
             "brain.monitor[3].variables: model 'iaf_psc_exp' of template 'E' has no state variable 'g_ex'"),
            ("populations on an edge_spikes monitor", base.replace('kind = "edge_spikes"', 'kind = "edge_spikes"\n'
                                                                   'populations = ["E"]'), 2,
             "brain.monitor[2].populations does not apply to edge_spikes"),
            ("variables on a rate monitor", base.replace('kind = "region_rates"', 'kind = "region_rates"\n'
                                                          'variables = ["V_m"]'), 2,
             "brain.monitor[0].variables applies to lfp monitors only"),
        ]
        # sizes by area: round(fraction x neurons x area / mean area), at least 1
        areas = np.array([1.0, 2.0, 3.0, 0.5, 0.01, 4.0, 2.5, 1.5])
        with h5py.File(conn, "r+") as f:
            f["areas"] = areas
        frac = base.replace(f"speed = {SPEED}", f'speed = {SPEED}\nneurons = 100\nsize_by = "areas"')
        frac = frac.replace(f"size = {NE}\n", "fraction = 0.8\n").replace(f"size = {NI}\n", "fraction = 0.2\n")
        want = sum(max(1, int(np.floor(fr * 100 * a / areas.mean() + 0.5))) for fr in (0.8, 0.2) for a in areas)
        path = os.path.join(tmp, "area.toml")
        with open(path, "w") as f:
            f.write(frac)
        done = subprocess.run([os.environ["TWINBRAIN"], "check", path], capture_output=True, text=True)
        check("sizes by area", done.returncode == 0 and f"16 populations, {want} neurons" in done.stdout,
              done.stdout.strip() + done.stderr.strip())
        for what, text, status, msg in cases:
            path = os.path.join(tmp, "bad.toml")
            with open(path, "w") as f:
                f.write(text)
            done = subprocess.run([os.environ["TWINBRAIN"], "check", path], capture_output=True, text=True)
            check(f"{what}: status {status}, '{msg}'", done.returncode == status and msg in done.stderr and
                  "bad.toml:" in done.stderr, done.stderr.strip()[:300])


errors()
suite.each(body)
suite.finish()
