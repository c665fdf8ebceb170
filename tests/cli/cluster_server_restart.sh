#!/usr/bin/env bash
# nats-server restarted mid-run, on the same port and store (label nats): the
# capture node stops at an exact point (VT_CLUSTER_FAULT=wait-after-set:8:FILE,
# so the test does not race the machine's speed) with the coordinator and a
# worker running; the server is stopped and started again; then the capture
# node goes on. Every role must reconnect by itself and the tracks must be
# identical to `voxtrack run`'s: no frame set lost or doubled.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# shellcheck source=tests/cli/cluster_common.bash
source "$(dirname "$0")/cluster_common.bash"

out=$TMP/restart
start_server restart
timeout 300 "$VT" coordinator "$S/nofusion.json" --nats "$url" --tracks "$out.jsonl" --json \
    --quiet >"$out.coord.json" 2>"$out.coord.err" &
coord=$!
pids+=("$coord")
timeout 300 "$VT" worker "$S/nofusion.json" --nats "$url" >"$out.w.out" 2>"$out.w.err" &
worker=$!
pids+=("$worker")
VT_CLUSTER_FAULT=wait-after-set:8:$out.go timeout 300 "$VT" capture "$S/nofusion.json" \
    --nats "$url" --quiet 2>"$out.capture.err" &
capture=$!
pids+=("$capture")
for _ in $(seq 2400); do
    [[ -e $out.go.reached ]] && break
    kill -0 "$capture" 2>/dev/null || fail "capture ended early: $(cat "$out.capture.err")"
    sleep 0.05
done
[[ -e $out.go.reached ]] || fail "capture never reached frame set 8: $(cat "$out.capture.err")"
kill "$server"
wait "$server" 2>/dev/null || true
start_server restart "$port"
touch "$out.go"
wait "$capture" || fail "capture failed after the restart: $(cat "$out.capture.err")"
wait "$coord" || fail "coordinator failed after the restart: $(cat "$out.coord.err")"
kill "$worker"
wait "$worker" || fail "worker failed: $(cat "$out.w.err")"
kill "$server"
wait "$server" 2>/dev/null || true
if grep -Eq 'Sanitizer|runtime error:' "$out".*.err; then
    fail "a sanitizer report: $(cat "$out".*.err)"
fi
grep -q "Server is ready" "$out.server.log" && [[ $(grep -c "Server is ready" "$out.server.log") == 2 ]] ||
    fail "the server did not start twice: $(cat "$out.server.log")"
cmp "$TMP/run.jsonl" "$out.jsonl" || fail "tracks differ from run's"
python3 - "$out.coord.json" <<'PY' || fail "coordinator summary: $(cat "$out.coord.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["frame_sets"] == 24, s
PY
