/* twinbrain compare: one scenario, the same seed, on several devices (or
 * at several precisions); per run the program build, the run time and the
 * differences of its output to the first run's (core/compare.c).
 *
 * Each run writes its own output file and the comparison reads the files,
 * so it works for every kit: whatever a kit writes under /monitors, /twin
 * or /spikes is compared. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "effect.h"
#include "twinbrain/compare.h"
#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "util.h"

static const char usage[] =
    "usage: twinbrain compare SCENARIO.toml --devices SEL,SEL[,...] [--precisions single,double]\n"
    "                         [--precision P] [--set KEY=VALUE]... [--keep DIR] [--json] [--quiet]\n"
    "       twinbrain compare --files REF.h5 OTHER.h5 [OTHER.h5...] [--json]\n"
    "       twinbrain compare BASELINE.h5 PERTURBED.h5 [--json]\n"
    "\n"
    "Runs the scenario once per device (and per precision), with the same seed, and reports per\n"
    "run the program build time (and whether it came from the cache), the run time, steps per\n"
    "second and device time, and for every monitor (every numeric dataset under /monitors and\n"
    "/twin) the difference to the first run: max absolute, max relative, RMS and Pearson r; for\n"
    "spikes (/spikes/<population>) the spike counts, per-population rates and the time the spike\n"
    "trains first diverge.\n"
    "  --devices LIST       device selectors, separated by commas (default: the scenario's device);\n"
    "                       a device may appear twice (a check that runs are reproducible)\n"
    "  --precisions LIST    single, double or both: every device runs at each (default: the\n"
    "                       scenario's precision, or --precision)\n"
    "  --keep DIR           keep the output files in DIR as run0.h5, run1.h5, ... (default: removed)\n"
    "  --files              compare existing output files (from any machine) with the first one\n"
    "  --json               one JSON document on stdout instead of the table\n"
    "  -q, --quiet          no progress lines on stderr\n"
    "max/peak: max abs over the largest magnitude of the first run's dataset; max rel: elementwise,\n"
    "dividing by the first run's magnitude floored at 1e-6 of that largest one (large where values\n"
    "cross zero). docs/backends.md explains what to expect between devices and precisions.\n"
    "BASELINE.h5 PERTURBED.h5 (two output files, no option): the effect of a perturbation\n"
    "(docs/perturbations.md): per monitor and instance the change of the units' mean and SD over\n"
    "time and of the functional connectivity (r between the FC matrices, RMS change, the unit\n"
    "whose FC changed most), instances ranked by FC change; per spiking population the rates and\n"
    "the CV of inter-spike intervals. Each perturbed instance is set against the baseline's\n"
    "instance of the same index, or its only one.\n";

typedef struct cargs {
    const char *scenario, *devices, *precisions, *precision, *keep;
    const char **sets;
    size_t n_sets;
    bool json, quiet, files, effect;
    const char **paths; /* --files */
    size_t n_paths;
} cargs;

/* One run: where, how, how long, and its differences to run 0. */
typedef struct crun {
    char selector[64];
    const char *precision;
    tb_device_info info;
    double build_seconds, run_seconds, device_seconds, steps_per_second;
    tb_program_origin origin;
    uint64_t steps;
    char *output;
    tb_compare cmp;
} crun;

static int parse(int argc, char **argv, cargs *a)
{
    for (int i = 1; i < argc; ++i) {
        const char *s = argv[i];
        bool has_next = i + 1 < argc;
        int c = tb_cli_common_option("compare", argc, argv, &i, a->sets, &a->n_sets, &a->precision);
        if (c < 0)
            return TB_ERR_SCENARIO;
        if (c > 0)
            continue;
        if (tb_cli_is_help(s)) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(s, "--devices") == 0 && has_next) {
            a->devices = argv[++i];
        } else if (strcmp(s, "--precisions") == 0 && has_next) {
            a->precisions = argv[++i];
        } else if (strcmp(s, "--keep") == 0 && has_next) {
            a->keep = argv[++i];
        } else if (strcmp(s, "--json") == 0) {
            a->json = true;
        } else if (strcmp(s, "--files") == 0) {
            a->files = true;
        } else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            a->quiet = true;
        } else if (s[0] == '-' && s[1]) {
            return tb_cli_usage_error("compare", "unknown option '%s'%s", s,
                                      has_next ? "" : " (or it is missing its value)");
        } else if (a->files || !a->scenario) {
            a->paths[a->n_paths++] = s;
            a->scenario = a->paths[0];
        } else if (a->n_paths == 1 && tb_str_ends_with(a->scenario, ".h5")) {
            a->paths[a->n_paths++] = s; /* BASELINE.h5 PERTURBED.h5 */
            a->effect = true;
        } else {
            return tb_cli_usage_error("compare", "one scenario at a time ('%s' and '%s')", a->scenario, s);
        }
    }
    if (a->files && a->n_paths < 2)
        return tb_cli_usage_error("compare", "--files needs at least two output files");
    if (!a->scenario)
        return tb_cli_usage_error("compare", "missing the scenario file");
    return -1;
}

/* "a,b,c" into at most `cap` items (pointing into a copy the caller frees). */
static size_t split(char *copy, const char **items, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < cap; t = strtok_r(NULL, ",", &save))
        items[n++] = t;
    return n;
}

/* ------------------------------------------------------------ running */

/* One run on one device: opened here and closed after, so that each run's
 * build time is its own (compile, or load from the cache). */
static tb_status run_one(const cargs *a, const tb_scenario *sc, crun *r, tb_error *err)
{
    tb_cli_devs devs = {0};
    tb_sim *sim = NULL;
    tb_status st = tb_cli_devs_open(&devs, r->selector, sc->precision == TB_DOUBLE, NULL, true, err);
    if (st == TB_OK && devs.n != 1)
        st = tb_error_set(err, TB_ERR_SCENARIO, "compare runs each selector on one device; '%s' names %zu",
                          r->selector, devs.n);
    if (st == TB_OK) {
        r->info = *tb_device_get_info(devs.dev[0]);
        if (!a->quiet)
            fprintf(stderr, "compare: run on device %d (%s), %s precision\n", r->info.index, r->info.name,
                    r->precision);
        st = tb_sim_create(sc, devs.dev[0], &sim, err);
    }
    if (st == TB_OK)
        st = tb_sim_run(sim, r->output, NULL, err);
    if (st == TB_OK) {
        tb_sim_summary s;
        tb_sim_get_summary(sim, &s);
        r->build_seconds = s.build_seconds;
        r->origin = s.program_origin;
        r->run_seconds = s.wall_seconds;
        r->steps = s.steps;
        r->steps_per_second = s.wall_seconds > 0 ? (double)s.steps / s.wall_seconds : 0.0;
        size_t n = 0;
        const tb_profile_entry *e = tb_profile_entries(devs.prof[0], &n);
        for (size_t i = 0; i < n; ++i)
            if (e[i].kind != TB_PROF_HOST)
                r->device_seconds += e[i].seconds;
    }
    if (st != TB_OK)
        tb_error_prefix(err, "compare: the run on '%s' (%s precision): ", r->selector, r->precision);
    tb_sim_free(sim);
    tb_cli_devs_close(&devs);
    return st;
}

/* ------------------------------------------------------------ reporting */

static void json_num(tb_buf *b, double x)
{
    if (isfinite(x))
        tb_buf_printf(b, "%.6g", x);
    else
        tb_buf_puts(b, "null");
}

static void json_diffs(tb_buf *b, const tb_compare *c)
{
    tb_buf_puts(b, "\"differences\": [");
    for (size_t i = 0; i < c->n_diffs; ++i) {
        const tb_diff *d = &c->diffs[i];
        tb_buf_puts(b, i ? ", {\"dataset\": " : "{\"dataset\": ");
        tb_json_string(b, d->name);
        tb_buf_puts(b, ", \"path\": ");
        tb_json_string(b, d->path);
        tb_buf_printf(b, ", \"elements\": %llu, \"max_abs\": ", (unsigned long long)d->elements);
        json_num(b, d->max_abs);
        tb_buf_puts(b, ", \"max_rel\": ");
        json_num(b, d->max_rel);
        tb_buf_puts(b, ", \"max_abs_over_peak\": ");
        json_num(b, d->peak > 0 ? d->max_abs / d->peak : (d->max_abs > 0 ? INFINITY : 0.0));
        tb_buf_puts(b, ", \"peak\": ");
        json_num(b, d->peak);
        tb_buf_puts(b, ", \"rms\": ");
        json_num(b, d->rms);
        tb_buf_puts(b, ", \"pearson_r\": ");
        json_num(b, d->pearson_r);
        tb_buf_printf(b, ", \"nonfinite\": %llu, \"problem\": ", (unsigned long long)d->nonfinite);
        if (d->problem[0])
            tb_json_string(b, d->problem);
        else
            tb_buf_puts(b, "null");
        tb_buf_puts(b, "}");
    }
    tb_buf_puts(b, "], \"spikes\": [");
    for (size_t i = 0; i < c->n_spikes; ++i) {
        const tb_spike_diff *s = &c->spikes[i];
        tb_buf_puts(b, i ? ", {\"population\": " : "{\"population\": ");
        tb_json_string(b, s->population);
        tb_buf_printf(b, ", \"count_reference\": %llu, \"count\": %llu, \"count_difference\": %lld",
                      (unsigned long long)s->count_ref, (unsigned long long)s->count,
                      (long long)s->count - (long long)s->count_ref);
        tb_buf_puts(b, ", \"rate_reference_hz\": ");
        json_num(b, s->rate_ref);
        tb_buf_puts(b, ", \"rate_hz\": ");
        json_num(b, s->rate);
        tb_buf_puts(b, ", \"rate_difference_hz\": ");
        json_num(b, s->rate - s->rate_ref);
        tb_buf_puts(b, ", \"first_divergence_ms\": ");
        json_num(b, s->first_divergence_ms);
        tb_buf_printf(b, ", \"matching_spikes\": %llu, \"problem\": ", (unsigned long long)s->matching);
        if (s->problem[0])
            tb_json_string(b, s->problem);
        else
            tb_buf_puts(b, "null");
        tb_buf_puts(b, "}");
    }
    tb_buf_puts(b, "]");
}

static void print_json(const cargs *a, const tb_scenario *sc, const crun *runs, size_t n)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"scenario\": ");
    tb_json_string(&b, a->scenario);
    tb_buf_printf(&b, ", \"steps\": %llu, \"dt_ms\": %.17g, \"seed\": %llu, \"instances\": %zu, \"runs\": [",
                  (unsigned long long)sc->steps, sc->dt, (unsigned long long)sc->seed, sc->n_instances);
    for (size_t k = 0; k < n; ++k) {
        const crun *r = &runs[k];
        tb_buf_printf(&b, "%s\n  {\"run\": %zu, \"selector\": ", k ? "," : "", k);
        tb_json_string(&b, r->selector);
        tb_buf_printf(&b, ", \"device\": {\"index\": %d, \"name\": ", r->info.index);
        tb_json_string(&b, r->info.name);
        tb_buf_puts(&b, ", \"platform\": ");
        tb_json_string(&b, r->info.platform_name);
        tb_buf_puts(&b, ", \"type\": ");
        tb_json_string(&b, tb_device_type_name(r->info.type));
        tb_buf_puts(&b, ", \"driver_version\": ");
        tb_json_string(&b, r->info.driver_version);
        tb_buf_puts(&b, "}, \"precision\": ");
        tb_json_string(&b, r->precision);
        tb_buf_printf(&b, ", \"build_seconds\": %.6g, \"program\": ", r->build_seconds);
        tb_json_string(&b, tb_program_origin_name(r->origin));
        tb_buf_printf(&b, ", \"program_from_cache\": %s, \"run_seconds\": %.6g, \"steps_per_second\": %.6g, "
                          "\"device_seconds\": %.6g, \"output\": ",
                      r->origin == TB_PROGRAM_CACHED ? "true" : "false", r->run_seconds, r->steps_per_second,
                      r->device_seconds);
        if (a->keep)
            tb_json_string(&b, r->output);
        else
            tb_buf_puts(&b, "null");
        tb_buf_puts(&b, ", ");
        json_diffs(&b, &r->cmp);
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "]}\n");
    char *s = tb_buf_take(&b);
    fputs(s ? s : "", stdout);
    free(s);
}

static void num_text(char *buf, size_t cap, double x)
{
    if (isnan(x))
        snprintf(buf, cap, "n/a");
    else if (x == 0)
        snprintf(buf, cap, "0");
    else
        snprintf(buf, cap, "%.3e", x);
}

static void print_diffs(const crun *runs, size_t n)
{
    printf("\ndifferences to run 0:\n%-4s %-24s %11s %11s %11s %11s %12s\n", "run", "dataset", "max abs",
           "max/peak", "max rel", "RMS", "Pearson r");
    for (size_t k = 1; k < n; ++k)
        for (size_t i = 0; i < runs[k].cmp.n_diffs; ++i) {
            const tb_diff *d = &runs[k].cmp.diffs[i];
            if (d->problem[0]) {
                printf("%-4zu %-24s %s\n", k, d->name, d->problem);
                continue;
            }
            char ma[24], mp[24], mr[24], rms[24];
            num_text(ma, sizeof ma, d->max_abs);
            num_text(mp, sizeof mp, d->peak > 0 ? d->max_abs / d->peak : d->max_abs > 0 ? INFINITY : 0.0);
            num_text(mr, sizeof mr, d->max_rel);
            num_text(rms, sizeof rms, d->rms);
            printf("%-4zu %-24s %11s %11s %11s %11s %12.9f\n", k, d->name, ma, mp, mr, rms, d->pearson_r);
        }
}

static void print_spikes(const crun *runs, size_t n)
{
    if (n < 2 || runs[1].cmp.n_spikes == 0)
        return;
    printf("\nspikes, against run 0:\n%-4s %-16s %10s %10s %8s %11s %11s %10s %18s\n", "run", "population", "count 0",
           "count", "diff", "rate 0 Hz", "rate Hz", "diff Hz", "first divergence");
    for (size_t k = 1; k < n; ++k)
        for (size_t i = 0; i < runs[k].cmp.n_spikes; ++i) {
            const tb_spike_diff *s = &runs[k].cmp.spikes[i];
            if (s->problem[0]) {
                printf("%-4zu %-16s %s\n", k, s->population, s->problem);
                continue;
            }
            char when[32];
            if (isnan(s->first_divergence_ms))
                snprintf(when, sizeof when, "never");
            else
                snprintf(when, sizeof when, "%.4f ms", s->first_divergence_ms);
            printf("%-4zu %-16s %10llu %10llu %+8lld %11.4f %11.4f %+10.4f %18s\n", k, s->population,
                   (unsigned long long)s->count_ref, (unsigned long long)s->count,
                   (long long)s->count - (long long)s->count_ref, s->rate_ref, s->rate, s->rate - s->rate_ref, when);
        }
}

static void print_table(const cargs *a, const tb_scenario *sc, const crun *runs, size_t n)
{
    printf("twinbrain compare: %s, %llu steps of %g ms, seed %llu, %zu instance%s\n\n", a->scenario,
           (unsigned long long)sc->steps, sc->dt, (unsigned long long)sc->seed, sc->n_instances,
           sc->n_instances == 1 ? "" : "s");
    printf("%-4s %-44s %-9s %9s %-9s %9s %11s %9s\n", "run", "device", "precision", "build s", "program", "run s",
           "steps/s", "device s");
    for (size_t k = 0; k < n; ++k) {
        const crun *r = &runs[k];
        char dev[64];
        snprintf(dev, sizeof dev, "%d %.40s", r->info.index, r->info.name);
        printf("%-4zu %-44s %-9s %9.3f %-9s %9.3f %11.4g %9.3f\n", k, dev, r->precision, r->build_seconds,
               tb_program_origin_name(r->origin), r->run_seconds, r->steps_per_second, r->device_seconds);
    }
    if (n > 1) {
        print_diffs(runs, n);
        print_spikes(runs, n);
    }
    printf("\nbuild s: program build (compile) or load (cache, prebuilt); run s: wall time of the run;\n"
           "device s: kernel and transfer time from OpenCL events.\n");
}

/* ------------------------------------------------------------ the command */

static tb_status prepare_runs(const cargs *a, const char *dir, const tb_scenario *first, crun **out, size_t *n,
                              tb_error *err)
{
    char *devs = tb_strdup(a->devices ? a->devices : first->device ? first->device : "auto");
    char *precs = tb_strdup(a->precisions ? a->precisions : tb_precision_name(first->precision));
    const char *dl[64], *pl[4];
    size_t nd = split(devs, dl, 64), np = split(precs, pl, 4);
    tb_status st = TB_OK;
    for (size_t p = 0; p < np && st == TB_OK; ++p)
        if (strcmp(pl[p], "single") && strcmp(pl[p], "double"))
            st = tb_error_set(err, TB_ERR_SCENARIO, "--precisions: '%s' is not single or double", pl[p]);
    if (st == TB_OK && nd * np == 0)
        st = tb_error_set(err, TB_ERR_SCENARIO, "compare needs at least one device (--devices SEL,SEL)");
    crun *runs = st == TB_OK ? calloc(nd * np, sizeof *runs) : NULL;
    if (st == TB_OK && !runs)
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t d = 0; st == TB_OK && d < nd; ++d)
        for (size_t p = 0; p < np; ++p) {
            crun *r = &runs[d * np + p];
            snprintf(r->selector, sizeof r->selector, "%s", dl[d]);
            r->precision = strcmp(pl[p], "single") == 0 ? "single" : "double";
            r->output = tb_asprintf("%s/run%zu.h5", dir, d * np + p);
        }
    *out = runs;
    *n = st == TB_OK ? nd * np : 0;
    free(devs);
    free(precs);
    return st;
}

static tb_status run_all(const cargs *a, tb_plugin_registry *reg, crun *runs, size_t n, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < n; ++k) {
        tb_scenario *sc = NULL;
        st = tb_cli_load(a->scenario, a->sets, a->n_sets, runs[k].precision, &reg, &sc, err);
        if (st == TB_OK)
            st = run_one(a, sc, &runs[k], err);
        if (st == TB_OK && k > 0)
            st = tb_compare_files(runs[0].output, runs[k].output, &runs[k].cmp, err);
        tb_scenario_free(sc);
    }
    return st;
}

static int compare(const cargs *a)
{
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    crun *runs = NULL;
    size_t n = 0;
    char tmp[] = "/tmp/twinbrain-compare.XXXXXX";
    const char *dir = a->keep;
    tb_status st = tb_cli_load(a->scenario, a->sets, a->n_sets, a->precision, &reg, &sc, &err);
    if (st == TB_OK && !dir && !(dir = mkdtemp(tmp)))
        st = tb_error_set(&err, TB_ERR_OTHER, "cannot create a scratch folder in /tmp");
    if (st == TB_OK && a->keep && mkdir(a->keep, 0755) != 0 && errno != EEXIST)
        st = tb_error_set(&err, TB_ERR_OTHER, "--keep %s: cannot create the folder: %s", a->keep, strerror(errno));
    if (st == TB_OK)
        st = prepare_runs(a, dir, sc, &runs, &n, &err);
    /* the runs reload the scenario at their own precision; `sc` served the defaults */
    if (st == TB_OK)
        st = run_all(a, reg, runs, n, &err);
    if (st == TB_OK && a->json)
        print_json(a, sc, runs, n);
    else if (st == TB_OK)
        print_table(a, sc, runs, n);
    int rc = st == TB_OK ? 0 : tb_cli_fail(&err);
    for (size_t k = 0; k < n; ++k) {
        if (!a->keep && runs[k].output)
            unlink(runs[k].output);
        free(runs[k].output);
        tb_compare_free(&runs[k].cmp);
    }
    if (!a->keep && dir)
        rmdir(dir);
    free(runs);
    tb_error_clear(&err);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    return rc;
}

/* --files: the files are the runs; what ran them is in their attributes. */
static int compare_files(const cargs *a)
{
    tb_error err = {0};
    crun *runs = calloc(a->n_paths, sizeof *runs);
    tb_status st = runs ? TB_OK : tb_error_set(&err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 1; st == TB_OK && k < a->n_paths; ++k)
        st = tb_compare_files(a->paths[0], a->paths[k], &runs[k].cmp, &err);
    if (st == TB_OK && a->json) {
        tb_buf b = {0};
        tb_buf_puts(&b, "{\"files\": [");
        for (size_t k = 0; k < a->n_paths; ++k) {
            tb_buf_printf(&b, "%s\n  {\"run\": %zu, \"output\": ", k ? "," : "", k);
            tb_json_string(&b, a->paths[k]);
            tb_buf_puts(&b, ", ");
            json_diffs(&b, &runs[k].cmp);
            tb_buf_puts(&b, "}");
        }
        tb_buf_puts(&b, "]}\n");
        char *s = tb_buf_take(&b);
        fputs(s ? s : "", stdout);
        free(s);
    } else if (st == TB_OK) {
        for (size_t k = 0; k < a->n_paths; ++k)
            printf("run %zu: %s\n", k, a->paths[k]);
        print_diffs(runs, a->n_paths);
        print_spikes(runs, a->n_paths);
    }
    int rc = st == TB_OK ? 0 : tb_cli_fail(&err);
    for (size_t k = 0; runs && k < a->n_paths; ++k)
        tb_compare_free(&runs[k].cmp);
    free(runs);
    tb_error_clear(&err);
    return rc;
}

/* ------------------------------------------------------------ effects */

static const char *unit_name(const tb_effect *e, int64_t u, char *buf, size_t cap)
{
    if (u < 0)
        return "-";
    if (e->labels && (size_t)u < e->n_labels)
        return e->labels[u];
    snprintf(buf, cap, "%lld", (long long)u);
    return buf;
}

static int by_fc_change(const void *pa, const void *pb, void *ctx)
{
    const double *v = ctx;
    double a = v[*(const size_t *)pa], b = v[*(const size_t *)pb];
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return a < b ? 1 : a > b ? -1 : 0;
}

/* Instances most changed first (insertion sort: qsort has no context). */
static void rank(const double *key, size_t *order, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        order[i] = i;
    for (size_t i = 1; i < n; ++i)
        for (size_t j = i; j > 0 && by_fc_change(&order[j - 1], &order[j], (void *)key) > 0; --j) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

#define EFFECT_ROWS 10

static void print_effect(const cargs *a, const tb_effect *e)
{
    printf("twinbrain compare: the effect of %s against the baseline %s\n", a->paths[1], a->paths[0]);
    for (size_t i = 0; i < e->n_mon; ++i) {
        const tb_effect_monitor *m = &e->mon[i];
        printf("\nmonitor %s (%s)", m->name, m->kind);
        if (m->problem[0]) {
            printf(": %s\n", m->problem);
            continue;
        }
        printf(": %llu samples, %llu units, %llu instance%s%s\n", (unsigned long long)m->T,
               (unsigned long long)m->N, (unsigned long long)m->B, m->B == 1 ? "" : "s",
               m->B > 1 ? ", most changed FC first" : "");
        printf("  %-9s %12s %12s %9s %9s %10s  %s\n", "instance", "mean change", "mean |chg|", "SD ratio", "FC r",
               "FC RMS chg", "unit whose FC changed most");
        size_t *order = malloc(m->B * sizeof *order);
        if (!order)
            return;
        rank(m->fc_rms, order, m->B);
        for (size_t r = 0; r < m->B && r < EFFECT_ROWS; ++r) {
            size_t k = order[r];
            char buf[32];
            printf("  %-9zu %12.5g %12.5g %9.4f %9.4f %10.5f  %s\n", k, m->mean_change[k], m->mean_abs[k],
                   m->sd_ratio[k], m->fc_r[k], m->fc_rms[k], unit_name(e, m->fc_unit[k], buf, sizeof buf));
        }
        if (m->B > EFFECT_ROWS)
            printf("  ... %llu more instances (--json lists them all)\n", (unsigned long long)(m->B - EFFECT_ROWS));
        free(order);
    }
    if (e->n_spikes)
        printf("\nspikes\n  %-16s %10s %10s %10s %10s %10s\n", "population", "rate base", "rate", "change",
               "CV base", "CV");
    for (size_t i = 0; i < e->n_spikes; ++i) {
        const tb_effect_spikes *s = &e->spikes[i];
        if (s->problem[0])
            printf("  %-16s %s\n", s->population, s->problem);
        else
            printf("  %-16s %10.4g %10.4g %+10.3g %10.4g %10.4g\n", s->population, s->rate_base, s->rate,
                   s->rate - s->rate_base, s->cv_base, s->cv);
    }
}

static void json_full(tb_buf *b, double x)
{
    if (isfinite(x))
        tb_buf_printf(b, "%.17g", x);
    else
        tb_buf_puts(b, "null");
}

static void json_array(tb_buf *b, const char *key, const double *v, size_t n)
{
    tb_buf_printf(b, ", \"%s\": [", key);
    for (size_t k = 0; k < n; ++k) {
        tb_buf_puts(b, k ? ", " : "");
        json_full(b, v[k]);
    }
    tb_buf_puts(b, "]");
}

static void json_effect(const cargs *a, const tb_effect *e)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"baseline\": ");
    tb_json_string(&b, a->paths[0]);
    tb_buf_puts(&b, ", \"perturbed\": ");
    tb_json_string(&b, a->paths[1]);
    tb_buf_puts(&b, ", \"monitors\": [");
    for (size_t i = 0; i < e->n_mon; ++i) {
        const tb_effect_monitor *m = &e->mon[i];
        tb_buf_puts(&b, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
        tb_json_string(&b, m->name);
        tb_buf_puts(&b, ", \"kind\": ");
        tb_json_string(&b, m->kind);
        tb_buf_puts(&b, ", \"problem\": ");
        tb_json_string(&b, m->problem);
        tb_buf_printf(&b, ", \"samples\": %llu, \"units\": %llu, \"instances\": %llu", (unsigned long long)m->T,
                      (unsigned long long)m->N, (unsigned long long)m->B);
        if (!m->problem[0]) {
            json_array(&b, "mean_change", m->mean_change, m->B);
            json_array(&b, "mean_abs_change", m->mean_abs, m->B);
            json_array(&b, "sd_ratio", m->sd_ratio, m->B);
            json_array(&b, "fc_r", m->fc_r, m->B);
            json_array(&b, "fc_rms_change", m->fc_rms, m->B);
            tb_buf_puts(&b, ", \"fc_most_changed_unit\": [");
            for (size_t k = 0; k < m->B; ++k)
                tb_buf_printf(&b, "%s%lld", k ? ", " : "", (long long)m->fc_unit[k]);
            tb_buf_puts(&b, "]");
        }
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "], \"spikes\": [");
    for (size_t i = 0; i < e->n_spikes; ++i) {
        const tb_effect_spikes *s = &e->spikes[i];
        tb_buf_puts(&b, i ? ",\n  {\"population\": " : "\n  {\"population\": ");
        tb_json_string(&b, s->population);
        tb_buf_printf(&b, ", \"count_base\": %llu, \"count\": %llu, \"rate_base\": ",
                      (unsigned long long)s->count_base, (unsigned long long)s->count);
        json_full(&b, s->rate_base);
        tb_buf_puts(&b, ", \"rate\": ");
        json_full(&b, s->rate);
        tb_buf_puts(&b, ", \"cv_base\": ");
        json_full(&b, s->cv_base);
        tb_buf_puts(&b, ", \"cv\": ");
        json_full(&b, s->cv);
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "]}\n");
    char *text = tb_buf_take(&b);
    fputs(text ? text : "", stdout);
    free(text);
}

static int compare_effect(const cargs *a)
{
    tb_error err = {0};
    tb_effect e;
    tb_status st = tb_effect_files(a->paths[0], a->paths[1], &e, &err);
    if (st != TB_OK)
        return tb_cli_fail(&err);
    if (a->json)
        json_effect(a, &e);
    else
        print_effect(a, &e);
    tb_effect_free(&e);
    return 0;
}

int tb_cli_compare(int argc, char **argv)
{
    cargs a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof *a.sets);
    a.paths = calloc((size_t)argc + 1, sizeof *a.paths);
    int rc = a.sets && a.paths ? parse(argc, argv, &a) : 1;
    if (rc < 0)
        rc = a.files ? compare_files(&a) : a.effect ? compare_effect(&a) : compare(&a);
    free(a.sets);
    free(a.paths);
    return rc;
}
