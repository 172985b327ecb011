/* The HDF5 output file: layout in DESIGN.md section 6, lifecycle in
 * include/twinbrain/output.h, where it is written in docs/formats.md (an
 * existing file is replaced by a rename at the close, never written).
 *
 * Writes go through twinbrain's own HDF5 driver (h5driver.h), so a write
 * the file system refuses leaves the file as it was after the last good
 * append and HDF5 can still close it.
 *
 * Durability model: the file is created with the newest file-format bounds
 * so that tb_output_go_live() can switch it to single-writer/multiple-reader
 * (SWMR) mode. In SWMR mode HDF5 orders its metadata writes so that a reader
 * (or a crash) never sees a half-updated structure; every append is flushed,
 * so a process killed right after an append leaves every appended row on
 * disk. Such a file still carries the "open for writing" mark in its
 * superblock: h5py reads it with File(path, "r", swmr=True), and
 * `h5clear -s --increment=0 FILE` makes it an ordinary file again (plain
 * `h5clear -s` would cut it to the size the superblock last recorded). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "twinbrain/output.h"

#include "h5driver.h"
#include "output_remote.h"
#include "h5util.h"
#include "util.h"

/* A chunk near 1 MiB compresses well and fits HDF5's default chunk cache,
 * so a partly filled chunk stays cached between appends instead of being
 * read back and decompressed each time. */
#define CHUNK_TARGET_BYTES ((uint64_t)1 << 20)
#define DEFLATE_LEVEL 4
/* HDF5 cannot store a chunk of 4 GiB or more. */
#define CHUNK_MAX_BYTES ((uint64_t)UINT32_MAX)

struct tb_dataset {
    tb_output *owner;
    hid_t id;
    tb_dtype type;
    int rank;
    hsize_t dims[H5S_MAX_RANK]; /* dims[0] = rows written so far */
    size_t row_bytes;
    char *path;
    /* In a part of a shared output (tb_output_part): the dataset of the
     * whole file this one writes into, at instance columns [col0, col0 +
     * cols) when instance_axis, and the rows this part has written. */
    tb_dataset *shared;
    bool instance_axis;
    uint64_t col0, cols, cursor;
};

struct tb_output {
    char *path;
    /* The file HDF5 writes: `path` itself when nothing was there, else a
     * temporary beside the existing file that replaces `target` (path
     * with its links resolved) at the close (docs/formats.md). */
    char *writing;
    char *target;
    bool created; /* by tb_output_create: `writing` is ours to remove (tb_output_discard) */
    /* A new file is written under a temporary name until it goes live,
     * then linked to `path`: the name never shows a file HDF5 cannot open
     * yet, whenever the run is killed (docs/formats.md). */
    bool link_at_live;
    hid_t file;
    bool live;
    /* Set by a failed append or flush: the file's state is then unknown,
     * so later writes are refused with this reason instead of piling new
     * HDF5 errors on top of the first one. */
    char *broken;
    bool refused; /* ... because the file system refused a write (h5driver.h) */
    tb_dataset **datasets;
    size_t n_datasets;
    size_t cap_datasets;
    double busy; /* seconds spent appending and flushing */
    /* A part (tb_output_part): the whole file, and the instances this
     * part holds; only the primary part writes what all parts share. */
    tb_output *base;
    uint64_t first, count, total;
    bool primary;
    /* A remote output (output_remote.h): no file; its datasets' shapes and
     * rows go to the sink, which ships them to the process that writes. */
    tb_output_sink sink;
    bool remote;
};

/* ------------------------------------------------------------ HDF5 errors */

/* "FILE: OBJECT: what (HDF5: reason)". A write the file system refused
 * (disk full, quota, file size limit: the driver saw an errno) is
 * TB_ERR_INPUT, like any file the run cannot use; every other output
 * problem is TB_ERR_OTHER. */
static tb_status fail_because(const char *file, const char *obj, tb_error *err, const char *what, tb_h5_reason r)
{
    const char *f = file ? file : "(output)", *o = obj ? obj : "", *sep = obj ? ": " : "";
    int e = tb_h5_driver_take_errno();
    if (e)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s%s%s: %s", f, o, sep, what, strerror(e));
    return tb_error_set(err, TB_ERR_OTHER, "%s: %s%s%s%s%s%s", f, o, sep, what, r.text[0] ? " (HDF5: " : "",
                        r.text, r.text[0] ? ")" : "");
}

static tb_status fail_at(const char *file, const char *obj, tb_error *err, const char *what)
{
    return fail_because(file, obj, err, what, tb_h5_reason_take());
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static tb_status fail(const tb_output *o, const char *obj, tb_error *err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail_at(o ? o->path : NULL, obj, err, what);
}

/* ------------------------------------------------------------ types */

static size_t dtype_size(tb_dtype t)
{
    switch (t) {
    case TB_F32: return 4;
    case TB_F64: return 8;
    case TB_I32: return 4;
    case TB_I64: return 8;
    case TB_U8: return 1;
    case TB_U64: return 8;
    }
    return 0;
}

/* The file always holds little-endian IEEE/two's-complement types, whatever
 * the writing machine, so its types do not depend on where it was made. */
static hid_t file_type(tb_dtype t)
{
    switch (t) {
    case TB_F32: return H5T_IEEE_F32LE;
    case TB_F64: return H5T_IEEE_F64LE;
    case TB_I32: return H5T_STD_I32LE;
    case TB_I64: return H5T_STD_I64LE;
    case TB_U8: return H5T_STD_U8LE;
    case TB_U64: return H5T_STD_U64LE;
    }
    return H5I_INVALID_HID;
}

static hid_t mem_type(tb_dtype t)
{
    switch (t) {
    case TB_F32: return H5T_NATIVE_FLOAT;
    case TB_F64: return H5T_NATIVE_DOUBLE;
    case TB_I32: return H5T_NATIVE_INT32;
    case TB_I64: return H5T_NATIVE_INT64;
    case TB_U8: return H5T_NATIVE_UINT8;
    case TB_U64: return H5T_NATIVE_UINT64;
    }
    return H5I_INVALID_HID;
}

/* HDF5 has no NULL string; write "" instead. */
static const char **strings_or_empty(const char *const *values, size_t n)
{
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = values && values[i] ? values[i] : "";
    return v;
}

/* ------------------------------------------------------------ paths */

static hid_t intermediate_lcpl(void)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        H5Pclose(lcpl);
        return H5I_INVALID_HID;
    }
    return lcpl;
}

static bool is_root(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, ".") == 0;
}

static bool is_group(hid_t file, const char *path)
{
    hid_t id = H5Oopen(file, path, H5P_DEFAULT);
    bool group = id >= 0 && H5Iget_type(id) == H5I_GROUP;
    if (id >= 0)
        H5Oclose(id);
    return group;
}

/* Whether the whole of `path` exists. Each prefix ("/a", "/a/b", ...) is
 * checked in turn because H5Lexists fails, rather than answering "no",
 * below a missing link. When an existing prefix is not a group, it is
 * returned in *blocker (to be freed): HDF5's own reason for failing below
 * a dataset is cryptic. */
static bool path_probe(hid_t file, const char *path, char **blocker)
{
    *blocker = NULL;
    char *p = strdup(path);
    if (!p)
        return false;
    bool exists = true;
    for (char *s = p + 1; exists; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (s > p + 1 || p[0] != '/') {
            exists = H5Lexists(file, p, H5P_DEFAULT) > 0;
            if (exists && c != '\0' && !is_group(file, p)) {
                *blocker = strdup(p);
                exists = false;
            }
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return exists;
}

/* A failed creation: name a parent that is not a group if there is one,
 * else give HDF5's reason. */
static tb_status create_failed_at(const tb_output *o, const char *path, tb_error *err, const char *what)
{
    tb_h5_reason r = tb_h5_reason_take(); /* before probing, which clears the stack */
    char *blocker = NULL;
    path_probe(o->file, path, &blocker);
    tb_status s;
    if (blocker)
        s = fail(o, path, err, "%s: %s is a dataset, not a group", what, blocker);
    else
        s = fail_because(o->path, path, err, what, r);
    free(blocker);
    return s;
}

/* Open the group or dataset at `obj`, creating it (and its parents) as a
 * group when it does not exist yet. */
static hid_t object_open(tb_output *o, const char *obj, tb_error *err)
{
    char *blocker = NULL;
    if (is_root(obj) || path_probe(o->file, obj, &blocker)) {
        hid_t id = H5Oopen(o->file, obj, H5P_DEFAULT);
        if (id < 0)
            fail(o, obj, err, "cannot open the object");
        return id;
    }
    free(blocker);
    if (o->live) {
        fail(o, obj, err, "cannot create a group after the file went live (SWMR)");
        return H5I_INVALID_HID;
    }
    hid_t lcpl = intermediate_lcpl();
    hid_t id = lcpl < 0 ? H5I_INVALID_HID : H5Gcreate2(o->file, obj, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (id < 0)
        create_failed_at(o, obj, err, "cannot create the group");
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return id;
}

/* ------------------------------------------------------------ checks */

static tb_status check_writable(const tb_output *o, const char *obj, tb_error *err)
{
    if (!o)
        return tb_error_set(err, TB_ERR_OTHER, "output: no output file (NULL)");
    if (o->file < 0 && !o->remote)
        return fail(o, obj, err, "the file is closed");
    if (o->broken)
        return fail(o, obj, err, "the file is unusable after an earlier error: %s", o->broken);
    if (!obj || !obj[0])
        return fail(o, NULL, err, "empty object path");
    return TB_OK;
}

static tb_status check_creatable(const tb_output *o, const char *obj, tb_error *err)
{
    tb_status s = check_writable(o, obj, err);
    if (s != TB_OK)
        return s;
    if (o->live)
        return fail(o, obj, err, "cannot create objects or attributes after the file went live (SWMR)");
    return TB_OK;
}

static void mark_broken(tb_output *o, const tb_error *err)
{
    if (!o->broken)
        o->broken = strdup(err && err->message ? err->message : "write error");
    if (err && err->status == TB_ERR_INPUT)
        o->refused = true;
}

/* ------------------------------------------------------------ create */

static hid_t make_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    /* SWMR needs the 1.10 format (checksummed metadata, v3 superblock);
     * closing strongly makes sure no stray handle keeps the file open. */
    bool ok = H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0 &&
              H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0;
#if H5_VERSION_GE(1, 10, 7)
    /* Network file systems without flock() would otherwise refuse the file. */
    ok = ok && H5Pset_file_locking(fapl, 1, 1) >= 0;
#endif
    ok = ok && tb_h5_driver_set(fapl) >= 0;
    if (!ok) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

static void output_free(tb_output *o);
static bool close_handles(tb_output *o);
/* A dataset handle not yet open in any file; `reporter` names the file in an error. */
static tb_status dataset_new(tb_output *reporter, tb_output *owner, const char *path, tb_dtype type, int rank,
                             tb_dataset **out, tb_error *err)
{
    tb_dataset *ds = *out = calloc(1, sizeof *ds);
    if (!ds || !(ds->path = strdup(path))) {
        free(ds);
        *out = NULL;
        return fail(reporter, path, err, "out of memory");
    }
    ds->owner = owner;
    ds->id = H5I_INVALID_HID;
    ds->type = type;
    ds->rank = rank;
    return TB_OK;
}

static tb_status dataset_make(tb_output *o, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                              uint64_t chunk_rows, bool plain, tb_dataset **out, tb_error *err);
static tb_status part_dataset_create(tb_output *part, const char *path, tb_dtype type, int rank,
                                     const uint64_t *dims, uint64_t chunk_rows, tb_dataset **out, tb_error *err);
static tb_status part_append(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err);

/* Create or open with the output's access properties. HDF5's reason for
 * a failure is taken at once: closing the property list (any HDF5 call)
 * would clear it, and a failure without a reason ("cannot create the
 * output file", full stop) is what a locked file used to get. */
static hid_t open_file(const char *name, unsigned flags, bool create, tb_h5_reason *why)
{
    *why = (tb_h5_reason){""};
    hid_t fapl = make_fapl();
    hid_t file = fapl < 0 ? H5I_INVALID_HID
                 : create ? H5Fcreate(name, flags, H5P_DEFAULT, fapl)
                          : H5Fopen(name, flags, fapl);
    if (file < 0)
        *why = tb_h5_reason_take();
    if (fapl >= 0)
        H5Pclose(fapl);
    return file;
}

static tb_status create_failed(const char *path, tb_h5_reason r, tb_error *err)
{
    char why[512];
    if (tb_create_problem(path, why, sizeof why)) {
        tb_h5_driver_take_errno();
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot create the output file: %s", path, why);
    }
    return fail_because(path, NULL, err, "cannot create the output file", r);
}

/* A temporary beside `target`, made by us (so never anyone else's file),
 * with the permissions of the file it will replace. */
static tb_status make_temporary(tb_output *o, mode_t mode, tb_error *err)
{
    o->writing = tb_asprintf("%s.partial-XXXXXX", o->target);
    int fd = o->writing ? mkstemp(o->writing) : -1;
    if (fd < 0) {
        tb_status s = tb_error_set(err, TB_ERR_OTHER, "%s: cannot create a temporary file beside it: %s", o->path,
                                   strerror(errno));
        free(o->writing);
        o->writing = NULL;
        return s;
    }
    fchmod(fd, mode & 0777);
    close(fd);
    return TB_OK;
}

/* A new file's temporary name beside `path`, with the permissions a new
 * file gets (mkstemp's are 0600). False when none can be made there: the
 * file is then created at `path` itself, whose error explains why. */
static bool make_hidden(tb_output *o)
{
    o->writing = tb_asprintf("%s.partial-XXXXXX", o->path);
    int fd = o->writing ? mkstemp(o->writing) : -1;
    if (fd < 0) {
        free(o->writing);
        o->writing = NULL;
        return false;
    }
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);
    o->link_at_live = true;
    return true;
}

/* The live file takes its name: linked, so that a file that appeared
 * there meanwhile is never replaced; renamed where the file system has no
 * hard links. */
static tb_status take_name(tb_output *o, tb_error *err)
{
    if (!o->link_at_live)
        return TB_OK;
    struct stat st;
    bool linked = link(o->writing, o->path) == 0 ||
                  (errno != EEXIST && stat(o->path, &st) != 0 && rename(o->writing, o->path) == 0);
    if (!linked)
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot give the new output file its name (%s); it is %s",
                            o->path, strerror(errno), o->writing);
    unlink(o->writing);
    free(o->writing);
    o->writing = strdup(o->path);
    o->link_at_live = false;
    return TB_OK;
}

/* Where the new file goes. Nothing at `path`: there, created exclusively,
 * so readers watching the name see the run grow. An existing regular
 * file: it stays whole (another program may be reading it) until the new
 * one is complete and renamed over it. Anything else is refused: renaming
 * over a device or a pipe is never what was meant. */
static tb_status choose_names(tb_output *o, unsigned *flags, tb_error *err)
{
    struct stat st;
    *flags = H5F_ACC_EXCL;
    if (stat(o->path, &st) != 0 && errno == ENOENT && make_hidden(o)) {
        *flags = H5F_ACC_TRUNC;
        return TB_OK;
    }
    if (stat(o->path, &st) != 0 || S_ISDIR(st.st_mode)) {
        o->writing = strdup(o->path); /* a folder is refused by HDF5 and explained by create_failed */
        return o->writing ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", o->path);
    }
    if (!S_ISREG(st.st_mode))
        return tb_error_set(err, TB_ERR_OTHER,
                            "%s: cannot write the output there: it exists and is not a regular file (a device, a "
                            "pipe or a socket)", o->path);
    o->target = realpath(o->path, NULL);
    if (!o->target)
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot resolve the path: %s", o->path, strerror(errno));
    *flags = H5F_ACC_TRUNC;
    return make_temporary(o, st.st_mode, err);
}

static tb_status output_create(const char *path, tb_output **out, tb_error *err)
{
    if (!out)
        return tb_error_set(err, TB_ERR_OTHER, "output: no place to return the file (NULL)");
    *out = NULL;
    if (!path || !path[0])
        return tb_error_set(err, TB_ERR_OTHER, "output: empty file name");
    tb_output *o = calloc(1, sizeof *o);
    if (o)
        o->path = strdup(path);
    if (!o || !o->path) {
        free(o);
        return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", path);
    }
    o->file = H5I_INVALID_HID;
    tb_h5_driver_take_errno();
    unsigned flags = 0;
    tb_status s = choose_names(o, &flags, err);
    tb_h5_reason why;
    if (s == TB_OK && (o->file = open_file(o->writing, flags, true, &why)) < 0)
        s = create_failed(path, why, err);
    if (s != TB_OK) {
        if ((o->target || o->link_at_live) && o->writing)
            unlink(o->writing);
        output_free(o);
        return s;
    }
    o->created = true;
    *out = o;
    return TB_OK;
}

tb_status tb_output_create(const char *path, tb_output **out, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = output_create(path, out, err);
    tb_h5_quiet_end(q);
    return s;
}

static tb_status output_reopen(const char *path, tb_output **out, tb_error *err)
{
    *out = NULL;
    tb_output *o = calloc(1, sizeof *o);
    if (o)
        o->path = strdup(path);
    if (!o || !o->path) {
        free(o);
        return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", path);
    }
    tb_h5_reason why;
    o->file = open_file(path, H5F_ACC_RDWR, false, &why);
    if (o->file < 0) {
        tb_status s = fail_because(path, NULL, err, "cannot open the file to add to it", why);
        output_free(o);
        return s;
    }
    *out = o;
    return TB_OK;
}

tb_status tb_output_reopen(const char *path, tb_output **out, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = output_reopen(path, out, err);
    tb_h5_quiet_end(q);
    return s;
}

const char *tb_output_path(const tb_output *o)
{
    return o ? (o->base ? o->base->path : o->path) : NULL;
}

double tb_output_busy_seconds(const tb_output *o)
{
    return o ? (o->base ? o->base->busy : o->busy) : 0.0;
}

/* ------------------------------------------------------------ attributes */

typedef struct attr_value {
    hid_t ftype;
    hid_t mtype;
    hid_t space;
    const void *buf;
} attr_value;

static tb_status attr_write(tb_output *o, const char *obj, const char *name, attr_value v, tb_error *err)
{
    tb_status s = check_creatable(o, obj, err);
    if (s != TB_OK)
        return s;
    if (!name || !name[0])
        return fail(o, obj, err, "empty attribute name");
    if (v.ftype < 0 || v.mtype < 0 || v.space < 0)
        return fail(o, obj, err, "attribute %s: cannot describe its type", name);
    hid_t id = object_open(o, obj, err);
    if (id < 0)
        return TB_ERR_OTHER;
    /* Rewriting an attribute (a placeholder, then the final value) must
     * replace it, which HDF5 does not do by itself. */
    if (H5Aexists(id, name) > 0 && H5Adelete(id, name) < 0)
        s = fail(o, obj, err, "attribute %s: cannot replace it", name);
    hid_t a = s != TB_OK ? H5I_INVALID_HID : H5Acreate2(id, name, v.ftype, v.space, H5P_DEFAULT, H5P_DEFAULT);
    if (s == TB_OK && a < 0)
        s = fail(o, obj, err, "attribute %s: cannot create it", name);
    if (a >= 0 && H5Awrite(a, v.mtype, v.buf) < 0)
        s = fail(o, obj, err, "attribute %s: cannot write it", name);
    if (a >= 0)
        H5Aclose(a);
    H5Oclose(id);
    return s;
}

static tb_status attr_strings(tb_output *o, const char *obj, const char *name, const char *const *values,
                              size_t n, bool scalar, tb_error *err)
{
    const char **v = strings_or_empty(values, n);
    if (!v)
        return fail(o, obj, err, "attribute %s: out of memory", name ? name : "");
    hsize_t dim = n;
    hid_t t = tb_h5_utf8_type();
    hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    tb_status s = attr_write(o, obj, name, (attr_value){t, t, space, v}, err);
    if (space >= 0)
        H5Sclose(space);
    if (t >= 0)
        H5Tclose(t);
    free(v);
    return s;
}

static tb_status attr_scalar(tb_output *o, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                             const void *value, tb_error *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    tb_status s = attr_write(o, obj, name, (attr_value){ftype, mtype, space, value}, err);
    if (space >= 0)
        H5Sclose(space);
    return s;
}

tb_status tb_output_attr_string(tb_output *o, const char *obj, const char *name, const char *value,
                                tb_error *err)
{
    if (o && o->base) /* a part: what all parts share is written once */
        return o->primary ? tb_output_attr_string(o->base, obj, name, value, err) : TB_OK;
    if (o && o->remote) /* what all parts share is the writer's */
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = attr_strings(o, obj, name, &value, 1, true, err);
    tb_h5_quiet_end(q);
    return s;
}

tb_status tb_output_attr_strings(tb_output *o, const char *obj, const char *name,
                                 const char *const *values, size_t n, tb_error *err)
{
    if (o && o->base) /* a part: what all parts share is written once */
        return o->primary ? tb_output_attr_strings(o->base, obj, name, values, n, err) : TB_OK;
    if (o && o->remote) /* what all parts share is the writer's */
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = attr_strings(o, obj, name, values, n, false, err);
    tb_h5_quiet_end(q);
    return s;
}

tb_status tb_output_attr_double(tb_output *o, const char *obj, const char *name, double value,
                                tb_error *err)
{
    if (o && o->base) /* a part: what all parts share is written once */
        return o->primary ? tb_output_attr_double(o->base, obj, name, value, err) : TB_OK;
    if (o && o->remote) /* what all parts share is the writer's */
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = attr_scalar(o, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, err);
    tb_h5_quiet_end(q);
    return s;
}

tb_status tb_output_attr_int(tb_output *o, const char *obj, const char *name, int64_t value, tb_error *err)
{
    if (o && o->base) /* a part: what all parts share is written once */
        return o->primary ? tb_output_attr_int(o->base, obj, name, value, err) : TB_OK;
    if (o && o->remote) /* what all parts share is the writer's */
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = attr_scalar(o, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, err);
    tb_h5_quiet_end(q);
    return s;
}

/* ------------------------------------------------------------ fixed arrays */

static tb_status write_dataset(tb_output *o, const char *path, hid_t ftype, hid_t mtype, hid_t space,
                               const void *data, tb_error *err)
{
    if (ftype < 0 || mtype < 0 || space < 0)
        return fail(o, path, err, "cannot describe the dataset's type or shape");
    hid_t lcpl = intermediate_lcpl();
    hid_t d = lcpl < 0 ? H5I_INVALID_HID : H5Dcreate2(o->file, path, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    tb_status s = TB_OK;
    if (d < 0)
        s = create_failed_at(o, path, err, "cannot create the dataset");
    else if (H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        s = fail(o, path, err, "cannot write the dataset");
    if (d >= 0 && H5Dclose(d) < 0 && s == TB_OK)
        s = fail(o, path, err, "cannot close the dataset");
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return s;
}

/* Elements in a shape, or 0 with *overflow set when it does not fit. */
static uint64_t element_count(int rank, const uint64_t *dims, bool *overflow)
{
    uint64_t n = 1;
    *overflow = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] != 0 && n > UINT64_MAX / dims[i])
            *overflow = true;
        n *= dims[i];
    }
    return *overflow ? 0 : n;
}

static tb_status write_array(tb_output *o, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                             const void *data, tb_error *err)
{
    tb_status s = check_creatable(o, path, err);
    if (s != TB_OK)
        return s;
    if (dtype_size(type) == 0)
        return fail(o, path, err, "unknown element type %d", (int)type);
    if (rank < 0 || rank > H5S_MAX_RANK || (rank > 0 && !dims))
        return fail(o, path, err, "invalid rank %d", rank);
    bool overflow;
    uint64_t n = element_count(rank, dims, &overflow);
    if (overflow)
        return fail(o, path, err, "the array is too large");
    if (n > 0 && !data)
        return fail(o, path, err, "no data (NULL)");
    hsize_t hd[H5S_MAX_RANK];
    for (int i = 0; i < rank; i++)
        hd[i] = dims[i];
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hd, NULL);
    s = write_dataset(o, path, file_type(type), mem_type(type), space, data, err);
    if (space >= 0)
        H5Sclose(space);
    return s;
}

tb_status tb_output_write_array(tb_output *o, const char *path, tb_dtype type, int rank,
                                const uint64_t *dims, const void *data, tb_error *err)
{
    if (o && o->base) /* a part: what all parts share is written once */
        return o->primary ? tb_output_write_array(o->base, path, type, rank, dims, data, err) : TB_OK;
    if (o && o->remote) /* what all parts share is the writer's */
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = write_array(o, path, type, rank, dims, data, err);
    tb_h5_quiet_end(q);
    return s;
}

static tb_status write_strings(tb_output *o, const char *path, const char *const *values, size_t n,
                               tb_error *err)
{
    tb_status s = check_creatable(o, path, err);
    if (s != TB_OK)
        return s;
    const char **v = strings_or_empty(values, n);
    if (!v)
        return fail(o, path, err, "out of memory");
    hsize_t dim = n;
    hid_t t = tb_h5_utf8_type();
    hid_t space = H5Screate_simple(1, &dim, NULL);
    s = write_dataset(o, path, t, t, space, v, err);
    if (space >= 0)
        H5Sclose(space);
    if (t >= 0)
        H5Tclose(t);
    free(v);
    return s;
}

tb_status tb_output_write_strings(tb_output *o, const char *path, const char *const *values, size_t n,
                                  tb_error *err)
{
    if (o && o->base) /* a part: what all parts share is written once */
        return o->primary ? tb_output_write_strings(o->base, path, values, n, err) : TB_OK;
    if (o && o->remote) /* what all parts share is the writer's */
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = write_strings(o, path, values, n, err);
    tb_h5_quiet_end(q);
    return s;
}

/* ------------------------------------------------------------ extendible datasets */

/* Rows per chunk: as asked, but no more than fit in CHUNK_TARGET_BYTES, and
 * at least one. */
static uint64_t chunk_rows_for(uint64_t asked, size_t row_bytes)
{
    uint64_t fit = CHUNK_TARGET_BYTES / row_bytes;
    if (fit == 0)
        fit = 1;
    if (asked == 0 || asked > fit)
        return fit;
    return asked;
}

static hid_t extendible_dcpl(int rank, const hsize_t *dims, uint64_t rows, bool plain)
{
    hsize_t chunk[H5S_MAX_RANK];
    chunk[0] = rows;
    for (int i = 1; i < rank; i++)
        chunk[i] = dims[i];
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return H5I_INVALID_HID;
    if (H5Pset_chunk(dcpl, rank, chunk) < 0 || (!plain && (H5Pset_shuffle(dcpl) < 0 ||
                                                            H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0))) {
        H5Pclose(dcpl);
        return H5I_INVALID_HID;
    }
    return dcpl;
}

static tb_status remember_dataset(tb_output *o, tb_dataset *ds, tb_error *err)
{
    if (o->n_datasets == o->cap_datasets) {
        size_t cap = o->cap_datasets ? 2 * o->cap_datasets : 8;
        tb_dataset **list = realloc(o->datasets, cap * sizeof *list);
        if (!list)
            return fail(o, ds->path, err, "out of memory");
        o->datasets = list;
        o->cap_datasets = cap;
    }
    o->datasets[o->n_datasets++] = ds;
    return TB_OK;
}

static void dataset_free(tb_dataset *ds)
{
    if (!ds)
        return;
    if (ds->id >= 0)
        H5Dclose(ds->id);
    free(ds->path);
    free(ds);
}

/* Validate the shape and fill ds->dims, ds->row_bytes. */
static tb_status dataset_shape(tb_output *o, tb_dataset *ds, const uint64_t *dims, tb_error *err)
{
    if (dtype_size(ds->type) == 0)
        return fail(o, ds->path, err, "unknown element type %d", (int)ds->type);
    if (ds->rank < 1 || ds->rank > H5S_MAX_RANK || (ds->rank > 1 && !dims))
        return fail(o, ds->path, err, "invalid rank %d (the growing axis counts)", ds->rank);
    uint64_t row = dtype_size(ds->type);
    ds->dims[0] = 0;
    for (int i = 1; i < ds->rank; i++) {
        if (dims[i - 1] == 0)
            return fail(o, ds->path, err, "trailing dimension %d is 0", i);
        if (row > CHUNK_MAX_BYTES / dims[i - 1])
            return fail(o, ds->path, err, "one row exceeds HDF5's 4 GiB chunk limit");
        row *= dims[i - 1];
        ds->dims[i] = dims[i - 1];
    }
    ds->row_bytes = (size_t)row;
    return TB_OK;
}

static tb_status dataset_create(tb_output *o, const char *path, tb_dtype type, int rank,
                                const uint64_t *dims, uint64_t chunk_rows, tb_dataset **out,
                                tb_error *err)
{
    return dataset_make(o, path, type, rank, dims, chunk_rows, false, out, err);
}

static tb_status dataset_make(tb_output *o, const char *path, tb_dtype type, int rank,
                              const uint64_t *dims, uint64_t chunk_rows, bool plain, tb_dataset **out,
                              tb_error *err)
{
    if (!out)
        return fail(o, path, err, "no place to return the dataset (NULL)");
    *out = NULL;
    tb_status s = check_creatable(o, path, err);
    if (s != TB_OK)
        return s;
    tb_dataset *ds;
    if ((s = dataset_new(o, o, path, type, rank, &ds, err)) != TB_OK)
        return s;
    s = dataset_shape(o, ds, dims, err);
    if (s == TB_OK && o->remote) {
        s = o->sink.create(o->sink.ctx, path, type, rank, dims, chunk_rows, err);
        if (s == TB_OK)
            s = remember_dataset(o, ds, err);
    }
    if (s != TB_OK || o->remote) {
        if (s != TB_OK)
            dataset_free(ds);
        else
            *out = ds;
        return s;
    }
    hsize_t maxdims[H5S_MAX_RANK];
    memcpy(maxdims, ds->dims, sizeof maxdims);
    maxdims[0] = H5S_UNLIMITED;
    hid_t space = H5Screate_simple(rank, ds->dims, maxdims);
    hid_t dcpl = extendible_dcpl(rank, ds->dims, chunk_rows_for(chunk_rows, ds->row_bytes), plain);
    hid_t lcpl = intermediate_lcpl();
    if (space >= 0 && dcpl >= 0 && lcpl >= 0)
        ds->id = H5Dcreate2(o->file, path, file_type(type), space, lcpl, dcpl, H5P_DEFAULT);
    if (ds->id < 0)
        s = create_failed_at(o, path, err, "cannot create the dataset");
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (s == TB_OK)
        s = remember_dataset(o, ds, err);
    if (s != TB_OK) {
        dataset_free(ds);
        return s;
    }
    *out = ds;
    return TB_OK;
}

tb_status tb_output_dataset_create(tb_output *o, const char *path, tb_dtype type, int rank,
                                   const uint64_t *dims, uint64_t chunk_rows, tb_dataset **ds,
                                   tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = o && o->base ? part_dataset_create(o, path, type, rank, dims, chunk_rows, ds, err)
                               : dataset_create(o, path, type, rank, dims, chunk_rows, ds, err);
    tb_h5_quiet_end(q);
    return s;
}

/* Write rows [dims[0], dims[0] + rows) after the extent has grown. */
static herr_t write_rows(const tb_dataset *ds, const void *data, uint64_t rows)
{
    hsize_t start[H5S_MAX_RANK] = {0};
    hsize_t count[H5S_MAX_RANK];
    memcpy(count, ds->dims, sizeof count);
    start[0] = ds->dims[0];
    count[0] = rows;
    hid_t fspace = H5Dget_space(ds->id);
    hid_t mspace = H5Screate_simple(ds->rank, count, NULL);
    herr_t r = -1;
    if (fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        r = H5Dwrite(ds->id, mem_type(ds->type), mspace, fspace, H5P_DEFAULT, data);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return r;
}

static tb_status dataset_append(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err)
{
    if (!ds)
        return tb_error_set(err, TB_ERR_OTHER, "output: no dataset (NULL)");
    tb_output *o = ds->owner;
    tb_status s = check_writable(o, ds->path, err);
    if (s != TB_OK || rows == 0)
        return s;
    if (!data)
        return fail(o, ds->path, err, "no data (NULL) for %llu rows", (unsigned long long)rows);
    if (rows > (UINT64_MAX - ds->dims[0]) || rows > SIZE_MAX / ds->row_bytes)
        return fail(o, ds->path, err, "too many rows");
    hsize_t grown[H5S_MAX_RANK];
    memcpy(grown, ds->dims, sizeof grown);
    grown[0] += rows;
    if (H5Dset_extent(ds->id, grown) < 0)
        s = fail(o, ds->path, err, "cannot grow the dataset to %llu rows", (unsigned long long)grown[0]);
    else if (write_rows(ds, data, rows) < 0)
        s = fail(o, ds->path, err, "cannot write %llu rows", (unsigned long long)rows);
    else if ((o->live ? H5Dflush(ds->id) : H5Fflush(o->file, H5F_SCOPE_LOCAL)) < 0)
        s = fail(o, ds->path, err, "cannot flush the appended rows");
    if (s != TB_OK) {
        mark_broken(o, err);
        return s;
    }
    ds->dims[0] = grown[0];
    return TB_OK;
}

tb_status tb_output_dataset_append(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_output *timed = ds ? (ds->owner->base ? ds->owner->base : ds->owner) : NULL;
    double t0 = tb_now();
    tb_status s = ds && ds->shared ? part_append(ds, data, rows, err) : dataset_append(ds, data, rows, err);
    if (timed)
        timed->busy += tb_now() - t0;
    tb_h5_quiet_end(q);
    return s;
}

uint64_t tb_output_dataset_rows(const tb_dataset *ds)
{
    return !ds ? 0 : ds->shared ? ds->cursor : ds->dims[0];
}

/* ------------------------------------------------------------ parts */

tb_status tb_output_part(tb_output *base, uint64_t first, uint64_t count, uint64_t total, bool primary,
                         tb_output **out, tb_error *err)
{
    *out = NULL;
    if (!base || base->base || count == 0 || first + count > total)
        return tb_error_set(err, TB_ERR_OTHER, "output: invalid part [%llu, %llu) of %llu instances",
                            (unsigned long long)first, (unsigned long long)(first + count),
                            (unsigned long long)total);
    tb_output *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(base->path))) {
        free(o);
        return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", base->path);
    }
    o->file = H5I_INVALID_HID;
    o->base = base;
    o->first = first;
    o->count = count;
    o->total = total;
    o->primary = primary;
    *out = o;
    return TB_OK;
}

void tb_output_part_free(tb_output *part)
{
    if (!part || !part->base)
        return;
    close_handles(part); /* its datasets hold no HDF5 handles of their own */
    output_free(part);
}

static tb_dataset *find_dataset(const tb_output *o, const char *path)
{
    for (size_t i = 0; i < o->n_datasets; i++)
        if (strcmp(o->datasets[i]->path, path) == 0)
            return o->datasets[i];
    return NULL;
}

/* The second axis of a dataset of rank >= 2 whose size is the part's
 * instance count is the instance axis (the layout of docs/formats.md):
 * the file's dataset gets the whole run's instances there. */
static tb_status part_dataset_create(tb_output *part, const char *path, tb_dtype type, int rank,
                                     const uint64_t *dims, uint64_t chunk_rows, tb_dataset **out, tb_error *err)
{
    tb_output *base = part->base;
    bool inst = rank >= 2 && dims && dims[0] == part->count;
    tb_dataset *whole = find_dataset(base, path);
    tb_status s = TB_OK;
    if (!whole) {
        uint64_t full[H5S_MAX_RANK] = {0};
        for (int i = 0; i + 1 < rank && i < H5S_MAX_RANK; i++)
            full[i] = dims[i];
        if (inst)
            full[0] = part->total;
        s = dataset_create(base, path, type, rank, full, chunk_rows, &whole, err);
    } else if (whole->type != type || whole->rank != rank) {
        s = fail(base, path, err, "parts of the run declare this dataset differently");
    }
    if (s != TB_OK)
        return s;
    tb_dataset *ds;
    if ((s = dataset_new(base, part, path, type, rank, &ds, err)) != TB_OK)
        return s;
    ds->shared = whole;
    ds->instance_axis = inst;
    ds->col0 = inst ? part->first : 0;
    ds->cols = inst ? part->count : (rank >= 2 ? whole->dims[1] : 1);
    if ((s = dataset_shape(base, ds, dims, err)) == TB_OK)
        s = remember_dataset(part, ds, err);
    if (s != TB_OK) {
        dataset_free(ds);
        return s;
    }
    *out = ds;
    return TB_OK;
}

/* The bytes of rows x cols of a dataset (cols counting the instance axis,
 * the second, of a dataset of rank 2 or more). */
static uint64_t block_bytes(const tb_dataset *ds, uint64_t rows, uint64_t cols)
{
    uint64_t per_col = ds->rank >= 2 ? ds->row_bytes / ds->dims[1] : ds->row_bytes;
    return rows * (ds->rank >= 2 ? cols : 1) * per_col;
}

/* A remote output's block goes to its sink; the rows are counted as
 * written, so the parts' cursors advance as over a file. */
static tb_status remote_block(tb_dataset *ds, uint64_t row0, uint64_t rows, uint64_t col0, uint64_t cols,
                              const void *data, tb_error *err)
{
    tb_output *o = ds->owner;
    tb_status s = o->sink.block(o->sink.ctx, ds->path, row0, rows, col0, cols, data, block_bytes(ds, rows, cols),
                                err);
    if (s == TB_OK && row0 + rows > ds->dims[0])
        ds->dims[0] = row0 + rows;
    return s;
}

/* Rows [row0, row0 + rows) x instance columns [col0, col0 + cols) of the
 * file's dataset, growing it when these rows are the first to arrive. */
static tb_status write_block(tb_dataset *ds, uint64_t row0, uint64_t rows, uint64_t col0, uint64_t cols,
                             const void *data, tb_error *err)
{
    tb_output *o = ds->owner;
    tb_status s = check_writable(o, ds->path, err);
    if (s != TB_OK || rows == 0)
        return s;
    if (o->remote)
        return remote_block(ds, row0, rows, col0, cols, data, err);
    if (row0 + rows > ds->dims[0]) {
        hsize_t grown[H5S_MAX_RANK];
        memcpy(grown, ds->dims, sizeof grown);
        grown[0] = row0 + rows;
        if (H5Dset_extent(ds->id, grown) < 0)
            return fail(o, ds->path, err, "cannot grow the dataset to %llu rows", (unsigned long long)grown[0]);
        ds->dims[0] = grown[0];
    }
    hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    memcpy(count, ds->dims, sizeof count);
    start[0] = row0;
    count[0] = rows;
    if (ds->rank >= 2) {
        start[1] = col0;
        count[1] = cols;
    }
    hid_t fspace = H5Dget_space(ds->id);
    hid_t mspace = H5Screate_simple(ds->rank, count, NULL);
    herr_t r = -1;
    if (fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        r = H5Dwrite(ds->id, mem_type(ds->type), mspace, fspace, H5P_DEFAULT, data);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (r < 0 || (o->live ? H5Dflush(ds->id) : H5Fflush(o->file, H5F_SCOPE_LOCAL)) < 0) {
        s = fail(o, ds->path, err, "cannot write %llu rows at instance %llu", (unsigned long long)rows,
                 (unsigned long long)col0);
        mark_broken(o, err);
    }
    return s;
}

/* Rows without an instance axis (sample times) are the same in every
 * part: the primary writes them. */
static tb_status part_append(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err)
{
    if (!data && rows)
        return fail(ds->owner->base, ds->path, err, "no data (NULL) for %llu rows", (unsigned long long)rows);
    tb_status s = TB_OK;
    if (ds->instance_axis || ds->owner->primary)
        s = write_block(ds->shared, ds->cursor, rows, ds->col0, ds->cols, data, err);
    if (s == TB_OK)
        ds->cursor += rows;
    return s;
}

/* ------------------------------------------------------------ live, flush */

static tb_status go_live(tb_output *o, tb_error *err)
{
    tb_status s = check_writable(o, "/", err);
    if (s != TB_OK || o->live)
        return s;
    if (H5Fstart_swmr_write(o->file) < 0)
        return fail(o, NULL, err, "cannot switch to single-writer/multiple-reader mode");
    o->live = true;
    return take_name(o, err);
}

tb_status tb_output_go_live(tb_output *o, tb_error *err)
{
    if (o && o->base)
        o = o->base;
    if (o && o->remote)
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = go_live(o, err);
    tb_h5_quiet_end(q);
    return s;
}

static tb_status output_flush(tb_output *o, tb_error *err)
{
    tb_status s = check_writable(o, "/", err);
    if (s != TB_OK)
        return s;
    if (H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0) {
        s = fail(o, NULL, err, "cannot flush the file");
        mark_broken(o, err);
    }
    return s;
}

tb_status tb_output_flush(tb_output *o, tb_error *err)
{
    if (o && o->base)
        o = o->base;
    if (o && o->remote)
        return TB_OK;
    tb_h5_quiet q = tb_h5_quiet_begin();
    double t0 = tb_now();
    tb_status s = output_flush(o, err);
    if (o)
        o->busy += tb_now() - t0;
    tb_h5_quiet_end(q);
    return s;
}

/* ------------------------------------------------------------ close */

/* Close every handle; returns whether HDF5 reported the file closed. */
static bool close_handles(tb_output *o)
{
    for (size_t i = 0; i < o->n_datasets; i++)
        dataset_free(o->datasets[i]);
    free(o->datasets);
    o->datasets = NULL;
    o->n_datasets = o->cap_datasets = 0;
    bool ok = true;
    if (o->file >= 0)
        ok = H5Fclose(o->file) >= 0;
    o->file = H5I_INVALID_HID;
    o->live = false;
    return ok;
}

static void output_free(tb_output *o)
{
    free(o->broken);
    free(o->path);
    free(o->writing);
    free(o->target);
    free(o);
}

static const char *file_name(const tb_output *o)
{
    return o->writing ? o->writing : o->path;
}

const char *tb_output_file_name(const tb_output *o)
{
    if (o && o->base)
        o = o->base;
    return o ? file_name(o) : NULL;
}

/* The new file replaces the old one in one step, after its bytes are on
 * disk (else a crash could leave the name pointing at a file not yet
 * written). Syncing the folder makes the rename itself durable (best
 * effort). */
static tb_status put_in_place(tb_output *o, tb_error *err)
{
    if (!o->target)
        return TB_OK;
    int fd = open(o->writing, O_RDONLY | O_CLOEXEC);
    bool synced = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!synced || rename(o->writing, o->target) != 0)
        return tb_error_set(err, TB_ERR_INPUT, "%s: cannot replace it with the new results, which are in %s: %s",
                            o->path, o->writing, strerror(errno));
    char *dir = tb_path_dirname(o->target);
    fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
    return TB_OK;
}

/* After the file system refused a write the disk holds the file as it was
 * after the last write that succeeded (h5driver.h), still marked open for
 * SWMR writing, so no final attributes can go in. Say where it is. */
static tb_status refused_close(const tb_output *o, tb_error *err)
{
    const char *how = "read it with h5py.File(path, \"r\", swmr=True), or make it an ordinary HDF5 file with "
                      "h5clear -s --increment=0";
    if (o->target)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s was left as it was; the rows written before the error are in %s (%s)", o->path,
                            o->writing, how);
    if (o->link_at_live)
        return tb_error_set(err, TB_ERR_INPUT, "%s: the run stopped before its file went live; what it wrote is in %s",
                            o->path, o->writing);
    return tb_error_set(err, TB_ERR_INPUT,
                        "%s keeps the rows written before the error but not the final attributes (%s)", o->path,
                        how);
}

static bool final_is_empty(const tb_output_final *f)
{
    return !f || (f->n_doubles == 0 && f->n_ints == 0 && f->n_strings == 0);
}

static tb_status write_final(tb_output *o, const tb_output_final *f, tb_error *err)
{
    tb_status s = TB_OK;
    for (size_t i = 0; s == TB_OK && f->double_names && f->double_values && i < f->n_doubles; i++)
        s = attr_scalar(o, "/", f->double_names[i], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &f->double_values[i],
                        err);
    for (size_t i = 0; s == TB_OK && f->int_names && f->int_values && i < f->n_ints; i++)
        s = attr_scalar(o, "/", f->int_names[i], H5T_STD_I64LE, H5T_NATIVE_INT64, &f->int_values[i], err);
    for (size_t i = 0; s == TB_OK && f->string_names && f->string_values && i < f->n_strings; i++)
        s = attr_strings(o, "/", f->string_names[i], &f->string_values[i], 1, true, err);
    return s;
}

/* Attributes cannot be created in SWMR mode, so the final ones go in after
 * the live file is closed, through an ordinary read-write open. */
static tb_status reopen_and_finish(tb_output *o, const tb_output_final *f, tb_error *err)
{
    tb_h5_reason why;
    o->file = open_file(file_name(o), H5F_ACC_RDWR, false, &why);
    if (o->file < 0)
        return fail_because(o->path, NULL, err, "cannot reopen the file to write the final attributes", why);
    tb_status s = write_final(o, f, err);
    if (!close_handles(o) && s == TB_OK)
        s = fail(o, NULL, err, "cannot close the file after the final attributes");
    return s;
}

static tb_status output_close(tb_output *o, const tb_output_final *final, tb_error *err)
{
    if (!o)
        return TB_OK;
    tb_status s = TB_OK;
    if (!close_handles(o))
        s = fail(o, NULL, err, "cannot close the file");
    else if (o->refused)
        s = refused_close(o, err);
    free(o->broken);
    o->broken = NULL;
    if (s == TB_OK && !final_is_empty(final))
        s = reopen_and_finish(o, final, err);
    if (s == TB_OK)
        s = take_name(o, err); /* a file that never went live */
    if (s == TB_OK)
        s = put_in_place(o, err);
    output_free(o);
    return s;
}

tb_status tb_output_close(tb_output *o, const tb_output_final *final, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = output_close(o, final, err);
    tb_h5_quiet_end(q);
    return s;
}

void tb_output_abort(tb_output *o)
{
    if (!o)
        return;
    tb_h5_quiet q = tb_h5_quiet_begin();
    close_handles(o);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_driver_take_errno();
    tb_h5_quiet_end(q);
    output_free(o);
}

void tb_output_discard(tb_output *o)
{
    if (!o)
        return;
    char *made = o->created ? strdup(file_name(o)) : NULL;
    tb_output_abort(o);
    if (made)
        unlink(made); /* ours: created by tb_output_create (exclusively, or as a temporary) */
    free(made);
}

/* ------------------------------------------------------------ checkpoints */

size_t tb_output_dataset_count(const tb_output *o)
{
    return o ? (o->base ? o->base->n_datasets : o->n_datasets) : 0;
}

tb_dataset *tb_output_dataset_at(const tb_output *o, size_t i)
{
    if (o && o->base)
        o = o->base;
    return o && i < o->n_datasets ? o->datasets[i] : NULL;
}

tb_status tb_output_blob_create(tb_output *o, const char *path, tb_dataset **ds, tb_error *err)
{
    if (o && o->base)
        return o->primary ? tb_output_blob_create(o->base, path, ds, err)
                          : tb_error_set(err, TB_ERR_OTHER, "output: %s: a part creates no blobs", path);
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = dataset_make(o, path, TB_U8, 1, NULL, 0, true, ds, err);
    tb_h5_quiet_end(q);
    return s;
}

const char *tb_output_dataset_path(const tb_dataset *ds)
{
    return ds ? ds->path : NULL;
}

static tb_status dataset_rewrite(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err)
{
    tb_output *o = ds->owner;
    tb_status s = check_writable(o, ds->path, err);
    if (s != TB_OK)
        return s;
    hsize_t size[H5S_MAX_RANK];
    memcpy(size, ds->dims, sizeof size);
    size[0] = rows;
    if (H5Dset_extent(ds->id, size) < 0)
        s = fail(o, ds->path, err, "cannot resize the dataset to %llu rows", (unsigned long long)rows);
    ds->dims[0] = 0; /* write_rows writes from dims[0] */
    if (s == TB_OK && rows && write_rows(ds, data, rows) < 0)
        s = fail(o, ds->path, err, "cannot write %llu rows", (unsigned long long)rows);
    if (s == TB_OK && (o->live ? H5Dflush(ds->id) : H5Fflush(o->file, H5F_SCOPE_LOCAL)) < 0)
        s = fail(o, ds->path, err, "cannot flush the rewritten dataset");
    ds->dims[0] = rows;
    if (s != TB_OK)
        mark_broken(o, err);
    return s;
}

tb_status tb_output_dataset_rewrite(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err)
{
    if (!ds || ds->shared || (rows && !data))
        return tb_error_set(err, TB_ERR_OTHER, "output: nothing to rewrite (a part's dataset, or no data)");
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = dataset_rewrite(ds, data, rows, err);
    tb_h5_quiet_end(q);
    return s;
}

/* The source dataset must hold at least `rows` rows of the same shape. */
static tb_status check_source(const tb_output *o, const tb_dataset *ds, hid_t src, const char *source, uint64_t rows,
                              tb_error *err)
{
    hid_t space = H5Dget_space(src);
    hsize_t dims[H5S_MAX_RANK];
    int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    if (space >= 0)
        H5Sclose(space);
    bool same = rank == ds->rank && dims[0] >= rows;
    for (int i = 1; same && i < rank; i++)
        same = dims[i] == ds->dims[i];
    if (!same)
        return fail_at(source, ds->path, err, "has another shape than this run writes, or fewer rows than its "
                                              "checkpoint counts");
    (void)o;
    return TB_OK;
}

/* Rows [0, rows) of `src` into ds, in blocks of about 4 MiB. */
static tb_status copy_dataset(tb_output *o, tb_dataset *ds, hid_t src, uint64_t rows, tb_error *err)
{
    uint64_t block = ((uint64_t)4 << 20) / ds->row_bytes;
    block = block ? block : 1;
    void *buf = malloc((size_t)(block < rows ? block : rows) * ds->row_bytes + 1);
    tb_status s = buf ? TB_OK : fail(o, ds->path, err, "out of memory");
    for (uint64_t r0 = 0; s == TB_OK && r0 < rows; r0 += block) {
        uint64_t n = rows - r0 < block ? rows - r0 : block;
        hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        memcpy(count, ds->dims, sizeof count);
        start[0] = r0;
        count[0] = n;
        hid_t fspace = H5Dget_space(src), mspace = H5Screate_simple(ds->rank, count, NULL);
        herr_t r = -1;
        if (fspace >= 0 && mspace >= 0 &&
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
            r = H5Dread(src, mem_type(ds->type), mspace, fspace, H5P_DEFAULT, buf);
        if (mspace >= 0)
            H5Sclose(mspace);
        if (fspace >= 0)
            H5Sclose(fspace);
        s = r < 0 ? fail(o, ds->path, err, "cannot read rows %llu to %llu of the interrupted run",
                         (unsigned long long)r0, (unsigned long long)(r0 + n))
                  : dataset_append(ds, buf, n, err);
    }
    free(buf);
    return s;
}

static tb_status copy_rows(tb_output *o, const char *source, size_t n, const char *const *paths,
                           const uint64_t *rows, tb_error *err)
{
    hid_t f = tb_h5_open_read(source);
    if (f < 0)
        return fail_at(source, NULL, err, "cannot open the interrupted run's file");
    tb_status s = TB_OK;
    for (size_t i = 0; s == TB_OK && i < n; i++) {
        tb_dataset *ds = find_dataset(o, paths[i]);
        if (!ds || ds->dims[0] != 0) {
            s = fail(o, paths[i], err, "this run has no such empty dataset to resume");
            break;
        }
        hid_t src = H5Dopen2(f, paths[i], H5P_DEFAULT);
        s = src < 0 ? fail_at(source, paths[i], err, "cannot open the dataset")
                    : check_source(o, ds, src, source, rows[i], err);
        if (s == TB_OK)
            s = copy_dataset(o, ds, src, rows[i], err);
        if (src >= 0)
            H5Dclose(src);
    }
    H5Fclose(f);
    return s;
}

tb_status tb_output_copy_rows(tb_output *o, const char *source, size_t n, const char *const *paths,
                              const uint64_t *rows, tb_error *err)
{
    if (o && o->base)
        o = o->base;
    if (!o)
        return tb_error_set(err, TB_ERR_OTHER, "output: no output file (NULL)");
    tb_h5_quiet q = tb_h5_quiet_begin();
    double t0 = tb_now();
    tb_status s = copy_rows(o, source, n, paths, rows, err);
    o->busy += tb_now() - t0;
    tb_h5_quiet_end(q);
    return s;
}

void tb_output_part_follow(tb_output *part)
{
    for (size_t i = 0; part && part->base && i < part->n_datasets; i++)
        part->datasets[i]->cursor = part->datasets[i]->shared->dims[0];
}

/* ------------------------------------------------------------ remote outputs */

tb_status tb_output_remote(const char *path, const tb_output_sink *sink, tb_output **out, tb_error *err)
{
    *out = NULL;
    tb_output *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", path);
    }
    o->file = H5I_INVALID_HID;
    o->remote = true;
    o->sink = *sink;
    *out = o;
    return TB_OK;
}

void tb_output_remote_free(tb_output *o)
{
    if (!o || !o->remote)
        return;
    close_handles(o); /* its datasets hold no HDF5 handles */
    output_free(o);
}

static tb_status ensure_dataset(tb_output *o, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                                uint64_t chunk_rows, tb_error *err)
{
    tb_dataset *ds = find_dataset(o, path);
    if (!ds) {
        tb_status s = check_creatable(o, path, err);
        return s == TB_OK ? dataset_create(o, path, type, rank, dims, chunk_rows, &ds, err) : s;
    }
    bool same = ds->type == type && ds->rank == rank;
    for (int i = 1; same && i < rank; i++)
        same = ds->dims[i] == dims[i - 1];
    return same ? TB_OK : fail(o, path, err, "parts of the run declare this dataset differently");
}

tb_status tb_output_remote_declare(tb_output *o, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                                   uint64_t chunk_rows, tb_error *err)
{
    if (!o || o->base || o->remote)
        return tb_error_set(err, TB_ERR_OTHER, "output: %s: not a file to declare into", path);
    if (rank < 1 || rank > H5S_MAX_RANK)
        return fail(o, path, err, "invalid rank %d", rank);
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status s = ensure_dataset(o, path, type, rank, dims, chunk_rows, err);
    tb_h5_quiet_end(q);
    return s;
}

tb_status tb_output_remote_write(tb_output *o, const char *path, uint64_t row0, uint64_t rows, uint64_t col0,
                                 uint64_t cols, const void *data, uint64_t bytes, tb_error *err)
{
    if (!o || o->base || o->remote)
        return tb_error_set(err, TB_ERR_OTHER, "output: %s: not a file to write into", path);
    tb_dataset *ds = find_dataset(o, path);
    if (!ds)
        return fail(o, path, err, "rows for a dataset no part declared");
    if (ds->rank >= 2 && (col0 > ds->dims[1] || cols > ds->dims[1] - col0))
        return fail(o, path, err, "instances %llu to %llu are beyond the dataset's %llu", (unsigned long long)col0,
                    (unsigned long long)(col0 + cols), (unsigned long long)ds->dims[1]);
    if (bytes != block_bytes(ds, rows, cols))
        return fail(o, path, err, "%llu bytes for %llu rows of %llu instances", (unsigned long long)bytes,
                    (unsigned long long)rows, (unsigned long long)cols);
    tb_h5_quiet q = tb_h5_quiet_begin();
    double t0 = tb_now();
    tb_status s = write_block(ds, row0, rows, col0, ds->rank >= 2 ? cols : 1, data, err);
    o->busy += tb_now() - t0;
    tb_h5_quiet_end(q);
    return s;
}
