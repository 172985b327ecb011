/* OpenCL programs: source assembled from the shared kernel library plus a
 * plugin's snippet, `real` typedef'd by precision, built once per device and
 * cached on disk. */
#ifndef TWINBRAIN_PROGRAM_H
#define TWINBRAIN_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "twinbrain/device.h"
#include "twinbrain/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_precision { TB_SINGLE = 0, TB_DOUBLE = 1 } tb_precision;
const char *tb_precision_name(tb_precision p); /* "single" / "double" */

/* One piece of program text. `file` names a file of the kernel library
 * (looked up in tb_kernel_dir()); otherwise `text` is used and `label`
 * names it in build logs ("plugin jansen_rit"). */
typedef struct tb_program_part {
    const char *file;
    const char *text;
    const char *label;
} tb_program_part;

/* Where the kernel library is read from: $TWINBRAIN_KERNEL_PATH, else the
 * installed $(pkgdatadir)/kernels. */
const char *tb_kernel_dir(void);

/* Where built binaries are cached: $TWINBRAIN_CACHE_DIR, else
 * $XDG_CACHE_HOME/twinbrain, else ~/.cache/twinbrain. The text lives in a
 * per-thread buffer, valid until this thread calls again; NULL when no
 * location can be found (no HOME), in which case nothing is cached.
 * $TWINBRAIN_NO_CACHE=1 turns the cache off. */
const char *tb_cache_dir(void);

/* Concatenate: a prelude (precision pragmas, `typedef float|double real;`,
 * TB_DOUBLE defined for double; also real2, real4, TB_REAL_MAX, TB_REAL_MIN,
 * TB_REAL_EPSILON and TB_R(x), a constant of type real), then the parts in
 * order, each preceded by a comment naming it and a #line directive so
 * build logs point into the part. Returns malloc'd text or NULL (err set,
 * TB_ERR_INPUT for a missing kernel file). */
char *tb_program_assemble(tb_precision precision, const tb_program_part *parts, size_t n,
                          tb_error *err);

typedef struct tb_program tb_program;

typedef struct tb_program_stats {
    double build_seconds; /* compile time, or cache-load time on a hit */
    bool from_cache;
} tb_program_stats;

/* Build `source` for the device with `options` (the Random123 include path
 * is added by this function). Uses the on-disk cache
 * keyed by platform, device, driver version, options and source hash; a
 * corrupt or unloadable cache entry is rebuilt. A failed build is
 * TB_ERR_DEVICE whose message carries the device's build log. */
tb_status tb_program_build(tb_device *dev, const char *source, const char *options,
                           const char *label, tb_program **out, tb_error *err);
void tb_program_free(tb_program *prog);
cl_program tb_program_handle(const tb_program *prog);
const tb_program_stats *tb_program_get_stats(const tb_program *prog);

/* Create a kernel; a missing kernel name is TB_ERR_DEVICE. */
cl_kernel tb_program_kernel(tb_program *prog, const char *name, tb_error *err);

#ifdef __cplusplus
}
#endif
#endif
