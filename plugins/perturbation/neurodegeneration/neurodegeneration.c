/* Neurodegeneration: a pathology spreading on the connectome by network
 * diffusion (Raj, Kuceyeski and Weiner 2012), atrophy lowering the
 * weights and a chosen parameter of the regions it reaches, at chosen
 * disease times (epochs) laid side by side along the run. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "twinbrain/perturb.h"

static const char *const laplacians[] = {"normalized", "plain", NULL};

static const tb_param_info params[] = {
    {"beta", 0.5, "1/year", TB_POSITIVE, INFINITY, "diffusivity: dx/dt = -beta H x"},
    {"epochs", 0, "years", 0, INFINITY, "disease times simulated, one window of the run each (default 0 1 2 4 8)",
     TB_PARAM_REALS},
    {"atrophy", 0.5, "", 0, 1, "weight lost at full pathology: w_ij scaled by (1 - atrophy x_i)(1 - atrophy x_j)"},
    {"parameter", 0, "", 0, 0, "a model parameter lowered where the pathology is (\"\": none)", TB_PARAM_STRING, ""},
    {"parameter_atrophy", 0.0, "", 0, 1, "the parameter is scaled by (1 - parameter_atrophy x_i)"},
    {"laplacian", 0, "", 0, 0, "normalized: H = I - D^-1/2 A D^-1/2 (Raj 2012); plain: H = D - A", TB_PARAM_STRING,
     "normalized", 0, laplacians},
};

static const char *const sets[] = {"seed", NULL};

/* H of the symmetrised connectome A = (W + W^T) / 2. */
static double *laplacian(const double *W, size_t N, bool normalized)
{
    double *H = calloc(N * N, sizeof *H), *deg = calloc(N, sizeof *deg);
    if (!H || !deg) {
        free(H), free(deg);
        return NULL;
    }
    for (size_t i = 0; i < N; ++i)
        for (size_t j = 0; j < N; ++j)
            deg[i] += 0.5 * (W[i * N + j] + W[j * N + i]);
    for (size_t i = 0; i < N; ++i)
        for (size_t j = 0; j < N; ++j) {
            double a = 0.5 * (W[i * N + j] + W[j * N + i]);
            if (normalized)
                H[i * N + j] = (i == j) - (deg[i] > 0 && deg[j] > 0 ? a / sqrt(deg[i] * deg[j]) : 0.0);
            else
                H[i * N + j] = (i == j ? deg[i] : 0.0) - a;
        }
    free(deg);
    return H;
}

/* x <- exp(-beta tau H) x, as m sub-steps of exp(A / m) x by Taylor
 * series, m large enough that each step's norm is at most 1/2. */
static void diffuse(const double *H, size_t N, double s, double *x, double *term, double *next)
{
    double norm = 0;
    for (size_t j = 0; j < N; ++j) {
        double col = 0;
        for (size_t i = 0; i < N; ++i)
            col += fabs(H[i * N + j]);
        norm = col > norm ? col : norm;
    }
    size_t m = (size_t)ceil(norm * s / 0.5);
    if (m < 1)
        m = 1;
    double h = -s / (double)m;
    for (size_t step = 0; step < m; ++step) {
        memcpy(term, x, N * sizeof *x);
        for (int k = 1; k < 60; ++k) {
            double big = 0, xs = 0;
            for (size_t i = 0; i < N; ++i) {
                double acc = 0;
                for (size_t j = 0; j < N; ++j)
                    acc += H[i * N + j] * term[j];
                next[i] = acc * h / k;
            }
            for (size_t i = 0; i < N; ++i) {
                term[i] = next[i];
                x[i] += term[i];
                big = fmax(big, fabs(term[i]));
                xs = fmax(xs, fabs(x[i]));
            }
            if (big <= 1e-17 * xs)
                break;
        }
    }
}

static tb_status epoch(tb_perturb_ctx *ctx, double t, const double *x, const size_t *all, double *f, tb_error *err)
{
    size_t N = ctx->n_units;
    double a = ctx->num(ctx, "atrophy"), pa = ctx->num(ctx, "parameter_atrophy");
    for (size_t i = 0; i < N; ++i)
        f[i] = 1.0 - a * fmin(1.0, fmax(0.0, x[i]));
    tb_perturb_action e = {.op = TB_OP_EDGES, .t = t, .t_end = INFINITY, .units = all, .n_units = N,
                           .units_to = all, .n_units_to = N, .value = 1.0, .per_unit = f, .per_unit_to = f,
                           .instance = -1};
    tb_status st = ctx->emit(ctx, &e, err);
    const char *p = ctx->str(ctx, "parameter");
    if (st == TB_OK && p && *p) {
        for (size_t i = 0; i < N; ++i)
            f[i] = 1.0 - pa * fmin(1.0, fmax(0.0, x[i]));
        tb_perturb_action q = {.op = TB_OP_PARAM, .t = t, .t_end = INFINITY, .units = all, .n_units = N,
                               .name = p, .mode = TB_PERTURB_SCALE, .per_unit = f, .instance = -1};
        st = ctx->emit(ctx, &q, err);
    }
    return st;
}

static tb_status plan(tb_perturb_ctx *ctx, tb_error *err)
{
    if (!ctx->weights)
        return ctx->fail(ctx, NULL, err, "neurodegeneration spreads on a connectome: mass scenarios only");
    static const double default_epochs[] = {0, 1, 2, 4, 8};
    size_t ne = 0;
    const double *ep = ctx->nums(ctx, "epochs", &ne);
    double *epochs = malloc(((ep && ne) ? ne : 5) * sizeof *epochs);
    if (!epochs)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (ep && ne)
        memcpy(epochs, ep, ne * sizeof *epochs);
    else
        memcpy(epochs, default_epochs, sizeof default_epochs), ne = 5;
    for (size_t k = 1; k < ne; ++k)
        if (!(epochs[k] > epochs[k - 1])) {
            free(epochs);
            return ctx->fail(ctx, "epochs", err, "epochs must increase");
        }
    size_t N = ctx->n_units;
    const char *kind = ctx->str(ctx, "laplacian");
    double *H = laplacian(ctx->weights, N, !kind || strcmp(kind, "normalized") == 0);
    double *x = calloc(N, sizeof *x), *f = malloc(N * sizeof *f), *t1 = malloc(N * sizeof *t1),
           *t2 = malloc(N * sizeof *t2);
    size_t *all = malloc(N * sizeof *all);
    tb_status st = H && x && f && t1 && t2 && all ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t i = 0; st == TB_OK && i < N; ++i)
        all[i] = i;
    for (size_t i = 0; st == TB_OK && i < ctx->set_len[0]; ++i)
        x[ctx->sets[0][i]] = 1.0;
    double end = isfinite(ctx->until) ? ctx->until : ctx->duration, span = (end - ctx->from) / (double)ne;
    double beta = ctx->num(ctx, "beta"), at = 0;
    for (size_t k = 0; st == TB_OK && k < ne; ++k) {
        diffuse(H, N, beta * (epochs[k] - at), x, t1, t2);
        at = epochs[k];
        st = epoch(ctx, ctx->from + (double)k * span, x, all, f, err);
    }
    free(H), free(x), free(f), free(t1), free(t2), free(all), free(epochs);
    return st;
}

static const tb_perturbation table = {
    .head = TB_PERTURB_TABLE_HEADER,
    .needs = TB_OP_EDGES,
    .sets = sets,
    .n_required_sets = 1,
    .plan = plan,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_PERTURB_KIND,
    .name = "neurodegeneration",
    .version = "1.0",
    .summary = "network diffusion of a pathology (Raj 2012) with atrophy, simulated at chosen disease times",
    .doc = "The pathology x (1 at the seed regions at year 0) spreads on the symmetrised connectome\n"
           "A = (W + W^T) / 2:  dx/dt = -beta H x,  x(t) = expm(-beta H t) x(0), with H = I - D^-1/2 A\n"
           "D^-1/2 (normalized, Raj 2012) or D - A (plain), D the degrees. The run is cut into one window\n"
           "per epoch (disease time, years); from the start of window k the weights are the unperturbed\n"
           "ones scaled by (1 - atrophy x_i)(1 - atrophy x_j), x at epochs[k] clipped to [0, 1], and\n"
           "`parameter` (when given) is scaled by (1 - parameter_atrophy x_i): the brain at each disease\n"
           "time, side by side in one output (/perturbations/NAME/event_time_ms marks the windows, and\n"
           "unit_values holds 1 - atrophy x per region and epoch). The matrix exponential is applied to\n"
           "x by Taylor series in sub-steps of norm 1/2 (to about 1e-14). Mass kit only.\n"
           "References: Raj A., Kuceyeski A., Weiner M. (2012) A network diffusion model of disease\n"
           "progression in dementia. Neuron 73:1204-1215; Pandya S. et al. (2017) Predictive model of\n"
           "spread of progressive supranuclear palsy using directional network diffusion. Front Neurol\n"
           "8:692.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &table,
};

TB_PLUGIN_EXPORT(neurodegeneration) { (void)core; return &plugin; }
