/* The neural-mass kit: what a mass-model plugin declares.
 *
 * The plugin states its variables, which of them are coupled, and the
 * derivative as an OpenCL snippet. The core supplies the connectome with
 * delays, the coupling function, the integrator, noise, stimuli, monitors
 * and batching over sweep instances.
 *
 * The `dfun` snippet is a block of OpenCL statements. In scope:
 *   - each state variable by name (`y0`, `S_e`) as `const real`;
 *   - each parameter of the plugin by name, as `const real`;
 *   - `coupling[k]`, the long-range input of coupling channel k (usually one
 *     channel per coupled variable; some coupling functions, such as
 *     sigmoidal_jansen_rit, combine the coupled variables into one channel);
 *   - `t`, the time in ms at which the derivative is evaluated;
 *   - `n_regions`, and `region` (0-based index of this region).
 * It must assign `d<name>` (for example `dy0`) for every state variable, in
 * units of the variable per ms. `helpers` may define OpenCL functions the
 * snippet calls; prefix their names with the plugin's name. */
#ifndef TWINBRAIN_MASS_H
#define TWINBRAIN_MASS_H

#include <stddef.h>
#include <stdint.h>

#include "twinbrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_mass_var {
    const char *name;
    double initial;  /* default initial value */
    double range_lo; /* range of random initial values (TVB's state_variable_range) */
    double range_hi;
    double bound_lo; /* hard bounds, applied after each (sub)step; -INFINITY/INFINITY if free */
    double bound_hi;
    const char *unit;
    const char *doc;
} tb_mass_var;

/* What an optional `prepare` hook sees: every parameter's value per
 * instance and region, the connectome's in-strengths, the coupling, and a
 * way to replace a parameter by values it computes per instance and region
 * (feedback inhibition control, for example). It runs on the host once per
 * run, before the device program is built. */
typedef struct tb_mass_prepare tb_mass_prepare;
struct tb_mass_prepare {
    size_t n_regions;
    size_t n_instances;
    const double *in_strength; /* [n_regions]: sum_j w_ij, row = target */
    const char *coupling;      /* the coupling function's name */
    /* parameter `index` (in the plugin's table) of instance b at region n */
    double (*param)(const tb_mass_prepare *ctx, size_t index, size_t b, size_t n);
    /* a coupling-function parameter by name for instance b; NAN if unknown */
    double (*coupling_param)(const tb_mass_prepare *ctx, const char *name, size_t b);
    /* replace parameter `index` by values[b * n_regions + n] (copied) */
    tb_status (*set_param)(tb_mass_prepare *ctx, size_t index, const double *values);
    /* region labels, for messages */
    const char *const *labels;
    tb_error *err;
    void *core;
};

/* The plugin kind of the kit, and the version of its table (bumped when
 * tb_mass_model changes layout or meaning). */
#define TB_MASS_KIND "mass"
#define TB_MASS_TABLE_VERSION 1u

typedef struct tb_mass_model {
    tb_kind_header head; /* TB_MASS_TABLE_HEADER */
    size_t n_vars;
    const tb_mass_var *vars;
    size_t n_coupled;
    const char *const *coupled; /* names of the coupled variables, in channel order */
    const char *dfun;           /* OpenCL statements, see above */
    const char *helpers;        /* optional OpenCL functions; NULL for none */
    const char *default_coupling; /* a core coupling function; NULL means "linear" */
    /* Optional own coupling (NULL: the scenario's coupling function).
     * `pre` is an expression of `h` (the delayed source value of a channel)
     * and `xi` (the target's own value); `post` an expression of `sum`. */
    const char *coupling_pre;
    const char *coupling_post;
    /* Optional host-side preparation (NULL: none); returns a status and
     * sets ctx->err on failure. */
    tb_status (*prepare)(tb_mass_prepare *ctx);
    void *reserved[7];
} tb_mass_model;

#define TB_MASS_TABLE_HEADER {TB_MASS_TABLE_VERSION, (uint32_t)sizeof(tb_mass_model)}

/* A mass plugin's table (the loader has checked its kind and header). */
static inline const tb_mass_model *tb_mass_of(const tb_plugin *p)
{
    return (const tb_mass_model *)p->table;
}

#ifdef __cplusplus
}
#endif
#endif
