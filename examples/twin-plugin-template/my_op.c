/* A twin plugin: one custom op for networks imported from ONNX.
 *
 * MyScale multiplies each channel of x [N, C, ...] by its weight
 * scale[c] and adds the attribute `shift`: y = x * scale[c] + shift.
 * Replace the shape rule, the tables and the kernel with your op's;
 * include/twinbrain/twin.h documents every field and the kernel's
 * arguments, docs/plugins.md ("Twin plugins") the rest. */
#include "twinbrain/twin.h"

#define MODULE my_op

/* The node's inputs in order (a node must have all of them), and which
 * are weights: constants of the model, fixed at import, shared by every
 * batch instance (their instance stride is 0). */
static const char *const inputs[] = {"x", "scale", NULL};
static const char *const attributes[] = {"shift", NULL};

/* The output's shape from the inputs'. The core has checked the number of
 * inputs and that the weights are constants; it adds the node's name to
 * the message. */
static tb_status infer(const tb_twin_node *n, int *rank, int64_t *dims, tb_error *err)
{
    if (n->rank[0] < 2)
        return tb_error_set(err, TB_ERR_INPUT, "input x must be [N, C, ...]");
    if (n->rank[1] != 1 || n->dims[1][0] != n->dims[0][1])
        return tb_error_set(err, TB_ERR_INPUT, "input scale must be [C], one weight per channel of x");
    *rank = n->rank[0];
    for (int d = 0; d < n->rank[0]; ++d)
        dims[d] = n->dims[0][d];
    return TB_OK;
}

/* The integers the kernel reads (meta) and the reals (in the run's precision). */
static size_t meta(const tb_twin_node *n, int64_t *m)
{
    int64_t inner = 1;
    for (int d = 2; d < n->rank[0]; ++d)
        inner *= n->dims[0][d];
    m[0] = n->dims[0][1]; /* C */
    m[1] = inner;         /* elements per channel */
    return 2;
}

static size_t reals(const tb_twin_node *n, double *r)
{
    r[0] = n->attr_float(n, "shift", 0.0);
    return 1;
}

/* One work-item per output element i (< n) of batch instance b. */
static const char source[] =
    "__kernel void my_scale(__global const real *x, const long xs, __global const real *scale, const long ss,\n"
    "                       __global real *y, const long ys, __global const long *meta,\n"
    "                       __global const real *reals, const long n)\n"
    "{\n"
    "    const long i = get_global_id(0), b = get_global_id(1);\n"
    "    if (i >= n)\n"
    "        return;\n"
    "    const long c = (i / meta[1]) % meta[0];\n"
    "    y[b * ys + i] = x[b * xs + i] * scale[b * ss + c] + reals[0];\n"
    "}\n";

static const tb_twin_op table = {
    .head = TB_TWIN_TABLE_HEADER,
    .domain = "org.example", /* the node's domain in the ONNX model */
    .op_type = "MyScale",     /* and its op type */
    .inputs = inputs,
    .weights = 1u << 1, /* scale */
    .attributes = attributes,
    .infer = infer,
    .meta = meta,
    .reals = reals,
    .source = source,
    .kernel = "my_scale",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_TWIN_KIND,
    .name = "my_op",
    .version = "0.1",
    .summary = "template: y = x * scale[c] + shift, a custom op of domain org.example",
    .doc = "MyScale (domain org.example): inputs x [N, C, ...] and scale [C] (a weight);\n"
           "attribute shift (float, default 0); output y = x * scale[c] + shift, shaped as x.",
    .table = &table,
};

/* TB_PLUGIN_EXPORT(name) must use the module's file name (my_op.so). */
TB_PLUGIN_EXPORT(my_op)
{
    (void)core;
    return &plugin;
}
