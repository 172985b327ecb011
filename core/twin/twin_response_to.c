/* The response_to experiment (twin_experiment.h): a stimulus set from
 * HDF5, [stimuli, frames, height, width], run twin.batch stimuli at a time
 * from the zero state; the responses [stimuli, frames, units] are what
 * `twinbrain twin score --predictions` reads. Its frames come from a file,
 * so they are uploaded rather than drawn on the device. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "twin_exec.h"
#include "twin_experiment.h"
#include "twinbrain/opencl.h"

typedef struct stimuli {
    double *v; /* [S][F][H][W], scaled */
    hsize_t d[4];
} stimuli;

/* Open the dataset, check its shape against H x W; with `v` read it too. */
static tb_status load(const tw_experiment *e, size_t i, size_t H, size_t W, stimuli *s, bool read, tb_error *err)
{
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(e->file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = f >= 0 && H5Lexists(f, e->dataset, H5P_DEFAULT) > 0 ? H5Dopen2(f, e->dataset, H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1, ty = ds >= 0 ? H5Dget_type(ds) : -1;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    const char *w = e->file_where ? e->file_where : "";
    tb_status st = TB_OK;
    if (f < 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%sexperiment[%zu].file: %s is not an HDF5 file", w, i, e->file);
    else if (ds < 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%sexperiment[%zu].file: %s has no dataset '%s' (experiment.dataset)", w,
                          i, e->file, e->dataset);
    else if (rank != 4 || H5Sget_simple_extent_dims(sp, s->d, NULL) < 0 || H5Tget_class(ty) == H5T_STRING)
        st = tb_error_set(err, TB_ERR_INPUT,
                          "%sexperiment[%zu].file: %s: %s must be numbers [stimuli, frames, height, "
                          "width]",
                          w, i, e->file, e->dataset);
    else if (s->d[2] != H || s->d[3] != W)
        st = tb_error_set(err, TB_ERR_INPUT,
                          "%sexperiment[%zu].file: %s: %s has frames of %llux%llu pixels; the "
                          "network takes %zux%zu",
                          w, i, e->file, e->dataset, (unsigned long long)s->d[2], (unsigned long long)s->d[3], H, W);
    else if (s->d[0] == 0 || s->d[1] == 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%sexperiment[%zu].file: %s: %s is empty", w, i, e->file, e->dataset);
    if (st == TB_OK && read) {
        size_t n = (size_t)(s->d[0] * s->d[1] * s->d[2] * s->d[3]);
        bool u8 = H5Tget_class(ty) == H5T_INTEGER && H5Tget_size(ty) == 1 && H5Tget_sign(ty) == H5T_SGN_NONE;
        double scale = isnan(e->scale) ? (u8 ? 1.0 / 255.0 : 1.0) : e->scale;
        s->v = malloc(n * sizeof *s->v);
        if (!s->v)
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory for %s", e->file);
        else if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->v) < 0)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: cannot read %s", e->file, e->dataset);
        for (size_t k = 0; st == TB_OK && k < n; ++k) {
            if (!isfinite(s->v[k]))
                st = tb_error_set(err, TB_ERR_INPUT, "%s: %s holds %g at stimulus %zu, frame %zu", e->file, e->dataset,
                                  s->v[k], k / (size_t)(s->d[1] * H * W), k / (H * W) % (size_t)s->d[1]);
            s->v[k] = s->v[k] * scale + e->offset;
        }
    }
    if (ty >= 0)
        H5Tclose(ty);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    return st;
}

tb_status tw_response_to_fit(const tw_experiment *e, size_t i, size_t H, size_t W, tb_error *err)
{
    stimuli s = {0};
    return e->file ? load(e, i, H, W, &s, false, err) : TB_OK;
}

/* Stimuli [k0, k0 + active) through all their frames; res gets [F][B][U]. */
static tb_status batch(const tw_exp_target *t, const char *name, const stimuli *s, size_t k0, size_t active,
                       char *stage, char *res, tb_error *err)
{
    size_t B = tw_exec_batch(t->x), rs = tw_exec_real_size(t->x), n = t->H * t->W, F = (size_t)s->d[1];
    tb_status st = tw_exp_check_stop(t, name, err);
    st = st ? st : tw_exec_reset_state(t->x, err);
    for (size_t f = 0; st == TB_OK && f < F; ++f) {
        char *in = stage + f * B * n * rs;
        for (size_t b = 0; b < B; ++b)
            for (size_t p = 0; p < n; ++p) {
                double v = b < active ? s->v[((k0 + b) * F + f) * n + p] : 0;
                if (rs == sizeof(double))
                    ((double *)in)[b * n + p] = v;
                else
                    ((float *)in)[b * n + p] = (float)v;
            }
        st = tw_exec_write_input(t->x, t->in_k, in, err);
        st = st ? st : tw_exec_run(t->x, err);
        st = st ? st : tw_exec_read_output(t->x, t->out_k, res + f * B * t->units * rs, NULL, err);
    }
    /* after an error too: reads into res may still be in flight */
    cl_int rc = clFinish(tb_device_queue(t->dev));
    return st ? st : rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "running response_to");
}

tb_status tw_response_to_run(const tw_experiment *e, size_t i, const tw_exp_target *t, const char *group,
                             tb_output *out, double *frames, tb_error *err)
{
    stimuli s = {0};
    tb_status st = load(e, i, t->H, t->W, &s, true, err);
    size_t B = tw_exec_batch(t->x), rs = tw_exec_real_size(t->x), U = t->units;
    size_t S = (size_t)s.d[0], F = (size_t)s.d[1];
    char *stage = st ? NULL : malloc(F * B * t->H * t->W * rs), *res = st ? NULL : malloc(F * B * U * rs + 1);
    double *resp = st ? NULL : malloc(S * F * U * sizeof *resp + 1);
    if (st == TB_OK && (!stage || !res || !resp))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory for experiment '%s'", e->name);
    for (size_t k0 = 0; st == TB_OK && k0 < S; k0 += B) {
        size_t active = S - k0 < B ? S - k0 : B;
        st = batch(t, e->name, &s, k0, active, stage, res, err);
        *frames += (double)(F * active);
        for (size_t f = 0; st == TB_OK && f < F; ++f)
            for (size_t b = 0; st == TB_OK && b < active; ++b)
                for (size_t u = 0; u < U; ++u) {
                    size_t at = (f * B + b) * U + u;
                    double v = rs == sizeof(double) ? ((double *)res)[at] : ((float *)res)[at];
                    if (!isfinite(v))
                        st = tb_error_set(err, TB_ERR_DIVERGED,
                                          "experiment '%s': the twin's response is %g "
                                          "(stimulus %zu, frame %zu, unit %zu)",
                                          e->name, v, k0 + b, f, u);
                    resp[((k0 + b) * F + f) * U + u] = v;
                }
    }
    char path[400];
    snprintf(path, sizeof path, "%s/responses", group);
    uint64_t d[3] = {S, F, U};
    st = st ? st : tb_output_write_array(out, path, TB_F64, 3, d, resp, err);
    st = st ? st : tb_output_attr_string(out, group, "file", e->file, err);
    st = st ? st : tb_output_attr_string(out, group, "dataset", e->dataset, err);
    free(s.v);
    free(stage);
    free(res);
    free(resp);
    return st;
}
