/* Fuzzing the scenario loader: document text -> checked scenario
 * (core/scenario.c, core/schema.c and the kits' sections), with the
 * plugins of the build tree, then what `twinbrain check` does with a
 * checked one (its inputs read, its verdict written).
 *
 * The document is written to a scratch folder whose data/ holds the
 * examples' data and small_8.h5, an 8-region connectome (quicker to read
 * than the 246-region example). Comment lines at the top steer the run:
 *   #--set KEY=VALUE   an override, as on the command line (up to 8)
 *   #--no-plugins      no plugin registry at all (NULL)
 * A checked scenario must format to a document that checks again. */
#include <errno.h>

#include "fuzz.h"
#include "twinbrain/connectome.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"

#define MAX_SETS 8

static tb_plugin_registry *registry;

static const char *srcdir(void)
{
    const char *s = getenv("TB_SRCDIR");
    return s && *s ? s : TB_FUZZ_SRCDIR;
}

static void link_example_data(const char *data)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/examples/data/synthetic_246.h5", srcdir());
    snprintf(to, sizeof to, "%s/synthetic_246.h5", data);
    if (symlink(from, to) != 0)
        fprintf(stderr, "fuzz_scenario: cannot link %s: %s\n", from, strerror(errno));
}

static void write_small_connectome(const char *data)
{
    tb_connectome_recipe r;
    tb_connectome_recipe_defaults(&r);
    r.n = 8;
    tb_connectome *c = NULL;
    tb_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/small_8.h5", data);
    if (tb_connectome_generate(&r, &c, &err) != TB_OK || tb_connectome_write(c, path, &err) != TB_OK)
        fprintf(stderr, "fuzz_scenario: %s\n", tb_error_message(&err));
    tb_connectome_free(c);
    tb_error_clear(&err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char data[512];
    mkdir(fuzz_path(data, sizeof data, "data"), 0700);
    link_example_data(data);
    write_small_connectome(data);
    /* the build tree's plugins, unless the environment names others */
    setenv("TWINBRAIN_PLUGIN_PATH", TB_FUZZ_BUILDDIR "/plugins", 0);
    tb_error err = {0};
    if (tb_plugin_registry_load(&registry, &err) != TB_OK)
        fprintf(stderr, "fuzz_scenario: no plugins: %s\n", tb_error_message(&err));
    tb_error_clear(&err);
    return 0;
}

/* The steering comments at the top of the document. */
typedef struct steering {
    char *sets[MAX_SETS];
    size_t n_sets;
    bool no_plugins;
} steering;

static void read_steering(const uint8_t *data, size_t size, steering *s)
{
    size_t at = 0;
    while (at < size && data[at] == '#') {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        if (len > 8 && memcmp(data + at, "#--set ", 7) == 0 && s->n_sets < MAX_SETS)
            s->sets[s->n_sets++] = strndup((const char *)data + at + 7, len - 7);
        else if (len == 13 && memcmp(data + at, "#--no-plugins", 13) == 0)
            s->no_plugins = true;
        at += len + 1;
    }
}

/* What a checked scenario must allow: its resolved text checks again,
 * and `check` writes its verdict (after reading its inputs). */
static void use_scenario(tb_scenario *sc, const tb_plugin_registry *reg)
{
    char *text = tb_scenario_format(sc);
    FUZZ_ASSERT(text);
    char path[512];
    FUZZ_ASSERT(fuzz_write(fuzz_path(path, sizeof path, "resolved.toml"), text, strlen(text)));
    tb_scenario *again = NULL;
    tb_error err = {0};
    if (tb_scenario_load(path, NULL, 0, reg, &again, &err) != TB_OK)
        fprintf(stderr, "the resolved scenario does not check: %s\n---\n%s---\n", tb_error_message(&err), text);
    FUZZ_ASSERT(again);
    FUZZ_ASSERT(strcmp(tb_scenario_kind(again), tb_scenario_kind(sc)) == 0);
    tb_scenario_free(again);
    free(text);
    char *what = tb_scenario_describe(sc);
    FUZZ_ASSERT(what);
    free(what);
    char *where = tb_scenario_where(sc, (tb_toml_pos){1, 1});
    free(where);
    if (tb_sim_check(sc, &err) != TB_OK)
        FUZZ_ASSERT(tb_error_message(&err)[0]);
    tb_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    if (!fuzz_write(fuzz_path(path, sizeof path, "fuzz.toml"), data, size))
        return 0;
    steering s = {0};
    read_steering(data, size, &s);
    const tb_plugin_registry *reg = s.no_plugins ? NULL : registry;
    tb_scenario *sc = NULL;
    tb_error err = {0};
    tb_status st = tb_scenario_load(path, (const char *const *)s.sets, s.n_sets, reg, &sc, &err);
    if (fuzz_verbose())
        fprintf(stderr, "  %s\n", st == TB_OK ? "checked" : tb_error_message(&err));
    if (st == TB_OK) {
        FUZZ_ASSERT(sc);
        use_scenario(sc, reg);
    } else {
        FUZZ_ASSERT(!sc);
        FUZZ_ASSERT(tb_error_message(&err)[0]);
    }
    tb_scenario_free(sc);
    tb_error_clear(&err);
    for (size_t i = 0; i < s.n_sets; i++)
        free(s.sets[i]);
    return 0;
}
