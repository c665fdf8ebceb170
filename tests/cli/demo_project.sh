#!/usr/bin/env bash
# `voxtrack demo-project`: the built-in dataset end to end finds the moving object
# within one voxel of its true path, and leaves no temporary folder behind.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP/tmp"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

TMPDIR=$TMP/tmp "$VT" demo-project >"$TMP/out" 2>"$TMP/err" ||
    fail "voxtrack demo-project failed: $(cat "$TMP/err")"
cat "$TMP/out"

line=$(grep -E '^moving object at \(' "$TMP/out") || fail "no 'moving object at' line"
read -r dist voxel < <(sed -nE 's/.*passes ([0-9.]+) m away \(voxel size ([0-9.]+) m\).*/\1 \2/p' \
    <<<"$line")
[[ -n ${dist:-} && -n ${voxel:-} ]] || fail "cannot read the distance from: $line"
python3 -c "import sys; sys.exit(0 if float('$dist') < float('$voxel') else 1)" ||
    fail "object found $dist m from its path, not within one voxel ($voxel m)"

leftover=$(find "$TMP/tmp" -mindepth 1 | head -n 1)
[[ -z $leftover ]] || fail "demo left $leftover behind"
echo "ok"
