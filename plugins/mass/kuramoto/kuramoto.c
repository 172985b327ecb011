/* Kuramoto phase oscillators (Kuramoto 1975; Cabral et al. 2011), in the
 * form and with the defaults of The Virtual Brain's Kuramoto model, so
 * results can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

#define KURAMOTO_PI 3.14159265358979323846 /* M_PI is not ISO C */

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. */
static const tb_param_info params[] = {
    {"omega", 1.0, "rad/ms", -INFINITY, INFINITY, "natural angular frequency (1 rad/ms is about 159 Hz)"},
};

/* TVB's state_variable_range; the default initial value is its middle.
 * The phase is not wrapped: only sin(theta_j - theta_i) enters. */
static const tb_mass_var vars[] = {
    {"theta", KURAMOTO_PI, 0.0, 2.0 * KURAMOTO_PI, -INFINITY, INFINITY, "rad", "phase of the oscillator"},
};

static const char *const coupled[] = {"theta"};

static const char dfun[] = "dtheta = omega + coupling[0];\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = sizeof coupled / sizeof coupled[0],
    .coupled = coupled,
    .dfun = dfun,
    .default_coupling = "kuramoto",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "kuramoto",
    .version = "1.0",
    .summary = "Kuramoto phase oscillators",
    .doc =
        "One state variable, the phase theta:\n"
        "  theta' = omega + c\n"
        "c is the long-range coupling (channel 0, from theta); with the default kuramoto coupling\n"
        "c_i = (a / N) sum_j w_ij sin(theta_j(t - d_ij) - theta_i(t)).\n"
        "References: Kuramoto Y. (1975) Lecture Notes in Physics 39:420-422; Strogatz S.H. (2000)\n"
        "Physica D 143:1-20; Cabral J. et al. (2011) NeuroImage 57:130-139; defaults as in The\n"
        "Virtual Brain (tvb-library, models.Kuramoto).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(kuramoto)
{
    return &plugin;
}
