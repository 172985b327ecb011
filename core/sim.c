/* The simulation driver: one clock, chunks of steps, the output file's
 * lifecycle. Whatever happens during the run (divergence, interruption, an
 * I/O error), the file is closed with its final attributes so that what
 * was written stays readable and says how far the run got.
 *
 * A run on several devices is one part per device, each a kit instance
 * for a contiguous range of the sweep's instances, driven in lock step:
 * every chunk is launched on every device before the host waits for any
 * (a kit's advance launches chunk k, then drains chunk k - 1), and every
 * part writes its own instance columns of the same output datasets.
 *
 * Over MPI ranks (sim_world.h) each rank runs the parts of its share of
 * the instances, and rank 0 writes what every rank's parts produce; every
 * decision that could differ between ranks (the chunk's size, stopping,
 * failing) is agreed on before it acts, so the ranks stay in lock step. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "kit.h"
#include "layer.h"
#include "profile.h"
#include "sim_world.h"
#include "twinbrain/sim.h"
#include "util.h"
#include "world.h"

/* Chunks are sized to take about this long, so progress, interruption and
 * flushing happen often without launch overhead mattering. */
#define CHUNK_TARGET_SECONDS 0.25

/* One device's share of the run: instances [first, first + count). */
typedef struct sim_part {
    tb_device *dev;
    void *impl;
    size_t first, count;
    tb_output *out; /* its part of the output while running (several devices), else NULL */
} sim_part;

struct tb_sim {
    const tb_scenario *sc;
    const tb_kit *kit;
    sim_part *parts;
    size_t n_parts;
    uint64_t steps_done;
    double wall_seconds;
    double *scores; /* the parts' scores side by side (several devices) */
    /* checkpoints: every this many steps (0: none), the file's slots, and
     * the step of the last one written */
    uint64_t ckpt_every;
    tb_ckpt_slots slots;
    uint64_t ckpt_last;
    tb_sim_world *world; /* over several MPI ranks, else NULL */
};

tb_status tb_sim_check(const tb_scenario *sc, tb_error *err)
{
    tb_status st = sc->kit->check(sc, err);
    return st == TB_OK ? tb_layers_prepare(sc, err) : st;
}

tb_status tb_sim_create(const tb_scenario *sc, tb_device *dev, tb_sim **out, tb_error *err)
{
    return tb_sim_create_multi(sc, &dev, 1, out, err);
}

/* Contiguous, as even as possible, the first devices taking one more. */
static void split_instances(sim_part *parts, size_t n, size_t first, size_t total)
{
    for (size_t k = 0; k < n; ++k) {
        parts[k].first = first;
        parts[k].count = total / n + (k < total % n);
        first += parts[k].count;
    }
}

static tb_status create_parts(tb_sim *sim, tb_device *const *devs, tb_error *err)
{
    const tb_scenario *sc = sim->sc;
    size_t total = sc->n_instances, first = 0;
    bool ranks = tb_world_size() > 1;
    if (ranks && sim->kit->splits_units) {
        /* the kit's create exchanges with the other ranks: all or none */
        tb_status st = sim->n_parts == 1
                           ? TB_OK
                           : tb_error_set(err, TB_ERR_SCENARIO,
                                          "%s: a %s run over MPI ranks takes one device per rank, not %zu "
                                          "(docs/mpi.md)",
                                          sc->path, sim->kit->name, sim->n_parts);
        if ((st = tb_world_verdict(st, err)) != TB_OK)
            return st;
        sim->parts[0] = (sim_part){.dev = devs[0], .first = 0, .count = total};
        return sim->kit->create(sc, devs[0], &sim->parts[0].impl, err);
    }
    if (ranks && !sim->kit->create_part)
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "%s: %s scenarios run in one process; MPI ranks divide a sweep's instances, and this "
                            "kind cannot run a share of them (docs/mpi.md); run without mpirun",
                            sc->path, sim->kit->name);
    if (ranks) {
        tb_status st = tb_sim_world_split(total, &first, &total, err);
        if (st != TB_OK) {
            tb_error_prefix(err, "%s: ", sc->path);
            return st;
        }
    } else if (sim->n_parts == 1) {
        sim->parts[0] = (sim_part){.dev = devs[0], .first = 0, .count = total};
        return sim->kit->create(sc, devs[0], &sim->parts[0].impl, err);
    }
    if (!sim->kit->create_part)
        return tb_error_set(err, TB_ERR_SCENARIO, "%s scenarios run on one device at a time; choose one device",
                            sim->kit->name);
    if (total < sim->n_parts)
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "%zu devices were chosen but the %s has %zu instance%s; each device needs at least "
                            "one (a [sweep] gives a run several instances)",
                            sim->n_parts, ranks ? "rank's share of the run" : "run", total, total == 1 ? "" : "s");
    split_instances(sim->parts, sim->n_parts, first, total);
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k) {
        sim_part *p = &sim->parts[k];
        p->dev = devs[k];
        st = sim->kit->create_part(sc, p->dev, p->first, p->count, &p->impl, err);
        if (st != TB_OK)
            tb_error_prefix(err, "device %d (%s), instances %zu to %zu: ", tb_device_get_info(p->dev)->index,
                            tb_device_get_info(p->dev)->name, p->first, p->first + p->count - 1);
    }
    return st;
}

/* Every rank learns whether every rank made its parts. */
static tb_status world_setup(tb_sim *sim, tb_status st, tb_error *err)
{
    size_t *first = calloc(sim->n_parts, sizeof *first), *count = calloc(sim->n_parts, sizeof *count);
    tb_device **devs = calloc(sim->n_parts, sizeof *devs);
    if (st == TB_OK && (!first || !count || !devs))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k) {
        first[k] = sim->parts[k].first;
        count[k] = sim->parts[k].count;
        devs[k] = sim->parts[k].dev;
    }
    st = tb_sim_world_setup(&sim->world, st, devs, first, count, sim->n_parts, err);
    free(first);
    free(count);
    free(devs);
    return st;
}

tb_status tb_sim_create_multi(const tb_scenario *sc, tb_device *const *devs, size_t n_devs, tb_sim **out,
                              tb_error *err)
{
    *out = NULL;
    if (n_devs == 0)
        return tb_error_set(err, TB_ERR_DEVICE, "no device to run on");
    tb_sim *sim = calloc(1, sizeof *sim);
    if (sim)
        sim->parts = calloc(n_devs, sizeof *sim->parts);
    if (!sim || !sim->parts) {
        free(sim);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    sim->sc = sc;
    sim->n_parts = n_devs;
    sim->kit = sc->kit;
    /* the layers' plans first: a kit builds its program around them */
    tb_status st = tb_layers_prepare(sc, err);
    if (st == TB_OK)
        st = create_parts(sim, devs, err);
    st = world_setup(sim, st, err);
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
    for (size_t k = 0; sim->parts && k < sim->n_parts; ++k) {
        if (sim->kit && sim->parts[k].impl)
            sim->kit->destroy(sim->parts[k].impl);
        tb_output_part_free(sim->parts[k].out);
    }
    free(sim->parts);
    free(sim->scores);
    tb_sim_world_free(sim->world);
    free(sim);
}

size_t tb_sim_devices(const tb_sim *sim)
{
    return sim->n_parts;
}

const tb_device *tb_sim_device(const tb_sim *sim, size_t k, size_t *first, size_t *count)
{
    if (first)
        *first = sim->parts[k].first;
    if (count)
        *count = sim->parts[k].count;
    return sim->parts[k].dev;
}

static void utc_now(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The devices' names (platforms, drivers) joined with "; " when several ran
 * (over ranks: every rank's, which rank 0 knows). */
static char *joined(const tb_sim *sim, size_t offset, size_t world_offset)
{
    tb_buf b = {0};
    for (size_t k = 0; !sim->world && k < sim->n_parts; ++k)
        tb_buf_printf(&b, "%s%s", k ? "; " : "", (const char *)tb_device_get_info(sim->parts[k].dev) + offset);
    for (size_t k = 0; k < tb_sim_world_parts(sim->world); ++k)
        tb_buf_printf(&b, "%s%s", k ? "; " : "",
                      *(char *const *)((const char *)tb_sim_world_part(sim->world, k) + world_offset));
    return tb_buf_take(&b);
}

/* Part k of the run, wherever it ran. */
static tb_world_part part_of(const tb_sim *sim, size_t k)
{
    if (sim->world)
        return *tb_sim_world_part(sim->world, k);
    const tb_device_info *d = tb_device_get_info(sim->parts[k].dev);
    return (tb_world_part){0, (char *)d->name, (char *)d->platform_name, (char *)d->driver_version, d->index,
                           sim->parts[k].first, sim->parts[k].count};
}

static size_t all_parts(const tb_sim *sim)
{
    return sim->world ? tb_sim_world_parts(sim->world) : sim->n_parts;
}

/* Which instances ran where, when several devices ran (docs/formats.md). */
static tb_status write_devices(tb_sim *sim, tb_output *out, tb_error *err)
{
    tb_status st = TB_OK;
    size_t n = all_parts(sim);
    for (size_t k = 0; st == TB_OK && n > 1 && k < n; ++k) {
        tb_world_part p = part_of(sim, k);
        char *g = tb_asprintf("/devices/%zu", k);
        st = tb_output_attr_string(out, g, "device", p.device, err);
        if (st == TB_OK)
            st = tb_output_attr_string(out, g, "platform", p.platform, err);
        if (st == TB_OK)
            st = tb_output_attr_string(out, g, "driver_version", p.driver, err);
        if (st == TB_OK)
            st = tb_output_attr_int(out, g, "index", p.index, err);
        if (st == TB_OK)
            st = tb_output_attr_int(out, g, "first_instance", (int64_t)p.first, err);
        if (st == TB_OK)
            st = tb_output_attr_int(out, g, "instances", (int64_t)p.count, err);
        if (st == TB_OK && sim->world)
            st = tb_output_attr_int(out, g, "mpi_rank", p.rank, err);
        free(g);
    }
    return st;
}

static tb_status write_provenance(tb_sim *sim, tb_output *out, tb_error *err)
{
    char *platform = joined(sim, offsetof(tb_device_info, platform_name), offsetof(tb_world_part, platform));
    char *device = joined(sim, offsetof(tb_device_info, name), offsetof(tb_world_part, device));
    char *driver = joined(sim, offsetof(tb_device_info, driver_version), offsetof(tb_world_part, driver));
    char *text = tb_toml_format(sim->sc->doc);
    char created[32];
    utc_now(created, sizeof created);
    const char *model = "", *model_version = "";
    sim->kit->model_of(sim->sc, &model, &model_version);
    const char *names[] = {"twinbrain_version", "scenario", "platform", "device", "driver_version", "precision",
                           "created_utc", "model", "model_version", "scenario_file"};
    const char *values[] = {PACKAGE_VERSION,
                            text ? text : "",
                            platform ? platform : "",
                            device ? device : "",
                            driver ? driver : "",
                            tb_precision_name(sim->sc->precision),
                            created,
                            model,
                            model_version,
                            sim->sc->path};
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < sizeof names / sizeof names[0]; ++i)
        st = tb_output_attr_string(out, "/", names[i], values[i], err);
    free(text);
    free(platform);
    free(device);
    free(driver);
    if (st == TB_OK)
        st = write_devices(sim, out, err);
    if (st == TB_OK)
        st = tb_layers_declare(sim->sc, out, err);
    if (st == TB_OK)
        st = tb_output_attr_int(out, "/", "seed", (int64_t)sim->sc->seed, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/", "dt_ms", sim->sc->dt, err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, "/", "duration_ms", sim->sc->duration, err);
    return st;
}

/* What resuming needs besides the scenario: the checkpoint interval and
 * the devices (docs/formats.md, "Checkpoints"). */
static tb_status write_checkpoint_facts(tb_sim *sim, tb_output *out, const tb_sim_options *opt, tb_error *err)
{
    if (!sim->ckpt_every)
        return TB_OK;
    tb_status st = tb_output_attr_double(out, "/", "checkpoint_every_ms", opt->checkpoint_every_ms, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/", "checkpoint_devices", opt->devices ? opt->devices : "auto", err);
    if (st == TB_OK)
        st = tb_ckpt_declare(out, &sim->slots, err);
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

/* Every part advances over the same steps; n = 0 ends the run. */
static tb_status advance_all(tb_sim *sim, uint64_t step0, uint64_t n, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k)
        st = sim->kit->advance(sim->parts[k].impl, step0, n, err);
    return st;
}

static uint64_t max_chunk(const tb_sim *sim)
{
    uint64_t max = UINT64_MAX;
    for (size_t k = 0; k < sim->n_parts; ++k) {
        uint64_t m = sim->kit->max_chunk(sim->parts[k].impl);
        max = m < max ? m : max;
    }
    return max;
}

/* The run's sections of a checkpoint, saving or restoring: the step, each
 * part's state (its kit's entry), then the rows of every dataset but the
 * checkpoint's own (after the parts, whose entries collect the chunk in
 * flight). Restoring fills rows[] for the copy of the interrupted file. */
static tb_status ckpt_sections(tb_sim *sim, tb_output *out, tb_ckpt *ck, uint64_t *rows, tb_error *err)
{
    uint64_t step = sim->steps_done, parts = sim->n_parts;
    tb_status st = tb_ckpt_host(ck, "step", &step, sizeof step, err);
    if (st == TB_OK)
        st = tb_ckpt_host(ck, "parts", &parts, sizeof parts, err);
    if (st == TB_OK && parts != sim->n_parts)
        st = tb_error_set(err, TB_ERR_RESUME, "the checkpoint is of a run on %llu devices, not %zu",
                          (unsigned long long)parts, sim->n_parts);
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k) {
        uint64_t range[2] = {sim->parts[k].first, sim->parts[k].count};
        st = tb_ckpt_host(ck, "instances", range, sizeof range, err);
        if (st == TB_OK)
            st = sim->kit->checkpoint(sim->parts[k].impl, ck, err);
    }
    size_t n = 0;
    for (size_t i = 0; st == TB_OK && i < tb_output_dataset_count(out); ++i) {
        tb_dataset *ds = tb_output_dataset_at(out, i);
        const char *path = tb_output_dataset_path(ds);
        if (strncmp(path, "/checkpoint/", 12) == 0)
            continue;
        uint64_t r = tb_output_dataset_rows(ds);
        st = tb_ckpt_host(ck, path, &r, sizeof r, err);
        if (rows)
            rows[n++] = r;
    }
    if (st == TB_OK && tb_ckpt_restoring(ck))
        sim->steps_done = step;
    return st;
}

static tb_status save_checkpoint(tb_sim *sim, tb_output *out, tb_error *err)
{
    tb_ckpt *ck = tb_ckpt_new();
    tb_status st = ck ? ckpt_sections(sim, out, ck, NULL, err) : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK)
        st = tb_output_flush(out, err); /* the rows it counts first, then the checkpoint */
    if (st == TB_OK)
        st = tb_ckpt_store(&sim->slots, sim->steps_done, ck, err);
    if (st == TB_OK)
        st = tb_output_flush(out, err);
    if (st == TB_OK)
        sim->ckpt_last = sim->steps_done;
    tb_ckpt_free(ck);
    return st;
}

/* Continue from the newest checkpoint of `source`: its state, and its rows
 * up to the checkpoint (none written after it), then a first checkpoint in
 * the new file, so that it is resumable at once. */
static tb_status resume(tb_sim *sim, tb_output *out, const char *source, tb_error *err)
{
    uint64_t step = 0;
    tb_ckpt *ck = NULL;
    tb_status st = tb_ckpt_load(source, &step, &ck, err);
    size_t n = tb_output_dataset_count(out);
    uint64_t *rows = calloc(n + 1, sizeof *rows);
    const char **paths = calloc(n + 1, sizeof *paths);
    if (st == TB_OK && (!rows || !paths))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK)
        st = ckpt_sections(sim, out, ck, rows, err);
    if (st == TB_OK)
        st = tb_ckpt_done(ck, err);
    if (st == TB_OK && sim->steps_done != step)
        st = tb_error_set(err, TB_ERR_RESUME, "%s: the checkpoint's step does not match its header", source);
    size_t m = 0;
    for (size_t i = 0; st == TB_OK && i < n; ++i) {
        const char *path = tb_output_dataset_path(tb_output_dataset_at(out, i));
        if (strncmp(path, "/checkpoint/", 12) != 0)
            paths[m++] = path;
    }
    if (st == TB_OK)
        st = tb_output_copy_rows(out, source, m, paths, rows, err);
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k)
        tb_output_part_follow(sim->parts[k].out);
    if (st == TB_OK)
        st = save_checkpoint(sim, out, err);
    if (st != TB_OK)
        tb_error_prefix(err, "resuming from %s: ", source);
    free(rows);
    free(paths);
    tb_ckpt_free(ck);
    return st;
}

/* The chunk ends at the next checkpoint's step, never past it. */
static uint64_t until_checkpoint(const tb_sim *sim, uint64_t n)
{
    if (!sim->ckpt_every)
        return n;
    uint64_t next = (sim->steps_done / sim->ckpt_every + 1) * sim->ckpt_every;
    return sim->steps_done + n > next ? next - sim->steps_done : n;
}


/* The layers act on every part at their step, before it advances. */
static tb_status apply_layers(tb_sim *sim, uint64_t step, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k)
        st = tb_layers_apply(sim->sc, sim->parts[k].impl, sim->parts[k].first, sim->parts[k].count, step, err);
    return st;
}

/* Over ranks, a failed run's file says how far every rank's rows go. */
static tb_status world_failed(tb_sim *sim, uint64_t delivered, tb_status st)
{
    sim->steps_done = delivered;
    return st;
}

static tb_status loop(tb_sim *sim, tb_output *out, const tb_sim_options *opt, double t0, tb_error *err)
{
    uint64_t max = max_chunk(sim);
    uint64_t fixed = fixed_chunk(max);
    uint64_t chunk = fixed ? fixed : max < 16 ? max : 16;
    uint64_t total = sim->sc->steps;
    /* chunks end where a layer acts, so an action lands on its own step */
    uint64_t event = tb_layers_next_step(sim->sc, 0);
    /* a resumed run starts at its checkpoint: the layers' actions before
     * it are replayed (they set parameters and weights, which checkpoints
     * do not hold; the state they led to is restored) */
    for (; event < sim->steps_done; event = tb_layers_next_step(sim->sc, event + 1)) {
        tb_status st = apply_layers(sim, event, err);
        if (st != TB_OK)
            return st;
    }
    bool stop = false;
    /* over ranks, a failure of rank 0's file alone waits for the next
     * exchange to be shared, so that no rank is left waiting */
    tb_status pending = TB_OK;
    /* the steps whose rows every rank has delivered: a chunk's rows come
     * with the next chunk's exchange */
    uint64_t delivered = sim->steps_done;
    while (sim->steps_done < total) {
        stop = opt && opt->stop && *opt->stop;
        if (stop && !sim->world)
            break;
        tb_status st = TB_OK;
        if (event == sim->steps_done) {
            /* over ranks a failure is shared after the chunk, below */
            if ((st = apply_layers(sim, event, err)) != TB_OK && !sim->world)
                return st;
            event = tb_layers_next_step(sim->sc, event + 1);
        }
        uint64_t want = total - sim->steps_done < chunk ? total - sim->steps_done : chunk;
        uint64_t n = until_checkpoint(sim, event - sim->steps_done < want ? event - sim->steps_done : want);
        if (sim->world) { /* rank 0's chunk; any rank's stop */
            tb_status agreed = tb_sim_world_agree(sim->world, &n, &stop, err);
            if (agreed != TB_OK)
                return world_failed(sim, delivered, agreed);
            if (stop && st == TB_OK)
                break;
        }
        double c0 = tb_now();
        if (st == TB_OK)
            st = pending;
        if (st == TB_OK)
            st = advance_all(sim, sim->steps_done, n, err);
        if (sim->world && (st = tb_sim_world_exchange(sim->world, out, st, err)) != TB_OK)
            return world_failed(sim, delivered, st);
        if (st != TB_OK)
            return st;
        delivered = sim->steps_done;
        sim->steps_done += n;
        if ((st = tb_output_flush(out, err)) != TB_OK && !sim->world)
            return st;
        pending = st;
        if (sim->ckpt_every && sim->steps_done % sim->ckpt_every == 0 && sim->steps_done < total &&
            (st = save_checkpoint(sim, out, err)) != TB_OK)
            return st;
        if (!fixed && n == want) /* a chunk cut short by a checkpoint says nothing of the pace */
            chunk = next_chunk(n, tb_now() - c0, max);
        progress(sim, opt, t0);
    }
    bool stopped = (sim->world ? stop : opt && opt->stop && *opt->stop) && sim->steps_done < total;
    tb_status st = pending;
    /* a stopped run is resumable from exactly where it stopped: the state
     * before the run's end (which finishes monitors) is saved */
    if (stopped && sim->ckpt_every && sim->ckpt_last != sim->steps_done)
        st = save_checkpoint(sim, out, err);
    if (st == TB_OK)
        st = advance_all(sim, sim->steps_done, 0, err);
    if (sim->world)
        st = tb_sim_world_exchange(sim->world, out, st, err);
    if (st == TB_OK && stopped)
        st = tb_error_set(err, TB_ERR_INTERRUPTED, "interrupted at t = %g ms of %g ms; output kept up to there",
                          (double)sim->steps_done * sim->sc->dt, sim->sc->duration);
    return st;
}

/* Each part declares its datasets (through its part of the output when
 * several devices share the file). */
static tb_status declare_all(tb_sim *sim, tb_output *out, volatile sig_atomic_t *stop, tb_error *err)
{
    tb_status st = TB_OK;
    size_t total = sim->sc->n_instances;
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k) {
        sim_part *p = &sim->parts[k];
        tb_output_part_free(p->out);
        p->out = NULL;
        if (sim->n_parts > 1 || sim->world)
            st = tb_output_part(out, p->first, p->count, total, k == 0 && tb_world_rank() == 0, &p->out, err);
        if (st == TB_OK && sim->kit->watch)
            sim->kit->watch(p->impl, stop);
        if (st == TB_OK)
            st = sim->kit->declare(p->impl, p->out ? p->out : out, err);
    }
    return st;
}

static void free_part_outputs(tb_sim *sim)
{
    for (size_t k = 0; k < sim->n_parts; ++k) {
        tb_output_part_free(sim->parts[k].out);
        sim->parts[k].out = NULL;
    }
}

/* The profiles of the devices that have one: completed, and stored in the
 * output (best effort: a run's own error matters more). */
static tb_status store_profiles(tb_sim *sim, const char *path, double write_seconds, tb_error *err)
{
    tb_profile **profs = calloc(sim->n_parts, sizeof *profs);
    const char **names = calloc(sim->n_parts, sizeof *names);
    bool any = false;
    tb_status st = profs && names ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < sim->n_parts; ++k) {
        profs[k] = tb_device_profile(sim->parts[k].dev);
        names[k] = tb_device_get_info(sim->parts[k].dev)->name;
        any |= profs[k] != NULL;
        st = tb_profile_collect(profs[k], err);
    }
    if (st == TB_OK && any) {
        /* the file is shared: its time goes to the first device that profiles */
        size_t k = 0;
        while (!profs[k])
            ++k;
        tb_profile_host(profs[k], "writing output (HDF5)", write_seconds);
        st = tb_profile_store(profs, names, sim->n_parts, path, err);
    }
    free(profs);
    free(names);
    return st;
}

/* A run whose output cannot fit on its disk is refused before it starts,
 * with the figures: the kits' uncompressed estimate is an upper bound
 * (HDF5's deflate usually saves a fifth to a half of it), so
 * TWINBRAIN_NO_SPACE_CHECK=1 lets a user who expects it to compress try;
 * a disk that fills during the run still ends it cleanly (exit 4). */
static double output_need(const tb_sim *sim)
{
    double need = 0;
    for (size_t k = 0; sim->kit->output_bytes && k < sim->n_parts; ++k)
        need += sim->kit->output_bytes(sim->parts[k].impl);
    return need;
}

static tb_status check_disk(const char *path, double need, tb_error *err)
{
    const char *skip = getenv("TWINBRAIN_NO_SPACE_CHECK");
    if (skip && strcmp(skip, "1") == 0)
        return TB_OK;
    char *dir = tb_path_dirname(path);
    struct statvfs fs;
    bool known = dir && statvfs(dir, &fs) == 0;
    double avail = known ? (double)fs.f_bavail * (double)fs.f_frsize : 0;
    tb_status st = TB_OK;
    if (known && need > avail)
        st = tb_error_set(err, TB_ERR_INPUT,
                          "%s: the run writes up to %.3g GB of results (uncompressed) and the disk holding %s has "
                          "%.3g GB free; write elsewhere (-o), record fewer variables or sample less often (or set "
                          "TWINBRAIN_NO_SPACE_CHECK=1 if the compressed file will fit)",
                          path, need / 1e9, dir, avail / 1e9);
    free(dir);
    return st;
}

/* The run's error first; what the close adds (where the rows are after a
 * write error) after it. */
static tb_status close_error(tb_status run, tb_status closed, tb_error *err, tb_error *cerr)
{
    if (closed == TB_OK)
        return run;
    if (run == TB_OK || !err) {
        if (err) {
            tb_error_clear(err);
            *err = *cerr;
            *cerr = (tb_error){0};
        }
        return run == TB_OK ? closed : run;
    }
    tb_error_set(err, run, "%s; %s", tb_error_message(err), tb_error_message(cerr));
    return run;
}

static tb_status checkpoint_options(tb_sim *sim, const tb_sim_options *opt, tb_error *err)
{
    double every = opt ? opt->checkpoint_every_ms : 0;
    sim->ckpt_every = 0;
    sim->ckpt_last = UINT64_MAX;
    if (opt && opt->resume_from && !(every > 0))
        return tb_error_set(err, TB_ERR_RESUME, "%s: no checkpoint interval to resume with", opt->resume_from);
    if ((every != 0 || (opt && opt->resume_from)) && sim->world)
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "runs over several MPI ranks cannot be checkpointed or resumed yet (docs/mpi.md); run "
                            "without --checkpoint-every");
    if (every == 0)
        return TB_OK;
    if (!(every > 0) || !isfinite(every))
        return tb_error_set(err, TB_ERR_SCENARIO, "--checkpoint-every must be a positive number of ms, not %g",
                            every);
    if (!sim->kit->checkpoint)
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "%s scenarios cannot be checkpointed (their kit saves no state); run without "
                            "--checkpoint-every",
                            sim->kit->name);
    /* the filter rewrites parameters between chunks, and a checkpoint holds
     * state, not parameters: a resumed run would forget the estimates */
    if (tb_toml_get(sim->sc->doc, "assimilation"))
        return tb_error_set(err, TB_ERR_SCENARIO,
                            "%s: [assimilation] runs cannot be checkpointed (a checkpoint does not hold the "
                            "filter's estimates); run without --checkpoint-every",
                            sim->sc->path);
    double steps = round(every / sim->sc->dt);
    sim->ckpt_every = steps < 1 ? 1 : steps > 1e18 ? (uint64_t)1e18 : (uint64_t)steps;
    return TB_OK;
}

/* A run stopped while declaring (a kit whose declare does long work)
 * keeps what it wrote under the partial name: it is not the run's file,
 * which never went live, but results all the same. */
static void keep_partial(tb_output *out, tb_error *err)
{
    char *name = tb_strdup(tb_output_file_name(out)), *said = tb_strdup(tb_error_message(err));
    tb_output_abort(out);
    if (name && said)
        tb_error_set(err, TB_ERR_INTERRUPTED, "%s; what it wrote is kept in %s", said, name);
    free(name);
    free(said);
}

/* The file, ready for rows: created, described, its datasets declared,
 * live (over ranks: rank 0's file, with every rank's datasets; the other
 * ranks' parts write through a remote output). */
static tb_status open_output(tb_sim *sim, const char *path, const tb_sim_options *opt, tb_output **out,
                             tb_error *err)
{
    bool writes = tb_world_rank() == 0;
    double need = output_need(sim); /* over ranks: every rank's rows reach rank 0's file */
    tb_status st = sim->world ? tb_world_sum(&need, 1, err) : TB_OK;
    if (st == TB_OK)
        st = checkpoint_options(sim, opt, err);
    if (st == TB_OK && writes)
        st = tb_scenario_check_output(sim->sc, path, err);
    if (st == TB_OK && writes)
        st = check_disk(path, need, err);
    if (st == TB_OK)
        st = writes ? tb_output_create(path, out, err) : tb_sim_world_output(sim->world, path, out, err);
    bool made = st == TB_OK;
    if (st == TB_OK && writes)
        st = write_provenance(sim, *out, err);
    if (st == TB_OK && sim->world && writes)
        st = tb_output_attr_int(*out, "/", "mpi_ranks", tb_world_size(), err);
    if (st == TB_OK)
        st = declare_all(sim, *out, opt ? opt->stop : NULL, err);
    if (st == TB_OK && writes)
        st = write_checkpoint_facts(sim, *out, opt, err);
    if (sim->world)
        st = tb_sim_world_declare(sim->world, writes ? *out : NULL, st, err);
    if (st == TB_OK && writes)
        st = tb_output_go_live(*out, err);
    if (sim->world && !tb_world_broken())
        st = tb_world_verdict(st, err);
    if (st == TB_OK && opt && opt->resume_from)
        st = resume(sim, *out, opt->resume_from, err);
    if (st != TB_OK) {
        free_part_outputs(sim);
        if (made && writes && st == TB_ERR_INTERRUPTED)
            keep_partial(*out, err);
        else if (made && writes)
            tb_output_discard(*out);
        *out = NULL;
    }
    return st;
}

/* Over ranks, rank 0's summary counts every rank's instances. */
static tb_status world_collect(tb_sim *sim, tb_error *err)
{
    if (!sim->world || tb_world_broken())
        return TB_OK;
    tb_sim_summary s;
    tb_sim_get_summary(sim, &s);
    if (sim->kit->splits_units && tb_world_rank() != 0)
        s.instances = 0; /* rank 0 counts the run's instances; the others share them */
    const double **scores = calloc(sim->n_parts, sizeof *scores);
    size_t *first = calloc(sim->n_parts, sizeof *first), *count = calloc(sim->n_parts, sizeof *count);
    const char *name = NULL;
    bool have = sim->kit->scores && scores && first && count;
    for (size_t k = 0; have && k < sim->n_parts; ++k) {
        scores[k] = sim->kit->scores(sim->parts[k].impl, &name);
        first[k] = sim->parts[k].first;
        count[k] = sim->parts[k].count;
        have = scores[k] != NULL;
    }
    tb_status st = tb_sim_world_collect(sim->world, &s, have ? scores : NULL, first, count, sim->n_parts, err);
    free(scores);
    free(first);
    free(count);
    return st;
}

tb_status tb_sim_run(tb_sim *sim, const char *output_path, const tb_sim_options *opt, tb_error *err)
{
    double t0 = tb_now();
    tb_output *out = NULL;
    tb_world_watch(opt ? opt->stop : NULL);
    tb_status st = open_output(sim, output_path, opt, &out, err);
    if (st != TB_OK)
        return st;
    tb_status run = loop(sim, out, opt, t0, err);
    sim->wall_seconds = tb_now() - t0;
    double write_seconds = tb_output_busy_seconds(out);
    free_part_outputs(sim);
    if (run == TB_OK)
        run = world_collect(sim, err);
    if (tb_world_rank() != 0)
        return run; /* rank 0 writes the file */
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
    if (closed == TB_OK)
        closed = store_profiles(sim, output_path, write_seconds, &cerr);
    st = close_error(run, closed, err, &cerr);
    tb_error_clear(&cerr);
    return st;
}

/* The parts' scores side by side, in instance order. */
static const double *merged_scores(tb_sim *sim, const char **name)
{
    if (!sim->kit->scores)
        return NULL;
    if (sim->n_parts == 1 && !sim->world)
        return sim->kit->scores(sim->parts[0].impl, name);
    free(sim->scores);
    sim->scores = calloc(sim->sc->n_instances, sizeof *sim->scores);
    for (size_t k = 0; sim->scores && k < sim->n_parts; ++k) {
        const double *part = sim->kit->scores(sim->parts[k].impl, name);
        if (!part) {
            free(sim->scores);
            return sim->scores = NULL;
        }
        memcpy(sim->scores + sim->parts[k].first, part, sim->parts[k].count * sizeof *part);
    }
    if (sim->scores && sim->world && tb_world_rank() == 0)
        tb_sim_world_scores(sim->world, sim->scores);
    return sim->scores;
}

/* The parts' figures added up, by name. */
static void add_figures(tb_sim_summary *s, const tb_sim_figure *f, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        size_t k = 0;
        while (k < s->n_figures && strcmp(s->figures[k].name, f[i].name) != 0)
            ++k;
        if (k == s->n_figures && k < TB_SIM_MAX_FIGURES)
            s->figures[s->n_figures++] = (tb_sim_figure){f[i].name, 0};
        if (k < s->n_figures)
            s->figures[k].value += f[i].value;
    }
}

static void add_program(tb_sim_summary *s, const tb_program *p, bool first)
{
    if (!p)
        return;
    const tb_program_stats *st = tb_program_get_stats(p);
    s->build_seconds += st->build_seconds;
    s->program_from_cache &= st->from_cache;
    bool outranks = st->origin == TB_PROGRAM_COMPILED ||
                    (st->origin == TB_PROGRAM_PREBUILT && s->program_origin == TB_PROGRAM_CACHED);
    if (first || outranks)
        s->program_origin = st->origin;
}

void tb_sim_get_summary(const tb_sim *sim, tb_sim_summary *s)
{
    memset(s, 0, sizeof *s);
    s->steps = sim->steps_done;
    s->wall_seconds = sim->wall_seconds;
    s->program_from_cache = 1;
    for (size_t k = 0; k < sim->n_parts; ++k) {
        void *impl = sim->parts[k].impl;
        add_program(s, sim->kit->program(impl), k == 0);
        s->instances += sim->kit->instances(impl);
        s->samples += sim->kit->samples(impl);
        tb_sim_figure f[TB_SIM_MAX_FIGURES];
        if (sim->kit->figures)
            add_figures(s, f, sim->kit->figures(impl, f));
    }
    if (sim->world && tb_world_rank() == 0)
        tb_sim_world_add(sim->world, s);
    s->units = sim->kit->units(sim->parts[0].impl);
    s->unit_noun = sim->kit->unit_noun;
    s->scores = merged_scores((tb_sim *)sim, &s->score_monitor);
}

double tb_sim_summary_figure(const tb_sim_summary *s, const char *name)
{
    for (size_t k = 0; k < s->n_figures; ++k)
        if (strcmp(s->figures[k].name, name) == 0)
            return s->figures[k].value;
    return NAN;
}

void tb_sim_summary_devices(const tb_sim *sim, tb_buf *b)
{
    for (size_t k = 0; k < tb_sim_world_parts(sim->world); ++k) {
        const tb_world_part *p = tb_sim_world_part(sim->world, k);
        tb_buf_printf(b, "  device   %s (%s): rank %d, instances %zu to %zu\n", p->device, p->platform, p->rank,
                      p->first, p->first + p->count - 1);
    }
    for (size_t k = 0; !sim->world && k < sim->n_parts; ++k) {
        const sim_part *p = &sim->parts[k];
        const tb_device_info *d = tb_device_get_info(p->dev);
        tb_buf_printf(b, "  device   %s (%s)", d->name, d->platform_name);
        if (sim->n_parts > 1)
            tb_buf_printf(b, ": instances %zu to %zu", p->first, p->first + p->count - 1);
        tb_buf_puts(b, "\n");
    }
}

void tb_sim_summary_kernels(const tb_sim_summary *s, tb_buf *b)
{
    tb_buf_printf(b, "  kernels  %.2f s %s\n", s->build_seconds,
                  s->program_origin == TB_PROGRAM_CACHED     ? "(loaded from cache)"
                  : s->program_origin == TB_PROGRAM_PREBUILT ? "(loaded prebuilt)"
                                                             : "(compiled)");
}

char *tb_sim_summary_text(const tb_sim *sim, const char *output_path)
{
    tb_sim_summary s;
    tb_sim_get_summary(sim, &s);
    tb_buf b = {0};
    sim->kit->summary_text(sim, sim->sc, &s, &b);
    tb_buf_printf(&b, "  output   %s\n", output_path);
    return tb_buf_take(&b);
}
