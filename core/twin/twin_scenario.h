/* The twin kit's scenario sections: [twin] (the network, the batch) and
 * [twin.input] (the frames shown: a file, or generated stimuli). */
#ifndef TWINBRAIN_TWIN_SCENARIO_H
#define TWINBRAIN_TWIN_SCENARIO_H

#include "schema.h"
#include "twin_experiment.h"
#include "twinbrain/scenario.h"

typedef enum tw_stim_kind { TW_STIM_FILE, TW_STIM_GRATINGS, TW_STIM_BLANK } tw_stim_kind;

typedef struct tw_scenario {
    char *network;       /* resolved path */
    char *input_name;    /* graph input taking the frames; NULL: the first */
    char *output_name;   /* graph output written; NULL: the first */
    size_t batch;
    tw_stim_kind kind;
    char *file, *dataset; /* kind file */
    double scale, offset; /* file: value = raw x scale + offset; scale NaN: by type */
    double mean, amplitude, period, cycles_per_frame; /* gratings, blank */
    double *directions;  /* degrees, one per instance */
    tw_experiments exps; /* [[experiment]] */
} tw_scenario;

#define TW_N_SECTIONS 2
extern const tb_key_spec tw_sections[TW_N_SECTIONS];

void tw_check_scenario(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg);
void tw_free_scenario(void *kit_data);
void tw_list_keys(tb_buf *b);

#endif
