/* GridSampleReadout: the Gaussian readout of Sensorium-style twins as one
 * op, written by the importer's fusion pass (twin_fuse.c) in place of
 * GridSample -> Mul -> ReduceSum -> Add. Inputs x [N, C, H, W], grid
 * [N, OH, OW, 2] (GridSample's attributes), features [C, U] or [1, C, U]
 * and an optional bias [U] (both constants), U = OH OW; output [N, U]:
 *   y[n, u] = sum_c features[c, u] sample(x[n, c], grid[n, u]) + bias[u],
 * summed over c in order, then the bias, as the unfused ops sum. Kernel:
 * tw_grid_readout in kernels/twin_ext.cl. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

static bool numel_is(const tw_tensor *t, int64_t n, int max_rank)
{
    return t && tw_is_const(t) && t->f && tw_numel(t) == n && t->rank <= max_rank;
}

tb_status tw_infer_readout(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0), *gr = tw_known_in(g, n, 1);
    if (n->n_in < 3 || !x || !gr || x->rank != 4 || gr->rank != 4 || gr->dims[3] != 2 || gr->dims[0] != x->dims[0])
        return tw_node_error(g, n, err, "needs an input [N, C, H, W], a grid [N, H_out, W_out, 2] and features");
    const char *mode = tw_attr_string(n, "mode", "bilinear"), *pad = tw_attr_string(n, "padding_mode", "zeros");
    if ((strcmp(mode, "bilinear") != 0 && strcmp(mode, "linear") != 0) ||
        (strcmp(pad, "zeros") != 0 && strcmp(pad, "border") != 0))
        return tw_node_error(g, n, err, "mode '%s' and padding_mode '%s': bilinear with zeros or border is supported",
                             mode, pad);
    int64_t C = x->dims[1], U = gr->dims[1] * gr->dims[2];
    tw_tensor *f = tw_in(g, n, 2), *b = n->n_in > 3 ? tw_in(g, n, 3) : NULL;
    if (!numel_is(f, C * U, 3) || (f->rank >= 2 && (f->dims[f->rank - 1] != U || f->dims[f->rank - 2] != C)))
        return tw_node_error(g, n, err, "features must be a constant [C, U] or [1, C, U] (C = %lld, U = %lld)",
                             (long long)C, (long long)U);
    if (b && !numel_is(b, U, 2))
        return tw_node_error(g, n, err, "bias must be a constant of U = %lld values", (long long)U);
    int64_t d[2] = {x->dims[0], U};
    tw_set_out(g, n, 0, x->dtype, 2, d);
    return TB_OK;
}

tb_status tw_plan_readout(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    tw_tensor *in = tw_in(g, nd, 0), *o = tw_out(g, nd, 0);
    int bias = nd->n_in > 3 ? nd->in[3] : -1;
    int64_t meta[7] = {in->dims[1], in->dims[2], in->dims[3], o->dims[1], tw_attr_int(nd, "align_corners", 0),
                       strcmp(tw_attr_string(nd, "padding_mode", "zeros"), "border") == 0, bias >= 0};
    cl_mem m = tw_plan_meta(x, meta, 7, err);
    size_t n = (size_t)tw_numel(o); /* one work-item per unit and image */
    if (!m || !n)
        return m ? TB_OK : err->status;
    tw_args a;
    tb_status st = tw_plan_start(x, "tw_grid_readout", nd, n, &a, err);
    if (st)
        return st;
    tw_arg_tensor(&a, nd->in[0]);
    tw_arg_tensor(&a, nd->in[1]);
    tw_arg_tensor(&a, nd->in[2]);
    tw_arg_opt_tensor(&a, bias, nd->in[2]);
    tw_arg_tensor(&a, nd->out[0]);
    tw_arg_mem(&a, m);
    tw_arg_long(&a, (int64_t)n);
    return tw_plan_finish(&a, nd, err);
}
