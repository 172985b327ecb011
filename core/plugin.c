/* The plugin loader: libltdl modules found on the plugin path.
 *
 * Loading never stops at the first bad module: each failure is recorded
 * with its file and reason, because a user with one stale plugin in a
 * folder must still be able to run everything else, and must be told
 * exactly which file is stale. */
#include "config.h"

#include <dirent.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twinbrain/mass.h"
#include "twinbrain/plugin.h"
#include "spiking/spiking_scenario.h"
#include "util.h"

typedef struct loaded {
    lt_dlhandle handle;
    const tb_plugin *desc;
    char *file;
} loaded;

typedef struct failure {
    char *stem;
    char *text; /* "FILE: reason" */
} failure;

struct tb_plugin_registry {
    loaded *items;
    size_t n, cap;
    failure *fails;
    size_t n_fails, cap_fails;
    char **paths;
    size_t n_paths;
};

const char *tb_plugin_kind_name(tb_plugin_kind kind)
{
    switch (kind) {
    case TB_PLUGIN_MASS: return "mass";
    case TB_PLUGIN_SPIKING: return "spiking";
    case TB_PLUGIN_TWIN: return "twin";
    case TB_PLUGIN_PERTURB: return "perturb";
    }
    return "unknown";
}

static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*items, c * size);
    if (!p)
        return false;
    *items = p;
    *cap = c;
    return true;
}

static void add_failure(tb_plugin_registry *reg, const char *stem, const char *file, const char *why)
{
    if (!grow((void **)&reg->fails, &reg->cap_fails, reg->n_fails, sizeof *reg->fails))
        return;
    failure *f = &reg->fails[reg->n_fails++];
    f->stem = tb_strdup(stem);
    f->text = tb_asprintf("%s: %s", file, why);
}

/* Names the generated code gives the dfun snippet (plus tb_ and cp_ prefixes). */
static const char *const reserved[] = {"coupling", "t", "region", "n_regions", "real"};

static tb_status check_mass(const tb_mass_model *m, const char *file, tb_error *err)
{
    if (m->n_vars == 0 || !m->vars)
        return tb_error_set(err, TB_ERR_INPUT, "%s: mass model declares no state variables", file);
    for (size_t i = 0; i < m->n_vars; ++i) {
        if (!tb_is_identifier(m->vars[i].name))
            return tb_error_set(err, TB_ERR_INPUT, "%s: state variable %zu has no valid name", file, i);
        for (size_t j = 0; j < i; ++j)
            if (strcmp(m->vars[i].name, m->vars[j].name) == 0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: state variable '%s' declared twice", file,
                                    m->vars[i].name);
    }
    if (m->n_coupled == 0 || !m->coupled)
        return tb_error_set(err, TB_ERR_INPUT, "%s: mass model declares no coupled variable", file);
    for (size_t k = 0; k < m->n_coupled; ++k) {
        size_t v = 0;
        while (v < m->n_vars && (!m->coupled[k] || strcmp(m->coupled[k], m->vars[v].name) != 0))
            ++v;
        if (v == m->n_vars)
            return tb_error_set(err, TB_ERR_INPUT, "%s: coupled variable '%s' is not a state variable",
                                file, m->coupled[k] ? m->coupled[k] : "(null)");
    }
    for (size_t i = 0; i < m->n_vars; ++i)
        for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; ++r)
            if (strcmp(m->vars[i].name, reserved[r]) == 0 || strncmp(m->vars[i].name, "tb_", 3) == 0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: state variable name '%s' is reserved", file,
                                    m->vars[i].name);
    if (!m->dfun || !*m->dfun)
        return tb_error_set(err, TB_ERR_INPUT, "%s: mass model has no dfun snippet", file);
    for (size_t i = 0; i < sizeof m->reserved / sizeof m->reserved[0]; ++i)
        if (m->reserved[i])
            return tb_error_set(err, TB_ERR_INPUT, "%s: reserved fields of the mass table must be NULL", file);
    return TB_OK;
}

/* The dfun snippet sees parameters, variables and d<variable> side by
 * side, so none of those names may coincide. */
static tb_status check_mass_names(const tb_plugin *p, const char *file, tb_error *err)
{
    const tb_mass_model *m = p->mass;
    for (size_t i = 0; i < p->n_params; ++i) {
        const char *q = p->params[i].name;
        for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; ++r)
            if (strcmp(q, reserved[r]) == 0 || strncmp(q, "tb_", 3) == 0 || strncmp(q, "cp_", 3) == 0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: parameter name '%s' is reserved", file, q);
        for (size_t v = 0; v < m->n_vars; ++v)
            if (strcmp(q, m->vars[v].name) == 0 || (q[0] == 'd' && strcmp(q + 1, m->vars[v].name) == 0))
                return tb_error_set(err, TB_ERR_INPUT, "%s: parameter '%s' clashes with state variable '%s'", file,
                                    q, m->vars[v].name);
    }
    return TB_OK;
}

tb_status tb_plugin_check(const tb_plugin *p, const char *file, tb_error *err)
{
    if (!p)
        return tb_error_set(err, TB_ERR_INPUT, "%s: tb_plugin_entry() returned NULL", file);
    if (p->abi_version != TB_PLUGIN_ABI_VERSION)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: built for plugin ABI %u, but this twinbrain (%s) uses ABI %u; "
                            "rebuild the plugin against the installed headers",
                            file, (unsigned)p->abi_version, PACKAGE_VERSION, TB_PLUGIN_ABI_VERSION);
    if (p->struct_size != sizeof(tb_plugin))
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: descriptor size %u differs from this twinbrain's %zu (ABI %u); "
                            "rebuild the plugin",
                            file, (unsigned)p->struct_size, sizeof(tb_plugin), TB_PLUGIN_ABI_VERSION);
    if (!tb_is_identifier(p->name))
        return tb_error_set(err, TB_ERR_INPUT, "%s: plugin name '%s' is not an identifier", file,
                            p->name ? p->name : "(null)");
    if (p->n_params && !p->params)
        return tb_error_set(err, TB_ERR_INPUT, "%s: n_params is %zu but params is NULL", file, p->n_params);
    for (size_t i = 0; i < p->n_params; ++i) {
        const tb_param_info *q = &p->params[i];
        if (!tb_is_identifier(q->name))
            return tb_error_set(err, TB_ERR_INPUT, "%s: parameter %zu has no valid name", file, i);
        if (!(q->min <= q->value && q->value <= q->max))
            return tb_error_set(err, TB_ERR_INPUT, "%s: default of parameter '%s' (%g) lies outside [%g, %g]",
                                file, q->name, q->value, q->min, q->max);
        for (size_t j = 0; j < i; ++j)
            if (strcmp(q->name, p->params[j].name) == 0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: parameter '%s' declared twice", file, q->name);
    }
    for (size_t i = 0; i < sizeof p->reserved / sizeof p->reserved[0]; ++i)
        if (p->reserved[i])
            return tb_error_set(err, TB_ERR_INPUT, "%s: reserved descriptor fields must be NULL", file);
    switch (p->kind) {
    case TB_PLUGIN_MASS:
        if (!p->mass)
            return tb_error_set(err, TB_ERR_INPUT, "%s: a mass plugin needs its mass table", file);
        if (check_mass(p->mass, file, err) != TB_OK)
            return TB_ERR_INPUT;
        return check_mass_names(p, file, err);
    case TB_PLUGIN_SPIKING:
        return tb_spiking_model_check(p->spiking, p->params, p->n_params, file, err);
    case TB_PLUGIN_TWIN:
    case TB_PLUGIN_PERTURB:
        return tb_error_set(err, TB_ERR_INPUT, "%s: plugin kind '%s' is not supported by this twinbrain yet",
                            file, tb_plugin_kind_name(p->kind));
    }
    return tb_error_set(err, TB_ERR_INPUT, "%s: unknown plugin kind %d", file, (int)p->kind);
}

static bool have_name(const tb_plugin_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; ++i)
        if (strcmp(reg->items[i].desc->name, name) == 0)
            return true;
    return false;
}

typedef const tb_plugin *(*entry_fn)(void);

static void load_one(tb_plugin_registry *reg, const char *dir, const char *stem, const char *ext)
{
    char *base = tb_asprintf("%s/%s", dir, stem);
    char *file = tb_asprintf("%s%s", base, ext);
    lt_dlhandle h = lt_dlopen(file);
    if (!h) {
        const char *why = lt_dlerror();
        add_failure(reg, stem, file, why ? why : "cannot be opened as a module");
        goto done;
    }
    entry_fn entry;
    *(void **)&entry = lt_dlsym(h, "tb_plugin_entry");
    if (!entry) {
        add_failure(reg, stem, file, "no tb_plugin_entry symbol (expected <module>_LTX_tb_plugin_entry)");
        lt_dlclose(h);
        goto done;
    }
    const tb_plugin *p = entry();
    tb_error e = {0};
    if (tb_plugin_check(p, file, &e) != TB_OK) {
        /* the message already starts with the file name */
        const char *why = tb_error_message(&e) + strlen(file) + 2;
        add_failure(reg, stem, file, why);
        tb_error_clear(&e);
        lt_dlclose(h);
        goto done;
    }
    if (have_name(reg, p->name) ||
        !grow((void **)&reg->items, &reg->cap, reg->n, sizeof *reg->items)) {
        lt_dlclose(h); /* an earlier folder on the path wins */
        goto done;
    }
    reg->items[reg->n++] = (loaded){h, p, file};
    file = NULL;
done:
    free(base);
    free(file);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Modules in a folder, by stem: "x.la" when present (libtool's own
 * description of the module), else "x.so". Sorted, so load order and
 * therefore which duplicate wins does not depend on readdir order. */
static void load_dir(tb_plugin_registry *reg, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (!tb_str_ends_with(ent->d_name, ".la") && !tb_str_ends_with(ent->d_name, ".so"))
            continue;
        if (!grow((void **)&names, &cap, n, sizeof *names))
            break;
        names[n++] = tb_strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; ++i) {
        size_t len = strlen(names[i]);
        bool is_la = tb_str_ends_with(names[i], ".la");
        char *stem = tb_strndup(names[i], len - 3);
        bool la_twin = false;
        for (size_t j = 0; !is_la && j < n; ++j)
            la_twin |= strncmp(names[j], stem, len - 3) == 0 && strcmp(names[j] + len - 3, ".la") == 0 &&
                       strlen(names[j]) == len;
        if (!la_twin)
            load_one(reg, dir, stem, is_la ? ".la" : ".so");
        free(stem);
    }
    for (size_t i = 0; i < n; ++i)
        free(names[i]);
    free(names);
}

static void add_path(tb_plugin_registry *reg, const char *dir, size_t len)
{
    if (len == 0)
        return;
    char **p = realloc(reg->paths, (reg->n_paths + 1) * sizeof *p);
    if (!p)
        return;
    reg->paths = p;
    reg->paths[reg->n_paths++] = tb_strndup(dir, len);
}

tb_status tb_plugin_registry_load(tb_plugin_registry **out, tb_error *err)
{
    *out = NULL;
    if (lt_dlinit() != 0)
        return tb_error_set(err, TB_ERR_OTHER, "cannot start libltdl: %s", lt_dlerror());
    tb_plugin_registry *reg = calloc(1, sizeof *reg);
    if (!reg) {
        lt_dlexit();
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    const char *env = getenv("TWINBRAIN_PLUGIN_PATH");
    for (const char *s = env; s && *s;) {
        const char *colon = strchr(s, ':');
        size_t len = colon ? (size_t)(colon - s) : strlen(s);
        add_path(reg, s, len);
        s = colon ? colon + 1 : s + len;
    }
    add_path(reg, TB_PLUGINDIR, strlen(TB_PLUGINDIR));
    for (size_t i = 0; i < reg->n_paths; ++i)
        load_dir(reg, reg->paths[i]);
    *out = reg;
    return TB_OK;
}

void tb_plugin_registry_free(tb_plugin_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; ++i) {
        lt_dlclose(reg->items[i].handle);
        free(reg->items[i].file);
    }
    for (size_t i = 0; i < reg->n_fails; ++i) {
        free(reg->fails[i].stem);
        free(reg->fails[i].text);
    }
    for (size_t i = 0; i < reg->n_paths; ++i)
        free(reg->paths[i]);
    free(reg->items);
    free(reg->fails);
    free(reg->paths);
    free(reg);
    lt_dlexit();
}

size_t tb_plugin_count(const tb_plugin_registry *reg) { return reg->n; }
const tb_plugin *tb_plugin_at(const tb_plugin_registry *reg, size_t i) { return reg->items[i].desc; }
const char *tb_plugin_file_at(const tb_plugin_registry *reg, size_t i) { return reg->items[i].file; }
size_t tb_plugin_failure_count(const tb_plugin_registry *reg) { return reg->n_fails; }
const char *tb_plugin_failure_at(const tb_plugin_registry *reg, size_t i) { return reg->fails[i].text; }
const char *tb_plugin_failure_stem(const tb_plugin_registry *reg, size_t i) { return reg->fails[i].stem; }
size_t tb_plugin_path_count(const tb_plugin_registry *reg) { return reg->n_paths; }
const char *tb_plugin_path_at(const tb_plugin_registry *reg, size_t i) { return reg->paths[i]; }

const tb_plugin *tb_plugin_find(const tb_plugin_registry *reg, tb_plugin_kind kind, const char *name)
{
    for (size_t i = 0; i < reg->n; ++i) {
        const tb_plugin *p = reg->items[i].desc;
        if ((kind == 0 || p->kind == kind) && strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

const char *tb_plugin_file_of(const tb_plugin_registry *reg, const tb_plugin *p)
{
    for (size_t i = 0; i < reg->n; ++i)
        if (reg->items[i].desc == p)
            return reg->items[i].file;
    return NULL;
}

int tb_plugin_param_index(const tb_plugin *p, const char *name)
{
    for (size_t i = 0; i < p->n_params; ++i)
        if (strcmp(p->params[i].name, name) == 0)
            return (int)i;
    return -1;
}
