#!/usr/bin/env bash
# A voting worker SIGKILLed mid-run (label nats): the roles started one by one
# against a real nats-server on a free port of 127.0.0.1, as on separate
# machines. Worker 1 kills itself (VT_CLUSTER_FAULT, a real SIGKILL at an
# exact point, so the test does not race the machine's speed) at its third
# work item: once right after fetching it (nothing published, nothing acked),
# once after publishing its detections but before the ack. Worker 2 starts
# only after worker 1 is dead, so in the first case the item must come back
# to the queue after AckWait (1 s here) and be voted by worker 2. Both times:
# tracks.jsonl identical to `voxtrack run`'s, no frame set lost or doubled,
# the redelivery counted (by worker 2 and by the coordinator).
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# shellcheck source=tests/cli/cluster_common.bash
source "$(dirname "$0")/cluster_common.bash"

# scenario FAULT: one run with worker 1 dying at FAULT; leaves the outputs in $TMP/FAULT.*
scenario() {
    local fault=$1 out=$TMP/$1 port url server
    start_server "$fault"
    timeout 300 "$VT" coordinator "$S/config.json" --nats "$url" --tracks "$out.jsonl" --json \
        --quiet >"$out.coord.json" 2>"$out.coord.err" &
    local coord=$!
    pids+=("$coord")
    VT_CLUSTER_FAULT=$fault:3 timeout 300 "$VT" worker "$S/config.json" --nats "$url" \
        --ack-wait 1 >"$out.w1.out" 2>"$out.w1.err" &
    local w1=$!
    pids+=("$w1")
    timeout 300 "$VT" capture "$S/config.json" --nats "$url" --quiet 2>"$out.capture.err" ||
        fail "$fault: capture failed: $(cat "$out.capture.err")"
    set +e
    wait "$w1"
    local w1rc=$?
    set -e
    [[ $w1rc == 137 ]] || fail "$fault: worker 1 exited $w1rc, not by SIGKILL: $(cat "$out.w1.err")"
    timeout 300 "$VT" worker "$S/config.json" --nats "$url" --ack-wait 1 >"$out.w2.out" \
        2>"$out.w2.err" &
    local w2=$!
    pids+=("$w2")
    wait "$coord" || fail "$fault: coordinator failed: $(cat "$out.coord.err")"
    kill "$w2"
    wait "$w2" || fail "$fault: worker 2 failed: $(cat "$out.w2.err")"
    kill "$server"
    wait "$server" 2>/dev/null || true
    if grep -Eq 'Sanitizer|runtime error:' "$out".*.err; then
        fail "$fault: a sanitizer report: $(cat "$out".*.err)"
    fi
    cmp "$TMP/run.jsonl" "$out.jsonl" || fail "$fault: tracks differ from run's"
    grep -q "frame sets voted, $2 delivered again" "$out.w2.err" ||
        fail "$fault: worker 2 did not count $2 redeliveries: $(cat "$out.w2.err")"
}

# After fetching: the coordinator waits for the item's detections, so it must come back.
scenario die-after-fetch 1
python3 - "$TMP/die-after-fetch.coord.json" <<'PY' || fail "die-after-fetch: coordinator summary: $(cat "$TMP/die-after-fetch.coord.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["frame_sets"] == 24, s
assert s["cluster"]["redelivered"] == 1 and s["cluster"]["duplicates"] == 0, s
PY
echo "ok: worker killed after fetching: tracks identical, the item delivered again and counted"

# After publishing: the coordinator has every frame set without the item coming back, and
# may finish before it does (worker 2 then counts 0); when it comes back, worker 2 votes it
# again and the server drops the copy of the detections by its Nats-Msg-Id.
scenario die-after-publish '[01]'
python3 - "$TMP/die-after-publish.coord.json" <<'PY' || fail "die-after-publish: coordinator summary: $(cat "$TMP/die-after-publish.coord.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["frame_sets"] == 24, s
# The second copy of the detections has the first's Nats-Msg-Id: the server drops it.
assert s["cluster"]["redelivered"] == 0, s
PY
echo "ok: worker killed between publishing and acking: tracks identical, no frame set doubled"
