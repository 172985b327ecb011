/* [[experiment]] tables (twin_experiment.h): their keys and checks. Keys
 * that only one kind reads carry no schema default, so that a key given
 * to the other kind can be refused by name. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "twin_experiment.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kinds[] = {"orientation_tuning", "receptive_field", NULL};

enum { BOTH = 3, TUNING = 1, RF = 2 };

static const tb_key_spec keys[] = {
    {"name", KT_STRING, true,
     .doc = "the experiment's name: its results go to /twin/experiments/NAME/ (letters, digits, _ and -)"},
    {"kind", KT_STRING, true, .choices = kinds, .doc = "orientation_tuning or receptive_field"},
    {"mean", KT_FLOAT, false, 0.0, .has_def = true, .min = -INFINITY, .max = INFINITY,
     .doc = "the grey level: the value of every pixel of a blank frame"},
    {"burn_in", KT_INT, .min = 0, .max = 1e9,
     .doc = "frames shown before responses count; default 8 (orientation_tuning), 0 (receptive_field)"},
    {"directions", KT_INT, .min = 3, .max = 3600,
     .doc = "orientation_tuning: drift directions, 360 k / directions degrees; default 8"},
    {"spatial_frequencies", KT_NUMBERS, .min = 0, .max = 0.5, .min_excl = true,
     .doc = "orientation_tuning: cycles per pixel, one or several; default 1/16"},
    {"temporal_frequencies", KT_NUMBERS, .min = -0.5, .max = 0.5,
     .doc = "orientation_tuning: drift in cycles per frame, one or several; default 1/8"},
    {"contrasts", KT_NUMBERS, .min = 0, .max = INFINITY,
     .doc = "orientation_tuning: grating amplitudes around mean, one or several; default 1"},
    {"window", KT_INT, .min = 1, .max = 1e9,
     .doc = "orientation_tuning: frames after burn_in over which responses are averaged; default 16"},
    {"square", KT_INT, .min = 1, .max = 65536,
     .doc = "receptive_field: side of a noise square in pixels (the grid's cell); default 1"},
    {"density", KT_FLOAT, .min = 0, .max = 1, .min_excl = true,
     .doc = "receptive_field: probability that a square is not grey in a pattern (half on, half off); default 0.1"},
    {"contrast", KT_FLOAT, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "receptive_field: on squares are mean + contrast, off squares mean - contrast; default 1"},
    {"frames", KT_INT, .min = 1, .max = 1e9,
     .doc = "receptive_field: frames shown to each of the twin.batch instances, after burn_in; default 1000"},
    {"hold", KT_INT, .min = 1, .max = 1e6, .doc = "receptive_field: frames each pattern stays on screen; default 1"},
    {"lag", KT_INT, .min = 0, .max = 1e6,
     .doc = "receptive_field: frames from a pattern to the response it is paired with; default 0"},
    {"seed", KT_INT, .min = 0, .max = 9.2e18, .doc = "receptive_field: seed of the noise; default 1"},
};

/* Which kinds read each key, in the order of keys[]. */
static const int readers[N_(keys)] = {BOTH, BOTH, BOTH, BOTH, TUNING, TUNING, TUNING, TUNING,
                                      TUNING, RF, RF, RF, RF, RF, RF, RF};

void tw_experiments_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, "experiment", keys, N_(keys));
}

void tw_experiments_free(tw_experiments *x)
{
    for (size_t i = 0; i < x->n; ++i) {
        tw_experiment *e = &x->e[i];
        free(e->name);
        free(e->sf.v);
        free(e->tf.v);
        free(e->contrasts.v);
        free(e->where);
    }
    free(x->e);
    x->e = NULL, x->n = 0;
}

static void read_list(const tb_toml_value *t, const char *key, double def, tw_list *out)
{
    tb_scenario_value val = {0};
    const tb_toml_value *v = tb_toml_get(t, key);
    bool ok = v && tb_schema_value_from(&val, key, v);
    out->n = ok && val.is_array ? val.n : 1;
    out->v = calloc(out->n, sizeof *out->v);
    for (size_t i = 0; out->v && i < out->n; ++i)
        out->v[i] = !ok ? def : val.is_array ? val.values[i] : val.scalar;
    free(val.name);
    free(val.values);
}

static bool good_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; ++s)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

static void refuse_foreign(tb_schema_checker *c, const tb_toml_value *t, int kind_bit, const char *kind, size_t i)
{
    for (size_t k = 0; k < N_(keys); ++k) {
        const tb_toml_kv *kv = tb_toml_get_kv(t, keys[k].name);
        if (kv && !(readers[k] & kind_bit))
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "experiment[%zu].%s is not read by kind \"%s\"", i,
                             keys[k].name, kind);
    }
}

static void check_one(tb_schema_checker *c, tb_toml_value *t, size_t i, tw_experiment *e)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "experiment[%zu]", i);
    if (!tb_schema_table(c, t, keys, N_(keys), prefix))
        return;
    const char *kind = tb_toml_as_string(tb_toml_get(t, "kind"));
    e->kind = kind && strcmp(kind, "receptive_field") == 0 ? TW_EXP_RF : TW_EXP_ORIENTATION;
    if (kind)
        refuse_foreign(c, t, e->kind == TW_EXP_RF ? RF : TUNING, kind, i);
    e->name = tb_schema_get_s(t, "name");
    const tb_toml_value *nv = tb_toml_get(t, "name");
    if (nv && e->name && !good_name(e->name))
        tb_schema_report(c, TB_ERR_SCENARIO, nv->pos,
                         "experiment[%zu].name \"%s\" must be letters, digits, _ and - (it names an HDF5 group)", i,
                         e->name);
    e->mean = tb_schema_num(c, t, "mean", 0);
    e->burn_in = (uint64_t)tb_schema_int(c, t, "burn_in", e->kind == TW_EXP_RF ? 0 : 8);
    e->directions = (size_t)tb_schema_int(c, t, "directions", 8);
    read_list(t, "spatial_frequencies", 1.0 / 16, &e->sf);
    read_list(t, "temporal_frequencies", 1.0 / 8, &e->tf);
    read_list(t, "contrasts", 1, &e->contrasts);
    e->window = (uint64_t)tb_schema_int(c, t, "window", 16);
    e->square = tb_schema_int(c, t, "square", 1);
    e->density = tb_schema_num(c, t, "density", 0.1);
    e->contrast = tb_schema_num(c, t, "contrast", 1);
    e->frames = (uint64_t)tb_schema_int(c, t, "frames", 1000);
    e->hold = (uint64_t)tb_schema_int(c, t, "hold", 1);
    e->lag = (uint64_t)tb_schema_int(c, t, "lag", 0);
    e->seed = (uint64_t)tb_schema_int(c, t, "seed", 1);
    const tb_toml_value *sq = tb_toml_get(t, "square");
    e->where = tb_schema_where(c->file, sq ? sq->pos : t->pos);
}

static void check_names(tb_schema_checker *c, const tb_toml_value *arr, const tw_experiments *x)
{
    for (size_t i = 0; i < x->n; ++i)
        for (size_t j = 0; j < i; ++j)
            if (x->e[i].name && x->e[j].name && strcmp(x->e[i].name, x->e[j].name) == 0) {
                const tb_toml_value *nv = tb_toml_get(arr->u.arr.items[i], "name");
                tb_schema_report(c, TB_ERR_SCENARIO, nv ? nv->pos : arr->pos,
                                 "experiment[%zu].name \"%s\" is also experiment[%zu]'s", i, x->e[i].name, j);
            }
}

void tw_experiments_check(tb_schema_checker *c, tb_scenario *sc, tw_experiments *out)
{
    tb_toml_value *arr = (tb_toml_value *)tb_toml_get(sc->doc, "experiment");
    if (!arr || arr->type != TB_TOML_ARRAY || tb_schema_refused(c, arr) || arr->u.arr.n == 0)
        return;
    out->e = calloc(arr->u.arr.n, sizeof *out->e);
    if (!out->e)
        return;
    out->n = arr->u.arr.n;
    for (size_t i = 0; i < out->n; ++i)
        if (arr->u.arr.items[i]->type == TB_TOML_TABLE)
            check_one(c, arr->u.arr.items[i], i, &out->e[i]);
    check_names(c, arr, out);
}

tb_status tw_experiments_fit(const tw_experiments *x, size_t H, size_t W, tb_error *err)
{
    for (size_t i = 0; i < x->n; ++i) {
        const tw_experiment *e = &x->e[i];
        if (e->kind == TW_EXP_RF && ((size_t)e->square > H || (size_t)e->square > W))
            return tb_error_set(err, TB_ERR_INPUT,
                                "%sexperiment[%zu].square is %lld pixels; the network's frames are %zux%zu "
                                "(height x width): no square fits",
                                e->where ? e->where : "", i, (long long)e->square, H, W);
    }
    return TB_OK;
}
