/* A plugin whose prepare hook fails without a message (parameter fail =
 * 1), or with a status that is no exit status (fail = 2): the run must
 * still say which model and hook failed. */
#include "twinbrain/mass.h"

static const tb_mass_var vars[] = {{"x", 0.5, -1, 1, -INFINITY, INFINITY, "", "state"}};
static const char *const coupled[] = {"x"};
static const tb_param_info params[] = {{.name = "fail", .value = 1.0, .unit = "", .min = 0.0, .max = 2.0,
                                        .doc = "how the hook fails", .type = TB_PARAM_REAL}};

static tb_status prepare(tb_mass_prepare *ctx)
{
    return ctx->param(ctx, 0, 0, 0) == 2.0 ? (tb_status)42 : TB_ERR_INPUT;
}

static const tb_mass_model model = {
    .head = TB_MASS_TABLE_HEADER,
    .n_vars = 1, .vars = vars, .n_coupled = 1, .coupled = coupled,
    .dfun = "dx = -x * fail + coupling[0];",
    .prepare = prepare,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_MASS_KIND,
    .name = "bad_prepare",
    .version = "0",
    .summary = "a prepare hook that fails without a message",
    .n_params = 1,
    .params = params,
    .table = &model,
};

TB_PLUGIN_EXPORT(bad_prepare)
{
    return &plugin;
}
