/* Small HDF5 helpers shared by the output file and the connectome reader
 * and writer (internal; not installed). */
#ifndef TWINBRAIN_H5UTIL_H
#define TWINBRAIN_H5UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

/* HDF5 prints its error stack to stderr by default; twinbrain reports
 * through tb_error instead. The previous handler is restored afterwards so
 * that a program embedding twinbrain keeps its own HDF5 settings. */
typedef struct tb_h5_quiet {
    H5E_auto2_t func;
    void *data;
} tb_h5_quiet;

static inline tb_h5_quiet tb_h5_quiet_begin(void)
{
    tb_h5_quiet q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

static inline void tb_h5_quiet_end(tb_h5_quiet q)
{
    H5Eset_auto2(H5E_DEFAULT, q.func, q.data);
}

typedef struct tb_h5_reason {
    char text[256];
} tb_h5_reason;

static inline herr_t tb_h5_innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    tb_h5_reason *r = data;
    if (n == 0 && e->desc)
        snprintf(r->text, sizeof r->text, "%s", e->desc);
    return 0;
}

/* The description HDF5 gave where the last error was detected (the most
 * specific one), or "" when there is none; clears the stack. */
static inline tb_h5_reason tb_h5_reason_take(void)
{
    tb_h5_reason r = {""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, tb_h5_innermost_cb, &r);
    H5Eclear2(H5E_DEFAULT);
    return r;
}

/* Variable-length UTF-8 strings: what h5py reads back as str. */
static inline hid_t tb_h5_utf8_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Scalar attributes, the ones every writer of a small file needs: text as
 * variable-length UTF-8 (NULL writes ""), numbers as little-endian 64-bit.
 * False when HDF5 refused (the caller says what it was writing). */
static inline bool tb_h5_attr_scalar(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = s >= 0 && file_type >= 0 ? H5Acreate2(obj, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT)
                                       : H5I_INVALID_HID;
    bool ok = a >= 0 && H5Awrite(a, mem_type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (s >= 0)
        H5Sclose(s);
    return ok;
}

static inline bool tb_h5_attr_text(hid_t obj, const char *name, const char *value)
{
    hid_t t = tb_h5_utf8_type();
    const char *v = value ? value : "";
    bool ok = tb_h5_attr_scalar(obj, name, t, t, &v);
    if (t >= 0)
        H5Tclose(t);
    return ok;
}

static inline bool tb_h5_attr_f64(hid_t obj, const char *name, double value)
{
    return tb_h5_attr_scalar(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

static inline bool tb_h5_attr_i64(hid_t obj, const char *name, long long value)
{
    return tb_h5_attr_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &value);
}

/* Free what HDF5 allocated when it read variable-length data. */
static inline herr_t tb_h5_reclaim(hid_t type, hid_t space, void *buf)
{
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

/* Why a file cannot be created at `path`, in words a user can act on
 * (HDF5's own text names flags and errno numbers): "folder X: No such
 * file or directory", "X is not a folder"... Returns false when no plain reason is found. */
static inline bool tb_create_problem(const char *path, char *buf, size_t size)
{
    char *dir = strdup(path);
    if (!dir)
        return false;
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    bool found = true;
    if (stat(dir, &st) != 0)
        snprintf(buf, size, "folder %s: %s", dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        snprintf(buf, size, "%s is not a folder", dir);
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(buf, size, "it is a folder");
    else if (access(dir, W_OK) != 0)
        snprintf(buf, size, "folder %s: %s", dir, strerror(errno));
    else
        found = false;
    free(dir);
    return found;
}

/* Open an HDF5 file to read, whether it was closed or its writer died
 * while it was live (SWMR): as a SWMR reader first, then plainly. */
static inline hid_t tb_h5_open_read(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (f < 0)
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    return f;
}

#endif
