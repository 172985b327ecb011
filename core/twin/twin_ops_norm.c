/* LayerNormalization (opset 17) and InstanceNormalization: every row
 * (the trailing axes from `axis`; the spatial axes of one channel)
 * normalised to mean 0, variance 1 (biased), then scaled and shifted. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

/* rows x inner: the split of the input; rows_mod, rstr, jstr: where the
 * scale of element j of row q is ((q % rows_mod) * rstr + j * jstr). */
typedef struct norm_geom {
    int64_t rows, inner, rows_mod, rstr, jstr;
} norm_geom;

static tb_status norm_of(tw_graph *g, const tw_node *n, norm_geom *ng, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0), *s = tw_known_in(g, n, 1), *b = tw_in(g, n, 2);
    if (!x || !s)
        return tw_node_error(g, n, err, "needs an input and a scale of known shape");
    for (size_t j = 1; j < n->n_out; ++j)
        if (tw_out(g, n, j))
            return tw_node_error(g, n, err, "the mean and inverse standard deviation outputs are not supported");
    int64_t per = tw_numel(s);
    if (b && (!b->known || tw_numel(b) != per))
        return tw_node_error(g, n, err, "scale and bias differ in size");
    if (strcmp(n->op, "InstanceNormalization") == 0) {
        if (x->rank < 3 || per != x->dims[1])
            return tw_node_error(g, n, err, "needs an input [N, C, ...] and scale and bias of C entries");
        ng->inner = tw_numel(x) / (x->dims[0] * x->dims[1]);
        ng->rows_mod = x->dims[1], ng->rstr = 1, ng->jstr = 0;
    } else {
        int64_t ax = tw_attr_int(n, "axis", -1);
        ax = ax < 0 ? ax + x->rank : ax;
        if (ax < 0 || ax >= x->rank)
            return tw_node_error(g, n, err, "axis %lld out of range", (long long)tw_attr_int(n, "axis", -1));
        ng->inner = 1;
        for (int d = (int)ax; d < x->rank; ++d)
            ng->inner *= x->dims[d];
        if (per != ng->inner && per != 1)
            return tw_node_error(g, n, err, "scale and bias must have 1 or %lld entries (the normalised shape)",
                                 (long long)ng->inner);
        ng->rows_mod = 1, ng->rstr = 0, ng->jstr = per == 1 ? 0 : 1;
    }
    ng->rows = ng->inner ? tw_numel(x) / ng->inner : 0;
    return TB_OK;
}

static tb_status infer_norm(tw_graph *g, tw_node *n, tb_error *err)
{
    norm_geom ng;
    tb_status st = norm_of(g, n, &ng, err);
    if (st)
        return st;
    tw_tensor *x = tw_in(g, n, 0);
    tw_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return TB_OK;
}

tb_status tw_infer_layernorm(tw_graph *g, tw_node *n, tb_error *err)
{
    return infer_norm(g, n, err);
}

tb_status tw_infer_instancenorm(tw_graph *g, tw_node *n, tb_error *err)
{
    return infer_norm(g, n, err);
}

tb_status tw_plan_norm(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    norm_geom ng;
    tb_status st = norm_of(g, nd, &ng, err);
    if (st)
        return st;
    bool has_bias = tw_in(g, nd, 2) != NULL;
    int64_t meta[5] = {ng.inner, ng.rows_mod, ng.rstr, ng.jstr, has_bias};
    cl_mem m = tw_plan_meta(x, meta, 5, err);
    if (!m)
        return err->status;
    if (!ng.rows)
        return TB_OK;
    tw_args a;
    st = tw_plan_start(x, "tw_norm", nd, (size_t)ng.rows, &a, err);
    if (st)
        return st;
    tw_arg_tensor(&a, nd->in[0]);
    tw_arg_tensor(&a, nd->in[1]);
    tw_arg_opt_tensor(&a, has_bias ? nd->in[2] : -1, nd->in[1]);
    tw_arg_tensor(&a, nd->out[0]);
    tw_arg_mem(&a, m);
    tw_arg_long(&a, ng.rows);
    tw_arg_real(&a, tw_attr_float(nd, "epsilon", 1e-5));
    return tw_plan_finish(&a, nd, err);
}
