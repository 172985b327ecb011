/* twinbrain._core: module table, errors and small conversions. */
#include "ext.h"

#define PY_ARRAY_UNIQUE_SYMBOL tb_ext_numpy
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdlib.h>

PyObject *ext_raise(const tb_error *err, const char *output)
{
    PyObject *mod = PyImport_ImportModule("twinbrain.errors");
    if (!mod)
        return NULL;
    PyObject *exc = PyObject_CallMethod(mod, "from_status", "isz", (int)(err->status ? err->status : TB_ERR_OTHER),
                                        tb_error_message(err), output);
    Py_DECREF(mod);
    if (!exc)
        return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

int ext_set(PyObject *d, const char *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc;
}

PyObject *ext_str(const char *s)
{
    if (s)
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
    Py_RETURN_NONE;
}

const char **ext_strings(PyObject *seq, size_t *n, PyObject **keep)
{
    *n = 0;
    *keep = PySequence_Tuple(seq);
    if (!*keep)
        return NULL;
    Py_ssize_t len = PyTuple_GET_SIZE(*keep);
    const char **out = calloc((size_t)len + 1, sizeof *out);
    if (!out) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < len; ++i) {
        out[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(*keep, i));
        if (!out[i]) {
            free(out);
            return NULL;
        }
    }
    *n = (size_t)len;
    return out;
}

/* With the GIL held: libltdl, which loads the plugins, is not thread-safe,
 * and the GIL keeps two Python threads from loading at once. */
tb_status ext_load(const ext_source *src, tb_plugin_registry **reg, tb_scenario **sc, tb_error *err)
{
    tb_status st = tb_plugin_registry_load(reg, err);
    if (st == TB_OK && src->text)
        st = tb_scenario_load_text(src->text, src->name, src->dir, src->sets, src->n_sets, *reg, sc, err);
    else if (st == TB_OK)
        st = tb_scenario_load(src->path, src->sets, src->n_sets, *reg, sc, err);
    return st;
}

static PyMethodDef methods[] = {
    {"devices", ext_devices, METH_NOARGS, "Every OpenCL device: a list of dicts."},
    {"plugins", ext_plugins, METH_NOARGS, "The plugins found, the failures and the folders searched."},
    {"check", (PyCFunction)(void (*)(void))ext_check, METH_VARARGS | METH_KEYWORDS,
     "Load and check a scenario; a dict describing it."},
    {"run", (PyCFunction)(void (*)(void))ext_run, METH_VARARGS | METH_KEYWORDS,
     "Run a scenario into an output file; a dict summarising the run."},
    {"resume", (PyCFunction)(void (*)(void))ext_resume, METH_VARARGS | METH_KEYWORDS,
     "Continue an interrupted run from its newest checkpoint; a dict summarising it."},
    {"compare", ext_compare, METH_VARARGS, "Compare two output files of the same scenario."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "twinbrain._core", "The twinbrain library (libtwinbrain) for Python.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void);
PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddStringConstant(m, "version", PACKAGE_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
