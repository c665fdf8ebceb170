"""Ground truth and tracks files as numpy arrays, and the tracking metrics of
`voxtrack eval` (MOTA, MOTP, IDF1, GOSPA, ...; docs/EVAL.md)."""
from __future__ import annotations

import json
import os
from typing import Union

import numpy as np

from ._core import check, ffi, lib, path_bytes
from .pipeline import CLASS_NAMES, STATUS_NAMES, TRACK_DTYPE

KIND_NAMES = ("drone", "bird", "glint")

#: One row per truth object per frame (truth.jsonl).
TRUTH_DTYPE = np.dtype([("frame", "i8"), ("t", "f8"), ("id", "i4"), ("kind", "U5"),
                        ("pos", "f8", (3,)), ("vel", "f8", (3,)), ("size", "f8")])

_RESULT_FIELDS = ("frames", "gt", "tp", "fn", "fp", "idsw", "frag", "mota", "motp", "rmse",
                  "detection_rate", "false_rate", "idtp", "idfp", "idfn", "idf1", "idp", "idr",
                  "gospa", "gospa_loc", "gospa_missed", "gospa_false", "truth_objects",
                  "tracks_confirmed", "mostly_tracked", "partially_tracked", "mostly_lost",
                  "bird_as_drone", "bird_tracks")


def _jsonl(path, what):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not a JSON {what} line: {e}") from None


def read_truth(path: str | os.PathLike) -> np.ndarray:
    """truth.jsonl (written by `voxtrack simulate`) as a TRUTH_DTYPE array."""
    rows = list(_jsonl(path, "truth"))
    out = np.zeros(len(rows), TRUTH_DTYPE)
    for i, r in enumerate(rows):
        out[i] = (r["frame"], r.get("t", np.nan), r["id"], r.get("kind", "drone"), r["pos"],
                  r.get("vel", (np.nan,) * 3), r.get("size", np.nan))
    return out


def read_tracks(path: str | os.PathLike) -> np.ndarray:
    """tracks.jsonl (written by `voxtrack run` and `demo`) as a TRACK_DTYPE array; fields the
    file does not have (camera_mask, thermal, hits, misses, age) are 0."""
    rows = list(_jsonl(path, "track"))
    out = np.zeros(len(rows), TRACK_DTYPE)
    for i, r in enumerate(rows):
        o = out[i]
        o["frame"], o["t"], o["id"] = r["frame"], r["t"], r["id"]
        o["status"], o["cls"] = r["status"], r.get("class", "drone")
        o["pos"], o["vel"], o["cov"] = r["pos"], r.get("vel", (0, 0, 0)), r.get("cov", (0,) * 6)
        o["cams"], o["accel_rms"] = r.get("cams", 0), r.get("accel_rms", 0)
        o["flicker"] = r.get("flicker", 0)
    return out


def _eval_arrays(e, tracks: np.ndarray, truth: np.ndarray) -> None:
    frames = np.union1d(np.unique(tracks["frame"]), np.unique(truth["frame"]))
    st = {n: i for i, n in enumerate(STATUS_NAMES)}
    cl = {n: i for i, n in enumerate(CLASS_NAMES)}
    kd = {n: i for i, n in enumerate(KIND_NAMES)}
    for f in frames:
        tk, tr = tracks[tracks["frame"] == f], truth[truth["frame"] == f]
        ct = ffi.new("vt_eval_truth[]", max(len(tr), 1))
        for i, r in enumerate(tr):
            ct[i].id, ct[i].kind = int(r["id"]), kd[str(r["kind"])]
            ct[i].pos.x, ct[i].pos.y, ct[i].pos.z = map(float, r["pos"])
            ct[i].size = float(r["size"])  # snr stays NULL: unknown, no part in the ceiling
        ck = ffi.new("vt_eval_track[]", max(len(tk), 1))
        for i, r in enumerate(tk):
            ck[i].id, ck[i].status, ck[i].cls = int(r["id"]), st[str(r["status"])], cl[str(r["cls"])]
            ck[i].pos.x, ck[i].pos.y, ck[i].pos.z = map(float, r["pos"])
        check(lib.vt_eval_frame(e, int(f), ct, len(tr), ck, len(tk)))


def evaluate(tracks: Union[str, os.PathLike, np.ndarray], truth: Union[str, os.PathLike, np.ndarray],
             *, match_dist: float = 2.0, all_tracks: bool = False, gospa_c: float = 0.0,
             gospa_p: float = 1.0) -> dict:
    """The metrics of `voxtrack eval` for tracks against the truth: each a file path
    (tracks.jsonl, truth.jsonl) or an array (TRACK_DTYPE, TRUTH_DTYPE; e.g. the tracks of
    Pipeline results concatenated). Returns a dict of the figures (docs/EVAL.md)."""
    opts = ffi.new("vt_eval_opts *", lib.vt_eval_opts_default())
    opts.match_dist, opts.only_confirmed = match_dist, not all_tracks
    opts.gospa_c, opts.gospa_p = gospa_c, gospa_p
    e = ffi.new("vt_eval **")
    check(lib.vt_eval_new(opts, e))
    try:
        if isinstance(tracks, np.ndarray) or isinstance(truth, np.ndarray):
            tk = tracks if isinstance(tracks, np.ndarray) else read_tracks(tracks)
            tr = truth if isinstance(truth, np.ndarray) else read_truth(truth)
            _eval_arrays(e[0], tk, tr)
        else:
            check(lib.vt_eval_read_files(e[0], path_bytes(tracks), path_bytes(truth)))
        res = ffi.new("vt_eval_result *")
        check(lib.vt_eval_result_get(e[0], res))
        return {k: getattr(res, k) for k in _RESULT_FIELDS}
    finally:
        lib.vt_eval_free(e[0])
