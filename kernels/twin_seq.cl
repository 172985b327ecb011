/* The twin kit's recurrent cells (ONNX LSTM and GRU, forward, reverse or
 * both directions, layout 0; core/twin/twin_ops_seq.c plans them): one
 * launch per step t of direction dir (all hidden units of a step depend
 * on every unit of the step before), one work-item per (batch row,
 * hidden unit); step t reads the input at time tt (t, or T - 1 - t when
 * the direction runs backwards). The hidden states of every step live
 * in the scratch hs [D][T][rows][H] per instance (step t - 1 is read,
 * step t written); the LSTM cell state in cs [D][rows][H]. Weights,
 * biases, peepholes and initial states are per direction as ONNX lays
 * them out; Y is [T][D][rows][H], Y_h and Y_c [D][rows][H].
 * meta: T, rows, I, H, has_B, has_h0, has_c0 (LSTM), has_P (LSTM),
 * has_Y, has_Yh, has_Yc (LSTM), linear_before_reset (GRU), D. */

inline real tw_sig(real v)
{
    return TB_R(1) / (TB_R(1) + exp(-v));
}

/* sum_k w[k] v[k] */
inline real tw_dot(__global const real *w, __global const real *v, long n)
{
    real acc = 0;
    for (long k = 0; k < n; ++k)
        acc += w[k] * v[k];
    return acc;
}

/* The previous hidden state of row `row` (zero or initial_h at t = 0). */
inline __global const real *tw_hprev(long t, long row, long H, long rows, __global const real *hs,
                                     __global const real *h0)
{
    return t == 0 ? h0 + row * H : hs + ((t - 1) * rows + row) * H;
}

__kernel void tw_lstm_step(__global const real *x, const long xs, __global const real *w, const long ws,
                           __global const real *r, const long rs, __global const real *bias, const long bs,
                           __global const real *h0, const long h0s, __global const real *c0, const long c0s,
                           __global const real *p, const long ps, __global real *hs, const long hss,
                           __global real *cs, const long css, __global real *y, const long ys,
                           __global real *yh, const long yhs, __global real *yc, const long ycs,
                           __global const long *m, const long n, const long t, const long dir, const long tt)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long T = m[0], rows = m[1], I = m[2], H = m[3], D = m[12], st = dir * rows * H;
    const long row = i / H, j = i % H;
    __global const real *xt = x + b * xs + (tt * rows + row) * I;
    __global real *hb = hs + b * hss + dir * T * rows * H, *cb = cs + b * css + st;
    const bool zero_h = t == 0 && !m[5];
    __global const real *hp = tw_hprev(t, row, H, rows, hb, h0 + b * h0s + st);
    __global const real *wd = w + b * ws + dir * 4 * H * I, *rd = r + b * rs + dir * 4 * H * H;
    __global const real *bd = bias + b * bs + dir * 8 * H;
    real a[4];
    for (int g = 0; g < 4; ++g) { /* gate order i, o, f, c */
        a[g] = tw_dot(wd + (g * H + j) * I, xt, I);
        if (!zero_h)
            a[g] += tw_dot(rd + (g * H + j) * H, hp, H);
        if (m[4])
            a[g] += bd[g * H + j] + bd[(4 + g) * H + j];
    }
    const real cprev = t > 0 ? cb[i] : m[6] ? c0[b * c0s + st + i] : TB_R(0);
    __global const real *pb = p + b * ps + dir * 3 * H;
    const real ig = tw_sig(a[0] + (m[7] ? pb[j] * cprev : TB_R(0)));
    const real fg = tw_sig(a[2] + (m[7] ? pb[2 * H + j] * cprev : TB_R(0)));
    const real c = fg * cprev + ig * tanh(a[3]);
    const real og = tw_sig(a[1] + (m[7] ? pb[H + j] * c : TB_R(0)));
    const real h = og * tanh(c);
    cb[i] = c;
    hb[t * rows * H + i] = h;
    if (m[8])
        y[b * ys + (tt * D + dir) * rows * H + i] = h;
    if (t == T - 1) {
        if (m[9])
            yh[b * yhs + st + i] = h;
        if (m[10])
            yc[b * ycs + st + i] = c;
    }
}

/* Phase 0 (linear_before_reset = 0 only): rh = r (.) h_prev into cs;
 * phase 1: the step. Gate order z, r, h. */
__kernel void tw_gru_step(__global const real *x, const long xs, __global const real *w, const long ws,
                          __global const real *r, const long rs, __global const real *bias, const long bs,
                          __global const real *h0, const long h0s, __global real *hs, const long hss,
                          __global real *cs, const long css, __global real *y, const long ys,
                          __global real *yh, const long yhs, __global const long *m, const long n, const long t,
                          const long dir, const long tt, const int phase)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long T = m[0], rows = m[1], I = m[2], H = m[3], D = m[12], st = dir * rows * H;
    const long row = i / H, j = i % H;
    __global const real *xt = x + b * xs + (tt * rows + row) * I;
    __global real *hb = hs + b * hss + dir * T * rows * H, *rh = cs + b * css + st;
    const bool zero_h = t == 0 && !m[5];
    __global const real *hp = tw_hprev(t, row, H, rows, hb, h0 + b * h0s + st);
    __global const real *bb = bias + b * bs + dir * 6 * H;
    __global const real *wd = w + b * ws + dir * 3 * H * I, *rd = r + b * rs + dir * 3 * H * H;
    real wx[3], rx[3];
    for (int g = 0; g < 3; ++g) {
        wx[g] = tw_dot(wd + (g * H + j) * I, xt, I) + (m[4] ? bb[g * H + j] : TB_R(0));
        rx[g] = m[4] ? bb[(3 + g) * H + j] : TB_R(0);
        if (!zero_h && (g < 2 || m[11]))
            rx[g] += tw_dot(rd + (g * H + j) * H, hp, H);
    }
    const real rg = tw_sig(wx[1] + rx[1]);
    const real hprev = zero_h ? TB_R(0) : hp[j];
    if (phase == 0) {
        rh[i] = rg * hprev;
        return;
    }
    const real zg = tw_sig(wx[0] + rx[0]);
    real ht;
    if (m[11])
        ht = tanh(wx[2] + rg * rx[2]);
    else
        ht = tanh(wx[2] + rx[2] + (zero_h ? TB_R(0) : tw_dot(rd + (2 * H + j) * H, rh + row * H, H)));
    const real h = (TB_R(1) - zg) * ht + zg * hprev;
    hb[t * rows * H + i] = h;
    if (m[8])
        y[b * ys + (tt * D + dir) * rows * H + i] = h;
    if (t == T - 1 && m[9])
        yh[b * yhs + st + i] = h;
}
