/* The scenario schema machinery (internal): key specifications as data,
 * a checker that collects every error with its position, "did you mean"
 * suggestions, defaults filled into the document. scenario.c describes
 * the neural-mass sections with it; other kits describe theirs the same
 * way, so every scenario error reads alike. */
#ifndef TWINBRAIN_SCHEMA_H
#define TWINBRAIN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "twinbrain/plugin.h"
#include "twinbrain/scenario.h"
#include "twinbrain/toml.h"
#include "util.h"

/* Errors reported in one message before "... and N more". */
#define TB_SCHEMA_MAX_REPORTED 25

typedef enum tb_key_type {
    KT_FLOAT,   /* a number (integers accepted) */
    KT_INT,
    KT_STRING,
    KT_TABLE,
    KT_TABLES,  /* an array of tables: [[name]] */
    KT_STRINGS, /* an array of strings */
    KT_NUMBERS, /* a number, or an array of numbers (one per region) */
    KT_ARRAY,   /* an array of anything (the caller checks the elements) */
    KT_STRING_OR_STRINGS, /* a string, or a non-empty array of strings */
    KT_BOOL,    /* true or false */
    KT_ANY      /* any value: the caller checks it (numbers or distribution tables) */
} tb_key_type;

typedef struct tb_key_spec {
    const char *name;
    tb_key_type type;
    bool required;
    double def;        /* numeric default (when has_def) */
    const char *def_s; /* string default */
    bool has_def;
    double min, max;
    bool min_excl; /* min is exclusive: value must be > min */
    const char *const *choices;
    const char *doc;
} tb_key_spec;


typedef struct tb_schema_checker {
    const char *file;
    tb_buf msgs;
    int n;
    tb_status status;
} tb_schema_checker;

char *tb_schema_where(const char *file, tb_toml_pos pos);
void tb_schema_report(tb_schema_checker *c, tb_status st, tb_toml_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The candidate nearest by edit distance, or NULL if none is close. */
const char *tb_schema_closest(const char *word, const char *const *cands, size_t n);
void tb_schema_unknown(tb_schema_checker *c, tb_toml_pos pos, const char *key, const char *where_,
                       const char *const *cands, size_t n);
const char *tb_schema_type_word(tb_key_type t);
/* A number, or an array of numbers, each in range; false if neither. */
bool tb_schema_numbers(tb_schema_checker *c, const tb_toml_value *v, const char *full, double min, double max,
                       bool min_excl);
char *tb_schema_join(const char *prefix, const char *key);
/* Check `table` against `specs` (unknown keys, types, ranges, choices,
 * required keys) and fill in defaults. prefix names the table in messages. */
void tb_schema_table(tb_schema_checker *c, tb_toml_value *table, const tb_key_spec *specs, size_t n,
                     const char *prefix);
tb_toml_value *tb_schema_ensure_table(tb_toml_value *parent, const char *key);
double tb_schema_get_f(const tb_toml_value *t, const char *key);
char *tb_schema_get_s(const tb_toml_value *t, const char *key);
void tb_schema_value_from(tb_scenario_value *out, const char *name, const tb_toml_value *v);
/* A plugin's (or coupling function's) parameters, defaults filled in. */
tb_scenario_value *tb_schema_params(tb_schema_checker *c, tb_toml_value *table, const tb_param_info *params,
                                    size_t n, const char *prefix);
const char *tb_schema_plugin_failure(const tb_plugin_registry *reg, const char *name);
bool tb_schema_multiple_of_dt(double x, double dt);
void tb_schema_list_keys(tb_buf *b, const char *section, const tb_key_spec *s, size_t n);

#endif
