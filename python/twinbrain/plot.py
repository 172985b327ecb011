"""Plots of a run's output (docs/python.md), with matplotlib.

Kinds, each a function ``f(result, fig=None, **options)`` returning the
matplotlib Figure (or SubFigure) it drew in:

- mass runs: ``timeseries`` (chosen regions of a time-series monitor),
  ``bold`` (BOLD of chosen regions and every region as an image), ``fc``
  (the simulated FC next to the empirical one, with the fit score),
  ``sweep`` (a sweep's fit score over its axes);
- spiking runs: ``raster`` (populations coloured), ``rates`` (population
  rates), ``stats`` (ISI CV and firing-rate histograms per population);
- ``twin``: every dataset under /twin, when the file has one.

:func:`figure` draws several kinds into one figure titled with the
scenario, the device and the provenance; :func:`save` writes it (PNG, SVG,
PDF by the file name). Large runs are subsampled (regions, neurons, time
points) and the panel says so. ``python3 -m twinbrain.plot`` and
``twinbrain plot`` are the command line.
"""
import argparse
import os
import sys

import numpy as np

from .result import Result

__all__ = ["KINDS", "available", "figure", "save", "title", "timeseries", "bold", "fc", "sweep", "raster",
           "rates", "stats", "twin", "main"]

MAX_REGIONS = 8       # lines in a time-series panel
MAX_POINTS = 4000     # time points drawn per line
MAX_NEURONS = 500     # rows of a raster, over all populations
MAX_SPIKES = 200000   # dots of a raster


def _plt():
    import matplotlib.pyplot as plt  # the caller's backend (a notebook's stays); main() picks Agg
    return plt


def _result(r):
    return r if isinstance(r, Result) else Result(r)


def _new(fig, size=(9, 4.5)):
    if fig is not None:
        return fig
    return _plt().figure(figsize=size, layout="constrained")


def _note(fig, text):
    """What the panel leaves out, in small type at its bottom."""
    if text:  # a super x label: the constrained layout makes room for it
        fig.supxlabel(text, fontsize=7, color="0.35", ha="left", x=0.01)


def title(result):
    """Scenario, device and provenance, on two lines."""
    p = _result(result).provenance
    scen = os.path.basename(str(p.get("scenario_file", "?")))
    dev = p.get("device", "?")
    line1 = f"{scen}  ·  {p.get('model', '?')}  ·  device {dev} ({p.get('precision', '?')})"
    bits = [f"twinbrain {p.get('twinbrain_version', '?')}", f"seed {p.get('seed', '?')}"]
    if "simulated_ms" in p:
        bits.append(f"{p['simulated_ms']:g} of {p.get('duration_ms', 0):g} ms")
    bits.append(str(p.get("status", "no final status (killed run?)")))
    if p.get("created_utc"):
        bits.append(str(p["created_utc"]))
    return line1 + "\n" + ", ".join(bits)


# ------------------------------------------------------------------ helpers

def _instance(r, instance):
    """The instance to show: the one asked for, else the best-fitting one, else 0."""
    if instance is not None:
        return int(instance)
    s = r.scores()
    return int(np.nanargmax(s)) if s is not None and np.isfinite(s).any() else 0


def _instance_label(r, b):
    if not r.sweep:
        return ""
    vals = ", ".join(f"{k.split('.')[-1]} = {v[b]:g}" for k, v in r.sweep.items())
    return f"instance {b} ({vals})"


def _pick_regions(n, regions, limit):
    if regions is not None:
        return [int(i) for i in regions], ""
    if n <= limit:
        return list(range(n)), ""
    idx = np.unique(np.linspace(0, n - 1, limit).round().astype(int)).tolist()
    return idx, f"{len(idx)} of {n} regions shown (evenly spaced; choose with regions=...)"


def _thin(t, y, limit=MAX_POINTS):
    if len(t) <= limit:
        return t, y, ""
    k = int(np.ceil(len(t) / limit))
    return t[::k], y[::k], f"every {k}th of {len(t)} samples drawn"


def _series_monitor(r, kinds, monitor=None):
    for name, m in r.monitors.items():
        if (monitor is None or name == monitor) and m.kind in kinds and m.time is not None:
            return m
    return None


def _labels(r):
    return r.region_labels


# ------------------------------------------------------------------ mass runs

def timeseries(result, fig=None, monitor=None, regions=None, instance=None, variable=0, max_regions=MAX_REGIONS):
    """Chosen regions of a time-series monitor (raw, subsample, temporal_average)."""
    r = _result(result)
    fig = _new(fig)
    m = _series_monitor(r, ("raw", "subsample", "temporal_average", "eeg"), monitor)
    if m is None:
        raise ValueError("no time-series monitor in " + r.path)
    b = _instance(r, instance)
    idx, note = _pick_regions(m.data.shape[2], regions, max_regions)
    t, y, note2 = _thin(m.time, m.data[:, b, :, variable])
    ax = fig.subplots()
    labels = _labels(r)
    for i in idx:
        ax.plot(t, y[:, i], lw=0.8, label=labels[i] if i < len(labels) and m.kind != "eeg" else f"#{i}")
    var = m.variables[variable] if variable < len(m.variables) else f"variable {variable}"
    unit = (m.attrs.get("units") or [""] * (variable + 1))[variable] if m.attrs.get("units") else ""
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{var} ({unit})" if unit else var)
    ax.set_title(f"{m.name}: {m.kind} {var} " + _instance_label(r, b), fontsize=9)
    if len(idx) <= 12:
        ax.legend(fontsize=7, ncols=2, loc="upper right")
    _note(fig, "; ".join(x for x in (note, note2) if x))
    return fig


def bold(result, fig=None, monitor=None, regions=None, instance=None, max_regions=MAX_REGIONS):
    """BOLD: chosen regions as lines, every region as an image (regions x time)."""
    r = _result(result)
    fig = _new(fig)
    m = _series_monitor(r, ("bold",), monitor)
    if m is None:
        raise ValueError("no BOLD monitor in " + r.path)
    b = _instance(r, instance)
    y = m.data[:, b, :, 0]
    idx, note = _pick_regions(y.shape[1], regions, max_regions)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    labels = _labels(r)
    t = m.time / 1000.0
    for i in idx:
        ax1.plot(t, y[:, i], lw=0.8, label=labels[i] if i < len(labels) else f"#{i}")
    ax1.set_xlabel("time (s)")
    ax1.set_ylabel("BOLD")
    ax1.set_title(f"{m.name}: BOLD, TR {m.attrs.get('period_ms', 0):g} ms " + _instance_label(r, b), fontsize=9)
    if len(idx) <= 12:
        ax1.legend(fontsize=7, ncols=2, loc="upper right")
    im = ax2.imshow(y.T, aspect="auto", interpolation="nearest", cmap="viridis",
                    extent=[t[0] if len(t) else 0, t[-1] if len(t) else 1, y.shape[1] - 0.5, -0.5])
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("region")
    ax2.set_title(f"all {y.shape[1]} regions", fontsize=9)
    fig.colorbar(im, ax=ax2, shrink=0.8)
    _note(fig, note)
    return fig


def _empirical(r, name):
    """The empirical FC a monitor was scored against, read from the file the
    scenario names (relative to the scenario's folder); None when unreadable."""
    try:
        import tomllib
        doc = tomllib.loads(r.scenario_text)
    except Exception:
        return None, "scenario not readable"
    for mon in doc.get("monitor", []):
        if mon.get("name") == name and mon.get("empirical"):
            path = mon["empirical"]
            if not os.path.isabs(path):
                path = os.path.join(os.path.dirname(str(r.provenance.get("scenario_file", ""))), path)
            try:
                from .result import open_h5
                with open_h5(path) as f:
                    return f[mon.get("dataset", "/fc")][()], path
            except Exception as e:
                return None, f"empirical FC not read ({e})"
    return None, "no empirical FC"


def fc(result, fig=None, monitor=None, instance=None):
    """The simulated FC next to the empirical one, with the fit score."""
    r = _result(result)
    fig = _new(fig)
    m = next((x for n, x in r.monitors.items() if x.kind == "fc" and (monitor is None or n == monitor)), None)
    if m is None:
        raise ValueError("no FC monitor in " + r.path)
    b = _instance(r, instance)
    sim = m.data[0, b]
    emp, where = _empirical(r, m.name)
    axes = fig.subplots(1, 2 if emp is not None else 1, squeeze=False)[0]
    im = axes[0].imshow(sim, vmin=-1, vmax=1, cmap="RdBu_r", interpolation="nearest")
    head = f"{m.name}: simulated FC of '{m.attrs.get('source', '?')}' " + _instance_label(r, b)
    if m.score is not None:
        head += f"\nfit to the empirical FC: r = {np.asarray(m.score).reshape(-1)[b]:.3f}"
    axes[0].set_title(head, fontsize=9)
    axes[0].set_xlabel("region")
    axes[0].set_ylabel("region")
    if emp is not None:
        axes[1].imshow(emp, vmin=-1, vmax=1, cmap="RdBu_r", interpolation="nearest")
        axes[1].set_title("empirical FC\n" + os.path.basename(where), fontsize=9)
        axes[1].set_xlabel("region")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="Pearson r")
    _note(fig, "" if emp is not None else where)
    return fig


def sweep(result, fig=None, monitor=None):
    """A sweep's fit score over its axes: a line for one key, an image for two,
    the first two keys coloured by score for more."""
    r = _result(result)
    fig = _new(fig)
    s = r.scores(monitor)
    if s is None or not r.sweep:
        raise ValueError("no sweep with fit scores in " + r.path)
    keys = list(r.sweep)
    ax = fig.subplots()
    b = int(np.nanargmax(s))
    if len(keys) == 1:
        x = r.sweep[keys[0]]
        order = np.argsort(x)
        ax.plot(x[order], s[order], "o-", ms=4)
        ax.plot(x[b], s[b], "r*", ms=14, label=f"best: {keys[0]} = {x[b]:g}, r = {s[b]:.3f}")
        ax.set_xlabel(keys[0])
        ax.set_ylabel("fit (Pearson r of FC)")
        ax.legend(fontsize=8)
    else:
        x, y = r.sweep[keys[0]], r.sweep[keys[1]]
        ux, uy = np.unique(x), np.unique(y)
        if len(keys) == 2 and len(ux) * len(uy) == len(s):
            grid = np.full((len(uy), len(ux)), np.nan)
            grid[np.searchsorted(uy, y), np.searchsorted(ux, x)] = s
            im = ax.pcolormesh(ux, uy, grid, shading="nearest", cmap="viridis")
        else:
            im = ax.scatter(x, y, c=s, cmap="viridis", s=30)
        fig.colorbar(im, ax=ax, label="fit (Pearson r of FC)")
        ax.plot(x[b], y[b], "r*", ms=14)
        ax.set_xlabel(keys[0])
        ax.set_ylabel(keys[1])
    ax.set_title(f"fit score over the sweep ({len(s)} instances); best instance {b}", fontsize=9)
    _note(fig, f"{len(keys) - 2} more swept keys not shown" if len(keys) > 2 else "")
    return fig


# ------------------------------------------------------------------ spiking runs

def _colors(n):
    cmap = _plt().get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def _duration(r):
    p = r.provenance
    return float(p.get("simulated_ms", p.get("duration_ms", 0.0))) or 1.0


def raster(result, fig=None, max_neurons=MAX_NEURONS, t_range=None):
    """Spike raster, one colour per population; large populations thinned."""
    r = _result(result)
    fig = _new(fig)
    pops = r.spikes
    if not pops:
        raise ValueError("no spikes in " + r.path)
    ax = fig.subplots()
    total = sum(p.size for p in pops.values()) or 1
    offset, notes, ticks = 0, [], []
    for (name, p), col in zip(pops.items(), _colors(len(pops))):
        rows = max(1, int(round(max_neurons * p.size / total))) if total > max_neurons else p.size
        step = max(1, int(np.ceil(p.size / rows)))
        keep = (p.node_ids % step) == 0
        t, ids = p.timestamps[keep], p.node_ids[keep] // step
        if t_range is not None:
            w = (t >= t_range[0]) & (t <= t_range[1])
            t, ids = t[w], ids[w]
        if len(t) > MAX_SPIKES:
            k = int(np.ceil(len(t) / MAX_SPIKES))
            t, ids = t[::k], ids[::k]
            notes.append(f"{name}: every {k}th spike drawn")
        shown = int(np.ceil(p.size / step))
        ax.scatter(t, ids + offset, s=1.5, color=col, marker="|" if shown < 100 else ".", linewidths=0.5,
                   label=f"{name} ({p.size})")
        ticks.append((offset + shown / 2, name))
        if step > 1:
            notes.append(f"{name}: every {step}th neuron ({shown} of {p.size})")
        offset += shown
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (by population)")
    ax.set_yticks([y for y, _ in ticks], [n for _, n in ticks])
    ax.set_ylim(-0.5, offset - 0.5)
    ax.set_title(f"spike raster: {len(pops)} populations, {sum(len(p) for p in pops.values())} spikes", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", markerscale=4)
    _note(fig, "; ".join(notes))
    return fig


def rates(result, fig=None, bin_ms=None):
    """Population rates: the rates monitor when the run has one, else spike
    counts in bins of ``bin_ms`` (default 5 ms) per neuron."""
    r = _result(result)
    fig = _new(fig)
    ax = fig.subplots()
    m = next((x for x in r.monitors.values() if x.kind == "rates"), None)
    if m is not None and bin_ms is None:
        names = m.attrs.get("populations", [f"#{i}" for i in range(m.data.shape[2])])
        for i, (name, col) in enumerate(zip(names, _colors(len(names)))):
            t, y, _ = _thin(m.time, m.data[:, 0, i, 0])
            ax.plot(t, y, lw=0.8, color=col, label=name)
        ax.set_title(f"population rates ({m.name}: bins of {m.attrs.get('period_ms', 0):g} ms)", fontsize=9)
    else:
        if not r.spikes:
            raise ValueError("no spikes or rates in " + r.path)
        width = bin_ms or 5.0
        edges = np.arange(0.0, _duration(r) + width, width)
        for (name, p), col in zip(r.spikes.items(), _colors(len(r.spikes))):
            counts, _ = np.histogram(p.timestamps, edges)
            ax.plot(edges[1:], counts / max(p.size, 1) / (width / 1000.0), lw=0.8, color=col, label=name)
        ax.set_title(f"population rates (spikes in bins of {width:g} ms)", fontsize=9)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz per neuron)")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def _isi_cv(timestamps, node_ids):
    """CV of the inter-spike intervals of each neuron with at least 3 spikes."""
    if len(timestamps) == 0:
        return np.array([])
    order = np.lexsort((timestamps, node_ids))
    ids, t = node_ids[order], timestamps[order]
    same = ids[1:] == ids[:-1]
    isi, owner = np.diff(t)[same], ids[1:][same]
    if len(isi) == 0:
        return np.array([])
    uniq, inv, cnt = np.unique(owner, return_inverse=True, return_counts=True)
    mean = np.bincount(inv, isi) / cnt
    var = np.bincount(inv, isi ** 2) / cnt - mean ** 2
    ok = (cnt >= 2) & (mean > 0)
    return np.sqrt(np.maximum(var[ok], 0)) / mean[ok]


def stats(result, fig=None, warmup_ms=0.0):
    """ISI CV and firing-rate histograms, one colour per population."""
    r = _result(result)
    fig = _new(fig)
    if not r.spikes:
        raise ValueError("no spikes in " + r.path)
    ax1, ax2 = fig.subplots(1, 2)
    span = max(_duration(r) - warmup_ms, 1e-9) / 1000.0
    for (name, p), col in zip(r.spikes.items(), _colors(len(r.spikes))):
        w = p.timestamps >= warmup_ms
        counts = np.bincount(p.node_ids[w].astype(np.int64), minlength=p.size)[: p.size]
        rate = counts / span
        ax1.hist(rate, bins=30, color=col, alpha=0.6, label=f"{name}: mean {rate.mean():.2f} Hz")
        cv = _isi_cv(p.timestamps[w], p.node_ids[w])
        if len(cv):
            ax2.hist(cv, bins=30, color=col, alpha=0.6, label=f"{name}: median {np.median(cv):.2f}")
    ax1.set_xlabel("firing rate (Hz)")
    ax1.set_ylabel("neurons")
    ax1.set_title("firing rates" + (f" after {warmup_ms:g} ms" if warmup_ms else ""), fontsize=9)
    ax1.legend(fontsize=7)
    ax2.set_xlabel("CV of the inter-spike intervals")
    ax2.set_ylabel("neurons (with 3 or more spikes)")
    ax2.set_title("ISI CV", fontsize=9)
    ax2.legend(fontsize=7)
    return fig


def twin(result, fig=None):
    """Every dataset under /twin: 1-D ones as lines, 2-D ones as images."""
    r = _result(result)
    fig = _new(fig)
    data = {k: v for k, v in r.twin.items() if np.asarray(v).ndim in (1, 2) and np.asarray(v).dtype.kind in "fiu"}
    if not data:
        raise ValueError("no /twin datasets in " + r.path)
    axes = fig.subplots(1, min(len(data), 4), squeeze=False)[0]
    for ax, (k, v) in zip(axes, list(data.items())[:4]):
        v = np.asarray(v)
        if v.ndim == 1:
            ax.plot(v, lw=0.8)
        else:
            ax.imshow(v, aspect="auto", interpolation="nearest")
        ax.set_title(k, fontsize=8)
    _note(fig, f"{len(data) - 4} more /twin datasets not shown" if len(data) > 4 else "")
    return fig


KINDS = {"timeseries": timeseries, "bold": bold, "fc": fc, "sweep": sweep,
         "raster": raster, "rates": rates, "stats": stats, "twin": twin}


def available(result):
    """The kinds this file has data for, in the order above."""
    r = _result(result)
    kinds = {m.kind for m in r.monitors.values()}
    out = []
    if kinds & {"raw", "subsample", "temporal_average", "eeg"}:
        out.append("timeseries")
    if "bold" in kinds:
        out.append("bold")
    if "fc" in kinds:
        out.append("fc")
    if r.sweep and r.scores() is not None:
        out.append("sweep")
    if r.spikes:
        out += ["raster", "rates", "stats"]
    if r.twin:
        out.append("twin")
    return out


def figure(result, what=None, width=10.0, panel_height=3.6, **options):
    """One figure with a panel per kind (default: every kind the file has),
    titled with the scenario, device and provenance. Options go to the kinds
    that take them (regions, instance, monitor, max_regions, max_neurons...)."""
    import inspect
    r = _result(result)
    kinds = list(what) if what else available(r)
    if isinstance(what, str):
        kinds = [what]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown plot kind {bad[0]!r} (kinds: {', '.join(KINDS)})")
    if not kinds:
        raise ValueError("nothing to plot in " + r.path)
    plt = _plt()
    fig = plt.figure(figsize=(width, 0.9 + panel_height * len(kinds)), layout="constrained")
    subs = fig.subfigures(len(kinds), 1, squeeze=False)[:, 0] if len(kinds) > 1 else [fig.subfigures(1, 1)]
    for k, sub in zip(kinds, subs):
        fn = KINDS[k]
        accepted = inspect.signature(fn).parameters
        fn(r, fig=sub, **{n: v for n, v in options.items() if n in accepted and v is not None})
    fig.suptitle(title(r), fontsize=10)
    return fig


def save(fig, path, dpi=100):
    """Write a figure; the format follows the name (.png, .svg, .pdf). SVG keeps
    its text as text, so titles can be searched in the file."""
    import matplotlib
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(path, dpi=dpi, metadata=None)
    return path


# ------------------------------------------------------------------ command line

def _parser():
    p = argparse.ArgumentParser(prog="twinbrain plot", description="Plots of a twinbrain output file.")
    p.add_argument("file", help="the output file (HDF5) of twinbrain run")
    p.add_argument("-o", "--output", help="image to write: .png, .svg or .pdf (default: FILE with .png)")
    p.add_argument("--what", action="append", help="kinds, comma-separated or repeated: " + ", ".join(KINDS)
                   + " (default: every kind the file has)")
    p.add_argument("--list", action="store_true", help="print the kinds the file has and exit")
    p.add_argument("--regions", help="regions to draw, comma-separated indices (default: up to 8, evenly spaced)")
    p.add_argument("--instance", type=int, help="the sweep instance to draw (default: the best fit, else 0)")
    p.add_argument("--monitor", help="the monitor to draw (default: the first of the right kind)")
    p.add_argument("--max-neurons", type=int, default=MAX_NEURONS, help="raster rows at most")
    p.add_argument("--dpi", type=int, default=100)
    p.add_argument("--width", type=float, default=10.0, help="figure width in inches")
    return p


def main(argv=None):
    """The `twinbrain plot` command; returns its exit status (2 usage, 4 input file)."""
    args = _parser().parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    if not os.path.isfile(args.file):
        print(f"twinbrain plot: error: {args.file}: no such file", file=sys.stderr)
        return 4
    r = Result(args.file)
    try:
        have = available(r)
    except Exception as e:
        print(f"twinbrain plot: error: {args.file}: not a twinbrain output file ({e})", file=sys.stderr)
        return 4
    if args.list:
        print("\n".join(have))
        return 0
    what = [k.strip() for w in (args.what or []) for k in w.split(",") if k.strip()] or have
    bad = [k for k in what if k not in KINDS]
    if bad:
        print(f"twinbrain plot: unknown kind '{bad[0]}' (kinds: {', '.join(KINDS)})", file=sys.stderr)
        return 2
    missing = [k for k in what if k not in have]
    if missing:
        print(f"twinbrain plot: {args.file} has no data for '{missing[0]}' (it has: {', '.join(have) or 'none'})",
              file=sys.stderr)
        return 2
    out = args.output or os.path.splitext(args.file)[0] + ".png"
    if os.path.splitext(out)[1].lower() not in (".png", ".svg", ".pdf"):
        print(f"twinbrain plot: -o {out}: the name must end in .png, .svg or .pdf", file=sys.stderr)
        return 2
    regions = [int(x) for x in args.regions.split(",")] if args.regions else None
    fig = figure(r, what, width=args.width, regions=regions, instance=args.instance, monitor=args.monitor,
                 max_neurons=args.max_neurons)
    try:
        save(fig, out, dpi=args.dpi)
    except OSError as e:
        print(f"twinbrain plot: error: {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"twinbrain plot: {', '.join(what)} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
