/* The operations a kit offers perturbations (tb_kit.ops), and the plan the
 * perturbation layer hands the kits (internal). */
#ifndef TWINBRAIN_PERTURB_OPS_H
#define TWINBRAIN_PERTURB_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "kit.h"
#include "twinbrain/perturb.h"

/* A group of units a scenario names: a region (one unit), a population
 * (its neurons). */
typedef struct tb_unit_group {
    char *name;
    size_t lo, n;
} tb_unit_group;

typedef struct tb_kit_ops {
    unsigned offered;    /* TB_OP_ bits */
    const char *group_noun; /* what targets name: "region", "population" */
    bool instances;      /* it runs several instances at once (a sweep of perturbations, `each`) */
    unsigned per_instance; /* the TB_OP_ bits it can apply to one instance alone */
    /* The groups targets name and the units they cover, without a device. */
    tb_status (*groups)(const tb_scenario *sc, tb_unit_group **groups, size_t *n, size_t *n_units, tb_error *err);
    /* Whether the kit has this parameter (TB_OP_PARAM), or variable
     * (TB_OP_STATE, TB_OP_INPUT; NULL name: the first); for messages, the
     * names it has, joined. */
    bool (*has)(const tb_scenario *sc, unsigned op, const char *name, char **known);
    /* On a part (instances [first, first + count) of the run), before it
     * advances from the current step; instance -1: all of its instances,
     * else the run's instance index. Values are relative to the
     * unperturbed run: a factor scales the unperturbed value. */
    tb_status (*edges)(void *impl, const size_t *from, size_t n_from, const double *from_f, const size_t *to,
                       size_t n_to, const double *to_f, tb_error *err);
    tb_status (*param)(void *impl, const char *name, const size_t *units, size_t n, const double *values,
                       tb_perturb_mode mode, long instance, tb_error *err);
    tb_status (*silence)(void *impl, const size_t *units, size_t n, bool on, long instance, tb_error *err);
    tb_status (*state)(void *impl, const char *var, const size_t *units, size_t n, const double *values,
                       long instance, tb_error *err);
    /* Optional: the weights between units ([n][n], row = target), for
     * plans that read the connectome (malloc'd). */
    tb_status (*weights)(const tb_scenario *sc, double **w, tb_error *err);
    /* TB_OP_INPUT is not an event: the kit adds the plan's inputs when it
     * builds its program (tb_perturb_events). */
} tb_kit_ops;

/* A planned action with its steps and units resolved. */
typedef struct tb_perturb_event {
    unsigned op;
    uint64_t step, end_step;   /* end_step UINT64_MAX: never undone */
    size_t *units, n_units;
    size_t *to, n_to;          /* TB_OP_EDGES */
    double *to_values;         /* TB_OP_EDGES: a factor per target unit (values: per source, times the value) */
    char *name;
    tb_perturb_mode mode;
    double *values;            /* one per unit */
    double *samples;           /* TB_OP_INPUT: one per step from `step` */
    size_t n_samples;
    long instance;
    bool undo;                 /* the end of an action: the unperturbed values return */
    size_t entry;              /* which [[perturbation]] */
    size_t seq;                /* emission order, kept among events of one step */
} tb_perturb_event;

/* The plan of a scenario (after tb_layers_prepare), NULL when it has no
 * perturbation. */
const tb_perturb_event *tb_perturb_events(const tb_scenario *sc, size_t *n);
/* The parameters some event sets or scales (a kit lays them out per unit
 * and instance from the start). */
bool tb_perturb_targets_param(const tb_scenario *sc, const char *name);

#endif
