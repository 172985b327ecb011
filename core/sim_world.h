/* A run over MPI ranks (docs/mpi.md): the driver's side of it.
 *
 * The sweep's instances are divided over the ranks (contiguous ranges, as
 * over the devices of one process), and each rank divides its range over
 * its devices. Rank 0 writes the one output file: the other ranks run
 * their parts through a remote output (output_remote.h) whose shapes and
 * rows are shipped to rank 0 after every chunk and written there where a
 * local part would have written them, so the file is the one a single
 * process would write. Every step that can fail ends in a verdict all
 * ranks share (tb_world_verdict), so a failure anywhere ends the run
 * everywhere, with rank 0 reporting it. */
#ifndef TWINBRAIN_SIM_WORLD_H
#define TWINBRAIN_SIM_WORLD_H

#include "twinbrain/device.h"
#include "twinbrain/output.h"
#include "twinbrain/sim.h"

typedef struct tb_sim_world tb_sim_world;

/* One part (a device's share) as rank 0 knows it. */
typedef struct tb_world_part {
    int rank;
    char *device, *platform, *driver;
    int index;
    size_t first, count;
} tb_world_part;

/* This rank's instances of `total`: contiguous, the first ranks taking one
 * more; an error when some rank would have none. */
tb_status tb_sim_world_split(size_t total, size_t *first, size_t *count, tb_error *err);

/* Collective, after each rank made its parts (or failed, `st`): rank 0
 * learns every rank's parts; the verdict is shared. *w is NULL in a world
 * of one. */
tb_status tb_sim_world_setup(tb_sim_world **w, tb_status st, tb_device *const *devs, const size_t *first,
                             const size_t *count, size_t n, tb_error *err);
void tb_sim_world_free(tb_sim_world *w);

/* Every part of the run, rank 0's first (rank 0 only; others see theirs). */
size_t tb_sim_world_parts(const tb_sim_world *w);
const tb_world_part *tb_sim_world_part(const tb_sim_world *w, size_t k);

/* Ranks other than 0: the output their parts write through. */
tb_status tb_sim_world_output(tb_sim_world *w, const char *path, tb_output **out, tb_error *err);

/* Collective, after the parts declared their datasets: rank 0 declares the
 * other ranks' in its file (`out`; NULL elsewhere). No verdict: rank 0
 * still has to take the file live. */
tb_status tb_sim_world_declare(tb_sim_world *w, tb_output *out, tb_status st, tb_error *err);

/* Collective, before each chunk: *n becomes rank 0's chunk, *stop whether
 * any rank was asked to stop. */
tb_status tb_sim_world_agree(tb_sim_world *w, uint64_t *n, bool *stop, tb_error *err);

/* Collective, after each chunk (`st`: this rank's): the other ranks' rows
 * reach rank 0's file; the verdict is shared. */
tb_status tb_sim_world_exchange(tb_sim_world *w, tb_output *out, tb_status st, tb_error *err);

/* Collective, at the end of a run: rank 0 keeps the other ranks'
 * instances, samples and figures (`local`: this rank's summary) and their
 * instances' scores (`scores[k]`: part k's, instances first[k] to
 * first[k] + count[k] - 1; NULL when the kit has none). */
tb_status tb_sim_world_collect(tb_sim_world *w, const tb_sim_summary *local, const double *const *scores,
                               const size_t *first, const size_t *count, size_t n, tb_error *err);
/* Rank 0: the other ranks' figures added to `s`. */
void tb_sim_world_add(const tb_sim_world *w, tb_sim_summary *s);
/* Rank 0: the other ranks' scores in `all` (every instance of the run). */
void tb_sim_world_scores(const tb_sim_world *w, double *all);

#endif
