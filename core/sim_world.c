/* A run over MPI ranks: the driver's side (sim_world.h). Messages from a
 * rank to rank 0 are a header (the rank's status and message) and then
 * records: 'C' a dataset's shape, 'B' a block of rows. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output_remote.h"
#include "sim_world.h"
#include "util.h"
#include "world.h"

/* ------------------------------------------------------------ bytes */

typedef struct bytes {
    char *data;
    size_t len, cap;
    bool oom;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_u64(bytes *b, uint64_t v)
{
    put(b, &v, sizeof v);
}

static void put_f64(bytes *b, double v)
{
    put(b, &v, sizeof v);
}

static void put_str(bytes *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

typedef struct reader {
    const char *p;
    size_t left;
    bool bad;
} reader;

static const void *get_ref(reader *r, uint64_t n)
{
    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    const void *at = r->p;
    r->p += n;
    r->left -= (size_t)n;
    return at;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    const void *at = get_ref(r, sizeof v);
    if (at)
        memcpy(&v, at, sizeof v);
    return v;
}

static double get_f64(reader *r)
{
    double v = 0;
    const void *at = get_ref(r, sizeof v);
    if (at)
        memcpy(&v, at, sizeof v);
    return v;
}

/* A copy, NUL-terminated (NULL when the message is cut short). */
static char *get_str(reader *r)
{
    uint64_t n = get_u64(r);
    const char *at = get_ref(r, n);
    char *s = at ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, at, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

/* ------------------------------------------------------------ the world */

struct tb_sim_world {
    tb_world_part *parts;
    size_t n_parts;
    bytes records;     /* not rank 0: what its parts wrote since the last exchange */
    tb_output *remote; /* not rank 0: the output its parts write through */
    /* rank 0: what the other ranks ran */
    uint64_t instances, samples;
    tb_sim_figure figures[TB_SIM_MAX_FIGURES];
    size_t n_figures;
    double *scores;
    size_t total;
};

tb_status tb_sim_world_split(size_t total, size_t *first, size_t *count, tb_error *err)
{
    size_t n = (size_t)tb_world_size(), r = (size_t)tb_world_rank();
    if (total < n)
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "%zu MPI ranks but the run has %zu instance%s; each rank needs at least one (a [sweep] "
                            "gives a run several instances; one network over several ranks is not supported yet, "
                            "docs/mpi.md)",
                            n, total, total == 1 ? "" : "s");
    *count = total / n + (r < total % n);
    *first = r * (total / n) + (r < total % n ? r : total % n);
    return TB_OK;
}

static void free_parts(tb_world_part *p, size_t n)
{
    for (size_t k = 0; p && k < n; ++k) {
        free(p[k].device);
        free(p[k].platform);
        free(p[k].driver);
    }
    free(p);
}

void tb_sim_world_free(tb_sim_world *w)
{
    if (!w)
        return;
    free_parts(w->parts, w->n_parts);
    free(w->records.data);
    tb_output_remote_free(w->remote);
    for (size_t k = 0; k < w->n_figures; ++k)
        free((char *)w->figures[k].name);
    free(w->scores);
    free(w);
}

static bool add_part(tb_sim_world *w, int rank, const char *device, const char *platform, const char *driver,
                     int index, size_t first, size_t count)
{
    void *p = w->parts;
    size_t cap = w->n_parts;
    if (!tb_grow(&p, &cap, w->n_parts, sizeof *w->parts))
        return false;
    w->parts = p;
    tb_world_part *wp = &w->parts[w->n_parts++];
    *wp = (tb_world_part){rank, strdup(device ? device : ""), strdup(platform ? platform : ""),
                          strdup(driver ? driver : ""), index, first, count};
    return wp->device && wp->platform && wp->driver;
}

/* Rank 0 reads the parts of rank `from`. */
static tb_status receive_parts(tb_sim_world *w, int from, tb_error *err)
{
    void *m = NULL;
    size_t n = 0;
    tb_status st = tb_world_recv(from, &m, &n, err);
    reader r = {m, n, false};
    uint64_t parts = st == TB_OK ? get_u64(&r) : 0;
    for (uint64_t k = 0; st == TB_OK && k < parts && !r.bad; ++k) {
        char *device = get_str(&r), *platform = get_str(&r), *driver = get_str(&r);
        uint64_t index = get_u64(&r), first = get_u64(&r), count = get_u64(&r);
        if (!r.bad && !add_part(w, from, device, platform, driver, (int)index, first, count))
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
        free(device);
        free(platform);
        free(driver);
    }
    if (st == TB_OK && r.bad)
        st = tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d sent a malformed description of its devices", from);
    free(m);
    return st;
}

tb_status tb_sim_world_setup(tb_sim_world **out, tb_status st, tb_device *const *devs, const size_t *first,
                             const size_t *count, size_t n, tb_error *err)
{
    *out = NULL;
    if (!tb_world_active() || tb_world_size() == 1)
        return st;
    tb_sim_world *w = calloc(1, sizeof *w);
    if (st == TB_OK && !w)
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < n; ++k) {
        const tb_device_info *d = tb_device_get_info(devs[k]);
        if (!add_part(w, tb_world_rank(), d->name, d->platform_name, d->driver_version, d->index, first[k],
                      count[k]))
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    st = tb_world_verdict(st, err);
    if (st == TB_OK && tb_world_rank() != 0) {
        bytes b = {0};
        put_u64(&b, w->n_parts);
        for (size_t k = 0; k < w->n_parts; ++k) {
            const tb_world_part *p = &w->parts[k];
            put_str(&b, p->device);
            put_str(&b, p->platform);
            put_str(&b, p->driver);
            put_u64(&b, (uint64_t)p->index);
            put_u64(&b, p->first);
            put_u64(&b, p->count);
        }
        st = b.oom ? tb_error_set(err, TB_ERR_OTHER, "out of memory") : tb_world_send(b.data, b.len, err);
        free(b.data);
    }
    for (int r = 1; st == TB_OK && tb_world_rank() == 0 && r < tb_world_size(); ++r)
        st = receive_parts(w, r, err);
    if (st != TB_OK) {
        tb_sim_world_free(w);
        return st;
    }
    *out = w;
    return TB_OK;
}

size_t tb_sim_world_parts(const tb_sim_world *w)
{
    return w ? w->n_parts : 0;
}

const tb_world_part *tb_sim_world_part(const tb_sim_world *w, size_t k)
{
    return &w->parts[k];
}

/* ------------------------------------------------------------ output */

static tb_status record_create(void *ctx, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                               uint64_t chunk_rows, tb_error *err)
{
    bytes *b = ctx;
    put(b, "C", 1);
    put_str(b, path);
    put_u64(b, (uint64_t)type);
    put_u64(b, (uint64_t)rank);
    for (int i = 0; i + 1 < rank; ++i)
        put_u64(b, dims[i]);
    put_u64(b, chunk_rows);
    return b->oom ? tb_error_set(err, TB_ERR_OTHER, "out of memory") : TB_OK;
}

static tb_status record_block(void *ctx, const char *path, uint64_t row0, uint64_t rows, uint64_t col0,
                              uint64_t cols, const void *data, uint64_t n, tb_error *err)
{
    bytes *b = ctx;
    put(b, "B", 1);
    put_str(b, path);
    put_u64(b, row0);
    put_u64(b, rows);
    put_u64(b, col0);
    put_u64(b, cols);
    put_u64(b, n);
    put(b, data, (size_t)n);
    return b->oom ? tb_error_set(err, TB_ERR_OTHER, "out of memory for %llu bytes of rows", (unsigned long long)n)
                  : TB_OK;
}

tb_status tb_sim_world_output(tb_sim_world *w, const char *path, tb_output **out, tb_error *err)
{
    tb_output_sink sink = {&w->records, record_create, record_block};
    tb_status st = tb_output_remote(path, &sink, &w->remote, err);
    *out = w->remote;
    return st;
}

/* Not rank 0: the status and what its parts wrote since the last time. */
static tb_status ship(tb_sim_world *w, tb_status st, tb_error *err)
{
    bytes b = {0};
    put_u64(&b, (uint64_t)st);
    put_str(&b, st != TB_OK && err ? tb_error_message(err) : "");
    put(&b, w->records.data, w->records.len);
    w->records.len = 0;
    tb_status sent = w->records.oom || b.oom ? tb_error_set(err, TB_ERR_OTHER, "out of memory")
                                             : tb_world_send(b.data, b.len, err);
    free(b.data);
    return sent != TB_OK ? sent : st;
}

static tb_status replay_create(tb_output *out, reader *r, const char *path, tb_error *err)
{
    tb_dtype type = (tb_dtype)get_u64(r);
    uint64_t rank = get_u64(r), dims[32] = {0};
    if (rank < 1 || rank > 32) {
        r->bad = true;
        return TB_OK;
    }
    for (uint64_t i = 0; i + 1 < rank; ++i)
        dims[i] = get_u64(r);
    uint64_t chunk_rows = get_u64(r);
    return r->bad ? TB_OK : tb_output_remote_declare(out, path, type, (int)rank, dims, chunk_rows, err);
}

static tb_status replay_block(tb_output *out, reader *r, const char *path, tb_error *err)
{
    uint64_t row0 = get_u64(r), rows = get_u64(r), col0 = get_u64(r), cols = get_u64(r), n = get_u64(r);
    const void *data = get_ref(r, n);
    return r->bad ? TB_OK : tb_output_remote_write(out, path, row0, rows, col0, cols, data, n, err);
}

/* Rank 0: rank `from`'s message; its records are written while the run
 * is still good (`st`), and its failure becomes the run's when the run
 * had none. */
static tb_status absorb(tb_output *out, int from, tb_status st, tb_error *err)
{
    void *m = NULL;
    size_t n = 0;
    tb_status got = tb_world_recv(from, &m, &n, err);
    if (got != TB_OK)
        return got;
    reader r = {m, n, false};
    tb_status theirs = (tb_status)get_u64(&r);
    char *msg = get_str(&r);
    if (st == TB_OK && !r.bad && theirs != TB_OK)
        st = tb_error_set(err, theirs, "rank %d: %s", from, msg ? msg : "");
    free(msg);
    while (st == TB_OK && !r.bad && r.left > 0) {
        const char *kind = get_ref(&r, 1);
        char *path = get_str(&r);
        if (!kind || !path)
            r.bad = true;
        else if (*kind == 'C')
            st = replay_create(out, &r, path, err);
        else if (*kind == 'B')
            st = replay_block(out, &r, path, err);
        else
            r.bad = true;
        free(path);
    }
    if (st == TB_OK && r.bad)
        st = tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d sent a malformed message", from);
    free(m);
    return st;
}

tb_status tb_sim_world_declare(tb_sim_world *w, tb_output *out, tb_status st, tb_error *err)
{
    if (tb_world_rank() != 0)
        return ship(w, st, err);
    for (int r = 1; r < tb_world_size() && !tb_world_broken(); ++r)
        st = absorb(out, r, st, err);
    return st;
}

tb_status tb_sim_world_agree(tb_sim_world *w, uint64_t *n, bool *stop, tb_error *err)
{
    (void)w;
    uint64_t v[2] = {tb_world_rank() == 0 ? *n : 0, *stop};
    tb_status st = tb_world_max(v, 2, err);
    *n = v[0];
    *stop = v[1] != 0;
    return st;
}

tb_status tb_sim_world_exchange(tb_sim_world *w, tb_output *out, tb_status st, tb_error *err)
{
    tb_status mine = st;
    if (tb_world_rank() != 0)
        st = ship(w, st, err);
    for (int r = 1; tb_world_rank() == 0 && r < tb_world_size() && !tb_world_broken(); ++r)
        st = absorb(out, r, st, err);
    if (tb_world_broken())
        return st;
    uint64_t v = tb_world_rank() == 0 ? (uint64_t)st : 0;
    tb_status agreed = tb_world_max(&v, 1, err);
    if (agreed != TB_OK)
        return agreed;
    if (v != TB_OK && mine == TB_OK && st == TB_OK)
        tb_error_set(err, (tb_status)v, "rank %d stops: another rank failed (rank 0 reports why)", tb_world_rank());
    return (tb_status)v;
}

/* ------------------------------------------------------------ summary */

static void add_figure(tb_sim_world *w, const char *name, double value)
{
    size_t k = 0;
    while (k < w->n_figures && strcmp(w->figures[k].name, name) != 0)
        ++k;
    if (k == w->n_figures && k < TB_SIM_MAX_FIGURES) {
        char *copy = strdup(name);
        if (!copy)
            return;
        w->figures[w->n_figures++] = (tb_sim_figure){copy, 0};
    }
    if (k < w->n_figures)
        w->figures[k].value += value;
}

static tb_status receive_summary(tb_sim_world *w, int from, tb_error *err)
{
    void *m = NULL;
    size_t n = 0;
    tb_status st = tb_world_recv(from, &m, &n, err);
    reader r = {m, n, false};
    if (st == TB_OK) {
        w->instances += get_u64(&r);
        w->samples += get_u64(&r);
        uint64_t figures = get_u64(&r);
        for (uint64_t k = 0; k < figures && !r.bad; ++k) {
            char *name = get_str(&r);
            double value = get_f64(&r);
            if (name)
                add_figure(w, name, value);
            free(name);
        }
        uint64_t parts = get_u64(&r);
        for (uint64_t k = 0; k < parts && !r.bad; ++k) {
            uint64_t first = get_u64(&r), count = get_u64(&r);
            const double *v = get_ref(&r, count * sizeof *v);
            if (v && w->scores && first <= w->total && count <= w->total - first)
                memcpy(w->scores + first, v, (size_t)count * sizeof *v);
        }
    }
    if (st == TB_OK && r.bad)
        st = tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d sent a malformed summary", from);
    free(m);
    return st;
}

tb_status tb_sim_world_collect(tb_sim_world *w, const tb_sim_summary *local, const double *const *scores,
                               const size_t *first, const size_t *count, size_t n, tb_error *err)
{
    if (tb_world_rank() != 0) {
        bytes b = {0};
        put_u64(&b, local->instances);
        put_u64(&b, local->samples);
        put_u64(&b, local->n_figures);
        for (size_t k = 0; k < local->n_figures; ++k) {
            put_str(&b, local->figures[k].name);
            put_f64(&b, local->figures[k].value);
        }
        put_u64(&b, scores ? n : 0);
        for (size_t k = 0; scores && k < n; ++k) {
            put_u64(&b, first[k]);
            put_u64(&b, count[k]);
            put(&b, scores[k], count[k] * sizeof *scores[k]);
        }
        tb_status st = b.oom ? tb_error_set(err, TB_ERR_OTHER, "out of memory") : tb_world_send(b.data, b.len, err);
        free(b.data);
        return st;
    }
    w->total = 0;
    for (size_t k = 0; k < w->n_parts; ++k)
        if (w->parts[k].first + w->parts[k].count > w->total)
            w->total = w->parts[k].first + w->parts[k].count;
    free(w->scores);
    w->scores = scores ? malloc(w->total * sizeof *w->scores + 1) : NULL;
    for (size_t i = 0; w->scores && i < w->total; ++i)
        w->scores[i] = NAN;
    tb_status st = TB_OK;
    for (int r = 1; st == TB_OK && r < tb_world_size(); ++r)
        st = receive_summary(w, r, err);
    return st;
}

void tb_sim_world_add(const tb_sim_world *w, tb_sim_summary *s)
{
    s->instances += w->instances;
    s->samples += w->samples;
    for (size_t i = 0; i < w->n_figures; ++i) {
        size_t k = 0;
        while (k < s->n_figures && strcmp(s->figures[k].name, w->figures[i].name) != 0)
            ++k;
        if (k == s->n_figures && k < TB_SIM_MAX_FIGURES)
            s->figures[s->n_figures++] = (tb_sim_figure){w->figures[i].name, 0};
        if (k < s->n_figures)
            s->figures[k].value += w->figures[i].value;
    }
}

void tb_sim_world_scores(const tb_sim_world *w, double *all)
{
    for (size_t k = 0; w->scores && k < w->n_parts; ++k)
        if (w->parts[k].rank != 0)
            memcpy(all + w->parts[k].first, w->scores + w->parts[k].first, w->parts[k].count * sizeof *all);
}
