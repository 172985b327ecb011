#!/usr/bin/env python3
"""Validation of the full-scale cortical microcircuit (Potjans & Diesmann
2014) against the reference rates of ../../../shared/reference/spiking.md:
runs examples/spiking/potjans_diesmann.toml (Poisson background) for a
warm-up plus at least 5 s, computes per population the mean rate, the
distributions of single-neuron rates and of ISI CVs and the mean pairwise
correlation (twinbrain spikes stats and numpy), checks every mean rate is
within 10% of the reference, and writes docs/validation.md.

Not part of `make check`: on 2 CPU cores it takes several minutes (the
network of 0.3 billion synapses alone takes a minute or two to build).

    . tests/env.sh && python3 tests/validation/microcircuit.py [--duration MS] [--warmup MS]
        [--seed N] [--out FILE.h5] [--docs docs/validation.md] [--dc]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
REFERENCE = [0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829]  # Hz, the reference sheet
TOLERANCE = 0.10


def main():
    src = os.environ.get("TB_SRCDIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5500.0, help="simulated ms, warm-up included")
    ap.add_argument("--warmup", type=float, default=500.0)
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--out", default="microcircuit-validation.h5")
    ap.add_argument("--docs", default=os.path.join(src, "docs", "validation.md"))
    ap.add_argument("--dc", action="store_true", help="the DC-background variant (not what the rates refer to)")
    a = ap.parse_args()
    tb = os.environ.get("TWINBRAIN", os.path.join(src, "twinbrain"))
    scenario = os.path.join(src, "examples", "spiking", "potjans_diesmann_dc.toml" if a.dc else "potjans_diesmann.toml")
    cmd = [tb, "run", scenario, "-o", a.out, "--set", f"simulation.duration={a.duration}",
           "--set", f"simulation.seed={a.seed}"]
    print("running:", " ".join(cmd), flush=True)
    t0 = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if run.returncode != 0:
        sys.exit(f"twinbrain run failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    print(run.stdout)
    stats = subprocess.run([tb, "spikes", "stats", a.out, "--warmup", str(a.warmup), "--json"],
                           capture_output=True, text=True, check=True)
    st = {p["name"]: p for p in json.loads(stats.stdout)["populations"]}
    cv = cv_distributions(a.out, a.warmup)
    with h5py.File(a.out, "r") as f:
        facts = {k: f.attrs[k] for k in ("device", "platform", "driver_version", "precision", "wall_seconds",
                                         "simulated_ms", "synapses", "neurons")}
    ok = write_docs(a, st, cv, facts, wall, run.stdout, scenario)
    print(open(a.docs).read())
    sys.exit(0 if ok else 1)


def cv_distributions(path, warmup):
    """Per population: the ISI CV of each neuron with at least two
    intervals after the warm-up (population sd of the intervals)."""
    out = {}
    with h5py.File(path, "r") as f:
        for p in POPS:
            t = np.array(f["spikes"][p]["timestamps"])
            i = np.array(f["spikes"][p]["node_ids"])
            keep = t > warmup
            t, i = t[keep], i[keep]
            order = np.lexsort((t, i))
            t, i = t[order], i[order]
            cvs = []
            starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
            ends = np.r_[starts[1:], len(i)]
            for s, e in zip(starts, ends):
                if e - s >= 3:
                    isi = np.diff(t[s:e])
                    cvs.append(isi.std() / isi.mean())
            out[p] = np.array(cvs)
    return out


def q(x, levels=(10, 50, 90)):
    return [float(np.percentile(x, l)) if len(x) else float("nan") for l in levels]


def write_docs(a, st, cv, facts, wall, run_out, scenario):
    T = (facts["simulated_ms"] - a.warmup) / 1000.0
    rows, all_ok = [], True
    for p, ref in zip(POPS, REFERENCE):
        r = st[p]["mean_rate_hz"]
        d = (r - ref) / ref
        ok = abs(d) <= TOLERANCE
        all_ok &= ok
        rows.append((p, ref, r, d, ok))
    lines = [
        "# Validation: the cortical microcircuit",
        "",
        "The full-scale Potjans & Diesmann (2014) microcircuit",
        f"(`examples/spiking/{os.path.basename(scenario)}`, 77,169 iaf_psc_exp neurons,",
        f"{facts['synapses']:,} synapses, {'DC' if a.dc else 'Poisson'} background) against the reference",
        "rates of the reference sheet (NEST's current reference data). Written by",
        "`tests/validation/microcircuit.py`; reproduce with",
        "",
        "```sh",
        f". tests/env.sh && python3 tests/validation/microcircuit.py --duration {a.duration:g} --warmup {a.warmup:g} "
        f"--seed {a.seed}{' --dc' if a.dc else ''}",
        "```",
        "",
        f"Run: {facts['simulated_ms']:g} ms simulated, seed {a.seed}, statistics over the last {T:g} s (after a",
        f"{a.warmup:g} ms warm-up); {facts['precision']} precision on {facts['device']} ({facts['platform']},",
        f"driver {facts['driver_version']}); {facts['wall_seconds']:.0f} s of wall time for the run, {wall:.0f} s",
        f"in all with the network build (measured on {datetime.date.today().isoformat()}, a shared 2-core machine).",
        "",
        "## Mean rates",
        "",
        "| population | reference (Hz) | twinbrain (Hz) | difference | within 10% |",
        "|---|---:|---:|---:|---|",
    ]
    for p, ref, r, d, ok in rows:
        lines.append(f"| {p} | {ref:.3f} | {r:.3f} | {100 * d:+.1f}% | {'yes' if ok else '**no**'} |")
    lines += [
        "",
        f"**{sum(ok for *_, ok in rows)} of 8 populations within 10% of the reference.**",
        "",
        "## Distributions per population",
        "",
        "Single-neuron rates (Hz) and ISI coefficients of variation (neurons with at least two",
        "intervals): 10th, 50th and 90th percentiles; mean pairwise correlation of spike counts",
        "in 1 ms bins over a sample of 200 active neurons (`twinbrain spikes stats`).",
        "",
        "| population | rate p10 | rate median | rate p90 | silent | CV mean | CV p10 | CV median | CV p90 | correlation |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in POPS:
        s = st[p]
        rq = s["rate_quantiles_hz"]
        c10, c50, c90 = q(cv[p])
        lines.append(f"| {p} | {rq['10']:.2f} | {rq['50']:.2f} | {rq['90']:.2f} | {100 * s['silent_fraction']:.1f}% | "
                     f"{s['cv_isi_mean']:.3f} | {c10:.3f} | {c50:.3f} | {c90:.3f} | {s['correlation_mean']:.4f} |")
    lines += [
        "",
        "Published comparisons (reference sheet, Validation practice) use the distributions of",
        "single-neuron rates, CVs and correlations and compare two simulators by the spread",
        "between seeds; rerun with other `--seed` values to see that spread here.",
        "",
    ]
    with open(a.docs, "w") as f:
        f.write("\n".join(lines))
    return all_ok


if __name__ == "__main__":
    main()
