/* Import-time work on a twin graph: with the inputs' sizes fixed, every
 * shape is known, shape arithmetic (Shape, Gather, Concat, Cast, Range,
 * ...) folds into constants, BatchNormalization folds into the Conv
 * before it, and what no output needs is dropped. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "twin_import.h"
#include "twin_ops.h"
#include "twin_ops_ext.h"
#include "twin_plugin.h"
#include "util.h"

static bool all_const_inputs(tw_graph *g, const tw_node *n)
{
    bool any = false;
    for (size_t j = 0; j < n->n_in; ++j) {
        tw_tensor *t = tw_in(g, n, j);
        if (t && !tw_is_const(t))
            return false;
        any |= t != NULL;
    }
    return any;
}

/* Infer, then fold the node when its value is known now. dead[k]: folded. */
static tb_status visit(tw_graph *g, size_t k, bool *dead, tb_error *err)
{
    tw_node *n = &g->nodes[k];
    bool live;
    tb_status gs = tw_if_guard(g, n, &live, err);
    if (gs || !live) {
        dead[k] = !live;
        return gs;
    }
    if (strcmp(n->op, "If") == 0 && (gs = tw_if_choose(g, n, err)) != TB_OK)
        return gs;
    const tw_op *op = tw_node_op(n);
    if (!op)
        return tb_error_set(err, TB_ERR_INPUT, "%s: node '%s': op '%s' (opset %lld) is not supported by the twin kit",
                            g->source ? g->source : "model", n->name, n->op, (long long)g->opset);
    for (size_t j = 0; j < n->n_in; ++j) {
        tw_tensor *t = tw_in(g, n, j);
        if (t && !t->known && !tw_is_const(t))
            return tw_node_error(g, n, err, "its input '%s' is computed by no node before it", t->name);
    }
    for (size_t j = 0; j < n->n_out; ++j) {
        tw_tensor *t = tw_out(g, n, j);
        if (t && (tw_is_const(t) || t->known))
            return tw_node_error(g, n, err, "its output '%s' is computed twice", t->name);
    }
    tb_status st = op->infer(g, n, err);
    if (st)
        return st;
    bool shape_only = strcmp(n->op, "Shape") == 0;
    if (tw_op_foldable(op) && (shape_only || all_const_inputs(g, n))) {
        dead[k] = true;
        return tw_op_eval(g, n, op, err);
    }
    if (op->kind == TW_K_HOST)
        return tw_node_error(g, n, err, "computes on values known only at run time; the twin kit folds this op at "
                                        "import only (with fixed input sizes)");
    for (size_t j = 0; j < n->n_out; ++j) {
        tw_tensor *t = tw_out(g, n, j);
        if (t && !tw_is_float(t->dtype) && !(strcmp(n->op, "Dropout") == 0 && j == 1))
            return tw_node_error(g, n, err, "computes %s values at run time; the twin kit runs float tensors only",
                                 tw_dtype_name(t->dtype));
    }
    return TB_OK;
}

/* How many live nodes read tensor t, plus one if it is a graph output. */
static size_t uses(const tw_graph *g, const bool *dead, int t)
{
    size_t u = 0;
    for (size_t k = 0; k < g->n_nodes; ++k)
        for (size_t j = 0; !dead[k] && j < g->nodes[k].n_in; ++j)
            u += g->nodes[k].in[j] == t;
    for (size_t j = 0; j < g->n_outputs; ++j)
        u += g->outputs[j] == t;
    return u;
}

static int producer(const tw_graph *g, const bool *dead, int t)
{
    for (size_t k = 0; k < g->n_nodes; ++k)
        for (size_t j = 0; !dead[k] && j < g->nodes[k].n_out; ++j)
            if (g->nodes[k].out[j] == t)
                return (int)k;
    return -1;
}

static int new_const(tw_graph *g, const char *base, const char *suffix, const tw_tensor *like)
{
    char *nm = tb_asprintf("%s%s", base, suffix);
    int k = nm ? tw_graph_tensor(g, nm) : -1;
    free(nm);
    if (k < 0)
        return -1;
    tw_tensor *t = &g->t[k];
    t->dtype = like->dtype;
    t->rank = like->rank;
    memcpy(t->dims, like->dims, sizeof t->dims);
    return tw_tensor_alloc(t) ? k : -1;
}

/* W' = W s, b' = (b - mean) s + beta with s = gamma / sqrt(var + eps). */
static tb_status fold_bn(tw_graph *g, size_t k, bool *dead, tb_error *err)
{
    tw_node *bn = &g->nodes[k];
    int ci = producer(g, dead, bn->in[0]);
    if (ci < 0 || strcmp(g->nodes[ci].op, "Conv") != 0 || uses(g, dead, bn->in[0]) != 1)
        return TB_OK;
    tw_node *cv = &g->nodes[ci];
    tw_tensor *w = tw_in(g, cv, 1), *b = tw_in(g, cv, 2);
    if (!tw_is_const(w) || (b && !tw_is_const(b)))
        return TB_OK;
    tw_tensor *gam = tw_in(g, bn, 1), *beta = tw_in(g, bn, 2), *mean = tw_in(g, bn, 3), *var = tw_in(g, bn, 4);
    double eps = tw_attr_float(bn, "epsilon", 1e-5);
    int64_t M = w->dims[0], per = tw_numel(w) / M;
    tw_tensor bias_like = {.dtype = w->dtype, .rank = 1, .dims = {M}};
    int wk = new_const(g, cv->name, "/weight_bn_folded", w);
    int bk = wk >= 0 ? new_const(g, cv->name, "/bias_bn_folded", &bias_like) : -1;
    if (bk < 0)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory folding batch norm");
    bn = &g->nodes[k], cv = &g->nodes[ci]; /* the tensor table may have moved */
    w = tw_in(g, cv, 1), b = tw_in(g, cv, 2);
    gam = tw_in(g, bn, 1), beta = tw_in(g, bn, 2), mean = tw_in(g, bn, 3), var = tw_in(g, bn, 4);
    for (int64_t m = 0; m < M; ++m) {
        double s = tw_get_f(gam, m) / sqrt(tw_get_f(var, m) + eps);
        for (int64_t e = 0; e < per; ++e)
            tw_set(&g->t[wk], m * per + e, tw_get_f(w, m * per + e) * s);
        tw_set(&g->t[bk], m, ((b ? tw_get_f(b, m) : 0.0) - tw_get_f(mean, m)) * s + tw_get_f(beta, m));
    }
    if (cv->n_in < 3) {
        int *in = realloc(cv->in, 3 * sizeof *in);
        if (!in)
            return tb_error_set(err, TB_ERR_OTHER, "out of memory folding batch norm");
        cv->in = in;
        cv->n_in = 3;
    }
    cv->in[1] = wk, cv->in[2] = bk;
    cv->out[0] = bn->out[0];
    dead[k] = true;
    return TB_OK;
}

/* Keep the nodes an output needs; mark the rest dead. */
static void prune(tw_graph *g, bool *dead)
{
    bool *need = calloc(g->n_t + 1, 1);
    if (!need)
        return;
    for (size_t j = 0; j < g->n_outputs; ++j)
        need[g->outputs[j]] = true;
    for (size_t k = g->n_nodes; k-- > 0;) {
        tw_node *n = &g->nodes[k];
        bool live = false;
        for (size_t j = 0; !dead[k] && j < n->n_out; ++j)
            live |= n->out[j] >= 0 && need[n->out[j]];
        if (!live) {
            dead[k] = true;
            continue;
        }
        for (size_t j = 0; j < n->n_in; ++j)
            if (n->in[j] >= 0)
                need[n->in[j]] = true;
    }
    free(need);
}

/* Drop dead nodes and the tensors nothing refers to; renumber. */
static tb_status compact(tw_graph *g, bool *dead, tb_error *err)
{
    int *map = malloc((g->n_t + 1) * sizeof *map);
    bool *keep = calloc(g->n_t + 1, 1);
    if (!map || !keep) {
        free(map);
        free(keep);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    size_t live = 0;
    for (size_t k = 0; k < g->n_nodes; ++k) {
        tw_node *n = &g->nodes[k];
        if (dead[k]) {
            tw_node_free(n);
            continue;
        }
        for (size_t j = 0; j < n->n_in; ++j)
            if (n->in[j] >= 0)
                keep[n->in[j]] = true;
        for (size_t j = 0; j < n->n_out; ++j)
            if (n->out[j] >= 0)
                keep[n->out[j]] = true;
        for (size_t a = 0; a < n->n_attrs; ++a)
            if (n->attrs[a].type == TW_A_TENSOR && n->attrs[a].tensor >= 0)
                keep[n->attrs[a].tensor] = true;
        g->nodes[live++] = *n;
    }
    g->n_nodes = live;
    for (size_t j = 0; j < g->n_inputs; ++j)
        keep[g->inputs[j]] = true;
    for (size_t j = 0; j < g->n_outputs; ++j)
        keep[g->outputs[j]] = true;
    size_t nt = 0;
    for (size_t k = 0; k < g->n_t; ++k) {
        if (!keep[k]) {
            free(g->t[k].name);
            free(g->t[k].f);
            free(g->t[k].i);
            map[k] = -1;
            continue;
        }
        map[k] = (int)nt;
        g->t[nt++] = g->t[k];
    }
    g->n_t = nt;
    for (size_t k = 0; k < g->n_nodes; ++k) {
        tw_node *n = &g->nodes[k];
        for (size_t j = 0; j < n->n_in; ++j)
            n->in[j] = n->in[j] >= 0 ? map[n->in[j]] : -1;
        for (size_t j = 0; j < n->n_out; ++j)
            n->out[j] = n->out[j] >= 0 ? map[n->out[j]] : -1;
        for (size_t a = 0; a < n->n_attrs; ++a)
            if (n->attrs[a].type == TW_A_TENSOR && n->attrs[a].tensor >= 0)
                n->attrs[a].tensor = map[n->attrs[a].tensor];
    }
    for (size_t j = 0; j < g->n_inputs; ++j)
        g->inputs[j] = map[g->inputs[j]];
    for (size_t j = 0; j < g->n_outputs; ++j)
        g->outputs[j] = map[g->outputs[j]];
    free(map);
    free(keep);
    return TB_OK;
}

/* Input NAME and output NAME_next: recurrent state carried between frames. */
static tb_status pair_state(tw_graph *g, tb_error *err)
{
    g->state_in = malloc((g->n_inputs + 1) * sizeof *g->state_in);
    g->state_out = malloc((g->n_inputs + 1) * sizeof *g->state_out);
    if (!g->state_in || !g->state_out)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t j = 0; j < g->n_inputs; ++j) {
        tw_tensor *in = &g->t[g->inputs[j]];
        for (size_t o = 0; o < g->n_outputs; ++o) {
            tw_tensor *out = &g->t[g->outputs[o]];
            size_t len = strlen(in->name);
            if (strncmp(out->name, in->name, len) != 0 || strcmp(out->name + len, "_next") != 0)
                continue;
            if (out->rank != in->rank || memcmp(out->dims, in->dims, (size_t)in->rank * sizeof in->dims[0]) != 0)
                return tb_error_set(err, TB_ERR_INPUT, "state input '%s' and output '%s' differ in shape", in->name,
                                    out->name);
            g->state_in[g->n_state] = g->inputs[j];
            g->state_out[g->n_state++] = g->outputs[o];
        }
    }
    return TB_OK;
}

tb_status tw_graph_fold(tw_graph *g, tb_error *err)
{
    bool *dead = calloc(g->n_nodes + 1, 1);
    if (!dead)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k)
        st = visit(g, k, dead, err);
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k)
        if (!dead[k] && strcmp(g->nodes[k].op, "BatchNormalization") == 0)
            st = fold_bn(g, k, dead, err);
    for (size_t j = 0; st == TB_OK && j < g->n_outputs; ++j) {
        tw_tensor *t = &g->t[g->outputs[j]];
        if (tw_is_const(t) || !t->known)
            st = tb_error_set(err, TB_ERR_INPUT, "output '%s' %s", t->name,
                              tw_is_const(t) ? "is a constant (it depends on no input)" : "is computed by no node");
    }
    if (st == TB_OK) {
        prune(g, dead);
        st = compact(g, dead, err);
    }
    free(dead);
    return st ? st : pair_state(g, err);
}

tb_status tw_graph_prune(tw_graph *g, tb_error *err)
{
    bool *dead = calloc(g->n_nodes + 1, 1);
    if (!dead)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    prune(g, dead);
    tb_status st = compact(g, dead, err);
    free(dead);
    free(g->state_in);
    free(g->state_out);
    g->state_in = g->state_out = NULL;
    g->n_state = 0;
    return st ? st : pair_state(g, err);
}

tb_status tw_graph_verify(tw_graph *g, const char *file, tb_error *err)
{
    bool *ready = calloc(g->n_t + 1, 1);
    if (!ready)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; k < g->n_t; ++k)
        ready[k] = tw_is_const(&g->t[k]);
    for (size_t j = 0; j < g->n_inputs; ++j)
        ready[g->inputs[j]] = tw_is_float(g->t[g->inputs[j]].dtype);
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k) {
        tw_node *n = &g->nodes[k];
        const tw_op *op = tw_node_op(n);
        bool any_out = false; /* an optional output may be left out (LSTM's Y) */
        for (size_t j = 0; j < n->n_out; ++j)
            any_out |= n->out[j] >= 0;
        bool ok = op && op->kind != TW_K_HOST && any_out;
        for (size_t j = 0; ok && j < n->n_in; ++j)
            ok = n->in[j] < 0 || ready[n->in[j]];
        tw_tensor saved[4];
        for (size_t j = 0; ok && j < n->n_out && j < 4; ++j)
            if (n->out[j] >= 0) {
                saved[j] = g->t[n->out[j]];
                ok = !ready[n->out[j]] && (j > 0 || tw_is_float(saved[j].dtype));
            }
        tb_error e = {0};
        ok = ok && n->n_out <= 4 && op->infer(g, n, &e) == TB_OK;
        for (size_t j = 0; ok && j < n->n_out; ++j) {
            if (n->out[j] < 0)
                continue;
            tw_tensor *t = &g->t[n->out[j]];
            ok = t->rank == saved[j].rank && memcmp(t->dims, saved[j].dims, (size_t)t->rank * sizeof t->dims[0]) == 0;
            ready[n->out[j]] = true;
        }
        if (!ok)
            st = tb_error_set(err, TB_ERR_INPUT,
                              "%s: node %zu ('%s', %s) is not what 'twinbrain twin import' writes (an unknown op, "
                              "an input computed later, or shapes its inputs do not give)%s%s",
                              file, k, n->name, n->op, e.status ? ": " : "", e.status ? tb_error_message(&e) : "");
        tb_error_clear(&e);
    }
    for (size_t j = 0; st == TB_OK && j < g->n_outputs; ++j)
        if (!ready[g->outputs[j]] || tw_is_const(&g->t[g->outputs[j]]))
            st = tb_error_set(err, TB_ERR_INPUT, "%s: output '%s' is computed by no node", file,
                              g->t[g->outputs[j]].name);
    for (size_t j = 0; st == TB_OK && j < g->n_state; ++j) {
        const tw_tensor *a = &g->t[g->state_in[j]], *b = &g->t[g->state_out[j]];
        if (a->rank != b->rank || tw_numel(a) != tw_numel(b) || tw_is_const(a) || tw_is_const(b))
            st = tb_error_set(err, TB_ERR_INPUT, "%s: state '%s' and '%s' differ in shape", file, a->name, b->name);
    }
    free(ready);
    return st;
}
