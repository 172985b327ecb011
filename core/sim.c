/* The simulation driver: one clock, chunks of steps, the output file's
 * lifecycle. Whatever happens during the run (divergence, interruption, an
 * I/O error), the file is closed with its final attributes so that what
 * was written stays readable and says how far the run got. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit.h"
#include "twinbrain/sim.h"
#include "util.h"

/* Chunks are sized to take about this long, so progress, interruption and
 * flushing happen often without launch overhead mattering. */
#define CHUNK_TARGET_SECONDS 0.25

struct tb_sim {
    const tb_scenario *sc;
    tb_device *dev;
    const tb_kit *kit;
    void *impl;
    uint64_t steps_done;
    double wall_seconds;
};

static const tb_kit *kit_of(const tb_scenario *sc)
{
    return sc->kind == TB_SCENARIO_SPIKING ? &tb_spiking_kit : &tb_mass_kit;
}

tb_status tb_sim_check(const tb_scenario *sc, tb_error *err)
{
    return kit_of(sc)->check(sc, err);
}

tb_status tb_sim_create(const tb_scenario *sc, tb_device *dev, tb_sim **out, tb_error *err)
{
    *out = NULL;
    tb_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    sim->sc = sc;
    sim->dev = dev;
    sim->kit = kit_of(sc);
    tb_status st = sim->kit->create(sc, dev, &sim->impl, err);
    if (st != TB_OK) {
        tb_sim_free(sim);
        return st;
    }
    *out = sim;
    return TB_OK;
}

void tb_sim_free(tb_sim *sim)
{
    if (!sim)
        return;
    if (sim->kit && sim->impl)
        sim->kit->destroy(sim->impl);
    free(sim);
}

static void utc_now(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static tb_status write_provenance(tb_sim *sim, tb_output *out, tb_error *err)
{
    const tb_device_info *d = tb_device_get_info(sim->dev);
    char *text = tb_toml_format(sim->sc->doc);
    char created[32];
    utc_now(created, sizeof created);
    const char *names[] = {"twinbrain_version", "scenario", "platform", "device", "driver_version", "precision",
                           "created_utc", "model", "model_version", "scenario_file"};
    const char *values[] = {PACKAGE_VERSION,
                            text ? text : "",
                            d->platform_name,
                            d->name,
                            d->driver_version,
                            tb_precision_name(sim->sc->precision),
                            created,
                            sim->sc->model ? sim->sc->model->name : "spiking network",
                            sim->sc->model && sim->sc->model->version ? sim->sc->model->version : "",
                            sim->sc->path};
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < sizeof names / sizeof names[0]; ++i)
        st = tb_output_attr_string(out, "/", names[i], values[i], err);
    free(text);
    if (st == TB_OK)
        st = tb_output_attr_int(out, "/", "seed", (int64_t)sim->sc->seed, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/", "dt_ms", sim->sc->dt, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/", "duration_ms", sim->sc->duration, err);
    return st;
}

static uint64_t next_chunk(uint64_t cur, double seconds, uint64_t max)
{
    double scale = seconds > 0 ? CHUNK_TARGET_SECONDS / seconds : 2.0;
    if (scale > 2.0)
        scale = 2.0;
    if (scale < 0.5)
        scale = 0.5;
    uint64_t n = (uint64_t)((double)cur * scale);
    return n < 1 ? 1 : n > max ? max : n;
}

static void progress(tb_sim *sim, const tb_sim_options *opt, double t0)
{
    if (!opt || !opt->progress)
        return;
    tb_sim_progress p = {0};
    p.step = sim->steps_done;
    p.steps = sim->sc->steps;
    p.t_ms = (double)p.step * sim->sc->dt;
    p.duration_ms = sim->sc->duration;
    p.wall_seconds = tb_now() - t0;
    p.steps_per_second = p.wall_seconds > 0 ? (double)p.step / p.wall_seconds : 0;
    p.eta_seconds = p.steps_per_second > 0 ? (double)(p.steps - p.step) / p.steps_per_second : NAN;
    opt->progress(&p, opt->progress_ctx);
}

/* TWINBRAIN_CHUNK_STEPS fixes the steps per chunk (0 or unset: adaptive),
 * for tests that show results do not depend on chunking, and for tuning. */
static uint64_t fixed_chunk(uint64_t max)
{
    const char *env = getenv("TWINBRAIN_CHUNK_STEPS");
    long long n = env ? atoll(env) : 0;
    return n <= 0 ? 0 : (uint64_t)n > max ? max : (uint64_t)n;
}

static tb_status loop(tb_sim *sim, tb_output *out, const tb_sim_options *opt, double t0, tb_error *err)
{
    uint64_t max = sim->kit->max_chunk(sim->impl);
    uint64_t fixed = fixed_chunk(max);
    uint64_t chunk = fixed ? fixed : max < 16 ? max : 16;
    uint64_t total = sim->sc->steps;
    while (sim->steps_done < total) {
        if (opt && opt->stop && *opt->stop)
            break;
        uint64_t n = total - sim->steps_done < chunk ? total - sim->steps_done : chunk;
        double c0 = tb_now();
        tb_status st = sim->kit->advance(sim->impl, sim->steps_done, n, err);
        if (st != TB_OK)
            return st;
        sim->steps_done += n;
        if ((st = tb_output_flush(out, err)) != TB_OK)
            return st;
        if (!fixed)
            chunk = next_chunk(n, tb_now() - c0, max);
        progress(sim, opt, t0);
    }
    tb_status st = sim->kit->advance(sim->impl, sim->steps_done, 0, err);
    if (st == TB_OK && opt && opt->stop && *opt->stop && sim->steps_done < total)
        st = tb_error_set(err, TB_ERR_INTERRUPTED, "interrupted at t = %g ms of %g ms; output kept up to there",
                          (double)sim->steps_done * sim->sc->dt, sim->sc->duration);
    return st;
}

tb_status tb_sim_run(tb_sim *sim, const char *output_path, const tb_sim_options *opt, tb_error *err)
{
    double t0 = tb_now();
    tb_output *out = NULL;
    tb_status st = tb_output_create(output_path, &out, err);
    if (st != TB_OK)
        return st;
    if ((st = write_provenance(sim, out, err)) == TB_OK && (st = sim->kit->declare(sim->impl, out, err)) == TB_OK)
        st = tb_output_go_live(out, err);
    if (st != TB_OK) {
        tb_output_abort(out);
        return st;
    }
    tb_status run = loop(sim, out, opt, t0, err);
    sim->wall_seconds = tb_now() - t0;
    /* The rows reached the file chunk by chunk; now say how far we got. */
    const char *dn[] = {"wall_seconds", "simulated_ms"};
    double dv[] = {sim->wall_seconds, (double)sim->steps_done * sim->sc->dt};
    const char *in[] = {"steps", "completed"};
    int64_t iv[] = {(int64_t)sim->steps_done, run == TB_OK};
    const char *sn[] = {"status"};
    const char *sv[] = {run == TB_OK ? "completed" : tb_status_name(run)};
    tb_output_final fin = {dn, dv, 2, in, iv, 2, sn, sv, 1};
    tb_error cerr = {0};
    tb_status closed = tb_output_close(out, &fin, &cerr);
    if (run == TB_OK && closed != TB_OK) {
        if (err) {
            tb_error_clear(err);
            *err = cerr;
        } else {
            tb_error_clear(&cerr);
        }
        return closed;
    }
    tb_error_clear(&cerr);
    return run;
}

void tb_sim_get_summary(const tb_sim *sim, tb_sim_summary *s)
{
    memset(s, 0, sizeof *s);
    s->steps = sim->steps_done;
    s->wall_seconds = sim->wall_seconds;
    const tb_program *p = sim->kit->program(sim->impl);
    if (p) {
        s->build_seconds = tb_program_get_stats(p)->build_seconds;
        s->program_from_cache = tb_program_get_stats(p)->from_cache;
    }
    s->regions = sim->kit->regions(sim->impl);
    s->instances = sim->kit->instances(sim->impl);
    s->monitors = sim->sc->n_monitors;
    s->samples = sim->kit->samples(sim->impl);
    s->scores = sim->kit->scores ? sim->kit->scores(sim->impl, &s->score_monitor) : NULL;
    if (sim->kit->summary)
        sim->kit->summary(sim->impl, s);
}

const char *tb_sim_source(const tb_sim *sim)
{
    return sim->kit->source(sim->impl);
}
