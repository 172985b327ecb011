/* The receptive_field experiment (docs/twin.md): sparse or white noise
 * drawn on the device from a hash the host recomputes, mean-subtracted
 * spike-triggered averages per square, their peak and a 2D Gaussian fit. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_exec.h"
#include "twin_experiment_run.h"
#include "twin_measures.h"

typedef struct rf {
    size_t rows, cols, n; /* the grid */
    uint64_t off, on;     /* 53-bit thresholds */
    double *srv, *sv, *sa, *sr, count;
    double *cells; /* the pattern's squares: -1, 0, 1 (sparse) or N(0, 1) draws (white) */
} rf;

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The pattern instance b saw, as kernels/twin_experiment.cl draws it. */
static void pattern_cells(const tw_xrun *r, const rf *g, uint64_t b, uint64_t pattern)
{
    uint64_t z0 = mix64(mix64(mix64(r->e->seed) ^ b) ^ pattern);
    for (size_t c = 0; c < g->n; ++c) {
        uint64_t h = mix64(z0 ^ (uint64_t)c), z = h >> 11;
        if (r->e->white) {
            double u1 = ((double)z + 1) * 0x1p-53, u2 = (double)(mix64(h) >> 11) * 0x1p-53;
            g->cells[c] = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        } else
            g->cells[c] = z < g->off ? -1 : z < g->on ? 1 : 0;
    }
}

static void rf_accumulate(const tw_xrun *r, rf *g, size_t slot, uint64_t f)
{
    size_t U = r->t->units;
    uint64_t pattern = (f - r->e->lag) / r->e->hold;
    for (size_t b = 0; b < r->B; ++b) {
        pattern_cells(r, g, b, pattern);
        for (size_t u = 0; u < U; ++u)
            g->sr[u] += tw_xrun_at(r, slot, b, u);
        g->count += 1;
        for (size_t c = 0; c < g->n; ++c) {
            if (!g->cells[c])
                continue;
            double v = g->cells[c];
            g->sv[c] += v, g->sa[c] += v * v;
            for (size_t u = 0; u < U; ++u)
                g->srv[u * g->n + c] += tw_xrun_at(r, slot, b, u) * v;
        }
    }
}

static tb_status rf_frames(tw_xrun *r, rf *g, tb_error *err)
{
    const tw_experiment *e = r->e;
    uint64_t total = e->burn_in + e->frames, chunk0 = 0;
    size_t used = 0;
    tb_status st = tw_exec_reset_state(r->t->x, err);
    r->frames += (double)total * (double)r->B;
    for (uint64_t f = 0; st == TB_OK && f < total; ++f) {
        cl_ulong pattern = f / e->hold;
        cl_int rc = tw_xrun_arg(r, 9, sizeof pattern, &pattern);
        bool counted = f >= e->burn_in && f >= e->lag;
        if (counted && used == 0)
            chunk0 = f;
        st = rc == CL_SUCCESS ? tw_xrun_frame(r, counted ? (long)used : -1, err)
                              : tb_cl_fail(err, rc, "setting a pattern");
        used += counted;
        if (st || (used < r->host_frames && f + 1 < total))
            continue;
        st = tw_xrun_finish(r, err);
        st = st ? st : tw_xrun_check_finite(r, used, r->B, err);
        for (size_t s = 0; st == TB_OK && s < used; ++s)
            rf_accumulate(r, g, s, chunk0 + s);
        used = 0;
    }
    return st;
}

static tb_status rf_write(tw_xrun *r, const rf *g, tb_output *out, tb_error *err)
{
    size_t U = r->t->units, n = g->n;
    double *sta = malloc((U * n + 1) * sizeof *sta), *m = malloc((9 * U + 1) * sizeof *m);
    tb_status st = sta && m ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    double sq = (double)r->e->square, *kept = r->centre[r->index] = malloc((2 * U + 1) * sizeof *kept);
    for (size_t u = 0; st == TB_OK && u < U; ++u) {
        double mean = g->count > 0 ? g->sr[u] / g->count : 0;
        size_t peak = 0;
        for (size_t c = 0; c < n; ++c) {
            double *v = &sta[u * n + c];
            *v = g->sa[c] > 0 ? (g->srv[u * n + c] - mean * g->sv[c]) / g->sa[c] : 0;
            if (fabs(*v) > fabs(sta[u * n + peak]))
                peak = c;
        }
        tw_gauss fit = tw_gauss_fit(sta + u * n, g->rows, g->cols, sq);
        m[2 * u] = (double)(peak % g->cols) * sq + (sq - 1) / 2,
              m[2 * u + 1] = (double)(peak / g->cols) * sq + (sq - 1) / 2;
        m[2 * U + u] = sta[u * n + peak];
        m[3 * U + 2 * u] = fit.x0, m[3 * U + 2 * u + 1] = fit.y0;
        m[5 * U + 2 * u] = fit.sx, m[5 * U + 2 * u + 1] = fit.sy;
        m[7 * U + u] = fit.amplitude, m[8 * U + u] = fit.offset;
        /* size_tuning centres its discs here: the fit, or the peak when
         * the fit has nothing to go on */
        bool fitted = isfinite(fit.x0) && isfinite(fit.y0);
        for (int k = 0; kept && k < 2; ++k)
            kept[2 * u + k] = fitted ? m[3 * U + 2 * u + k] : m[2 * u + k];
    }
    uint64_t d_sta[3] = {U, g->rows, g->cols}, d2[2] = {U, 2}, du[1] = {U};
    st = st ? st : tw_xrun_write(r, out, "sta", TB_F64, 3, d_sta, sta, err);
    st = st ? st : tw_xrun_write(r, out, "peak", TB_F64, 2, d2, m, err);
    st = st ? st : tw_xrun_write(r, out, "peak_value", TB_F64, 1, du, m + 2 * U, err);
    st = st ? st : tw_xrun_write(r, out, "centre", TB_F64, 2, d2, m + 3 * U, err);
    st = st ? st : tw_xrun_write(r, out, "sigma", TB_F64, 2, d2, m + 5 * U, err);
    st = st ? st : tw_xrun_write(r, out, "amplitude", TB_F64, 1, du, m + 7 * U, err);
    st = st ? st : tw_xrun_write(r, out, "offset", TB_F64, 1, du, m + 8 * U, err);
    const tw_experiment *e = r->e;
    st = st ? st : tb_output_attr_int(out, r->group, "square", e->square, err);
    st = st ? st : tb_output_attr_string(out, r->group, "noise", e->white ? "white" : "sparse", err);
    if (!e->white)
        st = st ? st : tb_output_attr_double(out, r->group, "density", e->density, err);
    st = st ? st : tb_output_attr_double(out, r->group, "contrast", e->contrast, err);
    st = st ? st : tb_output_attr_int(out, r->group, "frames", (int64_t)e->frames, err);
    st = st ? st : tb_output_attr_int(out, r->group, "hold", (int64_t)e->hold, err);
    st = st ? st : tb_output_attr_int(out, r->group, "lag", (int64_t)e->lag, err);
    st = st ? st : tb_output_attr_int(out, r->group, "seed", (int64_t)e->seed, err);
    st = st ? st : tb_output_attr_int(out, r->group, "instances", (int64_t)r->B, err);
    free(sta);
    free(m);
    return st;
}

tb_status tw_receptive_field(tw_xrun *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    size_t U = r->t->units, sq = (size_t)e->square;
    rf g = {r->t->H / sq, r->t->W / sq, 0, 0, 0, NULL, NULL, NULL, NULL, 0, NULL};
    g.n = g.rows * g.cols;
    g.off = (uint64_t)floor(e->density / 2 * 9007199254740992.0);
    g.on = (uint64_t)floor(e->density * 9007199254740992.0);
    g.srv = calloc(U * g.n + 1, sizeof *g.srv), g.sv = calloc(g.n + 1, sizeof *g.sv);
    g.sa = calloc(g.n + 1, sizeof *g.sa), g.sr = calloc(U + 1, sizeof *g.sr);
    g.cells = calloc(g.n + 1, sizeof *g.cells);
    r->host_frames = 64;
    r->host = malloc(r->host_frames * r->B * U * r->rs + 1);
    tb_status st = g.srv && g.sv && g.sa && g.sr && g.cells && r->host
                       ? TB_OK
                       : tb_error_set(err, TB_ERR_OTHER, "out of memory for experiment '%s'", e->name);
    cl_mem in = tw_exec_input_mem(r->t->x, r->t->in_k);
    cl_long xs = (cl_long)(r->t->H * r->t->W);
    cl_int H = (cl_int)r->t->H, W = (cl_int)r->t->W, isq = (cl_int)sq, rows = (cl_int)g.rows, cols = (cl_int)g.cols;
    cl_ulong seed = e->seed, b0 = 0, off = g.off, on = g.on;
    cl_int white = e->white;
    if (st == TB_OK) {
        cl_int rc = tw_xrun_arg(r, 0, sizeof in, &in) | tw_xrun_arg(r, 1, sizeof xs, &xs) |
                    tw_xrun_arg(r, 2, sizeof H, &H) | tw_xrun_arg(r, 3, sizeof W, &W) |
                    tw_xrun_arg(r, 4, sizeof isq, &isq) | tw_xrun_arg(r, 5, sizeof rows, &rows) |
                    tw_xrun_arg(r, 6, sizeof cols, &cols) | tw_xrun_arg(r, 7, sizeof seed, &seed) |
                    tw_xrun_arg(r, 8, sizeof b0, &b0) | tw_xrun_arg(r, 10, sizeof off, &off) |
                    tw_xrun_arg(r, 11, sizeof on, &on) | tw_xrun_arg_real(r, 12, e->mean) |
                    tw_xrun_arg_real(r, 13, e->contrast) | tw_xrun_arg(r, 14, sizeof white, &white);
        st = rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, CL_INVALID_KERNEL_ARGS, "setting the sparse-noise kernel");
    }
    st = st ? st : rf_frames(r, &g, err);
    st = st ? st : rf_write(r, &g, out, err);
    free(g.srv);
    free(g.sv);
    free(g.sa);
    free(g.sr);
    free(g.cells);
    return st;
}
