/* The spiking part of a scenario (internal): [[neuron_model]],
 * [[population]], [[projection]], [[input]] and [[record]] after checking,
 * with every default resolved. core/scenario_spiking.c builds it;
 * core/spiking*.c run it. */
#ifndef TWINBRAIN_SPIKING_SCENARIO_H
#define TWINBRAIN_SPIKING_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "twinbrain/spiking.h"

/* A number drawn per neuron or per synapse. */
typedef enum tb_dist_kind {
    TB_DIST_CONST,
    TB_DIST_NORMAL,    /* a = mean, b = std */
    TB_DIST_UNIFORM,   /* a = low, b = high */
    TB_DIST_LOGNORMAL, /* a = mu, b = sigma of the underlying normal */
    TB_DIST_EXPR       /* an OpenCL expression (population values only) */
} tb_dist_kind;

typedef struct tb_dist {
    tb_dist_kind kind;
    double a, b;
    double lo, hi; /* drawn again while outside [lo, hi]; -inf/inf when unbounded */
    char *expr;
    tb_toml_pos pos;
} tb_dist;

/* A neuron model: a plugin's, or one declared in the scenario file. */
typedef struct tb_spk_model {
    char *name;
    const char *version;
    const tb_spiking_model *m;
    const tb_param_info *params;
    size_t n_params;
    struct tb_spk_declared *declared; /* owned when declared in the file */
} tb_spk_model;

typedef struct tb_spk_population {
    char *name;
    size_t model; /* index into models */
    uint64_t size;
    tb_dist *params;  /* one per model parameter */
    tb_dist *initial; /* one per state variable */
    tb_toml_pos pos;
} tb_spk_population;

typedef enum tb_spk_rule {
    TB_RULE_ALL_TO_ALL,
    TB_RULE_ONE_TO_ONE,
    TB_RULE_PAIRWISE_BERNOULLI,
    TB_RULE_FIXED_INDEGREE,
    TB_RULE_FIXED_OUTDEGREE,
    TB_RULE_FIXED_TOTAL_NUMBER,
    TB_RULE_FROM_FILE,
    TB_RULE_CONNECTOME /* [brain] between regions (brain.c): `wiring` says who and how many */
} tb_spk_rule;

/* A source of spikes: a population, or a spike_file input (index into
 * inputs) whose node ids act as neurons. */
typedef struct tb_spk_source {
    bool is_input;
    size_t index;
} tb_spk_source;

typedef struct tb_spk_projection {
    tb_spk_source source;
    size_t target;  /* population */
    tb_spk_rule rule;
    double p;       /* pairwise_bernoulli */
    uint64_t n;     /* fixed_indegree, fixed_outdegree, fixed_total_number */
    bool autapses, multapses;
    char *file;     /* from_file, resolved */
    int port;       /* of the target's model */
    tb_dist weight, delay; /* delay in ms */
    tb_toml_pos pos;
    /* connectome: `span` populations from source.index and from target
     * (one per region each), wired by `wiring` (owned) */
    size_t span;
    struct tb_spk_wiring *wiring;
} tb_spk_projection;

typedef enum tb_spk_input_kind {
    TB_INPUT_POISSON,
    TB_INPUT_DC,
    TB_INPUT_NOISE,
    TB_INPUT_SPIKE_FILE
} tb_spk_input_kind;

typedef struct tb_spk_input {
    char *name;
    tb_spk_input_kind kind;
    size_t *targets; /* populations (poisson, dc, noise) */
    size_t n_targets;
    int *ports;      /* poisson: port per target */
    double rate, weight; /* poisson: Hz per generator, weight per event */
    uint64_t indegree;   /* poisson: independent generators per neuron */
    double amplitude;    /* dc */
    double mean, std;    /* noise: a N(mean, std^2) current drawn every step */
    double start, stop;  /* ms: active for steps starting in [start, stop) */
    double delay;        /* dc, ms: shifts that window later (NEST's device connection delay) */
    char *file;          /* spike_file, resolved */
    char *group;         /* spike_file: /spikes/<group>; NULL = the only one */
    uint64_t size;       /* spike_file: number of sources; 0 = max node id + 1 */
    tb_toml_pos pos;
} tb_spk_input;

typedef enum tb_spk_record_kind {
    TB_RECORD_SPIKES,
    TB_RECORD_RATES,
    TB_RECORD_STATE,
    TB_RECORD_CONNECTIONS
} tb_spk_record_kind;

typedef struct tb_spk_record {
    char *name;
    tb_spk_record_kind kind;
    size_t *pops;      /* spikes, rates, connections (targets) */
    size_t n_pops;
    double period;     /* rates: bin; state: sampling period (ms) */
    size_t pop;        /* state */
    uint64_t *neurons; /* state: indices within the population */
    size_t n_neurons;
    size_t *vars;      /* state: variables of the model */
    size_t n_vars;
    tb_toml_pos pos;
} tb_spk_record;

typedef struct tb_spiking_scenario {
    tb_spk_model *models;
    size_t n_models;
    tb_spk_population *pops;
    size_t n_pops;
    tb_spk_projection *projs;
    size_t n_projs;
    tb_spk_input *inputs;
    size_t n_inputs;
    tb_spk_record *records;
    size_t n_records;
    bool pops_incomplete; /* a population without a valid name (reported): names not found may be its */
    struct tb_spk_brain *brain; /* [brain], or NULL (brain.c) */
    struct tb_spk_assim *assim; /* [assimilation] of the brain, or NULL (brain_assimilate.c) */
} tb_spiking_scenario;

/* The top-level sections the kit owns. */
#define TB_SPIKING_N_SECTIONS 7
extern const tb_key_spec tb_spiking_sections[TB_SPIKING_N_SECTIONS];

/* The kit's part of a scenario the spiking kit runs. */
static inline tb_spiking_scenario *tb_spiking_scenario_of(const tb_scenario *sc)
{
    return (tb_spiking_scenario *)sc->kit_data;
}
/* Check [[neuron_model]], [[population]], [[projection]], [[input]] and
 * [[record]], fill defaults into the document, and set sc->kit_data. */
void tb_spiking_check(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg);
void tb_spiking_scenario_free(tb_spiking_scenario *s);
void tb_spiking_free_scenario(void *kit_data);

/* The kit table's plugin check and text (spiking_text.c). */
struct tb_sim;
struct tb_sim_summary;
tb_status tb_spiking_check_plugin(const tb_plugin *p, const char *file, tb_error *err);
void tb_spiking_model_of(const tb_scenario *sc, const char **name, const char **version);
void tb_spiking_check_text(const tb_scenario *sc, tb_buf *b);
void tb_spiking_plugin_text(const tb_plugin *p, tb_buf *b);
void tb_spiking_plugin_json(const tb_plugin *p, tb_buf *b);
void tb_spiking_summary_text(const struct tb_sim *sim, const tb_scenario *sc, const struct tb_sim_summary *s,
                             tb_buf *b);
/* One [[population]] or [[projection]] table checked into s, named in
 * messages as `where_` (NULL: population[idx], projection[idx]); brain.c
 * checks the tables it expands [brain] into with them. */
void tb_spk_check_population(tb_schema_checker *c, tb_spiking_scenario *s, tb_toml_value *t, size_t idx,
                             const char *where_, const tb_plugin_registry *reg);
void tb_spk_check_projection(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s, tb_toml_value *t,
                             size_t idx, const char *where_);
/* The keys, for tb_scenario_keys(). */
void tb_spiking_list_keys(tb_buf *b);

/* Check a model table as the plugin loader does (names, snippets, ports);
 * `what` names it in messages ("FILE" or "neuron_model 'x'"). */
tb_status tb_spiking_model_check(const tb_spiking_model *m, const tb_param_info *params, size_t n_params,
                                 const char *what, tb_error *err);

/* The longest synaptic delay a run holds, in steps: 2^29, so that the
 * spike history's 2 dmin + ND slots and every step index derived from a
 * delay stay within the 32-bit integers the kernels use (the history's
 * memory usually runs out well before). */
#define TB_SPK_MAX_DELAY_STEPS 536870912

/* The most sources a spike file may have (input.size's maximum): node ids
 * run from 0 to TB_SPK_MAX_SOURCES - 1. */
#define TB_SPK_MAX_SOURCES 2147483647u
#define TB_SPK_MAX_SOURCES_TEXT "2147483647"

/* The steps of a delay in ms: the nearest step, at least one; more than
 * TB_SPK_MAX_DELAY_STEPS (a delay beyond what a run holds, or not finite)
 * comes back as TB_SPK_MAX_DELAY_STEPS + 1, never wrapped. */
int64_t tb_spk_delay_steps(double ms, double dt);

/* The values a weight or delay distribution reaches in practice: a
 * constant, the ends of a uniform, the bounds of a normal or lognormal or
 * else 7 standard deviations around the centre. */
void tb_spk_dist_reach(const tb_dist *d, double *lo, double *hi);

#endif
