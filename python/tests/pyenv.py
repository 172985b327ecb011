"""What every Python-package test imports first: the built package from
the build tree (before `make install`), under the interpreter it was built
for, or a visible skip (exit 77) saying what is missing."""
import os
import sys

SKIP = 77
BUILDDIR = os.environ.get("TB_BUILDDIR", ".")
SRCDIR = os.environ.get("TB_SRCDIR", ".")


def skip(why):
    print("SKIP:", why)
    sys.exit(SKIP)


def _build_env():
    path = os.path.join(BUILDDIR, "python", "build.env")
    try:
        with open(path) as f:
            return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        skip(f"{path} missing: run make first")


def setup(need_matplotlib=False):
    """Import twinbrain from the build tree; returns the module."""
    env = _build_env()
    py = env.get("python", "none")
    if py == "none":
        skip("the Python package was not built (configure --without-python, or it found no Python 3 with python3-dev, numpy and h5py)")
    # the extension only loads into the interpreter it was built for
    if os.path.realpath(sys.executable) != os.path.realpath(py) and not os.environ.get("TB_PYENV_REEXEC"):
        os.environ["TB_PYENV_REEXEC"] = "1"
        os.execv(py, [py] + sys.argv)
    os.environ["TWINBRAIN_PYTHON_EXT"] = env["ext"]
    pp = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env["package"] + (os.pathsep + pp if pp else "")  # for child processes
    sys.path.insert(0, env["package"])
    try:
        import numpy  # noqa: F401
        import h5py  # noqa: F401
    except ImportError as e:
        skip(f"{e.name} is missing (apt-get install python3-numpy python3-h5py)")
    if need_matplotlib:
        try:
            import matplotlib
            matplotlib.use("Agg")
        except ImportError:
            skip("matplotlib is missing (apt-get install python3-matplotlib)")
    import twinbrain
    return twinbrain


class Checks:
    """Named checks; a failure is reported and the test goes on."""

    def __init__(self):
        self.failures = 0

    def check(self, what, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if detail and not ok else ""))
        if not ok:
            self.failures += 1
        return ok

    def finish(self):
        print(f"{self.failures} failure(s)" if self.failures else "all passed")
        sys.exit(1 if self.failures else 0)
