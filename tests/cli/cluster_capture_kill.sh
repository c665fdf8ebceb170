#!/usr/bin/env bash
# A capture node SIGKILLed mid-run (label nats): two capture nodes share the
# small scene's six cameras (A: 0-2, B: 3-5), against a real nats-server on a
# free port of 127.0.0.1. A kills itself (VT_CLUSTER_FAULT, a real SIGKILL at
# an exact point: after publishing its fifth frame set). The coordinator finds
# A silent for 5 s and hands cameras 0-2 to B, which reads them again from the
# start (rebuilding their background models) and publishes the frame sets A
# did not. tracks.jsonl must be identical to `voxtrack run`'s, no frame set
# lost or doubled, the three reassignments counted by both sides.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# shellcheck source=tests/cli/cluster_common.bash
source "$(dirname "$0")/cluster_common.bash"

out=$TMP/kill
start_server kill
timeout 300 "$VT" coordinator "$S/nofusion.json" --nats "$url" --tracks "$out.jsonl" --json \
    --quiet >"$out.coord.json" 2>"$out.coord.err" &
coord=$!
pids+=("$coord")
timeout 300 "$VT" worker "$S/nofusion.json" --nats "$url" >"$out.w.out" 2>"$out.w.err" &
worker=$!
pids+=("$worker")
VT_CLUSTER_FAULT=die-after-set:5 timeout 300 "$VT" capture "$S/nofusion.json" --nats "$url" \
    --name capA --cameras 0,1,2 --quiet 2>"$out.a.err" &
capa=$!
pids+=("$capa")
timeout 300 "$VT" capture "$S/nofusion.json" --nats "$url" --name capB --cameras 3,4,5 \
    2>"$out.b.err" &
capb=$!
pids+=("$capb")
set +e
wait "$capa"
arc=$?
set -e
[[ $arc == 137 ]] || fail "capture A exited $arc, not by SIGKILL: $(cat "$out.a.err")"
wait "$capb" || fail "capture B failed: $(cat "$out.b.err")"
wait "$coord" || fail "coordinator failed: $(cat "$out.coord.err")"
kill "$worker"
wait "$worker" || fail "worker failed: $(cat "$out.w.err")"
kill "$server"
wait "$server" 2>/dev/null || true
if grep -Eq 'Sanitizer|runtime error:' "$out".*.err; then
    fail "a sanitizer report: $(cat "$out".*.err)"
fi
cmp "$TMP/run.jsonl" "$out.jsonl" || fail "tracks differ from run's"
grep -q "3 cameras taken over" "$out.b.err" || fail "capture B did not take 3 cameras: $(cat "$out.b.err")"
for cam in 0 1 2; do
    grep -q "camera $cam reassigned from capA to capB" "$out.coord.err" ||
        fail "no reassignment of camera $cam reported: $(cat "$out.coord.err")"
done
python3 - "$out.coord.json" <<'PY' || fail "coordinator summary: $(cat "$out.coord.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["frame_sets"] == 24, s
c = s["cluster"]
assert c["reassigned"] == 3 and c["duplicates"] == 0, s
assert c["reassign_seconds"] >= 5.0, s  # never before 5 s of silence
PY
