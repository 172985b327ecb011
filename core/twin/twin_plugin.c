/* Twin plugins (include/twinbrain/twin.h): custom ops found by their ONNX
 * domain and op type, checked when loaded, resolved at import and when a
 * network file is read, shaped through the plugin's `infer`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_plugin.h"
#include "util.h"

static size_t count_names(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        ++n;
    return n;
}

tb_status tw_check_plugin(const tb_plugin *p, const char *file, tb_error *err)
{
    const tb_twin_op *t = p->table;
    if (t->head.version != TB_TWIN_TABLE_VERSION || t->head.size != sizeof(tb_twin_op))
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: twin table version %u size %u; this twinbrain has version %u size %zu: rebuild the "
                            "plugin",
                            file, (unsigned)t->head.version, (unsigned)t->head.size, TB_TWIN_TABLE_VERSION,
                            sizeof(tb_twin_op));
    if (!t->domain || !*t->domain || strcmp(t->domain, "ai.onnx") == 0)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: a twin plugin names the ONNX domain of its op (not empty, not ai.onnx: the "
                            "built-in ops own those)",
                            file);
    if (!tb_is_identifier(t->op_type))
        return tb_error_set(err, TB_ERR_INPUT, "%s: the op type '%s' is not an identifier", file,
                            t->op_type ? t->op_type : "(null)");
    size_t n = count_names(t->inputs);
    if (n == 0 || n > TB_TWIN_MAX_INPUTS)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a twin plugin names 1 to %d inputs (inputs)", file,
                            TB_TWIN_MAX_INPUTS);
    if (t->weights >> n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: `weights` marks input %u, but the op has %zu inputs", file,
                            (unsigned)(31 - __builtin_clz(t->weights)), n);
    if (t->weights == (1u << n) - 1)
        return tb_error_set(err, TB_ERR_INPUT, "%s: every input is a weight: the op needs one computed input", file);
    if (!t->infer)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a twin plugin needs its shape inference (infer)", file);
    if (!t->source || !*t->source || !tb_is_identifier(t->kernel))
        return tb_error_set(err, TB_ERR_INPUT, "%s: a twin plugin needs its OpenCL source and the kernel's name", file);
    return TB_OK;
}

static void names_text(tb_buf *b, const char *const *v, unsigned weights)
{
    for (size_t i = 0; v && v[i]; ++i)
        tb_buf_printf(b, "%s%s%s", i ? ", " : " ", v[i], weights >> i & 1 ? " (weight)" : "");
}

void tw_plugin_text(const tb_plugin *p, tb_buf *b)
{
    const tb_twin_op *t = p->table;
    tb_buf_printf(b, "op: %s (domain %s), kernel %s\ninputs:", t->op_type, t->domain, t->kernel);
    names_text(b, t->inputs, t->weights);
    tb_buf_puts(b, "\nattributes:");
    names_text(b, t->attributes, 0);
    if (!t->attributes || !t->attributes[0])
        tb_buf_puts(b, " none");
    tb_buf_puts(b, "\n\n");
}

static void json_names(tb_buf *b, const char *const *v)
{
    tb_buf_puts(b, "[");
    for (size_t i = 0; v && v[i]; ++i) {
        tb_buf_puts(b, i ? ", " : "");
        tb_json_string(b, v[i]);
    }
    tb_buf_puts(b, "]");
}

void tw_plugin_json(const tb_plugin *p, tb_buf *b)
{
    const tb_twin_op *t = p->table;
    tb_buf_puts(b, ", \"domain\": ");
    tb_json_string(b, t->domain);
    tb_buf_puts(b, ", \"op_type\": ");
    tb_json_string(b, t->op_type);
    tb_buf_puts(b, ", \"inputs\": ");
    json_names(b, t->inputs);
    tb_buf_printf(b, ", \"weights\": %u, \"attributes\": ", t->weights);
    json_names(b, t->attributes);
}

void tw_builtin_text(tb_buf *b)
{
    tb_buf_puts(b, "ONNX ops (domain ai.onnx): ");
    tw_op_names(b);
    tb_buf_puts(b, "; twin plugins add ops of other domains");
}

/* ------------------------------------------------------------ resolving */

static const tb_plugin *find_op(const tb_plugin_registry *reg, const char *domain, const char *op)
{
    for (size_t i = 0; i < tb_plugin_count(reg); ++i) {
        const tb_plugin *p = tb_plugin_at(reg, i);
        const tb_twin_op *t = p->table;
        if (strcmp(p->kind, TB_TWIN_KIND) == 0 && strcmp(t->domain, domain) == 0 && strcmp(t->op_type, op) == 0)
            return p;
    }
    return NULL;
}

tb_status tw_plugin_resolve(tw_graph *g, tw_node *n, const char *domain, const char *file, tb_error *err)
{
    if (!g->plugins && tb_plugin_registry_load(&g->plugins, err) != TB_OK)
        return err->status;
    const tb_plugin *p = find_op(g->plugins, domain, n->op);
    if (!p)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: node '%s': op '%s' of domain '%s' is not supported (opset %lld): no twin plugin "
                            "provides it ('twinbrain plugins' lists them; TWINBRAIN_PLUGIN_PATH adds folders)",
                            file, n->name, n->op, domain, (long long)g->opset);
    n->domain = tb_strdup(domain);
    if (!n->domain)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    n->plugin = p;
    return TB_OK;
}

/* ------------------------------------------------------------ the node as a plugin sees it */

typedef struct view {
    tb_twin_node pub;
    const tw_node *n;
} view;

static int64_t v_attr_int(const tb_twin_node *pub, const char *name, int64_t def)
{
    return tw_attr_int(((const view *)pub)->n, name, def);
}

static double v_attr_float(const tb_twin_node *pub, const char *name, double def)
{
    const tw_attr *a = tw_attr_find(((const view *)pub)->n, name);
    return a && a->type == TW_A_INT ? (double)a->i : tw_attr_float(((const view *)pub)->n, name, def);
}

static void node_view(tw_graph *g, const tw_node *n, view *v)
{
    memset(v, 0, sizeof *v);
    v->n = n;
    v->pub.name = n->name;
    v->pub.n_inputs = n->n_in;
    for (size_t j = 0; j < n->n_in && j < TB_TWIN_MAX_INPUTS; ++j) {
        tw_tensor *t = tw_in(g, n, j);
        v->pub.rank[j] = t ? t->rank : 0;
        for (int d = 0; t && d < t->rank; ++d)
            v->pub.dims[j][d] = t->dims[d];
    }
    v->pub.attr_int = v_attr_int;
    v->pub.attr_float = v_attr_float;
}

static tb_status infer_plugin(tw_graph *g, tw_node *n, tb_error *err)
{
    const tb_twin_op *t = n->plugin->table;
    size_t want = count_names(t->inputs);
    if (n->n_in != want || n->n_out != 1)
        return tw_node_error(g, n, err, "has %zu inputs and %zu outputs; plugin '%s' takes %zu inputs and gives 1 output",
                             n->n_in, n->n_out, n->plugin->name, want);
    for (size_t j = 0; j < want; ++j) {
        tw_tensor *x = tw_in(g, n, j);
        if (!x || !(x->known || tw_is_const(x)))
            return tw_node_error(g, n, err, "its input %s has no known shape", t->inputs[j]);
        if (t->weights >> j & 1 && !tw_is_const(x))
            return tw_node_error(g, n, err, "its input %s ('%s') is a weight of plugin '%s' but is computed at run time",
                                 t->inputs[j], x->name, n->plugin->name);
        if (!tw_is_float(x->dtype))
            return tw_node_error(g, n, err, "its input %s ('%s') holds %s values; twin plugins take float tensors",
                                 t->inputs[j], x->name, tw_dtype_name(x->dtype));
    }
    view v;
    node_view(g, n, &v);
    int rank = 0;
    int64_t dims[TB_TWIN_MAX_RANK] = {0};
    tb_error e = {0};
    if (t->infer(&v.pub, &rank, dims, &e) != TB_OK || rank < 0 || rank > TW_MAX_RANK) {
        tb_status st = tw_node_error(g, n, err, "plugin '%s': %s", n->plugin->name,
                                     e.status ? tb_error_message(&e) : "an output rank out of range");
        tb_error_clear(&e);
        return st;
    }
    tw_tensor *o = tw_out(g, n, 0);
    if (o) {
        o->dtype = tw_in(g, n, 0)->dtype;
        o->rank = rank;
        memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
        o->known = true;
    }
    return TB_OK;
}

const tw_op tw_plugin_op = {"(twin plugin)", TW_K_PLUGIN, 0, infer_plugin, NULL, NULL};

const tw_op *tw_node_op(const tw_node *n)
{
    return n->plugin ? &tw_plugin_op : tw_op_find(n->op);
}

void tw_plugin_tables(tw_graph *g, const tw_node *n, int64_t *meta, size_t *n_meta, double *reals, size_t *n_reals)
{
    const tb_twin_op *t = n->plugin->table;
    view v;
    node_view(g, n, &v);
    size_t nm = 0;
    if (t->meta) {
        nm = t->meta(&v.pub, meta);
    } else {
        for (size_t j = 0; j <= n->n_in; ++j) {
            tw_tensor *x = j < n->n_in ? tw_in(g, n, j) : tw_out(g, n, 0);
            meta[nm++] = x->rank;
            for (int d = 0; d < x->rank; ++d)
                meta[nm++] = x->dims[d];
        }
    }
    size_t nr = t->reals ? t->reals(&v.pub, reals) : 0;
    *n_meta = nm > TB_TWIN_MAX_META ? TB_TWIN_MAX_META : nm;
    *n_reals = nr > TB_TWIN_MAX_META ? TB_TWIN_MAX_META : nr;
}
