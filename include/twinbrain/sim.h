/* A simulation: a scenario bound to a device.
 *
 * tb_sim_create() reads the scenario's inputs (connectome), generates and
 * builds the device program and allocates every buffer, so that all the
 * ways a run can fail before it starts do so before any output exists.
 * tb_sim_run() then writes the output file as it goes: provenance first,
 * one chunk of monitor rows at a time, final attributes at the end. */
#ifndef TWINBRAIN_SIM_H
#define TWINBRAIN_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/device.h"
#include "twinbrain/error.h"
#include "twinbrain/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_sim tb_sim;

typedef struct tb_sim_progress {
    uint64_t step, steps;  /* steps done, total */
    double t_ms, duration_ms;
    double wall_seconds;   /* since the run started */
    double steps_per_second;
    double eta_seconds;    /* estimated time left */
} tb_sim_progress;

typedef void (*tb_sim_progress_fn)(const tb_sim_progress *p, void *ctx);

typedef struct tb_sim_options {
    tb_sim_progress_fn progress; /* called after each chunk; NULL for none */
    void *progress_ctx;
    /* Checked between chunks: when non-zero the run stops, keeps what it
     * wrote, and returns TB_ERR_INTERRUPTED. Set it from a signal handler. */
    volatile sig_atomic_t *stop;
    /* Checkpoints (docs/formats.md): the complete state is written into
     * the output every this many ms of simulated time (rounded to whole
     * steps, at least one; 0: none), and when the run is stopped. A kind
     * that cannot checkpoint is TB_ERR_SCENARIO. */
    double checkpoint_every_ms;
    /* The device selector, stored with the checkpoints for resuming. */
    const char *devices;
    /* Continue the run whose newest whole checkpoint is in this file
     * (tb_resume_find): its rows up to the checkpoint are copied, the
     * state restored, and the run goes on to its end. The simulation
     * must be the interrupted run's (scenario, devices). */
    const char *resume_from;
} tb_sim_options;

/* Everything tb_sim_create() checks that needs no device: input files
 * readable and consistent with the scenario (per-region arrays). */
tb_status tb_sim_check(const tb_scenario *sc, tb_error *err);

tb_status tb_sim_create(const tb_scenario *sc, tb_device *dev, tb_sim **out, tb_error *err);

/* Several devices in one run: the sweep's instances are split into
 * contiguous ranges, as even as possible (the first devices take one more),
 * one per device in the order given; every instance computes what it
 * computes run alone on its device, and all write the same output file
 * (docs/formats.md: /devices says which instances ran where). One device
 * is tb_sim_create(). A kit that cannot split, or fewer instances than
 * devices, is TB_ERR_SCENARIO. */
tb_status tb_sim_create_multi(const tb_scenario *sc, tb_device *const *devs, size_t n_devs, tb_sim **out,
                              tb_error *err);

/* The devices of a simulation and the instances each runs. */
size_t tb_sim_devices(const tb_sim *sim);
const tb_device *tb_sim_device(const tb_sim *sim, size_t k, size_t *first, size_t *count);
/* Run and write `output_path`. An output that is the scenario file or one
 * of its inputs (tb_scenario_check_output) is refused with TB_ERR_INPUT
 * before anything is written; an existing file there is replaced only at
 * the end (tb_output_create); a write the file system refuses ends the
 * run with TB_ERR_INPUT, the message saying where the rows written so far
 * are. Errors before the run starts leave no file behind. */
tb_status tb_sim_run(tb_sim *sim, const char *output_path, const tb_sim_options *opt, tb_error *err);
void tb_sim_free(tb_sim *sim);

/* Resuming (`twinbrain resume OUT.h5`): which file holds the newest
 * state of the run that was to end as `target`. A run writes `target`
 * itself when nothing was there, else a temporary TARGET.partial-XXXXXX
 * renamed over it at the end (tb_output_create); a resumed run does the
 * same. So the candidates are `target` and its TARGET.partial-* siblings
 * (a name given with its .partial-XXXXXX suffix means the same target):
 * the most recently modified one that is complete or has a whole
 * checkpoint decides (an attempt stopped before its first checkpoint is
 * passed over, but a complete file older than such an attempt is an
 * earlier run's: nothing to resume). Complete: `complete` is set and
 * nothing is to be done; else `source` is the file to resume from. None:
 * TB_ERR_RESUME (no checkpoint) or TB_ERR_INPUT (no such file). */
typedef struct tb_resume {
    char *target;        /* the output the resumed run writes */
    char *source;        /* the file holding the newest checkpoint */
    bool complete;       /* the run already ended: nothing to resume */
    uint64_t step;       /* the checkpoint's step, or the steps of a complete run */
    char *scenario;      /* the resolved scenario text stored in the file */
    char *scenario_file; /* where it was loaded from (relative inputs resolve there) */
    char *devices;       /* the device selector the run used */
    double every_ms;     /* its checkpoint interval */
    /* Every TARGET.partial-* there was: earlier attempts at this run (the
     * source among them), superseded once the resumed run is complete. */
    char **partials;
    size_t n_partials, cap_partials;
} tb_resume;
tb_status tb_resume_find(const char *path, tb_resume *r, tb_error *err);
/* After the resumed run completed, or when it was complete already: the
 * partial files of the earlier attempts are deleted, and a complete
 * partial file (a run killed between its last write and its rename) is
 * renamed to the target. */
tb_status tb_resume_tidy(const tb_resume *r, tb_error *err);
void tb_resume_clear(tb_resume *r);

/* What the run did, for summaries. */
/* A figure of a finished run that only some kinds of model have
 * ("synapses", "spikes", "synaptic_events", ...). */
typedef struct tb_sim_figure {
    const char *name;
    double value;
} tb_sim_figure;

#define TB_SIM_MAX_FIGURES 16

typedef struct tb_sim_summary {
    uint64_t steps;
    double wall_seconds;
    double build_seconds;   /* program build or cache load */
    int program_from_cache;
    tb_program_origin program_origin; /* compiled if any program was, else prebuilt if any, else cache */
    size_t units;           /* what the kind simulates: regions, neurons, ... */
    const char *unit_noun;  /* "regions", "neurons", ... */
    size_t instances;
    uint64_t samples;       /* rows written over all monitors */
    const double *scores;   /* [instances] fit to an empirical FC, or NULL */
    const char *score_monitor;
    tb_sim_figure figures[TB_SIM_MAX_FIGURES]; /* the kind's own figures (summed over devices) */
    size_t n_figures;
} tb_sim_summary;
void tb_sim_get_summary(const tb_sim *sim, tb_sim_summary *s);

/* One of the summary's figures by name; NAN when the kind has none such. */
double tb_sim_summary_figure(const tb_sim_summary *s, const char *name);

/* What `twinbrain run` prints after a run: the kind's lines, then where the
 * output went. Malloc'd. */
char *tb_sim_summary_text(const tb_sim *sim, const char *output_path);

#ifdef __cplusplus
}
#endif
#endif
