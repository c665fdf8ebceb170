#!/usr/bin/env python3
"""Turns a simulator output folder into the inputs of a calibration (tests/cli/calibrate.sh).

python3 calib_prep.py SIM OUT writes OUT/dets/ID.{jsonl,csv,txt}: target 0's true pixels from
SIM/truth_pixels.jsonl as a 2D detector would report them (0.3 px noise, 10% missed, a false
detection in 5% of the frames; one camera per file form), and OUT/rig_site.json: SIM/rig.json
as a site believes it, each camera turned by 2 to 4 degrees, its frames replaced by its
detections, no clock offsets. Seeded: the same SIM gives the same files.
"""
import json, math, random, sys
sim, out = sys.argv[1], sys.argv[2]
random.seed(11)
rig = json.load(open(f"{sim}/rig.json"))
cams = {c["id"]: c for c in rig["cameras"]}
forms = {"m0": "jsonl", "m1": "csv", "m2": "txt", "m3": "csv"}
files = {i: open(f"{out}/dets/{i}.{forms[i]}", "w") for i in cams}
files["m1"].write("frame,u,v,score\n")
files["m3"].write("frame u v\n")
for line in open(f"{sim}/truth_pixels.jsonl"):
    r = json.loads(line)
    cid, f = r["camera"], r["frame"]
    c = cams[cid]
    dets = []
    for tid, u, v, inside, *_ in r["targets"]:
        if tid == 0 and inside and random.random() >= 0.1:
            u += random.gauss(0, 0.3); v += random.gauss(0, 0.3)
            if -0.5 <= u < c["width"] - 0.5 and -0.5 <= v < c["height"] - 0.5:
                dets.append((u, v))
    if random.random() < 0.05:
        dets.append((random.uniform(0, c["width"] - 1), random.uniform(0, c["height"] - 1)))
    for u, v in dets:
        fp = files[cid]
        if forms[cid] == "jsonl":
            fp.write(json.dumps({"frame": f, "u": round(u, 4), "v": round(v, 4), "class": "drone"}) + "\n")
        elif cid == "m1":
            fp.write(f"{f},{u:.4f},{v:.4f},0.9\n")
        else:
            fp.write(f"{f} {u:.4f} {v:.4f}\n")
# The rig as the site believes it: orientations off by 2-4 degrees, clocks unknown.
def qmul(a, b):
    return [a[0]*b[0]-a[1]*b[1]-a[2]*b[2]-a[3]*b[3], a[0]*b[1]+a[1]*b[0]+a[2]*b[3]-a[3]*b[2],
            a[0]*b[2]-a[1]*b[3]+a[2]*b[0]+a[3]*b[1], a[0]*b[3]+a[1]*b[2]-a[2]*b[1]+a[3]*b[0]]
for k, c in enumerate(rig["cameras"]):
    ax = [random.gauss(0, 1) for _ in range(3)]
    n = math.sqrt(sum(x * x for x in ax))
    ang = math.radians(4.0 - k * 0.6) / 2
    c["quaternion"] = qmul(c["quaternion"], [math.cos(ang)] + [math.sin(ang) * x / n for x in ax])
    for key in ("frames", "video", "raw", "timestamps"):
        c.pop(key, None)
    c["detections"] = f"dets/{c['id']}.{forms[c['id']]}"
json.dump(rig, open(f"{out}/rig_site.json", "w"), indent=1)
