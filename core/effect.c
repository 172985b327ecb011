/* The effect of a perturbation between two output files (core/effect.h).
 * Monitors are read one instance at a time (a lesion atlas of hundreds of
 * instances need not fit in memory at once). */
#include "config.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effect.h"
#include "h5read.h"
#include "h5util.h"
#include "util.h"

typedef struct efiles {
    hid_t base, pert;
    const char *base_path, *pert_path;
} efiles;

static bool exists(hid_t f, const char *path)
{
    /* every link on the way must exist for H5Lexists to be asked safely */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = strchr(buf + 1, '/');; p = strchr(p + 1, '/')) {
        if (p)
            *p = '\0';
        if (H5Lexists(f, buf, H5P_DEFAULT) <= 0)
            return false;
        if (!p)
            return true;
        *p = '/';
    }
}

static int dims_of(hid_t f, const char *path, hsize_t d[4])
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t sp = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank >= 1 && rank <= 4)
        H5Sget_simple_extent_dims(sp, d, NULL);
    else
        rank = -1;
    H5Sclose(sp);
    H5Dclose(ds);
    return rank;
}

/* x[t][n] = data[t, b, n, 0] of a [T, B, N, V] dataset. */
static bool read_instance(hid_t f, const char *path, const hsize_t d[4], hsize_t b, double *x)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    if (ds < 0)
        return false;
    hid_t sp = H5Dget_space(ds);
    hsize_t start[4] = {0, b, 0, 0}, count[4] = {d[0], 1, d[2], 1};
    bool ok = H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL) >= 0;
    hsize_t mdims[1] = {d[0] * d[2]};
    hid_t mem = H5Screate_simple(1, mdims, NULL);
    ok = ok && H5Dread(ds, H5T_NATIVE_DOUBLE, mem, sp, H5P_DEFAULT, x) >= 0;
    H5Sclose(mem);
    H5Sclose(sp);
    H5Dclose(ds);
    return ok;
}

static void read_kind(hid_t f, const char *path, char *kind, size_t cap)
{
    snprintf(kind, cap, "?");
    if (H5Aexists_by_name(f, path, "kind", H5P_DEFAULT) <= 0)
        return;
    hid_t a = H5Aopen_by_name(f, path, "kind", H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    if (t >= 0 && H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (H5Aread(a, mt, &s) >= 0 && s)
            snprintf(kind, cap, "%s", s);
        H5free_memory(s);
        H5Tclose(mt);
    } else if (t >= 0) {
        size_t n = H5Tget_size(t);
        char *s = calloc(n + 1, 1);
        if (s && H5Aread(a, t, s) >= 0)
            snprintf(kind, cap, "%s", s);
        free(s);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
}

/* ------------------------------------------------------------ statistics */

/* fc[N N] of x[T N]: Pearson correlation of the units over time (NaN where
 * a unit is constant). */
static void correlations(const double *x, size_t T, size_t N, double *fc, double *mu, double *sd)
{
    for (size_t n = 0; n < N; ++n) {
        double s = 0, q = 0;
        for (size_t t = 0; t < T; ++t)
            s += x[t * N + n];
        mu[n] = s / (double)T;
        for (size_t t = 0; t < T; ++t)
            q += (x[t * N + n] - mu[n]) * (x[t * N + n] - mu[n]);
        sd[n] = sqrt(q / (double)T);
    }
    for (size_t i = 0; fc && i < N; ++i)
        for (size_t j = i; j < N; ++j) {
            double c = 0;
            for (size_t t = 0; t < T; ++t)
                c += (x[t * N + i] - mu[i]) * (x[t * N + j] - mu[j]);
            double r = sd[i] > 0 && sd[j] > 0 ? c / ((double)T * sd[i] * sd[j]) : NAN;
            fc[i * N + j] = fc[j * N + i] = r;
        }
}

/* r and RMS difference over the upper triangle, and the unit whose row
 * changed most; pairs undefined on either side are left out. */
static void fc_change(const double *a, const double *b, size_t N, double *r, double *rms, int64_t *unit)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, d2 = 0, n = 0, best = -1;
    *unit = -1;
    for (size_t i = 0; i < N; ++i) {
        double row = 0, rn = 0;
        for (size_t j = 0; j < N; ++j) {
            double x = a[i * N + j], y = b[i * N + j];
            if (j == i || !isfinite(x) || !isfinite(y))
                continue;
            row += (y - x) * (y - x), rn += 1;
            if (j < i)
                continue;
            sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y, d2 += (y - x) * (y - x), n += 1;
        }
        if (rn > 0 && row / rn > best)
            best = row / rn, *unit = (int64_t)i;
    }
    double va = saa - sa * sa / n, vb = sbb - sb * sb / n;
    *r = n > 1 && va > 0 && vb > 0 ? (sab - sa * sb / n) / sqrt(va * vb) : NAN;
    *rms = n > 0 ? sqrt(d2 / n) : NAN;
}

static bool alloc_monitor(tb_effect_monitor *m, size_t B)
{
    m->mean_change = calloc(B, sizeof *m->mean_change);
    m->mean_abs = calloc(B, sizeof *m->mean_abs);
    m->sd_ratio = calloc(B, sizeof *m->sd_ratio);
    m->fc_r = calloc(B, sizeof *m->fc_r);
    m->fc_rms = calloc(B, sizeof *m->fc_rms);
    m->fc_unit = calloc(B, sizeof *m->fc_unit);
    return m->mean_change && m->mean_abs && m->sd_ratio && m->fc_r && m->fc_rms && m->fc_unit;
}

/* An fc monitor: its matrices, [1, B, N, N]. */
static void compare_fc(const efiles *f, const char *path, const hsize_t db[4], const hsize_t dp[4],
                       tb_effect_monitor *m)
{
    size_t N = (size_t)dp[2];
    double *a = malloc(N * N * sizeof *a), *b = malloc(N * N * sizeof *b);
    for (size_t k = 0; a && b && k < m->B; ++k) {
        hsize_t kb = db[1] == dp[1] ? k : 0;
        hid_t ds[2] = {H5Dopen2(f->base, path, H5P_DEFAULT), H5Dopen2(f->pert, path, H5P_DEFAULT)};
        double *dst[2] = {a, b};
        hsize_t inst[2] = {kb, k};
        for (int s = 0; s < 2; ++s) {
            hid_t sp = H5Dget_space(ds[s]);
            hsize_t start[4] = {0, inst[s], 0, 0}, count[4] = {1, 1, N, N}, md[1] = {N * N};
            hid_t mem = H5Screate_simple(1, md, NULL);
            H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
            H5Dread(ds[s], H5T_NATIVE_DOUBLE, mem, sp, H5P_DEFAULT, dst[s]);
            H5Sclose(mem), H5Sclose(sp), H5Dclose(ds[s]);
        }
        m->mean_change[k] = m->mean_abs[k] = m->sd_ratio[k] = NAN;
        fc_change(a, b, N, &m->fc_r[k], &m->fc_rms[k], &m->fc_unit[k]);
    }
    free(a), free(b);
}

static void compare_series(const efiles *f, const char *path, const hsize_t db[4], tb_effect_monitor *m)
{
    size_t T = (size_t)m->T, N = (size_t)m->N;
    bool fc = T >= 3;
    double *x = malloc(T * N * sizeof *x), *y = malloc(T * N * sizeof *y);
    double *fa = fc ? malloc(N * N * sizeof *fa) : NULL, *fb = fc ? malloc(N * N * sizeof *fb) : NULL;
    double *mu = malloc(2 * N * sizeof *mu), *sd = malloc(2 * N * sizeof *sd);
    if (!x || !y || !mu || !sd || (fc && (!fa || !fb))) {
        snprintf(m->problem, sizeof m->problem, "out of memory for %zu samples of %zu units", T, N);
        goto done;
    }
    hsize_t dp[4] = {m->T, m->B, m->N, 1};
    long loaded = -1;
    for (size_t k = 0; k < m->B; ++k) {
        hsize_t kb = db[1] == m->B ? k : 0;
        if ((long)kb != loaded) { /* one baseline instance serves every perturbed one */
            if (!read_instance(f->base, path, db, kb, x)) {
                snprintf(m->problem, sizeof m->problem, "cannot read the baseline's data");
                goto done;
            }
            correlations(x, T, N, fa, mu, sd);
            loaded = (long)kb;
        }
        if (!read_instance(f->pert, path, dp, k, y)) {
            snprintf(m->problem, sizeof m->problem, "cannot read the perturbed file's data");
            goto done;
        }
        correlations(y, T, N, fb, mu + N, sd + N);
        double mc = 0, ma = 0, sr = 0, ns = 0;
        for (size_t n = 0; n < N; ++n) {
            mc += mu[N + n] - mu[n], ma += fabs(mu[N + n] - mu[n]);
            if (sd[n] > 0)
                sr += sd[N + n] / sd[n], ns += 1;
        }
        m->mean_change[k] = mc / (double)N;
        m->mean_abs[k] = ma / (double)N;
        m->sd_ratio[k] = ns > 0 ? sr / ns : NAN;
        m->fc_r[k] = m->fc_rms[k] = NAN;
        m->fc_unit[k] = -1;
        if (fc)
            fc_change(fa, fb, N, &m->fc_r[k], &m->fc_rms[k], &m->fc_unit[k]);
    }
done:
    free(x), free(y), free(fa), free(fb), free(mu), free(sd);
}

static void compare_monitor(const efiles *f, const char *name, tb_effect_monitor *m)
{
    char path[320];
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(path, sizeof path, "/monitors/%s/data", name);
    hsize_t db[4] = {0}, dp[4] = {0};
    int rb = dims_of(f->base, path, db), rp = exists(f->pert, path) ? dims_of(f->pert, path, dp) : -1;
    read_kind(f->pert, path, m->kind, sizeof m->kind);
    if (rp != 4 || rb != 4) {
        snprintf(m->problem, sizeof m->problem, rp < 0 ? "missing in the perturbed file" : "not [T, B, N, V]");
        return;
    }
    m->T = dp[0], m->B = dp[1], m->N = dp[2];
    if (db[0] != dp[0] || db[2] != dp[2] || db[3] != dp[3] || (db[1] != dp[1] && db[1] != 1)) {
        snprintf(m->problem, sizeof m->problem,
                 "shapes differ: [%llu, %llu, %llu, %llu] and [%llu, %llu, %llu, %llu] (the baseline needs the same "
                 "samples and units, and one instance or as many)",
                 (unsigned long long)db[0], (unsigned long long)db[1], (unsigned long long)db[2],
                 (unsigned long long)db[3], (unsigned long long)dp[0], (unsigned long long)dp[1],
                 (unsigned long long)dp[2], (unsigned long long)dp[3]);
        return;
    }
    if (!alloc_monitor(m, (size_t)m->B)) {
        snprintf(m->problem, sizeof m->problem, "out of memory");
        return;
    }
    if (strcmp(m->kind, "fc") == 0 && dp[0] == 1 && dp[2] == dp[3])
        compare_fc(f, path, db, dp, m);
    else
        compare_series(f, path, db, m);
}

/* ------------------------------------------------------------ spikes */

typedef struct st_spike {
    uint64_t id;
    double t;
} st_spike;

static int by_node(const void *pa, const void *pb)
{
    const st_spike *a = pa, *b = pb;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->t < b->t ? -1 : a->t > b->t;
}

static bool read_doubles_1d(hid_t f, const char *path, hid_t type, size_t size, void **out, size_t *n)
{
    hsize_t d[4];
    if (!exists(f, path) || dims_of(f, path, d) != 1)
        return false;
    *n = (size_t)d[0];
    *out = malloc((*n ? *n : 1) * size);
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    bool ok = *out && ds >= 0 && (*n == 0 || H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    if (ds >= 0)
        H5Dclose(ds);
    return ok;
}

static double attr_num(hid_t f, const char *obj, const char *name)
{
    double v = NAN;
    if (!exists(f, obj) || H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0)
        return NAN;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
        v = NAN;
    if (a >= 0)
        H5Aclose(a);
    return v;
}

/* Count, rate per neuron (n_nodes, else the highest id + 1) and the mean
 * CV of the ISIs over neurons with 3 spikes or more. */
static bool train_stats(hid_t f, const char *pop, uint64_t *count, double *rate, double *cv)
{
    char tp[320], ip[320], gp[320];
    snprintf(gp, sizeof gp, "/spikes/%s", pop);
    snprintf(tp, sizeof tp, "/spikes/%s/timestamps", pop);
    snprintf(ip, sizeof ip, "/spikes/%s/node_ids", pop);
    double *t = NULL;
    uint64_t *id = NULL;
    size_t nt = 0, ni = 0;
    bool ok = read_doubles_1d(f, tp, H5T_NATIVE_DOUBLE, sizeof *t, (void **)&t, &nt) &&
              read_doubles_1d(f, ip, H5T_NATIVE_UINT64, sizeof *id, (void **)&id, &ni) && nt == ni;
    st_spike *s = ok ? malloc((nt ? nt : 1) * sizeof *s) : NULL;
    uint64_t max_id = 0;
    for (size_t i = 0; s && i < nt; ++i) {
        s[i] = (st_spike){id[i], t[i]};
        max_id = id[i] > max_id ? id[i] : max_id;
    }
    if (s)
        qsort(s, nt, sizeof *s, by_node);
    double nodes = attr_num(f, gp, "n_nodes");
    if (!(nodes > 0))
        nodes = nt ? (double)(max_id + 1) : 1;
    double dur = attr_num(f, "/", "duration_ms") / 1000.0;
    *count = nt;
    *rate = dur > 0 ? (double)nt / (dur * nodes) : NAN;
    double cvs = 0, ncv = 0;
    for (size_t i = 0; s && i < nt;) {
        size_t j = i;
        while (j < nt && s[j].id == s[i].id)
            ++j;
        if (j - i >= 3) {
            double m = 0, q = 0, k = (double)(j - i - 1);
            for (size_t a = i + 1; a < j; ++a)
                m += s[a].t - s[a - 1].t;
            m /= k;
            for (size_t a = i + 1; a < j; ++a)
                q += (s[a].t - s[a - 1].t - m) * (s[a].t - s[a - 1].t - m);
            if (m > 0)
                cvs += sqrt(q / k) / m, ncv += 1;
        }
        i = j;
    }
    *cv = ncv > 0 ? cvs / ncv : NAN;
    free(t), free(id), free(s);
    return ok;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

/* The iteration API was versioned in HDF5 1.12 (Debian 12 has 1.10). */
#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
#define link_iterate H5Literate2
#else
typedef H5L_info_t link_info;
#define link_iterate H5Literate
#endif

static herr_t collect(hid_t g, const char *name, const link_info *info, void *data)
{
    (void)g, (void)info;
    names *ns = data;
    if (tb_grow((void **)&ns->v, &ns->cap, ns->n, sizeof *ns->v))
        ns->v[ns->n++] = tb_strdup(name);
    return 0;
}

static void list(hid_t f, const char *group, names *ns)
{
    if (!exists(f, group))
        return;
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0)
        return;
    hsize_t idx = 0;
    link_iterate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, ns);
    H5Gclose(g);
}

static void free_names(names *ns)
{
    for (size_t i = 0; i < ns->n; ++i)
        free(ns->v[i]);
    free(ns->v);
}

/* ------------------------------------------------------------ entry */

static hid_t open_file(const char *path, tb_error *err)
{
    hid_t f = -1;
    H5E_BEGIN_TRY { f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
    H5E_END_TRY;
    if (f < 0)
        tb_error_set(err, TB_ERR_INPUT, "%s: cannot open as an HDF5 output file", path);
    return f;
}

tb_status tb_effect_files(const char *base, const char *perturbed, tb_effect *out, tb_error *err)
{
    memset(out, 0, sizeof *out);
    efiles f = {open_file(base, err), -1, base, perturbed};
    if (f.base < 0)
        return TB_ERR_INPUT;
    if ((f.pert = open_file(perturbed, err)) < 0) {
        H5Fclose(f.base);
        return TB_ERR_INPUT;
    }
    names mons = {0}, pops = {0};
    H5E_BEGIN_TRY
    {
        list(f.base, "/monitors", &mons);
        list(f.base, "/spikes", &pops);
        out->mon = calloc(mons.n + 1, sizeof *out->mon);
        out->spikes = calloc(pops.n + 1, sizeof *out->spikes);
        for (size_t i = 0; out->mon && i < mons.n; ++i)
            compare_monitor(&f, mons.v[i], &out->mon[out->n_mon++]);
        for (size_t i = 0; out->spikes && i < pops.n; ++i) {
            tb_effect_spikes *s = &out->spikes[out->n_spikes++];
            snprintf(s->population, sizeof s->population, "%s", pops.v[i]);
            bool a = train_stats(f.base, pops.v[i], &s->count_base, &s->rate_base, &s->cv_base);
            bool b = train_stats(f.pert, pops.v[i], &s->count, &s->rate, &s->cv);
            if (!a || !b)
                snprintf(s->problem, sizeof s->problem, "cannot read its spikes in the %s file",
                         a ? "perturbed" : "baseline");
        }
    }
    H5E_END_TRY;
    free_names(&mons);
    free_names(&pops);
    H5Fclose(f.base);
    H5Fclose(f.pert);
    /* region labels name the units that changed most (best effort) */
    size_t n = out->n_mon ? (size_t)out->mon[0].N : 0;
    tb_error lerr = {0};
    if (n && tb_h5_read_labels(perturbed, "/connectome/region_labels", n, "regions", &out->labels, &lerr) == TB_OK &&
        out->labels)
        out->n_labels = n;
    tb_error_clear(&lerr);
    if (!out->mon || !out->spikes) {
        tb_effect_free(out);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    return TB_OK;
}

void tb_effect_free(tb_effect *e)
{
    for (size_t i = 0; e->mon && i < e->n_mon; ++i) {
        tb_effect_monitor *m = &e->mon[i];
        free(m->mean_change), free(m->mean_abs), free(m->sd_ratio), free(m->fc_r), free(m->fc_rms), free(m->fc_unit);
    }
    for (size_t i = 0; e->labels && i < e->n_labels; ++i)
        free(e->labels[i]);
    free(e->labels);
    free(e->mon);
    free(e->spikes);
    memset(e, 0, sizeof *e);
}
