/* Running [[experiment]]s (twin_experiment.h): stimuli drawn by
 * kernels/twin_experiment.cl into the network's frame input, batches of
 * twin.batch stimuli, responses read back per frame and reduced on the
 * host to the per-unit measures of twin_measures.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_exec.h"
#include "twin_experiment.h"
#include "twin_measures.h"
#include "twinbrain/opencl.h"
#include "util.h"

typedef struct run {
    const tw_exp_target *t;
    const tw_experiment *e;
    tb_program *prog;
    cl_kernel k;
    size_t B, rs;
    char *host; /* frames x B x units reals read back */
    size_t host_frames;
    char group[320];
    size_t index;    /* of the experiment running */
    double **centre; /* per experiment: receptive_field centres [U][2] */
    double **dir;    /* per experiment: orientation_tuning preferred directions [U] */
    double frames;   /* stimulus frames run (instances that held a condition) */
} run;

static cl_int arg(run *r, cl_uint i, size_t size, const void *v)
{
    return clSetKernelArg(r->k, i, size, v);
}

static cl_int arg_real(run *r, cl_uint i, double v)
{
    float f = (float)v;
    return r->rs == sizeof(double) ? arg(r, i, sizeof v, &v) : arg(r, i, sizeof f, &f);
}

static double host_at(const run *r, size_t frame, size_t b, size_t u)
{
    size_t i = (frame * r->B + b) * r->t->units + u;
    return r->rs == sizeof(double) ? ((double *)r->host)[i] : ((float *)r->host)[i];
}

/* Enqueue one frame through the network; its response lands in the host
 * buffer at row `slot` when slot >= 0. */
static tb_status frame(run *r, long slot, tb_error *err)
{
    const tw_exp_target *t = r->t;
    cl_command_queue q = tb_device_queue(t->dev);
    size_t gs[2] = {t->H * t->W, r->B};
    cl_int rc = clEnqueueNDRangeKernel(q, r->k, 2, NULL, gs, NULL, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "drawing an experiment's stimuli");
    tb_status st = tw_exec_run(t->x, err);
    if (st || slot < 0)
        return st;
    return tw_exec_read_output(t->x, t->out_k, r->host + (size_t)slot * r->B * t->units * r->rs, NULL, err);
}

static tb_status finish_queue(run *r, tb_error *err)
{
    cl_int rc = clFinish(tb_device_queue(r->t->dev));
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "running an experiment");
}

static tb_status check_finite(const run *r, size_t frames, size_t active, tb_error *err)
{
    for (size_t f = 0; f < frames; ++f)
        for (size_t b = 0; b < active; ++b)
            for (size_t u = 0; u < r->t->units; ++u) {
                double v = host_at(r, f, b, u);
                if (!isfinite(v))
                    return tb_error_set(err, TB_ERR_DIVERGED,
                                        "experiment '%s': the twin's response is %g (instance %zu, unit %zu, output "
                                        "'%s')",
                                        r->e->name, v, b, u, r->t->output_name);
            }
    return TB_OK;
}

static tb_status write(run *r, tb_output *out, const char *leaf, tb_dtype type, int rank, const uint64_t *dims,
                       const void *data, tb_error *err)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", r->group, leaf);
    return tb_output_write_array(out, path, type, rank, dims, data, err);
}

/* ------------------------------------------------------------ orientation tuning */

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

/* Run `active` conditions (their np parameters per instance in pv, doubles)
 * from the zero state through burn_in + window frames; mean[b][u] gets
 * each instance's mean response over the window. */
static tb_status grating_batch(run *r, cl_mem params, const double *pv, size_t np, size_t active, double *mean,
                               tb_error *err)
{
    const tw_experiment *e = r->e;
    size_t units = r->t->units;
    char *dev = calloc(r->B * np, r->rs);
    if (!dev)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t j = 0; j < active * np; ++j) {
        if (r->rs == sizeof(double))
            ((double *)dev)[j] = pv[j];
        else
            ((float *)dev)[j] = (float)pv[j];
    }
    cl_command_queue q = tb_device_queue(r->t->dev);
    cl_int rc = clEnqueueWriteBuffer(q, params, CL_TRUE, 0, r->B * np * r->rs, dev, 0, NULL, NULL);
    free(dev);
    tb_status st = rc == CL_SUCCESS ? tw_exec_reset_state(r->t->x, err) : tb_cl_fail(err, rc, "uploading gratings");
    for (uint64_t f = 0; st == TB_OK && f < e->burn_in + e->window; ++f) {
        cl_long t = (cl_long)f;
        rc = arg(r, 5, sizeof t, &t);
        st = rc == CL_SUCCESS ? frame(r, f >= e->burn_in ? (long)(f - e->burn_in) : -1, err)
                              : tb_cl_fail(err, rc, "setting a grating's frame");
    }
    st = st ? st : finish_queue(r, err);
    st = st ? st : check_finite(r, e->window, active, err);
    r->frames += (double)(e->burn_in + e->window) * (double)active;
    for (size_t b = 0; st == TB_OK && b < active; ++b)
        for (size_t u = 0; u < units; ++u) {
            double s = 0;
            for (uint64_t f = 0; f < e->window; ++f)
                s += host_at(r, f, b, u);
            mean[b * units + u] = s / (double)e->window;
        }
    return st;
}

/* The grating kernels' fixed arguments and a parameter buffer of np reals
 * per instance. */
static tb_status grating_setup(run *r, size_t np, cl_mem *params, tb_error *err)
{
    cl_int rc = CL_SUCCESS;
    *params = clCreateBuffer(tb_device_context(r->t->dev), CL_MEM_READ_ONLY, r->B * np * r->rs, NULL, &rc);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "allocating grating parameters");
    r->host_frames = r->e->window;
    r->host = malloc(r->e->window * r->B * r->t->units * r->rs + 1);
    if (!r->host)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    cl_mem in = tw_exec_input_mem(r->t->x, r->t->in_k);
    cl_long xs = (cl_long)(r->t->H * r->t->W);
    cl_int H = (cl_int)r->t->H, W = (cl_int)r->t->W;
    rc = arg(r, 0, sizeof in, &in) | arg(r, 1, sizeof xs, &xs) | arg(r, 2, sizeof H, &H) | arg(r, 3, sizeof W, &W) |
         arg(r, 4, sizeof *params, params) | arg_real(r, 6, r->e->mean);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, CL_INVALID_KERNEL_ARGS, "setting the grating kernel");
}

static tb_status tuning_batch(run *r, tuning *g, size_t k0, cl_mem params, tb_error *err)
{
    size_t active = g->n - k0 < r->B ? g->n - k0 : r->B;
    double *pv = calloc(r->B * 4, sizeof *pv);
    if (!pv)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t b = 0; b < active; ++b)
        condition(r->e, g, k0 + b, pv + 4 * b);
    tb_status st = grating_batch(r, params, pv, 4, active, g->resp + k0 * r->t->units, err);
    free(pv);
    return st;
}

static tb_status tuning_write(run *r, const tuning *g, tb_output *out, tb_error *err)
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
    st = st ? st : write(r, out, "directions", TB_F64, 1, d1, g->theta, err);
    st = st ? st : write(r, out, "spatial_frequencies", TB_F64, 1, ds, r->e->sf.v, err);
    st = st ? st : write(r, out, "temporal_frequencies", TB_F64, 1, dt, r->e->tf.v, err);
    st = st ? st : write(r, out, "contrasts", TB_F64, 1, dc, r->e->contrasts.v, err);
    st = st ? st : write(r, out, "responses", TB_F64, 5, d_resp, resp, err);
    st = st ? st : write(r, out, "tuning", TB_F64, 2, d_curve, curve, err);
    st = st ? st : write(r, out, "best", TB_I64, 2, d_best, best, err);
    st = st ? st : write(r, out, "dsi", TB_F64, 1, du, m, err);
    st = st ? st : write(r, out, "preferred_direction", TB_F64, 1, du, m + U, err);
    st = st ? st : write(r, out, "osi", TB_F64, 1, du, m + 2 * U, err);
    st = st ? st : write(r, out, "preferred_orientation", TB_F64, 1, du, m + 3 * U, err);
    st = st ? st : tb_output_attr_int(out, r->group, "window", (int64_t)r->e->window, err);
    free(resp);
    free(curve);
    free(m);
    free(best);
    return st;
}

static tb_status orientation_tuning(run *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    tuning g = {e->directions, e->sf.n, e->tf.n, e->contrasts.n, 0, NULL, NULL};
    g.n = g.S * g.T * g.C * g.D;
    g.theta = malloc(g.D * sizeof *g.theta);
    g.resp = malloc(g.n * r->t->units * sizeof *g.resp + 1);
    cl_mem params = NULL;
    tb_status st = !g.theta || !g.resp ? tb_error_set(err, TB_ERR_OTHER, "out of memory")
                                       : grating_setup(r, 4, &params, err);
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

/* ------------------------------------------------------------ receptive field */

typedef struct rf {
    size_t rows, cols, n; /* the grid */
    uint64_t off, on;     /* 53-bit thresholds */
    double *srv, *sv, *sa, *sr, count;
    signed char *cells;
} rf;

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The pattern instance b saw, as kernels/twin_experiment.cl draws it. */
static void pattern_cells(const run *r, const rf *g, uint64_t b, uint64_t pattern)
{
    uint64_t z0 = mix64(mix64(mix64(r->e->seed) ^ b) ^ pattern);
    for (size_t c = 0; c < g->n; ++c) {
        uint64_t z = mix64(z0 ^ (uint64_t)c) >> 11;
        g->cells[c] = (signed char)(z < g->off ? -1 : z < g->on ? 1 : 0);
    }
}

static void rf_accumulate(const run *r, rf *g, size_t slot, uint64_t f)
{
    size_t U = r->t->units;
    uint64_t pattern = (f - r->e->lag) / r->e->hold;
    for (size_t b = 0; b < r->B; ++b) {
        pattern_cells(r, g, b, pattern);
        for (size_t u = 0; u < U; ++u)
            g->sr[u] += host_at(r, slot, b, u);
        g->count += 1;
        for (size_t c = 0; c < g->n; ++c) {
            if (!g->cells[c])
                continue;
            double v = g->cells[c];
            g->sv[c] += v, g->sa[c] += 1;
            for (size_t u = 0; u < U; ++u)
                g->srv[u * g->n + c] += host_at(r, slot, b, u) * v;
        }
    }
}

static tb_status rf_frames(run *r, rf *g, tb_error *err)
{
    const tw_experiment *e = r->e;
    uint64_t total = e->burn_in + e->frames, chunk0 = 0;
    size_t used = 0;
    tb_status st = tw_exec_reset_state(r->t->x, err);
    r->frames += (double)total * (double)r->B;
    for (uint64_t f = 0; st == TB_OK && f < total; ++f) {
        cl_ulong pattern = f / e->hold;
        cl_int rc = arg(r, 9, sizeof pattern, &pattern);
        bool counted = f >= e->burn_in && f >= e->lag;
        if (counted && used == 0)
            chunk0 = f;
        st = rc == CL_SUCCESS ? frame(r, counted ? (long)used : -1, err) : tb_cl_fail(err, rc, "setting a pattern");
        used += counted;
        if (st || (used < r->host_frames && f + 1 < total))
            continue;
        st = finish_queue(r, err);
        st = st ? st : check_finite(r, used, r->B, err);
        for (size_t s = 0; st == TB_OK && s < used; ++s)
            rf_accumulate(r, g, s, chunk0 + s);
        used = 0;
    }
    return st;
}

static tb_status rf_write(run *r, const rf *g, tb_output *out, tb_error *err)
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
        m[2 * u] = (double)(peak % g->cols) * sq + (sq - 1) / 2, m[2 * u + 1] = (double)(peak / g->cols) * sq + (sq - 1) / 2;
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
    st = st ? st : write(r, out, "sta", TB_F64, 3, d_sta, sta, err);
    st = st ? st : write(r, out, "peak", TB_F64, 2, d2, m, err);
    st = st ? st : write(r, out, "peak_value", TB_F64, 1, du, m + 2 * U, err);
    st = st ? st : write(r, out, "centre", TB_F64, 2, d2, m + 3 * U, err);
    st = st ? st : write(r, out, "sigma", TB_F64, 2, d2, m + 5 * U, err);
    st = st ? st : write(r, out, "amplitude", TB_F64, 1, du, m + 7 * U, err);
    st = st ? st : write(r, out, "offset", TB_F64, 1, du, m + 8 * U, err);
    const tw_experiment *e = r->e;
    st = st ? st : tb_output_attr_int(out, r->group, "square", e->square, err);
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

static tb_status receptive_field(run *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    size_t U = r->t->units, sq = (size_t)e->square;
    rf g = {r->t->H / sq, r->t->W / sq, 0, 0, 0, NULL, NULL, NULL, NULL, 0, NULL};
    g.n = g.rows * g.cols;
    g.off = (uint64_t)floor(e->density / 2 * 9007199254740992.0);
    g.on = (uint64_t)floor(e->density * 9007199254740992.0);
    g.srv = calloc(U * g.n + 1, sizeof *g.srv), g.sv = calloc(g.n + 1, sizeof *g.sv);
    g.sa = calloc(g.n + 1, sizeof *g.sa), g.sr = calloc(U + 1, sizeof *g.sr), g.cells = calloc(g.n + 1, 1);
    r->host_frames = 64;
    r->host = malloc(r->host_frames * r->B * U * r->rs + 1);
    tb_status st = g.srv && g.sv && g.sa && g.sr && g.cells && r->host
                       ? TB_OK
                       : tb_error_set(err, TB_ERR_OTHER, "out of memory for experiment '%s'", e->name);
    cl_mem in = tw_exec_input_mem(r->t->x, r->t->in_k);
    cl_long xs = (cl_long)(r->t->H * r->t->W);
    cl_int H = (cl_int)r->t->H, W = (cl_int)r->t->W, isq = (cl_int)sq, rows = (cl_int)g.rows, cols = (cl_int)g.cols;
    cl_ulong seed = e->seed, b0 = 0, off = g.off, on = g.on;
    if (st == TB_OK) {
        cl_int rc = arg(r, 0, sizeof in, &in) | arg(r, 1, sizeof xs, &xs) | arg(r, 2, sizeof H, &H) |
                    arg(r, 3, sizeof W, &W) | arg(r, 4, sizeof isq, &isq) | arg(r, 5, sizeof rows, &rows) |
                    arg(r, 6, sizeof cols, &cols) | arg(r, 7, sizeof seed, &seed) | arg(r, 8, sizeof b0, &b0) |
                    arg(r, 10, sizeof off, &off) | arg(r, 11, sizeof on, &on) | arg_real(r, 12, e->mean) |
                    arg_real(r, 13, e->contrast);
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

/* ------------------------------------------------------------ size tuning */

/* Where unit u's discs go and which way their gratings drift. */
static void size_place(const run *r, size_t u, double *cx, double *cy, double *dir)
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

static tb_status size_write(run *r, const double *resp, const double *place, tb_output *out, tb_error *err)
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
    st = st ? st : write(r, out, "radii", TB_F64, 1, dr, r->e->radii.v, err);
    st = st ? st : write(r, out, "responses", TB_F64, 2, d_resp, resp, err);
    st = st ? st : write(r, out, "centre", TB_F64, 2, d2, centre, err);
    st = st ? st : write(r, out, "direction", TB_F64, 1, du, dir, err);
    st = st ? st : write(r, out, "preferred_radius", TB_F64, 1, du, m, err);
    st = st ? st : write(r, out, "ssi", TB_F64, 1, du, m + U, err);
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
static tb_status size_tuning(run *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    size_t U = r->t->units, R = e->radii.n, n = U * R;
    double *resp = malloc((n + 1) * sizeof *resp), *place = malloc((3 * U + 1) * sizeof *place);
    double *pv = calloc(r->B * 8, sizeof *pv), *mean = malloc((r->B * U + 1) * sizeof *mean);
    cl_mem params = NULL;
    tb_status st = resp && place && pv && mean ? grating_setup(r, 8, &params, err)
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
        st = grating_batch(r, params, pv, 8, active, mean, err);
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

/* ------------------------------------------------------------ entry */

static tb_status one(run *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    snprintf(r->group, sizeof r->group, "/twin/experiments/%s", e->name);
    static const char *const kernel[] = {"tw_exp_grating", "tw_exp_sparse", "tw_exp_disc", "tw_exp_grating"};
    static const char *const kind[] = {"orientation_tuning", "receptive_field", "size_tuning", "response_to"};
    r->k = tb_program_kernel(r->prog, kernel[e->kind], err);
    if (!r->k)
        return err->status;
    tb_status st = e->kind == TW_EXP_RF         ? receptive_field(r, out, err)
                   : e->kind == TW_EXP_SIZE     ? size_tuning(r, out, err)
                   : e->kind == TW_EXP_RESPONSE ? tw_response_to_run(e, r->index, r->t, r->group, out, &r->frames, err)
                                                : orientation_tuning(r, out, err);
    st = st ? st : tb_output_attr_string(out, r->group, "kind", kind[e->kind], err);
    st = st ? st : tb_output_attr_int(out, r->group, "burn_in", (int64_t)e->burn_in, err);
    st = st ? st : tb_output_attr_double(out, r->group, "mean", e->mean, err);
    st = st ? st : tb_output_attr_string(out, r->group, "output", r->t->output_name, err);
    clReleaseKernel(r->k);
    free(r->host);
    r->host = NULL;
    return st;
}

tb_status tw_experiments_run(const tw_experiments *x, const tw_exp_target *t, tb_output *out, double *frames,
                             tb_error *err)
{
    *frames = 0;
    if (x->n == 0)
        return TB_OK;
    run r = {.t = t, .B = tw_exec_batch(t->x), .rs = tw_exec_real_size(t->x)};
    r.centre = calloc(x->n, sizeof *r.centre), r.dir = calloc(x->n, sizeof *r.dir);
    if (!r.centre || !r.dir) {
        free(r.centre), free(r.dir);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    const tb_program_part parts[] = {{.file = "twin_experiment.cl"}};
    char *src = tb_program_assemble(t->prec, parts, 1, err);
    tb_status st = src ? tb_program_build(t->dev, src, "", "twin experiments", &r.prog, err) : err->status;
    free(src);
    for (size_t i = 0; st == TB_OK && i < x->n; ++i) {
        r.e = &x->e[i], r.index = i;
        st = one(&r, out, err);
    }
    *frames = r.frames;
    for (size_t i = 0; i < x->n; ++i)
        free(r.centre[i]), free(r.dir[i]);
    free(r.centre);
    free(r.dir);
    tb_program_free(r.prog);
    tb_status z = tw_exec_reset_state(t->x, err);
    return st ? st : z;
}
