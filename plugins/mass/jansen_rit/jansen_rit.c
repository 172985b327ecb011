/* Jansen-Rit neural mass (Jansen & Rit 1995), in the form and with the
 * defaults of The Virtual Brain's JansenRit model, so results can be put
 * side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. */
static const tb_param_info params[] = {
    {"A", 3.25, "mV", 0.0, INFINITY, "maximum amplitude of the excitatory PSP"},
    {"B", 22.0, "mV", 0.0, INFINITY, "maximum amplitude of the inhibitory PSP"},
    {"a", 0.1, "1/ms", 0.0, INFINITY, "reciprocal of the excitatory membrane time constant plus dendritic delays"},
    {"b", 0.05, "1/ms", 0.0, INFINITY, "reciprocal of the inhibitory membrane time constant plus dendritic delays"},
    {"v0", 5.52, "mV", -INFINITY, INFINITY, "firing threshold: potential at half the maximum firing rate"},
    {"nu_max", 0.0025, "1/ms", 0.0, INFINITY, "maximum firing rate (half of 2 e0)"},
    {"r", 0.56, "1/mV", 0.0, INFINITY, "steepness of the sigmoid"},
    {"J", 135.0, "", 0.0, INFINITY, "average number of synapses between the populations"},
    {"a_1", 1.0, "", 0.0, INFINITY, "fraction of J from pyramidal cells to excitatory interneurons"},
    {"a_2", 0.8, "", 0.0, INFINITY, "fraction of J from excitatory interneurons to pyramidal cells"},
    {"a_3", 0.25, "", 0.0, INFINITY, "fraction of J from pyramidal cells to inhibitory interneurons"},
    {"a_4", 0.25, "", 0.0, INFINITY, "fraction of J from inhibitory interneurons to pyramidal cells"},
    {"mu", 0.22, "1/ms", -INFINITY, INFINITY, "mean extrinsic input to the excitatory interneurons"},
};

/* TVB's state_variable_range, used when initial values are drawn. */
static const tb_mass_var vars[] = {
    {"y0", 0.0, -1.0, 1.0, -INFINITY, INFINITY, "mV", "PSP of the pyramidal cells"},
    {"y1", 0.0, -500.0, 500.0, -INFINITY, INFINITY, "mV", "PSP of the excitatory interneurons"},
    {"y2", 0.0, -50.0, 50.0, -INFINITY, INFINITY, "mV", "PSP of the inhibitory interneurons"},
    {"y3", 0.0, -6.0, 6.0, -INFINITY, INFINITY, "mV/ms", "derivative of y0"},
    {"y4", 0.0, -20.0, 20.0, -INFINITY, INFINITY, "mV/ms", "derivative of y1"},
    {"y5", 0.0, -500.0, 500.0, -INFINITY, INFINITY, "mV/ms", "derivative of y2"},
};

static const char *const coupled[] = {"y1", "y2"};

static const char helpers[] =
    "inline real jansen_rit_sigm(real v, real nu_max, real r, real v0)\n"
    "{ return 2.0 * nu_max / (1.0 + exp(r * (v0 - v))); }\n";

/* The long-range input enters the excitatory interneurons' drive, as in TVB;
 * with the sigmoidal_jansen_rit coupling it is a firing rate. */
static const char dfun[] =
    "dy0 = y3;\n"
    "dy1 = y4;\n"
    "dy2 = y5;\n"
    "dy3 = A * a * jansen_rit_sigm(y1 - y2, nu_max, r, v0) - 2.0 * a * y3 - a * a * y0;\n"
    "dy4 = A * a * (mu + a_2 * J * jansen_rit_sigm(a_1 * J * y0, nu_max, r, v0) + coupling[0])\n"
    "      - 2.0 * a * y4 - a * a * y1;\n"
    "dy5 = B * b * (a_4 * J * jansen_rit_sigm(a_3 * J * y0, nu_max, r, v0)) - 2.0 * b * y5 - b * b * y2;\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = 2,
    .coupled = coupled,
    .dfun = dfun,
    .helpers = helpers,
    .default_coupling = "sigmoidal_jansen_rit",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "jansen_rit",
    .version = "1.0",
    .summary = "Jansen-Rit cortical column: pyramidal cells with excitatory and inhibitory interneurons",
    .doc =
        "Six state variables y0..y5 (PSPs and their derivatives), S(v) = 2 nu_max / (1 + exp(r (v0 - v))):\n"
        "  y0' = y3, y1' = y4, y2' = y5\n"
        "  y3' = A a S(y1 - y2) - 2 a y3 - a^2 y0\n"
        "  y4' = A a (mu + a_2 J S(a_1 J y0) + c) - 2 a y4 - a^2 y1\n"
        "  y5' = B b a_4 J S(a_3 J y0) - 2 b y5 - b^2 y2\n"
        "c is the long-range coupling (channel 0); coupled variables y1 and y2, whose difference is the\n"
        "pyramidal-cell membrane potential that sigmoidal_jansen_rit coupling transmits.\n"
        "References: Jansen B.H., Rit V.G. (1995) Biol. Cybern. 73:357-366; defaults as in\n"
        "The Virtual Brain (tvb-library, models.JansenRit).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(jansen_rit)
{
    return &plugin;
}
