/* The neural-mass kit's code generation: the OpenCL glue between a
 * model's snippet and kernels/mass.cl (parameters, derivative, coupling,
 * bounds, noise; monitors are in mass_monitor.c). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mass_internal.h"

static void gen_params(const mass *m, tb_buf *b)
{
    tb_buf_puts(b, "typedef struct tb_params {\n");
    for (size_t i = 0; i < m->n_params; ++i)
        tb_buf_printf(b, "    real %s;\n", m->params[i].code_name);
    if (m->n_params == 0)
        tb_buf_puts(b, "    real unused;\n");
    tb_buf_puts(b, "} tb_params;\n\n"
                   "inline void tb_load_params(tb_params *p, __global const tb_scalar *pscalar,\n"
                   "                           __global const tb_scalar *pregion, __global const tb_scalar *pinst,\n"
                   "                           __global const tb_scalar *pir,\n"
                   "                           int b, int n, int B, int N)\n{\n");
    for (size_t i = 0; i < m->n_params; ++i) {
        const param_slot *s = &m->params[i];
        if (s->mode == P_REGION)
            tb_buf_printf(b, "    p->%s = TB_LD_REGION(pregion + %zu * (long)N + n);\n", s->code_name, s->index);
        else if (s->mode == P_INSTANCE)
            tb_buf_printf(b, "    p->%s = TB_LD_INSTANCE(pinst + %zu * (long)B + b);\n", s->code_name, s->index);
        else if (s->mode == P_INSTANCE_REGION && m->lanes > 1 && !m->region_lanes)
            tb_buf_printf(b, "    p->%s = TB_LD(pir + (%zu * (long)N + n) * B + b);\n", s->code_name, s->index);
        else if (s->mode == P_INSTANCE_REGION)
            tb_buf_printf(b, "    p->%s = TB_LD_REGION(pir + (%zu * (long)B + b) * N + n);\n", s->code_name, s->index);
        else
            tb_buf_printf(b, "    p->%s = pscalar[%zu];\n", s->code_name, s->index);
    }
    if (m->n_params == 0)
        tb_buf_puts(b, "    p->unused = 0;\n");
    tb_buf_puts(b, "}\n\n");
}

/* Unpack the parameters of one group ("cp_" for coupling) into locals. */
static void gen_unpack(const mass *m, tb_buf *b, bool coupling)
{
    for (size_t i = 0; i < m->n_params; ++i) {
        bool is_cp = strncmp(m->params[i].code_name, "cp_", 3) == 0;
        if (is_cp == coupling)
            tb_buf_printf(b, "    const real %s = tb_p->%s;\n", m->params[i].code_name, m->params[i].code_name);
    }
}

/* The glue's lines so far: a #line marker after a snippet puts the glue's
 * numbering back. */
static size_t lines_in(const tb_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; ++i)
        n += b->data[i] == '\n';
    return n;
}

/* A model's own code between #line markers, so that a build log points
 * into it ("my_model dfun:3:11": line 3 of the dfun string) rather than at
 * a line of generated glue nobody has seen. Code that carries its own
 * markers (a declared model's: lines of the scenario file) overrides. */
static void put_snippet(const mass *m, tb_buf *b, const char *field, const char *code)
{
    tb_buf_puts(b, "#line 1 \"");
    for (const char *p = m->ms->model->name; *p; ++p) /* a string literal: no quotes, backslashes */
        tb_buf_printf(b, "%c", *p == '"' || *p == '\\' || *p == '\n' ? '_' : *p);
    tb_buf_printf(b, " %s\"\n%s\n", field, code);
    tb_buf_printf(b, "#line %zu \"" TB_MASS_GLUE "\"\n", lines_in(b) + 2);
}

static void gen_dfun(const mass *m, tb_buf *b)
{
    const tb_mass_model *md = m->model;
    if (md->helpers)
        put_snippet(m, b, "helpers", md->helpers);
    /* tb_-prefixed names keep the generated code clear of the plugin's */
    tb_buf_puts(b, "inline void tb_dfun(const tb_params *tb_p, const real *tb_x, real *tb_dx,\n"
                   "                    const real *coupling, tb_scalar t, TB_REGION_T region, int n_regions)\n{\n");
    gen_unpack(m, b, false);
    for (size_t v = 0; v < md->n_vars; ++v)
        tb_buf_printf(b, "    const real %s = tb_x[%zu];\n", md->vars[v].name, v);
    /* NaN, not garbage, where a branch of the snippet leaves one unset:
     * the run then stops at the first chunk, naming the variable */
    for (size_t v = 0; v < md->n_vars; ++v)
        tb_buf_printf(b, "    real d%s = (real)NAN;\n", md->vars[v].name);
    tb_buf_puts(b, "    {\n");
    put_snippet(m, b, "dfun", md->dfun);
    tb_buf_puts(b, "    }\n");
    for (size_t v = 0; v < md->n_vars; ++v)
        tb_buf_printf(b, "    tb_dx[%zu] = d%s;\n", v, md->vars[v].name);
    tb_buf_puts(b, "}\n\n");
}

static size_t var_index(const tb_mass_model *md, const char *name)
{
    for (size_t v = 0; v < md->n_vars; ++v)
        if (strcmp(md->vars[v].name, name) == 0)
            return v;
    return 0; /* the plugin loader checked every coupled name */
}

static void gen_coupling(const mass *m, tb_buf *b)
{
    const tb_mass_model *md = m->model;
    const tb_coupling_def *cd = m->coupling;
    const char *pre = md->coupling_pre ? md->coupling_pre : cd->pre;
    const char *post = md->coupling_post ? md->coupling_post : cd->post;
    tb_buf_puts(b, "inline void tb_hist_values_raw(const real *x, real *xi)\n{\n");
    for (size_t k = 0; k < m->NC; ++k) {
        if (k < m->NCV)
            tb_buf_printf(b, "    xi[%zu] = x[%zu];\n", k, var_index(md, md->coupled[k]));
        else
            tb_buf_printf(b, "    xi[%zu] = (real)0;\n", k);
    }
    tb_buf_puts(b, "}\n\ninline void tb_hist_values(const tb_params *tb_p, const real *x, real *h)\n{\n");
    gen_unpack(m, b, true);
    tb_buf_printf(b, "    real cv[%zu];\n", m->NCV);
    for (size_t k = 0; k < m->NCV; ++k)
        tb_buf_printf(b, "    cv[%zu] = x[%zu];\n", k, var_index(md, md->coupled[k]));
    /* a hist expression may name its channel `k` */
    if (cd->hist && !md->coupling_pre)
        tb_buf_printf(b, "    for (int k = 0; k < %zu; ++k)\n        h[k] = %s;\n", m->NC, cd->hist);
    else
        for (size_t k = 0; k < m->NC; ++k)
            tb_buf_printf(b, "    h[%zu] = cv[%zu];\n", k, k);
    tb_buf_puts(b, "}\n\ninline real tb_pre(const tb_params *tb_p, real h, real xi)\n{\n");
    gen_unpack(m, b, true);
    tb_buf_printf(b, "    return %s;\n}\n\n", pre);
    if (m->lanes > 1 && m->region_lanes) {
        /* the same for the edges of one row as lanes (kernels/mass.cl):
         * the target's values, its own and its parameters', on every lane */
        tb_buf_puts(b, "inline real tb_pre_row(const tb_params *tb_p, real h, real tb_xi, int tb_l)\n{\n");
        for (size_t i = 0; i < m->n_params; ++i)
            if (strncmp(m->params[i].code_name, "cp_", 3) == 0)
                tb_buf_printf(b, "    const real %s = (real)tb_lane(tb_p->%s, tb_l);\n", m->params[i].code_name,
                              m->params[i].code_name);
        tb_buf_printf(b, "    const real xi = (real)tb_lane(tb_xi, tb_l);\n    return %s;\n}\n\n", pre);
    }
    tb_buf_puts(b, "inline void tb_post_all(const tb_params *tb_p, const real *sums, const real *xi, real *c,\n"
                   "                        int n_regions)\n{\n");
    gen_unpack(m, b, true);
    if (cd->post_all && !md->coupling_post)
        tb_buf_printf(b, "    %s\n", cd->post_all);
    else
        tb_buf_printf(b, "    for (int k = 0; k < %zu; ++k) {\n        const real sum = sums[k];\n"
                         "        c[k] = %s;\n    }\n",
                      m->NC, post);
    tb_buf_puts(b, "}\n\n");
}

static void gen_clamp(const mass *m, tb_buf *b)
{
    tb_buf_puts(b, "inline void tb_clamp(real *x)\n{\n");
    for (size_t v = 0; v < m->NV; ++v) {
        const tb_mass_var *var = &m->model->vars[v];
        if (isfinite(var->bound_lo))
            tb_buf_printf(b, "    x[%zu] = fmax(x[%zu], (real)%.17g);\n", v, v, var->bound_lo);
        if (isfinite(var->bound_hi))
            tb_buf_printf(b, "    x[%zu] = fmin(x[%zu], (real)%.17g);\n", v, v, var->bound_hi);
    }
    tb_buf_puts(b, "}\n\n");
}


static void gen_noise(const mass *m, tb_buf *b)
{
    static const char *const kinds[] = {"TB_NOISE_NONE", "TB_NOISE_ADDITIVE", "TB_NOISE_MULTIPLICATIVE",
                                        "TB_NOISE_OU"};
    tb_buf_printf(b, "#define TB_NOISE %s\n\n", kinds[m->ms->noise]);
    tb_buf_puts(b, "inline void tb_noise_g(const tb_params *tb_p, const real *x, real *g)\n{\n");
    for (size_t v = 0; v < m->NV; ++v) {
        bool on = m->ms->noise && m->ms->noise_sigma[v].name;
        if (!on)
            tb_buf_printf(b, "    g[%zu] = (real)0;\n", v);
        else if (m->ms->noise == TB_NOISE_MULTIPLICATIVE)
            tb_buf_printf(b, "    g[%zu] = tb_p->tb_sigma_%s * x[%zu];\n", v, m->model->vars[v].name, v);
        else
            tb_buf_printf(b, "    g[%zu] = tb_p->tb_sigma_%s;\n", v, m->model->vars[v].name);
    }
    tb_buf_puts(b, "}\n\n");
}

/* initial.history = "random": the state k steps before t = 0 from one
 * uniform u[v] in (0, 1) per variable: low + width u for the variables
 * drawn at random, the initial value x0 for the others. Not contracted to
 * fma, so that every device rounds it alike. */
static void gen_history(const mass *m, tb_buf *b)
{
    bool random = m->ms->history == TB_HISTORY_RANDOM;
    tb_buf_printf(b, "#define TB_HISTORY_RANDOM %d\n\n", random ? 1 : 0);
    if (!random)
        return;
    tb_buf_puts(b, "inline void tb_history_draw(const tb_params *tb_p, const real *x0, const real *u, real *x)\n{\n"
                   "#pragma OPENCL FP_CONTRACT OFF\n");
    for (size_t v = 0; v < m->NV; ++v) {
        const char *name = m->model->vars[v].name;
        if (m->ms->initial[v].random)
            tb_buf_printf(b, "    x[%zu] = tb_p->tb_hist_lo_%s + tb_p->tb_hist_width_%s * u[%zu];\n", v, name, name, v);
        else
            tb_buf_printf(b, "    x[%zu] = x0[%zu];\n", v, v);
    }
    tb_buf_puts(b, "}\n\n");
}

static void gen_waveform(const mass *m, size_t k, tb_buf *b)
{
    const tb_scenario_stimulus *s = &m->stim[k];
    switch (s->kind) {
    case TB_STIM_PULSE_TRAIN:
        tb_buf_printf(b, "            const real v = fmod(tt, (tb_scalar)%.17g) < (tb_scalar)%.17g ? (tb_scalar)1 : "
                         "(tb_scalar)0;\n",
                      s->period, s->width);
        break;
    case TB_STIM_SINUSOID:
        tb_buf_printf(b, "            const real v = sin((tb_scalar)%.17g * tt + (tb_scalar)%.17g);\n",
                      2.0 * M_PI * s->frequency / 1000.0, s->phase);
        break;
    case TB_STIM_GAUSSIAN:
        tb_buf_printf(b, "            const tb_scalar u = (t - (tb_scalar)%.17g) / (tb_scalar)%.17g;\n", s->center,
                      s->sigma);
        tb_buf_puts(b, "            const real v = exp((tb_scalar)-0.5 * u * u);\n");
        break;
    case TB_STIM_SERIES:
        /* +1e-6: t / period may fall a rounding error short of a whole sample */
        tb_buf_printf(b, "            const long i = (long)floor(tt / (tb_scalar)%.17g + (tb_scalar)1e-6);\n",
                      s->period);
        if (m->stim_per_region[k])
            tb_buf_printf(b, "            const real v = i < %zu ? TB_LD_REGION(series + %zu + i * N + n) : (real)0;\n",
                          m->stim_len[k], m->stim_offset[k]);
        else
            tb_buf_printf(b, "            const real v = i < %zu ? series[%zu + i] : (tb_scalar)0;\n", m->stim_len[k],
                          m->stim_offset[k]);
        break;
    }
}

/* tb_stimulus(): each stimulus's value at the start of the step, weighted
 * by region (0 where it does not apply), added to its variable's forcing. */
static void gen_stimulus(const mass *m, tb_buf *b)
{
    tb_buf_printf(b, "#define TB_N_STIM %zu\n\n", m->n_stim);
    tb_buf_puts(b, "inline void tb_stimulus(tb_scalar t, int n, int N, __global const tb_scalar *w,\n"
                   "                        __global const tb_scalar *series, real *force)\n{\n");
    for (size_t k = 0; k < m->n_stim; ++k) {
        const tb_scenario_stimulus *s = &m->stim[k];
        tb_buf_printf(b, "    if (t >= (tb_scalar)%.17g", s->onset);
        if (isfinite(s->stop))
            tb_buf_printf(b, " && t < (tb_scalar)%.17g", s->stop);
        /* a train longer than a double holds never ends within a run */
        if (s->kind == TB_STIM_PULSE_TRAIN && s->count >= 0 && isfinite((double)s->count * s->period))
            tb_buf_printf(b, " && t - (tb_scalar)%.17g < (tb_scalar)%.17g", s->onset, (double)s->count * s->period);
        tb_buf_printf(b, ") {\n            const tb_scalar tt = t - (tb_scalar)%.17g;\n", s->onset);
        gen_waveform(m, k, b);
        tb_buf_printf(b,
                      "            force[%zu] += (tb_scalar)%.17g * TB_LD_REGION(w + %zu * (long)N + n) * v;\n    }\n",
                      s->variable, s->amplitude, k);
    }
    tb_buf_puts(b, "}\n\n");
}

/* With lanes, `real` becomes a vector of instances for everything that
 * follows, the model's own code included: arithmetic and OpenCL's math
 * functions then act on all lanes at once. Memory stays tb_scalar. */
static void gen_lanes(const mass *m, tb_buf *b)
{
    tb_buf_printf(b,
                  "#define TB_LANES %zu\n#define TB_REGION_LANES %d\n#define TB_SPLIT %zu\n#define TB_DENSE %d\n"
                  "typedef real tb_scalar;\n",
                  m->lanes, m->region_lanes ? 1 : 0, m->split, m->dense ? 1 : 0);
    tb_buf_puts(b, "#define TB_CAT_(a, b) a##b\n#define TB_CAT(a, b) TB_CAT_(a, b)\n");
    if (m->lanes > 1) {
        tb_buf_printf(b, "typedef %s%zu tb_vector;\n#define real tb_vector\n",
                      m->realsz == sizeof(double) ? "double" : "float", m->lanes);
        tb_buf_puts(b, "#define TB_LD(p) TB_CAT(vload, TB_LANES)(0, (p))\n"
                       "#define TB_ST(v, p) TB_CAT(vstore, TB_LANES)((v), 0, (p))\n");
    } else {
        tb_buf_puts(b, "#define TB_LD(p) (*(p))\n#define TB_ST(v, p) (*(p) = (v))\n");
    }
    /* a per-region value is a vector over region lanes and the same on
     * every instance lane; a per-instance value the other way round */
    if (m->lanes > 1 && m->region_lanes) {
        tb_buf_puts(b, "#define TB_LD_REGION(p) TB_LD(p)\n#define TB_LD_INSTANCE(p) (*(p))\n"
                       "#define TB_REGION_T TB_CAT(int, TB_LANES)\n");
        /* OpenCL has no implicit int-vector to real-vector conversion, so
         * `0.001 * region` would not compile here: models write
         * convert_real(region), which every layout defines */
        tb_buf_printf(b, "#define convert_real(x) TB_CAT(convert_, %s%zu)((TB_REGION_T)(x))\n",
                      m->realsz == sizeof(double) ? "double" : "float", m->lanes);
        /* halves for the pairwise sum of a vector, and one lane of it */
        tb_buf_printf(b, "typedef %s4 tb_scalar4;\ntypedef %s2 tb_scalar2;\n",
                      m->realsz == sizeof(double) ? "double" : "float", m->realsz == sizeof(double) ? "double" : "float");
        tb_buf_puts(b, "inline tb_scalar tb_lane(real v, int l)\n{\n    tb_scalar a[TB_LANES];\n    TB_ST(v, a);\n"
                       "    return a[l];\n}\n\n");
    }
    else if (m->lanes > 1)
        tb_buf_puts(b, "#define TB_LD_REGION(p) (*(p))\n#define TB_LD_INSTANCE(p) TB_LD(p)\n#define TB_REGION_T int\n"
                       "#define convert_real(x) ((real)(x))\n\n");
    else
        tb_buf_puts(b, "#define TB_LD_REGION(p) (*(p))\n#define TB_LD_INSTANCE(p) (*(p))\n#define TB_REGION_T int\n"
                       "#define convert_real(x) ((real)(x))\n\n");
}

static const char *method_macro(const char *method)
{
    if (strcmp(method, "euler") == 0)
        return "TB_EULER";
    if (strcmp(method, "rk4") == 0)
        return "TB_RK4";
    return "TB_HEUN";
}

char *tb_mass_generate_model(const mass *m)
{
    mass scalar = *m; /* only read: the generators see one lane */
    scalar.lanes = 1;
    scalar.region_lanes = false;
    tb_buf b = {0};
    tb_buf_printf(&b, "/* model '%s' alone, checked before the vector build */\n", m->ms->model->name);
    gen_lanes(&scalar, &b);
    gen_params(&scalar, &b);
    gen_dfun(&scalar, &b);
    gen_coupling(&scalar, &b);
    gen_clamp(&scalar, &b);
    gen_noise(&scalar, &b);
    return tb_buf_take(&b);
}

char *tb_mass_generate(const mass *m)
{
    tb_buf b = {0};
    tb_buf_printf(&b, "/* generated for model '%s' (%s), coupling '%s', method %s */\n", m->ms->model->name,
                  m->ms->model->version ? m->ms->model->version : "", m->coupling->name, m->ms->method);
    tb_buf_printf(&b, "#define TB_NV %zu\n#define TB_NC %zu\n#define TB_METHOD %s\n#define TB_INSTANCE_MAJOR %d\n",
                  m->NV, m->NC, method_macro(m->ms->method), m->instance_major ? 1 : 0);
    gen_lanes(m, &b);
    tb_mass_perturb_gen(m, &b);
    gen_params(m, &b);
    gen_dfun(m, &b);
    gen_coupling(m, &b);
    gen_clamp(m, &b);
    gen_noise(m, &b);
    gen_history(m, &b);
    gen_stimulus(m, &b);
    tb_mass_gen_monitors(m, &b);
    return tb_buf_take(&b);
}

