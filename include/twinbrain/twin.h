/* Twin plugins: custom operators for the twin kit.
 *
 * A network imported with `twinbrain twin import` may hold nodes of an op
 * that ONNX does not define (a custom domain, as torch.onnx writes for a
 * symbolic function, or a graph built with onnx.helper): a fused readout,
 * a perspective step, anything ONNX expresses badly. A plugin of this
 * kind runs one such op: the importer maps a node whose (domain, op type)
 * it names to it, asks it for the output's shape, and the executor runs
 * its OpenCL kernel, one work-item per output element and batch instance,
 * on every device (docs/plugins.md, "Twin plugins").
 *
 * The kernel's arguments, in this order:
 *   for each input i:  __global const real *x_i, const long xs_i
 *   the output:        __global real *y, const long ys
 *   then:              __global const long *meta, __global const real *reals, const long n
 * get_global_id(0) is the output element (< n), get_global_id(1) the batch
 * instance b; input i of instance b starts at x_i + b * xs_i (xs_i is 0
 * for a weight, which every instance shares), the output at y + b * ys.
 * `meta` and `reals` hold what the plugin's `meta` and `reals` wrote at
 * planning (by default meta holds every input's rank and dims, then the
 * output's). */
#ifndef TWINBRAIN_TWIN_H
#define TWINBRAIN_TWIN_H

#include <stddef.h>
#include <stdint.h>

#include "twinbrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_TWIN_KIND "twin"
#define TB_TWIN_TABLE_VERSION 1u
#define TB_TWIN_MAX_RANK 8    /* the most dimensions of a tensor */
#define TB_TWIN_MAX_INPUTS 16 /* the most inputs of an op */
#define TB_TWIN_MAX_META 256  /* the most longs (meta) or reals a plugin passes its kernel */

/* What an op sees of its node: the inputs' shapes and the attributes. */
typedef struct tb_twin_node tb_twin_node;
struct tb_twin_node {
    const char *name; /* the node's name in the model, for messages */
    size_t n_inputs;  /* as many as the op's `inputs` names */
    int rank[TB_TWIN_MAX_INPUTS];
    int64_t dims[TB_TWIN_MAX_INPUTS][TB_TWIN_MAX_RANK];
    /* the node's attribute, or `def` when it has none of that name */
    int64_t (*attr_int)(const tb_twin_node *n, const char *name, int64_t def);
    double (*attr_float)(const tb_twin_node *n, const char *name, double def);
    const void *core;
};

typedef struct tb_twin_op {
    tb_kind_header head;             /* TB_TWIN_TABLE_HEADER */
    const char *domain;              /* the ONNX domain of its nodes ("org.example"); not "" nor "ai.onnx" */
    const char *op_type;             /* the ONNX op type */
    const char *const *inputs;       /* its inputs' names in order, NULL-terminated; a node has all of them */
    unsigned weights;                /* bit i: input i is a weight, a constant of the model fixed at import */
    const char *const *attributes;   /* the attributes it reads, NULL-terminated (documentation) */
    /* The output's shape (*rank, dims) from the inputs'; on a shape it cannot
     * take, a message naming the input (the core adds the node). */
    tb_status (*infer)(const tb_twin_node *n, int *rank, int64_t *dims, tb_error *err);
    /* Optional: the kernel's `meta` longs and `reals`, at most TB_TWIN_MAX_META
     * each; they return how many they wrote. NULL: the default meta, no reals. */
    size_t (*meta)(const tb_twin_node *n, int64_t *meta);
    size_t (*reals)(const tb_twin_node *n, double *reals);
    const char *source; /* OpenCL C (after the core's `real` prelude) */
    const char *kernel; /* the kernel of `source` that computes the output */
} tb_twin_op;

#define TB_TWIN_TABLE_HEADER {TB_TWIN_TABLE_VERSION, (uint32_t)sizeof(tb_twin_op)}

#ifdef __cplusplus
}
#endif
#endif
