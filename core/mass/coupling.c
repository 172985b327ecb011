#include "config.h"

#include <math.h>
#include <string.h>

#include "coupling.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const tb_param_info linear_p[] = {
    {"a", 0.00390625, "", -INFINITY, INFINITY, "gain (TVB default 1/256)"},
    {"b", 0.0, "", -INFINITY, INFINITY, "offset"},
};
static const tb_param_info scaling_p[] = {
    {"a", 0.00390625, "", -INFINITY, INFINITY, "gain (TVB default 1/256)"},
};
static const tb_param_info sigmoidal_p[] = {
    {"cmin", -1.0, "", -INFINITY, INFINITY, "lower asymptote"},
    {"cmax", 1.0, "", -INFINITY, INFINITY, "upper asymptote"},
    {"midpoint", 0.0, "", -INFINITY, INFINITY, "sum at the sigmoid's midpoint"},
    {"a", 1.0, "", -INFINITY, INFINITY, "steepness"},
    {"sigma", 230.0, "", 0.0, INFINITY, "scale of the sum"},
};
static const tb_param_info sjr_p[] = {
    {"cmin", 0.0, "1/ms", -INFINITY, INFINITY, "lower asymptote of the source's firing rate"},
    {"cmax", 0.005, "1/ms", -INFINITY, INFINITY, "upper asymptote (2 e0)"},
    {"midpoint", 6.0, "mV", -INFINITY, INFINITY, "potential at half the maximum rate"},
    {"r", 0.56, "1/mV", -INFINITY, INFINITY, "steepness"},
    {"a", 1.0, "", -INFINITY, INFINITY, "global gain applied after summation"},
};
static const tb_param_info difference_p[] = {
    {"a", 0.1, "", -INFINITY, INFINITY, "gain"},
};
static const tb_param_info tanh_p[] = {
    {"a", 1.0, "", -INFINITY, INFINITY, "half the amplitude: the source term lies in [0, 2a]"},
    {"b", 1.0, "", -INFINITY, INFINITY, "scale of the source variable"},
    {"midpoint", 0.0, "", -INFINITY, INFINITY, "value of b x_j at the sigmoid's midpoint"},
    {"sigma", 1.0, "", TB_POSITIVE, INFINITY, "width of the sigmoid"},
};
static const tb_param_info kuramoto_p[] = {
    {"a", 1.0, "", -INFINITY, INFINITY, "gain; the sum is also divided by the number of regions"},
};

static const tb_coupling_def defs[] = {
    {"linear", "a * sum_j w_ij x_j + b", linear_p, N_(linear_p), 0, NULL, "h", "cp_a * sum + cp_b", NULL, 0, 0},
    {"scaling", "a * sum_j w_ij x_j", scaling_p, N_(scaling_p), 0, NULL, "h", "cp_a * sum", NULL, 0, 0},
    {"sigmoidal", "cmin + (cmax - cmin) / (1 + exp(-a ((sum - midpoint) / sigma)))", sigmoidal_p,
     N_(sigmoidal_p), 0, NULL, "h",
     "cp_cmin + (cp_cmax - cp_cmin) / (1.0 + exp(-cp_a * ((sum - cp_midpoint) / cp_sigma)))", NULL, 0, 0},
    {"sigmoidal_jansen_rit",
     "a * sum_j w_ij (cmin + (cmax - cmin) / (1 + exp(r (midpoint - (x_j[0] - x_j[1])))))", sjr_p,
     N_(sjr_p), 1, "cp_cmin + (cp_cmax - cp_cmin) / (1.0 + exp(cp_r * (cp_midpoint - (cv[0] - cv[1]))))", "h",
     "cp_a * sum", NULL, 0, 2},
    {"difference", "a * sum_j w_ij (x_j - x_i)", difference_p, N_(difference_p), 0, NULL, "(h - xi)",
     "cp_a * sum", NULL, 0, 0},
    /* TVB's HyperbolicTangent: a firing rate from each source's potential
     * (Larter-Breakspear's Q_V with a = QV_max / 2, midpoint = VT, sigma = d_V);
     * no post-summation scaling, as in TVB. The rate depends on the source
     * alone, so it enters the history once per source and step. */
    {"hyperbolic_tangent", "sum_j w_ij a (1 + tanh((b x_j - midpoint) / sigma))", tanh_p, N_(tanh_p), 0,
     "cp_a * (1.0 + tanh((cp_b * cv[k] - cp_midpoint) / cp_sigma))", "h", "sum", NULL, 0, 0},
    /* sin(x_j - x_i) = sin x_j cos x_i - cos x_j sin x_i: the history keeps
     * sin and cos of each source's phase (two channels), so an edge costs two
     * multiply-adds instead of a sine. */
    {"kuramoto", "(a / N) * sum_j w_ij sin(x_j - x_i)", kuramoto_p, N_(kuramoto_p), 2,
     "(k == 0 ? sin(cv[0]) : cos(cv[0]))", "h", NULL,
     "c[0] = cp_a / (real)n_regions * (sums[0] * cos(xi[0]) - sums[1] * sin(xi[0]));\n    c[1] = (real)0;", 1, 1},
};

size_t tb_coupling_count(void) { return N_(defs); }
const tb_coupling_def *tb_coupling_at(size_t i) { return &defs[i]; }

const tb_coupling_def *tb_coupling_find(const char *name)
{
    for (size_t i = 0; i < N_(defs); ++i)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}
