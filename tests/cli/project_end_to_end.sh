#!/usr/bin/env bash
# `voxtrack project` end to end on the built-in dataset (default size): the
# grid file has the original's layout, its brightest voxel lies on the dot's
# true path, and the maximum-intensity projections are PNG files.
set -euo pipefail
VT=$1
TMP=$2
rm -rf "$TMP"
mkdir -p "$TMP"

# shellcheck source=tests/cli/common.bash
source "$(dirname "$0")/common.bash"

DATA=$TMP/data
"$VT" demo-project --no-run --out "$DATA" --json >"$TMP/dataset.json" ||
    fail "voxtrack demo-project --no-run could not write the dataset"

OUT=$TMP/voxel_grid.bin
MIP=$TMP/mip
"$VT" project "$DATA/metadata.json" "$DATA" "$OUT" --grid-size 100 --voxel-size 12 \
    --center 0,0,500 --mip "$MIP" --json >"$TMP/summary.json" ||
    fail "voxtrack project failed"

python3 - "$TMP/dataset.json" "$TMP/summary.json" "$OUT" "$MIP" <<'PY'
import array, json, math, os, struct, sys

dataset_json, summary_json, grid_path, mip = sys.argv[1:5]
N, VOXEL, CENTER = 100, 12.0, (0.0, 0.0, 500.0)

def fail(msg):
    sys.exit("FAIL: " + msg)

ds = json.load(open(dataset_json))["dataset"]
summary = json.load(open(summary_json))
for key in ("cameras", "frames", "frames_skipped", "frame_pairs", "changed_pixels",
            "rays_hit", "voxel_steps", "grid_bytes", "seconds", "brightest"):
    if key not in summary:
        fail(f"--json summary lacks '{key}': {summary}")
if summary["cameras"] != ds["cameras"] or summary["frames"] != ds["cameras"] * ds["frames"]:
    fail(f"summary counts {summary['cameras']} cameras, {summary['frames']} frames; "
         f"dataset has {ds['cameras']} x {ds['frames']}")
if summary["frame_pairs"] != ds["cameras"] * (ds["frames"] - 1):
    fail(f"{summary['frame_pairs']} frame pairs")
if not 0 < summary["rays_hit"] <= summary["changed_pixels"]:
    fail(f"rays_hit {summary['rays_hit']}, changed_pixels {summary['changed_pixels']}")

size = os.path.getsize(grid_path)
if size != 8 + 4 * N**3:
    fail(f"{grid_path} has {size} bytes, expected {8 + 4 * N**3}")
with open(grid_path, "rb") as f:
    n, voxel = struct.unpack("<if", f.read(8))
    values = array.array("f")
    values.frombytes(f.read())
if sys.byteorder != "little":
    values.byteswap()
if n != N or voxel != VOXEL:
    fail(f"header says N={n}, voxel size={voxel}; expected {N}, {VOXEL}")

best = max(range(len(values)), key=values.__getitem__)  # first of equals: lowest index
if values[best] <= 0:
    fail("no voxel got votes")
ix, iy, iz = best // (N * N), best // N % N, best % N
lo = [c - N * VOXEL / 2 for c in CENTER]
p = [lo[0] + (ix + 0.5) * VOXEL, lo[1] + (iy + 0.5) * VOXEL, lo[2] + (iz + 0.5) * VOXEL]

a, b = ds["path_start"], ds["path_end"]
ab = [b[i] - a[i] for i in range(3)]
len2 = sum(x * x for x in ab)
t = 0.0 if len2 == 0 else max(0.0, min(1.0, sum((p[i] - a[i]) * ab[i] for i in range(3)) / len2))
dist = math.dist(p, [a[i] + t * ab[i] for i in range(3)])
print(f"brightest voxel [{ix}, {iy}, {iz}] at {p}, value {values[best]:.6g}, "
      f"{dist:.2f} m from the path")
if dist > 2 * VOXEL:
    fail(f"brightest voxel is {dist:.1f} m from the dot's path (> 2 voxels of {VOXEL} m)")

br = summary["brightest"]
if br is None or not math.isclose(br["value"], values[best], rel_tol=1e-6):
    fail(f"summary's brightest voxel {br} does not match the file's maximum {values[best]}")

for axis in "xyz":
    png = f"{mip}_{axis}.png"
    if not os.path.isfile(png):
        fail(f"{png} missing")
    with open(png, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            fail(f"{png} is not a PNG file")
PY
echo "ok"
