/* The device layer on the machine's real OpenCL (PoCL in CI), plus selector
 * logic on synthetic device lists for the cases PoCL cannot show (GPUs,
 * devices without fp64, unavailable devices). Opening, allocating and
 * reading back run as one group per device (tests/unit/testdevices.h), under
 * a line naming it; the rest runs once.
 *
 * PoCL shows two CPU devices in one platform when POCL_DEVICES names both
 * of its CPU drivers: tests/env.sh sets it (PoCL 3: "pthread basic", PoCL 4
 * and later: "cpu cpu-minimal"); run by hand without it, main() sets PoCL
 * 3's names before the first OpenCL call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testdevices.h"
#include "testutil.h"
#include "twinbrain/device.h"

static char scratch[256]; /* the private directory main() creates */

typedef struct fixture {
    tb_device_info *list;
    size_t n;
    int pocl_platform; /* P of PoCL, or -1 */
    /* list positions of the two PoCL devices: the single-threaded driver
     * (basic, PoCL 4: cpu-minimal) and the threaded one (pthread, PoCL 4: cpu) */
    size_t basic, pthread;
    size_t pocl_count;
} fixture;

static bool is_pocl(const tb_device_info *d)
{
    return strstr(d->platform_name, "Portable Computing Language") != NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tb_error err = {0};
    if (!f || tb_device_list(&f->list, &f->n, &err) != TB_OK) {
        fprintf(stderr, "tb_device_list: %s\n", tb_error_message(&err));
        tb_error_clear(&err);
        free(f);
        return -1;
    }
    f->pocl_platform = -1;
    f->basic = f->pthread = SIZE_MAX;
    for (size_t i = 0; i < f->n; i++) {
        const tb_device_info *d = &f->list[i];
        if (!is_pocl(d))
            continue;
        f->pocl_platform = d->platform_index;
        f->pocl_count++;
        if (strncmp(d->name, "basic", 5) == 0 || strncmp(d->name, "cpu-minimal", 11) == 0)
            f->basic = i;
        else if (strncmp(d->name, "pthread", 7) == 0 || strncmp(d->name, "cpu", 3) == 0)
            f->pthread = i;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tb_device_list_free(f->list);
    free(f);
    return 0;
}

static void need_two_pocl_devices(const fixture *f)
{
    if (f->pocl_count != 2 || f->basic == SIZE_MAX || f->pthread == SIZE_MAX) {
        printf("SKIP: PoCL does not show its two CPU drivers here (POCL_DEVICES=%s)\n",
               getenv("POCL_DEVICES") ? getenv("POCL_DEVICES") : "");
        fflush(stdout);
        skip();
    }
}

/* The index `auto` must choose, computed independently of the library. */
static size_t expected_best(const fixture *f, int type, bool need_fp64)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < f->n; i++) {
        const tb_device_info *d = &f->list[i];
        if ((type && (int)d->type != type) || d->score <= 0 || !d->available ||
            (need_fp64 && !d->fp64))
            continue;
        if (best == SIZE_MAX || d->score > f->list[best].score)
            best = i;
    }
    return best;
}

static tb_status sel(const fixture *f, const char *selector, bool fp64, size_t *chosen,
                     tb_error *err)
{
    return tb_device_select(f->list, f->n, selector, fp64, chosen, err);
}

static void assert_selects(const fixture *f, const char *selector, bool fp64, size_t want)
{
    tb_error err = {0};
    size_t chosen = SIZE_MAX;
    tb_status st = sel(f, selector, fp64, &chosen, &err);
    if (st != TB_OK)
        fprintf(stderr, "selector \"%s\": %s\n", selector, tb_error_message(&err));
    assert_int_equal(st, TB_OK);
    assert_int_equal(chosen, want);
    tb_error_clear(&err);
}

/* The message names the problem and lists every device in the documented
 * "  INDEX  P:D  TYPE  NAME (PLATFORM)" form. */
static void assert_fails_listing(const fixture *f, const char *selector, const char *headline)
{
    tb_error err = {0};
    size_t chosen = 12345;
    assert_int_equal(sel(f, selector, false, &chosen, &err), TB_ERR_DEVICE);
    assert_int_equal(err.status, TB_ERR_DEVICE);
    assert_int_equal(chosen, 12345);
    const char *msg = tb_error_message(&err);
    assert_non_null(strstr(msg, headline));
    assert_non_null(strstr(msg, "available devices:"));
    for (size_t i = 0; i < f->n; i++) {
        const tb_device_info *d = &f->list[i];
        char line[1024];
        snprintf(line, sizeof line, "\n  %d  %d:%d  %s  %s (%s)", d->index, d->platform_index,
                 d->device_index, tb_device_type_name(d->type), d->name, d->platform_name);
        assert_non_null(strstr(msg, line));
    }
    tb_error_clear(&err);
}

/* ------------------------------------------------------------ error names */

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(tb_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    assert_string_equal(tb_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    assert_string_equal(tb_cl_error_name(CL_INVALID_KERNEL_NAME), "CL_INVALID_KERNEL_NAME");
    assert_string_equal(tb_cl_error_name(-72), "CL_MAX_SIZE_RESTRICTION_EXCEEDED");
    assert_string_equal(tb_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(tb_cl_error_name(4242), "CL_UNKNOWN_ERROR");
    /* Every core code of OpenCL 1.2 to 3.0 has its own name. */
    for (cl_int code = 0; code >= -72; code--) {
        if (code < -19 && code > -30)
            continue;
        const char *name = tb_cl_error_name(code);
        assert_true(strncmp(name, "CL_", 3) == 0);
        assert_string_not_equal(name, "CL_UNKNOWN_ERROR");
        for (cl_int other = code + 1; other <= 0; other++)
            assert_string_not_equal(name, tb_cl_error_name(other));
    }
}

/* ------------------------------------------------------------ enumeration */

static void test_enumerate(void **state)
{
    fixture *f = *state;
    assert_true(f->n >= 1);
    for (size_t i = 0; i < f->n; i++) {
        const tb_device_info *d = &f->list[i];
        assert_int_equal(d->index, (int)i);
        assert_non_null(d->id);
        assert_non_null(d->platform);
        assert_true(d->name[0] && d->platform_name[0] && d->vendor[0]);
        assert_true(d->driver_version[0] && d->platform_version[0]);
        assert_true(strncmp(d->device_version, "OpenCL ", 7) == 0);
        assert_true(strncmp(d->opencl_c_version, "OpenCL C ", 9) == 0);
        assert_true(d->compute_units >= 1);
        assert_true(d->global_mem_bytes > 0);
        assert_true(d->max_alloc_bytes > 0 && d->max_alloc_bytes <= d->global_mem_bytes);
        assert_true(d->local_mem_bytes > 0);
        assert_true(d->max_work_group_size >= 1);
        assert_true(d->max_work_item_dims >= 3);
        for (int k = 0; k < 3; k++)
            assert_true(d->max_work_item_sizes[k] >= 1);
        assert_true(d->score == tb_device_score(d));
        if (i > 0) {
            /* Global order: platforms in order, devices in order within each. */
            const tb_device_info *prev = &f->list[i - 1];
            assert_true(d->platform_index > prev->platform_index ||
                        (d->platform_index == prev->platform_index &&
                         d->device_index == prev->device_index + 1));
        }
    }
}

static void test_enumerate_pocl(void **state)
{
    fixture *f = *state;
    need_two_pocl_devices(f);
    const tb_device_info *basic = &f->list[f->basic];
    const tb_device_info *pthread = &f->list[f->pthread];
    assert_true(f->basic != f->pthread);
    assert_int_equal(basic->platform_index, pthread->platform_index);
    for (const tb_device_info *d = basic; d; d = d == basic ? pthread : NULL) {
        assert_int_equal(d->type, TB_DEVICE_CPU);
        assert_true(d->fp64); /* PoCL's CPU drivers have cl_khr_fp64 */
        assert_true(d->available);
        assert_true(d->compiler_available);
        assert_true(d->score >= 100.0 && d->score < 200.0); /* the CPU band */
    }
}

/* ------------------------------------------------------------ selection */

static void test_select_explicit(void **state)
{
    fixture *f = *state;
    need_two_pocl_devices(f);
    assert_selects(f, "0", false, 0);
    assert_selects(f, "1", false, 1);
    assert_selects(f, " 1 ", false, 1);
    char pd[32];
    snprintf(pd, sizeof pd, "%d:%d", f->list[f->pthread].platform_index,
             f->list[f->pthread].device_index);
    assert_selects(f, pd, false, f->pthread);
    snprintf(pd, sizeof pd, "%d:%d", f->pocl_platform, 1);
    size_t want = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->list[i].platform_index == f->pocl_platform && f->list[i].device_index == 1)
            want = i;
    assert_selects(f, pd, false, want);
    /* By name (whole names: PoCL 4's "cpu" is part of "cpu-minimal"), in
     * any case. */
    char by_name[sizeof f->list[0].name + 8];
    snprintf(by_name, sizeof by_name, "name~%s", f->list[f->basic].name);
    assert_selects(f, by_name, false, f->basic);
    for (char *c = by_name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    assert_selects(f, by_name, true, f->basic);
    snprintf(by_name, sizeof by_name, "name~%s", f->list[f->pthread].name);
    assert_selects(f, by_name, false, f->pthread);
    /* A platform-name match covers both devices: the better score wins,
     * ties going to the lower index. */
    size_t best = f->basic < f->pthread ? f->basic : f->pthread;
    if (f->list[f->basic].score != f->list[f->pthread].score)
        best = f->list[f->basic].score > f->list[f->pthread].score ? f->basic : f->pthread;
    assert_selects(f, "name~portable computing", false, best);
}

static void test_select_auto_and_type(void **state)
{
    fixture *f = *state;
    size_t best = expected_best(f, 0, false);
    assert_true(best != SIZE_MAX);
    assert_selects(f, "auto", false, best);
    assert_selects(f, "AUTO", false, best);
    assert_selects(f, NULL, false, best);
    assert_selects(f, "", false, best);
    assert_selects(f, "auto", true, expected_best(f, 0, true));
    size_t cpu = expected_best(f, TB_DEVICE_CPU, false);
    if (cpu != SIZE_MAX)
        assert_selects(f, "cpu", false, cpu);
}

static void test_select_env_default(void **state)
{
    fixture *f = *state;
    if (f->n < 2)
        skip();
    setenv("TWINBRAIN_DEVICE", "1", 1);
    assert_selects(f, NULL, false, 1);
    assert_selects(f, "", false, 1);
    assert_selects(f, "0", false, 0); /* an explicit selector wins */
    setenv("TWINBRAIN_DEVICE", "bogus::", 1);
    tb_error err = {0};
    size_t chosen;
    assert_int_equal(sel(f, NULL, false, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "TWINBRAIN_DEVICE"));
    assert_non_null(strstr(tb_error_message(&err), "unknown device selector"));
    tb_error_clear(&err);
    unsetenv("TWINBRAIN_DEVICE");
    assert_selects(f, NULL, false, expected_best(f, 0, false));
}

static void test_select_no_match(void **state)
{
    fixture *f = *state;
    need_two_pocl_devices(f);
    assert_fails_listing(f, "7", "no OpenCL device matches selector \"7\"");
    assert_fails_listing(f, "3:0", "no OpenCL device matches selector \"3:0\"");
    assert_fails_listing(f, "name~no-such-device", "matches selector \"name~no-such-device\"");
    if (expected_best(f, TB_DEVICE_GPU, false) == SIZE_MAX)
        assert_fails_listing(f, "gpu", "no OpenCL device matches selector \"gpu\"");
    if (expected_best(f, TB_DEVICE_ACCELERATOR, false) == SIZE_MAX)
        assert_fails_listing(f, "accelerator", "matches selector \"accelerator\"");
}

static void test_select_grammar(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"bogus::", "bogus", "name~", "0:", ":1", "-1", "1.5", "0:1:2", "cpu0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_error err = {0};
        size_t chosen = 99;
        assert_int_equal(sel(f, bad[i], false, &chosen, &err), TB_ERR_DEVICE);
        assert_int_equal(chosen, 99);
        const char *msg = tb_error_message(&err);
        assert_non_null(strstr(msg, "unknown device selector"));
        assert_non_null(strstr(msg, bad[i]));
        /* It teaches the grammar. */
        assert_non_null(strstr(msg, "auto"));
        assert_non_null(strstr(msg, "accelerator"));
        assert_non_null(strstr(msg, "P:D"));
        assert_non_null(strstr(msg, "name~TEXT"));
        tb_error_clear(&err);
    }
}

/* ------------------------------------------------------------ synthetic */

static tb_device_info fake(int index, tb_device_type type, const char *name, unsigned cu,
                           unsigned mhz, bool fp64)
{
    tb_device_info d;
    memset(&d, 0, sizeof d);
    d.index = index;
    d.platform_index = index < 3 ? 0 : 1;
    d.device_index = index < 3 ? index : index - 3;
    d.type = type;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.platform_name, sizeof d.platform_name, "%s", index < 3 ? "Alpha" : "Beta");
    d.compute_units = cu;
    d.clock_mhz = mhz;
    d.fp64 = fp64;
    d.available = true;
    d.compiler_available = true;
    d.score = tb_device_score(&d);
    return d;
}

/* Several devices for one run: `all`, lists, and the fp64 rule per device. */
static void assert_many(const tb_device_info *list, size_t n, const char *text, bool fp64, const size_t *want,
                        size_t n_want)
{
    size_t *chosen = NULL, got = 0;
    tb_error err = {0};
    tb_status st = tb_device_select_many(list, n, text, fp64, &chosen, &got, &err);
    if (st != TB_OK)
        fail_msg("select_many(\"%s\"): %s", text, tb_error_message(&err));
    assert_int_equal(got, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_int_equal(chosen[i], want[i]);
    free(chosen);
}

static void test_select_many_synthetic(void **state)
{
    (void)state;
    tb_device_info list[4];
    list[0] = fake(0, TB_DEVICE_CPU, "CPU", 64, 3000, true);
    list[1] = fake(1, TB_DEVICE_GPU, "GPU without fp64", 80, 1500, false);
    list[2] = fake(2, TB_DEVICE_GPU, "GPU", 10, 1000, true);
    list[3] = fake(3, TB_DEVICE_ACCELERATOR, "FPGA", 8, 300, true);
    list[3].compiler_available = false;
    list[3].score = tb_device_score(&list[3]);
    assert_many(list, 4, "all", false, (size_t[]){0, 1, 2}, 3);
    assert_many(list, 4, "all", true, (size_t[]){0, 2}, 2);
    assert_many(list, 4, "auto", false, (size_t[]){1}, 1);
    assert_many(list, 4, "2,0", true, (size_t[]){2, 0}, 2);
    assert_many(list, 4, "gpu,cpu", true, (size_t[]){2, 0}, 2);
    assert_many(list, 4, " 3 ,0", false, (size_t[]){3, 0}, 2); /* explicit: prebuilt binaries may run there */

    size_t *chosen = NULL, n = 0;
    tb_error err = {0};
    assert_int_equal(tb_device_select_many(list, 4, "1,2", true, &chosen, &n, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "device 1 (GPU without fp64) has no fp64 support"));
    assert_null(chosen);
    assert_int_equal(tb_device_select_many(list, 4, "gpu,2", true, &chosen, &n, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "\"gpu\" and \"2\" both choose device 2"));
    list[0].fp64 = list[2].fp64 = false;
    assert_int_equal(tb_device_select_many(list, 4, "all", true, &chosen, &n, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "without fp64 support"));
    tb_error_clear(&err);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(tb_device_type_name(TB_DEVICE_CPU), "CPU");
    assert_string_equal(tb_device_type_name(TB_DEVICE_GPU), "GPU");
    assert_string_equal(tb_device_type_name(TB_DEVICE_ACCELERATOR), "ACCELERATOR");
    assert_string_equal(tb_device_type_name(TB_DEVICE_OTHER), "OTHER");
    assert_string_equal(tb_device_type_name((tb_device_type)0), "OTHER");
}

static void test_score(void **state)
{
    (void)state;
    tb_device_info weak_gpu = fake(0, TB_DEVICE_GPU, "g", 1, 0, true);
    tb_device_info huge_cpu = fake(1, TB_DEVICE_CPU, "c", 4096, 10000, true);
    tb_device_info acc = fake(2, TB_DEVICE_ACCELERATOR, "a", 1, 100, true);
    tb_device_info other = fake(3, TB_DEVICE_OTHER, "o", 1000, 1000, true);
    assert_true(weak_gpu.score > acc.score);
    assert_true(acc.score > huge_cpu.score);
    assert_true(huge_cpu.score > other.score);
    assert_true(other.score > 0.0);
    /* Monotone in compute units x clock within a type. */
    double last = 0.0;
    for (unsigned cu = 1; cu <= 1024; cu *= 2) {
        tb_device_info d = fake(0, TB_DEVICE_CPU, "c", cu, 2000, true);
        assert_true(d.score > last);
        assert_true(d.score >= 100.0 && d.score < 200.0);
        last = d.score;
    }
    tb_device_info off = fake(0, TB_DEVICE_GPU, "g", 80, 2000, true);
    off.available = false;
    assert_true(tb_device_score(&off) == 0.0);
    tb_device_info fpga = fake(0, TB_DEVICE_ACCELERATOR, "f", 80, 2000, true);
    fpga.compiler_available = false;
    assert_true(tb_device_score(&fpga) == 0.0);
}

static void test_select_synthetic(void **state)
{
    (void)state;
    tb_device_info list[6];
    list[0] = fake(0, TB_DEVICE_CPU, "Big CPU", 64, 3000, true);
    list[1] = fake(1, TB_DEVICE_GPU, "Fast GPU", 80, 1500, false);
    list[2] = fake(2, TB_DEVICE_GPU, "Slow GPU", 10, 1000, true);
    list[3] = fake(3, TB_DEVICE_ACCELERATOR, "Busy FPGA", 8, 300, true);
    list[3].available = false;
    list[3].score = tb_device_score(&list[3]);
    list[4] = fake(4, TB_DEVICE_ACCELERATOR, "Offline FPGA", 8, 300, true);
    list[4].compiler_available = false;
    list[4].score = tb_device_score(&list[4]);
    list[5] = fake(5, TB_DEVICE_CPU, "Big CPU twin", 64, 3000, true);
    fixture f = {.list = list, .n = 6};

    assert_selects(&f, "auto", false, 1);
    assert_selects(&f, "auto", true, 2);
    assert_selects(&f, "gpu", false, 1);
    assert_selects(&f, "gpu", true, 2);
    assert_selects(&f, "cpu", true, 0);        /* tie with 5: lowest index */
    assert_selects(&f, "name~big cpu", true, 0);
    assert_selects(&f, "name~beta", false, 5); /* 3 busy, 4 has no compiler: lower score */
    assert_selects(&f, "4", true, 4);          /* explicit: prebuilt kernels may still run */
    assert_selects(&f, "1:1", false, 4);
    assert_selects(&f, "1", false, 1);

    tb_error err = {0};
    size_t chosen;
    assert_int_equal(sel(&f, "1", true, &chosen, &err), TB_ERR_DEVICE);
    assert_string_equal(tb_error_message(&err),
                        "device 1 (Fast GPU) has no fp64 support; use precision = \"single\" "
                        "or choose another device; available devices:\n"
                        "  0  0:0  CPU  Big CPU (Alpha)\n"
                        "  1  0:1  GPU  Fast GPU (Alpha)\n"
                        "  2  0:2  GPU  Slow GPU (Alpha)\n"
                        "  3  1:0  ACCELERATOR  Busy FPGA (Beta)\n"
                        "  4  1:1  ACCELERATOR  Offline FPGA (Beta)\n"
                        "  5  1:2  CPU  Big CPU twin (Beta)");
    assert_int_equal(sel(&f, "name~fast", true, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "device 1 (Fast GPU) has no fp64 support"));
    assert_int_equal(sel(&f, "3", false, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "device 3 (Busy FPGA) is not available"));
    assert_int_equal(sel(&f, "accelerator", false, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "no usable OpenCL device"));
    assert_non_null(strstr(tb_error_message(&err), "1 not available"));
    assert_non_null(strstr(tb_error_message(&err), "1 without an online compiler"));

    /* Only GPUs without fp64 left: the message says why. */
    list[2].fp64 = false;
    assert_int_equal(sel(&f, "gpu", true, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "2 without fp64 support"));
    assert_non_null(strstr(tb_error_message(&err), "precision = \"single\""));
    tb_error_clear(&err);
}

static void test_select_empty(void **state)
{
    (void)state;
    tb_error err = {0};
    size_t chosen;
    assert_int_equal(tb_device_select(NULL, 0, "auto", false, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "no OpenCL devices found"));
    assert_non_null(strstr(tb_error_message(&err), "pocl-opencl-icd"));
    assert_int_equal(tb_device_select(NULL, 0, "bogus::", false, &chosen, &err), TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "unknown device selector"));
    tb_error_clear(&err);
}

/* With no ICD at all the loader reports CL_PLATFORM_NOT_FOUND_KHR; that
 * must read as an empty list. The loader reads its configuration once per
 * process, so the check runs in a fresh copy of this program. */
static int no_platforms_child(void)
{
    tb_device_info *list = (tb_device_info *)1;
    size_t n = 99, chosen;
    tb_error err = {0};
    if (tb_device_list(&list, &n, &err) != TB_OK || n != 0 || list != NULL)
        return 1;
    tb_status st = tb_device_select(list, n, NULL, false, &chosen, &err);
    int rc = st == TB_ERR_DEVICE && strstr(tb_error_message(&err), "pocl-opencl-icd") ? 0 : 2;
    tb_error_clear(&err);
    return rc;
}

extern char **environ;

static void test_no_platforms(void **state)
{
    (void)state;
    char empty[PATH_MAX], setting[PATH_MAX + 32];
    snprintf(empty, sizeof empty, "%s/no-icds", scratch);
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(setting, sizeof setting, "OCL_ICD_VENDORS=%s", empty);
    /* The child's environment is built before fork(): PoCL's threads may
     * hold the allocator's lock, so the child only calls execve(). */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "OCL_ICD_", 8) != 0)
            envp[k++] = environ[i];
    envp[k++] = setting;
    envp[k] = NULL;
    /* readlink, not execve("/proc/self/exe"): under valgrind only the
     * former names this program rather than the tool. */
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(len > 0);
    self[len] = '\0';
    char *args[] = {self, "--no-platforms-child", NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execve(self, args, envp);
        _exit(127);
    }
    free(envp);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------ open/alloc */

/* The device the device group runs on: main()'s list and a position in it. */
static const tb_device_info *device_list;
static size_t device_current;

static void test_open_and_alloc(void **state)
{
    (void)state;
    const tb_device_info *d = &device_list[device_current];
    tb_device *dev = NULL;
    tb_error err = {0};
    assert_int_equal(tb_device_open(d, &dev, &err), TB_OK);
    assert_non_null(dev);
    assert_ptr_equal(tb_device_get_info(dev)->id, d->id);
    assert_string_equal(tb_device_get_info(dev)->name, d->name);
    cl_command_queue q = tb_device_queue(dev);
    assert_non_null(tb_device_context(dev));
    assert_non_null(q);
    cl_command_queue_properties props = 0;
    assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof props, &props,
                                           NULL),
                     CL_SUCCESS);
    assert_true(props & CL_QUEUE_PROFILING_ENABLE);
    assert_false(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);

    enum { N = 1 << 18 };
    uint32_t *host = malloc(N * sizeof *host), *back = calloc(N, sizeof *back);
    assert_non_null(host);
    assert_non_null(back);
    for (uint32_t k = 0; k < N; k++)
        host[k] = k * 2654435761u;
    cl_mem mem = tb_device_alloc(dev, N * sizeof *host, host, "test pattern", &err);
    assert_non_null(mem);
    assert_int_equal(clEnqueueReadBuffer(q, mem, CL_TRUE, 0, N * sizeof *host, back, 0,
                                         NULL, NULL),
                     CL_SUCCESS);
    assert_memory_equal(host, back, N * sizeof *host);
    clReleaseMemObject(mem);
    mem = tb_device_alloc(dev, 4096, NULL, "scratch", &err);
    assert_non_null(mem);
    clReleaseMemObject(mem);
    free(host);
    free(back);

    /* Beyond the largest single allocation: refused with the numbers. */
    uint64_t too_big = d->max_alloc_bytes + 1;
    if (too_big <= SIZE_MAX) {
        assert_null(tb_device_alloc(dev, (size_t)too_big, NULL, "connectome weights",
                                    &err));
        assert_int_equal(err.status, TB_ERR_DEVICE);
        const char *msg = tb_error_message(&err);
        assert_non_null(strstr(msg, "connectome weights"));
        assert_non_null(strstr(msg, "MiB"));
        assert_non_null(strstr(msg, "maximum single allocation"));
        assert_non_null(strstr(msg, "global memory"));
        assert_non_null(strstr(msg, d->name));
    }
    assert_null(tb_device_alloc(dev, 0, NULL, "nothing", &err));
    assert_non_null(strstr(tb_error_message(&err), "nothing"));
    tb_error_clear(&err);
    tb_device_close(dev);
}

/* Buffers that together exceed the device's memory are refused at the one
 * that tips it over, naming what the run holds; a released buffer gives its
 * bytes back. Buffers are never written, so no memory is touched. */
static void test_alloc_ledger(void **state)
{
    (void)state;
    const tb_device_info *d = &device_list[device_current];
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* gigabytes of (untouched) buffers through the sanitizer's allocator: not what it is for */
#endif
    if (d->global_mem_bytes == 0 || d->max_alloc_bytes == 0)
        skip();
    size_t piece = (size_t)(d->max_alloc_bytes < d->global_mem_bytes / 2 ? d->max_alloc_bytes
                                                                          : d->global_mem_bytes / 2);
    size_t fit = (size_t)(d->global_mem_bytes / piece);
    tb_device *dev = NULL;
    tb_error err = {0};
    assert_int_equal(tb_device_open(d, &dev, &err), TB_OK);
    cl_mem *held = calloc(fit + 1, sizeof *held);
    assert_non_null(held);
    for (size_t k = 0; k < fit; k++) {
        held[k] = tb_device_alloc(dev, piece, NULL, "a piece", &err);
        if (!held[k])
            fail_msg("piece %zu of %zu refused: %s", k, fit, tb_error_message(&err));
    }
    assert_null(tb_device_alloc(dev, piece, NULL, "one piece too many", &err));
    assert_int_equal(err.status, TB_ERR_DEVICE);
    assert_non_null(strstr(tb_error_message(&err), "one piece too many"));
    assert_non_null(strstr(tb_error_message(&err), "the run already holds"));
    tb_error_clear(&err);
    clReleaseMemObject(held[0]);
    held[0] = tb_device_alloc(dev, piece, NULL, "a piece again", &err);
    if (!held[0])
        fail_msg("a released buffer's bytes did not come back: %s", tb_error_message(&err));
    for (size_t k = 0; k < fit; k++)
        clReleaseMemObject(held[k]);
    free(held);
    tb_device_close(dev);
}

/* The huge-page hint before a buffer's first write: the buffer is then
 * written and read back intact, on every device (a no-op off CPUs). On a
 * CPU device under Linux the VMA holding its first 2 MiB boundary is looked up in
 * /proc/self/smaps and its huge pages reported: not asserted, since the
 * kernel may lack free huge pages at that moment. */
static long vma_huge_kb(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    long kb = -1;
    int inside = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

static void test_advise_scattered(void **state)
{
    (void)state;
    const tb_device_info *d = &device_list[device_current];
    tb_device *dev = NULL;
    tb_error err = {0};
    assert_int_equal(tb_device_open(d, &dev, &err), TB_OK);
    cl_command_queue q = tb_device_queue(dev);
    /* 64 MiB: above the hint's threshold and glibc's largest mmap
     * threshold (32 MiB), so the buffer's pages are fresh */
    enum { N = 16 << 20 };
    uint32_t *host = malloc(N * sizeof *host), *back = calloc(N, sizeof *back);
    assert_non_null(host);
    assert_non_null(back);
    for (uint32_t k = 0; k < N; k++)
        host[k] = k * 2654435761u;
    cl_mem mem = tb_device_alloc(dev, N * sizeof *host, NULL, "synapses", &err);
    assert_non_null(mem);
    tb_device_advise_scattered(dev, mem, N * sizeof *host);
    assert_int_equal(clEnqueueWriteBuffer(q, mem, CL_TRUE, 0, N * sizeof *host, host, 0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(q, mem, CL_TRUE, 0, N * sizeof *host, back, 0, NULL, NULL), CL_SUCCESS);
    assert_memory_equal(host, back, N * sizeof *host);
    if (d->type == TB_DEVICE_CPU) {
        cl_int rc = CL_SUCCESS;
        void *p = clEnqueueMapBuffer(q, mem, CL_TRUE, CL_MAP_READ, 0, N * sizeof *host, 0, NULL, NULL, &rc);
        assert_int_equal(rc, CL_SUCCESS);
        /* the advice split the mapping: look at the part from the first
         * 2 MiB boundary in the buffer */
        const uintptr_t huge = (uintptr_t)2 << 20, first = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        print_message("    huge pages in the buffer's mapping: %ld kB of %zu kB\n", vma_huge_kb((const void *)first),
                      N * sizeof *host / 1024);
        assert_int_equal(clEnqueueUnmapMemObject(q, mem, p, 0, NULL, NULL), CL_SUCCESS);
        clFinish(q);
    }
    clReleaseMemObject(mem);
    free(host);
    free(back);
    tb_device_close(dev);
}

static void test_open_unavailable(void **state)
{
    (void)state;
    tb_device_info d = fake(0, TB_DEVICE_GPU, "Gone GPU", 1, 1, true);
    d.available = false;
    tb_device *dev = (tb_device *)&d;
    tb_error err = {0};
    assert_int_equal(tb_device_open(&d, &dev, &err), TB_ERR_DEVICE);
    assert_null(dev);
    assert_non_null(strstr(tb_error_message(&err), "Gone GPU"));
    tb_error_clear(&err);
    tb_device_close(NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--no-platforms-child") == 0)
        return no_platforms_child();
    /* Before any OpenCL call: PoCL reads these once. */
    setenv("POCL_DEVICES", "pthread basic", 0); /* unless tests/env.sh chose */
    unsetenv("TWINBRAIN_DEVICE");
    snprintf(scratch, sizeof scratch, "/tmp/tb-test-device-XXXXXX");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pocl", scratch);
    setenv("POCL_CACHE_DIR", path, 1);
    snprintf(path, sizeof path, "%s/cache", scratch);
    setenv("TWINBRAIN_CACHE_DIR", path, 1);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_no_platforms),
        cmocka_unit_test(test_enumerate),
        cmocka_unit_test(test_enumerate_pocl),
        cmocka_unit_test(test_select_explicit),
        cmocka_unit_test(test_select_auto_and_type),
        cmocka_unit_test(test_select_env_default),
        cmocka_unit_test(test_select_no_match),
        cmocka_unit_test(test_select_grammar),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_select_synthetic),
        cmocka_unit_test(test_select_many_synthetic),
        cmocka_unit_test(test_select_empty),
        cmocka_unit_test(test_open_unavailable),
    };
    const struct CMUnitTest device_tests[] = {
        cmocka_unit_test(test_open_and_alloc),
        cmocka_unit_test(test_alloc_ledger),
        cmocka_unit_test(test_advise_scattered),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);

    /* Open, allocate, read back: on every device. */
    tb_device_info *list = NULL;
    size_t n = 0;
    tb_error err = {0};
    if (tb_device_list(&list, &n, &err) != TB_OK) {
        fprintf(stderr, "tb_device_list: %s\n", tb_error_message(&err));
        tb_error_clear(&err);
        tu_remove_tree(scratch);
        return 1;
    }
    size_t *order = calloc(n + 1, sizeof *order);
    size_t n_test = order ? tu_test_devices(list, n, order) : 0;
    if (n_test == 0)
        printf("SKIP: no usable OpenCL device: test_open_and_alloc did not run\n");
    device_list = list;
    for (size_t k = 0; k < n_test; k++) {
        device_current = order[k];
        tu_device_header("test_device", &list[device_current]);
        int nf = cmocka_run_group_tests_name("device", device_tests, NULL, NULL);
        fflush(stdout);
        if (nf)
            printf("FAIL on device %d (%s): %d test(s)\n", list[device_current].index,
                   list[device_current].name, nf);
        failed += nf;
    }
    free(order);
    tb_device_list_free(list);
    tu_remove_tree(scratch);
    return failed ? 1 : 0;
}
