/* Split (ONNX): the input cut along an axis into consecutive parts,
 * sizes from the `split` input (opset >= 13), the attribute (older), or
 * equal parts (the last smaller, opset 18's num_outputs). Runs as one
 * strided copy per part (tw_copy of kernels/twin.cl). */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

static tb_status split_of(tw_graph *g, const tw_node *n, int64_t *axis, int64_t *sizes, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0), *s;
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t ax = tw_attr_int(n, "axis", 0);
    ax = ax < 0 ? ax + x->rank : ax;
    if (ax < 0 || ax >= x->rank)
        return tw_node_error(g, n, err, "axis out of range");
    tb_status st = tw_const_in(g, n, 1, "split input", &s, err);
    if (st)
        return st;
    size_t na = 0, no = n->n_out;
    const int64_t *a = s ? NULL : tw_attr_ints(n, "split", &na);
    if ((s && (size_t)tw_numel(s) != no) || (a && na != no))
        return tw_node_error(g, n, err, "split has %zu sizes for %zu outputs", s ? (size_t)tw_numel(s) : na, no);
    int64_t total = 0, dim = x->dims[ax], each = no ? (dim + (int64_t)no - 1) / (int64_t)no : 0;
    for (size_t j = 0; j < no; ++j) {
        sizes[j] = s ? tw_get_i(s, (int64_t)j) : a ? a[j] : (j + 1 < no ? each : dim - each * (int64_t)(no - 1));
        if (sizes[j] < 0)
            return tw_node_error(g, n, err, "split sizes do not fit dimension %lld (%lld)", (long long)ax,
                                 (long long)dim);
        total += sizes[j];
    }
    if (total != dim)
        return tw_node_error(g, n, err, "split sizes add up to %lld, not dimension %lld's %lld", (long long)total,
                             (long long)ax, (long long)dim);
    *axis = ax;
    return TB_OK;
}

tb_status tw_infer_split(tw_graph *g, tw_node *n, tb_error *err)
{
    if (n->n_out > 64)
        return tw_node_error(g, n, err, "more than 64 outputs");
    int64_t ax, sizes[64];
    tb_status st = split_of(g, n, &ax, sizes, err);
    if (st)
        return st;
    tw_tensor *x = tw_in(g, n, 0);
    for (size_t j = 0; j < n->n_out; ++j) {
        int64_t d[TW_MAX_RANK];
        memcpy(d, x->dims, sizeof d);
        d[ax] = sizes[j];
        tw_set_out(g, n, j, x->dtype, x->rank, d);
    }
    return TB_OK;
}

/* The sizes before and after the axis: part j is outer x size_j x inner. */
static void part(const tw_tensor *x, int64_t ax, int64_t *outer, int64_t *inner)
{
    *outer = 1, *inner = 1;
    for (int d = 0; d < ax; ++d)
        *outer *= x->dims[d];
    for (int d = (int)ax + 1; d < x->rank; ++d)
        *inner *= x->dims[d];
}

tb_status tw_eval_split(tw_graph *g, tw_node *n, tb_error *err)
{
    int64_t ax, sizes[64], at = 0, outer, inner;
    tb_status st = split_of(g, n, &ax, sizes, err);
    if (st)
        return st;
    tw_tensor *x = tw_in(g, n, 0);
    for (size_t j = 0; j < n->n_out; at += sizes[j++]) {
        tw_tensor *o = tw_out(g, n, j);
        if (!o)
            continue;
        if (!tw_tensor_alloc(o))
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        part(x, ax, &outer, &inner);
        for (int64_t p = 0; p < outer; ++p)
            for (int64_t e = 0; e < sizes[j] * inner; ++e) {
                int64_t src = (p * x->dims[ax] + at) * inner + e, dst = p * sizes[j] * inner + e;
                if (o->i && x->i)
                    o->i[dst] = x->i[src];
                else
                    tw_set(o, dst, tw_get_f(x, src));
            }
    }
    return TB_OK;
}

tb_status tw_plan_split(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    int64_t ax, sizes[64], at = 0, outer, inner;
    tb_status st = split_of(g, nd, &ax, sizes, err);
    if (st)
        return st;
    tw_tensor *in = tw_in(g, nd, 0);
    for (size_t j = 0; j < nd->n_out; at += sizes[j++]) {
        part(in, ax, &outer, &inner);
        int64_t n = outer * sizes[j] * inner;
        if (nd->out[j] < 0 || n == 0)
            continue;
        /* tw_copy's table: rank, xoff, yoff, dims, x strides, y strides */
        int64_t meta[3 + 3 * 2] = {2, at * inner, 0, outer, sizes[j] * inner, in->dims[ax] * inner, 1,
                                   sizes[j] * inner, 1};
        cl_mem m = tw_plan_meta(x, meta, 9, err);
        tw_args a;
        st = m ? tw_plan_start(x, "tw_copy", nd, (size_t)n, &a, err) : err->status;
        if (st)
            return st;
        tw_arg_tensor(&a, nd->in[0]);
        tw_arg_tensor(&a, nd->out[j]);
        tw_arg_mem(&a, m);
        tw_arg_long(&a, n);
        st = tw_plan_finish(&a, nd, err);
        if (st)
            return st;
    }
    return TB_OK;
}
