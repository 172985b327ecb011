/* [brain]: a spiking network per region of a structural connectome.
 *
 * The section is expanded at check time into ordinary populations (one per
 * region and template entry, named <region>_<template>) and projections
 * (the template's local rules once per region), so generation, inputs,
 * recorders and the output work on it unchanged. Between regions, one
 * projection per `connectome` rule spans every region: a neuron of target
 * region j draws round(indegree x w_ji / W) sources, uniformly among
 * region i's neurons of the source template, for every source region i,
 * with the delay rint(length_ji / speed / dt) steps; W is the largest
 * total input weight of a region, so the most strongly driven region
 * gets `indegree` long-range synapses per neuron (docs/brain.md). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "brain.h"
#include "twinbrain/connectome.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const size_rules[] = {"none", "areas", NULL};
static const char *const monitor_kinds[] = {"region_rates", "bold", "lfp", "edge_spikes", NULL};

static const tb_key_spec brain_keys[] = {
    {"connectome", KT_STRING, true,
     .doc = "HDF5 connectome (docs/formats.md): one region per row, weights row = target; relative to the "
            "scenario's folder"},
    {"speed", KT_FLOAT, false, 3.0, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "conduction speed in mm/ms (= m/s): inter-region delays are tract length / speed, to the step"},
    {"neurons", KT_INT, .min = 1, .max = 2147483647.0,
     .doc = "neurons of an average region, shared among the templates by their `fraction`"},
    {"size_by", KT_STRING, false, .def_s = "none", .has_def = true, .choices = size_rules,
     .doc = "none (every region has `neurons`) or areas (proportional to the connectome's /areas, mean `neurons`)"},
    {"population", KT_TABLES, true, .doc = "the populations of every region, as [[brain.population]] tables"},
    {"projection", KT_TABLES,
     .doc = "rules within every region, and rule = \"connectome\" between regions, as [[brain.projection]] tables"},
    {"monitor", KT_TABLES, .doc = "per-region rates, BOLD and LFP proxies, as [[brain.monitor]] tables"},
    {"parameters_from", KT_STRING,
     .doc = "output of a run with [assimilation] over this brain: the fitted parameter (the final ensemble mean "
            "per region) is set in the templates it was fitted in, and this scenario's [assimilation] is not run "
            "(a free run on the fitted brain, perturbations on top)"},
};

static const tb_key_spec monitor_keys[] = {
    {"name", KT_STRING, .doc = "dataset name under /monitors/; default the kind"},
    {"kind", KT_STRING, true, .choices = monitor_kinds,
     .doc = "region_rates (each region's firing rate, Hz), bold (Balloon-Windkessel driven by that rate), lfp "
            "(the sum of the absolute synaptic currents of the region's neurons, Mazzoni et al. 2008) or "
            "edge_spikes (per connectome edge and bin, the synaptic events and the source spikes it carries)"},
    {"populations", KT_STRINGS,
     .doc = "template populations pooled in each region; default all (edge_spikes: every synapse between two "
            "regions counts; not allowed)"},
    {"period", KT_FLOAT, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "ms, a multiple of dt: region_rates' and edge_spikes' bin (default 1.0), bold's sampling period "
            "(default 2000), lfp's (default 1.0)"},
    {"variables", KT_STRINGS,
     .doc = "lfp: the state variables whose absolute values are summed over the region's neurons; default "
            "[\"I_syn_ex\", \"I_syn_in\"] (the synaptic currents of iaf_psc_exp)"},
    {"parameters", KT_TABLE,
     .doc = "bold: Balloon-Windkessel constants as the mass kit's bold monitor; scale defaults to 0.01 per Hz"},
};

static const tb_key_spec template_keys[] = {
    {"name", KT_STRING, true, .doc = "the template's name: population <region>_<name> in each region"},
    {"model", KT_STRING, true, .doc = "a spiking plugin or a [[neuron_model]] of the file"},
    {"size", KT_INT, .min = 1, .max = 2147483647.0, .doc = "neurons in each region"},
    {"fraction", KT_FLOAT, .min = 0, .max = 1, .min_excl = true,
     .doc = "share of brain.neurons (instead of size), rounded to the nearest neuron, at least 1"},
    {"parameters", KT_TABLE,
     .doc = "as population.parameters, or an array of one number per region of the connectome (region r's "
            "population gets the r-th)"},
    {"initial", KT_TABLE, .doc = "as population.initial"},
};

/* Only for listing: a connectome projection's own keys (the local rules
 * take every key of [[projection]]). */
static const tb_key_spec connectome_rule_keys[] = {
    {"source", KT_STRING, true, .doc = "a template population (region i's neurons of it are the sources)"},
    {"target", KT_STRING, true, .doc = "a template population"},
    {"rule", KT_STRING, true,
     .doc = "connectome (between regions, from the connectome's weights and tract lengths) or any rule of "
            "[[projection]] (within each region)"},
    {"indegree", KT_INT, .min = 0, .max = 4294967295.0,
     .doc = "connectome: long-range synapses onto a neuron of the region with the largest total input weight"},
    {"weight", KT_ANY, .doc = "a number or a distribution table"},
    {"synapse", KT_STRING, .doc = "port of the target's model"},
};

void tb_spk_wiring_free(tb_spk_wiring *w)
{
    if (!w)
        return;
    free(w->eptr);
    free(w->esrc);
    free(w->ecount);
    free(w->edelay);
    free(w);
}

void tb_spk_brain_free(tb_spk_brain *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->R; ++i) {
        free(b->labels ? b->labels[i] : NULL);
        free(b->names ? b->names[i] : NULL);
    }
    for (size_t i = 0; i < b->T; ++i)
        free(b->templates[i]);
    for (size_t i = 0; i < b->n_clones; ++i)
        tb_toml_free(b->clones[i]);
    for (size_t i = 0; i < b->n_monitors; ++i) {
        free(b->monitors[i].name);
        free(b->monitors[i].templates);
        for (size_t v = 0; v < b->monitors[i].n_variables; ++v)
            free(b->monitors[i].variables[v]);
        free(b->monitors[i].variables);
        free(b->monitors[i].var_index);
    }
    free(b->monitors);
    free(b->clones);
    free(b->labels);
    free(b->names);
    free(b->templates);
    free(b->sizes);
    free(b->scale);
    free(b->weights);
    free(b->lengths);
    free(b->file);
    free(b);
}

/* A label as a plain name: other characters become '_', and a leading
 * digit gets an 'r'. */
static char *plain_name(const char *label)
{
    size_t n = strlen(label);
    char *out = malloc(n + 2), *o = out;
    if (!out)
        return NULL;
    if (n == 0 || (label[0] >= '0' && label[0] <= '9'))
        *o++ = 'r';
    for (size_t i = 0; i < n; ++i) {
        char ch = label[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        *o++ = ok ? ch : '_';
    }
    *o = '\0';
    return out;
}

typedef struct named {
    const char *name;
} named;

/* Region names: the labels as plain names, or r000, r001, ... when two
 * labels would give the same name. */
static bool region_names(tb_spk_brain *b)
{
    b->names = calloc(b->R + 1, sizeof *b->names);
    named *rec = calloc(b->R + 1, sizeof *rec);
    bool ok = b->names && rec;
    for (size_t i = 0; ok && i < b->R; ++i)
        ok = (rec[i].name = b->names[i] = plain_name(b->labels[i])) != NULL;
    tb_error e = {0};
    if (ok && tb_names_unique(rec, b->R, sizeof *rec, 0, "region", "", &e) != TB_OK) {
        for (size_t i = 0; i < b->R; ++i) {
            free(b->names[i]);
            ok &= (b->names[i] = tb_asprintf("r%03zu", i)) != NULL;
        }
    }
    tb_error_clear(&e);
    free(rec);
    return ok;
}

static bool read_connectome(tb_schema_checker *c, tb_scenario *sc, tb_spk_brain *b, const tb_toml_value *brain)
{
    const tb_toml_value *fv = tb_toml_get(brain, "connectome");
    const char *rel = tb_toml_as_string(fv);
    if (!rel || tb_schema_refused(c, fv))
        return false;
    b->file = tb_scenario_input_path(sc, "brain.connectome", rel);
    tb_connectome *cn = NULL;
    tb_error e = {0};
    if (!tb_file_exists(b->file)) {
        tb_schema_report(c, TB_ERR_INPUT, fv->pos, "brain.connectome: no such file '%s' (looked for %s)", rel,
                         b->file);
        return false;
    }
    if (tb_connectome_read(b->file, &cn, &e) != TB_OK) {
        tb_schema_report(c, e.status, fv->pos, "brain.connectome: %s", e.message ? e.message : "unreadable");
        tb_error_clear(&e);
        return false;
    }
    b->R1 = cn->n;
    b->R = b->R1 * b->members;
    b->labels = calloc(b->R + 1, sizeof *b->labels);
    for (size_t i = 0; b->labels && i < b->R; ++i) {
        const char *lab = cn->labels[i % b->R1];
        b->labels[i] = b->members > 1 ? tb_asprintf("m%zu_%s", i / b->R1, lab) : tb_strdup(lab);
    }
    b->weights = cn->weights, cn->weights = NULL;
    b->lengths = cn->tract_lengths, cn->tract_lengths = NULL;
    double *areas = cn->areas;
    cn->areas = NULL;
    const char *by = tb_toml_as_string(tb_toml_get(brain, "size_by"));
    bool by_area = by && strcmp(by, "areas") == 0;
    if (by_area && !areas)
        tb_schema_report(c, TB_ERR_INPUT, tb_toml_get(brain, "size_by")->pos,
                         "brain.size_by = \"areas\", but %s has no /areas", b->file);
    double mean = 0;
    for (size_t i = 0; areas && i < b->R1; ++i)
        mean += areas[i] / (double)b->R1;
    tb_connectome_free(cn);
    /* each region's share of the average region's neurons */
    b->scale = malloc((b->R + 1) * sizeof *b->scale);
    for (size_t i = 0; b->scale && i < b->R; ++i)
        b->scale[i] = by_area && areas && mean > 0 ? areas[i % b->R1] / mean : 1.0;
    free(areas);
    bool labelled = b->labels != NULL;
    for (size_t i = 0; labelled && i < b->R; ++i)
        labelled = b->labels[i] != NULL;
    return labelled && b->scale && region_names(b);
}

static bool template_sizes(tb_schema_checker *c, tb_spk_brain *b, const tb_toml_value *brain)
{
    const double *scale = b->scale;
    b->sizes = calloc(b->T * b->R + 1, sizeof *b->sizes);
    int64_t neurons = tb_schema_int(c, brain, "neurons", 0);
    bool ok = b->sizes != NULL;
    for (size_t t = 0; ok && t < b->T; ++t) {
        const tb_toml_value *tt = b->pop_tables->u.arr.items[t];
        const tb_toml_kv *sz = tb_toml_get_kv(tt, "size"), *fr = tb_toml_get_kv(tt, "fraction");
        if ((sz != NULL) == (fr != NULL)) {
            tb_schema_report(c, TB_ERR_SCENARIO, tt->pos, "brain.population[%zu] needs one of 'size' and 'fraction'",
                             t);
            ok = false;
            break;
        }
        if (fr && neurons <= 0) {
            tb_schema_report(c, TB_ERR_SCENARIO, fr->pos, "brain.population[%zu].fraction needs brain.neurons", t);
            ok = false;
            break;
        }
        double f = fr ? tb_schema_num(c, tt, "fraction", NAN) : NAN;
        int64_t n = sz ? tb_schema_int(c, tt, "size", 0) : 0;
        if ((fr && !isfinite(f)) || (sz && n <= 0)) {
            ok = false;
            break;
        }
        for (size_t r = 0; r < b->R; ++r) {
            double want = fr ? floor(f * (double)neurons * scale[r] + 0.5) : (double)n;
            b->sizes[t * b->R + r] = want < 1 ? 1 : want > 2147483647.0 ? 2147483647u : (uint64_t)want;
        }
    }
    return ok;
}

static bool check_templates(tb_schema_checker *c, tb_spk_brain *b)
{
    tb_toml_value *pt = b->pop_tables;
    b->T = pt ? pt->u.arr.n : 0;
    b->templates = calloc(b->T + 1, sizeof *b->templates);
    if (!b->templates)
        return false;
    bool ok = b->T > 0;
    if (pt && b->T == 0)
        tb_schema_report(c, TB_ERR_SCENARIO, pt->pos, "brain.population is empty: declare at least one");
    for (size_t t = 0; t < b->T; ++t) {
        tb_toml_value *tt = pt->u.arr.items[t];
        char *prefix = tb_asprintf("brain.population[%zu]", t);
        ok &= tb_schema_table(c, tt, template_keys, N_(template_keys), prefix);
        const tb_toml_value *nv = tb_toml_get(tt, "name");
        const char *name = tb_toml_as_string(nv);
        if (name && !tb_is_identifier(name)) {
            tb_schema_report(c, TB_ERR_SCENARIO, nv->pos, "%s.name '%s' must be a plain name (letters, digits, '_')",
                             prefix, name);
            ok = false;
        }
        for (size_t u = 0; name && u < t; ++u)
            if (b->templates[u] && strcmp(b->templates[u], name) == 0) {
                tb_schema_report(c, TB_ERR_SCENARIO, nv->pos, "%s.name '%s' is already used by brain.population[%zu]",
                                 prefix, name, u);
                ok = false;
            }
        b->templates[t] = name ? tb_strdup(name) : NULL;
        ok &= name != NULL;
        free(prefix);
    }
    return ok;
}

static const char *rule_of(const tb_toml_value *t)
{
    return tb_toml_as_string(tb_toml_get(t, "rule"));
}

static size_t template_index(const tb_spk_brain *b, const char *name);

/* lfp's variables (names only: the models are known after the
 * populations, check_lfp_models). */
static void check_lfp_variables(tb_schema_checker *c, tb_spk_brain_monitor *m, tb_toml_value *t, const char *prefix)
{
    const tb_toml_value *vv = tb_toml_get(t, "variables");
    if (m->kind != TB_BRAIN_LFP) {
        if (vv)
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, "variables")->pos,
                             "%s.variables applies to lfp monitors only", prefix);
        return;
    }
    if (!vv) {
        tb_toml_value *arr = tb_toml_new_array();
        tb_toml_array_push(arr, tb_toml_new_string("I_syn_ex"));
        tb_toml_array_push(arr, tb_toml_new_string("I_syn_in"));
        vv = tb_toml_table_set(t, "variables", arr)->value;
    }
    m->var_pos = vv->pos;
    size_t n = vv->type == TB_TOML_ARRAY ? vv->u.arr.n : 0;
    if (vv->type == TB_TOML_ARRAY && n == 0)
        tb_schema_report(c, TB_ERR_SCENARIO, vv->pos, "%s.variables is empty", prefix);
    m->variables = calloc(n + 1, sizeof *m->variables);
    for (size_t i = 0; m->variables && i < n; ++i)
        if (tb_toml_as_string(vv->u.arr.items[i]))
            m->variables[m->n_variables++] = tb_strdup(tb_toml_as_string(vv->u.arr.items[i]));
}

static bool check_monitor(tb_schema_checker *c, tb_spk_brain *b, tb_toml_value *t, size_t k, double dt)
{
    char *prefix = tb_asprintf("brain.monitor[%zu]", k);
    int before = c->n;
    tb_schema_table(c, t, monitor_keys, N_(monitor_keys), prefix);
    tb_spk_brain_monitor *m = &b->monitors[b->n_monitors++];
    const char *kind = tb_toml_as_string(tb_toml_get(t, "kind"));
    m->kind = kind && strcmp(kind, "bold") == 0          ? TB_BRAIN_BOLD
              : kind && strcmp(kind, "lfp") == 0         ? TB_BRAIN_LFP
              : kind && strcmp(kind, "edge_spikes") == 0 ? TB_BRAIN_EDGE_SPIKES
                                                         : TB_BRAIN_REGION_RATES;
    if (!tb_toml_get(t, "name") && kind)
        tb_toml_table_set(t, "name", tb_toml_new_string(kind));
    const tb_toml_value *nv = tb_toml_get(t, "name");
    if (tb_toml_as_string(nv) && !tb_is_identifier(tb_toml_as_string(nv)))
        tb_schema_report(c, TB_ERR_SCENARIO, nv->pos, "%s.name '%s' must be a plain name (letters, digits, '_')",
                         prefix, tb_toml_as_string(nv));
    m->name = tb_schema_get_s(t, "name");
    m->pos = nv ? nv->pos : t->pos;
    const tb_toml_value *pv = tb_toml_get(t, "populations");
    if (pv && m->kind == TB_BRAIN_EDGE_SPIKES)
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, "populations")->pos,
                         "%s.populations does not apply to edge_spikes (every synapse between two regions counts)",
                         prefix);
    if (!pv && m->kind != TB_BRAIN_EDGE_SPIKES) {
        tb_toml_value *arr = tb_toml_new_array();
        for (size_t i = 0; i < b->T; ++i)
            tb_toml_array_push(arr, tb_toml_new_string(b->templates[i]));
        pv = tb_toml_table_set(t, "populations", arr)->value;
    }
    size_t n = pv && pv->type == TB_TOML_ARRAY ? pv->u.arr.n : 0;
    m->templates = calloc(n + 1, sizeof *m->templates);
    if (pv && pv->type == TB_TOML_ARRAY && n == 0)
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "%s.populations is empty", prefix);
    for (size_t i = 0; m->templates && i < n; ++i) {
        const char *name = tb_toml_as_string(pv->u.arr.items[i]);
        size_t ti = template_index(b, name);
        if (ti == SIZE_MAX && name)
            tb_schema_report(c, TB_ERR_SCENARIO, pv->u.arr.items[i]->pos,
                             "%s.populations: no template population named '%s'", prefix, name);
        else if (ti != SIZE_MAX)
            m->templates[m->n_templates++] = ti;
    }
    const tb_toml_value *per = tb_toml_get(t, "period");
    if (!per)
        per = tb_toml_table_set(t, "period", tb_toml_new_float(m->kind == TB_BRAIN_BOLD ? 2000.0 : 1.0))->value;

    m->period = tb_schema_num(c, t, "period", NAN);
    uint64_t steps;
    if (isfinite(m->period) && dt > 0 &&
        (!tb_schema_multiple_of_dt(m->period, dt) || !tb_schema_steps(m->period, dt, &steps)))
        tb_schema_report(c, TB_ERR_SCENARIO, per->pos, "%s.period (%g ms) must be a whole multiple of simulation.dt "
                         "(%g ms)", prefix, m->period, dt);
    check_lfp_variables(c, m, t, prefix);
    if (m->kind == TB_BRAIN_BOLD)
        tb_bold_check(c, t, prefix, 0.01, &m->bold);
    else if (tb_toml_get(t, "parameters"))
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get_kv(t, "parameters")->pos,
                         "%s.parameters applies to bold monitors only", prefix);
    free(prefix);
    return c->n == before;
}

void tb_spk_brain_open(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s, tb_toml_value *brain,
                       size_t members, size_t *n_pops, size_t *n_projs)
{
    *n_pops = *n_projs = 0;
    int before = c->n;
    if (!tb_schema_table(c, brain, brain_keys, N_(brain_keys), "brain") || c->n != before)
        return;
    tb_spk_brain *b = calloc(1, sizeof *b);
    if (!b)
        return;
    b->members = members ? members : 1;
    b->speed = tb_schema_num(c, brain, "speed", 3.0);
    b->pop_tables = (tb_toml_value *)tb_toml_get(brain, "population");
    b->proj_tables = (tb_toml_value *)tb_toml_get(brain, "projection");
    bool ok = read_connectome(c, sc, b, brain);
    ok = check_templates(c, b) && ok;
    ok = ok && template_sizes(c, b, brain);
    for (size_t i = 0; ok && b->proj_tables && i < b->proj_tables->u.arr.n; ++i) {
        const tb_toml_value *pt = b->proj_tables->u.arr.items[i];
        if (pt->type != TB_TOML_TABLE) {
            tb_schema_report(c, TB_ERR_SCENARIO, pt->pos, "brain.projection[%zu] must be a table", i);
            ok = false;
        }
        const char *r = pt->type == TB_TOML_TABLE ? rule_of(pt) : NULL;
        *n_projs += r && strcmp(r, "connectome") == 0 ? 1 : b->R;
    }
    tb_toml_value *mons = (tb_toml_value *)tb_toml_get(brain, "monitor");
    size_t nm = mons ? mons->u.arr.n : 0;
    b->monitors = calloc(nm + 1, sizeof *b->monitors);
    ok = ok && b->monitors;
    for (size_t i = 0; ok && i < nm; ++i)
        if (mons->u.arr.items[i]->type == TB_TOML_TABLE)
            ok = check_monitor(c, b, mons->u.arr.items[i], i, sc->dt);
    if (!ok) {
        tb_spk_brain_free(b);
        *n_projs = 0;
        s->pops_incomplete = true; /* names of the brain's populations are unknown */
        return;
    }
    *n_pops = b->T * b->R;
    s->brain = b;
}

static tb_toml_value *keep_clone(tb_spk_brain *b, const tb_toml_value *t)
{
    if (!tb_grow((void **)&b->clones, &b->cap_clones, b->n_clones, sizeof *b->clones))
        return NULL;
    tb_toml_value *v = tb_toml_clone(t);
    if (v)
        b->clones[b->n_clones++] = v;
    return v;
}

static char *pop_name(const tb_spk_brain *b, size_t t, size_t r)
{
    return tb_asprintf("%s_%s", b->names[r], b->templates[t]);
}

/* Per-region arrays in a template's parameters become region r's number
 * (member copies share the connectome region's: r mod R1). */
static bool region_values(tb_schema_checker *c, const tb_spk_brain *b, tb_toml_value *v, size_t t, size_t r)
{
    tb_toml_value *pt = (tb_toml_value *)tb_toml_get(v, "parameters");
    for (size_t i = 0; pt && pt->type == TB_TOML_TABLE && i < pt->u.tab.n; ++i) {
        tb_toml_kv *kv = &pt->u.tab.items[i];
        tb_toml_value *a = kv->value;
        if (a->type != TB_TOML_ARRAY)
            continue;
        bool ok = a->u.arr.n == b->R1;
        double x = 0;
        for (size_t k = 0; ok && k < a->u.arr.n; ++k)
            ok = tb_toml_as_double(a->u.arr.items[k], &x);
        if (!ok) {
            tb_schema_report(c, TB_ERR_SCENARIO, a->pos,
                             "brain.population[%zu].parameters.%s: an array gives one number per region of "
                             "brain.connectome (%zu), not %zu values",
                             t, kv->key, b->R1, a->u.arr.n);
            return false;
        }
        tb_toml_as_double(a->u.arr.items[r % b->R1], &x);
        tb_toml_value *nv = tb_toml_new_float(x);
        if (!nv)
            return false;
        nv->pos = a->pos;
        kv->value = nv;
        tb_toml_free(a);
    }
    return true;
}

void tb_spk_brain_populations(tb_schema_checker *c, tb_spiking_scenario *s, const tb_plugin_registry *reg)
{
    tb_spk_brain *b = s->brain;
    for (size_t t = 0; t < b->T; ++t)
        for (size_t r = 0; r < b->R; ++r) {
            tb_toml_value *v = keep_clone(b, b->pop_tables->u.arr.items[t]);
            char *name = pop_name(b, t, r);
            char *where_ = tb_asprintf("brain.population[%zu] (region %s)", t, b->labels[r]);
            if (!v || !name || !where_ || !region_values(c, b, v, t, r)) {
                free(name), free(where_);
                s->pops_incomplete = true;
                return;
            }
            tb_toml_table_remove(v, "fraction");
            tb_toml_table_set(v, "size", tb_toml_new_int((int64_t)b->sizes[t * b->R + r]));
            tb_toml_table_set(v, "name", tb_toml_new_string(name));
            int before = c->n;
            tb_spk_check_population(c, s, v, s->n_pops, where_, reg);
            free(name);
            free(where_);
            if (c->n != before) { /* the template is wrong: once is enough */
                s->pops_incomplete = true;
                return;
            }
        }
}

static size_t template_index(const tb_spk_brain *b, const char *name)
{
    for (size_t t = 0; name && t < b->T; ++t)
        if (strcmp(b->templates[t], name) == 0)
            return t;
    return SIZE_MAX;
}

static bool template_end(tb_schema_checker *c, const tb_spk_brain *b, const tb_toml_value *pt, const char *key,
                         size_t k, size_t *out)
{
    const tb_toml_value *v = tb_toml_get(pt, key);
    const char *name = tb_toml_as_string(v);
    *out = template_index(b, name);
    if (*out != SIZE_MAX)
        return true;
    if (name) {
        const char *sug = tb_schema_closest(name, (const char *const *)b->templates, b->T);
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "brain.projection[%zu].%s: no template population named '%s'%s%s%s",
                         k, key, name, sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
    } else
        tb_schema_report(c, TB_ERR_SCENARIO, v ? v->pos : pt->pos, "brain.projection[%zu] needs '%s' (a string)", k,
                         key);
    return false;
}

/* The edges between regions for `indegree` synapses onto a neuron of the
 * most strongly driven region; NULL with a report when a delay is beyond
 * what a run holds. */
static tb_spk_wiring *wire(tb_schema_checker *c, const tb_spk_brain *b, uint64_t K, double dt, tb_toml_pos pos,
                           size_t k)
{
    size_t R = b->R, R1 = b->R1;
    double W = 0;
    for (size_t j = 0; j < R1; ++j) {
        double in = 0;
        for (size_t i = 0; i < R1; ++i)
            in += i != j ? b->weights[j * R1 + i] : 0;
        W = in > W ? in : W;
    }
    tb_spk_wiring *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->R = R;
    w->eptr = calloc(R + 1, sizeof *w->eptr);
    size_t cap = 0, E = 0;
    w->dmin = INT32_MAX, w->dmax = 1;
    for (size_t j = 0; w->eptr && j < R; ++j) {
        /* only within j's copy of the connectome: no edge between members */
        size_t i0 = j / R1 * R1, jj = j % R1;
        for (size_t i = i0; W > 0 && i < i0 + R1; ++i) {
            size_t e = jj * R1 + i % R1;
            double m = i != j ? floor((double)K * b->weights[e] / W + 0.5) : 0;
            if (m < 1)
                continue;
            int64_t d = tb_spk_delay_steps(b->lengths[e] / b->speed, dt);
            if (d > TB_SPK_MAX_DELAY_STEPS) {
                tb_schema_report(c, TB_ERR_SCENARIO, pos,
                                 "brain.projection[%zu]: the tract %s -> %s (%g mm at %g mm/ms) is longer than the "
                                 "2^29 steps a run holds",
                                 k, b->labels[i], b->labels[j], b->lengths[e], b->speed);
                tb_spk_wiring_free(w);
                return NULL;
            }
            if (E == cap) {
                cap = cap ? 2 * cap : 1024;
                uint32_t *s2 = realloc(w->esrc, cap * 4), *c2 = s2 ? (w->esrc = s2, realloc(w->ecount, cap * 4)) : NULL;
                int32_t *d2 = c2 ? (w->ecount = c2, realloc(w->edelay, cap * 4)) : NULL;
                if (!d2) {
                    tb_spk_wiring_free(w);
                    return NULL;
                }
                w->edelay = d2;
            }
            w->esrc[E] = (uint32_t)i;
            w->ecount[E] = m > 4294967295.0 ? 4294967295u : (uint32_t)m;
            w->edelay[E] = (int32_t)d;
            w->dmin = (int32_t)d < w->dmin ? (int32_t)d : w->dmin;
            w->dmax = (int32_t)d > w->dmax ? (int32_t)d : w->dmax;
            ++E;
        }
        w->eptr[j + 1] = (uint32_t)E;
    }
    if (!w->eptr) {
        tb_spk_wiring_free(w);
        return NULL;
    }
    if (E == 0)
        w->dmin = 1;
    return w;
}

/* A connectome rule, checked as a fixed_indegree projection between the
 * first region's populations (weight, port, keys), then widened to every
 * region with its wiring. */
static void connectome_projection(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s,
                                  const tb_toml_value *pt, size_t k)
{
    tb_spk_brain *b = s->brain;
    size_t ts, tt;
    bool ok = template_end(c, b, pt, "source", k, &ts);
    ok = template_end(c, b, pt, "target", k, &tt) && ok;
    static const char *const not_here[] = {"delay", "allow_autapses", "allow_multapses", "p", "outdegree", "n",
                                           "file"};
    for (size_t i = 0; i < N_(not_here); ++i) {
        const tb_toml_kv *kv = tb_toml_get_kv(pt, not_here[i]);
        if (kv) {
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos,
                             "brain.projection[%zu].%s does not apply to rule connectome (delays come from tract "
                             "lengths / brain.speed; sources are drawn with multapses)",
                             k, not_here[i]);
            ok = false;
        }
    }
    if (!tb_toml_get(pt, "indegree")) {
        tb_schema_report(c, TB_ERR_SCENARIO, pt->pos, "brain.projection[%zu]: rule connectome needs 'indegree'", k);
        ok = false;
    }
    tb_toml_value *v = ok ? keep_clone(b, pt) : NULL;
    if (!v) {
        s->pops_incomplete = true;
        return;
    }
    char *src = pop_name(b, ts, 0), *tgt = pop_name(b, tt, 0), *where_ = tb_asprintf("brain.projection[%zu]", k);
    tb_toml_table_set(v, "source", tb_toml_new_string(src ? src : ""));
    tb_toml_table_set(v, "target", tb_toml_new_string(tgt ? tgt : ""));
    tb_toml_table_set(v, "rule", tb_toml_new_string("fixed_indegree"));
    free(src), free(tgt);
    int before = c->n;
    size_t at = s->n_projs;
    tb_spk_check_projection(c, sc, s, v, at, where_);
    free(where_);
    tb_toml_table_remove(v, "delay"); /* the check's default: not this rule's */
    if (c->n != before || s->n_projs != at + 1)
        return;
    tb_spk_projection *pr = &s->projs[at];
    pr->rule = TB_RULE_CONNECTOME;
    pr->source.index = tb_spk_brain_pop(b, ts, 0);
    pr->target = tb_spk_brain_pop(b, tt, 0);
    pr->span = b->R;
    pr->wiring = wire(c, b, pr->n, sc->dt, pt->pos, k);
    if (pr->wiring)
        pr->delay = (tb_dist){TB_DIST_CONST, pr->wiring->dmin * sc->dt, 0, -INFINITY, INFINITY, NULL, pt->pos};
}

static void local_projection(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s, const tb_toml_value *pt,
                             size_t k)
{
    tb_spk_brain *b = s->brain;
    size_t ts, tt;
    bool ok = template_end(c, b, pt, "source", k, &ts);
    if (!(template_end(c, b, pt, "target", k, &tt) && ok))
        return;
    for (size_t r = 0; r < b->R; ++r) {
        tb_toml_value *v = keep_clone(b, pt);
        char *src = pop_name(b, ts, r), *tgt = pop_name(b, tt, r);
        char *where_ = tb_asprintf("brain.projection[%zu] (region %s)", k, b->labels[r]);
        if (!v || !src || !tgt || !where_) {
            free(src), free(tgt), free(where_);
            return;
        }
        tb_toml_table_set(v, "source", tb_toml_new_string(src));
        tb_toml_table_set(v, "target", tb_toml_new_string(tgt));
        free(src), free(tgt);
        int before = c->n;
        tb_spk_check_projection(c, sc, s, v, s->n_projs, where_);
        free(where_);
        if (c->n != before)
            return;
    }
}

void tb_spk_brain_projections(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s)
{
    tb_spk_brain *b = s->brain;
    if (s->n_pops < b->T * b->R) /* a template was refused */
        return;
    for (size_t k = 0; b->proj_tables && k < b->proj_tables->u.arr.n; ++k) {
        const tb_toml_value *pt = b->proj_tables->u.arr.items[k];
        const char *r = rule_of(pt);
        if (r && strcmp(r, "connectome") == 0)
            connectome_projection(c, sc, s, pt, k);
        else
            local_projection(c, sc, s, pt, k);
    }
}

size_t tb_spk_brain_template_pops(const tb_spiking_scenario *s, const char *name, size_t *out)
{
    const tb_spk_brain *b = s->brain;
    size_t t = b ? template_index(b, name) : SIZE_MAX;
    if (t == SIZE_MAX || s->n_pops < b->T * b->R)
        return 0;
    for (size_t r = 0; out && r < b->R; ++r)
        out[r] = tb_spk_brain_pop(b, t, r);
    return b->R;
}

int64_t tb_spk_brain_region_of(const tb_spiking_scenario *s, size_t p)
{
    const tb_spk_brain *b = s->brain;
    return b && p < b->T * b->R ? (int64_t)(p % b->R) : -1;
}

size_t tb_spk_brain_pops(const tb_spiking_scenario *s)
{
    const tb_spk_brain *b = s->brain;
    size_t n = b ? b->T * b->R : 0;
    return n < s->n_pops ? n : s->n_pops;
}

typedef struct pop_ref {
    const char *name;
    size_t index;
} pop_ref;

static int by_name(const void *x, const void *y)
{
    const pop_ref *a = x, *b = y;
    int d = strcmp(a->name, b->name);
    return d ? d : (a->index > b->index) - (a->index < b->index);
}

void tb_spk_brain_check_pop_names(tb_schema_checker *c, const tb_spiking_scenario *s, const tb_toml_value *tables)
{
    size_t nb = tb_spk_brain_pops(s), m = 0;
    pop_ref *u = calloc(s->n_pops + 1, sizeof *u);
    for (size_t i = 0; u && i < s->n_pops; ++i)
        if (s->pops[i].name)
            u[m++] = (pop_ref){s->pops[i].name, i};
    if (!u)
        return;
    qsort(u, m, sizeof *u, by_name);
    size_t k = 0;
    for (size_t i = 1; i < m; ++i) {
        if (strcmp(u[i].name, u[i - 1].name) != 0)
            continue;
        if (u[i].index < nb) { /* region "A_B" with template "C", region "A" with "B_C" */
            tb_schema_report(c, TB_ERR_SCENARIO, s->pops[u[i].index].pos,
                             "[brain] makes two populations named '%s' (region and template names joined by '_'); "
                             "rename a template",
                             u[i].name);
            continue;
        }
        size_t user = u[i].index - nb, t = 0;
        for (k = 0; k < tables->u.arr.n; ++k)
            if (tables->u.arr.items[k]->type == TB_TOML_TABLE && t++ == user)
                break;
        const tb_toml_value *tv = k < tables->u.arr.n ? tables->u.arr.items[k] : tables;
        const tb_toml_value *nv = tb_toml_get(tv, "name");
        if (u[i - 1].index < nb)
            tb_schema_report(c, TB_ERR_SCENARIO, nv ? nv->pos : tv->pos,
                             "population[%zu].name '%s' is already the name of a [brain] population", k, u[i].name);
    }
    free(u);
}

/* Each lfp variable in the model of each pooled template. */
static void check_lfp_models(tb_schema_checker *c, const tb_spiking_scenario *s, tb_spk_brain_monitor *m, size_t i)
{
    const tb_spk_brain *b = s->brain;
    m->var_index = calloc(m->n_templates * m->n_variables + 1, sizeof *m->var_index);
    for (size_t j = 0; m->var_index && j < m->n_templates; ++j) {
        const tb_spk_population *p = &s->pops[tb_spk_brain_pop(b, m->templates[j], 0)];
        const tb_spk_model *md = p->model < s->n_models ? &s->models[p->model] : NULL;
        if (!md || !md->m)
            continue; /* an unknown model: reported */
        for (size_t v = 0; v < m->n_variables; ++v) {
            size_t x = 0;
            while (x < md->m->n_vars && strcmp(md->m->vars[x].name, m->variables[v]) != 0)
                ++x;
            if (x == md->m->n_vars)
                tb_schema_report(c, TB_ERR_SCENARIO, m->var_pos,
                                 "brain.monitor[%zu].variables: model '%s' of template '%s' has no state variable "
                                 "'%s'", i, md->name, b->templates[m->templates[j]], m->variables[v]);
            m->var_index[j * m->n_variables + v] = x;
        }
    }
}

void tb_spk_brain_check_names(tb_schema_checker *c, const tb_spiking_scenario *s)
{
    const tb_spk_brain *b = s->brain;
    for (size_t i = 0; b && i < b->n_monitors; ++i)
        if (b->monitors[i].kind == TB_BRAIN_LFP && s->n_pops >= b->T * b->R)
            check_lfp_models(c, s, &b->monitors[i], i);
    for (size_t i = 0; b && i < b->n_monitors; ++i) {
        const char *name = b->monitors[i].name;
        for (size_t j = 0; name && j < i; ++j)
            if (b->monitors[j].name && strcmp(b->monitors[j].name, name) == 0)
                tb_schema_report(c, TB_ERR_SCENARIO, b->monitors[i].pos,
                                 "brain.monitor[%zu].name '%s' is already used by brain.monitor[%zu]", i, name, j);
        for (size_t j = 0; name && j < s->n_records; ++j) {
            const tb_spk_record *r = &s->records[j];
            if ((r->kind == TB_RECORD_RATES || r->kind == TB_RECORD_STATE) && r->name && strcmp(r->name, name) == 0)
                tb_schema_report(c, TB_ERR_SCENARIO, b->monitors[i].pos,
                                 "brain.monitor[%zu].name '%s' is already used by record[%zu] (/monitors/%s)", i,
                                 name, j, name);
        }
    }
}

void tb_spk_brain_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, "brain", brain_keys, N_(brain_keys));
    tb_schema_list_keys(b, "brain.population", template_keys, N_(template_keys));
    tb_schema_list_keys(b, "brain.projection", connectome_rule_keys, N_(connectome_rule_keys));
    tb_schema_list_keys(b, "brain.monitor", monitor_keys, N_(monitor_keys));
}
