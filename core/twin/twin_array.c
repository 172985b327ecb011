/* Numeric datasets of any rank for the twin commands (twin_array.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "twin_array.h"

tb_status tw_array_read(hid_t f, const char *file, const char *name, bool optional, tw_array *a, tb_error *err)
{
    memset(a, 0, sizeof *a);
    hid_t ds = H5Lexists(f, name, H5P_DEFAULT) > 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1, ty = ds >= 0 ? H5Dget_type(ds) : -1;
    a->rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    tb_status st = TB_OK;
    if (ds < 0 && !optional)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no dataset %s", file, name);
    else if (ds >= 0 && (a->rank < 1 || a->rank > TW_MAX_RANK || H5Tget_class(ty) == H5T_STRING ||
                         H5Tget_class(ty) == H5T_COMPOUND || H5Sget_simple_extent_dims(sp, a->d, NULL) < 0))
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %s is not an array of numbers", file, name);
    if (st == TB_OK && ds >= 0) {
        a->u8 = H5Tget_class(ty) == H5T_INTEGER && H5Tget_size(ty) == 1 && H5Tget_sign(ty) == H5T_SGN_NONE;
        a->n = (size_t)H5Sget_simple_extent_npoints(sp);
        a->v = malloc((a->n + 1) * sizeof *a->v);
        if (!a->v)
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory for %s", name);
        else if (a->n && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->v) < 0)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: cannot read %s", file, name);
    }
    if (ty >= 0)
        H5Tclose(ty);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

tb_status tw_array_read_file(const char *file, const char *name, bool optional, tw_array *a, tb_error *err)
{
    memset(a, 0, sizeof *a);
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    tb_status st = f < 0 ? tb_error_set(err, TB_ERR_INPUT, "%s: cannot open as an HDF5 file", file)
                         : tw_array_read(f, file, name, optional, a, err);
    if (f >= 0)
        H5Fclose(f);
    tb_h5_quiet_end(q);
    return st;
}
