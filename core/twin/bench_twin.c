/* twinbrain bench twin: a visual twin in frames per second next to
 * PyTorch and ONNX Runtime on the same machine in the same invocation (a
 * Python peer builds the model with random weights, exports it and times
 * the peers; twinbrain imports that export and times itself), and the
 * device's GFLOP/s against its measured multiply-add peak. Two models:
 * the Sensorium-2022-style static twin (reference sheet: 4-layer core of
 * 64 channels, 9x9 then 7x7 depth-separable, batch norm, ELU; Gaussian
 * readout of ~8,000 units with a shifter; 36x64 images), and the
 * fnn-style video twin at its published sizes (tests/twin_fnn.py, which
 * the peer imports: 144x256 frames, 4 streams, 8,000 units, recurrent
 * state carried frame to frame by every engine). */
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
    "usage: twinbrain bench twin [--model sensorium|fnn] [--frames N] [--batches B[,B...]] [--threads T]\n"
    "                            [--device SEL] [--quick] [--no-fuse] [--json]\n"
    "\n"
    "--model sensorium (default): model (a) of the twin kit's tests at the Sensorium 2022 baseline's\n"
    "sizes (36x64 images, four layers of 64 channels, 8,000 units; about 0.18 GFLOP a frame).\n"
    "--model fnn: model (b), the fnn-style video twin at its published sizes (144x256 frames, four\n"
    "streams, 8,000 units, 40 recurrent state tensors carried frame to frame; about 12 GFLOP a\n"
    "frame); the peer imports tests/twin_fnn.py from $TWINBRAIN_BENCH_DIR (tests/env.sh sets it)\n"
    "or the installed " TB_PKGDATADIR "/bench.\n"
    "Random weights, single precision: frames per second per batch for twinbrain (the batch-1 ONNX\n"
    "export, batched by the kit; its one-time setup, kernel build or cache load and the first\n"
    "frame, reported apart), PyTorch (eager, no_grad) and ONNX Runtime (CPU provider, an export\n"
    "with a dynamic batch axis), each with T threads (default: the online processors), run in this\n"
    "invocation; and twinbrain's GFLOP/s against the device's measured single-precision peak. The\n"
    "Python peer needs python3 with torch and onnx (ONNX Runtime is skipped, saying so, when absent:\n"
    "scripts/install-deps --bench). $TB_PYTHON or python3 runs it.\n"
    "  --frames N     frames timed per configuration after one untimed frame (default 20, fnn 2;\n"
    "                 --quick: 3, fnn 1)\n"
    "  --batches LIST batch sizes (default 1,8; at most 4)\n"
    "  --quick        reduced sizes (sensorium: 16 channels and 400 units; fnn: tests/twin_fnn.py's\n"
    "                 REDUCED, 36x64 frames, 2 streams, 60 units): a smoke test, not the benchmark\n"
    "  --no-fuse      import without fusing the readout (as 'twin import --no-fuse')\n"
    "Figures and the command that produced them: docs/performance.md.\n";

/* The Sensorium-style peer: argv onnx_b1 onnx_dyn channels units frames
 * threads batches. Prints "peer NAME BATCH FPS" lines, or "skip NAME WHY". */
static const char peer[] =
    "import sys, time\n"
    "path1, pathd, C, U, frames, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])\n"
    "batches = [int(b) for b in sys.argv[7].split(',')]\n"
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
    "for B in batches:\n"
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
    "for B in batches:\n"
    "    f = {'images': torch.randn(B, 1, 36, 64).numpy(), 'pupil': torch.zeros(B, 2).numpy()}\n"
    "    print('peer onnxruntime', B, timed(lambda: s.run(None, f), B), flush=True)\n";

/* The fnn-style peer: argv onnx_b1 onnx_dyn moddir full frames threads
 * batches. Each engine carries the 40 state tensors frame to frame. */
static const char peer_fnn[] =
    "import sys, time\n"
    "path1, pathd, moddir = sys.argv[1:4]\n"
    "full, frames, threads = map(int, sys.argv[4:7])\n"
    "batches = [int(b) for b in sys.argv[7].split(',')]\n"
    "sys.path.insert(0, moddir)\n"
    "import numpy as np, torch\n"
    "torch.set_num_threads(threads)\n"
    "import twin_fnn\n"
    "m = twin_fnn.fnn_model(twin_fnn.FULL if full else twin_fnn.REDUCED)\n"
    "twin_fnn.export(m, path1, torch.float32)\n"
    "fh, fw = m.sizes['frame']\n"
    "names = [n for n, _ in m.state_shapes()]\n"
    "def timed(fn, B):\n"
    "    fn(); t0 = time.perf_counter()\n"
    "    for _ in range(frames): fn()\n"
    "    return frames * B / (time.perf_counter() - t0)\n"
    "def torch_fps(B):\n"
    "    st = [torch.zeros(*s) for _, s in m.state_shapes(B)]\n"
    "    x, z = torch.rand(B, 1, fh, fw), torch.zeros(B, 2)\n"
    "    def step():\n"
    "        r, *st[:] = m(x, z, z, *st)\n"
    "    with torch.no_grad():\n"
    "        return timed(step, B)\n"
    "for B in batches:\n"
    "    print('peer pytorch', B, torch_fps(B), flush=True)\n"
    "try:\n"
    "    import onnxruntime as ort\n"
    "except ImportError:\n"
    "    print('skip onnxruntime not installed (scripts/install-deps --bench)')\n"
    "    sys.exit(0)\n"
    "twin_fnn.export(m, pathd, torch.float32, dynamic_axes=twin_fnn.batch_axes(m))\n"
    "o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1\n"
    "s = ort.InferenceSession(pathd, o, providers=['CPUExecutionProvider'])\n"
    "outs = ['responses'] + [n + '_next' for n in names]\n"
    "for B in batches:\n"
    "    z = np.zeros((B, 2), np.float32)\n"
    "    f = {'frames': np.random.rand(B, 1, fh, fw).astype(np.float32), 'eye': z, 'behaviour': z}\n"
    "    f.update((n, np.zeros(sh, np.float32)) for n, sh in m.state_shapes(B))\n"
    "    def step():\n"
    "        f.update(zip(names, s.run(outs, f)[1:]))\n"
    "    print('peer onnxruntime', B, timed(step, B), flush=True)\n";

typedef struct opts {
    int frames, threads, batches[4], n_batches;
    const char *device;
    bool fnn, quick, json, no_fuse;
} opts;

typedef struct figure {
    char who[32];
    int batch;
    double fps, setup; /* setup: twinbrain's executor creation and first frame, seconds */
} figure;

/* Where the fnn peer finds tests/twin_fnn.py. */
static const char *fnn_module_dir(void)
{
    const char *d = getenv("TWINBRAIN_BENCH_DIR");
    return d && d[0] ? d : TB_PKGDATADIR "/bench";
}

static char *peer_command(const opts *o, const char *py, const char *script, const char *dir)
{
    char list[64] = "";
    for (int b = 0; b < o->n_batches; ++b)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", b ? "," : "", o->batches[b]);
    if (o->fnn)
        return tb_asprintf("'%s' '%s' '%s/a1.onnx' '%s/adyn.onnx' '%s' %d %d %d %s 2>&1", py, script, dir, dir,
                           fnn_module_dir(), !o->quick, o->frames, o->threads, list);
    return tb_asprintf("'%s' '%s' '%s/a1.onnx' '%s/adyn.onnx' %d %d %d %d %s 2>&1", py, script, dir, dir,
                       o->quick ? 16 : 64, o->quick ? 400 : 8000, o->frames, o->threads, list);
}

static tb_status run_peer(const opts *o, const char *dir, figure *f, size_t *n, char *skip, size_t cap, tb_error *err)
{
    char *script = tb_path_join(dir, "peer.py");
    FILE *s = script ? fopen(script, "w") : NULL;
    if (!s || fputs(o->fnn ? peer_fnn : peer, s) < 0 || fclose(s) != 0) {
        free(script);
        return tb_error_set(err, TB_ERR_OTHER, "cannot write the Python peer into %s", dir);
    }
    const char *py = getenv("TB_PYTHON") && strcmp(getenv("TB_PYTHON"), "none") != 0 ? getenv("TB_PYTHON") : "python3";
    char *cmd = peer_command(o, py, script, dir);
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
                           : tb_error_set(err, TB_ERR_OTHER, "the Python peer (%s with torch and onnx%s) failed:\n%s",
                                          py, o->fnn ? ", and twin_fnn.py in $TWINBRAIN_BENCH_DIR" : "",
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

/* Frames per second of `frames` frames after a first, untimed one; *setup
 * is the executor's creation (the kernels' build or cache load) and that
 * first frame (PoCL compiles each kernel for its work-group size at its
 * first launch). Frame inputs are uploaded and responses read back every
 * frame; other inputs stay 0 and the state is carried on the device. */
static tb_status time_twin(tw_graph *g, tb_device *dev, int batch, int frames, double *fps, double *setup,
                           tb_error *err)
{
    tw_exec *x = NULL;
    double t_setup = tb_now();
    tb_status st = tw_exec_create(g, dev, TB_SINGLE, (size_t)batch, &x, err);
    if (st)
        return st;
    size_t nin = (size_t)tw_numel(&g->t[g->inputs[0]]) * (size_t)batch;
    size_t nout = (size_t)tw_numel(&g->t[g->outputs[0]]) * (size_t)batch;
    float *in = malloc(nin * sizeof *in), *out = malloc(nout * sizeof *out);
    for (size_t k = 0; in && k < nin; ++k)
        in[k] = (float)((k * 2654435761u) % 1000) / 1000.0f;
    double t0 = 0;
    for (int f = -1; st == TB_OK && in && out && f < frames; ++f) {
        if (f == 0) {
            clFinish(tb_device_queue(dev));
            t0 = tb_now();
            *setup = t0 - t_setup;
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

static int parse_batches(const char *s, opts *o)
{
    o->n_batches = 0;
    for (const char *c = s; *c;) {
        char *end;
        long b = strtol(c, &end, 10);
        if (end == c || b < 1 || b > 4096 || o->n_batches == 4 || (*end && *end != ','))
            return tb_cli_usage_error("bench twin", "--batches takes up to 4 sizes >= 1, comma-separated (got '%s')",
                                      s);
        o->batches[o->n_batches++] = (int)b;
        c = *end ? end + 1 : end;
    }
    return o->n_batches ? 0 : tb_cli_usage_error("bench twin", "--batches needs at least one size");
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.frames = 0, .threads = (int)sysconf(_SC_NPROCESSORS_ONLN), .batches = {1, 8}, .n_batches = 2};
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return -1;
        }
        int rc = 0;
        if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
            o->frames = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            o->threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
            rc = parse_batches(argv[++i], o);
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            if (strcmp(m, "fnn") != 0 && strcmp(m, "sensorium") != 0)
                return tb_cli_usage_error("bench twin", "--model is sensorium or fnn (got '%s')", m);
            o->fnn = strcmp(m, "fnn") == 0;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o->device = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            o->quick = true;
        else if (strcmp(argv[i], "--no-fuse") == 0)
            o->no_fuse = true;
        else if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else
            return tb_cli_usage_error("bench twin", "unknown option '%s' (or it is missing its value)", argv[i]);
        if (rc)
            return rc;
    }
    if (o->frames == 0)
        o->frames = o->fnn ? (o->quick ? 1 : 2) : o->quick ? 3 : 20;
    if (o->frames < 1 || o->threads < 1)
        return tb_cli_usage_error("bench twin", "--frames and --threads must be >= 1");
    return 0;
}

static double twin_fps(const figure *f, size_t n, int batch)
{
    for (size_t k = 0; k < n; ++k)
        if (strcmp(f[k].who, "twinbrain") == 0 && f[k].batch == batch)
            return f[k].fps;
    return 0;
}

static void report_json(const opts *o, const tb_device_info *d, const figure *f, size_t n, double gflop, double peak)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"model\": ");
    tb_json_string(&b, o->fnn ? "fnn" : "sensorium");
    tb_buf_printf(&b, ", \"quick\": %s, \"device\": ", o->quick ? "true" : "false");
    tb_json_string(&b, d->name);
    tb_buf_printf(&b, ", \"gflop_per_frame\": %.6g, \"peak_gflops_single\": %.6g, \"threads\": %d, \"figures\": [",
                  gflop, peak, o->threads);
    for (size_t k = 0; k < n; ++k) {
        tb_buf_printf(&b, "%s{\"engine\": ", k ? ", " : "");
        tb_json_string(&b, f[k].who);
        tb_buf_printf(&b, ", \"batch\": %d, \"frames_per_second\": %.6g", f[k].batch, f[k].fps);
        if (strcmp(f[k].who, "twinbrain") == 0)
            tb_buf_printf(&b, ", \"setup_seconds\": %.6g", f[k].setup);
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "]}\n");
    char *t = tb_buf_take(&b);
    fputs(t ? t : "", stdout);
    free(t);
}

static void report(const opts *o, const tb_device_info *d, const figure *f, size_t n, double gflop, double peak,
                   const char *skip)
{
    if (o->json) {
        report_json(o, d, f, n, gflop, peak);
        return;
    }
    printf("model %s%s: %.3f GFLOP a frame; device %s; %d threads for the peers\n",
           o->fnn ? "(b), fnn-style" : "(a), Sensorium-style", o->quick ? " (--quick sizes)" : "", gflop, d->name,
           o->threads);
    printf("%-12s %6s %14s %14s %10s\n", "engine", "batch", "frames/s", "twinbrain x", "GFLOP/s");
    for (size_t k = 0; k < n; ++k) {
        double mine = twin_fps(f, n, f[k].batch);
        printf("%-12s %6d %14.3f %14.2f %10.2f\n", f[k].who, f[k].batch, f[k].fps, mine > 0 ? mine / f[k].fps : 0,
               f[k].fps * gflop);
    }
    int top = o->batches[o->n_batches - 1];
    printf("device peak %.1f GFLOP/s (single, measured): twinbrain reaches %.1f%% at batch %d\n", peak,
           peak > 0 ? 100.0 * twin_fps(f, n, top) * gflop / peak : 0.0, top);
    for (size_t k = 0; k < n; ++k)
        if (strcmp(f[k].who, "twinbrain") == 0)
            printf("twinbrain setup at batch %d (kernels built or loaded, first frame): %.2f s, not in frames/s\n",
                   f[k].batch, f[k].setup);
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
    size_t nt = (size_t)o.n_batches, n = 0;
    char skip[256] = "";
    tb_status st = mkdtemp(dir) ? run_peer(&o, dir, f + nt, &n, skip, sizeof skip, &err)
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
    for (size_t b = 0; st == TB_OK && b < nt; ++b) {
        f[b] = (figure){"twinbrain", o.batches[b], 0, 0};
        st = time_twin(&g, devs.dev[0], o.batches[b], o.frames, &f[b].fps, &f[b].setup, &err);
    }
    st = st ? st : tb_bench_peak(devs.dev[0], 0.5, &peak, &err);
    if (st == TB_OK)
        report(&o, tb_device_get_info(devs.dev[0]), f, n + nt, 2 * macs_of(&g) * 1e-9, peak.gflops_single, skip);
    tb_cli_devs_close(&devs);
    tw_graph_free(&g);
    char *rm = tb_asprintf("rm -rf '%s'", dir);
    if (rm && system(rm) != 0)
        fprintf(stderr, "twinbrain: note: could not remove %s\n", dir);
    free(rm);
    free(model);
    return st ? tb_cli_fail(&err) : 0;
}
