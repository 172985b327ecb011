/* Program assembly, builds, the disk cache and Random123 on every OpenCL
 * device of the machine (both PoCL drivers in CI; tests/unit/testdevices.h
 * chooses them). The tests that need no device run once; the others run as
 * one group per device, under a line naming it. On a device without fp64
 * the double-precision build is skipped, saying so, and the cache, kernels
 * folder and Random123 tests run in single precision. Every cache this test
 * touches lives in a private scratch directory that main() creates and
 * removes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Random123/philox.h>

#include "binfmt.h"
#include "sha256.h"
#include "testdevices.h"
#include "testutil.h"
#include "twinbrain/program.h"

static char scratch[256]; /* the private directory main() creates */

/* The device list main() made, and the position of the device the device
 * group runs on now. */
static tb_device_info *devices;
static size_t n_devices, current;

typedef struct fixture {
    tb_device *dev;
    tb_precision prec; /* double where the device has fp64, else single */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tb_error err = {0};
    if (!f || tb_device_open(&devices[current], &f->dev, &err) != TB_OK) {
        fprintf(stderr, "cannot open %s: %s\n", devices[current].name, tb_error_message(&err));
        tb_error_clear(&err);
        free(f);
        return -1;
    }
    f->prec = tu_fp64(&devices[current]) ? TB_DOUBLE : TB_SINGLE;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tb_device_close(f->dev);
    free(f);
    return 0;
}

/* Skips the calling test on a device without fp64, with a line saying so. */
static void need_fp64(const char *test)
{
    const tb_device_info *d = &devices[current];
    if (tu_fp64(d))
        return;
    printf("SKIP on device %d (%s): %s: %s\n", d->index, d->name, test, tu_no_fp64_reason(d));
    fflush(stdout);
    skip();
}

/* A fresh cache directory per test and device, nested to exercise mkdir -p. */
static void cache_path(const char *name, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/caches/device%d/%s/twinbrain", scratch, devices[current].index, name);
}

static void use_cache(const char *name, char *dir, size_t cap)
{
    cache_path(name, dir, cap);
    setenv("TWINBRAIN_CACHE_DIR", dir, 1);
    setenv("TWINBRAIN_CACHE_STORE", "1", 1); /* on PoCL the default is not to store */
}

static const char saxpy_source[] =
    "__kernel void saxpy(const real a, __global const real *x, __global real *y)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    y[i] = a * x[i] + y[i];\n"
    "}\n";

static char *assemble_saxpy(tb_precision precision)
{
    tb_program_part part = {.text = saxpy_source, .label = "test saxpy"};
    tb_error err = {0};
    char *source = tb_program_assemble(precision, &part, 1, &err);
    assert_non_null(source);
    return source;
}

static tb_program *build(fixture *f, const char *source, const char *options, tb_status want,
                         tb_error *err)
{
    tb_program *prog = NULL;
    tb_status st = tb_program_build(f->dev, source, options, "test saxpy", &prog, err);
    if (st != want)
        fprintf(stderr, "build: %s\n", tb_error_message(err));
    assert_int_equal(st, want);
    return prog;
}

/* Run saxpy with y = a*x + y, x_i = 1e-10 * i, y_i = 1: in double the
 * tiny increments survive, in single they round away, so the check also
 * proves which precision `real` was. */
static void run_saxpy(fixture *f, tb_program *prog, tb_precision precision)
{
    enum { N = 1024 };
    size_t elem = precision == TB_DOUBLE ? sizeof(double) : sizeof(float);
    unsigned char x[N * sizeof(double)], y[N * sizeof(double)];
    for (int i = 0; i < N; i++) {
        if (precision == TB_DOUBLE) {
            ((double *)x)[i] = 1e-10 * i;
            ((double *)y)[i] = 1.0;
        } else {
            ((float *)x)[i] = 0.5f * (float)i;
            ((float *)y)[i] = 1.0f;
        }
    }
    tb_error err = {0};
    cl_kernel k = tb_program_kernel(prog, "saxpy", &err);
    assert_non_null(k);
    cl_mem bx = tb_device_alloc(f->dev, N * elem, x, "x", &err);
    cl_mem by = tb_device_alloc(f->dev, N * elem, y, "y", &err);
    assert_non_null(bx);
    assert_non_null(by);
    double a64 = 3.0;
    float a32 = 3.0f;
    assert_int_equal(clSetKernelArg(k, 0, elem, precision == TB_DOUBLE ? (void *)&a64
                                                                        : (void *)&a32),
                     CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof bx, &bx), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof by, &by), CL_SUCCESS);
    size_t global = N;
    cl_command_queue q = tb_device_queue(f->dev);
    assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(q, by, CL_TRUE, 0, N * elem, y, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < N; i++) {
        if (precision == TB_DOUBLE) {
            double want = 3.0 * (1e-10 * i) + 1.0;
            assert_true(fabs(((double *)y)[i] - want) <= 1e-15);
            if (i > 0)
                assert_true(((double *)y)[i] > ((double *)y)[i - 1]);
        } else {
            float want = 3.0f * (0.5f * (float)i) + 1.0f;
            assert_true(((float *)y)[i] == want);
        }
    }
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    clReleaseKernel(k);
}

/* ------------------------------------------------------------ sha256 */

static void test_sha256(void **state)
{
    (void)state;
    static const struct { const char *in, *hex; } kat[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmno"
         "pqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    unsigned char digest[TB_SHA256_BYTES];
    char hex[2 * TB_SHA256_BYTES + 1];
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        tb_sha256_digest(kat[i].in, strlen(kat[i].in), digest);
        tb_sha256_hex(digest, hex);
        assert_string_equal(hex, kat[i].hex);
    }
    /* A million 'a', fed in uneven pieces across block boundaries. */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    tb_sha256 s;
    tb_sha256_init(&s);
    for (size_t off = 0, step = 1; off < sizeof a; off += step, step = step * 7 % 131 + 1)
        tb_sha256_update(&s, a + off, off + step > sizeof a ? sizeof a - off : step);
    tb_sha256_final(&s, digest);
    tb_sha256_hex(digest, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ------------------------------------------------------------ locations */

static void test_precision_name(void **state)
{
    (void)state;
    assert_string_equal(tb_precision_name(TB_SINGLE), "single");
    assert_string_equal(tb_precision_name(TB_DOUBLE), "double");
}

static void test_kernel_dir(void **state)
{
    (void)state;
    char *saved = getenv("TWINBRAIN_KERNEL_PATH") ? strdup(getenv("TWINBRAIN_KERNEL_PATH"))
                                                  : NULL;
    setenv("TWINBRAIN_KERNEL_PATH", "/opt/kernels", 1);
    assert_string_equal(tb_kernel_dir(), "/opt/kernels");
    setenv("TWINBRAIN_KERNEL_PATH", "", 1);
    assert_string_equal(tb_kernel_dir(), TB_PKGDATADIR "/kernels");
    unsetenv("TWINBRAIN_KERNEL_PATH");
    assert_string_equal(tb_kernel_dir(), TB_PKGDATADIR "/kernels");
    tu_setenv("TWINBRAIN_KERNEL_PATH", saved);
    free(saved);
}

static void test_cache_dir(void **state)
{
    (void)state;
    const char *names[] = {"TWINBRAIN_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
    char *saved[3];
    for (int i = 0; i < 3; i++)
        saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
    setenv("TWINBRAIN_CACHE_DIR", "/a/cache", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/home/someone", 1);
    assert_string_equal(tb_cache_dir(), "/a/cache");
    unsetenv("TWINBRAIN_CACHE_DIR");
    assert_string_equal(tb_cache_dir(), "/xdg/twinbrain");
    setenv("XDG_CACHE_HOME", "", 1);
    assert_string_equal(tb_cache_dir(), "/home/someone/.cache/twinbrain");
    for (int i = 0; i < 3; i++) {
        tu_setenv(names[i], saved[i]);
        free(saved[i]);
    }
}

/* ------------------------------------------------------------ assembly */

static void test_assemble_prelude(void **state)
{
    (void)state;
    char *d = assemble_saxpy(TB_DOUBLE);
    assert_non_null(strstr(d, "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"));
    assert_non_null(strstr(d, "typedef double real;\n"));
    assert_non_null(strstr(d, "#define TB_DOUBLE 1\n"));
    assert_non_null(strstr(d, "#define TB_REAL_EPSILON DBL_EPSILON\n"));
    assert_true(strstr(d, "typedef double real;") < strstr(d, "/* ---- part: test saxpy ---- */"));
    assert_true(strstr(d, "/* ---- part: test saxpy ---- */") < strstr(d, saxpy_source));
    free(d);
    char *s = assemble_saxpy(TB_SINGLE);
    assert_non_null(strstr(s, "typedef float real;\n"));
    assert_non_null(strstr(s, "#define TB_REAL_MAX FLT_MAX\n"));
    assert_null(strstr(s, "TB_DOUBLE"));
    assert_null(strstr(s, "cl_khr_fp64"));
    assert_null(strstr(s, "double"));
    free(s);
}

static void test_assemble_parts(void **state)
{
    (void)state;
    char kdir[PATH_MAX], file[PATH_MAX + 16];
    snprintf(kdir, sizeof kdir, "%s/kernels", scratch);
    mkdir(kdir, 0755);
    snprintf(file, sizeof file, "%s/lib.cl", kdir);
    const char lib[] = "inline real twice(real v) { return TB_R(2) * v; }"; /* no newline */
    assert_true(tu_write_file(file, lib, strlen(lib)));
    setenv("TWINBRAIN_KERNEL_PATH", kdir, 1);
    tb_program_part parts[] = {
        {.file = "lib.cl"},
        {.text = "/* second */\n", .label = "plugin demo"},
        {.text = "/* third */\n"},
    };
    tb_error err = {0};
    char *src = tb_program_assemble(TB_DOUBLE, parts, 3, &err);
    assert_non_null(src);
    const char *p1 = strstr(src, "/* ---- part: lib.cl ---- */\n");
    const char *p2 = strstr(src, "/* ---- part: plugin demo ---- */\n");
    const char *p3 = strstr(src, "/* ---- part: part 2 ---- */\n");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    assert_true(p1 < strstr(src, lib) && strstr(src, lib) < p2);
    assert_true(p2 < strstr(src, "/* second */") && strstr(src, "/* second */") < p3);
    assert_non_null(strstr(src, "#line 1 \"plugin demo\"\n"));
    free(src);

    tb_program_part missing = {.file = "no_such_file.cl"};
    assert_null(tb_program_assemble(TB_SINGLE, &missing, 1, &err));
    assert_int_equal(err.status, TB_ERR_INPUT);
    snprintf(file, sizeof file, "%s/no_such_file.cl", kdir);
    assert_non_null(strstr(tb_error_message(&err), file));
    assert_non_null(strstr(tb_error_message(&err), "TWINBRAIN_KERNEL_PATH"));

    tb_program_part empty = {.label = "nothing"};
    assert_null(tb_program_assemble(TB_SINGLE, &empty, 1, &err));
    assert_non_null(strstr(tb_error_message(&err), "nothing"));
    tb_error_clear(&err);
    unsetenv("TWINBRAIN_KERNEL_PATH");
}

/* ------------------------------------------------------------ builds */

static void test_build_double(void **state)
{
    fixture *f = *state;
    need_fp64("test_build_double");
    char dir[PATH_MAX];
    use_cache("double", dir, sizeof dir);
    char *source = assemble_saxpy(TB_DOUBLE);
    tb_error err = {0};
    tb_program *prog = build(f, source, "-cl-fast-relaxed-math", TB_OK, &err);
    assert_non_null(tb_program_handle(prog));
    assert_false(tb_program_get_stats(prog)->from_cache);
    assert_true(tb_program_get_stats(prog)->build_seconds > 0.0);
    run_saxpy(f, prog, TB_DOUBLE);
    tb_program_free(prog);
    free(source);
}

static void test_build_single(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    use_cache("single", dir, sizeof dir);
    char *source = assemble_saxpy(TB_SINGLE);
    tb_error err = {0};
    tb_program *prog = build(f, source, NULL, TB_OK, &err);
    run_saxpy(f, prog, TB_SINGLE);
    tb_program_free(prog);
    free(source);
}

static void test_build_error(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    use_cache("error", dir, sizeof dir);
    tb_program_part part = {
        .text = "__kernel void broken(__global real *y)\n"
                "{\n"
                "    y[0] = undeclared_thing_42;\n"
                "}\n",
        .label = "plugin broken"};
    tb_error err = {0};
    char *source = tb_program_assemble(f->prec, &part, 1, &err);
    tb_program *prog = (tb_program *)source;
    assert_int_equal(tb_program_build(f->dev, source, NULL, "plugin broken", &prog, &err),
                     TB_ERR_DEVICE);
    assert_null(prog);
    assert_int_equal(err.status, TB_ERR_DEVICE);
    const char *msg = tb_error_message(&err);
    char head[512];
    snprintf(head, sizeof head, "kernel build failed for plugin broken on %s:\n",
             tb_device_get_info(f->dev)->name);
    assert_true(strncmp(msg, head, strlen(head)) == 0);
    assert_non_null(strstr(msg, "undeclared_thing_42"));
    /* The #line directive makes the log point into the part, line 3. */
    assert_non_null(strstr(msg, "plugin broken:3:"));
    /* Nothing was cached for a failed build. */
    assert_int_equal(tu_count_suffix(dir, ".bin", NULL, 0), 0);

    /* Options the compiler rejects are a build failure too, not a crash. */
    assert_int_equal(tb_program_build(f->dev, source, "-no-such-option-xyz", NULL, &prog, &err),
                     TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "kernel build failed for program on"));
    tb_error_clear(&err);
    free(source);
}

static void test_kernel_missing(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    use_cache("kernel", dir, sizeof dir);
    char *source = assemble_saxpy(f->prec);
    tb_error err = {0};
    tb_program *prog = build(f, source, NULL, TB_OK, &err);
    assert_null(tb_program_kernel(prog, "no_such_kernel", &err));
    assert_int_equal(err.status, TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "\"no_such_kernel\""));
    assert_non_null(strstr(tb_error_message(&err), "saxpy")); /* what there is */
    tb_error_clear(&err);
    tb_program_free(prog);
    free(source);
}

/* ------------------------------------------------------------ cache */

/* Build, expect `from_cache`, run; returns nothing, asserts everything. */
static void build_expect(fixture *f, const char *source, bool from_cache)
{
    tb_error err = {0};
    tb_program *prog = build(f, source, NULL, TB_OK, &err);
    assert_int_equal(tb_program_get_stats(prog)->from_cache, from_cache);
    assert_true(tb_program_get_stats(prog)->build_seconds >= 0.0);
    run_saxpy(f, prog, f->prec);
    tb_program_free(prog);
}

/* The one entry in dir, checked against the documented layout. */
static unsigned char *read_entry(const char *dir, char *path, size_t *n)
{
    assert_int_equal(tu_count_suffix(dir, ".bin", path, PATH_MAX), 1);
    const char *base = strrchr(path, '/') + 1;
    assert_int_equal(strlen(base), 64 + 4);
    assert_int_equal(strspn(base, "0123456789abcdef"), 64);
    unsigned char *data = tu_read_file(path, n);
    assert_non_null(data);
    assert_true(*n > 88);
    assert_memory_equal(data, "TBKCACHE", 8);
    unsigned char sum[TB_SHA256_BYTES];
    tb_sha256_digest(data + 88, *n - 88, sum);
    assert_memory_equal(data + 56, sum, TB_SHA256_BYTES);
    return data;
}

static void rewrite(const char *path, const unsigned char *data, size_t n)
{
    assert_true(tu_write_file(path, data, n));
}

/* PoCL keeps its own cache, and asking it for a binary compiles every
 * kernel again: by default nothing is stored there, but what is stored is
 * loaded; 0 never stores, on any driver. */
static void test_cache_store_policy(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    use_cache("store-policy", dir, sizeof dir);
    unsetenv("TWINBRAIN_CACHE_STORE");
    char *source = assemble_saxpy(f->prec);
    bool pocl = strstr(devices[current].platform_name, "Portable Computing Language") != NULL;
    build_expect(f, source, false);
    assert_int_equal(tu_count_suffix(dir, ".bin", NULL, 0), pocl ? 0 : 1);
    setenv("TWINBRAIN_CACHE_STORE", "0", 1);
    tb_error err = {0};
    tb_program *prog = build(f, source, "-DVARIANT=3", TB_OK, &err);
    assert_false(tb_program_get_stats(prog)->from_cache);
    tb_program_free(prog);
    assert_int_equal(tu_count_suffix(dir, ".bin", NULL, 0), pocl ? 0 : 1);
    setenv("TWINBRAIN_CACHE_STORE", "1", 1);
    build_expect(f, source, !pocl);
    assert_int_equal(tu_count_suffix(dir, ".bin", NULL, 0), 1);
    build_expect(f, source, true);
    free(source);
}

static void test_cache_hit(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], path[PATH_MAX];
    use_cache("hit", dir, sizeof dir);
    char *source = assemble_saxpy(f->prec);
    build_expect(f, source, false);
    size_t n;
    free(read_entry(dir, path, &n));
    build_expect(f, source, true);
    build_expect(f, source, true);
    /* Other options or other source: another entry. */
    tb_error err = {0};
    tb_program *prog = build(f, source, "-DVARIANT=2", TB_OK, &err);
    assert_false(tb_program_get_stats(prog)->from_cache);
    tb_program_free(prog);
    assert_int_equal(tu_count_suffix(dir, ".bin", NULL, 0), 2);
    /* No temporary files left behind. */
    assert_int_equal(tu_count_suffix(dir, "", NULL, 0), 2 + 2); /* . and .. */
    free(source);
}

static void test_cache_corrupt(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], path[PATH_MAX];
    use_cache("corrupt", dir, sizeof dir);
    char *source = assemble_saxpy(f->prec);
    build_expect(f, source, false);
    size_t n;
    unsigned char *good = read_entry(dir, path, &n);
    unsigned char *bad = malloc(n);
    assert_non_null(bad);

    /* Truncated in the payload, in the header, to nothing. */
    size_t cuts[] = {n / 2, n - 1, 40, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rewrite(path, good, cuts[i]);
        build_expect(f, source, false);
        size_t m;
        free(read_entry(dir, path, &m)); /* rewritten whole */
        build_expect(f, source, true);
    }
    /* One flipped bit anywhere that matters: magic, version, key, length,
     * checksum, payload start, middle and end. */
    size_t flips[] = {0, 9, 20, 50, 60, 88, 88 + (n - 88) / 2, n - 1};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(bad, good, n);
        bad[flips[i]] ^= 0x10;
        rewrite(path, bad, n);
        build_expect(f, source, false);
        build_expect(f, source, true);
    }
    /* Garbage with a valid header and checksum: the driver refuses it and
     * the entry is rebuilt from source. */
    memcpy(bad, good, n);
    for (size_t i = 88; i < n; i++)
        bad[i] = (unsigned char)(i * 131u + 7u);
    tb_sha256_digest(bad + 88, n - 88, bad + 56);
    rewrite(path, bad, n);
    build_expect(f, source, false);
    build_expect(f, source, true);
    /* Extra bytes appended. */
    unsigned char *longer = malloc(n + 16);
    assert_non_null(longer);
    memcpy(longer, good, n);
    memset(longer + n, 0xab, 16);
    rewrite(path, longer, n + 16);
    build_expect(f, source, false);
    build_expect(f, source, true);
    free(longer);
    free(bad);
    free(good);
    free(source);
}

/* The driver's binary inside an entry with a valid header and checksum
 * but cut short (a binary damaged before it was stored): PoCL would abort
 * on it; the entry is rebuilt. */
static void test_cache_truncated_driver_binary(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], path[PATH_MAX];
    use_cache("truncated-binary", dir, sizeof dir);
    char *source = assemble_saxpy(TB_DOUBLE);
    build_expect(f, source, false);
    size_t n;
    unsigned char *good = read_entry(dir, path, &n);
    char why[256];
    if (!tb_binary_sizes_ok(good + 88, (n - 88) / 2, why, sizeof why)) { /* a format walked here */
        size_t cut = 88 + (n - 88) / 2;
        unsigned char *bad = malloc(cut);
        assert_non_null(bad);
        memcpy(bad, good, cut);
        bad[48] = (unsigned char)(cut - 88), bad[49] = (unsigned char)((cut - 88) >> 8);
        bad[50] = (unsigned char)((cut - 88) >> 16), bad[51] = (unsigned char)((cut - 88) >> 24);
        tb_sha256_digest(bad + 88, cut - 88, bad + 56);
        rewrite(path, bad, cut);
        build_expect(f, source, false);
        build_expect(f, source, true);
        free(bad);
    }
    free(good);
    free(source);
}

/* A cache entry that is a pipe blocked the run forever (open() waits for
 * a writer); one that is a folder is no program either. Both are rebuilt
 * around, the pipe replaced by a regular entry. alarm() ends the test if
 * a build blocks. */
static void test_cache_not_a_file(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], path[PATH_MAX];
    use_cache("not-a-file", dir, sizeof dir);
    char *source = assemble_saxpy(TB_DOUBLE);
    build_expect(f, source, false);
    size_t n;
    free(read_entry(dir, path, &n));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    alarm(60);
    build_expect(f, source, false);
    alarm(0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    build_expect(f, source, true);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    build_expect(f, source, false);
    rmdir(path);
    free(source);
}

/* The size checks on their own, on forged containers: what they declare
 * must lie within the bytes given. */
static void put(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_binary_sizes(void **state)
{
    (void)state;
    char why[256];
    unsigned char b[1024] = {0};
    assert_true(tb_binary_sizes_ok((const unsigned char *)"unknown format", 14, why, sizeof why));
    /* ELF64, little-endian: 2 sections of 64 bytes at 128; the second's data at [512, 512 + 100) */
    memcpy(b, "\177ELF\2\1\1", 7);
    put(b + 40, 128, 8), put(b + 58, 64, 2), put(b + 60, 2, 2);
    put(b + 128 + 64 + 4, 1, 4), put(b + 128 + 64 + 24, 512, 8), put(b + 128 + 64 + 32, 100, 8);
    assert_true(tb_binary_sizes_ok(b, 612, why, sizeof why));
    assert_false(tb_binary_sizes_ok(b, 611, why, sizeof why));
    assert_non_null(strstr(why, "cut short"));
    assert_false(tb_binary_sizes_ok(b, 200, why, sizeof why)); /* the section table itself */
    put(b + 128 + 64 + 4, 8, 4);                               /* SHT_NOBITS: no bytes in the file */
    assert_true(tb_binary_sizes_ok(b, 256, why, sizeof why));
    assert_false(tb_binary_sizes_ok(b, 30, why, sizeof why)); /* the header */
    /* xclbin: the header's total length */
    memset(b, 0, sizeof b);
    memcpy(b, "xclbin2", 8);
    put(b + 304, 1000, 8);
    assert_true(tb_binary_sizes_ok(b, 1000, why, sizeof why));
    assert_false(tb_binary_sizes_ok(b, 999, why, sizeof why));
    /* PoCL format 7: header, program.bc (name, content), two kernel records */
    memset(b, 0, sizeof b);
    memcpy(b, "poclbin", 8);
    put(b + 16, 7, 4), put(b + 20, 2, 4);
    put(b + 73, 3, 4), put(b + 80, 10, 4); /* "x.bc" (3 bytes), 10 bytes of content */
    put(b + 94, 30, 8), put(b + 124, 40, 8);
    assert_true(tb_binary_sizes_ok(b, 164, why, sizeof why));
    assert_false(tb_binary_sizes_ok(b, 163, why, sizeof why));
    assert_non_null(strstr(why, "kernel record 2 of 2"));
    assert_false(tb_binary_sizes_ok(b, 90, why, sizeof why));
    put(b + 94, 10, 8); /* a kernel record shorter than its own fixed fields */
    assert_false(tb_binary_sizes_ok(b, 164, why, sizeof why));
}

/* An intact entry of another program under this program's name is
 * refused: its stored key does not match the file it sits in. */
static void test_cache_foreign_entry(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], mine[PATH_MAX], other[PATH_MAX];
    char *source = assemble_saxpy(f->prec);
    use_cache("foreign-a", dir, sizeof dir);
    build_expect(f, source, false);
    size_t n;
    free(read_entry(dir, mine, &n));

    size_t len = strlen(source);
    char *variant = malloc(len + 64);
    assert_non_null(variant);
    snprintf(variant, len + 64, "%s__kernel void unused(void) {}\n", source);
    use_cache("foreign-b", dir, sizeof dir);
    tb_error err = {0};
    tb_program *prog = build(f, variant, NULL, TB_OK, &err);
    tb_program_free(prog);
    unsigned char *data = read_entry(dir, other, &n);
    rewrite(mine, data, n);
    free(data);

    use_cache("foreign-a", dir, sizeof dir);
    build_expect(f, source, false);
    build_expect(f, source, true);
    free(variant);
    free(source);
}

static void test_cache_disabled(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    use_cache("disabled", dir, sizeof dir);
    char *source = assemble_saxpy(f->prec);
    setenv("TWINBRAIN_NO_CACHE", "1", 1);
    build_expect(f, source, false);
    build_expect(f, source, false);
    assert_int_equal(access(dir, F_OK), -1); /* not even created */
    setenv("TWINBRAIN_NO_CACHE", "0", 1);
    build_expect(f, source, false);
    build_expect(f, source, true);
    unsetenv("TWINBRAIN_NO_CACHE");
    free(source);
}

/* A cache that cannot be written (here: its path runs through a regular
 * file, which even root cannot create directories under) is ignored. */
static void test_cache_unwritable(void **state)
{
    fixture *f = *state;
    char file[PATH_MAX], dir[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/not-a-directory", scratch);
    assert_true(tu_write_file(file, "x", 1));
    snprintf(dir, sizeof dir, "%s/cache", file);
    setenv("TWINBRAIN_CACHE_DIR", dir, 1);
    char *source = assemble_saxpy(f->prec);
    build_expect(f, source, false);
    build_expect(f, source, false);
    free(source);
}

/* ------------------------------------------------------------ Random123 */

static const char philox_source[] =
    "#include <Random123/philox.h>\n"
    "__kernel void draw(__global const uint *ctr_key, __global uint *out)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    __global const uint *ck = ctr_key + 6 * i;\n"
    "    philox4x32_ctr_t c = {{ck[0], ck[1], ck[2], ck[3]}};\n"
    "    philox4x32_key_t k = {{ck[4], ck[5]}};\n"
    "    philox4x32_ctr_t r = philox4x32(c, k);\n"
    "    for (int j = 0; j < 4; j++)\n"
    "        out[4 * i + j] = r.v[j];\n"
    "}\n";

/* The kernels folder: export (NAME.bin, NAME.cl), load prebuilt with
 * compiling forbidden, a missing binary named, a damaged one refused. */
static void set_options(fixture *f, const char *kernels, bool no_compile, const char *export_dir)
{
    tb_program_options po = {.kernels_dir = kernels, .no_compile = no_compile, .export_dir = export_dir,
                             .build_hint = "make-it-so"};
    tb_error err = {0};
    assert_int_equal(tb_device_set_program_options(f->dev, &po, &err), TB_OK);
}

static void expect_prebuilt_refused(fixture *f, const char *source, const char *path, const char *why)
{
    tb_error err = {0};
    assert_null(build(f, source, "", TB_ERR_DEVICE, &err));
    const char *msg = tb_error_message(&err);
    if (!strstr(msg, path) || !strstr(msg, why))
        fail_msg("\"%s\" should name %s and say \"%s\"", msg, path, why);
    tb_error_clear(&err);
}

static void test_kernels_folder(void **state)
{
    fixture *f = *state;
    char cache[PATH_MAX], kdir[PATH_MAX], path[PATH_MAX + 64];
    use_cache("kernels-export", cache, sizeof cache);
    snprintf(kdir, sizeof kdir, "%s/device%d/prebuilt", scratch, devices[current].index);
    char *source = assemble_saxpy(f->prec);
    tb_error err = {0};

    set_options(f, NULL, false, kdir);
    tb_program *prog = build(f, source, "", TB_OK, &err);
    char name[TB_PROGRAM_NAME_MAX];
    snprintf(name, sizeof name, "%s", tb_program_get_stats(prog)->name);
    assert_true(strncmp(name, "test_saxpy-", 11) == 0 && strlen(name) == 11 + 16);
    tb_program_free(prog);
    assert_int_equal(tu_count_suffix(kdir, ".bin", NULL, 0), 1);
    assert_int_equal(tu_count_suffix(kdir, ".cl", NULL, 0), 1);

    /* a fresh cache and compiling forbidden: the folder's binary runs */
    use_cache("kernels-empty", cache, sizeof cache);
    set_options(f, kdir, true, NULL);
    prog = build(f, source, "", TB_OK, &err);
    assert_int_equal(tb_program_get_stats(prog)->origin, TB_PROGRAM_PREBUILT);
    assert_non_null(strstr(tb_program_get_stats(prog)->binary_path, name));
    run_saxpy(f, prog, f->prec);
    tb_program_free(prog);

    /* other options make another program: missing, and said so */
    prog = build(f, source, "-DOTHER=1", TB_ERR_DEVICE, &err);
    assert_null(prog);
    const char *msg = tb_error_message(&err);
    assert_non_null(strstr(msg, "compiling is forbidden"));
    assert_non_null(strstr(msg, "test saxpy"));
    assert_non_null(strstr(msg, kdir));
    assert_non_null(strstr(msg, ".aocx"));
    assert_non_null(strstr(msg, "make-it-so"));

    /* a damaged binary is refused, not compiled around */
    set_options(f, kdir, false, NULL);
    snprintf(path, sizeof path, "%s/%s.bin", kdir, name);
    size_t n = 0;
    unsigned char *whole = tu_read_file(path, &n);
    assert_non_null(whole);
    rewrite(path, (const unsigned char *)"not a program", 13);
    prog = build(f, source, "", TB_ERR_DEVICE, &err);
    assert_non_null(strstr(tb_error_message(&err), "refused the prebuilt binary"));
    /* cut short (PoCL aborted on it), empty, a pipe (blocked forever), a folder: named, never read */
    char why[256];
    if (!tb_binary_sizes_ok(whole, n - 1, why, sizeof why)) {
        rewrite(path, whole, n - 1);
        expect_prebuilt_refused(f, source, path, "cut short");
    }
    rewrite(path, whole, 0);
    expect_prebuilt_refused(f, source, path, "empty");
    unlink(path);
    assert_int_equal(mkfifo(path, 0644), 0);
    alarm(60);
    expect_prebuilt_refused(f, source, path, "not a regular file");
    alarm(0);
    unlink(path);
    assert_int_equal(mkdir(path, 0755), 0);
    expect_prebuilt_refused(f, source, path, "a folder");
    rmdir(path);
    free(whole);
    tb_error_clear(&err);
    set_options(f, NULL, false, NULL);
    free(source);
}

/* An FPGA board's driver has no online compiler: exporting writes the
 * source for the vendor's compiler and says the binary is missing; with
 * the binary in the kernels folder the program loads. The PoCL device
 * stands in, opened with its compiler marked absent. */
static void test_no_compiler_device(void **state)
{
    fixture *f = *state;
    char cache[PATH_MAX], kdir[PATH_MAX], src_dir[PATH_MAX];
    use_cache("no-compiler", cache, sizeof cache);
    snprintf(kdir, sizeof kdir, "%s/device%d/board-binaries", scratch, devices[current].index);
    snprintf(src_dir, sizeof src_dir, "%s/device%d/board-sources", scratch, devices[current].index);
    char *source = assemble_saxpy(TB_SINGLE);
    tb_error err = {0};
    set_options(f, NULL, false, kdir); /* the real device makes the "vendor" binary */
    tb_program *prog = build(f, source, "", TB_OK, &err);
    tb_program_free(prog);

    use_cache("no-compiler-board", cache, sizeof cache); /* nothing cached for the board */
    tb_device_info info = *tb_device_get_info(f->dev);
    info.compiler_available = false;
    tb_device *board = NULL;
    assert_int_equal(tb_device_open(&info, &board, &err), TB_OK);
    tb_program_options po = {.export_dir = src_dir};
    assert_int_equal(tb_device_set_program_options(board, &po, &err), TB_OK);
    assert_int_equal(tb_program_build(board, source, "", "test saxpy", &prog, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "no online OpenCL C compiler"));
    assert_int_equal(tu_count_suffix(src_dir, ".cl", NULL, 0), 1);
    assert_int_equal(tu_count_suffix(src_dir, ".bin", NULL, 0), 0);

    po = (tb_program_options){.kernels_dir = kdir};
    assert_int_equal(tb_device_set_program_options(board, &po, &err), TB_OK);
    assert_int_equal(tb_program_build(board, source, "", "test saxpy", &prog, &err), TB_OK);
    assert_int_equal(tb_program_get_stats(prog)->origin, TB_PROGRAM_PREBUILT);
    tb_program_free(prog);
    tb_device_close(board);
    set_options(f, NULL, false, NULL);
    tb_error_clear(&err);
    free(source);
}

/* tb_program_check compiles without building, caching or exporting: the
 * same message as a failed build, and nothing left behind either way. */
static void test_check(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], xdir[PATH_MAX];
    use_cache("check", dir, sizeof dir);
    snprintf(xdir, sizeof xdir, "%s/check-export", scratch);
    set_options(f, NULL, false, xdir);
    tb_program_part part = {.text = "inline real f(real x)\n{\n    return x * undeclared_thing_43;\n}\n",
                            .label = "my_model dfun"};
    tb_error err = {0};
    char *broken = tb_program_assemble(TB_DOUBLE, &part, 1, &err);
    assert_int_equal(tb_program_check(f->dev, broken, "", "model 'm'", &err), TB_ERR_DEVICE);
    const char *msg = tb_error_message(&err);
    assert_non_null(strstr(msg, "kernel build failed for model 'm' on"));
    assert_non_null(strstr(msg, "my_model dfun:3:"));
    tb_error_clear(&err);
    char *good = assemble_saxpy(TB_DOUBLE);
    assert_int_equal(tb_program_check(f->dev, good, "", "test saxpy", &err), TB_OK);
    assert_null(err.message);
    assert_int_equal(tu_count_suffix(dir, ".bin", NULL, 0), 0);
    assert_int_equal(tu_count_suffix(xdir, ".cl", NULL, 0), 0);
    /* where nothing may be compiled there is nothing to check */
    set_options(f, NULL, true, NULL);
    assert_int_equal(tb_program_check(f->dev, broken, "", "model 'm'", &err), TB_OK);
    set_options(f, NULL, false, NULL);
    free(broken);
    free(good);
}

/* tb_program_is_built: true once the cache or the kernels folder has the
 * program, for these options and this source only. */
static void test_is_built(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], kdir[PATH_MAX];
    use_cache("is-built", dir, sizeof dir);
    char *source = assemble_saxpy(TB_DOUBLE);
    tb_error err = {0};
    assert_false(tb_program_is_built(f->dev, source, "", "test saxpy"));
    tb_program_free(build(f, source, "", TB_OK, &err));
    assert_true(tb_program_is_built(f->dev, source, "", "test saxpy"));
    assert_false(tb_program_is_built(f->dev, source, "-DVARIANT=3", "test saxpy"));

    snprintf(kdir, sizeof kdir, "%s/is-built-prebuilt", scratch);
    set_options(f, NULL, false, kdir);
    tb_program_free(build(f, source, "-DVARIANT=4", TB_OK, &err));
    use_cache("is-built-empty", dir, sizeof dir);
    assert_false(tb_program_is_built(f->dev, source, "-DVARIANT=4", "test saxpy"));
    set_options(f, kdir, false, NULL);
    assert_true(tb_program_is_built(f->dev, source, "-DVARIANT=4", "test saxpy"));
    set_options(f, NULL, false, NULL);
    free(source);
}

static void test_random123(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    use_cache("random123", dir, sizeof dir);
    enum { N = 64 };
    uint32_t ck[N * 6], out[N * 4];
    /* The published known-answer vectors (Random123 kat_vectors) first. */
    const uint32_t kat_in[2][6] = {
        {0, 0, 0, 0, 0, 0},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0}};
    const uint32_t kat_out[2][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                    {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 6; j++)
            ck[6 * i + j] = i < 2 ? kat_in[i][j] : (uint32_t)(i * 2654435761u + j * 40503u);

    tb_program_part part = {.text = philox_source, .label = "philox test"};
    tb_error err = {0};
    char *source = tb_program_assemble(f->prec, &part, 1, &err);
    tb_program *prog = NULL;
    if (tb_program_build(f->dev, source, NULL, "philox test", &prog, &err) != TB_OK)
        fail_msg("%s", tb_error_message(&err));
    cl_kernel k = tb_program_kernel(prog, "draw", &err);
    assert_non_null(k);
    cl_mem bin = tb_device_alloc(f->dev, sizeof ck, ck, "counters", &err);
    cl_mem bout = tb_device_alloc(f->dev, sizeof out, NULL, "draws", &err);
    assert_non_null(bin);
    assert_non_null(bout);
    clSetKernelArg(k, 0, sizeof bin, &bin);
    clSetKernelArg(k, 1, sizeof bout, &bout);
    size_t global = N;
    cl_command_queue q = tb_device_queue(f->dev);
    assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(q, bout, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < N; i++) {
        philox4x32_ctr_t c = {{ck[6 * i], ck[6 * i + 1], ck[6 * i + 2], ck[6 * i + 3]}};
        philox4x32_key_t key = {{ck[6 * i + 4], ck[6 * i + 5]}};
        philox4x32_ctr_t r = philox4x32(c, key);
        for (int j = 0; j < 4; j++) {
            assert_int_equal(out[4 * i + j], r.v[j]);
            if (i < 2)
                assert_int_equal(r.v[j], kat_out[i][j]);
        }
    }
    clReleaseMemObject(bin);
    clReleaseMemObject(bout);
    clReleaseKernel(k);
    tb_program_free(prog);

    /* The include directory comes from TWINBRAIN_RANDOM123_INCLUDE when set. */
    setenv("TWINBRAIN_RANDOM123_INCLUDE", "/nonexistent/random123", 1);
    assert_int_equal(tb_program_build(f->dev, source, NULL, "philox test", &prog, &err),
                     TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "philox.h"));
    unsetenv("TWINBRAIN_RANDOM123_INCLUDE");
    tb_error_clear(&err);
    free(source);
}

int main(void)
{
    unsetenv("TWINBRAIN_DEVICE");
    unsetenv("TWINBRAIN_NO_CACHE");
    unsetenv("TWINBRAIN_RANDOM123_INCLUDE");
    snprintf(scratch, sizeof scratch, "/tmp/tb-test-program-XXXXXX");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    /* PoCL's own kernel cache goes to the scratch directory as well. */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pocl", scratch);
    setenv("POCL_CACHE_DIR", path, 1);
    snprintf(path, sizeof path, "%s/caches/default", scratch);
    setenv("TWINBRAIN_CACHE_DIR", path, 1);

    /* No device needed: once. */
    const struct CMUnitTest host_tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_precision_name),
        cmocka_unit_test(test_kernel_dir),
        cmocka_unit_test(test_cache_dir),
        cmocka_unit_test(test_assemble_prelude),
        cmocka_unit_test(test_assemble_parts),
    };
    /* On every device. */
    const struct CMUnitTest device_tests[] = {
        cmocka_unit_test(test_build_double),
        cmocka_unit_test(test_build_single),
        cmocka_unit_test(test_build_error),
        cmocka_unit_test(test_kernel_missing),
        cmocka_unit_test(test_cache_hit),
        cmocka_unit_test(test_cache_store_policy),
        cmocka_unit_test(test_cache_corrupt),
        cmocka_unit_test(test_cache_truncated_driver_binary),
        cmocka_unit_test(test_cache_not_a_file),
        cmocka_unit_test(test_binary_sizes),
        cmocka_unit_test(test_cache_foreign_entry),
        cmocka_unit_test(test_cache_disabled),
        cmocka_unit_test(test_cache_unwritable),
        cmocka_unit_test(test_kernels_folder),
        cmocka_unit_test(test_no_compiler_device),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_is_built),
        cmocka_unit_test(test_random123),
    };
    int failed = cmocka_run_group_tests_name("host", host_tests, NULL, NULL);
    tb_error err = {0};
    if (tb_device_list(&devices, &n_devices, &err) != TB_OK) {
        fprintf(stderr, "tb_device_list: %s\n", tb_error_message(&err));
        tb_error_clear(&err);
        tu_remove_tree(scratch);
        return 1;
    }
    size_t *order = calloc(n_devices + 1, sizeof *order);
    size_t n_test = order ? tu_test_devices(devices, n_devices, order) : 0;
    if (n_test == 0)
        printf("SKIP: no usable OpenCL device: the device tests did not run\n");
    int failed_devices = 0;
    for (size_t k = 0; k < n_test; k++) {
        current = order[k];
        tu_device_header("test_program", &devices[current]);
        int nf = cmocka_run_group_tests_name("device", device_tests, setup, teardown);
        fflush(stdout);
        if (nf) {
            printf("FAIL on device %d (%s): %d test(s)\n", devices[current].index, devices[current].name, nf);
            failed_devices++;
        }
        failed += nf;
    }
    free(order);
    tb_device_list_free(devices);
    tu_remove_tree(scratch);
    if (failed)
        printf("FAIL: %d test(s) failed, on %d device(s) and the host\n", failed, failed_devices);
    return failed ? 1 : (n_test == 0 ? 77 : 0);
}
