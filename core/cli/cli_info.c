/* twinbrain devices / plugins: what this machine and installation offer. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "twinbrain/device.h"
#include "kit.h"
#include "layer.h"
#include "twinbrain/plugin.h"
#include "util.h"

static const char *type_name(tb_device_type t)
{
    switch (t) {
    case TB_DEVICE_CPU: return "CPU";
    case TB_DEVICE_GPU: return "GPU";
    case TB_DEVICE_ACCELERATOR: return "ACCELERATOR";
    case TB_DEVICE_OTHER: return "OTHER";
    }
    return "OTHER";
}

static void bytes_text(char *buf, size_t n, uint64_t b)
{
    if (b >= (1ull << 30))
        snprintf(buf, n, "%.1f GiB", (double)b / (double)(1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, n, "%.1f MiB", (double)b / (double)(1ull << 20));
    else
        snprintf(buf, n, "%.0f KiB", (double)b / 1024.0);
}

static void device_text(const tb_device_info *d, bool is_auto)
{
    char g[32], l[32], m[32];
    bytes_text(g, sizeof g, d->global_mem_bytes);
    bytes_text(l, sizeof l, d->local_mem_bytes);
    bytes_text(m, sizeof m, d->max_alloc_bytes);
    printf("[%d] %d:%d  %s  %s%s\n", d->index, d->platform_index, d->device_index, type_name(d->type), d->name,
           is_auto ? "   <- auto" : "");
    printf("    platform       %s (%s)\n", d->platform_name, d->platform_version);
    printf("    vendor         %s\n", d->vendor);
    printf("    driver         %s\n", d->driver_version);
    printf("    OpenCL         %s; %s\n", d->device_version, d->opencl_c_version);
    printf("    compute units  %u at %u MHz\n", d->compute_units, d->clock_mhz);
    printf("    memory         global %s, local %s, largest buffer %s\n", g, l, m);
    printf("    work-groups    up to %zu work-items (%zu x %zu x %zu)\n", d->max_work_group_size,
           d->max_work_item_sizes[0], d->max_work_item_sizes[1], d->max_work_item_sizes[2]);
    printf("    fp64           %s\n", d->fp64 ? "yes" : "no");
    printf("    available      %s%s\n", d->available ? "yes" : "no",
           d->compiler_available ? "" : " (no online compiler: prebuilt binaries only)");
    printf("    score          %.1f\n", d->score);
}

static void device_json(tb_buf *b, const tb_device_info *d, bool is_auto)
{
    tb_buf_printf(b, "{\"index\": %d, \"platform_index\": %d, \"device_index\": %d, \"type\": ", d->index,
                  d->platform_index, d->device_index);
    tb_json_string(b, type_name(d->type));
    const char *keys[] = {"name", "platform", "platform_vendor", "platform_version", "vendor", "driver_version",
                          "device_version", "opencl_c_version"};
    const char *vals[] = {d->name, d->platform_name, d->platform_vendor, d->platform_version, d->vendor,
                          d->driver_version, d->device_version, d->opencl_c_version};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        tb_buf_printf(b, ", \"%s\": ", keys[i]);
        tb_json_string(b, vals[i]);
    }
    tb_buf_printf(b,
                  ", \"compute_units\": %u, \"clock_mhz\": %u, \"global_mem_bytes\": %llu, "
                  "\"local_mem_bytes\": %llu, \"max_alloc_bytes\": %llu, \"max_work_group_size\": %zu, "
                  "\"max_work_item_sizes\": [%zu, %zu, %zu], \"fp64\": %s, \"available\": %s, "
                  "\"compiler_available\": %s, \"score\": %.3f, \"auto\": %s}",
                  d->compute_units, d->clock_mhz, (unsigned long long)d->global_mem_bytes,
                  (unsigned long long)d->local_mem_bytes, (unsigned long long)d->max_alloc_bytes,
                  d->max_work_group_size, d->max_work_item_sizes[0], d->max_work_item_sizes[1],
                  d->max_work_item_sizes[2], d->fp64 ? "true" : "false", d->available ? "true" : "false",
                  d->compiler_available ? "true" : "false", d->score, is_auto ? "true" : "false");
}

int tb_cli_devices(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            printf("usage: twinbrain devices [--json]\n\n"
                   "Lists every OpenCL platform and device with its capabilities and the score that\n"
                   "the 'auto' selector maximises (docs/architecture.md). Select a device with\n"
                   "--device INDEX, P:D, cpu, gpu, accelerator or name~TEXT.\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            return tb_cli_usage_error("devices", "unknown argument '%s'", argv[i]);
        }
    }
    tb_error err = {0};
    tb_device_info *list = NULL;
    size_t n = 0, best = (size_t)-1;
    if (tb_device_list(&list, &n, &err) != TB_OK) {
        int rc = tb_cli_fail(&err);
        tb_error_clear(&err);
        return rc;
    }
    if (n && tb_device_select(list, n, "auto", false, &best, NULL) != TB_OK)
        best = (size_t)-1;
    if (json) {
        tb_buf b = {0};
        tb_buf_puts(&b, "[");
        for (size_t i = 0; i < n; ++i) {
            tb_buf_puts(&b, i ? ",\n " : "");
            device_json(&b, &list[i], i == best);
        }
        tb_buf_puts(&b, "]\n");
        char *s = tb_buf_take(&b);
        fputs(s, stdout);
        free(s);
    } else if (n == 0) {
        printf("no OpenCL devices found: install an OpenCL driver (for the CPU: pocl-opencl-icd)\n");
    } else {
        for (size_t i = 0; i < n; ++i)
            device_text(&list[i], i == best);
    }
    tb_device_list_free(list);
    return 0;
}

/* ------------------------------------------------------------ plugins */

static int plugins_json(const tb_plugin_registry *reg, const char *name)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"plugins\": [");
    size_t shown = 0;
    for (size_t i = 0; i < tb_plugin_count(reg); ++i) {
        const tb_plugin *p = tb_plugin_at(reg, i);
        if (name && strcmp(name, p->name))
            continue;
        tb_buf_puts(&b, shown++ ? ",\n  " : "\n  ");
        tb_plugin_describe_json(p, tb_plugin_file_at(reg, i), &b);
    }
    tb_buf_puts(&b, "],\n \"failures\": [");
    for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i) {
        tb_buf_puts(&b, i ? ", " : "");
        tb_json_string(&b, tb_plugin_failure_at(reg, i));
    }
    tb_buf_puts(&b, "],\n \"path\": [");
    for (size_t i = 0; i < tb_plugin_path_count(reg); ++i) {
        tb_buf_puts(&b, i ? ", " : "");
        tb_json_string(&b, tb_plugin_path_at(reg, i));
    }
    tb_buf_puts(&b, "],\n \"kits\": [");
    for (size_t k = 0; k < tb_kit_count(); ++k) {
        const tb_kit *kit = tb_kit_at(k);
        tb_buf_puts(&b, k ? ", {\"name\": " : "{\"name\": ");
        tb_json_string(&b, kit->name);
        tb_buf_puts(&b, ", \"plugin_kind\": ");
        kit->plugin_kind ? tb_json_string(&b, kit->plugin_kind) : tb_buf_puts(&b, "null");
        tb_buf_puts(&b, ", \"summary\": ");
        tb_json_string(&b, kit->summary);
        if (kit->builtin_text) {
            tb_buf t = {0};
            kit->builtin_text(&t);
            char *text = tb_buf_take(&t);
            tb_buf_puts(&b, ", \"built_in\": ");
            tb_json_string(&b, text ? text : "");
            free(text);
        }
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "]}\n");
    char *s = tb_buf_take(&b);
    fputs(s, stdout);
    free(s);
    return name && shown == 0 ? TB_ERR_SCENARIO : 0;
}

static void plugins_text(const tb_plugin_registry *reg)
{
    for (size_t i = 0; i < tb_plugin_count(reg); ++i) {
        const tb_plugin *p = tb_plugin_at(reg, i);
        printf("%-22s %-12s %-6s %s\n", p->name, p->kind, p->version ? p->version : "",
               p->summary ? p->summary : "");
    }
    if (tb_plugin_count(reg) == 0)
        printf("no plugins found\n");
    for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i)
        printf("failed to load: %s\n", tb_plugin_failure_at(reg, i));
    printf("searched:");
    for (size_t i = 0; i < tb_plugin_path_count(reg); ++i)
        printf(" %s", tb_plugin_path_at(reg, i));
    printf("\nkinds of model (simulation.kind):\n");
    for (size_t k = 0; k < tb_kit_count(); ++k) {
        printf("  %-8s %s\n", tb_kit_at(k)->name, tb_kit_at(k)->summary);
        if (tb_kit_at(k)->builtin_text) {
            tb_buf b = {0};
            tb_kit_at(k)->builtin_text(&b);
            char *text = tb_buf_take(&b);
            printf("           built in: %s\n", text ? text : "");
            free(text);
        }
    }
    printf("for every kind:\n");
    for (size_t k = 0; k < tb_layer_count(); ++k)
        printf("  [[%s]] %s (plugins of kind %s)\n", tb_layer_at(k)->sections[0].name, tb_layer_at(k)->summary,
               tb_layer_at(k)->plugin_kind ? tb_layer_at(k)->plugin_kind : "none");
}

int tb_cli_plugins(int argc, char **argv)
{
    bool json = false;
    const char *name = NULL;
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            printf("usage: twinbrain plugins [--json] [NAME]\n\n"
                   "Lists the plugins found on $TWINBRAIN_PLUGIN_PATH and in the installed plugin\n"
                   "folder, and any that failed to load with the reason. With NAME, shows that\n"
                   "plugin's documentation, state variables and parameters.\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-') {
            return tb_cli_usage_error("plugins", "unknown option '%s'", argv[i]);
        } else {
            name = argv[i];
        }
    }
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    if (tb_plugin_registry_load(&reg, &err) != TB_OK) {
        int rc = tb_cli_fail(&err);
        tb_error_clear(&err);
        return rc;
    }
    int rc = 0;
    if (json) {
        rc = plugins_json(reg, name);
    } else if (name) {
        const tb_plugin *p = tb_plugin_find(reg, NULL, name);
        if (p) {
            tb_buf b = {0};
            tb_plugin_describe(p, tb_plugin_file_of(reg, p), &b);
            char *text = tb_buf_take(&b);
            fputs(text ? text : "", stdout);
            free(text);
        } else {
            fprintf(stderr, "twinbrain plugins: no plugin named '%s'\n", name);
            for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i)
                if (strcmp(tb_plugin_failure_stem(reg, i), name) == 0)
                    fprintf(stderr, "  it failed to load: %s\n", tb_plugin_failure_at(reg, i));
            rc = TB_ERR_SCENARIO;
        }
    } else {
        plugins_text(reg);
    }
    tb_plugin_registry_free(reg);
    return rc;
}
