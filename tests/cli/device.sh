#!/usr/bin/env bash
# --device auto|cpu|cuda on demo and run: a bad value is a usage error (exit 2),
# the choice is said once on stderr (not under --quiet), and cuda without a
# GPU that opens fails (exit 1) with the reason instead of falling back.
set -euo pipefail
VT=$1
TMP=$2
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

expect_rc() {
    local want=$1
    shift
    run "$@"
    [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$TMP/err")"
}

for c in "demo" "run x.json"; do
    # shellcheck disable=SC2086
    expect_rc 2 "$VT" $c --device gpu
    grep -q -- "--device must be auto, cpu or cuda, not 'gpu'" "$TMP/err" ||
        fail "'$c --device gpu' does not say what is wrong: $(cat "$TMP/err")"
done

demo=("$VT" demo --preset small --frames 8)
expect_rc 0 "${demo[@]}" --device cpu --out "$TMP/cpu"
[[ $(grep -c 'device:' "$TMP/err") == 1 ]] || fail "device said other than once: $(cat "$TMP/err")"
grep -qx 'voxtrack demo: device: cpu' "$TMP/err" || fail "--device cpu: $(cat "$TMP/err")"

expect_rc 0 "${demo[@]}" --out "$TMP/auto"
[[ $(grep -c 'device:' "$TMP/err") == 1 ]] || fail "device said other than once: $(cat "$TMP/err")"
grep -Eq '^voxtrack demo: device: (cpu \(.+\)|cuda 0: .+)$' "$TMP/err" ||
    fail "--device auto does not say what it took and why: $(cat "$TMP/err")"
cmp -s "$TMP/auto/tracks.jsonl" "$TMP/cpu/tracks.jsonl" || fail "auto and cpu give different tracks"

expect_rc 0 "${demo[@]}" --quiet
! grep -q 'device' "$TMP/err" || fail "--quiet still says the device: $(cat "$TMP/err")"

run "${demo[@]}" --device cuda
if [[ $rc == 0 ]]; then
    grep -Eq '^voxtrack demo: device: cuda 0: ' "$TMP/err" || fail "cuda: $(cat "$TMP/err")"
else
    [[ $rc == 1 ]] || fail "--device cuda without a GPU exited $rc, expected 1"
    grep -Eq '^voxtrack demo: device cuda: .{10,}' "$TMP/err" ||
        fail "--device cuda without a GPU does not say why: $(cat "$TMP/err")"
    echo "device.sh: no GPU opens here ($(cat "$TMP/err")): the CUDA case checked its refusal"
fi
echo "device.sh: ok"
