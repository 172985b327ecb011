/* twinbrain devices / plugins: what this machine and installation offer. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "twinbrain/device.h"
#include "twinbrain/mass.h"
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

static void range_text(char *buf, size_t n, double lo, double hi)
{
    if (isinf(lo) && isinf(hi))
        snprintf(buf, n, "any");
    else if (lo == TB_POSITIVE && isinf(hi))
        snprintf(buf, n, "> 0");
    else if (lo == TB_POSITIVE)
        snprintf(buf, n, "(0, %g]", hi);
    else if (isinf(hi))
        snprintf(buf, n, ">= %g", lo);
    else if (isinf(lo))
        snprintf(buf, n, "<= %g", hi);
    else
        snprintf(buf, n, "[%g, %g]", lo, hi);
}

static void plugin_detail(const tb_plugin *p, const char *file)
{
    printf("%s %s (%s plugin)\n  %s\n  file: %s\n\n", p->name, p->version ? p->version : "",
           tb_plugin_kind_name(p->kind), p->summary ? p->summary : "", file);
    if (p->doc)
        printf("%s\n\n", p->doc);
    if (p->kind == TB_PLUGIN_MASS) {
        const tb_mass_model *m = p->mass;
        printf("state variables (coupled:");
        for (size_t k = 0; k < m->n_coupled; ++k)
            printf(" %s", m->coupled[k]);
        printf("; default coupling: %s)\n", m->default_coupling ? m->default_coupling : "linear");
        for (size_t v = 0; v < m->n_vars; ++v) {
            char bounds[64] = "";
            if (isfinite(m->vars[v].bound_lo) || isfinite(m->vars[v].bound_hi))
                snprintf(bounds, sizeof bounds, " bounds [%g, %g]", m->vars[v].bound_lo, m->vars[v].bound_hi);
            printf("  %-10s initial %-8g random in [%g, %g]%s  %-6s %s\n", m->vars[v].name, m->vars[v].initial,
                   m->vars[v].range_lo, m->vars[v].range_hi, bounds, m->vars[v].unit ? m->vars[v].unit : "",
                   m->vars[v].doc ? m->vars[v].doc : "");
        }
        printf("\n");
    }
    if (p->kind == TB_PLUGIN_SPIKING)
        tb_cli_spiking_plugin_text(p);
    printf("parameters\n  %-10s %-12s %-8s %-14s %s\n", "name", "default", "unit", "allowed", "meaning");
    for (size_t i = 0; i < p->n_params; ++i) {
        char r[64];
        range_text(r, sizeof r, p->params[i].min, p->params[i].max);
        printf("  %-10s %-12g %-8s %-14s %s\n", p->params[i].name, p->params[i].value,
               p->params[i].unit ? p->params[i].unit : "", r, p->params[i].doc ? p->params[i].doc : "");
    }
}

static void json_number(tb_buf *b, double x)
{
    if (isfinite(x))
        tb_buf_printf(b, "%.17g", x);
    else
        tb_buf_puts(b, "null");
}

static void plugin_json(tb_buf *b, const tb_plugin *p, const char *file)
{
    tb_buf_puts(b, "{\"name\": ");
    tb_json_string(b, p->name);
    tb_buf_puts(b, ", \"kind\": ");
    tb_json_string(b, tb_plugin_kind_name(p->kind));
    tb_buf_puts(b, ", \"version\": ");
    tb_json_string(b, p->version);
    tb_buf_puts(b, ", \"summary\": ");
    tb_json_string(b, p->summary);
    tb_buf_puts(b, ", \"file\": ");
    tb_json_string(b, file);
    tb_buf_puts(b, ", \"doc\": ");
    tb_json_string(b, p->doc);
    tb_buf_puts(b, ", \"parameters\": [");
    for (size_t i = 0; i < p->n_params; ++i) {
        const tb_param_info *q = &p->params[i];
        tb_buf_puts(b, i ? ", {\"name\": " : "{\"name\": ");
        tb_json_string(b, q->name);
        tb_buf_puts(b, ", \"default\": ");
        json_number(b, q->value);
        tb_buf_puts(b, ", \"unit\": ");
        tb_json_string(b, q->unit);
        tb_buf_puts(b, ", \"min\": ");
        json_number(b, q->min);
        tb_buf_puts(b, ", \"max\": ");
        json_number(b, q->max);
        tb_buf_puts(b, ", \"doc\": ");
        tb_json_string(b, q->doc);
        tb_buf_puts(b, "}");
    }
    tb_buf_puts(b, "]");
    if (p->kind == TB_PLUGIN_MASS) {
        tb_buf_puts(b, ", \"state_variables\": [");
        for (size_t v = 0; v < p->mass->n_vars; ++v) {
            const tb_mass_var *var = &p->mass->vars[v];
            tb_buf_puts(b, v ? ", {\"name\": " : "{\"name\": ");
            tb_json_string(b, var->name);
            tb_buf_puts(b, ", \"initial\": ");
            json_number(b, var->initial);
            tb_buf_puts(b, ", \"range\": [");
            json_number(b, var->range_lo);
            tb_buf_puts(b, ", ");
            json_number(b, var->range_hi);
            tb_buf_puts(b, "], \"bounds\": [");
            json_number(b, var->bound_lo);
            tb_buf_puts(b, ", ");
            json_number(b, var->bound_hi);
            tb_buf_puts(b, "], \"unit\": ");
            tb_json_string(b, var->unit);
            tb_buf_puts(b, "}");
        }
        tb_buf_puts(b, "], \"coupled\": [");
        for (size_t k = 0; k < p->mass->n_coupled; ++k) {
            tb_buf_puts(b, k ? ", " : "");
            tb_json_string(b, p->mass->coupled[k]);
        }
        tb_buf_puts(b, "]");
    }
    if (p->kind == TB_PLUGIN_SPIKING)
        tb_cli_spiking_plugin_json(b, p);
    tb_buf_puts(b, "}");
}

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
        plugin_json(&b, p, tb_plugin_file_at(reg, i));
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
        printf("%-22s %-8s %-6s %s\n", p->name, tb_plugin_kind_name(p->kind), p->version ? p->version : "",
               p->summary ? p->summary : "");
    }
    if (tb_plugin_count(reg) == 0)
        printf("no plugins found\n");
    for (size_t i = 0; i < tb_plugin_failure_count(reg); ++i)
        printf("failed to load: %s\n", tb_plugin_failure_at(reg, i));
    printf("searched:");
    for (size_t i = 0; i < tb_plugin_path_count(reg); ++i)
        printf(" %s", tb_plugin_path_at(reg, i));
    printf("\n");
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
        const tb_plugin *p = tb_plugin_find(reg, 0, name);
        if (p) {
            plugin_detail(p, tb_plugin_file_of(reg, p));
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
