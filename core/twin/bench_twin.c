/* twinbrain bench twin: the Sensorium-2022-style static twin (reference
 * sheet: 4-layer core of 64 channels, 9x9 then 7x7 depth-separable, batch
 * norm, ELU; Gaussian readout of ~8,000 units with a shifter; 36x64
 * images) in frames per second at batch 1 and 8, next to PyTorch and ONNX
 * Runtime on the same machine in the same invocation (a Python peer
 * builds the model with random weights, exports it and times the peers;
 * twinbrain imports that export and times itself), and the device's
 * GFLOP/s against its measured multiply-add peak. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cli/cli.h"
#include "twin_exec.h"
#include "twin_import.h"
#include "twinbrain/opencl.h"
#include "util.h"

static const char usage[] =
    "usage: twinbrain bench twin [--frames N] [--threads T] [--device SEL] [--quick] [--no-fuse] [--json]\n"
    "\n"
    "Model (a) of the twin kit's tests at the Sensorium 2022 baseline's sizes (36x64 images, four\n"
    "layers of 64 channels, 8,000 units; about 0.24 GFLOP a frame), with random weights, single\n"
    "precision: frames per second at batch 1 and 8 for twinbrain (the batch-1 ONNX export, batched\n"
    "by the kit), PyTorch (eager, no_grad) and ONNX Runtime (CPU provider, an export with a dynamic\n"
    "batch axis), each with T threads (default: the online processors), run in this invocation;\n"
    "and twinbrain's GFLOP/s against the device's measured single-precision peak. The Python peer\n"
    "needs python3 with torch and onnx (ONNX Runtime is skipped, saying so, when absent:\n"
    "scripts/install-deps --bench). $TB_PYTHON or python3 runs it.\n"
    "  --frames N   frames timed per configuration (default 20; --quick: 3)\n"
    "  --quick      16 channels and 400 units: a smoke test, not the benchmark\n"
    "  --no-fuse    import without fusing the readout (as 'twin import --no-fuse')\n"
    "Figures and the command that produced them: docs/performance.md.\n";

/* The peer: argv onnx_b1 onnx_dyn channels units frames threads. Prints
 * "peer NAME BATCH FPS" lines, or "skip NAME WHY". */
static const char peer[] =
    "import sys, time\n"
    "path1, pathd, C, U, frames, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])\n"
    "import torch, torch.nn as nn, torch.nn.functional as F\n"
    "torch.set_num_threads(threads)\n"
    "torch.manual_seed(0)\n"
    "def block(i):\n"
    "    conv = nn.Conv2d(1, C, 9, padding=4, bias=False) if i == 0 else nn.Sequential(\n"
    "        nn.Conv2d(C, C, 1, bias=False), nn.Conv2d(C, C, 7, padding=3, groups=C, bias=False),\n"
    "        nn.Conv2d(C, C, 1, bias=False))\n"
    "    return nn.Sequential(conv, nn.BatchNorm2d(C), nn.ELU())\n"
    "class M(nn.Module):\n"
    "    def __init__(s):\n"
    "        super().__init__()\n"
    "        s.layers = nn.ModuleList(block(i) for i in range(4))\n"
    "        s.l1, s.l2 = nn.Linear(2, 5), nn.Linear(5, 2)\n"
    "        s.mu = nn.Parameter(torch.rand(1, U, 1, 2) * 1.6 - 0.8)\n"
    "        s.feat = nn.Parameter(torch.randn(1, 2 * C, U) / (2 * C) ** 0.5)\n"
    "        s.bias = nn.Parameter(torch.randn(U) * 0.1)\n"
    "    def forward(s, x, pupil):\n"
    "        outs = []\n"
    "        for l in s.layers:\n"
    "            x = l(x); outs.append(x)\n"
    "        x = torch.cat(outs[-2:], 1)\n"
    "        shift = torch.tanh(s.l2(torch.tanh(s.l1(pupil))))\n"
    "        grid = torch.clamp(s.mu + shift[:, None, None, :], -1, 1)\n"
    "        y = F.grid_sample(x, grid, align_corners=True).squeeze(-1)\n"
    "        return F.elu((y * s.feat).sum(1) + s.bias) + 1\n"
    "m = M().eval()\n"
    "x1, p1 = torch.zeros(1, 1, 36, 64), torch.zeros(1, 2)\n"
    "torch.onnx.export(m, (x1, p1), path1, input_names=['images', 'pupil'], output_names=['responses'],\n"
    "                  opset_version=16)\n"
    "dyn = {'images': {0: 'b'}, 'pupil': {0: 'b'}, 'responses': {0: 'b'}}\n"
    "torch.onnx.export(m, (x1, p1), pathd, input_names=['images', 'pupil'], output_names=['responses'],\n"
    "                  opset_version=16, dynamic_axes=dyn)\n"
    "def timed(fn, B):\n"
    "    fn(); t0 = time.perf_counter()\n"
    "    for _ in range(frames): fn()\n"
    "    return frames * B / (time.perf_counter() - t0)\n"
    "for B in (1, 8):\n"
    "    x, p = torch.randn(B, 1, 36, 64), torch.zeros(B, 2)\n"
    "    with torch.no_grad():\n"
    "        print('peer pytorch', B, timed(lambda: m(x, p), B), flush=True)\n"
    "try:\n"
    "    import onnxruntime as ort\n"
    "except ImportError:\n"
    "    print('skip onnxruntime not installed (scripts/install-deps --bench)')\n"
    "    sys.exit(0)\n"
    "o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1\n"
    "s = ort.InferenceSession(pathd, o, providers=['CPUExecutionProvider'])\n"
    "for B in (1, 8):\n"
    "    f = {'images': torch.randn(B, 1, 36, 64).numpy(), 'pupil': torch.zeros(B, 2).numpy()}\n"
    "    print('peer onnxruntime', B, timed(lambda: s.run(None, f), B), flush=True)\n";

typedef struct opts {
    int frames, threads;
    const char *device;
    bool quick, json, no_fuse;
} opts;

typedef struct figure {
    char who[32];
    int batch;
    double fps;
} figure;

static tb_status run_peer(const opts *o, const char *dir, figure *f, size_t *n, char *skip, size_t cap, tb_error *err)
{
    char *script = tb_path_join(dir, "peer.py");
    FILE *s = script ? fopen(script, "w") : NULL;
    if (!s || fputs(peer, s) < 0 || fclose(s) != 0) {
        free(script);
        return tb_error_set(err, TB_ERR_OTHER, "cannot write the Python peer into %s", dir);
    }
    const char *py = getenv("TB_PYTHON") && strcmp(getenv("TB_PYTHON"), "none") != 0 ? getenv("TB_PYTHON") : "python3";
    char *cmd = tb_asprintf("'%s' '%s' '%s/a1.onnx' '%s/adyn.onnx' %d %d %d %d 2>&1", py, script, dir, dir,
                            o->quick ? 16 : 64, o->quick ? 400 : 8000, o->frames, o->threads);
    FILE *p = cmd ? popen(cmd, "r") : NULL;
    char line[512];
    tb_buf out = {0};
    while (p && fgets(line, sizeof line, p)) {
        figure g = {0};
        if (*n < 8 && sscanf(line, "peer %31s %d %lf", g.who, &g.batch, &g.fps) == 3)
            f[(*n)++] = g;
        else if (strncmp(line, "skip ", 5) == 0)
            snprintf(skip, cap, "%.200s", line + 5);
        else
            tb_buf_puts(&out, line);
    }
    int rc = p ? pclose(p) : -1;
    free(cmd);
    free(script);
    char *text = tb_buf_take(&out);
    tb_status st = rc == 0 ? TB_OK
                           : tb_error_set(err, TB_ERR_OTHER, "the Python peer (%s with torch and onnx) failed:\n%s", py,
                                          text ? text : "");
    free(text);
    return st;
}

/* Multiply-adds of a frame: convolutions and matrix products (the rest is
 * a few percent). */
static double macs_of(tw_graph *g)
{
    double m = 0;
    for (size_t k = 0; k < g->n_nodes; ++k) {
        tw_node *n = &g->nodes[k];
        tw_tensor *o = tw_out(g, n, 0), *w = tw_in(g, n, 1);
        if (strcmp(n->op, "Conv") == 0)
            m += (double)tw_numel(o) * (double)(tw_numel(w) / w->dims[0]);
        else if (strcmp(n->op, "Gemm") == 0 || strcmp(n->op, "MatMul") == 0)
            m += (double)tw_numel(o) * (double)tw_in(g, n, 0)->dims[tw_in(g, n, 0)->rank - 1];
    }
    return m;
}

static tb_status time_twin(tw_graph *g, tb_device *dev, int batch, int frames, double *fps, tb_error *err)
{
    tw_exec *x = NULL;
    tb_status st = tw_exec_create(g, dev, TB_SINGLE, (size_t)batch, &x, err);
    if (st)
        return st;
    size_t nin = (size_t)tw_numel(&g->t[g->inputs[0]]) * (size_t)batch;
    size_t nout = (size_t)tw_numel(&g->t[g->outputs[0]]) * (size_t)batch;
    float *in = malloc(nin * sizeof *in), *out = malloc(nout * sizeof *out);
    for (size_t k = 0; in && k < nin; ++k)
        in[k] = (float)((k * 2654435761u) % 1000) / 500.0f - 1.0f;
    double t0 = 0;
    for (int f = -1; st == TB_OK && in && out && f < frames; ++f) {
        if (f == 0) {
            clFinish(tb_device_queue(dev));
            t0 = tb_now();
        }
        st = tw_exec_write_input(x, 0, in, err);
        st = st ? st : tw_exec_run(x, err);
        st = st ? st : tw_exec_read_output(x, 0, out, NULL, err);
    }
    clFinish(tb_device_queue(dev));
    *fps = (double)frames * batch / (tb_now() - t0);
    if (st == TB_OK && (!in || !out))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    free(in);
    free(out);
    tw_exec_destroy(x);
    return st;
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.frames = 0, .threads = (int)sysconf(_SC_NPROCESSORS_ONLN)};
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return -1;
        }
        if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
            o->frames = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            o->threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o->device = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            o->quick = true;
        else if (strcmp(argv[i], "--no-fuse") == 0)
            o->no_fuse = true;
        else if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else
            return tb_cli_usage_error("bench twin", "unknown option '%s' (or it is missing its value)", argv[i]);
    }
    if (o->frames == 0)
        o->frames = o->quick ? 3 : 20;
    if (o->frames < 1 || o->threads < 1)
        return tb_cli_usage_error("bench twin", "--frames and --threads must be >= 1");
    return 0;
}

static void report(const opts *o, const tb_device_info *d, const figure *f, size_t n, double gflop, double peak,
                   const char *skip)
{
    double tw[2] = {0};
    for (size_t k = 0; k < n; ++k)
        if (strcmp(f[k].who, "twinbrain") == 0)
            tw[f[k].batch == 8] = f[k].fps;
    if (o->json) {
        tb_buf b = {0};
        tb_buf_puts(&b, "{\"device\": ");
        tb_json_string(&b, d->name);
        tb_buf_printf(&b, ", \"gflop_per_frame\": %.6g, \"peak_gflops_single\": %.6g, \"threads\": %d, \"figures\": [",
                      gflop, peak, o->threads);
        for (size_t k = 0; k < n; ++k) {
            tb_buf_printf(&b, "%s{\"engine\": ", k ? ", " : "");
            tb_json_string(&b, f[k].who);
            tb_buf_printf(&b, ", \"batch\": %d, \"frames_per_second\": %.6g}", f[k].batch, f[k].fps);
        }
        tb_buf_puts(&b, "]}\n");
        char *t = tb_buf_take(&b);
        fputs(t ? t : "", stdout);
        free(t);
        return;
    }
    printf("model (a), Sensorium-style%s: %.3f GFLOP a frame; device %s; %d threads for the peers\n",
           o->quick ? " (--quick sizes)" : "", gflop, d->name, o->threads);
    printf("%-12s %6s %14s %14s %10s\n", "engine", "batch", "frames/s", "twinbrain x", "GFLOP/s");
    for (size_t k = 0; k < n; ++k) {
        double mine = tw[f[k].batch == 8];
        printf("%-12s %6d %14.2f %14.2f %10.2f\n", f[k].who, f[k].batch, f[k].fps, mine > 0 ? mine / f[k].fps : 0,
               f[k].fps * gflop);
    }
    printf("device peak %.1f GFLOP/s (single, measured): twinbrain reaches %.1f%% at batch 8\n", peak,
           peak > 0 ? 100.0 * tw[1] * gflop / peak : 0.0);
    if (skip[0])
        printf("onnxruntime: skipped: %s", skip);
}

int tb_bench_twin(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    char dir[] = "/tmp/twinbrain-bench-twin-XXXXXX";
    tb_error err = {0};
    figure f[12];
    size_t n = 0;
    char skip[256] = "";
    tb_status st = mkdtemp(dir) ? run_peer(&o, dir, f + 2, &n, skip, sizeof skip, &err)
                                : tb_error_set(&err, TB_ERR_OTHER, "cannot make a temporary folder");
    tw_graph g = {0};
    char *model = tb_path_join(dir, "a1.onnx");
    st = st ? st : tw_onnx_read(model, NULL, 0, &g, &err);
    st = st ? st : tw_graph_fold(&g, &err);
    size_t fused = 0;
    st = st || o.no_fuse ? st : tw_graph_fuse(&g, &fused, &err);
    tb_cli_devs devs = {0};
    st = st ? st : tb_cli_devs_open(&devs, o.device, false, NULL, false, &err);
    tb_peak peak = {0};
    for (int b = 0; st == TB_OK && b < 2; ++b) {
        f[b] = (figure){"twinbrain", b ? 8 : 1, 0};
        st = time_twin(&g, devs.dev[0], b ? 8 : 1, o.frames, &f[b].fps, &err);
    }
    st = st ? st : tb_bench_peak(devs.dev[0], 0.5, &peak, &err);
    if (st == TB_OK)
        report(&o, tb_device_get_info(devs.dev[0]), f, n + 2, 2 * macs_of(&g) * 1e-9, peak.gflops_single, skip);
    tb_cli_devs_close(&devs);
    tw_graph_free(&g);
    char *rm = tb_asprintf("rm -rf '%s'", dir);
    if (rm && system(rm) != 0)
        fprintf(stderr, "twinbrain: note: could not remove %s\n", dir);
    free(rm);
    free(model);
    return st ? tb_cli_fail(&err) : 0;
}
