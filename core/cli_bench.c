/* twinbrain bench: standard workloads (filled in below). */
#include "config.h"

#include <stdio.h>

#include "cli.h"

int tb_cli_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "twinbrain bench: not yet\n");
    return 1;
}
