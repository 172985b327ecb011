/* A structural connectome: weights, tract lengths, labels and positions
 * (file format in docs/formats.md; row = target, column = source). */
#ifndef TWINBRAIN_CONNECTOME_H
#define TWINBRAIN_CONNECTOME_H

#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_connectome {
    size_t n;              /* regions */
    double *weights;       /* [n*n], weights[i*n + j]: from j to i */
    double *tract_lengths; /* [n*n] mm */
    char **labels;         /* [n] */
    double *centres;       /* [n*3] mm, or NULL */
    uint8_t *hemispheres;  /* [n], or NULL */
    char *weights_unit;    /* attribute, or NULL */
    char *description;     /* attribute, or NULL (e.g. how a synthetic one was made) */
} tb_connectome;

/* Read and check a connectome file: square matrices of matching size,
 * finite non-negative weights and lengths, labels present. Any problem is
 * TB_ERR_INPUT naming the file and the dataset. */
tb_status tb_connectome_read(const char *path, tb_connectome **out, tb_error *err);
tb_status tb_connectome_write(const tb_connectome *c, const char *path, tb_error *err);
void tb_connectome_free(tb_connectome *c);

/* Synthetic network: n region centres drawn in two ellipsoidal hemispheres,
 * edge probability and weight from the exponential distance rule
 * (p ~ exp(-lambda d), Ercsey-Ravasz et al. 2013), lengths = Euclidean
 * distance x `tortuosity`. Deterministic for a seed; documented in
 * docs/formats.md. */
typedef struct tb_connectome_recipe {
    size_t n;
    uint64_t seed;
    double lambda_per_mm; /* decay of the distance rule, default 0.08 /mm */
    double density;       /* target fraction of directed edges, default 0.3 */
    double tortuosity;    /* tract length / straight distance, default 1.2 */
} tb_connectome_recipe;

void tb_connectome_recipe_defaults(tb_connectome_recipe *r);
tb_status tb_connectome_generate(const tb_connectome_recipe *r, tb_connectome **out, tb_error *err);

/* Number of non-zero weights (edges) and their count over n*(n-1). */
size_t tb_connectome_edges(const tb_connectome *c);

#ifdef __cplusplus
}
#endif
#endif
