/* Larter-Breakspear model (Larter et al. 1999; Breakspear et al. 2003): a
 * Morris-Lecar-like pyramidal population with a slow inhibitory feedback,
 * in the form and with the defaults of The Virtual Brain's LarterBreakspear
 * model, so results can be put side by side with tvb-library. */
#include <math.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. The model is
 * normalised and dimensionless; its time unit is the engine's millisecond,
 * as in TVB. */
static const tb_param_info params[] = {
    {"gCa", 1.1, "", 0.0, INFINITY, "conductance of the Ca++ channels"},
    {"gK", 2.0, "", 0.0, INFINITY, "conductance of the K+ channels"},
    {"gL", 0.5, "", 0.0, INFINITY, "conductance of the leak channels"},
    {"phi", 0.7, "", 0.0, INFINITY, "temperature scaling factor"},
    {"gNa", 6.7, "", 0.0, INFINITY, "conductance of the Na+ channels"},
    {"TK", 0.0, "", -INFINITY, INFINITY, "threshold of the K+ channels"},
    {"TCa", -0.01, "", -INFINITY, INFINITY, "threshold of the Ca++ channels"},
    {"TNa", 0.3, "", -INFINITY, INFINITY, "threshold of the Na+ channels"},
    {"VCa", 1.0, "", -INFINITY, INFINITY, "Ca++ Nernst potential"},
    {"VK", -0.7, "", -INFINITY, INFINITY, "K+ Nernst potential"},
    {"VL", -0.5, "", -INFINITY, INFINITY, "Nernst potential of the leak channels"},
    {"VNa", 0.53, "", -INFINITY, INFINITY, "Na+ Nernst potential"},
    {"d_K", 0.3, "", TB_POSITIVE, INFINITY, "spread of the K+ channel thresholds"},
    {"tau_K", 1.0, "ms", TB_POSITIVE, INFINITY, "relaxation time of the K+ channels"},
    {"d_Na", 0.15, "", TB_POSITIVE, INFINITY, "spread of the Na+ channel thresholds"},
    {"d_Ca", 0.15, "", TB_POSITIVE, INFINITY, "spread of the Ca++ channel thresholds"},
    {"aei", 2.0, "", 0.0, INFINITY, "excitatory to inhibitory synaptic strength"},
    {"aie", 2.0, "", 0.0, INFINITY, "inhibitory to excitatory synaptic strength"},
    {"b", 0.1, "", 0.0, INFINITY, "time-scale factor of the inhibitory population"},
    {"C", 0.1, "", 0.0, 1.0,
     "share of the excitatory input that comes from other regions (1 - C from the region itself)"},
    {"ane", 1.0, "", 0.0, INFINITY, "non-specific to excitatory synaptic strength"},
    {"ani", 0.4, "", 0.0, INFINITY, "non-specific to inhibitory synaptic strength"},
    {"aee", 0.4, "", 0.0, INFINITY, "excitatory to excitatory synaptic strength"},
    {"Iext", 0.3, "", -INFINITY, INFINITY, "non-specific (subcortical) input"},
    {"rNMDA", 0.25, "", 0.0, INFINITY, "ratio of NMDA to AMPA receptors"},
    {"VT", 0.0, "", -INFINITY, INFINITY, "mean threshold of the excitatory cells"},
    {"d_V", 0.65, "", TB_POSITIVE, INFINITY,
     "spread of the excitatory thresholds (< 0.55 fixed point, to 0.59 limit cycle, above chaos)"},
    {"ZT", 0.0, "", -INFINITY, INFINITY, "mean threshold of the inhibitory cells"},
    {"d_Z", 0.7, "", TB_POSITIVE, INFINITY, "spread of the inhibitory thresholds"},
    {"QV_max", 1.0, "", 0.0, INFINITY, "maximum firing rate of the excitatory cells"},
    {"QZ_max", 1.0, "", 0.0, INFINITY, "maximum firing rate of the inhibitory cells"},
    {"t_scale", 1.0, "", TB_POSITIVE, INFINITY, "time scaling of the whole system"},
};

/* TVB's state_variable_range; the default initial value is its middle. */
static const tb_mass_var vars[] = {
    {"V", 0.0, -1.5, 1.5, -INFINITY, INFINITY, "", "mean membrane potential of the pyramidal cells"},
    {"W", 0.0, -1.5, 1.5, -INFINITY, INFINITY, "", "fraction of open K+ channels"},
    {"Z", 0.0, -1.5, 1.5, -INFINITY, INFINITY, "", "mean membrane potential of the inhibitory interneurons"},
};

static const char *const coupled[] = {"V"};

static const char helpers[] =
    "inline real larter_breakspear_act(real v, real threshold, real spread)\n"
    "{ return (real)0.5 * ((real)1 + tanh((v - threshold) / spread)); }\n";

/* c is the mean firing rate arriving from other regions (<Q_V> of Breakspear
 * 2003): hyperbolic_tangent coupling with a = QV_max / 2, midpoint = VT,
 * sigma = d_V turns each source's V into its Q_V. */
static const char dfun[] =
    "const real m_Ca = larter_breakspear_act(V, TCa, d_Ca);\n"
    "const real m_Na = larter_breakspear_act(V, TNa, d_Na);\n"
    "const real m_K = larter_breakspear_act(V, TK, d_K);\n"
    "const real QV = QV_max * larter_breakspear_act(V, VT, d_V);\n"
    "const real QZ = QZ_max * larter_breakspear_act(Z, ZT, d_Z);\n"
    "const real exc = ((real)1 - C) * QV + C * coupling[0];\n"
    "dV = t_scale * (-(gCa + rNMDA * aee * exc) * m_Ca * (V - VCa)\n"
    "                - gK * W * (V - VK)\n"
    "                - gL * (V - VL)\n"
    "                - (gNa * m_Na + aee * exc) * (V - VNa)\n"
    "                - aie * Z * QZ\n"
    "                + ane * Iext);\n"
    "dW = t_scale * phi * (m_K - W) / tau_K;\n"
    "dZ = t_scale * b * (ani * Iext + aei * V * QV);\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = sizeof coupled / sizeof coupled[0],
    .coupled = coupled,
    .dfun = dfun,
    .helpers = helpers,
    .default_coupling = "hyperbolic_tangent",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "larter_breakspear",
    .version = "1.0",
    .summary = "Larter-Breakspear: Morris-Lecar-like pyramidal cells with inhibitory feedback",
    .doc =
        "Three state variables V, W, Z (all derivatives multiplied by t_scale):\n"
        "  V' = -(gCa + rNMDA aee E) m_Ca (V - VCa) - gK W (V - VK) - gL (V - VL)\n"
        "       - (gNa m_Na + aee E) (V - VNa) - aie Z Q_Z + ane Iext,   E = (1 - C) Q_V + C c\n"
        "  W' = phi (m_K - W) / tau_K\n"
        "  Z' = b (ani Iext + aei V Q_V)\n"
        "  m_X = (1 + tanh((V - TX) / d_X)) / 2 for X = Ca, Na, K\n"
        "  Q_V = QV_max (1 + tanh((V - VT) / d_V)) / 2,  Q_Z = QZ_max (1 + tanh((Z - ZT) / d_Z)) / 2\n"
        "c is the long-range coupling (channel 0, from V), meant to be <Q_V>, the mean firing rate of\n"
        "the regions projecting here. The default hyperbolic_tangent coupling computes\n"
        "sum_j w_ij a (1 + tanh((b V_j - midpoint) / sigma)): with a = QV_max / 2 = 0.5, b = 1,\n"
        "midpoint = VT = 0, sigma = d_V = 0.65 and weights normalised so that each row sums to 1, c is\n"
        "exactly <Q_V>. (TVB's simulator would use linear coupling on V unless told otherwise.)\n"
        "References: Larter R. et al. (1999) Chaos 9:795-804; Breakspear M., Terry J.R., Friston K.J.\n"
        "(2003) Network 14:703-732; Honey C.J. et al. (2007) PNAS 104:10240-10245; defaults as in\n"
        "The Virtual Brain (tvb-library, models.LarterBreakspear).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(larter_breakspear)
{
    return &plugin;
}
