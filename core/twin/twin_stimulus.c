/* Stimuli of the twin kit (twin_stimulus.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "twin_stimulus.h"

static tb_status load_video(tw_stimulus *st, uint64_t steps, tb_error *err)
{
    const tw_scenario *s = st->s;
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(s->file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = f >= 0 && H5Lexists(f, s->dataset, H5P_DEFAULT) > 0 ? H5Dopen2(f, s->dataset, H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1, ty = ds >= 0 ? H5Dget_type(ds) : -1;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t d[4] = {0};
    tb_status rc = TB_OK;
    if (f < 0)
        rc = tb_error_set(err, TB_ERR_INPUT, "%s: cannot open as an HDF5 file (twin.input.file)", s->file);
    else if (ds < 0)
        rc = tb_error_set(err, TB_ERR_INPUT, "%s: no dataset '%s' (twin.input.dataset)", s->file, s->dataset);
    else if ((rank != 3 && rank != 4) || H5Sget_simple_extent_dims(sp, d, NULL) < 0 ||
             H5Tget_class(ty) == H5T_STRING)
        rc = tb_error_set(err, TB_ERR_INPUT, "%s: %s must be numbers [frames, height, width] or [frames, batch, "
                          "height, width]", s->file, s->dataset);
    st->per_instance = rank == 4;
    hsize_t h = d[rank - 2], w = d[rank - 1];
    if (rc == TB_OK && (h != st->H || w != st->W))
        rc = tb_error_set(err, TB_ERR_INPUT, "%s: %s has frames of %llux%llu pixels; the network takes %zux%zu", s->file,
                          s->dataset, (unsigned long long)h, (unsigned long long)w, st->H, st->W);
    if (rc == TB_OK && st->per_instance && d[1] != st->batch)
        rc = tb_error_set(err, TB_ERR_INPUT, "%s: %s has %llu stimuli per frame; twin.batch is %zu", s->file,
                          s->dataset, (unsigned long long)d[1], st->batch);
    if (rc == TB_OK && d[0] < steps)
        rc = tb_error_set(err, TB_ERR_INPUT, "%s: %s has %llu frames; the run needs %llu (simulation.duration / dt)",
                          s->file, s->dataset, (unsigned long long)d[0], (unsigned long long)steps);
    if (rc == TB_OK) {
        bool u8 = H5Tget_class(ty) == H5T_INTEGER && H5Tget_size(ty) == 1 && H5Tget_sign(ty) == H5T_SGN_NONE;
        double scale = isnan(s->scale) ? (u8 ? 1.0 / 255.0 : 1.0) : s->scale;
        size_t n = (size_t)(d[0] * (st->per_instance ? d[1] : 1) * h * w);
        st->frames = d[0];
        st->video = malloc((n ? n : 1) * sizeof *st->video);
        if (!st->video)
            rc = tb_error_set(err, TB_ERR_OTHER, "out of memory for the frames of %s", s->file);
        else if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, st->video) < 0)
            rc = tb_error_set(err, TB_ERR_INPUT, "%s: cannot read %s", s->file, s->dataset);
        for (size_t k = 0; rc == TB_OK && k < n; ++k)
            st->video[k] = st->video[k] * scale + s->offset;
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
    return rc;
}

tb_status tw_stimulus_open(tw_stimulus *st, const tw_scenario *s, size_t H, size_t W, uint64_t steps, tb_error *err)
{
    memset(st, 0, sizeof *st);
    st->s = s, st->H = H, st->W = W, st->batch = s->batch;
    tb_status rc = s->kind == TW_STIM_FILE ? load_video(st, steps, err) : TB_OK;
    if (rc)
        tw_stimulus_close(st);
    return rc;
}

void tw_stimulus_close(tw_stimulus *st)
{
    free(st->video);
    st->video = NULL;
}

void tw_stimulus_frame(const tw_stimulus *st, uint64_t t, size_t b, double *out)
{
    const tw_scenario *s = st->s;
    size_t n = st->H * st->W;
    if (s->kind == TW_STIM_FILE) {
        size_t per = st->per_instance ? st->batch : 1;
        memcpy(out, st->video + ((size_t)t * per + (st->per_instance ? b : 0)) * n, n * sizeof *out);
        return;
    }
    if (s->kind == TW_STIM_BLANK) {
        for (size_t k = 0; k < n; ++k)
            out[k] = s->mean;
        return;
    }
    /* a sinusoidal grating drifting along its direction (0 degrees: to
     * the right, 90: down the image) */
    double th = s->directions[b] * M_PI / 180.0, c = cos(th), sn = sin(th);
    for (size_t y = 0; y < st->H; ++y)
        for (size_t x = 0; x < st->W; ++x)
            out[y * st->W + x] =
                s->mean + s->amplitude * sin(2 * M_PI * (((double)x * c + (double)y * sn) / s->period -
                                                         s->cycles_per_frame * (double)t));
}
