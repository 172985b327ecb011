#!/bin/sh
# The command line: help, version, devices (both PoCL drivers), plugins,
# check --print round trip, device selection recorded in the output, the
# progress line on a terminal only.
. "$TB_SRCDIR/tests/lib.sh"
S="$TB_SRCDIR/tests/scenarios/small.toml"

expect 0 "usage: twinbrain COMMAND" -- "$TWINBRAIN" --help
for c in run check devices plugins connectome version; do
    expect 0 "usage: twinbrain $c" -- "$TWINBRAIN" "$c" --help
done
expect 2 "unknown command 'frobnicate'" -- "$TWINBRAIN" frobnicate
expect 2 "usage: twinbrain COMMAND" -- "$TWINBRAIN"
expect 2 "unknown option '--bogus'" -- "$TWINBRAIN" run "$S" --bogus
expect 2 "missing the scenario file" -- "$TWINBRAIN" run
expect 2 "--precision must be single or double" -- "$TWINBRAIN" run "$S" --precision half
expect 0 "plugin ABI 2" -- "$TWINBRAIN" version

# Two PoCL drivers, named as PoCL 3.x does (4.x: cpu, cpu-minimal).
POCL_DEVICES="pthread basic" "$TWINBRAIN" devices > "$TMP/devices.txt" 2>&1
if grep -q "pthread" "$TMP/devices.txt"; then
    two="pthread basic" first=basic second=pthread
else
    two="cpu cpu-minimal" first=cpu-minimal second=cpu
fi
expect 0 "[1] 0:1" -- env POCL_DEVICES="$two" "$TWINBRAIN" devices
check "devices lists both PoCL drivers" sh -c "POCL_DEVICES='$two' '$TWINBRAIN' devices | grep -c '^\[' | grep -qx 2"
for field in "compute units" "fp64" "memory" "work-groups" "driver" "OpenCL C" "score"; do
    check "devices shows $field" grep -q "$field" "$TMP/devices.txt"
done
if have_python; then
    check "devices --json is JSON with two devices" sh -c "POCL_DEVICES='$two' '$TWINBRAIN' devices --json |
        '$TB_PYTHON' -c 'import json,sys; d=json.load(sys.stdin); assert len(d)==2 and all(\"fp64\" in x for x in d)'"
    check "plugins --json is JSON listing jansen_rit" sh -c "'$TWINBRAIN' plugins --json |
        '$TB_PYTHON' -c 'import json,sys; d=json.load(sys.stdin); assert any(p[\"name\"]==\"jansen_rit\" for p in d[\"plugins\"])'"
    check "plugins --json lists the kits and the plugins' typed parameters" sh -c "'$TWINBRAIN' plugins --json |
        '$TB_PYTHON' -c 'import json,sys; d=json.load(sys.stdin); k={x[\"name\"]: x[\"plugin_kind\"] for x in d[\"kits\"]}; assert k[\"mass\"]==\"mass\" and k[\"spiking\"]==\"spiking\", k; p=[x for x in d[\"plugins\"] if x[\"name\"]==\"jansen_rit\"][0]; assert p[\"kind\"]==\"mass\" and all(q[\"type\"]==\"real\" for q in p[\"parameters\"])'"
fi
expect 0 "kinds of model (simulation.kind):" -- "$TWINBRAIN" plugins
expect 0 "  spiking  networks of spiking point neurons" -- "$TWINBRAIN" plugins
expect 0 "mu" -- "$TWINBRAIN" plugins jansen_rit
expect 0 "Jansen" -- "$TWINBRAIN" plugins jansen_rit
expect 2 "no plugin named 'nope'" -- "$TWINBRAIN" plugins nope

# Each driver can be chosen, and the output says which ran.
for sel in "name~$first" "0:1" "1"; do
    expect 0 "" -- env POCL_DEVICES="$two" "$TWINBRAIN" run "$S" --device "$sel" -q -o "$TMP/sel.h5"
done
if have_python; then
    env POCL_DEVICES="$two" "$TWINBRAIN" run "$S" --device "name~$first" -q -o "$TMP/first.h5"
    check "the output records the chosen device" "$TB_PYTHON" -c "
import h5py, sys
with h5py.File('$TMP/first.h5') as f:
    sys.exit(0 if '$first' in f.attrs['device'] else 1)"
fi
expect 0 "twinbrain: jansen_rit on 246 regions" -- "$TWINBRAIN" run "$S" -o "$TMP/summary.h5"
expect 0 "output   $TMP/summary.h5" -- "$TWINBRAIN" run "$S" -o "$TMP/summary.h5"
check "--quiet prints nothing" sh -c "test -z \"\$('$TWINBRAIN' run '$S' -q -o '$TMP/q.h5' 2>&1)\""

# check --print writes a scenario that checks again and resolves to itself.
"$TWINBRAIN" check "$S" --print > "$TMP/printed.toml"
sed -i "s|file = \"../../examples/data/|file = \"data/|" "$TMP/printed.toml"
expect 0 ": ok (mass model jansen_rit" -- "$TWINBRAIN" check "$TMP/printed.toml"
"$TWINBRAIN" check "$TMP/printed.toml" --print > "$TMP/printed2.toml"
check "the resolved scenario is a fixed point" cmp -s "$TMP/printed.toml" "$TMP/printed2.toml"
check "defaults are filled in" grep -q 'method = "heun"' "$TMP/printed.toml"
check "plugin defaults are filled in" grep -q 'nu_max = 0.0025' "$TMP/printed.toml"

# --set reads KEY as a TOML file does: a quoted part may hold dots, so this
# sets the one key "model.parameters.A" of [sweep] (unquoted, the dots
# would make a table sweep.model, which the sweep refuses).
"$TWINBRAIN" check "$S" --set 'sweep."model.parameters.A"=[3.0, 3.5]' --print > "$TMP/quoted.toml"
check "--set with a quoted key: one key in [sweep]" grep -qx '"model.parameters.A" = \[3.0, 3.5\]' "$TMP/quoted.toml"
check "--set with a quoted key: no table inside [sweep]" sh -c "! grep -q '^\[sweep\.' '$TMP/quoted.toml'"
expect 0 "246 regions x 2 instances" -- "$TWINBRAIN" run "$S" --set "sweep . 'model.parameters.A' = [3.0, 3.5]" \
    -o "$TMP/quoted.h5"
expect 2 "sweep: \"model.parameters.muu\" cannot be swept" -- "$TWINBRAIN" check "$S" \
    --set 'sweep."model.parameters.muu"=[1, 2]'
expect 2 "--set 'sweep.\"model.parameters.A=[1]': expected KEY=VALUE" -- "$TWINBRAIN" check "$S" \
    --set 'sweep."model.parameters.A=[1]'

# The progress line appears on a terminal only.
if command -v script >/dev/null 2>&1; then
    script -qec "'$TWINBRAIN' run '$S' --set simulation.duration=2000 -o '$TMP/tty.h5'" /dev/null > "$TMP/tty.txt" 2>&1
    check "progress line on a terminal" grep -q "steps/s" "$TMP/tty.txt"
    check "progress shows time left" grep -q "left" "$TMP/tty.txt"
fi
"$TWINBRAIN" run "$S" -o "$TMP/pipe.h5" > "$TMP/pipe.txt" 2>&1
check "no progress line into a pipe" sh -c "! grep -q 'left' '$TMP/pipe.txt'"
finish
