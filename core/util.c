#include "config.h"

#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

char *tb_strdup(const char *s)
{
    return s ? tb_strndup(s, strlen(s)) : NULL;
}

char *tb_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *tb_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

bool tb_is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (const char *p = s + 1; *p; ++p)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

bool tb_str_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

char *tb_path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir)
        return tb_strdup(name);
    size_t n = strlen(dir);
    return tb_asprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

char *tb_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return tb_strdup(".");
    if (slash == path)
        return tb_strdup("/");
    return tb_strndup(path, (size_t)(slash - path));
}

bool tb_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *tb_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    tb_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t need = b.len + got + 1;
        if (need > b.cap) {
            size_t cap = b.cap ? b.cap * 2 : 65536;
            while (cap < need)
                cap *= 2;
            char *d = realloc(b.data, cap);
            if (!d) {
                tb_buf_free(&b);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            b.data = d;
            b.cap = cap;
        }
        memcpy(b.data + b.len, chunk, got);
        b.len += got;
        b.data[b.len] = '\0'; /* callers read the text as a string (room for it was kept above) */
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        tb_buf_free(&b);
        errno = EIO;
        return NULL;
    }
    if (len)
        *len = b.len;
    return tb_buf_take(&b);
}

size_t tb_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; ++j)
        row[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

double tb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* On allocation failure the buffer stops growing and remembers it, so that
 * tb_buf_take() reports NULL once instead of every caller checking. */
static bool buf_reserve(tb_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void tb_buf_puts(tb_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

void tb_buf_printf(tb_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0 && buf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

char *tb_buf_take(tb_buf *b)
{
    if (b->oom) {
        tb_buf_free(b);
        return NULL;
    }
    char *s = b->data ? b->data : tb_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void tb_buf_free(tb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void tb_json_string(tb_buf *b, const char *s)
{
    tb_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; ++p) {
        switch (*p) {
        case '"': tb_buf_puts(b, "\\\""); break;
        case '\\': tb_buf_puts(b, "\\\\"); break;
        case '\n': tb_buf_puts(b, "\\n"); break;
        case '\r': tb_buf_puts(b, "\\r"); break;
        case '\t': tb_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                tb_buf_printf(b, "\\u%04x", *p);
            else {
                char c[2] = {(char)*p, 0};
                tb_buf_puts(b, c);
            }
        }
    }
    tb_buf_puts(b, "\"");
}

bool tb_grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 8;
    if (c <= n)
        c = n + 1;
    void *p = realloc(*items, c * size);
    if (!p)
        return false;
    *items = p;
    *cap = c;
    return true;
}

static int by_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

tb_status tb_names_unique(const void *records, size_t n, size_t size, size_t offset, const char *kind,
                          const char *file, tb_error *err)
{
    if (n < 2)
        return TB_OK;
    const char **names = malloc(n * sizeof *names);
    if (!names)
        return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory checking %zu %s names", file, n, kind);
    for (size_t i = 0; i < n; ++i)
        memcpy(&names[i], (const char *)records + i * size + offset, sizeof *names);
    qsort(names, n, sizeof *names, by_name);
    tb_status st = TB_OK;
    for (size_t i = 1; st == TB_OK && i < n; ++i)
        if (names[i] && names[i - 1] && strcmp(names[i], names[i - 1]) == 0)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: %s '%s' declared twice", file, kind, names[i]);
    free(names);
    return st;
}

void tb_json_number(tb_buf *b, double x)
{
    if (isfinite(x))
        tb_buf_printf(b, "%.17g", x);
    else
        tb_buf_puts(b, "null");
}
