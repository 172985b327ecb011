/* The spiking sections of a scenario: [[population]], [[projection]],
 * [[input]], [[record]] (and [[neuron_model]], in spiking_declared.c),
 * described as key specifications and checked with the schema machinery,
 * so their errors read like every other scenario error. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain.h"
#include "brain_assimilate.h"
#include "brain_parameters_from.h"
#include "spiking_declared.h"
#include "spiking_scenario.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const rules[] = {"all_to_all",         "one_to_one",         "pairwise_bernoulli", "fixed_indegree",
                                    "fixed_outdegree",    "fixed_total_number", "from_file",          NULL};
static const char *const input_kinds[] = {"poisson", "dc", "noise", "spike_file", NULL};
static const char *const record_kinds[] = {"spikes", "rates", "state", "connections", NULL};
static const char *const dist_kinds[] = {"normal", "uniform", "lognormal", NULL};

const tb_key_spec tb_spiking_sections[TB_SPIKING_N_SECTIONS] = {
    {"neuron_model", KT_TABLES, .doc = "neuron models declared in the file, as [[neuron_model]] tables"},
    {"population", KT_TABLES, .doc = "populations of spiking neurons, as [[population]] tables"},
    {"projection", KT_TABLES, .doc = "connections between populations, as [[projection]] tables"},
    {"input", KT_TABLES, .doc = "external drive (Poisson, DC, noise, spike files), as [[input]] tables"},
    {"record", KT_TABLES, .doc = "what is written (spikes, rates, state, connections), as [[record]] tables"},
    {"brain", KT_TABLE, .doc = "a whole brain: populations per region of a connectome, wired by it (docs/brain.md)"},
    {"assimilation", KT_TABLE, .doc = "ensemble Kalman filter of a per-region parameter against empirical BOLD"},
};

static const tb_key_spec population_keys[] = {
    {"name", KT_STRING, true, .doc = "the population's name (a plain name; /spikes/<name> in the output)"},
    {"model", KT_STRING, true, .doc = "a spiking plugin (twinbrain plugins) or a [[neuron_model]] of the file"},
    {"size", KT_INT, true, .min = 1, .max = 2147483647.0, .doc = "number of neurons"},
    {"parameters", KT_TABLE,
     .doc = "the model's parameters: a number, a distribution table or { expr = \"...\" } per neuron"},
    {"initial", KT_TABLE, .doc = "initial state: a number, a distribution table or { expr = \"...\" } per neuron"},
};

static const tb_key_spec projection_keys[] = {
    {"source", KT_STRING, true, .doc = "a population, or a spike_file input"},
    {"target", KT_STRING, true, .doc = "a population"},
    {"rule", KT_STRING, true, .choices = rules,
     .doc = "all_to_all, one_to_one, pairwise_bernoulli, fixed_indegree, fixed_outdegree, fixed_total_number "
            "or from_file"},
    {"p", KT_FLOAT, .min = 0, .max = 1, .doc = "pairwise_bernoulli: probability of each (source, target) pair"},
    {"indegree", KT_INT, .min = 0, .max = 4294967295.0, .doc = "fixed_indegree: sources drawn for each target"},
    {"outdegree", KT_INT, .min = 0, .max = 4294967295.0, .doc = "fixed_outdegree: targets drawn for each source"},
    {"n", KT_INT, .min = 0, .max = 9.2e18, .doc = "fixed_total_number: synapses drawn over all pairs"},
    {"file", KT_STRING,
     .doc = "from_file: HDF5 file with /source, /target (indices within the populations), /weight and "
            "/delay (ms) arrays; relative to the scenario's folder"},
    {"synapse", KT_STRING,
     .doc = "port of the target's model (ex, in for the plugins here); default ex for a weight >= 0, in "
            "otherwise"},
    {"weight", KT_ANY, .doc = "a number or a distribution table, in the port's unit (pA, nS, mV)"},
    {"delay", KT_ANY, false, .doc = "ms: a number or a distribution table; rounded to the nearest step, at "
                                    "least one step; default 1.0"},
    {"allow_autapses", KT_BOOL, false, 1, .has_def = true,
     .doc = "whether a neuron may connect to itself (source and target the same population)"},
    {"allow_multapses", KT_BOOL, false, 1, .has_def = true,
     .doc = "whether a pair may be connected more than once (fixed_indegree, fixed_outdegree)"},
};

static const tb_key_spec input_keys[] = {
    {"name", KT_STRING, true, .doc = "the input's name (a spike_file input is named as a projection source)"},
    {"kind", KT_STRING, true, .choices = input_kinds, .doc = "poisson, dc, noise or spike_file"},
    {"targets", KT_STRINGS, .doc = "populations driven (poisson, dc, noise); default all"},
    {"rate", KT_FLOAT, .min = 0, .max = INFINITY, .doc = "poisson: rate of each generator in Hz"},
    {"indegree", KT_INT, false, 1, .has_def = true, .min = 1, .max = 4294967295.0,
     .doc = "poisson: independent generators per neuron (their sum is Poisson with rate x indegree)"},
    {"weight", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "poisson: weight of each event"},
    {"synapse", KT_STRING, .doc = "poisson: port (default ex for a weight >= 0, in otherwise)"},
    {"amplitude", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "dc: current added to I_ext"},
    {"delay", KT_FLOAT, .min = 0, .max = 1e9,
     .doc = "dc: ms the current takes to reach the neurons (NEST's dc_generator connected with this delay); "
            "rounded to steps; default 0"},
    {"mean", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "noise: mean current"},
    {"std", KT_FLOAT, .min = 0, .max = INFINITY, .doc = "noise: standard deviation of the current drawn each step"},
    {"start", KT_FLOAT, false, 0.0, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "ms: poisson, dc and noise act in steps starting at or after it"},
    {"stop", KT_FLOAT, false, INFINITY, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "ms: ... and before it", .inf_ok = true},
    {"file", KT_STRING, .doc = "spike_file: HDF5 spikes in the SONATA layout (/spikes/<population>/timestamps, "
                               "node_ids), relative to the scenario's folder"},
    {"population", KT_STRING, .doc = "spike_file: which /spikes/<population> group; default the only one"},
    {"size", KT_INT, .min = 1, .max = 2147483647.0, .doc = "spike_file: number of sources; default largest node id + 1"},
};

static const tb_key_spec record_keys[] = {
    {"name", KT_STRING, .doc = "dataset name under /monitors/ (rates, state); default the kind"},
    {"kind", KT_STRING, true, .choices = record_kinds, .doc = "spikes, rates, state or connections"},
    {"populations", KT_STRINGS, .doc = "spikes, rates: populations recorded; connections: target populations; "
                                       "default all"},
    {"bin", KT_FLOAT, false, 1.0, .has_def = false, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "rates: bin width in ms, a multiple of dt; default 1.0"},
    {"population", KT_STRING, .doc = "state: the population sampled"},
    {"neurons", KT_ANY, .doc = "state: indices within the population (an array), or a count n for the first n; "
                               "default [0]"},
    {"variables", KT_STRINGS, .doc = "state: state variables recorded; default all"},
    {"period", KT_FLOAT, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "state: sampling period in ms, a multiple of dt; default dt"},
};

static const tb_key_spec normal_keys[] = {
    {"dist", KT_STRING, true, .choices = dist_kinds, .doc = "normal, uniform or lognormal"},
    {"mean", KT_FLOAT, true, .min = -INFINITY, .max = INFINITY, .doc = "normal: mean"},
    {"std", KT_FLOAT, true, .min = 0, .max = INFINITY, .doc = "normal: standard deviation"},
    {"min", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "normal, lognormal: values below are drawn again",
     .inf_ok = true},
    {"max", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "normal, lognormal: values above are drawn again",
     .inf_ok = true},
};
static const tb_key_spec uniform_keys[] = {
    {"dist", KT_STRING, true, .choices = dist_kinds, .doc = ""},
    {"low", KT_FLOAT, true, .min = -INFINITY, .max = INFINITY, .doc = "uniform: lower end"},
    {"high", KT_FLOAT, true, .min = -INFINITY, .max = INFINITY, .doc = "uniform: upper end"},
};
static const tb_key_spec lognormal_keys[] = {
    {"dist", KT_STRING, true, .choices = dist_kinds, .doc = ""},
    {"mu", KT_FLOAT, true, .min = -INFINITY, .max = INFINITY, .doc = "lognormal: mean of the underlying normal"},
    {"sigma", KT_FLOAT, true, .min = 0, .max = INFINITY, .doc = "lognormal: standard deviation of the underlying normal"},
    {"min", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "", .inf_ok = true},
    {"max", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "", .inf_ok = true},
};
static const tb_key_spec expr_keys[] = {
    {"expr", KT_STRING, true,
     .doc = "population values: an OpenCL expression of r (uniform in (0, 1), one per neuron, shared by the "
            "population's expressions), i (index in the population) and dt"},
};

int64_t tb_spk_delay_steps(double ms, double dt)
{
    double q = round(ms / dt);
    if (!(q <= TB_SPK_MAX_DELAY_STEPS)) /* NaN too */
        return (int64_t)TB_SPK_MAX_DELAY_STEPS + 1;
    return q < 1 ? 1 : (int64_t)q;
}

void tb_spk_dist_reach(const tb_dist *d, double *lo, double *hi)
{
    double a = d->a, b = d->a;
    if (d->kind == TB_DIST_UNIFORM)
        a = d->a, b = d->b;
    else if (d->kind == TB_DIST_NORMAL)
        a = fmax(d->lo, d->a - 7 * d->b), b = fmin(d->hi, d->a + 7 * d->b);
    else if (d->kind == TB_DIST_LOGNORMAL)
        a = fmax(d->lo, exp(d->a - 7 * d->b)), b = fmin(d->hi, exp(d->a + 7 * d->b));
    *lo = a, *hi = b;
}

/* ------------------------------------------------------------ helpers */

static size_t choice_index(const char *const *choices, const char *s)
{
    size_t i = 0;
    while (choices[i] && (!s || strcmp(choices[i], s) != 0))
        ++i;
    return i;
}

static tb_toml_value *tables_of(tb_toml_value *root, const char *key)
{
    tb_toml_value *arr = (tb_toml_value *)tb_toml_get(root, key);
    return arr && arr->type == TB_TOML_ARRAY ? arr : NULL;
}

static bool get_bool(const tb_toml_value *t, const char *key, bool def)
{
    bool b = def;
    tb_toml_as_bool(tb_toml_get(t, key), &b);
    return b;
}

/* A checked count: 0 when absent or refused (every count key has min >= 0,
 * and 0 tells the checks below that there is nothing to compare). */
static uint64_t get_u64(const tb_schema_checker *c, const tb_toml_value *t, const char *key)
{
    int64_t i = tb_schema_int(c, t, key, 0);
    return i < 0 ? 0 : (uint64_t)i;
}

/* ------------------------------------------------------------ distributions */

/* A checked number: `def` when absent, NaN when refused. */
static double opt_f(const tb_schema_checker *c, const tb_toml_value *t, const char *key, double def)
{
    return tb_schema_num(c, t, key, def);
}

/* A number, or a table { dist = ..., ... } (or { expr = ... } when allowed). */
static bool parse_dist(tb_schema_checker *c, tb_toml_value *v, const char *full, bool allow_expr, tb_dist *out)
{
    memset(out, 0, sizeof *out);
    out->pos = v->pos;
    out->lo = -INFINITY;
    out->hi = INFINITY;
    if (tb_toml_as_double(v, &out->a)) {
        out->kind = TB_DIST_CONST;
        if (!isfinite(out->a)) {
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be finite (got %g)", full, out->a);
            return false;
        }
        return true;
    }
    if (v->type != TB_TOML_TABLE) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be a number or a distribution table such as "
                                                     "{ dist = \"normal\", mean = 1.0, std = 0.1 }, not %s",
                         full, tb_toml_type_name(v->type));
        return false;
    }
    int before = c->n;
    if (tb_toml_get(v, "expr")) {
        if (!allow_expr) {
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s: expressions are for population values; give a "
                                                         "number or a distribution",
                             full);
            return false;
        }
        tb_schema_table(c, v, expr_keys, N_(expr_keys), full);
        out->kind = TB_DIST_EXPR;
        out->expr = tb_schema_get_s(v, "expr");
        return c->n == before && out->expr;
    }
    const char *d = tb_toml_as_string(tb_toml_get(v, "dist"));
    size_t k = choice_index(dist_kinds, d);
    if (k == 0)
        tb_schema_table(c, v, normal_keys, N_(normal_keys), full);
    else if (k == 1)
        tb_schema_table(c, v, uniform_keys, N_(uniform_keys), full);
    else if (k == 2)
        tb_schema_table(c, v, lognormal_keys, N_(lognormal_keys), full);
    else if (!tb_toml_get(v, "dist"))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s needs 'dist' (normal, uniform or lognormal) or 'expr'", full);
    else if (!d)
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(v, "dist")->pos, "%s.dist must be a string, not %s", full,
                         tb_toml_type_name(tb_toml_get(v, "dist")->type));
    else
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(v, "dist")->pos,
                         "%s.dist must be one of normal, uniform, lognormal (got \"%s\")", full, d);
    if (c->n != before || k > 2)
        return false;
    out->kind = k == 0 ? TB_DIST_NORMAL : k == 1 ? TB_DIST_UNIFORM : TB_DIST_LOGNORMAL;
    out->a = opt_f(c, v, k == 0 ? "mean" : k == 1 ? "low" : "mu", 0);
    out->b = opt_f(c, v, k == 0 ? "std" : k == 1 ? "high" : "sigma", 0);
    out->lo = opt_f(c, v, "min", -INFINITY);
    out->hi = opt_f(c, v, "max", INFINITY);
    if (k == 1 && !(out->a <= out->b)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s: low (%g) must not exceed high (%g)", full, out->a, out->b);
        return false;
    }
    if (!(out->lo <= out->hi)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s: min (%g) must not exceed max (%g)", full, out->lo, out->hi);
        return false;
    }
    return true;
}

/* The values a distribution can take, for checking against a validity
 * range; false for expressions, which are not checked. */
static bool dist_support(const tb_dist *d, double *lo, double *hi)
{
    switch (d->kind) {
    case TB_DIST_CONST: *lo = *hi = d->a; return true;
    case TB_DIST_UNIFORM: *lo = d->a; *hi = d->b; return true;
    case TB_DIST_NORMAL: *lo = d->lo; *hi = d->hi; return true;
    case TB_DIST_LOGNORMAL: *lo = fmax(d->lo, 0.0); *hi = d->hi; return true;
    case TB_DIST_EXPR: return false;
    }
    return false;
}

/* A population parameter must stay inside the plugin's validity range for
 * every neuron: a distribution that could leave it needs min/max bounds. */
static void check_in_range(tb_schema_checker *c, const tb_dist *d, const tb_param_info *pi, const char *full)
{
    double lo, hi;
    if (!dist_support(d, &lo, &hi))
        return;
    bool below = pi->min == TB_POSITIVE ? !(lo > 0.0) : !(lo >= pi->min);
    bool above = !(hi <= pi->max);
    if (d->kind == TB_DIST_CONST && (below || above)) {
        if (pi->min == TB_POSITIVE && below)
            tb_schema_report(c, TB_ERR_SCENARIO, d->pos, "%s must be > 0 (got %g)", full, d->a);
        else if (below)
            tb_schema_report(c, TB_ERR_SCENARIO, d->pos, "%s must be >= %g (got %g)", full, pi->min, d->a);
        else
            tb_schema_report(c, TB_ERR_SCENARIO, d->pos, "%s must be <= %g (got %g)", full, pi->max, d->a);
    } else if (below || above) {
        char range[96];
        if (pi->min == TB_POSITIVE)
            snprintf(range, sizeof range, "> 0%s", isinf(pi->max) ? "" : " and <= max");
        else
            snprintf(range, sizeof range, "[%g, %g]", pi->min, pi->max);
        tb_schema_report(c, TB_ERR_SCENARIO, d->pos,
                         "%s: this distribution can draw values outside the allowed range of %s (%s); bound it "
                         "with min and max",
                         full, pi->name, range);
    }
}

/* ------------------------------------------------------------ populations */

static const char *model_name_of(const tb_spiking_scenario *s, size_t i)
{
    return s->models[i].name;
}

static void model_not_found(tb_schema_checker *c, const tb_spiking_scenario *s, const tb_plugin_registry *reg,
                            const tb_toml_value *mv, const char *prefix, const char *name)
{
    const char *fail = tb_schema_plugin_failure(reg, name);
    if (fail) {
        tb_schema_report(c, TB_ERR_INPUT, mv->pos, "%s.model: plugin '%s' could not be loaded: %s", prefix, name,
                         fail);
        return;
    }
    const tb_plugin *other = tb_plugin_find(reg, NULL, name);
    if (other) {
        tb_schema_report(c, TB_ERR_SCENARIO, mv->pos, "%s.model: '%s' is a %s plugin, not a spiking neuron model",
                         prefix, name, other->kind);
        return;
    }
    size_t n = tb_plugin_count(reg) + s->n_models;
    const char **names = calloc(n + 1, sizeof *names);
    size_t m = 0;
    for (size_t i = 0; i < s->n_models; ++i)
        names[m++] = model_name_of(s, i);
    for (size_t i = 0; names && i < tb_plugin_count(reg); ++i)
        if (strcmp(tb_plugin_at(reg, i)->kind, TB_SPIKING_KIND) == 0)
            names[m++] = tb_plugin_at(reg, i)->name;
    const char *sug = names ? tb_schema_closest(name, names, m) : NULL;
    if (sug)
        tb_schema_report(c, TB_ERR_SCENARIO, mv->pos,
                         "%s.model: no spiking neuron model named '%s'; did you mean '%s'?", prefix, name, sug);
    else
        tb_schema_report(c, TB_ERR_SCENARIO, mv->pos,
                         "%s.model: no spiking neuron model named '%s' (see `twinbrain plugins`, or declare it "
                         "in a [[neuron_model]] table)",
                         prefix, name);
    free(names);
}

/* Index of the model called `name`, adding a plugin's on first use;
 * SIZE_MAX when there is none (reported). */
static size_t find_model(tb_schema_checker *c, tb_spiking_scenario *s, const tb_plugin_registry *reg,
                         const tb_toml_value *mv, const char *prefix)
{
    const char *name = tb_toml_as_string(mv);
    if (!name)
        return SIZE_MAX;
    for (size_t i = 0; i < s->n_models; ++i)
        if (strcmp(s->models[i].name, name) == 0)
            return i;
    const tb_plugin *p = tb_plugin_find(reg, TB_SPIKING_KIND, name);
    if (!p) {
        model_not_found(c, s, reg, mv, prefix, name);
        return SIZE_MAX;
    }
    tb_spk_model *grown = realloc(s->models, (s->n_models + 1) * sizeof *grown);
    if (!grown)
        return SIZE_MAX;
    s->models = grown;
    s->models[s->n_models] = (tb_spk_model){tb_strdup(p->name), p->version, tb_spiking_of(p), p->params, p->n_params,
                                            NULL};
    return s->n_models++;
}

/* `table` (parameters or initial) against the model's names: every value
 * parsed into out[], every default written into the document. */
static void check_values(tb_schema_checker *c, tb_toml_value *table, const char *prefix, const char *const *names,
                         const double *defaults, size_t n, const tb_param_info *ranges, tb_dist *out)
{
    for (size_t i = 0; i < table->u.tab.n; ++i) {
        const tb_toml_kv *kv = &table->u.tab.items[i];
        size_t k = 0;
        while (k < n && strcmp(names[k], kv->key) != 0)
            ++k;
        if (k == n) {
            char *where_ = tb_asprintf("[%s]", prefix);
            tb_schema_unknown(c, kv->pos, kv->key, where_, names, n);
            free(where_);
        }
    }
    for (size_t k = 0; k < n; ++k) {
        tb_toml_value *v = (tb_toml_value *)tb_toml_get(table, names[k]);
        if (!v)
            v = tb_toml_table_set(table, names[k], tb_toml_new_float(defaults[k]))->value;
        char *full = tb_schema_join(prefix, names[k]);
        if (parse_dist(c, v, full, true, &out[k]) && ranges)
            check_in_range(c, &out[k], &ranges[k], full);
        free(full);
    }
}

static void check_pop_values(tb_schema_checker *c, tb_toml_value *t, const char *prefix, const tb_spk_model *m,
                             tb_spk_population *p)
{
    size_t np = m->n_params, nv = m->m->n_vars;
    const char **names = calloc(np + nv + 1, sizeof *names);
    double *defs = calloc(np + nv + 1, sizeof *defs);
    p->params = calloc(np + 1, sizeof *p->params);
    p->initial = calloc(nv + 1, sizeof *p->initial);
    if (!names || !defs || !p->params || !p->initial) {
        free(names);
        free(defs);
        return;
    }
    for (size_t i = 0; i < np; ++i) {
        names[i] = m->params[i].name;
        defs[i] = m->params[i].value;
    }
    for (size_t i = 0; i < nv; ++i) {
        names[np + i] = m->m->vars[i].name;
        defs[np + i] = m->m->vars[i].initial;
    }
    tb_toml_value *pt = tb_schema_ensure_table(t, "parameters");
    tb_toml_value *it = tb_schema_ensure_table(t, "initial");
    char *pp = tb_asprintf("%s.parameters", prefix), *ip = tb_asprintf("%s.initial", prefix);
    if (pt)
        check_values(c, pt, pp, names, defs, np, m->params, p->params);
    if (it)
        check_values(c, it, ip, names + np, defs + np, nv, NULL, p->initial);
    free(pp);
    free(ip);
    free(names);
    free(defs);
}

static bool is_plain_name(tb_schema_checker *c, const tb_toml_value *t, const char *key, const char *prefix)
{
    const tb_toml_value *v = tb_toml_get(t, key);
    const char *s = tb_toml_as_string(v);
    if (s && !tb_is_identifier(s)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s.%s '%s' must be a plain name (letters, digits, '_')", prefix,
                         key, s);
        return false;
    }
    return s != NULL;
}

void tb_spk_check_population(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, size_t idx,
                             const char *where_, const tb_plugin_registry *reg)
{
    char *prefix = where_ ? tb_asprintf("%s", where_) : tb_asprintf("population[%zu]", idx);
    tb_schema_table(c, t, population_keys, N_(population_keys), prefix);
    tb_spk_population *p = &s->pops[s->n_pops++];
    p->pos = t->pos;
    p->model = SIZE_MAX;
    if (is_plain_name(c, t, "name", prefix))
        p->name = tb_schema_get_s(t, "name");
    else
        s->pops_incomplete = true;
    p->size = get_u64(c, t, "size"); /* 0: refused */
    const tb_toml_value *mv = tb_toml_get(t, "model");
    if (mv)
        p->model = find_model(c, s, reg, mv, prefix);
    if (p->model != SIZE_MAX)
        check_pop_values(c, t, prefix, &s->models[p->model], p);
    free(prefix);
}

/* ------------------------------------------------------------ names */

static size_t pop_index(const tb_spiking_scenario *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_pops; ++i)
        if (s->pops[i].name && strcmp(s->pops[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* "unknown population" with a suggestion among populations (and spike_file
 * inputs when they are allowed). */
static void unknown_name(tb_schema_checker *c, const tb_spiking_scenario *s, tb_toml_pos pos, const char *full,
                         const char *name, bool inputs_too)
{
    if (s->pops_incomplete) /* the name may be that of a population reported as wrong */
        return;
    const char **names = calloc(s->n_pops + s->n_inputs + 1, sizeof *names);
    size_t m = 0;
    for (size_t i = 0; names && i < s->n_pops; ++i)
        names[m++] = s->pops[i].name;
    for (size_t i = 0; names && inputs_too && i < s->n_inputs; ++i)
        if (s->inputs[i].kind == TB_INPUT_SPIKE_FILE)
            names[m++] = s->inputs[i].name;
    const char *sug = names ? tb_schema_closest(name, names, m) : NULL;
    tb_buf list = {0};
    for (size_t i = 0; i < m && i < 12; ++i)
        tb_buf_printf(&list, "%s%s", i ? ", " : "", names[i] ? names[i] : "?");
    char *l = tb_buf_take(&list);
    if (sug)
        tb_schema_report(c, TB_ERR_SCENARIO, pos, "%s: no population%s named '%s'; did you mean '%s'?", full,
                         inputs_too ? " or spike_file input" : "", name, sug);
    else
        tb_schema_report(c, TB_ERR_SCENARIO, pos, "%s: no population%s named '%s' (known: %s)", full,
                         inputs_too ? " or spike_file input" : "", name, l ? l : "");
    free(l);
    free(names);
}

/* An array of population names; all when absent (and the default is
 * written into the document). */
static size_t *pop_list(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, const char *key,
                        const char *prefix, size_t *n)
{
    const tb_toml_value *v = tb_toml_get(t, key);
    if (!v) {
        tb_toml_value *arr = tb_toml_new_array();
        for (size_t i = 0; i < s->n_pops; ++i)
            tb_toml_array_push(arr, tb_toml_new_string(s->pops[i].name ? s->pops[i].name : ""));
        v = tb_toml_table_set(t, key, arr)->value;
    }
    *n = 0;
    if (v->type != TB_TOML_ARRAY)
        return NULL;
    size_t *out = calloc(v->u.arr.n + 1, sizeof *out);
    char *full = tb_schema_join(prefix, key);
    if (v->u.arr.n == 0 && !s->pops_incomplete)
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s is empty", full);
    for (size_t i = 0; out && i < v->u.arr.n; ++i) {
        const char *name = tb_toml_as_string(v->u.arr.items[i]);
        size_t k = pop_index(s, name);
        size_t more = k == SIZE_MAX ? tb_spk_brain_template_pops(s, name, NULL) : 0;
        if (more) { /* a template population of [brain]: every region's */
            size_t *grown = realloc(out, (v->u.arr.n + *n + more + 1) * sizeof *out);
            if (!grown)
                break;
            out = grown;
            *n += tb_spk_brain_template_pops(s, name, out + *n);
        } else if (k == SIZE_MAX && name)
            unknown_name(c, s, v->u.arr.items[i]->pos, full, name, false);
        else if (k != SIZE_MAX)
            out[(*n)++] = k;
    }
    free(full);
    return out;
}

/* A port of the target model by name, or by the sign of the weight. */
static int port_of(tb_schema_checker *c, const tb_spiking_scenario *s, size_t pop, const tb_toml_value *t,
                   double weight, const char *prefix)
{
    const tb_spk_population *p = &s->pops[pop];
    if (p->model == SIZE_MAX)
        return -1;
    const tb_spiking_model *m = s->models[p->model].m;
    const tb_toml_value *sv = tb_toml_get(t, "synapse");
    const char *want = tb_toml_as_string(sv);
    if (!want) {
        want = weight >= 0 ? "ex" : "in";
        for (size_t k = 0; k < m->n_ports; ++k)
            if (strcmp(m->ports[k].name, want) == 0)
                return (int)k;
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s needs 'synapse': model '%s' of population '%s' has no "
                                                     "port '%s'",
                         prefix, s->models[p->model].name, p->name, want);
        return -1;
    }
    const char *names[TB_SPIKING_MAX_PORTS] = {0};
    for (size_t k = 0; k < m->n_ports; ++k) {
        names[k] = m->ports[k].name;
        if (strcmp(names[k], want) == 0)
            return (int)k;
    }
    const char *sug = tb_schema_closest(want, names, m->n_ports);
    tb_buf list = {0};
    for (size_t k = 0; k < m->n_ports; ++k)
        tb_buf_printf(&list, "%s%s", k ? ", " : "", names[k]);
    char *l = tb_buf_take(&list);
    tb_schema_report(c, TB_ERR_SCENARIO, sv->pos, "%s.synapse: model '%s' has no port '%s' (ports: %s)%s%s%s", prefix,
                     s->models[p->model].name, want, l ? l : "", sug ? "; did you mean '" : "", sug ? sug : "",
                     sug ? "'?" : "");
    free(l);
    return -1;
}

/* ------------------------------------------------------------ inputs */

static void check_input_fields(tb_schema_checker *c, tb_toml_value *t, const char *prefix, tb_spk_input_kind kind)
{
    static const char *const needs[][3] = {{"rate", "weight", NULL}, {"amplitude", NULL, NULL},
                                           {"mean", "std", NULL},    {"file", NULL, NULL}};
    static const char *const only[][6] = {
        {"rate", "weight", "indegree", "synapse", NULL},
        {"amplitude", "delay", NULL},
        {"mean", "std", NULL},
        {"file", "population", "size", NULL},
    };
    static const char *const specific[] = {"rate", "weight", "indegree", "synapse",    "amplitude", "delay",
                                           "mean", "std",    "file",     "population", "size"};
    for (size_t i = 0; needs[kind][i]; ++i)
        if (!tb_toml_get(t, needs[kind][i]))
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: a %s input needs '%s'", prefix, input_kinds[kind],
                             needs[kind][i]);
    for (size_t i = 0; i < N_(specific); ++i) {
        const tb_toml_kv *kv = tb_toml_get_kv(t, specific[i]);
        if (!kv)
            continue;
        bool allowed = false;
        for (size_t j = 0; only[kind][j]; ++j)
            allowed |= strcmp(only[kind][j], specific[i]) == 0;
        /* indegree has a default, so it is in every document */
        if (!allowed && strcmp(specific[i], "indegree") != 0)
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "%s.%s does not apply to a %s input", prefix, specific[i],
                             input_kinds[kind]);
    }
}

static void check_input(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s, tb_toml_value *t, size_t idx)
{
    char *prefix = tb_asprintf("input[%zu]", idx);
    tb_schema_table(c, t, input_keys, N_(input_keys), prefix);
    tb_spk_input *in = &s->inputs[s->n_inputs++];
    in->pos = t->pos;
    if (is_plain_name(c, t, "name", prefix))
        in->name = tb_schema_get_s(t, "name");
    size_t k = choice_index(input_kinds, tb_toml_as_string(tb_toml_get(t, "kind")));
    if (k >= 4) {
        free(prefix);
        return;
    }
    in->kind = (tb_spk_input_kind)k;
    check_input_fields(c, t, prefix, in->kind);
    in->rate = opt_f(c, t, "rate", 0);
    in->weight = opt_f(c, t, "weight", 0);
    in->indegree = get_u64(c, t, "indegree");
    in->amplitude = opt_f(c, t, "amplitude", 0);
    in->mean = opt_f(c, t, "mean", 0);
    in->std = opt_f(c, t, "std", 0);
    in->start = opt_f(c, t, "start", 0);
    in->stop = opt_f(c, t, "stop", INFINITY);
    in->delay = opt_f(c, t, "delay", 0);
    in->size = get_u64(c, t, "size");
    if (in->kind == TB_INPUT_SPIKE_FILE) {
        if (in->name && pop_index(s, in->name) != SIZE_MAX)
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "name")->pos,
                             "%s.name '%s' is also a population's name; projections could not tell them apart",
                             prefix, in->name);
        const tb_toml_value *fv = tb_toml_get(t, "file");
        const char *f = tb_toml_as_string(fv);
        if (f) {
            char *key = tb_asprintf("%s.file", prefix);
            in->file = tb_scenario_input_path(sc, key, f);
            free(key);
            if (!tb_file_exists(in->file))
                tb_schema_report(c, TB_ERR_INPUT, fv->pos, "%s.file: no such file '%s' (looked for %s)", prefix, f,
                                 in->file);
        }
        in->group = tb_schema_get_s(t, "population");
    } else {
        if (tb_toml_get(t, "file") == NULL && !isnan(in->start) && !isnan(in->stop) && !(in->start < in->stop))
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: start (%g ms) must come before stop (%g ms)", prefix,
                             in->start, in->stop);
        in->targets = pop_list(c, s, t, "targets", prefix, &in->n_targets);
        in->ports = calloc(in->n_targets + 1, sizeof *in->ports);
        for (size_t i = 0; in->kind == TB_INPUT_POISSON && in->ports && i < in->n_targets; ++i)
            in->ports[i] = port_of(c, s, in->targets[i], t, in->weight, prefix);
        for (size_t i = 0; in->kind != TB_INPUT_POISSON && i < in->n_targets; ++i) {
            const tb_spk_population *p = &s->pops[in->targets[i]];
            if (p->model != SIZE_MAX && !s->models[p->model].m->current_unit)
                tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: model '%s' of population '%s' takes no current",
                                 prefix, s->models[p->model].name, p->name);
        }
    }
    free(prefix);
}

/* ------------------------------------------------------------ projections */

static void check_rule_fields(tb_schema_checker *c, const tb_toml_value *t, const char *prefix, tb_spk_rule r)
{
    static const char *const field[] = {NULL, NULL, "p", "indegree", "outdegree", "n", "file"};
    for (size_t k = 2; k < N_(field); ++k) {
        const tb_toml_kv *kv = tb_toml_get_kv(t, field[k]);
        if ((size_t)r == k && !kv)
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: rule %s needs '%s'", prefix, rules[r], field[k]);
        else if ((size_t)r != k && kv)
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "%s.%s applies to rule %s only (this rule is %s)", prefix,
                             field[k], rules[k], rules[r]);
    }
    bool needs_weight = r != TB_RULE_FROM_FILE;
    if (needs_weight && !tb_toml_get(t, "weight"))
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s needs 'weight' (a number or a distribution table)", prefix);
    if (!needs_weight && (tb_toml_get(t, "weight") || tb_toml_get(t, "delay")))
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: rule from_file reads weights and delays from the file",
                         prefix);
}

/* Counts the rule can satisfy, where the sizes are known now (spike_file
 * sources are checked when their file is read). */
static void check_rule_sizes(tb_schema_checker *c, const tb_spiking_scenario *s, const tb_spk_projection *pr,
                             const char *prefix)
{
    if (pr->source.is_input)
        return;
    uint64_t ns = s->pops[pr->source.index].size, nt = s->pops[pr->target].size;
    if (ns == 0 || nt == 0) /* a size reported as wrong */
        return;
    bool same = pr->source.index == pr->target;
    uint64_t avail_s = ns - (same && !pr->autapses), avail_t = nt - (same && !pr->autapses);
    if (pr->rule == TB_RULE_ONE_TO_ONE && ns != nt)
        tb_schema_report(c, TB_ERR_SCENARIO, pr->pos, "%s: one_to_one needs equal sizes (source %llu, target %llu)",
                         prefix, (unsigned long long)ns, (unsigned long long)nt);
    if (pr->rule == TB_RULE_ONE_TO_ONE && same && !pr->autapses)
        tb_schema_report(c, TB_ERR_SCENARIO, pr->pos, "%s: one_to_one within a population makes only autapses, "
                                                      "but allow_autapses = false",
                         prefix);
    if (pr->rule == TB_RULE_FIXED_INDEGREE && !pr->multapses && pr->n > avail_s)
        tb_schema_report(c, TB_ERR_SCENARIO, pr->pos, "%s: indegree %llu without multapses needs as many sources, "
                                                      "but only %llu are available",
                         prefix, (unsigned long long)pr->n, (unsigned long long)avail_s);
    if (pr->rule == TB_RULE_FIXED_OUTDEGREE && !pr->multapses && pr->n > avail_t)
        tb_schema_report(c, TB_ERR_SCENARIO, pr->pos, "%s: outdegree %llu without multapses needs as many targets, "
                                                      "but only %llu are available",
                         prefix, (unsigned long long)pr->n, (unsigned long long)avail_t);
    if ((pr->rule == TB_RULE_FIXED_INDEGREE && pr->n > 0 && avail_s == 0) ||
        (pr->rule == TB_RULE_FIXED_OUTDEGREE && pr->n > 0 && avail_t == 0) ||
        (pr->rule == TB_RULE_FIXED_TOTAL_NUMBER && pr->n > 0 && nt == 1 && same && !pr->autapses))
        tb_schema_report(c, TB_ERR_SCENARIO, pr->pos, "%s: no pair can be connected without autapses", prefix);
}

static void resolve_source(tb_schema_checker *c, const tb_spiking_scenario *s, const tb_toml_value *t,
                           const char *prefix, tb_spk_projection *pr, bool *ok)
{
    const tb_toml_value *sv = tb_toml_get(t, "source");
    const char *name = tb_toml_as_string(sv);
    if (!name) {
        *ok = false;
        return;
    }
    size_t k = pop_index(s, name);
    if (k != SIZE_MAX) {
        pr->source = (tb_spk_source){false, k};
        return;
    }
    for (size_t i = 0; i < s->n_inputs; ++i)
        if (s->inputs[i].name && strcmp(s->inputs[i].name, name) == 0) {
            if (s->inputs[i].kind != TB_INPUT_SPIKE_FILE) {
                tb_schema_report(c, TB_ERR_SCENARIO, sv->pos, "%s.source: input '%s' is a %s input; only spike_file "
                                                              "inputs are sources of projections (a %s input "
                                                              "names its targets itself)",
                                 prefix, name, input_kinds[s->inputs[i].kind], input_kinds[s->inputs[i].kind]);
                *ok = false;
                return;
            }
            pr->source = (tb_spk_source){true, i};
            return;
        }
    char *full = tb_schema_join(prefix, "source");
    unknown_name(c, s, sv->pos, full, name, true);
    free(full);
    *ok = false;
}

void tb_spk_check_projection(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s, tb_toml_value *t,
                             size_t idx, const char *where_)
{
    char *prefix = where_ ? tb_asprintf("%s", where_) : tb_asprintf("projection[%zu]", idx);
    int before = c->n;
    tb_schema_table(c, t, projection_keys, N_(projection_keys), prefix);
    tb_spk_projection *pr = &s->projs[s->n_projs++];
    pr->pos = t->pos;
    pr->port = -1;
    bool ok = c->n == before;
    resolve_source(c, s, t, prefix, pr, &ok);
    const tb_toml_value *tv = tb_toml_get(t, "target");
    pr->target = pop_index(s, tb_toml_as_string(tv));
    if (pr->target == SIZE_MAX && tb_toml_as_string(tv)) {
        char *full = tb_schema_join(prefix, "target");
        unknown_name(c, s, tv->pos, full, tb_toml_as_string(tv), false);
        free(full);
    }
    ok &= pr->target != SIZE_MAX;
    size_t r = choice_index(rules, tb_toml_as_string(tb_toml_get(t, "rule")));
    if (r >= 7) {
        free(prefix);
        return;
    }
    pr->rule = (tb_spk_rule)r;
    check_rule_fields(c, t, prefix, pr->rule);
    pr->p = opt_f(c, t, "p", 0);
    pr->n = get_u64(c, t, pr->rule == TB_RULE_FIXED_INDEGREE ? "indegree"
                       : pr->rule == TB_RULE_FIXED_OUTDEGREE ? "outdegree"
                                                             : "n");
    pr->autapses = get_bool(t, "allow_autapses", true);
    pr->multapses = get_bool(t, "allow_multapses", true);
    if (pr->rule == TB_RULE_FIXED_TOTAL_NUMBER && !pr->multapses)
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, "allow_multapses")->pos,
                         "%s: fixed_total_number draws every synapse independently (with multapses); "
                         "allow_multapses = false is not supported for it",
                         prefix);
    const tb_toml_value *fv = tb_toml_get(t, "file");
    if (pr->rule == TB_RULE_FROM_FILE && tb_toml_as_string(fv)) {
        char *key = tb_asprintf("%s.file", prefix);
        pr->file = tb_scenario_input_path(sc, key, tb_toml_as_string(fv));
        free(key);
        if (!tb_file_exists(pr->file))
            tb_schema_report(c, TB_ERR_INPUT, fv->pos, "%s.file: no such file '%s' (looked for %s)", prefix,
                             tb_toml_as_string(fv), pr->file);
    }
    tb_toml_value *wv = (tb_toml_value *)tb_toml_get(t, "weight");
    char *wfull = tb_schema_join(prefix, "weight"), *dfull = tb_schema_join(prefix, "delay");
    pr->weight = (tb_dist){TB_DIST_CONST, 1.0, 0, -INFINITY, INFINITY, NULL, t->pos};
    bool w_ok = !wv || parse_dist(c, wv, wfull, false, &pr->weight);
    ok &= w_ok;
    if (wv && w_ok) {
        /* synapses hold their weight as a float */
        double lo, hi;
        tb_spk_dist_reach(&pr->weight, &lo, &hi);
        if ((pr->weight.kind == TB_DIST_CONST || pr->weight.kind == TB_DIST_UNIFORM) &&
            !(fabs(lo) <= FLT_MAX && fabs(hi) <= FLT_MAX)) {
            tb_schema_report(c, TB_ERR_SCENARIO, wv->pos,
                             "%s (%g) is beyond single precision: synapses store weights as floats (|w| <= %g)",
                             wfull, fabs(lo) > fabs(hi) ? lo : hi, (double)FLT_MAX);
            ok = false;
        }
    }
    if (pr->rule != TB_RULE_FROM_FILE) {
        tb_toml_value *dv = (tb_toml_value *)tb_toml_get(t, "delay");
        if (!dv)
            dv = tb_toml_table_set(t, "delay", tb_toml_new_float(1.0))->value;
        if (parse_dist(c, dv, dfull, false, &pr->delay)) {
            double lo, hi;
            tb_spk_dist_reach(&pr->delay, &lo, &hi);
            if (pr->delay.kind == TB_DIST_CONST && pr->delay.a < 0)
                tb_schema_report(c, TB_ERR_SCENARIO, dv->pos, "%s must be >= 0 (got %g)", dfull, pr->delay.a);
            else if (sc->dt > 0 && tb_spk_delay_steps(hi, sc->dt) > TB_SPK_MAX_DELAY_STEPS)
                tb_schema_report(c, TB_ERR_SCENARIO, dv->pos,
                                     "%s reaches %g ms, %g steps of %g ms; a run holds delays of at most 2^29 = %d "
                                 "steps (%g ms)",
                                 dfull, hi, hi / sc->dt, sc->dt, TB_SPK_MAX_DELAY_STEPS,
                                 TB_SPK_MAX_DELAY_STEPS * sc->dt);
        }
    }
    free(wfull);
    free(dfull);
    if (ok) {
        double wsign = pr->weight.kind == TB_DIST_UNIFORM ? 0.5 * (pr->weight.a + pr->weight.b) : pr->weight.a;
        if (pr->weight.kind == TB_DIST_LOGNORMAL)
            wsign = 1.0;
        pr->port = port_of(c, s, pr->target, t, wsign, prefix);
        check_rule_sizes(c, s, pr, prefix);
    }
    free(prefix);
}

/* ------------------------------------------------------------ records */

/* A sampling period or bin: whole steps, and no more of them than a run
 * can count (NaN: reported already, the value or dt). */
static void check_sampling(tb_schema_checker *c, const tb_toml_value *v, const char *prefix, const char *key,
                           double ms, double dt)
{
    uint64_t steps;
    if (!(ms > 0) || !(dt > 0))
        return;
    if (!tb_schema_steps(ms, dt, &steps))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s.%s (%g ms) is %g steps of %g ms; at most 2^53 = %.0f", prefix,
                         key, ms, ms / dt, dt, TB_MAX_STEPS);
    else if (!tb_schema_multiple_of_dt(ms, dt))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s.%s (%g ms) must be a whole multiple of simulation.dt (%g ms)",
                         prefix, key, ms, dt);
}

static void check_state_record(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, const char *prefix,
                               double dt, tb_spk_record *r)
{
    const tb_toml_value *pv = tb_toml_get(t, "population");
    if (!pv) {
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: a state record needs 'population'", prefix);
        return;
    }
    r->pop = pop_index(s, tb_toml_as_string(pv));
    if (r->pop == SIZE_MAX) {
        char *full = tb_schema_join(prefix, "population");
        if (tb_toml_as_string(pv))
            unknown_name(c, s, pv->pos, full, tb_toml_as_string(pv), false);
        free(full);
        return;
    }
    const tb_spk_population *p = &s->pops[r->pop];
    if (p->size == 0) /* reported as wrong: no index can be checked against it */
        return;
    const tb_toml_value *nv = tb_toml_get(t, "neurons");
    if (!nv) {
        tb_toml_value *arr = tb_toml_new_array();
        tb_toml_array_push(arr, tb_toml_new_int(0));
        nv = tb_toml_table_set(t, "neurons", arr)->value;
    }
    int64_t count = 1;
    if (tb_toml_as_int(nv, &count)) {
        if (count < 1 || (uint64_t)count > p->size) {
            tb_schema_report(c, TB_ERR_SCENARIO, nv->pos, "%s.neurons: %lld is not a count between 1 and %llu",
                             prefix, (long long)count, (unsigned long long)p->size);
            return;
        }
        r->n_neurons = (size_t)count;
        r->neurons = calloc(r->n_neurons, sizeof *r->neurons);
        for (size_t i = 0; r->neurons && i < r->n_neurons; ++i)
            r->neurons[i] = i;
    } else if (nv->type == TB_TOML_ARRAY && nv->u.arr.n > 0) {
        r->neurons = calloc(nv->u.arr.n, sizeof *r->neurons);
        for (size_t i = 0; r->neurons && i < nv->u.arr.n; ++i) {
            int64_t k = -1;
            if (!tb_toml_as_int(nv->u.arr.items[i], &k) || k < 0 || (uint64_t)k >= p->size) {
                tb_schema_report(c, TB_ERR_SCENARIO, nv->u.arr.items[i]->pos,
                                 "%s.neurons[%zu] must be an index in [0, %llu) of population '%s'", prefix, i,
                                 (unsigned long long)p->size, p->name);
                continue;
            }
            r->neurons[r->n_neurons++] = (uint64_t)k;
        }
    } else {
        tb_schema_report(c, TB_ERR_SCENARIO, nv->pos, "%s.neurons must be a count or a non-empty array of indices",
                         prefix);
    }
    if (p->model == SIZE_MAX)
        return;
    const tb_spiking_model *m = s->models[p->model].m;
    const tb_toml_value *vv = tb_toml_get(t, "variables");
    if (!vv) {
        tb_toml_value *arr = tb_toml_new_array();
        for (size_t v = 0; v < m->n_vars; ++v)
            tb_toml_array_push(arr, tb_toml_new_string(m->vars[v].name));
        vv = tb_toml_table_set(t, "variables", arr)->value;
    }
    if (vv->type != TB_TOML_ARRAY)
        return;
    r->vars = calloc(vv->u.arr.n + 1, sizeof *r->vars);
    const char **names = calloc(m->n_vars + 1, sizeof *names);
    for (size_t v = 0; names && v < m->n_vars; ++v)
        names[v] = m->vars[v].name;
    if (vv->u.arr.n == 0)
        tb_schema_report(c, TB_ERR_SCENARIO, vv->pos, "%s.variables is empty", prefix);
    for (size_t i = 0; r->vars && names && i < vv->u.arr.n; ++i) {
        const char *name = tb_toml_as_string(vv->u.arr.items[i]);
        size_t v = 0;
        while (name && v < m->n_vars && strcmp(names[v], name) != 0)
            ++v;
        if (name && v < m->n_vars) {
            r->vars[r->n_vars++] = v;
            continue;
        }
        const char *sug = name ? tb_schema_closest(name, names, m->n_vars) : NULL;
        if (name)
            tb_schema_report(c, TB_ERR_SCENARIO, vv->u.arr.items[i]->pos,
                             "%s.variables: '%s' is not a state variable of %s%s%s%s", prefix, name,
                             s->models[p->model].name, sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
    }
    free(names);
    const tb_toml_value *per = tb_toml_get(t, "period");
    if (!per)
        per = tb_toml_table_set(t, "period", tb_toml_new_float(dt))->value;
    r->period = tb_schema_num(c, t, "period", NAN);
    check_sampling(c, per, prefix, "period", r->period, dt);
}

static void check_record(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, size_t idx, double dt)
{
    char *prefix = tb_asprintf("record[%zu]", idx);
    tb_schema_table(c, t, record_keys, N_(record_keys), prefix);
    tb_spk_record *r = &s->records[s->n_records++];
    r->pos = t->pos;
    size_t k = choice_index(record_kinds, tb_toml_as_string(tb_toml_get(t, "kind")));
    if (k >= 4) {
        free(prefix);
        return;
    }
    r->kind = (tb_spk_record_kind)k;
    if (!tb_toml_get(t, "name"))
        tb_toml_table_set(t, "name", tb_toml_new_string(record_kinds[k]));
    if (is_plain_name(c, t, "name", prefix))
        r->name = tb_schema_get_s(t, "name");
    static const char *const state_only[] = {"population", "neurons", "variables", "period"};
    for (size_t i = 0; r->kind != TB_RECORD_STATE && i < N_(state_only); ++i)
        if (tb_toml_get(t, state_only[i]))
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, state_only[i])->pos,
                             "%s.%s applies to state records only", prefix, state_only[i]);
    if (r->kind != TB_RECORD_RATES && tb_toml_get(t, "bin"))
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, "bin")->pos, "%s.bin applies to rates records only",
                         prefix);
    if (r->kind == TB_RECORD_STATE) {
        if (tb_toml_get(t, "populations"))
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, "populations")->pos,
                             "%s: a state record samples one 'population'", prefix);
        else
            check_state_record(c, s, t, prefix, dt, r);
        free(prefix);
        return;
    }
    r->pops = pop_list(c, s, t, "populations", prefix, &r->n_pops);
    if (r->kind == TB_RECORD_RATES) {
        const tb_toml_value *bv = tb_toml_get(t, "bin");
        if (!bv)
            bv = tb_toml_table_set(t, "bin", tb_toml_new_float(1.0))->value;
        r->period = tb_schema_num(c, t, "bin", NAN);
        check_sampling(c, bv, prefix, "bin", r->period, dt);
    }
    free(prefix);
}

/* ------------------------------------------------------------ entry */

static size_t count_tables(tb_toml_value *arr)
{
    return arr ? arr->u.arr.n : 0;
}

static bool is_table(const tb_toml_value *v)
{
    return v->type == TB_TOML_TABLE;
}


typedef struct used_name {
    const char *name;
    size_t index;
} used_name;

static int by_name_then_index(const void *a, const void *b)
{
    const used_name *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->index > y->index) - (x->index < y->index);
}

/* Names used twice among the tables of one kind, each later use reported
 * against the first: one sorted pass, so 40,000 populations check at once. */
static void report_reused(tb_schema_checker *c, const tb_toml_value *tables, const char *kind,
                          const char *(*name_of)(const tb_spiking_scenario *, size_t), const tb_spiking_scenario *s,
                          size_t n)
{
    used_name *u = calloc(n + 1, sizeof *u);
    size_t *at = calloc(n + 1, sizeof *at); /* entry k came from table at[k] (non-tables are skipped) */
    for (size_t i = 0, k = 0; at && i < tables->u.arr.n && k < n; ++i)
        if (is_table(tables->u.arr.items[i]))
            at[k++] = i;
    if (!at) {
        free(u);
        return;
    }
    size_t m = 0;
    for (size_t i = 0; u && i < n; ++i)
        if (name_of(s, i))
            u[m++] = (used_name){name_of(s, i), i};
    if (u)
        qsort(u, m, sizeof *u, by_name_then_index);
    for (size_t i = 1, first = 0; u && i < m; ++i) {
        if (strcmp(u[i].name, u[first].name) != 0) {
            first = i;
            continue;
        }
        const tb_toml_value *t = tables->u.arr.items[at[u[i].index]];
        const tb_toml_value *nv = tb_toml_get(t, "name");
        tb_schema_report(c, TB_ERR_SCENARIO, nv ? nv->pos : t->pos, "%s[%zu].name '%s' is already used by %s[%zu]",
                         kind, at[u[i].index], u[i].name, kind, at[u[first].index]);
    }
    free(u);
    free(at);
}

/* The [[population]] tables' populations come after the brain's. */
static const char *pop_name(const tb_spiking_scenario *s, size_t i)
{
    return s->pops[tb_spk_brain_pops(s) + i].name;
}
static const char *input_name(const tb_spiking_scenario *s, size_t i) { return s->inputs[i].name; }
static const char *record_name(const tb_spiking_scenario *s, size_t i) { return s->records[i].name; }

void tb_spiking_check(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    tb_spiking_scenario *s = calloc(1, sizeof *s);
    if (!s)
        return;
    sc->kit_data = s;
    tb_toml_value *root = sc->doc;
    tb_toml_value *models = tables_of(root, "neuron_model"), *pops = tables_of(root, "population");
    tb_toml_value *projs = tables_of(root, "projection"), *inputs = tables_of(root, "input");
    tb_toml_value *recs = tables_of(root, "record");
    /* entries that are not tables are reported by the top level's check
     * and skipped here: nothing reads them */
    for (size_t i = 0; i < count_tables(models); ++i)
        if (is_table(models->u.arr.items[i]))
            tb_spiking_declared_add(c, s, models->u.arr.items[i], i, reg);
    tb_toml_value *brain = (tb_toml_value *)tb_toml_get(root, "brain");
    tb_toml_value *assim = (tb_toml_value *)tb_toml_get(root, TB_ASSIMILATION_KEY);
    /* a free run on a fitted brain: the filter is not run */
    bool fitting = assim != NULL;
    if (assim && tb_spk_brain_is_fitted(brain)) {
        tb_toml_table_remove(root, TB_ASSIMILATION_KEY);
        assim = NULL;
    }
    if (assim && assim->type == TB_TOML_TABLE)
        s->assim = tb_spk_assim_open(c, sc, assim);
    size_t brain_pops = 0, brain_projs = 0;
    if (brain)
        tb_spk_brain_open(c, sc, s, brain, s->assim ? s->assim->a->members : 1, &brain_pops, &brain_projs);
    s->pops = calloc(count_tables(pops) + brain_pops + 1, sizeof *s->pops);
    s->inputs = calloc(count_tables(inputs) + 1, sizeof *s->inputs);
    s->projs = calloc(count_tables(projs) + brain_projs + 1, sizeof *s->projs);
    s->records = calloc(count_tables(recs) + 1, sizeof *s->records);
    if (!s->pops || !s->inputs || !s->projs || !s->records)
        return;
    if (s->brain)
        tb_spk_brain_parameters_from(c, sc, s, brain, reg, fitting);
    if (s->brain)
        tb_spk_brain_populations(c, s, reg);
    for (size_t i = 0; i < count_tables(pops); ++i)
        if (is_table(pops->u.arr.items[i]))
            tb_spk_check_population(c, s, pops->u.arr.items[i], i, NULL, reg);
        else
            s->pops_incomplete = true;
    if (pops)
        report_reused(c, pops, "population", pop_name, s, s->n_pops - tb_spk_brain_pops(s));
    if (pops && s->brain)
        tb_spk_brain_check_pop_names(c, s, pops);
    if (pops && pops->u.arr.n == 0 && !brain)
        tb_schema_report(c, TB_ERR_SCENARIO, pops->pos, "population is empty: declare at least one [[population]]");
    if (!pops && !brain)
        tb_schema_report(c, TB_ERR_SCENARIO, (tb_toml_pos){1, 1},
                         "a spiking scenario needs [[population]] tables or a [brain] section");
    /* neurons are numbered with 32 bits across populations (spike files'
     * sources come on top, checked when they are read) */
    uint64_t neurons = 0;
    for (size_t i = 0; i < s->n_pops; ++i)
        if ((neurons += s->pops[i].size) > UINT32_MAX) {
            tb_schema_report(c, TB_ERR_SCENARIO, s->pops[i].pos,
                             "population '%s' brings the neurons to %llu; a run holds at most %u neurons and spike "
                             "sources",
                             s->pops[i].name ? s->pops[i].name : "?", (unsigned long long)neurons, UINT32_MAX);
            break;
        }
    /* the device knows each neuron's population by a 16-bit index */
    if (s->n_pops > 65535)
        tb_schema_report(c, TB_ERR_SCENARIO, s->pops[65535].pos,
                         "%zu populations; a run holds at most 65535 (a [brain] makes regions x templates, times "
                         "assimilation.members)",
                         s->n_pops);
    for (size_t i = 0; i < count_tables(inputs); ++i)
        if (is_table(inputs->u.arr.items[i]))
            check_input(c, sc, s, inputs->u.arr.items[i], i);
    if (inputs)
        report_reused(c, inputs, "input", input_name, s, s->n_inputs);
    if (s->brain)
        tb_spk_brain_projections(c, sc, s);
    for (size_t i = 0; i < count_tables(projs); ++i)
        if (is_table(projs->u.arr.items[i]))
            tb_spk_check_projection(c, sc, s, projs->u.arr.items[i], i, NULL);
    for (size_t i = 0; i < count_tables(recs); ++i)
        if (is_table(recs->u.arr.items[i]))
            check_record(c, s, recs->u.arr.items[i], i, sc->dt);
    if (recs)
        report_reused(c, recs, "record", record_name, s, s->n_records);
    tb_spk_brain_check_names(c, s);
    if (s->assim)
        tb_spk_assim_check(c, s, assim, brain != NULL);
}

static void free_dists(tb_dist *d, size_t n)
{
    for (size_t i = 0; d && i < n; ++i)
        free(d[i].expr);
    free(d);
}

void tb_spiking_scenario_free(tb_spiking_scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_pops; ++i) {
        tb_spk_population *p = &s->pops[i];
        const tb_spk_model *m = p->model != SIZE_MAX ? &s->models[p->model] : NULL;
        free_dists(p->params, m ? m->n_params : 0);
        free_dists(p->initial, m ? m->m->n_vars : 0);
        free(p->name);
    }
    for (size_t i = 0; i < s->n_projs; ++i) {
        tb_spk_wiring_free(s->projs[i].wiring);
        free(s->projs[i].file);
        free(s->projs[i].weight.expr);
        free(s->projs[i].delay.expr);
    }
    for (size_t i = 0; i < s->n_inputs; ++i) {
        free(s->inputs[i].name);
        free(s->inputs[i].targets);
        free(s->inputs[i].ports);
        free(s->inputs[i].file);
        free(s->inputs[i].group);
    }
    for (size_t i = 0; i < s->n_records; ++i) {
        free(s->records[i].name);
        free(s->records[i].pops);
        free(s->records[i].neurons);
        free(s->records[i].vars);
    }
    for (size_t i = 0; i < s->n_models; ++i) {
        free(s->models[i].name);
        tb_spiking_declared_free(s->models[i].declared);
    }
    free(s->models);
    free(s->pops);
    free(s->projs);
    free(s->inputs);
    free(s->records);
    tb_spk_brain_free(s->brain);
    tb_spk_assim_free(s->assim);
    free(s);
}

void tb_spiking_list_keys(tb_buf *b)
{
    tb_spiking_declared_list_keys(b);
    tb_schema_list_keys(b, "population", population_keys, N_(population_keys));
    tb_schema_list_keys(b, "projection", projection_keys, N_(projection_keys));
    tb_schema_list_keys(b, "input", input_keys, N_(input_keys));
    tb_schema_list_keys(b, "record", record_keys, N_(record_keys));
    tb_spk_brain_list_keys(b);
    tb_spk_assim_list_keys(b);
    tb_schema_list_keys(b, "distribution", normal_keys, 3);
    tb_schema_list_keys(b, "distribution", normal_keys + 3, 2);
    tb_schema_list_keys(b, "distribution", uniform_keys + 1, 2);
    tb_schema_list_keys(b, "distribution", lognormal_keys + 1, 2);
    tb_schema_list_keys(b, "distribution", expr_keys, 1);
}

void tb_spiking_free_scenario(void *kit_data)
{
    tb_spiking_scenario_free(kit_data);
}
