/* Files a spiking scenario reads: spike trains in the SONATA layout
 * (spike_file inputs; a twinbrain output file qualifies) and connection
 * lists (rule from_file). Every problem is TB_ERR_INPUT naming the file
 * and the dataset. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "spiking_internal.h"
#include "util.h"

typedef struct h5in {
    const char *path;
    hid_t file;
    tb_error *err;
} h5in;

static tb_status fail(const h5in *f, const char *fmt, const char *a, const char *b)
{
    char what[512];
    snprintf(what, sizeof what, fmt, a, b);
    return tb_error_set(f->err, TB_ERR_INPUT, "%s: %s", f->path, what);
}

static tb_status open_file(h5in *f)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    htri_t is = H5Fis_hdf5(f->path);
    f->file = is > 0 ? H5Fopen(f->path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT) : H5I_INVALID_HID;
    tb_h5_quiet_end(q);
    if (f->file < 0)
        return fail(f, is > 0 ? "cannot be opened as HDF5%s%s" : "not an HDF5 file (or unreadable)%s%s", "", "");
    return TB_OK;
}

/* A 1-D dataset of numbers as doubles or uint64 (mtype), its length in *n. */
static tb_status read_1d(const h5in *f, const char *name, hid_t mtype, size_t elem, void **out, uint64_t *n)
{
    *out = NULL;
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t d = H5Lexists(f->file, name, H5P_DEFAULT) > 0 ? H5Dopen2(f->file, name, H5P_DEFAULT) : H5I_INVALID_HID;
    tb_status st = TB_OK;
    if (d < 0) {
        st = fail(f, "no dataset %s%s", name, "");
    } else {
        hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
        int rank = H5Sget_simple_extent_ndims(sp);
        hsize_t dims[2] = {0, 0};
        H5Sget_simple_extent_dims(sp, dims, NULL);
        H5T_class_t cls = H5Tget_class(ty);
        if (rank != 1 || (cls != H5T_INTEGER && cls != H5T_FLOAT))
            st = fail(f, "%s must be a 1-D array of numbers%s", name, "");
        *n = dims[0];
        *out = st == TB_OK ? malloc((dims[0] ? dims[0] : 1) * elem) : NULL;
        if (st == TB_OK && !*out)
            st = tb_error_set(f->err, TB_ERR_OTHER, "out of memory reading %s", f->path);
        if (st == TB_OK && dims[0] && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            st = fail(f, "cannot read %s (values out of range of the expected type?)%s", name, "");
        H5Tclose(ty);
        H5Sclose(sp);
        H5Dclose(d);
    }
    tb_h5_quiet_end(q);
    if (st != TB_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

typedef struct group_search {
    char *only;
    int count;
} group_search;

static herr_t count_groups(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    group_search *s = data;
    (void)g;
    (void)info;
    if (s->count++ == 0)
        s->only = tb_strdup(name);
    return 0;
}

/* The /spikes/<group> to read: the one asked for, or the only one. */
static tb_status spike_group(const h5in *f, const char *want, char **out)
{
    *out = NULL;
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t g = H5Lexists(f->file, "/spikes", H5P_DEFAULT) > 0 ? H5Gopen2(f->file, "/spikes", H5P_DEFAULT)
                                                             : H5I_INVALID_HID;
    group_search s = {NULL, 0};
    if (g >= 0) {
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, count_groups, &s);
        H5Gclose(g);
    }
    tb_h5_quiet_end(q);
    tb_status st = TB_OK;
    if (g < 0)
        st = fail(f, "no /spikes group (expected the SONATA layout /spikes/<population>/timestamps, node_ids)%s%s",
                  "", "");
    else if (want)
        *out = tb_asprintf("/spikes/%s", want);
    else if (s.count != 1)
        st = fail(f, "/spikes holds %s groups; say which with input.population%s", s.count ? "several" : "no", "");
    else
        *out = tb_asprintf("/spikes/%s", s.only);
    free(s.only);
    return st;
}

tb_status spk_read_spike_input(const tb_scenario *sc, const tb_spk_input *in, spk_spike_list *out, tb_error *err)
{
    memset(out, 0, sizeof *out);
    h5in f = {in->file, H5I_INVALID_HID, err};
    tb_status st = open_file(&f);
    char *grp = NULL;
    if (st == TB_OK)
        st = spike_group(&f, in->group, &grp);
    char *ts = grp ? tb_asprintf("%s/timestamps", grp) : NULL, *ids = grp ? tb_asprintf("%s/node_ids", grp) : NULL;
    uint64_t nt = 0, ni = 0;
    void *tv = NULL, *iv = NULL;
    if (st == TB_OK)
        st = read_1d(&f, ts, H5T_NATIVE_DOUBLE, sizeof(double), &tv, &nt);
    if (st == TB_OK)
        st = read_1d(&f, ids, H5T_NATIVE_UINT64, sizeof(uint64_t), &iv, &ni);
    if (st == TB_OK && nt != ni)
        st = fail(&f, "%s and node_ids differ in length%s", ts, "");
    out->times = tv;
    out->ids = iv;
    out->n = st == TB_OK ? nt : 0;
    uint64_t max_id = 0, at_max = 0;
    for (uint64_t i = 0; st == TB_OK && i < nt; ++i) {
        char at[64];
        snprintf(at, sizeof at, "%llu", (unsigned long long)i);
        /* rounds to step 1 or later (llround of it could overflow) */
        if (!isfinite(out->times[i]) || !(out->times[i] / sc->dt >= 0.5))
            st = fail(&f, "%s[%s] is not a time of at least one step (spikes are delivered at the end of a step)",
                      ts, at);
        if (out->ids[i] > max_id)
            max_id = out->ids[i], at_max = i;
    }
    /* the sources are counted from the ids: max_id + 1 must not wrap, and
     * must fit what input.size allows */
    if (st == TB_OK && !in->size && nt && max_id >= TB_SPK_MAX_SOURCES) {
        char m[160];
        snprintf(m, sizeof m, "%s[%llu] = %llu", ids, (unsigned long long)at_max, (unsigned long long)max_id);
        st = fail(&f, "node id %s is too large: a spike file has at most %s sources (ids from 0)", m,
                  TB_SPK_MAX_SOURCES_TEXT);
    }
    out->size = in->size ? in->size : nt ? max_id + 1 : 1;
    if (st == TB_OK && in->size && nt && max_id >= in->size) {
        char m[160];
        snprintf(m, sizeof m, "%s[%llu] = %llu", ids, (unsigned long long)at_max, (unsigned long long)max_id);
        st = fail(&f, "node id %s is not below input.size%s", m, "");
    }
    if (f.file >= 0)
        H5Fclose(f.file);
    free(grp);
    free(ts);
    free(ids);
    if (st != TB_OK)
        spk_spike_list_free(out);
    return st;
}

void spk_spike_list_free(spk_spike_list *l)
{
    free(l->times);
    free(l->ids);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------ connection files */

static tb_status check_edges(const h5in *f, const uint64_t *s, const uint64_t *t, const double *w, const double *d,
                             uint64_t n, uint64_t ns, uint64_t nt, double dt)
{
    for (uint64_t i = 0; i < n; ++i) {
        char at[96], x[192];
        snprintf(at, sizeof at, "entry %llu", (unsigned long long)i);
        if (s[i] >= ns)
            return fail(f, "/source of %s is not an index of the source (%s)", at, "too large");
        if (t[i] >= nt)
            return fail(f, "/target of %s is not an index of the target population (%s)", at, "too large");
        if (!isfinite(w[i]))
            return fail(f, "/weight of %s is not finite%s", at, "");
        if (!(fabs(w[i]) <= FLT_MAX)) { /* synapses hold a float */
            snprintf(x, sizeof x, " (%g): synapses store weights as floats, |w| <= %g", w[i], (double)FLT_MAX);
            return fail(f, "/weight of %s is beyond single precision%s", at, x);
        }
        if (!isfinite(d[i]) || d[i] < 0)
            return fail(f, "/delay of %s must be finite and not negative (ms)%s", at, "");
        if (tb_spk_delay_steps(d[i], dt) > TB_SPK_MAX_DELAY_STEPS) {
            snprintf(x, sizeof x, " (%g ms = %g steps of %g ms): a run holds delays of at most 2^29 = %d steps", d[i],
                     d[i] / dt, dt, TB_SPK_MAX_DELAY_STEPS);
            return fail(f, "/delay of %s is too long%s", at, x);
        }
    }
    return TB_OK;
}

tb_status spk_read_connection_file(const tb_scenario *sc, const tb_spk_projection *pr, uint64_t n_source,
                                   uint64_t n_target, spk_file_edges *out, tb_error *err)
{
    memset(out, 0, sizeof *out);
    h5in f = {pr->file, H5I_INVALID_HID, err};
    tb_status st = open_file(&f);
    void *s = NULL, *t = NULL, *w = NULL, *d = NULL;
    uint64_t n[4] = {0, 0, 0, 0};
    if (st == TB_OK)
        st = read_1d(&f, "/source", H5T_NATIVE_UINT64, sizeof(uint64_t), &s, &n[0]);
    if (st == TB_OK)
        st = read_1d(&f, "/target", H5T_NATIVE_UINT64, sizeof(uint64_t), &t, &n[1]);
    if (st == TB_OK)
        st = read_1d(&f, "/weight", H5T_NATIVE_DOUBLE, sizeof(double), &w, &n[2]);
    if (st == TB_OK)
        st = read_1d(&f, "/delay", H5T_NATIVE_DOUBLE, sizeof(double), &d, &n[3]);
    if (st == TB_OK && (n[1] != n[0] || n[2] != n[0] || n[3] != n[0]))
        st = fail(&f, "/source, /target, /weight and /delay must have one entry per synapse (lengths differ)%s%s",
                  "", "");
    if (st == TB_OK)
        st = check_edges(&f, s, t, w, d, n[0], n_source, n_target, sc->dt);
    if (st == TB_OK) {
        out->n = n[0];
        out->source = malloc((n[0] + 1) * sizeof *out->source);
        out->target = malloc((n[0] + 1) * sizeof *out->target);
        out->weight = malloc((n[0] + 1) * sizeof *out->weight);
        out->delay = malloc((n[0] + 1) * sizeof *out->delay);
        if (!out->source || !out->target || !out->weight || !out->delay)
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory reading %s", pr->file);
    }
    for (uint64_t i = 0; st == TB_OK && i < n[0]; ++i) {
        out->source[i] = (uint32_t)((uint64_t *)s)[i];
        out->target[i] = (uint32_t)((uint64_t *)t)[i];
        out->weight[i] = (float)((double *)w)[i];
        out->delay[i] = (int32_t)tb_spk_delay_steps(((double *)d)[i], sc->dt);
    }
    if (f.file >= 0)
        H5Fclose(f.file);
    free(s);
    free(t);
    free(w);
    free(d);
    if (st != TB_OK)
        spk_file_edges_free(out);
    return st;
}

void spk_file_edges_free(spk_file_edges *e)
{
    free(e->source);
    free(e->target);
    free(e->weight);
    free(e->delay);
    memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------ check */

static tb_status rule_vs_source_size(const tb_scenario *sc, const tb_spk_projection *pr, uint64_t ns, tb_error *err)
{
    uint64_t nt = tb_spiking_scenario_of(sc)->pops[pr->target].size;
    const char *what = NULL;
    if (pr->rule == TB_RULE_ONE_TO_ONE && ns != nt)
        what = "one_to_one needs as many sources as targets";
    else if (pr->rule == TB_RULE_FIXED_INDEGREE && !pr->multapses && pr->n > ns)
        what = "indegree without multapses exceeds the number of sources";
    if (!what)
        return TB_OK;
    char *w = tb_scenario_where(sc, pr->pos);
    tb_status st = tb_error_set(err, TB_ERR_SCENARIO, "%sprojection: %s (the spike file has %llu sources, the target "
                                                      "%llu neurons)",
                                w, what, (unsigned long long)ns, (unsigned long long)nt);
    free(w);
    return st;
}

/* Spike files readable and consistent, connection files within the
 * populations they connect: everything but the device. */
tb_status spk_check_inputs(const tb_scenario *sc, tb_error *err)
{
    const tb_spiking_scenario *ss = tb_spiking_scenario_of(sc);
    uint64_t *sizes = calloc(ss->n_inputs + 1, sizeof *sizes);
    if (!sizes)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < ss->n_inputs; ++i) {
        if (ss->inputs[i].kind != TB_INPUT_SPIKE_FILE)
            continue;
        spk_spike_list l;
        st = spk_read_spike_input(sc, &ss->inputs[i], &l, err);
        sizes[i] = l.size;
        spk_spike_list_free(&l);
    }
    for (size_t i = 0; st == TB_OK && i < ss->n_projs; ++i) {
        const tb_spk_projection *pr = &ss->projs[i];
        uint64_t ns = pr->source.is_input ? sizes[pr->source.index] : ss->pops[pr->source.index].size;
        if (pr->source.is_input)
            st = rule_vs_source_size(sc, pr, ns, err);
        if (st == TB_OK && pr->rule == TB_RULE_FROM_FILE) {
            spk_file_edges e;
            st = spk_read_connection_file(sc, pr, ns, ss->pops[pr->target].size, &e, err);
            spk_file_edges_free(&e);
        }
    }
    free(sizes);
    return st;
}
