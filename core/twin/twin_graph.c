/* The twin kit's network graph: construction, look-up and the small
 * accessors every op uses. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_graph.h"
#include "twinbrain/plugin.h"
#include "util.h"

void tw_node_free(tw_node *n)
{
    free(n->op);
    free(n->name);
    free(n->in);
    free(n->out);
    for (size_t a = 0; a < n->n_attrs; ++a) {
        free(n->attrs[a].name);
        free(n->attrs[a].s);
        free(n->attrs[a].floats);
        free(n->attrs[a].ints);
    }
    free(n->attrs);
    free(n->domain);
    memset(n, 0, sizeof *n);
}

void tw_graph_free(tw_graph *g)
{
    if (!g)
        return;
    for (size_t k = 0; k < g->n_t; ++k) {
        free(g->t[k].name);
        free(g->t[k].f);
        free(g->t[k].i);
    }
    free(g->t);
    for (size_t k = 0; k < g->n_nodes; ++k)
        tw_node_free(&g->nodes[k]);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->state_in);
    free(g->state_out);
    free(g->source);
    free(g->source_sha256);
    free(g->producer);
    free(g->producer_version);
    free(g->graph_name);
    free(g->sizes);
    tb_plugin_registry_free(g->plugins); /* after the nodes: their plugins live in it */
    memset(g, 0, sizeof *g);
}

int tw_graph_find(const tw_graph *g, const char *name)
{
    for (size_t k = 0; k < g->n_t; ++k)
        if (strcmp(g->t[k].name, name) == 0)
            return (int)k;
    return -1;
}

int tw_graph_tensor(tw_graph *g, const char *name)
{
    int k = tw_graph_find(g, name);
    if (k >= 0)
        return k;
    if (!tb_grow((void **)&g->t, &g->cap_t, g->n_t + 1, sizeof *g->t))
        return -1;
    tw_tensor *t = &g->t[g->n_t];
    memset(t, 0, sizeof *t);
    t->name = tb_strdup(name);
    t->dtype = TW_FLOAT;
    return t->name ? (int)g->n_t++ : -1;
}

tw_node *tw_graph_add_node(tw_graph *g, const char *op, const char *name)
{
    if (!tb_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes))
        return NULL;
    tw_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = tb_strdup(op);
    n->name = tb_strdup(name ? name : "");
    if (!n->op || !n->name) {
        tw_node_free(n);
        return NULL;
    }
    g->n_nodes++;
    return n;
}

int64_t tw_numel(const tw_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->rank; ++d)
        n *= t->dims[d];
    return n;
}

bool tw_is_const(const tw_tensor *t)
{
    return t->f || t->i;
}

bool tw_is_float(int dtype)
{
    return dtype == TW_FLOAT || dtype == TW_DOUBLE;
}

const char *tw_dtype_name(int dtype)
{
    switch (dtype) {
    case TW_FLOAT: return "float32";
    case TW_DOUBLE: return "float64";
    case TW_UINT8: return "uint8";
    case TW_INT8: return "int8";
    case TW_INT32: return "int32";
    case TW_INT64: return "int64";
    case TW_BOOL: return "bool";
    default: return "unsupported";
    }
}

const char *tw_shape_text(const tw_tensor *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->rank && n < cap; ++d)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)t->dims[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

bool tw_tensor_alloc(tw_tensor *t)
{
    int64_t n = tw_numel(t);
    free(t->f);
    free(t->i);
    t->f = NULL;
    t->i = NULL;
    if (n < 0 || n > ((int64_t)1 << 40))
        return false;
    size_t m = (size_t)(n ? n : 1);
    if (tw_is_float(t->dtype))
        t->f = calloc(m, sizeof *t->f);
    else
        t->i = calloc(m, sizeof *t->i);
    t->known = true;
    return t->f || t->i;
}

double tw_get_f(const tw_tensor *t, int64_t k)
{
    return t->f ? t->f[k] : (double)t->i[k];
}

int64_t tw_get_i(const tw_tensor *t, int64_t k)
{
    return t->i ? t->i[k] : (int64_t)t->f[k];
}

void tw_set(tw_tensor *t, int64_t k, double v)
{
    if (t->f)
        t->f[k] = t->dtype == TW_FLOAT ? (double)(float)v : v;
    else
        t->i[k] = t->dtype == TW_BOOL ? (v != 0) : (int64_t)v;
}

const tw_attr *tw_attr_find(const tw_node *n, const char *name)
{
    for (size_t a = 0; a < n->n_attrs; ++a)
        if (strcmp(n->attrs[a].name, name) == 0)
            return &n->attrs[a];
    return NULL;
}

int64_t tw_attr_int(const tw_node *n, const char *name, int64_t def)
{
    const tw_attr *a = tw_attr_find(n, name);
    return a && a->type == TW_A_INT ? a->i : def;
}

double tw_attr_float(const tw_node *n, const char *name, double def)
{
    const tw_attr *a = tw_attr_find(n, name);
    return a && a->type == TW_A_FLOAT ? a->f : a && a->type == TW_A_INT ? (double)a->i : def;
}

const char *tw_attr_string(const tw_node *n, const char *name, const char *def)
{
    const tw_attr *a = tw_attr_find(n, name);
    return a && a->type == TW_A_STRING && a->s ? a->s : def;
}

const int64_t *tw_attr_ints(const tw_node *n, const char *name, size_t *count)
{
    const tw_attr *a = tw_attr_find(n, name);
    *count = a && a->type == TW_A_INTS ? a->n : 0;
    return a && a->type == TW_A_INTS ? a->ints : NULL;
}

tw_tensor *tw_in(tw_graph *g, const tw_node *n, size_t i)
{
    return i < n->n_in && n->in[i] >= 0 ? &g->t[n->in[i]] : NULL;
}

tw_tensor *tw_out(tw_graph *g, const tw_node *n, size_t i)
{
    return i < n->n_out && n->out[i] >= 0 ? &g->t[n->out[i]] : NULL;
}
