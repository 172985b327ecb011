/* The perturbation layer's shared state (internal to core/perturb/). */
#ifndef TWINBRAIN_PERTURB_INTERNAL_H
#define TWINBRAIN_PERTURB_INTERNAL_H

#include "layer.h"
#include "perturb_ops.h"
#include "schema.h"

#define PT_MAX_SETS 8

/* One [[perturbation]] entry as checked. */
typedef struct pt_entry {
    tb_toml_pos pos;
    char *name;
    const tb_plugin *plugin;
    const tb_perturbation *kind;
    double from, until, ramp; /* ms; until INFINITY when absent */
    tb_toml_pos from_pos, until_pos;
    double fraction;          /* of each population's neurons (1: all) */
    bool each;                /* one instance per element of the first target set */
    const tb_toml_value *sweep; /* parameter = [one value per instance], or NULL */
    size_t n_sweep;
    const tb_toml_value *params; /* its parameters table (defaults filled) */
    const tb_toml_value *sets[PT_MAX_SETS]; /* per key of the plugin's sets, NULL when absent */
    size_t n_sets;
} pt_entry;

typedef struct tb_perturb_data {
    pt_entry *entries;
    size_t n;
    tb_perturb_event *ev; /* sorted by step; undoing before doing at one step */
    size_t n_ev, cap_ev;
    const char *path;     /* the scenario file, for messages */
} tb_perturb_data;

/* perturb.c */
extern const tb_layer tb_perturb_layer;
const tb_perturb_data *tb_perturb_data_of(const tb_scenario *sc);
const char *tb_perturb_op_name(unsigned op);

/* perturb_plan.c: resolve targets, run the plugins' plans, sort */
tb_status tb_perturb_prepare(const tb_scenario *sc, void *data, tb_error *err);
void tb_perturb_clear_events(tb_perturb_data *d);

/* perturb_apply.c */
uint64_t tb_perturb_next_step(const void *data, uint64_t from);
tb_status tb_perturb_apply(const void *data, const tb_scenario *sc, void *impl, size_t first, size_t count,
                           uint64_t step, tb_error *err);
tb_status tb_perturb_declare(const void *data, const tb_scenario *sc, tb_output *out, tb_error *err);

#endif
