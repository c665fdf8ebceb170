#!/usr/bin/env bash
# `voxtrack listen` on what one `voxtrack demo --stream ...` run publishes: a
# shared-memory ring the listener waits for before the demo starts, a TCP
# sender the listener connects to (retrying until it is up), and a binary
# file log replayed to its end (every message decodes, sequence numbers
# consecutive), then the same log cut short (one truncated record counted).
# The TrackBatch messages captured from each transport (UDP too) decode with
# protoc, a decoder nobody here wrote, into the values listen printed.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

demo() {
    run "$VT" demo --preset small --quiet "$@"
    [[ $rc == 0 ]] || fail "demo $* exited $rc: $(cat "$TMP/err")"
}

# Checks the JSON lines in $1: at least $2 messages, all decoded, sequence numbers
# increasing by one, and the summary's figures ("key=value" ...).
check_lines() {
    python3 - "$@" <<'PY' || fail "listen output $1: $(head -c 2000 "$1")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
msgs, summary = lines[:-1], lines[-1]["summary"]
assert len(msgs) >= int(sys.argv[2]), (len(msgs), summary)
seqs = [m["seq"] for m in msgs]
assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
types = {m["type"] for m in msgs}
assert {"TrackBatch", "DetectionBatch", "FrameSetStats"} <= types, types
for m in msgs:
    assert isinstance(m["msg"], dict) and m["msg"]["type"] == m["type"], m
assert summary["received"] == len(msgs), summary
for kv in sys.argv[3:]:
    k, v = kv.split("=")
    assert summary[k] == (int(v) if v.isdigit() else v), (k, summary)
PY
}

# One demo run publishes to all three; the shm and TCP listeners start first (the
# shm one waits for the ring, the TCP one retries until the demo's server is up).
ring="vt_cli_listen_$$"
port=$((20000 + ($$ % 20000)))
udp_port=$((port + 1))
"$VT" listen "shm://$ring" --count 30 --timeout 60 --json --save "$TMP/shm.pb" \
    >"$TMP/shm.out" 2>"$TMP/shm.err" &
shm_pid=$!
"$VT" listen "tcp://127.0.0.1:$port" --count 30 --timeout 60 --json --save "$TMP/tcp.pb" \
    >"$TMP/tcp.out" 2>"$TMP/tcp.err" &
tcp_pid=$!
"$VT" listen "udp://127.0.0.1:$udp_port" --count 30 --timeout 60 --json --save "$TMP/udp.pb" \
    >"$TMP/udp.out" 2>"$TMP/udp.err" &
udp_pid=$!
# Each listener has opened its receiver (the UDP one is bound) before the demo sends.
for f in shm tcp udp; do
    for _ in $(seq 600); do grep -q "listening on" "$TMP/$f.err" && break; sleep 0.1; done
    grep -q "listening on" "$TMP/$f.err" || fail "listen $f did not start: $(cat "$TMP/$f.err")"
done
# The TCP listener connects once the demo's server is up (retrying, at most 2 s apart) and
# gets what is sent from then on: 60 frame sets (180 messages) leave it 150 to miss.
demo --frames 60 --stream "file://$TMP/log.bin" --stream "shm://$ring" \
    --stream "tcp://127.0.0.1:$port" --stream "udp://127.0.0.1:$udp_port"
proto="$(dirname "$0")/../../proto/voxtrack.proto"
protoc_check() { # NAME: the TrackBatch messages saved by that listener decode with protoc
    python3 "$(dirname "$0")/protoc_check.py" "$proto" "$TMP/$1.pb" "$TMP/$1.out" 5 ||
        fail "protoc on the TrackBatch messages of $1"
}
wait "$shm_pid" || fail "listen shm exited $?: $(cat "$TMP/shm.err")"
check_lines "$TMP/shm.out" 30 stopped="count reached" lost=0 overruns=0
protoc_check shm
wait "$tcp_pid" || fail "listen tcp exited $?: $(cat "$TMP/tcp.err")"
check_lines "$TMP/tcp.out" 30 stopped="count reached" garbage=0
protoc_check tcp
wait "$udp_pid" || fail "listen udp exited $?: $(cat "$TMP/udp.err")"
check_lines "$TMP/udp.out" 30 stopped="count reached" garbage=0 lost=0
protoc_check udp

# The file log, replayed to its end.
run "$VT" listen "file://$TMP/log.bin" --json --save "$TMP/file.pb"
[[ $rc == 0 ]] || fail "listen file exited $rc: $(cat "$TMP/err")"
check_lines "$TMP/out" 60 stopped="end of file" lost=0 garbage=0
cp "$TMP/out" "$TMP/file.out"
protoc_check file
n=$(($(wc -l <"$TMP/out") - 1))
grep -q "end of file: received $n, lost 0, garbage 0" "$TMP/err" ||
    fail "summary on stderr: $(cat "$TMP/err")"

# The same log cut in its last record.
size=$(stat -c %s "$TMP/log.bin")
head -c $((size - 3)) "$TMP/log.bin" >"$TMP/cut.bin"
run "$VT" listen "file://$TMP/cut.bin" --json --count 1000
[[ $rc == 0 ]] || fail "listen cut file exited $rc: $(cat "$TMP/err")"
check_lines "$TMP/out" $((n - 1)) truncated=1 garbage=1 received=$((n - 1))
echo ok
