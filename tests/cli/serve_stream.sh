#!/usr/bin/env bash
# `voxtrack serve --from URL`: a demo streams its results to a binary log
# (file://), `serve` replays it into the dashboard: /api/tracks has the
# demo's tracks, /api/health its stage latencies (from FrameSetStats),
# /metrics passes promtool; bad URLs and a missing --from are errors.
set -euo pipefail
VT=$1
TMP=$2
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

run "$VT" serve --help
[[ $rc == 0 ]] || fail "serve --help exited $rc"
grep -q '^Usage: voxtrack serve' "$TMP/out" || fail "serve --help: no usage"
run "$VT" serve
[[ $rc == 2 ]] || fail "serve without --from exited $rc"
grep -q -- "--from" "$TMP/err" || fail "missing --from not named: $(cat "$TMP/err")"
run "$VT" serve --from file://"$TMP"/no-such.bin --serve 127.0.0.1:0
[[ $rc == 1 ]] || fail "serve from a missing file exited $rc"
grep -q "no-such.bin" "$TMP/err" || fail "missing file not named: $(cat "$TMP/err")"
run "$VT" serve --from bogus://x --serve 127.0.0.1:0
[[ $rc == 1 ]] || fail "serve from bogus:// exited $rc"

rm -f "$TMP/log.bin"
run "$VT" demo --preset small --frames 32 --quiet --stream "file://$TMP/log.bin"
[[ $rc == 0 ]] || fail "demo --stream failed: $(cat "$TMP/err")"

"$VT" serve --from "file://$TMP/log.bin" --serve 127.0.0.1:0 --linger 30 --quiet \
    >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q "stream ended" "$TMP/serve.err" && break
    kill -0 $pid 2>/dev/null || fail "serve ended early: $(cat "$TMP/serve.err")"
    sleep 0.1
done
base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/serve.err") || fail "no address: $(cat "$TMP/serve.err")"

curl -sf "$base/api/tracks" >"$TMP/tracks.json" || fail "GET /api/tracks failed"
python3 - "$TMP/tracks.json" <<'P' || fail "bad /api/tracks: $(head -c 400 "$TMP/tracks.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["frame"] == 31, j["frame"]
assert len(j["tracks"]) > 0
for k in j["tracks"]:
    for f in ("id", "pos", "altitude", "speed", "age", "cams", "thermal_confirmed", "class",
              "thermal_observed", "thermal_confirmations", "thermal_rate", "thermal_ratio"):
        assert f in k, f
# thermal fusion's running confirmation came through the wire into the dashboard
assert any(k["thermal_observed"] > 0 and k["thermal_rate"] is not None for k in j["tracks"]), j
P
curl -sf "$base/api/health" >"$TMP/health.json" || fail "GET /api/health failed"
python3 - "$TMP/health.json" <<'P' || fail "bad /api/health: $(head -c 400 "$TMP/health.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["frame_sets"] == 32, j["frame_sets"]
assert j["latency_ms"]["total"] > 0, j["latency_ms"]
assert j["cameras_live"] == 6, j["cameras_live"]
P
curl -sf "$base/metrics" >"$TMP/metrics.txt" || fail "GET /metrics failed"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.txt" 2>&1 ||
    fail "promtool: $(cat "$TMP/promtool.txt")"
kill -TERM $pid
wait $pid || fail "serve exited $? on SIGTERM"

# A producer that starts again: two runs' logs back to back, so time and track
# ids begin anew halfway. serve says so, keeps its alert timers going and
# serves all 48 frame sets.
rm -f "$TMP/log2.bin"
run "$VT" demo --preset small --frames 16 --quiet --stream "file://$TMP/log2.bin"
[[ $rc == 0 ]] || fail "second demo --stream failed: $(cat "$TMP/err")"
cat "$TMP/log.bin" "$TMP/log2.bin" >"$TMP/twice.bin"
echo '{"rules": [{"name": "lag", "kind": "latency", "max_ms": 100000}]}' >"$TMP/rules.json"
"$VT" serve --from "file://$TMP/twice.bin" --serve 127.0.0.1:0 --linger 30 --quiet \
    --alerts "$TMP/rules.json" >"$TMP/serve2.out" 2>"$TMP/serve2.err" &
pid=$!
for _ in $(seq 100); do
    grep -q "stream ended" "$TMP/serve2.err" && break
    kill -0 $pid 2>/dev/null || fail "serve ended at the restart: $(cat "$TMP/serve2.err")"
    sleep 0.1
done
grep -q "the stream started again" "$TMP/serve2.err" || fail "restart not said: $(cat "$TMP/serve2.err")"
base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/serve2.err") || fail "no address"
curl -sf "$base/api/health" >"$TMP/health2.json" || fail "GET /api/health failed"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["frame_sets"] == 48, j["frame_sets"]' \
    "$TMP/health2.json" || fail "frame sets after the restart: $(head -c 400 "$TMP/health2.json")"
kill -TERM $pid
wait $pid || fail "serve exited $? on SIGTERM"
echo ok
