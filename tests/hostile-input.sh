#!/bin/sh
# Hostile scenario values and input files: each is refused with its own
# message (file, line and column or --set, and the key; or the input file
# and dataset) and the documented exit status. None may crash (the whole
# file is also run under AddressSanitizer), and none may run silently wrong.
#
# Two classes: values of the wrong type (a string, table or date where a
# number is expected; a list entry that is not a table), and numbers that
# would overflow what they become (a count, an index, a step).
. "$TB_SRCDIR/tests/lib.sh"
S="$TB_SRCDIR/tests/scenarios/small.toml"

# lacks TEXT: the output of the last successful expect does not contain TEXT
# (a value reported as wrong must not be read by a later check).
lacks() {
    CHECKS=$((CHECKS + 1))
    if printf '%s' "$LAST_OUTPUT" | grep -qF -- "$1"; then
        echo "FAIL: the output says '$1' as well:"
        printf '%s\n' "$LAST_OUTPUT" | sed 's/^/    | /' | head -n 20
        FAILED=$((FAILED + 1))
    else
        echo "ok: ... and not '$1'"
    fi
}

mass() { # mass NAME: stdin's extra lines after a small Jansen-Rit scenario -> $TMP/NAME.toml
    {
        printf '[simulation]\nduration = 20.0\ndt = 0.1\n\n[connectome]\nfile = "data/synthetic_246.h5"\n\n'
        cat
    } > "$TMP/$1.toml"
}

# ---------------------------------------------------------------- wrong types, neural mass

# a string, an inline table, a date, a time where a number is expected
printf '[model]\nplugin = "jansen_rit"\nparameters = { mu = "fast" }\n' | mass mu
expect 2 "mu.toml:10:21: model.parameters.mu must be a number or an array of numbers, not string" -- \
    "$TWINBRAIN" check "$TMP/mu.toml"
expect 2 "model.parameters.A must be a number or an array of numbers, not string" -- \
    "$TWINBRAIN" check "$S" --set model.parameters.A=abc
expect 2 "model.parameters.A must be a number or an array of numbers, not table" -- \
    "$TWINBRAIN" check "$S" --set 'model.parameters.A={x = 1}'
expect 2 "model.parameters.A must be a number or an array of numbers, not local date" -- \
    "$TWINBRAIN" check "$S" --set model.parameters.A=1979-05-27
expect 2 "model.parameters.A[1] must be a number, not string" -- "$TWINBRAIN" check "$S" --set 'model.parameters.A=[3.0, "x"]'
expect 2 "coupling.parameters.a must be a number or an array of numbers, not string" -- \
    "$TWINBRAIN" check "$S" --set coupling.function=sigmoidal_jansen_rit --set coupling.parameters.a=strong
# noise amplitudes and initial values
expect 2 "integrator.noise.sigma.y0 must be a number or an array of numbers, not table" -- \
    "$TWINBRAIN" check "$S" --set 'integrator.noise.sigma={y0 = {a = 1}}'
expect 2 "integrator.noise.sigma.y0[1] must be a number, not table" -- \
    "$TWINBRAIN" check "$S" --set 'integrator.noise.sigma={y0 = [0.1, {a = 1}]}'
expect 2 "initial.y0 must be a number, an array of one per region" -- "$TWINBRAIN" check "$S" --set initial.y0=1979-05-27
expect 2 "initial.y0[1] must be a number, not string" -- "$TWINBRAIN" check "$S" --set 'initial.y0=[0.0, "x"]'
expect 2 "initial.y0 must be a number, an array of one per region" -- "$TWINBRAIN" check "$S" --set 'initial.y0={uniform = [0.0, inf]}'
# monitor constants and keys
expect 2 "monitor[0].parameters.tau must be a number or an array of numbers, not string" -- \
    "$TWINBRAIN" check "$S" --set 'monitor=[{name = "b", kind = "bold", parameters = {tau = "slow"}}]'
expect 2 "monitor[0].parameters.tau[1] must be a number, not string" -- \
    "$TWINBRAIN" check "$S" --set 'monitor=[{name = "b", kind = "bold", parameters = {tau = [1.0, "x"]}}]'
lacks "must be one number"
expect 2 "monitor[0].parameters.E0 must be <= 1 (got 5)" -- \
    "$TWINBRAIN" check "$S" --set 'monitor=[{name = "b", kind = "bold", parameters = {E0 = 5.0}}]'
lacks "k1"
expect 2 "monitor[0].period must be a number, not string" -- "$TWINBRAIN" check "$S" --set 'monitor=[{name = "r", kind = "raw", period = "x"}]'
lacks "must equal simulation.dt"
expect 2 "monitor[1].start must be a number, not string" -- \
    "$TWINBRAIN" check "$S" --set 'monitor=[{name = "t"}, {name = "f", kind = "fc", source = "t", start = "x"}]'
lacks "end > start"
expect 2 "monitor[0].kind must be one of" -- "$TWINBRAIN" check "$S" --set 'monitor=[{name = "b", kind = "bld", parameters = {tau = 1.0}}]'
lacks "does not apply"
expect 2 "monitor[0] must be a table, not string" -- "$TWINBRAIN" check "$S" --set 'monitor=["tavg"]'
# stimulus fields
expect 2 "stimulus[0].amplitude must be a number, not string" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, amplitude = "big"}]'
expect 2 "stimulus[0].onset must be a number, not table" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, onset = {a = 1}}]'
lacks "must come after onset"
expect 2 "stimulus[0].stop (2 ms) must come after onset (5 ms)" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, onset = 5.0, stop = 2.0}]'
expect 2 "stimulus[1] must be a table, not integer" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0}, 3]'
# a declared model without derivatives
expect 2 "[model] declares variables but no derivatives" -- "$TWINBRAIN" check "$S" --set 'model={name = "m", variables = ["x"]}'
expect 2 "model.ranges.x must be [low, high], finite numbers" -- "$TWINBRAIN" check "$S" \
    --set 'model={name = "m", variables = ["x"], derivatives = {x = "-x"}, ranges = {x = [0.0, inf]}}'
# a sweep axis without values, alone or zipped
expect 2 "sweep \"model.parameters.A\" has no values" -- "$TWINBRAIN" check "$S" \
    --set 'sweep={zip = {"model.parameters.A" = [], "model.parameters.B" = [20.0]}}'
expect 2 "sweep \"model.parameters.B\" has no values" -- "$TWINBRAIN" check "$S" \
    --set 'sweep={zip = {"model.parameters.A" = [3.0, 3.5], "model.parameters.B" = []}}'
lacks "has 2 values but"
expect 2 "sweep \"model.parameters.A\": start and stop must be finite" -- "$TWINBRAIN" check "$S" \
    --set 'sweep={"model.parameters.A" = {linspace = [0.0, inf, 3]}}'
expect 2 "sweep \"model.parameters.A\": value inf must be finite" -- "$TWINBRAIN" check "$S" \
    --set 'sweep={"model.parameters.A" = {logspace = [0.0, 400.0, 3]}}'
expect 2 "simulation.dt must be a number, not string" -- "$TWINBRAIN" check "$S" --set simulation.dt=fast
lacks "whole multiple"

# ---------------------------------------------------------------- numbers out of range, neural mass

# a conduction speed that makes delays beyond what the history ring holds
printf '[model]\nplugin = "jansen_rit"\n' | mass slow
sed -i 's/^file = "data\/synthetic_246.h5"$/&\nspeed = 1e-300/' "$TMP/slow.toml"
expect 2 "slow.toml:7:9: connectome.speed: at 1e-300 mm/ms the tract from" -- "$TWINBRAIN" check "$TMP/slow.toml"
expect 2 "the delay history holds at most 2147483645 steps" -- "$TWINBRAIN" run "$TMP/slow.toml" -o "$TMP/slow.h5"
check "a refused delay writes no output file" test ! -e "$TMP/slow.h5"
expect 2 "connectome.speed must be > 0 (got -inf)" -- "$TWINBRAIN" check "$S" --set connectome.speed=-inf
expect 0 "ok (mass model" -- "$TWINBRAIN" check "$S" --set connectome.speed=inf
# a step count beyond 2^53
expect 2 "simulation.duration / simulation.dt is 1e+300 steps (1 ms of 1e-300 ms); a run has at most 2^53" -- \
    "$TWINBRAIN" check "$S" --set simulation.dt=1e-300 --set simulation.duration=1.0
expect 2 "simulation.duration must be finite (got inf)" -- "$TWINBRAIN" check "$S" --set simulation.duration=inf
expect 2 "monitor[0].period (1e+300 ms) is 1e+301 steps of 0.1 ms; a period has at most 2^53" -- \
    "$TWINBRAIN" check "$S" --set 'monitor=[{name = "m", period = 1e300}]'
# non-finite values that used to reach the generated code ("undeclared identifier 'inf'")
expect 2 "stimulus[0].amplitude must be finite (got inf)" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, amplitude = inf}]'
expect 2 "stimulus[0].amplitude must be finite (got -inf)" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, amplitude = -inf}]'
expect 2 "stimulus[0].amplitude must be a number, not nan" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, amplitude = nan}]'
expect 2 "stimulus[0].onset must be finite (got inf)" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, onset = inf}]'
expect 2 "stimulus[0].weights[0] must be finite (got inf)" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, regions = [0], weights = [inf]}]'
expect 2 "stimulus[0].frequency (1.7e+308 Hz) is too large" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 1.7e308}]'
expect 2 "stimulus[0].period (1e-300 ms) is too short" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "series", period = 1e-300, file = "../../examples/data/synthetic_246.h5"}]'
expect 2 "model.parameters.A must be finite (got inf)" -- "$TWINBRAIN" check "$S" --set model.parameters.A=inf
expect 2 "initial.y0 must be finite (got -inf)" -- "$TWINBRAIN" check "$S" --set initial.y0=-inf
expect 2 "integrator.noise.sigma.y0 must be finite (got inf)" -- "$TWINBRAIN" check "$S" --set 'integrator.noise.sigma={y0 = inf}'
# a stimulus region index is checked by check, not only by run
expect 2 "stimulus regions: index 300 is outside 0..245" -- "$TWINBRAIN" check "$S" \
    --set 'stimulus=[{variable = "y0", kind = "sinusoid", frequency = 10.0, regions = [0, 300]}]'
# a pulse train longer than a double holds never ends (it used to print "inf" into the kernel)
expect 0 "output" -- "$TWINBRAIN" run "$S" -o "$TMP/train.h5" --set simulation.duration=2.0 \
    --set 'stimulus=[{variable = "y0", kind = "pulse_train", period = 1e300, width = 1.0, count = 9000000000000000000}]'
# connectome info keeps delays beyond any integer type as they are
expect 0 "delay steps     3568255900847880" -- "$TWINBRAIN" connectome info "$TB_SRCDIR/examples/data/synthetic_246.h5" --speed 1e-300

# ---------------------------------------------------------------- spiking

B="$TMP/base.toml"
cat > "$B" <<'TOML'
[simulation]
duration = 10.0
dt = 0.1

[[population]]
name = "E"
model = "iaf_psc_exp"
size = 10

[[population]]
name = "I"
model = "iaf_psc_exp"
size = 5

[[projection]]
source = "E"
target = "I"
rule = "fixed_indegree"
indegree = 3
weight = 10.0

[[record]]
kind = "spikes"
TOML
expect 0 "spiking network: 2 populations" -- "$TWINBRAIN" check "$B"

# list entries that are not tables
expect 2 "population[0] must be a table, not string" -- "$TWINBRAIN" check "$B" --set 'population=["x"]'
lacks "no population named"
expect 2 "projection[0] must be a table, not string" -- "$TWINBRAIN" check "$B" --set 'projection=["x"]'
expect 2 "input[1] must be a table, not integer" -- "$TWINBRAIN" check "$B" \
    --set 'input=[{name = "x", kind = "dc", amplitude = 1.0}, 1]'
expect 2 "record[1] must be a table, not float" -- "$TWINBRAIN" check "$B" --set 'record=[{kind = "spikes"}, 3.0]'
expect 2 "neuron_model[0] must be a table, not array" -- "$TWINBRAIN" check "$B" --set 'neuron_model=[["m"]]'
expect 2 "population[0].size must be an integer, not string" -- "$TWINBRAIN" check "$B" \
    --set 'population=[{name = "E", model = "iaf_psc_exp", size = "ten"}, {name = "I", model = "iaf_psc_exp", size = 5}]'
lacks "indegree"
expect 2 "population[0].name must be a string, not integer" -- "$TWINBRAIN" check "$B" \
    --set 'population=[{name = 1, model = "iaf_psc_exp", size = 10}, {name = "I", model = "iaf_psc_exp", size = 5}]'
lacks "no population named 'E'"
expect 2 "projection[0].weight.dist must be a string, not integer" -- "$TWINBRAIN" check "$B" \
    --set 'projection=[{source = "E", target = "I", rule = "all_to_all", weight = {dist = 3, mean = 1.0, std = 0.1}}]'
expect 2 "input[0].stop must be a number, not string" -- "$TWINBRAIN" check "$B" \
    --set 'input=[{name = "x", kind = "dc", amplitude = 1.0, stop = "later"}]'
lacks "must come before stop"
expect 2 "neuron_model[0].state.V must be a finite number" -- "$TWINBRAIN" check "$B" \
    --set 'neuron_model=[{name = "lif", state = {V = inf}, update = "V = V;", threshold = "V > 1.0"}]'

# delays beyond what a run holds (they used to become one step)
P='projection=[{source = "E", target = "I", rule = "all_to_all", weight = 1.0, delay = DELAY}]'
for d in 1e+20 1e+300; do
    expect 2 "projection[0].delay reaches $d ms" -- "$TWINBRAIN" check "$B" --set "$(echo "$P" | sed "s/DELAY/$d/")"
    expect 2 "a run holds delays of at most 2^29 = 536870912 steps" -- "$TWINBRAIN" run "$B" -o "$TMP/delay.h5" \
        --set "$(echo "$P" | sed "s/DELAY/$d/")"
done
check "a refused delay writes no output file" test ! -e "$TMP/delay.h5"
expect 2 "projection[0].delay must be finite (got inf)" -- "$TWINBRAIN" check "$B" --set "$(echo "$P" | sed "s/DELAY/inf/")"
expect 2 "projection[0].delay reaches 1e+20 ms" -- "$TWINBRAIN" check "$B" \
    --set "$(echo "$P" | sed 's/DELAY/{dist = "uniform", low = 1.0, high = 1e20}/')"
expect 2 "projection[0].delay reaches 7e+20 ms" -- "$TWINBRAIN" check "$B" \
    --set "$(echo "$P" | sed 's/DELAY/{dist = "normal", mean = 1.0, std = 1e20, min = 0.5}/')"
expect 2 "projection[0].weight (1e+300) is beyond single precision" -- "$TWINBRAIN" check "$B" \
    --set 'projection=[{source = "E", target = "I", rule = "all_to_all", weight = 1e300}]'
# rates, periods, counts
expect 2 "input[0].rate must be finite (got inf)" -- "$TWINBRAIN" check "$B" \
    --set 'input=[{name = "x", kind = "poisson", rate = inf, weight = 1.0}]'
expect 2 "record[0].bin (1e+300 ms) is 1e+301 steps of 0.1 ms; at most 2^53" -- "$TWINBRAIN" check "$B" \
    --set 'record=[{kind = "rates", bin = 1e300}]'
expect 2 "record[0].period (1e+300 ms) is 1e+301 steps" -- "$TWINBRAIN" check "$B" \
    --set 'record=[{kind = "state", population = "E", period = 1e300}]'
expect 2 "population 'J' brings the neurons to 4294967297; a run holds at most 4294967295" -- "$TWINBRAIN" check "$B" \
    --set 'population=[{name = "E", model = "iaf_psc_exp", size = 2147483647}, {name = "I", model = "iaf_psc_exp", size = 2147483647}, {name = "J", model = "iaf_psc_exp", size = 3}]' \
    --set 'projection=[]'
expect 0 "ok (spiking network" -- "$TWINBRAIN" check "$B" \
    --set 'input=[{name = "x", kind = "dc", amplitude = 1.0, start = 1e300}]'

# spikes stats: option values are numbers, and bins a count the analysis holds
expect 0 "" -- "$TWINBRAIN" run "$B" -o "$TMP/spikes.h5"
expect 2 "--bin 1e-300 ms makes 1e+301 bins of (0, 10] ms; at most 100000000" -- \
    "$TWINBRAIN" spikes stats "$TMP/spikes.h5" --bin 1e-300
expect 2 "--warmup needs a finite number, not 'abc'" -- "$TWINBRAIN" spikes stats "$TMP/spikes.h5" --warmup abc
expect 2 "--sample needs a whole number from 2 to 1000000, not '-1'" -- "$TWINBRAIN" spikes stats "$TMP/spikes.h5" --sample -1

# ---------------------------------------------------------------- input files

if have_python; then
    "$TB_PYTHON" - "$TMP" <<'PY'
import h5py, numpy as np, sys
d = sys.argv[1]
# a two-region connectome whose tract would take 3e300 steps at the default speed
with h5py.File(d + "/long.h5", "w") as f:
    f["weights"] = np.array([[0.0, 1.0], [1.0, 0.0]])
    f["tract_lengths"] = np.array([[0.0, 1e300], [1e300, 0.0]])
    f["region_labels"] = np.array([b"A", b"B"])
# node id 2^64 - 1: the number of sources, id + 1, used to wrap to 0
with h5py.File(d + "/ids.h5", "w") as f:
    f["spikes/a/timestamps"] = [1.0, 2.0]
    f["spikes/a/node_ids"] = np.array([0, 2**64 - 1], dtype=np.uint64)
# a spike long after the run: skipped, never converted out of range
with h5py.File(d + "/late.h5", "w") as f:
    f["spikes/a/timestamps"] = [1.0, 1e300]
    f["spikes/a/node_ids"] = np.array([0, 1], dtype=np.uint64)
with h5py.File(d + "/delays.h5", "w") as f:
    f["source"] = [0, 1]; f["target"] = [0, 1]; f["weight"] = [1.0, 1.0]; f["delay"] = [1.0, 1e20]
with h5py.File(d + "/weights.h5", "w") as f:
    f["source"] = [0, 1]; f["target"] = [0, 1]; f["weight"] = [1.0, 1e300]; f["delay"] = [1.0, 1.0]
PY
    printf '[model]\nplugin = "jansen_rit"\n' | mass long
    sed -i 's|data/synthetic_246.h5|long.h5|' "$TMP/long.toml"
    expect 4 "long.toml:6:8: connectome.file: $TMP/long.h5: /tract_lengths[0,1] = 1e+300 mm (from 'B' to 'A') is a delay of 3.33333e+300 steps" -- \
        "$TWINBRAIN" check "$TMP/long.toml"
    expect 4 "the delay history holds at most 2147483645 steps" -- "$TWINBRAIN" run "$TMP/long.toml" -o "$TMP/long-out.h5"
    check "a refused connectome writes no output file" test ! -e "$TMP/long-out.h5"
    expect 4 "ids.h5: node id /spikes/a/node_ids[1] = 18446744073709551615 is too large: a spike file has at most 2147483647 sources" -- \
        "$TWINBRAIN" check "$B" --set 'input=[{name = "x", kind = "spike_file", file = "ids.h5"}]' \
        --set 'projection=[{source = "x", target = "I", rule = "all_to_all", weight = 1.0}]'
    expect 4 "ids.h5: node id /spikes/a/node_ids[1] = 18446744073709551615 is not below input.size" -- \
        "$TWINBRAIN" check "$B" --set 'input=[{name = "x", kind = "spike_file", file = "ids.h5", size = 4}]' \
        --set 'projection=[{source = "x", target = "I", rule = "all_to_all", weight = 1.0}]'
    expect 0 "" -- "$TWINBRAIN" run "$B" -o "$TMP/late-out.h5" --set 'input=[{name = "x", kind = "spike_file", file = "late.h5"}]' \
        --set 'projection=[{source = "x", target = "I", rule = "all_to_all", weight = 1.0}]'
    expect 4 "delays.h5: /delay of entry 1 is too long (1e+20 ms = 1e+21 steps of 0.1 ms): a run holds delays of at most 2^29" -- \
        "$TWINBRAIN" check "$B" --set 'projection=[{source = "E", target = "I", rule = "from_file", file = "delays.h5"}]'
    expect 4 "weights.h5: /weight of entry 1 is beyond single precision (1e+300)" -- \
        "$TWINBRAIN" check "$B" --set 'projection=[{source = "E", target = "I", rule = "from_file", file = "weights.h5"}]'
fi
finish
