/* A plugin whose default coupling function does not exist: a scenario
 * that names no coupling.function must say so about the model (exit 4),
 * not blame the command line. */
#include "twinbrain/mass.h"

static const tb_mass_var vars[] = {{"x", 0.5, -1, 1, -INFINITY, INFINITY, "", "state"}};
static const char *const coupled[] = {"x"};
static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = 1, .vars = vars, .n_coupled = 1, .coupled = coupled,
    .dfun = "dx = -x + coupling[0];",
    .default_coupling = "no_such_coupling",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "bad_coupling",
    .version = "0",
    .summary = "a default coupling function twinbrain does not have",
    .table = &model,
};

TB_PLUGIN_EXPORT(bad_coupling)
{
    return &plugin;
}
