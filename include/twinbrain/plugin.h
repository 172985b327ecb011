/* The plugin interface: what a module exports and how the core loads it.
 *
 * A plugin is a libtool module exporting one function,
 * `const tb_plugin *tb_plugin_entry(void)`, named <module>_LTX_tb_plugin_entry
 * so that several plugins can also be preloaded into one static binary
 * (write TB_PLUGIN_EXPORT(module) and libltdl finds it). The descriptor
 * starts with version fields, so the loader can refuse a module built for
 * another ABI before it trusts anything else in it (the layout Open MPI's
 * MCA components use). Kind-specific tables follow; in them a NULL entry
 * means "use the core's generic behaviour" (SUNDIALS' N_Vector convention). */
#ifndef TWINBRAIN_PLUGIN_H
#define TWINBRAIN_PLUGIN_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bump when tb_plugin or a kind table changes layout or meaning. */
#define TB_PLUGIN_ABI_VERSION 1u

typedef enum tb_plugin_kind {
    TB_PLUGIN_MASS = 1,    /* neural-mass model */
    TB_PLUGIN_SPIKING = 2, /* spiking neuron model */
    TB_PLUGIN_TWIN = 3,    /* visual-cortex twin network */
    TB_PLUGIN_PERTURB = 4  /* disease perturbation or intervention */
} tb_plugin_kind;

const char *tb_plugin_kind_name(tb_plugin_kind kind); /* "mass", "spiking", ... */

/* A documented parameter. The range is inclusive; use -INFINITY/INFINITY
 * for an open end, and TB_POSITIVE as `min` for "greater than 0" (a time
 * constant or a divisor), which messages and listings show as "> 0". */
#define TB_POSITIVE DBL_MIN

typedef struct tb_param_info {
    const char *name;
    double value; /* default */
    const char *unit;
    double min;
    double max;
    const char *doc;
} tb_param_info;

struct tb_mass_model;    /* include/twinbrain/mass.h */
struct tb_spiking_model; /* later kinds */
struct tb_twin_model;
struct tb_perturb_model;

typedef struct tb_plugin {
    /* version fields first: read before anything else */
    uint32_t abi_version;  /* TB_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t struct_size;  /* sizeof(tb_plugin) the plugin was built with */
    /* identity */
    tb_plugin_kind kind;
    const char *name;      /* what scenarios write: plugin = "jansen_rit" */
    const char *version;
    const char *summary;   /* one line */
    const char *doc;       /* equations, method, references */
    /* documented parameters */
    const tb_param_info *params;
    size_t n_params;
    /* entry points: the table of the plugin's kind, the others NULL */
    const struct tb_mass_model *mass;
    const struct tb_spiking_model *spiking;
    const struct tb_twin_model *twin;
    const struct tb_perturb_model *perturb;
    /* room to grow without breaking the ABI: must be NULL */
    void *reserved[8];
} tb_plugin;

/* Fill the version fields of a static descriptor. */
#define TB_PLUGIN_HEADER TB_PLUGIN_ABI_VERSION, (uint32_t)sizeof(tb_plugin)

#define TB_PLUGIN_EXPORT_(module) const tb_plugin *module##_LTX_tb_plugin_entry(void)
/* Use: TB_PLUGIN_EXPORT(my_model) { return &my_model_plugin; } */
#define TB_PLUGIN_EXPORT(module)                                                  \
    TB_PLUGIN_EXPORT_(module);                                                    \
    TB_PLUGIN_EXPORT_(module)

/* ------------------------------------------------------------ registry */

typedef struct tb_plugin_registry tb_plugin_registry;

/* Load every module found on $TWINBRAIN_PLUGIN_PATH (colon-separated, searched
 * first) and then the installed plugin folder. A module that fails (not a
 * module, wrong ABI, bad descriptor) is recorded as a failure and the others
 * still load. A plugin name found twice keeps the first (path order).
 * Fails only when libltdl itself cannot start. */
tb_status tb_plugin_registry_load(tb_plugin_registry **out, tb_error *err);
void tb_plugin_registry_free(tb_plugin_registry *reg);

size_t tb_plugin_count(const tb_plugin_registry *reg);
const tb_plugin *tb_plugin_at(const tb_plugin_registry *reg, size_t i);
const char *tb_plugin_file_at(const tb_plugin_registry *reg, size_t i);

/* Find by name (and kind unless 0). NULL when absent. */
const tb_plugin *tb_plugin_find(const tb_plugin_registry *reg, tb_plugin_kind kind, const char *name);
const char *tb_plugin_file_of(const tb_plugin_registry *reg, const tb_plugin *p);

/* Modules that did not load: "FILE: reason" lines, and the module stem. */
size_t tb_plugin_failure_count(const tb_plugin_registry *reg);
const char *tb_plugin_failure_at(const tb_plugin_registry *reg, size_t i);
const char *tb_plugin_failure_stem(const tb_plugin_registry *reg, size_t i);

/* The folders searched, in order (for messages and `twinbrain plugins`). */
size_t tb_plugin_path_count(const tb_plugin_registry *reg);
const char *tb_plugin_path_at(const tb_plugin_registry *reg, size_t i);

/* Check a descriptor as the loader does (exposed for tests). */
tb_status tb_plugin_check(const tb_plugin *p, const char *file, tb_error *err);

/* Index of a parameter by name, or -1. */
int tb_plugin_param_index(const tb_plugin *p, const char *name);

#ifdef __cplusplus
}
#endif
#endif
