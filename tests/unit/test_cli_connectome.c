/* `twinbrain connectome generate|info|import`, run in-process through
 * tb_cli_connectome with stdout and stderr captured: exit statuses,
 * messages, and that the files it writes hold what they should. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "twinbrain/connectome.h"

#include "cli/cli.h"

typedef struct fixture {
    char dir[64];
    char out[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tb-cli-connectome-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->out, sizeof f->out, "%s/out.h5", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_remove_tree(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ running it */

typedef struct result {
    int status;
    char *out;
    char *err;
} result;

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return s;
}

static int redirect(int fd, const char *path)
{
    int saved = dup(fd);
    int to = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && to >= 0);
    dup2(to, fd);
    close(to);
    return saved;
}

/* Run `twinbrain connectome ARGS...` (NULL-terminated). */
static result run(const fixture *f, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "connectome";
    va_list ap;
    va_start(ap, f);
    for (char *a; argc < 31 && (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    char out_path[200], err_path[200];
    snprintf(out_path, sizeof out_path, "%s/stdout", f->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", f->dir);
    fflush(stdout);
    fflush(stderr);
    int saved_out = redirect(1, out_path), saved_err = redirect(2, err_path);
    result r = {tb_cli_connectome(argc, argv), NULL, NULL};
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" lacks \"%s\"", text, part);
}

/* A failure: the status, one message on stderr with the prefix, nothing on stdout. */
static void expect_failure(result r, int status, const char *message)
{
    assert_int_equal(r.status, status);
    assert_string_equal(r.out, "");
    assert_true(strncmp(r.err, "twinbrain connectome: ", 22) == 0);
    assert_has(r.err, message);
    result_free(&r);
}

/* ------------------------------------------------------------ generate */

static tb_connectome *read_back(const char *path)
{
    tb_error e = {0};
    tb_connectome *c = NULL;
    if (tb_connectome_read(path, &c, &e) != TB_OK)
        fail_msg("%s", tb_error_message(&e));
    return c;
}

static void test_generate_writes_the_recipe(void **state)
{
    fixture *f = *state;
    result r = run(f, "generate", "--regions", "60", "--seed=9", "--lambda", "0.05", "--density", "0.2",
                   "--tortuosity", "1.5", "-o", f->out, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_has(r.out, "60 regions");
    result_free(&r);

    tb_connectome_recipe recipe = {60, 9, 0.05, 0.2, 1.5};
    tb_connectome *want = NULL, *got = read_back(f->out);
    assert_int_equal(tb_connectome_generate(&recipe, &want, NULL), TB_OK);
    assert_memory_equal(got->weights, want->weights, 60 * 60 * sizeof(double));
    assert_memory_equal(got->tract_lengths, want->tract_lengths, 60 * 60 * sizeof(double));
    assert_string_equal(got->description, want->description);
    assert_has(got->description, "--regions 60 --seed 9 --lambda 0.05 --density 0.2 --tortuosity 1.5");
    tb_connectome_free(want);
    tb_connectome_free(got);
}

static void test_generate_usage_errors(void **state)
{
    fixture *f = *state;
    expect_failure(run(f, "generate", "-o", f->out, NULL), 2, "--regions N is required");
    expect_failure(run(f, "generate", "--regions", "10", NULL), 2, "-o OUT.h5 is required");
    expect_failure(run(f, "generate", "--regions", "ten", "-o", f->out, NULL), 2, "--regions needs a whole number");
    expect_failure(run(f, "generate", "--regions", "10", "--seed", "-1", "-o", f->out, NULL), 2, "--seed");
    expect_failure(run(f, "generate", "--regions", "10", "--density", "1.5", "-o", f->out, NULL), 2, "density");
    expect_failure(run(f, "generate", "--regions", "1", "-o", f->out, NULL), 2, "regions = 1");
    expect_failure(run(f, "generate", "--regions", "10", "--lambda", NULL), 2, "--lambda needs a number");
    expect_failure(run(f, "generate", "--regions", "10", "--bogus", "-o", f->out, NULL), 2, "'--bogus'");
    assert_int_equal(access(f->out, F_OK), -1);

    char path[256];
    snprintf(path, sizeof path, "%s/no/such/folder.h5", f->dir);
    expect_failure(run(f, "generate", "--regions", "10", "-o", path, NULL), 1, path);
}

/* ------------------------------------------------------------ info */

static void test_info_text_and_json(void **state)
{
    fixture *f = *state;
    result r = run(f, "generate", "--regions", "40", "--seed", "3", "-o", f->out, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);

    /* The horizon from the file itself: longest delay over edges + 1. */
    tb_connectome *c = read_back(f->out);
    double longest = 0.0;
    for (size_t k = 0; k < 40 * 40; k++)
        if (c->weights[k] > 0.0)
            longest = fmax(longest, c->tract_lengths[k]);
    long steps = (long)rint(longest / 3.0 / 0.1), slow = (long)rint(longest / 1.5 / 0.5);
    char expect[128];

    r = run(f, "info", f->out, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_has(r.out, "regions         40 (20 left, 20 right)");
    snprintf(expect, sizeof expect, "edges           %zu of 1560", tb_connectome_edges(c));
    assert_has(r.out, expect);
    snprintf(expect, sizeof expect, "ring-buffer horizon %ld steps", steps + 1);
    assert_has(r.out, expect);
    assert_has(r.out, "SYNTHETIC");
    result_free(&r);

    r = run(f, "info", "--json", "--speed", "1.5", "--dt=0.5", f->out, NULL);
    assert_int_equal(r.status, 0);
    assert_true(r.out[0] == '{');
    snprintf(expect, sizeof expect, "\"horizon_steps\": %ld", slow + 1);
    assert_has(r.out, expect);
    assert_has(r.out, "\"regions\": 40");
    assert_has(r.out, "\"labels\": [\"L_001\", \"R_002\"");
    result_free(&r);
    tb_connectome_free(c);
}

static void test_info_errors(void **state)
{
    fixture *f = *state;
    char path[200], message[300];
    snprintf(path, sizeof path, "%s/missing.h5", f->dir);
    snprintf(message, sizeof message, "twinbrain connectome: %s: no such file\n", path);
    result r = run(f, "info", path, NULL);
    assert_int_equal(r.status, 4);
    assert_string_equal(r.err, message);
    result_free(&r);
    expect_failure(run(f, "info", NULL), 2, "FILE.h5 is required");
    expect_failure(run(f, "info", path, "--speed", "0", NULL), 2, "--speed needs a number > 0");
    expect_failure(run(f, "info", path, "--dt", "x", NULL), 2, "--dt");
    expect_failure(run(f, "info", "a.h5", "b.h5", NULL), 2, "one file at a time");
}

/* ------------------------------------------------------------ import */

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void write_matrix(const char *dir, const char *name, const double *m, size_t n, const char *sep)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            fprintf(fp, "%.17g%s", m[i * n + j], j + 1 < n ? sep : "\n");
    fclose(fp);
}

/* A TVB folder holding `c`, the way tvb-data lays it out. */
static void write_tvb(const char *dir, const tb_connectome *c)
{
    mkdir(dir, 0700);
    write_matrix(dir, "weights.txt", c->weights, c->n, " ");
    write_matrix(dir, "tract_lengths.txt", c->tract_lengths, c->n, "\t");
    char path[256];
    snprintf(path, sizeof path, "%s/centres.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < c->n; i++)
        fprintf(fp, "%s\t%.17g\t%.17g\t%.17g\n", c->labels[i], c->centres[3 * i], c->centres[3 * i + 1],
                c->centres[3 * i + 2]);
    fclose(fp);
    snprintf(path, sizeof path, "%s/hemispheres.txt", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < c->n; i++)
        fprintf(fp, "%s\n", c->hemispheres[i] ? "True" : "False");
    fclose(fp);
}

static tb_connectome *sample(void)
{
    tb_connectome_recipe recipe = {24, 5, 0.08, 0.3, 1.2};
    tb_connectome *c = NULL;
    assert_int_equal(tb_connectome_generate(&recipe, &c, NULL), TB_OK);
    return c;
}

static void assert_imported(const char *path, const tb_connectome *want)
{
    tb_connectome *got = read_back(path);
    assert_int_equal(got->n, want->n);
    assert_memory_equal(got->weights, want->weights, want->n * want->n * sizeof(double));
    assert_memory_equal(got->tract_lengths, want->tract_lengths, want->n * want->n * sizeof(double));
    assert_memory_equal(got->centres, want->centres, want->n * 3 * sizeof(double));
    assert_memory_equal(got->hemispheres, want->hemispheres, want->n);
    for (size_t i = 0; i < want->n; i++)
        assert_string_equal(got->labels[i], want->labels[i]);
    assert_has(got->description, "Imported from The Virtual Brain's format");
    tb_connectome_free(got);
}

static void test_import_folder(void **state)
{
    fixture *f = *state;
    tb_connectome *c = sample();
    char dir[200];
    snprintf(dir, sizeof dir, "%s/tvb", f->dir);
    write_tvb(dir, c);
    result r = run(f, "import", dir, "-o", f->out, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_has(r.out, "imported 24 regions");
    result_free(&r);
    assert_imported(f->out, c);
    tb_connectome_free(c);
}

static bool have(const char *program)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", program);
    return system(cmd) == 0;
}

static void test_import_zip(void **state)
{
    fixture *f = *state;
    if (!have("zip") || !have("unzip"))
        skip(); /* the import itself says to unzip first then */
    tb_connectome *c = sample();
    char dir[200], cmd[512], zip[200];
    snprintf(dir, sizeof dir, "%s/connectivity_24", f->dir);
    write_tvb(dir, c);
    /* Files inside a folder of the zip, as some downloads have them. */
    snprintf(zip, sizeof zip, "%s/connectivity 24.zip", f->dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && zip -qr 'connectivity 24.zip' connectivity_24", f->dir);
    assert_int_equal(system(cmd), 0);
    result r = run(f, "import", zip, "-o", f->out, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    result_free(&r);
    assert_imported(f->out, c);
    tb_connectome_free(c);
}

static void test_import_errors(void **state)
{
    fixture *f = *state;
    char dir[200], message[400];
    snprintf(dir, sizeof dir, "%s/tvb", f->dir);
    mkdir(dir, 0700);
    snprintf(message, sizeof message, "%s: no weights.txt in it", dir);
    expect_failure(run(f, "import", dir, "-o", f->out, NULL), 4, message);

    write_text(dir, "weights.txt", "0 1 2\n1 0 3\n2 3 0\n");
    expect_failure(run(f, "import", dir, "-o", f->out, NULL), 4, "no tract_lengths.txt");

    write_text(dir, "tract_lengths.txt", "0 1 2\n1 0 3\n");
    snprintf(message, sizeof message, "%s/tract_lengths.txt: 2 rows of 3 values: expected a square matrix", dir);
    expect_failure(run(f, "import", dir, "-o", f->out, NULL), 4, message);

    write_text(dir, "tract_lengths.txt", "0 1 2\n1 0 3\n2 nan 0\n");
    expect_failure(run(f, "import", dir, "-o", f->out, NULL), 4, "line 3, column 2: nan");

    write_text(dir, "tract_lengths.txt", "0 1 2\n1 0 3\n2 3 0\n");
    write_text(dir, "centres.txt", "a 1 2 3\nb 4 5 6\n");
    expect_failure(run(f, "import", dir, "-o", f->out, NULL), 4, "centres.txt: 2 regions, but weights.txt has 3");

    write_text(dir, "centres.txt", "a 1 2 3\nb 4 5 6\nc 7 8 9\n");
    write_text(dir, "hemispheres.txt", "0\n1\nmaybe\n");
    expect_failure(run(f, "import", dir, "-o", f->out, NULL), 4, "line 3: 'maybe'");

    write_text(dir, "hemispheres.txt", "0\n1\n1\n");
    result r = run(f, "import", dir, "-o", f->out, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);

    /* Without centres.txt there are no labels to take: the reader's names. */
    snprintf(message, sizeof message, "%s/centres.txt", dir);
    remove(message);
    r = run(f, "import", dir, "-o", f->out, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    tb_connectome *c = read_back(f->out);
    assert_string_equal(c->labels[0], "region_000");
    assert_string_equal(c->labels[2], "region_002");
    assert_null(c->centres);
    assert_true(c->hemispheres[1] == 1 && c->hemispheres[0] == 0);
    tb_connectome_free(c);

    char text[200];
    snprintf(text, sizeof text, "%s/notes.txt", f->dir);
    write_text(f->dir, "notes.txt", "hello\n");
    expect_failure(run(f, "import", text, "-o", f->out, NULL), 4, "not a zip file or a folder");
    expect_failure(run(f, "import", dir, NULL), 2, "-o OUT.h5 is required");
    expect_failure(run(f, "import", "-o", f->out, NULL), 2, "TVB.zip or DIR is required");
}

/* ------------------------------------------------------------ help and dispatch */

static void test_help_and_unknown_commands(void **state)
{
    fixture *f = *state;
    const char *commands[] = {"generate", "info", "import"};
    for (size_t i = 0; i < 3; i++) {
        result r = run(f, commands[i], "--help", NULL);
        assert_int_equal(r.status, 0);
        assert_true(strncmp(r.out, "usage: twinbrain connectome ", 28) == 0);
        assert_string_equal(r.err, "");
        result_free(&r);
    }
    result r = run(f, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_has(r.out, "usage:");
    result_free(&r);
    expect_failure(run(f, NULL), 2, "which command?");
    expect_failure(run(f, "frobnicate", NULL), 2, "unknown command 'frobnicate'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_writes_the_recipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_text_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_zip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_unknown_commands, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
