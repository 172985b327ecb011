/* What a [brain] writes: /brain (the regions, and the region of every
 * population, so spikes map to regions) and the [[brain.monitor]] signals
 * per region, from the population spike counts of each step that come
 * back with every chunk:
 *   region_rates: spikes of the region's chosen populations in a bin /
 *                 (their neurons x bin), Hz;
 *   bold:         the Balloon-Windkessel model (core/bold.c, the neural-mass
 *                 kit's equations and Euler scheme) driven every step by
 *                 z = scale x the region's rate in that step (Hz), sampled
 *                 every period. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "brain_monitor.h"
#include "util.h"

typedef struct brain_mon {
    const tb_spk_brain_monitor *spec;
    uint64_t period; /* steps */
    double *neurons; /* [R] neurons pooled per region */
    double *acc;     /* [R] spikes in the open bin (region_rates) */
    double *st;      /* [4 R] balloon states (bold) */
    tb_dataset *data, *time;
} brain_mon;

struct spk_brain_rt {
    brain_mon *m;
    size_t n;
};

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

void spk_brain_free(spk *k)
{
    spk_brain_rt *rt = k->brain_rt;
    for (size_t i = 0; rt && i < rt->n; ++i) {
        free(rt->m[i].neurons);
        free(rt->m[i].acc);
        free(rt->m[i].st);
    }
    if (rt)
        free(rt->m);
    free(rt);
    k->brain_rt = NULL;
}

tb_status spk_brain_plan(spk *k, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    if (!b || b->n_monitors == 0)
        return TB_OK;
    spk_brain_rt *rt = k->brain_rt = calloc(1, sizeof *rt);
    if (!rt || !(rt->m = calloc(b->n_monitors, sizeof *rt->m)))
        return oom(err);
    for (size_t i = 0; i < b->n_monitors; ++i) {
        brain_mon *m = &rt->m[rt->n++];
        m->spec = &b->monitors[i];
        m->period = (uint64_t)llround(m->spec->period / k->sc->dt);
        m->neurons = calloc(b->R, sizeof *m->neurons);
        m->acc = calloc(b->R, sizeof *m->acc);
        m->st = calloc(4 * b->R, sizeof *m->st);
        if (!m->neurons || !m->acc || !m->st)
            return oom(err);
        for (size_t r = 0; r < b->R; ++r)
            tb_bold_rest(m->st + 4 * r);
        for (size_t j = 0; j < m->spec->n_templates; ++j)
            for (size_t r = 0; r < b->R; ++r) {
                const spk_pop *p = &k->pops[tb_spk_brain_pop(b, m->spec->templates[j], r)];
                m->neurons[r] += (double)p->n;
                /* their spikes are counted per step on the device */
                for (uint64_t n = 0; n < p->n; ++n)
                    k->recorded[p->lo + n] |= 2;
            }
    }
    k->any_rates = true;
    return TB_OK;
}

static tb_status declare_regions(spk *k, tb_output *out, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    int64_t *region = malloc((k->n_pops + 1) * sizeof *region), *tmpl = malloc((k->n_pops + 1) * sizeof *tmpl);
    if (!region || !tmpl) {
        free(region), free(tmpl);
        return oom(err);
    }
    for (size_t p = 0; p < k->n_pops; ++p) {
        region[p] = tb_spk_brain_region_of(k->ss, p);
        tmpl[p] = region[p] < 0 ? -1 : (int64_t)(p / b->R);
    }
    uint64_t np = k->n_pops;
    tb_status st = tb_output_write_strings(out, "/brain/region_labels", (const char *const *)b->labels, b->R, err);
    if (st == TB_OK)
        st = tb_output_write_array(out, "/brain/population_region", TB_I64, 1, &np, region, err);
    if (st == TB_OK)
        st = tb_output_write_array(out, "/brain/population_template", TB_I64, 1, &np, tmpl, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, "/brain", "templates", (const char *const *)b->templates, b->T, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/brain", "connectome", b->file, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/brain", "speed_mm_per_ms", b->speed, err);
    free(region);
    free(tmpl);
    return st;
}

static tb_status declare_monitor(spk *k, tb_output *out, brain_mon *m, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    bool bold = m->spec->kind == TB_BRAIN_BOLD;
    char *d = tb_asprintf("/monitors/%s/data", m->spec->name), *t = tb_asprintf("/monitors/%s/time", m->spec->name);
    uint64_t dims[3] = {1, b->R, 1};
    const char *var[] = {bold ? "bold" : "rate"}, *unit[] = {bold ? "" : "Hz"};
    const char **pops = calloc(m->spec->n_templates + 1, sizeof *pops);
    tb_status st = d && t && pops ? TB_OK : oom(err);
    for (size_t i = 0; pops && i < m->spec->n_templates; ++i)
        pops[i] = b->templates[m->spec->templates[i]];
    if (st == TB_OK)
        st = tb_output_dataset_create(out, d, TB_F64, 4, dims, 0, &m->data, err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, t, TB_F64, 1, NULL, 4096, &m->time, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "kind", bold ? "bold" : "region_rates", err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, d, "period_ms", m->spec->period, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "variables", var, 1, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "units", unit, 1, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "populations", pops, m->spec->n_templates, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "time_convention",
                                   bold ? "time[k] is the time of the BOLD signal sampled (Balloon-Windkessel "
                                          "integrated every step, driven by the region's rate)"
                                        : "time[k] is the end of the bin (t - bin, t]; rate = spikes in the bin / "
                                          "(the region's neurons x bin)",
                                   err);
    free(pops);
    free(d);
    free(t);
    return st;
}

tb_status spk_brain_declare(spk *k, tb_output *out, tb_error *err)
{
    if (!k->ss->brain)
        return TB_OK;
    tb_status st = declare_regions(k, out, err);
    for (size_t i = 0; st == TB_OK && k->brain_rt && i < k->brain_rt->n; ++i)
        st = declare_monitor(k, out, &k->brain_rt->m[i], err);
    return st;
}

static tb_status drain_one(spk *k, const tb_chunk *p, const uint32_t *pc, brain_mon *m, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    size_t R = b->R;
    uint64_t rows_max = p->n / m->period + 1;
    double *rows = malloc(rows_max * R * sizeof *rows), *times = malloc(rows_max * sizeof *times);
    double *cnt = malloc(R * sizeof *cnt);
    if (!rows || !times || !cnt) {
        free(rows), free(times), free(cnt);
        return oom(err);
    }
    double dt_s = k->sc->dt * 1e-3;
    bool bold = m->spec->kind == TB_BRAIN_BOLD;
    uint64_t nrow = 0;
    for (uint64_t s = 0; s < p->n; ++s) {
        for (size_t r = 0; r < R; ++r)
            cnt[r] = 0;
        for (size_t j = 0; j < m->spec->n_templates; ++j)
            for (size_t r = 0; r < R; ++r)
                cnt[r] += pc[s * k->n_pops + tb_spk_brain_pop(b, m->spec->templates[j], r)];
        for (size_t r = 0; r < R; ++r) {
            if (bold)
                tb_bold_step(&m->spec->bold, dt_s, cnt[r] / (m->neurons[r] * dt_s), m->st + 4 * r);
            else
                m->acc[r] += cnt[r];
        }
        uint64_t t = p->step0 + s + 1;
        if (t % m->period != 0)
            continue;
        for (size_t r = 0; r < R; ++r) {
            rows[nrow * R + r] = bold ? tb_bold_signal(&m->spec->bold, m->st + 4 * r)
                                      : m->acc[r] / (m->neurons[r] * (double)m->period * dt_s);
            m->acc[r] = 0;
        }
        times[nrow++] = (double)t * k->sc->dt;
    }
    tb_status st = tb_output_dataset_append(m->data, rows, nrow, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(m->time, times, nrow, err);
    k->samples += nrow;
    free(rows), free(times), free(cnt);
    return st;
}

tb_status spk_brain_drain(spk *k, const tb_chunk *p, const uint32_t *pc, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && k->brain_rt && i < k->brain_rt->n; ++i)
        st = drain_one(k, p, pc, &k->brain_rt->m[i], err);
    return st;
}
