/* Comparing two output files element by element and spike by spike
 * (core/compare.h). Datasets are read in blocks of rows, so the size of a
 * sweep's output does not matter; spike trains are read whole (a run's
 * spikes are a few bytes per spike). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "twinbrain/compare.h"
#include "kit.h"
#include "h5util.h"
#include "util.h"

/* The iteration API was versioned in HDF5 1.12 (Debian 12 has 1.10). */
#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
typedef H5O_info2_t object_info;
#define link_iterate H5Literate2
#define object_visit(g, f, d) H5Ovisit3(g, H5_INDEX_NAME, H5_ITER_INC, f, d, H5O_INFO_BASIC)
#else
typedef H5L_info_t link_info;
typedef H5O_info_t object_info;
#define link_iterate H5Literate
#define object_visit(g, f, d) H5Ovisit2(g, H5_INDEX_NAME, H5_ITER_INC, f, d, H5O_INFO_BASIC)
#endif

/* Elements read at a time. */
#define BLOCK_ELEMENTS ((hsize_t)1 << 20)
/* Relative differences are floored at this fraction of the largest
 * reference magnitude (see tb_diff). */
#define REL_FLOOR 1e-6

typedef struct files {
    hid_t ref, other;
    const char *ref_path, *other_path;
} files;

static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 8;
    void *g = realloc(*items, c * size);
    if (!g)
        return false;
    *items = g;
    *cap = c;
    return true;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool link_exists(hid_t f, const char *path)
{
    /* each prefix in turn: H5Lexists fails below a missing link */
    char buf[512];
    copy_text(buf, sizeof buf, path);
    for (char *s = buf + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (H5Lexists(f, buf, H5P_DEFAULT) <= 0)
            return false;
        *s = c;
        if (c == '\0')
            return true;
    }
}

/* ------------------------------------------------------------ numeric datasets */

/* Streaming sums for the statistics of one dataset. */
typedef struct acc {
    double max_abs, max_rel, sq, floor;
    uint64_t n, nonfinite;
    /* Pearson r: Welford's co-moments, stable for long series */
    double mx, my, cxx, cyy, cxy;
    uint64_t k;
} acc;

static void acc_add(acc *a, double x, double y)
{
    a->n++;
    bool fx = isfinite(x), fy = isfinite(y);
    if (!fx || !fy) {
        /* the same NaN or infinity on both sides is agreement */
        bool same = (isnan(x) && isnan(y)) || x == y;
        if (!same) {
            a->nonfinite++;
            a->max_abs = a->max_rel = INFINITY;
        }
        return;
    }
    double d = fabs(y - x);
    a->max_abs = d > a->max_abs ? d : a->max_abs;
    double den = fabs(x) > a->floor ? fabs(x) : a->floor;
    double rel = den > 0 ? d / den : (d > 0 ? INFINITY : 0.0);
    a->max_rel = rel > a->max_rel ? rel : a->max_rel;
    a->sq += d * d;
    a->k++;
    double dx = x - a->mx;
    a->mx += dx / (double)a->k;
    double dy = y - a->my;
    a->my += dy / (double)a->k;
    a->cxx += dx * (x - a->mx);
    a->cyy += dy * (y - a->my);
    a->cxy += dx * (y - a->my);
}

typedef struct shape {
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    hsize_t elements, row; /* elements in all, per row of the first axis */
} shape;

static bool read_shape(hid_t ds, shape *s)
{
    hid_t sp = H5Dget_space(ds);
    s->rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    bool ok = s->rank >= 0 && H5Sget_simple_extent_dims(sp, s->dims, NULL) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (s->rank == 0) /* a scalar: one row of one */
        s->dims[0] = 1;
    s->row = 1;
    for (int i = 1; i < s->rank; i++)
        s->row *= s->dims[i];
    s->elements = s->row * s->dims[0];
    return ok;
}

/* Rows [r0, r0 + n) as doubles. */
static bool read_rows(hid_t ds, const shape *s, hsize_t r0, hsize_t n, double *buf)
{
    if (s->rank == 0)
        return H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    memcpy(count, s->dims, sizeof count);
    start[0] = r0;
    count[0] = n;
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(s->rank, count, NULL);
    bool ok = fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
              H5Dread(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, buf) >= 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return ok;
}

/* One pass over both datasets in blocks of rows; `first` finds the floor. */
static bool pass(hid_t a, hid_t b, const shape *s, acc *ac, bool first)
{
    hsize_t rows = s->row ? (BLOCK_ELEMENTS / s->row ? BLOCK_ELEMENTS / s->row : 1) : 1;
    size_t cap = (size_t)(rows * (s->row ? s->row : 1));
    double *x = malloc(cap * sizeof *x), *y = first ? NULL : malloc(cap * sizeof *y);
    bool ok = x && (first || y);
    for (hsize_t r0 = 0; ok && r0 < s->dims[0]; r0 += rows) {
        hsize_t n = s->dims[0] - r0 < rows ? s->dims[0] - r0 : rows;
        ok = read_rows(a, s, r0, n, x) && (first || read_rows(b, s, r0, n, y));
        for (hsize_t i = 0; ok && i < n * s->row; i++) {
            if (first)
                ac->floor = isfinite(x[i]) && fabs(x[i]) > ac->floor ? fabs(x[i]) : ac->floor;
            else
                acc_add(ac, x[i], y[i]);
        }
    }
    free(x);
    free(y);
    return ok;
}

static bool numeric(hid_t ds)
{
    hid_t t = H5Dget_type(ds);
    H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (t >= 0)
        H5Tclose(t);
    return c == H5T_FLOAT || c == H5T_INTEGER;
}

static void shape_text(const shape *s, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < s->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "", (unsigned long long)s->dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static void compare_dataset(const files *f, const char *path, tb_diff *d)
{
    hid_t a = H5Dopen2(f->ref, path, H5P_DEFAULT);
    hid_t b = link_exists(f->other, path) ? H5Dopen2(f->other, path, H5P_DEFAULT) : H5I_INVALID_HID;
    shape sa = {0}, sb = {0};
    d->pearson_r = NAN;
    if (a < 0 || !read_shape(a, &sa)) {
        snprintf(d->problem, sizeof d->problem, "unreadable in the reference file");
    } else if (b < 0 || !read_shape(b, &sb)) {
        snprintf(d->problem, sizeof d->problem, "missing in this run's file");
    } else if (sa.rank != sb.rank || memcmp(sa.dims, sb.dims, (size_t)sa.rank * sizeof sa.dims[0]) != 0) {
        char ta[48], tb[48];
        shape_text(&sa, ta, sizeof ta);
        shape_text(&sb, tb, sizeof tb);
        snprintf(d->problem, sizeof d->problem, "shapes differ: %s here, %s in the reference", tb, ta);
    } else {
        acc ac = {0};
        bool ok = pass(a, b, &sa, &ac, true);
        d->peak = ac.floor;
        ac.floor *= REL_FLOOR;
        if (!ok || !pass(a, b, &sa, &ac, false)) {
            snprintf(d->problem, sizeof d->problem, "cannot read the data");
        } else {
            d->elements = sa.elements;
            d->max_abs = ac.max_abs;
            d->max_rel = ac.max_rel;
            d->rms = ac.n ? sqrt(ac.sq / (double)ac.n) : 0.0;
            d->nonfinite = ac.nonfinite;
            if (ac.nonfinite)
                d->rms = INFINITY;
            d->pearson_r = ac.cxx > 0 && ac.cyy > 0 ? ac.cxy / sqrt(ac.cxx * ac.cyy) : NAN;
        }
    }
    if (a >= 0)
        H5Dclose(a);
    if (b >= 0)
        H5Dclose(b);
}

/* ------------------------------------------------------------ walking */

typedef struct walk {
    const files *f;
    tb_compare *out;
    size_t cap;
    bool oom;
    const char *root; /* "/monitors" or "/twin" */
} walk;

static herr_t visit(hid_t obj, const char *name, const object_info *info, void *data)
{
    walk *w = data;
    (void)obj;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    const char *leaf = strrchr(name, '/');
    leaf = leaf ? leaf + 1 : name;
    if (strcmp(leaf, "time") == 0)
        return 0; /* sample times: the same clock everywhere */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", w->root, name);
    hid_t ds = H5Dopen2(w->f->ref, path, H5P_DEFAULT);
    bool num = ds >= 0 && numeric(ds);
    if (ds >= 0)
        H5Dclose(ds);
    if (!num)
        return 0;
    if (!grow((void **)&w->out->diffs, &w->cap, w->out->n_diffs, sizeof *w->out->diffs)) {
        w->oom = true;
        return -1;
    }
    tb_diff *d = &w->out->diffs[w->out->n_diffs++];
    memset(d, 0, sizeof *d);
    /* "tavg/data" reads better as "tavg": data is what a monitor is */
    char nice[256];
    copy_text(nice, sizeof nice, name);
    size_t n = strlen(nice);
    if (n > 5 && strcmp(nice + n - 5, "/data") == 0)
        nice[n - 5] = '\0';
    copy_text(d->name, sizeof d->name, nice);
    copy_text(d->path, sizeof d->path, path);
    compare_dataset(w->f, path, d);
    return 0;
}

static bool walk_group(const files *f, const char *root, tb_compare *out, size_t *cap)
{
    if (!link_exists(f->ref, root))
        return true;
    walk w = {f, out, *cap, false, root};
    hid_t g = H5Gopen2(f->ref, root, H5P_DEFAULT);
    herr_t r = g >= 0 ? object_visit(g, visit, &w) : -1;
    if (g >= 0)
        H5Gclose(g);
    *cap = w.cap;
    return r >= 0 && !w.oom;
}

/* ------------------------------------------------------------ spikes */

typedef struct train {
    double *t;
    uint64_t *id;
    size_t n;
    double n_nodes;   /* group attribute n_nodes, 0 when absent */
    uint64_t max_id;
} train;

static void train_free(train *t)
{
    free(t->t);
    free(t->id);
}

typedef struct spike {
    double t;
    uint64_t id;
} spike;

static int spike_order(const void *pa, const void *pb)
{
    const spike *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static bool read_1d(hid_t f, const char *path, hid_t mtype, size_t size, void **buf, size_t *n)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    shape s = {0};
    bool ok = ds >= 0 && read_shape(ds, &s) && s.rank == 1;
    *n = ok ? (size_t)s.dims[0] : 0;
    *buf = ok ? malloc((*n ? *n : 1) * size) : NULL;
    ok = ok && *buf && (*n == 0 || H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) >= 0);
    if (ds >= 0)
        H5Dclose(ds);
    return ok;
}

static double attr_double(hid_t f, const char *obj, const char *name, double fallback)
{
    double v = fallback;
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0)
        return fallback;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
        v = fallback;
    if (a >= 0)
        H5Aclose(a);
    return v;
}

/* A population's spikes, sorted by time then node (drivers may record
 * spikes of one step in any order). */
static bool read_train(hid_t f, const char *pop, train *tr)
{
    char tp[320], ip[320], gp[320];
    snprintf(gp, sizeof gp, "/spikes/%s", pop);
    snprintf(tp, sizeof tp, "/spikes/%s/timestamps", pop);
    snprintf(ip, sizeof ip, "/spikes/%s/node_ids", pop);
    size_t nt = 0, ni = 0;
    if (!link_exists(f, tp) || !link_exists(f, ip))
        return false;
    bool ok = read_1d(f, tp, H5T_NATIVE_DOUBLE, sizeof(double), (void **)&tr->t, &nt) &&
              read_1d(f, ip, H5T_NATIVE_UINT64, sizeof(uint64_t), (void **)&tr->id, &ni) && nt == ni;
    tr->n = ok ? nt : 0;
    tr->n_nodes = attr_double(f, gp, "n_nodes", 0.0);
    spike *s = ok ? malloc((tr->n ? tr->n : 1) * sizeof *s) : NULL;
    ok = ok && s;
    for (size_t i = 0; ok && i < tr->n; i++) {
        s[i] = (spike){tr->t[i], tr->id[i]};
        tr->max_id = tr->id[i] > tr->max_id ? tr->id[i] : tr->max_id;
    }
    if (ok)
        qsort(s, tr->n, sizeof *s, spike_order);
    for (size_t i = 0; ok && i < tr->n; i++)
        tr->t[i] = s[i].t, tr->id[i] = s[i].id;
    free(s);
    return ok;
}

static bool same_time(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a));
}

static void compare_trains(const train *a, const train *b, double duration_s, tb_spike_diff *d)
{
    d->count_ref = a->n;
    d->count = b->n;
    double nodes = a->n_nodes > 0 ? a->n_nodes : (double)((a->max_id > b->max_id ? a->max_id : b->max_id) + 1);
    double norm = duration_s > 0 && nodes > 0 ? 1.0 / (duration_s * nodes) : 0.0;
    d->rate_ref = (double)a->n * norm;
    d->rate = (double)b->n * norm;
    size_t k = 0;
    while (k < a->n && k < b->n && a->id[k] == b->id[k] && same_time(a->t[k], b->t[k]))
        k++;
    d->matching = k;
    if (k < a->n && k < b->n)
        d->first_divergence_ms = fmin(a->t[k], b->t[k]);
    else if (k < a->n)
        d->first_divergence_ms = a->t[k];
    else if (k < b->n)
        d->first_divergence_ms = b->t[k];
    else
        d->first_divergence_ms = NAN;
}

typedef struct pops {
    char **names;
    size_t n, cap;
} pops;

static herr_t list_pop(hid_t g, const char *name, const link_info *info, void *data)
{
    (void)g;
    (void)info;
    pops *p = data;
    if (!grow((void **)&p->names, &p->cap, p->n, sizeof *p->names))
        return -1;
    p->names[p->n] = tb_strdup(name);
    return p->names[p->n++] ? 0 : -1;
}

static bool compare_spikes(const files *f, tb_compare *out)
{
    if (!link_exists(f->ref, "/spikes"))
        return true;
    pops p = {0};
    hid_t g = H5Gopen2(f->ref, "/spikes", H5P_DEFAULT);
    bool ok = g >= 0 && link_iterate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, list_pop, &p) >= 0;
    if (g >= 0)
        H5Gclose(g);
    /* the simulated time (an interrupted run's) else the scenario's */
    double dur = attr_double(f->ref, "/", "simulated_ms", attr_double(f->ref, "/", "duration_ms", 0.0)) * 1e-3;
    out->spikes = ok ? calloc(p.n ? p.n : 1, sizeof *out->spikes) : NULL;
    ok = ok && out->spikes;
    for (size_t i = 0; ok && i < p.n; i++) {
        tb_spike_diff *d = &out->spikes[out->n_spikes++];
        copy_text(d->population, sizeof d->population, p.names[i]);
        d->first_divergence_ms = NAN;
        train a = {0}, b = {0};
        if (!read_train(f->ref, p.names[i], &a))
            snprintf(d->problem, sizeof d->problem, "no timestamps and node_ids of equal length in the reference");
        else if (!read_train(f->other, p.names[i], &b))
            snprintf(d->problem, sizeof d->problem, "missing or unreadable in this run's file");
        else
            compare_trains(&a, &b, dur, d);
        train_free(&a);
        train_free(&b);
    }
    for (size_t i = 0; i < p.n; i++)
        free(p.names[i]);
    free(p.names);
    return ok;
}

/* ------------------------------------------------------------ entry */

/* Every kit's groups of element-wise comparable datasets, each walked once. */
static bool walk_results(const files *f, tb_compare *out, size_t *cap)
{
    bool ok = true;
    for (size_t k = 0; ok && k < tb_kit_count(); ++k)
        for (const char *const *g = tb_kit_at(k)->result_groups; ok && g && *g; ++g) {
            bool seen = false;
            for (size_t j = 0; j < k && !seen; ++j)
                for (const char *const *h = tb_kit_at(j)->result_groups; h && *h && !seen; ++h)
                    seen = strcmp(*g, *h) == 0;
            if (!seen)
                ok = walk_group(f, *g, out, cap);
        }
    return ok;
}

static tb_status compare_open(files *f, tb_compare *out, tb_error *err)
{
    size_t cap = 0;
    bool ok = walk_results(f, out, &cap) && compare_spikes(f, out);
    if (!ok) {
        tb_h5_reason r = tb_h5_reason_take();
        return tb_error_set(err, TB_ERR_INPUT, "comparing %s with %s failed%s%s%s", f->other_path, f->ref_path,
                            r.text[0] ? " (HDF5: " : "", r.text, r.text[0] ? ")" : "");
    }
    return TB_OK;
}

static hid_t open_file(const char *path, tb_error *err)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        tb_h5_reason r = tb_h5_reason_take();
        tb_error_set(err, TB_ERR_INPUT, "%s: cannot open as an HDF5 file%s%s%s", path, r.text[0] ? " (HDF5: " : "",
                     r.text, r.text[0] ? ")" : "");
    }
    return f;
}

tb_status tb_compare_files(const char *ref, const char *other, tb_compare *out, tb_error *err)
{
    memset(out, 0, sizeof *out);
    tb_h5_quiet q = tb_h5_quiet_begin();
    files f = {H5I_INVALID_HID, H5I_INVALID_HID, ref, other};
    tb_status st = (f.ref = open_file(ref, err)) < 0 ? TB_ERR_INPUT : TB_OK;
    if (st == TB_OK && (f.other = open_file(other, err)) < 0)
        st = TB_ERR_INPUT;
    if (st == TB_OK)
        st = compare_open(&f, out, err);
    if (f.other >= 0)
        H5Fclose(f.other);
    if (f.ref >= 0)
        H5Fclose(f.ref);
    tb_h5_quiet_end(q);
    if (st != TB_OK)
        tb_compare_free(out);
    return st;
}

void tb_compare_free(tb_compare *c)
{
    free(c->diffs);
    free(c->spikes);
    memset(c, 0, sizeof *c);
}
