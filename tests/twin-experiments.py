"""In-silico experiments ([[experiment]]) on a twin whose answers are known.

The network (built with onnx.helper, 16x16 frames) has units of three
kinds, each y = a.x_t + b.x_{t-1} + c on the frame x_t and the previous
frame (a recurrent state pair prev/prev_next), output q y^2 + l y + bias:
  - orientation units (q = 1): a = delta(p) - delta(p + d); their mean
    response to a grating of spatial frequency k, direction theta and
    contrast C over whole cycles is bias + 2 C^2 sin^2(pi k d.e_theta):
    preferred orientation the angle of d, DSI exactly 0;
  - a direction unit (q = 1): a = delta(p + d), b = delta(p) with |d| = tf/k:
    mean 2 C^2 cos^2(pi (k d.e_theta - tf)), preferred direction that of d;
  - receptive-field units (l = 1): a Gaussian blob, a point, and a point
    read from the previous frame (seen at lag 1 only).
The tuning curves, OSI, DSI and preferred angles are checked against these
closed forms, the spike-triggered averages against numpy running the same
noise (the SplitMix64 hash documented in docs/twin.md) through the same
network, and the RF peaks and Gaussian fits against the units' placement,
on every device, in double and single precision."""
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
D, SF, TF, CON = 16, [1 / 8, 1 / 16], [1 / 8], [1.0, 0.5]
BURN, WIN = 3, 16  # 16 frames: two whole cycles of tf = 1/8
B = 4


def pix(x, y):
    return y * W + x


# ------------------------------------------------------------ the network
A, Bm = np.zeros((HW, 0)), np.zeros((HW, 0))
units = []  # (kind, parameters)


def unit(a, b, q, lin, bias, kind):
    global A, Bm
    A = np.column_stack([A, a])
    Bm = np.column_stack([Bm, b])
    units.append(dict(q=q, l=lin, bias=bias, kind=kind))


def delta(x, y):
    v = np.zeros(HW)
    v[pix(x, y)] = 1
    return v


ORI = [((6, 6), (2, 0), 0.3), ((8, 4), (0, 2), 0.0), ((5, 5), (2, 2), 0.1)]  # p, d, bias
for p, d, bias in ORI:
    unit(delta(*p) - delta(p[0] + d[0], p[1] + d[1]), np.zeros(HW), 1, 0, bias, "ori")
DIR_P, DIR_D = (7, 7), (0, 1)  # |d| = tf / k = (1/8) / (1/8) = 1 pixel, downwards (90 degrees)
unit(delta(DIR_P[0] + DIR_D[0], DIR_P[1] + DIR_D[1]), delta(*DIR_P), 1, 0, 0.0, "dir")
BLOB_C, BLOB_S = (5.1, 9.9), 1.2
yy, xx = np.mgrid[0:H, 0:W]
blob = np.exp(-((xx - BLOB_C[0]) ** 2 + (yy - BLOB_C[1]) ** 2) / (2 * BLOB_S ** 2)).ravel()
unit(blob, np.zeros(HW), 0, 1, 0.5, "blob")
POINT = (11, 3)
unit(-delta(*POINT), np.zeros(HW), 0, 1, 0.0, "point")  # an OFF unit
LAGGED = (2, 12)
unit(np.zeros(HW), delta(*LAGGED), 0, 1, 0.0, "lagged")
# centre-surround: a pixel pair and, a grating period (4 pixels at k = 1/4) away, a weaker pair of the
# opposite sign that cancels 60% of it once a disc reaches it
CS = [((8, 8), 1.0), ((10, 8), -1.0), ((12, 8), -0.6), ((14, 8), 0.6)]
cs = np.zeros(HW)
for (x, y), w in CS:
    cs[pix(x, y)] = w
unit(cs, np.zeros(HW), 1, 0, 0.05, "cs")
U = len(units)
q = np.array([u["q"] for u in units], float)
lin = np.array([u["l"] for u in units], float)
bias = np.array([u["bias"] for u in units], float)


def net(x, prev):
    """Responses [..., U] of frames x, prev [..., HW]."""
    y = x @ A + prev @ Bm
    return q * y * y + lin * y + bias


nodes = [helper.make_node("Flatten", ["x"], ["xf"], axis=1),
         helper.make_node("Flatten", ["prev"], ["pf"], axis=1),
         helper.make_node("MatMul", ["xf", "A"], ["ya"]),
         helper.make_node("MatMul", ["pf", "Bm"], ["yb"]),
         helper.make_node("Add", ["ya", "yb"], ["y"]),
         helper.make_node("Mul", ["y", "y"], ["y2"]),
         helper.make_node("Mul", ["y2", "q"], ["qy"]),
         helper.make_node("Mul", ["y", "l"], ["ly"]),
         helper.make_node("Add", ["qy", "ly"], ["s"]),
         helper.make_node("Add", ["s", "bias"], ["r"]),
         helper.make_node("Identity", ["x"], ["prev_next"])]
inits = [numpy_helper.from_array(v.astype(np.float64), n)
         for n, v in (("A", A), ("Bm", Bm), ("q", q), ("l", lin), ("bias", bias))]
g = helper.make_graph(nodes, "known", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, H, W]),
                                       helper.make_tensor_value_info("prev", TensorProto.DOUBLE, [1, 1, H, W])],
                      [helper.make_tensor_value_info("r", TensorProto.DOUBLE, [1, U]),
                       helper.make_tensor_value_info("prev_next", TensorProto.DOUBLE, [1, 1, H, W])], inits)
tmp = tempfile.mkdtemp(prefix="twin-experiments-")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)]), os.path.join(tmp, "known.onnx"))
r = ref.run("twin", "import", os.path.join(tmp, "known.onnx"), "-o", os.path.join(tmp, "known.h5"))
check("the importer pairs prev with prev_next", "1 state pairs" in r.stdout, r.stdout.strip())

RF = dict(square=1, density=0.2, contrast=1.0, frames=1500, seed=7, mean=0.25)
RF2 = dict(square=2, density=0.3, contrast=0.5, frames=600, seed=3, mean=0.0, hold=2, lag=1, burn_in=2)
RFW = dict(noise='"white"', square=1, contrast=0.5, frames=1500, seed=5, mean=0.25)
RFW2 = dict(noise='"white"', square=2, contrast=1.0, frames=400, seed=9, mean=0.0, hold=2, lag=1, burn_in=1)


SIZE = dict(centre=[9, 8], direction=0, spatial_frequencies=[0.25], temporal_frequencies=[0.125], contrast=0.8,
            radii=[0.5, 1.5, 3.5, 6], burn_in=2, window=16, mean=0.1)
SIZE_RF = dict(rf='"rf"', tuning='"ori"', spatial_frequencies=[0.125], radii=[1, 3, 20], burn_in=1, window=8)


STIM = np.random.default_rng(5).normal(size=(5, 6, H, W))  # 5 stimuli of 6 frames: batch 4 + 1
with h5py.File(os.path.join(tmp, "stim.h5"), "w") as f:
    f["movies"] = STIM


def scenario(prec):
    def kv(d):
        return "".join(f"{k} = {v}\n" for k, v in d.items())
    return (f'[simulation]\nduration = 2\ndt = 1\nprecision = "{prec}"\n\n[twin]\nnetwork = "known.h5"\n'
            f'batch = {B}\noutput = "r"\n\n'
            f'[[experiment]]\nname = "ori"\nkind = "orientation_tuning"\ndirections = {D}\n'
            f'spatial_frequencies = {SF}\ntemporal_frequencies = {TF}\ncontrasts = {CON}\n'
            f'burn_in = {BURN}\nwindow = {WIN}\n\n'
            f'[[experiment]]\nname = "rf"\nkind = "receptive_field"\n{kv(RF)}\n'
            f'[[experiment]]\nname = "rf2"\nkind = "receptive_field"\n{kv(RF2)}\n'
            f'[[experiment]]\nname = "rfw"\nkind = "receptive_field"\n{kv(RFW)}\n'
            f'[[experiment]]\nname = "rfw2"\nkind = "receptive_field"\n{kv(RFW2)}\n'
            f'[[experiment]]\nname = "size"\nkind = "size_tuning"\n{kv(SIZE)}\n'
            f'[[experiment]]\nname = "size_rf"\nkind = "size_tuning"\n{kv(SIZE_RF)}\n'
            f'[[experiment]]\nname = "resp"\nkind = "response_to"\nfile = "stim.h5"\ndataset = "movies"\n'
            f'scale = 0.5\noffset = 0.1\n')


for prec in ("double", "single"):
    with open(os.path.join(tmp, f"{prec}.toml"), "w") as f:
        f.write(scenario(prec))

# ------------------------------------------------------------ closed forms
theta = 360.0 * np.arange(D) / D
e = np.stack([np.cos(np.radians(theta)), np.sin(np.radians(theta))], 1)  # [D, 2]


def closed_form():
    """Mean responses [U, S, T, C, D] of the orientation and direction units."""
    out = np.full((U, len(SF), len(TF), len(CON), D), np.nan)
    for s, k in enumerate(SF):
        for t, tf in enumerate(TF):
            for c, con in enumerate(CON):
                for u, (p, d, b) in enumerate(ORI):
                    out[u, s, t, c] = b + 2 * con ** 2 * np.sin(np.pi * k * (e @ np.array(d))) ** 2
                out[len(ORI), s, t, c] = 2 * con ** 2 * np.cos(np.pi * (k * (e @ np.array(DIR_D)) - tf)) ** 2
    return out


def vector_sum(r, h):
    z = (r * np.exp(1j * h * np.radians(theta))).sum(-1)
    return np.abs(z) / r.sum(-1), np.degrees(np.angle(z)) / h % (360 / h)


def angle_diff(a, b, period):
    return np.abs((np.asarray(a) - b + period / 2) % period - period / 2)


want = closed_form()
n_tuned = len(ORI) + 1

# ------------------------------------------------------------ the noise, in numpy
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(z):
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def noise_cells(ex, b, pattern, n):
    """Cell values in {-1, 0, 1} [len(pattern), n] of instance b (sparse noise), or standard normal draws
    (white noise: Box-Muller on the cell's hash h, u1 = (h >> 11 + 1) 2^-53, u2 = (mix64(h) >> 11) 2^-53)."""
    with np.errstate(over="ignore"):
        z0 = mix64(mix64(mix64(np.uint64(ex["seed"])) ^ np.uint64(b)) ^ pattern.astype(np.uint64))
        h = mix64(z0[:, None] ^ np.arange(n, dtype=np.uint64)[None, :])
        z = h >> np.uint64(11)
        if "white" in ex.get("noise", ""):
            u1 = (z.astype(np.float64) + 1) * 2.0 ** -53
            u2 = (mix64(h) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
            return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
    off = np.uint64(int(np.floor(ex["density"] / 2 * 2.0 ** 53)))
    on = np.uint64(int(np.floor(ex["density"] * 2.0 ** 53)))
    return np.where(z < off, -1, np.where(z < on, 1, 0)).astype(np.float64)


def sta_reference(ex):
    sq, hold, lag, burn = ex["square"], ex.get("hold", 1), ex.get("lag", 0), ex.get("burn_in", 0)
    rows, cols = H // sq, W // sq
    total = burn + ex["frames"]
    f = np.arange(total)
    srv, sv, sa, sr, n = np.zeros((U, rows * cols)), np.zeros(rows * cols), np.zeros(rows * cols), np.zeros(U), 0
    for b in range(B):
        cells = noise_cells(ex, b, f // hold, rows * cols)  # [total, cells]
        img = np.full((total, H, W), ex["mean"])
        grid = cells.reshape(total, rows, cols).repeat(sq, 1).repeat(sq, 2)
        img[:, :rows * sq, :cols * sq] += ex["contrast"] * grid
        img = img.reshape(total, HW)
        prev = np.vstack([np.zeros((1, HW)), img[:-1]])
        resp = net(img, prev)  # [total, U]
        use = f[(f >= burn) & (f >= lag)]
        c = noise_cells(ex, b, (use - lag) // hold, rows * cols)
        srv += resp[use].T @ c
        sv += c.sum(0)
        sa += (c * c).sum(0)
        sr += resp[use].sum(0)
        n += len(use)
    return ((srv - (sr / n)[:, None] * sv) / np.where(sa > 0, sa, 1)).reshape(U, rows, cols)


sta_want = {"rf": sta_reference(RF), "rf2": sta_reference(RF2), "rfw": sta_reference(RFW),
            "rfw2": sta_reference(RFW2)}


# ------------------------------------------------------------ the runs
def check_tuning(f, prec, tol):
    grp = f["twin/experiments/ori"]
    check(f"{prec}: the experiment says its kind", grp.attrs["kind"] in ("orientation_tuning", b"orientation_tuning"))
    check(f"{prec}: directions are 360 k / {D}", np.allclose(grp["directions"][()], theta))
    resp = grp["responses"][()]
    check(f"{prec}: responses are [units, SF, TF, contrast, direction]",
          resp.shape == (U, len(SF), len(TF), len(CON), D), str(resp.shape))
    if resp.shape != (U, len(SF), len(TF), len(CON), D):
        return
    err = ref.rel_err(resp[:n_tuned], want[:n_tuned])
    check(f"{prec}: mean responses match the closed forms", err <= tol, f"error {err:.2e}")
    best = grp["best"][()]
    curves = np.stack([want[u, best[u, 0], best[u, 1], best[u, 2]] for u in range(n_tuned)])
    # each unit's best condition: contrast 1 (responses grow with C^2) at its best frequency
    wsum = want[:n_tuned].sum(-1)
    best_want = np.array([np.unravel_index(np.argmax(wsum[u]), wsum[u].shape) for u in range(n_tuned)])
    check(f"{prec}: each unit's best condition", np.array_equal(best[:n_tuned], best_want), f"{best[:n_tuned]}")
    e2 = ref.rel_err(grp["tuning"][()][:n_tuned], curves)
    check(f"{prec}: tuning curves at the best condition", e2 <= tol, f"error {e2:.2e}")
    osi, po = vector_sum(curves, 2)
    dsi, pd = vector_sum(curves, 1)
    got_osi, got_dsi = grp["osi"][()][:n_tuned], grp["dsi"][()][:n_tuned]
    check(f"{prec}: OSI (vector sum) of the closed forms", np.allclose(got_osi, osi, atol=tol * 10, rtol=0),
          f"{got_osi} vs {osi}")
    check(f"{prec}: DSI (vector sum) of the closed forms", np.allclose(got_dsi, dsi, atol=tol * 10, rtol=0),
          f"{got_dsi} vs {dsi}")
    po_got, pd_got = grp["preferred_orientation"][()], grp["preferred_direction"][()]
    for u, (p, d, b) in enumerate(ORI):
        ang = np.degrees(np.arctan2(d[1], d[0])) % 180
        check(f"{prec}: unit {u} prefers orientation {ang:g}", angle_diff(po_got[u], ang, 180) <= 1e-6 + tol,
              f"{po_got[u]}")
        check(f"{prec}: unit {u} is not direction selective", got_dsi[u] <= 1e-6 + tol, f"DSI {got_dsi[u]}")
    dang = np.degrees(np.arctan2(DIR_D[1], DIR_D[0])) % 360
    u = len(ORI)
    check(f"{prec}: the direction unit prefers {dang:g} degrees", angle_diff(pd_got[u], dang, 360) <= 1e-6 + tol,
          f"{pd_got[u]}")
    # at the frequency whose drift moves the grating by d per frame it is strongly so
    dsi0, pd0 = vector_sum(resp[u, 0, 0, 0], 1)
    check(f"{prec}: and direction selective at k |d| = tf", dsi0 > 0.15 and angle_diff(pd0, dang, 360) < 1e-6 + tol,
          f"DSI {dsi0}, direction {pd0}")
    # the vector-sum OSI of a cosine tuning a + b cos 2(theta - theta0) is b / 2a
    cos_curve = 1.0 + 0.6 * np.cos(2 * np.radians(theta - 30))
    check("vector-sum OSI of a cosine tuning is b / 2a", abs(vector_sum(cos_curve, 2)[0] - 0.3) < 1e-12)


def check_rf(f, prec, tol):
    for name, ex in (("rf", RF), ("rf2", RF2), ("rfw", RFW), ("rfw2", RFW2)):
        grp = f[f"twin/experiments/{name}"]
        sta, want_sta = grp["sta"][()], sta_want[name]
        ok = sta.shape == want_sta.shape
        err = ref.rel_err(sta, want_sta) if ok else float("inf")
        check(f"{prec}: {name}: spike-triggered averages match numpy on the same noise", err <= tol,
              f"shape {sta.shape}, error {err:.2e}")
    grp = f["twin/experiments/rf"]
    peak, centre, sigma = grp["peak"][()], grp["centre"][()], grp["sigma"][()]
    ib, ip = [k for k, u in enumerate(units) if u["kind"] in ("blob", "point")]
    bx, by = np.unravel_index(np.argmax(blob), (H, W))[::-1]
    check(f"{prec}: the blob unit's STA peaks at its largest weight", np.array_equal(peak[ib], [bx, by]),
          f"{peak[ib]} vs {(bx, by)}")
    check(f"{prec}: the point unit's STA peaks at its pixel", np.array_equal(peak[ip], POINT), f"{peak[ip]}")
    check(f"{prec}: the point unit is OFF (negative peak)", grp["peak_value"][ip] < 0, f"{grp['peak_value'][ip]}")
    d = np.hypot(*(centre[ib] - BLOB_C))
    check(f"{prec}: Gaussian fit centre of the blob unit", d < 0.15, f"{centre[ib]} vs {BLOB_C}")
    check(f"{prec}: Gaussian fit size of the blob unit", np.all(np.abs(sigma[ib] / BLOB_S - 1) < 0.1),
          f"{sigma[ib]} vs {BLOB_S}")
    # a linear unit's STA is contrast x its weights (in expectation)
    amp = grp["amplitude"][ib]
    check(f"{prec}: Gaussian fit amplitude of the blob unit", abs(amp / RF["contrast"] - 1) < 0.1, f"{amp}")
    check(f"{prec}: Gaussian fit centre of the point unit", np.hypot(*(centre[ip] - POINT)) < 0.05, f"{centre[ip]}")
    # white noise: the same placement from Gaussian noise; the STA of a linear unit is contrast x its weights
    gw = f["twin/experiments/rfw"]
    check(f"{prec}: white noise is recorded as such", gw.attrs["noise"] in ("white", b"white") and
          "density" not in gw.attrs)
    check(f"{prec}: white noise: the point unit's STA peaks at its pixel, OFF",
          np.array_equal(gw["peak"][ip], POINT) and gw["peak_value"][ip] < 0, f"{gw['peak'][ip]}")
    d = np.hypot(*(gw["centre"][ib] - BLOB_C))
    check(f"{prec}: white noise: Gaussian fit centre and size of the blob unit",
          d < 0.15 and np.all(np.abs(gw["sigma"][ib] / BLOB_S - 1) < 0.1), f"{gw['centre'][ib]}, {gw['sigma'][ib]}")
    check(f"{prec}: white noise: fit amplitude is contrast x the blob's height",
          abs(gw["amplitude"][ib] / RFW["contrast"] - 1) < 0.1, f"{gw['amplitude'][ib]}")
    il = [k for k, u in enumerate(units) if u["kind"] == "lagged"][0]
    cell = (LAGGED[0] // 2 * 2 + 0.5, LAGGED[1] // 2 * 2 + 0.5)
    check(f"{prec}: white noise at lag 1: the unit reading the previous frame peaks at its square",
          np.array_equal(f["twin/experiments/rfw2/peak"][il], cell), f"{f['twin/experiments/rfw2/peak'][il]}")
    g2 = f["twin/experiments/rf2"]
    cell = (LAGGED[0] // 2 * 2 + 0.5, LAGGED[1] // 2 * 2 + 0.5)
    check(f"{prec}: at lag 1 the unit reading the previous frame peaks at its (2-pixel) square",
          np.array_equal(g2["peak"][il], cell), f"{g2['peak'][il]} vs {cell}")
    check(f"{prec}: at lag 0 it has no receptive field to speak of",
          np.max(np.abs(f["twin/experiments/rf/sta"][il])) < 0.2, f"{np.max(np.abs(f['twin/experiments/rf/sta'][il]))}")


def size_closed_form(centre, direction, k, tf, con, mean, radii):
    """Mean responses [U, R] to discs over whole drift cycles: with y = a.x_t + b.x_{t-1}, its mean is
    mean (sum a + sum b) and its oscillation the complex amplitude con |sum_disc (a_j + b_j e^(i 2 pi tf))
    e^(i phi_j)|, phi_j = 2 pi k (x_j cos d + y_j sin d); the response q y^2 + l y + bias averages to
    q (dc^2 + amp^2 / 2) + l dc + bias. centre [U, 2] and direction [U] per unit."""
    out = np.zeros((U, len(radii)))
    px, py = xx.ravel(), yy.ravel()
    for u in range(U):
        th = np.radians(direction[u])
        phi = 2 * np.pi * k * (px * np.cos(th) + py * np.sin(th))
        dc = mean * (A[:, u].sum() + Bm[:, u].sum())
        for j, rad in enumerate(radii):
            inside = (px - centre[u][0]) ** 2 + (py - centre[u][1]) ** 2 <= rad ** 2
            amp = con * abs(np.sum((A[inside, u] + Bm[inside, u] * np.exp(2j * np.pi * tf)) * np.exp(1j * phi[inside])))
            out[u, j] = q[u] * (dc ** 2 + amp ** 2 / 2) + lin[u] * dc + bias[u]
    return out


def check_size(f, prec, tol):
    grp = f["twin/experiments/size"]
    got = grp["responses"][()]
    want_s = size_closed_form([SIZE["centre"]] * U, [0] * U, 0.25, 0.125, SIZE["contrast"], SIZE["mean"],
                              SIZE["radii"])
    e = ref.rel_err(got, want_s) if got.shape == want_s.shape else float("inf")
    check(f"{prec}: size tuning responses match the closed form", e <= tol, f"shape {got.shape}, error {e:.2e}")
    ic = [k for k, u in enumerate(units) if u["kind"] == "cs"][0]
    r = want_s[ic]
    check(f"{prec}: the centre-surround unit prefers radius 1.5", grp["preferred_radius"][ic] == 1.5,
          f"{grp['preferred_radius'][ic]}")
    ssi = (r.max() - r[-1]) / r.max()
    check(f"{prec}: its surround suppression index", abs(grp["ssi"][ic] - ssi) <= tol and ssi > 0.5,
          f"{grp['ssi'][ic]} vs {ssi}")
    # discs placed at each unit's fitted RF centre, gratings drifting its preferred direction
    g2 = f["twin/experiments/size_rf"]
    rfc, peak = f["twin/experiments/rf/centre"][()], f["twin/experiments/rf/peak"][()]
    pd = f["twin/experiments/ori/preferred_direction"][()]
    centre = np.where(np.isfinite(rfc), rfc, peak)
    direction = np.where(np.isfinite(pd), pd, 0)
    check(f"{prec}: size_rf centres are the rf experiment's", np.array_equal(g2["centre"][()], centre))
    check(f"{prec}: size_rf directions are the ori experiment's", np.array_equal(g2["direction"][()], direction))
    want2 = size_closed_form(centre, direction, 0.125, 0.125, 1.0, 0.0, [1, 3, 20])
    got2 = g2["responses"][()]
    e = ref.rel_err(got2, want2) if got2.shape == want2.shape else float("inf")
    check(f"{prec}: and their responses match the closed form", e <= tol, f"error {e:.2e}")


def check_response_to(f, prec, tol):
    x = (STIM * 0.5 + 0.1).reshape(5, 6, HW)
    prev = np.concatenate([np.zeros((5, 1, HW)), x[:, :-1]], 1)
    want_r = net(x, prev)  # [5, 6, U]
    got = f["twin/experiments/resp/responses"][()]
    e = ref.rel_err(got, want_r) if got.shape == want_r.shape else float("inf")
    check(f"{prec}: response_to runs each stimulus from the zero state", e <= tol, f"shape {got.shape}, error {e:.2e}")
    return want_r


def body(dev):
    for prec, tol in (("double", 1e-9), ("single", 2e-4)):
        if prec == "double" and not suite.needs_fp64("the double-precision run"):
            continue
        out = os.path.join(tmp, f"out_{dev.index}_{prec}.h5")
        ref.run("run", os.path.join(tmp, f"{prec}.toml"), "-o", out, "--quiet")
        with h5py.File(out) as f:
            check_tuning(f, prec, tol)
            check_rf(f, prec, tol)
            check_size(f, prec, tol)
            want_r = check_response_to(f, prec, tol)
            check(f"{prec}: the run itself still writes its frames", f["twin/responses"].shape == (2, B, U))
        if prec == "double" and dev.first:
            # its responses are the predictions `twin score` reads
            rec = want_r[:, None] + 0.3 * np.random.default_rng(9).normal(size=(5, 3, 6, U))
            with h5py.File(os.path.join(tmp, "rec.h5"), "w") as g:
                g["responses"] = rec
            ref.run("twin", "score", os.path.join(tmp, "rec.h5"), out, "--predictions",
                    "/twin/experiments/resp/responses", "-o", os.path.join(tmp, "sc.h5"))
            with h5py.File(os.path.join(tmp, "sc.h5")) as g:
                cc = g["scores/correlation_to_average"][()]
            avg = rec.mean(1).reshape(-1, U)
            pf = want_r.reshape(-1, U)
            want_cc = [np.corrcoef(avg[:, u], pf[:, u])[0, 1] for u in range(U)]
            check("twin score reads response_to's responses as predictions", np.allclose(cc, want_cc, atol=1e-9))


suite.each(body)
suite.finish()
