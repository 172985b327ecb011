/* Choosing several devices for one run: `all`, or selectors separated by
 * commas ("0,1", "cpu,gpu"), each resolved as tb_device_select() does;
 * and `local`, one device per process of a host (MPI ranks, docs/mpi.md). */
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

/* The process's index among those its launcher started on this host:
 * Open MPI's mpirun, Slurm's srun, MPICH/Hydra; 0 when none says. */
static long local_rank(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "PMI_LOCAL_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; ++i) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return 0;
}

/* `local`: of the devices of the type `auto` picks (GPUs when there are
 * any), the one at the local rank's position, round-robin, so that one
 * rank per GPU each get their own. */
static tb_status select_local(const tb_device_info *list, size_t n, bool need_fp64, size_t *chosen, tb_error *err)
{
    size_t best = 0;
    tb_status st = tb_device_select(list, n, "auto", need_fp64, &best, err);
    if (st != TB_OK)
        return st;
    size_t *same = calloc(n + 1, sizeof *same), k = 0;
    if (!same)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t i = 0; i < n; ++i)
        if (list[i].score > 0.0 && (!need_fp64 || list[i].fp64) && list[i].type == list[best].type)
            same[k++] = i;
    long r = local_rank();
    *chosen = k ? same[(size_t)(r < 0 ? 0 : r) % k] : best;
    free(same);
    return TB_OK;
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
    else if (strcasecmp(text, "local") == 0)
        st = select_local(list, n, need_fp64, c, err), *n_chosen = st == TB_OK;
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
