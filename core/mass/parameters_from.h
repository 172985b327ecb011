/* model.parameters_from: run a scenario on the parameters an
 * [assimilation] fitted (parameters_from.c; docs/brain.md). */
#ifndef TWINBRAIN_MASS_PARAMETERS_FROM_H
#define TWINBRAIN_MASS_PARAMETERS_FROM_H

#include "schema.h"

/* When [model] has parameters_from, put the fitted parameter into `params`
 * (model.parameters) as its per-region array and take [assimilation] out
 * of the document: the run is free. Problems are reported on c. */
void tb_parameters_from_apply(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *model, tb_toml_value *params);

#endif
