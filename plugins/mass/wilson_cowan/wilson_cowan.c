/* Wilson-Cowan excitatory and inhibitory populations (Wilson & Cowan 1972),
 * in the form and with the defaults of The Virtual Brain's WilsonCowan
 * model, so results can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. */
static const tb_param_info params[] = {
    {"c_ee", 12.0, "", 0.0, INFINITY, "excitatory to excitatory coupling coefficient"},
    {"c_ei", 4.0, "", 0.0, INFINITY, "inhibitory to excitatory coupling coefficient"},
    {"c_ie", 13.0, "", 0.0, INFINITY, "excitatory to inhibitory coupling coefficient"},
    {"c_ii", 11.0, "", 0.0, INFINITY, "inhibitory to inhibitory coupling coefficient"},
    {"tau_e", 10.0, "ms", TB_POSITIVE, INFINITY, "membrane time constant of the excitatory population"},
    {"tau_i", 10.0, "ms", TB_POSITIVE, INFINITY, "membrane time constant of the inhibitory population"},
    {"a_e", 1.2, "", 0.0, INFINITY, "slope of the excitatory response function"},
    {"b_e", 2.8, "", -INFINITY, INFINITY, "position of the maximum slope of the excitatory response function"},
    {"c_e", 1.0, "", 0.0, INFINITY, "amplitude of the excitatory response function"},
    {"theta_e", 0.0, "", -INFINITY, INFINITY, "excitatory threshold"},
    {"a_i", 1.0, "", 0.0, INFINITY, "slope of the inhibitory response function"},
    {"b_i", 4.0, "", -INFINITY, INFINITY, "position of the maximum slope of the inhibitory response function"},
    {"theta_i", 0.0, "", -INFINITY, INFINITY, "inhibitory threshold"},
    {"c_i", 1.0, "", 0.0, INFINITY, "amplitude of the inhibitory response function"},
    {"r_e", 1.0, "", 0.0, INFINITY, "excitatory refractory period (fraction of a time constant)"},
    {"r_i", 1.0, "", 0.0, INFINITY, "inhibitory refractory period (fraction of a time constant)"},
    {"k_e", 1.0, "", 0.0, INFINITY, "maximum value of the excitatory response"},
    {"k_i", 1.0, "", 0.0, INFINITY, "maximum value of the inhibitory response"},
    {"P", 0.0, "", -INFINITY, INFINITY, "constant external input to the excitatory population"},
    {"Q", 0.0, "", -INFINITY, INFINITY, "constant external input to the inhibitory population"},
    {"alpha_e", 1.0, "", 0.0, INFINITY, "gain of the total input to the excitatory population"},
    {"alpha_i", 1.0, "", 0.0, INFINITY, "gain of the total input to the inhibitory population"},
    {"shift_sigmoid", 1.0, "", 0.0, 1.0,
     "1: response functions shifted so that S(0) = 0 (TVB's default); 0: plain logistic (any non-zero "
     "value counts as 1)"},
};

/* TVB's state_variable_range, used when initial values are drawn; the
 * default initial value is its middle. */
static const tb_mass_var vars[] = {
    {"E", 0.5, 0.0, 1.0, -INFINITY, INFINITY, "", "proportion of excitatory cells firing per unit time"},
    {"I", 0.5, 0.0, 1.0, -INFINITY, INFINITY, "", "proportion of inhibitory cells firing per unit time"},
};

/* TVB declares cvar = [E, I] but reads only the first channel: coupling
 * through E alone gives the same results at half the coupling work. */
static const char *const coupled[] = {"E"};

static const char helpers[] =
    "inline real wilson_cowan_sigm(real u, real a, real b, real c, real shift)\n"
    "{\n"
    "    const real s = c / ((real)1 + exp(-a * (u - b)));\n"
    "    return shift != (real)0 ? s - c / ((real)1 + exp(a * b)) : s;\n"
    "}\n";

static const char dfun[] =
    "const real u_e = alpha_e * (c_ee * E - c_ei * I + P - theta_e + coupling[0]);\n"
    "const real u_i = alpha_i * (c_ie * E - c_ii * I + Q - theta_i);\n"
    "dE = (-E + (k_e - r_e * E) * wilson_cowan_sigm(u_e, a_e, b_e, c_e, shift_sigmoid)) / tau_e;\n"
    "dI = (-I + (k_i - r_i * I) * wilson_cowan_sigm(u_i, a_i, b_i, c_i, shift_sigmoid)) / tau_i;\n";

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
    .name = "wilson_cowan",
    .version = "1.0",
    .summary = "Wilson-Cowan excitatory and inhibitory populations",
    .doc =
        "Two state variables, the active fractions E and I of an excitatory and an inhibitory population:\n"
        "  tau_e E' = -E + (k_e - r_e E) S_e(alpha_e (c_ee E - c_ei I + P - theta_e + c))\n"
        "  tau_i I' = -I + (k_i - r_i I) S_i(alpha_i (c_ie E - c_ii I + Q - theta_i))\n"
        "  S_x(u) = c_x / (1 + exp(-a_x (u - b_x))) - [shift_sigmoid] c_x / (1 + exp(a_x b_x))\n"
        "c is the long-range coupling (channel 0, from E); it drives the excitatory population only.\n"
        "References: Wilson H.R., Cowan J.D. (1972) Biophys. J. 12:1-24; Wilson H.R., Cowan J.D.\n"
        "(1973) Kybernetik 13:55-80; defaults as in The Virtual Brain (tvb-library,\n"
        "models.WilsonCowan).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(wilson_cowan)
{
    return &plugin;
}
