/* The perturbation layer: [[perturbation]] entries in any kit's scenario,
 * plugins of the perturbation kind, and the layer table the driver calls
 * (core/layer.h). The plan (perturb_plan.c) and its application
 * (perturb_apply.c) live beside it. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perturb_internal.h"
#include "twinbrain/perturb.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const tb_key_spec sections[] = {
    {"perturbation", KT_TABLES,
     .doc = "perturbations applied during the run: lesions, stimulation, drugs, disease (docs/perturbations.md)"},
};

/* The keys of every entry; a plugin's target sets are added to them. */
static const tb_key_spec entry_keys[] = {
    {"plugin", KT_STRING, true, .doc = "name of a perturbation plugin (twinbrain plugins)"},
    {"name", KT_STRING, .doc = "its name in the output (/perturbations/NAME); default: the plugin's, numbered "
                               "when several entries use it"},
    {"at", KT_FLOAT, .min = 0, .max = INFINITY, .doc = "ms: when it takes effect (rounded to the nearest step)"},
    {"from", KT_FLOAT, .min = 0, .max = INFINITY, .doc = "ms: when it starts (same as at)"},
    {"until", KT_FLOAT, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "ms: when it ends and the unperturbed values return; default: the end of the run"},
    {"ramp", KT_FLOAT, false, 0, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "ms: a scaling grows linearly to its full effect over this time from `from` (in up to 100 steps)"},
    {"fraction", KT_FLOAT, false, 1, .has_def = true, .min = 0, .max = 1, .min_excl = true,
     .doc = "the fraction of each targeted population's neurons that is perturbed (the first ones)"},
    {"parameters", KT_TABLE, .doc = "the plugin's parameters (twinbrain plugins NAME)"},
    {"sweep", KT_TABLE, .doc = "parameters of the plugin with one value per instance ({ dose = [0.1, 1.0, 10.0] }): "
                               "a dose or frequency sweep in one run"},
    {"each", KT_BOOL, .doc = "true: one instance per element of the first target set, perturbed alone (a virtual "
                             "lesion of each region in one run); default false"},
};

/* The target keys the shipped plugins use, documented here so that
 * `check --keys` lists them; a plugin may declare others. */
static const tb_key_spec set_docs[] = {
    {"targets", KT_ANY, .doc = "regions (labels or indices) or populations (names) perturbed, or \"all\""},
    {"to", KT_ANY, .doc = "lesion: with targets, cut the edges from targets into these (both directions with "
                            "`both`)"},
    {"zone", KT_ANY, .doc = "epileptogenic_zone: the epileptogenic zone's regions"},
    {"propagation_zone", KT_ANY, .doc = "epileptogenic_zone: the propagation zone's regions"},
    {"seed", KT_ANY, .doc = "neurodegeneration: the regions where the pathology starts"},
};

static void list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, "perturbation", entry_keys, N_(entry_keys));
    tb_schema_list_keys(b, "perturbation", set_docs, N_(set_docs));
}

const char *tb_perturb_op_name(unsigned op)
{
    switch (op) {
    case TB_OP_EDGES: return "scale edges";
    case TB_OP_PARAM: return "set a parameter";
    case TB_OP_STATE: return "set state";
    case TB_OP_SILENCE: return "silence units";
    case TB_OP_INPUT: return "add an input";
    }
    return "unknown operation";
}

/* ------------------------------------------------------------ plugins */

static tb_status check_plugin(const tb_plugin *p, const char *file, tb_error *err)
{
    const tb_perturbation *t = p->table;
    if (t->head.version != TB_PERTURB_TABLE_VERSION || t->head.size != sizeof(tb_perturbation))
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: perturbation table version %u size %u; this twinbrain has version %u size %zu: "
                            "rebuild the plugin",
                            file, (unsigned)t->head.version, (unsigned)t->head.size, TB_PERTURB_TABLE_VERSION,
                            sizeof(tb_perturbation));
    if (!t->plan)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a perturbation plugin needs a plan function", file);
    size_t n = 0;
    while (t->sets && t->sets[n])
        ++n;
    if (n == 0 || n > PT_MAX_SETS || t->n_required_sets > n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a perturbation plugin names 1 to %d target keys (sets), and "
                            "at most that many required", file, PT_MAX_SETS);
    for (size_t i = 0; i < n; ++i)
        for (size_t k = 0; k < N_(entry_keys); ++k)
            if (!tb_is_identifier(t->sets[i]) || strcmp(t->sets[i], entry_keys[k].name) == 0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: target key '%s' is not an identifier or is taken by "
                                    "[[perturbation]] itself", file, t->sets[i]);
    if (t->needs & ~(TB_OP_EDGES | TB_OP_PARAM | TB_OP_STATE | TB_OP_SILENCE | TB_OP_INPUT))
        return tb_error_set(err, TB_ERR_INPUT, "%s: `needs` has bits that name no operation", file);
    return TB_OK;
}

static void plugin_text(const tb_plugin *p, tb_buf *b)
{
    const tb_perturbation *t = p->table;
    tb_buf_puts(b, "targets:");
    for (size_t i = 0; t->sets[i]; ++i)
        tb_buf_printf(b, " %s%s", t->sets[i], i < t->n_required_sets ? " (required)" : "");
    tb_buf_puts(b, "\nneeds of a kit:");
    for (unsigned op = 1; op <= TB_OP_INPUT; op <<= 1)
        if (t->needs & op)
            tb_buf_printf(b, " %s;", tb_perturb_op_name(op));
    tb_buf_puts(b, "\n");
}

/* ------------------------------------------------------------ scenario */

static void free_data(void *data)
{
    tb_perturb_data *d = data;
    if (!d)
        return;
    tb_perturb_clear_events(d);
    for (size_t i = 0; i < d->n; ++i)
        free(d->entries[i].name);
    free(d->entries);
    free(d);
}

/* A plugin's own parameters: numbers in range, strings of its choices. */
static void check_params(tb_schema_checker *c, tb_toml_value *tab, const tb_plugin *p, const char *prefix)
{
    const char **names = calloc(p->n_params + 1, sizeof *names);
    for (size_t k = 0; names && k < p->n_params; ++k)
        names[k] = p->params[k].name;
    for (size_t i = 0; names && i < tab->u.tab.n; ++i) {
        const tb_toml_kv *kv = &tab->u.tab.items[i];
        size_t k = 0;
        while (k < p->n_params && strcmp(p->params[k].name, kv->key) != 0)
            ++k;
        char *where_ = tb_asprintf("[%s]", prefix);
        if (k == p->n_params)
            tb_schema_unknown(c, kv->pos, kv->key, where_, names, p->n_params);
        free(where_);
        if (k == p->n_params)
            continue;
        const tb_param_info *q = &p->params[k];
        char *full = tb_schema_join(prefix, kv->key);
        const tb_toml_value *v = kv->value;
        bool str = q->type == TB_PARAM_STRING || q->type == TB_PARAM_PATH;
        if (str && v->type != TB_TOML_STRING)
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be a string", full);
        else if (q->type == TB_PARAM_STRINGS && v->type != TB_TOML_ARRAY)
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be an array of strings", full);
        else if (q->type == TB_PARAM_STRINGS) {
            for (size_t j = 0; j < v->u.arr.n; ++j)
                if (v->u.arr.items[j]->type != TB_TOML_STRING)
                    tb_schema_report(c, TB_ERR_SCENARIO, v->u.arr.items[j]->pos, "%s[%zu] must be a string", full,
                                     j);
        } else if (!str && !tb_schema_numbers(c, v, full, q->min, q->max, q->min == TB_POSITIVE))
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be a number, not %s", full,
                             tb_toml_type_name(v->type));
        if (q->type == TB_PARAM_STRING && q->choices && v->type == TB_TOML_STRING) {
            size_t n = 0;
            while (q->choices[n] && strcmp(q->choices[n], v->u.s.ptr) != 0)
                ++n;
            if (!q->choices[n])
                tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s: \"%s\" is not one of its choices", full,
                                 v->u.s.ptr);
        }
        free(full);
    }
    /* defaults into the document, so the resolved scenario is complete */
    for (size_t k = 0; k < p->n_params; ++k) {
        const tb_param_info *q = &p->params[k];
        if (tb_toml_get(tab, q->name))
            continue;
        if (q->type == TB_PARAM_REAL || q->type == TB_PARAM_INT)
            tb_toml_table_set(tab, q->name, tb_toml_new_float(q->value));
        else if (q->value_s)
            tb_toml_table_set(tab, q->name, tb_toml_new_string(q->value_s));
        else if (q->type != TB_PARAM_STRINGS && q->type != TB_PARAM_REALS)
            tb_schema_report(c, TB_ERR_SCENARIO, tab->pos, "%s.%s is required (%s)", prefix, q->name, q->doc);
    }
    free(names);
}

static const tb_plugin *find_plugin(tb_schema_checker *c, const tb_plugin_registry *reg, const tb_toml_value *pv)
{
    const char *name = tb_toml_as_string(pv);
    const tb_plugin *p = name ? tb_plugin_find(reg, TB_PERTURB_KIND, name) : NULL;
    if (p || !name)
        return p;
    const char *why = tb_schema_plugin_failure(reg, name);
    size_t n = tb_plugin_count(reg), m = 0;
    const char **cands = calloc(n + 1, sizeof *cands);
    for (size_t i = 0; cands && i < n; ++i)
        if (strcmp(tb_plugin_at(reg, i)->kind, TB_PERTURB_KIND) == 0)
            cands[m++] = tb_plugin_at(reg, i)->name;
    const char *sug = cands ? tb_schema_closest(name, cands, m) : NULL;
    if (why)
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "perturbation.plugin: '%s' did not load: %s", name, why);
    else
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "perturbation.plugin: no perturbation plugin '%s'%s%s%s",
                         name, sug ? "; did you mean '" : " (twinbrain plugins lists them)", sug ? sug : "",
                         sug ? "'?" : "");
    free(cands);
    return NULL;
}

static char *entry_name(const tb_toml_value *t, const tb_plugin *p, size_t index)
{
    const char *n = tb_toml_as_string(tb_toml_get(t, "name"));
    return n ? tb_strdup(n) : tb_asprintf("%s_%zu", p->name, index);
}

static void check_times(tb_schema_checker *c, const tb_scenario *sc, const tb_toml_value *t, pt_entry *e)
{
    const tb_toml_value *at = tb_toml_get(t, "at"), *from = tb_toml_get(t, "from"), *until = tb_toml_get(t, "until");
    if (at && from)
        tb_schema_report(c, TB_ERR_SCENARIO, from->pos, "perturbation: give `at` or `from`, not both");
    const tb_toml_value *start = at ? at : from;
    e->from = start ? tb_schema_num(c, t, at ? "at" : "from", 0) : 0;
    e->from_pos = start ? start->pos : e->pos;
    e->until = tb_schema_num(c, t, "until", INFINITY);
    e->until_pos = until ? until->pos : e->pos;
    e->ramp = tb_schema_num(c, t, "ramp", 0);
    e->fraction = tb_schema_num(c, t, "fraction", 1);
    if (!(sc->duration > 0))
        return;
    if (e->from >= sc->duration)
        tb_schema_report(c, TB_ERR_SCENARIO, e->from_pos,
                         "perturbation '%s': it starts at %g ms, outside the run (0 to %g ms)", e->name, e->from,
                         sc->duration);
    if (until && isfinite(e->until) && e->until > sc->duration)
        tb_schema_report(c, TB_ERR_SCENARIO, until->pos,
                         "perturbation '%s': until = %g ms is after the run's end (%g ms)", e->name, e->until,
                         sc->duration);
    if (until && e->until <= e->from)
        tb_schema_report(c, TB_ERR_SCENARIO, until->pos,
                         "perturbation '%s': until = %g ms is not after its start (%g ms)", e->name, e->until,
                         e->from);
    if (e->ramp > 0 && e->from + e->ramp > (isfinite(e->until) ? e->until : sc->duration))
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "ramp")->pos,
                         "perturbation '%s': the ramp (%g ms from %g ms) outlasts it", e->name, e->ramp, e->from);
}

/* each = true: the run gets one instance per element of the first target
 * set; a [sweep] beside it must have as many (they go together, zipped). */
static void check_each(tb_schema_checker *c, tb_scenario *sc, const tb_toml_value *t, pt_entry *e)
{
    const tb_toml_value *v = tb_toml_get(t, "each");
    e->each = v && v->type == TB_TOML_BOOL && v->u.b && !tb_schema_refused(c, v);
    if (!e->each)
        return;
    const tb_kit_ops *ops = sc->kit->ops;
    if (!ops || !ops->instances) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "perturbation '%s': each = true makes one instance per "
                         "target, and %s scenarios run one instance", e->name, sc->kit->name);
        return;
    }
    size_t n = e->sets[0] && e->sets[0]->type == TB_TOML_ARRAY ? e->sets[0]->u.arr.n : 0;
    if (e->sets[0] && e->sets[0]->type == TB_TOML_STRING) { /* "all": as many as the kit has groups */
        tb_unit_group *g = NULL;
        size_t units = 0;
        tb_error gerr = {0};
        if (ops->groups(sc, &g, &n, &units, &gerr) != TB_OK)
            n = 0;
        for (size_t i = 0; g && i < n; ++i)
            free(g[i].name);
        free(g);
        tb_error_clear(&gerr);
        if (n == 0)
            return; /* the kit's own check says why its inputs cannot be read */
    }
    if (n == 0)
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "perturbation '%s': each = true needs targets in `%s`",
                         e->name, e->kind->sets[0]);
    else if (sc->n_instances == 1)
        sc->n_instances = n;
    else if (sc->n_instances != n)
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "perturbation '%s': each = true makes %zu instances, but the "
                         "run already has %zu (a [sweep], or another entry with each): give as many", e->name, n,
                         sc->n_instances);
}

/* The run's instances: n, the same for every entry that makes them. */
static void set_instances(tb_schema_checker *c, tb_scenario *sc, tb_toml_pos pos, const char *name, size_t n)
{
    if (sc->n_instances == 1)
        sc->n_instances = n;
    else if (sc->n_instances != n)
        tb_schema_report(c, TB_ERR_SCENARIO, pos, "perturbation '%s': its sweep makes %zu instances, but the run "
                         "already has %zu (a [sweep], or another entry's): give as many", name, n, sc->n_instances);
}

/* sweep = { PARAM = [values] }: numeric parameters of the plugin, one value
 * per instance, in range, all of one length. */
static void check_sweep(tb_schema_checker *c, tb_scenario *sc, const tb_toml_value *t, pt_entry *e)
{
    const tb_toml_value *sw = tb_toml_get(t, "sweep");
    if (!sw || sw->type != TB_TOML_TABLE || tb_schema_refused(c, sw) || sw->u.tab.n == 0)
        return;
    if (e->each) {
        tb_schema_report(c, TB_ERR_SCENARIO, sw->pos, "perturbation '%s': give `each` or `sweep`, not both",
                         e->name);
        return;
    }
    if (!sc->kit->ops || !sc->kit->ops->instances) {
        tb_schema_report(c, TB_ERR_SCENARIO, sw->pos, "perturbation '%s': a sweep makes several instances, and %s "
                         "scenarios run one instance", e->name, sc->kit->name);
        return;
    }
    size_t n = 0, before = (size_t)c->n;
    for (size_t i = 0; i < sw->u.tab.n; ++i) {
        const tb_toml_kv *kv = &sw->u.tab.items[i];
        const tb_param_info *q = NULL;
        for (size_t k = 0; k < e->plugin->n_params; ++k)
            if (strcmp(e->plugin->params[k].name, kv->key) == 0)
                q = &e->plugin->params[k];
        char *full = tb_asprintf("perturbation.sweep.%s", kv->key);
        if (!q || (q->type != TB_PARAM_REAL && q->type != TB_PARAM_INT))
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "%s: plugin '%s' has no numeric parameter '%s'", full,
                             e->plugin->name, kv->key);
        else if (kv->value->type != TB_TOML_ARRAY || kv->value->u.arr.n == 0)
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos, "%s: give one value per instance (an array)",
                             full);
        else if (tb_schema_numbers(c, kv->value, full, q->min, q->max, q->min == TB_POSITIVE) &&
                 n && kv->value->u.arr.n != n)
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos, "%s has %zu values, the others %zu", full,
                             kv->value->u.arr.n, n);
        else if (kv->value->type == TB_TOML_ARRAY)
            n = kv->value->u.arr.n;
        free(full);
    }
    if ((size_t)c->n != before || n == 0)
        return;
    e->sweep = sw;
    e->n_sweep = n;
    set_instances(c, sc, sw->pos, e->name, n);
}

static void check_entry(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg,
                        tb_toml_value *t, size_t index, pt_entry *e)
{
    e->pos = t->pos;
    const tb_plugin *p = find_plugin(c, reg, tb_toml_get(t, "plugin"));
    size_t ns = 0;
    const tb_perturbation *kind = p ? p->table : NULL;
    while (kind && kind->sets[ns])
        ++ns;
    /* an unknown plugin's target keys are not known either: the shipped
     * plugins' stand in, so only the plugin's name is reported */
    size_t nk = kind ? ns : N_(set_docs);
    tb_key_spec *specs = calloc(N_(entry_keys) + nk + 1, sizeof *specs);
    if (!specs)
        return;
    memcpy(specs, entry_keys, sizeof entry_keys);
    for (size_t i = 0; i < nk; ++i)
        specs[N_(entry_keys) + i] = kind ? (tb_key_spec){kind->sets[i], KT_ANY, i < kind->n_required_sets,
                                                         .doc = "target set"}
                                         : set_docs[i];
    tb_schema_table(c, t, specs, N_(entry_keys) + nk, "perturbation");
    free(specs);
    if (!p)
        return;
    e->plugin = p;
    e->kind = kind;
    e->name = entry_name(t, p, index);
    e->n_sets = ns;
    for (size_t i = 0; i < ns; ++i) {
        const tb_toml_value *v = tb_toml_get(t, kind->sets[i]);
        bool all = v && v->type == TB_TOML_STRING && strcmp(v->u.s.ptr, "all") == 0;
        if (v && v->type != TB_TOML_ARRAY && !all) {
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos,
                             "perturbation.%s: give an array of %ss (names or indices), or \"all\"",
                             kind->sets[i], sc->kit->ops ? sc->kit->ops->group_noun : "target");
            v = NULL;
        }
        e->sets[i] = v && !tb_schema_refused(c, v) ? v : NULL;
    }
    check_times(c, sc, t, e);
    check_each(c, sc, t, e);
    check_sweep(c, sc, t, e);
    tb_toml_value *params = tb_schema_ensure_table(t, "parameters");
    if (params && params->type == TB_TOML_TABLE) {
        char *prefix = tb_asprintf("perturbation.parameters");
        check_params(c, params, p, prefix);
        free(prefix);
    }
    e->params = params;
}

/* Names are unique: they are the output's group names. */
static void check_names(tb_schema_checker *c, tb_perturb_data *d)
{
    for (size_t i = 0; i < d->n; ++i)
        for (size_t j = 0; j < i; ++j)
            if (d->entries[i].name && d->entries[j].name && strcmp(d->entries[i].name, d->entries[j].name) == 0)
                tb_schema_report(c, TB_ERR_SCENARIO, d->entries[i].pos,
                                 "perturbation: two entries are named '%s' (line %d); give each its own `name`",
                                 d->entries[i].name, d->entries[j].pos.line);
}

static void check_scenario(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg, void **data)
{
    *data = NULL;
    tb_toml_value *arr = (tb_toml_value *)tb_toml_get(sc->doc, "perturbation");
    if (!arr || arr->type != TB_TOML_ARRAY || arr->u.arr.n == 0)
        return; /* a wrong type is reported by the top-level check */
    tb_perturb_data *d = calloc(1, sizeof *d);
    if (d)
        d->entries = calloc(arr->u.arr.n, sizeof *d->entries);
    if (!d || !d->entries) {
        free(d);
        return;
    }
    d->path = sc->path;
    for (size_t i = 0; i < arr->u.arr.n; ++i) {
        tb_toml_value *t = arr->u.arr.items[i];
        if (t->type == TB_TOML_TABLE)
            check_entry(c, sc, reg, t, i, &d->entries[d->n++]);
    }
    check_names(c, d);
    *data = d;
}

const tb_perturb_data *tb_perturb_data_of(const tb_scenario *sc)
{
    for (size_t k = 0; k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        if (tb_layer_at(k) == &tb_perturb_layer)
            return sc->layer_data[k];
    return NULL;
}

const tb_perturb_event *tb_perturb_events(const tb_scenario *sc, size_t *n)
{
    const tb_perturb_data *d = tb_perturb_data_of(sc);
    *n = d ? d->n_ev : 0;
    return d ? d->ev : NULL;
}

bool tb_perturb_targets_param(const tb_scenario *sc, const char *name)
{
    size_t n;
    const tb_perturb_event *ev = tb_perturb_events(sc, &n);
    for (size_t i = 0; i < n; ++i)
        if (ev[i].op == TB_OP_PARAM && strcmp(ev[i].name, name) == 0)
            return true;
    return false;
}

const tb_layer tb_perturb_layer = {
    .name = "perturbation",
    .summary = "lesions, stimulation, drugs and disease applied to a run at set times",
    .sections = sections,
    .n_sections = N_(sections),
    .list_keys = list_keys,
    .plugin_kind = TB_PERTURB_KIND,
    .check_plugin = check_plugin,
    .plugin_text = plugin_text,
    .check_scenario = check_scenario,
    .free_scenario = free_data,
    .prepare = tb_perturb_prepare,
    .next_step = tb_perturb_next_step,
    .apply = tb_perturb_apply,
    .declare = tb_perturb_declare,
};
