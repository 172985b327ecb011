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
    /* Kept from The Virtual Brain's files when present; the engine does not use them. */
    double *areas;         /* [n] mm^2, or NULL */
    uint8_t *cortical;     /* [n] 1 = cortical region, 0 = not, or NULL */
    double *orientations;  /* [n*3] average orientation per region, or NULL */
} tb_connectome;

/* Read and check a connectome file: square matrices of matching size,
 * finite non-negative weights and lengths, labels present. Any problem is
 * TB_ERR_INPUT naming the file and the dataset. A file without
 * /region_labels is accepted, with the labels region_000, region_001, ...
 * (the row index). */
tb_status tb_connectome_read(const char *path, tb_connectome **out, tb_error *err);
/* Writes the layout above (matrices gzip-compressed, no timestamps: the same
 * connectome gives the same bytes); an invalid connectome (see
 * tb_connectome_check) is refused. */
tb_status tb_connectome_write(const tb_connectome *c, const char *path, tb_error *err);
void tb_connectome_free(tb_connectome *c);

/* n regions: zeroed weights and tract_lengths, labels all NULL, none of the
 * optional arrays; NULL when out of memory or n == 0. */
tb_connectome *tb_connectome_new(size_t n);

/* Name every region that has no label yet region_000, region_001, ... (its
 * row index): the names tb_connectome_read gives a file without
 * /region_labels. TB_ERR_OTHER when out of memory. */
tb_status tb_connectome_fill_labels(tb_connectome *c);

/* What tb_connectome_read checks, for a connectome built in memory (an
 * importer's): labels present, weights and tract lengths finite and not
 * negative, centres and orientations finite, areas finite and not negative,
 * hemispheres and cortical 0 or 1. TB_ERR_INPUT naming the
 * dataset and the first offending element, e.g. "/weights[3,5] = nan: ...". */
tb_status tb_connectome_check(const tb_connectome *c, tb_error *err);

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

/* n = 246 (the Brainnetome atlas), seed 0, and the defaults above. */
void tb_connectome_recipe_defaults(tb_connectome_recipe *r);
tb_status tb_connectome_generate(const tb_connectome_recipe *r, tb_connectome **out, tb_error *err);

/* Number of non-zero weights (edges) and their count over n*(n-1). The
 * diagonal (self-connections) is not counted. */
size_t tb_connectome_edges(const tb_connectome *c);
double tb_connectome_density(const tb_connectome *c);

#ifdef __cplusplus
}
#endif
#endif
