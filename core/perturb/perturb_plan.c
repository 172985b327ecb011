/* The plan of a scenario's perturbations: targets resolved against the
 * kit's groups (region labels, population names), each plugin's plan run
 * once, its actions checked against the kit's operations and laid on
 * steps (ramps in stages, undoing at `until`), sorted by step. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perturb_internal.h"

typedef struct pt_ctx {
    tb_perturb_ctx pub;
    tb_perturb_data *d;
    pt_entry *e;
    size_t entry;
    const tb_scenario *sc;
    const tb_kit_ops *ops;
    size_t *sets[PT_MAX_SETS];
    size_t lens[PT_MAX_SETS];
    size_t seq;
    long instance; /* each = true: the instance being planned, else -1 */
    const double *weights; /* the kit's, read once, or NULL */
} pt_ctx;

void tb_perturb_clear_events(tb_perturb_data *d)
{
    for (size_t i = 0; i < d->n_ev; ++i) {
        tb_perturb_event *e = &d->ev[i];
        free(e->units), free(e->to), free(e->to_values), free(e->name), free(e->values), free(e->samples);
    }
    free(d->ev);
    d->ev = NULL;
    d->n_ev = d->cap_ev = 0;
}

static tb_status fail_at(const pt_ctx *x, tb_toml_pos pos, tb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static tb_status fail_at(const pt_ctx *x, tb_toml_pos pos, tb_error *err, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *w = tb_scenario_where(x->sc, pos);
    tb_status st = tb_error_set(err, TB_ERR_SCENARIO, "%sperturbation '%s': %s", w, x->e->name, msg);
    free(w);
    return st;
}

/* ------------------------------------------------------------ targets */

static long find_group(const tb_unit_group *g, size_t n, const char *name)
{
    for (size_t i = 0; i < n; ++i)
        if (strcmp(g[i].name, name) == 0)
            return (long)i;
    return -1;
}

static tb_status unknown_group(const pt_ctx *x, const tb_toml_value *v, const tb_unit_group *g, size_t n,
                               const char *key, tb_error *err)
{
    const char **names = calloc(n + 1, sizeof *names);
    for (size_t i = 0; names && i < n; ++i)
        names[i] = g[i].name;
    const char *sug = names ? tb_schema_closest(v->u.s.ptr, names, n) : NULL;
    tb_status st = fail_at(x, v->pos, err, "%s: %s scenarios have no %s '%s'%s%s%s", key, x->sc->kit->name,
                           x->ops->group_noun, v->u.s.ptr, sug ? "; did you mean '" : "", sug ? sug : "",
                           sug ? "'?" : "");
    free(names);
    return st;
}

/* A target set's units: each group's, the first `fraction` of them; of
 * element `only` alone when it is not SIZE_MAX (each = true). */
static tb_status resolve_set(pt_ctx *x, size_t k, const tb_unit_group *g, size_t ng, size_t only, tb_error *err)
{
    const tb_toml_value *arr = x->e->sets[k];
    const char *key = x->e->kind->sets[k];
    size_t cap = 0, n = 0;
    size_t *u = NULL;
    free(x->sets[k]);
    x->sets[k] = NULL;
    bool all = arr && arr->type == TB_TOML_STRING;
    size_t count = all ? ng : arr ? arr->u.arr.n : 0;
    for (size_t i = 0; i < count; ++i) {
        if (only != SIZE_MAX && i != only)
            continue;
        const tb_toml_value *v = all ? NULL : arr->u.arr.items[i];
        long gi = all ? (long)i : -1;
        if (all)
            goto take;
        if (v->type == TB_TOML_STRING && (gi = find_group(g, ng, v->u.s.ptr)) < 0) {
            free(u);
            return unknown_group(x, v, g, ng, key, err);
        }
        if (v->type == TB_TOML_INTEGER) {
            if (v->u.i < 0 || (uint64_t)v->u.i >= ng) {
                free(u);
                return fail_at(x, v->pos, err, "%s: %s index %lld is outside 0..%zu", key, x->ops->group_noun,
                               (long long)v->u.i, ng - 1);
            }
            gi = (long)v->u.i;
        }
        if (gi < 0) {
            free(u);
            return fail_at(x, v->pos, err, "%s: give %s names or indices, not %s", key, x->ops->group_noun,
                           tb_toml_type_name(v->type));
        }
    take:;
        size_t take = (size_t)ceil(x->e->fraction * (double)g[gi].n - 1e-9);
        if (!tb_grow((void **)&u, &cap, n + take, sizeof *u)) {
            free(u);
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        }
        for (size_t j = 0; j < take; ++j)
            u[n++] = g[gi].lo + j;
    }
    x->sets[k] = u;
    x->lens[k] = n;
    return TB_OK;
}

/* ------------------------------------------------------------ the context */

/* A parameter's value: the instance's own when swept. */
static const tb_toml_value *param_value(const tb_perturb_ctx *ctx, const char *name)
{
    const pt_ctx *x = (const pt_ctx *)ctx;
    const tb_toml_value *sw = x->e->sweep ? tb_toml_get(x->e->sweep, name) : NULL;
    if (sw && x->instance >= 0 && (size_t)x->instance < sw->u.arr.n)
        return sw->u.arr.items[x->instance];
    return x->e->params ? tb_toml_get(x->e->params, name) : NULL;
}

static double ctx_num(const tb_perturb_ctx *ctx, const char *name)
{
    const tb_toml_value *v = param_value(ctx, name);
    double out = NAN;
    if (v && v->type == TB_TOML_ARRAY && v->u.arr.n)
        v = v->u.arr.items[0];
    return v && tb_toml_as_double(v, &out) ? out : NAN;
}

static const double *ctx_nums(const tb_perturb_ctx *ctx, const char *name, size_t *n)
{
    /* kept with the entry's context: the plan reads them while it runs */
    static _Thread_local double *buf;
    const tb_toml_value *v = param_value(ctx, name);
    *n = 0;
    if (!v)
        return NULL;
    size_t len = v->type == TB_TOML_ARRAY ? v->u.arr.n : 1;
    free(buf);
    buf = calloc(len + 1, sizeof *buf);
    for (size_t i = 0; buf && i < len; ++i)
        tb_toml_as_double(v->type == TB_TOML_ARRAY ? v->u.arr.items[i] : v, &buf[i]);
    *n = buf ? len : 0;
    return buf;
}

static const char *ctx_str(const tb_perturb_ctx *ctx, const char *name)
{
    return tb_toml_as_string(param_value(ctx, name));
}

static const char *ctx_strs(const tb_perturb_ctx *ctx, const char *name, size_t k)
{
    const tb_toml_value *v = param_value(ctx, name);
    return v && v->type == TB_TOML_ARRAY && k < v->u.arr.n ? tb_toml_as_string(v->u.arr.items[k]) : NULL;
}

static tb_status ctx_fail(const tb_perturb_ctx *ctx, const char *key, tb_error *err, const char *message)
{
    const pt_ctx *x = (const pt_ctx *)ctx;
    const tb_toml_value *v = key ? param_value(ctx, key) : NULL;
    return fail_at(x, v ? v->pos : x->e->pos, err, "%s", message);
}

/* ------------------------------------------------------------ actions */

static tb_perturb_event *new_event(pt_ctx *x, tb_error *err)
{
    tb_perturb_data *d = x->d;
    if (!tb_grow((void **)&d->ev, &d->cap_ev, d->n_ev + 1, sizeof *d->ev)) {
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    tb_perturb_event *e = &d->ev[d->n_ev++];
    memset(e, 0, sizeof *e);
    e->entry = x->entry;
    e->seq = x->seq++;
    return e;
}

/* The action's units and its target units (TB_OP_EDGES): explicit, or a set's. */
static const size_t *units_of(const pt_ctx *x, const tb_perturb_action *a, size_t *n)
{
    *n = a->units ? a->n_units : x->lens[a->set];
    return a->units ? a->units : x->sets[a->set];
}

static const size_t *units_to_of(const pt_ctx *x, const tb_perturb_action *a, size_t *n)
{
    *n = a->units_to ? a->n_units_to : x->lens[a->set_to];
    return a->units_to ? a->units_to : x->sets[a->set_to];
}

static double *copy_doubles(const double *src, size_t n, double fill)
{
    double *out = malloc((n ? n : 1) * sizeof *out);
    for (size_t i = 0; out && i < n; ++i)
        out[i] = src ? src[i] : fill;
    return out;
}

/* One event: the action's units, `values` each (NULL: the action's). */
static tb_status add_event(pt_ctx *x, const tb_perturb_action *a, uint64_t step, uint64_t end, const double *vals,
                           double value, bool undo, tb_error *err)
{
    tb_perturb_event *e = new_event(x, err);
    if (!e)
        return TB_ERR_OTHER;
    e->op = a->op;
    e->step = step;
    e->end_step = end;
    e->undo = undo;
    e->mode = undo ? TB_PERTURB_SCALE : a->mode;
    e->instance = a->instance;
    const size_t *u = units_of(x, a, &e->n_units);
    e->units = malloc((e->n_units ? e->n_units : 1) * sizeof *e->units);
    if (e->units)
        memcpy(e->units, u, e->n_units * sizeof *e->units);
    if (a->op == TB_OP_EDGES) {
        const size_t *t = units_to_of(x, a, &e->n_to);
        e->to = malloc((e->n_to ? e->n_to : 1) * sizeof *e->to);
        if (e->to)
            memcpy(e->to, t, e->n_to * sizeof *e->to);
        e->to_values = copy_doubles(undo ? NULL : a->per_unit_to, e->n_to, 1.0);
        if (!e->to_values)
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    e->name = a->name ? tb_strdup(a->name) : NULL;
    e->values = copy_doubles(vals, e->n_units, value);
    if (a->op == TB_OP_INPUT) {
        e->n_samples = a->n_samples;
        e->samples = copy_doubles(a->samples, a->n_samples, 0);
    }
    if (!e->units || !e->values || (a->op == TB_OP_EDGES && !e->to) || (a->op == TB_OP_INPUT && !e->samples))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    return TB_OK;
}

static bool single_op(unsigned op)
{
    return op && (op & (op - 1)) == 0 && op <= TB_OP_INPUT;
}

static tb_status check_action(pt_ctx *x, const tb_perturb_action *a, tb_error *err)
{
    const char *plugin = x->e->plugin->name;
    if (!single_op(a->op))
        return fail_at(x, x->e->pos, err, "plugin '%s' emitted an action with operation bits %#x (one TB_OP_ bit)",
                       plugin, a->op);
    if (!(x->ops->offered & a->op))
        return fail_at(x, x->e->pos, err, "plugin '%s' needs to %s, which %s scenarios cannot do (the %s kit "
                       "offers no such operation)", plugin, tb_perturb_op_name(a->op), x->sc->kit->name,
                       x->sc->kit->name);
    size_t ns = x->e->n_sets;
    bool own_from = a->units != NULL, own_to = a->op != TB_OP_EDGES || a->units_to != NULL;
    if ((!own_from && a->set >= ns) || (!own_to && a->set_to >= ns))
        return fail_at(x, x->e->pos, err, "plugin '%s' emitted an action on target set %zu; it has %zu", plugin,
                       !own_from && a->set >= ns ? a->set : a->set_to, ns);
    if ((!own_from && !x->e->sets[a->set]) || (!own_to && !x->e->sets[a->set_to]))
        return fail_at(x, x->e->pos, err, "plugin '%s' needs `%s` here", plugin,
                       x->e->kind->sets[!own_from && !x->e->sets[a->set] ? a->set : a->set_to]);
    for (size_t i = 0; own_from && i < a->n_units; ++i)
        if (a->units[i] >= x->pub.n_units)
            return fail_at(x, x->e->pos, err, "plugin '%s' named unit %zu of %zu", plugin, a->units[i],
                           x->pub.n_units);
    for (size_t i = 0; a->units_to && i < a->n_units_to; ++i)
        if (a->units_to[i] >= x->pub.n_units)
            return fail_at(x, x->e->pos, err, "plugin '%s' named unit %zu of %zu", plugin, a->units_to[i],
                           x->pub.n_units);
    char *known = NULL;
    if ((a->op & (TB_OP_PARAM | TB_OP_STATE | TB_OP_INPUT)) && !x->ops->has(x->sc, a->op, a->name, &known)) {
        tb_status st = fail_at(x, x->e->pos, err, "%s scenarios have no %s '%s' to %s (they have: %s)",
                               x->sc->kit->name, a->op == TB_OP_PARAM ? "parameter" : "variable",
                               a->name ? a->name : "", tb_perturb_op_name(a->op), known ? known : "none");
        free(known);
        return st;
    }
    free(known);
    if (a->op == TB_OP_PARAM && a->mode == TB_PERTURB_SET && x->e->ramp > 0)
        return fail_at(x, x->e->pos, err, "a ramp grows a scaling; plugin '%s' sets '%s' outright", plugin,
                       a->name);
    if (a->instance >= 0 && !(x->ops->per_instance & a->op))
        return fail_at(x, x->e->pos, err, "plugin '%s' needs to %s in one instance alone, which %s scenarios cannot "
                       "do (a run's instances share it): no `each` or `sweep` with it", plugin,
                       tb_perturb_op_name(a->op), x->sc->kit->name);
    if (a->instance < -1 || a->instance >= (long)x->sc->n_instances)
        return fail_at(x, x->e->pos, err, "instance %ld is outside the run's 0..%zu", a->instance,
                       x->sc->n_instances - 1);
    size_t nu, nt = 0;
    units_of(x, a, &nu);
    if (a->op == TB_OP_EDGES)
        units_to_of(x, a, &nt);
    for (size_t i = 0; a->per_unit_to && i < nt; ++i)
        if (!isfinite(a->per_unit_to[i]))
            return fail_at(x, x->e->pos, err, "plugin '%s' computed a value that is not finite", plugin);
    for (size_t i = 0; a->per_unit && i < nu; ++i)
        if (!isfinite(a->per_unit[i]))
            return fail_at(x, x->e->pos, err, "plugin '%s' computed a value that is not finite", plugin);
    if (!isfinite(a->t) || a->t < 0 || a->t >= x->sc->duration || !(a->t_end > a->t))
        return fail_at(x, x->e->from_pos, err, "plugin '%s' acts at %g ms (until %g ms), outside the run (0 to %g "
                       "ms)", plugin, a->t, a->t_end, x->sc->duration);
    return TB_OK;
}

static uint64_t step_of(const pt_ctx *x, double t)
{
    return (uint64_t)llround(t / x->sc->dt);
}

/* The action on its steps: ramped in stages, undone at t_end. */
static tb_status ctx_emit(tb_perturb_ctx *ctx, const tb_perturb_action *a, tb_error *err)
{
    pt_ctx *x = (pt_ctx *)ctx;
    tb_perturb_action own;
    if (x->instance >= 0) { /* each = true: the plan's actions are this instance's */
        own = *a;
        own.instance = x->instance;
        a = &own;
    }
    tb_status st = check_action(x, a, err);
    if (st != TB_OK)
        return st;
    uint64_t s0 = step_of(x, a->t);
    uint64_t end = isfinite(a->t_end) ? step_of(x, a->t_end) : UINT64_MAX;
    if (s0 >= x->sc->steps)
        return fail_at(x, x->e->from_pos, err, "%g ms is the run's end (step %llu of %llu): nothing left to perturb",
                       a->t, (unsigned long long)s0, (unsigned long long)x->sc->steps);
    bool rampable = x->e->ramp > 0 && (a->op == TB_OP_EDGES || a->op == TB_OP_PARAM);
    size_t stages = 1;
    if (rampable) {
        double r = ceil(x->e->ramp / x->sc->dt);
        stages = r < 1 ? 1 : r > 100 ? 100 : (size_t)r;
    }
    size_t n;
    units_of(x, a, &n);
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 1; st == TB_OK && k <= stages; ++k) {
        double f = (double)k / (double)stages;
        for (size_t i = 0; i < n; ++i) {
            double full = a->op == TB_OP_EDGES ? a->value * (a->per_unit ? a->per_unit[i] : 1.0)
                          : a->per_unit       ? a->per_unit[i]
                                              : a->value;
            v[i] = stages == 1 ? full : 1 + (full - 1) * f;
        }
        uint64_t s = stages == 1 ? s0 : step_of(x, a->t + x->e->ramp * (double)(k - 1) / (double)stages);
        st = add_event(x, a, s, end, v, 0, false, err);
    }
    free(v);
    bool undoable = a->op == TB_OP_EDGES || a->op == TB_OP_PARAM || a->op == TB_OP_SILENCE;
    if (st == TB_OK && undoable && end < x->sc->steps)
        st = add_event(x, a, end, end, NULL, 1.0, true, err);
    return st;
}

/* ------------------------------------------------------------ prepare */

static int by_step(const void *a, const void *b)
{
    const tb_perturb_event *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    if (x->undo != y->undo)
        return x->undo ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static tb_status plan_once(pt_ctx *x, size_t n_units, tb_error *err);

static tb_status plan_entry(pt_ctx *x, const tb_unit_group *g, size_t ng, size_t n_units, tb_error *err)
{
    const tb_perturbation *kind = x->e->kind;
    for (unsigned op = 1; op <= TB_OP_INPUT; op <<= 1)
        if ((kind->needs & op) && !(x->ops->offered & op))
            return fail_at(x, x->e->pos, err, "plugin '%s' needs to %s, which %s scenarios cannot do (the %s kit "
                           "offers no such operation)", x->e->plugin->name, tb_perturb_op_name(op),
                           x->sc->kit->name, x->sc->kit->name);
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < x->e->n_sets; ++k)
        st = resolve_set(x, k, g, ng, SIZE_MAX, err);
    if (st != TB_OK)
        return st;
    for (size_t i = 0; st == TB_OK && i < x->e->n_sweep; ++i) { /* one plan per swept value */
        x->instance = (long)i;
        st = plan_once(x, n_units, err);
    }
    if (x->e->n_sweep)
        return st;
    if (!x->e->each)
        return plan_once(x, n_units, err);
    /* one plan per element of the first set, each its instance's */
    size_t n = x->e->sets[0]->type == TB_TOML_STRING ? ng : x->e->sets[0]->u.arr.n;
    for (size_t i = 0; st == TB_OK && i < n; ++i) {
        x->instance = (long)i;
        st = resolve_set(x, 0, g, ng, i, err);
        if (st == TB_OK)
            st = plan_once(x, n_units, err);
    }
    return st;
}

static tb_status plan_once(pt_ctx *x, size_t n_units, tb_error *err)
{
    const tb_perturbation *kind = x->e->kind;
    tb_status st = TB_OK;
    x->pub = (tb_perturb_ctx){
        .dt = x->sc->dt, .duration = x->sc->duration, .from = x->e->from, .until = x->e->until,
        .ramp = x->e->ramp, .n_units = n_units, .n_instances = x->sc->n_instances, .kit = x->sc->kit->name,
        .n_sets = x->e->n_sets, .set_len = x->lens, .sets = (const size_t *const *)x->sets,
        .num = ctx_num, .nums = ctx_nums, .str = ctx_str, .strs = ctx_strs, .emit = ctx_emit, .fail = ctx_fail,
        .weights = x->weights, .core = x,
    };
    st = kind->plan(&x->pub, err);
    if (st != TB_OK && !(err && err->message && err->message[0]))
        st = fail_at(x, x->e->pos, err, "plugin '%s' failed to plan without saying why", x->e->plugin->name);
    else if (st != TB_OK && !strstr(tb_error_message(err), x->e->name)) {
        char *w = tb_scenario_where(x->sc, x->e->pos);
        tb_error_prefix(err, "%sperturbation '%s': ", w, x->e->name);
        free(w);
    }
    return st;
}

tb_status tb_perturb_prepare(const tb_scenario *sc, void *data, tb_error *err)
{
    tb_perturb_data *d = data;
    tb_perturb_clear_events(d);
    const tb_kit_ops *ops = sc->kit->ops;
    if (!ops && d->n) {
        char *w = tb_scenario_where(sc, d->entries[0].pos);
        tb_status st = tb_error_set(err, TB_ERR_SCENARIO, "%sperturbation '%s': %s scenarios cannot be perturbed "
                                    "(the %s kit offers no operations)", w, d->entries[0].name, sc->kit->name,
                                    sc->kit->name);
        free(w);
        return st;
    }
    tb_unit_group *g = NULL;
    size_t ng = 0, n_units = 0;
    double *w = NULL;
    tb_status st = ops->groups(sc, &g, &ng, &n_units, err);
    if (st == TB_OK && ops->weights)
        st = ops->weights(sc, &w, err);
    for (size_t i = 0; st == TB_OK && i < d->n; ++i) {
        pt_ctx x = {.d = d, .e = &d->entries[i], .entry = i, .sc = sc, .ops = ops, .instance = -1, .weights = w};
        st = plan_entry(&x, g, ng, n_units, err);
        for (size_t k = 0; k < PT_MAX_SETS; ++k)
            free(x.sets[k]);
    }
    for (size_t i = 0; i < ng; ++i)
        free(g[i].name);
    free(g);
    free(w);
    if (st == TB_OK)
        qsort(d->ev, d->n_ev, sizeof *d->ev, by_step);
    else
        tb_perturb_clear_events(d);
    return st;
}
