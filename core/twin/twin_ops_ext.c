/* Shared helpers of the twin_ops_*.c files and the dispatch of their
 * planners by op name. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

tw_tensor *tw_known_in(tw_graph *g, const tw_node *n, size_t i)
{
    tw_tensor *t = tw_in(g, n, i);
    return t && t->known ? t : NULL;
}

void tw_set_out(tw_graph *g, const tw_node *n, size_t i, int dtype, int rank, const int64_t *dims)
{
    tw_tensor *o = tw_out(g, n, i);
    if (!o)
        return;
    o->dtype = dtype;
    o->rank = rank;
    memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
    o->known = true;
}

tb_status tw_const_in(tw_graph *g, const tw_node *n, size_t i, const char *what, tw_tensor **t, tb_error *err)
{
    *t = tw_in(g, n, i);
    if (*t && !tw_is_const(*t))
        return tw_node_error(g, n, err, "its %s ('%s') is computed at run time; the twin kit needs it fixed at import",
                             what, (*t)->name);
    return TB_OK;
}

tb_status tw_plan_ext(tw_exec *x, const tw_node *nd, tb_error *err)
{
    static const struct {
        const char *op;
        tb_status (*plan)(tw_exec *, const tw_node *, tb_error *);
    } planners[] = {
        {"Conv", tw_plan_conv3d},
        {"Pad", tw_plan_pad},
        {"LayerNormalization", tw_plan_norm},
        {"InstanceNormalization", tw_plan_norm},
        {"LSTM", tw_plan_lstm},
        {"GRU", tw_plan_gru},
        {"Sin", tw_plan_trig},
        {"If", tw_plan_if},
        {"ConvTranspose", tw_plan_convt},
        {"Split", tw_plan_split},
        {"Einsum", tw_plan_einsum},
        {"Cos", tw_plan_trig},
        {"GridSampleReadout", tw_plan_readout},
    };
    for (size_t k = 0; k < sizeof planners / sizeof planners[0]; ++k)
        if (strcmp(planners[k].op, nd->op) == 0)
            return planners[k].plan(x, nd, err);
    return tb_error_set(err, TB_ERR_INPUT, "node '%s': op '%s' has no device plan", nd->name, nd->op);
}
