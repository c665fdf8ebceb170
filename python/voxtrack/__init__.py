"""voxtrack: multi-camera 3D tracking of small moving objects, from Python.

A cffi binding of libvoxtrack (the C library of the `voxtrack` command):

    import voxtrack
    voxtrack.simulate("scene", preset="small", frames=60)       # a dataset to play with
    p = voxtrack.Pipeline("scene/config.json")
    for fs in voxtrack.FrameSets(p.rig):                         # or your own numpy frames
        r = p.process(fs.frames, fs.t, frame=fs.frame, times=fs.times)
        print(r.frame, r.tracks[["id", "status", "pos"]])
    voxtrack.evaluate("scene/tracks.jsonl", "scene/truth.jsonl")

Frames go to the library without a copy; tracks and detections come back as numpy
structured arrays (TRACK_DTYPE, DETECTION_DTYPE); 2D detections of another detector can
replace frames (DetectionTracker); streams are read with listen(); every failure of the
library raises VoxtrackError with the library's message. docs/PYTHON.md has the rest.
"""
from ._core import VoxtrackError, version
from .evaluation import KIND_NAMES, TRUTH_DTYPE, evaluate, read_tracks, read_truth
from .pipeline import (CLASS_NAMES, DETECTION_DTYPE, STATUS_NAMES, TRACK_DTYPE, Camera, Config,
                       DetectionTracker, FrameSet, FrameSets, Pipeline, Result, Rig)
from .simulate import simulate
from .stream import Receiver, listen

__version__ = version()

__all__ = ["VoxtrackError", "version", "Rig", "Camera", "Config", "Pipeline", "Result",
           "DetectionTracker", "FrameSets", "FrameSet", "Receiver", "listen", "evaluate",
           "read_tracks", "read_truth", "simulate", "TRACK_DTYPE", "DETECTION_DTYPE",
           "TRUTH_DTYPE", "STATUS_NAMES", "CLASS_NAMES", "KIND_NAMES"]
