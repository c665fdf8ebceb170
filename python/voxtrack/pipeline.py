"""Rigs, run configurations, the tracking pipeline fed with numpy frames or 2D
detections, and frame sets read from a rig's cameras."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import numpy as np

from ._core import c_view, check, ffi, lib, path_bytes

STATUS_NAMES = ("tentative", "confirmed", "coasting")
CLASS_NAMES = ("drone", "bird")

#: One row per live track of a frame set (what tracks.jsonl has, and a little more).
TRACK_DTYPE = np.dtype([
    ("frame", "i8"), ("t", "f8"), ("id", "u8"), ("status", "U9"), ("cls", "U5"),
    ("pos", "f8", (3,)), ("vel", "f8", (3,)), ("cov", "f8", (6,)), ("cams", "i4"),
    ("camera_mask", "u8"), ("thermal", "i4"), ("hits", "i4"), ("misses", "i4"), ("age", "i4"),
    ("accel_rms", "f4"), ("flicker", "f4")])

#: One row per 3D detection of a frame set.
DETECTION_DTYPE = np.dtype([
    ("frame", "i8"), ("t", "f8"), ("pos", "f8", (3,)), ("cov", "f8", (6,)), ("residual", "f8"),
    ("weight", "f4"), ("cameras", "u8"), ("ncameras", "i4"), ("nthermal", "i4"), ("nrays", "i4")])

_ENUM = "i%d" % ffi.sizeof("vt_track_status")
_TRACK_FIELDS = [("id", "id", "u8"), ("status", "status", _ENUM), ("pos", "pos", "(3,)f8"),
                 ("vel", "vel", "(3,)f8"), ("cov", "cov", "(6,)f8"), ("cams", "cams", "i4"),
                 ("camera_mask", "camera_mask", "u8"), ("thermal", "thermal", "i4"),
                 ("hits", "hits", "i4"), ("misses", "misses", "i4"), ("age", "age", "i4"),
                 ("accel_rms", "accel_rms", "f4")]
_DET_FIELDS = [("pos", "pos", "(3,)f8"), ("cov", "cov", "(6,)f8"), ("residual", "residual", "f8"),
               ("weight", "weight", "f4"), ("cameras", "cameras", "u8"),
               ("ncameras", "ncameras", "i4"), ("nthermal", "nthermal", "i4"),
               ("nrays", "nrays", "i4")]


def _tracks(frame: int, t: float, tracks, classes, flicker, n: int) -> np.ndarray:
    """A copy (the library reuses its arrays) of n vt_tracks as TRACK_DTYPE rows."""
    out = np.zeros(n, TRACK_DTYPE)
    if n == 0:
        return out
    view = c_view(tracks, n, "vt_track", _TRACK_FIELDS)
    for name, _, _ in _TRACK_FIELDS:
        if name != "status":
            out[name] = view[name]
    out["frame"], out["t"] = frame, t
    out["status"] = np.array(STATUS_NAMES)[view["status"]]
    if classes != ffi.NULL:
        cls = np.frombuffer(ffi.buffer(classes, n * ffi.sizeof("vt_target_class")), _ENUM)
        out["cls"] = np.array(CLASS_NAMES)[cls]
    else:
        out["cls"] = "drone"
    if flicker != ffi.NULL:
        out["flicker"] = np.frombuffer(ffi.buffer(flicker, 4 * n), "f4")
    return out


def _detections(frame: int, t: float, dets, n: int) -> np.ndarray:
    out = np.zeros(n, DETECTION_DTYPE)
    if n:
        view = c_view(dets, n, "vt_detection", _DET_FIELDS)
        for name, _, _ in _DET_FIELDS:
            out[name] = view[name]
        out["frame"], out["t"] = frame, t
    return out


@dataclass
class Camera:
    """One camera of a rig."""
    index: int
    id: str
    pair: int
    thermal: bool
    bits: int
    width: int
    height: int


class Rig:
    """A rig file (rig.json, docs/FORMATS.md): cameras with intrinsics and poses."""

    def __init__(self, path: str | os.PathLike):
        self._rig = ffi.new("vt_rig *")
        check(lib.vt_rig_load(path_bytes(path), self._rig))
        self.path = os.fspath(path)

    @property
    def count(self) -> int:
        return self._rig.count

    @property
    def fps(self) -> float:
        return self._rig.fps

    @property
    def origin(self) -> Optional[tuple]:
        """(latitude, longitude, ellipsoidal height) of the world frame's origin, or None."""
        r = self._rig
        return (r.lat_deg, r.lon_deg, r.height_m) if r.has_origin else None

    @property
    def cameras(self) -> list:
        out = []
        for i in range(self._rig.count):
            c = self._rig.cameras[i]
            out.append(Camera(i, ffi.string(c.id).decode(), c.pair, c.modality != 0, c.bits,
                              c.cam.width, c.cam.height))
        return out

    def project(self, camera: int, points) -> np.ndarray:
        """Pixels (u, v) where camera `camera` sees world points (N x 3, metres); NaN for a
        point behind it. Pixel centres are at integers (camera.h)."""
        if not 0 <= camera < self.count:
            raise IndexError(f"camera {camera}: the rig has {self.count}")
        pts = np.asarray(points, dtype="f8").reshape(-1, 3)
        out = np.full((len(pts), 2), np.nan)
        cam = ffi.addressof(self._rig.cameras[camera], "cam")
        u, v = ffi.new("double *"), ffi.new("double *")
        for i, p in enumerate(pts):
            if lib.vt_camera_world_to_pixel(cam, {"x": p[0], "y": p[1], "z": p[2]}, u, v):
                out[i] = u[0], v[0]
        return out

    def close(self) -> None:
        if self._rig is not None:
            lib.vt_rig_free(self._rig)
            self._rig = None

    def __del__(self):
        self.close()


class Config:
    """A run configuration (config.json, docs/RUN.md): the rig, the volume and every setting."""

    def __init__(self, path: str | os.PathLike):
        self._cfg = ffi.new("vt_run_config *")
        check(lib.vt_run_config_load(path_bytes(path), self._cfg))
        self.path = os.fspath(path)

    def _str(self, field) -> Optional[str]:
        return os.fsdecode(ffi.string(field)) if field != ffi.NULL else None

    @property
    def rig_path(self) -> str:
        return self._str(self._cfg.rig)

    @property
    def truth_path(self) -> Optional[str]:
        return self._str(self._cfg.truth)

    @property
    def threads(self) -> int:
        return self._cfg.opts.threads

    @threads.setter
    def threads(self, n: int) -> None:
        self._cfg.opts.threads = int(n)

    def __del__(self):
        if getattr(self, "_cfg", None) is not None:
            lib.vt_run_config_free(self._cfg)
            self._cfg = None


@dataclass
class Result:
    """What one frame set produced. tracks and detections are copies (numpy structured
    arrays of TRACK_DTYPE and DETECTION_DTYPE) that stay valid."""
    frame: int
    t: float
    tracks: np.ndarray
    detections: np.ndarray
    cameras_live: int
    rays: int
    clusters: int
    seconds: float


def _open(config: str | os.PathLike | Config, threads: Optional[int]):
    cfg = config if isinstance(config, Config) else Config(config)
    if threads is not None:
        cfg.threads = threads
    return cfg, Rig(cfg.rig_path)


class Pipeline:
    """The tracker of a run configuration, fed one frame set at a time.

    >>> p = Pipeline("scene/config.json")
    >>> r = p.process([frame0, frame1, None, ...], t=0.0)   # one array per camera
    >>> r.tracks[r.tracks["status"] == "confirmed"]["pos"]

    Frames are 2D numpy arrays, uint8 for 8-bit cameras and uint16 for 16-bit ones, one
    per rig camera in rig order (None: that camera delivered nothing). The library reads
    them where they are: no pixel is copied, for any array whose pixels are consecutive
    along each row (C-contiguous arrays and row-strided views such as crops of a larger
    array's columns). Other arrays (transposed, stepped, byte-swapped) are copied once and
    counted in `copies`. `last_frame_addresses` gives the addresses the library read, for
    checking. A frame whose size or depth is not its camera's raises VoxtrackError with
    the library's message naming the camera. Not thread-safe: one caller at a time.
    """

    def __init__(self, config: str | os.PathLike | Config, *, threads: Optional[int] = None):
        self.config, self.rig = _open(config, threads)
        self._p = ffi.new("vt_pipeline **")
        check(lib.vt_pipeline_new(ffi.addressof(self.config._cfg.opts), self.rig._rig, self._p))
        n = self.rig.count
        self._images = ffi.new("vt_image[]", n)
        self._ptrs = ffi.new("vt_image *[]", n)
        self._times = ffi.new("double[]", n)
        self._res = ffi.new("vt_pipeline_result *")
        self._next_frame = 0
        self.copies = 0
        self.last_frame_addresses: list = [None] * n

    def _image(self, i: int, a) -> None:
        if a is None:
            self._ptrs[i] = ffi.NULL
            self.last_frame_addresses[i] = None
            return
        a = np.asarray(a)
        if a.ndim != 2 or a.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"camera {i}: a frame is a 2D uint8 or uint16 array, not "
                             f"{a.ndim}D {a.dtype}")
        if not a.dtype.isnative or a.strides[1] != a.itemsize or a.strides[0] < a.shape[1] * a.itemsize:
            a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("="))
            self.copies += 1
        self._keep.append(a)
        img = self._images[i]
        img.width, img.height = a.shape[1], a.shape[0]
        img.bits = 8 * a.itemsize
        img.stride = a.strides[0]
        addr = a.__array_interface__["data"][0]
        img.data = ffi.cast("void *", addr)
        self._ptrs[i] = ffi.addressof(self._images, i)
        self.last_frame_addresses[i] = addr

    def process(self, frames: Sequence, t: float, *, frame: Optional[int] = None,
                times: Optional[Sequence[float]] = None) -> Result:
        """Tracks one frame set at time t (seconds, non-decreasing); frame numbers count from
        0 unless given; times: each camera's capture time (default t)."""
        n = self.rig.count
        if len(frames) != n:
            raise ValueError(f"{len(frames)} frames for a rig of {n} cameras")
        self._keep = []
        try:
            for i, a in enumerate(frames):
                self._image(i, a)
            fs = ffi.new("vt_frame_set *")
            fs.frame = self._next_frame if frame is None else int(frame)
            fs.t = float(t)
            fs.images = self._ptrs
            if times is not None:
                if len(times) != n:
                    raise ValueError(f"{len(times)} times for a rig of {n} cameras")
                for i, x in enumerate(times):
                    self._times[i] = float(x)
                fs.times = self._times
            check(lib.vt_pipeline_process(self._p[0], fs, self._res))
        finally:
            self._keep = []
        self._next_frame = fs.frame + 1
        r = self._res
        return Result(r.frame, r.t, _tracks(r.frame, r.t, r.tracks, r.classes, r.flicker, r.ntracks),
                      _detections(r.frame, r.t, r.detections, r.ndetections), r.cameras_live,
                      r.rays, r.clusters, r.seconds)

    def close(self) -> None:
        if getattr(self, "_p", None) is not None and self._p[0] != ffi.NULL:
            lib.vt_pipeline_free(self._p[0])
            self._p[0] = ffi.NULL

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DetectionTracker:
    """The tracker fed with the 2D detections of another detector (a YOLO model on each
    camera, say) instead of frames: each detection becomes the ray of its pixel, as a blob's
    centroid would (its sigma from its box, its weight its score: det2d.h), and the rays
    vote, are detected and tracked as in Pipeline.

    detections: one array per rig camera (None: no frame from it), rows of (u, v) or
    (u, v, score) or (u, v, score, w, h) in pixels, pixel centres at integers.
    """

    def __init__(self, config: str | os.PathLike | Config, *, threads: Optional[int] = None):
        self.config, self.rig = _open(config, threads)
        opts = ffi.addressof(self.config._cfg.opts)
        self._vote = ffi.new("vt_vote_stage **")
        self._track = ffi.new("vt_track_stage **")
        check(lib.vt_vote_stage_new(opts, self.rig._rig, self._vote))
        check(lib.vt_track_stage_new(opts, self.rig._rig, self._track))
        self._ray_opts = ffi.new("vt_det2d_ray_opts *", lib.vt_det2d_ray_opts_default())
        self._next_frame = 0

    def process(self, detections: Sequence, t: float, *, frame: Optional[int] = None) -> Result:
        rig = self.rig._rig
        if len(detections) != rig.count:
            raise ValueError(f"{len(detections)} detection arrays for a rig of {rig.count} cameras")
        cams = ffi.new("vt_camera_rays[]", rig.count)
        keep = []
        det = ffi.new("vt_det2d *")
        for i, d in enumerate(detections):
            if d is None:
                continue
            d = np.asarray(d, dtype="f8")
            if d.ndim != 2 or d.shape[1] not in (2, 3, 5):
                raise ValueError(f"camera {i}: detections are rows of (u, v[, score[, w, h]]), "
                                 f"not an array of shape {d.shape}")
            rays = ffi.new("vt_ray[]", max(len(d), 1))
            area = ffi.new("int32_t[]", max(len(d), 1))
            n = 0
            c = rig.cameras[i]
            for row in d:
                det.u, det.v = row[0], row[1]
                det.score = row[2] if d.shape[1] > 2 else 1.0
                det.w, det.h = (row[3], row[4]) if d.shape[1] > 3 else (0.0, 0.0)
                if not 0 < det.score <= 1:
                    raise ValueError(f"camera {i}: score {det.score} is not in (0, 1]")
                if lib.vt_det2d_ray(ffi.addressof(c, "cam"), det, self._ray_opts, i, c.pair, n,
                                    ffi.addressof(rays, n)):
                    area[n] = 1
                    n += 1
            keep += [rays, area]
            cams[i].present = True
            cams[i].blobs = n
            cams[i].noise = 1.0
            cams[i].rays = rays
            cams[i].area = area
            cams[i].nrays = n
        sets = ffi.new("vt_set_detections *")
        out = ffi.new("vt_track_output *")
        check(lib.vt_vote_stage_process(self._vote[0], cams, sets))
        check(lib.vt_track_stage_process(self._track[0], float(t), sets, out))
        f = self._next_frame if frame is None else int(frame)
        self._next_frame = f + 1
        return Result(f, float(t), _tracks(f, t, out.tracks, out.classes, out.flicker, out.ntracks),
                      _detections(f, t, sets.detections, sets.ndetections),
                      sum(1 for d in detections if d is not None), sets.rays_cast, sets.clusters,
                      0.0)

    def close(self) -> None:
        for h, free in ((getattr(self, "_vote", None), lib.vt_vote_stage_free),
                        (getattr(self, "_track", None), lib.vt_track_stage_free)):
            if h is not None and h[0] != ffi.NULL:
                free(h[0])
                h[0] = ffi.NULL

    def __del__(self):
        self.close()


@dataclass
class FrameSet:
    """One instant of a rig: frame set number, time, one array per camera (None: missing),
    each camera's capture time."""
    frame: int
    t: float
    frames: list
    times: np.ndarray


class FrameSets:
    """The frame sets of a rig's recorded or live cameras (image sequences, videos,
    streams, GigE cameras: whatever rig.json names), grouped by time as `voxtrack run`
    groups them (sync.h).

    The arrays are views of the library's buffers (no copy): each is valid until the next
    frame set is read. Copy one (np.array(a)) to keep it.
    """

    def __init__(self, rig: Rig | str | os.PathLike):
        self.rig = rig if isinstance(rig, Rig) else Rig(rig)
        self._sync = ffi.new("vt_sync **")
        opts = ffi.new("vt_sync_opts *", lib.vt_sync_opts_default())
        check(lib.vt_sync_open(self.rig._rig, opts, self._sync))
        n = self.rig.count
        self._images = ffi.new("vt_image[]", n)
        self._present = ffi.new("bool[]", n)
        self._times = ffi.new("double[]", n)

    def __iter__(self) -> Iterator[FrameSet]:
        frame, t, end = ffi.new("int64_t *"), ffi.new("double *"), ffi.new("bool *")
        while True:
            check(lib.vt_sync_next(self._sync[0], self._images, self._present, self._times, frame,
                                   t, end))
            if end[0]:
                return
            frames = []
            for i in range(self.rig.count):
                img = self._images[i]
                if not self._present[i] or img.data == ffi.NULL:
                    frames.append(None)
                    continue
                dt = np.dtype(np.uint8 if img.bits == 8 else np.uint16)
                base = np.frombuffer(ffi.buffer(img.data, img.stride * img.height), dtype=dt)
                frames.append(np.lib.stride_tricks.as_strided(
                    base, shape=(img.height, img.width), strides=(img.stride, dt.itemsize),
                    writeable=False))
            yield FrameSet(frame[0], t[0], frames,
                           np.frombuffer(ffi.buffer(self._times, 8 * self.rig.count), "f8").copy())

    def close(self) -> None:
        if getattr(self, "_sync", None) is not None and self._sync[0] != ffi.NULL:
            lib.vt_sync_free(self._sync[0])
            self._sync[0] = ffi.NULL
            for i in range(self.rig.count):
                lib.vt_image_free(ffi.addressof(self._images, i))

    def __del__(self):
        self.close()
