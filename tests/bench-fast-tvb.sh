#!/bin/sh
# `twinbrain bench mass --shape fast_tvb` and its FAST_TVB hook: without it
# a line says fast_tvb was not run; with it, fast_tvb's inputs are written
# as its README lays them out (input/param_set.txt: 10 fields, 379 regions,
# sigma 0.01, 12.5 m/s, seed 1403; the weights and tract lengths as 379 x
# 379 text) and it runs in its folder with as many threads as the device
# has compute units. A stand-in checks all that and writes the BOLD file
# fast_tvb writes; the figures themselves are not checked (no timed tests).
. "$TB_SRCDIR/tests/lib.sh"
FAKE="$TMP/fake_tvb"
cat >"$FAKE" <<'FAKE_EOF'
#!/bin/sh
# fast_tvb's command line: PARAMSET SUBJECT THREADS, in its working folder
[ $# -eq 3 ] && [ "$1" = param_set.txt ] && [ "$3" -ge 1 ] || exit 3
set -- $(cat input/param_set.txt) "$2"
[ $# -eq 11 ] && [ "$1" = 379 ] && [ "$6" = 0.0100 ] && [ "$9" = 12.5000 ] && [ "${10}" = 1403 ] || exit 4
[ "$7" -ge 1 ] || exit 5
for f in weights distances; do
    [ "$(wc -l <"input/${11}_SC_$f.txt")" -eq 379 ] || exit 6
    [ "$(awk '{ if (NF != 379) bad = 1 } END { print bad + 0 }' "input/${11}_SC_$f.txt")" -eq 0 ] || exit 7
done
echo "0.1 0.2" >"output/${11}_param_set.txt_fMRI.txt"
FAKE_EOF
chmod +x "$FAKE"
expect 0 "fast_tvb: not run (FAST_TVB=PATH" -- env -u FAST_TVB "$TWINBRAIN" bench mass --shape fast_tvb \
    --seconds 0.02 --precision single
expect 0 "region-steps/s; twinbrain single:" -- env FAST_TVB="$FAKE" "$TWINBRAIN" bench mass --shape fast_tvb \
    --seconds 0.02 --precision single
expect 0 "\"fast_tvb_region_steps_per_s\": " -- env FAST_TVB="$FAKE" "$TWINBRAIN" bench mass --shape fast_tvb \
    --seconds 0.02 --precision single --json
# a fast_tvb that fails (here: writes no BOLD file) is said to have failed
printf '#!/bin/sh\nexit 0\n' >"$TMP/silent_tvb"
chmod +x "$TMP/silent_tvb"
expect 0 "fast_tvb did not run" -- env FAST_TVB="$TMP/silent_tvb" "$TWINBRAIN" bench mass --shape fast_tvb \
    --seconds 0.02 --precision single
finish
