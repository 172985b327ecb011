/* The effect of a perturbation (internal; `twinbrain compare BASE.h5
 * PERTURBED.h5`): what changed between two output files, in the terms a
 * user asks about rather than element by element (core/compare.c):
 *   - every monitor /monitors/<name>/data [T, B, N, V] (variable 0): the
 *     change of each unit's mean and standard deviation over time, and of
 *     the functional connectivity (Pearson correlations between units over
 *     time; an fc monitor's own matrices) with the unit whose FC row
 *     changed most;
 *   - every spiking population under /spikes: rates and the coefficient of
 *     variation of inter-spike intervals.
 * Instance b of the perturbed file is set against instance b of the
 * baseline, or against its only instance (a lesion atlas against one
 * baseline run). */
#ifndef TWINBRAIN_EFFECT_H
#define TWINBRAIN_EFFECT_H

#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

typedef struct tb_effect_monitor {
    char name[128];
    char kind[32];
    uint64_t T, B, N;   /* samples, instances of the perturbed file, units */
    /* per instance of the perturbed file */
    double *mean_change; /* mean over units of (mean_p - mean_b) */
    double *mean_abs;    /* mean over units of |mean_p - mean_b| */
    double *sd_ratio;    /* mean over units of sd_p / sd_b (NaN where sd_b is 0) */
    double *fc_r;        /* Pearson r between the FC matrices' upper triangles (NaN: undefined) */
    double *fc_rms;      /* RMS over the upper triangle of FC_p - FC_b */
    int64_t *fc_unit;    /* the unit whose FC row changed most (RMS), -1 when none */
    char problem[192];   /* why it was not compared, "" when it was */
} tb_effect_monitor;

typedef struct tb_effect_spikes {
    char population[128];
    uint64_t count_base, count;
    double rate_base, rate;  /* spikes per second per neuron (per recorded neuron) */
    double cv_base, cv;      /* mean CV of the ISIs of neurons with 3 spikes or more; NaN when none */
    char problem[160];
} tb_effect_spikes;

typedef struct tb_effect {
    tb_effect_monitor *mon;
    size_t n_mon;
    tb_effect_spikes *spikes;
    size_t n_spikes;
    char **labels; /* /connectome/region_labels of the perturbed file, or NULL */
    size_t n_labels;
} tb_effect;

tb_status tb_effect_files(const char *base, const char *perturbed, tb_effect *out, tb_error *err);
void tb_effect_free(tb_effect *e);

#endif
