#!/bin/sh
# Broken scenarios: each gets its own message (naming file, line, column and
# key) and the documented exit status; nothing is written for them.
. "$TB_SRCDIR/tests/lib.sh"
S="$TB_SRCDIR/tests/scenarios/small.toml"

write() { # write NAME: stdin becomes $TMP/NAME.toml, with the connectome path fixed up
    cat > "$TMP/$1.toml"
}
once() { # once TEXT: the last expected output has TEXT on exactly one line
    test "$(printf '%s\n' "$LAST_OUTPUT" | grep -cF -- "$1")" -eq 1
}
at_most_once() { # at_most_once REGEX
    test "$(printf '%s\n' "$LAST_OUTPUT" | grep -c -- "$1")" -le 1
}

printf '[simulation\nduration = 1.0\n' | write syntax
expect 2 "syntax.toml:1:" -- "$TWINBRAIN" run "$TMP/syntax.toml"

printf '[simulation]\ndurration = 10.0\n[connectome]\nfile = "data/synthetic_246.h5"\n[model]\nplugin = "jansen_rit"\n' | write unknown
expect 2 "unknown.toml:2:1: unknown key 'durration' in [simulation]; did you mean 'duration'?" -- "$TWINBRAIN" run "$TMP/unknown.toml"
# the missing required key is reported in the same pass
expect 2 "[simulation] needs 'duration'" -- "$TWINBRAIN" check "$TMP/unknown.toml"

printf '[simulation]\nduration = 10.0\ndt = "0.1"\n[connectome]\nfile = "data/synthetic_246.h5"\n[model]\nplugin = "jansen_rit"\n' | write wrongtype
expect 2 "wrongtype.toml:3:6: simulation.dt must be a number, not string" -- "$TWINBRAIN" run "$TMP/wrongtype.toml"

expect 2 "simulation.dt must be > 0 (got -0.1)" -- "$TWINBRAIN" run "$S" --set simulation.dt=-0.1
expect 2 "--set" -- "$TWINBRAIN" run "$S" --set simulation.dt=-0.1
expect 2 "simulation.duration (20.05 ms) must be a whole multiple of simulation.dt" -- "$TWINBRAIN" check "$S" --set simulation.duration=20.05
expect 2 "simulation.precision must be one of single, double (got \"quad\")" -- "$TWINBRAIN" check "$S" --set simulation.precision=quad
expect 2 "integrator.method must be one of euler, heun, rk4 (got \"huen\"); did you mean \"heun\"?" -- "$TWINBRAIN" check "$S" --set integrator.method=huen
expect 2 "no mass-model plugin named 'jansen_ritt'; did you mean 'jansen_rit'?" -- "$TWINBRAIN" check "$S" --set model.plugin=jansen_ritt
expect 2 "unknown key 'muu' in [model.parameters]; did you mean 'mu'?" -- "$TWINBRAIN" check "$S" --set model.parameters.muu=0.1
expect 2 "model.parameters.A must be >= 0 (got -1)" -- "$TWINBRAIN" check "$S" --set model.parameters.A=-1
expect 2 "model.parameters.mu has 3 values, but the connectome has 246 regions" -- "$TWINBRAIN" check "$S" --set "model.parameters.mu=[0.1, 0.2, 0.3]"
expect 2 "monitor[0].variables: 'y9' is not a state variable of jansen_rit; did you mean 'y0'?" -- "$TWINBRAIN" check "$S" --set 'monitor=[{name = "m", variables = ["y9"]}]'
expect 2 "coupling.function must be one of" -- "$TWINBRAIN" check "$S" --set coupling.function=sigmoid
expect 2 "expected KEY=VALUE" -- "$TWINBRAIN" check "$S" --set simulation.dt
expect 2 "coupling.function 'sigmoidal_jansen_rit' needs 2 coupled variables; model 'wong_wang_ei' has 1" -- \
    "$TWINBRAIN" check "$S" --set model.plugin=wong_wang_ei --set coupling.function=sigmoidal_jansen_rit
expect 2 "coupling.function 'kuramoto' couples exactly 1 variable; model 'hopf' has 2" -- \
    "$TWINBRAIN" check "$S" --set model.plugin=hopf --set coupling.function=kuramoto
expect 2 "integrator.method \"rk4\" has no stochastic form" -- \
    "$TWINBRAIN" check "$S" --set integrator.method=rk4 --set 'integrator.noise.sigma={y4 = 0.1}'
expect 2 "sweep: \"connectome.speed\" cannot be swept" -- "$TWINBRAIN" check "$S" --set 'sweep={"connectome.speed" = [1.0, 2.0]}'
expect 2 "sweep.zip: \"model.parameters.B\" has 3 values but \"model.parameters.A\" has 2" -- \
    "$TWINBRAIN" check "$S" --set 'sweep={zip = {"model.parameters.A" = [3.0, 3.5], "model.parameters.B" = [20.0, 21.0, 22.0]}}'
expect 2 "[model] names a plugin and also declares variables or derivatives" -- \
    "$TWINBRAIN" check "$S" --set 'model.variables=["x"]'
expect 2 "model.derivatives.y must be an OpenCL expression" -- "$TWINBRAIN" check "$S" \
    --set 'model={name = "m", variables = ["x", "y"], derivatives = {x = "-x"}}' --set 'monitor=[{name = "m"}]' \
    --set 'coupling={function = "linear"}'
expect 3 "kernel build failed" -- "$TWINBRAIN" run "$S" -o "$TMP/declared.h5" \
    --set 'model={name = "m", variables = ["x"], derivatives = {x = "-x +* 2"}}' --set 'monitor=[{name = "m"}]' \
    --set 'coupling={function = "linear"}'
# ... at the key and a column of a --set value, at a line and column of a file
expect 3 "model.derivatives.x:1:5: indirection requires pointer operand" -- "$TWINBRAIN" run "$S" \
    -o "$TMP/declared.h5" --set 'model={name = "m", variables = ["x"], derivatives = {x = "-x +* 2"}}' \
    --set 'monitor=[{name = "m"}]' --set 'coupling={function = "linear"}'
write declared <<'TOML'
[simulation]
duration = 2.0
[connectome]
file = "data/synthetic_246.h5"
[model]
name = "leaky"
variables = ["x", "y"]
helpers = """
real leaky_f(real x)
{
    return x * undefined_in_helper;
}
"""
derivatives = { x = "-x / tau + coupling[0]", y = "x - y +* 2" }
[model.parameters]
tau = 10.0
[coupling]
function = "linear"
[[monitor]]
name = "m"
TOML
if expect 3 "declared.toml:11:16: use of undeclared identifier 'undefined_in_helper'" -- \
    "$TWINBRAIN" run "$TMP/declared.toml" -o "$TMP/declared.h5"; then
    check "a declared model's second error: its line and column" once "declared.toml:14:59: indirection"
    check "a declared model's build errors are printed once" once "undefined_in_helper"
fi
# A helper that branches on a vector compiles as scalars only: the run falls
# back to one instance per work-item, with or without a sweep, and says
# nothing of it (PoCL itself may print "1 error generated." of the attempt).
quiet() {
    ! printf '%s\n' "$LAST_OUTPUT" | grep -q -e twinbrain -e "error:"
}
sed -e 's/return x \* undefined_in_helper;/if (x < 0) return -x; return x;/' -e 's/+\* 2/+ leaky_f(y)/' \
    "$TMP/declared.toml" > "$TMP/branchy.toml"
if expect 0 "" -- "$TWINBRAIN" run "$TMP/branchy.toml" -q -o "$TMP/branchy.h5"; then
    check "a lanes-only failure falls back without a word" quiet
fi
if expect 0 "" -- "$TWINBRAIN" run "$TMP/branchy.toml" -q -o "$TMP/branchy.h5" \
    --set 'sweep={"model.parameters.tau"={linspace=[5.0, 12.0, 8]}}'; then
    check "... in a sweep as well" quiet
fi
expect 2 "initial.y0 must be a number, an array of one per region, \"random\"" -- "$TWINBRAIN" check "$S" \
    --set 'initial={y0 = "nonsense"}'

printf '[simulation]\nduration = 10.0\n[connectome]\nfile = "nowhere/missing.h5"\n[model]\nplugin = "jansen_rit"\n' | write missing
expect 4 "missing.toml:4:8: connectome.file: no such file 'nowhere/missing.h5'" -- "$TWINBRAIN" run "$TMP/missing.toml"
expect 4 "cannot read" -- "$TWINBRAIN" run "$TMP/does-not-exist.toml"

echo "not hdf5" > "$TMP/text.h5"
printf '[simulation]\nduration = 10.0\n[connectome]\nfile = "text.h5"\n[model]\nplugin = "jansen_rit"\n' | write nothdf5
expect 4 "not an HDF5 file" -- "$TWINBRAIN" run "$TMP/nothdf5.toml"

# plugins broken on purpose live in tests/plugins of the build tree
TWINBRAIN_PLUGIN_PATH="$TB_BUILDDIR/tests/plugins:$TWINBRAIN_PLUGIN_PATH"
export TWINBRAIN_PLUGIN_PATH
expect 4 "plugin 'bad_abi' could not be loaded: $TB_BUILDDIR/tests/plugins/bad_abi.la: built for plugin ABI 3, but this twinbrain" -- "$TWINBRAIN" run "$S" --set model.plugin=bad_abi
expect 0 "jansen_rit" -- "$TWINBRAIN" plugins
expect 0 "failed to load: $TB_BUILDDIR/tests/plugins/bad_abi.la: built for plugin ABI 3" -- "$TWINBRAIN" plugins
# a model's own default coupling that does not exist is the model's fault, said
# where the model is named (not "--set"); a prepare hook that fails without a
# message (or with a status that is no exit status) is still named
printf '[simulation]\nduration = 10.0\n[connectome]\nfile = "%s"\n[model]\nplugin = "bad_coupling"\n' \
    "$TB_SRCDIR/examples/data/synthetic_246.h5" | write badcoupling
expect 4 "badcoupling.toml:6:10: model 'bad_coupling' names \"no_such_coupling\" as its default coupling, which this twinbrain does not have" -- "$TWINBRAIN" check "$TMP/badcoupling.toml"
expect 0 "" -- "$TWINBRAIN" check "$TMP/badcoupling.toml" --set coupling.function=linear
expect 4 "model 'bad_prepare': its prepare hook failed without saying why (status 4)" -- "$TWINBRAIN" run "$S" --set model.plugin=bad_prepare -o "$TMP/prepare.h5"
expect 1 "model 'bad_prepare': its prepare hook failed without saying why (status 42)" -- "$TWINBRAIN" run "$S" --set model.plugin=bad_prepare --set model.parameters.fail=2 -o "$TMP/prepare.h5"

# files in a plugin folder that are not modules say what is wrong with them
# (libltdl alone says "file not found" of a file that is there)
mkdir "$TMP/junk"
echo "not a module" >"$TMP/junk/junk.so"
printf '# not libtool\n' >"$TMP/junk/text.la"
printf "# Generated by libtool\ndlname='gone.so'\n" >"$TMP/junk/gone.la"
expect 0 "$TMP/junk/junk.so: not a loadable module: $TMP/junk/junk.so: " -- env TWINBRAIN_PLUGIN_PATH="$TMP/junk:$TWINBRAIN_PLUGIN_PATH" "$TWINBRAIN" plugins
expect 0 "$TMP/junk/text.la: not a libtool module description" -- env TWINBRAIN_PLUGIN_PATH="$TMP/junk:$TWINBRAIN_PLUGIN_PATH" "$TWINBRAIN" plugins
expect 0 "$TMP/junk/gone.la: its module gone.so is missing" -- env TWINBRAIN_PLUGIN_PATH="$TMP/junk:$TWINBRAIN_PLUGIN_PATH" "$TWINBRAIN" plugins
expect 4 "plugin 'junk' could not be loaded: $TMP/junk/junk.so: not a loadable module" -- env TWINBRAIN_PLUGIN_PATH="$TMP/junk:$TWINBRAIN_PLUGIN_PATH" "$TWINBRAIN" run "$S" --set model.plugin=junk -o "$TMP/junk.h5"

expect 3 "kernel build failed" -- "$TWINBRAIN" run "$S" --set model.plugin=bad_kernel -o "$TMP/bad_kernel.h5"
# The log points into the plugin's dfun string (line 1, column 11), and
# comes once: the model's code is compiled alone first, so neither the
# vector-lanes build nor its scalar fallback repeats the error.
for layout in "" regions lanes; do
    if expect 3 "bad_kernel dfun:1:11: use of undeclared identifier 'undefined_identifier_in_bad_kernel'" -- \
        env TWINBRAIN_MASS_LAYOUT=$layout "$TWINBRAIN" run "$S" --set model.plugin=bad_kernel -o "$TMP/bad_kernel.h5"; then
        check "layout '$layout': the build error is printed once" once undefined_identifier_in_bad_kernel
        check "layout '$layout': the compiler spoke once" at_most_once "errors\{0,1\} generated"
    fi
done
check "a failed build writes no output file" test ! -e "$TMP/bad_kernel.h5"
# A derivative the snippet never assigns (dxy is, dx only in comments) is
# refused before compiling, naming model and variable; one assigned on a
# branch only is NaN where unassigned (a diverged run), never garbage.
expect 3 "model 'no_derivative': the dfun snippet never assigns dx, the derivative of state variable 'x'" -- \
    "$TWINBRAIN" run "$S" --set model.plugin=no_derivative -o "$TMP/no_derivative.h5"
check "an unassigned derivative writes no output file" test ! -e "$TMP/no_derivative.h5"
expect 5 "the simulation diverged: x of region 'L_001' (index 0) is NaN" -- \
    "$TWINBRAIN" run "$S" --set model.plugin=branch_derivative -o "$TMP/branch_derivative.h5"

# a sweep too large for the device is refused at once, before any initial value is drawn
expect 3 "10000000 instances on 246 regions need" -- timeout 60 "$TWINBRAIN" run "$S" -o "$TMP/sweep.h5" \
    --set 'sweep={"model.parameters.mu" = {linspace = [0.1, 0.3, 10000000]}}'
check "a refused sweep writes no output file" test ! -e "$TMP/sweep.h5"

# an output that cannot fit on its disk is refused before the run, with the figures
expect 4 "the run writes up to 1.18e+04 GB of results (uncompressed) and the disk holding $TMP has" -- \
    "$TWINBRAIN" run "$S" -o "$TMP/huge.h5" --set simulation.duration=1e8 --set 'monitor=[{name="raw", kind="raw", period=0.1}]'
check "a refused output is never created" test ! -e "$TMP/huge.h5"

# A kernels folder whose binary is damaged: exit 3 naming the file, never
# compiled around (not even by the mass kit's fallback from vector lanes);
# a pipe under the binary's name does not block the run (timeout: a hang
# fails the test instead of the suite).
expect 0 "" -- "$TWINBRAIN" kernels build "$S" -o "$TMP/kernels"
bin=$(ls "$TMP"/kernels/*.bin | head -n 1)
head -c 1000 "$bin" >"$TMP/cut.bin" && mv "$TMP/cut.bin" "$bin"
expect 3 "prebuilt binary $bin" -- timeout 120 "$TWINBRAIN" run "$S" --kernels "$TMP/kernels" -o "$TMP/k.h5"
rm "$bin" && mkfifo "$bin"
expect 3 "$bin for model 'jansen_rit': not a regular file" -- timeout 120 "$TWINBRAIN" run "$S" --kernels "$TMP/kernels" -o "$TMP/k.h5"
check "no output for a run that could not load its program" test ! -e "$TMP/k.h5"

expect 3 "" -- "$TWINBRAIN" run "$S" --device 99 -o "$TMP/nodevice.h5"
expect 3 "no OpenCL device matches selector \"name~no-such-device\"" -- "$TWINBRAIN" run "$S" --device "name~no-such-device" -o "$TMP/nodevice.h5"

# A diverging run: exit 5, says where and when, keeps the rows before it.
# (Heun at dt = 50 ms amplifies Jansen-Rit's linear part about tenfold a step.)
# Divergence is found at the end of a chunk, and chunks follow the wall
# clock: which variable is the first non-finite one (y0 NaN, y1 infinite)
# and when depend on the machine's speed.
expect 5 "the simulation diverged: y" -- "$TWINBRAIN" run "$S" \
    --set simulation.dt=50 --set simulation.duration=50000 --set 'monitor=[{name = "tavg", period = 50.0}]' \
    -o "$TMP/diverged.h5"
if have_python; then
    check "the diverged run's output keeps its rows and says it diverged" "$TB_PYTHON" - "$TMP/diverged.h5" <<'PY'
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["status"] == "simulation diverged", f.attrs["status"]
    d = f["monitors/tavg/data"][:]
    assert d.shape[0] == f.attrs["steps"] > 0
    assert np.isfinite(d[0]).all() and not np.isfinite(d[-1]).all()
PY
fi
finish
