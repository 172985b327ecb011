/* compare(): two output files of the same scenario, dataset by dataset and
 * spike train by spike train (include/twinbrain/compare.h). */
#include "ext.h"

static PyObject *diff_dict(const tb_diff *d)
{
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "name", ext_str(d->name)) || ext_set(o, "path", ext_str(d->path)) ||
        ext_set(o, "elements", PyLong_FromUnsignedLongLong(d->elements)) ||
        ext_set(o, "max_abs", PyFloat_FromDouble(d->max_abs)) ||
        ext_set(o, "max_rel", PyFloat_FromDouble(d->max_rel)) || ext_set(o, "rms", PyFloat_FromDouble(d->rms)) ||
        ext_set(o, "peak", PyFloat_FromDouble(d->peak)) ||
        ext_set(o, "pearson_r", PyFloat_FromDouble(d->pearson_r)) ||
        ext_set(o, "nonfinite", PyLong_FromUnsignedLongLong(d->nonfinite)) ||
        ext_set(o, "problem", ext_str(d->problem[0] ? d->problem : NULL)))
        Py_CLEAR(o);
    return o;
}

static PyObject *spike_dict(const tb_spike_diff *s)
{
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "population", ext_str(s->population)) ||
        ext_set(o, "count_ref", PyLong_FromUnsignedLongLong(s->count_ref)) ||
        ext_set(o, "count", PyLong_FromUnsignedLongLong(s->count)) ||
        ext_set(o, "rate_ref", PyFloat_FromDouble(s->rate_ref)) || ext_set(o, "rate", PyFloat_FromDouble(s->rate)) ||
        ext_set(o, "first_divergence_ms", PyFloat_FromDouble(s->first_divergence_ms)) ||
        ext_set(o, "matching", PyLong_FromUnsignedLongLong(s->matching)) ||
        ext_set(o, "problem", ext_str(s->problem[0] ? s->problem : NULL)))
        Py_CLEAR(o);
    return o;
}

PyObject *ext_compare(PyObject *self, PyObject *args)
{
    const char *ref, *other;
    if (!PyArg_ParseTuple(args, "ss", &ref, &other))
        return NULL;
    tb_error err = {0};
    tb_compare c = {0};
    tb_status st;
    Py_BEGIN_ALLOW_THREADS
    st = tb_compare_files(ref, other, &c, &err);
    Py_END_ALLOW_THREADS
    if (st != TB_OK) {
        ext_raise(&err, NULL);
        tb_error_clear(&err);
        return NULL;
    }
    PyObject *datasets = PyList_New(0), *spikes = PyList_New(0);
    for (size_t i = 0; datasets && i < c.n_diffs; ++i) {
        PyObject *d = diff_dict(&c.diffs[i]);
        if (!d || PyList_Append(datasets, d) < 0)
            Py_CLEAR(datasets);
        Py_XDECREF(d);
    }
    for (size_t i = 0; spikes && i < c.n_spikes; ++i) {
        PyObject *d = spike_dict(&c.spikes[i]);
        if (!d || PyList_Append(spikes, d) < 0)
            Py_CLEAR(spikes);
        Py_XDECREF(d);
    }
    tb_compare_free(&c);
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "datasets", datasets) || ext_set(o, "spikes", spikes))
        Py_CLEAR(o);
    return o;
}
