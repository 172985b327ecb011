/* Fitting a Gaussian readout on the device (twin_fit.h): the starting
 * positions from a correlation scan, then full-batch Adam on the Poisson
 * loss with early stopping on the held-out frames (kernels/twin_fit.cl). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_fit.h"
#include "twinbrain/opencl.h"
#include "util.h"

void tw_readout_free(tw_readout *r)
{
    free(r->w);
    free(r->bias);
    free(r->mu);
    r->w = r->bias = r->mu = NULL;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tw_fit_split(size_t frames, double fraction, uint64_t seed, int *idx, size_t *n_train, size_t *n_val)
{
    for (size_t t = 0; t < frames; ++t)
        idx[t] = (int)t;
    uint64_t s = seed;
    for (size_t t = frames; t > 1; --t) {
        size_t j = (size_t)(splitmix64(&s) % t);
        int tmp = idx[t - 1];
        idx[t - 1] = idx[j];
        idx[j] = tmp;
    }
    *n_val = (size_t)ceil(fraction * (double)frames);
    if (*n_val > frames)
        *n_val = frames;
    *n_train = frames - *n_val;
}

/* ------------------------------------------------------------ device state */

typedef struct fit_dev {
    tb_device *dev;
    cl_command_queue q;
    tb_precision prec;
    size_t rs, T;
    tb_program *prog;
    cl_kernel epoch, scan;
    cl_mem F, Y, idx, P, best, G, M, V, L, S;
} fit_dev;

static void fit_dev_free(fit_dev *d)
{
    cl_mem *m[] = {&d->F, &d->Y, &d->idx, &d->P, &d->best, &d->G, &d->M, &d->V, &d->L, &d->S};
    for (size_t k = 0; k < sizeof m / sizeof m[0]; ++k)
        if (*m[k])
            clReleaseMemObject(*m[k]);
    if (d->epoch)
        clReleaseKernel(d->epoch);
    if (d->scan)
        clReleaseKernel(d->scan);
    tb_program_free(d->prog);
}

static cl_mem zeros(fit_dev *d, size_t n, const char *what, tb_error *err)
{
    void *z = calloc(n ? n : 1, d->rs);
    cl_mem m = z ? tb_device_alloc(d->dev, (n ? n : 1) * d->rs, z, what, err) : NULL;
    if (!z)
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
    free(z);
    return m;
}

/* [T][C][HW] -> [HW][C][T]: each value's frames in a row (kernels/twin_fit.cl). */
static void *transposed(const void *F, size_t T, size_t C, size_t HW, size_t rs)
{
    char *out = malloc(T * C * HW * rs + 1);
    for (size_t t = 0; out && t < T; ++t)
        for (size_t c = 0; c < C; ++c)
            for (size_t s = 0; s < HW; ++s)
                memcpy(out + ((s * C + c) * T + t) * rs, (const char *)F + ((t * C + c) * HW + s) * rs, rs);
    return out;
}

static tb_status fit_dev_open(fit_dev *d, const void *F, const void *Y, const int *idx, size_t T, size_t C, size_t HW,
                              size_t N, tb_error *err)
{
    const tb_program_part parts[] = {{.file = "twin_fit.cl"}};
    char *src = tb_program_assemble(d->prec, parts, 1, err);
    tb_status st = src ? tb_program_build(d->dev, src, "", "twin fit", &d->prog, err) : err->status;
    free(src);
    if (st)
        return st;
    if (!(d->epoch = tb_program_kernel(d->prog, "tw_fit_epoch", err)) ||
        !(d->scan = tb_program_kernel(d->prog, "tw_fit_scan", err)))
        return err->status;
    size_t np = N * (C + 3);
    d->T = T;
    void *Ft = transposed(F, T, C, HW, d->rs);
    if (!Ft)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory for the core's maps");
    d->F = tb_device_alloc(d->dev, T * C * HW * d->rs, Ft, "twin fit features", err);
    free(Ft);
    if (!d->F || !(d->Y = tb_device_alloc(d->dev, T * N * d->rs, Y, "twin fit responses", err)) ||
        !(d->idx = tb_device_alloc(d->dev, T * sizeof(cl_int), idx, "twin fit frames", err)) ||
        !(d->P = zeros(d, np, "twin fit parameters", err)) || !(d->best = zeros(d, np, "twin fit best", err)) ||
        !(d->G = zeros(d, np, "twin fit gradients", err)) || !(d->M = zeros(d, np, "twin fit moments", err)) ||
        !(d->V = zeros(d, np, "twin fit moments", err)) || !(d->L = zeros(d, 2 * N, "twin fit losses", err)) ||
        !(d->S = zeros(d, N * HW, "twin fit scan", err)))
        return err->status;
    return TB_OK;
}

typedef struct kargs {
    cl_kernel k;
    cl_uint i;
    cl_int rc;
    size_t rs;
} kargs;

static void k_arg(kargs *a, size_t size, const void *v)
{
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->k, a->i, size, v);
    a->i++;
}

static void k_mem(kargs *a, cl_mem m)
{
    k_arg(a, sizeof m, &m);
}

static void k_long(kargs *a, size_t v)
{
    cl_long l = (cl_long)v;
    k_arg(a, sizeof l, &l);
}

static void k_real(kargs *a, double v)
{
    float f = (float)v;
    if (a->rs == sizeof(double))
        k_arg(a, sizeof v, &v);
    else
        k_arg(a, sizeof f, &f);
}

static tb_status launch(fit_dev *d, cl_kernel k, size_t n, const char *what, tb_error *err)
{
    cl_int rc = clEnqueueNDRangeKernel(d->q, k, 1, NULL, &n, NULL, 0, NULL, NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, what);
}

static double real_at(const fit_dev *d, const void *v, size_t k)
{
    return d->rs == sizeof(double) ? ((const double *)v)[k] : (double)((const float *)v)[k];
}

static void set_real(const fit_dev *d, void *v, size_t k, double x)
{
    if (d->rs == sizeof(double))
        ((double *)v)[k] = x;
    else
        ((float *)v)[k] = (float)x;
}

/* ------------------------------------------------------------ the fit */

/* Positions at the best pixel of the scan, weights 0, bias at the rate of
 * the unit's mean training response. */
static tb_status initial(fit_dev *d, const void *Y, const int *idx, size_t n_train, size_t N, size_t C, size_t H,
                         size_t W, bool expo, tb_error *err)
{
    kargs a = {d->scan, 0, CL_SUCCESS, d->rs};
    k_mem(&a, d->F), k_long(&a, d->T), k_mem(&a, d->Y), k_mem(&a, d->idx), k_long(&a, n_train);
    k_mem(&a, d->S);
    k_long(&a, N), k_long(&a, C), k_long(&a, H), k_long(&a, W);
    if (a.rc != CL_SUCCESS)
        return tb_cl_fail(err, a.rc, "setting the twin fit scan's arguments");
    size_t HW = H * W, np = C + 3;
    void *S = malloc(N * HW * d->rs), *P = calloc(N * np, d->rs);
    tb_status st = S && P ? launch(d, d->scan, N * HW, "the twin fit's position scan", err)
                          : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    cl_int rc = st ? CL_SUCCESS : clEnqueueReadBuffer(d->q, d->S, CL_TRUE, 0, N * HW * d->rs, S, 0, NULL, NULL);
    if (st == TB_OK && rc != CL_SUCCESS)
        st = tb_cl_fail(err, rc, "reading the twin fit's position scan");
    for (size_t n = 0; st == TB_OK && n < N; ++n) {
        size_t best = 0;
        for (size_t s = 1; s < HW; ++s)
            if (real_at(d, S, n * HW + s) > real_at(d, S, n * HW + best))
                best = s;
        double mean = 0;
        for (size_t j = 0; j < n_train; ++j)
            mean += real_at(d, Y, (size_t)idx[j] * N + n);
        mean = fmax(mean / (double)(n_train ? n_train : 1), 1e-3);
        set_real(d, P, n * np + C, expo || mean < 1 ? log(mean) : mean - 1);
        set_real(d, P, n * np + C + 1, (2.0 * (double)(best % W) + 1) / (double)W - 1);
        set_real(d, P, n * np + C + 2, (2.0 * (double)(best / W) + 1) / (double)H - 1);
    }
    rc = st ? CL_SUCCESS : clEnqueueWriteBuffer(d->q, d->P, CL_TRUE, 0, N * np * d->rs, P, 0, NULL, NULL);
    if (st == TB_OK && rc != CL_SUCCESS)
        st = tb_cl_fail(err, rc, "uploading the twin fit's start");
    free(S);
    free(P);
    return st;
}

static tb_status copy(fit_dev *d, cl_mem from, cl_mem to, size_t n, tb_error *err)
{
    cl_int rc = clEnqueueCopyBuffer(d->q, from, to, 0, 0, n * d->rs, 0, NULL, NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "keeping the twin fit's best parameters");
}

static tb_status zero(fit_dev *d, cl_mem m, size_t n, tb_error *err)
{
    cl_double z = 0;
    cl_int rc = clEnqueueFillBuffer(d->q, m, &z, d->rs, 0, n * d->rs, 0, NULL, NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "resetting the twin fit's moments");
}

typedef struct loop_state {
    long step, since, decays_left;
    double lr, best;
} loop_state;

/* One epoch: the step, the losses, the bookkeeping of early stopping.
 * *stop when the patience ran out with no step-size cut left. */
static tb_status epoch(fit_dev *d, loop_state *s, size_t N, size_t C, size_t H, size_t W, size_t n_train,
                       size_t n_val, const tw_fit_options *o, void *L, tw_fit_report *rep, bool *stop, tb_error *err)
{
    s->step++;
    kargs a = {d->epoch, 0, CL_SUCCESS, d->rs};
    k_mem(&a, d->F), k_long(&a, d->T), k_mem(&a, d->Y), k_mem(&a, d->idx), k_long(&a, n_train), k_long(&a, n_val);
    k_mem(&a, d->P), k_mem(&a, d->G), k_mem(&a, d->M), k_mem(&a, d->V), k_mem(&a, d->L);
    k_long(&a, N), k_long(&a, C), k_long(&a, H), k_long(&a, W);
    cl_int expo = o->exp_output;
    k_arg(&a, sizeof expo, &expo);
    k_real(&a, s->lr), k_real(&a, 1 - pow(0.9, (double)s->step)), k_real(&a, 1 - pow(0.999, (double)s->step));
    if (a.rc != CL_SUCCESS)
        return tb_cl_fail(err, a.rc, "setting the twin fit's arguments");
    tb_status st = launch(d, d->epoch, N, "a twin fit step", err);
    cl_int rc = st ? CL_SUCCESS : clEnqueueReadBuffer(d->q, d->L, CL_TRUE, 0, 2 * N * d->rs, L, 0, NULL, NULL);
    if (st == TB_OK && rc != CL_SUCCESS)
        st = tb_cl_fail(err, rc, "reading the twin fit's losses");
    if (st)
        return st;
    double train = 0, val = 0;
    for (size_t n = 0; n < N; ++n)
        train += real_at(d, L, 2 * n), val += real_at(d, L, 2 * n + 1);
    train /= (double)N, val /= (double)N;
    long e = rep->epochs++;
    rep->train_curve[e] = train, rep->val_curve[e] = val;
    if (!isfinite(val) || !isfinite(train))
        return tb_error_set(err, TB_ERR_DIVERGED,
                            "twin fit: the loss is no longer finite at epoch %ld (try a smaller --lr)", e + 1);
    if (val < s->best) {
        s->best = val, s->since = 0;
        rep->best_epoch = e + 1, rep->best_val = val, rep->train_at_best = train;
        return copy(d, d->P, d->best, N * (C + 3), err);
    }
    if (++s->since < o->patience)
        return TB_OK;
    if (s->decays_left-- <= 0) {
        *stop = true;
        return TB_OK;
    }
    /* a plateau: back to the best parameters with a tenth of the step */
    s->lr /= 10, s->since = 0, s->step = 0;
    size_t np = N * (C + 3);
    st = copy(d, d->best, d->P, np, err);
    st = st ? st : zero(d, d->M, np, err);
    return st ? st : zero(d, d->V, np, err);
}

static tb_status take_best(fit_dev *d, size_t N, size_t C, tw_readout *r, tb_error *err)
{
    size_t np = C + 3;
    void *P = malloc(N * np * d->rs);
    r->w = malloc((N * C + 1) * sizeof *r->w);
    r->bias = malloc((N + 1) * sizeof *r->bias);
    r->mu = malloc((2 * N + 1) * sizeof *r->mu);
    if (!P || !r->w || !r->bias || !r->mu) {
        free(P);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    cl_int rc = clEnqueueReadBuffer(d->q, d->best, CL_TRUE, 0, N * np * d->rs, P, 0, NULL, NULL);
    for (size_t n = 0; rc == CL_SUCCESS && n < N; ++n) {
        for (size_t c = 0; c < C; ++c)
            r->w[n * C + c] = real_at(d, P, n * np + c);
        r->bias[n] = real_at(d, P, n * np + C);
        r->mu[2 * n] = real_at(d, P, n * np + C + 1);
        r->mu[2 * n + 1] = real_at(d, P, n * np + C + 2);
    }
    free(P);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "reading the fitted readout");
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Each part of the split in frame order: a full-batch step does not care
 * about the order, the caches do. */
static int *sorted_split(const int *idx, size_t n_train, size_t n_val)
{
    int *o = malloc((n_train + n_val + 1) * sizeof *o);
    if (o) {
        memcpy(o, idx, (n_train + n_val) * sizeof *o);
        qsort(o, n_train, sizeof *o, cmp_int);
        qsort(o + n_train, n_val, sizeof *o, cmp_int);
    }
    return o;
}

tb_status tw_fit_run(tb_device *dev, tb_precision prec, const void *features, const void *responses, size_t T, size_t C,
                     size_t H, size_t W, const int *idx, size_t n_train, size_t n_val, const tw_fit_options *o,
                     tw_readout *r, tw_fit_report *rep, tb_error *err)
{
    size_t N = r->units;
    fit_dev d = {.dev = dev, .q = tb_device_queue(dev), .prec = prec};
    d.rs = prec == TB_DOUBLE ? sizeof(double) : sizeof(float);
    memset(rep, 0, sizeof *rep);
    rep->val_curve = malloc(((size_t)o->max_epochs + 1) * sizeof *rep->val_curve);
    rep->train_curve = malloc(((size_t)o->max_epochs + 1) * sizeof *rep->train_curve);
    void *L = malloc(2 * N * d.rs);
    tb_status st = rep->val_curve && rep->train_curve && L ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    int *order = st ? NULL : sorted_split(idx, n_train, n_val);
    if (st == TB_OK && !order)
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    st = st ? st : fit_dev_open(&d, features, responses, order, T, C, H * W, N, err);
    st = st ? st : initial(&d, responses, order, n_train, N, C, H, W, o->exp_output, err);
    free(order);
    st = st ? st : copy(&d, d.P, d.best, N * (C + 3), err);
    loop_state s = {.decays_left = o->decays, .lr = o->lr, .best = INFINITY};
    bool stop = false;
    while (st == TB_OK && !stop && rep->epochs < o->max_epochs) {
        st = epoch(&d, &s, N, C, H, W, n_train, n_val, o, L, rep, &stop, err);
        if (st == TB_OK && !o->quiet && rep->epochs % 50 == 0)
            fprintf(stderr, "twin fit: epoch %ld: training loss %.6g, validation loss %.6g (best %.6g at %ld)\n",
                    rep->epochs, rep->train_curve[rep->epochs - 1], rep->val_curve[rep->epochs - 1], rep->best_val,
                    rep->best_epoch);
    }
    st = st ? st : take_best(&d, N, C, r, err);
    free(L);
    fit_dev_free(&d);
    return st;
}
