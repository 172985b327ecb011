/* The twin kit's op library: one entry per ONNX op it runs or folds.
 * An entry says how the outputs' shapes follow from the inputs' (at
 * import, where input sizes are fixed), how to compute the op on the host
 * when every input is a constant (folding shape arithmetic and weight
 * transforms away at import), and how to run it on a device (the kernels
 * of kernels/twin.cl). */
#ifndef TWINBRAIN_TWIN_OPS_H
#define TWINBRAIN_TWIN_OPS_H

#include "twin_graph.h"
#include "util.h"

/* A strided copy: the way data-movement ops (Transpose, Slice, Concat,
 * Gather, Expand, ...) are described once for the host and the device.
 * Element c (coordinates over dims) of the view goes from input `src` at
 * xoff + sum c*xstr to the output at yoff + sum c*ystr. */
typedef struct tw_view {
    int src;
    int rank;
    int64_t dims[TW_MAX_RANK];
    int64_t xoff, yoff;
    int64_t xstr[TW_MAX_RANK], ystr[TW_MAX_RANK];
} tw_view;

/* How a kernel-backed op runs (core/twin/twin_exec.c reads it). */
typedef enum tw_kind {
    TW_K_HOST,    /* folded at import only: never runs on a device */
    TW_K_ALIAS,   /* its output is its first input, reshaped (no work) */
    TW_K_UNARY,
    TW_K_BINARY,
    TW_K_COPY,    /* strided copies (views) */
    TW_K_CONV,
    TW_K_GEMM,
    TW_K_MATMUL,
    TW_K_POOL,
    TW_K_REDUCE,
    TW_K_GRID,
    TW_K_AFFINE,  /* per-channel scale and shift (BatchNormalization) */
    TW_K_SOFTMAX,
    TW_K_EXT,     /* planned by tw_plan_ext (the twin_ops_*.c files) */
    TW_K_PLUGIN   /* a twin plugin's custom op (twin_plugin.h) */
} tw_kind;

typedef struct tw_op {
    const char *name;
    tw_kind kind;
    int code; /* the kernel's op code (unary, binary, pool, reduce) */
    tb_status (*infer)(tw_graph *g, tw_node *n, tb_error *err);
    /* Views of a TW_K_COPY op (at most cap); -1 when more are needed. */
    int (*views)(tw_graph *g, const tw_node *n, tw_view *v, int cap);
    /* Host evaluation for folding, when not a plain unary/binary/copy
     * (those are evaluated generically); NULL otherwise. */
    tb_status (*eval)(tw_graph *g, tw_node *n, tb_error *err);
} tw_op;

const tw_op *tw_op_find(const char *name);
/* The op names, ", "-joined (for `twinbrain plugins` and messages). */
void tw_op_names(tb_buf *b);
/* Whether the op can be computed on the host when its inputs are
 * constants, and that computation (the outputs get their values). */
bool tw_op_foldable(const tw_op *op);
tb_status tw_op_eval(tw_graph *g, tw_node *n, const tw_op *op, tb_error *err);

/* Unary and binary codes, shared with kernels/twin.cl. */
enum {
    TW_U_RELU, TW_U_ELU, TW_U_SIGMOID, TW_U_TANH, TW_U_SOFTPLUS, TW_U_EXP, TW_U_LOG, TW_U_ABS, TW_U_NEG,
    TW_U_SQRT, TW_U_CLIP, TW_U_LEAKY, TW_U_RECIP, TW_U_IDENTITY, TW_U_ERF, TW_U_FLOOR, TW_U_CEIL, TW_U_CAST,
    TW_U_GELU /* the executor's: an exported exact GELU, (x (erf(x / p0) + 1)) p1, in one pass */
};
enum { TW_B_ADD, TW_B_SUB, TW_B_MUL, TW_B_DIV, TW_B_POW, TW_B_MAX, TW_B_MIN, TW_B_EQUAL, TW_B_LESS, TW_B_GREATER };
enum { TW_R_SUM, TW_R_MEAN, TW_R_MAX, TW_R_MIN, TW_R_L2, TW_R_SUMSQ };

/* Parameters of a unary op (alpha, clip bounds) from its node. */
void tw_unary_params(tw_graph *g, const tw_node *n, double *p0, double *p1);
double tw_unary_host(int code, double x, double p0, double p1);
double tw_binary_host(int code, double a, double b);
/* Broadcast strides of input `which` (0 or 1) over the output's shape. */
void tw_broadcast_strides(const tw_tensor *in, const tw_tensor *out, int64_t *str);
/* Row-major strides of a tensor. */
void tw_strides(const tw_tensor *t, int64_t *str);

/* Conv and pool geometry from a node (2-D; 1-D as height 1). */
typedef struct tw_window {
    int64_t N, C, H, W, M, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, groups;
} tw_window;
tb_status tw_window_of(tw_graph *g, const tw_node *n, bool conv, tw_window *w, tb_error *err);

/* Reduce geometry: the kept and the reduced axes of the input. */
typedef struct tw_reduce_axes {
    bool reduced[TW_MAX_RANK];
} tw_reduce_axes;
tb_status tw_reduce_axes_of(tw_graph *g, const tw_node *n, tw_reduce_axes *r, tb_error *err);

tb_status tw_node_error(tw_graph *g, const tw_node *n, tb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
