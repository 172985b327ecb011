/* Structural connectomes: reading, checking and writing the HDF5 file
 * (DESIGN.md section 6), and the synthetic generator.
 *
 * File layout: /weights [N,N] float64 (row = target, column = source),
 * /tract_lengths [N,N] float64 mm, /region_labels [N] strings, optional
 * /centres [N,3] mm, /hemispheres [N] uint8, /areas [N] mm^2, /cortical [N]
 * uint8 and /orientations [N,3]; root attributes weights_unit and
 * description. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "twinbrain/connectome.h"

#include "h5driver.h"
#include "h5util.h"

/* Matrices are stored in row chunks of about this size, gzip-compressed. */
#define CHUNK_TARGET_BYTES ((size_t)1 << 20)
#define DEFLATE_LEVEL 4

/* ================================================================ memory */

tb_connectome *tb_connectome_new(size_t n)
{
    if (n == 0 || n > SIZE_MAX / n / sizeof(double))
        return NULL;
    tb_connectome *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->n = n;
    c->weights = calloc(n * n, sizeof *c->weights);
    c->tract_lengths = calloc(n * n, sizeof *c->tract_lengths);
    c->labels = calloc(n, sizeof *c->labels);
    if (!c->weights || !c->tract_lengths || !c->labels) {
        tb_connectome_free(c);
        return NULL;
    }
    return c;
}

void tb_connectome_free(tb_connectome *c)
{
    if (!c)
        return;
    if (c->labels)
        for (size_t i = 0; i < c->n; i++)
            free(c->labels[i]);
    free(c->labels);
    free(c->weights);
    free(c->tract_lengths);
    free(c->centres);
    free(c->hemispheres);
    free(c->weights_unit);
    free(c->description);
    free(c->areas);
    free(c->cortical);
    free(c->orientations);
    free(c);
}

size_t tb_connectome_edges(const tb_connectome *c)
{
    if (!c || !c->weights)
        return 0;
    size_t edges = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->n; j++)
            edges += i != j && c->weights[i * c->n + j] != 0.0;
    return edges;
}

double tb_connectome_density(const tb_connectome *c)
{
    if (!c || c->n < 2)
        return 0.0;
    return (double)tb_connectome_edges(c) / ((double)c->n * (double)(c->n - 1));
}

/* ================================================================ checks */

static tb_status check_matrix(const double *m, size_t n, const char *name, const char *what, tb_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = m[i * n + j];
            if (!isfinite(v) || v < 0.0)
                return tb_error_set(err, TB_ERR_INPUT, "%s[%zu,%zu] = %g: %s must be finite and not negative",
                                    name, i, j, v, what);
        }
    return TB_OK;
}

/* Every value of an optional [n, 3] table finite. */
static tb_status check_table3(const double *v, size_t n, const char *name, tb_error *err)
{
    for (size_t i = 0; v && i < n * 3; i++)
        if (!isfinite(v[i]))
            return tb_error_set(err, TB_ERR_INPUT, "%s[%zu,%zu] = %g: %s must be finite", name, i / 3, i % 3, v[i],
                                name + 1);
    return TB_OK;
}

static tb_status check_flags(const uint8_t *v, size_t n, const char *name, const char *meaning, tb_error *err)
{
    for (size_t i = 0; v && i < n; i++)
        if (v[i] > 1)
            return tb_error_set(err, TB_ERR_INPUT, "%s[%zu] = %u: expected %s", name, i, (unsigned)v[i], meaning);
    return TB_OK;
}

static tb_status check_regions(const tb_connectome *c, tb_error *err)
{
    for (size_t i = 0; i < c->n; i++)
        if (!c->labels[i])
            return tb_error_set(err, TB_ERR_INPUT, "/region_labels[%zu] is missing", i);
    for (size_t i = 0; c->areas && i < c->n; i++)
        if (!isfinite(c->areas[i]) || c->areas[i] < 0.0)
            return tb_error_set(err, TB_ERR_INPUT, "/areas[%zu] = %g: areas must be finite and not negative", i,
                                c->areas[i]);
    tb_status s = check_table3(c->centres, c->n, "/centres", err);
    if (s == TB_OK)
        s = check_table3(c->orientations, c->n, "/orientations", err);
    if (s == TB_OK)
        s = check_flags(c->hemispheres, c->n, "/hemispheres", "0 (left) or 1 (right)", err);
    if (s == TB_OK)
        s = check_flags(c->cortical, c->n, "/cortical", "0 (not cortical) or 1 (cortical)", err);
    return s;
}

tb_status tb_connectome_check(const tb_connectome *c, tb_error *err)
{
    if (!c || c->n == 0)
        return tb_error_set(err, TB_ERR_INPUT, "the connectome has no regions");
    if (!c->weights || !c->tract_lengths || !c->labels)
        return tb_error_set(err, TB_ERR_INPUT, "the connectome lacks weights, tract lengths or labels");
    tb_status s = check_matrix(c->weights, c->n, "/weights", "weights", err);
    if (s == TB_OK)
        s = check_matrix(c->tract_lengths, c->n, "/tract_lengths", "tract lengths", err);
    if (s == TB_OK)
        s = check_regions(c, err);
    return s;
}

/* ================================================================ reading */

typedef struct reader {
    const char *path;
    hid_t file;
    tb_error *err;
} reader;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static tb_status input_error(const reader *rd, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return tb_error_set(rd->err, TB_ERR_INPUT, "%s: %s", rd->path, what);
}

/* A failed HDF5 call on an input: TB_ERR_INPUT with HDF5's reason. */
static tb_status hdf5_input_error(const reader *rd, const char *what, const char *name)
{
    tb_h5_reason r = tb_h5_reason_take();
    return input_error(rd, "%s %s%s%s%s", what, name, r.text[0] ? " (HDF5: " : "", r.text, r.text[0] ? ")" : "");
}

/* Answer the common questions (no file, a folder, not HDF5) before HDF5
 * answers them less clearly. */
static tb_status check_input_file(const reader *rd)
{
    struct stat st;
    if (stat(rd->path, &st) != 0)
        return errno == ENOENT ? input_error(rd, "no such file") : input_error(rd, "%s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return input_error(rd, "is a folder, not a connectome file");
    FILE *f = fopen(rd->path, "rb");
    if (!f)
        return input_error(rd, "cannot read: %s", strerror(errno));
    fclose(f);
    if (H5Fis_hdf5(rd->path) <= 0)
        return input_error(rd, "not an HDF5 file");
    return TB_OK;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floating-point numbers";
    case H5T_STRING: return "strings";
    case H5T_ENUM: return "enumerated values";
    case H5T_COMPOUND: return "compound records";
    default: return "non-numeric data";
    }
}

/* "[3,4]" */
static void shape_text(char *buf, size_t size, int rank, const hsize_t *dims)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%llu", i ? "," : "", (unsigned long long)dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* Open /name as a dataset; *d < 0 when it is absent and optional. */
static tb_status open_dataset(const reader *rd, const char *name, bool required, hid_t *d)
{
    *d = H5I_INVALID_HID;
    htri_t exists = H5Lexists(rd->file, name, H5P_DEFAULT);
    if (exists <= 0)
        return required ? input_error(rd, "missing dataset /%s", name) : TB_OK;
    hid_t id = H5Oopen(rd->file, name, H5P_DEFAULT);
    if (id < 0)
        return hdf5_input_error(rd, "cannot open", name);
    if (H5Iget_type(id) != H5I_DATASET) {
        H5Oclose(id);
        return input_error(rd, "/%s is not a dataset", name);
    }
    *d = id;
    return TB_OK;
}

/* The shape must be exactly `want` (rank entries). */
static tb_status expect_shape(const reader *rd, hid_t d, const char *name, int rank, const hsize_t *want,
                              const char *hint)
{
    hsize_t dims[H5S_MAX_RANK];
    hid_t space = H5Dget_space(d);
    int got = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (got >= 0)
        H5Sget_simple_extent_dims(space, dims, NULL);
    if (space >= 0)
        H5Sclose(space);
    if (got < 0)
        return hdf5_input_error(rd, "cannot read the shape of", name);
    bool same = got == rank;
    for (int i = 0; same && i < rank; i++)
        same = dims[i] == want[i];
    if (same)
        return TB_OK;
    char g[96], w[96];
    shape_text(g, sizeof g, got, dims);
    shape_text(w, sizeof w, rank, want);
    return input_error(rd, "/%s has shape %s, expected %s%s", name, g, w, hint);
}

/* Read numbers converted to `mtype`. Enumerations (h5py stores numpy bools
 * that way) are read through their integer base type, since HDF5 does not
 * convert an enum to a plain integer by itself. */
static tb_status read_numbers(const reader *rd, hid_t d, const char *name, hid_t mtype, size_t count, void *buf)
{
    hid_t ftype = H5Dget_type(d);
    if (ftype < 0)
        return hdf5_input_error(rd, "cannot read the type of", name);
    H5T_class_t cls = H5Tget_class(ftype);
    tb_status s = TB_OK;
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            s = hdf5_input_error(rd, "cannot read", name);
    } else if (cls == H5T_ENUM) {
        hid_t native = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
        hid_t base = native < 0 ? H5I_INVALID_HID : H5Tget_super(native);
        size_t width = H5Tget_size(native) > H5Tget_size(mtype) ? H5Tget_size(native) : H5Tget_size(mtype);
        /* converted in place, so wide enough for either type */
        void *raw = base < 0 ? NULL : calloc(count ? count : 1, width);
        if (!raw || H5Dread(d, native, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0 ||
            H5Tconvert(base, mtype, count, raw, NULL, H5P_DEFAULT) < 0)
            s = hdf5_input_error(rd, "cannot read", name);
        else
            memcpy(buf, raw, count * H5Tget_size(mtype));
        free(raw);
        if (base >= 0)
            H5Tclose(base);
        if (native >= 0)
            H5Tclose(native);
    } else {
        s = input_error(rd, "/%s holds %s, expected numbers", name, class_name(cls));
    }
    H5Tclose(ftype);
    return s;
}

/* A string source: a dataset or an attribute, read the same way. */
typedef struct strsrc {
    hid_t id;
    bool attr;
} strsrc;

static hid_t src_type(strsrc s)
{
    return s.attr ? H5Aget_type(s.id) : H5Dget_type(s.id);
}

static hid_t src_space(strsrc s)
{
    return s.attr ? H5Aget_space(s.id) : H5Dget_space(s.id);
}

static herr_t src_read(strsrc s, hid_t mtype, void *buf)
{
    return s.attr ? H5Aread(s.id, mtype, buf) : H5Dread(s.id, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
}

static bool read_vlen_strings(strsrc s, hid_t ftype, hid_t space, size_t n, char **out)
{
    hid_t mtype = H5Tcopy(H5T_C_S1);
    char **raw = calloc(n, sizeof *raw);
    bool read = mtype >= 0 && raw && H5Tset_size(mtype, H5T_VARIABLE) >= 0 &&
                H5Tset_cset(mtype, H5Tget_cset(ftype)) >= 0 && src_read(s, mtype, raw) >= 0;
    bool ok = read;
    for (size_t i = 0; ok && i < n; i++)
        ok = (out[i] = strdup(raw[i] ? raw[i] : "")) != NULL;
    if (read)
        tb_h5_reclaim(mtype, space, raw);
    free(raw);
    if (mtype >= 0)
        H5Tclose(mtype);
    return ok;
}

/* Fixed-length strings (h5py's numpy "S" arrays, MATLAB, TVB exports):
 * read one byte wider so HDF5 terminates each one. */
static bool read_fixed_strings(strsrc s, hid_t ftype, size_t n, char **out)
{
    size_t width = H5Tget_size(ftype) + 1;
    hid_t mtype = H5Tcopy(H5T_C_S1);
    char *raw = calloc(n, width);
    bool ok = mtype >= 0 && raw && H5Tset_size(mtype, width) >= 0 && H5Tset_strpad(mtype, H5T_STR_NULLTERM) >= 0 &&
              H5Tset_cset(mtype, H5Tget_cset(ftype)) >= 0 && src_read(s, mtype, raw) >= 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = (out[i] = strndup(raw + i * width, width)) != NULL;
    free(raw);
    if (mtype >= 0)
        H5Tclose(mtype);
    return ok;
}

typedef enum strread { STR_OK, STR_NOT_STRINGS, STR_COUNT, STR_FAILED } strread;

/* Read exactly n strings into out[0..n) (caller frees them). */
static strread read_strings(strsrc s, size_t n, size_t *found, char **out)
{
    hid_t ftype = src_type(s);
    hid_t space = src_space(s);
    strread r = STR_FAILED;
    hssize_t count = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    *found = count < 0 ? 0 : (size_t)count;
    if (ftype < 0 || count < 0)
        r = STR_FAILED;
    else if (H5Tget_class(ftype) != H5T_STRING)
        r = STR_NOT_STRINGS;
    else if ((size_t)count != n)
        r = STR_COUNT;
    else if (H5Tis_variable_str(ftype) > 0)
        r = read_vlen_strings(s, ftype, space, n, out) ? STR_OK : STR_FAILED;
    else
        r = read_fixed_strings(s, ftype, n, out) ? STR_OK : STR_FAILED;
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    return r;
}

static tb_status read_matrices(reader *rd, tb_connectome **out)
{
    hid_t w = H5I_INVALID_HID, t = H5I_INVALID_HID;
    tb_status s = open_dataset(rd, "weights", true, &w);
    if (s == TB_OK)
        s = open_dataset(rd, "tract_lengths", true, &t);
    hsize_t dims[H5S_MAX_RANK] = {0};
    if (s == TB_OK) {
        hid_t space = H5Dget_space(w);
        int rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
        if (space >= 0)
            H5Sclose(space);
        char g[96];
        shape_text(g, sizeof g, rank, dims);
        if (rank < 0)
            s = hdf5_input_error(rd, "cannot read the shape of", "weights");
        else if (rank != 2 || dims[0] != dims[1])
            s = input_error(rd, "/weights has shape %s, expected a square [N,N] matrix", g);
        else if (dims[0] == 0)
            s = input_error(rd, "/weights is empty (no regions)");
        else if (dims[0] > SIZE_MAX / dims[0] / sizeof(double))
            /* a chunked dataset may claim more than its file holds */
            s = input_error(rd, "/weights has shape %s: more values than memory can hold", g);
    }
    if (s == TB_OK)
        s = expect_shape(rd, t, "tract_lengths", 2, dims, " like /weights");
    if (s == TB_OK && !(*out = tb_connectome_new((size_t)dims[0])))
        s = tb_error_set(rd->err, TB_ERR_OTHER, "%s: out of memory for %llu regions", rd->path,
                         (unsigned long long)dims[0]);
    size_t nn = s == TB_OK ? (*out)->n * (*out)->n : 0;
    if (s == TB_OK)
        s = read_numbers(rd, w, "weights", H5T_NATIVE_DOUBLE, nn, (*out)->weights);
    if (s == TB_OK)
        s = read_numbers(rd, t, "tract_lengths", H5T_NATIVE_DOUBLE, nn, (*out)->tract_lengths);
    if (t >= 0)
        H5Oclose(t);
    if (w >= 0)
        H5Oclose(w);
    return s;
}

/* Labels are required by the format, but files made by other tools often
 * lack them; rather than refusing such a file, regions are then named
 * region_000, region_001, ... (their row index), which is what scenarios
 * can refer to. */
tb_status tb_connectome_fill_labels(tb_connectome *c)
{
    for (size_t i = 0; c && c->labels && i < c->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "region_%03zu", i);
        if (!c->labels[i] && !(c->labels[i] = strdup(name)))
            return TB_ERR_OTHER;
    }
    return TB_OK;
}

static tb_status read_labels(reader *rd, tb_connectome *c)
{
    hid_t d;
    tb_status s = open_dataset(rd, "region_labels", false, &d);
    if (s != TB_OK)
        return s;
    if (d < 0)
        return tb_connectome_fill_labels(c) == TB_OK ? TB_OK : tb_error_set(rd->err, TB_ERR_OTHER, "out of memory");
    size_t found = 0;
    switch (read_strings((strsrc){d, false}, c->n, &found, c->labels)) {
    case STR_OK: break;
    case STR_NOT_STRINGS: s = input_error(rd, "/region_labels does not hold strings"); break;
    case STR_COUNT:
        s = input_error(rd, "/region_labels has %zu entries, expected %zu (one per region)", found, c->n);
        break;
    case STR_FAILED: s = hdf5_input_error(rd, "cannot read", "region_labels"); break;
    }
    H5Oclose(d);
    return s;
}

/* An optional dataset of `cols` numbers per region ([N] for 1, [N, cols]
 * otherwise) into *out (left NULL when the file has none). */
static tb_status read_per_region(reader *rd, tb_connectome *c, const char *name, size_t cols, const char *shape,
                                 double **out)
{
    hid_t d;
    tb_status s = open_dataset(rd, name, false, &d);
    if (s != TB_OK || d < 0)
        return s;
    const hsize_t want[2] = {c->n, cols};
    s = expect_shape(rd, d, name, cols == 1 ? 1 : 2, want, shape);
    if (s == TB_OK && !(*out = malloc(c->n * cols * sizeof **out)))
        s = tb_error_set(rd->err, TB_ERR_OTHER, "%s: out of memory", rd->path);
    if (s == TB_OK)
        s = read_numbers(rd, d, name, H5T_NATIVE_DOUBLE, c->n * cols, *out);
    H5Oclose(d);
    return s;
}

/* Read as numbers of any type (0/1, 0.0/1.0, numpy bools) and checked
 * before narrowing, so that -1 or 0.5 are refused rather than clipped. */
static tb_status read_flags(reader *rd, tb_connectome *c, const char *name, const char *meaning, uint8_t **out)
{
    double *v = NULL;
    tb_status s = read_per_region(rd, c, name, 1, " (one per region)", &v);
    if (s == TB_OK && v && !(*out = malloc(c->n)))
        s = tb_error_set(rd->err, TB_ERR_OTHER, "%s: out of memory", rd->path);
    for (size_t i = 0; s == TB_OK && v && i < c->n; i++) {
        if (v[i] != 0.0 && v[i] != 1.0)
            s = input_error(rd, "/%s[%zu] = %g: expected %s", name, i, v[i], meaning);
        (*out)[i] = v[i] == 1.0;
    }
    free(v);
    return s;
}

static tb_status read_optional(reader *rd, tb_connectome *c)
{
    tb_status s = read_per_region(rd, c, "centres", 3, " (x, y, z in mm per region)", &c->centres);
    if (s == TB_OK)
        s = read_flags(rd, c, "hemispheres", "0 (left) or 1 (right)", &c->hemispheres);
    if (s == TB_OK)
        s = read_per_region(rd, c, "areas", 1, " (one per region)", &c->areas);
    if (s == TB_OK)
        s = read_flags(rd, c, "cortical", "0 (not cortical) or 1 (cortical)", &c->cortical);
    if (s == TB_OK)
        s = read_per_region(rd, c, "orientations", 3, " (x, y, z per region)", &c->orientations);
    return s;
}

/* An optional string attribute of the root group. */
static tb_status read_root_string(reader *rd, const char *name, char **out)
{
    if (H5Aexists(rd->file, name) <= 0)
        return TB_OK;
    hid_t a = H5Aopen(rd->file, name, H5P_DEFAULT);
    if (a < 0)
        return hdf5_input_error(rd, "cannot open the attribute", name);
    size_t found = 0;
    tb_status s = TB_OK;
    switch (read_strings((strsrc){a, true}, 1, &found, out)) {
    case STR_OK: break;
    case STR_NOT_STRINGS: s = input_error(rd, "attribute %s is not a string", name); break;
    case STR_COUNT: s = input_error(rd, "attribute %s holds %zu strings, expected one", name, found); break;
    case STR_FAILED: s = hdf5_input_error(rd, "cannot read the attribute", name); break;
    }
    H5Aclose(a);
    return s;
}

static tb_status read_file(reader *rd, tb_connectome **out)
{
    tb_status s = check_input_file(rd);
    if (s != TB_OK)
        return s;
    rd->file = H5Fopen(rd->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (rd->file < 0)
        return hdf5_input_error(rd, "cannot open", "the file");
    tb_connectome *c = NULL;
    s = read_matrices(rd, &c);
    if (s == TB_OK)
        s = read_labels(rd, c);
    if (s == TB_OK)
        s = read_optional(rd, c);
    if (s == TB_OK)
        s = read_root_string(rd, "weights_unit", &c->weights_unit);
    if (s == TB_OK)
        s = read_root_string(rd, "description", &c->description);
    if (s == TB_OK && (s = tb_connectome_check(c, rd->err)) != TB_OK)
        tb_error_prefix(rd->err, "%s: ", rd->path);
    H5Fclose(rd->file);
    if (s != TB_OK) {
        tb_connectome_free(c);
        return s;
    }
    *out = c;
    return TB_OK;
}

tb_status tb_connectome_read(const char *path, tb_connectome **out, tb_error *err)
{
    if (!out)
        return tb_error_set(err, TB_ERR_OTHER, "connectome: no place to return it (NULL)");
    *out = NULL;
    if (!path || !path[0])
        return tb_error_set(err, TB_ERR_INPUT, "connectome: no file name given");
    reader rd = {path, H5I_INVALID_HID, err};
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = read_file(&rd, out);
    tb_h5_quiet_end(q);
    return s;
}

/* ================================================================ writing */

typedef struct writer {
    const char *path; /* what the user asked for; messages name it */
    hid_t file;
    tb_error *err;
} writer;

static tb_status write_error(const writer *wr, const char *what, const char *name)
{
    tb_h5_reason r = tb_h5_reason_take();
    tb_status st = tb_h5_driver_take_errno() ? TB_ERR_INPUT : TB_ERR_OTHER; /* the disk refused a write */
    return tb_error_set(wr->err, st, "%s: %s %s%s%s%s", wr->path, what, name,
                        r.text[0] ? " (HDF5: " : "", r.text, r.text[0] ? ")" : "");
}

/* Datasets carry no modification times, so the same connectome always
 * gives the same bytes (a regenerated example is not a change). Matrices go
 * in gzip-compressed row chunks: a mostly sparse weight matrix shrinks
 * several times and stays readable by any HDF5 tool. */
static hid_t dataset_dcpl(int rank, const hsize_t *dims, bool compress)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return H5I_INVALID_HID;
    bool ok = H5Pset_obj_track_times(dcpl, 0) >= 0;
    if (ok && compress && rank == 2 && dims[0] > 0 && dims[1] > 0) {
        hsize_t rows = CHUNK_TARGET_BYTES / (dims[1] * sizeof(double));
        hsize_t chunk[2] = {rows < 1 ? 1 : rows > dims[0] ? dims[0] : rows, dims[1]};
        ok = H5Pset_chunk(dcpl, 2, chunk) >= 0 && H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0;
    }
    if (!ok) {
        H5Pclose(dcpl);
        return H5I_INVALID_HID;
    }
    return dcpl;
}

static tb_status write_dataset(const writer *wr, const char *name, hid_t ftype, hid_t mtype, int rank,
                               const hsize_t *dims, bool compress, const void *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = dataset_dcpl(rank, dims, compress);
    hid_t d = space < 0 || dcpl < 0 ? H5I_INVALID_HID
                                    : H5Dcreate2(wr->file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    tb_status s = TB_OK;
    if (d < 0)
        s = write_error(wr, "cannot create", name);
    else if (H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        s = write_error(wr, "cannot write", name);
    if (d >= 0 && H5Dclose(d) < 0 && s == TB_OK)
        s = write_error(wr, "cannot close", name);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return s;
}

static tb_status write_matrix(const writer *wr, const char *name, const double *m, size_t n)
{
    const hsize_t dims[2] = {n, n};
    return write_dataset(wr, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, true, m);
}

static tb_status write_labels(const writer *wr, const tb_connectome *c)
{
    const hsize_t dims[1] = {c->n};
    hid_t t = tb_h5_utf8_type();
    if (t < 0)
        return write_error(wr, "cannot make the string type for", "/region_labels");
    tb_status s = write_dataset(wr, "/region_labels", t, t, 1, dims, false, c->labels);
    H5Tclose(t);
    return s;
}

static tb_status write_root_string(const writer *wr, const char *name, const char *value)
{
    if (!value)
        return TB_OK;
    hid_t t = tb_h5_utf8_type();
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = t < 0 || space < 0 ? H5I_INVALID_HID : H5Acreate2(wr->file, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    tb_status s = TB_OK;
    if (a < 0 || H5Awrite(a, t, &value) < 0)
        s = write_error(wr, "cannot write the attribute", name);
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    if (t >= 0)
        H5Tclose(t);
    return s;
}

/* The per-region datasets a connectome may lack. */
static tb_status write_optional(const writer *wr, const tb_connectome *c)
{
    const hsize_t d3[2] = {c->n, 3}, d1[1] = {c->n};
    hid_t f64 = H5T_IEEE_F64LE, u8 = H5T_STD_U8LE;
    tb_status s = TB_OK;
    if (s == TB_OK && c->centres)
        s = write_dataset(wr, "/centres", f64, H5T_NATIVE_DOUBLE, 2, d3, false, c->centres);
    if (s == TB_OK && c->hemispheres)
        s = write_dataset(wr, "/hemispheres", u8, H5T_NATIVE_UINT8, 1, d1, false, c->hemispheres);
    if (s == TB_OK && c->areas)
        s = write_dataset(wr, "/areas", f64, H5T_NATIVE_DOUBLE, 1, d1, false, c->areas);
    if (s == TB_OK && c->cortical)
        s = write_dataset(wr, "/cortical", u8, H5T_NATIVE_UINT8, 1, d1, false, c->cortical);
    if (s == TB_OK && c->orientations)
        s = write_dataset(wr, "/orientations", f64, H5T_NATIVE_DOUBLE, 2, d3, false, c->orientations);
    return s;
}

static tb_status write_contents(const writer *wr, const tb_connectome *c)
{
    tb_status s = write_matrix(wr, "/weights", c->weights, c->n);
    if (s == TB_OK)
        s = write_matrix(wr, "/tract_lengths", c->tract_lengths, c->n);
    if (s == TB_OK)
        s = write_labels(wr, c);
    if (s == TB_OK)
        s = write_optional(wr, c);
    if (s == TB_OK)
        s = write_root_string(wr, "weights_unit", c->weights_unit);
    if (s == TB_OK)
        s = write_root_string(wr, "description", c->description);
    return s;
}

/* Written beside the target and renamed over it at the end, so a failed
 * write never leaves a half-written connectome under the real name. */
static tb_status write_file(const tb_connectome *c, const char *path, tb_error *err)
{
    char why[512];
    if (tb_create_problem(path, why, sizeof why))
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot create the file: %s", path, why);
    size_t len = strlen(path) + sizeof ".partial";
    char *tmp = malloc(len);
    if (!tmp)
        return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", path);
    snprintf(tmp, len, "%s.partial", path);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) < 0) { /* the root group's times */
        H5Pclose(fcpl);
        fcpl = H5I_INVALID_HID;
    }
    /* the output's driver: a full disk fails the write, not the close (which
     * would leave HDF5 a half-closed file that crashes the process at exit) */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && tb_h5_driver_set(fapl) < 0) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    writer wr = {path, fcpl < 0 || fapl < 0 ? H5I_INVALID_HID : H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl), err};
    /* the reason first: any HDF5 call (closing the lists) clears it */
    tb_status s = wr.file < 0 ? write_error(&wr, "cannot create", tmp) : TB_OK;
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (s == TB_OK)
        s = write_contents(&wr, c);
    if (wr.file >= 0 && H5Fclose(wr.file) < 0 && s == TB_OK)
        s = write_error(&wr, "cannot close", tmp);
    if (s == TB_OK && rename(tmp, path) != 0)
        s = tb_error_set(err, TB_ERR_OTHER, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
    if (s != TB_OK)
        remove(tmp);
    free(tmp);
    return s;
}

tb_status tb_connectome_write(const tb_connectome *c, const char *path, tb_error *err)
{
    if (!path || !path[0])
        return tb_error_set(err, TB_ERR_OTHER, "connectome: no file name given");
    tb_status s = tb_connectome_check(c, err);
    if (s != TB_OK)
        return tb_error_prefix(err, "%s: refusing to write an invalid connectome: ", path);
    tb_h5_quiet q = tb_h5_quiet_begin();
    s = write_file(c, path, err);
    tb_h5_quiet_end(q);
    return s;
}

/* ================================================================ generator
 *
 * The shipped example examples/data/synthetic_246.h5 was made with
 *
 *     twinbrain connectome generate --regions 246 --seed 246 -o examples/data/synthetic_246.h5
 *
 * (defaults: --lambda 0.08 --density 0.3 --tortuosity 1.2).
 *
 * The recipe, version 1 (changing any step changes every file, so bump the
 * version in the description when you do):
 *
 * 1. Random numbers: xoshiro256** seeded through splitmix64 from the seed;
 *    a uniform double in [0, 1) is the top 53 bits times 2^-53.
 * 2. Centres: region i (0-based) has the Brainnetome-style id i + 1; odd ids
 *    (even i) are in the left hemisphere (x < 0, hemispheres[i] = 0), even
 *    ids in the right (x > 0, 1), labelled "L_001", "R_002", ... Each centre
 *    is drawn uniformly inside its half of an ellipsoid with semi-axes
 *    70 x 100 x 60 mm (x left-right, y back-front, z down-up) by rejection:
 *    three uniforms u, x = +-70 (1 - u0), y = 100 (2 u1 - 1), z = 60 (2 u2 - 1).
 * 3. Edges, undirected (weights[i,j] == weights[j,i]; connectomes from
 *    tractography are symmetric too): for each pair i < j in row-major
 *    order, with d the Euclidean distance and e = exp(-lambda d), draw a
 *    uniform u and link the pair if u < min(1, s e). The scale s is solved
 *    exactly from the realized distances so that the expected number of
 *    links is density x n (n - 1) / 2 (the fraction of directed edges is
 *    then `density` on average). A linked pair gets the weight
 *    e x exp(0.5 z), z standard normal (Marsaglia's polar method, drawn
 *    right after u): the distance rule with lognormal(0, 0.5) jitter.
 * 4. Weights are divided by their maximum (so the largest is 1.0);
 *    tract_lengths[i,j] = tortuosity x d for every pair, linked or not (as
 *    in TVB's files); the diagonal is zero.
 *
 * Bit-identical on every machine: only +, -, *, /, sqrt (all correctly
 * rounded in IEEE 754) and exact scalings are used; exp and log are the
 * local exp_det/log_det below rather than libm's, whose last bits differ
 * between systems; contraction into fused multiply-adds is switched off
 * here (a build with -ffast-math, or clang with -ffp-contract=fast,
 * overrides that). This assumes double arithmetic is done in double
 * (FLT_EVAL_METHOD == 0: every x86-64, ARM64 or POWER compiler; not x87). */

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define GENERATOR_VERSION 1
#define SEMI_AXIS_X 70.0
#define SEMI_AXIS_Y 100.0
#define SEMI_AXIS_Z 60.0
#define JITTER_SIGMA 0.5
#define MAX_REGIONS 10000

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static rng rng_seeded(uint64_t seed)
{
    rng r;
    for (int i = 0; i < 4; i++)
        r.s[i] = splitmix64(&seed);
    return r;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna 2018). */
static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double rng_uniform(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^11. */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

/* exp(x) to about 1 ulp, for the arguments used here (|x| < 700):
 * x = k ln2 + r with |r| <= ln2 / 2, then a Taylor series for exp(r). */
static double exp_det(double x)
{
    if (x < -700.0)
        return 0.0;
    double k = floor(x / 0.69314718055994530942 + 0.5);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double term = 1.0, sum = 1.0;
    for (int i = 1; i <= 17; i++) {
        term = term * r / (double)i;
        sum = sum + term;
    }
    return ldexp(sum, (int)k);
}

/* log(x) for x > 0: x = 2^e m with m in [sqrt(1/2), sqrt(2)), then
 * log(m) = 2 atanh(f), f = (m - 1) / (m + 1), |f| < 0.172. */
static double log_det(double x)
{
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m = m * 2.0;
        e = e - 1;
    }
    double f = (m - 1.0) / (m + 1.0);
    double f2 = f * f, power = f, sum = 0.0;
    for (int i = 1; i <= 41; i += 2) {
        sum = sum + power / (double)i;
        power = power * f2;
    }
    return ((double)e * LN2_LO + 2.0 * sum) + (double)e * LN2_HI;
}

/* Standard normal by Marsaglia's polar method (needs log and sqrt only). */
static double rng_normal(rng *r)
{
    for (;;) {
        double u = 2.0 * rng_uniform(r) - 1.0;
        double v = 2.0 * rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * log_det(s) / s);
    }
}

void tb_connectome_recipe_defaults(tb_connectome_recipe *r)
{
    if (!r)
        return;
    r->n = 246;
    r->seed = 0;
    r->lambda_per_mm = 0.08;
    r->density = 0.3;
    r->tortuosity = 1.2;
}

static tb_status check_recipe(const tb_connectome_recipe *r, tb_error *err)
{
    if (!r)
        return tb_error_set(err, TB_ERR_SCENARIO, "connectome generator: no recipe (NULL)");
    if (r->n < 2 || r->n > MAX_REGIONS)
        return tb_error_set(err, TB_ERR_SCENARIO, "connectome generator: regions = %zu, expected 2 to %d", r->n,
                            MAX_REGIONS);
    if (!(r->lambda_per_mm >= 0.0 && r->lambda_per_mm <= 10.0))
        return tb_error_set(err, TB_ERR_SCENARIO, "connectome generator: lambda = %g /mm, expected 0 to 10",
                            r->lambda_per_mm);
    if (!(r->density > 0.0 && r->density <= 1.0))
        return tb_error_set(err, TB_ERR_SCENARIO, "connectome generator: density = %g, expected (0, 1]",
                            r->density);
    if (!(r->tortuosity >= 1.0 && r->tortuosity <= 10.0))
        return tb_error_set(err, TB_ERR_SCENARIO, "connectome generator: tortuosity = %g, expected 1 to 10",
                            r->tortuosity);
    return TB_OK;
}

static void place_centres(tb_connectome *c, rng *r)
{
    const double a = SEMI_AXIS_X, b = SEMI_AXIS_Y, h = SEMI_AXIS_Z;
    for (size_t i = 0; i < c->n; i++) {
        double side = i % 2 == 0 ? -1.0 : 1.0;
        double x, y, z;
        do {
            x = side * a * (1.0 - rng_uniform(r));
            y = b * (2.0 * rng_uniform(r) - 1.0);
            z = h * (2.0 * rng_uniform(r) - 1.0);
        } while ((x / a) * (x / a) + (y / b) * (y / b) + (z / h) * (z / h) > 1.0);
        c->centres[3 * i] = x;
        c->centres[3 * i + 1] = y;
        c->centres[3 * i + 2] = z;
        c->hemispheres[i] = i % 2 == 0 ? 0 : 1;
    }
}

static tb_status name_regions(tb_connectome *c)
{
    for (size_t i = 0; i < c->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%c_%03zu", c->hemispheres[i] ? 'R' : 'L', i + 1);
        if (!(c->labels[i] = strdup(name)))
            return TB_ERR_OTHER;
    }
    return TB_OK;
}

/* Euclidean distances into tract_lengths (scaled by tortuosity later). */
static void measure_distances(tb_connectome *c)
{
    size_t n = c->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dx = c->centres[3 * i] - c->centres[3 * j];
            double dy = c->centres[3 * i + 1] - c->centres[3 * j + 1];
            double dz = c->centres[3 * i + 2] - c->centres[3 * j + 2];
            double d = sqrt(dx * dx + dy * dy + dz * dz);
            c->tract_lengths[i * n + j] = d;
            c->tract_lengths[j * n + i] = d;
        }
}

static int descending(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a < b) - (a > b);
}

/* The s with sum over pairs of min(1, s e) == target. With e sorted
 * descending, suppose the first k are capped at 1: then s = (target - k) /
 * (sum of the rest); the first k that leaves e[k] uncapped is the answer
 * (each step it fails, s only grows, so the capped ones stay capped).
 * Equal values sort the same on any qsort, so the sums do too. */
static double solve_scale(double *e, size_t pairs, double target)
{
    if (target >= (double)pairs)
        return INFINITY;
    qsort(e, pairs, sizeof *e, descending);
    double rest = 0.0;
    for (size_t k = pairs; k-- > 0;)
        rest = rest + e[k];
    for (size_t k = 0; k < pairs; k++) {
        if (rest <= 0.0)
            return INFINITY;
        double s = (target - (double)k) / rest;
        if (s * e[k] <= 1.0)
            return s;
        rest = rest - e[k];
    }
    return INFINITY;
}

static tb_status scale_for_density(const tb_connectome *c, double lambda, double density, double *scale)
{
    size_t n = c->n, pairs = n * (n - 1) / 2, k = 0;
    double *e = malloc(pairs * sizeof *e);
    if (!e)
        return TB_ERR_OTHER;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            e[k++] = exp_det(-lambda * c->tract_lengths[i * n + j]);
    *scale = solve_scale(e, pairs, density * (double)pairs);
    free(e);
    return TB_OK;
}

static void draw_edges(tb_connectome *c, rng *r, double lambda, double scale)
{
    size_t n = c->n;
    double max = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double e = exp_det(-lambda * c->tract_lengths[i * n + j]);
            double p = scale * e < 1.0 ? scale * e : 1.0;
            if (!(rng_uniform(r) < p))
                continue;
            double w = e * exp_det(JITTER_SIGMA * rng_normal(r));
            c->weights[i * n + j] = w;
            c->weights[j * n + i] = w;
            if (w > max)
                max = w;
        }
    for (size_t k = 0; max > 0.0 && k < n * n; k++)
        c->weights[k] = c->weights[k] / max;
}

static void scale_lengths(tb_connectome *c, double tortuosity)
{
    for (size_t k = 0; k < c->n * c->n; k++)
        c->tract_lengths[k] = tortuosity * c->tract_lengths[k];
}

/* The shortest text that reads back as the same double, so the
 * description's command reproduces the file exactly. */
static void format_exact(char *buf, size_t size, double v)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static char *describe(const tb_connectome_recipe *r, double scale, const tb_connectome *c)
{
    char lambda[32], density[32], tortuosity[32];
    format_exact(lambda, sizeof lambda, r->lambda_per_mm);
    format_exact(density, sizeof density, r->density);
    format_exact(tortuosity, sizeof tortuosity, r->tortuosity);
    const char *fmt =
        "SYNTHETIC connectome, not measured data: made by twinbrain's generator, version %d, with "
        "`twinbrain connectome generate --regions %zu --seed %llu --lambda %s --density %s --tortuosity %s`. "
        "%zu region centres drawn uniformly in two half-ellipsoids (semi-axes %g x %g x %g mm): the left "
        "hemisphere (x < 0) holds the odd Brainnetome-style ids (L_001, L_003, ...), the right (x > 0) the even "
        "ids (R_002, R_004, ...). Undirected edges by the exponential distance rule (Ercsey-Ravasz et al. 2013): "
        "a pair (i, j) is linked with probability min(1, s exp(-lambda d_ij)), lambda = %s /mm, s = %.6g set for "
        "an expected density of %s (realized %.4f: %zu directed edges). Weights are symmetric, "
        "exp(-lambda d) x lognormal(0, %g), scaled to a maximum of 1. tract_lengths = %s x Euclidean distance "
        "(mm) for every pair. Seed %llu; random numbers from xoshiro256** seeded through splitmix64.";
    size_t edges = tb_connectome_edges(c);
    unsigned long long seed = (unsigned long long)r->seed;
#define DESCRIBE_ARGS                                                                                             \
    fmt, GENERATOR_VERSION, r->n, seed, lambda, density, tortuosity, r->n, SEMI_AXIS_X, SEMI_AXIS_Y, SEMI_AXIS_Z, \
        lambda, scale, density, tb_connectome_density(c), edges, JITTER_SIGMA, tortuosity, seed
    int len = snprintf(NULL, 0, DESCRIBE_ARGS);
    char *text = len < 0 ? NULL : malloc((size_t)len + 1);
    if (text)
        snprintf(text, (size_t)len + 1, DESCRIBE_ARGS);
#undef DESCRIBE_ARGS
    return text;
}

static tb_status generate(const tb_connectome_recipe *r, tb_connectome **out, tb_error *err)
{
    tb_connectome *c = tb_connectome_new(r->n);
    bool ok = c && (c->centres = malloc(r->n * 3 * sizeof *c->centres)) && (c->hemispheres = malloc(r->n));
    rng g = rng_seeded(r->seed);
    double scale = 0.0;
    if (ok) {
        place_centres(c, &g);
        measure_distances(c);
        ok = name_regions(c) == TB_OK && scale_for_density(c, r->lambda_per_mm, r->density, &scale) == TB_OK;
    }
    if (ok) {
        draw_edges(c, &g, r->lambda_per_mm, scale);
        scale_lengths(c, r->tortuosity);
        ok = (c->weights_unit = strdup("normalised (max 1)")) != NULL &&
             (c->description = describe(r, scale, c)) != NULL;
    }
    if (!ok) {
        tb_connectome_free(c);
        return tb_error_set(err, TB_ERR_OTHER, "connectome generator: out of memory for %zu regions", r->n);
    }
    *out = c;
    return TB_OK;
}

tb_status tb_connectome_generate(const tb_connectome_recipe *r, tb_connectome **out, tb_error *err)
{
    if (!out)
        return tb_error_set(err, TB_ERR_OTHER, "connectome generator: no place to return it (NULL)");
    *out = NULL;
    tb_status s = check_recipe(r, err);
    return s == TB_OK ? generate(r, out, err) : s;
}
