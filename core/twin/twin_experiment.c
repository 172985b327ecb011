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

static const char *const kinds[] = {"orientation_tuning", "receptive_field", "size_tuning", "response_to", NULL};
static const char *const noises[] = {"sparse", "white", NULL};

enum { TUNING = 1, RF = 2, SIZE = 4, RESP = 8, ALL = 15 };

static const tb_key_spec keys[] = {
    {"name", KT_STRING, true,
     .doc = "the experiment's name: its results go to /twin/experiments/NAME/ (letters, digits, _ and -)"},
    {"kind", KT_STRING, true, .choices = kinds,
     .doc = "orientation_tuning, receptive_field, size_tuning or response_to"},
    {"mean", KT_FLOAT, .min = -INFINITY, .max = INFINITY,
     .doc = "the grey level of the generated stimuli (not response_to); default 0"},
    {"burn_in", KT_INT, .min = 0, .max = 1e9,
     .doc = "frames shown before responses count (not response_to, which keeps every frame); default 8 "
            "(orientation_tuning, size_tuning), 0 (receptive_field)"},
    {"directions", KT_INT, .min = 3, .max = 3600,
     .doc = "orientation_tuning: drift directions, 360 k / directions degrees; default 8"},
    {"spatial_frequencies", KT_NUMBERS, .min = 0, .max = 0.5, .min_excl = true,
     .doc = "orientation_tuning: cycles per pixel, one or several; size_tuning: one; default 1/16"},
    {"temporal_frequencies", KT_NUMBERS, .min = -0.5, .max = 0.5,
     .doc = "orientation_tuning: drift in cycles per frame, one or several; size_tuning: one; default 1/8"},
    {"contrasts", KT_NUMBERS, .min = 0, .max = INFINITY,
     .doc = "orientation_tuning: grating amplitudes around mean, one or several; default 1"},
    {"window", KT_INT, .min = 1, .max = 1e9,
     .doc = "orientation_tuning, size_tuning: frames after burn_in over which responses are averaged; default 16"},
    {"square", KT_INT, .min = 1, .max = 65536,
     .doc = "receptive_field: side of a noise square in pixels (the grid's cell); default 1"},
    {"density", KT_FLOAT, .min = 0, .max = 1, .min_excl = true,
     .doc = "receptive_field: probability that a square is not grey in a pattern (half on, half off); default 0.1"},
    {"contrast", KT_FLOAT, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "receptive_field: on squares are mean + contrast, off squares mean - contrast; size_tuning: the "
            "grating's amplitude; default 1"},
    {"frames", KT_INT, .min = 1, .max = 1e9,
     .doc = "receptive_field: frames shown to each of the twin.batch instances, after burn_in; default 1000"},
    {"hold", KT_INT, .min = 1, .max = 1e6, .doc = "receptive_field: frames each pattern stays on screen; default 1"},
    {"lag", KT_INT, .min = 0, .max = 1e6,
     .doc = "receptive_field: frames from a pattern to the response it is paired with; default 0"},
    {"seed", KT_INT, .min = 0, .max = 9.2e18, .doc = "receptive_field: seed of the noise; default 1"},
    {"noise", KT_STRING, .choices = noises,
     .doc = "receptive_field: sparse (on/off squares on grey) or white (every square Gaussian, mean + contrast x "
            "N(0, 1)); default sparse"},
    {"radii", KT_NUMBERS, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "size_tuning: disc radii in pixels; default 1, 2, 4, 8, 16"},
    {"centre", KT_NUMBERS, .min = -INFINITY, .max = INFINITY,
     .doc = "size_tuning: [x, y], the discs' centre in pixels for every unit; default the frame's centre"},
    {"rf", KT_STRING, .doc = "size_tuning: an earlier receptive_field experiment whose fitted centres place each "
                             "unit's discs (instead of centre)"},
    {"direction", KT_FLOAT, .min = -INFINITY, .max = INFINITY,
     .doc = "size_tuning: drift direction in degrees for every unit; default 0"},
    {"tuning", KT_STRING, .doc = "size_tuning: an earlier orientation_tuning experiment whose preferred "
                                 "directions each unit's gratings take (instead of direction)"},
    {"file", KT_STRING, .doc = "response_to: HDF5 file of stimuli, relative to the scenario's folder"},
    {"dataset", KT_STRING, .doc = "response_to: the dataset, [stimuli, frames, height, width], uint8 or float; "
                                  "default stimuli"},
    {"scale", KT_FLOAT, .min = -INFINITY, .max = INFINITY,
     .doc = "response_to: value = raw x scale + offset; default 1/255 for uint8, 1 otherwise"},
    {"offset", KT_FLOAT, .min = -INFINITY, .max = INFINITY, .doc = "response_to: added after scaling; default 0"},
};

/* Which kinds read each key, in the order of keys[]. */
static const int readers[] = {
    ALL,    ALL,           ALL & ~RESP,   ALL & ~RESP, /* name, kind, mean, burn_in */
    TUNING, TUNING | SIZE, TUNING | SIZE, TUNING,      TUNING | SIZE, /* directions .. window */
    RF,     RF,            RF | SIZE,     RF,          RF, RF, RF, RF, /* square .. noise */
    SIZE,   SIZE,          SIZE,          SIZE,        SIZE,          /* radii .. tuning */
    RESP,   RESP,          RESP,          RESP,                       /* file .. offset */
};
_Static_assert(N_(readers) == N_(keys), "one readers entry per key");

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
        free(e->radii.v);
        free(e->where);
        free(e->file);
        free(e->dataset);
        free(e->file_where);
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

/* The name of an earlier experiment of kind `want`, or -1. */
static long earlier(tb_schema_checker *c, const tb_toml_value *t, const char *key, size_t i, const tw_experiment *all,
                    tw_exp_kind want, const char *want_name)
{
    const tb_toml_value *v = tb_toml_get(t, key);
    const char *name = tb_toml_as_string(v);
    if (!name || tb_schema_refused(c, v))
        return -1;
    for (size_t j = 0; j < i; ++j)
        if (all[j].name && strcmp(all[j].name, name) == 0 && all[j].kind == want)
            return (long)j;
    tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "experiment[%zu].%s: no %s experiment named \"%s\" before this one",
                     i, key, want_name, name);
    return -1;
}

static void check_size(tb_schema_checker *c, const tb_toml_value *t, size_t i, tw_experiment *e)
{
    const tw_experiment *all = e - i;
    static const double radii[] = {1, 2, 4, 8, 16};
    read_list(t, "radii", 0, &e->radii);
    if (!tb_toml_get(t, "radii") && e->radii.v) {
        free(e->radii.v);
        e->radii.v = malloc(sizeof radii);
        e->radii.n = e->radii.v ? N_(radii) : 0;
        for (size_t k = 0; k < e->radii.n; ++k)
            e->radii.v[k] = radii[k];
    }
    const char *one[] = {"spatial_frequencies", "temporal_frequencies"};
    for (int k = 0; k < 2; ++k) {
        const tb_toml_value *v = tb_toml_get(t, one[k]);
        if (v && v->type == TB_TOML_ARRAY && v->u.arr.n != 1)
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "experiment[%zu].%s: size_tuning takes one value", i, one[k]);
    }
    e->direction = tb_schema_num(c, t, "direction", 0);
    const tb_toml_value *cv = tb_toml_get(t, "centre");
    if (cv && !tb_schema_refused(c, cv)) {
        if (cv->type != TB_TOML_ARRAY || cv->u.arr.n != 2)
            tb_schema_report(c, TB_ERR_SCENARIO, cv->pos, "experiment[%zu].centre must be [x, y]", i);
        else {
            e->has_centre = true;
            for (int k = 0; k < 2; ++k)
                tb_toml_as_double(cv->u.arr.items[k], &e->centre[k]);
        }
    }
    e->rf = earlier(c, t, "rf", i, all, TW_EXP_RF, "receptive_field");
    e->tuning = earlier(c, t, "tuning", i, all, TW_EXP_ORIENTATION, "orientation_tuning");
    const tb_toml_value *rv = tb_toml_get(t, "rf"), *dv = tb_toml_get(t, "direction");
    if (cv && rv)
        tb_schema_report(c, TB_ERR_SCENARIO, rv->pos, "experiment[%zu]: give centre or rf, not both", i);
    if (dv && tb_toml_get(t, "tuning"))
        tb_schema_report(c, TB_ERR_SCENARIO, dv->pos, "experiment[%zu]: give direction or tuning, not both", i);
}

static void check_response(tb_schema_checker *c, tb_scenario *sc, const tb_toml_value *t, size_t i, tw_experiment *e)
{
    e->scale = tb_schema_num(c, t, "scale", NAN);
    e->offset = tb_schema_num(c, t, "offset", 0);
    char *ds = tb_schema_get_s(t, "dataset");
    e->dataset = ds ? ds : tb_strdup("stimuli");
    const tb_toml_value *fv = tb_toml_get(t, "file");
    const char *file = tb_toml_as_string(fv);
    if (!file) {
        if (!fv)
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "experiment[%zu]: kind \"response_to\" needs file = "
                             "\"STIMULI.h5\"", i);
        return;
    }
    char key[64];
    snprintf(key, sizeof key, "experiment[%zu].file", i);
    e->file = tb_scenario_input_path(sc, key, file);
    e->file_where = tb_schema_where(c->file, fv->pos);
    if (e->file && !tb_file_exists(e->file))
        tb_schema_report(c, TB_ERR_INPUT, fv->pos, "%s: no such file '%s' (looked for %s)", key, file, e->file);
}

static void check_one(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t, size_t i, tw_experiment *e)
{
    char prefix[64];
    e->rf = e->tuning = -1;
    snprintf(prefix, sizeof prefix, "experiment[%zu]", i);
    if (!tb_schema_table(c, t, keys, N_(keys), prefix))
        return;
    const char *kind = tb_toml_as_string(tb_toml_get(t, "kind"));
    e->kind = TW_EXP_ORIENTATION;
    for (int k = 0; kind && kinds[k]; ++k)
        if (strcmp(kind, kinds[k]) == 0)
            e->kind = (tw_exp_kind)k;
    static const int bit[] = {TUNING, RF, SIZE, RESP};
    if (kind)
        refuse_foreign(c, t, bit[e->kind], kind, i);
    e->name = tb_schema_get_s(t, "name");
    const tb_toml_value *nv = tb_toml_get(t, "name");
    if (nv && e->name && !good_name(e->name))
        tb_schema_report(c, TB_ERR_SCENARIO, nv->pos,
                         "experiment[%zu].name \"%s\" must be letters, digits, _ and - (it names an HDF5 group)", i,
                         e->name);
    e->mean = tb_schema_num(c, t, "mean", 0);
    bool zero_burn = e->kind == TW_EXP_RF || e->kind == TW_EXP_RESPONSE;
    e->burn_in = (uint64_t)tb_schema_int(c, t, "burn_in", zero_burn ? 0 : 8);
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
    const char *noise = tb_toml_as_string(tb_toml_get(t, "noise"));
    e->white = noise && strcmp(noise, "white") == 0;
    const tb_toml_value *dv = tb_toml_get(t, "density");
    if (e->white && dv)
        tb_schema_report(c, TB_ERR_SCENARIO, dv->pos,
                         "experiment[%zu].density is for sparse noise: white noise draws every square", i);
    const tb_toml_value *sq = tb_toml_get(t, "square");
    e->where = tb_schema_where(c->file, sq ? sq->pos : t->pos);
    if (e->kind == TW_EXP_SIZE)
        check_size(c, t, i, e);
    if (e->kind == TW_EXP_RESPONSE)
        check_response(c, sc, t, i, e);
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
            check_one(c, sc, arr->u.arr.items[i], i, &out->e[i]);
        else
            out->e[i].rf = out->e[i].tuning = -1;
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
        tb_status st = e->kind == TW_EXP_RESPONSE ? tw_response_to_fit(e, i, H, W, err) : TB_OK;
        if (st)
            return st;
    }
    return TB_OK;
}
