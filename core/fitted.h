/* The final estimate of a fit (fitted.c): what a free run on a fitted
 * brain takes from the output of a run with [assimilation]. */
#ifndef TWINBRAIN_FITTED_H
#define TWINBRAIN_FITTED_H

#include <stdbool.h>
#include <stddef.h>

#include "twinbrain/error.h"
#include "twinbrain/toml.h"

typedef struct tb_fitted {
    char *parameter;     /* /assimilation's attribute `parameter` */
    double *values;      /* per region: /assimilation/mean's last row */
    size_t n;            /* regions */
    char **labels;       /* /assimilation/region_labels, or NULL when the file has none */
    char *populations;   /* /assimilation's attribute `populations`, or NULL */
} tb_fitted;

/* Reads `path`; a file that is not a fit's output is TB_ERR_INPUT. */
tb_status tb_fitted_read(const char *path, tb_fitted *f, tb_error *err);
void tb_fitted_free(tb_fitted *f);
/* The first of n regions whose fitted label differs from the
 * connectome's (n when they all agree, or when the fit has none): a free
 * run checks it runs on the regions the fit estimated, in their order. */
size_t tb_fitted_other_region(char *const *fitted, char *const *labels, size_t n);
/* The values as a TOML array, every element placed at pos. */
tb_toml_value *tb_fitted_array(const tb_fitted *f, tb_toml_pos pos);
/* Whether v is exactly the fitted values (a resolved scenario read back:
 * `check --print`, the scenario a resumed run reads from its output). */
bool tb_fitted_same(const tb_fitted *f, const tb_toml_value *v);

#endif
