/* Conv on 3-D inputs [N, C, D, H, W] (ONNX Conv with three spatial
 * dimensions): groups, strides, dilations, explicit zero pads. Replicate
 * padding arrives as a Pad node (mode edge) before it. Causal temporal
 * convolutions are this op on the frames a recurrent state keeps. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

tb_status tw_window3_of(tw_graph *g, const tw_node *n, tw_window3 *w, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0), *k = tw_known_in(g, n, 1);
    memset(w, 0, sizeof *w);
    if (!x || x->rank != 5 || !k || k->rank != 5)
        return tw_node_error(g, n, err, "needs an input [N, C, D, H, W] and a weight [M, C/groups, kD, kH, kW]");
    size_t nk, ns, np, nd;
    const int64_t *ks = tw_attr_ints(n, "kernel_shape", &nk), *st = tw_attr_ints(n, "strides", &ns),
                  *pd = tw_attr_ints(n, "pads", &np), *dl = tw_attr_ints(n, "dilations", &nd);
    const char *ap = tw_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0)
        return tw_node_error(g, n, err, "auto_pad %s is not supported (export with explicit pads)", ap);
    if ((ks && nk != 3) || (st && ns != 3) || (dl && nd != 3) || (pd && np != 6))
        return tw_node_error(g, n, err, "kernel_shape, strides, dilations or pads do not fit 3 spatial dimensions");
    w->N = x->dims[0], w->C = x->dims[1], w->M = k->dims[0], w->groups = tw_attr_int(n, "group", 1);
    if (w->groups < 1 || w->C % w->groups || w->M % w->groups || k->dims[1] * w->groups != w->C)
        return tw_node_error(g, n, err, "channels (%lld in, %lld out) do not fit %lld groups", (long long)w->C,
                             (long long)w->M, (long long)w->groups);
    for (int d = 0; d < 3; ++d) {
        w->in[d] = x->dims[2 + d], w->k[d] = k->dims[2 + d];
        if (ks && ks[d] != w->k[d])
            return tw_node_error(g, n, err, "kernel_shape differs from the weight's shape");
        w->s[d] = st ? st[d] : 1, w->d[d] = dl ? dl[d] : 1, w->p[d] = pd ? pd[d] : 0;
        int64_t pe = pd ? pd[3 + d] : 0;
        if (w->s[d] < 1 || w->d[d] < 1 || w->p[d] < 0 || pe < 0)
            return tw_node_error(g, n, err, "strides and dilations must be >= 1 and pads >= 0");
        int64_t e = w->in[d] + w->p[d] + pe - w->d[d] * (w->k[d] - 1) - 1;
        if (e < 0)
            return tw_node_error(g, n, err, "the window is larger than the padded input");
        w->out[d] = e / w->s[d] + 1;
    }
    return TB_OK;
}

tb_status tw_infer_conv3d(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_window3 w;
    tb_status st = tw_window3_of(g, n, &w, err);
    if (st)
        return st;
    tw_tensor *b = tw_in(g, n, 2);
    if (b && (!b->known || b->rank != 1 || b->dims[0] != w.M))
        return tw_node_error(g, n, err, "bias must have %lld entries", (long long)w.M);
    int64_t d[5] = {w.N, w.M, w.out[0], w.out[1], w.out[2]};
    tw_set_out(g, n, 0, tw_in(g, n, 0)->dtype, 5, d);
    return TB_OK;
}

tb_status tw_plan_conv3d(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    tw_window3 w;
    tb_status st = tw_window3_of(g, nd, &w, err);
    if (st)
        return st;
    bool has_bias = tw_in(g, nd, 2) != NULL;
    int64_t meta[24] = {w.N, w.C, w.M, w.groups, has_bias};
    for (int d = 0; d < 3; ++d) {
        meta[5 + d] = w.in[d], meta[8 + d] = w.out[d], meta[11 + d] = w.k[d];
        meta[14 + d] = w.s[d], meta[17 + d] = w.p[d], meta[20 + d] = w.d[d];
    }
    cl_mem m = tw_plan_meta(x, meta, 23, err);
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    tw_args a;
    st = m ? tw_plan_start(x, "tw_conv3d", nd, n, &a, err) : err->status;
    if (st)
        return st;
    tw_arg_tensor(&a, nd->in[0]);
    tw_arg_tensor(&a, nd->in[1]);
    tw_arg_opt_tensor(&a, has_bias ? nd->in[2] : -1, nd->in[1]);
    tw_arg_tensor(&a, nd->out[0]);
    tw_arg_mem(&a, m);
    tw_arg_long(&a, (int64_t)n);
    return tw_plan_finish(&a, nd, err);
}
