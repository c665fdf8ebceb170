#!/usr/bin/env bash
# `voxtrack calibrate` end to end on simulator output: 2D detections from
# truth_pixels.jsonl (every file form), a rig whose orientations are off by
# 2-4 degrees and whose clocks are unknown, calibrated against truth.jsonl:
# orientations and clock offsets recovered, report.json and a PNG per camera;
# `voxtrack run` on the calibrated rig tracks the drone as well as on the
# true one, and not at all on the uncalibrated one; self-calibration from
# two known cameras; bad detection files named with their line; usage errors.
set -euo pipefail
VT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # the script changes folders
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"
HERE=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=tests/cli/common.bash
source "$HERE/common.bash"

expect_rc() {
    local want=$1
    shift
    run "$@"
    [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$TMP/err")"
}

# A calibration flight: one drone that climbs, turns and changes speed in front of four
# cameras with clock offsets 0, 0.12, -0.2 and 0.31 s.
cat >"$TMP/scene.json" <<'JSON'
{"name": "calibration flight", "seed": 3,
 "world": {"extent": {"min": [-200, -200, 0], "max": [200, 200, 200]}, "supersample": 2,
           "origin": {"lat": 47.3769, "lon": 8.5417, "h": 408}},
 "cameras": {"fps": 30, "frames": 360, "pairs": [
   {"position": [0, -260, 2], "look_at": [0, 0, 70],
    "mono": {"width": 640, "height": 360, "hfov_deg": 60, "clock_offset": 0}},
   {"position": [260, 0, 3], "look_at": [0, 0, 70],
    "mono": {"width": 640, "height": 360, "hfov_deg": 60, "clock_offset": 0.12}},
   {"position": [0, 280, 2], "look_at": [0, 0, 70],
    "mono": {"width": 640, "height": 360, "hfov_deg": 60, "clock_offset": -0.2}},
   {"position": [-270, 0, 4], "look_at": [0, 0, 70],
    "mono": {"width": 640, "height": 360, "hfov_deg": 60, "clock_offset": 0.31}}]},
 "targets": {"drones": [{"size": 0.8, "speed": 18, "accel": 9,
   "waypoints": [[-70, -40, 40], [50, -30, 70], [-20, 30, 110], [50, 50, 50],
                 {"turn_deg": 270, "radius": 15}, [-60, 0, 90]]}]}}
JSON
expect_rc 0 "$VT" simulate "$TMP/scene.json" --out "$TMP/sim" --format pgm --quiet
rm -f "$TMP"/sim/m?/*.pgm # only the truth and the rig are needed
mkdir -p "$TMP/dets"
python3 "$HERE/calib_prep.py" "$TMP/sim" "$TMP" || fail "calib_prep.py failed"

# ---- against the reference track ----
cd "$TMP"
expect_rc 0 "$VT" calibrate rig_site.json sim/truth.jsonl --target 0 --out cal.json \
    --report rep --json
cp out report_stdout.json
python3 - <<'PY' || fail "calibration off: $(cat report_stdout.json)"
import json, math
true = {c["id"]: c for c in json.load(open("sim/rig.json"))["cameras"]}
cal = {c["id"]: c for c in json.load(open("cal.json"))["cameras"]}
rep = json.load(open("report_stdout.json"))
assert rep == json.load(open("rep/report.json")), "stdout and report.json differ"
offsets = {"m0": 0.0, "m1": 0.12, "m2": -0.2, "m3": 0.31}
def angle(a, b):
    d = abs(sum(x * y for x, y in zip(a, b)))
    return math.degrees(2 * math.acos(min(1.0, d)))
for c in rep["cameras"]:
    i = c["id"]
    assert c["state"] == "ok", c
    assert c["rms_px"] < 0.6 and c["inliers"] > 250, c
    err = angle(cal[i]["quaternion"], true[i]["quaternion"])
    assert err < 0.05, f"{i}: orientation off by {err} deg"
    dt = cal[i]["clock"]["offset"] - offsets[i]
    assert abs(dt) < 0.005, f"{i}: clock off by {dt} s"
    assert cal[i]["detections"].startswith("dets/"), cal[i]
PY
for id in m0 m1 m2 m3; do
    [[ -s rep/$id.png ]] || fail "no rep/$id.png"
done
python3 -c "import sys; d=open('rep/m0.png','rb').read(8); sys.exit(d != b'\x89PNG\r\n\x1a\n')" ||
    fail "rep/m0.png is not a PNG"

# ---- then track: the calibrated rig as well as the true one, the site's not at all ----
python3 - <<'PY'
import json
cfg = json.load(open("sim/config.json"))
for name, rig in (("cal", "../cal.json"), ("site", "../rig_site.json"), ("true", "true.json")):
    cfg["rig"] = rig
    json.dump(cfg, open(f"sim/config_{name}.json", "w"))
rig = json.load(open("sim/rig.json"))
ext = {"m0": "jsonl", "m1": "csv", "m2": "txt", "m3": "csv"}
for c in rig["cameras"]:
    c.pop("frames"), c.pop("timestamps")
    c["detections"] = f"../dets/{c['id']}.{ext[c['id']]}"
    c["clock"] = {"offset": {"m0": 0.0, "m1": 0.12, "m2": -0.2, "m3": 0.31}[c["id"]]}
json.dump(rig, open("sim/true.json", "w"))
PY
for name in true cal site; do
    expect_rc 0 "$VT" run "sim/config_$name.json" --tracks "tracks_$name.jsonl" --json --quiet
    cp out "run_$name.json"
done
python3 - <<'PY' || fail "tracking on the calibrated rig: $(cat run_true.json run_cal.json)"
import json
t, c, s = (json.load(open(f"run_{n}.json"))["accuracy"] for n in ("true", "cal", "site"))
assert t["detection_rate"] > 0.9 and t["rmse"] < 0.3, t
assert c["detection_rate"] >= t["detection_rate"] - 0.02, (c, t)
assert c["rmse"] <= 1.2 * t["rmse"], (c, t)
assert s["detection_rate"] < 0.1, s
PY

# ---- eval against the reference track: t,x,y,z at 10 Hz (an RTK GPS log) ----
python3 - <<'PY'
import json
rows = [json.loads(l) for l in open("sim/truth.jsonl")]
rows = [r for r in rows if r["id"] == 0]
keep = rows[::3] + ([rows[-1]] if (len(rows) - 1) % 3 else [])
with open("ref.csv", "w") as f:
    f.write("t,x,y,z\n")
    for r in keep:
        f.write("%.6f,%.4f,%.4f,%.4f\n" % (r["t"], *r["pos"]))
PY
expect_rc 0 "$VT" eval tracks_cal.jsonl ref.csv --reference --rig cal.json --json
cp out eval_ref.json
python3 - <<'PY' || fail "eval against the reference: $(cat eval_ref.json run_cal.json)"
import json
r = json.load(open("eval_ref.json"))
t = json.load(open("run_cal.json"))["accuracy"]
assert r["reference_file"] == "ref.csv" and r["gt"] == t["gt"] == 360, (r, t)
assert abs(r["tp"] - t["tp"]) <= 2 and abs(r["rmse"] - t["rmse"]) < 0.02, (r, t)
PY
expect_rc 2 "$VT" eval tracks_cal.jsonl ref.csv --rig cal.json
grep -q 'go with --reference' err || fail "--rig without --reference: $(cat err)"

# ---- self-calibration: m0 and m1 surveyed, m2 and m3 not ----
python3 - <<'PY'
import json
site, true = json.load(open("rig_site.json")), json.load(open("sim/rig.json"))
for k in (0, 1):
    site["cameras"][k]["quaternion"] = true["cameras"][k]["quaternion"]
json.dump(site, open("rig_known.json", "w"))
PY
expect_rc 0 "$VT" calibrate rig_known.json --known m0,m1 --out self.json --json
cp out self_report.json
python3 - <<'PY' || fail "self-calibration off: $(cat self_report.json)"
import json, math
true = {c["id"]: c for c in json.load(open("sim/rig.json"))["cameras"]}
rep = json.load(open("self_report.json"))
assert rep["mode"] == "self" and not rep["triangulation"]["weak"], rep
assert abs(rep["triangulation"]["known_clock_offsets"]["m1"] - 0.12) < 0.01, rep
ids = [c["id"] for c in rep["cameras"]]
assert ids == ["m2", "m3"], ids
for c in rep["cameras"]:
    d = abs(sum(x * y for x, y in zip(c["quaternion"], true[c["id"]]["quaternion"])))
    assert math.degrees(2 * math.acos(min(1.0, d))) < 0.1, c
PY

# ---- bad input ----
cp -r dets bad
printf 'frame,u,v,score\n0,1,2,0.5\n1,2,x3,0.5\n' >bad/m1.csv
expect_rc 1 "$VT" calibrate rig_site.json sim/truth.jsonl --target 0 --detections bad
grep -q 'bad/m1.csv:3: column .v.: "x3" is not a number' err || fail "bad number: $(cat err)"
printf '' >bad/m1.csv
expect_rc 1 "$VT" calibrate rig_site.json sim/truth.jsonl --target 0 --detections bad
grep -q 'm1.csv: the file is empty' err || fail "empty file: $(cat err)"
expect_rc 1 "$VT" calibrate rig_site.json nowhere.csv
grep -q 'nowhere.csv: cannot open' err || fail "missing track: $(cat err)"
expect_rc 2 "$VT" calibrate rig_site.json
grep -q 'give a reference TRACK, or --known' err || fail "no track: $(cat err)"
expect_rc 2 "$VT" calibrate rig_site.json --known m0,m9
grep -q "no camera 'm9'" err || fail "unknown camera: $(cat err)"
expect_rc 2 "$VT" calibrate rig_site.json sim/truth.jsonl --known m0,m1
expect_rc 0 "$VT" calibrate --help
grep -q '^Usage: voxtrack calibrate' out || fail "no usage"
echo "ok"
