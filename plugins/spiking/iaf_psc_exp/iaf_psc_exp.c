/* Leaky integrate-and-fire neuron with exponential synaptic currents,
 * integrated exactly (Rotter & Diesmann 1999) with NEST's propagators and
 * NEST's update order, so that results can be put next to NEST's
 * iaf_psc_exp. Defaults are NEST's. */
#include <math.h>

#include "twinbrain/spiking.h"

static const tb_param_info params[] = {
    {"E_L", -70.0, "mV", -INFINITY, INFINITY, "resting membrane potential"},
    {"C_m", 250.0, "pF", TB_POSITIVE, INFINITY, "membrane capacitance"},
    {"tau_m", 10.0, "ms", TB_POSITIVE, INFINITY, "membrane time constant"},
    {"t_ref", 2.0, "ms", 0.0, INFINITY, "refractory period (rounded to steps)"},
    {"V_th", -55.0, "mV", -INFINITY, INFINITY, "spike threshold"},
    {"V_reset", -70.0, "mV", -INFINITY, INFINITY, "membrane potential after a spike"},
    {"tau_syn_ex", 2.0, "ms", TB_POSITIVE, INFINITY, "decay time of the excitatory synaptic current"},
    {"tau_syn_in", 2.0, "ms", TB_POSITIVE, INFINITY, "decay time of the inhibitory synaptic current"},
    {"I_e", 0.0, "pA", -INFINITY, INFINITY, "constant external current"},
};

static const tb_spiking_var vars[] = {
    {"V_m", -70.0, "mV", "membrane potential"},
    {"I_syn_ex", 0.0, "pA", "excitatory synaptic current"},
    {"I_syn_in", 0.0, "pA", "inhibitory synaptic current"},
};

static const tb_spiking_port ports[] = {
    {"ex", "pA", "excitatory: a spike of weight w adds w to I_syn_ex"},
    {"in", "pA", "inhibitory: a spike of weight w (negative) adds w to I_syn_in"},
};

static const char *const consts[] = {"P22", "P20", "P11ex", "P11in", "P21ex", "P21in"};

/* P21 = exp(-h/tau_m) expm1(h a) / (a C) with a = 1/tau_m - 1/tau_s: the
 * propagator of the reference sheet rewritten so that tau_m -> tau_s needs
 * no special case (expm1(h a)/a -> h, NEST's singular limit h/C exp(-h/tau_m)). */
static const char helpers[] =
    "inline real iaf_psc_exp_p21(real h, real tau_m, real tau_s, real C)\n"
    "{\n"
    "    const real a = (real)1 / tau_m - (real)1 / tau_s;\n"
    "    const real f = a == (real)0 ? h : expm1(h * a) / a;\n"
    "    return exp(-h / tau_m) * f / C;\n"
    "}\n";

/* P20 as NEST forms it in double precision (so its bits are NEST's); in
 * single precision 1 - P22 would keep only ~5 digits, expm1 keeps them all. */
static const char prepare[] =
    "P22 = exp(-dt / tau_m);\n"
    "P20 = sizeof(real) == 8 ? tau_m / C_m * ((real)1 - P22) : -tau_m / C_m * expm1(-dt / tau_m);\n"
    "P11ex = exp(-dt / tau_syn_ex);\n"
    "P11in = exp(-dt / tau_syn_in);\n"
    "P21ex = iaf_psc_exp_p21(dt, tau_m, tau_syn_ex, C_m);\n"
    "P21in = iaf_psc_exp_p21(dt, tau_m, tau_syn_in, C_m);\n";

/* NEST's order: the membrane sees the currents of the previous step, then
 * the currents decay and take this step's spikes. NEST holds V_m - E_L;
 * summing the terms in its order before adding E_L back (and NEST's P20)
 * keeps the traces within ~1e-13 mV of NEST's (tests/spiking-nest.py). */
static const char update[] =
    "if (!refractory)\n"
    "    V_m = E_L + (P22 * (V_m - E_L) + P21ex * I_syn_ex + P21in * I_syn_in + P20 * (I_e + I_ext));\n"
    "I_syn_ex = P11ex * I_syn_ex + in_ex;\n"
    "I_syn_in = P11in * I_syn_in + in_in;\n";

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
    .helpers = helpers,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_SPIKING_KIND,
    .name = "iaf_psc_exp",
    .version = "1.0",
    .summary = "leaky integrate-and-fire, exponential synaptic currents, exact integration (NEST iaf_psc_exp)",
    .doc =
        "  C_m dV_m/dt = -(C_m / tau_m) (V_m - E_L) + I_syn_ex + I_syn_in + I_e + I_ext\n"
        "  dI_syn_x/dt = -I_syn_x / tau_syn_x, a spike of weight w adds w (pA) to I_syn_x\n"
        "Exact integration over each step h (Rotter & Diesmann 1999), propagators\n"
        "  P22 = exp(-h/tau_m), P11x = exp(-h/tau_syn_x), P20 = tau_m/C_m (1 - P22),\n"
        "  P21x = exp(-h/tau_m) expm1(h (1/tau_m - 1/tau_syn_x)) / ((1/tau_m - 1/tau_syn_x) C_m)\n"
        "(h/C_m exp(-h/tau_m) when the time constants are equal). Order in a step (NEST's):\n"
        "V_m advances with the currents of the previous step (held at V_reset while refractory),\n"
        "the currents decay and take the spikes arriving in the step, then V_m >= V_th fires a\n"
        "spike stamped at the end of the step, V_m = V_reset and round(t_ref / h) refractory\n"
        "steps follow. I_ext (pA) is the DC and noise input of the step.\n"
        "References: Rotter S., Diesmann M. (1999) Biol. Cybern. 81:381-402; NEST iaf_psc_exp.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(iaf_psc_exp)
{
    return &plugin;
}
