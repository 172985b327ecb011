/* `twinbrain twin import`: ONNX -> folded graph -> network file. */
#ifndef TWINBRAIN_TWIN_IMPORT_H
#define TWINBRAIN_TWIN_IMPORT_H

#include "twin_graph.h"

/* Read an ONNX model; `sizes` are "NAME=AxBx..." strings fixing inputs'
 * sizes. Errors are TB_ERR_INPUT naming the file. */
tb_status tw_onnx_read(const char *file, const char *const *sizes, size_t n_sizes, tw_graph *g, tb_error *err);
/* Infer every shape, fold what is constant (shape arithmetic, weight
 * transforms), fold BatchNormalization into the Conv before it, drop what
 * no output needs, pair recurrent state. An op the kit does not know is
 * TB_ERR_INPUT naming the op, the node and the opset. */
tb_status tw_graph_fold(tw_graph *g, tb_error *err);
/* Rewrite each Gaussian readout (GridSample, Mul by constant features,
 * ReduceSum over the channels, bias Add: twin_fuse.c) of a folded graph
 * into one GridSampleReadout node; *fused counts them. */
tb_status tw_graph_fuse(tw_graph *g, size_t *fused, tb_error *err);
/* Drop the nodes and tensors no output needs (after the outputs of an
 * already folded graph changed) and pair the recurrent state again. */
tb_status tw_graph_prune(tw_graph *g, tb_error *err);
/* A graph read from a network file is what the importer would write:
 * every node's op runs on a device, its inputs exist before it, and the
 * stored shapes are those its inputs give (so no kernel reads or writes
 * beyond a buffer). TB_ERR_INPUT naming the file and the node otherwise. */
tb_status tw_graph_verify(tw_graph *g, const char *file, tb_error *err);
/* Write / read the network file (docs/formats.md, "Twin networks"). */
tb_status tw_network_write(const tw_graph *g, const char *path, tb_error *err);
tb_status tw_network_read(const char *path, tw_graph *g, tb_error *err);

#endif
