/* Models declared in scenario files: see declared_model.h. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "declared_model.h"
#include "mass_internal.h"
#include "twinbrain/mass.h"

struct tb_declared_model {
    tb_plugin plugin;
    tb_mass_model mass;
    tb_mass_var *vars;
    char **coupled;
    tb_param_info *params;
    char *dfun;
    char *helpers;
    char *name;
};

static bool name_ok(tb_schema_checker *c, const char *what, const char *s, tb_toml_pos pos, bool variable)
{
    bool bad = !tb_is_identifier(s) || (variable ? tb_mass_var_name_reserved(s) : tb_mass_name_reserved(s));
    if (bad)
        tb_schema_report(c, TB_ERR_SCENARIO, pos,
                         "%s '%s' must be an identifier other than coupling, t, region, n_regions, real%s "
                         "and names starting with tb_ or cp_",
                         what, s, variable ? ", history" : "");
    return !bad;
}

/* [low, high] with low <= high; `finite`: both ends finite (a range
 * initial values are drawn from), else -inf and inf are open ends. */
static bool pair_of(const tb_toml_value *v, double *lo, double *hi, bool finite)
{
    double a, b;
    if (!(v && v->type == TB_TOML_ARRAY && v->u.arr.n == 2 && tb_toml_as_double(v->u.arr.items[0], &a) &&
          tb_toml_as_double(v->u.arr.items[1], &b) && a <= b && (!finite || (isfinite(a) && isfinite(b)))))
        return false;
    *lo = a, *hi = b;
    return true;
}

static bool read_vars(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model *d)
{
    const tb_toml_value *vars = tb_toml_get(model, "variables");
    if (!vars || vars->type != TB_TOML_ARRAY || vars->u.arr.n == 0) {
        tb_schema_report(c, TB_ERR_SCENARIO, vars ? vars->pos : model->pos,
                         "model.variables must list the state variables, e.g. [\"x\", \"y\"]");
        return false;
    }
    size_t n = vars->u.arr.n;
    d->vars = calloc(n, sizeof *d->vars);
    d->mass.n_vars = n;
    d->mass.vars = d->vars;
    const tb_toml_value *ranges = tb_toml_get(model, "ranges"), *bounds = tb_toml_get(model, "bounds");
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
        const char *s = tb_toml_as_string(vars->u.arr.items[i]);
        if (!s) {
            tb_schema_report(c, TB_ERR_SCENARIO, vars->u.arr.items[i]->pos, "model.variables[%zu] must be a name", i);
            return false;
        }
        ok &= name_ok(c, "model.variables: variable", s, vars->u.arr.items[i]->pos, true);
        tb_mass_var *v = &d->vars[i];
        v->name = tb_strdup(s);
        v->range_lo = -1.0;
        v->range_hi = 1.0;
        v->bound_lo = -INFINITY;
        v->bound_hi = INFINITY;
        v->unit = "";
        v->doc = "declared in the scenario";
        const tb_toml_value *r = tb_toml_get(ranges, s), *b = tb_toml_get(bounds, s);
        if (r && !pair_of(r, &v->range_lo, &v->range_hi, true))
            tb_schema_report(c, TB_ERR_SCENARIO, r->pos, "model.ranges.%s must be [low, high], finite numbers", s),
                ok = false;
        if (b && !pair_of(b, &v->bound_lo, &v->bound_hi, false))
            tb_schema_report(c, TB_ERR_SCENARIO, b->pos, "model.bounds.%s must be [low, high] (-inf and inf for no bound)",
                             s),
                ok = false;
        for (size_t j = 0; j < i; ++j)
            if (strcmp(d->vars[j].name, s) == 0)
                tb_schema_report(c, TB_ERR_SCENARIO, vars->u.arr.items[i]->pos, "model.variables: '%s' twice", s),
                    ok = false;
    }
    return ok;
}

/* Every key of ranges, bounds and derivatives must be a variable. */
static bool known_vars(tb_schema_checker *c, const tb_declared_model *d, const tb_toml_value *t, const char *what)
{
    if (!t)
        return true;
    if (t->type != TB_TOML_TABLE) {
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "model.%s must be a table by variable name", what);
        return false;
    }
    const char **names = calloc(d->mass.n_vars + 1, sizeof *names);
    for (size_t i = 0; i < d->mass.n_vars; ++i)
        names[i] = d->vars[i].name;
    bool ok = true;
    char *where_ = tb_asprintf("[model.%s] (the model's variables)", what);
    for (size_t i = 0; i < t->u.tab.n; ++i) {
        size_t k = 0;
        while (k < d->mass.n_vars && strcmp(names[k], t->u.tab.items[i].key) != 0)
            ++k;
        if (k == d->mass.n_vars) {
            tb_schema_unknown(c, t->u.tab.items[i].pos, t->u.tab.items[i].key, where_, names, d->mass.n_vars);
            ok = false;
        }
    }
    free(where_);
    free(names);
    return ok;
}

/* Code from the scenario behind a #line marker, so that a build log points
 * at the scenario: "leaky.toml:12:9" (the file's base name, which does not
 * change with the folder the run starts from, and so neither does the
 * program's cache key), or "model.derivatives.x:1:3" for a value from
 * --set. The text is indented to its column in the file. */
static void put_located(tb_buf *b, const char *file, const char *key, const tb_toml_value *v)
{
    tb_toml_pos at = tb_toml_text_start(v);
    const char *base = file ? strrchr(file, '/') : NULL;
    const char *name = at.line > 0 ? (base ? base + 1 : file ? file : "scenario") : key;
    tb_buf_puts(b, "\n#line ");
    tb_buf_printf(b, "%d \"", at.line > 0 ? at.line : 1);
    for (const char *p = name; *p; ++p) /* a string literal: no quotes, backslashes */
        tb_buf_printf(b, "%c", *p == '"' || *p == '\\' || *p == '\n' ? '_' : *p);
    tb_buf_printf(b, "\"\n%*s%s\n", at.col > 1 ? at.col - 1 : 0, "", tb_toml_as_string(v));
}

static bool read_derivatives(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model *d)
{
    const tb_toml_value *der = tb_toml_get(model, "derivatives");
    if (!der) {
        tb_schema_report(c, TB_ERR_SCENARIO, model->pos,
                         "[model] declares variables but no derivatives: give derivatives = { %s = \"...\" } with an "
                         "OpenCL expression for each variable",
                         d->vars[0].name);
        return false;
    }
    if (!known_vars(c, d, der, "derivatives"))
        return false;
    tb_buf b = {0};
    bool ok = true;
    for (size_t i = 0; i < d->mass.n_vars; ++i) {
        const tb_toml_value *e = tb_toml_get(der, d->vars[i].name);
        const char *expr = tb_toml_as_string(e);
        if (!expr || !*expr) {
            tb_schema_report(c, TB_ERR_SCENARIO, e ? e->pos : der->pos,
                             "model.derivatives.%s must be an OpenCL expression for d%s/dt", d->vars[i].name,
                             d->vars[i].name);
            ok = false;
            continue;
        }
        char *key = tb_asprintf("model.derivatives.%s", d->vars[i].name);
        tb_buf_printf(&b, "d%s = (", d->vars[i].name);
        put_located(&b, c->file, key, e);
        tb_buf_puts(&b, ");\n");
        free(key);
    }
    d->dfun = tb_buf_take(&b);
    d->mass.dfun = d->dfun;
    return ok;
}

static bool read_coupled(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model *d)
{
    const tb_toml_value *cv = tb_toml_get(model, "coupled");
    size_t n = cv && cv->type == TB_TOML_ARRAY ? cv->u.arr.n : 1;
    if (cv && (cv->type != TB_TOML_ARRAY || n == 0)) {
        tb_schema_report(c, TB_ERR_SCENARIO, cv->pos, "model.coupled must list one or more variables");
        return false;
    }
    d->coupled = calloc(n, sizeof *d->coupled);
    d->mass.n_coupled = n;
    d->mass.coupled = (const char *const *)d->coupled;
    for (size_t k = 0; k < n; ++k) {
        const char *s = cv ? tb_toml_as_string(cv->u.arr.items[k]) : d->vars[0].name;
        size_t v = 0;
        while (s && v < d->mass.n_vars && strcmp(d->vars[v].name, s) != 0)
            ++v;
        if (!s || v == d->mass.n_vars) {
            tb_schema_report(c, TB_ERR_SCENARIO, cv->u.arr.items[k]->pos, "model.coupled[%zu] is not a variable", k);
            return false;
        }
        d->coupled[k] = tb_strdup(s);
    }
    return true;
}

/* [model.parameters] declares the parameters: each key is one, its value
 * (or, for a per-region array, 0) the default; any value is allowed. */
static bool read_params(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model *d)
{
    const tb_toml_value *pt = tb_toml_get(model, "parameters");
    size_t n = pt && pt->type == TB_TOML_TABLE ? pt->u.tab.n : 0;
    d->params = calloc(n ? n : 1, sizeof *d->params);
    d->plugin.params = d->params;
    d->plugin.n_params = n;
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
        const tb_toml_kv *kv = &pt->u.tab.items[i];
        ok &= name_ok(c, "model.parameters: parameter", kv->key, kv->pos, false);
        for (size_t v = 0; v < d->mass.n_vars; ++v)
            if (strcmp(kv->key, d->vars[v].name) == 0 ||
                (kv->key[0] == 'd' && strcmp(kv->key + 1, d->vars[v].name) == 0)) {
                tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "model.parameters: '%s' clashes with variable '%s'",
                                 kv->key, d->vars[v].name);
                ok = false;
            }
        tb_param_info *p = &d->params[i];
        p->name = tb_strdup(kv->key);
        tb_toml_as_double(kv->value, &p->value);
        p->unit = "";
        p->min = -INFINITY;
        p->max = INFINITY;
        p->doc = "declared in the scenario";
    }
    return ok;
}

/* What the loader checks of a plugin, a declared model passes too. */
static bool checked(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model *d)
{
    tb_error e = {0};
    bool ok = tb_plugin_check(&d->plugin, "[model]", &e) == TB_OK;
    if (!ok)
        tb_schema_report(c, TB_ERR_SCENARIO, model->pos, "declared model: %s", tb_error_message(&e));
    tb_error_clear(&e);
    return ok;
}

void tb_declared_model_free(tb_declared_model *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->vars && i < d->mass.n_vars; ++i)
        free((char *)d->vars[i].name);
    for (size_t k = 0; d->coupled && k < d->mass.n_coupled; ++k)
        free(d->coupled[k]);
    for (size_t i = 0; d->params && i < d->plugin.n_params; ++i)
        free((char *)d->params[i].name);
    free(d->vars);
    free(d->coupled);
    free(d->params);
    free(d->dfun);
    free(d->helpers);
    free(d->name);
    free(d);
}

const tb_plugin *tb_declared_model_build(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model **out)
{
    tb_declared_model *d = calloc(1, sizeof *d);
    *out = d;
    const char *name = tb_toml_as_string(tb_toml_get(model, "name"));
    d->name = tb_strdup(name ? name : "declared");
    d->mass.head = (tb_kind_header)TB_MASS_TABLE_HEADER;
    d->mass.default_coupling = "linear";
    const tb_toml_value *helpers = tb_toml_get(model, "helpers");
    if (tb_toml_as_string(helpers)) {
        tb_buf b = {0};
        put_located(&b, c->file, "model.helpers", helpers);
        d->mass.helpers = d->helpers = tb_buf_take(&b);
    }
    d->plugin = (tb_plugin){TB_PLUGIN_HEADER,
                            .kind = TB_MASS_KIND,
                            .name = d->name,
                            .version = "scenario",
                            .summary = "a model declared in the scenario file",
                            .table = &d->mass};
    bool ok = read_vars(c, model, d) && known_vars(c, d, tb_toml_get(model, "ranges"), "ranges") &&
              known_vars(c, d, tb_toml_get(model, "bounds"), "bounds");
    ok = ok && read_coupled(c, model, d);
    ok = ok && read_derivatives(c, model, d);
    ok = ok && read_params(c, model, d);
    return ok && checked(c, model, d) ? &d->plugin : NULL;
}
