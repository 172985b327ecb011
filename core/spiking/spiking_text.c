/* What the command line says of the spiking kit: `check`'s verdict, `run`'s
 * summary and `plugins NAME` for a spiking neuron model; and the kit's
 * plugin check. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"
#include "spiking_scenario.h"
#include "twinbrain/sim.h"
#include "twinbrain/spiking.h"
#include "util.h"
#include "world.h"

tb_status tb_spiking_check_plugin(const tb_plugin *p, const char *file, tb_error *err)
{
    const tb_spiking_model *m = tb_spiking_of(p);
    if (m->head.version != TB_SPIKING_TABLE_VERSION)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: spiking table version %u, but this twinbrain (%s) reads version %u; rebuild the "
                            "plugin against the installed headers",
                            file, (unsigned)m->head.version, PACKAGE_VERSION, TB_SPIKING_TABLE_VERSION);
    if (m->head.size != sizeof(tb_spiking_model))
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: spiking table size %u differs from this twinbrain's %zu; rebuild the plugin", file,
                            (unsigned)m->head.size, sizeof(tb_spiking_model));
    for (size_t i = 0; i < p->n_params; ++i)
        if (p->params[i].type != TB_PARAM_REAL && p->params[i].type != TB_PARAM_INT)
            return tb_error_set(err, TB_ERR_INPUT,
                                "%s: parameter '%s' is of type %s; spiking models take numbers (real or integer)",
                                file, p->params[i].name, tb_param_type_name(p->params[i].type));
    return tb_spiking_model_check(m, p->params, p->n_params, file, err);
}

void tb_spiking_model_of(const tb_scenario *sc, const char **name, const char **version)
{
    (void)sc;
    *name = "spiking network";
    *version = "";
}

void tb_spiking_check_text(const tb_scenario *sc, tb_buf *b)
{
    const tb_spiking_scenario *s = tb_spiking_scenario_of(sc);
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_pops; ++i)
        n += s->pops[i].size;
    tb_buf_printf(b,
                  "spiking network: %zu population%s, %llu neurons, %zu projection%s, %zu input%s; %llu steps of "
                  "%g ms",
                  s->n_pops, s->n_pops == 1 ? "" : "s", (unsigned long long)n, s->n_projs,
                  s->n_projs == 1 ? "" : "s", s->n_inputs, s->n_inputs == 1 ? "" : "s",
                  (unsigned long long)sc->steps, sc->dt);
}

/* `twinbrain plugins NAME` for a spiking plugin: what its snippets see. */
void tb_spiking_plugin_text(const tb_plugin *p, tb_buf *b)
{
    const tb_spiking_model *m = tb_spiking_of(p);
    tb_buf_puts(b, "state variables\n");
    for (size_t v = 0; v < m->n_vars; ++v)
        tb_buf_printf(b, "  %-10s initial %-10g %-6s %s\n", m->vars[v].name, m->vars[v].initial,
                      m->vars[v].unit ? m->vars[v].unit : "", m->vars[v].doc ? m->vars[v].doc : "");
    tb_buf_puts(b, "\nsynaptic ports (projection.synapse; the snippet sees in_<port>)\n");
    for (size_t k = 0; k < m->n_ports; ++k)
        tb_buf_printf(b, "  %-10s weights in %-4s %s\n", m->ports[k].name, m->ports[k].unit ? m->ports[k].unit : "",
                      m->ports[k].doc ? m->ports[k].doc : "");
    char *reset = tb_strdup(*m->reset ? m->reset : "(none)");
    for (char *c = reset; c && *c; ++c)
        if (*c == '\n')
            *c = ' ';
    tb_buf_printf(b, "\nthreshold  %s\nreset      %s\nrefractory %s\nI_ext      %s\n\n", m->threshold,
                  reset ? reset : "", m->refractory ? m->refractory : "(none)",
                  m->current_unit ? (*m->current_unit ? m->current_unit : "(unit of the model)")
                                  : "(takes no current input)");
    free(reset);
}

void tb_spiking_plugin_json(const tb_plugin *p, tb_buf *b)
{
    const tb_spiking_model *m = tb_spiking_of(p);
    tb_buf_puts(b, ", \"state_variables\": [");
    for (size_t v = 0; v < m->n_vars; ++v) {
        tb_buf_puts(b, v ? ", " : "");
        tb_json_string(b, m->vars[v].name);
    }
    tb_buf_puts(b, "], \"ports\": [");
    for (size_t k = 0; k < m->n_ports; ++k) {
        tb_buf_puts(b, k ? ", {\"name\": " : "{\"name\": ");
        tb_json_string(b, m->ports[k].name);
        tb_buf_puts(b, ", \"unit\": ");
        tb_json_string(b, m->ports[k].unit ? m->ports[k].unit : "");
        tb_buf_puts(b, "}");
    }
    tb_buf_puts(b, "], \"threshold\": ");
    tb_json_string(b, m->threshold);
    tb_buf_puts(b, ", \"refractory\": ");
    if (m->refractory)
        tb_json_string(b, m->refractory);
    else
        tb_buf_puts(b, "null");
}

/* A figure summed over the ranks, as a share of their run time in %. */
static double share(const tb_sim_summary *s, const char *name, double ranks)
{
    return s->wall_seconds > 0 ? 100.0 * tb_sim_summary_figure(s, name) / (ranks * s->wall_seconds) : 0.0;
}

void tb_spiking_summary_text(const tb_sim *sim, const tb_scenario *sc, const tb_sim_summary *s, tb_buf *b)
{
    const tb_spiking_scenario *ss = tb_spiking_scenario_of(sc);
    const tb_device_info *d = tb_device_get_info(tb_sim_device(sim, 0, NULL, NULL));
    int parts = (int)tb_sim_summary_figure(s, "partitions");
    tb_buf_printf(b,
                  "twinbrain: spiking network of %zu neurons in %zu population%s, %.0f synapses; %g ms in %llu steps "
                  "of %g ms (%s precision)\n",
                  s->units, ss->n_pops, ss->n_pops == 1 ? "" : "s", tb_sim_summary_figure(s, "synapses"),
                  sc->duration, (unsigned long long)s->steps, sc->dt, tb_precision_name(sc->precision));
    /* over MPI ranks the figures are sums over the ranks (setup times: per rank, on average) */
    double ranks = tb_sim_summary_figure(s, "exchanges") > 0 ? (double)tb_world_size() : 1.0;
    tb_buf_printf(b, "  device   %s (%s), %d partition%s, %.1f MiB of buffers\n", d->name, d->platform_name, parts,
                  parts == 1 ? "" : "s", tb_sim_summary_figure(s, "device_bytes") / 1048576.0);
    tb_buf_printf(b, "  kernels  %.2f s %s\n", s->build_seconds,
                  s->program_from_cache ? "(loaded from cache)" : "(compiled)");
    tb_buf_printf(b, "  network  %.2f s to generate; %.2f s set-up in all%s\n",
                  tb_sim_summary_figure(s, "network_seconds") / ranks,
                  tb_sim_summary_figure(s, "setup_seconds") / ranks, ranks > 1 ? " (per rank)" : "");
    if (ranks > 1) {
        double n = tb_sim_summary_figure(s, "exchanges");
        tb_buf_printf(b,
                      "  ranks    %.0f, in all %.0f partitions; %.0f exchanges of spikes per rank, %.0f bytes sent "
                      "per rank and exchange on average; %.1f%% of the ranks' run time spent exchanging (waits "
                      "included), %.1f%% in MPI\n",
                      ranks, (double)parts, n / ranks, tb_sim_summary_figure(s, "exchange_bytes") / n,
                      share(s, "exchange_seconds", ranks), share(s, "exchange_mpi_seconds", ranks));
    }
    double sim_s = (double)s->steps * sc->dt * 1e-3;
    tb_buf_printf(b, "  run      %.2f s wall for %g s simulated (real-time factor %.3g), %.0f spikes written\n",
                  s->wall_seconds, sim_s, sim_s > 0 ? s->wall_seconds / sim_s : 0.0,
                  tb_sim_summary_figure(s, "spikes"));
}
