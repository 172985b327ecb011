/* CLBlast's GEMM against the twin kit's register-tiled MatMul kernel
 * (kernels/twin.cl, tw_matmul_t), on the same device, the same shapes and
 * in the same invocation: the measurement behind the decision in
 * docs/twin.md ("What runs") and the table in docs/performance.md. Not
 * part of the build (CLBlast is not a dependency); build it in a built
 * tree with libclblast-dev installed:
 *
 *   cc -O2 -std=c11 -I. -Iinclude -Icore -Icore/twin scripts/bench-clblast.c -o bench-clblast \
 *      .libs/libtwinbrain.so -lclblast -lOpenCL -Wl,-rpath,$PWD/.libs
 *   . tests/env.sh && ./bench-clblast [REPS]
 *
 * Each shape: Y[M, N] = A[M, K] B[K, N], A an input, B a constant (a
 * layer's weights), batch 1, through tw_exec (the kit's executor, one
 * MatMul node) and through CLBlast{S,D}gemm (row-major) on buffers of the
 * same device; wall time per product after a warm-up (CLBlast compiles
 * its kernels on the first call: reported apart), both ways finished
 * with clFinish; their largest difference relative to the largest |Y|,
 * and the kit's against a host product in double (first 32 rows). */
#define _POSIX_C_SOURCE 200809L
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twin_exec.h"
#include "twin_graph.h"
#include "twinbrain/device.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int tensor(tw_graph *g, const char *name, int dtype, int64_t r, int64_t c)
{
    int k = tw_graph_tensor(g, name);
    g->t[k].dtype = dtype, g->t[k].rank = 2, g->t[k].dims[0] = r, g->t[k].dims[1] = c, g->t[k].known = true;
    return k;
}

/* One MatMul node: Y = A B with B constant. */
static void build(tw_graph *g, int64_t M, int64_t K, int64_t N, int dtype, const double *b)
{
    memset(g, 0, sizeof *g);
    int a = tensor(g, "A", dtype, M, K), w = tensor(g, "B", dtype, K, N), y = tensor(g, "Y", dtype, M, N);
    tw_tensor_alloc(&g->t[w]);
    memcpy(g->t[w].f, b, (size_t)(K * N) * sizeof *b);
    tw_node *n = tw_graph_add_node(g, "MatMul", "matmul");
    n->in = malloc(2 * sizeof *n->in), n->out = malloc(sizeof *n->out);
    n->in[0] = a, n->in[1] = w, n->out[0] = y, n->n_in = 2, n->n_out = 1;
    g->inputs = malloc(sizeof *g->inputs), g->outputs = malloc(sizeof *g->outputs);
    g->inputs[0] = a, g->outputs[0] = y, g->n_inputs = g->n_outputs = 1;
    g->opset = 16;
}

static void die(const char *what, tb_error *err)
{
    fprintf(stderr, "bench-clblast: %s: %s\n", what, err ? tb_error_message(err) : "failed");
    exit(1);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    /* (M, K, N): the twin models' products (shifter 1x2x5, fnn LSTM gates 1x16x64, fnn attention
     * 384x32x384 and 384x384x256), the 1x1 convolutions as GEMMs (Sensorium's 64 channels over 36x64
     * pixels: weights [64, 64] x map [64, 2304] in NCHW, and pixel-major 2304x64x64; 128 channels),
     * then squares */
    static const int64_t shapes[][3] = {{1, 2, 5},         {1, 16, 64},      {384, 32, 384},   {384, 384, 256},
                                        {64, 64, 2304},    {128, 128, 2304}, {2304, 64, 64},   {2304, 128, 128},
                                        {64, 64, 64},      {128, 128, 128},  {256, 256, 256},  {512, 512, 512},
                                        {1024, 1024, 1024}};
    tb_error err = {0};
    tb_device_info *list;
    size_t nl, pick;
    if (tb_device_list(&list, &nl, &err) || tb_device_select(list, nl, NULL, true, &pick, &err))
        die("device", &err);
    tb_device *dev;
    if (tb_device_open(&list[pick], &dev, &err))
        die("device", &err);
    printf("device: %s; %d repetitions; ms per product (wall, after warm-up)\n", list[pick].name, reps);
    printf("%-18s %-6s %10s %10s %8s %9s %9s %10s %9s %9s\n", "M x K x N", "prec", "twinbrain", "CLBlast",
           "tb/clb", "GF/s tb", "GF/s clb", "clb 1st", "clb-tb", "tb-host");
    cl_command_queue q = tb_device_queue(dev);
    cl_context ctx = tb_device_context(dev);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int dbl = 0; dbl < 2; ++dbl) {
            int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            size_t rs = dbl ? sizeof(double) : sizeof(float);
            double *a = malloc((size_t)(M * K) * sizeof *a), *b = malloc((size_t)(K * N) * sizeof *b);
            double *y1 = malloc((size_t)(M * N) * sizeof *y1), *y2 = malloc((size_t)(M * N) * sizeof *y2);
            void *ah = malloc((size_t)(M * K) * rs), *bh = malloc((size_t)(K * N) * rs);
            void *yh = malloc((size_t)(M * N) * rs);
            srand(7);
            for (int64_t i = 0; i < M * K; ++i)
                a[i] = rand() / (double)RAND_MAX - 0.5;
            for (int64_t i = 0; i < K * N; ++i)
                b[i] = rand() / (double)RAND_MAX - 0.5;
            for (int64_t i = 0; i < M * K; ++i)
                dbl ? (void)(((double *)ah)[i] = a[i]) : (void)(((float *)ah)[i] = (float)a[i]);
            for (int64_t i = 0; i < K * N; ++i)
                dbl ? (void)(((double *)bh)[i] = b[i]) : (void)(((float *)bh)[i] = (float)b[i]);
            /* the kit */
            tw_graph g;
            build(&g, M, K, N, dbl ? TW_DOUBLE : TW_FLOAT, b);
            tw_exec *x;
            if (tw_exec_create(&g, dev, dbl ? TB_DOUBLE : TB_SINGLE, 1, &x, &err) ||
                tw_exec_write_input(x, 0, ah, &err) || tw_exec_run(x, &err))
                die("twinbrain", &err);
            clFinish(q);
            double t0 = now();
            for (int r = 0; r < reps; ++r)
                if (tw_exec_run(x, &err))
                    die("twinbrain", &err);
            clFinish(q);
            double t_tb = (now() - t0) / reps;
            if (tw_exec_read_output(x, 0, yh, NULL, &err))
                die("twinbrain read", &err);
            clFinish(q);
            for (int64_t i = 0; i < M * N; ++i)
                y1[i] = dbl ? ((double *)yh)[i] : ((float *)yh)[i];
            tw_exec_destroy(x);
            tw_graph_free(&g);
            /* CLBlast */
            cl_int rc;
            cl_mem A = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)(M * K) * rs, ah, &rc);
            cl_mem B = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)(K * N) * rs, bh, &rc);
            cl_mem Y = clCreateBuffer(ctx, CL_MEM_READ_WRITE, (size_t)(M * N) * rs, NULL, &rc);
            CLBlastStatusCode st = CLBlastSuccess;
            double t_first = 0, t_clb = 0;
            for (int r = -1; r < reps && st == CLBlastSuccess; ++r) {
                if (r == 0)
                    t0 = now();
                double t1 = now();
                st = dbl ? CLBlastDgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, (size_t)M,
                                        (size_t)N, (size_t)K, 1.0, A, 0, (size_t)K, B, 0, (size_t)N, 0.0, Y, 0,
                                        (size_t)N, &q, NULL)
                         : CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, (size_t)M,
                                        (size_t)N, (size_t)K, 1.0f, A, 0, (size_t)K, B, 0, (size_t)N, 0.0f, Y, 0,
                                        (size_t)N, &q, NULL);
                if (r < 0) {
                    clFinish(q);
                    t_first = now() - t1;
                }
            }
            clFinish(q);
            t_clb = (now() - t0) / reps;
            double diff = NAN, big = 0;
            if (st == CLBlastSuccess && clEnqueueReadBuffer(q, Y, CL_TRUE, 0, (size_t)(M * N) * rs, yh, 0, NULL,
                                                            NULL) == CL_SUCCESS) {
                diff = 0;
                for (int64_t i = 0; i < M * N; ++i) {
                    y2[i] = dbl ? ((double *)yh)[i] : ((float *)yh)[i];
                    diff = fmax(diff, fabs(y2[i] - y1[i]));
                    big = fmax(big, fabs(y1[i]));
                }
                diff /= big > 0 ? big : 1;
            }
            double host = 0, hbig = 0;
            for (int64_t i = 0; i < M && i < 32; ++i)
                for (int64_t j = 0; j < N; ++j) {
                    double s = 0;
                    for (int64_t k = 0; k < K; ++k)
                        s += a[i * K + k] * b[k * N + j];
                    host = fmax(host, fabs(y1[i * N + j] - s));
                    hbig = fmax(hbig, fabs(s));
                }
            host /= hbig > 0 ? hbig : 1;
            char shape[32];
            snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)M, (long long)K, (long long)N);
            double flop = 2.0 * (double)M * (double)K * (double)N;
            if (st != CLBlastSuccess)
                printf("%-18s %-6s %10.4f %10s  CLBlast status %d\n", shape, dbl ? "double" : "single", t_tb * 1e3,
                       "-", (int)st);
            else
                printf("%-18s %-6s %10.4f %10.4f %8.2f %9.2f %9.2f %10.1f %9.1e %9.1e\n", shape,
                       dbl ? "double" : "single", t_tb * 1e3, t_clb * 1e3, t_tb / t_clb, flop / t_tb * 1e-9,
                       flop / t_clb * 1e-9, t_first * 1e3, diff, host);
            fflush(stdout);
            clReleaseMemObject(A), clReleaseMemObject(B), clReleaseMemObject(Y);
            free(a), free(b), free(y1), free(y2), free(ah), free(bh), free(yh);
        }
    tb_device_close(dev);
    tb_device_list_free(list);
    return 0;
}
