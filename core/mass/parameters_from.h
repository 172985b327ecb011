/* model.parameters_from: run a scenario on the parameters an
 * [assimilation] fitted (parameters_from.c; docs/brain.md). */
#ifndef TWINBRAIN_MASS_PARAMETERS_FROM_H
#define TWINBRAIN_MASS_PARAMETERS_FROM_H

#include "schema.h"

struct tb_mass_scenario;

/* When [model] has parameters_from, put the fitted parameter into `params`
 * (model.parameters) as its per-region array and take [assimilation] out
 * of the document: the run is free. The fit's region labels go to ms, to
 * be checked against the connectome once it is read
 * (tb_parameters_from_check_labels). Problems are reported on c. */
void tb_parameters_from_apply(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *model, tb_toml_value *params,
                              struct tb_mass_scenario *ms);
/* The fit's labels against the connectome's, region by region:
 * TB_ERR_INPUT at the first that differs (a fit of another connectome,
 * or of the same regions in another order). */
tb_status tb_parameters_from_check_labels(const struct tb_mass_scenario *ms, const tb_scenario *sc,
                                          char *const *labels, size_t n, tb_error *err);

#endif
