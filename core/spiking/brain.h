/* A whole brain as a spiking network (internal): the [brain] section
 * expanded into ordinary populations and projections at check time
 * (brain.c), and the connectome rule's wiring between regions, generated
 * on the device (brain_connect.c, kernels/spiking_connect.cl). */
#ifndef TWINBRAIN_SPIKING_BRAIN_H
#define TWINBRAIN_SPIKING_BRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bold.h"
#include "spiking_scenario.h"

/* [[brain.monitor]]: per-region signals from the spike counts (rates,
 * BOLD) or the sampled state (LFP proxy) of chosen template populations,
 * and per connectome edge the spikes it carries (brain_monitor.c). */
typedef enum tb_spk_brain_monitor_kind {
    TB_BRAIN_REGION_RATES,
    TB_BRAIN_BOLD,
    TB_BRAIN_LFP,
    TB_BRAIN_EDGE_SPIKES
} tb_spk_brain_monitor_kind;

typedef struct tb_spk_brain_monitor {
    char *name;
    tb_spk_brain_monitor_kind kind;
    size_t *templates; /* template populations pooled per region */
    size_t n_templates;
    double period;     /* ms: the rate's bin, the BOLD and LFP sampling period */
    tb_bold_params bold;
    char **variables;  /* lfp: state variables whose absolute values are summed */
    size_t n_variables;
    size_t *var_index; /* lfp: [n_templates * n_variables] in each template's model (after check_names) */
    tb_toml_pos var_pos;
    tb_toml_pos pos; /* its name (or table) */
} tb_spk_brain_monitor;

/* Who reaches whom between regions: for target region j, the edges
 * eptr[j] .. eptr[j + 1] - 1, each from region esrc[e], with ecount[e]
 * synapses onto every neuron of j's target population, all with the delay
 * edelay[e] steps. */
typedef struct tb_spk_wiring {
    size_t R;
    uint32_t *eptr;   /* [R + 1] */
    uint32_t *esrc;   /* [E] */
    uint32_t *ecount; /* [E] */
    int32_t *edelay;  /* [E] steps */
    int32_t dmin, dmax;
} tb_spk_wiring;

typedef struct tb_spk_brain {
    char *file;          /* the connectome, resolved */
    double speed;        /* mm/ms */
    size_t R;            /* regions: members x R1 */
    size_t R1;           /* the connectome's regions */
    size_t members;      /* copies of the connectome (an [assimilation] ensemble; 1 without) */
    char **labels;       /* [R] the connectome's region labels (prefixed m<b>_ with several members) */
    char **names;        /* [R] the labels as plain names (population prefixes) */
    double *weights;     /* [R1 * R1] row = target; copies are disjoint (block-diagonal) */
    double *lengths;     /* [R1 * R1] mm */
    size_t T;            /* template populations */
    char **templates;    /* [T] their names */
    uint64_t *sizes;     /* [T * R] neurons of template t in region r */
    double *scale;       /* [R] each region's share of brain.neurons (while sizing) */
    tb_toml_value *pop_tables, *proj_tables; /* the [brain] tables (not owned) */
    tb_spk_brain_monitor *monitors;
    size_t n_monitors;
    tb_toml_value **clones; /* expanded tables, kept while the scenario lives */
    size_t n_clones, cap_clones;
} tb_spk_brain;

/* Population index of template t in region r: template-major, so that
 * one template's populations (all regions) are consecutive neurons. */
static inline size_t tb_spk_brain_pop(const tb_spk_brain *b, size_t t, size_t r)
{
    return t * b->R + r;
}

/* Check [brain], read its connectome, and say how many populations and
 * projections it expands into (s->brain set when the section is usable).
 * With members > 1 the brain is that many disjoint copies of the
 * connectome's regions (member b's region n is region b R1 + n). */
void tb_spk_brain_open(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s, tb_toml_value *brain,
                       size_t members, size_t *n_pops, size_t *n_projs);
/* Append the brain's populations (first in s->pops) and projections. */
void tb_spk_brain_populations(tb_schema_checker *c, tb_spiking_scenario *s, const tb_plugin_registry *reg);
void tb_spk_brain_projections(tb_schema_checker *c, tb_scenario *sc, tb_spiking_scenario *s);
/* The populations of template `name` (one per region) into out (NULL:
 * count only); 0 when there is no brain or no such template. */
size_t tb_spk_brain_template_pops(const tb_spiking_scenario *s, const char *name, size_t *out);
/* The region of population p, or -1 when it is not a brain's. */
int64_t tb_spk_brain_region_of(const tb_spiking_scenario *s, size_t p);
/* How many of s->pops are the brain's (they come first). */
size_t tb_spk_brain_pops(const tb_spiking_scenario *s);
/* [[population]] tables (`tables`) whose names the brain's populations
 * take. */
void tb_spk_brain_check_pop_names(tb_schema_checker *c, const tb_spiking_scenario *s, const tb_toml_value *tables);
/* Monitors of the brain whose /monitors/<name> another monitor or a
 * record already takes (after the records are checked); and the lfp
 * monitors' variables in their populations' models. */
void tb_spk_brain_check_names(tb_schema_checker *c, const tb_spiking_scenario *s);
void tb_spk_brain_free(tb_spk_brain *b);
void tb_spk_wiring_free(tb_spk_wiring *w);
void tb_spk_brain_list_keys(tb_buf *b);

#endif
