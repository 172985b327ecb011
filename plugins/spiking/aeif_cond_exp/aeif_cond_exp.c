/* Adaptive exponential integrate-and-fire neuron with exponential
 * synaptic conductances (Brette & Gerstner 2005; NEST's aeif_cond_exp,
 * whose defaults these are). Integrated with classical RK4 on fixed
 * substeps, the conductances evaluated exactly inside the step. */
#include <math.h>

#include "twinbrain/spiking.h"

static const tb_param_info params[] = {
    {"C_m", 281.0, "pF", TB_POSITIVE, INFINITY, "membrane capacitance"},
    {"g_L", 30.0, "nS", TB_POSITIVE, INFINITY, "leak conductance"},
    {"E_L", -70.6, "mV", -INFINITY, INFINITY, "leak reversal potential"},
    {"V_th", -50.4, "mV", -INFINITY, INFINITY, "threshold of the exponential term"},
    {"Delta_T", 2.0, "mV", 0.0, INFINITY, "slope factor (0: no exponential term)"},
    {"tau_w", 144.0, "ms", TB_POSITIVE, INFINITY, "adaptation time constant"},
    {"a", 4.0, "nS", -INFINITY, INFINITY, "subthreshold adaptation"},
    {"b", 80.5, "pA", -INFINITY, INFINITY, "spike-triggered adaptation"},
    {"V_peak", 0.0, "mV", -INFINITY, INFINITY, "spike detection: a spike when V_m >= V_peak"},
    {"V_reset", -60.0, "mV", -INFINITY, INFINITY, "membrane potential after a spike"},
    {"t_ref", 0.0, "ms", 0.0, INFINITY, "refractory period (rounded to steps)"},
    {"E_ex", 0.0, "mV", -INFINITY, INFINITY, "excitatory reversal potential"},
    {"E_in", -85.0, "mV", -INFINITY, INFINITY, "inhibitory reversal potential"},
    {"tau_syn_ex", 0.2, "ms", TB_POSITIVE, INFINITY, "decay time of the excitatory conductance"},
    {"tau_syn_in", 2.0, "ms", TB_POSITIVE, INFINITY, "decay time of the inhibitory conductance"},
    {"I_e", 0.0, "pA", -INFINITY, INFINITY, "constant external current"},
    {"h_max", 0.01, "ms", TB_POSITIVE, INFINITY, "largest RK4 substep; a step of dt takes ceil(dt / h_max)"},
};

static const tb_spiking_var vars[] = {
    {"V_m", -70.6, "mV", "membrane potential"},
    {"w", 0.0, "pA", "adaptation current"},
    {"g_ex", 0.0, "nS", "excitatory conductance"},
    {"g_in", 0.0, "nS", "inhibitory conductance"},
};

static const tb_spiking_port ports[] = {
    {"ex", "nS", "excitatory: a spike of weight w adds w to g_ex"},
    {"in", "nS", "inhibitory: a spike of weight w (positive) adds w to g_in"},
};

static const char *const consts[] = {"n_sub", "h", "Pex", "Pin", "Eh_ex", "Eh_in", "Eh2_ex", "Eh2_in"};

static const char prepare[] =
    "n_sub = fmax((real)1, ceil(dt / h_max - (real)1e-9));\n"
    "h = dt / n_sub;\n"
    "Pex = exp(-dt / tau_syn_ex);\n"
    "Pin = exp(-dt / tau_syn_in);\n"
    "Eh_ex = exp(-h / tau_syn_ex);\n"
    "Eh_in = exp(-h / tau_syn_in);\n"
    "Eh2_ex = exp((real)-0.5 * h / tau_syn_ex);\n"
    "Eh2_in = exp((real)-0.5 * h / tau_syn_in);\n";

/* The right-hand side with V capped at V_peak (NEST's guard against the
 * exponential term's overflow); while refractory V stays at V_reset. */
static const char helpers[] =
    "inline real2 aeif_cond_exp_rhs(real V, real w, real ge, real gi, real C_m, real g_L, real E_L, real V_th,\n"
    "                               real Delta_T, real tau_w, real a, real E_ex, real E_in, real I, int ref,\n"
    "                               real V_peak, real V_reset)\n"
    "{\n"
    "    const real v = ref ? V_reset : fmin(V, V_peak);\n"
    "    const real spike = Delta_T > (real)0 ? g_L * Delta_T * exp((v - V_th) / Delta_T) : (real)0;\n"
    "    const real dV = ref ? (real)0\n"
    "                        : (-g_L * (v - E_L) + spike - ge * (v - E_ex) - gi * (v - E_in) - w + I) / C_m;\n"
    "    return (real2)(dV, (a * (v - E_L) - w) / tau_w);\n"
    "}\n";

#define RHS(V, W, GE, GI) \
    "aeif_cond_exp_rhs(" V ", " W ", " GE ", " GI ", C_m, g_L, E_L, V_th, Delta_T, tau_w, a, E_ex, E_in, I, " \
    "refractory, V_peak, V_reset)"

static const char update[] =
    "const real I = I_e + I_ext;\n"
    "real ge = g_ex, gi = g_in;\n"
    "for (int k = 0; k < (int)n_sub; ++k) {\n"
    "    const real gem = ge * Eh2_ex, gim = gi * Eh2_in, gee = ge * Eh_ex, gie = gi * Eh_in;\n"
    "    const real2 k1 = " RHS("V_m", "w", "ge", "gi") ";\n"
    "    const real2 k2 = " RHS("V_m + (real)0.5 * h * k1.x", "w + (real)0.5 * h * k1.y", "gem", "gim") ";\n"
    "    const real2 k3 = " RHS("V_m + (real)0.5 * h * k2.x", "w + (real)0.5 * h * k2.y", "gem", "gim") ";\n"
    "    const real2 k4 = " RHS("V_m + h * k3.x", "w + h * k3.y", "gee", "gie") ";\n"
    "    V_m += h / (real)6 * (k1.x + (real)2 * k2.x + (real)2 * k3.x + k4.x);\n"
    "    w += h / (real)6 * (k1.y + (real)2 * k2.y + (real)2 * k3.y + k4.y);\n"
    "    ge = gee;\n"
    "    gi = gie;\n"
    "    if (V_m >= V_peak)\n"
    "        break;\n"
    "}\n"
    "if (refractory)\n"
    "    V_m = V_reset;\n"
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
    .threshold = "V_m >= V_peak",
    .reset = "V_m = V_reset;\nw += b;",
    .refractory = "t_ref",
    .current_unit = "pA",
    .helpers = helpers,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_SPIKING_KIND,
    .name = "aeif_cond_exp",
    .version = "1.0",
    .summary = "adaptive exponential integrate-and-fire, exponential conductances (NEST aeif_cond_exp)",
    .doc =
        "  C_m dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_th)/Delta_T) - g_ex (V - E_ex)\n"
        "              - g_in (V - E_in) - w + I_e + I_ext\n"
        "  tau_w dw/dt = a (V - E_L) - w;   dg_x/dt = -g_x / tau_syn_x (a spike adds its weight, nS)\n"
        "  V >= V_peak: a spike at the end of the step; V = V_reset, w = w + b; t_ref refractory\n"
        "  (V held at V_reset, w keeps evolving).\n"
        "Method: a step h is ceil(h / h_max) classical RK4 substeps of (V, w), with the conductances\n"
        "evaluated exactly at each stage (they decay exponentially between spikes); V is capped at\n"
        "V_peak inside the right-hand side, as NEST does. Once V reaches V_peak the remaining substeps\n"
        "are skipped. Then the conductances decay over h and take the step's spikes (NEST's order).\n"
        "NEST integrates the same equations with adaptive RKF45; results agree to the tolerance of\n"
        "either method. References: Brette R., Gerstner W. (2005) J. Neurophysiol. 94:3637-3642;\n"
        "NEST aeif_cond_exp.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(aeif_cond_exp)
{
    return &plugin;
}
