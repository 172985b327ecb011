/* What the planners of ops outside twin_exec.c (the twin_ops_*.c files)
 * need from the executor: a launch with its arguments, geometry tables,
 * per-instance scratch buffers. A planner turns one node into launches;
 * each launch runs over n work-items per batch instance. */
#ifndef TWINBRAIN_TWIN_PLAN_H
#define TWINBRAIN_TWIN_PLAN_H

#include "twin_exec.h"

typedef struct tw_args {
    tw_exec *x;
    cl_kernel k;
    cl_uint i;
    cl_int rc;
} tw_args;

const tw_graph *tw_plan_graph(const tw_exec *x);
tb_status tw_plan_start(tw_exec *x, const char *kernel, const tw_node *nd, size_t n, tw_args *a, tb_error *err);
tb_status tw_plan_finish(tw_args *a, const tw_node *nd, tb_error *err);
void tw_arg_mem(tw_args *a, cl_mem m);
void tw_arg_long(tw_args *a, int64_t v);
void tw_arg_int(tw_args *a, int v);
void tw_arg_real(tw_args *a, double v);
/* A tensor's buffer and its instance stride (0 when shared). An absent
 * tensor (index -1) passes `stand_in`'s buffer, never read. */
void tw_arg_tensor(tw_args *a, int t);
void tw_arg_opt_tensor(tw_args *a, int t, int stand_in);
/* A table of longs, kept until the executor is destroyed. */
cl_mem tw_plan_meta(tw_exec *x, const int64_t *v, size_t n, tb_error *err);
/* A zeroed buffer of n reals per batch instance (instance stride n). */
cl_mem tw_plan_scratch(tw_exec *x, size_t n, tb_error *err);

/* Planners of the ops in the twin_ops_*.c files (dispatched by op name). */
tb_status tw_plan_ext(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_conv3d(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_pad(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_norm(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_lstm(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_gru(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_split(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_einsum(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_convt(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_if(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_trig(tw_exec *x, const tw_node *nd, tb_error *err);
tb_status tw_plan_readout(tw_exec *x, const tw_node *nd, tb_error *err);

#endif
