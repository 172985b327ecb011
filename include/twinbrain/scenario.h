/* A scenario: a TOML file, checked against what the engine and the chosen
 * plugins accept, with every default filled in.
 *
 * Errors name the file, line, column and key ("run.toml:7:8: simulation.dt
 * must be > 0 (got -0.1)"); several are reported at once, one per line. */
#ifndef TWINBRAIN_SCENARIO_H
#define TWINBRAIN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"
#include "twinbrain/toml.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A parameter or initial value: one number, or one per region; initial
 * values may also be drawn uniformly in [lo, hi] (seeded, per region). */
typedef struct tb_scenario_value {
    char *name;
    bool is_array;
    double scalar;
    double *values;
    size_t n;
    tb_toml_pos pos;
    bool random;
    double lo, hi;
} tb_scenario_value;

struct tb_kit; /* core/kit.h: the kind of model a scenario runs */

typedef struct tb_scenario {
    char *path;          /* as given */
    char *dir;           /* its folder: relative paths are resolved against it */
    tb_toml_value *doc;  /* the resolved document, defaults filled in */
    const struct tb_kit *kit; /* the kit that runs it (simulation.kind, or inferred) */
    void *kit_data;      /* the kit's checked sections (owned; internal to the kit) */
    void *layer_data[4]; /* each layer's checked sections (core/layer.h), NULL when unused */

    /* [simulation] */
    double duration;     /* ms */
    double dt;           /* ms */
    uint64_t steps;      /* duration / dt */
    uint64_t seed;
    tb_precision precision;
    char *device;        /* selector */

    /* instances of one device run: a sweep's parameter sets (1 without one) */
    size_t n_instances;

    /* [output] */
    char *output_file; /* resolved, or NULL when not given */

    /* Every file the scenario names as an input (resolved), with the key
     * that names it ("connectome.file", "monitor[1].gain"): what the
     * output must never replace (tb_scenario_check_output). */
    struct tb_scenario_input {
        char *key;
        char *path;
    } *inputs;
    size_t n_inputs, cap_inputs;
} tb_scenario;

/* `relative` resolved against the scenario's folder (malloc'd), recorded
 * as an input named by `key`. Kits resolve their input files with it. */
char *tb_scenario_input_path(tb_scenario *sc, const char *key, const char *relative);

/* TB_ERR_INPUT when `output` is the scenario file or one of its inputs
 * (the same file: device and inode, whatever the names), which a run
 * writing there would destroy. */
tb_status tb_scenario_check_output(const tb_scenario *sc, const char *output, tb_error *err);

/* Load, apply `--set KEY=VALUE` overrides (in order), check and fill in
 * defaults. Status: TB_ERR_SCENARIO for syntax and content errors,
 * TB_ERR_INPUT when a referenced file is missing or a plugin failed to
 * load. */
tb_status tb_scenario_load(const char *path, const char *const *overrides, size_t n_overrides,
                           const tb_plugin_registry *reg, tb_scenario **out, tb_error *err);
/* The same for a document held in memory (a program that builds its
 * scenario rather than reading a file: the Python package's
 * Scenario.from_dict, or `twinbrain resume` reading the "scenario"
 * attribute of an output file). `name` stands for the file in messages
 * ("NAME:LINE:COL: ...") and provenance; relative paths in it are
 * resolved against `dir` (NULL: the folder of `name`, as if the text
 * had been read from that file). */
tb_status tb_scenario_load_text(const char *text, const char *name, const char *dir,
                                const char *const *overrides, size_t n_overrides,
                                const tb_plugin_registry *reg, tb_scenario **out, tb_error *err);
void tb_scenario_free(tb_scenario *sc);

/* The resolved document as TOML text (malloc'd). */
char *tb_scenario_format(const tb_scenario *sc);

/* "FILE:LINE:COL: " for a position in this scenario ("FILE: --set: " for a
 * value that came from the command line). Malloc'd. */
char *tb_scenario_where(const tb_scenario *sc, tb_toml_pos pos);

/* The kind of model it runs ("mass", "spiking", ...). */
const char *tb_scenario_kind(const tb_scenario *sc);

/* What `twinbrain check` says of it after "ok": "(mass model x, ...)". Malloc'd. */
char *tb_scenario_describe(const tb_scenario *sc);

/* Every key the scenario schema knows, one "section.key  type  doc" per
 * line (for docs and the test that keeps docs/scenario.md complete). */
char *tb_scenario_keys(void);

#ifdef __cplusplus
}
#endif
#endif
