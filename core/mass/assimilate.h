/* [assimilation]: an ensemble Kalman filter over a per-region model
 * parameter, its ensemble run as the instances of one device run, updated
 * from an empirical BOLD series at every sample of a bold monitor
 * (assimilate.c; docs/brain.md). */
#ifndef TWINBRAIN_MASS_ASSIMILATE_H
#define TWINBRAIN_MASS_ASSIMILATE_H

#include <stdbool.h>
#include <stddef.h>

#include "schema.h"

struct mass;
struct tb_chunk;
struct tb_output;

/* The checked section. */
typedef struct tb_assimilation {
    char *data_file;     /* resolved */
    char *dataset;       /* [regions, samples] */
    char *parameter;     /* a model parameter */
    size_t param_index;  /* in the model's parameters */
    char *monitor;       /* a bold monitor's name */
    size_t monitor_index;
    size_t members;
    double low, high;    /* prior: uniform per member and region; updates are kept within */
    double obs_std;      /* observation error (0: 10% of the data's standard deviation) */
    double inflation;    /* multiplicative, of the analysis spread around its mean */
    double start;        /* ms: samples at or before are simulated but not assimilated */
    tb_toml_pos pos;
} tb_assimilation;

#define TB_ASSIMILATION_KEY "assimilation"
extern const char *const tb_assimilation_doc;

/* Check [assimilation] against the model and monitors (sc->kit_data's);
 * NULL when absent or wrong (reported). */
tb_assimilation *tb_assimilation_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t);
void tb_assimilation_free(tb_assimilation *a);
void tb_assimilation_list_keys(tb_buf *b);

/* The run's side (the mass kit calls these when its scenario has one). */
tb_status tb_mass_assim_bind(struct mass *m, tb_error *err);      /* prior ensemble, data */
tb_status tb_mass_assim_declare(struct mass *m, struct tb_output *out, tb_error *err);
tb_status tb_mass_assim_collect(struct mass *m, const struct tb_chunk *c, tb_error *err); /* update */
tb_status tb_mass_assim_finish(struct mass *m, tb_error *err);
void tb_mass_assim_free(struct mass *m);

#endif
