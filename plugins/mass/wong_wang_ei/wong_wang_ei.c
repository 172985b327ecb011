/* Wong-Wang model with an excitatory and an inhibitory population (Deco et
 * al. 2014), in the form and with the defaults of The Virtual Brain's
 * ReducedWongWangExcInh model, so results can be put side by side with
 * tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. The rates H are
 * in Hz (a, b, d in the paper's units); gamma carries the 1/1000 that
 * turns them into per-ms increments. */
static const tb_param_info params[] = {
    {"a_e", 310.0, "1/nC", 0.0, INFINITY, "input gain of the excitatory transfer function"},
    {"b_e", 125.0, "Hz", -INFINITY, INFINITY, "input shift of the excitatory transfer function"},
    {"d_e", 0.160, "s", TB_POSITIVE, INFINITY, "curvature of the excitatory transfer function"},
    {"gamma_e", 0.641 / 1000, "", 0.0, INFINITY, "kinetic parameter of the excitatory gating (per ms and Hz)"},
    {"tau_e", 100.0, "ms", TB_POSITIVE, INFINITY, "NMDA decay time constant of the excitatory population"},
    {"w_p", 1.4, "", 0.0, INFINITY, "excitatory recurrence weight"},
    {"J_N", 0.15, "nA", 0.0, INFINITY, "NMDA synaptic coupling"},
    {"W_e", 1.0, "", 0.0, INFINITY, "scaling of the external input to the excitatory population"},
    {"a_i", 615.0, "1/nC", 0.0, INFINITY, "input gain of the inhibitory transfer function"},
    {"b_i", 177.0, "Hz", -INFINITY, INFINITY, "input shift of the inhibitory transfer function"},
    {"d_i", 0.087, "s", TB_POSITIVE, INFINITY, "curvature of the inhibitory transfer function"},
    {"gamma_i", 1.0 / 1000, "", 0.0, INFINITY, "kinetic parameter of the inhibitory gating (per ms and Hz)"},
    {"tau_i", 10.0, "ms", TB_POSITIVE, INFINITY, "GABA decay time constant of the inhibitory population"},
    {"J_i", 1.0, "nA", 0.0, INFINITY,
     "local feedback inhibition (per region under feedback inhibition control, Deco 2014)"},
    {"W_i", 0.7, "", 0.0, INFINITY, "scaling of the external input to the inhibitory population"},
    {"I_o", 0.382, "nA", -INFINITY, INFINITY, "effective external input"},
    {"I_ext", 0.0, "nA", -INFINITY, INFINITY, "external stimulus to the excitatory population"},
    {"G", 2.0, "", 0.0, INFINITY, "global coupling scaling"},
    {"lamda", 0.0, "", 0.0, INFINITY,
     "share of the long-range input that also reaches the inhibitory population (TVB's spelling of lambda)"},
};

/* TVB's state_variable_range and state_variable_boundaries. */
static const tb_mass_var vars[] = {
    {"S_e", 0.5, 0.0, 1.0, 0.0, 1.0, "", "NMDA gating of the excitatory population"},
    {"S_i", 0.5, 0.0, 1.0, 0.0, 1.0, "", "GABA gating of the inhibitory population"},
};

static const char *const coupled[] = {"S_e"};

/* u / (1 - exp(-d u)) with its removable singularity at u = 0 handled: see
 * reduced_wong_wang. */
static const char helpers[] =
    "inline real wong_wang_ei_rate(real u, real d)\n"
    "{\n"
    "    /* selected, not branched: the same code runs on vector lanes */\n"
    "    const real z = d * u;\n"
    "    const real near0 = ((real)1 + (real)0.5 * z) / d;\n"
    "    return fabs(z) < (real)1e-6 ? near0 : u / -expm1(-z);\n"
    "}\n";

static const char dfun[] =
    "const real lr = G * J_N * coupling[0];\n"
    "const real x_e = w_p * J_N * S_e - J_i * S_i + W_e * I_o + lr + I_ext;\n"
    "const real x_i = J_N * S_e - S_i + W_i * I_o + lamda * lr;\n"
    "const real H_e = wong_wang_ei_rate(a_e * x_e - b_e, d_e);\n"
    "const real H_i = wong_wang_ei_rate(a_i * x_i - b_i, d_i);\n"
    "dS_e = -S_e / tau_e + ((real)1 - S_e) * H_e * gamma_e;\n"
    "dS_i = -S_i / tau_i + H_i * gamma_i;\n";

static const tb_mass_model model = {
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
    .kind = TB_PLUGIN_MASS,
    .name = "wong_wang_ei",
    .version = "1.0",
    .summary = "Wong-Wang excitatory and inhibitory populations (Deco 2014)",
    .doc =
        "Two state variables, the gatings S_e and S_i in [0, 1] (clamped there after every stage):\n"
        "  x_e = w_p J_N S_e - J_i S_i + W_e I_o + G J_N c + I_ext\n"
        "  x_i = J_N S_e - S_i + W_i I_o + lamda G J_N c\n"
        "  H_p = (a_p x_p - b_p) / (1 - exp(-d_p (a_p x_p - b_p)))      [Hz], p = e, i\n"
        "  S_e' = -S_e / tau_e + (1 - S_e) gamma_e H_e\n"
        "  S_i' = -S_i / tau_i + gamma_i H_i\n"
        "c is the long-range coupling (channel 0, from S_e); use linear coupling with a = 1 and set\n"
        "the global coupling with G, as Deco et al. do. J_i may be given per region (feedback\n"
        "inhibition control). H is evaluated as u / -expm1(-d u) (1/d at u = 0), the same function\n"
        "with full precision near its removable singularity.\n"
        "References: Wong K.-F., Wang X.-J. (2006) J. Neurosci. 26:1314-1328; Deco G. et al. (2014)\n"
        "J. Neurosci. 34:7886-7898; defaults as in The Virtual Brain (tvb-library,\n"
        "models.ReducedWongWangExcInh).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .mass = &model,
};

TB_PLUGIN_EXPORT(wong_wang_ei)
{
    return &plugin;
}
