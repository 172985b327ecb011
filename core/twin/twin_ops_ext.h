/* Ops of the twin kit beyond the first op library (twin_ops.c): 3-D
 * convolutions, Pad, the normalisations, LSTM/GRU, Split, Einsum. Their
 * shape inference (the op table in twin_ops.c points here) and small
 * helpers shared by their files; their planners are in twin_plan.h. */
#ifndef TWINBRAIN_TWIN_OPS_EXT_H
#define TWINBRAIN_TWIN_OPS_EXT_H

#include "twin_ops.h"

tb_status tw_infer_conv3d(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_pad(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_layernorm(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_instancenorm(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_lstm(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_gru(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_split(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_eval_split(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_einsum(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_convt(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_if(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_eval_if(tw_graph *g, tw_node *n, tb_error *err);
/* At import: whether a node inlined from an If's branch is live (its
 * conditions folded its way), and the If's choice of branch. */
tb_status tw_if_guard(tw_graph *g, const tw_node *n, bool *live, tb_error *err);
tb_status tw_if_choose(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_trig(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_eval_trig(tw_graph *g, tw_node *n, tb_error *err);
tb_status tw_infer_readout(tw_graph *g, tw_node *n, tb_error *err);

/* An input of known shape, or NULL. */
tw_tensor *tw_known_in(tw_graph *g, const tw_node *n, size_t i);
/* Output i gets dtype and shape (a no-op when the output is left out). */
void tw_set_out(tw_graph *g, const tw_node *n, size_t i, int dtype, int rank, const int64_t *dims);
/* Input i must be a constant when present (NULL when absent). */
tb_status tw_const_in(tw_graph *g, const tw_node *n, size_t i, const char *what, tw_tensor **t, tb_error *err);

/* 3-D convolution geometry (input [N, C, D, H, W]). */
typedef struct tw_window3 {
    int64_t N, C, M, groups;
    int64_t in[3], out[3], k[3], s[3], p[3], d[3];
} tw_window3;
tb_status tw_window3_of(tw_graph *g, const tw_node *n, tw_window3 *w, tb_error *err);

#endif
