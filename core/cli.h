/* The `twinbrain` command's subcommands (internal to the program). Each
 * returns the process exit status documented in DESIGN.md. */
#ifndef TWINBRAIN_CLI_H
#define TWINBRAIN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "twinbrain/error.h"

int tb_cli_run(int argc, char **argv);
int tb_cli_check(int argc, char **argv);
int tb_cli_devices(int argc, char **argv);
int tb_cli_plugins(int argc, char **argv);
int tb_cli_connectome(int argc, char **argv);
int tb_cli_spikes(int argc, char **argv);
int tb_cli_bench(int argc, char **argv);

/* Spiking scenarios in `check` and `run` (cli_spikes.c). */
struct tb_scenario;
struct tb_sim_summary;
struct tb_device_info;
void tb_cli_spiking_check_line(const char *path, const struct tb_scenario *sc);
struct tb_plugin;
struct tb_buf;
void tb_cli_spiking_plugin_text(const struct tb_plugin *p);
void tb_cli_spiking_plugin_json(struct tb_buf *b, const struct tb_plugin *p);
void tb_cli_spiking_summary(const struct tb_scenario *sc, const struct tb_sim_summary *s,
                            const struct tb_device_info *d, const char *out);

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
