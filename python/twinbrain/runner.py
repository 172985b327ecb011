"""run() and compare()."""
import os
import shutil
import tempfile
import weakref

from . import _core
from .progress import Progress
from .result import Result
from .scenario import Scenario

__all__ = ["run", "resume", "compare"]


def run(scenario, device=None, output=None, progress=True, checkpoint_every=None):
    """Run a scenario (a :class:`Scenario` or a TOML file's path) and return its
    :class:`Result`.

    ``device``: a selector as ``twinbrain run --device`` takes (``"auto"``,
    ``"cpu"``, ``"0"``, ``"0:1"``, ``"name~TEXT"``, ``"0,1"``, ``"all"``);
    default the scenario's ``simulation.device``, else ``$TWINBRAIN_DEVICE``,
    else auto. ``output``: the HDF5 file to write; None writes a temporary one
    that is removed when the result is no longer used. ``progress``: True for a
    progress bar (tqdm when installed, else a line on stderr when it is a terminal), False for none,
    or a callable ``f(step, steps, t_ms, duration_ms, wall_seconds, eta_seconds)``.
    ``checkpoint_every``: ms of simulated time between checkpoints (as
    ``twinbrain run --checkpoint-every``), so that :func:`resume` can finish a
    run that was stopped or killed; needs ``output``.

    Errors raise :class:`twinbrain.Error` subclasses. Ctrl-C stops the run after
    the current chunk, keeps the output written so far and raises
    :class:`twinbrain.Interrupted` (a KeyboardInterrupt) naming the file."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    keep = None
    if checkpoint_every is not None and output is None:
        raise ValueError("checkpoint_every needs an output file to resume from")
    if output is None:
        keep = tempfile.mkdtemp(prefix="twinbrain-")
        output = os.path.join(keep, "run.h5")
    output = os.fspath(output)
    bar, fn = _progress(progress)
    extra = {} if checkpoint_every is None else {"checkpoint_every": float(checkpoint_every)}
    try:
        summary = _core.run(**scenario._source(), device=device, output=output, progress=fn, **extra)
    except BaseException:
        if keep and not os.path.exists(output):
            shutil.rmtree(keep, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    result = Result(output, summary=summary, keep=keep)
    if keep:
        weakref.finalize(result, shutil.rmtree, keep, True)
    return result


def _progress(progress):
    """The progress bar to close afterwards (or None) and the callable to pass."""
    if progress is True and Progress.wanted():
        bar = Progress()
        return bar, bar
    return None, progress if callable(progress) else None


def resume(output, device=None, progress=True):
    """Finish a run that was started with ``checkpoint_every`` (or
    ``--checkpoint-every``) and then stopped or killed, as ``twinbrain resume
    OUTPUT`` does: from the newest whole checkpoint in ``output`` or its
    ``OUTPUT.partial-*`` files, on the devices it ran on (or ``device``), into
    ``output``. Returns its :class:`Result`; ``result.summary["resumed_step"]``
    is the step it continued from, and ``summary["complete"]`` is True when the
    run had already ended and nothing ran. Nothing to resume raises
    :class:`ResumeError` (a file without a checkpoint) or :class:`InputError`
    (no such file)."""
    output = os.fspath(output)
    bar, fn = _progress(progress)
    try:
        summary = _core.resume(output, device=device, progress=fn)
    finally:
        if bar is not None:
            bar.close()
    return Result(summary["output"], summary=summary)


def compare(reference, other):
    """Compare two output files of the same scenario (as ``twinbrain compare --files``):
    a dict with ``datasets`` (per dataset: max_abs, max_rel, rms, peak, pearson_r,
    nonfinite, problem) and ``spikes`` (per population: counts, rates, first
    divergence). Results or paths."""
    ref = reference.path if isinstance(reference, Result) else os.fspath(reference)
    oth = other.path if isinstance(other, Result) else os.fspath(other)
    return _core.compare(ref, oth)
