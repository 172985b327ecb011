"""twinbrain twin score against numpy on synthetic data with known noise.

Recorded responses are signal + independent Gaussian noise per trial
(r[s, k, t, u] = m[s, t, u] + sigma_u e), with a signal m of known variance;
predictions are the signal with a known model error. The scores match a
numpy implementation of the definitions in docs/twin.md (two-pass
variances, written independently of the C code) to 1e-10, and their
expected values where the data make them known: FEV = var(m) / (var(m) +
sigma^2), the single-trial correlation of a perfect prediction
sqrt(FEV), its CC_norm and FEVE 1. FEVE is NaN for units with FEV < 0.15.
Burn-in frames are left out (a burn-in full of garbage changes nothing),
predictions may come from a twin run's /twin/responses [frames, stimuli,
units], and bad inputs get status 2 or 4. Needs no device."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import twin_reference as ref  # noqa: E402

(h5py,) = ref.need("h5py")

failures = []


def check(what, ok, detail=""):
    print(f"{'ok' if ok else 'FAIL'}: {what}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(what)


rng = np.random.default_rng(12)
S, K, T, U, BURN = 40, 6, 30, 7, 5
sigma = np.array([0.2, 0.5, 1.0, 2.0, 0.5, 0.5, 6.0])  # unit 6: FEV well below 0.15
m = rng.normal(size=(S, T, U)) + 3.0  # signal variance 1
r = m[:, None] + sigma * rng.normal(size=(S, K, T, U))
pred = m.copy()
pred[..., 4] = m[..., 4] + 0.7 * rng.normal(size=(S, T))  # a unit with model error
pred[..., 5] = 2 * m[..., 5] - 1  # an affine prediction: correlations 1, FEVE below 1
r[:, :, :BURN] = 1e3 * rng.normal(size=(S, K, BURN, U))  # burn-in garbage
tmp = tempfile.mkdtemp(prefix="twin-score-")
with h5py.File(os.path.join(tmp, "data.h5"), "w") as f:
    f["responses"] = r
with h5py.File(os.path.join(tmp, "pred.h5"), "w") as f:
    f["predictions"] = pred


def reference(r, p, burn, fev_min=0.15):
    r, p = r[:, :, burn:], p[:, burn:]
    Sn, Kn, Tn, Un = r.shape
    trials = r.reshape(-1, Un)
    ptr = np.broadcast_to(p[:, None], r.shape).reshape(-1, Un)
    avg = r.mean(1).reshape(-1, Un)
    pf = p.reshape(-1, Un)

    def corr(a, b):
        a, b = a - a.mean(0), b - b.mean(0)
        return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))

    total = trials.var(0, ddof=1)
    noise = r.var(1, ddof=1).mean((0, 1))
    fev = (total - noise) / total
    mse = ((trials - ptr) ** 2).mean(0)
    feve = np.where(fev >= fev_min, 1 - (mse - noise) / (total - noise), np.nan)
    # Schoppe et al. 2016: signal power and CC_max, CC_norm
    per = r.transpose(1, 0, 2, 3).reshape(Kn, -1, Un)  # [K, S T, U]
    sp = (per.sum(0).var(0) - per.var(1).sum(0)) / (Kn * (Kn - 1))
    cc_abs = corr(avg, pf)
    cc_max = np.sqrt(sp / avg.var(0))
    cov = ((avg - avg.mean(0)) * (pf - pf.mean(0))).mean(0)
    cc_norm = cov / np.sqrt(pf.var(0) * sp)
    return dict(single_trial_correlation=corr(trials, ptr), correlation_to_average=cc_abs, fev=fev, feve=feve,
                cc_abs=cc_abs, cc_max=cc_max, cc_norm=cc_norm)


out = os.path.join(tmp, "scores.h5")
res = ref.run("twin", "score", os.path.join(tmp, "data.h5"), os.path.join(tmp, "pred.h5"), "-o", out,
              "--burn-in", str(BURN))
print(res.stdout.strip())
want = reference(r, pred, BURN)
with h5py.File(out) as f:
    got = {k: f["scores"][k][()] for k in want}
    attrs = dict(f["scores"].attrs)
for k in want:
    same = np.array_equal(np.isnan(got[k]), np.isnan(want[k]))
    e = np.nanmax(np.abs(got[k] - want[k])) if same else np.inf
    check(f"{k} matches numpy", same and e <= 1e-10, f"max error {e:.2e}")
fev_true = 1 / (1 + sigma ** 2)
check("FEV is var(signal) / (var(signal) + noise variance)", np.allclose(got["fev"], fev_true, atol=0.06),
      f"{np.round(got['fev'], 3)} vs {np.round(fev_true, 3)}")
perfect = [0, 1, 2, 3]
check("a perfect prediction's single-trial correlation is sqrt(FEV)",
      np.allclose(got["single_trial_correlation"][perfect], np.sqrt(fev_true[perfect]), atol=0.04),
      f"{got['single_trial_correlation'][perfect]}")
check("a perfect prediction's CC_norm is 1", np.allclose(got["cc_norm"][perfect], 1, atol=0.03),
      f"{got['cc_norm'][perfect]}")
check("a perfect prediction's FEVE is 1", np.allclose(got["feve"][perfect], 1, atol=0.03), f"{got['feve'][perfect]}")
check("model error lowers CC_norm and FEVE", got["cc_norm"][4] < 0.9 and got["feve"][4] < 0.7,
      f"CC_norm {got['cc_norm'][4]:.3f}, FEVE {got['feve'][4]:.3f}")
check("an affine prediction: CC_norm 1, FEVE well below", abs(got["cc_norm"][5] - 1) < 0.03 and got["feve"][5] < 0,
      f"CC_norm {got['cc_norm'][5]:.3f}, FEVE {got['feve'][5]:.3f}")
check("FEVE is NaN where FEV < 0.15", np.isnan(got["feve"][6]) and got["fev"][6] < 0.15, f"FEV {got['fev'][6]:.3f}")
check("units_feve counts the others", attrs.get("units_feve") == U - 1, str(attrs.get("units_feve")))
check("summary means over units", abs(attrs["mean_cc_norm"] - np.nanmean(want["cc_norm"])) < 1e-10, "")
check("the summary is printed", "cc_norm" in res.stdout and f"{U} units" in res.stdout, "")
# the burn-in matters: without it the garbage frames count
with np.errstate(invalid="ignore"):
    with_burn = reference(r, pred, 0)
ref.run("twin", "score", os.path.join(tmp, "data.h5"), os.path.join(tmp, "pred.h5"), "-o", out)
with h5py.File(out) as f:
    g0 = f["scores/cc_norm"][()]
check("without --burn-in the garbage frames count",
      np.allclose(g0, with_burn["cc_norm"], atol=1e-7, rtol=0, equal_nan=True)
      and not np.allclose(g0, got["cc_norm"], atol=0.1, equal_nan=True), f"{g0}")

# predictions from a twin run: /twin/responses [frames, stimuli, units]
with h5py.File(os.path.join(tmp, "run.h5"), "w") as f:
    f["twin/responses"] = pred.transpose(1, 0, 2)
ref.run("twin", "score", os.path.join(tmp, "data.h5"), os.path.join(tmp, "run.h5"), "-o", out, "--burn-in",
        str(BURN))
with h5py.File(out) as f:
    e = np.nanmax(np.abs(f["scores/cc_norm"][()] - want["cc_norm"]))
check("predictions from a run's /twin/responses", e <= 1e-10, f"error {e:.2e}")


# bad inputs
def expect(status, text, *args):
    p = subprocess.run([ref.TWINBRAIN, "twin", "score", *args], capture_output=True, text=True)
    msg = p.stdout + p.stderr
    check(f"status {status}: {text}", p.returncode == status and text in msg, f"exit {p.returncode}: {msg.strip()}")


data, pr = os.path.join(tmp, "data.h5"), os.path.join(tmp, "pred.h5")
with h5py.File(os.path.join(tmp, "units.h5"), "w") as f:
    f["predictions"] = pred[..., :5]
with h5py.File(os.path.join(tmp, "nan.h5"), "w") as f:
    bad = r.copy()
    bad[3, 1, 7, 2] = np.nan
    f["responses"] = bad
with h5py.File(os.path.join(tmp, "one.h5"), "w") as f:
    f["responses"] = r[:, :1]
expect(4, "units.h5 has 5 units; " + data + " has 7", data, os.path.join(tmp, "units.h5"), "-o", out)
expect(4, "/responses[3, 1, 7, 2] is nan", os.path.join(tmp, "nan.h5"), pr, "-o", out)
expect(4, "has 1 repeat(s) per stimulus; the scores need at least 2", os.path.join(tmp, "one.h5"), pr, "-o", out)
expect(4, "--burn-in 30 leaves none of the 30 frames", data, pr, "-o", out, "--burn-in", "30")
expect(4, "no dataset /predictions", data, data, "-o", out)
expect(2, "--burn-in takes a number of frames", data, pr, "-o", out, "--burn-in", "x")
expect(2, "needs DATA.h5, PREDICTIONS.h5 and -o SCORES.h5", data, pr)
check("a refused input leaves no half-written file", not os.path.exists(out + ".partial"))

print(f"{'FAIL' if failures else 'PASS'}: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
