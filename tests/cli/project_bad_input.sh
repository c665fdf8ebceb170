#!/usr/bin/env bash
# `voxtrack project` on broken inputs: each case must fail (non-zero exit)
# with a message that says what is wrong and where, before any heavy work.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# expect_failure DESCRIPTION PATTERN... -- COMMAND...: fails with every
# (extended, case-insensitive) PATTERN in stderr.
expect_failure() {
    local what=$1
    shift
    local patterns=()
    while [[ $1 != -- ]]; do
        patterns+=("$1")
        shift
    done
    shift
    run "$@"
    [[ $rc != 0 ]] || fail "$what: '$*' succeeded"
    for p in "${patterns[@]}"; do
        grep -Eqi -- "$p" "$TMP/err" ||
            fail "$what: message lacks /$p/; stderr was: $(cat "$TMP/err")"
    done
    echo "ok: $what: $(head -n 1 "$TMP/err")"
}

# A small dataset: 3 cameras x 3 frames of 160x90.
DATA=$TMP/data
"$VT" demo-project --no-run --out "$DATA" --cameras 3 --frames 3 --width 160 --height 90 --quiet ||
    fail "voxtrack demo-project --no-run could not write the dataset"
[[ -f $DATA/metadata.json ]] || fail "demo-project --no-run wrote no metadata.json"
# The same scene at another size, for the size-mismatch case.
OTHER=$TMP/other
"$VT" demo-project --no-run --out "$OTHER" --cameras 3 --frames 3 --width 200 --height 100 --quiet ||
    fail "voxtrack demo-project --no-run could not write the second dataset"

OUT=$TMP/grid.bin
SMALL=(--grid-size 32 --voxel-size 20 --quiet)

# The dataset itself is fine.
run "$VT" project "$DATA/metadata.json" "$DATA" "$OUT" "${SMALL[@]}"
[[ $rc == 0 ]] || fail "the unmodified dataset fails: $(cat "$TMP/err")"

# Writes a modified copy of metadata.json: edit_meta NAME PYTHON-EXPRESSION
# where the expression changes the list `m` in place.
edit_meta() {
    python3 - "$DATA/metadata.json" "$DATA/$1" "$2" <<'PY'
import json, sys
src, dst, code = sys.argv[1:4]
with open(src) as f:
    m = json.load(f)
exec(code)
with open(dst, "w") as f:
    json.dump(m, f, indent=2)
PY
}

expect_failure "missing metadata file" "no-such\.json" -- \
    "$VT" project "$DATA/no-such.json" "$DATA" "$OUT" "${SMALL[@]}"

# Malformed JSON: the first comma after line 2 removed. The parser sees the
# error on that line or the next, and the message must say which.
BAD_LINE=$(python3 - "$DATA/metadata.json" "$DATA/broken.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
text = json.dumps(m, indent=2).splitlines()
i = next(i for i, l in enumerate(text) if i >= 2 and l.endswith(","))
text[i] = text[i][:-1]
open(sys.argv[2], "w").write("\n".join(text) + "\n")
print(i + 1)
PY
)
NEXT_LINE=$((BAD_LINE + 1))
expect_failure "malformed JSON" "broken\.json" "line ($BAD_LINE|$NEXT_LINE)\b|:($BAD_LINE|$NEXT_LINE):" -- \
    "$VT" project "$DATA/broken.json" "$DATA" "$OUT" "${SMALL[@]}"

edit_meta no_yaw.json 'del m[2]["yaw"]'
expect_failure "missing field" "no_yaw\.json" "yaw" "(entry|index|#) ?2\b|\[2\]" -- \
    "$VT" project "$DATA/no_yaw.json" "$DATA" "$OUT" "${SMALL[@]}"

edit_meta wrong_type.json 'm[1]["fov_degrees"] = "sixty"'
expect_failure "wrong type" "wrong_type\.json" "fov_degrees" "(entry|index|#) ?1\b|\[1\]" -- \
    "$VT" project "$DATA/wrong_type.json" "$DATA" "$OUT" "${SMALL[@]}"

edit_meta missing_image.json 'm[4]["image_file"] = "no_such_image.png"'
expect_failure "image listed but missing" "no_such_image\.png" -- \
    "$VT" project "$DATA/missing_image.json" "$DATA" "$OUT" "${SMALL[@]}"

# Two frames of one camera with different sizes: frame 1 of camera 0 from
# the 200x100 dataset.
first_cam_frame() { # prints the image_file of camera 0's second frame
    python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
e = sorted((x for x in m if x["camera_index"] == 0), key=lambda x: x["frame_index"])[1]
print(e["image_file"])' "$DATA/metadata.json"
}
IMG=$(first_cam_frame)
[[ -f $OTHER/$IMG ]] || fail "no $IMG in the second dataset"
cp "$OTHER/$IMG" "$DATA/resized.png"
edit_meta mixed_sizes.json "
for e in m:
    if e['image_file'] == '$IMG':
        e['image_file'] = 'resized.png'
"
expect_failure "frames of different sizes" "resized\.png|[0-9]+ ?x ?[0-9]+" -- \
    "$VT" project "$DATA/mixed_sizes.json" "$DATA" "$OUT" "${SMALL[@]}"

expect_failure "flag --grid-size 0" "--grid-size" -- \
    "$VT" project "$DATA/metadata.json" "$DATA" "$OUT" --grid-size 0 --quiet
expect_failure "flag --grid-size too big" "--grid-size" -- \
    "$VT" project "$DATA/metadata.json" "$DATA" "$OUT" --grid-size 100000 --quiet
expect_failure "flag --voxel-size -1" "--voxel-size" -- \
    "$VT" project "$DATA/metadata.json" "$DATA" "$OUT" --voxel-size -1 --quiet
expect_failure "flag --voxel-size nan" "--voxel-size" -- \
    "$VT" project "$DATA/metadata.json" "$DATA" "$OUT" --voxel-size nan --quiet

expect_failure "output in a missing folder" "no-such-dir" -- \
    "$VT" project "$DATA/metadata.json" "$DATA" "$TMP/no-such-dir/grid.bin" "${SMALL[@]}"
mkdir -p "$TMP/a-folder"
expect_failure "output is a folder" "a-folder" -- \
    "$VT" project "$DATA/metadata.json" "$DATA" "$TMP/a-folder" "${SMALL[@]}"
expect_failure "missing image folder" "no-such-images" -- \
    "$VT" project "$DATA/metadata.json" "$TMP/no-such-images" "$OUT" "${SMALL[@]}"

# --skip-bad-frames goes on past the missing image and says so.
rm -f "$OUT"
run "$VT" project "$DATA/missing_image.json" "$DATA" "$OUT" --grid-size 32 --voxel-size 20 \
    --skip-bad-frames --json
[[ $rc == 0 ]] || fail "--skip-bad-frames with a missing image failed: $(cat "$TMP/err")"
[[ -f $OUT ]] || fail "--skip-bad-frames wrote no grid"
python3 - "$TMP/out" <<'PY' || fail "--skip-bad-frames: JSON does not report one skipped frame: $(cat "$TMP/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["frames_skipped"] == 1, r["frames_skipped"]
assert r["frames"] == 8, r["frames"]
PY
grep -qi "skipped 1" "$TMP/err" || fail "--skip-bad-frames: no warning on stderr"
echo "ok: --skip-bad-frames: $(head -n 1 "$TMP/err")"

echo "ok"
