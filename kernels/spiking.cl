/* The spiking kit's step kernels (the update functions are generated
 * around each model's snippets, one per class of populations that share
 * their code: core/spiking/spiking_gen.c).
 *
 * One launch of the generated tb_spk_step runs up to the shortest delay
 * of steps (no spike can reach another partition sooner); work-group p
 * owns partition p and, in each step t:
 *   tb_deliver      sums into in[port][neuron] the synapses of the spikes
 *                   emitted at t - d, for every delay d;
 *   tb_update_<c>   each neuron, population by population (c its class):
 *                   inputs, model update, threshold, reset; writes a
 *                   spike flag;
 *   tb_compact      turns the flags into the spike list of step t (neuron
 *                   order), the recorded spikes and population counts.
 * Work-group P (when there are spike files) copies their spikes of t.
 *
 * Partitions are contiguous ranges of target neurons; a partition's
 * synapses are stored by (source, delay) bucket, each bucket sorted by
 * target and weight, so the order in which a neuron's inputs are added
 * does not depend on the number of partitions or on the device.
 * A synapse is 8 bytes: .x = port x N + target - first neuron of the
 * partition (N the number of neurons: the target's place in the input
 * array after the partition's first neuron, so delivery adds into one
 * index without decoding a port), .y = the weight as float bits. */

/* No fused multiply-adds: a compiler that fuses rounds differently from
 * one that does not, and a spiking network turns such differences into
 * other spikes. With contraction off, every device and the numpy
 * references of the tests round alike. */
#pragma OPENCL FP_CONTRACT OFF

/* Synapses live in up to 8 device buffers (banks; core/spiking_kit.h's
 * SPK_MAX_BANKS), because devices cap the size of one buffer. */
#define TB_BANK_ARGS                                                                                        \
    __global const uint2 *restrict tb_bank0, __global const uint2 *restrict tb_bank1, __global const uint2 *restrict tb_bank2,        \
        __global const uint2 *restrict tb_bank3, __global const uint2 *restrict tb_bank4, __global const uint2 *restrict tb_bank5,    \
        __global const uint2 *restrict tb_bank6, __global const uint2 *restrict tb_bank7
#define TB_BANK_SELECT(b)                                                                                   \
    ((b) == 0 ? tb_bank0 : (b) == 1 ? tb_bank1 : (b) == 2 ? tb_bank2 : (b) == 3 ? tb_bank3 : (b) == 4 ? tb_bank4 \
     : (b) == 5 ? tb_bank5 : (b) == 6 ? tb_bank6 : tb_bank7)

/* Poisson counts of one neuron (element) per step. The inputs use it for
 * means of 10 and above (Hormann's PTRS transformed rejection, two
 * uniforms an attempt); below 10 they use tb_poisson_add's vectorised
 * pass, not this function's inversion against cdf[0..n-1] (which a table
 * of cumulative probabilities would still serve). */
inline uint tb_poisson(real lambda, __global const real *cdf, uint n, ulong seed, uint stream, ulong step,
                       uint element)
{
    if (!(lambda > (real)0))
        return 0;
    if (lambda < (real)10) {
        const real u = tb_uniform2(seed, stream, step, element).x;
        uint k = 0;
        while (k < n && u > cdf[k])
            ++k;
        return k;
    }
    const real slam = sqrt(lambda), loglam = log(lambda);
    const real b = (real)0.931 + (real)2.53 * slam;
    const real a = (real)-0.059 + (real)0.02483 * b;
    const real invalpha = (real)1.1239 + (real)1.1328 / (b - (real)3.4);
    const real vr = (real)0.9277 - (real)3.6224 / (b - (real)2);
    for (uint att = 0; att < 4096u; ++att) {
        const real2 uv = tb_uniform2(seed, stream | (att << 20), step, element);
        const real u = uv.x - (real)0.5, v = uv.y;
        const real us = (real)0.5 - fabs(u);
        const real k = floor(((real)2 * a / us + b) * u + lambda + (real)0.43);
        if (us >= (real)0.07 && v <= vr)
            return (uint)k;
        if (k < (real)0 || (us < (real)0.013 && v > us))
            continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + (real)1))
            return (uint)k;
    }
    return (uint)lambda;
}

/* The neuron loop of an update bound by its arithmetic (an exp or the
 * like: core/spiking/spiking_gen.c, wide_update) in 8 lanes, where PoCL
 * would take 4 on AVX-512. */
#if defined(__clang__) && defined(__x86_64__)
#define TB_UPDATE_WIDE _Pragma("clang loop vectorize_width(8)")
#else
#define TB_UPDATE_WIDE
#endif

/* Philox4x32-10 (Random123's philox4x32, the same bits as tb_rng_bits)
 * of sixteen consecutive blocks at once, element b .. b + 15 in lanes
 * 0..15, word q of the blocks in w<q>. Written with vectors rather than
 * left to the auto-vectoriser, which kept 24 thresholds and two
 * interleaved Philox states live at once and spilled them to the stack.
 * The rounds are a chain of dependent multiplies: sixteen lanes are two
 * or more independent vectors on every CPU, which keeps the multipliers
 * busy. The stream and step words are the same in every lane, so the
 * first round's second product is a scalar. Random123's own constants
 * (philox.h, included by rng.cl). */
/* hi:lo = x * M in each 32-bit lane, as even and odd lanes of 64-bit
 * products: no widening or narrowing shuffles, which would queue on the
 * one shuffle port of many CPUs. */
#define TB_PX_MULHILO(x, M, hi, lo)                                                                        \
    do {                                                                                                   \
        const ulong8 tb_pe = (as_ulong8(x) & 0xFFFFFFFFul) * (ulong)(M);                                   \
        const ulong8 tb_po = (as_ulong8(x) >> 32) * (ulong)(M);                                            \
        lo = as_uint16((tb_pe & 0xFFFFFFFFul) | (tb_po << 32));                                            \
        hi = as_uint16((tb_pe >> 32) | (tb_po & 0xFFFFFFFF00000000ul));                                    \
    } while (0)
#define TB_PX_ROUND(c0, c1, c2, c3, k0, k1)                                                                \
    do {                                                                                                   \
        uint16 tb_h0, tb_l0, tb_h1, tb_l1;                                                                 \
        TB_PX_MULHILO(c0, PHILOX_M4x32_0, tb_h0, tb_l0);                                                   \
        TB_PX_MULHILO(c2, PHILOX_M4x32_1, tb_h1, tb_l1);                                                   \
        c0 = tb_h1 ^ c1 ^ (k0);                                                                            \
        c1 = tb_l1;                                                                                        \
        c2 = tb_h0 ^ c3 ^ (k1);                                                                            \
        c3 = tb_l0;                                                                                        \
    } while (0)

__attribute__((always_inline)) inline void tb_rng_bits16(ulong seed, uint stream, ulong step, uint b, uint16 *w0,
                                                         uint16 *w1, uint16 *w2, uint16 *w3)
{
    uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
    const uint16 e = (uint16)(b) + (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    /* round 1: ctr = (e, stream, step lo, step hi) */
    uint16 h0, l0;
    TB_PX_MULHILO(e, PHILOX_M4x32_0, h0, l0);
    const ulong p1 = (ulong)(uint)step * (ulong)PHILOX_M4x32_1;
    uint16 c0 = (uint16)((uint)(p1 >> 32) ^ stream ^ k0), c1 = (uint16)((uint)p1);
    uint16 c2 = h0 ^ (uint16)((uint)(step >> 32) ^ k1), c3 = l0;
    _Pragma("unroll") for (int r = 1; r < 10; ++r)
    {
        k0 += PHILOX_W32_0;
        k1 += PHILOX_W32_1;
        TB_PX_ROUND(c0, c1, c2, c3, k0, k1);
    }
    *w0 = c0, *w1 = c1, *w2 = c2, *w3 = c3;
}

/* Poisson input of one step into neurons a, a + L, ... < e of a port's
 * input array. Below a mean of 10 per step: inversion of a uniform of B
 * bits (32 in double precision, 24 in single), u = (r + 0.5) 2^-B, r the
 * top B bits of word i % 4 of the Philox block (seed; stream, step,
 * i / 4), so one block serves four neurons. u > F(k) exactly when r > t(k)
 * = floor(F(k) 2^B - 0.5), which the host tabulates (t = 2^B - 1 pads the
 * table: never exceeded); the count is the number of t(k) below r. With
 * one work-item per partition (CPUs), 64 neurons at a time in vector
 * lanes: their counts against the first H entries (H = 8, 16 or 24 by the
 * mean, so that a count of H or more is rare), then, only if some lane
 * passed t(H - 1), against the rest of the table. The counts depend on
 * (seed, input, step, neuron) only: not on the chunking, the partitions
 * or the device. At 10 and above, tb_poisson (one block per neuron). */
#define TB_POISSON_TABLE 64
#ifdef TB_DOUBLE
#define TB_POISSON_R(x) (x)
#define TB_POISSON_CONVERT16(c) convert_double16(c)
typedef double16 tb_real16;
#else
#define TB_POISSON_R(x) ((x) >> 8)
#define TB_POISSON_CONVERT16(c) convert_float16(c)
typedef float16 tb_real16;
#endif

/* One neuron (devices with several work-items a partition, and the ends
 * of a CPU's range): its word of its block, against the table as the host
 * wrote it (a private copy indexed at run time would live in a GPU's slow
 * scratch memory); r and t(k) are integers below 2^B, exact in a real, so
 * the compare is the integer one. */
__attribute__((always_inline)) inline void tb_poisson_one(__global real *restrict in, long i,
                                                          __global const real *restrict v, uint n, real w,
                                                          ulong seed, uint stream, ulong step)
{
    const uint4 r = tb_rng_bits(seed, stream, step, (uint)i >> 2);
    const uint q = (uint)i & 3u;
    const real x = (real)TB_POISSON_R(q == 0 ? r.s0 : q == 1 ? r.s1 : q == 2 ? r.s2 : r.s3);
    uint c = 0;
    for (uint k = 0; k < n; ++k)
        c += x > v[k] ? 1u : 0u;
    in[i] += w * (real)c;
}

/* Counts of the four words (as signed lanes: a vector compare gives -1
 * where true) against entries [k0, k1) of the table. */
#define TB_POISSON_COUNT16(k0, k1)                                                                         \
    for (uint k = (k0); k < (k1); ++k) {                                                                   \
        const uint16 tk = (uint16)(t[k]);                                                                  \
        c0 -= as_int16(x0 > tk), c1 -= as_int16(x1 > tk);                                                  \
        c2 -= as_int16(x2 > tk), c3 -= as_int16(x3 > tk);                                                  \
    }

/* Neurons i .. i + 63 (i a multiple of 4): blocks i/4 .. i/4 + 15, lane l
 * of word q being neuron i + 4 l + q, so the counts go back into neuron
 * order by a 4 x 16 transpose. */
#define TB_POISSON_ADD16(o, c)                                                                             \
    vstore16(vload16(0, in + i + (o)) + (tb_real16)(w) * TB_POISSON_CONVERT16(c), 0, in + i + (o))
#define TB_POISSON_VEC(H)                                                                                  \
    for (; i + 64 <= e; i += 64) {                                                                         \
        uint16 x0, x1, x2, x3;                                                                             \
        tb_rng_bits16(seed, stream, step, (uint)i >> 2, &x0, &x1, &x2, &x3);                               \
        x0 = TB_POISSON_R(x0), x1 = TB_POISSON_R(x1), x2 = TB_POISSON_R(x2), x3 = TB_POISSON_R(x3);        \
        int16 c0 = (int16)(0), c1 = c0, c2 = c0, c3 = c0;                                                  \
        _Pragma("unroll") TB_POISSON_COUNT16(0, H);                                                        \
        const uint16 th = (uint16)(t[(H)-1]);                                                              \
        if (any(as_int16((x0 > th) | (x1 > th) | (x2 > th) | (x3 > th))))                                  \
            TB_POISSON_COUNT16(H, n);                                                                      \
        const uint16 m = (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), h = m + 8;     \
        const int16 a02 = shuffle2(c0, c2, m), b02 = shuffle2(c0, c2, h);                                  \
        const int16 a13 = shuffle2(c1, c3, m), b13 = shuffle2(c1, c3, h);                                  \
        TB_POISSON_ADD16(0, shuffle2(a02, a13, m));                                                        \
        TB_POISSON_ADD16(16, shuffle2(a02, a13, h));                                                       \
        TB_POISSON_ADD16(32, shuffle2(b02, b13, m));                                                       \
        TB_POISSON_ADD16(48, shuffle2(b02, b13, h));                                                       \
    }

__attribute__((always_inline)) inline void tb_poisson_pass(__global real *restrict in, long a, long e, long L,
                                                           __global const real *restrict v, uint n, real lambda,
                                                           real w, ulong seed, uint stream, ulong step)
{
    if (a >= e) /* a partition without neurons of this population */
        return;
    if (L != 1) {
        for (long i = a; i < e; i += L)
            tb_poisson_one(in, i, v, n, w, seed, stream, step);
        return;
    }
    uint t[TB_POISSON_TABLE];
    for (int k = 0; k < TB_POISSON_TABLE; ++k)
        t[k] = (uint)v[k];
    long i = a;
    for (; i < e && (i & 3); ++i)
        tb_poisson_one(in, i, v, n, w, seed, stream, step);
    /* H by the mean: P(count >= H) is at most 0.4% (1 in 27,000 for the
     * microcircuit's 1.2-2.3), so few groups of 64 look past t(H - 1);
     * above a mean of about 3, 8 compares and the rest most of the time
     * cost more than 16. */
    if (lambda < (real)2.5) {
        TB_POISSON_VEC(8)
    } else if (lambda < (real)6.5) {
        TB_POISSON_VEC(16)
    } else {
        TB_POISSON_VEC(24)
    }
    for (; i < e; ++i)
        tb_poisson_one(in, i, v, n, w, seed, stream, step);
}

inline void tb_poisson_add(__global real *restrict in, long a, long e, long L, __global const real *restrict v,
                           ulong seed, uint stream, ulong step)
{
    const real lambda = v[0], w = v[1];
    if (lambda > (real)0 && lambda < (real)10) {
        tb_poisson_pass(in, a, e, L, v + 3, (uint)v[2], lambda, w, seed, stream, step);
        return;
    }
    for (long i = a; i < e; i += L)
        in[i] += w * (real)tb_poisson(lambda, v + 3, (uint)v[2], seed, stream, step, (uint)i);
}

/* The arguments every step function takes, so generated code and the
 * library agree on them. */
#define TB_STEP_PARAMS                                                                                     \
    __global real *restrict tb_state, __global int *restrict tb_refr, __global real *restrict tb_in, __global uchar *restrict tb_flags,         \
        __global const real *restrict tb_pv, __global const real *restrict tb_cv, __global const long *restrict tb_lay,                \
        __global uint *restrict tb_hist, __global uint *restrict tb_hist_cnt, __global const uint *restrict tb_boff,                   \
        __global const long *restrict tb_part, __global const int *restrict tb_pbank, __global const ulong *restrict tb_pbase,         \
        __global const uchar *restrict tb_recorded, __global const ushort *restrict tb_pop_of, __global uint2 *restrict tb_rec,        \
        __global uint *restrict tb_rec_cnt, __global const ulong *restrict tb_rec_base, __global uint *restrict tb_pop_cnt,            \
        __global const uint *restrict tb_ext_ids, __global const uint *restrict tb_ext_ptr, TB_BANK_ARGS, long tb_t0,        \
        long tb_step, ulong tb_seed, real dt, int tb_H, int tb_dmin, int tb_ND, long tb_Ns, long tb_N,      \
        int tb_P, int tb_npops
#define TB_STEP_ARGS                                                                                       \
    tb_state, tb_refr, tb_in, tb_flags, tb_pv, tb_cv, tb_lay, tb_hist, tb_hist_cnt, tb_boff, tb_part,       \
        tb_pbank, tb_pbase, tb_recorded, tb_pop_of, tb_rec, tb_rec_cnt, tb_rec_base, tb_pop_cnt,            \
        tb_ext_ids, tb_ext_ptr, tb_bank0, tb_bank1, tb_bank2, tb_bank3, tb_bank4, tb_bank5, tb_bank6,        \
        tb_bank7, tb_t0, tb_step, tb_seed, dt, tb_H, tb_dmin, tb_ND, tb_Ns, tb_N, tb_P, tb_npops

/* What a population's update function takes: fewer arguments than a step
 * function, so that a call (when the compiler does not inline it) stays
 * cheap. */
#define TB_UPD_PARAMS                                                                                      \
    __global real *restrict tb_state, __global int *restrict tb_refr, __global real *restrict tb_in, __global uchar *restrict tb_flags,         \
        __global const real *restrict tb_pv, __global const real *restrict tb_cv, __global const long *restrict tb_lay, long tb_step,  \
        ulong tb_seed, real dt, long tb_N
#define TB_UPD_ARGS tb_state, tb_refr, tb_in, tb_flags, tb_pv, tb_cv, tb_lay, tb_step, tb_seed, dt, tb_N

/* The input of step t into partition p's neurons: for every delay d, the
 * spikes emitted at t - d, through their (source, d) bucket. tb_part[q] is
 * the first neuron of partition q (tb_part[P] the number of neurons);
 * tb_boff has Ns x ND + 1 bucket offsets per partition this process runs
 * (pb: p's place among them; all partitions but over MPI ranks); the history has
 * H slots of Ns source ids holding P + 1 lists (the partitions', then the
 * spike files'). */
/* Each bucket is a short run (tens of synapses) somewhere in a large
 * array, so each would start with a cache miss on its offsets and another
 * on its synapses. Delivery is therefore a pipeline over batches of
 * TB_BATCH buckets, in their order: a batch's offsets are prefetched when
 * its bucket numbers are gathered; one batch later its offsets are read
 * and its synapses prefetched; one batch later still its synapses are
 * added, so each prefetch has a batch's worth of work to land in. The
 * buckets are added in the same order as without the pipeline (the sums,
 * and so the spikes, are the same). The prefetch is clang's builtin, used
 * where clang compiles for a CPU (PoCL); elsewhere (GPU compilers need
 * not know it) it is a no-op. */
#if defined(__clang__) && (defined(__x86_64__) || defined(__aarch64__))
#define TB_PREFETCH(p) __builtin_prefetch((p))
#else
#define TB_PREFETCH(p) ((void)0)
#endif
#define TB_BATCH 32

typedef struct {
    ulong bid[2][TB_BATCH]; /* bucket numbers: gathering, and offsets prefetched */
    uint2 seg[TB_BATCH];    /* synapse ranges, prefetched */
    int nb, nprev, nseg;
    int cur;
} tb_deliver_pipe;

/* The adds of a batch's buckets. */
inline void tb_deliver_add(__global const uint2 *restrict syn, __global real *restrict in, const uint2 *seg,
                           int n)
{
    for (int i = 0; i < n; ++i) {
        for (uint x = seg[i].x; x < seg[i].y; ++x) {
            const uint2 y = syn[x];
            in[y.x] += (real)as_float(y.y);
        }
    }
}

/* The partition's input array (n neurons on each of `ports` ports, N
 * apart) brought into the cache before delivery adds into it. The update
 * streams the partition's whole state, which at full scale pushes the
 * input array (0.6 MB a partition) out of a CPU's L2 cache; a sequential
 * pass of prefetches brings it back for a line's cost, where prefetching
 * each synapse's target line cost a load and a prefetch per synapse
 * (about 40% of delivery's time, more than it saved). */
inline void tb_warm_inputs(__global const real *in, long n, int ports, long N)
{
    /* Up to 0.5 MB it stays in cache, or gains nothing measurable (half
     * scale, 0.3 MB: the same delivery time with the pass as without);
     * a small network's pass is then a twentieth of its step. */
    if ((long)ports * n * (long)sizeof(real) <= 512 * 1024)
        return;
    for (int q = 0; q < ports; ++q)
        for (long x = 0; x < n; x += 64 / (long)sizeof(real))
            TB_PREFETCH(in + q * N + x);
}

/* The bucket numbers gathered a batch ago into synapse ranges (empty
 * buckets dropped), prefetching their synapses. */
inline void tb_deliver_ranges(tb_deliver_pipe *pp, __global const uint2 *restrict syn,
                              __global const uint *restrict off, const ulong *bid, int n)
{
    int m = 0;
    for (int i = 0; i < n; ++i) {
        const uint a = off[bid[i]], e = off[bid[i] + 1];
        if (a == e)
            continue;
        for (uint x = a; x < e; x += 8) /* a 64-byte line holds 8 synapses */
            TB_PREFETCH(syn + x);
        pp->seg[m++] = (uint2)(a, e);
    }
    pp->nseg = m;
}

/* One pipeline step, when a batch of bucket numbers is complete. */
inline void tb_deliver_advance(tb_deliver_pipe *pp, __global const uint2 *restrict syn,
                               __global const uint *restrict off, __global real *restrict in)
{
    tb_deliver_add(syn, in, pp->seg, pp->nseg);
    tb_deliver_ranges(pp, syn, off, pp->bid[pp->cur ^ 1], pp->nprev);
    pp->nprev = pp->nb;
    pp->nb = 0;
    pp->cur ^= 1;
}

inline void tb_deliver(int p, int pb, TB_STEP_PARAMS)
{
    __global const uint2 *syn = TB_BANK_SELECT(tb_pbank[p]) + tb_pbase[p];
    __global const uint *off = tb_boff + (ulong)pb * (ulong)(tb_Ns * tb_ND + 1);
    __global real *in = tb_in + tb_part[p];
    tb_deliver_pipe pp;
    pp.nb = pp.nprev = pp.nseg = pp.cur = 0;
    for (int j = 0; j < tb_ND; ++j) {
        const long te = tb_step - tb_dmin - j;
        if (te < 0)
            break;
        const long slot = te % tb_H;
        __global const uint *ids = tb_hist + slot * tb_Ns;
        __global const uint *cnt = tb_hist_cnt + slot * (tb_P + 1);
        for (int q = 0; q <= tb_P; ++q) {
            const uint c = cnt[q];
            __global const uint *list = ids + tb_part[q < tb_P ? q : tb_P];
            for (uint k = 0; k < c; ++k) {
                const ulong b = (ulong)list[k] * (ulong)tb_ND + (ulong)j;
                TB_PREFETCH(off + b);
                pp.bid[pp.cur][pp.nb++] = b;
                if (pp.nb == TB_BATCH)
                    tb_deliver_advance(&pp, syn, off, in);
            }
        }
    }
    /* drain: the two batches in flight, then the partial one */
    tb_deliver_advance(&pp, syn, off, in);
    tb_deliver_advance(&pp, syn, off, in);
    tb_deliver_add(syn, in, pp.seg, pp.nseg);
}

/* The spikes of partition q in step t, in neuron order, into the history;
 * those of neurons whose recorded bit 0 is set into the chunk's record
 * (step within the chunk, neuron); per population counts of those whose
 * bit 1 is set. */
inline void tb_compact(int q, TB_STEP_PARAMS)
{
    const long slot = tb_step % tb_H;
    __global uint *ids = tb_hist + slot * tb_Ns;
    const long lo = tb_part[q], hi = tb_part[q + 1];
    __global uint *counts = tb_pop_cnt + (tb_step - tb_t0) * tb_npops;
    __global uint2 *rec = tb_rec + tb_rec_base[q];
    uint c = 0, r = tb_rec_cnt[q];
    for (long n = lo; n < hi;) {
        /* few neurons spike in a step: 16 silent ones are skipped at once */
        if (hi - n >= 16) {
            const ulong2 f = as_ulong2(vload16(0, tb_flags + n));
            if ((f.s0 | f.s1) == 0) {
                n += 16;
                continue;
            }
        }
        for (const long e = min(n + 16, hi); n < e; ++n) {
            if (!tb_flags[n])
                continue;
            ids[lo + c++] = (uint)n;
            const uchar what = tb_recorded[n];
            if (what & 1u)
                rec[r++] = (uint2)((uint)(tb_step - tb_t0), (uint)n);
            if (what & 2u)
                atomic_inc(&counts[tb_pop_of[n]]);
        }
    }
    tb_rec_cnt[q] = r;
    tb_hist_cnt[slot * (tb_P + 1) + q] = c;
}

/* The spike-file spikes of step t as list P of its history slot. */
inline void tb_ext_copy(TB_STEP_PARAMS)
{
    const long slot = tb_step % tb_H;
    __global uint *ids = tb_hist + slot * tb_Ns + tb_part[tb_P];
    const uint a = tb_ext_ptr[tb_step], e = tb_ext_ptr[tb_step + 1];
    for (uint k = a; k < e; ++k)
        ids[k - a] = tb_ext_ids[k];
    tb_hist_cnt[slot * (tb_P + 1) + tb_P] = e - a;
}

/* One row of a state record: out[row][k] = state[idx[k]]. */
__kernel void tb_spk_sample(__global const real *state, __global const ulong *idx, __global real *out, uint count,
                            uint row)
{
    const uint k = get_global_id(0);
    if (k < count)
        out[(ulong)row * count + k] = state[idx[k]];
}

/* The lowest index of a non-finite state value into bad[slot] (which
 * starts at ~0u). */
__kernel void tb_spk_check(__global const real *state, uint n, __global uint *bad, int slot)
{
    const uint i = get_global_id(0);
    if (i < n && !isfinite(state[i]))
        atomic_min(&bad[slot], i);
}
