#!/bin/sh
# The spiking examples are valid and run: each one checked, the small ones
# run for a short while on every device (they must spike), the microcircuit
# at 5% scale (its full scale is for the validation script and the
# benchmark), and compare finds the same spikes on every device.
. "$TB_SRCDIR/tests/lib.sh"
EX="$TB_SRCDIR/examples/spiking"
for f in coba cuba izhikevich potjans_diesmann potjans_diesmann_dc; do
    expect 0 "ok (spiking network" -- "$TWINBRAIN" check "$EX/$f.toml"
done
expect 0 "synaptic ports" -- "$TWINBRAIN" plugins iaf_cond_exp
expect 0 "\"ports\": [{\"name\": \"ex\", \"unit\": \"pA\"}" -- "$TWINBRAIN" plugins --json iaf_psc_exp
# The short runs on every device (tests/devices.py).
run_examples() {
    needs_fp64 "the examples (double precision)" || return 0
    for f in coba cuba izhikevich; do
        expect 0 "spikes written" -- "$TWINBRAIN" run "$EX/$f.toml" -o "$TMP/$f.h5" --set simulation.duration=100
        expect 0 "rate Hz" -- "$TWINBRAIN" spikes stats "$TMP/$f.h5" --warmup 20
    done
    if have_python; then
        expect 0 "spikes written" -- "$TWINBRAIN" run "$TMP/pd5.toml" -o "$TMP/pd5.h5" --set simulation.duration=50
    fi
}
have_python && "$TB_PYTHON" "$EX/potjans_diesmann.py" --scale 0.05 "$TMP/pd5.toml"
for_each_device run_examples
if have_python; then
    check "the microcircuit generator rewrites the committed files unchanged" sh -c "
        cp '$EX/potjans_diesmann.py' '$TMP/gen.py' &&
        cd '$TMP' && '$TB_PYTHON' gen.py && cmp potjans_diesmann.toml '$EX/potjans_diesmann.toml' &&
        cmp potjans_diesmann_dc.toml '$EX/potjans_diesmann_dc.toml'"
    # the benchmark's short form: its figures are consistent with each other
    "$TWINBRAIN" bench spiking --examples "$EX" --only coba --quick --json >"$TMP/bench.json" 2>/dev/null
    check "bench spiking --json: COBA's real-time factor, events/s and the C loop's" "$TB_PYTHON" -c "
import json, sys
r = json.load(open('$TMP/bench.json'))['results'][0]
ok = (r['simulated_s'] == 1 and r['neurons'] == 4000 and r['synapses'] > 0 and r['spikes'] > 0
      and abs(r['real_time_factor'] - r['wall_s'] / r['simulated_s']) < 1e-3 * r['real_time_factor']
      and r['synaptic_events_per_s'] > 0 and r['baseline_real_time_factor'] > 0 and r['device_gb'] > 0)
sys.exit(0 if ok else 1)"
    # twinbrain compare reads the kit's SONATA spikes: every device agrees
    # with the first (tests/env.sh shows both PoCL drivers)
    list=$(tb_devices | cut -f1 | paste -sd, -)
    case $list in
    *,*)
        "$TWINBRAIN" compare "$EX/cuba.toml" --devices "$list" \
            --set simulation.duration=50 --json >"$TMP/compare.json" 2>/dev/null
        check "compare: CUBA's spike trains identical on devices $list" "$TB_PYTHON" -c "
import json, sys
runs = json.load(open('$TMP/compare.json'))['runs'][1:]
sys.exit(0 if runs and all([x['population'] for x in r['spikes']] == ['E', 'I'] and all(
    x['count'] > 0 and x['count_difference'] == 0 and x['first_divergence_ms'] is None for x in r['spikes'])
    for r in runs) else 1)" ;;
    *) echo "SKIP: compare across devices: one device only ($list)" ;;
    esac
    TWINBRAIN_EXAMPLES="$EX" "$TWINBRAIN" bench all --devices auto --seconds 0.05 --json >"$TMP/all.json" 2>/dev/null
    check "bench all: COBA in both precisions among the standard workloads" "$TB_PYTHON" -c "
import json, sys
w = [x for x in json.load(open('$TMP/all.json'))['devices'][0]['workloads'] if x['workload'].startswith('spiking')]
sys.exit(0 if [x['workload'][-6:] for x in w] == ['single', 'double'] and all(x['value'] > 0 for x in w) else 1)"
fi
finish
