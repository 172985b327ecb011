/* A scenario: a TOML file, checked against what the engine and the chosen
 * plugins accept, with every default filled in.
 *
 * Errors name the file, line, column and key ("run.toml:7:8: simulation.dt
 * must be > 0 (got -0.1)"); several are reported at once, one per line. */
#ifndef TWINBRAIN_SCENARIO_H
#define TWINBRAIN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"
#include "twinbrain/toml.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_scenario_kind {
    TB_SCENARIO_MASS = 1,   /* neural-mass models on a connectome */
    TB_SCENARIO_SPIKING = 2 /* populations of spiking neurons: a document with [[population]] */
} tb_scenario_kind;

/* A parameter or initial value: one number, or one per region; initial
 * values may also be drawn uniformly in [lo, hi] (seeded, per region). */
typedef struct tb_scenario_value {
    char *name;
    bool is_array;
    double scalar;
    double *values;
    size_t n;
    tb_toml_pos pos;
    bool random;
    double lo, hi;
} tb_scenario_value;

typedef enum tb_noise_kind {
    TB_NOISE_NONE,
    TB_NOISE_ADDITIVE,       /* dx += sigma dW */
    TB_NOISE_MULTIPLICATIVE, /* dx += sigma x dW */
    TB_NOISE_OU              /* dx/dt += eta, eta an Ornstein-Uhlenbeck process */
} tb_noise_kind;

typedef enum tb_monitor_kind {
    TB_MONITOR_RAW,
    TB_MONITOR_SUBSAMPLE,
    TB_MONITOR_TEMPORAL_AVERAGE,
    TB_MONITOR_BOLD, /* Balloon-Windkessel haemodynamics of each variable */
    TB_MONITOR_EEG,  /* a gain matrix applied to one variable's temporal average */
    TB_MONITOR_FC    /* functional connectivity of another monitor over a window */
} tb_monitor_kind;

/* Balloon-Windkessel constants, rates in 1/s and times in s. */
typedef struct tb_bold_params {
    double kappa, gamma, tau, alpha, E0, V0, k1, k2, k3, scale;
} tb_bold_params;
const char *tb_monitor_kind_name(tb_monitor_kind k);

typedef struct tb_scenario_monitor {
    char *name;
    tb_monitor_kind kind;
    double period;        /* ms */
    size_t *variables;    /* indices into the model's state variables */
    size_t n_variables;
    tb_toml_pos pos;
    tb_bold_params bold;  /* bold */
    char *gain_file;      /* eeg: HDF5 file (resolved) and dataset [E, N] */
    char *gain_dataset;
    size_t source;        /* fc: index of the monitor it correlates */
    size_t source_variable; /* fc: index into that monitor's variables */
    double start, end;    /* fc: window in ms, (start, end] */
    char *empirical_file; /* fc: empirical FC to score against (resolved), or NULL */
    char *empirical_dataset;
} tb_scenario_monitor;

/* A swept key and its value for every instance. */
typedef struct tb_sweep_key {
    char *path;     /* "model.parameters.mu", "coupling.parameters.a", "simulation.seed" */
    double *values; /* [n_instances] */
    tb_toml_pos pos;
} tb_sweep_key;

/* [sweep]: every combination of the axes (first axis slowest), each
 * combination one instance of a single device run. */
typedef struct tb_sweep {
    size_t n_instances; /* 1 without [sweep] */
    size_t n_axes;
    size_t *axis_len;
    tb_sweep_key *keys;
    size_t n_keys;
} tb_sweep;

typedef enum tb_stimulus_kind {
    TB_STIM_PULSE_TRAIN,
    TB_STIM_SINUSOID,
    TB_STIM_GAUSSIAN,
    TB_STIM_SERIES
} tb_stimulus_kind;

/* [[stimulus]]: amplitude x waveform(t) x weight of the region, added to
 * d<variable>/dt, evaluated at the start of each step. */
typedef struct tb_scenario_stimulus {
    tb_stimulus_kind kind;
    size_t variable;
    double amplitude;
    double onset, stop;        /* ms; active for onset <= t < stop */
    double period, width;      /* pulse_train (ms); series: sample spacing */
    int64_t count;             /* pulse_train: number of pulses, -1 for no limit */
    double frequency, phase;   /* sinusoid: Hz, radians */
    double center, sigma;      /* gaussian: ms */
    char *file, *dataset;      /* series: HDF5 [T] or [T, regions listed] */
    const tb_toml_value *regions; /* names or indices (resolved against the connectome), NULL for all */
    const tb_toml_value *weights; /* one per listed region, or NULL */
    tb_toml_pos pos;
} tb_scenario_stimulus;

typedef struct tb_scenario {
    char *path;          /* as given */
    char *dir;           /* its folder: relative paths are resolved against it */
    tb_toml_value *doc;  /* the resolved document, defaults filled in */
    tb_scenario_kind kind;

    /* [simulation] */
    double duration;     /* ms */
    double dt;           /* ms */
    uint64_t steps;      /* duration / dt */
    uint64_t seed;
    tb_precision precision;
    char *device;        /* selector */

    /* [connectome] */
    char *connectome_file; /* resolved */
    tb_toml_pos connectome_pos;
    double speed;          /* mm/ms */
    enum { TB_STORAGE_AUTO, TB_STORAGE_SPARSE, TB_STORAGE_DENSE } storage;

    /* [model] */
    const tb_plugin *model;          /* a loaded plugin, or the declared model below */
    struct tb_declared_model *declared; /* a model declared in the file (owned) */
    tb_scenario_value *model_params; /* one per plugin parameter, in the plugin's order */

    /* [coupling] */
    char *coupling;
    tb_scenario_value *coupling_params; /* in the coupling function's order */
    size_t n_coupling_params;

    /* [integrator] */
    char *method; /* euler | heun | rk4 */
    /* [integrator.noise] */
    tb_noise_kind noise;
    double noise_tau;                 /* ms, Ornstein-Uhlenbeck correlation time */
    tb_scenario_value *noise_sigma;   /* one per state variable (NULL name: no noise on it) */
    bool noise_nsig;                  /* values were given as TVB's nsig (sigma = sqrt(2 nsig)) */

    /* [initial]: one per state variable, in the model's order */
    tb_scenario_value *initial;

    /* [[monitor]] */
    tb_scenario_monitor *monitors;
    size_t n_monitors;

    /* [[stimulus]] */
    tb_scenario_stimulus *stimuli;
    size_t n_stimuli;

    /* [sweep] */
    tb_sweep sweep;

    /* [output] */
    char *output_file; /* resolved, or NULL when not given */

    /* [[neuron_model]], [[population]], [[projection]], [[input]], [[record]]
     * of a spiking scenario (owned; internal, see core/spiking_scenario.h) */
    struct tb_spiking_scenario *spiking;
} tb_scenario;

/* Load, apply `--set KEY=VALUE` overrides (in order), check and fill in
 * defaults. Status: TB_ERR_SCENARIO for syntax and content errors,
 * TB_ERR_INPUT when a referenced file is missing or a plugin failed to
 * load. */
tb_status tb_scenario_load(const char *path, const char *const *overrides, size_t n_overrides,
                           const tb_plugin_registry *reg, tb_scenario **out, tb_error *err);
void tb_scenario_free(tb_scenario *sc);

/* The resolved document as TOML text (malloc'd). */
char *tb_scenario_format(const tb_scenario *sc);

/* "FILE:LINE:COL: " for a position in this scenario ("FILE: --set: " for a
 * value that came from the command line). Malloc'd. */
char *tb_scenario_where(const tb_scenario *sc, tb_toml_pos pos);

/* Every key the scenario schema knows, one "section.key  type  doc" per
 * line (for docs and the test that keeps docs/scenario.md complete). */
char *tb_scenario_keys(void);

#ifdef __cplusplus
}
#endif
#endif
