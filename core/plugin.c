/* The plugin loader: libltdl modules found on the plugin path.
 *
 * Loading never stops at the first bad module: each failure is recorded
 * with its file and reason, because a user with one stale plugin in a
 * folder must still be able to run everything else, and must be told
 * exactly which file is stale. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"
#include "layer.h"
#include "twinbrain/plugin.h"
#include "util.h"

/* configure.ac's TB_PLUGIN_ABI (pkg-config's plugin_abi) names the same ABI. */
_Static_assert(TB_PLUGIN_ABI == TB_PLUGIN_ABI_VERSION, "TB_PLUGIN_ABI in configure.ac must match plugin.h");

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

const char *tb_param_type_name(tb_param_type t)
{
    switch (t) {
    case TB_PARAM_REAL: return "real";
    case TB_PARAM_INT: return "integer";
    case TB_PARAM_STRING: return "string";
    case TB_PARAM_PATH: return "path";
    case TB_PARAM_REALS: return "array of reals";
    case TB_PARAM_STRINGS: return "array of strings";
    }
    return "unknown";
}

static void add_failure(tb_plugin_registry *reg, const char *stem, const char *file, const char *why)
{
    if (!tb_grow((void **)&reg->fails, &reg->cap_fails, reg->n_fails, sizeof *reg->fails))
        return;
    failure *f = &reg->fails[reg->n_fails++];
    f->stem = tb_strdup(stem);
    f->text = tb_asprintf("%s: %s", file, why);
}

static bool is_number_type(tb_param_type t)
{
    return t == TB_PARAM_REAL || t == TB_PARAM_INT || t == TB_PARAM_REALS;
}

static tb_status check_param(const tb_param_info *q, size_t i, const char *file, tb_error *err)
{
    if (!tb_is_identifier(q->name))
        return tb_error_set(err, TB_ERR_INPUT, "%s: parameter %zu has no valid name", file, i);
    if ((unsigned)q->type > TB_PARAM_STRINGS)
        return tb_error_set(err, TB_ERR_INPUT, "%s: parameter '%s' has unknown type %d", file, q->name,
                            (int)q->type);
    if (is_number_type(q->type) && !(q->min <= q->value && q->value <= q->max))
        return tb_error_set(err, TB_ERR_INPUT, "%s: default of parameter '%s' (%g) lies outside [%g, %g]", file,
                            q->name, q->value, q->min, q->max);
    if (q->type == TB_PARAM_INT && q->value != floor(q->value))
        return tb_error_set(err, TB_ERR_INPUT, "%s: integer parameter '%s' has default %g", file, q->name,
                            q->value);
    if (q->choices && q->type != TB_PARAM_STRING)
        return tb_error_set(err, TB_ERR_INPUT, "%s: parameter '%s' lists choices but is not a string", file,
                            q->name);
    if (q->type == TB_PARAM_STRING && q->choices && q->value_s) {
        size_t k = 0;
        while (q->choices[k] && strcmp(q->choices[k], q->value_s) != 0)
            ++k;
        if (!q->choices[k])
            return tb_error_set(err, TB_ERR_INPUT, "%s: default of parameter '%s' (\"%s\") is not one of its choices",
                                file, q->name, q->value_s);
    }
    return TB_OK;
}

/* What every descriptor must hold, whatever its kind. */
static tb_status check_common(const tb_plugin *p, const char *file, tb_error *err)
{
    if (!tb_is_identifier(p->name))
        return tb_error_set(err, TB_ERR_INPUT, "%s: plugin name '%s' is not an identifier", file,
                            p->name ? p->name : "(null)");
    if (p->n_params && !p->params)
        return tb_error_set(err, TB_ERR_INPUT, "%s: n_params is %zu but params is NULL", file, p->n_params);
    for (size_t i = 0; i < p->n_params; ++i)
        if (check_param(&p->params[i], i, file, err) != TB_OK)
            return TB_ERR_INPUT;
    if (tb_names_unique(p->params, p->n_params, sizeof *p->params, offsetof(tb_param_info, name), "parameter",
                        file, err) != TB_OK)
        return TB_ERR_INPUT;
    for (size_t i = 0; i < sizeof p->reserved / sizeof p->reserved[0]; ++i)
        if (p->reserved[i])
            return tb_error_set(err, TB_ERR_INPUT, "%s: reserved descriptor fields must be NULL", file);
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
    if (check_common(p, file, err) != TB_OK)
        return TB_ERR_INPUT;
    if (!p->kind || !*p->kind)
        return tb_error_set(err, TB_ERR_INPUT, "%s: the descriptor names no kind", file);
    const tb_kit *kit = tb_kit_for_plugin_kind(p->kind);
    const tb_layer *layer = kit ? NULL : tb_layer_for_plugin_kind(p->kind);
    if (layer)
        return p->table ? layer->check_plugin(p, file, err)
                        : tb_error_set(err, TB_ERR_INPUT, "%s: a %s plugin needs its table (.table)", file, p->kind);
    if (!kit) {
        char *names = tb_kit_names();
        tb_status st = tb_error_set(err, TB_ERR_INPUT,
                                    "%s: plugin kind '%s' has no kit in this twinbrain (%s; kits: %s)", file,
                                    p->kind, PACKAGE_VERSION, names ? names : "none");
        free(names);
        return st;
    }
    if (!p->table)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a %s plugin needs its table (.table)", file, p->kind);
    return kit->check_plugin(p, file, err);
}

static bool have_name(const tb_plugin_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; ++i)
        if (strcmp(reg->items[i].desc->name, name) == 0)
            return true;
    return false;
}

typedef const tb_plugin *(*entry_fn)(const tb_core_services *core);

/* ------------------------------------------------------------ why a module did not open
 *
 * libltdl reports every failure of its loaders as "file not found", even
 * for a file that is right there but is not a shared library. So the
 * reason is asked of the system's loader itself, which names it ("invalid
 * ELF header", "undefined symbol: x", "file too short"). */

/* dlopen() only to read dlerror(); whatever opened is closed again. */
static char *dl_reason(const char *module)
{
    void *h = dlopen(module, RTLD_LAZY | RTLD_LOCAL);
    if (h) {
        dlclose(h);
        return NULL;
    }
    const char *why = dlerror();
    return tb_asprintf("not a loadable module: %s", why ? why : "the system's loader refused it");
}

/* The value of `dlname='...'` in a libtool description, or NULL. */
static char *la_dlname(const char *text)
{
    const char *p = strstr(text, "\ndlname='");
    if (!p)
        return NULL;
    p += strlen("\ndlname='");
    const char *end = strchr(p, '\'');
    return end ? tb_strndup(p, (size_t)(end - p)) : NULL;
}

/* A .la file names its module (dlname), found beside it or in .libs/ (an
 * uninstalled build), which is what libltdl opens. */
static char *la_reason(const char *file)
{
    char *text = tb_read_file(file, NULL);
    char *name = text ? la_dlname(text) : NULL;
    free(text);
    if (!name)
        return tb_strdup("not a libtool module description (.la file without a dlname line)");
    if (!name[0]) {
        free(name);
        return tb_strdup("a libtool description of a library without a loadable module (empty dlname)");
    }
    char *dir = tb_path_dirname(file);
    char *here = tb_asprintf("%s/%s", dir, name), *libs = tb_asprintf("%s/.libs/%s", dir, name);
    const char *module = access(here, F_OK) == 0 ? here : access(libs, F_OK) == 0 ? libs : NULL;
    char *why = module ? dl_reason(module) : tb_asprintf("its module %s is missing (looked in %s and %s/.libs)",
                                                         name, dir, dir);
    free(here), free(libs), free(dir), free(name);
    return why;
}

static char *open_failure(const char *file, const char *ltdl_why)
{
    struct stat st;
    if (stat(file, &st) != 0)
        return tb_strdup(strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tb_strdup("not a regular file");
    char *why = tb_str_ends_with(file, ".la") ? la_reason(file) : dl_reason(file);
    return why ? why : tb_strdup(ltdl_why ? ltdl_why : "cannot be opened as a module");
}

static void load_one(tb_plugin_registry *reg, const char *dir, const char *stem, const char *ext)
{
    char *base = tb_asprintf("%s/%s", dir, stem);
    char *file = tb_asprintf("%s%s", base, ext);
    lt_dlhandle h = lt_dlopen(file);
    if (!h) {
        char *why = open_failure(file, lt_dlerror());
        add_failure(reg, stem, file, why);
        free(why);
        goto done;
    }
    entry_fn entry;
    *(void **)&entry = lt_dlsym(h, "tb_plugin_entry");
    if (!entry) {
        add_failure(reg, stem, file, "no tb_plugin_entry symbol (expected <module>_LTX_tb_plugin_entry)");
        lt_dlclose(h);
        goto done;
    }
    const tb_plugin *p = entry(tb_core_services_get());
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
        !tb_grow((void **)&reg->items, &reg->cap, reg->n, sizeof *reg->items)) {
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
        if (!tb_grow((void **)&names, &cap, n, sizeof *names))
            break;
        names[n++] = tb_strdup(ent->d_name);
    }
    closedir(d);
    if (n) /* qsort's array must not be NULL, even for no elements */
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; ++i) {
        size_t len = strlen(names[i]);
        bool is_la = tb_str_ends_with(names[i], ".la");
        char *stem = tb_strndup(names[i], len - 3);
        bool la_sibling = false;
        for (size_t j = 0; !is_la && j < n; ++j)
            la_sibling |= strncmp(names[j], stem, len - 3) == 0 && strcmp(names[j] + len - 3, ".la") == 0 &&
                       strlen(names[j]) == len;
        if (!la_sibling)
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

/* A NULL registry is an empty one: a scenario checked without plugins
 * (an embedding program's, a test's) gets "no such plugin", not a crash. */
size_t tb_plugin_count(const tb_plugin_registry *reg) { return reg ? reg->n : 0; }
const tb_plugin *tb_plugin_at(const tb_plugin_registry *reg, size_t i) { return reg->items[i].desc; }
const char *tb_plugin_file_at(const tb_plugin_registry *reg, size_t i) { return reg->items[i].file; }
size_t tb_plugin_failure_count(const tb_plugin_registry *reg) { return reg ? reg->n_fails : 0; }
const char *tb_plugin_failure_at(const tb_plugin_registry *reg, size_t i) { return reg->fails[i].text; }
const char *tb_plugin_failure_stem(const tb_plugin_registry *reg, size_t i) { return reg->fails[i].stem; }
size_t tb_plugin_path_count(const tb_plugin_registry *reg) { return reg ? reg->n_paths : 0; }
const char *tb_plugin_path_at(const tb_plugin_registry *reg, size_t i) { return reg->paths[i]; }

const tb_plugin *tb_plugin_find(const tb_plugin_registry *reg, const char *kind, const char *name)
{
    for (size_t i = 0; i < tb_plugin_count(reg); ++i) {
        const tb_plugin *p = reg->items[i].desc;
        if ((!kind || strcmp(p->kind, kind) == 0) && strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

const char *tb_plugin_file_of(const tb_plugin_registry *reg, const tb_plugin *p)
{
    for (size_t i = 0; i < tb_plugin_count(reg); ++i)
        if (reg->items[i].desc == p)
            return reg->items[i].file;
    return NULL;
}

/* ------------------------------------------------------------ describe */

static void range_text(char *buf, size_t n, double lo, double hi)
{
    if (isinf(lo) && isinf(hi))
        snprintf(buf, n, "any");
    else if (lo == TB_POSITIVE && isinf(hi))
        snprintf(buf, n, "> 0");
    else if (lo == TB_POSITIVE)
        snprintf(buf, n, "(0, %g]", hi);
    else if (isinf(hi))
        snprintf(buf, n, ">= %g", lo);
    else if (isinf(lo))
        snprintf(buf, n, "<= %g", hi);
    else
        snprintf(buf, n, "[%g, %g]", lo, hi);
}

/* A parameter's default as the listing shows it. */
static void default_text(char *buf, size_t n, const tb_param_info *q)
{
    if (q->type == TB_PARAM_STRING || q->type == TB_PARAM_PATH || q->type == TB_PARAM_STRINGS)
        snprintf(buf, n, "%s", q->value_s ? q->value_s : "(required)");
    else
        snprintf(buf, n, "%g", q->value);
}

/* A parameter's allowed values and default as the listing shows them. */
static void param_columns(const tb_param_info *q, char *r, size_t nr, char *d, size_t nd)
{
    range_text(r, nr, q->min, q->max);
    default_text(d, nd, q);
    if (q->type != TB_PARAM_REAL)
        snprintf(r, nr, "%s", tb_param_type_name(q->type));
}

void tb_plugin_describe(const tb_plugin *p, const char *file, tb_buf *b)
{
    tb_buf_printf(b, "%s %s (%s plugin)\n  %s\n  file: %s\n\n", p->name, p->version ? p->version : "", p->kind,
                  p->summary ? p->summary : "", file);
    if (p->doc)
        tb_buf_printf(b, "%s\n\n", p->doc);
    const tb_kit *kit = tb_kit_for_plugin_kind(p->kind);
    const tb_layer *layer = tb_layer_for_plugin_kind(p->kind);
    if (kit && kit->plugin_text)
        kit->plugin_text(p, b);
    else if (layer && layer->plugin_text)
        layer->plugin_text(p, b);
    /* columns as wide as their longest entry (at least the usual widths),
     * so that a long unit or default does not push the rest out of line */
    int w[4] = {10, 12, 8, 14};
    for (size_t i = 0; i < p->n_params; ++i) {
        char r[64], d[64];
        param_columns(&p->params[i], r, sizeof r, d, sizeof d);
        const char *col[4] = {p->params[i].name, d, p->params[i].unit ? p->params[i].unit : "", r};
        for (int c = 0; c < 4; ++c)
            w[c] = (int)strlen(col[c]) > w[c] ? (int)strlen(col[c]) : w[c];
    }
    tb_buf_printf(b, "parameters\n  %-*s %-*s %-*s %-*s %s\n", w[0], "name", w[1], "default", w[2], "unit", w[3],
                  "allowed", "meaning");
    for (size_t i = 0; i < p->n_params; ++i) {
        const tb_param_info *q = &p->params[i];
        char r[64], d[64];
        param_columns(q, r, sizeof r, d, sizeof d);
        tb_buf_printf(b, "  %-*s %-*s %-*s %-*s %s\n", w[0], q->name, w[1], d, w[2], q->unit ? q->unit : "", w[3], r,
                      q->doc ? q->doc : "");
    }
}

static void param_json(const tb_param_info *q, tb_buf *b)
{
    tb_buf_puts(b, "{\"name\": ");
    tb_json_string(b, q->name);
    tb_buf_puts(b, ", \"type\": ");
    tb_json_string(b, tb_param_type_name(q->type));
    tb_buf_puts(b, ", \"default\": ");
    if (q->type == TB_PARAM_STRING || q->type == TB_PARAM_PATH || q->type == TB_PARAM_STRINGS)
        q->value_s ? tb_json_string(b, q->value_s) : tb_buf_puts(b, "null");
    else
        tb_json_number(b, q->value);
    tb_buf_puts(b, ", \"unit\": ");
    tb_json_string(b, q->unit);
    tb_buf_puts(b, ", \"min\": ");
    tb_json_number(b, q->min);
    tb_buf_puts(b, ", \"max\": ");
    tb_json_number(b, q->max);
    tb_buf_puts(b, ", \"doc\": ");
    tb_json_string(b, q->doc);
    tb_buf_puts(b, "}");
}

void tb_plugin_describe_json(const tb_plugin *p, const char *file, tb_buf *b)
{
    const char *keys[] = {"name", "kind", "version", "summary", "file", "doc"};
    const char *vals[] = {p->name, p->kind, p->version, p->summary, file, p->doc};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        tb_buf_printf(b, "%s\"%s\": ", i ? ", " : "{", keys[i]);
        tb_json_string(b, vals[i]);
    }
    tb_buf_puts(b, ", \"parameters\": [");
    for (size_t i = 0; i < p->n_params; ++i) {
        tb_buf_puts(b, i ? ", " : "");
        param_json(&p->params[i], b);
    }
    tb_buf_puts(b, "]");
    const tb_kit *kit = tb_kit_for_plugin_kind(p->kind);
    if (kit && kit->plugin_json)
        kit->plugin_json(p, b);
    tb_buf_puts(b, "}");
}
