/* Perturbations: what a perturbation plugin declares.
 *
 * A scenario's [[perturbation]] entry names a plugin of this kind, its
 * target sets (regions by label or index, or populations, resolved by the
 * kit that runs the scenario) and a time course (`at`, or `from` and
 * `until`, and `ramp`). Before the run the core calls the plugin's `plan`
 * once: the plugin reads its parameters and targets through the context
 * and emits actions, each one of the operations kits offer (TB_OP_*) at a
 * time. The core checks every action against the kit (a kit that lacks an
 * operation refuses the scenario, naming both), rounds its times to steps,
 * and the driver applies it on its exact step, whatever the chunking and
 * the devices (docs/perturbations.md). */
#ifndef TWINBRAIN_PERTURB_H
#define TWINBRAIN_PERTURB_H

#include <stddef.h>
#include <stdint.h>

#include "twinbrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_PERTURB_KIND "perturbation"
#define TB_PERTURB_TABLE_VERSION 1u

/* The operations a kit may offer, as bits. */
#define TB_OP_EDGES 0x01u   /* scale the edges from one set of units into another (factor 0 cuts them) */
#define TB_OP_PARAM 0x02u   /* set or scale a parameter over units */
#define TB_OP_STATE 0x04u   /* set a state variable of units once (a reset; a clamp is one per step) */
#define TB_OP_SILENCE 0x08u /* silence units: mass, their rows and columns; spiking, their spikes */
#define TB_OP_INPUT 0x10u   /* add an input into a variable of units, one sample per step */

typedef enum tb_perturb_mode {
    TB_PERTURB_SET,  /* the value replaces the parameter */
    TB_PERTURB_SCALE /* the value multiplies the parameter's value before any perturbation */
} tb_perturb_mode;

/* One action. Times are in ms and land on the nearest step; an action
 * with a finite t_end is undone at t_end (the unperturbed value returns). */
typedef struct tb_perturb_action {
    unsigned op;             /* one TB_OP_ bit */
    double t;                /* when it takes effect */
    double t_end;            /* when it is undone; INFINITY: never */
    size_t set;              /* the units: index of a target set among the plugin's `sets` */
    size_t set_to;           /* TB_OP_EDGES: edges from units of `set` into units of `set_to` */
    const size_t *units;     /* or these units (all of the kit's: 0 .. n_units - 1), instead of `set` */
    size_t n_units;
    const size_t *units_to;  /* TB_OP_EDGES: or these, instead of `set_to` */
    size_t n_units_to;
    const char *name;        /* TB_OP_PARAM: the parameter; TB_OP_STATE, TB_OP_INPUT: the variable (NULL: first) */
    tb_perturb_mode mode;    /* TB_OP_PARAM; TB_OP_EDGES always scales */
    double value;            /* the value or factor of every unit (TB_OP_INPUT: the amplitude) */
    const double *per_unit;  /* or one per unit of the set, in the set's order (NULL: `value`); copied.
                              * TB_OP_EDGES: a factor per source unit; edge j -> i is scaled by
                              * value x per_unit[j] x per_unit_to[i] */
    const double *per_unit_to; /* TB_OP_EDGES: a factor per target unit (NULL: 1 each) */
    const double *samples;   /* TB_OP_INPUT: the waveform, one sample per step from t on; copied */
    size_t n_samples;
    long instance;           /* -1: every instance of the run; else only this one (a sweep of perturbations) */
} tb_perturb_action;

typedef struct tb_perturb_ctx tb_perturb_ctx;
struct tb_perturb_ctx {
    double dt, duration;  /* ms */
    double from, until;   /* ms: `at` or `from` (0 when neither), `until` (INFINITY when absent) */
    double ramp;          /* ms: the effect grows linearly over this time from `from` (0: at once) */
    size_t n_units;       /* units of the kit (regions, neurons) */
    size_t n_instances;   /* instances of the run */
    const char *kit;      /* the kit's name: "mass", "spiking" */
    /* the target sets, in the order of the plugin's `sets`: unit indices */
    size_t n_sets;
    const size_t *set_len;
    const size_t *const *sets;
    /* the kit's connectome between units, [n_units][n_units], row = target
     * (mass: the connectome's weights), or NULL */
    const double *weights;
    /* a number (REAL, INT) or the first of an array; NAN when unknown */
    double (*num)(const tb_perturb_ctx *ctx, const char *param);
    /* every number of a REALS parameter (or one); NULL when unknown */
    const double *(*nums)(const tb_perturb_ctx *ctx, const char *param, size_t *n);
    const char *(*str)(const tb_perturb_ctx *ctx, const char *param);
    /* the k-th string of a STRINGS parameter, NULL past the end */
    const char *(*strs)(const tb_perturb_ctx *ctx, const char *param, size_t k);
    /* queue an action (checked against the kit: TB_ERR_SCENARIO naming both) */
    tb_status (*emit)(tb_perturb_ctx *ctx, const tb_perturb_action *a, tb_error *err);
    /* a scenario error at the entry's key (a parameter's, or the entry's own when NULL) */
    tb_status (*fail)(const tb_perturb_ctx *ctx, const char *key, tb_error *err, const char *message);
    void *core;
};

typedef struct tb_perturbation {
    tb_kind_header head;      /* TB_PERTURB_TABLE_HEADER */
    unsigned needs;           /* TB_OP_ bits it always emits: refused before planning by a kit lacking one */
    const char *const *sets;  /* the keys of its target sets, NULL-terminated ({"targets", "to", NULL}) */
    size_t n_required_sets;   /* the first ones are required */
    tb_status (*plan)(tb_perturb_ctx *ctx, tb_error *err);
} tb_perturbation;

#define TB_PERTURB_TABLE_HEADER {TB_PERTURB_TABLE_VERSION, (uint32_t)sizeof(tb_perturbation)}

#ifdef __cplusplus
}
#endif
#endif
