/* Which file a resumed run continues (tb_resume_find in twinbrain/sim.h).
 *
 * A run killed while it replaced an existing file leaves its rows in
 * TARGET.partial-XXXXXX and the old TARGET untouched; a resumed run that
 * is itself killed leaves another partial file with newer checkpoints.
 * The most recently modified candidate that is complete or has a whole
 * checkpoint is the newest state of the run, whichever of these happened;
 * except that a complete file older than an attempt stopped before its
 * first checkpoint is an earlier run's result, not this run's. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "checkpoint.h"
#include "h5util.h"
#include "twinbrain/sim.h"
#include "util.h"

#define PARTIAL ".partial-"
#define PARTIAL_LEN 9
#define SUFFIX_LEN 6 /* mkstemp's XXXXXX */

typedef struct candidate {
    char *path;
    struct timespec mtime;
} candidate;

/* TARGET for TARGET.partial-XXXXXX, else the path itself (malloc'd). */
static char *target_of(const char *path)
{
    size_t n = strlen(path);
    if (n > PARTIAL_LEN + SUFFIX_LEN && strncmp(path + n - PARTIAL_LEN - SUFFIX_LEN, PARTIAL, PARTIAL_LEN) == 0)
        return tb_strndup(path, n - PARTIAL_LEN - SUFFIX_LEN);
    return tb_strdup(path);
}

static bool add(candidate **c, size_t *n, size_t *cap, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return true;
    if (!tb_grow((void **)c, cap, *n, sizeof **c))
        return false;
    (*c)[(*n)++] = (candidate){tb_strdup(path), st.st_mtim};
    return true;
}

static int newest_first(const void *a, const void *b)
{
    const struct timespec *x = &((const candidate *)a)->mtime, *y = &((const candidate *)b)->mtime;
    if (x->tv_sec != y->tv_sec)
        return x->tv_sec < y->tv_sec ? 1 : -1;
    return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

/* The target and its partial siblings, newest first. */
static size_t candidates(const char *target, candidate **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    add(out, &n, &cap, target);
    char *dir = tb_path_dirname(target);
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    size_t bl = strlen(base);
    DIR *d = dir ? opendir(dir) : NULL;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (strlen(e->d_name) != bl + PARTIAL_LEN + SUFFIX_LEN || strncmp(e->d_name, base, bl) != 0 ||
            strncmp(e->d_name + bl, PARTIAL, PARTIAL_LEN) != 0)
            continue;
        char *p = tb_path_join(dir, e->d_name);
        bool ok = p && add(out, &n, &cap, p);
        free(p);
        if (!ok)
            break;
    }
    if (d)
        closedir(d);
    free(dir);
    if (n > 1)
        qsort(*out, n, sizeof **out, newest_first);
    return n;
}

static char *attr_string(hid_t f, const char *name)
{
    if (H5Aexists(f, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t t = tb_h5_utf8_type();
    char *v = NULL, *out = NULL;
    if (a >= 0 && t >= 0 && H5Aread(a, t, &v) >= 0 && v) {
        out = tb_strdup(v);
        H5free_memory(v);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return out;
}

static bool attr_number(hid_t f, const char *name, hid_t type, void *v)
{
    if (H5Aexists(f, name) <= 0)
        return false;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    bool ok = a >= 0 && H5Aread(a, type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

/* Whether the file at `path` decides: complete, or with a whole
 * checkpoint; then r is filled from it. */
static bool decides(const char *path, tb_resume *r, tb_error *why)
{
    hid_t f = tb_h5_open_read(path);
    if (f < 0) {
        tb_error_set(why, TB_ERR_RESUME,
                     "%s: cannot open it as an HDF5 file (a run killed before its file went live leaves one "
                     "such); nothing to resume: run the scenario again",
                     path);
        return false;
    }
    int64_t completed = 0, steps = 0;
    attr_number(f, "completed", H5T_NATIVE_INT64, &completed);
    attr_number(f, "steps", H5T_NATIVE_INT64, &steps);
    r->scenario = attr_string(f, "scenario");
    r->scenario_file = attr_string(f, "scenario_file");
    r->devices = attr_string(f, "checkpoint_devices");
    r->every_ms = 0;
    attr_number(f, "checkpoint_every_ms", H5T_NATIVE_DOUBLE, &r->every_ms);
    /* "status" is the last final attribute written: without it the run
     * was killed while it wrote them, and its checkpoint is what counts */
    char *status = attr_string(f, "status");
    if (!status || strcmp(status, "completed") != 0)
        completed = 0;
    free(status);
    H5Fclose(f);
    tb_ckpt *ck = NULL;
    bool ok = completed == 1;
    if (ok)
        r->step = (uint64_t)steps;
    else
        ok = tb_ckpt_load(path, &r->step, &ck, why) == TB_OK;
    tb_ckpt_free(ck);
    if (ok && !r->scenario) {
        tb_error_set(why, TB_ERR_INPUT, "%s: it holds no scenario (not a twinbrain output?)", path);
        ok = false;
    }
    r->complete = completed == 1;
    if (ok)
        r->source = tb_strdup(path);
    return ok;
}

static void clear_facts(tb_resume *r)
{
    free(r->scenario);
    free(r->scenario_file);
    free(r->devices);
    r->scenario = r->scenario_file = r->devices = NULL;
}

static tb_status find(const char *path, tb_resume *r, tb_error *err)
{
    r->target = target_of(path);
    candidate *c = NULL;
    size_t n = candidates(r->target, &c);
    tb_error first = {0}, why = {0};
    bool found = false;
    for (size_t i = 0; !found && i < n; ++i) {
        found = decides(c[i].path, r, &why);
        /* a newer attempt that stopped before its first checkpoint was
         * after the complete run: there is nothing to resume, and the
         * complete file is not its result */
        if (found && r->complete && first.message) {
            found = false;
            free(r->source);
            r->source = NULL;
            break;
        }
        if (!found) {
            clear_facts(r);
            if (!first.message) {
                first = why;
                why = (tb_error){0};
            }
        }
        tb_error_clear(&why);
    }
    for (size_t i = 0; i < n; ++i) {
        if (found && strcmp(c[i].path, r->target) != 0 && tb_grow((void **)&r->partials, &r->cap_partials,
                                                                   r->n_partials, sizeof *r->partials))
            r->partials[r->n_partials++] = c[i].path;
        else
            free(c[i].path);
    }
    free(c);
    tb_status st = TB_OK;
    if (!found && n == 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no such file, and no %s.partial-* beside it", path, r->target);
    else if (!found)
        st = tb_error_set(err, first.status, "%s", first.message);
    tb_error_clear(&first);
    return st;
}

tb_status tb_resume_find(const char *path, tb_resume *r, tb_error *err)
{
    *r = (tb_resume){0};
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status st = find(path, r, err);
    tb_h5_quiet_end(q);
    if (st != TB_OK)
        tb_resume_clear(r);
    return st;
}

void tb_resume_clear(tb_resume *r)
{
    if (!r)
        return;
    clear_facts(r);
    for (size_t i = 0; i < r->n_partials; ++i)
        free(r->partials[i]);
    free(r->partials);
    free(r->target);
    free(r->source);
    *r = (tb_resume){0};
}

tb_status tb_resume_tidy(const tb_resume *r, tb_error *err)
{
    /* a complete partial file is a result that was not yet renamed when
     * its run was killed: it is the target's content */
    if (r->complete && r->source && strcmp(r->source, r->target) != 0 && rename(r->source, r->target) != 0)
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot rename the complete result %s to it: %s", r->target,
                            r->source, strerror(errno));
    for (size_t i = 0; i < r->n_partials; ++i)
        if (!r->complete || strcmp(r->partials[i], r->source) != 0)
            unlink(r->partials[i]);
    return TB_OK;
}
