"""A sweep over MPI ranks (docs/mpi.md) writes the file a single process
writes: under `mpirun -np 2` and `-np 3` (oversubscribed on this host),
with small chunks so that rows cross between ranks many times, every
dataset equals the single-process run's (numpy.array_equal: bit for bit),
/devices records which rank ran which instances, and rank 0 says at
start-up how many ranks and devices run. On the first device also: too
few instances for the ranks is a usage error reported once; a device
error on rank 1 alone is reported by rank 0 ("rank 1: ..."); Ctrl-C on
mpirun, and a rank killed with SIGKILL, end the run within the hang guard
with rank 0's file closed (status "interrupted"), its first rows equal to
a single-process run of as many steps as the file says every rank
delivered (`steps`), at most the chunk in flight after them.

Skips (77) when twinbrain was built without MPI (./configure --with-mpi)
or no mpirun is found."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"], "tests"))
import devices  # noqa: E402

if os.environ.get("TB_WITH_MPI") != "yes":
    print("SKIP: twinbrain was built without MPI (./configure --with-mpi, with libopenmpi-dev)")
    sys.exit(77)
MPIRUN = os.environ.get("TB_MPIRUN", "none")
if MPIRUN == "none" or not os.path.exists(MPIRUN):
    print("SKIP: no mpirun (apt-get install openmpi-bin)")
    sys.exit(77)

TB = os.environ["TWINBRAIN"]
suite = devices.Tests()
check = suite.check
# Containers often forbid the cross-memory attach Open MPI's shared-memory
# transport uses; copying through shared memory works everywhere.
MPI_ENV = {"OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
HANG_GUARD = 120  # seconds: far beyond what ending a run takes; only a hang reaches it

SCENARIO = """
[simulation]
duration = {duration}
dt = 0.5
seed = 11
[connectome]
file = "{con}"
[model]
plugin = "wong_wang_ei"
[coupling]
function = "linear"
parameters = {{ a = 1.0 }}
[integrator.noise]
sigma = {{ S_e = 0.01 }}
[[monitor]]
name = "tavg"
period = 2.0
variables = ["S_e"]
[[monitor]]
name = "raw"
kind = "subsample"
period = 1.0
[sweep]
"model.parameters.G" = {{ linspace = [0.0, 0.5, {n}] }}
"""


def mpirun(np_, args, **kw):
    return [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(np_), TB] + args


def env(**extra):
    e = dict(os.environ, **MPI_ENV)
    e.update(extra)
    return e


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, o: out.__setitem__(name, o[()]) if isinstance(o, h5py.Dataset) else None)
    return {k: v for k, v in out.items() if not k.startswith("profile/")}


def same_file(single, other):
    a, b = datasets(single), datasets(other)
    if sorted(a) != sorted(b):
        return False, f"datasets differ: {sorted(set(a) ^ set(b))}"
    for k in a:
        if a[k].shape != b[k].shape or not np.array_equal(a[k], b[k]):
            return False, f"{k}: {a[k].shape} vs {b[k].shape}, not equal"
    return True, f"{len(a)} datasets equal"


def split(total, ranks):
    counts = [total // ranks + (r < total % ranks) for r in range(ranks)]
    return [(sum(counts[:r]), counts[r]) for r in range(ranks)]


def write(tmp, name, **kw):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(SCENARIO.format(**kw))
    return path


def stop_run(tmp, sc, how, mark):
    """Start a long run on 2 ranks, wait for rows, then stop it `how`
    (SIGINT to mpirun, or SIGKILL to rank 1); returns (returncode, stderr,
    output path, seconds from the signal to mpirun's end)."""
    out = os.path.join(tmp, f"stopped-{how}.h5")
    p = subprocess.Popen(mpirun(2, ["run", sc, "-o", out, "-q"]), stderr=subprocess.PIPE, text=True,
                         env=env(TWINBRAIN_CHUNK_STEPS="20", TB_MPI_TEST_MARK=mark))
    deadline = time.time() + HANG_GUARD
    rows = 0
    while rows < 20 and time.time() < deadline and p.poll() is None:
        time.sleep(0.3)
        try:
            with h5py.File(out, "r", swmr=True) as f:
                rows = f["monitors/raw/data"].shape[0]
        except (OSError, KeyError):
            pass
    if how == "interrupt":
        p.send_signal(signal.SIGINT)
    else:  # rank 1: the process carrying this run's mark and rank
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
        _, err = p.communicate()
        return None, err, out, HANG_GUARD
    return p.returncode, err, out, time.time() - t0


def check_stopped(tmp, con, sc, how):
    rc, err, out, secs = stop_run(tmp, sc, how, uuid.uuid4().hex)
    check(f"{how}: mpirun ends, no hang", rc is not None, f"exit {rc} {secs:.1f} s after the signal")
    check(f"{how}: the run fails (non-zero exit)", rc not in (0, None), f"exit {rc}")
    said = "interrupted" if how == "interrupt" else "stopped while"
    check(f"{how}: rank 0 says why", said in err, err.strip().splitlines()[-6:])
    with h5py.File(out, "r") as f:  # closed: an ordinary reader opens it
        status = f.attrs.get("status")
        steps = int(f.attrs.get("steps", -1))
    check(f"{how}: the file is closed with its status", status == "interrupted", f"status {status}, {steps} steps")
    if steps <= 0:
        return
    part = write(tmp, f"part-{how}.toml", duration=steps * 0.5, con=con, n=7)
    ref = os.path.join(tmp, f"part-{how}.h5")
    subprocess.run([TB, "run", part, "-o", ref, "-q"], check=True)
    a, b = datasets(ref), datasets(out)
    mon = [k for k in a if k.startswith("monitors/")]
    ok = all(len(b[k]) >= len(a[k]) and np.array_equal(a[k], b[k][:len(a[k])]) for k in mon)
    check(f"{how}: its first rows equal a single run of its {steps} steps", ok,
          {k: (a[k].shape, b[k].shape) for k in mon if k.endswith("data")})
    # rows of the chunk in flight may follow (rank 0's instances only):
    # at most one chunk of 20 steps, 10 raw samples
    extra = len(b["monitors/raw/data"]) - len(a["monitors/raw/data"])
    check(f"{how}: at most the chunk in flight after them", 0 <= extra <= 10, f"{extra} more raw rows")


def body(dev):
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "c.h5")
        subprocess.run([TB, "connectome", "generate", "--regions", "20", "--seed", "5", "-o", con], check=True,
                       capture_output=True)
        n = 7
        sc = write(tmp, "s.toml", duration=40.0, con=con, n=n)
        single = os.path.join(tmp, "single.h5")
        subprocess.run([TB, "run", sc, "-o", single, "-q"], check=True)
        for ranks in (2, 3):
            out = os.path.join(tmp, f"mpi{ranks}.h5")
            done = subprocess.run(mpirun(ranks, ["run", sc, "-o", out, "-q"]), capture_output=True, text=True,
                                  env=env(TWINBRAIN_CHUNK_STEPS="7"))
            check(f"{ranks} ranks: the run succeeds", done.returncode == 0, done.stderr[-2000:])
            if done.returncode != 0:
                continue
            said = f"twinbrain: MPI: {ranks} ranks, {ranks} devices in all"
            check(f"{ranks} ranks: rank 0 says how many ranks and devices, once", done.stderr.count(said) == 1,
                  done.stderr.strip())
            ok, detail = same_file(single, out)
            check(f"{ranks} ranks: every dataset equals the single-process run's", ok, detail)
            with h5py.File(out, "r") as f:
                got = [(int(f[f"devices/{k}"].attrs["mpi_rank"]), int(f[f"devices/{k}"].attrs["first_instance"]),
                        int(f[f"devices/{k}"].attrs["instances"])) for k in range(ranks)]
                whole = (int(f.attrs["mpi_ranks"]), str(f.attrs["status"]), int(f.attrs["instances"]))
            want = [(r, first, count) for r, (first, count) in enumerate(split(n, ranks))]
            check(f"{ranks} ranks: /devices says which rank ran which instances", got == want, f"{got} vs {want}")
            check(f"{ranks} ranks: the file's attributes", whole == (ranks, "completed", n), whole)
        if not dev.first:
            return
        few = subprocess.run(mpirun(3, ["run", sc, "-o", os.path.join(tmp, "few.h5"), "--set",
                                        "sweep={}"]), capture_output=True, text=True, env=env())
        msg = "3 MPI ranks but the run has 1 instance"
        check("more ranks than instances: usage error (2), said once", few.returncode == 2 and
              few.stderr.count(msg) == 1, f"exit {few.returncode}: {few.stderr.strip()[-600:]}")
        check("... and no file left behind", not os.path.exists(os.path.join(tmp, "few.h5")))
        # rank 1 alone cannot open its device: rank 0 reports rank 1's error
        bad = os.path.join(tmp, "bad.h5")
        one = subprocess.run([MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", "1", TB, "run", sc, "-o", bad,
                              "-q", ":", "-np", "1", TB, "run", sc, "-o", bad, "-q", "--device", "99"],
                             capture_output=True, text=True, env=env(), timeout=HANG_GUARD)
        msg = 'twinbrain: error: rank 1: no OpenCL device matches selector "99"'
        check("one rank's device error: rank 0 reports it, exit 3", one.returncode == 3 and
              one.stderr.count(msg) == 1, f"exit {one.returncode}: {one.stderr.strip()[-600:]}")
        check("... and no file left behind", not os.path.exists(bad))
        long_sc = write(tmp, "long.toml", duration=2.0e6, con=con, n=n)
        check_stopped(tmp, con, long_sc, "interrupt")
        check_stopped(tmp, con, long_sc, "kill")


suite.each(body)
suite.finish()
