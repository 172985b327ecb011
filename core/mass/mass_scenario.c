/* The neural-mass kit's scenario sections: their schema as data, and the
 * checks that turn them into a tb_mass_scenario. [[monitor]], [[stimulus]],
 * [sweep] and declared models have files of their own. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coupling.h"
#include "declared_model.h"
#include "mass_scenario.h"
#include "parameters_from.h"
#include "scenario_monitor.h"
#include "stimulus.h"
#include "assimilate.h"
#include "sweep.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const methods[] = {"euler", "heun", "rk4", NULL};

const tb_key_spec tb_mass_sections[TB_MASS_N_SECTIONS] = {
    {"connectome", KT_TABLE, true, .doc = "the structural connectome (neural-mass scenarios)"},
    {"model", KT_TABLE, true, .doc = "the model plugin and its parameters"},
    {"coupling", KT_TABLE, .doc = "the long-range coupling function"},
    {"integrator", KT_TABLE, .doc = "the integration method"},
    {"initial", KT_TABLE, .doc = "initial values of the state variables"},
    {"monitor", KT_TABLES, .doc = "what is recorded, as [[monitor]] tables"},
    {"sweep", KT_TABLE, .doc = "parameter sweep: every combination of the listed values is one instance"},
    {"stimulus", KT_TABLES, .doc = "time-varying inputs into chosen regions and variables, as [[stimulus]] tables"},
    {"assimilation", KT_TABLE, .doc = "ensemble Kalman filter of a per-region parameter against empirical BOLD"},
};

static const char *const storages[] = {"auto", "sparse", "dense", NULL};

static const tb_key_spec connectome_keys[] = {
    {"file", KT_STRING, true, .doc = "HDF5 connectome (docs/formats.md), relative to the scenario's folder"},
    {"speed", KT_FLOAT, false, 3.0, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "conduction speed in mm/ms; delay = tract length / speed, rounded to steps (inf: no delays)",
     .inf_ok = true},
    {"storage", KT_STRING, false, .def_s = "auto", .has_def = true, .choices = storages,
     .doc = "how the device stores the weights: sparse (non-zero edges with their sources), dense (every "
            "pair, no source indices) or auto (dense from a density of 0.5 on)"},
};

static const tb_key_spec model_keys[] = {
    {"plugin", KT_STRING, .doc = "name of a mass-model plugin (twinbrain plugins); or declare the model here "
                                 "with variables and derivatives"},
    {"parameters", KT_TABLE, .doc = "the plugin's parameters: a number, or an array of one per region"},
    {"parameters_from", KT_STRING,
     .doc = "output of a run with [assimilation]: its fitted parameter (the final ensemble mean per region) is "
            "set, and this scenario's [assimilation] is not run (a free run on the fitted brain)"},
    {"name", KT_STRING, .doc = "declared model: its name in messages and the output"},
    {"variables", KT_STRINGS, .doc = "declared model: the state variables, in order"},
    {"derivatives", KT_TABLE, .doc = "declared model: d<variable>/dt of each variable as an OpenCL expression"},
    {"coupled", KT_STRINGS, .doc = "declared model: the coupled variables (default: the first)"},
    {"ranges", KT_TABLE, .doc = "declared model: [low, high] per variable for random initial values"},
    {"bounds", KT_TABLE, .doc = "declared model: [low, high] per variable, applied after every stage"},
    {"helpers", KT_STRING, .doc = "declared model: OpenCL functions the derivatives call"},
};

static const tb_key_spec coupling_keys[] = {
    {"function", KT_STRING, .doc = "linear, scaling, sigmoidal, sigmoidal_jansen_rit, difference, kuramoto; "
                                   "default: the model's own choice"},
    {"parameters", KT_TABLE, .doc = "the coupling function's parameters"},
};

static const tb_key_spec integrator_keys[] = {
    {"method", KT_STRING, false, .def_s = "heun", .has_def = true, .choices = methods,
     .doc = "euler, heun or rk4 (the coupling is evaluated once per step, as in TVB); with noise, euler is "
            "Euler-Maruyama and heun stochastic Heun"},
    {"noise", KT_TABLE, .doc = "noise added to the state variables"},
};

static const char *const noise_kinds[] = {"additive", "multiplicative", "ou", NULL};

static const tb_key_spec noise_keys[] = {
    {"kind", KT_STRING, false, .def_s = "additive", .has_def = true, .choices = noise_kinds,
     .doc = "additive (sigma dW), multiplicative (sigma x dW) or ou (coloured: an Ornstein-Uhlenbeck input)"},
    {"sigma", KT_TABLE, .doc = "per state variable: the noise amplitude g, increments g sqrt(dt) N(0,1); "
                               "a number or one per region"},
    {"nsig", KT_TABLE, .doc = "per state variable: TVB's nsig D instead of sigma (g = sqrt(2 D))"},
    {"tau", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "correlation time of ou noise in ms"},
};


static void check_params(tb_schema_checker *c, tb_scenario *sc, tb_mass_scenario *ms, tb_toml_value *model)
{
    tb_toml_value *params = tb_schema_ensure_table(model, "parameters");
    tb_parameters_from_apply(c, sc, model, params, ms);
    if (ms->model && params)
        ms->model_params = tb_schema_params(c, params, ms->model->params, ms->model->n_params, "model.parameters");
}

static void check_model(tb_schema_checker *c, tb_scenario *sc, tb_mass_scenario *ms, tb_toml_value *model,
                        const tb_plugin_registry *reg)
{
    tb_schema_table(c, model, model_keys, N_(model_keys), "model");
    const tb_toml_value *pv = tb_toml_get(model, "plugin");
    const char *name = tb_toml_as_string(pv);
    bool declared = tb_toml_get(model, "derivatives") || tb_toml_get(model, "variables");
    ms->model_pos = pv ? pv->pos : model->pos;
    if (name && declared) {
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                         "[model] names a plugin and also declares variables or derivatives; choose one");
        return;
    }
    if (declared) {
        ms->model = tb_declared_model_build(c, model, &ms->declared);
        ms->mass = ms->model ? tb_mass_of(ms->model) : NULL;
        check_params(c, sc, ms, model);
        return;
    }
    if (!pv) {
        tb_schema_report(c, TB_ERR_SCENARIO, model->pos,
                         "[model] needs plugin = \"NAME\" (twinbrain plugins lists them), or a declared model "
                         "(variables and derivatives)");
        return;
    }
    if (!name)
        return;
    ms->model = tb_plugin_find(reg, TB_MASS_KIND, name);
    ms->mass = ms->model ? tb_mass_of(ms->model) : NULL;
    if (!ms->model) {
        const char *fail = tb_schema_plugin_failure(reg, name);
        if (fail) {
            tb_schema_report(c, TB_ERR_INPUT, pv->pos, "model.plugin: plugin '%s' could not be loaded: %s", name, fail);
            return;
        }
        const tb_plugin *other = tb_plugin_find(reg, NULL, name);
        size_t n = tb_plugin_count(reg);
        const char **names = calloc(n + 1, sizeof *names);
        size_t m = 0;
        for (size_t i = 0; i < n; ++i)
            if (strcmp(tb_plugin_at(reg, i)->kind, TB_MASS_KIND) == 0)
                names[m++] = tb_plugin_at(reg, i)->name;
        const char *sug = tb_schema_closest(name, names, m);
        if (other)
            tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "model.plugin: '%s' is a %s plugin, not a mass model", name,
                   other->kind);
        else if (sug)
            tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "model.plugin: no mass-model plugin named '%s'; did you mean '%s'?",
                   name, sug);
        else
            tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                   "model.plugin: no mass-model plugin named '%s' (see `twinbrain plugins`; "
                   "TWINBRAIN_PLUGIN_PATH adds folders)",
                   name);
        free(names);
        return;
    }
    check_params(c, sc, ms, model);
}

/* What a coupling problem is about: the scenario's coupling.function, or
 * the model's default when the scenario names none. The default is the
 * plugin's, so its errors point at the model, never at the command line
 * (a value that did not come from the file would read as "--set"). */
typedef struct coupling_origin {
    const char *what; /* "coupling.function 'x'", "model 'm''s default coupling 'x'" */
    tb_toml_pos pos;
    bool from_model;
} coupling_origin;

static void unknown_coupling(tb_schema_checker *c, const tb_mass_scenario *ms, const char *name,
                             const coupling_origin *o)
{
    const char *names[16] = {0};
    size_t n = tb_coupling_count();
    for (size_t i = 0; i < n && i < N_(names); ++i)
        names[i] = tb_coupling_at(i)->name;
    tb_buf list = {0};
    for (size_t i = 0; i < n; ++i)
        tb_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
    char *l = tb_buf_take(&list);
    const char *sug = tb_schema_closest(name, names, n);
    if (o->from_model)
        tb_schema_report(c, TB_ERR_INPUT, o->pos,
                         "model '%s' names \"%s\" as its default coupling, which this twinbrain does not have (it "
                         "has %s); choose one with coupling.function", ms->model->name, name, l);
    else
        tb_schema_report(c, TB_ERR_SCENARIO, o->pos, "coupling.function must be one of %s (got \"%s\")%s%s%s", l,
                         name, sug ? "; did you mean \"" : "", sug ? sug : "", sug ? "\"?" : "");
    free(l);
}

static void check_coupled_count(tb_schema_checker *c, const tb_mass_scenario *ms, const tb_coupling_def *def,
                                const coupling_origin *o)
{
    if (!ms->model)
        return;
    size_t have = ms->mass->n_coupled;
    if (have < def->min_coupled)
        tb_schema_report(c, TB_ERR_SCENARIO, o->pos, "%s needs %zu coupled variables; model '%s' has %zu", o->what,
                         def->min_coupled, ms->model->name, have);
    if (def->coupled && have != def->coupled)
        tb_schema_report(c, TB_ERR_SCENARIO, o->pos, "%s couples exactly %zu variable; model '%s' has %zu", o->what,
                         def->coupled, ms->model->name, have);
}

static void check_coupling(tb_schema_checker *c, tb_mass_scenario *ms, tb_toml_value *cp)
{
    tb_schema_table(c, cp, coupling_keys, N_(coupling_keys), "coupling");
    const tb_toml_value *fv = tb_toml_get(cp, "function");
    coupling_origin o = {.from_model = !fv};
    if (!fv) {
        const char *def = ms->model && ms->mass->default_coupling ? ms->mass->default_coupling : "linear";
        fv = tb_toml_table_set(cp, "function", tb_toml_new_string(def))->value;
    }
    const char *name = tb_toml_as_string(fv);
    if (!name)
        return;
    o.pos = o.from_model ? ms->model_pos : fv->pos;
    char *what = o.from_model && ms->model ? tb_asprintf("model '%s''s default coupling '%s'", ms->model->name, name)
                                           : tb_asprintf("coupling.function '%s'", name);
    o.what = what;
    const tb_coupling_def *def = tb_coupling_find(name);
    if (!def)
        unknown_coupling(c, ms, name, &o);
    else
        check_coupled_count(c, ms, def, &o);
    free(what);
    if (!def)
        return;
    ms->coupling = tb_strdup(name);
    tb_toml_value *params = tb_schema_ensure_table(cp, "parameters");
    if (params) {
        ms->coupling_params = tb_schema_params(c, params, def->params, def->n_params, "coupling.parameters");
        ms->n_coupling_params = def->n_params;
    }
}

/* Noise amplitudes are named by state variable, like [initial]. */
static void check_noise(tb_schema_checker *c, tb_mass_scenario *ms, tb_toml_value *noise)
{
    tb_schema_table(c, noise, noise_keys, N_(noise_keys), "integrator.noise");
    if (tb_schema_refused(c, tb_toml_get(noise, "kind")))
        return; /* what the other keys mean depends on it */
    const char *kind = tb_toml_as_string(tb_toml_get(noise, "kind"));
    ms->noise = kind && strcmp(kind, "multiplicative") == 0 ? TB_NOISE_MULTIPLICATIVE
                : kind && strcmp(kind, "ou") == 0           ? TB_NOISE_OU
                                                            : TB_NOISE_ADDITIVE;
    const tb_toml_value *sig = tb_toml_get(noise, "sigma"), *nsig = tb_toml_get(noise, "nsig");
    if (sig && nsig)
        tb_schema_report(c, TB_ERR_SCENARIO, nsig->pos, "integrator.noise: give sigma or nsig, not both");
    if (!sig && !nsig)
        tb_schema_report(c, TB_ERR_SCENARIO, noise->pos,
                         "[integrator.noise] needs sigma (or nsig) for at least one state variable");
    ms->noise_nsig = !sig && nsig;
    const tb_toml_value *amp = sig ? sig : nsig;
    const tb_toml_value *tau = tb_toml_get(noise, "tau");
    if (ms->noise == TB_NOISE_OU && !tau)
        tb_schema_report(c, TB_ERR_SCENARIO, noise->pos, "integrator.noise: kind \"ou\" needs tau (ms)");
    if (tau && ms->noise != TB_NOISE_OU)
        tb_schema_report(c, TB_ERR_SCENARIO, tau->pos, "integrator.noise.tau only applies to kind \"ou\"");
    ms->noise_tau = tau ? tb_schema_num(c, noise, "tau", 0) : 0;
    if (ms->method && strcmp(ms->method, "rk4") == 0 && ms->noise != TB_NOISE_OU)
        tb_schema_report(c, TB_ERR_SCENARIO, noise->pos,
                         "integrator.method \"rk4\" has no stochastic form; use \"heun\" (stochastic Heun) "
                         "or \"euler\" (Euler-Maruyama) with white noise");
    if (!amp || amp->type != TB_TOML_TABLE || !ms->model)
        return;
    const tb_mass_model *m = ms->mass;
    const char **names = calloc(m->n_vars + 1, sizeof *names);
    for (size_t i = 0; i < m->n_vars; ++i)
        names[i] = m->vars[i].name;
    const char *group = sig ? "integrator.noise.sigma" : "integrator.noise.nsig";
    ms->noise_sigma = calloc(m->n_vars, sizeof *ms->noise_sigma);
    for (size_t i = 0; i < amp->u.tab.n; ++i) {
        const tb_toml_kv *kv = &amp->u.tab.items[i];
        size_t k = 0;
        while (k < m->n_vars && strcmp(names[k], kv->key) != 0)
            ++k;
        char *where_ = tb_asprintf("[%s] (state variables of the model)", group);
        if (k == m->n_vars) {
            tb_schema_unknown(c, kv->pos, kv->key, where_, names, m->n_vars);
            free(where_);
            continue;
        }
        free(where_);
        char *full = tb_schema_join(group, kv->key);
        int before = c->n;
        if (!tb_schema_numbers(c, kv->value, full, 0.0, INFINITY, false))
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos, "%s must be a number or an array of numbers, not %s",
                             full, tb_toml_type_name(kv->value->type));
        else if (c->n == before) /* an array with a wrong element is not read */
            tb_schema_value_from(&ms->noise_sigma[k], names[k], kv->value);
        free(full);
    }
    free(names);
}

/* An initial value: a number, one per region, "random" (uniform in the
 * variable's declared range) or { uniform = [lo, hi] }. */
static void initial_value(tb_schema_checker *c, const tb_mass_var *var, const char *full, const tb_toml_value *v,
                          tb_scenario_value *out)
{
    const char *s = tb_toml_as_string(v);
    const tb_toml_value *u = v->type == TB_TOML_TABLE ? tb_toml_get(v, "uniform") : NULL;
    int before = c->n; /* nothing above reports */
    out->name = tb_strdup(var->name);
    out->pos = v->pos;
    if (s && strcmp(s, "random") == 0) {
        out->random = true;
        out->lo = var->range_lo;
        out->hi = var->range_hi;
    } else if (u && v->u.tab.n == 1 && u->type == TB_TOML_ARRAY && u->u.arr.n == 2 &&
               tb_toml_as_double(u->u.arr.items[0], &out->lo) && tb_toml_as_double(u->u.arr.items[1], &out->hi) &&
               isfinite(out->lo) && isfinite(out->hi) && out->lo <= out->hi) {
        out->random = true;
    } else if (!s && v->type != TB_TOML_TABLE && tb_schema_numbers(c, v, full, var->bound_lo, var->bound_hi, false)) {
        free(out->name);
        /* an array with a wrong element is reported and not read */
        if (c->n == before)
            tb_schema_value_from(out, var->name, v);
        else
            *out = (tb_scenario_value){.name = tb_strdup(var->name), .pos = v->pos, .scalar = NAN};
        return;
    } else {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos,
                         "%s must be a number, an array of one per region, \"random\" (uniform in [%g, %g]) or "
                         "{ uniform = [low, high] } (finite, low <= high)",
                         full, var->range_lo, var->range_hi);
    }
    if (out->random && (out->lo < var->bound_lo || out->hi > var->bound_hi))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s: the range [%g, %g] leaves the bounds [%g, %g] of %s", full,
                         out->lo, out->hi, var->bound_lo, var->bound_hi, var->name);
}

static const char *const histories[] = {"constant", "random", NULL};

/* [initial]'s one key that is not a state variable (schema for --keys). */
static const tb_key_spec initial_keys[] = {
    {"history", KT_STRING, false, .def_s = "constant", .has_def = true, .choices = histories,
     .doc = "the past before t = 0: constant (the initial state throughout) or random (a fresh draw at every "
            "past step for the variables drawn at random, as TVB does)"},
};

/* initial.history; random needs a variable drawn at random to act on. */
static void check_history(tb_schema_checker *c, tb_mass_scenario *ms, tb_toml_value *init)
{
    const tb_toml_value *v = tb_toml_get(init, "history");
    if (!v) {
        tb_toml_table_set(init, "history", tb_toml_new_string(initial_keys[0].def_s));
        return;
    }
    const char *s = tb_toml_as_string(v);
    if (!s || (strcmp(s, "constant") != 0 && strcmp(s, "random") != 0)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "initial.history must be \"constant\" or \"random\"%s%s%s",
                         s ? " (got \"" : "", s ? s : "", s ? "\")" : "");
        return;
    }
    ms->history = strcmp(s, "random") == 0 ? TB_HISTORY_RANDOM : TB_HISTORY_CONSTANT;
    bool drawn = false;
    for (size_t k = 0; k < ms->mass->n_vars; ++k)
        drawn |= ms->initial[k].random;
    if (ms->history == TB_HISTORY_RANDOM && !drawn)
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos,
                         "initial.history = \"random\" draws the past of the variables given as \"random\" or "
                         "{ uniform = [low, high] }, and none is (\"*\" = \"random\" draws them all)");
}

/* [initial]: by variable name; the key "*" sets every variable not named,
 * and `history` how the past before t = 0 is filled. */
static void check_initial(tb_schema_checker *c, tb_mass_scenario *ms, tb_toml_value *init)
{
    const tb_mass_model *m = ms->mass;
    const char **names = calloc(m->n_vars + 3, sizeof *names);
    for (size_t i = 0; i < m->n_vars; ++i)
        names[i] = m->vars[i].name;
    names[m->n_vars] = "*";
    names[m->n_vars + 1] = "history";
    for (size_t i = 0; i < init->u.tab.n; ++i) {
        const tb_toml_kv *kv = &init->u.tab.items[i];
        size_t k = 0;
        while (k <= m->n_vars + 1 && strcmp(names[k], kv->key) != 0)
            ++k;
        if (k > m->n_vars + 1)
            tb_schema_unknown(c, kv->pos, kv->key, "[initial] (state variables of the model, \"*\" or history)",
                              names, m->n_vars + 2);
    }
    const tb_toml_value *star = tb_toml_get(init, "*");
    ms->initial = calloc(m->n_vars, sizeof *ms->initial);
    for (size_t k = 0; k < m->n_vars; ++k) {
        const tb_toml_value *v = tb_toml_get(init, names[k]);
        char *full = tb_schema_join("initial", v || !star ? names[k] : "\"*\"");
        if (!v && !star)
            v = tb_toml_table_set(init, names[k], tb_toml_new_float(m->vars[k].initial))->value;
        initial_value(c, &m->vars[k], full, v ? v : star, &ms->initial[k]);
        free(full);
    }
    free(names);
    check_history(c, ms, init);
}

static void check_connectome(tb_schema_checker *c, tb_scenario *sc, tb_mass_scenario *ms, tb_toml_value *t)
{
    const tb_toml_value *sv = tb_toml_get(t, "speed");
    ms->speed_given = sv != NULL;
    ms->speed_pos = sv ? sv->pos : t->pos;
    tb_schema_table(c, t, connectome_keys, N_(connectome_keys), "connectome");
    ms->speed = tb_schema_num(c, t, "speed", NAN);
    const char *storage = tb_toml_as_string(tb_toml_get(t, "storage"));
    ms->storage = storage && strcmp(storage, "dense") == 0    ? TB_STORAGE_DENSE
                  : storage && strcmp(storage, "sparse") == 0 ? TB_STORAGE_SPARSE
                                                              : TB_STORAGE_AUTO;
    const tb_toml_value *fv = tb_toml_get(t, "file");
    const char *file = tb_toml_as_string(fv);
    if (!file)
        return;
    ms->connectome_file = tb_scenario_input_path(sc, "connectome.file", file);
    ms->connectome_pos = fv->pos;
    if (!tb_file_exists(ms->connectome_file))
        tb_schema_report(c, TB_ERR_INPUT, fv->pos, "connectome.file: no such file '%s' (looked for %s)", file,
               ms->connectome_file);
}


static void check_sections(tb_schema_checker *c, tb_scenario *sc, tb_mass_scenario *ms,
                           const tb_plugin_registry *reg)
{
    tb_toml_value *root = sc->doc, *t;
    if ((t = (tb_toml_value *)tb_toml_get(root, "connectome")) && t->type == TB_TOML_TABLE)
        check_connectome(c, sc, ms, t);
    if ((t = (tb_toml_value *)tb_toml_get(root, "model")) && t->type == TB_TOML_TABLE)
        check_model(c, sc, ms, t, reg);
    if ((t = tb_schema_ensure_table(root, "coupling")))
        check_coupling(c, ms, t);
    if ((t = tb_schema_ensure_table(root, "integrator")))
        tb_schema_table(c, t, integrator_keys, N_(integrator_keys), "integrator");
    const tb_toml_value *method = tb_toml_get_path(root, "integrator.method");
    if (!tb_schema_refused(c, method)) /* NULL: no check depends on the method */
        ms->method = tb_schema_get_s(tb_toml_get(root, "integrator"), "method");
    const tb_toml_value *noise = tb_toml_get_path(root, "integrator.noise");
    if (noise && noise->type == TB_TOML_TABLE)
        check_noise(c, ms, (tb_toml_value *)noise);
    if (ms->model && (t = tb_schema_ensure_table(root, "initial")))
        check_initial(c, ms, t);
    tb_scenario_check_monitors(c, sc, root);
    if (ms->model)
        tb_stimulus_check(c, sc, (tb_toml_value *)tb_toml_get(root, "stimulus"));
    tb_sweep_check(c, sc, (tb_toml_value *)tb_toml_get(root, "sweep"));
    if ((t = (tb_toml_value *)tb_toml_get(root, "assimilation")) && ms->model)
        ms->assimilation = tb_assimilation_check(c, sc, t);
}

void tb_mass_check_scenario(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    tb_mass_scenario *ms = calloc(1, sizeof *ms);
    if (!ms) {
        tb_schema_report(c, TB_ERR_OTHER, sc->doc->pos, "out of memory");
        return;
    }
    sc->kit_data = ms;
    check_sections(c, sc, ms, reg);
    sc->n_instances = ms->sweep.n_instances;
}

static void free_values(tb_scenario_value *v, size_t n)
{
    for (size_t i = 0; v && i < n; ++i) {
        free(v[i].name);
        free(v[i].values);
    }
    free(v);
}

void tb_mass_free_scenario(void *kit_data)
{
    tb_mass_scenario *ms = kit_data;
    if (!ms)
        return;
    free_values(ms->model_params, ms->model ? ms->model->n_params : 0);
    free_values(ms->coupling_params, ms->n_coupling_params);
    free_values(ms->initial, ms->mass && ms->initial ? ms->mass->n_vars : 0);
    free_values(ms->noise_sigma, ms->mass && ms->noise_sigma ? ms->mass->n_vars : 0);
    tb_scenario_free_monitors(ms);
    tb_sweep_free(&ms->sweep);
    tb_assimilation_free(ms->assimilation);
    tb_stimulus_free(ms);
    tb_declared_model_free(ms->declared);
    for (size_t i = 0; ms->fitted_labels && i < ms->n_fitted_labels; ++i)
        free(ms->fitted_labels[i]);
    free(ms->fitted_labels);
    free(ms->fitted_from);
    free(ms->connectome_file);
    free(ms->coupling);
    free(ms->method);
    free(ms);
}

void tb_mass_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, "connectome", connectome_keys, N_(connectome_keys));
    tb_schema_list_keys(b, "model", model_keys, N_(model_keys));
    tb_schema_list_keys(b, "coupling", coupling_keys, N_(coupling_keys));
    tb_schema_list_keys(b, "integrator", integrator_keys, N_(integrator_keys));
    tb_schema_list_keys(b, "integrator.noise", noise_keys, N_(noise_keys));
    tb_schema_list_keys(b, "initial", initial_keys, N_(initial_keys));
    tb_schema_list_keys(b, "monitor", tb_monitor_keys, tb_n_monitor_keys);
    tb_schema_list_keys(b, "stimulus", tb_stimulus_keys, tb_n_stimulus_keys);
    tb_assimilation_list_keys(b);
}
