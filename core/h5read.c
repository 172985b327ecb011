#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5read.h"
#include "h5util.h"
#include "util.h"

/* A chunked dataset's shape may be far larger than its file (chunks never
 * written read as the fill value), so a small file can claim more values
 * than size_t can count: its byte count would wrap and the read overrun
 * the buffer. */
static tb_status check_size(const char *path, const char *dataset, const hsize_t hd[2], int rank, tb_error *err)
{
    hsize_t cols = rank == 2 ? hd[1] : 1;
    if (cols && hd[0] > SIZE_MAX / sizeof(double) / cols)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s holds %llu x %llu values, more than memory can hold", path,
                            dataset, (unsigned long long)hd[0], (unsigned long long)cols);
    return TB_OK;
}

tb_status tb_h5_read_doubles(const char *path, const char *dataset, double **data, size_t dims[2], int *rank,
                             tb_error *err)
{
    *data = NULL;
    if (!tb_file_exists(path))
        return tb_error_set(err, TB_ERR_INPUT, "%s: no such file", path);
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status st = TB_OK;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, dataset, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hid_t t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    hsize_t hd[2] = {1, 1};
    int r = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    if (f < 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: not an HDF5 file (or not readable)", path);
    else if (d < 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no dataset %s", path, dataset);
    else if (r != 1 && r != 2)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s has rank %d; expected 1 or 2", path, dataset, r);
    else if (H5Tget_class(t) != H5T_INTEGER && H5Tget_class(t) != H5T_FLOAT)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s is not numeric", path, dataset);
    if (st == TB_OK) {
        H5Sget_simple_extent_dims(s, hd, NULL);
        st = check_size(path, dataset, hd, r, err);
    }
    if (st == TB_OK) {
        size_t n = (size_t)hd[0] * (r == 2 ? (size_t)hd[1] : 1);
        *data = malloc((n ? n : 1) * sizeof **data);
        if (!*data)
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory reading %s:%s", path, dataset);
        else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: cannot read %s: %s", path, dataset, tb_h5_reason_take().text);
        for (size_t i = 0; st == TB_OK && i < n; ++i)
            if (!isfinite((*data)[i]))
                st = tb_error_set(err, TB_ERR_INPUT, "%s: %s holds a non-finite value at flat index %zu", path,
                                  dataset, i);
        if (st != TB_OK) {
            free(*data);
            *data = NULL;
        }
    }
    dims[0] = (size_t)hd[0];
    dims[1] = r == 2 ? (size_t)hd[1] : 1;
    *rank = r;
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    return st;
}

static char **read_strings(hid_t d, hid_t s, size_t n)
{
    char **out = NULL;
    hid_t mt = tb_h5_utf8_type();
    char **raw = calloc(n ? n : 1, sizeof *raw);
    if (mt >= 0 && raw && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0) {
        out = calloc(n + 1, sizeof *out);
        for (size_t i = 0; out && i < n; ++i)
            out[i] = tb_strdup(raw[i] ? raw[i] : "");
        tb_h5_reclaim(mt, s, raw);
    }
    free(raw);
    if (mt >= 0)
        H5Tclose(mt);
    return out;
}

/* The size of the file that holds dataset d (0 when unknown). */
static hsize_t file_bytes(hid_t d)
{
    hsize_t size = 0;
    hid_t f = H5Iget_file_id(d);
    if (f >= 0 && H5Fget_filesize(f, &size) < 0)
        size = 0;
    if (f >= 0)
        H5Fclose(f);
    return size;
}

static tb_status labels_from(hid_t d, const char *path, const char *dataset, size_t n, const char *items,
                             char ***labels, tb_error *err)
{
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    hsize_t len = 0;
    if (rank == 1)
        H5Sget_simple_extent_dims(s, &len, NULL);
    tb_status st = TB_OK;
    if (t < 0 || H5Tget_class(t) != H5T_STRING)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s must hold strings (labels)", path, dataset);
    else if (rank != 1)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s must be a list of labels, not an array of rank %d (%s: one "
                          "label each)", path, dataset, rank, items);
    else if (len != n)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s holds %llu labels, but %s: one label each", path, dataset,
                          (unsigned long long)len, items);
    else if (n > file_bytes(d))
        /* a dataspace may claim any length without storage behind it:
         * every stored label takes at least a byte of the file */
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s claims %llu labels, more than the file's %llu bytes can hold",
                          path, dataset, (unsigned long long)n, (unsigned long long)file_bytes(d));
    else if (!(*labels = read_strings(d, s, n)))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: cannot read %s: %s", path, dataset, tb_h5_reason_take().text);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    return st;
}

tb_status tb_h5_read_labels(const char *path, const char *dataset, size_t n, const char *items, char ***labels,
                            tb_error *err)
{
    *labels = NULL;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status st = TB_OK;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 && H5Lexists(f, dataset, H5P_DEFAULT) > 0 ? H5Dopen2(f, dataset, H5P_DEFAULT) : -1;
    if (f < 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: not an HDF5 file (or not readable)", path);
    else if (d >= 0)
        st = labels_from(d, path, dataset, n, items, labels, err);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    return st;
}

tb_status tb_h5_read_attr_string(const char *path, const char *object, const char *name, char **value,
                                 tb_error *err)
{
    *value = NULL;
    if (!tb_file_exists(path))
        return tb_error_set(err, TB_ERR_INPUT, "%s: no such file", path);
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    tb_status st = f < 0 ? tb_error_set(err, TB_ERR_INPUT, "%s: not an HDF5 file (or not readable)", path) : TB_OK;
    bool has = f >= 0 && H5Lexists(f, object, H5P_DEFAULT) > 0 && H5Aexists_by_name(f, object, name, H5P_DEFAULT) > 0;
    hid_t a = has ? H5Aopen_by_name(f, object, name, H5P_DEFAULT, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t t = a >= 0 ? tb_h5_utf8_type() : H5I_INVALID_HID;
    char *v = NULL;
    if (a >= 0 && t >= 0 && H5Aread(a, t, &v) >= 0 && v) {
        *value = tb_strdup(v);
        H5free_memory(v);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    return st;
}
