/* The graph side of a fit (twin_fit.h): finding the response output and
 * the core tensor, cutting the network down to its core, and writing the
 * fitted readout as a subgraph of ops the kit already runs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "twin_fit.h"
#include "twin_import.h"
#include "twin_ops.h"
#include "util.h"

static bool is_state_output(const tw_graph *g, int t)
{
    for (size_t s = 0; s < g->n_state; ++s)
        if (g->state_out[s] == t)
            return true;
    return false;
}

static int producer(const tw_graph *g, int t)
{
    for (size_t k = 0; k < g->n_nodes; ++k)
        for (size_t j = 0; j < g->nodes[k].n_out; ++j)
            if (g->nodes[k].out[j] == t)
                return (int)k;
    return -1;
}

/* need[k]: node k contributes to tensor t. */
static bool *needed_nodes(const tw_graph *g, int t)
{
    bool *want = calloc(g->n_t + 1, 1), *need = calloc(g->n_nodes + 1, 1);
    if (!want || !need) {
        free(want);
        free(need);
        return NULL;
    }
    want[t] = true;
    for (size_t k = g->n_nodes; k-- > 0;) {
        const tw_node *n = &g->nodes[k];
        for (size_t j = 0; j < n->n_out; ++j)
            need[k] |= n->out[j] >= 0 && want[n->out[j]];
        for (size_t j = 0; need[k] && j < n->n_in; ++j)
            if (n->in[j] >= 0)
                want[n->in[j]] = true;
    }
    free(want);
    return need;
}

static tb_status find_output(const tw_graph *g, const char *file, const char *name, size_t *out, tb_error *err)
{
    for (size_t j = 0; j < g->n_outputs; ++j) {
        int t = g->outputs[j];
        if (name ? strcmp(g->t[t].name, name) == 0 : !is_state_output(g, t)) {
            *out = j;
            return TB_OK;
        }
    }
    return name ? tb_error_set(err, TB_ERR_INPUT, "%s: the network has no output '%s' (--output)", file, name)
                : tb_error_set(err, TB_ERR_INPUT, "%s: the network has no output besides recurrent state", file);
}

/* The feature input of the GridSample nodes the output depends on (or of
 * the GridSampleReadout the importer fused a readout into). */
static tb_status find_core(const tw_graph *g, const char *file, int out, int *core, tb_error *err)
{
    bool *need = needed_nodes(g, out);
    if (!need)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    int found = -1;
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k) {
        if (!need[k] || (strcmp(g->nodes[k].op, "GridSample") != 0 && strcmp(g->nodes[k].op, "GridSampleReadout") != 0))
            continue;
        int t = g->nodes[k].in[0];
        if (found >= 0 && t != found)
            st = tb_error_set(err, TB_ERR_INPUT,
                              "%s: output '%s' samples more than one map ('%s', '%s'): name the core's output "
                              "with --core",
                              file, g->t[out].name, g->t[found].name, g->t[t].name);
        found = t;
    }
    free(need);
    if (st == TB_OK && found < 0)
        st = tb_error_set(err, TB_ERR_INPUT,
                          "%s: no GridSample computes output '%s': name the core's output tensor with --core", file,
                          g->t[out].name);
    *core = found;
    return st;
}

/* Exp at the output, through the ops that only reshape. */
static bool ends_in_exp(const tw_graph *g, int t)
{
    static const char *const reshapes[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
    for (int k = producer(g, t); k >= 0; k = producer(g, g->nodes[k].in[0])) {
        const char *op = g->nodes[k].op;
        if (strcmp(op, "Exp") == 0)
            return true;
        bool through = false;
        for (size_t r = 0; r < sizeof reshapes / sizeof reshapes[0]; ++r)
            through |= strcmp(op, reshapes[r]) == 0;
        if (!through || g->nodes[k].n_in == 0 || g->nodes[k].in[0] < 0)
            return false;
    }
    return false;
}

tb_status tw_fit_locate(tw_graph *g, const char *file, const char *output, const char *core, tw_fit_site *site,
                        tb_error *err)
{
    memset(site, 0, sizeof *site);
    tb_status st = find_output(g, file, output, &site->output, err);
    if (st)
        return st;
    int out = g->outputs[site->output];
    if (core) {
        site->core = tw_graph_find(g, core);
        if (site->core < 0)
            return tb_error_set(err, TB_ERR_INPUT, "%s: the network has no tensor '%s' (--core)", file, core);
    } else if ((st = find_core(g, file, out, &site->core, err)))
        return st;
    const tw_tensor *c = &g->t[site->core];
    char sh[128];
    if (tw_is_const(c) || c->rank != 4 || c->dims[0] != 1 || !tw_is_float(c->dtype))
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: the core tensor '%s' is %s%s; a readout reads a computed map [1, C, H, W]", file,
                            c->name, tw_is_const(c) ? "a constant " : "", tw_shape_text(c, sh, sizeof sh));
    bool *need = needed_nodes(g, site->core);
    bool from_output = false;
    for (size_t k = 0; need && k < g->n_nodes; ++k)
        for (size_t j = 0; need[k] && j < g->nodes[k].n_in; ++j)
            from_output |= g->nodes[k].in[j] == out;
    free(need);
    if (from_output)
        return tb_error_set(err, TB_ERR_INPUT, "%s: the core tensor '%s' depends on the output '%s' it would replace",
                            file, c->name, g->t[out].name);
    site->exp_output = ends_in_exp(g, out);
    return TB_OK;
}

tb_status tw_fit_core_graph(tw_graph *g, const tw_fit_site *site, tb_error *err)
{
    int *outs = malloc((g->n_outputs + 1) * sizeof *outs);
    if (!outs)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t n = 0;
    outs[n++] = site->core;
    for (size_t j = 0; j < g->n_outputs; ++j)
        if (j != site->output)
            outs[n++] = g->outputs[j];
    free(g->outputs);
    g->outputs = outs;
    g->n_outputs = n;
    return tw_graph_prune(g, err);
}

/* ------------------------------------------------------------ the readout subgraph */

typedef struct builder {
    tw_graph *g;
    int dtype;
    tb_error *err;
    tb_status st;
} builder;

static int constant(builder *b, const char *name, int dtype, int rank, const int64_t *dims)
{
    if (b->st)
        return -1;
    if (tw_graph_find(b->g, name) >= 0) {
        b->st = tb_error_set(b->err, TB_ERR_INPUT, "the network already has a tensor '%s'", name);
        return -1;
    }
    int k = tw_graph_tensor(b->g, name);
    tw_tensor *t = k >= 0 ? &b->g->t[k] : NULL;
    if (t) {
        t->dtype = dtype, t->rank = rank;
        memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    }
    if (!t || !tw_tensor_alloc(t)) {
        b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
        return -1;
    }
    return k;
}

static tw_attr *add_attr(builder *b, tw_node *n, const char *name, int type)
{
    if (b->st)
        return NULL;
    tw_attr *a = realloc(n->attrs, (n->n_attrs + 1) * sizeof *a);
    if (!a) {
        b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    n->attrs = a;
    a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->type = type;
    a->tensor = -1;
    if (!(a->name = tb_strdup(name))) {
        b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    n->n_attrs++;
    return a;
}

/* A node `op` on inputs a, c (-1: none) computing the tensor `out`. */
static tw_node *node(builder *b, const char *op, int a, int c, const char *out)
{
    if (b->st)
        return NULL;
    if (tw_graph_find(b->g, out) >= 0) {
        b->st = tb_error_set(b->err, TB_ERR_INPUT, "the network already has a tensor '%s'", out);
        return NULL;
    }
    int o = tw_graph_tensor(b->g, out);
    tw_node *n = o >= 0 ? tw_graph_add_node(b->g, op, out) : NULL;
    if (n) {
        n->in = malloc(2 * sizeof *n->in);
        n->out = malloc(sizeof *n->out);
    }
    if (!n || !n->in || !n->out) {
        b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    n->in[n->n_in++] = a;
    if (c >= 0)
        n->in[n->n_in++] = c;
    n->out[n->n_out++] = o;
    return n;
}

/* Shapes follow from the inputs, as at import. */
static int infer(builder *b, tw_node *n)
{
    if (b->st || !n)
        return -1;
    b->st = tw_op_find(n->op)->infer(b->g, n, b->err);
    return b->st ? -1 : n->out[0];
}

static int attach_sample(builder *b, const tw_fit_site *site, const tw_readout *r)
{
    int64_t N = (int64_t)r->units, C = (int64_t)r->channels;
    int grid = constant(b, "twin_fit/grid", b->dtype, 4, (int64_t[]){1, 1, N, 2});
    for (int64_t k = 0; grid >= 0 && k < 2 * N; ++k)
        b->g->t[grid].f[k] = r->mu[k];
    tw_node *gs = node(b, "GridSample", site->core, grid, "twin_fit/sampled");
    tw_attr *a = gs ? add_attr(b, gs, "align_corners", TW_A_INT) : NULL;
    if (a)
        a->i = 0;
    a = gs ? add_attr(b, gs, "mode", TW_A_STRING) : NULL;
    if (a && !(a->s = tb_strdup("bilinear")))
        b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
    a = gs ? add_attr(b, gs, "padding_mode", TW_A_STRING) : NULL;
    if (a && !(a->s = tb_strdup("border")))
        b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
    int sampled = infer(b, gs); /* [1, C, 1, N] */
    int w = constant(b, "twin_fit/features", b->dtype, 4, (int64_t[]){1, C, 1, N});
    for (int64_t n = 0; w >= 0 && n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            b->g->t[w].f[c * N + n] = r->w[n * C + c];
    return infer(b, node(b, "Mul", sampled, w, "twin_fit/weighted"));
}

static int attach_sum(builder *b, int weighted)
{
    tw_node *n;
    if (b->g->opset >= 13) {
        int axes = constant(b, "twin_fit/axes", TW_INT64, 1, (int64_t[]){2});
        if (axes >= 0)
            b->g->t[axes].i[0] = 1, b->g->t[axes].i[1] = 2;
        n = node(b, "ReduceSum", weighted, axes, "twin_fit/linear_part");
    } else {
        n = node(b, "ReduceSum", weighted, -1, "twin_fit/linear_part");
        tw_attr *a = n ? add_attr(b, n, "axes", TW_A_INTS) : NULL;
        if (a && !(a->ints = malloc(2 * sizeof *a->ints)))
            b->st = tb_error_set(b->err, TB_ERR_OTHER, "out of memory");
        else if (a)
            a->ints[0] = 1, a->ints[1] = 2, a->n = 2;
    }
    tw_attr *a = n ? add_attr(b, n, "keepdims", TW_A_INT) : NULL;
    if (a)
        a->i = 0;
    return infer(b, n); /* [1, N] */
}

static void attach_output(builder *b, int sum, const tw_readout *r, const char *name)
{
    int64_t N = (int64_t)r->units;
    int bias = constant(b, "twin_fit/bias", b->dtype, 2, (int64_t[]){1, N});
    for (int64_t n = 0; bias >= 0 && n < N; ++n)
        b->g->t[bias].f[n] = r->bias[n];
    int z = infer(b, node(b, "Add", sum, bias, "twin_fit/linear"));
    if (r->exp_output) {
        infer(b, node(b, "Exp", z, -1, name));
        return;
    }
    tw_node *elu = node(b, "Elu", z, -1, "twin_fit/elu");
    tw_attr *a = elu ? add_attr(b, elu, "alpha", TW_A_FLOAT) : NULL;
    if (a)
        a->f = 1.0;
    int e = infer(b, elu);
    int one = constant(b, "twin_fit/one", b->dtype, 1, (int64_t[]){1});
    if (one >= 0)
        b->g->t[one].f[0] = 1.0;
    infer(b, node(b, "Add", e, one, name));
}

tb_status tw_fit_attach(tw_graph *g, const tw_fit_site *site, const char *name, const tw_readout *r, tb_error *err)
{
    /* tw_fit_core_graph put the core first and kept the others in order */
    tw_fit_site s = *site;
    s.core = g->outputs[0];
    builder b = {g, g->t[s.core].dtype, err, TB_OK};
    int sum = attach_sum(&b, attach_sample(&b, &s, r));
    attach_output(&b, sum, r, name);
    if (b.st)
        return b.st;
    int out = tw_graph_find(g, name);
    for (size_t j = 0; j < site->output; ++j)
        g->outputs[j] = g->outputs[j + 1];
    g->outputs[site->output] = out;
    return tw_graph_prune(g, err);
}
