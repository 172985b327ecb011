/* twinbrain twin fit: a twin of a new animal from a network's frozen core
 * and a fitted readout (twin_fit.h; docs/twin.md "A twin for a new
 * animal"): read the recording, run the core once over its stimuli, fit
 * on the device, write the adapted network (as .partial, then renamed). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "h5util.h"
#include "twin_array.h"
#include "twin_exec.h"
#include "twin_fit.h"
#include "twin_import.h"
#include "util.h"

static const char usage[] =
    "usage: twinbrain twin fit NET.h5 DATA.h5 -o NEW.h5 [--core TENSOR] [--output NAME] [--input NAME]\n"
    "                          [--validation F] [--seed N] [--lr X] [--patience N] [--max-epochs N]\n"
    "                          [--decays N] [--nonlinearity exp|elu] [--device SEL] [--precision P] [--quiet]\n"
    "\n"
    "Keeps the network's core frozen and fits a Gaussian readout (per unit a position on the core's\n"
    "map, channel weights and a bias) to a new animal's responses: DATA.h5 holds /stimuli [frames,\n"
    "height, width] (uint8 scaled by 1/255) and /responses [frames, units], optionally /unit_ids\n"
    "[units] and /behaviour [frames, k] (checked, not used). Poisson loss, Adam on the device, early\n"
    "stopping on a held-out fraction of the frames (--validation 0.2, a --seed'ed shuffle). NEW.h5\n"
    "is the network with its readout replaced (docs/twin.md, \"A twin for a new animal\"). The core\n"
    "is --core TENSOR, by default the map the readout's GridSample reads. Exit status 2 for bad\n"
    "arguments, 4 for inputs that do not fit the network, 5 when the loss stops being finite.\n";

typedef struct fit_args {
    const char *net, *data, *out, *core, *output, *input, *device, *nonlin;
    double validation;
    unsigned long long seed;
    tb_precision prec;
    tw_fit_options o;
} fit_args;

static tb_status check_finite(const char *file, const char *name, const tw_array *a, tb_error *err)
{
    size_t cols = a->rank == 2 ? a->d[1] : 1, n = a->rank >= 1 ? a->d[0] * cols : 0;
    for (size_t k = 0; k < n; ++k)
        if (!isfinite(a->v[k]))
            return tb_error_set(err, TB_ERR_INPUT, "%s: %s holds %s at frame %zu, column %zu", file, name,
                                isnan(a->v[k]) ? "NaN" : "Inf", k / cols, k % cols);
    return TB_OK;
}

typedef struct recording {
    tw_array stim, resp, beh, ids;
    size_t T, H, W, N;
} recording;

static void recording_free(recording *r)
{
    free(r->stim.v);
    free(r->resp.v);
    free(r->beh.v);
    free(r->ids.v);
}

/* The frame input: --input, else the first input that is not state. */
static tb_status frame_input(const fit_args *a, const tw_graph *g, size_t *k, tb_error *err)
{
    for (size_t j = 0; j < g->n_inputs; ++j) {
        bool state = false;
        for (size_t s = 0; s < g->n_state; ++s)
            state |= g->state_in[s] == g->inputs[j];
        if (a->input ? strcmp(g->t[g->inputs[j]].name, a->input) == 0 : !state) {
            *k = j;
            return TB_OK;
        }
    }
    return a->input ? tb_error_set(err, TB_ERR_INPUT, "%s: the network has no input '%s' (--input)", a->net, a->input)
                    : tb_error_set(err, TB_ERR_INPUT, "%s: the network has no input besides recurrent state", a->net);
}

static tb_status read_recording(const fit_args *a, const tw_tensor *in, recording *r, tb_error *err)
{
    tb_status st = tw_array_read_file(a->data, "/stimuli", false, &r->stim, err);
    st = st ? st : tw_array_read_file(a->data, "/responses", false, &r->resp, err);
    st = st ? st : tw_array_read_file(a->data, "/behaviour", true, &r->beh, err);
    st = st ? st : tw_array_read_file(a->data, "/unit_ids", true, &r->ids, err);
    if (st)
        return st;
    if (r->stim.rank != 3)
        return tb_error_set(err, TB_ERR_INPUT, "%s: /stimuli has rank %d; stimuli are [frames, height, width]",
                            a->data, r->stim.rank);
    r->T = r->stim.d[0], r->H = r->stim.d[1], r->W = r->stim.d[2];
    char sh[128];
    bool fits = in->rank >= 2 && in->dims[in->rank - 2] == (int64_t)r->H && in->dims[in->rank - 1] == (int64_t)r->W &&
                tw_numel(in) == (int64_t)(r->H * r->W);
    if (!fits)
        return tb_error_set(err, TB_ERR_INPUT, "%s: /stimuli frames are %zux%zu; the network's input '%s' takes %s",
                            a->data, r->H, r->W, in->name, tw_shape_text(in, sh, sizeof sh));
    if (r->resp.rank != 2 || r->resp.d[0] != r->T)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: /responses must be [frames, units] with the %zu frames of /stimuli (it is %s%llu "
                            "frames)",
                            a->data, r->T, r->resp.rank != 2 ? "not of rank 2, " : "",
                            (unsigned long long)r->resp.d[0]);
    r->N = r->resp.d[1];
    if (r->N == 0)
        return tb_error_set(err, TB_ERR_INPUT, "%s: /responses has no units", a->data);
    if (r->ids.v && (r->ids.rank != 1 || r->ids.d[0] != r->N))
        return tb_error_set(err, TB_ERR_INPUT, "%s: /unit_ids names %llu units; /responses has %zu", a->data,
                            (unsigned long long)(r->ids.rank == 1 ? r->ids.d[0] : 0), r->N);
    st = check_finite(a->data, "/responses", &r->resp, err);
    for (size_t k = 0; st == TB_OK && k < r->T * r->H * r->W; ++k)
        if (!isfinite(r->stim.v[k]))
            st = tb_error_set(err, TB_ERR_INPUT, "%s: /stimuli holds %s at frame %zu, row %zu, column %zu", a->data,
                              isnan(r->stim.v[k]) ? "NaN" : "Inf", k / (r->H * r->W), k / r->W % r->H, k % r->W);
    if (st == TB_OK && r->beh.v) {
        if (r->beh.rank != 2 || r->beh.d[0] != r->T)
            return tb_error_set(err, TB_ERR_INPUT, "%s: /behaviour must be [frames, k] with the %zu frames of /stimuli",
                                a->data, r->T);
        st = check_finite(a->data, "/behaviour", &r->beh, err);
    }
    if (st == TB_OK && r->stim.u8)
        for (size_t k = 0; k < r->T * r->H * r->W; ++k)
            r->stim.v[k] /= 255.0;
    return st;
}

/* ------------------------------------------------------------ the core */

static void put(void *v, size_t k, double x, size_t rs)
{
    if (rs == sizeof(double))
        ((double *)v)[k] = x;
    else
        ((float *)v)[k] = (float)x;
}

/* The core's map for every frame, [T][C H W] reals: many frames at once
 * when the core has no recurrent state, else one after the other from
 * the zero state (the recording's frames are one sequence). */
static tb_status run_core(tw_graph *g, tb_device *dev, tb_precision prec, size_t k_in, const recording *r, void **out,
                          tb_error *err)
{
    size_t rs = prec == TB_DOUBLE ? sizeof(double) : sizeof(float), HW = r->H * r->W;
    size_t B = g->n_state ? 1 : (r->T < 32 ? r->T : 32), per = (size_t)tw_numel(&g->t[g->outputs[0]]);
    tw_exec *x = NULL;
    tb_status st = tw_exec_create(g, dev, prec, B, &x, err);
    void *frames = malloc(B * HW * rs), *map = malloc(B * per * rs);
    *out = malloc(r->T * per * rs + 1);
    if (st == TB_OK && (!frames || !map || !*out))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory for the core's maps (%zu frames x %zu values)", r->T, per);
    for (size_t t0 = 0; st == TB_OK && t0 < r->T; t0 += B) {
        size_t nb = r->T - t0 < B ? r->T - t0 : B;
        for (size_t k = 0; k < B * HW; ++k)
            put(frames, k, k < nb * HW ? r->stim.v[t0 * HW + k] : 0.0, rs);
        st = tw_exec_write_input(x, k_in, frames, err);
        st = st ? st : tw_exec_run(x, err);
        st = st ? st : tw_exec_read_output(x, 0, map, NULL, err);
        cl_int rc = clFinish(tb_device_queue(dev)); /* after an error too: the read into map may be in flight */
        if (st == TB_OK && rc != CL_SUCCESS)
            st = tb_cl_fail(err, rc, "running the core");
        if (st == TB_OK)
            memcpy((char *)*out + t0 * per * rs, map, nb * per * rs);
    }
    tw_exec_destroy(x);
    free(frames);
    free(map);
    return st;
}

/* ------------------------------------------------------------ output */

static bool curve(hid_t grp, const char *name, const double *v, long n)
{
    hsize_t d = (hsize_t)n;
    hid_t s = H5Screate_simple(1, &d, NULL);
    hid_t ds = H5Dcreate2(grp, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = ds >= 0 && (n == 0 || H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(s);
    return ok;
}

/* /fit: how the readout was fitted (docs/formats.md, "Twin networks"). */
static bool write_provenance(const char *path, const fit_args *a, const recording *rec, const char *core,
                             size_t n_train, size_t n_val, const tw_fit_report *rep)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = f >= 0 ? H5Gcreate2(f, "/fit", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    long long ints[] = {(long long)n_train, (long long)n_val, rep->epochs, rep->best_epoch, (long long)a->seed};
    const char *iname[] = {"train_frames", "validation_frames", "epochs", "best_epoch", "seed"};
    double reals[] = {a->validation, a->o.lr, rep->best_val, rep->train_at_best};
    const char *rname[] = {"validation_fraction", "learning_rate", "validation_loss", "training_loss"};
    bool ok = g >= 0 && tb_h5_attr_text(g, "network", a->net) && tb_h5_attr_text(g, "data", a->data) &&
              tb_h5_attr_text(g, "core", core) && tb_h5_attr_text(g, "nonlinearity", a->o.exp_output ? "exp" : "elu") &&
              tb_h5_attr_text(g, "precision", tb_precision_name(a->prec));
    for (int k = 0; ok && k < 5; ++k)
        ok = tb_h5_attr_i64(g, iname[k], ints[k]);
    for (int k = 0; ok && k < 4; ++k)
        ok = tb_h5_attr_f64(g, rname[k], reals[k]);
    ok = ok && curve(g, "validation_loss", rep->val_curve, rep->epochs) &&
         curve(g, "training_loss", rep->train_curve, rep->epochs);
    if (ok && rec->ids.v) {
        hsize_t d = rec->N;
        hid_t s = H5Screate_simple(1, &d, NULL);
        hid_t ds = H5Dcreate2(g, "unit_ids", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        long long *v = malloc((rec->N + 1) * sizeof *v);
        for (size_t k = 0; v && k < rec->N; ++k)
            v[k] = (long long)llround(rec->ids.v[k]);
        ok = v && ds >= 0 && H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
        free(v);
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(s);
    }
    if (g >= 0)
        H5Gclose(g);
    if (f >= 0 && H5Fclose(f) < 0)
        ok = false;
    tb_h5_quiet_end(q);
    return ok;
}

static tb_status write_network(const fit_args *a, const tw_graph *g, const recording *rec, const char *core,
                               size_t n_train, size_t n_val, const tw_fit_report *rep, tb_error *err)
{
    char *tmp = tb_asprintf("%s.partial", a->out);
    if (!tmp)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_status st = tw_network_write(g, tmp, err);
    if (st == TB_OK && !write_provenance(tmp, a, rec, core, n_train, n_val, rep))
        st = tb_error_set(err, TB_ERR_OTHER, "%s: cannot write /fit", tmp);
    if (st == TB_OK && rename(tmp, a->out) != 0)
        st = tb_error_set(err, TB_ERR_OTHER, "%s: cannot rename to %s", tmp, a->out);
    if (st)
        remove(tmp);
    free(tmp);
    return st;
}

/* ------------------------------------------------------------ the command */

static tb_status check_split(const fit_args *a, size_t T, size_t C, size_t n_train, size_t n_val, tb_error *err)
{
    if (n_val >= 1 && n_train >= C + 3)
        return TB_OK;
    return tb_error_set(err, TB_ERR_INPUT,
                        "%s: /responses has %zu frames: %zu for training and %zu held out (--validation %g); a fit "
                        "needs at least 1 held-out frame and as many training frames as parameters per unit (%zu)",
                        a->data, T, n_train, n_val, a->validation, C + 3);
}

static tb_status fit(fit_args *a, tb_error *err)
{
    tw_graph g;
    tb_status st = tw_network_read(a->net, &g, err);
    if (st)
        return st;
    tw_fit_site site;
    size_t k_in = 0;
    recording rec = {0};
    st = tw_fit_locate(&g, a->net, a->output, a->core, &site, err);
    st = st ? st : frame_input(a, &g, &k_in, err);
    st = st ? st : read_recording(a, &g.t[g.inputs[k_in]], &rec, err);
    char *out_name = st ? NULL : tb_strdup(g.t[g.outputs[site.output]].name);
    char *core_name = st ? NULL : tb_strdup(g.t[site.core].name);
    const tw_tensor *core = st ? NULL : &g.t[site.core];
    size_t C = core ? (size_t)core->dims[1] : 0, H = core ? (size_t)core->dims[2] : 0;
    size_t W = core ? (size_t)core->dims[3] : 0, n_train = 0, n_val = 0;
    int *idx = st ? NULL : malloc((rec.T + 1) * sizeof *idx);
    if (st == TB_OK && (!idx || !out_name || !core_name))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK) {
        tw_fit_split(rec.T, a->validation, a->seed, idx, &n_train, &n_val);
        st = check_split(a, rec.T, C, n_train, n_val, err);
    }
    a->o.exp_output = a->nonlin ? strcmp(a->nonlin, "exp") == 0 : site.exp_output;
    if (st == TB_OK && rec.beh.v && !a->o.quiet)
        fprintf(stderr, "twin fit: %s: /behaviour is not used (the fitted readout has no behaviour modulation)\n",
                a->data);
    tb_cli_devs devs = {0};
    st = st ? st : tb_cli_devs_open(&devs, a->device, a->prec == TB_DOUBLE, NULL, false, err);
    st = st ? st : tw_fit_core_graph(&g, &site, err);
    size_t rs = a->prec == TB_DOUBLE ? sizeof(double) : sizeof(float);
    void *features = NULL, *resp = st ? NULL : malloc(rec.T * rec.N * rs + 1);
    double t0 = tb_now();
    st = st ? st : run_core(&g, devs.dev[0], a->prec, k_in, &rec, &features, err);
    double t1 = tb_now();
    for (size_t k = 0; st == TB_OK && resp && k < rec.T * rec.N; ++k)
        put(resp, k, rec.resp.v[k], rs);
    tw_readout r = {.units = rec.N, .channels = C, .exp_output = a->o.exp_output};
    tw_fit_report rep = {0};
    st = st ? st : tw_fit_run(devs.dev[0], a->prec, features, resp, rec.T, C, H, W, idx, n_train, n_val, &a->o, &r,
                              &rep, err);
    double t2 = tb_now();
    st = st ? st : tw_fit_attach(&g, &site, out_name, &r, err);
    st = st ? st : write_network(a, &g, &rec, core_name, n_train, n_val, &rep, err);
    if (st == TB_OK)
        printf("%s: %zu units read from '%s' [%zu, %zu, %zu] (%s); %zu training and %zu held-out frames; "
               "%ld epochs, best held-out Poisson loss %.6g at epoch %ld (core %.2f s, fit %.2f s)\n",
               a->out, rec.N, core_name, C, H, W, a->o.exp_output ? "exp" : "ELU + 1", n_train, n_val, rep.epochs,
               rep.best_val, rep.best_epoch, t1 - t0, t2 - t1);
    tb_cli_devs_close(&devs);
    tw_readout_free(&r);
    free(rep.val_curve);
    free(rep.train_curve);
    free(features);
    free(resp);
    free(idx);
    free(out_name);
    free(core_name);
    recording_free(&rec);
    tw_graph_free(&g);
    return st;
}

static bool number(const char *s, double lo, double hi, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return *s && !*end && *v >= lo && *v <= hi;
}

static int option(fit_args *a, const char *opt, const char *val)
{
    double v;
    struct {
        const char *name;
        double lo, hi;
    } num[] = {{"--validation", 0, 1}, {"--seed", 0, 9007199254740992.0}, {"--lr", 0, 1e6},
               {"--patience", 1, 1e9}, {"--max-epochs", 1, 1e9},          {"--decays", 0, 100}};
    for (size_t k = 0; k < sizeof num / sizeof num[0]; ++k) {
        if (strcmp(opt, num[k].name) != 0)
            continue;
        if (!number(val, num[k].lo, num[k].hi, &v) || (k == 0 && (v <= 0 || v >= 1)) || (k == 2 && v <= 0))
            return tb_cli_usage_error("twin fit", "%s takes a number in %s, not '%s'", opt,
                                      k == 0   ? "(0, 1)"
                                      : k == 2 ? "(0, 1e6]"
                                               : "whole numbers from the documented range",
                                      val);
        if (k >= 1 && k != 2 && v != floor(v))
            return tb_cli_usage_error("twin fit", "%s takes a whole number, not '%s'", opt, val);
        switch (k) {
        case 0: a->validation = v; break;
        case 1: a->seed = (unsigned long long)v; break;
        case 2: a->o.lr = v; break;
        case 3: a->o.patience = (long)v; break;
        case 4: a->o.max_epochs = (long)v; break;
        default: a->o.decays = (long)v; break;
        }
        return 0;
    }
    const char **str[] = {&a->out, &a->core, &a->output, &a->input, &a->device, &a->nonlin};
    const char *sname[] = {"-o", "--core", "--output", "--input", "--device", "--nonlinearity"};
    for (size_t k = 0; k < 6; ++k)
        if (strcmp(opt, sname[k]) == 0) {
            *str[k] = val;
            return 0;
        }
    if (strcmp(opt, "--precision") == 0) {
        if (strcmp(val, "single") != 0 && strcmp(val, "double") != 0)
            return tb_cli_usage_error("twin fit", "--precision is single or double, not '%s'", val);
        a->prec = strcmp(val, "double") == 0 ? TB_DOUBLE : TB_SINGLE;
        return 0;
    }
    return tb_cli_usage_error("twin fit", "unknown option '%s'", opt);
}

int tw_cli_fit(int argc, char **argv)
{
    fit_args a = {.validation = 0.2, .prec = TB_DOUBLE,
                  .o = {.lr = 0.01, .patience = 20, .max_epochs = 2000, .decays = 2}};
    const char *pos[2] = {0};
    int n_pos = 0;
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--quiet") == 0)
            a.o.quiet = true;
        else if (argv[i][0] == '-' && i + 1 < argc) {
            int rc = option(&a, argv[i], argv[i + 1]);
            if (rc)
                return rc;
            ++i;
        } else if (argv[i][0] == '-' || n_pos == 2)
            return tb_cli_usage_error("twin fit", "unexpected argument '%s' (or it is missing its value)", argv[i]);
        else
            pos[n_pos++] = argv[i];
    }
    if (n_pos != 2 || !a.out)
        return tb_cli_usage_error("twin fit", "needs NET.h5, DATA.h5 and -o NEW.h5");
    if (a.nonlin && strcmp(a.nonlin, "exp") != 0 && strcmp(a.nonlin, "elu") != 0)
        return tb_cli_usage_error("twin fit", "--nonlinearity is exp or elu, not '%s'", a.nonlin);
    a.net = pos[0], a.data = pos[1];
    tb_error err = {0};
    return fit(&a, &err) ? tb_cli_fail(&err) : 0;
}
