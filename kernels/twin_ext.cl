/* The twin kit's ops beyond kernels/twin.cl (core/twin/twin_ops_*.c plan
 * them): 3-D convolution, Pad, layer and instance normalisation. As
 * there: one output element (or row) per work-item in dimension 0, one
 * batch instance per dimension 1, each tensor with its instance stride. */

/* meta: N, C, M, groups, has_bias, in[3], out[3], k[3], s[3], p[3], d[3]. */
__kernel void tw_conv3d(__global const real *x, const long xs, __global const real *w, const long ws,
                        __global const real *bias, const long bstr, __global real *y, const long ys,
                        __global const long *m, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long C = m[1], M = m[2], G = m[3];
    const long ID = m[5], IH = m[6], IW = m[7], OD = m[8], OH = m[9], OW = m[10];
    const long KD = m[11], KH = m[12], KW = m[13];
    long r = i;
    const long ow = r % OW;
    r /= OW;
    const long oh = r % OH;
    r /= OH;
    const long od = r % OD;
    r /= OD;
    const long mo = r % M, nn = r / M;
    const long Cg = C / G, g = mo / (M / G);
    __global const real *xb = x + b * xs + (nn * C + g * Cg) * ID * IH * IW;
    __global const real *wb = w + b * ws + mo * Cg * KD * KH * KW;
    real acc = m[4] ? bias[b * bstr + mo] : TB_R(0);
    for (long c = 0; c < Cg; ++c)
        for (long kd = 0; kd < KD; ++kd) {
            const long id = od * m[14] - m[17] + kd * m[20];
            if (id < 0 || id >= ID)
                continue;
            for (long kh = 0; kh < KH; ++kh) {
                const long ih = oh * m[15] - m[18] + kh * m[21];
                if (ih < 0 || ih >= IH)
                    continue;
                for (long kw = 0; kw < KW; ++kw) {
                    const long iw = ow * m[16] - m[19] + kw * m[22];
                    if (iw >= 0 && iw < IW)
                        acc += xb[((c * ID + id) * IH + ih) * IW + iw] * wb[((c * KD + kd) * KH + kh) * KW + kw];
                }
            }
        }
    y[b * ys + i] = acc;
}

/* meta: rank, mode (0 constant, 1 edge, 2 reflect), out dims[rank],
 * in dims[rank], pads at the beginning[rank] (negative: cropped). */
__kernel void tw_pad(__global const real *x, const long xs, __global real *y, const long ys,
                     __global const long *m, const long n, const real value)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int r = (int)m[0], mode = (int)m[1];
    __global const long *od = m + 2, *id = m + 2 + r, *pb = m + 2 + 2 * r;
    long rest = i, off = 0, stride = 1;
    for (int d = r - 1; d >= 0; --d) {
        long c = rest % od[d] - pb[d];
        rest /= od[d];
        const long len = id[d];
        if (c < 0 || c >= len) {
            if (mode == 0) {
                y[b * ys + i] = value;
                return;
            }
            if (mode == 1)
                c = c < 0 ? 0 : len - 1;
            else
                c = c < 0 ? -c : 2 * (len - 1) - c;
        }
        off += c * stride;
        stride *= len;
    }
    y[b * ys + i] = x[b * xs + off];
}

/* One row of `inner` elements per work-item, normalised to mean 0 and
 * variance 1 (biased), then scaled and shifted. meta: inner, epsilon is
 * an argument; the scale and bias of element j of row q are at
 * (q % rows) * rstr + j * jstr (instance norm: per channel; layer norm:
 * per element of the row). has_bias: whether bias is given. */
__kernel void tw_norm(__global const real *x, const long xs, __global const real *sc, const long ss,
                      __global const real *bi, const long bs, __global real *y, const long ys,
                      __global const long *m, const long n, const real eps)
{
    const long q = get_global_id(0), b = get_global_id(1);
    if (q >= n)
        return;
    const long inner = m[0], rows = m[1], rstr = m[2], jstr = m[3], has_bias = m[4];
    __global const real *xr = x + b * xs + q * inner;
    __global real *yr = y + b * ys + q * inner;
    real mean = 0;
    for (long j = 0; j < inner; ++j)
        mean += xr[j];
    mean /= (real)inner;
    real var = 0;
    for (long j = 0; j < inner; ++j)
        var += (xr[j] - mean) * (xr[j] - mean);
    var /= (real)inner;
    const real inv = TB_R(1) / sqrt(var + eps);
    const long base = (q % rows) * rstr;
    for (long j = 0; j < inner; ++j) {
        const long p = base + j * jstr;
        yr[j] = (xr[j] - mean) * inv * sc[b * ss + p] + (has_bias ? bi[b * bs + p] : TB_R(0));
    }
}

/* Sin (is_sin = 1) or Cos, elementwise. */
__kernel void tw_trig(__global const real *x, const long xs, __global real *y, const long ys, const long n,
                      const int is_sin)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i < n)
        y[b * ys + i] = is_sin ? sin(x[b * xs + i]) : cos(x[b * xs + i]);
}

/* Einsum with up to three operands. meta: n_ops, n_out, out sizes[n_out],
 * n_sum, summed sizes[n_sum], then per operand (3) its strides over the
 * output indices [n_out] and over the summed ones [n_sum] (0: absent). */
__kernel void tw_einsum(__global const real *a0, const long s0, __global const real *a1, const long s1,
                        __global const real *a2, const long s2, __global real *y, const long ys,
                        __global const long *m, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int nops = (int)m[0], no = (int)m[1], ns = (int)m[2 + no];
    __global const long *od = m + 2, *sd = m + 3 + no, *st = m + 3 + no + ns;
    const long w = no + ns;
    long base0 = b * s0, base1 = b * s1, base2 = b * s2, rest = i, total = 1;
    for (int d = no - 1; d >= 0; --d) {
        const long c = rest % od[d];
        rest /= od[d];
        base0 += c * st[d], base1 += c * st[w + d], base2 += c * st[2 * w + d];
    }
    for (int d = 0; d < ns; ++d)
        total *= sd[d];
    real acc = 0;
    for (long s = 0; s < total; ++s) {
        long r = s, o0 = base0, o1 = base1, o2 = base2;
        for (int d = ns - 1; d >= 0; --d) {
            const long c = r % sd[d];
            r /= sd[d];
            o0 += c * st[no + d], o1 += c * st[w + no + d], o2 += c * st[2 * w + no + d];
        }
        real p = a0[o0];
        if (nops > 1)
            p *= a1[o1];
        if (nops > 2)
            p *= a2[o2];
        acc += p;
    }
    y[b * ys + i] = acc;
}

/* ConvTranspose, 2-D (1-D as height 1). meta: C, M, groups, has_bias,
 * IH, IW, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw. Input [N, C, IH, IW],
 * weight [C, M / groups, KH, KW], output [N, M, OH, OW]: output (oh, ow)
 * takes input (ih, iw) through tap (kh, kw) when oh + ph = ih sh + kh dh. */
__kernel void tw_conv_transpose2d(__global const real *x, const long xs, __global const real *w, const long ws,
                                  __global const real *bias, const long bstr, __global real *y, const long ys,
                                  __global const long *m, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long C = m[0], M = m[1], G = m[2], IH = m[4], IW = m[5], OH = m[6], OW = m[7], KH = m[8], KW = m[9];
    const long ow = i % OW, oh = (i / OW) % OH, mo = (i / (OW * OH)) % M, nn = i / (OW * OH * M);
    const long Cg = C / G, Mg = M / G, g = mo / Mg;
    real acc = m[3] ? bias[b * bstr + mo] : TB_R(0);
    for (long kh = 0; kh < KH; ++kh) {
        const long th = oh + m[12] - kh * m[14];
        if (th < 0 || th % m[10])
            continue;
        const long ih = th / m[10];
        if (ih >= IH)
            continue;
        for (long kw = 0; kw < KW; ++kw) {
            const long tw = ow + m[13] - kw * m[15];
            if (tw < 0 || tw % m[11])
                continue;
            const long iw = tw / m[11];
            if (iw >= IW)
                continue;
            for (long c = 0; c < Cg; ++c) {
                const long ci = g * Cg + c;
                acc += x[b * xs + ((nn * C + ci) * IH + ih) * IW + iw] *
                       w[b * ws + ((ci * Mg + mo % Mg) * KH + kh) * KW + kw];
            }
        }
    }
    y[b * ys + i] = acc;
}

/* GridSampleReadout (core/twin/twin_ops_readout.c): one work-item per
 * (image, unit) finds its four taps as tw_grid_sample does, then sums the
 * feature-weighted samples over the channels in order and adds the bias,
 * as Mul, ReduceSum and Add would. The product and the sum are separate
 * statements so that no compiler contracts them into one fma where the
 * unfused kernels round twice. meta: C, H, W, U, align_corners, border,
 * has_bias. */
__kernel void tw_grid_readout(__global const real *x, const long xs, __global const real *grid, const long gs,
                              __global const real *f, const long fs, __global const real *bias, const long bs,
                              __global real *y, const long ys, __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int C = (int)meta[0], H = (int)meta[1], W = (int)meta[2], U = (int)meta[3];
    const int align = (int)meta[4], border = meta[5] == 1;
    const int u = (int)(i % U), nn = (int)(i / U);
    __global const real *gp = grid + b * gs + i * 2;
    real wt[4];
    int at[4];
    tw_grid_taps(gp, H, W, align, border, at, wt);
    __global const real *xp = x + b * xs + (long)nn * C * H * W;
    __global const real *fp = f + b * fs + u;
    real acc = 0;
    for (int c = 0; c < C; ++c, xp += H * W) {
        const real v = xp[at[0]] * wt[0] + xp[at[1]] * wt[1] + xp[at[2]] * wt[2] + xp[at[3]] * wt[3];
        const real p = v * fp[(long)c * U];
        acc = acc + p;
    }
    if (meta[6])
        acc = acc + bias[b * bs + u];
    y[b * ys + i] = acc;
}
