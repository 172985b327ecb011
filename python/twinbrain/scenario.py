"""Scenarios: a TOML file (or a dict), overrides, checks."""
import os

from . import _core
from . import tomlwrite

try:
    import tomllib as _toml_reader
except ImportError:  # Python < 3.11
    _toml_reader = None

__all__ = ["Scenario"]


class Scenario:
    """A scenario: a file or a dict, and the ``--set`` overrides applied to it.

    Nothing is read until :meth:`check` or :func:`twinbrain.run`; every
    check the command makes is made then, with errors naming the file,
    line and column (:class:`twinbrain.ScenarioError`)."""

    def __init__(self, path=None, text=None, name=None, directory=None):
        self.path = os.fspath(path) if path is not None else None
        self.text = text
        self.name = name
        self.directory = directory
        self.overrides = []

    @classmethod
    def load(cls, path):
        """The scenario in a TOML file (relative paths in it are relative to its folder)."""
        return cls(path=path)

    @classmethod
    def from_dict(cls, doc, directory=None, name="<dict>"):
        """A scenario built in Python: a dict of sections as the TOML file has them
        (``{"simulation": {"duration": 1000.0}, "monitor": [{...}], ...}``).
        Relative paths in it are relative to ``directory`` (default: the working folder);
        messages name it ``name``."""
        return cls(text=tomlwrite.dumps(doc), name=name, directory=os.fspath(directory or os.getcwd()))

    @classmethod
    def from_toml(cls, text, directory=None, name="<string>"):
        """A scenario from TOML text."""
        return cls(text=text, name=name, directory=os.fspath(directory or os.getcwd()))

    def copy(self):
        c = Scenario(self.path, self.text, self.name, self.directory)
        c.overrides = list(self.overrides)
        return c

    def set(self, key, value):
        """Override a key, as ``twinbrain run --set KEY=VALUE`` does; ``value`` is a
        Python value (number, string, bool, list, dict, numpy array) or, when it is
        a :class:`Raw`, TOML text. Returns the scenario, so calls chain."""
        text = value.text if isinstance(value, Raw) else tomlwrite.value(value)
        self.overrides.append(f"{key}={text}")
        return self

    def sweep(self, key, values):
        """Sweep one key over ``values`` (a sweep of the scenario's ``[sweep]`` table)."""
        return self.set("sweep", {key: list(values)})

    def _source(self):
        return dict(path=self.path, text=self.text, name=self.name, dir=self.directory,
                    sets=list(self.overrides))

    def check(self):
        """Load and check everything the run would, without a device; returns a
        dict: ``kind``, ``description``, ``resolved`` (TOML with every default),
        ``instances``, ``steps``, ``duration_ms``, ``dt_ms``, ``seed``, ``precision``,
        ``device``, ``output_file``. Raises :class:`twinbrain.Error` subclasses."""
        return _core.check(**self._source())

    def resolved(self):
        """The resolved scenario as a dict (every default filled in)."""
        text = self.check()["resolved"]
        if _toml_reader is None:
            raise RuntimeError("reading TOML needs Python 3.11 (tomllib)")
        return _toml_reader.loads(text)

    def __repr__(self):
        what = repr(self.path) if self.path else self.name
        sets = "".join(f" --set {o}" for o in self.overrides)
        return f"<Scenario {what}{sets}>"


class Raw:
    """TOML text for :meth:`Scenario.set`, taken as it is."""

    def __init__(self, text):
        self.text = text
