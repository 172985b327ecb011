/* Reading an ONNX model (protobuf, through protobuf-c and the subset of
 * the specification in onnx_subset.proto) into a twin graph: initializers
 * become constants, Constant nodes their values, graph inputs get fixed
 * sizes (from the model or from --size), nodes keep their attributes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_subset.pb-c.h"
#include "sha256.h"
#include "twin_import.h"
#include "twin_plugin.h"
#include "util.h"

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory reading the model");
}

static size_t elem_size(int dtype)
{
    switch (dtype) {
    case TW_FLOAT: case TW_INT32: return 4;
    case TW_DOUBLE: case TW_INT64: return 8;
    case TW_UINT8: case TW_INT8: case TW_BOOL: return 1;
    default: return 0;
    }
}

/* Little-endian raw bytes, as ONNX stores raw_data. */
static double raw_value(const uint8_t *p, int dtype)
{
    uint64_t u = 0;
    for (size_t b = elem_size(dtype); b-- > 0;)
        u = u << 8 | p[b];
    switch (dtype) {
    case TW_FLOAT: {
        uint32_t v = (uint32_t)u;
        float f;
        memcpy(&f, &v, 4);
        return f;
    }
    case TW_DOUBLE: {
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    case TW_INT32: return (double)(int32_t)(uint32_t)u;
    case TW_INT8: return (double)(int8_t)(uint8_t)u;
    default: return (double)u;
    }
}

static int64_t raw_int(const uint8_t *p, int dtype)
{
    if (dtype != TW_INT64)
        return (int64_t)raw_value(p, dtype);
    uint64_t u = 0;
    for (size_t b = 8; b-- > 0;)
        u = u << 8 | p[b];
    return (int64_t)u;
}

static tb_status tensor_from_proto(const char *file, const Onnx__TensorProto *tp, tw_tensor *t, tb_error *err)
{
    const char *name = tp->name ? tp->name : "(unnamed)";
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: tensor '%s' keeps its data in an external file, which the importer does not read "
                            "(export with the weights inside the model)", file, name);
    int dt = tp->data_type;
    if (!elem_size(dt))
        return tb_error_set(err, TB_ERR_INPUT, "%s: tensor '%s' has element type %d, which the twin kit does not read",
                            file, name, dt);
    if (tp->n_dims > TW_MAX_RANK)
        return tb_error_set(err, TB_ERR_INPUT, "%s: tensor '%s' has rank %zu (at most %d)", file, name, tp->n_dims,
                            TW_MAX_RANK);
    t->dtype = dt == TW_BOOL || dt == TW_INT64 || dt == TW_INT32 || dt == TW_INT8 || dt == TW_UINT8 ? TW_INT64 : dt;
    if (dt == TW_BOOL)
        t->dtype = TW_BOOL;
    t->rank = (int)tp->n_dims;
    int64_t numel = 1;
    for (size_t d = 0; d < tp->n_dims; ++d) {
        if (tp->dims[d] < 0 || (tp->dims[d] > 0 && numel > ((int64_t)1 << 40) / tp->dims[d]))
            return tb_error_set(err, TB_ERR_INPUT, "%s: tensor '%s' has a negative or too large size", file, name);
        t->dims[d] = tp->dims[d];
        numel *= tp->dims[d];
    }
    if (!tw_tensor_alloc(t))
        return oom(err);
    int64_t n = tw_numel(t);
    size_t have;
    if (tp->has_raw_data)
        have = tp->raw_data.len / elem_size(dt);
    else if (dt == TW_FLOAT)
        have = tp->n_float_data;
    else if (dt == TW_DOUBLE)
        have = tp->n_double_data;
    else if (dt == TW_INT64)
        have = tp->n_int64_data;
    else
        have = tp->n_int32_data;
    if ((int64_t)have != n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: tensor '%s' holds %zu values for a shape of %lld", file, name, have,
                            (long long)n);
    for (int64_t k = 0; k < n; ++k) {
        if (tp->has_raw_data) {
            const uint8_t *p = tp->raw_data.data + (size_t)k * elem_size(dt);
            if (t->f)
                t->f[k] = raw_value(p, dt);
            else
                t->i[k] = raw_int(p, dt);
        } else if (dt == TW_FLOAT) {
            t->f[k] = tp->float_data[k];
        } else if (dt == TW_DOUBLE) {
            t->f[k] = tp->double_data[k];
        } else if (dt == TW_INT64) {
            t->i[k] = tp->int64_data[k];
        } else {
            t->i[k] = tp->int32_data[k];
        }
    }
    return TB_OK;
}

/* A Constant node: its output is a constant tensor. */
static tb_status constant_node(const char *file, tw_graph *g, const Onnx__NodeProto *np, tb_error *err)
{
    if (np->n_output != 1 || np->n_attribute != 1)
        return tb_error_set(err, TB_ERR_INPUT, "%s: Constant node '%s' needs one output and one attribute", file,
                            np->name ? np->name : "");
    int k = tw_graph_tensor(g, np->output[0]);
    if (k < 0)
        return oom(err);
    tw_tensor *t = &g->t[k];
    const Onnx__AttributeProto *a = np->attribute[0];
    const char *an = a->name ? a->name : "";
    if (strcmp(an, "value") == 0 && a->t)
        return tensor_from_proto(file, a->t, t, err);
    bool ok = true;
    if (strcmp(an, "value_float") == 0) {
        t->dtype = TW_FLOAT, t->rank = 0;
        ok = tw_tensor_alloc(t) && (t->f[0] = a->f, true);
    } else if (strcmp(an, "value_int") == 0) {
        t->dtype = TW_INT64, t->rank = 0;
        ok = tw_tensor_alloc(t) && (t->i[0] = a->i, true);
    } else if (strcmp(an, "value_floats") == 0) {
        t->dtype = TW_FLOAT, t->rank = 1, t->dims[0] = (int64_t)a->n_floats;
        ok = tw_tensor_alloc(t);
        for (size_t j = 0; ok && j < a->n_floats; ++j)
            t->f[j] = a->floats[j];
    } else if (strcmp(an, "value_ints") == 0) {
        t->dtype = TW_INT64, t->rank = 1, t->dims[0] = (int64_t)a->n_ints;
        ok = tw_tensor_alloc(t);
        for (size_t j = 0; ok && j < a->n_ints; ++j)
            t->i[j] = a->ints[j];
    } else {
        return tb_error_set(err, TB_ERR_INPUT, "%s: Constant node '%s': attribute '%s' is not supported", file,
                            np->name ? np->name : "", an);
    }
    return ok ? TB_OK : oom(err);
}

static tb_status copy_attr(const char *file, tw_graph *g, const Onnx__AttributeProto *a, tw_attr *o, tb_error *err)
{
    o->name = tb_strdup(a->name ? a->name : "");
    o->type = a->has_type ? (int)a->type : 0;
    o->tensor = -1;
    if (!o->name)
        return oom(err);
    switch (o->type) {
    case TW_A_FLOAT: o->f = a->f; break;
    case TW_A_INT: o->i = a->i; break;
    case TW_A_STRING:
        o->s = tb_strndup((const char *)a->s.data, a->s.len);
        if (!o->s)
            return oom(err);
        break;
    case TW_A_FLOATS:
        o->n = a->n_floats;
        o->floats = malloc((o->n + 1) * sizeof *o->floats);
        if (!o->floats)
            return oom(err);
        for (size_t j = 0; j < o->n; ++j)
            o->floats[j] = a->floats[j];
        break;
    case TW_A_INTS:
        o->n = a->n_ints;
        o->ints = malloc((o->n + 1) * sizeof *o->ints);
        if (!o->ints)
            return oom(err);
        memcpy(o->ints, a->ints, o->n * sizeof *o->ints);
        break;
    case TW_A_TENSOR: {
        char *nm = tb_asprintf("%s#%zu", o->name, g->n_t);
        int k = nm ? tw_graph_tensor(g, nm) : -1;
        free(nm);
        if (k < 0)
            return oom(err);
        o->tensor = k;
        return a->t ? tensor_from_proto(file, a->t, &g->t[k], err) : TB_OK;
    }
    default:
        /* graphs (If, Loop) and the rest: kept by name only; an op that
         * needs one refuses the node at shape inference */
        break;
    }
    return TB_OK;
}

/* The names a branch of an If defines (its initializers and node outputs)
 * are renamed PREFIX NAME so that both branches inline side by side; a
 * name it does not define refers to an enclosing graph. */
typedef struct scope {
    const Onnx__GraphProto *gp;
    const char *prefix;
    const struct scope *up;
} scope;

typedef struct guards {
    int cond[TW_MAX_GUARDS];
    bool then[TW_MAX_GUARDS];
    int n;
} guards;

static bool defines(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t j = 0; j < gp->n_initializer; ++j)
        if (gp->initializer[j]->name && strcmp(gp->initializer[j]->name, name) == 0)
            return true;
    for (size_t j = 0; j < gp->n_node; ++j)
        for (size_t o = 0; o < gp->node[j]->n_output; ++o)
            if (strcmp(gp->node[j]->output[o], name) == 0)
                return true;
    return false;
}

static char *scoped_name(const scope *sc, const char *name)
{
    for (const scope *s = name[0] ? sc : NULL; s; s = s->up)
        if (defines(s->gp, name))
            return tb_asprintf("%s%s", s->prefix, name);
    return tb_strdup(name);
}

static tb_status add_node(const char *file, tw_graph *g, const Onnx__NodeProto *np, const scope *sc,
                          const guards *gd, tb_error *err);
static tb_status add_plain_node(const char *file, tw_graph *g, const Onnx__NodeProto *np, const guards *gd,
                                tb_error *err);

/* The initializers and nodes of one branch, then its outputs' names. */
static tb_status inline_branch(const char *file, tw_graph *g, const Onnx__GraphProto *bp, const scope *sc,
                               const guards *gd, char **outs, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t j = 0; st == TB_OK && j < bp->n_initializer; ++j) {
        char *nm = scoped_name(sc, bp->initializer[j]->name ? bp->initializer[j]->name : "");
        int k = nm ? tw_graph_tensor(g, nm) : -1;
        free(nm);
        st = k < 0 ? oom(err) : tensor_from_proto(file, bp->initializer[j], &g->t[k], err);
    }
    for (size_t j = 0; st == TB_OK && j < bp->n_node; ++j)
        st = add_node(file, g, bp->node[j], sc, gd, err);
    for (size_t j = 0; st == TB_OK && j < bp->n_output; ++j)
        if (!(outs[j] = scoped_name(sc, bp->output[j]->name ? bp->output[j]->name : "")))
            st = oom(err);
    return st;
}

/* If: both branches inline before it, each node guarded by the branch it
 * belongs to; the If node reads the condition and both branches' outputs
 * (then, else). The importer keeps one branch once the condition folds
 * (twin_ops_if.c); a condition known only at run time is refused there. */
static tb_status if_node(const char *file, tw_graph *g, const Onnx__NodeProto *np, const scope *sc, const guards *gd,
                         tb_error *err)
{
    const Onnx__GraphProto *br[2] = {NULL, NULL};
    for (size_t j = 0; j < np->n_attribute; ++j) {
        const Onnx__AttributeProto *a = np->attribute[j];
        int b = a->name && strcmp(a->name, "then_branch") == 0 ? 0 : a->name && strcmp(a->name, "else_branch") == 0 ? 1 : -1;
        if (b >= 0)
            br[b] = a->g;
    }
    const char *name = np->name ? np->name : "";
    if (np->n_input != 1 || !np->input[0][0] || !br[0] || !br[1] || br[0]->n_output != np->n_output ||
        br[1]->n_output != np->n_output || np->n_output == 0 || np->n_output > 32)
        return tb_error_set(err, TB_ERR_INPUT, "%s: node '%s': op 'If' (opset %lld) needs a condition and two "
                            "branches with as many outputs as the node (at most 32)", file, name, (long long)g->opset);
    if (gd->n >= TW_MAX_GUARDS)
        return tb_error_set(err, TB_ERR_INPUT, "%s: node '%s': op 'If' (opset %lld) nested more than %d deep", file,
                            name, (long long)g->opset, TW_MAX_GUARDS);
    char *cond = scoped_name(sc, np->input[0]), *outs[2][32] = {{0}};
    int ci = cond ? tw_graph_tensor(g, cond) : -1;
    tb_status st = ci < 0 ? oom(err) : TB_OK;
    for (int b = 0; st == TB_OK && b < 2; ++b) {
        char *out0 = scoped_name(sc, np->output[0]);
        char *prefix = out0 ? tb_asprintf("%s/%s/", out0, b ? "else" : "then") : NULL;
        free(out0);
        scope inner = {br[b], prefix, sc};
        guards ig = *gd;
        ig.cond[ig.n] = ci, ig.then[ig.n++] = b == 0;
        st = prefix ? inline_branch(file, g, br[b], &inner, &ig, outs[b], err) : oom(err);
        free(prefix);
    }
    size_t k = np->n_output;
    char **ins = calloc(3 * k + 1, sizeof *ins);
    if (st == TB_OK && !ins)
        st = oom(err);
    if (st == TB_OK) {
        Onnx__NodeProto cp = *np;
        ins[0] = cond;
        for (size_t j = 0; j < k; ++j)
            ins[1 + j] = outs[0][j], ins[1 + k + j] = outs[1][j];
        for (size_t j = 0; st == TB_OK && j < k; ++j)
            if (!(ins[2 * k + 1 + j] = scoped_name(sc, np->output[j])))
                st = oom(err);
        cp.input = ins, cp.n_input = 2 * k + 1;
        cp.output = ins + 2 * k + 1;
        cp.n_attribute = 0; /* the branches are inlined */
        st = st ? st : add_plain_node(file, g, &cp, gd, err);
        for (size_t j = 0; j < k; ++j)
            free(ins[2 * k + 1 + j]);
    }
    free(ins);
    free(cond);
    for (int b = 0; b < 2; ++b)
        for (size_t j = 0; j < k; ++j)
            free(outs[b][j]);
    return st;
}

static tb_status add_plain_node(const char *file, tw_graph *g, const Onnx__NodeProto *np, const guards *gd,
                                tb_error *err)
{
    const char *op = np->op_type ? np->op_type : "";
    bool custom = np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0;
    if (!custom && strcmp(op, "Constant") == 0)
        return constant_node(file, g, np, err);
    tw_node *n = tw_graph_add_node(g, op, np->name);
    if (!n)
        return oom(err);
    n->in = malloc((np->n_input + 1) * sizeof *n->in);
    n->out = malloc((np->n_output + 1) * sizeof *n->out);
    n->attrs = calloc(np->n_attribute + 1, sizeof *n->attrs);
    if (!n->in || !n->out || !n->attrs)
        return oom(err);
    memcpy(n->guard, gd->cond, sizeof n->guard);
    memcpy(n->guard_then, gd->then, sizeof n->guard_then);
    n->n_guard = gd->n;
    for (size_t j = 0; j < np->n_input; ++j) {
        int k = np->input[j][0] ? tw_graph_tensor(g, np->input[j]) : -1;
        if (np->input[j][0] && k < 0)
            return oom(err);
        n = &g->nodes[g->n_nodes - 1];
        n->in[n->n_in++] = k;
    }
    for (size_t j = 0; j < np->n_output; ++j) {
        int k = np->output[j][0] ? tw_graph_tensor(g, np->output[j]) : -1;
        n = &g->nodes[g->n_nodes - 1];
        n->out[n->n_out++] = k;
    }
    for (size_t j = 0; j < np->n_attribute; ++j) {
        tb_status st = copy_attr(file, g, np->attribute[j], &g->nodes[g->n_nodes - 1].attrs[j], err);
        g->nodes[g->n_nodes - 1].n_attrs = j + 1;
        if (st)
            return st;
    }
    /* an op of another domain is a twin plugin's (or refused naming it) */
    return custom ? tw_plugin_resolve(g, &g->nodes[g->n_nodes - 1], np->domain, file, err) : TB_OK;
}

static tb_status add_node(const char *file, tw_graph *g, const Onnx__NodeProto *np, const scope *sc,
                          const guards *gd, tb_error *err)
{
    const char *op = np->op_type ? np->op_type : "";
    bool custom = np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0;
    if (!custom && strcmp(op, "If") == 0 && np->n_attribute > 0)
        return if_node(file, g, np, sc, gd, err);
    if (!sc)
        return add_plain_node(file, g, np, gd, err);
    /* inside a branch: the node with its names scoped */
    Onnx__NodeProto cp = *np;
    char **names = calloc(np->n_input + np->n_output + 1, sizeof *names);
    tb_status st = names ? TB_OK : oom(err);
    for (size_t j = 0; st == TB_OK && j < np->n_input + np->n_output; ++j) {
        names[j] = scoped_name(sc, j < np->n_input ? np->input[j] : np->output[j - np->n_input]);
        st = names[j] ? TB_OK : oom(err);
    }
    if (st == TB_OK) {
        cp.input = names, cp.output = names + np->n_input;
        st = add_plain_node(file, g, &cp, gd, err);
    }
    for (size_t j = 0; names && j < np->n_input + np->n_output; ++j)
        free(names[j]);
    free(names);
    return st;
}

/* "NAME=1x3x36x64" */
static const char *size_for(const char *const *sizes, size_t n_sizes, const char *name)
{
    size_t len = strlen(name);
    for (size_t s = 0; s < n_sizes; ++s)
        if (strncmp(sizes[s], name, len) == 0 && sizes[s][len] == '=')
            return sizes[s] + len + 1;
    return NULL;
}

static bool parse_dims(const char *s, tw_tensor *t)
{
    int r = 0;
    while (*s && r < TW_MAX_RANK) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < 1)
            return false;
        t->dims[r++] = v;
        s = end;
        if (*s == 'x')
            ++s;
        else if (*s)
            return false;
    }
    t->rank = r;
    return !*s && r > 0;
}

static tb_status graph_input(const char *file, tw_graph *g, const Onnx__ValueInfoProto *vi, const char *const *sizes,
                             size_t n_sizes, tb_error *err)
{
    if (!vi->name || !vi->name[0])
        return tb_error_set(err, TB_ERR_INPUT, "%s: an input has no name", file);
    int k = tw_graph_tensor(g, vi->name);
    if (k < 0)
        return oom(err);
    tw_tensor *t = &g->t[k];
    if (tw_is_const(t))
        return TB_OK; /* an initializer listed as an input (IR < 4): a constant */
    const Onnx__TypeProto__Tensor *tt =
        vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? vi->type->tensor_type : NULL;
    if (!tt)
        return tb_error_set(err, TB_ERR_INPUT, "%s: input '%s' is not a tensor", file, vi->name);
    t->dtype = tt->has_elem_type ? tt->elem_type : TW_FLOAT;
    if (!tw_is_float(t->dtype))
        return tb_error_set(err, TB_ERR_INPUT, "%s: input '%s' has element type %s; the twin kit feeds float inputs",
                            file, vi->name, tw_dtype_name(t->dtype));
    const char *given = size_for(sizes, n_sizes, vi->name);
    size_t rank = tt->shape ? tt->shape->n_dim : 0;
    if (given) {
        if (!parse_dims(given, t) || (tt->shape && (size_t)t->rank != rank))
            return tb_error_set(err, TB_ERR_INPUT,
                                "--size %s=%s: give %zu sizes >= 1 separated by 'x' (the input's rank)", vi->name,
                                given, rank);
    } else {
        if (!tt->shape || rank > TW_MAX_RANK)
            return tb_error_set(err, TB_ERR_INPUT, "%s: input '%s' has no fixed shape: give its size with --size %s=...",
                                file, vi->name, vi->name);
        t->rank = (int)rank;
        for (size_t d = 0; d < rank; ++d) {
            const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
            if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dm->dim_value < 1)
                return tb_error_set(
                    err, TB_ERR_INPUT,
                    "%s: input '%s' has a dynamic size in dimension %zu%s%s%s: give its sizes with --size %s=AxBx...", file,
                    vi->name, d, dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? " ('" : "",
                    dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? dm->dim_param : "",
                    dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? "')" : "", vi->name);
            t->dims[d] = dm->dim_value;
        }
    }
    t->known = true;
    if (!tb_grow((void **)&g->inputs, &(size_t){g->n_inputs}, g->n_inputs + 1, sizeof *g->inputs))
        return oom(err);
    g->inputs[g->n_inputs++] = k;
    return TB_OK;
}

static int64_t opset_of(const Onnx__ModelProto *m)
{
    for (size_t j = 0; j < m->n_opset_import; ++j) {
        const char *d = m->opset_import[j]->domain;
        if (!d || !d[0] || strcmp(d, "ai.onnx") == 0)
            return m->opset_import[j]->version;
    }
    return 0;
}

static char *hex_sha256(const uint8_t *data, size_t len)
{
    unsigned char h[TB_SHA256_BYTES];
    tb_sha256_digest(data, len, h);
    char *s = malloc(65);
    for (int j = 0; s && j < TB_SHA256_BYTES; ++j)
        snprintf(s + 2 * j, 3, "%02x", h[j]);
    return s;
}

static tb_status read_graph(const char *file, const Onnx__ModelProto *m, const char *const *sizes, size_t n_sizes,
                            tw_graph *g, tb_error *err)
{
    const Onnx__GraphProto *gp = m->graph;
    tb_status st = TB_OK;
    for (size_t j = 0; st == TB_OK && j < gp->n_initializer; ++j) {
        int k = tw_graph_tensor(g, gp->initializer[j]->name ? gp->initializer[j]->name : "");
        st = k < 0 ? oom(err) : tensor_from_proto(file, gp->initializer[j], &g->t[k], err);
    }
    for (size_t j = 0; st == TB_OK && j < gp->n_input; ++j)
        st = graph_input(file, g, gp->input[j], sizes, n_sizes, err);
    for (size_t s = 0; st == TB_OK && s < n_sizes; ++s) {
        const char *eq = strchr(sizes[s], '=');
        char *nm = eq ? tb_strndup(sizes[s], (size_t)(eq - sizes[s])) : NULL;
        int k = nm ? tw_graph_find(g, nm) : -1;
        bool is_input = false;
        for (size_t i = 0; k >= 0 && i < g->n_inputs; ++i)
            is_input |= g->inputs[i] == k;
        if (!is_input)
            st = tb_error_set(err, TB_ERR_INPUT, "--size %s: the model has no input named '%s'", sizes[s],
                              nm ? nm : sizes[s]);
        free(nm);
    }
    const guards none = {.n = 0};
    for (size_t j = 0; st == TB_OK && j < gp->n_node; ++j)
        st = add_node(file, g, gp->node[j], NULL, &none, err);
    size_t cap = 0;
    for (size_t j = 0; st == TB_OK && j < gp->n_output; ++j) {
        int k = tw_graph_find(g, gp->output[j]->name ? gp->output[j]->name : "");
        if (k < 0)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: output '%s' is computed by no node", file,
                              gp->output[j]->name ? gp->output[j]->name : "");
        else if (!tb_grow((void **)&g->outputs, &cap, g->n_outputs + 1, sizeof *g->outputs))
            st = oom(err);
        else
            g->outputs[g->n_outputs++] = k;
    }
    return st;
}

tb_status tw_onnx_read(const char *file, const char *const *sizes, size_t n_sizes, tw_graph *g, tb_error *err)
{
    memset(g, 0, sizeof *g);
    size_t len = 0;
    char *data = tb_read_file(file, &len);
    if (!data)
        return tb_error_set(err, TB_ERR_INPUT, "%s: cannot read: %s", file, strerror(errno));
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)data);
    tb_status st = TB_OK;
    if (!m || !m->graph)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: not an ONNX model (it does not parse as a ModelProto with a graph)",
                          file);
    if (st == TB_OK) {
        g->opset = opset_of(m);
        g->ir_version = m->has_ir_version ? m->ir_version : 0;
        g->source = tb_strdup(file);
        g->source_sha256 = hex_sha256((const uint8_t *)data, len);
        g->producer = tb_strdup(m->producer_name ? m->producer_name : "");
        g->producer_version = tb_strdup(m->producer_version ? m->producer_version : "");
        g->graph_name = tb_strdup(m->graph->name ? m->graph->name : "");
        st = read_graph(file, m, sizes, n_sizes, g, err);
    }
    if (m)
        onnx__model_proto__free_unpacked(m, NULL);
    free(data);
    if (st)
        tw_graph_free(g);
    return st;
}
