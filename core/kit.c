/* The kit registry: the kits named in the build (TB_KITS, through the
 * generated kits.inc) and any an embedding program or a test registers. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"

#define TB_KIT(name) extern const tb_kit tb_##name##_kit;
#include "kits.inc"
#undef TB_KIT

#define TB_KIT(name) &tb_##name##_kit,
static const tb_kit *const builtin[] = {
#include "kits.inc"
    NULL};
#undef TB_KIT

#define N_BUILTIN (sizeof builtin / sizeof builtin[0] - 1)
#define MAX_EXTRA 16

/* Kits registered at run time: appended under the lock, never removed, so
 * readers see a prefix that only grows. */
static const tb_kit *extra[MAX_EXTRA];
static size_t n_extra;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

size_t tb_kit_count(void)
{
    pthread_mutex_lock(&lock);
    size_t n = N_BUILTIN + n_extra;
    pthread_mutex_unlock(&lock);
    return n;
}

const tb_kit *tb_kit_at(size_t i)
{
    return i < N_BUILTIN ? builtin[i] : extra[i - N_BUILTIN];
}

const tb_kit *tb_kit_find(const char *name)
{
    for (size_t k = 0, n = tb_kit_count(); name && k < n; ++k)
        if (strcmp(tb_kit_at(k)->name, name) == 0)
            return tb_kit_at(k);
    return NULL;
}

const tb_kit *tb_kit_for_plugin_kind(const char *kind)
{
    for (size_t k = 0, n = tb_kit_count(); kind && k < n; ++k)
        if (tb_kit_at(k)->plugin_kind && strcmp(tb_kit_at(k)->plugin_kind, kind) == 0)
            return tb_kit_at(k);
    return NULL;
}

char *tb_kit_names(void)
{
    tb_buf b = {0};
    for (size_t k = 0, n = tb_kit_count(); k < n; ++k)
        tb_buf_printf(&b, "%s%s", k ? ", " : "", tb_kit_at(k)->name);
    return tb_buf_take(&b);
}

/* The entries the foundation calls without asking. */
static const char *missing_entry(const tb_kit *kit)
{
    const struct {
        const char *name;
        bool present;
    } required[] = {
        {"check_scenario", kit->check_scenario}, {"free_scenario", kit->free_scenario},
        {"list_keys", kit->list_keys},           {"check_text", kit->check_text}, {"model_of", kit->model_of},
        {"summary_text", kit->summary_text},     {"check", kit->check},
        {"create", kit->create},                 {"declare", kit->declare},
        {"advance", kit->advance},               {"max_chunk", kit->max_chunk},
        {"program", kit->program},               {"units", kit->units},
        {"instances", kit->instances},           {"samples", kit->samples},
        {"destroy", kit->destroy},               {"unit_noun", kit->unit_noun != NULL},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; ++i)
        if (!required[i].present)
            return required[i].name;
    if (kit->plugin_kind && !kit->check_plugin)
        return "check_plugin";
    return NULL;
}

/* A name or section another kit (or the core: simulation, output) has. */
static const char *taken(const tb_kit *kit)
{
    for (size_t i = 0; i < kit->n_sections; ++i) {
        const char *s = kit->sections[i].name;
        if (strcmp(s, "simulation") == 0 || strcmp(s, "output") == 0)
            return s;
        for (size_t k = 0, n = N_BUILTIN + n_extra; k < n; ++k)
            for (size_t j = 0; j < tb_kit_at(k)->n_sections; ++j)
                if (strcmp(s, tb_kit_at(k)->sections[j].name) == 0)
                    return s;
    }
    return NULL;
}

tb_status tb_kit_register(const tb_kit *kit, tb_error *err)
{
    if (!kit || !kit->name || !tb_is_identifier(kit->name))
        return tb_error_set(err, TB_ERR_OTHER, "a kit needs a name that is an identifier");
    const char *miss = missing_entry(kit);
    if (miss)
        return tb_error_set(err, TB_ERR_OTHER, "kit '%s' has no %s entry", kit->name, miss);
    pthread_mutex_lock(&lock);
    tb_status st = TB_OK;
    const char *sec = taken(kit);
    bool plugin_taken = false;
    for (size_t k = 0; kit->plugin_kind && k < N_BUILTIN + n_extra; ++k)
        plugin_taken |= tb_kit_at(k)->plugin_kind && strcmp(tb_kit_at(k)->plugin_kind, kit->plugin_kind) == 0;
    for (size_t k = 0; st == TB_OK && k < N_BUILTIN + n_extra; ++k)
        if (strcmp(tb_kit_at(k)->name, kit->name) == 0)
            st = tb_error_set(err, TB_ERR_OTHER, "a kit named '%s' is already registered", kit->name);
    if (st == TB_OK && sec)
        st = tb_error_set(err, TB_ERR_OTHER, "kit '%s': section [%s] already belongs to the core or another kit",
                          kit->name, sec);
    if (st == TB_OK && plugin_taken)
        st = tb_error_set(err, TB_ERR_OTHER, "kit '%s': plugin kind '%s' already has a kit", kit->name,
                          kit->plugin_kind);
    if (st == TB_OK && n_extra == MAX_EXTRA)
        st = tb_error_set(err, TB_ERR_OTHER, "kit '%s': at most %d kits can be registered", kit->name, MAX_EXTRA);
    if (st == TB_OK)
        extra[n_extra++] = kit;
    pthread_mutex_unlock(&lock);
    return st;
}
