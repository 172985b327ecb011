/* Drug: one-compartment pharmacokinetics with first-order absorption and
 * elimination, and a Hill dose-response scaling chosen parameters. */
#include <math.h>

#include "twinbrain/perturb.h"

static const tb_param_info params[] = {
    {"dose", 1.0, "mg", 0, INFINITY, "dose given at `from` (at = the time of intake)"},
    {"volume", 1.0, "L", TB_POSITIVE, INFINITY, "volume of distribution"},
    {"ka", 1.0, "1/s", TB_POSITIVE, INFINITY, "absorption rate"},
    {"ke", 0.5, "1/s", TB_POSITIVE, INFINITY, "elimination rate"},
    {"ec50", 0.5, "mg/L", TB_POSITIVE, INFINITY, "concentration of half the maximum effect"},
    {"hill", 1.0, "", TB_POSITIVE, INFINITY, "Hill coefficient"},
    {"emax", -0.5, "", -1, INFINITY, "maximum effect: the parameters are scaled by 1 + E (-1: to zero)"},
    {"interval", 1.0, "ms", TB_POSITIVE, INFINITY, "how often the parameters follow the concentration"},
    {"scales", 0, "", 0, 0, "the parameters it scales (J_NMDA, J_i; g_GABA_A...)", TB_PARAM_STRINGS},
};

static const char *const sets[] = {"targets", NULL};

/* C(t) = dose ka / (V (ka - ke)) (e^-ke t - e^-ka t), t in s; the limit
 * dose/V ke t e^-ke t when ka = ke. */
static double concentration(const tb_perturb_ctx *ctx, double t)
{
    double D = ctx->num(ctx, "dose"), V = ctx->num(ctx, "volume");
    double ka = ctx->num(ctx, "ka"), ke = ctx->num(ctx, "ke");
    if (fabs(ka - ke) < 1e-12 * ka)
        return D / V * ke * t * exp(-ke * t);
    return D * ka / (V * (ka - ke)) * (exp(-ke * t) - exp(-ka * t));
}

static double effect(const tb_perturb_ctx *ctx, double c)
{
    double ec = ctx->num(ctx, "ec50"), n = ctx->num(ctx, "hill"), emax = ctx->num(ctx, "emax");
    double cn = pow(c, n);
    return emax * cn / (pow(ec, n) + cn);
}

static tb_status plan(tb_perturb_ctx *ctx, tb_error *err)
{
    if (!ctx->strs(ctx, "scales", 0))
        return ctx->fail(ctx, NULL, err, "drug needs parameters.scales, the parameters it scales");
    double end = isfinite(ctx->until) ? ctx->until : ctx->duration, iv = ctx->num(ctx, "interval");
    if (iv < ctx->dt)
        iv = ctx->dt;
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK; ++k) {
        double t = ctx->from + (double)k * iv;
        if (t >= end - 0.5 * ctx->dt)
            break;
        double f = 1.0 + effect(ctx, concentration(ctx, (t - ctx->from) / 1000.0));
        for (size_t j = 0; st == TB_OK && ctx->strs(ctx, "scales", j); ++j) {
            tb_perturb_action a = {.op = TB_OP_PARAM, .t = t, .t_end = INFINITY, .set = 0,
                                   .name = ctx->strs(ctx, "scales", j), .mode = TB_PERTURB_SCALE, .value = f,
                                   .instance = -1};
            st = ctx->emit(ctx, &a, err);
        }
    }
    /* withdrawn at `until`: the unperturbed values return */
    for (size_t j = 0; st == TB_OK && ctx->until < ctx->duration && ctx->strs(ctx, "scales", j); ++j) {
        tb_perturb_action a = {.op = TB_OP_PARAM, .t = ctx->until, .t_end = INFINITY, .set = 0,
                               .name = ctx->strs(ctx, "scales", j), .mode = TB_PERTURB_SCALE, .value = 1.0,
                               .instance = -1};
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
    .name = "drug",
    .version = "1.0",
    .summary = "one-compartment pharmacokinetics and a Hill dose-response scaling parameters",
    .doc = "A dose taken at `from` (tau = time since then, in s):\n"
           "  C(tau) = dose ka / (V (ka - ke)) (exp(-ke tau) - exp(-ka tau))   (ka != ke)\n"
           "  C(tau) = dose / V ke tau exp(-ke tau)                            (ka == ke)\n"
           "  E(C)   = emax C^hill / (ec50^hill + C^hill)\n"
           "Every `interval` ms the parameters named in `scales` of the targets are set to\n"
           "(1 + E(C)) times their unperturbed value (the steps between hold the last value); at `until`\n"
           "the unperturbed values return. /perturbations/NAME/event_value records each factor.\n"
           "Examples: Wong-Wang E-I: scales = [\"J_NMDA\"] (an NMDA antagonist, emax < 0); spiking:\n"
           "a synaptic conductance of the targeted populations.\n"
           "References: Rowland M., Tozer T.N. (2010) Clinical Pharmacokinetics and Pharmacodynamics,\n"
           "4th ed., ch. 6 (one-compartment, first-order absorption); Hill A.V. (1910) J Physiol 40:iv-vii;\n"
           "Goutelle S. et al. (2008) The Hill equation: a review. Fundam Clin Pharmacol 22:633-648.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &table,
};

TB_PLUGIN_EXPORT(drug) { (void)core; return &plugin; }
