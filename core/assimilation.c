/* Data assimilation, the kit-free part: a stochastic ensemble Kalman
 * filter (Evensen 1994; perturbed observations, Burgers et al. 1998) over
 * one parameter per member and region. After every sample of a bold
 * monitor the kit hands over every member's BOLD and the filter updates
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

#include "assimilation.h"
#include "h5read.h"
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
     .doc = "ensemble members (instances of the run, or copies of a brain in one network)"},
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

struct tb_enkf {
    const tb_assimilation *a;
    uint64_t seed;
    size_t B, N;
    double *data;    /* [N][S] */
    size_t S;        /* data samples */
    double R;        /* observation variance */
    double *theta;   /* [B][N] */
    const double *y; /* [B][N] the sample being assimilated */
    double all[5];   /* sums of forecast mean vs data (x, y, xx, yy, xy), every assimilated sample */
    double *rs;      /* [N][5] the same sums per region */
    uint64_t n_corr;
    tb_dataset *time, *par, *mean, *spread, *fc, *obs, *corr, *corr_r;
};

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

tb_assimilation *tb_assimilation_read(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t,
                                      const tb_key_spec *extra, size_t n_extra)
{
    int before = c->n;
    tb_key_spec *specs = malloc((N_(keys) + n_extra) * sizeof *specs);
    if (!specs)
        return NULL;
    memcpy(specs, keys, sizeof keys);
    if (n_extra)
        memcpy(specs + N_(keys), extra, n_extra * sizeof *specs);
    bool shaped = tb_schema_table(c, t, specs, N_(keys) + n_extra, TB_ASSIMILATION_KEY);
    free(specs);
    if (!shaped || c->n != before)
        return NULL;
    tb_assimilation *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->pos = t->pos;
    a->dataset = tb_schema_get_s(t, "dataset");
    a->parameter = tb_schema_get_s(t, "parameter");
    a->monitor = tb_toml_get(t, "monitor") ? tb_schema_get_s(t, "monitor") : NULL;
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
    if (!ok) {
        tb_assimilation_free(a);
        return NULL;
    }
    return a;
}

/* ------------------------------------------------------------ the filter */

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

static tb_status read_data(tb_enkf *f, uint64_t need, double period_ms, tb_error *err)
{
    const tb_assimilation *a = f->a;
    size_t dims[2];
    int rank;
    tb_status st = tb_h5_read_doubles(a->data_file, a->dataset, &f->data, dims, &rank, err);
    if (st != TB_OK)
        return st;
    if (rank != 2 || dims[0] != f->N || dims[1] < need)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: /%s is [%zu, %zu]; the filter needs [regions, samples] = [%zu, at least %llu] "
                            "(one sample per %g ms of the run)",
                            a->data_file, a->dataset, dims[0], rank == 2 ? dims[1] : 1, f->N,
                            (unsigned long long)need, period_ms);
    f->S = dims[1];
    double s = 0, ss = 0, n = (double)(dims[0] * dims[1]);
    for (size_t i = 0; i < dims[0] * dims[1]; ++i)
        s += f->data[i], ss += f->data[i] * f->data[i];
    double sd = sqrt(fmax(ss / n - (s / n) * (s / n), 0));
    double e = a->obs_std > 0 ? a->obs_std : 0.1 * sd;
    f->R = e > 0 ? e * e : 1e-12;
    return TB_OK;
}

tb_status tb_enkf_new(const tb_assimilation *a, uint64_t seed, size_t B, size_t N, uint64_t samples,
                      double period_ms, tb_enkf **out, tb_error *err)
{
    tb_enkf *f = *out = calloc(1, sizeof *f);
    if (!f)
        return oom(err);
    f->a = a, f->seed = seed, f->B = B, f->N = N;
    tb_status st = read_data(f, samples, period_ms, err);
    if (st != TB_OK)
        return st;
    f->theta = malloc(B * N * sizeof *f->theta);
    f->rs = calloc(N * 5, sizeof *f->rs);
    if (!f->theta || !f->rs)
        return oom(err);
    for (size_t b = 0; b < B; ++b)
        for (size_t n = 0; n < N; ++n) {
            double u[2];
            tb_rng_uniform2(seed, STREAM_PRIOR, b, (uint32_t)n, u);
            f->theta[b * N + n] = a->low + (a->high - a->low) * u[0];
        }
    return TB_OK;
}

const double *tb_enkf_theta(const tb_enkf *f)
{
    return f->theta;
}

static tb_status create(tb_output *out, const char *name, int rank, const uint64_t *dims, tb_dataset **ds,
                        tb_error *err)
{
    char *path = tb_asprintf("/assimilation/%s", name);
    tb_status st = path ? tb_output_dataset_create(out, path, TB_F64, rank, dims, 0, ds, err) : oom(err);
    free(path);
    return st;
}

tb_status tb_enkf_declare(tb_enkf *f, tb_output *out, tb_error *err)
{
    const tb_assimilation *a = f->a;
    uint64_t bn[2] = {f->B, f->N}, n[1] = {f->N};
    tb_status st = create(out, "time", 1, NULL, &f->time, err);
    if (st == TB_OK)
        st = create(out, "parameter", 3, bn, &f->par, err);
    if (st == TB_OK)
        st = create(out, "mean", 2, n, &f->mean, err);
    if (st == TB_OK)
        st = create(out, "spread", 2, n, &f->spread, err);
    if (st == TB_OK)
        st = create(out, "forecast", 2, n, &f->fc, err);
    if (st == TB_OK)
        st = create(out, "data", 2, n, &f->obs, err);
    if (st == TB_OK)
        st = create(out, "bold_correlation", 1, NULL, &f->corr, err);
    if (st == TB_OK)
        st = create(out, "bold_correlation_regions", 2, n, &f->corr_r, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "parameter", a->parameter, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "monitor", a->monitor ? a->monitor : "", err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "data", a->data_file, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/assimilation", "observation_std", sqrt(f->R), err);
    return st;
}

/* The update of one region from one sample (see the top of the file). */
static void update_region(tb_enkf *f, size_t n, double d, uint64_t sample)
{
    const tb_assimilation *a = f->a;
    size_t B = f->B, N = f->N;
    double tm = 0, ym = 0;
    for (size_t b = 0; b < B; ++b)
        tm += f->theta[b * N + n] / (double)B, ym += f->y[b * N + n] / (double)B;
    double cty = 0, cyy = 0;
    for (size_t b = 0; b < B; ++b) {
        double dy = f->y[b * N + n] - ym;
        cty += (f->theta[b * N + n] - tm) * dy / (double)(B - 1);
        cyy += dy * dy / (double)(B - 1);
    }
    double gain = cty / (cyy + f->R), sdR = sqrt(f->R), mean = 0;
    for (size_t b = 0; b < B; ++b) {
        double e = sdR * normal(f->seed, sample, (uint32_t)(b * N + n));
        f->theta[b * N + n] += gain * (d + e - f->y[b * N + n]);
        mean += f->theta[b * N + n] / (double)B;
    }
    for (size_t b = 0; b < B; ++b) {
        double *t = &f->theta[b * N + n];
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

static tb_status write_sample(tb_enkf *f, double time, const double *fc, const double *obs, tb_error *err)
{
    size_t B = f->B, N = f->N;
    double *mean = calloc(N, sizeof *mean), *sd = calloc(N, sizeof *sd);
    if (!mean || !sd) {
        free(mean), free(sd);
        return oom(err);
    }
    for (size_t n = 0; n < N; ++n) {
        for (size_t b = 0; b < B; ++b)
            mean[n] += f->theta[b * N + n] / (double)B;
        for (size_t b = 0; b < B; ++b)
            sd[n] += pow(f->theta[b * N + n] - mean[n], 2) / (double)(B - 1);
        sd[n] = sqrt(sd[n]);
    }
    tb_status st = tb_output_dataset_append(f->time, &time, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(f->par, f->theta, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(f->mean, mean, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(f->spread, sd, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(f->fc, fc, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(f->obs, obs, 1, err);
    free(mean), free(sd);
    return st;
}

tb_status tb_enkf_sample(tb_enkf *f, uint64_t sample, double time_ms, const double *y, bool *changed,
                         tb_error *err)
{
    size_t B = f->B, N = f->N;
    double *fc = malloc(N * sizeof *fc), *obs = malloc(N * sizeof *obs);
    if (!fc || !obs) {
        free(fc), free(obs);
        return oom(err);
    }
    f->y = y;
    bool use = time_ms > f->a->start && sample < f->S;
    for (size_t n = 0; n < N; ++n) {
        fc[n] = 0;
        for (size_t b = 0; b < B; ++b)
            fc[n] += y[b * N + n] / (double)B;
        obs[n] = sample < f->S ? f->data[n * f->S + sample] : NAN;
        if (!use)
            continue;
        add_corr(f->all, fc[n], obs[n]);
        add_corr(f->rs + 5 * n, fc[n], obs[n]);
        update_region(f, n, obs[n], sample);
    }
    f->n_corr += use;
    *changed = use;
    tb_status st = write_sample(f, time_ms, fc, obs, err);
    free(fc), free(obs);
    return st;
}

tb_status tb_enkf_finish(tb_enkf *f, tb_error *err)
{
    double r = pearson(f->all, (double)(f->n_corr * f->N));
    double *rr = malloc(f->N * sizeof *rr);
    if (!rr)
        return oom(err);
    for (size_t n = 0; n < f->N; ++n)
        rr[n] = pearson(f->rs + 5 * n, (double)f->n_corr);
    tb_status st = tb_output_dataset_append(f->corr, &r, 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(f->corr_r, rr, 1, err);
    free(rr);
    return st;
}

void tb_enkf_free(tb_enkf *f)
{
    if (!f)
        return;
    free(f->data);
    free(f->theta);
    free(f->rs);
    free(f);
}
