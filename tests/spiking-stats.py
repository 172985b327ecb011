"""`twinbrain spikes stats` on a synthetic spike file whose statistics are
known: regular trains (CV 0, exact rates), alternating intervals (CV 1/2),
identical trains (correlation 1), silent neurons, a warm-up that cuts
spikes, and numpy's own computation of every figure for an irregular
population."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

failures = []


def check(name, ok, detail):
    print(("ok: " if ok else "FAIL: ") + name + ": " + detail)
    if not ok:
        failures.append(name)


def close(a, b, tol=1e-9):
    return (a is None and b is None) or (a is not None and abs(a - b) <= tol * max(1.0, abs(b)))


T, WARM = 2000.0, 500.0
rng = np.random.default_rng(11)
pops = {}
# regular: neuron i every 10 (i + 1) ms from 5 ms on
reg = [(np.arange(5.0, T, 10.0 * (i + 1)), i) for i in range(10)]
pops["regular"] = (10, reg)
# alternating intervals 10, 30 ms: CV = std/mean = 10/20
alt = []
for i in range(3):
    t, k, ts = 1.0 + i, 0, []
    while t < T:
        ts.append(t)
        t += 10.0 if k % 2 == 0 else 30.0
        k += 1
    alt.append((np.array(ts), i))
pops["alternating"] = (3, alt)
# twins: neurons 0 and 1 identical irregular trains, 2 and 3 silent
tw = np.sort(rng.uniform(0, T, 300)).round(1)
pops["twins"] = (4, [(tw, 0), (tw.copy(), 1)])
# irregular: 50 neurons, random trains, checked against numpy below
irr = [(np.sort(rng.uniform(0, T, rng.integers(0, 80))).round(1), i) for i in range(50)]
pops["irregular"] = (60, irr)  # neurons 50..59 silent

with tempfile.TemporaryDirectory() as tmp:
    f = os.path.join(tmp, "syn.h5")
    with h5py.File(f, "w") as h:
        h.attrs["simulated_ms"] = T
        for name, (size, trains) in pops.items():
            t = np.concatenate([tr for tr, _ in trains])
            i = np.concatenate([np.full(len(tr), n, dtype=np.uint64) for tr, n in trains])
            order = np.argsort(t, kind="stable")
            g = h.create_group("spikes/" + name)
            g.attrs["size"] = size
            g.attrs["sorting"] = "by_time"
            g["timestamps"] = t[order]
            g["node_ids"] = i[order]
    out = subprocess.run([os.environ["TWINBRAIN"], "spikes", "stats", f, "--warmup", str(WARM), "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"FAIL: spikes stats exited {out.returncode}: {out.stderr}")
    res = {p["name"]: p for p in json.loads(out.stdout)["populations"]}
    text = subprocess.run([os.environ["TWINBRAIN"], "spikes", "stats", f, "--warmup", str(WARM)], capture_output=True,
                          text=True)
    check("table output", text.returncode == 0 and "irregular" in text.stdout and "CV ISI" in text.stdout,
          "one line per population")
    bad = subprocess.run([os.environ["TWINBRAIN"], "spikes", "stats", os.path.join(tmp, "none.h5")],
                         capture_output=True, text=True)
    check("missing file", bad.returncode == 4 and "no such file" in bad.stderr, bad.stderr.strip())

Tw = (T - WARM) / 1000.0


def rates_of(size, trains):
    r = np.zeros(size)
    for tr, n in trains:
        r[n] = np.sum(tr > WARM) / Tw
    return r


r = rates_of(*pops["regular"])
p = res["regular"]
check("regular: mean rate", close(p["mean_rate_hz"], r.mean()), f"{p['mean_rate_hz']:.6f} Hz vs {r.mean():.6f}")
check("regular: rate quantiles", all(close(p["rate_quantiles_hz"][k], np.percentile(r, float(k)))
                                     for k in ("0", "10", "25", "50", "75", "90", "100")), "as numpy's percentiles")
check("regular: CV 0", close(p["cv_isi_mean"], 0.0) and p["cv_isi_neurons"] == 10, f"{p['cv_isi_mean']}")
p = res["alternating"]
want = np.mean([np.diff(tr[tr > WARM]).std() / np.diff(tr[tr > WARM]).mean() for tr, _ in pops["alternating"][1]])
check("alternating: CV about 1/2", close(p["cv_isi_mean"], want) and abs(want - 0.5) < 0.01,
      f"{p['cv_isi_mean']:.5f} (numpy {want:.5f})")
p = res["twins"]
check("twins: correlation 1 over the one pair", close(p["correlation_mean"], 1.0) and p["correlation_pairs"] == 1,
      f"{p['correlation_mean']} over {p['correlation_pairs']} pair")
check("twins: silent half", close(p["silent_fraction"], 0.5), f"{p['silent_fraction']}")

# irregular: every figure recomputed here
size, trains = pops["irregular"]
r = rates_of(size, trains)
cvs, counts = [], []
bins = np.arange(WARM, T + 1e-9, 1.0)
for tr, n in trains:
    t = tr[tr > WARM]
    if len(t) >= 3:
        isi = np.diff(t)
        cvs.append(isi.std() / isi.mean())  # population sd of the intervals, as elephant's cv
active = [n for tr, n in trains if np.sum(tr > WARM) > 0]
for tr, n in sorted(trains, key=lambda x: x[1]):
    if n in active:
        counts.append(np.histogram(tr[tr > WARM], bins=bins)[0])
C = np.corrcoef(np.array(counts, dtype=float))
iu = np.triu_indices(len(counts), 1)
p = res["irregular"]
check("irregular: mean rate", close(p["mean_rate_hz"], r.mean()), f"{p['mean_rate_hz']:.6f} vs {r.mean():.6f}")
check("irregular: median rate", close(p["rate_quantiles_hz"]["50"], np.median(r)), f"{p['rate_quantiles_hz']['50']}")
check("irregular: CV ISI", close(p["cv_isi_mean"], np.mean(cvs), 1e-9) and p["cv_isi_neurons"] == len(cvs),
      f"{p['cv_isi_mean']:.6f} over {p['cv_isi_neurons']} vs {np.mean(cvs):.6f} over {len(cvs)}")
check("irregular: correlation", close(p["correlation_mean"], C[iu].mean(), 1e-9)
      and p["correlation_pairs"] == len(iu[0]),
      f"{p['correlation_mean']:.6f} over {p['correlation_pairs']} pairs vs {C[iu].mean():.6f}")
check("irregular: spikes after the warm-up", p["spikes"] == sum(int(np.sum(tr > WARM)) for tr, _ in trains),
      f"{p['spikes']}")

if failures:
    print("FAIL: " + ", ".join(failures))
    sys.exit(1)
print("PASS")
