/* The host's part of the connectome rule: the sizes the partitions and
 * the memory checks need, and the wiring uploaded for the connectivity
 * kernel, which draws each target neuron's sources region by region. */
#include "config.h"

#include <stdlib.h>

#include "brain_connect.h"

uint64_t spk_span_size(const spk *k, size_t first, size_t span)
{
    const spk_pop *a = &k->pops[first], *z = &k->pops[first + span - 1];
    return z->lo + z->n - a->lo;
}

void spk_wiring_indegrees(const tb_spk_projection *pr, double *in)
{
    const tb_spk_wiring *w = pr->wiring;
    for (size_t j = 0; w && j < w->R; ++j)
        for (uint32_t e = w->eptr[j]; e < w->eptr[j + 1]; ++e)
            in[pr->target + j] += w->ecount[e];
}

double spk_wiring_synapses(const spk *k, const tb_spk_projection *pr)
{
    const tb_spk_wiring *w = pr->wiring;
    double n = 0;
    for (size_t j = 0; w && j < w->R; ++j)
        for (uint32_t e = w->eptr[j]; e < w->eptr[j + 1]; ++e)
            n += (double)w->ecount[e] * (double)k->pops[pr->target + j].n;
    return n;
}

tb_status spk_wiring_upload(spk *k, const tb_spk_projection *pr, cl_mem *rows, cl_mem *pairs, cl_mem *unused,
                            cl_mem *delays, tb_error *err)
{
    const tb_spk_wiring *w = pr->wiring;
    size_t R = w->R, E = w->eptr[R];
    uint32_t *r = malloc(3 * (R + 1) * sizeof *r), *p = malloc((2 * E + 2) * sizeof *p);
    int32_t *d = calloc(E + 1, sizeof *d);
    if (!r || !p || !d) {
        free(r), free(p), free(d);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    uint64_t t0 = k->pops[pr->target].lo, s0 = k->pops[pr->source.index].lo;
    for (size_t j = 0; j <= R; ++j) {
        r[j] = w->eptr[j];
        r[R + 1 + j] = (uint32_t)(j < R ? k->pops[pr->target + j].lo - t0 : spk_span_size(k, pr->target, R));
        r[2 * R + 2 + j] =
            (uint32_t)(j < R ? k->pops[pr->source.index + j].lo - s0 : spk_span_size(k, pr->source.index, R));
    }
    for (size_t e = 0; e < E; ++e)
        p[2 * e] = w->esrc[e], p[2 * e + 1] = w->ecount[e], d[e] = w->edelay[e];
    *rows = tb_device_alloc(k->dev, 3 * (R + 1) * 4, r, "connectome rows", err);
    *pairs = *rows ? tb_device_alloc(k->dev, (2 * E + 2) * 4, p, "connectome edges", err) : NULL;
    *unused = *pairs ? tb_device_alloc(k->dev, 16, NULL, "connectome (unused)", err) : NULL;
    *delays = *unused ? tb_device_alloc(k->dev, (E + 1) * 4, d, "connectome delays", err) : NULL;
    free(r), free(p), free(d);
    return *delays ? TB_OK : err && err->status ? err->status : TB_ERR_DEVICE;
}
