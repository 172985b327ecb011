/* [[stimulus]]: pulse trains, sinusoids, Gaussian pulses and series read
 * from HDF5, added to a variable's derivative in chosen regions. The same
 * hook serves stimulation perturbations. */
#include "config.h"

#include "mass_scenario.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stimulus.h"
#include "twinbrain/mass.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kinds[] = {"pulse_train", "sinusoid", "gaussian", "series", NULL};

const tb_key_spec tb_stimulus_keys[] = {
    {"variable", KT_STRING, true, .doc = "the state variable whose derivative receives the input"},
    {"kind", KT_STRING, true, .choices = kinds, .doc = "pulse_train, sinusoid, gaussian or series"},
    {"amplitude", KT_FLOAT, false, 1.0, .has_def = true, .min = -INFINITY, .max = INFINITY,
     .doc = "scale of the waveform, in units of the variable per ms"},
    {"regions", KT_ARRAY, .doc = "region labels or 0-based indices; default all"},
    {"weights", KT_NUMBERS, .min = -INFINITY, .max = INFINITY, .doc = "one factor per listed region (default 1)"},
    {"onset", KT_FLOAT, false, 0.0, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "ms; the input is zero before it"},
    {"stop", KT_FLOAT, false, .min = 0, .max = INFINITY, .doc = "ms; the input is zero from it on (default never)",
     .inf_ok = true},
    {"period", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "pulse_train: time between pulse starts (ms); series: time between samples (ms)"},
    {"width", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true, .doc = "pulse_train: pulse length (ms)"},
    {"count", KT_INT, false, .min = 1, .max = 9.2e18, .doc = "pulse_train: number of pulses (default unlimited)"},
    {"frequency", KT_FLOAT, false, .min = 0, .max = INFINITY, .doc = "sinusoid: Hz"},
    {"phase", KT_FLOAT, false, 0.0, .min = -INFINITY, .max = INFINITY, .doc = "sinusoid: radians at onset"},
    {"center", KT_FLOAT, false, .min = -INFINITY, .max = INFINITY, .doc = "gaussian: time of the peak (ms)"},
    {"sigma", KT_FLOAT, false, .min = 0, .max = INFINITY, .min_excl = true, .doc = "gaussian: width (ms)"},
    {"file", KT_STRING, .doc = "series: HDF5 file, relative to the scenario's folder"},
    {"dataset", KT_STRING, .doc = "series: dataset [T] (every listed region) or [T, listed regions]; default "
                                  "/stimulus"},
};
const size_t tb_n_stimulus_keys = N_(tb_stimulus_keys);

/* Which keys each kind needs (n: needed, o: optional); others are refused. */
static const struct {
    const char *key;
    char need[4]; /* pulse_train, sinusoid, gaussian, series */
} per_kind[] = {
    {"period", "n--n"}, {"width", "n---"},  {"count", "o---"},   {"frequency", "-n--"}, {"phase", "-o--"},
    {"center", "--n-"}, {"sigma", "--n-"}, {"file", "---n"},    {"dataset", "---o"},
};

/* A checked number: `def` when absent, NaN when reported as wrong (the
 * checks below skip NaN: it has been reported). */
static double num(const tb_schema_checker *c, const tb_toml_value *t, const char *key, double def)
{
    return tb_schema_num(c, t, key, def);
}

/* Where a key is, or the table's position when the key is absent. */
static tb_toml_pos pos_of(const tb_toml_value *t, const char *key)
{
    const tb_toml_value *v = tb_toml_get(t, key);
    return v ? v->pos : t->pos;
}

static void check_one(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t, size_t idx, tb_scenario_stimulus *s)
{
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    char *prefix = tb_asprintf("stimulus[%zu]", idx);
    tb_schema_table(c, t, tb_stimulus_keys, tb_n_stimulus_keys, prefix);
    const tb_toml_value *regions = tb_toml_get(t, "regions");
    s->pos = t->pos;
    const char *kind = tb_toml_as_string(tb_toml_get(t, "kind"));
    size_t k = 0;
    while (kind && kinds[k] && strcmp(kinds[k], kind) != 0)
        ++k;
    s->kind = (tb_stimulus_kind)(kinds[k] ? k : 0);
    for (size_t i = 0; kind && kinds[k] && i < N_(per_kind); ++i) {
        const tb_toml_kv *kv = tb_toml_get_kv(t, per_kind[i].key);
        char need = per_kind[i].need[k];
        if (need == 'n' && !kv)
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos, "%s: a %s needs %s", prefix, kind, per_kind[i].key);
        if (need == '-' && kv)
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "%s.%s does not apply to a %s", prefix, per_kind[i].key,
                             kind);
    }
    s->amplitude = num(c, t, "amplitude", 1.0);
    s->onset = num(c, t, "onset", 0.0);
    s->stop = num(c, t, "stop", INFINITY);
    s->period = num(c, t, "period", 0.0);
    s->width = num(c, t, "width", 0.0);
    s->count = tb_schema_int(c, t, "count", -1);
    s->frequency = num(c, t, "frequency", 0.0);
    s->phase = num(c, t, "phase", 0.0);
    s->center = num(c, t, "center", 0.0);
    s->sigma = num(c, t, "sigma", 1.0);
    /* every value is finite now (non-finite ones are refused, but stop),
     * or NaN when refused: NaN fails every comparison below */
    if (s->kind == TB_STIM_PULSE_TRAIN && s->width > s->period && s->period > 0)
        tb_schema_report(c, TB_ERR_SCENARIO, pos_of(t, "width"), "%s.width (%g ms) is longer than its period (%g ms)",
                         prefix, s->width, s->period);
    if (s->stop <= s->onset)
        tb_schema_report(c, TB_ERR_SCENARIO, pos_of(t, "stop"), "%s.stop (%g ms) must come after onset (%g ms)", prefix,
                         s->stop, s->onset);
    /* what the generated code computes from them must stay finite too */
    if (s->kind == TB_STIM_SINUSOID && !isfinite(2.0 * M_PI * s->frequency / 1000.0))
        tb_schema_report(c, TB_ERR_SCENARIO, pos_of(t, "frequency"), "%s.frequency (%g Hz) is too large", prefix,
                         s->frequency);
    /* a series is indexed by sample: t / period must fit a step count */
    if (s->kind == TB_STIM_SERIES && s->period > 0 && sc->duration > 0 &&
        !(sc->duration / s->period <= TB_MAX_STEPS))
        tb_schema_report(c, TB_ERR_SCENARIO, pos_of(t, "period"),
                         "%s.period (%g ms) is too short: the run spans %g samples of it; at most 2^53 = %.0f", prefix,
                         s->period, sc->duration / s->period, TB_MAX_STEPS);
    const tb_toml_value *fv = tb_toml_get(t, "file");
    if (tb_toml_as_string(fv)) {
        char *key = tb_asprintf("%s.file", prefix);
        s->file = tb_scenario_input_path(sc, key, tb_toml_as_string(fv));
        free(key);
        if (!tb_file_exists(s->file))
            tb_schema_report(c, TB_ERR_INPUT, fv->pos, "%s.file: no such file '%s' (looked for %s)", prefix,
                             tb_toml_as_string(fv), s->file);
    }
    const char *ds = tb_toml_as_string(tb_toml_get(t, "dataset"));
    s->dataset = tb_strdup(ds ? ds : "/stimulus");
    if (regions && (regions->type != TB_TOML_ARRAY || regions->u.arr.n == 0))
        tb_schema_report(c, TB_ERR_SCENARIO, regions->pos, "%s.regions must list region labels or indices", prefix);
    for (size_t i = 0; regions && regions->type == TB_TOML_ARRAY && i < regions->u.arr.n; ++i) {
        const tb_toml_value *r = regions->u.arr.items[i];
        if (r->type != TB_TOML_STRING && r->type != TB_TOML_INTEGER)
            tb_schema_report(c, TB_ERR_SCENARIO, r->pos, "%s.regions[%zu] must be a label or an index", prefix, i);
    }
    s->regions = regions;
    s->weights = tb_toml_get(t, "weights");
    size_t nr = regions && regions->type == TB_TOML_ARRAY ? regions->u.arr.n : 0;
    if (s->weights && (s->weights->type != TB_TOML_ARRAY || s->weights->u.arr.n != nr))
        tb_schema_report(c, TB_ERR_SCENARIO, s->weights->pos,
                         "%s.weights must give one number per region listed in regions (%zu)", prefix, nr);
    const char *var = tb_toml_as_string(tb_toml_get(t, "variable"));
    if (var && ms->model) {
        const tb_mass_model *m = ms->mass;
        const char **names = calloc(m->n_vars + 1, sizeof *names);
        size_t v = 0;
        for (size_t i = 0; i < m->n_vars; ++i)
            names[i] = m->vars[i].name;
        while (v < m->n_vars && strcmp(names[v], var) != 0)
            ++v;
        if (v == m->n_vars) {
            const char *sug = tb_schema_closest(var, names, m->n_vars);
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "variable")->pos,
                             "%s.variable: '%s' is not a state variable of %s%s%s%s", prefix, var, ms->model->name,
                             sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
        }
        s->variable = v < m->n_vars ? v : 0;
        free(names);
    }
    free(prefix);
}

void tb_stimulus_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *arr)
{
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    if (!arr)
        return;
    if (arr->type != TB_TOML_ARRAY) /* the top level's check says so */
        return;
    ms->stimuli = calloc(arr->u.arr.n + 1, sizeof *ms->stimuli);
    for (size_t i = 0; ms->stimuli && i < arr->u.arr.n; ++i)
        if (arr->u.arr.items[i]->type == TB_TOML_TABLE) /* others are reported by the top level's check */
            check_one(c, sc, arr->u.arr.items[i], i, &ms->stimuli[ms->n_stimuli++]);
}

void tb_stimulus_free(tb_mass_scenario *ms)
{
    for (size_t i = 0; i < ms->n_stimuli; ++i) {
        free(ms->stimuli[i].file);
        free(ms->stimuli[i].dataset);
    }
    free(ms->stimuli);
}
