/* The interface between the simulation driver (sim.c) and a kit that
 * knows one kind of model (mass.c; later spiking, twin). The driver owns
 * the output file's lifecycle, the chunk loop, progress and interruption;
 * a kit owns its device buffers and program and its own datasets.
 *
 * What every kit provides, and how the cross-backend tools use it:
 *   - `twinbrain compare` runs the scenario once per device through
 *     create/declare/advance and compares the output files, so a kit only
 *     has to write its results where docs/formats.md says (/monitors/<name>/
 *     data, /spikes/<population>/timestamps and node_ids, /twin/...);
 *   - profiling (`twinbrain run --profile`, core/profile.h): programs are
 *     recorded by tb_program_build() itself; a kit records each command it
 *     enqueues by passing tb_profile_event_slot(prof, &ev) as the event
 *     argument and then calling tb_profile_command(prof, "what", ev), with
 *     prof = tb_device_profile(dev) (NULL when not profiling: both calls do
 *     nothing then), and may record host sections with tb_profile_host();
 *   - offline binaries (`twinbrain kernels build`, --kernels DIR) need
 *     nothing from a kit as long as it builds its programs with
 *     tb_program_build() and a stable label;
 *   - several devices in one run need create_part (below). */
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

    /* Optional entry points: NULL means "not provided".
     *
     * create_part: like create, for the instances [first, first + count)
     * of the scenario's sweep only (several devices in one run). Each
     * instance must compute exactly what it computes in a whole run: its
     * parameters, seed and random draws are those of its global index.
     * declare then receives a part of the output (tb_output_part): the
     * kit declares its datasets with `count` instances on the instance axis
     * (the second axis of every dataset of rank >= 2) and writes run-wide
     * facts (attributes, /sweep arrays) for all sc->sweep.n_instances
     * instances; regions, instances, samples and scores count the part.
     * Without it a scenario of this kit runs on one device at a time. */
    tb_status (*create_part)(const tb_scenario *sc, tb_device *dev, size_t first, size_t count, void **impl,
                             tb_error *err);
} tb_kit;

extern const tb_kit tb_mass_kit;
extern const tb_kit tb_spiking_kit;

#endif
