/* The twin kit: a visual-cortex digital twin (a network imported from
 * PyTorch through ONNX, `twinbrain twin import`) shown frames one at a
 * time, `batch` stimuli at once, its responses written to
 * /twin/responses [frames, batch, units] (docs/formats.md). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"
#include "pipeline.h"
#include "twin_exec.h"
#include "twin_import.h"
#include "twin_plugin.h"
#include "twin_scenario.h"
#include "twin_stimulus.h"
#include "twinbrain/opencl.h"

#define TW_CHUNK 16 /* frames per pipeline chunk */

typedef struct twk {
    const tb_scenario *sc;
    const tw_scenario *s;
    tw_graph g;
    size_t in_k, out_k; /* the frame input and the response output */
    size_t H, W, units;
    tw_stimulus stim;
    tb_device *dev;
    tw_exec *x;
    size_t rs;
    void *stage[2], *res[2];
    double *frame;
    tb_pipeline pipe;
    tb_dataset *ds;
    uint64_t samples;
    double exp_frames, exp_seconds; /* the [[experiment]]s' */
    volatile sig_atomic_t *stop;    /* the run's Ctrl-C flag, which the experiments watch */
} twk;

static const tw_scenario *scen(const tb_scenario *sc)
{
    return sc->kit_data;
}

/* The network, which input takes the frames and which output is written,
 * the frame size, the stimulus: what check and create both need. */
static tb_status prepare(const tb_scenario *sc, twk *k, tb_error *err)
{
    const tw_scenario *s = scen(sc);
    k->sc = sc, k->s = s;
    tb_status st = tw_network_read(s->network, &k->g, err);
    if (st)
        return st;
    tw_graph *g = &k->g;
    k->in_k = g->n_inputs;
    for (size_t j = 0; j < g->n_inputs; ++j)
        if (s->input_name ? strcmp(g->t[g->inputs[j]].name, s->input_name) == 0 : j == 0)
            k->in_k = j;
    k->out_k = g->n_outputs;
    for (size_t j = 0; j < g->n_outputs; ++j)
        if (s->output_name ? strcmp(g->t[g->outputs[j]].name, s->output_name) == 0 : j == 0)
            k->out_k = j;
    if (k->in_k == g->n_inputs)
        return tb_error_set(err, TB_ERR_INPUT, "%s: the network has no input named '%s' (twin.input_name)", s->network,
                            s->input_name ? s->input_name : "(any)");
    if (k->out_k == g->n_outputs)
        return tb_error_set(err, TB_ERR_INPUT, "%s: the network has no output named '%s' (twin.output)", s->network,
                            s->output_name ? s->output_name : "(any)");
    const tw_tensor *in = &g->t[g->inputs[k->in_k]];
    if (in->rank < 2)
        return tb_error_set(err, TB_ERR_INPUT, "%s: input '%s' has rank %d; frames need [..., height, width]",
                            s->network, in->name, in->rank);
    k->H = (size_t)in->dims[in->rank - 2], k->W = (size_t)in->dims[in->rank - 1];
    if ((size_t)tw_numel(in) != k->H * k->W)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: input '%s' holds %lld values per instance, more than one %zux%zu frame (import it "
                            "with batch 1 and one channel: --size %s=1x1x%zux%zu)",
                            s->network, in->name, (long long)tw_numel(in), k->H, k->W, in->name, k->H, k->W);
    k->units = (size_t)tw_numel(&g->t[g->outputs[k->out_k]]);
    tb_status fit = tw_experiments_fit(&s->exps, k->H, k->W, err);
    return fit ? fit : tw_stimulus_open(&k->stim, s, k->H, k->W, sc->steps, err);
}

static void release(twk *k)
{
    tw_exec_destroy(k->x);
    tw_stimulus_close(&k->stim);
    tw_graph_free(&k->g);
    for (int b = 0; b < 2; ++b) {
        free(k->stage[b]);
        free(k->res[b]);
    }
    free(k->frame);
}

static tb_status twin_check(const tb_scenario *sc, tb_error *err)
{
    twk k = {0};
    tb_status st = prepare(sc, &k, err);
    release(&k);
    return st;
}

/* ------------------------------------------------------------ running */

static tb_status launch(void *kit, tb_chunk *c, tb_error *err)
{
    twk *k = kit;
    size_t B = k->s->batch, n = k->H * k->W;
    tb_status st = TB_OK;
    for (uint64_t f = 0; st == TB_OK && f < c->n; ++f) {
        char *stage = (char *)k->stage[c->buf] + (size_t)f * B * n * k->rs;
        for (size_t b = 0; b < B; ++b) {
            tw_stimulus_frame(&k->stim, c->step0 + f, b, k->frame);
            for (size_t p = 0; p < n; ++p) {
                if (k->rs == sizeof(double))
                    ((double *)stage)[b * n + p] = k->frame[p];
                else
                    ((float *)stage)[b * n + p] = (float)k->frame[p];
            }
        }
        st = tw_exec_write_input(k->x, k->in_k, stage, err);
        st = st ? st : tw_exec_run(k->x, err);
        char *res = (char *)k->res[c->buf] + (size_t)f * B * k->units * k->rs;
        st = st ? st : tw_exec_read_output(k->x, k->out_k, res, NULL, err);
    }
    cl_command_queue q = tb_device_queue(k->dev);
    cl_int rc = st ? CL_SUCCESS : clEnqueueMarkerWithWaitList(q, 0, NULL, &c->done);
    clFlush(q);
    return st ? st : rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "running the twin");
}

static tb_status collect(void *kit, const tb_chunk *c, tb_error *err)
{
    twk *k = kit;
    size_t B = k->s->batch, row = B * k->units;
    for (uint64_t f = 0; f < c->n; ++f)
        for (size_t j = 0; j < row; ++j) {
            size_t at = (size_t)f * row + j;
            double v = k->rs == sizeof(double) ? ((double *)k->res[c->buf])[at] : ((float *)k->res[c->buf])[at];
            if (!isfinite(v))
                return tb_error_set(err, TB_ERR_DIVERGED,
                                    "the twin's response is %g at frame %llu, instance %zu, unit %zu (output '%s')", v,
                                    (unsigned long long)(c->step0 + f), j / k->units, j % k->units,
                                    k->g.t[k->g.outputs[k->out_k]].name);
        }
    tb_status st = tb_output_dataset_append(k->ds, k->res[c->buf], c->n, err);
    if (st == TB_OK)
        k->samples += c->n;
    return st;
}

static tb_status twin_create(const tb_scenario *sc, tb_device *dev, void **impl, tb_error *err)
{
    twk *k = calloc(1, sizeof *k);
    if (!k)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    k->dev = dev;
    tb_status st = prepare(sc, k, err);
    st = st ? st : tw_exec_create(&k->g, dev, sc->precision, k->s->batch, &k->x, err);
    if (st == TB_OK) {
        k->rs = tw_exec_real_size(k->x);
        size_t B = k->s->batch;
        k->frame = malloc(k->H * k->W * sizeof *k->frame);
        for (int b = 0; b < 2; ++b) {
            k->stage[b] = malloc(TW_CHUNK * B * k->H * k->W * k->rs);
            k->res[b] = malloc(TW_CHUNK * B * (k->units ? k->units : 1) * k->rs);
        }
        if (!k->frame || !k->stage[0] || !k->stage[1] || !k->res[0] || !k->res[1])
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory for the frames");
    }
    if (st) {
        release(k);
        free(k);
        return st;
    }
    k->pipe = (tb_pipeline){.kit = k, .dev = dev, .what = "running the twin", .launch = launch, .collect = collect};
    *impl = k;
    return TB_OK;
}

static tb_status twin_declare(void *impl, tb_output *out, tb_error *err)
{
    twk *k = impl;
    uint64_t dims[2] = {k->s->batch, k->units};
    tb_dtype dt = k->rs == sizeof(double) ? TB_F64 : TB_F32;
    tb_status st = tb_output_dataset_create(out, "/twin/responses", dt, 3, dims, TW_CHUNK, &k->ds, err);
    int64_t *idx = malloc((k->units + 1) * sizeof *idx);
    if (!idx)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t u = 0; u < k->units; ++u)
        idx[u] = (int64_t)u;
    uint64_t nu = k->units, nb = k->s->batch;
    const char *outname = k->g.t[k->g.outputs[k->out_k]].name;
    st = st ? st : tb_output_write_array(out, "/twin/units/index", TB_I64, 1, &nu, idx, err);
    st = st ? st : tb_output_attr_string(out, "/twin/units", "output", outname, err);
    st = st ? st : tb_output_attr_string(out, "/twin", "network", k->s->network, err);
    st = st ? st : tb_output_attr_string(out, "/twin", "network_source", k->g.source, err);
    st = st ? st : tb_output_attr_string(out, "/twin", "network_source_sha256", k->g.source_sha256, err);
    st = st ? st : tb_output_attr_string(out, "/twin", "frame_input", k->g.t[k->g.inputs[k->in_k]].name, err);
    st = st ? st : tb_output_attr_string(out, "/twin", "stimulus",
                                         k->s->kind == TW_STIM_FILE ? "file" : k->s->kind == TW_STIM_GRATINGS ? "gratings"
                                                                                                          : "blank",
                                         err);
    st = st ? st : tb_output_write_array(out, "/twin/directions", TB_F64, 1, &nb, k->s->directions, err);
    free(idx);
    /* the experiments run before the frames of [twin.input], whose run
     * starts from the zero state they leave */
    tw_exp_target t = {k->x, k->dev, k->in_k, k->out_k, k->H, k->W, k->units, k->sc->precision, outname, k->stop};
    double t0 = tb_now();
    st = st ? st : tw_experiments_run(&k->s->exps, &t, out, &k->exp_frames, err);
    k->exp_seconds = tb_now() - t0;
    return st;
}

static void twin_watch(void *impl, volatile sig_atomic_t *stop)
{
    ((twk *)impl)->stop = stop;
}

static tb_status twin_advance(void *impl, uint64_t step0, uint64_t n, tb_error *err)
{
    return tb_pipeline_advance(&((twk *)impl)->pipe, step0, n, err);
}

static uint64_t twin_max_chunk(void *impl) { return TW_CHUNK; }
static const tb_program *twin_program(void *impl) { return tw_exec_program(((twk *)impl)->x); }
static size_t twin_units(void *impl) { return ((twk *)impl)->units; }
static size_t twin_instances(void *impl) { return ((twk *)impl)->s->batch; }
static uint64_t twin_samples(void *impl) { return ((twk *)impl)->samples; }

static double twin_output_bytes(void *impl)
{
    const twk *k = impl;
    return (double)k->sc->steps * (double)k->s->batch * (double)k->units * (double)k->rs;
}

static size_t twin_figures(void *impl, tb_sim_figure *f)
{
    const twk *k = impl;
    f[0] = (tb_sim_figure){"nodes", (double)k->g.n_nodes};
    f[1] = (tb_sim_figure){"launches", (double)tw_exec_launches(k->x)};
    f[2] = (tb_sim_figure){"experiment_frames", k->exp_frames};
    f[3] = (tb_sim_figure){"experiment_seconds", k->exp_seconds};
    return 4;
}

static void twin_destroy(void *impl)
{
    twk *k = impl;
    if (!k)
        return;
    tb_pipeline_abandon(&k->pipe);
    release(k);
    free(k);
}

/* ------------------------------------------------------------ text */

static void twin_model_of(const tb_scenario *sc, const char **name, const char **version)
{
    (void)sc;
    *name = "twin network";
    *version = "";
}

static void twin_check_text(const tb_scenario *sc, tb_buf *b)
{
    const tw_scenario *s = scen(sc);
    tb_buf_printf(b, "twin network %s; %llu frames x %zu stimuli (%s)", s->network ? s->network : "?",
                  (unsigned long long)sc->steps, s->batch,
                  s->kind == TW_STIM_FILE ? "video" : s->kind == TW_STIM_GRATINGS ? "drifting gratings" : "blank");
    if (s->exps.n)
        tb_buf_printf(b, "; %zu experiment%s", s->exps.n, s->exps.n == 1 ? "" : "s");
}

static void twin_summary_text(const tb_sim *sim, const tb_scenario *sc, const tb_sim_summary *s, tb_buf *b)
{
    const tw_scenario *ts = scen(sc);
    tb_buf_printf(b, "twinbrain: twin network %s, %zu units; %llu frames x %zu stimuli (%s precision)\n", ts->network,
                  s->units, (unsigned long long)s->steps, ts->batch, tb_precision_name(sc->precision));
    tb_sim_summary_devices(sim, b);
    tb_sim_summary_kernels(s, b);
    double fps = s->wall_seconds > 0 ? (double)s->steps * (double)ts->batch / s->wall_seconds : 0;
    double ef = tb_sim_summary_figure(s, "experiment_frames"), es = tb_sim_summary_figure(s, "experiment_seconds");
    if (ts->exps.n)
        tb_buf_printf(b, "  experiments %zu: %.0f stimulus frames in %.2f s, %.1f frames per second (before the run)\n",
                      ts->exps.n, ef, es, es > 0 ? ef / es : 0);
    tb_buf_printf(b, "  run      %.2f s wall, %.1f frames per second (all stimuli), %.0f nodes in %.0f launches\n",
                  s->wall_seconds, fps, tb_sim_summary_figure(s, "nodes"), tb_sim_summary_figure(s, "launches"));
}

const tb_kit tb_twin_kit = {
    .name = "twin",
    .summary = "visual-cortex digital twins: networks from PyTorch (ONNX) shown frames, batched",
    .sections = tw_sections,
    .n_sections = TW_N_SECTIONS,
    .unit_noun = "units",
    .result_groups = (const char *const[]){"/twin", NULL},
    .check_scenario = tw_check_scenario,
    .free_scenario = tw_free_scenario,
    .list_keys = tw_list_keys,
    .plugin_kind = TB_TWIN_KIND,
    .check_plugin = tw_check_plugin,
    .plugin_text = tw_plugin_text,
    .plugin_json = tw_plugin_json,
    .builtin_text = tw_builtin_text,
    .model_of = twin_model_of,
    .check_text = twin_check_text,
    .summary_text = twin_summary_text,
    .check = twin_check,
    .create = twin_create,
    .declare = twin_declare,
    .watch = twin_watch,
    .advance = twin_advance,
    .max_chunk = twin_max_chunk,
    .program = twin_program,
    .units = twin_units,
    .instances = twin_instances,
    .samples = twin_samples,
    .output_bytes = twin_output_bytes,
    .figures = twin_figures,
    .destroy = twin_destroy,
};
