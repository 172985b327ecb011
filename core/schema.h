/* The scenario schema machinery (internal): key specifications as data,
 * a checker that collects every error with its position, "did you mean"
 * suggestions, defaults filled into the document. scenario.c describes
 * the neural-mass sections with it; other kits describe theirs the same
 * way, so every scenario error reads alike. */
#ifndef TWINBRAIN_SCHEMA_H
#define TWINBRAIN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/plugin.h"
#include "twinbrain/scenario.h"
#include "twinbrain/toml.h"
#include "util.h"

/* Errors reported in one message before "... and N more". */
#define TB_SCHEMA_MAX_REPORTED 25

/* The most steps a run, a sampling period or any other span counted in
 * steps may have: 2^53, beyond which step counts stop being exact doubles
 * (t = step x dt) and products of them overflow 64-bit counters. */
#define TB_MAX_STEPS 9007199254740992.0

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
    bool inf_ok; /* KT_FLOAT: inf (or -inf) is a meaningful value ("never",
                    "unbounded"); otherwise numbers must be finite */
} tb_key_spec;


typedef struct tb_schema_checker {
    const char *file;
    tb_buf msgs;
    int n;
    tb_status status;
    /* values reported as wrong by the key checks: never read afterwards */
    const tb_toml_value **refused;
    size_t n_refused, cap_refused;
} tb_schema_checker;

/* Frees what the checker holds besides its messages. */
void tb_schema_checker_release(tb_schema_checker *c);
/* Whether a value was reported as wrong (wrong type, out of range). */
bool tb_schema_refused(const tb_schema_checker *c, const tb_toml_value *v);
/* Marks a value as reported, so that no later check reads it. */
void tb_schema_refuse(tb_schema_checker *c, const tb_toml_value *v);

char *tb_schema_where(const char *file, tb_toml_pos pos);
void tb_schema_report(tb_schema_checker *c, tb_status st, tb_toml_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The candidate nearest by edit distance, or NULL if none is close. */
const char *tb_schema_closest(const char *word, const char *const *cands, size_t n);
void tb_schema_unknown(tb_schema_checker *c, tb_toml_pos pos, const char *key, const char *where_,
                       const char *const *cands, size_t n);
const char *tb_schema_type_word(tb_key_type t);
/* A number, or an array of numbers, each finite and in range; false if
 * neither (nothing reported then: the caller says what it expected). */
bool tb_schema_numbers(tb_schema_checker *c, const tb_toml_value *v, const char *full, double min, double max,
                       bool min_excl);
char *tb_schema_join(const char *prefix, const char *key);
/* Check `table` against `specs` (unknown keys, types, ranges, choices,
 * required keys) and fill in defaults. prefix names the table in messages.
 * A `table` that is not a table is reported (false) and left alone. */
bool tb_schema_table(tb_schema_checker *c, tb_toml_value *table, const tb_key_spec *specs, size_t n,
                     const char *prefix);
tb_toml_value *tb_schema_ensure_table(tb_toml_value *parent, const char *key);
double tb_schema_get_f(const tb_toml_value *t, const char *key);
/* A checked number: `def` when the key is absent, NaN when its value was
 * refused or is not a number. */
double tb_schema_num(const tb_schema_checker *c, const tb_toml_value *t, const char *key, double def);
/* A checked integer: `def` when absent, refused or not an integer. */
int64_t tb_schema_int(const tb_schema_checker *c, const tb_toml_value *t, const char *key, int64_t def);
char *tb_schema_get_s(const tb_toml_value *t, const char *key);
/* A number or an array of numbers into `out`; false (out->scalar NaN, no
 * values) for anything else. Read only what a check has accepted. */
bool tb_schema_value_from(tb_scenario_value *out, const char *name, const tb_toml_value *v);
/* A plugin's (or coupling function's) parameters, defaults filled in. */
tb_scenario_value *tb_schema_params(tb_schema_checker *c, tb_toml_value *table, const tb_param_info *params,
                                    size_t n, const char *prefix);
const char *tb_schema_plugin_failure(const tb_plugin_registry *reg, const char *name);
bool tb_schema_multiple_of_dt(double x, double dt);
/* x / dt rounded to whole steps, when that is finite and at most
 * TB_MAX_STEPS; false otherwise (*steps untouched). */
bool tb_schema_steps(double x, double dt, uint64_t *steps);
void tb_schema_list_keys(tb_buf *b, const char *section, const tb_key_spec *s, size_t n);

#endif
