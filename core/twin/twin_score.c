/* Scores of twin_score.h, one unit at a time. Variances of the FEV use
 * n - 1 (unbiased, as the noise variance over repeats must); those of
 * CC_max and CC_norm use n, as Schoppe et al. write them (their ratios do
 * not depend on the choice). */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "twin_score.h"

const char *const tw_score_names[TW_N_SCORES] = {
    "single_trial_correlation", "correlation_to_average", "fev", "feve", "cc_abs", "cc_max", "cc_norm"};

/* Values are taken relative to the unit's first kept response: every
 * measure is unchanged by a common shift of r and p, and the sums of
 * squares below lose less to cancellation for responses far from 0. */
typedef struct view {
    const double *r, *p;
    const tw_score_shape *sh;
    size_t u;
    double shift;
} view;

static double R(const view *v, size_t s, size_t k, size_t t)
{
    const tw_score_shape *sh = v->sh;
    return v->r[((s * sh->repeats + k) * sh->frames + t) * sh->units + v->u] - v->shift;
}

static double P(const view *v, size_t s, size_t t)
{
    return v->p[(s * v->sh->frames + t) * v->sh->units + v->u] - v->shift;
}

static double pearson(double n, double sx, double sy, double sxx, double syy, double sxy)
{
    double cxy = sxy - sx * sy / n, cxx = sxx - sx * sx / n, cyy = syy - sy * sy / n;
    return cxx > 0 && cyy > 0 ? cxy / sqrt(cxx * cyy) : NAN;
}

/* Mean over the kept frames of stimulus s: sum_t f, n of them. */
typedef struct sums {
    double n, r, p, rr, pp, rp;
} sums;

static void add(sums *a, double r, double p)
{
    a->n += 1, a->r += r, a->p += p, a->rr += r * r, a->pp += p * p, a->rp += r * p;
}

static void one_unit(const view *v, double fev_min, double *o)
{
    const tw_score_shape *sh = v->sh;
    size_t K = sh->repeats;
    sums trial = {0}, avg = {0};
    double noise = 0, mse = 0, var_sum_k = 0, sum_var_k = 0;
    double *ksum = calloc(K + 1, sizeof *ksum), *ksq = calloc(K + 1, sizeof *ksq);
    double tsum = 0, tsq = 0; /* sum over k of r, for Var(sum_k r_k) */
    if (!ksum || !ksq) {
        free(ksum), free(ksq);
        for (int m = 0; m < TW_N_SCORES; ++m)
            o[m] = NAN;
        return;
    }
    for (size_t s = 0; s < sh->stimuli; ++s)
        for (size_t t = sh->burn_in; t < sh->frames; ++t) {
            double p = P(v, s, t), m = 0, m2 = 0;
            for (size_t k = 0; k < K; ++k) {
                double r = R(v, s, k, t);
                add(&trial, r, p);
                m += r, m2 += r * r, mse += (r - p) * (r - p);
                ksum[k] += r, ksq[k] += r * r;
            }
            noise += (m2 - m * m / (double)K) / (double)(K - 1);
            tsum += m, tsq += m * m;
            add(&avg, m / (double)K, p);
        }
    double n = avg.n, N = trial.n;
    noise /= n, mse /= N;
    double total = (trial.rr - trial.r * trial.r / N) / (N - 1);
    for (size_t k = 0; k < K; ++k)
        sum_var_k += ksq[k] / n - (ksum[k] / n) * (ksum[k] / n);
    var_sum_k = tsq / n - (tsum / n) * (tsum / n);
    double sp = (var_sum_k - sum_var_k) / (double)(K * (K - 1));
    double var_avg = avg.rr / n - (avg.r / n) * (avg.r / n), var_p = avg.pp / n - (avg.p / n) * (avg.p / n);
    double cov = avg.rp / n - (avg.r / n) * (avg.p / n);
    o[TW_SCORE_SINGLE] = pearson(N, trial.r, trial.p, trial.rr, trial.pp, trial.rp);
    o[TW_SCORE_AVERAGE] = o[TW_SCORE_CC_ABS] = pearson(n, avg.r, avg.p, avg.rr, avg.pp, avg.rp);
    o[TW_SCORE_FEV] = total > 0 ? (total - noise) / total : NAN;
    o[TW_SCORE_FEVE] = o[TW_SCORE_FEV] >= fev_min ? 1 - (mse - noise) / (total - noise) : NAN;
    o[TW_SCORE_CC_MAX] = sp > 0 && var_avg > 0 ? sqrt(sp / var_avg) : NAN;
    o[TW_SCORE_CC_NORM] = sp > 0 && var_p > 0 ? cov / sqrt(var_p * sp) : NAN;
    free(ksum);
    free(ksq);
}

void tw_score(const double *r, const double *p, const tw_score_shape *sh, double fev_min, double **out)
{
    double o[TW_N_SCORES];
    for (size_t u = 0; u < sh->units; ++u) {
        view v = {r, p, sh, u, 0};
        v.shift = R(&v, 0, 0, sh->burn_in);
        one_unit(&v, fev_min, o);
        for (int m = 0; m < TW_N_SCORES; ++m)
            out[m][u] = o[m];
    }
}
