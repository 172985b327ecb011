/* The spiking kit's operations for perturbations (core/perturb/): neurons
 * are the units, populations the groups targets name. Everything lives in
 * the parameter values (pv) the step kernel already reads, so no kernel
 * argument changes:
 *   - a parameter a perturbation names is stored per neuron from the start
 *     (as a drawn one), and set or scaled there; the model's constants are
 *     computed again for the population;
 *   - a population some lesion silences gets a gate per neuron (1 spikes,
 *     0 never does);
 *   - an input adds one sample per step to I_ext, times a weight per
 *     neuron (0 for those it does not reach).
 * Writes go on the in-order queue between chunks, so each lands on its step.
 * A spiking [assimilation] rewrites its parameter between chunks too: its
 * value is the unperturbed one, the action in force applied on top
 * (spk_perturb_rebase), so neither write undoes the other. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perturb/perturb_ops.h"
#include "spiking_internal.h"

typedef struct spk_perturb {
    const tb_perturb_event *ev;
    size_t n_ev;
    bool *gated;      /* per population: a silence touches it */
    size_t *lay0;     /* per population: its first perturbation entry in lay[] */
    size_t *n_in;     /* per population: inputs reaching it */
    size_t **in_ev;   /* per population: those inputs' events */
    double *base;     /* unperturbed pv: as drawn, or as [assimilation] last wrote it (NULL until read) */
    double *cur;
    double *act;      /* per pv entry: the parameter action in force (a factor, or the value set) */
    bool *is_set;     /* per pv entry: act is a value set, not a factor */
} spk_perturb;

static bool in_pop(const spk_pop *p, size_t unit)
{
    return unit >= p->lo && unit < p->lo + p->n;
}

static bool event_reaches(const tb_perturb_event *e, const spk_pop *p)
{
    for (size_t i = 0; i < e->n_units; ++i)
        if (in_pop(p, e->units[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------ without a device */

static tb_status groups(const tb_scenario *sc, tb_unit_group **out, size_t *n, size_t *n_units, tb_error *err)
{
    const tb_spiking_scenario *ss = tb_spiking_scenario_of(sc);
    *out = calloc(ss->n_pops + 1, sizeof **out);
    if (!*out)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    size_t lo = 0;
    for (size_t i = 0; i < ss->n_pops; ++i) {
        (*out)[i] = (tb_unit_group){tb_strdup(ss->pops[i].name), lo, (size_t)ss->pops[i].size};
        lo += (size_t)ss->pops[i].size;
    }
    *n = ss->n_pops;
    *n_units = lo;
    return TB_OK;
}

static bool has(const tb_scenario *sc, unsigned op, const char *name, char **known)
{
    const tb_spiking_scenario *ss = tb_spiking_scenario_of(sc);
    tb_buf b = {0};
    bool found = false;
    if (op == TB_OP_INPUT) {
        *known = tb_strdup("I_ext (the input current)");
        return !name || !*name || strcmp(name, "I_ext") == 0;
    }
    for (size_t m = 0; m < ss->n_models; ++m)
        for (size_t k = 0; k < ss->models[m].n_params; ++k) {
            found |= name && strcmp(ss->models[m].params[k].name, name) == 0;
            tb_buf_printf(&b, "%s%s", b.len ? ", " : "", ss->models[m].params[k].name);
        }
    *known = tb_buf_take(&b);
    return found;
}

/* ------------------------------------------------------------ at create */

tb_status spk_perturb_plan(spk *k, tb_error *err)
{
    size_t n_ev;
    const tb_perturb_event *ev = tb_perturb_events(k->sc, &n_ev);
    if (!ev)
        return TB_OK;
    spk_perturb *pt = k->pt = calloc(1, sizeof *k->pt);
    if (pt) {
        pt->gated = calloc(k->n_pops + 1, sizeof *pt->gated);
        pt->lay0 = calloc(k->n_pops + 1, sizeof *pt->lay0);
        pt->n_in = calloc(k->n_pops + 1, sizeof *pt->n_in);
        pt->in_ev = calloc(k->n_pops + 1, sizeof *pt->in_ev);
    }
    if (!pt || !pt->gated || !pt->lay0 || !pt->n_in || !pt->in_ev)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    pt->ev = ev;
    pt->n_ev = n_ev;
    for (size_t i = 0; i < k->n_pops; ++i) {
        spk_pop *p = &k->pops[i];
        pt->in_ev[i] = calloc(n_ev + 1, sizeof **pt->in_ev);
        if (!pt->in_ev[i])
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        for (size_t e = 0; e < n_ev; ++e) {
            if (!event_reaches(&ev[e], p))
                continue;
            pt->gated[i] |= ev[e].op == TB_OP_SILENCE;
            if (ev[e].op == TB_OP_INPUT)
                pt->in_ev[i][pt->n_in[i]++] = e;
            if (ev[e].op != TB_OP_PARAM)
                continue;
            size_t j = 0;
            while (j < p->model->n_params && strcmp(p->model->params[j].name, ev[e].name) != 0)
                ++j;
            if (j == p->model->n_params)
                return tb_error_set(err, TB_ERR_SCENARIO, "%s: a perturbation sets '%s', which population '%s' "
                                    "(model '%s') does not have", k->sc->path, ev[e].name, p->spec->name,
                                    p->model->name);
            /* per neuron from the start, so that any neuron can change */
            p->drawn[j] = true;
            p->consts_per_neuron = true;
        }
    }
    return TB_OK;
}

size_t spk_perturb_lay_entries(const spk *k, size_t pop)
{
    return k->pt ? (size_t)k->pt->gated[pop] + 4 * k->pt->n_in[pop] : 0;
}

void spk_perturb_set_lay(spk *k, size_t pop, size_t first)
{
    if (k->pt)
        k->pt->lay0[pop] = first;
}

/* The gate (1 each) and each input's start step, length, samples and
 * weights per neuron, appended to pv. */
void spk_perturb_layout(spk *k)
{
    spk_perturb *pt = k->pt;
    for (size_t i = 0; pt && i < k->n_pops; ++i) {
        spk_pop *p = &k->pops[i];
        size_t at = pt->lay0[i];
        if (pt->gated[i]) {
            double *ones = malloc((p->n ? p->n : 1) * sizeof *ones);
            for (size_t j = 0; ones && j < p->n; ++j)
                ones[j] = 1.0;
            k->lay[at++] = ones ? (int64_t)spk_pv_add(k, ones, p->n) : 0;
            k->pv_oom |= !ones;
            free(ones);
        }
        for (size_t u = 0; u < pt->n_in[i]; ++u, at += 4) {
            const tb_perturb_event *e = &pt->ev[pt->in_ev[i][u]];
            k->lay[at] = (int64_t)e->step;
            k->lay[at + 1] = (int64_t)e->n_samples;
            k->lay[at + 2] = (int64_t)spk_pv_add(k, e->samples, e->n_samples);
            size_t w = spk_pv_add(k, NULL, p->n);
            k->lay[at + 3] = (int64_t)w;
            for (size_t j = 0; !k->pv_oom && j < e->n_units; ++j)
                if (in_pop(p, e->units[j]))
                    k->pv[w + e->units[j] - p->lo] = e->values[j];
        }
    }
}

/* In the update function: the inputs' samples into I_ext (after the
 * scenario's inputs) and the gate on the spike condition. */
void spk_perturb_gen_inputs(tb_buf *b, const spk *k, size_t pop)
{
    const spk_perturb *pt = k->pt;
    /* relative to the population's block, as its class's code reads it */
    size_t at = pt ? pt->lay0[pop] - k->pops[pop].lay + pt->gated[pop] : 0;
    for (size_t u = 0; pt && u < pt->n_in[pop]; ++u, at += 4)
        tb_buf_printf(b,
                      "    { /* perturbation input %zu */\n"
                      "        const long tb_q = tb_step - tb_lay[tb_pl + %zu];\n"
                      "        if (tb_q >= 0 && tb_q < tb_lay[tb_pl + %zu])\n"
                      "            I_ext += tb_pv[tb_lay[tb_pl + %zu] + tb_q] * tb_pv[tb_lay[tb_pl + %zu] + tb_i];\n"
                      "    }\n",
                      u, at, at + 1, at + 2, at + 3);
}

void spk_perturb_gen_gate(tb_buf *b, const spk *k, size_t pop)
{
    if (k->pt && k->pt->gated[pop])
        tb_buf_printf(b, " && tb_pv[tb_lay[tb_pl + %zu] + tb_i] != (real)0", k->pt->lay0[pop] - k->pops[pop].lay);
}

void spk_perturb_free(spk *k)
{
    spk_perturb *pt = k->pt;
    if (!pt)
        return;
    for (size_t i = 0; pt->in_ev && i < k->n_pops; ++i)
        free(pt->in_ev[i]);
    free(pt->in_ev), free(pt->gated), free(pt->lay0), free(pt->n_in), free(pt->base), free(pt->cur);
    free(pt->act), free(pt->is_set);
    free(pt);
    k->pt = NULL;
}

/* ------------------------------------------------------------ between chunks */

/* pv as the device holds it (drawn values included), once. */
static tb_status read_pv(spk *k, tb_error *err)
{
    spk_perturb *pt = k->pt;
    if (pt->cur)
        return TB_OK;
    void *raw = malloc(k->n_pv * k->realsz + 1);
    pt->base = malloc(k->n_pv * sizeof(double) + 1);
    pt->cur = malloc(k->n_pv * sizeof(double) + 1);
    pt->act = malloc(k->n_pv * sizeof(double) + 1);
    pt->is_set = calloc(k->n_pv + 1, sizeof *pt->is_set);
    if (!raw || !pt->base || !pt->cur || !pt->act || !pt->is_set) {
        free(raw);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    cl_int rc = clEnqueueReadBuffer(tb_device_queue(k->dev), k->pv_buf, CL_TRUE, 0, k->n_pv * k->realsz, raw, 0,
                                    NULL, NULL);
    for (size_t i = 0; rc == CL_SUCCESS && i < k->n_pv; ++i)
        pt->base[i] = k->realsz == sizeof(double) ? ((double *)raw)[i] : (double)((float *)raw)[i];
    free(raw);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "reading the parameter values");
    memcpy(pt->cur, pt->base, k->n_pv * sizeof(double));
    for (size_t i = 0; i < k->n_pv; ++i)
        pt->act[i] = 1.0;
    return TB_OK;
}

/* The value an entry holds: its unperturbed value under the action in force. */
static double composed(const spk_perturb *pt, size_t at)
{
    return pt->is_set[at] ? pt->act[at] : pt->base[at] * pt->act[at];
}

void spk_perturb_rebase(spk *k, size_t at, size_t n, double value, double *out)
{
    spk_perturb *pt = k->pt;
    for (size_t i = 0; i < n; ++i) {
        if (pt && pt->cur) { /* a perturbation has read pv: keep its copy the device's */
            pt->base[at + i] = value;
            out[i] = pt->cur[at + i] = composed(pt, at + i);
        } else {
            out[i] = value;
        }
    }
}

static tb_status write_pv(spk *k, tb_error *err)
{
    void *real = spk_to_real(k, k->pt->cur, k->n_pv);
    if (!real)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    cl_int rc = clEnqueueWriteBuffer(tb_device_queue(k->dev), k->pv_buf, CL_TRUE, 0, k->n_pv * k->realsz, real, 0,
                                     NULL, NULL);
    free(real);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "writing perturbed parameter values");
}

static tb_status param(void *impl, const char *name, const size_t *units, size_t n, const double *values,
                       tb_perturb_mode mode, long instance, tb_error *err)
{
    (void)instance; /* a spiking run has one instance */
    spk *k = impl;
    tb_status st = read_pv(k, err);
    for (size_t i = 0; st == TB_OK && i < k->n_pops; ++i) {
        spk_pop *p = &k->pops[i];
        size_t j = 0;
        while (j < p->model->n_params && strcmp(p->model->params[j].name, name) != 0)
            ++j;
        bool touched = false;
        for (size_t u = 0; j < p->model->n_params && u < n; ++u) {
            if (!in_pop(p, units[u]))
                continue;
            size_t at = (size_t)k->lay[spk_lay_param(p, j)] + units[u] - p->lo;
            k->pt->act[at] = values[u];
            k->pt->is_set[at] = mode == TB_PERTURB_SET;
            k->pt->cur[at] = composed(k->pt, at);
            touched = true;
        }
        if (!touched)
            continue;
        st = write_pv(k, err);
        /* the model's constants follow the parameters */
        if (st == TB_OK && p->k_prepare) {
            size_t global = (p->n + k->wg - 1) / k->wg * k->wg;
            cl_int rc = spk_pop_kernel_arg(p, p->k_prepare);
            if (rc == CL_SUCCESS)
                rc = spk_enqueue(k, tb_device_queue(k->dev), p->k_prepare, global, k->wg,
                                 "perturbed model constants");
            if (rc != CL_SUCCESS)
                st = tb_cl_fail(err, rc, "computing perturbed model constants");
        }
    }
    return st;
}

static tb_status silence(void *impl, const size_t *units, size_t n, bool on, long instance, tb_error *err)
{
    (void)instance; /* a spiking run has one instance */
    spk *k = impl;
    tb_status st = read_pv(k, err);
    for (size_t i = 0; st == TB_OK && i < k->n_pops; ++i) {
        spk_pop *p = &k->pops[i];
        for (size_t u = 0; k->pt->gated[i] && u < n; ++u)
            if (in_pop(p, units[u]))
                k->pt->cur[(size_t)k->lay[k->pt->lay0[i]] + units[u] - p->lo] = on ? 0.0 : 1.0;
    }
    return st == TB_OK ? write_pv(k, err) : st;
}

const tb_kit_ops tb_spiking_ops = {
    .offered = TB_OP_PARAM | TB_OP_SILENCE | TB_OP_INPUT,
    .group_noun = "population",
    .groups = groups,
    .has = has,
    .param = param,
    .silence = silence,
};
