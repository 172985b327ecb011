/* [sweep]: axes of values, every combination one instance.
 *
 *   [sweep]
 *   "coupling.parameters.a" = { linspace = [0.0, 2.0, 32] }   # an axis
 *   "model.parameters.mu" = [0.1, 0.22, 0.3]                  # an axis
 *   [sweep.zip]                                               # one axis whose
 *   "model.parameters.A" = [3.0, 3.25]                        # keys vary
 *   "model.parameters.B" = [20.0, 22.0]                       # together
 *
 * Instances are numbered row-major over the axes in the order written (the
 * zip axis last), so instance b of a sweep is the same whatever device or
 * batch runs it. */
#include "config.h"

#include "mass_scenario.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coupling.h"
#include "sweep.h"
#include "twinbrain/mass.h"

#define MAX_INSTANCES 10000000u

typedef struct axis_key {
    const char *path;
    double *v;
    size_t n;
    tb_toml_pos pos;
} axis_key;

/* A value list: [x, y, ...], {linspace = [a, b, n]}, {logspace = [a, b, n]}
 * (10^a .. 10^b, as numpy), {geomspace = [a, b, n]} (a .. b geometric). */
static double *expand(tb_schema_checker *c, const tb_toml_value *v, const char *key, size_t *n)
{
    *n = 0;
    if (v->type == TB_TOML_ARRAY) {
        double *out = malloc((v->u.arr.n ? v->u.arr.n : 1) * sizeof *out);
        for (size_t i = 0; i < v->u.arr.n; ++i)
            if (!tb_toml_as_double(v->u.arr.items[i], &out[i])) {
                tb_schema_report(c, TB_ERR_SCENARIO, v->u.arr.items[i]->pos, "sweep \"%s\"[%zu] must be a number",
                                 key, i);
                free(out);
                return NULL;
            }
        if (v->u.arr.n == 0) { /* an axis without values: no instance to run */
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "sweep \"%s\" has no values", key);
            free(out);
            return NULL;
        }
        *n = v->u.arr.n;
        return out;
    }
    static const char *const forms[] = {"linspace", "logspace", "geomspace"};
    const tb_toml_value *spec = NULL;
    size_t form = 0;
    if (v->type == TB_TOML_TABLE && v->u.tab.n == 1)
        for (; form < 3 && !(spec = tb_toml_get(v, forms[form])); ++form)
            ;
    double a, b;
    int64_t cnt;
    if (!spec || spec->type != TB_TOML_ARRAY || spec->u.arr.n != 3 || !tb_toml_as_double(spec->u.arr.items[0], &a) ||
        !tb_toml_as_double(spec->u.arr.items[1], &b) || !tb_toml_as_int(spec->u.arr.items[2], &cnt)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos,
                         "sweep \"%s\" must be an array of values, or { linspace = [start, stop, count] }, "
                         "{ logspace = [start, stop, count] } or { geomspace = [start, stop, count] }",
                         key);
        return NULL;
    }
    if (cnt < 1 || (uint64_t)cnt > MAX_INSTANCES || !isfinite(a) || !isfinite(b) || (form == 2 && (a <= 0 || b <= 0))) {
        tb_schema_report(c, TB_ERR_SCENARIO, spec->pos, "sweep \"%s\": %s", key,
                         cnt < 1                          ? "the count must be at least 1"
                         : !isfinite(a) || !isfinite(b) ? "start and stop must be finite"
                         : form == 2                      ? "geomspace needs start, stop > 0"
                                                          : "too many values");
        return NULL;
    }
    double *out = malloc((size_t)cnt * sizeof *out);
    for (int64_t i = 0; i < cnt; ++i) {
        double f = cnt == 1 ? 0.0 : (double)i / (double)(cnt - 1);
        /* (b - a) i / (n - 1), in that order: whole numbers stay whole
         * (a seed axis of linspace = [1, 100, 100] is 1, 2, ..., 100) */
        double x = cnt == 1 ? a : a + (b - a) * (double)i / (double)(cnt - 1);
        out[i] = form == 0 ? x : form == 1 ? pow(10.0, x) : a * pow(b / a, f);
    }
    if (cnt > 1) /* the ends exactly as written */
        out[cnt - 1] = form == 0 ? b : form == 1 ? pow(10.0, b) : b;
    *n = (size_t)cnt;
    return out;
}

/* What a key may sweep, and the allowed range of its values. */
static bool sweepable(tb_schema_checker *c, const tb_scenario *sc, const char *path, tb_toml_pos pos, double *min,
                      double *max, bool *integer)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    *integer = false;
    if (strcmp(path, "simulation.seed") == 0) {
        *min = 0;
        *max = 9.2e18;
        *integer = true;
        return true;
    }
    bool sig = strncmp(path, "integrator.noise.sigma.", 23) == 0, nsig = strncmp(path, "integrator.noise.nsig.", 22) == 0;
    if ((sig || nsig) && ms->noise && ms->noise_sigma && ms->noise_nsig == nsig) {
        const char *var = path + (sig ? 23 : 22);
        for (size_t v = 0; v < ms->mass->n_vars; ++v)
            if (ms->noise_sigma[v].name && strcmp(ms->noise_sigma[v].name, var) == 0) {
                *min = 0;
                *max = INFINITY;
                return true;
            }
    }
    const tb_param_info *params = NULL;
    size_t n = 0;
    const char *name = NULL;
    if (strncmp(path, "model.parameters.", 17) == 0 && ms->model && ms->model_params) {
        params = ms->model->params;
        n = ms->model->n_params;
        name = path + 17;
    } else if (strncmp(path, "coupling.parameters.", 20) == 0 && ms->coupling) {
        const tb_coupling_def *d = tb_coupling_find(ms->coupling);
        params = d->params;
        n = d->n_params;
        name = path + 20;
    }
    for (size_t i = 0; name && i < n; ++i)
        if (strcmp(params[i].name, name) == 0) {
            *min = params[i].min;
            *max = params[i].max;
            *integer = params[i].type == TB_PARAM_INT;
            return true;
        }
    tb_schema_report(c, TB_ERR_SCENARIO, pos,
                     "sweep: \"%s\" cannot be swept; sweepable keys are model.parameters.NAME and "
                     "coupling.parameters.NAME (parameters of the chosen model and coupling function), "
                     "integrator.noise.sigma.VARIABLE (or nsig, as the scenario gives it, for a variable "
                     "with noise) and simulation.seed",
                     path);
    return false;
}

static void add_axis_key(tb_schema_checker *c, const tb_scenario *sc, axis_key **keys, size_t *n, const char *path,
                         const tb_toml_value *v)
{
    size_t len;
    double *vals = expand(c, v, path, &len);
    if (!vals)
        return;
    double min, max;
    bool integer;
    if (!sweepable(c, sc, path, v->pos, &min, &max, &integer)) {
        free(vals);
        return;
    }
    for (size_t i = 0; i < len; ++i) {
        const char *why = !isfinite(vals[i])                   ? "must be finite"
                          : !(vals[i] >= min && vals[i] <= max) ? "lies outside the allowed range"
                          : integer && vals[i] != floor(vals[i]) ? "must be a whole number"
                                                                 : NULL;
        if (why) {
            char range[80] = "";
            if (isfinite(vals[i]))
                snprintf(range, sizeof range, " [%g, %g]", min, max);
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "sweep \"%s\": value %g %s%s", path, vals[i], why, range);
            free(vals);
            return;
        }
    }
    *keys = realloc(*keys, (*n + 1) * sizeof **keys);
    (*keys)[(*n)++] = (axis_key){path, vals, len, v->pos};
}

void tb_sweep_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *sweep)
{
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    tb_sweep *s = &ms->sweep;
    s->n_instances = 1;
    if (!sweep)
        return;
    if (sweep->type != TB_TOML_TABLE) {
        tb_schema_report(c, TB_ERR_SCENARIO, sweep->pos, "sweep must be a table of \"key\" = values");
        return;
    }
    int before = c->n;
    axis_key *keys = NULL;
    size_t n = 0;
    size_t *axis_of = NULL;
    size_t n_axes = 0;
    const tb_toml_value *zip = NULL;
    for (size_t i = 0; i < sweep->u.tab.n; ++i) {
        const tb_toml_kv *kv = &sweep->u.tab.items[i];
        if (strcmp(kv->key, "zip") == 0) {
            zip = kv->value;
            continue;
        }
        size_t before = n;
        add_axis_key(c, sc, &keys, &n, kv->key, kv->value);
        if (n > before) {
            axis_of = realloc(axis_of, n * sizeof *axis_of);
            axis_of[n - 1] = n_axes++;
        }
    }
    if (zip && zip->type != TB_TOML_TABLE)
        tb_schema_report(c, TB_ERR_SCENARIO, zip->pos, "sweep.zip must be a table of \"key\" = values");
    if (zip && zip->type == TB_TOML_TABLE && zip->u.tab.n) {
        size_t first = n;
        for (size_t i = 0; i < zip->u.tab.n; ++i)
            add_axis_key(c, sc, &keys, &n, zip->u.tab.items[i].key, zip->u.tab.items[i].value);
        for (size_t k = first; k < n; ++k)
            if (keys[k].n != keys[first].n)
                tb_schema_report(c, TB_ERR_SCENARIO, keys[k].pos,
                                 "sweep.zip: \"%s\" has %zu values but \"%s\" has %zu; zipped keys vary together "
                                 "and need the same number",
                                 keys[k].path, keys[k].n, keys[first].path, keys[first].n);
        axis_of = realloc(axis_of, (n ? n : 1) * sizeof *axis_of);
        for (size_t k = first; k < n; ++k)
            axis_of[k] = n_axes;
        if (n > first)
            ++n_axes;
    }
    for (size_t k = 0; k < n; ++k)
        for (size_t j = 0; j < k; ++j)
            if (strcmp(keys[k].path, keys[j].path) == 0)
                tb_schema_report(c, TB_ERR_SCENARIO, keys[k].pos, "sweep: \"%s\" is swept twice", keys[k].path);
    if (c->n != before) { /* a reported sweep is not expanded: no instance reads it */
        for (size_t k = 0; k < n; ++k)
            free(keys[k].v);
        free(keys);
        free(axis_of);
        return;
    }
    /* axis lengths and the instance count */
    s->n_axes = n_axes;
    s->axis_len = calloc(n_axes ? n_axes : 1, sizeof *s->axis_len);
    for (size_t k = 0; k < n; ++k)
        s->axis_len[axis_of[k]] = keys[k].n;
    double total = 1;
    for (size_t a = 0; a < n_axes; ++a)
        total *= (double)s->axis_len[a];
    if (total > MAX_INSTANCES) {
        tb_schema_report(c, TB_ERR_SCENARIO, sweep->pos, "sweep: %.0f instances is more than the %u allowed", total,
                         MAX_INSTANCES);
        total = 1;
    }
    s->n_instances = (size_t)total;
    /* one value per instance: row-major over the axes */
    s->keys = calloc(n ? n : 1, sizeof *s->keys);
    s->n_keys = n;
    for (size_t k = 0; k < n; ++k) {
        size_t stride = 1;
        for (size_t a = axis_of[k] + 1; a < n_axes; ++a)
            stride *= s->axis_len[a];
        tb_sweep_key *out = &s->keys[k];
        out->path = tb_strdup(keys[k].path);
        out->pos = keys[k].pos;
        out->values = malloc(s->n_instances * sizeof *out->values);
        for (size_t b = 0; b < s->n_instances; ++b)
            out->values[b] = keys[k].v[(b / stride) % keys[k].n];
        free(keys[k].v);
    }
    free(keys);
    free(axis_of);
}

void tb_sweep_free(tb_sweep *s)
{
    for (size_t k = 0; k < s->n_keys; ++k) {
        free(s->keys[k].path);
        free(s->keys[k].values);
    }
    free(s->keys);
    free(s->axis_len);
    memset(s, 0, sizeof *s);
}

const double *tb_sweep_values(const tb_sweep *s, const char *path)
{
    for (size_t k = 0; k < s->n_keys; ++k)
        if (strcmp(s->keys[k].path, path) == 0)
            return s->keys[k].values;
    return NULL;
}
