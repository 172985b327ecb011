/* The twin kit's op library (core/twin/twin_ops.c says which op runs
 * which kernel). Every kernel computes one output element, or one tile
 * of outputs (convolutions, matrix products, grid sampling: as each
 * says), per work-item (dimension 0, bounded by n) for one batch instance
 * (dimension 1). Each
 * tensor argument comes with its instance stride: its element count when
 * every instance has its own copy (activations), 0 when all share it
 * (weights). Shapes and strides come in a table of longs, `meta`. */

/* Offset of element i of a view (dims, strides) in row-major order. */
inline long tw_offset(long i, int rank, __global const long *dims, __global const long *str)
{
    if (rank == 1) /* the executor merges what it can into one dimension: no division */
        return i * str[0];
    long off = 0;
    for (int d = rank - 1; d >= 0; --d) {
        const long c = i % dims[d];
        i /= dims[d];
        off += c * str[d];
    }
    return off;
}

/* Codes as in core/twin/twin_ops.h. */
inline real tw_unary_op(int op, real x, real p0, real p1)
{
    switch (op) {
    case 0: return x > 0 ? x : TB_R(0);
    case 1: return x > 0 ? x : p0 * expm1(x);
    case 2: return TB_R(1) / (TB_R(1) + exp(-x));
    case 3: return tanh(x);
    case 4: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case 5: return exp(x);
    case 6: return log(x);
    case 7: return fabs(x);
    case 8: return -x;
    case 9: return sqrt(x);
    case 10: return x < p0 ? p0 : x > p1 ? p1 : x;
    case 11: return x >= 0 ? x : p0 * x;
    case 12: return TB_R(1) / x;
    case 14: return erf(x);
    case 15: return floor(x);
    case 16: return ceil(x);
    case 18: return x * (erf(x / p0) + TB_R(1)) * p1; /* exported GELU, in the export's order */
    default: return x;
    }
}

__kernel void tw_unary(__global const real *x, const long xs, __global real *y, const long ys, const long n,
                       const int op, const real p0, const real p1)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i < n)
        y[b * ys + i] = tw_unary_op(op, x[b * xs + i], p0, p1);
}

inline real tw_binary_op(int op, real a, real b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return pow(a, b);
    case 5: return a > b ? a : b;
    case 6: return a < b ? a : b;
    default: return 0;
    }
}

/* meta: rank, dims[rank], a strides[rank], b strides[rank] (broadcast: 0). */
__kernel void tw_binary(__global const real *a, const long as, __global const real *bb, const long bs,
                        __global real *y, const long ys, __global const long *meta, const long n, const int op)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int r = (int)meta[0];
    const long oa = tw_offset(i, r, meta + 1, meta + 1 + r), ob = tw_offset(i, r, meta + 1, meta + 1 + 2 * r);
    y[b * ys + i] = tw_binary_op(op, a[b * as + oa], bb[b * bs + ob]);
}

/* meta: rank, xoff, yoff, dims[rank], x strides[rank], y strides[rank]. */
__kernel void tw_copy(__global const real *x, const long xs, __global real *y, const long ys,
                      __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int r = (int)meta[0];
    const long ox = meta[1] + tw_offset(i, r, meta + 3, meta + 3 + r);
    const long oy = meta[2] + tw_offset(i, r, meta + 3, meta + 3 + 2 * r);
    y[b * ys + oy] = x[b * xs + ox];
}

/* tw_copy for views whose last dimension is contiguous in both (meta as
 * tw_copy's): a work-item copies TW_ROW consecutive elements of one row,
 * finding the row's offsets once (tw_copy divides per element, twice). */
#define TW_ROW 32
__kernel void tw_copy_rows(__global const real *x, const long xs, __global real *y, const long ys,
                           __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int r = (int)meta[0];
    const long L = meta[2 + r], chunks = (L + TW_ROW - 1) / TW_ROW, row = i / chunks, c0 = (i % chunks) * TW_ROW;
    __global const real *xp = x + b * xs + meta[1] + tw_offset(row, r - 1, meta + 3, meta + 3 + r) + c0;
    __global real *yp = y + b * ys + meta[2] + tw_offset(row, r - 1, meta + 3, meta + 3 + 2 * r) + c0;
    const int m = (int)min((long)TW_ROW, L - c0);
    for (int k = 0; k < m; ++k)
        yp[k] = xp[k];
}

/* meta: N, C, H, W, M, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, groups, has_bias.
 * Input [N, C, H, W], weight [M, C / groups, KH, KW], output [N, M, OH, OW],
 * written through the activation act (a unary code, with p0 and p1; the
 * identity when no activation follows the convolution).
 * The taps inside the input are found before the loops (no test per tap),
 * and indices within one instance are ints (the executor refuses tensors
 * of 2^31 elements or more). */
__kernel void tw_conv2d(__global const real *x, const long xs, __global const real *w, const long ws,
                        __global const real *bias, __global real *y, const long ys, __global const long *meta,
                        const long n, const int act, const real p0, const real p1)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int C = (int)meta[1], H = (int)meta[2], W = (int)meta[3], M = (int)meta[4], OH = (int)meta[5],
              OW = (int)meta[6], KH = (int)meta[7], KW = (int)meta[8], sh = (int)meta[9], sw = (int)meta[10],
              ph = (int)meta[11], pw = (int)meta[12], dh = (int)meta[13], dw = (int)meta[14], groups = (int)meta[15];
    const int j = (int)i, ow = j % OW, oh = (j / OW) % OH, m = (j / (OW * OH)) % M, nn = j / (OW * OH * M);
    const int cpg = C / groups, g = m / (M / groups);
    const int h0 = oh * sh - ph, w0 = ow * sw - pw;
    /* first and one-past-last taps whose row / column is inside */
    const int kh0 = h0 >= 0 ? 0 : (-h0 + dh - 1) / dh, kw0 = w0 >= 0 ? 0 : (-w0 + dw - 1) / dw;
    const int kh1 = min(KH, (H - h0 + dh - 1) / dh), kw1 = min(KW, (W - w0 + dw - 1) / dw);
    const int at = h0 * W + w0; /* the window's corner, maybe outside: only taps inside are read */
    __global const real *xp = x + b * xs + (nn * C + g * cpg) * H * W;
    __global const real *wp = w + b * ws + m * cpg * KH * KW;
    real acc = meta[16] ? bias[m] : TB_R(0);
    for (int c = 0; c < cpg; ++c, xp += H * W, wp += KH * KW)
        for (int kh = kh0; kh < kh1; ++kh)
            for (int kw = kw0; kw < kw1; ++kw)
                acc += xp[at + kh * dh * W + kw * dw] * wp[kh * KW + kw];
    y[b * ys + i] = tw_unary_op(act, acc, p0, p1);
}

/* meta: C (planes: N x C), H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, op
 * (0 average, 1 max), count_include_pad. */
__kernel void tw_pool2d(__global const real *x, const long xs, __global real *y, const long ys,
                        __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long H = meta[1], W = meta[2], OH = meta[3], OW = meta[4], KH = meta[5], KW = meta[6], sh = meta[7],
               sw = meta[8], ph = meta[9], pw = meta[10], dh = meta[11], dw = meta[12];
    const int is_max = meta[13] == 1;
    const long ow = i % OW, oh = (i / OW) % OH, plane = i / (OW * OH);
    __global const real *xp = x + b * xs + plane * H * W;
    real acc = is_max ? -INFINITY : TB_R(0);
    long count = 0;
    for (long kh = 0; kh < KH; ++kh) {
        const long ih = oh * sh - ph + kh * dh;
        for (long kw = 0; kw < KW; ++kw) {
            const long iw = ow * sw - pw + kw * dw;
            const int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            if (inside) {
                const real v = xp[ih * W + iw];
                acc = is_max ? fmax(acc, v) : acc + v;
                ++count;
            } else if (meta[14] && ih < H + ph && iw < W + pw) {
                ++count; /* padding counted (count_include_pad), never beyond the padded input */
            }
        }
    }
    y[b * ys + i] = is_max ? acc : acc / (real)count;
}

/* meta: op, kept rank r, kept dims[r], their x strides[r], reduced rank q,
 * reduced dims[q], their x strides[q], reduced count. Codes as in
 * twin_ops.h: sum, mean, max, min, l2, sum of squares. */
__kernel void tw_reduce(__global const real *x, const long xs, __global real *y, const long ys,
                        __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int op = (int)meta[0], r = (int)meta[1];
    const long base = tw_offset(i, r, meta + 2, meta + 2 + r);
    __global const long *red = meta + 2 + 2 * r;
    const int q = (int)red[0];
    const long cnt = red[1 + 2 * q];
    __global const real *xp = x + b * xs + base;
    real acc = op == 2 ? -INFINITY : op == 3 ? INFINITY : TB_R(0);
    for (long k = 0; k < cnt; ++k) {
        const real v = xp[tw_offset(k, q, red + 1, red + 1 + q)];
        acc = op == 2 ? fmax(acc, v) : op == 3 ? fmin(acc, v) : op >= 4 ? acc + v * v : acc + v;
    }
    y[b * ys + i] = op == 1 ? acc / (real)cnt : op == 4 ? sqrt(acc) : acc;
}

/* Bilinear grid sampling, as ONNX GridSample (= torch grid_sample).
 * meta: N, C, H, W, OH, OW, align_corners, padding (0 zeros, 1 border). */
inline real tw_unnormalize(real g, long size, int align)
{
    return align ? (g + 1) / 2 * (real)(size - 1) : ((g + 1) * (real)size - 1) / 2;
}

/* The four bilinear taps of grid point gp (row-major offsets into an H x W
 * map) and their weights; a tap outside reads 0. GridSample and the fused
 * readout share it, so both sample alike. */
inline void tw_grid_taps(__global const real *gp, int H, int W, int align, int border, int *at, real *wt)
{
    real ix = tw_unnormalize(gp[0], W, align), iy = tw_unnormalize(gp[1], H, align);
    if (border) {
        ix = fmin(fmax(ix, TB_R(0)), (real)(W - 1));
        iy = fmin(fmax(iy, TB_R(0)), (real)(H - 1));
    }
    const real fx = floor(ix), fy = floor(iy);
    const int x0 = (int)fx, y0 = (int)fy;
    const real tx = ix - fx, ty = iy - fy;
    wt[0] = (1 - tx) * (1 - ty);
    wt[1] = tx * (1 - ty);
    wt[2] = (1 - tx) * ty;
    wt[3] = tx * ty;
    for (int k = 0; k < 4; ++k) {
        const int xx = x0 + (k & 1), yy = y0 + (k >> 1);
        const int in = xx >= 0 && xx < W && yy >= 0 && yy < H;
        at[k] = in ? yy * W + xx : 0;
        wt[k] = in ? wt[k] : TB_R(0);
    }
}

/* One work-item per sampling point (n, oh, ow): its taps and weights are
 * found once and applied to every channel. */
__kernel void tw_grid_sample(__global const real *x, const long xs, __global const real *grid, const long gs,
                             __global real *y, const long ys, __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const int C = (int)meta[1], H = (int)meta[2], W = (int)meta[3], OH = (int)meta[4], OW = (int)meta[5];
    const int align = (int)meta[6], border = meta[7] == 1;
    const int pt = (int)i % (OH * OW), nn = (int)i / (OH * OW);
    __global const real *gp = grid + b * gs + i * 2;
    real wt[4];
    int at[4];
    tw_grid_taps(gp, H, W, align, border, at, wt);
    __global const real *xp = x + b * xs + (long)nn * C * H * W;
    __global real *yp = y + b * ys + (long)nn * C * OH * OW + pt;
    for (int c = 0; c < C; ++c, xp += H * W, yp += OH * OW)
        *yp = xp[at[0]] * wt[0] + xp[at[1]] * wt[1] + xp[at[2]] * wt[2] + xp[at[3]] * wt[3];
}

/* y = x s[c] + t[c] over [N, C, inner]. meta: C, inner. */
__kernel void tw_affine(__global const real *x, const long xs, __global const real *s, __global const real *t,
                        __global real *y, const long ys, __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long c = (i / meta[1]) % meta[0];
    y[b * ys + i] = x[b * xs + i] * s[c] + t[c];
}

/* Softmax over an axis: one work-item per (outer, inner). meta: len, inner. */
__kernel void tw_softmax(__global const real *x, const long xs, __global real *y, const long ys,
                         __global const long *meta, const long n)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long len = meta[0], inner = meta[1];
    const long base = (i / inner) * len * inner + i % inner;
    __global const real *xp = x + b * xs + base;
    __global real *yp = y + b * ys + base;
    real mx = -INFINITY, sum = 0;
    for (long k = 0; k < len; ++k)
        mx = fmax(mx, xp[k * inner]);
    for (long k = 0; k < len; ++k)
        sum += exp(xp[k * inner] - mx);
    for (long k = 0; k < len; ++k)
        yp[k * inner] = exp(xp[k * inner] - mx) / sum;
}

/* Convolution in register tiles: one work-item computes TW_OB adjacent
 * outputs of a row for MB output channels of one group, so that each
 * input value read serves MB x (taps) multiply-adds and each weight TW_OB
 * (the direct kernel above reads one input and one weight per
 * multiply-add). The input columns a row tile needs are copied once per
 * (channel, kernel row) into private memory, zeros where the padding is.
 * meta: as tw_conv2d's, then [17] row tiles per output row, [18] channel
 * tiles per group. The executor uses it when a tile's input columns fit
 * in TW_SEG; summation order is tw_conv2d's (bias, then channel, kernel
 * row, kernel column), so both kernels give the same sums.
 * TW_CONV_TILED_W(NAME, MB, 16) tiles 16 columns (16-float vectors: each
 * weight loaded serves 16 outputs; the executor takes it in single
 * precision where the device prefers 16-float vectors), same sums. */
#define TW_OB 8
#define TW_SEG 64
#ifdef TB_DOUBLE
typedef double8 tw_real8;
typedef double16 tw_real16;
#else
typedef float8 tw_real8;
typedef float16 tw_real16;
#endif

/* Per tile width OB: tw_tapOB, the OB inputs of kernel column kw for a
 * tile's outputs from its private row segment (stride sw between
 * outputs); tw_actOB, a tile's activation: ELU and ReLU on the whole
 * vector (vector expm1), the others element by element. */
#define TW_TILE_HELPERS(OB)                                                                                       \
    inline tw_real##OB tw_tap##OB(const real *xr, int at, int sw)                                                 \
    {                                                                                                             \
        if (sw == 1)                                                                                              \
            return vload##OB(0, xr + at);                                                                         \
        real t[OB];                                                                                               \
        for (int o = 0; o < OB; ++o)                                                                              \
            t[o] = xr[at + o * sw];                                                                               \
        return vload##OB(0, t);                                                                                   \
    }                                                                                                             \
    inline tw_real##OB tw_act##OB(tw_real##OB v, int act, real p0, real p1)                                       \
    {                                                                                                             \
        if (act == 1)                                                                                             \
            return select(p0 * expm1(v), v, v > (tw_real##OB)(0));                                                \
        if (act == 0)                                                                                             \
            return fmax(v, (tw_real##OB)(0));                                                                     \
        if (act == 13)                                                                                            \
            return v;                                                                                             \
        real t[OB];                                                                                               \
        vstore##OB(v, 0, t);                                                                                      \
        for (int o = 0; o < OB; ++o)                                                                              \
            t[o] = tw_unary_op(act, t[o], p0, p1);                                                                \
        return vload##OB(0, t);                                                                                   \
    }

TW_TILE_HELPERS(8)
TW_TILE_HELPERS(16)

/* A tile's inputs one column to the right (shr: the first is a padding
 * zero) or to the left (shl: the last is), from a load inside the row:
 * the edge tiles of a convolution padded by one column (fnn's 3x3 layers)
 * load as the inner ones do instead of copying their columns one by one. */
inline tw_real8 tw_shr8(tw_real8 v)
{
    return (tw_real8)(TB_R(0), v.s0, v.s12, v.s3456);
}

inline tw_real8 tw_shl8(tw_real8 v)
{
    return (tw_real8)(v.s1, v.s23, v.s4567, TB_R(0));
}

inline tw_real16 tw_shr16(tw_real16 v)
{
    return (tw_real16)(TB_R(0), v.s0, v.s12, v.s3456, v.s789abcde);
}

inline tw_real16 tw_shl16(tw_real16 v)
{
    return (tw_real16)(v.s1, v.s23, v.s4567, v.s89abcdef, TB_R(0));
}

/* The channel loops unrolled, so that the accumulators stay in registers
 * (PoCL's compiler kept them on the stack otherwise: a load and a store
 * around every multiply-add). */
#ifdef __clang__
#define TW_UNROLL _Pragma("unroll")
#else
#define TW_UNROLL
#endif

#define TW_CONV_TILED_K(NAME, MB, OB, KWC)                                                                           \
    __kernel void NAME(__global const real *x, const long xs, __global const real *w, const long ws,              \
                       __global const real *bias, __global real *y, const long ys, __global const long *meta,     \
                       const long n, const int act, const real p0, const real p1)                                 \
    {                                                                                                             \
        const long i = get_global_id(0), b = get_global_id(1);                                                    \
        if (i >= n)                                                                                               \
            return;                                                                                               \
        const int C = (int)meta[1], H = (int)meta[2], W = (int)meta[3], M = (int)meta[4], OH = (int)meta[5],      \
                  OW = (int)meta[6], KH = (int)meta[7], KW = KWC ? KWC : (int)meta[8], sh = (int)meta[9], sw = (int)meta[10], \
                  ph = (int)meta[11], pw = (int)meta[12], dh = (int)meta[13], dw = (int)meta[14],                 \
                  groups = (int)meta[15], OWB = (int)meta[17], MBN = (int)meta[18];                               \
        int j = (int)i;                                                                                           \
        const int owb = j % OWB;                                                                                  \
        j /= OWB;                                                                                                 \
        const int oh = j % OH;                                                                                    \
        j /= OH;                                                                                                  \
        const int gb = j % (groups * MBN), nn = j / (groups * MBN);                                               \
        const int cpg = C / groups, Mg = M / groups, g = gb / MBN, mt = (gb % MBN) * MB;                          \
        const int m0 = g * Mg + mt, mcount = min(MB, Mg - mt);                                                    \
        const int ow0 = owb * OB, w0 = ow0 * sw - pw;                                                             \
        const int seg = (OB - 1) * sw + (KW - 1) * dw + 1;                                                        \
        const int direct = sw == 1 && w0 >= 0 && w0 + seg <= W; /* vector loads straight from the input */        \
        /* an edge tile whose taps reach at most one column past the row's ends: clamped loads, shifted */       \
        const int s0 = w0 - clamp(w0, 0, W - OB), s1 = w0 + (KW - 1) * dw - clamp(w0 + (KW - 1) * dw, 0, W - OB); \
        const int shifted = !direct && sw == 1 && W >= OB && s0 >= -1 && s1 <= 1;                              \
        tw_real##OB acc[MB];                                                                                      \
        int wo[MB]; /* each channel's weights (a channel past the group's end reads the first's) */               \
        TW_UNROLL for (int mb = 0; mb < MB; ++mb) {                                                                         \
            const int m = mb < mcount ? mb : 0;                                                                   \
            acc[mb] = (tw_real##OB)(meta[16] ? bias[m0 + m] : TB_R(0));                                           \
            wo[mb] = m * cpg * KH * KW;                                                                           \
        }                                                                                                         \
        __global const real *xp = x + b * xs + (nn * C + g * cpg) * H * W;                                        \
        __global const real *wp = w + b * ws + m0 * cpg * KH * KW;                                                \
        real xr[TW_SEG];                                                                                          \
        const int h0 = oh * sh - ph; /* the kernel rows inside the input, as tw_conv2d finds them */              \
        const int kh0 = h0 >= 0 ? 0 : (-h0 + dh - 1) / dh, kh1 = min(KH, (H - h0 + dh - 1) / dh);                 \
        for (int c = 0; c < cpg; ++c, xp += H * W, wp += KH * KW) {                                               \
            for (int kh = kh0; kh < kh1; ++kh) {                                                                  \
                const int ih = h0 + kh * dh;                                                                      \
                __global const real *row = xp + ih * W + w0;                                                      \
                __global const real *wk = wp + kh * KW;                                                           \
                if (direct) {                                                                                     \
                    TW_UNROLL for (int kw = 0; kw < KW; ++kw) {                                                             \
                        const tw_real##OB xv = vload##OB(0, row + kw * dw);                                       \
                        TW_UNROLL for (int mb = 0; mb < MB; ++mb)                                                           \
                            acc[mb] += wk[wo[mb] + kw] * xv;                                                      \
                    }                                                                                             \
                    continue;                                                                                     \
                }                                                                                                 \
                if (shifted) {                                                                                    \
                    TW_UNROLL for (int kw = 0; kw < KW; ++kw) {                                                             \
                        const int at = w0 + kw * dw, cs = clamp(at, 0, W - OB);                                   \
                        const tw_real##OB v = vload##OB(0, row - w0 + cs);                                        \
                        const tw_real##OB xv = at < cs ? tw_shr##OB(v) : at > cs ? tw_shl##OB(v) : v;             \
                        TW_UNROLL for (int mb = 0; mb < MB; ++mb)                                                           \
                            acc[mb] += wk[wo[mb] + kw] * xv;                                                      \
                    }                                                                                             \
                    continue;                                                                                     \
                }                                                                                                 \
                for (int s = 0; s < seg; ++s)                                                                     \
                    xr[s] = w0 + s >= 0 && w0 + s < W ? row[s] : TB_R(0);                                         \
                for (int kw = 0; kw < KW; ++kw) {                                                                 \
                    const tw_real##OB xv = tw_tap##OB(xr, kw * dw, sw);                                           \
                    TW_UNROLL for (int mb = 0; mb < MB; ++mb)                                                               \
                        acc[mb] += wk[wo[mb] + kw] * xv;                                                          \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
        TW_UNROLL for (int mb = 0; mb < MB; ++mb) {                                                               \
            if (mb >= mcount)                                                                                     \
                break;                                                                                            \
            __global real *yp = y + b * ys + ((nn * M + m0 + mb) * OH + oh) * OW + ow0;                           \
            const tw_real##OB v = tw_act##OB(acc[mb], act, p0, p1);                                               \
            if (ow0 + OB <= OW) {                                                                                 \
                vstore##OB(v, 0, yp);                                                                             \
            } else {                                                                                              \
                real t[OB];                                                                                       \
                vstore##OB(v, 0, t);                                                                              \
                for (int o = 0; ow0 + o < OW; ++o)                                                                \
                    yp[o] = t[o];                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
    }

#define TW_CONV_TILED_W(NAME, MB, OB) TW_CONV_TILED_K(NAME, MB, OB, 0)
#define TW_CONV_TILED(NAME, MB) TW_CONV_TILED_W(NAME, MB, 8)

TW_CONV_TILED(tw_conv2d_t1, 1)
TW_CONV_TILED(tw_conv2d_t4, 4)
TW_CONV_TILED(tw_conv2d_t8, 8)
TW_CONV_TILED_W(tw_conv2d_t8w, 8, 16)
/* 3-column kernels (fnn's 3x3 and causal 3x3x3 layers): the column loop
 * unrolled, same sums */
TW_CONV_TILED_K(tw_conv2d_t8_k3, 8, 8, 3)
TW_CONV_TILED_K(tw_conv2d_t8w_k3, 8, 16, 3)

/* Matrix products (Gemm, batched MatMul) in register tiles: one work-item
 * computes 4 rows by 8 columns of one batch entry, with vector loads of
 * B's rows where its columns are contiguous. meta: M, N, K, a row and
 * column strides, b row and column strides, has_c, c row and column
 * strides, batch rank r, batch dims[r], a batch strides[r], b batch
 * strides[r], column tiles per row, row tiles. Output [batch..., M, N]:
 * alpha A B (+ beta C). */
__kernel void tw_matmul_t(__global const real *a, const long as, __global const real *bm, const long bs,
                          __global const real *c, const long cs, __global real *y, const long ys,
                          __global const long *meta, const long n, const real alpha, const real beta)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= n)
        return;
    const long M = meta[0], N = meta[1], K = meta[2], sak = meta[4], sbk = meta[5], sbn = meta[6];
    const int r = (int)meta[10];
    const long NB = meta[11 + 3 * r], RB = meta[12 + 3 * r];
    const long col0 = (i % NB) * 8, row0 = ((i / NB) % RB) * 4, bi = i / (NB * RB);
    const long oa = tw_offset(bi, r, meta + 11, meta + 11 + r), ob = tw_offset(bi, r, meta + 11, meta + 11 + 2 * r);
    __global const real *ap[4];
    for (int q = 0; q < 4; ++q)
        ap[q] = a + b * as + oa + min(row0 + q, M - 1) * meta[3];
    __global const real *bp = bm + b * bs + ob + col0 * sbn;
    const int vec = sbn == 1 && col0 + 8 <= N;
    tw_real8 acc[4] = {(tw_real8)(0), (tw_real8)(0), (tw_real8)(0), (tw_real8)(0)};
    for (long k = 0; k < K; ++k, bp += sbk) {
        tw_real8 bv;
        if (vec) {
            bv = vload8(0, bp);
        } else {
            real t[8];
            for (int o = 0; o < 8; ++o)
                t[o] = col0 + o < N ? bp[o * sbn] : TB_R(0);
            bv = vload8(0, t);
        }
        for (int q = 0; q < 4; ++q)
            acc[q] += ap[q][k * sak] * bv;
    }
    for (int q = 0; q < 4 && row0 + q < M; ++q) {
        real t[8];
        vstore8(acc[q] * alpha, 0, t);
        const long row = row0 + q;
        __global real *yp = y + b * ys + (bi * M + row) * N;
        for (int o = 0; o < 8 && col0 + o < N; ++o)
            yp[col0 + o] = meta[7] ? t[o] + beta * c[b * cs + row * meta[8] + (col0 + o) * meta[9]] : t[o];
    }
}
