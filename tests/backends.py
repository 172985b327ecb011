"""Heterogeneous hardware on the two PoCL drivers (POCL_DEVICES="pthread basic").

- compare: the main example (deterministic, double precision) on devices 0
  and 1 differs at the rounding level, in the table and in JSON; single
  against double on one device differs far more, and less than 1%.
- compare --files: a synthetic pair of spike files (the SONATA layout of
  docs/formats.md) gives the count and rate differences and the first
  divergence time computed here independently.
- offline binaries: `kernels build` writes binary, source and manifest;
  a run with compiling forbidden and a fresh, empty cache loads them and
  gives the same output as a compiled run; a missing binary is named, with
  the command that builds it.
- profile: a second run of the same structure loads the program from the
  cache, and its build time (shown and stored under /profile) drops to the
  cache-load time.
- several devices: a sweep split across devices 0 and 1 gives, for each
  instance, exactly what that instance gives run alone on its device."""
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TB = os.environ["TWINBRAIN"]
SRC = os.environ["TB_SRCDIR"]
EXAMPLE = os.path.join(SRC, "examples", "jansen_rit.toml")
SMALL = os.path.join(SRC, "tests", "scenarios", "small.toml")
failures = []


def check(name, ok, detail=""):
    # details in full when something fails, a line of them otherwise
    shown = detail if not ok or len(detail) < 160 else detail[:157] + "..."
    print(("ok: " if ok else "FAIL: ") + name + (": " + shown if shown else ""))
    if not ok:
        failures.append(name)


def tb(*args, env=None, want=0):
    done = subprocess.run([TB, *args], capture_output=True, text=True, env=env)
    if want is not None and done.returncode != want:
        print(f"FAIL: twinbrain {' '.join(args)} exited {done.returncode}, expected {want}\n{done.stdout}{done.stderr}")
        sys.exit(1)
    return done


def two_devices():
    env = dict(os.environ, POCL_DEVICES="pthread basic")
    if "basic" not in tb("devices", env=env).stdout:
        env["POCL_DEVICES"] = "cpu cpu-minimal"  # PoCL 4 names
    if len(re.findall(r"^\[\d+\]", tb("devices", env=env).stdout, re.M)) != 2:
        print("SKIP: PoCL does not offer two drivers here")
        sys.exit(77)
    return env


def load(path, name="tavg"):
    with h5py.File(path, "r") as f:
        return np.array(f[f"monitors/{name}/data"])


ENV = two_devices()

# -------------------------------------------------------------------- usage
for cmd in (["compare"], ["kernels"], ["kernels", "build"], ["bench", "devices"], ["bench", "all"]):
    check(f"{' '.join(cmd)} --help", f"usage: twinbrain {' '.join(cmd)}" in tb(*cmd, "--help").stdout)
check("compare without a scenario: exit 2", "missing the scenario file" in tb("compare", want=2).stderr)
check("kernels build without -o: exit 2", "missing -o DIR" in tb("kernels", "build", SMALL, want=2).stderr)
check("compare --precisions checks its words", "not single or double" in
      tb("compare", SMALL, "--devices", "0", "--precisions", "half", want=2, env=ENV).stderr)
check("run --help lists --profile, --kernels, --no-compile",
      all(o in tb("run", "--help").stdout for o in ("--profile", "--kernels DIR", "--no-compile")))
SHORT = ["--set", "simulation.duration=100"]

with tempfile.TemporaryDirectory() as tmp:
    # ---------------------------------------------------------------- compare
    table = tb("compare", EXAMPLE, "--devices", "0,1", *SHORT, "-q", env=ENV).stdout
    check("compare prints a run per device", re.search(r"^0\s+0 ", table, re.M) and re.search(r"^1\s+1 ", table, re.M),
          table)
    row = re.search(r"^1\s+tavg\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", table, re.M)
    check("compare's table has the monitor's differences", row is not None, table)
    if row:
        check("table: rounding-level differences", float(row.group(2)) <= 1e-12 and float(row.group(3)) <= 1e-12,
              row.group(0))
    doc = json.loads(tb("compare", EXAMPLE, "--devices", "0,1", *SHORT, "-q", "--json", env=ENV).stdout)
    runs = doc["runs"]
    check("JSON: two runs on devices 0 and 1", [r["device"]["index"] for r in runs] == [0, 1])
    check("JSON: per-run build and run times", all(r["build_seconds"] >= 0 and r["run_seconds"] > 0
                                                   and r["steps_per_second"] > 0 for r in runs))
    d = runs[1]["differences"][0]
    check("JSON: the tavg monitor is compared", d["dataset"] == "tavg" and d["elements"] == 100 * 246 * 3, str(d))
    check("JSON: differences at the rounding level (double precision)",
          d["max_rel"] <= 1e-12 and d["rms"] <= 1e-12 * 10 and d["pearson_r"] >= 1 - 1e-12, str(d))

    prec = json.loads(tb("compare", EXAMPLE, "--devices", "1", "--precisions", "double,single", *SHORT, "-q",
                         "--json", env=ENV).stdout)["runs"]
    ds = prec[1]["differences"][0]
    check("single against double: two runs at the two precisions",
          [r["precision"] for r in prec] == ["double", "single"])
    check("single against double: float rounding shows, but stays small",
          1e-9 < ds["max_rel"] < 1e-2 and ds["pearson_r"] > 0.999, str(ds))

    # a run's output compared with itself through --files, and the JSON/table agree with numpy
    kept = os.path.join(tmp, "kept")
    tb("compare", EXAMPLE, "--devices", "1", "--precisions", "double,single", *SHORT, "-q", "--keep", kept, env=ENV)
    a, b = load(os.path.join(kept, "run0.h5")), load(os.path.join(kept, "run1.h5"))
    files = json.loads(tb("compare", "--files", os.path.join(kept, "run0.h5"), os.path.join(kept, "run1.h5"),
                          "--json").stdout)["files"][1]["differences"][0]
    diff = np.abs(b.astype(float) - a)
    check("--files: max abs as numpy has it", np.isclose(files["max_abs"], diff.max(), rtol=1e-5),
          f"{files['max_abs']} vs {diff.max()}")
    check("--files: max abs over the peak as numpy has it",
          np.isclose(files["max_abs_over_peak"], diff.max() / np.abs(a).max(), rtol=1e-5))
    check("--files: RMS as numpy has it", np.isclose(files["rms"], np.sqrt(np.mean(diff ** 2)), rtol=1e-5))
    check("--files: Pearson r as numpy has it",
          np.isclose(files["pearson_r"], np.corrcoef(a.ravel(), b.ravel())[0, 1], rtol=0, atol=1e-12))
    floor = 1e-6 * np.abs(a).max()
    check("--files: max rel as documented", np.isclose(files["max_rel"], (diff / np.maximum(np.abs(a), floor)).max(),
                                                       rtol=1e-5))

    # ---------------------------------------------------------------- spikes (synthetic)
    def spikes(path, pops, duration=1000.0):
        with h5py.File(path, "w") as f:
            f.attrs["duration_ms"] = duration
            for name, (t, ids, n) in pops.items():
                g = f.create_group(f"spikes/{name}")
                g.attrs["sorting"] = "by_time"
                g.attrs["n_nodes"] = n
                g.create_dataset("timestamps", data=np.asarray(t, dtype=np.float64))
                g.create_dataset("node_ids", data=np.asarray(ids, dtype=np.uint64))

    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 1000, 500)).round(1)
    ids = rng.integers(0, 80, 500)
    ref_pops = {"exc": (t, ids, 80), "inh": (t[:100], ids[:100] % 20, 20)}
    # exc: the same spikes written in another order within each time, then a
    # node changes at spike 300 and 7 spikes are lost at the end
    order = np.lexsort((-ids, t))
    t2, ids2 = t[order].copy(), ids[order].copy()
    k = 300
    ids2[k] = (ids2[k] + 1) % 80
    t2, ids2 = t2[:-7], ids2[:-7]
    spikes(os.path.join(tmp, "s0.h5"), ref_pops)
    spikes(os.path.join(tmp, "s1.h5"), {"exc": (t2, ids2, 80), "inh": ref_pops["inh"]})
    sp = {s["population"]: s for s in json.loads(tb("compare", "--files", os.path.join(tmp, "s0.h5"),
                                                    os.path.join(tmp, "s1.h5"), "--json").stdout)
          ["files"][1]["spikes"]}
    e, i = sp.get("exc", {}), sp.get("inh", {})
    check("spikes: counts and their difference", e.get("count_reference") == 500 and e.get("count") == 493
          and e.get("count_difference") == -7, str(e))
    check("spikes: rates per neuron (Hz)", np.isclose(e.get("rate_reference_hz", 0), 500 / 80 / 1.0)
          and np.isclose(e.get("rate_difference_hz", 0), -7 / 80), str(e))
    # where sorting by (time, node) first disagrees, computed independently
    sa = sorted(zip(t, ids))
    sb = sorted(zip(t2, ids2))
    first = next(j for j in range(len(sb)) if sa[j] != sb[j])
    want = min(sa[first][0], sb[first][0])
    check("spikes: first divergence time", np.isclose(e.get("first_divergence_ms", -1), want)
          and e.get("matching_spikes") == first, f"{e.get('first_divergence_ms')} vs {want}")
    check("spikes: identical trains never diverge", i.get("first_divergence_ms") is None
          and i.get("count_difference") == 0 and i.get("rate_difference_hz") == 0, str(i))
    text = tb("compare", "--files", os.path.join(tmp, "s0.h5"), os.path.join(tmp, "s1.h5")).stdout
    check("spikes: the table shows both populations", "exc" in text and "inh" in text and "never" in text, text)

    # ---------------------------------------------------------------- offline binaries
    kdir = os.path.join(tmp, "kernels")
    out = tb("kernels", "build", SMALL, "--device", "1", "-o", kdir, env=ENV).stdout
    manifest = json.load(open(os.path.join(kdir, "manifest.json")))
    prog = manifest["programs"][0]
    check("kernels build: manifest names the program's binary and source",
          os.path.isfile(os.path.join(kdir, prog["binary"])) and os.path.isfile(os.path.join(kdir, prog["source"]))
          and prog["binary"] == prog["name"] + ".bin" and manifest["device"]["index"] == 1, str(manifest))
    check("kernels build: the program's kernels are listed (v++ -k NAME)", "tb_mass_run" in prog.get("kernels", []))
    check("kernels build: the accepted vendor binaries are listed",
          prog["accepted_binaries"] == [prog["name"] + e for e in (".bin", ".aocx", ".xclbin")])
    empty = os.path.join(tmp, "empty-cache")
    os.mkdir(empty)
    nocomp = dict(ENV, TWINBRAIN_NO_COMPILE="1", TWINBRAIN_CACHE_DIR=empty)
    pre = os.path.join(tmp, "prebuilt.h5")
    run = tb("run", SMALL, "--device", "1", "--kernels", kdir, "-o", pre, "--profile", env=nocomp).stdout
    check("compiling forbidden, empty cache: the prebuilt binary runs", "loaded prebuilt" in run, run)
    check("the empty cache stayed empty", os.listdir(empty) == [])
    comp = os.path.join(tmp, "compiled.h5")
    tb("run", SMALL, "--device", "1", "-o", comp, "-q", env=ENV)
    check("the prebuilt binary computes what the compiled program does", np.array_equal(load(pre), load(comp)))
    with h5py.File(pre, "r") as f:
        check("the output's profile says prebuilt", list(f["profile/programs/origin"].asstr()[:]) == ["prebuilt"])
    # another structure (a bold monitor) needs another binary: named, with the command
    other = ["--set", 'monitor=[{name = "b", kind = "bold", period = 5.0}]']
    miss = tb("run", SMALL, "--device", "1", "--kernels", kdir, "-o", pre, *other, env=nocomp, want=3).stderr
    name = re.search(r"expected (\S+)\.bin", miss)
    check("missing binary: exit 3 and the file named", name is not None and name.group(1).startswith(kdir + "/model_"),
          miss)
    check("missing binary: program label, device and the build command", "model 'jansen_rit'" in miss
          and "device 1 (" in miss and f"twinbrain kernels build {SMALL} --device 1 -o {kdir}" in miss
          and "bold" in miss, miss)
    miss = tb("run", SMALL, "--device", "1", "--no-compile", "-o", pre, *other,
              env=dict(ENV, TWINBRAIN_CACHE_DIR=empty), want=3).stderr
    check("--no-compile without a kernels folder says how to get one", "--kernels DIR" in miss, miss)
    tb("kernels", "build", SMALL, "--device", "1", "-o", kdir, *other, env=ENV)
    tb("run", SMALL, "--device", "1", "--kernels", kdir, "-o", pre, "-q", *other, env=nocomp)
    check("kernels build with the same --set makes the missing binary", True)

    # ---------------------------------------------------------------- build time: compile, then cache
    # PoCL keeps its own cache of compiled programs: a fresh one too, or the
    # "compile" would be PoCL's cache hit
    # PoCL keeps its own cache, so twinbrain stores nothing there unless told to
    fresh = dict(ENV, TWINBRAIN_CACHE_DIR=os.path.join(tmp, "fresh-cache"), TWINBRAIN_CACHE_STORE="1",
                 POCL_CACHE_DIR=os.path.join(tmp, "fresh-pocl-cache"))
    # a structure no other test builds (an extra monitor), so the first build compiles
    uniq = ["--set", 'monitor=[{name = "tavg", kind = "temporal_average", period = 2.0, variables = ["y1"]}]']
    secs = []
    for k in range(2):
        path = os.path.join(tmp, f"p{k}.h5")
        text = tb("run", SMALL, "--device", "1", "-o", path, "--profile", *uniq, env=fresh).stdout
        m = re.search(r"program\s+model 'jansen_rit'\s+([0-9.]+) s\s+(compiled|loaded from cache)", text)
        check(f"profile run {k + 1}: the program build is shown", m is not None, text)
        check(f"profile run {k + 1}: kernel launches are counted", re.search(r"kernel\s+tb_mass_run\s+[1-9]", text)
              is not None, text)
        with h5py.File(path, "r") as f:
            origin = f["profile/programs/origin"].asstr()[0]
            secs.append(float(f["profile/programs/seconds"][0]))
            names = list(f["profile/name"].asstr()[:])
        check(f"profile run {k + 1}: stored origin", origin == ("compiled" if k == 0 else "cache"), origin)
        check(f"profile run {k + 1}: stored kernel and host rows", "tb_mass_run" in names
              and "writing output (HDF5)" in names, str(names))
    check("the second run's build time drops to the cache-load time", secs[1] < secs[0] / 5,
          f"{secs[0]:.3f} s compiled, {secs[1]:.4f} s from the cache")

    # ---------------------------------------------------------------- several devices
    sweep = ["--set", 'sweep={"coupling.parameters.a" = [0.5, 1.5], "simulation.seed" = [3, 4, 5]}',
             "--set", "integrator.noise.sigma={y4 = 0.5}"]
    split = os.path.join(tmp, "split.h5")
    text = tb("run", SMALL, "--device", "0,1", "-o", split, *sweep, env=ENV).stdout
    check("the summary says which instances ran where", "instances 0 to 2" in text and "instances 3 to 5" in text,
          text)
    whole = load(split)
    with h5py.File(split, "r") as f:
        a_vals, seeds = f["sweep/coupling.parameters.a"][:], f["sweep/simulation.seed"][:]
        where = {int(k): dict(f["devices"][k].attrs) for k in f["devices"]}
    check("/devices: device 0 ran instances 0-2, device 1 instances 3-5",
          [(w["index"], w["first_instance"], w["instances"]) for _, w in sorted(where.items())]
          == [(0, 0, 3), (1, 3, 3)], str(where))
    check("the split output has every instance", whole.shape[1] == 6, str(whole.shape))
    same = True
    for b in range(6):
        dev = "0" if b < 3 else "1"
        alone = os.path.join(tmp, f"alone{b}.h5")
        tb("run", SMALL, "--device", dev, "-o", alone, "-q", "--set", "integrator.noise.sigma={y4 = 0.5}",
           "--set", f"coupling.parameters.a={a_vals[b]}", "--set", f"simulation.seed={int(seeds[b])}", env=ENV)
        d = np.abs(load(alone)[:, 0] - whole[:, b]).max()
        same &= d == 0.0
        check(f"instance {b} (device {dev}) equals its run alone", d == 0.0, f"max difference {d:.3g}")
    tb("run", SMALL, "--device", "all", "-o", split, "-q", *sweep, env=ENV)
    check("--device all splits the same way", np.array_equal(load(split), whole))
    tb("run", SMALL, "-o", split, "-q", *sweep, "--set", 'simulation.device=["0", "1"]', env=ENV)
    check("simulation.device = [\"0\", \"1\"] splits the same way", np.array_equal(load(split), whole))
    err = tb("run", SMALL, "--device", "0,1", "-o", split, env=ENV, want=2).stderr
    check("two devices for one instance: refused", "each device needs at least" in err, err)
    err = tb("run", SMALL, "--device", "1,1", "-o", split, *sweep, env=ENV, want=3).stderr
    check("the same device twice: refused", "both choose device 1" in err, err)

# -------------------------------------------------------------------- benchmarks across backends
limits = json.loads(tb("bench", "devices", "--devices", "0,1", "--seconds", "0.2", "--json", env=ENV).stdout)["devices"]
check("bench devices: one entry per device", [d["index"] for d in limits] == [0, 1])
keys = ("copy_gb_per_s", "triad_gb_per_s", "read_to_host_gb_per_s", "single_gflop_per_s", "double_gflop_per_s",
        "launch_us")
check("bench devices: every limit measured and positive", all(d[k] and d[k] > 0 for d in limits for k in keys),
      str(limits))
every = json.loads(tb("bench", "all", "--devices", "1", "--seconds", "0.05", "--json", env=ENV).stdout)["devices"]
work = [w for w in every[0]["workloads"] if w["workload"].startswith("mass ")] if every else []
check("bench all: the mass family's standard workloads", len(work) == 4
      and all(w["unit"] == "region-steps/s" and w["value"] > 0 for w in work), str(work))
copy = every[0]["limits"]["copy_gb_per_s"] if every else 0
check("bench all: fraction of the copy bandwidth = figure x bytes per unit / bandwidth",
      all(np.isclose(w["fraction_of_copy_bandwidth"], w["value"] * w["bytes_per_unit"] / (copy * 1e9), rtol=1e-3)
          for w in work), str(work))

if failures:
    print("FAIL: " + ", ".join(failures))
    sys.exit(1)
print("PASS")
