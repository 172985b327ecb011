/* Scenario loading: TOML -> overrides -> kit selection -> schema check ->
 * defaults -> struct.
 *
 * The foundation owns [simulation] and [output]; every other top-level
 * section belongs to a kit (core/kit.h), which the document selects with
 * simulation.kind or by the sections it uses. The schema is data
 * (tb_key_spec tables), so that the check, the defaults, the
 * documentation list (tb_scenario_keys) and the "did you mean" suggestions
 * all come from one place. Errors are collected rather than stopping at
 * the first, so a user fixes a scenario in one pass. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kit.h"
#include "layer.h"
#include "schema.h"
#include "twinbrain/scenario.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *const precisions[] = {"single", "double", NULL};

static const tb_key_spec simulation_keys[] = {
    {"kind", KT_STRING, .doc = "the kind of model the scenario runs (twinbrain check --keys lists each kind's "
                               "sections); default: the kind whose sections the scenario uses"},
    {"duration", KT_FLOAT, true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "simulated time in ms; a multiple of dt"},
    {"dt", KT_FLOAT, false, 0.1, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "integration step in ms"},
    {"seed", KT_INT, false, 42, .has_def = true, .min = 0, .max = 9.2e18,
     .doc = "seed of every random draw (initial values, noise)"},
    {"precision", KT_STRING, false, .def_s = "double", .has_def = true, .choices = precisions,
     .doc = "floating-point precision on the device: single or double"},
    {"device", KT_STRING_OR_STRINGS,
     .doc = "device selector (auto, cpu, gpu, accelerator, INDEX, P:D, name~TEXT), all, or an array of "
            "selectors to split a sweep's instances across devices; default $TWINBRAIN_DEVICE, else auto"},
};

static const tb_key_spec output_keys[] = {
    {"file", KT_STRING, .doc = "output HDF5 file, relative to the scenario's folder; default "
                               "NAME.h5 in the current folder; -o overrides"},
};

/* device = ["cpu", "gpu"] is the selector "cpu,gpu" (several devices). */
static char *device_selector(const tb_toml_value *v)
{
    if (!v || v->type != TB_TOML_ARRAY)
        return v && v->type == TB_TOML_STRING ? tb_strdup(v->u.s.ptr) : NULL;
    tb_buf b = {0};
    for (size_t i = 0; i < v->u.arr.n; ++i)
        if (v->u.arr.items[i]->type == TB_TOML_STRING)
            tb_buf_printf(&b, "%s%s", i ? "," : "", v->u.arr.items[i]->u.s.ptr);
    return tb_buf_take(&b);
}

static void check_simulation(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *sim)
{
    tb_schema_table(c, sim, simulation_keys, N_(simulation_keys), "simulation");
    /* NaN for a value reported as wrong: what depends on it is skipped */
    sc->duration = tb_schema_num(c, sim, "duration", NAN);
    sc->dt = tb_schema_num(c, sim, "dt", NAN);
    int64_t seed = tb_schema_int(c, sim, "seed", 0);
    sc->seed = (uint64_t)(seed < 0 ? 0 : seed);
    const char *p = tb_toml_as_string(tb_toml_get(sim, "precision"));
    sc->precision = p && strcmp(p, "single") == 0 ? TB_SINGLE : TB_DOUBLE;
    sc->device = device_selector(tb_toml_get(sim, "device"));
    /* both were checked as finite numbers > 0 (NaN when reported) */
    if (sc->duration > 0 && sc->dt > 0) {
        uint64_t steps = 0;
        if (!tb_schema_steps(sc->duration, sc->dt, &steps))
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(sim, "duration")->pos,
                             "simulation.duration / simulation.dt is %g steps (%g ms of %g ms); a run has at most "
                             "2^53 = %.0f steps",
                             sc->duration / sc->dt, sc->duration, sc->dt, TB_MAX_STEPS);
        else if (!tb_schema_multiple_of_dt(sc->duration, sc->dt))
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(sim, "duration")->pos,
                   "simulation.duration (%g ms) must be a whole multiple of simulation.dt (%g ms)", sc->duration,
                   sc->dt);
        else
            sc->steps = steps;
    }
}

/* ------------------------------------------------------------ overrides */

static void zero_positions(tb_toml_value *v)
{
    v->pos.line = v->pos.col = 0;
    if (v->type == TB_TOML_ARRAY)
        for (size_t i = 0; i < v->u.arr.n; ++i)
            zero_positions(v->u.arr.items[i]);
    if (v->type == TB_TOML_TABLE)
        for (size_t i = 0; i < v->u.tab.n; ++i) {
            v->u.tab.items[i].pos.line = v->u.tab.items[i].pos.col = 0;
            zero_positions(v->u.tab.items[i].value);
        }
}

/* --set KEY=VALUE: KEY is a TOML dotted key, whose quoted parts may hold
 * dots and '=' (sweep."model.parameters.G"), so the key is parsed, not cut
 * at the first '='. VALUE is TOML ("0.5", "[1, 2]", "'x'"); a bare word that
 * is not valid TOML is taken as a string, so --set model.plugin=jansen_rit
 * works without shell-quoted quotes. */
static tb_status apply_override(tb_toml_value *doc, const char *file, const char *ov, tb_error *err)
{
    tb_error kerr = {0};
    size_t n = tb_toml_key_span(ov, &kerr);
    const char *eq = ov + n;
    if (n == 0 || *eq != '=') {
        tb_status st = tb_error_set(err, TB_ERR_SCENARIO,
                                    "%s: --set '%s': expected KEY=VALUE (e.g. simulation.dt=0.05)%s%s", file, ov,
                                    kerr.message ? ": " : "", kerr.message ? kerr.message : "");
        tb_error_clear(&kerr);
        return st;
    }
    while (ov[n - 1] == ' ' || ov[n - 1] == '\t') /* a key ends at a part, not at a blank */
        --n;
    char *key = tb_strndup(ov, n);
    tb_error perr = {0};
    tb_toml_value *v = tb_toml_parse_value(eq + 1, "--set", &perr);
    if (!v && eq[1] && !strpbrk(eq + 1, "\"'[]{}=\n"))
        v = tb_toml_new_string(eq + 1);
    if (!v) {
        tb_status st = tb_error_set(err, TB_ERR_SCENARIO, "%s: --set %s: the value is not valid TOML: %s", file,
                                    key, tb_error_message(&perr));
        tb_error_clear(&perr);
        free(key);
        return st;
    }
    tb_error_clear(&perr);
    zero_positions(v);
    tb_error serr = {0};
    tb_status st = TB_OK;
    if (!tb_toml_set_path(doc, key, v, &serr)) {
        /* set_path owns v even when it fails */
        st = tb_error_set(err, TB_ERR_SCENARIO, "%s: --set %s: %s", file, key, tb_error_message(&serr));
    }
    tb_error_clear(&serr);
    free(key);
    return st;
}

/* ------------------------------------------------------------ kits */

static const tb_key_spec core_sections[] = {
    {"simulation", KT_TABLE, true, .doc = "time, step, seed, precision, device and kind"},
    {"output", KT_TABLE, .doc = "where results go"},
};

static bool is_core_section(const char *key)
{
    for (size_t i = 0; i < N_(core_sections); ++i)
        if (strcmp(key, core_sections[i].name) == 0)
            return true;
    return false;
}

static bool kit_owns(const tb_kit *kit, const char *key)
{
    for (size_t i = 0; i < kit->n_sections; ++i)
        if (strcmp(key, kit->sections[i].name) == 0)
            return true;
    return false;
}

/* The kit owning a top-level section alone, or NULL: a section several
 * kits accept ([assimilation]) selects none. *first: the first owner. */
static const tb_kit *owner_of(const char *key, const tb_kit **first)
{
    const tb_kit *one = NULL;
    size_t n = 0;
    for (size_t k = 0; k < tb_kit_count(); ++k)
        if (kit_owns(tb_kit_at(k), key) && n++ == 0)
            one = tb_kit_at(k);
    if (first)
        *first = one;
    return n == 1 ? one : NULL;
}

static const tb_kit *explicit_kit(tb_schema_checker *c, const tb_toml_value *root)
{
    const tb_toml_value *kv = tb_toml_get_path(root, "simulation.kind");
    const char *name = tb_toml_as_string(kv);
    if (!name)
        return NULL; /* absent, or wrongly typed: the [simulation] check says so */
    const tb_kit *kit = tb_kit_find(name);
    if (!kit) {
        char *names = tb_kit_names();
        const char **cands = calloc(tb_kit_count() + 1, sizeof *cands);
        for (size_t k = 0; cands && k < tb_kit_count(); ++k)
            cands[k] = tb_kit_at(k)->name;
        const char *sug = cands ? tb_schema_closest(name, cands, tb_kit_count()) : NULL;
        tb_schema_report(c, TB_ERR_SCENARIO, kv->pos, "simulation.kind must be one of %s (got \"%s\")%s%s%s",
                         names ? names : "", name, sug ? "; did you mean \"" : "", sug ? sug : "", sug ? "\"?" : "");
        free(cands);
        free(names);
    }
    return kit;
}

/* The kit whose sections the document uses; two kits' sections mixed are
 * an error naming one section of each. */
static const tb_kit *inferred_kit(tb_schema_checker *c, const tb_toml_value *root)
{
    const tb_kit *kit = NULL;
    const tb_toml_kv *first = NULL;
    for (size_t i = 0; i < root->u.tab.n; ++i) {
        const tb_toml_kv *kv = &root->u.tab.items[i];
        const tb_kit *owner = is_core_section(kv->key) ? NULL : owner_of(kv->key, NULL);
        if (!owner)
            continue;
        if (!kit) {
            kit = owner, first = kv;
        } else if (owner != kit) {
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos,
                             "[%s] belongs to %s scenarios, but [%s] (line %d) to %s scenarios; a scenario runs "
                             "one kind of model (simulation.kind)",
                             kv->key, owner->name, first->key, first->pos.line, kit->name);
            return NULL;
        }
    }
    /* nothing of any kit: the first kit's checks say what is missing */
    return kit ? kit : tb_kit_count() ? tb_kit_at(0) : NULL;
}

/* The top level: the core's sections and the kit's, nothing else. */
static void check_top(tb_schema_checker *c, tb_toml_value *root, const tb_kit *kit)
{
    size_t n = N_(core_sections) + kit->n_sections;
    for (size_t k = 0; k < tb_layer_count(); ++k)
        n += tb_layer_at(k)->n_sections;
    tb_key_spec *specs = calloc(n, sizeof *specs);
    if (!specs)
        return;
    memcpy(specs, core_sections, sizeof core_sections);
    memcpy(specs + N_(core_sections), kit->sections, kit->n_sections * sizeof *specs);
    size_t at = N_(core_sections) + kit->n_sections;
    for (size_t k = 0; k < tb_layer_count(); ++k) {
        memcpy(specs + at, tb_layer_at(k)->sections, tb_layer_at(k)->n_sections * sizeof *specs);
        at += tb_layer_at(k)->n_sections;
    }
    for (size_t i = 0; i < root->u.tab.n; ++i) {
        const tb_toml_kv *kv = &root->u.tab.items[i];
        const tb_kit *owner = NULL;
        if (!is_core_section(kv->key) && !kit_owns(kit, kv->key))
            owner_of(kv->key, &owner);
        if (owner)
            tb_schema_report(c, TB_ERR_SCENARIO, kv->pos,
                             "[%s] belongs to %s scenarios, not to this %s scenario (simulation.kind)", kv->key,
                             owner->name, kit->name);
    }
    tb_schema_table(c, root, specs, n, "");
    free(specs);
}

/* ------------------------------------------------------------ entry */

static void check_output(tb_schema_checker *c, tb_scenario *sc)
{
    tb_toml_value *t = tb_schema_ensure_table(sc->doc, "output");
    if (!t)
        return;
    tb_schema_table(c, t, output_keys, N_(output_keys), "output");
    const char *f = tb_toml_as_string(tb_toml_get(t, "file"));
    if (f)
        sc->output_file = tb_path_join(sc->dir, f);
}

static void check_document(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    tb_toml_value *root = sc->doc, *t;
    const tb_kit *kit = explicit_kit(c, root);
    if (!kit && c->n == 0)
        kit = inferred_kit(c, root);
    if (!kit)
        return;
    sc->kit = kit;
    sc->n_instances = 1;
    check_top(c, root, kit);
    if ((t = (tb_toml_value *)tb_toml_get(root, "simulation")) && t->type == TB_TOML_TABLE)
        check_simulation(c, sc, t);
    kit->check_scenario(c, sc, reg);
    /* layers after the kit: they may ask what the kit's sections hold */
    for (size_t k = 0; k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        tb_layer_at(k)->check_scenario(c, sc, reg, &sc->layer_data[k]);
    check_output(c, sc);
}

/* Overrides, then the checks, on a parsed document (taken over). */
static tb_status load_doc(tb_toml_value *doc, const char *path, const char *dir, const char *const *overrides,
                          size_t n_overrides, const tb_plugin_registry *reg, tb_scenario **out, tb_error *err)
{
    for (size_t i = 0; i < n_overrides; ++i) {
        tb_status st = apply_override(doc, path, overrides[i], err);
        if (st != TB_OK) {
            tb_toml_free(doc);
            return st;
        }
    }
    tb_scenario *sc = calloc(1, sizeof *sc);
    sc->path = tb_strdup(path);
    sc->dir = dir ? tb_strdup(dir) : tb_path_dirname(path);
    sc->doc = doc;
    tb_schema_checker c = {.file = path};
    check_document(&c, sc, reg);
    tb_schema_checker_release(&c);
    if (c.n == 0) {
        *out = sc;
        return TB_OK;
    }
    if (c.n > TB_SCHEMA_MAX_REPORTED)
        tb_buf_printf(&c.msgs, "%s: ... and %d more errors\n", path, c.n - TB_SCHEMA_MAX_REPORTED);
    char *text = tb_buf_take(&c.msgs);
    size_t len = text ? strlen(text) : 0;
    if (len && text[len - 1] == '\n')
        text[len - 1] = '\0';
    tb_error_set(err, c.status, "%s", text ? text : "scenario error");
    free(text);
    tb_scenario_free(sc);
    return c.status;
}

tb_status tb_scenario_load(const char *path, const char *const *overrides, size_t n_overrides,
                           const tb_plugin_registry *reg, tb_scenario **out, tb_error *err)
{
    *out = NULL;
    tb_toml_value *doc = tb_toml_parse_file(path, err);
    if (!doc)
        return err ? err->status : TB_ERR_SCENARIO;
    return load_doc(doc, path, NULL, overrides, n_overrides, reg, out, err);
}

tb_status tb_scenario_load_text(const char *text, const char *name, const char *dir,
                                const char *const *overrides, size_t n_overrides,
                                const tb_plugin_registry *reg, tb_scenario **out, tb_error *err)
{
    *out = NULL;
    tb_toml_value *doc = tb_toml_parse(text, strlen(text), name, err);
    if (!doc)
        return err ? err->status : TB_ERR_SCENARIO;
    return load_doc(doc, name, dir, overrides, n_overrides, reg, out, err);
}

char *tb_scenario_input_path(tb_scenario *sc, const char *key, const char *relative)
{
    char *path = tb_path_join(sc->dir, relative);
    if (path && tb_grow((void **)&sc->inputs, &sc->cap_inputs, sc->n_inputs, sizeof *sc->inputs))
        sc->inputs[sc->n_inputs++] = (struct tb_scenario_input){tb_strdup(key), tb_strdup(path)};
    return path;
}

static bool same_file(const struct stat *a, const char *path)
{
    struct stat b;
    return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

tb_status tb_scenario_check_output(const tb_scenario *sc, const char *output, tb_error *err)
{
    struct stat out;
    if (!output || stat(output, &out) != 0)
        return TB_OK; /* nothing there yet: nothing to destroy */
    const char *hint = "choose another output file (-o or output.file)";
    if (same_file(&out, sc->path))
        return tb_error_set(err, TB_ERR_INPUT, "%s: the output file is the scenario file itself; %s", output,
                            hint);
    for (size_t i = 0; i < sc->n_inputs; ++i)
        if (same_file(&out, sc->inputs[i].path))
            return tb_error_set(err, TB_ERR_INPUT, "%s: the output file is the scenario's %s (%s), an input of the "
                                "run; %s", output, sc->inputs[i].key, sc->inputs[i].path, hint);
    return TB_OK;
}

void tb_scenario_free(tb_scenario *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->n_inputs; ++i) {
        free(sc->inputs[i].key);
        free(sc->inputs[i].path);
    }
    free(sc->inputs);
    tb_layers_free(sc);
    if (sc->kit && sc->kit_data)
        sc->kit->free_scenario(sc->kit_data);
    tb_toml_free(sc->doc);
    free(sc->path);
    free(sc->dir);
    free(sc->device);
    free(sc->output_file);
    free(sc);
}

char *tb_scenario_format(const tb_scenario *sc)
{
    return tb_toml_format(sc->doc);
}

char *tb_scenario_where(const tb_scenario *sc, tb_toml_pos pos)
{
    return tb_schema_where(sc->path, pos);
}

char *tb_scenario_keys(void)
{
    tb_buf b = {0};
    tb_schema_list_keys(&b, "", core_sections, N_(core_sections));
    for (size_t k = 0; k < tb_kit_count(); ++k) {
        const tb_kit *kit = tb_kit_at(k);
        for (size_t i = 0; i < kit->n_sections; ++i) {
            const tb_kit *first = NULL;
            owner_of(kit->sections[i].name, &first);
            if (first == kit) /* a shared section once */
                tb_schema_list_keys(&b, "", &kit->sections[i], 1);
        }
    }
    for (size_t k = 0; k < tb_layer_count(); ++k)
        tb_schema_list_keys(&b, "", tb_layer_at(k)->sections, tb_layer_at(k)->n_sections);
    tb_schema_list_keys(&b, "simulation", simulation_keys, N_(simulation_keys));
    tb_schema_list_keys(&b, "output", output_keys, N_(output_keys));
    for (size_t k = 0; k < tb_kit_count(); ++k)
        tb_kit_at(k)->list_keys(&b);
    for (size_t k = 0; k < tb_layer_count(); ++k)
        tb_layer_at(k)->list_keys(&b);
    return tb_buf_take(&b);
}

const char *tb_scenario_kind(const tb_scenario *sc)
{
    return sc->kit ? sc->kit->name : "";
}

char *tb_scenario_describe(const tb_scenario *sc)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "(");
    sc->kit->check_text(sc, &b);
    tb_buf_puts(&b, ")");
    return tb_buf_take(&b);
}
