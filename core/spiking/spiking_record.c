/* What the spiking kit writes: spikes in the SONATA layout
 * (/spikes/<population>/timestamps, node_ids, sorted by time), population
 * rates and sampled state as /monitors/<name>/data [T, 1, N, V] (the mass
 * kit's shape, so tools read both alike), the network on request.
 *
 * Spikes are buffered on the device for a whole chunk, (step, neuron) per
 * spike of a recorded neuron, and come back in one read per partition per
 * chunk, never per step. The buffer holds a spike of every recorded neuron
 * in every step of a chunk, so it cannot overflow; the chunk length is
 * chosen to keep it within RECORD_BUDGET entries. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_monitor.h"
#include "profile.h"
#include "spiking_internal.h"
#include "util.h"

#define RECORD_BUDGET ((uint64_t)8 << 20) /* spike entries (8 bytes each) per chunk buffer */
#define CHUNK_STEPS_MAX 10000u

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

static void mark(spk *k, const size_t *pops, size_t n, uint8_t bit)
{
    for (size_t i = 0; i < n; ++i) {
        const spk_pop *p = &k->pops[pops[i]];
        for (uint64_t j = 0; j < p->n; ++j)
            k->recorded[p->lo + j] |= bit;
    }
}

tb_status spk_state_rec_make(spk *k, spk_state_rec *sr, const cl_ulong *idx, size_t count, uint64_t period,
                             tb_error *err)
{
    sr->period = period < 1 ? 1 : period;
    sr->count = count;
    sr->max_rows = k->kmax / sr->period + 1;
    sr->idx = spk_alloc(k, count * sizeof *idx, idx, "state record indices", err);
    size_t bytes = sr->max_rows * sr->count * k->realsz;
    for (int b = 0; sr->idx && b < 2; ++b) {
        sr->out[b] = spk_alloc(k, bytes, NULL, "state record rows", err);
        sr->host[b] = malloc(bytes ? bytes : 1);
        if (!sr->out[b] || !sr->host[b])
            return err && err->status ? err->status : oom(err);
    }
    return sr->idx ? TB_OK : err->status;
}

static tb_status plan_state(spk *k, spk_state_rec *sr, const tb_spk_record *r, tb_error *err)
{
    const spk_pop *p = &k->pops[r->pop];
    sr->spec = r;
    size_t count = r->n_neurons * r->n_vars;
    cl_ulong *idx = calloc(count + 1, sizeof *idx);
    if (!idx)
        return oom(err);
    for (size_t j = 0; j < r->n_neurons; ++j)
        for (size_t v = 0; v < r->n_vars; ++v)
            idx[j * r->n_vars + v] = p->state_off + r->vars[v] * p->n + r->neurons[j];
    tb_status st = spk_state_rec_make(k, sr, idx, count, (uint64_t)llround(r->period / k->sc->dt), err);
    free(idx);
    return st;
}

/* Which neurons are recorded, the chunk length, and the buffers. */
static tb_status plan_masks(spk *k, tb_error *err)
{
    const tb_spiking_scenario *ss = k->ss;
    k->recorded = calloc(k->N + 1, 1);
    if (!k->recorded)
        return oom(err);
    for (size_t i = 0; i < ss->n_records; ++i) {
        const tb_spk_record *r = &ss->records[i];
        if (r->kind == TB_RECORD_SPIKES)
            mark(k, r->pops, r->n_pops, 1), k->any_spikes = true;
        else if (r->kind == TB_RECORD_RATES)
            mark(k, r->pops, r->n_pops, 2), k->any_rates = true;
    }
    spk_brain_mark_sources(k);
    uint64_t per_step = 0;
    for (uint64_t n = 0; n < k->N; ++n)
        per_step += k->recorded[n] & 1u;
    uint64_t kmax = CHUNK_STEPS_MAX;
    if (per_step && kmax * per_step > RECORD_BUDGET)
        kmax = RECORD_BUDGET / per_step;
    if (kmax < 1)
        kmax = 1;
    if (kmax > k->sc->steps)
        kmax = k->sc->steps ? k->sc->steps : 1;
    k->kmax = kmax;
    k->rec_base = calloc((size_t)k->P + 1, sizeof *k->rec_base);
    if (!k->rec_base)
        return oom(err);
    uint64_t at = 0;
    for (int q = 0; q < k->P; ++q) {
        k->rec_base[q] = at;
        for (int64_t n = k->part[q]; n < k->part[q + 1]; ++n)
            at += (k->recorded[n] & 1u) * kmax;
    }
    k->rec_base[k->P] = at;
    k->rec_cap = at;
    return TB_OK;
}

static tb_status alloc_chunk_buffers(spk *k, tb_error *err)
{
    uint16_t *pop_of = calloc(k->N + 1, sizeof *pop_of);
    if (!pop_of)
        return oom(err);
    for (size_t i = 0; i < k->n_pops; ++i)
        for (uint64_t j = 0; j < k->pops[i].n; ++j)
            pop_of[k->pops[i].lo + j] = (uint16_t)i;
    k->recorded_buf = spk_alloc(k, k->N, k->recorded, "recorded neurons", err);
    k->pop_of_buf = k->recorded_buf ? spk_alloc(k, k->N * sizeof *pop_of, pop_of, "population of each neuron", err)
                                    : NULL;
    free(pop_of);
    k->rec_base_buf = k->pop_of_buf ? spk_alloc(k, (size_t)k->P * sizeof(cl_ulong), k->rec_base, "spike buffer "
                                                                                                 "offsets",
                                                err)
                                    : NULL;
    cl_uint bad[2] = {~0u, ~0u};
    k->bad_buf = k->rec_base_buf ? spk_alloc(k, sizeof bad, bad, "divergence flags", err) : NULL;
    if (!k->bad_buf)
        return err ? err->status : TB_ERR_DEVICE;
    size_t pc = k->kmax * k->n_pops;
    for (int b = 0; b < 2; ++b) {
        k->rec[b] = spk_alloc(k, k->rec_cap * sizeof(cl_uint2), NULL, "spike buffer", err);
        k->rec_cnt[b] = k->rec[b] ? spk_alloc(k, (size_t)k->P * sizeof(cl_uint), NULL, "spike counts", err) : NULL;
        k->pop_cnt[b] = k->rec_cnt[b] ? spk_alloc(k, pc * sizeof(cl_uint), NULL, "population counts", err) : NULL;
        k->rec_host[b] = malloc((k->rec_cap ? k->rec_cap : 1) * 2 * sizeof(uint32_t));
        k->rec_cnt_host[b] = malloc((size_t)k->P * sizeof(uint32_t));
        k->pop_cnt_host[b] = malloc((pc ? pc : 1) * sizeof(uint32_t));
        if (!k->pop_cnt[b])
            return err ? err->status : TB_ERR_DEVICE;
        if (!k->rec_host[b] || !k->rec_cnt_host[b] || !k->pop_cnt_host[b])
            return oom(err);
    }
    return TB_OK;
}

tb_status spk_record_plan(spk *k, tb_error *err)
{
    tb_status st = plan_masks(k, err);
    if (st == TB_OK)
        st = spk_brain_plan(k, err);
    if (st == TB_OK)
        st = alloc_chunk_buffers(k, err);
    const tb_spiking_scenario *ss = k->ss;
    size_t ns = 0, nr = 0;
    for (size_t i = 0; i < ss->n_records; ++i) {
        ns += ss->records[i].kind == TB_RECORD_STATE;
        nr += ss->records[i].kind == TB_RECORD_RATES;
    }
    k->srec = calloc(ns + spk_brain_n_state(k) + 1, sizeof *k->srec);
    k->rrec = calloc(nr + 1, sizeof *k->rrec);
    k->spk_time = calloc(k->n_pops + 1, sizeof *k->spk_time);
    k->spk_node = calloc(k->n_pops + 1, sizeof *k->spk_node);
    if (st == TB_OK && (!k->srec || !k->rrec || !k->spk_time || !k->spk_node))
        st = oom(err);
    for (size_t i = 0; st == TB_OK && i < ss->n_records; ++i) {
        const tb_spk_record *r = &ss->records[i];
        if (r->kind == TB_RECORD_STATE) {
            st = plan_state(k, &k->srec[k->n_srec++], r, err);
        } else if (r->kind == TB_RECORD_RATES) {
            spk_rate_rec *rr = &k->rrec[k->n_rrec++];
            rr->spec = r;
            rr->bin = (uint64_t)llround(r->period / k->sc->dt);
            rr->acc = calloc(r->n_pops + 1, sizeof *rr->acc);
            if (!rr->acc)
                st = oom(err);
        }
    }
    if (st == TB_OK)
        st = spk_brain_plan_state(k, err);
    return st;
}

/* ------------------------------------------------------------ declare */

static tb_status attr_units(tb_output *out, const char *obj, const char *units, tb_error *err)
{
    return tb_output_attr_string(out, obj, "units", units, err);
}

static tb_status declare_populations(spk *k, tb_output *out, tb_error *err)
{
    size_t n = k->n_pops;
    const char **names = calloc(n + 1, sizeof *names), **models = calloc(n + 1, sizeof *models);
    uint64_t *sizes = calloc(n + 1, sizeof *sizes);
    tb_status st = names && models && sizes ? TB_OK : oom(err);
    for (size_t i = 0; st == TB_OK && i < n; ++i) {
        names[i] = k->pops[i].spec->name;
        models[i] = k->pops[i].model->name;
        sizes[i] = k->pops[i].n;
    }
    uint64_t dims[1] = {n};
    if (st == TB_OK)
        st = tb_output_write_strings(out, "/populations/names", names, n, err);
    if (st == TB_OK)
        st = tb_output_write_strings(out, "/populations/models", models, n, err);
    if (st == TB_OK)
        st = tb_output_write_array(out, "/populations/sizes", TB_U64, 1, dims, sizes, err);
    free(names);
    free(models);
    free(sizes);
    return st;
}

static tb_status declare_spikes(spk *k, tb_output *out, const tb_spk_record *r, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < r->n_pops; ++i) {
        size_t p = r->pops[i];
        if (k->spk_time[p])
            continue;
        const char *name = k->pops[p].spec->name;
        char *grp = tb_asprintf("/spikes/%s", name);
        char *ts = tb_asprintf("%s/timestamps", grp), *ids = tb_asprintf("%s/node_ids", grp);
        /* small chunks: a partly filled chunk is compressed again at every flush */
        st = tb_output_dataset_create(out, ts, TB_F64, 1, NULL, 8192, &k->spk_time[p], err);
        if (st == TB_OK)
            st = tb_output_dataset_create(out, ids, TB_U64, 1, NULL, 8192, &k->spk_node[p], err);
        if (st == TB_OK)
            st = attr_units(out, ts, "ms", err);
        if (st == TB_OK)
            st = tb_output_attr_string(out, grp, "sorting", "by_time", err);
        if (st == TB_OK)
            st = tb_output_attr_int(out, grp, "size", (int64_t)k->pops[p].n, err);
        free(grp);
        free(ts);
        free(ids);
    }
    return st;
}

/* /monitors/<name>/data [T, 1, N, V] with time, and the attributes every
 * monitor carries. */
static tb_status declare_monitor(spk *k, tb_output *out, const char *name, const char *kind, double period,
                                 size_t n, const char *const *vars, const char *const *units, size_t nv,
                                 tb_dtype type, uint64_t rows, tb_dataset **data, tb_dataset **time,
                                 const char *convention, tb_error *err)
{
    char *d = tb_asprintf("/monitors/%s/data", name), *t = tb_asprintf("/monitors/%s/time", name);
    uint64_t dims[3] = {1, n, nv};
    tb_status st = tb_output_dataset_create(out, d, type, 4, dims, rows, data, err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, t, TB_F64, 1, NULL, 4096, time, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "kind", kind, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, d, "period_ms", period, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "variables", vars, nv, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, d, "units", units, nv, err);
    if (st == TB_OK)
        st = attr_units(out, t, "ms", err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "time_convention", convention, err);
    free(d);
    free(t);
    (void)k;
    return st;
}

static tb_status declare_rates(spk *k, tb_output *out, spk_rate_rec *rr, tb_error *err)
{
    const tb_spk_record *r = rr->spec;
    const char *vars[] = {"rate"}, *units[] = {"Hz"};
    tb_status st = declare_monitor(k, out, r->name, "rates", r->period, r->n_pops, vars, units, 1, TB_F64, 0,
                                   &rr->data, &rr->time,
                                   "time[k] is the end of the bin (t - bin, t]; rate = spikes in the bin / "
                                   "(neurons x bin)",
                                   err);
    const char **names = calloc(r->n_pops + 1, sizeof *names);
    for (size_t i = 0; names && i < r->n_pops; ++i)
        names[i] = k->pops[r->pops[i]].spec->name;
    char *d = tb_asprintf("/monitors/%s/data", r->name);
    if (st == TB_OK)
        st = names ? tb_output_attr_strings(out, d, "populations", names, r->n_pops, err) : oom(err);
    free(d);
    free(names);
    return st;
}

static tb_status declare_state(spk *k, tb_output *out, spk_state_rec *sr, tb_error *err)
{
    const tb_spk_record *r = sr->spec;
    const spk_pop *p = &k->pops[r->pop];
    const tb_spiking_model *m = p->model->m;
    const char **vars = calloc(r->n_vars + 1, sizeof *vars), **units = calloc(r->n_vars + 1, sizeof *units);
    if (!vars || !units) {
        free(vars);
        free(units);
        return oom(err);
    }
    for (size_t v = 0; v < r->n_vars; ++v) {
        vars[v] = m->vars[r->vars[v]].name;
        units[v] = m->vars[r->vars[v]].unit ? m->vars[r->vars[v]].unit : "";
    }
    tb_status st = declare_monitor(k, out, r->name, "state", r->period, r->n_neurons, vars, units, r->n_vars,
                                   k->realsz == sizeof(double) ? TB_F64 : TB_F32, sr->max_rows, &sr->data, &sr->time,
                                   "time[k] is the time of the sampled state (the end of a step)", err);
    free(vars);
    free(units);
    char *d = tb_asprintf("/monitors/%s/data", r->name), *ids = tb_asprintf("/monitors/%s/node_ids", r->name);
    uint64_t dims[1] = {r->n_neurons};
    if (st == TB_OK)
        st = tb_output_attr_string(out, d, "population", p->spec->name, err);
    if (st == TB_OK)
        st = tb_output_write_array(out, ids, TB_U64, 1, dims, r->neurons, err);
    free(d);
    free(ids);
    return st;
}

/* Global ids back to (source group, index): populations, then spike files. */
static void split_id(const spk *k, uint64_t g, int32_t *group, uint64_t *idx)
{
    for (size_t i = 0; i < k->n_pops; ++i)
        if (g >= k->pops[i].lo && g < k->pops[i].lo + k->pops[i].n) {
            *group = (int32_t)i;
            *idx = g - k->pops[i].lo;
            return;
        }
    for (size_t i = 0; i < k->ss->n_inputs; ++i)
        if (k->input_size[i] && g >= k->input_first[i] && g < k->input_first[i] + k->input_size[i]) {
            *group = (int32_t)(k->n_pops + i);
            *idx = g - k->input_first[i];
            return;
        }
    *group = -1;
    *idx = g;
}

/* Synapses read back and written per piece: about 100 bytes of host
 * memory each while a piece is in flight (device copy, sort keys, the
 * piece, the converted columns), so ~100 MiB however big the network.
 * TWINBRAIN_CONNECTIONS_PIECE sets another size (the tests use small
 * pieces to show the pieces join into the same file). */
static uint64_t edge_piece(void)
{
    const char *env = getenv("TWINBRAIN_CONNECTIONS_PIECE");
    long long n = env ? atoll(env) : 0;
    return n > 0 ? (uint64_t)n : (uint64_t)1 << 20;
}

enum { EDGE_COLUMNS = 7 };

typedef struct edge_writer {
    spk *k;
    tb_dataset *ds[EDGE_COLUMNS];
} edge_writer;

static tb_status create_edge_columns(tb_output *out, const char *grp, edge_writer *w, tb_error *err)
{
    static const char *const names[EDGE_COLUMNS] = {"source_group", "source", "target_group", "target",
                                                    "port",         "delay",  "weight"};
    static const tb_dtype types[EDGE_COLUMNS] = {TB_I32, TB_U64, TB_I32, TB_U64, TB_U8, TB_F64, TB_F32};
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < EDGE_COLUMNS; ++i) {
        char *path = tb_asprintf("%s/%s", grp, names[i]);
        st = tb_output_dataset_create(out, path, types[i], 1, NULL, 0, &w->ds[i], err);
        free(path);
    }
    return st;
}

static tb_status append_edges(void *ctx, const spk_edges *e, tb_error *err)
{
    edge_writer *w = ctx;
    uint64_t n = e->n;
    int32_t *sg = malloc(n * sizeof *sg), *tg = malloc(n * sizeof *tg);
    uint64_t *si = malloc(n * sizeof *si), *ti = malloc(n * sizeof *ti);
    double *dms = malloc(n * sizeof *dms);
    tb_status st = sg && tg && si && ti && dms ? TB_OK : oom(err);
    for (uint64_t i = 0; st == TB_OK && i < n; ++i) {
        split_id(w->k, e->source[i], &sg[i], &si[i]);
        split_id(w->k, e->target[i], &tg[i], &ti[i]);
        dms[i] = e->delay[i] * w->k->sc->dt;
    }
    const void *data[EDGE_COLUMNS] = {sg, si, tg, ti, e->port, dms, e->weight};
    for (size_t i = 0; st == TB_OK && i < EDGE_COLUMNS; ++i)
        st = tb_output_dataset_append(w->ds[i], data[i], n, err);
    free(sg);
    free(tg);
    free(si);
    free(ti);
    free(dms);
    return st;
}

static tb_status declare_connections(spk *k, tb_output *out, const tb_spk_record *r, tb_error *err)
{
    char *grp = tb_asprintf("/connections/%s", r->name);
    edge_writer w = {.k = k};
    tb_status st = create_edge_columns(out, grp, &w, err);
    if (st == TB_OK)
        st = spk_stream_edges(k, r->pops, r->n_pops, edge_piece(), append_edges, &w, err);
    size_t ng = k->n_pops + k->ss->n_inputs;
    const char **groups = calloc(ng + 1, sizeof *groups);
    for (size_t i = 0; groups && i < ng; ++i)
        groups[i] = i < k->n_pops ? k->pops[i].spec->name : k->ss->inputs[i - k->n_pops].name;
    if (st == TB_OK)
        st = groups ? tb_output_attr_strings(out, grp, "groups", groups, ng, err) : oom(err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, grp, "layout",
                                   "one entry per synapse, sorted by (source, target, delay, port, weight); "
                                   "*_group indexes the groups attribute (populations, then inputs)",
                                   err);
    free(groups);
    free(grp);
    return st;
}

tb_status spk_record_declare(spk *k, tb_output *out, tb_error *err)
{
    tb_status st = declare_populations(k, out, err);
    size_t ns = 0, nr = 0;
    for (size_t i = 0; st == TB_OK && i < k->ss->n_records; ++i) {
        const tb_spk_record *r = &k->ss->records[i];
        switch (r->kind) {
        case TB_RECORD_SPIKES: st = declare_spikes(k, out, r, err); break;
        case TB_RECORD_RATES: st = declare_rates(k, out, &k->rrec[nr++], err); break;
        case TB_RECORD_STATE: st = declare_state(k, out, &k->srec[ns++], err); break;
        case TB_RECORD_CONNECTIONS: st = declare_connections(k, out, r, err); break;
        }
    }
    if (st == TB_OK)
        st = spk_brain_declare(k, out, err);
    if (st == TB_OK)
        st = tb_output_attr_int(out, "/", "neurons", (int64_t)k->N, err);
    if (st == TB_OK)
        st = tb_output_attr_int(out, "/", "synapses", (int64_t)k->n_syn_all, err);
    return st;
}

/* ------------------------------------------------------------ drain */

static tb_status read(spk *k, cl_mem buf, size_t off, size_t bytes, void *host, tb_error *err)
{
    if (bytes == 0)
        return TB_OK;
    cl_event ev;
    cl_int rc = clEnqueueReadBuffer(k->readq, buf, CL_TRUE, off, bytes, host, 0, NULL,
                                    tb_profile_event_slot(tb_device_profile(k->dev), &ev));
    if (rc == CL_SUCCESS)
        spk_profile(k, "read results", tb_device_profile(k->dev) ? ev : NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "reading results back");
}

static size_t pop_of(const spk *k, uint64_t n)
{
    size_t lo = 0, hi = k->n_pops;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (k->pops[mid].lo <= n)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The chunk's spikes by (step, neuron): each partition's entries are in
 * step order and partitions hold increasing neurons, so a stable counting
 * sort by step over the partitions in order is enough. */
static tb_status write_spikes(spk *k, const tb_chunk *p, const uint32_t *cnt, tb_error *err)
{
    uint64_t total = 0;
    for (int q = 0; q < k->P; ++q)
        total += cnt[q];
    if (total == 0)
        return TB_OK;
    const uint32_t *rec = k->rec_host[p->buf];
    uint64_t *start = calloc(p->n + 1, sizeof *start);
    uint32_t *sorted = malloc(total * sizeof *sorted);
    double *times = malloc(total * sizeof *times);
    uint64_t *ids = malloc(total * sizeof *ids);
    uint64_t *per_pop = calloc(k->n_pops + 1, sizeof *per_pop);
    tb_status st = start && sorted && times && ids && per_pop ? TB_OK : oom(err);
    for (int q = 0; st == TB_OK && q < k->P; ++q)
        for (uint32_t i = 0; i < cnt[q]; ++i)
            start[rec[2 * (k->rec_base[q] + i)] + 1]++;
    for (uint64_t s = 0; st == TB_OK && s < p->n; ++s)
        start[s + 1] += start[s];
    for (int q = 0; st == TB_OK && q < k->P; ++q)
        for (uint32_t i = 0; i < cnt[q]; ++i) {
            const uint32_t *e = &rec[2 * (k->rec_base[q] + i)];
            sorted[start[e[0]]++] = (uint32_t)((k->rec_base[q] + i));
        }
    /* one population at a time, keeping the time order */
    for (size_t j = 0; st == TB_OK && j < k->n_pops; ++j) {
        if (!k->spk_time[j])
            continue;
        uint64_t m = 0;
        for (uint64_t i = 0; i < total; ++i) {
            const uint32_t *e = &rec[2 * (uint64_t)sorted[i]];
            if (pop_of(k, e[1]) != j)
                continue;
            times[m] = (double)(p->step0 + e[0] + 1) * k->sc->dt;
            ids[m++] = e[1] - k->pops[j].lo;
            k->events_estimate += k->outdeg ? k->outdeg[e[1]] : 0;
        }
        per_pop[j] = m;
        st = tb_output_dataset_append(k->spk_time[j], times, m, err);
        if (st == TB_OK)
            st = tb_output_dataset_append(k->spk_node[j], ids, m, err);
        k->spikes_written += m;
    }
    free(start);
    free(sorted);
    free(times);
    free(ids);
    free(per_pop);
    return st;
}

static tb_status write_rates(spk *k, const tb_chunk *p, const uint32_t *pc, spk_rate_rec *rr, tb_error *err)
{
    const tb_spk_record *r = rr->spec;
    uint64_t rows_max = p->n / rr->bin + 1;
    double *rows = malloc(rows_max * r->n_pops * sizeof *rows), *times = malloc(rows_max * sizeof *times);
    if (!rows || !times) {
        free(rows);
        free(times);
        return oom(err);
    }
    uint64_t nrow = 0;
    double bin_s = (double)rr->bin * k->sc->dt * 1e-3;
    for (uint64_t s = 0; s < p->n; ++s) {
        for (size_t j = 0; j < r->n_pops; ++j)
            rr->acc[j] += pc[s * k->n_pops + r->pops[j]];
        uint64_t t = p->step0 + s + 1;
        if (t % rr->bin != 0)
            continue;
        for (size_t j = 0; j < r->n_pops; ++j) {
            rows[nrow * r->n_pops + j] = rr->acc[j] / ((double)k->pops[r->pops[j]].n * bin_s);
            rr->acc[j] = 0;
        }
        times[nrow++] = (double)t * k->sc->dt;
    }
    tb_status st = tb_output_dataset_append(rr->data, rows, nrow, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(rr->time, times, nrow, err);
    k->samples += nrow;
    free(rows);
    free(times);
    return st;
}

static tb_status write_state(spk *k, const tb_chunk *p, spk_state_rec *sr, int buf, tb_error *err)
{
    uint64_t first = p->step0 / sr->period, rows = (p->step0 + p->n) / sr->period - first;
    if (rows == 0)
        return TB_OK;
    tb_status st = read(k, sr->out[buf], 0, rows * sr->count * k->realsz, sr->host[buf], err);
    if (!sr->spec) /* a brain monitor's: it reads the rows (spk_brain_drain) */
        return st;
    double *times = malloc(rows * sizeof *times);
    if (st == TB_OK && !times)
        st = oom(err);
    for (uint64_t i = 0; st == TB_OK && i < rows; ++i)
        times[i] = (double)((first + 1 + i) * sr->period) * k->sc->dt;
    if (st == TB_OK)
        st = tb_output_dataset_append(sr->data, sr->host[buf], rows, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(sr->time, times, rows, err);
    k->samples += rows;
    free(times);
    return st;
}

static tb_status diverged(spk *k, const tb_chunk *p, uint32_t bad, tb_error *err)
{
    size_t i = 0;
    while (i + 1 < k->n_pops && k->pops[i + 1].state_off <= bad)
        ++i;
    const spk_pop *pp = &k->pops[i];
    uint64_t rel = bad - pp->state_off, v = rel / pp->n, n = rel % pp->n;
    double t0 = (double)p->step0 * k->sc->dt, t1 = (double)(p->step0 + p->n) * k->sc->dt;
    return tb_error_set(err, TB_ERR_DIVERGED,
                        "the simulation diverged: %s of neuron %llu of population '%s' is not finite at t = %g ms "
                        "(all finite at t = %g ms); output kept up to t = %g ms. Try a smaller simulation.dt, or "
                        "check the parameters and inputs of that population.",
                        pp->model->m->vars[v].name, (unsigned long long)n, pp->spec->name, t1, t0, t1);
}

tb_status spk_record_drain(spk *k, const tb_chunk *p, tb_error *err)
{
    int b = p->buf;
    uint32_t *cnt = k->rec_cnt_host[b];
    tb_status st = read(k, k->rec_cnt[b], 0, (size_t)k->P * sizeof *cnt, cnt, err);
    for (int q = 0; st == TB_OK && q < k->P; ++q) {
        if (cnt[q] > k->rec_base[q + 1] - k->rec_base[q])
            return tb_error_set(err, TB_ERR_OTHER, "internal error: spike buffer of partition %d overflowed", q);
        st = read(k, k->rec[b], k->rec_base[q] * 8, (size_t)cnt[q] * 8, k->rec_host[b] + 2 * k->rec_base[q], err);
    }
    if (st == TB_OK && k->any_rates)
        st = read(k, k->pop_cnt[b], 0, p->n * k->n_pops * sizeof(uint32_t), k->pop_cnt_host[b], err);
    /* over MPI ranks: the other ranks' spikes (rank 0), nothing to write
     * (the others) */
    spk_ranks_merge(k, b, cnt, k->any_rates ? k->pop_cnt_host[b] : NULL, p->n);
    bool writes = spk_ranks_writes(k);
    if (st == TB_OK && k->any_spikes && writes)
        st = write_spikes(k, p, cnt, err);
    for (size_t i = 0; st == TB_OK && writes && i < k->n_rrec; ++i)
        st = write_rates(k, p, k->pop_cnt_host[b], &k->rrec[i], err);
    for (size_t i = 0; st == TB_OK && i < k->n_srec; ++i)
        st = write_state(k, p, &k->srec[i], b, err);
    if (st == TB_OK && k->brain_rt)
        st = spk_brain_drain(k, p, k->pop_cnt_host[b], err);
    uint32_t bad = ~0u;
    if (st == TB_OK)
        st = read(k, k->bad_buf, (size_t)b * sizeof bad, sizeof bad, &bad, err);
    if (st == TB_OK && bad != ~0u)
        st = diverged(k, p, bad, err);
    return st;
}

void spk_record_free(spk *k)
{
    for (int b = 0; b < 2; ++b) {
        spk_release(&k->rec[b]);
        spk_release(&k->rec_cnt[b]);
        spk_release(&k->pop_cnt[b]);
        free(k->rec_host[b]);
        free(k->rec_cnt_host[b]);
        free(k->pop_cnt_host[b]);
    }
    for (size_t i = 0; k->srec && i < k->n_srec; ++i) {
        spk_release(&k->srec[i].idx);
        for (int b = 0; b < 2; ++b) {
            spk_release(&k->srec[i].out[b]);
            free(k->srec[i].host[b]);
        }
    }
    for (size_t i = 0; k->rrec && i < k->n_rrec; ++i)
        free(k->rrec[i].acc);
    spk_release(&k->recorded_buf);
    spk_release(&k->pop_of_buf);
    spk_release(&k->rec_base_buf);
    spk_release(&k->bad_buf);
    free(k->srec);
    free(k->rrec);
    free(k->spk_time);
    free(k->spk_node);
    free(k->recorded);
    free(k->rec_base);
    free(k->boff_host);
    spk_brain_free(k);
}
