#!/usr/bin/env bash
# `voxtrack cluster status` (label nats), against a real nats-server on a free port of
# 127.0.0.1: on a server that never saw a cluster, an empty view (and nothing made);
# nobody at the URL, a clear error naming it; then a coordinator, a worker and a
# capture node (named, every node heartbeats into vt_members), looked at while the
# capture node waits at an exact point (after frame set 8): every member with its
# role, the coordinator leading, the six cameras owned by the capture node. Released,
# the run ends with tracks identical to `voxtrack run`'s.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# shellcheck source=tests/cli/cluster_common.bash
source "$(dirname "$0")/cluster_common.bash"

out=$TMP/status
start_server status

# --- an empty server: an empty view, twice (the first look made nothing)
for _ in 1 2; do
    run timeout 60 "$VT" cluster status --nats "$url" --json
    [[ $rc == 0 ]] || fail "status on an empty server exited $rc: $(cat "$TMP/err")"
    python3 - "$TMP/out" <<'PY' || fail "empty view: $(cat "$TMP/out")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["members"] == [] and v["cameras"] == [] and v["leader"] == "", v
assert v["queues"]["voted"] == 0 and v["redelivered"] == 0, v
PY
done
[[ ! -d $out.store/jetstream/\$G/streams/VT_RAYS ]] || fail "status made a stream"

# --- nobody there: an error naming the URL, soon; a bad option: exit 2
nobody=nats://127.0.0.1:$(free_port)
run timeout 60 "$VT" cluster status --nats "$nobody" --timeout 2
[[ $rc == 1 ]] || fail "status against nobody exited $rc"
grep -q "$nobody" "$TMP/err" || fail "the error does not name the URL: $(cat "$TMP/err")"
run "$VT" cluster status --nats "$url" --timeout -1
[[ $rc == 2 ]] || fail "--timeout -1 exited $rc"

# --- a running cluster, looked at while the capture node waits after frame set 8
timeout 300 "$VT" coordinator "$S/nofusion.json" --nats "$url" --name co1 --tracks "$out.jsonl" \
    --quiet >"$out.coord.out" 2>"$out.coord.err" &
coord=$!
pids+=("$coord")
timeout 300 "$VT" worker "$S/nofusion.json" --nats "$url" --name w1 >"$out.w.out" 2>"$out.w.err" &
worker=$!
pids+=("$worker")
VT_CLUSTER_FAULT=wait-after-set:8:$out.go timeout 300 "$VT" capture "$S/nofusion.json" \
    --nats "$url" --name cap1 --quiet 2>"$out.capture.err" &
capture=$!
pids+=("$capture")
for _ in $(seq 2400); do
    [[ -e $out.go.reached ]] && break
    kill -0 "$capture" 2>/dev/null || fail "capture ended early: $(cat "$out.capture.err")"
    sleep 0.05
done
[[ -e $out.go.reached ]] || fail "capture never reached frame set 8: $(cat "$out.capture.err")"
# The coordinator takes the lease within its first looks: wait for it (bounded).
for _ in $(seq 200); do
    run timeout 60 "$VT" cluster status --nats "$url" --json
    [[ $rc == 0 ]] || fail "status exited $rc: $(cat "$TMP/err")"
    grep -q '"leader": "co1"' "$TMP/out" && break
    sleep 0.05
done
python3 - "$TMP/out" <<'PY' || fail "status of the running cluster: $(cat "$TMP/out")"
import json, sys
v = json.load(open(sys.argv[1]))
m = {x["name"]: x for x in v["members"]}
assert set(m) == {"co1", "w1", "cap1"}, v
assert m["co1"]["role"] == "coordinator" and m["co1"]["leader"], v
assert m["w1"]["role"] == "worker" and not m["w1"]["leader"], v
assert m["cap1"]["role"] == "capture" and m["cap1"]["cameras"] == 6, v
assert [c["camera"] for c in v["cameras"]] == list(range(6)), v
assert all(c["owner"] == "cap1" for c in v["cameras"]), v
assert v["leader"] == "co1", v
assert [x["role"] for x in v["members"]] == ["coordinator", "worker", "capture"], v
for x in v["members"]:
    assert -1.0 < x["age"] < 5.0, x  # heartbeats every second; one clock on one machine
PY
run timeout 60 "$VT" cluster status --nats "$url"
[[ $rc == 0 ]] || fail "status (text) exited $rc: $(cat "$TMP/err")"
grep -Eq '^leader +co1$' "$TMP/out" || fail "text: no leader line: $(cat "$TMP/out")"
grep -Eq '^  cap1 +capture ' "$TMP/out" || fail "text: no capture row: $(cat "$TMP/out")"
touch "$out.go"
wait "$capture" || fail "capture failed: $(cat "$out.capture.err")"
wait "$coord" || fail "coordinator failed: $(cat "$out.coord.err")"
kill "$worker"
wait "$worker" || fail "worker failed: $(cat "$out.w.err")"
kill "$server"
wait "$server" 2>/dev/null || true
if grep -Eq 'Sanitizer|runtime error:' "$out".*.err; then
    fail "a sanitizer report: $(cat "$out".*.err)"
fi
cmp "$TMP/run.jsonl" "$out.jsonl" || fail "tracks differ from run's"
echo "ok: cluster status: members, leader, cameras; tracks identical"
