/* Per-unit measures of the in-silico experiments (docs/twin.md gives the
 * definitions): vector-sum selectivity and a 2D Gaussian fit. */
#ifndef TWINBRAIN_TWIN_MEASURES_H
#define TWINBRAIN_TWIN_MEASURES_H

#include <stddef.h>

/* |sum r_k e^(i h theta_k)| / sum r_k and the angle of the sum divided by
 * h, in degrees in [0, 360 / h); both NaN when sum r_k <= 0. */
void tw_vector_sum(const double *r, const double *theta_deg, size_t n, int h, double *index, double *angle_deg);

typedef struct tw_gauss {
    double amplitude, x0, y0, sx, sy, offset;
} tw_gauss;

/* Least-squares fit (Levenberg-Marquardt) of offset + amplitude
 * exp(-(x - x0)^2 / (2 sx^2) - (y - y0)^2 / (2 sy^2)) to map[rows][cols],
 * cell (r, c) sitting at pixel (c sq + (sq - 1) / 2, r sq + (sq - 1) / 2).
 * Starts at the cell of largest |value|; all NaN for a map of zeros. */
tw_gauss tw_gauss_fit(const double *map, size_t rows, size_t cols, double sq);

#endif
