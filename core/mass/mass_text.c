/* What the command line says of the neural-mass kit: `check`'s verdict,
 * `run`'s summary and `plugins NAME` for a mass model. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "mass_internal.h"

void tb_mass_model_of(const tb_scenario *sc, const char **name, const char **version)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    *name = ms->model->name;
    *version = ms->model->version ? ms->model->version : "";
}

void tb_mass_check_text(const tb_scenario *sc, tb_buf *b)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    tb_buf_printf(b, "mass model %s, %llu steps of %g ms, %zu monitor%s", ms->model->name,
                  (unsigned long long)sc->steps, sc->dt, ms->n_monitors, ms->n_monitors == 1 ? "" : "s");
}

/* The five instances whose FC fits the empirical one best (NaN, a flat
 * FC, never counts as better), with their swept values. */
static void best_fits(const tb_mass_scenario *ms, const tb_sim_summary *s, tb_buf *b)
{
    size_t n = s->instances, show = 0, order[5];
    for (size_t i = 0; i < n; ++i) {
        if (isnan(s->scores[i]))
            continue;
        size_t k = show < 5 ? show++ : 5;
        while (k > 0 && s->scores[order[k - 1]] < s->scores[i]) {
            if (k < 5)
                order[k] = order[k - 1];
            --k;
        }
        if (k < 5)
            order[k] = i;
    }
    tb_buf_printf(b, "  fit      Pearson r of the FC ('%s') with the empirical one%s\n", s->score_monitor,
                  n > 1 ? ", best instances:" : ":");
    if (show == 0) /* the empirical FC is checked when read: only the simulated ones can be flat */
        tb_buf_printf(b, "           r is undefined for %s: the simulated FC is constant above the diagonal, or "
                      "undefined where a region's activity did not vary over the window\n",
                      n > 1 ? "every instance" : "this run");
    for (size_t k = 0; k < show; ++k) {
        size_t i = order[k];
        tb_buf_printf(b, "           r = %-8.4f", s->scores[i]);
        if (n > 1)
            tb_buf_printf(b, " instance %zu:", i);
        for (size_t j = 0; j < ms->sweep.n_keys; ++j)
            tb_buf_printf(b, " %s=%g", ms->sweep.keys[j].path, ms->sweep.keys[j].values[i]);
        tb_buf_puts(b, "\n");
    }
}

void tb_mass_summary_text(const tb_sim *sim, const tb_scenario *sc, const tb_sim_summary *s, tb_buf *b)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    char inst[64] = "";
    if (s->instances > 1)
        snprintf(inst, sizeof inst, " x %zu instances", s->instances);
    tb_buf_printf(b, "twinbrain: %s on %zu regions%s, %g ms in %llu steps of %g ms (%s, %s precision)\n",
                  ms->model->name, s->units, inst, sc->duration, (unsigned long long)s->steps, sc->dt, ms->method,
                  tb_precision_name(sc->precision));
    tb_sim_summary_devices(sim, b);
    tb_sim_summary_kernels(s, b);
    double w = s->wall_seconds;
    tb_buf_printf(b, "  run      %.2f s wall, %.3g steps/s, %.3g region-steps/s\n", w,
                  w > 0 ? (double)s->steps / w : 0.0,
                  w > 0 ? (double)s->steps * (double)s->units * (double)s->instances / w : 0.0);
    for (size_t i = 0; i < ms->n_monitors; ++i) {
        const tb_scenario_monitor *m = &ms->monitors[i];
        if (m->kind == TB_MONITOR_FC)
            tb_buf_printf(b, "  monitor  %s: fc of '%s' over (%g, %g] ms\n", m->name, ms->monitors[m->source].name,
                          m->start, m->end);
        else
            tb_buf_printf(b, "  monitor  %s: %s every %g ms\n", m->name, tb_monitor_kind_name(m->kind), m->period);
    }
    if (s->scores)
        best_fits(ms, s, b);
}

void tb_mass_plugin_text(const tb_plugin *p, tb_buf *b)
{
    const tb_mass_model *m = tb_mass_of(p);
    tb_buf_puts(b, "state variables (coupled:");
    for (size_t k = 0; k < m->n_coupled; ++k)
        tb_buf_printf(b, " %s", m->coupled[k]);
    tb_buf_printf(b, "; default coupling: %s)\n", m->default_coupling ? m->default_coupling : "linear");
    for (size_t v = 0; v < m->n_vars; ++v) {
        const tb_mass_var *var = &m->vars[v];
        char bounds[64] = "";
        if (isfinite(var->bound_lo) || isfinite(var->bound_hi))
            snprintf(bounds, sizeof bounds, " bounds [%g, %g]", var->bound_lo, var->bound_hi);
        tb_buf_printf(b, "  %-10s initial %-8g random in [%g, %g]%s  %-6s %s\n", var->name, var->initial,
                      var->range_lo, var->range_hi, bounds, var->unit ? var->unit : "", var->doc ? var->doc : "");
    }
    tb_buf_puts(b, "\n");
}

void tb_mass_plugin_json(const tb_plugin *p, tb_buf *b)
{
    const tb_mass_model *m = tb_mass_of(p);
    tb_buf_puts(b, ", \"state_variables\": [");
    for (size_t v = 0; v < m->n_vars; ++v) {
        const tb_mass_var *var = &m->vars[v];
        tb_buf_puts(b, v ? ", {\"name\": " : "{\"name\": ");
        tb_json_string(b, var->name);
        tb_buf_puts(b, ", \"initial\": ");
        tb_json_number(b, var->initial);
        tb_buf_puts(b, ", \"range\": [");
        tb_json_number(b, var->range_lo);
        tb_buf_puts(b, ", ");
        tb_json_number(b, var->range_hi);
        tb_buf_puts(b, "], \"bounds\": [");
        tb_json_number(b, var->bound_lo);
        tb_buf_puts(b, ", ");
        tb_json_number(b, var->bound_hi);
        tb_buf_puts(b, "], \"unit\": ");
        tb_json_string(b, var->unit);
        tb_buf_puts(b, "}");
    }
    tb_buf_puts(b, "], \"coupled\": [");
    for (size_t k = 0; k < m->n_coupled; ++k) {
        tb_buf_puts(b, k ? ", " : "");
        tb_json_string(b, m->coupled[k]);
    }
    tb_buf_puts(b, "]");
}
