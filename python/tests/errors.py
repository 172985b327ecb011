"""Bad input raises twinbrain.Error subclasses carrying what the command
says: the exit status, and the file, line and column it prints (the same
message); nothing is left behind by a run that fails before starting."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

twinbrain = pyenv.setup()
TB = os.environ["TWINBRAIN"]
SMALL = os.path.join(pyenv.SRCDIR, "tests", "scenarios", "small.toml")
DATA = os.path.join(pyenv.SRCDIR, "examples", "data", "synthetic_246.h5")
c = pyenv.Checks()
check = c.check


def command_says(*args):
    done = subprocess.run([TB, *args], capture_output=True, text=True)
    return done.returncode, done.stderr


def raises(what, fn, cls, status, where=None, cmd=None):
    """fn() must raise cls with `status`; where = (file, line, column) when given;
    cmd: the `twinbrain` arguments that must fail the same way."""
    try:
        fn()
    except twinbrain.Error as e:
        ok = isinstance(e, cls) and e.status == status
        check(f"{what}: {cls.__name__}, status {status}", ok, f"got {type(e).__name__} {e.status}: {e}")
        if where is not None:
            check(f"{what}: at {os.path.basename(str(where[0]))}:{where[1]}:{where[2]}",
                  (e.file, e.line, e.column) == where, f"got {(e.file, e.line, e.column)}: {e}")
        if cmd is not None:
            rc, err = command_says(*cmd)
            check(f"{what}: the command exits {status} with the same message",
                  rc == status and e.message in err, f"exit {rc}: {err!r} vs {e.message!r}")
        return e
    except Exception as e:  # noqa: BLE001 - the wrong kind of exception is the failure reported
        check(f"{what}: raises {cls.__name__}", False, f"got {type(e).__name__}: {e}")
        return None
    check(f"{what}: raises {cls.__name__}", False, "nothing raised")
    return None


with tempfile.TemporaryDirectory() as tmp:
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    good = open(SMALL).read().replace('"../../examples/data/synthetic_246.h5"', f'"{DATA}"')

    # a syntax error: line 3, column of the bad value
    bad = write("syntax.toml", "[simulation]\nduration = 20.0\ndt = 0.1.2\n")
    raises("TOML syntax error", lambda: twinbrain.Scenario.load(bad).check(), twinbrain.ScenarioError, 2,
           None, ["check", bad])
    try:
        twinbrain.Scenario.load(bad).check()
    except twinbrain.ScenarioError as e:
        m = re.match(r"^(.*?):(\d+):(\d+):", e.message)
        check("syntax error: file, line and column parsed from the message",
              m is not None and (e.file, e.line, e.column) == (m[1], int(m[2]), int(m[3])) and e.line == 3
              and e.file == bad, f"{(e.file, e.line, e.column)}: {e.message}")

    # a content error: the key's line and column
    lines = good.splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.startswith("dt")) + 1
    content = write("content.toml", good.replace("dt = 0.1", "dt = -0.1"))
    raises("dt < 0", lambda: twinbrain.Scenario.load(content).check(), twinbrain.ScenarioError, 2,
           (content, n, 6), ["check", content])
    e = raises("two errors at once",
               lambda: twinbrain.Scenario.load(content).set("simulation.duration", -5.0).check(),
               twinbrain.ScenarioError, 2)
    check("two errors: both listed in .errors", e is not None and len(e.errors) >= 2, str(e and e.errors))

    # an override: the file, no line
    e = raises("set() of a bad value", lambda: twinbrain.Scenario.load(SMALL).set("simulation.dt", -1.0).check(),
               twinbrain.ScenarioError, 2, cmd=["check", SMALL, "--set", "simulation.dt=-1.0"])
    check("set(): the error names the file and no line", e is not None and e.file == SMALL and e.line is None,
          str(e and (e.file, e.line)))
    raises("a dict scenario's error names it", lambda: twinbrain.Scenario.from_dict(
        {"simulation": {"duration": 10.0, "dt": 0.1, "bogus": 1}}, name="mine").check(),
        twinbrain.ScenarioError, 2)
    try:
        twinbrain.Scenario.from_dict({"simulation": {"duration": 10.0, "dt": 0.1, "bogus": 1}}, name="mine").check()
    except twinbrain.ScenarioError as e:
        check("a dict scenario's errors: at mine:LINE:COL, the unknown key at mine:4:1",
              e.file == "mine" and any(x[:3] == ("mine", 4, 1) and "bogus" in x[3] for x in e.errors), str(e.errors))

    # input files
    missing = write("missing.toml", good.replace(DATA, os.path.join(tmp, "nowhere.h5")))
    raises("a missing connectome", lambda: twinbrain.Scenario.load(missing).check(), twinbrain.InputError, 4,
           cmd=["check", missing])
    raises("a missing scenario file", lambda: twinbrain.Scenario.load(os.path.join(tmp, "none.toml")).check(),
           twinbrain.InputError, 4)
    out = os.path.join(tmp, "never.h5")
    raises("run() of a bad scenario", lambda: twinbrain.run(twinbrain.Scenario.load(content), output=out,
                                                            progress=False), twinbrain.ScenarioError, 2)
    check("run() of a bad scenario leaves no output", not os.path.exists(out))
    raises("output over an input", lambda: twinbrain.run(SMALL, output=DATA, progress=False), twinbrain.InputError, 4)

    # devices
    raises("a device that does not exist", lambda: twinbrain.run(SMALL, device="name~no-such-device", output=out,
                                                                   progress=False), twinbrain.DeviceError, 3)
    check("a failed device leaves no output", not os.path.exists(out))

    # compare
    raises("compare() of a missing file", lambda: twinbrain.compare(os.path.join(tmp, "a.h5"), DATA),
           twinbrain.InputError, 4)

    check("every error is a twinbrain.Error and an Exception",
          all(issubclass(k, twinbrain.Error) and issubclass(k, Exception) for k in
              (twinbrain.ScenarioError, twinbrain.DeviceError, twinbrain.InputError, twinbrain.DivergedError,
               twinbrain.Interrupted)))
    check("Interrupted is a KeyboardInterrupt", issubclass(twinbrain.Interrupted, KeyboardInterrupt))

c.finish()
