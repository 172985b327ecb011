/* Connectivity generated on the device (core/spiking_connect.c).
 *
 * A projection is generated row by row, one work-item per row. A row is a
 * source for every rule but fixed_indegree, whose rows are targets. Every
 * draw is keyed by
 *   seed; stream = TB_RNG_CONNECT | purpose << 8 (| attempt << 16),
 *   step = projection << 40 | row, element = the draw's index in the row,
 * so the network is a function of the seed alone: the same on every device,
 * whatever the number of work-items, partitions or passes.
 *
 * Two passes run the same generation. Count: the synapses of each bucket
 * (partition of the target, source, delay) are counted. Fill: with the
 * counts turned into bucket offsets by the host, each synapse is written
 * into its bucket (target and port, weight as float). A source row owns
 * its buckets, so it counts and writes them without atomics, near each
 * other in memory, and in the order it generates them, which makes their
 * content deterministic. Target rows (fixed_indegree) share buckets: they
 * use atomics and the buckets are sorted afterwards.
 *
 * fixed_total_number first draws the source of each of its n synapses
 * (tb_source_counts; the counts per source are multinomial, as if each
 * synapse drew its pair), then each source row draws its synapses'
 * targets. from_file rows are the file's entries of a source, sorted by
 * source on the host. connectome rows are targets of all regions: row r of
 * region j draws, edge by edge, each source region's count of sources
 * uniformly among that region's neurons (tb_connectome_row). */

#define TB_RULE_ALL_TO_ALL 0
#define TB_RULE_ONE_TO_ONE 1
#define TB_RULE_PAIRWISE_BERNOULLI 2
#define TB_RULE_FIXED_INDEGREE 3
#define TB_RULE_FIXED_OUTDEGREE 4
#define TB_RULE_FIXED_TOTAL_NUMBER 5
#define TB_RULE_FROM_FILE 6
#define TB_RULE_CONNECTOME 7

/* Sources drawn per work-item by tb_source_counts: part of the definition
 * of the network (it keys the draws), do not change lightly. */
#define TB_BLOCK 256

#define TB_PURPOSE_INDEX (0u << 8)
#define TB_PURPOSE_WEIGHT (1u << 8)
#define TB_PURPOSE_DELAY (2u << 8)
#define TB_PURPOSE_UNIFORM (3u << 8)
#define TB_PURPOSE_SOURCE (4u << 8)

/* Integer descriptor entries (idesc) and real ones (rdesc). */
enum { I_RULE, I_SRC_LO, I_NS, I_TGT_LO, I_NT, I_N, I_AUTAPSES, I_MULTAPSES, I_PORT, I_WKIND, I_DKIND, I_PROJ,
       I_SAME, I_ROWS };
enum { R_P, R_WA, R_WB, R_WLO, R_WHI, R_DA, R_DB, R_DLO, R_DHI, R_DT };

#define TB_WBANK_ARGS                                                                                       \
    __global uint2 *tb_bank0, __global uint2 *tb_bank1, __global uint2 *tb_bank2, __global uint2 *tb_bank3, \
        __global uint2 *tb_bank4, __global uint2 *tb_bank5, __global uint2 *tb_bank6, __global uint2 *tb_bank7
#define TB_WBANK_SELECT(b)                                                                                  \
    ((b) == 0 ? tb_bank0 : (b) == 1 ? tb_bank1 : (b) == 2 ? tb_bank2 : (b) == 3 ? tb_bank3 : (b) == 4 ? tb_bank4 \
     : (b) == 5 ? tb_bank5 : (b) == 6 ? tb_bank6 : tb_bank7)

typedef struct tb_conn {
    int mode;   /* 0: count, 1: fill */
    int shared; /* buckets shared between rows: atomics */
    ulong seed;
    ulong step; /* projection << 40 | row */
    long src_lo, tgt_lo;
    int port, wkind, dkind;
    real wa, wb, wlo, whi, da, db, dlo, dhi, dt;
    int P, dmin, ND;
    int pfirst, pend; /* the partitions this process stores (all but over MPI ranks) */
    long Ns;
    /* The first uniforms of delays and weights come two to a Philox block
     * (synapses 2i and 2i + 1 of a row share block i): cached here. */
    uint dkey, wkey;
    real2 du, wu;
    /* The count pass keeps each synapse's delay (in steps from dmin) for
     * the fill pass, where the rule numbers its synapses (slot): one draw
     * fewer per synapse. cache == 0 when the projection is not cached. */
    __global uchar *cache;
    int cache_wide; /* 2-byte entries (more than 256 delays) */
} tb_conn;

inline real tb_pair_uniform(uint *key, real2 *val, ulong seed, uint stream, ulong step, uint j)
{
    if (*key != j >> 1) {
        *key = j >> 1;
        *val = tb_uniform2(seed, stream, step, j >> 1);
    }
    return (j & 1u) ? val->y : val->x;
}

inline int tb_partition_of(__global const long *part, int P, long n)
{
    int lo = 0, hi = P;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (part[mid] <= n)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* One synapse (source s, target t, indices within their groups; j its
 * draw index in the row). A weight or delay of a file is given (have = 1).
 * Delays are rounded half up to steps, at least one. */
inline void tb_emit(tb_conn *c, long s, long t, uint j, ulong slot, int have, float wgiven, int dgiven,
                    __global uint *counts, __global int *range, __global const long *part,
                    __global const int *pbank, __global const ulong *pbase, TB_WBANK_ARGS)
{
    long d;
    if (have) {
        d = dgiven;
    } else if (c->cache && c->mode == 1) {
        d = c->dmin + (c->cache_wide ? (long)((__global ushort *)c->cache)[slot] : (long)c->cache[slot]);
    } else {
        const uint st = TB_RNG_CONNECT | TB_PURPOSE_DELAY;
        const real u = c->dkind == TB_DIST_CONST ? (real)0 : tb_pair_uniform(&c->dkey, &c->du, c->seed, st, c->step, j);
        const real dms = tb_draw_from(c->dkind, c->da, c->db, c->dlo, c->dhi, u, c->seed, st, c->step, j);
        const real q = floor(dms / c->dt + (real)0.5);
        /* saturated, never converted out of range (undefined in OpenCL C):
         * a delay beyond 32 bits widens the range to INT_MAX, which the
         * host refuses with the projection named */
        d = q < (real)1 ? 1 : q < (real)0x7fffffff ? (long)q : 0x7fffffffL;
    }
    d = d < 1 ? 1 : d;
    if (d < c->dmin || d >= c->dmin + c->ND) {
        /* outside the range the host guessed: it widens it and starts over */
        const int di = d > 0x7fffffffL ? 0x7fffffff : (int)d;
        atomic_min(&range[0], di);
        atomic_max(&range[1], di);
        return;
    }
    if (c->cache && c->mode == 0) {
        if (c->cache_wide)
            ((__global ushort *)c->cache)[slot] = (ushort)(d - c->dmin);
        else
            c->cache[slot] = (uchar)(d - c->dmin);
    }
    const long gt = c->tgt_lo + t;
    const int p = tb_partition_of(part, c->P, gt);
    if (c->mode == 1 && (p < c->pfirst || p >= c->pend))
        return; /* another rank's target: drawn and counted alike, stored there */
    const ulong b = (ulong)p * (ulong)(c->Ns * c->ND + 1) + (ulong)(c->src_lo + s) * (ulong)c->ND + (ulong)(d - c->dmin);
    if (c->mode == 0) {
        if (c->shared)
            atomic_inc(&counts[b]);
        else
            counts[b] += 1;
        return;
    }
    float w = wgiven;
    if (!have) {
        const uint st = TB_RNG_CONNECT | TB_PURPOSE_WEIGHT;
        const real u = c->wkind == TB_DIST_CONST ? (real)0 : tb_pair_uniform(&c->wkey, &c->wu, c->seed, st, c->step, j);
        w = (float)tb_draw_from(c->wkind, c->wa, c->wb, c->wlo, c->whi, u, c->seed, st, c->step, j);
    }
    const uint pos = c->shared ? atomic_inc(&counts[b]) : counts[b]++;
    __global uint2 *bank = TB_WBANK_SELECT(pbank[p]) + pbase[p];
    /* the target's place in the input array after the partition's first
     * neuron: port x neurons (part[P]) + target - first (the host keeps it
     * within 32 bits) */
    bank[pos] = (uint2)((uint)((ulong)c->port * (ulong)part[c->P] + (ulong)(gt - part[p])), as_uint(w));
}

#define TB_EMIT(s, t, j, slot) \
    tb_emit(&c, (s), (t), (j), (slot), 0, 0.0f, 0, counts, range, part, pbank, pbase, TB_WBANKS)
#define TB_WBANKS tb_bank0, tb_bank1, tb_bank2, tb_bank3, tb_bank4, tb_bank5, tb_bank6, tb_bank7

inline uint tb_word(ulong seed, uint stream, ulong step, uint k)
{
    const uint4 r = tb_rng_bits(seed, stream, step, k >> 2);
    const uint q = k & 3u;
    return q == 0 ? r.s0 : q == 1 ? r.s1 : q == 2 ? r.s2 : r.s3;
}

/* fixed_total_number: how many of the projection's n synapses leave each
 * source (a histogram of n uniform draws: multinomial counts). Work-item g
 * of G draws the blocks g, g + G, ... and counts into its own row of
 * `scratch` (no atomics: they would make two cores fight over the same
 * cache lines); tb_source_sum adds the rows. */
__kernel void tb_source_counts(__global const long *restrict idesc, ulong seed, __global uint *restrict scratch, int G)
{
    const int g = get_global_id(0);
    if (g >= G)
        return;
    const long n = idesc[I_N], ns = idesc[I_NS];
    __global uint *h = scratch + (long)g * ns;
    for (long r = g; r * TB_BLOCK < n; r += G) {
        const ulong step = ((ulong)idesc[I_PROJ] << 40) | (ulong)r;
        const long k0 = r * TB_BLOCK, k1 = min(n, (r + 1) * TB_BLOCK);
        for (long k = k0; k < k1; k += 4) {
            const uint4 w = tb_rng_bits(seed, TB_RNG_CONNECT | TB_PURPOSE_SOURCE, step, (uint)(k - k0) >> 2);
            const uint word[4] = {w.s0, w.s1, w.s2, w.s3};
            for (long q = 0; q < 4 && k + q < k1; ++q)
                h[tb_below(word[q], (uint)ns)] += 1;
        }
    }
}

__kernel void tb_source_sum(__global const long *restrict idesc, __global const uint *restrict scratch, int G,
                            __global uint *restrict rowcnt, long rowoff)
{
    const long s = get_global_id(0), ns = idesc[I_NS];
    if (s >= ns)
        return;
    uint sum = 0;
    for (int g = 0; g < G; ++g)
        sum += scratch[(long)g * ns + s];
    rowcnt[rowoff + s] = sum;
}

/* The other end of K synapses of row r, drawn from M candidates (the
 * row's own index skipped when excl): with multapses each independently,
 * without them K distinct ones in order (Knuth's selection sampling). */
#define TB_DRAW_OTHER_END(EMIT)                                                                             \
    do {                                                                                                    \
        if (idesc[I_MULTAPSES]) {                                                                           \
            for (long k = 0; k < K; ++k) {                                                                  \
                long o = tb_below(tb_word(seed, TB_RNG_CONNECT | TB_PURPOSE_INDEX, c.step, (uint)k), (uint)M); \
                if (excl && o >= r)                                                                         \
                    ++o;                                                                                    \
                EMIT(o, (uint)k, (ulong)r * (ulong)K + (ulong)k);                                          \
            }                                                                                               \
        } else {                                                                                            \
            long need = K;                                                                                  \
            for (long m = 0; m < M && need > 0; ++m) {                                                      \
                const real u = tb_uniform2(seed, TB_RNG_CONNECT | TB_PURPOSE_UNIFORM, c.step, (uint)m).x;  \
                if (u * (real)(M - m) >= (real)need)                                                        \
                    continue;                                                                               \
                --need;                                                                                     \
                EMIT(excl && m >= r ? m + 1 : m, (uint)m, (ulong)r * (ulong)K + (ulong)(K - need - 1));    \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

/* The connectome rule's row r (a target neuron): its region j by
 * bisection of the regions' first neurons, then for each edge i -> j its
 * count of sources, uniform in region i, with the edge's delay; draw j
 * counts the row's synapses. rows = [edge pointers | first targets |
 * first sources] (R + 1 each), pairs = (source region, count) per edge. */
inline void tb_connectome_row(tb_conn *c, long r, long R, __global const uint *rows, __global const uint *pairs,
                              __global const int *delays, __global uint *counts, __global int *range,
                              __global const long *part, __global const int *pbank, __global const ulong *pbase,
                              TB_WBANK_ARGS)
{
    __global const uint *tstart = rows + R + 1, *sstart = rows + 2 * R + 2;
    long lo = 0, hi = R;
    while (hi - lo > 1) {
        const long mid = (lo + hi) / 2;
        if ((long)tstart[mid] <= r)
            lo = mid;
        else
            hi = mid;
    }
    uint j = 0;
    for (uint e = rows[lo]; e < rows[lo + 1]; ++e) {
        const uint i = pairs[2 * e], m = pairs[2 * e + 1];
        const uint a = sstart[i], ni = sstart[i + 1] - a;
        for (uint q = 0; q < m; ++q, ++j) {
            const long s = (long)a + (long)tb_below(tb_word(c->seed, TB_RNG_CONNECT | TB_PURPOSE_INDEX, c->step, j), ni);
            float w = 0.0f;
            if (c->mode == 1) {
                const uint st = TB_RNG_CONNECT | TB_PURPOSE_WEIGHT;
                const real u = c->wkind == TB_DIST_CONST ? (real)0 : tb_pair_uniform(&c->wkey, &c->wu, c->seed, st, c->step, j);
                w = (float)tb_draw_from(c->wkind, c->wa, c->wb, c->wlo, c->whi, u, c->seed, st, c->step, j);
            }
            tb_emit(c, s, r, j, 0ul, 1, w, delays[e], counts, range, part, pbank, pbase, TB_WBANKS);
        }
    }
}

#define TB_EMIT_OUT(t, j, slot) TB_EMIT(r, (t), (j), (slot))
#define TB_EMIT_IN(s, j, slot) TB_EMIT((s), r, (j), (slot))

__kernel void tb_connect(__global const long *restrict idesc, __global const real *restrict rdesc, int mode, long row0,
                         __global uint *restrict counts, __global int *restrict range, __global const long *restrict part, int P, long Ns,
                         int dmin, int ND, __global const int *restrict pbank, __global const ulong *restrict pbase, ulong seed,
                         __global const uint *restrict rowcnt, long rowoff, __global const ulong *restrict rowstart,
                         __global uchar *restrict cache, ulong cache_base, int cache_wide,
                         __global const uint *restrict fptr, __global const uint *restrict ftgt,
                         __global const float *restrict fw, __global const int *restrict fd, TB_WBANK_ARGS,
                         int pfirst, int pend)
{
    const long r = row0 + get_global_id(0);
    if (r >= idesc[I_ROWS])
        return;
    tb_conn c;
    c.mode = mode;
    c.seed = seed;
    c.step = ((ulong)idesc[I_PROJ] << 40) | (ulong)r;
    c.src_lo = idesc[I_SRC_LO];
    c.tgt_lo = idesc[I_TGT_LO];
    c.port = (int)idesc[I_PORT];
    c.wkind = (int)idesc[I_WKIND];
    c.dkind = (int)idesc[I_DKIND];
    c.wa = rdesc[R_WA], c.wb = rdesc[R_WB], c.wlo = rdesc[R_WLO], c.whi = rdesc[R_WHI];
    c.da = rdesc[R_DA], c.db = rdesc[R_DB], c.dlo = rdesc[R_DLO], c.dhi = rdesc[R_DHI];
    c.dt = rdesc[R_DT];
    c.P = P, c.dmin = dmin, c.ND = ND, c.Ns = Ns;
    c.pfirst = pfirst, c.pend = pend;
    c.dkey = c.wkey = 0xffffffffu;
    c.cache_wide = cache_wide;
    c.cache = cache_base == 0xfffffffffffffffful ? 0 : cache + cache_base * (cache_wide ? 2 : 1);
    const int rule = (int)idesc[I_RULE];
    c.shared = rule == TB_RULE_FIXED_INDEGREE || rule == TB_RULE_CONNECTOME;
    const long ns = idesc[I_NS], nt = idesc[I_NT], K = idesc[I_N];
    /* a neuron may not meet itself when the rule excludes autapses */
    const int excl = !idesc[I_AUTAPSES] && idesc[I_SAME];
    if (rule == TB_RULE_ALL_TO_ALL) {
        for (long t = 0; t < nt; ++t)
            if (!(excl && t == r))
                TB_EMIT(r, t, (uint)t, (ulong)r * (ulong)nt + (ulong)t);
    } else if (rule == TB_RULE_ONE_TO_ONE) {
        TB_EMIT(r, r, 0u, (ulong)r);
    } else if (rule == TB_RULE_PAIRWISE_BERNOULLI) {
        const real p = rdesc[R_P];
        if (p >= (real)1) {
            for (long t = 0; t < nt; ++t)
                if (!(excl && t == r))
                    TB_EMIT(r, t, (uint)t, 0ul);
        } else if (p > (real)0) {
            /* geometric gaps between chosen targets: one uniform per synapse */
            const real lq = log1p(-p);
            long t = -1;
            for (uint j = 0;; ++j) {
                const real gap = floor(log(tb_uniform2(seed, TB_RNG_CONNECT | TB_PURPOSE_UNIFORM, c.step, j).x) / lq);
                if (gap >= (real)(nt - t))
                    break;
                t += 1 + (long)gap;
                if (t >= nt)
                    break;
                if (!(excl && t == r))
                    TB_EMIT(r, t, (uint)t, 0ul);
            }
        }
    } else if (rule == TB_RULE_FIXED_OUTDEGREE) {
        const long M = nt - (excl ? 1 : 0);
        TB_DRAW_OTHER_END(TB_EMIT_OUT);
    } else if (rule == TB_RULE_FIXED_INDEGREE) {
        const long M = ns - (excl ? 1 : 0);
        TB_DRAW_OTHER_END(TB_EMIT_IN);
    } else if (rule == TB_RULE_FIXED_TOTAL_NUMBER) {
        const uint m = rowcnt[rowoff + r];
        const long M = nt - (excl ? 1 : 0);
        uint4 w4 = (uint4)(0);
        for (uint j = 0; j < m; ++j) {
            if ((j & 3u) == 0)
                w4 = tb_rng_bits(seed, TB_RNG_CONNECT | TB_PURPOSE_INDEX, c.step, j >> 2);
            const uint q = j & 3u;
            long t = tb_below(q == 0 ? w4.s0 : q == 1 ? w4.s1 : q == 2 ? w4.s2 : w4.s3, (uint)M);
            if (excl && t >= r)
                ++t;
            TB_EMIT(r, t, j, (ulong)rowstart[rowoff + r] + j);
        }
    } else if (rule == TB_RULE_FROM_FILE) {
        for (uint k = fptr[r]; k < fptr[r + 1]; ++k)
            tb_emit(&c, r, ftgt[k], k - fptr[r], 0ul, 1, fw[k], fd[k], counts, range, part, pbank, pbase, TB_WBANKS);
    } else if (rule == TB_RULE_CONNECTOME) {
        tb_connectome_row(&c, r, K, fptr, ftgt, fd, counts, range, part, pbank, pbase, TB_WBANKS);
    }
}

inline ulong tb_key(uint2 x)
{
    return ((ulong)x.x << 32) | (ulong)x.y;
}

inline void tb_sift(__global uint2 *a, long root, long n)
{
    for (;;) {
        long child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && tb_key(a[child + 1]) > tb_key(a[child]))
            ++child;
        if (tb_key(a[root]) >= tb_key(a[child]))
            return;
        const uint2 t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

/* Each bucket sorted by (port, target, weight bits), i.e. by the synapse
 * words (port x neurons + target, weight bits): insertion sort for the
 * usual few entries, heapsort for large ones. */
__kernel void tb_sort_buckets(__global const uint *boff, long nb, int P, ulong first, __global const int *pbank,
                              __global const ulong *pbase, TB_WBANK_ARGS)
{
    const ulong g = first + get_global_id(0);
    if (g >= (ulong)P * (ulong)nb)
        return;
    const int p = (int)(g / (ulong)nb);
    const ulong b = (ulong)p * (ulong)(nb + 1) + g % (ulong)nb;
    const uint a = boff[b], e = boff[b + 1];
    const long n = (long)e - (long)a;
    if (n < 2)
        return;
    __global uint2 *x = TB_WBANK_SELECT(pbank[p]) + pbase[p] + a;
    if (n <= 32) {
        for (long i = 1; i < n; ++i) {
            const uint2 v = x[i];
            const ulong kv = tb_key(v);
            long j = i - 1;
            while (j >= 0 && tb_key(x[j]) > kv) {
                x[j + 1] = x[j];
                --j;
            }
            x[j + 1] = v;
        }
        return;
    }
    for (long i = n / 2 - 1; i >= 0; --i)
        tb_sift(x, i, n);
    for (long end = n - 1; end > 0; --end) {
        const uint2 t = x[0];
        x[0] = x[end];
        x[end] = t;
        tb_sift(x, 0, end);
    }
}
