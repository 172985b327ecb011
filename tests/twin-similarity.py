"""Embeddings and like-to-like similarity (`twin embeddings`, `twin
similarity`) on a twin whose answers are known.

The network (onnx.helper, 16x16 frames) is linear: r = (x Kc) F + x S + bias
with a "core" Kc of 4 random channels, readout features F [4, units] and
spatial weights S. Units 0-4 read the core only: 1 is identical to 0, 2 is
0 scaled by 2 (cosine and signal correlation 1), 3 is orthogonal to 0
(cosine 0), 4 a mixture; units 5-8 have no features (cosine NaN) and a
Gaussian blob as their receptive field: 6 identical to 5 (RF overlap 1), 7
shifted by 4 pixels, 8 twice as wide. Signal correlations are checked
against numpy running the same stimuli through the same network, feature
similarities against F, RF overlaps against the Bhattacharyya coefficient
in numpy on the fitted Gaussians and the planted ones; bad input gets
exit status 4 naming the file and dataset, and no output file."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import twin_reference as ref  # noqa: E402

onnx, h5py = ref.need("onnx", "h5py")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

suite = devices.Tests()
check = suite.check
H = W = 16
HW = H * W
B = 4
rng = np.random.default_rng(11)
Kc = rng.choice([-1.0, 1.0], size=(HW, 4)) / 16
F = np.zeros((4, 9))
F[:, 0] = [1, 0, 0, 0]
F[:, 1] = [1, 0, 0, 0]
F[:, 2] = [2, 0, 0, 0]
F[:, 3] = [0, 1, 0, 0]
F[:, 4] = [0.5, 0, 1, -1]
U = F.shape[1]
yy, xx = np.mgrid[0:H, 0:W]
BLOBS = {5: ((5.0, 6.0), 1.5), 6: ((5.0, 6.0), 1.5), 7: ((9.0, 6.0), 1.5), 8: ((5.0, 6.0), 3.0)}
S = np.zeros((HW, U))
for u, ((cx, cy), s) in BLOBS.items():
    S[:, u] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s ** 2)).ravel()
bias = np.linspace(0.1, 0.9, U)


def net(x):
    return (x @ Kc) @ F + x @ S + bias


nodes = [helper.make_node("Flatten", ["x"], ["xf"], axis=1),
         helper.make_node("MatMul", ["xf", "Kc"], ["z"]),
         helper.make_node("MatMul", ["z", "features"], ["rf_"]),
         helper.make_node("MatMul", ["xf", "S"], ["rs"]),
         helper.make_node("Add", ["rf_", "rs"], ["y"]),
         helper.make_node("Add", ["y", "bias"], ["r"])]
inits = [numpy_helper.from_array(v.astype(np.float64), n)
         for n, v in (("Kc", Kc), ("features", F), ("S", S), ("bias", bias))]
g = helper.make_graph(nodes, "similar", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, H, W])],
                      [helper.make_tensor_value_info("r", TensorProto.DOUBLE, [1, U])], inits)
tmp = tempfile.mkdtemp(prefix="twin-similarity-")
NET = os.path.join(tmp, "net.h5")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)]), os.path.join(tmp, "net.onnx"))
ref.run("twin", "import", os.path.join(tmp, "net.onnx"), "-o", NET)

STIM = rng.normal(size=(6, 8, H, W))
with h5py.File(os.path.join(tmp, "stim.h5"), "w") as f:
    f["movies"] = STIM
BURN = 2


def scenario(prec):
    return (f'[simulation]\nduration = 1\ndt = 1\nprecision = "{prec}"\n\n[twin]\nnetwork = "net.h5"\n'
            f'batch = {B}\n\n'
            '[[experiment]]\nname = "ori"\nkind = "orientation_tuning"\ndirections = 8\n'
            'spatial_frequencies = [0.125]\ntemporal_frequencies = 0.125\nburn_in = 0\nwindow = 8\n\n'
            '[[experiment]]\nname = "rf"\nkind = "receptive_field"\nsquare = 1\ndensity = 0.2\nframes = 1500\n'
            'seed = 7\n\n'
            '[[experiment]]\nname = "resp"\nkind = "response_to"\nfile = "stim.h5"\ndataset = "movies"\n')


def bhattacharyya(ca, sa, cb, sb):
    va, vb = np.asarray(sa) ** 2, np.asarray(sb) ** 2
    v = (va + vb) / 2
    d = np.asarray(ca) - np.asarray(cb)
    return np.exp(-np.sum(d * d / (8 * v) + 0.5 * np.log(v / np.sqrt(va * vb)), axis=-1))


def same(got, want, tol):
    got, want = np.asarray(got, float), np.asarray(want, float)
    return got.shape == want.shape and np.array_equal(np.isnan(got), np.isnan(want)) and \
        np.allclose(np.nan_to_num(got), np.nan_to_num(want), atol=tol, rtol=0)


def check_similarity(run_out, prec, tol):
    sim = os.path.join(tmp, f"sim_{prec}.h5")
    csv = os.path.join(tmp, f"sim_{prec}.csv")
    r = ref.run("twin", "similarity", run_out, "-o", sim, "--burn-in", str(BURN), "--network", NET,
                "--features", "features", "--csv", csv)
    check(f"{prec}: similarity prints a summary", f"{U * (U - 1) // 2} pairs of {U} units" in r.stdout, r.stdout)
    with h5py.File(run_out) as f:
        centre, sigma = f["twin/experiments/rf/centre"][()], f["twin/experiments/rf/sigma"][()]
        po = f["twin/experiments/ori/preferred_orientation"][()]
    with h5py.File(sim) as f:
        s = f["twin/similarity"]
        a, b = s["unit_a"][()], s["unit_b"][()]
        ia, ib = np.triu_indices(U, 1)
        check(f"{prec}: all pairs i < j in order", np.array_equal(a, ia) and np.array_equal(b, ib))
        # signal correlation over the stimulus set after burn-in, against numpy
        resp = net(STIM.reshape(6, 8, HW))[:, BURN:].reshape(-1, U)
        want_sc = np.corrcoef(resp.T)[ia, ib]
        check(f"{prec}: signal correlations match numpy", same(s["signal_correlation"][()], want_sc, tol),
              f"{np.max(np.abs(s['signal_correlation'][()] - want_sc))}")
        check(f"{prec}: the source and sample count are recorded",
              s.attrs["samples"] == 6 * (8 - BURN) and "resp/responses" in str(s.attrs["responses_source"]))
        sc = dict(zip(zip(a, b), s["signal_correlation"][()]))
        check(f"{prec}: identical and scaled units correlate 1", abs(sc[(0, 1)] - 1) < tol and abs(sc[(0, 2)] - 1) < tol)
        norms = np.linalg.norm(F, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            want_fs = (F.T @ F)[ia, ib] / (norms[ia] * norms[ib])
        fs = s["feature_similarity"][()]
        check("feature similarity is the cosine of the readout features (NaN for none)", same(fs, want_fs, 1e-12),
              f"{fs}")
        fsd = dict(zip(zip(a, b), fs))
        check("identical 1, scaled 1, orthogonal 0",
              abs(fsd[(0, 1)] - 1) < 1e-12 and abs(fsd[(0, 2)] - 1) < 1e-12 and abs(fsd[(0, 3)]) < 1e-12)
        want_ov = bhattacharyya(centre[ia], np.abs(sigma[ia]), centre[ib], np.abs(sigma[ib]))
        ov = s["rf_overlap"][()]
        check(f"{prec}: RF overlap is the Bhattacharyya coefficient of the fitted Gaussians",
              same(ov, want_ov, 1e-12), f"{ov} vs {want_ov}")
        check(f"{prec}: RF distance between fitted centres",
              same(s["rf_distance"][()], np.hypot(*(centre[ia] - centre[ib]).T), 1e-12))
        ovd = dict(zip(zip(a, b), ov))
        for pair in ((5, 6), (5, 7), (5, 8)):
            (ca, sa), (cb, sb) = BLOBS[pair[0]], BLOBS[pair[1]]
            planted = bhattacharyya(ca, [sa, sa], cb, [sb, sb])
            check(f"{prec}: RF overlap of units {pair} near the planted {planted:.3f}",
                  abs(ovd[pair] - planted) < (1e-9 if pair == (5, 6) else 0.05), f"{ovd[pair]}")
        d = np.abs(po[ia] - po[ib]) % 180
        check(f"{prec}: orientation difference folded into [0, 90]",
              same(s["orientation_difference"][()], np.minimum(d, 180 - d), 1e-12))
        emb = f["twin/embeddings"]
        check(f"{prec}: the embeddings come along", np.array_equal(emb["rf_centre"][()], centre, equal_nan=True))
    rows = np.genfromtxt(csv, delimiter=",", names=True)
    check(f"{prec}: the CSV holds the same pairs", len(rows) == len(ia) and
          same(rows["signal_correlation"], want_sc, tol) and np.array_equal(rows["unit_b"], ib))


def check_embeddings(run_out):
    emb, csv = os.path.join(tmp, "emb.h5"), os.path.join(tmp, "emb.csv")
    ref.run("twin", "embeddings", run_out, "-o", emb, "--network", NET, "--features", "features", "--csv", csv)
    with h5py.File(run_out) as f, h5py.File(emb) as g:
        e = g["twin/embeddings"]
        check("embeddings: unit index", np.array_equal(e["unit"][()], np.arange(U)))
        check("embeddings: features [units, C] are the readout's", np.array_equal(e["features"][()], F.T))
        for leaf, src in (("rf_centre", "rf/centre"), ("rf_sigma", "rf/sigma"), ("osi", "ori/osi"),
                          ("dsi", "ori/dsi"), ("preferred_orientation", "ori/preferred_orientation"),
                          ("preferred_direction", "ori/preferred_direction")):
            check(f"embeddings: {leaf} is the run's {src}",
                  np.array_equal(e[leaf][()], f[f"twin/experiments/{src}"][()], equal_nan=True))
        check("embeddings: sources recorded", "net.h5:features" in str(e.attrs["features_source"]) and
              "/twin/experiments/rf" in str(e.attrs["rf_source"]))
        rows = np.genfromtxt(csv, delimiter=",", names=True)
        check("embeddings CSV: one row per unit, aligned", len(rows) == U and
              np.allclose(rows["feature_3"], F[3]) and same(rows["rf_x"], e["rf_centre"][:, 0], 0) and
              same(rows["osi"], e["osi"][()], 0))


def check_pairs(run_out):
    pairs = os.path.join(tmp, "pairs.txt")
    with open(pairs, "w") as f:
        f.write("# unit_a unit_b\n0 1\n\n5,7  # shifted\n8 5\n")
    out = os.path.join(tmp, "pairs.h5")
    ref.run("twin", "similarity", run_out, "-o", out, "--pairs", pairs)
    with h5py.File(out) as f:
        s = f["twin/similarity"]
        check("--pairs: the listed pairs in order", list(zip(s["unit_a"][()], s["unit_b"][()])) ==
              [(0, 1), (5, 7), (8, 5)])
        check("without --network there is no feature similarity", "feature_similarity" not in s)
    ref.run("twin", "similarity", run_out, "-o", out, "--units", "5-7,0")
    with h5py.File(out) as f:
        s = f["twin/similarity"]
        check("--units 5-7,0: all pairs of those units", list(zip(s["unit_a"][()], s["unit_b"][()])) ==
              [(5, 6), (5, 7), (5, 0), (6, 7), (6, 0), (7, 0)])


def expect_error(args, status, *words):
    out = os.path.join(tmp, "bad.h5")
    r = ref.run("twin", *args, "-o", out, expect=status)
    msg = r.stderr.strip()
    check(f"{' '.join(args[:1] + [os.path.basename(x) for x in args[1:]])}: exit {status} naming "
          f"{', '.join(words)}", all(w in msg for w in words), msg)
    check("  and no output is left", not os.path.exists(out) and not os.path.exists(out + ".partial"))


def check_errors(run_out):
    bad = os.path.join(tmp, "bad_pairs.txt")
    with open(bad, "w") as f:
        f.write("0 1\n0 99\n")
    expect_error(["similarity", run_out, "--pairs", bad], 4, "bad_pairs.txt:2:", "99")
    with open(bad, "w") as f:
        f.write("0 x\n")
    expect_error(["similarity", run_out, "--pairs", bad], 4, "bad_pairs.txt:1:")
    expect_error(["similarity", run_out, "--network", NET, "--features", "nosuch"], 4, "net.h5", "nosuch")
    expect_error(["embeddings", run_out, "--network", NET, "--features", "Kc"], 4, "net.h5", "'Kc'", "9 units")
    expect_error(["similarity", os.path.join(tmp, "missing.h5")], 4, "missing.h5")
    expect_error(["similarity", run_out, "--burn-in", "8"], 4, "--burn-in 8", "/twin/experiments/resp/responses")
    expect_error(["similarity", run_out, "--rf", "nope"], 4, "no receptive_field experiment 'nope'")
    expect_error(["similarity", run_out, "--units", "3-99"], 2, "--units")
    expect_error(["similarity", run_out, "--network", NET], 2, "--features")
    mixed = os.path.join(tmp, "mixed.h5")
    with h5py.File(mixed, "w") as f:
        a = f.create_group("twin/experiments/a")
        a.attrs["kind"] = "receptive_field"
        a["centre"], a["sigma"] = np.zeros((5, 2)), np.ones((5, 2))
        b = f.create_group("twin/experiments/b")
        b.attrs["kind"] = "orientation_tuning"
        for k in ("preferred_orientation", "preferred_direction", "osi", "dsi"):
            b[k] = np.zeros(6)
    expect_error(["embeddings", mixed], 4, "mixed.h5", "/twin/experiments/b/preferred_orientation", "6 units")
    nan = os.path.join(tmp, "nan.h5")
    with h5py.File(nan, "w") as f:
        c = f.create_group("twin/experiments/c")
        c.attrs["kind"] = "response_to"
        v = np.ones((2, 3, 5))
        v[1, 2, 4] = np.nan
        c["responses"] = v
    expect_error(["similarity", nan], 4, "nan.h5", "/twin/experiments/c/responses", "nan")
    expect_error(["embeddings", nan], 4, "nan.h5", "nothing per unit")


def body(dev):
    fp64 = dev.fp64
    prec, tol = ("double", 1e-9) if fp64 else ("single", 1e-4)
    with open(os.path.join(tmp, f"{prec}.toml"), "w") as f:
        f.write(scenario(prec))
    out = os.path.join(tmp, f"run_{dev.index}.h5")
    ref.run("run", os.path.join(tmp, f"{prec}.toml"), "-o", out, "--quiet")
    check_similarity(out, prec, tol)
    if dev.first:
        check_embeddings(out)
        check_pairs(out)
        check_errors(out)


suite.each(body)
suite.finish()
