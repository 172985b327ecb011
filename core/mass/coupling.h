/* Long-range coupling functions of the neural-mass kit (internal).
 *
 * c_i = post( sum_j w_ij pre(h_j(t - d_ij), x_i(t)) ), TVB's form, split in
 * three OpenCL expressions so that the work that depends only on the source
 * is done once per source and step (when it enters the history) instead of
 * once per edge:
 *   hist  - what the history stores for channel k, from the source's
 *           coupled variables cv[0..]; NULL stores cv[k] itself;
 *   pre   - from the delayed history value h and the target's own value xi;
 *   post  - from the weighted sum `sum`.
 * Parameters appear in the expressions as cp_<name>. A function whose
 * channels combine after summation gives `post_all` instead: statements
 * that set c[k] from all the sums sum[] and the target's own values xi[]. */
#ifndef TWINBRAIN_COUPLING_H
#define TWINBRAIN_COUPLING_H

#include <stddef.h>

#include "twinbrain/plugin.h"

typedef struct tb_coupling_def {
    const char *name;
    const char *summary;
    const tb_param_info *params;
    size_t n_params;
    int channels; /* 0: one per coupled variable; otherwise this many */
    const char *hist;
    const char *pre;
    const char *post;
    const char *post_all;
    size_t coupled;     /* coupled variables it needs exactly (0: any number) */
    size_t min_coupled; /* coupled variables it needs at least */
} tb_coupling_def;

const tb_coupling_def *tb_coupling_find(const char *name);
size_t tb_coupling_count(void);
const tb_coupling_def *tb_coupling_at(size_t i);

#endif
