/* A perturbation plugin to copy: a duty cycle that silences the target
 * regions (or populations) for `off` ms of every `period` ms, from `from`
 * until `until` (docs/perturbations.md, "Writing a perturbation plugin").
 *
 * Build it with the Makefile beside it; then
 *   TWINBRAIN_PLUGIN_PATH=$PWD twinbrain plugins my_perturbation */
#include <math.h>

#include "twinbrain/perturb.h"

/* The module name: the file's name, the Makefile's MODULE, the export below. */
#define MODULE my_perturbation

/* Documented, typed parameters: the scenario's [perturbation.parameters]
 * are checked against them (range, type) before anything runs. */
static const tb_param_info params[] = {
    {"period", 100.0, "ms", TB_POSITIVE, INFINITY, "one cycle"},
    {"off", 20.0, "ms", TB_POSITIVE, INFINITY, "silent part of each cycle, at its start"},
};

/* The scenario keys that name its targets; the first n_required_sets are required. */
static const char *const sets[] = {"targets", NULL};

/* Called once before the run: read the parameters and the time course,
 * emit actions. The core checks each against the kit (a kit that cannot
 * silence units refuses the scenario, naming both), puts it on its step
 * and undoes it at t_end. */
static tb_status plan(tb_perturb_ctx *ctx, tb_error *err)
{
    double period = ctx->num(ctx, "period"), off = ctx->num(ctx, "off");
    if (off >= period)
        return ctx->fail(ctx, "off", err, "off must be shorter than period");
    double end = isfinite(ctx->until) ? ctx->until : ctx->duration;
    tb_status st = TB_OK;
    for (double t = ctx->from; st == TB_OK && t < end - 0.5 * ctx->dt; t += period) {
        tb_perturb_action a = {.op = TB_OP_SILENCE, .t = t, .t_end = fmin(t + off, end), .set = 0,
                               .instance = -1};
        if (a.t_end >= ctx->duration)
            a.t_end = INFINITY; /* silent to the end of the run */
        st = ctx->emit(ctx, &a, err);
    }
    return st;
}

static const tb_perturbation table = {
    .head = TB_PERTURB_TABLE_HEADER,
    .needs = TB_OP_SILENCE,
    .sets = sets,
    .n_required_sets = 1,
    .plan = plan,
};

#define STR_(x) #x
#define STR(x) STR_(x)

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_PERTURB_KIND,
    .name = STR(MODULE),
    .version = "0.1",
    .summary = "silence the targets for `off` ms of every `period` ms (a template)",
    .doc = "From `from` until `until`, the targets are silent (mass: their rows and columns of the\n"
           "connectome are zero; spiking: their neurons do not spike) at the start of every cycle of\n"
           "`period` ms, for `off` ms, then back. Equations and references go here.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &table,
};

TB_PLUGIN_EXPORT(my_perturbation)
{
    (void)core;
    return &plugin;
}
