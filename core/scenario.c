/* Scenario loading: TOML -> overrides -> schema check -> defaults -> struct.
 *
 * The schema is data (tb_key_spec tables), so that the check, the defaults,
 * the documentation list (tb_scenario_keys) and the "did you mean"
 * suggestions all come from one place. Errors are collected rather than
 * stopping at the first, so a user fixes a scenario in one pass. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mass/coupling.h"
#include "mass/declared_model.h"
#include "mass/scenario_monitor.h"
#include "schema.h"
#include "spiking/spiking_scenario.h"
#include "mass/stimulus.h"
#include "mass/sweep.h"
#include "twinbrain/mass.h"
#include "twinbrain/scenario.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const precisions[] = {"single", "double", NULL};
static const char *const methods[] = {"euler", "heun", "rk4", NULL};

static const tb_key_spec top_keys[] = {
    {"simulation", KT_TABLE, true, .doc = "time, step, seed, precision and device"},
    {"connectome", KT_TABLE, true, .doc = "the structural connectome (neural-mass scenarios)"},
    {"model", KT_TABLE, true, .doc = "the model plugin and its parameters"},
    {"coupling", KT_TABLE, .doc = "the long-range coupling function"},
    {"integrator", KT_TABLE, .doc = "the integration method"},
    {"initial", KT_TABLE, .doc = "initial values of the state variables"},
    {"monitor", KT_TABLES, .doc = "what is recorded, as [[monitor]] tables"},
    {"output", KT_TABLE, .doc = "where results go"},
    {"sweep", KT_TABLE, .doc = "parameter sweep: every combination of the listed values is one instance"},
    {"stimulus", KT_TABLES, .doc = "time-varying inputs into chosen regions and variables, as [[stimulus]] tables"},
};

static const tb_key_spec simulation_keys[] = {
    {"duration", KT_FLOAT, true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "simulated time in ms; a multiple of dt"},
    {"dt", KT_FLOAT, false, 0.1, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "integration step in ms"},
    {"seed", KT_INT, false, 42, .has_def = true, .min = 0, .max = 9.2e18,
     .doc = "seed of every random draw (initial values, noise)"},
    {"precision", KT_STRING, false, .def_s = "double", .has_def = true, .choices = precisions,
     .doc = "floating-point precision on the device: single or double"},
    {"device", KT_STRING_OR_STRINGS,
     .doc = "device selector (auto, cpu, gpu, accelerator, INDEX, P:D, name~TEXT), all, or an array of "
            "selectors to split a sweep's instances across devices; default $TWINBRAIN_DEVICE, else auto"},
};

static const char *const storages[] = {"auto", "sparse", "dense", NULL};

static const tb_key_spec connectome_keys[] = {
    {"file", KT_STRING, true, .doc = "HDF5 connectome (docs/formats.md), relative to the scenario's folder"},
    {"speed", KT_FLOAT, false, 3.0, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "conduction speed in mm/ms; delay = tract length / speed, rounded to steps"},
    {"storage", KT_STRING, false, .def_s = "auto", .has_def = true, .choices = storages,
     .doc = "how the device stores the weights: sparse (non-zero edges with their sources), dense (every "
            "pair, no source indices) or auto (dense from a density of 0.5 on)"},
};

static const tb_key_spec model_keys[] = {
    {"plugin", KT_STRING, .doc = "name of a mass-model plugin (twinbrain plugins); or declare the model here "
                                 "with variables and derivatives"},
    {"parameters", KT_TABLE, .doc = "the plugin's parameters: a number, or an array of one per region"},
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


static const tb_key_spec output_keys[] = {
    {"file", KT_STRING, .doc = "output HDF5 file, relative to the scenario's folder; default "
                               "NAME.h5 in the current folder; -o overrides"},
};

static void check_model(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *model, const tb_plugin_registry *reg)
{
    tb_schema_table(c, model, model_keys, N_(model_keys), "model");
    const tb_toml_value *pv = tb_toml_get(model, "plugin");
    const char *name = tb_toml_as_string(pv);
    bool declared = tb_toml_get(model, "derivatives") || tb_toml_get(model, "variables");
    if (name && declared) {
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos,
                         "[model] names a plugin and also declares variables or derivatives; choose one");
        return;
    }
    if (declared) {
        sc->model = tb_declared_model_build(c, model, &sc->declared);
        tb_toml_value *params = tb_schema_ensure_table(model, "parameters");
        if (sc->model && params)
            sc->model_params = tb_schema_params(c, params, sc->model->params, sc->model->n_params, "model.parameters");
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
    sc->model = tb_plugin_find(reg, TB_PLUGIN_MASS, name);
    if (!sc->model) {
        const char *fail = tb_schema_plugin_failure(reg, name);
        if (fail) {
            tb_schema_report(c, TB_ERR_INPUT, pv->pos, "model.plugin: plugin '%s' could not be loaded: %s", name, fail);
            return;
        }
        const tb_plugin *other = tb_plugin_find(reg, 0, name);
        size_t n = tb_plugin_count(reg);
        const char **names = calloc(n + 1, sizeof *names);
        size_t m = 0;
        for (size_t i = 0; i < n; ++i)
            if (tb_plugin_at(reg, i)->kind == TB_PLUGIN_MASS)
                names[m++] = tb_plugin_at(reg, i)->name;
        const char *sug = tb_schema_closest(name, names, m);
        if (other)
            tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "model.plugin: '%s' is a %s plugin, not a mass model", name,
                   tb_plugin_kind_name(other->kind));
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
    tb_toml_value *params = tb_schema_ensure_table(model, "parameters");
    if (params)
        sc->model_params = tb_schema_params(c, params, sc->model->params, sc->model->n_params, "model.parameters");
}

static void check_coupling(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *cp)
{
    tb_schema_table(c, cp, coupling_keys, N_(coupling_keys), "coupling");
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
        const char *sug = tb_schema_closest(name, names, n);
        tb_buf list = {0};
        for (size_t i = 0; i < n; ++i)
            tb_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
        char *l = tb_buf_take(&list);
        tb_schema_report(c, TB_ERR_SCENARIO, fv->pos, "coupling.function must be one of %s (got \"%s\")%s%s%s", l, name,
               sug ? "; did you mean \"" : "", sug ? sug : "", sug ? "\"?" : "");
        free(l);
        return;
    }
    if (sc->model && sc->model->mass->n_coupled < def->min_coupled)
        tb_schema_report(c, TB_ERR_SCENARIO, fv->pos, "coupling.function '%s' needs %zu coupled variables; model '%s' has %zu",
               name, def->min_coupled, sc->model->name, sc->model->mass->n_coupled);
    if (sc->model && def->coupled && sc->model->mass->n_coupled != def->coupled)
        tb_schema_report(c, TB_ERR_SCENARIO, fv->pos,
                         "coupling.function '%s' couples exactly %zu variable; model '%s' has %zu", name, def->coupled,
                         sc->model->name, sc->model->mass->n_coupled);
    sc->coupling = tb_strdup(name);
    tb_toml_value *params = tb_schema_ensure_table(cp, "parameters");
    if (params) {
        sc->coupling_params = tb_schema_params(c, params, def->params, def->n_params, "coupling.parameters");
        sc->n_coupling_params = def->n_params;
    }
}

/* Noise amplitudes are named by state variable, like [initial]. */
static void check_noise(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *noise)
{
    tb_schema_table(c, noise, noise_keys, N_(noise_keys), "integrator.noise");
    const char *kind = tb_toml_as_string(tb_toml_get(noise, "kind"));
    sc->noise = kind && strcmp(kind, "multiplicative") == 0 ? TB_NOISE_MULTIPLICATIVE
                : kind && strcmp(kind, "ou") == 0           ? TB_NOISE_OU
                                                            : TB_NOISE_ADDITIVE;
    const tb_toml_value *sig = tb_toml_get(noise, "sigma"), *nsig = tb_toml_get(noise, "nsig");
    if (sig && nsig)
        tb_schema_report(c, TB_ERR_SCENARIO, nsig->pos, "integrator.noise: give sigma or nsig, not both");
    if (!sig && !nsig)
        tb_schema_report(c, TB_ERR_SCENARIO, noise->pos,
                         "[integrator.noise] needs sigma (or nsig) for at least one state variable");
    sc->noise_nsig = !sig && nsig;
    const tb_toml_value *amp = sig ? sig : nsig;
    const tb_toml_value *tau = tb_toml_get(noise, "tau");
    if (sc->noise == TB_NOISE_OU && !tau)
        tb_schema_report(c, TB_ERR_SCENARIO, noise->pos, "integrator.noise: kind \"ou\" needs tau (ms)");
    if (tau && sc->noise != TB_NOISE_OU)
        tb_schema_report(c, TB_ERR_SCENARIO, tau->pos, "integrator.noise.tau only applies to kind \"ou\"");
    sc->noise_tau = tau ? tb_schema_get_f(noise, "tau") : 0;
    if (sc->method && strcmp(sc->method, "rk4") == 0 && sc->noise != TB_NOISE_OU)
        tb_schema_report(c, TB_ERR_SCENARIO, noise->pos,
                         "integrator.method \"rk4\" has no stochastic form; use \"heun\" (stochastic Heun) "
                         "or \"euler\" (Euler-Maruyama) with white noise");
    if (!amp || amp->type != TB_TOML_TABLE || !sc->model)
        return;
    const tb_mass_model *m = sc->model->mass;
    const char **names = calloc(m->n_vars + 1, sizeof *names);
    for (size_t i = 0; i < m->n_vars; ++i)
        names[i] = m->vars[i].name;
    const char *group = sig ? "integrator.noise.sigma" : "integrator.noise.nsig";
    sc->noise_sigma = calloc(m->n_vars, sizeof *sc->noise_sigma);
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
        if (!tb_schema_numbers(c, kv->value, full, 0.0, INFINITY, false))
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos, "%s must be a number or an array of numbers, not %s",
                             full, tb_toml_type_name(kv->value->type));
        else
            tb_schema_value_from(&sc->noise_sigma[k], names[k], kv->value);
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
    out->name = tb_strdup(var->name);
    out->pos = v->pos;
    if (s && strcmp(s, "random") == 0) {
        out->random = true;
        out->lo = var->range_lo;
        out->hi = var->range_hi;
    } else if (u && v->u.tab.n == 1 && u->type == TB_TOML_ARRAY && u->u.arr.n == 2 &&
               tb_toml_as_double(u->u.arr.items[0], &out->lo) && tb_toml_as_double(u->u.arr.items[1], &out->hi) &&
               out->lo <= out->hi) {
        out->random = true;
    } else if (!s && v->type != TB_TOML_TABLE && tb_schema_numbers(c, v, full, var->bound_lo, var->bound_hi, false)) {
        free(out->name);
        tb_schema_value_from(out, var->name, v);
        return;
    } else {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos,
                         "%s must be a number, an array of one per region, \"random\" (uniform in [%g, %g]) or "
                         "{ uniform = [low, high] }",
                         full, var->range_lo, var->range_hi);
    }
    if (out->random && (out->lo < var->bound_lo || out->hi > var->bound_hi))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s: the range [%g, %g] leaves the bounds [%g, %g] of %s", full,
                         out->lo, out->hi, var->bound_lo, var->bound_hi, var->name);
}

/* [initial]: by variable name; the key "*" sets every variable not named. */
static void check_initial(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *init)
{
    const tb_mass_model *m = sc->model->mass;
    const char **names = calloc(m->n_vars + 2, sizeof *names);
    for (size_t i = 0; i < m->n_vars; ++i)
        names[i] = m->vars[i].name;
    names[m->n_vars] = "*";
    for (size_t i = 0; i < init->u.tab.n; ++i) {
        const tb_toml_kv *kv = &init->u.tab.items[i];
        size_t k = 0;
        while (k <= m->n_vars && strcmp(names[k], kv->key) != 0)
            ++k;
        if (k > m->n_vars)
            tb_schema_unknown(c, kv->pos, kv->key, "[initial] (state variables of the model, or \"*\")", names,
                              m->n_vars + 1);
    }
    const tb_toml_value *star = tb_toml_get(init, "*");
    sc->initial = calloc(m->n_vars, sizeof *sc->initial);
    for (size_t k = 0; k < m->n_vars; ++k) {
        const tb_toml_value *v = tb_toml_get(init, names[k]);
        char *full = tb_schema_join("initial", v || !star ? names[k] : "\"*\"");
        if (!v && !star)
            v = tb_toml_table_set(init, names[k], tb_toml_new_float(m->vars[k].initial))->value;
        initial_value(c, &m->vars[k], full, v ? v : star, &sc->initial[k]);
        free(full);
    }
    free(names);
}

/* device = ["cpu", "gpu"] is the selector "cpu,gpu" (several devices). */
static char *device_selector(const tb_toml_value *v)
{
    if (!v || v->type != TB_TOML_ARRAY)
        return v && v->type == TB_TOML_STRING ? tb_strdup(v->u.s.ptr) : NULL;
    tb_buf b = {0};
    for (size_t i = 0; i < v->u.arr.n; ++i)
        if (v->u.arr.items[i]->type == TB_TOML_STRING)
            tb_buf_printf(&b, "%s%s", i ? "," : "", v->u.arr.items[i]->u.s.ptr);
    return tb_buf_take(&b);
}

static void check_simulation(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *sim)
{
    tb_schema_table(c, sim, simulation_keys, N_(simulation_keys), "simulation");
    sc->duration = tb_schema_get_f(sim, "duration");
    sc->dt = tb_schema_get_f(sim, "dt");
    int64_t seed = 0;
    tb_toml_as_int(tb_toml_get(sim, "seed"), &seed);
    sc->seed = (uint64_t)(seed < 0 ? 0 : seed);
    const char *p = tb_toml_as_string(tb_toml_get(sim, "precision"));
    sc->precision = p && strcmp(p, "single") == 0 ? TB_SINGLE : TB_DOUBLE;
    sc->device = device_selector(tb_toml_get(sim, "device"));
    if (sc->duration > 0 && sc->dt > 0) {
        if (!tb_schema_multiple_of_dt(sc->duration, sc->dt))
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(sim, "duration")->pos,
                   "simulation.duration (%g ms) must be a whole multiple of simulation.dt (%g ms)", sc->duration,
                   sc->dt);
        else
            sc->steps = (uint64_t)llround(sc->duration / sc->dt);
    }
}

static void check_connectome(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t)
{
    tb_schema_table(c, t, connectome_keys, N_(connectome_keys), "connectome");
    sc->speed = tb_schema_get_f(t, "speed");
    const char *storage = tb_toml_as_string(tb_toml_get(t, "storage"));
    sc->storage = storage && strcmp(storage, "dense") == 0    ? TB_STORAGE_DENSE
                  : storage && strcmp(storage, "sparse") == 0 ? TB_STORAGE_SPARSE
                                                              : TB_STORAGE_AUTO;
    const tb_toml_value *fv = tb_toml_get(t, "file");
    const char *file = tb_toml_as_string(fv);
    if (!file)
        return;
    sc->connectome_file = tb_path_join(sc->dir, file);
    sc->connectome_pos = fv->pos;
    if (!tb_file_exists(sc->connectome_file))
        tb_schema_report(c, TB_ERR_INPUT, fv->pos, "connectome.file: no such file '%s' (looked for %s)", file,
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

/* --set KEY=VALUE: KEY is a TOML dotted key, whose quoted parts may hold
 * dots and '=' (sweep."model.parameters.G"), so the key is parsed, not cut
 * at the first '='. VALUE is TOML ("0.5", "[1, 2]", "'x'"); a bare word that
 * is not valid TOML is taken as a string, so --set model.plugin=jansen_rit
 * works without shell-quoted quotes. */
static tb_status apply_override(tb_toml_value *doc, const char *file, const char *ov, tb_error *err)
{
    tb_error kerr = {0};
    size_t n = tb_toml_key_span(ov, &kerr);
    const char *eq = ov + n;
    if (n == 0 || *eq != '=') {
        tb_status st = tb_error_set(err, TB_ERR_SCENARIO,
                                    "%s: --set '%s': expected KEY=VALUE (e.g. simulation.dt=0.05)%s%s", file, ov,
                                    kerr.message ? ": " : "", kerr.message ? kerr.message : "");
        tb_error_clear(&kerr);
        return st;
    }
    while (ov[n - 1] == ' ' || ov[n - 1] == '\t') /* a key ends at a part, not at a blank */
        --n;
    char *key = tb_strndup(ov, n);
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
        /* set_path owns v even when it fails */
        st = tb_error_set(err, TB_ERR_SCENARIO, "%s: --set %s: %s", file, key, tb_error_message(&serr));
    }
    tb_error_clear(&serr);
    free(key);
    return st;
}

/* ------------------------------------------------------------ entry */

/* A document with [[population]] describes spiking neurons: no connectome
 * or mass model; [simulation] and [output] mean what they mean for mass. */
static void check_spiking_document(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    tb_toml_value *root = sc->doc, *t;
    sc->kind = TB_SCENARIO_SPIKING;
    sc->sweep.n_instances = 1; /* one network per run: spiking has no [sweep] */
    tb_spiking_check_top(c, root);
    if ((t = (tb_toml_value *)tb_toml_get(root, "simulation")) && t->type == TB_TOML_TABLE)
        check_simulation(c, sc, t);
    tb_spiking_check(c, sc, root, reg);
    if ((t = tb_schema_ensure_table(root, "output"))) {
        tb_schema_table(c, t, output_keys, N_(output_keys), "output");
        const char *f = tb_toml_as_string(tb_toml_get(t, "file"));
        if (f)
            sc->output_file = tb_path_join(sc->dir, f);
    }
}

static void check_document(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    tb_toml_value *root = sc->doc;
    if (tb_toml_get(root, "population")) {
        check_spiking_document(c, sc, reg);
        return;
    }
    tb_schema_table(c, root, top_keys, N_(top_keys), "");
    tb_toml_value *t;
    if ((t = (tb_toml_value *)tb_toml_get(root, "simulation")) && t->type == TB_TOML_TABLE)
        check_simulation(c, sc, t);
    if ((t = (tb_toml_value *)tb_toml_get(root, "connectome")) && t->type == TB_TOML_TABLE)
        check_connectome(c, sc, t);
    if ((t = (tb_toml_value *)tb_toml_get(root, "model")) && t->type == TB_TOML_TABLE)
        check_model(c, sc, t, reg);
    if ((t = tb_schema_ensure_table(root, "coupling")))
        check_coupling(c, sc, t);
    if ((t = tb_schema_ensure_table(root, "integrator")))
        tb_schema_table(c, t, integrator_keys, N_(integrator_keys), "integrator");
    sc->method = tb_schema_get_s(tb_toml_get(root, "integrator"), "method");
    const tb_toml_value *noise = tb_toml_get_path(root, "integrator.noise");
    if (noise && noise->type == TB_TOML_TABLE)
        check_noise(c, sc, (tb_toml_value *)noise);
    if (sc->model && (t = tb_schema_ensure_table(root, "initial")))
        check_initial(c, sc, t);
    tb_scenario_check_monitors(c, sc, root);
    if (sc->model)
        tb_stimulus_check(c, sc, (tb_toml_value *)tb_toml_get(root, "stimulus"));
    tb_sweep_check(c, sc, (tb_toml_value *)tb_toml_get(root, "sweep"));
    if ((t = tb_schema_ensure_table(root, "output"))) {
        tb_schema_table(c, t, output_keys, N_(output_keys), "output");
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
    tb_schema_checker c = {.file = path};
    check_document(&c, sc, reg);
    if (c.n == 0) {
        *out = sc;
        return TB_OK;
    }
    if (c.n > TB_SCHEMA_MAX_REPORTED)
        tb_buf_printf(&c.msgs, "%s: ... and %d more errors\n", path, c.n - TB_SCHEMA_MAX_REPORTED);
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
    free_values(sc->noise_sigma, sc->model && sc->noise_sigma ? sc->model->mass->n_vars : 0);
    tb_scenario_free_monitors(sc);
    tb_sweep_free(&sc->sweep);
    tb_stimulus_free(sc);
    tb_declared_model_free(sc->declared);
    tb_spiking_scenario_free(sc->spiking);
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
    return tb_schema_where(sc->path, pos);
}

char *tb_scenario_keys(void)
{
    tb_buf b = {0};
    tb_schema_list_keys(&b, "", top_keys, N_(top_keys));
    tb_schema_list_keys(&b, "simulation", simulation_keys, N_(simulation_keys));
    tb_schema_list_keys(&b, "connectome", connectome_keys, N_(connectome_keys));
    tb_schema_list_keys(&b, "model", model_keys, N_(model_keys));
    tb_schema_list_keys(&b, "coupling", coupling_keys, N_(coupling_keys));
    tb_schema_list_keys(&b, "integrator", integrator_keys, N_(integrator_keys));
    tb_schema_list_keys(&b, "integrator.noise", noise_keys, N_(noise_keys));
    tb_schema_list_keys(&b, "monitor", tb_monitor_keys, tb_n_monitor_keys);
    tb_schema_list_keys(&b, "stimulus", tb_stimulus_keys, tb_n_stimulus_keys);
    tb_schema_list_keys(&b, "output", output_keys, N_(output_keys));
    tb_spiking_list_keys(&b);
    return tb_buf_take(&b);
}
