/* The scenario schema machinery: see schema.h. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

char *tb_schema_where(const char *file, tb_toml_pos pos)
{
    if (pos.line <= 0)
        return tb_asprintf("%s: --set: ", file);
    return tb_asprintf("%s:%d:%d: ", file, pos.line, pos.col);
}

void tb_schema_report(tb_schema_checker *c, tb_status st, tb_toml_pos pos, const char *fmt, ...)
{
    if (c->n == 0 || c->status == TB_ERR_SCENARIO)
        c->status = st; /* a missing file outranks a typo in the exit status */
    if (c->n++ >= TB_SCHEMA_MAX_REPORTED)
        return;
    char *w = tb_schema_where(c->file, pos);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tb_buf_printf(&c->msgs, "%s%s\n", w, line);
    free(w);
}

void tb_schema_checker_release(tb_schema_checker *c)
{
    free(c->refused);
    c->refused = NULL;
    c->n_refused = c->cap_refused = 0;
}

void tb_schema_refuse(tb_schema_checker *c, const tb_toml_value *v)
{
    if (v && !tb_schema_refused(c, v) &&
        tb_grow((void **)&c->refused, &c->cap_refused, c->n_refused + 1, sizeof *c->refused))
        c->refused[c->n_refused++] = v;
}

bool tb_schema_refused(const tb_schema_checker *c, const tb_toml_value *v)
{
    for (size_t i = 0; v && i < c->n_refused; ++i)
        if (c->refused[i] == v)
            return true;
    return false;
}

/* The closest candidate, or NULL when nothing is close enough to suggest. */
const char *tb_schema_closest(const char *word, const char *const *cands, size_t n)
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

void tb_schema_unknown(tb_schema_checker *c, tb_toml_pos pos, const char *key, const char *where_,
                           const char *const *cands, size_t n)
{
    const char *s = tb_schema_closest(key, cands, n);
    tb_buf list = {0};
    for (size_t i = 0; i < n && i < 40; ++i)
        tb_buf_printf(&list, "%s%s", i ? ", " : "", cands[i]);
    char *l = tb_buf_take(&list);
    if (s)
        tb_schema_report(c, TB_ERR_SCENARIO, pos, "unknown key '%s' in %s; did you mean '%s'?", key, where_, s);
    else
        tb_schema_report(c, TB_ERR_SCENARIO, pos, "unknown key '%s' in %s (known: %s)", key, where_, l ? l : "");
    free(l);
}

/* ------------------------------------------------------------ schema check */

const char *tb_schema_type_word(tb_key_type t)
{
    switch (t) {
    case KT_FLOAT: return "a number";
    case KT_INT: return "an integer";
    case KT_STRING: return "a string";
    case KT_TABLE: return "a table";
    case KT_TABLES: return "an array of tables ([[...]])";
    case KT_STRINGS: return "an array of strings";
    case KT_NUMBERS: return "a number or an array of numbers";
    case KT_ARRAY: return "an array";
    case KT_STRING_OR_STRINGS: return "a string or an array of strings";
    case KT_BOOL: return "true or false";
    case KT_ANY: return "a value";
    }
    return "?";
}

/* One number against its range; nan is never a value, and inf only where
 * the key says it means something ("never", "unbounded"). */
static void check_range(tb_schema_checker *c, const tb_toml_value *v, const char *full, double x, double min, double max,
                        bool min_excl, bool inf_ok)
{
    if (isnan(x))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be a number, not nan", full);
    else if (isinf(x) && !inf_ok)
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be finite (got %g)", full, x);
    else if (min == TB_POSITIVE && !(x > 0.0)) /* the plugin API's spelling of "> 0" */
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be > 0 (got %g)", full, x);
    else if (min_excl ? !(x > min) : !(x >= min))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be %s %g (got %g)", full, min_excl ? ">" : ">=", min, x);
    else if (!(x <= max))
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be <= %g (got %g)", full, max, x);
}

bool tb_schema_numbers(tb_schema_checker *c, const tb_toml_value *v, const char *full, double min, double max,
                          bool min_excl)
{
    double x;
    if (tb_toml_as_double(v, &x)) {
        check_range(c, v, full, x, min, max, min_excl, false);
        return true;
    }
    if (v->type != TB_TOML_ARRAY)
        return false;
    if (v->u.arr.n == 0) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s is an empty array", full);
        return true;
    }
    for (size_t i = 0; i < v->u.arr.n; ++i) {
        const tb_toml_value *e = v->u.arr.items[i];
        if (!tb_toml_as_double(e, &x)) {
            tb_schema_report(c, TB_ERR_SCENARIO, e->pos, "%s[%zu] must be a number, not %s", full, i,
                   tb_toml_type_name(e->type));
            return true;
        }
        char *name = tb_asprintf("%s[%zu]", full, i);
        check_range(c, e, name, x, min, max, min_excl, false);
        free(name);
    }
    return true;
}

static void check_value(tb_schema_checker *c, const tb_key_spec *s, const tb_toml_value *v, const char *full)
{
    double x;
    bool ok = true;
    int before = c->n;
    switch (s->type) {
    case KT_FLOAT:
        ok = tb_toml_as_double(v, &x);
        if (ok)
            check_range(c, v, full, x, s->min, s->max, s->min_excl, s->inf_ok);
        break;
    case KT_INT:
        ok = v->type == TB_TOML_INTEGER;
        if (ok)
            check_range(c, v, full, (double)v->u.i, s->min, s->max, s->min_excl, false);
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
                const char *sug = tb_schema_closest(v->u.s.ptr, s->choices, n);
                tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be one of %s (got \"%s\")%s%s%s", full, l,
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
        /* each entry that is not a table is named where it is; the
         * sections' checks then skip it */
        for (size_t i = 0; ok && i < v->u.arr.n; ++i)
            if (v->u.arr.items[i]->type != TB_TOML_TABLE)
                tb_schema_report(c, TB_ERR_SCENARIO, v->u.arr.items[i]->pos, "%s[%zu] must be a table, not %s", full,
                                 i, tb_toml_type_name(v->u.arr.items[i]->type));
        break;
    case KT_STRINGS:
        ok = v->type == TB_TOML_ARRAY;
        for (size_t i = 0; ok && i < v->u.arr.n; ++i)
            ok = v->u.arr.items[i]->type == TB_TOML_STRING;
        break;
    case KT_NUMBERS:
        ok = tb_schema_numbers(c, v, full, s->min, s->max, s->min_excl);
        break;
    case KT_BOOL:
        ok = v->type == TB_TOML_BOOL;
        break;
    case KT_ANY:
        break;
    case KT_ARRAY:
        ok = v->type == TB_TOML_ARRAY;
        break;
    case KT_STRING_OR_STRINGS:
        ok = v->type == TB_TOML_STRING || (v->type == TB_TOML_ARRAY && v->u.arr.n > 0);
        for (size_t i = 0; ok && v->type == TB_TOML_ARRAY && i < v->u.arr.n; ++i)
            ok = v->u.arr.items[i]->type == TB_TOML_STRING;
        break;
    }
    if (!ok) {
        const char *hint = s->type == KT_TABLES && v->type == TB_TOML_TABLE ? " (write [[" : "";
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be %s, not %s%s%s%s", full, tb_schema_type_word(s->type),
               tb_toml_type_name(v->type), hint, *hint ? s->name : "", *hint ? "]] for each entry)" : "");
    }
    /* an array of tables keeps its good entries (each section skips the
     * others); any other value reported is never read */
    if (c->n != before && !(s->type == KT_TABLES && ok))
        tb_schema_refuse(c, v);
}

char *tb_schema_join(const char *prefix, const char *key)
{
    return prefix && *prefix ? tb_asprintf("%s.%s", prefix, key) : tb_strdup(key);
}

/* Check the keys of `table` against `specs` and fill in defaults. */
bool tb_schema_table(tb_schema_checker *c, tb_toml_value *table, const tb_key_spec *specs, size_t n, const char *prefix)
{
    if (!table || table->type != TB_TOML_TABLE) {
        if (table)
            tb_schema_report(c, TB_ERR_SCENARIO, table->pos, "%s must be a table, not %s",
                             prefix && *prefix ? prefix : "the document", tb_toml_type_name(table->type));
        return false;
    }
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
            tb_schema_unknown(c, kv->pos, kv->key, where_, names, n);
            continue;
        }
        char *full = tb_schema_join(prefix, kv->key);
        check_value(c, &specs[k], kv->value, full);
        free(full);
    }
    for (size_t k = 0; k < n; ++k) {
        const tb_key_spec *s = &specs[k];
        if (tb_toml_get(table, s->name))
            continue;
        if (s->required) {
            tb_schema_report(c, TB_ERR_SCENARIO, table->pos, "%s needs '%s' (%s)", where_, s->name, s->doc);
        } else if (s->has_def) {
            tb_toml_value *v = s->type == KT_STRING ? tb_toml_new_string(s->def_s)
                               : s->type == KT_INT  ? tb_toml_new_int((int64_t)s->def)
                               : s->type == KT_BOOL ? tb_toml_new_bool(s->def != 0.0)
                                                    : tb_toml_new_float(s->def);
            tb_toml_table_set(table, s->name, v);
        }
    }
    free(where_);
    return true;
}

/* Make sure an optional sub-table exists so its defaults can be filled. */
tb_toml_value *tb_schema_ensure_table(tb_toml_value *parent, const char *key)
{
    tb_toml_value *t = (tb_toml_value *)tb_toml_get(parent, key);
    if (t)
        return t->type == TB_TOML_TABLE ? t : NULL;
    tb_toml_kv *kv = tb_toml_table_set(parent, key, tb_toml_new_table());
    return kv ? kv->value : NULL;
}

/* ------------------------------------------------------------ extraction */

double tb_schema_get_f(const tb_toml_value *t, const char *key)
{
    double x = NAN;
    tb_toml_as_double(tb_toml_get(t, key), &x);
    return x;
}

double tb_schema_num(const tb_schema_checker *c, const tb_toml_value *t, const char *key, double def)
{
    const tb_toml_value *v = tb_toml_get(t, key);
    double x = NAN;
    if (!v)
        return def;
    if (!tb_schema_refused(c, v))
        tb_toml_as_double(v, &x);
    return x;
}

int64_t tb_schema_int(const tb_schema_checker *c, const tb_toml_value *t, const char *key, int64_t def)
{
    const tb_toml_value *v = tb_toml_get(t, key);
    int64_t i = def;
    if (v && !tb_schema_refused(c, v))
        tb_toml_as_int(v, &i);
    return i;
}

char *tb_schema_get_s(const tb_toml_value *t, const char *key)
{
    const char *s = tb_toml_as_string(tb_toml_get(t, key));
    return s ? tb_strdup(s) : NULL;
}

bool tb_schema_value_from(tb_scenario_value *out, const char *name, const tb_toml_value *v)
{
    *out = (tb_scenario_value){.name = tb_strdup(name), .pos = v ? v->pos : (tb_toml_pos){0, 0}, .scalar = NAN};
    if (!v)
        return false;
    if (tb_toml_as_double(v, &out->scalar))
        return true;
    out->scalar = NAN;
    if (v->type != TB_TOML_ARRAY || v->u.arr.n == 0)
        return false;
    for (size_t i = 0; i < v->u.arr.n; ++i)
        if (!tb_toml_as_double(v->u.arr.items[i], NULL))
            return false;
    out->values = malloc(v->u.arr.n * sizeof *out->values);
    if (!out->values)
        return false;
    out->is_array = true;
    out->n = v->u.arr.n;
    for (size_t i = 0; i < out->n; ++i)
        tb_toml_as_double(v->u.arr.items[i], &out->values[i]);
    return true;
}

/* An integer parameter's values must be whole numbers. */
static bool whole_numbers(const tb_toml_value *v)
{
    double x;
    if (v->type == TB_TOML_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; ++i)
            if (!whole_numbers(v->u.arr.items[i]))
                return false;
        return true;
    }
    return tb_toml_as_double(v, &x) && x == floor(x);
}

/* Checks one given value; false when it is reported (then it is not read:
 * a wrong element of an array spoils the whole array). */
static bool check_param_value(tb_schema_checker *c, const tb_param_info *q, const tb_toml_value *v,
                              const char *full)
{
    int before = c->n;
    if (!tb_schema_numbers(c, v, full, q->min, q->max, false)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s must be a number or an array of numbers, not %s", full,
                         tb_toml_type_name(v->type));
        return false;
    }
    if (c->n != before)
        return false;
    if (q->type == TB_PARAM_INT && !whole_numbers(v)) {
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "%s is an integer parameter: give whole numbers", full);
        return false;
    }
    return true;
}

/* Parameters of a plugin or coupling function: known names only, numbers or
 * per-region arrays within the documented range; every default written
 * into the document so the resolved scenario is complete. */
tb_scenario_value *tb_schema_params(tb_schema_checker *c, tb_toml_value *table, const tb_param_info *params, size_t n,
                                    const char *prefix)
{
    tb_scenario_value *vals = calloc(n ? n : 1, sizeof *vals);
    if (!table || table->type != TB_TOML_TABLE) {
        for (size_t k = 0; vals && k < n; ++k) /* reported by the table's own check */
            vals[k] = (tb_scenario_value){.name = tb_strdup(params[k].name), .scalar = params[k].value};
        return vals;
    }
    const char **names = calloc(n + 1, sizeof *names);
    bool *bad = calloc(n + 1, sizeof *bad);
    for (size_t i = 0; names && i < n; ++i)
        names[i] = params[i].name;
    char *where_ = tb_asprintf("[%s]", prefix);
    for (size_t i = 0; names && bad && i < table->u.tab.n; ++i) {
        const tb_toml_kv *kv = &table->u.tab.items[i];
        size_t k = 0;
        while (k < n && strcmp(params[k].name, kv->key) != 0)
            ++k;
        if (k == n) {
            tb_schema_unknown(c, kv->pos, kv->key, where_, names, n);
            continue;
        }
        char *full = tb_schema_join(prefix, kv->key);
        bad[k] = !check_param_value(c, &params[k], kv->value, full);
        free(full);
    }
    for (size_t k = 0; vals && bad && k < n; ++k) {
        const tb_toml_value *v = tb_toml_get(table, params[k].name);
        if (!v) {
            tb_toml_kv *kv = tb_toml_table_set(table, params[k].name, tb_toml_new_float(params[k].value));
            v = kv ? kv->value : NULL;
        }
        /* a value reported as wrong is never read: the default stands in */
        if (bad[k] || !tb_schema_value_from(&vals[k], params[k].name, v)) {
            free(vals[k].name);
            free(vals[k].values);
            vals[k] = (tb_scenario_value){.name = tb_strdup(params[k].name), .scalar = params[k].value};
        }
    }
    free(bad);
    free(where_);
    free(names);
    return vals;
}

const char *tb_schema_plugin_failure(const tb_plugin_registry *reg, const char *name)
{
    for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i)
        if (strcmp(tb_plugin_failure_stem(reg, i), name) == 0)
            return tb_plugin_failure_at(reg, i);
    return NULL;
}

/* A period must land on whole steps: the monitor counts steps, not time. */
bool tb_schema_multiple_of_dt(double x, double dt)
{
    double q = x / dt;
    return q >= 1.0 - 1e-9 && fabs(q - round(q)) <= 1e-9 * q;
}

bool tb_schema_steps(double x, double dt, uint64_t *steps)
{
    double q = round(x / dt);
    if (!(q >= 0.0 && q <= TB_MAX_STEPS))
        return false;
    *steps = (uint64_t)q;
    return true;
}

void tb_schema_list_keys(tb_buf *b, const char *section, const tb_key_spec *s, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        tb_buf_printf(b, "%s%s%s\t%s\t%s\n", section, *section ? "." : "", s[i].name, tb_schema_type_word(s[i].type),
                      s[i].doc);
}

