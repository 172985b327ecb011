/* Import-time fusion of the Gaussian readout. torch.onnx.export writes
 * the readout of Sensorium-style twins (neuralpredictors' FullGaussian2d,
 * tests/twin_models.py, the fnn-style model) as
 *   GridSample -> (Squeeze | Reshape | Gather of a size-1 axis)* -> Mul by
 *   a constant [C, U] -> ReduceSum over C -> (Reshape)* -> [Add bias [U]]
 * over an [N, C, U] intermediate that is written and read back. The pass
 * rewrites the chain into one GridSampleReadout node (twin_ops_readout.c)
 * that samples, weighs and sums per unit, in the unfused ops' order
 * (channels in turn, then the bias), so the result is what the unfused
 * graph computes. Any deviation from the pattern (another reader of an
 * intermediate, an operand of another shape, other axes) leaves the
 * chain as it is. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "twin_import.h"
#include "twin_ops.h"
#include "util.h"

/* Readers of tensor t: node inputs, graph outputs (state outputs are
 * graph outputs too). */
static size_t readers(const tw_graph *g, int t, int *only)
{
    size_t r = 0;
    *only = -1;
    for (size_t k = 0; k < g->n_nodes; ++k)
        for (size_t j = 0; j < g->nodes[k].n_in; ++j)
            if (g->nodes[k].in[j] == t) {
                ++r;
                *only = (int)k;
            }
    for (size_t j = 0; j < g->n_outputs; ++j)
        r += g->outputs[j] == t;
    return r;
}

/* The single node reading t (and nothing else: no output), or -1. */
static int sole_reader(const tw_graph *g, int t)
{
    int k;
    return readers(g, t, &k) == 1 ? k : -1;
}

static bool dims_are(const tw_tensor *t, int rank, const int64_t *d)
{
    return t->rank == rank && memcmp(t->dims, d, (size_t)rank * sizeof *d) == 0;
}

/* A node that only re-labels its input's row-major elements: the alias
 * ops, an If whose branch the import chose (a copy: neuralpredictors'
 * squeeze-if-size-1), and a Gather of index 0 along an axis of size 1
 * (what `y[..., 0]` exports to). */
static bool relabels(tw_graph *g, const tw_node *n)
{
    const tw_op *op = tw_op_find(n->op);
    if (n->plugin || !op || n->n_out != 1 || n->n_in < 1)
        return false;
    if (op->kind == TW_K_ALIAS || (strcmp(n->op, "If") == 0 && n->n_in == 1))
        return true;
    if (strcmp(n->op, "Gather") != 0 || n->n_in != 2)
        return false;
    tw_tensor *x = tw_in(g, n, 0), *idx = tw_in(g, n, 1);
    int64_t ax = tw_attr_int(n, "axis", 0);
    ax = ax < 0 ? ax + x->rank : ax;
    return idx && tw_is_const(idx) && tw_numel(idx) == 1 && ax >= 0 && ax < x->rank && x->dims[ax] == 1 &&
           (tw_get_i(idx, 0) == 0 || tw_get_i(idx, 0) == -1);
}

/* Follow t through single-reader re-labelling nodes; marks them in chain. */
static int follow(tw_graph *g, int t, int *chain, size_t *n_chain)
{
    for (int k = sole_reader(g, t); k >= 0 && *n_chain < 24 && relabels(g, &g->nodes[k]); k = sole_reader(g, t)) {
        chain[(*n_chain)++] = k;
        t = g->nodes[k].out[0];
    }
    return t;
}

/* A constant float operand of exactly `rank` dims d, or with a leading 1. */
static bool const_shaped(const tw_tensor *t, int rank, const int64_t *d)
{
    if (!t || !tw_is_const(t) || !t->f)
        return false;
    if (dims_are(t, rank, d))
        return true;
    return t->rank == rank + 1 && t->dims[0] == 1 && memcmp(t->dims + 1, d, (size_t)rank * sizeof *d) == 0;
}

/* The other input of a two-input node, given one. */
static int other(const tw_node *n, int t)
{
    return n->in[0] == t ? n->in[1] : n->in[0];
}

typedef struct match {
    int features, bias, out;
    int chain[32]; /* nodes to drop */
    size_t n_chain;
} match;

static bool reduces_channels(tw_graph *g, const tw_node *r)
{
    tw_reduce_axes ra;
    tb_error e = {0};
    if (strcmp(r->op, "ReduceSum") != 0)
        return false;
    bool ok = tw_reduce_axes_of(g, r, &ra, &e) == TB_OK;
    tb_error_clear(&e);
    return ok && !ra.reduced[0] && ra.reduced[1] && !ra.reduced[2];
}

/* Whether the chain after GridSample node k is the readout; fills m. */
static bool match_readout(tw_graph *g, size_t k, match *m)
{
    const tw_node *gs = &g->nodes[k];
    const tw_tensor *y = tw_out(g, gs, 0);
    if (!y || y->rank != 4 || gs->n_in != 2)
        return false;
    int64_t N = y->dims[0], C = y->dims[1], U = y->dims[2] * y->dims[3];
    const int64_t ncu[3] = {N, C, U}, nu[2] = {N, U}, cu[2] = {C, U}, u[1] = {U};
    m->n_chain = 0;
    int t = follow(g, gs->out[0], m->chain, &m->n_chain);
    int mk = sole_reader(g, t);
    if (!dims_are(&g->t[t], 3, ncu) || mk < 0 || strcmp(g->nodes[mk].op, "Mul") != 0 || g->nodes[mk].n_in != 2)
        return false;
    const tw_node *mul = &g->nodes[mk];
    m->features = other(mul, t);
    if (mul->in[0] == mul->in[1] || !const_shaped(&g->t[m->features], 2, cu) || !dims_are(tw_out(g, mul, 0), 3, ncu))
        return false;
    m->chain[m->n_chain++] = mk;
    int rk = sole_reader(g, mul->out[0]);
    if (rk < 0 || !reduces_channels(g, &g->nodes[rk]))
        return false;
    m->chain[m->n_chain++] = rk;
    t = follow(g, g->nodes[rk].out[0], m->chain, &m->n_chain);
    if (!dims_are(&g->t[t], 2, nu) || m->n_chain > 30)
        return false;
    m->out = t, m->bias = -1;
    int ak = sole_reader(g, t);
    if (ak < 0 || strcmp(g->nodes[ak].op, "Add") != 0 || g->nodes[ak].n_in != 2 || g->nodes[ak].in[0] == g->nodes[ak].in[1])
        return true;
    const tw_node *add = &g->nodes[ak];
    int b = other(add, t);
    if (const_shaped(&g->t[b], 1, u) && dims_are(tw_out(g, add, 0), 2, nu)) {
        m->bias = b, m->out = add->out[0];
        m->chain[m->n_chain++] = ak;
    }
    return true;
}

static tb_status rewrite(tw_graph *g, size_t k, const match *m, tb_error *err)
{
    tw_node *n = &g->nodes[k];
    int *in = realloc(n->in, 4 * sizeof *in);
    char *op = tb_strdup("GridSampleReadout");
    if (!in || !op) {
        free(op);
        if (in)
            n->in = in;
        return tb_error_set(err, TB_ERR_OTHER, "out of memory fusing the readout");
    }
    free(n->op);
    n->op = op;
    n->in = in;
    n->in[2] = m->features, n->in[3] = m->bias;
    n->n_in = 4;
    n->out[0] = m->out;
    /* the chain's nodes go: the fused node alone writes m->out now */
    bool *drop = calloc(g->n_nodes + 1, 1);
    if (!drop)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory fusing the readout");
    for (size_t j = 0; j < m->n_chain; ++j)
        drop[m->chain[j]] = true;
    size_t live = 0;
    for (size_t j = 0; j < g->n_nodes; ++j) {
        if (drop[j])
            tw_node_free(&g->nodes[j]);
        else
            g->nodes[live++] = g->nodes[j];
    }
    g->n_nodes = live;
    free(drop);
    return TB_OK;
}

tb_status tw_graph_fuse(tw_graph *g, size_t *fused, tb_error *err)
{
    *fused = 0;
    for (size_t k = 0; k < g->n_nodes; ++k) {
        match m;
        if (g->nodes[k].plugin || strcmp(g->nodes[k].op, "GridSample") != 0 || !match_readout(g, k, &m))
            continue;
        size_t before = 0; /* the chain's nodes all come after k: k keeps its index */
        for (size_t j = 0; j < m.n_chain; ++j)
            before += (size_t)m.chain[j] < k;
        if (before)
            continue;
        tb_status st = rewrite(g, k, &m, err);
        if (st)
            return st;
        const tw_op *op = tw_op_find("GridSampleReadout");
        if ((st = op->infer(g, &g->nodes[k], err)) != TB_OK)
            return st;
        ++*fused;
    }
    return *fused ? tw_graph_prune(g, err) : TB_OK;
}
