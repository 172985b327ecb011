#!/bin/sh
# Broken spiking scenarios: each gets its own message, naming the file,
# line and column (or --set) and the key, and the documented exit status;
# nothing is written for them.
. "$TB_SRCDIR/tests/lib.sh"
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
expect 0 "spiking network: 2 populations, 15 neurons, 1 projection" -- "$TWINBRAIN" check "$B"

# the position of a key written in the file
sed 's/target = "I"/target = "Inh"/' "$B" > "$TMP/target.toml"
expect 2 "target.toml:17:10: projection[0].target: no population named 'Inh'; did you mean 'I'?" -- "$TWINBRAIN" check "$TMP/target.toml"
sed 's/indegree = 3/indegree = 3\nprob = 0.1/' "$B" > "$TMP/key.toml"
expect 2 "key.toml:20:1: unknown key 'prob' in [projection[0]]" -- "$TWINBRAIN" check "$TMP/key.toml"

P='projection=[{source="Exc", target="I", rule="all_to_all", weight=1.0}]'
expect 2 "projection[0].source: no population or spike_file input named 'Exc'; did you mean 'E'?" -- "$TWINBRAIN" check "$B" --set "$P"
expect 2 "projection[0].rule must be one of all_to_all, one_to_one, pairwise_bernoulli, fixed_indegree, fixed_outdegree, fixed_total_number, from_file (got \"fixed_indgree\"); did you mean \"fixed_indegree\"?" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="fixed_indgree", weight=1.0}]'
expect 2 "projection[0]: rule fixed_indegree needs 'indegree'" -- "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="fixed_indegree", weight=1.0}]'
expect 2 "projection[0].indegree applies to rule fixed_indegree only (this rule is pairwise_bernoulli)" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="pairwise_bernoulli", p=0.1, indegree=3, weight=1.0}]'
expect 2 "projection[0].p must be <= 1 (got 1.5)" -- "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="pairwise_bernoulli", p=1.5, weight=1.0}]'
expect 2 "projection[0] needs 'weight'" -- "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all"}]'
expect 2 "projection[0].weight must be a number or a distribution table" -- "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all", weight="big"}]'
expect 2 "projection[0].weight.dist must be one of normal, uniform, lognormal (got \"gauss\")" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all", weight={dist="gauss", mean=1.0}}]'
expect 2 "projection[0].weight: low (3) must not exceed high (1)" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all", weight={dist="uniform", low=3.0, high=1.0}}]'
expect 2 "projection[0].delay: expressions are for population values" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all", weight=1.0, delay={expr="1.0"}}]'
expect 2 "projection[0].synapse: model 'iaf_psc_exp' has no port 'exc' (ports: ex, in); did you mean 'ex'?" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all", weight=1.0, synapse="exc"}]'
expect 2 "projection[0]: indegree 10 without multapses needs as many sources, but only 9 are available" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="E", rule="fixed_indegree", indegree=10, allow_autapses=false, allow_multapses=false, weight=1.0}]'
expect 2 "projection[0]: one_to_one needs equal sizes (source 10, target 5)" -- "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="one_to_one", weight=1.0}]'
expect 2 "allow_multapses = false is not supported for it" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="fixed_total_number", n=10, allow_multapses=false, weight=1.0}]'
expect 2 "projection[0].allow_autapses must be true or false, not string" -- \
    "$TWINBRAIN" check "$B" --set 'projection=[{source="E", target="I", rule="all_to_all", weight=1.0, allow_autapses="no"}]'

expect 2 "population[0].model: no spiking neuron model named 'iaf_psc_exq'; did you mean 'iaf_psc_exp'?" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exq", size=3}, {name="I", model="iaf_psc_exp", size=3}]'
expect 2 "population[0].model: 'jansen_rit' is a mass plugin, not a spiking neuron model" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="jansen_rit", size=3}, {name="I", model="iaf_psc_exp", size=3}]'
expect 2 "population[1].name 'E' is already used by population[0]" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exp", size=3}, {name="E", model="iaf_psc_exp", size=3}]'
expect 2 "population[0].size must be >= 1 (got 0)" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exp", size=0}, {name="I", model="iaf_psc_exp", size=3}]'
expect 2 "population[0].parameters.C_m must be > 0 (got -1)" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exp", size=3, parameters={C_m=-1.0}}, {name="I", model="iaf_psc_exp", size=3}]'
expect 2 "unknown key 'tau_mm' in [population[0].parameters]; did you mean 'tau_m'?" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exp", size=3, parameters={tau_mm=1.0}}, {name="I", model="iaf_psc_exp", size=3}]'
expect 2 "population[0].parameters.C_m: this distribution can draw values outside the allowed range of C_m (> 0); bound it with min and max" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exp", size=3, parameters={C_m={dist="normal", mean=250.0, std=10.0}}}, {name="I", model="iaf_psc_exp", size=3}]'
expect 2 "unknown key 'Vm' in [population[0].initial]; did you mean 'V_m'?" -- \
    "$TWINBRAIN" check "$B" --set 'population=[{name="E", model="iaf_psc_exp", size=3, initial={Vm=-60.0}}, {name="I", model="iaf_psc_exp", size=3}]'

expect 2 "record[0].kind must be one of spikes, rates, state, connections (got \"rate\"); did you mean \"rates\"?" -- "$TWINBRAIN" check "$B" --set 'record=[{kind="rate"}]'
expect 2 "record[0]: a state record needs 'population'" -- "$TWINBRAIN" check "$B" --set 'record=[{kind="state"}]'
expect 2 "record[0].variables: 'I_syn' is not a state variable of iaf_psc_exp" -- "$TWINBRAIN" check "$B" --set 'record=[{kind="state", population="E", variables=["I_syn"]}]'
expect 2 "record[0].neurons[0] must be an index in [0, 10) of population 'E'" -- "$TWINBRAIN" check "$B" --set 'record=[{kind="state", population="E", neurons=[10]}]'
expect 2 "record[0].period (0.15 ms) must be a whole multiple of simulation.dt (0.1 ms)" -- "$TWINBRAIN" check "$B" --set 'record=[{kind="state", population="E", period=0.15}]'
expect 2 "record[0].bin applies to rates records only" -- "$TWINBRAIN" check "$B" --set 'record=[{kind="spikes", bin=1.0}]'

expect 2 "input[0]: a poisson input needs 'weight'" -- "$TWINBRAIN" check "$B" --set 'input=[{name="x", kind="poisson", rate=5.0}]'
expect 2 "input[0].amplitude does not apply to a poisson input" -- "$TWINBRAIN" check "$B" --set 'input=[{name="x", kind="poisson", rate=5.0, weight=1.0, amplitude=3.0}]'
expect 2 "input[0].delay does not apply to a noise input" -- "$TWINBRAIN" check "$B" --set 'input=[{name="x", kind="noise", mean=5.0, std=1.0, delay=0.1}]'
expect 2 "input[0].delay" -- "$TWINBRAIN" check "$B" --set 'input=[{name="x", kind="dc", amplitude=5.0, delay=-0.1}]'
expect 2 "projection[0].source: input 'x' is a dc input; only spike_file inputs are sources" -- "$TWINBRAIN" check "$B" \
    --set 'input=[{name="x", kind="dc", amplitude=3.0}]' --set 'projection=[{source="x", target="I", rule="all_to_all", weight=1.0}]'
expect 4 "input[0].file: no such file 'nowhere.h5'" -- "$TWINBRAIN" check "$B" --set 'input=[{name="x", kind="spike_file", file="nowhere.h5"}]'
echo "not hdf5" > "$TMP/text.h5"
expect 4 "text.h5: not an HDF5 file" -- "$TWINBRAIN" run "$B" -o "$TMP/out.h5" --set 'input=[{name="x", kind="spike_file", file="text.h5"}]'
check "a failed input writes no output file" test ! -e "$TMP/out.h5"
if have_python; then
    "$TB_PYTHON" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'w') as f:
    f['source'] = [0, 1, 12]; f['target'] = [0, 1, 2]; f['weight'] = [1.0, 1.0, 1.0]; f['delay'] = [1.0, 1.0, 1.0]
with h5py.File(sys.argv[2], 'w') as f:
    f['spikes/a/timestamps'] = [1.0, 0.0]; f['spikes/a/node_ids'] = [0, 1]
" "$TMP/edges.h5" "$TMP/early.h5"
    expect 4 "edges.h5: /source of entry 2 is not an index of the source" -- "$TWINBRAIN" check "$B" \
        --set 'projection=[{source="E", target="I", rule="from_file", file="edges.h5"}]'
    expect 4 "early.h5: /spikes/a/timestamps[1] is not a time of at least one step" -- "$TWINBRAIN" check "$B" \
        --set 'input=[{name="x", kind="spike_file", file="early.h5"}]'
fi

# models declared in the file
cat "$B" > "$TMP/declared.toml"
cat >> "$TMP/declared.toml" <<'TOML'
[[neuron_model]]
name = "lif"
state = { V = 0.0 }
parameters = { tau = 10.0 }
update = "V = V * undefined_in_snippet;"
threshold = "V > 1.0"
TOML
sed -i 's/model = "iaf_psc_exp"/model = "lif"/' "$TMP/declared.toml"
sed -i 's/^weight = 10.0/weight = 10.0\nsynapse = "ex"/' "$TMP/declared.toml"
expect 3 "undefined_in_snippet" -- "$TWINBRAIN" run "$TMP/declared.toml" -o "$TMP/declared.h5"
check "a failed build writes no output file" test ! -e "$TMP/declared.h5"
expect 2 "neuron_model[0]: state variable name 't' is reserved" -- "$TWINBRAIN" check "$TMP/declared.toml" \
    --set 'neuron_model=[{name="lif", state={t=0.0}, update="", threshold="t > 1.0"}]'
expect 2 "neuron_model[0].name 'iaf_psc_exp' is the name of a plugin; choose another" -- "$TWINBRAIN" check "$TMP/declared.toml" \
    --set 'neuron_model=[{name="iaf_psc_exp", state={V=0.0}, update="V = V;", threshold="V > 1.0"}]'
expect 2 "neuron_model[0]: refractory names 't_r', which is not a parameter" -- "$TWINBRAIN" check "$TMP/declared.toml" \
    --set 'neuron_model=[{name="lif", state={V=0.0}, update="V = V;", threshold="V > 1.0", refractory="t_r"}]'

# a model that blows up: exit 5, naming the variable, neuron and population
expect 5 "the simulation diverged: V of neuron 0 of population 'E' is not finite" -- "$TWINBRAIN" run "$TMP/declared.toml" \
    -o "$TMP/diverged.h5" --set 'neuron_model=[{name="lif", state={V=1.0}, update="V = V * 1e30;", threshold="V < 0.0"}]'
check "the diverged run's output says so" sh -c "command -v h5dump >/dev/null || exit 0; h5dump -a /status '$TMP/diverged.h5' | grep -q 'simulation diverged'"

# refused STATUS NAME MESSAGE WHAT: $TMP/NAME.toml is refused within a minute (it took minutes
# and gigabytes before some of these checks), with STATUS and MESSAGE, and writes no output file
refused() {
    expect "$1" "$3" -- timeout 60 "$TWINBRAIN" run "$TMP/$2.toml" -o "$TMP/$2.h5"
    check "$4 writes no output file" test ! -e "$TMP/$2.h5"
}

# a network that cannot fit is refused at once, with what it needs and what the device has
cat > "$TMP/huge.toml" <<'EOF2'
[simulation]
duration = 1.0
[[population]]
name = "a"
model = "iaf_psc_exp"
size = 200000
[[projection]]
source = "a"
target = "a"
rule = "all_to_all"
weight = 1.0
delay = 1.0
EOF2
refused 3 huge "the network needs at least 4e+10 synapses (320 GB of synapse buffers)" "a network that does not fit"

# a synapse addresses its target's input as port x neurons + neuron in 32 bits: 3e9 neurons of
# a 2-port model are refused before anything is allocated for them
cat > "$TMP/many-neurons.toml" <<'EOF2'
[simulation]
duration = 1.0
[[population]]
name = "a"
model = "iaf_psc_exp"
size = 1500000000
[[population]]
name = "b"
model = "iaf_psc_exp"
size = 1500000000
EOF2
refused 2 many-neurons "many-neurons.toml: 3000000000 neurons of models with 2 synaptic ports: at most 2147483648 fit a run" \
    "a network over the synapse format's size"

# neurons whose state alone exceeds the device (96 GiB in double precision) are refused from
# the population sizes, before anything is allocated per neuron (it took 84 s and 10 GB of
# host memory to fail on the device allocation)
cat > "$TMP/big-neurons.toml" <<'EOF2'
[simulation]
duration = 1.0
precision = "double"
[[population]]
name = "a"
model = "iaf_psc_exp"
size = 2147483000
EOF2
refused 3 big-neurons "big-neurons.toml: 2147483000 neurons need 96.0 GiB of device memory for their state, inputs and parameters" \
    "neurons that do not fit the device"

# names are checked for reuse in one sorted pass: 100,000 populations check in about a second
# (pairwise, it took minutes); the bound is generous, the work it catches is quadratic
"$TB_PYTHON" -c "
print('[simulation]\nduration = 1.0')
for i in range(100000):
    print('[[population]]\nname = \"p%d\"\nmodel = \"iaf_psc_exp\"\nsize = 1' % i)
print('[[population]]\nname = \"p17\"\nmodel = \"iaf_psc_exp\"\nsize = 1')" > "$TMP/many.toml"
expect 2 "population[100000].name 'p17' is already used by population[17]" -- timeout 60 "$TWINBRAIN" check "$TMP/many.toml"

# the resolved scenario runs as it is printed
"$TWINBRAIN" check "$B" --print > "$TMP/resolved.toml"
expect 0 "ok (spiking network" -- "$TWINBRAIN" check "$TMP/resolved.toml"

expect 2 "missing the output file" -- "$TWINBRAIN" spikes stats
expect 4 "no /spikes group" -- "$TWINBRAIN" spikes stats "$TB_SRCDIR/examples/data/synthetic_246.h5"
finish
