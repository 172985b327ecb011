/* Pad (ONNX): constant, edge (replicate) and reflect modes, pads as an
 * input (opset >= 11, with optional axes from 18) or an attribute
 * (older); negative pads crop. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

typedef struct pad_spec {
    int mode; /* 0 constant, 1 edge, 2 reflect (the kernel's codes) */
    double value;
    int64_t begin[TW_MAX_RANK], end[TW_MAX_RANK];
} pad_spec;

static tb_status pad_of(tw_graph *g, const tw_node *n, const tw_tensor *x, pad_spec *p, tb_error *err)
{
    memset(p, 0, sizeof *p);
    const char *mode = tw_attr_string(n, "mode", "constant");
    p->mode = strcmp(mode, "constant") == 0 ? 0 : strcmp(mode, "edge") == 0 ? 1 : strcmp(mode, "reflect") == 0 ? 2 : -1;
    if (p->mode < 0)
        return tw_node_error(g, n, err, "mode '%s' is not supported (constant, edge and reflect are)", mode);
    int r = x->rank;
    int64_t raw[2 * TW_MAX_RANK], axes[TW_MAX_RANK];
    size_t np = 0, na = 0;
    if (n->n_in > 1) {
        tw_tensor *pt, *cv, *at;
        tb_status st = tw_const_in(g, n, 1, "pads input", &pt, err);
        st = st ? st : tw_const_in(g, n, 2, "constant_value input", &cv, err);
        st = st ? st : tw_const_in(g, n, 3, "axes input", &at, err);
        if (st)
            return st;
        if (!pt || tw_numel(pt) > 2 * TW_MAX_RANK)
            return tw_node_error(g, n, err, "needs pads of at most %d entries", 2 * TW_MAX_RANK);
        np = (size_t)tw_numel(pt);
        for (size_t k = 0; k < np; ++k)
            raw[k] = tw_get_i(pt, (int64_t)k);
        p->value = cv && tw_numel(cv) ? tw_get_f(cv, 0) : 0.0;
        for (int64_t k = 0; at && k < tw_numel(at) && k < TW_MAX_RANK; ++k)
            axes[na++] = tw_get_i(at, k);
    } else {
        const int64_t *a = tw_attr_ints(n, "pads", &np);
        if (!a || np > 2 * TW_MAX_RANK)
            return tw_node_error(g, n, err, "needs pads");
        memcpy(raw, a, np * sizeof *a);
        p->value = tw_attr_float(n, "value", 0.0);
    }
    if (!na)
        for (int d = 0; d < r; ++d)
            axes[na++] = d;
    if (np != 2 * na)
        return tw_node_error(g, n, err, "pads has %zu entries for %zu axes", np, na);
    for (size_t k = 0; k < na; ++k) {
        int64_t a = axes[k] < 0 ? axes[k] + r : axes[k];
        if (a < 0 || a >= r)
            return tw_node_error(g, n, err, "axis %lld out of range", (long long)axes[k]);
        p->begin[a] = raw[k], p->end[a] = raw[na + k];
        if (x->dims[a] + p->begin[a] + p->end[a] < 0)
            return tw_node_error(g, n, err, "pads crop more than dimension %lld holds", (long long)a);
        if ((p->begin[a] > 0 || p->end[a] > 0) && x->dims[a] == 0 && p->mode)
            return tw_node_error(g, n, err, "cannot pad an empty dimension in mode '%s'", mode);
        if (p->mode == 2 && (p->begin[a] >= x->dims[a] || p->end[a] >= x->dims[a]))
            return tw_node_error(g, n, err, "reflect pads must be smaller than the dimension (%lld) they pad",
                                 (long long)x->dims[a]);
    }
    return TB_OK;
}

tb_status tw_infer_pad(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = tw_known_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    pad_spec p;
    tb_status st = pad_of(g, n, x, &p, err);
    if (st)
        return st;
    int64_t d[TW_MAX_RANK];
    for (int k = 0; k < x->rank; ++k)
        d[k] = x->dims[k] + p.begin[k] + p.end[k];
    tw_set_out(g, n, 0, x->dtype, x->rank, d);
    return TB_OK;
}

tb_status tw_plan_pad(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    tw_tensor *in = tw_in(g, nd, 0), *o = tw_out(g, nd, 0);
    pad_spec p;
    tb_status st = pad_of(g, nd, in, &p, err);
    if (st)
        return st;
    int r = in->rank;
    int64_t meta[2 + 3 * TW_MAX_RANK] = {r, p.mode};
    for (int d = 0; d < r; ++d)
        meta[2 + d] = o->dims[d], meta[2 + r + d] = in->dims[d], meta[2 + 2 * r + d] = p.begin[d];
    cl_mem m = tw_plan_meta(x, meta, 2 + 3 * (size_t)r, err);
    size_t n = (size_t)tw_numel(o);
    if (!n)
        return TB_OK;
    tw_args a;
    st = m ? tw_plan_start(x, "tw_pad", nd, n, &a, err) : err->status;
    if (st)
        return st;
    tw_arg_tensor(&a, nd->in[0]);
    tw_arg_tensor(&a, nd->out[0]);
    tw_arg_mem(&a, m);
    tw_arg_long(&a, (int64_t)n);
    tw_arg_real(&a, p.value);
    return tw_plan_finish(&a, nd, err);
}
