/* A plugin whose OpenCL snippet does not compile: the run must stop with
 * exit status 3 and show the device's build log. */
#include "twinbrain/mass.h"

static const tb_mass_var vars[] = {{"x", 0.5, -1, 1, -INFINITY, INFINITY, "", "state"}};
static const char *const coupled[] = {"x"};
static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = 1, .vars = vars, .n_coupled = 1, .coupled = coupled,
    .dfun = "dx = -x * undefined_identifier_in_bad_kernel;",
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "bad_kernel",
    .version = "0",
    .summary = "a snippet that does not compile",
    .table = &model,
};

TB_PLUGIN_EXPORT(bad_kernel)
{
    return &plugin;
}
