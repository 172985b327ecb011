/* Outputs written by another process (a run over MPI ranks, docs/mpi.md).
 *
 * A process that does not write the file runs its parts through a *remote*
 * output: used as the whole file by tb_output_part(), it creates no file;
 * the shapes of the datasets its parts declare and the blocks of rows they
 * append (rows x instance columns of the whole dataset) go to a sink, which
 * ships them to the writing process. There they are replayed on the real
 * file: tb_output_remote_declare() finds or creates the dataset (the same
 * check as a second part declaring it), tb_output_remote_write() writes
 * the block where a local part would have. Attributes, fixed arrays and
 * datasets without an instance axis are the primary part's, which is
 * never remote, so a remote output drops them. */
#ifndef TWINBRAIN_OUTPUT_REMOTE_H
#define TWINBRAIN_OUTPUT_REMOTE_H

#include "twinbrain/output.h"

typedef struct tb_output_sink {
    void *ctx;
    /* A dataset of the whole file: dims has rank - 1 entries (the instance
     * axis first for rank >= 2, with every instance of the run). */
    tb_status (*create)(void *ctx, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                        uint64_t chunk_rows, tb_error *err);
    /* Rows [row0, row0 + rows) x instances [col0, col0 + cols): `bytes`
     * bytes, rows outermost. */
    tb_status (*block)(void *ctx, const char *path, uint64_t row0, uint64_t rows, uint64_t col0, uint64_t cols,
                       const void *data, uint64_t bytes, tb_error *err);
} tb_output_sink;

/* `path` names the file in messages only. */
tb_status tb_output_remote(const char *path, const tb_output_sink *sink, tb_output **out, tb_error *err);
void tb_output_remote_free(tb_output *o);

tb_status tb_output_remote_declare(tb_output *o, const char *path, tb_dtype type, int rank, const uint64_t *dims,
                                   uint64_t chunk_rows, tb_error *err);
tb_status tb_output_remote_write(tb_output *o, const char *path, uint64_t row0, uint64_t rows, uint64_t col0,
                                 uint64_t cols, const void *data, uint64_t bytes, tb_error *err);

#endif
