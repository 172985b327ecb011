/* The spiking kit's generated OpenCL: for each population an init kernel
 * (parameters and initial state drawn per neuron), a prepare kernel (the
 * model's constants) and an update kernel (inputs, the model's update,
 * threshold and reset), wrapped around the model's snippets.
 *
 * Values are data, never code: sizes, offsets, parameter values and input
 * rates come from buffers (lay[] for integers, pv[] for reals), so a run
 * with other numbers reuses the cached program. Only structure shapes the
 * source: the models, which values are drawn per neuron and how, which
 * inputs act on which population. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "spiking_internal.h"
#include "util.h"

static const char *dist_macro(tb_dist_kind k)
{
    switch (k) {
    case TB_DIST_NORMAL: return "TB_DIST_NORMAL";
    case TB_DIST_UNIFORM: return "TB_DIST_UNIFORM";
    case TB_DIST_LOGNORMAL: return "TB_DIST_LOGNORMAL";
    default: return "TB_DIST_CONST";
    }
}

/* `const real NAME = ...` for every parameter, as the update and prepare
 * kernels see them. */
static void gen_params(tb_buf *b, const spk_pop *p)
{
    const tb_spk_model *m = p->model;
    for (size_t k = 0; k < m->n_params; ++k)
        tb_buf_printf(b, "    const real %s = tb_pv[tb_lay[%zu]%s];\n", m->params[k].name, spk_lay_param(p, k),
                      p->drawn[k] ? " + tb_i" : "");
}

static void gen_consts_load(tb_buf *b, const spk_pop *p)
{
    const tb_spiking_model *m = p->model->m;
    for (size_t j = 0; j < m->n_consts; ++j)
        tb_buf_printf(b, "    const real %s = tb_cv[tb_lay[%zu]%s];\n", m->consts[j], spk_lay_const(p, j),
                      p->consts_per_neuron ? " + tb_i" : "");
}

static void gen_head(tb_buf *b, const spk_pop *p)
{
    tb_buf_printf(b, "    const long tb_n = tb_lay[%zu];\n", p->lay + LAY_N);
    tb_buf_puts(b, "    const long tb_i = get_global_id(0);\n    if (tb_i >= tb_n)\n        return;\n");
}

/* One value drawn for neuron tb_i: slot numbers the draw within the
 * population (0 is the shared `r`). */
static void gen_value(tb_buf *b, const tb_dist *d, size_t lay_dist, size_t slot)
{
    if (d->kind == TB_DIST_EXPR) {
        tb_buf_printf(b, "(%s)", d->expr);
        return;
    }
    if (d->kind == TB_DIST_CONST) {
        tb_buf_printf(b, "tb_pv[tb_lay[%zu]]", lay_dist);
        return;
    }
    tb_buf_printf(b,
                  "tb_draw(%s, tb_pv[tb_lay[%zu]], tb_pv[tb_lay[%zu] + 1], tb_pv[tb_lay[%zu] + 2], "
                  "tb_pv[tb_lay[%zu] + 3], tb_seed, TB_RNG_INITIAL, tb_pop | %zuul, (uint)tb_i)",
                  dist_macro(d->kind), lay_dist, lay_dist, lay_dist, lay_dist, slot);
}

static void gen_init(tb_buf *b, const spk_pop *p, size_t idx)
{
    const tb_spk_model *m = p->model;
    tb_buf_printf(b,
                  "__kernel void tb_init_%zu(__global real *tb_state, __global real *tb_pv, __global const long *tb_lay,\n"
                  "                        ulong tb_seed, real dt)\n{\n",
                  idx);
    gen_head(b, p);
    tb_buf_printf(b, "    const ulong tb_pop = (ulong)tb_lay[%zu] << 32;\n", p->lay + LAY_POP);
    tb_buf_puts(b, "    const real r = tb_uniform2(tb_seed, TB_RNG_INITIAL, tb_pop, (uint)tb_i).x;\n"
                   "    const long i = tb_i;\n    (void)r;\n    (void)i;\n");
    for (size_t k = 0; k < m->n_params; ++k) {
        const tb_dist *d = &p->spec->params[k];
        tb_buf_printf(b, "    const real %s = ", m->params[k].name);
        if (p->drawn[k])
            gen_value(b, d, spk_lay_param(p, k) + 1, 1 + k);
        else
            tb_buf_printf(b, "tb_pv[tb_lay[%zu]]", spk_lay_param(p, k));
        tb_buf_puts(b, ";\n");
        if (p->drawn[k])
            tb_buf_printf(b, "    tb_pv[tb_lay[%zu] + tb_i] = %s;\n", spk_lay_param(p, k), m->params[k].name);
        tb_buf_printf(b, "    (void)%s;\n", m->params[k].name);
    }
    for (size_t v = 0; v < m->m->n_vars; ++v) {
        tb_buf_printf(b, "    const real %s = ", m->m->vars[v].name);
        gen_value(b, &p->spec->initial[v], spk_lay_var(p, v), 1 + m->n_params + v);
        tb_buf_printf(b, ";\n    tb_state[tb_lay[%zu] + %zu * tb_n + tb_i] = %s;\n    (void)%s;\n",
                      p->lay + LAY_STATE, v, m->m->vars[v].name, m->m->vars[v].name);
    }
    tb_buf_puts(b, "}\n\n");
}

static void gen_prepare(tb_buf *b, const spk_pop *p, size_t idx)
{
    const tb_spiking_model *m = p->model->m;
    if (m->n_consts == 0)
        return;
    tb_buf_printf(b,
                  "__kernel void tb_prepare_%zu(__global const real *tb_pv, __global real *tb_cv,\n"
                  "                           __global const long *tb_lay, real dt)\n{\n",
                  idx);
    if (p->consts_per_neuron)
        gen_head(b, p);
    else
        tb_buf_puts(b, "    const long tb_i = 0;\n");
    gen_params(b, p);
    for (size_t j = 0; j < m->n_consts; ++j)
        tb_buf_printf(b, "    real %s;\n", m->consts[j]);
    tb_buf_printf(b, "    {\n%s\n    }\n", m->prepare);
    for (size_t j = 0; j < m->n_consts; ++j)
        tb_buf_printf(b, "    tb_cv[tb_lay[%zu]%s] = %s;\n", spk_lay_const(p, j), p->consts_per_neuron ? " + tb_i" : "",
                      m->consts[j]);
    tb_buf_puts(b, "}\n\n");
}

static int port_index(const tb_spiking_model *m, int port)
{
    return port >= 0 && (size_t)port < m->n_ports ? port : 0;
}

/* The drive of each input acting on the population, this step. */
static void gen_inputs(tb_buf *b, const spk *k, const spk_pop *p)
{
    for (size_t u = 0; u < p->n_inputs; ++u) {
        const tb_spk_input *in = &k->ss->inputs[p->inputs[u].input];
        size_t l = spk_lay_input(p, u);
        if (in->kind == TB_INPUT_POISSON)
            continue;
        tb_buf_printf(b, "    if (tb_step >= tb_lay[%zu] && tb_step < tb_lay[%zu]) { /* input '%s' */\n", l, l + 1,
                      in->name);
        tb_buf_printf(b, "        __global const real *tb_v = tb_pv + tb_lay[%zu];\n", l + 2);
        const unsigned stream_input = (unsigned)p->inputs[u].input << 8;
        switch (in->kind) {
        case TB_INPUT_POISSON: /* tb_drive_* adds it into tb_in beforehand */
            break;
        case TB_INPUT_DC:
            tb_buf_puts(b, "        I_ext += tb_v[0];\n");
            break;
        case TB_INPUT_NOISE:
            tb_buf_printf(b,
                          "        I_ext += tb_v[0] + tb_v[1] * tb_normal2(tb_seed, TB_RNG_INPUT | %uu, "
                          "(ulong)tb_step, (uint)tb_gn).x;\n",
                          stream_input);
            break;
        case TB_INPUT_SPIKE_FILE:
            break;
        }
        tb_buf_puts(b, "    }\n");
    }
}

static void gen_update(tb_buf *b, const spk *k, const spk_pop *p, size_t idx)
{
    const tb_spk_model *md = p->model;
    const tb_spiking_model *m = md->m;
    tb_buf_printf(b, "__attribute__((always_inline)) inline void tb_update_%zu(long tb_i, TB_UPD_PARAMS)\n{\n",
                  idx);
    tb_buf_printf(b, "    const long tb_n = tb_lay[%zu];\n", p->lay + LAY_N);
    tb_buf_printf(b, "    const long tb_gn = tb_lay[%zu] + tb_i;\n", p->lay + LAY_LO);
    tb_buf_puts(b, "    const real t = (real)tb_step * dt;\n    (void)t;\n");
    gen_params(b, p);
    gen_consts_load(b, p);
    tb_buf_printf(b, "    __global real *tb_s = tb_state + tb_lay[%zu] + tb_i;\n", p->lay + LAY_STATE);
    for (size_t v = 0; v < m->n_vars; ++v)
        tb_buf_printf(b, "    real %s = tb_s[%zu * tb_n];\n", m->vars[v].name, v);
    for (size_t q = 0; q < m->n_ports; ++q)
        tb_buf_printf(b, "    real in_%s = tb_in[%zu * tb_N + tb_gn];\n    tb_in[%zu * tb_N + tb_gn] = (real)0;\n",
                      m->ports[q].name, q, q);
    tb_buf_puts(b, "    real I_ext = (real)0;\n");
    gen_inputs(b, k, p);
    spk_perturb_gen_inputs(b, k, idx);
    if (m->refractory)
        tb_buf_puts(b, "    int tb_r = tb_refr[tb_gn];\n    const int refractory = tb_r > 0;\n");
    else
        tb_buf_puts(b, "    const int refractory = 0;\n");
    tb_buf_puts(b, "    (void)refractory;\n    (void)I_ext;\n");
    tb_buf_printf(b, "    {\n%s\n    }\n", m->update);
    if (m->refractory)
        tb_buf_puts(b, "    if (tb_r > 0)\n        --tb_r;\n");
    tb_buf_printf(b, "    uchar tb_spike = 0;\n    if (!refractory && (%s)", m->threshold);
    spk_perturb_gen_gate(b, k, idx);
    tb_buf_printf(b, ") {\n        tb_spike = 1;\n        {\n%s\n        }\n", m->reset);
    if (m->refractory)
        tb_buf_printf(b, "        tb_r = (int)floor(%s / dt + (real)0.5);\n", m->refractory);
    tb_buf_puts(b, "    }\n");
    for (size_t v = 0; v < m->n_vars; ++v)
        tb_buf_printf(b, "    tb_s[%zu * tb_n] = %s;\n", v, m->vars[v].name);
    if (m->refractory)
        tb_buf_puts(b, "    tb_refr[tb_gn] = tb_r;\n");
    tb_buf_puts(b, "    tb_flags[tb_gn] = tb_spike;\n}\n\n");
}

static bool has_poisson(const spk *k, const spk_pop *p)
{
    for (size_t u = 0; u < p->n_inputs; ++u)
        if (k->ss->inputs[p->inputs[u].input].kind == TB_INPUT_POISSON)
            return true;
    return false;
}

/* The population's Poisson inputs of this step, added into its input
 * array before the update reads it (in the order the update used to add
 * them, so the sums are the same): neurons a + lid, a + lid + L, ... < e,
 * the ones this work-item updates. */
static void gen_drive(tb_buf *b, const spk *k, const spk_pop *p, size_t idx)
{
    if (!has_poisson(k, p))
        return;
    tb_buf_printf(b, "__attribute__((always_inline)) inline void tb_drive_%zu(long a, long e, long L, TB_UPD_PARAMS)\n{\n",
                  idx);
    tb_buf_puts(b, "    (void)tb_state, (void)tb_refr, (void)tb_flags, (void)tb_cv, (void)dt;\n");
    for (size_t u = 0; u < p->n_inputs; ++u) {
        const tb_spk_input *in = &k->ss->inputs[p->inputs[u].input];
        if (in->kind != TB_INPUT_POISSON)
            continue;
        size_t l = spk_lay_input(p, u);
        int port = port_index(p->model->m, in->ports[p->inputs[u].slot]);
        tb_buf_printf(b,
                      "    if (tb_step >= tb_lay[%zu] && tb_step < tb_lay[%zu]) /* input '%s' */\n"
                      "        tb_poisson_add(tb_in + %d * tb_N, a, e, L, tb_pv + tb_lay[%zu], tb_seed, TB_RNG_INPUT | %uu,\n"
                      "                       (ulong)tb_step);\n",
                      l, l + 1, in->name, port, l + 2, (unsigned)p->inputs[u].input << 8);
    }
    tb_buf_puts(b, "}\n\n");
}

/* One launch: `steps` steps (at most the shortest delay, so no spike of
 * this launch is due in it). Work-group g owns partition pfirst + g of
 * this process's pown (all P but over MPI ranks: spiking_ranks.c); the
 * work-group after them, when there are spike files, copies their spikes
 * into the history. */
static void gen_step(tb_buf *b, const spk *k)
{
    tb_buf_puts(b, "__kernel void tb_spk_step(TB_STEP_PARAMS, int tb_steps, int tb_deliver_on, int tb_pfirst,\n"
                   "                          int tb_pown)\n{\n"
                   "    const int tb_g = get_group_id(0), tb_p = tb_g < tb_pown ? tb_pfirst + tb_g : tb_P;\n"
                   "    const int tb_lid = get_local_id(0), tb_L = get_local_size(0);\n"
                   "    const long tb_first = tb_step;\n"
                   "    for (int tb_s = 0; tb_s < tb_steps; ++tb_s) {\n"
                   "        tb_step = tb_first + tb_s;\n"
                   "        if (tb_p == tb_P) {\n"
                   "            if (tb_lid == 0)\n"
                   "                tb_ext_copy(TB_STEP_ARGS);\n"
                   "            continue;\n"
                   "        }\n"
                   "        if (tb_lid == 0 && tb_deliver_on)\n"
                   "            tb_deliver(tb_p, tb_p - tb_pfirst, TB_STEP_ARGS);\n"
                   "        barrier(CLK_GLOBAL_MEM_FENCE);\n"
                   "        const long tb_lo = tb_part[tb_p], tb_hi = tb_part[tb_p + 1];\n");
    for (size_t i = 0; i < k->n_pops; ++i) {
        const spk_pop *p = &k->pops[i];
        char *drive = has_poisson(k, p)
                          ? tb_asprintf("            tb_drive_%zu(a + tb_lid, e, tb_L, TB_UPD_ARGS);\n", i)
                          : tb_asprintf("%s", "");
        tb_buf_printf(b,
                      "        { /* population '%s' */\n"
                      "            const long a = max(tb_lo, tb_lay[%zu]), e = min(tb_hi, tb_lay[%zu] + tb_lay[%zu]);\n"
                      "%s"
                      "            for (long n = a + tb_lid; n < e; n += tb_L)\n"
                      "                tb_update_%zu(n - tb_lay[%zu], TB_UPD_ARGS);\n"
                      "        }\n",
                      p->spec->name, p->lay + LAY_LO, p->lay + LAY_LO, p->lay + LAY_N, drive, i, p->lay + LAY_LO);
        free(drive);
    }
    tb_buf_puts(b, "        barrier(CLK_GLOBAL_MEM_FENCE);\n"
                   "        if (tb_lid == 0)\n"
                   "            tb_compact(tb_p, TB_STEP_ARGS);\n"
                   "        barrier(CLK_GLOBAL_MEM_FENCE);\n"
                   "    }\n}\n\n");
}

static void gen_helpers(tb_buf *b, const spk *k)
{
    for (size_t i = 0; i < k->n_pops; ++i) {
        const tb_spk_model *m = k->pops[i].model;
        bool first = true;
        for (size_t j = 0; j < i; ++j)
            first &= k->pops[j].model->m != m->m;
        if (first && m->m->helpers)
            tb_buf_printf(b, "/* helpers of model '%s' */\n%s\n", m->name, m->m->helpers);
    }
}

char *spk_generate(const spk *k)
{
    tb_buf b = {0};
    tb_buf_printf(&b, "/* generated for %zu population%s */\n", k->n_pops, k->n_pops == 1 ? "" : "s");
    gen_helpers(&b, k);
    for (size_t i = 0; i < k->n_pops; ++i) {
        const spk_pop *p = &k->pops[i];
        tb_buf_printf(&b, "/* population '%s': model '%s' */\n", p->spec->name, p->model->name);
        gen_init(&b, p, i);
        gen_prepare(&b, p, i);
        gen_update(&b, k, p, i);
        gen_drive(&b, k, p, i);
    }
    gen_step(&b, k);
    return tb_buf_take(&b);
}
