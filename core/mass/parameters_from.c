/* A twin experiment on a fitted brain: model.parameters_from names the
 * output of a run with [assimilation]. The parameter it estimated takes
 * the fit's final estimate (core/fitted.c: the ensemble mean after the
 * last sample, one value per region), as if written in model.parameters;
 * the scenario's [assimilation], if any, is dropped (and with it any value
 * model.parameters gave the parameter, which the filter never used;
 * without one, such a value is an error, one of the two would be silently
 * ignored, unless it is exactly the fitted map: the resolved scenario read
 * back), so the same scenario runs free (one instance) and its
 * perturbations, sweeps and monitors apply on top of the fitted map. The
 * array enters the document itself, so the resolved scenario (`check
 * --print`, the output's `scenario` attribute) shows the values used. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fitted.h"
#include "mass_scenario.h"
#include "parameters_from.h"
#include "util.h"

void tb_parameters_from_apply(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *model, tb_toml_value *params,
                              tb_mass_scenario *ms)
{
    const tb_toml_value *pv = tb_toml_get(model, "parameters_from");
    const char *rel = tb_toml_as_string(pv);
    if (!rel || !params)
        return;
    char *path = tb_scenario_input_path(sc, "model.parameters_from", rel);
    tb_error err = {0};
    tb_fitted f;
    if (tb_fitted_read(path, &f, &err) != TB_OK) {
        tb_schema_report(c, err.status, pv->pos, "model.parameters_from: %s", tb_error_message(&err));
        tb_error_clear(&err);
        free(path);
        return;
    }
    const tb_toml_value *given = tb_toml_get(params, f.parameter);
    tb_toml_value *arr = NULL;
    if (given && !tb_toml_get(sc->doc, "assimilation") && !tb_fitted_same(&f, given))
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(params, f.parameter)->pos,
                         "model.parameters.%s is also set by model.parameters_from (%s fitted it); give one of them",
                         f.parameter, rel);
    else if ((arr = tb_fitted_array(&f, pv->pos))) {
        tb_toml_table_set(params, f.parameter, arr)->pos = pv->pos;
        tb_toml_table_remove(sc->doc, "assimilation");
        if (ms && f.labels && (ms->fitted_from = tb_strdup(rel))) {
            ms->fitted_labels = f.labels, ms->n_fitted_labels = f.n, ms->fitted_pos = pv->pos;
            f.labels = NULL;
        }
    }
    tb_fitted_free(&f);
    free(path);
}

tb_status tb_parameters_from_check_labels(const tb_mass_scenario *ms, const tb_scenario *sc, char *const *labels,
                                          size_t n, tb_error *err)
{
    if (ms->n_fitted_labels != n) /* a count mismatch: the arrays' check */
        return TB_OK;
    size_t i = tb_fitted_other_region(ms->fitted_labels, labels, n);
    if (i == n)
        return TB_OK;
    char *w = tb_scenario_where(sc, ms->fitted_pos);
    tb_status st = tb_error_set(err, TB_ERR_INPUT,
                                "%smodel.parameters_from: %s's region %zu is '%s', the connectome's is '%s' (a fit of "
                                "another connectome, or of its regions in another order)",
                                w ? w : "", ms->fitted_from, i, ms->fitted_labels[i], labels[i]);
    free(w);
    return st;
}
