"""A run's output file (docs/formats.md) as numpy arrays and dicts."""
import functools
import os

import numpy as np

__all__ = ["Result", "Monitor", "Spikes", "open_h5"]


def open_h5(path):
    """Open an output file read-only; a file whose writer was killed is still
    marked open for writing, and opens as a SWMR reader."""
    import h5py
    try:
        return h5py.File(path, "r")
    except OSError:
        return h5py.File(path, "r", swmr=True)


def _plain(v):
    """HDF5 attribute values as Python values (str, int, float, lists)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "OSU":
            return [_plain(x) for x in v.tolist()]
        return v
    if isinstance(v, np.generic):
        return v.item()
    return v


def _attrs(obj):
    return {k: _plain(v) for k, v in obj.attrs.items()}


def _strings(ds):
    return [_plain(x) for x in ds[()].tolist()]


class Monitor:
    """One monitor: ``data`` [T, B, N, V] (FC: [1, B, N, N]), ``time`` [T] in ms,
    ``attrs`` (kind, period_ms, variables, units, ...), and for an FC with an
    empirical matrix ``score`` [1, B]; other datasets of its group in ``extra``."""

    def __init__(self, name, group):
        self.name = name
        ds = group["data"]
        self.time = group["time"][()] if "time" in group else None
        # a killed run may have written data rows beyond the last time stamp
        self.data = ds[: len(self.time)] if self.time is not None and ds.shape[0] > len(self.time) else ds[()]
        self.attrs = _attrs(ds)
        self.kind = self.attrs.get("kind")
        self.variables = self.attrs.get("variables", [])
        self.score = group["score"][()] if "score" in group else None
        self.extra = {k: group[k][()] for k in group if k not in ("data", "time", "score")}

    def __repr__(self):
        return f"<Monitor {self.name} {self.kind} {self.data.shape}>"


class Spikes:
    """One population's spikes (SONATA): ``timestamps`` (ms) and ``node_ids``; ``size`` neurons."""

    def __init__(self, name, group):
        self.name = name
        self.timestamps = group["timestamps"][()]
        self.node_ids = group["node_ids"][()]
        n = len(self.timestamps)
        self.node_ids = self.node_ids[:n]
        a = _attrs(group)
        self.size = int(a.get("size", a.get("n_nodes", (int(self.node_ids.max()) + 1) if n else 0)))
        self.attrs = a

    def __len__(self):
        return len(self.timestamps)

    def __repr__(self):
        return f"<Spikes {self.name}: {len(self)} spikes of {self.size} neurons>"


class Result:
    """The output of a run, read from its HDF5 file when first asked for.

    ``provenance`` (the root attributes: scenario, device, precision, seed,
    status...), ``monitors`` (name -> :class:`Monitor`), ``spikes``
    (population -> :class:`Spikes`), ``sweep`` (key -> [B] values),
    ``populations``, ``region_labels``, ``twin`` (every dataset under /twin),
    ``devices`` (a run split across devices), and ``summary`` (what the run
    reported, for a result returned by :func:`twinbrain.run`)."""

    def __init__(self, path, summary=None, keep=None):
        self.path = os.fspath(path)
        self.summary = summary
        self._keep = keep  # a temporary folder that must live as long as the result

    def _read(self, fn):
        with open_h5(self.path) as f:
            return fn(f)

    @functools.cached_property
    def provenance(self):
        return self._read(_attrs)

    @property
    def scenario_text(self):
        return self.provenance.get("scenario", "")

    @property
    def status(self):
        return self.provenance.get("status")

    @property
    def kind(self):
        """"spiking" when the file holds spikes or populations, else "mass"."""
        return self._read(lambda f: "spiking" if ("spikes" in f or "populations" in f) else "mass")

    @functools.cached_property
    def monitors(self):
        return self._read(lambda f: {k: Monitor(k, g) for k, g in f["monitors"].items()} if "monitors" in f else {})

    @functools.cached_property
    def spikes(self):
        return self._read(lambda f: {k: Spikes(k, g) for k, g in f["spikes"].items()} if "spikes" in f else {})

    @functools.cached_property
    def sweep(self):
        return self._read(lambda f: {k: f["sweep"][k][()] for k in f["sweep"]} if "sweep" in f else {})

    @functools.cached_property
    def region_labels(self):
        return self._read(lambda f: _strings(f["connectome/region_labels"]) if "connectome/region_labels" in f
                          else [])

    @functools.cached_property
    def populations(self):
        def read(f):
            if "populations" not in f:
                return {}
            g = f["populations"]
            names = _strings(g["names"])
            models = _strings(g["models"]) if "models" in g else [None] * len(names)
            sizes = g["sizes"][()] if "sizes" in g else [0] * len(names)
            return {n: {"model": m, "size": int(s)} for n, m, s in zip(names, models, sizes)}
        return self._read(read)

    @functools.cached_property
    def twin(self):
        def read(f):
            out = {}
            if "twin" in f:
                f["twin"].visititems(lambda name, obj: out.__setitem__(name, obj[()]) if hasattr(obj, "shape")
                                     else None)
            return out
        return self._read(read)

    @functools.cached_property
    def devices(self):
        return self._read(lambda f: [_attrs(f["devices"][k]) for k in sorted(f["devices"], key=int)]
                          if "devices" in f else [])

    def scores(self, monitor=None):
        """The fit scores [B] of an FC monitor with an empirical matrix (the first such one
        unless named); None without one."""
        for name, m in self.monitors.items():
            if m.score is not None and (monitor is None or name == monitor):
                return np.asarray(m.score).reshape(-1)
        return None

    def best(self, monitor=None):
        """(instance, score, {key: value}) of the instance whose FC fits best."""
        s = self.scores(monitor)
        if s is None:
            raise ValueError("no FC monitor with an empirical matrix in " + self.path)
        b = int(np.nanargmax(s))
        return b, float(s[b]), {k: float(v[b]) for k, v in self.sweep.items()}

    def __repr__(self):
        return f"<Result {self.path}>"
