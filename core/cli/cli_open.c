/* Opening the devices a command runs on, with the program options
 * (--kernels, --no-compile) and a profile on each when asked. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"
#include "twinbrain/scenario.h"
#include "util.h"

tb_status tb_cli_devs_open(tb_cli_devs *d, const char *selector, bool need_fp64, const tb_program_options *po,
                           bool profile, tb_error *err)
{
    size_t *chosen = NULL;
    tb_status st = tb_device_list(&d->list, &d->n_list, err);
    if (st == TB_OK)
        st = tb_device_select_many(d->list, d->n_list, selector, need_fp64, &chosen, &d->n, err);
    if (st == TB_OK) {
        d->dev = calloc(d->n, sizeof *d->dev);
        d->prof = calloc(d->n, sizeof *d->prof);
        if (!d->dev || !d->prof)
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    for (size_t k = 0; st == TB_OK && k < d->n; ++k) {
        st = tb_device_open(&d->list[chosen[k]], &d->dev[k], err);
        if (st == TB_OK && po)
            st = tb_device_set_program_options(d->dev[k], po, err);
        if (st == TB_OK && profile) {
            d->prof[k] = tb_profile_new();
            if (!d->prof[k])
                st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
            tb_device_set_profile(d->dev[k], d->prof[k]);
        }
    }
    free(chosen);
    return st;
}

void tb_cli_devs_close(tb_cli_devs *d)
{
    for (size_t k = 0; d->dev && k < d->n; ++k) {
        tb_device_close(d->dev[k]);
        if (d->prof)
            tb_profile_free(d->prof[k]);
    }
    free(d->dev);
    free(d->prof);
    tb_device_list_free(d->list);
    *d = (tb_cli_devs){0};
}

tb_status tb_cli_load(const char *path, const char *const *sets, size_t n_sets, const char *precision,
                      tb_plugin_registry **reg, tb_scenario **sc, tb_error *err)
{
    tb_status st = *reg ? TB_OK : tb_plugin_registry_load(reg, err);
    if (st != TB_OK)
        return st;
    /* --precision is one more override, applied last so it wins */
    const char **all = calloc(n_sets + 2, sizeof *all);
    char *prec = precision ? tb_asprintf("simulation.precision=\"%s\"", precision) : NULL;
    if (!all)
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t i = 0; all && i < n_sets; ++i)
        all[i] = sets[i];
    if (all && prec)
        all[n_sets++] = prec;
    if (st == TB_OK)
        st = tb_scenario_load(path, all, n_sets, *reg, sc, err);
    free(all);
    free(prec);
    return st;
}

/* Options every multi-value command shares: --set, --precision. Returns
 * 1 when argv[*i] was one of them (and consumed its value), 0 when not,
 * -1 (after a usage message) when its value is wrong. */
int tb_cli_common_option(const char *cmd, int argc, char **argv, int *i, const char **sets, size_t *n_sets,
                         const char **precision)
{
    const char *s = argv[*i];
    bool has_next = *i + 1 < argc;
    if (strcmp(s, "--set") == 0 && has_next) {
        sets[(*n_sets)++] = argv[++*i];
        return 1;
    }
    if (strncmp(s, "--set=", 6) == 0) {
        sets[(*n_sets)++] = s + 6;
        return 1;
    }
    if (strcmp(s, "--precision") == 0 && has_next) {
        *precision = argv[++*i];
        if (strcmp(*precision, "single") && strcmp(*precision, "double")) {
            tb_cli_usage_error(cmd, "--precision must be single or double, not '%s'", *precision);
            return -1;
        }
        return 1;
    }
    return 0;
}
