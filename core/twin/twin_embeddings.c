/* The per-unit embeddings table (twin_similarity.h): gathered from a run's
 * receptive_field, orientation_tuning and response_to experiments and
 * from a readout feature tensor of the network, checked to agree on the
 * unit count, written as aligned datasets or CSV. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "twin_array.h"
#include "twin_graph.h"
#include "twin_import.h"
#include "twin_similarity.h"
#include "util.h"

/* A string attribute (variable or fixed length) into buf; "" when absent. */
static void read_attr_string(hid_t obj, const char *name, char *buf, size_t cap)
{
    buf[0] = 0;
    hid_t at = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    hid_t ty = at >= 0 ? H5Aget_type(at) : -1;
    if (ty >= 0 && H5Tget_class(ty) == H5T_STRING) {
        if (H5Tis_variable_str(ty) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(ty));
            if (H5Aread(at, mt, &s) >= 0 && s)
                snprintf(buf, cap, "%s", s);
            H5free_memory(s);
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(ty);
            char *s = calloc(n + 1, 1);
            if (s && H5Aread(at, ty, s) >= 0)
                snprintf(buf, cap, "%s", s);
            free(s);
        }
    }
    if (ty >= 0)
        H5Tclose(ty);
    if (at >= 0)
        H5Aclose(at);
    H5Eclear2(H5E_DEFAULT);
}

/* The group path of the experiment of `kind` named `want` (or the only
 * one of that kind) into path; "" when the run has none and none was asked. */
static tb_status find_experiment(hid_t f, const char *file, const char *kind, const char *want, const char *option,
                                 char *path, size_t cap, tb_error *err)
{
    path[0] = 0;
    hid_t g = H5Lexists(f, "/twin", H5P_DEFAULT) > 0 && H5Lexists(f, "/twin/experiments", H5P_DEFAULT) > 0
                  ? H5Gopen2(f, "/twin/experiments", H5P_DEFAULT)
                  : -1;
    H5G_info_t info = {0};
    if (g >= 0)
        H5Gget_info(g, &info);
    size_t found = 0;
    char first[256] = "", second[256] = "";
    for (hsize_t k = 0; k < info.nlinks; ++k) {
        char name[256], got[64];
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name, H5P_DEFAULT) < 0)
            continue;
        hid_t e = H5Gopen2(g, name, H5P_DEFAULT);
        if (e < 0)
            continue;
        read_attr_string(e, "kind", got, sizeof got);
        H5Gclose(e);
        if (strcmp(got, kind) != 0 || (want && strcmp(want, name) != 0))
            continue;
        snprintf(found++ ? second : first, sizeof first, "%s", name);
    }
    if (g >= 0)
        H5Gclose(g);
    H5Eclear2(H5E_DEFAULT);
    if (want && !found)
        return tb_error_set(err, TB_ERR_INPUT, "%s: no %s experiment '%s' (/twin/experiments/%s)", file, kind, want,
                            want);
    if (found > 1)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s experiments '%s' and '%s'...: choose one with %s", file, kind,
                            first, second, option);
    if (found)
        snprintf(path, cap, "/twin/experiments/%s", first);
    return TB_OK;
}

static tb_status agree(tw_embeddings *e, size_t units, const char *what, tb_error *err)
{
    if (e->units == 0 || e->units == units) {
        e->units = units;
        return TB_OK;
    }
    return tb_error_set(err, TB_ERR_INPUT, "%s has %zu units; the sources before it have %zu", what, units, e->units);
}

static tb_status all_finite(const char *what, const double *v, size_t n, tb_error *err)
{
    for (size_t i = 0; i < n; ++i)
        if (!isfinite(v[i]))
            return tb_error_set(err, TB_ERR_INPUT, "%s[%zu] (flat index) is %g: responses must be finite", what, i,
                                v[i]);
    return TB_OK;
}

static tb_status load_rf(hid_t f, const tw_emb_sources *s, tw_embeddings *e, tb_error *err)
{
    char grp[300], name[340];
    tb_status st = find_experiment(f, s->run, "receptive_field", s->rf, "--rf", grp, sizeof grp, err);
    if (st || !grp[0])
        return st;
    tw_array c = {0}, sg = {0};
    snprintf(name, sizeof name, "%s/centre", grp);
    st = tw_array_read(f, s->run, name, false, &c, err);
    snprintf(name, sizeof name, "%s/sigma", grp);
    st = st ? st : tw_array_read(f, s->run, name, false, &sg, err);
    if (st == TB_OK && (c.rank != 2 || c.d[1] != 2 || sg.rank != 2 || sg.d[0] != c.d[0] || sg.d[1] != 2))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s/centre and sigma are not both [units, 2]", s->run, grp);
    char *what = tb_asprintf("%s: %s/centre", s->run, grp);
    st = st ? st : agree(e, c.d[0], what, err);
    free(what);
    if (st == TB_OK) {
        e->centre = c.v, e->sigma = sg.v, c.v = sg.v = NULL;
        e->rf_from = tb_asprintf("%s", grp);
    }
    free(c.v), free(sg.v);
    return st;
}

static tb_status load_tuning(hid_t f, const tw_emb_sources *s, tw_embeddings *e, tb_error *err)
{
    char grp[300], name[340];
    tb_status st = find_experiment(f, s->run, "orientation_tuning", s->tuning, "--tuning", grp, sizeof grp, err);
    if (st || !grp[0])
        return st;
    static const char *const leaf[4] = {"preferred_orientation", "preferred_direction", "osi", "dsi"};
    double **dst[4] = {&e->po, &e->pd, &e->osi, &e->dsi};
    for (int k = 0; st == TB_OK && k < 4; ++k) {
        tw_array a = {0};
        snprintf(name, sizeof name, "%s/%s", grp, leaf[k]);
        st = tw_array_read(f, s->run, name, false, &a, err);
        if (st == TB_OK && a.rank != 1)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: %s is not [units]", s->run, name);
        char *what = tb_asprintf("%s: %s", s->run, name);
        st = st ? st : agree(e, a.d[0], what, err);
        free(what);
        if (st == TB_OK)
            *dst[k] = a.v, a.v = NULL;
        free(a.v);
    }
    if (st == TB_OK)
        e->tuning_from = tb_asprintf("%s", grp);
    return st;
}

/* The responses dataset and its layout: which axis holds the units
 * (first for orientation_tuning's responses, last otherwise) and which the
 * frames the burn-in drops (-1: none). */
static tb_status pick_responses(hid_t f, const tw_emb_sources *s, char *name, size_t cap, int *frame_axis,
                                bool *units_first, tb_error *err)
{
    *units_first = false;
    if (s->responses) {
        snprintf(name, cap, "%s", s->responses);
        *frame_axis = strcmp(s->responses, "/twin/responses") == 0 ? 0 : 1;
        return TB_OK;
    }
    char grp[300];
    tb_status st = find_experiment(f, s->run, "response_to", NULL, "--responses", grp, cap, err);
    if (st == TB_OK && grp[0]) {
        snprintf(name, cap, "%s/responses", grp);
        *frame_axis = 1;
        return st;
    }
    st = st ? st : find_experiment(f, s->run, "orientation_tuning", s->tuning, "--tuning", grp, sizeof grp, err);
    if (st == TB_OK && grp[0]) {
        snprintf(name, cap, "%s/responses", grp);
        *frame_axis = -1, *units_first = true;
        return st;
    }
    snprintf(name, cap, "/twin/responses");
    *frame_axis = 0;
    return st;
}

/* Responses as [units][samples], the first burn_in frames dropped. */
static tb_status load_responses(hid_t f, const tw_emb_sources *s, tw_embeddings *e, tb_error *err)
{
    char name[340];
    int fa;
    bool ufirst;
    tb_status st = pick_responses(f, s, name, sizeof name, &fa, &ufirst, err);
    if (st || (!s->responses && H5Lexists(f, "/twin", H5P_DEFAULT) <= 0))
        return st;
    if (!s->responses && H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return TB_OK;
    tw_array a = {0};
    st = tw_array_read(f, s->run, name, false, &a, err);
    if (st == TB_OK && a.rank < 2)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s has rank %d; responses have a units axis and samples", s->run,
                          name, a.rank);
    if (st == TB_OK && fa >= a.rank - 1)
        fa = 0;
    if (st == TB_OK && fa >= 0 && (hsize_t)s->burn_in >= a.d[fa])
        st = tb_error_set(err, TB_ERR_INPUT, "%s: --burn-in %ld leaves none of the %llu frames of %s", s->run,
                          s->burn_in, (unsigned long long)a.d[fa], name);
    char *what = tb_asprintf("%s: %s", s->run, name);
    st = st ? st : all_finite(what, a.v, a.n, err);
    size_t U = st ? 0 : (size_t)(ufirst ? a.d[0] : a.d[a.rank - 1]);
    st = st ? st : agree(e, U, what, err);
    free(what);
    if (st) {
        free(a.v);
        return st;
    }
    /* the samples in row-major order of the other axes, skipping burn-in */
    size_t n = a.n / U, kept = 0, stride = 1, ext = fa >= 0 ? (size_t)a.d[fa] : 1;
    for (int d = fa + 1; fa >= 0 && d < a.rank; ++d)
        stride *= (size_t)a.d[d];
    if (!ufirst)
        stride /= U;
    e->resp = malloc((a.n + 1) * sizeof *e->resp);
    if (!e->resp) {
        free(a.v);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    size_t keep_n = fa >= 0 ? n / ext * (ext - (size_t)s->burn_in) : n;
    for (size_t i = 0; i < n; ++i) {
        if (fa >= 0 && (i / stride) % ext < (size_t)s->burn_in)
            continue;
        for (size_t u = 0; u < U; ++u)
            e->resp[u * keep_n + kept] = ufirst ? a.v[u * n + i] : a.v[i * U + u];
        ++kept;
    }
    e->n_samples = kept;
    e->responses_from = tb_asprintf("%s", name);
    free(a.v);
    return TB_OK;
}

/* The readout feature tensor: units along its last axis of the unit count
 * (its last axis when nothing else gives the count), features the rest. */
static tb_status load_features(const tw_emb_sources *s, tw_embeddings *e, tb_error *err)
{
    tw_graph g;
    tb_status st = tw_network_read(s->network, &g, err);
    if (st)
        return st;
    int k = tw_graph_find(&g, s->tensor);
    const tw_tensor *t = k >= 0 ? &g.t[k] : NULL;
    int axis = -1;
    if (!t || !tw_is_const(t) || !tw_is_float(t->dtype))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no constant floating-point tensor '%s' (the readout's features)",
                          s->network, s->tensor);
    for (int d = t && st == TB_OK ? t->rank - 1 : -1; d >= 0 && axis < 0; --d)
        if (e->units == 0 ? d == t->rank - 1 : (size_t)t->dims[d] == e->units)
            axis = d;
    if (st == TB_OK && axis < 0) {
        char sh[128];
        st = tb_error_set(err, TB_ERR_INPUT, "%s: tensor '%s' %s has no axis of the %zu units of %s", s->network,
                          s->tensor, tw_shape_text(t, sh, sizeof sh), e->units, s->run);
    }
    if (st == TB_OK) {
        size_t U = (size_t)t->dims[axis], N = (size_t)tw_numel(t), C = N / (U ? U : 1), inner = 1;
        for (int d = axis + 1; d < t->rank; ++d)
            inner *= (size_t)t->dims[d];
        e->features = malloc((N + 1) * sizeof *e->features);
        if (!e->features)
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
        for (size_t i = 0; st == TB_OK && i < N; ++i) {
            size_t u = (i / inner) % U, outer = i / (inner * U), in = i % inner;
            e->features[u * C + outer * inner + in] = tw_get_f(t, (int64_t)i);
        }
        if (st == TB_OK) {
            e->units = U, e->n_features = C;
            e->features_from = tb_asprintf("%s:%s", s->network, s->tensor);
        }
    }
    tw_graph_free(&g);
    return st;
}

tb_status tw_embeddings_load(const tw_emb_sources *s, tw_embeddings *e, tb_error *err)
{
    *e = (tw_embeddings){0};
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(s->run, H5F_ACC_RDONLY, H5P_DEFAULT);
    tb_status st = f < 0 ? tb_error_set(err, TB_ERR_INPUT, "%s: cannot open as an HDF5 file", s->run) : TB_OK;
    st = st ? st : load_rf(f, s, e, err);
    st = st ? st : load_tuning(f, s, e, err);
    if (st == TB_OK && s->want_responses)
        st = load_responses(f, s, e, err);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    if (st == TB_OK && s->network)
        st = load_features(s, e, err);
    if (st == TB_OK && e->units == 0)
        st = tb_error_set(err, TB_ERR_INPUT,
                          "%s: nothing per unit: no receptive_field, orientation_tuning or response_to experiment, "
                          "no /twin/responses%s",
                          s->run, s->network ? "" : " (and no --network NET.h5 --features TENSOR)");
    if (st)
        tw_embeddings_free(e);
    return st;
}

void tw_embeddings_free(tw_embeddings *e)
{
    free(e->features), free(e->centre), free(e->sigma), free(e->po), free(e->pd), free(e->osi), free(e->dsi);
    free(e->resp), free(e->features_from), free(e->rf_from), free(e->tuning_from), free(e->responses_from);
    *e = (tw_embeddings){0};
}

/* ------------------------------------------------------------ writing */

static bool put(hid_t g, const char *name, hid_t mem, hid_t file_type, int rank, const hsize_t *dims,
                const void *data)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(g, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = ds >= 0 && H5Dwrite(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(s);
    return ok;
}

bool tw_embeddings_write_h5(hid_t f, const tw_embeddings *e)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(f, "/twin/embeddings", lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    bool ok = g >= 0;
    hsize_t U = e->units, d2[2] = {U, 2}, df[2] = {U, e->n_features};
    long long *idx = malloc((e->units + 1) * sizeof *idx);
    ok = ok && idx;
    for (size_t u = 0; ok && u < e->units; ++u)
        idx[u] = (long long)u;
    ok = ok && put(g, "unit", H5T_NATIVE_LLONG, H5T_STD_I64LE, 1, &U, idx);
    free(idx);
    if (ok && e->features)
        ok = put(g, "features", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, df, e->features) &&
             tb_h5_attr_text(g, "features_source", e->features_from);
    if (ok && e->centre)
        ok = put(g, "rf_centre", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, d2, e->centre) &&
             put(g, "rf_sigma", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, d2, e->sigma) &&
             tb_h5_attr_text(g, "rf_source", e->rf_from);
    static const char *const leaf[4] = {"preferred_orientation", "preferred_direction", "osi", "dsi"};
    const double *v[4] = {e->po, e->pd, e->osi, e->dsi};
    for (int k = 0; ok && e->po && k < 4; ++k)
        ok = put(g, leaf[k], H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &U, v[k]);
    if (ok && e->po)
        ok = tb_h5_attr_text(g, "tuning_source", e->tuning_from);
    if (g >= 0)
        H5Gclose(g);
    return ok;
}

void tw_embeddings_write_csv(FILE *out, const tw_embeddings *e)
{
    fputs("unit", out);
    for (size_t c = 0; c < e->n_features; ++c)
        fprintf(out, ",feature_%zu", c);
    if (e->centre)
        fputs(",rf_x,rf_y,rf_sigma_x,rf_sigma_y", out);
    if (e->po)
        fputs(",preferred_orientation,preferred_direction,osi,dsi", out);
    fputc('\n', out);
    for (size_t u = 0; u < e->units; ++u) {
        fprintf(out, "%zu", u);
        for (size_t c = 0; c < e->n_features; ++c)
            fprintf(out, ",%.17g", e->features[u * e->n_features + c]);
        for (int k = 0; e->centre && k < 2; ++k)
            fprintf(out, ",%.17g", e->centre[2 * u + k]);
        for (int k = 0; e->centre && k < 2; ++k)
            fprintf(out, ",%.17g", e->sigma[2 * u + k]);
        if (e->po)
            fprintf(out, ",%.17g,%.17g,%.17g,%.17g", e->po[u], e->pd[u], e->osi[u], e->dsi[u]);
        fputc('\n', out);
    }
}
