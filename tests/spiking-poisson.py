"""Poisson inputs: each neuron's count per step is one draw of the summed
rate (rate x indegree x dt): below a mean of 10, the inversion of a
uniform made of one 32-bit word of a Philox4x32-10 block keyed by (seed;
stream, step, neuron / 4). A probe model copies each step's input into its
state, so the record holds the drawn counts themselves:

- exactly the counts a numpy Philox4x32-10 (checked against Random123's
  known answer) and a numpy Poisson table give, neuron by neuron and step
  by step, in double and single precision, for means in every table-size
  class of the kernel's drive (kernels/spiking.cl), with populations that
  start and end inside a Philox block;
- their mean, variance and distribution against the analytic Poisson
  values (5 standard errors; chi-square at alpha 1e-6), including a mean
  above 10 (the rejection sampler, not reproduced here);
- the same counts with other chunkings and partitionings, with 64
  work-items a partition (the code path of GPUs) and on every device
  (identical, not close);
- a negative weight into the `in` port lands there, independent of `ex`."""
import math
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402
import spiking_reference as ref  # noqa: E402

suite = devices.Tests()
check = suite.check

DT, STEPS, N, SEED = 0.1, 400, 401, 1234  # N odd: populations start and end inside blocks
TB_RNG_INPUT = 4
# mean count per step -> (rate Hz, indegree); rate x indegree x dt / 1000
MEANS = {"m005": (0.05, 10.0, 50), "m2": (2.0, 8.0, 2500), "m35": (3.5, 10.0, 3500), "m7": (7.0, 10.0, 7000),
         "m25": (25.0, 10.0, 25000)}


# ------------------------------------------------------------ Philox4x32-10, numpy

def philox4x32(ctr, key):
    """ctr: four uint64 arrays holding 32-bit words; key: two ints."""
    M0, M1, W0, W1, MASK = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF
    c = [np.asarray(x, dtype=np.uint64) for x in ctr]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for r in range(10):
        if r:
            k0, k1 = np.uint64((int(k0) + W0) & MASK), np.uint64((int(k1) + W1) & MASK)
        p0, p1 = np.uint64(M0) * c[0], np.uint64(M1) * c[2]
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & np.uint64(MASK), p1 >> np.uint64(32), p1 & np.uint64(MASK)
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
    return c


def uniforms(seed, stream, steps, neurons, single):
    """u[step, neuron] as the Poisson inputs make it (kernels/spiking.cl):
    word neuron % 4 of the block (seed; stream, step, neuron / 4), its top
    24 bits in single precision, all 32 in double, u = (r + 0.5) 2^-bits."""
    neurons = np.asarray(neurons, dtype=np.uint64)
    st, nn = np.meshgrid(np.asarray(steps, dtype=np.uint64), neurons >> np.uint64(2), indexing="ij")
    r = philox4x32([nn, np.full(nn.shape, stream, np.uint64), st & np.uint64(0xFFFFFFFF), st >> np.uint64(32)],
                   (seed & 0xFFFFFFFF, seed >> 32))
    word = np.choose((neurons & np.uint64(3)).astype(np.int64)[None, :].repeat(len(st), axis=0), r)
    bits = 24 if single else 32
    return ((word >> np.uint64(32 - bits)).astype(np.float64) + 0.5) * 2.0 ** -bits


def poisson_table(lam):
    """F(0..n-1), n the first count whose tail is below 1e-16."""
    p = np.array([math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1.0)) for j in range(160)])
    tail = np.cumsum(p[::-1])[::-1]
    n = int(np.argmax(tail < 1e-16))
    F, q, acc = [], math.exp(-lam), math.exp(-lam)
    for j in range(n):
        F.append(acc)
        q *= lam / (j + 1)
        acc += q
    return np.array(F)


def expected_counts(lam, stream, neurons, single):
    u = uniforms(SEED, stream, range(STEPS), neurons, single)
    F = poisson_table(lam)
    if single:
        F = F.astype(np.float32).astype(np.float64)
    return (u[..., None] > F).sum(axis=-1)


# ------------------------------------------------------------ the run

def scenario(precision):
    text = (f'[simulation]\nduration = {STEPS * DT}\ndt = {DT}\nseed = {SEED}\nprecision = "{precision}"\n'
            '[[neuron_model]]\nname = "probe"\nstate = { x = 0.0, y = 0.0, c = 0.0 }\nports = ["ex", "in"]\n'
            'update = "x = in_ex; y = in_in; c = c + 1;"\nthreshold = "c < (real)0"\n')
    for name in MEANS:
        text += f'[[population]]\nname = "{name}"\nmodel = "probe"\nsize = {N}\n'
        text += (f'[[record]]\nname = "s_{name}"\nkind = "state"\npopulation = "{name}"\nneurons = {N}\n'
                 f'variables = ["x", "y", "c"]\n')
    for name, (lam, rate, k) in MEANS.items():
        text += (f'[[input]]\nname = "bg_{name}"\nkind = "poisson"\ntargets = ["{name}"]\nrate = {rate}\n'
                 f'indegree = {k}\nweight = 1.0\n')
    text += ('[[input]]\nname = "inh"\nkind = "poisson"\ntargets = ["m2"]\nrate = 10.0\nindegree = 1000\n'
             'weight = -1.0\n')
    return text


def counts(out):
    got = {}
    for name in MEANS:
        data, _ = ref.state(out, "s_" + name)
        got[name] = data  # [samples, neurons, (x, y, c)]
    return got


def statistics(name, lam, x):
    n = x.size
    mean, var = float(x.mean()), float(x.var(ddof=1))
    se_mean = math.sqrt(lam / n)
    se_var = math.sqrt((lam + 2 * lam * lam) / n)  # var of the sample variance (mu4 - sigma^4) / n
    check(f"{name}: mean count per step", abs(mean - lam) <= 5 * se_mean,
          f"{mean:.5f} against {lam} (5 standard errors: {5 * se_mean:.5f})")
    check(f"{name}: variance of the count", abs(var - lam) <= 5 * se_var,
          f"{var:.5f} against {lam} (5 standard errors: {5 * se_var:.5f})")
    pmf = np.array([math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1.0)) for k in range(200)])
    keep = np.nonzero(pmf * n >= 5)[0]
    lo, hi = int(keep[0]), int(keep[-1])
    obs = np.bincount(np.clip(x.ravel().astype(np.int64), lo, hi), minlength=hi + 1)[lo:hi + 1]
    exp_ = pmf[lo:hi + 1].copy()
    exp_[0] += pmf[:lo].sum()
    exp_[-1] += pmf[hi + 1:].sum()
    chi2 = float(np.sum((obs - n * exp_) ** 2 / (n * exp_)))
    dof = len(obs) - 1
    check(f"{name}: distribution of the count (chi-square)", dof == 0 or chi2 <= ref.chi2_upper(dof, 1e-6),
          f"chi2 {chi2:.1f} with {dof} degrees of freedom (limit {ref.chi2_upper(dof, 1e-6) if dof else 0:.1f})")


first = {}


def body(dev):
    c = philox4x32([np.uint64(0)] * 4, (0, 0))
    check("numpy Philox4x32-10 gives Random123's known answer for counter 0, key 0",
          [int(v) for v in c] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], str([hex(int(v)) for v in c]))
    precisions = ["single"] + (["double"] if suite.needs_fp64("the double-precision runs") else [])
    with tempfile.TemporaryDirectory() as tmp:
        for prec in precisions:
            single = prec == "single"
            text = scenario(prec)
            got = counts(ref.run(text, tmp, "poisson_" + prec))
            lo = 0
            for idx, (name, (lam, _, _)) in enumerate(MEANS.items()):
                x, y, steps = got[name][..., 0], got[name][..., 1], got[name][..., 2]
                check(f"{prec} {name}: one sample per step, after it", x.shape == (STEPS, N)
                      and np.array_equal(steps[:, 0], np.arange(1, STEPS + 1)), str(x.shape))
                if lam < 10:
                    want = expected_counts(lam, TB_RNG_INPUT | (idx << 8), np.arange(lo, lo + N), single)
                    bad = np.argwhere(x != want)
                    check(f"{prec} {name}: every count is numpy's inversion of the same Philox draw",
                          len(bad) == 0, f"{len(bad)} of {x.size} differ" +
                          (f", first at step {bad[0][0]} neuron {bad[0][1]}: {x[tuple(bad[0])]} against "
                           f"{want[tuple(bad[0])]}" if len(bad) else ""))
                statistics(f"{prec} {name}", lam, x)
                if name == "m2":
                    check(f"{prec}: the 'in' input lands on port in, with its weight", np.all(y <= 0), "")
                    statistics(f"{prec} inh (port in)", 1.0, -y)
                    corr = float(np.corrcoef(x.ravel(), y.ravel())[0, 1])
                    check(f"{prec}: the two inputs of one neuron are independent", abs(corr) < 5 / math.sqrt(x.size),
                          f"correlation {corr:.4f}")
                lo += N
            other = counts(ref.run(text, tmp, "poisson_chunks_" + prec,
                                   env={"TWINBRAIN_CHUNK_STEPS": "7", "TWINBRAIN_SPIKING_PARTITIONS": "3"}))
            check(f"{prec}: the same counts in chunks of 7 steps over 3 partitions",
                  all(np.array_equal(got[k], other[k]) for k in MEANS), "")
            # 64 work-items a partition: the loop GPUs run (one neuron a
            # work-item, the table compared in place), here on a CPU.
            wide = counts(ref.run(text, tmp, "poisson_wg64_" + prec, env={"TWINBRAIN_SPIKING_WORKGROUP": "64"}))
            check(f"{prec}: the same counts with 64 work-items a partition",
                  all(np.array_equal(got[k], wide[k]) for k in MEANS), "")
            if prec in first:
                check(f"{prec}: the same counts as on the first device",
                      all(np.array_equal(got[k], first[prec][k]) for k in MEANS), "")
            else:
                first[prec] = got


suite.each(body, fp64=False)
suite.finish()
