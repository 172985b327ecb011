/* The interface between the simulation driver (sim.c) and a kit that
 * knows one kind of model (mass.c; later spiking, twin). The driver owns
 * the output file's lifecycle, the chunk loop, progress and interruption;
 * a kit owns its device buffers and program and its own datasets. */
#ifndef TWINBRAIN_KIT_H
#define TWINBRAIN_KIT_H

#include <stdint.h>

#include "twinbrain/device.h"
#include "twinbrain/output.h"
#include "twinbrain/program.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"

typedef struct tb_kit {
    const char *name;
    /* Check the scenario's inputs without a device (twinbrain check). */
    tb_status (*check)(const tb_scenario *sc, tb_error *err);
    tb_status (*create)(const tb_scenario *sc, tb_device *dev, void **impl, tb_error *err);
    /* Create datasets and write fixed arrays (before the file goes live). */
    tb_status (*declare)(void *impl, tb_output *out, tb_error *err);
    /* Advance steps [step0, step0 + n), append rows to the datasets. */
    tb_status (*advance)(void *impl, uint64_t step0, uint64_t n, tb_error *err);
    /* Suggested steps per chunk and the largest the kit allows. */
    uint64_t (*max_chunk)(void *impl);
    const tb_program *(*program)(void *impl);
    const char *(*source)(void *impl);
    size_t (*regions)(void *impl);
    size_t (*instances)(void *impl);
    uint64_t (*samples)(void *impl);
    /* Fit scores per instance after the run (an fc monitor with an
     * empirical FC), or NULL; *name names the monitor. */
    const double *(*scores)(void *impl, const char **name);
    /* Optional: kit-specific figures for the summary (NULL: none). */
    void (*summary)(void *impl, tb_sim_summary *s);
    void (*destroy)(void *impl);
} tb_kit;

extern const tb_kit tb_mass_kit;
extern const tb_kit tb_spiking_kit;

#endif
