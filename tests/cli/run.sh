#!/usr/bin/env bash
# `voxtrack run`: a small simulated scene (raw frames) tracked end to end:
# tracks.jsonl with the documented fields, the JSON summary with its accuracy,
# --detections, --frames, --tracker mht, `voxtrack eval` on the outputs,
# --help, and the command-line errors (exit 2).
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# expect_usage DESCRIPTION PATTERN -- COMMAND...: exits 2 with PATTERN in stderr.
expect_usage() {
    local what=$1 pattern=$2
    shift 3
    run "$@"
    [[ $rc == 2 ]] || fail "$what: '$*' exited $rc, expected 2: $(cat "$TMP/err")"
    grep -Eq -- "$pattern" "$TMP/err" ||
        fail "$what: message lacks /$pattern/; stderr was: $(cat "$TMP/err")"
    echo "ok: $what: $(head -n 1 "$TMP/err")"
}

S=$TMP/s
run "$VT" simulate --preset small --frames 24 --format raw --out "$S" --quiet
[[ $rc == 0 ]] || fail "simulate exited $rc: $(cat "$TMP/err")"

# --- the whole scene, JSON summary, accuracy against the configuration's truth
run "$VT" run "$S/config.json" --json --quiet
[[ $rc == 0 ]] || fail "run exited $rc: $(cat "$TMP/err")"
[[ -s $S/tracks.jsonl ]] || fail "run wrote no tracks.jsonl next to the configuration"
cp "$TMP/out" "$TMP/summary.json"
python3 - "$TMP/summary.json" "$S/tracks.jsonl" <<'EOF' || fail "run: summary or tracks not as documented"
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["frame_sets"] == 24, summary
assert summary["detections"] > 0, summary
acc = summary["accuracy"]
assert isinstance(acc, dict), summary
assert acc["detection_rate"] > 0.5, acc
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert lines, "no tracks"
for t in lines:
    for k in ("t", "frame", "id", "status", "class", "pos", "vel", "cov", "cams"):
        assert k in t, (k, t)
    assert t["status"] in ("tentative", "confirmed", "coasting"), t
    assert t["class"] in ("drone", "bird"), t
    assert len(t["pos"]) == 3 and len(t["vel"]) == 3 and len(t["cov"]) == 6, t
    assert 0 <= t["frame"] < 24 and isinstance(t["id"], int) and t["cams"] >= 2, t
    assert t["cov"][0] > 0 and t["cov"][3] > 0 and t["cov"][5] > 0, t
assert any(t["status"] == "confirmed" for t in lines), "no confirmed track"
EOF
echo "ok: run: 24 frame sets, tracks.jsonl as documented, detection rate > 0.5"

# A normal end is not a camera dropping out: no "going on with the others".
if grep -q "going on" "$TMP/err"; then
    fail "run: a normal end warned about cameras: $(cat "$TMP/err")"
fi

# --- voxtrack eval on the run's outputs agrees with the run's own accuracy
run "$VT" eval "$S/tracks.jsonl" "$S/truth.jsonl" --json
[[ $rc == 0 ]] || fail "eval exited $rc: $(cat "$TMP/err")"
python3 - "$TMP/out" "$TMP/summary.json" <<'EOF' || fail "eval on the run's outputs disagrees"
import json, sys
ev = json.load(open(sys.argv[1]))
acc = json.load(open(sys.argv[2]))["accuracy"]
assert ev["frames"] == 24, ev
for k in ("tp", "fn", "fp", "idsw", "gt"):
    assert ev[k] == acc[k], (k, ev[k], acc[k])
assert abs(ev["detection_rate"] - acc["detection_rate"]) < 1e-5, (ev, acc)
EOF
echo "ok: eval on the outputs matches the run's accuracy"

# --- --detections, --frames 5, --tracks
run "$VT" run "$S/config.json" --frames 5 --detections "$TMP/det.jsonl" \
    --tracks "$TMP/t5.jsonl" --json --quiet --no-eval
[[ $rc == 0 ]] || fail "--frames 5 run exited $rc: $(cat "$TMP/err")"
python3 - "$TMP/out" "$TMP/det.jsonl" "$TMP/t5.jsonl" <<'EOF' || fail "--frames 5 / --detections not as documented"
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["frame_sets"] == 5, summary
assert "accuracy" not in summary, summary  # --no-eval
dets = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(dets) == summary["detections"] > 0, (len(dets), summary)
for d in dets:
    for k in ("t", "frame", "pos", "cov", "cams", "thermal", "rays", "residual", "weight"):
        assert k in d, (k, d)
    assert 0 <= d["frame"] < 5 and len(d["pos"]) == 3 and len(d["cov"]) == 6, d
    assert 0 <= d["thermal"] <= d["cams"], d
tracks = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
assert all(t["frame"] < 5 for t in tracks), "a track after frame 4"
EOF
cmp -s "$TMP/t5.jsonl" "$S/tracks.jsonl" && fail "--tracks did not write elsewhere"
echo "ok: --frames 5 --detections --tracks"

# --- the MHT tracker
run "$VT" run "$S/config.json" --tracker mht --tracks "$TMP/mht.jsonl" --json --quiet
[[ $rc == 0 ]] || fail "--tracker mht exited $rc: $(cat "$TMP/err")"
python3 - "$TMP/out" "$TMP/mht.jsonl" <<'EOF' || fail "--tracker mht: summary or tracks wrong"
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["frame_sets"] == 24 and "accuracy" in summary, summary
assert any(json.loads(l)["status"] == "confirmed" for l in open(sys.argv[2])), "no confirmed track"
EOF
echo "ok: --tracker mht"

# --- the text summary
run "$VT" run "$S/config.json" --quiet --tracks "$TMP/text.jsonl"
[[ $rc == 0 ]] || fail "text run exited $rc: $(cat "$TMP/err")"
grep -Eq '^frame sets +24$' "$TMP/out" || fail "text summary lacks 'frame sets 24': $(cat "$TMP/out")"
grep -q "detection rate" "$TMP/out" || fail "text summary lacks the accuracy: $(cat "$TMP/out")"
echo "ok: text summary"

# --- --help and the command line
run "$VT" run --help
[[ $rc == 0 ]] || fail "--help exited $rc"
grep -q "Usage: voxtrack run CONFIG" "$TMP/out" || fail "--help prints no usage on stdout"
grep -q -- "--tracker gnn|mht" "$TMP/out" || fail "--help does not describe --tracker"
[[ ! -s $TMP/err ]] || fail "--help wrote to stderr: $(cat "$TMP/err")"
echo "ok: --help"

expect_usage "unknown tracker" "--tracker must be gnn or mht, not 'best'" -- \
    "$VT" run "$S/config.json" --tracker best
expect_usage "negative --frames" "--frames" -- "$VT" run "$S/config.json" --frames -1
expect_usage "no CONFIG" "expected one CONFIG" -- "$VT" run
expect_usage "two CONFIGs" "unexpected argument" -- "$VT" run "$S/config.json" "$S/config.json"
expect_usage "unknown option" "--frobnicate" -- "$VT" run "$S/config.json" --frobnicate
echo "ok"
