# TB_CHECK_PYTHON_EXT: find a Python 3 to build the extension module for
# (python/): its headers and numpy's must be there, and h5py (the package
# reads results with it). --without-python turns
# it off; --with-python=yes makes a missing one an error; --with-python=PY
# names the interpreter. The package is installed where that interpreter
# looks for the prefix's packages (Debian: PREFIX/lib/python3.X/
# dist-packages for /usr/local), or --with-python-dir=DIR.
AC_DEFUN([TB_CHECK_PYTHON_EXT], [
AC_ARG_WITH([python],
  [AS_HELP_STRING([--without-python], [do not build the Python package (default: build it when Python 3 with its headers and numpy is found); --with-python=PYTHON names the interpreter])],
  [], [with_python=auto])
AC_ARG_WITH([python-dir],
  [AS_HELP_STRING([--with-python-dir=DIR], [install the Python package into DIR (default: where the interpreter looks for the prefix's packages)])],
  [], [with_python_dir=])
TB_PYEXT_PYTHON=none
tb_pyext_why="disabled (--without-python)"
AS_IF([test "x$with_python" != xno], [
  AS_CASE([$with_python], [yes|auto], [tb_pyext_cands="$PYTHON python3 /usr/bin/python3"],
          [tb_pyext_cands=$with_python])
  tb_pyext_why="no Python 3 with its headers (python3-dev), numpy and h5py (python3-numpy, python3-h5py) found"
  AC_MSG_CHECKING([for a Python 3 with headers, numpy and h5py for the Python package])
  for tb_py in $tb_pyext_cands; do
    test "x$tb_py" = xnone && continue
    tb_out=`"$tb_py" -c '
import os, sys, sysconfig
import numpy, h5py
inc = sysconfig.get_paths()@<:@"include"@:>@
if sys.version_info < (3, 7) or not os.path.exists(os.path.join(inc, "Python.h")): sys.exit(1)
if not os.path.exists(os.path.join(numpy.get_include(), "numpy", "arrayobject.h")): sys.exit(1)
print(sys.executable); print(inc); print(numpy.get_include())' 2>/dev/null` || continue
    TB_PYEXT_PYTHON=`echo "$tb_out" | sed -n 1p`
    TB_PYEXT_CFLAGS="-I`echo "$tb_out" | sed -n 2p` -I`echo "$tb_out" | sed -n 3p`"
    break
  done
  AC_MSG_RESULT([$TB_PYEXT_PYTHON])
  AS_IF([test "x$TB_PYEXT_PYTHON" = xnone && test "x$with_python" != xauto],
        [AC_MSG_ERROR([--with-python: $tb_pyext_why])])
])
AS_IF([test "x$TB_PYEXT_PYTHON" != xnone], [
  tb_prefix=$prefix
  test "x$tb_prefix" = xNONE && tb_prefix=$ac_default_prefix
  AS_IF([test -n "$with_python_dir"], [TB_PYTHON_DIR=$with_python_dir], [
    tb_dir=`"$TB_PYEXT_PYTHON" -c '
import site, sys, sysconfig
p = sys.argv@<:@1@:>@.rstrip("/")
dirs = @<:@d for d in getattr(site, "getsitepackages", lambda: @<:@@:>@)() if d.startswith(p + "/lib/")@:>@
print(dirs@<:@0@:>@ if dirs else sysconfig.get_path("platlib", "posix_prefix", vars={"base": p, "platbase": p}))' "$tb_prefix"`
    dnl relative to ${prefix}, so that make prefix=... and DESTDIR work as for every other folder
    TB_PYTHON_DIR=`"$TB_PYEXT_PYTHON" -c '
import sys
d, p = sys.argv@<:@1@:>@, sys.argv@<:@2@:>@.rstrip("/")
print("${prefix}" + d.split(p, 1)@<:@1@:>@ if d.startswith(p + "/") else d)' "$tb_dir" "$tb_prefix"`
    "$TB_PYEXT_PYTHON" -c 'import site, sys; sys.exit(0 if sys.argv@<:@1@:>@ in site.getsitepackages() else 1)' "$tb_dir" ||
      AC_MSG_WARN([$TB_PYEXT_PYTHON does not search $tb_dir: after make install, add it to PYTHONPATH (or pass --with-python-dir)])
  ])
  tb_pyext_why="yes, for $TB_PYEXT_PYTHON, installed into $TB_PYTHON_DIR"
])
AC_MSG_NOTICE([Python package: $tb_pyext_why])
AC_SUBST([TB_PYEXT_PYTHON])
AC_SUBST([TB_PYEXT_CFLAGS])
AC_SUBST([TB_PYTHON_DIR])
AM_CONDITIONAL([HAVE_PYEXT], [test "x$TB_PYEXT_PYTHON" != xnone])
])
