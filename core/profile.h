/* Profiling records (internal): where a run's time goes on a device.
 *
 * A profile is attached to an opened device (tb_device_set_profile); then
 * everything that works on that device records into it:
 *   - the program layer records every program build (compile, cache load
 *     or prebuilt binary) with its time;
 *   - a kit records each command it enqueues (kernel launches, reads,
 *     writes) with the command's event, named by what it is for; the
 *     device time comes from the event's profiling counters (queues are
 *     created with profiling enabled);
 *   - the driver and kits record host-side sections (waiting for results,
 *     writing the output file).
 * Nothing is recorded when no profile is attached: every function here
 * accepts a NULL profile and does nothing, so kits call them always. */
#ifndef TWINBRAIN_PROFILE_H
#define TWINBRAIN_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "twinbrain/device.h"
#include "twinbrain/program.h"
#include "util.h"

typedef struct tb_profile tb_profile;

typedef enum tb_profile_kind {
    TB_PROF_KERNEL,   /* a kernel launch: device time */
    TB_PROF_TRANSFER, /* a read or write between host and device: device time */
    TB_PROF_HOST      /* host-side seconds */
} tb_profile_kind;

/* One line of a profile: every record with the same kind and name. */
typedef struct tb_profile_entry {
    tb_profile_kind kind;
    char name[96];
    uint64_t count;
    double seconds; /* total */
} tb_profile_entry;

/* One program build. */
typedef struct tb_profile_build {
    bool built; /* false: the build failed (its source may still have been exported) */
    char label[96];
    tb_program_stats stats;
    char options[256];
} tb_profile_build;

tb_profile *tb_profile_new(void);
void tb_profile_free(tb_profile *p);

/* Attach (or with NULL detach) a profile; the device does not own it. */
void tb_device_set_profile(tb_device *dev, tb_profile *p);
tb_profile *tb_device_profile(const tb_device *dev);

/* The event argument for an enqueue: `slot` when profiling, else NULL
 * (no event is created at all when nobody looks at it). */
static inline cl_event *tb_profile_event_slot(const tb_profile *p, cl_event *slot)
{
    *slot = NULL;
    return p ? slot : NULL;
}

/* Record an enqueued command by its event (retained here; the caller may
 * release its own reference). The kind (kernel or transfer) is read from
 * the event. NULL profile or event: nothing. */
void tb_profile_command(tb_profile *p, const char *name, cl_event ev);
void tb_profile_host(tb_profile *p, const char *name, double seconds);
void tb_profile_program(tb_profile *p, const char *label, const tb_program_stats *s, const char *options,
                        bool built);

/* Wait for every recorded command and fold its device time in. */
tb_status tb_profile_collect(tb_profile *p, tb_error *err);

/* Entries (after collect) and builds, for printing and storing. */
const tb_profile_entry *tb_profile_entries(const tb_profile *p, size_t *n);
const tb_profile_build *tb_profile_builds(const tb_profile *p, size_t *n);

/* The human table (after collect). `title` heads it. */
void tb_profile_print(const tb_profile *p, const char *title, FILE *f);

/* Append the profiles of a run's devices to the closed output file, as
 * the /profile group of docs/formats.md. devices[k] names device k. */
tb_status tb_profile_store(tb_profile *const *profiles, const char *const *devices, size_t n, const char *path,
                           tb_error *err);

#endif
