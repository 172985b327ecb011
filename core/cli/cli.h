/* The `twinbrain` command's subcommands (internal to the program). Each
 * returns the process exit status documented in DESIGN.md. */
#ifndef TWINBRAIN_CLI_H
#define TWINBRAIN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "twinbrain/error.h"

int tb_cli_run(int argc, char **argv);
int tb_cli_resume(int argc, char **argv);
int tb_cli_check(int argc, char **argv);
int tb_cli_devices(int argc, char **argv);
int tb_cli_plugins(int argc, char **argv);
int tb_cli_connectome(int argc, char **argv);
int tb_cli_spikes(int argc, char **argv);
int tb_cli_twin(int argc, char **argv); /* built with the twin kit (TB_HAVE_TWIN) */
int tb_cli_bench(int argc, char **argv);

int tb_cli_compare(int argc, char **argv);
int tb_cli_kernels(int argc, char **argv);
int tb_cli_plot(int argc, char **argv);

/* The devices a command runs on (cli_open.c): chosen by a selector or a
 * list of them (tb_device_select_many), opened, given the program options
 * when po is not NULL and a profile each when `profile`. */
struct tb_device_info;
struct tb_device;
struct tb_profile;
struct tb_program_options;
typedef struct tb_cli_devs {
    struct tb_device_info *list;
    size_t n_list;
    struct tb_device **dev;
    struct tb_profile **prof; /* [n], NULL entries when not profiling */
    size_t n;
} tb_cli_devs;
tb_status tb_cli_devs_open(tb_cli_devs *d, const char *selector, bool need_fp64,
                           const struct tb_program_options *po, bool profile, tb_error *err);
void tb_cli_devs_close(tb_cli_devs *d);

/* Load a scenario with --set overrides and --precision (cli_open.c); the
 * plugin registry is loaded into *reg unless it already holds one. */
struct tb_plugin_registry;
struct tb_scenario;
tb_status tb_cli_load(const char *path, const char *const *sets, size_t n_sets, const char *precision,
                      struct tb_plugin_registry **reg, struct tb_scenario **sc, tb_error *err);
/* --set KEY=VALUE and --precision P at argv[*i]: 1 consumed, 0 not one of
 * them, -1 a wrong value (usage message printed; exit status 2). `sets`
 * must have room for argc entries. */
int tb_cli_common_option(const char *cmd, int argc, char **argv, int *i, const char **sets, size_t *n_sets,
                         const char **precision);

/* Print an error the way the command line does: scenario errors
 * ("FILE:LINE:COL: ...") as they are, others after "twinbrain: error: ".
 * Returns the exit status for it. */
int tb_cli_fail(const tb_error *err);
/* A usage error: message, then "try 'twinbrain CMD --help'"; returns 2. */
int tb_cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
bool tb_cli_is_help(const char *arg);

/* Progress line on a terminal (progress.c). */
typedef struct tb_progress_line {
    FILE *out;
    bool active;
    double last;
} tb_progress_line;
struct tb_sim_progress;
void tb_progress_line_update(const struct tb_sim_progress *p, void *ctx);
void tb_progress_line_end(tb_progress_line *pl);

#endif
