/* The neural-mass kit: turns a scenario's model, coupling, integrator and
 * monitors into one OpenCL program (generated glue + kernels/mass.cl),
 * lays out the connectome as CSR rows with delays in steps, and runs
 * chunks of steps, writing monitor rows as they come back.
 *
 * Parameter and initial values are data, not code: changing them reuses
 * the cached program. Only structure (which parameters vary by region,
 * which variables are monitored, the method) shapes the source. */
#include "config.h"

#include "mass_scenario.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "twinbrain/sim.h"
#include "assimilate.h"
#include "mass_internal.h"
#include "parameters_from.h"
#include "profile.h"
#include "h5read.h"
#include "rng.h"
#include "sweep.h"

static tb_status check_region_array(const mass *m, const tb_scenario_value *v, const char *section, tb_error *err)
{
    if (!v->is_array || v->n == m->N)
        return TB_OK;
    char *w = tb_scenario_where(m->sc, v->pos);
    tb_status st = tb_error_set(err, TB_ERR_SCENARIO,
                                "%s%s.%s has %zu values, but the connectome has %zu regions "
                                "(give one number, or one per region)",
                                w, section, v->name, v->n, m->N);
    free(w);
    return st;
}

/* ------------------------------------------------------------ code generation */











/* ------------------------------------------------------------ setup */

static void add_slot(mass *m, const char *code_name, const tb_scenario_value *v, const char *sweep_path, bool nsig)
{
    param_slot *s = &m->params[m->n_params++];
    s->code_name = tb_strdup(code_name);
    s->value = v;
    s->swept = sweep_path ? tb_sweep_values(&m->ms->sweep, sweep_path) : NULL;
    s->mode = s->swept ? P_INSTANCE : v->is_array ? P_REGION : P_SCALAR;
    s->index = s->mode == P_INSTANCE ? m->n_inst++ : s->mode == P_REGION ? m->n_region++ : m->n_scalar++;
    s->nsig = nsig;
}

size_t tb_mass_add_slot(mass *m, const char *code_name, const tb_scenario_value *v)
{
    add_slot(m, code_name, v, NULL, false);
    return m->n_params - 1;
}

/* initial.history = "random": the range of each variable drawn at random
 * (tb_hist_lo_<variable>, tb_hist_width_<variable>), data rather than code
 * like every other value. */
static tb_status bind_history(mass *m, tb_error *err)
{
    const tb_mass_scenario *ms = m->ms;
    if (ms->history != TB_HISTORY_RANDOM)
        return TB_OK;
    if (!(m->hist_range = calloc(2 * m->NV, sizeof *m->hist_range)))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t v = 0; v < m->NV; ++v) {
        const tb_scenario_value *iv = &ms->initial[v];
        if (!iv->random)
            continue;
        const char *name = m->model->vars[v].name;
        char *lo = tb_asprintf("tb_hist_lo_%s", name), *width = tb_asprintf("tb_hist_width_%s", name);
        m->hist_range[2 * v] = (tb_scenario_value){.name = "tb_hist_lo", .scalar = iv->lo};
        m->hist_range[2 * v + 1] = (tb_scenario_value){.name = "tb_hist_width", .scalar = iv->hi - iv->lo};
        add_slot(m, lo, &m->hist_range[2 * v], NULL, false);
        add_slot(m, width, &m->hist_range[2 * v + 1], NULL, false);
        free(lo);
        free(width);
    }
    return TB_OK;
}

/* Every value the generated code reads: model and coupling parameters,
 * then the noise amplitudes (tb_sigma_<variable>), the OU time and the
 * ranges of a random history. */
static tb_status bind_params(mass *m, tb_error *err)
{
    const tb_mass_scenario *ms = m->ms;
    const tb_plugin *pl = ms->model;
    /* + 1: a perturbation's hidden slot (mass_perturb.c) */
    size_t n = pl->n_params + ms->n_coupling_params + 3 * m->NV + 2;
    m->params = calloc(n, sizeof *m->params);
    if (!m->params)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    m->model_params_n = pl->n_params;
    for (size_t i = 0; i < pl->n_params + ms->n_coupling_params; ++i) {
        bool cp = i >= pl->n_params;
        const tb_scenario_value *v = cp ? &ms->coupling_params[i - pl->n_params] : &ms->model_params[i];
        char *code = cp ? tb_asprintf("cp_%s", v->name) : tb_strdup(v->name);
        char *path = tb_asprintf("%s.parameters.%s", cp ? "coupling" : "model", v->name);
        add_slot(m, code, v, path, false);
        free(code);
        free(path);
    }
    for (size_t v = 0; ms->noise && v < m->NV; ++v) {
        if (!ms->noise_sigma[v].name)
            continue;
        char *code = tb_asprintf("tb_sigma_%s", m->model->vars[v].name);
        char *path = tb_asprintf("integrator.noise.%s.%s", ms->noise_nsig ? "nsig" : "sigma", m->model->vars[v].name);
        add_slot(m, code, &ms->noise_sigma[v], path, ms->noise_nsig);
        free(code);
        free(path);
    }
    if (ms->noise == TB_NOISE_OU) {
        m->ou_tau = (tb_scenario_value){.name = "tb_ou_tau", .scalar = ms->noise_tau};
        add_slot(m, "tb_ou_tau", &m->ou_tau, NULL, false);
    }
    return bind_history(m, err);
}

/* Steps per launch of split work-groups at most. */
#define SPLIT_STEPS_MAX 64

/* An edge of a region-lanes row: sorted by delay, then source. */
typedef struct row_edge {
    int delay, col;
    double w;
} row_edge;

static int row_edge_cmp(const void *a, const void *b)
{
    const row_edge *x = a, *y = b;
    if (x->delay != y->delay)
        return x->delay < y->delay ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* Rows for region lanes (kernels/mass.cl): each row's edges sorted by
 * delay, then source, as offsets in the ring from the slot of the current
 * step (source - delay x NC x Np), padded with weightless edges on the
 * row's own region to a whole number of lanes; Np rows, those past N
 * empty. Same pattern for the same connectome, whatever the weights (a
 * perturbation writes the weights again in this order). */
tb_status tb_mass_to_rows(const mass *m, const int *row_ptr, const int *col, const int *delay, const double *w,
                          int **rptr, int **roff, double **rw, size_t *entries, tb_error *err)
{
    size_t L = m->lanes, total = 0, longest = 0;
    *roff = NULL, *rw = NULL;
    *rptr = malloc((m->Np + 1) * sizeof **rptr);
    for (size_t i = 0; *rptr && i <= m->Np; ++i) {
        (*rptr)[i] = (int)total;
        size_t len = i < m->N ? (size_t)(row_ptr[i + 1] - row_ptr[i]) : 0;
        longest = len > longest ? len : longest;
        total += (len + L - 1) / L * L;
    }
    if (*rptr)
        total = (size_t)(*rptr)[m->Np];
    *roff = malloc((total ? total : 1) * sizeof **roff);
    *rw = malloc((total ? total : 1) * sizeof **rw);
    row_edge *tmp = malloc((longest ? longest : 1) * sizeof *tmp);
    if (!*rptr || !*roff || !*rw || !tmp) {
        free(tmp);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory laying out %zu edges", total);
    }
    long stride = (long)m->NC * (long)m->Np;
    if ((long)m->H * stride > INT_MAX) {
        free(tmp);
        return tb_error_set(err, TB_ERR_OTHER, "the delay history (%d steps x %zu regions) is too long for one "
                            "instance's ring in region lanes", m->H, m->N);
    }
    for (size_t i = 0; i < m->N; ++i) {
        int len = row_ptr[i + 1] - row_ptr[i];
        for (int q = 0; q < len; ++q)
            tmp[q] = (row_edge){delay[row_ptr[i] + q], col[row_ptr[i] + q], w[row_ptr[i] + q]};
        qsort(tmp, (size_t)len, sizeof *tmp, row_edge_cmp);
        for (int q = (*rptr)[i], k = 0; q < (*rptr)[i + 1]; ++q, ++k) {
            /* padding reads the row's own region now: finite, weight 0 */
            (*roff)[q] = k < len ? (int)(tmp[k].col - tmp[k].delay * stride) : (int)i;
            (*rw)[q] = k < len ? tmp[k].w : 0.0;
        }
    }
    free(tmp);
    *entries = total;
    return TB_OK;
}

/* Steps of the delay rounded as TVB does: rint(length / speed / dt), ties
 * to even; a pair without weight reads the newest slot (delay 0). */
int tb_mass_delay_steps(const mass *m, size_t i, size_t j)
{
    const tb_connectome *c = m->con;
    if (c->weights[i * m->N + j] == 0.0)
        return 0;
    /* check_delays made every delay fit an int */
    return (int)lrint(c->tract_lengths[i * m->N + j] / m->ms->speed / m->sc->dt);
}

static void release_mem(cl_mem *b)
{
    if (*b)
        clReleaseMemObject(*b);
    *b = NULL;
}

static tb_status upload_rows(mass *m, const int *row_ptr, size_t rows, const int *col, const int *delay,
                             const double *w, size_t entries, tb_error *err)
{
    release_mem(&m->row_ptr), release_mem(&m->col), release_mem(&m->delay), release_mem(&m->weight);
    size_t n = entries ? entries : 1;
    void *wr = tb_mass_to_real(w, n, m->realsz);
    m->row_ptr = tb_device_alloc(m->dev, (rows + 1) * sizeof(int), row_ptr, "connectome rows", err);
    m->col = m->row_ptr ? tb_device_alloc(m->dev, n * sizeof(int), col, "connectome columns", err) : NULL;
    /* region lanes: no delays apart (one entry, unread) */
    m->delay = m->col ? tb_device_alloc(m->dev, (delay ? n : 1) * sizeof(int), delay, "connectome delays", err) : NULL;
    m->weight = m->delay && wr ? tb_device_alloc(m->dev, n * m->realsz, wr, "connectome weights", err) : NULL;
    free(wr);
    return m->weight ? TB_OK : err && err->status ? err->status : TB_ERR_OTHER;
}

/* CSR rows per target (row = target, column = source: the TVB convention),
 * keeping only non-zero weights; delays rounded to whole steps as TVB does.
 * With region lanes the rows go to the device as slices of 8. */
static tb_status upload_connectivity(mass *m, tb_error *err)
{
    size_t N = m->N, nnz = 0;
    const tb_connectome *c = m->con;
    for (size_t i = 0; i < N * N; ++i)
        nnz += c->weights[i] != 0.0;
    /* from half the pairs on, source indices cost more than the zeros;
     * region lanes keep no source index apart (an edge is one offset) */
    m->dense = !m->region_lanes &&
               (m->ms->storage == TB_STORAGE_DENSE ||
                (m->ms->storage == TB_STORAGE_AUTO && (double)nnz >= 0.5 * (double)N * (double)N));
    if (m->dense)
        nnz = N * N;
    int *row_ptr = malloc((N + 1) * sizeof *row_ptr);
    int *col = malloc((nnz ? nnz : 1) * sizeof *col);
    int *delay = malloc((nnz ? nnz : 1) * sizeof *delay);
    double *w = malloc((nnz ? nnz : 1) * sizeof *w);
    tb_status st = TB_OK;
    if (!row_ptr || !col || !delay || !w) {
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory laying out %zu edges", nnz);
        goto done;
    }
    int maxd = 0, mind = INT_MAX;
    size_t e = 0;
    for (size_t i = 0; i < N; ++i) {
        row_ptr[i] = (int)e;
        for (size_t j = 0; j < N; ++j) {
            double wij = c->weights[i * N + j];
            if (wij == 0.0 && !m->dense)
                continue;
            int d = tb_mass_delay_steps(m, i, j);
            col[e] = (int)j;
            w[e] = wij;
            delay[e] = d;
            maxd = d > maxd ? d : maxd;
            if (wij != 0.0)
                mind = d < mind ? d : mind;
            ++e;
        }
    }
    row_ptr[N] = (int)e;
    /* Split work-groups run several steps per launch, as many as the
     * shortest delay allows: a step reads slots at least that many steps
     * old, all written by earlier launches (a weightless pair reads the
     * newest slot, but adds an exact zero). */
    bool ahead = m->split > 1 && mind != INT_MAX;
    m->per_launch = ahead ? (uint64_t)mind + 1 : CHUNK_STEPS_MAX;
    if (m->per_launch > SPLIT_STEPS_MAX)
        m->per_launch = SPLIT_STEPS_MAX; /* a bound on the longer ring */
    /* +2: the step writing slot t+1 must not overwrite the oldest slot that
     * other regions still read in the same step; with several steps per
     * launch and no barrier between work-groups, one may be that many
     * steps ahead of another. */
    m->H = maxd + 1 + (ahead ? (int)m->per_launch : 1);
    if (m->region_lanes) {
        int *rptr = NULL, *roff = NULL;
        double *rw = NULL;
        size_t entries = 0;
        st = tb_mass_to_rows(m, row_ptr, col, delay, w, &rptr, &roff, &rw, &entries, err);
        /* no delays apart: the offsets hold them */
        if (st == TB_OK)
            st = upload_rows(m, rptr, m->Np, roff, NULL, rw, entries, err);
        free(rptr), free(roff), free(rw);
    } else {
        st = upload_rows(m, row_ptr, N, col, delay, w, nnz, err);
    }
done:
    free(row_ptr);
    free(col);
    free(delay);
    free(w);
    return st;
}

/* Per-instance, per-region values (from a model's prepare hook): laid out
 * [k][Np][Bp] for instance lanes, [k][Bp][Np] otherwise, so that the lanes
 * of a vector load are neighbours; padding repeats the last instance and
 * region. */
static void *ir_values(const mass *m, size_t *count)
{
    size_t n = m->n_ir * m->Bp * m->Np + 1;
    double *v = calloc(n, sizeof *v);
    if (!v)
        return NULL;
    bool inner_b = m->lanes > 1 && !m->region_lanes;
    for (size_t i = 0; i < m->n_params; ++i) {
        const param_slot *s = &m->params[i];
        if (s->mode != P_INSTANCE_REGION)
            continue;
        for (size_t b = 0; b < m->Bp; ++b)
            for (size_t r = 0; r < m->Np; ++r) {
                double x = s->ir[(b < m->B ? b : m->B - 1) * m->N + (r < m->N ? r : m->N - 1)];
                v[inner_b ? (s->index * m->Np + r) * m->Bp + b : (s->index * m->Bp + b) * m->Np + r] = x;
            }
    }
    void *vr = tb_mass_to_real(v, n, m->realsz);
    free(v);
    *count = n;
    return vr;
}

static tb_status upload_ir(mass *m, tb_error *err)
{
    size_t n;
    void *vr = ir_values(m, &n);
    m->pir = vr ? tb_device_alloc(m->dev, n * m->realsz, vr, "per-instance, per-region parameters", err) : NULL;
    free(vr);
    return m->pir ? TB_OK : err && err->status ? err->status : tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

/* Between chunks (a perturbation): the in-order queue runs the write
 * after the chunk before it and before the next. */
tb_status tb_mass_write_ir(mass *m, tb_error *err)
{
    size_t n;
    void *vr = ir_values(m, &n);
    if (!vr)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    cl_int rc = clEnqueueWriteBuffer(tb_device_queue(m->dev), m->pir, CL_TRUE, 0, n * m->realsz, vr, 0, NULL, NULL);
    free(vr);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "writing perturbed parameters");
}

static tb_status upload_params(mass *m, tb_error *err)
{
    size_t n_sc = m->n_scalar + 1, n_rg = m->n_region * m->Np + 1, n_in = m->n_inst * m->Bp + 1;
    double *sc = calloc(n_sc, sizeof *sc);
    double *rg = calloc(n_rg, sizeof *rg);
    double *in = calloc(n_in, sizeof *in);
    cl_ulong *seeds = calloc(m->Bp, sizeof *seeds);
    tb_status st = TB_OK;
    if (!sc || !rg || !in || !seeds) {
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->n_params; ++i) {
        const param_slot *s = &m->params[i];
        double *dst = s->mode == P_REGION ? rg + s->index * m->Np : s->mode == P_INSTANCE ? in + s->index * m->Bp
                                                                                           : sc + s->index;
        size_t len = s->mode == P_REGION ? m->Np : s->mode == P_INSTANCE ? m->Bp : 1;
        const double *src = s->mode == P_REGION     ? s->value->values
                            : s->mode == P_INSTANCE ? s->swept + m->first
                                                    : &s->value->scalar;
        /* lanes past the last instance or region repeat it, so they compute
         * finite values */
        if (s->mode == P_INSTANCE_REGION)
            continue; /* upload_ir() */
        size_t real_len = s->mode == P_REGION ? m->N : m->B;
        for (size_t k = 0; k < len; ++k) {
            double x = src[s->mode != P_SCALAR && k >= real_len ? real_len - 1 : k];
            dst[k] = s->nsig ? sqrt(2.0 * x) : x;
        }
    }
    /* An instance's draws depend on its seed alone, so it can be rerun by
     * itself; sweep simulation.seed for independent noise per instance. */
    const double *swept_seed = tb_sweep_values(&m->ms->sweep, "simulation.seed");
    for (size_t b = 0; b < m->Bp; ++b)
        seeds[b] = swept_seed ? (cl_ulong)swept_seed[m->first + (b < m->B ? b : m->B - 1)] : (cl_ulong)m->sc->seed;
    void *scr = tb_mass_to_real(sc, n_sc, m->realsz), *rgr = tb_mass_to_real(rg, n_rg, m->realsz), *inr = tb_mass_to_real(in, n_in, m->realsz);
    if (scr && rgr && inr) {
        m->pscalar = tb_device_alloc(m->dev, n_sc * m->realsz, scr, "scalar parameters", err);
        m->pregion = m->pscalar ? tb_device_alloc(m->dev, n_rg * m->realsz, rgr, "per-region parameters", err) : NULL;
        m->pinst = m->pregion ? tb_device_alloc(m->dev, n_in * m->realsz, inr, "swept parameters", err) : NULL;
        m->seeds = m->pinst ? tb_device_alloc(m->dev, m->Bp * sizeof *seeds, seeds, "instance seeds", err) : NULL;
    }
    if (m->seeds)
        st = upload_ir(m, err);
    else
        st = err && err->status ? err->status : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    free(scr);
    free(rgr);
    free(inr);
done:
    free(sc);
    free(rg);
    free(in);
    free(seeds);
    return st;
}

/* Uniform in [lo, hi], keyed by the instance's seed and counted by region
 * and variable like the noise, so it does not depend on the batch. */
static double draw_initial(const mass *m, const tb_scenario_value *iv, size_t b, size_t n, size_t v)
{
    const double *swept = tb_sweep_values(&m->ms->sweep, "simulation.seed");
    uint64_t seed = swept ? (uint64_t)swept[m->first + b] : m->sc->seed;
    double u[2];
    tb_rng_uniform2(seed, TB_RNG_INITIAL, 0, (uint32_t)(n * m->NV + v), u);
    return iv->lo + (iv->hi - iv->lo) * u[0];
}

static tb_status upload_state(mass *m, tb_error *err)
{
    size_t n = m->NV * m->Bp * m->Np;
    double *x = malloc(n * sizeof *x);
    if (!x)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t v = 0; v < m->NV; ++v) {
        const tb_scenario_value *iv = &m->ms->initial[v];
        for (size_t b = 0; b < m->Bp; ++b)
            for (size_t n_ = 0; n_ < m->Np; ++n_) {
                /* padding lanes start as the last instance and region */
                size_t bb = b < m->B ? b : m->B - 1, i = n_ < m->N ? n_ : m->N - 1;
                x[tb_mass_ix(m, v, b, n_)] = iv->random    ? draw_initial(m, iv, bb, i, v)
                                             : iv->is_array ? iv->values[i]
                                                            : iv->scalar;
            }
    }
    void *xr = tb_mass_to_real(x, n, m->realsz);
    free(x);
    m->state = tb_device_alloc(m->dev, n * m->realsz, xr, "model state", err);
    free(xr);
    m->state_host[0] = malloc(n * m->realsz);
    m->state_host[1] = malloc(n * m->realsz);
    size_t ou_n = m->ms->noise == TB_NOISE_OU ? n : 1;
    m->ou = tb_device_alloc(m->dev, ou_n * m->realsz, NULL, "coloured-noise state", err);
    size_t hist_bytes = (size_t)m->H * m->NC * m->Bp * m->Np * m->realsz;
    m->hist = m->state && m->ou ? tb_device_alloc(m->dev, hist_bytes, NULL, "delay history", err) : NULL;
    if (!m->hist || !m->state_host[0] || !m->state_host[1])
        return err && err->status ? err->status : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    return TB_OK;
}



/* A region of a stimulus: a label (with a suggestion when unknown) or an
 * index; -1 after reporting. */
static long region_of(const mass *m, const tb_scenario_stimulus *s, size_t i, tb_error *err)
{
    const tb_toml_value *r = s->regions->u.arr.items[i];
    char *w = tb_scenario_where(m->sc, r->pos);
    long idx = -1;
    if (r->type == TB_TOML_INTEGER) {
        if (r->u.i >= 0 && (uint64_t)r->u.i < m->N)
            idx = (long)r->u.i;
        else
            tb_error_set(err, TB_ERR_SCENARIO, "%sstimulus regions: index %lld is outside 0..%zu", w,
                         (long long)r->u.i, m->N - 1);
    } else {
        for (size_t n = 0; n < m->N && idx < 0; ++n)
            if (strcmp(m->con->labels[n], r->u.s.ptr) == 0)
                idx = (long)n;
        if (idx < 0) {
            size_t best = 0, bd = (size_t)-1;
            for (size_t n = 0; n < m->N; ++n) {
                size_t d = tb_levenshtein(r->u.s.ptr, m->con->labels[n]);
                if (d < bd)
                    bd = d, best = n;
            }
            tb_error_set(err, TB_ERR_SCENARIO, "%sstimulus regions: the connectome has no region '%s'; did you mean "
                         "'%s'?", w, r->u.s.ptr, m->con->labels[best]);
        }
    }
    free(w);
    return idx;
}

static tb_status stimulus_series(mass *m, size_t k, size_t listed, const long *idx, double **all, size_t *total,
                                 tb_error *err)
{
    const tb_scenario_stimulus *s = &m->stim[k];
    double *d = NULL;
    size_t dims[2] = {s->n_samples, 1};
    int rank = 1;
    tb_status st = TB_OK;
    if (s->samples) {
        d = malloc((s->n_samples ? s->n_samples : 1) * sizeof *d);
        if (d)
            memcpy(d, s->samples, s->n_samples * sizeof *d);
        else
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    } else {
        st = tb_h5_read_doubles(s->file, s->dataset, &d, dims, &rank, err);
    }
    if (st == TB_OK && rank == 2 && dims[1] != listed)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s is [%zu, %zu]; a [T, regions] series needs one column per "
                          "region listed (%zu)", s->file, s->dataset, dims[0], dims[1], listed);
    if (st != TB_OK) {
        free(d);
        return st;
    }
    m->stim_per_region[k] = rank == 2;
    m->stim_len[k] = dims[0];
    m->stim_offset[k] = *total;
    size_t add = rank == 2 ? dims[0] * m->Np : dims[0];
    *all = realloc(*all, (*total + add + 1) * sizeof **all);
    memset(*all + *total, 0, add * sizeof **all);
    for (size_t t = 0; t < dims[0]; ++t)
        for (size_t j = 0; j < (rank == 2 ? listed : 1); ++j)
            (*all)[*total + (rank == 2 ? t * m->Np + (size_t)idx[j] : t)] = d[t * dims[1] + j];
    *total += add;
    free(d);
    return TB_OK;
}

/* Stimuli: a weight per stimulus and region ([S][N], 0 where it does not
 * apply) and the series samples, all on the device. */
static tb_status upload_stimuli(mass *m, tb_error *err)
{
    size_t S = m->n_stim, total = 0;
    double *w = calloc(S * m->Np + 1, sizeof *w), *series = calloc(1, sizeof *series);
    free(m->stim_offset), free(m->stim_len), free(m->stim_per_region);
    m->stim_offset = calloc(S + 1, sizeof *m->stim_offset);
    m->stim_len = calloc(S + 1, sizeof *m->stim_len);
    m->stim_per_region = calloc(S + 1, sizeof *m->stim_per_region);
    tb_status st = w && series && m->stim_offset && m->stim_len && m->stim_per_region
                       ? TB_OK
                       : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < S; ++k) {
        const tb_scenario_stimulus *s = &m->stim[k];
        size_t listed = s->units ? s->n_units : s->regions ? s->regions->u.arr.n : m->N;
        long *idx = calloc(listed + 1, sizeof *idx);
        for (size_t i = 0; st == TB_OK && i < listed; ++i) {
            idx[i] = s->units ? (long)s->units[i] : s->regions ? region_of(m, s, i, err) : (long)i;
            if (idx[i] < 0)
                st = TB_ERR_SCENARIO;
            double f = s->unit_weights ? s->unit_weights[i] : 1.0;
            if (s->weights)
                tb_toml_as_double(s->weights->u.arr.items[i], &f);
            if (st == TB_OK)
                w[k * m->Np + (size_t)idx[i]] = f;
        }
        if (st == TB_OK && s->kind == TB_STIM_SERIES)
            st = stimulus_series(m, k, listed, idx, &series, &total, err);
        free(idx);
    }
    if (st == TB_OK) {
        void *wr = tb_mass_to_real(w, S * m->Np + 1, m->realsz), *sr = tb_mass_to_real(series, total + 1, m->realsz);
        release_mem(&m->stim_w), release_mem(&m->stim_series);
        m->stim_w = wr ? tb_device_alloc(m->dev, (S * m->Np + 1) * m->realsz, wr, "stimulus weights", err) : NULL;
        m->stim_series = m->stim_w && sr ? tb_device_alloc(m->dev, (total + 1) * m->realsz, sr, "stimulus series", err)
                                         : NULL;
        if (!m->stim_series)
            st = err && err->status ? err->status : TB_ERR_OTHER;
        free(wr);
        free(sr);
    }
    free(w);
    free(series);
    return st;
}

/* In single precision a literal such as 2.0 is a float, as the model
 * author meant: no silent promotion to double (which vector lanes would
 * refuse). */
static const char *build_options(const mass *m)
{
    return m->realsz == sizeof(float) ? "-cl-single-precision-constant" : "";
}

static char *build_label(const mass *m)
{
    return tb_asprintf("model '%s'", m->ms->model->name);
}

/* m->source: the whole program for the current layout. */
static tb_status assemble(mass *m, tb_error *err)
{
    free(m->source);
    m->source = tb_mass_generate(m);
    tb_program_part parts[4];
    size_t n = 0;
    /* what must stay scalar comes before the glue, which may turn `real`
     * into a vector of lanes */
    /* the random-number library only when something draws on the device */
    if (m->ms->noise || m->ms->history == TB_HISTORY_RANDOM)
        parts[n++] = (tb_program_part){"rng.cl", NULL, "kernels/rng.cl"};
    parts[n++] = (tb_program_part){"monitors.cl", NULL, "kernels/monitors.cl"};
    parts[n++] = (tb_program_part){NULL, m->source, TB_MASS_GLUE};
    parts[n++] = (tb_program_part){"mass.cl", NULL, "kernels/mass.cl"};
    char *src = tb_program_assemble(m->sc->precision, parts, n, err);
    if (!src)
        return err ? err->status : TB_ERR_INPUT;
    free(m->source);
    m->source = src;
    return TB_OK;
}

/* m->source built, its kernels found and the launch shape chosen. */
static tb_status compile(mass *m, tb_error *err)
{
    char *label = build_label(m);
    tb_status st = tb_program_build(m->dev, m->source, build_options(m), label, &m->prog, err);
    free(label);
    if (st != TB_OK)
        return st;
    m->k_run = tb_program_kernel(m->prog, "tb_mass_run", err);
    m->k_init = m->k_run ? tb_program_kernel(m->prog, "tb_mass_init_history", err) : NULL;
    if (!m->k_init)
        return err ? err->status : TB_ERR_DEVICE;
    if ((st = tb_mass_monitor_kernels(m, err)) != TB_OK)
        return st;
    size_t kwg = 0;
    clGetKernelWorkGroupInfo(m->k_run, tb_device_get_info(m->dev)->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg, &kwg,
                             NULL);
    if (kwg == 0)
        kwg = 1;
    if (m->lanes > 1 && !m->region_lanes) {
        /* a work-item per block of lanes; each its own work-group */
        m->wg = 1;
        m->global = m->Bp / m->lanes;
    } else if (m->region_lanes) {
        /* split work-groups per instance, a work-item per 8 regions */
        size_t want = (m->Np / m->lanes + m->split - 1) / m->split;
        m->wg = want < kwg ? want : kwg;
        m->global = m->Bp * m->split * m->wg;
    } else if (m->instance_major) {
        /* a block of instances per work-group: SIMD lanes or a GPU warp */
        size_t want = tb_device_get_info(m->dev)->type == TB_DEVICE_CPU ? 16 : 64;
        m->wg = want < kwg ? want : kwg;
        m->global = (m->Bp + m->wg - 1) / m->wg * m->wg;
    } else {
        /* split work-groups per instance; GPUs like whole warps, CPUs do not care */
        size_t want = (m->N + m->split - 1) / m->split;
        if (tb_device_get_info(m->dev)->type != TB_DEVICE_CPU)
            want = (want + 31) / 32 * 32;
        m->wg = want < kwg ? want : kwg;
        m->global = m->Bp * m->split * m->wg;
    }
    return TB_OK;
}

static tb_status init_history(mass *m, tb_error *err)
{
    cl_int H = m->H, B = (cl_int)m->Bp, N = (cl_int)m->Np;
    cl_int rc = 0;
    rc |= clSetKernelArg(m->k_init, 0, sizeof(cl_mem), &m->state);
    rc |= clSetKernelArg(m->k_init, 1, sizeof(cl_mem), &m->hist);
    rc |= clSetKernelArg(m->k_init, 2, sizeof(cl_mem), &m->pscalar);
    rc |= clSetKernelArg(m->k_init, 3, sizeof(cl_mem), &m->pregion);
    rc |= clSetKernelArg(m->k_init, 4, sizeof(cl_mem), &m->pinst);
    rc |= clSetKernelArg(m->k_init, 5, sizeof(cl_mem), &m->pir);
    rc |= clSetKernelArg(m->k_init, 6, sizeof(cl_mem), &m->seeds);
    rc |= clSetKernelArg(m->k_init, 7, sizeof(cl_mem), &m->ou);
    rc |= clSetKernelArg(m->k_init, 8, sizeof H, &H);
    rc |= clSetKernelArg(m->k_init, 9, sizeof B, &B);
    rc |= clSetKernelArg(m->k_init, 10, sizeof N, &N);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "setting the history kernel's arguments");
    size_t global = m->global, local = m->wg;
    tb_profile *prof = tb_device_profile(m->dev);
    cl_event ev;
    rc = clEnqueueNDRangeKernel(tb_device_queue(m->dev), m->k_init, 1, NULL, &global, &local, 0, NULL,
                                tb_profile_event_slot(prof, &ev));
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "launching the history kernel");
    tb_profile_command(prof, "tb_mass_init_history", ev);
    if (ev)
        clReleaseEvent(ev);
    rc = clFinish(tb_device_queue(m->dev));
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "filling the delay history");
}

/* Arguments that stay for the whole run; the per-chunk ones (step0,
 * nsteps, monitor outputs) follow at m->arg_step0. */
static tb_status set_fixed_args(mass *m, tb_error *err)
{
    cl_int H = m->H, B = (cl_int)m->Bp, N = (cl_int)m->Np, Bout = (cl_int)m->B, Nout = (cl_int)m->N;
    cl_int rc = 0;
    cl_uint a = 0;
    cl_mem bufs[] = {m->state,   m->hist,  m->row_ptr, m->col, m->weight, m->delay,     m->pscalar,
                     m->pregion, m->pinst, m->pir,     m->seeds, m->ou,  m->stim_w, m->stim_series};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        rc |= clSetKernelArg(m->k_run, a++, sizeof(cl_mem), &bufs[i]);
    rc |= clSetKernelArg(m->k_run, a++, sizeof H, &H);
    rc |= clSetKernelArg(m->k_run, a++, sizeof B, &B);
    rc |= clSetKernelArg(m->k_run, a++, sizeof N, &N);
    rc |= clSetKernelArg(m->k_run, a++, sizeof Bout, &Bout);
    rc |= clSetKernelArg(m->k_run, a++, sizeof Nout, &Nout);
    m->arg_step0 = a;
    a += 3; /* step0, nsteps, first */
    if (m->realsz == sizeof(double)) {
        double dt = m->sc->dt;
        rc |= clSetKernelArg(m->k_run, a++, sizeof dt, &dt);
    } else {
        float dt = (float)m->sc->dt;
        rc |= clSetKernelArg(m->k_run, a++, sizeof dt, &dt);
    }
    for (size_t i = 0; i < m->n_mon; ++i)
        if (m->mon[i].kernel_slot >= 0)
            rc |= clSetKernelArg(m->k_run, a + 2 * (cl_uint)m->mon[i].kernel_slot, sizeof(cl_mem), &m->mon[i].acc);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "setting the step kernel's arguments");
}

static void mass_destroy(void *impl);

static tb_status read_connectome(mass *m, tb_error *err)
{
    tb_status st = tb_connectome_read(m->ms->connectome_file, &m->con, err);
    if (st != TB_OK) {
        char *w = tb_scenario_where(m->sc, m->ms->connectome_pos);
        tb_error_prefix(err, "%sconnectome.file: ", w);
        free(w);
        return st;
    }
    m->N = m->con->n;
    return TB_OK;
}

/* The per-region arrays must match the connectome: checked before any
 * device work so `twinbrain check` reports it too. */
static tb_status check_arrays(const mass *m, tb_error *err)
{
    const tb_mass_scenario *ms = m->ms;
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < ms->model->n_params; ++i)
        st = check_region_array(m, &ms->model_params[i], "model.parameters", err);
    for (size_t i = 0; st == TB_OK && i < ms->n_coupling_params; ++i)
        st = check_region_array(m, &ms->coupling_params[i], "coupling.parameters", err);
    for (size_t i = 0; st == TB_OK && i < ms->mass->n_vars; ++i)
        st = check_region_array(m, &ms->initial[i], "initial", err);
    if (st == TB_OK)
        st = tb_parameters_from_check_labels(ms, m->sc, m->con->labels, m->N, err);
    return st;
}

/* The longest delay the history ring holds: delays are ints in the
 * kernels, and the ring has max delay + 2 slots. */
#define MAX_DELAY_STEPS (INT_MAX - 2)

/* Every edge's delay, rint(length / speed / dt), must fit the ring: a
 * delay is refused where it is computed from, the scenario's
 * connectome.speed when it gives one, else the connectome's tract length. */
static tb_status check_delays(const mass *m, tb_error *err)
{
    const tb_connectome *c = m->con;
    const tb_mass_scenario *ms = m->ms;
    size_t N = m->N, wi = 0, wj = 0;
    double worst = -1.0;
    for (size_t i = 0; i < N; ++i)
        for (size_t j = 0; j < N; ++j) {
            if (c->weights[i * N + j] == 0.0) /* no edge: read at delay 0 */
                continue;
            double q = c->tract_lengths[i * N + j] / ms->speed / m->sc->dt; /* >= 0, or inf */
            if (q > worst)
                worst = q, wi = i, wj = j;
        }
    if (!(rint(worst) > MAX_DELAY_STEPS))
        return TB_OK;
    double len = c->tract_lengths[wi * N + wj];
    char *w = tb_scenario_where(m->sc, ms->speed_given ? ms->speed_pos : m->ms->connectome_pos);
    tb_status st;
    if (ms->speed_given)
        st = tb_error_set(err, TB_ERR_SCENARIO,
                          "%sconnectome.speed: at %g mm/ms the tract from '%s' to '%s' (%g mm) is a delay of %g steps "
                          "of %g ms; the delay history holds at most %d steps",
                          w, ms->speed, c->labels[wj], c->labels[wi], len, worst, m->sc->dt, MAX_DELAY_STEPS);
    else
        st = tb_error_set(err, TB_ERR_INPUT,
                          "%sconnectome.file: %s: /tract_lengths[%zu,%zu] = %g mm (from '%s' to '%s') is a delay of %g "
                          "steps at connectome.speed = %g mm/ms and dt = %g ms; the delay history holds at most %d "
                          "steps",
                          w, ms->connectome_file, wi, wj, len, c->labels[wj], c->labels[wi], worst, ms->speed,
                          m->sc->dt, MAX_DELAY_STEPS);
    free(w);
    return st;
}

static long region_of(const mass *m, const tb_scenario_stimulus *s, size_t i, tb_error *err);

/* What the scenario refers to in the connectome: arrays of one value per
 * region, delays, stimulus regions; before any device work, so that
 * `twinbrain check` reports it too. */
static tb_status check_against_connectome(const mass *m, tb_error *err)
{
    tb_status st = check_arrays(m, err);
    if (st == TB_OK)
        st = check_delays(m, err);
    for (size_t k = 0; st == TB_OK && k < m->ms->n_stimuli; ++k) {
        const tb_scenario_stimulus *s = &m->ms->stimuli[k];
        for (size_t i = 0; st == TB_OK && s->regions && i < s->regions->u.arr.n; ++i)
            if (region_of(m, s, i, err) < 0)
                st = TB_ERR_SCENARIO;
    }
    return st;
}

static tb_status mass_check(const tb_scenario *sc, tb_error *err)
{
    mass m = {.sc = sc, .ms = tb_mass_scenario_of(sc)};
    tb_status st = read_connectome(&m, err);
    if (st == TB_OK)
        st = check_against_connectome(&m, err);
    if (st == TB_OK)
        st = tb_mass_check_monitor_inputs(m.ms, m.con->n, err);
    tb_connectome_free(m.con);
    return st;
}

/* The decomposition (kernels/mass.cl). On CPUs, sweeps of 8 instances or
 * more run 8 instances per work-item as vector lanes, so the model's
 * arithmetic and the history gathers are SIMD (measured on PoCL: several
 * times the scalar rate); fewer instances share out the regions of each
 * instance in a work-group. On GPUs, sweeps run one instance per
 * work-item with instances innermost in memory, for coalesced reads (on a
 * CPU that layout misses the cache on every edge: 4x slower).
 * TWINBRAIN_MASS_LAYOUT=regions, instances or lanes forces one, for tests
 * and tuning. */
#define INSTANCE_MAJOR_FROM 16
#define LANES 8

static void set_lanes(mass *m, size_t lanes, bool regions)
{
    m->lanes = lanes;
    m->region_lanes = lanes > 1 && regions;
    m->Bp = m->region_lanes ? m->B : (m->B + lanes - 1) / lanes * lanes;
    m->Np = m->region_lanes ? (m->N + lanes - 1) / lanes * lanes : m->N;
}

/* Fewer instances than compute units leave cores idle: then each
 * instance's regions may be shared by several work-groups, a launch per
 * shortest delay of steps (a launch is about 2-5 us on PoCL, against tens
 * of us of work per step from about 64 regions on). */
#define SPLIT_FROM_REGIONS 64

/* The shortest delay of an edge, in steps (INT_MAX without edges). */
static int shortest_delay(const mass *m)
{
    int mind = INT_MAX;
    for (size_t i = 0; i < m->N; ++i)
        for (size_t j = 0; j < m->N; ++j)
            if (m->con->weights[i * m->N + j] != 0.0) {
                int d = tb_mass_delay_steps(m, i, j);
                mind = d < mind ? d : mind;
            }
    return mind;
}

static void choose_layout(mass *m)
{
    const char *env = getenv("TWINBRAIN_MASS_LAYOUT");
    const tb_device_info *d = tb_device_get_info(m->dev);
    bool cpu = d->type == TB_DEVICE_CPU;
    bool is = env && strcmp(env, "instances") == 0, lanes = env && strcmp(env, "lanes") == 0;
    bool rlanes = env && strcmp(env, "rlanes") == 0, split = env && strcmp(env, "split") == 0;
    m->instance_major = env ? is : !cpu && m->B >= INSTANCE_MAJOR_FROM;
    bool rsplit = env && strcmp(env, "rsplit") == 0;
    if (env ? lanes : cpu && m->B >= LANES)
        set_lanes(m, LANES, false);
    else if (env ? rlanes || rsplit : cpu && m->N >= LANES)
        set_lanes(m, LANES, true);
    else
        set_lanes(m, 1, false);
    m->split = 1;
    /* A launch per step was slower on a loaded 2-core machine (each step
     * waits for the busier core); from two steps per launch on (the
     * shortest delay at least one step), the split run took half the wall
     * time of one work-group on fast_tvb's shape (docs/performance.md). */
    bool few = m->B < d->compute_units && m->N >= SPLIT_FROM_REGIONS;
    bool by_default = few && !env && cpu && shortest_delay(m) >= 1;
    if ((split || rsplit || by_default) && few)
        m->split = d->compute_units / m->B;
    if ((split || rsplit) && m->split < 2)
        m->split = 2;
}

static tb_status upload_stimuli(mass *m, tb_error *err);

/* ------------------------------------------------------------ prepare hook */

static double slot_value(const mass *m, const param_slot *s, size_t b, size_t n)
{
    switch (s->mode) {
    case P_SCALAR: return s->value->scalar;
    case P_REGION: return s->value->values[n];
    case P_INSTANCE: return s->swept[m->first + b];
    case P_INSTANCE_REGION: return s->ir[b * m->N + n];
    }
    return NAN;
}

static double prep_param(const tb_mass_prepare *ctx, size_t index, size_t b, size_t n)
{
    const mass *m = ctx->core;
    return index < m->model_params_n ? slot_value(m, &m->params[index], b, n) : NAN;
}

static double prep_coupling_param(const tb_mass_prepare *ctx, const char *name, size_t b)
{
    const mass *m = ctx->core;
    for (size_t i = m->model_params_n; i < m->n_params; ++i)
        if (strncmp(m->params[i].code_name, "cp_", 3) == 0 && strcmp(m->params[i].code_name + 3, name) == 0)
            return m->params[i].mode == P_REGION ? NAN : slot_value(m, &m->params[i], b, 0);
    return NAN;
}

static tb_status prep_set_param(tb_mass_prepare *ctx, size_t index, const double *values)
{
    mass *m = ctx->core;
    if (index >= m->model_params_n)
        return tb_error_set(ctx->err, TB_ERR_OTHER, "prepare: no parameter %zu", index);
    param_slot *s = &m->params[index];
    double *copy = malloc(m->B * m->N * sizeof *copy);
    if (!copy)
        return tb_error_set(ctx->err, TB_ERR_OTHER, "out of memory");
    memcpy(copy, values, m->B * m->N * sizeof *copy);
    free(s->ir);
    s->ir = copy;
    if (s->mode != P_INSTANCE_REGION) {
        s->mode = P_INSTANCE_REGION;
        s->index = m->n_ir++;
    }
    return TB_OK;
}

tb_status tb_mass_slot_per_region(mass *m, size_t slot, tb_error *err)
{
    param_slot *s = &m->params[slot];
    if (s->mode == P_INSTANCE_REGION)
        return TB_OK;
    double *v = malloc(m->B * m->N * sizeof *v);
    if (!v)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t b = 0; b < m->B; ++b)
        for (size_t n = 0; n < m->N; ++n)
            v[b * m->N + n] = slot_value(m, s, b, n);
    free(s->ir);
    s->ir = v;
    s->mode = P_INSTANCE_REGION;
    s->index = m->n_ir++;
    return TB_OK;
}

/* A hook's failure is the plugin's to explain; one that gave no reason
 * (or a status that is no exit status) still gets a message naming the
 * model and the hook, never "model 'x': " and nothing. */
static tb_status prepare_failed(const mass *m, tb_status st, tb_error *err)
{
    const char *name = m->ms->model->name;
    int raw = (int)st;
    bool known = st == TB_ERR_OTHER || st == TB_ERR_SCENARIO || st == TB_ERR_DEVICE || st == TB_ERR_INPUT ||
                 st == TB_ERR_DIVERGED || st == TB_ERR_INTERRUPTED;
    if (!known)
        st = TB_ERR_OTHER;
    if (err && err->message && err->message[0]) {
        err->status = st;
        return tb_error_prefix(err, "model '%s': ", name);
    }
    return tb_error_set(err, st, "model '%s': its prepare hook failed without saying why (status %d); the plugin "
                        "should set a message with tb_error_set(ctx->err, ...)", name, raw);
}

/* Let the model compute parameters from the others and the connectome
 * (before the program exists: its code depends on where values live). */
static tb_status run_prepare(mass *m, tb_error *err)
{
    if (!m->model->prepare)
        return TB_OK;
    double *strength = calloc(m->N, sizeof *strength);
    if (!strength)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t i = 0; i < m->N; ++i)
        for (size_t j = 0; j < m->N; ++j)
            strength[i] += m->con->weights[i * m->N + j];
    tb_mass_prepare ctx = {
        .n_regions = m->N,
        .n_instances = m->B,
        .in_strength = strength,
        .coupling = m->coupling->name,
        .param = prep_param,
        .coupling_param = prep_coupling_param,
        .set_param = prep_set_param,
        .labels = (const char *const *)m->con->labels,
        .err = err,
        .core = m,
    };
    tb_status st = m->model->prepare(&ctx);
    free(strength);
    return st == TB_OK ? TB_OK : prepare_failed(m, st, err);
}

/* The model's own code compiled alone, in scalar form, before a vector
 * build: an error in it is then reported once, from this small program.
 * Without it, the vector build and the scalar fallback would both fail on
 * it, and the compiler would speak twice. Not needed when the program
 * will not be compiled (cached or prebuilt). */
static tb_status check_model_code(mass *m, tb_error *err)
{
    char *label = build_label(m);
    if (!label || tb_program_is_built(m->dev, m->source, build_options(m), label)) {
        free(label);
        return TB_OK;
    }
    char *glue = tb_mass_generate_model(m);
    tb_program_part part = {NULL, glue, TB_MASS_GLUE};
    char *src = glue ? tb_program_assemble(m->sc->precision, &part, 1, err) : NULL;
    tb_status st = src ? tb_program_check(m->dev, src, build_options(m), label, err)
                       : tb_error_set(err, TB_ERR_OTHER, "out of memory generating the model's code");
    free(label);
    free(src);
    free(glue);
    return st;
}

/* The kernels folder holds the vector-lanes program: its failure is that
 * file's (damaged, or refused by the driver), not the model's, and no
 * scalar build goes around it. */
static bool lanes_binary_given(const mass *m)
{
    char *label = build_label(m);
    bool given = m->source && tb_program_has_prebuilt(m->dev, m->source, build_options(m), label);
    free(label);
    return given;
}

static tb_status upload_and_assemble(mass *m, tb_error *err)
{
    tb_status st = upload_connectivity(m, err);
    if (st == TB_OK)
        st = upload_stimuli(m, err);
    return st == TB_OK ? assemble(m, err) : st;
}

/* The program and what its code depends on: the connectivity (CSR, or
 * slices with region lanes) and the stimuli's layout. A model whose code
 * branches on its state (`if (x < 0)`) cannot run on vector lanes: it is
 * built again for one instance per work-group, one region per work-item,
 * silently (its code compiled alone, so lanes are the only reason).
 * Writing such branches with ?: lets them vectorise (docs/plugins.md). */
static tb_status build_with_fallback(mass *m, tb_error *err)
{
    tb_status st = upload_and_assemble(m, err);
    if (st == TB_OK && m->lanes > 1)
        st = check_model_code(m, err);
    if (st != TB_OK)
        return st;
    st = compile(m, err);
    if (st != TB_ERR_DEVICE || m->lanes == 1 || m->prog || lanes_binary_given(m))
        return st;
    char *why = tb_strdup(tb_error_message(err));
    tb_error_clear(err);
    set_lanes(m, 1, false);
    st = upload_and_assemble(m, err);
    if (st == TB_OK)
        st = compile(m, err);
    /* the scalar build's own error, if any, is the one to show */
    if (st == TB_OK && getenv("TWINBRAIN_DEBUG_LANES"))
        fprintf(stderr, "twinbrain: no vector lanes for this model: %s\n", why ? why : "");
    free(why);
    return st;
}

static tb_status check_memory(const mass *m, tb_error *err);
/* The kit's halves of the chunk pipeline (below). */
static tb_status launch(void *kit, tb_chunk *c, tb_error *err);
static tb_status collect(void *kit, const tb_chunk *c, tb_error *err);

static tb_status mass_create_part(const tb_scenario *sc, tb_device *dev, size_t first, size_t count, void **impl,
                                  tb_error *err)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    if (count == 0 || first + count > sc->n_instances)
        return tb_error_set(err, TB_ERR_OTHER, "instances [%zu, %zu) are not part of the %zu of the run", first,
                            first + count, sc->n_instances);
    mass *m = calloc(1, sizeof *m);
    if (!m)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    *impl = m;
    m->sc = sc;
    m->ms = tb_mass_scenario_of(sc);
    m->pipe = (tb_pipeline){.kit = m, .dev = dev, .what = "running the step kernel", .launch = launch,
                            .collect = collect};
    m->dev = dev;
    m->model = ms->mass;
    m->coupling = tb_coupling_find(ms->coupling);
    m->realsz = sc->precision == TB_DOUBLE ? sizeof(double) : sizeof(float);
    m->stim = ms->stimuli;
    m->n_stim = ms->n_stimuli;
    tb_status st = tb_mass_check_dfun(m->model, ms->model->name, err);
    if (st == TB_OK)
        st = read_connectome(m, err);
    if (st == TB_OK)
        st = check_against_connectome(m, err);
    if (st != TB_OK)
        return st;
    m->first = first;
    m->B = count;
    m->B_total = sc->n_instances; /* the sweep's, or a sweep of perturbations' */
    choose_layout(m);
    m->NV = m->model->n_vars;
    m->NCV = m->model->n_coupled;
    m->NC = m->coupling->channels ? (size_t)m->coupling->channels : m->NCV;
    m->n_mon = ms->n_monitors;
    m->mon = calloc(m->n_mon ? m->n_mon : 1, sizeof *m->mon);
    if (!m->mon)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_mass_plan_monitors(m);
    /* the program first: the layout of every buffer depends on it */
    if ((st = check_memory(m, err)) != TB_OK || (st = bind_params(m, err)) != TB_OK || (st = run_prepare(m, err)) != TB_OK ||
        (st = tb_mass_perturb_bind(m, err)) != TB_OK ||
        (st = tb_mass_assim_bind(m, err)) != TB_OK ||
        (st = build_with_fallback(m, err)) != TB_OK ||
        (st = upload_params(m, err)) != TB_OK || (st = upload_state(m, err)) != TB_OK ||
        (st = tb_mass_alloc_monitors(m, err)) != TB_OK || (st = set_fixed_args(m, err)) != TB_OK ||
        (st = init_history(m, err)) != TB_OK)
        return st;
    return TB_OK;
}

/* The run's big arrays, sized before any is filled: a sweep too large for
 * the device or the host is refused at once with what it needs, not after
 * minutes of drawing initial values (the layout may pad regions and
 * instances further, so these are lower bounds). */
static double history_steps(const mass *m)
{
    const tb_connectome *c = m->con;
    double most = 0;
    for (size_t i = 0; i < c->n * c->n; ++i)
        if (c->weights[i] != 0.0 && c->tract_lengths[i] / m->ms->speed / m->sc->dt > most)
            most = c->tract_lengths[i] / m->ms->speed / m->sc->dt;
    return floor(most + 0.5) + 2;
}

static tb_status check_memory(const mass *m, tb_error *err)
{
    const tb_device_info *d = tb_device_get_info(m->dev);
    double cells = (double)m->B * (double)m->N, H = history_steps(m);
    double state = (double)m->NV * cells * (double)m->realsz;
    double hist = H * (double)m->NC * cells * (double)m->realsz;
    double device = state * (m->ms->noise == TB_NOISE_OU ? 2 : 1) + hist;
    if (hist > (double)d->max_alloc_bytes || device > (double)d->global_mem_bytes)
        return tb_error_set(err, TB_ERR_DEVICE,
                            "%zu instance%s on %zu regions need %.3g GB on the device (delay history %.3g GB: %.0f "
                            "steps x %zu channels; state %.3g GB); device '%s' has %.3g GB and allows %.3g GB in one "
                            "buffer: run fewer instances at once, or split them over devices",
                            m->B, m->B == 1 ? "" : "s", m->N, device / 1e9, hist / 1e9, H, m->NC, state / 1e9,
                            d->name, (double)d->global_mem_bytes / 1e9, (double)d->max_alloc_bytes / 1e9);
    double host = (double)m->NV * cells * sizeof(double) + 2 * state;
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (phys > 0 && host > phys)
        return tb_error_set(err, TB_ERR_OTHER,
                            "%zu instances on %zu regions need %.3g GB of host memory for their state; this machine "
                            "has %.3g GB",
                            m->B, m->N, host / 1e9, phys / 1e9);
    return TB_OK;
}

static tb_status mass_create(const tb_scenario *sc, tb_device *dev, void **impl, tb_error *err)
{
    return mass_create_part(sc, dev, 0, sc->n_instances, impl, err);
}

/* ------------------------------------------------------------ output */

static tb_status mass_declare(void *impl, tb_output *out, tb_error *err)
{
    mass *m = impl;
    tb_status st = tb_output_write_strings(out, "/connectome/region_labels", (const char *const *)m->con->labels,
                                           m->N, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/connectome", "file", m->ms->connectome_file, err);
    if (st == TB_OK)
        st = tb_output_attr_int(out, "/", "instances", (int64_t)m->B_total, err);
    for (size_t k = 0; st == TB_OK && k < m->ms->sweep.n_keys; ++k) {
        const tb_sweep_key *key = &m->ms->sweep.keys[k];
        char *path = tb_asprintf("/sweep/%s", key->path);
        uint64_t dims[1] = {m->B_total};
        st = tb_output_write_array(out, path, TB_F64, 1, dims, key->values, err);
        free(path);
    }
    if (st == TB_OK)
        st = tb_mass_declare_monitors(m, out, err);
    if (st == TB_OK)
        st = tb_mass_assim_declare(m, out, err);
    return st;
}

/* ------------------------------------------------------------ running */


/* Enqueue the chunk: one launch, or one per step when work-groups share an
 * instance (the launch boundary is then the barrier between steps). */
static tb_status enqueue_steps(mass *m, uint64_t step0, uint64_t n, int buf, tb_error *err)
{
    cl_long s0 = (cl_long)step0;
    cl_int per = (cl_int)(m->split > 1 && m->per_launch < n ? m->per_launch : n);
    cl_int rc = clSetKernelArg(m->k_run, m->arg_step0, sizeof s0, &s0);
    for (size_t i = 0; i < m->n_mon; ++i)
        if (m->mon[i].kernel_slot >= 0)
            rc |= clSetKernelArg(m->k_run, m->arg_step0 + 5 + 2 * (cl_uint)m->mon[i].kernel_slot, sizeof(cl_mem),
                                 &m->mon[i].out[buf]);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "setting the step kernel's chunk arguments");
    size_t global = m->global, local = m->wg;
    tb_profile *prof = tb_device_profile(m->dev);
    for (cl_int first = 0; first < (cl_int)n; first += per) {
        cl_int steps = (cl_int)n - first < per ? (cl_int)n - first : per; /* the chunk's last launch */
        rc = clSetKernelArg(m->k_run, m->arg_step0 + 1, sizeof steps, &steps);
        rc |= clSetKernelArg(m->k_run, m->arg_step0 + 2, sizeof first, &first);
        cl_event ev;
        if (rc == CL_SUCCESS)
            rc = clEnqueueNDRangeKernel(tb_device_queue(m->dev), m->k_run, 1, NULL, &global, &local, 0, NULL,
                                        tb_profile_event_slot(prof, &ev));
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "launching the step kernel");
        tb_profile_command(prof, "tb_mass_run", ev);
        if (ev)
            clReleaseEvent(ev);
    }
    return TB_OK;
}

static tb_status launch(void *kit, tb_chunk *c, tb_error *err)
{
    mass *m = kit;
    tb_status st = enqueue_steps(m, c->step0, c->n, c->buf, err);
    if (st == TB_OK)
        st = tb_mass_after_chunk(m, c->buf, c->step0, c->n, err);
    if (st != TB_OK)
        return st;
    cl_command_queue q = tb_device_queue(m->dev);
    cl_int rc = clEnqueueReadBuffer(q, m->state, CL_FALSE, 0, m->NV * m->Bp * m->Np * m->realsz,
                                    m->state_host[c->buf], 0, NULL, &c->done);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "reading the state");
    tb_profile_command(tb_device_profile(m->dev), "read state", c->done);
    clFlush(q);
    return TB_OK;
}

/* The first non-finite state value of the real instances (not the lanes
 * that pad the last block), in (variable, instance, region) order. */
static bool first_bad(const mass *m, const tb_chunk *p, size_t *v, size_t *b, size_t *n, double *x)
{
    for (*v = 0; *v < m->NV; ++*v)
        for (*b = 0; *b < m->B; ++*b)
            for (*n = 0; *n < m->N; ++*n) {
                *x = tb_mass_real_at(m->state_host[p->buf], tb_mass_ix(m, *v, *b, *n), m->realsz);
                if (!isfinite(*x))
                    return true;
            }
    return false;
}

static tb_status report_divergence(mass *m, const tb_chunk *p, tb_error *err)
{
    size_t v, b, n;
    double x;
    if (first_bad(m, p, &v, &b, &n, &x)) {
        char inst[64] = "", seen[160] = "";
        if (m->B_total > 1)
            snprintf(inst, sizeof inst, " of instance %zu", m->first + b);
        const char *mon = NULL;
        double tbad = tb_mass_first_bad_sample(m, p, &mon);
        if (mon)
            snprintf(seen, sizeof seen, "; monitor '%s' first shows a non-finite value at t = %g ms", mon, tbad);
        double t0 = (double)p->step0 * m->sc->dt, t1 = (double)(p->step0 + p->n) * m->sc->dt;
        return tb_error_set(err, TB_ERR_DIVERGED,
                            "the simulation diverged: %s of region '%s' (index %zu)%s is %s at t = %g ms "
                            "(all finite at t = %g ms)%s; output kept up to t = %g ms. "
                            "Try a smaller simulation.dt, or check the parameters of that region.",
                            m->model->vars[v].name, m->con->labels[n], n, inst, isnan(x) ? "NaN" : "infinite", t1,
                            t0, seen, t1);
    }
    return TB_OK;
}

/* Wait for the pending chunk, append its rows, check it for divergence. */
static tb_status collect(void *kit, const tb_chunk *c, tb_error *err)
{
    mass *m = kit;
    tb_status st = tb_mass_append_monitors(m, c, err);
    if (st == TB_OK)
        st = report_divergence(m, c, err);
    return st == TB_OK ? tb_mass_assim_collect(m, c, err) : st;
}

static tb_status mass_advance(void *impl, uint64_t step0, uint64_t n, tb_error *err)
{
    mass *m = impl;
    /* the filter's update reaches the steps after its sample */
    tb_status st = m->assim ? tb_pipeline_advance_cut(&m->pipe, step0, n, tb_mass_assim_period(m), err)
                            : tb_pipeline_advance(&m->pipe, step0, n, err);
    if (st == TB_OK && n == 0 && !m->finished) { /* n = 0: the run is over */
        m->finished = true;
        st = tb_mass_finish_monitors(m, err);
        if (st == TB_OK)
            st = tb_mass_assim_finish(m, err);
    }
    return st;
}

/* What the monitors will write, uncompressed: rows x instances x width. */
static double mass_output_bytes(void *impl)
{
    const mass *m = impl;
    double bytes = 0;
    for (size_t i = 0; i < m->n_mon; ++i) {
        const monitor_rt *r = &m->mon[i];
        double rows = r->spec->kind == TB_MONITOR_FC ? 1 : (double)(m->sc->steps / r->period);
        bytes += rows * ((double)m->B * (double)r->width * (double)m->realsz + sizeof(double));
    }
    return bytes;
}

static uint64_t mass_max_chunk(void *impl) { return ((mass *)impl)->kmax; }
static const tb_program *mass_program(void *impl) { return ((mass *)impl)->prog; }
static size_t mass_regions(void *impl) { return ((mass *)impl)->N; }
static size_t mass_instances(void *impl) { return ((mass *)impl)->B; }
static uint64_t mass_samples(void *impl) { return ((mass *)impl)->samples; }

static const double *mass_scores(void *impl, const char **name)
{
    mass *m = impl;
    for (size_t i = 0; i < m->n_mon; ++i)
        if (m->mon[i].score) {
            *name = m->mon[i].spec->name;
            return m->mon[i].score;
        }
    return NULL;
}

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

static void mass_destroy(void *impl)
{
    mass *m = impl;
    if (!m)
        return;
    tb_pipeline_abandon(&m->pipe);
    tb_mass_assim_free(m);
    tb_mass_free_monitors(m);
    cl_mem *bufs[] = {&m->state, &m->hist,    &m->row_ptr, &m->col,  &m->weight,
                       &m->delay, &m->pscalar, &m->pregion, &m->pinst, &m->pir, &m->seeds, &m->ou, &m->stim_w,
                       &m->stim_series};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        release(bufs[i]);
    if (m->k_run)
        clReleaseKernel(m->k_run);
    if (m->k_init)
        clReleaseKernel(m->k_init);
    tb_program_free(m->prog);
    for (size_t i = 0; i < m->n_params; ++i) {
        free((char *)m->params[i].code_name);
        free(m->params[i].ir);
    }
    free(m->params);
    free(m->hist_range);
    free(m->source);
    tb_mass_perturb_free(m);
    free(m->stim_offset);
    free(m->stim_len);
    free(m->stim_per_region);
    free(m->state_host[0]);
    free(m->state_host[1]);
    tb_connectome_free(m->con);
    free(m);
}

const tb_kit tb_mass_kit = {
    .name = "mass",
    .summary = "neural-mass models on a structural connectome with conduction delays",
    .sections = tb_mass_sections,
    .n_sections = TB_MASS_N_SECTIONS,
    .unit_noun = "regions",
    .result_groups = (const char *const[]){"/monitors", NULL},
    .check_scenario = tb_mass_check_scenario,
    .free_scenario = tb_mass_free_scenario,
    .list_keys = tb_mass_list_keys,
    .plugin_kind = TB_MASS_KIND,
    .check_plugin = tb_mass_check_plugin,
    .model_of = tb_mass_model_of,
    .check_text = tb_mass_check_text,
    .plugin_text = tb_mass_plugin_text,
    .plugin_json = tb_mass_plugin_json,
    .summary_text = tb_mass_summary_text,
    .check = mass_check,
    .create = mass_create,
    .declare = mass_declare,
    .advance = mass_advance,
    .max_chunk = mass_max_chunk,
    .program = mass_program,
    .units = mass_regions,
    .instances = mass_instances,
    .samples = mass_samples,
    .scores = mass_scores,
    .output_bytes = mass_output_bytes,
    .destroy = mass_destroy,
    .create_part = mass_create_part,
    .checkpoint = tb_mass_checkpoint,
    .ops = &tb_mass_ops,
};
