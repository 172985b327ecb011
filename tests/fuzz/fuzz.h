/* Shared by the fuzz harnesses (tests/fuzz/README.md). Each harness
 * defines LLVMFuzzerTestOneInput: libFuzzer drives it in a build with
 * clang -fsanitize=fuzzer (make fuzz); tests/fuzz/replay.c drives it as a
 * plain program, which is how make check replays the corpus and every
 * crash ever found without clang. */
#ifndef TWINBRAIN_FUZZ_H
#define TWINBRAIN_FUZZ_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the harness checks does not hold: abort, which libFuzzer
 * records as a crash and the replay as a failed test. */
#define FUZZ_ASSERT(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

static inline void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: fuzz property violated: %s\n", file, line, what);
    abort();
}

/* FUZZ_VERBOSE=1: harnesses say what became of each input. */
static inline bool fuzz_verbose(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("FUZZ_VERBOSE");
        v = e && *e && strcmp(e, "0") != 0;
    }
    return v;
}

/* ------------------------------------------------------------ scratch */

static char fuzz_scratch_dir[256];

static inline void fuzz_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[1024];
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) < (int)sizeof child)
            fuzz_remove_tree(child);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

static inline void fuzz_scratch_remove(void)
{
    if (fuzz_scratch_dir[0])
        fuzz_remove_tree(fuzz_scratch_dir);
}

/* The process's own scratch folder (under $TMPDIR), removed at exit;
 * inputs that must be files (scenarios, HDF5) are written there. */
static inline const char *fuzz_scratch(void)
{
    if (fuzz_scratch_dir[0])
        return fuzz_scratch_dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_scratch_dir, sizeof fuzz_scratch_dir, "%s/twinbrain-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_scratch_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_scratch_remove);
    return fuzz_scratch_dir;
}

/* scratch/NAME, in a static buffer per call site's `buf`. */
static inline const char *fuzz_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", fuzz_scratch(), name);
    return buf;
}

static inline bool fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* ------------------------------------------------------------ bytes
 *
 * The structured harnesses (HDF5 files, plugin descriptors) read the input
 * as a stream of choices; past its end every read gives zeros, so any
 * input describes something. */

typedef struct fuzz_bytes {
    const uint8_t *p;
    size_t n;
} fuzz_bytes;

static inline uint8_t fb_u8(fuzz_bytes *b)
{
    if (!b->n)
        return 0;
    b->n--;
    return *b->p++;
}

static inline uint32_t fb_u32(fuzz_bytes *b)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fb_u8(b);
    return v;
}

/* One of `n` choices. */
static inline unsigned fb_pick(fuzz_bytes *b, unsigned n)
{
    return n ? fb_u8(b) % n : 0;
}

/* Mostly values that sit on the checks' edges, sometimes any 8 bytes. */
static inline double fb_double(fuzz_bytes *b)
{
    static const double edge[] = {0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 10.0, 1e-300, -0.0, 255.0, 256.0, 1e308,
                                  -1e308, 4294967296.0, 9.3e18, 2.2250738585072014e-308};
    unsigned k = fb_u8(b);
    if (k < 2 * sizeof edge / sizeof edge[0])
        return edge[k / 2];
    if (k < 240) {
        static const uint64_t special[] = {0x7FF0000000000000ull, 0xFFF0000000000000ull, 0x7FF8000000000000ull,
                                           0xFFF8000000000000ull, 0x0000000000000001ull};
        uint64_t u = special[k % 5];
        double d;
        memcpy(&d, &u, sizeof d);
        return k < 40 ? d : (double)(int)(k - 128);
    }
    uint64_t u = (uint64_t)fb_u32(b) << 32 | fb_u32(b);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Strings live in an arena freed after each input. */
typedef struct fuzz_arena {
    void *ptr[4096];
    size_t n;
} fuzz_arena;

static inline void *fa_keep(fuzz_arena *a, void *p)
{
    if (!p)
        abort();
    if (a->n == sizeof a->ptr / sizeof a->ptr[0]) {
        free(p);
        return NULL;
    }
    return a->ptr[a->n++] = p;
}

static inline void *fa_calloc(fuzz_arena *a, size_t n, size_t size)
{
    return fa_keep(a, calloc(n ? n : 1, size));
}

static inline void fa_free(fuzz_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->ptr[i]);
    a->n = 0;
}

/* A string from `pool` (names that meet the checks' rules and clash
 * with one another), NULL, or up to 31 raw bytes. */
static inline const char *fb_string(fuzz_bytes *b, fuzz_arena *a, const char *const *pool, size_t n_pool)
{
    unsigned k = fb_u8(b);
    if (k == 0)
        return NULL;
    if (k <= 2 * n_pool)
        return pool[(k - 1) % n_pool];
    size_t len = fb_u8(b) % 32;
    char *s = fa_calloc(a, len + 1, 1);
    for (size_t i = 0; s && i < len; i++)
        s[i] = (char)fb_u8(b);
    return s;
}

#endif
