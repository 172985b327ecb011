/* Scores of a twin against recorded responses to repeated test stimuli
 * (`twinbrain twin score`; definitions and references in docs/twin.md). */
#ifndef TWINBRAIN_TWIN_SCORE_H
#define TWINBRAIN_TWIN_SCORE_H

#include <stddef.h>

#include "twinbrain/error.h"

enum { TW_SCORE_SINGLE, TW_SCORE_AVERAGE, TW_SCORE_FEV, TW_SCORE_FEVE, TW_SCORE_CC_ABS, TW_SCORE_CC_MAX,
       TW_SCORE_CC_NORM, TW_N_SCORES };
extern const char *const tw_score_names[TW_N_SCORES];

typedef struct tw_score_shape {
    size_t stimuli, repeats, frames, units, burn_in;
} tw_score_shape;

/* r [stimuli][repeats][frames][units], p [stimuli][frames][units]; the
 * first burn_in frames of every stimulus are left out. out[TW_N_SCORES]
 * arrays of `units` each (NaN where a measure is undefined; FEVE also
 * where FEV < fev_min). */
void tw_score(const double *r, const double *p, const tw_score_shape *sh, double fev_min, double **out);

/* twinbrain twin score (core/twin/cli_twin_score.c). */
int tw_cli_score(int argc, char **argv);

#endif
