/* The spiking kit: what a spiking neuron-model plugin declares.
 *
 * The plugin states the neuron's state variables, its synaptic input ports
 * and OpenCL snippets for one step. The core supplies populations,
 * projections (connectivity rules, weights, delays), spike propagation,
 * external inputs (Poisson, DC, noise, spike files) and recording.
 *
 * One step of dt for one neuron runs, in this order:
 *   1. `update`: advance the state from t to t + dt;
 *   2. the refractory counter, when running, counts one step down;
 *   3. if the neuron was not refractory at the start of the step and
 *      `threshold` holds, the neuron spikes at t + dt: `reset` runs and
 *      the refractory counter starts (round(<refractory parameter> / dt)
 *      steps).
 * This is NEST's order for iaf_psc_exp: the membrane uses the synaptic
 * currents of the previous step, then the currents decay and take the
 * spikes arriving in this step, then the threshold is checked.
 *
 * In scope in `update` (as locals; state variables may be assigned):
 *   - each state variable by name (`V_m`), as `real`;
 *   - each parameter and each constant by name, as `const real`;
 *   - `in_<port>` for each port (`in_ex`): the summed weights of the spikes
 *     (and Poisson events) arriving at this neuron in this step;
 *   - `I_ext`: the external current of this step (DC and noise inputs),
 *     in the unit the plugin documents;
 *   - `refractory`: non-zero while the neuron is refractory;
 *   - `dt` (ms) and `t` (ms, the start of the step).
 * `threshold` is an expression and `reset` a block of statements; both see
 * the same names. `prepare` runs once per neuron before the run and must
 * assign each constant (for example exact-integration propagators): it sees
 * the parameters and `dt`. `helpers` may define OpenCL functions the
 * snippets call; prefix their names with the plugin's name. */
#ifndef TWINBRAIN_SPIKING_H
#define TWINBRAIN_SPIKING_H

#include <stddef.h>
#include <stdint.h>

#include "twinbrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A synapse stores its port in two bits: at most four ports per model. */
#define TB_SPIKING_MAX_PORTS 4

typedef struct tb_spiking_var {
    const char *name;
    double initial; /* default initial value */
    const char *unit;
    const char *doc;
} tb_spiking_var;

typedef struct tb_spiking_port {
    const char *name; /* what projections write: synapse = "ex" */
    const char *unit; /* unit of a weight on this port: "pA", "nS", "mV" */
    const char *doc;
} tb_spiking_port;

/* The plugin kind of the kit, and the version of its table. */
#define TB_SPIKING_KIND "spiking"
#define TB_SPIKING_TABLE_VERSION 1u

typedef struct tb_spiking_model {
    tb_kind_header head; /* TB_SPIKING_TABLE_HEADER */
    size_t n_vars;
    const tb_spiking_var *vars;
    size_t n_ports;
    const tb_spiking_port *ports;
    size_t n_consts;
    const char *const *consts; /* names of per-neuron constants `prepare` assigns */
    const char *prepare;       /* OpenCL statements; NULL when there are no constants */
    const char *update;        /* OpenCL statements, see above */
    const char *threshold;     /* OpenCL expression */
    const char *reset;         /* OpenCL statements */
    const char *refractory;    /* name of the parameter giving the refractory period (ms); NULL: none */
    const char *current_unit;  /* unit of I_ext ("pA"); NULL when the model takes no current */
    const char *helpers;       /* optional OpenCL functions; NULL for none */
    void *reserved[8];
} tb_spiking_model;

#define TB_SPIKING_TABLE_HEADER {TB_SPIKING_TABLE_VERSION, (uint32_t)sizeof(tb_spiking_model)}

/* A spiking plugin's table (the loader has checked its kind and header). */
static inline const tb_spiking_model *tb_spiking_of(const tb_plugin *p)
{
    return (const tb_spiking_model *)p->table;
}

#ifdef __cplusplus
}
#endif
#endif
