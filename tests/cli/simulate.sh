#!/usr/bin/env bash
# `voxtrack simulate`: --help, clear failures (bad preset, bad scenario file
# with line and column, unknown field with its path, bad flags), and a tiny
# run of the small preset whose output folder has everything it promises.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

# expect_failure DESCRIPTION STATUS PATTERN -- COMMAND...: exits STATUS with PATTERN in stderr.
expect_failure() {
    local what=$1 status=$2 pattern=$3
    shift 4
    run "$@"
    [[ $rc == "$status" ]] || fail "$what: '$*' exited $rc, expected $status: $(cat "$TMP/err")"
    grep -Eq -- "$pattern" "$TMP/err" ||
        fail "$what: message lacks /$pattern/; stderr was: $(cat "$TMP/err")"
    echo "ok: $what: $(head -n 1 "$TMP/err")"
}

run "$VT" simulate --help
[[ $rc == 0 ]] || fail "--help exited $rc"
grep -q -- "--preset NAME" "$TMP/out" || fail "--help does not describe --preset"
grep -q "default small 8k" "$TMP/out" || fail "--help does not list the presets"

expect_failure "unknown preset" 2 "no preset 'nope'" -- \
    "$VT" simulate --preset nope --out "$TMP/x"
expect_failure "no scenario" 2 "SCENARIO.json or --preset" -- "$VT" simulate --out "$TMP/x"
expect_failure "no --out" 2 "--out DIR is required" -- "$VT" simulate --preset small
expect_failure "bad format" 2 "--format: 'gif'" -- \
    "$VT" simulate --preset small --out "$TMP/x" --format gif
expect_failure "zero frames" 2 "--frames" -- \
    "$VT" simulate --preset small --out "$TMP/x" --frames 0

printf '{"world": {\n  "extent": {"min": [0, 0, 0],, }\n}\n' >"$TMP/broken.json"
expect_failure "malformed scenario" 1 "broken.json: line 2, column [0-9]+" -- \
    "$VT" simulate "$TMP/broken.json" --out "$TMP/x"

cat >"$TMP/unknown.json" <<'EOF'
{"world": {"extent": {"min": [-100, -100, 0], "max": [100, 100, 100]}},
 "cameras": {"pairs": [{"position": [0, -300, 2], "look_at": [0, 0, 50],
                        "mono": {"width": 64, "height": 48, "hfov_deg": 60}}]},
 "targets": {"drones": [{"sise": 0.5, "waypoints": [[0, 0, 50]]}]}}
EOF
expect_failure "unknown field" 1 "targets.drones\[0\].sise: unknown field" -- \
    "$VT" simulate "$TMP/unknown.json" --out "$TMP/x"
expect_failure "missing file" 1 "nothere.json" -- "$VT" simulate "$TMP/nothere.json" --out "$TMP/x"
[[ ! -e $TMP/x ]] || fail "a failed run left $TMP/x behind"

OUT=$TMP/small
run "$VT" simulate --preset small --frames 3 --out "$OUT" --quiet
[[ $rc == 0 ]] || fail "tiny run exited $rc: $(cat "$TMP/err")"
for f in rig.json truth.jsonl truth_pixels.jsonl config.json m0/000000.png t2/000002.png \
    m1/timestamps.txt; do
    [[ -s $OUT/$f ]] || fail "tiny run wrote no $f"
done
lines=$(wc -l <"$OUT/truth.jsonl")
[[ $lines == 21 ]] || fail "truth.jsonl has $lines lines, expected 7 targets x 3 frames = 21"
grep -q '"volume"' "$OUT/config.json" || fail "config.json has no volume"

run "$VT" simulate --preset small --frames 2 --format raw --seed 5 --out "$TMP/json" --json
[[ $rc == 0 ]] || fail "--json run exited $rc: $(cat "$TMP/err")"
grep -Eq '^\{"out": .*"cameras": 6, "frames": 2,.*"bytes": [1-9]' "$TMP/out" ||
    fail "--json summary is not as expected: $(cat "$TMP/out")"
[[ -s $TMP/json/m0.raw ]] || fail "--format raw wrote no m0.raw"
echo "ok"
