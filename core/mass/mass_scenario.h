/* The neural-mass kit's sections of a scenario: [connectome], [model],
 * [coupling], [integrator], [initial], [[monitor]], [[stimulus]] and
 * [sweep], checked (mass_scenario.c and the files it calls) into a
 * tb_mass_scenario that hangs off tb_scenario's kit_data. */
#ifndef TWINBRAIN_MASS_SCENARIO_H
#define TWINBRAIN_MASS_SCENARIO_H

#include "bold.h" /* tb_bold_params: Balloon-Windkessel constants, shared with the other kits */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "twinbrain/mass.h"
#include "twinbrain/scenario.h"

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
    /* an input a perturbation adds (mass_perturb.c): regions by index with
     * their weights, and the series in memory instead of a file */
    const size_t *units;
    const double *unit_weights;
    size_t n_units;
    const double *samples;
    size_t n_samples;
} tb_scenario_stimulus;

typedef enum tb_storage { TB_STORAGE_AUTO, TB_STORAGE_SPARSE, TB_STORAGE_DENSE } tb_storage;

/* initial.history: the past before t = 0 is the initial state throughout,
 * or a fresh draw at every past step for the variables drawn at random. */
typedef enum tb_history_kind { TB_HISTORY_CONSTANT, TB_HISTORY_RANDOM } tb_history_kind;

typedef struct tb_mass_scenario {
    /* [connectome] */
    char *connectome_file; /* resolved */
    tb_toml_pos connectome_pos;
    double speed;          /* mm/ms (inf: no delays) */
    bool speed_given;      /* written in the scenario (else the default) */
    tb_toml_pos speed_pos;
    tb_storage storage;

    /* [model] */
    tb_toml_pos model_pos; /* where the model is named (model.plugin) or declared ([model]) */
    const tb_plugin *model;          /* a loaded plugin, or the declared model below */
    const tb_mass_model *mass;       /* its table */
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
    tb_history_kind history;

    /* [[monitor]] */
    tb_scenario_monitor *monitors;
    size_t n_monitors;

    /* [[stimulus]] */
    tb_scenario_stimulus *stimuli;
    size_t n_stimuli;

    /* [sweep] */
    tb_sweep sweep;

    /* [assimilation] (assimilate.c), or NULL */
    struct tb_assimilation *assimilation;

    /* model.parameters_from: the fit's region labels (NULL when the fit
     * has none: fits before 2026-12-03), checked against the connectome's
     * when it is loaded */
    char **fitted_labels;
    size_t n_fitted_labels;
    char *fitted_from; /* the key's value, for messages */
    tb_toml_pos fitted_pos;
} tb_mass_scenario;

/* The kit's part of a scenario the mass kit runs. */
static inline tb_mass_scenario *tb_mass_scenario_of(const tb_scenario *sc)
{
    return (tb_mass_scenario *)sc->kit_data;
}

/* The kit table's scenario entries (mass_kit.c puts them in the table). */
void tb_mass_check_scenario(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg);
void tb_mass_free_scenario(void *kit_data);
void tb_mass_list_keys(tb_buf *b);
#define TB_MASS_N_SECTIONS 9
extern const tb_key_spec tb_mass_sections[TB_MASS_N_SECTIONS];

#endif
