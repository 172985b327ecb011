/* devices() and plugins(): the listings `twinbrain devices` and
 * `twinbrain plugins` print, as Python dicts. */
#include "ext.h"

#include <math.h>

static PyObject *device_dict(const tb_device_info *d)
{
    PyObject *o = PyDict_New();
    char sel[32];
    snprintf(sel, sizeof sel, "%d:%d", d->platform_index, d->device_index);
    if (!o || ext_set(o, "index", PyLong_FromLong(d->index)) || ext_set(o, "selector", ext_str(sel)) ||
        ext_set(o, "type", ext_str(tb_device_type_name(d->type))) || ext_set(o, "name", ext_str(d->name)) ||
        ext_set(o, "vendor", ext_str(d->vendor)) || ext_set(o, "platform", ext_str(d->platform_name)) ||
        ext_set(o, "platform_version", ext_str(d->platform_version)) ||
        ext_set(o, "driver_version", ext_str(d->driver_version)) ||
        ext_set(o, "device_version", ext_str(d->device_version)) ||
        ext_set(o, "opencl_c_version", ext_str(d->opencl_c_version)) ||
        ext_set(o, "compute_units", PyLong_FromUnsignedLong(d->compute_units)) ||
        ext_set(o, "clock_mhz", PyLong_FromUnsignedLong(d->clock_mhz)) ||
        ext_set(o, "global_mem_bytes", PyLong_FromUnsignedLongLong(d->global_mem_bytes)) ||
        ext_set(o, "local_mem_bytes", PyLong_FromUnsignedLongLong(d->local_mem_bytes)) ||
        ext_set(o, "max_alloc_bytes", PyLong_FromUnsignedLongLong(d->max_alloc_bytes)) ||
        ext_set(o, "max_work_group_size", PyLong_FromSize_t(d->max_work_group_size)) ||
        ext_set(o, "fp64", PyBool_FromLong(d->fp64)) || ext_set(o, "available", PyBool_FromLong(d->available)) ||
        ext_set(o, "compiler_available", PyBool_FromLong(d->compiler_available)) ||
        ext_set(o, "score", PyFloat_FromDouble(d->score))) {
        Py_XDECREF(o);
        return NULL;
    }
    return o;
}

PyObject *ext_devices(PyObject *self, PyObject *args)
{
    tb_error err = {0};
    tb_device_info *list = NULL;
    size_t n = 0;
    tb_status st;
    Py_BEGIN_ALLOW_THREADS
    st = tb_device_list(&list, &n, &err);
    Py_END_ALLOW_THREADS
    if (st != TB_OK) {
        ext_raise(&err, NULL);
        tb_error_clear(&err);
        return NULL;
    }
    PyObject *out = PyList_New(0);
    for (size_t i = 0; out && i < n; ++i) {
        PyObject *d = device_dict(&list[i]);
        if (!d || PyList_Append(out, d) < 0)
            Py_CLEAR(out);
        Py_XDECREF(d);
    }
    tb_device_list_free(list);
    return out;
}

/* A bound as a float; None for an open end. */
static PyObject *bound(double x)
{
    if (isinf(x))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(x);
}

static PyObject *string_list(const char *const *v)
{
    if (!v)
        Py_RETURN_NONE;
    PyObject *l = PyList_New(0);
    for (size_t i = 0; l && v[i]; ++i) {
        PyObject *s = ext_str(v[i]);
        if (!s || PyList_Append(l, s) < 0)
            Py_CLEAR(l);
        Py_XDECREF(s);
    }
    return l;
}

static PyObject *param_dict(const tb_param_info *p)
{
    bool number = p->type == TB_PARAM_REAL || p->type == TB_PARAM_INT || p->type == TB_PARAM_REALS;
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "name", ext_str(p->name)) || ext_set(o, "type", ext_str(tb_param_type_name(p->type))) ||
        ext_set(o, "default", number ? PyFloat_FromDouble(p->value) : ext_str(p->value_s)) ||
        ext_set(o, "unit", ext_str(p->unit)) ||
        ext_set(o, "min", p->min == TB_POSITIVE ? PyFloat_FromDouble(0.0) : bound(p->min)) ||
        ext_set(o, "min_exclusive", PyBool_FromLong(p->min == TB_POSITIVE)) ||
        ext_set(o, "max", bound(p->max)) || ext_set(o, "doc", ext_str(p->doc)) ||
        ext_set(o, "length", PyLong_FromSize_t(p->length)) || ext_set(o, "choices", string_list(p->choices))) {
        Py_XDECREF(o);
        return NULL;
    }
    return o;
}

static PyObject *plugin_dict(const tb_plugin_registry *reg, size_t i)
{
    const tb_plugin *p = tb_plugin_at(reg, i);
    PyObject *params = PyList_New(0);
    for (size_t k = 0; params && k < p->n_params; ++k) {
        PyObject *d = param_dict(&p->params[k]);
        if (!d || PyList_Append(params, d) < 0)
            Py_CLEAR(params);
        Py_XDECREF(d);
    }
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "name", ext_str(p->name)) || ext_set(o, "kind", ext_str(p->kind)) ||
        ext_set(o, "version", ext_str(p->version)) || ext_set(o, "summary", ext_str(p->summary)) ||
        ext_set(o, "doc", ext_str(p->doc)) || ext_set(o, "file", ext_str(tb_plugin_file_at(reg, i))) ||
        ext_set(o, "parameters", params)) {
        Py_XDECREF(o);
        return NULL;
    }
    return o;
}

static PyObject *listing(const tb_plugin_registry *reg)
{
    PyObject *plugins = PyList_New(0), *failures = PyList_New(0), *paths = PyList_New(0);
    for (size_t i = 0; plugins && i < tb_plugin_count(reg); ++i) {
        PyObject *d = plugin_dict(reg, i);
        if (!d || PyList_Append(plugins, d) < 0)
            Py_CLEAR(plugins);
        Py_XDECREF(d);
    }
    for (size_t i = 0; failures && i < tb_plugin_failure_count(reg); ++i) {
        PyObject *s = ext_str(tb_plugin_failure_at(reg, i));
        if (!s || PyList_Append(failures, s) < 0)
            Py_CLEAR(failures);
        Py_XDECREF(s);
    }
    for (size_t i = 0; paths && i < tb_plugin_path_count(reg); ++i) {
        PyObject *s = ext_str(tb_plugin_path_at(reg, i));
        if (!s || PyList_Append(paths, s) < 0)
            Py_CLEAR(paths);
        Py_XDECREF(s);
    }
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "plugins", plugins) || ext_set(o, "failures", failures) || ext_set(o, "paths", paths)) {
        Py_XDECREF(o);
        return NULL;
    }
    return o;
}

PyObject *ext_plugins(PyObject *self, PyObject *args)
{
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_status st = tb_plugin_registry_load(&reg, &err); /* with the GIL: see ext_load() */
    PyObject *out = st == TB_OK ? listing(reg) : ext_raise(&err, NULL);
    tb_error_clear(&err);
    tb_plugin_registry_free(reg);
    return out;
}
