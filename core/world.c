/* The processes of one run: MPI when built with it (world.h). */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "world.h"

#ifdef TB_HAVE_MPI

#include <mpi.h>

static bool active;
static int rank_, size_ = 1;
static char library[MPI_MAX_LIBRARY_VERSION_STRING];
static bool broken; /* a communication failed: a rank is gone */
static volatile sig_atomic_t *stop_flag;

/* A stopped process (Ctrl-C, or mpirun stopping every rank because one
 * died) waits this long for the others to answer, then closes what it
 * writes: mpirun sends SIGKILL 1 s after SIGTERM. */
#define STOP_GRACE_SECONDS 0.25
#define GAVE_UP (-12345)

/* A launcher leaves its mark in the environment of every process it
 * starts: Open MPI's mpirun, PMIx (srun --mpi=pmix, Open MPI 4 and
 * later), PMI (srun --mpi=pmi2, MPICH's mpiexec). TWINBRAIN_MPI=1 or 0
 * overrides. */
static bool launched(void)
{
    const char *force = getenv("TWINBRAIN_MPI");
    if (force && *force)
        return strcmp(force, "0") != 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("PMI_SIZE");
}

/* Wait for a request without spinning on a core other ranks may need
 * (oversubscribed hosts), and give up shortly after a stop. */
static int wait_for(MPI_Request *req)
{
    long pause_ns = 1000;
    double stopped_at = 0;
    for (;;) {
        int done = 0;
        int code = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS || done)
            return code;
        if (stop_flag && *stop_flag) {
            double now = tb_now();
            if (stopped_at == 0)
                stopped_at = now;
            else if (now - stopped_at > STOP_GRACE_SECONDS)
                return GAVE_UP;
        }
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
        if (pause_ns < 1000000)
            pause_ns *= 2;
    }
}

static tb_status mpi_fail(int code, const char *what, tb_error *err)
{
    broken = true;
    if (code == GAVE_UP)
        return tb_error_set(err, TB_ERR_INTERRUPTED,
                            "MPI: rank %d: stopped while %s; output kept up to the last complete chunk (mpirun "
                            "stops every rank when one of them dies: see its message)",
                            rank_, what);
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(code, text, &len);
    return tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d: %s failed: %s (a rank was lost?)", rank_, what, text);
}

tb_status tb_world_start(int *argc, char ***argv, tb_error *err)
{
    if (active || !launched())
        return TB_OK;
    int code = MPI_Init(argc, argv);
    if (code != MPI_SUCCESS)
        return tb_error_set(err, TB_ERR_OTHER, "MPI: cannot start (MPI_Init failed)");
    active = true;
    /* a lost rank is reported by the survivors, who close what they write */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    int len = 0;
    MPI_Get_library_version(library, &len);
    library[strcspn(library, ",\n")] = '\0';
    return TB_OK;
}

void tb_world_end(int status)
{
    /* after a lost rank, MPI_Finalize would wait for it forever */
    if (active && broken)
        MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
    if (active)
        MPI_Finalize();
    active = false;
}

bool tb_world_broken(void)
{
    return broken;
}

void tb_world_watch(volatile sig_atomic_t *stop)
{
    stop_flag = stop;
}

bool tb_world_active(void)
{
    return active;
}

int tb_world_rank(void)
{
    return rank_;
}

int tb_world_size(void)
{
    return size_;
}

const char *tb_world_library(void)
{
    return library;
}

/* After a failed exchange nothing more can be agreed on. */
static tb_status lost(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d: an earlier exchange failed; the ranks cannot go on", rank_);
}

tb_status tb_world_max(uint64_t *values, int n, tb_error *err)
{
    if (!active) /* a world of one */
        return TB_OK;
    if (broken)
        return lost(err);
    MPI_Request req;
    int code = MPI_Iallreduce(MPI_IN_PLACE, values, n, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD, &req);
    if (code == MPI_SUCCESS)
        code = wait_for(&req);
    return code == MPI_SUCCESS ? TB_OK : mpi_fail(code, "agreeing on the next chunk", err);
}

tb_status tb_world_sum(double *values, int n, tb_error *err)
{
    if (!active) /* a world of one */
        return TB_OK;
    if (broken)
        return lost(err);
    MPI_Request req;
    int code = MPI_Iallreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &req);
    if (code == MPI_SUCCESS)
        code = wait_for(&req);
    return code == MPI_SUCCESS ? TB_OK : mpi_fail(code, "adding up the ranks' figures", err);
}

tb_status tb_world_allgather(const void *mine, size_t n, void **all, size_t *sizes, tb_error *err)
{
    *all = NULL;
    if (!active) { /* a world of one */
        sizes[0] = n;
        *all = malloc(n + 1);
        if (*all)
            memcpy(*all, mine, n);
        return *all ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    if (broken)
        return lost(err);
    if (n > INT_MAX)
        return tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d: a message of %zu bytes to every rank is too long", rank_,
                            n);
    int *counts = malloc((size_t)size_ * 2 * sizeof *counts), *displs = counts ? counts + size_ : NULL;
    if (!counts)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    int len = (int)n;
    MPI_Request req;
    int code = MPI_Iallgather(&len, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD, &req);
    if (code == MPI_SUCCESS)
        code = wait_for(&req);
    if (code != MPI_SUCCESS) {
        free(counts);
        return mpi_fail(code, "exchanging with every rank", err);
    }
    size_t total = 0;
    for (int r = 0; r < size_; ++r) {
        displs[r] = (int)total;
        sizes[r] = (size_t)counts[r];
        total += (size_t)counts[r];
    }
    char *buf = total <= INT_MAX ? malloc(total + 1) : NULL;
    if (!buf) {
        free(counts);
        return tb_error_set(err, TB_ERR_OTHER, "MPI: rank %d: no room for %zu bytes from every rank", rank_, total);
    }
    code = MPI_Iallgatherv(mine, len, MPI_BYTE, buf, counts, displs, MPI_BYTE, MPI_COMM_WORLD, &req);
    if (code == MPI_SUCCESS)
        code = wait_for(&req);
    free(counts);
    if (code != MPI_SUCCESS) {
        free(buf);
        return mpi_fail(code, "exchanging with every rank", err);
    }
    *all = buf;
    return TB_OK;
}

/* Messages go in pieces MPI's int counts can hold, after their size. */
#define PIECE ((size_t)1 << 30)
enum { TAG_SIZE = 1, TAG_DATA = 2 };

tb_status tb_world_send(const void *data, size_t n, tb_error *err)
{
    if (broken)
        return lost(err);
    uint64_t size = n;
    MPI_Request req;
    int code = MPI_Isend(&size, 1, MPI_UINT64_T, 0, TAG_SIZE, MPI_COMM_WORLD, &req);
    if (code == MPI_SUCCESS)
        code = wait_for(&req);
    for (size_t at = 0; code == MPI_SUCCESS && at < n; at += PIECE) {
        size_t piece = n - at < PIECE ? n - at : PIECE;
        code = MPI_Isend((const char *)data + at, (int)piece, MPI_BYTE, 0, TAG_DATA, MPI_COMM_WORLD, &req);
        if (code == MPI_SUCCESS)
            code = wait_for(&req);
    }
    return code == MPI_SUCCESS ? TB_OK : mpi_fail(code, "sending to rank 0", err);
}

static tb_status recv_failed(int code, int from, tb_error *err)
{
    char what[48];
    snprintf(what, sizeof what, "receiving from rank %d", from);
    return mpi_fail(code, what, err);
}

tb_status tb_world_recv(int from, void **data, size_t *n, tb_error *err)
{
    if (broken)
        return lost(err);
    uint64_t size = 0;
    *data = NULL;
    *n = 0;
    MPI_Request req;
    int code = MPI_Irecv(&size, 1, MPI_UINT64_T, from, TAG_SIZE, MPI_COMM_WORLD, &req);
    if (code == MPI_SUCCESS)
        code = wait_for(&req);
    if (code != MPI_SUCCESS)
        return recv_failed(code, from, err);
    char *buf = size < SIZE_MAX ? malloc((size_t)size + 1) : NULL;
    if (!buf)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory for %llu bytes from rank %d",
                            (unsigned long long)size, from);
    for (size_t at = 0; code == MPI_SUCCESS && at < size; at += PIECE) {
        size_t piece = size - at < PIECE ? (size_t)size - at : PIECE;
        code = MPI_Irecv(buf + at, (int)piece, MPI_BYTE, from, TAG_DATA, MPI_COMM_WORLD, &req);
        if (code == MPI_SUCCESS)
            code = wait_for(&req);
    }
    if (code != MPI_SUCCESS) {
        free(buf);
        return recv_failed(code, from, err);
    }
    *data = buf;
    *n = (size_t)size;
    return TB_OK;
}

tb_status tb_world_verdict(tb_status st, tb_error *err)
{
    if (!active)
        return st;
    if (broken)
        return st != TB_OK ? st : lost(err);
    tb_status verdict = st;
    if (rank_ != 0) {
        const char *msg = st != TB_OK && err ? tb_error_message(err) : "";
        size_t len = strlen(msg);
        char *m = malloc(len + sizeof(int32_t));
        if (!m)
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        int32_t code = st;
        memcpy(m, &code, sizeof code);
        memcpy(m + sizeof code, msg, len);
        tb_status sent = tb_world_send(m, len + sizeof code, err);
        free(m);
        if (sent != TB_OK)
            return sent;
    }
    for (int r = 1; rank_ == 0 && r < size_; ++r) {
        void *m = NULL;
        size_t n = 0;
        tb_status got = tb_world_recv(r, &m, &n, err);
        if (got != TB_OK)
            return got;
        int32_t code = TB_OK;
        if (n >= sizeof code)
            memcpy(&code, m, sizeof code);
        if (verdict == TB_OK && code != TB_OK) {
            verdict = (tb_status)code;
            tb_error_set(err, verdict, "rank %d: %.*s", r, (int)(n - sizeof code), (char *)m + sizeof code);
        }
        free(m);
    }
    uint64_t v = rank_ == 0 ? (uint64_t)verdict : 0;
    tb_status agreed = tb_world_max(&v, 1, err);
    if (agreed != TB_OK)
        return agreed;
    verdict = (tb_status)v;
    if (verdict != TB_OK && st == TB_OK && rank_ != 0) /* rank 0 holds the failing rank's message */
        tb_error_set(err, verdict, "rank %d stops: another rank failed (rank 0 reports why)", rank_);
    return verdict;
}

#else /* a world of one */

bool tb_world_broken(void)
{
    return false;
}

void tb_world_watch(volatile sig_atomic_t *stop)
{
    (void)stop;
}

tb_status tb_world_start(int *argc, char ***argv, tb_error *err)
{
    (void)argc;
    (void)argv;
    (void)err;
    return TB_OK;
}

void tb_world_end(int status)
{
    (void)status;
}

bool tb_world_active(void)
{
    return false;
}

int tb_world_rank(void)
{
    return 0;
}

int tb_world_size(void)
{
    return 1;
}

const char *tb_world_library(void)
{
    return "";
}

tb_status tb_world_max(uint64_t *values, int n, tb_error *err)
{
    (void)values;
    (void)n;
    (void)err;
    return TB_OK;
}

tb_status tb_world_sum(double *values, int n, tb_error *err)
{
    (void)values;
    (void)n;
    (void)err;
    return TB_OK;
}

tb_status tb_world_verdict(tb_status st, tb_error *err)
{
    (void)err;
    return st;
}

tb_status tb_world_allgather(const void *mine, size_t n, void **all, size_t *sizes, tb_error *err)
{
    sizes[0] = n;
    *all = malloc(n + 1);
    if (*all && n)
        memcpy(*all, mine, n);
    return *all ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

tb_status tb_world_send(const void *data, size_t n, tb_error *err)
{
    (void)data;
    (void)n;
    return tb_error_set(err, TB_ERR_OTHER, "MPI: not built with MPI (./configure --with-mpi)");
}

tb_status tb_world_recv(int from, void **data, size_t *n, tb_error *err)
{
    (void)from;
    *data = NULL;
    *n = 0;
    return tb_error_set(err, TB_ERR_OTHER, "MPI: not built with MPI (./configure --with-mpi)");
}

#endif
