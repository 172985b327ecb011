"""`twinbrain bench` under `mpirun -np 2` (docs/mpi.md): every rank runs
its share of each workload and rank 0 alone prints. `bench spiking
--quick --only coba --json`: exit 0 and stdout is exactly one JSON
document (two ranks printing would make it two), saying 2 ranks, COBA's
4,000 neurons and 319,602 synapses (the network of one process), about
5,000 exchanges per rank (1 s simulated, one exchange every 2 steps of
0.1 ms), and bytes per rank and exchange that fit the model of
docs/mpi.md, 4 (1 + d p + spikes / (R exchanges)), for a whole number p of
partitions per rank. `bench mass` with a 1- and a 16-instance sweep: one
table, saying 2 ranks; the 16-instance row measured, the 1-instance row
skipped with the reason (fewer instances than ranks).

Skips (77) when twinbrain was built without MPI (./configure --with-mpi)
or no mpirun is found."""
import json
import os
import subprocess
import sys

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
SRC = os.environ["TB_SRCDIR"]
suite = devices.Tests()
check = suite.check
HANG_GUARD = 300  # seconds: only a hang reaches it
ENV = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none", OMPI_MCA_rmaps_base_oversubscribe="1",
           TWINBRAIN_EXAMPLES=os.path.join(SRC, "examples/spiking"))


def bench(args):
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", "2", TB, "bench"] + args
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=HANG_GUARD)


def spiking(dev):
    done = bench(["spiking", "--quick", "--only", "coba", "--json", "--device", str(dev.index)])
    check("bench spiking under mpirun -np 2: exit 0", done.returncode == 0,
          f"exit {done.returncode}: {done.stderr[-800:]}")
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        check("... stdout is one JSON document (rank 0 alone prints)", False, f"{e}: {done.stdout[:600]}")
        return
    check("... stdout is one JSON document (rank 0 alone prints)", True)
    r = doc["results"][0] if doc.get("results") else {}
    check("... it says 2 ranks and one workload", doc.get("ranks") == 2 and len(doc["results"]) == 1, str(doc)[:400])
    check("... COBA as one process builds it: 4000 neurons, 319602 synapses",
          r.get("neurons") == 4000 and r.get("synapses") == 319602, str(r))
    n, nbytes, spikes = r.get("exchanges_per_rank", 0), r.get("bytes_per_rank_and_exchange", 0), r.get("spikes", 0)
    check("... about 5000 exchanges per rank (1 s, every 2 steps of 0.1 ms)", 5000 <= n <= 5010, str(r))
    d = 2
    p = (nbytes / 4 - 1 - spikes / (2 * n)) / d if n else 0
    check("... bytes per rank and exchange fit 4 (1 + d p + spikes / (R exchanges)), p whole",
          p > 0.75 and abs(p - round(p)) < 0.1, f"{nbytes:.2f} bytes, {spikes} spikes: p = {p:.3f}")
    share, mpi = r.get("exchange_share", -1), r.get("mpi_share", -1)
    check("... the exchange shares are fractions, MPI's within the exchange's", 0 < mpi <= share < 1, str(r))


def mass(dev):
    done = bench(["mass", "--models", "wong_wang_ei", "--regions", "68", "--instances", "1,16", "--precision",
                  "double", "--seconds", "0.3", "--device", str(dev.index)])
    out = done.stdout
    check("bench mass under mpirun -np 2: exit 0", done.returncode == 0, f"exit {done.returncode}: {done.stderr[-800:]}")
    check("... one table (rank 0 alone prints)", out.count("device: ") == 1 and out.count("rs/s: region-steps") == 1,
          out[:800])
    check("... it says 2 MPI ranks", "2 MPI ranks" in out, out[:300])
    rows = [line.split() for line in out.splitlines() if line.startswith("wong_wang_ei")]
    measured = [r for r in rows if len(r) >= 8 and r[2] == "16" and float(r[6]) > 0]
    check("... the 16-instance sweep measured", len(measured) == 1, str(rows))
    check("... the 1-instance run skipped: fewer instances than ranks",
          any(r[2] == "1" and "skipped:" in r and "2 MPI ranks but the run has 1 instance" in " ".join(r)
              for r in rows), str(rows))


def body(dev):
    spiking(dev)
    mass(dev)


suite.each(body)
suite.finish()
