/* brain.parameters_from: a spiking brain run free on the parameter map an
 * [assimilation] fitted (brain_parameters_from.c; docs/brain.md). */
#ifndef TWINBRAIN_SPIKING_BRAIN_PARAMETERS_FROM_H
#define TWINBRAIN_SPIKING_BRAIN_PARAMETERS_FROM_H

#include <stdbool.h>

#include "brain.h"

/* Whether [brain] names a fit (its [assimilation], if any, is then not run). */
bool tb_spk_brain_is_fitted(const tb_toml_value *brain);
/* After tb_spk_brain_open, before the templates are expanded: the fitted
 * per-region array into the fitted templates' parameters; `fitting`: the
 * scenario had [assimilation] (its values of the parameter are replaced,
 * not a conflict). Problems are reported on c. */
void tb_spk_brain_parameters_from(tb_schema_checker *c, tb_scenario *sc, const tb_spiking_scenario *s,
                                  const tb_toml_value *brain, const tb_plugin_registry *reg, bool fitting);

#endif
