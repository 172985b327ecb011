/* The spiking kit's generated OpenCL: for each CLASS of populations an
 * init kernel (parameters and initial state drawn per neuron), a prepare
 * kernel (the model's constants), an update function (inputs, the model's
 * update, threshold and reset) and a drive function (Poisson inputs),
 * wrapped around the model's snippets; and the step kernel, which loops
 * over the populations at run time and calls each one's class.
 *
 * Values are data, never code: sizes, offsets, parameter values, input
 * rates and random streams come from buffers (lay[] for integers, pv[] for
 * reals), so a run with other numbers reuses the cached program. Only
 * structure shapes the source: the models, which values are drawn per
 * neuron and how, which kinds of inputs act on a population and on which
 * ports, which perturbations reach it.
 *
 * Populations whose functions come out the same text are one class: the
 * functions read the population's lay[] block relative to its first entry
 * tb_pl (a kernel argument, or read from the table at the start of lay[]
 * by the step kernel), so the text names no population. spk_classify
 * compares the texts themselves, so nothing that shapes the code can be
 * missed. The program's size then grows with the number of classes (one
 * for a brain of identical regions), not of populations: a 492-population
 * brain used to give 2.7 MB of source that compiled for many minutes. */
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

/* A population block's entry as the class's code reads it: relative to
 * the block's first entry tb_pl (an argument of every class function). */
static size_t rel(const spk_pop *p, size_t at)
{
    return at - p->lay;
}

/* `const real NAME = ...` for every parameter, as the update and prepare
 * kernels see them. */
static void gen_params(tb_buf *b, const spk_pop *p)
{
    const tb_spk_model *m = p->model;
    for (size_t k = 0; k < m->n_params; ++k)
        tb_buf_printf(b, "    const real %s = tb_pv[tb_lay[tb_pl + %zu]%s];\n", m->params[k].name,
                      rel(p, spk_lay_param(p, k)), p->drawn[k] ? " + tb_i" : "");
}

static void gen_consts_load(tb_buf *b, const spk_pop *p)
{
    const tb_spiking_model *m = p->model->m;
    for (size_t j = 0; j < m->n_consts; ++j)
        tb_buf_printf(b, "    const real %s = tb_cv[tb_lay[tb_pl + %zu]%s];\n", m->consts[j],
                      rel(p, spk_lay_const(p, j)), p->consts_per_neuron ? " + tb_i" : "");
}

static void gen_head(tb_buf *b)
{
    tb_buf_printf(b, "    const long tb_n = tb_lay[tb_pl + %d];\n", LAY_N);
    tb_buf_puts(b, "    const long tb_i = get_global_id(0);\n    if (tb_i >= tb_n)\n        return;\n");
}

/* One value drawn for neuron tb_i: slot numbers the draw within the
 * population (0 is the shared `r`); lay_dist relative to tb_pl. */
static void gen_value(tb_buf *b, const tb_dist *d, size_t lay_dist, size_t slot)
{
    if (d->kind == TB_DIST_EXPR) {
        tb_buf_printf(b, "(%s)", d->expr);
        return;
    }
    if (d->kind == TB_DIST_CONST) {
        tb_buf_printf(b, "tb_pv[tb_lay[tb_pl + %zu]]", lay_dist);
        return;
    }
    tb_buf_printf(b,
                  "tb_draw(%s, tb_pv[tb_lay[tb_pl + %zu]], tb_pv[tb_lay[tb_pl + %zu] + 1], "
                  "tb_pv[tb_lay[tb_pl + %zu] + 2], tb_pv[tb_lay[tb_pl + %zu] + 3], tb_seed, TB_RNG_INITIAL, "
                  "tb_pop | %zuul, (uint)tb_i)",
                  dist_macro(d->kind), lay_dist, lay_dist, lay_dist, lay_dist, slot);
}

static void gen_init(tb_buf *b, const spk_pop *p, size_t cls)
{
    const tb_spk_model *m = p->model;
    tb_buf_printf(b,
                  "__kernel void tb_init_%zu(__global real *tb_state, __global real *tb_pv, __global const long *tb_lay,\n"
                  "                        ulong tb_seed, real dt, long tb_pl)\n{\n",
                  cls);
    gen_head(b);
    tb_buf_printf(b, "    const ulong tb_pop = (ulong)tb_lay[tb_pl + %d] << 32;\n", LAY_POP);
    tb_buf_puts(b, "    const real r = tb_uniform2(tb_seed, TB_RNG_INITIAL, tb_pop, (uint)tb_i).x;\n"
                   "    const long i = tb_i;\n    (void)r;\n    (void)i;\n");
    for (size_t k = 0; k < m->n_params; ++k) {
        const tb_dist *d = &p->spec->params[k];
        size_t at = rel(p, spk_lay_param(p, k));
        tb_buf_printf(b, "    const real %s = ", m->params[k].name);
        if (p->drawn[k])
            gen_value(b, d, at + 1, 1 + k);
        else
            tb_buf_printf(b, "tb_pv[tb_lay[tb_pl + %zu]]", at);
        tb_buf_puts(b, ";\n");
        if (p->drawn[k])
            tb_buf_printf(b, "    tb_pv[tb_lay[tb_pl + %zu] + tb_i] = %s;\n", at, m->params[k].name);
        tb_buf_printf(b, "    (void)%s;\n", m->params[k].name);
    }
    for (size_t v = 0; v < m->m->n_vars; ++v) {
        tb_buf_printf(b, "    const real %s = ", m->m->vars[v].name);
        gen_value(b, &p->spec->initial[v], rel(p, spk_lay_var(p, v)), 1 + m->n_params + v);
        tb_buf_printf(b, ";\n    tb_state[tb_lay[tb_pl + %d] + %zu * tb_n + tb_i] = %s;\n    (void)%s;\n", LAY_STATE,
                      v, m->m->vars[v].name, m->m->vars[v].name);
    }
    tb_buf_puts(b, "}\n\n");
}

static void gen_prepare(tb_buf *b, const spk_pop *p, size_t cls)
{
    const tb_spiking_model *m = p->model->m;
    if (m->n_consts == 0)
        return;
    tb_buf_printf(b,
                  "__kernel void tb_prepare_%zu(__global const real *tb_pv, __global real *tb_cv,\n"
                  "                           __global const long *tb_lay, real dt, long tb_pl)\n{\n",
                  cls);
    if (p->consts_per_neuron)
        gen_head(b);
    else
        tb_buf_puts(b, "    const long tb_i = 0;\n");
    gen_params(b, p);
    for (size_t j = 0; j < m->n_consts; ++j)
        tb_buf_printf(b, "    real %s;\n", m->consts[j]);
    tb_buf_printf(b, "    {\n%s\n    }\n", m->prepare);
    for (size_t j = 0; j < m->n_consts; ++j)
        tb_buf_printf(b, "    tb_cv[tb_lay[tb_pl + %zu]%s] = %s;\n", rel(p, spk_lay_const(p, j)),
                      p->consts_per_neuron ? " + tb_i" : "", m->consts[j]);
    tb_buf_puts(b, "}\n\n");
}

static int port_index(const tb_spiking_model *m, int port)
{
    return port >= 0 && (size_t)port < m->n_ports ? port : 0;
}

/* The inputs read into I_ext, in the scenario's order (u numbers the
 * population's inputs; the input's name is no part of the code). The DC inputs
 * before the first noise input are the same for every neuron of the
 * population: tb_dc_<class> sums them once per step, before the neuron
 * loop (read inside the update, under the step window's condition, they
 * were not hoisted out of the loop, and a vectorised loop gathered the
 * same numbers for every lane: on an AVX-512 CPU, gathers every four
 * neurons were a fifth of COBA's update). The rest, in order, per neuron.
 * The sum is the same either way: I_ext starts at that leading sum. */
static size_t leading_dc(const spk *k, const spk_pop *p)
{
    size_t u = 0;
    for (; u < p->n_inputs; ++u) {
        if (k->ss->inputs[p->inputs[u].input].kind == TB_INPUT_NOISE)
            break;
    }
    return u;
}

static void gen_input_window(tb_buf *b, const spk_pop *p, size_t u, const char *indent)
{
    size_t l = rel(p, spk_lay_input(p, u));
    tb_buf_printf(b, "%sif (tb_step >= tb_lay[tb_pl + %zu] && tb_step < tb_lay[tb_pl + %zu]) { /* input %zu */\n",
                  indent, l + SPK_IN_START, l + SPK_IN_STOP, u);
    tb_buf_printf(b, "%s    __global const real *tb_v = tb_pv + tb_lay[tb_pl + %zu];\n", indent, l + SPK_IN_VALUES);
}

static void gen_dc(tb_buf *b, const spk *k, const spk_pop *p, size_t cls)
{
    tb_buf_printf(b,
                  "__attribute__((always_inline)) inline real tb_dc_%zu(long tb_pl, long tb_step, "
                  "__global const real *restrict tb_pv, __global const long *restrict tb_lay)\n{\n"
                  "    (void)tb_pl, (void)tb_step, (void)tb_pv, (void)tb_lay;\n"
                  "    real I = (real)0;\n",
                  cls);
    for (size_t u = 0, n = leading_dc(k, p); u < n; ++u) {
        if (k->ss->inputs[p->inputs[u].input].kind != TB_INPUT_DC)
            continue;
        gen_input_window(b, p, u, "    ");
        tb_buf_puts(b, "        I += tb_v[0];\n    }\n");
    }
    tb_buf_puts(b, "    return I;\n}\n\n");
}

static void gen_inputs(tb_buf *b, const spk *k, const spk_pop *p)
{
    for (size_t u = leading_dc(k, p); u < p->n_inputs; ++u) {
        const tb_spk_input *in = &k->ss->inputs[p->inputs[u].input];
        size_t l = rel(p, spk_lay_input(p, u));
        if (in->kind != TB_INPUT_DC && in->kind != TB_INPUT_NOISE)
            continue; /* Poisson: tb_drive_* adds it into tb_in beforehand; spike files: delivery */
        gen_input_window(b, p, u, "    ");
        if (in->kind == TB_INPUT_DC)
            tb_buf_puts(b, "        I_ext += tb_v[0];\n");
        else
            tb_buf_printf(b,
                          "        I_ext += tb_v[0] + tb_v[1] * tb_normal2(tb_seed, TB_RNG_INPUT | "
                          "(uint)tb_lay[tb_pl + %zu], (ulong)tb_step, (uint)tb_gn).x;\n",
                          l + SPK_IN_STREAM);
        tb_buf_puts(b, "    }\n");
    }
}

static void gen_update(tb_buf *b, const spk *k, const spk_pop *p, size_t cls)
{
    const tb_spk_model *md = p->model;
    const tb_spiking_model *m = md->m;
    tb_buf_printf(b,
                  "__attribute__((always_inline)) inline void tb_update_%zu(long tb_pl, long tb_i, real tb_dc, "
                  "TB_UPD_PARAMS)\n"
                  "{\n",
                  cls);
    tb_buf_printf(b, "    const long tb_n = tb_lay[tb_pl + %d];\n", LAY_N);
    tb_buf_printf(b, "    const long tb_gn = tb_lay[tb_pl + %d] + tb_i;\n", LAY_LO);
    tb_buf_puts(b, "    const real t = (real)tb_step * dt;\n    (void)t;\n");
    gen_params(b, p);
    gen_consts_load(b, p);
    tb_buf_printf(b, "    __global real *tb_s = tb_state + tb_lay[tb_pl + %d] + tb_i;\n", LAY_STATE);
    for (size_t v = 0; v < m->n_vars; ++v)
        tb_buf_printf(b, "    real %s = tb_s[%zu * tb_n];\n", m->vars[v].name, v);
    for (size_t q = 0; q < m->n_ports; ++q)
        tb_buf_printf(b, "    real in_%s = tb_in[%zu * tb_N + tb_gn];\n    tb_in[%zu * tb_N + tb_gn] = (real)0;\n",
                      m->ports[q].name, q, q);
    tb_buf_puts(b, "    real I_ext = tb_dc;\n");
    gen_inputs(b, k, p);
    spk_perturb_gen_inputs(b, k, (size_t)(p - k->pops));
    if (m->refractory)
        tb_buf_puts(b, "    int tb_r = tb_refr[tb_gn];\n    const int refractory = tb_r > 0;\n");
    else
        tb_buf_puts(b, "    const int refractory = 0;\n");
    tb_buf_puts(b, "    (void)refractory;\n    (void)I_ext;\n");
    tb_buf_printf(b, "    {\n%s\n    }\n", m->update);
    if (m->refractory)
        tb_buf_puts(b, "    if (tb_r > 0)\n        --tb_r;\n");
    tb_buf_printf(b, "    uchar tb_spike = 0;\n    if (!refractory && (%s)", m->threshold);
    spk_perturb_gen_gate(b, k, (size_t)(p - k->pops));
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

/* The population's Poisson inputs of this step, added into its input
 * array before the update reads it (in the order the update used to add
 * them, so the sums are the same): neurons a + lid, a + lid + L, ... < e,
 * the ones this work-item updates. Always emitted (empty without Poisson
 * inputs), so the step's loop calls it for every class alike. */
static void gen_drive(tb_buf *b, const spk *k, const spk_pop *p, size_t cls)
{
    tb_buf_printf(b,
                  "__attribute__((always_inline)) inline void tb_drive_%zu(long tb_pl, long a, long e, long L, "
                  "TB_UPD_PARAMS)\n{\n",
                  cls);
    tb_buf_puts(b, "    (void)tb_pl, (void)a, (void)e, (void)L, (void)tb_pv, (void)tb_lay, (void)tb_step, "
                   "(void)tb_seed, (void)tb_N, (void)tb_in;\n");
    tb_buf_puts(b, "    (void)tb_state, (void)tb_refr, (void)tb_flags, (void)tb_cv, (void)dt;\n");
    for (size_t u = 0; u < p->n_inputs; ++u) {
        const tb_spk_input *in = &k->ss->inputs[p->inputs[u].input];
        if (in->kind != TB_INPUT_POISSON)
            continue;
        size_t l = rel(p, spk_lay_input(p, u));
        int port = port_index(p->model->m, in->ports[p->inputs[u].slot]);
        tb_buf_printf(b,
                      "    if (tb_step >= tb_lay[tb_pl + %zu] && tb_step < tb_lay[tb_pl + %zu]) /* input %zu */\n"
                      "        tb_poisson_add(tb_in + %d * tb_N, a, e, L, tb_pv + tb_lay[tb_pl + %zu], tb_seed,\n"
                      "                       TB_RNG_INPUT | (uint)tb_lay[tb_pl + %zu], (ulong)tb_step);\n",
                      l + SPK_IN_START, l + SPK_IN_STOP, u, port, l + SPK_IN_VALUES, l + SPK_IN_STREAM);
    }
    tb_buf_puts(b, "}\n\n");
}

/* A population's functions: its class's, named after class `cls`. */
static void gen_pop(tb_buf *b, const spk *k, const spk_pop *p, size_t cls)
{
    gen_init(b, p, cls);
    gen_prepare(b, p, cls);
    gen_dc(b, k, p, cls);
    gen_update(b, k, p, cls);
    gen_drive(b, k, p, cls);
}

/* Whether a model's update loop runs in the widest vectors
 * (TB_UPDATE_WIDE, kernels/spiking.cl): an update that calls a
 * transcendental function is bound by its arithmetic, and 8 double lanes
 * (AVX-512) instead of the 4 PoCL prefers made COBA's step 25% faster;
 * the other updates are bound by their loads and stores and ran 3-10%
 * slower so (CUBA, the microcircuit). The lanes change no result. */
static bool wide_update(const tb_spiking_model *m)
{
    static const char *const calls[] = {"exp(", "expm1(", "log(", "log1p(", "pow(", "tanh(", "sin(", "cos("};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; ++i)
        if (m->update && strstr(m->update, calls[i]))
            return true;
    return false;
}

/* One launch: `steps` steps (at most the shortest delay, so no spike of
 * this launch is due in it). Work-group g owns partition pfirst + g of
 * this process's pown (all P but over MPI ranks: spiking_ranks.c); the
 * work-group after them, when there are spike files, copies their spikes
 * into the history. Within a step the populations go in scenario order,
 * each through its class's functions (lay[] begins with each population's
 * block and class: spk_lay_table). */
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
                   "        const long tb_lo = tb_part[tb_p], tb_hi = tb_part[tb_p + 1];\n");
    tb_buf_printf(b,
                  "        if (tb_lid == 0 && tb_deliver_on) {\n"
                  "            tb_warm_inputs(tb_in + tb_lo, tb_hi - tb_lo, %zu, tb_N);\n"
                  "            tb_deliver(tb_p, tb_p - tb_pfirst, TB_STEP_ARGS);\n"
                  "        }\n"
                  "        barrier(CLK_GLOBAL_MEM_FENCE);\n",
                  spk_max_ports(k));
    tb_buf_printf(b,
                  "        for (int tb_q = 0; tb_q < tb_npops; ++tb_q) {\n"
                  "            const long tb_pl = tb_lay[%d * tb_q], tb_plo = tb_lay[tb_pl + %d];\n"
                  "            const long a = max(tb_lo, tb_plo), e = min(tb_hi, tb_plo + tb_lay[tb_pl + %d]);\n"
                  "            switch (tb_lay[%d * tb_q + 1]) {\n",
                  SPK_LAY_TABLE, LAY_LO, LAY_N, SPK_LAY_TABLE);
    for (size_t c = 0; c < k->n_cls; ++c)
        tb_buf_printf(b,
                      "            case %zu: {\n"
                      "                tb_drive_%zu(tb_pl, a + tb_lid, e, tb_L, TB_UPD_ARGS);\n"
                      "                const real tb_dc = tb_dc_%zu(tb_pl, tb_step, tb_pv, tb_lay);\n"
                      "%s"
                      "                for (long n = a + tb_lid; n < e; n += tb_L)\n"
                      "                    tb_update_%zu(tb_pl, n - tb_plo, tb_dc, TB_UPD_ARGS);\n"
                      "                break;\n"
                      "            }\n",
                      c, c, c, wide_update(k->pops[k->cls_rep[c]].model->m) ? "                TB_UPDATE_WIDE\n" : "",
                      c);
    tb_buf_puts(b, "            }\n"
                   "        }\n"
                   "        barrier(CLK_GLOBAL_MEM_FENCE);\n"
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

/* FNV-1a, to compare a population's code with the classes' quickly. */
static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; ++s)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

tb_status spk_classify(spk *k, tb_error *err)
{
    char **text = calloc(k->n_pops + 1, sizeof *text);
    uint64_t *hash = calloc(k->n_pops + 1, sizeof *hash);
    k->cls_rep = calloc(k->n_pops + 1, sizeof *k->cls_rep);
    tb_status st = text && hash && k->cls_rep ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    k->n_cls = 0;
    for (size_t i = 0; st == TB_OK && i < k->n_pops; ++i) {
        tb_buf b = {0};
        gen_pop(&b, k, &k->pops[i], 0);
        text[i] = tb_buf_take(&b);
        if (!text[i]) {
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
            break;
        }
        hash[i] = text_hash(text[i]);
        size_t c = 0;
        while (c < k->n_cls && (hash[k->cls_rep[c]] != hash[i] || strcmp(text[k->cls_rep[c]], text[i]) != 0))
            ++c;
        if (c == k->n_cls)
            k->cls_rep[k->n_cls++] = i;
        k->pops[i].cls = c;
    }
    for (size_t i = 0; text && i < k->n_pops; ++i)
        free(text[i]);
    free(text);
    free(hash);
    return st;
}

char *spk_generate(const spk *k)
{
    tb_buf b = {0};
    gen_helpers(&b, k);
    for (size_t c = 0; c < k->n_cls; ++c) {
        const spk_pop *p = &k->pops[k->cls_rep[c]];
        tb_buf_printf(&b, "/* class %zu: model '%s' */\n", c, p->model->name);
        gen_pop(&b, k, p, c);
    }
    gen_step(&b, k);
    return tb_buf_take(&b);
}
