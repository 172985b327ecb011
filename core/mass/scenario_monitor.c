/* [[monitor]] tables of neural-mass scenarios: what is recorded and how.
 * Kinds: raw, subsample, temporal_average, bold, eeg, fc. */
#include "config.h"

#include "mass_scenario.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_monitor.h"
#include "twinbrain/mass.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const monitor_kinds[] = {"raw", "subsample", "temporal_average", "bold", "eeg", "fc", NULL};

const tb_key_spec tb_monitor_keys[] = {
    {"name", KT_STRING, true, .doc = "dataset name under /monitors/"},
    {"kind", KT_STRING, false, .def_s = "temporal_average", .has_def = true, .choices = monitor_kinds,
     .doc = "raw, subsample, temporal_average, bold, eeg or fc"},
    {"period", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "sampling period in ms, a multiple of dt; default dt for raw, 2000 for bold, else 1.0"},
    {"variables", KT_STRINGS, .doc = "state variables recorded; default all (bold, eeg: the first coupled one)"},
    {"parameters", KT_TABLE, .doc = "bold: Balloon-Windkessel constants (kappa, gamma, tau, alpha, E0, V0, k1, "
                                    "k2, k3, scale)"},
    {"gain", KT_STRING, .doc = "eeg: HDF5 file with the gain matrix [sensors, regions]"},
    {"dataset", KT_STRING, .doc = "eeg: the gain dataset in that file (default /gain); fc: the empirical FC "
                                  "dataset (default /fc)"},
    {"source", KT_STRING, .doc = "fc: name of the monitor whose samples are correlated"},
    {"variable", KT_STRING, .doc = "fc: which variable of the source (default its first)"},
    {"start", KT_FLOAT, false, 0.0, .has_def = false, .min = 0, .max = INFINITY,
     .doc = "fc: start of the window in ms (default 0: the whole run)"},
    {"end", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "fc: end of the window in ms (default: the end of the run)"},
    {"empirical", KT_STRING, .doc = "fc: HDF5 file with an empirical FC [regions, regions] to score against"},
};
const size_t tb_n_monitor_keys = N_(tb_monitor_keys);


static tb_monitor_kind kind_of(const char *k)
{
    static const tb_monitor_kind kinds[] = {TB_MONITOR_RAW, TB_MONITOR_SUBSAMPLE, TB_MONITOR_TEMPORAL_AVERAGE,
                                            TB_MONITOR_BOLD, TB_MONITOR_EEG, TB_MONITOR_FC};
    for (size_t i = 0; k && i < N_(kinds); ++i)
        if (strcmp(monitor_kinds[i], k) == 0)
            return kinds[i];
    return TB_MONITOR_TEMPORAL_AVERAGE;
}

const char *tb_monitor_kind_name(tb_monitor_kind k)
{
    return (size_t)k < N_(monitor_kinds) - 1 ? monitor_kinds[k] : "?";
}

/* Keys that only some kinds read: a key given to another kind is a mistake
 * worth saying (a typo'd kind would otherwise silently ignore it). */
static void check_kind_keys(tb_schema_checker *c, const tb_toml_value *t, const char *prefix, tb_monitor_kind k)
{
    static const struct {
        const char *key;
        unsigned kinds;
    } only[] = {
        {"parameters", 1u << TB_MONITOR_BOLD}, {"gain", 1u << TB_MONITOR_EEG},
        {"dataset", 1u << TB_MONITOR_EEG | 1u << TB_MONITOR_FC}, {"source", 1u << TB_MONITOR_FC},
        {"variable", 1u << TB_MONITOR_FC}, {"start", 1u << TB_MONITOR_FC}, {"end", 1u << TB_MONITOR_FC},
        {"empirical", 1u << TB_MONITOR_FC},
    };
    for (size_t i = 0; i < N_(only); ++i) {
        const tb_toml_kv *kv = tb_toml_get_kv(t, only[i].key);
        if (kv && !(only[i].kinds & (1u << k)))
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "%s.%s does not apply to a %s monitor", prefix,
                             only[i].key, tb_monitor_kind_name(k));
    }
}

static double default_period(const tb_scenario *sc, tb_monitor_kind k)
{
    return k == TB_MONITOR_RAW ? sc->dt : k == TB_MONITOR_BOLD ? 2000.0 : 1.0;
}

static void check_period(tb_schema_checker *c, const tb_scenario *sc, tb_toml_value *t, const char *prefix,
                         tb_scenario_monitor *out)
{
    const tb_toml_value *pv = tb_toml_get(t, "period");
    if (out->kind == TB_MONITOR_FC) {
        if (pv)
            tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                             "%s.period does not apply to fc (it samples its source; one matrix per window)", prefix);
        return;
    }
    if (!pv) {
        tb_toml_kv *kv = tb_toml_table_set(t, "period", tb_toml_new_float(default_period(sc, out->kind)));
        pv = kv ? kv->value : NULL;
    }
    out->period = tb_schema_num(c, t, "period", NAN);
    uint64_t steps;
    if (!(out->period > 0) || !(sc->dt > 0)) /* reported: the period, or dt */
        return;
    if (!tb_schema_steps(out->period, sc->dt, &steps))
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                         "%s.period (%g ms) is %g steps of %g ms; a period has at most 2^53 = %.0f steps", prefix,
                         out->period, out->period / sc->dt, sc->dt, TB_MAX_STEPS);
    else if (out->kind == TB_MONITOR_RAW && fabs(out->period - sc->dt) > 1e-12 * sc->dt)
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                         "%s.period of a raw monitor must equal simulation.dt (%g), got %g", prefix, sc->dt,
                         out->period);
    else if (!tb_schema_multiple_of_dt(out->period, sc->dt))
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                         "%s.period (%g ms) must be a whole multiple of simulation.dt (%g ms)", prefix, out->period,
                         sc->dt);
}

static size_t var_index(const tb_mass_model *m, const char *s)
{
    size_t v = 0;
    while (v < m->n_vars && strcmp(m->vars[v].name, s) != 0)
        ++v;
    return v;
}

static void check_variables(tb_schema_checker *c, const tb_scenario *sc, tb_toml_value *t, const char *prefix,
                            tb_scenario_monitor *out)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    const tb_mass_model *m = ms->mass;
    const tb_toml_value *vars = tb_toml_get(t, "variables");
    if (!vars) {
        /* bold and eeg follow the first coupled variable: the one that
         * stands for activity when a model exposes it to the network */
        tb_toml_value *arr = tb_toml_new_array();
        bool one = out->kind == TB_MONITOR_BOLD || out->kind == TB_MONITOR_EEG;
        for (size_t v = 0; v < m->n_vars; ++v)
            if (!one || var_index(m, m->coupled[0]) == v)
                tb_toml_array_push(arr, tb_toml_new_string(m->vars[v].name));
        vars = tb_toml_table_set(t, "variables", arr)->value;
    }
    if (vars->type != TB_TOML_ARRAY)
        return;
    out->variables = calloc(vars->u.arr.n + 1, sizeof *out->variables);
    const char **names = calloc(m->n_vars + 1, sizeof *names);
    for (size_t v = 0; v < m->n_vars; ++v)
        names[v] = m->vars[v].name;
    if (vars->u.arr.n == 0)
        tb_schema_report(c, TB_ERR_SCENARIO, vars->pos, "%s.variables is empty", prefix);
    if (out->kind == TB_MONITOR_EEG && vars->u.arr.n > 1)
        tb_schema_report(c, TB_ERR_SCENARIO, vars->pos, "%s.variables: an eeg monitor projects one variable", prefix);
    for (size_t i = 0; i < vars->u.arr.n; ++i) {
        const char *s = tb_toml_as_string(vars->u.arr.items[i]);
        if (!s)
            continue;
        size_t v = var_index(m, s);
        if (v == m->n_vars) {
            const char *sug = tb_schema_closest(s, names, m->n_vars);
            tb_schema_report(c, TB_ERR_SCENARIO, vars->u.arr.items[i]->pos,
                             "%s.variables: '%s' is not a state variable of %s%s%s%s", prefix, s, ms->model->name,
                             sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
            continue;
        }
        out->variables[out->n_variables++] = v;
    }
    free(names);
}

static void check_bold(tb_schema_checker *c, tb_toml_value *t, const char *prefix, tb_scenario_monitor *out)
{
    tb_bold_check(c, t, prefix, 1.0, &out->bold);
}

static char *resolve_file(tb_schema_checker *c, tb_scenario *sc, const tb_toml_value *t, const char *key,
                          const char *prefix)
{
    const tb_toml_value *fv = tb_toml_get(t, key);
    const char *f = tb_toml_as_string(fv);
    if (!f)
        return NULL;
    char *full = tb_asprintf("%s.%s", prefix, key);
    char *path = tb_scenario_input_path(sc, full, f);
    free(full);
    if (!tb_file_exists(path))
        tb_schema_report(c, TB_ERR_INPUT, fv->pos, "%s.%s: no such file '%s' (looked for %s)", prefix, key, f, path);
    return path;
}

static void check_monitor(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t, size_t idx,
                          tb_scenario_monitor *out)
{
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    char *prefix = tb_asprintf("monitor[%zu]", idx);
    tb_schema_table(c, t, tb_monitor_keys, tb_n_monitor_keys, prefix);
    out->pos = t->pos;
    out->name = tb_schema_get_s(t, "name");
    out->kind = kind_of(tb_toml_as_string(tb_toml_get(t, "kind")));
    if (out->name && !tb_is_identifier(out->name))
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "name")->pos,
                         "%s.name '%s' must be a plain name (letters, digits, '_')", prefix, out->name);
    if (tb_schema_refused(c, tb_toml_get(t, "kind"))) {
        /* what applies to which kind cannot be told */
        free(prefix);
        return;
    }
    check_kind_keys(c, t, prefix, out->kind);
    check_period(c, sc, t, prefix, out);
    if (out->kind == TB_MONITOR_EEG) {
        out->gain_file = resolve_file(c, sc, t, "gain", prefix);
        if (!tb_toml_get(t, "gain"))
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: an eeg monitor needs gain = \"FILE.h5\"", prefix);
        out->gain_dataset = tb_strdup(tb_toml_as_string(tb_toml_get(t, "dataset")) ? tb_toml_as_string(tb_toml_get(t, "dataset")) : "/gain");
    }
    if (out->kind == TB_MONITOR_FC) {
        out->empirical_file = resolve_file(c, sc, t, "empirical", prefix);
        const char *ds = tb_toml_as_string(tb_toml_get(t, "dataset"));
        out->empirical_dataset = tb_strdup(ds ? ds : "/fc");
        out->start = tb_schema_num(c, t, "start", 0.0);
        out->end = tb_schema_num(c, t, "end", sc->duration);
        /* NaN: reported already (the key, or simulation.duration) */
        if (!isnan(out->start) && !isnan(out->end) && !(out->end > out->start))
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: the window must have end > start (%g, %g)", prefix,
                             out->start, out->end);
        if (!tb_toml_get(t, "source"))
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos,
                             "%s: an fc monitor needs source = \"NAME\" (the monitor whose samples it correlates)",
                             prefix);
    }
    if (ms->model && out->kind != TB_MONITOR_FC)
        check_variables(c, sc, t, prefix, out);
    if (out->kind == TB_MONITOR_BOLD)
        check_bold(c, t, prefix, out);
    free(prefix);
}

/* fc refers to another monitor by name, in any order. */
static void resolve_sources(tb_schema_checker *c, tb_scenario *sc, const tb_toml_value *arr)
{
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    for (size_t i = 0; i < ms->n_monitors; ++i) {
        tb_scenario_monitor *m = &ms->monitors[i];
        const tb_toml_value *t = arr->u.arr.items[i];
        const tb_toml_value *sv = tb_toml_get(t, "source");
        const char *src = tb_toml_as_string(sv);
        if (m->kind != TB_MONITOR_FC || !src)
            continue;
        size_t j = 0;
        while (j < ms->n_monitors && !(ms->monitors[j].name && strcmp(ms->monitors[j].name, src) == 0))
            ++j;
        if (j == ms->n_monitors || j == i) {
            tb_schema_report(c, TB_ERR_SCENARIO, sv->pos, "monitor[%zu].source: no other monitor named '%s'", i, src);
            continue;
        }
        const tb_scenario_monitor *s = &ms->monitors[j];
        if (s->kind == TB_MONITOR_FC || s->kind == TB_MONITOR_EEG) {
            tb_schema_report(c, TB_ERR_SCENARIO, sv->pos,
                             "monitor[%zu].source: '%s' is an %s monitor; fc correlates regions (raw, subsample, "
                             "temporal_average or bold)",
                             i, src, tb_monitor_kind_name(s->kind));
            continue;
        }
        m->source = j;
        m->period = s->period;
        const tb_toml_value *vv = tb_toml_get(t, "variable");
        const char *var = tb_toml_as_string(vv);
        m->source_variable = 0;
        if (var) {
            size_t k = 0;
            while (k < s->n_variables && strcmp(ms->mass->vars[s->variables[k]].name, var) != 0)
                ++k;
            if (k == s->n_variables)
                tb_schema_report(c, TB_ERR_SCENARIO, vv->pos, "monitor[%zu].variable: '%s' is not recorded by '%s'",
                                 i, var, src);
            m->source_variable = k < s->n_variables ? k : 0;
        }
        if (m->end > sc->duration)
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "end")->pos,
                             "monitor[%zu].end (%g ms) lies after the end of the run (%g ms)", i, m->end,
                             sc->duration);
    }
}

void tb_scenario_check_monitors(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *root)
{
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
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
    ms->monitors = calloc(arr->u.arr.n + 1, sizeof *ms->monitors);
    for (size_t i = 0; i < arr->u.arr.n; ++i) {
        if (arr->u.arr.items[i]->type != TB_TOML_TABLE)
            return;
        tb_scenario_monitor *m = &ms->monitors[ms->n_monitors++];
        check_monitor(c, sc, arr->u.arr.items[i], i, m);
        for (size_t j = 0; m->name && j + 1 < ms->n_monitors; ++j)
            if (ms->monitors[j].name && strcmp(ms->monitors[j].name, m->name) == 0)
                tb_schema_report(c, TB_ERR_SCENARIO, m->pos, "monitor[%zu].name '%s' is already used by monitor[%zu]",
                                 i, m->name, j);
    }
    if (ms->model)
        resolve_sources(c, sc, arr);
}

void tb_scenario_free_monitors(tb_mass_scenario *ms)
{
    for (size_t i = 0; i < ms->n_monitors; ++i) {
        tb_scenario_monitor *m = &ms->monitors[i];
        free(m->name);
        free(m->variables);
        free(m->gain_file);
        free(m->gain_dataset);
        free(m->empirical_file);
        free(m->empirical_dataset);
    }
    free(ms->monitors);
}
