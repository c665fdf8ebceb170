#!/usr/bin/env bash
# --serve with --alerts: a zone rule that covers the small scene raises
# alerts for its confirmed drones; they reach /api/alerts, the /events stream
# and voxtrack_alerts_total in /metrics.
set -euo pipefail
VT=$1
TMP=$2
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

cat >"$TMP/alerts.json" <<'J'
{"rules": [{"name": "everywhere", "kind": "zone",
            "polygon": [[-5000, -5000], [5000, -5000], [5000, 5000], [-5000, 5000]],
            "altitude": [-100, 5000]}]}
J
"$VT" demo --preset small --quiet --serve 127.0.0.1:0 --alerts "$TMP/alerts.json" --linger 30 \
    >"$TMP/demo.out" 2>"$TMP/demo.err" &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true' EXIT
for _ in $(seq 300); do
    grep -q "still serving" "$TMP/demo.err" && break
    kill -0 $demo 2>/dev/null || fail "the demo ended early: $(cat "$TMP/demo.err")"
    sleep 0.1
done
base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/demo.err") || fail "no address: $(cat "$TMP/demo.err")"

curl -sf "$base/api/alerts" >"$TMP/alerts.out" || fail "GET /api/alerts failed"
python3 - "$TMP/alerts.out" <<'P' || fail "bad /api/alerts: $(head -c 600 "$TMP/alerts.out")"
import json, sys
a = json.load(open(sys.argv[1]))["alerts"]
raised = [e for e in a if e["raised"] and e["rule"] == "everywhere" and e["kind"] == "zone"]
assert raised, a
assert all(e["track"] > 0 for e in raised)
P
curl -sf "$base/metrics" >"$TMP/metrics.txt" || fail "GET /metrics failed"
grep -Eq '^voxtrack_alerts_total [1-9]' "$TMP/metrics.txt" || fail "voxtrack_alerts_total is 0"
curl -s --max-time 1 "$base/events" >"$TMP/events.txt" || true
grep -q '^event: alerts' "$TMP/events.txt" || fail "/events sent no alerts: $(head -c 300 "$TMP/events.txt")"
grep -q '"rule":"everywhere"' "$TMP/events.txt" || fail "/events: no zone alert"
echo ok
