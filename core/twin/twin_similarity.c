/* Pairwise like-to-like measures between a twin's units (twin_similarity.h;
 * definitions and references in docs/twin.md). */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "twin_similarity.h"

double tw_signal_correlation(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i)
        ma += a[i], mb += b[i];
    ma /= (double)n, mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        double x = a[i] - ma, y = b[i] - mb;
        sab += x * y, saa += x * x, sbb += y * y;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

double tw_cosine_similarity(const double *a, const double *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; ++i)
        ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : NAN;
}

/* D_B = sum over axes of d^2 / (8 s^2) + ln(s^2 / (sa sb)) / 2 with s^2 the
 * mean of the variances; the coefficient is exp(-D_B). */
double tw_rf_overlap(const double *ca, const double *sa, const double *cb, const double *sb)
{
    double db = 0;
    for (int k = 0; k < 2; ++k) {
        double va = sa[k] * sa[k], vb = sb[k] * sb[k], v = (va + vb) / 2, d = ca[k] - cb[k];
        if (!(va > 0 && vb > 0) || !isfinite(d))
            return NAN;
        db += d * d / (8 * v) + 0.5 * log(v / sqrt(va * vb));
    }
    return exp(-db);
}

double tw_orientation_difference(double a, double b)
{
    double d = fmod(fabs(a - b), 180.0);
    return d > 90 ? 180 - d : d;
}

void tw_pair_measures_free(tw_pair_measures *m)
{
    free(m->signal), free(m->feature), free(m->overlap), free(m->distance), free(m->orientation);
    *m = (tw_pair_measures){0};
}

static double *alloc_if(bool want, size_t n, bool *ok)
{
    if (!want)
        return NULL;
    double *v = malloc((n + 1) * sizeof *v);
    *ok = *ok && v;
    return v;
}

bool tw_similarity_pairs(const tw_embeddings *e, const size_t *a, const size_t *b, size_t P, tw_pair_measures *m)
{
    bool ok = true;
    *m = (tw_pair_measures){alloc_if(e->resp, P, &ok), alloc_if(e->features, P, &ok), alloc_if(e->centre, P, &ok),
                            alloc_if(e->centre, P, &ok), alloc_if(e->po, P, &ok)};
    if (!ok) {
        tw_pair_measures_free(m);
        return false;
    }
    size_t S = e->n_samples, C = e->n_features;
    for (size_t k = 0; k < P; ++k) {
        size_t i = a[k], j = b[k];
        if (m->signal)
            m->signal[k] = tw_signal_correlation(e->resp + i * S, e->resp + j * S, S);
        if (m->feature)
            m->feature[k] = tw_cosine_similarity(e->features + i * C, e->features + j * C, C);
        if (m->overlap) {
            const double *ci = e->centre + 2 * i, *cj = e->centre + 2 * j;
            double si[2] = {fabs(e->sigma[2 * i]), fabs(e->sigma[2 * i + 1])};
            double sj[2] = {fabs(e->sigma[2 * j]), fabs(e->sigma[2 * j + 1])};
            m->overlap[k] = tw_rf_overlap(ci, si, cj, sj);
            m->distance[k] = hypot(ci[0] - cj[0], ci[1] - cj[1]);
        }
        if (m->orientation)
            m->orientation[k] = tw_orientation_difference(e->po[i], e->po[j]);
    }
    return true;
}
