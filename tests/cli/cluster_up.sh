#!/usr/bin/env bash
# The distributed mode with a real nats-server on loopback (label nats; run it
# isolated: /work/coord/isolated or any own network namespace is not needed,
# every port is picked free): `cluster up --workers 2` on the small scene
# writes the very tracks.jsonl (byte for byte) that `voxtrack run` writes; a
# NATS URL nobody answers, a server without JetStream and a bad URL are clear
# errors within the timeout, nothing waits for ever; command-line errors exit 2.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# shellcheck source=tests/cli/cluster_common.bash
source "$(dirname "$0")/cluster_common.bash"

# --- the same tracks through the cluster
run timeout 300 "$VT" cluster up "$S/config.json" --workers 2 --tracks "$TMP/cluster.jsonl" \
    --json --quiet
[[ $rc == 0 ]] || fail "cluster up exited $rc: $(cat "$TMP/err")"
cmp "$TMP/run.jsonl" "$TMP/cluster.jsonl" || fail "cluster up's tracks differ from run's"
[[ -s $TMP/run.jsonl ]] || fail "no tracks at all: the comparison proves nothing"
python3 - "$TMP/out" <<'PY' || fail "cluster up: summary not as documented: $(cat "$TMP/out")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["frame_sets"] == 24, s
# The coordinator that finished first reports: the leader (24 items assembled) or the standby.
assert s["cluster"]["work_items"] in (0, 24) and s["cluster"]["bad_messages"] == 0, s
assert s["cluster"]["takeovers"] == 0, s
PY
[[ ! -e $TMP/cluster.jsonl.a && ! -e $TMP/cluster.jsonl.b ]] || fail "cluster up left a coordinator's file"
echo "ok: cluster up --workers 2: tracks identical to run's ($(wc -l <"$TMP/run.jsonl") lines)"

# --- three capture nodes (cameras 0-1, 2-3, 4-5): the same tracks
run timeout 300 "$VT" cluster up "$S/config.json" --workers 2 --capture 3 \
    --tracks "$TMP/cluster3.jsonl" --quiet
[[ $rc == 0 ]] || fail "cluster up --capture 3 exited $rc: $(cat "$TMP/err")"
cmp "$TMP/run.jsonl" "$TMP/cluster3.jsonl" || fail "cluster up --capture 3: tracks differ from run's"
run "$VT" cluster up "$S/config.json" --capture 7
[[ $rc == 2 ]] || fail "--capture 7 on 6 cameras exited $rc"
grep -q "the rig has 6 cameras" "$TMP/err" || fail "--capture 7: $(cat "$TMP/err")"
echo "ok: cluster up --capture 3: tracks identical to run's"

# --- nobody at the URL: a clear error, soon
port=$(free_port)
run timeout 60 "$VT" worker "$S/config.json" --nats "nats://127.0.0.1:$port" --timeout 2 --quiet
[[ $rc == 1 ]] || fail "worker against nobody exited $rc: $(cat "$TMP/err")"
grep -q "cannot connect to NATS at nats://127.0.0.1:$port" "$TMP/err" ||
    fail "worker against nobody: message lacks the URL: $(cat "$TMP/err")"
echo "ok: nobody at the URL: $(head -n 1 "$TMP/err")"

run timeout 60 "$VT" coordinator "$S/config.json" --nats "bogus://no.such.host:1" --timeout 2 \
    --tracks "$TMP/x.jsonl" --quiet
[[ $rc == 1 ]] || fail "coordinator with a bad URL exited $rc: $(cat "$TMP/err")"
grep -q "bogus://no.such.host:1" "$TMP/err" || fail "bad URL: not named: $(cat "$TMP/err")"
echo "ok: bad URL: $(head -n 1 "$TMP/err")"

# --- a server without JetStream
port=$(free_port)
"$SERVER" -a 127.0.0.1 -p "$port" >"$TMP/plain-server.log" 2>&1 &
plain=$!
trap 'kill $plain 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
run timeout 60 "$VT" capture "$S/config.json" --nats "nats://127.0.0.1:$port" --timeout 2 --quiet
[[ $rc == 1 ]] || fail "capture against a server without JetStream exited $rc: $(cat "$TMP/err")"
grep -q "has no JetStream" "$TMP/err" || fail "no JetStream: message unclear: $(cat "$TMP/err")"
echo "ok: no JetStream: $(head -n 1 "$TMP/err")"
kill $plain
wait $plain 2>/dev/null || true
trap - EXIT

# --- command-line errors
run "$VT" cluster
[[ $rc == 2 ]] || fail "cluster without a subcommand exited $rc"
run "$VT" cluster down "$S/config.json"
[[ $rc == 2 ]] && grep -q "unknown subcommand 'down'" "$TMP/err" || fail "cluster down: $rc $(cat "$TMP/err")"
run "$VT" cluster up "$S/config.json" --workers 0
[[ $rc == 2 ]] || fail "--workers 0 exited $rc"
run "$VT" cluster up "$TMP/missing.json"
[[ $rc == 1 ]] && grep -q "missing.json" "$TMP/err" || fail "missing config: $rc $(cat "$TMP/err")"
run "$VT" cluster up "$S/config.json" --nats-server "$TMP/no-such-server"
[[ $rc == 1 ]] && grep -q "cannot find nats-server" "$TMP/err" || fail "no server: $rc $(cat "$TMP/err")"
echo "ok: command-line errors"
