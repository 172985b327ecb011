/* Layers: what a scenario adds on top of whichever kit runs it, for every
 * kit alike (perturbations of a running simulation, core/perturb/). A
 * layer owns top-level sections that any kit's scenario may use, may run
 * plugins of its own kind, and acts on the kit's parts at chosen steps:
 * the driver (core/sim.c) cuts its chunks at every step a layer names, so
 * that an action lands on its exact step whatever the chunking or the
 * split over devices. A layer reaches the kit through the kit's optional
 * operation table (tb_kit.ops), never through the kit's internals.
 *
 * The foundation names no layer: the build's TB_LAYERS list (layers.inc)
 * gives core/layer.c their tables, as kits.inc does for kits. */
#ifndef TWINBRAIN_LAYER_H
#define TWINBRAIN_LAYER_H

#include <stdint.h>

#include "kit.h"

/* Layers a scenario can hold data for (tb_scenario.layer_data). */
#define TB_MAX_LAYERS 4

typedef struct tb_layer {
    const char *name;
    const char *summary;
    /* the top-level tables it owns (allowed in every kit's scenarios) */
    const tb_key_spec *sections;
    size_t n_sections;
    void (*list_keys)(tb_buf *b);
    /* the plugin kind it runs (NULL: none) and that kind's check */
    const char *plugin_kind;
    tb_status (*check_plugin)(const tb_plugin *p, const char *file, tb_error *err);
    void (*plugin_text)(const tb_plugin *p, tb_buf *b); /* optional */
    /* Check its sections after the kit's (sc->kit is set); *data is what
     * it keeps (NULL when the scenario does not use it). */
    void (*check_scenario)(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg, void **data);
    void (*free_scenario)(void *data);
    /* What needs the kit's inputs (labels, populations) but no device:
     * resolve targets, refuse what the kit cannot do, plan the actions.
     * Called by `check` and before the parts are created. */
    tb_status (*prepare)(const tb_scenario *sc, void *data, tb_error *err);
    /* The first step >= `from` at which it acts (UINT64_MAX: none), and
     * its action at `step` on one part, instances [first, first +
     * count) of the run, before that part advances from `step`. */
    uint64_t (*next_step)(const void *data, uint64_t from);
    tb_status (*apply)(const void *data, const tb_scenario *sc, void *impl, size_t first, size_t count,
                       uint64_t step, tb_error *err);
    /* What it writes into the output (run-wide, before the run). Optional. */
    tb_status (*declare)(const void *data, const tb_scenario *sc, tb_output *out, tb_error *err);
} tb_layer;

size_t tb_layer_count(void);
const tb_layer *tb_layer_at(size_t i);
/* The layer that runs plugins of this kind, or NULL. */
const tb_layer *tb_layer_for_plugin_kind(const char *kind);
/* The layer owning a top-level section, or NULL. */
const tb_layer *tb_layer_owning(const char *section);

/* The layers' hooks over a scenario (a layer without data is skipped). */
tb_status tb_layers_prepare(const tb_scenario *sc, tb_error *err);
uint64_t tb_layers_next_step(const tb_scenario *sc, uint64_t from);
tb_status tb_layers_apply(const tb_scenario *sc, void *impl, size_t first, size_t count, uint64_t step,
                          tb_error *err);
tb_status tb_layers_declare(const tb_scenario *sc, tb_output *out, tb_error *err);
void tb_layers_free(tb_scenario *sc);

#endif
