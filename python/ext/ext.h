/* The C extension behind the Python package (twinbrain._core): the
 * library's public API turned into Python objects. Internal to python/. */
#ifndef TWINBRAIN_PYTHON_EXT_H
#define TWINBRAIN_PYTHON_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "config.h"

#include "twinbrain/twinbrain.h"

/* Raise the twinbrain.Error subclass for err's status (twinbrain/errors.py
 * parses FILE:LINE:COL out of the message); `output` names a file the
 * failed run left behind, or NULL. Returns NULL for `return ext_raise(...)`. */
PyObject *ext_raise(const tb_error *err, const char *output);

/* d[key] = value, stealing the reference to value; -1 on failure. */
int ext_set(PyObject *d, const char *key, PyObject *value);
/* A str, or None for NULL. */
PyObject *ext_str(const char *s);

/* A list of str from a Python sequence of str: malloc'd array of borrowed
 * UTF-8 pointers kept alive by *keep (a new reference to a tuple). */
const char **ext_strings(PyObject *seq, size_t *n, PyObject **keep);

PyObject *ext_devices(PyObject *self, PyObject *args);
PyObject *ext_plugins(PyObject *self, PyObject *args);
PyObject *ext_check(PyObject *self, PyObject *args, PyObject *kw);
PyObject *ext_run(PyObject *self, PyObject *args, PyObject *kw);
PyObject *ext_resume(PyObject *self, PyObject *args, PyObject *kw);
PyObject *ext_compare(PyObject *self, PyObject *args);

/* The scenario a call names: a file, or TOML text with a name and a folder. */
typedef struct ext_source {
    const char *path, *text, *name, *dir;
    const char **sets;
    size_t n_sets;
    PyObject *keep;
} ext_source;

/* Load it (registry first). */
tb_status ext_load(const ext_source *src, tb_plugin_registry **reg, tb_scenario **sc, tb_error *err);

#endif
