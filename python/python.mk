# The Python package (python/, docs/python.md): an automake fragment
# included from Makefile.am. The C extension twinbrain._core is built when
# configure found a Python 3 with its headers and numpy's (HAVE_PYEXT);
# `twinbrain plot` and the package's pure-Python part install with it.
PYTHON_SOURCES = python/twinbrain/__init__.py python/twinbrain/errors.py python/twinbrain/scenario.py \
	python/twinbrain/result.py python/twinbrain/runner.py python/twinbrain/progress.py \
	python/twinbrain/tomlwrite.py python/twinbrain/plot.py python/twinbrain/__main__.py
EXTRA_DIST += python/python.m4 python/python.mk $(PYTHON_SOURCES) python/tests/pyenv.py \
	examples/python/resting_sweep.py \
	docs/img/plot-timeseries.png docs/img/plot-bold.png docs/img/plot-fc.png docs/img/plot-sweep.png \
	docs/img/plot-raster.png docs/img/plot-rates.png docs/img/plot-stats.png
dist_doc_DATA += docs/python.md

if HAVE_PYEXT
pytwinbraindir = $(TB_PYTHON_DIR)/twinbrain
pytwinbrain_DATA = $(PYTHON_SOURCES)
pytwinbrain_LTLIBRARIES = python/_core.la
python__core_la_SOURCES = python/ext/ext.h python/ext/module.c python/ext/info.c python/ext/run.c \
	python/ext/compare.c
# Python's headers define the POSIX feature macros themselves.
python__core_la_CPPFLAGS = -I$(top_srcdir)/include -I$(top_builddir) $(TB_PYEXT_CFLAGS) $(OPENCL_CFLAGS)
python__core_la_CFLAGS = -std=c11 $(TB_WARN_CFLAGS) -fno-strict-aliasing
python__core_la_LDFLAGS = -module -avoid-version -shared
python__core_la_LIBADD = libtwinbrain.la
# The module is a .so, not a libtool library: no .la beside it.
install-data-hook: pyext-drop-la
pyext-drop-la:
	rm -f $(DESTDIR)$(pytwinbraindir)/_core.la
# ... so libtool's uninstall does not know it; Python leaves its caches.
uninstall-hook:
	rm -f $(DESTDIR)$(pytwinbraindir)/_core.so
	rm -rf $(DESTDIR)$(pytwinbraindir)/__pycache__
	-rmdir $(DESTDIR)$(pytwinbraindir) 2>/dev/null
endif

# `twinbrain plot` runs the package with the interpreter it was built for
# (or python3), and finds it where it was installed.
twinbrain_SOURCES += core/cli/cli_plot.c
twinbrain_CPPFLAGS += -DTB_PLOT_PYTHON='"$(TB_PYEXT_PYTHON)"'
if HAVE_PYEXT
twinbrain_CPPFLAGS += -DTB_PLOT_PYTHON_DIR='"$(TB_PYTHON_DIR)"'
endif

# What the tests need to know of the build: the interpreter the extension
# was built for (none: not built) and where libtool left it.
noinst_DATA = python/build.env
python/build.env: Makefile
	$(AM_V_GEN)mkdir -p python && { echo "python=$(TB_PYEXT_PYTHON)"; \
	  echo "ext=$(abs_top_builddir)/python/.libs"; echo "package=$(abs_top_srcdir)/python"; } > $@-t && mv $@-t $@
CLEANFILES += python/build.env

# They skip (77), saying why, without the extension or matplotlib.
PYTHON_TESTS = python/tests/api.py python/tests/errors.py python/tests/interrupt.py python/tests/plots.py \
	python/tests/resume.py \
	python/tests/example.py
TESTS += $(PYTHON_TESTS)
EXTRA_DIST += $(PYTHON_TESTS)
