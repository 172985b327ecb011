/* LSTM and GRU (ONNX's own recurrent ops): forward, reverse or both
 * directions, layout 0, the default activations, with optional initial
 * states and (LSTM) peepholes. A per-frame twin runs them on a sequence of one step with
 * the initial states as recurrent state inputs, paired by name with the
 * final states (docs/twin.md). Kernels: kernels/twin_seq.cl. */
#include "config.h"

#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

typedef struct seq_geom {
    bool lstm, reverse; /* reverse: the one direction runs backwards */
    int64_t T, rows, I, H, gates, dirs;
} seq_geom;

static tb_status seq_of(tw_graph *g, const tw_node *n, seq_geom *s, tb_error *err)
{
    s->lstm = strcmp(n->op, "LSTM") == 0;
    s->gates = s->lstm ? 4 : 3;
    tw_tensor *x = tw_known_in(g, n, 0), *w = tw_known_in(g, n, 1), *r = tw_known_in(g, n, 2);
    const char *dir = tw_attr_string(n, "direction", "forward");
    bool bi = strcmp(dir, "bidirectional") == 0;
    s->reverse = strcmp(dir, "reverse") == 0;
    s->dirs = bi ? 2 : 1;
    if (!bi && !s->reverse && strcmp(dir, "forward") != 0)
        return tw_node_error(g, n, err, "direction '%s' is not supported (forward, reverse, bidirectional are)", dir);
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
    int64_t GH = s->gates * s->H, D = s->dirs;
    if (w->dims[0] != D || w->dims[1] != GH || w->dims[2] != s->I || r->dims[0] != D || r->dims[1] != GH ||
        r->dims[2] != s->H)
        return tw_node_error(g, n, err, "W must be [%lld, %lld, %lld] and R [%lld, %lld, %lld]", (long long)D,
                             (long long)GH, (long long)s->I, (long long)D, (long long)GH, (long long)s->H);
    tw_tensor *b = tw_in(g, n, 3), *sl = tw_in(g, n, 4), *h0 = tw_in(g, n, 5);
    tw_tensor *c0 = s->lstm ? tw_in(g, n, 6) : NULL, *p = s->lstm ? tw_in(g, n, 7) : NULL;
    if (b && (!b->known || tw_numel(b) != 2 * GH * D))
        return tw_node_error(g, n, err, "B must have %lld entries", (long long)(2 * GH * D));
    if (sl) {
        if (!tw_is_const(sl))
            return tw_node_error(g, n, err, "sequence_lens computed at run time is not supported");
        for (int64_t k = 0; k < tw_numel(sl); ++k)
            if (tw_get_i(sl, k) != s->T)
                return tw_node_error(g, n, err, "sequence_lens other than the sequence length is not supported");
    }
    int64_t state = D * s->rows * s->H;
    if ((h0 && (!h0->known || tw_numel(h0) != state)) || (c0 && (!c0->known || tw_numel(c0) != state)))
        return tw_node_error(g, n, err, "initial states must be [%lld, %lld, %lld]", (long long)D,
                             (long long)s->rows, (long long)s->H);
    if (p && (!p->known || tw_numel(p) != 3 * s->H * D))
        return tw_node_error(g, n, err, "P must have %lld entries", (long long)(3 * s->H * D));
    return TB_OK;
}

static tb_status infer_seq(tw_graph *g, tw_node *n, tb_error *err)
{
    seq_geom s;
    tb_status st = seq_of(g, n, &s, err);
    if (st)
        return st;
    int dt = tw_in(g, n, 0)->dtype;
    int64_t y[4] = {s.T, s.dirs, s.rows, s.H}, h[3] = {s.dirs, s.rows, s.H};
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

/* The buffers every step of a node shares. */
typedef struct seq_bufs {
    int b, h0, c0, p, y, yh, yc;
    cl_mem meta, hs, cs;
} seq_bufs;

static tb_status launch_step(tw_exec *x, const tw_node *nd, const seq_geom *s, const seq_bufs *sb, int64_t dir,
                             int64_t t, int phase, tb_error *err)
{
    size_t per = (size_t)(s->rows * s->H);
    bool back = s->reverse || dir == 1;
    int any = nd->in[0];
    tw_args a;
    tb_status st = tw_plan_start(x, s->lstm ? "tw_lstm_step" : "tw_gru_step", nd, per, &a, err);
    if (st)
        return st;
    tw_arg_tensor(&a, nd->in[0]);
    tw_arg_tensor(&a, nd->in[1]);
    tw_arg_tensor(&a, nd->in[2]);
    tw_arg_opt_tensor(&a, sb->b, any);
    tw_arg_opt_tensor(&a, sb->h0, any);
    if (s->lstm) {
        tw_arg_opt_tensor(&a, sb->c0, any);
        tw_arg_opt_tensor(&a, sb->p, any);
    }
    tw_arg_mem(&a, sb->hs);
    tw_arg_long(&a, s->dirs * s->T * (int64_t)per);
    tw_arg_mem(&a, sb->cs);
    tw_arg_long(&a, s->dirs * (int64_t)per);
    tw_arg_opt_tensor(&a, sb->y, any);
    tw_arg_opt_tensor(&a, sb->yh, any);
    if (s->lstm)
        tw_arg_opt_tensor(&a, sb->yc, any);
    tw_arg_mem(&a, sb->meta);
    tw_arg_long(&a, (int64_t)per);
    tw_arg_long(&a, t);
    tw_arg_long(&a, dir);
    tw_arg_long(&a, back ? s->T - 1 - t : t);
    if (!s->lstm)
        tw_arg_int(&a, phase);
    return tw_plan_finish(&a, nd, err);
}

static tb_status plan_seq(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    seq_geom s;
    tb_status st = seq_of(g, nd, &s, err);
    if (st)
        return st;
    seq_bufs sb = {opt(nd, 3, false), opt(nd, 5, false), s.lstm ? opt(nd, 6, false) : -1,
                   s.lstm ? opt(nd, 7, false) : -1, opt(nd, 0, true), opt(nd, 1, true),
                   s.lstm ? opt(nd, 2, true) : -1, NULL, NULL, NULL};
    bool lbr = !s.lstm && tw_attr_int(nd, "linear_before_reset", 0) != 0;
    int64_t meta[13] = {s.T, s.rows, s.I, s.H, sb.b >= 0, sb.h0 >= 0, sb.c0 >= 0, sb.p >= 0, sb.y >= 0, sb.yh >= 0,
                        sb.yc >= 0, lbr, s.dirs};
    size_t per = (size_t)(s.rows * s.H);
    sb.meta = tw_plan_meta(x, meta, 13, err);
    sb.hs = sb.meta ? tw_plan_scratch(x, (size_t)(s.dirs * s.T) * per, err) : NULL;
    sb.cs = sb.hs ? tw_plan_scratch(x, (size_t)s.dirs * per, err) : NULL;
    if (!sb.cs)
        return err->status;
    /* GRU without linear_before_reset: phase 0 forms r (.) h first */
    for (int64_t dir = 0; dir < s.dirs; ++dir)
        for (int64_t t = 0; t < s.T; ++t)
            for (int phase = s.lstm || lbr ? 1 : 0; phase < 2; ++phase)
                if ((st = launch_step(x, nd, &s, &sb, dir, t, phase, err)) != TB_OK)
                    return st;
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
