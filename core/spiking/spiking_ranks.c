/* One spiking network over MPI ranks (docs/mpi.md).
 *
 * The network's partitions (contiguous ranges of neurons balanced by the
 * synapses they receive, spiking_connect.c) are numbered over the whole
 * run: R ranks x the partitions each rank wants (the most any rank
 * wants), and rank r owns the r-th block of them, so each rank holds a
 * contiguous block of neurons in population order. A rank updates only
 * its neurons and stores only the synapses onto them (its connectivity
 * kernels draw every row, as in one process, and keep the synapses whose
 * target is its own: the draws of a row depend on each other).
 *
 * No spike reaches a neuron sooner than the shortest delay, so the ranks
 * exchange once per launch of at most that many steps: each rank's spike
 * lists of the launch's steps (per step, per own partition, in neuron
 * order) go to every rank in one MPI_Allgatherv, and each rank writes the
 * other ranks' lists into its spike history where their partitions would
 * have written them. Delivery then reads exactly the history a single
 * process holds, in the same order, so every rank's neurons see the same
 * inputs and the spike trains are those of one process.
 *
 * Rank 0 writes the output: the exchange already brings it every spike,
 * so it records the other ranks' recorded spikes (and counts them for
 * rates) from the lists themselves; the other ranks declare and write
 * nothing. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perturb/perturb_ops.h"
#include "spiking_internal.h"
#include "util.h"
#include "world.h"

struct spk_ranks {
    int R, rank, each; /* ranks; this one; partitions per rank */
    int wish;          /* partitions per rank, the most any rank's device wants */
    uint64_t bank_syn; /* synapses per buffer, on the smallest device */
    uint32_t *rows;    /* the launch's history counts, P + 1 a step */
    uint32_t *lists;   /* the launch's lists of this rank's neurons, a slot's worth a step */
    size_t rows_cap, lists_cap; /* steps */
    uint32_t *mine;    /* this rank's message: status, counts, ids */
    size_t cap;        /* of mine, in words */
    bool halted;       /* another rank failed in this chunk */
    /* rank 0: the other ranks' recorded spikes, per chunk buffer */
    uint32_t *fcnt[2]; /* per partition, entries in rec_host */
    uint32_t *fpop[2]; /* per step of the chunk and population */
    double seconds;    /* spent exchanging (waiting included) */
    double mpi_seconds; /* of which in MPI (the rest: copies to and from the device) */
    uint64_t bytes;    /* sent by this rank */
    uint64_t exchanges;
};

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

bool spk_ranks_active(const spk *k)
{
    return k->rk != NULL;
}

bool spk_ranks_writes(const spk *k)
{
    return !k->rk || k->rk->rank == 0;
}

/* What the exchange cannot carry yet: refused before anything is built. */
static tb_status refuse(const spk *k, tb_error *err)
{
    const char *what = NULL;
    for (size_t i = 0; !what && i < k->ss->n_records; ++i)
        if (k->ss->records[i].kind == TB_RECORD_STATE)
            what = "[[record]] kind = \"state\"";
        else if (k->ss->records[i].kind == TB_RECORD_CONNECTIONS)
            what = "[[record]] kind = \"connections\"";
    if (!what && k->ss->brain)
        what = "[brain]";
    size_t n_ev = 0;
    if (!what && tb_perturb_events(k->sc, &n_ev) && n_ev)
        what = "[[perturbation]]";
    if (!what)
        return TB_OK;
    return tb_error_set(err, TB_ERR_SCENARIO,
                        "%s: %s is not available for a network split over MPI ranks yet (docs/mpi.md); run it "
                        "without mpirun",
                        k->sc->path, what);
}

tb_status spk_ranks_agree(spk *k, int wish, uint64_t bank_syn, tb_error *err)
{
    if (tb_world_size() < 2)
        return TB_OK;
    /* the largest wish, the smallest bank (as its complement) */
    uint64_t v[2] = {(uint64_t)(wish > 0 ? wish : 1), UINT64_MAX - bank_syn};
    tb_status st = tb_world_max(v, 2, err);
    if (st != TB_OK)
        return st;
    k->rk = calloc(1, sizeof *k->rk);
    if (!k->rk)
        return oom(err);
    k->rk->R = tb_world_size();
    k->rk->rank = tb_world_rank();
    k->rk->wish = (int)(v[0] < 4096 ? v[0] : 4096);
    k->rk->bank_syn = UINT64_MAX - v[1];
    return TB_OK;
}

tb_status spk_ranks_plan(spk *k, int *P, uint64_t *bank_syn, double total, tb_error *err)
{
    struct spk_ranks *rk = k->rk;
    if (!rk)
        return TB_OK;
    tb_status st = refuse(k, err);
    if (st != TB_OK)
        return st;
    int R = rk->R;
    if (k->N < (uint64_t)R)
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "%s: %d MPI ranks but the network has %llu neuron%s; each rank needs at least one",
                            k->sc->path, R, (unsigned long long)k->N, k->N == 1 ? "" : "s");
    *bank_syn = rk->bank_syn;
    uint64_t need = (uint64_t)ceil(total * 1.25 / (double)(rk->bank_syn ? rk->bank_syn : 1));
    uint64_t each = (uint64_t)rk->wish;
    if (each * (uint64_t)R < need)
        each = (need + (uint64_t)R - 1) / (uint64_t)R;
    if (each * (uint64_t)R > k->N)
        each = k->N / (uint64_t)R;
    rk->each = (int)each;
    *P = (int)each * R;
    return TB_OK;
}

void spk_ranks_own(spk *k)
{
    k->pfirst = k->rk ? k->rk->rank * k->rk->each : 0;
    k->pown = k->rk ? k->rk->each : k->P;
}

tb_status spk_ranks_buffers(spk *k, tb_error *err)
{
    struct spk_ranks *rk = k->rk;
    if (!rk)
        return TB_OK;
    for (int b = 0; b < 2; ++b) {
        rk->fcnt[b] = calloc((size_t)k->P + 1, sizeof *rk->fcnt[b]);
        rk->fpop[b] = calloc(k->kmax * k->n_pops + 1, sizeof *rk->fpop[b]);
        if (!rk->fcnt[b] || !rk->fpop[b])
            return oom(err);
    }
    return TB_OK;
}

void spk_ranks_free(spk *k)
{
    struct spk_ranks *rk = k->rk;
    if (!rk)
        return;
    free(rk->rows);
    free(rk->lists);
    free(rk->mine);
    for (int b = 0; b < 2; ++b) {
        free(rk->fcnt[b]);
        free(rk->fpop[b]);
    }
    free(rk);
    k->rk = NULL;
}

void spk_ranks_chunk(spk *k, int buf)
{
    struct spk_ranks *rk = k->rk;
    if (!rk)
        return;
    rk->halted = false;
    memset(rk->fcnt[buf], 0, ((size_t)k->P + 1) * sizeof *rk->fcnt[buf]);
    memset(rk->fpop[buf], 0, (k->kmax * k->n_pops + 1) * sizeof *rk->fpop[buf]);
}

bool spk_ranks_halted(const spk *k)
{
    return k->rk && k->rk->halted;
}

static bool reserve(struct spk_ranks *rk, size_t words)
{
    if (words <= rk->cap)
        return true;
    size_t cap = rk->cap ? rk->cap : 1024;
    while (cap < words)
        cap *= 2;
    uint32_t *m = realloc(rk->mine, cap * sizeof *m);
    if (!m)
        return false;
    rk->mine = m;
    rk->cap = cap;
    return true;
}

static bool steps_room(uint32_t **buf, size_t *cap, uint64_t n, size_t per)
{
    if (n <= *cap)
        return true;
    uint32_t *m = realloc(*buf, (size_t)n * per * sizeof *m + 1);
    if (!m)
        return false;
    *buf = m;
    *cap = (size_t)n;
    return true;
}

/* This rank's lists of steps [t, t + n): after the status word, n x pown
 * counts, then the ids, step by step and partition by partition. Each
 * step's counts and its whole range of this rank's list slots come back
 * in one batch of reads (a few commands, one wait), and are packed here. */
static tb_status pack(spk *k, uint64_t t, uint64_t n, size_t *words, tb_error *err)
{
    struct spk_ranks *rk = k->rk;
    cl_command_queue q = tb_device_queue(k->dev);
    size_t span = (size_t)(k->part[k->pfirst + k->pown] - k->part[k->pfirst]), P1 = (size_t)k->P + 1;
    if (!steps_room(&rk->rows, &rk->rows_cap, n, P1) || !steps_room(&rk->lists, &rk->lists_cap, n, span))
        return oom(err);
    cl_int rc = CL_SUCCESS;
    for (uint64_t s = 0; rc == CL_SUCCESS && s < n; ++s) {
        size_t slot = (size_t)((t + s) % (uint64_t)k->H);
        rc = clEnqueueReadBuffer(q, k->hist_cnt, CL_FALSE, slot * P1 * sizeof(cl_uint), P1 * sizeof(cl_uint),
                                 rk->rows + s * P1, 0, NULL, NULL);
        if (rc == CL_SUCCESS && span)
            rc = clEnqueueReadBuffer(q, k->hist, CL_FALSE,
                                     (slot * (size_t)k->Ns + (size_t)k->part[k->pfirst]) * sizeof(cl_uint),
                                     span * sizeof(cl_uint), rk->lists + s * span, 0, NULL, NULL);
    }
    if (rc == CL_SUCCESS)
        rc = clFinish(q);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "reading the spikes to send to the other ranks");
    size_t head = 1 + (size_t)n * (size_t)k->pown, total = head;
    for (uint64_t s = 0; s < n; ++s)
        for (int j = 0; j < k->pown; ++j)
            total += rk->rows[s * P1 + (size_t)(k->pfirst + j)];
    if (!reserve(rk, total))
        return oom(err);
    size_t at = head;
    for (uint64_t s = 0; s < n; ++s)
        for (int j = 0; j < k->pown; ++j) {
            uint32_t c = rk->rows[s * P1 + (size_t)(k->pfirst + j)];
            rk->mine[1 + s * (size_t)k->pown + (size_t)j] = c;
            memcpy(rk->mine + at, rk->lists + s * span + (size_t)(k->part[k->pfirst + j] - k->part[k->pfirst]),
                   c * sizeof(uint32_t));
            at += c;
        }
    *words = at;
    return TB_OK;
}

static size_t pop_index(const spk *k, uint64_t n)
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

/* Rank 0 records the other ranks' recorded spikes as if its device had
 * (its own come from the device). */
static void note(spk *k, int from, uint64_t step, uint64_t step0, int q, const uint32_t *ids, uint32_t c, int buf)
{
    struct spk_ranks *rk = k->rk;
    if (rk->rank != 0 || from == 0)
        return;
    for (uint32_t i = 0; i < c; ++i) {
        uint32_t n = ids[i];
        uint8_t what = k->recorded[n];
        if (what & 1u) {
            uint32_t *e = k->rec_host[buf] + 2 * (k->rec_base[q] + rk->fcnt[buf][q]++);
            e[0] = (uint32_t)(step - step0);
            e[1] = n;
        }
        if (what & 2u)
            rk->fpop[buf][(step - step0) * k->n_pops + pop_index(k, n)]++;
    }
}

/* The other ranks' lists into this rank's history: ids where their
 * partitions would have written them, and each step's counts row (this
 * rank's counts as read; the spike files' list, P, is every rank's own):
 * one batch of writes, one wait. */
static tb_status unpack(spk *k, const uint32_t *all, const size_t *sizes, uint64_t t, uint64_t n, uint64_t step0,
                        int buf, tb_error *err)
{
    struct spk_ranks *rk = k->rk;
    cl_command_queue q = tb_device_queue(k->dev);
    cl_int rc = CL_SUCCESS;
    size_t each = (size_t)rk->each, P1 = (size_t)k->P + 1;
    const uint32_t *m = all;
    for (int r = 0; r < rk->R; ++r) {
        const uint32_t *ids = m + 1 + (size_t)n * each;
        for (uint64_t s = 0; s < n; ++s) {
            size_t slot = (size_t)((t + s) % (uint64_t)k->H);
            for (size_t j = 0; j < each; ++j) {
                int qq = r * rk->each + (int)j;
                uint32_t c = m[1 + s * each + j];
                rk->rows[s * P1 + (size_t)qq] = c;
                note(k, r, t + s, step0, qq, ids, c, buf);
                size_t off = (slot * (size_t)k->Ns + (size_t)k->part[qq]) * sizeof(cl_uint);
                if (c && r != rk->rank && rc == CL_SUCCESS)
                    rc = clEnqueueWriteBuffer(q, k->hist, CL_FALSE, off, c * sizeof(cl_uint), ids, 0, NULL, NULL);
                ids += c;
            }
        }
        m += sizes[r] / sizeof *m;
    }
    for (uint64_t s = 0; rc == CL_SUCCESS && s < n; ++s) {
        size_t slot = (size_t)((t + s) % (uint64_t)k->H);
        rc = clEnqueueWriteBuffer(q, k->hist_cnt, CL_FALSE, slot * P1 * sizeof(cl_uint), (size_t)k->P * sizeof(cl_uint),
                                  rk->rows + s * P1, 0, NULL, NULL);
    }
    /* the messages are freed after this: wait until they are copied */
    cl_int done = clFinish(q);
    rc = rc != CL_SUCCESS ? rc : done;
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "writing the other ranks' spikes");
}

tb_status spk_ranks_exchange(spk *k, uint64_t t, uint64_t n, uint64_t step0, int buf, tb_status st, tb_error *err)
{
    struct spk_ranks *rk = k->rk;
    /* the launch's own time is computing, not exchanging */
    cl_int rc = st == TB_OK ? clFinish(tb_device_queue(k->dev)) : CL_SUCCESS;
    if (rc != CL_SUCCESS)
        st = tb_cl_fail(err, rc, "running the network's steps");
    double t0 = tb_now();
    size_t words = 1;
    if (st == TB_OK)
        st = pack(k, t, n, &words, err);
    if (st != TB_OK || !reserve(rk, 1)) {
        if (st == TB_OK)
            st = oom(err);
        words = 1;
    }
    if (rk->cap)
        rk->mine[0] = st != TB_OK;
    void *all = NULL;
    size_t *sizes = calloc((size_t)rk->R, sizeof *sizes);
    if (!sizes)
        return st != TB_OK ? st : oom(err);
    double m0 = tb_now();
    tb_status got = rk->cap ? tb_world_allgather(rk->mine, words * sizeof(uint32_t), &all, sizes, err) : st;
    rk->mpi_seconds += tb_now() - m0;
    if (got != TB_OK || st != TB_OK) {
        free(sizes);
        free(all);
        return st != TB_OK ? st : got;
    }
    const uint32_t *m = all;
    for (int r = 0; r < rk->R; ++r) {
        size_t want = 1 + (size_t)n * (size_t)rk->each;
        if (sizes[r] < sizeof *m || m[0] || sizes[r] < want * sizeof *m)
            rk->halted = true; /* the failing rank reports its error through the chunk's verdict */
        m += sizes[r] / sizeof *m;
    }
    if (!rk->halted)
        st = unpack(k, all, sizes, t, n, step0, buf, err);
    free(sizes);
    free(all);
    rk->seconds += tb_now() - t0;
    rk->bytes += words * sizeof(uint32_t);
    rk->exchanges++;
    return st;
}

void spk_ranks_merge(const spk *k, int buf, uint32_t *cnt, uint32_t *pop, uint64_t steps)
{
    const struct spk_ranks *rk = k->rk;
    if (!rk || rk->rank != 0)
        return;
    for (int q = 0; q < k->P; ++q)
        if (q < k->pfirst || q >= k->pfirst + k->pown)
            cnt[q] = rk->fcnt[buf][q];
    for (uint64_t i = 0; pop && i < steps * k->n_pops; ++i)
        pop[i] += rk->fpop[buf][i];
}

tb_status spk_ranks_declare(const spk *k, tb_output *out, tb_error *err)
{
    const struct spk_ranks *rk = k->rk;
    tb_status st = TB_OK;
    for (int r = 0; rk && st == TB_OK && r < rk->R; ++r) {
        char grp[32];
        snprintf(grp, sizeof grp, "/devices/%d", r); /* one device per rank, in rank order */
        int64_t lo = k->part[r * rk->each], hi = k->part[(r + 1) * rk->each];
        st = tb_output_attr_int(out, grp, "first_neuron", lo, err);
        if (st == TB_OK)
            st = tb_output_attr_int(out, grp, "neurons", hi - lo, err);
    }
    return st;
}

size_t spk_ranks_figures(const spk *k, tb_sim_figure *f)
{
    const struct spk_ranks *rk = k->rk;
    if (!rk)
        return 0;
    f[0] = (tb_sim_figure){"exchange_seconds", rk->seconds};
    f[1] = (tb_sim_figure){"exchange_bytes", (double)rk->bytes};
    f[2] = (tb_sim_figure){"exchanges", (double)rk->exchanges};
    f[3] = (tb_sim_figure){"exchange_mpi_seconds", rk->mpi_seconds};
    return 4;
}
