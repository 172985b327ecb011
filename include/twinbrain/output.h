/* The HDF5 output file (layout in DESIGN.md section 6 and docs/formats.md).
 *
 * Lifecycle: create -> write attributes, fixed arrays and create the
 * extendible datasets -> tb_output_go_live() -> append rows as the run goes
 * (each append is flushed, so a killed run leaves a readable file up to the
 * last append) -> tb_output_close() with the final attributes written.
 *
 * Every failure has a message naming the file and the object; HDF5
 * itself prints nothing. A write the file system refuses (disk full,
 * quota, file size limit) is TB_ERR_INPUT; every other failure is
 * TB_ERR_OTHER. After a refused write nothing more reaches the disk, so
 * the file stays as it was after the last successful append (readable up
 * to there) and closing it never crashes. A file whose writer was killed after
 * tb_output_go_live() keeps every appended row but is still marked "open
 * for writing": read it as a SWMR reader (h5py: File(path, "r", swmr=True))
 * or make it an ordinary file with `h5clear -s --increment=0 PATH`. */
#ifndef TWINBRAIN_OUTPUT_H
#define TWINBRAIN_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_dtype {
    TB_F32,
    TB_F64,
    TB_I32,
    TB_I64,
    TB_U8,
    TB_U64
} tb_dtype;

typedef struct tb_output tb_output;
typedef struct tb_dataset tb_dataset;

/* Open a closed output file again to add objects and attributes (not
 * live: no SWMR); close it with tb_output_close(o, NULL, err). */
tb_status tb_output_reopen(const char *path, tb_output **out, tb_error *err);

/* Create the file. When nothing is at `path` the file is written as
 * PATH.partial-XXXXXX until tb_output_go_live() (or the close, for a file
 * that never goes live), then linked to `path` (never replacing a file
 * that appeared there meanwhile), so that the name never shows a file
 * HDF5 cannot open yet. An existing regular file is not touched until
 * tb_output_close() succeeds: the new file is written beside it as
 * PATH.partial-XXXXXX and renamed over it at the close (over the file a
 * symbolic link points to, for a link), so a failure, a crash or a reader
 * that has the old file open never loses it. Anything else at `path`
 * (a folder, a device, a pipe), missing parent folders and an unwritable
 * location are errors (TB_ERR_OTHER naming the path). */
tb_status tb_output_create(const char *path, tb_output **out, tb_error *err);

/* Attributes on an object (group or dataset) given by absolute path; "/" is
 * the root. Groups on the path are created as needed. */
tb_status tb_output_attr_string(tb_output *o, const char *obj, const char *name, const char *value,
                                tb_error *err);
tb_status tb_output_attr_strings(tb_output *o, const char *obj, const char *name,
                                 const char *const *values, size_t n, tb_error *err);
tb_status tb_output_attr_double(tb_output *o, const char *obj, const char *name, double value,
                                tb_error *err);
tb_status tb_output_attr_int(tb_output *o, const char *obj, const char *name, int64_t value,
                             tb_error *err);

/* A fixed-size dataset written at once ([B] sweep values, labels...). */
tb_status tb_output_write_array(tb_output *o, const char *path, tb_dtype type, int rank,
                                const uint64_t *dims, const void *data, tb_error *err);
tb_status tb_output_write_strings(tb_output *o, const char *path, const char *const *values,
                                  size_t n, tb_error *err);

/* An extendible dataset [*, dims...] growing along its first axis; chunked
 * (about `chunk_rows` rows a chunk) and deflate-compressed. rank counts the
 * first axis too; dims has rank-1 entries (the fixed trailing sizes).
 * Chunks are capped near 1 MiB by taking fewer rows (never fewer than
 * one); chunk_rows = 0 asks for as many rows as fit in 1 MiB. */
tb_status tb_output_dataset_create(tb_output *o, const char *path, tb_dtype type, int rank,
                                   const uint64_t *dims, uint64_t chunk_rows, tb_dataset **ds,
                                   tb_error *err);
/* Append `rows` rows of data (row-major, the trailing dims); 0 rows is a
 * no-op. The dataset belongs to the output: the handle is valid until
 * tb_output_close() or tb_output_abort(). After a failed append or flush
 * the file refuses further writes (its state is unknown) but can still be
 * closed. */
tb_status tb_output_dataset_append(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err);
uint64_t tb_output_dataset_rows(const tb_dataset *ds);

/* Every object exists now: switch to single-writer/multiple-reader mode, so
 * readers may open the file while it grows and a killed process leaves a
 * consistent file. No new objects or attributes may be created after this
 * until tb_output_close(). */
tb_status tb_output_go_live(tb_output *o, tb_error *err);

/* Make every append so far durable (called once per chunk). */
tb_status tb_output_flush(tb_output *o, tb_error *err);

/* Close, then write the final root attributes (wall_seconds, steps...) given
 * as name/value pairs; any of the arrays may be NULL; then, when the file
 * replaces an existing one, rename it into place. After a refused write
 * (see above) no final attributes are written and nothing is renamed: the
 * error (TB_ERR_INPUT) says where the rows written so far are. */
typedef struct tb_output_final {
    const char *const *double_names;
    const double *double_values;
    size_t n_doubles;
    const char *const *int_names;
    const int64_t *int_values;
    size_t n_ints;
    const char *const *string_names;
    const char *const *string_values;
    size_t n_strings;
} tb_output_final;
tb_status tb_output_close(tb_output *o, const tb_output_final *final, tb_error *err);

/* Abandon: close handles without final attributes (error paths); the
 * rows written stay in the file (under its temporary name when it was to
 * replace an existing file, which is left as it was). */
void tb_output_abort(tb_output *o);
/* Abandon and remove the file tb_output_create() made (errors before a
 * run starts leave nothing behind; an existing file is left as it was). */
void tb_output_discard(tb_output *o);

const char *tb_output_path(const tb_output *o);
/* The name the file is being written under: OUT.partial-XXXXXX until it
 * goes live (or, replacing a file, until it is closed), then its path. */
const char *tb_output_file_name(const tb_output *o);

/* Seconds spent so far appending rows and flushing (for profiles). */
double tb_output_busy_seconds(const tb_output *o);

/* Checkpoints and resuming (docs/formats.md, "Checkpoints").
 *
 * The datasets of the file in the order they were created (the whole
 * file's, not a part's), with their path and the rows written so far. */
size_t tb_output_dataset_count(const tb_output *o);
tb_dataset *tb_output_dataset_at(const tb_output *o, size_t i);
const char *tb_output_dataset_path(const tb_dataset *ds);
/* An extendible dataset of bytes [*] stored as it is (no compression,
 * chunks of 1 MiB), so that rewriting it with as many bytes as before
 * writes its chunks in place rather than allocating new ones. */
tb_status tb_output_blob_create(tb_output *o, const char *path, tb_dataset **ds, tb_error *err);
/* Replace the whole content of an extendible dataset with `rows` rows (the
 * extent grows or shrinks to exactly that), and flush it; allowed on a
 * live file, where a checkpoint slot is rewritten this way. */
tb_status tb_output_dataset_rewrite(tb_dataset *ds, const void *data, uint64_t rows, tb_error *err);
/* Copy the first rows[i] rows of each dataset paths[i] of the HDF5 file
 * `source` (opened read-only, as a SWMR reader when it was never closed)
 * into the same dataset of this output, which must still be empty and
 * have the same element type class and trailing shape: a resumed run gets
 * the rows its interrupted run wrote up to the checkpoint, and none that
 * it wrote after it. Parts (tb_output_part) made before the copy then
 * count those rows as theirs (tb_output_part_follow). */
tb_status tb_output_copy_rows(tb_output *o, const char *source, size_t n, const char *const *paths,
                              const uint64_t *rows, tb_error *err);
void tb_output_part_follow(tb_output *part);

/* A part of an output shared by several simulations, each running the
 * instances [first, first + count) of a run of `total` (several devices in
 * one run). A part is used like the output itself, before and after
 * tb_output_go_live() on the whole file:
 *   - an extendible dataset of rank >= 2 whose second axis has `count`
 *     entries has the instance axis there (the layout of docs/formats.md):
 *     the file's dataset is created once, with `total` entries on that
 *     axis, and each part writes its own columns; its rows are counted per
 *     part (a part appends its rows 0, 1, ... wherever the others are);
 *   - everything else (attributes, fixed arrays, datasets without an
 *     instance axis such as sample times) is the same in every part and
 *     is written by the primary part only.
 * Free a part before closing the whole file. */
tb_status tb_output_part(tb_output *whole, uint64_t first, uint64_t count, uint64_t total, bool primary,
                         tb_output **part, tb_error *err);
void tb_output_part_free(tb_output *part);

#ifdef __cplusplus
}
#endif
#endif
