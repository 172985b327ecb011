/* The fuzz harnesses as plain programs: every file named on the command
 * line (folders recursively, in name order) goes once through
 * LLVMFuzzerTestOneInput. With no arguments a harness replays its own
 * folders under $TB_SRCDIR, tests/fuzz/corpus/NAME (the seeds) and
 * tests/fuzz/regressions/NAME (every crash ever found), and the shared
 * corpus FUZZ_SHARED_CORPUS under $TB_SHARED when there is one: that is the
 * make check test. Built with the normal compiler, so it needs no clang; a
 * sanitizer build (CI's) catches what libFuzzer would. FUZZ_VERBOSE=1
 * names each input and what became of it.
 *
 * tests/fuzz/open/NAME holds crashes and hangs whose fix belongs elsewhere
 * (another change, or a library twinbrain uses): each of those inputs runs
 * in a child process with OPEN_SECONDS to finish, and the replay says
 * whether it still crashes or hangs (expected) or not (then it belongs in
 * regressions/NAME), without failing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME names the harness"
#endif

typedef struct tally {
    size_t inputs;
    const char *suffix; /* only files ending so (the shared corpus mixes in JSON) */
    bool open;          /* tests/fuzz/open: known crashes and hangs, run apart */
} tally;

static bool wanted(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = suffix ? strlen(suffix) : 0;
    return name[0] != '.' && n >= k && strcmp(name + n - k, suffix ? suffix : "") == 0;
}

/* A hang is a finding too, but it must not hold up make check. */
#define OPEN_SECONDS 5

/* A known crash or hang: run in a child so that it cannot stop the replay. */
static void replay_apart(const char *path, const uint8_t *data, size_t n)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(OPEN_SECONDS);
        LLVMFuzzerTestOneInput(data, n);
        _exit(0);
    }
    int status = 0;
    bool crashed = pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    printf("fuzz_%s: %s: %s\n", FUZZ_NAME, path,
           crashed ? "still crashes or hangs (open: its fix belongs elsewhere)"
                   : "no longer crashes: move it to tests/fuzz/regressions/" FUZZ_NAME);
}

/* A private copy of exactly the file's size, so that a read past the end
 * of the input is an error under AddressSanitizer. */
static int replay_file(const char *path, tally *t)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *data = malloc(cap);
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            data = realloc(data, cap *= 2);
    }
    fclose(f);
    uint8_t *exact = data ? malloc(n ? n : 1) : NULL;
    if (!exact) {
        free(data);
        fprintf(stderr, "%s: out of memory\n", path);
        return 1;
    }
    memcpy(exact, data, n);
    free(data);
    if (fuzz_verbose())
        fprintf(stderr, "replay %s\n", path);
    if (t->open)
        replay_apart(path, exact, n);
    else
        LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    t->inputs++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay(const char *path, tally *t)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path, t);
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, names[i]->d_name);
        struct stat cs;
        bool dir = stat(child, &cs) == 0 && S_ISDIR(cs.st_mode);
        if (names[i]->d_name[0] != '.' && (dir || wanted(names[i]->d_name, t->suffix)))
            rc |= replay(child, t);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* One of the default folders: `required` ones must exist; `open` ones
 * hold known crashes. */
static int replay_default(const char *root, const char *sub, const char *suffix, bool required, bool open)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, sub);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!required) {
            printf("fuzz_%s: %s absent, skipped\n", FUZZ_NAME, path);
            return 0;
        }
        fprintf(stderr, "fuzz_%s: %s: %s\n", FUZZ_NAME, path, strerror(errno));
        return 1;
    }
    tally t = {0, suffix, open};
    int rc = replay(path, &t);
    printf("fuzz_%s: %zu inputs from %s\n", FUZZ_NAME, t.inputs, path);
    return rc;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        tally t = {0, NULL, false};
        int rc = 0;
        for (int i = 1; i < argc; i++)
            rc |= replay(argv[i], &t);
        printf("fuzz_%s: %zu inputs\n", FUZZ_NAME, t.inputs);
        return rc;
    }
    const char *src = getenv("TB_SRCDIR");
    if (!src) {
        fprintf(stderr, "usage: %s FILE|FOLDER...  (or set TB_SRCDIR: tests/env.sh does)\n", argv[0]);
        return 2;
    }
    int rc = replay_default(src, "tests/fuzz/corpus/" FUZZ_NAME, NULL, true, false);
    rc |= replay_default(src, "tests/fuzz/regressions/" FUZZ_NAME, NULL, true, false);
    rc |= replay_default(src, "tests/fuzz/open/" FUZZ_NAME, NULL, false, true);
#ifdef FUZZ_SHARED_CORPUS
    const char *shared = getenv("TB_SHARED");
    if (shared)
        rc |= replay_default(shared, FUZZ_SHARED_CORPUS, FUZZ_SHARED_SUFFIX, false, false);
#endif
    return rc;
}
