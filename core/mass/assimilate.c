/* Data assimilation: a stochastic ensemble Kalman filter (Evensen 1994;
 * perturbed observations, Burgers et al. 1998) over one model parameter
 * per region. The ensemble is the run's instances: member b's value of
 * the parameter at region n is a per-instance, per-region parameter on the
 * device. The run advances one chunk at a time without overlap, so that
 * after every sample of the chosen bold monitor the host updates the
 * parameters before the next chunk is launched:
 *
 *   theta_bn += C(theta_n, y_n) / (Var(y_n) + R) (d_n + e_bn - y_bn)
 *
 * with y_bn member b's BOLD at region n (the forecast), d_n the data,
 * e_bn ~ N(0, R) and the moments over members: each region's parameter
 * is updated from its own region's BOLD only (localisation to the region,
 * which keeps a small ensemble from spurious long-range correlations).
 * Then the analysis spread is inflated about its mean and the values kept
 * within the prior's range. Written per sample: the ensemble of
 * parameters, its mean and spread, the forecast BOLD's mean and the data;
 * at the end, the forecast's correlation with the data. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assimilate.h"
#include "h5read.h"
#include "mass_internal.h"
#include "rng.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
/* Philox streams of the filter's draws (other streams: rng.h) */
#define STREAM_PRIOR 0x41u
#define STREAM_OBS 0x42u

const char *const tb_assimilation_doc =
    "ensemble Kalman filter of a per-region model parameter against an empirical BOLD series (docs/brain.md)";

static const tb_key_spec keys[] = {
    {"data", KT_STRING, true, .doc = "HDF5 file with the empirical BOLD [regions, samples]; relative to the scenario"},
    {"dataset", KT_STRING, false, .def_s = "bold", .has_def = true, .doc = "the dataset in that file"},
    {"parameter", KT_STRING, true, .doc = "the model parameter estimated per region"},
    {"monitor", KT_STRING, .doc = "the bold monitor compared with the data; default the first bold monitor"},
    {"members", KT_INT, false, 32, .has_def = true, .min = 2, .max = 65536,
     .doc = "ensemble members (the run's instances)"},
    {"low", KT_FLOAT, true, .min = -INFINITY, .max = INFINITY,
     .doc = "prior: the parameter drawn uniformly in [low, high] per member and region; updates stay within"},
    {"high", KT_FLOAT, true, .min = -INFINITY, .max = INFINITY, .doc = "the prior's upper end"},
    {"observation_std", KT_FLOAT, false, 0.0, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "standard deviation of the observation error; 0: a tenth of the data's standard deviation"},
    {"inflation", KT_FLOAT, false, 1.0, .has_def = true, .min = 1, .max = 10,
     .doc = "multiplicative inflation of the analysis spread (1: none)"},
    {"start", KT_FLOAT, false, 0.0, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "ms: samples at or before it are not assimilated (the model's transient)"},
};

typedef struct tb_assim_rt {
    double *data;    /* [N][S] */
    size_t S;        /* data samples */
    double R;        /* observation variance */
    double *theta;   /* [B][N] */
    double *y;       /* [B][N] one sample's forecast */
    uint64_t sample; /* samples seen */
    double all[5];   /* sums of forecast mean vs data (x, y, xx, yy, xy), every assimilated sample */
    double *rs;      /* [N][5] the same sums per region */
    uint64_t n_corr;
    tb_dataset *time, *par, *mean, *spread, *fc, *obs, *corr, *corr_r;
} tb_assim_rt;

void tb_assimilation_free(tb_assimilation *a)
{
    if (!a)
        return;
    free(a->data_file);
    free(a->dataset);
    free(a->parameter);
    free(a->monitor);
    free(a);
}

void tb_assimilation_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, TB_ASSIMILATION_KEY, keys, N_(keys));
}

static bool find_monitor(tb_schema_checker *c, const tb_mass_scenario *ms, const tb_toml_value *t,
                         tb_assimilation *a)
{
    const tb_toml_value *mv = tb_toml_get(t, "monitor");
    for (size_t i = 0; i < ms->n_monitors; ++i) {
        const tb_scenario_monitor *m = &ms->monitors[i];
        if (m->kind == TB_MONITOR_BOLD && (!mv || (m->name && strcmp(m->name, tb_toml_as_string(mv)) == 0))) {
            a->monitor_index = i;
            a->monitor = tb_strdup(m->name ? m->name : "");
            if (m->n_variables != 1) {
                tb_schema_report(c, TB_ERR_SCENARIO, mv ? mv->pos : t->pos,
                                 "assimilation: bold monitor '%s' records %zu variables; the filter compares one",
                                 a->monitor, m->n_variables);
                return false;
            }
            return true;
        }
    }
    tb_schema_report(c, TB_ERR_SCENARIO, mv ? mv->pos : t->pos,
                     mv ? "assimilation.monitor: no bold monitor named '%s'" : "assimilation needs a bold monitor%s",
                     mv ? tb_toml_as_string(mv) : " ([[monitor]] kind = \"bold\") to compare with the data");
    return false;
}

tb_assimilation *tb_assimilation_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t)
{
    int before = c->n;
    if (!tb_schema_table(c, t, keys, N_(keys), TB_ASSIMILATION_KEY) || c->n != before)
        return NULL;
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    tb_assimilation *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->pos = t->pos;
    a->dataset = tb_schema_get_s(t, "dataset");
    a->parameter = tb_schema_get_s(t, "parameter");
    a->members = (size_t)tb_schema_int(c, t, "members", 32);
    a->low = tb_schema_num(c, t, "low", NAN);
    a->high = tb_schema_num(c, t, "high", NAN);
    a->obs_std = tb_schema_num(c, t, "observation_std", 0);
    a->inflation = tb_schema_num(c, t, "inflation", 1);
    a->start = tb_schema_num(c, t, "start", 0);
    const tb_toml_value *dv = tb_toml_get(t, "data");
    a->data_file = tb_scenario_input_path(sc, "assimilation.data", tb_toml_as_string(dv));
    bool ok = true;
    if (!tb_file_exists(a->data_file)) {
        tb_schema_report(c, TB_ERR_INPUT, dv->pos, "assimilation.data: no such file '%s' (looked for %s)",
                         tb_toml_as_string(dv), a->data_file);
        ok = false;
    }
    if (!(a->low < a->high)) {
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "high")->pos,
                         "assimilation.high (%g) must be above assimilation.low (%g)", a->high, a->low);
        ok = false;
    }
    const tb_plugin *pl = ms->model;
    size_t k = 0;
    while (pl && k < pl->n_params && strcmp(pl->params[k].name, a->parameter) != 0)
        ++k;
    if (pl && k == pl->n_params) {
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "parameter")->pos,
                         "assimilation.parameter: model '%s' has no parameter '%s'", pl->name, a->parameter);
        ok = false;
    }
    a->param_index = k;
    ok = ok && pl && find_monitor(c, ms, t, a);
    if (ms->sweep.n_instances > 1) {
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos,
                         "assimilation runs its members as the instances: it cannot be combined with [sweep]");
        ok = false;
    }
    if (!ok) {
        tb_assimilation_free(a);
        return NULL;
    }
    ms->sweep.n_instances = a->members;
    return a;
}

/* ------------------------------------------------------------ the run */

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

static double normal(uint64_t seed, uint64_t step, uint32_t element)
{
    double u[2];
    tb_rng_uniform2(seed, STREAM_OBS, step, element, u);
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

static tb_status read_data(mass *m, const tb_assimilation *a, tb_assim_rt *rt, tb_error *err)
{
    size_t dims[2];
    int rank;
    tb_status st = tb_h5_read_doubles(a->data_file, a->dataset, &rt->data, dims, &rank, err);
    if (st != TB_OK)
        return st;
    const monitor_rt *mon = &m->mon[a->monitor_index];
    uint64_t need = m->sc->steps / mon->period;
    if (rank != 2 || dims[0] != m->N || dims[1] < need)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: /%s is [%zu, %zu]; the filter needs [regions, samples] = [%zu, at least %llu] "
                            "(one sample per %g ms of the run)",
                            a->data_file, a->dataset, dims[0], rank == 2 ? dims[1] : 1, m->N,
                            (unsigned long long)need, mon->spec->period);
    rt->S = dims[1];
    double s = 0, ss = 0, n = (double)(dims[0] * dims[1]);
    for (size_t i = 0; i < dims[0] * dims[1]; ++i)
        s += rt->data[i], ss += rt->data[i] * rt->data[i];
    double sd = sqrt(fmax(ss / n - (s / n) * (s / n), 0));
    double e = a->obs_std > 0 ? a->obs_std : 0.1 * sd;
    rt->R = e > 0 ? e * e : 1e-12;
    return TB_OK;
}

tb_status tb_mass_assim_bind(mass *m, tb_error *err)
{
    const tb_assimilation *a = m->ms->assimilation;
    if (!a)
        return TB_OK;
    if (m->first != 0 || m->B != m->B_total)
        return tb_error_set(err, TB_ERR_DEVICE, "assimilation needs all %zu members on one device", m->B_total);
    tb_assim_rt *rt = m->assim = calloc(1, sizeof *rt);
    if (!rt)
        return oom(err);
    tb_status st = read_data(m, a, rt, err);
    if (st != TB_OK)
        return st;
    rt->theta = malloc(m->B * m->N * sizeof *rt->theta);
    rt->y = malloc(m->B * m->N * sizeof *rt->y);
    rt->rs = calloc(m->N * 5, sizeof *rt->rs);
    if (!rt->theta || !rt->y || !rt->rs)
        return oom(err);
    for (size_t b = 0; b < m->B; ++b)
        for (size_t n = 0; n < m->N; ++n) {
            double u[2];
            tb_rng_uniform2(m->sc->seed, STREAM_PRIOR, b, (uint32_t)n, u);
            rt->theta[b * m->N + n] = a->low + (a->high - a->low) * u[0];
        }
    /* the parameter becomes per instance and region, as a prepare hook
     * would make it */
    param_slot *s = &m->params[a->param_index];
    double *copy = malloc(m->B * m->N * sizeof *copy);
    if (!copy)
        return oom(err);
    memcpy(copy, rt->theta, m->B * m->N * sizeof *copy);
    free(s->ir);
    s->ir = copy;
    if (s->mode != P_INSTANCE_REGION) {
        s->mode = P_INSTANCE_REGION;
        s->index = m->n_ir++;
    }
    /* a chunk ends at each sample, so that updates reach the next one */
    uint64_t period = m->mon[a->monitor_index].period;
    if (m->kmax > period)
        m->kmax = period;
    return TB_OK;
}

static tb_status create(tb_output *out, const char *name, int rank, const uint64_t *dims, tb_dataset **ds,
                        tb_error *err)
{
    char *path = tb_asprintf("/assimilation/%s", name);
    tb_status st = path ? tb_output_dataset_create(out, path, TB_F64, rank, dims, 0, ds, err) : oom(err);
    free(path);
    return st;
}

tb_status tb_mass_assim_declare(mass *m, tb_output *out, tb_error *err)
{
    tb_assim_rt *rt = m->assim;
    const tb_assimilation *a = m->ms->assimilation;
    if (!rt)
        return TB_OK;
    uint64_t bn[2] = {m->B, m->N}, n[1] = {m->N};
    tb_status st = create(out, "time", 1, NULL, &rt->time, err);
    if (st == TB_OK)
        st = create(out, "parameter", 3, bn, &rt->par, err);
    if (st == TB_OK)
        st = create(out, "mean", 2, n, &rt->mean, err);
    if (st == TB_OK)
        st = create(out, "spread", 2, n, &rt->spread, err);
    if (st == TB_OK)
        st = create(out, "forecast", 2, n, &rt->fc, err);
    if (st == TB_OK)
        st = create(out, "data", 2, n, &rt->obs, err);
    if (st == TB_OK)
        st = create(out, "bold_correlation", 1, NULL, &rt->corr, err);
    if (st == TB_OK)
        st = create(out, "bold_correlation_regions", 2, n, &rt->corr_r, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "parameter", a->parameter, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "monitor", a->monitor, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "data", a->data_file, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/assimilation", "observation_std", sqrt(rt->R), err);
    return st;
}

/* The update of one region from one sample (see the top of the file). */
static void update_region(mass *m, tb_assim_rt *rt, size_t n, double d, uint64_t sample)
{
    const tb_assimilation *a = m->ms->assimilation;
    size_t B = m->B, N = m->N;
    double tm = 0, ym = 0;
    for (size_t b = 0; b < B; ++b)
        tm += rt->theta[b * N + n] / (double)B, ym += rt->y[b * N + n] / (double)B;
    double cty = 0, cyy = 0;
    for (size_t b = 0; b < B; ++b) {
        double dy = rt->y[b * N + n] - ym;
        cty += (rt->theta[b * N + n] - tm) * dy / (double)(B - 1);
        cyy += dy * dy / (double)(B - 1);
    }
    double gain = cty / (cyy + rt->R), sdR = sqrt(rt->R), mean = 0;
    for (size_t b = 0; b < B; ++b) {
        double e = sdR * normal(m->sc->seed, sample, (uint32_t)(b * N + n));
        rt->theta[b * N + n] += gain * (d + e - rt->y[b * N + n]);
        mean += rt->theta[b * N + n] / (double)B;
    }
    for (size_t b = 0; b < B; ++b) {
        double *t = &rt->theta[b * N + n];
        *t = mean + a->inflation * (*t - mean);
        *t = *t < a->low ? a->low : *t > a->high ? a->high : *t;
    }
}

static void add_corr(double *s, double x, double y)
{
    s[0] += x, s[1] += y, s[2] += x * x, s[3] += y * y, s[4] += x * y;
}

static double pearson(const double *s, double n)
{
    double cov = s[4] / n - s[0] / n * s[1] / n;
    double vx = s[2] / n - s[0] / n * s[0] / n, vy = s[3] / n - s[1] / n * s[1] / n;
    return vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : NAN;
}

static tb_status write_sample(mass *m, tb_assim_rt *rt, double time, const double *fc, const double *obs,
                              tb_error *err)
{
    size_t B = m->B, N = m->N;
    double *mean = calloc(N, sizeof *mean), *sd = calloc(N, sizeof *sd);
    if (!mean || !sd) {
        free(mean), free(sd);
        return oom(err);
    }
    for (size_t n = 0; n < N; ++n) {
        for (size_t b = 0; b < B; ++b)
            mean[n] += rt->theta[b * N + n] / (double)B;
        for (size_t b = 0; b < B; ++b)
            sd[n] += pow(rt->theta[b * N + n] - mean[n], 2) / (double)(B - 1);
        sd[n] = sqrt(sd[n]);
    }
    tb_status st = tb_output_dataset_append(rt->time, &time, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rt->par, rt->theta, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rt->mean, mean, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rt->spread, sd, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rt->fc, fc, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rt->obs, obs, 1, err);
    free(mean), free(sd);
    return st;
}

/* The new parameters onto the device, before the next chunk. */
static tb_status upload(mass *m, tb_assim_rt *rt, tb_error *err)
{
    param_slot *s = &m->params[m->ms->assimilation->param_index];
    memcpy(s->ir, rt->theta, m->B * m->N * sizeof *rt->theta);
    return tb_mass_write_ir(m, err);
}

tb_status tb_mass_assim_collect(mass *m, const tb_chunk *c, tb_error *err)
{
    tb_assim_rt *rt = m->assim;
    if (!rt)
        return TB_OK;
    const tb_assimilation *a = m->ms->assimilation;
    const monitor_rt *mon = &m->mon[a->monitor_index];
    uint64_t ns = tb_mass_samples_in(c->step0, c->n, mon->period), first = c->step0 / mon->period;
    size_t B = m->B, N = m->N;
    double *fc = malloc(N * sizeof *fc), *obs = malloc(N * sizeof *obs);
    tb_status st = fc && obs ? TB_OK : oom(err);
    bool changed = false;
    for (uint64_t k = 0; st == TB_OK && k < ns; ++k) {
        uint64_t sample = first + k;
        double time = (double)((sample + 1) * mon->period) * m->sc->dt;
        for (size_t b = 0; b < B; ++b)
            for (size_t n = 0; n < N; ++n)
                rt->y[b * N + n] = tb_mass_real_at(mon->host[c->buf], (k * B + b) * mon->width + n, m->realsz);
        bool use = time > a->start && sample < rt->S;
        for (size_t n = 0; n < N; ++n) {
            fc[n] = 0;
            for (size_t b = 0; b < B; ++b)
                fc[n] += rt->y[b * N + n] / (double)B;
            obs[n] = sample < rt->S ? rt->data[n * rt->S + sample] : NAN;
            if (!use)
                continue;
            add_corr(rt->all, fc[n], obs[n]);
            add_corr(rt->rs + 5 * n, fc[n], obs[n]);
            update_region(m, rt, n, obs[n], sample);
            changed = true;
        }
        rt->n_corr += use;
        st = write_sample(m, rt, time, fc, obs, err);
    }
    free(fc), free(obs);
    return st == TB_OK && changed ? upload(m, rt, err) : st;
}

tb_status tb_mass_assim_finish(mass *m, tb_error *err)
{
    tb_assim_rt *rt = m->assim;
    if (!rt)
        return TB_OK;
    double r = pearson(rt->all, (double)(rt->n_corr * m->N));
    double *rr = malloc(m->N * sizeof *rr);
    if (!rr)
        return oom(err);
    for (size_t n = 0; n < m->N; ++n)
        rr[n] = pearson(rt->rs + 5 * n, (double)rt->n_corr);
    tb_status st = tb_output_dataset_append(rt->corr, &r, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rt->corr_r, rr, 1, err);
    free(rr);
    return st;
}

void tb_mass_assim_free(mass *m)
{
    tb_assim_rt *rt = m->assim;
    if (!rt)
        return;
    free(rt->data);
    free(rt->theta);
    free(rt->y);
    free(rt->rs);
    free(rt);
    m->assim = NULL;
}
