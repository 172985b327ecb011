/* Spiking neuron-model tables (internal): the checks the plugin loader and
 * the scenario apply to them, and models declared in the scenario file:
 *
 *   [[neuron_model]]
 *   name = "lif"
 *   state = { V = -65.0 }                     # variables and initial values
 *   parameters = { tau_m = 10.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0 }
 *   ports = ["ex", "in"]                      # default ["ex", "in"]
 *   constants = { decay = "exp(-dt / tau_m)" }  # per neuron, computed once
 *   update = "if (!refractory) V = -65.0 + (V + 65.0) * decay + in_ex + in_in;"
 *   threshold = "V >= V_th"
 *   reset = "V = V_reset;"
 *   refractory = "t_ref"                      # a parameter, in ms
 *
 * A declared model becomes a tb_spiking_model in memory and goes through
 * exactly the code generation of a compiled plugin. */
#ifndef TWINBRAIN_SPIKING_DECLARED_H
#define TWINBRAIN_SPIKING_DECLARED_H

#include "spiking_scenario.h"

typedef struct tb_spk_declared tb_spk_declared;

/* Check one [[neuron_model]] table and append it to s->models. */
void tb_spiking_declared_add(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, size_t idx,
                             const tb_plugin_registry *reg);
void tb_spiking_declared_free(tb_spk_declared *d);
void tb_spiking_declared_list_keys(tb_buf *b);

#endif
