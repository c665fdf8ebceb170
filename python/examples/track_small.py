#!/usr/bin/env python3
"""Simulates the small built-in scene, tracks it from Python and plots the tracks
against the truth.

    python3 examples/track_small.py [--out DIR] [--frames N] [--show]

Writes DIR/scene/ (the rendered frames, rig, truth), DIR/tracks.npy (every track row of
every frame set) and DIR/tracks.png (top view and height over time: truth in grey,
confirmed tracks in colour), and prints the tracking metrics.
"""
import argparse
import os

import matplotlib
import numpy as np

import voxtrack


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="track_small", help="output folder (default track_small)")
    ap.add_argument("--frames", type=int, default=90, help="frame sets to render (default 90)")
    ap.add_argument("--show", action="store_true", help="also open a window with the plot")
    args = ap.parse_args()
    if not args.show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scene = os.path.join(args.out, "scene")
    os.makedirs(args.out, exist_ok=True)
    st = voxtrack.simulate(scene, preset="small", frames=args.frames, format="raw")
    print(f"rendered {st['images']} frames of {st['cameras']} cameras into {scene}")

    pipeline = voxtrack.Pipeline(os.path.join(scene, "config.json"))
    rows = []
    for fs in voxtrack.FrameSets(pipeline.rig):  # numpy views of the frames, no copies
        r = pipeline.process(fs.frames, fs.t, frame=fs.frame, times=fs.times)
        rows.append(r.tracks)
    tracks = np.concatenate(rows)
    np.save(os.path.join(args.out, "tracks.npy"), tracks)
    truth = voxtrack.read_truth(os.path.join(scene, "truth.jsonl"))

    m = voxtrack.evaluate(tracks, truth)
    print(f"{len(rows)} frame sets, {len(np.unique(tracks['id']))} tracks; "
          f"detection rate {100 * m['detection_rate']:.1f}%, MOTA {m['mota']:.3f}, "
          f"IDF1 {m['idf1']:.3f}, RMSE {m['rmse']:.3f} m")

    fig, (top, side) = plt.subplots(1, 2, figsize=(12, 5.5))
    for tid in np.unique(truth["id"]):
        p = truth[truth["id"] == tid]
        style = dict(color="0.6" if p["kind"][0] == "drone" else "0.85", lw=4, zorder=1)
        top.plot(p["pos"][:, 0], p["pos"][:, 1], **style)
        side.plot(p["t"], p["pos"][:, 2], **style)
    shown = tracks[np.isin(tracks["status"], ("confirmed", "coasting"))]
    for tid in np.unique(shown["id"]):
        p = shown[shown["id"] == tid]
        kw = dict(lw=1.5, zorder=2, ls="-" if p["cls"][-1] == "drone" else ":")
        top.plot(p["pos"][:, 0], p["pos"][:, 1], label=f"track {tid}", **kw)
        side.plot(p["t"], p["pos"][:, 2], **kw)
    top.set(xlabel="east (m)", ylabel="north (m)", title="top view: truth grey, tracks coloured",
            aspect="equal")
    side.set(xlabel="time (s)", ylabel="height (m)", title="height")
    top.legend(fontsize="small", loc="best")
    fig.tight_layout()
    png = os.path.join(args.out, "tracks.png")
    fig.savefig(png, dpi=100)
    print(f"plot: {png}")
    if args.show:
        plt.show()


if __name__ == "__main__":
    main()
