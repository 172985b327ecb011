/* A neural-mass model plugin, built outside the twinbrain tree.
 *
 * FitzHugh-Nagumo units (FitzHugh 1961; Nagumo et al. 1962), a common
 * two-variable caricature of an excitable population, coupled through v:
 *
 *   v' = (v - v^3 / 3 - w + I + c) / tau
 *   w' = (v + a - b w) / (tau * eps)
 *
 * Copy this folder, rename this file and MODULE below (the two must match:
 * libltdl looks for <file stem>_LTX_tb_plugin_entry), and change the four
 * tables. README.md lists every rename; docs/plugins.md walks through every
 * field. */
#include <math.h>

#include <twinbrain/mass.h>

/* The module name, the only place it is written in this file: the file
 * must be MODULE.c (MODULE.so), and scenarios say plugin = "MODULE". */
#define MODULE my_model

#define STRING_(x) #x
#define STRING(x) STRING_(x) /* two steps, so that MODULE is expanded first */

/* 1. Parameters: name, default, unit, allowed range, meaning. A scenario may
 *    set any of them to one number or to one number per region. A value
 *    the equations divide by takes TB_POSITIVE as its minimum ("> 0"):
 *    0.0 would let a scenario set it to zero. */
static const tb_param_info params[] = {
    {"I", 0.5, "", -INFINITY, INFINITY, "constant drive"},
    {"a", 0.7, "", -INFINITY, INFINITY, "recovery offset"},
    {"b", 0.8, "", 0.0, INFINITY, "recovery feedback"},
    {"eps", 12.5, "", TB_POSITIVE, INFINITY, "ratio of the recovery to the fast time scale"},
    {"tau", 1.0, "ms", TB_POSITIVE, INFINITY, "fast time scale"},
};

/* 2. State variables: name, initial value, range for drawn initial values,
 *    hard bounds (here none), unit, meaning. */
static const tb_mass_var vars[] = {
    {"v", 0.0, -2.0, 2.0, -INFINITY, INFINITY, "", "fast, voltage-like variable"},
    {"w", 0.0, -1.0, 1.5, -INFINITY, INFINITY, "", "slow recovery variable"},
};

/* 3. Which variables other regions see through the connectome. */
static const char *const coupled[] = {"v"};

/* 4. The derivative, in OpenCL C: variables and parameters by name,
 *    coupling[0] is the long-range input; assign d<variable> for every
 *    variable (one never assigned is refused, naming it). */
static const char dfun[] =
    "dv = (v - v * v * v / 3.0 - w + I + coupling[0]) / tau;\n"
    "dw = (v + a - b * w) / (tau * eps);\n";

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = 2,
    .vars = vars,
    .n_coupled = 1,
    .coupled = coupled,
    .dfun = dfun,
    .default_coupling = "linear",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER, /* ABI version and descriptor size: the loader checks them first */
    .kind = TB_MASS_KIND,
    .name = STRING(MODULE),
    .version = "1.0",
    .summary = "FitzHugh-Nagumo units coupled through v (plugin template)",
    .doc = "v' = (v - v^3/3 - w + I + c) / tau;  w' = (v + a - b w) / (tau eps).\n"
           "FitzHugh R. (1961) Biophys. J. 1:445; Nagumo J. et al. (1962) Proc. IRE 50:2061.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &model,
};

TB_PLUGIN_EXPORT(MODULE)
{
    (void)core; /* the core's services (docs/plugins.md), for plugins that own device work */
    return &plugin;
}
