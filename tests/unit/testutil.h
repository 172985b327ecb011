/* File helpers shared by the device and program unit tests: a private
 * scratch directory, so that tests never touch the user's caches. */
#ifndef TWINBRAIN_TESTUTIL_H
#define TWINBRAIN_TESTUTIL_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* rm -rf, without following symbolic links out of the tree. */
static inline void tu_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[PATH_MAX];
            int w = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            if (w > 0 && (size_t)w < sizeof child)
                tu_remove_tree(child);
        }
        if (dir)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static inline bool tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* The whole file, malloc'd, or NULL. */
static inline unsigned char *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, got;
    unsigned char chunk[8192];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got > cap) {
            cap = (len + got) * 2;
            unsigned char *grown = realloc(data, cap);
            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
        }
        memcpy(data + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (!data)
        data = malloc(1);
    *n = len;
    return data;
}

/* How many entries of `dir` end in `suffix`; the last one's path in `last`. */
static inline int tu_count_suffix(const char *dir, const char *suffix, char *last, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    size_t m = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < m || strcmp(e->d_name + n - m, suffix) != 0)
            continue;
        count++;
        if (last)
            snprintf(last, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return count;
}

/* setenv that restores cleanly: NULL unsets. */
static inline void tu_setenv(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

#endif
