"""The Python package against the command: the same scenario run through
twinbrain.run() and `twinbrain run` gives identical files (every dataset
numpy.array_equal, the same provenance but the run's clock), on every
device; devices(), plugins(), check() and compare() say what the command
says; a dict scenario runs as its file does; a temporary output goes away
with its result."""
import gc
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

twinbrain = pyenv.setup()
sys.path.insert(0, os.path.join(pyenv.SRCDIR, "tests"))
import devices  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

TB = os.environ["TWINBRAIN"]
SMALL = os.path.join(pyenv.SRCDIR, "tests", "scenarios", "small.toml")
CUBA = os.path.join(pyenv.SRCDIR, "examples", "spiking", "cuba.toml")
CLOCK = {"created_utc", "wall_seconds"}  # differ between any two runs
suite = devices.Tests()
check = suite.check


def command(*args):
    done = subprocess.run([TB, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"twinbrain {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def contents(path):
    """Every dataset and attribute of a file, by path."""
    data, attrs = {}, {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                attrs[f"{name}@{k}"] = v
            if isinstance(obj, h5py.Dataset):
                data[name] = obj[()]
        for k, v in f.attrs.items():
            if k not in CLOCK:
                attrs["@" + k] = v
        f.visititems(visit)
    return data, attrs


def same_files(what, a, b):
    da, aa = contents(a)
    db, ab = contents(b)
    check(f"{what}: the same datasets", sorted(da) == sorted(db), f"{sorted(da)} vs {sorted(db)}")
    differ = [k for k in da if k in db and not np.array_equal(da[k], db[k])]
    check(f"{what}: every dataset identical ({len(da)})", not differ, f"differ: {differ}")
    bad = [k for k in aa if k not in ab or not np.array_equal(np.asarray(aa[k]), np.asarray(ab[k]))]
    check(f"{what}: the same attributes but the clock", not bad and len(aa) == len(ab), f"differ: {bad}")


# ------------------------------------------------------------- no device needed
listing = json.loads(command("devices", "--json"))
names = [d["name"] for d in listing]
mine = twinbrain.devices()
check("devices(): the command's devices, in its order", [d["name"] for d in mine] == names,
      f"{[d['name'] for d in mine]} vs {names}")
check("devices(): selectors P:D and types", all(":" in d["selector"] and d["type"] in
                                                 ("CPU", "GPU", "ACCELERATOR", "OTHER") for d in mine))
plugs = json.loads(command("plugins", "--json"))
plug_names = sorted(p["name"] for p in (plugs["plugins"] if isinstance(plugs, dict) else plugs))
got = twinbrain.plugins()
check("plugins(): the command's plugins", sorted(p["name"] for p in got["plugins"]) == plug_names,
      f"{sorted(p['name'] for p in got['plugins'])} vs {plug_names}")
jr = next(p for p in got["plugins"] if p["name"] == "jansen_rit")
check("plugins(): parameters with defaults and docs", jr["kind"] == "mass" and
      any(q["name"] == "A" and q["default"] == 3.25 for q in jr["parameters"]), str(jr["parameters"][:2]))

sc = twinbrain.Scenario.load(SMALL).set("simulation.duration", 15.0)
info = sc.check()
said = command("check", SMALL, "--set", "simulation.duration=15.0")
check("check(): the command's verdict", info["description"] in said, f"{info['description']!r} vs {said!r}")
check("check(): steps and instances", info["steps"] == 150 and info["instances"] == 1, str(info))
resolved = command("check", SMALL, "--set", "simulation.duration=15.0", "--print")
check("check(): the resolved scenario the command prints", info["resolved"].strip() == resolved.strip())
suite.host()


def body(dev):
    sel = str(dev.index)
    with tempfile.TemporaryDirectory() as tmp:
        # a mass model, one instance
        a, b = os.path.join(tmp, "py.h5"), os.path.join(tmp, "cmd.h5")
        r = twinbrain.run(twinbrain.Scenario.load(SMALL).set("simulation.duration", 15.0), device=sel, output=a,
                          progress=False)
        command("run", SMALL, "--set", "simulation.duration=15.0", "--device", sel, "-o", b, "-q")
        same_files("jansen_rit", a, b)
        m = r.monitors["tavg"]
        with h5py.File(b) as f:
            check("Result: monitor data and time as numpy arrays",
                  np.array_equal(m.data, f["monitors/tavg/data"][()]) and np.array_equal(m.time, f["monitors/tavg/time"][()]))
            check("Result: provenance is the root attributes",
                  r.provenance["device"] == f.attrs["device"] and r.provenance["status"] == "completed")
        check("run(): summary", r.summary["steps"] == 150 and r.summary["units"] == 246, str(r.summary))
        cmp = twinbrain.compare(b, r)
        check("compare(): no difference between the two", cmp["datasets"] and
              all(d["max_abs"] == 0 and d["problem"] is None for d in cmp["datasets"]), str(cmp["datasets"][:1]))

        # a sweep: the instance axis and /sweep
        sweep = '{"model.parameters.A" = [3.0, 3.25, 3.5]}'
        a, b = os.path.join(tmp, "pys.h5"), os.path.join(tmp, "cmds.h5")
        r = twinbrain.run(twinbrain.Scenario.load(SMALL).set("simulation.duration", 10.0)
                          .set("sweep", twinbrain.Raw(sweep)), device=sel, output=a, progress=False)
        command("run", SMALL, "--set", "simulation.duration=10.0", "--set", "sweep=" + sweep, "--device", sel,
                "-o", b, "-q")
        same_files("a sweep of A", a, b)
        check("Result: sweep axes", np.array_equal(r.sweep["model.parameters.A"], [3.0, 3.25, 3.5])
              and r.monitors["tavg"].data.shape[1] == 3)

        # the same scenario as a dict (relative paths against its folder)
        doc = twinbrain.Scenario.load(SMALL).set("simulation.duration", 15.0).resolved()
        d = twinbrain.run(twinbrain.Scenario.from_dict(doc, directory=os.path.dirname(SMALL)), device=sel,
                          output=os.path.join(tmp, "dict.h5"), progress=False)
        check("from_dict(): the file's run, array for array",
              np.array_equal(d.monitors["tavg"].data, twinbrain.open(os.path.join(tmp, "py.h5")).monitors["tavg"].data))

        # a spiking network: spikes and rates
        a, b = os.path.join(tmp, "pyk.h5"), os.path.join(tmp, "cmdk.h5")
        r = twinbrain.run(twinbrain.Scenario.load(CUBA).set("simulation.duration", 60.0), device=sel, output=a,
                          progress=False)
        command("run", CUBA, "--set", "simulation.duration=60.0", "--device", sel, "-o", b, "-q")
        same_files("cuba", a, b)
        check("Result: spikes per population", set(r.spikes) == {"E", "I"} and len(r.spikes["E"]) > 0 and
              r.spikes["E"].size == 3200 and r.populations["I"]["size"] == 800, str(r.spikes))

    # output=None: a temporary file that goes with its result
    calls = []
    r = twinbrain.run(twinbrain.Scenario.load(SMALL).set("simulation.duration", 5.0), device=sel,
                      progress=lambda *a: calls.append(a))
    path = r.path
    check("output=None: a temporary file", os.path.exists(path) and r.monitors["tavg"].data.shape[0] == 5)
    check("progress: called with (step, steps, ...) ending at the last step", calls and calls[-1][0] == calls[-1][1] == 50,
          str(calls[-1:]))
    del r
    gc.collect()
    check("output=None: removed with its result", not os.path.exists(path))


suite.each(body)
suite.finish()
