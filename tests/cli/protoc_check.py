#!/usr/bin/env python3
"""Decodes every TrackBatch that `voxtrack listen --save DIR` wrote with
protoc (`protoc --decode=voxtrack.v1.TrackBatch`, a decoder nobody here wrote)
and checks it against the JSON line that `voxtrack listen` printed for the
same sequence number: frame, track ids, statuses and positions.

    protoc_check.py PROTO_FILE SAVE_DIR LISTEN_OUTPUT MIN_BATCHES
"""
import glob
import json
import os
import re
import subprocess
import sys

proto, save_dir, listen_out, min_batches = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = {}
for line in open(listen_out):
    m = json.loads(line)
    if m.get("type") == "TrackBatch":
        lines[m["seq"]] = m["msg"]


def parse_text(text):
    """The track ids, statuses and positions of protoc's text format, in order."""
    tracks, depth, cur, block = [], 0, None, []
    for raw in text.splitlines():
        s = raw.strip()
        if s.endswith("{"):
            block.append(s[:-1].strip())
            if block == ["tracks"]:
                cur = {"pos": {}}
            continue
        if s == "}":
            if block == ["tracks"]:
                tracks.append(cur)
            block.pop()
            continue
        key, _, value = s.partition(": ")
        if block == ["tracks"] and key in ("id", "status"):
            cur[key] = value
        elif block == ["tracks", "position"]:
            cur["pos"][key] = float(value)
    return tracks


checked = 0
files = sorted(glob.glob(os.path.join(save_dir, "*-TrackBatch.pb")))
for path in files:
    seq = int(os.path.basename(path).split("-")[0])
    with open(path, "rb") as f:
        out = subprocess.run(["protoc", "--decode=voxtrack.v1.TrackBatch", "-I",
                              os.path.dirname(proto), proto], stdin=f, capture_output=True,
                             text=True)
    assert out.returncode == 0, (path, out.stderr)
    text = out.stdout
    want = lines.get(seq)
    assert want is not None, ("no listen line for", seq)
    frame = re.search(r"^frame: (\d+)$", text, re.M)  # proto3 leaves out a 0
    assert (int(frame.group(1)) if frame else 0) == want["frame"], (path, want["frame"])
    got = parse_text(text)
    assert len(got) == len(want.get("tracks", [])), (path, len(got))
    for g, w in zip(got, want.get("tracks", [])):
        assert int(g["id"]) == w["id"], (path, g, w)
        status = g.get("status", "TRACK_STATUS_TENTATIVE")  # proto3 leaves out the 0
        assert status == "TRACK_STATUS_" + w["status"].upper(), (path, g, w)
        for axis in "xyz":
            assert abs(g["pos"].get(axis, 0.0) - w["position"][axis]) < 1e-6, (path, g, w)
    checked += 1 if got else 0
assert checked >= min_batches, ("TrackBatches with tracks checked:", checked, "of", len(files))
print(f"protoc decoded {len(files)} TrackBatch messages, {checked} with tracks, as listen did")
