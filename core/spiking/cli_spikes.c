/* twinbrain spikes ...: analysis of spike output. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "h5util.h"
#include "spiking_scenario.h"
#include "twinbrain/device.h"
#include "twinbrain/sim.h"
#include "twinbrain/spiking.h"
#include "util.h"

/* ------------------------------------------------------------ spikes stats
 *
 * Per population, after a warm-up: the mean rate, the distribution of
 * single-neuron rates, the mean coefficient of variation of inter-spike
 * intervals and the mean pairwise correlation of spike counts in 1 ms bins
 * over a sample of neurons: the statistics the microcircuit's validation
 * compares (reference sheet, "Validation practice"). */

typedef struct pop_spikes {
    char *name;
    uint64_t size;
    uint64_t n;
    double *t;   /* ms, sorted */
    uint64_t *id;
} pop_spikes;

typedef struct stats_args {
    const char *file;
    double warmup, bin;
    size_t sample;
    bool json;
} stats_args;

typedef struct pop_stats {
    uint64_t spikes;
    double mean_rate, q[7], silent;
    double cv_mean;
    uint64_t cv_neurons;
    double corr_mean;
    uint64_t corr_pairs;
} pop_stats;

static const double quantile_levels[7] = {0, 10, 25, 50, 75, 90, 100};

static int input_error(const char *file, const char *what)
{
    fprintf(stderr, "twinbrain: error: %s: %s\n", file, what);
    return TB_ERR_INPUT;
}

static hid_t open_output(const char *file)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fis_hdf5(file) > 0 ? H5Fopen(file, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT) : -1;
    if (f < 0 && H5Fis_hdf5(file) > 0)
        f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    tb_h5_quiet_end(q);
    return f;
}

static bool read_vec(hid_t f, const char *path, hid_t mtype, size_t elem, void **out, uint64_t *n)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0)
        return false;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[1] = {0};
    bool ok = H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0;
    *n = dims[0];
    *out = ok ? malloc((dims[0] + 1) * elem) : NULL;
    ok = ok && *out && (dims[0] == 0 || H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    return ok;
}

static bool read_attr_num(hid_t obj, const char *name, hid_t mtype, void *out)
{
    if (H5Aexists(obj, name) <= 0)
        return false;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    bool ok = a >= 0 && H5Aread(a, mtype, out) >= 0;
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

typedef struct group_list {
    char **names;
    size_t n;
} group_list;

static herr_t add_group(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    group_list *l = data;
    (void)g;
    (void)info;
    char **grown = realloc(l->names, (l->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    l->names = grown;
    l->names[l->n++] = tb_strdup(name);
    return 0;
}

/* Every /spikes/<population>; sizes from the group's `size` attribute,
 * else the largest node id + 1. */
static int read_spikes(hid_t f, const char *file, pop_spikes **out, size_t *n_out, double *duration)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    group_list l = {NULL, 0};
    hid_t g = H5Lexists(f, "/spikes", H5P_DEFAULT) > 0 ? H5Gopen2(f, "/spikes", H5P_DEFAULT) : -1;
    if (g >= 0) {
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, add_group, &l);
        H5Gclose(g);
    }
    double dur = NAN;
    if (!read_attr_num(f, "simulated_ms", H5T_NATIVE_DOUBLE, &dur))
        read_attr_num(f, "duration_ms", H5T_NATIVE_DOUBLE, &dur);
    pop_spikes *pops = calloc(l.n + 1, sizeof *pops);
    int rc = g < 0 ? input_error(file, "no /spikes group (spikes are written by a [[record]] kind = \"spikes\")")
                   : pops ? 0 : input_error(file, "out of memory");
    double tmax = 0;
    for (size_t i = 0; rc == 0 && i < l.n; ++i) {
        pop_spikes *p = &pops[i];
        p->name = l.names[i];
        l.names[i] = NULL;
        char *ts = tb_asprintf("/spikes/%s/timestamps", p->name), *ids = tb_asprintf("/spikes/%s/node_ids", p->name);
        char *grp = tb_asprintf("/spikes/%s", p->name);
        uint64_t nt = 0, ni = 0;
        if (!read_vec(f, ts, H5T_NATIVE_DOUBLE, sizeof(double), (void **)&p->t, &nt) ||
            !read_vec(f, ids, H5T_NATIVE_UINT64, sizeof(uint64_t), (void **)&p->id, &ni) || nt != ni)
            rc = input_error(file, "a /spikes group lacks timestamps and node_ids of equal length");
        p->n = nt;
        hid_t gg = rc == 0 ? H5Gopen2(f, grp, H5P_DEFAULT) : -1;
        int64_t size = 0;
        if (gg >= 0) {
            read_attr_num(gg, "size", H5T_NATIVE_INT64, &size);
            H5Gclose(gg);
        }
        for (uint64_t k = 0; rc == 0 && k < nt; ++k) {
            if ((int64_t)p->id[k] + 1 > size)
                size = (int64_t)p->id[k] + 1;
            tmax = p->t[k] > tmax ? p->t[k] : tmax;
        }
        p->size = (uint64_t)size;
        free(ts);
        free(ids);
        free(grp);
    }
    tb_h5_quiet_end(q);
    for (size_t i = 0; i < l.n; ++i)
        free(l.names[i]);
    free(l.names);
    *duration = isfinite(dur) ? dur : tmax;
    *out = pops;
    *n_out = l.n;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (numpy's default). */
static double quantile(const double *sorted, uint64_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q / 100.0 * (double)(n - 1);
    uint64_t i = (uint64_t)pos;
    double f = pos - (double)i;
    return i + 1 < n ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[n - 1];
}

/* Per neuron: the spikes after the warm-up, as offsets into one array. */
typedef struct per_neuron {
    uint64_t *start; /* size + 1 */
    double *t;
} per_neuron;

static bool group_by_neuron(const pop_spikes *p, double warmup, per_neuron *g)
{
    g->start = calloc(p->size + 2, sizeof *g->start);
    g->t = malloc((p->n + 1) * sizeof *g->t);
    if (!g->start || !g->t)
        return false;
    for (uint64_t k = 0; k < p->n; ++k)
        if (p->t[k] > warmup)
            g->start[p->id[k] + 1]++;
    for (uint64_t i = 0; i < p->size; ++i)
        g->start[i + 1] += g->start[i];
    uint64_t *at = malloc((p->size + 1) * sizeof *at);
    if (!at)
        return false;
    memcpy(at, g->start, (p->size + 1) * sizeof *at);
    for (uint64_t k = 0; k < p->n; ++k)
        if (p->t[k] > warmup)
            g->t[at[p->id[k]]++] = p->t[k];
    free(at);
    return true;
}

static void rates_and_cv(const pop_spikes *p, const per_neuron *g, double T, pop_stats *s)
{
    double *r = malloc((p->size + 1) * sizeof *r), sum = 0, cv_sum = 0;
    uint64_t silent = 0;
    for (uint64_t i = 0; r && i < p->size; ++i) {
        uint64_t a = g->start[i], e = g->start[i + 1], m = e - a;
        r[i] = (double)m / (T * 1e-3);
        sum += r[i];
        silent += m == 0;
        s->spikes += m;
        if (m < 3)
            continue; /* a CV needs at least two intervals */
        double mean = (g->t[e - 1] - g->t[a]) / (double)(m - 1), var = 0;
        for (uint64_t k = a + 1; k < e; ++k)
            var += (g->t[k] - g->t[k - 1] - mean) * (g->t[k] - g->t[k - 1] - mean);
        var /= (double)(m - 1); /* population variance of the m - 1 intervals (elephant's cv) */
        cv_sum += sqrt(var) / mean;
        s->cv_neurons++;
    }
    s->mean_rate = p->size ? sum / (double)p->size : NAN;
    s->silent = p->size ? (double)silent / (double)p->size : NAN;
    s->cv_mean = s->cv_neurons ? cv_sum / (double)s->cv_neurons : NAN;
    if (r) {
        qsort(r, p->size, sizeof *r, cmp_double);
        for (int k = 0; k < 7; ++k)
            s->q[k] = quantile(r, p->size, quantile_levels[k]);
    }
    free(r);
}

/* Pearson correlation of spike counts in `bin` ms bins, mean over every
 * pair of a sample of up to `sample` neurons that spike after the warm-up
 * (evenly spaced in id among them, so the choice is reproducible). */
static void correlations(const pop_spikes *p, const per_neuron *g, const stats_args *a, double duration,
                         pop_stats *s)
{
    uint64_t active = 0;
    for (uint64_t i = 0; i < p->size; ++i)
        active += g->start[i + 1] > g->start[i];
    size_t m = active < a->sample ? (size_t)active : a->sample;
    uint64_t bins = (uint64_t)floor((duration - a->warmup) / a->bin);
    s->corr_mean = NAN;
    if (m < 2 || bins < 2)
        return;
    uint64_t *pick = malloc(m * sizeof *pick);
    double *c = calloc(m * bins, sizeof *c), *mean = calloc(m, sizeof *mean), *sd = calloc(m, sizeof *sd);
    if (!pick || !c || !mean || !sd) {
        free(pick), free(c), free(mean), free(sd);
        return;
    }
    for (uint64_t i = 0, seen = 0, next = 0; i < p->size && next < m; ++i) {
        if (g->start[i + 1] == g->start[i])
            continue;
        if (seen++ * m / active == next) /* evenly spaced among the active */
            pick[next++] = i;
    }
    for (size_t j = 0; j < m; ++j) {
        for (uint64_t k = g->start[pick[j]]; k < g->start[pick[j] + 1]; ++k) {
            uint64_t b = (uint64_t)floor((g->t[k] - a->warmup) / a->bin);
            if (b < bins)
                c[j * bins + b] += 1;
        }
        double sum = 0, sq = 0;
        for (uint64_t b = 0; b < bins; ++b)
            sum += c[j * bins + b];
        mean[j] = sum / (double)bins;
        for (uint64_t b = 0; b < bins; ++b)
            sq += (c[j * bins + b] - mean[j]) * (c[j * bins + b] - mean[j]);
        sd[j] = sqrt(sq);
    }
    double total = 0;
    for (size_t i = 0; i < m; ++i)
        for (size_t j = i + 1; j < m; ++j) {
            if (sd[i] == 0 || sd[j] == 0)
                continue;
            double cov = 0;
            const double *x = c + i * bins, *y = c + j * bins;
            for (uint64_t b = 0; b < bins; ++b)
                cov += (x[b] - mean[i]) * (y[b] - mean[j]);
            total += cov / (sd[i] * sd[j]);
            s->corr_pairs++;
        }
    s->corr_mean = s->corr_pairs ? total / (double)s->corr_pairs : NAN;
    free(pick), free(c), free(mean), free(sd);
}

static void print_json(const stats_args *a, double duration, const pop_spikes *pops, const pop_stats *st, size_t n)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"file\": ");
    tb_json_string(&b, a->file);
    tb_buf_puts(&b, ", \"warmup_ms\": ");
    tb_json_number(&b, a->warmup);
    tb_buf_puts(&b, ", \"duration_ms\": ");
    tb_json_number(&b, duration);
    tb_buf_puts(&b, ", \"bin_ms\": ");
    tb_json_number(&b, a->bin);
    tb_buf_puts(&b, ", \"populations\": [");
    for (size_t i = 0; i < n; ++i) {
        const pop_stats *s = &st[i];
        tb_buf_puts(&b, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
        tb_json_string(&b, pops[i].name);
        tb_buf_printf(&b, ", \"size\": %llu, \"spikes\": %llu, \"mean_rate_hz\": ", (unsigned long long)pops[i].size,
                      (unsigned long long)s->spikes);
        tb_json_number(&b, s->mean_rate);
        tb_buf_puts(&b, ", \"rate_quantiles_hz\": {");
        for (int k = 0; k < 7; ++k) {
            tb_buf_printf(&b, "%s\"%g\": ", k ? ", " : "", quantile_levels[k]);
            tb_json_number(&b, s->q[k]);
        }
        tb_buf_puts(&b, "}, \"silent_fraction\": ");
        tb_json_number(&b, s->silent);
        tb_buf_puts(&b, ", \"cv_isi_mean\": ");
        tb_json_number(&b, s->cv_mean);
        tb_buf_printf(&b, ", \"cv_isi_neurons\": %llu, \"correlation_mean\": ", (unsigned long long)s->cv_neurons);
        tb_json_number(&b, s->corr_mean);
        tb_buf_printf(&b, ", \"correlation_pairs\": %llu}", (unsigned long long)s->corr_pairs);
    }
    tb_buf_puts(&b, "]}\n");
    char *text = tb_buf_take(&b);
    fputs(text ? text : "", stdout);
    free(text);
}

static void print_table(const stats_args *a, double duration, const pop_spikes *pops, const pop_stats *st, size_t n)
{
    printf("%s: %g ms simulated, statistics over (%g, %g] ms; correlations of %g ms bin counts\n", a->file,
           duration, a->warmup, duration, a->bin);
    printf("%-12s %8s %10s %9s %8s %8s %8s %8s %7s %8s %6s %9s\n", "population", "neurons", "spikes", "rate Hz",
           "p10", "median", "p90", "max", "silent", "CV ISI", "(n)", "corr");
    for (size_t i = 0; i < n; ++i) {
        const pop_stats *s = &st[i];
        printf("%-12s %8llu %10llu %9.3f %8.3f %8.3f %8.3f %8.3f %6.1f%% %8.3f %6llu %9.5f\n", pops[i].name,
               (unsigned long long)pops[i].size, (unsigned long long)s->spikes, s->mean_rate, s->q[1], s->q[3],
               s->q[5], s->q[6], 100 * s->silent, s->cv_mean, (unsigned long long)s->cv_neurons, s->corr_mean);
    }
}

static const char stats_usage[] =
    "usage: twinbrain spikes stats OUT.h5 [--warmup MS] [--bin MS] [--sample N] [--json]\n"
    "\n"
    "Per population of /spikes: the mean rate, the distribution of single-neuron rates (quantiles,\n"
    "silent fraction), the mean coefficient of variation of inter-spike intervals (neurons with\n"
    "two intervals or more) and the mean Pearson correlation of spike counts in --bin ms bins\n"
    "(default 1) over every pair of a sample of --sample neurons (default 200) that spike;\n"
    "all over (--warmup, end] ms (default warm-up 0).\n";

/* A whole option value as a number (atof would take "abc" for 0). */
static bool number_arg(const char *s, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno == ERANGE)
        return false;
    *out = x;
    return true;
}

#define MAX_BINS 1e8

static int parse_stats(int argc, char **argv, stats_args *a)
{
    a->bin = 1.0;
    a->sample = 200;
    for (int i = 1; i < argc; ++i) {
        const char *s = argv[i];
        bool next = i + 1 < argc;
        if (tb_cli_is_help(s)) {
            fputs(stats_usage, stdout);
            return 0;
        } else if (strcmp(s, "--json") == 0) {
            a->json = true;
        } else if ((strcmp(s, "--warmup") == 0 || strcmp(s, "--bin") == 0 || strcmp(s, "--sample") == 0) && next) {
            double x;
            if (!number_arg(argv[++i], &x) || !isfinite(x))
                return tb_cli_usage_error("spikes", "%s needs a finite number, not '%s'", s, argv[i]);
            if (s[2] == 'w')
                a->warmup = x;
            else if (s[2] == 'b')
                a->bin = x;
            else if (x >= 2 && x <= 1e6 && x == floor(x))
                a->sample = (size_t)x;
            else
                return tb_cli_usage_error("spikes", "--sample needs a whole number from 2 to 1000000, not '%s'",
                                          argv[i]);
        } else if (s[0] == '-') {
            return tb_cli_usage_error("spikes", "unknown option '%s' (or it is missing its value)", s);
        } else if (!a->file) {
            a->file = s;
        } else {
            return tb_cli_usage_error("spikes", "one file at a time");
        }
    }
    if (!a->file)
        return tb_cli_usage_error("spikes", "missing the output file");
    if (!(a->warmup >= 0) || !(a->bin > 0) || a->sample < 2)
        return tb_cli_usage_error("spikes", "--warmup must be >= 0, --bin > 0 and --sample >= 2");
    return -1;
}

static int stats(int argc, char **argv)
{
    stats_args a = {0};
    int rc = parse_stats(argc, argv, &a);
    if (rc >= 0)
        return rc;
    hid_t f = open_output(a.file);
    if (f < 0)
        return input_error(a.file, tb_file_exists(a.file) ? "not an HDF5 file" : "no such file");
    pop_spikes *pops = NULL;
    size_t n = 0;
    double duration = 0;
    rc = read_spikes(f, a.file, &pops, &n, &duration);
    H5Fclose(f);
    if (rc == 0 && !(duration > a.warmup))
        rc = input_error(a.file, "the warm-up covers the whole run");
    /* the correlations hold sample x bins counts */
    if (rc == 0 && !((duration - a.warmup) / a.bin <= MAX_BINS))
        rc = tb_cli_usage_error("spikes", "--bin %g ms makes %g bins of (%g, %g] ms; at most %.0f", a.bin,
                                (duration - a.warmup) / a.bin, a.warmup, duration, MAX_BINS);
    pop_stats *st = calloc(n + 1, sizeof *st);
    for (size_t i = 0; rc == 0 && st && i < n; ++i) {
        per_neuron g = {0};
        if (!group_by_neuron(&pops[i], a.warmup, &g)) {
            rc = input_error(a.file, "out of memory");
        } else {
            rates_and_cv(&pops[i], &g, duration - a.warmup, &st[i]);
            correlations(&pops[i], &g, &a, duration, &st[i]);
        }
        free(g.start);
        free(g.t);
    }
    if (rc == 0 && st)
        (a.json ? print_json : print_table)(&a, duration, pops, st, n);
    for (size_t i = 0; i < n; ++i) {
        free(pops[i].name);
        free(pops[i].t);
        free(pops[i].id);
    }
    free(pops);
    free(st);
    return rc;
}

int tb_cli_spikes(int argc, char **argv)
{
    if (argc < 2 || tb_cli_is_help(argv[1])) {
        fputs("usage: twinbrain spikes stats OUT.h5 [--warmup MS] [--bin MS] [--sample N] [--json]\n"
              "'twinbrain spikes stats --help' says more.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? TB_ERR_SCENARIO : 0;
    }
    if (strcmp(argv[1], "stats") == 0)
        return stats(argc - 1, argv + 1);
    return tb_cli_usage_error("spikes", "unknown subcommand '%s' (try 'stats')", argv[1]);
}
