#!/usr/bin/env bash
# `voxtrack run` on videos: a small simulated scene (PNG frames) is encoded by
# the ffmpeg tool, each camera another way (H.264 full-range YUV in Matroska,
# H.264 gray in MP4, HEVC gray in MPEG-TS, HEVC 12-bit gray in Matroska for
# the thermal cameras), the rig is pointed at the videos, and the run on the
# videos must give the tracks of the run on the PNG frames: the same number
# of confirmed tracks (+-1) and, frame by frame, every confirmed position of
# the video run within 0.5 m of one of the PNG run (at least 90% of them;
# measured on 20 frames: 5 and 5 confirmed tracks, 60 of 61 positions; the
# mono videos are lossless, the thermal ones lose the 4 bits below 12). Also: --hwaccel auto decodes without a GPU
# (one line on stderr says why), --hwaccel cuda fails clearly, bad values of
# --hwaccel and --decode-threads are usage errors.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"
command -v ffmpeg >/dev/null || fail "the ffmpeg tool is required (scripts/install-deps)"

S=$TMP/s
run "$VT" simulate --preset small --frames 20 --format png --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"

enc() { # CAMERA OUTPUT ENCODER-OPTIONS...
    local cam=$1 out=$2
    shift 2
    ffmpeg -nostdin -loglevel error -y -framerate 30 -pattern_type glob -i "$S/$cam/*.png" \
        "$@" "$S/$out" || fail "ffmpeg could not encode $cam to $out"
}
enc m0 m0.mkv -c:v libx264 -qp 0 -pix_fmt yuvj420p
enc m1 m1.mp4 -c:v libx264 -qp 0 -pix_fmt gray
enc m2 m2.ts -c:v libx265 -x265-params lossless=1:log-level=none -pix_fmt gray
for t in t0 t1 t2; do
    enc $t $t.mkv -c:v libx265 -x265-params lossless=1:log-level=none -pix_fmt gray12le
done

python3 - "$S" <<'EOF' || fail "could not point the rig at the videos"
import json, sys
d = sys.argv[1]
rig = json.load(open(d + "/rig.json"))
ext = {"m0": "mkv", "m1": "mp4", "m2": "ts"}
for c in rig["cameras"]:
    del c["frames"]
    c["video"] = "%s.%s" % (c["id"], ext.get(c["id"], "mkv"))
json.dump(rig, open(d + "/rig_video.json", "w"), indent=1)
cfg = json.load(open(d + "/config.json"))
cfg["rig"] = "rig_video.json"
json.dump(cfg, open(d + "/config_video.json", "w"), indent=1)
EOF

run "$VT" run "$S/config.json" --tracks "$TMP/png.jsonl" --quiet --json
[[ $rc == 0 ]] || fail "run on the PNG frames exited $rc: $(cat "$TMP/err")"
run "$VT" run "$S/config_video.json" --tracks "$TMP/video.jsonl" --quiet --json \
    --hwaccel auto --decode-threads 2
[[ $rc == 0 ]] || fail "run on the videos exited $rc: $(cat "$TMP/err")"
if ! nvidia-smi >/dev/null 2>&1; then
    [[ $(grep -c "hwaccel auto" "$TMP/err") == 1 ]] ||
        fail "--hwaccel auto without a GPU: expected one line saying so; stderr: $(cat "$TMP/err")"
fi

python3 - "$TMP/png.jsonl" "$TMP/video.jsonl" <<'EOF' || fail "the tracks on the videos differ from those on the PNG frames"
import json, math, sys
def confirmed(path):
    by_frame, ids = {}, set()
    for line in open(path):
        t = json.loads(line)
        if t["status"] == "confirmed":
            by_frame.setdefault(t["frame"], []).append(t["pos"])
            ids.add(t["id"])
    return by_frame, ids
png, png_ids = confirmed(sys.argv[1])
vid, vid_ids = confirmed(sys.argv[2])
assert png_ids, "no confirmed track on the PNG frames"
assert abs(len(png_ids) - len(vid_ids)) <= 1, (len(png_ids), len(vid_ids))
total = matched = 0
for f, ps in vid.items():
    for p in ps:
        total += 1
        matched += any(math.dist(p, q) <= 0.5 for q in png.get(f, []))
print("confirmed tracks: png %d, video %d; positions matched within 0.5 m: %d of %d"
      % (len(png_ids), len(vid_ids), matched, total))
assert total and matched >= 0.9 * total, (matched, total)
EOF
echo "ok: run on H.264/HEVC videos (MKV, MP4, MPEG-TS) gives the tracks of the PNG frames"

run "$VT" run "$S/config_video.json" --tracks "$TMP/cuda.jsonl" --quiet --hwaccel cuda
if ! nvidia-smi >/dev/null 2>&1; then
    [[ $rc == 1 ]] || fail "--hwaccel cuda without a GPU exited $rc, expected 1"
    grep -q "hwaccel cuda" "$TMP/err" || fail "--hwaccel cuda: unclear error: $(cat "$TMP/err")"
    echo "ok: --hwaccel cuda without a GPU: $(head -n 1 "$TMP/err")"
else
    echo "skip: a GPU is here; --hwaccel cuda exited $rc"
fi

run "$VT" run "$S/config_video.json" --hwaccel nvdec
[[ $rc == 2 ]] && grep -q "auto, none or cuda" "$TMP/err" || fail "--hwaccel nvdec: exit $rc, $(cat "$TMP/err")"
run "$VT" run "$S/config_video.json" --decode-threads -1
[[ $rc == 2 ]] || fail "--decode-threads -1: exit $rc, expected 2"
echo "ok: --hwaccel and --decode-threads usage errors"
