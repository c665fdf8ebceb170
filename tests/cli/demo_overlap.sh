#!/usr/bin/env bash
# Stage overlap (the camera stages of the next frame set while this one is
# voted and tracked) changes nothing but the timing: `voxtrack demo` writes
# the same tracks.jsonl with and without it, on one thread and on two.
# (That each set's latency covers its processing time: test_pipeline_run.)
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

for mode in "1 on" "2 on" "1 off" "2 off"; do
    read -r threads overlap <<<"$mode"
    flag=()
    [[ $overlap == off ]] && flag=(--no-overlap)
    run "$VT" demo --preset small --frames 30 --threads "$threads" "${flag[@]}" --json \
        --out "$TMP/$threads$overlap"
    [[ $rc == 0 ]] || fail "demo --threads $threads overlap $overlap exited $rc: $(cat "$TMP/err")"
    cp "$TMP/out" "$TMP/$threads$overlap.json"
    [[ -s "$TMP/$threads$overlap/tracks.jsonl" ]] || fail "no tracks with $mode"
done
for other in 2on 1off 2off; do
    cmp -s "$TMP/1on/tracks.jsonl" "$TMP/$other/tracks.jsonl" ||
        fail "1 thread with overlap and $other gave different tracks"
done
python3 - "$TMP"/*.json <<'PY' || fail "the summary's latency figures are not there"
import json, sys
for p in sys.argv[1:]:
    s = json.load(open(p))
    assert 0 < s["latency_p50_ms"] <= s["latency_p99_ms"], (p, s)
PY
echo "ok"
