/* Epileptor (Jirsa et al. 2014): a fast bursting subsystem (x1, y1), a
 * spike-wave subsystem (x2, y2), their low-pass coupling g and the slow
 * permittivity variable z that drives seizure onset and offset. In the form
 * and with the defaults of The Virtual Brain's Epileptor model, so results
 * can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. The model is
 * dimensionless; its time unit is the engine's millisecond, as in TVB. */
static const tb_param_info params[] = {
    {"a", 1.0, "", -INFINITY, INFINITY, "coefficient of the cubic term of x1's nonlinearity"},
    {"b", 3.0, "", -INFINITY, INFINITY, "coefficient of the squared term of x1's nonlinearity"},
    {"c", 1.0, "", -INFINITY, INFINITY, "additive constant of the y1 equation (y0 in Jirsa 2014)"},
    {"d", 5.0, "", -INFINITY, INFINITY, "coefficient of the squared term of the y1 equation"},
    {"r", 0.00035, "1/ms", 0.0, INFINITY, "rate of the permittivity variable z (1/tau0 in Jirsa 2014)"},
    {"s", 4.0, "", -INFINITY, INFINITY,
     "linear coefficient of the z equation (TVB declares it but uses the constant 4, its default)"},
    {"x0", -1.6, "", -INFINITY, INFINITY, "epileptogenicity: above about -2.05 the region seizes"},
    {"Iext", 3.1, "", -INFINITY, INFINITY, "external input to population 1 (I_rest1)"},
    {"slope", 0.0, "", -INFINITY, INFINITY, "linear coefficient of x1's nonlinearity for x1 >= 0"},
    {"Iext2", 0.45, "", -INFINITY, INFINITY, "external input to population 2 (I_rest2)"},
    {"tau", 10.0, "", TB_POSITIVE, INFINITY, "time scale of y2 relative to x2 (tau2)"},
    {"aa", 6.0, "", -INFINITY, INFINITY, "gain of f2, the activation of y2"},
    {"bb", 2.0, "", -INFINITY, INFINITY, "weight of the low-pass variable g in the x2 equation"},
    {"Kvf", 0.0, "", -INFINITY, INFINITY, "coupling gain on the very fast time scale (into x1)"},
    {"Kf", 0.0, "", -INFINITY, INFINITY, "coupling gain on the fast time scale (into x2)"},
    {"Ks", 0.0, "", -INFINITY, INFINITY, "permittivity coupling, fast to slow time scale (into z)"},
    {"tt", 1.0, "", TB_POSITIVE, INFINITY, "time scaling of the whole system"},
    {"modification", 0.0, "", 0.0, 1.0,
     "0: linear drive of z (Jirsa 2014); 1: sigmoidal drive (Proix 2014). Any non-zero value counts as 1"},
};

/* TVB's state_variable_range; the default initial value is its middle. */
static const tb_mass_var vars[] = {
    {"x1", -0.5, -2.0, 1.0, -INFINITY, INFINITY, "", "fast variable of population 1"},
    {"y1", -9.0, -20.0, 2.0, -INFINITY, INFINITY, "", "recovery variable of population 1"},
    {"z", 3.5, 2.0, 5.0, -INFINITY, INFINITY, "", "slow permittivity variable"},
    {"x2", -1.0, -2.0, 0.0, -INFINITY, INFINITY, "", "fast variable of population 2"},
    {"y2", 1.0, 0.0, 2.0, -INFINITY, INFINITY, "", "recovery variable of population 2"},
    {"g", 0.0, -1.0, 1.0, -INFINITY, INFINITY, "", "low-pass filter of x1 driving population 2"},
};

/* Channel 0 from x1 (into x1 and z), channel 1 from x2 (into x2). */
static const char *const coupled[] = {"x1", "x2"};

static const char dfun[] =
    "const real x1sq = x1 * x1;\n"
    "const real z4 = z - (real)4;\n"
    "const real f1 = x1 < (real)0 ? (a * x1 - b) * x1sq\n"
    "                             : -(slope - x2 + (real)0.6 * z4 * z4) * x1;\n"
    "dx1 = tt * (y1 - f1 - z + Iext + Kvf * coupling[0]);\n"
    "dy1 = tt * (c - d * x1sq - y1);\n"
    /* selections rather than branches, so that the code also runs on
     * vector lanes (several instances at once) */
    "const real z2 = z * z;\n"
    "const real linear = s * (x1 - x0) - (z < (real)0 ? (real)0.1 * z2 * z2 * z2 * z : (real)0);\n"
    "const real sigmoid = x0 + (real)3 / ((real)1 + exp(-(x1 + (real)0.5) / (real)0.1));\n"
    "const real h = modification != (real)0 ? sigmoid : linear;\n"
    "dz = tt * r * (h - z + Ks * coupling[0]);\n"
    "dx2 = tt * (-y2 + x2 - x2 * x2 * x2 + Iext2 + bb * g - (real)0.3 * (z - (real)3.5) + Kf * coupling[1]);\n"
    "const real f2 = x2 < (real)-0.25 ? (real)0 : aa * (x2 + (real)0.25);\n"
    "dy2 = tt * (-y2 + f2) / tau;\n"
    "dg = -(real)0.01 * tt * (g - (real)0.1 * x1);\n";

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
    .name = "epileptor",
    .version = "1.0",
    .summary = "Epileptor: seizure onset, ictal bursting and offset (Jirsa 2014)",
    .doc =
        "Six state variables x1, y1, z, x2, y2, g (all derivatives multiplied by tt):\n"
        "  x1' = y1 - f1(x1, x2, z) - z + Iext + Kvf c1\n"
        "  y1' = c - d x1^2 - y1\n"
        "  z'  = r (h - z + Ks c1),  h = s (x1 - x0) - [z < 0] 0.1 z^7                (modification 0)\n"
        "                           h = x0 + 3 / (1 + exp(-(x1 + 0.5) / 0.1))        (modification 1)\n"
        "  x2' = -y2 + x2 - x2^3 + Iext2 + bb g - 0.3 (z - 3.5) + Kf c2\n"
        "  y2' = (-y2 + f2(x2)) / tau\n"
        "  g'  = -0.01 (g - 0.1 x1)\n"
        "  f1 = a x1^3 - b x1^2 if x1 < 0, else -(slope - x2 + 0.6 (z - 4)^2) x1\n"
        "  f2 = 0 if x2 < -0.25, else aa (x2 + 0.25)\n"
        "c1, c2 are the long-range coupling of channels 0 (from x1) and 1 (from x2); the default\n"
        "difference coupling gives c = a sum_j w_ij (x_j - x_i), the permittivity coupling of Proix\n"
        "2014 through Ks. The usual LFP proxy is x2 - x1 (monitor both).\n"
        "References: Jirsa V.K. et al. (2014) Brain 137:2210-2230; Proix T. et al. (2014)\n"
        "J. Neurosci. 34:15009-15021; defaults as in The Virtual Brain (tvb-library,\n"
        "models.Epileptor).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(epileptor)
{
    return &plugin;
}
