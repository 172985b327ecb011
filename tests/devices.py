"""One test body on every OpenCL device (docs/testing.md).

tests/env.sh makes PoCL show all of its CPU drivers (POCL_DEVICES); this
module lists the devices with `twinbrain devices --json` and runs a test's
body once per device, with TWINBRAIN_DEVICE set to the device's index, so
that every `twinbrain run` in the body (and every subprocess that inherits
os.environ) runs there:

    import devices
    suite = devices.Tests()
    check = suite.check           # prints and records, naming the device

    def body(dev):                # dev: a Device (index, name, fp64, first)
        ...                       # `twinbrain run` here runs on dev
        if suite.needs_fp64("the double-precision cases"):
            ...                   # without fp64: skipped, with a line saying so

    suite.each(body)              # fp64=False if the body has single cases
    suite.finish()                # PASS / FAIL naming devices / SKIP (77)

A failure (a failed check, an entry appended to suite.failures, an
assertion, a `twinbrain` command that exits badly) is reported with the
device it happened on, and the loop goes on with the next device. Each
device's part starts with a line naming it and ends with its count of
failures and its time:

    === device 0: basic-skylake-avx512-AMD EPYC (CPU, Portable Computing Language, fp64) ===
    ok [device 0]: ...
    FAIL [device 0 (basic-skylake-avx512-AMD EPYC)]: ...
    --- device 0 (basic-skylake-avx512-AMD EPYC): 1 failure(s), 12.3 s

Environment:
  TB_TEST_DEVICES  which devices: all (the default: every device with a
                   positive score, i.e. available with a compiler), auto
                   (only the one `auto` picks), or indices "0,2".
  TB_TEST_NO_FP64  indices to treat as lacking fp64 ("0,1"), to see the
                   skip path on a machine whose devices all have it.

Run as a program, it prints the devices the tests would use, one per line:
INDEX, fp64 (yes/no), NAME, tab-separated (tests/lib.sh reads this).
"""
import json
import os
import subprocess
import sys
import time
import traceback


class Device:
    def __init__(self, d, no_fp64=(), first=False):
        self.index = int(d["index"])
        self.name = d["name"]
        self.type = d.get("type", "?")
        self.platform = d.get("platform", "?")
        self.fp64 = bool(d.get("fp64")) and self.index not in no_fp64
        self.fp64_faked = bool(d.get("fp64")) and self.index in no_fp64
        self.auto = bool(d.get("auto"))
        self.first = first  # the first device tested: cross-device comparisons run from its part

    @property
    def label(self):
        return f"device {self.index} ({self.name})"

    def env(self, base=None, **extra):
        """An environment for a subprocess that must run on this device."""
        e = dict(os.environ if base is None else base, TWINBRAIN_DEVICE=str(self.index))
        e.update(extra)
        return e

    def describe(self):
        fp64 = "fp64" if self.fp64 else ("no fp64 (TB_TEST_NO_FP64)" if self.fp64_faked else "no fp64")
        return f"{self.type}, {self.platform}, {fp64}"


def _indices(text):
    return {int(x) for x in text.replace(",", " ").split() if x.strip().isdigit()}


def select(listing, environ=None):
    """The devices to test on, from a parsed `twinbrain devices --json`.

    Usable devices only (positive score: available, with a compiler). The
    first device tested is the one `auto` picks (the default device, which
    every test ran on before); the others follow in list order."""
    env = os.environ if environ is None else environ
    want = env.get("TB_TEST_DEVICES", "all").strip() or "all"
    no_fp64 = _indices(env.get("TB_TEST_NO_FP64", ""))
    usable = [d for d in listing if d.get("score", 1) > 0]
    if want == "auto":
        usable = [d for d in usable if d.get("auto")] or usable[:1]
    elif want != "all":
        idx = _indices(want)
        usable = [d for d in usable if int(d["index"]) in idx]
    usable.sort(key=lambda d: (not d.get("auto"), int(d["index"])))
    return [Device(d, no_fp64, first=k == 0) for k, d in enumerate(usable)]


def listing():
    exe = os.environ["TWINBRAIN"]
    done = subprocess.run([exe, "devices", "--json"], capture_output=True, text=True)
    if done.returncode != 0:  # a broken listing must fail the test, not skip it
        print(f"FAIL: {exe} devices --json exited {done.returncode}\n{done.stdout}{done.stderr}")
        sys.exit(1)
    return json.loads(done.stdout or "[]")


def devices():
    return select(listing())


class Tests:
    """A test's checks, across devices."""

    def __init__(self, device_list=None):
        self.devices = devices() if device_list is None else device_list
        self.failures = []      # messages; those added while a device runs get its label
        self.current = None
        self.ran = []           # devices whose body ran
        self.skips = []         # (device label, what, why)
        self._host_checks = False

    # ------------------------------------------------------------ checks
    def where(self):  # for failures: the device's index and name
        return f" [{self.current.label}]" if self.current else ""

    def tag(self):  # for passes: the device's index
        return f" [device {self.current.index}]" if self.current else ""

    def check(self, name, ok, detail=""):
        """Prints `ok: NAME: DETAIL` or `FAIL [device N (NAME)]: NAME: DETAIL`."""
        if ok:
            print(f"ok{self.tag()}: {name}" + (f": {detail}" if detail else ""))
        else:
            print(f"FAIL{self.where()}: {name}" + (f": {detail}" if detail else ""))
            self.failures.append(name)
        return ok

    def skip(self, what, why):
        dev = self.current
        label = dev.label if dev else "every device"
        print(f"SKIP on {label}: {what}: {why}")
        self.skips.append((label, what, why))

    def needs_fp64(self, what="the double-precision cases"):
        """True if the current device has fp64; else prints a SKIP line
        naming the device and `what`, and returns False."""
        dev = self.current
        if dev is None or dev.fp64:
            return True
        why = "no fp64 (TB_TEST_NO_FP64)" if dev.fp64_faked else "the device has no fp64 (cl_khr_fp64)"
        self.skip(what, why)
        return False

    # ------------------------------------------------------------ the loop
    def each(self, body, fp64=True):
        """Runs body(dev) on every device. fp64=True: the body is all
        double precision, so a device without fp64 skips it whole (saying
        so); fp64=False: the body runs everywhere and asks needs_fp64()
        for its double-precision cases."""
        if not self.devices:
            print("SKIP: no usable OpenCL device (twinbrain devices --json lists none with a positive score)")
            sys.exit(77)
        for dev in self.devices:
            self.current = dev
            print(f"=== device {dev.index}: {dev.name} ({dev.describe()}) ===", flush=True)
            if fp64 and not self.needs_fp64("every case of this test (all double precision)"):
                continue
            saved = os.environ.get("TWINBRAIN_DEVICE")
            os.environ["TWINBRAIN_DEVICE"] = str(dev.index)
            start, t0 = len(self.failures), time.time()
            try:
                body(dev)
            except SystemExit as e:  # reference.run_twinbrain and friends: a failed command
                if e.code not in (0, None):
                    msg = str(e.code).strip()
                    msg = msg[len("FAIL: "):] if msg.startswith("FAIL: ") else msg
                    print(f"FAIL{self.where()}: {msg}")
                    self.failures.append(msg.splitlines()[0][:300] if msg else "exited")
            except Exception as e:  # an assertion or an error in the body
                traceback.print_exc(file=sys.stdout)
                print(f"FAIL{self.where()}: {type(e).__name__}: {e}")
                self.failures.append(f"{type(e).__name__}: {str(e)[:300]}")
            finally:
                if saved is None:
                    os.environ.pop("TWINBRAIN_DEVICE", None)
                else:
                    os.environ["TWINBRAIN_DEVICE"] = saved
            for k in range(start, len(self.failures)):
                self.failures[k] = f"[{dev.label}] {self.failures[k]}"
            self.ran.append(dev)
            print(f"--- {dev.label}: {len(self.failures) - start} failure(s), {time.time() - t0:.1f} s", flush=True)
        self.current = None

    def finish(self):
        if self.failures:
            print("FAIL:\n  " + "\n  ".join(self.failures))
            sys.exit(1)
        if not self.ran and not self._host_checks:
            print("SKIP: no device ran this test: " + "; ".join(f"{d}: {w} ({y})" for d, w, y in self.skips))
            sys.exit(77)
        names = ", ".join(d.label for d in self.ran)
        print(f"PASS on {len(self.ran)} device(s): {names}" +
              (f"; {len(self.skips)} skip(s) listed above" if self.skips else ""))
        sys.exit(0)

    def host(self):
        """Marks that the test also checked things that need no device (so
        that finish() passes, rather than skips, when every device skipped)."""
        self._host_checks = True


def main():
    for d in devices():
        print(f"{d.index}\t{'yes' if d.fp64 else 'no'}\t{d.name}")


if __name__ == "__main__":
    main()
