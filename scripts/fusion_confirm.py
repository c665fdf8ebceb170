#!/usr/bin/env python3
"""Thermal fusion's confirmation rate against the ground truth (docs/FUSION.md, "Measured").

    python3 scripts/fusion_confirm.py DIR [--gate M]

DIR is what `voxtrack demo --out DIR` writes: detections.jsonl (every 3D detection of every
frame set with its fusion record, the dropped ones too) and truth.jsonl. Each detection is
matched to the nearest true target of its frame set within the gate (default 5 m): a drone,
a bird, or nothing (a false detection: a glint, a ghost). Counted before the decision rule
drops anything, so a drone detection that fusion wrongly dropped counts against the rate:

    confirmation rate = confirmed / observable, over detections of true drones

(observable: a thermal camera could have seen it, verdict confirmed or contradicted). Prints
one JSON object.
"""
import json
import math
import sys
from collections import defaultdict


def main():
    args = sys.argv[1:]
    gate = 5.0
    if "--gate" in args:
        i = args.index("--gate")
        gate = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    d = args[0]
    truth = defaultdict(list)
    with open(f"{d}/truth.jsonl") as f:
        for line in f:
            r = json.loads(line)
            truth[r["frame"]].append((r["kind"], r["pos"]))
    count = defaultdict(lambda: defaultdict(int))
    with open(f"{d}/detections.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if "fusion" not in r:
                sys.exit(f"{d}/detections.jsonl: no fusion record (a run without fusion?)")
            best, kind = gate, "false"
            for k, p in truth.get(r["frame"], ()):
                dist = math.dist(p, r["pos"])
                if dist < best:
                    best, kind = dist, k
            c = count[kind]
            c["detections"] += 1
            c[r["fusion"]] += 1
            c["dropped"] += r["dropped"]
    out = {"gate_m": gate}
    for kind, c in sorted(count.items()):
        observable = c["confirmed"] + c["contradicted"]
        out[kind] = dict(c, observable=observable,
                         confirmation_rate=c["confirmed"] / observable if observable else None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
