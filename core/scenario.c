/* Scenario loading: TOML -> overrides -> schema check -> defaults -> struct.
 *
 * The schema is data (key_spec tables), so that the check, the defaults,
 * the documentation list (tb_scenario_keys) and the "did you mean"
 * suggestions all come from one place. Errors are collected rather than
 * stopping at the first, so a user fixes a scenario in one pass. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coupling.h"
#include "twinbrain/mass.h"
#include "twinbrain/scenario.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REPORTED 25

typedef enum key_type {
    KT_FLOAT,   /* a number (integers accepted) */
    KT_INT,
    KT_STRING,
    KT_TABLE,
    KT_TABLES,  /* an array of tables: [[name]] */
    KT_STRINGS, /* an array of strings */
    KT_NUMBERS  /* a number, or an array of numbers (one per region) */
} key_type;

typedef struct key_spec {
    const char *name;
    key_type type;
    bool required;
    double def;        /* numeric default (when has_def) */
    const char *def_s; /* string default */
    bool has_def;
    double min, max;
    bool min_excl; /* min is exclusive: value must be > min */
    const char *const *choices;
    const char *doc;
} key_spec;

static const char *const precisions[] = {"single", "double", NULL};
static const char *const methods[] = {"euler", "heun", "rk4", NULL};
static const char *const monitor_kinds[] = {"raw", "subsample", "temporal_average", NULL};

static const key_spec top_keys[] = {
    {"simulation", KT_TABLE, true, .doc = "time, step, seed, precision and device"},
    {"connectome", KT_TABLE, true, .doc = "the structural connectome (neural-mass scenarios)"},
    {"model", KT_TABLE, true, .doc = "the model plugin and its parameters"},
    {"coupling", KT_TABLE, .doc = "the long-range coupling function"},
    {"integrator", KT_TABLE, .doc = "the integration method"},
    {"initial", KT_TABLE, .doc = "initial values of the state variables"},
    {"monitor", KT_TABLES, .doc = "what is recorded, as [[monitor]] tables"},
    {"output", KT_TABLE, .doc = "where results go"},
};

static const key_spec simulation_keys[] = {
    {"duration", KT_FLOAT, true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "simulated time in ms; a multiple of dt"},
    {"dt", KT_FLOAT, false, 0.1, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "integration step in ms"},
    {"seed", KT_INT, false, 42, .has_def = true, .min = 0, .max = 9.2e18,
     .doc = "seed of every random draw (initial values, noise)"},
    {"precision", KT_STRING, false, .def_s = "double", .has_def = true, .choices = precisions,
     .doc = "floating-point precision on the device: single or double"},
    {"device", KT_STRING, .doc = "device selector (auto, cpu, gpu, accelerator, INDEX, P:D, name~TEXT); "
                                 "default $TWINBRAIN_DEVICE, else auto"},
};

static const key_spec connectome_keys[] = {
    {"file", KT_STRING, true, .doc = "HDF5 connectome (docs/formats.md), relative to the scenario's folder"},
    {"speed", KT_FLOAT, false, 3.0, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "conduction speed in mm/ms; delay = tract length / speed, rounded to steps"},
};

static const key_spec model_keys[] = {
    {"plugin", KT_STRING, true, .doc = "name of a mass-model plugin (twinbrain plugins)"},
    {"parameters", KT_TABLE, .doc = "the plugin's parameters: a number, or an array of one per region"},
};

static const key_spec coupling_keys[] = {
    {"function", KT_STRING, .doc = "linear, scaling, sigmoidal, sigmoidal_jansen_rit, difference, kuramoto; "
                                   "default: the model's own choice"},
    {"parameters", KT_TABLE, .doc = "the coupling function's parameters"},
};

static const key_spec integrator_keys[] = {
    {"method", KT_STRING, false, .def_s = "heun", .has_def = true, .choices = methods,
     .doc = "euler, heun or rk4 (the coupling is evaluated once per step, as in TVB)"},
};

static const key_spec monitor_keys[] = {
    {"name", KT_STRING, true, .doc = "dataset name under /monitors/"},
    {"kind", KT_STRING, false, .def_s = "temporal_average", .has_def = true, .choices = monitor_kinds,
     .doc = "raw (every step), subsample (every period) or temporal_average (mean over each period)"},
    {"period", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "sampling period in ms, a multiple of dt; default dt for raw, 1.0 otherwise"},
    {"variables", KT_STRINGS, .doc = "state variables recorded; default all"},
};

static const key_spec output_keys[] = {
    {"file", KT_STRING, .doc = "output HDF5 file, relative to the scenario's folder; default "
                               "NAME.h5 in the current folder; -o overrides"},
};

/* ------------------------------------------------------------ reporting */

typedef struct checker {
    const char *file;
    tb_buf msgs;
    int n;
    tb_status status;
} checker;

static char *where(const char *file, tb_toml_pos pos)
{
    if (pos.line <= 0)
        return tb_asprintf("%s: --set: ", file);
    return tb_asprintf("%s:%d:%d: ", file, pos.line, pos.col);
}

static void report(checker *c, tb_status st, tb_toml_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(checker *c, tb_status st, tb_toml_pos pos, const char *fmt, ...)
{
    if (c->n == 0 || c->status == TB_ERR_SCENARIO)
        c->status = st; /* a missing file outranks a typo in the exit status */
    if (c->n++ >= MAX_REPORTED)
        return;
    char *w = where(c->file, pos);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tb_buf_printf(&c->msgs, "%s%s\n", w, line);
    free(w);
}

/* The closest candidate, or NULL when nothing is close enough to suggest. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; ++i) {
        if (!cands[i])
            continue;
        size_t d = tb_levenshtein(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    size_t limit = 1 + strlen(word) / 3;
    return best && best_d <= limit ? best : NULL;
}

static void report_unknown(checker *c, tb_toml_pos pos, const char *key, const char *where_,
                           const char *const *cands, size_t n)
{
    const char *s = closest(key, cands, n);
    tb_buf list = {0};
    for (size_t i = 0; i < n && i < 40; ++i)
        tb_buf_printf(&list, "%s%s", i ? ", " : "", cands[i]);
    char *l = tb_buf_take(&list);
    if (s)
        report(c, TB_ERR_SCENARIO, pos, "unknown key '%s' in %s; did you mean '%s'?", key, where_, s);
    else
        report(c, TB_ERR_SCENARIO, pos, "unknown key '%s' in %s (known: %s)", key, where_, l ? l : "");
    free(l);
}

/* ------------------------------------------------------------ schema check */

static const char *type_word(key_type t)
{
    switch (t) {
    case KT_FLOAT: return "a number";
    case KT_INT: return "an integer";
    case KT_STRING: return "a string";
    case KT_TABLE: return "a table";
    case KT_TABLES: return "an array of tables ([[...]])";
    case KT_STRINGS: return "an array of strings";
    case KT_NUMBERS: return "a number or an array of numbers";
    }
    return "?";
}

static void check_range(checker *c, const tb_toml_value *v, const char *full, double x, double min, double max,
                        bool min_excl)
{
    if (isnan(x))
        report(c, TB_ERR_SCENARIO, v->pos, "%s must be a number, not nan", full);
    else if (min == TB_POSITIVE && !(x > 0.0)) /* the plugin API's spelling of "> 0" */
        report(c, TB_ERR_SCENARIO, v->pos, "%s must be > 0 (got %g)", full, x);
    else if (min_excl ? !(x > min) : !(x >= min))
        report(c, TB_ERR_SCENARIO, v->pos, "%s must be %s %g (got %g)", full, min_excl ? ">" : ">=", min, x);
    else if (!(x <= max))
        report(c, TB_ERR_SCENARIO, v->pos, "%s must be <= %g (got %g)", full, max, x);
}

static bool check_numbers(checker *c, const tb_toml_value *v, const char *full, double min, double max,
                          bool min_excl)
{
    double x;
    if (tb_toml_as_double(v, &x)) {
        check_range(c, v, full, x, min, max, min_excl);
        return true;
    }
    if (v->type != TB_TOML_ARRAY)
        return false;
    if (v->u.arr.n == 0) {
        report(c, TB_ERR_SCENARIO, v->pos, "%s is an empty array", full);
        return true;
    }
    for (size_t i = 0; i < v->u.arr.n; ++i) {
        const tb_toml_value *e = v->u.arr.items[i];
        if (!tb_toml_as_double(e, &x)) {
            report(c, TB_ERR_SCENARIO, e->pos, "%s[%zu] must be a number, not %s", full, i,
                   tb_toml_type_name(e->type));
            return true;
        }
        char *name = tb_asprintf("%s[%zu]", full, i);
        check_range(c, e, name, x, min, max, min_excl);
        free(name);
    }
    return true;
}

static void check_value(checker *c, const key_spec *s, const tb_toml_value *v, const char *full)
{
    double x;
    bool ok = true;
    switch (s->type) {
    case KT_FLOAT:
        ok = tb_toml_as_double(v, &x);
        if (ok)
            check_range(c, v, full, x, s->min, s->max, s->min_excl);
        break;
    case KT_INT:
        ok = v->type == TB_TOML_INTEGER;
        if (ok)
            check_range(c, v, full, (double)v->u.i, s->min, s->max, s->min_excl);
        break;
    case KT_STRING:
        ok = v->type == TB_TOML_STRING;
        if (ok && s->choices) {
            size_t n = 0;
            bool found = false;
            while (s->choices[n])
                found |= strcmp(s->choices[n++], v->u.s.ptr) == 0;
            if (!found) {
                tb_buf list = {0};
                for (size_t i = 0; i < n; ++i)
                    tb_buf_printf(&list, "%s%s", i ? ", " : "", s->choices[i]);
                char *l = tb_buf_take(&list);
                const char *sug = closest(v->u.s.ptr, s->choices, n);
                report(c, TB_ERR_SCENARIO, v->pos, "%s must be one of %s (got \"%s\")%s%s%s", full, l,
                       v->u.s.ptr, sug ? "; did you mean \"" : "", sug ? sug : "", sug ? "\"?" : "");
                free(l);
            }
        }
        break;
    case KT_TABLE:
        ok = v->type == TB_TOML_TABLE;
        break;
    case KT_TABLES:
        ok = v->type == TB_TOML_ARRAY;
        for (size_t i = 0; ok && i < v->u.arr.n; ++i)
            ok = v->u.arr.items[i]->type == TB_TOML_TABLE;
        break;
    case KT_STRINGS:
        ok = v->type == TB_TOML_ARRAY;
        for (size_t i = 0; ok && i < v->u.arr.n; ++i)
            ok = v->u.arr.items[i]->type == TB_TOML_STRING;
        break;
    case KT_NUMBERS:
        ok = check_numbers(c, v, full, s->min, s->max, s->min_excl);
        break;
    }
    if (!ok) {
        const char *hint = s->type == KT_TABLES && v->type == TB_TOML_TABLE ? " (write [[" : "";
        report(c, TB_ERR_SCENARIO, v->pos, "%s must be %s, not %s%s%s%s", full, type_word(s->type),
               tb_toml_type_name(v->type), hint, *hint ? s->name : "", *hint ? "]] for each entry)" : "");
    }
}

static char *join_key(const char *prefix, const char *key)
{
    return prefix && *prefix ? tb_asprintf("%s.%s", prefix, key) : tb_strdup(key);
}

/* Check the keys of `table` against `specs` and fill in defaults. */
static void check_table(checker *c, tb_toml_value *table, const key_spec *specs, size_t n, const char *prefix)
{
    const char *names[64];
    for (size_t i = 0; i < n && i < N_(names); ++i)
        names[i] = specs[i].name;
    char *where_ = prefix && *prefix ? tb_asprintf("[%s]", prefix) : tb_strdup("the top level");
    for (size_t i = 0; i < table->u.tab.n; ++i) {
        const tb_toml_kv *kv = &table->u.tab.items[i];
        size_t k = 0;
        while (k < n && strcmp(specs[k].name, kv->key) != 0)
            ++k;
        if (k == n) {
            report_unknown(c, kv->pos, kv->key, where_, names, n);
            continue;
        }
        char *full = join_key(prefix, kv->key);
        check_value(c, &specs[k], kv->value, full);
        free(full);
    }
    for (size_t k = 0; k < n; ++k) {
        const key_spec *s = &specs[k];
        if (tb_toml_get(table, s->name))
            continue;
        if (s->required) {
            report(c, TB_ERR_SCENARIO, table->pos, "%s needs '%s' (%s)", where_, s->name, s->doc);
        } else if (s->has_def) {
            tb_toml_value *v = s->type == KT_STRING ? tb_toml_new_string(s->def_s)
                               : s->type == KT_INT  ? tb_toml_new_int((int64_t)s->def)
                                                    : tb_toml_new_float(s->def);
            tb_toml_table_set(table, s->name, v);
        }
    }
    free(where_);
}

/* Make sure an optional sub-table exists so its defaults can be filled. */
static tb_toml_value *ensure_table(tb_toml_value *parent, const char *key)
{
    tb_toml_value *t = (tb_toml_value *)tb_toml_get(parent, key);
    if (t)
        return t->type == TB_TOML_TABLE ? t : NULL;
    return tb_toml_table_set(parent, key, tb_toml_new_table())->value;
}

/* ------------------------------------------------------------ extraction */

static double get_f(const tb_toml_value *t, const char *key)
{
    double x = NAN;
    tb_toml_as_double(tb_toml_get(t, key), &x);
    return x;
}

static char *get_s(const tb_toml_value *t, const char *key)
{
    const char *s = tb_toml_as_string(tb_toml_get(t, key));
    return s ? tb_strdup(s) : NULL;
}

static void value_from(tb_scenario_value *out, const char *name, const tb_toml_value *v)
{
    out->name = tb_strdup(name);
    out->pos = v->pos;
    if (tb_toml_as_double(v, &out->scalar))
        return;
    out->is_array = true;
    out->n = v->u.arr.n;
    out->values = malloc(out->n * sizeof *out->values);
    for (size_t i = 0; out->values && i < out->n; ++i)
        tb_toml_as_double(v->u.arr.items[i], &out->values[i]);
}

/* Parameters of a plugin or coupling function: known names only, numbers or
 * per-region arrays within the documented range; every default written
 * into the document so the resolved scenario is complete. */
static tb_scenario_value *check_params(checker *c, tb_toml_value *table, const tb_param_info *params, size_t n,
                                       const char *prefix)
{
    const char **names = calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; ++i)
        names[i] = params[i].name;
    char *where_ = tb_asprintf("[%s]", prefix);
    for (size_t i = 0; i < table->u.tab.n; ++i) {
        const tb_toml_kv *kv = &table->u.tab.items[i];
        size_t k = 0;
        while (k < n && strcmp(params[k].name, kv->key) != 0)
            ++k;
        if (k == n) {
            report_unknown(c, kv->pos, kv->key, where_, names, n);
            continue;
        }
        char *full = join_key(prefix, kv->key);
        if (!check_numbers(c, kv->value, full, params[k].min, params[k].max, false))
            report(c, TB_ERR_SCENARIO, kv->value->pos, "%s must be a number or an array of numbers, not %s",
                   full, tb_toml_type_name(kv->value->type));
        free(full);
    }
    tb_scenario_value *vals = calloc(n ? n : 1, sizeof *vals);
    for (size_t k = 0; k < n; ++k) {
        const tb_toml_value *v = tb_toml_get(table, params[k].name);
        if (!v)
            v = tb_toml_table_set(table, params[k].name, tb_toml_new_float(params[k].value))->value;
        value_from(&vals[k], params[k].name, v);
    }
    free(where_);
    free(names);
    return vals;
}

static const char *plugin_failure_for(const tb_plugin_registry *reg, const char *name)
{
    for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i)
        if (strcmp(tb_plugin_failure_stem(reg, i), name) == 0)
            return tb_plugin_failure_at(reg, i);
    return NULL;
}

static void check_model(checker *c, tb_scenario *sc, tb_toml_value *model, const tb_plugin_registry *reg)
{
    check_table(c, model, model_keys, N_(model_keys), "model");
    const tb_toml_value *pv = tb_toml_get(model, "plugin");
    const char *name = tb_toml_as_string(pv);
    if (!name)
        return;
    sc->model = tb_plugin_find(reg, TB_PLUGIN_MASS, name);
    if (!sc->model) {
        const char *fail = plugin_failure_for(reg, name);
        if (fail) {
            report(c, TB_ERR_INPUT, pv->pos, "model.plugin: plugin '%s' could not be loaded: %s", name, fail);
            return;
        }
        const tb_plugin *other = tb_plugin_find(reg, 0, name);
        size_t n = tb_plugin_count(reg);
        const char **names = calloc(n + 1, sizeof *names);
        size_t m = 0;
        for (size_t i = 0; i < n; ++i)
            if (tb_plugin_at(reg, i)->kind == TB_PLUGIN_MASS)
                names[m++] = tb_plugin_at(reg, i)->name;
        const char *sug = closest(name, names, m);
        if (other)
            report(c, TB_ERR_SCENARIO, pv->pos, "model.plugin: '%s' is a %s plugin, not a mass model", name,
                   tb_plugin_kind_name(other->kind));
        else if (sug)
            report(c, TB_ERR_SCENARIO, pv->pos, "model.plugin: no mass-model plugin named '%s'; did you mean '%s'?",
                   name, sug);
        else
            report(c, TB_ERR_SCENARIO, pv->pos,
                   "model.plugin: no mass-model plugin named '%s' (see `twinbrain plugins`; "
                   "TWINBRAIN_PLUGIN_PATH adds folders)",
                   name);
        free(names);
        return;
    }
    tb_toml_value *params = ensure_table(model, "parameters");
    if (params)
        sc->model_params = check_params(c, params, sc->model->params, sc->model->n_params, "model.parameters");
}

static void check_coupling(checker *c, tb_scenario *sc, tb_toml_value *cp)
{
    check_table(c, cp, coupling_keys, N_(coupling_keys), "coupling");
    const tb_toml_value *fv = tb_toml_get(cp, "function");
    if (!fv) {
        const char *def = sc->model && sc->model->mass->default_coupling ? sc->model->mass->default_coupling
                                                                         : "linear";
        fv = tb_toml_table_set(cp, "function", tb_toml_new_string(def))->value;
    }
    const char *name = tb_toml_as_string(fv);
    if (!name)
        return;
    const tb_coupling_def *def = tb_coupling_find(name);
    if (!def) {
        const char *names[16] = {0};
        size_t n = tb_coupling_count();
        for (size_t i = 0; i < n && i < N_(names); ++i)
            names[i] = tb_coupling_at(i)->name;
        const char *sug = closest(name, names, n);
        tb_buf list = {0};
        for (size_t i = 0; i < n; ++i)
            tb_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
        char *l = tb_buf_take(&list);
        report(c, TB_ERR_SCENARIO, fv->pos, "coupling.function must be one of %s (got \"%s\")%s%s%s", l, name,
               sug ? "; did you mean \"" : "", sug ? sug : "", sug ? "\"?" : "");
        free(l);
        return;
    }
    if (sc->model && def->hist && strstr(def->hist, "cv[1]") && sc->model->mass->n_coupled < 2)
        report(c, TB_ERR_SCENARIO, fv->pos, "coupling.function '%s' needs two coupled variables; model '%s' has %zu",
               name, sc->model->name, sc->model->mass->n_coupled);
    sc->coupling = tb_strdup(name);
    tb_toml_value *params = ensure_table(cp, "parameters");
    if (params) {
        sc->coupling_params = check_params(c, params, def->params, def->n_params, "coupling.parameters");
        sc->n_coupling_params = def->n_params;
    }
}

static void check_initial(checker *c, tb_scenario *sc, tb_toml_value *init)
{
    const tb_mass_model *m = sc->model->mass;
    const char **names = calloc(m->n_vars + 1, sizeof *names);
    for (size_t i = 0; i < m->n_vars; ++i)
        names[i] = m->vars[i].name;
    for (size_t i = 0; i < init->u.tab.n; ++i) {
        const tb_toml_kv *kv = &init->u.tab.items[i];
        size_t k = 0;
        while (k < m->n_vars && strcmp(names[k], kv->key) != 0)
            ++k;
        if (k == m->n_vars) {
            report_unknown(c, kv->pos, kv->key, "[initial] (state variables of the model)", names, m->n_vars);
            continue;
        }
        char *full = join_key("initial", kv->key);
        if (!check_numbers(c, kv->value, full, m->vars[k].bound_lo, m->vars[k].bound_hi, false))
            report(c, TB_ERR_SCENARIO, kv->value->pos, "%s must be a number or an array of numbers, not %s", full,
                   tb_toml_type_name(kv->value->type));
        free(full);
    }
    sc->initial = calloc(m->n_vars, sizeof *sc->initial);
    for (size_t k = 0; k < m->n_vars; ++k) {
        const tb_toml_value *v = tb_toml_get(init, names[k]);
        if (!v)
            v = tb_toml_table_set(init, names[k], tb_toml_new_float(m->vars[k].initial))->value;
        value_from(&sc->initial[k], names[k], v);
    }
    free(names);
}

/* A period must land on whole steps: the monitor counts steps, not time. */
static bool multiple_of_dt(double x, double dt)
{
    double q = x / dt;
    return q >= 1.0 - 1e-9 && fabs(q - round(q)) <= 1e-9 * q;
}

static void check_monitor(checker *c, tb_scenario *sc, tb_toml_value *t, size_t idx, tb_scenario_monitor *out)
{
    char *prefix = tb_asprintf("monitor[%zu]", idx);
    check_table(c, t, monitor_keys, N_(monitor_keys), prefix);
    out->pos = t->pos;
    out->name = get_s(t, "name");
    const char *kind = tb_toml_as_string(tb_toml_get(t, "kind"));
    out->kind = kind && strcmp(kind, "raw") == 0         ? TB_MONITOR_RAW
                : kind && strcmp(kind, "subsample") == 0 ? TB_MONITOR_SUBSAMPLE
                                                         : TB_MONITOR_TEMPORAL_AVERAGE;
    if (out->name && !tb_is_identifier(out->name))
        report(c, TB_ERR_SCENARIO, tb_toml_get(t, "name")->pos,
               "%s.name '%s' must be a plain name (letters, digits, '_')", prefix, out->name);
    const tb_toml_value *pv = tb_toml_get(t, "period");
    if (!pv)
        pv = tb_toml_table_set(t, "period", tb_toml_new_float(out->kind == TB_MONITOR_RAW ? sc->dt : 1.0))->value;
    tb_toml_as_double(pv, &out->period);
    if (out->kind == TB_MONITOR_RAW && fabs(out->period - sc->dt) > 1e-12 * sc->dt)
        report(c, TB_ERR_SCENARIO, pv->pos, "%s.period of a raw monitor must equal simulation.dt (%g), got %g",
               prefix, sc->dt, out->period);
    else if (out->period > 0 && sc->dt > 0 && !multiple_of_dt(out->period, sc->dt))
        report(c, TB_ERR_SCENARIO, pv->pos, "%s.period (%g ms) must be a whole multiple of simulation.dt (%g ms)",
               prefix, out->period, sc->dt);
    if (!sc->model) {
        free(prefix);
        return;
    }
    const tb_mass_model *m = sc->model->mass;
    const tb_toml_value *vars = tb_toml_get(t, "variables");
    if (!vars) {
        tb_toml_value *arr = tb_toml_new_array();
        for (size_t v = 0; v < m->n_vars; ++v)
            tb_toml_array_push(arr, tb_toml_new_string(m->vars[v].name));
        vars = tb_toml_table_set(t, "variables", arr)->value;
    }
    if (vars->type != TB_TOML_ARRAY) {
        free(prefix);
        return;
    }
    out->variables = calloc(vars->u.arr.n + 1, sizeof *out->variables);
    const char **names = calloc(m->n_vars + 1, sizeof *names);
    for (size_t v = 0; v < m->n_vars; ++v)
        names[v] = m->vars[v].name;
    if (vars->u.arr.n == 0)
        report(c, TB_ERR_SCENARIO, vars->pos, "%s.variables is empty", prefix);
    for (size_t i = 0; i < vars->u.arr.n; ++i) {
        const char *s = tb_toml_as_string(vars->u.arr.items[i]);
        size_t v = 0;
        while (s && v < m->n_vars && strcmp(names[v], s) != 0)
            ++v;
        if (!s)
            continue;
        if (v == m->n_vars) {
            const char *sug = closest(s, names, m->n_vars);
            report(c, TB_ERR_SCENARIO, vars->u.arr.items[i]->pos,
                   "%s.variables: '%s' is not a state variable of %s%s%s%s", prefix, s, sc->model->name,
                   sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
            continue;
        }
        out->variables[out->n_variables++] = v;
    }
    free(names);
    free(prefix);
}

static void check_monitors(checker *c, tb_scenario *sc, tb_toml_value *root)
{
    tb_toml_value *arr = (tb_toml_value *)tb_toml_get(root, "monitor");
    if (!arr) {
        /* No monitor asked: record the temporal average of every variable at
         * 1 ms, so a run always leaves something to look at. */
        tb_toml_value *t = tb_toml_new_table();
        tb_toml_table_set(t, "name", tb_toml_new_string("tavg"));
        arr = tb_toml_table_set(root, "monitor", tb_toml_new_array())->value;
        tb_toml_array_push(arr, t);
    }
    if (arr->type != TB_TOML_ARRAY)
        return;
    sc->monitors = calloc(arr->u.arr.n + 1, sizeof *sc->monitors);
    for (size_t i = 0; i < arr->u.arr.n; ++i) {
        if (arr->u.arr.items[i]->type != TB_TOML_TABLE)
            continue;
        tb_scenario_monitor *m = &sc->monitors[sc->n_monitors++];
        check_monitor(c, sc, arr->u.arr.items[i], i, m);
        for (size_t j = 0; m->name && j + 1 < sc->n_monitors; ++j)
            if (sc->monitors[j].name && strcmp(sc->monitors[j].name, m->name) == 0)
                report(c, TB_ERR_SCENARIO, m->pos, "monitor[%zu].name '%s' is already used by monitor[%zu]", i,
                       m->name, j);
    }
}

static void check_simulation(checker *c, tb_scenario *sc, tb_toml_value *sim)
{
    check_table(c, sim, simulation_keys, N_(simulation_keys), "simulation");
    sc->duration = get_f(sim, "duration");
    sc->dt = get_f(sim, "dt");
    int64_t seed = 0;
    tb_toml_as_int(tb_toml_get(sim, "seed"), &seed);
    sc->seed = (uint64_t)(seed < 0 ? 0 : seed);
    const char *p = tb_toml_as_string(tb_toml_get(sim, "precision"));
    sc->precision = p && strcmp(p, "single") == 0 ? TB_SINGLE : TB_DOUBLE;
    sc->device = get_s(sim, "device");
    if (sc->duration > 0 && sc->dt > 0) {
        if (!multiple_of_dt(sc->duration, sc->dt))
            report(c, TB_ERR_SCENARIO, tb_toml_get(sim, "duration")->pos,
                   "simulation.duration (%g ms) must be a whole multiple of simulation.dt (%g ms)", sc->duration,
                   sc->dt);
        else
            sc->steps = (uint64_t)llround(sc->duration / sc->dt);
    }
}

static void check_connectome(checker *c, tb_scenario *sc, tb_toml_value *t)
{
    check_table(c, t, connectome_keys, N_(connectome_keys), "connectome");
    sc->speed = get_f(t, "speed");
    const tb_toml_value *fv = tb_toml_get(t, "file");
    const char *file = tb_toml_as_string(fv);
    if (!file)
        return;
    sc->connectome_file = tb_path_join(sc->dir, file);
    sc->connectome_pos = fv->pos;
    if (!tb_file_exists(sc->connectome_file))
        report(c, TB_ERR_INPUT, fv->pos, "connectome.file: no such file '%s' (looked for %s)", file,
               sc->connectome_file);
}

/* ------------------------------------------------------------ overrides */

static void zero_positions(tb_toml_value *v)
{
    v->pos.line = v->pos.col = 0;
    if (v->type == TB_TOML_ARRAY)
        for (size_t i = 0; i < v->u.arr.n; ++i)
            zero_positions(v->u.arr.items[i]);
    if (v->type == TB_TOML_TABLE)
        for (size_t i = 0; i < v->u.tab.n; ++i) {
            v->u.tab.items[i].pos.line = v->u.tab.items[i].pos.col = 0;
            zero_positions(v->u.tab.items[i].value);
        }
}

/* --set KEY=VALUE: VALUE is TOML ("0.5", "[1, 2]", "'x'"); a bare word that
 * is not valid TOML is taken as a string, so --set model.plugin=jansen_rit
 * works without shell-quoted quotes. */
static tb_status apply_override(tb_toml_value *doc, const char *file, const char *ov, tb_error *err)
{
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov)
        return tb_error_set(err, TB_ERR_SCENARIO, "%s: --set '%s': expected KEY=VALUE (e.g. simulation.dt=0.05)",
                            file, ov);
    char *key = tb_strndup(ov, (size_t)(eq - ov));
    tb_error perr = {0};
    tb_toml_value *v = tb_toml_parse_value(eq + 1, "--set", &perr);
    if (!v && eq[1] && !strpbrk(eq + 1, "\"'[]{}=\n"))
        v = tb_toml_new_string(eq + 1);
    if (!v) {
        tb_status st = tb_error_set(err, TB_ERR_SCENARIO, "%s: --set %s: the value is not valid TOML: %s", file,
                                    key, tb_error_message(&perr));
        tb_error_clear(&perr);
        free(key);
        return st;
    }
    tb_error_clear(&perr);
    zero_positions(v);
    tb_error serr = {0};
    tb_status st = TB_OK;
    if (!tb_toml_set_path(doc, key, v, &serr)) {
        st = tb_error_set(err, TB_ERR_SCENARIO, "%s: --set %s: %s", file, key, tb_error_message(&serr));
        tb_toml_free(v);
    }
    tb_error_clear(&serr);
    free(key);
    return st;
}

/* ------------------------------------------------------------ entry */

static void check_document(checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    tb_toml_value *root = sc->doc;
    check_table(c, root, top_keys, N_(top_keys), "");
    tb_toml_value *t;
    if ((t = (tb_toml_value *)tb_toml_get(root, "simulation")) && t->type == TB_TOML_TABLE)
        check_simulation(c, sc, t);
    if ((t = (tb_toml_value *)tb_toml_get(root, "connectome")) && t->type == TB_TOML_TABLE)
        check_connectome(c, sc, t);
    if ((t = (tb_toml_value *)tb_toml_get(root, "model")) && t->type == TB_TOML_TABLE)
        check_model(c, sc, t, reg);
    if ((t = ensure_table(root, "coupling")))
        check_coupling(c, sc, t);
    if ((t = ensure_table(root, "integrator")))
        check_table(c, t, integrator_keys, N_(integrator_keys), "integrator");
    sc->method = get_s(tb_toml_get(root, "integrator"), "method");
    if (sc->model && (t = ensure_table(root, "initial")))
        check_initial(c, sc, t);
    check_monitors(c, sc, root);
    if ((t = ensure_table(root, "output"))) {
        check_table(c, t, output_keys, N_(output_keys), "output");
        const char *f = tb_toml_as_string(tb_toml_get(t, "file"));
        if (f)
            sc->output_file = tb_path_join(sc->dir, f);
    }
}

tb_status tb_scenario_load(const char *path, const char *const *overrides, size_t n_overrides,
                           const tb_plugin_registry *reg, tb_scenario **out, tb_error *err)
{
    *out = NULL;
    tb_toml_value *doc = tb_toml_parse_file(path, err);
    if (!doc)
        return err ? err->status : TB_ERR_SCENARIO;
    for (size_t i = 0; i < n_overrides; ++i) {
        tb_status st = apply_override(doc, path, overrides[i], err);
        if (st != TB_OK) {
            tb_toml_free(doc);
            return st;
        }
    }
    tb_scenario *sc = calloc(1, sizeof *sc);
    sc->path = tb_strdup(path);
    sc->dir = tb_path_dirname(path);
    sc->doc = doc;
    sc->kind = TB_SCENARIO_MASS;
    checker c = {.file = path};
    check_document(&c, sc, reg);
    if (c.n == 0) {
        *out = sc;
        return TB_OK;
    }
    if (c.n > MAX_REPORTED)
        tb_buf_printf(&c.msgs, "%s: ... and %d more errors\n", path, c.n - MAX_REPORTED);
    char *text = tb_buf_take(&c.msgs);
    size_t len = text ? strlen(text) : 0;
    if (len && text[len - 1] == '\n')
        text[len - 1] = '\0';
    tb_error_set(err, c.status, "%s", text ? text : "scenario error");
    free(text);
    tb_scenario_free(sc);
    return c.status;
}

static void free_values(tb_scenario_value *v, size_t n)
{
    for (size_t i = 0; v && i < n; ++i) {
        free(v[i].name);
        free(v[i].values);
    }
    free(v);
}

void tb_scenario_free(tb_scenario *sc)
{
    if (!sc)
        return;
    free_values(sc->model_params, sc->model ? sc->model->n_params : 0);
    free_values(sc->coupling_params, sc->n_coupling_params);
    free_values(sc->initial, sc->model && sc->initial ? sc->model->mass->n_vars : 0);
    for (size_t i = 0; i < sc->n_monitors; ++i) {
        free(sc->monitors[i].name);
        free(sc->monitors[i].variables);
    }
    free(sc->monitors);
    tb_toml_free(sc->doc);
    free(sc->path);
    free(sc->dir);
    free(sc->device);
    free(sc->connectome_file);
    free(sc->coupling);
    free(sc->method);
    free(sc->output_file);
    free(sc);
}

char *tb_scenario_format(const tb_scenario *sc)
{
    return tb_toml_format(sc->doc);
}

char *tb_scenario_where(const tb_scenario *sc, tb_toml_pos pos)
{
    return where(sc->path, pos);
}

const char *tb_monitor_kind_name(tb_monitor_kind k)
{
    switch (k) {
    case TB_MONITOR_RAW: return "raw";
    case TB_MONITOR_SUBSAMPLE: return "subsample";
    case TB_MONITOR_TEMPORAL_AVERAGE: return "temporal_average";
    }
    return "?";
}

static void list_keys(tb_buf *b, const char *section, const key_spec *s, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        tb_buf_printf(b, "%s%s%s\t%s\t%s\n", section, *section ? "." : "", s[i].name, type_word(s[i].type),
                      s[i].doc);
}

char *tb_scenario_keys(void)
{
    tb_buf b = {0};
    list_keys(&b, "", top_keys, N_(top_keys));
    list_keys(&b, "simulation", simulation_keys, N_(simulation_keys));
    list_keys(&b, "connectome", connectome_keys, N_(connectome_keys));
    list_keys(&b, "model", model_keys, N_(model_keys));
    list_keys(&b, "coupling", coupling_keys, N_(coupling_keys));
    list_keys(&b, "integrator", integrator_keys, N_(integrator_keys));
    list_keys(&b, "monitor", monitor_keys, N_(monitor_keys));
    list_keys(&b, "output", output_keys, N_(output_keys));
    return tb_buf_take(&b);
}
