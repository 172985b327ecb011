/* [assimilation] in a spiking scenario with [brain] (brain_assimilate.c;
 * docs/brain.md): the ensemble is `members` disjoint copies of the brain
 * in one network, the filter is core/assimilation.c's. */
#ifndef TWINBRAIN_SPIKING_BRAIN_ASSIMILATE_H
#define TWINBRAIN_SPIKING_BRAIN_ASSIMILATE_H

#include "assimilation.h"
#include "spiking_internal.h"

/* The checked section. */
typedef struct tb_spk_assim {
    tb_assimilation *a;
    size_t *templates; /* the template populations whose parameter is estimated */
    size_t *param;     /* per such template: the parameter's index in its model */
    size_t n_templates;
    size_t monitor;    /* the bold monitor in brain->monitors */
} tb_spk_assim;

/* Before [brain] is opened: the common keys and `populations` (its
 * member count replicates the brain); NULL when absent or wrong. */
tb_spk_assim *tb_spk_assim_open(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t);
/* After the populations and monitors: the templates, the parameter in
 * their models, the bold monitor; frees s->assim when wrong. */
void tb_spk_assim_check(tb_schema_checker *c, tb_spiking_scenario *s, const tb_toml_value *t, bool brain);
void tb_spk_assim_free(tb_spk_assim *s);
void tb_spk_assim_list_keys(tb_buf *b);

/* The run's side. */
/* At planning: the estimated parameter stored per neuron. */
void spk_assim_plan(spk *k);
/* Before the program is built: the data and the prior ensemble. */
tb_status spk_assim_bind(spk *k, tb_error *err);
/* After the neurons are drawn: the ensemble's parameters onto the device. */
tb_status spk_assim_upload(spk *k, tb_error *err);
tb_status spk_assim_declare(spk *k, tb_output *out, tb_error *err);
/* BOLD rows [nrow][regions] of `monitor`, the first being sample `first`:
 * assimilated, and the updated parameters written to the device. */
tb_status spk_assim_samples(spk *k, size_t monitor, uint64_t first, const double *rows, uint64_t nrow,
                            tb_error *err);
/* The bold monitor's period in steps: chunks end at its samples. */
uint64_t spk_assim_period(const spk *k);
tb_status spk_assim_finish(spk *k, tb_error *err);
void spk_assim_free(spk *k);

#endif
