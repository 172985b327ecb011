/* twinbrain bench spiking (filled in below). */
#include "config.h"

#include <stdio.h>

#include "bench.h"

int tb_bench_spiking(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "twinbrain bench spiking: not yet\n");
    return 1;
}
