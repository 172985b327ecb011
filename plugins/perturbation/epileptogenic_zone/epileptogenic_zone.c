/* Epileptogenic zone: the excitability of an Epileptor (x0) set over a
 * zone and a propagation zone from label lists. */
#include <math.h>

#include "twinbrain/perturb.h"

static const tb_param_info params[] = {
    {"x0_zone", -1.6, "", -INFINITY, INFINITY, "excitability in the epileptogenic zone (above about -2.05: seizes)"},
    {"x0_propagation", -2.05, "", -INFINITY, INFINITY,
     "excitability in the propagation zone (a little below x0c: seizes when recruited)"},
    {"parameter", 0, "", 0, 0, "the model's excitability parameter", TB_PARAM_STRING, "x0"},
};

static const char *const sets[] = {"zone", "propagation_zone", NULL};

static tb_status plan(tb_perturb_ctx *ctx, tb_error *err)
{
    tb_perturb_action a = {.op = TB_OP_PARAM, .t = ctx->from, .t_end = ctx->until, .set = 0,
                           .name = ctx->str(ctx, "parameter"), .mode = TB_PERTURB_SET,
                           .value = ctx->num(ctx, "x0_zone"), .instance = -1};
    tb_status st = ctx->emit(ctx, &a, err);
    if (st == TB_OK && ctx->set_len[1]) {
        a.set = 1;
        a.value = ctx->num(ctx, "x0_propagation");
        st = ctx->emit(ctx, &a, err);
    }
    return st;
}

static const tb_perturbation table = {
    .head = TB_PERTURB_TABLE_HEADER,
    .needs = TB_OP_PARAM,
    .sets = sets,
    .n_required_sets = 1,
    .plan = plan,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_PERTURB_KIND,
    .name = "epileptogenic_zone",
    .version = "1.0",
    .summary = "set an Epileptor's excitability x0 over an epileptogenic and a propagation zone",
    .doc = "From `from` (default 0: the whole run) until `until`, the parameter (x0) of the regions in\n"
           "`zone` is x0_zone and of those in `propagation_zone` x0_propagation; the other regions keep\n"
           "the scenario's value. In the Epileptor, x0 > x0c (about -2.05; it depends on the coupling)\n"
           "makes a region seize on its own; propagation-zone regions, a little below, seize when\n"
           "recruited by a seizing neighbour (so they should be connected to the zone). Check a\n"
           "propagation zone alone (x0_zone at the healthy value): it should not seize.\n"
           "A resection is a lesion of the zone (plugin lesion) at a later time.\n"
           "Works on the mass kit with any model that has the parameter (the spiking kit: a population\n"
           "parameter of that name).\n"
           "References: Jirsa V.K. et al. (2014) On the nature of seizure dynamics. Brain 137:2210-2230;\n"
           "Proix T. et al. (2017) Individual brain structure and modelling predict seizure propagation.\n"
           "Brain 140:641-654; Jirsa V.K. et al. (2017) The Virtual Epileptic Patient. NeuroImage\n"
           "145:377-388.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &table,
};

TB_PLUGIN_EXPORT(epileptogenic_zone) { (void)core; return &plugin; }
