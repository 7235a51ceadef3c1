#!/bin/sh
# Seeds fuzz/corpus/parse_responses from the response fixtures in testdata/fixtures.
# A parse_responses input is 2 bytes of status (little-endian u16, mapped to 100 + n % 500)
# followed by the body, so each fixture is written with status 200, 402 and 500.
# Run from anywhere: sh fuzz/seed_corpus.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/parse_responses"
mkdir -p "$out" "$here/corpus/state_machine"
n=0
for f in "$here"/../testdata/fixtures/*.response.json \
         "$here"/../testdata/fixtures/compat/*.json \
         "$here"/../testdata/fixtures/as-documented-invalid/*.response.txt; do
    [ -f "$f" ] || continue
    base=$(basename "$f")
    # 100 -> 200, 302 -> 402, 400 -> 500 (as little-endian u16 prefixes).
    { printf '\144\000'; cat "$f"; } > "$out/200-$base"
    { printf '\056\001'; cat "$f"; } > "$out/402-$base"
    { printf '\220\001'; cat "$f"; } > "$out/500-$base"
    n=$((n + 3))
done
echo "wrote $n seeds to $out"
