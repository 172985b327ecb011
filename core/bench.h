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

#endif
