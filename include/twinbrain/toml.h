/* A TOML 1.0 document model: parse, look up, edit, write.
 *
 * Every key and value remembers where it was written (line and column,
 * both 1-based) so that scenario errors can point at the text. Tables keep
 * their keys in document order, so the resolved scenario written back reads
 * like the original; look-ups go through a hash of the keys, so a document
 * of any size parses in linear time. Strings carry an explicit length
 * because TOML allows "\u0000" inside them. */
#ifndef TWINBRAIN_TOML_H
#define TWINBRAIN_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "twinbrain/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_toml_type {
    TB_TOML_STRING,
    TB_TOML_INTEGER,
    TB_TOML_FLOAT,
    TB_TOML_BOOL,
    TB_TOML_DATETIME,       /* offset date-time */
    TB_TOML_DATETIME_LOCAL,
    TB_TOML_DATE_LOCAL,
    TB_TOML_TIME_LOCAL,
    TB_TOML_ARRAY,
    TB_TOML_TABLE
} tb_toml_type;

typedef struct tb_toml_pos {
    int line; /* 1-based; 0 when the value did not come from a file */
    int col;  /* 1-based, in bytes */
} tb_toml_pos;

typedef struct tb_toml_value tb_toml_value;
struct tb_toml_index; /* private to the library */

typedef struct tb_toml_kv {
    char *key;        /* NUL-terminated; keylen counts embedded NULs */
    size_t keylen;
    tb_toml_pos pos;  /* where the key was written */
    tb_toml_value *value;
} tb_toml_kv;

struct tb_toml_value {
    tb_toml_type type;
    tb_toml_pos pos; /* where the value starts ([table] header for tables) */
    union {
        struct { char *ptr; size_t len; } s; /* STRING, and the text of date/time kinds */
        int64_t i;
        double f;
        bool b;
        struct { tb_toml_value **items; size_t n, cap; } arr;
        /* items in document order; index is the library's own look-up
         * structure (a hash of the keys), not to be touched by callers */
        struct { tb_toml_kv *items; size_t n, cap; struct tb_toml_index *index; } tab;
    } u;
    unsigned flags; /* parser bookkeeping (defined, inline, array of tables) */
};

/* Parse a whole document. `name` is used in messages ("name:LINE:COL: ...").
 * On failure returns NULL and sets err (status TB_ERR_SCENARIO). */
tb_toml_value *tb_toml_parse(const char *text, size_t len, const char *name, tb_error *err);

/* Read and parse a file; a missing or unreadable file is TB_ERR_INPUT. */
tb_toml_value *tb_toml_parse_file(const char *path, tb_error *err);

void tb_toml_free(tb_toml_value *v);
tb_toml_value *tb_toml_clone(const tb_toml_value *v);

const char *tb_toml_type_name(tb_toml_type t); /* "string", "integer", "float", ... "table" */

/* Look-ups return NULL when absent or when `v` is not a table. */
const tb_toml_value *tb_toml_get(const tb_toml_value *table, const char *key);
tb_toml_kv *tb_toml_get_kv(const tb_toml_value *table, const char *key);
/* Dotted path of bare keys: "model.parameters.mu". Array elements are not
 * addressed; for [[monitor]] iterate the array. */
const tb_toml_value *tb_toml_get_path(const tb_toml_value *root, const char *path);

/* Where a string's text starts in the file: after the opening quotes, on
 * the next line for a """ string that starts with a newline (an escape
 * in between shifts later columns). A value of another type: its pos. */
tb_toml_pos tb_toml_text_start(const tb_toml_value *v);

/* Typed readers: true when present with the right type. An integer is
 * accepted where a float is asked for (TOML writes 2000 for 2000.0). */
bool tb_toml_as_double(const tb_toml_value *v, double *out);
bool tb_toml_as_int(const tb_toml_value *v, int64_t *out);
bool tb_toml_as_bool(const tb_toml_value *v, bool *out);
const char *tb_toml_as_string(const tb_toml_value *v); /* NULL if not a string */

/* Constructors (position 0:0). */
tb_toml_value *tb_toml_new_table(void);
tb_toml_value *tb_toml_new_array(void);
tb_toml_value *tb_toml_new_string(const char *s);
/* A string that may hold embedded NULs (TOML allows "\u0000"). */
tb_toml_value *tb_toml_new_string_len(const char *s, size_t len);
tb_toml_value *tb_toml_new_int(int64_t i);
tb_toml_value *tb_toml_new_float(double f);
tb_toml_value *tb_toml_new_bool(bool b);

/* Set key in table, taking ownership of `value` and freeing what it replaces.
 * Returns the stored key-value pair, or NULL when `table` is not a table.
 * Ownership is taken in every case: on failure `value` has been freed.
 * A replaced key keeps its place (and position) in the table. */
tb_toml_kv *tb_toml_table_set(tb_toml_value *table, const char *key, tb_toml_value *value);
/* Set a dotted key, creating intermediate tables. The key is read as a
 * TOML document reads one: bare, "basic" and 'literal' parts, blanks
 * around the dots, so 'sweep."model.parameters.G"' names the key
 * "model.parameters.G" of table sweep. Fails (NULL, err set) on a key that
 * is not one, or when an intermediate key exists but is not a table. Like
 * table_set it always takes ownership of `value` (freed on failure). */
tb_toml_kv *tb_toml_set_path(tb_toml_value *root, const char *path, tb_toml_value *value, tb_error *err);
/* How many bytes of text, from its start, are a dotted key (by the rules
 * of set_path) and the blanks after it; 0, with err set, when text does
 * not start with a key. Splits KEY=VALUE where a quoted KEY holds '='. */
size_t tb_toml_key_span(const char *text, tb_error *err);
bool tb_toml_table_remove(tb_toml_value *table, const char *key);
/* Takes ownership; `value` is freed when `array` is not an array. */
void tb_toml_array_push(tb_toml_value *array, tb_toml_value *value);

/* Parse a single value as it would appear right of '=' ("0.5", "[1, 2]",
 * "'text'", "{ a = 1 }"). Used by --set KEY=VALUE. */
tb_toml_value *tb_toml_parse_value(const char *text, const char *name, tb_error *err);

/* Write a table as a TOML document that parses back to the same tree.
 * Sub-tables become [headers], arrays of tables [[headers]], small ones
 * may be written inline. Returns a malloc'd string. */
char *tb_toml_format(const tb_toml_value *root);
/* 0 on success, -1 when root is not a table or the write failed. */
int tb_toml_write(FILE *out, const tb_toml_value *root);

/* The tagged JSON of the toml-test suite ({"type": "integer", "value": "1"}). */
char *tb_toml_to_tagged_json(const tb_toml_value *root);

#ifdef __cplusplus
}
#endif
#endif
