/* The neural-mass kit's operations for perturbations (core/perturb/):
 * regions are the units; edges scaled or cut and regions silenced by
 * writing the connectome's weights again in the device's layout (the
 * sparsity pattern and the delays stay those of the unperturbed run, so
 * the history ring is untouched); parameters set or scaled per region
 * and instance, which they become from the start when a perturbation
 * names them; inputs added as stimuli sampled once per step. Each write
 * goes on the kit's in-order queue between two chunks, so it lands on its
 * step. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mass_internal.h"
#include "perturb/perturb_ops.h"

typedef struct mass_perturb {
    double *w;          /* [N N] scaled weights (row: target, column: source) */
    bool *silent;       /* [N] regions whose rows and columns are zero */
    double **base;      /* per parameter slot: its unperturbed [B N] values, or NULL */
    long alive;         /* the slot of 0 or 1 per instance and region (lesions per instance), or -1 */
    tb_scenario_value one;
    tb_scenario_stimulus *stim; /* the scenario's stimuli, then the inputs */
} mass_perturb;

/* ------------------------------------------------------------ without a device */

static tb_status groups(const tb_scenario *sc, tb_unit_group **out, size_t *n, size_t *n_units, tb_error *err)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    tb_connectome *c = NULL;
    tb_status st = tb_connectome_read(ms->connectome_file, &c, err);
    if (st != TB_OK) {
        char *w = tb_scenario_where(sc, ms->connectome_pos);
        tb_error_prefix(err, "%sconnectome.file: ", w);
        free(w);
        return st;
    }
    *out = calloc(c->n + 1, sizeof **out);
    for (size_t i = 0; *out && i < c->n; ++i)
        (*out)[i] = (tb_unit_group){tb_strdup(c->labels[i]), i, 1};
    *n = *out ? c->n : 0;
    *n_units = c->n;
    tb_connectome_free(c);
    return *out ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

static bool has(const tb_scenario *sc, unsigned op, const char *name, char **known)
{
    const tb_mass_scenario *ms = tb_mass_scenario_of(sc);
    tb_buf b = {0};
    bool found = false;
    if (op == TB_OP_PARAM) {
        for (size_t i = 0; i < ms->model->n_params; ++i) {
            found |= name && strcmp(ms->model->params[i].name, name) == 0;
            tb_buf_printf(&b, "%s%s", i ? ", " : "", ms->model->params[i].name);
        }
    } else {
        for (size_t i = 0; i < ms->mass->n_vars; ++i) {
            found |= !name || strcmp(ms->mass->vars[i].name, name) == 0;
            tb_buf_printf(&b, "%s%s", i ? ", " : "", ms->mass->vars[i].name);
        }
    }
    *known = tb_buf_take(&b);
    return found;
}

/* ------------------------------------------------------------ at create */

static size_t var_index(const mass *m, const char *name)
{
    for (size_t v = 0; name && v < m->model->n_vars; ++v)
        if (strcmp(m->model->vars[v].name, name) == 0)
            return v;
    return 0;
}

/* The plan's inputs as stimuli: a series of one sample per step from the
 * action's step, into its regions with their gains. The onset lies half a
 * step early so that the device's clock, rounded, never misses the first
 * sample; sample i still falls on step `step` + i. */
static tb_status add_inputs(mass *m, const tb_perturb_event *ev, size_t n_ev, tb_error *err)
{
    size_t extra = 0;
    for (size_t i = 0; i < n_ev; ++i)
        extra += ev[i].op == TB_OP_INPUT;
    if (!extra)
        return TB_OK;
    size_t S = m->ms->n_stimuli;
    m->pt->stim = calloc(S + extra, sizeof *m->pt->stim);
    if (!m->pt->stim)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    memcpy(m->pt->stim, m->ms->stimuli, S * sizeof *m->pt->stim);
    for (size_t i = 0, k = S; i < n_ev; ++i) {
        if (ev[i].op != TB_OP_INPUT)
            continue;
        double dt = m->sc->dt;
        m->pt->stim[k++] = (tb_scenario_stimulus){
            .kind = TB_STIM_SERIES, .variable = var_index(m, ev[i].name), .amplitude = 1.0,
            .onset = ((double)ev[i].step - 0.5) * dt, .stop = INFINITY, .period = dt, .units = ev[i].units,
            .unit_weights = ev[i].values, .n_units = ev[i].n_units, .samples = ev[i].samples,
            .n_samples = ev[i].n_samples,
        };
    }
    m->stim = m->pt->stim;
    m->n_stim = S + extra;
    return TB_OK;
}

/* The parameters the plan changes become per region and instance, their
 * unperturbed values kept. */
static tb_status bind_params(mass *m, const tb_perturb_event *ev, size_t n_ev, tb_error *err)
{
    m->pt->base = calloc(m->n_params + 1, sizeof *m->pt->base);
    if (!m->pt->base)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_status st = TB_OK;
    for (size_t slot = 0; st == TB_OK && slot < m->model_params_n; ++slot) {
        bool named = false;
        for (size_t i = 0; i < n_ev; ++i)
            named |= ev[i].op == TB_OP_PARAM && strcmp(ev[i].name, m->params[slot].code_name) == 0;
        if (!named)
            continue;
        st = tb_mass_slot_per_region(m, slot, err);
        size_t n = m->B * m->N;
        if (st == TB_OK && !(m->pt->base[slot] = malloc(n * sizeof(double))))
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
        if (st == TB_OK)
            memcpy(m->pt->base[slot], m->params[slot].ir, n * sizeof(double));
    }
    return st;
}

/* Lesions per instance (`each`): a hidden slot tb_alive, 1 or 0 per
 * instance and region, weighs the edges from a region and the sum into
 * it (kernels/mass.cl), in the layouts of one instance per work-item or
 * work-group (no vector lanes: their edges serve 8 instances or rows at
 * once). Edges and inputs are shared by the instances. */
static tb_status bind_alive(mass *m, const tb_perturb_event *ev, size_t n_ev, tb_error *err)
{
    bool per_instance = false;
    for (size_t i = 0; i < n_ev; ++i) {
        if (ev[i].instance < 0)
            continue;
        if (ev[i].op == TB_OP_EDGES || ev[i].op == TB_OP_INPUT)
            return tb_error_set(err, TB_ERR_SCENARIO, "%s: a perturbation per instance (each, sweep) may silence "
                                "regions or change parameters; edges and inputs are shared by a run's instances",
                                m->sc->path);
        per_instance |= ev[i].op == TB_OP_SILENCE;
    }
    m->pt->alive = -1;
    if (!per_instance)
        return TB_OK;
    m->lanes = 1, m->region_lanes = false, m->Bp = m->B, m->Np = m->N;
    m->pt->one = (tb_scenario_value){.name = "tb_alive", .scalar = 1.0};
    size_t slot = tb_mass_add_slot(m, "tb_alive", &m->pt->one);
    tb_status st = tb_mass_slot_per_region(m, slot, err);
    m->pt->alive = st == TB_OK ? (long)slot : -1;
    return st;
}

void tb_mass_perturb_gen(const mass *m, tb_buf *b)
{
    if (!m->pt || m->pt->alive < 0)
        return;
    tb_buf_printf(b,
                  "#define TB_ALIVE_PARAM , __global const tb_scalar *tb_pir\n"
                  "#define TB_ALIVE_ARG , pir\n"
                  "#define TB_ALIVE_SRC(j) * tb_pir[(%zu * (long)B + b) * N + (j)]\n"
                  "#define TB_ALIVE_ROW p->tb_alive\n",
                  m->params[m->pt->alive].index);
}

tb_status tb_mass_perturb_bind(mass *m, tb_error *err)
{
    size_t n_ev;
    const tb_perturb_event *ev = tb_perturb_events(m->sc, &n_ev);
    if (!ev)
        return TB_OK;
    m->pt = calloc(1, sizeof *m->pt);
    if (m->pt) {
        m->pt->w = malloc(m->N * m->N * sizeof *m->pt->w);
        m->pt->silent = calloc(m->N, sizeof *m->pt->silent);
    }
    if (!m->pt || !m->pt->w || !m->pt->silent)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    memcpy(m->pt->w, m->con->weights, m->N * m->N * sizeof *m->pt->w);
    tb_status st = bind_alive(m, ev, n_ev, err);
    if (st == TB_OK)
        st = bind_params(m, ev, n_ev, err);
    return st == TB_OK ? add_inputs(m, ev, n_ev, err) : st;
}

void tb_mass_perturb_free(mass *m)
{
    if (!m->pt)
        return;
    for (size_t i = 0; m->pt->base && i < m->n_params; ++i)
        free(m->pt->base[i]);
    free(m->pt->base);
    free(m->pt->w);
    free(m->pt->silent);
    free(m->pt->stim);
    free(m->pt);
    m->pt = NULL;
}

/* ------------------------------------------------------------ between chunks */

/* The weights in the layout upload_connectivity gave them: the pattern of
 * the unperturbed connectome (every pair when dense), rows per target. In
 * region lanes the rows are laid out again without the edges a
 * perturbation zeroed (tb_mass_to_rows: a row's place in its partial sums
 * then matches the run on the edited connectome, bit for bit), which
 * never takes more room than the unperturbed rows. */
static tb_status write_weights(mass *m, tb_error *err)
{
    size_t N = m->N, nnz = 0;
    const double *base = m->con->weights;
    for (size_t i = 0; i < N * N; ++i)
        nnz += m->dense || base[i] != 0.0;
    int *row_ptr = malloc((N + 1) * sizeof *row_ptr), *col = malloc((nnz + 1) * sizeof *col);
    int *delay = calloc(nnz + 1, sizeof *delay);
    double *w = malloc((nnz + 1) * sizeof *w);
    tb_status st = row_ptr && col && delay && w ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t e = 0;
    for (size_t i = 0; st == TB_OK && i < N; ++i) {
        row_ptr[i] = (int)e;
        for (size_t j = 0; j < N; ++j) {
            double v = m->pt->silent[i] || m->pt->silent[j] ? 0.0 : m->pt->w[i * N + j];
            if (m->region_lanes ? v == 0.0 : !m->dense && base[i * N + j] == 0.0)
                continue;
            col[e] = (int)j;
            delay[e] = tb_mass_delay_steps(m, i, j);
            w[e++] = v;
        }
    }
    if (st == TB_OK)
        row_ptr[N] = (int)e;
    double *values = w;
    size_t count = nnz;
    int *rptr = NULL, *roff = NULL;
    double *rw = NULL;
    if (st == TB_OK && m->region_lanes) {
        st = tb_mass_to_rows(m, row_ptr, col, delay, w, &rptr, &roff, &rw, &count, err);
        values = rw;
    }
    void *real = st == TB_OK ? tb_mass_to_real(values, count ? count : 1, m->realsz) : NULL;
    if (st == TB_OK && real) {
        cl_command_queue q = tb_device_queue(m->dev);
        cl_int rc = clEnqueueWriteBuffer(q, m->weight, CL_TRUE, 0, (count ? count : 1) * m->realsz, real, 0, NULL,
                                         NULL);
        if (m->region_lanes && rc == CL_SUCCESS)
            rc = clEnqueueWriteBuffer(q, m->row_ptr, CL_TRUE, 0, (m->Np + 1) * sizeof(int), rptr, 0, NULL, NULL);
        if (m->region_lanes && rc == CL_SUCCESS && count)
            rc = clEnqueueWriteBuffer(q, m->col, CL_TRUE, 0, count * sizeof(int), roff, 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            st = tb_cl_fail(err, rc, "writing perturbed connectome weights");
    } else if (st == TB_OK) {
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    free(real);
    free(row_ptr), free(col), free(delay), free(w);
    free(rptr), free(roff), free(rw);
    return st;
}

static tb_status edges(void *impl, const size_t *from, size_t n_from, const double *from_f, const size_t *to,
                       size_t n_to, const double *to_f, tb_error *err)
{
    mass *m = impl;
    size_t N = m->N;
    for (size_t a = 0; a < n_to; ++a)
        for (size_t b = 0; b < n_from; ++b)
            m->pt->w[to[a] * N + from[b]] = m->con->weights[to[a] * N + from[b]] * from_f[b] * to_f[a];
    return write_weights(m, err);
}

static tb_status weights(const tb_scenario *sc, double **w, tb_error *err)
{
    tb_connectome *c = NULL;
    tb_status st = tb_connectome_read(tb_mass_scenario_of(sc)->connectome_file, &c, err);
    if (st != TB_OK)
        return st;
    *w = malloc(c->n * c->n * sizeof **w);
    if (*w)
        memcpy(*w, c->weights, c->n * c->n * sizeof **w);
    tb_connectome_free(c);
    return *w ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

static tb_status silence(void *impl, const size_t *units, size_t n, bool on, long instance, tb_error *err)
{
    mass *m = impl;
    if (instance >= 0) {
        if ((size_t)instance < m->first || (size_t)instance >= m->first + m->B)
            return TB_OK;
        double *alive = m->params[m->pt->alive].ir + ((size_t)instance - m->first) * m->N;
        for (size_t i = 0; i < n; ++i)
            alive[units[i]] = on ? 0.0 : 1.0;
        return tb_mass_write_ir(m, err);
    }
    for (size_t i = 0; i < n; ++i)
        m->pt->silent[units[i]] = on;
    return write_weights(m, err);
}

static tb_status param(void *impl, const char *name, const size_t *units, size_t n, const double *values,
                       tb_perturb_mode mode, long instance, tb_error *err)
{
    mass *m = impl;
    size_t slot = 0;
    while (slot < m->model_params_n && strcmp(m->params[slot].code_name, name) != 0)
        ++slot;
    if (slot == m->model_params_n || !m->pt->base[slot])
        return tb_error_set(err, TB_ERR_OTHER, "parameter '%s' was not bound for perturbation", name);
    param_slot *s = &m->params[slot];
    for (size_t b = 0; b < m->B; ++b) {
        if (instance >= 0 && (size_t)instance != m->first + b)
            continue;
        for (size_t i = 0; i < n; ++i) {
            size_t at = b * m->N + units[i];
            s->ir[at] = mode == TB_PERTURB_SET ? values[i] : m->pt->base[slot][at] * values[i];
        }
    }
    return tb_mass_write_ir(m, err);
}

const struct tb_kit_ops tb_mass_ops = {
    .offered = TB_OP_EDGES | TB_OP_PARAM | TB_OP_SILENCE | TB_OP_INPUT,
    .group_noun = "region",
    .instances = true,
    .per_instance = TB_OP_PARAM | TB_OP_SILENCE,
    .groups = groups,
    .has = has,
    .edges = edges,
    .param = param,
    .silence = silence,
    .weights = weights,
};
