/* Spiking model tables: the loader's checks, and [[neuron_model]]
 * declarations turned into in-memory model tables (spiking_declared.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spiking_declared.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

struct tb_spk_declared {
    tb_spiking_model m;
    tb_spiking_var *vars;
    tb_spiking_port *ports;
    char **consts;
    tb_param_info *params;
    char *prepare, *update, *threshold, *reset, *refractory, *helpers;
};

/* Names the generated code puts next to the model's own: a model may not
 * use them (C keywords too, so a clash reads as such and not as a build
 * error deep in generated code). */
static const char *const reserved[] = {
    "dt",     "t",      "refractory", "I_ext",  "real",     "real2",  "int",   "long",   "uint",   "ulong",
    "float",  "double", "char",       "uchar",  "short",    "bool",   "void",  "if",     "else",   "for",
    "while",  "do",     "return",     "break",  "continue", "switch", "case",  "default", "const", "static",
    "inline", "struct", "union",      "enum",   "sizeof",   "goto",   "kernel", "global", "local", "private",
    "constant", "restrict", "volatile", "signed", "unsigned", "typedef", "extern"};

static bool name_reserved(const char *s)
{
    if (strncmp(s, "tb_", 3) == 0 || strncmp(s, "in_", 3) == 0 || strncmp(s, "__", 2) == 0)
        return true;
    for (size_t i = 0; i < N_(reserved); ++i)
        if (strcmp(s, reserved[i]) == 0)
            return true;
    return false;
}

static tb_status check_name(const char *kind, const char *s, size_t i, const char *what, tb_error *err)
{
    if (!s || !tb_is_identifier(s))
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s %zu has no valid name", what, kind, i);
    if (name_reserved(s))
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: %s name '%s' is reserved (dt, t, refractory, I_ext, C keywords, and names "
                            "starting with tb_, in_ or __)",
                            what, kind, s);
    return TB_OK;
}

/* Every name the snippets see, in one list, so clashes are found at once. */
static tb_status check_clashes(const char **names, const char **kinds, size_t n, const char *what, tb_error *err)
{
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < i; ++j)
            if (strcmp(names[i], names[j]) == 0)
                return strcmp(kinds[i], kinds[j]) == 0
                           ? tb_error_set(err, TB_ERR_INPUT, "%s: %s '%s' declared twice", what, kinds[i], names[i])
                           : tb_error_set(err, TB_ERR_INPUT, "%s: %s '%s' clashes with %s '%s'", what, kinds[i],
                                          names[i], kinds[j], names[j]);
    return TB_OK;
}

static tb_status check_names(const tb_spiking_model *m, const tb_param_info *params, size_t n_params,
                             const char *what, tb_error *err)
{
    size_t n = m->n_vars + n_params + m->n_consts + m->n_ports;
    const char **names = calloc(n + 1, sizeof *names), **kinds = calloc(n + 1, sizeof *kinds);
    tb_status st = names && kinds ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t k = 0;
    for (size_t i = 0; st == TB_OK && i < m->n_vars; ++i, ++k)
        if ((st = check_name("state variable", m->vars[i].name, i, what, err)) == TB_OK)
            names[k] = m->vars[i].name, kinds[k] = "state variable";
    for (size_t i = 0; st == TB_OK && i < n_params; ++i, ++k)
        if ((st = check_name("parameter", params[i].name, i, what, err)) == TB_OK)
            names[k] = params[i].name, kinds[k] = "parameter";
    for (size_t i = 0; st == TB_OK && i < m->n_consts; ++i, ++k)
        if ((st = check_name("constant", m->consts[i], i, what, err)) == TB_OK)
            names[k] = m->consts[i], kinds[k] = "constant";
    size_t named = k;
    for (size_t i = 0; st == TB_OK && i < m->n_ports; ++i, ++k) {
        const char *p = m->ports[i].name;
        if (!p || !tb_is_identifier(p))
            st = tb_error_set(err, TB_ERR_INPUT, "%s: port %zu has no valid name", what, i);
        names[k] = p, kinds[k] = "port";
    }
    if (st == TB_OK)
        st = check_clashes(names, kinds, named, what, err);
    if (st == TB_OK)
        st = check_clashes(names + named, kinds + named, k - named, what, err);
    free(names);
    free(kinds);
    return st;
}

tb_status tb_spiking_model_check(const tb_spiking_model *m, const tb_param_info *params, size_t n_params,
                                 const char *what, tb_error *err)
{
    if (!m)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a spiking plugin needs its spiking table", what);
    if (m->n_vars == 0 || !m->vars)
        return tb_error_set(err, TB_ERR_INPUT, "%s: spiking model declares no state variables", what);
    if (m->n_ports > TB_SPIKING_MAX_PORTS || (m->n_ports && !m->ports))
        return tb_error_set(err, TB_ERR_INPUT, "%s: a spiking model has at most %d ports (it declares %zu)", what,
                            TB_SPIKING_MAX_PORTS, m->n_ports);
    if (m->n_consts && !m->consts)
        return tb_error_set(err, TB_ERR_INPUT, "%s: n_consts is %zu but consts is NULL", what, m->n_consts);
    tb_status st = check_names(m, params, n_params, what, err);
    if (st != TB_OK)
        return st;
    if (m->n_consts && (!m->prepare || !*m->prepare))
        return tb_error_set(err, TB_ERR_INPUT, "%s: the model declares constants but no prepare snippet", what);
    if (!m->update || !*m->update)
        return tb_error_set(err, TB_ERR_INPUT, "%s: spiking model has no update snippet", what);
    if (!m->threshold || !*m->threshold)
        return tb_error_set(err, TB_ERR_INPUT, "%s: spiking model has no threshold expression", what);
    if (!m->reset)
        return tb_error_set(err, TB_ERR_INPUT, "%s: spiking model has no reset snippet (\"\" for none)", what);
    if (m->refractory) {
        size_t i = 0;
        while (i < n_params && strcmp(params[i].name, m->refractory) != 0)
            ++i;
        if (i == n_params)
            return tb_error_set(err, TB_ERR_INPUT, "%s: refractory names '%s', which is not a parameter", what,
                                m->refractory);
    }
    for (size_t i = 0; i < N_(m->reserved); ++i)
        if (m->reserved[i])
            return tb_error_set(err, TB_ERR_INPUT, "%s: reserved fields of the spiking table must be NULL", what);
    return TB_OK;
}

/* ------------------------------------------------------------ declared models */

static const char *const default_ports[] = {"ex", "in"};

static const tb_key_spec model_keys[] = {
    {"name", KT_STRING, true, .doc = "the model's name, as populations write it: model = \"NAME\""},
    {"state", KT_TABLE, true, .doc = "state variables and their default initial values: { V = -65.0 }"},
    {"parameters", KT_TABLE, .doc = "parameters and their default values: { tau_m = 10.0 }"},
    {"ports", KT_STRINGS, .doc = "synaptic input ports (at most 4), seen as in_<port>; default [\"ex\", \"in\"]"},
    {"constants", KT_TABLE,
     .doc = "per-neuron constants computed once from the parameters and dt: { decay = \"exp(-dt / tau_m)\" }"},
    {"update", KT_STRING, true, .doc = "OpenCL statements advancing the state by one step (docs/spiking.md)"},
    {"threshold", KT_STRING, true, .doc = "OpenCL expression: the neuron spikes when it holds"},
    {"reset", KT_STRING, false, .def_s = "", .has_def = true, .doc = "OpenCL statements run on a spike"},
    {"refractory", KT_STRING, .doc = "the parameter holding the refractory period in ms; default none"},
    {"helpers", KT_STRING, .doc = "OpenCL functions the snippets call"},
};

void tb_spiking_declared_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, "neuron_model", model_keys, N_(model_keys));
}

void tb_spiking_declared_free(tb_spk_declared *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->m.n_vars; ++i)
        free((char *)d->vars[i].name);
    for (size_t i = 0; i < d->m.n_ports; ++i)
        free((char *)d->ports[i].name);
    for (size_t i = 0; i < d->m.n_consts; ++i)
        free(d->consts[i]);
    free(d->vars);
    free(d->ports);
    free(d->consts);
    free(d->params);
    free(d->prepare);
    free(d->update);
    free(d->threshold);
    free(d->reset);
    free(d->refractory);
    free(d->helpers);
    free(d);
}

static bool read_state(tb_schema_checker *c, const tb_toml_value *t, const char *prefix, tb_spk_declared *d)
{
    const tb_toml_value *st = tb_toml_get(t, "state");
    if (!st || st->type != TB_TOML_TABLE || st->u.tab.n == 0) {
        tb_schema_report(c, TB_ERR_SCENARIO, st ? st->pos : t->pos,
                         "%s.state must name the state variables with their initial values, e.g. { V = -65.0 }",
                         prefix);
        return false;
    }
    d->vars = calloc(st->u.tab.n, sizeof *d->vars);
    if (!d->vars)
        return false;
    bool ok = true;
    for (size_t i = 0; i < st->u.tab.n; ++i) {
        const tb_toml_kv *kv = &st->u.tab.items[i];
        tb_spiking_var *v = &d->vars[d->m.n_vars++];
        v->name = tb_strdup(kv->key);
        v->unit = "";
        v->doc = "declared in the scenario";
        if (!tb_toml_as_double(kv->value, &v->initial) || !isfinite(v->initial)) {
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos,
                             "%s.state.%s must be a finite number (its initial value)", prefix, kv->key);
            ok = false;
        }
    }
    return ok;
}

static bool read_params(tb_schema_checker *c, const tb_toml_value *t, const char *prefix, tb_spk_declared *d,
                        size_t *n_params)
{
    const tb_toml_value *pt = tb_toml_get(t, "parameters");
    size_t n = pt && pt->type == TB_TOML_TABLE ? pt->u.tab.n : 0;
    d->params = calloc(n + 1, sizeof *d->params);
    if (!d->params)
        return false;
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
        const tb_toml_kv *kv = &pt->u.tab.items[i];
        tb_param_info *p = &d->params[(*n_params)++];
        p->name = kv->key; /* the document outlives the scenario's use of it */
        p->unit = "";
        p->min = -INFINITY;
        p->max = INFINITY;
        p->doc = "declared in the scenario";
        if (!tb_toml_as_double(kv->value, &p->value) || !isfinite(p->value)) {
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos,
                             "%s.parameters.%s must be a finite number (its default value)", prefix, kv->key);
            ok = false;
        }
    }
    return ok;
}

static bool read_ports_consts(tb_schema_checker *c, const tb_toml_value *t, const char *prefix, tb_spk_declared *d)
{
    const tb_toml_value *pv = tb_toml_get(t, "ports");
    size_t np = pv && pv->type == TB_TOML_ARRAY ? pv->u.arr.n : pv ? 0 : 2;
    if (np > TB_SPIKING_MAX_PORTS) {
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "%s.ports: at most %d ports (got %zu)", prefix,
                         TB_SPIKING_MAX_PORTS, np);
        return false;
    }
    d->ports = calloc(np + 1, sizeof *d->ports);
    for (size_t i = 0; d->ports && i < np; ++i) {
        const char *s = pv ? tb_toml_as_string(pv->u.arr.items[i]) : default_ports[i];
        d->ports[d->m.n_ports++] = (tb_spiking_port){tb_strdup(s ? s : ""), "", "declared in the scenario"};
    }
    const tb_toml_value *cv = tb_toml_get(t, "constants");
    size_t nc = cv && cv->type == TB_TOML_TABLE ? cv->u.tab.n : 0;
    d->consts = calloc(nc + 1, sizeof *d->consts);
    tb_buf prep = {0};
    bool ok = d->ports && d->consts;
    for (size_t i = 0; ok && i < nc; ++i) {
        const tb_toml_kv *kv = &cv->u.tab.items[i];
        const char *e = tb_toml_as_string(kv->value);
        if (!e) {
            tb_schema_report(c, TB_ERR_SCENARIO, kv->value->pos,
                             "%s.constants.%s must be an OpenCL expression (a string)", prefix, kv->key);
            ok = false;
            continue;
        }
        d->consts[d->m.n_consts++] = tb_strdup(kv->key);
        tb_buf_printf(&prep, "%s = %s;\n", kv->key, e);
    }
    d->prepare = tb_buf_take(&prep);
    return ok;
}

void tb_spiking_declared_add(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, size_t idx,
                             const tb_plugin_registry *reg)
{
    char *prefix = tb_asprintf("neuron_model[%zu]", idx);
    int before = c->n;
    tb_schema_table(c, t, model_keys, N_(model_keys), prefix);
    const char *name = tb_toml_as_string(tb_toml_get(t, "name"));
    tb_spk_declared *d = calloc(1, sizeof *d);
    size_t n_params = 0;
    bool ok = d && c->n == before && name;
    if (ok && (!tb_is_identifier(name) || tb_plugin_find(reg, NULL, name))) {
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "name")->pos,
                         tb_is_identifier(name) ? "%s.name '%s' is the name of a plugin; choose another"
                                                : "%s.name '%s' must be a plain name (letters, digits, '_')",
                         prefix, name);
        ok = false;
    }
    for (size_t i = 0; ok && i < s->n_models; ++i)
        if (strcmp(s->models[i].name, name) == 0) {
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s.name '%s' is declared twice", prefix, name);
            ok = false;
        }
    ok = ok && read_state(c, t, prefix, d);
    ok = ok && read_params(c, t, prefix, d, &n_params);
    ok = ok && read_ports_consts(c, t, prefix, d);
    if (ok) {
        d->m.vars = d->vars;
        d->m.ports = d->ports;
        d->m.consts = (const char *const *)d->consts;
        d->m.prepare = d->m.n_consts ? d->prepare : NULL;
        d->update = tb_schema_get_s(t, "update");
        d->threshold = tb_schema_get_s(t, "threshold");
        d->reset = tb_schema_get_s(t, "reset");
        d->refractory = tb_schema_get_s(t, "refractory");
        d->helpers = tb_schema_get_s(t, "helpers");
        d->m.update = d->update;
        d->m.threshold = d->threshold;
        d->m.reset = d->reset;
        d->m.refractory = d->refractory;
        d->m.helpers = d->helpers;
        d->m.current_unit = "";
        tb_error e = {0};
        if (tb_spiking_model_check(&d->m, d->params, n_params, prefix, &e) != TB_OK) {
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s", tb_error_message(&e));
            ok = false;
        }
        tb_error_clear(&e);
    }
    tb_spk_model *grown = ok ? realloc(s->models, (s->n_models + 1) * sizeof *grown) : NULL;
    if (!grown) {
        tb_spiking_declared_free(d);
        free(prefix);
        return;
    }
    s->models = grown;
    s->models[s->n_models++] = (tb_spk_model){tb_strdup(name), "declared", &d->m, d->params, n_params, d};
    free(prefix);
}
