/* Generic two-dimensional oscillator (Sanz-Leon et al. 2015): a cubic and a
 * configurable quadratic nullcline, from FitzHugh-Nagumo-like excitability
 * to limit cycles and bistability. TVB's default model, in its form and with
 * its defaults, so results can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. The model is
 * dimensionless; its time unit is the engine's millisecond, as in TVB. */
static const tb_param_info params[] = {
    {"tau", 1.0, "", TB_POSITIVE, INFINITY, "time-scale hierarchy between V (faster for tau > 1) and W"},
    {"I", 0.0, "", -INFINITY, INFINITY, "baseline shift of the cubic nullcline (external input)"},
    {"a", -2.0, "", -INFINITY, INFINITY, "vertical shift of the configurable nullcline"},
    {"b", -10.0, "", -INFINITY, INFINITY, "linear slope of the configurable nullcline"},
    {"c", 0.0, "", -INFINITY, INFINITY, "parabolic term of the configurable nullcline"},
    {"d", 0.02, "1/ms", 0.0, INFINITY, "temporal scale factor of both variables"},
    {"e", 3.0, "", -INFINITY, INFINITY, "quadratic term of the cubic nullcline"},
    {"f", 1.0, "", -INFINITY, INFINITY, "cubic term of the cubic nullcline"},
    {"g", 0.0, "", -INFINITY, INFINITY, "linear term of the cubic nullcline"},
    {"alpha", 1.0, "", -INFINITY, INFINITY, "feedback from the slow variable W to V"},
    {"beta", 1.0, "", -INFINITY, INFINITY, "feedback from W to itself"},
    {"gamma", 1.0, "", -INFINITY, INFINITY,
     "scaling of I and of the long-range input (-1 reproduces FitzHugh-Nagumo's sign convention)"},
};

/* TVB's state_variable_range; the default initial value is its middle. */
static const tb_mass_var vars[] = {
    {"V", 1.0, -2.0, 4.0, -INFINITY, INFINITY, "", "fast, voltage-like variable"},
    {"W", 0.0, -6.0, 6.0, -INFINITY, INFINITY, "", "slow recovery variable"},
};

static const char *const coupled[] = {"V"};

static const char dfun[] =
    "const real V2 = V * V;\n"
    "dV = d * tau * (alpha * W - f * V2 * V + e * V2 + g * V + gamma * I + gamma * coupling[0]);\n"
    "dW = d * (a + b * V + c * V2 - beta * W) / tau;\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = sizeof coupled / sizeof coupled[0],
    .coupled = coupled,
    .dfun = dfun,
    .default_coupling = "linear",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "generic_2d_oscillator",
    .version = "1.0",
    .summary = "Generic 2D oscillator: cubic and quadratic nullclines (TVB's default model)",
    .doc =
        "Two state variables, V (fast) and W (slow):\n"
        "  V' = d tau (-f V^3 + e V^2 + g V + alpha W + gamma I + gamma c_lr)\n"
        "  W' = d (a + b V + c V^2 - beta W) / tau\n"
        "c_lr is the long-range coupling (channel 0, from V). The defaults give an excitable unit;\n"
        "a = 2 gives a limit cycle, and Table 4 of the TVB documentation (a = 1.05, b = -1, d = 0.1,\n"
        "beta = 0.2, gamma = -1, e = 0, g = 1, f = 1/3, tau = 1.25) oscillates at about 10 Hz.\n"
        "References: FitzHugh R. (1961) Biophys. J. 1:445-466; Nagumo J. et al. (1962) Proc. IRE\n"
        "50:2061-2070; Stefanescu R.A., Jirsa V.K. (2008) PLoS Comput. Biol. 4:e1000219; Sanz-Leon P.\n"
        "et al. (2015) NeuroImage 111:385-430; defaults as in The Virtual Brain (tvb-library,\n"
        "models.Generic2dOscillator).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(generic_2d_oscillator)
{
    return &plugin;
}
