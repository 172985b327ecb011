/* What a [brain] writes: /brain (the regions, and the region of every
 * population, so spikes map to regions) and the [[brain.monitor]] signals
 * per region, from the population spike counts of each step that come
 * back with every chunk:
 *   region_rates: spikes of the region's chosen populations in a bin /
 *                 (their neurons x bin), Hz;
 *   bold:         the Balloon-Windkessel model (core/bold.c, the neural-mass
 *                 kit's equations and Euler scheme) driven every step by
 *                 z = scale x the region's rate in that step (Hz), sampled
 *                 every period;
 *   lfp:          an LFP proxy: the sum over the region's chosen neurons of
 *                 the absolute values of chosen state variables (by default
 *                 the synaptic currents), sampled at the end of every
 *                 period (Mazzoni et al. 2008). The state comes back as a
 *                 state record of the kit without a dataset of its own;
 *   edge_spikes:  per connectome edge i -> j and bin, the synaptic events
 *                 (a spike of a neuron of region i through each of its
 *                 synapses onto region j's neurons) and the source spikes
 *                 (spikes of region i's neurons with at least one synapse
 *                 onto region j), counted at the spike's time. The
 *                 sources' spikes come back one by one, as a spike
 *                 record's, and a table built once from the network after
 *                 it is generated gives each source's synapses per edge. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "brain_assimilate.h"
#include "brain_monitor.h"
#include "checkpoint.h"
#include "util.h"

typedef struct brain_mon {
    const tb_spk_brain_monitor *spec;
    uint64_t period; /* steps */
    double *neurons; /* [R] neurons pooled per region */
    double *acc;     /* [R] spikes in the open bin (region_rates) */
    double *st;      /* [4 R] balloon states (bold) */
    uint64_t *roff;  /* [R + 1] lfp: each region's entries in its state record's rows */
    size_t srec;     /* lfp: its state record in k->srec */
    double *open;    /* [2 E] edge_spikes: events and spikes per edge in the open bin */
    tb_dataset *data, *time;
} brain_mon;

/* Each source neuron's synapses per edge (edge_spikes), from the network:
 * the entries optr[s - s_lo] .. optr[s - s_lo + 1] - 1 of source s, each
 * an edge and the source's synapses along it. Edges are ordered by
 * (target region, source region), as /brain/connectome_edges. */
typedef struct edge_table {
    uint64_t s_lo, s_hi;
    uint64_t *optr;
    uint32_t *edge, *count;
    uint64_t n, cap;
    size_t E;
    uint32_t *src, *tgt; /* [E] regions */
} edge_table;

struct spk_brain_rt {
    brain_mon *m;
    size_t n;
    edge_table *et; /* NULL until declared, or without edge_spikes */
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
        free(rt->m[i].roff);
        free(rt->m[i].open);
    }
    if (rt && rt->et) {
        free(rt->et->optr), free(rt->et->edge), free(rt->et->count);
        free(rt->et->src), free(rt->et->tgt);
        free(rt->et);
    }
    if (rt)
        free(rt->m);
    free(rt);
    k->brain_rt = NULL;
}

/* An lfp monitor's rows of a chunk stay within LFP_BUDGET state entries. */
#define LFP_BUDGET ((uint64_t)8 << 20)

static void limit_chunk(spk *k, const brain_mon *m)
{
    uint64_t per_row = 0;
    for (size_t r = 0; r < k->ss->brain->R; ++r)
        per_row += (uint64_t)m->neurons[r] * m->spec->n_variables;
    uint64_t rows = per_row ? LFP_BUDGET / per_row : 0, kmax = rows > 1 ? (rows - 1) * m->period : m->period;
    if (kmax < k->kmax)
        k->kmax = kmax;
}

/* An edge_spikes monitor's bins of a chunk (two values per edge, at most
 * every ordered pair of regions) stay within EDGE_BUDGET values. */
#define EDGE_BUDGET ((uint64_t)8 << 20)

static void limit_edge_chunk(spk *k, const brain_mon *m)
{
    uint64_t R = k->ss->brain->R, per_bin = 2 * R * (R > 0 ? R - 1 : 0);
    uint64_t bins = per_bin ? EDGE_BUDGET / per_bin : 0, kmax = bins > 1 ? (bins - 1) * m->period : m->period;
    if (kmax < k->kmax)
        k->kmax = kmax;
}

bool spk_brain_wants_network(const spk *k)
{
    const tb_spk_brain *b = k->ss->brain;
    for (size_t i = 0; b && i < b->n_monitors; ++i)
        if (b->monitors[i].kind == TB_BRAIN_EDGE_SPIKES)
            return true;
    return false;
}

/* The populations whose synapses may reach another region: the sources
 * of connectome rules, and of projections between two regions' populations. */
void spk_brain_mark_sources(spk *k)
{
    const tb_spiking_scenario *ss = k->ss;
    size_t nb = tb_spk_brain_pops(ss);
    for (size_t i = 0; spk_brain_wants_network(k) && i < ss->n_projs; ++i) {
        const tb_spk_projection *pr = &ss->projs[i];
        if (pr->source.is_input || pr->source.index >= nb)
            continue;
        size_t span = pr->rule == TB_RULE_CONNECTOME ? pr->span : 1;
        bool across = pr->target < nb && tb_spk_brain_region_of(ss, pr->source.index) !=
                                             tb_spk_brain_region_of(ss, pr->target);
        if (pr->rule != TB_RULE_CONNECTOME && !across)
            continue;
        for (size_t q = pr->source.index; q < pr->source.index + span && q < nb; ++q)
            for (uint64_t n = 0; n < k->pops[q].n; ++n)
                k->recorded[k->pops[q].lo + n] |= 1;
    }
}

size_t spk_brain_n_state(const spk *k)
{
    size_t n = 0;
    for (size_t i = 0; k->brain_rt && i < k->brain_rt->n; ++i)
        n += k->brain_rt->m[i].spec->kind == TB_BRAIN_LFP;
    return n;
}

/* Every chosen neuron's variables, region by region. */
static tb_status plan_lfp(spk *k, brain_mon *m, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    const tb_spk_brain_monitor *s = m->spec;
    m->roff = calloc(b->R + 1, sizeof *m->roff);
    uint64_t count = 0;
    for (size_t r = 0; r < b->R; ++r)
        count += (uint64_t)m->neurons[r] * s->n_variables;
    cl_ulong *idx = malloc((count + 1) * sizeof *idx);
    if (!m->roff || !idx) {
        free(idx);
        return oom(err);
    }
    uint64_t at = 0;
    for (size_t r = 0; r < b->R; ++r) {
        m->roff[r] = at;
        for (size_t j = 0; j < s->n_templates; ++j) {
            const spk_pop *p = &k->pops[tb_spk_brain_pop(b, s->templates[j], r)];
            for (uint64_t n = 0; n < p->n; ++n)
                for (size_t v = 0; v < s->n_variables; ++v)
                    idx[at++] = p->state_off + s->var_index[j * s->n_variables + v] * p->n + n;
        }
    }
    m->roff[b->R] = at;
    m->srec = k->n_srec;
    spk_state_rec *sr = &k->srec[k->n_srec++];
    tb_status st = spk_state_rec_make(k, sr, idx, count, m->period, err);
    free(idx);
    return st;
}

tb_status spk_brain_plan_state(spk *k, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && k->brain_rt && i < k->brain_rt->n; ++i)
        if (k->brain_rt->m[i].spec->kind == TB_BRAIN_LFP)
            st = plan_lfp(k, &k->brain_rt->m[i], err);
    return st;
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
                for (uint64_t n = 0; m->spec->kind != TB_BRAIN_LFP && n < p->n; ++n)
                    k->recorded[p->lo + n] |= 2;
            }
        if (m->spec->kind == TB_BRAIN_LFP)
            limit_chunk(k, m);
        if (m->spec->kind == TB_BRAIN_EDGE_SPIKES)
            limit_edge_chunk(k, m);
    }
    k->any_rates = true;
    return TB_OK;
}

/* Every edge a connectome rule wired: /brain/connectome_edges/<n> for the
 * n-th such rule, one row per edge that carries synapses. */
static tb_status declare_edges(spk *k, tb_output *out, size_t n, const tb_spk_projection *pr, tb_error *err)
{
    const tb_spk_wiring *w = pr->wiring;
    const tb_spk_brain *b = k->ss->brain;
    uint64_t E = w->eptr[w->R];
    int64_t *col[4];
    double *ms = malloc((E + 1) * sizeof *ms);
    for (int c = 0; c < 4; ++c)
        col[c] = malloc((E + 1) * sizeof **col);
    tb_status st = ms && col[0] && col[1] && col[2] && col[3] ? TB_OK : oom(err);
    for (size_t j = 0; st == TB_OK && j < w->R; ++j)
        for (uint32_t e = w->eptr[j]; e < w->eptr[j + 1]; ++e) {
            col[0][e] = w->esrc[e], col[1][e] = (int64_t)j, col[2][e] = w->ecount[e], col[3][e] = w->edelay[e];
            ms[e] = w->edelay[e] * k->sc->dt;
        }
    static const char *const names[] = {"source_region", "target_region", "synapses_per_neuron", "delay_steps"};
    char *g = tb_asprintf("/brain/connectome_edges/%zu", n);
    for (int c = 0; st == TB_OK && c < 4; ++c) {
        char *d = tb_asprintf("%s/%s", g, names[c]);
        st = d ? tb_output_write_array(out, d, TB_I64, 1, &E, col[c], err) : oom(err);
        free(d);
    }
    char *d = tb_asprintf("%s/delay_ms", g);
    if (st == TB_OK)
        st = d ? tb_output_write_array(out, d, TB_F64, 1, &E, ms, err) : oom(err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, g, "source_template", b->templates[pr->source.index / b->R], err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, g, "target_template", b->templates[pr->target / b->R], err);
    free(d), free(g), free(ms);
    for (int c = 0; c < 4; ++c)
        free(col[c]);
    return st;
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
    for (size_t i = 0, n = 0; st == TB_OK && i < k->ss->n_projs; ++i)
        if (k->ss->projs[i].rule == TB_RULE_CONNECTOME && k->ss->projs[i].wiring)
            st = declare_edges(k, out, n++, &k->ss->projs[i], err);
    free(region);
    free(tmpl);
    return st;
}

/* ------------------------------------------------------------ edge_spikes */

typedef struct edge_build {
    const spk *k;
    edge_table *et;
    int32_t *region; /* [N] region of each neuron, -1 outside the brain */
    uint32_t *cnt;   /* [R] the source's synapses per target region */
    uint32_t *seen;  /* [R] target regions it reaches */
    uint8_t *wired;  /* [R * R] target-major: the pair has a synapse */
} edge_build;

static tb_status add_source(void *ctx, uint64_t s, const uint64_t *tg, uint64_t n, tb_error *err)
{
    edge_build *b = ctx;
    edge_table *et = b->et;
    size_t R = b->k->ss->brain->R, ns = 0;
    int32_t i = b->region[s];
    for (uint64_t x = 0; i >= 0 && x < n; ++x) {
        int32_t j = tg[x] < b->k->N ? b->region[tg[x]] : -1;
        if (j >= 0 && j != i && b->cnt[j]++ == 0)
            b->seen[ns++] = (uint32_t)j;
    }
    if (et->n + ns > et->cap) {
        uint64_t cap = 2 * (et->n + ns);
        uint32_t *e2 = realloc(et->edge, cap * sizeof *e2);
        if (e2)
            et->edge = e2;
        uint32_t *c2 = e2 ? realloc(et->count, cap * sizeof *c2) : NULL;
        if (!c2)
            return oom(err);
        et->count = c2;
        et->cap = cap;
    }
    for (size_t x = 0; x < ns; ++x) {
        uint32_t j = b->seen[x];
        et->edge[et->n] = j; /* the target region until the edges are numbered */
        et->count[et->n++] = b->cnt[j];
        b->cnt[j] = 0;
        b->wired[(size_t)j * R + (size_t)i] = 1;
    }
    et->optr[s - et->s_lo + 1] = ns;
    return TB_OK;
}

/* Edges numbered by (target, source); entries' target regions to edges. */
static tb_status number_edges(edge_build *b, tb_error *err)
{
    edge_table *et = b->et;
    size_t R = b->k->ss->brain->R;
    uint32_t *id = malloc((R * R + 1) * sizeof *id);
    if (!id)
        return oom(err);
    for (size_t x = 0; x < R * R; ++x)
        et->E += b->wired[x];
    et->src = malloc((et->E + 1) * sizeof *et->src);
    et->tgt = malloc((et->E + 1) * sizeof *et->tgt);
    if (!et->src || !et->tgt) {
        free(id);
        return oom(err);
    }
    for (size_t x = 0, e = 0; x < R * R; ++x)
        if (b->wired[x]) {
            id[x] = (uint32_t)e;
            et->tgt[e] = (uint32_t)(x / R), et->src[e++] = (uint32_t)(x % R);
        }
    uint64_t ns = et->s_hi - et->s_lo;
    for (uint64_t s = 0; s < ns; ++s)
        et->optr[s + 1] += et->optr[s];
    for (uint64_t s = 0; s < ns; ++s)
        for (uint64_t x = et->optr[s]; x < et->optr[s + 1]; ++x)
            et->edge[x] = id[(size_t)et->edge[x] * R + (size_t)b->region[et->s_lo + s]];
    free(id);
    return TB_OK;
}

/* Synapses read back per piece while the table is built. */
#define EDGE_PIECE ((uint64_t)1 << 20)

/* The table, from the synapses of the brain's neurons (read back once). */
static tb_status build_edges(spk *k, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    size_t nb = tb_spk_brain_pops(k->ss), R = b->R;
    edge_table *et = k->brain_rt->et = calloc(1, sizeof *et);
    edge_build eb = {.k = k, .et = et};
    if (!et)
        return oom(err);
    et->s_hi = nb ? k->pops[nb - 1].lo + k->pops[nb - 1].n : 0;
    et->optr = calloc(et->s_hi - et->s_lo + 1, sizeof *et->optr);
    eb.region = malloc((k->N + 1) * sizeof *eb.region);
    eb.cnt = calloc(R + 1, sizeof *eb.cnt);
    eb.seen = calloc(R + 1, sizeof *eb.seen);
    eb.wired = calloc(R * R + 1, 1);
    tb_status st = et->optr && eb.region && eb.cnt && eb.seen && eb.wired ? TB_OK : oom(err);
    for (uint64_t n = 0; st == TB_OK && n < k->N; ++n)
        eb.region[n] = -1;
    for (size_t p = 0; st == TB_OK && p < nb; ++p)
        for (uint64_t n = 0; n < k->pops[p].n; ++n)
            eb.region[k->pops[p].lo + n] = (int32_t)tb_spk_brain_region_of(k->ss, p);
    if (st == TB_OK)
        st = spk_scan_sources(k, et->s_lo, et->s_hi, EDGE_PIECE, add_source, &eb, err);
    if (st == TB_OK)
        st = number_edges(&eb, err);
    free(eb.region), free(eb.cnt), free(eb.seen), free(eb.wired);
    /* the synapse index (4 bytes per partition, source and delay) was kept
     * for this alone when no connections record (declared before the
     * brain's monitors) reads the network */
    bool keep = false;
    for (size_t i = 0; i < k->ss->n_records; ++i)
        keep |= k->ss->records[i].kind == TB_RECORD_CONNECTIONS;
    if (!keep) {
        free(k->boff_host);
        k->boff_host = NULL;
    }
    return st;
}

static tb_status declare_edge_table(spk *k, tb_output *out, const brain_mon *m, tb_error *err)
{
    const tb_spk_brain *b = k->ss->brain;
    const edge_table *et = k->brain_rt->et;
    uint64_t dims[2] = {et->E, 2};
    int64_t *pairs = malloc((2 * et->E + 1) * sizeof *pairs);
    const char **sl = malloc((et->E + 1) * sizeof *sl), **tl = malloc((et->E + 1) * sizeof *tl);
    char *d = tb_asprintf("/monitors/%s/edges", m->spec->name), *s = tb_asprintf("/monitors/%s/source_labels",
                                                                                 m->spec->name),
         *t = tb_asprintf("/monitors/%s/target_labels", m->spec->name);
    tb_status st = pairs && sl && tl && d && s && t ? TB_OK : oom(err);
    for (size_t e = 0; st == TB_OK && e < et->E; ++e) {
        pairs[2 * e] = et->src[e], pairs[2 * e + 1] = et->tgt[e];
        sl[e] = b->labels[et->src[e]], tl[e] = b->labels[et->tgt[e]];
    }
    if (st == TB_OK)
        st = tb_output_write_array(out, d, TB_I64, 2, dims, pairs, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "columns", "source_region, target_region (rows of /brain/region_labels)",
                                   err);
    if (st == TB_OK)
        st = tb_output_write_strings(out, s, sl, et->E, err);
    if (st == TB_OK)
        st = tb_output_write_strings(out, t, tl, et->E, err);
    free(pairs), free(sl), free(tl), free(d), free(s), free(t);
    return st;
}

static tb_status drain_edges(spk *k, const tb_chunk *p, brain_mon *m, tb_error *err)
{
    const edge_table *et = k->brain_rt->et;
    size_t E = et->E;
    uint64_t first = p->step0 / m->period, end = p->step0 + p->n, nb = (end - 1) / m->period - first + 1;
    double *bins = calloc(nb * 2 * E + 1, sizeof *bins), *times = malloc((nb + 1) * sizeof *times);
    if (!bins || !times) {
        free(bins), free(times);
        return oom(err);
    }
    for (size_t x = 0; x < 2 * E; ++x)
        bins[x] = m->open[x];
    const uint32_t *rec = k->rec_host[p->buf], *cnt = k->rec_cnt_host[p->buf];
    for (int q = 0; q < k->P; ++q)
        for (uint32_t i = 0; i < cnt[q]; ++i) {
            const uint32_t *r = &rec[2 * (k->rec_base[q] + i)];
            if (r[1] < et->s_lo || r[1] >= et->s_hi)
                continue;
            double *row = bins + ((p->step0 + r[0]) / m->period - first) * 2 * E;
            for (uint64_t x = et->optr[r[1] - et->s_lo]; x < et->optr[r[1] - et->s_lo + 1]; ++x) {
                row[2 * et->edge[x]] += et->count[x];
                row[2 * et->edge[x] + 1] += 1;
            }
        }
    /* the bins that end in this chunk; the last one stays open otherwise */
    uint64_t done = end / m->period - first;
    for (uint64_t x = 0; x < done; ++x)
        times[x] = (double)((first + 1 + x) * m->period) * k->sc->dt;
    for (size_t x = 0; x < 2 * E; ++x)
        m->open[x] = done < nb ? bins[done * 2 * E + x] : 0;
    tb_status st = tb_output_dataset_append(m->data, bins, done, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(m->time, times, done, err);
    k->samples += done;
    free(bins), free(times);
    return st;
}

/* The unit of the first summed variable (the others are summed with it). */
static const char *lfp_unit(const spk *k, const brain_mon *m)
{
    const tb_spk_brain *b = k->ss->brain;
    const spk_pop *p = &k->pops[tb_spk_brain_pop(b, m->spec->templates[0], 0)];
    const char *u = p->model->m->vars[m->spec->var_index[0]].unit;
    return u ? u : "";
}

static tb_status declare_edge_monitor(spk *k, tb_output *out, brain_mon *m, tb_error *err)
{
    tb_status st = k->brain_rt->et ? TB_OK : build_edges(k, err);
    size_t E = st == TB_OK ? k->brain_rt->et->E : 0;
    if (st == TB_OK && !(m->open = calloc(2 * E + 1, sizeof *m->open)))
        st = oom(err);
    char *d = tb_asprintf("/monitors/%s/data", m->spec->name), *t = tb_asprintf("/monitors/%s/time", m->spec->name);
    uint64_t dims[3] = {1, E, 2};
    const char *var[] = {"synaptic_events", "source_spikes"}, *unit[] = {"1", "1"};
    if (st == TB_OK && (!d || !t))
        st = oom(err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, d, TB_F64, 4, dims, 0, &m->data, err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, t, TB_F64, 1, NULL, 4096, &m->time, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, t, "units", "ms", err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "kind", "edge_spikes", err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, d, "period_ms", m->spec->period, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "variables", var, 2, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "units", unit, 2, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "time_convention",
                                   "time[k] is the end of the bin (t - bin, t] holding the spikes' times (as the "
                                   "spike record's); a spike along edge e reaches the target delay_steps later "
                                   "(/brain/connectome_edges); synaptic_events = the spikes of the edge's source "
                                   "neurons x their synapses onto the target region, source_spikes = the spikes of "
                                   "source neurons with at least one",
                                   err);
    if (st == TB_OK)
        st = declare_edge_table(k, out, m, err);
    free(d), free(t);
    return st;
}

static tb_status declare_monitor(spk *k, tb_output *out, brain_mon *m, tb_error *err)
{
    if (m->spec->kind == TB_BRAIN_EDGE_SPIKES)
        return declare_edge_monitor(k, out, m, err);
    const tb_spk_brain *b = k->ss->brain;
    bool bold = m->spec->kind == TB_BRAIN_BOLD, lfp = m->spec->kind == TB_BRAIN_LFP;
    char *d = tb_asprintf("/monitors/%s/data", m->spec->name), *t = tb_asprintf("/monitors/%s/time", m->spec->name);
    uint64_t dims[3] = {1, b->R, 1};
    const char *var[] = {bold ? "bold" : lfp ? "lfp" : "rate"}, *unit[] = {bold ? "" : lfp ? lfp_unit(k, m) : "Hz"};
    const char **pops = calloc(m->spec->n_templates + 1, sizeof *pops);
    tb_status st = d && t && pops ? TB_OK : oom(err);
    for (size_t i = 0; pops && i < m->spec->n_templates; ++i)
        pops[i] = b->templates[m->spec->templates[i]];
    if (st == TB_OK)
        st = tb_output_dataset_create(out, d, TB_F64, 4, dims, 0, &m->data, err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, t, TB_F64, 1, NULL, 4096, &m->time, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "kind", bold ? "bold" : lfp ? "lfp" : "region_rates", err);
    if (st == TB_OK && lfp)
        st = tb_output_attr_strings(out, d, "summed_variables", (const char *const *)m->spec->variables,
                                    m->spec->n_variables, err);
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
                                   : lfp ? "time[k]: the state after the step ending at time[k]; lfp = the sum over "
                                           "the region's neurons of |summed_variables|"
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

static double real_at(const spk *k, const void *buf, uint64_t i)
{
    return k->realsz == sizeof(double) ? ((const double *)buf)[i] : (double)((const float *)buf)[i];
}

static tb_status drain_lfp(spk *k, const tb_chunk *p, brain_mon *m, tb_error *err)
{
    size_t R = k->ss->brain->R;
    const spk_state_rec *sr = &k->srec[m->srec];
    uint64_t first = p->step0 / m->period, nrow = (p->step0 + p->n) / m->period - first;
    double *rows = malloc((nrow * R + 1) * sizeof *rows), *times = malloc((nrow + 1) * sizeof *times);
    if (!rows || !times) {
        free(rows), free(times);
        return oom(err);
    }
    for (uint64_t i = 0; i < nrow; ++i) {
        for (size_t r = 0; r < R; ++r) {
            double sum = 0;
            for (uint64_t e = m->roff[r]; e < m->roff[r + 1]; ++e)
                sum += fabs(real_at(k, sr->host[p->buf], i * sr->count + e));
            rows[i * R + r] = sum;
        }
        times[i] = (double)((first + 1 + i) * m->period) * k->sc->dt;
    }
    tb_status st = tb_output_dataset_append(m->data, rows, nrow, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(m->time, times, nrow, err);
    k->samples += nrow;
    free(rows), free(times);
    return st;
}

static tb_status drain_one(spk *k, const tb_chunk *p, const uint32_t *pc, brain_mon *m, tb_error *err)
{
    if (m->spec->kind == TB_BRAIN_LFP)
        return drain_lfp(k, p, m, err);
    if (m->spec->kind == TB_BRAIN_EDGE_SPIKES)
        return drain_edges(k, p, m, err);
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
    if (st == TB_OK && bold)
        st = spk_assim_samples(k, (size_t)(m - k->brain_rt->m), p->step0 / m->period, rows, nrow, err);
    k->samples += nrow;
    free(rows), free(times), free(cnt);
    return st;
}

tb_status spk_brain_checkpoint(spk *k, tb_ckpt *ck, tb_error *err)
{
    tb_status st = TB_OK;
    size_t R = k->ss->brain ? k->ss->brain->R : 0;
    for (size_t i = 0; st == TB_OK && k->brain_rt && i < k->brain_rt->n; ++i) {
        brain_mon *m = &k->brain_rt->m[i];
        st = tb_ckpt_host(ck, "brain monitor bin", m->acc, R * sizeof *m->acc, err);
        if (st == TB_OK)
            st = tb_ckpt_host(ck, "brain monitor balloons", m->st, 4 * R * sizeof *m->st, err);
        if (st == TB_OK && m->open)
            st = tb_ckpt_host(ck, "brain monitor edge bin", m->open, 2 * k->brain_rt->et->E * sizeof *m->open, err);
    }
    return st;
}

tb_status spk_brain_drain(spk *k, const tb_chunk *p, const uint32_t *pc, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && k->brain_rt && i < k->brain_rt->n; ++i)
        st = drain_one(k, p, pc, &k->brain_rt->m[i], err);
    return st;
}
