/* [[monitor]] checking (internal; see scenario_monitor.c). */
#ifndef TWINBRAIN_SCENARIO_MONITOR_H
#define TWINBRAIN_SCENARIO_MONITOR_H

#include "schema.h"

extern const tb_key_spec tb_monitor_keys[];
extern const size_t tb_n_monitor_keys;

void tb_scenario_check_monitors(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *root);
struct tb_mass_scenario;
void tb_scenario_free_monitors(struct tb_mass_scenario *ms);

#endif
