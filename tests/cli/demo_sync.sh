#!/usr/bin/env bash
# `voxtrack demo` reads its frame sets through the sync (sim sources, one per
# camera, read in parallel): the summary has the sync line, --json has every
# camera's sync statistics under "sync" (frames + drops = frame sets, the
# scene's dropped frames counted as lost by the sim source), and 1 or 2
# reading threads give the same tracks. Needs python3 (scripts/install-deps).
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

run "$VT" demo --preset small --frames 20 --quiet
[[ $rc == 0 ]] || fail "demo exited $rc: $(cat "$TMP/err")"
grep -q '^sync  *error mean' "$TMP/out" || fail "no sync line in the summary: $(cat "$TMP/out")"

for threads in 1 2; do
    run "$VT" demo --preset small --frames 20 --threads "$threads" --json --out "$TMP/t$threads"
    [[ $rc == 0 ]] || fail "demo --threads $threads exited $rc: $(cat "$TMP/err")"
    cp "$TMP/out" "$TMP/summary$threads.json"
done
python3 - "$TMP/summary1.json" "$TMP/summary2.json" <<'PY' || fail "the sync statistics are not what was expected"
import json, sys
one, two = (json.load(open(p)) for p in sys.argv[1:])
for s, threads in ((one, 1), (two, 2)):
    sync = s["sync"]
    assert sync["read_threads"] == threads, sync["read_threads"]
    cams = sync["cameras"]
    assert len(cams) == s["cameras"], (len(cams), s["cameras"])
    for c in cams:
        assert c["backend"] == "sim", c
        assert c["frames"] + c["drops"] == s["frame_sets"], c
        assert c["late"] + c["duplicates"] + c["backwards"] + c["outside"] == 0, c
        assert not c["failed"], c
        assert c["sync_error_max_ms"] < 0.5 * 1000 / 30, c
assert one["sync"]["cameras"] == two["sync"]["cameras"], "the sync statistics differ with the thread count"
assert one["accuracy"] == two["accuracy"], "the accuracy differs with the thread count"
PY
cmp -s "$TMP/t1/tracks.jsonl" "$TMP/t2/tracks.jsonl" || fail "1 and 2 threads gave different tracks"
echo "ok"
