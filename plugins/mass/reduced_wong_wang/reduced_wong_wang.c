/* Reduced Wong-Wang model, one excitatory population (Deco et al. 2013),
 * in the form and with the defaults of The Virtual Brain's ReducedWongWang
 * model, so results can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. */
static const tb_param_info params[] = {
    {"a", 0.270, "1/nC", 0.0, INFINITY, "input gain of the transfer function"},
    {"b", 0.108, "kHz", -INFINITY, INFINITY, "input shift of the transfer function"},
    {"d", 154.0, "ms", TB_POSITIVE, INFINITY, "curvature of the transfer function"},
    {"gamma", 0.641, "", 0.0, INFINITY, "kinetic parameter of the synaptic gating"},
    {"tau_s", 100.0, "ms", TB_POSITIVE, INFINITY, "NMDA decay time constant"},
    {"w", 0.6, "", 0.0, INFINITY, "local excitatory recurrence"},
    {"J_N", 0.2609, "nA", 0.0, INFINITY, "NMDA synaptic coupling"},
    {"I_o", 0.33, "nA", -INFINITY, INFINITY, "effective external input"},
};

/* TVB's state_variable_range and state_variable_boundaries. */
static const tb_mass_var vars[] = {
    {"S", 0.5, 0.0, 1.0, 0.0, 1.0, "", "NMDA synaptic gating variable"},
};

static const char *const coupled[] = {"S"};

/* H(u) = u / (1 - exp(-d u)) has a removable singularity at u = 0 (limit
 * 1/d): expm1 keeps full precision near it and the series covers the point
 * itself, where the plain quotient would be 0/0. */
static const char helpers[] =
    "inline real reduced_wong_wang_rate(real u, real d)\n"
    "{\n"
    "    /* selected, not branched: the same code runs on vector lanes */\n"
    "    const real z = d * u;\n"
    "    const real near0 = ((real)1 + (real)0.5 * z) / d;\n"
    "    return fabs(z) < (real)1e-6 ? near0 : u / -expm1(-z);\n"
    "}\n";

static const char dfun[] =
    "const real x = w * J_N * S + I_o + J_N * coupling[0];\n"
    "const real H = reduced_wong_wang_rate(a * x - b, d);\n"
    "dS = -S / tau_s + ((real)1 - S) * H * gamma;\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = sizeof coupled / sizeof coupled[0],
    .coupled = coupled,
    .dfun = dfun,
    .helpers = helpers,
    .default_coupling = "linear",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "reduced_wong_wang",
    .version = "1.0",
    .summary = "Reduced Wong-Wang model: NMDA gating of one excitatory population (Deco 2013)",
    .doc =
        "One state variable, the NMDA gating S in [0, 1] (clamped there after every stage):\n"
        "  x  = w J_N S + I_o + J_N c\n"
        "  H  = (a x - b) / (1 - exp(-d (a x - b)))      [firing rate, kHz]\n"
        "  S' = -S / tau_s + (1 - S) H gamma\n"
        "c is the long-range coupling (channel 0, from S); with linear coupling its gain a plays the\n"
        "role of the global coupling G of Deco et al. H is evaluated as u / -expm1(-d u) (and 1/d at\n"
        "u = 0), the same function with full precision near its removable singularity.\n"
        "References: Wong K.-F., Wang X.-J. (2006) J. Neurosci. 26:1314-1328; Deco G. et al. (2013)\n"
        "J. Neurosci. 33:11239-11252; defaults as in The Virtual Brain (tvb-library,\n"
        "models.ReducedWongWang).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(reduced_wong_wang)
{
    return &plugin;
}
