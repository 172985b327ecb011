/* twinbrain bench devices: what each device can do at best (memory
 * bandwidth, multiply-add rate, device-to-host reads, launch overhead),
 * measured with the kernels of kernels/peak.cl as clpeak does, so that
 * workload figures can be read as fractions of a hardware limit.
 *
 * Times are device times from profiling events, best of several
 * repetitions (the least disturbed one): the limit, not the typical. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli/cli.h"
#include "twinbrain/device.h"
#include "twinbrain/program.h"
#include "util.h"

/* Per array: well beyond any CPU's last-level cache. */
#define STREAM_BYTES ((size_t)128 << 20)
#define MAD_ITERS 256
#define MAD_FLOPS_PER_ITEM (8.0 * 4.0 * 2.0 * 4.0 * MAD_ITERS)

static const char usage[] =
    "usage: twinbrain bench devices [--devices SEL,...|all] [--seconds S] [--json]\n"
    "\n"
    "Measures each device's limits with the kernels of kernels/peak.cl, as clpeak does:\n"
    "memory bandwidth of a streaming copy (2 x 16 bytes per work-item) and a triad a + s b\n"
    "(3 x 16 bytes), the multiply-add rate in single and double precision (8 independent\n"
    "float4/double4 chains per work-item), device-to-host read bandwidth, and the time from\n"
    "launching an empty kernel to its end as the host sees it. Best of repetitions over about\n"
    "S seconds per device (default 2). Default devices: all. Figures: docs/performance.md.\n";

typedef struct peak_ctx {
    tb_device *dev;
    cl_command_queue q;
    double seconds;
} peak_ctx;

static tb_status build(peak_ctx *c, tb_precision p, tb_program **prog, tb_error *err)
{
    tb_program_part part = {"peak.cl", NULL, "kernels/peak.cl"};
    char *src = tb_program_assemble(p, &part, 1, err);
    if (!src)
        return err ? err->status : TB_ERR_INPUT;
    char *label = tb_asprintf("bench peak %s", tb_precision_name(p));
    tb_status st = tb_program_build(c->dev, src, "", label, prog, err);
    free(label);
    free(src);
    return st;
}

/* Best device seconds of one kernel launch, repeated for about `budget` s. */
static tb_status best_launch(peak_ctx *c, cl_kernel k, size_t global, double budget, double *best, tb_error *err)
{
    *best = INFINITY;
    double t0 = tb_now();
    for (int rep = 0; rep < 3 || (tb_now() - t0 < budget && rep < 1000); rep++) {
        cl_event ev = NULL;
        cl_int rc = clEnqueueNDRangeKernel(c->q, k, 1, NULL, &global, NULL, 0, NULL, &ev);
        if (rc == CL_SUCCESS)
            rc = clWaitForEvents(1, &ev);
        cl_ulong a = 0, b = 0;
        if (rc == CL_SUCCESS)
            rc = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof a, &a, NULL);
        if (rc == CL_SUCCESS)
            rc = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL);
        if (ev)
            clReleaseEvent(ev);
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "timing a peak kernel");
        double s = (double)(b - a) * 1e-9;
        if (s > 0 && s < *best)
            *best = s;
    }
    return TB_OK;
}

static size_t stream_bytes(const tb_device_info *d)
{
    size_t n = STREAM_BYTES;
    if (d->max_alloc_bytes && n > d->max_alloc_bytes / 2)
        n = (size_t)(d->max_alloc_bytes / 2);
    if (d->global_mem_bytes && n > d->global_mem_bytes / 8)
        n = (size_t)(d->global_mem_bytes / 8);
    return n / 64 * 64;
}

static tb_status bandwidth(peak_ctx *c, tb_program *prog, tb_peak *out, tb_error *err)
{
    size_t bytes = stream_bytes(tb_device_get_info(c->dev));
    void *host = malloc(bytes);
    cl_mem a = tb_device_alloc(c->dev, bytes, NULL, "peak stream a", err);
    cl_mem b = a ? tb_device_alloc(c->dev, bytes, NULL, "peak stream b", err) : NULL;
    cl_mem d = b ? tb_device_alloc(c->dev, bytes, NULL, "peak stream c", err) : NULL;
    cl_kernel copy = d ? tb_program_kernel(prog, "tb_peak_copy", err) : NULL;
    cl_kernel triad = copy ? tb_program_kernel(prog, "tb_peak_triad", err) : NULL;
    tb_status st = triad && host ? TB_OK : err && err->status ? err->status : TB_ERR_OTHER;
    size_t items = bytes / (4 * sizeof(float));
    float s = 3.0f;
    float zero = 0.0f;
    cl_int rc = CL_SUCCESS;
    if (st == TB_OK) {
        /* touch every page first: first-use costs are not bandwidth */
        rc = clEnqueueFillBuffer(c->q, a, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
        rc |= clEnqueueFillBuffer(c->q, b, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
        rc |= clEnqueueFillBuffer(c->q, d, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
        rc |= clSetKernelArg(copy, 0, sizeof a, &a) | clSetKernelArg(copy, 1, sizeof b, &b);
        rc |= clSetKernelArg(triad, 0, sizeof a, &a) | clSetKernelArg(triad, 1, sizeof b, &b);
        rc |= clSetKernelArg(triad, 2, sizeof d, &d) | clSetKernelArg(triad, 3, sizeof s, &s);
        rc |= clFinish(c->q);
        st = rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "preparing the stream buffers");
    }
    double tc = 0, tt = 0;
    if (st == TB_OK)
        st = best_launch(c, copy, items, c->seconds / 6, &tc, err);
    if (st == TB_OK)
        st = best_launch(c, triad, items, c->seconds / 6, &tt, err);
    if (st == TB_OK) {
        out->copy_gbs = 2.0 * (double)bytes / tc * 1e-9;
        out->triad_gbs = 3.0 * (double)bytes / tt * 1e-9;
        double best = INFINITY, t0 = tb_now();
        for (int rep = 0; st == TB_OK && (rep < 3 || (tb_now() - t0 < c->seconds / 6 && rep < 100)); rep++) {
            cl_event ev = NULL;
            double h0 = tb_now();
            rc = clEnqueueReadBuffer(c->q, a, CL_TRUE, 0, bytes, host, 0, NULL, &ev);
            double h = tb_now() - h0;
            if (ev)
                clReleaseEvent(ev);
            st = rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "reading a buffer back");
            best = h < best ? h : best;
        }
        /* wall time on the host: what a read-back of monitor rows costs */
        out->read_gbs = st == TB_OK ? (double)bytes / best * 1e-9 : 0.0;
    }
    if (copy)
        clReleaseKernel(copy);
    if (triad)
        clReleaseKernel(triad);
    cl_mem bufs[] = {a, b, d};
    for (int i = 0; i < 3; i++)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    free(host);
    return st;
}

static tb_status mad_rate(peak_ctx *c, tb_program *prog, tb_precision p, double *gflops, tb_error *err)
{
    const tb_device_info *d = tb_device_get_info(c->dev);
    size_t global = (size_t)(d->compute_units ? d->compute_units : 1) * 2048;
    global = global < 16384 ? 16384 : global;
    size_t real = p == TB_DOUBLE ? sizeof(double) : sizeof(float);
    cl_mem out = tb_device_alloc(c->dev, global * real, NULL, "peak output", err);
    cl_kernel k = out ? tb_program_kernel(prog, "tb_peak_fma", err) : NULL;
    if (!k) {
        if (out)
            clReleaseMemObject(out);
        return err && err->status ? err->status : TB_ERR_DEVICE;
    }
    double a64 = 0.5, b64 = 0.5;
    float a32 = 0.5f, b32 = 0.5f;
    cl_int rc = clSetKernelArg(k, 0, sizeof out, &out);
    rc |= clSetKernelArg(k, 1, real, p == TB_DOUBLE ? (void *)&a64 : (void *)&a32);
    rc |= clSetKernelArg(k, 2, real, p == TB_DOUBLE ? (void *)&b64 : (void *)&b32);
    tb_status st = rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "setting the multiply-add kernel's arguments");
    double t = 0;
    if (st == TB_OK)
        st = best_launch(c, k, global, c->seconds / 6, &t, err);
    if (st == TB_OK)
        *gflops = MAD_FLOPS_PER_ITEM * (double)global / t * 1e-9;
    clReleaseKernel(k);
    clReleaseMemObject(out);
    return st;
}

/* Host wall time from enqueueing an empty kernel to seeing it finished. */
static tb_status launch_time(peak_ctx *c, tb_program *prog, double *us, tb_error *err)
{
    cl_mem out = tb_device_alloc(c->dev, 64, NULL, "peak output", err);
    cl_kernel k = out ? tb_program_kernel(prog, "tb_peak_empty", err) : NULL;
    tb_status st = k ? TB_OK : err && err->status ? err->status : TB_ERR_DEVICE;
    cl_int rc = k ? clSetKernelArg(k, 0, sizeof out, &out) : CL_SUCCESS;
    double best = INFINITY;
    size_t global = 64;
    for (int rep = 0; st == TB_OK && rc == CL_SUCCESS && rep < 200; rep++) {
        double t0 = tb_now();
        rc = clEnqueueNDRangeKernel(c->q, k, 1, NULL, &global, NULL, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clFinish(c->q);
        double t = tb_now() - t0;
        best = t < best ? t : best;
    }
    if (st == TB_OK && rc != CL_SUCCESS)
        st = tb_cl_fail(err, rc, "launching an empty kernel");
    *us = best * 1e6;
    if (k)
        clReleaseKernel(k);
    if (out)
        clReleaseMemObject(out);
    return st;
}

tb_status tb_bench_peak(tb_device *dev, double seconds, tb_peak *out, tb_error *err)
{
    memset(out, 0, sizeof *out);
    peak_ctx c = {dev, tb_device_queue(dev), seconds};
    tb_program *single = NULL, *dbl = NULL;
    tb_status st = build(&c, TB_SINGLE, &single, err);
    if (st == TB_OK)
        st = bandwidth(&c, single, out, err);
    if (st == TB_OK)
        st = mad_rate(&c, single, TB_SINGLE, &out->gflops_single, err);
    if (st == TB_OK)
        st = launch_time(&c, single, &out->launch_us, err);
    if (st == TB_OK && tb_device_get_info(dev)->fp64) {
        st = build(&c, TB_DOUBLE, &dbl, err);
        if (st == TB_OK)
            st = mad_rate(&c, dbl, TB_DOUBLE, &out->gflops_double, err);
    }
    tb_program_free(single);
    tb_program_free(dbl);
    return st;
}

/* ------------------------------------------------------------ the command */

void tb_bench_peak_json(tb_buf *b, const tb_device_info *d, const tb_peak *p)
{
    tb_buf_printf(b, "{\"index\": %d, \"name\": ", d->index);
    tb_json_string(b, d->name);
    tb_buf_puts(b, ", \"platform\": ");
    tb_json_string(b, d->platform_name);
    tb_buf_puts(b, ", \"type\": ");
    tb_json_string(b, tb_device_type_name(d->type));
    tb_buf_printf(b,
                  ", \"compute_units\": %u, \"copy_gb_per_s\": %.4g, \"triad_gb_per_s\": %.4g, "
                  "\"read_to_host_gb_per_s\": %.4g, \"single_gflop_per_s\": %.4g, \"double_gflop_per_s\": ",
                  d->compute_units, p->copy_gbs, p->triad_gbs, p->read_gbs, p->gflops_single);
    if (p->gflops_double > 0)
        tb_buf_printf(b, "%.4g", p->gflops_double);
    else
        tb_buf_puts(b, "null");
    tb_buf_printf(b, ", \"launch_us\": %.4g}", p->launch_us);
}

void tb_bench_peak_table_head(void)
{
    printf("%-4s %-44s %10s %10s %10s %11s %11s %10s\n", "dev", "name", "copy GB/s", "triad GB/s", "read GB/s",
           "single GF/s", "double GF/s", "launch us");
}

void tb_bench_peak_table_row(const tb_device_info *d, const tb_peak *p)
{
    char dbl[32] = "n/a";
    if (p->gflops_double > 0)
        snprintf(dbl, sizeof dbl, "%.4g", p->gflops_double);
    printf("%-4d %-44.44s %10.4g %10.4g %10.4g %11.4g %11s %10.4g\n", d->index, d->name, p->copy_gbs, p->triad_gbs,
           p->read_gbs, p->gflops_single, dbl, p->launch_us);
}

typedef struct dopts {
    const char *devices;
    double seconds;
    bool json;
} dopts;

static int parse(int argc, char **argv, dopts *o, const char *cmd, const char *help)
{
    o->devices = "all";
    o->seconds = 2.0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (tb_cli_is_help(a)) {
            fputs(help, stdout);
            return 0;
        } else if ((strcmp(a, "--devices") == 0 || strcmp(a, "--device") == 0) && v) {
            o->devices = v, ++i;
        } else if (strcmp(a, "--seconds") == 0 && v && atof(v) > 0) {
            o->seconds = atof(v), ++i;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else {
            return tb_cli_usage_error(cmd, "unknown or incomplete option '%s'", a);
        }
    }
    return -1;
}

int tb_bench_devices(int argc, char **argv)
{
    dopts o = {0};
    int rc = parse(argc, argv, &o, "bench devices", usage);
    if (rc >= 0)
        return rc;
    tb_error err = {0};
    tb_cli_devs devs = {0};
    tb_status st = tb_cli_devs_open(&devs, o.devices, false, NULL, false, &err);
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"devices\": [");
    if (st == TB_OK && !o.json)
        tb_bench_peak_table_head();
    for (size_t k = 0; st == TB_OK && k < devs.n; ++k) {
        tb_peak p;
        const tb_device_info *d = tb_device_get_info(devs.dev[k]);
        if (!o.json)
            fprintf(stderr, "  measuring device %d (%s)...\n", d->index, d->name);
        st = tb_bench_peak(devs.dev[k], o.seconds, &p, &err);
        if (st != TB_OK)
            break;
        tb_buf_puts(&b, k ? ",\n  " : "\n  ");
        tb_bench_peak_json(&b, d, &p);
        if (!o.json)
            tb_bench_peak_table_row(d, &p);
    }
    tb_buf_puts(&b, "]}\n");
    char *text = tb_buf_take(&b);
    if (st == TB_OK && o.json)
        fputs(text ? text : "", stdout);
    else if (st == TB_OK)
        printf("GB/s: 1e9 bytes per second; GF/s: 1e9 floating-point operations per second (a multiply-add\n"
               "counts 2); launch us: enqueue to finish of an empty kernel, host wall time.\n");
    free(text);
    rc = st == TB_OK ? 0 : tb_cli_fail(&err);
    tb_error_clear(&err);
    tb_cli_devs_close(&devs);
    return rc;
}

/* `bench all` shares the option parser. */
int tb_bench_parse_devices_opts(int argc, char **argv, const char *cmd, const char *help, const char **devices,
                                double *seconds, bool *json)
{
    dopts o = {0};
    int rc = parse(argc, argv, &o, cmd, help);
    *devices = o.devices;
    *seconds = o.seconds;
    *json = o.json;
    return rc;
}
