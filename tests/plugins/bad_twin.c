/* A twin plugin whose table marks a weight past its inputs: the loader
 * must refuse it, naming the file and the reason, as for the other kinds. */
#include "twinbrain/twin.h"

static const char *const inputs[] = {"x", NULL};

static tb_status infer(const tb_twin_node *n, int *rank, int64_t *dims, tb_error *err)
{
    (void)err;
    *rank = n->rank[0];
    for (int d = 0; d < n->rank[0]; ++d)
        dims[d] = n->dims[0][d];
    return TB_OK;
}

static const tb_twin_op table = {
    .head = TB_TWIN_TABLE_HEADER,
    .domain = "org.example",
    .op_type = "Twice",
    .inputs = inputs,
    .weights = 1u << 3,
    .infer = infer,
    .source = "__kernel void twice(void) {}",
    .kernel = "twice",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_TWIN_KIND,
    .name = "bad_twin",
    .version = "0",
    .summary = "a weight marked past the op's inputs",
    .table = &table,
};

TB_PLUGIN_EXPORT(bad_twin)
{
    (void)core;
    return &plugin;
}
