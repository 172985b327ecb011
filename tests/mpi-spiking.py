"""One spiking network split over MPI ranks (docs/mpi.md) spikes exactly as
one process does: COBA (Brette et al. 2007, 4,000 neurons) and the
Potjans-Diesmann microcircuit at 2 % of its neurons (Poisson background,
spikes and population rates recorded), and 300 neurons driven by COBA's
spikes through a spike_file input, under `mpirun -np 2` and `-np 3`
(oversubscribed on this host), with chunks of 37 steps so that the
recorded spikes of other ranks cross chunk boundaries: every dataset
(SONATA timestamps and node_ids of every population, the rates) equals
the single-process run's (numpy.array_equal), and the file counts every
rank's synapses. On the first device also: a record the split cannot
carry yet (state) is a usage error said once; more ranks than neurons is
refused; a rank killed with SIGKILL ends mpirun within the hang guard,
rank 0 saying why and closing its file (status "interrupted") with the
spikes of a single run of as many steps as it says (`steps`), at most
one chunk more.

Skips (77) when twinbrain was built without MPI (./configure --with-mpi),
or no mpirun or h5py is found."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

if os.environ.get("TB_WITH_MPI") != "yes":
    print("SKIP: twinbrain was built without MPI (./configure --with-mpi, with libopenmpi-dev)")
    sys.exit(77)
MPIRUN = os.environ.get("TB_MPIRUN", "none")
if MPIRUN == "none" or not os.path.exists(MPIRUN):
    print("SKIP: no mpirun (apt-get install openmpi-bin)")
    sys.exit(77)
try:
    import h5py
    import numpy as np
except ImportError:
    print("SKIP: no h5py/numpy for this Python")
    sys.exit(77)

TB = os.environ["TWINBRAIN"]
SRC = os.environ["TB_SRCDIR"]
suite = devices.Tests()
check = suite.check
MPI_ENV = {"OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
HANG_GUARD = 120  # seconds: far beyond what ending a run takes; only a hang reaches it
CHUNK = "37"


def mpirun(np_, args):
    return [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), TB] + args


def env(**extra):
    e = dict(os.environ, **MPI_ENV)
    e.update(extra)
    return e


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, o: out.__setitem__(name, o[()]) if isinstance(o, h5py.Dataset) else None)
    return {k: v for k, v in out.items() if k.startswith(("spikes/", "monitors/"))}


def same(single, other):
    a, b = datasets(single), datasets(other)
    if sorted(a) != sorted(b):
        return False, f"datasets differ: {sorted(set(a) ^ set(b))}"
    for k in a:
        if a[k].shape != b[k].shape or not np.array_equal(a[k], b[k]):
            return False, f"{k}: {a[k].shape} vs {b[k].shape}, not equal"
    spikes = sum(len(v) for k, v in a.items() if k.endswith("node_ids"))
    return spikes > 0, f"{len(a)} datasets equal, {spikes} spikes"


def synapses(path):
    with h5py.File(path, "r") as f:
        return int(f.attrs["synapses"]), int(f.attrs.get("mpi_ranks", 1)), str(f.attrs["status"])


def blocks(path, ranks):
    """Each rank's (rank, first_neuron, neurons) from /devices."""
    with h5py.File(path, "r") as f:
        return [(int(f[f"devices/{r}"].attrs["mpi_rank"]), int(f[f"devices/{r}"].attrs["first_neuron"]),
                 int(f[f"devices/{r}"].attrs["neurons"])) for r in range(ranks)], int(f.attrs["neurons"])


def microcircuit(tmp):
    path = os.path.join(tmp, "pd.toml")
    subprocess.run([sys.executable, os.path.join(SRC, "examples/spiking/potjans_diesmann.py"), "--scale", "0.02",
                    path], check=True)
    with open(path, "a") as f:
        f.write('\n[[record]]\nkind = "rates"\nbin = 2.0\n')
    return path


def driven(tmp, spikes):
    """300 neurons driven by COBA's E spikes (a spike_file input, its own
    work-group on every rank), fixed in-degree (shared buckets, sorted)
    and recurrent synapses with drawn weights and delays."""
    path = os.path.join(tmp, "driven.toml")
    with open(path, "w") as f:
        f.write(f"""[simulation]
duration = 60.0
dt = 0.1
seed = 3
[[population]]
name = "P"
model = "iaf_psc_exp"
size = 300
[[input]]
name = "src"
kind = "spike_file"
file = "{spikes}"
population = "E"
[[projection]]
source = "src"
target = "P"
rule = "fixed_indegree"
indegree = 40
weight = 400.0
delay = 0.5
[[projection]]
source = "P"
target = "P"
rule = "pairwise_bernoulli"
p = 0.1
weight = {{ dist = "normal", mean = 5.0, std = 2.0 }}
delay = {{ dist = "uniform", low = 0.2, high = 2.0 }}
[[record]]
kind = "spikes"
[[record]]
kind = "rates"
""")
    return path


def compare(tmp, name, sc, duration):
    sets = ["--set", f"simulation.duration={duration}"]
    single = os.path.join(tmp, f"{name}-1.h5")
    subprocess.run([TB, "run", sc, "-o", single, "-q"] + sets, check=True, env=env(TWINBRAIN_CHUNK_STEPS=CHUNK))
    for ranks in (2, 3):
        out = os.path.join(tmp, f"{name}-{ranks}.h5")
        done = subprocess.run(mpirun(ranks, ["run", sc, "-o", out, "-q"] + sets), capture_output=True, text=True,
                              env=env(TWINBRAIN_CHUNK_STEPS=CHUNK), timeout=HANG_GUARD * 5)
        check(f"{name}, {ranks} ranks: the run succeeds", done.returncode == 0, done.stderr[-2000:])
        if done.returncode != 0:
            continue
        ok, detail = same(single, out)
        check(f"{name}, {ranks} ranks: spike trains and rates equal the single process's", ok, detail)
        got, want = synapses(out), synapses(single)
        check(f"{name}, {ranks} ranks: the file counts every rank's synapses, says its ranks",
              got == (want[0], ranks, "completed"), f"{got} vs {want}")
        b, n = blocks(out, ranks)
        tiles = [r for r, _, _ in b] == list(range(ranks)) and b[0][1] == 0 and all(
            b[i][1] + b[i][2] == b[i + 1][1] for i in range(ranks - 1)) and b[-1][1] + b[-1][2] == n
        check(f"{name}, {ranks} ranks: /devices gives each rank a block of neurons, together all {n}",
              tiles and all(c > 0 for _, _, c in b), b)


def killed(tmp, sc):
    """SIGKILL rank 1 of a long 2-rank run once spikes are in the file."""
    out = os.path.join(tmp, "killed.h5")
    mark = uuid.uuid4().hex
    p = subprocess.Popen(mpirun(2, ["run", sc, "-o", out, "-q", "--set", "simulation.duration=1e6"]),
                         stderr=subprocess.PIPE, text=True,
                         env=env(TWINBRAIN_CHUNK_STEPS="50", TB_MPI_TEST_MARK=mark))
    deadline = time.time() + HANG_GUARD
    rows = 0
    while rows == 0 and time.time() < deadline and p.poll() is None:
        time.sleep(0.3)
        try:
            with h5py.File(out, "r", swmr=True) as f:
                rows = f["spikes/E/timestamps"].shape[0]
        except (OSError, KeyError):
            pass
    for pid in [d for d in os.listdir("/proc") if d.isdigit()]:
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                e = f.read().split(b"\0")
        except OSError:
            continue
        if f"TB_MPI_TEST_MARK={mark}".encode() in e and b"OMPI_COMM_WORLD_RANK=1" in e:
            os.kill(int(pid), signal.SIGKILL)
    t0 = time.time()
    try:
        _, err = p.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        check("killed rank: mpirun ends, no hang", False, f"still running {HANG_GUARD} s after the kill")
        return
    secs = time.time() - t0
    check("killed rank: mpirun ends, no hang", True, f"exit {p.returncode} {secs:.1f} s after the kill")
    check("killed rank: the run fails", p.returncode != 0, f"exit {p.returncode}")
    check("killed rank: rank 0 says why", "stopped while" in err, err.strip().splitlines()[-6:])
    with h5py.File(out, "r") as f:  # closed: an ordinary reader opens it
        status = str(f.attrs.get("status"))
        steps = int(f.attrs.get("steps", -1))
    check("killed rank: the file is closed with its status", status == "interrupted", f"{status}, {steps} steps")
    if steps <= 0:
        return
    ref = os.path.join(tmp, "killed-ref.h5")
    subprocess.run([TB, "run", sc, "-o", ref, "-q", "--set", f"simulation.duration={steps * 0.1}"], check=True)
    a, b = datasets(ref), datasets(out)
    # spikes of the chunk in flight may follow: at most 50 steps (5 ms)
    ok = all(len(b[k]) >= len(a[k]) and np.array_equal(a[k], b[k][:len(a[k])]) for k in a)
    late = b["spikes/E/timestamps"][len(a["spikes/E/timestamps"]):]
    ok = ok and (len(late) == 0 or late.max() <= (steps + 50) * 0.1 + 1e-9)
    check(f"killed rank: its spikes are a single run's of its {steps} steps (at most a chunk more)", ok,
          {k: (a[k].shape, b[k].shape) for k in a})


def body(dev):
    if not suite.needs_fp64("the spiking networks (double precision)"):
        return
    coba = os.path.join(SRC, "examples/spiking/coba.toml")
    with tempfile.TemporaryDirectory() as tmp:
        compare(tmp, "coba", coba, 60.0)
        compare(tmp, "microcircuit", microcircuit(tmp), 60.0)
        compare(tmp, "spike-file", driven(tmp, os.path.join(tmp, "coba-1.h5")), 60.0)
        if not dev.first:
            return
        state = os.path.join(tmp, "state.toml")
        with open(coba) as f, open(state, "w") as g:
            g.write(f.read() + '\n[[record]]\nkind = "state"\npopulation = "E"\nvariables = ["V_m"]\n')
        done = subprocess.run(mpirun(2, ["run", state, "-o", os.path.join(tmp, "state.h5")]), capture_output=True,
                              text=True, env=env(), timeout=HANG_GUARD)
        msg = 'kind = "state" is not available for a network split over MPI ranks'
        check("a state record over ranks: usage error (2), said once",
              done.returncode == 2 and done.stderr.count(msg) == 1, f"exit {done.returncode}: {done.stderr[-600:]}")
        check("... and no file left behind", not os.path.exists(os.path.join(tmp, "state.h5")))
        tiny = os.path.join(tmp, "tiny.toml")
        with open(tiny, "w") as f:
            f.write('[simulation]\nduration = 1.0\ndt = 0.1\n[[population]]\nname = "P"\nmodel = "iaf_psc_exp"\n'
                    'size = 2\n[[record]]\nkind = "spikes"\n')
        done = subprocess.run(mpirun(3, ["run", tiny, "-o", os.path.join(tmp, "tiny.h5")]), capture_output=True,
                              text=True, env=env(), timeout=HANG_GUARD)
        msg = "3 MPI ranks but the network has 2 neurons"
        check("more ranks than neurons: usage error (2), said once",
              done.returncode == 2 and done.stderr.count(msg) == 1, f"exit {done.returncode}: {done.stderr[-600:]}")
        killed(tmp, coba)


suite.each(body)
suite.finish()
