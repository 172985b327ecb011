/* Small internal helpers shared by the core (not part of the public API). */
#ifndef TWINBRAIN_UTIL_H
#define TWINBRAIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

char *tb_strdup(const char *s);
char *tb_strndup(const char *s, size_t n);
char *tb_asprintf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
bool tb_is_identifier(const char *s);

/* Make room for item n of a growable array (*cap doubles); false when out
 * of memory, the array untouched. */
bool tb_grow(void **items, size_t *cap, size_t n, size_t size);

/* TB_ERR_INPUT "FILE: KIND 'x' declared twice" for the first name that
 * repeats among n records of `size` bytes whose name (a const char *) sits
 * at `offset`; sorted, so a table of a million names is checked at once. */
tb_status tb_names_unique(const void *records, size_t n, size_t size, size_t offset, const char *kind,
                          const char *file, tb_error *err);
bool tb_str_ends_with(const char *s, const char *suffix);
/* Join dir and name with one '/'; an absolute name is returned as is. */
char *tb_path_join(const char *dir, const char *name);
/* Folder part of a path ("." when there is none). */
char *tb_path_dirname(const char *path);
bool tb_file_exists(const char *path);
/* Whole file as a NUL-terminated string; NULL with errno set on failure. */
char *tb_read_file(const char *path, size_t *len);
/* Edit distance, for "did you mean". */
size_t tb_levenshtein(const char *a, const char *b);
/* Seconds on a monotonic clock. */
double tb_now(void);

/* A growable string. */
typedef struct tb_buf {
    char *data;
    size_t len, cap;
    bool oom;
} tb_buf;
void tb_buf_puts(tb_buf *b, const char *s);
void tb_buf_printf(tb_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
char *tb_buf_take(tb_buf *b); /* the string ("" if empty; NULL after an allocation failure); b is reset */
void tb_buf_free(tb_buf *b);

#endif

/* Append s as a JSON string literal (quoted, escaped). */
void tb_json_string(tb_buf *b, const char *s);
/* A number with all its digits, or null when it is not finite (JSON has no NaN). */
void tb_json_number(tb_buf *b, double x);
