/* [assimilation] for a spiking brain: the ensemble Kalman filter of
 * core/assimilation.c over one neuron parameter of chosen template
 * populations, per region.
 *
 * The spiking kit runs one network per run, so the ensemble is built into
 * the network: [brain] is opened with `members` disjoint copies of the
 * connectome's regions (brain.c: the block-diagonal connectome, regions
 * labelled m<b>_<label>, the connectome rule's normalisation unchanged),
 * and member b's region n is the brain's region b R1 + n. The parameter is
 * stored per neuron (as a drawn one, the path the perturbation kit's
 * parameter actions take), member b's value at region n is written to the
 * neurons of its populations of the chosen templates, and the model's
 * constants are computed again on the device. With [[perturbation]] the
 * filter's value is the unperturbed one: a perturbation scaling the same
 * parameter scales each new estimate (spk_perturb_rebase), and the
 * perturbations' copy of the parameters follows the filter's writes. The run advances without
 * overlap, a chunk ending at every sample of the bold monitor, so that
 * the update from sample k is on the device before the steps towards
 * sample k + 1 start. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "brain.h"
#include "brain_assimilate.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const tb_key_spec extra_keys[] = {
    {"populations", KT_STRINGS,
     .doc = "spiking: the [brain] template populations whose parameter is set (the same value for every neuron of "
            "a member's region); default every template whose model has the parameter"},
};

struct spk_assim_rt {
    tb_enkf *f;
    uint64_t period; /* the bold monitor's, steps */
    void *vals;      /* one population's values, in the program's precision */
    double *dvals;   /* the same, as computed */
};

void tb_spk_assim_free(tb_spk_assim *s)
{
    if (!s)
        return;
    tb_assimilation_free(s->a);
    free(s->templates);
    free(s->param);
    free(s);
}

void tb_spk_assim_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, TB_ASSIMILATION_KEY, extra_keys, N_(extra_keys));
}

tb_spk_assim *tb_spk_assim_open(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *t)
{
    tb_assimilation *a = tb_assimilation_read(c, sc, t, extra_keys, N_(extra_keys));
    if (!a)
        return NULL;
    tb_spk_assim *s = calloc(1, sizeof *s);
    if (!s) {
        tb_assimilation_free(a);
        return NULL;
    }
    s->a = a;
    return s;
}

static size_t param_of(const tb_spiking_scenario *s, size_t tmpl, const char *name)
{
    const tb_spk_brain *b = s->brain;
    const tb_spk_population *p = &s->pops[tb_spk_brain_pop(b, tmpl, 0)];
    const tb_spk_model *m = p->model < s->n_models ? &s->models[p->model] : NULL;
    for (size_t j = 0; m && j < m->n_params; ++j)
        if (strcmp(m->params[j].name, name) == 0)
            return j;
    return SIZE_MAX;
}

static const char *model_name(const tb_spiking_scenario *s, size_t tmpl)
{
    const tb_spk_population *p = &s->pops[tb_spk_brain_pop(s->brain, tmpl, 0)];
    return p->model < s->n_models ? s->models[p->model].name : "?";
}

static bool add_template(tb_spk_assim *sa, size_t tmpl, size_t j)
{
    sa->templates[sa->n_templates] = tmpl;
    sa->param[sa->n_templates++] = j;
    return true;
}

/* `populations`, or every template whose model has the parameter. */
static bool check_templates(tb_schema_checker *c, const tb_spiking_scenario *s, tb_spk_assim *sa,
                            const tb_toml_value *t)
{
    const tb_spk_brain *b = s->brain;
    const char *name = sa->a->parameter;
    sa->templates = calloc(b->T + 1, sizeof *sa->templates);
    sa->param = calloc(b->T + 1, sizeof *sa->param);
    if (!sa->templates || !sa->param)
        return false;
    const tb_toml_value *pv = tb_toml_get(t, "populations");
    bool ok = true;
    for (size_t i = 0; pv && i < pv->u.arr.n; ++i) {
        const tb_toml_value *v = pv->u.arr.items[i];
        const char *tn = tb_toml_as_string(v);
        size_t tmpl = 0;
        while (tn && tmpl < b->T && strcmp(b->templates[tmpl], tn) != 0)
            ++tmpl;
        if (!tn || tmpl == b->T) {
            tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "assimilation.populations: no [brain] template named '%s'",
                             tn ? tn : "?");
            ok = false;
            continue;
        }
        size_t j = param_of(s, tmpl, name);
        if (j == SIZE_MAX) {
            tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "parameter")->pos,
                             "assimilation.parameter: model '%s' of template '%s' has no parameter '%s'",
                             model_name(s, tmpl), tn, name);
            ok = false;
            continue;
        }
        add_template(sa, tmpl, j);
    }
    if (pv && pv->u.arr.n == 0) {
        tb_schema_report(c, TB_ERR_SCENARIO, pv->pos, "assimilation.populations is empty");
        ok = false;
    }
    for (size_t tmpl = 0; !pv && tmpl < b->T; ++tmpl)
        if (param_of(s, tmpl, name) != SIZE_MAX)
            add_template(sa, tmpl, param_of(s, tmpl, name));
    if (!pv && sa->n_templates == 0) {
        tb_schema_report(c, TB_ERR_SCENARIO, tb_toml_get(t, "parameter")->pos,
                         "assimilation.parameter: no [brain] template's model has a parameter '%s' (template '%s': "
                         "model '%s')",
                         name, b->templates[0], model_name(s, 0));
        ok = false;
    }
    return ok;
}

static bool check_monitor(tb_schema_checker *c, const tb_spk_brain *b, tb_spk_assim *sa, const tb_toml_value *t)
{
    const char *want = sa->a->monitor;
    for (size_t i = 0; i < b->n_monitors; ++i)
        if (b->monitors[i].kind == TB_BRAIN_BOLD && (!want || strcmp(b->monitors[i].name, want) == 0)) {
            sa->monitor = i;
            if (!want)
                sa->a->monitor = tb_strdup(b->monitors[i].name);
            return true;
        }
    const tb_toml_value *mv = tb_toml_get(t, "monitor");
    tb_schema_report(c, TB_ERR_SCENARIO, mv ? mv->pos : t->pos,
                     want ? "assimilation.monitor: no [[brain.monitor]] of kind bold named '%s'"
                          : "assimilation needs a bold monitor%s",
                     want ? want : " ([[brain.monitor]] kind = \"bold\") to compare with the data");
    return false;
}

void tb_spk_assim_check(tb_schema_checker *c, tb_spiking_scenario *s, const tb_toml_value *t, bool brain)
{
    tb_spk_assim *sa = s->assim;
    const tb_spk_brain *b = s->brain;
    bool ok = true;
    if (!b) {
        if (!brain) /* else [brain] was refused (reported) */
            tb_schema_report(c, TB_ERR_SCENARIO, t->pos,
                             "assimilation in a spiking scenario needs [brain]: its members are copies of the "
                             "brain's regions");
        ok = false;
    } else if (s->n_pops < b->T * b->R) {
        ok = false; /* a template was refused (reported) */
    } else {
        ok = check_templates(c, s, sa, t);
        ok = check_monitor(c, b, sa, t) && ok;
    }
    if (!ok) {
        tb_spk_assim_free(sa);
        s->assim = NULL;
    }
}

/* ------------------------------------------------------------ the run */

static tb_status oom(tb_error *err)
{
    return tb_error_set(err, TB_ERR_OTHER, "out of memory");
}

void spk_assim_plan(spk *k)
{
    const tb_spk_assim *sa = k->ss->assim;
    const tb_spk_brain *b = k->ss->brain;
    for (size_t i = 0; sa && i < sa->n_templates; ++i)
        for (size_t r = 0; r < b->R; ++r) {
            spk_pop *p = &k->pops[tb_spk_brain_pop(b, sa->templates[i], r)];
            p->drawn[sa->param[i]] = true;
            p->consts_per_neuron = true;
        }
}

/* Every member's parameters onto the device: each population's neurons
 * get their region's value, then the model's constants follow. */
tb_status spk_assim_upload(spk *k, tb_error *err)
{
    if (!k->assim_rt)
        return TB_OK;
    const tb_spk_assim *sa = k->ss->assim;
    const tb_spk_brain *b = k->ss->brain;
    const double *theta = tb_enkf_theta(k->assim_rt->f);
    cl_command_queue q = tb_device_queue(k->dev);
    for (size_t i = 0; i < sa->n_templates; ++i)
        for (size_t r = 0; r < b->R; ++r) {
            spk_pop *p = &k->pops[tb_spk_brain_pop(b, sa->templates[i], r)];
            size_t at = (size_t)k->lay[spk_lay_param(p, sa->param[i])];
            /* the filter's value is the base a perturbation acts on */
            spk_perturb_rebase(k, at, p->n, theta[r], k->assim_rt->dvals);
            for (uint64_t n = 0; n < p->n; ++n) {
                if (k->realsz == sizeof(double))
                    ((double *)k->assim_rt->vals)[n] = k->assim_rt->dvals[n];
                else
                    ((float *)k->assim_rt->vals)[n] = (float)k->assim_rt->dvals[n];
            }
            cl_int rc = clEnqueueWriteBuffer(q, k->pv_buf, CL_TRUE, at * k->realsz, p->n * k->realsz,
                                             k->assim_rt->vals, 0, NULL, NULL);
            if (rc == CL_SUCCESS && p->k_prepare)
                rc = spk_enqueue(k, q, p->k_prepare, (p->n + k->wg - 1) / k->wg * k->wg, k->wg,
                                 "assimilated model constants");
            if (rc != CL_SUCCESS)
                return tb_cl_fail(err, rc, "writing the assimilated parameters");
        }
    return TB_OK;
}

tb_status spk_assim_bind(spk *k, tb_error *err)
{
    const tb_spk_assim *sa = k->ss->assim;
    if (!sa)
        return TB_OK;
    if (spk_ranks_active(k))
        return tb_error_set(err, TB_ERR_DEVICE, "assimilation needs the whole brain on one device (not over MPI "
                                                "ranks)");
    const tb_spk_brain *b = k->ss->brain;
    const tb_spk_brain_monitor *m = &b->monitors[sa->monitor];
    spk_assim_rt *rt = k->assim_rt = calloc(1, sizeof *rt);
    if (!rt)
        return oom(err);
    rt->period = (uint64_t)llround(m->period / k->sc->dt);
    uint64_t most = 1;
    for (size_t i = 0; i < k->n_pops; ++i)
        most = k->pops[i].n > most ? k->pops[i].n : most;
    rt->vals = malloc(most * k->realsz);
    rt->dvals = malloc(most * sizeof *rt->dvals);
    if (!rt->vals || !rt->dvals)
        return oom(err);
    return tb_enkf_new(sa->a, k->sc->seed, b->members, b->R1, k->sc->steps / rt->period, m->period, &rt->f, err);
}

/* What brain.parameters_from needs to place the fit: the templates (plain
 * names, so ", " separates them) and the connectome's regions. */
static tb_status declare_placement(spk *k, tb_output *out, tb_error *err)
{
    const tb_spk_assim *sa = k->ss->assim;
    const tb_spk_brain *b = k->ss->brain;
    tb_buf names = {0};
    for (size_t i = 0; i < sa->n_templates; ++i)
        tb_buf_printf(&names, "%s%s", i ? ", " : "", b->templates[sa->templates[i]]);
    char *list = tb_buf_take(&names);
    char **labels = calloc(b->R1 + 1, sizeof *labels);
    tb_status st = list && labels ? TB_OK : oom(err);
    for (size_t n = 0; st == TB_OK && n < b->R1; ++n) /* member 0's, without its prefix m0_ */
        labels[n] = b->labels[n] + (b->members > 1 ? strlen("m0_") : 0);
    if (st == TB_OK)
        st = tb_output_attr_string(out, "/assimilation", "populations", list, err);
    if (st == TB_OK)
        st = tb_output_write_strings(out, "/assimilation/region_labels", (const char *const *)labels, b->R1, err);
    free(labels);
    free(list);
    return st;
}

tb_status spk_assim_declare(spk *k, tb_output *out, tb_error *err)
{
    tb_status st = k->assim_rt ? tb_enkf_declare(k->assim_rt->f, out, err) : TB_OK;
    if (st == TB_OK && k->assim_rt)
        st = tb_output_attr_double(out, "/assimilation", "members", (double)k->ss->brain->members, err);
    if (st == TB_OK && k->assim_rt)
        st = declare_placement(k, out, err);
    return st;
}

tb_status spk_assim_samples(spk *k, size_t monitor, uint64_t first, const double *rows, uint64_t nrow,
                            tb_error *err)
{
    spk_assim_rt *rt = k->assim_rt;
    if (!rt || monitor != k->ss->assim->monitor)
        return TB_OK;
    bool changed = false;
    tb_status st = TB_OK;
    /* member b's region n is the brain's region b R1 + n: a row is y[B][N] */
    for (uint64_t i = 0; st == TB_OK && i < nrow; ++i) {
        bool used = false;
        double time = (double)((first + i + 1) * rt->period) * k->sc->dt;
        st = tb_enkf_sample(rt->f, first + i, time, rows + i * k->ss->brain->R, &used, err);
        changed |= used;
    }
    return st == TB_OK && changed ? spk_assim_upload(k, err) : st;
}

uint64_t spk_assim_period(const spk *k)
{
    return k->assim_rt ? k->assim_rt->period : 0;
}

tb_status spk_assim_finish(spk *k, tb_error *err)
{
    return k->assim_rt ? tb_enkf_finish(k->assim_rt->f, err) : TB_OK;
}

void spk_assim_free(spk *k)
{
    spk_assim_rt *rt = k->assim_rt;
    if (!rt)
        return;
    tb_enkf_free(rt->f);
    free(rt->vals);
    free(rt->dvals);
    free(rt);
    k->assim_rt = NULL;
}
