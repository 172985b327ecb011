"""twinbrain for Python: scenarios, runs on OpenCL devices, results as
numpy arrays, plots (docs/python.md).

    import twinbrain
    print(twinbrain.devices())
    sc = twinbrain.Scenario.load("examples/resting_state.toml").set("simulation.duration", 20000.0)
    r = twinbrain.run(sc, device="cpu")
    bold = r.monitors["bold"].data          # [T, B, N, V]
"""
import os as _os

# The build tree keeps the extension where libtool left it (python/.libs);
# the tests point TWINBRAIN_PYTHON_EXT there (python/tests/pyenv.py).
if _os.environ.get("TWINBRAIN_PYTHON_EXT"):
    __path__.insert(0, _os.environ["TWINBRAIN_PYTHON_EXT"])

from . import _core  # noqa: E402
from .errors import (DeviceError, DivergedError, Error, InputError, Interrupted, ResumeError,  # noqa: E402
                     ScenarioError)
from .result import Monitor, Result, Spikes  # noqa: E402
from .runner import compare, resume, run  # noqa: E402
from .scenario import Raw, Scenario  # noqa: E402
from . import tomlwrite  # noqa: E402,F401

__version__ = _core.version
__all__ = ["devices", "plugins", "Scenario", "Raw", "run", "resume", "compare", "open", "Result", "Monitor", "Spikes",
           "Error", "ScenarioError", "DeviceError", "InputError", "DivergedError", "ResumeError", "Interrupted"]


def devices():
    """Every OpenCL device, as ``twinbrain devices`` lists them: a list of dicts
    (index, selector, type, name, vendor, platform, compute_units, fp64, score, ...)."""
    return _core.devices()


def plugins():
    """Every plugin found (name, kind, version, summary, doc, file, parameters); a dict
    with ``plugins``, ``failures`` (modules that did not load) and ``paths``."""
    return _core.plugins()


def open(path):  # noqa: A001 - twinbrain.open(path) reads like h5py.File
    """The :class:`Result` in an output file written earlier."""
    return Result(path)
