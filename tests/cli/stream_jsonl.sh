#!/usr/bin/env bash
# `--stream` on `demo`: a JSON Lines file and a second URL at once; every
# line is JSON, the messages come in frame-set order (TrackBatch,
# DetectionBatch, FrameSetStats, Health first), confirmed tracks appear with
# the documented fields; a bad URL stops the command with a message naming
# it (exit 1). Needs python3 (scripts/install-deps).
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

run "$VT" demo --preset small --frames 12 --quiet \
    --stream "file://$TMP/out.jsonl" --stream "$TMP/copy.jsonl"
[[ $rc == 0 ]] || fail "demo --stream exited $rc: $(cat "$TMP/err")"
cmp -s "$TMP/out.jsonl" "$TMP/copy.jsonl" || fail "the two JSON Lines outputs differ"

python3 - "$TMP/out.jsonl" <<'PY' || fail "out.jsonl is not what was expected"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
types = [m["type"] for m in lines]
assert types[:4] == ["TrackBatch", "DetectionBatch", "FrameSetStats", "Health"], types[:4]
batches = [m for m in lines if m["type"] == "TrackBatch"]
assert len(batches) == 12, len(batches)
assert [b["frame"] for b in batches] == list(range(12)), [b["frame"] for b in batches]
confirmed = [t for b in batches for t in b["tracks"] if t["status"] == "confirmed"]
assert confirmed, "no confirmed track in 12 frame sets"
for key in ("id", "time_ns", "position", "velocity", "covariance", "confidence",
            "target_class", "cameras", "thermal_confirmed", "hits", "age"):
    assert key in confirmed[-1], key
assert len(confirmed[-1]["covariance"]) == 6
# The small scene has thermal cameras: fusion's running confirmation travels too.
assert confirmed[-1]["thermal_observed"] > 0, confirmed[-1]
assert 0 <= confirmed[-1]["thermal_confirmations"] <= confirmed[-1]["thermal_observed"]
assert 0 <= confirmed[-1]["thermal_rate"] <= 1, confirmed[-1]
stats = [m for m in lines if m["type"] == "FrameSetStats"]
assert all(len(s["cameras"]) == len(stats[0]["cameras"]) > 0 for s in stats)
health = [m for m in lines if m["type"] == "Health"][0]
assert health["frame_sets"] == 1 and health["cameras_total"] == len(stats[0]["cameras"])
print("ok: %d lines, %d confirmed track updates" % (len(lines), len(confirmed)))
PY

run "$VT" demo --preset small --frames 2 --quiet --stream "bogus://x"
[[ $rc == 1 ]] || fail "a bad URL: exit $rc, expected 1"
grep -q "bogus://x" "$TMP/err" || fail "the message does not name the URL: $(cat "$TMP/err")"
echo "ok: bad URL: $(head -n 1 "$TMP/err")"

run "$VT" demo --preset small --frames 2 --quiet --stream "file://$TMP/no/such/dir/x.jsonl"
[[ $rc == 1 ]] || fail "an unwritable file: exit $rc, expected 1"
grep -q "no/such/dir/x.jsonl" "$TMP/err" || fail "the message does not name the file: $(cat "$TMP/err")"
echo "ok: unwritable file: $(head -n 1 "$TMP/err")"
