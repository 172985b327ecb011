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

/* Bump when tb_plugin or the services table changes layout or meaning.
 * ABI 2: the kind is a name and its table a pointer with its own version
 * and size (tb_kind_header), parameters are typed, and the entry point
 * receives the core's services. */
#define TB_PLUGIN_ABI_VERSION 2u

/* The head of every kind's table (tb_mass_model, tb_spiking_model, ...)
 * and of the services table, so that one kind's table can grow without
 * breaking the others: the core reads only what `size` covers. */
typedef struct tb_kind_header {
    uint32_t version; /* the kind's TB_<KIND>_TABLE_VERSION the plugin was built with */
    uint32_t size;    /* sizeof the table the plugin was built with */
} tb_kind_header;

/* A documented parameter. The range is inclusive; use -INFINITY/INFINITY
 * for an open end, and TB_POSITIVE as `min` for "greater than 0" (a time
 * constant or a divisor), which messages and listings show as "> 0". */
#define TB_POSITIVE DBL_MIN

/* What a parameter holds. TB_PARAM_REAL is 0, so a table that names no
 * type declares numbers. Kits say which types their plugins may use (the
 * neural-mass and spiking kits: real and integer, as numbers per region or
 * neuron); scenarios are checked against the type. */
typedef enum tb_param_type {
    TB_PARAM_REAL = 0, /* a number in [min, max] (or one per region where the kit allows) */
    TB_PARAM_INT,      /* a whole number in [min, max] */
    TB_PARAM_STRING,   /* a string; `choices` may list the allowed ones */
    TB_PARAM_PATH,     /* a file, relative to the scenario's folder; it must exist */
    TB_PARAM_REALS,    /* an array of numbers in [min, max]; `length` of them unless 0 */
    TB_PARAM_STRINGS   /* an array of strings; `length` of them unless 0 */
} tb_param_type;

const char *tb_param_type_name(tb_param_type t); /* "real", "integer", ... */

typedef struct tb_param_info {
    const char *name;
    double value; /* default of a number (REAL, INT; REALS: every element) */
    const char *unit;
    double min;
    double max;
    const char *doc;
    tb_param_type type;
    const char *value_s;         /* default of a STRING or PATH; NULL: required in the scenario */
    size_t length;               /* REALS, STRINGS: required length, 0 for any */
    const char *const *choices;  /* STRING: allowed values, NULL-terminated; NULL for any */
} tb_param_info;

typedef struct tb_plugin {
    /* version fields first: read before anything else */
    uint32_t abi_version;  /* TB_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t struct_size;  /* sizeof(tb_plugin) the plugin was built with */
    /* identity */
    const char *kind;      /* the kit that runs it: "mass", "spiking", ... */
    const char *name;      /* what scenarios write: plugin = "jansen_rit" */
    const char *version;
    const char *summary;   /* one line */
    const char *doc;       /* equations, method, references */
    /* documented parameters */
    const tb_param_info *params;
    size_t n_params;
    /* the kind's table: starts with a tb_kind_header (include/twinbrain/<kind>.h) */
    const void *table;
    /* room to grow without breaking the ABI: must be NULL */
    void *reserved[8];
} tb_plugin;

/* Fill the version fields of a static descriptor. */
#define TB_PLUGIN_HEADER TB_PLUGIN_ABI_VERSION, (uint32_t)sizeof(tb_plugin)

/* ------------------------------------------------------------ services
 *
 * What the core offers a plugin that owns device work (a twin plugin's
 * custom operator, a perturbation's own kernel): buffers, programs built
 * through the kernel cache, kernels enqueued on the device's queue and
 * recorded in its profile. The entry point receives the table; it stays
 * valid while the plugin is loaded. */
#define TB_SERVICES_VERSION 1u

struct tb_device;
struct tb_program;
typedef struct tb_core_services {
    tb_kind_header head; /* TB_SERVICES_VERSION, sizeof(tb_core_services) */
    /* a device buffer of `bytes`, filled from `host` unless NULL; `what` names it in errors */
    void *(*buffer_create)(struct tb_device *dev, size_t bytes, const void *host, const char *what, tb_error *err);
    void (*buffer_release)(void *buffer);
    /* copy between host and device, blocking */
    tb_status (*buffer_write)(struct tb_device *dev, void *buffer, size_t offset, size_t bytes, const void *host,
                              tb_error *err);
    tb_status (*buffer_read)(struct tb_device *dev, void *buffer, size_t offset, size_t bytes, void *host,
                             tb_error *err);
    /* build OpenCL source after the `real` prelude of the precision (0 single, 1 double), through
     * the binary cache, with Random123 on the include path; label names it in logs and profiles */
    tb_status (*program_build)(struct tb_device *dev, int precision, const char *source, const char *label,
                               struct tb_program **out, tb_error *err);
    void (*program_free)(struct tb_program *prog);
    /* a kernel of a built program (a cl_kernel), and its arguments */
    void *(*kernel_create)(struct tb_program *prog, const char *name, tb_error *err);
    tb_status (*kernel_arg)(void *kernel, unsigned index, size_t size, const void *value, tb_error *err);
    void (*kernel_release)(void *kernel);
    /* enqueue a kernel over `global` (dims 1 to 3; local NULL: the driver's choice); recorded in
     * the device's profile as `what` */
    tb_status (*enqueue)(struct tb_device *dev, void *kernel, unsigned dims, const size_t *global,
                         const size_t *local, const char *what, tb_error *err);
    tb_status (*finish)(struct tb_device *dev, tb_error *err);
    void *reserved[8];
} tb_core_services;

#define TB_PLUGIN_ENTRY_(module) const tb_plugin *module##_LTX_tb_plugin_entry(const tb_core_services *core)
/* Use: TB_PLUGIN_EXPORT(my_model) { return &my_model_plugin; }
 * (`core`, the services table, is in scope; keep it if the plugin needs it). */
#define TB_PLUGIN_EXPORT(module)                                                  \
    TB_PLUGIN_ENTRY_(module);                                                     \
    TB_PLUGIN_ENTRY_(module)

/* ------------------------------------------------------------ registry */

typedef struct tb_plugin_registry tb_plugin_registry;

/* Load every module found on $TWINBRAIN_PLUGIN_PATH (colon-separated, searched
 * first) and then the installed plugin folder. A module that fails (not a
 * module, wrong ABI, bad descriptor) is recorded as a failure and the others
 * still load. A plugin name found twice keeps the first (path order).
 * Fails only when libltdl itself cannot start. */
tb_status tb_plugin_registry_load(tb_plugin_registry **out, tb_error *err);
void tb_plugin_registry_free(tb_plugin_registry *reg);

/* The counts and tb_plugin_find take NULL as an empty registry. */
size_t tb_plugin_count(const tb_plugin_registry *reg);
const tb_plugin *tb_plugin_at(const tb_plugin_registry *reg, size_t i);
const char *tb_plugin_file_at(const tb_plugin_registry *reg, size_t i);

/* Find by name (and kind unless NULL). NULL when absent. */
const tb_plugin *tb_plugin_find(const tb_plugin_registry *reg, const char *kind, const char *name);
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

/* The services table the core passes to every plugin. */
const tb_core_services *tb_core_services_get(void);

#ifdef __cplusplus
}
#endif
#endif
