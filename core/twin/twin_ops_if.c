/* If on values known at import ("If on shapes"): twin_onnx.c inlines
 * both branches, each node guarded by its branch; at import the
 * condition folds to a constant, the other branch's nodes are dropped and
 * the If node keeps the chosen branch's outputs as its inputs, copied to
 * its own outputs (or folded when they are constants). */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

tb_status tw_if_guard(tw_graph *g, const tw_node *n, bool *live, tb_error *err)
{
    *live = true;
    for (int k = 0; k < n->n_guard && *live; ++k) {
        const tw_tensor *c = &g->t[n->guard[k]];
        if (tw_is_const(c)) {
            *live = tw_numel(c) >= 1 && (tw_get_f(c, 0) != 0) == n->guard_then[k];
        } else if (c->known) {
            const tw_node *at = n; /* name the If itself: the first after n that reads the condition */
            for (const tw_node *m = n; m < g->nodes + g->n_nodes; ++m)
                if (strcmp(m->op, "If") == 0 && m->n_in > 0 && m->in[0] == n->guard[k]) {
                    at = m;
                    break;
                }
            return tw_node_error(g, at, err, "its condition ('%s') is computed at run time; the twin kit folds If at "
                                 "import only (on shapes and constants)", c->name);
        } else {
            *live = false; /* the condition belongs to a branch already dropped */
        }
    }
    return TB_OK;
}

tb_status tw_if_choose(tw_graph *g, tw_node *n, tb_error *err)
{
    size_t k = n->n_out;
    if (n->n_in != 2 * k + 1)
        return TB_OK; /* already chosen (a network file) */
    tw_tensor *c = tw_in(g, n, 0);
    if (!c || !tw_is_const(c) || tw_numel(c) != 1)
        return tw_node_error(g, n, err, "its condition%s%s%s is not a single value known at import; the twin kit "
                             "folds If at import only (on shapes and constants)", c ? " ('" : "", c ? c->name : "",
                             c ? "')" : "");
    size_t from = tw_get_f(c, 0) != 0 ? 1 : 1 + k;
    for (size_t j = 0; j < k; ++j)
        n->in[j] = n->in[from + j];
    n->n_in = k;
    return TB_OK;
}

tb_status tw_infer_if(tw_graph *g, tw_node *n, tb_error *err)
{
    if (n->n_in != n->n_out)
        return tw_node_error(g, n, err, "has no branch chosen");
    for (size_t j = 0; j < n->n_out; ++j) {
        tw_tensor *x = tw_known_in(g, n, j);
        if (!x)
            return tw_node_error(g, n, err, "its branch's output %zu has no known shape", j);
        tw_set_out(g, n, j, x->dtype, x->rank, x->dims);
    }
    return TB_OK;
}

tb_status tw_eval_if(tw_graph *g, tw_node *n, tb_error *err)
{
    for (size_t j = 0; j < n->n_out; ++j) {
        tw_tensor *x = tw_in(g, n, j), *o = tw_out(g, n, j);
        if (!o)
            continue;
        if (!tw_tensor_alloc(o))
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        for (int64_t e = 0, m = tw_numel(o); e < m; ++e)
            if (o->i && x->i)
                o->i[e] = x->i[e];
            else
                tw_set(o, e, tw_get_f(x, e));
    }
    return TB_OK;
}

tb_status tw_plan_if(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    for (size_t j = 0; j < nd->n_out; ++j) {
        int64_t n = tw_numel(tw_in(g, nd, j));
        if (nd->out[j] < 0 || n == 0)
            continue;
        int64_t meta[6] = {1, 0, 0, n, 1, 1}; /* tw_copy: rank 1, offsets 0, dims, x and y strides 1 */
        cl_mem m = tw_plan_meta(x, meta, 6, err);
        tw_args a;
        tb_status st = m ? tw_plan_start(x, "tw_copy", nd, (size_t)n, &a, err) : err->status;
        if (st)
            return st;
        tw_arg_tensor(&a, nd->in[j]);
        tw_arg_tensor(&a, nd->out[j]);
        tw_arg_mem(&a, m);
        tw_arg_long(&a, n);
        st = tw_plan_finish(&a, nd, err);
        if (st)
            return st;
    }
    return TB_OK;
}
