/* twinbrain spikes ...: analysis of spike output; and the spiking lines of
 * `run`'s summary and `check`'s verdict. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spiking_scenario.h"
#include "twinbrain/device.h"
#include "twinbrain/sim.h"
#include "util.h"

void tb_cli_spiking_check_line(const char *path, const tb_scenario *sc)
{
    const tb_spiking_scenario *s = sc->spiking;
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_pops; ++i)
        n += s->pops[i].size;
    printf("%s: ok (spiking network: %zu population%s, %llu neurons, %zu projection%s, %zu input%s; %llu steps of "
           "%g ms)\n",
           path, s->n_pops, s->n_pops == 1 ? "" : "s", (unsigned long long)n, s->n_projs, s->n_projs == 1 ? "" : "s",
           s->n_inputs, s->n_inputs == 1 ? "" : "s", (unsigned long long)sc->steps, sc->dt);
}

void tb_cli_spiking_summary(const tb_scenario *sc, const tb_sim_summary *s, const tb_device_info *d, const char *out)
{
    const tb_spiking_scenario *ss = sc->spiking;
    printf("twinbrain: spiking network of %zu neurons in %zu population%s, %llu synapses; %g ms in %llu steps of "
           "%g ms (%s precision)\n",
           s->regions, ss->n_pops, ss->n_pops == 1 ? "" : "s", (unsigned long long)s->synapses, sc->duration,
           (unsigned long long)s->steps, sc->dt, tb_precision_name(sc->precision));
    printf("  device   %s (%s), %d partition%s, %.1f MiB of buffers\n", d->name, d->platform_name, s->partitions,
           s->partitions == 1 ? "" : "s", (double)s->device_bytes / 1048576.0);
    printf("  kernels  %.2f s %s\n", s->build_seconds, s->program_from_cache ? "(loaded from cache)" : "(compiled)");
    printf("  network  %.2f s to generate; %.2f s set-up in all\n", s->network_seconds, s->setup_seconds);
    double sim_s = (double)s->steps * sc->dt * 1e-3;
    printf("  run      %.2f s wall for %g s simulated (real-time factor %.3g), %llu spikes written\n",
           s->wall_seconds, sim_s, sim_s > 0 ? s->wall_seconds / sim_s : 0.0, (unsigned long long)s->spikes);
    printf("  output   %s\n", out);
}

int tb_cli_spikes(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "twinbrain spikes: not yet\n");
    return 1;
}
