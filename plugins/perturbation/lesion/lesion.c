/* Lesion: regions or populations removed, or the edges between two sets
 * cut (a callosotomy: every edge between the hemispheres' label sets). */
#include <math.h>

#include "twinbrain/perturb.h"

static const tb_param_info params[] = {
    {"both", 1, "", 0, 1, "with `to`: cut the edges both ways (1) or only from targets into `to` (0)", TB_PARAM_INT},
};

static const char *const sets[] = {"targets", "to", NULL};

/* Without `to`: the targets are silenced (mass: their rows and columns of
 * the connectome are zero; spiking: their neurons do not spike). With
 * `to`: the edges from targets into `to` (and back) are cut. */
static tb_status plan(tb_perturb_ctx *ctx, tb_error *err)
{
    tb_perturb_action a = {.t = ctx->from, .t_end = ctx->until, .instance = -1};
    if (ctx->set_len[1] == 0) {
        a.op = TB_OP_SILENCE;
        return ctx->emit(ctx, &a, err);
    }
    a.op = TB_OP_EDGES;
    a.set = 0, a.set_to = 1, a.value = 0;
    tb_status st = ctx->emit(ctx, &a, err);
    if (st == TB_OK && ctx->num(ctx, "both") != 0) {
        a.set = 1, a.set_to = 0;
        st = ctx->emit(ctx, &a, err);
    }
    return st;
}

static const tb_perturbation table = {
    .head = TB_PERTURB_TABLE_HEADER,
    .sets = sets,
    .n_required_sets = 1,
    .plan = plan,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_PERTURB_KIND,
    .name = "lesion",
    .version = "1.0",
    .summary = "remove regions or populations, or cut the edges between two sets",
    .doc = "targets alone: from `from` (or `at`) until `until`, the targets are removed. Neural mass: the\n"
           "target regions' rows and columns of the connectome are zero (no input from, no output to any\n"
           "other region; their local dynamics go on, uncoupled). Spiking: the target populations'\n"
           "neurons (or `fraction` of them) emit no spikes.\n"
           "targets and to: the edges from every target into every region of `to` are cut, and the\n"
           "edges back unless both = 0 (a callosotomy: targets = left hemisphere, to = right).\n"
           "References: Alstott J. et al. (2009) Modeling the impact of lesions in the human brain.\n"
           "PLoS Comput Biol 5:e1000408; Honey C.J., Sporns O. (2008) Dynamical consequences of\n"
           "lesions in cortical networks. Hum Brain Mapp 29:802-809.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &table,
};

TB_PLUGIN_EXPORT(lesion) { (void)core; return &plugin; }
