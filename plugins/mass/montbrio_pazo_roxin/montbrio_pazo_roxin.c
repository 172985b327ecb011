/* Montbrio-Pazo-Roxin model: the exact mean field (Ott-Antonsen reduction)
 * of an infinite population of all-to-all coupled quadratic
 * integrate-and-fire neurons (Montbrio, Pazo & Roxin 2015), in the form and
 * with the defaults of The Virtual Brain's MontbrioPazoRoxin model, so
 * results can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. */
static const tb_param_info params[] = {
    {"tau", 1.0, "ms", TB_POSITIVE, INFINITY, "membrane time constant"},
    {"I", 0.0, "", -INFINITY, INFINITY, "external current"},
    {"Delta", 1.0, "", 0.0, INFINITY, "half-width of the (Lorentzian) distribution of excitabilities"},
    {"J", 15.0, "", -INFINITY, INFINITY, "mean synaptic weight within the population"},
    {"eta", -5.0, "", -INFINITY, INFINITY, "mean excitability"},
    {"cr", 1.0, "", -INFINITY, INFINITY, "weight of the long-range input coupled through r"},
    {"cv", 0.0, "", -INFINITY, INFINITY, "weight of the long-range input coupled through V"},
};

/* TVB's state_variable_range and state_variable_boundaries (r >= 0); the
 * default initial value is the range's middle. */
static const tb_mass_var vars[] = {
    {"r", 1.0, 0.0, 2.0, 0.0, INFINITY, "1/ms", "mean firing rate"},
    {"V", -0.25, -2.0, 1.5, -INFINITY, INFINITY, "", "mean membrane potential"},
};

/* Channel 0 from r, channel 1 from V. */
static const char *const coupled[] = {"r", "V"};

static const char dfun[] =
    "const real pi = (real)3.14159265358979323846;\n"
    "const real pi_tau_r = pi * tau * r;\n"
    "dr = (Delta / (pi * tau) + (real)2 * V * r) / tau;\n"
    "dV = (V * V - pi_tau_r * pi_tau_r + eta + J * tau * r + I + cr * coupling[0] + cv * coupling[1]) / tau;\n";

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
    .name = "montbrio_pazo_roxin",
    .version = "1.0",
    .summary = "Montbrio-Pazo-Roxin mean field of quadratic integrate-and-fire neurons",
    .doc =
        "Two state variables, the firing rate r (kept >= 0 after every stage) and the mean\n"
        "membrane potential V:\n"
        "  r' = (Delta / (pi tau) + 2 V r) / tau\n"
        "  V' = (V^2 - (pi tau r)^2 + eta + J tau r + I + cr c_r + cv c_V) / tau\n"
        "c_r, c_V are the long-range coupling of channels 0 (from r) and 1 (from V); cr = 1, cv = 0\n"
        "couple through the firing rate only. TVB also declares Gamma (half-width of the synaptic\n"
        "weight distribution) but does not use it; it is left out here.\n"
        "References: Montbrio E., Pazo D., Roxin A. (2015) Phys. Rev. X 5:021028; defaults as in\n"
        "The Virtual Brain (tvb-library, models.MontbrioPazoRoxin).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(montbrio_pazo_roxin)
{
    return &plugin;
}
