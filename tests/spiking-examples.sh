#!/bin/sh
# The spiking examples are valid and run: each one checked, the small ones
# run for a short while (they must spike), the microcircuit at 5% scale
# (its full scale is for the validation script and the benchmark).
. "$TB_SRCDIR/tests/lib.sh"
EX="$TB_SRCDIR/examples/spiking"
for f in coba cuba izhikevich potjans_diesmann potjans_diesmann_dc; do
    expect 0 "ok (spiking network" -- "$TWINBRAIN" check "$EX/$f.toml"
done
expect 0 "synaptic ports" -- "$TWINBRAIN" plugins iaf_cond_exp
expect 0 "\"ports\": [{\"name\": \"ex\", \"unit\": \"pA\"}" -- "$TWINBRAIN" plugins --json iaf_psc_exp
for f in coba cuba izhikevich; do
    expect 0 "spikes written" -- "$TWINBRAIN" run "$EX/$f.toml" -o "$TMP/$f.h5" --set simulation.duration=100
    expect 0 "rate Hz" -- "$TWINBRAIN" spikes stats "$TMP/$f.h5" --warmup 20
done
if have_python; then
    check "the microcircuit generator rewrites the committed files unchanged" sh -c "
        cp '$EX/potjans_diesmann.py' '$TMP/gen.py' &&
        cd '$TMP' && '$TB_PYTHON' gen.py && cmp potjans_diesmann.toml '$EX/potjans_diesmann.toml' &&
        cmp potjans_diesmann_dc.toml '$EX/potjans_diesmann_dc.toml'"
    "$TB_PYTHON" "$EX/potjans_diesmann.py" --scale 0.05 "$TMP/pd5.toml"
    expect 0 "spikes written" -- "$TWINBRAIN" run "$TMP/pd5.toml" -o "$TMP/pd5.h5" --set simulation.duration=50
fi
finish
