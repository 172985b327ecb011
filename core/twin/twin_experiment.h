/* In-silico experiments on a twin ([[experiment]]): stimuli generated on
 * the device, run through the network in batches, per-unit measures
 * written under /twin/experiments/NAME/ (docs/twin.md, docs/formats.md). */
#ifndef TWINBRAIN_TWIN_EXPERIMENT_H
#define TWINBRAIN_TWIN_EXPERIMENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "twinbrain/output.h"
#include "twinbrain/scenario.h"

typedef enum tw_exp_kind { TW_EXP_ORIENTATION, TW_EXP_RF, TW_EXP_SIZE, TW_EXP_RESPONSE } tw_exp_kind;

typedef struct tw_list {
    double *v;
    size_t n;
} tw_list;

typedef struct tw_experiment {
    char *name;
    tw_exp_kind kind;
    double mean;
    uint64_t burn_in;
    /* orientation_tuning */
    size_t directions;
    tw_list sf, tf, contrasts;
    uint64_t window;
    /* receptive_field */
    int64_t square;
    double density, contrast;
    uint64_t frames, hold, lag, seed;
    bool white; /* Gaussian white noise instead of sparse */
    char *where; /* "FILE:LINE:COL" of experiment.square, for size errors */
    /* size_tuning (sf, tf: their first entries; contrast) */
    tw_list radii;
    double centre[2], direction;
    bool has_centre;
    long rf, tuning; /* earlier experiments giving centres, directions; -1: none */
    /* response_to */
    char *file, *dataset; /* resolved path */
    double scale, offset; /* scale NaN: by type */
    char *file_where;     /* "FILE:LINE:COL: " of experiment.file */
} tw_experiment;

typedef struct tw_experiments {
    tw_experiment *e;
    size_t n;
} tw_experiments;

struct tw_exec;
struct tw_scenario;

void tw_experiments_check(tb_schema_checker *c, tb_scenario *sc, tw_experiments *out);
void tw_experiments_free(tw_experiments *x);
void tw_experiments_list_keys(tb_buf *b);
/* What needs the network: every experiment fits a H x W frame (status 4
 * naming the key and where it was written). */
tb_status tw_experiments_fit(const tw_experiments *x, size_t H, size_t W, tb_error *err);

/* Run them all on the executor (frame input in_k, response output out_k,
 * units of them) and write their results; *frames gets the stimulus frames
 * run. The recurrent state is zero after. */
typedef struct tw_exp_target {
    struct tw_exec *x;
    tb_device *dev;
    size_t in_k, out_k, H, W, units;
    tb_precision prec;
    const char *output_name;
    volatile sig_atomic_t *stop; /* Ctrl-C: TB_ERR_INTERRUPTED at the next frame; NULL: none */
} tw_exp_target;
/* TB_ERR_INTERRUPTED naming experiment `name` when the run's stop flag is set. */
tb_status tw_exp_check_stop(const tw_exp_target *t, const char *name, tb_error *err);
tb_status tw_experiments_run(const tw_experiments *x, const tw_exp_target *t, tb_output *out, double *frames,
                             tb_error *err);

/* response_to (twin_response_to.c): experiment i's file fits H x W; run it
 * into group. */
tb_status tw_response_to_fit(const tw_experiment *e, size_t i, size_t H, size_t W, tb_error *err);
tb_status tw_response_to_run(const tw_experiment *e, size_t i, const tw_exp_target *t, const char *group,
                             tb_output *out, double *frames, tb_error *err);

#endif
