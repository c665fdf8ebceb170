#!/usr/bin/env bash
# The `moving` preset end to end: cameras on a vehicle, a swaying mast and a
# tethered drone, their poses from RTK GPS + IMU + sighted beacons through the
# filter at each frame's time (docs/POSE.md). Checks the pose targets against
# the true pose logs (`voxtrack run --poses`, `voxtrack pose-eval`), and that
# tracking stays within 1.5x the errors of the same scene with the cameras at
# their true poses (`simulate --true-poses`); then the errors of bad pose
# sources in rig.json.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

FRAMES=90 # the preset's own length (3 s)
for kind in est true; do
    flag=()
    [[ $kind == true ]] && flag=(--true-poses)
    run "$VT" simulate --preset moving --frames $FRAMES --format raw --out "$TMP/$kind" --quiet \
        "${flag[@]}"
    [[ $rc == 0 ]] || fail "simulate ($kind poses) exited $rc: $(cat "$TMP/err")"
    run "$VT" run "$TMP/$kind/config.json" --json --quiet --poses "$TMP/$kind/poses"
    [[ $rc == 0 ]] || fail "run ($kind poses) exited $rc: $(cat "$TMP/err")"
    cp "$TMP/out" "$TMP/$kind.json"
done
grep -q '"platform": "p2"' "$TMP/est/rig.json" || fail "rig.json has no platform pose source"
grep -q '"log": "truth_pose_m2.csv"' "$TMP/true/rig.json" || fail "--true-poses rig has no log"

# Every moving camera's pose: <= 2 cm RMSE (RTK), <= 0.05 degrees (with beacons).
for cam in m2 t2 m3 t3 m4 t4; do
    run "$VT" pose-eval "$TMP/est/poses/$cam.csv" "$TMP/est/truth_pose_$cam.csv" --skip 0.5 --json
    [[ $rc == 0 ]] || fail "pose-eval $cam exited $rc: $(cat "$TMP/err")"
    python3 - "$TMP/out" "$cam" <<'PY' || fail "pose of $cam off target: $(cat "$TMP/out")"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["poses"] >= 50, e
assert e["position_rmse_m"] <= 0.02, e
assert e["orientation_rmse_deg"] <= 0.05, e
PY
    echo "ok: pose of $cam: $(cat "$TMP/out")"
done

python3 - "$TMP/est.json" "$TMP/true.json" <<'PY' || fail "tracking on moving cameras off target"
import json, sys
est = json.load(open(sys.argv[1]))["accuracy"]
true = json.load(open(sys.argv[2]))["accuracy"]
print("estimated poses:", {k: est[k] for k in ("detection_rate", "rmse", "motp", "mota")})
print("true poses:     ", {k: true[k] for k in ("detection_rate", "rmse", "motp", "mota")})
assert est["detection_rate"] >= 0.8, est
assert est["rmse"] <= 1.5 * true["rmse"], (est, true)
assert est["motp"] <= 1.5 * true["motp"], (est, true)
assert est["detection_rate"] >= true["detection_rate"] - 0.05, (est, true)
PY
echo "ok: tracking with estimated poses within 1.5x of true poses"

# Bad pose sources: a clear error naming the camera, never a crash.
R=$TMP/est
python3 - "$R/rig.json" "$R/bad_rig.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["cameras"][4]["pose"] = {"platform": "nowhere"}
json.dump(r, open(sys.argv[2], "w"))
PY
sed 's/"rig.json"/"bad_rig.json"/' "$R/config.json" >"$R/bad_config.json"
run "$VT" run "$R/bad_config.json" --quiet
[[ $rc == 1 ]] || fail "unknown platform: exited $rc"
grep -q "camera 4 ('m2'): field 'pose.platform' names 'nowhere', which is not in 'platforms'" \
    "$TMP/err" || fail "unknown platform: $(cat "$TMP/err")"
echo "ok: unknown platform: $(cat "$TMP/err")"

head -c 2000 "$R/imu_2.csv" >"$R/imu_short.csv"
sed 's/"imu_2.csv"/"imu_short.csv"/' "$R/rig.json" >"$R/bad_rig.json"
run "$VT" run "$R/bad_config.json" --quiet
[[ $rc == 1 ]] || fail "truncated IMU log: exited $rc"
grep -Eq "platform 'p2'.*(imu_short.csv: line [0-9]+|outside the IMU log's span)" "$TMP/err" ||
    fail "truncated IMU log: $(cat "$TMP/err")"
echo "ok: truncated IMU log: $(cat "$TMP/err")"

printf 't,x,y,z,qw,qx,qy,qz\n0,0,0,0,1,0,0,0\n' >"$R/one_pose.csv"
sed 's/"truth_pose_m2.csv"/"one_pose.csv"/' "$TMP/true/rig.json" >"$TMP/true/bad_rig.json"
sed 's/"rig.json"/"bad_rig.json"/' "$TMP/true/config.json" >"$TMP/true/bad_config.json"
cp "$R/one_pose.csv" "$TMP/true/"
run "$VT" run "$TMP/true/bad_config.json" --quiet
[[ $rc == 1 ]] || fail "pose log too short: exited $rc"
grep -q "camera 4 ('m2'): pose at t = .* s is outside the poses' span" "$TMP/err" ||
    fail "pose log too short: $(cat "$TMP/err")"
echo "ok: frame outside the pose log: $(cat "$TMP/err")"
