/* Partitions and connectivity of the spiking kit.
 *
 * Partitions are contiguous ranges of target neurons, balanced by the
 * synapses they are expected to receive; each delivers the spikes to its
 * own neurons (kernels/spiking.cl), so there is no write conflict and no
 * atomic in the step loop. Within a partition, synapses are stored by
 * bucket = (source, delay): a spike emitted at t reaches through bucket
 * (s, d) exactly the inputs of step t + d, which are then summed into one
 * array per step that fits in cache, instead of scattering into a ring of
 * future inputs. A synapse is 8 bytes (target and port in 32 bits, the
 * weight as a float); the bucket offsets add 4 bytes per (source, delay)
 * pair and partition.
 *
 * The network is generated on the device (kernels/spiking_connect.cl) in
 * two passes, count and fill, that draw the same numbers; then every
 * bucket is sorted, so the stored network is bitwise the same on every
 * device, for every number of partitions. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_connect.h"
#include "brain_monitor.h"
#include "spiking_internal.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define BLOCK 256 /* kernels/spiking_connect.cl's TB_BLOCK */
#define ROWS_PER_LAUNCH 65536

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

static uint64_t source_size(const spk *k, const tb_spk_projection *pr)
{
    if (pr->span)
        return spk_span_size(k, pr->source.index, pr->span);
    return pr->source.is_input ? k->input_size[pr->source.index] : k->pops[pr->source.index].n;
}

static uint64_t target_size(const spk *k, const tb_spk_projection *pr)
{
    return pr->span ? spk_span_size(k, pr->target, pr->span) : k->pops[pr->target].n;
}

static uint64_t source_lo(const spk *k, const tb_spk_projection *pr)
{
    return pr->source.is_input ? k->input_first[pr->source.index] : k->pops[pr->source.index].lo;
}

static bool same_pop(const tb_spk_projection *pr)
{
    return !pr->source.is_input && pr->source.index == pr->target;
}

/* Expected synapses into one neuron of the target (for balancing). */
static double expected_indegree(const spk *k, const tb_spk_projection *pr)
{
    double ns = (double)source_size(k, pr), nt = (double)k->pops[pr->target].n;
    switch (pr->rule) {
    case TB_RULE_ALL_TO_ALL: return ns;
    case TB_RULE_ONE_TO_ONE: return 1;
    case TB_RULE_PAIRWISE_BERNOULLI: return pr->p * ns;
    case TB_RULE_FIXED_INDEGREE: return (double)pr->n;
    case TB_RULE_FIXED_OUTDEGREE: return (double)pr->n * ns / nt;
    case TB_RULE_FIXED_TOTAL_NUMBER: return (double)pr->n / nt;
    case TB_RULE_FROM_FILE: return 0;
    case TB_RULE_CONNECTOME: return 0; /* spk_wiring_indegrees */
    }
    return 0;
}

/* TWINBRAIN_SPIKING_PARTITIONS fixes the number of partitions (for the
 * tests that show results do not depend on it, and for tuning). */
static int partitions_wanted(void)
{
    const char *env = getenv("TWINBRAIN_SPIKING_PARTITIONS");
    long n = env ? atol(env) : 0;
    return n > 0 && n < 4096 ? (int)n : 0;
}

int spk_partitions_wish(const spk *k)
{
    const tb_device_info *d = tb_device_get_info(k->dev);
    if (partitions_wanted())
        return partitions_wanted();
    return d->type == TB_DEVICE_CPU ? (int)d->compute_units : 4 * (int)d->compute_units;
}

/* ------------------------------------------------------------ delays */

/* A projection's delays in steps; fe: its file's edges, NULL when not
 * read yet (then 1 and 1). */
static void delay_guess(const spk *k, const tb_spk_projection *pr, const spk_file_edges *fe, int64_t *lo,
                        int64_t *hi)
{
    double dt = k->sc->dt;
    const tb_dist *d = &pr->delay;
    if (pr->wiring) {
        *lo = pr->wiring->dmin, *hi = pr->wiring->dmax;
        return;
    }
    if (pr->rule == TB_RULE_FROM_FILE) {
        *lo = INT64_MAX, *hi = 1;
        for (uint64_t i = 0; fe && i < fe->n; ++i) {
            *lo = fe->delay[i] < *lo ? fe->delay[i] : *lo;
            *hi = fe->delay[i] > *hi ? fe->delay[i] : *hi;
        }
        if (!fe || fe->n == 0)
            *lo = 1;
        return;
    }
    double a, b;
    tb_spk_dist_reach(d, &a, &b);
    *lo = tb_spk_delay_steps(a, dt);
    *hi = tb_spk_delay_steps(b, dt);
}

/* The delays of all projections, in steps: the shortest and the longest
 * (files: their edges, or NULL before they are read). */
static void delay_range(const spk *k, const spk_file_edges *files, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MAX, *hi = 1;
    for (size_t i = 0; i < k->ss->n_projs; ++i) {
        int64_t a, b;
        delay_guess(k, &k->ss->projs[i], files ? &files[i] : NULL, &a, &b);
        *lo = a < *lo ? a : *lo;
        *hi = b > *hi ? b : *hi;
    }
    if (*lo == INT64_MAX || *lo > *hi || *lo < 1)
        *lo = 1;
}

/* The shortest delay any projection can have, in steps, before the
 * network is generated (a file's delays are not read yet: 1). */
static int64_t shortest_delay_guess(const spk *k)
{
    int64_t lo, hi;
    delay_range(k, NULL, &lo, &hi);
    return lo;
}

/* Whether P partitions of a CPU device would be slower than one. Over
 * several partitions a launch runs at most the shortest delay of steps
 * (dmin), and each launch wakes the device's threads: about 30 us with
 * PoCL; one partition runs a whole chunk in a launch. P partitions save
 * W dmin (1 - 1/P) a launch, W a step's work; counted as neuron updates
 * plus expected synaptic events (10 Hz), each about 2.5 ns on one core,
 * that is a saving below about 12,000 units x steps. With spike files the
 * launches are dmin steps anyway. Measured (docs/performance.md): COBA
 * and CUBA (4,000 neurons, 0.32 M synapses, dmin 2) 1.4x and 2.2x faster
 * on one partition than on two; COBA breaks even at dmin 5. */
static bool small_for_partitions(const spk *k, double synapses, int P)
{
    if (P <= 1 || partitions_wanted() || spk_ranks_active(k) || k->n_ext ||
        tb_device_get_info(k->dev)->type != TB_DEVICE_CPU)
        return false;
    double units = (double)k->N + synapses * 10.0 * k->sc->dt * 1e-3;
    return units * (double)shortest_delay_guess(k) * (1.0 - 1.0 / P) < 12000.0;
}

tb_status spk_partition(spk *k, tb_error *err)
{
    const tb_device_info *d = tb_device_get_info(k->dev);
    double *in = calloc(k->n_pops + 1, sizeof *in);
    if (!in)
        return oom(err);
    double total = 0;
    for (size_t i = 0; i < k->ss->n_projs; ++i) {
        in[k->ss->projs[i].target] += expected_indegree(k, &k->ss->projs[i]);
        spk_wiring_indegrees(&k->ss->projs[i], in);
    }
    for (size_t i = 0; i < k->n_pops; ++i)
        total += in[i] * (double)k->pops[i].n;
    /* one partition per compute unit on a CPU (a work-group each); more on
     * other devices; and enough that each fits in one bank with room for
     * the randomness of the counts */
    uint64_t bank_syn = d->max_alloc_bytes / SPK_SYNAPSE_BYTES;
    int P = spk_partitions_wish(k);
    int need = (int)ceil(total * 1.25 / (double)(bank_syn ? bank_syn : 1));
    P = P < need ? need : P;
    P = partitions_wanted() ? partitions_wanted() : P;
    if (need <= 1 && small_for_partitions(k, total, P))
        P = 1;
    if (P < 1)
        P = 1;
    tb_status st = spk_ranks_plan(k, &P, &bank_syn, total, err);
    if (st != TB_OK) {
        free(in);
        return st;
    }
    if ((uint64_t)P > k->N && !spk_ranks_active(k))
        P = (int)(k->N ? k->N : 1);
    k->P = P;
    spk_ranks_own(k);
    k->part = calloc((size_t)P + 1, sizeof *k->part);
    if (!k->part) {
        free(in);
        return oom(err);
    }
    /* split the cumulative work (one update plus the expected synapses per
     * neuron) into P equal parts */
    double work = 0, per = (total + (double)k->N) / P;
    int q = 1;
    for (size_t i = 0; i < k->n_pops && q < P; ++i) {
        double w = 1 + in[i];
        for (uint64_t j = 0; j < k->pops[i].n && q < P; ++j) {
            work += w;
            if (work >= per * q)
                k->part[q++] = (int64_t)(k->pops[i].lo + j + 1);
        }
    }
    while (q <= P)
        k->part[q++] = (int64_t)k->N;
    for (int p = 1; p <= P; ++p)
        if (k->part[p] < k->part[p - 1])
            k->part[p] = k->part[p - 1];
    free(in);
    return TB_OK;
}

/* ------------------------------------------------------------ device program */

typedef struct conn_rt {
    tb_program *prog;
    cl_kernel k_connect, k_sort, k_counts, k_sum;
    cl_mem scratch; /* per work-item source histograms */
    int G;
    size_t realsz;
    cl_mem counts, range, idesc, rdesc, fptr, ftgt, fw, fd;
    cl_mem rowcnt;     /* fixed_total_number: synapses per source, all projections */
    uint64_t *rowoff;  /* per projection: its first entry in rowcnt */
    cl_mem rowstart;   /* per source: its first synapse (exclusive sums of rowcnt) */
    cl_mem cache;      /* delays from the count pass to the fill pass */
    uint64_t *cbase;   /* per projection: its first cache entry; UINT64_MAX: not cached */
    int cache_wide;
    uint32_t *host_counts;
    size_t n_counts;
    spk_file_edges *files; /* per projection */
} conn_rt;

static void conn_free(conn_rt *c, size_t n_projs)
{
    if (c->k_connect)
        clReleaseKernel(c->k_connect);
    if (c->k_sort)
        clReleaseKernel(c->k_sort);
    if (c->k_counts)
        clReleaseKernel(c->k_counts);
    if (c->k_sum)
        clReleaseKernel(c->k_sum);
    free(c->rowoff);
    free(c->cbase);
    tb_program_free(c->prog);
    cl_mem *bufs[] = {&c->counts, &c->range, &c->idesc, &c->rdesc, &c->fptr,     &c->ftgt,
                      &c->fw,     &c->fd,    &c->rowcnt, &c->rowstart, &c->cache, &c->scratch};
    for (size_t i = 0; i < N_(bufs); ++i)
        spk_release(bufs[i]);
    for (size_t i = 0; c->files && i < n_projs; ++i)
        spk_file_edges_free(&c->files[i]);
    free(c->files);
    free(c->host_counts);
}

/* The generator is built in double precision where the device has it,
 * whatever the run's precision, so a network does not depend on it. */
static tb_status conn_build(spk *k, conn_rt *c, tb_error *err)
{
    bool fp64 = tb_device_get_info(k->dev)->fp64;
    c->realsz = fp64 ? sizeof(double) : sizeof(float);
    const tb_program_part parts[] = {
        {"rng.cl", NULL, "kernels/rng.cl"},
        {"spiking_draw.cl", NULL, "kernels/spiking_draw.cl"},
        {"spiking_connect.cl", NULL, "kernels/spiking_connect.cl"},
    };
    char *src = tb_program_assemble(fp64 ? TB_DOUBLE : TB_SINGLE, parts, N_(parts), err);
    if (!src)
        return err ? err->status : TB_ERR_INPUT;
    tb_status st = tb_program_build(k->dev, src, "", "spiking connectivity", &c->prog, err);
    free(src);
    if (st != TB_OK)
        return st;
    c->k_connect = tb_program_kernel(c->prog, "tb_connect", err);
    c->k_sort = c->k_connect ? tb_program_kernel(c->prog, "tb_sort_buckets", err) : NULL;
    c->k_counts = c->k_sort ? tb_program_kernel(c->prog, "tb_source_counts", err) : NULL;
    c->k_sum = c->k_counts ? tb_program_kernel(c->prog, "tb_source_sum", err) : NULL;
    return c->k_sum ? TB_OK : err ? err->status : TB_ERR_DEVICE;
}

static void real_put(const conn_rt *c, void *buf, size_t i, double x)
{
    if (c->realsz == sizeof(double))
        ((double *)buf)[i] = x;
    else
        ((float *)buf)[i] = (float)x;
}

/* Rows are sources, but for fixed_indegree (targets). */
static uint64_t rows_of(const spk *k, const tb_spk_projection *pr)
{
    return pr->rule == TB_RULE_FIXED_INDEGREE || pr->rule == TB_RULE_CONNECTOME ? target_size(k, pr)
                                                                                 : source_size(k, pr);
}

static int dist_code(tb_dist_kind kind)
{
    return kind == TB_DIST_NORMAL ? 1 : kind == TB_DIST_UNIFORM ? 2 : kind == TB_DIST_LOGNORMAL ? 3 : 0;
}

/* A connection file's entries as rows of sources: sorted by source (stably,
 * so the file's order is kept within a source), with row pointers;
 * transient buffers, not counted in the run's device memory. */
static tb_status file_rows(spk *k, conn_rt *c, const tb_spk_projection *pr, const spk_file_edges *fe, tb_error *err)
{
    if (pr->wiring)
        return spk_wiring_upload(k, pr, &c->fptr, &c->ftgt, &c->fw, &c->fd, err);
    uint64_t ns = source_size(k, pr), n = pr->rule == TB_RULE_FROM_FILE ? fe->n : 0;
    uint32_t *ptr = calloc(ns + 2, sizeof *ptr), *tgt = malloc((n + 1) * 4);
    float *w = malloc((n + 1) * 4);
    int32_t *d = malloc((n + 1) * 4);
    if (!ptr || !tgt || !w || !d) {
        free(ptr), free(tgt), free(w), free(d);
        return oom(err);
    }
    for (uint64_t i = 0; i < n; ++i)
        ptr[fe->source[i] + 1]++;
    for (uint64_t s = 0; s < ns; ++s)
        ptr[s + 1] += ptr[s];
    uint32_t *at = malloc((ns + 1) * 4);
    for (uint64_t s = 0; at && s <= ns; ++s)
        at[s] = ptr[s];
    for (uint64_t i = 0; at && i < n; ++i) {
        uint32_t j = at[fe->source[i]]++;
        tgt[j] = fe->target[i], w[j] = fe->weight[i], d[j] = fe->delay[i];
    }
    free(at);
    c->fptr = tb_device_alloc(k->dev, (ns + 1) * 4, ptr, "connection file rows", err);
    c->ftgt = c->fptr ? tb_device_alloc(k->dev, (n + 1) * 4, tgt, "connection file targets", err) : NULL;
    c->fw = c->ftgt ? tb_device_alloc(k->dev, (n + 1) * 4, w, "connection file weights", err) : NULL;
    c->fd = c->fw ? tb_device_alloc(k->dev, (n + 1) * 4, d, "connection file delays", err) : NULL;
    free(ptr), free(tgt), free(w), free(d);
    return c->fd ? TB_OK : err && err->status ? err->status : TB_ERR_DEVICE;
}

/* The projection's descriptor and its file arrays on the device. */
static tb_status conn_describe(spk *k, conn_rt *c, size_t i, tb_error *err)
{
    const tb_spk_projection *pr = &k->ss->projs[i];
    const spk_file_edges *fe = &c->files[i];
    cl_long id[14] = {pr->rule,
                      (cl_long)source_lo(k, pr),
                      (cl_long)source_size(k, pr),
                      (cl_long)k->pops[pr->target].lo,
                      (cl_long)target_size(k, pr),
                      pr->rule == TB_RULE_FROM_FILE ? (cl_long)fe->n : pr->wiring ? (cl_long)pr->span : (cl_long)pr->n,
                      pr->autapses,
                      pr->multapses,
                      pr->port,
                      dist_code(pr->weight.kind),
                      dist_code(pr->delay.kind),
                      (cl_long)i,
                      same_pop(pr),
                      (cl_long)rows_of(k, pr)};
    double rd[10] = {pr->p,        pr->weight.a, pr->weight.b, pr->weight.lo, pr->weight.hi,
                     pr->delay.a,  pr->delay.b,  pr->delay.lo, pr->delay.hi,  k->sc->dt};
    char rbuf[10 * sizeof(double)];
    for (size_t j = 0; j < 10; ++j)
        real_put(c, rbuf, j, rd[j]);
    cl_command_queue q = tb_device_queue(k->dev);
    cl_int rc = clEnqueueWriteBuffer(q, c->idesc, CL_TRUE, 0, sizeof id, id, 0, NULL, NULL);
    rc |= clEnqueueWriteBuffer(q, c->rdesc, CL_TRUE, 0, 10 * c->realsz, rbuf, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "uploading a projection");
    spk_release(&c->fptr);
    spk_release(&c->ftgt);
    spk_release(&c->fw);
    spk_release(&c->fd);
    return file_rows(k, c, pr, fe, err);
}

static tb_status conn_launch(spk *k, conn_rt *c, size_t i, int mode, tb_error *err)
{
    tb_status st = conn_describe(k, c, i, err);
    if (st != TB_OK)
        return st;
    cl_kernel kn = c->k_connect;
    cl_int m = mode, P = k->P, dmin = k->dmin, ND = k->ND;
    cl_long Ns = (cl_long)k->Ns;
    cl_ulong seed = k->sc->seed;
    cl_int rc = clSetKernelArg(kn, 0, sizeof(cl_mem), &c->idesc);
    rc |= clSetKernelArg(kn, 1, sizeof(cl_mem), &c->rdesc);
    rc |= clSetKernelArg(kn, 2, sizeof m, &m);
    rc |= clSetKernelArg(kn, 4, sizeof(cl_mem), &c->counts);
    rc |= clSetKernelArg(kn, 5, sizeof(cl_mem), &c->range);
    rc |= clSetKernelArg(kn, 6, sizeof(cl_mem), &k->part_buf);
    rc |= clSetKernelArg(kn, 7, sizeof P, &P);
    rc |= clSetKernelArg(kn, 8, sizeof Ns, &Ns);
    rc |= clSetKernelArg(kn, 9, sizeof dmin, &dmin);
    rc |= clSetKernelArg(kn, 10, sizeof ND, &ND);
    rc |= clSetKernelArg(kn, 11, sizeof(cl_mem), &k->pbank_buf);
    rc |= clSetKernelArg(kn, 12, sizeof(cl_mem), &k->pbase_buf);
    rc |= clSetKernelArg(kn, 13, sizeof seed, &seed);
    cl_long rowoff = (cl_long)c->rowoff[i];
    cl_ulong cbase = c->cbase[i];
    cl_int wide = c->cache_wide;
    rc |= clSetKernelArg(kn, 14, sizeof(cl_mem), &c->rowcnt);
    rc |= clSetKernelArg(kn, 15, sizeof rowoff, &rowoff);
    rc |= clSetKernelArg(kn, 16, sizeof(cl_mem), &c->rowstart);
    rc |= clSetKernelArg(kn, 17, sizeof(cl_mem), &c->cache);
    rc |= clSetKernelArg(kn, 18, sizeof cbase, &cbase);
    rc |= clSetKernelArg(kn, 19, sizeof wide, &wide);
    cl_mem files[] = {c->fptr, c->ftgt, c->fw, c->fd};
    for (cl_uint a = 0; a < 4; ++a)
        rc |= clSetKernelArg(kn, 20 + a, sizeof(cl_mem), &files[a]);
    for (cl_uint b = 0; b < SPK_MAX_BANKS; ++b)
        rc |= clSetKernelArg(kn, 24 + b, sizeof(cl_mem), &k->bank[(int)b < k->n_banks ? b : 0]);
    cl_int pfirst = k->pfirst, pend = k->pfirst + k->pown;
    rc |= clSetKernelArg(kn, 24 + SPK_MAX_BANKS, sizeof pfirst, &pfirst);
    rc |= clSetKernelArg(kn, 25 + SPK_MAX_BANKS, sizeof pend, &pend);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "setting the connectivity kernel's arguments");
    uint64_t rows = rows_of(k, &k->ss->projs[i]);
    for (uint64_t r0 = 0; r0 < rows; r0 += ROWS_PER_LAUNCH) {
        cl_long row0 = (cl_long)r0;
        size_t n = rows - r0 < ROWS_PER_LAUNCH ? (size_t)(rows - r0) : ROWS_PER_LAUNCH, local = 16;
        size_t global = (n + local - 1) / local * local;
        rc = clSetKernelArg(kn, 3, sizeof row0, &row0);
        rc |= spk_enqueue(k, tb_device_queue(k->dev), kn, global, local, "connectivity generation");
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "generating connectivity");
    }
    return TB_OK;
}

/* ------------------------------------------------------------ passes */

static size_t block_len(const spk *k)
{
    return (size_t)k->Ns * (size_t)k->ND + 1;
}

static tb_status alloc_counts(spk *k, conn_rt *c, tb_error *err)
{
    spk_release(&c->counts);
    free(c->host_counts);
    c->n_counts = (size_t)k->P * block_len(k);
    if ((double)c->n_counts * 4 > (double)tb_device_get_info(k->dev)->max_alloc_bytes)
        return tb_error_set(err, TB_ERR_DEVICE,
                            "the synapse index (%d partitions x %llu sources x %d delays) needs %.0f MiB, more than "
                            "the device allows in one buffer; narrow the range of delays",
                            k->P, (unsigned long long)k->Ns, k->ND, (double)c->n_counts * 4 / 1048576.0);
    c->host_counts = calloc(c->n_counts, sizeof *c->host_counts);
    if (!c->host_counts)
        return oom(err);
    /* the counts become the bucket offsets, which delivery reads at
     * scattered places: huge pages before the first write */
    c->counts = tb_device_alloc(k->dev, c->n_counts * 4, NULL, "synapse counts", err);
    if (!c->counts)
        return err ? err->status : TB_ERR_DEVICE;
    tb_device_advise_scattered(k->dev, c->counts, c->n_counts * 4);
    cl_int rc = clEnqueueWriteBuffer(tb_device_queue(k->dev), c->counts, CL_TRUE, 0, c->n_counts * 4,
                                     c->host_counts, 0, NULL, NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "clearing the synapse counts");
}

/* Each source's first synapse within its projection: the numbering the
 * delay cache uses for fixed_total_number. */
static tb_status row_starts(spk *k, conn_rt *c, tb_error *err)
{
    size_t n = (size_t)c->rowoff[k->ss->n_projs];
    uint32_t *cnt = malloc((n + 1) * sizeof *cnt);
    cl_ulong *start = malloc((n + 1) * sizeof *start);
    cl_command_queue q = tb_device_queue(k->dev);
    cl_int rc = cnt && start && n ? clEnqueueReadBuffer(q, c->rowcnt, CL_TRUE, 0, n * 4, cnt, 0, NULL, NULL)
                                  : CL_SUCCESS;
    for (size_t i = 0; rc == CL_SUCCESS && cnt && start && i < k->ss->n_projs; ++i) {
        cl_ulong at = 0;
        for (uint64_t r = c->rowoff[i]; r < c->rowoff[i + 1]; ++r) {
            start[r] = at;
            at += cnt[r];
        }
    }
    if (rc == CL_SUCCESS && cnt && start && n)
        rc = clEnqueueWriteBuffer(q, c->rowstart, CL_TRUE, 0, n * sizeof *start, start, 0, NULL, NULL);
    free(cnt);
    free(start);
    if (!cnt || !start)
        return oom(err);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "numbering the synapses");
}

/* fixed_total_number: the synapses of each source (all projections). */
static tb_status source_counts(spk *k, conn_rt *c, tb_error *err)
{
    cl_command_queue q = tb_device_queue(k->dev);
    cl_uint zero = 0;
    cl_int rc = CL_SUCCESS;
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < k->ss->n_projs; ++i) {
        const tb_spk_projection *pr = &k->ss->projs[i];
        if (pr->rule != TB_RULE_FIXED_TOTAL_NUMBER)
            continue;
        if ((st = conn_describe(k, c, i, err)) != TB_OK)
            break;
        cl_ulong seed = k->sc->seed;
        cl_long off = (cl_long)c->rowoff[i];
        cl_int G = c->G;
        uint64_t ns = source_size(k, pr);
        rc = clEnqueueFillBuffer(q, c->scratch, &zero, sizeof zero, 0, (size_t)G * ns * sizeof zero, 0, NULL, NULL);
        rc |= clSetKernelArg(c->k_counts, 0, sizeof(cl_mem), &c->idesc);
        rc |= clSetKernelArg(c->k_counts, 1, sizeof seed, &seed);
        rc |= clSetKernelArg(c->k_counts, 2, sizeof(cl_mem), &c->scratch);
        rc |= clSetKernelArg(c->k_counts, 3, sizeof G, &G);
        size_t one = 1, groups = (size_t)G;
        rc |= spk_enqueue(k, q, c->k_counts, groups, one, "connectivity source counts");
        rc |= clSetKernelArg(c->k_sum, 0, sizeof(cl_mem), &c->idesc);
        rc |= clSetKernelArg(c->k_sum, 1, sizeof(cl_mem), &c->scratch);
        rc |= clSetKernelArg(c->k_sum, 2, sizeof G, &G);
        rc |= clSetKernelArg(c->k_sum, 3, sizeof(cl_mem), &c->rowcnt);
        rc |= clSetKernelArg(c->k_sum, 4, sizeof off, &off);
        size_t local = 64, global = (ns + local - 1) / local * local;
        rc |= spk_enqueue(k, q, c->k_sum, global, local, "connectivity source sums");
        st = rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "drawing the sources of synapses");
    }
    return st == TB_OK ? row_starts(k, c, err) : st;
}

static tb_status plan_cache(spk *k, conn_rt *c, tb_error *err);

/* A drawn delay beyond what a run holds (the scenario check bounds every
 * delay but the far tails of unbounded distributions): the first
 * projection whose delays have no upper bound is named. */
static tb_status delay_too_long(const spk *k, int steps, tb_error *err)
{
    size_t i = 0;
    while (i < k->ss->n_projs && !((k->ss->projs[i].delay.kind == TB_DIST_NORMAL ||
                                    k->ss->projs[i].delay.kind == TB_DIST_LOGNORMAL) &&
                                   isinf(k->ss->projs[i].delay.hi)))
        ++i;
    const tb_spk_projection *pr = i < k->ss->n_projs ? &k->ss->projs[i] : NULL;
    char *w = tb_scenario_where(k->sc, pr ? pr->delay.pos : k->ss->projs[0].pos);
    char at[48] = "";
    if (pr)
        snprintf(at, sizeof at, "projection[%zu].delay: ", i);
    tb_status st = tb_error_set(err, TB_ERR_SCENARIO,
                                "%s%sa synaptic delay of %d steps or more (%g ms) was drawn; a run holds delays of at "
                                "most 2^29 = %d steps (%g ms): bound the distribution with max",
                                w, at, steps, steps * k->sc->dt, TB_SPK_MAX_DELAY_STEPS,
                                TB_SPK_MAX_DELAY_STEPS * k->sc->dt);
    free(w);
    return st;
}

/* Count every projection; widen the delay range and count again when a
 * delay fell outside the guess. */
static tb_status count_pass(spk *k, conn_rt *c, tb_error *err)
{
    for (int attempt = 0; attempt < 3; ++attempt) {
        tb_status st = alloc_counts(k, c, err);
        if (st == TB_OK)
            st = plan_cache(k, c, err);
        cl_int range[2] = {0x7fffffff, -1};
        cl_int rc = clEnqueueWriteBuffer(tb_device_queue(k->dev), c->range, CL_TRUE, 0, sizeof range, range, 0, NULL,
                                         NULL);
        if (st == TB_OK && rc != CL_SUCCESS)
            st = tb_cl_fail(err, rc, "resetting the delay range");
        if (st == TB_OK)
            st = source_counts(k, c, err);
        for (size_t i = 0; st == TB_OK && i < k->ss->n_projs; ++i)
            st = conn_launch(k, c, i, 0, err);
        if (st != TB_OK)
            return st;
        rc = clEnqueueReadBuffer(tb_device_queue(k->dev), c->range, CL_TRUE, 0, sizeof range, range, 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "counting synapses");
        if (range[1] < 0)
            return TB_OK;
        if (range[1] > TB_SPK_MAX_DELAY_STEPS)
            return delay_too_long(k, range[1], err);
        int lo = range[0] < k->dmin ? range[0] : k->dmin;
        int hi = range[1] > k->dmin + k->ND - 1 ? range[1] : k->dmin + k->ND - 1;
        k->dmin = lo;
        k->ND = hi - lo + 1;
    }
    return tb_error_set(err, TB_ERR_OTHER, "internal error: the delay range did not settle");
}

/* Counts -> bucket offsets per partition; partitions -> banks. */
static tb_status offsets(spk *k, conn_rt *c, tb_error *err)
{
    cl_int rc = clEnqueueReadBuffer(tb_device_queue(k->dev), c->counts, CL_TRUE, 0, c->n_counts * 4, c->host_counts,
                                    0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "reading the synapse counts");
    size_t L = block_len(k);
    k->psyn = calloc((size_t)k->P, sizeof *k->psyn);
    k->pbank = calloc((size_t)k->P, sizeof *k->pbank);
    k->pbase = calloc((size_t)k->P, sizeof *k->pbase);
    k->outdeg = calloc(k->Ns + 1, sizeof *k->outdeg);
    if (!k->psyn || !k->pbank || !k->pbase || !k->outdeg)
        return oom(err);
    for (int p = 0; p < k->P; ++p) {
        uint32_t *b = c->host_counts + (size_t)p * L;
        uint64_t at = 0;
        for (size_t j = 0; j + 1 < L; ++j) {
            uint32_t n = b[j];
            k->outdeg[j / (size_t)k->ND] += n;
            if (at + n > UINT32_MAX)
                return tb_error_set(err, TB_ERR_DEVICE, "partition %d would hold more than 2^32 synapses", p);
            b[j] = (uint32_t)at;
            at += n;
        }
        b[L - 1] = (uint32_t)at;
        k->psyn[p] = at;
        k->n_syn_all += at;
        if (p < k->pfirst || p >= k->pfirst + k->pown) { /* another rank's (spiking_ranks.c) */
            memset(b, 0, L * sizeof *b);
            k->psyn[p] = 0;
        }
        k->n_syn += k->psyn[p];
    }
    uint64_t cap = tb_device_get_info(k->dev)->max_alloc_bytes / SPK_SYNAPSE_BYTES, used = 0;
    int bank = 0;
    for (int p = 0; p < k->P; ++p) {
        if (k->psyn[p] > cap)
            return tb_error_set(err, TB_ERR_DEVICE,
                                "partition %d holds %llu synapses, more than one device buffer takes (%llu); set "
                                "TWINBRAIN_SPIKING_PARTITIONS higher",
                                p, (unsigned long long)k->psyn[p], (unsigned long long)cap);
        if (used + k->psyn[p] > cap) {
            ++bank;
            used = 0;
        }
        k->pbank[p] = bank;
        k->pbase[p] = used;
        used += k->psyn[p];
    }
    k->n_banks = bank + 1;
    if (k->n_banks > SPK_MAX_BANKS)
        return tb_error_set(err, TB_ERR_DEVICE, "%llu synapses need %d device buffers; at most %d are supported",
                            (unsigned long long)k->n_syn, k->n_banks, SPK_MAX_BANKS);
    return TB_OK;
}

static tb_status alloc_banks(spk *k, tb_error *err)
{
    for (int b = 0; b < k->n_banks; ++b) {
        uint64_t n = 0;
        for (int p = 0; p < k->P; ++p)
            n += k->pbank[p] == b ? k->psyn[p] : 0;
        k->bank[b] = spk_alloc(k, n * SPK_SYNAPSE_BYTES, NULL, "synapses", err);
        if (!k->bank[b])
            return err ? err->status : TB_ERR_DEVICE;
        tb_device_advise_scattered(k->dev, k->bank[b], n * SPK_SYNAPSE_BYTES);
    }
    k->pbank_buf = spk_alloc(k, (size_t)k->P * sizeof(cl_int), k->pbank, "partition banks", err);
    k->pbase_buf = k->pbank_buf ? spk_alloc(k, (size_t)k->P * sizeof(cl_ulong), k->pbase, "partition offsets", err)
                                : NULL;
    return k->pbase_buf ? TB_OK : err ? err->status : TB_ERR_DEVICE;
}

static tb_status sort_pass(spk *k, conn_rt *c, tb_error *err)
{
    cl_kernel kn = c->k_sort;
    cl_long nb = (cl_long)(block_len(k) - 1);
    cl_int P = k->P;
    cl_int rc = clSetKernelArg(kn, 0, sizeof(cl_mem), &k->boff);
    rc |= clSetKernelArg(kn, 1, sizeof nb, &nb);
    rc |= clSetKernelArg(kn, 2, sizeof P, &P);
    rc |= clSetKernelArg(kn, 4, sizeof(cl_mem), &k->pbank_buf);
    rc |= clSetKernelArg(kn, 5, sizeof(cl_mem), &k->pbase_buf);
    for (cl_uint b = 0; b < SPK_MAX_BANKS; ++b)
        rc |= clSetKernelArg(kn, 6 + b, sizeof(cl_mem), &k->bank[(int)b < k->n_banks ? b : 0]);
    uint64_t total = (uint64_t)P * (uint64_t)nb;
    const uint64_t per = (uint64_t)1 << 24;
    for (uint64_t first = 0; rc == CL_SUCCESS && first < total; first += per) {
        cl_ulong f = first;
        size_t n = (size_t)(total - first < per ? total - first : per), local = 64;
        size_t global = (n + local - 1) / local * local;
        rc = clSetKernelArg(kn, 3, sizeof f, &f);
        rc |= spk_enqueue(k, tb_device_queue(k->dev), kn, global, local, "synapse sort");
    }
    if (rc == CL_SUCCESS)
        rc = clFinish(tb_device_queue(k->dev));
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "sorting the synapses");
}

/* Over MPI ranks delivery needs the offsets of this rank's partitions
 * only (every partition's were counted, for the totals and out-degrees). */
static tb_status own_offsets(spk *k, tb_error *err)
{
    if (k->pown == k->P)
        return TB_OK;
    size_t L = block_len(k) * sizeof(cl_uint), keep = (size_t)k->pown * L;
    cl_mem own = tb_device_alloc(k->dev, keep, NULL, "synapse offsets", err);
    if (!own)
        return err ? err->status : TB_ERR_DEVICE;
    tb_device_advise_scattered(k->dev, own, keep);
    cl_command_queue q = tb_device_queue(k->dev);
    cl_int rc = clEnqueueCopyBuffer(q, k->boff, own, (size_t)k->pfirst * L, 0, keep, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clFinish(q);
    if (rc != CL_SUCCESS) {
        spk_release(&own);
        return tb_cl_fail(err, rc, "keeping this rank's synapse offsets");
    }
    spk_release(&k->boff);
    k->boff = own;
    k->device_bytes -= (uint64_t)(k->P - k->pown) * L;
    return TB_OK;
}

static tb_status fill_pass(spk *k, conn_rt *c, tb_error *err)
{
    cl_command_queue q = tb_device_queue(k->dev);
    cl_int rc = clEnqueueWriteBuffer(q, c->counts, CL_TRUE, 0, c->n_counts * 4, c->host_counts, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "uploading the synapse offsets");
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < k->ss->n_projs; ++i)
        st = conn_launch(k, c, i, 1, err);
    if (st != TB_OK)
        return st;
    /* the cursors moved to the ends of their buckets; the offsets go back
     * for delivery */
    rc = clEnqueueWriteBuffer(q, c->counts, CL_TRUE, 0, c->n_counts * 4, c->host_counts, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "uploading the synapse offsets");
    k->boff = c->counts;
    k->device_bytes += c->n_counts * 4;
    c->counts = NULL;
    /* rows of targets wrote into shared buckets in no fixed order */
    bool shared = false;
    for (size_t i = 0; i < k->ss->n_projs; ++i)
        shared |= k->ss->projs[i].rule == TB_RULE_FIXED_INDEGREE || k->ss->projs[i].rule == TB_RULE_CONNECTOME;
    st = shared ? sort_pass(k, c, err) : TB_OK;
    return st == TB_OK ? own_offsets(k, err) : st;
}

static tb_status alloc_rowcnt(spk *k, conn_rt *c, tb_error *err)
{
    c->rowoff = calloc(k->ss->n_projs + 1, sizeof *c->rowoff);
    if (!c->rowoff)
        return oom(err);
    for (size_t i = 0; i < k->ss->n_projs; ++i) {
        const tb_spk_projection *pr = &k->ss->projs[i];
        c->rowoff[i + 1] = c->rowoff[i] + (pr->rule == TB_RULE_FIXED_TOTAL_NUMBER ? source_size(k, pr) : 0);
    }
    c->rowcnt = tb_device_alloc(k->dev, (c->rowoff[k->ss->n_projs] + 1) * 4, NULL, "synapses per source", err);
    c->rowstart = c->rowcnt ? tb_device_alloc(k->dev, (c->rowoff[k->ss->n_projs] + 1) * 8, NULL,
                                              "first synapse of each source", err)
                            : NULL;
    /* a few histograms per compute unit, so that the work balances */
    uint64_t ns_max = 1;
    for (size_t i = 0; i < k->ss->n_projs; ++i)
        if (k->ss->projs[i].rule == TB_RULE_FIXED_TOTAL_NUMBER && source_size(k, &k->ss->projs[i]) > ns_max)
            ns_max = source_size(k, &k->ss->projs[i]);
    c->G = 4 * (int)tb_device_get_info(k->dev)->compute_units;
    c->G = c->G < 1 ? 1 : c->G > 256 ? 256 : c->G;
    c->scratch = c->rowstart ? tb_device_alloc(k->dev, (size_t)c->G * ns_max * 4, NULL, "source histograms", err)
                             : NULL;
    return c->scratch ? TB_OK : err ? err->status : TB_ERR_DEVICE;
}

/* Synapses of a projection the delay cache numbers (0: not cached; from
 * files give their delays, Bernoulli rows do not know their length). */
static uint64_t cached_synapses(const spk *k, const tb_spk_projection *pr)
{
    uint64_t ns = source_size(k, pr), nt = k->pops[pr->target].n;
    if (pr->delay.kind == TB_DIST_CONST)
        return 0; /* nothing to draw */
    switch (pr->rule) {
    case TB_RULE_ALL_TO_ALL: return ns * nt;
    case TB_RULE_ONE_TO_ONE: return ns;
    case TB_RULE_FIXED_OUTDEGREE: return ns * pr->n;
    case TB_RULE_FIXED_INDEGREE: return nt * pr->n;
    case TB_RULE_FIXED_TOTAL_NUMBER: return pr->n;
    default: return 0;
    }
}

/* The delay cache for the current delay range: one or two bytes a
 * synapse, as long as it stays within one device buffer and 1 GiB. */
static tb_status plan_cache(spk *k, conn_rt *c, tb_error *err)
{
    spk_release(&c->cache);
    free(c->cbase);
    c->cbase = malloc((k->ss->n_projs + 1) * sizeof *c->cbase);
    if (!c->cbase)
        return oom(err);
    c->cache_wide = k->ND > 256;
    uint64_t at = 0, elem = c->cache_wide ? 2 : 1;
    for (size_t i = 0; i < k->ss->n_projs; ++i) {
        uint64_t n = cached_synapses(k, &k->ss->projs[i]);
        c->cbase[i] = n ? at : UINT64_MAX;
        at += n;
    }
    uint64_t cap = tb_device_get_info(k->dev)->max_alloc_bytes;
    if (at == 0 || k->ND > 65536 || at * elem > cap || at * elem > ((uint64_t)1 << 30)) {
        for (size_t i = 0; i < k->ss->n_projs; ++i)
            c->cbase[i] = UINT64_MAX;
        at = 0;
    }
    c->cache = tb_device_alloc(k->dev, at ? at * elem : 16, NULL, "delay cache", err);
    return c->cache ? TB_OK : err ? err->status : TB_ERR_DEVICE;
}

static tb_status read_files(spk *k, conn_rt *c, tb_error *err)
{
    c->files = calloc(k->ss->n_projs + 1, sizeof *c->files);
    if (!c->files)
        return oom(err);
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < k->ss->n_projs; ++i) {
        const tb_spk_projection *pr = &k->ss->projs[i];
        if (pr->rule == TB_RULE_FROM_FILE)
            st = spk_read_connection_file(k->sc, pr, source_size(k, pr), k->pops[pr->target].n, &c->files[i], err);
    }
    return st;
}

static void plan_delays(spk *k, const conn_rt *c)
{
    int64_t lo, hi;
    delay_range(k, c->files, &lo, &hi);
    if (hi > 1 << 20)
        hi = 1 << 20; /* the count pass finds the true range if wider */
    k->dmin = (int)lo;
    k->ND = (int)(hi - lo + 1);
}

/* The fewest synapses a projection can make (Bernoulli: its mean less six
 * standard deviations), known before anything is counted. */
static double least_synapses(const spk *k, const tb_spk_projection *pr)
{
    double ns = (double)source_size(k, pr), nt = (double)k->pops[pr->target].n;
    switch (pr->rule) {
    case TB_RULE_ALL_TO_ALL: return ns * nt;
    case TB_RULE_ONE_TO_ONE: return ns;
    case TB_RULE_FIXED_OUTDEGREE: return ns * (double)pr->n;
    case TB_RULE_FIXED_INDEGREE: return nt * (double)pr->n;
    case TB_RULE_FIXED_TOTAL_NUMBER: return (double)pr->n;
    case TB_RULE_PAIRWISE_BERNOULLI: {
        double mean = ns * nt * pr->p, sd = sqrt(ns * nt * pr->p * (1 - pr->p));
        return mean - 6 * sd > 0 ? mean - 6 * sd : 0;
    }
    case TB_RULE_CONNECTOME: return spk_wiring_synapses(k, pr);
    default: return 0; /* from a file: counted when read */
    }
}

/* A network that cannot fit is refused before the device spends minutes
 * counting it: the synapse buckets alone take SPK_SYNAPSE_BYTES each in at
 * most SPK_MAX_BANKS buffers, within the device's memory. */
static tb_status check_fits(const spk *k, tb_error *err)
{
    const tb_device_info *d = tb_device_get_info(k->dev);
    double need = 0;
    for (size_t i = 0; i < k->ss->n_projs; ++i)
        need += least_synapses(k, &k->ss->projs[i]);
    double banks = (double)SPK_MAX_BANKS * (double)(d->max_alloc_bytes / SPK_SYNAPSE_BYTES);
    double memory = (double)d->global_mem_bytes / SPK_SYNAPSE_BYTES;
    double cap = banks < memory ? banks : memory;
    if (need <= cap)
        return TB_OK;
    return tb_error_set(err, TB_ERR_DEVICE,
                        "the network needs at least %.4g synapses (%.3g GB of synapse buffers); device '%s' holds at "
                        "most %.4g (%.3g GB of memory, %d buffers of %.3g GB)",
                        need, need * SPK_SYNAPSE_BYTES / 1e9, d->name, cap, (double)d->global_mem_bytes / 1e9,
                        SPK_MAX_BANKS, (double)d->max_alloc_bytes / 1e9);
}

tb_status spk_connect(spk *k, tb_error *err)
{
    conn_rt c = {0};
    tb_status st = check_fits(k, err);
    if (st == TB_OK)
        st = read_files(k, &c, err);
    if (st == TB_OK)
        plan_delays(k, &c);
    k->part_buf = st == TB_OK ? spk_alloc(k, ((size_t)k->P + 1) * sizeof(cl_long), k->part, "partitions", err) : NULL;
    if (st == TB_OK && !k->part_buf)
        st = err ? err->status : TB_ERR_DEVICE;
    if (st == TB_OK && k->ss->n_projs == 0) {
        /* no synapses: empty buckets so delivery has something to point at */
        k->dmin = 1, k->ND = 1, k->H = 2, k->n_banks = 1;
        k->psyn = calloc((size_t)k->P, sizeof *k->psyn);
        k->pbank = calloc((size_t)k->P, sizeof *k->pbank);
        k->pbase = calloc((size_t)k->P, sizeof *k->pbase);
        k->outdeg = calloc(k->Ns + 1, sizeof *k->outdeg);
        if (!k->psyn || !k->pbank || !k->pbase || !k->outdeg)
            st = oom(err);
        if (st == TB_OK)
            st = alloc_banks(k, err);
        k->boff = st == TB_OK ? spk_alloc(k, 16, NULL, "synapse offsets", err) : NULL;
        conn_free(&c, k->ss->n_projs);
        return k->boff ? TB_OK : st != TB_OK ? st : err ? err->status : TB_ERR_DEVICE;
    }
    if (st == TB_OK)
        st = conn_build(k, &c, err);
    if (st == TB_OK)
        st = alloc_rowcnt(k, &c, err);
    int32_t range0[2] = {0, 0};
    if (st == TB_OK) {
        c.range = tb_device_alloc(k->dev, sizeof range0, range0, "delay range", err);
        c.idesc = c.range ? tb_device_alloc(k->dev, 14 * sizeof(cl_long), NULL, "projection", err) : NULL;
        c.rdesc = c.idesc ? tb_device_alloc(k->dev, 10 * sizeof(double), NULL, "projection", err) : NULL;
        if (!c.rdesc)
            st = err ? err->status : TB_ERR_DEVICE;
    }
    /* the bank arguments must be valid buffers even while counting */
    k->n_banks = 0;
    if (st == TB_OK) {
        k->pbank = calloc((size_t)k->P, sizeof *k->pbank);
        k->pbase = calloc((size_t)k->P, sizeof *k->pbase);
        k->bank[0] = tb_device_alloc(k->dev, 16, NULL, "synapses", err);
        k->pbank_buf = k->bank[0] && k->pbank && k->pbase
                           ? tb_device_alloc(k->dev, (size_t)k->P * sizeof(cl_int), k->pbank, "banks", err)
                           : NULL;
        k->pbase_buf = k->pbank_buf ? tb_device_alloc(k->dev, (size_t)k->P * 8, k->pbase, "bank offsets", err) : NULL;
        if (!k->pbase_buf)
            st = err && err->status ? err->status : oom(err);
    }
    if (st == TB_OK)
        st = count_pass(k, &c, err);
    if (st == TB_OK) {
        spk_release(&k->bank[0]);
        spk_release(&k->pbank_buf);
        spk_release(&k->pbase_buf);
        free(k->pbank);
        free(k->pbase);
        k->pbank = NULL;
        k->pbase = NULL;
        st = offsets(k, &c, err);
    }
    if (st == TB_OK)
        st = alloc_banks(k, err);
    if (st == TB_OK)
        st = fill_pass(k, &c, err);
    /* A spike is needed until t + the longest delay. Within a launch of
     * dmin steps, a partition may write step t0 + dmin - 1 while another,
     * behind it, still reads step t0 - dmin - ND + 1: all of those must
     * hold distinct slots. */
    k->H = 2 * k->dmin + k->ND;
    bool keep = false;
    for (size_t i = 0; i < k->ss->n_records; ++i)
        keep |= k->ss->records[i].kind == TB_RECORD_CONNECTIONS;
    if (st == TB_OK && (keep || spk_brain_wants_network(k))) {
        k->boff_host = c.host_counts;
        c.host_counts = NULL;
    }
    conn_free(&c, k->ss->n_projs);
    return st;
}

/* ------------------------------------------------------------ reading the network back */

void spk_edges_free(spk_edges *e)
{
    free(e->source);
    free(e->target);
    free(e->port);
    free(e->delay);
    free(e->weight);
    memset(e, 0, sizeof *e);
}

static bool wanted(const spk *k, const size_t *pops, size_t n, uint64_t target)
{
    for (size_t i = 0; i < n; ++i) {
        const spk_pop *p = &k->pops[pops[i]];
        if (target >= p->lo && target < p->lo + p->n)
            return true;
    }
    return false;
}

typedef struct edge_ref {
    uint64_t s, t;
    int32_t d;
    uint32_t word, wbits;
} edge_ref;

static int cmp_edge(const void *a, const void *b)
{
    const edge_ref *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    if (x->word != y->word)
        return x->word < y->word ? -1 : 1;
    return (x->wbits > y->wbits) - (x->wbits < y->wbits);
}

/* Buffers of one piece of the network, sized for the largest so far. */
typedef struct edge_piece {
    uint64_t cap;
    uint32_t *syn;
    edge_ref *refs;
    spk_edges out;
} edge_piece;

static void edge_piece_free(edge_piece *b)
{
    free(b->syn);
    free(b->refs);
    spk_edges_free(&b->out);
}

static tb_status edge_piece_reserve(edge_piece *b, uint64_t n, tb_error *err)
{
    if (n <= b->cap)
        return TB_OK;
    edge_piece_free(b);
    b->cap = n;
    b->syn = malloc(n * SPK_SYNAPSE_BYTES);
    b->refs = malloc(n * sizeof *b->refs);
    b->out.source = malloc(n * sizeof *b->out.source);
    b->out.target = malloc(n * sizeof *b->out.target);
    b->out.port = malloc(n);
    b->out.delay = malloc(n * sizeof *b->out.delay);
    b->out.weight = malloc(n * sizeof *b->out.weight);
    if (b->syn && b->refs && b->out.source && b->out.target && b->out.port && b->out.delay && b->out.weight)
        return TB_OK;
    edge_piece_free(b);
    b->cap = 0;
    return oom(err);
}

/* Synapses of sources [s0, s1) over all partitions. */
static uint64_t source_synapses(const spk *k, uint64_t s0, uint64_t s1)
{
    size_t L = block_len(k), ND = (size_t)k->ND;
    uint64_t n = 0;
    for (int p = 0; p < k->P; ++p) {
        const uint32_t *b = k->boff_host + (size_t)p * L;
        n += b[s1 * ND] - b[s0 * ND];
    }
    return n;
}

/* Reads the synapses of sources [s0, s1) back (each partition holds them
 * contiguously) and sorts those onto the wanted targets into b->out. */
static tb_status edge_piece_read(spk *k, const size_t *pops, size_t n_pops, uint64_t s0, uint64_t s1,
                                 edge_piece *b, tb_error *err)
{
    size_t L = block_len(k), ND = (size_t)k->ND;
    uint64_t at = 0, m = 0;
    for (int p = 0; p < k->P; ++p) {
        const uint32_t *o = k->boff_host + (size_t)p * L;
        uint64_t lo = o[s0 * ND], hi = o[s1 * ND];
        if (hi == lo)
            continue;
        cl_int rc = clEnqueueReadBuffer(tb_device_queue(k->dev), k->bank[k->pbank[p]], CL_TRUE,
                                        (k->pbase[p] + lo) * SPK_SYNAPSE_BYTES, (hi - lo) * SPK_SYNAPSE_BYTES,
                                        b->syn + 2 * at, 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "reading the synapses back");
        for (size_t j = s0 * ND; j < s1 * ND; ++j)
            for (uint32_t x = o[j]; x < o[j + 1]; ++x) {
                const uint32_t *e = b->syn + 2 * (at + x - lo);
                uint64_t t = (uint64_t)k->part[p] + spk_synapse_target(k, e[0]);
                if (wanted(k, pops, n_pops, t))
                    b->refs[m++] = (edge_ref){j / ND, t, k->dmin + (int32_t)(j % ND), spk_synapse_port(k, e[0]),
                                              e[1]};
            }
        at += hi - lo;
    }
    qsort(b->refs, m, sizeof *b->refs, cmp_edge);
    b->out.n = m;
    for (uint64_t i = 0; i < m; ++i) {
        b->out.source[i] = b->refs[i].s;
        b->out.target[i] = b->refs[i].t;
        b->out.port[i] = (uint8_t)b->refs[i].word;
        b->out.delay[i] = b->refs[i].d;
        memcpy(&b->out.weight[i], &b->refs[i].wbits, sizeof(float));
    }
    return TB_OK;
}

tb_status spk_stream_edges(spk *k, const size_t *pops, size_t n_pops, uint64_t piece, spk_edges_fn emit, void *ctx,
                           tb_error *err)
{
    if (k->n_syn == 0 || !k->boff_host)
        return TB_OK;
    edge_piece b = {0};
    tb_status st = TB_OK;
    for (uint64_t s0 = 0, s1; st == TB_OK && s0 < k->Ns; s0 = s1) {
        uint64_t n = source_synapses(k, s0, s0 + 1);
        for (s1 = s0 + 1; s1 < k->Ns; ++s1) {
            uint64_t more = source_synapses(k, s1, s1 + 1);
            if (n + more > piece)
                break;
            n += more;
        }
        if (n == 0)
            continue;
        st = edge_piece_reserve(&b, n, err);
        if (st == TB_OK)
            st = edge_piece_read(k, pops, n_pops, s0, s1, &b, err);
        if (st == TB_OK && b.out.n > 0)
            st = emit(ctx, &b.out, err);
    }
    edge_piece_free(&b);
    return st;
}

tb_status spk_scan_sources(spk *k, uint64_t s_lo, uint64_t s_hi, uint64_t piece, spk_source_fn fn, void *ctx,
                           tb_error *err)
{
    if (k->n_syn == 0 || !k->boff_host)
        return TB_OK;
    size_t L = block_len(k), ND = (size_t)k->ND;
    uint32_t *syn = NULL;
    uint64_t *tgt = NULL, *at = calloc((size_t)k->P + 1, sizeof *at), cap = 0;
    tb_status st = at ? TB_OK : oom(err);
    for (uint64_t s0 = s_lo, s1; st == TB_OK && s0 < s_hi; s0 = s1) {
        uint64_t n = source_synapses(k, s0, s0 + 1);
        for (s1 = s0 + 1; s1 < s_hi; ++s1) {
            uint64_t more = source_synapses(k, s1, s1 + 1);
            if (n + more > piece)
                break;
            n += more;
        }
        if (n > cap) {
            free(syn), free(tgt);
            cap = n;
            syn = malloc(cap * SPK_SYNAPSE_BYTES);
            tgt = malloc(cap * sizeof *tgt);
            if (!syn || !tgt) {
                st = oom(err);
                break;
            }
        }
        /* each partition's block of the sources, one read each */
        uint64_t m = 0;
        for (int p = 0; st == TB_OK && p < k->P; ++p) {
            const uint32_t *o = k->boff_host + (size_t)p * L;
            uint64_t lo = o[s0 * ND], hi = o[s1 * ND];
            at[p] = m;
            cl_int rc = hi == lo ? CL_SUCCESS
                                 : clEnqueueReadBuffer(tb_device_queue(k->dev), k->bank[k->pbank[p]], CL_TRUE,
                                                       (k->pbase[p] + lo) * SPK_SYNAPSE_BYTES,
                                                       (hi - lo) * SPK_SYNAPSE_BYTES, syn + 2 * m, 0, NULL, NULL);
            if (rc != CL_SUCCESS)
                st = tb_cl_fail(err, rc, "reading the synapses back");
            m += hi - lo;
        }
        for (uint64_t s = s0; st == TB_OK && s < s1; ++s) {
            uint64_t c = 0;
            for (int p = 0; p < k->P; ++p) {
                const uint32_t *o = k->boff_host + (size_t)p * L;
                for (uint32_t x = o[s * ND]; x < o[(s + 1) * ND]; ++x)
                    tgt[c++] = (uint64_t)k->part[p] + spk_synapse_target(k, syn[2 * (at[p] + x - o[s0 * ND])]);
            }
            if (c > 0)
                st = fn(ctx, s, tgt, c, err);
        }
    }
    free(syn), free(tgt), free(at);
    return st;
}
