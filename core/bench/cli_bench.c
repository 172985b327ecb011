/* twinbrain bench FAMILY ...: standard workloads, one table or JSON per
 * family. Each family lives in its own file (bench_mass.c, ...). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli/cli.h"
#include "world.h"

static const struct family {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
    bool over_ranks; /* under an MPI launcher every rank runs its workloads' share (docs/mpi.md) */
} families[] = {
    {"mass", tb_bench_mass, "neural-mass models with delays and BOLD: region-steps/s against a C loop", true},
    {"devices", tb_bench_devices, "each device's limits: memory bandwidth, multiply-add rate, read-back, launch",
     false},
    {"all", tb_bench_all, "every family's standard workloads on each device, as fractions of its limits", false},
    {"spiking", tb_bench_spiking, "COBA and the cortical microcircuit: real-time factor, events/s, build time, memory",
     true},
#ifdef TB_HAVE_TWIN
    {"twin", tb_bench_twin,
     "a visual twin, Sensorium- or fnn-style (--model): frames/s against PyTorch and ONNX Runtime", false},
#endif
};

/* Over MPI ranks every rank runs the workloads together and rank 0 alone
 * prints the table (the other ranks' stdout goes nowhere). */
static int run_over_ranks(const struct family *f, int argc, char **argv)
{
    tb_error err = {0};
    if (tb_world_start(&argc, &argv, &err) != TB_OK) {
        int rc = tb_cli_fail(&err);
        tb_world_end(rc);
        return rc;
    }
    if (tb_world_rank() != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "twinbrain bench: rank %d: cannot silence its output\n", tb_world_rank());
    int rc = f->run(argc - 1, argv + 1);
    tb_world_end(rc);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: twinbrain bench FAMILY [options] [--json]\n\nfamilies:\n");
    for (size_t i = 0; i < sizeof families / sizeof families[0]; ++i)
        fprintf(f, "  %-10s %s\n", families[i].name, families[i].what);
    fprintf(f, "\n'twinbrain bench FAMILY --help' lists a family's options. Figures and the commands\n"
               "that produced them: docs/performance.md.\n");
}

int tb_cli_bench(int argc, char **argv)
{
    if (argc < 2 || tb_cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof families / sizeof families[0]; ++i)
        if (strcmp(argv[1], families[i].name) == 0)
            return families[i].over_ranks ? run_over_ranks(&families[i], argc, argv)
                                          : families[i].run(argc - 1, argv + 1);
    fprintf(stderr, "twinbrain bench: unknown family '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
