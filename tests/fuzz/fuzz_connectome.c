/* Fuzzing the HDF5 input readers: bytes -> a .h5 file in a scratch folder
 * -> tb_connectome_read (core/connectome.c) and tb_h5_read_doubles /
 * tb_h5_read_labels (core/h5read.c).
 *
 * An input that starts with HDF5's signature is written as it is (a
 * mutated file: the HDF5 library's own parser is then under test too).
 * Any other input is read as choices that build a file through the HDF5
 * API: for each dataset of the layout (docs/formats.md) and each root
 * attribute, whether it is there, its type (float, integer, enum, string,
 * compound; a group or a dangling link instead), its shape (right, off by
 * one, empty, scalar, null, or 2^32 long and never written) and its
 * values. That reaches the readers' own checks far more often than
 * mutated bytes do.
 *
 * A connectome that reads must pass tb_connectome_check and survive
 * tb_connectome_write and a second read unchanged. */
#include <math.h>

#include <hdf5.h>

#include "fuzz.h"
#include "h5read.h"
#include "twinbrain/connectome.h"

/* long enough that the values cannot be counted in bytes by a size_t */
#define HUGE_DIM ((hsize_t)1 << 61)
#define MAX_ELEMENTS 4096

enum kind { K_ABSENT, K_F64, K_F32BE, K_I32, K_U8, K_ENUM, K_VSTR, K_FSTR, K_COMPOUND, K_GROUP, K_DANGLING, K_KINDS };

static const char *const labels_pool[] = {"L_001", "R_002", "region_000", "", "x", "\xc3\xa9t\xc3\xa9"};

typedef struct shape {
    int rank; /* -1: null dataspace; 0: scalar */
    hsize_t dims[3];
    bool huge;
} shape;

/* Mostly the shape the layout asks for; sometimes another. */
static shape pick_shape(fuzz_bytes *in, int rank, const hsize_t *want, size_t n, bool attribute)
{
    shape s = {rank, {0}, false};
    if (fb_u8(in) >= 200)
        s.rank = (int)fb_pick(in, 5) - 1;
    for (int i = 0; i < s.rank; i++) {
        unsigned k = fb_u8(in);
        hsize_t other[] = {0, 1, n + 1, n - 1, 3, attribute ? 2 : HUGE_DIM};
        s.dims[i] = k < 200 ? (i < rank ? want[i] : n) : other[k % 6];
        s.huge |= s.dims[i] == HUGE_DIM;
    }
    return s;
}

static size_t elements(const shape *s)
{
    size_t e = s->rank < 0 ? 0 : 1;
    for (int i = 0; i < s->rank; i++)
        e = s->dims[i] > MAX_ELEMENTS ? MAX_ELEMENTS + 1 : e * (size_t)s->dims[i];
    return e;
}

static hid_t make_space(const shape *s)
{
    if (s->rank < 0)
        return H5Screate(H5S_NULL);
    if (s->rank == 0)
        return H5Screate(H5S_SCALAR);
    return H5Screate_simple(s->rank, s->dims, NULL);
}

static hid_t make_type(fuzz_bytes *in, enum kind k)
{
    hid_t t = H5I_INVALID_HID;
    switch (k) {
    case K_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case K_F32BE: return H5Tcopy(H5T_IEEE_F32BE);
    case K_I32: return H5Tcopy(H5T_STD_I32LE);
    case K_U8: return H5Tcopy(H5T_STD_U8LE);
    case K_ENUM: {
        /* h5py's numpy bool, sometimes with a third member */
        t = H5Tenum_create(H5T_NATIVE_INT8);
        int8_t v[] = {0, 1, 2};
        H5Tenum_insert(t, "FALSE", &v[0]);
        H5Tenum_insert(t, "TRUE", &v[1]);
        if (fb_u8(in) & 1)
            H5Tenum_insert(t, "MAYBE", &v[2]);
        return t;
    }
    case K_VSTR:
    case K_FSTR:
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, k == K_VSTR ? H5T_VARIABLE : 1 + fb_pick(in, 12));
        H5Tset_cset(t, fb_u8(in) & 1 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        if (k == K_FSTR)
            H5Tset_strpad(t, (H5T_str_t)fb_pick(in, 3));
        return t;
    case K_COMPOUND:
        t = H5Tcreate(H5T_COMPOUND, sizeof(double) + sizeof(int));
        H5Tinsert(t, "a", 0, H5T_NATIVE_DOUBLE);
        H5Tinsert(t, "b", sizeof(double), H5T_NATIVE_INT);
        return t;
    default: return H5I_INVALID_HID;
    }
}

/* Values for `count` elements of type t, and the memory type they are in. */
static void *make_values(fuzz_bytes *in, fuzz_arena *a, enum kind k, hid_t t, size_t count, hid_t *mtype)
{
    *mtype = t;
    if (k == K_VSTR) {
        const char **s = fa_calloc(a, count, sizeof *s);
        for (size_t i = 0; s && i < count; i++) {
            s[i] = fb_string(in, a, labels_pool, sizeof labels_pool / sizeof labels_pool[0]);
            s[i] = s[i] ? s[i] : "";
        }
        return s;
    }
    if (k == K_FSTR || k == K_ENUM || k == K_COMPOUND) {
        size_t bytes = count * H5Tget_size(t);
        uint8_t *raw = fa_calloc(a, bytes, 1);
        for (size_t i = 0; raw && i < bytes; i++)
            raw[i] = k == K_ENUM ? (uint8_t)fb_pick(in, 4) : fb_u8(in);
        return raw;
    }
    double *d = fa_calloc(a, count, sizeof *d);
    for (size_t i = 0; d && i < count; i++)
        d[i] = fb_double(in);
    *mtype = H5T_NATIVE_DOUBLE;
    return d;
}

/* Contiguous when small; chunked (and never written) when 2^32 long. */
static hid_t make_dcpl(const shape *s)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (s->huge) {
        hsize_t chunk[3];
        for (int i = 0; i < s->rank; i++)
            chunk[i] = s->dims[i] == 0 ? 1 : s->dims[i] > 64 ? 64 : s->dims[i];
        H5Pset_chunk(dcpl, s->rank, chunk);
    }
    return dcpl;
}

/* One dataset (or root attribute) of the layout, as the input chooses. */
static void make_object(fuzz_bytes *in, fuzz_arena *a, hid_t file, const char *name, bool attribute, int rank,
                        const hsize_t *want, size_t n)
{
    enum kind k = (enum kind)fb_pick(in, attribute ? K_GROUP : K_KINDS);
    if (k == K_ABSENT)
        return;
    if (k == K_GROUP) {
        H5Gclose(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        return;
    }
    if (k == K_DANGLING) {
        H5Lcreate_soft("/nowhere", file, name, H5P_DEFAULT, H5P_DEFAULT);
        return;
    }
    shape s = pick_shape(in, rank, want, n, attribute);
    hid_t type = make_type(in, k), space = make_space(&s), mtype = H5I_INVALID_HID;
    size_t count = elements(&s);
    void *values = s.huge || count > MAX_ELEMENTS ? NULL : make_values(in, a, k, type, count, &mtype);
    if (attribute) {
        hid_t at = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (at >= 0 && values && count)
            H5Awrite(at, mtype, values);
        H5Aclose(at);
    } else {
        hid_t dcpl = make_dcpl(&s);
        hid_t d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (d >= 0 && values && count)
            H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
        H5Dclose(d);
        H5Pclose(dcpl);
    }
    H5Sclose(space);
    H5Tclose(type);
}

static bool build_file(const char *path, fuzz_bytes *in, fuzz_arena *a)
{
    size_t n = 1 + fb_pick(in, 12);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        return false;
    const hsize_t nn[2] = {n, n}, n3[2] = {n, 3}, n1[1] = {n};
    make_object(in, a, file, "/weights", false, 2, nn, n);
    make_object(in, a, file, "/tract_lengths", false, 2, nn, n);
    make_object(in, a, file, "/region_labels", false, 1, n1, n);
    make_object(in, a, file, "/centres", false, 2, n3, n);
    make_object(in, a, file, "/hemispheres", false, 1, n1, n);
    make_object(in, a, file, "weights_unit", true, 0, n1, n);
    make_object(in, a, file, "description", true, 0, n1, n);
    return H5Fclose(file) >= 0;
}

/* ------------------------------------------------------------ reading */

static bool same_doubles(const double *a, const double *b, size_t n)
{
    return (!a && !b) || (a && b && memcmp(a, b, n * sizeof *a) == 0);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const tb_connectome *a, const tb_connectome *b)
{
    FUZZ_ASSERT(a->n == b->n);
    FUZZ_ASSERT(same_doubles(a->weights, b->weights, a->n * a->n));
    FUZZ_ASSERT(same_doubles(a->tract_lengths, b->tract_lengths, a->n * a->n));
    FUZZ_ASSERT(same_doubles(a->centres, b->centres, a->n * 3));
    FUZZ_ASSERT(!a->hemispheres == !b->hemispheres);
    FUZZ_ASSERT(!a->hemispheres || memcmp(a->hemispheres, b->hemispheres, a->n) == 0);
    for (size_t i = 0; i < a->n; i++)
        FUZZ_ASSERT(same_text(a->labels[i], b->labels[i]));
    FUZZ_ASSERT(same_text(a->weights_unit, b->weights_unit));
    FUZZ_ASSERT(same_text(a->description, b->description));
}

/* A connectome that reads is valid, and writing it loses nothing. */
static void check_connectome(const tb_connectome *c)
{
    tb_error err = {0};
    FUZZ_ASSERT(tb_connectome_check(c, &err) == TB_OK);
    (void)tb_connectome_edges(c);
    (void)tb_connectome_density(c);
    char path[512];
    fuzz_path(path, sizeof path, "written.h5");
    if (tb_connectome_write(c, path, &err) == TB_OK) {
        tb_connectome *again = NULL;
        FUZZ_ASSERT(tb_connectome_read(path, &again, &err) == TB_OK);
        check_same(c, again);
        tb_connectome_free(again);
    }
    tb_error_clear(&err);
}

static void read_connectome(const char *path)
{
    tb_connectome *c = NULL;
    tb_error err = {0};
    tb_status st = tb_connectome_read(path, &c, &err);
    if (fuzz_verbose())
        fprintf(stderr, "  connectome: %s\n", st == TB_OK ? "read" : tb_error_message(&err));
    if (st == TB_OK) {
        FUZZ_ASSERT(c && c->n > 0);
        check_connectome(c);
    } else {
        FUZZ_ASSERT(!c);
        if (err.status == TB_ERR_INPUT)
            FUZZ_ASSERT(strncmp(tb_error_message(&err), path, strlen(path)) == 0);
    }
    tb_connectome_free(c);
    tb_error_clear(&err);
}

static void read_arrays(const char *path)
{
    const char *sets[] = {"/weights", "/centres", "/hemispheres", "/region_labels", "/nowhere"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        double *d = NULL;
        size_t dims[2] = {0, 0};
        int rank = 0;
        tb_error err = {0};
        tb_status st = tb_h5_read_doubles(path, sets[i], &d, dims, &rank, &err);
        if (fuzz_verbose())
            fprintf(stderr, "  %s: %s\n", sets[i], st == TB_OK ? "read" : tb_error_message(&err));
        if (st == TB_OK) {
            FUZZ_ASSERT(d && (rank == 1 || rank == 2));
            for (size_t k = 0; k < dims[0] * dims[1]; k++)
                FUZZ_ASSERT(isfinite(d[k]));
            n = i == 0 ? dims[0] : n;
        } else {
            FUZZ_ASSERT(!d && err.status == TB_ERR_INPUT);
        }
        free(d);
        tb_error_clear(&err);
    }
    char **labels = NULL;
    tb_error lerr = {0};
    if (tb_h5_read_labels(path, "/region_labels", n, "regions", &labels, &lerr) != TB_OK)
        FUZZ_ASSERT(!labels && lerr.status == TB_ERR_INPUT);
    for (size_t i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
    tb_error_clear(&lerr);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* building a file prints nothing either */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_arena arena;
    char path[512];
    fuzz_path(path, sizeof path, "input.h5");
    static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    bool raw = size >= 8 && memcmp(data, signature, 8) == 0;
    fuzz_bytes in = {data, size};
    bool made = raw ? fuzz_write(path, data, size) : build_file(path, &in, &arena);
    fa_free(&arena);
    if (!made)
        return 0;
    read_connectome(path);
    read_arrays(path);
    return 0;
}
