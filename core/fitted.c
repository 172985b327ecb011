/* The final estimate of a fit, shared by the kits' `parameters_from`
 * keys: the parameter [assimilation] estimated (/assimilation's attribute
 * `parameter`) and, per region, the ensemble mean after the last sample
 * (/assimilation/mean's last row), with the fitted regions' labels where
 * the file has them (docs/formats.md). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fitted.h"
#include "h5read.h"
#include "util.h"

void tb_fitted_free(tb_fitted *f)
{
    for (size_t i = 0; f->labels && i < f->n; ++i)
        free(f->labels[i]);
    free(f->labels);
    free(f->parameter);
    free(f->values);
    free(f->populations);
    memset(f, 0, sizeof *f);
}

static tb_status final_mean(const char *path, tb_fitted *f, tb_error *err)
{
    double *mean = NULL;
    size_t dims[2];
    int rank;
    if (tb_h5_read_doubles(path, "/assimilation/mean", &mean, dims, &rank, err) != TB_OK)
        return err->status;
    if (rank != 2 || dims[0] == 0 || dims[1] == 0) {
        free(mean);
        return tb_error_set(err, TB_ERR_INPUT, "%s: /assimilation/mean is not [samples, regions] with a sample",
                            path);
    }
    f->n = dims[1];
    f->values = malloc(f->n * sizeof *f->values);
    if (!f->values) {
        free(mean);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    memcpy(f->values, mean + (dims[0] - 1) * dims[1], f->n * sizeof *f->values);
    free(mean);
    return TB_OK;
}

size_t tb_fitted_other_region(char *const *fitted, char *const *labels, size_t n)
{
    for (size_t i = 0; fitted && labels && i < n; ++i)
        if (strcmp(fitted[i], labels[i]) != 0)
            return i;
    return n;
}

tb_status tb_fitted_read(const char *path, tb_fitted *f, tb_error *err)
{
    memset(f, 0, sizeof *f);
    tb_status st = tb_h5_read_attr_string(path, "/assimilation", "parameter", &f->parameter, err);
    if (st == TB_OK && !f->parameter)
        st = tb_error_set(err, TB_ERR_INPUT, "%s has no /assimilation with a 'parameter' attribute (it is not the "
                                             "output of a run with [assimilation])", path);
    if (st == TB_OK)
        st = final_mean(path, f, err);
    char *items = st == TB_OK ? tb_asprintf("/assimilation/mean has %zu regions", f->n) : NULL;
    if (st == TB_OK)
        st = items ? tb_h5_read_labels(path, "/assimilation/region_labels", f->n, items, &f->labels, err)
                   : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    free(items);
    if (st == TB_OK)
        st = tb_h5_read_attr_string(path, "/assimilation", "populations", &f->populations, err);
    if (st != TB_OK)
        tb_fitted_free(f);
    return st;
}

tb_toml_value *tb_fitted_array(const tb_fitted *f, tb_toml_pos pos)
{
    tb_toml_value *arr = tb_toml_new_array();
    for (size_t n = 0; arr && n < f->n; ++n) {
        tb_toml_value *x = tb_toml_new_float(f->values[n]);
        if (!x) {
            tb_toml_free(arr);
            return NULL;
        }
        x->pos = pos;
        tb_toml_array_push(arr, x);
    }
    if (arr)
        arr->pos = pos;
    return arr;
}

bool tb_fitted_same(const tb_fitted *f, const tb_toml_value *v)
{
    if (!v || v->type != TB_TOML_ARRAY || v->u.arr.n != f->n)
        return false;
    for (size_t i = 0; i < f->n; ++i) {
        double a;
        if (!tb_toml_as_double(v->u.arr.items[i], &a) || a != f->values[i])
            return false;
    }
    return true;
}
