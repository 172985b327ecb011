/* Leaky integrate-and-fire neuron with exponentially decaying synaptic
 * conductances (NEST's iaf_cond_exp; the COBA benchmark's neuron).
 * Defaults are NEST's. The conductances are integrated exactly; the
 * membrane by exponential Euler with each conductance replaced by its
 * mean over the step, a second-order method that is stable at any step
 * (NEST integrates the same equations with an adaptive RKF45). */
#include <math.h>

#include "twinbrain/spiking.h"

static const tb_param_info params[] = {
    {"V_th", -55.0, "mV", -INFINITY, INFINITY, "spike threshold"},
    {"V_reset", -60.0, "mV", -INFINITY, INFINITY, "membrane potential after a spike"},
    {"t_ref", 2.0, "ms", 0.0, INFINITY, "refractory period (rounded to steps)"},
    {"g_L", 16.6667, "nS", TB_POSITIVE, INFINITY, "leak conductance"},
    {"C_m", 250.0, "pF", TB_POSITIVE, INFINITY, "membrane capacitance"},
    {"E_ex", 0.0, "mV", -INFINITY, INFINITY, "excitatory reversal potential"},
    {"E_in", -85.0, "mV", -INFINITY, INFINITY, "inhibitory reversal potential"},
    {"E_L", -70.0, "mV", -INFINITY, INFINITY, "leak reversal potential"},
    {"tau_syn_ex", 0.2, "ms", TB_POSITIVE, INFINITY, "decay time of the excitatory conductance"},
    {"tau_syn_in", 2.0, "ms", TB_POSITIVE, INFINITY, "decay time of the inhibitory conductance"},
    {"I_e", 0.0, "pA", -INFINITY, INFINITY, "constant external current"},
};

static const tb_spiking_var vars[] = {
    {"V_m", -70.0, "mV", "membrane potential"},
    {"g_ex", 0.0, "nS", "excitatory conductance"},
    {"g_in", 0.0, "nS", "inhibitory conductance"},
};

static const tb_spiking_port ports[] = {
    {"ex", "nS", "excitatory: a spike of weight w adds w to g_ex"},
    {"in", "nS", "inhibitory: a spike of weight w (positive) adds w to g_in"},
};

static const char *const consts[] = {"Pex", "Pin", "Fex", "Fin", "Km"};

/* F = mean of exp(-s/tau) over [0, h]: the conductance's step average is
 * F times its value at the start of the step. Km = -h / C_m, so that the
 * update divides once per neuron, not twice (a division is the dearest
 * operation of the step after the exp). */
static const char prepare[] =
    "Pex = exp(-dt / tau_syn_ex);\n"
    "Pin = exp(-dt / tau_syn_in);\n"
    "Fex = -tau_syn_ex / dt * expm1(-dt / tau_syn_ex);\n"
    "Fin = -tau_syn_in / dt * expm1(-dt / tau_syn_in);\n"
    "Km = -dt / C_m;\n";

static const char update[] =
    "if (!refractory) {\n"
    "    const real ge = g_ex * Fex, gi = g_in * Fin;\n"
    "    const real gt = g_L + ge + gi;\n"
    "    const real V_inf = (g_L * E_L + ge * E_ex + gi * E_in + I_e + I_ext) / gt;\n"
    "    V_m = V_inf + (V_m - V_inf) * exp(gt * Km);\n"
    "}\n"
    "g_ex = Pex * g_ex + in_ex;\n"
    "g_in = Pin * g_in + in_in;\n";

static const tb_spiking_model model = {
    .head = TB_SPIKING_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_ports = sizeof ports / sizeof ports[0],
    .ports = ports,
    .n_consts = sizeof consts / sizeof consts[0],
    .consts = consts,
    .prepare = prepare,
    .update = update,
    .threshold = "V_m >= V_th",
    .reset = "V_m = V_reset;",
    .refractory = "t_ref",
    .current_unit = "pA",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_SPIKING_KIND,
    .name = "iaf_cond_exp",
    .version = "1.0",
    .summary = "leaky integrate-and-fire, exponential synaptic conductances (NEST iaf_cond_exp; COBA)",
    .doc =
        "  C_m dV_m/dt = -g_L (V_m - E_L) - g_ex (V_m - E_ex) - g_in (V_m - E_in) + I_e + I_ext\n"
        "  dg_x/dt = -g_x / tau_syn_x, a spike of weight w adds w (nS) to g_x\n"
        "Method, over a step h: the conductances decay exactly (g_x <- exp(-h/tau_syn_x) g_x + input);\n"
        "the membrane takes an exponential-Euler step with each conductance replaced by its exact mean\n"
        "over the step, g_x F_x, F_x = tau_syn_x/h (1 - exp(-h/tau_syn_x)):\n"
        "  V_inf = (g_L E_L + g_ex F_ex E_ex + g_in F_in E_in + I_e + I_ext) / g_tot,\n"
        "  V_m <- V_inf + (V_m - V_inf) exp(-h g_tot / C_m), g_tot = g_L + g_ex F_ex + g_in F_in.\n"
        "Second order in h, stable for any h. Order in a step as iaf_psc_exp (NEST's): the membrane\n"
        "first (held at V_reset while refractory), then the conductances with this step's spikes, then\n"
        "V_m >= V_th fires, V_m = V_reset, round(t_ref / h) refractory steps.\n"
        "Reference: NEST iaf_cond_exp (Meffin et al. 2004); COBA benchmark: Brette et al. (2007).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(iaf_cond_exp)
{
    return &plugin;
}
