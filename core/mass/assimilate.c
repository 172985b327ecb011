/* [assimilation] in a mass scenario: the ensemble Kalman filter of
 * core/assimilation.c over one model parameter per region, its ensemble
 * the run's instances: member b's value of the parameter at region n is a
 * per-instance, per-region parameter on the device. The run advances one
 * chunk at a time without overlap, so that after every sample of the
 * chosen bold monitor the host updates the parameters before the next
 * chunk is launched. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "assimilate.h"
#include "mass_internal.h"

static bool find_monitor(tb_schema_checker *c, const tb_mass_scenario *ms, const tb_toml_value *t,
                         tb_assimilation *a)
{
    const tb_toml_value *mv = tb_toml_get(t, "monitor");
    free(a->monitor);
    a->monitor = NULL;
    for (size_t i = 0; i < ms->n_monitors; ++i) {
        const tb_scenario_monitor *m = &ms->monitors[i];
        if (m->kind == TB_MONITOR_BOLD && (!mv || (m->name && strcmp(m->name, tb_toml_as_string(mv)) == 0))) {
            a->monitor_index = i;
            a->monitor = tb_strdup(m->name ? m->name : "");
            if (m->n_variables != 1) {
                tb_schema_report(c, TB_ERR_SCENARIO, mv ? mv->pos : t->pos,
                                 "assimilation: bold monitor '%s' records %zu variables; the filter compares one",
                                 a->monitor, m->n_variables);
                return false;
            }
            return true;
        }
    }
    tb_schema_report(c, TB_ERR_SCENARIO, mv ? mv->pos : t->pos,
                     mv ? "assimilation.monitor: no bold monitor named '%s'" : "assimilation needs a bold monitor%s",
                     mv ? tb_toml_as_string(mv) : " ([[monitor]] kind = \"bold\") to compare with the data");
    return false;
}

tb_assimilation *tb_assimilation_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t)
{
    tb_assimilation *a = tb_assimilation_read(c, sc, t, NULL, 0);
    if (!a)
        return NULL;
    tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    bool ok = true;
    const tb_plugin *pl = ms->model;
    size_t k = 0;
    while (pl && k < pl->n_params && strcmp(pl->params[k].name, a->parameter) != 0)
        ++k;
    if (pl && k == pl->n_params) {
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "parameter")->pos,
                         "assimilation.parameter: model '%s' has no parameter '%s'", pl->name, a->parameter);
        ok = false;
    }
    a->param_index = k;
    ok = ok && pl && find_monitor(c, ms, t, a);
    if (ms->sweep.n_instances > 1) {
        tb_schema_report(c, TB_ERR_SCENARIO, t->pos,
                         "assimilation runs its members as the instances: it cannot be combined with [sweep]");
        ok = false;
    }
    if (!ok) {
        tb_assimilation_free(a);
        return NULL;
    }
    ms->sweep.n_instances = a->members;
    return a;
}

/* ------------------------------------------------------------ the run */

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

tb_status tb_mass_assim_bind(mass *m, tb_error *err)
{
    const tb_assimilation *a = m->ms->assimilation;
    if (!a)
        return TB_OK;
    if (m->first != 0 || m->B != m->B_total)
        return tb_error_set(err, TB_ERR_DEVICE, "assimilation needs all %zu members on one device", m->B_total);
    const monitor_rt *mon = &m->mon[a->monitor_index];
    tb_status st = tb_enkf_new(a, m->sc->seed, m->B, m->N, m->sc->steps / mon->period, mon->spec->period,
                               &m->assim, err);
    if (st != TB_OK)
        return st;
    /* the parameter becomes per instance and region, as a prepare hook
     * would make it */
    param_slot *s = &m->params[a->param_index];
    double *copy = malloc(m->B * m->N * sizeof *copy);
    if (!copy)
        return oom(err);
    memcpy(copy, tb_enkf_theta(m->assim), m->B * m->N * sizeof *copy);
    free(s->ir);
    s->ir = copy;
    if (s->mode != P_INSTANCE_REGION) {
        s->mode = P_INSTANCE_REGION;
        s->index = m->n_ir++;
    }
    /* a chunk ends at each sample, so that updates reach the next one */
    uint64_t period = mon->period;
    if (m->kmax > period)
        m->kmax = period;
    return TB_OK;
}

/* The filter's datasets, and the regions it fitted by name, so that a
 * free run on the fit (model.parameters_from) can check it runs on the
 * same connectome, in the same order. */
tb_status tb_mass_assim_declare(mass *m, tb_output *out, tb_error *err)
{
    if (!m->assim)
        return TB_OK;
    tb_status st = tb_enkf_declare(m->assim, out, err);
    if (st == TB_OK && m->con->labels)
        st = tb_output_write_strings(out, "/assimilation/region_labels", (const char *const *)m->con->labels, m->N,
                                     err);
    return st;
}

/* The new parameters onto the device, before the next chunk. */
static tb_status upload(mass *m, tb_error *err)
{
    param_slot *s = &m->params[m->ms->assimilation->param_index];
    memcpy(s->ir, tb_enkf_theta(m->assim), m->B * m->N * sizeof *s->ir);
    return tb_mass_write_ir(m, err);
}

tb_status tb_mass_assim_collect(mass *m, const tb_chunk *c, tb_error *err)
{
    if (!m->assim)
        return TB_OK;
    const tb_assimilation *a = m->ms->assimilation;
    const monitor_rt *mon = &m->mon[a->monitor_index];
    uint64_t ns = tb_mass_samples_in(c->step0, c->n, mon->period), first = c->step0 / mon->period;
    size_t B = m->B, N = m->N;
    double *y = malloc(B * N * sizeof *y);
    tb_status st = y ? TB_OK : oom(err);
    bool changed = false;
    for (uint64_t k = 0; st == TB_OK && k < ns; ++k) {
        uint64_t sample = first + k;
        double time = (double)((sample + 1) * mon->period) * m->sc->dt;
        for (size_t b = 0; b < B; ++b)
            for (size_t n = 0; n < N; ++n)
                y[b * N + n] = tb_mass_real_at(mon->host[c->buf], (k * B + b) * mon->width + n, m->realsz);
        bool used = false;
        st = tb_enkf_sample(m->assim, sample, time, y, &used, err);
        changed |= used;
    }
    free(y);
    return st == TB_OK && changed ? upload(m, err) : st;
}

uint64_t tb_mass_assim_period(const mass *m)
{
    return m->mon[m->ms->assimilation->monitor_index].period;
}

tb_status tb_mass_assim_finish(mass *m, tb_error *err)
{
    return m->assim ? tb_enkf_finish(m->assim, err) : TB_OK;
}

void tb_mass_assim_free(mass *m)
{
    tb_enkf_free(m->assim);
    m->assim = NULL;
}
