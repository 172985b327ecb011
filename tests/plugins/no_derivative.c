/* A plugin whose snippet never assigns dx (only dxy, a longer name, and dx
 * in comments): the run must stop before compiling, with exit status 3 and
 * a message naming the model and dx, instead of integrating garbage. */
#include "twinbrain/mass.h"

static const tb_mass_var vars[] = {
    {"x", 0.5, -1, 1, -INFINITY, INFINITY, "", "state"},
    {"xy", 0.5, -1, 1, -INFINITY, INFINITY, "", "state"},
};
static const char *const coupled[] = {"x"};
static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = 2, .vars = vars, .n_coupled = 1, .coupled = coupled,
    .dfun = "/* dx = -x; was meant here */\n"
            "dxy = -xy + 0 * dx; // dx = -x as well\n",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "no_derivative",
    .version = "0",
    .summary = "a snippet that never assigns dx",
    .table = &model,
};

TB_PLUGIN_EXPORT(no_derivative)
{
    return &plugin;
}
