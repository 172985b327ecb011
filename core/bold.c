/* The Balloon-Windkessel model's constants, their check, and its
 * integration on the host (see bold.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "bold.h"
#include "util.h"

const tb_param_info tb_bold_param_info[TB_BOLD_N_PARAMS] = {
    {"kappa", 0.65, "1/s", 0.0, INFINITY, "rate of signal decay"},
    {"gamma", 0.41, "1/s", 0.0, INFINITY, "rate of flow-dependent elimination"},
    {"tau", 0.98, "s", TB_POSITIVE, INFINITY, "haemodynamic transit time"},
    {"alpha", 0.32, "", TB_POSITIVE, INFINITY, "Grubb's vessel stiffness exponent"},
    {"E0", 0.34, "", TB_POSITIVE, 1.0, "resting oxygen extraction fraction"},
    {"V0", 0.02, "", 0.0, INFINITY, "resting blood volume fraction"},
    {"k1", 2.38, "", -INFINITY, INFINITY, "intravascular coefficient (default 7 E0)"},
    {"k2", 2.0, "", -INFINITY, INFINITY, "concentration coefficient"},
    {"k3", 0.48, "", -INFINITY, INFINITY, "extravascular coefficient (default 2 E0 - 0.2)"},
    {"scale", 1.0, "", -INFINITY, INFINITY, "factor applied to the activity before it drives the balloon"},
};

void tb_bold_check(tb_schema_checker *c, tb_toml_value *t, const char *prefix, double default_scale,
                   tb_bold_params *out)
{
    tb_toml_value *p = tb_schema_ensure_table(t, "parameters");
    if (!p)
        return;
    /* k1 and k3 default from E0, so fill them in before the generic check
     * (from a valid E0 only: a wrong one is reported there, not spread) */
    double E0 = tb_bold_param_info[4].value, given;
    if (tb_toml_as_double(tb_toml_get(p, "E0"), &given) && given > 0 && given <= tb_bold_param_info[4].max)
        E0 = given;
    if (!tb_toml_get(p, "k1"))
        tb_toml_table_set(p, "k1", tb_toml_new_float(7.0 * E0));
    if (!tb_toml_get(p, "k3"))
        tb_toml_table_set(p, "k3", tb_toml_new_float(2.0 * E0 - 0.2));
    if (!tb_toml_get(p, "scale"))
        tb_toml_table_set(p, "scale", tb_toml_new_float(default_scale));
    char *where_ = tb_asprintf("%s.parameters", prefix);
    tb_scenario_value *v = tb_schema_params(c, p, tb_bold_param_info, TB_BOLD_N_PARAMS, where_);
    free(where_);
    double *dst[] = {&out->kappa, &out->gamma, &out->tau, &out->alpha, &out->E0,
                     &out->V0,    &out->k1,    &out->k2,  &out->k3,    &out->scale};
    for (size_t i = 0; v && i < TB_BOLD_N_PARAMS; ++i) {
        if (v[i].is_array)
            tb_schema_report(c, TB_ERR_SCENARIO, v[i].pos, "%s.parameters.%s must be one number", prefix, v[i].name);
        *dst[i] = v[i].scalar;
        free(v[i].name);
        free(v[i].values);
    }
    free(v);
}

void tb_bold_rest(double st[4])
{
    st[0] = 0, st[1] = st[2] = st[3] = 1;
}

void tb_bold_step(const tb_bold_params *p, double h, double z, double st[4])
{
    double s = st[0], f = st[1], v = st[2], q = st[3];
    double iv = exp(log(v) * (1.0 / p->alpha));
    double dq = (f * (1.0 - exp(log(1.0 - p->E0) / f)) / p->E0 - iv * q / v) / p->tau;
    st[0] = s + h * (p->scale * z - p->kappa * s - p->gamma * (f - 1.0));
    st[1] = f + h * s;
    st[2] = v + h * (f - iv) / p->tau;
    st[3] = q + h * dq;
}

double tb_bold_signal(const tb_bold_params *p, const double st[4])
{
    double v = st[2], q = st[3];
    return p->V0 * (p->k1 * (1.0 - q) + p->k2 * (1.0 - q / v) + p->k3 * (1.0 - v));
}
