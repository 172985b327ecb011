/* A plugin whose snippet assigns dx on one branch only: the static check
 * cannot see that, so the unassigned derivative must be NaN (the run stops
 * as diverged, naming x), never whatever the register held. */
#include "twinbrain/mass.h"

static const tb_mass_var vars[] = {{"x", 0.5, -1, 1, -INFINITY, INFINITY, "", "state"}};
static const char *const coupled[] = {"x"};
static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = 1, .vars = vars, .n_coupled = 1, .coupled = coupled,
    .dfun = "if (t < 1.0)\n    dx = -x;\n",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "branch_derivative",
    .version = "0",
    .summary = "a snippet that assigns dx for t < 1 ms only",
    .table = &model,
};

TB_PLUGIN_EXPORT(branch_derivative)
{
    return &plugin;
}
