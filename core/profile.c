/* Profiling records: program builds, device time per command from OpenCL
 * events, host-side sections; printed as a table, stored as /profile.
 *
 * Events are kept until their command has finished; their device times
 * are folded into per-name totals as soon as they are complete, so a long
 * run holds a bounded number of them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "twinbrain/output.h"

/* Fold finished events once this many are waiting. */
#define PENDING_FOLD 256

typedef struct pending_ev {
    cl_event ev;
    size_t entry;
} pending_ev;

struct tb_profile {
    tb_profile_entry *entries;
    size_t n_entries, cap_entries;
    tb_profile_build *builds;
    size_t n_builds, cap_builds;
    pending_ev *pending;
    size_t n_pending, cap_pending;
    bool oom; /* a record was lost for want of memory */
};

tb_profile *tb_profile_new(void)
{
    return calloc(1, sizeof(tb_profile));
}

void tb_profile_free(tb_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_pending; i++)
        clReleaseEvent(p->pending[i].ev);
    free(p->pending);
    free(p->entries);
    free(p->builds);
    free(p);
}

/* Grow an array of `size`-byte items to hold one more. */
static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 16;
    void *g = realloc(*items, c * size);
    if (!g)
        return false;
    *items = g;
    *cap = c;
    return true;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src ? src : "");
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* The entry of (kind, name), created when new; SIZE_MAX when out of memory. */
static size_t entry_of(tb_profile *p, tb_profile_kind kind, const char *name)
{
    for (size_t i = 0; i < p->n_entries; i++)
        if (p->entries[i].kind == kind && strncmp(p->entries[i].name, name, sizeof p->entries[i].name - 1) == 0)
            return i;
    if (!grow((void **)&p->entries, &p->cap_entries, p->n_entries, sizeof *p->entries)) {
        p->oom = true;
        return SIZE_MAX;
    }
    tb_profile_entry *e = &p->entries[p->n_entries];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    copy_text(e->name, sizeof e->name, name);
    return p->n_entries++;
}

/* Device seconds between the command's start and end. A driver that does
 * not report them (or an event that failed) counts as 0. */
static double event_seconds(cl_event ev)
{
    cl_ulong t0 = 0, t1 = 0;
    if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) != CL_SUCCESS || t1 < t0)
        return 0.0;
    return (double)(t1 - t0) * 1e-9;
}

static bool is_complete(cl_event ev)
{
    cl_int status = CL_QUEUED;
    if (clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL) != CL_SUCCESS)
        return true; /* nothing more will come of it */
    return status == CL_COMPLETE || status < 0;
}

/* Fold the pending events that are complete (all of them when `wait`). */
static void fold(tb_profile *p, bool wait)
{
    size_t kept = 0;
    for (size_t i = 0; i < p->n_pending; i++) {
        pending_ev pe = p->pending[i];
        if (wait)
            clWaitForEvents(1, &pe.ev);
        if (!wait && !is_complete(pe.ev)) {
            p->pending[kept++] = pe;
            continue;
        }
        p->entries[pe.entry].seconds += event_seconds(pe.ev);
        clReleaseEvent(pe.ev);
    }
    p->n_pending = kept;
}

void tb_profile_command(tb_profile *p, const char *name, cl_event ev)
{
    if (!p || !ev)
        return;
    cl_command_type type = 0;
    clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL);
    tb_profile_kind kind = type == CL_COMMAND_NDRANGE_KERNEL || type == CL_COMMAND_TASK ? TB_PROF_KERNEL
                                                                                        : TB_PROF_TRANSFER;
    size_t e = entry_of(p, kind, name);
    if (e == SIZE_MAX)
        return;
    if (p->n_pending >= PENDING_FOLD)
        fold(p, false);
    if (!grow((void **)&p->pending, &p->cap_pending, p->n_pending, sizeof *p->pending)) {
        p->oom = true;
        return;
    }
    clRetainEvent(ev);
    p->pending[p->n_pending++] = (pending_ev){ev, e};
    p->entries[e].count++;
}

void tb_profile_host(tb_profile *p, const char *name, double seconds)
{
    if (!p)
        return;
    size_t e = entry_of(p, TB_PROF_HOST, name);
    if (e == SIZE_MAX)
        return;
    p->entries[e].count++;
    p->entries[e].seconds += seconds;
}

void tb_profile_program(tb_profile *p, const char *label, const tb_program_stats *s, const char *options, bool built)
{
    if (!p)
        return;
    if (!grow((void **)&p->builds, &p->cap_builds, p->n_builds, sizeof *p->builds)) {
        p->oom = true;
        return;
    }
    tb_profile_build *b = &p->builds[p->n_builds++];
    memset(b, 0, sizeof *b);
    b->built = built;
    copy_text(b->label, sizeof b->label, label);
    b->stats = *s;
    copy_text(b->options, sizeof b->options, options);
}

tb_status tb_profile_collect(tb_profile *p, tb_error *err)
{
    if (!p)
        return TB_OK;
    fold(p, true);
    if (p->oom)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory recording the profile");
    return TB_OK;
}

const tb_profile_entry *tb_profile_entries(const tb_profile *p, size_t *n)
{
    *n = p ? p->n_entries : 0;
    return p ? p->entries : NULL;
}

const tb_profile_build *tb_profile_builds(const tb_profile *p, size_t *n)
{
    *n = p ? p->n_builds : 0;
    return p ? p->builds : NULL;
}

/* ------------------------------------------------------------ reports */

static const char *kind_word(tb_profile_kind k)
{
    return k == TB_PROF_KERNEL ? "kernel" : k == TB_PROF_TRANSFER ? "transfer" : "host";
}

static const char *origin_text(const tb_profile_build *b)
{
    if (!b->built)
        return "not built";
    switch (b->stats.origin) {
    case TB_PROGRAM_CACHED: return "loaded from cache";
    case TB_PROGRAM_PREBUILT: return "loaded prebuilt";
    default: return "compiled";
    }
}

static double device_total(const tb_profile *p)
{
    double s = 0;
    for (size_t i = 0; i < p->n_entries; i++)
        if (p->entries[i].kind != TB_PROF_HOST)
            s += p->entries[i].seconds;
    return s;
}

void tb_profile_print(const tb_profile *p, const char *title, FILE *f)
{
    if (!p)
        return;
    fprintf(f, "profile%s%s\n", title && title[0] ? ": " : "", title ? title : "");
    for (size_t i = 0; i < p->n_builds; i++) {
        const tb_profile_build *b = &p->builds[i];
        fprintf(f, "  program   %-28s %9.3f s  %s (%s)\n", b->label, b->stats.build_seconds, origin_text(b),
                b->stats.name);
    }
    double dev = device_total(p);
    fprintf(f, "  %-9s %-28s %9s %11s %11s %7s\n", "kind", "name", "count", "total s", "mean ms", "share");
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < p->n_entries; i++) {
            const tb_profile_entry *e = &p->entries[i];
            if ((int)e->kind != pass)
                continue;
            double mean = e->count ? e->seconds / (double)e->count * 1e3 : 0.0;
            char share[16] = "";
            if (e->kind != TB_PROF_HOST && dev > 0)
                snprintf(share, sizeof share, "%6.1f%%", 100.0 * e->seconds / dev);
            fprintf(f, "  %-9s %-28s %9llu %11.4f %11.4f %7s\n", kind_word(e->kind), e->name,
                    (unsigned long long)e->count, e->seconds, mean, share);
        }
    fprintf(f, "  (kernel and transfer times are device times from OpenCL events; share is of their sum, "
               "%.4f s)\n", dev);
}

/* ------------------------------------------------------------ storing */

/* Flat tables, one row per entry or program, with the device's position
 * in the run: easy to read with h5py or pandas. */
typedef struct flat {
    int64_t *device, *count;
    double *seconds;
    const char **kind, **name, **label, **origin;
    size_t n;
} flat;

static void flat_free(flat *f)
{
    free(f->device);
    free(f->count);
    free(f->seconds);
    free(f->kind);
    free(f->name);
    free(f->label);
    free(f->origin);
}

static bool flat_alloc(flat *f, size_t n)
{
    size_t m = n ? n : 1;
    f->device = calloc(m, sizeof *f->device);
    f->count = calloc(m, sizeof *f->count);
    f->seconds = calloc(m, sizeof *f->seconds);
    f->kind = calloc(m, sizeof *f->kind);
    f->name = calloc(m, sizeof *f->name);
    f->label = calloc(m, sizeof *f->label);
    f->origin = calloc(m, sizeof *f->origin);
    return f->device && f->count && f->seconds && f->kind && f->name && f->label && f->origin;
}

static tb_status write_entries(tb_output *o, tb_profile *const *profiles, size_t np, tb_error *err)
{
    size_t n = 0;
    for (size_t k = 0; k < np; k++)
        n += profiles[k] ? profiles[k]->n_entries : 0;
    flat f = {0};
    if (!flat_alloc(&f, n)) {
        flat_free(&f);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory storing the profile");
    }
    for (size_t k = 0; k < np; k++)
        for (size_t i = 0; profiles[k] && i < profiles[k]->n_entries; i++, f.n++) {
            const tb_profile_entry *e = &profiles[k]->entries[i];
            f.device[f.n] = (int64_t)k;
            f.kind[f.n] = kind_word(e->kind);
            f.name[f.n] = e->name;
            f.count[f.n] = (int64_t)e->count;
            f.seconds[f.n] = e->seconds;
        }
    uint64_t dims[1] = {n};
    tb_status st = TB_OK;
    if (n > 0) {
        st = tb_output_write_array(o, "/profile/device", TB_I64, 1, dims, f.device, err);
        if (st == TB_OK)
            st = tb_output_write_strings(o, "/profile/kind", f.kind, n, err);
        if (st == TB_OK)
            st = tb_output_write_strings(o, "/profile/name", f.name, n, err);
        if (st == TB_OK)
            st = tb_output_write_array(o, "/profile/count", TB_I64, 1, dims, f.count, err);
        if (st == TB_OK)
            st = tb_output_write_array(o, "/profile/seconds", TB_F64, 1, dims, f.seconds, err);
    }
    flat_free(&f);
    return st;
}

static tb_status write_programs(tb_output *o, tb_profile *const *profiles, size_t np, tb_error *err)
{
    size_t n = 0;
    for (size_t k = 0; k < np; k++)
        n += profiles[k] ? profiles[k]->n_builds : 0;
    flat f = {0};
    if (!flat_alloc(&f, n)) {
        flat_free(&f);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory storing the profile");
    }
    for (size_t k = 0; k < np; k++)
        for (size_t i = 0; profiles[k] && i < profiles[k]->n_builds; i++, f.n++) {
            const tb_profile_build *b = &profiles[k]->builds[i];
            f.device[f.n] = (int64_t)k;
            f.label[f.n] = b->label;
            f.name[f.n] = b->stats.name;
            f.origin[f.n] = b->built ? tb_program_origin_name(b->stats.origin) : "not built";
            f.seconds[f.n] = b->stats.build_seconds;
        }
    uint64_t dims[1] = {n};
    tb_status st = TB_OK;
    if (n > 0) {
        st = tb_output_write_array(o, "/profile/programs/device", TB_I64, 1, dims, f.device, err);
        if (st == TB_OK)
            st = tb_output_write_strings(o, "/profile/programs/label", f.label, n, err);
        if (st == TB_OK)
            st = tb_output_write_strings(o, "/profile/programs/name", f.name, n, err);
        if (st == TB_OK)
            st = tb_output_write_strings(o, "/profile/programs/origin", f.origin, n, err);
        if (st == TB_OK)
            st = tb_output_write_array(o, "/profile/programs/seconds", TB_F64, 1, dims, f.seconds, err);
    }
    flat_free(&f);
    return st;
}

tb_status tb_profile_store(tb_profile *const *profiles, const char *const *devices, size_t n, const char *path,
                           tb_error *err)
{
    tb_output *o = NULL;
    tb_status st = tb_output_reopen(path, &o, err);
    if (st != TB_OK)
        return st;
    st = tb_output_attr_strings(o, "/profile", "devices", devices, n, err);
    if (st == TB_OK)
        st = tb_output_attr_string(o, "/profile", "meaning",
                                   "per device of the run (index into the devices attribute): kernel and transfer "
                                   "rows are device seconds from OpenCL profiling events, host rows host seconds; "
                                   "programs: build or load time of each program and where it came from",
                                   err);
    if (st == TB_OK)
        st = write_entries(o, profiles, n, err);
    if (st == TB_OK)
        st = write_programs(o, profiles, n, err);
    if (st != TB_OK) {
        tb_output_abort(o);
        return st;
    }
    return tb_output_close(o, NULL, err);
}
