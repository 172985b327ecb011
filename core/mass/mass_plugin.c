/* The neural-mass kit's plugin check: what a mass-model table must hold,
 * and the one list of names the generated code reserves, which plugins
 * and models declared in scenarios are both checked against. */
#include "config.h"

#include <stddef.h>

#include <stdlib.h>
#include <string.h>

#include "mass_internal.h"

/* Names the generated code gives the dfun snippet, besides the tb_ and
 * cp_ prefixes. */
static const char *const reserved[] = {"coupling", "t", "region", "n_regions", "real", "convert_real"};

bool tb_mass_name_reserved(const char *s)
{
    if (strncmp(s, "tb_", 3) == 0 || strncmp(s, "cp_", 3) == 0)
        return true;
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; ++r)
        if (strcmp(s, reserved[r]) == 0)
            return true;
    return false;
}

/* A state variable is also an [initial] key, where `history` is taken. */
bool tb_mass_var_name_reserved(const char *s)
{
    return tb_mass_name_reserved(s) || strcmp(s, "history") == 0;
}

static tb_status check_vars(const tb_mass_model *m, const char *file, tb_error *err)
{
    if (m->n_vars == 0 || !m->vars)
        return tb_error_set(err, TB_ERR_INPUT, "%s: mass model declares no state variables", file);
    for (size_t i = 0; i < m->n_vars; ++i) {
        const char *v = m->vars[i].name;
        if (!tb_is_identifier(v))
            return tb_error_set(err, TB_ERR_INPUT, "%s: state variable %zu has no valid name", file, i);
        if (tb_mass_var_name_reserved(v))
            return tb_error_set(err, TB_ERR_INPUT,
                                "%s: state variable name '%s' is reserved (coupling, t, region, n_regions, real, "
                                "history and names starting with tb_ or cp_)",
                                file, v);
    }
    return tb_names_unique(m->vars, m->n_vars, sizeof *m->vars, offsetof(tb_mass_var, name), "state variable",
                           file, err);
}

static tb_status check_coupled(const tb_mass_model *m, const char *file, tb_error *err)
{
    if (m->n_coupled == 0 || !m->coupled)
        return tb_error_set(err, TB_ERR_INPUT, "%s: mass model declares no coupled variable", file);
    for (size_t k = 0; k < m->n_coupled; ++k) {
        size_t v = 0;
        while (v < m->n_vars && (!m->coupled[k] || strcmp(m->coupled[k], m->vars[v].name) != 0))
            ++v;
        if (v == m->n_vars)
            return tb_error_set(err, TB_ERR_INPUT, "%s: coupled variable '%s' is not a state variable", file,
                                m->coupled[k] ? m->coupled[k] : "(null)");
    }
    return TB_OK;
}

typedef struct named {
    char *name;      /* as the snippet sees it: x, dx, mu */
    const char *var; /* the state variable it comes from, or NULL for a parameter */
} named;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Parameters against variables and their derivatives, sorted, so that a
 * model of a million variables is checked at once. */
static tb_status check_clashes(const tb_plugin *p, const tb_mass_model *m, const char *file, tb_error *err)
{
    size_t n = 2 * m->n_vars + p->n_params;
    named *all = calloc(n, sizeof *all);
    tb_status st = all ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "%s: out of memory checking names", file);
    for (size_t v = 0; st == TB_OK && v < m->n_vars; ++v) {
        all[2 * v] = (named){tb_strdup(m->vars[v].name), m->vars[v].name};
        all[2 * v + 1] = (named){tb_asprintf("d%s", m->vars[v].name), m->vars[v].name};
    }
    for (size_t i = 0; st == TB_OK && i < p->n_params; ++i)
        all[2 * m->n_vars + i] = (named){tb_strdup(p->params[i].name), NULL};
    for (size_t i = 0; st == TB_OK && i < n; ++i)
        if (!all[i].name)
            st = tb_error_set(err, TB_ERR_OTHER, "%s: out of memory checking names", file);
    if (st == TB_OK)
        qsort(all, n, sizeof *all, by_name);
    for (size_t i = 1; st == TB_OK && i < n; ++i) {
        const named *a = &all[i - 1], *b = &all[i];
        if (strcmp(a->name, b->name) != 0 || !a->var == !b->var)
            continue; /* names of one sort among themselves are checked apart */
        const named *param = a->var ? b : a, *var = a->var ? a : b;
        st = tb_error_set(err, TB_ERR_INPUT, "%s: parameter '%s' clashes with state variable '%s'", file,
                          param->name, var->var ? var->var : param->name);
    }
    for (size_t i = 0; all && i < n; ++i)
        free(all[i].name);
    free(all);
    return st;
}

/* The dfun snippet sees parameters, variables and d<variable> side by
 * side, so none of those names may coincide. */
static tb_status check_params(const tb_plugin *p, const tb_mass_model *m, const char *file, tb_error *err)
{
    for (size_t i = 0; i < p->n_params; ++i) {
        const tb_param_info *q = &p->params[i];
        if (tb_mass_name_reserved(q->name))
            return tb_error_set(err, TB_ERR_INPUT, "%s: parameter name '%s' is reserved", file, q->name);
        if (q->type != TB_PARAM_REAL && q->type != TB_PARAM_INT)
            return tb_error_set(err, TB_ERR_INPUT,
                                "%s: parameter '%s' is of type %s; mass models take numbers (real or integer)",
                                file, q->name, tb_param_type_name(q->type));
    }
    return check_clashes(p, m, file, err);
}

tb_status tb_mass_check_plugin(const tb_plugin *p, const char *file, tb_error *err)
{
    const tb_mass_model *m = p->table;
    if (!m)
        return tb_error_set(err, TB_ERR_INPUT, "%s: a mass plugin needs its table (.table = &model)", file);
    if (m->head.version != TB_MASS_TABLE_VERSION)
        return tb_error_set(err, TB_ERR_INPUT,
                            "%s: mass table version %u, but this twinbrain (%s) reads version %u; rebuild the plugin "
                            "against the installed headers",
                            file, (unsigned)m->head.version, PACKAGE_VERSION, TB_MASS_TABLE_VERSION);
    if (m->head.size != sizeof(tb_mass_model))
        return tb_error_set(err, TB_ERR_INPUT, "%s: mass table size %u differs from this twinbrain's %zu; rebuild "
                            "the plugin", file, (unsigned)m->head.size, sizeof(tb_mass_model));
    tb_status st = check_vars(m, file, err);
    if (st == TB_OK)
        st = check_coupled(m, file, err);
    if (st == TB_OK && (!m->dfun || !*m->dfun))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: mass model has no dfun snippet", file);
    for (size_t i = 0; st == TB_OK && i < sizeof m->reserved / sizeof m->reserved[0]; ++i)
        if (m->reserved[i])
            st = tb_error_set(err, TB_ERR_INPUT, "%s: reserved fields of the mass table must be NULL", file);
    return st == TB_OK ? check_params(p, m, file, err) : st;
}
