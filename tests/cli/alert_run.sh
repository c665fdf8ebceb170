#!/usr/bin/env bash
# `voxtrack run --alerts FILE`: a webhook receiver on loopback
# (tests/cli/alert_webhook.py) gets the zone alert of a confirmed track, with
# the id that tracks.jsonl gives it at that time; a rules file with a typo is
# refused with its path, rule and field (exit 1), before anything runs.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"
HERE=$(cd "$(dirname "$0")" && pwd)

S=$TMP/s
run "$VT" simulate --preset small --frames 30 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"

# The receiver prints its port (chosen by the kernel) on its first line.
python3 "$HERE/alert_webhook.py" "$TMP/hook.jsonl" 0 >"$TMP/port" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    [[ -s $TMP/port ]] && break
    sleep 0.1
done
PORT=$(head -n 1 "$TMP/port")
[[ $PORT =~ ^[0-9]+$ ]] || fail "the webhook receiver did not start (python3?)"

# A zone over the whole scene, any class: every confirmed track raises.
cat >"$TMP/alerts.json" <<EOF
{"rules": [{"name": "everywhere", "kind": "zone", "classes": ["drone", "bird"],
            "polygon": [[-1e5, -1e5], [1e5, -1e5], [1e5, 1e5], [-1e5, 1e5]]}],
 "channels": [{"kind": "webhook", "url": "http://127.0.0.1:$PORT/hook", "timeout_s": 2}]}
EOF
run "$VT" run "$S/config.json" --alerts "$TMP/alerts.json" --quiet
[[ $rc == 0 ]] || fail "run --alerts exited $rc: $(cat "$TMP/err")"
[[ -s $TMP/hook.jsonl ]] || fail "the webhook received nothing; stderr: $(cat "$TMP/err")"
python3 - "$TMP/hook.jsonl" "$S/tracks.jsonl" <<'EOF' || fail "webhook alerts do not match the tracks"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
tracks = [json.loads(l) for l in open(sys.argv[2])]
for h in hooks:
    assert h["path"] == "/hook", h
    assert h["headers"]["Content-Type"] == "application/json", h
bodies = [json.loads(h["body"]) for h in hooks]
raised = [b for b in bodies if b["raised"]]
assert raised, bodies
for b in raised:
    assert b["rule"] == "everywhere" and b["kind"] == "zone", b
    # The track exists, confirmed or coasting, at the alert's pipeline time.
    match = [t for t in tracks if t["id"] == b["track"] and abs(t["t"] - b["t"]) < 2e-6]
    assert match and match[0]["status"] in ("confirmed", "coasting"), (b, match)
    assert all(abs(p - q) < 1e-3 for p, q in zip(match[0]["pos"], b["position"])), (b, match)
print(f"ok: {len(raised)} zone alerts, tracks {sorted({b['track'] for b in raised})}")
EOF

# A typo in a rule: refused with the file, the rule and the field.
sed 's/"polygon"/"polgon"/' "$TMP/alerts.json" >"$TMP/bad.json"
run "$VT" run "$S/config.json" --alerts "$TMP/bad.json" --quiet
[[ $rc == 1 ]] || fail "run with a bad rules file exited $rc, expected 1"
grep -q "bad.json: rules\[0\] 'everywhere': unknown field 'polgon'" "$TMP/err" ||
    fail "bad rules: message lacks the place: $(cat "$TMP/err")"
echo "ok: bad rules: $(head -n 1 "$TMP/err")"
