/* The kit boundary: what the foundation (scenario loading, the plugin
 * loader, the simulation driver, the command line) knows of a kind of
 * model. A kit (core/mass/, core/spiking/, ...) fills one tb_kit table and
 * names itself in its build fragment (`TB_KITS += NAME`); the foundation
 * reaches it only through this table, so adding a kind is a folder, a
 * table and a line in the build (docs/architecture.md, "Adding a kit").
 *
 * A table has four groups of entries:
 *   - identity and scenario: the top-level sections the kit owns (how a
 *     document selects it), their check, the keys for documentation;
 *   - plugins: the plugin kind it runs and the check of that kind's table;
 *   - text: the lines of `check`, `run`'s summary and `plugins NAME`;
 *   - run: create, declare, advance, ... driven by core/sim.c.
 * NULL means "not provided" for every optional entry (marked so).
 *
 * How the cross-backend tools use a kit:
 *   - `twinbrain compare` runs the scenario once per device and compares
 *     the output files, so a kit only has to write its results where
 *     docs/formats.md says (/monitors/<name>/data, /spikes/<population>/...);
 *   - profiling: programs are recorded by tb_program_build() itself; a kit
 *     records each command it enqueues by passing
 *     tb_profile_event_slot(prof, &ev) as the event argument and then
 *     calling tb_profile_command(prof, "what", ev), with
 *     prof = tb_device_profile(dev) (NULL when not profiling);
 *   - offline binaries (`twinbrain kernels build`, --kernels DIR) need
 *     nothing from a kit that builds its programs with tb_program_build()
 *     and a stable label;
 *   - several devices in one run need create_part (below). */
#ifndef TWINBRAIN_KIT_H
#define TWINBRAIN_KIT_H

#include <stdint.h>

#include "checkpoint.h"
#include "schema.h"
#include "twinbrain/device.h"
#include "twinbrain/output.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "util.h"

typedef struct tb_kit {
    /* ---- identity and scenario */
    const char *name;    /* simulation.kind = "NAME" */
    const char *summary; /* one line: what the kit runs */
    /* The top-level tables it owns, with their types and docs. A document
     * without simulation.kind selects the kit whose sections it uses. */
    const tb_key_spec *sections;
    size_t n_sections;
    /* What units the kit simulates, in summaries ("regions", "neurons"). */
    const char *unit_noun;
    /* The output groups of datasets [T, B, ...] that `twinbrain compare`
     * compares element by element ("/monitors"), NULL-terminated; SONATA
     * spike trains (/spikes) are compared for every kit. */
    const char *const *result_groups;
    /* Check the kit's sections of sc->doc, fill in defaults, and set
     * sc->kit_data and sc->n_instances. Errors go to the checker; after
     * an error, nothing it names may be read. */
    void (*check_scenario)(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg);
    void (*free_scenario)(void *kit_data);
    /* Every key of its sections, as tb_schema_list_keys writes them. */
    void (*list_keys)(tb_buf *b);

    /* ---- plugins: the kind it runs (NULL: it loads no plugins) */
    const char *plugin_kind;
    /* Check a descriptor of this kind after the foundation checked the
     * common fields: its kind table's version and size first. */
    tb_status (*check_plugin)(const tb_plugin *p, const char *file, tb_error *err);

    /* ---- text */
    /* The model a scenario runs, for the output's provenance attributes
     * "model" and "model_version" (version "" when none). */
    void (*model_of)(const tb_scenario *sc, const char **name, const char **version);
    /* What `check` says after "FILE: ok (": no newline. */
    void (*check_text)(const tb_scenario *sc, tb_buf *b);
    /* `twinbrain plugins NAME` after the common lines, and --json members
     * (", \"key\": value" pairs), for a plugin of this kind. Optional. */
    void (*plugin_text)(const tb_plugin *p, tb_buf *b);
    void (*plugin_json)(const tb_plugin *p, tb_buf *b);
    /* What `twinbrain plugins` says of the kit after its summary: what it
     * has built in besides its plugins (one paragraph, no newline). Optional. */
    void (*builtin_text)(tb_buf *b);
    /* `run`'s summary up to the output line, which the driver adds
     * (tb_sim_summary_text); tb_sim_summary_devices() and
     * tb_sim_summary_kernels() write the usual device and kernel lines. */
    void (*summary_text)(const tb_sim *sim, const tb_scenario *sc, const tb_sim_summary *s, tb_buf *b);

    /* ---- run */
    /* Check the scenario's inputs without a device (twinbrain check). */
    tb_status (*check)(const tb_scenario *sc, tb_error *err);
    tb_status (*create)(const tb_scenario *sc, tb_device *dev, void **impl, tb_error *err);
    /* Create datasets and write fixed arrays (before the file goes live). */
    tb_status (*declare)(void *impl, tb_output *out, tb_error *err);
    /* Optional: the run's stop flag (Ctrl-C; NULL when there is none),
     * given before declare to a kit whose declare does long work (a whole
     * experiment before the run's first step). Such a declare returns
     * TB_ERR_INTERRUPTED once the flag is set, and the run keeps the file
     * written so far under its partial name. */
    void (*watch)(void *impl, volatile sig_atomic_t *stop);
    /* Advance steps [step0, step0 + n), append rows to the datasets;
     * n = 0 drains what is still in flight (the run's end). */
    tb_status (*advance)(void *impl, uint64_t step0, uint64_t n, tb_error *err);
    /* The largest chunk of steps the kit allows. */
    uint64_t (*max_chunk)(void *impl);
    const tb_program *(*program)(void *impl);
    size_t (*units)(void *impl);
    size_t (*instances)(void *impl);
    uint64_t (*samples)(void *impl);
    /* Optional: fit scores per instance after the run, or NULL; *name
     * names what was scored. */
    const double *(*scores)(void *impl, const char **name);
    /* Optional: the bytes the part will write to the output, uncompressed
     * (an upper bound; 0 or NULL when it cannot know, as with spikes). */
    double (*output_bytes)(void *impl);
    /* Optional: kit-specific figures of the part (at most
     * TB_SIM_MAX_FIGURES), added up over the parts of a run. */
    size_t (*figures)(void *impl, tb_sim_figure *out);
    void (*destroy)(void *impl);
    /* Optional: like create, for the instances [first, first + count) of
     * the run only (several devices in one run). Each instance must
     * compute exactly what it computes in a whole run: its parameters,
     * seed and random draws are those of its global index. declare then
     * receives a part of the output (tb_output_part): the kit declares
     * its datasets with `count` instances on the instance axis (the
     * second axis of every dataset of rank >= 2) and writes run-wide facts
     * for all sc->n_instances instances; units, instances, samples and
     * scores count the part. Without it a scenario of this kit runs on one
     * device at a time. */
    tb_status (*create_part)(const tb_scenario *sc, tb_device *dev, size_t first, size_t count, void **impl,
                             tb_error *err);
    /* Optional (false: ranks divide a sweep's instances through
     * create_part): under several MPI ranks, every rank runs the whole
     * run through create, and the kit divides the run's units among the
     * ranks itself (world.h), exchanging what they need; rank 0's part
     * declares and writes every result, the other ranks' parts declare
     * nothing, and their figures add to rank 0's. One device per rank. */
    bool splits_units;
    /* Optional: checkpoints (core/checkpoint.h). Called between chunks:
     * first collect the chunk still in flight (tb_pipeline_advance(p,
     * step, 0): its rows reach the file; nothing else may be finished
     * as at the run's end), then name the part's complete state with
     * tb_ckpt_host / tb_ckpt_device, in a fixed order: state variables,
     * delay histories and spike queues, monitor accumulators, host
     * counters; whatever the step does not determine (random streams
     * keyed by step need nothing). The same call restores when
     * tb_ckpt_restoring(ck), into a part just created and declared,
     * before its first advance. NULL: the kind cannot checkpoint, and
     * `run --checkpoint-every` refuses it. */
    tb_status (*checkpoint)(void *impl, struct tb_ckpt *ck, tb_error *err);
    /* Optional: the operations the kit offers on its running parts to
     * layers (core/layer.h), whose table the layer defines (perturbations:
     * core/perturb/perturb_ops.h). NULL: it offers none, and a scenario
     * asking for one is refused naming the kit. */
    const struct tb_kit_ops *ops;
} tb_kit;

/* ------------------------------------------------------------ registry
 *
 * The kits built into the library (from the build's TB_KITS list, in that
 * order) and any registered since. The list is process-wide, like
 * libltdl's initialisation: register extra kits before loading scenarios
 * or plugins from several threads. */
size_t tb_kit_count(void);
const tb_kit *tb_kit_at(size_t i);
const tb_kit *tb_kit_find(const char *name);
/* The kit that runs plugins of this kind, or NULL. */
const tb_kit *tb_kit_for_plugin_kind(const char *kind);
/* Add a kit (a test's stand-in, an embedding program's own kind). Fails
 * when the table lacks a required entry or its name or a section is
 * already taken. */
tb_status tb_kit_register(const tb_kit *kit, tb_error *err);
/* Every kit's name joined with ", " (for messages). Malloc'd. */
char *tb_kit_names(void);

/* The common lines of a summary (core/sim.c): one "device" line per device
 * (with its instances when several ran), and the "kernels" line. */
void tb_sim_summary_devices(const tb_sim *sim, tb_buf *b);
void tb_sim_summary_kernels(const tb_sim_summary *s, tb_buf *b);

/* `twinbrain plugins NAME` text and --json object of any plugin: the
 * common part and its kit's (core/plugin.c). */
void tb_plugin_describe(const tb_plugin *p, const char *file, tb_buf *b);
void tb_plugin_describe_json(const tb_plugin *p, const char *file, tb_buf *b);

#endif
