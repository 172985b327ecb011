/* twinbrain twin ...: importing ONNX models into twin network files, and
 * evaluating a network on given input tensors (what the op tests and a
 * user checking an import drive). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "h5util.h"
#include "twin_exec.h"
#include "twin_fit.h"
#include "twin_import.h"
#include "twin_score.h"
#include "twin_similarity.h"
#include "twinbrain/device.h"
#include "util.h"

static const char import_usage[] =
    "usage: twinbrain twin import MODEL.onnx -o NET.h5 [--size INPUT=AxBx...]... [--no-fuse]\n"
    "\n"
    "Converts an ONNX model (torch.onnx.export) into a twin network file (docs/formats.md,\n"
    "\"Twin networks\"): input sizes are fixed (from the model, or --size for inputs with dynamic\n"
    "dimensions), shape arithmetic is folded, BatchNormalization is folded into the Conv before\n"
    "it, and each Gaussian readout (GridSample, Mul by the features, ReduceSum over the channels,\n"
    "bias Add) becomes one GridSampleReadout node that computes the same sums without the\n"
    "[N, C, units] intermediate; --no-fuse keeps the readout's ops as exported. Exit status 4 for a\n"
    "model it cannot read or an op it does not support.\n";

static const char eval_usage[] =
    "usage: twinbrain twin eval NET.h5 INPUTS.h5 -o OUT.h5 [--device SEL] [--precision single|double]\n"
    "\n"
    "Runs the network once on the datasets of INPUTS.h5 named like its inputs (the input's shape,\n"
    "or [B, shape...] for B instances) and writes each output as a dataset of the same name (with the\n"
    "leading B axis when the inputs had one). Double precision by default.\n";

static int do_import(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    const char **sizes = calloc((size_t)argc + 1, sizeof *sizes);
    size_t n_sizes = 0;
    int rc = 0;
    bool fuse = true;
    for (int i = 1; i < argc && rc == 0; ++i) {
        if (tb_cli_is_help(argv[i])) {
            fputs(import_usage, stdout);
            free(sizes);
            return 0;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc && strchr(argv[i + 1], '='))
            sizes[n_sizes++] = argv[++i];
        else if (strcmp(argv[i], "--no-fuse") == 0)
            fuse = false;
        else if (argv[i][0] == '-')
            rc = tb_cli_usage_error("twin import", "unknown option '%s' (or it is missing its value)", argv[i]);
        else if (model)
            rc = tb_cli_usage_error("twin import", "one model at a time");
        else
            model = argv[i];
    }
    if (rc == 0 && (!model || !out))
        rc = tb_cli_usage_error("twin import", "needs MODEL.onnx and -o NET.h5");
    if (rc) {
        free(sizes);
        return rc;
    }
    tb_error err = {0};
    tw_graph g;
    tb_status st = tw_onnx_read(model, sizes, n_sizes, &g, &err);
    if (st == TB_OK) {
        tb_buf b = {0};
        for (size_t s = 0; s < n_sizes; ++s)
            tb_buf_printf(&b, "%s%s", s ? " " : "", sizes[s]);
        g.sizes = tb_buf_take(&b);
        size_t fused = 0;
        st = tw_graph_fold(&g, &err);
        st = st || !fuse ? st : tw_graph_fuse(&g, &fused, &err);
        st = st ? st : tw_network_write(&g, out, &err);
        if (st == TB_OK) {
            size_t consts = 0;
            for (size_t k = 0; k < g.n_t; ++k)
                consts += tw_is_const(&g.t[k]);
            printf("%s: %zu nodes, %zu constants, %zu inputs, %zu outputs, %zu state pairs (opset %lld)", out,
                   g.n_nodes, consts, g.n_inputs, g.n_outputs, g.n_state, (long long)g.opset);
            printf(fused ? ", %zu readouts fused\n" : "\n", fused);
        }
        tw_graph_free(&g);
    }
    free(sizes);
    return st ? tb_cli_fail(&err) : 0;
}

/* ------------------------------------------------------------ eval */

/* A dataset as doubles; dims and rank out. */
static double *read_dataset(hid_t f, const char *name, int *rank, hsize_t *dims)
{
    char path[600];
    snprintf(path, sizeof path, "/%s", name);
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t s = ds >= 0 ? H5Dget_space(ds) : -1;
    *rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    double *v = NULL;
    if (*rank >= 0 && *rank <= TW_MAX_RANK + 1 && H5Sget_simple_extent_dims(s, dims, NULL) >= 0) {
        hssize_t n = H5Sget_simple_extent_npoints(s);
        v = malloc(((size_t)n + 1) * sizeof *v);
        if (v && n && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
            free(v);
            v = NULL;
        }
    }
    if (s >= 0)
        H5Sclose(s);
    if (ds >= 0)
        H5Dclose(ds);
    return v;
}

typedef struct eval_args {
    const char *net, *inputs, *out, *device;
    tb_precision prec;
} eval_args;

/* The inputs as reals [B][numel] each; *batch and *leading out. */
static tb_status load_inputs(const eval_args *a, const tw_graph *g, size_t rs, void ***host, size_t *batch,
                             bool *leading, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(a->inputs, H5F_ACC_RDONLY, H5P_DEFAULT);
    tb_status st = f < 0 ? tb_error_set(err, TB_ERR_INPUT, "%s: cannot open as an HDF5 file", a->inputs) : TB_OK;
    *host = calloc(g->n_inputs + 1, sizeof **host);
    *batch = 1, *leading = false;
    for (size_t k = 0; st == TB_OK && k < g->n_inputs; ++k) {
        const tw_tensor *t = &g->t[g->inputs[k]];
        int rank;
        hsize_t dims[TW_MAX_RANK + 1];
        double *v = read_dataset(f, t->name, &rank, dims);
        bool lead = rank == t->rank + 1;
        bool same = v && (rank == t->rank || lead);
        for (int d = 0; same && d < t->rank; ++d)
            same = (int64_t)dims[d + lead] == t->dims[d];
        if (same && k > 0 && (lead != *leading || (lead && dims[0] != *batch)))
            same = false;
        if (!same) {
            char sh[128];
            st = tb_error_set(err, TB_ERR_INPUT, "%s: needs a dataset /%s of shape %s (or [B, ...] of it)", a->inputs,
                              t->name, tw_shape_text(t, sh, sizeof sh));
            free(v);
            break;
        }
        *leading = lead;
        *batch = lead ? dims[0] : 1;
        size_t n = (size_t)tw_numel(t) * *batch;
        (*host)[k] = malloc((n ? n : 1) * rs);
        for (size_t j = 0; (*host)[k] && j < n; ++j) {
            if (rs == sizeof(double))
                ((double *)(*host)[k])[j] = v[j];
            else
                ((float *)(*host)[k])[j] = (float)v[j];
        }
        free(v);
    }
    if (f >= 0)
        H5Fclose(f);
    tb_h5_quiet_end(q);
    return st;
}

static tb_status write_outputs(const eval_args *a, const tw_graph *g, void **res, size_t rs, size_t batch, bool lead,
                               tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fcreate(a->out, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    tb_status st = f < 0 ? tb_error_set(err, TB_ERR_OTHER, "%s: cannot create", a->out) : TB_OK;
    for (size_t k = 0; st == TB_OK && k < g->n_outputs; ++k) {
        const tw_tensor *t = &g->t[g->outputs[k]];
        hsize_t dims[TW_MAX_RANK + 1];
        int r = 0;
        if (lead)
            dims[r++] = batch;
        for (int d = 0; d < t->rank; ++d)
            dims[r++] = (hsize_t)t->dims[d];
        hid_t s = r ? H5Screate_simple(r, dims, NULL) : H5Screate(H5S_SCALAR);
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        char path[600];
        snprintf(path, sizeof path, "/%s", t->name);
        hid_t mt = rs == sizeof(double) ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
        hid_t ds = H5Dcreate2(f, path, rs == sizeof(double) ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, s, lcpl, H5P_DEFAULT,
                              H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, res[k]) < 0)
            st = tb_error_set(err, TB_ERR_OTHER, "%s: cannot write /%s", a->out, t->name);
        if (ds >= 0)
            H5Dclose(ds);
        H5Pclose(lcpl);
        H5Sclose(s);
    }
    if (f >= 0 && H5Fclose(f) < 0 && st == TB_OK)
        st = tb_error_set(err, TB_ERR_OTHER, "%s: cannot write", a->out);
    tb_h5_quiet_end(q);
    return st;
}

static tb_status evaluate(const eval_args *a, tb_error *err)
{
    tw_graph g;
    tb_status st = tw_network_read(a->net, &g, err);
    if (st)
        return st;
    size_t rs = a->prec == TB_DOUBLE ? sizeof(double) : sizeof(float), batch = 1;
    bool lead = false;
    void **in = NULL, **res = calloc(g.n_outputs + 1, sizeof *res);
    st = load_inputs(a, &g, rs, &in, &batch, &lead, err);
    tb_cli_devs devs = {0};
    st = st ? st : tb_cli_devs_open(&devs, a->device, a->prec == TB_DOUBLE, NULL, false, err);
    tw_exec *x = NULL;
    st = st ? st : tw_exec_create(&g, devs.dev[0], a->prec, batch, &x, err);
    for (size_t k = 0; st == TB_OK && k < g.n_inputs; ++k)
        st = tw_exec_write_input(x, k, in[k], err);
    st = st ? st : tw_exec_run(x, err);
    for (size_t k = 0; st == TB_OK && k < g.n_outputs; ++k) {
        res[k] = malloc(((size_t)tw_numel(&g.t[g.outputs[k]]) * batch + 1) * rs);
        st = res[k] ? tw_exec_read_output(x, k, res[k], NULL, err) : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    if (x) { /* after an error too: reads into res may be in flight */
        cl_int rc = clFinish(tb_device_queue(devs.dev[0]));
        st = st || rc == CL_SUCCESS ? st : tb_cl_fail(err, rc, "running the network");
    }
    st = st ? st : write_outputs(a, &g, res, rs, batch, lead, err);
    tw_exec_destroy(x);
    tb_cli_devs_close(&devs);
    for (size_t k = 0; in && k < g.n_inputs; ++k)
        free(in[k]);
    for (size_t k = 0; k < g.n_outputs; ++k)
        free(res[k]);
    free(in);
    free(res);
    tw_graph_free(&g);
    return st;
}

static int do_eval(int argc, char **argv)
{
    eval_args a = {.prec = TB_DOUBLE};
    const char *pos[2] = {0};
    int n_pos = 0;
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            fputs(eval_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            a.out = argv[++i];
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            a.device = argv[++i];
        else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
            const char *p = argv[++i];
            if (strcmp(p, "single") != 0 && strcmp(p, "double") != 0)
                return tb_cli_usage_error("twin eval", "--precision is single or double, not '%s'", p);
            a.prec = strcmp(p, "double") == 0 ? TB_DOUBLE : TB_SINGLE;
        } else if (argv[i][0] == '-' || n_pos == 2)
            return tb_cli_usage_error("twin eval", "unexpected argument '%s'", argv[i]);
        else
            pos[n_pos++] = argv[i];
    }
    if (n_pos != 2 || !a.out)
        return tb_cli_usage_error("twin eval", "needs NET.h5, INPUTS.h5 and -o OUT.h5");
    a.net = pos[0], a.inputs = pos[1];
    tb_error err = {0};
    return evaluate(&a, &err) ? tb_cli_fail(&err) : 0;
}

int tb_cli_twin(int argc, char **argv)
{
    if (argc < 2 || tb_cli_is_help(argv[1])) {
        fputs("usage: twinbrain twin import MODEL.onnx -o NET.h5 [--size INPUT=AxBx...]... [--no-fuse]\n"
              "       twinbrain twin eval NET.h5 INPUTS.h5 -o OUT.h5 [--device SEL] [--precision P]\n"
              "       twinbrain twin score DATA.h5 PREDICTIONS.h5 -o SCORES.h5 [--burn-in N]\n"
              "       twinbrain twin fit NET.h5 DATA.h5 -o NEW.h5 [--core TENSOR] [--validation F]\n"
              "       twinbrain twin embeddings RUN.h5 -o EMB.h5 [--network NET.h5 --features TENSOR] [--csv FILE]\n"
              "       twinbrain twin similarity RUN.h5 -o SIM.h5 [--units LIST | --pairs FILE] [--csv FILE]\n"
              "'twinbrain twin COMMAND --help' says more.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? TB_ERR_SCENARIO : 0;
    }
    if (strcmp(argv[1], "import") == 0)
        return do_import(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0)
        return do_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "score") == 0)
        return tw_cli_score(argc - 1, argv + 1);
    if (strcmp(argv[1], "fit") == 0)
        return tw_cli_fit(argc - 1, argv + 1);
    if (strcmp(argv[1], "embeddings") == 0)
        return tw_cli_embeddings(argc - 1, argv + 1);
    if (strcmp(argv[1], "similarity") == 0)
        return tw_cli_similarity(argc - 1, argv + 1);
    return tb_cli_usage_error("twin", "unknown subcommand '%s' (try 'import', 'eval', 'score', 'fit', 'embeddings' or "
                                      "'similarity')",
                              argv[1]);
}
