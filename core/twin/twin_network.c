/* The twin network file (docs/formats.md, "Twin networks"): the folded
 * graph in HDF5, readable by people (h5py) and by the kit. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "twin_import.h"
#include "twin_plugin.h"
#include "util.h"

#define FORMAT_NAME "twinbrain-network"
#define FORMAT_VERSION 1

/* ------------------------------------------------------------ writing */

static bool attr_num(hid_t obj, const char *name, hid_t type, const void *v, size_t n, bool scalar)
{
    hsize_t d = n;
    hid_t s = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(obj, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = a >= 0 && H5Awrite(a, type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    return ok;
}

static bool write_strings(hid_t f, const char *path, const char *const *v, size_t n)
{
    hsize_t d = n;
    hid_t t = tb_h5_utf8_type(), s = H5Screate_simple(1, &d, NULL);
    hid_t ds = H5Dcreate2(f, path, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = ds >= 0 && (n == 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(s);
    H5Tclose(t);
    return ok;
}

static bool write_names(hid_t f, const char *path, const tw_graph *g, const int *idx, size_t n)
{
    const char **v = malloc((n + 1) * sizeof *v);
    for (size_t j = 0; v && j < n; ++j)
        v[j] = g->t[idx[j]].name;
    bool ok = v && write_strings(f, path, v, n);
    free(v);
    return ok;
}

static bool write_constant(hid_t grp, size_t k, const tw_tensor *t)
{
    char name[32];
    snprintf(name, sizeof name, "%zu", k);
    hsize_t d[TW_MAX_RANK];
    for (int j = 0; j < t->rank; ++j)
        d[j] = (hsize_t)t->dims[j];
    hid_t s = t->rank ? H5Screate_simple(t->rank, d, NULL) : H5Screate(H5S_SCALAR);
    hid_t ftype = t->dtype == TW_FLOAT ? H5T_IEEE_F32LE : t->f ? H5T_IEEE_F64LE : H5T_STD_I64LE;
    hid_t ds = H5Dcreate2(grp, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = ds >= 0 && (tw_numel(t) == 0 || H5Dwrite(ds, t->f ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, H5S_ALL,
                                                       H5S_ALL, H5P_DEFAULT, t->f ? (void *)t->f : (void *)t->i) >= 0);
    ok = ok && tb_h5_attr_text(ds, "name", t->name);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(s);
    return ok;
}

static bool write_tensors(hid_t f, const tw_graph *g)
{
    size_t n = g->n_t;
    const char **names = malloc((n + 1) * sizeof *names), **types = malloc((n + 1) * sizeof *types);
    int64_t *shape = calloc(n * TW_MAX_RANK + 1, sizeof *shape);
    int32_t *rank = malloc((n + 1) * sizeof *rank);
    uint8_t *cst = malloc(n + 1);
    bool ok = names && types && shape && rank && cst;
    for (size_t k = 0; ok && k < n; ++k) {
        names[k] = g->t[k].name;
        types[k] = tw_dtype_name(g->t[k].dtype);
        rank[k] = g->t[k].rank;
        cst[k] = tw_is_const(&g->t[k]);
        for (int d = 0; d < TW_MAX_RANK; ++d)
            shape[k * TW_MAX_RANK + d] = d < g->t[k].rank ? g->t[k].dims[d] : 0;
    }
    hid_t grp = ok ? H5Gcreate2(f, "/tensors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    hid_t data = grp >= 0 ? H5Gcreate2(grp, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = data >= 0 && write_strings(f, "/tensors/name", names, n) && write_strings(f, "/tensors/dtype", types, n);
    hsize_t d2[2] = {n, TW_MAX_RANK}, d1 = n;
    hid_t s2 = H5Screate_simple(2, d2, NULL), s1 = H5Screate_simple(1, &d1, NULL);
    hid_t ds;
    ok = ok && (ds = H5Dcreate2(f, "/tensors/shape", H5T_STD_I64LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         (n == 0 || H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, shape) >= 0) && H5Dclose(ds) >= 0;
    ok = ok && (ds = H5Dcreate2(f, "/tensors/rank", H5T_STD_I32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         (n == 0 || H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, rank) >= 0) && H5Dclose(ds) >= 0;
    ok = ok && (ds = H5Dcreate2(f, "/tensors/constant", H5T_STD_U8LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         (n == 0 || H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, cst) >= 0) && H5Dclose(ds) >= 0;
    for (size_t k = 0; ok && k < n; ++k)
        if (tw_is_const(&g->t[k]))
            ok = write_constant(data, k, &g->t[k]);
    H5Sclose(s1);
    H5Sclose(s2);
    if (data >= 0)
        H5Gclose(data);
    if (grp >= 0)
        H5Gclose(grp);
    free(names);
    free(types);
    free(shape);
    free(rank);
    free(cst);
    return ok;
}

static bool write_attr(hid_t grp, const tw_attr *a)
{
    char *nm = tb_asprintf("%s%s", a->type == TW_A_TENSOR ? "tensor:" : "attr:", a->name);
    bool ok = nm != NULL;
    switch (a->type) {
    case TW_A_FLOAT: ok = ok && attr_num(grp, nm, H5T_NATIVE_DOUBLE, &a->f, 1, true); break;
    case TW_A_INT: ok = ok && attr_num(grp, nm, H5T_NATIVE_INT64, &a->i, 1, true); break;
    case TW_A_STRING: ok = ok && tb_h5_attr_text(grp, nm, a->s); break;
    case TW_A_FLOATS: ok = ok && (a->n == 0 || attr_num(grp, nm, H5T_NATIVE_DOUBLE, a->floats, a->n, false)); break;
    case TW_A_INTS: ok = ok && (a->n == 0 || attr_num(grp, nm, H5T_NATIVE_INT64, a->ints, a->n, false)); break;
    case TW_A_TENSOR: {
        int64_t k = a->tensor;
        ok = ok && attr_num(grp, nm, H5T_NATIVE_INT64, &k, 1, true);
        break;
    }
    default: break; /* graphs: refused at import before this */
    }
    free(nm);
    return ok;
}

static bool write_nodes(hid_t f, const tw_graph *g)
{
    hid_t grp = H5Gcreate2(f, "/nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = grp >= 0;
    for (size_t k = 0; ok && k < g->n_nodes; ++k) {
        const tw_node *n = &g->nodes[k];
        char name[32];
        snprintf(name, sizeof name, "%06zu", k);
        hid_t ng = H5Gcreate2(grp, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        int64_t io[64];
        ok = ng >= 0 && tb_h5_attr_text(ng, "op", n->op) && tb_h5_attr_text(ng, "name", n->name) &&
             (!n->domain || tb_h5_attr_text(ng, "domain", n->domain));
        for (size_t j = 0; j < n->n_in && j < 64; ++j)
            io[j] = n->in[j];
        ok = ok && (n->n_in == 0 || attr_num(ng, "inputs", H5T_NATIVE_INT64, io, n->n_in, false));
        for (size_t j = 0; j < n->n_out && j < 64; ++j)
            io[j] = n->out[j];
        ok = ok && n->n_in <= 64 && n->n_out <= 64 && attr_num(ng, "outputs", H5T_NATIVE_INT64, io, n->n_out, false);
        for (size_t a = 0; ok && a < n->n_attrs; ++a)
            ok = write_attr(ng, &n->attrs[a]);
        if (ng >= 0)
            H5Gclose(ng);
    }
    if (grp >= 0)
        H5Gclose(grp);
    return ok;
}

static bool write_root(hid_t f, const tw_graph *g)
{
    int64_t v = FORMAT_VERSION;
    return tb_h5_attr_text(f, "format", FORMAT_NAME) && attr_num(f, "format_version", H5T_NATIVE_INT64, &v, 1, true) &&
           tb_h5_attr_text(f, "source", g->source) && tb_h5_attr_text(f, "source_sha256", g->source_sha256) &&
           tb_h5_attr_text(f, "producer", g->producer) && tb_h5_attr_text(f, "producer_version", g->producer_version) &&
           tb_h5_attr_text(f, "graph_name", g->graph_name) && tb_h5_attr_text(f, "input_sizes", g->sizes) &&
           tb_h5_attr_text(f, "imported_by", "twinbrain " PACKAGE_VERSION) &&
           attr_num(f, "ir_version", H5T_NATIVE_INT64, &g->ir_version, 1, true) &&
           attr_num(f, "opset", H5T_NATIVE_INT64, &g->opset, 1, true);
}

tb_status tw_network_write(const tw_graph *g, const char *path, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = f >= 0 && write_root(f, g) && write_tensors(f, g) && write_nodes(f, g) &&
              write_names(f, "/inputs", g, g->inputs, g->n_inputs) &&
              write_names(f, "/outputs", g, g->outputs, g->n_outputs) &&
              H5Gclose(H5Gcreate2(f, "/state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
              write_names(f, "/state/inputs", g, g->state_in, g->n_state) &&
              write_names(f, "/state/outputs", g, g->state_out, g->n_state);
    tb_h5_reason r = tb_h5_reason_take();
    if (f >= 0 && H5Fclose(f) < 0)
        ok = false;
    tb_h5_quiet_end(q);
    if (!ok)
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot write the network file%s%s%s", path,
                            r.text[0] ? " (HDF5: " : "", r.text, r.text[0] ? ")" : "");
    return TB_OK;
}

/* ------------------------------------------------------------ reading */

typedef struct reader {
    hid_t f;
    const char *path;
    tb_error *err;
} reader;

static tb_status bad(reader *r, const char *what)
{
    return tb_error_set(r->err, TB_ERR_INPUT, "%s: not a twin network file (%s); make one with 'twinbrain twin import'",
                        r->path, what);
}

static char **read_strings(hid_t f, const char *path, size_t *n)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    if (ds < 0)
        return NULL;
    hid_t s = H5Dget_space(ds), t = tb_h5_utf8_type();
    hsize_t d = 0;
    char **v = NULL;
    if (H5Sget_simple_extent_ndims(s) == 1 && H5Sget_simple_extent_dims(s, &d, NULL) >= 0) {
        v = calloc(d + 1, sizeof *v);
        if (v && d && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
            free(v);
            v = NULL;
        }
    }
    *n = d;
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(ds);
    return v;
}

static void free_strings(char **v, size_t n)
{
    for (size_t j = 0; v && j < n; ++j)
        free(v[j]);
    free(v);
}

/* The whole dataset at `path`, which must hold exactly `n` elements. */
static bool read_all(hid_t f, const char *path, hid_t mtype, void *buf, int64_t n)
{
    hid_t ds = H5Lexists(f, path, H5P_DEFAULT) > 0 ? H5Dopen2(f, path, H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    bool ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == n &&
              H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    return ok;
}

static char *get_attr_str(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0)
        return tb_strdup("");
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = tb_h5_utf8_type();
    char *v = NULL;
    char *out = NULL;
    if (a >= 0 && H5Aread(a, t, &v) >= 0) {
        out = tb_strdup(v ? v : "");
        H5free_memory(v);
    }
    if (a >= 0)
        H5Aclose(a);
    H5Tclose(t);
    return out;
}

static int dtype_of(const char *s)
{
    static const int types[] = {TW_FLOAT, TW_DOUBLE, TW_UINT8, TW_INT8, TW_INT32, TW_INT64, TW_BOOL};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; ++k)
        if (strcmp(s, tw_dtype_name(types[k])) == 0)
            return types[k];
    return 0;
}

static tb_status read_tensors(reader *r, tw_graph *g)
{
    size_t n = 0, nt = 0;
    char **names = read_strings(r->f, "/tensors/name", &n), **types = read_strings(r->f, "/tensors/dtype", &nt);
    int64_t *shape = calloc(n * TW_MAX_RANK + 1, sizeof *shape);
    int32_t *rank = calloc(n + 1, sizeof *rank);
    uint8_t *cst = calloc(n + 1, 1);
    tb_status st = TB_OK;
    if (!names || !types || nt != n || !shape || !rank || !cst ||
        (n && (!read_all(r->f, "/tensors/shape", H5T_NATIVE_INT64, shape, (int64_t)n * TW_MAX_RANK) ||
               !read_all(r->f, "/tensors/rank", H5T_NATIVE_INT32, rank, (int64_t)n) ||
               !read_all(r->f, "/tensors/constant", H5T_NATIVE_UINT8, cst, (int64_t)n))))
        st = bad(r, "/tensors is incomplete");
    for (size_t k = 0; st == TB_OK && k < n; ++k) {
        int j = tw_graph_tensor(g, names[k]);
        if (j != (int)k || rank[k] < 0 || rank[k] > TW_MAX_RANK || !dtype_of(types[k])) {
            st = bad(r, "a tensor is named twice or has a bad rank or type");
            break;
        }
        tw_tensor *t = &g->t[k];
        t->dtype = dtype_of(types[k]);
        t->rank = rank[k];
        t->known = true;
        int64_t numel = 1;
        for (int d = 0; d < t->rank; ++d) {
            t->dims[d] = shape[k * TW_MAX_RANK + d];
            if (t->dims[d] < 0 || (t->dims[d] > 0 && numel > ((int64_t)1 << 40) / t->dims[d])) {
                st = bad(r, "a tensor has a negative or too large size");
                break;
            }
            numel *= t->dims[d];
        }
        if (st || !cst[k])
            continue;
        char path[64];
        snprintf(path, sizeof path, "/tensors/data/%zu", k);
        if (!tw_tensor_alloc(t))
            st = tb_error_set(r->err, TB_ERR_OTHER, "out of memory reading %s", r->path);
        else if (tw_numel(t) && !read_all(r->f, path, t->f ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64,
                                          t->f ? (void *)t->f : (void *)t->i, tw_numel(t)))
            st = bad(r, "a constant's data is missing");
    }
    free_strings(names, n);
    free_strings(types, nt);
    free(shape);
    free(rank);
    free(cst);
    return st;
}

typedef struct attr_walk {
    tw_node *n;
    bool ok;
} attr_walk;

static herr_t node_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    attr_walk *w = data;
    (void)info;
    bool is_attr = strncmp(name, "attr:", 5) == 0, is_tensor = strncmp(name, "tensor:", 7) == 0;
    if (!is_attr && !is_tensor)
        return 0;
    tw_attr *a = &w->n->attrs[w->n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = tb_strdup(name + (is_attr ? 5 : 7));
    a->tensor = -1;
    hid_t at = H5Aopen(obj, name, H5P_DEFAULT), s = H5Aget_space(at), t = H5Aget_type(at);
    bool scalar = H5Sget_simple_extent_type(s) == H5S_SCALAR;
    hssize_t cnt = H5Sget_simple_extent_npoints(s);
    H5T_class_t cls = H5Tget_class(t);
    a->n = cnt > 0 ? (size_t)cnt : 0;
    bool ok = a->name != NULL;
    if (cls == H5T_STRING) {
        a->type = TW_A_STRING;
        hid_t ut = tb_h5_utf8_type();
        char *v = NULL;
        ok = ok && H5Aread(at, ut, &v) >= 0;
        a->s = tb_strdup(v ? v : "");
        H5free_memory(v);
        H5Tclose(ut);
    } else if (cls == H5T_INTEGER) {
        a->type = is_tensor ? TW_A_TENSOR : scalar ? TW_A_INT : TW_A_INTS;
        a->ints = malloc((a->n + 1) * sizeof *a->ints);
        ok = ok && a->ints && H5Aread(at, H5T_NATIVE_INT64, a->ints) >= 0;
        if (ok && scalar)
            a->i = a->ints[0], a->tensor = (int)a->ints[0];
    } else {
        a->type = scalar ? TW_A_FLOAT : TW_A_FLOATS;
        a->floats = malloc((a->n + 1) * sizeof *a->floats);
        ok = ok && a->floats && H5Aread(at, H5T_NATIVE_DOUBLE, a->floats) >= 0;
        if (ok && scalar)
            a->f = a->floats[0];
    }
    H5Tclose(t);
    H5Sclose(s);
    H5Aclose(at);
    w->n->n_attrs++;
    w->ok &= ok;
    return ok ? 0 : -1;
}

static bool read_index_attr(hid_t obj, const char *name, int **out, size_t *n, size_t n_t)
{
    *n = 0;
    *out = malloc(65 * sizeof **out);
    if (!*out)
        return false;
    if (H5Aexists(obj, name) <= 0)
        return true;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), s = H5Aget_space(a);
    hssize_t m = H5Sget_simple_extent_npoints(s);
    int64_t v[64];
    bool ok = m >= 0 && m <= 64 && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
    for (hssize_t j = 0; ok && j < m; ++j) {
        ok = v[j] >= -1 && v[j] < (int64_t)n_t;
        (*out)[j] = (int)v[j];
    }
    *n = ok ? (size_t)m : 0;
    H5Sclose(s);
    H5Aclose(a);
    return ok;
}

static tb_status read_nodes(reader *r, tw_graph *g)
{
    hid_t grp = H5Gopen2(r->f, "/nodes", H5P_DEFAULT);
    if (grp < 0)
        return bad(r, "no /nodes");
    H5G_info_t info;
    tb_status st = H5Gget_info(grp, &info) < 0 ? bad(r, "/nodes unreadable") : TB_OK;
    for (hsize_t k = 0; st == TB_OK && k < info.nlinks; ++k) {
        char name[32];
        snprintf(name, sizeof name, "%06llu", (unsigned long long)k);
        hid_t ng = H5Gopen2(grp, name, H5P_DEFAULT);
        if (ng < 0) {
            st = bad(r, "the nodes are not numbered 000000, 000001, ...");
            break;
        }
        char *op = get_attr_str(ng, "op"), *nm = get_attr_str(ng, "name");
        tw_node *n = op && nm ? tw_graph_add_node(g, op, nm) : NULL;
        free(op);
        free(nm);
        H5O_info_t oi;
        bool ok = n && H5Oget_info(ng, &oi) >= 0 && (n->attrs = calloc(oi.num_attrs + 1, sizeof *n->attrs)) &&
                  read_index_attr(ng, "inputs", &n->in, &n->n_in, g->n_t) &&
                  read_index_attr(ng, "outputs", &n->out, &n->n_out, g->n_t);
        attr_walk w = {n, true};
        ok = ok && H5Aiterate2(ng, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, node_attr, &w) >= 0 && w.ok;
        for (size_t a = 0; ok && n && a < n->n_attrs; ++a)
            ok = n->attrs[a].type != TW_A_TENSOR || (n->attrs[a].tensor >= 0 && (size_t)n->attrs[a].tensor < g->n_t);
        char *domain = ok ? get_attr_str(ng, "domain") : NULL;
        H5Gclose(ng);
        if (!ok)
            st = bad(r, "a node's attributes are unreadable");
        else if (!domain)
            st = tb_error_set(r->err, TB_ERR_OTHER, "out of memory");
        else if (domain[0]) /* a twin plugin's op: the plugin must be loaded now as at import */
            st = tw_plugin_resolve(g, n, domain, r->path, r->err);
        free(domain);
    }
    H5Gclose(grp);
    return st;
}

static tb_status read_names(reader *r, tw_graph *g, const char *path, int **out, size_t *n)
{
    char **v = read_strings(r->f, path, n);
    *out = malloc((*n + 1) * sizeof **out);
    tb_status st = v && *out ? TB_OK : bad(r, path);
    for (size_t j = 0; st == TB_OK && j < *n; ++j)
        if (((*out)[j] = tw_graph_find(g, v[j])) < 0)
            st = bad(r, "an input or output names no tensor");
    free_strings(v, *n);
    return st;
}

tb_status tw_network_read(const char *path, tw_graph *g, tb_error *err)
{
    memset(g, 0, sizeof *g);
    tb_h5_quiet q = tb_h5_quiet_begin();
    reader r = {-1, path, err};
    tb_status st = TB_OK;
    if (H5Fis_hdf5(path) <= 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s", path,
                          tb_file_exists(path) ? "not an HDF5 file (a twin network is made by 'twinbrain twin import')"
                                               : "no such file");
    if (st == TB_OK && (r.f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: cannot open", path);
    char *fmt = st == TB_OK ? get_attr_str(r.f, "format") : NULL;
    if (st == TB_OK && (!fmt || strcmp(fmt, FORMAT_NAME) != 0))
        st = bad(&r, "its root attribute 'format' is not \"" FORMAT_NAME "\"");
    free(fmt);
    if (st == TB_OK) {
        g->source = get_attr_str(r.f, "source");
        g->source_sha256 = get_attr_str(r.f, "source_sha256");
        g->producer = get_attr_str(r.f, "producer");
        g->producer_version = get_attr_str(r.f, "producer_version");
        g->graph_name = get_attr_str(r.f, "graph_name");
        g->sizes = get_attr_str(r.f, "input_sizes");
        hid_t a = H5Aexists(r.f, "opset") > 0 ? H5Aopen(r.f, "opset", H5P_DEFAULT) : -1;
        if (a >= 0) {
            H5Aread(a, H5T_NATIVE_INT64, &g->opset);
            H5Aclose(a);
        }
        st = read_tensors(&r, g);
    }
    st = st ? st : read_nodes(&r, g);
    st = st ? st : read_names(&r, g, "/inputs", &g->inputs, &g->n_inputs);
    st = st ? st : read_names(&r, g, "/outputs", &g->outputs, &g->n_outputs);
    size_t ns2 = 0;
    st = st ? st : read_names(&r, g, "/state/inputs", &g->state_in, &g->n_state);
    st = st ? st : read_names(&r, g, "/state/outputs", &g->state_out, &ns2);
    if (st == TB_OK && ns2 != g->n_state)
        st = bad(&r, "/state/inputs and /state/outputs differ in length");
    if (st == TB_OK)
        st = tw_graph_verify(g, path, err);
    if (r.f >= 0)
        H5Fclose(r.f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    if (st)
        tw_graph_free(g);
    return st;
}
