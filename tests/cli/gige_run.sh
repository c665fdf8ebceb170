#!/usr/bin/env bash
# `voxtrack run` on a rig with a GigE Vision camera that is not there, or with
# a misspelt gige setting: exit 1 with a message that names the camera and
# the id or the field's path, in bounded time. (Capture itself is tested
# against the fake camera by test_gige.)
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# Sets camera 0's media to the given gige object (JSON text).
set_gige() {
    python3 - "$TMP/scene/rig.json" "$1" <<'EOF'
import json, sys
path, gige = sys.argv[1], json.loads(sys.argv[2])
r = json.load(open(path))
c = r["cameras"][0]
for key in ("frames", "video", "raw", "timestamps"):
    c.pop(key, None)
c["gige"] = gige
json.dump(r, open(path, "w"), indent=1)
EOF
}

run "$VT" simulate --preset small --frames 2 --format raw --out "$TMP/scene" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"
ID=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cameras"][0]["id"])' \
    "$TMP/scene/rig.json")

set_gige '{"id": "VT-NO-SUCH-CAMERA"}'
start=$SECONDS
run timeout 60 "$VT" run "$TMP/scene/config.json" --quiet
[[ $rc == 1 ]] || fail "absent camera: exited $rc, expected 1: $(cat "$TMP/err")"
grep -Eq "camera 0 \('$ID'\).*VT-NO-SUCH-CAMERA" "$TMP/err" ||
    fail "absent camera: message lacks the camera and its id: $(cat "$TMP/err")"
((SECONDS - start < 30)) || fail "absent camera: took $((SECONDS - start)) s"
echo "ok: absent camera: $(head -n 1 "$TMP/err")"

set_gige '{"id": "127.0.0.1", "exposure": 800}'
run "$VT" run "$TMP/scene/config.json" --quiet
[[ $rc == 1 ]] || fail "misspelt field: exited $rc, expected 1: $(cat "$TMP/err")"
grep -q "rig.json: camera 0 ('$ID'): unknown field 'gige.exposure'" "$TMP/err" ||
    fail "misspelt field: message lacks its path: $(cat "$TMP/err")"
echo "ok: misspelt field: $(head -n 1 "$TMP/err")"
