/* LSTM and GRU (ONNX's own recurrent ops): forward direction, layout 0,
 * the default activations, with optional initial states and (LSTM)
 * peepholes. A per-frame twin runs them on a sequence of one step with
 * the initial states as recurrent state inputs, paired by name with the
 * final states (docs/twin.md). Kernels: kernels/twin_seq.cl. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

typedef struct seq_geom {
    bool lstm;
    int64_t T, rows, I, H, gates;
} seq_geom;

static tb_status seq_of(tw_graph *g, const tw_node *n, seq_geom *s, tb_error *err)
{
    s->lstm = strcmp(n->op, "LSTM") == 0;
    s->gates = s->lstm ? 4 : 3;
    tw_tensor *x = tw_known_in(g, n, 0), *w = tw_known_in(g, n, 1), *r = tw_known_in(g, n, 2);
    const char *dir = tw_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") != 0)
        return tw_node_error(g, n, err, "direction '%s' is not supported (forward is)", dir);
    if (tw_attr_int(n, "layout", 0) != 0)
        return tw_node_error(g, n, err, "layout 1 (batch first) is not supported (layout 0 is)");
    if (tw_attr_find(n, "clip"))
        return tw_node_error(g, n, err, "the clip attribute is not supported");
    if (s->lstm && tw_attr_int(n, "input_forget", 0) != 0)
        return tw_node_error(g, n, err, "input_forget = 1 is not supported");
    if (tw_attr_find(n, "activations") || tw_attr_find(n, "activation_alpha") || tw_attr_find(n, "activation_beta"))
        return tw_node_error(g, n, err, "activations other than the defaults (sigmoid, tanh%s) are not supported",
                             s->lstm ? ", tanh" : "");
    if (!x || x->rank != 3 || !w || w->rank != 3 || !r || r->rank != 3)
        return tw_node_error(g, n, err, "needs X [T, batch, input], W and R of rank 3");
    s->T = x->dims[0], s->rows = x->dims[1], s->I = x->dims[2];
    s->H = tw_attr_int(n, "hidden_size", r->dims[2]);
    int64_t GH = s->gates * s->H;
    if (w->dims[0] != 1 || w->dims[1] != GH || w->dims[2] != s->I || r->dims[0] != 1 || r->dims[1] != GH ||
        r->dims[2] != s->H)
        return tw_node_error(g, n, err, "W must be [1, %lld, %lld] and R [1, %lld, %lld]", (long long)GH,
                             (long long)s->I, (long long)GH, (long long)s->H);
    tw_tensor *b = tw_in(g, n, 3), *sl = tw_in(g, n, 4), *h0 = tw_in(g, n, 5);
    tw_tensor *c0 = s->lstm ? tw_in(g, n, 6) : NULL, *p = s->lstm ? tw_in(g, n, 7) : NULL;
    if (b && (!b->known || tw_numel(b) != 2 * GH))
        return tw_node_error(g, n, err, "B must have %lld entries", (long long)(2 * GH));
    if (sl) {
        if (!tw_is_const(sl))
            return tw_node_error(g, n, err, "sequence_lens computed at run time is not supported");
        for (int64_t k = 0; k < tw_numel(sl); ++k)
            if (tw_get_i(sl, k) != s->T)
                return tw_node_error(g, n, err, "sequence_lens other than the sequence length is not supported");
    }
    int64_t state = s->rows * s->H;
    if ((h0 && (!h0->known || tw_numel(h0) != state)) || (c0 && (!c0->known || tw_numel(c0) != state)))
        return tw_node_error(g, n, err, "initial states must be [1, %lld, %lld]", (long long)s->rows,
                             (long long)s->H);
    if (p && (!p->known || tw_numel(p) != 3 * s->H))
        return tw_node_error(g, n, err, "P must have %lld entries", (long long)(3 * s->H));
    return TB_OK;
}

static tb_status infer_seq(tw_graph *g, tw_node *n, tb_error *err)
{
    seq_geom s;
    tb_status st = seq_of(g, n, &s, err);
    if (st)
        return st;
    int dt = tw_in(g, n, 0)->dtype;
    int64_t y[4] = {s.T, 1, s.rows, s.H}, h[3] = {1, s.rows, s.H};
    tw_set_out(g, n, 0, dt, 4, y);
    for (size_t j = 1; j < n->n_out; ++j)
        tw_set_out(g, n, j, dt, 3, h);
    return TB_OK;
}

tb_status tw_infer_lstm(tw_graph *g, tw_node *n, tb_error *err)
{
    return infer_seq(g, n, err);
}

tb_status tw_infer_gru(tw_graph *g, tw_node *n, tb_error *err)
{
    return infer_seq(g, n, err);
}

static int opt(const tw_node *n, size_t i, bool io_out)
{
    size_t cnt = io_out ? n->n_out : n->n_in;
    const int *v = io_out ? n->out : n->in;
    return i < cnt ? v[i] : -1;
}

static tb_status plan_seq(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    seq_geom s;
    tb_status st = seq_of(g, nd, &s, err);
    if (st)
        return st;
    int b = opt(nd, 3, false), h0 = opt(nd, 5, false), c0 = s.lstm ? opt(nd, 6, false) : -1;
    int p = s.lstm ? opt(nd, 7, false) : -1;
    int y = opt(nd, 0, true), yh = opt(nd, 1, true), yc = s.lstm ? opt(nd, 2, true) : -1;
    int64_t meta[12] = {s.T, s.rows, s.I, s.H, b >= 0, h0 >= 0, c0 >= 0, p >= 0, y >= 0, yh >= 0, yc >= 0,
                        s.lstm ? 0 : tw_attr_int(nd, "linear_before_reset", 0) != 0};
    size_t per = (size_t)(s.rows * s.H);
    cl_mem m = tw_plan_meta(x, meta, 12, err);
    cl_mem hs = m ? tw_plan_scratch(x, (size_t)s.T * per, err) : NULL;
    cl_mem cs = hs ? tw_plan_scratch(x, per, err) : NULL;
    if (!cs)
        return err->status;
    int any = nd->in[0];
    for (int64_t t = 0; t < s.T; ++t)
        for (int phase = s.lstm || meta[11] ? 1 : 0; phase < 2; ++phase) {
            tw_args a;
            st = tw_plan_start(x, s.lstm ? "tw_lstm_step" : "tw_gru_step", nd, per, &a, err);
            if (st)
                return st;
            tw_arg_tensor(&a, nd->in[0]);
            tw_arg_tensor(&a, nd->in[1]);
            tw_arg_tensor(&a, nd->in[2]);
            tw_arg_opt_tensor(&a, b, any);
            tw_arg_opt_tensor(&a, h0, any);
            if (s.lstm) {
                tw_arg_opt_tensor(&a, c0, any);
                tw_arg_opt_tensor(&a, p, any);
            }
            tw_arg_mem(&a, hs);
            tw_arg_long(&a, s.T * (int64_t)per);
            tw_arg_mem(&a, cs);
            tw_arg_long(&a, (int64_t)per);
            tw_arg_opt_tensor(&a, y, any);
            tw_arg_opt_tensor(&a, yh, any);
            if (s.lstm)
                tw_arg_opt_tensor(&a, yc, any);
            tw_arg_mem(&a, m);
            tw_arg_long(&a, (int64_t)per);
            tw_arg_long(&a, t);
            if (!s.lstm)
                tw_arg_int(&a, phase);
            st = tw_plan_finish(&a, nd, err);
            if (st)
                return st;
        }
    return TB_OK;
}

tb_status tw_plan_lstm(tw_exec *x, const tw_node *nd, tb_error *err)
{
    return plan_seq(x, nd, err);
}

tb_status tw_plan_gru(tw_exec *x, const tw_node *nd, tb_error *err)
{
    return plan_seq(x, nd, err);
}
