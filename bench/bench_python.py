#!/usr/bin/env python3
"""What the Python binding costs on top of the library: per frame set, the wall time of
Pipeline.process against the library's own processing time (Result.seconds), for the
small scene read through FrameSets (frames handed over in place), and the same frame
sets with each frame copied first (what a binding that copies would pay).

    PYTHONPATH=build/tests/python/pkg /usr/bin/python3 bench/bench_python.py [SCENE_DIR]

(build/tests/python/pkg is where `make test` builds the binding; `pip install ./python`
works too.) SCENE_DIR: a dataset from `voxtrack simulate` (default: the small preset,
90 frame sets, rendered into a temporary folder). Figures only.
"""
import os
import sys
import tempfile
import time

import numpy as np

import voxtrack


def run(config, copy):
    p = voxtrack.Pipeline(config)
    wall = lib = conv = 0.0
    n = tracks = 0
    for fs in voxtrack.FrameSets(p.rig):
        t0 = time.perf_counter()
        frames = [None if a is None else np.array(a) for a in fs.frames] if copy else fs.frames
        r = p.process(frames, fs.t, frame=fs.frame, times=fs.times)
        wall += time.perf_counter() - t0
        lib += r.seconds
        n += 1
        tracks += len(r.tracks)
    return n, tracks, wall, lib, p.copies


def main():
    if len(sys.argv) > 1:
        scene = sys.argv[1]
    else:
        scene = os.path.join(tempfile.mkdtemp(), "scene")
        voxtrack.simulate(scene, preset="small", frames=90, format="raw")
    config = os.path.join(scene, "config.json")
    rig = voxtrack.Rig(os.path.join(scene, "rig.json"))
    mb = sum(c.width * c.height * (c.bits // 8) for c in rig.cameras) / 1e6
    run(config, False)  # warm the page cache
    for copy in (False, True):
        n, tracks, wall, lib, copies = run(config, copy)
        print(f"{'copied frames' if copy else 'frames in place'}: {n} frame sets "
              f"({rig.count} cameras, {mb:.1f} MB per set), {tracks} track rows: "
              f"process {wall / n * 1e3:.2f} ms per set, of which the library "
              f"{lib / n * 1e3:.2f} ms; binding (and copies) {(wall - lib) / n * 1e6:.0f} us per set")


if __name__ == "__main__":
    main()
