#!/usr/bin/env bash
# `voxtrack eval`: figures of tiny hand-made tracks/truth files (checked in
# the --json output), the table, --all-tracks and --match-dist, two PNG files
# with --plot, the ceiling from truth_pixels.jsonl beside the truth, exit 1
# naming file and line for unreadable or malformed files, exit 2 for bad
# options.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

expect_rc() {
    local want=$1
    shift
    run "$@"
    [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$TMP/err")"
}

# Checks "key=value ..." against the JSON object in $TMP/out (numbers to 1e-9).
expect_json() {
    python3 - "$TMP/out" "$@" <<'PY' || fail "JSON figures differ: $(cat "$TMP/out")"
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    want = None if v == "null" else float(v)
    got = r.get(k, "missing")
    if want is None:
        ok = got is None
    else:
        ok = isinstance(got, (int, float)) and abs(got - want) <= 1e-9
    if not ok:
        bad.append(f"{k}: got {got}, want {v}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}

# Two drones and a bird over frames 0..3. Track 1 follows drone 1 at 0.5 m,
# track 2 follows drone 2 exactly but misses frame 3, track 5 (class drone)
# sits on the bird, track 9 is tentative.
: >"$TMP/truth.jsonl"
: >"$TMP/tracks.jsonl"
for f in 0 1 2 3; do
    printf '{"t": %s, "frame": %d, "id": 1, "kind": "drone", "pos": [%d, 0, 50], "vel": [10, 0, 0], "size": 0.5}\n' \
        "0.$f" "$f" "$f" >>"$TMP/truth.jsonl"
    printf '{"t": %s, "frame": %d, "id": 2, "kind": "drone", "pos": [%d, 10, 50]}\n' \
        "0.$f" "$f" "$f" >>"$TMP/truth.jsonl"
    printf '{"t": %s, "frame": %d, "id": 3, "kind": "bird", "pos": [%d, 20, 50]}\n' \
        "0.$f" "$f" "$f" >>"$TMP/truth.jsonl"
    printf '{"t": %s, "frame": %d, "id": 1, "status": "confirmed", "pos": [%d.3, 0.4, 50], "vel": [10, 0, 0], "cov": [1, 0, 0, 1, 0, 1], "cams": 4}\n' \
        "0.$f" "$f" "$f" >>"$TMP/tracks.jsonl"
    if [[ $f != 3 ]]; then
        printf '{"t": %s, "frame": %d, "id": 2, "status": "coasting", "pos": [%d, 10, 50], "class": "drone"}\n' \
            "0.$f" "$f" "$f" >>"$TMP/tracks.jsonl"
    fi
    printf '{"t": %s, "frame": %d, "id": 5, "status": "confirmed", "pos": [%d, 20, 50]}\n' \
        "0.$f" "$f" "$f" >>"$TMP/tracks.jsonl"
    printf '{"t": %s, "frame": %d, "id": 9, "status": "tentative", "pos": [100, 100, 100]}\n' \
        "0.$f" "$f" >>"$TMP/tracks.jsonl"
done

# gt 8, tp 7, fn 1, fp 4 (track 5): MOTA = 1 - 5/8; MOTP = 4 x 0.5 / 7.
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --json
expect_json frames=4 gt=8 tp=7 fn=1 fp=4 idsw=0 frag=0 mota=0.375 motp=0.2857142857142857 \
    detection_rate=0.875 false_rate=0.36363636363636365 bird_as_drone=4 bird_tracks=0 \
    truth_objects=2 tracks_confirmed=3 idtp=7 idf1=0.7368421052631579 rmse=0.3779644730092272 \
    match_dist=2

# Tentative tracks count with --all-tracks.
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --json --all-tracks
expect_json fp=8 tp=7

# Track 1 is out of reach at 0.4 m.
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --json --match-dist=0.4
expect_json tp=3 fn=5 rmse=0

# The table.
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl"
grep -Eq '^MOTA +0\.3750$' "$TMP/out" || fail "no MOTA line in: $(cat "$TMP/out")"
grep -Eq '^ID switches +0$' "$TMP/out" || fail "no ID switches line in: $(cat "$TMP/out")"
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --quiet
[[ ! -s $TMP/out ]] || fail "--quiet printed: $(cat "$TMP/out")"

# Empty files: no frames, undefined ratios are null.
: >"$TMP/empty.jsonl"
expect_rc 0 "$VT" eval "$TMP/empty.jsonl" "$TMP/empty.jsonl" --json
expect_json frames=0 mota=null idf1=null

# Plots.
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --plot "$TMP/plot" --quiet
for v in top side; do
    [[ -s $TMP/plot_$v.png ]] || fail "--plot wrote no $TMP/plot_$v.png"
    [[ $(head -c 8 "$TMP/plot_$v.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
        fail "$TMP/plot_$v.png is not a PNG"
done
expect_rc 1 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --plot "$TMP/no/such/folder/p"

# The truth's SNRs: truth_pixels.jsonl beside the truth is read by itself. Drone 1 is seen
# at 6 and 5 in frames 0..2 (detectable, matched), at 2 in frame 3 (neither); drone 2 by
# one camera at 9 (only by fused evidence; matched in frames 0..2).
for f in 0 1 2 3; do
    a=6
    [[ $f == 3 ]] && a=2
    printf '{"frame": %d, "camera": "m0", "t": 0, "targets": [[1, 5, 5, 1, %s], [2, 9, 9, 1, 9]]}\n' \
        "$f" "$a" >>"$TMP/truth_pixels.jsonl"
    [[ $f == 3 ]] || printf '{"frame": %d, "camera": "m1", "t": 0, "targets": [[1, 5, 5, 1, 5]]}\n' \
        "$f" >>"$TMP/truth_pixels.jsonl"
done
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --json
expect_json snr_frames=8 detectable=3 detectable_tp=3 detectable_sum=7 detectable_sum_tp=6 \
    ceiling=0.375 ceiling_sum=0.875 detection_detectable=1
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --json --no-pixels
expect_json snr_frames=0 ceiling=null
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl"
grep -q "ceiling: detectable" "$TMP/out" || fail "no ceiling in the table: $(cat "$TMP/out")"
grep -Eq "HOTA [0-9.]+" "$TMP/out" || fail "no HOTA in the table: $(cat "$TMP/out")"
expect_rc 0 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --plot "$TMP/snrplot" --quiet
[[ -s $TMP/snrplot_snr.png ]] || fail "--plot wrote no $TMP/snrplot_snr.png"
expect_rc 1 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --pixels "$TMP/missing_pixels.jsonl"
grep -q "missing_pixels.jsonl" "$TMP/err" || fail "the error does not name the file: $(cat "$TMP/err")"
expect_rc 2 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --pixels x --no-pixels
mv "$TMP/truth_pixels.jsonl" "$TMP/pixels_kept.jsonl"

# Unreadable and malformed files: exit 1, the message names file and line.
expect_rc 1 "$VT" eval "$TMP/missing.jsonl" "$TMP/truth.jsonl"
grep -q "missing.jsonl" "$TMP/err" || fail "the error does not name the file: $(cat "$TMP/err")"
{
    head -n 1 "$TMP/tracks.jsonl"
    echo '{"frame": 0, "id": 2, "status": "confirmed", "pos": [1, 2'
} >"$TMP/broken.jsonl"
expect_rc 1 "$VT" eval "$TMP/broken.jsonl" "$TMP/truth.jsonl"
grep -q "broken.jsonl:2: malformed JSON" "$TMP/err" || fail "no file:line in: $(cat "$TMP/err")"
{
    head -n 4 "$TMP/truth.jsonl"
    echo '{"frame": 1, "id": 2, "kind": "drone"}'
} >"$TMP/nopos.jsonl"
expect_rc 1 "$VT" eval "$TMP/tracks.jsonl" "$TMP/nopos.jsonl"
grep -q "nopos.jsonl:5: missing field 'pos'" "$TMP/err" || fail "no file:line in: $(cat "$TMP/err")"
echo '{"frame": "zero", "id": 1, "pos": [0, 0, 0]}' >"$TMP/badtype.jsonl"
expect_rc 1 "$VT" eval "$TMP/tracks.jsonl" "$TMP/badtype.jsonl"
grep -q "badtype.jsonl:1: field 'frame' must be an integer" "$TMP/err" ||
    fail "no file:line in: $(cat "$TMP/err")"

# Bad command lines: exit 2.
expect_rc 2 "$VT" eval "$TMP/tracks.jsonl"
expect_rc 2 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --match-dist 0
expect_rc 2 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --match-dist abc
expect_rc 2 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --gospa-p 0.5
expect_rc 2 "$VT" eval "$TMP/tracks.jsonl" "$TMP/truth.jsonl" --no-such-option
expect_rc 0 "$VT" eval --help
grep -q '^Usage: voxtrack eval' "$TMP/out" || fail "'voxtrack eval --help' prints no usage"
echo "ok"
