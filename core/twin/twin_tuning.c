/* The orientation_tuning experiment (docs/twin.md): drifting gratings
 * over directions x spatial and temporal frequencies x contrasts, the
 * vector-sum measures at each unit's best condition. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_exec.h"
#include "twin_experiment_run.h"
#include "twin_measures.h"

typedef struct tuning {
    size_t D, S, T, C, n; /* n = S T C D conditions, direction fastest */
    double *theta, *resp; /* resp [n][units] */
} tuning;

static void condition(const tw_experiment *e, const tuning *g, size_t k, double *p)
{
    size_t d = k % g->D, c = k / g->D % g->C, t = k / (g->D * g->C) % g->T, s = k / (g->D * g->C * g->T);
    double th = g->theta[d] * M_PI / 180.0;
    p[0] = e->sf.v[s] * cos(th), p[1] = e->sf.v[s] * sin(th), p[2] = e->tf.v[t], p[3] = e->contrasts.v[c];
}

static tb_status tuning_batch(tw_xrun *r, tuning *g, size_t k0, cl_mem params, tb_error *err)
{
    size_t active = g->n - k0 < r->B ? g->n - k0 : r->B;
    double *pv = calloc(r->B * 4, sizeof *pv);
    if (!pv)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t b = 0; b < active; ++b)
        condition(r->e, g, k0 + b, pv + 4 * b);
    tb_status st = tw_xrun_gratings(r, params, pv, 4, active, g->resp + k0 * r->t->units, err);
    free(pv);
    return st;
}

static tb_status tuning_write(tw_xrun *r, const tuning *g, tb_output *out, tb_error *err)
{
    size_t U = r->t->units, D = g->D, per = g->n / D;
    r->dir[r->index] = malloc((U + 1) * sizeof **r->dir);
    double *resp = malloc((g->n * U + 1) * sizeof *resp), *curve = malloc((U * D + 1) * sizeof *curve);
    double *m = malloc((4 * U + 1) * sizeof *m);
    int64_t *best = malloc((3 * U + 1) * sizeof *best);
    tb_status st = resp && curve && m && best ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t u = 0; st == TB_OK && u < U; ++u) {
        size_t bc = 0;
        double bm = -INFINITY;
        for (size_t c = 0; c < per; ++c) {
            double s = 0;
            for (size_t d = 0; d < D; ++d)
                s += resp[u * g->n + c * D + d] = g->resp[(c * D + d) * U + u];
            if (s > bm)
                bm = s, bc = c;
        }
        for (size_t d = 0; d < D; ++d)
            curve[u * D + d] = g->resp[(bc * D + d) * U + u];
        best[3 * u] = (int64_t)(bc / (g->C * g->T)), best[3 * u + 1] = (int64_t)(bc / g->C % g->T);
        best[3 * u + 2] = (int64_t)(bc % g->C);
        tw_vector_sum(curve + u * D, g->theta, D, 1, &m[u], &m[U + u]);
        if (r->dir[r->index])
            r->dir[r->index][u] = m[U + u];
        tw_vector_sum(curve + u * D, g->theta, D, 2, &m[2 * U + u], &m[3 * U + u]);
    }
    uint64_t d1[1] = {D}, d_resp[5] = {U, g->S, g->T, g->C, D}, d_curve[2] = {U, D}, d_best[2] = {U, 3}, du[1] = {U};
    uint64_t ds[1] = {g->S}, dt[1] = {g->T}, dc[1] = {g->C};
    st = st ? st : tw_xrun_write(r, out, "directions", TB_F64, 1, d1, g->theta, err);
    st = st ? st : tw_xrun_write(r, out, "spatial_frequencies", TB_F64, 1, ds, r->e->sf.v, err);
    st = st ? st : tw_xrun_write(r, out, "temporal_frequencies", TB_F64, 1, dt, r->e->tf.v, err);
    st = st ? st : tw_xrun_write(r, out, "contrasts", TB_F64, 1, dc, r->e->contrasts.v, err);
    st = st ? st : tw_xrun_write(r, out, "responses", TB_F64, 5, d_resp, resp, err);
    st = st ? st : tw_xrun_write(r, out, "tuning", TB_F64, 2, d_curve, curve, err);
    st = st ? st : tw_xrun_write(r, out, "best", TB_I64, 2, d_best, best, err);
    st = st ? st : tw_xrun_write(r, out, "dsi", TB_F64, 1, du, m, err);
    st = st ? st : tw_xrun_write(r, out, "preferred_direction", TB_F64, 1, du, m + U, err);
    st = st ? st : tw_xrun_write(r, out, "osi", TB_F64, 1, du, m + 2 * U, err);
    st = st ? st : tw_xrun_write(r, out, "preferred_orientation", TB_F64, 1, du, m + 3 * U, err);
    st = st ? st : tb_output_attr_int(out, r->group, "window", (int64_t)r->e->window, err);
    free(resp);
    free(curve);
    free(m);
    free(best);
    return st;
}

tb_status tw_orientation_tuning(tw_xrun *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    tuning g = {e->directions, e->sf.n, e->tf.n, e->contrasts.n, 0, NULL, NULL};
    g.n = g.S * g.T * g.C * g.D;
    g.theta = malloc(g.D * sizeof *g.theta);
    g.resp = malloc(g.n * r->t->units * sizeof *g.resp + 1);
    cl_mem params = NULL;
    tb_status st = !g.theta || !g.resp ? tb_error_set(err, TB_ERR_OTHER, "out of memory")
                                       : tw_xrun_grating_setup(r, 4, &params, err);
    for (size_t d = 0; st == TB_OK && d < g.D; ++d)
        g.theta[d] = 360.0 * (double)d / (double)g.D;
    for (size_t k0 = 0; st == TB_OK && k0 < g.n; k0 += r->B)
        st = tuning_batch(r, &g, k0, params, err);
    st = st ? st : tuning_write(r, &g, out, err);
    if (params)
        clReleaseMemObject(params);
    free(g.theta);
    free(g.resp);
    return st;
}
