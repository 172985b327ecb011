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

/* The Poisson pass's loop over Philox blocks: the ten rounds are a chain
 * of dependent multiplies, so eight blocks at a time, two vectors
 * interleaved, keep more in flight. (Forced on the update loops too, it
 * gained about 8% for COBA and made clang warn where a model's update
 * does not vectorise: not used there.) Lane width changes no result. */
#if defined(__clang__) && defined(__x86_64__)
#define TB_NEURON_LOOP _Pragma("clang loop vectorize_width(8) interleave_count(2)")
#else
#define TB_NEURON_LOOP
#endif

/* Poisson input of one step into neurons a, a + L, ... < e of a port's
 * input array. Below a mean of 10 per step: inversion of a uniform of B
 * bits (32 in double precision, 24 in single), u = (r + 0.5) 2^-B, r the
 * top B bits of word i % 4 of the Philox block (seed; stream, step,
 * i / 4), so one block serves four neurons. u > F(k) exactly when r > t(k)
 * = floor(F(k) 2^B - 0.5), which the host tabulates (t = 2^B - 1 pads the
 * table: never exceeded); the count is the number of t(k) below r over a
 * fixed number T of entries (the table's length rounded up to 16, 24, 32,
 * 48 or 64). No data-dependent loop and integer compares: the compiler
 * draws many neurons at once in vector lanes. That loop is why the drive
 * is a pass of its own before the update, not a call in it. At 10 and
 * above, tb_poisson (one block per neuron). The counts depend on (seed,
 * input, step, neuron) only: not on the chunking, the partitions or the
 * device. */
#define TB_POISSON_TABLE 64
#ifdef TB_DOUBLE
#define TB_POISSON_R(x) (x)
#else
#define TB_POISSON_R(x) ((x) >> 8)
#endif
#define TB_POISSON_COUNT(T, x, c)                                                                          \
    do {                                                                                                   \
        const uint tb_x = TB_POISSON_R(x);                                                                 \
        _Pragma("unroll") for (int k = 0; k < (T); ++k) c += tb_x > t[k] ? 1u : 0u;                        \
    } while (0)

/* One neuron (the ends of a range, and devices with several work-items
 * per partition): its word of its block. */
#define TB_POISSON_ONE(T, i)                                                                               \
    do {                                                                                                   \
        const uint4 r = tb_rng_bits(seed, stream, step, (uint)(i) >> 2);                                   \
        const uint q = (uint)(i)&3u, x = q == 0 ? r.s0 : q == 1 ? r.s1 : q == 2 ? r.s2 : r.s3;             \
        uint c = 0;                                                                                        \
        TB_POISSON_COUNT(T, x, c);                                                                         \
        in[i] += w * (real)c;                                                                              \
    } while (0)

#define TB_POISSON_PASS(T)                                                                                 \
    if (L == 1) {                                                                                          \
        long i = a;                                                                                        \
        for (; i < e && (i & 3); ++i)                                                                      \
            TB_POISSON_ONE(T, i);                                                                          \
        const long nb = (e - i) >> 2;                                                                      \
        TB_NEURON_LOOP                                                                                     \
        for (long j = 0; j < nb; ++j) {                                                                    \
            const long i0 = i + 4 * j;                                                                     \
            const uint4 r = tb_rng_bits(seed, stream, step, (uint)i0 >> 2);                                \
            uint c0 = 0, c1 = 0, c2 = 0, c3 = 0;                                                           \
            TB_POISSON_COUNT(T, r.s0, c0);                                                                 \
            TB_POISSON_COUNT(T, r.s1, c1);                                                                 \
            TB_POISSON_COUNT(T, r.s2, c2);                                                                 \
            TB_POISSON_COUNT(T, r.s3, c3);                                                                 \
            in[i0] += w * (real)c0;                                                                        \
            in[i0 + 1] += w * (real)c1;                                                                    \
            in[i0 + 2] += w * (real)c2;                                                                    \
            in[i0 + 3] += w * (real)c3;                                                                    \
        }                                                                                                  \
        for (i += 4 * nb; i < e; ++i)                                                                      \
            TB_POISSON_ONE(T, i);                                                                          \
    } else {                                                                                               \
        for (long i = a; i < e; i += L)                                                                    \
            TB_POISSON_ONE(T, i);                                                                          \
    }

__attribute__((always_inline)) inline void tb_poisson_pass(__global real *restrict in, long a, long e, long L,
                                                           __global const real *restrict v, uint n, real w,
                                                           ulong seed, uint stream, ulong step)
{
    if (a >= e) /* a partition without neurons of this population */
        return;
    uint t[TB_POISSON_TABLE];
    for (int k = 0; k < TB_POISSON_TABLE; ++k)
        t[k] = (uint)v[k];
    if (n <= 16) {
        TB_POISSON_PASS(16)
    } else if (n <= 24) {
        TB_POISSON_PASS(24)
    } else if (n <= 32) {
        TB_POISSON_PASS(32)
    } else if (n <= 48) {
        TB_POISSON_PASS(48)
    } else {
        TB_POISSON_PASS(TB_POISSON_TABLE)
    }
}

inline void tb_poisson_add(__global real *restrict in, long a, long e, long L, __global const real *restrict v,
                           ulong seed, uint stream, ulong step)
{
    const real lambda = v[0], w = v[1];
    if (lambda > (real)0 && lambda < (real)10) {
        tb_poisson_pass(in, a, e, L, v + 3, (uint)v[2], w, seed, stream, step);
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
