"""Connectivity rules and weight/delay distributions against their
definitions. Counts that a rule fixes must be exact; counts and values
that are drawn must pass goodness-of-fit tests at a 1e-3 false-alarm rate
per check (z-scores for totals, chi-square for uniform choices, KS for
continuous distributions), with the limits computed from the
distributions, not tuned. The same seed gives the same network on every
devices and for any number of partitions. On every device
(tests/devices.py); the comparison across devices once."""
import math
import os
import shutil
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
Z = 3.29  # two-sided 1e-3


POPS = {"A": 300, "B": 200, "D": 300}
DT = 0.1


def network(tmp, name, projections, extra="", env=None, device_args=()):
    text = f"[simulation]\nduration = {DT}\ndt = {DT}\nseed = 7\n"
    for p, n in POPS.items():
        text += f'[[population]]\nname = "{p}"\nmodel = "iaf_psc_exp"\nsize = {n}\n'
    for pr in projections:
        text += "[[projection]]\n" + "".join(f"{k} = {v}\n" for k, v in pr.items())
    text += extra + '[[record]]\nkind = "connections"\n'
    out = ref.run(text, tmp, name, *device_args, env=env)
    with h5py.File(out, "r") as f:
        g = f["connections/connections"]
        groups = list(g.attrs["groups"])
        e = {k: np.array(g[k]) for k in g}
    e["sname"] = np.array([groups[i] for i in e["source_group"]]) if len(e["source_group"]) else np.array([])
    e["tname"] = np.array([groups[i] for i in e["target_group"]]) if len(e["target_group"]) else np.array([])
    return e


def q(s):
    return f'"{s}"'


def pairs(e):
    return e["source"].astype(np.int64) * 100000 + e["target"].astype(np.int64)


def chi2_uniform(name, counts):
    counts = np.asarray(counts, dtype=np.float64)
    exp = counts.sum() / len(counts)
    chi2 = float(((counts - exp) ** 2 / exp).sum())
    lim = ref.chi2_upper(len(counts) - 1)
    check(name, chi2 < lim, f"chi-square {chi2:.1f} < {lim:.1f} ({len(counts) - 1} dof)")


def rules(tmp):
    # --- all_to_all and one_to_one: exact
    e = network(tmp, "a2a", [dict(source=q("A"), target=q("B"), rule=q("all_to_all"), weight=1.5, delay=0.5),
                             dict(source=q("B"), target=q("B"), rule=q("all_to_all"), weight=1.0,
                                  allow_autapses="false"),
                             dict(source=q("A"), target=q("D"), rule=q("one_to_one"), weight=2.0)])
    ab = (e["sname"] == "A") & (e["tname"] == "B")
    bb = (e["sname"] == "B") & (e["tname"] == "B")
    ad = (e["sname"] == "A") & (e["tname"] == "D")
    check("all_to_all count", ab.sum() == 300 * 200 and len(np.unique(pairs({k: v[ab] for k, v in e.items()}))) == 60000,
          f"{ab.sum()} synapses, all pairs once")
    check("all_to_all without autapses", bb.sum() == 200 * 199 and not np.any(e["source"][bb] == e["target"][bb]),
          f"{bb.sum()} synapses, none onto itself")
    check("one_to_one", ad.sum() == 300 and np.array_equal(e["source"][ad], e["target"][ad]),
          f"{ad.sum()} synapses, i -> i")
    check("constant weight and delay", np.all(e["weight"][ab] == np.float32(1.5)) and np.all(e["delay"][ab] == 0.5)
          and np.all(e["delay"][bb] == 1.0), "1.5 at 0.5 ms; default delay 1.0 ms")
    check("ports by sign", np.all(e["port"] == 0), "all positive weights on ex")

    # --- pairwise_bernoulli
    p = 0.1
    e = network(tmp, "bern", [dict(source=q("A"), target=q("B"), rule=q("pairwise_bernoulli"), p=p, weight=1.0),
                              dict(source=q("B"), target=q("B"), rule=q("pairwise_bernoulli"), p=0.3, weight=1.0,
                                   allow_autapses="false")])
    ab = (e["sname"] == "A") & (e["tname"] == "B")
    n, M = int(ab.sum()), 300 * 200
    z = (n - M * p) / math.sqrt(M * p * (1 - p))
    check("pairwise_bernoulli total", abs(z) < Z, f"{n} synapses of {M} pairs at p = {p}: z = {z:.2f}")
    check("pairwise_bernoulli pairs once", len(np.unique(pairs({k: v[ab] for k, v in e.items()}))) == n, "no multapses")
    indeg = np.bincount(e["target"][ab].astype(np.int64), minlength=200)
    # sample variance of 200 binomial(300, p) in-degrees: mean var, sd of the
    # estimate sqrt(2/(n-1)) var (normal approximation)
    var, want = indeg.var(ddof=1), 300 * p * (1 - p)
    zv = (var - want) / (want * math.sqrt(2 / 199))
    check("pairwise_bernoulli in-degree spread", abs(zv) < Z + 1, f"variance {var:.1f}, binomial {want:.1f}, z = {zv:.2f}")
    bb = (e["sname"] == "B") & (e["tname"] == "B")
    n, M = int(bb.sum()), 200 * 199
    z = (n - M * 0.3) / math.sqrt(M * 0.3 * 0.7)
    check("pairwise_bernoulli without autapses", abs(z) < Z and not np.any(e["source"][bb] == e["target"][bb]),
          f"{n} of {M} pairs, z = {z:.2f}, none onto itself")

    # --- fixed in/out-degree
    e = network(tmp, "deg", [
        dict(source=q("A"), target=q("B"), rule=q("fixed_indegree"), indegree=20, weight=1.0),
        dict(source=q("B"), target=q("B"), rule=q("fixed_indegree"), indegree=50, weight=1.0,
             allow_autapses="false", allow_multapses="false"),
        dict(source=q("A"), target=q("D"), rule=q("fixed_outdegree"), outdegree=30, weight=1.0),
        dict(source=q("D"), target=q("D"), rule=q("fixed_outdegree"), outdegree=10, weight=1.0,
             allow_autapses="false", allow_multapses="false")])
    sel = lambda a, b: (e["sname"] == a) & (e["tname"] == b)  # noqa: E731
    ab, bb, ad, dd = sel("A", "B"), sel("B", "B"), sel("A", "D"), sel("D", "D")
    indeg = np.bincount(e["target"][ab].astype(np.int64), minlength=200)
    check("fixed_indegree exact", np.all(indeg == 20), f"in-degrees {indeg.min()}..{indeg.max()}")
    chi2_uniform("fixed_indegree sources uniform", np.bincount(e["source"][ab].astype(np.int64), minlength=300))
    indeg = np.bincount(e["target"][bb].astype(np.int64), minlength=200)
    P = pairs({k: v[bb] for k, v in e.items()})
    check("fixed_indegree without multapses or autapses",
          np.all(indeg == 50) and len(np.unique(P)) == len(P) and not np.any(e["source"][bb] == e["target"][bb]),
          "50 distinct other sources each")
    chi2_uniform("fixed_indegree (distinct) sources uniform", np.bincount(e["source"][bb].astype(np.int64), minlength=200))
    outdeg = np.bincount(e["source"][ad].astype(np.int64), minlength=300)
    check("fixed_outdegree exact", np.all(outdeg == 30), f"out-degrees {outdeg.min()}..{outdeg.max()}")
    chi2_uniform("fixed_outdegree targets uniform", np.bincount(e["target"][ad].astype(np.int64), minlength=300))
    outdeg = np.bincount(e["source"][dd].astype(np.int64), minlength=300)
    P = pairs({k: v[dd] for k, v in e.items()})
    check("fixed_outdegree without multapses or autapses",
          np.all(outdeg == 10) and len(np.unique(P)) == len(P) and not np.any(e["source"][dd] == e["target"][dd]),
          "10 distinct other targets each")

    # --- fixed_total_number
    e = network(tmp, "total", [dict(source=q("A"), target=q("B"), rule=q("fixed_total_number"), n=30000, weight=1.0),
                               dict(source=q("B"), target=q("B"), rule=q("fixed_total_number"), n=5000, weight=1.0,
                                    allow_autapses="false")])
    ab = (e["sname"] == "A") & (e["tname"] == "B")
    check("fixed_total_number exact", ab.sum() == 30000, f"{ab.sum()} synapses")
    chi2_uniform("fixed_total_number sources uniform", np.bincount(e["source"][ab].astype(np.int64), minlength=300))
    chi2_uniform("fixed_total_number targets uniform", np.bincount(e["target"][ab].astype(np.int64), minlength=200))
    P = pairs({k: v[ab] for k, v in e.items()})
    mult = len(P) - len(np.unique(P))
    # expected repeated pairs: n - M (1 - (1 - 1/M)^n)
    M = 60000
    want = 30000 - M * (1 - (1 - 1 / M) ** 30000)
    check("fixed_total_number has multapses", abs(mult - want) < Z * math.sqrt(want) + 1,
          f"{mult} repeated pairs, about {want:.0f} expected")
    bb = (e["sname"] == "B") & (e["tname"] == "B")
    check("fixed_total_number without autapses", bb.sum() == 5000 and not np.any(e["source"][bb] == e["target"][bb]),
          f"{bb.sum()} synapses, none onto itself")

    # --- from_file
    f = os.path.join(tmp, "edges.h5")
    rng = np.random.default_rng(3)
    s, t = rng.integers(0, 300, 500), rng.integers(0, 200, 500)
    w, d = rng.normal(10, 2, 500), rng.uniform(0.05, 3.0, 500)
    with h5py.File(f, "w") as h:
        h["source"], h["target"], h["weight"], h["delay"] = s, t, w, d
    e = network(tmp, "file", [dict(source=q("A"), target=q("B"), rule=q("from_file"), file=q(f))])
    got = sorted(zip(e["source"].tolist(), e["target"].tolist(), np.round(e["delay"] / DT).astype(int).tolist(),
                     e["weight"].tolist()))
    want = sorted(zip(s.tolist(), t.tolist(), np.maximum(1, np.round(d / DT)).astype(int).tolist(),
                      np.float32(w).astype(np.float64).tolist()))
    check("from_file", got == want, f"{len(got)} synapses as in the file (delays rounded, at least one step)")


def distributions(tmp):
    n = 40000
    spec = {
        "normal": ('{ dist = "normal", mean = 50.0, std = 5.0 }', lambda x: ref.normal_cdf(x, 50.0, 5.0)),
        "truncated": ('{ dist = "normal", mean = 50.0, std = 20.0, min = 40.0 }',
                      lambda x: np.maximum(0.0, ref.normal_cdf(x, 50, 20) - ref.normal_cdf(40, 50, 20))
                      / (1 - ref.normal_cdf(40, 50, 20))),
        "uniform": ('{ dist = "uniform", low = -3.0, high = 7.0 }', lambda x: np.clip((x + 3.0) / 10.0, 0, 1)),
        "lognormal": ('{ dist = "lognormal", mu = 1.0, sigma = 0.5 }',
                      lambda x: ref.normal_cdf(np.log(np.maximum(x, 1e-300)), 1.0, 0.5)),
    }
    # normal and truncated normal both A -> A (a mixture), uniform A -> D,
    # lognormal A -> B on the in port
    projs = []
    for k, tgt in (("normal", "A"), ("truncated", "A"), ("uniform", "D"), ("lognormal", "B")):
        projs.append(dict(source=q("A"), target=q(tgt), rule=q("fixed_total_number"), n=n, weight=spec[k][0],
                          synapse=q("in" if k == "lognormal" else "ex")))
    # delays: normal with a lower bound, rounded to steps
    projs.append(dict(source=q("D"), target=q("D"), rule=q("fixed_total_number"), n=n, weight=1.0,
                      delay='{ dist = "normal", mean = 1.5, std = 0.75, min = 0.1 }'))
    e = network(tmp, "dist", projs)
    # A -> A carries two projections (normal and truncated): tell them apart
    # by the second one's 40 floor and use only the B, D ones for the rest
    aa = (e["sname"] == "A") & (e["tname"] == "A")
    ab_ex = (e["sname"] == "A") & (e["tname"] == "B") & (e["port"] == 0)
    ab_in = (e["sname"] == "A") & (e["tname"] == "B") & (e["port"] == 1)
    ad = (e["sname"] == "A") & (e["tname"] == "D")
    check("distribution projections present", aa.sum() == 2 * n and ab_in.sum() == n and ad.sum() == n
          and ab_ex.sum() == 0, f"{aa.sum()} {ab_in.sum()} {ad.sum()}")
    # uniform (A -> D) and lognormal (A -> B, in)
    for k, mask in (("uniform", ad), ("lognormal", ab_in)):
        x = e["weight"][mask].astype(np.float64)
        D = ref.ks_statistic(x, spec[k][1])
        check(f"{k} weights", D < ref.ks_critical(len(x)), f"KS {D:.4f} < {ref.ks_critical(len(x)):.4f} over {len(x)}")
    # normal + truncated mixed on A -> A: the mixture CDF
    x = e["weight"][aa].astype(np.float64)
    mix = lambda v: 0.5 * spec["normal"][1](v) + 0.5 * spec["truncated"][1](v)  # noqa: E731
    D = ref.ks_statistic(x, mix)
    check("normal and truncated normal weights", D < ref.ks_critical(len(x)),
          f"KS {D:.4f} < {ref.ks_critical(len(x)):.4f}")
    below = np.sum((x < 40.0))
    # below 40 only the untruncated normal: P = F(40) = Phi(-2)
    want = n * float(ref.normal_cdf(40.0, 50.0, 5.0))
    check("truncated normal respects its bound", abs(below - want) < Z * math.sqrt(want) + 1,
          f"{below} weights below 40, {want:.0f} expected from the untruncated half")
    # delays
    dd = (e["sname"] == "D") & (e["tname"] == "D")
    steps = np.round(e["delay"][dd] / DT).astype(int)
    kmax = steps.max()
    F = lambda v: ref.normal_cdf(v, 1.5, 0.75)  # noqa: E731
    norm = 1 - F(0.1)
    probs = []
    for k in range(1, kmax + 1):
        lo = 0.1 if k == 1 else (k - 0.5) * DT
        probs.append((F((k + 0.5) * DT) - F(lo)) / norm)
    probs[-1] += 1 - sum(probs)
    obs = np.bincount(steps, minlength=kmax + 1)[1:]
    exp = n * np.array(probs)
    keep = exp >= 5
    chi2 = float(((obs[keep] - exp[keep]) ** 2 / exp[keep]).sum() + (obs[~keep].sum() - exp[~keep].sum()) ** 2
                 / max(exp[~keep].sum(), 1))
    lim = ref.chi2_upper(int(keep.sum()))
    check("normal delays (min = dt), rounded to steps", chi2 < lim and steps.min() >= 1,
          f"chi-square {chi2:.1f} < {lim:.1f}; shortest {steps.min()} step")


def same_network(tmp):
    projs = [dict(source=q("A"), target=q("B"), rule=q("pairwise_bernoulli"), p=0.2,
                  weight='{ dist = "normal", mean = 87.8, std = 8.78 }',
                  delay='{ dist = "normal", mean = 1.5, std = 0.75, min = 0.1 }'),
             dict(source=q("B"), target=q("A"), rule=q("fixed_total_number"), n=9000,
                  weight='{ dist = "uniform", low = -400.0, high = -300.0 }', delay=0.8)]
    e0 = network(tmp, "here", projs)
    # every other device builds the same network (compared once, from the
    # first device's part: a comparison across devices)
    for other in (d for d in suite.devices if d.index != suite.current.index and suite.current.first):
        e1 = network(tmp, f"dev{other.index}", projs, device_args=("--device", str(other.index)))
        same = all(np.array_equal(e0[k], e1[k]) for k in ("source", "target", "weight", "delay", "port"))
        check(f"the same network on {other.label}", same and len(e0["source"]) > 0,
              f"{len(e0['source'])} synapses, identical weights and delays")
    parts = {}
    for p in ("1", "3"):
        parts[p] = network(tmp, "part" + p, projs, env={"TWINBRAIN_SPIKING_PARTITIONS": p})
    same = all(np.array_equal(parts["1"][k], parts["3"][k]) for k in ("source", "target", "weight", "delay"))
    check("the same network for 1 and 3 partitions", same and np.array_equal(parts["1"]["weight"], e0["weight"]),
          "identical")
    # a network large enough for huge pages (the synapses' 9.6 MB of
    # buffer, advised before the generation writes it) is the same
    # network without them
    big = [dict(source=q("A"), target=q("B"), rule=q("fixed_total_number"), n=1200000,
                weight='{ dist = "normal", mean = 87.8, std = 8.78 }',
                delay='{ dist = "normal", mean = 1.5, std = 0.75, min = 0.1 }')]
    eh = network(tmp, "huge", big)
    es = network(tmp, "small", big, env={"TWINBRAIN_HUGE_PAGES": "0"})
    same = all(np.array_equal(eh[k], es[k]) for k in ("source", "target", "weight", "delay", "port"))
    check("the same network with and without huge pages", same and len(eh["source"]) == 1200000,
          f"{len(eh['source'])} synapses, identical")
    # the record is written in pieces of whole sources: pieces of 1 and of
    # 700 synapses join into the same file as one piece
    for piece in ("1", "700"):
        e = network(tmp, "piece" + piece, projs, env={"TWINBRAIN_CONNECTIONS_PIECE": piece})
        same = all(np.array_equal(e[k], e0[k]) for k in ("source", "target", "weight", "delay", "port",
                                                             "source_group", "target_group"))
        check(f"connections written in pieces of {piece} synapses", same, f"{len(e0['source'])} synapses, identical")


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        rules(tmp)
        distributions(tmp)
        same_network(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


suite.each(body)
suite.finish()
