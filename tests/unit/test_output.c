/* The HDF5 output file: layout, types, values, SWMR durability, errors.
 * Everything written through tb_output_* is read back with the plain HDF5
 * C API, so the test checks the file, not the writer's own idea of it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include <hdf5.h>

#include "output_remote.h"
#include "twinbrain/output.h"

/* ------------------------------------------------------------ fixture */

typedef struct fixture {
    char dir[64];
    char path[128];
    pid_t writer; /* a forked writer still to be reaped (a failed test) */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tb-output-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/out.h5", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->writer > 0) {
        kill(f->writer, SIGKILL);
        waitpid(f->writer, NULL, 0);
    }
    chmod(f->dir, 0700);
    tu_remove_tree(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ readers */

static hid_t open_plain(const char *path)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    return file;
}

/* A variable-length UTF-8 string attribute (what h5py reads as str). */
static char *attr_string(hid_t file, const char *obj, const char *name)
{
    hid_t a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_true(H5Tis_variable_str(t) > 0);
    assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
    hid_t space = H5Aget_space(a);
    assert_int_equal(H5Sget_simple_extent_type(space), H5S_SCALAR);
    char *value = NULL;
    assert_true(H5Aread(a, t, &value) >= 0);
    char *copy = strdup(value);
    H5free_memory(value);
    H5Sclose(space);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}

static double attr_double(hid_t file, const char *obj, const char *name)
{
    hid_t a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    assert_true(H5Tequal(t, H5T_IEEE_F64LE) > 0);
    double v = 0;
    assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Tclose(t);
    H5Aclose(a);
    return v;
}

static int64_t attr_int(hid_t file, const char *obj, const char *name)
{
    hid_t a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    assert_true(H5Tequal(t, H5T_STD_I64LE) > 0);
    int64_t v = 0;
    assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Tclose(t);
    H5Aclose(a);
    return v;
}

/* Shape of a dataset; returns its rank. */
static int dataset_dims(hid_t file, const char *path, hsize_t *dims, hsize_t *maxdims)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t s = H5Dget_space(d);
    int rank = H5Sget_simple_extent_dims(s, dims, maxdims);
    H5Sclose(s);
    H5Dclose(d);
    return rank;
}

static void assert_dataset_type(hid_t file, const char *path, hid_t expected)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t t = H5Dget_type(d);
    assert_true(H5Tequal(t, expected) > 0);
    H5Tclose(t);
    H5Dclose(d);
}

static void read_all(hid_t file, const char *path, hid_t mtype, void *buf)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
}

static void assert_message_has(const tb_error *e, const char *text)
{
    if (!strstr(tb_error_message(e), text))
        fail_msg("message \"%s\" lacks \"%s\"", tb_error_message(e), text);
}

/* ------------------------------------------------------------ layout and values */

enum { B = 2, N = 3, V = 2, ROWS1 = 5, ROWS2 = 7 };

static float sample(size_t row, size_t b, size_t n, size_t v)
{
    return (float)row * 1000.0f + (float)b * 100.0f + (float)n * 10.0f + (float)v + 0.25f;
}

static void fill_rows(float *buf, size_t first, size_t rows)
{
    size_t k = 0;
    for (size_t r = first; r < first + rows; r++)
        for (size_t b = 0; b < B; b++)
            for (size_t n = 0; n < N; n++)
                for (size_t v = 0; v < V; v++)
                    buf[k++] = sample(r, b, n, v);
}

static void write_layout(const char *path)
{
    tb_error e = {0};
    tb_output *o = NULL;
    assert_int_equal(tb_output_create(path, &o, &e), TB_OK);
    assert_string_equal(tb_output_path(o), path);
    assert_int_equal(tb_output_attr_string(o, "/", "twinbrain_version", "0.1.0", &e), TB_OK);
    assert_int_equal(tb_output_attr_string(o, "/", "scenario", "[simulation]\nseed = 42 # ünïcødé\n", &e),
                     TB_OK);
    assert_int_equal(tb_output_attr_int(o, "/", "seed", 42, &e), TB_OK);
    assert_int_equal(tb_output_attr_int(o, "/", "steps", 0, &e), TB_OK); /* replaced at close */
    const char *vars[] = {"y0", "y1"};
    assert_int_equal(tb_output_attr_strings(o, "/monitors/tavg", "variables", vars, 2, &e), TB_OK);
    assert_int_equal(tb_output_attr_double(o, "/monitors/tavg", "period_ms", 1.0, &e), TB_OK);

    const double sweep[3] = {0.0, 0.5, 1.0};
    const uint64_t d3[] = {3};
    assert_int_equal(tb_output_write_array(o, "/sweep/coupling.parameters.a", TB_F64, 1, d3, sweep, &e), TB_OK);
    const int32_t m[2][2] = {{1, -2}, {3, -4}};
    const uint64_t d22[] = {2, 2};
    assert_int_equal(tb_output_write_array(o, "/fixed/i32", TB_I32, 2, d22, m, &e), TB_OK);
    const uint8_t u8[3] = {0, 1, 255};
    assert_int_equal(tb_output_write_array(o, "/fixed/u8", TB_U8, 1, d3, u8, &e), TB_OK);
    const uint64_t u64[3] = {0, 1, UINT64_MAX};
    assert_int_equal(tb_output_write_array(o, "/fixed/u64", TB_U64, 1, d3, u64, &e), TB_OK);
    const int64_t i64[3] = {INT64_MIN, 0, INT64_MAX};
    assert_int_equal(tb_output_write_array(o, "/fixed/i64", TB_I64, 1, d3, i64, &e), TB_OK);
    const float f32[3] = {1.5f, -0.0f, 3.25f};
    assert_int_equal(tb_output_write_array(o, "/fixed/f32", TB_F32, 1, d3, f32, &e), TB_OK);
    const char *labels[] = {"L_001", "R_002", NULL};
    assert_int_equal(tb_output_write_strings(o, "/labels", labels, 3, &e), TB_OK);

    tb_dataset *data = NULL, *time = NULL;
    const uint64_t dims[] = {B, N, V};
    assert_int_equal(tb_output_dataset_create(o, "/monitors/tavg/data", TB_F32, 4, dims, 16, &data, &e), TB_OK);
    assert_int_equal(tb_output_dataset_create(o, "/monitors/tavg/time", TB_F64, 1, NULL, 64, &time, &e), TB_OK);
    assert_int_equal(tb_output_attr_string(o, "/monitors/tavg/data", "units", "mV", &e), TB_OK);

    float buf[ROWS2 * B * N * V];
    double t[ROWS2];
    fill_rows(buf, 0, ROWS1);
    for (size_t i = 0; i < ROWS1; i++)
        t[i] = 0.1 * (double)i;
    assert_int_equal(tb_output_dataset_append(data, buf, ROWS1, &e), TB_OK);
    assert_int_equal(tb_output_dataset_append(time, t, ROWS1, &e), TB_OK);
    assert_int_equal(tb_output_go_live(o, &e), TB_OK);
    fill_rows(buf, ROWS1, ROWS2);
    for (size_t i = 0; i < ROWS2; i++)
        t[i] = 0.1 * (double)(ROWS1 + i);
    assert_int_equal(tb_output_dataset_append(data, buf, ROWS2, &e), TB_OK);
    assert_int_equal(tb_output_dataset_append(time, t, ROWS2, &e), TB_OK);
    assert_int_equal(tb_output_flush(o, &e), TB_OK);
    assert_int_equal(tb_output_dataset_rows(data), ROWS1 + ROWS2);

    const char *dn[] = {"wall_seconds"};
    const double dv[] = {1.5};
    const char *in[] = {"steps"};
    const int64_t iv[] = {12000};
    const char *sn[] = {"created_utc"};
    const char *sv[] = {"2024-01-02T03:04:05Z"};
    tb_output_final fin = {dn, dv, 1, in, iv, 1, sn, sv, 1};
    assert_int_equal(tb_output_close(o, &fin, &e), TB_OK);
    tb_error_clear(&e);
}

static void check_root_attributes(hid_t file)
{
    char *s = attr_string(file, "/", "twinbrain_version");
    assert_string_equal(s, "0.1.0");
    free(s);
    s = attr_string(file, "/", "scenario");
    assert_string_equal(s, "[simulation]\nseed = 42 # ünïcødé\n");
    free(s);
    s = attr_string(file, "/", "created_utc");
    assert_string_equal(s, "2024-01-02T03:04:05Z");
    free(s);
    assert_int_equal(attr_int(file, "/", "seed"), 42);
    assert_int_equal(attr_int(file, "/", "steps"), 12000);
    assert_true(attr_double(file, "/", "wall_seconds") == 1.5);
    assert_true(attr_double(file, "/monitors/tavg", "period_ms") == 1.0);
    s = attr_string(file, "/monitors/tavg/data", "units");
    assert_string_equal(s, "mV");
    free(s);
}

static void check_string_array_attr(hid_t file)
{
    hid_t a = H5Aopen_by_name(file, "/monitors/tavg", "variables", H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    assert_true(H5Tis_variable_str(t) > 0);
    assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
    hid_t space = H5Aget_space(a);
    hsize_t n = 0;
    assert_int_equal(H5Sget_simple_extent_dims(space, &n, NULL), 1);
    assert_int_equal(n, 2);
    char *v[2] = {NULL, NULL};
    assert_true(H5Aread(a, t, v) >= 0);
    assert_string_equal(v[0], "y0");
    assert_string_equal(v[1], "y1");
    H5Dvlen_reclaim(t, space, H5P_DEFAULT, v);
    H5Sclose(space);
    H5Tclose(t);
    H5Aclose(a);
}

static void check_fixed_arrays(hid_t file)
{
    double sweep[3];
    assert_dataset_type(file, "/sweep/coupling.parameters.a", H5T_IEEE_F64LE);
    read_all(file, "/sweep/coupling.parameters.a", H5T_NATIVE_DOUBLE, sweep);
    assert_true(sweep[0] == 0.0 && sweep[1] == 0.5 && sweep[2] == 1.0);
    int32_t m[4];
    hsize_t dims[2], maxdims[2];
    assert_int_equal(dataset_dims(file, "/fixed/i32", dims, maxdims), 2);
    assert_true(dims[0] == 2 && dims[1] == 2);
    assert_dataset_type(file, "/fixed/i32", H5T_STD_I32LE);
    read_all(file, "/fixed/i32", H5T_NATIVE_INT32, m);
    assert_true(m[0] == 1 && m[1] == -2 && m[2] == 3 && m[3] == -4);
    uint8_t u8[3];
    assert_dataset_type(file, "/fixed/u8", H5T_STD_U8LE);
    read_all(file, "/fixed/u8", H5T_NATIVE_UINT8, u8);
    assert_true(u8[0] == 0 && u8[1] == 1 && u8[2] == 255);
    uint64_t u64[3];
    assert_dataset_type(file, "/fixed/u64", H5T_STD_U64LE);
    read_all(file, "/fixed/u64", H5T_NATIVE_UINT64, u64);
    assert_true(u64[2] == UINT64_MAX);
    int64_t i64[3];
    assert_dataset_type(file, "/fixed/i64", H5T_STD_I64LE);
    read_all(file, "/fixed/i64", H5T_NATIVE_INT64, i64);
    assert_true(i64[0] == INT64_MIN && i64[2] == INT64_MAX);
    float f32[3];
    assert_dataset_type(file, "/fixed/f32", H5T_IEEE_F32LE);
    read_all(file, "/fixed/f32", H5T_NATIVE_FLOAT, f32);
    assert_true(f32[0] == 1.5f && f32[2] == 3.25f);
}

static void check_labels(hid_t file)
{
    hid_t d = H5Dopen2(file, "/labels", H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t t = H5Dget_type(d);
    assert_true(H5Tis_variable_str(t) > 0);
    assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
    hid_t space = H5Dget_space(d);
    assert_int_equal(H5Sget_simple_extent_npoints(space), 3);
    char *v[3] = {NULL, NULL, NULL};
    assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    assert_string_equal(v[0], "L_001");
    assert_string_equal(v[1], "R_002");
    assert_string_equal(v[2], ""); /* NULL is written as "" */
    H5Dvlen_reclaim(t, space, H5P_DEFAULT, v);
    H5Sclose(space);
    H5Tclose(t);
    H5Dclose(d);
}

static void check_filters(hid_t file, const char *path)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
    int n = H5Pget_nfilters(dcpl);
    assert_int_equal(n, 2);
    unsigned flags, cd[4];
    size_t ncd = 4;
    assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_SHUFFLE);
    ncd = 4;
    assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
    assert_int_equal(ncd, 1);
    assert_int_equal(cd[0], 4);
    H5Pclose(dcpl);
    H5Dclose(d);
}

static void check_monitor(hid_t file)
{
    hsize_t dims[4], maxdims[4];
    assert_int_equal(dataset_dims(file, "/monitors/tavg/data", dims, maxdims), 4);
    assert_int_equal(dims[0], ROWS1 + ROWS2);
    assert_true(dims[1] == B && dims[2] == N && dims[3] == V);
    assert_true(maxdims[0] == H5S_UNLIMITED && maxdims[1] == B && maxdims[3] == V);
    assert_dataset_type(file, "/monitors/tavg/data", H5T_IEEE_F32LE);
    check_filters(file, "/monitors/tavg/data");

    hid_t d = H5Dopen2(file, "/monitors/tavg/data", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[4];
    assert_int_equal(H5Pget_chunk(dcpl, 4, chunk), 4);
    assert_true(chunk[0] == 16 && chunk[1] == B && chunk[2] == N && chunk[3] == V);
    H5Pclose(dcpl);
    H5Dclose(d);

    float got[(ROWS1 + ROWS2) * B * N * V], want[(ROWS1 + ROWS2) * B * N * V];
    read_all(file, "/monitors/tavg/data", H5T_NATIVE_FLOAT, got);
    fill_rows(want, 0, ROWS1 + ROWS2);
    assert_memory_equal(got, want, sizeof want);

    double t[ROWS1 + ROWS2];
    assert_dataset_type(file, "/monitors/tavg/time", H5T_IEEE_F64LE);
    read_all(file, "/monitors/tavg/time", H5T_NATIVE_DOUBLE, t);
    for (size_t i = 0; i < ROWS1 + ROWS2; i++)
        assert_true(t[i] == 0.1 * (double)i);
}

static void test_layout_and_values(void **state)
{
    fixture *f = *state;
    write_layout(f->path);
    /* A cleanly closed file opens without SWMR flags, like any HDF5 file. */
    hid_t file = open_plain(f->path);
    check_root_attributes(file);
    check_string_array_attr(file);
    check_fixed_arrays(file);
    check_labels(file);
    check_monitor(file);
    H5Fclose(file);
}

/* ------------------------------------------------------------ parts */

/* Two parts of a 5-instance run (instances 0-2 and 3-4) write [T, B, 2]
 * data, [T] times and a run-wide attribute; the parts append at their own
 * pace (part 1 is a row ahead for a while), as devices in lock step do. */
static void test_parts(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL, *p[2] = {NULL, NULL};
    const uint64_t first[2] = {0, 3}, count[2] = {3, 2};
    tb_dataset *data[2], *time[2];
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tb_output_part(o, first[k], count[k], 5, k == 0, &p[k], &e), TB_OK);
        uint64_t dims[2] = {count[k], 2};
        assert_int_equal(tb_output_dataset_create(p[k], "/m/data", TB_F64, 3, dims, 4, &data[k], &e), TB_OK);
        assert_int_equal(tb_output_dataset_create(p[k], "/m/time", TB_F64, 1, NULL, 4, &time[k], &e), TB_OK);
        assert_int_equal(tb_output_attr_int(p[k], "/", "instances", 5, &e), TB_OK);
    }
    assert_int_equal(tb_output_go_live(o, &e), TB_OK);
    /* value = 100 t + 10 b + v, b the global instance */
    for (uint64_t t = 0; t < 3; t++)
        for (int k = 1; k >= 0; k--) {
            double rows[3 * 2], when = (double)t;
            for (uint64_t b = 0; b < count[k]; b++)
                for (int v = 0; v < 2; v++)
                    rows[b * 2 + v] = 100.0 * (double)t + 10.0 * (double)(first[k] + b) + v;
            assert_int_equal(tb_output_dataset_append(data[k], rows, 1, &e), TB_OK);
            assert_int_equal(tb_output_dataset_append(time[k], &when, 1, &e), TB_OK);
            assert_int_equal(tb_output_dataset_rows(data[k]), t + 1);
        }
    assert_true(tb_output_busy_seconds(p[0]) > 0.0);
    tb_output_part_free(p[0]);
    tb_output_part_free(p[1]);
    assert_int_equal(tb_output_close(o, NULL, &e), TB_OK);

    hid_t file = open_plain(f->path);
    hsize_t dims[3], maxdims[3];
    assert_int_equal(dataset_dims(file, "/m/data", dims, maxdims), 3);
    assert_int_equal(dims[0], 3);
    assert_int_equal(dims[1], 5);
    assert_int_equal(dims[2], 2);
    assert_int_equal(dataset_dims(file, "/m/time", dims, maxdims), 1);
    assert_int_equal(dims[0], 3);
    assert_int_equal(attr_int(file, "/", "instances"), 5);
    double got[3 * 5 * 2], times[3];
    hid_t d = H5Dopen2(file, "/m/data", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    H5Dclose(d);
    d = H5Dopen2(file, "/m/time", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, times) >= 0);
    H5Dclose(d);
    H5Fclose(file);
    for (int t = 0; t < 3; t++) {
        assert_true(times[t] == (double)t);
        for (int b = 0; b < 5; b++)
            for (int v = 0; v < 2; v++)
                assert_true(got[(t * 5 + b) * 2 + v] == 100.0 * t + 10.0 * b + v);
    }
}

/* What another process's parts write (an MPI rank's, docs/mpi.md): the
 * sink replays each declaration and block straight into the real file,
 * as rank 0 does with the messages it receives. */
static tb_status replay_create(void *ctx, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                               uint64_t chunk_rows, tb_error *err)
{
    return tb_output_remote_declare(ctx, path, type, rank, dims, chunk_rows, err);
}

static tb_status replay_block(void *ctx, const char *path, uint64_t row0, uint64_t rows, uint64_t col0,
                              uint64_t cols, const void *data, uint64_t bytes, tb_error *err)
{
    return tb_output_remote_write(ctx, path, row0, rows, col0, cols, data, bytes, err);
}

/* Instances 0-2 written by a local part, 3-4 by a part of a remote output:
 * the file is the one two local parts write (test_parts). */
static void test_remote_parts(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL, *remote = NULL, *p[2] = {NULL, NULL};
    const uint64_t first[2] = {0, 3}, count[2] = {3, 2};
    tb_dataset *data[2], *time[2];
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    tb_output_sink sink = {o, replay_create, replay_block};
    assert_int_equal(tb_output_remote(f->path, &sink, &remote, &e), TB_OK);
    assert_int_equal(tb_output_part(o, first[0], count[0], 5, true, &p[0], &e), TB_OK);
    assert_int_equal(tb_output_part(remote, first[1], count[1], 5, false, &p[1], &e), TB_OK);
    for (int k = 0; k < 2; k++) {
        uint64_t dims[2] = {count[k], 2};
        assert_int_equal(tb_output_dataset_create(p[k], "/m/data", TB_F64, 3, dims, 4, &data[k], &e), TB_OK);
        assert_int_equal(tb_output_dataset_create(p[k], "/m/time", TB_F64, 1, NULL, 4, &time[k], &e), TB_OK);
        assert_int_equal(tb_output_attr_int(p[k], "/", "instances", 5, &e), TB_OK);
    }
    /* a declaration of another shape is refused, naming the dataset */
    uint64_t other[2] = {5, 3};
    assert_int_equal(tb_output_remote_declare(o, "/m/data", TB_F64, 3, other, 4, &e), TB_ERR_OTHER);
    assert_non_null(strstr(tb_error_message(&e), "/m/data"));
    assert_int_equal(tb_output_go_live(o, &e), TB_OK);
    assert_int_equal(tb_output_go_live(p[1], &e), TB_OK);
    for (uint64_t t = 0; t < 3; t++)
        for (int k = 1; k >= 0; k--) {
            double rows[3 * 2], when = (double)t;
            for (uint64_t b = 0; b < count[k]; b++)
                for (int v = 0; v < 2; v++)
                    rows[b * 2 + v] = 100.0 * (double)t + 10.0 * (double)(first[k] + b) + v;
            assert_int_equal(tb_output_dataset_append(data[k], rows, 1, &e), TB_OK);
            assert_int_equal(tb_output_dataset_append(time[k], &when, 1, &e), TB_OK);
            assert_int_equal(tb_output_dataset_rows(data[k]), t + 1);
        }
    assert_int_equal(tb_output_flush(p[1], &e), TB_OK);
    /* a block whose size does not match its rows and instances is refused */
    double junk[4] = {0};
    assert_int_equal(tb_output_remote_write(o, "/m/data", 0, 1, 3, 2, junk, sizeof junk - 8, &e), TB_ERR_OTHER);
    assert_int_equal(tb_output_remote_write(o, "/m/none", 0, 1, 3, 2, junk, sizeof junk, &e), TB_ERR_OTHER);
    tb_output_part_free(p[0]);
    tb_output_part_free(p[1]);
    tb_output_remote_free(remote);
    assert_int_equal(tb_output_close(o, NULL, &e), TB_OK);

    hid_t file = open_plain(f->path);
    hsize_t dims[3], maxdims[3];
    assert_int_equal(dataset_dims(file, "/m/data", dims, maxdims), 3);
    assert_int_equal(dims[0], 3);
    assert_int_equal(dims[1], 5);
    assert_int_equal(dims[2], 2);
    assert_int_equal(dataset_dims(file, "/m/time", dims, maxdims), 1);
    assert_int_equal(dims[0], 3);
    double got[3 * 5 * 2];
    hid_t d = H5Dopen2(file, "/m/data", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    H5Dclose(d);
    H5Fclose(file);
    for (int t = 0; t < 3; t++)
        for (int b = 0; b < 5; b++)
            for (int v = 0; v < 2; v++)
                assert_true(got[(t * 5 + b) * 2 + v] == 100.0 * t + 10.0 * b + v);
    tb_error_clear(&e);
}

static void test_part_arguments(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL, *p = NULL;
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    assert_int_equal(tb_output_part(o, 3, 3, 5, true, &p, &e), TB_ERR_OTHER);
    assert_null(p);
    assert_int_equal(tb_output_part(o, 0, 0, 5, true, &p, &e), TB_ERR_OTHER);
    tb_error_clear(&e);
    tb_output_abort(o);
}

/* ------------------------------------------------------------ chunking */

static hsize_t chunk_rows_of(const char *path, const char *ds)
{
    hid_t file = open_plain(path);
    hid_t d = H5Dopen2(file, ds, H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[2] = {0, 0};
    assert_true(H5Pget_chunk(dcpl, 2, chunk) >= 1);
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Fclose(file);
    return chunk[0];
}

static void test_chunk_size_capped(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL;
    tb_dataset *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    const uint64_t row300k[] = {38400}; /* 300 KiB of float64 a row */
    const uint64_t row2m[] = {262144};  /* 2 MiB a row */
    const uint64_t small[] = {4};
    assert_int_equal(tb_output_dataset_create(o, "/a", TB_F64, 2, row300k, 100, &a, &e), TB_OK);
    assert_int_equal(tb_output_dataset_create(o, "/b", TB_F64, 2, row2m, 100, &b, &e), TB_OK);
    assert_int_equal(tb_output_dataset_create(o, "/c", TB_F64, 2, small, 10, &c, &e), TB_OK);
    assert_int_equal(tb_output_dataset_create(o, "/d", TB_F64, 2, small, 0, &d, &e), TB_OK);
    assert_int_equal(tb_output_close(o, NULL, &e), TB_OK);
    assert_int_equal(chunk_rows_of(f->path, "/a"), 3);     /* 3 x 300 KiB <= 1 MiB */
    assert_int_equal(chunk_rows_of(f->path, "/b"), 1);     /* never fewer than one row */
    assert_int_equal(chunk_rows_of(f->path, "/c"), 10);    /* as asked when small */
    assert_int_equal(chunk_rows_of(f->path, "/d"), 32768); /* 0: as many as fit in 1 MiB */
    tb_error_clear(&e);
}

/* ------------------------------------------------------------ robustness */

static void test_zero_rows_and_bad_arguments(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL;
    tb_dataset *ds = NULL;
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    const uint64_t dims[] = {3};
    assert_int_equal(tb_output_dataset_create(o, "/x/data", TB_I32, 2, dims, 8, &ds, &e), TB_OK);
    assert_int_equal(tb_output_dataset_append(ds, NULL, 0, &e), TB_OK);
    assert_int_equal(tb_output_dataset_rows(ds), 0);

    assert_int_equal(tb_output_dataset_append(ds, NULL, 2, &e), TB_ERR_OTHER);
    assert_message_has(&e, f->path);
    assert_message_has(&e, "/x/data");
    assert_int_equal(tb_output_dataset_append(NULL, dims, 1, &e), TB_ERR_OTHER);

    tb_dataset *bad = NULL;
    const uint64_t zero[] = {0};
    assert_int_equal(tb_output_dataset_create(o, "/x/zero", TB_F64, 2, zero, 8, &bad, &e), TB_ERR_OTHER);
    assert_null(bad);
    assert_int_equal(tb_output_dataset_create(o, "/x/rank", TB_F64, 0, NULL, 8, &bad, &e), TB_ERR_OTHER);
    assert_int_equal(tb_output_dataset_create(o, "/x/type", (tb_dtype)99, 1, NULL, 8, &bad, &e), TB_ERR_OTHER);
    /* Creating an existing name fails with the path and HDF5's reason. */
    assert_int_equal(tb_output_dataset_create(o, "/x/data", TB_I32, 2, dims, 8, &bad, &e), TB_ERR_OTHER);
    assert_message_has(&e, "/x/data: cannot create the dataset");
    assert_int_equal(tb_output_attr_string(o, "/", "", "v", &e), TB_ERR_OTHER);
    assert_int_equal(tb_output_attr_string(o, "", "a", "v", &e), TB_ERR_OTHER);
    assert_int_equal(tb_output_attr_string(NULL, "/", "a", "v", &e), TB_ERR_OTHER);
    assert_int_equal(tb_output_write_array(o, "/y", TB_F64, 1, dims, NULL, &e), TB_ERR_OTHER);
    /* An attribute under a dataset's name goes on the dataset, and one
     * below it (a dataset is not a group) fails naming the path. */
    assert_int_equal(tb_output_attr_int(o, "/x/data", "n", 3, &e), TB_OK);
    assert_int_equal(tb_output_attr_int(o, "/x/data/sub", "n", 3, &e), TB_ERR_OTHER);
    assert_message_has(&e, "/x/data/sub: cannot create the group: /x/data is a dataset, not a group");
    const double one = 1.0;
    const uint64_t d1[] = {1};
    assert_int_equal(tb_output_write_array(o, "/x/data/arr", TB_F64, 1, d1, &one, &e), TB_ERR_OTHER);
    assert_message_has(&e, "/x/data is a dataset, not a group");

    const int32_t rows[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(tb_output_dataset_append(ds, rows, 2, &e), TB_OK);
    assert_int_equal(tb_output_dataset_rows(ds), 2);
    assert_int_equal(tb_output_close(o, NULL, &e), TB_OK);
    assert_int_equal(tb_output_close(NULL, NULL, &e), TB_OK);
    tb_output_abort(NULL);
    tb_error_clear(&e);
}

static void test_nothing_created_after_go_live(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL;
    tb_dataset *ds = NULL, *late = NULL;
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    assert_int_equal(tb_output_dataset_create(o, "/d", TB_F64, 1, NULL, 4, &ds, &e), TB_OK);
    assert_int_equal(tb_output_go_live(o, &e), TB_OK);
    assert_int_equal(tb_output_go_live(o, &e), TB_OK); /* idempotent */
    assert_int_equal(tb_output_attr_int(o, "/", "late", 1, &e), TB_ERR_OTHER);
    assert_message_has(&e, "went live");
    assert_int_equal(tb_output_dataset_create(o, "/late", TB_F64, 1, NULL, 4, &late, &e), TB_ERR_OTHER);
    assert_int_equal(tb_output_write_strings(o, "/late_s", NULL, 0, &e), TB_ERR_OTHER);
    const double v[2] = {1, 2};
    assert_int_equal(tb_output_dataset_append(ds, v, 2, &e), TB_OK);
    tb_output_abort(o); /* no final attributes, rows kept */

    hid_t file = open_plain(f->path);
    hsize_t dims[1], maxdims[1];
    assert_int_equal(dataset_dims(file, "/d", dims, maxdims), 1);
    assert_int_equal(dims[0], 2);
    assert_true(H5Aexists(file, "late") == 0);
    H5Fclose(file);
    tb_error_clear(&e);
}

static void test_final_attributes_replace_earlier_ones(void **state)
{
    fixture *f = *state;
    tb_error e = {0};
    tb_output *o = NULL;
    assert_int_equal(tb_output_create(f->path, &o, &e), TB_OK);
    assert_int_equal(tb_output_attr_double(o, "/", "wall_seconds", -1.0, &e), TB_OK);
    assert_int_equal(tb_output_attr_string(o, "/", "status", "running", &e), TB_OK);
    assert_int_equal(tb_output_go_live(o, &e), TB_OK);
    const char *dn[] = {"wall_seconds"};
    const double dv[] = {2.25};
    const char *sn[] = {"status"};
    const char *sv[] = {"done"};
    tb_output_final fin = {dn, dv, 1, NULL, NULL, 0, sn, sv, 1};
    assert_int_equal(tb_output_close(o, &fin, &e), TB_OK);
    hid_t file = open_plain(f->path);
    assert_true(attr_double(file, "/", "wall_seconds") == 2.25);
    char *s = attr_string(file, "/", "status");
    assert_string_equal(s, "done");
    free(s);
    H5Fclose(file);
    tb_error_clear(&e);
}

/* ------------------------------------------------------------ unwritable paths */

static void expect_create_error(const char *path, const char *text)
{
    tb_error e = {0};
    tb_output *o = (tb_output *)&e; /* must be reset to NULL */
    assert_int_equal(tb_output_create(path, &o, &e), TB_ERR_OTHER);
    assert_null(o);
    assert_int_equal(e.status, TB_ERR_OTHER);
    assert_message_has(&e, path);
    assert_message_has(&e, text);
    tb_error_clear(&e);
}

static void test_unwritable_paths(void **state)
{
    fixture *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/no/such/folder/out.h5", f->dir);
    expect_create_error(path, "No such file or directory");

    char file[200];
    snprintf(file, sizeof file, "%s/plain", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/out.h5", file);
    expect_create_error(path, "is not a folder");

    expect_create_error(f->dir, "it is a folder");

    tb_error e = {0};
    tb_output *o = NULL;
    assert_int_equal(tb_output_create("", &o, &e), TB_ERR_OTHER);
    tb_error_clear(&e);

    if (geteuid() != 0) { /* root writes anywhere */
        char ro[200];
        snprintf(ro, sizeof ro, "%s/readonly", f->dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        snprintf(path, sizeof path, "%s/out.h5", ro);
        expect_create_error(path, "Permission denied");
        chmod(ro, 0700);
    }
}

/* HDF5 must print nothing on failures and keep the caller's handler. */
static herr_t caller_handler(hid_t stack, void *data)
{
    (void)stack;
    (*(int *)data)++;
    return 0;
}

static void test_hdf5_errors_silenced(void **state)
{
    fixture *f = *state;
    int calls = 0;
    H5E_auto2_t old_func;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, caller_handler, &calls);

    char log[200];
    snprintf(log, sizeof log, "%s/stderr.txt", f->dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);

    tb_error e = {0};
    tb_output *o = NULL;
    tb_dataset *ds = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/missing/out.h5", f->dir);
    tb_status s1 = tb_output_create(path, &o, &e);
    tb_status s2 = tb_output_create(f->path, &o, &e);
    tb_status s3 = tb_output_dataset_create(o, "/d", TB_F64, 1, NULL, 4, &ds, &e);
    tb_status s4 = tb_output_dataset_create(o, "/d", TB_F64, 1, NULL, 4, &ds, &e);
    tb_output_abort(o);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);

    assert_int_equal(s1, TB_ERR_OTHER);
    assert_int_equal(s2, TB_OK);
    assert_int_equal(s3, TB_OK);
    assert_int_equal(s4, TB_ERR_OTHER);
    assert_int_equal(calls, 0);
    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_size, 0);
    tb_error_clear(&e);
}

/* ------------------------------------------------------------ replacing a file */

/* How many entries of the fixture's folder start with `prefix`. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static tb_output *start_replacement(const char *path)
{
    tb_error e = {0};
    tb_output *o = NULL;
    assert_int_equal(tb_output_create(path, &o, &e), TB_OK);
    assert_int_equal(tb_output_attr_string(o, "/", "which", "new", &e), TB_OK);
    tb_error_clear(&e);
    return o;
}

/* An existing file keeps every byte until the new one is closed, then is
 * replaced in one rename; abandoning the new one leaves it as it was. */
static void test_existing_file_replaced_at_close(void **state)
{
    fixture *f = *state;
    const char old[] = "an existing file that must survive";
    assert_true(tu_write_file(f->path, old, sizeof old));
    assert_int_equal(chmod(f->path, 0640), 0);

    tb_output_discard(start_replacement(f->path)); /* an error before the run */
    tb_output_abort(start_replacement(f->path));   /* abandoned mid-run: its rows stay aside */
    tb_output *o = start_replacement(f->path);
    size_t n = 0;
    unsigned char *now = tu_read_file(f->path, &n);
    assert_true(now && n == sizeof old && memcmp(now, old, n) == 0);
    free(now);
    assert_int_equal(count_entries(f->dir, "out.h5.partial-"), 2);

    tb_error e = {0};
    assert_int_equal(tb_output_close(o, NULL, &e), TB_OK);
    assert_int_equal(count_entries(f->dir, "out.h5.partial-"), 1); /* the abandoned one */
    hid_t file = open_plain(f->path);
    char *which = attr_string(file, "/", "which");
    assert_string_equal(which, "new");
    free(which);
    H5Fclose(file);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* the replaced file's permissions */
    tb_error_clear(&e);
}

/* A link to the output: the file it points to is replaced, the link stays. */
static void test_output_through_a_link(void **state)
{
    fixture *f = *state;
    assert_true(tu_write_file(f->path, "old", 3));
    char link[200];
    snprintf(link, sizeof link, "%s/link.h5", f->dir);
    assert_int_equal(symlink("out.h5", link), 0);
    tb_error e = {0};
    assert_int_equal(tb_output_close(start_replacement(link), NULL, &e), TB_OK);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    hid_t file = open_plain(f->path);
    H5Fclose(file);
    tb_error_clear(&e);
}

static void test_non_regular_output_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkfifo(f->path, 0600), 0);
    expect_create_error(f->path, "not a regular file");
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(f->dir, "out.h5.partial-"), 0);
}

/* A file another program has open (HDF5 readers hold a shared lock):
 * replacing it works around it (the reader keeps the old file), and
 * opening it to write says why it cannot, without cutting it short. */
static void test_locked_file(void **state)
{
    fixture *f = *state;
    write_layout(f->path);
    struct stat before;
    assert_int_equal(stat(f->path, &before), 0);
    int fd = open(f->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_SH | LOCK_NB), 0);

    tb_error e = {0};
    tb_output *o = NULL;
    assert_int_equal(tb_output_reopen(f->path, &o, &e), TB_ERR_OTHER);
    assert_message_has(&e, f->path);
    assert_message_has(&e, "locked: another program has it open");
    struct stat now;
    assert_int_equal(stat(f->path, &now), 0);
    assert_int_equal(now.st_size, before.st_size);

    assert_int_equal(tb_output_close(start_replacement(f->path), NULL, &e), TB_OK);
    struct stat held;
    assert_int_equal(fstat(fd, &held), 0);
    assert_int_equal(held.st_size, before.st_size); /* the reader's file, whole */
    assert_int_equal(stat(f->path, &now), 0);
    assert_true(now.st_ino != held.st_ino);
    close(fd);
    tb_error_clear(&e);
}

/* ------------------------------------------------------------ refused writes */

enum { FULL_COLS = 4096, FULL_ROWS = 16 }; /* 512 KiB an append, incompressible */

static void fill_noise(double *rows, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005u + 1442695040888963407u;
        rows[i] = (double)(*seed >> 11);
    }
}

static tb_output *limited_output(const char *path, tb_dataset **ds)
{
    tb_output *o = NULL;
    const uint64_t dims[] = {FULL_COLS};
    if (tb_output_create(path, &o, NULL) != TB_OK ||
        tb_output_dataset_create(o, "/d", TB_F64, 2, dims, FULL_ROWS, ds, NULL) != TB_OK ||
        tb_output_go_live(o, NULL) != TB_OK)
        exit(102);
    return o;
}

/* The child: appends until the file size limit refuses a write, closes,
 * and exits through exit() (HDF5's exit handler runs: it must not crash).
 * Exit status = the appends that succeeded, or 100 + the failing step. */
static void refusing_writer(const char *path, rlim_t limit)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        exit(101);
    tb_dataset *ds = NULL;
    tb_output *o = limited_output(path, &ds);
    static double rows[FULL_ROWS * FULL_COLS];
    uint64_t seed = 1;
    tb_error e = {0};
    int good = 0;
    tb_status s = TB_OK;
    while (good < 50 && (s = tb_output_dataset_append(ds, rows, FULL_ROWS, &e)) == TB_OK) {
        good++;
        fill_noise(rows, FULL_ROWS * FULL_COLS, &seed);
    }
    if (s != TB_ERR_INPUT || !strstr(tb_error_message(&e), "File too large"))
        exit(105);
    if (tb_output_dataset_append(ds, rows, 1, &e) != TB_ERR_OTHER) /* refused: the file is broken */
        exit(106);
    const char *names[] = {"status"}, *values[] = {"x"};
    tb_output_final fin = {.string_names = names, .string_values = values, .n_strings = 1};
    if (tb_output_close(o, &fin, &e) != TB_ERR_INPUT || !strstr(tb_error_message(&e), "swmr=True"))
        exit(107);
    tb_error_clear(&e);
    exit(good);
}

static int run_child(void (*child)(const char *, rlim_t), const char *path, rlim_t limit)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child(path, limit);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("the writer died of signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

/* A full disk (here: the file size limit) fails the append with
 * TB_ERR_INPUT and the reason; the process ends normally; the file keeps
 * every complete append and a SWMR reader opens it. */
static void test_refused_write(void **state)
{
    fixture *f = *state;
    int good = run_child(refusing_writer, f->path, 3 << 20);
    assert_true(good >= 1 && good < 50);
    hid_t file = H5Fopen(f->path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    assert_true(file >= 0);
    hsize_t dims[2], maxdims[2];
    assert_int_equal(dataset_dims(file, "/d", dims, maxdims), 2);
    assert_int_equal(dims[0], (hsize_t)good * FULL_ROWS);
    static double got[50 * FULL_ROWS * FULL_COLS], want[FULL_ROWS * FULL_COLS];
    read_all(file, "/d", H5T_NATIVE_DOUBLE, got);
    uint64_t seed = 1;
    for (int a = 0; a < good; a++) {
        assert_memory_equal(got + (size_t)a * FULL_ROWS * FULL_COLS, want, sizeof want);
        fill_noise(want, FULL_ROWS * FULL_COLS, &seed);
    }
    H5Fclose(file);
}

/* Replacing an existing file: a refused write leaves it whole. */
static void test_refused_write_keeps_existing_file(void **state)
{
    fixture *f = *state;
    const char old[] = "the previous results";
    assert_true(tu_write_file(f->path, old, sizeof old));
    int good = run_child(refusing_writer, f->path, 3 << 20);
    assert_true(good >= 1 && good < 50);
    size_t n = 0;
    unsigned char *now = tu_read_file(f->path, &n);
    assert_true(now && n == sizeof old && memcmp(now, old, n) == 0);
    free(now);
    assert_int_equal(count_entries(f->dir, "out.h5.partial-"), 1);
}

/* ------------------------------------------------------------ killed writer */

enum { KILL_COLS = 4, KILL_APPENDS = 5, KILL_ROWS = 3 };

static double kill_value(size_t row, size_t col)
{
    return (double)row + (double)col / 8.0;
}

/* The child: create, go live, append, then signal `ready` (or kill itself
 * when ready < 0). Exit codes name the step that failed. */
static void killed_writer(const char *path, int ready)
{
    tb_output *o = NULL;
    tb_dataset *ds = NULL;
    const uint64_t dims[] = {KILL_COLS};
    if (tb_output_create(path, &o, NULL) != TB_OK)
        _exit(10);
    if (tb_output_attr_string(o, "/", "twinbrain_version", "test", NULL) != TB_OK)
        _exit(11);
    if (tb_output_dataset_create(o, "/monitors/raw/data", TB_F64, 2, dims, 8, &ds, NULL) != TB_OK)
        _exit(12);
    if (tb_output_go_live(o, NULL) != TB_OK)
        _exit(13);
    for (size_t a = 0; a < KILL_APPENDS; a++) {
        double rows[KILL_ROWS * KILL_COLS];
        for (size_t r = 0; r < KILL_ROWS; r++)
            for (size_t c = 0; c < KILL_COLS; c++)
                rows[r * KILL_COLS + c] = kill_value(a * KILL_ROWS + r, c);
        if (tb_output_dataset_append(ds, rows, KILL_ROWS, NULL) != TB_OK)
            _exit(14);
    }
    if (ready < 0)
        raise(SIGKILL);
    if (write(ready, "x", 1) != 1)
        _exit(15);
    for (;;)
        pause();
}

static void check_killed_file(const char *path)
{
    /* The superblock says "open for SWMR writing" (still, if the writer was
     * killed): a SWMR reader (h5py: File(path, "r", swmr=True)) opens it as
     * it is. */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    assert_true(file >= 0);
    hsize_t dims[2], maxdims[2];
    assert_int_equal(dataset_dims(file, "/monitors/raw/data", dims, maxdims), 2);
    assert_int_equal(dims[0], KILL_APPENDS * KILL_ROWS);
    assert_int_equal(dims[1], KILL_COLS);
    double got[KILL_APPENDS * KILL_ROWS * KILL_COLS];
    read_all(file, "/monitors/raw/data", H5T_NATIVE_DOUBLE, got);
    for (size_t r = 0; r < KILL_APPENDS * KILL_ROWS; r++)
        for (size_t c = 0; c < KILL_COLS; c++)
            assert_true(got[r * KILL_COLS + c] == kill_value(r, c));
    char *s = attr_string(file, "/", "twinbrain_version");
    assert_string_equal(s, "test");
    free(s);
    H5Fclose(file);
}

static void expect_killed(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status))
        fail_msg("the writer exited with %d before it was killed", WEXITSTATUS(status));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_killed_right_after_append(void **state)
{
    fixture *f = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        killed_writer(f->path, -1);
    expect_killed(pid);
    check_killed_file(f->path);
}

static void test_killed_while_sleeping(void **state)
{
    fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        killed_writer(f->path, fds[1]);
    }
    f->writer = pid; /* teardown kills it if an assertion fails first */
    close(fds[1]);
    char c;
    ssize_t got = read(fds[0], &c, 1);
    close(fds[0]);
    if (got == 1) /* while the writer lives, a reader sees every row ... */
        check_killed_file(f->path);
    kill(pid, SIGKILL);
    f->writer = 0;
    expect_killed(pid); /* (or says which step of the writer failed) */
    /* ... and after it is killed, too. */
    check_killed_file(f->path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_part_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_size_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_rows_and_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_created_after_go_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_attributes_replace_earlier_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5_errors_silenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_file_replaced_at_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_through_a_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_regular_output_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_write_keeps_existing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_right_after_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_sleeping, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
