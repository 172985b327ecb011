/* Sin and Cos: the rotations of the fnn perspective module (eye position
 * to rotation angles to rays) compute them at run time; on constants
 * they fold at import. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

static bool is_sin(const tw_node *n)
{
    return strcmp(n->op, "Sin") == 0;
}

tb_status tw_infer_trig(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    tw_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return TB_OK;
}

tb_status tw_eval_trig(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (int64_t k = 0, m = tw_numel(o); k < m; ++k)
        tw_set(o, k, is_sin(n) ? sin(tw_get_f(x, k)) : cos(tw_get_f(x, k)));
    return TB_OK;
}

tb_status tw_plan_trig(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    if (!n)
        return TB_OK;
    tw_args a;
    tb_status st = tw_plan_start(x, "tw_trig", nd, n, &a, err);
    if (st)
        return st;
    tw_arg_tensor(&a, nd->in[0]);
    tw_arg_tensor(&a, nd->out[0]);
    tw_arg_long(&a, (int64_t)n);
    tw_arg_int(&a, is_sin(nd));
    return tw_plan_finish(&a, nd, err);
}
