#!/usr/bin/env bash
# `voxtrack listen udp://`: datagrams built by Python from the byte layout
# in docs/TRANSPORTS.md (an implementation nobody else here wrote): garbage,
# a truncated frame, a frame with a bad CRC and a header cut short are
# counted and skipped; the valid messages print as JSON lines, with a gap in
# the sequence numbers counted as lost and a message split in three
# fragments reassembled; the --json summary carries the counts. Also usage
# errors (exit 2) and a missing file (exit 1).
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

expect_rc() {
    local want=$1
    shift
    run "$@"
    [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$TMP/err")"
}

expect_rc 0 "$VT" listen --help
grep -q '^Usage: voxtrack listen' "$TMP/out" || fail "listen --help prints no usage"
expect_rc 2 "$VT" listen
expect_rc 2 "$VT" listen nats://127.0.0.1:4222
grep -q "unknown scheme 'nats'" "$TMP/err" || fail "bad scheme not named: $(cat "$TMP/err")"
expect_rc 2 "$VT" listen udp://127.0.0.1:0 --timeout -1
expect_rc 2 "$VT" listen udp://127.0.0.1:0?bogus=1
grep -q "unknown parameter 'bogus'" "$TMP/err" || fail "bad parameter not named: $(cat "$TMP/err")"
expect_rc 1 "$VT" listen "file://$TMP/missing.bin"
grep -q "missing.bin" "$TMP/err" || fail "missing file not named: $(cat "$TMP/err")"

# The listener binds an ephemeral port and says which on stderr.
"$VT" listen udp://127.0.0.1:0 --count 4 --timeout 20 --json >"$TMP/lines" 2>"$TMP/listen.err" &
pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$TMP/listen.err")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { kill "$pid" || true; fail "listen never told its port: $(cat "$TMP/listen.err")"; }

python3 - "$port" <<'PY'
import socket, struct, sys, zlib
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def send(b):
    s.sendto(b, ("127.0.0.1", port))
def frame(seq, payload, msg_type=1, stream=0x1234, msg_len=None, off=0, index=0, count=1):
    msg_len = len(payload) if msg_len is None else msg_len
    head = b"VXT1" + struct.pack("<BBHIIQIIHH", 1, msg_type, 40, stream, msg_len, seq, off,
                                 len(payload), index, count)
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload
# Valid messages: empty TrackBatches (0 bytes decode as one), and one of 60 bytes (an
# unknown varint field, tag 15, thirty times) split in three fragments.
send(b"this is not a frame at all")                 # garbage
send(frame(0, b"")[:20])                            # header cut short (truncated)
send(frame(5, b"\x00" * 30)[:50])                   # truncated
bad = bytearray(frame(6, b"abc")); bad[-1] ^= 0xFF
send(bytes(bad))                                    # bad CRC
send(frame(0, b""))
send(frame(1, b""))
send(frame(3, b""))                                 # 2 is lost
whole = bytes([0x78, 0x01]) * 30
for i, (a, b) in enumerate([(0, 20), (20, 40), (40, 60)]):
    send(frame(4, whole[a:b], msg_len=len(whole), off=a, index=i, count=3))
PY

wait "$pid" || fail "listen exited $?: $(cat "$TMP/listen.err")"
grep -Eq 'Sanitizer|runtime error:' "$TMP/listen.err" && fail "sanitizer: $(cat "$TMP/listen.err")"
grep -q 'count reached: received 4, lost 1, garbage 4 (truncated 2)' "$TMP/listen.err" ||
    fail "wrong summary on stderr: $(cat "$TMP/listen.err")"

python3 - "$TMP/lines" <<'PY' || fail "listen output: $(cat "$TMP/lines")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
msgs, summary = lines[:-1], lines[-1]["summary"]
assert [m["seq"] for m in msgs] == [0, 1, 3, 4], msgs
assert all(m["type"] == "TrackBatch" for m in msgs), msgs
assert [m["bytes"] for m in msgs] == [0, 0, 0, 60], msgs
assert all(isinstance(m["msg"], dict) for m in msgs[:3]), msgs
for k, v in dict(received=4, lost=1, garbage=4, truncated=2, overruns=0).items():
    assert summary[k] == v, (k, summary)
PY
echo ok
