"""The harness that runs the device-facing tests on every device
(tests/devices.py, tests/env.sh; docs/testing.md):

- env.sh made PoCL show both of its CPU drivers, so that "every device" on
  a CPU-only machine means two, not one (skipped where PoCL is absent);
- the devices chosen from a listing: usable ones only, `auto`'s first,
  TB_TEST_DEVICES and TB_TEST_NO_FP64 as documented;
- the loop, on a synthetic list: the body runs once per device with
  TWINBRAIN_DEVICE set to it, a device without fp64 is skipped with a line
  naming it and the reason, and a failure (a check, an exception, a failed
  command) names the device it happened on and does not stop the others.
Needs no OpenCL run of its own."""
import contextlib
import io
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


# ------------------------------------------------------------ the real machine
listed = json.loads(subprocess.run([os.environ["TWINBRAIN"], "devices", "--json"], capture_output=True,
                                   text=True, check=True).stdout or "[]")
pocl = [d for d in listed if "PoCL" in d.get("platform_version", "")]
print(f"POCL_DEVICES={os.environ.get('POCL_DEVICES', '(unset)')}: " +
      "; ".join(f"{d['index']}: {d['name']}" for d in listed))
how = os.environ.get("TB_POCL_DRIVERS", "")
if how == "both":
    check("PoCL shows both CPU drivers (tests/env.sh set POCL_DEVICES)", len(pocl) >= 2,
          f"{len(pocl)} PoCL device(s) under POCL_DEVICES={os.environ.get('POCL_DEVICES')}")
elif how == "caller":
    print(f"NOTE: POCL_DEVICES={os.environ.get('POCL_DEVICES')} was set by the caller: "
          f"{len(pocl)} PoCL device(s), the device-facing tests run on those")
elif pocl:
    print(f"NOTE: this PoCL shows one CPU driver only (neither 'pthread basic' nor 'cpu cpu-minimal' "
          f"shows more): the device-facing tests run on {len(listed)} device(s)")
else:
    print("NOTE: no PoCL here; the drivers check does not apply")
chosen = devices.devices()
check("every usable device is tested", [d.index for d in chosen] ==
      [d["index"] for d in sorted((d for d in listed if d["score"] > 0), key=lambda d: (not d["auto"], d["index"]))]
      or os.environ.get("TB_TEST_DEVICES", "all") != "all", str([d.label for d in chosen]))

# ------------------------------------------------------------ choosing
FAKE = [
    dict(index=0, name="Slow CPU", type="CPU", platform="P", fp64=True, score=110.0, auto=False),
    dict(index=1, name="Big GPU", type="GPU", platform="Q", fp64=True, score=1500.0, auto=True),
    dict(index=2, name="Small GPU", type="GPU", platform="Q", fp64=False, score=1200.0, auto=False),
    dict(index=3, name="Gone", type="GPU", platform="Q", fp64=True, score=0.0, auto=False),
]
got = devices.select(FAKE, {})
check("all usable devices, auto's first, then in list order", [d.index for d in got] == [1, 0, 2],
      str([d.index for d in got]))
check("cross-device comparisons run from the first device's part", [d.first for d in got] == [True, False, False])
check("TB_TEST_DEVICES=auto", [d.index for d in devices.select(FAKE, {"TB_TEST_DEVICES": "auto"})] == [1])
check("TB_TEST_DEVICES=0,2", [d.index for d in devices.select(FAKE, {"TB_TEST_DEVICES": "0,2"})] == [0, 2])
check("TB_TEST_DEVICES never picks an unusable device", devices.select(FAKE, {"TB_TEST_DEVICES": "3"}) == [])
nofp = devices.select(FAKE, {"TB_TEST_NO_FP64": "1"})
check("TB_TEST_NO_FP64 takes fp64 away", [d.fp64 for d in nofp] == [False, True, False])

# ------------------------------------------------------------ the loop
suite = devices.Tests(devices.select(FAKE, {}))
seen = []


def body(dev):
    seen.append((dev.index, os.environ.get("TWINBRAIN_DEVICE")))
    suite.check("a check", dev.index != 0, "fails on device 0 only")
    if dev.index == 1:
        raise SystemExit("FAIL: twinbrain run x.toml exited 3")


out = io.StringIO()
with contextlib.redirect_stdout(out):
    suite.each(body)
text = out.getvalue()
print("\n".join("    | " + line for line in text.splitlines()))
check("the body ran on each device with fp64, with TWINBRAIN_DEVICE set to it", seen == [(1, "1"), (0, "0")],
      str(seen))
check("a header line names each device", "=== device 1: Big GPU (GPU, Q, fp64) ===" in text
      and "=== device 2: Small GPU (GPU, Q, no fp64) ===" in text)
check("a device without fp64 is skipped, saying which and why",
      "SKIP on device 2 (Small GPU): every case of this test (all double precision): "
      "the device has no fp64 (cl_khr_fp64)" in text)
check("a failed check names its device", "FAIL [device 0 (Slow CPU)]: a check" in text)
check("a passed check names its device", "ok [device 1]: a check" in text)
check("a failed command names its device and does not stop the others",
      "FAIL [device 1 (Big GPU)]: twinbrain run x.toml exited 3" in text and (0, "0") in seen)
check("the summary lists each failure with its device",
      suite.failures == ["[device 1 (Big GPU)] twinbrain run x.toml exited 3", "[device 0 (Slow CPU)] a check"],
      str(suite.failures))

# a body with single-precision cases runs without fp64 and asks for the rest
suite = devices.Tests(devices.select(FAKE, {"TB_TEST_DEVICES": "2"}))
out = io.StringIO()
ran = []
with contextlib.redirect_stdout(out):
    suite.each(lambda dev: ran.append(suite.needs_fp64("the double cases")), fp64=False)
check("fp64=False: the body runs, needs_fp64() is False and says so", ran == [False] and
      "SKIP on device 2 (Small GPU): the double cases: the device has no fp64 (cl_khr_fp64)" in out.getvalue(),
      out.getvalue().strip())
# every device skipped: the test is skipped (77), not passed
suite = devices.Tests(devices.select(FAKE, {"TB_TEST_DEVICES": "2"}))
with contextlib.redirect_stdout(io.StringIO()):
    suite.each(lambda dev: None)
    try:
        suite.finish()
        code = 0
    except SystemExit as e:
        code = e.code
check("no device could run it: exit 77 (skipped)", code == 77, str(code))

if failures:
    print("FAIL: " + ", ".join(failures))
    sys.exit(1)
print("PASS")
