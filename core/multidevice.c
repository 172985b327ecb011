/* Choosing several devices for one run: `all`, or selectors separated by
 * commas ("0,1", "cpu,gpu"), each resolved as tb_device_select() does. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "twinbrain/device.h"
#include "util.h"

/* Every device `auto` could pick (available, with a compiler, and with fp64
 * when the run needs it), in list order. */
static tb_status select_all(const tb_device_info *list, size_t n, bool need_fp64, size_t *chosen, size_t *n_chosen,
                            tb_error *err)
{
    size_t k = 0;
    for (size_t i = 0; i < n; ++i)
        if (list[i].score > 0.0 && (!need_fp64 || list[i].fp64))
            chosen[k++] = i;
    *n_chosen = k;
    if (k > 0)
        return TB_OK;
    return tb_device_select(list, n, "auto", need_fp64, chosen, err); /* its message says why none */
}

static tb_status select_listed(const tb_device_info *list, size_t n, const char *text, bool need_fp64,
                               size_t *chosen, size_t *n_chosen, tb_error *err)
{
    char *copy = tb_strdup(text), *save = NULL;
    const char **names = calloc(n + 1, sizeof *names);
    tb_status st = copy && names ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t k = 0;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; st == TB_OK && tok; tok = strtok_r(NULL, ",", &save)) {
        size_t pick = 0;
        st = tb_device_select(list, n, tok, need_fp64, &pick, err);
        for (size_t j = 0; st == TB_OK && j < k; ++j)
            if (chosen[j] == pick)
                st = tb_error_set(err, TB_ERR_DEVICE,
                                  "device selectors \"%s\" and \"%s\" both choose device %d (%s); name each "
                                  "device once (by index: twinbrain devices)",
                                  names[j], tok, list[pick].index, list[pick].name);
        if (st == TB_OK && k == n)
            st = tb_error_set(err, TB_ERR_DEVICE, "more devices named in \"%s\" than there are", text);
        if (st == TB_OK) {
            names[k] = tok;
            chosen[k++] = pick;
        }
    }
    if (st == TB_OK && k == 0)
        st = tb_error_set(err, TB_ERR_DEVICE, "empty device list \"%s\"", text);
    *n_chosen = k;
    free(names);
    free(copy);
    return st;
}

tb_status tb_device_select_many(const tb_device_info *list, size_t n, const char *selector, bool need_fp64,
                                size_t **chosen, size_t *n_chosen, tb_error *err)
{
    *chosen = NULL;
    *n_chosen = 0;
    const char *text = selector && selector[0] ? selector : getenv("TWINBRAIN_DEVICE");
    text = text && text[0] ? text : "auto";
    size_t *c = calloc(n + 1, sizeof *c);
    if (!c)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_status st = TB_OK;
    if (strcasecmp(text, "all") == 0)
        st = select_all(list, n, need_fp64, c, n_chosen, err);
    else if (!strchr(text, ','))
        st = tb_device_select(list, n, text, need_fp64, c, err), *n_chosen = st == TB_OK;
    else
        st = select_listed(list, n, text, need_fp64, c, n_chosen, err);
    if (st != TB_OK) {
        free(c);
        *n_chosen = 0;
        return st;
    }
    *chosen = c;
    return TB_OK;
}
