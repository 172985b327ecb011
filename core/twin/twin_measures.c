/* Measures of twin_measures.h. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "twin_measures.h"

void tw_vector_sum(const double *r, const double *theta_deg, size_t n, int h, double *index, double *angle_deg)
{
    double re = 0, im = 0, sum = 0;
    for (size_t k = 0; k < n; ++k) {
        double a = h * theta_deg[k] * M_PI / 180.0;
        re += r[k] * cos(a), im += r[k] * sin(a), sum += r[k];
    }
    if (!(sum > 0)) {
        *index = *angle_deg = NAN;
        return;
    }
    *index = hypot(re, im) / sum;
    double a = atan2(im, re) * 180.0 / M_PI / h, period = 360.0 / h;
    a = fmod(a, period);
    *angle_deg = a < 0 ? a + period : a;
}

#define NP 6

typedef struct grid {
    const double *z; /* the map, sign-flipped so the peak is positive */
    size_t rows, cols;
    double sq;
} grid;

static double px(const grid *g, size_t i)
{
    return (double)(i % g->cols) * g->sq + (g->sq - 1) / 2;
}

static double py(const grid *g, size_t i)
{
    return (double)(i / g->cols) * g->sq + (g->sq - 1) / 2;
}

/* Residuals' sum of squares at p; with jtj and jtr filled when asked. */
static double cost(const grid *g, const double *p, double jtj[NP][NP], double *jtr)
{
    double s = 0;
    if (jtj) {
        memset(jtj, 0, sizeof(double[NP][NP]));
        memset(jtr, 0, NP * sizeof *jtr);
    }
    for (size_t i = 0; i < g->rows * g->cols; ++i) {
        double dx = px(g, i) - p[1], dy = py(g, i) - p[2];
        double e = exp(-dx * dx / (2 * p[3] * p[3]) - dy * dy / (2 * p[4] * p[4]));
        double res = g->z[i] - (p[0] * e + p[5]);
        s += res * res;
        if (!jtj)
            continue;
        double j[NP] = {e, p[0] * e * dx / (p[3] * p[3]), p[0] * e * dy / (p[4] * p[4]),
                        p[0] * e * dx * dx / (p[3] * p[3] * p[3]), p[0] * e * dy * dy / (p[4] * p[4] * p[4]), 1};
        for (int a = 0; a < NP; ++a) {
            jtr[a] += j[a] * res;
            for (int b = 0; b < NP; ++b)
                jtj[a][b] += j[a] * j[b];
        }
    }
    return s;
}

/* Solve m d = v by elimination with partial pivoting; false if singular. */
static bool solve(double m[NP][NP], double *v, double *d)
{
    for (int c = 0; c < NP; ++c) {
        int best = c;
        for (int r = c + 1; r < NP; ++r)
            if (fabs(m[r][c]) > fabs(m[best][c]))
                best = r;
        if (!(fabs(m[best][c]) > 0))
            return false;
        for (int k = 0; k < NP; ++k) {
            double t = m[c][k];
            m[c][k] = m[best][k], m[best][k] = t;
        }
        double t = v[c];
        v[c] = v[best], v[best] = t;
        for (int r = c + 1; r < NP; ++r) {
            double f = m[r][c] / m[c][c];
            for (int k = c; k < NP; ++k)
                m[r][k] -= f * m[c][k];
            v[r] -= f * v[c];
        }
    }
    for (int r = NP - 1; r >= 0; --r) {
        double s = v[r];
        for (int k = r + 1; k < NP; ++k)
            s -= m[r][k] * d[k];
        d[r] = s / m[r][r];
    }
    return true;
}

static void levenberg_marquardt(const grid *g, double *p)
{
    double jtj[NP][NP], jtr[NP], lambda = 1e-3;
    double c = cost(g, p, jtj, jtr);
    for (int it = 0; it < 500 && lambda < 1e12; ++it) {
        double m[NP][NP], v[NP], d[NP], q[NP];
        memcpy(m, jtj, sizeof m);
        memcpy(v, jtr, sizeof v);
        for (int a = 0; a < NP; ++a)
            m[a][a] += lambda * (jtj[a][a] > 0 ? jtj[a][a] : 1);
        if (!solve(m, v, d)) {
            lambda *= 10;
            continue;
        }
        for (int a = 0; a < NP; ++a)
            q[a] = p[a] + d[a];
        double cq = q[3] != 0 && q[4] != 0 ? cost(g, q, NULL, NULL) : INFINITY;
        if (cq < c) {
            bool done = c - cq <= 1e-14 * c;
            memcpy(p, q, sizeof q);
            c = cost(g, p, jtj, jtr);
            lambda = lambda / 10 > 1e-12 ? lambda / 10 : 1e-12;
            if (done)
                break;
        } else {
            lambda *= 10;
        }
    }
}

tw_gauss tw_gauss_fit(const double *map, size_t rows, size_t cols, double sq)
{
    size_t n = rows * cols, peak = 0;
    for (size_t i = 1; i < n; ++i)
        if (fabs(map[i]) > fabs(map[peak]))
            peak = i;
    tw_gauss r = {NAN, NAN, NAN, NAN, NAN, NAN};
    if (n == 0 || !(fabs(map[peak]) > 0) || !isfinite(map[peak]))
        return r;
    double sign = map[peak] > 0 ? 1 : -1, *z = malloc(n * sizeof *z);
    if (!z)
        return r;
    for (size_t i = 0; i < n; ++i)
        z[i] = sign * map[i];
    grid g = {z, rows, cols, sq};
    double p[NP] = {z[peak], px(&g, peak), py(&g, peak), sq, sq, 0};
    levenberg_marquardt(&g, p);
    free(z);
    r = (tw_gauss){sign * p[0], p[1], p[2], fabs(p[3]), fabs(p[4]), sign * p[5]};
    return r;
}
