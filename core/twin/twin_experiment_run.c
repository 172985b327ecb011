/* Running [[experiment]]s (twin_experiment.h): stimuli drawn by
 * kernels/twin_experiment.cl into the network's frame input, batches of
 * twin.batch stimuli, responses read back per frame; the kinds reduce them
 * to their per-unit measures (twin_tuning.c, twin_rf.c, twin_size.c,
 * twin_response_to.c). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_exec.h"
#include "twin_experiment_run.h"
#include "util.h"

cl_int tw_xrun_arg(tw_xrun *r, cl_uint i, size_t size, const void *v)
{
    return clSetKernelArg(r->k, i, size, v);
}

cl_int tw_xrun_arg_real(tw_xrun *r, cl_uint i, double v)
{
    float f = (float)v;
    return r->rs == sizeof(double) ? tw_xrun_arg(r, i, sizeof v, &v) : tw_xrun_arg(r, i, sizeof f, &f);
}

double tw_xrun_at(const tw_xrun *r, size_t frame, size_t b, size_t u)
{
    size_t i = (frame * r->B + b) * r->t->units + u;
    return r->rs == sizeof(double) ? ((double *)r->host)[i] : ((float *)r->host)[i];
}

tb_status tw_exp_check_stop(const tw_exp_target *t, const char *name, tb_error *err)
{
    if (!t->stop || !*t->stop)
        return TB_OK;
    return tb_error_set(err, TB_ERR_INTERRUPTED, "interrupted during experiment '%s'", name);
}

/* Enqueue one frame through the network; its response lands in the host
 * buffer at row `slot` when slot >= 0. */
tb_status tw_xrun_frame(tw_xrun *r, long slot, tb_error *err)
{
    const tw_exp_target *t = r->t;
    tb_status stopped = tw_exp_check_stop(t, r->e->name, err);
    if (stopped)
        return stopped;
    cl_command_queue q = tb_device_queue(t->dev);
    size_t gs[2] = {t->H * t->W, r->B};
    cl_int rc = clEnqueueNDRangeKernel(q, r->k, 2, NULL, gs, NULL, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "drawing an experiment's stimuli");
    tb_status st = tw_exec_run(t->x, err);
    if (st || slot < 0)
        return st;
    return tw_exec_read_output(t->x, t->out_k, r->host + (size_t)slot * r->B * t->units * r->rs, NULL, err);
}

tb_status tw_xrun_finish(tw_xrun *r, tb_error *err)
{
    cl_int rc = clFinish(tb_device_queue(r->t->dev));
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "running an experiment");
}

tb_status tw_xrun_check_finite(const tw_xrun *r, size_t frames, size_t active, tb_error *err)
{
    for (size_t f = 0; f < frames; ++f)
        for (size_t b = 0; b < active; ++b)
            for (size_t u = 0; u < r->t->units; ++u) {
                double v = tw_xrun_at(r, f, b, u);
                if (!isfinite(v))
                    return tb_error_set(err, TB_ERR_DIVERGED,
                                        "experiment '%s': the twin's response is %g (instance %zu, unit %zu, output "
                                        "'%s')",
                                        r->e->name, v, b, u, r->t->output_name);
            }
    return TB_OK;
}

tb_status tw_xrun_write(tw_xrun *r, tb_output *out, const char *leaf, tb_dtype type, int rank, const uint64_t *dims,
                        const void *data, tb_error *err)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", r->group, leaf);
    return tb_output_write_array(out, path, type, rank, dims, data, err);
}

/* Run `active` conditions (their np parameters per instance in pv, doubles)
 * from the zero state through burn_in + window frames; mean[b][u] gets
 * each instance's mean response over the window. */
tb_status tw_xrun_gratings(tw_xrun *r, cl_mem params, const double *pv, size_t np, size_t active, double *mean,
                           tb_error *err)
{
    const tw_experiment *e = r->e;
    size_t units = r->t->units;
    char *dev = calloc(r->B * np, r->rs);
    if (!dev)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t j = 0; j < active * np; ++j) {
        if (r->rs == sizeof(double))
            ((double *)dev)[j] = pv[j];
        else
            ((float *)dev)[j] = (float)pv[j];
    }
    cl_command_queue q = tb_device_queue(r->t->dev);
    cl_int rc = clEnqueueWriteBuffer(q, params, CL_TRUE, 0, r->B * np * r->rs, dev, 0, NULL, NULL);
    free(dev);
    tb_status st = rc == CL_SUCCESS ? tw_exec_reset_state(r->t->x, err) : tb_cl_fail(err, rc, "uploading gratings");
    for (uint64_t f = 0; st == TB_OK && f < e->burn_in + e->window; ++f) {
        cl_long t = (cl_long)f;
        rc = tw_xrun_arg(r, 5, sizeof t, &t);
        st = rc == CL_SUCCESS ? tw_xrun_frame(r, f >= e->burn_in ? (long)(f - e->burn_in) : -1, err)
                              : tb_cl_fail(err, rc, "setting a grating's frame");
    }
    st = st ? st : tw_xrun_finish(r, err);
    st = st ? st : tw_xrun_check_finite(r, e->window, active, err);
    r->frames += (double)(e->burn_in + e->window) * (double)active;
    for (size_t b = 0; st == TB_OK && b < active; ++b)
        for (size_t u = 0; u < units; ++u) {
            double s = 0;
            for (uint64_t f = 0; f < e->window; ++f)
                s += tw_xrun_at(r, f, b, u);
            mean[b * units + u] = s / (double)e->window;
        }
    return st;
}

/* The grating kernels' fixed arguments and a parameter buffer of np reals
 * per instance. */
tb_status tw_xrun_grating_setup(tw_xrun *r, size_t np, cl_mem *params, tb_error *err)
{
    cl_int rc = CL_SUCCESS;
    *params = clCreateBuffer(tb_device_context(r->t->dev), CL_MEM_READ_ONLY, r->B * np * r->rs, NULL, &rc);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "allocating grating parameters");
    r->host_frames = r->e->window;
    r->host = malloc(r->e->window * r->B * r->t->units * r->rs + 1);
    if (!r->host)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    cl_mem in = tw_exec_input_mem(r->t->x, r->t->in_k);
    cl_long xs = (cl_long)(r->t->H * r->t->W);
    cl_int H = (cl_int)r->t->H, W = (cl_int)r->t->W;
    rc = tw_xrun_arg(r, 0, sizeof in, &in) | tw_xrun_arg(r, 1, sizeof xs, &xs) | tw_xrun_arg(r, 2, sizeof H, &H) |
         tw_xrun_arg(r, 3, sizeof W, &W) | tw_xrun_arg(r, 4, sizeof *params, params) |
         tw_xrun_arg_real(r, 6, r->e->mean);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, CL_INVALID_KERNEL_ARGS, "setting the grating kernel");
}

/* ------------------------------------------------------------ entry */

static tb_status one(tw_xrun *r, tb_output *out, tb_error *err)
{
    const tw_experiment *e = r->e;
    snprintf(r->group, sizeof r->group, "/twin/experiments/%s", e->name);
    static const char *const kernel[] = {"tw_exp_grating", "tw_exp_sparse", "tw_exp_disc", "tw_exp_grating"};
    static const char *const kind[] = {"orientation_tuning", "receptive_field", "size_tuning", "response_to"};
    r->k = tb_program_kernel(r->prog, kernel[e->kind], err);
    if (!r->k)
        return err->status;
    tb_status st = e->kind == TW_EXP_RF         ? tw_receptive_field(r, out, err)
                   : e->kind == TW_EXP_SIZE     ? tw_size_tuning(r, out, err)
                   : e->kind == TW_EXP_RESPONSE ? tw_response_to_run(e, r->index, r->t, r->group, out, &r->frames, err)
                                                : tw_orientation_tuning(r, out, err);
    st = st ? st : tb_output_attr_string(out, r->group, "kind", kind[e->kind], err);
    st = st ? st : tb_output_attr_int(out, r->group, "burn_in", (int64_t)e->burn_in, err);
    st = st ? st : tb_output_attr_double(out, r->group, "mean", e->mean, err);
    st = st ? st : tb_output_attr_string(out, r->group, "output", r->t->output_name, err);
    /* Reads of responses into r->host are enqueued without waiting; a run
     * stopped (Ctrl-C) or failed between two clFinish calls leaves some in
     * flight, and freeing the buffer under them corrupted the heap. */
    clFinish(tb_device_queue(r->t->dev));
    clReleaseKernel(r->k);
    free(r->host);
    r->host = NULL;
    return st;
}

tb_status tw_experiments_run(const tw_experiments *x, const tw_exp_target *t, tb_output *out, double *frames,
                             tb_error *err)
{
    *frames = 0;
    if (x->n == 0)
        return TB_OK;
    tw_xrun r = {.t = t, .B = tw_exec_batch(t->x), .rs = tw_exec_real_size(t->x)};
    r.centre = calloc(x->n, sizeof *r.centre), r.dir = calloc(x->n, sizeof *r.dir);
    if (!r.centre || !r.dir) {
        free(r.centre), free(r.dir);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    const tb_program_part parts[] = {{.file = "twin_experiment.cl"}};
    char *src = tb_program_assemble(t->prec, parts, 1, err);
    tb_status st = src ? tb_program_build(t->dev, src, "", "twin experiments", &r.prog, err) : err->status;
    free(src);
    for (size_t i = 0; st == TB_OK && i < x->n; ++i) {
        r.e = &x->e[i], r.index = i;
        st = one(&r, out, err);
    }
    *frames = r.frames;
    for (size_t i = 0; i < x->n; ++i)
        free(r.centre[i]), free(r.dir[i]);
    free(r.centre);
    free(r.dir);
    tb_program_free(r.prog);
    tb_status z = tw_exec_reset_state(t->x, err);
    return st ? st : z;
}
