/* The neural-mass kit's step loop.
 *
 * Expects, from the code the core generates for a scenario:
 *   TB_NV, TB_NC, TB_METHOD          state variables, coupling channels, integrator
 *   TB_LANES, TB_INSTANCE_MAJOR      the decomposition (below)
 *   tb_scalar                        float or double; `real` is tb_scalar, or a
 *                                    vector of TB_LANES of them
 *   TB_LD(p), TB_ST(v, p)            load/store a `real` from tb_scalar memory
 *   tb_params, tb_load_params()      parameter values of one region
 *   tb_dfun()                        the model's derivative
 *   tb_hist_values(), tb_pre(), tb_post_all()   the coupling function
 *   tb_clamp()                       the variables' bounds
 *   TB_NOISE, tb_noise_g()           the noise kind and its amplitude g(x)
 *                                    (then kernels/rng.cl precedes the glue)
 *   TB_N_STIM, tb_stimulus()         time-varying inputs added to derivatives
 *   TB_MONITOR_ARGS, TB_MONITOR_PASS, tb_monitors()   the monitors
 *
 * Three decompositions, chosen by the host:
 *   region-parallel (default): one work-group runs one instance for a whole
 *     chunk of steps, its work-items sharing the regions, a barrier between
 *     steps; state [NV][B][N], history ring [B][H][NC][N]: each instance's
 *     ring is one block, which stays in a core's cache. With TB_SPLIT > 1
 *     an instance's regions are shared by that many work-groups (so a
 *     single run uses every core), without barriers: the host launches
 *     no more steps at once than the shortest delay allows.
 *   instance lanes (TB_LANES > 1, CPUs with sweeps): one work-item runs
 *     TB_LANES instances at once as the lanes of vector types, so the
 *     model's arithmetic, its exp and sin, and the gathers from the history
 *     are SIMD instructions; instances are blocked by lanes:
 *     state [B/L][NV][N][L], history [B/L][H][NC][N][L].
 *   region lanes (TB_LANES > 1 and TB_REGION_LANES, CPUs with few
 *     instances): as region-parallel, but a work-item runs 8 consecutive
 *     regions as the lanes of vector types; the connectivity is then CSR
 *     rows whose edges are ring offsets (`col`: source - delay x TB_NC x
 *     N; `delay` unused), summed 8 edges at a time (tb_coupling); N
 *     counts regions padded to lanes,
 *     Nout the connectome's regions, the count the model and the coupling
 *     see as n_regions (Kuramoto's 1/N) in every decomposition.
 *   instance-parallel (TB_INSTANCE_MAJOR, GPUs with sweeps): one work-item
 *     per instance, instances innermost in memory (state [NV][N][B],
 *     history [H][NC][N][B]), so the threads of a warp read neighbouring
 *     memory and follow the same edges and delays in lockstep.
 * In every case a chunk is one launch (with TB_SPLIT > 1, one launch per
 * shortest delay + 1 steps at most: the host's per_launch) and instances
 * never wait for each other; b is the first instance a work-item handles. Connectivity is CSR
 * rows per target region, or with TB_DENSE every pair (zero weights
 * included) without source indices, for dense connectomes. */

#if TB_LANES > 1 && TB_REGION_LANES
#define TB_IX(v, b, n) (((long)(v) * B + (b)) * N + (n))
#define TB_HX(slot, k, b, j) ((((long)(b) * H + (slot)) * TB_NC + (k)) * N + (j))
#define TB_REGION_OF(n) ((n) + (int8)(0, 1, 2, 3, 4, 5, 6, 7))
#elif TB_LANES > 1
#define TB_BLK(b) ((long)(b) / TB_LANES)
#define TB_IX(v, b, n) (((TB_BLK(b) * TB_NV + (v)) * N + (n)) * TB_LANES)
#define TB_HX(slot, k, b, j) ((((TB_BLK(b) * H + (slot)) * TB_NC + (k)) * N + (j)) * TB_LANES)
#elif TB_INSTANCE_MAJOR
#define TB_IX(v, b, n) (((long)(v) * N + (n)) * B + (b))
#define TB_HX(slot, k, b, j) ((((long)(slot) * TB_NC + (k)) * N + (j)) * B + (b))
#else
#define TB_IX(v, b, n) (((long)(v) * B + (b)) * N + (n))
#define TB_HX(slot, k, b, j) ((((long)(b) * H + (slot)) * TB_NC + (k)) * N + (j))
#endif

#ifndef TB_REGION_OF
#define TB_REGION_OF(n) (n)
#endif

#define TB_EULER 0
#define TB_HEUN 1
#define TB_RK4 2

#define TB_NOISE_NONE 0
#define TB_NOISE_ADDITIVE 1
#define TB_NOISE_MULTIPLICATIVE 2
#define TB_NOISE_OU 3
#define TB_WHITE_NOISE (TB_NOISE == TB_NOISE_ADDITIVE || TB_NOISE == TB_NOISE_MULTIPLICATIVE)
#define TB_FORCING (TB_NOISE == TB_NOISE_OU || TB_N_STIM > 0)

inline long tb_slot(long t, int H)
{
    long s = t % H;
    return s < 0 ? s + H : s;
}

/* Regions lesioned per instance (a sweep of lesions, core/mass/mass_perturb.c):
 * the glue defines these to weigh each edge by its source's and the sum by
 * its target's 0 or 1, in one-instance-per-work-item layouts only. */
#ifndef TB_ALIVE_PARAM
#define TB_ALIVE_PARAM
#define TB_ALIVE_ARG
#define TB_ALIVE_SRC(j)
#endif

/* c_i = post(sum_j w_ij pre(h_j(t - d_ij), x_i)), coupling held for the step;
 * N strides the memory, n_regions (the true count) is what post sees. */
inline void tb_coupling(const tb_params *p, __global const tb_scalar *hist, __global const int *row_ptr,
                        __global const int *col, __global const tb_scalar *weight, __global const int *delay,
                        const real *xi, real *c, long t, int H, int b, int B, int N, int n,
                        int n_regions TB_ALIVE_PARAM)
{
    real sum[TB_NC];
    for (int k = 0; k < TB_NC; ++k)
        sum[k] = (real)0;
    /* delays are below H, so one conditional add replaces a division per edge */
    const int now = (int)tb_slot(t, H);
#if TB_LANES > 1 && TB_REGION_LANES
    /* The block's 8 rows one after another, each summed over its edges 8
     * at a time (one gather, one vector of weights), in TB_LANES partial
     * sums added pairwise at the end. An edge is one int, its offset in the
     * ring from the slot of `now` (source - delay x TB_NC x N): no division,
     * no index arithmetic beyond one add and a wrap. Rows are padded with
     * weightless edges (offset: the row's own region, now) to whole
     * vectors; a row's edges are sorted by delay, then source, so the
     * reads walk the ring in order. */
    const int ring = H * TB_NC * N, at = now * TB_NC * N;
    __global const tb_scalar *hb = hist + TB_HX(0, 0, b, 0);
    tb_scalar s[TB_NC][TB_LANES];
    for (int l = 0; l < TB_LANES; ++l) {
        real acc[TB_NC];
        for (int k = 0; k < TB_NC; ++k)
            acc[k] = (real)0;
        for (int e = row_ptr[n + l]; e < row_ptr[n + l + 1]; e += TB_LANES) {
            int8 ix = (int8)at + vload8(0, col + e);
            ix += select((int8)0, (int8)ring, ix < 0);
            const real w = TB_LD(weight + e);
            for (int k = 0; k < TB_NC; ++k) {
                __global const tb_scalar *hk = hb + (long)k * N;
                const real h = (real)(hk[ix.s0], hk[ix.s1], hk[ix.s2], hk[ix.s3], hk[ix.s4], hk[ix.s5], hk[ix.s6],
                                      hk[ix.s7]);
                acc[k] += w * tb_pre_row(p, h, xi[k], l);
            }
        }
        for (int k = 0; k < TB_NC; ++k) {
            const real a = acc[k];
            const tb_scalar4 q = a.lo + a.hi;
            const tb_scalar2 r = q.lo + q.hi;
            s[k][l] = r.lo + r.hi;
        }
    }
    for (int k = 0; k < TB_NC; ++k)
        sum[k] = TB_LD(s[k]);
#else
    const int end = row_ptr[n + 1];
    const int e0 = row_ptr[n];
    int e = e0;
#if TB_LANES > 1
    /* instance lanes: 8 edges' addresses at a time in vector arithmetic,
     * summed in the same order as one at a time */
    __global const tb_scalar *hb = hist + TB_HX(0, 0, b, 0);
    for (; e + 8 <= end; e += 8) {
        int8 slot = (int8)now - vload8(0, delay + e);
        slot += select((int8)0, (int8)H, slot < 0);
        const int8 j = TB_DENSE ? (int8)(e - e0) + (int8)(0, 1, 2, 3, 4, 5, 6, 7) : vload8(0, col + e);
        const long8 ix = (convert_long8(slot) * ((long)TB_NC * N) + convert_long8(j)) * TB_LANES;
#define TB_EDGE(c, i)                                                                                              \
    for (int k = 0; k < TB_NC; ++k)                                                                                \
        sum[k] += weight[e + i] * tb_pre(p, TB_LD(hb + ix.c + (long)k * N * TB_LANES), xi[k]);
        TB_EDGE(s0, 0) TB_EDGE(s1, 1) TB_EDGE(s2, 2) TB_EDGE(s3, 3)
        TB_EDGE(s4, 4) TB_EDGE(s5, 5) TB_EDGE(s6, 6) TB_EDGE(s7, 7)
#undef TB_EDGE
    }
#endif
    for (; e < end; ++e) {
        /* dense storage: a row is every source in order, no index to read */
        const int j = TB_DENSE ? e - e0 : col[e];
        const tb_scalar w = weight[e] TB_ALIVE_SRC(j);
        int slot = now - delay[e];
        slot += slot < 0 ? H : 0;
        for (int k = 0; k < TB_NC; ++k)
            sum[k] += w * tb_pre(p, TB_LD(hist + TB_HX(slot, k, b, j)), xi[k]);
    }
#endif
#ifdef TB_ALIVE_ROW
    for (int k = 0; k < TB_NC; ++k)
        sum[k] *= TB_ALIVE_ROW;
#endif
    tb_post_all(p, sum, xi, c, n_regions);
}

inline void tb_axpy(real *out, const real *x, tb_scalar a, const real *k)
{
    for (int v = 0; v < TB_NV; ++v)
        out[v] = x[v] + a * k[v];
}

/* The derivative plus a forcing held over the step (stimuli and the
 * Ornstein-Uhlenbeck input; none without either). */
inline void tb_f(const tb_params *p, const real *x, real *k, const real *c, const real *force, tb_scalar t, int n,
                 int n_regions)
{
    tb_dfun(p, x, k, c, t, TB_REGION_OF(n), n_regions);
#if TB_FORCING
    for (int v = 0; v < TB_NV; ++v)
        k[v] += force[v];
#endif
}

/* One step of the chosen method; the coupling c stays fixed within the
 * step (TVB's convention), the bounds are applied to every stage. With
 * white noise, dw holds this step's Wiener increments: Euler becomes
 * Euler-Maruyama (Ito) and Heun the stochastic Heun scheme, the same
 * increment in predictor and corrector (Stratonovich for multiplicative
 * noise), as TVB does. `force` (stimuli, coloured noise) is held over the
 * step. */
inline void tb_integrate(const tb_params *p, const real *x, const real *c, real *xn, tb_scalar t, tb_scalar dt,
                         int n, int n_regions, const real *dw, const real *force)
{
    real k1[TB_NV];
    tb_f(p, x, k1, c, force, t, n, n_regions);
#if TB_WHITE_NOISE
    real g1[TB_NV];
    tb_noise_g(p, x, g1);
#endif
#if TB_METHOD == TB_EULER
    tb_axpy(xn, x, dt, k1);
#if TB_WHITE_NOISE
    for (int v = 0; v < TB_NV; ++v)
        xn[v] += g1[v] * dw[v];
#endif
#elif TB_METHOD == TB_HEUN
    real xt[TB_NV], k2[TB_NV];
    tb_axpy(xt, x, dt, k1);
#if TB_WHITE_NOISE
    for (int v = 0; v < TB_NV; ++v)
        xt[v] += g1[v] * dw[v];
#endif
    tb_clamp(xt);
    tb_f(p, xt, k2, c, force, t + dt, n, n_regions);
    for (int v = 0; v < TB_NV; ++v)
        xn[v] = x[v] + (tb_scalar)0.5 * dt * (k1[v] + k2[v]);
#if TB_WHITE_NOISE
    real g2[TB_NV];
    tb_noise_g(p, xt, g2);
    for (int v = 0; v < TB_NV; ++v)
        xn[v] += (tb_scalar)0.5 * (g1[v] + g2[v]) * dw[v];
#endif
#elif TB_METHOD == TB_RK4
    real xt[TB_NV], k2[TB_NV], k3[TB_NV], k4[TB_NV];
    const tb_scalar h2 = (tb_scalar)0.5 * dt;
    tb_axpy(xt, x, h2, k1);
    tb_clamp(xt);
    tb_f(p, xt, k2, c, force, t + h2, n, n_regions);
    tb_axpy(xt, x, h2, k2);
    tb_clamp(xt);
    tb_f(p, xt, k3, c, force, t + h2, n, n_regions);
    tb_axpy(xt, x, dt, k3);
    tb_clamp(xt);
    tb_f(p, xt, k4, c, force, t + dt, n, n_regions);
    for (int v = 0; v < TB_NV; ++v)
        xn[v] = x[v] + dt / (tb_scalar)6 * (k1[v] + (tb_scalar)2 * k2[v] + (tb_scalar)2 * k3[v] + k4[v]);
#else
#error "unknown TB_METHOD"
#endif
    tb_clamp(xn);
}

#if TB_NOISE != TB_NOISE_NONE
#if TB_LANES > 1 && TB_REGION_LANES
/* kernels/rng.cl's Philox4x32-10 on 8 counters at once (the same words as
 * tb_rng_bits for each lane), so that the lanes' draws are vector
 * instructions rather than 8 scalar blocks. */
inline void tb_philox8(uint8 *c0, uint8 *c1, uint8 *c2, uint8 *c3, uint k0, uint k1)
{
    for (int r = 0; r < 10; ++r) {
        if (r > 0)
            k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
        const uint8 hi0 = mul_hi((uint8)0xD2511F53u, *c0), lo0 = (uint8)0xD2511F53u * *c0;
        const uint8 hi1 = mul_hi((uint8)0xCD9E8D57u, *c2), lo1 = (uint8)0xCD9E8D57u * *c2;
        *c0 = hi1 ^ *c1 ^ (uint8)k0;
        *c1 = lo1;
        *c2 = hi0 ^ *c3 ^ (uint8)k1;
        *c3 = lo0;
    }
}
#endif

/* Standard normals for (step, region, variable), independent of the
 * instance's place in the batch: each instance's own seed keys them (with
 * lanes, each lane draws with its instance's seed). */
inline void tb_normals(__global const ulong *seeds, int b, long t, int n, real *z)
{
#if TB_LANES > 1 && TB_REGION_LANES
    /* tb_normal2 for the 8 regions as lanes: uniforms as tb_u01_* make
     * them, then Box-Muller */
    const ulong seed = seeds[b];
    for (int v = 0; v < TB_NV; v += 2) {
        uint8 c0 = ((uint8)n + (uint8)(0, 1, 2, 3, 4, 5, 6, 7)) * (uint)TB_NV + (uint)v;
        uint8 c1 = (uint8)TB_RNG_NOISE, c2 = (uint8)(uint)t, c3 = (uint8)(uint)((ulong)t >> 32);
        tb_philox8(&c0, &c1, &c2, &c3, (uint)seed, (uint)(seed >> 32));
#ifdef TB_DOUBLE
        const real u0 = (convert_double8((convert_ulong8(c0) << 21) ^ convert_ulong8(c1 >> 11)) + 0.5) * 0x1.0p-53;
        const real u1 = (convert_double8((convert_ulong8(c2) << 21) ^ convert_ulong8(c3 >> 11)) + 0.5) * 0x1.0p-53;
#else
        const real u0 = (convert_float8(c0 >> 8) + 0.5f) * 0x1.0p-24f;
        const real u1 = (convert_float8(c1 >> 8) + 0.5f) * 0x1.0p-24f;
#endif
        const real rad = sqrt((tb_scalar)-2 * log(u0));
        const real ang = (tb_scalar)6.283185307179586476925286766559 * u1;
        z[v] = rad * cos(ang);
        if (v + 1 < TB_NV)
            z[v + 1] = rad * sin(ang);
    }
#elif TB_LANES > 1
    tb_scalar zs[TB_NV + 1][TB_LANES];
    for (int l = 0; l < TB_LANES; ++l)
        for (int v = 0; v < TB_NV; v += 2) {
            real2 r = tb_normal2(seeds[b + l], TB_RNG_NOISE, (ulong)t, (uint)(n * TB_NV + v));
            zs[v][l] = r.x;
            zs[v + 1][l] = r.y;
        }
    for (int v = 0; v < TB_NV; ++v)
        z[v] = TB_LD(zs[v]);
#else
    for (int v = 0; v < TB_NV; v += 2) {
        real2 r = tb_normal2(seeds[b], TB_RNG_NOISE, (ulong)t, (uint)(n * TB_NV + v));
        z[v] = r.x;
        if (v + 1 < TB_NV)
            z[v + 1] = r.y;
    }
#endif
}
#endif

/* This step's noise input: Wiener increments dw, or the OU forcing (whose
 * next value is written back: eta' = eta e^(-dt/tau) + g sqrt((1 - e^(-2dt/tau)) / (2 tau)) z,
 * the exact update of an OU process with intensity D = g^2 / 2). */
inline void tb_noise_step(const tb_params *p, __global tb_scalar *ou, __global const ulong *seeds, long t,
                          tb_scalar dt, int b, int B, int N, int n, real *dw, real *force)
{
    for (int v = 0; v < TB_NV; ++v)
        dw[v] = force[v] = (real)0;
#if TB_NOISE != TB_NOISE_NONE
    real z[TB_NV];
    tb_normals(seeds, b, t, n, z);
#if TB_WHITE_NOISE
    const tb_scalar sq = sqrt(dt);
    for (int v = 0; v < TB_NV; ++v)
        dw[v] = sq * z[v];
#else
    real g[TB_NV];
    tb_noise_g(p, (const real *)0, g);
    const real e = exp(-dt / p->tb_ou_tau);
    const real s = sqrt(((real)1 - e * e) / ((real)2 * p->tb_ou_tau));
    for (int v = 0; v < TB_NV; ++v) {
        __global tb_scalar *o = ou + TB_IX(v, b, n);
        const real now = TB_LD(o);
        force[v] = now;
        TB_ST(now * e + g[v] * s * z[v], o);
    }
#endif
#endif
}

inline void tb_load_state(__global const tb_scalar *state, real *x, int b, int B, int N, int n)
{
    for (int v = 0; v < TB_NV; ++v)
        x[v] = TB_LD(state + TB_IX(v, b, n));
}

/* Which instances and regions this work-item handles. */
#if TB_LANES > 1 && TB_REGION_LANES
/* TB_SPLIT work-groups share an instance's blocks of 8 regions */
#define TB_WORK_ITEM                                                                                           \
    const int b = get_group_id(0) / TB_SPLIT;                                                                  \
    const int n0 = ((get_group_id(0) % TB_SPLIT) * get_local_size(0) + get_local_id(0)) * TB_LANES;            \
    const int nstep = TB_SPLIT * get_local_size(0) * TB_LANES;
#elif TB_LANES > 1
#define TB_WORK_ITEM                                                                                           \
    const int b = (int)get_global_id(0) * TB_LANES, n0 = 0, nstep = 1;                                         \
    if (b >= B)                                                                                                \
        return;
#elif TB_INSTANCE_MAJOR
#define TB_WORK_ITEM                                                                                           \
    const int b = get_global_id(0), n0 = 0, nstep = 1;                                                         \
    if (b >= B) /* padding of the last work-group */                                                           \
        return;
#elif TB_SPLIT > 1
/* an instance's regions over TB_SPLIT work-groups; the launch boundary
 * orders the steps, a launch no more than the shortest delay + 1 */
#define TB_WORK_ITEM                                                                                           \
    const int b = get_group_id(0) / TB_SPLIT;                                                                  \
    const int n0 = (get_group_id(0) % TB_SPLIT) * get_local_size(0) + get_local_id(0);                         \
    const int nstep = TB_SPLIT * get_local_size(0);
#else
#define TB_WORK_ITEM const int b = get_group_id(0), n0 = get_local_id(0), nstep = get_local_size(0);
#endif

#if TB_HISTORY_RANDOM
/* One uniform in (0, 1) per variable for the state k steps before t = 0,
 * keyed as the host keys the initial values (k = 0): the instance's own
 * seed, stream TB_RNG_INITIAL, step k, element region * TB_NV + variable;
 * with lanes, each lane draws for its own instance or region. */
inline void tb_history_uniforms(__global const ulong *seeds, int b, long k, int n, real *u)
{
#if TB_LANES > 1
    tb_scalar us[TB_NV][TB_LANES];
    for (int l = 0; l < TB_LANES; ++l)
        for (int v = 0; v < TB_NV; ++v)
            us[v][l] = tb_uniform2(seeds[TB_REGION_LANES ? b : b + l], TB_RNG_INITIAL, (ulong)k,
                                   (uint)((n + (TB_REGION_LANES ? l : 0)) * TB_NV + v)).x;
    for (int v = 0; v < TB_NV; ++v)
        u[v] = TB_LD(us[v]);
#else
    for (int v = 0; v < TB_NV; ++v)
        u[v] = tb_uniform2(seeds[b], TB_RNG_INITIAL, (ulong)k, (uint)(n * TB_NV + v)).x;
#endif
}

/* What region n transmits k steps before t = 0: its own draw for the
 * variables drawn at random, the initial value x0 for the others. */
inline void tb_history_at(const tb_params *p, __global const ulong *seeds, int b, long k, int n, const real *x0,
                          real *h)
{
    real u[TB_NV], x[TB_NV];
    tb_history_uniforms(seeds, b, k, n, u);
    tb_history_draw(p, x0, u, x);
    tb_hist_values(p, x, h);
}
#endif

/* Fill the history: slot tb_slot(-k, H) holds the past k steps before
 * t = 0 (k = 0 is the initial state itself). With a constant history
 * (the default) every slot equals the initial condition; with a random
 * one (TB_HISTORY_RANDOM) every past step has its own draw. Coloured noise
 * starts from its stationary distribution (drawn at step 2^64 - 1, which no
 * step reaches). */
__kernel void tb_mass_init_history(__global const tb_scalar *state, __global tb_scalar *hist,
                                   __global const tb_scalar *pscalar, __global const tb_scalar *pregion,
                                   __global const tb_scalar *pinst, __global const tb_scalar *pir,
                                   __global const ulong *seeds,
                                   __global tb_scalar *ou, int H, int B, int N)
{
    TB_WORK_ITEM
    for (int n = n0; n < N; n += nstep) {
        tb_params p;
        tb_load_params(&p, pscalar, pregion, pinst, pir, b, n, B, N);
        real x[TB_NV], h[TB_NC];
        tb_load_state(state, x, b, B, N, n);
        tb_hist_values(&p, x, h);
        for (int s = 0; s < H; ++s) {
#if TB_HISTORY_RANDOM
            if (s > 0)
                tb_history_at(&p, seeds, b, s, n, x, h);
#endif
            const int slot = (int)tb_slot(-s, H);
            for (int k = 0; k < TB_NC; ++k)
                TB_ST(h[k], hist + TB_HX(slot, k, b, n));
        }
#if TB_NOISE == TB_NOISE_OU
        real z[TB_NV], g[TB_NV];
        tb_normals(seeds, b, -1, n, z);
        tb_noise_g(&p, (const real *)0, g);
        for (int v = 0; v < TB_NV; ++v)
            TB_ST(g[v] * sqrt((real)1 / ((real)2 * p.tb_ou_tau)) * z[v], ou + TB_IX(v, b, n));
#endif
    }
}

__kernel void tb_mass_run(__global tb_scalar *state, __global tb_scalar *hist, __global const int *row_ptr,
                          __global const int *col, __global const tb_scalar *weight, __global const int *delay,
                          __global const tb_scalar *pscalar, __global const tb_scalar *pregion,
                          __global const tb_scalar *pinst, __global const tb_scalar *pir,
                          __global const ulong *seeds, __global tb_scalar *ou,
                          __global const tb_scalar *stim_w, __global const tb_scalar *stim_series, int H, int B,
                          int N, int Bout, int Nout, long step0, int nsteps, int first,
                          tb_scalar dt TB_MONITOR_ARGS)
{
    /* B, N: instances and regions on the device (lanes padded); Bout, Nout:
     * the run's own, which is all the user sees: the rows written, and
     * Nout as n_regions for the model and the coupling */
    TB_WORK_ITEM
    /* steps step0 + first .. + nsteps; monitors count samples from step0,
     * the start of the chunk (a chunk may take several launches) */
    for (int s = first; s < first + nsteps; ++s) {
        const long t = step0 + s;
        const tb_scalar tm = (tb_scalar)t * dt;
        for (int n = n0; n < N; n += nstep) {
            tb_params p;
            tb_load_params(&p, pscalar, pregion, pinst, pir, b, n, B, N);
            real x[TB_NV], xn[TB_NV], c[TB_NC], xi[TB_NC], h[TB_NC], dw[TB_NV], force[TB_NV];
            tb_load_state(state, x, b, B, N, n);
            tb_hist_values_raw(x, xi);
            tb_coupling(&p, hist, row_ptr, col, weight, delay, xi, c, t, H, b, B, N, n, Nout TB_ALIVE_ARG);
            tb_noise_step(&p, ou, seeds, t, dt, b, B, N, n, dw, force);
            tb_stimulus(tm, n, N, stim_w, stim_series, force);
            tb_integrate(&p, x, c, xn, tm, dt, n, Nout, dw, force);
            for (int v = 0; v < TB_NV; ++v)
                TB_ST(xn[v], state + TB_IX(v, b, n));
            tb_hist_values(&p, xn, h);
            const long slot = tb_slot(t + 1, H);
            for (int k = 0; k < TB_NC; ++k)
                TB_ST(h[k], hist + TB_HX(slot, k, b, n));
            tb_monitors(TB_MONITOR_PASS xn, t + 1, step0, b, Bout, N, Nout, n, dt);
        }
#if !TB_INSTANCE_MAJOR && (TB_LANES == 1 || TB_REGION_LANES) && TB_SPLIT == 1
        /* the next step reads what every region of this instance wrote */
        barrier(CLK_GLOBAL_MEM_FENCE);
#endif
    }
}
