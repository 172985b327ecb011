/* twinbrain twin score: a twin's predictions against recorded responses
 * to repeated test stimuli (twin_score.h), per unit and summarised. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "h5util.h"
#include "twin_array.h"
#include "twin_graph.h"
#include "twin_score.h"
#include "util.h"

static const char usage[] =
    "usage: twinbrain twin score DATA.h5 PREDICTIONS.h5 -o SCORES.h5 [--burn-in N] [--fev-threshold X]\n"
    "                            [--responses NAME] [--predictions NAME]\n"
    "\n"
    "Scores a twin's predictions against recorded responses to repeated test stimuli: per unit the\n"
    "single-trial correlation, the correlation to the average over repeats, FEV and FEVE (FEVE for\n"
    "units with FEV >= the threshold, 0.15 by default) and CC_norm, without the first N frames of\n"
    "every stimulus (docs/twin.md, \"Scores\"). DATA.h5 holds /responses [stimuli, repeats, frames,\n"
    "units]; PREDICTIONS.h5 holds /predictions [stimuli, frames, units], or is the output of\n"
    "'twinbrain run' on the test stimuli as instances (/twin/responses [frames, stimuli, units]).\n"
    "Exit status 2 for bad arguments, 4 for inputs that do not match or hold NaN or Inf.\n";

typedef struct score_args {
    const char *data, *pred, *out, *resp_name, *pred_name;
    long burn_in;
    double fev_min;
} score_args;

static bool has_dataset(const char *file, const char *name)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    bool yes = f >= 0 && H5Lexists(f, "/twin", H5P_DEFAULT) > 0 && H5Lexists(f, name, H5P_DEFAULT) > 0;
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    return yes;
}

/* The first value that is not finite, named by its indices. */
static tb_status check_finite(const char *file, const char *name, const tw_array *a, tb_error *err)
{
    size_t n = 1, strides[TW_MAX_RANK];
    for (int d = a->rank - 1; d >= 0; --d)
        strides[d] = n, n *= (size_t)a->d[d];
    for (size_t i = 0; i < n; ++i) {
        if (isfinite(a->v[i]))
            continue;
        char idx[160] = "";
        size_t l = 0, r = i;
        for (int d = 0; d < a->rank && l < sizeof idx; ++d) {
            l += (size_t)snprintf(idx + l, sizeof idx - l, "%s%zu", d ? ", " : "", r / strides[d]);
            r %= strides[d];
        }
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s[%s] is %g: scores need finite responses", file, name, idx,
                            a->v[i]);
    }
    return TB_OK;
}

/* Predictions as [stimuli][frames][units], from /predictions or a run's
 * /twin/responses [frames, stimuli, units]. */
static tb_status read_predictions(const score_args *a, tw_array *p, tb_error *err)
{
    bool run_output = !a->pred_name && !has_dataset(a->pred, "/predictions") && has_dataset(a->pred, "/twin/responses");
    const char *name = a->pred_name ? a->pred_name : run_output ? "/twin/responses" : "/predictions";
    tb_status st = tw_array_read_file(a->pred, name, false, p, err);
    st = st ? st : check_finite(a->pred, name, p, err);
    if (st == TB_OK && p->rank != 3)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s has rank %d; predictions are %s", a->pred, name, p->rank,
                          run_output ? "[frames, stimuli, units]" : "[stimuli, frames, units]");
    if (st || !run_output)
        return st;
    size_t T = p->d[0], S = p->d[1], U = p->d[2];
    double *v = malloc((T * S * U + 1) * sizeof *v);
    if (!v)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t t = 0; t < T; ++t)
        for (size_t s = 0; s < S; ++s)
            memcpy(v + (s * T + t) * U, p->v + (t * S + s) * U, U * sizeof *v);
    free(p->v);
    p->v = v, p->d[0] = S, p->d[1] = T;
    return TB_OK;
}

static tb_status check_shapes(const score_args *a, const tw_array *r, const tw_array *p, tb_error *err)
{
    const char *rn = a->resp_name ? a->resp_name : "/responses";
    if (r->rank != 4)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s has rank %d; responses are [stimuli, repeats, frames, units]",
                            a->data, rn, r->rank);
    if (r->d[1] < 2)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s has %llu repeat(s) per stimulus; the scores need at least 2",
                            a->data, rn, (unsigned long long)r->d[1]);
    const char *what[3] = {"stimuli", "frames", "units"};
    hsize_t want[3] = {r->d[0], r->d[2], r->d[3]};
    for (int k = 0; k < 3; ++k)
        if (p->d[k] != want[k])
            return tb_error_set(err, TB_ERR_INPUT, "%s has %llu %s; %s has %llu", a->pred, (unsigned long long)p->d[k],
                                what[k], a->data, (unsigned long long)want[k]);
    if ((hsize_t)a->burn_in >= r->d[2])
        return tb_error_set(err, TB_ERR_INPUT, "--burn-in %ld leaves none of the %llu frames", a->burn_in,
                            (unsigned long long)r->d[2]);
    return TB_OK;
}

static double nanmean(const double *v, size_t n, size_t *count)
{
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; ++i)
        if (!isnan(v[i]))
            s += v[i], ++c;
    *count = c;
    return c ? s / (double)c : NAN;
}

static tb_status write_scores(const score_args *a, const tw_score_shape *sh, double **m, tb_error *err)
{
    char *tmp = tb_asprintf("%s.partial", a->out);
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = tmp ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) : -1;
    hid_t g = f >= 0 ? H5Gcreate2(f, "/scores", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    bool ok = g >= 0;
    hsize_t nu = sh->units;
    for (int k = 0; ok && k < TW_N_SCORES; ++k) {
        hid_t s = H5Screate_simple(1, &nu, NULL);
        hid_t ds = H5Dcreate2(g, tw_score_names[k], H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ok = ds >= 0 && H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m[k]) >= 0;
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(s);
        size_t c;
        char name[64];
        snprintf(name, sizeof name, "mean_%s", tw_score_names[k]);
        double mean = nanmean(m[k], sh->units, &c);
        ok = ok && tb_h5_attr_f64(g, name, mean);
    }
    size_t feve_units;
    nanmean(m[TW_SCORE_FEVE], sh->units, &feve_units);
    const char *iname[] = {"stimuli", "repeats", "frames", "units", "burn_in", "units_feve"};
    long long ival[] = {(long long)sh->stimuli, (long long)sh->repeats, (long long)sh->frames,
                        (long long)sh->units,   (long long)sh->burn_in, (long long)feve_units};
    for (int k = 0; ok && k < 6; ++k)
        ok = tb_h5_attr_i64(g, iname[k], ival[k]);
    ok = ok && tb_h5_attr_f64(g, "fev_threshold", a->fev_min);
    if (g >= 0)
        H5Gclose(g);
    if (f >= 0 && H5Fclose(f) < 0)
        ok = false;
    tb_h5_quiet_end(q);
    tb_status st = ok && rename(tmp, a->out) == 0 ? TB_OK : tb_error_set(err, TB_ERR_INPUT, "%s: cannot write", a->out);
    if (st && tmp)
        remove(tmp);
    free(tmp);
    return st;
}

static void print_summary(const tw_score_shape *sh, double **m, double fev_min)
{
    printf("%zu units, %zu stimuli x %zu repeats x %zu frames (%zu burn-in frames left out)\n", sh->units, sh->stimuli,
           sh->repeats, sh->frames - sh->burn_in, sh->burn_in);
    for (int k = 0; k < TW_N_SCORES; ++k) {
        size_t c;
        double mean = nanmean(m[k], sh->units, &c);
        printf("  %-26s %8.4f  (mean over %zu units%s)\n", tw_score_names[k], mean, c,
               k == TW_SCORE_FEVE ? ", those with FEV >= threshold" : "");
    }
    printf("  FEV threshold %g\n", fev_min);
}

static tb_status score(const score_args *a, tb_error *err)
{
    tw_array r = {0}, p = {0};
    const char *rn = a->resp_name ? a->resp_name : "/responses";
    tb_status st = tw_array_read_file(a->data, rn, false, &r, err);
    st = st ? st : check_finite(a->data, rn, &r, err);
    st = st ? st : read_predictions(a, &p, err);
    st = st ? st : check_shapes(a, &r, &p, err);
    double *m[TW_N_SCORES] = {0};
    tw_score_shape sh = {0};
    if (st == TB_OK) {
        sh = (tw_score_shape){r.d[0], r.d[1], r.d[2], r.d[3], (size_t)a->burn_in};
        for (int k = 0; k < TW_N_SCORES; ++k)
            if (!(m[k] = malloc((sh.units + 1) * sizeof *m[k])))
                st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    if (st == TB_OK) {
        tw_score(r.v, p.v, &sh, a->fev_min, m);
        st = write_scores(a, &sh, m, err);
    }
    if (st == TB_OK)
        print_summary(&sh, m, a->fev_min);
    for (int k = 0; k < TW_N_SCORES; ++k)
        free(m[k]);
    free(r.v);
    free(p.v);
    return st;
}

int tw_cli_score(int argc, char **argv)
{
    score_args a = {.fev_min = 0.15};
    const char *pos[2] = {0};
    int n_pos = 0;
    for (int i = 1; i < argc; ++i) {
        char *end = NULL;
        if (tb_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            a.out = argv[++i];
        else if (strcmp(argv[i], "--responses") == 0 && i + 1 < argc)
            a.resp_name = argv[++i];
        else if (strcmp(argv[i], "--predictions") == 0 && i + 1 < argc)
            a.pred_name = argv[++i];
        else if (strcmp(argv[i], "--burn-in") == 0 && i + 1 < argc) {
            a.burn_in = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || a.burn_in < 0)
                return tb_cli_usage_error("twin score", "--burn-in takes a number of frames >= 0, not '%s'", argv[i]);
        } else if (strcmp(argv[i], "--fev-threshold") == 0 && i + 1 < argc) {
            a.fev_min = strtod(argv[++i], &end);
            if (!*argv[i] || *end || !isfinite(a.fev_min))
                return tb_cli_usage_error("twin score", "--fev-threshold takes a number, not '%s'", argv[i]);
        } else if (argv[i][0] == '-' || n_pos == 2)
            return tb_cli_usage_error("twin score", "unexpected argument '%s' (or it is missing its value)", argv[i]);
        else
            pos[n_pos++] = argv[i];
    }
    if (n_pos != 2 || !a.out)
        return tb_cli_usage_error("twin score", "needs DATA.h5, PREDICTIONS.h5 and -o SCORES.h5");
    a.data = pos[0], a.pred = pos[1];
    tb_error err = {0};
    return score(&a, &err) ? tb_cli_fail(&err) : 0;
}
