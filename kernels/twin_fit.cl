/* Fitting a Gaussian readout to recorded responses (twinbrain twin fit,
 * docs/twin.md "A twin for a new animal"). The core's features F are
 * [H][W][C][T], frames innermost, so that a unit going through the frames
 * reads 4 C streams in order (core/twin/twin_fit.c transposes the core's
 * [T][C][H][W] maps); unit n reads them at its position
 * (mx, my) in GridSample's normalised coordinates (align_corners 0,
 * border padding, as the readout subgraph the fit writes), weighs the C
 * channels with w, adds b and applies the output nonlinearity. The
 * parameters of unit n are P[n (C + 3) + j]: w (j < C), b (C), mx, my. */

/* The four taps of a bilinear sample and d(index)/d(position). At the
 * last row or column the left/top tap is moved in by one (weight 1 on
 * the edge pixel), which gives GridSample's value and a usable slope. */
typedef struct tw_fit_taps {
    long x0, x1, y0, y1;
    real tx, ty, gx, gy;
} tw_fit_taps;

inline void tw_fit_axis(real m, long size, long *i0, long *i1, real *t, real *slope)
{
    real i = ((m + 1) * (real)size - 1) / 2;
    *slope = (real)size / 2;
    if (i < 0 || i > (real)(size - 1)) {
        i = fmin(fmax(i, TB_R(0)), (real)(size - 1));
        *slope = 0; /* border padding: flat outside the map */
    }
    *i0 = size > 1 ? min((long)floor(i), size - 2) : 0;
    *i1 = size > 1 ? *i0 + 1 : 0;
    *t = size > 1 ? i - (real)*i0 : TB_R(0);
}

inline tw_fit_taps tw_fit_taps_at(real mx, real my, long H, long W)
{
    tw_fit_taps k;
    tw_fit_axis(mx, W, &k.x0, &k.x1, &k.tx, &k.gx);
    tw_fit_axis(my, H, &k.y0, &k.y1, &k.ty, &k.gy);
    return k;
}

/* The four tap values of channel c at frame t. */
typedef struct tw_fit_quad {
    real a, b, d, e; /* (x0, y0), (x1, y0), (x0, y1), (x1, y1) */
} tw_fit_quad;

inline tw_fit_quad tw_fit_quad_at(__global const real *F, long C, long T, long W, long c, long t, const tw_fit_taps *k)
{
    tw_fit_quad q;
    q.a = F[((k->y0 * W + k->x0) * C + c) * T + t];
    q.b = F[((k->y0 * W + k->x1) * C + c) * T + t];
    q.d = F[((k->y1 * W + k->x0) * C + c) * T + t];
    q.e = F[((k->y1 * W + k->x1) * C + c) * T + t];
    return q;
}

inline real tw_fit_mix(const tw_fit_quad *q, const tw_fit_taps *k)
{
    return q->a * (1 - k->tx) * (1 - k->ty) + q->b * k->tx * (1 - k->ty) + q->d * (1 - k->tx) * k->ty +
           q->e * k->tx * k->ty;
}

/* The rate and its slope: exp(z), or ELU(z) + 1 (= exp(z) for z <= 0). */
inline real tw_fit_rate(real z, int expo, real *slope)
{
    if (expo || z <= 0) {
        const real r = exp(z);
        *slope = r;
        return r;
    }
    *slope = 1;
    return z + 1;
}

#define TW_FIT_LOG_EPS TB_R(1e-12)

/* z of unit n (parameters p) at frame t. */
inline real tw_fit_linear(__global const real *F, long T, long t, __global const real *p, long C, long W,
                          const tw_fit_taps *k)
{
    real z = p[C];
    for (long c = 0; c < C; ++c) {
        const tw_fit_quad q = tw_fit_quad_at(F, C, T, W, c, t, k);
        z += p[c] * tw_fit_mix(&q, k);
    }
    return z;
}

/* Mean Poisson loss r - y log r of unit n over frames idx[from .. to). */
inline real tw_fit_loss(__global const real *F, long T, __global const real *Y, __global const int *idx, long from,
                        long to, __global const real *p, long n, long N, long C, long H, long W, int expo)
{
    const tw_fit_taps k = tw_fit_taps_at(p[C + 1], p[C + 2], H, W);
    real loss = 0, slope;
    for (long j = from; j < to; ++j) {
        const long t = idx[j];
        const real r = tw_fit_rate(tw_fit_linear(F, T, t, p, C, W, &k), expo, &slope);
        loss += r - Y[t * N + n] * log(r + TW_FIT_LOG_EPS);
    }
    return to > from ? loss / (real)(to - from) : TB_R(0);
}

/* One full-batch Adam step per unit (one work-item each) on the training
 * frames idx[0 .. n_train), then its validation loss on idx[n_train ..
 * n_train + n_val) at the new parameters. L[2n] is the training loss before
 * the step, L[2n + 1] the validation loss after it. c1, c2: Adam's bias
 * corrections 1 - beta1^t, 1 - beta2^t. */
__kernel void tw_fit_epoch(__global const real *F, const long T, __global const real *Y, __global const int *idx,
                           const long n_train,
                           const long n_val, __global real *P, __global real *G, __global real *M, __global real *V,
                           __global real *L, const long N, const long C, const long H, const long W, const int expo,
                           const real lr, const real c1, const real c2)
{
    const long n = get_global_id(0);
    if (n >= N)
        return;
    const long np = C + 3;
    __global real *p = P + n * np, *g = G + n * np, *m = M + n * np, *v = V + n * np;
    for (long j = 0; j < np; ++j)
        g[j] = 0;
    const tw_fit_taps k = tw_fit_taps_at(p[C + 1], p[C + 2], H, W);
    real loss = 0;
    for (long j = 0; j < n_train; ++j) {
        const long t = idx[j];
        real slope;
        const real r = tw_fit_rate(tw_fit_linear(F, T, t, p, C, W, &k), expo, &slope);
        const real y = Y[t * N + n];
        loss += r - y * log(r + TW_FIT_LOG_EPS);
        const real gz = (1 - y / (r + TW_FIT_LOG_EPS)) * slope;
        real sx = 0, sy = 0;
        for (long c = 0; c < C; ++c) {
            const tw_fit_quad q = tw_fit_quad_at(F, C, T, W, c, t, &k);
            g[c] += gz * tw_fit_mix(&q, &k);
            sx += p[c] * ((1 - k.ty) * (q.b - q.a) + k.ty * (q.e - q.d));
            sy += p[c] * ((1 - k.tx) * (q.d - q.a) + k.tx * (q.e - q.b));
        }
        g[C] += gz;
        g[C + 1] += gz * sx * k.gx;
        g[C + 2] += gz * sy * k.gy;
    }
    const real scale = n_train > 0 ? TB_R(1) / (real)n_train : TB_R(0);
    for (long j = 0; j < np; ++j) {
        const real gj = g[j] * scale;
        m[j] = TB_R(0.9) * m[j] + TB_R(0.1) * gj;
        v[j] = TB_R(0.999) * v[j] + TB_R(0.001) * gj * gj;
        p[j] -= lr * (m[j] / c1) / (sqrt(v[j] / c2) + TB_R(1e-8));
    }
    p[C + 1] = fmin(fmax(p[C + 1], TB_R(-1)), TB_R(1));
    p[C + 2] = fmin(fmax(p[C + 2], TB_R(-1)), TB_R(1));
    L[2 * n] = loss * scale;
    L[2 * n + 1] = tw_fit_loss(F, T, Y, idx, n_train, n_train + n_val, p, n, N, C, H, W, expo);
}

/* The starting position: for unit n and map pixel s (work-item n HW + s),
 * the sum over channels of the squared correlation between the channel at
 * s and the unit's training responses (a scan of frames x units x
 * channels x pixels: about HW / 8 steps' worth of work). */
__kernel void tw_fit_scan(__global const real *F, const long T, __global const real *Y, __global const int *idx,
                          const long n_train, __global real *S, const long N, const long C, const long H,
                          const long W)
{
    const long i = get_global_id(0);
    if (i >= N * H * W)
        return;
    const long n = i / (H * W), s = i % (H * W);
    real sy = 0, syy = 0, cn = 0;
    for (long j = 0; j < n_train; ++j, cn += 1) {
        const real y = Y[idx[j] * N + n];
        sy += y, syy += y * y;
    }
    const real vy = syy - sy * sy / cn;
    real score = 0;
    for (long c = 0; c < C && vy > 0; ++c) {
        real sf = 0, sff = 0, sfy = 0;
        for (long j = 0; j < n_train; ++j) {
            const long t = idx[j];
            const real f = F[(s * C + c) * T + t], y = Y[t * N + n];
            sf += f, sff += f * f, sfy += f * y;
        }
        const real vf = sff - sf * sf / cn, cov = sfy - sf * sy / cn;
        score += vf > 0 ? cov * cov / (vf * vy) : TB_R(0);
    }
    S[i] = score;
}
