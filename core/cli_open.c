/* Opening the devices a command runs on, with the program options
 * (--kernels, --no-compile) and a profile on each when asked. */
#include "config.h"

#include <stdlib.h>

#include "cli.h"
#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/program.h"

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
