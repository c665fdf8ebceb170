#!/usr/bin/env bash
# `voxtrack calibrate-pair` on simulator output: one mono/thermal pair (12 cm
# apart) watching four drones 400-700 m out; each camera's 2D detections from
# truth_pixels.jsonl (0.3 px noise, 10% missed, a false detection in 5% of
# the frames); a rig whose thermal camera is turned 1.5 degrees off. The
# solved thermal orientation is within 0.02 degrees of the truth, the residual
# falls from tens of pixels to the noise, --out writes the turned rig; a pair
# without detections and bad options are errors.
set -euo pipefail
VT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP/dets"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

cat >"$TMP/scene.json" <<'JSON'
{"name": "pair calibration", "seed": 4,
 "world": {"extent": {"min": [-400, 200, 0], "max": [400, 900, 250]}},
 "cameras": {"fps": 30, "frames": 90, "pairs": [
   {"position": [0, 0, 2], "look_at": [0, 600, 120], "baseline": [0.12, 0, 0],
    "mono": {"width": 960, "height": 540, "hfov_deg": 50},
    "thermal": {"width": 320, "height": 256, "hfov_deg": 45}}]},
 "targets": {"drones": [
   {"size": 1.0, "speed": 20, "waypoints": [[-200, 450, 60], [200, 500, 200]]},
   {"size": 1.0, "speed": 25, "waypoints": [[180, 700, 50], [-220, 650, 230]]},
   {"size": 1.0, "speed": 15, "waypoints": [[-150, 600, 220], [150, 550, 40]]},
   {"size": 1.0, "speed": 22, "waypoints": [[0, 400, 150], [100, 700, 90]]}]}}
JSON
run "$VT" simulate "$TMP/scene.json" --out "$TMP/sim" --format pgm --quiet
[[ $rc == 0 ]] || fail "simulate failed: $(cat "$TMP/err")"
rm -f "$TMP"/sim/[mt]0/*.pgm # the truth and the rig are all that is needed

python3 - "$TMP" <<'PY' || fail "could not prepare the detections"
import json, math, random, sys
tmp = sys.argv[1]
random.seed(5)
rig = json.load(open(f"{tmp}/sim/rig.json"))
cams = {c["id"]: c for c in rig["cameras"]}
files = {i: open(f"{tmp}/dets/{i}.csv", "w") for i in cams}
for f in files.values():
    f.write("frame,u,v\n")
for line in open(f"{tmp}/sim/truth_pixels.jsonl"):
    r = json.loads(line)
    c = cams[r["camera"]]
    for tid, u, v, inside, *_ in r["targets"]:
        if inside and random.random() >= 0.1:
            files[r["camera"]].write(f"{r['frame']},{u + random.gauss(0, 0.3):.4f},"
                                     f"{v + random.gauss(0, 0.3):.4f}\n")
    if random.random() < 0.05:
        files[r["camera"]].write(f"{r['frame']},{random.uniform(0, c['width'] - 1):.4f},"
                                 f"{random.uniform(0, c['height'] - 1):.4f}\n")
def qmul(a, b):
    return [a[0]*b[0]-a[1]*b[1]-a[2]*b[2]-a[3]*b[3], a[0]*b[1]+a[1]*b[0]+a[2]*b[3]-a[3]*b[2],
            a[0]*b[2]-a[1]*b[3]+a[2]*b[0]+a[3]*b[1], a[0]*b[3]+a[1]*b[2]-a[2]*b[1]+a[3]*b[0]]
for c in rig["cameras"]:
    for key in ("frames", "video", "raw", "timestamps"):
        c.pop(key, None)
    c["detections"] = f"../dets/{c['id']}.csv"
    if c["id"] == "t0":  # the site's belief: turned 1.5 degrees about an oblique axis
        ax = [0.6, -0.7, 0.38]
        n = math.sqrt(sum(x * x for x in ax))
        h = math.radians(1.5) / 2
        c["quaternion"] = qmul(c["quaternion"], [math.cos(h)] + [math.sin(h) * x / n for x in ax])
json.dump(rig, open(f"{tmp}/sim/rig_site.json", "w"), indent=1)
PY

run "$VT" calibrate-pair "$TMP/sim/rig_site.json" --out "$TMP/sim/cal.json" --json
[[ $rc == 0 ]] || fail "calibrate-pair exited $rc: $(cat "$TMP/err")"
python3 - "$TMP" <<'PY' || fail "calibration off: $(cat "$TMP/out")"
import json, math, sys
tmp = sys.argv[1]
rep = json.load(open(f"{tmp}/out"))
true = {c["id"]: c for c in json.load(open(f"{tmp}/sim/rig.json"))["cameras"]}
cal = {c["id"]: c for c in json.load(open(f"{tmp}/sim/cal.json"))["cameras"]}
def angle(a, b):
    return math.degrees(2 * math.acos(min(1.0, abs(sum(x * y for x, y in zip(a, b))))))
[p] = rep["pairs"]
assert p["state"] == "ok" and p["mono"] == "m0" and p["thermal"] == "t0", p
assert p["inliers"] > 200, p
assert p["rig_rms_px"] > 5 and p["rms_px"] < 0.8, p
assert abs(p["change_deg"] - 1.5) < 0.05, p
err = angle(cal["t0"]["quaternion"], true["t0"]["quaternion"])
assert err < 0.02, f"t0 off the truth by {err} deg"
assert angle(cal["m0"]["quaternion"], true["m0"]["quaternion"]) < 1e-6, "the mono camera moved"
print(f"ok: {p['inliers']} inliers, {p['rig_rms_px']:.2f} -> {p['rms_px']:.3f} px, "
      f"t0 within {err:.4f} deg of the truth")
PY

run "$VT" calibrate-pair "$TMP/sim/rig_site.json"
[[ $rc == 0 ]] || fail "the table: exit $rc"
grep -q "^   0  m0 *t0 " "$TMP/out" || fail "no table row: $(cat "$TMP/out")"
run "$VT" calibrate-pair "$TMP/sim/rig_site.json" --pair 3
[[ $rc == 1 ]] || fail "a missing pair exited $rc"
grep -q "pair 3" "$TMP/err" || fail "the missing pair is not named: $(cat "$TMP/err")"
run "$VT" calibrate-pair "$TMP/sim/rig_site.json" --max-dt 5
[[ $rc == 1 ]] || fail "--max-dt 5 exited $rc"
grep -q "max_dt" "$TMP/err" || fail "bad max_dt not named: $(cat "$TMP/err")"
run "$VT" calibrate-pair
[[ $rc == 2 ]] || fail "no RIG exited $rc"
echo ok
