/* [[stimulus]] tables (internal): time-varying inputs into chosen regions
 * and variables. */
#ifndef TWINBRAIN_STIMULUS_H
#define TWINBRAIN_STIMULUS_H

#include "schema.h"

extern const tb_key_spec tb_stimulus_keys[];
extern const size_t tb_n_stimulus_keys;

void tb_stimulus_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *arr);
struct tb_mass_scenario;
void tb_stimulus_free(struct tb_mass_scenario *ms);

#endif
