#!/bin/sh
# docs/scenario.md documents every key the scenario schema knows.
. "$TB_SRCDIR/tests/lib.sh"
doc="$TB_SRCDIR/docs/scenario.md"
"$TWINBRAIN" check --keys > "$TMP/keys.txt"
check "the schema lists keys" test -s "$TMP/keys.txt"
while IFS="$(printf '\t')" read -r key type meaning; do
    check "docs/scenario.md documents \`$key\`" grep -qF "\`$key\`" "$doc"
done < "$TMP/keys.txt"
finish
