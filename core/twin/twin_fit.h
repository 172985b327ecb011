/* A twin for a new animal (twinbrain twin fit, docs/twin.md): the core
 * of a network stays frozen and a Gaussian readout (per unit a position,
 * channel weights and a bias) is fitted on the device to recorded
 * responses with the Poisson loss, Adam and early stopping on a held-out
 * split; the fitted readout then replaces the network's own. */
#ifndef TWINBRAIN_TWIN_FIT_H
#define TWINBRAIN_TWIN_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twin_graph.h"
#include "twinbrain/device.h"
#include "twinbrain/program.h"

/* A fitted readout: units N over a core map of C channels. */
typedef struct tw_readout {
    size_t units, channels;
    bool exp_output; /* exp(z), else ELU(z) + 1 */
    double *w;       /* [N][C] */
    double *bias;    /* [N] */
    double *mu;      /* [N][2]: x, y in GridSample's coordinates, [-1, 1] */
} tw_readout;

void tw_readout_free(tw_readout *r);

/* Where a fit attaches: the output it replaces and the core tensor. */
typedef struct tw_fit_site {
    size_t output; /* index in g->outputs */
    int core;      /* tensor index: [1, C, H, W] */
    bool exp_output;
} tw_fit_site;

/* The response output is `output` (NULL: the first output that is not
 * recurrent state); the core tensor is `core` (NULL: the feature input of
 * the GridSample the response output depends on, when there is exactly
 * one such tensor). The nonlinearity is exp when an Exp computes the
 * output (through reshapes), else ELU + 1. TB_ERR_INPUT naming `file`. */
tb_status tw_fit_locate(tw_graph *g, const char *file, const char *output, const char *core, tw_fit_site *site,
                        tb_error *err);
/* Make g compute the core tensor as its output 0, followed by its other
 * outputs except the response (those the readout does not replace: state). */
tb_status tw_fit_core_graph(tw_graph *g, const tw_fit_site *site, tb_error *err);
/* After tw_fit_core_graph: the readout subgraph (GridSample, Mul,
 * ReduceSum, Add, then Exp or Elu and Add) computes an output [1, N] named
 * `name` at the response output's place `site->output`. */
tb_status tw_fit_attach(tw_graph *g, const tw_fit_site *site, const char *name, const tw_readout *r, tb_error *err);

/* The training and held-out frames: a seeded Fisher-Yates shuffle of
 * 0 .. frames - 1 (SplitMix64 draws), the last n_val of which are held
 * out, n_val = ceil(fraction x frames). */
void tw_fit_split(size_t frames, double fraction, uint64_t seed, int *idx, size_t *n_train, size_t *n_val);

typedef struct tw_fit_options {
    double lr;          /* Adam's step size */
    long patience;      /* epochs without a better validation loss */
    long max_epochs;
    long decays;        /* times the step size is cut by 10 before stopping */
    bool exp_output;
    bool quiet;
} tw_fit_options;

typedef struct tw_fit_report {
    long epochs, best_epoch;
    double best_val, train_at_best;
    double *val_curve, *train_curve; /* [epochs] */
} tw_fit_report;

/* Fit on `dev`: features [T][C][H][W] and responses [T][N] as reals of the
 * precision; idx, n_train, n_val from tw_fit_split. Fills r (units,
 * channels set by the caller) and the report (curves malloc'd).
 * TB_ERR_DIVERGED when the loss stops being finite. */
tb_status tw_fit_run(tb_device *dev, tb_precision prec, const void *features, const void *responses, size_t T, size_t C,
                     size_t H, size_t W, const int *idx, size_t n_train, size_t n_val, const tw_fit_options *o,
                     tw_readout *r, tw_fit_report *rep, tb_error *err);

/* `twinbrain twin fit` (core/twin/cli_twin_fit.c, part of the command). */
int tw_cli_fit(int argc, char **argv);

#endif
