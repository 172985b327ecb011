/* Fuzzing the plugin descriptor checks: bytes -> a descriptor (and its
 * kind's table) -> tb_plugin_check (core/plugin.c and the kits' checks),
 * then, for one that passes, what `twinbrain plugins NAME` writes of it.
 *
 * A descriptor's pointers are trusted to be what the header says (arrays
 * of the declared length, NUL-terminated strings): the loader cannot check
 * that. So the harness builds every array with exactly the declared
 * length, and everything else (counts, names, numbers, versions, NULLs)
 * from the input: a read past an array is the checker's fault. */
#include "fuzz.h"
#include "twinbrain/mass.h"
#include "twinbrain/plugin.h"
#include "twinbrain/spiking.h"
#include "kit.h"
#include "util.h"

/* Names that pass the identifier rule, clash with one another (x, dx) or
 * with the names the kits reserve. */
static const char *const names[] = {"x",     "y",    "dx",       "mu",  "V_m",     "tau",        "ex",
                                    "in",    "in_ex", "tb_state", "cp_a", "coupling", "t",         "region",
                                    "real",  "dt",   "I_ext",    "if",  "__x",     "refractory", "t_ref",
                                    "1x",    "",     "a b",      "x-y", "\xc3\xa9", "n_regions"};
#define N_NAMES (sizeof names / sizeof names[0])

static const char *const kinds[] = {TB_MASS_KIND, TB_SPIKING_KIND, "twin", ""};

typedef struct maker {
    fuzz_bytes in;
    fuzz_arena arena;
} maker;

static const char *name(maker *m) { return fb_string(&m->in, &m->arena, names, N_NAMES); }

/* Mostly right, sometimes any value: version and size fields. */
static uint32_t version_field(maker *m, uint32_t right)
{
    unsigned k = fb_u8(&m->in);
    return k < 224 ? right : k < 240 ? right + (k & 7) - 4 : fb_u32(&m->in);
}

/* Counts stay small: every element is built. */
static size_t count(maker *m, size_t max) { return fb_pick(&m->in, (unsigned)max + 1); }

static const char *const *choices(maker *m)
{
    size_t n = count(m, 4);
    if (fb_u8(&m->in) < 128)
        return NULL;
    const char **c = fa_calloc(&m->arena, n + 1, sizeof *c);
    for (size_t i = 0; c && i < n; i++)
        c[i] = name(m);
    /* a NULL among them ends the list early, as it would for the checker */
    return c;
}

static const tb_param_info *params(maker *m, size_t n)
{
    tb_param_info *p = fa_calloc(&m->arena, n, sizeof *p);
    for (size_t i = 0; p && i < n; i++) {
        p[i].name = name(m);
        p[i].value = fb_double(&m->in);
        p[i].min = fb_u8(&m->in) < 64 ? TB_POSITIVE : fb_double(&m->in);
        p[i].max = fb_double(&m->in);
        p[i].unit = name(m);
        p[i].doc = name(m);
        p[i].type = (tb_param_type)fb_pick(&m->in, 8); /* 6 and 7 are no type */
        p[i].value_s = name(m);
        p[i].length = count(m, 3);
        p[i].choices = choices(m);
    }
    return p;
}

static const tb_mass_model *mass_table(maker *m, size_t n_params)
{
    (void)n_params;
    tb_mass_model *t = fa_calloc(&m->arena, 1, sizeof *t);
    if (!t)
        return NULL;
    t->head.version = version_field(m, TB_MASS_TABLE_VERSION);
    t->head.size = version_field(m, sizeof *t);
    t->n_vars = count(m, 6);
    tb_mass_var *v = fb_u8(&m->in) < 8 ? NULL : fa_calloc(&m->arena, t->n_vars, sizeof *v);
    for (size_t i = 0; v && i < t->n_vars; i++) {
        v[i].name = name(m);
        v[i].initial = fb_double(&m->in);
        v[i].range_lo = fb_double(&m->in);
        v[i].range_hi = fb_double(&m->in);
        v[i].bound_lo = fb_double(&m->in);
        v[i].bound_hi = fb_double(&m->in);
        v[i].unit = name(m);
    }
    t->vars = v;
    t->n_coupled = count(m, 3);
    const char **c = fb_u8(&m->in) < 8 ? NULL : fa_calloc(&m->arena, t->n_coupled, sizeof *c);
    for (size_t i = 0; c && i < t->n_coupled; i++)
        c[i] = name(m);
    t->coupled = c;
    t->dfun = name(m);
    t->helpers = name(m);
    t->default_coupling = name(m);
    t->coupling_pre = name(m);
    t->coupling_post = name(m);
    if (fb_u8(&m->in) == 255)
        t->reserved[fb_pick(&m->in, 7)] = t;
    return t;
}

static const tb_spiking_model *spiking_table(maker *m)
{
    tb_spiking_model *t = fa_calloc(&m->arena, 1, sizeof *t);
    if (!t)
        return NULL;
    t->head.version = version_field(m, TB_SPIKING_TABLE_VERSION);
    t->head.size = version_field(m, sizeof *t);
    t->n_vars = count(m, 5);
    tb_spiking_var *v = fb_u8(&m->in) < 8 ? NULL : fa_calloc(&m->arena, t->n_vars, sizeof *v);
    for (size_t i = 0; v && i < t->n_vars; i++) {
        v[i].name = name(m);
        v[i].initial = fb_double(&m->in);
        v[i].unit = name(m);
    }
    t->vars = v;
    t->n_ports = count(m, TB_SPIKING_MAX_PORTS + 1);
    tb_spiking_port *p = fb_u8(&m->in) < 8 ? NULL : fa_calloc(&m->arena, t->n_ports, sizeof *p);
    for (size_t i = 0; p && i < t->n_ports; i++) {
        p[i].name = name(m);
        p[i].unit = name(m);
    }
    t->ports = p;
    t->n_consts = count(m, 3);
    const char **c = fb_u8(&m->in) < 8 ? NULL : fa_calloc(&m->arena, t->n_consts, sizeof *c);
    for (size_t i = 0; c && i < t->n_consts; i++)
        c[i] = name(m);
    t->consts = c;
    t->prepare = name(m);
    t->update = name(m);
    t->threshold = name(m);
    t->reset = name(m);
    t->refractory = name(m);
    t->current_unit = name(m);
    t->helpers = name(m);
    if (fb_u8(&m->in) == 255)
        t->reserved[fb_pick(&m->in, 8)] = t;
    return t;
}

static void build(maker *m, tb_plugin *p)
{
    p->abi_version = version_field(m, TB_PLUGIN_ABI_VERSION);
    p->struct_size = version_field(m, sizeof *p);
    unsigned k = fb_pick(&m->in, 6);
    p->kind = k < 4 ? kinds[k] : k == 4 ? NULL : name(m);
    p->name = name(m);
    p->version = name(m);
    p->summary = name(m);
    p->doc = name(m);
    p->n_params = count(m, 6);
    p->params = fb_u8(&m->in) < 8 ? NULL : params(m, p->n_params);
    unsigned t = fb_pick(&m->in, 4);
    if (t == 1 || (t == 0 && p->kind && strcmp(p->kind, TB_MASS_KIND) == 0))
        p->table = mass_table(m, p->n_params);
    else if (t == 2 || (t == 0 && p->kind && strcmp(p->kind, TB_SPIKING_KIND) == 0))
        p->table = spiking_table(m);
    if (fb_u8(&m->in) == 255)
        p->reserved[fb_pick(&m->in, 8)] = p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static maker m; /* the arena is large: not on the stack */
    m.in = (fuzz_bytes){data, size};
    tb_plugin p = {0};
    build(&m, &p);
    tb_error err = {0};
    tb_status st = tb_plugin_check(&p, "fuzz.so", &err);
    if (fuzz_verbose())
        fprintf(stderr, "  %s\n", st == TB_OK ? "checked" : tb_error_message(&err));
    if (st == TB_OK) {
        tb_buf b = {0};
        tb_plugin_describe(&p, "fuzz.so", &b);
        tb_plugin_describe_json(&p, "fuzz.so", &b);
        free(tb_buf_take(&b));
    } else {
        FUZZ_ASSERT(err.status == TB_ERR_INPUT || err.status == TB_ERR_OTHER);
        FUZZ_ASSERT(strncmp(tb_error_message(&err), "fuzz.so: ", 9) == 0);
    }
    tb_error_clear(&err);
    fa_free(&m.arena);
    return 0;
}
