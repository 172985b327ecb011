/* The spiking kit's step kernels (the per-population update kernels are
 * generated around each model's snippets: core/spiking_gen.c).
 *
 * One step t, in queue order:
 *   tb_spk_deliver   input of step t: for every delay d, the spikes emitted
 *                    at t - d, through their (source, delay) synapse bucket
 *                    of each partition, summed into in[port][neuron];
 *   tb_update_<pop>  each neuron: inputs, model update, threshold, reset;
 *                    writes a spike flag;
 *   tb_spk_compact   the flags of step t become the spike list of step t
 *                    (neuron order), recorded spikes and population counts.
 *
 * Partitions are contiguous ranges of target neurons; a partition's
 * synapses are stored by (source, delay) bucket, each bucket sorted by
 * target and weight, so the order in which a neuron's inputs are added
 * does not depend on the number of partitions or on the device.
 * A synapse is 8 bytes: .x = port << 30 | target - first neuron of the
 * partition, .y = the weight as float bits. */

/* Synapses live in up to 8 device buffers (banks; core/spiking_kit.h's
 * SPK_MAX_BANKS), because devices cap the size of one buffer. */
#define TB_BANK_ARGS                                                                                        \
    __global const uint2 *tb_bank0, __global const uint2 *tb_bank1, __global const uint2 *tb_bank2,        \
        __global const uint2 *tb_bank3, __global const uint2 *tb_bank4, __global const uint2 *tb_bank5,    \
        __global const uint2 *tb_bank6, __global const uint2 *tb_bank7
#define TB_BANK_SELECT(b)                                                                                   \
    ((b) == 0 ? tb_bank0 : (b) == 1 ? tb_bank1 : (b) == 2 ? tb_bank2 : (b) == 3 ? tb_bank3 : (b) == 4 ? tb_bank4 \
     : (b) == 5 ? tb_bank5 : (b) == 6 ? tb_bank6 : tb_bank7)

#define TB_PORT_SHIFT 30
#define TB_TARGET_MASK 0x3fffffffu

/* Poisson counts: inversion for small means (one uniform), Hormann's PTRS
 * transformed rejection above (two uniforms an attempt). */
inline uint tb_poisson(real lambda, ulong seed, uint stream, ulong step, uint element)
{
    if (!(lambda > (real)0))
        return 0;
    if (lambda < (real)10) {
        const real u = tb_uniform2(seed, stream, step, element).x;
        real p = exp(-lambda), F = p;
        uint k = 0;
        while (u > F && k < 1000u) {
            ++k;
            p *= lambda / (real)k;
            F += p;
        }
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

/* part[p] = first neuron of partition p (part[P] = number of neurons),
 * pbank[p] / pbase[p] = where its synapses start; boff has Ns * ND + 1
 * bucket offsets per partition; the history has H slots of Ns source ids
 * with P + 1 lists each (the partitions', then the spike files'). */
__kernel void tb_spk_deliver(__global real *in, __global const uint *hist, __global const uint *hist_cnt,
                             __global const uint *boff, __global const long *part, __global const int *pbank,
                             __global const ulong *pbase, TB_BANK_ARGS, long t, int H, int dmin, int ND, long Ns,
                             long N, int P)
{
    const int p = get_group_id(0);
    if (get_local_id(0) != 0)
        return;
    __global const uint2 *syn = TB_BANK_SELECT(pbank[p]) + pbase[p];
    __global const uint *off = boff + (ulong)p * (ulong)(Ns * ND + 1);
    const long lo = part[p];
    for (int j = 0; j < ND; ++j) {
        const long te = t - dmin - j;
        if (te < 0)
            break;
        const long slot = te % H;
        __global const uint *ids = hist + slot * Ns;
        __global const uint *cnt = hist_cnt + slot * (P + 1);
        for (int q = 0; q <= P; ++q) {
            const uint c = cnt[q];
            __global const uint *list = ids + (q < P ? part[q] : part[P]);
            for (uint k = 0; k < c; ++k) {
                const ulong b = (ulong)list[k] * (ulong)ND + (ulong)j;
                const uint e = off[b + 1];
                for (uint x = off[b]; x < e; ++x) {
                    const uint2 y = syn[x];
                    in[(long)(y.x >> TB_PORT_SHIFT) * N + lo + (long)(y.x & TB_TARGET_MASK)] += (real)as_float(y.y);
                }
            }
        }
    }
}

/* Work-group q < P lists the spikes of partition q in neuron order, records
 * those of neurons whose recorded bit 0 is set (step within the chunk,
 * neuron) and counts per population those whose bit 1 is set; work-group P copies the spike-file spikes of step t. */
__kernel void tb_spk_compact(__global const uchar *flags, __global uint *hist, __global uint *hist_cnt,
                             __global const long *part, __global const uchar *recorded, __global const ushort *pop_of,
                             __global uint2 *rec, __global uint *rec_cnt, __global const ulong *rec_base,
                             __global uint *pop_cnt, int n_pops, __global const uint *ext_ids,
                             __global const uint *ext_ptr, long t, long t0, int H, long Ns, int P)
{
    const int q = get_group_id(0);
    if (get_local_id(0) != 0)
        return;
    const long slot = t % H;
    __global uint *ids = hist + slot * Ns;
    if (q == P) {
        const uint a = ext_ptr[t], e = ext_ptr[t + 1];
        for (uint k = a; k < e; ++k)
            ids[part[P] + (k - a)] = ext_ids[k];
        hist_cnt[slot * (P + 1) + P] = e - a;
        return;
    }
    const long lo = part[q], hi = part[q + 1];
    __global uint *counts = pop_cnt + (t - t0) * n_pops;
    uint c = 0, r = rec_cnt[q];
    for (long n = lo; n < hi; ++n) {
        if (!flags[n])
            continue;
        ids[lo + c++] = (uint)n;
        const uchar what = recorded[n];
        if (what & 1u)
            rec[rec_base[q] + r++] = (uint2)((uint)(t - t0), (uint)n);
        if (what & 2u)
            atomic_inc(&counts[pop_of[n]]);
    }
    rec_cnt[q] = r;
    hist_cnt[slot * (P + 1) + q] = c;
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
