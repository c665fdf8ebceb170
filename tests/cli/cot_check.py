#!/usr/bin/env python3
"""Checks Cursor-on-Target events against an expectation file, with decoders
nobody here wrote: Python's xml.etree parses the XML and PROJ's own tools
(cs2cs for WGS84 <-> ECEF, geod for azimuths) give the expected positions.

Usage: cot_check.py SPEC.json
SPEC: {"origin": [lat, lon, h], "events": [{"file": PATH, "uid": ..., "type": ...,
       "how": ..., "enu": [e, n, u], "vel": [ve, vn, vu], "cov": [6 numbers],
       "time": ISO, "stale": ISO}, ...]}
A file may hold several events back to back (TCP): "index" picks one.
Exits 0 when every event matches, 1 with a message naming the event and the
field otherwise. The ENU -> ECEF rotation is written out here, independently of
voxtrack's PROJ pipeline (which uses +proj=topocentric).
"""
import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def run(cmd, lines):
    """Runs a PROJ tool over many input lines at once; one list of floats per line."""
    r = subprocess.run(cmd, input="".join(l + "\n" for l in lines), capture_output=True,
                       text=True, check=True)
    return [[float(x) for x in row.split()] for row in r.stdout.strip().splitlines()]


def ecef_offset(origin, enu):
    """ENU -> ECEF offset from the origin (the standard rotation, written out)."""
    p, l = math.radians(origin[0]), math.radians(origin[1])
    e, n, u = enu
    return (-math.sin(l) * e - math.sin(p) * math.cos(l) * n + math.cos(p) * math.cos(l) * u,
            math.cos(l) * e - math.sin(p) * math.sin(l) * n + math.cos(p) * math.sin(l) * u,
            math.cos(p) * n + math.sin(p) * u)


def enu_to_geodetic(origin, points):
    """Many ENU points -> [lat, lon, h] through cs2cs (WGS84 3D <-> ECEF)."""
    x0, y0, z0 = run(["cs2cs", "-f", "%.6f", "EPSG:4979", "EPSG:4978"],
                     ["%.12f %.12f %.6f" % tuple(origin)])[0][:3]
    lines = []
    for enu in points:
        dx, dy, dz = ecef_offset(origin, enu)
        lines.append(f"{x0 + dx:.6f} {y0 + dy:.6f} {z0 + dz:.6f}")
    return [r[:3] for r in run(["cs2cs", "-f", "%.12f", "EPSG:4978", "EPSG:4979"], lines)]


def azimuths(pairs):
    """Forward azimuths (degrees from true north) between point pairs, by PROJ's geod."""
    rows = run(["geod", "+ellps=WGS84", "-I", "-f", "%.8f"],
               ["%.12f %.12f %.12f %.12f" % (a[0], a[1], b[0], b[1]) for a, b in pairs])
    return [r[0] % 360.0 for r in rows]


def events_in(path):
    data = open(path, "rb").read().decode("utf-8")
    # TCP: documents back to back, each starting with its XML declaration.
    parts = [p for p in re.split(r"(?=<\?xml )", data) if p.strip()]
    return [ET.fromstring(p.encode("utf-8")) for p in parts]


def check(ex, geo, course):
    name = f"{ex['file']}#{ex.get('index', 0)} ({ex['uid']})"
    ev = events_in(ex["file"])[ex.get("index", 0)]

    def fail(msg):
        sys.exit(f"cot_check: {name}: {msg}")

    if ev.tag != "event" or ev.get("version") != "2.0":
        fail(f"root is <{ev.tag} version={ev.get('version')}>, want <event version=2.0>")
    for k in ("uid", "type", "how", "time", "start", "stale"):
        want = ex.get(k, ex["time"] if k == "start" else None)
        if want is not None and ev.get(k) != want:
            fail(f"{k} is {ev.get(k)!r}, want {want!r}")
    for k in ("time", "start", "stale"):
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev.get(k) or ""):
            fail(f"{k} {ev.get(k)!r} is not ISO 8601 UTC with milliseconds")
    pt = ev.find("point")
    if pt is None:
        fail("no <point>")
    lat, lon, h = geo
    got = [float(pt.get(k)) for k in ("lat", "lon", "hae")]
    if abs(got[0] - lat) > 1e-7 or abs(got[1] - lon) > 1e-7 or abs(got[2] - h) > 1e-3:
        fail(f"point {got} but cs2cs says {[lat, lon, h]}")
    c = ex["cov"]
    ce = math.sqrt((c[0] + c[3]) / 2 + math.sqrt(((c[0] - c[3]) / 2) ** 2 + c[1] ** 2))
    if abs(float(pt.get("ce")) - ce) > 1e-3 or abs(float(pt.get("le")) - math.sqrt(c[5])) > 1e-3:
        fail(f"ce/le {pt.get('ce')}/{pt.get('le')}, want {ce:.3f}/{math.sqrt(c[5]):.3f}")
    tr = ev.find("detail/track")
    if tr is None:
        fail("no <detail><track>")
    ve, vn, _ = ex["vel"]
    speed = math.hypot(ve, vn)
    if abs(float(tr.get("speed")) - speed) > 1e-3:
        fail(f"speed {tr.get('speed')}, want {speed:.3f}")
    if speed > 0:
        diff = abs((float(tr.get("course")) - course + 180) % 360 - 180)
        if diff > 0.01:
            fail(f"course {tr.get('course')}, geod says {course:.4f}")
    rem = ev.find("detail/remarks")
    if rem is None or not rem.text:
        fail("no <remarks>")
    if "remarks" in ex and rem.text != ex["remarks"]:
        fail(f"remarks {rem.text!r}, want {ex['remarks']!r}")


def main():
    spec = json.load(open(sys.argv[1]))
    evs = spec["events"]
    # Each track's point and a point 10 m further along its horizontal velocity, all through
    # one cs2cs run; the course is the azimuth between them on the ellipsoid.
    pts = []
    for ex in evs:
        e, n, u = ex["enu"]
        sp = math.hypot(ex["vel"][0], ex["vel"][1]) or 1.0
        pts += [ex["enu"], [e + 10 * ex["vel"][0] / sp, n + 10 * ex["vel"][1] / sp, u]]
    geo = enu_to_geodetic(spec["origin"], pts)
    courses = azimuths([(geo[2 * i], geo[2 * i + 1]) for i in range(len(evs))])
    for i, ex in enumerate(evs):
        check(ex, geo[2 * i], courses[i])
    print(f"cot_check: {len(spec['events'])} events match")


if __name__ == "__main__":
    main()
