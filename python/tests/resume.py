"""Checkpoints and resume from Python: a run with checkpoint_every that is
stopped part-way (here by its progress function raising, as Ctrl-C does)
is finished by twinbrain.resume(), and the file equals the uninterrupted
run's dataset for dataset; nothing to resume raises ResumeError (exit
status 6) or InputError; a complete file is reported complete."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

twinbrain = pyenv.setup()
import h5py  # noqa: E402
import numpy as np  # noqa: E402

S = os.path.join(pyenv.SRCDIR, "examples", "jansen_rit.toml")
c = pyenv.Checks()
check = c.check


def scenario():
    return twinbrain.Scenario.load(S).set("simulation.duration", 600.0)


def stop_at(step_wanted):
    def progress(step, steps, *rest):
        if step >= step_wanted:
            raise KeyboardInterrupt
    return progress


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.startswith("monitors/"):
                out[name] = obj[()]
        f.visititems(visit)
    return out


with tempfile.TemporaryDirectory() as tmp:
    ref = os.path.join(tmp, "ref.h5")
    twinbrain.run(scenario(), output=ref, progress=False)

    out = os.path.join(tmp, "stopped.h5")
    try:
        twinbrain.run(scenario(), output=out, progress=stop_at(2000), checkpoint_every=50.0)
        check("the stopped run raises Interrupted", False, "it completed")
    except twinbrain.Interrupted as e:
        check("the stopped run raises Interrupted naming its file", e.status == 130 and e.output, repr(e))
        stopped_file = e.output
    steps_before = int(h5py.File(stopped_file, "r").attrs["steps"])
    r = twinbrain.resume(out, progress=False)
    check("resume() continues from a checkpoint after step 0",
          r.summary["complete"] is False and 0 < r.summary["resumed_step"] <= steps_before,
          str({k: r.summary.get(k) for k in ("complete", "resumed_step", "resumed_from")}))
    check("resume() finishes into the run's own output", r.path == out and r.status == "completed", f"{r.path} {r.status}")
    a, b = datasets(ref), datasets(out)
    check("the resumed file has the uninterrupted run's monitors", sorted(a) == sorted(b) and a, f"{sorted(a)} {sorted(b)}")
    same = [k for k in a if k in b and a[k].shape == b[k].shape and np.array_equal(a[k], b[k])]
    check("every monitor dataset equals the uninterrupted run's, bit for bit", len(same) == len(a),
          f"differ: {sorted(set(a) - set(same))}")
    leftovers = [n for n in os.listdir(tmp) if ".partial-" in n]
    check("no partial file is left once resumed", not leftovers, str(leftovers))

    again = twinbrain.resume(out, progress=False)
    check("resume() of a complete run runs nothing and says so",
          again.summary["complete"] is True and again.summary["steps"] == r.summary["steps"], str(again.summary))

    plain = os.path.join(tmp, "plain.h5")
    try:
        twinbrain.run(scenario(), output=plain, progress=stop_at(2000))
    except twinbrain.Interrupted:
        pass
    try:
        twinbrain.resume(plain, progress=False)
        check("a run without checkpoints cannot be resumed", False, "no error")
    except twinbrain.ResumeError as e:
        check("a run without checkpoints: ResumeError, status 6, naming the file",
              e.status == 6 and "plain.h5" in str(e), str(e))

    try:
        twinbrain.resume(os.path.join(tmp, "missing.h5"), progress=False)
        check("no such file raises", False, "no error")
    except twinbrain.InputError as e:
        check("no such file: InputError (4) naming it", e.status == 4 and "missing.h5" in str(e), str(e))

    try:
        twinbrain.run(scenario(), checkpoint_every=10.0, progress=False)
        check("checkpoint_every without an output is refused", False, "no error")
    except ValueError as e:
        check("checkpoint_every without an output is refused", "output" in str(e), str(e))

c.finish()
