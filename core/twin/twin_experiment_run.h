/* The machinery the [[experiment]] kinds share (twin_experiment_run.c):
 * a run holds the executor, the stimulus kernel of the kind running, the
 * host buffer responses are read into, and what earlier experiments left
 * for later ones. Private to the twin kit. */
#ifndef TWINBRAIN_TWIN_EXPERIMENT_RUN_H
#define TWINBRAIN_TWIN_EXPERIMENT_RUN_H

#include "twin_experiment.h"
#include "twinbrain/opencl.h"
#include "twinbrain/program.h"

typedef struct tw_xrun {
    const tw_exp_target *t;
    const tw_experiment *e;
    tb_program *prog;
    cl_kernel k;
    size_t B, rs;
    char *host; /* frames x B x units reals read back */
    size_t host_frames;
    char group[320];
    size_t index;    /* of the experiment running */
    double **centre; /* per experiment: receptive_field centres [U][2] */
    double **dir;    /* per experiment: orientation_tuning preferred directions [U] */
    double frames;   /* stimulus frames run (instances that held a condition) */
} tw_xrun;

cl_int tw_xrun_arg(tw_xrun *r, cl_uint i, size_t size, const void *v);
/* A real argument in the run's precision. */
cl_int tw_xrun_arg_real(tw_xrun *r, cl_uint i, double v);
/* Response of unit u, instance b in row `frame` of the host buffer. */
double tw_xrun_at(const tw_xrun *r, size_t frame, size_t b, size_t u);
/* Enqueue the stimulus kernel and one frame through the network; the
 * response lands in host row `slot` when slot >= 0. */
tb_status tw_xrun_frame(tw_xrun *r, long slot, tb_error *err);
tb_status tw_xrun_finish(tw_xrun *r, tb_error *err);
/* Status 5 naming the first response that is not finite. */
tb_status tw_xrun_check_finite(const tw_xrun *r, size_t frames, size_t active, tb_error *err);
/* A dataset `leaf` of the experiment's group. */
tb_status tw_xrun_write(tw_xrun *r, tb_output *out, const char *leaf, tb_dtype type, int rank, const uint64_t *dims,
                        const void *data, tb_error *err);
/* Gratings (kernels tw_exp_grating, tw_exp_disc): the fixed arguments and
 * a buffer of np parameters per instance; then batches of `active`
 * conditions from the zero state, mean[b][u] their window means. */
tb_status tw_xrun_grating_setup(tw_xrun *r, size_t np, cl_mem *params, tb_error *err);
tb_status tw_xrun_gratings(tw_xrun *r, cl_mem params, const double *pv, size_t np, size_t active, double *mean,
                           tb_error *err);

/* The kinds (twin_tuning.c, twin_rf.c, twin_size.c). */
tb_status tw_orientation_tuning(tw_xrun *r, tb_output *out, tb_error *err);
tb_status tw_receptive_field(tw_xrun *r, tb_output *out, tb_error *err);
tb_status tw_size_tuning(tw_xrun *r, tb_output *out, tb_error *err);

#endif
