/* Comparing two output files of the same scenario (used by
 * `twinbrain compare` and the Python package's compare()). Works on the file layout of docs/formats.md, so it
 * compares the results of every kit:
 *   - every numeric dataset under /monitors/<name>/ (data, score...) and
 *     under /twin/, except the sample times, element by element;
 *   - every population under /spikes/ (SONATA: timestamps in ms, node_ids)
 *     as spike trains. */
#ifndef TWINBRAIN_COMPARE_H
#define TWINBRAIN_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One dataset against the reference. Relative differences divide by the
 * reference's magnitude, floored at 1e-6 of the dataset's largest
 * magnitude so that values crossing zero do not read as large errors. */
typedef struct tb_diff {
    char name[128];   /* "tavg", "fc/score": the path below /monitors or /twin */
    char path[256];   /* "/monitors/tavg/data" */
    uint64_t elements;
    double max_abs, max_rel, rms;
    double peak;      /* max |reference|: max_abs / peak is the normwise relative difference */
    double pearson_r; /* NaN when either side is constant */
    uint64_t nonfinite; /* elements finite on one side only (count as infinite differences) */
    char problem[192]; /* "missing in the other file", "shapes differ: ..."; "" when compared */
} tb_diff;

/* One spiking population against the reference. */
typedef struct tb_spike_diff {
    char population[128];
    uint64_t count_ref, count;
    double rate_ref, rate;       /* spikes per second per neuron */
    double first_divergence_ms;  /* time of the first spike that differs; NaN when the trains are identical */
    uint64_t matching;           /* spikes identical before the first divergence */
    char problem[160];
} tb_spike_diff;

typedef struct tb_compare {
    tb_diff *diffs;
    size_t n_diffs;
    tb_spike_diff *spikes;
    size_t n_spikes;
} tb_compare;

/* Compare `other` with `ref`; the datasets and populations listed are the
 * reference's (one missing from `other` gets a problem text). A file that
 * cannot be read is TB_ERR_INPUT. */
tb_status tb_compare_files(const char *ref, const char *other, tb_compare *out, tb_error *err);
void tb_compare_free(tb_compare *c);

#ifdef __cplusplus
}
#endif
#endif
