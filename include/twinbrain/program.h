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

/* Where a built program came from. */
typedef enum tb_program_origin {
    TB_PROGRAM_COMPILED = 0, /* compiled from source now */
    TB_PROGRAM_CACHED = 1,   /* loaded from the on-disk cache */
    TB_PROGRAM_PREBUILT = 2  /* loaded from a kernels folder (twinbrain kernels build, aoc, v++) */
} tb_program_origin;
const char *tb_program_origin_name(tb_program_origin o); /* "compiled", "cache", "prebuilt" */

/* A program's file name stem in a kernels folder: LABEL-HASH, the label
 * made file-safe and 16 hex digits of a SHA-256 over the build options and
 * the source. It does not depend on the device, so the same name serves a
 * vendor's offline compiler. */
#define TB_PROGRAM_NAME_MAX 80

typedef struct tb_program_stats {
    double build_seconds; /* compile time, or cache-load time on a hit */
    bool from_cache;
    tb_program_origin origin;
    char name[TB_PROGRAM_NAME_MAX];
    char binary_path[1024]; /* the prebuilt binary loaded, when origin is PREBUILT */
} tb_program_stats;

/* Where programs may come from, per opened device. The defaults come from
 * the environment: $TWINBRAIN_KERNELS_DIR and $TWINBRAIN_NO_COMPILE=1.
 *
 * kernels_dir: a folder of prebuilt binaries, NAME.bin (what `twinbrain
 *   kernels build` writes), NAME.aocx (Intel's aoc) or NAME.xclbin
 *   (AMD/Xilinx's v++), NAME as in tb_program_stats.name. A binary found
 *   there is used before the cache; one the driver refuses is an error.
 * no_compile: never compile source (also implied by a device without an
 *   online compiler); a program found neither in kernels_dir nor in the
 *   cache is then an error that names the missing file.
 * export_dir: also write each program's binary (NAME.bin) and source
 *   (NAME.cl) there (`twinbrain kernels build`).
 * build_hint: the command that builds the missing binaries, quoted in
 *   that error (the command line knows the scenario; the library does not). */
typedef struct tb_program_options {
    const char *kernels_dir;
    bool no_compile;
    const char *export_dir;
    const char *build_hint;
} tb_program_options;

/* Set a device's program options (copied; NULL fields fall back to the
 * environment). Call before building programs on the device. */
tb_status tb_device_set_program_options(tb_device *dev, const tb_program_options *opt, tb_error *err);
/* The effective options: what was set, else the environment. */
void tb_device_get_program_options(const tb_device *dev, tb_program_options *opt);

/* Build `source` for the device with `options` (the Random123 include path
 * is added by this function). Uses the on-disk cache
 * keyed by platform, device, driver version, options and source hash; a
 * corrupt or unloadable cache entry is rebuilt. A failed build is
 * TB_ERR_DEVICE whose message carries the device's build log; so is a
 * binary in the kernels folder that is not a regular file, is cut short
 * (its declared sizes exceed the file) or that the driver refuses, with a
 * message naming the file. */
tb_status tb_program_build(tb_device *dev, const char *source, const char *options,
                           const char *label, tb_program **out, tb_error *err);
/* Whether tb_program_build would find the program without compiling it:
 * a binary in the kernels folder, or an entry in the cache (not read). */
bool tb_program_is_built(tb_device *dev, const char *source, const char *options, const char *label);
/* Compile `source` without linking, caching or exporting it, only to see
 * whether it compiles: TB_ERR_DEVICE with the build log when it does not,
 * as tb_program_build says it. TB_OK when it compiles, and where nothing
 * may be compiled (no online compiler, no_compile). For a caller that will
 * build a larger program around a smaller part and wants the part's errors
 * reported once, from the part alone. */
tb_status tb_program_check(tb_device *dev, const char *source, const char *options, const char *label,
                           tb_error *err);
/* Whether the device's kernels folder holds a file for this program, the
 * one tb_program_build() loads before anything else. A caller that would
 * build a variant after a failure (the mass kit without vector lanes)
 * must not when the file exists: a damaged or refused prebuilt binary is
 * an error to report, never one to work around. */
bool tb_program_has_prebuilt(const tb_device *dev, const char *source, const char *options, const char *label);
void tb_program_free(tb_program *prog);
cl_program tb_program_handle(const tb_program *prog);
const tb_program_stats *tb_program_get_stats(const tb_program *prog);

/* Create a kernel; a missing kernel name is TB_ERR_DEVICE. */
cl_kernel tb_program_kernel(tb_program *prog, const char *name, tb_error *err);

#ifdef __cplusplus
}
#endif
#endif
