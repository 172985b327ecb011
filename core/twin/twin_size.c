/* The size_tuning experiment (docs/twin.md): every unit's own discs of
 * grating at its centre, its preferred radius and surround suppression. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_exec.h"
#include "twin_experiment_run.h"

/* Where unit u's discs go and which way their gratings drift. */
static void size_place(const tw_xrun *r, size_t u, double *cx, double *cy, double *dir)
{
    const tw_experiment *e = r->e;
    *cx = e->has_centre ? e->centre[0] : ((double)r->t->W - 1) / 2;
    *cy = e->has_centre ? e->centre[1] : ((double)r->t->H - 1) / 2;
    if (e->rf >= 0 && r->centre[e->rf])
        *cx = r->centre[e->rf][2 * u], *cy = r->centre[e->rf][2 * u + 1];
    *dir = e->direction;
    if (e->tuning >= 0 && r->dir[e->tuning] && isfinite(r->dir[e->tuning][u]))
        *dir = r->dir[e->tuning][u];
}

static tb_status size_write(tw_xrun *r, const double *resp, const double *place, tb_output *out, tb_error *err)
{
    size_t U = r->t->units, R = r->e->radii.n;
    double *m = malloc((2 * U + 1) * sizeof *m), *centre = malloc((2 * U + 1) * sizeof *centre);
    double *dir = malloc((U + 1) * sizeof *dir);
    tb_status st = m && centre && dir ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t u = 0; st == TB_OK && u < U; ++u) {
        size_t best = 0;
        for (size_t j = 1; j < R; ++j)
            if (resp[u * R + j] > resp[u * R + best])
                best = j;
        double top = resp[u * R + best], last = resp[u * R + R - 1];
        m[u] = r->e->radii.v[best];
        m[U + u] = top > 0 ? (top - last) / top : NAN;
        centre[2 * u] = place[3 * u], centre[2 * u + 1] = place[3 * u + 1], dir[u] = place[3 * u + 2];
    }
    uint64_t dr[1] = {R}, d_resp[2] = {U, R}, d2[2] = {U, 2}, du[1] = {U};
    st = st ? st : tw_xrun_write(r, out, "radii", TB_F64, 1, dr, r->e->radii.v, err);
    st = st ? st : tw_xrun_write(r, out, "responses", TB_F64, 2, d_resp, resp, err);
    st = st ? st : tw_xrun_write(r, out, "centre", TB_F64, 2, d2, centre, err);
    st = st ? st : tw_xrun_write(r, out, "direction", TB_F64, 1, du, dir, err);
    st = st ? st : tw_xrun_write(r, out, "preferred_radius", TB_F64, 1, du, m, err);
    st = st ? st : tw_xrun_write(r, out, "ssi", TB_F64, 1, du, m + U, err);
    st = st ? st : tb_output_attr_int(out, r->group, "window", (int64_t)r->e->window, err);
    st = st ? st : tb_output_attr_double(out, r->group, "spatial_frequency", r->e->sf.v[0], err);
    st = st ? st : tb_output_attr_double(out, r->group, "temporal_frequency", r->e->tf.v[0], err);
    st = st ? st : tb_output_attr_double(out, r->group, "contrast", r->e->contrast, err);
    free(m);
    free(centre);
    free(dir);
    return st;
}

/* Every unit sees its own discs: conditions (unit, radius), unit-major;
 * of each instance's responses only its unit's is kept. */
tb_status tw_size_tuning(tw_xrun *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    size_t U = r->t->units, R = e->radii.n, n = U * R;
    double *resp = malloc((n + 1) * sizeof *resp), *place = malloc((3 * U + 1) * sizeof *place);
    double *pv = calloc(r->B * 8, sizeof *pv), *mean = malloc((r->B * U + 1) * sizeof *mean);
    cl_mem params = NULL;
    tb_status st = resp && place && pv && mean ? tw_xrun_grating_setup(r, 8, &params, err)
                                               : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t u = 0; st == TB_OK && u < U; ++u)
        size_place(r, u, &place[3 * u], &place[3 * u + 1], &place[3 * u + 2]);
    for (size_t k0 = 0; st == TB_OK && k0 < n; k0 += r->B) {
        size_t active = n - k0 < r->B ? n - k0 : r->B;
        for (size_t b = 0; b < active; ++b) {
            size_t u = (k0 + b) / R, j = (k0 + b) % R;
            double th = place[3 * u + 2] * M_PI / 180.0, *q = pv + 8 * b;
            q[0] = e->sf.v[0] * cos(th), q[1] = e->sf.v[0] * sin(th), q[2] = e->tf.v[0], q[3] = e->contrast;
            q[4] = place[3 * u], q[5] = place[3 * u + 1], q[6] = e->radii.v[j], q[7] = 0;
        }
        st = tw_xrun_gratings(r, params, pv, 8, active, mean, err);
        for (size_t b = 0; st == TB_OK && b < active; ++b)
            resp[k0 + b] = mean[b * U + (k0 + b) / R];
    }
    st = st ? st : size_write(r, resp, place, out, err);
    if (params)
        clReleaseMemObject(params);
    free(resp);
    free(place);
    free(pv);
    free(mean);
    return st;
}
