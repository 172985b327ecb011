/* [assimilation], the kit-free part: the section's common keys and the
 * stochastic ensemble Kalman filter over one parameter per member and
 * region (assimilation.c; docs/brain.md). A kit decides what a member and
 * a region are (the mass kit: instances of the run; the spiking kit:
 * copies of the brain in one network), feeds the filter each BOLD sample
 * of every member and writes the parameters it returns to the device. */
#ifndef TWINBRAIN_ASSIMILATION_H
#define TWINBRAIN_ASSIMILATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "twinbrain/output.h"

/* The checked section. */
typedef struct tb_assimilation {
    char *data_file;     /* resolved */
    char *dataset;       /* [regions, samples] */
    char *parameter;     /* the parameter estimated per region */
    size_t param_index;  /* the kit's: where it is in the model */
    char *monitor;       /* a bold monitor's name (NULL: the kit's first) */
    size_t monitor_index; /* the kit's */
    size_t members;
    double low, high;    /* prior: uniform per member and region; updates are kept within */
    double obs_std;      /* observation error (0: 10% of the data's standard deviation) */
    double inflation;    /* multiplicative, of the analysis spread around its mean */
    double start;        /* ms: samples at or before are simulated but not assimilated */
    tb_toml_pos pos;
} tb_assimilation;

#define TB_ASSIMILATION_KEY "assimilation"
extern const char *const tb_assimilation_doc;

/* Check the common keys of [assimilation] (and a kit's `extra` ones), the
 * data file's existence and the prior's range; NULL when wrong (reported).
 * a->monitor is the key's value or NULL. */
tb_assimilation *tb_assimilation_read(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t,
                                      const tb_key_spec *extra, size_t n_extra);
void tb_assimilation_free(tb_assimilation *a);
/* The common keys (a kit lists its extra ones itself). */
void tb_assimilation_list_keys(tb_buf *b);

/* ------------------------------------------------------------ the filter */

typedef struct tb_enkf tb_enkf;

/* The data (N regions, at least `samples` samples of `period_ms`) read
 * and the prior drawn from `seed` for B members: tb_enkf_theta(). */
tb_status tb_enkf_new(const tb_assimilation *a, uint64_t seed, size_t B, size_t N, uint64_t samples,
                      double period_ms, tb_enkf **out, tb_error *err);
/* [B][N]: member b's value at region n. */
const double *tb_enkf_theta(const tb_enkf *f);
/* /assimilation's datasets and attributes. */
tb_status tb_enkf_declare(tb_enkf *f, tb_output *out, tb_error *err);
/* Sample `sample` (0-based, at time_ms) of every member's BOLD, y[B][N]:
 * assimilated when after `start` and within the data, then written.
 * *changed says whether theta changed (the kit then writes it out). */
tb_status tb_enkf_sample(tb_enkf *f, uint64_t sample, double time_ms, const double *y, bool *changed,
                         tb_error *err);
/* The correlations of forecast and data, at the run's end. */
tb_status tb_enkf_finish(tb_enkf *f, tb_error *err);
void tb_enkf_free(tb_enkf *f);

#endif
