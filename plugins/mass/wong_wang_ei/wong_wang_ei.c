/* Wong-Wang model with an excitatory and an inhibitory population (Deco et
 * al. 2014), in the form and with the defaults of The Virtual Brain's
 * ReducedWongWangExcInh model, so results can be put side by side with
 * tvb-library. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "twinbrain/mass.h"

/* Ranges are validity limits (what the equations accept), not TVB's
 * exploration ranges: a scenario outside them is refused. The rates H are
 * in Hz (a, b, d in the paper's units); gamma carries the 1/1000 that
 * turns them into per-ms increments. */
static const tb_param_info params[] = {
    {"a_e", 310.0, "1/nC", 0.0, INFINITY, "input gain of the excitatory transfer function"},
    {"b_e", 125.0, "Hz", -INFINITY, INFINITY, "input shift of the excitatory transfer function"},
    {"d_e", 0.160, "s", TB_POSITIVE, INFINITY, "curvature of the excitatory transfer function"},
    {"gamma_e", 0.641 / 1000, "", 0.0, INFINITY, "kinetic parameter of the excitatory gating (per ms and Hz)"},
    {"tau_e", 100.0, "ms", TB_POSITIVE, INFINITY, "NMDA decay time constant of the excitatory population"},
    {"w_p", 1.4, "", 0.0, INFINITY, "excitatory recurrence weight"},
    {"J_N", 0.15, "nA", 0.0, INFINITY, "NMDA synaptic coupling"},
    {"W_e", 1.0, "", 0.0, INFINITY, "scaling of the external input to the excitatory population"},
    {"a_i", 615.0, "1/nC", 0.0, INFINITY, "input gain of the inhibitory transfer function"},
    {"b_i", 177.0, "Hz", -INFINITY, INFINITY, "input shift of the inhibitory transfer function"},
    {"d_i", 0.087, "s", TB_POSITIVE, INFINITY, "curvature of the inhibitory transfer function"},
    {"gamma_i", 1.0 / 1000, "", 0.0, INFINITY, "kinetic parameter of the inhibitory gating (per ms and Hz)"},
    {"tau_i", 10.0, "ms", TB_POSITIVE, INFINITY, "GABA decay time constant of the inhibitory population"},
    {"J_i", 1.0, "nA", 0.0, INFINITY,
     "local feedback inhibition (per region under feedback inhibition control, Deco 2014)"},
    {"W_i", 0.7, "", 0.0, INFINITY, "scaling of the external input to the inhibitory population"},
    {"I_o", 0.382, "nA", -INFINITY, INFINITY, "effective external input"},
    {"I_ext", 0.0, "nA", -INFINITY, INFINITY, "external stimulus to the excitatory population"},
    {"G", 2.0, "", 0.0, INFINITY, "global coupling scaling"},
    {"lamda", 0.0, "", 0.0, INFINITY,
     "share of the long-range input that also reaches the inhibitory population (TVB's spelling of lambda)"},
    {"fic", 0.0, "", 0.0, 1.0,
     "1: feedback inhibition control, J_i set per region and instance so that the excitatory rate "
     "of the fixed point is fic_rate (Deco 2014); 0: J_i as given"},
    {"fic_rate", 3.0, "Hz", TB_POSITIVE, INFINITY, "the excitatory rate feedback inhibition control aims at"},
};

/* Indices of the parameters the feedback inhibition control reads. */
enum { A_E, B_E, D_E, GAMMA_E, TAU_E, W_P, J_N, W_E, A_I, B_I, D_I, GAMMA_I, TAU_I, J_I, W_I, I_O, I_EXT, G, LAMDA,
       FIC, FIC_RATE };

/* The rate function H(x) = u / (1 - exp(-d u)), u = a x - b (Hz). */
static double rate(double u, double d)
{
    double z = d * u;
    return fabs(z) < 1e-6 ? (1.0 + 0.5 * z) / d : u / -expm1(-z);
}

/* u with rate(u, d) = r: rate is increasing in u, so bisect. */
static double rate_inverse(double r, double d)
{
    double lo = -1e6, hi = 1e6;
    for (int i = 0; i < 200; ++i) {
        double mid = 0.5 * (lo + hi);
        if (rate(mid, d) < r)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Feedback inhibition control (Deco et al. 2014): choose J_i per region so
 * that at the model's fixed point every excitatory population fires at
 * fic_rate. Deco et al. reach it by iterating simulations; at the fixed
 * point the equations can be solved directly:
 *   S_e = g_e tau_e r / (1 + g_e tau_e r)               (dS_e = 0 at H_e = r)
 *   x_e = (H_e^-1(r) + b_e) / a_e
 *   c   = a S_e sum_j w_ij + b   (linear coupling, every S_e,j at the same fixed point)
 *   S_i solves S_i = tau_i g_i H_i(J_N S_e - S_i + W_i I_o + lamda G J_N c)  (dS_i = 0)
 *   J_i = (w_p J_N S_e + W_e I_o + G J_N c + I_ext - x_e) / S_i.
 * A test checks that a noiseless run settles there. */
static tb_status fic_prepare(tb_mass_prepare *ctx)
{
    size_t B = ctx->n_instances, N = ctx->n_regions;
    bool any = false;
    for (size_t b = 0; b < B; ++b)
        for (size_t n = 0; n < N; ++n)
            any |= ctx->param(ctx, FIC, b, n) != 0.0;
    if (!any)
        return TB_OK;
    if (strcmp(ctx->coupling, "linear") != 0)
        return tb_error_set(ctx->err, TB_ERR_SCENARIO,
                            "feedback inhibition control (fic = 1) needs linear coupling, not %s", ctx->coupling);
    double *ji = malloc(B * N * sizeof *ji);
    if (!ji)
        return tb_error_set(ctx->err, TB_ERR_OTHER, "out of memory");
    tb_status st = TB_OK;
    for (size_t b = 0; b < B && st == TB_OK; ++b)
        for (size_t n = 0; n < N && st == TB_OK; ++n) {
#define P(i) ctx->param(ctx, (i), b, n)
            if (P(FIC) == 0.0) {
                ji[b * N + n] = P(J_I);
                continue;
            }
            double ca = ctx->coupling_param(ctx, "a", b), cb = ctx->coupling_param(ctx, "b", b);
            double r = P(FIC_RATE), k = P(GAMMA_E) * P(TAU_E) * r;
            double se = k / (1.0 + k);
            double xe = (rate_inverse(r, P(D_E)) + P(B_E)) / P(A_E);
            double c = ca * se * ctx->in_strength[n] + cb;
            double lr = P(G) * P(J_N) * c;
            double lo = 0.0, hi = 1.0; /* dS_i = 0: the root of an increasing function of S_i */
            for (int i = 0; i < 200; ++i) {
                double si = 0.5 * (lo + hi);
                double xi = P(J_N) * se - si + P(W_I) * P(I_O) + P(LAMDA) * lr;
                if (si - P(TAU_I) * P(GAMMA_I) * rate(P(A_I) * xi - P(B_I), P(D_I)) < 0)
                    lo = si;
                else
                    hi = si;
            }
            double si = 0.5 * (lo + hi);
            double j = (P(W_P) * P(J_N) * se + P(W_E) * P(I_O) + lr + P(I_EXT) - xe) / si;
            if (!(j >= 0.0) || !isfinite(j))
                st = tb_error_set(ctx->err, TB_ERR_SCENARIO,
                                  "feedback inhibition control cannot hold region '%s'%s at %g Hz: it would need "
                                  "J_i = %g (the long-range input is too weak to need inhibition); lower fic_rate "
                                  "or raise G",
                                  ctx->labels[n], B > 1 ? " in some instance" : "", r, j);
            ji[b * N + n] = j;
#undef P
        }
    if (st == TB_OK)
        st = ctx->set_param(ctx, J_I, ji);
    free(ji);
    return st;
}

/* TVB's state_variable_range and state_variable_boundaries. */
static const tb_mass_var vars[] = {
    {"S_e", 0.5, 0.0, 1.0, 0.0, 1.0, "", "NMDA gating of the excitatory population"},
    {"S_i", 0.5, 0.0, 1.0, 0.0, 1.0, "", "GABA gating of the inhibitory population"},
};

static const char *const coupled[] = {"S_e"};

/* u / (1 - exp(-d u)) with its removable singularity at u = 0 handled: see
 * reduced_wong_wang. */
static const char helpers[] =
    "inline real wong_wang_ei_rate(real u, real d)\n"
    "{\n"
    "    /* selected, not branched: the same code runs on vector lanes */\n"
    "    const real z = d * u;\n"
    "    const real near0 = ((real)1 + (real)0.5 * z) / d;\n"
    "    return fabs(z) < (real)1e-6 ? near0 : u / -expm1(-z);\n"
    "}\n";

static const char dfun[] =
    "const real lr = G * J_N * coupling[0];\n"
    "const real x_e = w_p * J_N * S_e - J_i * S_i + W_e * I_o + lr + I_ext;\n"
    "const real x_i = J_N * S_e - S_i + W_i * I_o + lamda * lr;\n"
    "const real H_e = wong_wang_ei_rate(a_e * x_e - b_e, d_e);\n"
    "const real H_i = wong_wang_ei_rate(a_i * x_i - b_i, d_i);\n"
    "dS_e = -S_e / tau_e + ((real)1 - S_e) * H_e * gamma_e;\n"
    "dS_i = -S_i / tau_i + H_i * gamma_i;\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = sizeof vars / sizeof vars[0],
    .vars = vars,
    .n_coupled = sizeof coupled / sizeof coupled[0],
    .coupled = coupled,
    .dfun = dfun,
    .helpers = helpers,
    .default_coupling = "linear",
    .prepare = fic_prepare,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "wong_wang_ei",
    .version = "1.0",
    .summary = "Wong-Wang excitatory and inhibitory populations (Deco 2014)",
    .doc =
        "Two state variables, the gatings S_e and S_i in [0, 1] (clamped there after every stage):\n"
        "  x_e = w_p J_N S_e - J_i S_i + W_e I_o + G J_N c + I_ext\n"
        "  x_i = J_N S_e - S_i + W_i I_o + lamda G J_N c\n"
        "  H_p = (a_p x_p - b_p) / (1 - exp(-d_p (a_p x_p - b_p)))      [Hz], p = e, i\n"
        "  S_e' = -S_e / tau_e + (1 - S_e) gamma_e H_e\n"
        "  S_i' = -S_i / tau_i + gamma_i H_i\n"
        "c is the long-range coupling (channel 0, from S_e); use linear coupling with a = 1 and set\n"
        "the global coupling with G, as Deco et al. do. J_i may be given per region, or set by\n"
        "feedback inhibition control (fic = 1): per region and instance, so that the fixed point's\n"
        "excitatory rate is fic_rate (3 Hz), solved directly at the fixed point (Deco 2014 iterate\n"
        "simulations to the same point); it needs linear coupling. H is evaluated as u / -expm1(-d u) (1/d at u = 0), the same function\n"
        "with full precision near its removable singularity.\n"
        "References: Wong K.-F., Wang X.-J. (2006) J. Neurosci. 26:1314-1328; Deco G. et al. (2014)\n"
        "J. Neurosci. 34:7886-7898; defaults as in The Virtual Brain (tvb-library,\n"
        "models.ReducedWongWangExcInh).",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(wong_wang_ei)
{
    return &plugin;
}
