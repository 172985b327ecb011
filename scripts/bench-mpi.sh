#!/bin/sh
# Strong and weak scaling from 1 process to 2 MPI ranks, in one invocation
# (docs/performance.md#twinbrain-bench-over-mpi-ranks):
#   strong: the same work at 1 process and `mpirun -np 2` (speed-up = rate at 2 / rate at 1);
#   weak:   the work doubled with the ranks (efficiency = 1-process time / 2-rank time; 1 is ideal).
# Workloads: a neural-mass sweep (`bench mass`, wong_wang_ei on 68 regions, B and 2B
# instances), COBA (`bench spiking --only coba`, 1 s) and the Poisson-driven
# microcircuit at the scale S and 2S (`bench spiking --only poisson --scale`).
#
# usage: scripts/bench-mpi.sh            (after `. tests/env.sh` in a build --with-mpi, or
#                                         with twinbrain installed)
# environment: TWINBRAIN (the command; default twinbrain), MPIRUN (default mpirun),
#   DEVICE (each rank's device; default 'name~basic', PoCL's one-thread device, so 2 ranks
#   use 2 threads where 1 process uses one), INSTANCES (B, default 64), SCALE (S, default
#   0.02), SECONDS (per mass measurement, default 1), TWINBRAIN_EXAMPLES (examples/spiking).
# Prints each run's figures, then the ratios. Figures measured on a shared machine say what
# MPI costs there, not what a cluster gains: say which machine, and how loaded, with them.
set -eu
TB=${TWINBRAIN:-twinbrain}
MPIRUN=${MPIRUN:-mpirun}
DEVICE=${DEVICE:-name~basic}
B=${INSTANCES:-64}
S=${SCALE:-0.02}
SECONDS_=${SECONDS:-1}
here=$(cd "$(dirname "$0")" && pwd)
export TWINBRAIN_EXAMPLES=${TWINBRAIN_EXAMPLES:-$here/../examples/spiking}
export OMPI_MCA_btl_vader_single_copy_mechanism=none
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=
[ "$(id -u)" = 0 ] && root=--allow-run-as-root

# run NAME RANKS ARGS...: the bench's JSON into $tmp/NAME.json
run() {
    name=$1 ranks=$2
    shift 2
    echo "== $name: $ranks rank(s): twinbrain bench $* --device '$DEVICE' --json" >&2
    if [ "$ranks" = 1 ]; then
        "$TB" bench "$@" --device "$DEVICE" --json >"$tmp/$name.json"
    else
        "$MPIRUN" $root --oversubscribe -np "$ranks" "$TB" bench "$@" --device "$DEVICE" --json >"$tmp/$name.json"
    fi
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
mass="mass --models wong_wang_ei --regions 68 --precision double --seconds $SECONDS_"
# shellcheck disable=SC2086
run mass-1-B 1 $mass --instances "$B"
# shellcheck disable=SC2086
run mass-2-B 2 $mass --instances "$B"
# shellcheck disable=SC2086
run mass-2-2B 2 $mass --instances "$((2 * B))"
run coba-1 1 spiking --only coba --quick
run coba-2 2 spiking --only coba --quick
S2=$(python3 -c "print(2 * $S)")
run mc-1-S 1 spiking --only poisson --quick --scale "$S"
run mc-2-S 2 spiking --only poisson --quick --scale "$S"
run mc-2-2S 2 spiking --only poisson --quick --scale "$S2"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$tmp" "$B" "$S" <<'EOF'
import json, os, sys
tmp, B, S = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def res(name):
    with open(os.path.join(tmp, name + ".json")) as f:
        doc = json.load(f)
    return doc["ranks"], doc["results"][0]
print(f"{'run':34} {'ranks':>5} {'figure':>12} {'unit':18} {'exchanging':>10} {'in MPI':>7} {'B/rank/exch':>11}")
rows = {}
for name, what in [("mass-1-B", f"sweep {B}"), ("mass-2-B", f"sweep {B}"), ("mass-2-2B", f"sweep {2 * B}")]:
    ranks, r = res(name)
    rows[name] = r["engine_region_steps_per_s"]
    print(f"{'wong_wang_ei 68 regions, ' + what:34} {ranks:5} {rows[name]:12.4g} {'region-steps/s':18}")
for name, what in [("coba-1", "COBA 4000, 1 s"), ("coba-2", "COBA 4000, 1 s"), ("mc-1-S", f"microcircuit {S:g}"),
                   ("mc-2-S", f"microcircuit {S:g}"), ("mc-2-2S", f"microcircuit {2 * S:g}")]:
    ranks, r = res(name)
    rows[name] = r["real_time_factor"]
    ex = (f"{100 * r['exchange_share']:9.1f}% {100 * r['mpi_share']:6.1f}% {r['bytes_per_rank_and_exchange']:11.1f}"
          if "exchange_share" in r else "")
    print(f"{what + ', ' + str(r['neurons']) + ' neurons':34} {ranks:5} {rows[name]:12.4g} {'real-time factor':18} {ex}")
print()
print(f"mass sweep, strong ({B} instances): speed-up 2 ranks / 1 process = {rows['mass-2-B'] / rows['mass-1-B']:.2f}")
print(f"mass sweep, weak ({B} -> {2 * B} instances): efficiency = {rows['mass-2-2B'] / (2 * rows['mass-1-B']):.2f}")
print(f"COBA, strong: speed-up = {rows['coba-1'] / rows['coba-2']:.2f}")
print(f"microcircuit, strong (scale {S:g}): speed-up = {rows['mc-1-S'] / rows['mc-2-S']:.2f}")
print(f"microcircuit, weak (scale {S:g} -> {2 * S:g}): efficiency = {rows['mc-1-S'] / rows['mc-2-2S']:.2f}")
print("(speed-up: 2 is ideal; efficiency: 1 is ideal)")
EOF
