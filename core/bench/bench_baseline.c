/* The baseline of `twinbrain bench mass`: the same neural-mass models,
 * coupling, delays, Heun integration and BOLD as the engine runs, written as
 * a plain single-threaded C loop (no OpenCL), compiled with the project's
 * flags. It uses the same algorithm as the kernels (CSR rows, a ring buffer
 * of what each source transmits), so the ratio measures the engine's
 * parallelism and vectorisation, not a better method. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <tgmath.h> /* exp, pow, ... in the precision of their argument */

#include "bench.h"

/* Balloon-Windkessel, as kernels emit it (docs/scenario.md). */
#define BW_KAPPA 0.65
#define BW_GAMMA 0.41
#define BW_TAU 0.98
#define BW_ALPHA 0.32
#define BW_E0 0.34

#define DEFINE_BASELINE(REAL, SUFFIX)                                                                          \
    static void bold_step_##SUFFIX(REAL *bw, REAL z, REAL h)                                                    \
    {                                                                                                           \
        REAL s = bw[0], f = bw[1], v = bw[2], q = bw[3];                                                        \
        REAL iv = pow(v, (REAL)(1.0 / BW_ALPHA));                                                               \
        REAL dq = (f * ((REAL)1 - pow((REAL)(1.0 - BW_E0), (REAL)1 / f)) / (REAL)BW_E0 - iv * q / v) /         \
                  (REAL)BW_TAU;                                                                                 \
        bw[0] = s + h * (z - (REAL)BW_KAPPA * s - (REAL)BW_GAMMA * (f - (REAL)1));                             \
        bw[1] = f + h * s;                                                                                      \
        bw[2] = v + h * (f - iv) / (REAL)BW_TAU;                                                                \
        bw[3] = q + h * dq;                                                                                     \
    }                                                                                                           \
                                                                                                                \
    static REAL jr_sigm_##SUFFIX(REAL v)                                                                        \
    {                                                                                                           \
        return (REAL)2 * (REAL)0.0025 / ((REAL)1 + exp((REAL)0.56 * ((REAL)5.52 - v)));                         \
    }                                                                                                           \
                                                                                                                \
    static void jr_dfun_##SUFFIX(const REAL *x, REAL c, REAL *d)                                                \
    {                                                                                                           \
        const REAL A = 3.25, B = 22, a = 0.1, b = 0.05, J = 135, mu = 0.22;                                    \
        d[0] = x[3];                                                                                            \
        d[1] = x[4];                                                                                            \
        d[2] = x[5];                                                                                            \
        d[3] = A * a * jr_sigm_##SUFFIX(x[1] - x[2]) - 2 * a * x[3] - a * a * x[0];                             \
        d[4] = A * a * (mu + (REAL)0.8 * J * jr_sigm_##SUFFIX(J * x[0]) + c) - 2 * a * x[4] - a * a * x[1];     \
        d[5] = B * b * ((REAL)0.25 * J * jr_sigm_##SUFFIX((REAL)0.25 * J * x[0])) - 2 * b * x[5] - b * b * x[2]; \
    }                                                                                                           \
                                                                                                                \
    static REAL ww_rate_##SUFFIX(REAL u, REAL dd)                                                               \
    {                                                                                                           \
        REAL z = dd * u;                                                                                        \
        if (fabs(z) < (REAL)1e-6)                                                                               \
            return ((REAL)1 + (REAL)0.5 * z) / dd;                                                              \
        return u / -expm1(-z);                                                                                  \
    }                                                                                                           \
                                                                                                                \
    static void ww_dfun_##SUFFIX(const REAL *x, REAL c, REAL *d)                                                \
    {                                                                                                           \
        const REAL JN = 0.15, G = 2.0, Io = 0.382;                                                              \
        REAL lr = G * JN * c;                                                                                   \
        REAL xe = (REAL)1.4 * JN * x[0] - x[1] + Io + lr;                                                       \
        REAL xi = JN * x[0] - x[1] + (REAL)0.7 * Io;                                                            \
        REAL He = ww_rate_##SUFFIX((REAL)310 * xe - (REAL)125, (REAL)0.16);                                     \
        REAL Hi = ww_rate_##SUFFIX((REAL)615 * xi - (REAL)177, (REAL)0.087);                                    \
        d[0] = -x[0] / (REAL)100 + ((REAL)1 - x[0]) * He * (REAL)(0.641 / 1000);                               \
        d[1] = -x[1] / (REAL)10 + Hi * (REAL)(1.0 / 1000);                                                      \
    }                                                                                                           \
                                                                                                                \
    static REAL clamp01_##SUFFIX(REAL x)                                                                        \
    {                                                                                                           \
        return x < 0 ? 0 : x > 1 ? 1 : x;                                                                       \
    }                                                                                                           \
                                                                                                                \
    static double run_##SUFFIX(const tb_bench_net *net, int jr, uint64_t steps, double dt_ms)                    \
    {                                                                                                           \
        const int NV = jr ? 6 : 2, N = net->n, H = net->horizon;                                                \
        REAL *x = calloc((size_t)N * NV, sizeof *x), *hist = calloc((size_t)H * N, sizeof *hist);               \
        REAL *bw = malloc((size_t)N * 4 * sizeof *bw), *c = calloc((size_t)N, sizeof *c);                       \
        const REAL dt = (REAL)dt_ms, h = (REAL)(dt_ms * 1e-3);                                                  \
        for (int i = 0; i < N; ++i) {                                                                           \
            if (!jr)                                                                                            \
                x[i * NV] = x[i * NV + 1] = (REAL)0.5;                                                          \
            REAL *xi = x + i * NV;                                                                              \
            REAL src = jr ? (REAL)0.005 / ((REAL)1 + exp((REAL)0.56 * ((REAL)6 - (xi[1] - xi[2])))) : xi[0];    \
            for (int s = 0; s < H; ++s)                                                                         \
                hist[s * N + i] = src;                                                                          \
            bw[4 * i] = 0, bw[4 * i + 1] = bw[4 * i + 2] = bw[4 * i + 3] = 1;                                  \
        }                                                                                                       \
        for (uint64_t t = 0; t < steps; ++t) {                                                                  \
            for (int i = 0; i < N; ++i) {                                                                       \
                REAL sum = 0;                                                                                   \
                for (int e = net->row_ptr[i]; e < net->row_ptr[i + 1]; ++e)                                     \
                    sum += (REAL)net->w[e] * hist[(size_t)((t + (uint64_t)(H - net->delay[e])) % (uint64_t)H) * \
                                                      N + net->col[e]];                                         \
                c[i] = jr ? sum : (REAL)0.00390625 * sum;                                                       \
            }                                                                                                   \
            REAL *row = hist + (size_t)((t + 1) % (uint64_t)H) * N;                                             \
            for (int i = 0; i < N; ++i) {                                                                       \
                REAL *xi = x + i * NV, k1[6], k2[6], xt[6];                                                     \
                (jr ? jr_dfun_##SUFFIX : ww_dfun_##SUFFIX)(xi, c[i], k1);                                      \
                for (int v = 0; v < NV; ++v)                                                                    \
                    xt[v] = jr ? xi[v] + dt * k1[v] : clamp01_##SUFFIX(xi[v] + dt * k1[v]);                     \
                (jr ? jr_dfun_##SUFFIX : ww_dfun_##SUFFIX)(xt, c[i], k2);                                      \
                for (int v = 0; v < NV; ++v) {                                                                  \
                    xi[v] += (REAL)0.5 * dt * (k1[v] + k2[v]);                                                  \
                    if (!jr)                                                                                    \
                        xi[v] = clamp01_##SUFFIX(xi[v]);                                                        \
                }                                                                                               \
                row[i] = jr ? (REAL)0.005 / ((REAL)1 + exp((REAL)0.56 * ((REAL)6 - (xi[1] - xi[2])))) : xi[0];  \
                bold_step_##SUFFIX(bw + 4 * i, xi[jr ? 1 : 0], h);                                              \
            }                                                                                                   \
        }                                                                                                       \
        double check = 0;                                                                                       \
        for (int i = 0; i < N * NV; ++i)                                                                        \
            check += (double)x[i];                                                                              \
        for (int i = 0; i < N; ++i)                                                                             \
            check += (double)bw[4 * i + 3];                                                                     \
        free(x);                                                                                                \
        free(hist);                                                                                             \
        free(bw);                                                                                               \
        free(c);                                                                                                \
        return check;                                                                                           \
    }

DEFINE_BASELINE(double, double)
DEFINE_BASELINE(float, float)

double tb_bench_baseline(const tb_bench_net *net, const char *model, int single, uint64_t steps, double dt)
{
    int jr = strcmp(model, "jansen_rit") == 0;
    return single ? run_float(net, jr, steps, dt) : run_double(net, jr, steps, dt);
}
