/* A twin experiment on a fitted spiking brain: brain.parameters_from names
 * the output of a run with [assimilation] over this brain. The parameter
 * it estimated takes the fit's final estimate (core/fitted.c: the ensemble
 * mean after the last sample, per region) in the templates it was fitted
 * in (/assimilation's attribute `populations`), as the per-region array
 * `parameters.<name> = [...]` of those [[brain.population]] tables: every
 * neuron of region r's population gets value r, as the filter wrote it.
 * The scenario's [assimilation], if any, is not run (one brain, no
 * members), so perturbations apply on top of the fitted map. The array
 * enters the document, so the resolved scenario shows the values used. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "brain_parameters_from.h"
#include "fitted.h"
#include "util.h"

#define KEY "brain.parameters_from"

bool tb_spk_brain_is_fitted(const tb_toml_value *brain)
{
    return brain && tb_toml_as_string(tb_toml_get(brain, "parameters_from"));
}

/* 1: template t's model has the parameter, 0: it lacks it, -1: the model
 * is unknown (the template's check reports it). */
static int model_has(const tb_spiking_scenario *s, const tb_plugin_registry *reg, const tb_toml_value *tt,
                     const char *param)
{
    const char *name = tb_toml_as_string(tb_toml_get(tt, "model"));
    const tb_param_info *ps = NULL;
    size_t n = 0;
    bool found = false;
    for (size_t i = 0; name && i < s->n_models && !found; ++i)
        if ((found = strcmp(s->models[i].name, name) == 0))
            ps = s->models[i].params, n = s->models[i].n_params;
    const tb_plugin *p = name && !found ? tb_plugin_find(reg, TB_SPIKING_KIND, name) : NULL;
    if (p)
        ps = p->params, n = p->n_params, found = true;
    for (size_t i = 0; found && i < n; ++i)
        if (strcmp(ps[i].name, param) == 0)
            return 1;
    return found ? 0 : -1;
}

static bool same_regions(tb_schema_checker *c, const tb_spk_brain *b, const tb_fitted *f, const char *rel,
                         tb_toml_pos pos)
{
    if (f->n != b->R1) {
        tb_schema_report(c, TB_ERR_INPUT, pos,
                         KEY ": %s fitted %zu regions, but brain.connectome (%s) has %zu (a fit of another brain)",
                         rel, f->n, b->file, b->R1);
        return false;
    }
    size_t i = tb_fitted_other_region(f->labels, b->labels, f->n);
    if (i == f->n)
        return true;
    tb_schema_report(c, TB_ERR_INPUT, pos,
                     KEY ": %s's region %zu is '%s', brain.connectome's is '%s' (a fit of another connectome)", rel,
                     i, f->labels[i], b->labels[i]);
    return false;
}

/* The array into template `name`'s parameters. */
static void set_template(tb_schema_checker *c, const tb_spiking_scenario *s, const tb_plugin_registry *reg,
                         const tb_fitted *f, const char *name, const tb_toml_value *pv, bool fitting)
{
    const tb_spk_brain *b = s->brain;
    const char *rel = tb_toml_as_string(pv);
    size_t t = 0;
    while (t < b->T && strcmp(b->templates[t], name) != 0)
        ++t;
    if (t == b->T) {
        tb_buf known = {0};
        for (size_t u = 0; u < b->T; ++u)
            tb_buf_printf(&known, "%s%s", u ? ", " : "", b->templates[u]);
        char *list = tb_buf_take(&known);
        tb_schema_report(c, TB_ERR_INPUT, pv->pos,
                         KEY ": %s fitted '%s' of template '%s', which [brain] has not (its templates: %s)", rel,
                         f->parameter, name, list ? list : "?");
        free(list);
        return;
    }
    tb_toml_value *tt = b->pop_tables->u.arr.items[t];
    if (model_has(s, reg, tt, f->parameter) == 0) {
        tb_schema_report(c, TB_ERR_INPUT, pv->pos, KEY ": %s fitted '%s', which the model '%s' of template '%s' "
                         "has not", rel, f->parameter, tb_toml_as_string(tb_toml_get(tt, "model")), name);
        return;
    }
    tb_toml_value *params = tb_schema_ensure_table(tt, "parameters");
    if (!params)
        return;
    const tb_toml_value *given = tb_toml_get(params, f->parameter);
    tb_toml_value *arr = NULL;
    if (given && !fitting && !tb_fitted_same(f, given))
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(params, f->parameter)->pos,
                         "brain.population[%zu].parameters.%s is also set by " KEY " (%s fitted it); give one of "
                         "them", t, f->parameter, rel);
    else if ((arr = tb_fitted_array(f, pv->pos)))
        tb_toml_table_set(params, f->parameter, arr)->pos = pv->pos;
}

void tb_spk_brain_parameters_from(tb_schema_checker *c, tb_scenario *sc, const tb_spiking_scenario *s,
                                  const tb_toml_value *brain, const tb_plugin_registry *reg, bool fitting)
{
    const tb_toml_value *pv = tb_toml_get(brain, "parameters_from");
    const char *rel = tb_toml_as_string(pv);
    if (!rel || !s->brain)
        return;
    char *path = tb_scenario_input_path(sc, KEY, rel);
    tb_error err = {0};
    tb_fitted f;
    if (tb_fitted_read(path, &f, &err) != TB_OK) {
        tb_schema_report(c, err.status, pv->pos, KEY ": %s", tb_error_message(&err));
        tb_error_clear(&err);
        free(path);
        return;
    }
    if (!f.populations)
        tb_schema_report(c, TB_ERR_INPUT, pv->pos,
                         KEY ": %s is not the fit of a spiking brain (/assimilation has no attribute 'populations'; "
                         "a mass model's fit is model.parameters_from's)", path);
    else if (same_regions(c, s->brain, &f, rel, pv->pos)) {
        /* the templates, separated by ", " (names are plain: no commas) */
        char *list = tb_strdup(f.populations), *save = NULL;
        for (char *n = list ? strtok_r(list, ", ", &save) : NULL; n; n = strtok_r(NULL, ", ", &save))
            set_template(c, s, reg, &f, n, pv, fitting);
        free(list);
    }
    tb_fitted_free(&f);
    free(path);
}
