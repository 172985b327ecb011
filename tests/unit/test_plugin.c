/* Unit tests of the kit boundary and plugin ABI 2: every refusal of the
 * plugin loader (wrong ABI, wrong descriptor or table size, unknown kind,
 * missing table, bad fields, a kind without a kit), an ABI 1 module refused
 * with a message to rebuild, and a stand-in kit registered by this test
 * that runs a scenario end to end, its device work done through the core
 * services table that plugins receive. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "kit.h"
#include "testutil.h"
#include "twinbrain/mass.h"
#include "twinbrain/plugin.h"
#include "twinbrain/spiking.h"

/* ------------------------------------------------------------ refusals */

static const tb_mass_var vars[] = {{"x", 0, -1, 1, -INFINITY, INFINITY, "", "state"}};
static const char *const coupled[] = {"x"};
static const tb_param_info params[] = {{"tau", 10.0, "ms", TB_POSITIVE, INFINITY, "time constant"}};

static tb_mass_model good_table(void)
{
    return (tb_mass_model){.head = TB_MASS_TABLE_HEADER, .n_vars = 1, .vars = vars, .n_coupled = 1,
                           .coupled = coupled, .dfun = "dx = -x / tau;"};
}

static tb_plugin good_plugin(const tb_mass_model *m)
{
    return (tb_plugin){TB_PLUGIN_HEADER, .kind = TB_MASS_KIND, .name = "leaky", .version = "1",
                       .params = params, .n_params = 1, .table = m};
}

/* The loader's verdict and its message, which must contain `want`. */
static void refused(const tb_plugin *p, const char *want)
{
    tb_error e = {0};
    assert_int_equal(tb_plugin_check(p, "leaky.so", &e), TB_ERR_INPUT);
    if (!strstr(tb_error_message(&e), want))
        fail_msg("message '%s' lacks '%s'", tb_error_message(&e), want);
    assert_non_null(strstr(tb_error_message(&e), "leaky.so"));
    tb_error_clear(&e);
}

static void accepts_a_good_plugin(void **state)
{
    (void)state;
    tb_mass_model m = good_table();
    tb_plugin p = good_plugin(&m);
    tb_error e = {0};
    assert_int_equal(tb_plugin_check(&p, "leaky.so", &e), TB_OK);
    tb_error_clear(&e);
}

static void refuses_wrong_abi_and_sizes(void **state)
{
    (void)state;
    tb_mass_model m = good_table();
    tb_plugin p = good_plugin(&m);
    p.abi_version = 1;
    refused(&p, "built for plugin ABI 1, but this twinbrain");
    refused(&p, "rebuild the plugin");
    p = good_plugin(&m);
    p.struct_size -= 8;
    refused(&p, "descriptor size");
    m.head.size -= 8;
    p = good_plugin(&m);
    refused(&p, "mass table size");
    m = good_table();
    m.head.version = TB_MASS_TABLE_VERSION + 1;
    refused(&p, "mass table version 2");
}

static void refuses_unknown_and_absent_kinds(void **state)
{
    (void)state;
    tb_mass_model m = good_table();
    tb_plugin p = good_plugin(&m);
    p.kind = "retina"; /* a kind this build has no kit for */
    refused(&p, "plugin kind 'retina' has no kit in this twinbrain");
    p.kind = "";
    refused(&p, "names no kind");
    p.kind = NULL;
    refused(&p, "names no kind");
    p = good_plugin(&m);
    p.table = NULL;
    refused(&p, "needs its table");
}

static void refuses_bad_descriptor_fields(void **state)
{
    (void)state;
    tb_mass_model m = good_table();
    tb_plugin p = good_plugin(&m);
    p.name = "no spaces";
    refused(&p, "is not an identifier");
    p = good_plugin(&m);
    p.params = NULL;
    refused(&p, "params is NULL");
    p = good_plugin(&m);
    p.reserved[3] = &m;
    refused(&p, "reserved descriptor fields");
    static const tb_param_info out_of_range[] = {{"tau", -1.0, "ms", TB_POSITIVE, INFINITY, ""}};
    p = good_plugin(&m);
    p.params = out_of_range;
    refused(&p, "lies outside");
    static const tb_param_info twice[] = {{"tau", 1, "", 0, 9, ""}, {"k", 1, "", 0, 9, ""}, {"tau", 1, "", 0, 9, ""}};
    p.params = twice, p.n_params = 3;
    refused(&p, "parameter 'tau' declared twice");
    static const tb_param_info half[] = {{"n", 1.5, "", 0, 9, "", TB_PARAM_INT}};
    p.params = half, p.n_params = 1;
    refused(&p, "integer parameter 'n' has default 1.5");
    static const char *const colours[] = {"red", "green", NULL};
    static const tb_param_info bad_choice[] = {{"c", 0, "", 0, 0, "", TB_PARAM_STRING, "blue", 0, colours}};
    p.params = bad_choice;
    refused(&p, "is not one of its choices");
    static const tb_param_info stringy[] = {{"file", 0, "", 0, 0, "", TB_PARAM_PATH, "w.h5"}};
    p.params = stringy;
    refused(&p, "mass models take numbers");
}

static void refuses_bad_kind_tables(void **state)
{
    (void)state;
    tb_mass_model m = good_table();
    tb_plugin p = good_plugin(&m);
    m.dfun = "";
    refused(&p, "no dfun snippet");
    m = good_table();
    static const tb_mass_var reserved_var[] = {{"region", 0, -1, 1, -INFINITY, INFINITY, "", ""}};
    m.vars = reserved_var;
    static const char *const coupled_region[] = {"region"};
    m.coupled = coupled_region;
    refused(&p, "state variable name 'region' is reserved");
    m = good_table();
    static const tb_param_info dx[] = {{"dx", 1, "", 0, 9, ""}};
    p.params = dx;
    refused(&p, "parameter 'dx' clashes with state variable 'x'");
    p = good_plugin(&m);
    m.reserved[0] = &m;
    refused(&p, "reserved fields of the mass table");
}

/* A table of a million state variables is checked at once (sorted, not
 * pairwise); the clash among them is still found. */
static void checks_large_tables_quickly(void **state)
{
    (void)state;
    enum { N = 1000000 };
    tb_mass_var *v = calloc(N, sizeof *v);
    char (*names)[16] = calloc(N, sizeof *names);
    assert_non_null(v);
    assert_non_null(names);
    for (size_t i = 0; i < N; ++i) {
        snprintf(names[i], sizeof names[i], "v%zu", i);
        v[i] = (tb_mass_var){names[i], 0, -1, 1, -INFINITY, INFINITY, "", ""};
    }
    tb_mass_model m = good_table();
    m.n_vars = N, m.vars = v;
    m.coupled = (const char *const[]){"v0"};
    tb_plugin p = good_plugin(&m);
    tb_error e = {0};
    assert_int_equal(tb_plugin_check(&p, "leaky.so", &e), TB_OK);
    tb_error_clear(&e);
    snprintf(names[N - 1], sizeof names[N - 1], "v17");
    refused(&p, "state variable 'v17' declared twice");
    free(v);
    free(names);
}

/* The test plugins of tests/plugins: an ABI 1 module and one from a future
 * ABI are listed as failures that say to rebuild; the rest still load. */
static void loader_lists_old_modules(void **state)
{
    (void)state;
    const char *build = getenv("TB_BUILDDIR");
    if (!build)
        skip();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/plugins", build);
    setenv("TWINBRAIN_PLUGIN_PATH", path, 1);
    tb_plugin_registry *reg = NULL;
    tb_error e = {0};
    assert_int_equal(tb_plugin_registry_load(&reg, &e), TB_OK);
    bool old = false, future = false;
    for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i) {
        const char *f = tb_plugin_failure_at(reg, i);
        old |= strstr(f, "old_abi") && strstr(f, "built for plugin ABI 1") && strstr(f, "rebuild the plugin");
        future |= strstr(f, "bad_abi") && strstr(f, "built for plugin ABI 3");
    }
    assert_true(old);
    assert_true(future);
    assert_non_null(tb_plugin_find(reg, TB_MASS_KIND, "bad_kernel"));
    tb_plugin_registry_free(reg);
}

/* ------------------------------------------------------------ a stand-in kit
 *
 * "decay": x(t) = x0 exp(-rate t), computed on the device by a kernel the
 * kit builds through the core services, written as
 * /monitors/decay/data [T, 1, 1, 1]. Small, but it passes through every
 * entry the foundation calls: scenario selection and check, text, run. */

typedef struct decay_sc {
    double x0, rate;
} decay_sc;

static const tb_key_spec decay_keys[] = {
    {"x0", KT_FLOAT, false, 1.0, .has_def = true, .min = -INFINITY, .max = INFINITY, .doc = "initial value"},
    {"rate", KT_FLOAT, true, .min = 0, .max = INFINITY, .doc = "decay rate in 1/ms"},
};
static const tb_key_spec decay_sections[] = {{"decay", KT_TABLE, true, .doc = "an exponential decay"}};

static void decay_check_scenario(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    (void)reg;
    decay_sc *d = calloc(1, sizeof *d);
    sc->kit_data = d;
    tb_toml_value *t = (tb_toml_value *)tb_toml_get(sc->doc, "decay");
    if (!d || !t || t->type != TB_TOML_TABLE)
        return;
    tb_schema_table(c, t, decay_keys, 2, "decay");
    d->x0 = tb_schema_get_f(t, "x0");
    d->rate = tb_schema_get_f(t, "rate");
}

static void decay_free_scenario(void *p) { free(p); }
static void decay_list_keys(tb_buf *b) { tb_schema_list_keys(b, "decay", decay_keys, 2); }
static void decay_model_of(const tb_scenario *sc, const char **n, const char **v) { (void)sc, *n = "decay", *v = "1"; }

static void decay_check_text(const tb_scenario *sc, tb_buf *b)
{
    tb_buf_printf(b, "decay at rate %g", ((decay_sc *)sc->kit_data)->rate);
}

static void decay_summary(const tb_sim *sim, const tb_scenario *sc, const tb_sim_summary *s, tb_buf *b)
{
    (void)sim, (void)sc;
    tb_buf_printf(b, "decay: %llu steps\n", (unsigned long long)s->steps);
}

typedef struct decay_run {
    const tb_scenario *sc;
    tb_device *dev;
    const tb_core_services *core;
    struct tb_program *prog;
    void *kernel, *buf;
    tb_dataset *ds, *time;
    uint64_t rows;
} decay_run;

#define DECAY_CHUNK 64

static const char decay_source[] =
    "kernel void decay(global double *out, double x0, double rate, double dt, ulong step0)\n"
    "{ size_t i = get_global_id(0); out[i] = x0 * exp(-rate * dt * (double)(step0 + i + 1)); }\n";

static tb_status decay_check(const tb_scenario *sc, tb_error *err) { (void)sc, (void)err; return TB_OK; }

static tb_status decay_create(const tb_scenario *sc, tb_device *dev, void **impl, tb_error *err)
{
    decay_run *r = calloc(1, sizeof *r);
    *impl = r;
    if (!r)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    r->sc = sc, r->dev = dev, r->core = tb_core_services_get();
    tb_status st = r->core->program_build(dev, 1, decay_source, "decay", &r->prog, err);
    if (st == TB_OK && !(r->kernel = r->core->kernel_create(r->prog, "decay", err)))
        st = TB_ERR_DEVICE;
    if (st == TB_OK && !(r->buf = r->core->buffer_create(dev, DECAY_CHUNK * sizeof(double), NULL, "decay", err)))
        st = TB_ERR_DEVICE;
    return st;
}

static tb_status decay_declare(void *impl, tb_output *out, tb_error *err)
{
    decay_run *r = impl;
    uint64_t dims[3] = {1, 1, 1};
    tb_status st = tb_output_dataset_create(out, "/monitors/decay/data", TB_F64, 4, dims, 0, &r->ds, err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, "/monitors/decay/time", TB_F64, 1, NULL, 0, &r->time, err);
    return st;
}

static tb_status decay_advance(void *impl, uint64_t step0, uint64_t n, tb_error *err)
{
    decay_run *r = impl;
    const decay_sc *d = r->sc->kit_data;
    double dt = r->sc->dt, x[DECAY_CHUNK], t[DECAY_CHUNK];
    cl_ulong s0 = step0;
    tb_status st = TB_OK;
    const void *args[] = {&r->buf, &d->x0, &d->rate, &dt, &s0};
    const size_t sizes[] = {sizeof r->buf, sizeof d->x0, sizeof d->rate, sizeof dt, sizeof s0};
    for (unsigned a = 0; st == TB_OK && a < 5; ++a)
        st = r->core->kernel_arg(r->kernel, a, sizes[a], args[a], err);
    size_t global = n;
    if (st == TB_OK && n)
        st = r->core->enqueue(r->dev, r->kernel, 1, &global, NULL, "decay", err);
    if (st == TB_OK && n)
        st = r->core->buffer_read(r->dev, r->buf, 0, n * sizeof(double), x, err);
    for (uint64_t i = 0; i < n; ++i)
        t[i] = (double)(step0 + i + 1) * dt;
    if (st == TB_OK)
        st = tb_output_dataset_append(r->ds, x, n, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(r->time, t, n, err);
    r->rows += n;
    return st;
}

static uint64_t decay_max_chunk(void *impl) { (void)impl; return DECAY_CHUNK; }
static const tb_program *decay_program(void *impl) { return ((decay_run *)impl)->prog; }
static size_t decay_one(void *impl) { (void)impl; return 1; }
static uint64_t decay_samples(void *impl) { return ((decay_run *)impl)->rows; }

static void decay_destroy(void *impl)
{
    decay_run *r = impl;
    if (!r)
        return;
    if (r->core) {
        r->core->kernel_release(r->kernel);
        r->core->buffer_release(r->buf);
        r->core->program_free(r->prog);
    }
    free(r);
}

static const tb_kit decay_kit = {
    .name = "decay", .summary = "a test's stand-in", .sections = decay_sections, .n_sections = 1,
    .unit_noun = "values", .check_scenario = decay_check_scenario, .free_scenario = decay_free_scenario,
    .list_keys = decay_list_keys, .model_of = decay_model_of, .check_text = decay_check_text,
    .summary_text = decay_summary, .check = decay_check, .create = decay_create, .declare = decay_declare,
    .advance = decay_advance, .max_chunk = decay_max_chunk, .program = decay_program, .units = decay_one,
    .instances = decay_one, .samples = decay_samples, .destroy = decay_destroy,
};

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", "/tmp/tb-test-plugin-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/decay.toml", f->dir);
    *state = f;
    static bool registered;
    tb_error e = {0};
    if (!registered && tb_kit_register(&decay_kit, &e) != TB_OK)
        return -1;
    registered = true;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_remove_tree(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static tb_status load(fixture *f, const char *text, tb_scenario **sc, tb_error *e)
{
    write_file(f->path, text);
    return tb_scenario_load(f->path, NULL, 0, NULL, sc, e);
}

static void registry_refuses_clashes(void **state)
{
    (void)state;
    tb_error e = {0};
    assert_int_equal(tb_kit_register(&decay_kit, &e), TB_ERR_OTHER);
    assert_non_null(strstr(tb_error_message(&e), "already"));
    tb_error_clear(&e);
    tb_kit incomplete = decay_kit;
    incomplete.name = "other", incomplete.sections = NULL, incomplete.n_sections = 0, incomplete.advance = NULL;
    assert_int_equal(tb_kit_register(&incomplete, &e), TB_ERR_OTHER);
    assert_non_null(strstr(tb_error_message(&e), "has no advance entry"));
    tb_error_clear(&e);
    tb_kit stealing = decay_kit;
    stealing.name = "thief", stealing.sections = (const tb_key_spec[]){{"population", KT_TABLES}};
    assert_int_equal(tb_kit_register(&stealing, &e), TB_ERR_OTHER);
    assert_non_null(strstr(tb_error_message(&e), "[population] already belongs"));
    tb_error_clear(&e);
    assert_ptr_equal(tb_kit_find("decay"), &decay_kit);
}

static void scenarios_select_the_kit(void **state)
{
    fixture *f = *state;
    tb_scenario *sc = NULL;
    tb_error e = {0};
    assert_int_equal(load(f, "[simulation]\nduration = 1.0\ndt = 0.1\n[decay]\nrate = 0.5\n", &sc, &e), TB_OK);
    assert_string_equal(tb_scenario_kind(sc), "decay");
    char *what = tb_scenario_describe(sc);
    assert_string_equal(what, "(decay at rate 0.5)");
    free(what);
    tb_scenario_free(sc);
    /* explicit kind, and a kind that does not exist */
    assert_int_equal(load(f, "[simulation]\nkind = \"decay\"\nduration = 1.0\n[decay]\nrate = 1\n", &sc, &e), TB_OK);
    tb_scenario_free(sc);
    assert_int_equal(load(f, "[simulation]\nkind = \"decai\"\nduration = 1.0\n[decay]\nrate = 1\n", &sc, &e),
                     TB_ERR_SCENARIO);
    /* the built-in kits depend on the build (the twin kit needs protobuf-c), the test's own comes last */
    char *kits = tb_kit_names();
    char *want = tb_asprintf(":2:8: simulation.kind must be one of %s", kits);
    assert_true(strncmp(kits, "mass, spiking, ", 15) == 0 && tb_str_ends_with(kits, ", decay"));
    assert_non_null(strstr(tb_error_message(&e), want));
    free(want);
    free(kits);
    assert_non_null(strstr(tb_error_message(&e), "did you mean \"decay\""));
    tb_error_clear(&e);
    /* two kits' sections mixed */
    assert_int_equal(load(f, "[simulation]\nduration = 1.0\n[decay]\nrate = 1\n[[population]]\nname = \"e\"\n", &sc,
                          &e),
                     TB_ERR_SCENARIO);
    assert_non_null(strstr(tb_error_message(&e), "[population] belongs to spiking scenarios, but [decay] (line 3)"));
    tb_error_clear(&e);
    /* the kit's own schema: a required key */
    assert_int_equal(load(f, "[simulation]\nduration = 1.0\n[decay]\nx0 = 2\n", &sc, &e), TB_ERR_SCENARIO);
    assert_non_null(strstr(tb_error_message(&e), "needs 'rate' (decay rate in 1/ms)"));
    tb_error_clear(&e);
}

static double read_value(const char *path, size_t row, size_t *rows)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(file, "/monitors/decay/data", H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    hsize_t dims[4] = {0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    *rows = (size_t)dims[0];
    double *all = calloc(dims[0] ? dims[0] : 1, sizeof *all);
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all);
    double x = row < dims[0] ? all[row] : NAN;
    free(all);
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(file);
    return x;
}

/* The stand-in kit runs on every device present, its kernel built and
 * enqueued through the services plugins get; the file holds the analytic
 * solution, and the summary and provenance come through the kit. */
static void the_kit_runs_on_every_device(void **state)
{
    fixture *f = *state;
    tb_scenario *sc = NULL;
    tb_error e = {0};
    assert_int_equal(load(f, "[simulation]\nduration = 10.0\ndt = 0.1\n[decay]\nx0 = 2.0\nrate = 0.3\n", &sc, &e),
                     TB_OK);
    tb_device_info *list = NULL;
    size_t n = 0;
    assert_int_equal(tb_device_list(&list, &n, &e), TB_OK);
    size_t ran = 0;
    for (size_t k = 0; k < n; ++k) {
        if (!list[k].available || !list[k].compiler_available || !list[k].fp64) {
            printf("# skipped on device %zu (%s): no fp64 or no compiler\n", k, list[k].name);
            continue;
        }
        tb_device *dev = NULL;
        tb_sim *sim = NULL;
        assert_int_equal(tb_device_open(&list[k], &dev, &e), TB_OK);
        assert_int_equal(tb_sim_create(sc, dev, &sim, &e), TB_OK);
        char out[128];
        /* a kit without a checkpoint entry refuses checkpoints before it writes anything */
        snprintf(out, sizeof out, "%s/ckpt%zu.h5", f->dir, k);
        tb_sim_options ck = {.checkpoint_every_ms = 1.0};
        assert_int_equal(tb_sim_run(sim, out, &ck, &e), TB_ERR_SCENARIO);
        assert_non_null(strstr(tb_error_message(&e), "decay scenarios cannot be checkpointed"));
        assert_int_equal(access(out, F_OK), -1);
        snprintf(out, sizeof out, "%s/out%zu.h5", f->dir, k);
        if (tb_sim_run(sim, out, NULL, &e) != TB_OK)
            fail_msg("device %zu: %s", k, tb_error_message(&e));
        char *text = tb_sim_summary_text(sim, out);
        assert_non_null(strstr(text, "decay: 100 steps\n  output   "));
        free(text);
        size_t rows = 0;
        for (size_t i = 0; i < 100; i += 33) {
            double want = 2.0 * exp(-0.3 * 0.1 * (double)(i + 1));
            double got = read_value(out, i, &rows);
            if (!(fabs(got - want) <= 1e-12 * fabs(want)))
                fail_msg("device %zu, step %zu: %.17g, want %.17g", k, i + 1, got, want);
        }
        assert_int_equal(rows, 100);
        printf("# ran on device %zu (%s)\n", k, list[k].name);
        ++ran;
        tb_sim_free(sim);
        tb_device_close(dev);
    }
    assert_true(ran > 0);
    tb_device_list_free(list);
    tb_scenario_free(sc);
}

int main(void)
{
    setenv("TWINBRAIN_NO_CACHE", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_a_good_plugin),
        cmocka_unit_test(refuses_wrong_abi_and_sizes),
        cmocka_unit_test(refuses_unknown_and_absent_kinds),
        cmocka_unit_test(refuses_bad_descriptor_fields),
        cmocka_unit_test(refuses_bad_kind_tables),
        cmocka_unit_test(checks_large_tables_quickly),
        cmocka_unit_test(loader_lists_old_modules),
        cmocka_unit_test_setup_teardown(registry_refuses_clashes, setup, teardown),
        cmocka_unit_test_setup_teardown(scenarios_select_the_kit, setup, teardown),
        cmocka_unit_test_setup_teardown(the_kit_runs_on_every_device, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
