/* Functional properties of a twin's units for connectomics (docs/twin.md,
 * "Embeddings and similarity"): a per-unit table gathered from a run's
 * experiments and the network's readout, and pairwise like-to-like
 * measures (`twinbrain twin embeddings`, `twinbrain twin similarity`). */
#ifndef TWINBRAIN_TWIN_SIMILARITY_H
#define TWINBRAIN_TWIN_SIMILARITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <hdf5.h>

#include "twinbrain/error.h"

/* Every array is per unit, aligned on the unit index; NULL where the
 * sources held no such property. */
typedef struct tw_embeddings {
    size_t units, n_features, n_samples;
    double *features;            /* [units][n_features]: readout feature vectors */
    double *centre, *sigma;      /* [units][2] (x, y) pixels: fitted RF Gaussians */
    double *po, *pd, *osi, *dsi; /* [units]: orientation_tuning's measures */
    double *resp;                /* [units][n_samples]: responses to a stimulus set */
    char *features_from, *rf_from, *tuning_from, *responses_from;
} tw_embeddings;

typedef struct tw_emb_sources {
    const char *run;               /* the output of `twinbrain run` */
    const char *network, *tensor;  /* NET.h5 and its readout feature tensor */
    const char *rf, *tuning;       /* experiment names; NULL: the only one of its kind */
    const char *responses;         /* dataset; NULL: see docs/twin.md */
    long burn_in;
    bool want_responses;
} tw_emb_sources;

tb_status tw_embeddings_load(const tw_emb_sources *s, tw_embeddings *e, tb_error *err);
void tw_embeddings_free(tw_embeddings *e);
/* The table as aligned datasets of group /twin/embeddings of f. */
bool tw_embeddings_write_h5(hid_t f, const tw_embeddings *e);
void tw_embeddings_write_csv(FILE *out, const tw_embeddings *e);

/* Pearson's correlation of two series of n; NaN when either is constant. */
double tw_signal_correlation(const double *a, const double *b, size_t n);
/* a.b / (|a| |b|); NaN when either is zero. */
double tw_cosine_similarity(const double *a, const double *b, size_t n);
/* Bhattacharyya coefficient of two axis-aligned 2-D Gaussians (centres
 * c, standard deviations s, as densities): 1 for the same, 0 far apart. */
double tw_rf_overlap(const double *ca, const double *sa, const double *cb, const double *sb);
/* |a - b| for orientations in degrees, folded into [0, 90]. */
double tw_orientation_difference(double a, double b);

/* The measures for P pairs (a[k], b[k]); NULL arrays out where e lacks
 * the property. */
typedef struct tw_pair_measures {
    double *signal, *feature, *overlap, *distance, *orientation;
} tw_pair_measures;
bool tw_similarity_pairs(const tw_embeddings *e, const size_t *a, const size_t *b, size_t P, tw_pair_measures *m);
void tw_pair_measures_free(tw_pair_measures *m);

int tw_cli_embeddings(int argc, char **argv);
int tw_cli_similarity(int argc, char **argv);

#endif
