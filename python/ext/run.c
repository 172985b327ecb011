/* check() and run(): a scenario loaded and checked, then run on a device
 * into an output file, as `twinbrain check` and `twinbrain run` do.
 *
 * Ctrl-C: the library stops between chunks when its stop flag is set
 * (tb_sim_options.stop). The run goes without the GIL; after every chunk
 * the progress callback takes it back and lets Python handle pending
 * signals, so a KeyboardInterrupt (or any exception a handler or the
 * progress function raises) sets the flag: the run ends after that chunk,
 * keeps its output (status "interrupted") and the caller gets
 * twinbrain.Interrupted naming the file. */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL tb_ext_numpy
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdlib.h>
#include <string.h>

static int parse_source(PyObject *args, PyObject *kw, ext_source *src, const char **device, const char **output,
                        PyObject **progress, double *every_ms)
{
    static char *keys[] = {"path", "text", "name", "dir", "sets", "device", "output", "progress", "checkpoint_every",
                           NULL};
    PyObject *sets = NULL;
    *src = (ext_source){0};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "zzzzO|zzOd", keys, &src->path, &src->text, &src->name, &src->dir,
                                     &sets, device, output, progress, every_ms))
        return -1;
    if (!src->path && !(src->text && src->name)) {
        PyErr_SetString(PyExc_ValueError, "a scenario needs a path, or text and a name");
        return -1;
    }
    src->sets = ext_strings(sets, &src->n_sets, &src->keep);
    return src->sets ? 0 : -1;
}

static void free_source(ext_source *src)
{
    free(src->sets);
    Py_XDECREF(src->keep);
}

static PyObject *describe(const tb_scenario *sc)
{
    char *text = tb_scenario_format(sc), *desc = tb_scenario_describe(sc);
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "kind", ext_str(tb_scenario_kind(sc))) || ext_set(o, "description", ext_str(desc)) ||
        ext_set(o, "resolved", ext_str(text)) || ext_set(o, "path", ext_str(sc->path)) ||
        ext_set(o, "output_file", ext_str(sc->output_file)) ||
        ext_set(o, "instances", PyLong_FromSize_t(sc->n_instances)) ||
        ext_set(o, "steps", PyLong_FromUnsignedLongLong(sc->steps)) ||
        ext_set(o, "duration_ms", PyFloat_FromDouble(sc->duration)) ||
        ext_set(o, "dt_ms", PyFloat_FromDouble(sc->dt)) || ext_set(o, "seed", PyLong_FromUnsignedLongLong(sc->seed)) ||
        ext_set(o, "precision", ext_str(sc->precision == TB_DOUBLE ? "double" : "single")) ||
        ext_set(o, "device", ext_str(sc->device)))
        Py_CLEAR(o);
    free(text);
    free(desc);
    return o;
}

PyObject *ext_check(PyObject *self, PyObject *args, PyObject *kw)
{
    ext_source src;
    const char *device = NULL, *output = NULL;
    PyObject *progress = NULL;
    double every_ms = 0;
    if (parse_source(args, kw, &src, &device, &output, &progress, &every_ms) < 0) {
        free_source(&src);
        return NULL;
    }
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    tb_status st = ext_load(&src, &reg, &sc, &err);
    if (st == TB_OK) {
        Py_BEGIN_ALLOW_THREADS
        st = tb_sim_check(sc, &err);
        Py_END_ALLOW_THREADS
    }
    PyObject *out = st == TB_OK ? describe(sc) : ext_raise(&err, NULL);
    tb_error_clear(&err);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    free_source(&src);
    return out;
}

/* The devices of a run: a selector or a list of them, opened. */
typedef struct devs {
    tb_device_info *list;
    size_t n_list, n;
    tb_device **dev;
} devs;

static tb_status open_devices(devs *d, const char *selector, bool fp64, tb_error *err)
{
    size_t *chosen = NULL;
    tb_status st = tb_device_list(&d->list, &d->n_list, err);
    if (st == TB_OK)
        st = tb_device_select_many(d->list, d->n_list, selector, fp64, &chosen, &d->n, err);
    if (st == TB_OK && !(d->dev = calloc(d->n, sizeof *d->dev)))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < d->n; ++k)
        st = tb_device_open(&d->list[chosen[k]], &d->dev[k], err);
    free(chosen);
    return st;
}

static void close_devices(devs *d)
{
    for (size_t k = 0; d->dev && k < d->n; ++k)
        tb_device_close(d->dev[k]);
    free(d->dev);
    tb_device_list_free(d->list);
}

typedef struct watch {
    volatile sig_atomic_t stop;
    PyObject *progress; /* callable or NULL */
    PyObject *exc_type, *exc_value, *exc_tb; /* what stopped the run */
} watch;

static void on_chunk(const tb_sim_progress *p, void *ctx)
{
    watch *w = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    if (!w->stop && PyErr_CheckSignals() < 0)
        w->stop = 1;
    if (!w->stop && w->progress) {
        PyObject *r = PyObject_CallFunction(w->progress, "KKdddd", (unsigned long long)p->step,
                                            (unsigned long long)p->steps, p->t_ms, p->duration_ms,
                                            p->wall_seconds, p->eta_seconds);
        if (!r)
            w->stop = 1;
        Py_XDECREF(r);
    }
    if (w->stop && !w->exc_type)
        PyErr_Fetch(&w->exc_type, &w->exc_value, &w->exc_tb);
    PyErr_Clear();
    PyGILState_Release(g);
}

static PyObject *summary(tb_sim *sim, const char *output)
{
    tb_sim_summary s;
    tb_sim_get_summary(sim, &s);
    char *text = tb_sim_summary_text(sim, output);
    PyObject *scores = Py_None, *figures = PyDict_New();
    Py_INCREF(Py_None);
    if (s.scores) {
        npy_intp n = (npy_intp)s.instances;
        Py_DECREF(scores);
        scores = PyArray_SimpleNew(1, &n, NPY_DOUBLE);
        if (scores)
            memcpy(PyArray_DATA((PyArrayObject *)scores), s.scores, s.instances * sizeof(double));
    }
    for (size_t i = 0; figures && i < s.n_figures; ++i)
        if (ext_set(figures, s.figures[i].name, PyFloat_FromDouble(s.figures[i].value)))
            Py_CLEAR(figures);
    PyObject *o = PyDict_New();
    if (!o || ext_set(o, "output", ext_str(output)) || ext_set(o, "steps", PyLong_FromUnsignedLongLong(s.steps)) ||
        ext_set(o, "wall_seconds", PyFloat_FromDouble(s.wall_seconds)) ||
        ext_set(o, "build_seconds", PyFloat_FromDouble(s.build_seconds)) ||
        ext_set(o, "program_origin", ext_str(tb_program_origin_name(s.program_origin))) ||
        ext_set(o, "units", PyLong_FromSize_t(s.units)) || ext_set(o, "unit_noun", ext_str(s.unit_noun)) ||
        ext_set(o, "instances", PyLong_FromSize_t(s.instances)) ||
        ext_set(o, "samples", PyLong_FromUnsignedLongLong(s.samples)) || ext_set(o, "scores", scores) ||
        ext_set(o, "score_monitor", ext_str(s.score_monitor)) || ext_set(o, "figures", figures) ||
        ext_set(o, "text", ext_str(text)))
        Py_CLEAR(o);
    free(text);
    return o;
}

/* After an interrupted run: twinbrain.Interrupted, with what stopped it
 * as its cause. */
static PyObject *raise_stopped(const tb_error *err, const char *output, watch *w)
{
    ext_raise(err, output);
    if (w->exc_type) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&w->exc_type, &w->exc_value, &w->exc_tb);
        if (w->exc_tb && w->exc_value)
            PyException_SetTraceback(w->exc_value, w->exc_tb);
        if (v && w->exc_value)
            PyException_SetCause(v, w->exc_value); /* steals */
        else
            Py_XDECREF(w->exc_value);
        Py_XDECREF(w->exc_type);
        Py_XDECREF(w->exc_tb);
        w->exc_type = w->exc_value = w->exc_tb = NULL;
        PyErr_Restore(t, v, tb);
    }
    return NULL;
}

/* The devices' indices, "I,J,...": what a resumed run opens again. */
static char *device_indices(const devs *d)
{
    size_t cap = 12 * d->n + 1, len = 0;
    char *s = malloc(cap);
    for (size_t k = 0; s && k < d->n; ++k)
        len += (size_t)snprintf(s + len, cap - len, "%s%d", k ? "," : "", tb_device_get_info(d->dev[k])->index);
    if (s && !d->n)
        *s = '\0';
    return s;
}

/* What run() and resume() share: open the devices, build, run into
 * `output` (continuing `resume_from` when given), the summary or the
 * exception. */
static PyObject *run_scenario(const tb_scenario *sc, const char *device, const char *output, double every_ms,
                              const char *resume_from, watch *w)
{
    tb_error err = {0};
    devs d = {0};
    tb_sim *sim = NULL;
    char *indices = NULL;
    PyObject *out = NULL;
    tb_status st;
    Py_BEGIN_ALLOW_THREADS
    st = resume_from ? TB_OK : tb_scenario_check_output(sc, output, &err);
    if (st == TB_OK)
        st = open_devices(&d, device ? device : sc->device, sc->precision == TB_DOUBLE, &err);
    if (st == TB_OK && !(indices = device_indices(&d)))
        st = tb_error_set(&err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK)
        st = tb_sim_create_multi(sc, d.dev, d.n, &sim, &err);
    Py_END_ALLOW_THREADS
    if (st == TB_OK && PyErr_CheckSignals() < 0)
        goto done; /* Ctrl-C while the program built: nothing written yet */
    if (st == TB_OK) {
        tb_sim_options opt = {.progress = on_chunk, .progress_ctx = w, .stop = &w->stop,
                              .checkpoint_every_ms = every_ms, .devices = indices, .resume_from = resume_from};
        Py_BEGIN_ALLOW_THREADS
        st = tb_sim_run(sim, output, &opt, &err);
        Py_END_ALLOW_THREADS
    }
    if (st == TB_OK && w->exc_type) {
        /* Ctrl-C after the last chunk: the file is complete, the interrupt still ends the call */
        PyErr_Restore(w->exc_type, w->exc_value, w->exc_tb);
        w->exc_type = w->exc_value = w->exc_tb = NULL;
    } else if (st == TB_OK)
        out = summary(sim, output);
    else if (w->stop)
        raise_stopped(&err, output, w);
    else
        ext_raise(&err, st == TB_ERR_DIVERGED || st == TB_ERR_INTERRUPTED ? output : NULL);
done:
    Py_XDECREF(w->exc_type);
    Py_XDECREF(w->exc_value);
    Py_XDECREF(w->exc_tb);
    w->exc_type = w->exc_value = w->exc_tb = NULL;
    free(indices);
    tb_error_clear(&err);
    tb_sim_free(sim);
    close_devices(&d);
    return out;
}

PyObject *ext_run(PyObject *self, PyObject *args, PyObject *kw)
{
    ext_source src;
    const char *device = NULL, *output = NULL;
    double every_ms = 0;
    watch w = {0};
    if (parse_source(args, kw, &src, &device, &output, &w.progress, &every_ms) < 0) {
        free_source(&src);
        return NULL;
    }
    if (w.progress == Py_None)
        w.progress = NULL;
    if (!output) {
        free_source(&src);
        PyErr_SetString(PyExc_ValueError, "run() needs an output path");
        return NULL;
    }
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    PyObject *out = NULL;
    if (ext_load(&src, &reg, &sc, &err) == TB_OK)
        out = run_scenario(sc, device, output, every_ms, NULL, &w);
    else
        ext_raise(&err, NULL);
    tb_error_clear(&err);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    free_source(&src);
    return out;
}

/* resume(path, device=None, progress=None): `twinbrain resume`. A run
 * that was complete already gives {"output", "complete": True, "steps"}
 * and nothing runs; else the summary of the resumed run, with
 * "resumed_from" (file) and "resumed_step". */
PyObject *ext_resume(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *keys[] = {"path", "device", "progress", NULL};
    const char *path = NULL, *device = NULL;
    watch w = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zO", keys, &path, &device, &w.progress))
        return NULL;
    if (w.progress == Py_None)
        w.progress = NULL;
    tb_error err = {0};
    tb_resume r;
    tb_plugin_registry *reg = NULL;
    tb_scenario *sc = NULL;
    PyObject *out = NULL;
    tb_status st;
    Py_BEGIN_ALLOW_THREADS
    st = tb_resume_find(path, &r, &err);
    if (st == TB_OK && !r.complete) {
        st = tb_plugin_registry_load(&reg, &err);
        if (st == TB_OK)
            st = tb_scenario_load_text(r.scenario, r.scenario_file ? r.scenario_file : r.target, NULL, NULL, 0, reg,
                                       &sc, &err);
    }
    Py_END_ALLOW_THREADS
    if (st == TB_OK && !r.complete)
        out = run_scenario(sc, device ? device : r.devices, r.target, r.every_ms, r.source, &w);
    if (st == TB_OK && r.complete) {
        out = PyDict_New();
        if (out && (ext_set(out, "output", ext_str(r.target)) || ext_set(out, "complete", Py_NewRef(Py_True)) ||
                    ext_set(out, "steps", PyLong_FromUnsignedLongLong(r.step))))
            Py_CLEAR(out);
    } else if (out && (ext_set(out, "complete", Py_NewRef(Py_False)) ||
                       ext_set(out, "resumed_from", ext_str(r.source)) ||
                       ext_set(out, "resumed_step", PyLong_FromUnsignedLongLong(r.step))))
        Py_CLEAR(out);
    /* the earlier attempts' partial files are superseded once the target is whole */
    if (out && (st = tb_resume_tidy(&r, &err)) != TB_OK)
        Py_CLEAR(out);
    if (st != TB_OK)
        ext_raise(&err, NULL);
    tb_error_clear(&err);
    tb_resume_clear(&r);
    tb_scenario_free(sc);
    tb_plugin_registry_free(reg);
    return out;
}
