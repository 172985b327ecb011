/* A plugin that claims a future ABI: the loader must refuse it, name this
 * file and both versions, and still load every other plugin. */
#include "twinbrain/mass.h"

static const tb_mass_var vars[] = {{"x", 0, -1, 1, -INFINITY, INFINITY, "", "state"}};
static const char *const coupled[] = {"x"};
static const tb_mass_model model = {TB_MASS_TABLE_HEADER, 1, vars, 1, coupled, "dx = -x;", NULL, NULL, NULL, NULL,
                                    NULL, {0}};

static const tb_plugin plugin = {
    TB_PLUGIN_ABI_VERSION + 1, sizeof(tb_plugin), TB_MASS_KIND, "bad_abi", "0", "built for another ABI",
    NULL, NULL, 0, &model, {0},
};

TB_PLUGIN_EXPORT(bad_abi)
{
    (void)core;
    return &plugin;
}
