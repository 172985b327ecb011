/* A twin experiment on a fitted brain: model.parameters_from names the
 * output of a run with [assimilation]. The parameter it estimated
 * (/assimilation's attribute `parameter`) takes the ensemble mean after
 * the last sample (/assimilation/mean's last row), one value per region,
 * as if written in model.parameters; the scenario's [assimilation], if
 * any, is dropped (and with it any value model.parameters gave the
 * parameter, which the filter never used; without one, such a value is
 * an error, one of the two would be silently ignored, unless it is
 * exactly the fitted map: the resolved scenario read back), so the same scenario runs free (one instance) and its
 * perturbations, sweeps and monitors apply on top of the fitted map. The
 * array enters the document itself, so the resolved scenario (`check
 * --print`, the output's `scenario` attribute) shows the values used. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "h5read.h"
#include "parameters_from.h"
#include "util.h"

static void report(tb_schema_checker *c, const tb_toml_value *pv, tb_error *err)
{
    tb_schema_report(c, err->status, pv->pos, "model.parameters_from: %s", tb_error_message(err));
    tb_error_clear(err);
}

/* The last row of /assimilation/mean as a TOML array placed at pos. */
static tb_toml_value *final_mean(const char *path, tb_toml_pos pos, tb_error *err)
{
    double *mean = NULL;
    size_t dims[2];
    int rank;
    if (tb_h5_read_doubles(path, "/assimilation/mean", &mean, dims, &rank, err) != TB_OK)
        return NULL;
    if (rank != 2 || dims[0] == 0 || dims[1] == 0) {
        free(mean);
        tb_error_set(err, TB_ERR_INPUT, "%s: /assimilation/mean is not [samples, regions] with a sample", path);
        return NULL;
    }
    tb_toml_value *arr = tb_toml_new_array();
    for (size_t n = 0; arr && n < dims[1]; ++n) {
        tb_toml_value *x = tb_toml_new_float(mean[(dims[0] - 1) * dims[1] + n]);
        if (!x)
            break;
        x->pos = pos;
        tb_toml_array_push(arr, x);
    }
    if (arr)
        arr->pos = pos;
    free(mean);
    return arr;
}

/* Whether v is exactly the array arr (a resolved scenario written back:
 * `check --print`, the scenario a resumed run reads from its output). */
static bool same_values(const tb_toml_value *v, const tb_toml_value *arr)
{
    if (!v || v->type != TB_TOML_ARRAY || v->u.arr.n != arr->u.arr.n)
        return false;
    for (size_t i = 0; i < arr->u.arr.n; ++i) {
        double a, b;
        if (!tb_toml_as_double(v->u.arr.items[i], &a) || !tb_toml_as_double(arr->u.arr.items[i], &b) || a != b)
            return false;
    }
    return true;
}

void tb_parameters_from_apply(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *model, tb_toml_value *params)
{
    const tb_toml_value *pv = tb_toml_get(model, "parameters_from");
    const char *rel = tb_toml_as_string(pv);
    if (!rel || !params)
        return;
    char *path = tb_scenario_input_path(sc, "model.parameters_from", rel);
    tb_error err = {0};
    char *name = NULL;
    tb_toml_value *arr = NULL;
    if (tb_h5_read_attr_string(path, "/assimilation", "parameter", &name, &err) != TB_OK)
        report(c, pv, &err);
    else if (!name)
        tb_schema_report(c, TB_ERR_INPUT, pv->pos,
                         "model.parameters_from: %s has no /assimilation with a 'parameter' attribute (it is not the "
                         "output of a run with [assimilation])", path);
    else if (!(arr = final_mean(path, pv->pos, &err)))
        report(c, pv, &err);
    const tb_toml_value *given = name ? tb_toml_get(params, name) : NULL;
    if (arr && given && !tb_toml_get(sc->doc, "assimilation") && !same_values(given, arr)) {
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(params, name)->pos,
                         "model.parameters.%s is also set by model.parameters_from (%s fitted it); give one of them",
                         name, rel);
        tb_toml_free(arr);
    } else if (arr) {
        tb_toml_table_set(params, name, arr)->pos = pv->pos;
        tb_toml_table_remove(sc->doc, "assimilation");
    }
    free(name);
    free(path);
}
