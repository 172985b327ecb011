/* [assimilation] in a mass scenario: the ensemble Kalman filter
 * (core/assimilation.c) over a per-region model parameter, its ensemble
 * run as the instances of one device run (assimilate.c; docs/brain.md). */
#ifndef TWINBRAIN_MASS_ASSIMILATE_H
#define TWINBRAIN_MASS_ASSIMILATE_H

#include "assimilation.h"

struct mass;
struct tb_chunk;
struct tb_output;

/* Check [assimilation] against the model and monitors (sc->kit_data's);
 * NULL when absent or wrong (reported). */
tb_assimilation *tb_assimilation_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t);

/* The run's side (the mass kit calls these when its scenario has one). */
tb_status tb_mass_assim_bind(struct mass *m, tb_error *err);      /* prior ensemble, data */
tb_status tb_mass_assim_declare(struct mass *m, struct tb_output *out, tb_error *err);
tb_status tb_mass_assim_collect(struct mass *m, const struct tb_chunk *c, tb_error *err); /* update */
tb_status tb_mass_assim_finish(struct mass *m, tb_error *err);
/* The bold monitor's period in steps: chunks end at its samples. */
uint64_t tb_mass_assim_period(const struct mass *m);
void tb_mass_assim_free(struct mass *m);

#endif
