/* Izhikevich (2003) simple model, integrated exactly as in the paper's
 * network code: v in two half steps, then u with the new v. Defaults are
 * the regular-spiking cell of the paper. */
#include <math.h>

#include "twinbrain/spiking.h"

static const tb_param_info params[] = {
    {"a", 0.02, "1/ms", -INFINITY, INFINITY, "time scale of the recovery variable u"},
    {"b", 0.2, "", -INFINITY, INFINITY, "sensitivity of u to v"},
    {"c", -65.0, "mV", -INFINITY, INFINITY, "v after a spike"},
    {"d", 8.0, "", -INFINITY, INFINITY, "increment of u after a spike"},
    {"V_peak", 30.0, "mV", -INFINITY, INFINITY, "spike cut-off: a spike when v >= V_peak"},
    {"I_e", 0.0, "", -INFINITY, INFINITY, "constant input current"},
};

static const tb_spiking_var vars[] = {
    {"v", -65.0, "mV", "membrane potential"},
    {"u", -13.0, "", "recovery variable (b v at rest)"},
};

static const tb_spiking_port ports[] = {
    {"ex", "", "a spike of weight w adds w to the input current of one step"},
    {"in", "", "as ex; for negative (inhibitory) weights"},
};

/* v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u), per ms. */
static const char update[] =
    "const real I = I_e + I_ext + in_ex + in_in;\n"
    "const real h = (real)0.5 * dt;\n"
    "v += h * ((real)0.04 * v * v + (real)5 * v + (real)140 - u + I);\n"
    "v += h * ((real)0.04 * v * v + (real)5 * v + (real)140 - u + I);\n"
    "u += dt * a * (b * v - u);\n";

static const tb_spiking_model model = {
    .head = TB_SPIKING_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_ports = sizeof ports / sizeof ports[0],
    .ports = ports,
    .update = update,
    .threshold = "v >= V_peak",
    .reset = "v = c;\nu += d;",
    .current_unit = "",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_SPIKING_KIND,
    .name = "izhikevich",
    .version = "1.0",
    .summary = "Izhikevich (2003) simple spiking model, the paper's integration scheme",
    .doc =
        "  v' = 0.04 v^2 + 5 v + 140 - u + I,  u' = a (b v - u)     (v in mV, t in ms)\n"
        "  v >= V_peak: a spike; v = c, u = u + d\n"
        "I = I_e + I_ext + the weights of the spikes arriving in the step (they act for one step).\n"
        "Method (the paper's network code, at any step h): two explicit-Euler half steps of h/2 for v,\n"
        "then one explicit-Euler step of h for u with the new v. With h = 1 ms this is exactly\n"
        "Izhikevich's MATLAB scheme, where a spike of weight w raises v by about w. The threshold is\n"
        "checked at the end of the step, which is where the paper's next step finds it. No refractory\n"
        "period.\n"
        "Reference: Izhikevich E.M. (2003) IEEE Trans. Neural Netw. 14:1569-1572.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(izhikevich)
{
    return &plugin;
}
