/* `twinbrain bench`: standard workloads and their baselines (internal). */
#ifndef TWINBRAIN_BENCH_H
#define TWINBRAIN_BENCH_H

#include <stdint.h>

/* A connectome laid out as the engine lays it out: CSR rows per target,
 * delays in steps, the ring-buffer horizon. */
typedef struct tb_bench_net {
    int n;
    int *row_ptr, *col, *delay;
    double *w;
    int horizon;
} tb_bench_net;

/* The plain C loop: `steps` Heun steps of the model with BOLD; returns a
 * checksum (so the work cannot be optimised away). */
double tb_bench_baseline(const tb_bench_net *net, const char *model, int single, uint64_t steps, double dt);

int tb_bench_mass(int argc, char **argv);
int tb_bench_spiking(int argc, char **argv);
int tb_bench_twin(int argc, char **argv); /* core/twin/bench_twin.c, with the twin kit */

#include <stdbool.h>
#include <stddef.h>

#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "util.h"

/* A device's limits (bench_device.c, kernels/peak.cl). */
typedef struct tb_peak {
    double copy_gbs, triad_gbs; /* device memory bandwidth, 1e9 bytes/s */
    double read_gbs;            /* device to host, host wall time */
    double gflops_single, gflops_double; /* multiply-adds count 2; double 0 without fp64 */
    double launch_us;           /* enqueue to finish of an empty kernel */
} tb_peak;
tb_status tb_bench_peak(tb_device *dev, double seconds, tb_peak *out, tb_error *err);
void tb_bench_peak_json(tb_buf *b, const tb_device_info *d, const tb_peak *p);
void tb_bench_peak_table_head(void);
void tb_bench_peak_table_row(const tb_device_info *d, const tb_peak *p);
int tb_bench_devices(int argc, char **argv);
int tb_bench_all(int argc, char **argv);
int tb_bench_parse_devices_opts(int argc, char **argv, const char *cmd, const char *help, const char **devices,
                                double *seconds, bool *json);

/* One standard workload's figure, for `bench all`. bytes_per_unit is the
 * family's model of the memory traffic per unit of work (0: none), so the
 * figure reads as a fraction of the device's bandwidth. */
typedef struct tb_bench_figure {
    char workload[96];
    double value;
    const char *unit;
    double bytes_per_unit;
    double build_seconds;
    char note[160];
} tb_bench_figure;

/* A family's standard workloads on one device (at most `cap` figures). */
typedef tb_status (*tb_bench_standard_fn)(tb_device *dev, const tb_plugin_registry *reg, double seconds,
                                          tb_bench_figure *out, size_t cap, size_t *n, tb_error *err);
tb_status tb_bench_mass_standard(tb_device *dev, const tb_plugin_registry *reg, double seconds,
                                 tb_bench_figure *out, size_t cap, size_t *n, tb_error *err);
tb_status tb_bench_spiking_standard(tb_device *dev, const tb_plugin_registry *reg, double seconds,
                                    tb_bench_figure *out, size_t cap, size_t *n, tb_error *err);

#endif
