/* The neural-mass kit's step loop.
 *
 * Expects, from the code the core generates for a scenario:
 *   TB_NV, TB_NC, TB_METHOD          state variables, coupling channels, integrator
 *   tb_params, tb_load_params()      parameter values of one region
 *   tb_dfun()                        the model's derivative
 *   tb_hist_values(), tb_pre(), tb_post()   the coupling function
 *   tb_clamp()                       the variables' bounds
 *   TB_NOISE, tb_noise_g()           the noise kind and its amplitude g(x)
 *                                    (then kernels/rng.cl precedes this file)
 *   TB_N_STIM, tb_stimulus()         time-varying inputs added to derivatives
 *   TB_MONITOR_ARGS, TB_MONITOR_PASS, tb_monitors()   the monitors
 *
 * Two decompositions, chosen by the host (TB_INSTANCE_MAJOR):
 *   region-parallel: one work-group runs one instance for a whole chunk of
 *     steps, its work-items sharing the regions, a barrier between steps;
 *     state [NV][B][N], history ring [H][NC][B][N]. Best for few instances.
 *   instance-parallel: one work-item runs one instance (all its regions);
 *     state [NV][N][B], history [H][NC][N][B], so neighbouring work-items
 *     touch neighbouring memory and every one follows the same edges and
 *     delays: the SIMD lanes of a CPU or the threads of a GPU warp work in
 *     lockstep, without gathers and without barriers. Best for sweeps.
 * Either way a chunk is one launch, and instances never wait for each
 * other. Connectivity is CSR rows per target region. */

#if TB_INSTANCE_MAJOR
#define TB_IX(v, b, n) (((long)(v) * N + (n)) * B + (b))
#define TB_HX(slot, k, b, j) ((((long)(slot) * TB_NC + (k)) * N + (j)) * B + (b))
#else
#define TB_IX(v, b, n) (((long)(v) * B + (b)) * N + (n))
#define TB_HX(slot, k, b, j) ((((long)(slot) * TB_NC + (k)) * B + (b)) * N + (j))
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

/* c_i = post(sum_j w_ij pre(h_j(t - d_ij), x_i)), coupling held for the step. */
inline void tb_coupling(const tb_params *p, __global const real *hist, __global const int *row_ptr,
                        __global const int *col, __global const real *weight, __global const int *delay,
                        const real *xi, real *c, long t, int H, int b, int B, int N, int n)
{
    real sum[TB_NC];
    for (int k = 0; k < TB_NC; ++k)
        sum[k] = (real)0;
    const int end = row_ptr[n + 1];
    /* delays are below H, so one conditional add replaces a division per edge */
    const int now = (int)tb_slot(t, H);
    for (int e = row_ptr[n]; e < end; ++e) {
        const int j = col[e];
        const real w = weight[e];
        int slot = now - delay[e];
        slot += slot < 0 ? H : 0;
        for (int k = 0; k < TB_NC; ++k)
            sum[k] += w * tb_pre(p, hist[TB_HX(slot, k, b, j)], xi[k]);
    }
    for (int k = 0; k < TB_NC; ++k)
        c[k] = tb_post(p, sum[k], N);
}

inline void tb_axpy(real *out, const real *x, real a, const real *k)
{
    for (int v = 0; v < TB_NV; ++v)
        out[v] = x[v] + a * k[v];
}

/* The derivative plus a forcing held over the step (stimuli and the
 * Ornstein-Uhlenbeck input; none without either). */
inline void tb_f(const tb_params *p, const real *x, real *k, const real *c, const real *force, real t, int n,
                 int N)
{
    tb_dfun(p, x, k, c, t, n, N);
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
inline void tb_integrate(const tb_params *p, const real *x, const real *c, real *xn, real t, real dt, int n, int N,
                         const real *dw, const real *force)
{
    real k1[TB_NV];
    tb_f(p, x, k1, c, force, t, n, N);
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
    tb_f(p, xt, k2, c, force, t + dt, n, N);
    for (int v = 0; v < TB_NV; ++v)
        xn[v] = x[v] + (real)0.5 * dt * (k1[v] + k2[v]);
#if TB_WHITE_NOISE
    real g2[TB_NV];
    tb_noise_g(p, xt, g2);
    for (int v = 0; v < TB_NV; ++v)
        xn[v] += (real)0.5 * (g1[v] + g2[v]) * dw[v];
#endif
#elif TB_METHOD == TB_RK4
    real xt[TB_NV], k2[TB_NV], k3[TB_NV], k4[TB_NV];
    const real h2 = (real)0.5 * dt;
    tb_axpy(xt, x, h2, k1);
    tb_clamp(xt);
    tb_f(p, xt, k2, c, force, t + h2, n, N);
    tb_axpy(xt, x, h2, k2);
    tb_clamp(xt);
    tb_f(p, xt, k3, c, force, t + h2, n, N);
    tb_axpy(xt, x, dt, k3);
    tb_clamp(xt);
    tb_f(p, xt, k4, c, force, t + dt, n, N);
    for (int v = 0; v < TB_NV; ++v)
        xn[v] = x[v] + dt / (real)6 * (k1[v] + (real)2 * k2[v] + (real)2 * k3[v] + k4[v]);
#else
#error "unknown TB_METHOD"
#endif
    tb_clamp(xn);
}

#if TB_NOISE != TB_NOISE_NONE
/* Standard normals for (step, region, variable), independent of the
 * instance's place in the batch: the instance's own seed keys them. */
inline void tb_normals(ulong seed, long t, int n, real *z)
{
    for (int v = 0; v < TB_NV; v += 2) {
        real2 r = tb_normal2(seed, TB_RNG_NOISE, (ulong)t, (uint)(n * TB_NV + v));
        z[v] = r.x;
        if (v + 1 < TB_NV)
            z[v + 1] = r.y;
    }
}
#endif

/* This step's noise input: Wiener increments dw, or the OU forcing (whose
 * next value is written back: eta' = eta e^(-dt/tau) + g sqrt((1 - e^(-2dt/tau)) / (2 tau)) z,
 * the exact update of an OU process with intensity D = g^2 / 2). */
inline void tb_noise_step(const tb_params *p, __global real *ou, ulong seed, long t, real dt, int b, int B, int N,
                          int n, real *dw, real *force)
{
    for (int v = 0; v < TB_NV; ++v)
        dw[v] = force[v] = (real)0;
#if TB_NOISE != TB_NOISE_NONE
    real z[TB_NV];
    tb_normals(seed, t, n, z);
#if TB_WHITE_NOISE
    const real sq = sqrt(dt);
    for (int v = 0; v < TB_NV; ++v)
        dw[v] = sq * z[v];
#else
    real g[TB_NV];
    tb_noise_g(p, (const real *)0, g);
    const real e = exp(-dt / p->tb_ou_tau);
    const real s = sqrt(((real)1 - e * e) / ((real)2 * p->tb_ou_tau));
    for (int v = 0; v < TB_NV; ++v) {
        const long i = TB_IX(v, b, n);
        force[v] = ou[i];
        ou[i] = ou[i] * e + g[v] * s * z[v];
    }
#endif
#endif
}

inline void tb_load_state(__global const real *state, real *x, int b, int B, int N, int n)
{
    for (int v = 0; v < TB_NV; ++v)
        x[v] = state[TB_IX(v, b, n)];
}

/* Fill every history slot with the initial state: the past before t = 0
 * equals the initial condition. */
/* Fill every history slot with the initial state: the past before t = 0
 * equals the initial condition. Coloured noise starts from its stationary
 * distribution (drawn at step 2^64 - 1, which no step reaches). */
__kernel void tb_mass_init_history(__global const real *state, __global real *hist,
                                   __global const real *pscalar, __global const real *pregion,
                                   __global const real *pinst, __global const ulong *seeds, __global real *ou,
                                   int H, int B, int N)
{
#if TB_INSTANCE_MAJOR
    const int b = get_global_id(0), n0 = 0, nstep = 1;
    if (b >= B)
        return;
#else
    const int b = get_group_id(0), n0 = get_local_id(0), nstep = get_local_size(0);
#endif
    for (int n = n0; n < N; n += nstep) {
        tb_params p;
        tb_load_params(&p, pscalar, pregion, pinst, b, n, B, N);
        real x[TB_NV], h[TB_NC];
        tb_load_state(state, x, b, B, N, n);
        tb_hist_values(&p, x, h);
        for (int s = 0; s < H; ++s)
            for (int k = 0; k < TB_NC; ++k)
                hist[TB_HX(s, k, b, n)] = h[k];
#if TB_NOISE == TB_NOISE_OU
        real z[TB_NV], g[TB_NV];
        tb_normals(seeds[b], -1, n, z);
        tb_noise_g(&p, (const real *)0, g);
        for (int v = 0; v < TB_NV; ++v)
            ou[TB_IX(v, b, n)] = g[v] * sqrt((real)1 / ((real)2 * p.tb_ou_tau)) * z[v];
#endif
    }
}

__kernel void tb_mass_run(__global real *state, __global real *hist, __global const int *row_ptr,
                          __global const int *col, __global const real *weight, __global const int *delay,
                          __global const real *pscalar, __global const real *pregion,
                          __global const real *pinst, __global const ulong *seeds, __global real *ou,
                          __global const real *stim_w, __global const real *stim_series, int H, int B, int N,
                          long step0, int nsteps, real dt TB_MONITOR_ARGS)
{
#if TB_INSTANCE_MAJOR
    const int b = get_global_id(0), n0 = 0, nstep = 1;
    if (b >= B) /* padding of the last work-group */
        return;
#else
    const int b = get_group_id(0), n0 = get_local_id(0), nstep = get_local_size(0);
#endif
    const ulong seed = seeds[b];
    for (int s = 0; s < nsteps; ++s) {
        const long t = step0 + s;
        for (int n = n0; n < N; n += nstep) {
            tb_params p;
            tb_load_params(&p, pscalar, pregion, pinst, b, n, B, N);
            real x[TB_NV], xn[TB_NV], c[TB_NC], xi[TB_NC], h[TB_NC], dw[TB_NV], force[TB_NV];
            tb_load_state(state, x, b, B, N, n);
            tb_hist_values_raw(x, xi);
            tb_coupling(&p, hist, row_ptr, col, weight, delay, xi, c, t, H, b, B, N, n);
            tb_noise_step(&p, ou, seed, t, dt, b, B, N, n, dw, force);
            tb_stimulus((real)t * dt, n, N, stim_w, stim_series, force);
            tb_integrate(&p, x, c, xn, (real)t * dt, dt, n, N, dw, force);
            for (int v = 0; v < TB_NV; ++v)
                state[TB_IX(v, b, n)] = xn[v];
            tb_hist_values(&p, xn, h);
            const long slot = tb_slot(t + 1, H);
            for (int k = 0; k < TB_NC; ++k)
                hist[TB_HX(slot, k, b, n)] = h[k];
            tb_monitors(TB_MONITOR_PASS xn, t + 1, step0, b, B, N, n, dt);
        }
#if !TB_INSTANCE_MAJOR
        /* the next step reads what every region of this instance wrote */
        barrier(CLK_GLOBAL_MEM_FENCE);
#endif
    }
}
