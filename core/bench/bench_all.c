/* twinbrain bench all: every family's standard workloads on each device,
 * next to the device's measured limits, in one table or JSON document.
 * A workload whose family models its memory traffic is also shown as a
 * fraction of the device's copy bandwidth. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli/cli.h"
#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "util.h"

/* Each family with standard workloads adds itself here. */
static const struct {
    const char *family;
    tb_bench_standard_fn run;
} families[] = {
    {"mass", tb_bench_mass_standard},
    {"spiking", tb_bench_spiking_standard},
};

#define MAX_FIGURES 32

static const char usage[] =
    "usage: twinbrain bench all [--devices SEL,...|all] [--seconds S] [--json]\n"
    "\n"
    "On each device: its limits (as `twinbrain bench devices`), then the standard workloads of\n"
    "every family (mass: Jansen-Rit on 246 regions with delays and BOLD, one instance and a\n"
    "256-instance sweep, single and double precision; spiking: the 4000-neuron COBA network,\n"
    "single and double precision, from $TWINBRAIN_EXAMPLES or the installed examples), each\n"
    "also as a fraction of the device's measured copy bandwidth where the family models its\n"
    "memory traffic. About S seconds per measurement (default 1). Default devices: all.\n"
    "Figures: docs/performance.md.\n";

typedef struct dev_result {
    const tb_device_info *info;
    tb_peak peak;
    tb_bench_figure fig[MAX_FIGURES];
    size_t n;
} dev_result;

static tb_status measure_device(tb_device *dev, const tb_plugin_registry *reg, double seconds, dev_result *r,
                                bool quiet, tb_error *err)
{
    r->info = tb_device_get_info(dev);
    if (!quiet)
        fprintf(stderr, "  device %d (%s): limits...\n", r->info->index, r->info->name);
    tb_status st = tb_bench_peak(dev, seconds * 2, &r->peak, err);
    for (size_t i = 0; st == TB_OK && i < sizeof families / sizeof families[0]; ++i) {
        size_t n = 0;
        if (!quiet)
            fprintf(stderr, "  device %d: %s workloads...\n", r->info->index, families[i].family);
        st = families[i].run(dev, reg, seconds, r->fig + r->n, MAX_FIGURES - r->n, &n, err);
        r->n += n;
    }
    return st;
}

static double bandwidth_share(const dev_result *r, const tb_bench_figure *f)
{
    return f->bytes_per_unit > 0 && r->peak.copy_gbs > 0 ? f->value * f->bytes_per_unit / (r->peak.copy_gbs * 1e9)
                                                        : 0.0;
}

static void print_table(const dev_result *rs, size_t n)
{
    tb_bench_peak_table_head();
    for (size_t k = 0; k < n; ++k)
        tb_bench_peak_table_row(rs[k].info, &rs[k].peak);
    printf("\n%-4s %-44s %12s %-16s %10s %9s  %s\n", "dev", "workload", "figure", "unit", "B/unit", "of copy",
           "note");
    for (size_t k = 0; k < n; ++k)
        for (size_t i = 0; i < rs[k].n; ++i) {
            const tb_bench_figure *f = &rs[k].fig[i];
            char share[16] = "";
            if (bandwidth_share(&rs[k], f) > 0)
                snprintf(share, sizeof share, "%.1f%%", 100.0 * bandwidth_share(&rs[k], f));
            printf("%-4d %-44.44s %12.4g %-16s %10.4g %9s  %s\n", rs[k].info->index, f->workload, f->value, f->unit,
                   f->bytes_per_unit, share, f->note);
        }
    printf("\nB/unit: the family's model of bytes moved per unit (docs/performance.md); of copy: figure x B/unit\n"
           "as a fraction of the device's copy bandwidth, an upper bound of the memory traffic.\n");
}

static void print_json(const dev_result *rs, size_t n)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"devices\": [");
    for (size_t k = 0; k < n; ++k) {
        tb_buf_puts(&b, k ? ",\n  {\"limits\": " : "\n  {\"limits\": ");
        tb_bench_peak_json(&b, rs[k].info, &rs[k].peak);
        tb_buf_puts(&b, ", \"workloads\": [");
        for (size_t i = 0; i < rs[k].n; ++i) {
            const tb_bench_figure *f = &rs[k].fig[i];
            tb_buf_puts(&b, i ? ",\n    {\"workload\": " : "\n    {\"workload\": ");
            tb_json_string(&b, f->workload);
            tb_buf_printf(&b, ", \"value\": %.6g, \"unit\": ", f->value);
            tb_json_string(&b, f->unit);
            tb_buf_printf(&b, ", \"bytes_per_unit\": %.6g, \"fraction_of_copy_bandwidth\": %.4g, \"build_s\": %.3g, "
                              "\"note\": ",
                          f->bytes_per_unit, bandwidth_share(&rs[k], f), f->build_seconds);
            tb_json_string(&b, f->note);
            tb_buf_puts(&b, "}");
        }
        tb_buf_puts(&b, "]}");
    }
    tb_buf_puts(&b, "]}\n");
    char *s = tb_buf_take(&b);
    fputs(s ? s : "", stdout);
    free(s);
}

int tb_bench_all(int argc, char **argv)
{
    const char *devices = NULL;
    double seconds = 0;
    bool json = false;
    int rc = tb_bench_parse_devices_opts(argc, argv, "bench all", usage, &devices, &seconds, &json);
    if (rc >= 0)
        return rc;
    if (seconds == 2.0) /* the shared default is the limits'; workloads take less each */
        seconds = 1.0;
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_cli_devs devs = {0};
    tb_status st = tb_plugin_registry_load(&reg, &err);
    if (st == TB_OK)
        st = tb_cli_devs_open(&devs, devices, false, NULL, false, &err);
    dev_result *rs = st == TB_OK ? calloc(devs.n, sizeof *rs) : NULL;
    if (st == TB_OK && !rs)
        st = tb_error_set(&err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < devs.n; ++k)
        st = measure_device(devs.dev[k], reg, seconds, &rs[k], json, &err);
    if (st == TB_OK && json)
        print_json(rs, devs.n);
    else if (st == TB_OK)
        print_table(rs, devs.n);
    rc = st == TB_OK ? 0 : tb_cli_fail(&err);
    free(rs);
    tb_error_clear(&err);
    tb_cli_devs_close(&devs);
    tb_plugin_registry_free(reg);
    return rc;
}
