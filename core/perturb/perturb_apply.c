/* The plan at run time: the steps the driver cuts its chunks at, each
 * step's events handed to the kit's operations, and what the output
 * records of them (/perturbations/NAME, docs/formats.md). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perturb_internal.h"

/* The first event at or after `step` (events are sorted by step). */
static size_t first_at(const tb_perturb_data *d, uint64_t step)
{
    size_t lo = 0, hi = d->n_ev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->ev[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t tb_perturb_next_step(const void *data, uint64_t from)
{
    const tb_perturb_data *d = data;
    for (size_t i = first_at(d, from); i < d->n_ev; ++i)
        if (d->ev[i].op != TB_OP_INPUT) /* inputs are part of the program, not events */
            return d->ev[i].step;
    return UINT64_MAX;
}

static tb_status apply_one(const tb_kit_ops *ops, const tb_perturb_event *e, void *impl, tb_error *err)
{
    switch (e->op) {
    case TB_OP_EDGES:
        return ops->edges(impl, e->units, e->n_units, e->values, e->to, e->n_to, e->to_values, err);
    case TB_OP_PARAM:
        return ops->param(impl, e->name, e->units, e->n_units, e->values, e->mode, e->instance, err);
    case TB_OP_SILENCE:
        return ops->silence(impl, e->units, e->n_units, !e->undo, e->instance, err);
    case TB_OP_STATE:
        return ops->state(impl, e->name, e->units, e->n_units, e->values, e->instance, err);
    }
    return TB_OK;
}

tb_status tb_perturb_apply(const void *data, const tb_scenario *sc, void *impl, size_t first, size_t count,
                           uint64_t step, tb_error *err)
{
    const tb_perturb_data *d = data;
    const tb_kit_ops *ops = sc->kit->ops;
    tb_status st = TB_OK;
    for (size_t i = first_at(d, step); st == TB_OK && i < d->n_ev && d->ev[i].step == step; ++i) {
        const tb_perturb_event *e = &d->ev[i];
        bool mine = e->instance < 0 || ((size_t)e->instance >= first && (size_t)e->instance < first + count);
        if (!mine || e->op == TB_OP_INPUT)
            continue;
        st = apply_one(ops, e, impl, err);
        if (st != TB_OK)
            tb_error_prefix(err, "perturbation '%s' at step %llu: ", d->entries[e->entry].name,
                            (unsigned long long)step);
    }
    return st;
}

/* ------------------------------------------------------------ output */

/* The entry's parameters as attributes of its group. */
static tb_status write_params(const pt_entry *e, tb_output *out, const char *g, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && e->params && i < e->params->u.tab.n; ++i) {
        const tb_toml_kv *kv = &e->params->u.tab.items[i];
        const tb_toml_value *v = kv->value;
        double x;
        if (tb_toml_as_double(v, &x))
            st = tb_output_attr_double(out, g, kv->key, x, err);
        else if (v->type == TB_TOML_STRING)
            st = tb_output_attr_string(out, g, kv->key, v->u.s.ptr, err);
        else if (v->type == TB_TOML_ARRAY && v->u.arr.n) {
            char **s = calloc(v->u.arr.n, sizeof *s);
            for (size_t j = 0; s && j < v->u.arr.n; ++j) {
                const tb_toml_value *it = v->u.arr.items[j];
                s[j] = it->type == TB_TOML_STRING ? tb_strdup(it->u.s.ptr)
                       : tb_toml_as_double(it, &x) ? tb_asprintf("%.17g", x) : tb_strdup("");
            }
            if (s)
                st = tb_output_attr_strings(out, g, kv->key, (const char *const *)s, v->u.arr.n, err);
            for (size_t j = 0; s && j < v->u.arr.n; ++j)
                free(s[j]);
            free(s);
        }
    }
    return st;
}

/* Each target set as the scenario names it (labels, or indices as text). */
static tb_status write_targets(const pt_entry *e, tb_output *out, const char *g, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < e->n_sets; ++k) {
        const tb_toml_value *a = e->sets[k];
        if (a && a->type == TB_TOML_STRING) {
            char *name = tb_asprintf("targets_%s", e->kind->sets[k]);
            const char *all[] = {"all"};
            st = tb_output_attr_strings(out, g, name, all, 1, err);
            free(name);
            continue;
        }
        if (!a || a->u.arr.n == 0)
            continue;
        char **s = calloc(a->u.arr.n, sizeof *s);
        for (size_t j = 0; s && j < a->u.arr.n; ++j) {
            const tb_toml_value *it = a->u.arr.items[j];
            s[j] = it->type == TB_TOML_STRING ? tb_strdup(it->u.s.ptr) : tb_asprintf("%lld", (long long)it->u.i);
        }
        char *name = tb_asprintf("targets_%s", e->kind->sets[k]);
        if (s)
            st = tb_output_attr_strings(out, g, name, (const char *const *)s, a->u.arr.n, err);
        free(name);
        for (size_t j = 0; s && j < a->u.arr.n; ++j)
            free(s[j]);
        free(s);
    }
    return st;
}

/* The entry's events: step, time, operation, what it touches, its value. */
static tb_status write_events(const tb_perturb_data *d, size_t entry, double dt, tb_output *out, const char *g,
                              tb_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_ev; ++i)
        n += d->ev[i].entry == entry;
    int64_t *step = calloc(n + 1, sizeof *step), *inst = calloc(n + 1, sizeof *inst),
            *units = calloc(n + 1, sizeof *units);
    double *t = calloc(n + 1, sizeof *t), *value = calloc(n + 1, sizeof *value);
    const char **op = calloc(n + 1, sizeof *op), **name = calloc(n + 1, sizeof *name);
    tb_status st = step && inst && units && t && value && op && name ? TB_OK
                                                                   : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t k = 0;
    for (size_t i = 0; st == TB_OK && i < d->n_ev; ++i) {
        const tb_perturb_event *e = &d->ev[i];
        if (e->entry != entry)
            continue;
        step[k] = (int64_t)e->step;
        t[k] = (double)e->step * dt;
        inst[k] = e->instance;
        units[k] = (int64_t)e->n_units;
        value[k] = e->n_units ? e->values[0] : NAN;
        op[k] = e->undo ? "undo" : tb_perturb_op_name(e->op);
        name[k] = e->name ? e->name : "";
        ++k;
    }
    char *p[7];
    const char *leaf[] = {"event_step", "event_time_ms", "event_instance", "event_units", "event_value",
                          "event_operation", "event_name"};
    for (size_t i = 0; i < 7; ++i)
        p[i] = tb_asprintf("%s/%s", g, leaf[i]);
    uint64_t dims[1] = {n};
    if (st == TB_OK && n) {
        st = tb_output_write_array(out, p[0], TB_I64, 1, dims, step, err);
        if (st == TB_OK)
            st = tb_output_write_array(out, p[1], TB_F64, 1, dims, t, err);
        if (st == TB_OK)
            st = tb_output_write_array(out, p[2], TB_I64, 1, dims, inst, err);
        if (st == TB_OK)
            st = tb_output_write_array(out, p[3], TB_I64, 1, dims, units, err);
        if (st == TB_OK)
            st = tb_output_write_array(out, p[4], TB_F64, 1, dims, value, err);
        if (st == TB_OK)
            st = tb_output_write_strings(out, p[5], op, n, err);
        if (st == TB_OK)
            st = tb_output_write_strings(out, p[6], name, n, err);
    }
    for (size_t i = 0; i < 7; ++i)
        free(p[i]);
    free(step), free(inst), free(units), free(t), free(value), free(op), free(name);
    return st;
}

/* Each event's units and values (per source unit for edges), as rows of
 * a ragged array: unit_offsets [E + 1] into unit_ids and unit_values;
 * left out (units_written = 0) past 10^7 entries. */
#define MAX_UNIT_ENTRIES 10000000u

static tb_status write_units(const tb_perturb_data *d, size_t entry, tb_output *out, const char *g, tb_error *err)
{
    size_t n = 0, total = 0;
    for (size_t i = 0; i < d->n_ev; ++i)
        if (d->ev[i].entry == entry)
            ++n, total += d->ev[i].n_units;
    if (total > MAX_UNIT_ENTRIES || n == 0)
        return tb_output_attr_int(out, g, "units_written", 0, err);
    int64_t *off = calloc(n + 1, sizeof *off), *ids = calloc(total + 1, sizeof *ids);
    double *val = calloc(total + 1, sizeof *val);
    tb_status st = off && ids && val ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t k = 0, at = 0;
    for (size_t i = 0; st == TB_OK && i < d->n_ev; ++i) {
        const tb_perturb_event *e = &d->ev[i];
        if (e->entry != entry)
            continue;
        off[k++] = (int64_t)at;
        for (size_t j = 0; j < e->n_units; ++j, ++at) {
            ids[at] = (int64_t)e->units[j];
            val[at] = e->values[j];
        }
    }
    if (st == TB_OK)
        off[n] = (int64_t)at;
    char *po = tb_asprintf("%s/unit_offsets", g), *pi = tb_asprintf("%s/unit_ids", g),
         *pv = tb_asprintf("%s/unit_values", g);
    uint64_t dn[1] = {n + 1}, dt[1] = {total};
    if (st == TB_OK)
        st = tb_output_write_array(out, po, TB_I64, 1, dn, off, err);
    if (st == TB_OK && total)
        st = tb_output_write_array(out, pi, TB_I64, 1, dt, ids, err);
    if (st == TB_OK && total)
        st = tb_output_write_array(out, pv, TB_F64, 1, dt, val, err);
    if (st == TB_OK)
        st = tb_output_attr_int(out, g, "units_written", 1, err);
    free(po), free(pi), free(pv), free(off), free(ids), free(val);
    return st;
}

tb_status tb_perturb_declare(const void *data, const tb_scenario *sc, tb_output *out, tb_error *err)
{
    const tb_perturb_data *d = data;
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < d->n; ++i) {
        const pt_entry *e = &d->entries[i];
        char *g = tb_asprintf("/perturbations/%s", e->name);
        st = tb_output_attr_string(out, g, "plugin", e->plugin->name, err);
        if (st == TB_OK)
            st = tb_output_attr_string(out, g, "plugin_version", e->plugin->version ? e->plugin->version : "", err);
        if (st == TB_OK)
            st = tb_output_attr_double(out, g, "from_ms", e->from, err);
        if (st == TB_OK)
            st = tb_output_attr_double(out, g, "until_ms", isfinite(e->until) ? e->until : sc->duration, err);
        if (st == TB_OK)
            st = tb_output_attr_double(out, g, "ramp_ms", e->ramp, err);
        if (st == TB_OK)
            st = tb_output_attr_double(out, g, "fraction", e->fraction, err);
        if (st == TB_OK)
            st = write_targets(e, out, g, err);
        if (st == TB_OK) {
            char *pg = tb_asprintf("%s/parameters", g);
            st = write_params(e, out, pg, err);
            free(pg);
        }
        if (st == TB_OK)
            st = write_events(d, i, sc->dt, out, g, err);
        if (st == TB_OK)
            st = write_units(d, i, out, g, err);
        free(g);
    }
    return st;
}
