#!/usr/bin/env bash
# `voxtrack serve --from udp://... --alerts FILE`: a demo streams a short run
# and stops; the stream going quiet is a stall, and the alerts' watchdog
# raises the fps alert and one camera_offline alert per camera (on the wall
# clock, "stalled_s" > 0) to a webhook receiver (tests/cli/alert_webhook.py),
# each once, and the dashboard's /api/alerts has them. With --quiet there is
# no line per alert on stderr, and the deliveries to a dead endpoint are
# summed up in one line at the end.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"
HERE=$(cd "$(dirname "$0")" && pwd)

S=$TMP/s # only for its rig: the demo's small preset has the same six cameras
run "$VT" simulate --preset small --frames 1 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"

free_port() { # a port the kernel had free a moment ago (udp or tcp)
    python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

python3 "$HERE/alert_webhook.py" "$TMP/hook.jsonl" 0 >"$TMP/port" &
HOOK=$!
SERVE=
cleanup() {
    kill "$HOOK" 2>/dev/null || true
    [[ -z $SERVE ]] || kill "$SERVE" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do
    [[ -s $TMP/port ]] && break
    sleep 0.1
done
PORT=$(head -n 1 "$TMP/port")
[[ $PORT =~ ^[0-9]+$ ]] || fail "the webhook receiver did not start (python3?)"
DEAD=$(free_port tcp) # nothing listens there: every delivery fails at once

cat >"$TMP/alerts.json" <<EOF
{"stall_s": 2, "hysteresis": {"clear_after": 1},
 "rules": [{"name": "stream-fps", "kind": "fps", "min": 5, "window_s": 1},
           {"name": "cams", "kind": "camera_offline", "after_s": 2.5}],
 "channels": [{"kind": "webhook", "url": "http://127.0.0.1:$PORT/hook", "timeout_s": 2},
              {"kind": "webhook", "url": "http://127.0.0.1:$DEAD/dead", "timeout_s": 1,
               "retries": 0}]}
EOF

# serve on a free UDP port (tried again if another program took it meanwhile).
for _ in 1 2 3; do
    UDP=$(free_port udp)
    "$VT" serve --from "udp://127.0.0.1:$UDP" --rig "$S/rig.json" --serve 127.0.0.1:0 \
        --alerts "$TMP/alerts.json" --quiet >"$TMP/serve.out" 2>"$TMP/serve.err" &
    SERVE=$!
    for _ in $(seq 100); do
        grep -q "dashboard: http" "$TMP/serve.err" && break
        kill -0 "$SERVE" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "dashboard: http" "$TMP/serve.err" && break
    wait "$SERVE" || true
    SERVE=
done
[[ -n $SERVE ]] || fail "serve did not start: $(cat "$TMP/serve.err")"
base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/serve.err")

# A short run, then nothing: the stream stalls.
run "$VT" demo --preset small --frames 30 --quiet --stream "udp://127.0.0.1:$UDP"
[[ $rc == 0 ]] || fail "demo --stream failed: $(cat "$TMP/err")"

# fps after stall_s (2 s: far over a gap between the demo's frame sets, even
# under the sanitizers), the cameras after after_s (2.5 s): 7 alerts.
for _ in $(seq 100); do
    [[ -s $TMP/hook.jsonl ]] && (($(wc -l <"$TMP/hook.jsonl") >= 7)) && break
    kill -0 "$SERVE" 2>/dev/null || fail "serve ended: $(cat "$TMP/serve.err")"
    sleep 0.1
done
sleep 1 # a second more of stall: nothing is raised twice
curl -sf "$base/api/alerts" >"$TMP/api_alerts.json" || fail "GET /api/alerts failed"
kill -TERM "$SERVE"
wait "$SERVE" || fail "serve exited $? on SIGTERM: $(cat "$TMP/serve.err")"
SERVE=
grep -Eq 'Sanitizer|runtime error:' "$TMP/serve.err" && fail "serve: $(cat "$TMP/serve.err")"

[[ -s $TMP/hook.jsonl ]] || fail "the webhook received nothing; serve: $(cat "$TMP/serve.err")"
python3 - "$TMP/hook.jsonl" "$TMP/api_alerts.json" <<'EOF' || fail "stall alerts: $(cat "$TMP/hook.jsonl")"
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
raised = [b for b in bodies if b["raised"]]
assert raised == bodies, "only raises while stalled: %s" % bodies
keys = [(b["rule"], b["camera"]) for b in raised]
assert len(keys) == len(set(keys)), "raised twice: %s" % keys
fps = [b for b in raised if b["kind"] == "fps"]
cams = sorted(b["camera"] for b in raised if b["kind"] == "camera_offline")
assert len(fps) == 1 and fps[0]["rule"] == "stream-fps" and fps[0]["value"] < 5, fps
assert cams == sorted(["m0", "t0", "m1", "t1", "m2", "t2"]), cams
for b in raised:
    assert b["stalled_s"] >= 2 and "no frame set for" in b["message"], b
for b in raised:
    if b["kind"] == "camera_offline":
        assert b["stalled_s"] >= 2.5 and b["value"] >= 2.5, b
api = json.load(open(sys.argv[2]))["alerts"]
assert len(api) == len(raised), api
print(f"ok: {len(raised)} stall alerts: fps {fps[0]['value']:.1f}/s after "
      f"{fps[0]['stalled_s']:.2f} s, cameras {cams}")
EOF

# --quiet: no line per alert; the failed deliveries summed up once.
if grep -q "alert raised" "$TMP/serve.err"; then
    fail "--quiet still logs alerts: $(cat "$TMP/serve.err")"
fi
per=$(grep "not delivered" "$TMP/serve.err" | grep -vc "deliveries failed" || true)
[[ $per == 0 ]] || fail "--quiet still logs each failed delivery: $(cat "$TMP/serve.err")"
n=$(grep -c "deliveries failed; the last: alert .* not delivered to http://127.0.0.1:$DEAD/dead" \
    "$TMP/serve.err" || true)
[[ $n == 1 ]] || fail "no single summary of the failed deliveries: $(cat "$TMP/serve.err")"
echo "ok: quiet: $(grep "deliveries failed" "$TMP/serve.err")"
