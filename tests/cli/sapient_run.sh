#!/usr/bin/env bash
# `voxtrack run --stream sapient+tcp://...`: voxtrack as a SAPIENT (BSI Flex 335 v2.0)
# sensor node, reporting to a fusion node played by tests/cli/sapient_peer.py (Debian's
# python3-protobuf, classes generated from proto/sapient/sapient.proto by protoc here).
# Every message the node sends is decoded twice: by protoc --decode (all of them in one
# call, through tests/cli/sapient_batch.proto) and by Python; the peer checks the
# handshake, the status reports at their interval, a DetectionReport for every confirmed
# track line of the run's tracks.jsonl at its WGS84 point (PROJ's cs2cs, 1e-7 degrees)
# and the Alerts of a zone rule. A second run gets a Task (an area of interest east of
# the origin) and reports only the tracks inside it. The node waits for the fusion node's
# acknowledgement (?wait=) before the first frame set, and the Task is sent in the same
# write just before it, so what is checked does not depend on the machine's speed.
set -euo pipefail
VT=$1
TMP=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
rm -rf "$TMP" && mkdir -p "$TMP"
source "$HERE/common.bash"
PEER=
trap '[[ -n $PEER ]] && kill "$PEER" 2>/dev/null; true' EXIT
# Debian's python3 has Debian's protobuf (a pyenv python3 earlier on PATH may not).
PYTHON=${VT_PYTHON:-/usr/bin/python3}
[[ -x $PYTHON ]] || PYTHON=python3
for t in "$PYTHON" protoc cs2cs; do
    command -v "$t" >/dev/null || fail "$t is needed (scripts/install-deps)"
done
"$PYTHON" -c "import google.protobuf" 2>/dev/null ||
    fail "$PYTHON has no google.protobuf (python3-protobuf, scripts/install-deps; or set VT_PYTHON)"

PY=$TMP/py
mkdir -p "$PY"
protoc -I"$ROOT/proto/sapient" --python_out="$PY" "$ROOT/proto/sapient/sapient.proto" ||
    fail "protoc cannot compile proto/sapient/sapient.proto"

LAT=51.4778 LON=-0.0015 H=45.0 OFFSET=1700000000 STATUS=0.05
export ORIGIN_LAT=$LAT ORIGIN_LON=$LON
S=$TMP/scene
run "$VT" simulate --preset small --frames 40 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"
run "$VT" run "$S/config.json" --quiet --frames 3 --stream "sapient+tcp://127.0.0.1:1"
[[ $rc != 0 ]] || fail "a SAPIENT stream on a rig without origin was accepted"
grep -q "origin" "$TMP/err" || fail "the error does not say the origin is missing: $(cat "$TMP/err")"
"$PYTHON" - "$S/rig.json" "$LAT" "$LON" "$H" <<'PY'
import json, sys
rig = json.load(open(sys.argv[1]))
rig["origin"] = {"lat": float(sys.argv[2]), "lon": float(sys.argv[3]), "h": float(sys.argv[4])}
json.dump(rig, open(sys.argv[1], "w"), indent=1)
PY
cat >"$TMP/alerts.json" <<'JSON'
{"rules": [{"name": "everywhere", "kind": "zone", "classes": ["drone", "bird"],
            "polygon": [[-1e5, -1e5], [1e5, -1e5], [1e5, 1e5], [-1e5, 1e5]]}]}
JSON

# serve NAME [--roi-east]: the fusion node on a port of its own, recording into $TMP/NAME.
serve() {
    local dir=$TMP/$1
    shift
    rm -rf "$dir" && mkdir -p "$dir"
    "$PYTHON" "$HERE/sapient_peer.py" serve "$PY" "$dir" "$@" >"$dir.log" 2>&1 &
    PEER=$!
    for _ in $(seq 200); do [[ -s $dir/port ]] && break; sleep 0.05; done
    [[ -s $dir/port ]] || fail "the fusion node did not start: $(cat "$dir.log")"
    URL="sapient+tcp://127.0.0.1:$(cat "$dir/port")?wait=30&linger=30&status=$STATUS&utc_offset=$OFFSET"
}
finish() {
    wait "$PEER" || fail "the fusion node failed: $(cat "$TMP/$1.log")"
    PEER=
}
# decode NAME: every recorded message through one protoc --decode of a Batch.
decode() {
    local dir=$TMP/$1 n
    n=$(ls "$dir"/*.bin | wc -l)
    "$PYTHON" - "$dir" >"$dir.batch" <<'PY'
import glob, sys
out = sys.stdout.buffer
for path in sorted(glob.glob(sys.argv[1] + "/*.bin")):
    data = open(path, "rb").read()
    out.write(b"\x0a")  # field 1, length-delimited
    v = len(data)
    while True:
        out.write(bytes([(v & 0x7F) | (0x80 if v > 0x7F else 0)]))
        v >>= 7
        if not v:
            break
    out.write(data)
PY
    protoc -I"$ROOT/proto/sapient" -I"$HERE" --decode=sapient_msg.bsi_flex_335_v2_0.Batch \
        "$HERE/sapient_batch.proto" <"$dir.batch" >"$dir.txt" ||
        fail "protoc --decode refused the messages of $1"
    [[ $(grep -c '^message {' "$dir.txt") == "$n" ]] ||
        fail "protoc decoded $(grep -c '^message {' "$dir.txt") of $n messages of $1"
    grep -q 'icd_version: "BSI Flex 335 v2.0"' "$dir.txt" || fail "protoc: no registration in $1"
}

serve plain
run "$VT" run "$S/config.json" --quiet --alerts "$TMP/alerts.json" --stream "$URL"
[[ $rc == 0 ]] || fail "run --stream sapient+tcp failed: $(cat "$TMP/err")"
finish plain
decode plain
"$PYTHON" "$HERE/sapient_peer.py" check "$PY" "$TMP/plain" "$S/tracks.jsonl" "$LAT" "$LON" "$H" \
    "$OFFSET" "$STATUS" --alerts || fail "what the fusion node received does not check out"

serve roi --roi-east
run "$VT" run "$S/config.json" --quiet --stream "$URL"
[[ $rc == 0 ]] || fail "run --stream sapient+tcp with a task failed: $(cat "$TMP/err")"
finish roi
decode roi
"$PYTHON" "$HERE/sapient_peer.py" check "$PY" "$TMP/roi" "$S/tracks.jsonl" "$LAT" "$LON" "$H" \
    "$OFFSET" "$STATUS" --roi-east || fail "the task was not obeyed"

# A bad SAPIENT URL is a clear error naming what is wrong.
run "$VT" run "$S/config.json" --quiet --frames 3 --stream "sapient+tcp://127.0.0.1:5000?wait=-1"
[[ $rc != 0 ]] || fail "wait=-1 was accepted"
grep -q "wait" "$TMP/err" || fail "the error does not name wait: $(cat "$TMP/err")"
echo "sapient_run: ok"
