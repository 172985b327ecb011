/* The neural-mass kit's monitors: planning and device buffers, the code
 * the step kernel runs for them, the kernels that follow a chunk (EEG
 * projection, FC sums), and the rows they append to the output.
 *
 * In the step kernel: raw, subsample, temporal_average and bold (whose
 * Balloon-Windkessel states integrate alongside the model, every step);
 * eeg samples its variable's temporal average there too. After each
 * chunk: eeg projects those samples through its gain matrix, fc adds the
 * samples of its source monitor that fall in its window to running sums.
 * At the end fc turns its sums into a correlation matrix per instance and,
 * with an empirical FC, a score per instance. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "h5read.h"
#include "mass_internal.h"
#include "profile.h"

/* Enqueue a 1-D kernel, recording it in the device's profile. */
static cl_int enqueue(mass *m, cl_kernel k, size_t global, const char *name)
{
    tb_profile *prof = tb_device_profile(m->dev);
    cl_event ev;
    cl_int rc = clEnqueueNDRangeKernel(tb_device_queue(m->dev), k, 1, NULL, &global, NULL, 0, NULL,
                                       tb_profile_event_slot(prof, &ev));
    if (rc == CL_SUCCESS)
        tb_profile_command(prof, name, ev);
    if (ev)
        clReleaseEvent(ev);
    return rc;
}

static bool in_kernel(const monitor_rt *r)
{
    return r->spec->kind != TB_MONITOR_FC;
}

/* Values the step kernel keeps per region for a monitor between samples. */
static size_t acc_per_region(const monitor_rt *r)
{
    return r->spec->kind == TB_MONITOR_BOLD ? 4 * r->nv : r->nv;
}

void tb_mass_plan_monitors(mass *m)
{
    size_t row_bytes = 0; /* bytes of samples per step, across monitors */
    int slot = 0;
    for (size_t i = 0; i < m->n_mon; ++i) {
        monitor_rt *r = &m->mon[i];
        r->spec = &m->ms->monitors[i];
        r->period = (uint64_t)llround(r->spec->period / m->sc->dt);
        if (r->period == 0)
            r->period = 1;
        r->nv = r->spec->kind == TB_MONITOR_FC ? 1 : r->spec->n_variables;
        r->kernel_slot = in_kernel(r) ? slot++ : -1;
        r->width = r->spec->kind == TB_MONITOR_FC ? m->N * m->N : m->N * r->nv;
        if (in_kernel(r))
            row_bytes += (m->B * m->N * r->nv * m->realsz + r->period - 1) / r->period;
    }
    uint64_t k = CHUNK_STEPS_MAX;
    if (row_bytes && k * row_bytes > CHUNK_BYTES_MAX)
        k = CHUNK_BYTES_MAX / row_bytes;
    m->kmax = k < 1 ? 1 : k;
    if (m->kmax > m->sc->steps)
        m->kmax = m->sc->steps ? m->sc->steps : 1;
    for (size_t i = 0; i < m->n_mon; ++i)
        m->mon[i].max_samples = m->kmax / m->mon[i].period + 1;
}

void tb_mass_free_labels(char **labels, size_t n)
{
    for (size_t i = 0; labels && i < n; ++i)
        free(labels[i]);
    free(labels);
}

tb_status tb_mass_read_gain(const tb_scenario_monitor *s, size_t N, double **gain, size_t *sensors, char ***labels,
                            tb_error *err)
{
    size_t dims[2];
    int rank;
    *labels = NULL;
    tb_status st = tb_h5_read_doubles(s->gain_file, s->gain_dataset, gain, dims, &rank, err);
    if (st == TB_OK && (rank != 2 || dims[1] != N))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s must be [sensors, %zu regions], not [%zu, %zu]", s->gain_file,
                          s->gain_dataset, N, dims[0], dims[1]);
    else if (st == TB_OK && dims[0] == 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s has 0 sensors (rows); an eeg monitor needs at least one",
                          s->gain_file, s->gain_dataset);
    if (st == TB_OK) {
        *sensors = dims[0];
        char *items = tb_asprintf("%s has %zu sensors (rows)", s->gain_dataset, dims[0]);
        st = tb_h5_read_labels(s->gain_file, "/labels", dims[0], items, labels, err);
        free(items);
    }
    if (st != TB_OK) {
        free(*gain);
        *gain = NULL;
    }
    return st;
}

/* Pearson r against an FC that is the same for every pair divides by its
 * zero variance: every score would be NaN, so such a file is refused. */
static bool upper_constant(const double *fc, size_t N)
{
    for (size_t i = 0; i < N; ++i)
        for (size_t j = i + 1; j < N; ++j)
            if (fc[i * N + j] != fc[1])
                return false;
    return true;
}

tb_status tb_mass_read_empirical(const tb_scenario_monitor *s, size_t N, double **fc, tb_error *err)
{
    size_t dims[2];
    int rank;
    tb_status st = tb_h5_read_doubles(s->empirical_file, s->empirical_dataset, fc, dims, &rank, err);
    if (st == TB_OK && (rank != 2 || dims[0] != N || dims[1] != N))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s must be [%zu, %zu] (regions x regions), not [%zu, %zu]",
                          s->empirical_file, s->empirical_dataset, N, N, dims[0], dims[1]);
    else if (st == TB_OK && N < 3)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s: with %zu regions there are too few pairs for a Pearson r",
                          s->empirical_file, s->empirical_dataset, N);
    else if (st == TB_OK && upper_constant(*fc, N))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s is constant above the diagonal (every pair %g), so the Pearson "
                          "r of a simulated FC with it is undefined; give a measured FC, or no empirical", s->empirical_file,
                          s->empirical_dataset, (*fc)[1]);
    if (st != TB_OK) {
        free(*fc);
        *fc = NULL;
    }
    return st;
}

tb_status tb_mass_check_monitor_inputs(const tb_mass_scenario *ms, size_t N, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < ms->n_monitors; ++i) {
        const tb_scenario_monitor *s = &ms->monitors[i];
        double *data = NULL;
        size_t sensors = 0;
        char **labels = NULL;
        if (s->kind == TB_MONITOR_EEG && (st = tb_mass_read_gain(s, N, &data, &sensors, &labels, err)) == TB_OK)
            tb_mass_free_labels(labels, sensors);
        else if (s->kind == TB_MONITOR_FC && s->empirical_file)
            st = tb_mass_read_empirical(s, N, &data, err);
        free(data);
    }
    return st;
}

static tb_status read_gain(mass *m, monitor_rt *r, tb_error *err)
{
    double *g = NULL;
    tb_status st = tb_mass_read_gain(r->spec, m->N, &g, &r->sensors, &r->sensor_labels, err);
    if (st == TB_OK) {
        r->width = r->sensors;
        void *gr = tb_mass_to_real(g, r->sensors * m->N, m->realsz);
        r->gain = gr ? tb_device_alloc(m->dev, r->sensors * m->N * m->realsz, gr, "EEG gain matrix", err) : NULL;
        free(gr);
        if (!r->gain)
            st = err && err->status ? err->status : TB_ERR_OTHER;
    }
    free(g);
    return st;
}

static tb_status read_empirical(mass *m, monitor_rt *r, tb_error *err)
{
    return tb_mass_read_empirical(r->spec, m->N, &r->empirical, err);
}

static cl_mem alloc_zeroed(mass *m, size_t n, const char *what, tb_error *err)
{
    double *z = calloc(n ? n : 1, sizeof *z);
    void *zr = z ? tb_mass_to_real(z, n ? n : 1, m->realsz) : NULL;
    cl_mem b = zr ? tb_device_alloc(m->dev, (n ? n : 1) * m->realsz, zr, what, err) : NULL;
    if (!zr)
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
    free(z);
    free(zr);
    return b;
}

/* Balloon states start at rest: s = 0, f = v = q = 1 (with lanes each
 * value is repeated across the lanes of a block). */
static cl_mem alloc_acc(mass *m, monitor_rt *r, tb_error *err)
{
    size_t n = m->Bp * m->Np * acc_per_region(r);
    if (r->spec->kind != TB_MONITOR_BOLD)
        return alloc_zeroed(m, n, "monitor accumulator", err);
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; x && i < n; ++i)
        x[i] = (i / m->lanes) % 4 == 0 ? 0.0 : 1.0;
    void *xr = x ? tb_mass_to_real(x, n, m->realsz) : NULL;
    cl_mem b = xr ? tb_device_alloc(m->dev, n * m->realsz, xr, "BOLD state", err) : NULL;
    free(x);
    free(xr);
    return b;
}

static tb_status fail_or(tb_error *err, tb_status fallback)
{
    return err && err->status ? err->status : fallback;
}

tb_status tb_mass_alloc_monitors(mass *m, tb_error *err)
{
    for (size_t i = 0; i < m->n_mon; ++i) {
        monitor_rt *r = &m->mon[i];
        tb_status st = TB_OK;
        if (r->spec->kind == TB_MONITOR_EEG && (st = read_gain(m, r, err)) != TB_OK)
            return st;
        if (r->spec->kind == TB_MONITOR_FC) {
            if (r->spec->empirical_file && (st = read_empirical(m, r, err)) != TB_OK)
                return st;
            size_t nn = m->B * m->N * m->N;
            r->fc_sum = alloc_zeroed(m, m->B * m->N, "FC sums", err);
            r->fc_prod = r->fc_sum ? alloc_zeroed(m, nn, "FC products", err) : NULL;
            r->fc = r->fc_prod ? alloc_zeroed(m, nn, "FC matrix", err) : NULL;
            r->host[0] = malloc(nn * m->realsz);
            if (!r->fc || !r->host[0])
                return fail_or(err, tb_error_set(err, TB_ERR_OTHER, "out of memory for the FC of %zu instances",
                                                 m->B));
            continue;
        }
        r->acc = alloc_acc(m, r, err);
        if (!r->acc)
            return fail_or(err, TB_ERR_OTHER);
        size_t region_out = r->max_samples * m->B * m->N * r->nv;
        size_t file_out = r->max_samples * m->B * r->width;
        for (int k = 0; k < 2; ++k) {
            r->out[k] = tb_device_alloc(m->dev, region_out * m->realsz, NULL, "monitor output", err);
            if (r->out[k] && r->spec->kind == TB_MONITOR_EEG)
                r->proj[k] = tb_device_alloc(m->dev, file_out * m->realsz, NULL, "EEG output", err);
            r->host[k] = malloc(file_out * m->realsz);
            if (!r->out[k] || (r->spec->kind == TB_MONITOR_EEG && !r->proj[k]) || !r->host[k])
                return fail_or(err, tb_error_set(err, TB_ERR_OTHER, "out of memory"));
        }
    }
    return TB_OK;
}

tb_status tb_mass_monitor_kernels(mass *m, tb_error *err)
{
    bool eeg = false, fc = false;
    for (size_t i = 0; i < m->n_mon; ++i) {
        eeg |= m->mon[i].spec->kind == TB_MONITOR_EEG;
        fc |= m->mon[i].spec->kind == TB_MONITOR_FC;
    }
    if (eeg && !(m->k_eeg = tb_program_kernel(m->prog, "tb_eeg_project", err)))
        return fail_or(err, TB_ERR_DEVICE);
    if (fc && !(m->k_fc_acc = tb_program_kernel(m->prog, "tb_fc_accumulate", err)))
        return fail_or(err, TB_ERR_DEVICE);
    if (fc && !(m->k_fc_fin = tb_program_kernel(m->prog, "tb_fc_finalize", err)))
        return fail_or(err, TB_ERR_DEVICE);
    return TB_OK;
}

/* ------------------------------------------------------------ code */

/* The accumulator of monitor i for this region: acc_per_region values, each
 * TB_LANES wide (with lanes the instances of a block sit side by side). */
static void gen_acc(const mass *m, const monitor_rt *r, size_t i, tb_buf *b)
{
    if (m->region_lanes) /* a block of 8 regions of one instance */
        tb_buf_printf(b, "        __global tb_scalar *a = macc%zu + ((long)b * (N / TB_LANES) + n / TB_LANES) * %zu * TB_LANES;\n",
                      i, acc_per_region(r));
    else /* a block of instances (TB_LANES of them, or 1) at one region */
        tb_buf_printf(b, "        __global tb_scalar *a = macc%zu + ((long)(b / TB_LANES) * N + n) * %zu * TB_LANES;\n", i,
                      acc_per_region(r));
}

#define ACC "(a + %zu * TB_LANES)"

static void gen_bold(const monitor_rt *r, tb_buf *b)
{
    const tb_bold_params *p = &r->spec->bold;
    tb_buf_puts(b, "        const tb_scalar h = dt * (tb_scalar)0.001; /* the balloon's constants are in seconds */\n");
    for (size_t k = 0; k < r->nv; ++k) {
        tb_buf_printf(b, "        {\n            const real z = (tb_scalar)%.17g * x[%zu];\n", p->scale,
                      r->spec->variables[k]);
        tb_buf_printf(b,
                      "            const real s = TB_LD(" ACC "), f = TB_LD(" ACC "), v = TB_LD(" ACC "), "
                      "q = TB_LD(" ACC ");\n",
                      4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3);
        /* pow(x, y) as exp(y log x): the constant base's log is folded in,
         * and exp and log cost a fraction of a general pow */
        tb_buf_printf(b, "            const real iv = exp(log(v) * (tb_scalar)%.17g);\n", 1.0 / p->alpha);
        tb_buf_printf(b,
                      "            const real dq = (f * ((tb_scalar)1 - exp((tb_scalar)%.17g / f)) / (tb_scalar)%.17g"
                      " - iv * q / v) / (tb_scalar)%.17g;\n",
                      log(1.0 - p->E0), p->E0, p->tau);
        tb_buf_printf(b,
                      "            TB_ST(s + h * (z - (tb_scalar)%.17g * s - (tb_scalar)%.17g * (f - (tb_scalar)1)), "
                      ACC ");\n",
                      p->kappa, p->gamma, 4 * k);
        tb_buf_printf(b, "            TB_ST(f + h * s, " ACC ");\n", 4 * k + 1);
        tb_buf_printf(b, "            TB_ST(v + h * (f - iv) / (tb_scalar)%.17g, " ACC ");\n", p->tau, 4 * k + 2);
        tb_buf_printf(b, "            TB_ST(q + h * dq, " ACC ");\n        }\n", 4 * k + 3);
    }
}

/* A sample of one value per variable, written for each instance (lane) of
 * the block that exists, in the file's layout [S][B][N][V]. */
static void gen_sample(const mass *m, const monitor_rt *r, size_t i, tb_buf *b, bool avg)
{
    const tb_bold_params *p = &r->spec->bold;
    unsigned long long P = (unsigned long long)r->period;
    tb_buf_printf(b, "        if (tn %% %llu == 0) {\n", P);
    tb_buf_printf(b, "            const long s = tn / %llu - 1 - step0 / %llu;\n", P, P);
    tb_buf_puts(b, "            tb_scalar lane[TB_LANES];\n");
    for (size_t k = 0; k < r->nv; ++k) {
        if (r->spec->kind == TB_MONITOR_BOLD) {
            tb_buf_printf(b, "            {\n                const real v = TB_LD(" ACC "), q = TB_LD(" ACC ");\n",
                          4 * k + 2, 4 * k + 3);
            tb_buf_printf(b,
                          "                TB_ST((tb_scalar)%.17g * ((tb_scalar)%.17g * ((tb_scalar)1 - q) + "
                          "(tb_scalar)%.17g * ((tb_scalar)1 - q / v) + (tb_scalar)%.17g * ((tb_scalar)1 - v)), lane);\n"
                          "            }\n",
                          p->V0, p->k1, p->k2, p->k3);
        } else if (avg) {
            tb_buf_printf(b, "            TB_ST(TB_LD(" ACC ") / (tb_scalar)%llu, lane);\n", k, P);
            tb_buf_printf(b, "            TB_ST((real)0, " ACC ");\n", k);
        } else {
            tb_buf_printf(b, "            TB_ST(x[%zu], lane);\n", r->spec->variables[k]);
        }
        if (m->region_lanes) /* lanes are regions; the padding regions are not written */
            tb_buf_printf(b,
                          "            for (int l = 0; l < TB_LANES && n + l < Nout; ++l)\n"
                          "                mout%zu[((s * B + b) * (long)Nout + n + l) * %zu + %zu] = lane[l];\n",
                          i, r->nv, k);
        else
            tb_buf_printf(b,
                          "            for (int l = 0; l < TB_LANES && b + l < B; ++l)\n"
                          "                mout%zu[((s * B + b + l) * (long)Nout + n) * %zu + %zu] = lane[l];\n",
                          i, r->nv, k);
    }
    tb_buf_puts(b, "        }\n");
}

/* tb_monitors(): what the step kernel does for each monitor after a step
 * (x is the new state, tn the number of steps done, B the instances in the
 * file). */
void tb_mass_gen_monitors(const mass *m, tb_buf *b)
{
    tb_buf_puts(b, "#define TB_MONITOR_ARGS");
    for (size_t i = 0; i < m->n_mon; ++i)
        if (in_kernel(&m->mon[i]))
            tb_buf_printf(b, " , __global tb_scalar *macc%zu, __global tb_scalar *mout%zu", i, i);
    tb_buf_puts(b, "\n#define TB_MONITOR_PASS ");
    for (size_t i = 0; i < m->n_mon; ++i)
        if (in_kernel(&m->mon[i]))
            tb_buf_printf(b, "macc%zu, mout%zu, ", i, i);
    tb_buf_puts(b, "\n\ninline void tb_monitors(");
    for (size_t i = 0; i < m->n_mon; ++i)
        if (in_kernel(&m->mon[i]))
            tb_buf_printf(b, "__global tb_scalar *macc%zu, __global tb_scalar *mout%zu, ", i, i);
    tb_buf_puts(b, "const real *x, long tn, long step0,\n                        int b, int B, int N, int Nout, "
                   "int n, tb_scalar dt)\n{\n");
    for (size_t i = 0; i < m->n_mon; ++i) {
        const monitor_rt *r = &m->mon[i];
        tb_monitor_kind kind = r->spec->kind;
        if (!in_kernel(r))
            continue;
        bool avg = (kind == TB_MONITOR_TEMPORAL_AVERAGE || kind == TB_MONITOR_EEG) && r->period > 1;
        tb_buf_printf(b, "    { /* monitor '%s': %s every %llu steps */\n", r->spec->name, tb_monitor_kind_name(kind),
                      (unsigned long long)r->period);
        if (kind == TB_MONITOR_BOLD || avg)
            gen_acc(m, r, i, b);
        if (kind == TB_MONITOR_BOLD)
            gen_bold(r, b);
        else if (avg)
            for (size_t k = 0; k < r->nv; ++k)
                tb_buf_printf(b, "        TB_ST(TB_LD(" ACC ") + x[%zu], " ACC ");\n", k, r->spec->variables[k], k);
        gen_sample(m, r, i, b, avg);
        tb_buf_puts(b, "    }\n");
    }
    tb_buf_puts(b, "}\n\n");
}

/* ------------------------------------------------------------ output */

static const char *time_convention(tb_monitor_kind k)
{
    switch (k) {
    case TB_MONITOR_TEMPORAL_AVERAGE:
        return "time[k] is the end of the averaging window (t - period, t]";
    case TB_MONITOR_EEG:
        return "time[k] is the end of the window (t - period, t] whose regional average is projected";
    case TB_MONITOR_FC:
        return "time[0] is the end of the correlation window";
    case TB_MONITOR_BOLD:
        return "time[k] is the time of the BOLD signal sampled (Balloon-Windkessel integrated every step)";
    default:
        return "time[k] is the time of the sampled state";
    }
}

static tb_status declare_one(mass *m, monitor_rt *r, tb_output *out, tb_error *err)
{
    tb_dtype dt = m->realsz == sizeof(double) ? TB_F64 : TB_F32;
    const tb_scenario_monitor *s = r->spec;
    char *data = tb_asprintf("/monitors/%s/data", s->name);
    char *time = tb_asprintf("/monitors/%s/time", s->name);
    uint64_t dims[3] = {m->B, m->N, r->nv};
    if (s->kind == TB_MONITOR_EEG)
        dims[1] = r->sensors, dims[2] = 1;
    if (s->kind == TB_MONITOR_FC)
        dims[2] = m->N;
    size_t nv = s->kind == TB_MONITOR_FC ? 1 : s->n_variables;
    const char **vars = calloc(nv + 1, sizeof *vars), **units = calloc(nv + 1, sizeof *units);
    const tb_scenario_monitor *src = s->kind == TB_MONITOR_FC ? &m->ms->monitors[s->source] : s;
    for (size_t k = 0; k < nv; ++k) {
        const tb_mass_var *v = &m->model->vars[src->variables[s->kind == TB_MONITOR_FC ? s->source_variable : k]];
        vars[k] = v->name;
        units[k] = s->kind == TB_MONITOR_BOLD || s->kind == TB_MONITOR_FC ? "" : v->unit ? v->unit : "";
    }
    tb_status st = tb_output_dataset_create(out, data, dt, 4, dims, s->kind == TB_MONITOR_FC ? 1 : r->max_samples,
                                            &r->data, err);
    if (st == TB_OK)
        st = tb_output_dataset_create(out, time, TB_F64, 1, NULL, 4096, &r->time, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, data, "kind", tb_monitor_kind_name(s->kind), err);
    if (st == TB_OK)
        st = tb_output_attr_double(out, data, "period_ms", s->period, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, data, "variables", vars, nv, err);
    if (st == TB_OK)
        st = tb_output_attr_strings(out, data, "units", units, nv, err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, time, "units", "ms", err);
    if (st == TB_OK)
        st = tb_output_attr_string(out, data, "time_convention", time_convention(s->kind), err);
    if (st == TB_OK && s->kind == TB_MONITOR_EEG) {
        st = tb_output_attr_string(out, data, "gain", s->gain_file, err);
        if (st == TB_OK && r->sensor_labels) {
            char *lab = tb_asprintf("/monitors/%s/sensor_labels", s->name);
            st = tb_output_write_strings(out, lab, (const char *const *)r->sensor_labels, r->sensors, err);
            free(lab);
        }
    }
    if (st == TB_OK && s->kind == TB_MONITOR_FC) {
        st = tb_output_attr_string(out, data, "source", m->ms->monitors[s->source].name, err);
        if (st == TB_OK)
            st = tb_output_attr_double(out, data, "window_start_ms", s->start, err);
        if (st == TB_OK)
            st = tb_output_attr_double(out, data, "window_end_ms", s->end, err);
        if (st == TB_OK && r->empirical) {
            char *score = tb_asprintf("/monitors/%s/score", s->name);
            uint64_t sd[1] = {m->B};
            st = tb_output_dataset_create(out, score, TB_F64, 2, sd, 1, &r->score_ds, err);
            if (st == TB_OK)
                st = tb_output_attr_string(out, score, "meaning",
                                           "Pearson r between the upper triangles of the simulated and the "
                                           "empirical FC, per instance",
                                           err);
            if (st == TB_OK)
                st = tb_output_attr_string(out, score, "empirical", s->empirical_file, err);
            free(score);
        }
    }
    free(vars);
    free(units);
    free(data);
    free(time);
    return st;
}

tb_status tb_mass_declare_monitors(mass *m, tb_output *out, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < m->n_mon; ++i)
        st = declare_one(m, &m->mon[i], out, err);
    return st;
}

/* ------------------------------------------------------------ after a chunk */

static tb_status project_eeg(mass *m, monitor_rt *r, int buf, uint64_t s, tb_error *err)
{
    cl_int S = (cl_int)s, B = (cl_int)m->B, N = (cl_int)m->N, E = (cl_int)r->sensors;
    cl_int rc = clSetKernelArg(m->k_eeg, 0, sizeof(cl_mem), &r->out[buf]);
    rc |= clSetKernelArg(m->k_eeg, 1, sizeof(cl_mem), &r->gain);
    rc |= clSetKernelArg(m->k_eeg, 2, sizeof(cl_mem), &r->proj[buf]);
    rc |= clSetKernelArg(m->k_eeg, 3, sizeof S, &S);
    rc |= clSetKernelArg(m->k_eeg, 4, sizeof B, &B);
    rc |= clSetKernelArg(m->k_eeg, 5, sizeof N, &N);
    rc |= clSetKernelArg(m->k_eeg, 6, sizeof E, &E);
    size_t global = (size_t)S * m->B * r->sensors;
    if (rc == CL_SUCCESS)
        rc = enqueue(m, m->k_eeg, global, "tb_eeg_project");
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "projecting the EEG");
}

/* The samples of the source in this chunk whose time lies in (start, end]. */
static tb_status accumulate_fc(mass *m, monitor_rt *r, int buf, uint64_t step0, uint64_t n, tb_error *err)
{
    const monitor_rt *src = &m->mon[r->spec->source];
    uint64_t first = step0 / src->period; /* global index of the chunk's first sample */
    uint64_t count = tb_mass_samples_in(step0, n, src->period);
    cl_int s0 = -1, s1 = -1;
    for (uint64_t s = 0; s < count; ++s) {
        double t = (double)((first + s + 1) * src->period) * m->sc->dt;
        if (t > r->spec->start + 1e-9 * m->sc->dt && t <= r->spec->end + 1e-9 * m->sc->dt) {
            if (s0 < 0)
                s0 = (cl_int)s;
            s1 = (cl_int)s + 1;
        }
    }
    if (s0 < 0)
        return TB_OK;
    r->fc_count += (uint64_t)(s1 - s0);
    cl_int V = (cl_int)src->nv, k = (cl_int)r->spec->source_variable, B = (cl_int)m->B, N = (cl_int)m->N;
    cl_int rc = clSetKernelArg(m->k_fc_acc, 0, sizeof(cl_mem), &src->out[buf]);
    rc |= clSetKernelArg(m->k_fc_acc, 1, sizeof s0, &s0);
    rc |= clSetKernelArg(m->k_fc_acc, 2, sizeof s1, &s1);
    rc |= clSetKernelArg(m->k_fc_acc, 3, sizeof V, &V);
    rc |= clSetKernelArg(m->k_fc_acc, 4, sizeof k, &k);
    rc |= clSetKernelArg(m->k_fc_acc, 5, sizeof B, &B);
    rc |= clSetKernelArg(m->k_fc_acc, 6, sizeof N, &N);
    rc |= clSetKernelArg(m->k_fc_acc, 7, sizeof(cl_mem), &r->fc_sum);
    rc |= clSetKernelArg(m->k_fc_acc, 8, sizeof(cl_mem), &r->fc_prod);
    size_t global = m->B * m->N;
    if (rc == CL_SUCCESS)
        rc = enqueue(m, m->k_fc_acc, global, "tb_fc_accumulate");
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "accumulating the FC");
}

/* Queue what follows the step kernel of a chunk, then the reads of
 * everything that goes to the file. */
tb_status tb_mass_after_chunk(mass *m, int buf, uint64_t step0, uint64_t n, tb_error *err)
{
    cl_command_queue q = tb_device_queue(m->dev);
    for (size_t i = 0; i < m->n_mon; ++i) {
        monitor_rt *r = &m->mon[i];
        tb_status st = TB_OK;
        uint64_t s = tb_mass_samples_in(step0, n, r->period);
        if (r->spec->kind == TB_MONITOR_FC) {
            if ((st = accumulate_fc(m, r, buf, step0, n, err)) != TB_OK)
                return st;
            continue;
        }
        if (s == 0)
            continue;
        if (r->spec->kind == TB_MONITOR_EEG && (st = project_eeg(m, r, buf, s, err)) != TB_OK)
            return st;
        cl_mem from = r->spec->kind == TB_MONITOR_EEG ? r->proj[buf] : r->out[buf];
        tb_profile *prof = tb_device_profile(m->dev);
        cl_event ev;
        cl_int rc = clEnqueueReadBuffer(q, from, CL_FALSE, 0, s * m->B * r->width * m->realsz, r->host[buf], 0, NULL,
                                        tb_profile_event_slot(prof, &ev));
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "reading monitor output");
        tb_profile_command(prof, "read monitors", ev);
        if (ev)
            clReleaseEvent(ev);
    }
    return TB_OK;
}

tb_status tb_mass_append_monitors(mass *m, const tb_chunk *p, tb_error *err)
{
    for (size_t i = 0; i < m->n_mon; ++i) {
        monitor_rt *r = &m->mon[i];
        uint64_t s = tb_mass_samples_in(p->step0, p->n, r->period);
        if (s == 0 || r->spec->kind == TB_MONITOR_FC)
            continue;
        double *times = malloc(s * sizeof *times);
        uint64_t first = p->step0 / r->period + 1;
        for (uint64_t k = 0; times && k < s; ++k)
            times[k] = (double)((first + k) * r->period) * m->sc->dt;
        tb_status st = times ? tb_output_dataset_append(r->data, r->host[p->buf], s, err)
                             : tb_error_set(err, TB_ERR_OTHER, "out of memory");
        if (st == TB_OK)
            st = tb_output_dataset_append(r->time, times, s, err);
        free(times);
        if (st != TB_OK)
            return st;
        m->samples += s;
    }
    return TB_OK;
}

/* ------------------------------------------------------------ the end */

/* Pearson r of the upper triangles (i < j): how alike two FC matrices are,
 * the usual fit of a whole-brain model to a subject. */
static double fc_score(const mass *m, const void *fc, size_t b, const double *emp)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    size_t n = 0, N = m->N;
    for (size_t i = 0; i < N; ++i)
        for (size_t j = i + 1; j < N; ++j, ++n) {
            double x = tb_mass_real_at(fc, (b * N + i) * N + j, m->realsz), y = emp[i * N + j];
            sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
        }
    double cov = sxy / (double)n - sx / (double)n * sy / (double)n;
    double vx = sxx / (double)n - sx * sx / ((double)n * (double)n);
    double vy = syy / (double)n - sy * sy / ((double)n * (double)n);
    return vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : NAN;
}

static tb_status finish_fc(mass *m, monitor_rt *r, tb_error *err)
{
    if (r->fc_count < 2)
        return TB_OK; /* an interrupted run may end before the window has two samples */
    cl_command_queue q = tb_device_queue(m->dev);
    cl_int B = (cl_int)m->B, N = (cl_int)m->N;
    cl_int rc;
    if (m->realsz == sizeof(double)) {
        double cnt = (double)r->fc_count;
        rc = clSetKernelArg(m->k_fc_fin, 2, sizeof cnt, &cnt);
    } else {
        float cnt = (float)r->fc_count;
        rc = clSetKernelArg(m->k_fc_fin, 2, sizeof cnt, &cnt);
    }
    rc |= clSetKernelArg(m->k_fc_fin, 0, sizeof(cl_mem), &r->fc_sum);
    rc |= clSetKernelArg(m->k_fc_fin, 1, sizeof(cl_mem), &r->fc_prod);
    rc |= clSetKernelArg(m->k_fc_fin, 3, sizeof B, &B);
    rc |= clSetKernelArg(m->k_fc_fin, 4, sizeof N, &N);
    rc |= clSetKernelArg(m->k_fc_fin, 5, sizeof(cl_mem), &r->fc);
    size_t global = m->B * m->N * m->N;
    if (rc == CL_SUCCESS)
        rc = enqueue(m, m->k_fc_fin, global, "tb_fc_finalize");
    if (rc == CL_SUCCESS)
        rc = clEnqueueReadBuffer(q, r->fc, CL_TRUE, 0, global * m->realsz, r->host[0], 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "computing the FC");
    double t = r->spec->end;
    tb_status st = tb_output_dataset_append(r->data, r->host[0], 1, err);
    if (st == TB_OK)
        st = tb_output_dataset_append(r->time, &t, 1, err);
    if (st == TB_OK && r->empirical) {
        r->score = malloc(m->B * sizeof *r->score);
        for (size_t b = 0; r->score && b < m->B; ++b)
            r->score[b] = fc_score(m, r->host[0], b, r->empirical);
        st = r->score ? tb_output_dataset_append(r->score_ds, r->score, 1, err)
                      : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    return st;
}

tb_status tb_mass_finish_monitors(mass *m, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < m->n_mon; ++i)
        if (m->mon[i].spec->kind == TB_MONITOR_FC)
            st = finish_fc(m, &m->mon[i], err);
    return st;
}

/* Time of the first sample of the chunk in which any monitor holds a
 * non-finite value (the state is only checked at chunk ends). */
double tb_mass_first_bad_sample(const mass *m, const tb_chunk *p, const char **which)
{
    double best = INFINITY;
    for (size_t i = 0; i < m->n_mon; ++i) {
        const monitor_rt *r = &m->mon[i];
        if (r->spec->kind == TB_MONITOR_FC)
            continue;
        uint64_t s = tb_mass_samples_in(p->step0, p->n, r->period);
        size_t row = m->B * r->width;
        for (uint64_t k = 0; k < s; ++k) {
            size_t j = 0;
            while (j < row && isfinite(tb_mass_real_at(r->host[p->buf], k * row + j, m->realsz)))
                ++j;
            if (j == row)
                continue;
            double t = (double)((p->step0 / r->period + 1 + k) * r->period) * m->sc->dt;
            if (t < best) {
                best = t;
                *which = r->spec->name;
            }
            break;
        }
    }
    return best;
}

static void release(cl_mem *b)
{
    if (*b)
        clReleaseMemObject(*b);
    *b = NULL;
}

void tb_mass_free_monitors(mass *m)
{
    for (size_t i = 0; m->mon && i < m->n_mon; ++i) {
        monitor_rt *r = &m->mon[i];
        release(&r->acc);
        release(&r->gain);
        release(&r->fc_sum);
        release(&r->fc_prod);
        release(&r->fc);
        for (int k = 0; k < 2; ++k) {
            release(&r->out[k]);
            release(&r->proj[k]);
            free(r->host[k]);
        }
        tb_mass_free_labels(r->sensor_labels, r->sensors);
        free(r->empirical);
        free(r->score);
    }
    free(m->mon);
    if (m->k_eeg)
        clReleaseKernel(m->k_eeg);
    if (m->k_fc_acc)
        clReleaseKernel(m->k_fc_acc);
    if (m->k_fc_fin)
        clReleaseKernel(m->k_fc_fin);
}
