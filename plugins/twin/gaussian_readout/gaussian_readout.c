/* gaussian_readout: the Gaussian readout of Sensorium-style twins
 * (neuralpredictors' FullGaussian2d at evaluation time, Lurz et al., ICLR
 * 2021) as one op. Each unit u reads the core's feature map at its own
 * position (bilinear, like torch.nn.functional.grid_sample), weighs the
 * channels with its feature vector, adds its bias and goes through
 * ELU + 1. ONNX writes this as GridSample, Squeeze, Mul, ReduceSum, Add,
 * Elu and Add over a [N, C, U] intermediate; fused, each unit reads C x 4
 * values and writes one. */
#include "twinbrain/twin.h"

#include <stdio.h>

static const char *const inputs[] = {"x", "grid", "features", "bias", NULL};
static const char *const attributes[] = {"align_corners", "alpha", "offset", NULL};

static tb_status fail(tb_error *err, const char *msg)
{
    return tb_error_set(err, TB_ERR_INPUT, "%s", msg);
}

static int64_t numel(const tb_twin_node *n, int i)
{
    int64_t k = 1;
    for (int d = 0; d < n->rank[i]; ++d)
        k *= n->dims[i][d];
    return k;
}

/* x [N, C, H, W]; grid [N, U, 1, 2] (as neuralpredictors shapes it) or
 * [N, U, 2]; features C x U values (shape [C, U] or [1, C, 1, U]); bias [U]. */
static tb_status infer(const tb_twin_node *n, int *rank, int64_t *dims, tb_error *err)
{
    if (n->rank[0] != 4)
        return fail(err, "input x must be [N, C, H, W]");
    int gr = n->rank[1];
    if (!(gr == 4 && n->dims[1][2] == 1 && n->dims[1][3] == 2) && !(gr == 3 && n->dims[1][2] == 2))
        return fail(err, "input grid must be [N, U, 1, 2] or [N, U, 2]");
    int64_t N = n->dims[0][0], C = n->dims[0][1], U = n->dims[1][1];
    if (n->dims[1][0] != N)
        return fail(err, "inputs x and grid differ in N");
    if (numel(n, 2) != C * U)
        return fail(err, "input features must hold C x U values ([C, U] or [1, C, 1, U])");
    if (numel(n, 3) != U)
        return fail(err, "input bias must hold U values");
    *rank = 2;
    dims[0] = N;
    dims[1] = U;
    return TB_OK;
}

static size_t meta(const tb_twin_node *n, int64_t *m)
{
    m[0] = n->dims[0][1]; /* C */
    m[1] = n->dims[0][2]; /* H */
    m[2] = n->dims[0][3]; /* W */
    m[3] = n->dims[1][1]; /* U */
    m[4] = n->attr_int(n, "align_corners", 0) != 0;
    return 5;
}

static size_t reals(const tb_twin_node *n, double *r)
{
    r[0] = n->attr_float(n, "alpha", 1.0);
    r[1] = n->attr_float(n, "offset", 1.0);
    return 2;
}

static const char source[] =
    "__kernel void gaussian_readout(__global const real *x, const long xs, __global const real *grid,\n"
    "                               const long gs, __global const real *feat, const long fs,\n"
    "                               __global const real *bias, const long bs, __global real *y, const long ys,\n"
    "                               __global const long *meta, __global const real *reals, const long n)\n"
    "{\n"
    "    const long i = get_global_id(0), b = get_global_id(1);\n"
    "    if (i >= n)\n"
    "        return;\n"
    "    const long C = meta[0], H = meta[1], W = meta[2], U = meta[3];\n"
    "    const long u = i % U, nn = i / U;\n"
    "    __global const real *g = grid + b * gs + i * 2;\n"
    "    /* grid_sample's pixel coordinates of the unit's position */\n"
    "    const real px = meta[4] ? (g[0] + 1) / 2 * (real)(W - 1) : ((g[0] + 1) * (real)W - 1) / 2;\n"
    "    const real py = meta[4] ? (g[1] + 1) / 2 * (real)(H - 1) : ((g[1] + 1) * (real)H - 1) / 2;\n"
    "    const real fx = floor(px), fy = floor(py), tx = px - fx, ty = py - fy;\n"
    "    const long x0 = (long)fx, y0 = (long)fy;\n"
    "    /* the four taps and their weights; a tap outside the map reads 0 (zeros padding) */\n"
    "    real wt[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};\n"
    "    long at[4];\n"
    "    for (int k = 0; k < 4; ++k) {\n"
    "        const long xx = x0 + (k & 1), yy = y0 + (k >> 1);\n"
    "        const int in = xx >= 0 && xx < W && yy >= 0 && yy < H;\n"
    "        at[k] = in ? yy * W + xx : 0;\n"
    "        wt[k] = in ? wt[k] : TB_R(0);\n"
    "    }\n"
    "    __global const real *xp = x + b * xs + nn * C * H * W;\n"
    "    __global const real *fp = feat + b * fs + u;\n"
    "    real acc = 0;\n"
    "    for (long c = 0; c < C; ++c, xp += H * W) {\n"
    "        const real v = xp[at[0]] * wt[0] + xp[at[1]] * wt[1] + xp[at[2]] * wt[2] + xp[at[3]] * wt[3];\n"
    "        acc += fp[c * U] * v;\n"
    "    }\n"
    "    acc += bias[b * bs + u];\n"
    "    y[b * ys + i] = (acc > 0 ? acc : reals[0] * expm1(acc)) + reals[1];\n"
    "}\n";

static const tb_twin_op table = {
    .head = TB_TWIN_TABLE_HEADER,
    .domain = "org.twinbrain",
    .op_type = "GaussianReadout",
    .inputs = inputs,
    .weights = 1u << 2 | 1u << 3, /* features and bias */
    .attributes = attributes,
    .infer = infer,
    .meta = meta,
    .reals = reals,
    .source = source,
    .kernel = "gaussian_readout",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_TWIN_KIND,
    .name = "gaussian_readout",
    .version = "1.0",
    .summary = "fused Gaussian readout: grid-sample per unit, feature dot product, bias, ELU + 1",
    .doc = "y[n, u] = ELU(sum_c features[c, u] * sample(x[n, c], grid[n, u]) + bias[u], alpha) + offset,\n"
           "with sample() the bilinear interpolation of torch.nn.functional.grid_sample (zeros padding;\n"
           "align_corners as the attribute says, 0 by default, as in ONNX GridSample). The readout of\n"
           "Sensorium-style twins (neuralpredictors FullGaussian2d, Lurz et al., ICLR 2021) at evaluation\n"
           "time, where each unit reads its mean position. Nodes: op GaussianReadout of domain\n"
           "org.twinbrain, inputs x [N, C, H, W], grid [N, U, 1, 2] or [N, U, 2], features [C, U] or\n"
           "[1, C, 1, U] (a weight), bias [U] (a weight); output [N, U].",
    .table = &table,
};

TB_PLUGIN_EXPORT(gaussian_readout)
{
    (void)core;
    return &plugin;
}
