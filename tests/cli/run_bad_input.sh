#!/usr/bin/env bash
# `voxtrack run` on bad input: every case ends with its documented exit status
# and a message naming the file, camera or field, never a crash. Broken
# configurations and rigs, missing frames and frames of the wrong size stop
# the run (exit 1); a non-unit quaternion, a camera with fewer frames and a
# camera whose file ends halfway only warn, and the run goes on (exit 0).
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# expect DESCRIPTION STATUS PATTERN -- COMMAND...: exits STATUS with PATTERN in stderr.
expect() {
    local what=$1 status=$2 pattern=$3
    shift 4
    run "$@"
    [[ $rc == "$status" ]] || fail "$what: '$*' exited $rc, expected $status: $(cat "$TMP/err")"
    grep -Eq -- "$pattern" "$TMP/err" ||
        fail "$what: message lacks /$pattern/; stderr was: $(cat "$TMP/err")"
    echo "ok: $what: $(grep -E -m 1 -- "$pattern" "$TMP/err")"
}

# Edits a rig (or any JSON file) in place: edit_json FILE PYTHON-STATEMENT (on r).
edit_json() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
path, stmt = sys.argv[1], sys.argv[2]
r = json.load(open(path))
exec(stmt)
json.dump(r, open(path, "w"), indent=1)
EOF
}

# Scenes: raw frames (fast) for most cases, PGM for the frame size, which a
# raw file does not carry. Each case works on a fresh copy, $C.
run "$VT" simulate --preset small --frames 12 --format raw --out "$TMP/raw" --quiet
[[ $rc == 0 ]] || fail "simulate raw exited $rc: $(cat "$TMP/err")"
run "$VT" simulate --preset small --frames 3 --format pgm --out "$TMP/pgm" --quiet
[[ $rc == 0 ]] || fail "simulate pgm exited $rc: $(cat "$TMP/err")"
C=$TMP/case
fresh() {
    rm -rf "$C"
    cp -r "$TMP/$1" "$C"
}
# The camera the cases break: index 3, id t1 (thermal, 16-bit); its frame size.
read -r T1_W T1_H T1_FRAME < <(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["cameras"][3]
assert c["id"] == "t1", c["id"]
print(c["width"], c["height"], c["width"] * c["height"] * c["bits"] // 8)' "$TMP/raw/rig.json")
[[ -n $T1_FRAME ]] || fail "the small preset has no camera t1"

# --- configuration
expect "config missing" 1 "nothere\.json" -- "$VT" run "$TMP/nothere.json"

fresh raw
printf '{"rig": "rig.json",\n  "volume": {"min": [0, 0, 0],, }}\n' >"$C/broken.json"
expect "malformed config" 1 "broken\.json:2:[0-9]+" -- "$VT" run "$C/broken.json"

cat >"$C/unknown.json" <<'EOF'
{"rig": "rig.json", "volume": {"min": [-150, -150, 0], "max": [150, 150, 220]},
 "pipeline": {"vote": {"min_camras": 3}}}
EOF
expect "unknown config field" 1 "unknown\.json.*pipeline\.vote\.min_camras" -- \
    "$VT" run "$C/unknown.json"

edit_json "$C/config.json" 'r["rig"] = "gone.json"'
expect "missing rig" 1 "gone\.json: cannot open" -- "$VT" run "$C/config.json" --quiet

# --- missing frames: opening the camera fails, naming it
fresh raw
rm "$C/t1.raw"
expect "raw file missing" 1 "camera 3 \('t1'\).*t1\.raw" -- "$VT" run "$C/config.json" --quiet

fresh pgm
rm -r "$C/t1"
expect "frames folder missing" 1 "camera 3 \('t1'\).*t1/timestamps\.txt" -- \
    "$VT" run "$C/config.json" --quiet

# --- rig validation
fresh raw
edit_json "$C/rig.json" 'r["cameras"][3]["fx"] = 0'
expect "zero focal length" 1 "rig\.json: camera 3 \('t1'\): field 'fx' must be > 0" -- \
    "$VT" run "$C/config.json" --quiet

fresh raw
edit_json "$C/rig.json" 'r["cameras"][3]["quaternion"] = [q * 1.01 for q in r["cameras"][3]["quaternion"]]'
expect "non-unit quaternion" 0 "camera 3 \('t1'\): quaternion has norm 1\.01.*normalised" -- \
    "$VT" run "$C/config.json" --quiet
grep -Eq '^frame sets +12$' "$TMP/out" || fail "quaternion: not every frame set ran: $(cat "$TMP/out")"

# --- a frame of the wrong size stops the run, naming the camera and the file
fresh pgm
edit_json "$C/rig.json" 'r["cameras"][3]["width"] += 8'
expect "frame of the wrong size" 1 \
    "camera 3 \('t1'\).*t1/000000\.pgm: image is ${T1_W}x$T1_H, the camera's frames are $((T1_W + 8))x$T1_H" -- \
    "$VT" run "$C/config.json" --quiet

# --- a camera with fewer frames: the others go on, the summary lists it
fresh raw
head -n 6 "$TMP/raw/t1/timestamps.txt" >"$C/t1/timestamps.txt"
expect "fewer timestamps" 0 "camera 3 \('t1'\): no frames after frame 5; going on" -- \
    "$VT" run "$C/config.json" --quiet
grep -Eq '^  t1 +6 of 12 frame sets \(frames 0\.\.5\)$' "$TMP/err" ||
    fail "fewer timestamps: the summary does not list t1: $(cat "$TMP/err")"
grep -Eq '^frame sets +12$' "$TMP/out" || fail "fewer timestamps: the run stopped early"
[[ $(grep -c "going on" "$TMP/err") == 1 ]] ||
    fail "fewer timestamps: other cameras reported as ending: $(cat "$TMP/err")"

# --- a camera whose raw file ends halfway while its timestamps list every frame
fresh raw
truncate -s $((6 * T1_FRAME)) "$C/t1.raw"
expect "raw file ends halfway" 0 \
    "warning: camera 3 \('t1'\): .*t1\.raw ends after 6 frames, the timestamps list 12; going on without it" -- \
    "$VT" run "$C/config.json" --quiet
grep -Eq '^  t1 +6 of 12 frame sets \(frames 0\.\.5\): .*ends after 6 frames' "$TMP/err" ||
    fail "raw file ends halfway: the summary does not list t1: $(cat "$TMP/err")"
grep -Eq '^frame sets +12$' "$TMP/out" || fail "raw file ends halfway: the run stopped early"
grep -q "camera 3 ('t1'): camera 3" "$TMP/err" && fail "the warning names the camera twice"

# ... and one cut in the middle of a frame: a read error, the same outcome
fresh raw
truncate -s $((6 * T1_FRAME + 1000)) "$C/t1.raw"
expect "raw file cut mid-frame" 0 "warning: camera 3 \('t1'\): .*frame 6 is truncated.*going on without it" -- \
    "$VT" run "$C/config.json" --quiet --json
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["frame_sets"] == 12' "$TMP/out" ||
    fail "raw file cut mid-frame: not 12 frame sets: $(cat "$TMP/out")"

# --- every camera's frames are fine but the output cannot be written
fresh raw
expect "unwritable tracks" 1 "$C/nodir/tracks\.jsonl" -- \
    "$VT" run "$C/config.json" --quiet --tracks "$C/nodir/tracks.jsonl"
rm -rf "$C"
echo "ok"
