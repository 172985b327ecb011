"""initial.history: the past before t = 0, constant or drawn afresh at every
past step (TVB's way), against an independent numpy reference that draws
the same counter-based numbers (its own Philox4x32-10, checked against
Random123's known answers).

The network is built so that every value of the history shows in the
output exactly: each region has one incoming edge of weight 1 (delays 1 to
24 steps), the model is dx/dt = coupling (three variables: x drawn in
[-2, 2], y in { uniform = [0.5, 1] }, z a fixed number per region), linear
coupling with a = 1, Euler with dt = 1/8. Every product is then exact and
every sum rounds once, the same way in numpy and on any device, so the
runs must equal the reference bit for bit: in each decomposition
(TWINBRAIN_MASS_LAYOUT = regions, rlanes, lanes, instances), for every
instance of a sweep of seeds and for one of them run alone, and in single
precision against a float32 reference."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TB = os.environ["TWINBRAIN"]
DT = 0.125
N = 10
STEPS = 40
SOURCE = [(i + 3) % N for i in range(N)]
DELAY = [1 + (7 * i) % 24 for i in range(N - 1)] + [24]  # steps; the longest is 24
Z0 = [0.25 * i for i in range(N)]
RANGES = {"x": (-2.0, 2.0), "y": (0.5, 1.0)}  # widths 4 and 1/2: exact products
failures = []


def check(name, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


# ------------------------------------------------------------ Philox4x32-10

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox(ctr, key):
    """Philox4x32-10 (Salmon et al. 2011) on arrays: ctr [4][...], key [2]."""
    c = [np.asarray(x, dtype=np.uint64) & np.uint64(MASK) for x in ctr]
    k0, k1 = np.uint64(key[0] & MASK), np.uint64(key[1] & MASK)
    for r in range(10):
        if r:
            k0, k1 = (k0 + np.uint64(W0)) & np.uint64(MASK), (k1 + np.uint64(W1)) & np.uint64(MASK)
        p0, p1 = np.uint64(M0) * c[0], np.uint64(M1) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & np.uint64(MASK), (p0 >> np.uint64(32)) ^ c[3] ^ k1,
             p0 & np.uint64(MASK)]
    return c


def u01(seed, step, element, single):
    """twinbrain's uniform in (0, 1) for (seed; stream 1 = initial values,
    step, element): 53 bits of words 0 and 1 in double precision, 24 bits
    of word 0 in single (kernels/rng.cl)."""
    element = np.asarray(element, dtype=np.uint64)
    r = philox([element, np.full_like(element, 1), np.full_like(element, step & MASK),
                np.full_like(element, step >> 32)], (seed & MASK, seed >> 32))
    if single:
        return (r[0] >> np.uint64(8)).astype(np.float32) + np.float32(0.5), np.float32(2.0 ** -24)
    x = (r[0] << np.uint64(21)) ^ (r[1] >> np.uint64(11))
    return x.astype(np.float64) + 0.5, 2.0 ** -53


def uniform(seed, step, element, single=False):
    u, scale = u01(seed, step, element, single)
    return u * scale


KAT = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
       ((MASK,) * 4, (MASK, MASK), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
       ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
check("numpy Philox4x32-10 gives Random123's known answers",
      all(tuple(int(w) for w in philox(c, k)) == want for c, k, want in KAT))

# ------------------------------------------------------------ the reference


def history_states(seed, lags, random, single):
    """[lags, 3, N]: the state k steps before t = 0. k = 0 is the initial
    state, drawn on the host in double precision (then rounded to the
    device's type); k >= 1 is drawn on the device in its own precision."""
    f = np.float32 if single else np.float64
    out = np.empty((lags, 3, N), dtype=f)
    regions = np.arange(N, dtype=np.uint64)
    for k in range(lags):
        for v, name in enumerate(("x", "y")):
            lo, hi = RANGES[name]
            draw_k = k if random else 0
            if draw_k == 0:  # the host: lo + (hi - lo) u in double
                out[k, v] = (lo + (hi - lo) * uniform(seed, 0, regions * 3 + v)).astype(f)
            else:
                u = uniform(seed, draw_k, regions * 3 + v, single)
                out[k, v] = f(lo) + f(hi - lo) * u.astype(f)
        out[k, 2] = np.array(Z0, dtype=f)
    return out


def reference(seed, random, single=False):
    """Raw samples [STEPS, N, 3]: x(t + 1) = x(t) + dt c(t), c_i(t) = the
    state of SOURCE[i] at t - DELAY[i] (the history before t = 0)."""
    f = np.float32 if single else np.float64
    lags = max(DELAY) + 2
    past = history_states(seed, lags, random, single)
    states = [past[0]]
    src, d = np.array(SOURCE), np.array(DELAY)
    for t in range(STEPS):
        c = np.empty((3, N), dtype=f)
        for i in range(N):
            when = t - d[i]
            c[:, i] = states[when][:, src[i]] if when >= 0 else past[-when][:, src[i]]
        states.append(states[-1] + f(DT) * c)
    return np.array(states[1:]).transpose(0, 2, 1), past


# ------------------------------------------------------------ the runs


def write_connectome(path):
    w = np.zeros((N, N))
    lengths = np.zeros((N, N))
    for i in range(N):
        w[i, SOURCE[i]] = 1.0
        lengths[i, SOURCE[i]] = DELAY[i] * DT  # speed 1 mm/ms: DELAY[i] steps
    with h5py.File(path, "w") as f:
        f["weights"] = w
        f["tract_lengths"] = lengths


INITIAL = f'x = "random"\ny = {{ uniform = [0.5, 1.0] }}\nz = {Z0}\n'


def write_scenario(path, con, history, seeds=None, precision="double", initial=INITIAL):
    sweep = f'[sweep]\n"simulation.seed" = {seeds}\n' if seeds else ""
    with open(path, "w") as f:
        f.write(f"""
[simulation]
duration = {STEPS * DT}
dt = {DT}
seed = 5
precision = "{precision}"
[connectome]
file = "{con}"
speed = 1.0
[model]
name = "integrate_coupling"
variables = ["x", "y", "z"]
coupled = ["x", "y", "z"]
derivatives = {{ x = "coupling[0]", y = "coupling[1]", z = "coupling[2]" }}
ranges = {{ x = [-2.0, 2.0] }}
[coupling]
function = "linear"
parameters = {{ a = 1.0, b = 0.0 }}
[integrator]
method = "euler"
[initial]
{history}
{initial}
[[monitor]]
name = "raw"
kind = "raw"
period = {DT}
{sweep}""")


def run(scenario, out, layout=None, extra=(), devices=None):
    env = dict(os.environ)
    env.pop("TWINBRAIN_MASS_LAYOUT", None)
    if devices:
        env["POCL_DEVICES"] = devices
    if layout:
        env["TWINBRAIN_MASS_LAYOUT"] = layout
    subprocess.run([TB, "run", scenario, "-o", out, "-q", *extra], check=True, env=env)
    with h5py.File(out, "r") as f:
        return np.array(f["monitors/raw/data"])  # [T, B, N, V]


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b)


with tempfile.TemporaryDirectory(prefix="tb-history-") as tmp:
    con = os.path.join(tmp, "ring.h5")
    write_connectome(con)

    # The default: the initial state throughout the past.
    path = os.path.join(tmp, "constant.toml")
    write_scenario(path, con, "")
    got = run(path, os.path.join(tmp, "constant.h5"))[:, 0]
    want, _ = reference(5, random=False)
    check("constant history (the default) equals the reference", same(got, want),
          f"max difference {np.abs(got - want).max():.3g}")
    # Region i adds dt x its source's past for its first DELAY[i] steps.
    inc = np.diff(np.concatenate([history_states(5, 1, False, False)[0].T[None], got]), axis=0) / DT
    flat = all(np.ptp(inc[:DELAY[i], i], axis=0).max() < 1e-12 for i in range(N))
    check("constant history: what arrives from before t = 0 does not change", flat)

    # history = "random": a draw for every past step.
    path = os.path.join(tmp, "random.toml")
    write_scenario(path, con, 'history = "random"')
    got = run(path, os.path.join(tmp, "random.h5"))[:, 0]
    want, past = reference(5, random=True)
    check("random history equals the reference", same(got, want), f"max difference {np.abs(got - want).max():.3g}")
    inc = np.diff(np.concatenate([past[0].T[None], got]), axis=0) / DT
    i = DELAY.index(24)
    check("random history: what arrives from before t = 0 changes every step",
          np.all(np.abs(np.diff(inc[:24, i, :2], axis=0)) > 1e-9) and np.ptp(inc[:24, i, 2]) < 1e-12,
          "x and y differ from step to step, z (a number) does not")
    x, y = past[:, 0], past[:, 1]
    lags = past.shape[0]
    check("random history: x uniform in [-2, 2], y in [0.5, 1]",
          x.min() > -2 and x.max() < 2 and y.min() > 0.5 and y.max() < 1 and abs(x.mean()) < 6 * 4 / np.sqrt(12 * x.size)
          and abs(y.mean() - 0.75) < 6 * 0.5 / np.sqrt(12 * y.size), f"{lags} past steps x {N} regions")
    corr = np.corrcoef(x[1:-1].ravel(), x[2:].ravel())[0, 1]
    check("random history: neighbouring past steps independent", abs(corr) < 6 / np.sqrt(x[1:-1].size),
          f"lag-1 correlation {corr:.3f}")

    # Every decomposition, every instance of a sweep of seeds, exactly.
    seeds = list(range(5, 14))
    path = os.path.join(tmp, "sweep.toml")
    write_scenario(path, con, 'history = "random"', seeds=seeds)
    wants = [reference(s, random=True)[0] for s in seeds]
    for layout in (None, "regions", "rlanes", "lanes", "instances"):
        got = run(path, os.path.join(tmp, f"sweep_{layout}.h5"), layout)
        bad = [s for b, s in enumerate(seeds) if not same(got[:, b], wants[b])]
        check(f"sweep of {len(seeds)} seeds ({layout or 'default'} layout): every instance equals the reference",
              not bad, f"seeds {bad} differ" if bad else "")
        if layout == "lanes":
            lanes = got
    alone = run(path, os.path.join(tmp, "alone.h5"), "lanes", ("--set", "sweep={}", "--set", "simulation.seed=9"))
    check("an instance of the sweep equals the same seed run alone", same(alone[:, 0], lanes[:, seeds.index(9)]))
    # Split across two devices (two PoCL devices of one driver): each part
    # draws its instances' past with their own seeds.
    probe = subprocess.run([TB, "devices"], env=dict(os.environ, POCL_DEVICES="basic basic"), capture_output=True,
                           text=True).stdout
    if "[1]" in probe:
        got = run(path, os.path.join(tmp, "two.h5"), "regions", ("--device", "0,1"), devices="basic basic")
        bad = [s for b, s in enumerate(seeds) if not same(got[:, b], wants[b])]
        check("a sweep split across two devices: every instance equals the reference", not bad,
              f"seeds {bad} differ" if bad else "")

    # Single precision: the past drawn in float32 on the device.
    path = os.path.join(tmp, "single.toml")
    write_scenario(path, con, 'history = "random"', precision="single")
    for layout in ("regions", "rlanes"):
        got = run(path, os.path.join(tmp, f"single_{layout}.h5"), layout)[:, 0]
        want, _ = reference(5, random=True, single=True)
        check(f"single precision ({layout}) equals the float32 reference", same(got, want),
              f"max difference {np.abs(got.astype(np.float64) - want).max():.3g}")

    # Refusals.
    for history, initial, message in (
            ('history = "sometimes"', INITIAL, 'initial.history must be "constant" or "random" (got "sometimes")'),
            ('history = "random"', "x = 0.5\ny = 0.5\n", 'and none is ("*" = "random" draws them all)')):
        path = os.path.join(tmp, "bad.toml")
        write_scenario(path, con, history, initial=initial)
        r = subprocess.run([TB, "check", path], capture_output=True, text=True)
        check(f"refused: {history}, {initial.splitlines()[0]}", r.returncode == 2 and message in r.stderr,
              r.stderr.strip())

if failures:
    print("FAIL: " + ", ".join(failures))
    sys.exit(1)
print("PASS")
