/* twinbrain kernels build: the program binaries a scenario needs, built
 * ahead of time into a folder (the FPGA flow, docs/fpga.md), with each
 * program's source and a manifest naming the binary each program needs.
 * `twinbrain run --kernels DIR [--no-compile]` loads them.
 *
 * The programs are found by doing what a run does up to its first step:
 * the simulation is created on the device with the program layer told to
 * export what it builds, so every kit's programs are covered without a
 * kit knowing about this command. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "util.h"

static const char usage[] =
    "usage: twinbrain kernels build SCENARIO.toml --device SEL -o DIR [--precision single|double]\n"
    "                               [--set KEY=VALUE]...\n"
    "\n"
    "Builds the OpenCL programs the scenario needs for one device and writes into DIR, per\n"
    "program, its binary NAME.bin and source NAME.cl, and DIR/manifest.json naming the binary\n"
    "each program needs. `twinbrain run SCENARIO --kernels DIR --no-compile` then runs without\n"
    "compiling. On a device without an online compiler (FPGA boards) only the sources are\n"
    "written: compile NAME.cl to NAME.aocx (Intel aoc) or NAME.xclbin (AMD/Xilinx v++) in DIR,\n"
    "as docs/fpga.md describes. Parameter values are data, not code: the binaries serve every\n"
    "run of the same structure (model, monitors, method, precision, swept keys).\n";

typedef struct kargs {
    const char *scenario, *device, *dir, *precision;
    const char **sets;
    size_t n_sets;
} kargs;

static int parse(int argc, char **argv, kargs *a)
{
    if (argc < 2 || tb_cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TB_ERR_SCENARIO : 0;
    }
    if (strcmp(argv[1], "build") != 0)
        return tb_cli_usage_error("kernels", "unknown subcommand '%s' (there is: build)", argv[1]);
    for (int i = 2; i < argc; ++i) {
        const char *s = argv[i];
        bool has_next = i + 1 < argc;
        int c = tb_cli_common_option("kernels build", argc, argv, &i, a->sets, &a->n_sets, &a->precision);
        if (c < 0)
            return TB_ERR_SCENARIO;
        if (c > 0)
            continue;
        if (tb_cli_is_help(s)) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(s, "--device") == 0 && has_next) {
            a->device = argv[++i];
        } else if ((strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) && has_next) {
            a->dir = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return tb_cli_usage_error("kernels build", "unknown option '%s'", s);
        } else if (!a->scenario) {
            a->scenario = s;
        } else {
            return tb_cli_usage_error("kernels build", "one scenario at a time ('%s' and '%s')", a->scenario, s);
        }
    }
    if (!a->scenario)
        return tb_cli_usage_error("kernels build", "missing the scenario file");
    if (!a->dir)
        return tb_cli_usage_error("kernels build", "missing -o DIR, the folder to write the binaries to");
    if (a->device && strchr(a->device, ','))
        return tb_cli_usage_error("kernels build", "binaries are built for one device at a time, not '%s'",
                                  a->device);
    return -1;
}

static void json_device(tb_buf *b, const tb_device_info *d)
{
    tb_buf_printf(b, "{\"index\": %d, \"type\": ", d->index);
    tb_json_string(b, tb_device_type_name(d->type));
    const char *keys[] = {"name", "vendor", "platform", "platform_version", "device_version", "driver_version"};
    const char *vals[] = {d->name, d->vendor, d->platform_name, d->platform_version, d->device_version,
                          d->driver_version};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        tb_buf_printf(b, ", \"%s\": ", keys[i]);
        tb_json_string(b, vals[i]);
    }
    tb_buf_puts(b, "}");
}

/* The kernels a program's source defines ("__kernel void NAME("), which
 * v++ compiles one at a time (-k NAME). Read from the exported source, so
 * it works for devices that could not build it. */
static void json_kernel_names(tb_buf *b, const char *dir, const char *name)
{
    char *path = tb_asprintf("%s/%s.cl", dir, name);
    char *src = tb_read_file(path, NULL);
    tb_buf_puts(b, ", \"kernels\": [");
    int n = 0;
    for (const char *p = src ? strstr(src, "__kernel void ") : NULL; p; p = strstr(p + 1, "__kernel void ")) {
        const char *s = p + strlen("__kernel void "), *e = s;
        while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') || *e == '_')
            ++e;
        char *k = tb_strndup(s, (size_t)(e - s));
        tb_buf_puts(b, n++ ? ", " : "");
        tb_json_string(b, k);
        free(k);
    }
    tb_buf_puts(b, "]");
    free(src);
    free(path);
}

static void json_program(tb_buf *b, const tb_profile_build *p, const char *dir)
{
    const char *n = p->stats.name;
    tb_buf_puts(b, "{\"label\": ");
    tb_json_string(b, p->label);
    tb_buf_puts(b, ", \"name\": ");
    tb_json_string(b, n);
    char *src = tb_asprintf("%s.cl", n), *bin = tb_asprintf("%s.bin", n), *aocx = tb_asprintf("%s.aocx", n),
         *xcl = tb_asprintf("%s.xclbin", n);
    tb_buf_puts(b, ", \"source\": ");
    tb_json_string(b, src);
    tb_buf_puts(b, ", \"binary\": ");
    if (p->built)
        tb_json_string(b, bin);
    else
        tb_buf_puts(b, "null");
    tb_buf_puts(b, ", \"accepted_binaries\": [");
    tb_json_string(b, bin);
    tb_buf_puts(b, ", ");
    tb_json_string(b, aocx);
    tb_buf_puts(b, ", ");
    tb_json_string(b, xcl);
    tb_buf_puts(b, "], \"build_options\": ");
    tb_json_string(b, p->options);
    json_kernel_names(b, dir, n);
    tb_buf_puts(b, "}");
    free(src);
    free(bin);
    free(aocx);
    free(xcl);
}

static tb_status write_manifest(const kargs *a, const tb_scenario *sc, const tb_device_info *d, const tb_profile *prof,
                                tb_error *err)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\n  \"twinbrain_version\": ");
    tb_json_string(&b, PACKAGE_VERSION);
    tb_buf_puts(&b, ",\n  \"scenario\": ");
    tb_json_string(&b, a->scenario);
    tb_buf_puts(&b, ",\n  \"precision\": ");
    tb_json_string(&b, tb_precision_name(sc->precision));
    tb_buf_puts(&b, ",\n  \"device\": ");
    json_device(&b, d);
    tb_buf_puts(&b, ",\n  \"programs\": [");
    size_t n = 0;
    const tb_profile_build *builds = tb_profile_builds(prof, &n);
    for (size_t i = 0; i < n; ++i) {
        tb_buf_puts(&b, i ? ",\n    " : "\n    ");
        json_program(&b, &builds[i], a->dir);
    }
    tb_buf_puts(&b, "\n  ],\n  \"run\": ");
    char *run = tb_asprintf("twinbrain run %s --device %d --kernels %s --no-compile", a->scenario, d->index, a->dir);
    tb_json_string(&b, run);
    free(run);
    tb_buf_puts(&b, "\n}\n");
    char *text = tb_buf_take(&b);
    char *path = tb_asprintf("%s/manifest.json", a->dir);
    FILE *f = text ? fopen(path, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    tb_status st = ok ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "cannot write %s", path);
    free(path);
    free(text);
    return st;
}

static void report(const kargs *a, const tb_profile *prof, bool built)
{
    size_t n = 0;
    const tb_profile_build *builds = tb_profile_builds(prof, &n);
    for (size_t i = 0; i < n; ++i) {
        const tb_profile_build *p = &builds[i];
        if (p->built)
            printf("  %-28s %s/%s.bin (%s, %.2f s)\n", p->label, a->dir, p->stats.name,
                   tb_program_origin_name(p->stats.origin), p->stats.build_seconds);
        else
            printf("  %-28s %s/%s.cl written; compile it to %s.aocx (aoc) or %s.xclbin (v++) in %s\n", p->label,
                   a->dir, p->stats.name, p->stats.name, p->stats.name, a->dir);
    }
    if (built)
        printf("manifest: %s/manifest.json\n", a->dir);
}

static int build(const kargs *a)
{
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    tb_cli_devs devs = {0};
    tb_sim *sim = NULL;
    char *hint = tb_asprintf("aoc or v++ from the source written to %s (docs/fpga.md)", a->dir);
    tb_program_options po = {.export_dir = a->dir, .build_hint = hint};
    tb_status st = tb_cli_load(a->scenario, a->sets, a->n_sets, a->precision, &reg, &sc, &err);
    if (st == TB_OK)
        st = tb_cli_devs_open(&devs, a->device ? a->device : sc->device, sc->precision == TB_DOUBLE, &po, true, &err);
    if (st == TB_OK && devs.n != 1)
        st = tb_error_set(&err, TB_ERR_SCENARIO, "binaries are built for one device at a time; use --device SEL");
    if (st == TB_OK) {
        const tb_device_info *d = tb_device_get_info(devs.dev[0]);
        printf("twinbrain kernels build: %s for device %d (%s), %s precision\n", a->scenario, d->index, d->name,
               tb_precision_name(sc->precision));
        st = tb_sim_create(sc, devs.dev[0], &sim, &err);
        report(a, devs.prof[0], st == TB_OK);
        tb_error merr = {0};
        tb_status ms = write_manifest(a, sc, d, devs.prof[0], &merr);
        if (st == TB_OK && ms != TB_OK) {
            st = ms;
            tb_error_clear(&err);
            err = merr;
        } else {
            tb_error_clear(&merr);
        }
    }
    int rc = st == TB_OK ? 0 : tb_cli_fail(&err);
    tb_error_clear(&err);
    tb_sim_free(sim);
    tb_cli_devs_close(&devs);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    free(hint);
    return rc;
}

int tb_cli_kernels(int argc, char **argv)
{
    kargs a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof *a.sets);
    int rc = a.sets ? parse(argc, argv, &a) : 1;
    if (rc < 0)
        rc = build(&a);
    free(a.sets);
    return rc;
}
