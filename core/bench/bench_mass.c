/* twinbrain bench mass: region-steps per second of neural-mass models with
 * delays and BOLD, single runs and sweeps, single and double precision,
 * against the plain C loop of bench_baseline.c run in the same invocation
 * (ratios hold on a noisy machine; seconds do not). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "cli/cli.h"
#include "twinbrain/connectome.h"
#include "twinbrain/device.h"
#include "twinbrain/mass.h"
#include "twinbrain/plugin.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "util.h"
#include "world.h"

#define DT 0.1
#define SPEED 3.0

/* fast_tvb's published workload (issue 16): its 379-region connectome
 * reproduced in shape by `connectome generate` (density 0.40, lengths
 * scaled so the longest delay is 18 ms at 12.5 mm/ms), Wong-Wang E-I,
 * Euler-Maruyama, BOLD. */
#define FAST_TVB_REGIONS 379
#define FAST_TVB_DENSITY 0.40
#define FAST_TVB_SPEED 12.5
#define FAST_TVB_MAX_DELAY 18.0 /* ms */
#define FAST_TVB_SIGMA 0.01

static const char usage[] =
    "usage: twinbrain bench mass [--models M,...] [--regions N,...] [--instances B,...]\n"
    "                            [--precision single,double] [--device SEL] [--seconds S] [--json]\n"
    "\n"
    "Region-steps per second (regions x steps x instances / wall seconds) of neural-mass models\n"
    "on synthetic connectomes (twinbrain connectome generate, seed 1) with delays at 3 mm/ms,\n"
    "Heun at dt = 0.1 ms and a BOLD monitor, next to a plain single-threaded C loop of the same\n"
    "model measured in the same invocation. Sweeps vary one parameter over the instances.\n"
    "Defaults: --models jansen_rit,wong_wang_ei --regions 68,246,998 --instances 1,1024\n"
    "--precision single,double --seconds 1.5. Figures: docs/performance.md.\n"
    "Under mpirun every rank runs its share of each sweep's instances (docs/mpi.md; a workload with\n"
    "fewer instances than ranks is skipped) and rank 0 prints the table; the C loop runs on each rank.\n"
    "  --shape fast_tvb  fast_tvb's workload instead: wong_wang_ei on 379 regions, connectome generate\n"
    "                    --regions 379 --seed 1 --density 0.4 with the tortuosity that makes the longest\n"
    "                    delay 18 ms at 12.5 mm/ms (printed), Euler-Maruyama (additive noise, sigma\n"
    "                    0.01 on S_e and S_i), BOLD; one instance; the C loop stays Heun without noise\n";

typedef struct list {
    char *items[16];
    size_t n;
} list;

static void split(list *l, const char *s)
{
    l->n = 0;
    char *copy = tb_strdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && l->n < 16; tok = strtok_r(NULL, ",", &save))
        l->items[l->n++] = tb_strdup(tok);
    free(copy);
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; ++i)
        free(l->items[i]);
    l->n = 0;
}

typedef struct opts {
    list models, regions, instances, precisions;
    const char *device;
    double seconds;
    bool json;
    bool fast_tvb;
} opts;

typedef struct result {
    const char *model;
    long regions, instances, edges;
    const char *precision;
    uint64_t steps;
    double engine, baseline; /* region-steps per second (baseline: per instance, single thread) */
    double build;
    double fast_tvb; /* fast_tvb's region-steps per second (0: not run) */
    char note[160];
} result;

static double max_length(const tb_connectome *c)
{
    double m = 0;
    for (size_t i = 0; i < c->n * c->n; ++i)
        if (c->weights[i] != 0 && c->tract_lengths[i] > m)
            m = c->tract_lengths[i];
    return m;
}

/* fast_tvb's inputs (its README's layout, relative to its working
 * folder): input/param_set.txt (regions, G, J_NMDA, w_plus, J_i, sigma,
 * milliseconds, BOLD TR in ms, speed in m/s, seed; its published values
 * but for the length, set per run) and the weights and tract lengths as
 * N x N text, row = target as in twinbrain. */
static tb_status fast_tvb_inputs(const char *dir, const tb_connectome *c, tb_error *err)
{
    char *in = tb_asprintf("%s/input", dir), *out = tb_asprintf("%s/output", dir);
    bool ok = mkdir(in, 0700) == 0 && mkdir(out, 0700) == 0;
    for (int k = 0; ok && k < 2; ++k) {
        char *path = tb_asprintf("%s/bench_SC_%s.txt", in, k ? "distances" : "weights");
        FILE *f = fopen(path, "w");
        ok = f != NULL;
        for (size_t i = 0; ok && i < c->n; ++i) {
            for (size_t j = 0; j < c->n; ++j)
                fprintf(f, "%.9g ", k ? c->tract_lengths[i * c->n + j] : c->weights[i * c->n + j]);
            fputc('\n', f);
        }
        if (f)
            ok &= fclose(f) == 0;
        free(path);
    }
    tb_status st = ok ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "%s: cannot write fast_tvb's inputs", in);
    free(in), free(out);
    return st;
}

/* fast_tvb on the connectome fast_tvb_inputs wrote, `steps` steps rounded
 * up to its whole milliseconds; region-steps per second of its whole
 * process (reading its text inputs included, a fraction of a second). */
static double fast_tvb_run(const char *dir, long regions, uint64_t steps, unsigned threads, char *note, size_t cap)
{
    long ms = (long)((steps + 9) / 10);
    char *param = tb_asprintf("%s/input/param_set.txt", dir);
    FILE *f = fopen(param, "w");
    if (f) {
        fprintf(f, "%ld 1.000 0.150 1.400 1.000 %.4f %ld 720 %.4f 1403\n", regions, FAST_TVB_SIGMA, ms, FAST_TVB_SPEED);
        fclose(f);
    }
    char *bold = tb_asprintf("%s/output/bench_param_set.txt_fMRI.txt", dir);
    unlink(bold);
    char *cmd = tb_asprintf("cd '%s' && '%s' param_set.txt bench %u >/dev/null 2>&1", dir, getenv("FAST_TVB"),
                            threads ? threads : 1);
    double t0 = tb_now();
    int rc = f ? system(cmd) : -1;
    double wall = tb_now() - t0;
    /* it exits 0 on its own errors: its BOLD file says it ran */
    double rate = 0;
    if (rc == 0 && access(bold, R_OK) == 0)
        rate = (double)regions * (double)ms * 10.0 / wall;
    else
        snprintf(note, cap, "fast_tvb did not run (run `%s` by hand)", cmd);
    unlink(bold);
    free(param), free(bold), free(cmd);
    return rate;
}

static tb_status make_net(const opts *o, const char *dir, long n, char **path, tb_bench_net *net, long *edges,
                          tb_error *err)
{
    tb_connectome_recipe r;
    tb_connectome_recipe_defaults(&r);
    r.n = (size_t)n;
    r.seed = 1;
    tb_connectome *c = NULL;
    const double speed = o->fast_tvb ? FAST_TVB_SPEED : SPEED;
    tb_status st = TB_OK;
    if (o->fast_tvb) {
        /* the tortuosity that stretches the longest tract to 18 ms */
        r.density = FAST_TVB_DENSITY;
        r.tortuosity = 1.0;
        st = tb_connectome_generate(&r, &c, err);
        if (st == TB_OK)
            r.tortuosity = FAST_TVB_MAX_DELAY * FAST_TVB_SPEED / max_length(c);
        tb_connectome_free(c);
        c = NULL;
        if (!o->json && st == TB_OK)
            fprintf(stderr, "  fast_tvb shape: twinbrain connectome generate --regions %ld --seed 1 --density %.2f "
                            "--tortuosity %.6f, speed %.1f mm/ms\n",
                    n, r.density, r.tortuosity, speed);
    }
    if (st == TB_OK)
        st = tb_connectome_generate(&r, &c, err);
    if (st == TB_OK && o->fast_tvb && getenv("FAST_TVB"))
        st = fast_tvb_inputs(dir, c, err);
    *path = tb_asprintf("%s/connectome_%ld.h5", dir, n);
    if (st == TB_OK)
        st = tb_connectome_write(c, *path, err);
    if (st != TB_OK) {
        tb_connectome_free(c);
        return st;
    }
    net->n = (int)n;
    net->row_ptr = malloc(((size_t)n + 1) * sizeof(int));
    size_t nnz = tb_connectome_edges(c);
    net->col = malloc(nnz * sizeof(int));
    net->delay = malloc(nnz * sizeof(int));
    net->w = malloc(nnz * sizeof(double));
    long e = 0, maxd = 0;
    for (long i = 0; i < n; ++i) {
        net->row_ptr[i] = (int)e;
        for (long j = 0; j < n; ++j) {
            double w = c->weights[i * n + j];
            if (w == 0)
                continue;
            long d = lrint(c->tract_lengths[i * n + j] / speed / DT);
            net->col[e] = (int)j, net->w[e] = w, net->delay[e] = (int)d;
            maxd = d > maxd ? d : maxd;
            ++e;
        }
    }
    net->row_ptr[n] = (int)e;
    net->horizon = (int)maxd + 2;
    *edges = e;
    tb_connectome_free(c);
    return TB_OK;
}

static void net_free(tb_bench_net *net)
{
    free(net->row_ptr);
    free(net->col);
    free(net->delay);
    free(net->w);
}

static char *scenario_text(const opts *o, const char *model, const char *connectome, long instances,
                           const char *precision, uint64_t steps)
{
    tb_buf b = {0};
    tb_buf_printf(&b, "[simulation]\nduration = %.17g\ndt = %g\nprecision = \"%s\"\n", (double)steps * DT, DT,
                  precision);
    tb_buf_printf(&b, "[connectome]\nfile = \"%s\"\nspeed = %g\n", connectome, o->fast_tvb ? FAST_TVB_SPEED : SPEED);
    tb_buf_printf(&b, "[model]\nplugin = \"%s\"\n", model);
    if (o->fast_tvb)
        tb_buf_printf(&b, "[integrator]\nmethod = \"euler\"\n[integrator.noise]\nkind = \"additive\"\n"
                          "sigma = { S_e = %g, S_i = %g }\n",
                      FAST_TVB_SIGMA, FAST_TVB_SIGMA);
    else
        tb_buf_puts(&b, "[integrator]\nmethod = \"heun\"\n");
    tb_buf_puts(&b, "[[monitor]]\nname = \"bold\"\nkind = \"bold\"\nperiod = 720.0\n");
    if (instances > 1) {
        bool jr = strcmp(model, "jansen_rit") == 0;
        tb_buf_printf(&b, "[sweep]\n\"model.parameters.%s\" = { linspace = [%s, %ld] }\n", jr ? "mu" : "G",
                      jr ? "0.1, 0.3" : "1.5, 2.5", instances);
    }
    return tb_buf_take(&b);
}

/* One engine run of `steps` steps; wall seconds of the run itself (the
 * program comes from the cache after the first). */
static tb_status engine_run(const opts *o, const char *dir, const tb_plugin_registry *reg, tb_device *dev,
                            const result *r, const char *connectome, uint64_t steps, double *wall, double *build,
                            tb_error *err)
{
    char *path = tb_asprintf("%s/bench.toml", dir), *out = tb_asprintf("%s/bench.h5", dir);
    char *text = scenario_text(o, r->model, connectome, r->instances, r->precision, steps);
    FILE *f = fopen(path, "w");
    tb_status st = f ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "%s: cannot write", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    tb_scenario *sc = NULL;
    tb_sim *sim = NULL;
    if (st == TB_OK)
        st = tb_scenario_load(path, NULL, 0, reg, &sc, err);
    if (st == TB_OK)
        st = tb_sim_create(sc, dev, &sim, err);
    if (st == TB_OK)
        st = tb_sim_run(sim, out, NULL, err);
    if (st == TB_OK) {
        tb_sim_summary s;
        tb_sim_get_summary(sim, &s);
        *wall = s.wall_seconds;
        *build = s.build_seconds;
    }
    tb_sim_free(sim);
    tb_scenario_free(sc);
    unlink(out);
    free(path);
    free(out);
    free(text);
    return st;
}

static void measure(const opts *o, const char *dir, const tb_plugin_registry *reg, tb_device *dev, result *r,
                    const char *connectome, const tb_bench_net *net)
{
    tb_error err = {0};
    double wall = 0, build = 0;
    uint64_t probe = (uint64_t)fmax(50.0, 2e5 / ((double)r->regions * (double)r->instances));
    tb_status st = engine_run(o, dir, reg, dev, r, connectome, probe, &wall, &build, &err);
    if (st == TB_OK) {
        double rate = (double)probe / fmax(wall, 1e-6);
        r->steps = (uint64_t)fmax(50.0, rate * o->seconds);
        /* over MPI ranks every rank runs the same steps: the most any rank chose */
        st = tb_world_max(&r->steps, 1, &err);
    }
    if (st == TB_OK) {
        st = engine_run(o, dir, reg, dev, r, connectome, r->steps, &wall, &r->build, &err);
        r->build = build; /* the first build; the measured run loads from the cache */
    }
    if (st != TB_OK) {
        snprintf(r->note, sizeof r->note, "skipped: %.140s", tb_error_message(&err));
        char *nl = strchr(r->note, '\n');
        if (nl)
            *nl = '\0';
        tb_error_clear(&err);
        return;
    }
    r->engine = (double)r->regions * (double)r->steps * (double)r->instances / wall;
    /* the baseline does one instance: its rate per instance-step is what it
     * would sustain on any number of instances, one after another */
    uint64_t bsteps = 64;
    double t0 = tb_now(), chk = 0;
    while (tb_now() - t0 < o->seconds / 8)
        chk += tb_bench_baseline(net, r->model, strcmp(r->precision, "single") == 0, bsteps, DT), bsteps *= 2;
    double t1 = tb_now();
    chk += tb_bench_baseline(net, r->model, strcmp(r->precision, "single") == 0, bsteps, DT);
    double bw = tb_now() - t1;
    r->baseline = (double)r->regions * (double)bsteps / bw;
    if (!isfinite(chk))
        snprintf(r->note, sizeof r->note, "baseline diverged");
}

static void print_table(const result *rs, size_t n, const tb_device_info *d, bool fast_tvb_shape)
{
    printf("device: %s (%s), %u compute units", d->name, d->platform_name, d->compute_units);
    if (tb_world_size() > 1)
        printf("; %d MPI ranks, one such device each, the instances divided over them", tb_world_size());
    printf("\n");
    printf("%-14s %7s %9s %6s %9s %8s %13s %13s %7s  %s\n", "model", "regions", "instances", "edges", "precision",
           "steps", "engine rs/s", "baseline rs/s", "ratio", "");
    for (size_t i = 0; i < n; ++i) {
        const result *r = &rs[i];
        if (r->engine == 0) {
            printf("%-14s %7ld %9ld %6ld %9s  %s\n", r->model, r->regions, r->instances, r->edges, r->precision,
                   r->note);
            continue;
        }
        printf("%-14s %7ld %9ld %6ld %9s %8llu %13.3g %13.3g %6.1fx  %s\n", r->model, r->regions, r->instances,
               r->edges, r->precision, (unsigned long long)r->steps, r->engine, r->baseline, r->engine / r->baseline,
               r->note);
    }
    for (size_t i = 0; i < n; ++i)
        if (rs[i].fast_tvb > 0 && rs[i].engine > 0)
            printf("fast_tvb (%s, %u threads), same connectome and steps: %.3g region-steps/s; twinbrain %s: %.2fx "
                   "its speed\n",
                   getenv("FAST_TVB"), d->compute_units, rs[i].fast_tvb, rs[i].precision, rs[i].engine / rs[i].fast_tvb);
    if (fast_tvb_shape && !getenv("FAST_TVB"))
        printf("fast_tvb: not run (FAST_TVB=PATH to its compiled tvbii_multicore.c runs it side by side)\n");
    printf("rs/s: region-steps per second (regions x steps x instances / wall s); the baseline is one thread\n"
           "of plain C, per instance. Targets on 2 CPU cores: single instance at 246 regions >= 3x,\n"
           "1024-instance sweep >= 10x.\n");
}

static void print_json(const result *rs, size_t n, const tb_device_info *d)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"device\": ");
    tb_json_string(&b, d->name);
    tb_buf_puts(&b, ", \"platform\": ");
    tb_json_string(&b, d->platform_name);
    tb_buf_printf(&b, ", \"ranks\": %d, \"results\": [", tb_world_size());
    for (size_t i = 0; i < n; ++i) {
        const result *r = &rs[i];
        tb_buf_printf(&b, "%s\n  {\"model\": ", i ? "," : "");
        tb_json_string(&b, r->model);
        tb_buf_printf(&b, ", \"regions\": %ld, \"instances\": %ld, \"edges\": %ld, \"precision\": ", r->regions,
                      r->instances, r->edges);
        tb_json_string(&b, r->precision);
        tb_buf_printf(&b,
                      ", \"steps\": %llu, \"engine_region_steps_per_s\": %.6g, "
                      "\"baseline_region_steps_per_s\": %.6g, \"ratio\": %.4g, \"build_s\": %.3g, ",
                      (unsigned long long)r->steps, r->engine, r->baseline,
                      r->baseline > 0 ? r->engine / r->baseline : 0.0, r->build);
        if (r->fast_tvb > 0)
            tb_buf_printf(&b, "\"fast_tvb_region_steps_per_s\": %.6g, ", r->fast_tvb);
        tb_buf_puts(&b, "\"note\": ");
        tb_json_string(&b, r->note);
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "]}\n");
    char *s = tb_buf_take(&b);
    fputs(s, stdout);
    free(s);
}

static int parse(int argc, char **argv, opts *o)
{
    split(&o->models, "jansen_rit,wong_wang_ei");
    split(&o->regions, "68,246,998");
    split(&o->instances, "1,1024");
    split(&o->precisions, "single,double");
    o->seconds = 1.5;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        list *l = strcmp(a, "--models") == 0      ? &o->models
                  : strcmp(a, "--regions") == 0   ? &o->regions
                  : strcmp(a, "--instances") == 0 ? &o->instances
                  : strcmp(a, "--precision") == 0 ? &o->precisions
                                                  : NULL;
        if (tb_cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if (l && v) {
            list_free(l);
            split(l, v), ++i;
        } else if (strcmp(a, "--device") == 0 && v) {
            o->device = v, ++i;
        } else if (strcmp(a, "--seconds") == 0 && v && atof(v) > 0) {
            o->seconds = atof(v), ++i;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--shape") == 0 && v) {
            if (strcmp(v, "fast_tvb") != 0)
                return tb_cli_usage_error("bench mass", "--shape takes fast_tvb, not '%s'", v);
            o->fast_tvb = true, ++i;
        } else {
            return tb_cli_usage_error("bench mass", "unknown or incomplete option '%s'", a);
        }
    }
    if (o->fast_tvb) {
        char n[16];
        snprintf(n, sizeof n, "%d", FAST_TVB_REGIONS);
        list_free(&o->models), split(&o->models, "wong_wang_ei");
        list_free(&o->regions), split(&o->regions, n);
        list_free(&o->instances), split(&o->instances, "1");
    }
    return -1;
}

static int run(const opts *o)
{
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_device_info *devs = NULL;
    size_t ndev = 0, chosen = 0;
    tb_device *dev = NULL;
    bool dbl = false;
    for (size_t i = 0; i < o->precisions.n; ++i)
        dbl |= strcmp(o->precisions.items[i], "double") == 0;
    tb_status st = tb_plugin_registry_load(&reg, &err);
    if (st == TB_OK)
        st = tb_device_list(&devs, &ndev, &err);
    if (st == TB_OK)
        st = tb_device_select(devs, ndev, o->device, dbl, &chosen, &err);
    if (st == TB_OK)
        st = tb_device_open(&devs[chosen], &dev, &err);
    /* every rank has its device, or none runs (rank 0 says why) */
    st = tb_world_verdict(st, &err);
    char dir[] = "/tmp/twinbrain-bench.XXXXXX";
    if (st == TB_OK && !mkdtemp(dir))
        st = tb_error_set(&err, TB_ERR_OTHER, "cannot create a scratch folder in /tmp");
    size_t cap = o->models.n * o->regions.n * o->instances.n * o->precisions.n, n = 0;
    result *rs = calloc(cap ? cap : 1, sizeof *rs);
    for (size_t ri = 0; st == TB_OK && ri < o->regions.n; ++ri) {
        long N = atol(o->regions.items[ri]);
        char *con = NULL;
        tb_bench_net net = {0};
        long edges = 0;
        double ftvb = 0;
        st = make_net(o, dir, N, &con, &net, &edges, &err);
        for (size_t mi = 0; st == TB_OK && mi < o->models.n; ++mi)
            for (size_t bi = 0; bi < o->instances.n; ++bi)
                for (size_t pi = 0; pi < o->precisions.n; ++pi) {
                    result *r = &rs[n++];
                    *r = (result){.model = o->models.items[mi], .regions = N,
                                  .instances = atol(o->instances.items[bi]), .edges = edges,
                                  .precision = o->precisions.items[pi]};
                    measure(o, dir, reg, dev, r, con, &net);
                    /* fast_tvb once per connectome, on the first row's steps */
                    if (o->fast_tvb && getenv("FAST_TVB") && r->steps > 0 && ftvb == 0)
                        ftvb = fast_tvb_run(dir, N, r->steps, tb_device_get_info(dev)->compute_units, r->note,
                                            sizeof r->note);
                    r->fast_tvb = ftvb;
                    if (!o->json && tb_world_rank() == 0)
                        fprintf(stderr, "  %s %ld regions x %ld, %s: %.3g region-steps/s (baseline %.3g)\n",
                                r->model, N, r->instances, r->precision, r->engine, r->baseline);
                }
        if (con)
            unlink(con);
        free(con);
        net_free(&net);
    }
    if (o->fast_tvb && getenv("FAST_TVB")) {
        static const char *const left[] = {"input/bench_SC_weights.txt", "input/bench_SC_distances.txt",
                                           "input/param_set.txt", "input", "output"};
        for (size_t i = 0; i < sizeof left / sizeof left[0]; ++i) {
            char *path = tb_asprintf("%s/%s", dir, left[i]);
            if (remove(path) != 0 && st == TB_OK)
                fprintf(stderr, "  (could not remove %s)\n", path);
            free(path);
        }
    }
    if (st == TB_OK)
        rmdir(dir);
    int rc = 0;
    if (st != TB_OK) {
        rc = tb_world_rank() == 0 ? tb_cli_fail(&err) : (int)st;
    } else if (o->json) {
        print_json(rs, n, tb_device_get_info(dev));
    } else {
        print_table(rs, n, tb_device_get_info(dev), o->fast_tvb);
    }
    free(rs);
    tb_error_clear(&err);
    tb_device_close(dev);
    tb_device_list_free(devs);
    tb_plugin_registry_free(reg);
    return rc;
}

int tb_bench_mass(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc < 0)
        rc = run(&o);
    list_free(&o.models);
    list_free(&o.regions);
    list_free(&o.instances);
    list_free(&o.precisions);
    return rc;
}

/* ------------------------------------------------------------ bench all */

/* Bytes the step kernel must move per region-step when no instance's
 * history stays in cache: per edge the delayed value of each coupled
 * variable; per region the state read and written and the history slot
 * written; and the connectivity (column, delay, weight per edge), which
 * all instances of a sweep share, once per step for all of them. Caches
 * hold part of the history too (the recent slots), so the fraction of the
 * copy bandwidth says how close a workload comes to being limited by
 * memory, not that it is. */
static double mass_bytes_per_region_step(const tb_plugin_registry *reg, const result *r, size_t realsz)
{
    const tb_plugin *p = tb_plugin_find(reg, TB_MASS_KIND, r->model);
    double nv = p ? (double)tb_mass_of(p)->n_vars : 1.0;
    double nc = p ? (double)tb_mass_of(p)->n_coupled : 1.0;
    double degree = (double)r->edges / (double)r->regions;
    double csr = degree * (2.0 * sizeof(int) + (double)realsz) / (double)r->instances;
    return degree * nc * (double)realsz + csr + 2.0 * nv * (double)realsz + nc * (double)realsz;
}

tb_status tb_bench_mass_standard(tb_device *dev, const tb_plugin_registry *reg, double seconds,
                                 tb_bench_figure *out, size_t cap, size_t *n, tb_error *err)
{
    static const struct { long instances; const char *precision; } set[] = {
        {1, "single"}, {1, "double"}, {256, "single"}, {256, "double"}};
    *n = 0;
    char dir[] = "/tmp/twinbrain-bench.XXXXXX";
    if (!mkdtemp(dir))
        return tb_error_set(err, TB_ERR_OTHER, "cannot create a scratch folder in /tmp");
    opts o = {.seconds = seconds};
    char *con = NULL;
    tb_bench_net net = {0};
    long edges = 0;
    tb_status st = make_net(&o, dir, 246, &con, &net, &edges, err);
    bool fp64 = tb_device_get_info(dev)->fp64;
    for (size_t i = 0; st == TB_OK && i < sizeof set / sizeof set[0] && *n < cap; ++i) {
        if (strcmp(set[i].precision, "double") == 0 && !fp64)
            continue;
        result r = {.model = "jansen_rit", .regions = 246, .instances = set[i].instances, .edges = edges,
                    .precision = set[i].precision};
        measure(&o, dir, reg, dev, &r, con, &net);
        tb_bench_figure *f = &out[(*n)++];
        memset(f, 0, sizeof *f);
        snprintf(f->workload, sizeof f->workload, "mass jansen_rit 246 regions x %ld, %s", r.instances, r.precision);
        f->value = r.engine;
        f->unit = "region-steps/s";
        f->bytes_per_unit = mass_bytes_per_region_step(reg, &r, strcmp(r.precision, "double") == 0 ? 8 : 4);
        f->build_seconds = r.build;
        snprintf(f->note, sizeof f->note, "%s", r.note);
    }
    if (con)
        unlink(con);
    free(con);
    net_free(&net);
    rmdir(dir);
    return st;
}
