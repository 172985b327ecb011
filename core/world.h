/* The processes of one run (MPI ranks, docs/mpi.md). A build without MPI
 * (the default), and a process the command did not start under an MPI
 * launcher, is a world of one: rank 0 of 1, and none of the exchanges
 * below is ever needed.
 *
 * Rank 0 writes the output; every exchange is with it. The communicator
 * returns errors instead of aborting, so a rank that dies is reported by
 * the survivors (rank 0 closes its file) rather than killing them. */
#ifndef TWINBRAIN_WORLD_H
#define TWINBRAIN_WORLD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

/* Start MPI when the process was started by an MPI launcher (mpirun,
 * mpiexec, srun: their environment says so); otherwise, and without MPI,
 * do nothing. Call once, from the command's main. */
tb_status tb_world_start(int *argc, char ***argv, tb_error *err);
/* `status`: the command's exit status, passed to MPI_Abort when a rank was
 * lost (MPI_Finalize would wait for it). */
void tb_world_end(int status);
/* Whether MPI was started (even with one rank). */
bool tb_world_active(void);
int tb_world_rank(void);
/* The run's stop flag (Ctrl-C, SIGTERM): a process asked to stop waits
 * a quarter of a second for the others, then gives up (TB_ERR_INTERRUPTED),
 * so that rank 0 closes the file before mpirun's SIGKILL when a rank died. */
void tb_world_watch(volatile sig_atomic_t *stop);
/* Whether a communication failed (a rank was lost): no more exchanges. */
bool tb_world_broken(void);
int tb_world_size(void);
/* "Open MPI v4.1.4" (the library's own words, first line), or "". */
const char *tb_world_library(void);

/* Every rank calls these together. */
/* Each value becomes the largest any rank gave. */
tb_status tb_world_max(uint64_t *values, int n, tb_error *err);
/* Each value becomes the sum over the ranks. */
tb_status tb_world_sum(double *values, int n, tb_error *err);

/* The run goes on only if every rank's step succeeded: every rank gives
 * its status; rank 0 gets its own error, else the first failing rank's
 * ("rank R: ..."), and every rank returns rank 0's verdict (a rank that
 * did not fail itself says that another did). */
tb_status tb_world_verdict(tb_status st, tb_error *err);

/* Every rank's message to every rank (MPI_Allgatherv): `mine` is this
 * rank's (n bytes, under 2 GiB); *all gets the messages in rank order
 * (malloc'd), sizes[r] (tb_world_size() entries, the caller's) rank r's
 * length. A world of one copies `mine`. */
tb_status tb_world_allgather(const void *mine, size_t n, void **all, size_t *sizes, tb_error *err);

/* Point to point with rank 0: a message of any size. */
tb_status tb_world_send(const void *data, size_t n, tb_error *err);
tb_status tb_world_recv(int from, void **data, size_t *n, tb_error *err);

#endif
