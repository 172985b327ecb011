/* ConvTranspose (ONNX) on 1-D and 2-D inputs: groups, strides,
 * dilations, explicit pads, output_padding. Each output element gathers
 * the input elements whose scattered taps land on it (no atomics). An
 * output_shape or auto_pad other than NOTSET/VALID is refused: exporters
 * (torch.onnx) write explicit pads and output_padding. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

typedef struct convt {
    int64_t N, C, M, G, in[2], out[2], k[2], s[2], p[2], d[2];
} convt;

static tb_status convt_of(tw_graph *g, const tw_node *n, convt *c, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0), *w = tw_known_in(g, n, 1), *b = tw_in(g, n, 2);
    memset(c, 0, sizeof *c);
    if (!x || (x->rank != 3 && x->rank != 4) || !w || w->rank != x->rank)
        return tw_node_error(g, n, err, "needs an input of rank 3 or 4 (1-D or 2-D) and a weight of its rank");
    int sp = x->rank - 2;
    const char *ap = tw_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0)
        return tw_node_error(g, n, err, "auto_pad %s is not supported (export with explicit pads)", ap);
    if (tw_attr_find(n, "output_shape"))
        return tw_node_error(g, n, err, "output_shape is not supported (export with pads and output_padding)");
    size_t ns, np, nd, no;
    const int64_t *st = tw_attr_ints(n, "strides", &ns), *pd = tw_attr_ints(n, "pads", &np),
                  *dl = tw_attr_ints(n, "dilations", &nd), *op = tw_attr_ints(n, "output_padding", &no);
    if ((st && (int)ns != sp) || (dl && (int)nd != sp) || (pd && (int)np != 2 * sp) || (op && (int)no != sp))
        return tw_node_error(g, n, err, "strides, dilations, pads or output_padding do not fit %d spatial dimensions",
                             sp);
    c->N = x->dims[0], c->C = x->dims[1], c->G = tw_attr_int(n, "group", 1);
    if (c->G < 1 || c->C % c->G || w->dims[0] != c->C)
        return tw_node_error(g, n, err, "the weight must be [C = %lld, M / groups, k...] with groups dividing C",
                             (long long)c->C);
    c->M = w->dims[1] * c->G;
    if (b && (!b->known || tw_numel(b) != c->M))
        return tw_node_error(g, n, err, "bias must have %lld entries", (long long)c->M);
    for (int d = 0; d < 2; ++d) {
        int a = d - (2 - sp); /* the attribute's entry; height 1 for 1-D */
        c->in[d] = a < 0 ? 1 : x->dims[2 + a], c->k[d] = a < 0 ? 1 : w->dims[2 + a];
        c->s[d] = a >= 0 && st ? st[a] : 1, c->d[d] = a >= 0 && dl ? dl[a] : 1;
        c->p[d] = a >= 0 && pd ? pd[a] : 0;
        int64_t pe = a >= 0 && pd ? pd[sp + a] : 0, opad = a >= 0 && op ? op[a] : 0;
        if (c->s[d] < 1 || c->d[d] < 1 || c->p[d] < 0 || pe < 0 || opad < 0 || (opad >= c->s[d] && opad >= c->d[d]))
            return tw_node_error(g, n, err, "strides and dilations must be >= 1, pads >= 0, output_padding below "
                                 "the stride or the dilation");
        c->out[d] = c->s[d] * (c->in[d] - 1) + opad + (c->k[d] - 1) * c->d[d] + 1 - c->p[d] - pe;
        if (c->out[d] < 1)
            return tw_node_error(g, n, err, "the pads leave no output");
    }
    return TB_OK;
}

tb_status tw_infer_convt(tw_graph *g, tw_node *n, tb_error *err)
{
    convt c;
    tb_status st = convt_of(g, n, &c, err);
    if (st)
        return st;
    tw_tensor *x = tw_in(g, n, 0);
    int64_t d[4] = {c.N, c.M, x->rank == 4 ? c.out[0] : c.out[1], c.out[1]};
    tw_set_out(g, n, 0, x->dtype, x->rank, d);
    return TB_OK;
}

tb_status tw_plan_convt(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    convt c;
    tb_status st = convt_of(g, nd, &c, err);
    if (st)
        return st;
    bool has_bias = tw_in(g, nd, 2) != NULL;
    int64_t meta[17] = {c.C, c.M, c.G, has_bias, c.in[0], c.in[1], c.out[0], c.out[1], c.k[0], c.k[1],
                        c.s[0], c.s[1], c.p[0], c.p[1], c.d[0], c.d[1]};
    cl_mem m = tw_plan_meta(x, meta, 16, err);
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    tw_args a;
    st = m ? tw_plan_start(x, "tw_conv_transpose2d", nd, n, &a, err) : err->status;
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
