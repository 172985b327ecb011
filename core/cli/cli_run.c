/* twinbrain run / check: scenario -> simulation -> device -> output. */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "util.h"
#include "world.h"

static const char run_usage[] =
    "usage: twinbrain run SCENARIO.toml [-o OUT.h5] [--device SEL] [--precision single|double]\n"
    "                     [--set KEY=VALUE]... [--checkpoint-every MS] [--profile] [--kernels DIR]\n"
    "                     [--no-compile] [--parameters-from FIT.h5] [--quiet]\n"
    "\n"
    "Runs a scenario and writes its results to an HDF5 file (docs/formats.md).\n"
    "  -o, --output OUT.h5   output file (default: [output] file, else SCENARIO-NAME.h5 here)\n"
    "  --device SEL          device: auto, cpu, gpu, accelerator, INDEX, P:D or name~TEXT\n"
    "                        (default: simulation.device, else $TWINBRAIN_DEVICE, else auto);\n"
    "                        SEL,SEL,... or all: split a sweep's instances across devices\n"
    "                        local: under mpirun or srun, one device per rank of a host (docs/mpi.md)\n"
    "  --precision P         single or double (overrides simulation.precision)\n"
    "  --set KEY=VALUE       override a scenario key, e.g. --set model.parameters.mu=0.15\n"
    "  --parameters-from FIT.h5  run free on the parameters an [assimilation] fitted into FIT.h5\n"
    "                        (model.parameters_from, or brain.parameters_from in a scenario with\n"
    "                        [brain]: the final mean per region; the scenario's\n"
    "                        [assimilation] is not run; docs/brain.md)\n"
    "  --checkpoint-every MS write the complete state into the output every MS ms of simulated\n"
    "                        time (and when stopped), so that 'twinbrain resume OUT.h5' can finish\n"
    "                        a run that was interrupted or killed\n"
    "  --profile             print where the time went (program build, device time per kernel\n"
    "                        and transfer, host time waiting and writing) and store it as /profile\n"
    "  --kernels DIR         load prebuilt program binaries from DIR (twinbrain kernels build;\n"
    "                        aoc .aocx, v++ .xclbin); default $TWINBRAIN_KERNELS_DIR\n"
    "  --no-compile          never compile kernel source (also TWINBRAIN_NO_COMPILE=1): programs come\n"
    "                        from DIR or the cache, and a missing one is named\n"
    "  -q, --quiet           no progress line and no summary\n"
    "Ctrl-C stops after the current chunk and keeps the output written so far (exit 130).\n";

static const char resume_usage[] =
    "usage: twinbrain resume OUT.h5 [--device SEL] [--kernels DIR] [--no-compile] [--quiet]\n"
    "\n"
    "Finishes a run started with --checkpoint-every that was interrupted (Ctrl-C) or killed:\n"
    "from the newest whole checkpoint in OUT.h5 or in an OUT.h5.partial-XXXXXX beside it (the\n"
    "file a run writes while it replaces an existing OUT.h5), with the scenario stored in the\n"
    "file, to the end. The result is OUT.h5, the file the uninterrupted run would have written.\n"
    "  --device SEL   devices to run on (default: those the run used; the same kind of\n"
    "                 devices, in the same number, give the same results bit for bit)\n"
    "  --kernels DIR, --no-compile, -q/--quiet   as for run\n"
    "Exit status: 0 also when the run is already complete (it says so); 6 when there is no\n"
    "checkpoint to resume from.\n";

static const char check_usage[] =
    "usage: twinbrain check SCENARIO.toml [--print] [--set KEY=VALUE]... [--parameters-from FIT.h5]\n"
    "\n"
    "Validates a scenario and its input files without running it.\n"
    "  --print          write the resolved scenario (every default filled in) to stdout\n"
    "  --set KEY=VALUE  override a scenario key before checking\n"
    "  --parameters-from FIT.h5  as for run: the fitted parameters, without [assimilation]\n"
    "  --keys           list every scenario key the engine knows, with its type and meaning\n";

typedef struct run_args {
    const char *scenario;
    const char *output;
    const char *device;
    const char *precision;
    const char **sets;
    size_t n_sets;
    bool quiet;
    bool print;
    bool keys;
    bool profile;
    bool no_compile;
    const char *kernels;
    char *fitted_path;       /* --parameters-from, absolute */
    char *fitted;            /* its override: model.parameters_from='ABSOLUTE' (brain. with [brain]) */
    double checkpoint_every; /* ms, 0: none */
} run_args;

/* The override naming FIT.h5 from here: the key's own paths are relative
 * to the scenario's folder, a command line's to the working directory. */
static int parse_fitted(const char *cmd, const char *v, run_args *a)
{
    if (a->fitted_path)
        return tb_cli_usage_error(cmd, "--parameters-from is given twice");
    if (strpbrk(v, "'\n") || !*v)
        return tb_cli_usage_error(cmd, "--parameters-from: '%s' is not a file name it can pass on", v);
    char cwd[4096];
    if (v[0] != '/' && !getcwd(cwd, sizeof cwd))
        return tb_cli_usage_error(cmd, "--parameters-from: the working directory has no name");
    a->fitted_path = v[0] == '/' ? tb_strdup(v) : tb_path_join(cwd, v);
    return -1;
}

/* The key --parameters-from sets: a spiking brain's fit goes to [brain]
 * (brain.parameters_from), any other to [model]. An unreadable scenario
 * is left to the loading, which reports it. */
static char *fitted_override(const run_args *a)
{
    tb_error e = {0};
    tb_toml_value *doc = tb_toml_parse_file(a->scenario, &e);
    const tb_toml_value *brain = doc ? tb_toml_get(doc, "brain") : NULL;
    char *set = tb_asprintf("%s.parameters_from='%s'", brain && brain->type == TB_TOML_TABLE ? "brain" : "model",
                            a->fitted_path);
    tb_toml_free(doc);
    tb_error_clear(&e);
    return set;
}

static int parse_every(const char *cmd, const char *v, run_args *a)
{
    char *end = NULL;
    a->checkpoint_every = strtod(v, &end);
    if (!end || end == v || *end || !(a->checkpoint_every > 0) || !isfinite(a->checkpoint_every))
        return tb_cli_usage_error(cmd, "--checkpoint-every takes a positive number of ms of simulated time, not "
                                       "'%s'",
                                  v);
    return -1;
}

/* Returns -1 when parsing succeeded, else the exit status. */
static int parse(const char *cmd, int argc, char **argv, run_args *a, bool is_run)
{
    a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
    for (int i = 1; i < argc; ++i) {
        const char *s = argv[i];
        bool has_next = i + 1 < argc;
        if (tb_cli_is_help(s)) {
            fputs(is_run ? run_usage : check_usage, stdout);
            return 0;
        } else if (strcmp(s, "--set") == 0 && has_next) {
            a->sets[a->n_sets++] = argv[++i];
        } else if (strncmp(s, "--set=", 6) == 0) {
            a->sets[a->n_sets++] = s + 6;
        } else if (is_run && (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) && has_next) {
            a->output = argv[++i];
        } else if (is_run && strcmp(s, "--device") == 0 && has_next) {
            a->device = argv[++i];
        } else if (is_run && strcmp(s, "--precision") == 0 && has_next) {
            a->precision = argv[++i];
            if (strcmp(a->precision, "single") && strcmp(a->precision, "double"))
                return tb_cli_usage_error(cmd, "--precision must be single or double, not '%s'", a->precision);
        } else if (is_run && strcmp(s, "--checkpoint-every") == 0 && has_next) {
            int rc = parse_every(cmd, argv[++i], a);
            if (rc >= 0)
                return rc;
        } else if (strcmp(s, "--parameters-from") == 0 && has_next) {
            int rc = parse_fitted(cmd, argv[++i], a);
            if (rc >= 0)
                return rc;
        } else if (is_run && strcmp(s, "--profile") == 0) {
            a->profile = true;
        } else if (is_run && strcmp(s, "--no-compile") == 0) {
            a->no_compile = true;
        } else if (is_run && strcmp(s, "--kernels") == 0 && has_next) {
            a->kernels = argv[++i];
        } else if (is_run && (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0)) {
            a->quiet = true;
        } else if (!is_run && strcmp(s, "--print") == 0) {
            a->print = true;
        } else if (!is_run && strcmp(s, "--keys") == 0) {
            a->keys = true;
        } else if (s[0] == '-' && s[1]) {
            return tb_cli_usage_error(cmd, "unknown option '%s'%s", s,
                                      has_next || strchr(s, '=') ? "" : " (or it is missing its value)");
        } else if (!a->scenario) {
            a->scenario = s;
        } else {
            return tb_cli_usage_error(cmd, "one scenario at a time ('%s' and '%s')", a->scenario, s);
        }
    }
    if (!a->scenario && !a->keys)
        return tb_cli_usage_error(cmd, "missing the scenario file");
    return -1;
}

/* --precision is one more override, applied last so it wins. */
static tb_status load(run_args *a, tb_plugin_registry **reg, tb_scenario **sc, tb_error *err)
{
    tb_status st = tb_plugin_registry_load(reg, err);
    if (st != TB_OK)
        return st;
    if (a->fitted_path && a->scenario && !a->fitted && (a->fitted = fitted_override(a)))
        a->sets[a->n_sets++] = a->fitted;
    char *prec = a->precision ? tb_asprintf("simulation.precision=\"%s\"", a->precision) : NULL;
    if (prec)
        a->sets[a->n_sets++] = prec;
    st = tb_scenario_load(a->scenario, a->sets, a->n_sets, *reg, sc, err);
    if (prec)
        a->sets[--a->n_sets] = NULL;
    free(prec);
    return st;
}

static char *default_output(const char *scenario)
{
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    size_t n = strlen(base);
    if (tb_str_ends_with(base, ".toml"))
        n -= 5;
    char *stem = tb_strndup(base, n);
    char *out = tb_asprintf("%s.h5", stem);
    free(stem);
    return out;
}

/* The command that builds the binaries this run needs, for the message
 * naming a missing one: same scenario, overrides and precision. */
static char *build_hint(const run_args *a, const char *device, const char *dir)
{
    tb_buf b = {0};
    tb_buf_printf(&b, "twinbrain kernels build %s --device %s -o %s", a->scenario, device, dir ? dir : "DIR");
    if (a->precision)
        tb_buf_printf(&b, " --precision %s", a->precision);
    for (size_t i = 0; i < a->n_sets; ++i)
        tb_buf_printf(&b, " --set '%s'", a->sets[i]);
    return tb_buf_take(&b);
}

static tb_status open_devices(const run_args *a, const tb_scenario *sc, tb_cli_devs *d, tb_error *err)
{
    const char *sel = a->device ? a->device : sc->device;
    tb_status st = tb_cli_devs_open(d, sel, sc->precision == TB_DOUBLE, NULL, a->profile, err);
    for (size_t k = 0; st == TB_OK && k < d->n; ++k) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", tb_device_get_info(d->dev[k])->index);
        char *hint = build_hint(a, idx, a->kernels);
        tb_program_options po = {.kernels_dir = a->kernels, .no_compile = a->no_compile, .build_hint = hint};
        st = tb_device_set_program_options(d->dev[k], &po, err);
        free(hint);
    }
    return st;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    stop_requested = 1;
    /* a second Ctrl-C ends the process at once */
    signal(sig, SIG_DFL);
}

/* The devices' indices, "I,J,...": what a resumed run opens again. */
static char *device_indices(const tb_cli_devs *d)
{
    tb_buf b = {0};
    for (size_t k = 0; k < d->n; ++k)
        tb_buf_printf(&b, "%s%d", k ? "," : "", tb_device_get_info(d->dev[k])->index);
    return tb_buf_take(&b);
}

/* Run (or resume, from `resume_from`) on the opened devices. */
static tb_status execute(run_args *a, const tb_scenario *sc, tb_cli_devs *devs, const char *out,
                         const char *resume_from, tb_error *err)
{
    tb_sim *sim = NULL;
    char *indices = device_indices(devs);
    /* over MPI ranks rank 0 speaks for all (docs/mpi.md), first saying
     * how many ranks and devices run, before programs are built */
    bool speaks = tb_world_rank() == 0;
    double n_devs = (double)devs->n;
    tb_status st = tb_world_sum(&n_devs, 1, err);
    if (st == TB_OK && speaks && tb_world_active())
        fprintf(stderr, "twinbrain: MPI: %d rank%s, %.0f device%s in all (%s)\n", tb_world_size(),
                tb_world_size() == 1 ? "" : "s", n_devs, n_devs == 1 ? "" : "s", tb_world_library());
    if (st == TB_OK)
        st = tb_sim_create_multi(sc, devs->dev, devs->n, &sim, err);
    if (st == TB_OK) {
        tb_progress_line pl = {.out = stderr};
        tb_sim_options opt = {.stop = &stop_requested, .checkpoint_every_ms = a->checkpoint_every,
                              .devices = indices, .resume_from = resume_from};
        if (!a->quiet && speaks && isatty(STDERR_FILENO)) {
            opt.progress = tb_progress_line_update;
            opt.progress_ctx = &pl;
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        st = tb_sim_run(sim, out, &opt, err);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        tb_progress_line_end(&pl);
        if (st == TB_OK && !a->quiet && speaks) {
            char *text = tb_sim_summary_text(sim, out);
            fputs(text ? text : "", stdout);
            free(text);
        }
        for (size_t k = 0; a->profile && speaks && k < devs->n; ++k) {
            const tb_device_info *d = tb_device_get_info(devs->dev[k]);
            char *title = tb_asprintf("device %d (%s)", d->index, d->name);
            tb_profile_print(devs->prof[k], title, stdout);
            free(title);
        }
    }
    free(indices);
    tb_sim_free(sim);
    return st;
}

static int run(run_args *a)
{
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    tb_cli_devs devs = {0};
    char *out = NULL;
    tb_status st = load(a, &reg, &sc, &err);
    if (st == TB_OK) {
        out = a->output ? tb_strdup(a->output) : sc->output_file ? tb_strdup(sc->output_file)
                                                                 : default_output(a->scenario);
        /* before opening devices and building programs: fail fast */
        st = tb_scenario_check_output(sc, out, &err);
    }
    if (st == TB_OK)
        st = open_devices(a, sc, &devs, &err);
    /* every rank got this far, or none runs (rank 0 says why) */
    st = tb_world_verdict(st, &err);
    if (st == TB_OK)
        st = execute(a, sc, &devs, out, NULL, &err);
    int rc = st == TB_OK ? 0 : tb_world_rank() == 0 ? tb_cli_fail(&err) : (int)st;
    tb_error_clear(&err);
    free(out);
    tb_cli_devs_close(&devs);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    return rc;
}

int tb_cli_run(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse("run", argc, argv, &a, true);
    tb_error err = {0};
    /* under an MPI launcher the ranks share the run (docs/mpi.md) */
    if (rc < 0 && tb_world_start(&argc, &argv, &err) != TB_OK)
        rc = tb_cli_fail(&err);
    if (rc < 0)
        rc = run(&a);
    tb_world_end(rc);
    tb_error_clear(&err);
    free(a.sets);
    free(a.fitted);
    free(a.fitted_path);
    return rc;
}

static int check(run_args *a)
{
    if (a->keys) {
        char *k = tb_scenario_keys();
        fputs(k, stdout);
        free(k);
        return 0;
    }
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    tb_status st = load(a, &reg, &sc, &err);
    if (st == TB_OK)
        st = tb_sim_check(sc, &err);
    int rc = 0;
    if (st != TB_OK) {
        rc = tb_cli_fail(&err);
    } else if (a->print) {
        char *text = tb_scenario_format(sc);
        fputs(text, stdout);
        free(text);
    } else {
        char *what = tb_scenario_describe(sc);
        printf("%s: ok %s\n", a->scenario, what ? what : "");
        free(what);
    }
    tb_error_clear(&err);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    return rc;
}

int tb_cli_check(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse("check", argc, argv, &a, false);
    if (rc < 0)
        rc = check(&a);
    free(a.sets);
    free(a.fitted);
    free(a.fitted_path);
    return rc;
}

/* ------------------------------------------------------------ resume */

static int parse_resume(int argc, char **argv, run_args *a, const char **file)
{
    for (int i = 1; i < argc; ++i) {
        const char *s = argv[i];
        bool has_next = i + 1 < argc;
        if (tb_cli_is_help(s)) {
            fputs(resume_usage, stdout);
            return 0;
        } else if (strcmp(s, "--device") == 0 && has_next) {
            a->device = argv[++i];
        } else if (strcmp(s, "--kernels") == 0 && has_next) {
            a->kernels = argv[++i];
        } else if (strcmp(s, "--no-compile") == 0) {
            a->no_compile = true;
        } else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            a->quiet = true;
        } else if (s[0] == '-' && s[1]) {
            return tb_cli_usage_error("resume", "unknown option '%s'%s", s, has_next ? "" : " (or it is missing its value)");
        } else if (!*file) {
            *file = s;
        } else {
            return tb_cli_usage_error("resume", "one file at a time ('%s' and '%s')", *file, s);
        }
    }
    if (!*file)
        return tb_cli_usage_error("resume", "missing the output file to resume");
    return -1;
}

/* The interrupted run's scenario, devices and interval, then the run. */
static tb_status resume_run(run_args *a, tb_resume *r, tb_error *err)
{
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    tb_cli_devs devs = {0};
    a->scenario = r->scenario_file ? r->scenario_file : r->target;
    a->checkpoint_every = r->every_ms;
    if (!a->device)
        a->device = r->devices;
    tb_status st = tb_plugin_registry_load(&reg, err);
    if (st == TB_OK)
        st = tb_scenario_load_text(r->scenario, a->scenario, NULL, NULL, 0, reg, &sc, err);
    if (st == TB_OK)
        st = open_devices(a, sc, &devs, err);
    if (st == TB_OK)
        st = execute(a, sc, &devs, r->target, r->source, err);
    /* the partial files of earlier attempts (the one it continued among
     * them) are superseded by the target now */
    if (st == TB_OK)
        st = tb_resume_tidy(r, err);
    tb_cli_devs_close(&devs);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    return st;
}

int tb_cli_resume(int argc, char **argv)
{
    run_args a = {0};
    const char *file = NULL;
    int rc = parse_resume(argc, argv, &a, &file);
    if (rc >= 0)
        return rc;
    tb_error err = {0};
    tb_resume r;
    tb_status st = tb_resume_find(file, &r, &err);
    if (st == TB_OK && r.complete) {
        printf("%s: the run is complete (%llu steps); nothing to resume%s%s\n", r.target,
               (unsigned long long)r.step, strcmp(r.source, r.target) ? "; its result was in " : "",
               strcmp(r.source, r.target) ? r.source : "");
        st = tb_resume_tidy(&r, &err);
    } else if (st == TB_OK) {
        if (!a.quiet)
            fprintf(stderr, "resuming %s from step %llu (the checkpoint in %s)\n", r.target,
                    (unsigned long long)r.step, r.source);
        st = resume_run(&a, &r, &err);
    }
    rc = st == TB_OK ? 0 : tb_cli_fail(&err);
    tb_error_clear(&err);
    tb_resume_clear(&r);
    return rc;
}
