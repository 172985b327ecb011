/* A network graph of the twin kit: tensors (constant or computed), nodes
 * in execution order, named inputs and outputs, recurrent state pairs.
 * The importer builds it from ONNX and folds it; the network file
 * (docs/formats.md, "Twin networks") stores it; the executor runs it. */
#ifndef TWINBRAIN_TWIN_GRAPH_H
#define TWINBRAIN_TWIN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

#define TW_MAX_RANK 8
#define TW_MAX_GUARDS 4 /* nested Ifs */

/* Element types, numbered as ONNX numbers them (TensorProto.DataType). */
enum {
    TW_FLOAT = 1,
    TW_UINT8 = 2,
    TW_INT8 = 3,
    TW_INT32 = 6,
    TW_INT64 = 7,
    TW_BOOL = 9,
    TW_DOUBLE = 11
};

typedef struct tw_tensor {
    char *name;
    int dtype;
    int rank;
    int64_t dims[TW_MAX_RANK];
    bool known; /* shape known */
    /* A constant's value (an initializer, or folded at import): floating
     * types in f (exact for float and double), the others in i. */
    double *f;
    int64_t *i;
} tw_tensor;

enum { TW_A_FLOAT = 1, TW_A_INT = 2, TW_A_STRING = 3, TW_A_TENSOR = 4, TW_A_FLOATS = 6, TW_A_INTS = 7 };

typedef struct tw_attr {
    char *name;
    int type;
    double f;
    int64_t i;
    char *s;
    double *floats;
    int64_t *ints;
    size_t n;
    int tensor; /* TW_A_TENSOR: a constant tensor of the graph */
} tw_attr;

typedef struct tw_node {
    char *op, *name;
    int *in, *out; /* tensor indices; -1: an optional input left out */
    size_t n_in, n_out;
    tw_attr *attrs;
    size_t n_attrs;
    /* A node inlined from a branch of an If (twin_onnx.c): live only when
     * each condition tensor guard[k] folds at import to guard_then[k]. */
    int guard[TW_MAX_GUARDS];
    bool guard_then[TW_MAX_GUARDS];
    int n_guard;
    /* A custom op (docs/plugins.md, "Twin plugins"): its ONNX domain and
     * the twin plugin that runs it (a tb_plugin of kind "twin"); NULL for
     * the built-in ops. */
    char *domain;
    const struct tb_plugin *plugin;
} tw_node;

typedef struct tw_graph {
    tw_tensor *t;
    size_t n_t, cap_t;
    tw_node *nodes;
    size_t n_nodes, cap_nodes;
    int *inputs, *outputs;
    size_t n_inputs, n_outputs;
    /* recurrent state: input state_in[k] takes the value of output
     * state_out[k] after each frame (zero at the start) */
    int *state_in, *state_out;
    size_t n_state;
    /* provenance */
    char *source, *source_sha256, *producer, *producer_version, *graph_name, *sizes;
    int64_t ir_version, opset;
    /* The plugins of custom ops, loaded when the first one is met (owned). */
    struct tb_plugin_registry *plugins;
} tw_graph;

void tw_graph_free(tw_graph *g);
/* The tensor named `name`, added (unknown shape, no value) when absent;
 * -1 when out of memory. */
int tw_graph_tensor(tw_graph *g, const char *name);
int tw_graph_find(const tw_graph *g, const char *name);
tw_node *tw_graph_add_node(tw_graph *g, const char *op, const char *name);
void tw_node_free(tw_node *n);

int64_t tw_numel(const tw_tensor *t);
bool tw_is_const(const tw_tensor *t);
bool tw_is_float(int dtype);
const char *tw_dtype_name(int dtype);
/* "[1, 64, 36, 64]" into buf. */
const char *tw_shape_text(const tw_tensor *t, char *buf, size_t cap);
/* Give a tensor a value (malloc'd, zeroed) of its dtype and shape. */
bool tw_tensor_alloc(tw_tensor *t);
/* Element k of a constant as a double / an integer, whatever its type. */
double tw_get_f(const tw_tensor *t, int64_t k);
int64_t tw_get_i(const tw_tensor *t, int64_t k);
void tw_set(tw_tensor *t, int64_t k, double v);

const tw_attr *tw_attr_find(const tw_node *n, const char *name);
int64_t tw_attr_int(const tw_node *n, const char *name, int64_t def);
double tw_attr_float(const tw_node *n, const char *name, double def);
const char *tw_attr_string(const tw_node *n, const char *name, const char *def);
/* INTS attribute: its values and count, or NULL (count 0). */
const int64_t *tw_attr_ints(const tw_node *n, const char *name, size_t *count);

/* The i-th input of a node, or NULL when absent or left out. */
tw_tensor *tw_in(tw_graph *g, const tw_node *n, size_t i);
tw_tensor *tw_out(tw_graph *g, const tw_node *n, size_t i);

#endif
