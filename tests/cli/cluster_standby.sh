#!/usr/bin/env bash
# The standby coordinator (label nats): roles started one by one against a
# real nats-server on a free port of 127.0.0.1. (1) The leader SIGKILLs
# itself (VT_CLUSTER_FAULT=die-after-track:8, an exact point) mid-run: the
# standby, which tracked every frame set too, finishes the run (taking the
# lease when the leader had not yet assembled everything) with tracks
# byte-identical to `voxtrack run`'s. (2) The leader is SIGKILLed (kill -9)
# before the capture node starts: the standby takes the lease over (its
# takeover and the time since the leader's last renewal are reported),
# assembles and tracks the whole run, tracks identical again.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# shellcheck source=tests/cli/cluster_common.bash
source "$(dirname "$0")/cluster_common.bash"

# coordinator NAME ID [ENV...]: starts coordinator ID in the background; sets $pid (its own:
# env execs it, so kill -9 $pid kills the coordinator itself).
coordinator() {
    local name=$1 id=$2
    shift 2
    env "$@" "$VT" coordinator "$S/config.json" --nats "$url" --name "$id" \
        --tracks "$TMP/$name.$id.jsonl" --json --quiet >"$TMP/$name.$id.json" \
        2>"$TMP/$name.$id.err" &
    pid=$!
    pids+=("$pid")
}

# wait_for FILE PATTERN: up to 60 s (a hang guard, not a timing check).
wait_for() {
    for _ in $(seq 600); do
        grep -q "$2" "$1" 2>/dev/null && return
        sleep 0.1
    done
    fail "'$2' never appeared in $1: $(cat "$1")"
}

no_sanitizer_reports() {
    if grep -Eq 'Sanitizer|runtime error:' "$TMP/$1".*.err; then
        fail "$1: a sanitizer report: $(cat "$TMP/$1".*.err)"
    fi
}

# --- (1) the leader dies mid-run
start_server mid
coordinator mid a VT_CLUSTER_FAULT=die-after-track:8
a=$pid
wait_for "$TMP/mid.a.err" "coordinator a: leader"
coordinator mid b
b=$pid
timeout 300 "$VT" worker "$S/config.json" --nats "$url" --quiet 2>"$TMP/mid.worker.err" &
worker=$!
pids+=("$worker")
timeout 300 "$VT" capture "$S/config.json" --nats "$url" --quiet 2>"$TMP/mid.capture.err" ||
    fail "mid: capture failed: $(cat "$TMP/mid.capture.err")"
set +e
wait "$a"
arc=$?
set -e
[[ $arc == 137 ]] || fail "mid: leader exited $arc, not by SIGKILL: $(cat "$TMP/mid.a.err")"
wait "$b" || fail "mid: the standby failed: $(cat "$TMP/mid.b.err")"
cmp "$TMP/run.jsonl" "$TMP/mid.b.jsonl" || fail "mid: the standby's tracks differ from run's"
kill "$worker" "$server"
wait "$worker" "$server" 2>/dev/null || true
no_sanitizer_reports mid
echo "ok: leader killed after frame set 8: the standby's tracks are identical to run's"

# --- (2) the leader killed before the input starts: a takeover for sure
start_server take
coordinator take a
a=$pid
wait_for "$TMP/take.a.err" "coordinator a: leader"
coordinator take b
b=$pid
timeout 300 "$VT" worker "$S/config.json" --nats "$url" --quiet 2>"$TMP/take.worker.err" &
worker=$!
pids+=("$worker")
sleep 0.5 # b has looked at the lease a few times
kill -9 "$a"
wait "$a" 2>/dev/null || true
wait_for "$TMP/take.b.err" "coordinator b: took over from a"
timeout 300 "$VT" capture "$S/config.json" --nats "$url" --quiet 2>"$TMP/take.capture.err" ||
    fail "take: capture failed: $(cat "$TMP/take.capture.err")"
wait "$b" || fail "take: the standby failed: $(cat "$TMP/take.b.err")"
cmp "$TMP/run.jsonl" "$TMP/take.b.jsonl" || fail "take: the new leader's tracks differ from run's"
python3 - "$TMP/take.b.json" <<'PY' || fail "take: summary: $(cat "$TMP/take.b.json")"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["cluster"]
assert s["frame_sets"] == 24 and c["takeovers"] == 1 and c["work_items"] == 24, s
assert c["takeover_seconds"] >= 1.5, s  # never before the lease's 1.5 s of silence
PY
kill "$worker" "$server"
wait "$worker" "$server" 2>/dev/null || true
no_sanitizer_reports take
echo "ok: leader killed: $(grep -o 'took over.*' "$TMP/take.b.err"); tracks identical"

# --- (3) the leader dies with every camera's end in, before it publishes the run's end:
# the ends were held unacked, so they come back to the standby, which ends the run.
# (Before they were acked at once, and the standby waited for the run's end for ever.)
start_server end
coordinator end a VT_CLUSTER_FAULT=die-before-end
a=$pid
wait_for "$TMP/end.a.err" "coordinator a: leader"
coordinator end b
b=$pid
timeout 300 "$VT" worker "$S/config.json" --nats "$url" --quiet 2>"$TMP/end.worker.err" &
worker=$!
pids+=("$worker")
timeout 300 "$VT" capture "$S/config.json" --nats "$url" --quiet 2>"$TMP/end.capture.err" ||
    fail "end: capture failed: $(cat "$TMP/end.capture.err")"
set +e
wait "$a"
arc=$?
set -e
[[ $arc == 137 ]] || fail "end: leader exited $arc, not by SIGKILL: $(cat "$TMP/end.a.err")"
for _ in $(seq 1200); do # a hang guard (120 s), not a timing check
    kill -0 "$b" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$b" 2>/dev/null; then
    fail "end: the standby never saw the run's end: $(cat "$TMP/end.b.err")"
fi
wait "$b" || fail "end: the standby failed: $(cat "$TMP/end.b.err")"
cmp "$TMP/run.jsonl" "$TMP/end.b.jsonl" || fail "end: the standby's tracks differ from run's"
kill "$worker" "$server"
wait "$worker" "$server" 2>/dev/null || true
no_sanitizer_reports end
echo "ok: leader killed before the run's end: the standby ended the run, tracks identical"
